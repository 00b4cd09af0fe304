/* The public backward entry points: check the arguments, plan the blocks, find scratch memory,
 * then hand over to the typed driver (typed/backward.c). Nothing is written before all checks
 * pass. */
#include "internal.h"
#include "kernels/kernel.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define BWD_ARRAYS 4        /* dcol, dz tile, row statistics, dbias sums */
#define BWD_SAMPLE_ARRAYS 6 /* and the x and dx tiles */

/* channels_first blocks of whole samples, where at least two fit: one GEMM over many short
 * samples instead of one each (bench case H, 32 steps: a GEMM of 32 columns repacks the whole
 * kernel for little arithmetic). Per GEMM row: one dcol column (K*F) and one of the x and dx
 * tiles (2C); fixed: one sample's dz positions (steps*stride + max(keff, stride), of F), 3F row
 * statistics, F double sums and the alignment slack. 0 where no two samples fit (or a size
 * overflows: the per-sample plan reports it). */
static int backward_plan_samples(const conv1dt_geometry *g, size_t elem_size, size_t budget,
                                 conv1dt_bwd_plan *plan) {
  if (!g->channels_first || g->batch < 2) return 0;
  const int64_t sz = (int64_t)elem_size, F = g->filters, kf = g->ksize * F, L = g->steps;
  const int64_t reach = g->keff > g->stride ? g->keff : g->stride;
  int64_t per_row, win, fixed, tmp, two, least, rows = 0;
  if (!conv1dt__mul64(2, g->in_ch, &per_row) || !conv1dt__add64(per_row, kf, &per_row) ||
      !conv1dt__mul64(per_row, sz, &per_row) || !conv1dt__mul64(L, g->stride, &win) ||
      !conv1dt__add64(win, reach, &win) || !conv1dt__add64(win, 3, &fixed) ||
      !conv1dt__mul64(fixed, F, &fixed) || !conv1dt__mul64(fixed, sz, &fixed) ||
      !conv1dt__mul64(F, (int64_t)sizeof(double), &tmp) || !conv1dt__add64(fixed, tmp, &fixed) ||
      !conv1dt__add64(fixed, (BWD_SAMPLE_ARRAYS + 1) * CONV1DT_WORKSPACE_ALIGN, &fixed) ||
      !conv1dt__mul64(2, L, &two) || !conv1dt__mul64(two, per_row, &least) ||
      !conv1dt__add64(least, fixed, &least) || (uint64_t)least > (uint64_t)budget)
    return 0;
  /* rows may span samples here, as in channels_last */
  conv1dt_geometry spanning = *g;
  spanning.channels_first = 0;
  if (conv1dt__fit_rows(&spanning, budget, fixed, per_row, kf * sz, "conv1dt_backward", &rows) !=
          CONV1DT_OK ||
      rows < two)
    return 0;
  plan->samples = rows / L;
  plan->rows = plan->samples * L;
  plan->win = win;
  plan->col_elems = (size_t)(plan->rows * kf);
  plan->dz_elems = (size_t)(win * F);
  plan->stat_elems = (size_t)(3 * F);
  plan->tile_elems = (size_t)(plan->rows * g->in_ch);
  /* a workspace of exactly this size gets the same plan again */
  plan->bytes = (size_t)fixed + (size_t)plan->rows * (size_t)per_row;
  return 1;
}

/* Largest plan whose workspace fits in `budget` bytes (and no larger than useful). Per GEMM row:
 * one dcol row (K*F) and `stride` dz positions of F; fixed: max(keff, stride) more dz positions,
 * 3F row statistics, F double sums and the alignment slack of every array. */
static conv1dt_status backward_plan(const conv1dt_geometry *g, size_t elem_size, size_t budget,
                                    conv1dt_bwd_plan *plan) {
  const int64_t sz = (int64_t)elem_size, F = g->filters, kf = g->ksize * F; /* checked */
  const int64_t reach = g->keff > g->stride ? g->keff : g->stride;
  int64_t per_row, fixed, tmp, rows = 0;
  if (backward_plan_samples(g, elem_size, budget, plan)) return CONV1DT_OK;
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
  plan->samples = 0;
  plan->tile_elems = 0;
  /* What the budget test counts (alignment slack included), so that a workspace of exactly
   * this size gets the same plan again. */
  plan->bytes = (size_t)fixed + (size_t)rows * (size_t)per_row;
  return CONV1DT_OK;
}

/* The direct backward (typed/backward_direct.c), for the layers whose forward runs the direct
 * method, element-wise activations: its workspace for blocks of `rows` input steps, 0 on
 * overflow. Arrays: the dz tile; padded copies of the weights and their gradient, and x and
 * dx tiles, where the layout needs them; channels_first's act' scratch; dbias sums; segments
 * (two blocks' dz and x tiles and segments: one block's part A runs beside the other's B). */
#define BWD_DIRECT_ARRAYS 10
#define CONV1DT_BWD_CACHED_WEIGHT_BYTES ((double)(1 << 20))
#define CONV1DT_BWD_DIRECT_MIN_MACS ((double)(1 << 20))
#ifndef CONV1DT_BWD_BLOCK_MACS
#define CONV1DT_BWD_BLOCK_MACS (1 << 24)
#endif
static int64_t direct_bytes(const conv1dt_geometry *g, int64_t sz, conv1dt_bwd_plan *p,
                            int64_t rows) {
  const int64_t F = g->filters, s = g->stride;
  int64_t kfw, t, total = (BWD_DIRECT_ARRAYS + 1) * CONV1DT_WORKSPACE_ALIGN;
  p->rows = rows;
  p->segs = conv1dt__min64(g->batch, (rows + g->steps - 1) / g->steps + 1);
  /* a segment's positions: (steps - 1) * s + keff, or steps * s, or to the output's end
   * (within s - 1 of the last reach); and the short tiles' overrun */
  if (!conv1dt__mul64(rows, s, &p->dz_rows) || !conv1dt__mul64(g->keff + 2 * s, p->segs, &t) ||
      !conv1dt__add64(p->dz_rows, t, &p->dz_rows) ||
      !conv1dt__add64(p->dz_rows, CONV1DT_DIRECT_MR * s + 1, &p->dz_rows))
    return 0;
  /* planes: each segment's positions rounded up to whole columns, then the slack columns */
  int64_t dz = 0;
  if (p->planes) {
    if (!conv1dt__mul64(p->segs, CONV1DT_DIRECT_SLACK + 1, &t) ||
        !conv1dt__add64(p->dz_rows / s + 1, t, &t) || !conv1dt__mul64(t, s * F, &dz))
      return 0;
  } else if (!conv1dt__mul64(p->dz_rows, F, &dz)) {
    return 0;
  }
  p->dz_elems = (size_t)dz;
  if (!conv1dt__mul64(g->ksize * F, p->ldw, &kfw)) return 0;
  /* padded weights and gradient, if padded; or the gradient's lane sums */
  int64_t elems = kfw * 2 * p->acc_tile, more;
  if (!conv1dt__mul64(kfw, p->lanes, &more) || !conv1dt__add64(elems, more, &elems)) return 0;
  /* two blocks' dz and x tiles (one block's part A runs beside the other's part B) */
  if (!conv1dt__mul64(dz, 2, &more) || !conv1dt__add64(elems, more, &elems)) return 0;
  if (!conv1dt__mul64(rows, p->ldw * (2 * p->x_tile + p->dx_tile), &more) ||
      !conv1dt__add64(elems, more, &elems))
    return 0;
  /* act' scratch for as many threads as a team may have, so that neither the plan nor the
   * choice of this method depends on the thread count */
  elems += p->scratch * CONV1DT_MAX_THREADS;
  if (!conv1dt__mul64(elems, sz, &elems) || !conv1dt__add64(total, elems, &total) ||
      !conv1dt__add64(total, F * (int64_t)sizeof(double), &total) ||
      !conv1dt__mul64(p->segs, 2 * CONV1DT_BWD_SEG_BYTES, &t) || !conv1dt__add64(total, t, &total))
    return 0;
  return total;
}

/* The direct plan within `budget`, or 0 where the layer takes the GEMMs or even one step a
 * block does not fit. */
/* Whether the direct backward runs: where the forward's direct method would (asked for, or
 * AUTO's rule), for element-wise activations. Under AUTO only for calls of at least
 * CONV1DT_BWD_DIRECT_MIN_MACS (below, a single-threaded GEMM's call costs less than the
 * tiles' set-up: bench case A, 15 against 23 us) whose weights stay in a core's L2 (the tiles
 * read all of them for every few steps: with 16 MiB of weights, bench case B in double, the
 * GEMMs were 3x faster), unless the BLAS's own GEMMs are slower still (AUTO's rule takes the
 * direct method for any channel count on such a BLAS). */
static int direct_backward_wanted(const conv1dt_geometry *g, size_t elem_size) {
  if (!g->direct_ready || CONV1DT_ACT_IS_AXISWISE(g->act) ||
      !conv1dt__direct_wanted(g->algorithm, g->in_ch))
    return 0;
  if (g->algorithm == CONV1DT_ALGORITHM_DIRECT ||
      conv1dt__direct_wanted(CONV1DT_ALGORITHM_AUTO, INT64_MAX))
    return 1;
  const double kfc = (double)g->ksize * (double)g->filters * (double)g->in_ch;
  return kfc * (double)elem_size <= CONV1DT_BWD_CACHED_WEIGHT_BYTES &&
         kfc * (double)g->batch * (double)g->steps >= CONV1DT_BWD_DIRECT_MIN_MACS;
}

/* Which layout the direct backward takes (typed/backward_direct.h): planes for channels_first
 * layers with a few channels, whose rows would be mostly transposing, with vectors of 8 channels
 * or fewer (bench case D channels_first: 7.9 against 14.3 ms). With more channels the rows'
 * tiles run faster than the planes' than the transposes cost (cases C and E channels_first:
 * 15.6 and 13.2 ms against 19.7 and 15.9), and channels_last x and dx would need transposing
 * too (case D channels_last: 8.8 against 12.5 ms). */
#define CONV1DT_BWD_PLANES_MAX_CHANNELS 8
static int backward_planes(const conv1dt_geometry *g) {
  return g->channels_first && g->in_ch <= CONV1DT_BWD_PLANES_MAX_CHANNELS;
}

static int backward_plan_direct(const conv1dt_layer *layer, const conv1dt_geometry *g,
                                size_t budget, conv1dt_bwd_plan *plan) {
  if (!direct_backward_wanted(g, layer->elem_size)) return 0;
  const int64_t sz = (int64_t)layer->elem_size, C = g->in_ch, total = g->batch * g->steps;
  conv1dt_bwd_plan p = {0};
  p.direct = 1;
  p.isa = (int)conv1dt__backward_isa((conv1dt_isa)layer->isa, C, layer->elem_size);
  const int64_t vl = (int64_t)conv1dt__kernels_f32((conv1dt_isa)p.isa)->vl * 4 / sz;
  p.planes = backward_planes(g);
  if (p.planes) { /* steps along the vectors: the layer's own weights, x and dx in place */
    p.isa = layer->isa;
    p.ldw = C;
    p.lanes = (int64_t)conv1dt__kernels_f32((conv1dt_isa)p.isa)->vl * 4 / sz;
    p.scratch = CONV1DT_BWD_CF_POSITIONS; /* act' of a few positions, dealt out to the phases */
  } else {
    p.ldw = (C + vl - 1) / vl * vl;
    p.acc_tile = p.ldw != C;
    p.x_tile = g->channels_first || p.ldw != C;
    p.dx_tile = g->channels_first;
    p.scratch = g->channels_first ? CONV1DT_BWD_CF_POSITIONS : 0;
  }
  const double macs = (double)total * (double)g->ksize * (double)g->filters * (double)C;
  p.threads = 2 * macs >= CONV1DT_DIRECT_PARALLEL_MACS ? conv1dt__default_threads() : 1;
  /* Blocks of CONV1DT_BWD_BLOCK_MACS multiply-adds per pass: a block costs one hand-over
   * between the team's threads, which is cheap beside them even where another program's
   * threads compete for the CPUs (a waiting thread may then lose its time slice). */
  const double kfc = (double)g->ksize * (double)g->filters * (double)C;
  int64_t rows =
      (int64_t)conv1dt__min64(total, (int64_t)((double)CONV1DT_BWD_BLOCK_MACS / kfc) + 1);
  rows = conv1dt__max64(1, conv1dt__max64(rows, conv1dt__min64(total, 4 * CONV1DT_DIRECT_MR)));
  for (;;) {
    const int64_t bytes = direct_bytes(g, sz, &p, rows);
    if (bytes > 0 && (uint64_t)bytes <= (uint64_t)budget) {
      p.win = 0;
      p.bytes = (size_t)bytes;
      *plan = p;
      return 1;
    }
    if (rows <= 1) return 0;
    rows = rows / 2;
  }
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
  if (!backward_plan_direct(layer, &g, layer_budget(layer), &plan))
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
  /* the direct backward's blocks of one step, when less than the GEMMs' */
  int64_t direct = 0;
  if (backward_plan_direct(layer, &g, SIZE_MAX, &plan))
    direct = direct_bytes(&g, (int64_t)layer->elem_size, &plan, 1);
  g.batch = g.steps = 1; /* one GEMM row per block is the least the driver works with */
  CONV1DT_CHECK(backward_plan(&g, layer->elem_size, SIZE_MAX, &plan));
  *bytes = direct > 0 && (uint64_t)direct < (uint64_t)plan.bytes ? (size_t)direct : plan.bytes;
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
    if (!backward_plan_direct(layer, &g, workspace_bytes, &plan))
      CONV1DT_CHECK(backward_plan(&g, sz, workspace_bytes, &plan));
  } else {
    if (!backward_plan_direct(layer, &g, layer_budget(layer), &plan))
      CONV1DT_CHECK(backward_plan(&g, sz, layer_budget(layer), &plan));
    workspace = owned = conv1dt__workspace_alloc(plan.bytes);
    if (!owned)
      return conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY,
                           "conv1dt_backward: out of memory for a workspace of %zu bytes",
                           plan.bytes);
  }
  if (plan.direct && layer->dtype == CONV1DT_FLOAT32)
    conv1dt__backward_direct_f32(layer, &g, &plan, x, pre, dy, dx, dkernel, dbias, workspace);
  else if (plan.direct)
    conv1dt__backward_direct_f64(layer, &g, &plan, x, pre, dy, dx, dkernel, dbias, workspace);
  else if (layer->dtype == CONV1DT_FLOAT32)
    conv1dt__backward_f32(layer, &g, &plan, x, pre, dy, dx, dkernel, dbias, workspace);
  else
    conv1dt__backward_f64(layer, &g, &plan, x, pre, dy, dx, dkernel, dbias, workspace);
  free(owned);
  return CONV1DT_OK;
}
