/*
 * The test suite's independent reference for Keras 3 `Conv1DTranspose`.
 *
 * Written from docs/SEMANTICS.md (the "full" output, the pad formulas, the activation
 * formulas) and nothing else: a direct loop over (batch, step, tap, filter, channel), then the crop
 * window, bias and activation. It uses conv1dt.h for its types and enum values only and calls no
 * conv1dt function, so a misreading in the library cannot leak into the expectations.
 *
 * Alongside every value it computes an error bound for a library working in float32 or float64
 * (see ref_forward() and reference.c for the justification), and ref_compare() judges a library
 * output against both.
 */
#ifndef CONV1DT_TESTS_REFERENCE_H
#define CONV1DT_TESTS_REFERENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conv1dt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- deterministic test data: splitmix64 ---- */
typedef struct ref_rng {
  uint64_t state;
} ref_rng;

void ref_rng_seed(ref_rng *rng, uint64_t seed);
uint64_t ref_rng_next(ref_rng *rng);
/* Uniform in [lo, hi). */
double ref_rng_uniform(ref_rng *rng, double lo, double hi);
/* Uniform integer in [lo, hi] (inclusive). */
int64_t ref_rng_int(ref_rng *rng, int64_t lo, int64_t hi);

/* ---- dtype helpers ---- */
size_t ref_dtype_size(conv1dt_dtype dtype);
/* Unit roundoff: 2^-24 for float32, 2^-53 for float64. */
double ref_unit_roundoff(conv1dt_dtype dtype);
/* malloc'ed double copy of n elements of `src` in `dtype` (exact). NULL on failure. */
double *ref_to_double(conv1dt_dtype dtype, const void *src, size_t n);
/* Writes n doubles into `dst` in `dtype` (rounded to nearest for float32). */
void ref_from_double(conv1dt_dtype dtype, const double *src, void *dst, size_t n);
/*
 * Random array of n elements in [lo, hi) stored in `dtype` (malloc'ed, returned) and, exactly the
 * same values, in double (*as_double, malloc'ed). With `integers`, values are integers in
 * [lo, hi] so that every sum the convolution forms is exact in both dtypes.
 */
void *ref_random_array(ref_rng *rng, conv1dt_dtype dtype, size_t n, double lo, double hi,
                       bool integers, double **as_double);
/* Fills n elements of `dst` (dtype) with a recognisable sentinel value. */
void ref_fill_sentinel(conv1dt_dtype dtype, void *dst, size_t n);
/* True when all n elements still hold the sentinel (bitwise). */
bool ref_is_sentinel(conv1dt_dtype dtype, const void *dst, size_t n);

/* ---- geometry, from the sheet's pad formulas ---- */
typedef struct ref_geometry {
  int64_t keff;     /* (K-1)*d + 1 */
  int64_t full_len; /* (L-1)*s + keff */
  int64_t left_pad; /* JAX-style pads of the sheet */
  int64_t right_pad;
  int64_t crop_left;  /* keff-1-left_pad */
  int64_t crop_right; /* keff-1-right_pad (negative = zero extension) */
  int64_t out_len;    /* full_len - crop_left - crop_right (before any glu halving) */
} ref_geometry;

/* False if the configuration is not a valid Keras one (the reference then computes nothing). */
bool ref_geometry_of(const conv1dt_config *cfg, int64_t steps, ref_geometry *g);

/* The sheet's closed-form output length, written separately (cross-check of ref_geometry_of). */
int64_t ref_output_length_formula(const conv1dt_config *cfg, int64_t steps);

typedef enum {
  REF_OK = 0,
  REF_BAD_CONFIG = 1, /* not a valid Keras configuration / unknown activation */
  REF_GLU_ODD = 2,    /* glu over an odd last axis */
  REF_NO_MEMORY = 3
} ref_status;

/* Output shape in the layer's data format, glu halving the last axis. */
ref_status ref_output_shape(const conv1dt_config *cfg, int64_t in_channels, int64_t batch,
                            int64_t steps, int64_t shape[3]);

/* ---- activations (the sheet's scalar formulas, evaluated in double) ---- */

/* Canonical name ("swish" -> "silu", NULL -> "linear"), or NULL when unknown (or "threshold"). */
const char *ref_activation_canonical(const char *name);
/* softmax, log_softmax, sparsemax, glu: act on the last axis. */
bool ref_activation_is_axiswise(const char *canonical);
/* Element-wise activation value (canonical name of an element-wise activation). */
double ref_activation_scalar(const char *canonical, double x);
/*
 * Allowed |library - reference| for an element-wise activation evaluated by a library in
 * `dtype` at a pre-activation value z known to within `err`, reference value y.
 */
double ref_activation_tolerance(const char *canonical, conv1dt_dtype dtype, double z, double err,
                                double y);
/*
 * Applies any activation (canonical name) to `rows` rows of length `len` (the last axis):
 * z -> y, where y has rows of length len/2 for glu (len must then be even). `err` (may be NULL
 * for exact inputs) bounds the error of each z; `tol` (may be NULL) receives the allowed
 * deviation of a library working in `dtype` for each y.
 */
void ref_activation_rows(const char *canonical, conv1dt_dtype dtype, size_t rows, size_t len,
                         const double *z, const double *err, double *y, double *tol);
/* sparsemax of one row by sorting (Martins & Astudillo 2016). */
void ref_sparsemax_row(const double *z, size_t n, double *out);

/* ---- the forward pass ---- */
typedef struct ref_output {
  int64_t shape[3]; /* layer data format, after glu */
  size_t count;     /* product of shape */
  double *y;        /* expected values */
  double *tol;      /* allowed |library - y| per element for the dtype passed to ref_forward */
} ref_output;

/*
 * y = activation(window(full) + bias) for input x ((B, L, C) or (B, C, L) per cfg->data_format),
 * kernel (K, F, C) and bias (F,) (ignored unless cfg->use_bias), all in double. The sums are formed
 * in long double together with the sum of the absolute values of their terms, S; a library
 * computing in `dtype` (unit roundoff u) is then within gamma_n * S of the exact pre-activation
 * value, gamma_n = n*u/(1-n*u), n = C*K + K + 2 (the C-term GEMM dot products, at most K
 * overlap-add accumulations, the bias), whatever its summation order (Higham, Accuracy and
 * Stability of Numerical Algorithms, 3.1). That bound is carried through the activation (see
 * ref_activation_rows). Free with ref_output_free.
 */
ref_status ref_forward(const conv1dt_config *cfg, int64_t in_channels, conv1dt_dtype dtype,
                       const double *x, int64_t batch, int64_t steps, const double *kernel,
                       const double *bias, ref_output *out);
void ref_output_free(ref_output *out);

/*
 * Compares n library values `got` (in dtype) with `expected` / `tol`: NaN must be NaN, an
 * infinity (or, for float32, a finite double that rounds to one) must be the same infinity, and
 * any other value finite and within tol. Returns the number of mismatches; the first few are
 * described in msg (may be NULL).
 */
size_t ref_compare(conv1dt_dtype dtype, const void *got, const double *expected, const double *tol,
                   size_t n, char *msg, size_t msg_size);

/* Describes a configuration in one line ("F=3 K=2 s=1 ...") for failure messages. */
void ref_describe(const conv1dt_config *cfg, int64_t in_channels, conv1dt_dtype dtype,
                  int64_t batch, int64_t steps, char *buf, size_t size);

#ifdef __cplusplus
}
#endif

#endif /* CONV1DT_TESTS_REFERENCE_H */
