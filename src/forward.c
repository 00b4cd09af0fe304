/* The public forward entry points: check shapes, plan the blocks, find scratch memory, then
 * hand over to the typed driver (typed/driver.c). Nothing touches `y` before all checks pass. */
#include "internal.h"

#include <stdlib.h>

static size_t workspace_budget(const conv1dt_layer *layer) {
  return layer->cfg.workspace_limit ? layer->cfg.workspace_limit : CONV1DT_DEFAULT_WORKSPACE_LIMIT;
}

conv1dt_status conv1dt_output_shape(const conv1dt_layer *layer, int64_t batch, int64_t steps,
                                    int64_t out_shape[3]) {
  CONV1DT_REQUIRE_PTR(layer, "conv1dt_output_shape");
  CONV1DT_REQUIRE_PTR(out_shape, "conv1dt_output_shape");
  conv1dt_geometry g;
  CONV1DT_CHECK(conv1dt__geometry(layer, batch, steps, &g));
  for (int i = 0; i < 3; i++) out_shape[i] = g.out_shape[i];
  return CONV1DT_OK;
}

conv1dt_status conv1dt_workspace_size(const conv1dt_layer *layer, int64_t batch, int64_t steps,
                                      size_t *bytes) {
  CONV1DT_REQUIRE_PTR(layer, "conv1dt_workspace_size");
  CONV1DT_REQUIRE_PTR(bytes, "conv1dt_workspace_size");
  conv1dt_geometry g;
  conv1dt_plan plan;
  CONV1DT_CHECK(conv1dt__geometry(layer, batch, steps, &g));
  CONV1DT_CHECK(conv1dt__plan(&g, layer->elem_size, workspace_budget(layer), &plan));
  *bytes = plan.bytes;
  return CONV1DT_OK;
}

conv1dt_status conv1dt_min_workspace_size(const conv1dt_layer *layer, int64_t batch, int64_t steps,
                                          size_t *bytes) {
  CONV1DT_REQUIRE_PTR(layer, "conv1dt_min_workspace_size");
  CONV1DT_REQUIRE_PTR(bytes, "conv1dt_min_workspace_size");
  conv1dt_geometry g;
  CONV1DT_CHECK(conv1dt__geometry(layer, batch, steps, &g));
  return conv1dt__plan_min_bytes(&g, layer->elem_size, bytes);
}

conv1dt_status conv1dt_forward_algorithm(const conv1dt_layer *layer, int64_t batch, int64_t steps,
                                         size_t workspace_bytes, conv1dt_algorithm *algorithm) {
  CONV1DT_REQUIRE_PTR(layer, "conv1dt_forward_algorithm");
  CONV1DT_REQUIRE_PTR(algorithm, "conv1dt_forward_algorithm");
  conv1dt_geometry g;
  conv1dt_plan plan;
  CONV1DT_CHECK(conv1dt__geometry(layer, batch, steps, &g));
  CONV1DT_CHECK(conv1dt__plan(&g, layer->elem_size,
                              workspace_bytes ? workspace_bytes : workspace_budget(layer), &plan));
  *algorithm = plan.direct       ? CONV1DT_ALGORITHM_DIRECT
               : plan.accumulate ? CONV1DT_ALGORITHM_GEMM_ACCUMULATE
                                 : CONV1DT_ALGORITHM_GEMM;
  return CONV1DT_OK;
}

conv1dt_status conv1dt_preactivation_shape(const conv1dt_layer *layer, int64_t batch, int64_t steps,
                                           int64_t shape[3]) {
  CONV1DT_REQUIRE_PTR(layer, "conv1dt_preactivation_shape");
  CONV1DT_REQUIRE_PTR(shape, "conv1dt_preactivation_shape");
  conv1dt_geometry g;
  CONV1DT_CHECK(conv1dt__geometry(layer, batch, steps, &g));
  shape[0] = batch;
  shape[1] = g.channels_first ? g.filters : g.out_len;
  shape[2] = g.channels_first ? g.out_len : g.filters;
  return CONV1DT_OK;
}

/* Plans, finds scratch and hands over to the method's typed driver (internal.h). */
conv1dt_status conv1dt__forward_run(const conv1dt_layer *layer, const conv1dt_geometry *g,
                                    const void *x, void *y, void *pre, void *workspace,
                                    size_t workspace_bytes) {
  conv1dt_plan plan;
  void *owned = NULL;
  if (workspace) {
    CONV1DT_CHECK(conv1dt__plan(g, layer->elem_size, workspace_bytes, &plan));
  } else {
    CONV1DT_CHECK(conv1dt__plan(g, layer->elem_size, workspace_budget(layer), &plan));
    workspace = owned = conv1dt__workspace_alloc(plan.bytes);
    if (!owned)
      return conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY,
                           "conv1dt_forward: out of memory for a workspace of %zu bytes",
                           plan.bytes);
  }
  /* Align the start: the plan includes the slack. */
  uintptr_t p = (uintptr_t)workspace;
  p = (p + CONV1DT_WORKSPACE_ALIGN - 1) & ~(uintptr_t)(CONV1DT_WORKSPACE_ALIGN - 1);
  if (plan.direct && layer->dtype == CONV1DT_FLOAT32)
    conv1dt__direct_run_f32(layer, g, &plan, x, y, pre, (void *)p);
  else if (plan.direct)
    conv1dt__direct_run_f64(layer, g, &plan, x, y, pre, (void *)p);
  else if (plan.accumulate && layer->dtype == CONV1DT_FLOAT32)
    conv1dt__accumulate_run_f32(layer, g, &plan, x, y, pre, (float *)p);
  else if (plan.accumulate)
    conv1dt__accumulate_run_f64(layer, g, &plan, x, y, pre, (double *)p);
  else if (layer->dtype == CONV1DT_FLOAT32)
    conv1dt__run_f32(layer, g, &plan, x, y, pre, (float *)p);
  else
    conv1dt__run_f64(layer, g, &plan, x, y, pre, (double *)p);
  free(owned);
  return CONV1DT_OK;
}

conv1dt_status conv1dt_forward(const conv1dt_layer *layer, const void *x, int64_t batch,
                               int64_t steps, void *y, void *workspace, size_t workspace_bytes) {
  return conv1dt_forward_train(layer, x, batch, steps, y, NULL, workspace, workspace_bytes);
}

conv1dt_status conv1dt_forward_train(const conv1dt_layer *layer, const void *x, int64_t batch,
                                     int64_t steps, void *y, void *pre, void *workspace,
                                     size_t workspace_bytes) {
  CONV1DT_REQUIRE_PTR(layer, "conv1dt_forward");
  conv1dt_geometry g;
  CONV1DT_CHECK(conv1dt__geometry(layer, batch, steps, &g));
  const int empty_out = g.batch == 0 || g.out_len == 0;
  if (!x && g.batch > 0)
    return conv1dt__fail(CONV1DT_ERROR_NULL_ARGUMENT, "conv1dt_forward: argument `x` is NULL");
  if (!y && !empty_out)
    return conv1dt__fail(CONV1DT_ERROR_NULL_ARGUMENT, "conv1dt_forward: argument `y` is NULL");
  if (empty_out) return CONV1DT_OK; /* Keras returns the empty tensor */

  return conv1dt__forward_run(layer, &g, x, y, pre, workspace, workspace_bytes);
}
