/* Internal declarations shared by the library's sources. Nothing here is public. */
#ifndef CONV1DT_INTERNAL_H
#define CONV1DT_INTERNAL_H

#include "conv1dt.h"

#include <stddef.h>
#include <stdint.h>

/* ---- errors (status.c) ---------------------------------------------------------------- */
#if defined(__GNUC__)
#define CONV1DT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define CONV1DT_PRINTF(f, a)
#endif
/* Records the thread's error message and returns `status`, so call sites stay one line. */
conv1dt_status conv1dt__fail(conv1dt_status status, const char *fmt, ...) CONV1DT_PRINTF(2, 3);
#define CONV1DT_CHECK(expr)                                                                        \
  do {                                                                                             \
    conv1dt_status conv1dt__st = (expr);                                                           \
    if (conv1dt__st != CONV1DT_OK) return conv1dt__st;                                             \
  } while (0)
#define CONV1DT_REQUIRE_PTR(p, fn)                                                                 \
  do {                                                                                             \
    if ((p) == NULL)                                                                               \
      return conv1dt__fail(CONV1DT_ERROR_NULL_ARGUMENT, "%s: argument `%s` is NULL", fn, #p);      \
  } while (0)

/* Overflow-checked arithmetic: false when the result does not fit. */
static inline int conv1dt__mul64(int64_t a, int64_t b, int64_t *out) {
  return !__builtin_mul_overflow(a, b, out);
}
static inline int conv1dt__add64(int64_t a, int64_t b, int64_t *out) {
  return !__builtin_add_overflow(a, b, out);
}

/* ---- activations (activation_names.c) ------------------------------------------------- */
typedef enum {
  CONV1DT_ACT_LINEAR,
  CONV1DT_ACT_RELU,
  CONV1DT_ACT_LEAKY_RELU,
  CONV1DT_ACT_RELU6,
  CONV1DT_ACT_ELU,
  CONV1DT_ACT_SELU,
  CONV1DT_ACT_CELU,
  CONV1DT_ACT_SOFTPLUS,
  CONV1DT_ACT_SOFTSIGN,
  CONV1DT_ACT_SQUAREPLUS,
  CONV1DT_ACT_SOFT_SHRINK,
  CONV1DT_ACT_HARD_SHRINK,
  CONV1DT_ACT_SPARSE_PLUS,
  CONV1DT_ACT_SIGMOID,
  CONV1DT_ACT_SPARSE_SIGMOID,
  CONV1DT_ACT_HARD_SIGMOID,
  CONV1DT_ACT_SILU,
  CONV1DT_ACT_HARD_SILU,
  CONV1DT_ACT_GELU,
  CONV1DT_ACT_TANH,
  CONV1DT_ACT_TANH_SHRINK,
  CONV1DT_ACT_HARD_TANH,
  CONV1DT_ACT_EXPONENTIAL,
  CONV1DT_ACT_MISH,
  CONV1DT_ACT_LOG_SIGMOID,
  /* Axis-wise: act along the last axis of the output tensor. */
  CONV1DT_ACT_SOFTMAX,
  CONV1DT_ACT_LOG_SOFTMAX,
  CONV1DT_ACT_SPARSEMAX,
  CONV1DT_ACT_GLU
} conv1dt_act;

#define CONV1DT_ACT_IS_AXISWISE(a) ((a) >= CONV1DT_ACT_SOFTMAX)

/* Looks up a Keras activation name (NULL = linear). */
conv1dt_status conv1dt__activation_lookup(const char *name, conv1dt_act *act,
                                          const char **canonical);

/* ---- the layer (layer.c) --------------------------------------------------------------- */
struct conv1dt_layer {
  conv1dt_config cfg; /* cfg.activation points at the canonical static name */
  int64_t in_channels;
  conv1dt_dtype dtype;
  size_t elem_size;
  conv1dt_act act;
  int64_t keff; /* (kernel_size - 1) * dilation_rate + 1 */
  void *kernel; /* (kernel_size, filters, in_channels), C order */
  void *bias;   /* (filters,) or NULL without use_bias */
};

/* ---- shapes (shape.c) ------------------------------------------------------------------- */
/* Everything one forward call needs to know about sizes, computed and checked once. */
typedef struct {
  int64_t batch, steps, in_ch, filters, ksize, stride, dil, keff;
  int64_t out_len;   /* steps of the pre-activation output */
  int64_t crop_left; /* first sample of the "full" output that the layer keeps */
  int64_t out_last;  /* length of the output's last axis after the activation (glu halves) */
  int64_t out_shape[3];
  int channels_first;
  conv1dt_act act;
} conv1dt_geometry;

/* Block plan: rows of the GEMM per block and where the scratch arrays sit in the workspace. */
typedef struct {
  int64_t rows;     /* GEMM rows (input steps) per block */
  int64_t win;      /* output positions the accumulator window holds */
  size_t col_elems; /* rows * kernel_size * filters */
  size_t acc_elems; /* win * filters */
  size_t bytes;     /* workspace bytes, alignment slack included */
} conv1dt_plan;

conv1dt_status conv1dt__validate_config(const conv1dt_config *cfg, int64_t in_channels,
                                        conv1dt_dtype dtype, conv1dt_act *act);
conv1dt_status conv1dt__geometry(const conv1dt_layer *layer, int64_t batch, int64_t steps,
                                 conv1dt_geometry *g);
/* Largest plan whose workspace fits in `budget` bytes (and no larger than useful). */
conv1dt_status conv1dt__plan(const conv1dt_geometry *g, size_t elem_size, size_t budget,
                             conv1dt_plan *plan);
#define CONV1DT_WORKSPACE_ALIGN 64

/* ---- Philox-4x32-10 (rng.c) ------------------------------------------------------------ */
/* Uniform double in [0, 1) for element `index` of the stream keyed by `seed` (53 bits). */
double conv1dt__uniform(uint64_t seed, uint64_t index);
void conv1dt__philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* ---- BLAS (blas.c, the only file that includes cblas.h) ---------------------------------- */
/* C[M x N] = A[M x K] * op(B), row-major; op(B) = B^T (B is N x K) when trans_b, else B (K x N).
 * Every size fits in int (checked by the planner). */
void conv1dt__gemm_f32(int trans_b, int M, int N, int K, const float *A, int lda, const float *B,
                       int ldb, float *C, int ldc);
void conv1dt__gemm_f64(int trans_b, int M, int N, int K, const double *A, int lda, const double *B,
                       int ldb, double *C, int ldc);

/* ---- typed entry points (src/typed/, compiled once per precision) ------------------------ */
#define CONV1DT_DECLARE_TYPED(R, S)                                                                \
  void conv1dt__run_##S(const conv1dt_layer *layer, const conv1dt_geometry *g,                     \
                        const conv1dt_plan *plan, const R *x, R *y, R *work);
CONV1DT_DECLARE_TYPED(float, f32)
CONV1DT_DECLARE_TYPED(double, f64)

#endif /* CONV1DT_INTERNAL_H */
