/* Layer lifecycle: defaults, creation (validation + Keras's default weights), weights I/O. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

conv1dt_config conv1dt_config_default(int64_t filters, int64_t kernel_size) {
  conv1dt_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.filters = filters;
  cfg.kernel_size = kernel_size;
  cfg.strides = 1;
  cfg.output_padding = CONV1DT_OUTPUT_PADDING_NONE;
  cfg.dilation_rate = 1;
  cfg.padding = CONV1DT_PADDING_VALID;
  cfg.data_format = CONV1DT_CHANNELS_LAST;
  cfg.activation = NULL;
  cfg.use_bias = true;
  cfg.seed = 0;
  cfg.workspace_limit = 0;
  return cfg;
}

/* Keras's glorot_uniform: U(-limit, limit), limit = sqrt(3 * scale),
 * scale = 1 / max(1, (fan_in + fan_out) / 2), fan_in = F*K, fan_out = C*K for a (K, F, C)
 * kernel. Element i (C order) draws Philox counter i, so the result is platform-independent. */
static void glorot_uniform(conv1dt_layer *layer) {
  const int64_t k = layer->cfg.kernel_size, f = layer->cfg.filters, c = layer->in_channels;
  const double fan_avg = ((double)f * (double)k + (double)c * (double)k) / 2.0;
  const double limit = sqrt(3.0 / (fan_avg > 1.0 ? fan_avg : 1.0));
  const uint64_t n = (uint64_t)(k * f * c);
  for (uint64_t i = 0; i < n; i++) {
    double v = -limit + 2.0 * limit * conv1dt__uniform(layer->cfg.seed, i);
    if (layer->dtype == CONV1DT_FLOAT32)
      ((float *)layer->kernel)[i] = (float)v;
    else
      ((double *)layer->kernel)[i] = v;
  }
}

conv1dt_status conv1dt_create(const conv1dt_config *cfg, int64_t in_channels, conv1dt_dtype dtype,
                              conv1dt_layer **out) {
  CONV1DT_REQUIRE_PTR(cfg, "conv1dt_create");
  CONV1DT_REQUIRE_PTR(out, "conv1dt_create");
  conv1dt_act act;
  const char *canonical;
  CONV1DT_CHECK(conv1dt__validate_config(cfg, in_channels, dtype, &act));
  CONV1DT_CHECK(conv1dt__activation_lookup(cfg->activation, NULL, &canonical));

  conv1dt_layer *layer = calloc(1, sizeof *layer);
  if (!layer) return conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY, "conv1dt_create: out of memory");
  layer->cfg = *cfg;
  layer->cfg.activation = canonical;
  layer->in_channels = in_channels;
  layer->dtype = dtype;
  layer->elem_size = dtype == CONV1DT_FLOAT32 ? sizeof(float) : sizeof(double);
  layer->act = act;
  layer->keff = (cfg->kernel_size - 1) * cfg->dilation_rate + 1;
  /* Sizes were overflow-checked by validate_config. */
  size_t kernel_elems = (size_t)(cfg->kernel_size * cfg->filters * in_channels);
  layer->kernel = malloc(kernel_elems * layer->elem_size);
  if (cfg->use_bias) layer->bias = calloc((size_t)cfg->filters, layer->elem_size);
  if (!layer->kernel || (cfg->use_bias && !layer->bias)) {
    conv1dt_destroy(layer);
    return conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY,
                         "conv1dt_create: out of memory for a kernel of %zu elements",
                         kernel_elems);
  }
  glorot_uniform(layer);
  *out = layer;
  return CONV1DT_OK;
}

void conv1dt_destroy(conv1dt_layer *layer) {
  if (!layer) return;
  free(layer->kernel);
  free(layer->bias);
  free(layer);
}

static size_t kernel_bytes(const conv1dt_layer *layer) {
  return (size_t)(layer->cfg.kernel_size * layer->cfg.filters * layer->in_channels) *
         layer->elem_size;
}

conv1dt_status conv1dt_set_weights(conv1dt_layer *layer, const void *kernel, const void *bias) {
  CONV1DT_REQUIRE_PTR(layer, "conv1dt_set_weights");
  CONV1DT_REQUIRE_PTR(kernel, "conv1dt_set_weights");
  if (layer->cfg.use_bias && !bias)
    return conv1dt__fail(CONV1DT_ERROR_NULL_ARGUMENT,
                         "conv1dt_set_weights: the layer has use_bias=true, so `bias` (shape "
                         "(%lld,)) must not be NULL",
                         (long long)layer->cfg.filters);
  if (!layer->cfg.use_bias && bias)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "conv1dt_set_weights: the layer has use_bias=false, so `bias` must be "
                         "NULL");
  memcpy(layer->kernel, kernel, kernel_bytes(layer));
  if (bias) memcpy(layer->bias, bias, (size_t)layer->cfg.filters * layer->elem_size);
  return CONV1DT_OK;
}

conv1dt_status conv1dt_get_weights(const conv1dt_layer *layer, void *kernel, void *bias) {
  CONV1DT_REQUIRE_PTR(layer, "conv1dt_get_weights");
  if (kernel) memcpy(kernel, layer->kernel, kernel_bytes(layer));
  if (bias && layer->bias) memcpy(bias, layer->bias, (size_t)layer->cfg.filters * layer->elem_size);
  return CONV1DT_OK;
}

conv1dt_status conv1dt_get_config(const conv1dt_layer *layer, conv1dt_config *cfg,
                                  int64_t *in_channels, conv1dt_dtype *dtype) {
  CONV1DT_REQUIRE_PTR(layer, "conv1dt_get_config");
  if (cfg) *cfg = layer->cfg;
  if (in_channels) *in_channels = layer->in_channels;
  if (dtype) *dtype = layer->dtype;
  return CONV1DT_OK;
}
