/* Internal declarations shared by the library's sources. Nothing here is public. */
#ifndef CONV1DT_INTERNAL_H
#define CONV1DT_INTERNAL_H

#include "conv1dt.h"

#include <pthread.h>
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
static inline int64_t conv1dt__min64(int64_t a, int64_t b) {
  return a < b ? a : b;
}
static inline int64_t conv1dt__max64(int64_t a, int64_t b) {
  return a > b ? a : b;
}
/* Integer division rounding towards -inf / +inf (b > 0). */
static inline int64_t conv1dt__floor_div(int64_t a, int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}
static inline int64_t conv1dt__ceil_div(int64_t a, int64_t b) {
  return -conv1dt__floor_div(-a, b);
}
/* Member id's contiguous share [*a, *b) of [lo, hi) split among `size` team members. */
static inline void conv1dt__share(int64_t lo, int64_t hi, int id, int size, int64_t *a,
                                  int64_t *b) {
  const int64_t chunk = (hi - lo + size - 1) / size;
  *a = conv1dt__min64(hi, lo + id * chunk);
  *b = conv1dt__min64(hi, *a + chunk);
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
  /* For the direct kernel (NULL when the layer never uses it): panels of filters, each with a
   * row (k, c) of kernel[k, :, c] (typed/pack.c), F padded to ldw, then one row of bias (zeros
   * without). Rebuilt by conv1dt__repack whenever the weights change. */
  void *packed;
  int64_t ldw;
  /* channels_first layers (and channels_last ones with a single filter) also keep the filters
   * in groups of CONV1DT_DIRECT_MF, for the kernel that runs steps along its vectors: group q's tap
   * k, channel c at ((q * K + k) * C + c) * MF, so a register tile's weights are one contiguous run
   * per tap (in the same allocation as `packed`; NULL otherwise). */
  void *packed_t;
  /* Stride-1 layers whose filters fill at most half of the AVX-512 build's vectors, on CPUs
   * that run it: `groups` (G, 2 to 16) groups of filters per vector, one per position
   * v + g*dilation, and packed_g their K + G - 1 virtual taps (typed/pack.c, direct.c's
   * grouped kernel): C rows of one 512-bit vector each, then the bias in every group.
   * 0 and NULL otherwise. */
  int groups;
  void *packed_g;
  /* The direct method's kernel table (a conv1dt_isa, kernels/kernel.h): the best this CPU runs,
   * set at create; conv1dt__layer_use_isa may lower it (the selftest and tests compare tables). */
  int isa;
  /* For the GEMM methods (NULL when the layer uses the direct kernel): the kernel as C rows of
   * kernel_size * filters (typed/pack.c), the layout the BLAS packs fastest. */
  void *gemm_w;
  /* The direct method's team of threads, kept between calls (team.c): the only state of a
   * layer that forward calls change, and only under pool_lock. */
  struct conv1dt_team *pool;
  pthread_mutex_t pool_lock;
  long pool_pid; /* the process that made a calloc'd pool (fork() leaves its threads behind) */
  int pool_ok;   /* pool_lock initialised */
};
void conv1dt__repack(conv1dt_layer *layer);

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
  conv1dt_algorithm algorithm; /* the layer's request */
  int direct_ready;            /* the layer holds packed weights for the direct kernel */
} conv1dt_geometry;

/* Plan of one forward call: the method, its block sizes and where the scratch arrays sit in the
 * workspace. */
typedef struct {
  int direct;       /* 1: the direct kernel (typed/direct*.c) */
  int accumulate;   /* 1: GEMMs into the window (typed/accumulate.c); rows, win as below */
  int64_t rows;     /* GEMM: rows (input steps) per block */
  int64_t win;      /* GEMM: output positions the accumulator window holds */
  size_t col_elems; /* GEMM: rows * kernel_size * filters */
  size_t acc_elems; /* GEMM: win * filters */
  int filter_major; /* GEMM: channels_first with few filters: W * x_b tiles, filter-major window */
  /* accumulate with short samples: `span` (>= 2) samples share each GEMM, sample j's outputs
   * in window slot j of `slot` input steps (win = span * slot * stride positions), its input
   * rows in a panel after the window (span * slot rows of in_ch) */
  int64_t span, slot;
  /* accumulate, channels_first, one sample at a time: `planes` = 1 puts each tap's GEMM
   * W_k * x_b into stride plane (k*d mod s), s planes of F rows of `slot` positions */
  int planes;
  /* direct: `threads` threads, each with a tile of `chunk` output positions, an input panel
   * and a tap list in its own thread_bytes (a multiple of CONV1DT_WORKSPACE_ALIGN). */
  int threads;
  int64_t chunk, panel_rows;
  size_t thread_bytes;
  size_t bytes; /* workspace bytes, alignment slack included */
} conv1dt_plan;

conv1dt_status conv1dt__validate_config(const conv1dt_config *cfg, int64_t in_channels,
                                        conv1dt_dtype dtype, conv1dt_act *act);
conv1dt_status conv1dt__geometry(const conv1dt_layer *layer, int64_t batch, int64_t steps,
                                 conv1dt_geometry *g);
/* GEMM rows per block: as many as `budget` bytes hold after `fixed` at `per_row` bytes a row,
 * capped by the input and by a cache-sized tile (tile_row_bytes per row). Fails with
 * CONV1DT_ERROR_WORKSPACE_TOO_SMALL (naming `who`) when not even one row fits. */
conv1dt_status conv1dt__fit_rows(const conv1dt_geometry *g, size_t budget, int64_t fixed,
                                 int64_t per_row, int64_t tile_row_bytes, const char *who,
                                 int64_t *rows);
/* Largest GEMM plan whose workspace fits in `budget` bytes (and no larger than useful). */
conv1dt_status conv1dt__plan_gemm(const conv1dt_geometry *g, size_t elem_size, size_t budget,
                                  conv1dt_plan *plan);
/* plan.c: the forward call's plan: the direct kernel where it wins (or is asked for) and fits
 * `budget`, else the GEMM plan. min_bytes: the least workspace either method can run in. */
conv1dt_status conv1dt__plan(const conv1dt_geometry *g, size_t elem_size, size_t budget,
                             conv1dt_plan *plan);
conv1dt_status conv1dt__plan_min_bytes(const conv1dt_geometry *g, size_t elem_size, size_t *bytes);
/* Whether a layer asks for the direct kernel (explicitly, or AUTO for its channel count). */
int conv1dt__direct_wanted(conv1dt_algorithm algorithm, int64_t in_channels);
#define CONV1DT_WORKSPACE_ALIGN 64
static inline size_t conv1dt__align(size_t bytes) { /* rounded up to CONV1DT_WORKSPACE_ALIGN */
  return (bytes + CONV1DT_WORKSPACE_ALIGN - 1) & ~(size_t)(CONV1DT_WORKSPACE_ALIGN - 1);
}
/* Blocks aim at a tile of this size, but take at least this many rows. */
#define CONV1DT_TILE_TARGET_BYTES ((int64_t)1 << 20)
#define CONV1DT_TILE_MIN_ROWS 1024
/* channels_first layers with fewer filters use filter-major tiles (see conv1dt_plan). */
#define CONV1DT_FILTER_MAJOR_MAX_F 128

/* ---- Philox-4x32-10 (rng.c) ------------------------------------------------------------ */
/* Uniform double in [0, 1) for element `index` of the stream keyed by `seed` (53 bits). */
double conv1dt__uniform(uint64_t seed, uint64_t index);
void conv1dt__philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);
/* Element `index` of a random tensor: Philox counter (index lo, index hi, stream, attempt) under
 * key (seed lo, seed hi). uniform_at: words 0-1 -> [0, 1) on the 2^-53 grid (conv1dt__uniform is
 * stream 0, attempt 0). normal_at: Box-Muller on the block's two 53-bit uniforms, cosine branch.
 * docs/SEMANTICS.md ("Weights") spells out every bit. */
double conv1dt__uniform_at(uint64_t seed, uint64_t index, uint32_t stream, uint32_t attempt);
double conv1dt__normal_at(uint64_t seed, uint64_t index, uint32_t stream, uint32_t attempt);

/* ---- training: initializers, regularizers, constraints ----------------------------------- */
/* (init.c, orthogonal.c, regularize.c, constrain.c, train_names.c) */
enum { CONV1DT_STREAM_KERNEL = 0, CONV1DT_STREAM_BIAS = 1 };

/* Generic element access: the dtype decides the store, the arithmetic is double. */
static inline double conv1dt__load(const void *p, conv1dt_dtype dt, size_t i) {
  return dt == CONV1DT_FLOAT32 ? (double)((const float *)p)[i] : ((const double *)p)[i];
}
static inline void conv1dt__store(void *p, conv1dt_dtype dt, size_t i, double v) {
  if (dt == CONV1DT_FLOAT32)
    ((float *)p)[i] = (float)v;
  else
    ((double *)p)[i] = v;
}

/* Keras's compute_fans for a weight shape. */
void conv1dt__fans(int ndim, const int64_t *shape, double *fan_in, double *fan_out);
/* "(3, 4, 2)" / "(5,)" into buf (truncated with "..." when small). */
const char *conv1dt__format_shape(char *buf, size_t size, int ndim, const int64_t *shape);
/* Validates an initializer's parameters (Keras's constructor errors) and, when ndim >= 0, its
 * fitness for that shape (Keras's call errors). `what` names it in messages. */
conv1dt_status conv1dt__check_initializer(const conv1dt_initializer *init, int ndim,
                                          const int64_t *shape, const char *what);
/* Fills out (count elements of shape, C order) from a checked initializer with Philox keyed by
 * `seed` on `stream`. Writes nothing on failure (only memory can fail: orthogonal). */
conv1dt_status conv1dt__draw(const conv1dt_initializer *init, uint64_t seed, uint32_t stream,
                             conv1dt_dtype dtype, int ndim, const int64_t *shape, void *out);
/* Householder QR of the m x n (m >= n) row-major matrix a (destroyed): writes the thin Q
 * (m x n, row-major) with column j multiplied by sign(R[j][j]) (sign(0) = 0). */
conv1dt_status conv1dt__orthogonal_q(double *a, int64_t m, int64_t n, double *q);

conv1dt_regularizer conv1dt__regularizer_default(conv1dt_reg_kind kind);
conv1dt_constraint conv1dt__constraint_default(conv1dt_constraint_kind kind);
/* Parameter checks, and the rank checks when ndim >= 0 (the weight or output it applies to). */
conv1dt_status conv1dt__check_regularizer(const conv1dt_regularizer *reg, int ndim,
                                          const int64_t *shape, const char *what);
conv1dt_status conv1dt__check_constraint(const conv1dt_constraint *c, int ndim, const char *what);

/* ---- BLAS (blas.c, the only file that includes cblas.h) ---------------------------------- */
/* C[M x N] = op(A) * op(B) + beta * C, row-major; op(X) = X^T when trans_X (then A is K x M, or
 * B is N x K). Every size fits in int (checked by the planner). */
void conv1dt__gemm_f32(int trans_a, int trans_b, int M, int N, int K, const float *A, int lda,
                       const float *B, int ldb, float beta, float *C, int ldc);
void conv1dt__gemm_f64(int trans_a, int trans_b, int M, int N, int K, const double *A, int lda,
                       const double *B, int ldb, double beta, double *C, int ldc);

/* ---- scratch (workspace.c) ------------------------------------------------------------- */
/* conv1dt_workspace_alloc's memory, NULL when out of memory (no message); free() releases it. */
void *conv1dt__workspace_alloc(size_t bytes);

/* ---- threads (team.c) ------------------------------------------------------------------- */
/* A call of the direct method (forward or backward) uses threads from this many multiply-adds
 * on (the layer keeps its team between calls, so sharing costs a microsecond or so, not a
 * thread start). */
#define CONV1DT_DIRECT_PARALLEL_MACS ((double)(1 << 17))
#define CONV1DT_MAX_THREADS 64
typedef struct conv1dt_team conv1dt_team;
/* A job runs once on each member: fn(arg, id, size) with id in [0, size). */
typedef void (*conv1dt_job)(void *arg, int id, int size);
/* conv1dt_set_num_threads's count, else the BLAS's when it runs threads, else the online CPUs */
int conv1dt__default_threads(void);
/* ---- the BLAS in use (blas_vendor.c) ---------------------------------------------------- */
typedef enum {
  CONV1DT_BLAS_UNKNOWN,
  CONV1DT_BLAS_OPENBLAS,
  CONV1DT_BLAS_BLIS,
  CONV1DT_BLAS_MKL,
  CONV1DT_BLAS_ATLAS,
  CONV1DT_BLAS_REFERENCE
} conv1dt__blas_vendor;
conv1dt__blas_vendor conv1dt__blas_vendor_id(void);
int conv1dt__blas_threads(
    void);                      /* the vendor's thread count (1 for a serial build), 0 if unknown */
int conv1dt__blas_serial(void); /* 1 when the BLAS was built without threads */
/* Sets the vendor's thread count through its own call: 1 when set (or a serial build), 0 when
 * the BLAS offers no call. */
int conv1dt__blas_set_threads(int n);
/* The vector width (bits) of the BLAS's GEMM kernels where the BLAS names them (OpenBLAS's
 * core, BLIS's configuration), 0 if unknown. */
int conv1dt__blas_vector_bits(void);
/* NULL (run everything on the caller) when size <= 1 or threads cannot be had. */
conv1dt_team *conv1dt__team_create(int size);
void conv1dt__team_run(conv1dt_team *team, conv1dt_job fn, void *arg); /* team may be NULL */
/* A job whose members take its work from a shared counter, so that any of them may do all of
 * it: members that have not started it when the caller finishes its own part stay out (a
 * worker without a CPU, e.g. beside another program's busy threads, holds nobody up). Each
 * member still has its own id (its scratch). */
void conv1dt__team_run_any(conv1dt_team *team, conv1dt_job fn, void *arg);
int conv1dt__team_size(const conv1dt_team *team); /* 1 for NULL */
void conv1dt__team_destroy(conv1dt_team *team);   /* NULL accepted */
/* The layer's team when free (its workers spin briefly between jobs: for the direct method,
 * which runs no BLAS), else a new per-call team; *own says which. NULL for size <= 1. */
conv1dt_team *conv1dt__team_acquire(const conv1dt_layer *layer, int size, int *own);
void conv1dt__team_release(const conv1dt_layer *layer, conv1dt_team *team, int own);
void conv1dt__pool_init(conv1dt_layer *layer);    /* at create */
void conv1dt__pool_destroy(conv1dt_layer *layer); /* at destroy */

/* ---- typed entry points (src/typed/, compiled once per precision) ------------------------ */
#define CONV1DT_DECLARE_TYPED(R, S)                                                                \
  void conv1dt__run_##S(const conv1dt_layer *layer, const conv1dt_geometry *g,                     \
                        const conv1dt_plan *plan, const R *x, R *y, R *pre, R *work);              \
  void conv1dt__direct_run_##S(const conv1dt_layer *layer, const conv1dt_geometry *g,              \
                               const conv1dt_plan *plan, const R *x, R *y, R *pre, void *work);    \
  void conv1dt__pack_direct_##S(const conv1dt_layer *layer, R *packed);                            \
  void conv1dt__pack_gemm_##S(const conv1dt_layer *layer, R *kt);                                  \
  void conv1dt__accumulate_run_##S(const conv1dt_layer *layer, const conv1dt_geometry *g,          \
                                   const conv1dt_plan *plan, const R *x, R *y, R *pre, R *win);
CONV1DT_DECLARE_TYPED(float, f32)
CONV1DT_DECLARE_TYPED(double, f64)

/* ---- backward pass (backward.c, typed/backward.c) ------------------------------------------ */
/* Block plan of one backward call; the workspace holds, each aligned: the gathered dcol tile,
 * the dz tile (win positions), per-row statistics of axis-wise activations, the x and dx tiles
 * of blocks of samples, dbias sums. */
typedef struct {
  int direct;      /* the backward's own tiles (typed/backward_direct.c) instead of GEMMs */
  int isa;         /* direct: the kernel table (conv1dt__backward_isa) */
  int threads;     /* direct: team size */
  int64_t ldw;     /* direct: channels rounded up to the table's vectors */
  int64_t segs;    /* direct: most samples a block touches */
  int64_t dz_rows; /* direct: rows of the dz tile, slack included */
  int x_tile, dx_tile, acc_tile; /* direct: copies of x, dx, the kernel gradient */
  int planes;                    /* direct: the planes layout (typed/backward_direct.h) */
  int64_t scratch;               /* direct: act' scratch elements per team member */
  int64_t lanes;                 /* direct planes: lane sums per kernel gradient element */
  int64_t rows;                  /* GEMM rows (input steps) per block */
  int64_t win;                   /* output positions the dz tile holds */
  size_t col_elems;              /* rows * kernel_size * filters */
  size_t dz_elems;               /* win * filters; direct: one block's dz tile */
  size_t stat_elems;             /* 3 * filters */
  size_t bytes;                  /* workspace bytes, alignment slack included */
  int64_t samples;   /* channels_first: whole samples per block (rows = samples * steps), or 0
                        for blocks within one sample */
  size_t tile_elems; /* samples: rows * in_channels, each of the x and dx tiles */
} conv1dt_bwd_plan;
/* The direct backward's channels_first scratch: act' of this many positions per pass and
 * thread; and the bytes a block's segment takes (typed/backward_direct.c). */
#define CONV1DT_BWD_CF_POSITIONS 64
#define CONV1DT_BWD_SEG_BYTES 128
#define CONV1DT_DECLARE_TYPED_BACKWARD(R, S)                                                       \
  void conv1dt__backward_##S(const conv1dt_layer *layer, const conv1dt_geometry *g,                \
                             const conv1dt_bwd_plan *plan, const R *x, const R *pre, const R *dy,  \
                             R *dx, R *dkernel, R *dbias, void *work);                             \
  void conv1dt__backward_direct_##S(const conv1dt_layer *layer, const conv1dt_geometry *g,         \
                                    const conv1dt_bwd_plan *plan, const R *x, const R *pre,        \
                                    const R *dy, R *dx, R *dkernel, R *dbias, void *work);
CONV1DT_DECLARE_TYPED_BACKWARD(float, f32)
CONV1DT_DECLARE_TYPED_BACKWARD(double, f64)

/* ---- forward over a geometry (forward.c) ------------------------------------------------ */
/* Runs a checked geometry: conv1dt__geometry's, or one whose window of the "full" output
 * (crop_left, out_len, out_last, out_shape) the caller moved, e.g. the positions a stream
 * finishes (stream.c). The workspace is the caller's (planned within workspace_bytes), or
 * allocated up to the layer's limit when NULL. Writes y (and pre) only; out_len must be >= 1
 * and batch >= 1. */
conv1dt_status conv1dt__forward_run(const conv1dt_layer *layer, const conv1dt_geometry *g,
                                    const void *x, void *y, void *pre, void *workspace,
                                    size_t workspace_bytes);

#endif /* CONV1DT_INTERNAL_H */
