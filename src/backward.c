/* The public backward entry points: check the arguments, plan the blocks, find scratch memory,
 * then hand over to the typed driver (typed/backward.c). Nothing is written before all checks
 * pass. */
#include "internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define BWD_ARRAYS 4 /* dcol, dz tile, row statistics, dbias sums */

/* Largest plan whose workspace fits in `budget` bytes (and no larger than useful). Per GEMM row:
 * one dcol row (K*F) and `stride` dz positions of F; fixed: max(keff, stride) more dz positions,
 * 3F row statistics, F double sums and the alignment slack of every array. */
static conv1dt_status backward_plan(const conv1dt_geometry *g, size_t elem_size, size_t budget,
                                    conv1dt_bwd_plan *plan) {
  const int64_t sz = (int64_t)elem_size, F = g->filters, kf = g->ksize * F; /* checked */
  const int64_t reach = g->keff > g->stride ? g->keff : g->stride;
  int64_t per_row, fixed, tmp, rows = 0;
  if (!conv1dt__mul64(g->stride, F, &per_row) || !conv1dt__add64(per_row, kf, &per_row) ||
      !conv1dt__mul64(per_row, sz, &per_row) || !conv1dt__add64(reach, 3, &fixed) ||
      !conv1dt__mul64(fixed, F, &fixed) || !conv1dt__mul64(fixed, sz, &fixed) ||
      !conv1dt__mul64(F, (int64_t)sizeof(double), &tmp) || !conv1dt__add64(fixed, tmp, &fixed) ||
      !conv1dt__add64(fixed, (BWD_ARRAYS + 1) * CONV1DT_WORKSPACE_ALIGN, &fixed))
    return conv1dt__fail(CONV1DT_ERROR_SIZE_OVERFLOW,
                         "conv1dt_backward: workspace size overflows size_t (strides=%lld, "
                         "filters=%lld)",
                         (long long)g->stride, (long long)F);
  CONV1DT_CHECK(conv1dt__fit_rows(g, budget, fixed, per_row, kf * sz, "conv1dt_backward", &rows));

  plan->rows = rows;
  plan->win = rows * g->stride + reach; /* fits: rows * stride * F * sz <= budget */
  plan->col_elems = (size_t)(rows * kf);
  plan->dz_elems = (size_t)(plan->win * F);
  plan->stat_elems = (size_t)(3 * F);
  /* What the budget test counts (alignment slack included), so that a workspace of exactly
   * this size gets the same plan again. */
  plan->bytes = (size_t)fixed + (size_t)rows * (size_t)per_row;
  return CONV1DT_OK;
}

static size_t layer_budget(const conv1dt_layer *layer) {
  return layer->cfg.workspace_limit ? layer->cfg.workspace_limit : CONV1DT_DEFAULT_WORKSPACE_LIMIT;
}

conv1dt_status conv1dt_backward_workspace_size(const conv1dt_layer *layer, int64_t batch,
                                               int64_t steps, size_t *bytes) {
  CONV1DT_REQUIRE_PTR(layer, "conv1dt_backward_workspace_size");
  CONV1DT_REQUIRE_PTR(bytes, "conv1dt_backward_workspace_size");
  conv1dt_geometry g;
  conv1dt_bwd_plan plan = {0};
  CONV1DT_CHECK(conv1dt__geometry(layer, batch, steps, &g));
  CONV1DT_CHECK(backward_plan(&g, layer->elem_size, layer_budget(layer), &plan));
  *bytes = plan.bytes;
  return CONV1DT_OK;
}

conv1dt_status conv1dt_backward_min_workspace_size(const conv1dt_layer *layer, int64_t batch,
                                                   int64_t steps, size_t *bytes) {
  CONV1DT_REQUIRE_PTR(layer, "conv1dt_backward_min_workspace_size");
  CONV1DT_REQUIRE_PTR(bytes, "conv1dt_backward_min_workspace_size");
  conv1dt_geometry g;
  conv1dt_bwd_plan plan = {0};
  CONV1DT_CHECK(conv1dt__geometry(layer, batch, steps, &g));
  g.batch = g.steps = 1; /* one GEMM row per block is the least the driver works with */
  CONV1DT_CHECK(backward_plan(&g, layer->elem_size, SIZE_MAX, &plan));
  *bytes = plan.bytes;
  return CONV1DT_OK;
}

conv1dt_status conv1dt_backward(const conv1dt_layer *layer, const void *x, int64_t batch,
                                int64_t steps, const void *pre, const void *dy, void *dx,
                                void *dkernel, void *dbias, void *workspace,
                                size_t workspace_bytes) {
  CONV1DT_REQUIRE_PTR(layer, "conv1dt_backward");
  conv1dt_geometry g;
  CONV1DT_CHECK(conv1dt__geometry(layer, batch, steps, &g));
  if (!layer->bias) dbias = NULL; /* a layer without a bias has no gradient for one */
  const size_t sz = layer->elem_size;
  const int empty_out = g.batch == 0 || g.out_len == 0;
  if (!empty_out) {
    if (!dy)
      return conv1dt__fail(CONV1DT_ERROR_NULL_ARGUMENT, "conv1dt_backward: argument `dy` is NULL");
    if (!pre && g.act != CONV1DT_ACT_LINEAR)
      return conv1dt__fail(CONV1DT_ERROR_NULL_ARGUMENT,
                           "conv1dt_backward: argument `pre` is NULL, but activation '%s' needs "
                           "the pre-activation values conv1dt_forward_train stores (only linear "
                           "may pass NULL)",
                           layer->cfg.activation);
    if (!x && dkernel)
      return conv1dt__fail(CONV1DT_ERROR_NULL_ARGUMENT,
                           "conv1dt_backward: argument `x` is NULL, but `dkernel` asks for the "
                           "kernel gradient, which needs it");
  }
  if (!dx && !dkernel && !dbias) return CONV1DT_OK; /* nothing asked for */
  if (empty_out) {
    /* y does not depend on anything (or there is no sample): every gradient is zero. */
    if (dx) memset(dx, 0, (size_t)(g.batch * g.steps * g.in_ch) * sz);
    if (dkernel) memset(dkernel, 0, (size_t)(g.ksize * g.filters * g.in_ch) * sz);
    if (dbias) memset(dbias, 0, (size_t)g.filters * sz);
    return CONV1DT_OK;
  }

  conv1dt_bwd_plan plan = {0};
  void *owned = NULL;
  if (workspace) {
    CONV1DT_CHECK(backward_plan(&g, sz, workspace_bytes, &plan));
  } else {
    CONV1DT_CHECK(backward_plan(&g, sz, layer_budget(layer), &plan));
    workspace = owned = conv1dt__workspace_alloc(plan.bytes);
    if (!owned)
      return conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY,
                           "conv1dt_backward: out of memory for a workspace of %zu bytes",
                           plan.bytes);
  }
  if (layer->dtype == CONV1DT_FLOAT32)
    conv1dt__backward_f32(layer, &g, &plan, x, pre, dy, dx, dkernel, dbias, workspace);
  else
    conv1dt__backward_f64(layer, &g, &plan, x, pre, dy, dx, dkernel, dbias, workspace);
  free(owned);
  return CONV1DT_OK;
}
