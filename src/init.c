/* Keras's initializers (keras/src/initializers/): parameter checks, fans, and the draws.
 *
 * Every random value comes from Philox-4x32-10 (rng.c): element i (C order) of a tensor uses the
 * counter (i_lo, i_hi, stream, attempt) under the key (seed_lo, seed_hi); stream 0 is the kernel
 * and conv1dt_initialize, stream 1 the bias; attempt is 0 except for the redraws of a truncated
 * normal. So a value depends on (seed, stream, i) only — not on the thread count, the block
 * order or the platform (the arithmetic is plain IEEE double, no fused multiply-add, and rng.c
 * computes its own log and cos). docs/SEMANTICS.md ("Weights") gives every formula. */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

/* keras.src.initializers.random_initializers.compute_fans. */
void conv1dt__fans(int ndim, const int64_t *shape, double *fan_in, double *fan_out) {
  if (ndim < 1) {
    *fan_in = *fan_out = 1.0;
  } else if (ndim == 1) {
    *fan_in = *fan_out = (double)shape[0];
  } else if (ndim == 2) {
    *fan_in = (double)shape[0];
    *fan_out = (double)shape[1];
  } else {
    double rf = 1.0; /* receptive field: prod(shape[:-2]) */
    for (int d = 0; d < ndim - 2; d++) rf *= (double)shape[d];
    *fan_in = (double)shape[ndim - 2] * rf;
    *fan_out = (double)shape[ndim - 1] * rf;
  }
}

const char *conv1dt__format_shape(char *buf, size_t size, int ndim, const int64_t *shape) {
  size_t n = 0;
  int w = snprintf(buf, size, "(");
  if (w > 0) n = (size_t)w;
  for (int d = 0; d < ndim && n < size; d++) {
    if (n + 24 >= size) { /* no room for another number: mark the cut */
      snprintf(buf + n, size - n, "...");
      return buf;
    }
    if (shape[d] < 0) /* an unknown size, as Keras prints it */
      w = snprintf(buf + n, size - n, d ? ", None" : "None");
    else
      w = snprintf(buf + n, size - n, d ? ", %lld" : "%lld", (long long)shape[d]);
    if (w > 0) n += (size_t)w;
  }
  if (n < size) snprintf(buf + n, size - n, ndim == 1 ? ",)" : ")");
  return buf;
}

static const char *kind_name(conv1dt_init_kind kind) {
  static const char *const names[] = {"zeros",
                                      "ones",
                                      "constant",
                                      "random_uniform",
                                      "random_normal",
                                      "truncated_normal",
                                      "variance_scaling",
                                      "glorot_uniform",
                                      "glorot_normal",
                                      "he_uniform",
                                      "he_normal",
                                      "lecun_uniform",
                                      "lecun_normal",
                                      "orthogonal",
                                      "identity"};
  return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}

conv1dt_status conv1dt__check_initializer(const conv1dt_initializer *init, int ndim,
                                          const int64_t *shape, const char *what) {
  const conv1dt_init_kind kind = init->kind;
  switch (kind) {
  case CONV1DT_INIT_ZEROS:
  case CONV1DT_INIT_ONES:
  case CONV1DT_INIT_CONSTANT: /* any value, as Keras casts any scalar */
  case CONV1DT_INIT_GLOROT_UNIFORM:
  case CONV1DT_INIT_GLOROT_NORMAL:
  case CONV1DT_INIT_HE_UNIFORM:
  case CONV1DT_INIT_HE_NORMAL:
  case CONV1DT_INIT_LECUN_UNIFORM:
  case CONV1DT_INIT_LECUN_NORMAL:
    break;
  case CONV1DT_INIT_RANDOM_UNIFORM:
    /* Keras passes these to the backend unchecked; the backends disagree when minval > maxval
     * (JAX clamps to minval, TensorFlow and NumPy reflect), so conv1dt refuses it. */
    if (!isfinite(init->minval) || !isfinite(init->maxval) || init->minval > init->maxval)
      return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                           "%s: random_uniform needs finite `minval` <= `maxval`. Received: "
                           "minval=%.17g, maxval=%.17g",
                           what, init->minval, init->maxval);
    break;
  case CONV1DT_INIT_RANDOM_NORMAL:
  case CONV1DT_INIT_TRUNCATED_NORMAL:
    /* A negative stddev is an error in the NumPy backend (scale < 0) and meaningless elsewhere. */
    if (!isfinite(init->mean))
      return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                           "%s: %s needs a finite `mean`. Received: mean=%.17g", what,
                           kind_name(kind), init->mean);
    if (!isfinite(init->stddev) || init->stddev < 0.0)
      return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                           "%s: %s needs a finite, non-negative `stddev`. Received: stddev=%.17g",
                           what, kind_name(kind), init->stddev);
    break;
  case CONV1DT_INIT_VARIANCE_SCALING:
    if (!(init->scale > 0.0) || !isfinite(init->scale))
      return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                           "%s: Argument `scale` must be positive float. Received: scale=%.17g",
                           what, init->scale);
    if ((unsigned)init->mode > CONV1DT_FAN_AVG)
      return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                           "%s: Invalid `mode` argument: %d. Please use one of CONV1DT_FAN_IN, "
                           "CONV1DT_FAN_OUT, CONV1DT_FAN_AVG",
                           what, (int)init->mode);
    if ((unsigned)init->distribution > CONV1DT_DIST_UNIFORM)
      return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                           "%s: Invalid `distribution` argument: %d. Please use one of "
                           "CONV1DT_DIST_TRUNCATED_NORMAL, CONV1DT_DIST_UNTRUNCATED_NORMAL, "
                           "CONV1DT_DIST_UNIFORM",
                           what, (int)init->distribution);
    break;
  case CONV1DT_INIT_ORTHOGONAL:
  case CONV1DT_INIT_IDENTITY:
    if (!isfinite(init->gain))
      return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                           "%s: %s needs a finite `gain`. Received: gain=%.17g", what,
                           kind_name(kind), init->gain);
    break;
  default:
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "%s: unknown initializer kind %d (expected a conv1dt_init_kind, "
                         "CONV1DT_INIT_ZEROS .. CONV1DT_INIT_IDENTITY)",
                         what, (int)kind);
  }
  if (ndim < 0) return CONV1DT_OK;
  char s[256];
  if (kind == CONV1DT_INIT_ORTHOGONAL && ndim < 2)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "%s: The tensor to initialize must be at least two-dimensional. "
                         "Received: shape=%s of rank %d.",
                         what, conv1dt__format_shape(s, sizeof s, ndim, shape), ndim);
  if (kind == CONV1DT_INIT_IDENTITY && ndim != 2)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "%s: Identity matrix initializer can only be used for 2D matrices. "
                         "Received: shape=%s of rank %d.",
                         what, conv1dt__format_shape(s, sizeof s, ndim, shape), ndim);
  return CONV1DT_OK;
}

static void fill_constant(double v, conv1dt_dtype dt, size_t n, void *out) {
  for (size_t i = 0; i < n; i++) conv1dt__store(out, dt, i, v);
}

/* U[minval, maxval): minval + (maxval - minval) u. */
static void fill_uniform(double lo, double hi, uint64_t seed, uint32_t stream, conv1dt_dtype dt,
                         size_t n, void *out) {
  const double width = hi - lo;
  for (size_t i = 0; i < n; i++)
    conv1dt__store(out, dt, i, lo + width * conv1dt__uniform_at(seed, i, stream, 0));
}

static void fill_normal(double mean, double sd, uint64_t seed, uint32_t stream, conv1dt_dtype dt,
                        size_t n, void *out) {
  for (size_t i = 0; i < n; i++)
    conv1dt__store(out, dt, i, mean + sd * conv1dt__normal_at(seed, i, stream, 0));
}

/* Keras's truncated normal: a standard normal z redrawn (attempt 1, 2, ...) while |z| > 2, then
 * mean + sd z — the values lie within two standard deviations of the mean, bounds included. */
static void fill_truncated(double mean, double sd, uint64_t seed, uint32_t stream, conv1dt_dtype dt,
                           size_t n, void *out) {
  for (size_t i = 0; i < n; i++) {
    double z;
    uint32_t attempt = 0;
    do z = conv1dt__normal_at(seed, i, stream, attempt++);
    while (fabs(z) > 2.0);
    conv1dt__store(out, dt, i, mean + sd * z);
  }
}

/* Keras's Orthogonal: a normal (max, min) matrix (stream `stream`, element i = counter i), its
 * sign-fixed thin Q, transposed when rows < cols, times gain; rows = prod(shape[:-1]). */
static conv1dt_status fill_orthogonal(double gain, uint64_t seed, uint32_t stream, conv1dt_dtype dt,
                                      int ndim, const int64_t *shape, void *out) {
  int64_t rows = 1;
  for (int d = 0; d < ndim - 1; d++) rows *= shape[d]; /* the count fits: checked by callers */
  const int64_t cols = shape[ndim - 1];
  const int64_t big = rows > cols ? rows : cols, small = rows > cols ? cols : rows;
  const size_t n = (size_t)big * (size_t)small;
  if (n == 0) return CONV1DT_OK;
  double *a = malloc(n * sizeof *a), *q = malloc(n * sizeof *q);
  if (!a || !q) {
    free(a);
    free(q);
    return conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY,
                         "orthogonal initializer: out of memory for a %lld x %lld matrix",
                         (long long)big, (long long)small);
  }
  for (size_t i = 0; i < n; i++) a[i] = conv1dt__normal_at(seed, i, stream, 0);
  conv1dt_status st = conv1dt__orthogonal_q(a, big, small, q);
  if (st == CONV1DT_OK) {
    if (rows >= cols) {
      for (size_t i = 0; i < n; i++) conv1dt__store(out, dt, i, gain * q[i]);
    } else { /* q is (cols, rows); out is its transpose */
      for (int64_t r = 0; r < rows; r++)
        for (int64_t c = 0; c < cols; c++)
          conv1dt__store(out, dt, (size_t)(r * cols + c), gain * q[(size_t)(c * rows + r)]);
    }
  }
  free(a);
  free(q);
  return st;
}

conv1dt_status conv1dt__draw(const conv1dt_initializer *init, uint64_t seed, uint32_t stream,
                             conv1dt_dtype dt, int ndim, const int64_t *shape, void *out) {
  size_t n = 1;
  for (int d = 0; d < ndim; d++) n *= (size_t)shape[d]; /* checked by callers */
  double scale = init->scale;
  conv1dt_fan_mode mode = init->mode;
  conv1dt_distribution dist = init->distribution;
  switch (init->kind) {
  case CONV1DT_INIT_ZEROS:
    fill_constant(0.0, dt, n, out);
    return CONV1DT_OK;
  case CONV1DT_INIT_ONES:
    fill_constant(1.0, dt, n, out);
    return CONV1DT_OK;
  case CONV1DT_INIT_CONSTANT:
    fill_constant(init->value, dt, n, out);
    return CONV1DT_OK;
  case CONV1DT_INIT_RANDOM_UNIFORM:
    fill_uniform(init->minval, init->maxval, seed, stream, dt, n, out);
    return CONV1DT_OK;
  case CONV1DT_INIT_RANDOM_NORMAL:
    fill_normal(init->mean, init->stddev, seed, stream, dt, n, out);
    return CONV1DT_OK;
  case CONV1DT_INIT_TRUNCATED_NORMAL:
    fill_truncated(init->mean, init->stddev, seed, stream, dt, n, out);
    return CONV1DT_OK;
  case CONV1DT_INIT_ORTHOGONAL:
    return fill_orthogonal(init->gain, seed, stream, dt, ndim, shape, out);
  case CONV1DT_INIT_IDENTITY: { /* gain * eye(rows, cols); checked 2-D */
    const int64_t cols = shape[1];
    for (size_t i = 0; i < n; i++)
      conv1dt__store(out, dt, i,
                     (int64_t)(i / (size_t)cols) == (int64_t)(i % (size_t)cols) ? init->gain : 0.0);
    return CONV1DT_OK;
  }
  case CONV1DT_INIT_GLOROT_UNIFORM:
  case CONV1DT_INIT_GLOROT_NORMAL:
  case CONV1DT_INIT_HE_UNIFORM:
  case CONV1DT_INIT_HE_NORMAL:
  case CONV1DT_INIT_LECUN_UNIFORM:
  case CONV1DT_INIT_LECUN_NORMAL: {
    /* The variance-scaling family: Keras's subclasses fix (scale, mode, distribution). */
    static const struct {
      double scale;
      conv1dt_fan_mode mode;
      conv1dt_distribution dist;
    } family[] = {
        [CONV1DT_INIT_GLOROT_UNIFORM] = {1.0, CONV1DT_FAN_AVG, CONV1DT_DIST_UNIFORM},
        [CONV1DT_INIT_GLOROT_NORMAL] = {1.0, CONV1DT_FAN_AVG, CONV1DT_DIST_TRUNCATED_NORMAL},
        [CONV1DT_INIT_HE_UNIFORM] = {2.0, CONV1DT_FAN_IN, CONV1DT_DIST_UNIFORM},
        [CONV1DT_INIT_HE_NORMAL] = {2.0, CONV1DT_FAN_IN, CONV1DT_DIST_TRUNCATED_NORMAL},
        [CONV1DT_INIT_LECUN_UNIFORM] = {1.0, CONV1DT_FAN_IN, CONV1DT_DIST_UNIFORM},
        [CONV1DT_INIT_LECUN_NORMAL] = {1.0, CONV1DT_FAN_IN, CONV1DT_DIST_TRUNCATED_NORMAL}};
    scale = family[init->kind].scale;
    mode = family[init->kind].mode;
    dist = family[init->kind].dist;
    break;
  }
  case CONV1DT_INIT_VARIANCE_SCALING:
    break;
  }
  double fan_in, fan_out;
  conv1dt__fans(ndim, shape, &fan_in, &fan_out);
  const double fan = mode == CONV1DT_FAN_IN    ? fan_in
                     : mode == CONV1DT_FAN_OUT ? fan_out
                                               : (fan_in + fan_out) / 2.0;
  const double denom = fan > 1.0 ? fan : 1.0; /* Keras's max(1.0, fan) */
  if (dist == CONV1DT_DIST_UNIFORM) {
    /* limit = sqrt(3 scale / fan), written (3 scale) / fan: for scale 1 the exact expression the
     * library has always used for its default glorot_uniform kernel. */
    const double limit = sqrt(3.0 * scale / denom);
    fill_uniform(-limit, limit, seed, stream, dt, n, out);
  } else if (dist == CONV1DT_DIST_UNTRUNCATED_NORMAL) {
    fill_normal(0.0, sqrt(scale / denom), seed, stream, dt, n, out);
  } else {
    /* 0.879... is the stddev of a standard normal truncated to [-2, 2]: the result has
     * variance scale / fan. */
    fill_truncated(0.0, sqrt(scale / denom) / 0.87962566103423978, seed, stream, dt, n, out);
  }
  return CONV1DT_OK;
}

conv1dt_status conv1dt_initialize(const conv1dt_initializer *init, conv1dt_dtype dtype, int ndim,
                                  const int64_t *shape, void *out) {
  CONV1DT_REQUIRE_PTR(init, "conv1dt_initialize");
  if (dtype != CONV1DT_FLOAT32 && dtype != CONV1DT_FLOAT64)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "conv1dt_initialize: `dtype` must be CONV1DT_FLOAT32 or CONV1DT_FLOAT64. "
                         "Received dtype=%d.",
                         (int)dtype);
  if (ndim < 0)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "conv1dt_initialize: `ndim` must be non-negative. Received ndim=%d.",
                         ndim);
  if (ndim > 0 && !shape)
    return conv1dt__fail(CONV1DT_ERROR_NULL_ARGUMENT,
                         "conv1dt_initialize: argument `shape` is NULL with ndim=%d", ndim);
  int64_t count = 1;
  for (int d = 0; d < ndim; d++) {
    if (shape[d] < 0)
      return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                           "conv1dt_initialize: `shape[%d]` must be non-negative. Received "
                           "shape[%d]=%lld.",
                           d, d, (long long)shape[d]);
  }
  int64_t bytes;
  for (int d = 0; d < ndim; d++) {
    if (!conv1dt__mul64(count, shape[d], &count) || !conv1dt__mul64(count, 8, &bytes) ||
        (uint64_t)bytes > SIZE_MAX) {
      char s[256];
      return conv1dt__fail(CONV1DT_ERROR_SIZE_OVERFLOW,
                           "conv1dt_initialize: shape=%s has too many elements",
                           conv1dt__format_shape(s, sizeof s, ndim, shape));
    }
    if (count == 0) break; /* an empty tensor: later dimensions cannot overflow it */
  }
  CONV1DT_CHECK(conv1dt__check_initializer(init, ndim, shape, "conv1dt_initialize"));
  if (count == 0) return CONV1DT_OK;
  CONV1DT_REQUIRE_PTR(out, "conv1dt_initialize");
  return conv1dt__draw(init, init->seed, CONV1DT_STREAM_KERNEL, dtype, ndim, shape, out);
}
