/* Keras's weight and activity regularizers (keras/src/regularizers/regularizers.py):
 *   L1(l1=0.01):        l1 * sum |w|
 *   L2(l2=0.01):        l2 * sum w^2
 *   L1L2(l1=0, l2=0):   both, each term only when its factor is not 0 (as Keras skips it)
 *   OrthogonalRegularizer(factor=0.01, mode="rows"): rank-2 inputs only; this layer's kernel
 *     (rank 3), bias (rank 1) and output (rank 3) are never rank 2, so it is refused here at
 *     creation with Keras's message (Keras raises it when the loss is first computed).
 * Factors must be finite and non-negative (Keras's validate_float_arg). Sums are accumulated in
 * double whatever the dtype. The activity term is divided by the batch size (Keras's
 * divide_no_nan: 0 for an empty batch). */
#include "internal.h"

#include <math.h>

static conv1dt_status check_factor(double v, const char *arg, const char *what) {
  if (!isfinite(v) || v < 0.0)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "%s: Invalid value for argument %s: expected a non-negative float. "
                         "Received: %s=%.17g",
                         what, arg, arg, v);
  return CONV1DT_OK;
}

conv1dt_status conv1dt__check_regularizer(const conv1dt_regularizer *reg, int ndim,
                                          const int64_t *shape, const char *what) {
  switch (reg->kind) {
  case CONV1DT_REG_NONE:
    return CONV1DT_OK;
  case CONV1DT_REG_L1:
    return check_factor(reg->l1, "l1", what);
  case CONV1DT_REG_L2:
    return check_factor(reg->l2, "l2", what);
  case CONV1DT_REG_L1L2:
    CONV1DT_CHECK(check_factor(reg->l1, "l1", what));
    return check_factor(reg->l2, "l2", what);
  case CONV1DT_REG_ORTHOGONAL:
    CONV1DT_CHECK(check_factor(reg->factor, "factor", what));
    if (ndim >= 0 && ndim != 2) {
      char s[256];
      return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                           "%s: Inputs to OrthogonalRegularizer must have rank 2. Received: "
                           "inputs.shape=%s",
                           what, conv1dt__format_shape(s, sizeof s, ndim, shape));
    }
    return CONV1DT_OK;
  }
  return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                       "%s: unknown regularizer kind %d (expected a conv1dt_reg_kind, "
                       "CONV1DT_REG_NONE .. CONV1DT_REG_ORTHOGONAL)",
                       what, (int)reg->kind);
}

/* The penalty of a (checked, non-orthogonal) regularizer on n values. L1L2 leaves out a term
 * whose factor is 0 (Keras's `if self.l1 != 0.0`); L1 and L2 always compute theirs. */
static double penalty(const conv1dt_regularizer *reg, conv1dt_dtype dt, const void *w, size_t n) {
  const bool l1l2 = reg->kind == CONV1DT_REG_L1L2;
  const bool use_l1 = reg->kind == CONV1DT_REG_L1 || (l1l2 && reg->l1 != 0.0);
  const bool use_l2 = reg->kind == CONV1DT_REG_L2 || (l1l2 && reg->l2 != 0.0);
  if (!use_l1 && !use_l2) return 0.0;
  double sum_abs = 0.0, sum_sq = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double v = conv1dt__load(w, dt, i);
    sum_abs += fabs(v);
    sum_sq += v * v;
  }
  return (use_l1 ? reg->l1 * sum_abs : 0.0) + (use_l2 ? reg->l2 * sum_sq : 0.0);
}

/* d += l1 sign(w) + 2 l2 w (sign(0) = 0, as ops.sign). */
static void add_gradient(const conv1dt_regularizer *reg, conv1dt_dtype dt, const void *w, void *d,
                         size_t n) {
  const double l1 = reg->kind == CONV1DT_REG_L1 || reg->kind == CONV1DT_REG_L1L2 ? reg->l1 : 0.0;
  const double l2 = reg->kind == CONV1DT_REG_L2 || reg->kind == CONV1DT_REG_L1L2 ? reg->l2 : 0.0;
  if (l1 == 0.0 && l2 == 0.0) return;
  for (size_t i = 0; i < n; i++) {
    const double v = conv1dt__load(w, dt, i);
    const double sign = v > 0.0 ? 1.0 : v < 0.0 ? -1.0 : v; /* NaN stays NaN */
    double g = 0.0;
    if (l1 != 0.0) g += l1 * sign;
    if (l2 != 0.0) g += 2.0 * l2 * v;
    conv1dt__store(d, dt, i, conv1dt__load(d, dt, i) + g);
  }
}

static size_t kernel_count(const conv1dt_layer *layer) {
  return (size_t)(layer->cfg.kernel_size * layer->cfg.filters * layer->in_channels);
}

conv1dt_status conv1dt_regularization_losses(const conv1dt_layer *layer, double *kernel_loss,
                                             double *bias_loss) {
  CONV1DT_REQUIRE_PTR(layer, "conv1dt_regularization_losses");
  if (kernel_loss)
    *kernel_loss =
        penalty(&layer->cfg.kernel_regularizer, layer->dtype, layer->kernel, kernel_count(layer));
  if (bias_loss)
    *bias_loss = layer->bias ? penalty(&layer->cfg.bias_regularizer, layer->dtype, layer->bias,
                                       (size_t)layer->cfg.filters)
                             : 0.0;
  return CONV1DT_OK;
}

conv1dt_status conv1dt_regularization_gradients(const conv1dt_layer *layer, void *dkernel,
                                                void *dbias) {
  CONV1DT_REQUIRE_PTR(layer, "conv1dt_regularization_gradients");
  if (dkernel)
    add_gradient(&layer->cfg.kernel_regularizer, layer->dtype, layer->kernel, dkernel,
                 kernel_count(layer));
  if (dbias && layer->bias)
    add_gradient(&layer->cfg.bias_regularizer, layer->dtype, layer->bias, dbias,
                 (size_t)layer->cfg.filters);
  return CONV1DT_OK;
}

conv1dt_status conv1dt_activity_loss(const conv1dt_layer *layer, const void *y, int64_t batch,
                                     int64_t steps, double *loss) {
  CONV1DT_REQUIRE_PTR(layer, "conv1dt_activity_loss");
  CONV1DT_REQUIRE_PTR(loss, "conv1dt_activity_loss");
  int64_t shape[3];
  CONV1DT_CHECK(conv1dt_output_shape(layer, batch, steps, shape));
  const size_t n = (size_t)shape[0] * (size_t)shape[1] * (size_t)shape[2]; /* checked there */
  if (n > 0 && !y)
    return conv1dt__fail(CONV1DT_ERROR_NULL_ARGUMENT,
                         "conv1dt_activity_loss: argument `y` is NULL for an output of %zu "
                         "elements",
                         n);
  const conv1dt_regularizer *reg = &layer->cfg.activity_regularizer;
  /* Keras: loss / batch_size with divide_no_nan, batch_size = output.shape[0]. */
  *loss = batch == 0 ? 0.0 : penalty(reg, layer->dtype, y, n) / (double)batch;
  return CONV1DT_OK;
}
