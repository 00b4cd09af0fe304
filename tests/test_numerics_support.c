#include "test_numerics_support.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const tn_activation_names[] = {
    NULL,          "linear",      "relu",       "leaky_relu",     "relu6",        "elu",
    "selu",        "celu",        "softplus",   "softsign",       "squareplus",   "soft_shrink",
    "hard_shrink", "sparse_plus", "sigmoid",    "sparse_sigmoid", "hard_sigmoid", "silu",
    "swish",       "hard_silu",   "hard_swish", "gelu",           "tanh",         "tanh_shrink",
    "hard_tanh",   "exponential", "mish",       "log_sigmoid",    "softmax",      "log_softmax",
    "sparsemax",   "glu",
};
const size_t tn_activation_count = sizeof tn_activation_names / sizeof tn_activation_names[0];

void tn_appendf(char *msg, size_t size, const char *fmt, ...) {
  if (!msg || !size) return;
  size_t used = strlen(msg);
  if (used + 1 >= size) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + used, size - used, fmt, ap);
  va_end(ap);
}

size_t tn_check_case(const conv1dt_config *cfg, int64_t in_channels, conv1dt_dtype dtype,
                     int64_t batch, int64_t steps, const double *x, const double *kernel,
                     const double *bias, char *msg, size_t msg_size, void **y_out,
                     size_t *count_out) {
  char desc[256], detail[768];
  size_t problems = 0;
  const size_t es = ref_dtype_size(dtype);
  const int64_t F = cfg->filters, K = cfg->kernel_size, C = in_channels;
  const size_t nx = (size_t)(batch * steps * C), nk = (size_t)(K * F * C);
  conv1dt_layer *layer = NULL;
  void *xd = NULL, *kd = NULL, *bd = NULL, *y = NULL, *xcopy = NULL;
  ref_output ref = {{0, 0, 0}, 0, NULL, NULL};
  if (y_out) *y_out = NULL;
  if (count_out) *count_out = 0;
  ref_describe(cfg, in_channels, dtype, batch, steps, desc, sizeof desc);

#define TN_FAIL(...)                                                                               \
  do {                                                                                             \
    ++problems;                                                                                    \
    snprintf(detail, sizeof detail, __VA_ARGS__);                                                  \
    tn_appendf(msg, msg_size, "[%s] %s\n", desc, detail);                                          \
  } while (0)

  conv1dt_status st = conv1dt_create(cfg, in_channels, dtype, &layer);
  if (st != CONV1DT_OK) {
    TN_FAIL("conv1dt_create -> %s (%s)", conv1dt_status_name(st), conv1dt_last_error());
    goto done;
  }
  xd = malloc((nx ? nx : 1) * es);
  xcopy = malloc((nx ? nx : 1) * es);
  kd = malloc(nk * es);
  bd = malloc((size_t)F * es);
  if (!xd || !xcopy || !kd || !bd) abort();
  ref_from_double(dtype, x, xd, nx);
  memcpy(xcopy, xd, nx * es);
  ref_from_double(dtype, kernel, kd, nk);
  if (cfg->use_bias) ref_from_double(dtype, bias, bd, (size_t)F);
  st = conv1dt_set_weights(layer, kd, cfg->use_bias ? bd : NULL);
  if (st != CONV1DT_OK) {
    TN_FAIL("conv1dt_set_weights -> %s (%s)", conv1dt_status_name(st), conv1dt_last_error());
    goto done;
  }

  int64_t ref_shape[3] = {0, 0, 0}, lib_shape[3] = {-7, -7, -7};
  ref_status rs = ref_output_shape(cfg, in_channels, batch, steps, ref_shape);
  st = conv1dt_output_shape(layer, batch, steps, lib_shape);
  if (rs == REF_GLU_ODD) {
    /* glu over an odd last axis (channels_first: odd number of output steps) */
    if (st != CONV1DT_ERROR_SHAPE_MISMATCH)
      TN_FAIL("glu odd axis: conv1dt_output_shape -> %s, expected CONV1DT_ERROR_SHAPE_MISMATCH",
              conv1dt_status_name(st));
    if (lib_shape[0] != -7 || lib_shape[1] != -7 || lib_shape[2] != -7)
      TN_FAIL("glu odd axis: failed conv1dt_output_shape wrote out_shape");
    ref_geometry g;
    if (!ref_geometry_of(cfg, steps, &g)) abort();
    const size_t ny = (size_t)(batch * g.out_len * F) + 1; /* the unhalved size, to be safe */
    void *ysent = malloc(ny * es);
    if (!ysent) abort();
    ref_fill_sentinel(dtype, ysent, ny);
    st = conv1dt_forward(layer, xd, batch, steps, ysent, NULL, 0);
    if (st != CONV1DT_ERROR_SHAPE_MISMATCH)
      TN_FAIL("glu odd axis: conv1dt_forward -> %s, expected CONV1DT_ERROR_SHAPE_MISMATCH",
              conv1dt_status_name(st));
    if (!ref_is_sentinel(dtype, ysent, ny)) TN_FAIL("glu odd axis: failed forward wrote y");
    free(ysent);
    goto done;
  }
  if (rs != REF_OK) {
    TN_FAIL("reference rejects the configuration (%d)", (int)rs);
    goto done;
  }
  if (st != CONV1DT_OK) {
    TN_FAIL("conv1dt_output_shape -> %s (%s)", conv1dt_status_name(st), conv1dt_last_error());
    goto done;
  }
  if (memcmp(ref_shape, lib_shape, sizeof ref_shape) != 0)
    TN_FAIL("shape: expected (%" PRId64 ",%" PRId64 ",%" PRId64 ") got (%" PRId64 ",%" PRId64
            ",%" PRId64 ")",
            ref_shape[0], ref_shape[1], ref_shape[2], lib_shape[0], lib_shape[1], lib_shape[2]);

  size_t ws = 0, wmin = 0;
  st = conv1dt_workspace_size(layer, batch, steps, &ws);
  if (st != CONV1DT_OK) TN_FAIL("conv1dt_workspace_size -> %s", conv1dt_status_name(st));
  st = conv1dt_min_workspace_size(layer, batch, steps, &wmin);
  if (st != CONV1DT_OK) TN_FAIL("conv1dt_min_workspace_size -> %s", conv1dt_status_name(st));
  if (ws < wmin) TN_FAIL("workspace_size %zu < min_workspace_size %zu", ws, wmin);

  rs = ref_forward(cfg, in_channels, dtype, x, batch, steps, kernel, bias, &ref);
  if (rs != REF_OK) {
    TN_FAIL("reference failed (%d)", (int)rs);
    goto done;
  }
  y = malloc((ref.count + 1) * es);
  if (!y) abort();
  ref_fill_sentinel(dtype, y, ref.count + 1);
  st = conv1dt_forward(layer, xd, batch, steps, y, NULL, 0);
  if (st != CONV1DT_OK) {
    TN_FAIL("conv1dt_forward -> %s (%s)", conv1dt_status_name(st), conv1dt_last_error());
    goto done;
  }
  if (!ref_is_sentinel(dtype, (char *)y + ref.count * es, 1))
    TN_FAIL("conv1dt_forward wrote past the end of y");
  if (memcmp(xcopy, xd, nx * es) != 0) TN_FAIL("conv1dt_forward modified x");
  char cmp[600];
  size_t bad = ref_compare(dtype, y, ref.y, ref.tol, ref.count, cmp, sizeof cmp);
  if (bad) TN_FAIL("%zu of %zu values wrong: %s", bad, ref.count, cmp);
  if (y_out && problems == 0) {
    *y_out = y;
    y = NULL;
    if (count_out) *count_out = ref.count;
  }
#undef TN_FAIL
done:
  ref_output_free(&ref);
  conv1dt_destroy(layer);
  free(xd);
  free(xcopy);
  free(kd);
  free(bd);
  free(y);
  return problems;
}

size_t tn_check_random_case(ref_rng *rng, const conv1dt_config *cfg, int64_t in_channels,
                            conv1dt_dtype dtype, int64_t batch, int64_t steps, bool integers,
                            char *msg, size_t msg_size) {
  double *x, *k, *b;
  const double lo = integers ? -2 : -1, hi = integers ? 2 : 1;
  void *xa =
      ref_random_array(rng, dtype, (size_t)(batch * steps * in_channels), lo, hi, integers, &x);
  void *ka = ref_random_array(rng, dtype, (size_t)(cfg->kernel_size * cfg->filters * in_channels),
                              lo, hi, integers, &k);
  void *ba = ref_random_array(rng, dtype, (size_t)cfg->filters, lo, hi, integers, &b);
  if (!xa || !ka || !ba) abort();
  size_t problems =
      tn_check_case(cfg, in_channels, dtype, batch, steps, x, k, b, msg, msg_size, NULL, NULL);
  free(xa);
  free(ka);
  free(ba);
  free(x);
  free(k);
  free(b);
  return problems;
}
