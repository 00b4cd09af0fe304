/* Layer lifecycle: defaults, creation (validation + the configured initializers), weights I/O. */
#include "kernels/kernel.h"

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
  cfg.kernel_initializer = conv1dt_initializer_default(CONV1DT_INIT_GLOROT_UNIFORM);
  cfg.bias_initializer = conv1dt_initializer_default(CONV1DT_INIT_ZEROS);
  cfg.kernel_regularizer = conv1dt__regularizer_default(CONV1DT_REG_NONE);
  cfg.bias_regularizer = conv1dt__regularizer_default(CONV1DT_REG_NONE);
  cfg.activity_regularizer = conv1dt__regularizer_default(CONV1DT_REG_NONE);
  cfg.kernel_constraint = conv1dt__constraint_default(CONV1DT_CONSTRAINT_NONE);
  cfg.bias_constraint = conv1dt__constraint_default(CONV1DT_CONSTRAINT_NONE);
  return cfg;
}

/* The training arguments, as Keras would judge them: every parameter always (Keras's
 * constructors), the shape-dependent rules only for weights that exist (Keras's calls): a layer
 * without a bias never calls its bias initializer, regularizer or constraint. The activity
 * regularizer sees the rank-3 output. */
static conv1dt_status check_training(const conv1dt_config *cfg, int64_t in_channels) {
  const int64_t kshape[3] = {cfg->kernel_size, cfg->filters, in_channels};
  const int64_t bshape[1] = {cfg->filters};
  const int64_t yshape[3] = {-1, -1, -1}; /* the output: only its rank matters */
  const int brank = cfg->use_bias ? 1 : -1;
  CONV1DT_CHECK(
      conv1dt__check_initializer(&cfg->kernel_initializer, 3, kshape, "kernel_initializer"));
  CONV1DT_CHECK(
      conv1dt__check_initializer(&cfg->bias_initializer, brank, bshape, "bias_initializer"));
  CONV1DT_CHECK(
      conv1dt__check_regularizer(&cfg->kernel_regularizer, 3, kshape, "kernel_regularizer"));
  CONV1DT_CHECK(
      conv1dt__check_regularizer(&cfg->bias_regularizer, brank, bshape, "bias_regularizer"));
  CONV1DT_CHECK(
      conv1dt__check_regularizer(&cfg->activity_regularizer, 3, yshape, "activity_regularizer"));
  CONV1DT_CHECK(conv1dt__check_constraint(&cfg->kernel_constraint, 3, "kernel_constraint"));
  CONV1DT_CHECK(conv1dt__check_constraint(&cfg->bias_constraint, brank, "bias_constraint"));
  return CONV1DT_OK;
}

/* Draws the kernel (stream 0) and the bias (stream 1) from the configured initializers, each
 * keyed by its own seed when it has one, else by cfg.seed. With the default glorot_uniform this
 * is the kernel the library has always drawn: U(-limit, limit), limit = sqrt(3 / max(1,
 * (F*K + C*K) / 2)), element i from Philox counter i. Nothing changes on failure. */
static conv1dt_status draw_weights(conv1dt_layer *layer) {
  const conv1dt_config *cfg = &layer->cfg;
  const int64_t kshape[3] = {cfg->kernel_size, cfg->filters, layer->in_channels};
  const int64_t bshape[1] = {cfg->filters};
  const conv1dt_initializer *ki = &cfg->kernel_initializer, *bi = &cfg->bias_initializer;
  /* Only the kernel can fail (orthogonal's memory); the bias is rank 1, never orthogonal. */
  CONV1DT_CHECK(conv1dt__draw(ki, ki->has_seed ? ki->seed : cfg->seed, CONV1DT_STREAM_KERNEL,
                              layer->dtype, 3, kshape, layer->kernel));
  if (layer->bias)
    CONV1DT_CHECK(conv1dt__draw(bi, bi->has_seed ? bi->seed : cfg->seed, CONV1DT_STREAM_BIAS,
                                layer->dtype, 1, bshape, layer->bias));
  conv1dt__repack(layer);
  return CONV1DT_OK;
}

void conv1dt__repack(conv1dt_layer *layer) {
  const int f32 = layer->dtype == CONV1DT_FLOAT32;
  if (layer->packed) {
    if (f32)
      conv1dt__pack_direct_f32(layer, layer->packed);
    else
      conv1dt__pack_direct_f64(layer, layer->packed);
  }
  if (layer->gemm_w) {
    if (f32)
      conv1dt__pack_gemm_f32(layer, layer->gemm_w);
    else
      conv1dt__pack_gemm_f64(layer, layer->gemm_w);
  }
}

conv1dt_status conv1dt_reset_weights(conv1dt_layer *layer) {
  CONV1DT_REQUIRE_PTR(layer, "conv1dt_reset_weights");
  return draw_weights(layer);
}

conv1dt_status conv1dt_create(const conv1dt_config *cfg, int64_t in_channels, conv1dt_dtype dtype,
                              conv1dt_layer **out) {
  CONV1DT_REQUIRE_PTR(cfg, "conv1dt_create");
  CONV1DT_REQUIRE_PTR(out, "conv1dt_create");
  conv1dt_act act;
  const char *canonical;
  CONV1DT_CHECK(conv1dt__validate_config(cfg, in_channels, dtype, &act));
  CONV1DT_CHECK(conv1dt__activation_lookup(cfg->activation, NULL, &canonical));
  CONV1DT_CHECK(check_training(cfg, in_channels));

  conv1dt_layer *layer = calloc(1, sizeof *layer);
  if (!layer) return conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY, "conv1dt_create: out of memory");
  conv1dt__pool_init(layer);
  layer->cfg = *cfg;
  layer->cfg.activation = canonical;
  layer->in_channels = in_channels;
  layer->dtype = dtype;
  layer->elem_size = dtype == CONV1DT_FLOAT32 ? sizeof(float) : sizeof(double);
  layer->act = act;
  layer->keff = (cfg->kernel_size - 1) * cfg->dilation_rate + 1;
  layer->isa = conv1dt__cpu_isa();
  /* Sizes were overflow-checked by validate_config. */
  size_t kernel_elems = (size_t)(cfg->kernel_size * cfg->filters * in_channels);
  layer->kernel = malloc(kernel_elems * layer->elem_size);
  if (cfg->use_bias) layer->bias = malloc((size_t)cfg->filters * layer->elem_size);
  /* The direct kernel's copy, filters padded to whole vectors. A size that overflows leaves
   * it out, and the layer computes with the GEMM path (see conv1dt__geometry). */
  int direct = conv1dt__direct_wanted(cfg->algorithm, in_channels);
  if (direct) {
    const int64_t vl = (int64_t)(CONV1DT_DIRECT_PAD_BYTES / layer->elem_size);
    int64_t n;
    layer->ldw = (cfg->filters + vl - 1) / vl * vl;
    /* channels_first, and channels_last with few filters (the steps tiles' mono, see
     * dispatch.c): twice that, for packed_t (its groups of 4 filters pad F to at most ldw) */
    const int copies =
        cfg->data_format == CONV1DT_CHANNELS_FIRST ||
                conv1dt__direct_few_filters((conv1dt_isa)layer->isa, cfg->filters, layer->elem_size)
            ? 2
            : 1;
    direct = conv1dt__mul64(cfg->kernel_size, in_channels, &n) && conv1dt__add64(n, 1, &n) &&
             conv1dt__mul64(n, layer->ldw, &n) && conv1dt__mul64(n, 8 * copies, &n) &&
             (uint64_t)n <= SIZE_MAX;
    if (direct) layer->packed = malloc((size_t)(n / 8) * layer->elem_size);
    if (direct && layer->packed && copies == 2)
      layer->packed_t = (char *)layer->packed + (size_t)(n / 16) * layer->elem_size;
    /* The grouped kernel's taps, if it runs here; without the memory the layer does without. */
    const int groups =
        conv1dt__direct_groups((conv1dt_isa)layer->isa, cfg->filters, cfg->kernel_size,
                               cfg->strides, cfg->dilation_rate, layer->elem_size);
    int64_t ng;
    if (direct && groups && conv1dt__add64(cfg->kernel_size, groups - 1, &ng) &&
        conv1dt__mul64(ng, in_channels, &ng) && conv1dt__add64(ng, 1, &ng) &&
        conv1dt__mul64(ng, CONV1DT_DIRECT_GROUP_VBYTES, &ng) && (uint64_t)ng <= SIZE_MAX &&
        (layer->packed_g = malloc((size_t)ng)) != NULL)
      layer->groups = groups;
  }
  /* The GEMM methods' copy (as large as the kernel). Layers with the direct kernel fall back to
   * the GEMMs only for tiny workspaces, and then read the kernel as it is. */
  if (!direct) layer->gemm_w = malloc(kernel_elems * layer->elem_size);
  if (!layer->kernel || (cfg->use_bias && !layer->bias) || (direct && !layer->packed) ||
      (!direct && !layer->gemm_w)) {
    conv1dt_destroy(layer);
    return conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY,
                         "conv1dt_create: out of memory for a kernel of %zu elements",
                         kernel_elems);
  }
  conv1dt_status st = draw_weights(layer);
  if (st != CONV1DT_OK) {
    conv1dt_destroy(layer);
    return st;
  }
  *out = layer;
  return CONV1DT_OK;
}

conv1dt_status conv1dt__layer_use_isa(conv1dt_layer *layer, conv1dt_isa isa) {
  /* lower only: a wider table could want copies (packed_g, packed_t for more filters) that the
   * layer did not make */
  if (!conv1dt__isa_runs(isa) || (int)isa > layer->isa)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "conv1dt__layer_use_isa: table %d cannot run this layer here", (int)isa);
  layer->isa = (int)isa;
  if (!conv1dt__direct_groups(isa, layer->cfg.filters, layer->cfg.kernel_size, layer->cfg.strides,
                              layer->cfg.dilation_rate, layer->elem_size)) {
    free(layer->packed_g);
    layer->packed_g = NULL;
    layer->groups = 0;
  }
  return CONV1DT_OK;
}

void conv1dt_destroy(conv1dt_layer *layer) {
  if (!layer) return;
  conv1dt__pool_destroy(layer);
  free(layer->kernel);
  free(layer->bias);
  free(layer->packed);
  free(layer->packed_g);
  free(layer->gemm_w);
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
  conv1dt__repack(layer);
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
