/* Keras's weight constraints (keras/src/constraints/constraints.py), applied after an update:
 *   MaxNorm(max_value=2, axis=0):                     w * clip(n, 0, max) / (eps + n)
 *   MinMaxNorm(min_value=0, max_value=1, rate=1, axis=0):
 *                                    w * (rate * clip(n, min, max) + (1 - rate) * n) / (eps + n)
 *   UnitNorm(axis=0):                                 w / (eps + n)
 *   NonNeg():                                         max(w, 0)
 * with n = sqrt(sum w^2) over the axes (keepdims), eps = 1e-7 (keras.backend.epsilon()).
 * num_axes = 0 stands for Keras's axis=None: the norm of the whole weight. Norms and factors
 * are computed in double and each element is rounded to the dtype once. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>

#define CONV1DT_EPSILON 1e-7

static const char *constraint_name(conv1dt_constraint_kind kind) {
  switch (kind) {
  case CONV1DT_CONSTRAINT_MAX_NORM:
    return "MaxNorm";
  case CONV1DT_CONSTRAINT_MIN_MAX_NORM:
    return "MinMaxNorm";
  case CONV1DT_CONSTRAINT_UNIT_NORM:
    return "UnitNorm";
  case CONV1DT_CONSTRAINT_NON_NEG:
    return "NonNeg";
  default:
    return "none";
  }
}

conv1dt_status conv1dt__check_constraint(const conv1dt_constraint *c, int ndim, const char *what) {
  switch (c->kind) {
  case CONV1DT_CONSTRAINT_NONE:
  case CONV1DT_CONSTRAINT_NON_NEG:
    return CONV1DT_OK;
  case CONV1DT_CONSTRAINT_MAX_NORM:
    /* Keras does not check; clip(n, 0, max) with max < 0 differs between backends. */
    if (!isfinite(c->max_value) || c->max_value < 0.0)
      return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                           "%s: MaxNorm needs a finite, non-negative `max_value`. Received: "
                           "max_value=%.17g",
                           what, c->max_value);
    break;
  case CONV1DT_CONSTRAINT_MIN_MAX_NORM:
    /* Keras does not check; clip(n, min, max) with min > max differs between backends. */
    if (!isfinite(c->min_value) || !isfinite(c->max_value) || c->min_value < 0.0 ||
        c->min_value > c->max_value)
      return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                           "%s: MinMaxNorm needs finite 0 <= `min_value` <= `max_value`. "
                           "Received: min_value=%.17g, max_value=%.17g",
                           what, c->min_value, c->max_value);
    if (!isfinite(c->rate))
      return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                           "%s: MinMaxNorm needs a finite `rate`. Received: rate=%.17g", what,
                           c->rate);
    break;
  case CONV1DT_CONSTRAINT_UNIT_NORM:
    break;
  default:
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "%s: unknown constraint kind %d (expected a conv1dt_constraint_kind, "
                         "CONV1DT_CONSTRAINT_NONE .. CONV1DT_CONSTRAINT_NON_NEG)",
                         what, (int)c->kind);
  }
  if (c->num_axes < 0 || c->num_axes > CONV1DT_MAX_AXES)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "%s: `num_axes` must be between 0 (axis=None: the whole weight) and "
                         "CONV1DT_MAX_AXES (%d). Received: num_axes=%d",
                         what, CONV1DT_MAX_AXES, c->num_axes);
  if (ndim < 0) return CONV1DT_OK;
  bool seen[CONV1DT_MAX_AXES] = {false};
  for (int k = 0; k < c->num_axes; k++) {
    const int ax = c->axes[k];
    if (ax < -ndim || ax >= ndim)
      return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                           "%s: %s axis %d is out of bounds for a weight of rank %d (axes run "
                           "from %d to %d)",
                           what, constraint_name(c->kind), ax, ndim, -ndim, ndim - 1);
    const int norm = ax < 0 ? ax + ndim : ax;
    if (norm < CONV1DT_MAX_AXES && seen[norm])
      return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                           "%s: %s axis %d is listed twice (duplicate value in `axis`)", what,
                           constraint_name(c->kind), ax);
    if (norm < CONV1DT_MAX_AXES) seen[norm] = true;
  }
  return CONV1DT_OK;
}

enum { MAX_RANK = 8 };

/* How many norms a checked constraint computes on a weight of that shape (0: none needed). */
static size_t norm_count(const conv1dt_constraint *c, int ndim, const int64_t *shape) {
  if (c->kind == CONV1DT_CONSTRAINT_NONE || c->kind == CONV1DT_CONSTRAINT_NON_NEG) return 0;
  bool reduced[MAX_RANK] = {false};
  for (int k = 0; k < c->num_axes; k++)
    reduced[c->axes[k] < 0 ? c->axes[k] + ndim : c->axes[k]] = true;
  size_t count = 1;
  for (int d = 0; d < ndim; d++)
    if (c->num_axes > 0 && !reduced[d]) count *= (size_t)shape[d];
  return count;
}

/* Projects w in place; `acc` holds norm_count() doubles. Any rank up to MAX_RANK (the weights
 * here have rank 3 and 1): the reduced axes get stride 0 in the index of the norm. */
static void constrain(const conv1dt_constraint *c, conv1dt_dtype dt, int ndim, const int64_t *shape,
                      void *w, double *acc) {
  size_t n = 1;
  for (int d = 0; d < ndim; d++) n *= (size_t)shape[d];
  if (c->kind == CONV1DT_CONSTRAINT_NONE || n == 0) return;
  if (c->kind == CONV1DT_CONSTRAINT_NON_NEG) {
    for (size_t i = 0; i < n; i++)
      if (conv1dt__load(w, dt, i) < 0.0) conv1dt__store(w, dt, i, 0.0); /* NaN stays NaN */
    return;
  }
  bool reduced[MAX_RANK] = {false};
  for (int d = 0; d < ndim; d++) reduced[d] = c->num_axes == 0; /* axis=None: all */
  for (int k = 0; k < c->num_axes; k++)
    reduced[c->axes[k] < 0 ? c->axes[k] + ndim : c->axes[k]] = true;
  /* The norms' own shape is `shape` with the reduced axes set to 1 (keepdims). */
  size_t nstride[MAX_RANK], count = 1;
  for (int d = ndim - 1; d >= 0; d--) {
    nstride[d] = reduced[d] ? 0 : count;
    if (!reduced[d]) count *= (size_t)shape[d];
  }
  for (size_t k = 0; k < count; k++) acc[k] = 0.0;
  /* Pass 1: sum of squares per norm; pass 2: scale. idx walks the multi-index in C order. */
  for (int pass = 0; pass < 2; pass++) {
    int64_t idx[MAX_RANK] = {0};
    size_t j = 0; /* index into acc of element i */
    for (size_t i = 0; i < n; i++) {
      const double v = conv1dt__load(w, dt, i);
      if (pass == 0)
        acc[j] += v * v;
      else
        conv1dt__store(w, dt, i, c->kind == CONV1DT_CONSTRAINT_UNIT_NORM ? v / acc[j] : v * acc[j]);
      for (int d = ndim - 1; d >= 0; d--) { /* next multi-index */
        j += nstride[d];
        if (++idx[d] < shape[d]) break;
        j -= nstride[d] * (size_t)shape[d];
        idx[d] = 0;
      }
    }
    if (pass == 1) break;
    /* Turn each sum into the factor the elements of that slice are multiplied by (UnitNorm:
     * the divisor eps + n, to keep Keras's w / (eps + n)). */
    for (size_t k = 0; k < count; k++) {
      const double norm = sqrt(acc[k]);
      double f;
      switch (c->kind) {
      case CONV1DT_CONSTRAINT_MAX_NORM:
        f = fmin(fmax(norm, 0.0), c->max_value) / (CONV1DT_EPSILON + norm);
        break;
      case CONV1DT_CONSTRAINT_MIN_MAX_NORM:
        f = (c->rate * fmin(fmax(norm, c->min_value), c->max_value) + (1.0 - c->rate) * norm) /
            (CONV1DT_EPSILON + norm);
        break;
      default: /* UNIT_NORM */
        f = CONV1DT_EPSILON + norm;
        break;
      }
      acc[k] = f;
    }
  }
}

conv1dt_status conv1dt_apply_constraints(conv1dt_layer *layer) {
  CONV1DT_REQUIRE_PTR(layer, "conv1dt_apply_constraints");
  const int64_t kshape[3] = {layer->cfg.kernel_size, layer->cfg.filters, layer->in_channels};
  const int64_t bshape[1] = {layer->cfg.filters};
  const conv1dt_constraint *kc = &layer->cfg.kernel_constraint, *bc = &layer->cfg.bias_constraint;
  /* One scratch for both, taken before anything is touched: a failure changes nothing. */
  const size_t nk = norm_count(kc, 3, kshape), nb = layer->bias ? norm_count(bc, 1, bshape) : 0;
  double *acc = nk + nb ? malloc((nk + nb) * sizeof *acc) : NULL;
  if (nk + nb && !acc)
    return conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY,
                         "conv1dt_apply_constraints: out of memory for %zu norms", nk + nb);
  constrain(kc, layer->dtype, 3, kshape, layer->kernel, acc);
  /* no scratch (acc NULL) when neither needs norms: NULL + 0 is undefined in C */
  if (layer->bias) constrain(bc, layer->dtype, 1, bshape, layer->bias, acc ? acc + nk : NULL);
  free(acc);
  conv1dt__repack(layer);
  return CONV1DT_OK;
}
