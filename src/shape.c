/* Keras's shape rules: argument validation, output length, crop, and the block plan. */
#include "internal.h"

#include <ctype.h>
#include <limits.h>
#include <string.h>

conv1dt_status conv1dt__validate_config(const conv1dt_config *cfg, int64_t in_channels,
                                        conv1dt_dtype dtype, conv1dt_act *act) {
  if (cfg->filters <= 0)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "Invalid value for argument `filters`. Expected a strictly positive "
                         "value. Received filters=%lld.",
                         (long long)cfg->filters);
  if (cfg->kernel_size < 1)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "The `kernel_size` argument must be a positive integer. Received "
                         "kernel_size=%lld.",
                         (long long)cfg->kernel_size);
  if (cfg->strides < 1)
    return conv1dt__fail(
        CONV1DT_ERROR_INVALID_VALUE,
        "The `strides` argument must be a positive integer. Received strides=%lld.",
        (long long)cfg->strides);
  if (cfg->dilation_rate < 1)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "The `dilation_rate` argument must be a positive integer. Received "
                         "dilation_rate=%lld.",
                         (long long)cfg->dilation_rate);
  if (cfg->output_padding < CONV1DT_OUTPUT_PADDING_NONE)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "The `output_padding` argument must be None (-1) or a non-negative "
                         "integer. Received output_padding=%lld.",
                         (long long)cfg->output_padding);
  if (cfg->output_padding >= cfg->strides)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "`output_padding` must be strictly less than `strides`. Received "
                         "output_padding=%lld, strides=%lld.",
                         (long long)cfg->output_padding, (long long)cfg->strides);
  if (cfg->strides > 1 && cfg->dilation_rate > 1)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                         "Received: strides=%lld and dilation_rate=%lld",
                         (long long)cfg->strides, (long long)cfg->dilation_rate);
  if (cfg->padding != CONV1DT_PADDING_VALID && cfg->padding != CONV1DT_PADDING_SAME)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "The `padding` argument must be CONV1DT_PADDING_VALID or "
                         "CONV1DT_PADDING_SAME. Received padding=%d.",
                         (int)cfg->padding);
  if (cfg->data_format != CONV1DT_CHANNELS_LAST && cfg->data_format != CONV1DT_CHANNELS_FIRST)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "The `data_format` argument must be CONV1DT_CHANNELS_LAST or "
                         "CONV1DT_CHANNELS_FIRST. Received data_format=%d.",
                         (int)cfg->data_format);
  if (cfg->algorithm != CONV1DT_ALGORITHM_AUTO && cfg->algorithm != CONV1DT_ALGORITHM_GEMM &&
      cfg->algorithm != CONV1DT_ALGORITHM_DIRECT &&
      cfg->algorithm != CONV1DT_ALGORITHM_GEMM_ACCUMULATE)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "The `algorithm` argument must be CONV1DT_ALGORITHM_AUTO, _GEMM, _DIRECT "
                         "or _GEMM_ACCUMULATE. Received algorithm=%d.",
                         (int)cfg->algorithm);
  if (dtype != CONV1DT_FLOAT32 && dtype != CONV1DT_FLOAT64)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "The `dtype` argument must be CONV1DT_FLOAT32 or CONV1DT_FLOAT64. "
                         "Received dtype=%d.",
                         (int)dtype);
  if (in_channels <= 0)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "The input channel count must be strictly positive. Received "
                         "in_channels=%lld.",
                         (long long)in_channels);
  CONV1DT_CHECK(conv1dt__activation_lookup(cfg->activation, act, NULL));
  if (*act == CONV1DT_ACT_GLU && cfg->data_format == CONV1DT_CHANNELS_LAST && cfg->filters % 2)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "activation 'glu' splits the last axis in two halves, so it must be "
                         "even. Received filters=%lld.",
                         (long long)cfg->filters);

  /* Sizes: the kernel in bytes, and what the GEMM receives as int. */
  int64_t kf, kfc, keff, bytes;
  if (!conv1dt__mul64(cfg->kernel_size, cfg->filters, &kf) ||
      !conv1dt__mul64(kf, in_channels, &kfc) || !conv1dt__mul64(kfc, 8, &bytes) ||
      (uint64_t)bytes > SIZE_MAX || kf > INT_MAX || in_channels > INT_MAX ||
      !conv1dt__mul64(cfg->kernel_size - 1, cfg->dilation_rate, &keff) ||
      !conv1dt__add64(keff, 1, &keff) || keff > INT64_MAX / 4 || cfg->strides > INT64_MAX / 4)
    return conv1dt__fail(CONV1DT_ERROR_SIZE_OVERFLOW,
                         "layer too large: kernel_size=%lld, filters=%lld, in_channels=%lld, "
                         "strides=%lld, dilation_rate=%lld overflow the supported sizes (the BLAS "
                         "takes int dimensions)",
                         (long long)cfg->kernel_size, (long long)cfg->filters,
                         (long long)in_channels, (long long)cfg->strides,
                         (long long)cfg->dilation_rate);
  return CONV1DT_OK;
}

/* Keras's output length and left crop, from its JAX-style explicit pads
 * (keras/src/backend/common/backend_utils.py). */
static int output_geometry(const conv1dt_config *cfg, int64_t keff, int64_t steps, int64_t *out_len,
                           int64_t *crop_left) {
  const int64_t s = cfg->strides, op = cfg->output_padding;
  int64_t left, total;
  if (cfg->padding == CONV1DT_PADDING_VALID) {
    int64_t extra = op == CONV1DT_OUTPUT_PADDING_NONE ? (keff > s ? keff : s) - keff : op;
    left = keff - 1;
    total = 2 * (keff - 1) + extra;
  } else {
    total = op == CONV1DT_OUTPUT_PADDING_NONE ? s + keff - 2 : keff + keff % 2 - 2 + op;
    left = (total + 1) / 2;
    if (left > keff - 1) left = keff - 1;
  }
  *crop_left = keff - 1 - left;
  /* full length (L-1)*s + keff, minus both crops: (L-1)*s + 2 - keff + total. */
  int64_t len;
  if (!conv1dt__mul64(steps - 1, s, &len) || !conv1dt__add64(len, 2 - keff + total, &len)) return 0;
  *out_len = len;
  return 1;
}

conv1dt_status conv1dt__geometry(const conv1dt_layer *layer, int64_t batch, int64_t steps,
                                 conv1dt_geometry *g) {
  const conv1dt_config *cfg = &layer->cfg;
  if (batch < 0)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "`batch` must be non-negative. Received batch=%lld.", (long long)batch);
  if (steps < 1)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "`steps` must be at least 1. Received steps=%lld.", (long long)steps);
  memset(g, 0, sizeof *g);
  g->batch = batch;
  g->steps = steps;
  g->in_ch = layer->in_channels;
  g->filters = cfg->filters;
  g->ksize = cfg->kernel_size;
  g->stride = cfg->strides;
  g->dil = cfg->dilation_rate;
  g->keff = layer->keff;
  g->act = layer->act;
  g->channels_first = cfg->data_format == CONV1DT_CHANNELS_FIRST;
  g->algorithm = cfg->algorithm;
  if (g->algorithm == CONV1DT_ALGORITHM_DIRECT && !layer->packed)
    g->algorithm = CONV1DT_ALGORITHM_GEMM;
  g->direct_ready = layer->packed != NULL;

  int64_t xe, ye, tmp;
  if (!output_geometry(cfg, layer->keff, steps, &g->out_len, &g->crop_left) ||
      !conv1dt__mul64(batch, steps, &xe) || !conv1dt__mul64(xe, g->in_ch, &xe) ||
      !conv1dt__mul64(xe, 8, &tmp) || (uint64_t)tmp > SIZE_MAX ||
      !conv1dt__mul64(batch, g->out_len, &ye) || !conv1dt__mul64(ye, g->filters, &ye) ||
      !conv1dt__mul64(ye, 8, &tmp) || (uint64_t)tmp > SIZE_MAX ||
      (g->channels_first && steps > INT_MAX))
    return conv1dt__fail(CONV1DT_ERROR_SIZE_OVERFLOW,
                         "input too large: batch=%lld, steps=%lld overflow the supported sizes",
                         (long long)batch, (long long)steps);

  int64_t last = g->channels_first ? g->out_len : g->filters;
  if (g->act == CONV1DT_ACT_GLU) {
    if (last % 2)
      return conv1dt__fail(CONV1DT_ERROR_SHAPE_MISMATCH,
                           "activation 'glu' splits the last axis in two halves, so it must be "
                           "even. Received an output of %lld steps (channels_first, steps=%lld).",
                           (long long)last, (long long)steps);
    last /= 2;
  }
  g->out_last = last;
  g->out_shape[0] = batch;
  if (g->channels_first) {
    g->out_shape[1] = g->filters;
    g->out_shape[2] = last;
  } else {
    g->out_shape[1] = g->out_len;
    g->out_shape[2] = last;
  }
  return CONV1DT_OK;
}

conv1dt_status conv1dt__fit_rows(const conv1dt_geometry *g, size_t budget, int64_t fixed,
                                 int64_t per_row, int64_t tile_row_bytes, const char *who,
                                 int64_t *rows_out) {
  int64_t min_bytes;
  if (!conv1dt__add64(fixed, per_row, &min_bytes) || (uint64_t)min_bytes > SIZE_MAX)
    return conv1dt__fail(CONV1DT_ERROR_SIZE_OVERFLOW, "%s: workspace size overflows size_t", who);
  if (budget < (size_t)min_bytes)
    return conv1dt__fail(CONV1DT_ERROR_WORKSPACE_TOO_SMALL,
                         "%s: workspace of %zu bytes is below the minimum of %lld bytes for this "
                         "layer",
                         who, budget, (long long)min_bytes);
  int64_t rows = (int64_t)((budget - (size_t)fixed) / (size_t)per_row);
  /* No more rows than the input has (per sample for channels_first, whose GEMM cannot span
   * samples), and no more than keep the tile cache-sized — but enough that the BLAS's packing
   * of the kernel, once per block, stays small next to the block's arithmetic. */
  int64_t useful = g->channels_first ? g->steps : g->batch * g->steps;
  if (useful < 1) useful = 1;
  int64_t target = CONV1DT_TILE_TARGET_BYTES / tile_row_bytes;
  if (target < CONV1DT_TILE_MIN_ROWS) target = CONV1DT_TILE_MIN_ROWS;
  if (rows > target) rows = target;
  if (rows > useful) rows = useful;
  if (rows > INT_MAX / 2) rows = INT_MAX / 2;
  if (rows < 1) rows = 1;
  *rows_out = rows;
  return CONV1DT_OK;
}

conv1dt_status conv1dt__plan_gemm(const conv1dt_geometry *g, size_t elem_size, size_t budget,
                                  conv1dt_plan *plan) {
  const int64_t sz = (int64_t)elem_size, kf = g->ksize * g->filters; /* checked at create */
  int64_t per_row, fixed, rows = 0;
  /* Per GEMM row: one col row (kf) and `stride` accumulator positions of `filters` each; fixed:
   * keff accumulator positions (the overlap tail) and the alignment slack of the two arrays. */
  if (!conv1dt__mul64(g->stride, g->filters, &per_row) || !conv1dt__add64(per_row, kf, &per_row) ||
      !conv1dt__mul64(per_row, sz, &per_row) || !conv1dt__mul64(g->keff, g->filters, &fixed) ||
      !conv1dt__mul64(fixed, sz, &fixed) ||
      !conv1dt__add64(fixed, 2 * CONV1DT_WORKSPACE_ALIGN, &fixed))
    return conv1dt__fail(CONV1DT_ERROR_SIZE_OVERFLOW, "workspace size overflows size_t");
  CONV1DT_CHECK(conv1dt__fit_rows(g, budget, fixed, per_row, kf * sz, "conv1dt_forward", &rows));
  memset(plan, 0, sizeof *plan);
  plan->rows = rows;
  /* Few filters: OpenBLAS multiplies W * x_b faster than x_b^T * W^T, and the strided scatter
   * into short filter rows is cheap (bench cases C, D, E: faster in channels_first). */
  plan->filter_major = g->channels_first && g->filters < CONV1DT_FILTER_MAJOR_MAX_F;
  plan->win = rows * g->stride + g->keff;
  plan->col_elems = (size_t)(rows * kf);
  plan->acc_elems = (size_t)(plan->win * g->filters);
  plan->bytes = (size_t)fixed + (size_t)rows * (size_t)per_row;
  return CONV1DT_OK;
}

/* ASCII case-insensitive equality: Keras lower-cases padding and data_format strings. */
static int name_equals(const char *text, const char *name) {
  for (; *text && *name; text++, name++)
    if (tolower((unsigned char)*text) != *name) return 0;
  return *text == *name;
}

conv1dt_status conv1dt_padding_from_string(const char *text, conv1dt_padding *out) {
  CONV1DT_REQUIRE_PTR(text, "conv1dt_padding_from_string");
  CONV1DT_REQUIRE_PTR(out, "conv1dt_padding_from_string");
  if (name_equals(text, "valid") || name_equals(text, "same")) {
    *out = name_equals(text, "same") ? CONV1DT_PADDING_SAME : CONV1DT_PADDING_VALID;
    return CONV1DT_OK;
  }
  return conv1dt__fail(CONV1DT_ERROR_UNKNOWN_NAME,
                       "The `padding` argument must be a value in {'valid', 'same'} "
                       "(case-insensitive). Received: padding='%.100s'",
                       text);
}

conv1dt_status conv1dt_data_format_from_string(const char *text, conv1dt_data_format *out) {
  CONV1DT_REQUIRE_PTR(text, "conv1dt_data_format_from_string");
  CONV1DT_REQUIRE_PTR(out, "conv1dt_data_format_from_string");
  if (name_equals(text, "channels_last") || name_equals(text, "channels_first")) {
    *out = name_equals(text, "channels_first") ? CONV1DT_CHANNELS_FIRST : CONV1DT_CHANNELS_LAST;
    return CONV1DT_OK;
  }
  return conv1dt__fail(CONV1DT_ERROR_UNKNOWN_NAME,
                       "The `data_format` argument must be one of {'channels_first', "
                       "'channels_last'} (case-insensitive). Received: data_format='%.100s'",
                       text);
}

static const char *const algorithm_names[] = {"auto", "gemm", "direct", "gemm_accumulate"};

const char *conv1dt_algorithm_name(conv1dt_algorithm algorithm) {
  const unsigned a = (unsigned)algorithm;
  return a < sizeof algorithm_names / sizeof algorithm_names[0] ? algorithm_names[a] : NULL;
}

conv1dt_status conv1dt_algorithm_from_string(const char *text, conv1dt_algorithm *out) {
  const char *const *names = algorithm_names;
  CONV1DT_REQUIRE_PTR(text, "conv1dt_algorithm_from_string");
  CONV1DT_REQUIRE_PTR(out, "conv1dt_algorithm_from_string");
  char folded[32];
  size_t n = 0;
  for (; text[n] && n + 1 < sizeof folded; n++) folded[n] = text[n] == '-' ? '_' : text[n];
  folded[n] = '\0';
  for (size_t i = 0; !text[n] && i < sizeof algorithm_names / sizeof algorithm_names[0]; i++)
    if (name_equals(folded, names[i])) {
      *out = (conv1dt_algorithm)i;
      return CONV1DT_OK;
    }
  return conv1dt__fail(CONV1DT_ERROR_UNKNOWN_NAME,
                       "The `algorithm` argument must be one of {'auto', 'gemm', 'direct', "
                       "'gemm_accumulate'} (case-insensitive). Received: algorithm='%.100s'",
                       text);
}
