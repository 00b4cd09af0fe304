/*
 * conv1dt — Keras 3 `Conv1DTranspose` (1-D transposed convolution) in C11 on any CBLAS.
 *
 * The whole public API is this header. Conventions:
 *   - every function that can fail returns a conv1dt_status (CONV1DT_OK == 0); on failure
 *     conv1dt_last_error() returns a message naming the argument and the value received;
 *   - on failure no output argument is written (output buffers are left untouched);
 *   - the caller owns every array; the library keeps its own copies of weights;
 *   - a layer is immutable during conv1dt_forward(): any number of threads may call
 *     conv1dt_forward() on the same layer at once (each with its own output and workspace).
 *     conv1dt_set_weights() must not run concurrently with other calls on that layer.
 *
 * Shapes follow Keras: input (batch, steps, in_channels) for channels_last or
 * (batch, in_channels, steps) for channels_first; kernel (kernel_size, filters, in_channels);
 * bias (filters,); output (batch, new_steps, filters) or (batch, filters, new_steps).
 * All arrays are dense, C order (row-major), of the layer's dtype.
 */
#ifndef CONV1DT_H
#define CONV1DT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Version: the single source of truth (CMake reads it from here). */
#define CONV1DT_VERSION_MAJOR 0
#define CONV1DT_VERSION_MINOR 4
#define CONV1DT_VERSION_PATCH 0
#define CONV1DT_VERSION_NUMBER                                                                     \
  (CONV1DT_VERSION_MAJOR * 10000 + CONV1DT_VERSION_MINOR * 100 + CONV1DT_VERSION_PATCH)

/* Export macro; override by defining CONV1DT_API before including this header. */
#ifndef CONV1DT_API
#if defined(_WIN32) && defined(CONV1DT_BUILDING_SHARED)
#define CONV1DT_API __declspec(dllexport)
#elif defined(__GNUC__) && __GNUC__ >= 4
#define CONV1DT_API __attribute__((visibility("default")))
#else
#define CONV1DT_API
#endif
#endif

/* Status codes. Values are fixed forever; new codes are only appended. */
typedef enum {
  CONV1DT_OK = 0,
  CONV1DT_ERROR_NULL_ARGUMENT = 1,       /* a required pointer is NULL */
  CONV1DT_ERROR_INVALID_VALUE = 2,       /* an argument out of range (Keras's ValueError) */
  CONV1DT_ERROR_UNKNOWN_NAME = 3,        /* unknown activation, padding or data-format name */
  CONV1DT_ERROR_SHAPE_MISMATCH = 4,      /* input shape incompatible with the layer */
  CONV1DT_ERROR_SIZE_OVERFLOW = 5,       /* a size product does not fit in int64_t / size_t */
  CONV1DT_ERROR_OUT_OF_MEMORY = 6,       /* an allocation failed */
  CONV1DT_ERROR_WORKSPACE_TOO_SMALL = 7, /* caller's workspace below the minimum */
  CONV1DT_ERROR_UNSUPPORTED = 8,         /* a valid request this build cannot serve (dtype, ...) */
  CONV1DT_ERROR_BUFFER_TOO_SMALL = 9     /* a caller's buffer (text, stream output) is too small */
} conv1dt_status;

typedef enum { CONV1DT_FLOAT32 = 0, CONV1DT_FLOAT64 = 1 } conv1dt_dtype;
typedef enum { CONV1DT_PADDING_VALID = 0, CONV1DT_PADDING_SAME = 1 } conv1dt_padding;
typedef enum { CONV1DT_CHANNELS_LAST = 0, CONV1DT_CHANNELS_FIRST = 1 } conv1dt_data_format;
/* How a forward call computes (conv1dt_config.algorithm). Every choice gives the layer's values
 * (they differ only in rounding); AUTO picks per shape. GEMM: one BLAS GEMM per block of input
 * steps into a column tile, then the col2im overlap-add. GEMM_ACCUMULATE: one BLAS GEMM per
 * group of taps accumulating straight into the output window (the overlap-add happens inside
 * the GEMMs; no column tile). DIRECT: the same sums gathered per output position by the
 * library's own vectorised kernel, no BLAS — what thin GEMMs (few input channels) need; its
 * worker threads stay with the layer between calls (spinning 200 us after each, then asleep)
 * until conv1dt_destroy. A workspace too small for DIRECT or GEMM_ACCUMULATE falls back to
 * GEMM. */
typedef enum {
  CONV1DT_ALGORITHM_AUTO = 0,
  CONV1DT_ALGORITHM_GEMM = 1,
  CONV1DT_ALGORITHM_DIRECT = 2,
  CONV1DT_ALGORITHM_GEMM_ACCUMULATE = 3
} conv1dt_algorithm;

/* Keras's output_padding=None. */
#define CONV1DT_OUTPUT_PADDING_NONE (-1)

/* Default upper bound on the scratch memory one conv1dt_forward() call uses (bytes). */
#define CONV1DT_DEFAULT_WORKSPACE_LIMIT ((size_t)32 << 20)

typedef struct conv1dt_layer conv1dt_layer; /* opaque */

/* ---- Training parity: initializers, regularizers, constraints (Keras's names and defaults) -- */

typedef enum {
  CONV1DT_INIT_ZEROS = 0,
  CONV1DT_INIT_ONES = 1,
  CONV1DT_INIT_CONSTANT = 2,         /* value (0) */
  CONV1DT_INIT_RANDOM_UNIFORM = 3,   /* minval (-0.05), maxval (0.05) */
  CONV1DT_INIT_RANDOM_NORMAL = 4,    /* mean (0), stddev (0.05) */
  CONV1DT_INIT_TRUNCATED_NORMAL = 5, /* mean (0), stddev (0.05); redrawn beyond 2 stddev */
  CONV1DT_INIT_VARIANCE_SCALING = 6, /* scale (1), mode (fan_in), distribution (truncated) */
  CONV1DT_INIT_GLOROT_UNIFORM = 7,
  CONV1DT_INIT_GLOROT_NORMAL = 8,
  CONV1DT_INIT_HE_UNIFORM = 9,
  CONV1DT_INIT_HE_NORMAL = 10,
  CONV1DT_INIT_LECUN_UNIFORM = 11,
  CONV1DT_INIT_LECUN_NORMAL = 12,
  CONV1DT_INIT_ORTHOGONAL = 13, /* gain (1) */
  CONV1DT_INIT_IDENTITY = 14    /* gain (1); 2-D only, so refused for this layer as in Keras */
} conv1dt_init_kind;

typedef enum { CONV1DT_FAN_IN = 0, CONV1DT_FAN_OUT = 1, CONV1DT_FAN_AVG = 2 } conv1dt_fan_mode;
typedef enum {
  CONV1DT_DIST_TRUNCATED_NORMAL = 0,
  CONV1DT_DIST_UNTRUNCATED_NORMAL = 1,
  CONV1DT_DIST_UNIFORM = 2
} conv1dt_distribution;

/* A Keras initializer. Start from conv1dt_initializer_default(kind) or _from_name(). Only the
 * fields of its kind are read (the glorot/he/lecun kinds fix scale, mode and distribution as
 * Keras's subclasses do). Random ones draw from Philox-4x32-10 keyed by `seed` when has_seed,
 * else by the layer's config.seed (kernel and bias on separate streams); see docs/SEMANTICS.md.
 * Checked at conv1dt_create: random_uniform needs finite minval <= maxval, the normals a finite
 * mean and stddev >= 0, variance_scaling scale > 0 and a valid mode and distribution,
 * orthogonal/identity a finite gain; orthogonal needs rank >= 2 and identity rank 2 (so neither
 * fits the bias, and identity does not fit the rank-3 kernel — Keras's errors). */
typedef struct conv1dt_initializer {
  conv1dt_init_kind kind;
  double value;          /* constant */
  double minval, maxval; /* random_uniform */
  double mean, stddev;   /* random_normal, truncated_normal */
  double scale;          /* variance_scaling */
  conv1dt_fan_mode mode;
  conv1dt_distribution distribution;
  double gain; /* orthogonal, identity */
  uint64_t seed;
  bool has_seed;
} conv1dt_initializer;

typedef enum {
  CONV1DT_REG_NONE = 0,
  CONV1DT_REG_L1 = 1,        /* l1 (0.01): l1 * sum|w| */
  CONV1DT_REG_L2 = 2,        /* l2 (0.01): l2 * sum w^2 */
  CONV1DT_REG_L1L2 = 3,      /* l1 (0), l2 (0): both */
  CONV1DT_REG_ORTHOGONAL = 4 /* factor (0.01), mode rows: rank 2 only, refused here as in Keras */
} conv1dt_reg_kind;

typedef struct conv1dt_regularizer {
  conv1dt_reg_kind kind;
  double l1, l2;
  double factor;     /* orthogonal */
  bool mode_columns; /* orthogonal: false = "rows" */
} conv1dt_regularizer;

typedef enum {
  CONV1DT_CONSTRAINT_NONE = 0,
  CONV1DT_CONSTRAINT_MAX_NORM = 1,     /* max_value (2), axis (0) */
  CONV1DT_CONSTRAINT_MIN_MAX_NORM = 2, /* min_value (0), max_value (1), rate (1), axis (0) */
  CONV1DT_CONSTRAINT_UNIT_NORM = 3,    /* axis (0) */
  CONV1DT_CONSTRAINT_NON_NEG = 4
} conv1dt_constraint_kind;

#define CONV1DT_MAX_AXES 4
/* A Keras constraint. The norm runs over `axes` (num_axes of them; negative counts from the end,
 * as in Python; num_axes = 0 is Keras's axis=None, the whole weight) of the weight it applies
 * to, with Keras's epsilon 1e-7. conv1dt_create refuses axes outside the weight's rank or listed
 * twice, a negative or non-finite max_value, and min_value outside [0, max_value]. */
typedef struct conv1dt_constraint {
  conv1dt_constraint_kind kind;
  double max_value, min_value, rate;
  int axes[CONV1DT_MAX_AXES];
  int num_axes;
} conv1dt_constraint;

/*
 * Layer configuration, Keras's arguments one for one. Start from conv1dt_config_default().
 * New fields are only appended.
 */
typedef struct conv1dt_config {
  int64_t filters;        /* > 0 */
  int64_t kernel_size;    /* >= 1 */
  int64_t strides;        /* >= 1 */
  int64_t output_padding; /* CONV1DT_OUTPUT_PADDING_NONE, or 0 <= output_padding < strides */
  int64_t dilation_rate;  /* >= 1; > 1 only with strides == 1 */
  conv1dt_padding padding;
  conv1dt_data_format data_format;
  const char *activation; /* Keras name or alias ("relu", "swish", ...); NULL = linear */
  bool use_bias;
  /* Not Keras arguments: */
  uint64_t seed;          /* seed of the initializers that have none of their own */
  size_t workspace_limit; /* bytes of scratch a forward call given no workspace may use;
                             0 = CONV1DT_DEFAULT_WORKSPACE_LIMIT. A hard cap: below
                             conv1dt_min_workspace_size() such calls fail with
                             CONV1DT_ERROR_WORKSPACE_TOO_SMALL. */
  /* Keras arguments again (appended in 0.2): */
  conv1dt_initializer kernel_initializer; /* default glorot_uniform */
  conv1dt_initializer bias_initializer;   /* default zeros */
  conv1dt_regularizer kernel_regularizer; /* default none */
  conv1dt_regularizer bias_regularizer;
  conv1dt_regularizer activity_regularizer;
  conv1dt_constraint kernel_constraint; /* default none */
  conv1dt_constraint bias_constraint;
  /* Not a Keras argument (appended in 0.2): */
  conv1dt_algorithm algorithm; /* default CONV1DT_ALGORITHM_AUTO */
} conv1dt_config;

/* Keras defaults: strides 1, "valid", output_padding None, channels_last, dilation 1,
 * no activation, use_bias true, glorot_uniform kernel, zeros bias, no regularizers or
 * constraints; seed 0, default workspace limit. The initializers hold every Keras default
 * (conv1dt_initializer_default), so changing only `kind` gives that kind's defaults; the
 * regularizers (kind NONE) hold l1 = l2 = factor = 0.01 (L1's, L2's and OrthogonalRegularizer's
 * defaults; L1L2's own are 0 and 0: use conv1dt_regularizer_from_name("L1L2")), the constraints
 * (kind NONE) max_value 2, min_value 0, rate 1, axis 0 (MaxNorm's; MinMaxNorm's max_value is 1:
 * use conv1dt_constraint_from_name("MinMaxNorm")). */
CONV1DT_API conv1dt_config conv1dt_config_default(int64_t filters, int64_t kernel_size);

/*
 * Creates a layer for inputs with `in_channels` channels. Validates the configuration as
 * Keras does (initializers, regularizers and constraints included). Weights are drawn from
 * cfg->kernel_initializer and cfg->bias_initializer; with the defaults: a glorot_uniform kernel
 * (limit sqrt(6 / (fan_in + fan_out)), fan_in = filters*kernel_size,
 * fan_out = in_channels*kernel_size) drawn from Philox-4x32-10 keyed by cfg->seed (element i of
 * the kernel in C order uses counter i: identical on every platform), and a zero bias.
 * The layer copies everything it needs from cfg (the activation string need not outlive it).
 */
CONV1DT_API conv1dt_status conv1dt_create(const conv1dt_config *cfg, int64_t in_channels,
                                          conv1dt_dtype dtype, conv1dt_layer **out);

/* Frees a layer; NULL is accepted. */
CONV1DT_API void conv1dt_destroy(conv1dt_layer *layer);

/* Copies weights into the layer: kernel (kernel_size, filters, in_channels) and, when the layer
 * uses a bias, bias (filters,) — which must then be non-NULL; without a bias it must be NULL. */
CONV1DT_API conv1dt_status conv1dt_set_weights(conv1dt_layer *layer, const void *kernel,
                                               const void *bias);

/* Copies the layer's weights out; either pointer may be NULL to skip it (bias is skipped
 * anyway when the layer has none). */
CONV1DT_API conv1dt_status conv1dt_get_weights(const conv1dt_layer *layer, void *kernel,
                                               void *bias);

/* The layer's configuration (activation is its canonical Keras name, owned by the library,
 * valid forever), input channels and dtype. Any output pointer may be NULL. */
CONV1DT_API conv1dt_status conv1dt_get_config(const conv1dt_layer *layer, conv1dt_config *cfg,
                                              int64_t *in_channels, conv1dt_dtype *dtype);

/* Output shape for an input of `batch` samples (>= 0) of `steps` steps (>= 1), in the layer's
 * data format. glu halves the last axis. new_steps may be 0 (Keras returns an empty tensor). */
CONV1DT_API conv1dt_status conv1dt_output_shape(const conv1dt_layer *layer, int64_t batch,
                                                int64_t steps, int64_t out_shape[3]);

/* Scratch bytes conv1dt_forward() uses for this input under the layer's workspace limit.
 * Any workspace of at least conv1dt_min_workspace_size() bytes also works (in smaller blocks). */
CONV1DT_API conv1dt_status conv1dt_workspace_size(const conv1dt_layer *layer, int64_t batch,
                                                  int64_t steps, size_t *bytes);
CONV1DT_API conv1dt_status conv1dt_min_workspace_size(const conv1dt_layer *layer, int64_t batch,
                                                      int64_t steps, size_t *bytes);
/* Scratch for conv1dt_forward() / conv1dt_backward() (or anything else), allocated as the library
 * allocates its own: 64-byte aligned, and from 2 MiB on aligned to 2 MiB with transparent huge
 * pages requested (Linux madvise; ignored where unsupported), so that the GEMM methods' windows
 * cost fewer TLB misses. Uninitialised. Release it with conv1dt_workspace_free() (NULL is
 * accepted there). */
CONV1DT_API conv1dt_status conv1dt_workspace_alloc(size_t bytes, void **workspace);
CONV1DT_API conv1dt_status conv1dt_workspace_free(void *workspace);
/* The method a conv1dt_forward() call on this input runs (never AUTO): with a workspace of
 * workspace_bytes bytes, or (workspace_bytes 0) with none, under the layer's limit. */
CONV1DT_API conv1dt_status conv1dt_forward_algorithm(const conv1dt_layer *layer, int64_t batch,
                                                     int64_t steps, size_t workspace_bytes,
                                                     conv1dt_algorithm *algorithm);
/* "auto", "gemm", "direct", "gemm_accumulate"; NULL for a value that is none of them. */
CONV1DT_API const char *conv1dt_algorithm_name(conv1dt_algorithm algorithm);

/*
 * y = activation(conv1d_transpose(x, kernel) + bias), Keras's forward pass.
 * x and y are of the layer's dtype and shapes (see top). workspace: caller scratch of
 * workspace_bytes bytes (no alignment needed), or NULL to let the call allocate
 * conv1dt_workspace_size() bytes itself. Results do not depend on the workspace size beyond
 * the summation order of the method in use (conv1dt_forward_algorithm). Thread-safe on a
 * shared layer.
 * x may be NULL when batch is 0, and y when the output is empty (batch 0 or new_steps 0).
 */
CONV1DT_API conv1dt_status conv1dt_forward(const conv1dt_layer *layer, const void *x, int64_t batch,
                                           int64_t steps, void *y, void *workspace,
                                           size_t workspace_bytes);

/* ---- Training: initializers ---------------------------------------------------------------- */

/* The initializer of `kind` with Keras's default parameters (seedless). */
CONV1DT_API conv1dt_initializer conv1dt_initializer_default(conv1dt_init_kind kind);
/* Keras identifier -> initializer with defaults: "glorot_uniform", "he_normal", "zeros",
 * "orthogonal", ... the class names ("GlorotUniform", "Zeros", ...) and Keras's aliases
 * ("uniform", "normal", "one", "zero", "OrthogonalInitializer", "IdentityInitializer").
 * Case-sensitive, as keras.initializers.get. CONV1DT_ERROR_UNKNOWN_NAME otherwise;
 * CONV1DT_ERROR_UNSUPPORTED for Keras's "STFT", which conv1dt does not implement. */
CONV1DT_API conv1dt_status conv1dt_initializer_from_name(const char *name,
                                                         conv1dt_initializer *out);
/* Fills `out` (dtype, C order, shape[0..ndim)) as Keras's initializer would, fans computed from
 * the shape as Keras does. Uses init->seed (stream 0) whether or not has_seed is set, so it
 * reproduces a layer's kernel when given the seed the layer used. Bit-identical for a seed on
 * every machine and thread count. ndim >= 0 (0: a scalar); out may be NULL when the shape has
 * no element. */
CONV1DT_API conv1dt_status conv1dt_initialize(const conv1dt_initializer *init, conv1dt_dtype dtype,
                                              int ndim, const int64_t *shape, void *out);
/* Re-draws the layer's kernel and bias from its configured initializers (the same seeds give
 * the same weights as at creation). Not concurrently with other calls on the layer. */
CONV1DT_API conv1dt_status conv1dt_reset_weights(conv1dt_layer *layer);

/* ---- Training: regularizers and constraints ------------------------------------------------ */

/* Keras identifier -> regularizer / constraint with Keras's defaults, case-sensitive as
 * keras.regularizers.get / constraints.get: "l1", "L1", "l2", "L2", "l1l2", "L1L2" (and "l1_l2",
 * the public alias keras.regularizers.l1_l2), "orthogonal_regularizer",
 * "OrthogonalRegularizer", "regularizer" (the base class: no penalty); "max_norm", "MaxNorm",
 * "min_max_norm", "MinMaxNorm", "unit_norm", "UnitNorm", "non_neg", "NonNeg", "constraint"
 * (the base class: no change). */
CONV1DT_API conv1dt_status conv1dt_regularizer_from_name(const char *name,
                                                         conv1dt_regularizer *out);
CONV1DT_API conv1dt_status conv1dt_constraint_from_name(const char *name, conv1dt_constraint *out);

/* The loss terms Keras adds for the current weights (0 where there is no regularizer or no
 * bias), summed in double. Either output may be NULL. */
CONV1DT_API conv1dt_status conv1dt_regularization_losses(const conv1dt_layer *layer,
                                                         double *kernel_loss, double *bias_loss);
/* Adds the gradients of those terms to dkernel (K, F, C) and dbias (F,) (either may be NULL):
 * l1 * sign(w) + 2 * l2 * w, sign(0) = 0. */
CONV1DT_API conv1dt_status conv1dt_regularization_gradients(const conv1dt_layer *layer,
                                                            void *dkernel, void *dbias);
/* The activity term for an output y of this layer (output shape), divided by the batch size as
 * Keras does (0 for batch 0). y may be NULL only when the output is empty. */
CONV1DT_API conv1dt_status conv1dt_activity_loss(const conv1dt_layer *layer, const void *y,
                                                 int64_t batch, int64_t steps, double *loss);
/* Projects kernel and bias in place with their constraints, as Keras does after an update.
 * Not concurrently with other calls on the layer. */
CONV1DT_API conv1dt_status conv1dt_apply_constraints(conv1dt_layer *layer);

/* ---- Training: the backward pass ------------------------------------------------------------ */

/* Shape of the pre-activation output (bias included, before the activation) in the layer's data
 * format: like conv1dt_output_shape but never halved by glu. */
CONV1DT_API conv1dt_status conv1dt_preactivation_shape(const conv1dt_layer *layer, int64_t batch,
                                                       int64_t steps, int64_t shape[3]);
/* conv1dt_forward that also keeps the pre-activation values in `pre` (caller-owned, of
 * conv1dt_preactivation_shape; NULL = do not keep), for conv1dt_backward. */
CONV1DT_API conv1dt_status conv1dt_forward_train(const conv1dt_layer *layer, const void *x,
                                                 int64_t batch, int64_t steps, void *y, void *pre,
                                                 void *workspace, size_t workspace_bytes);
/* Gradients of a scalar loss given dy = dLoss/dy (output shape): dx (input shape), dkernel
 * (K, F, C), dbias (F,), each NULL when not wanted; all are overwritten, not accumulated.
 * `pre` is what conv1dt_forward_train stored for this x (may be NULL only for linear).
 * Activation derivatives are those JAX's autodiff gives Keras's formulas (relu'(0) = 0, ...).
 * x is read only for dkernel (may be NULL without it); dbias is skipped (left untouched) when
 * the layer has no bias; with an empty output every wanted gradient is zero and x, pre, dy may
 * be NULL. workspace as in conv1dt_forward (NULL: allocated up to the layer's workspace_limit);
 * below the minimum it fails with CONV1DT_ERROR_WORKSPACE_TOO_SMALL, naming the minimum.
 * Layers whose forward runs the direct method (and whose activation acts element by element)
 * take the direct method's own backward tiles on conv1dt's threads, in any workspace their
 * tiles fit (conv1dt_backward_workspace_size()'s always does); otherwise GEMMs through the BLAS.
 * Results do not depend on the thread count (the direct method) nor on the workspace size beyond
 * the summation order of the method it selects (dbias not at all). Thread-safe on a shared layer.
 */
CONV1DT_API conv1dt_status conv1dt_backward(const conv1dt_layer *layer, const void *x,
                                            int64_t batch, int64_t steps, const void *pre,
                                            const void *dy, void *dx, void *dkernel, void *dbias,
                                            void *workspace, size_t workspace_bytes);
/* Scratch bytes conv1dt_backward() uses for this input under the layer's workspace limit. */
CONV1DT_API conv1dt_status conv1dt_backward_workspace_size(const conv1dt_layer *layer,
                                                           int64_t batch, int64_t steps,
                                                           size_t *bytes);
/* The least workspace conv1dt_backward() accepts for this input (one row per block). */
CONV1DT_API conv1dt_status conv1dt_backward_min_workspace_size(const conv1dt_layer *layer,
                                                               int64_t batch, int64_t steps,
                                                               size_t *bytes);

/* ---- Streaming: endless signals, chunk by chunk ---------------------------------------------
 * A stream runs a layer over a batch of signals that arrive in chunks of steps of any length:
 * each push returns the output steps that have become final (no later input can change them),
 * and a flush at the end returns the rest (the right crop, or the zero extension of
 * output_padding). Concatenated, the outputs of every push and of the flush are
 * conv1dt_forward's output for the concatenated input: the same numbers where the sums are
 * exact (e.g. integer-valued data in float64; a zero may come out -0 in one and +0 in the other,
 * as between the library's methods), otherwise up to the rounding of the method in use.
 * A chunk of n steps is (batch, n, in_channels) for channels_last or (batch, in_channels, n)
 * for channels_first; a call returning m steps writes (batch, m, filters) or
 * (batch, filters, m) (glu over channels_last filters: filters / 2), dense, into a y with room
 * for y_capacity steps.
 *
 * Steps and latency. With s = strides, c = the layer's left crop (docs/SEMANTICS.md, "Output":
 * 0 for padding valid) and T(N) the output length for N input steps (conv1dt_output_shape; T(1)
 * may be 0), let D = max(c, s - T(1)). After N >= 1 input steps the pushes have returned
 *     E(N) = max(0, N*s - D)
 * output steps, and the flush returns the other T(N) - E(N), at most max(0, c + T(1) - s). So a
 * push of n steps returns at most n*s steps (conv1dt_stream_max_output_steps), and output step
 * p (from 0) comes out of the push that brings the signal to
 *     N(p) = floor((p + D) / s) + 1
 * input steps (conv1dt_stream_latency). Output step p depends on input steps up to
 * floor((p + c) / s) only; when T(1) < s the steps past (N-1)*s + T(1) exist only if another
 * input step comes, so they wait for it (they hold the bias alone).
 *
 * State is the overlap tail: a stream keeps the last few input steps (about (Keff - 1) / s) and
 * computes each output step once, with the layer's own methods, bias and activation. Its
 * memory is fixed at open whatever the signal's length: at most about the layer's
 * workspace_limit plus that context (conv1dt_stream_size), as long as one step fits in it.
 * Pushing chunks of many steps (hundreds or more) amortises the context and the per-call
 * overhead; chunks of 1 step work too.
 *
 * Threads: a stream reads its layer and never changes it, so any number of streams (and
 * conv1dt_forward calls) may run on one layer at once, from any threads. A stream itself is
 * used by one thread at a time. The layer must outlive its streams, and its weights must not
 * change while one is open. Errors leave the stream and y as they were. */
typedef struct conv1dt_stream conv1dt_stream; /* opaque */

/* Opens a stream of `batch` (>= 0) signals through `layer`, allocating all its memory
 * (conv1dt_stream_size bytes): pushes and flushes allocate nothing. Channels_first layers with
 * an activation along the steps axis (softmax, log_softmax, sparsemax, glu) are refused with
 * CONV1DT_ERROR_UNSUPPORTED: no output step is final before the whole signal is known. */
CONV1DT_API conv1dt_status conv1dt_stream_open(const conv1dt_layer *layer, int64_t batch,
                                               conv1dt_stream **out);
/* Frees a stream; NULL is accepted. Returns CONV1DT_OK. */
CONV1DT_API conv1dt_status conv1dt_stream_close(conv1dt_stream *stream);
/* Pushes `steps` (>= 0) input steps x and writes the output steps they make final into y:
 * *y_steps of them, at most steps * strides. CONV1DT_ERROR_BUFFER_TOO_SMALL when y_capacity is
 * below that count (conv1dt_stream_output_steps gives it in advance), and
 * CONV1DT_ERROR_INVALID_VALUE after a flush. x may be NULL when steps or batch is 0, and y when
 * the call returns no values. */
CONV1DT_API conv1dt_status conv1dt_stream_push(conv1dt_stream *stream, const void *x, int64_t steps,
                                               void *y, int64_t y_capacity, int64_t *y_steps);
/* Ends the signals: writes the remaining *y_steps output steps into y (at most
 * max(0, c + T(1) - s), see above). A stream given no steps returns none (conv1dt_forward
 * refuses 0 steps). After it, push and flush fail until conv1dt_stream_reset. */
CONV1DT_API conv1dt_status conv1dt_stream_flush(conv1dt_stream *stream, void *y, int64_t y_capacity,
                                                int64_t *y_steps);
/* Starts new signals on the stream: forgets every step pushed (and a flush). */
CONV1DT_API conv1dt_status conv1dt_stream_reset(conv1dt_stream *stream);
/* The exact counts: a push of `steps` now returns *push_steps output steps, and a flush right
 * after that push *flush_steps (0 and 0 once flushed). Either pointer may be NULL. */
CONV1DT_API conv1dt_status conv1dt_stream_output_steps(const conv1dt_stream *stream, int64_t steps,
                                                       int64_t *push_steps, int64_t *flush_steps);
/* The bounds, for sizing y before a stream exists: a push of `steps` returns at most
 * *push_steps = steps * strides output steps, a flush at most *flush_steps =
 * max(0, c + T(1) - s). Either pointer may be NULL. */
CONV1DT_API conv1dt_status conv1dt_stream_max_output_steps(const conv1dt_layer *layer,
                                                           int64_t steps, int64_t *push_steps,
                                                           int64_t *flush_steps);
/* Latency: the input steps a stream on this layer must have been given before a push returns
 * output step `output_step` (from 0): floor((output_step + D) / s) + 1 (see above). A flush
 * returns every remaining step at once. */
CONV1DT_API conv1dt_status conv1dt_stream_latency(const conv1dt_layer *layer, int64_t output_step,
                                                  int64_t *input_steps);
/* The bytes a stream of `batch` signals on this layer holds (conv1dt_stream_open allocates
 * them): its context, the staging of one block of steps and a workspace. */
CONV1DT_API conv1dt_status conv1dt_stream_size(const conv1dt_layer *layer, int64_t batch,
                                               size_t *bytes);

/* Name parsing helpers: Keras's text forms, case-insensitive as Keras lower-cases them:
 * padding "valid" / "same", data_format "channels_last" / "channels_first". */
CONV1DT_API conv1dt_status conv1dt_padding_from_string(const char *text, conv1dt_padding *out);
CONV1DT_API conv1dt_status conv1dt_data_format_from_string(const char *text,
                                                           conv1dt_data_format *out);
/* "auto", "gemm", "direct", "gemm_accumulate" (case-insensitive; '-' may stand for '_'). */
CONV1DT_API conv1dt_status conv1dt_algorithm_from_string(const char *text, conv1dt_algorithm *out);
/* Checks an activation name; on success *canonical is the library's canonical name
 * ("swish" -> "silu"), which may be NULL-pointer-skipped. */
CONV1DT_API conv1dt_status conv1dt_activation_check(const char *name, const char **canonical);

/* ---- Keras files (added in 0.4.0) ------------------------------------------------------------
 * A Conv1DTranspose layer as a Keras user saved it. Formats are told apart by their bytes, not
 * their names: a Keras 3 .keras archive (zip: config.json + model.weights.h5), Keras 3
 * .weights.h5, Keras 2 HDF5 (save_weights files and whole-model .h5 files, whose config is the
 * root's model_config attribute), and Keras JSON (a layer's get_config() dict, or a model's
 * config.json / to_json(): Sequential, Functional, nested models). `layer_name` picks the layer
 * by its Keras name; NULL picks the only Conv1DTranspose there is. The configuration maps field
 * for field (a missing field takes Keras's default); the weights are read in the config's dtype
 * (float32 or float64); in_channels comes from the kernel. Errors name the file and the field,
 * layer or dataset: not a Keras file, no such layer, a layer of another class, a truncated or
 * corrupted archive or HDF5 file, a field conv1dt cannot honour. */

/* The configuration (and dtype) of a layer in Keras JSON text of `length` bytes. Either output
 * may be NULL; cfg->activation points at the library's canonical name. */
CONV1DT_API conv1dt_status conv1dt_config_from_keras_json(const char *json, size_t length,
                                                          const char *layer_name,
                                                          conv1dt_config *cfg,
                                                          conv1dt_dtype *dtype);
/* The layer, with its weights, from one file holding both: a .keras archive or a Keras 2
 * whole-model HDF5 file. */
CONV1DT_API conv1dt_status conv1dt_create_from_keras(const char *path, const char *layer_name,
                                                     conv1dt_layer **out);
/* The same from separate files: config_path holds the JSON (or is a file carrying it, as above),
 * weights_path the weights (.weights.h5, a Keras 2 HDF5 file, or a .keras archive). */
CONV1DT_API conv1dt_status conv1dt_create_from_keras_files(const char *config_path,
                                                           const char *weights_path,
                                                           const char *layer_name,
                                                           conv1dt_layer **out);
/* The names of the Conv1DTranspose layers in a Keras file holding a config (JSON, .keras, Keras 2
 * whole-model HDF5), one per line, into buffer (size bytes, NUL-terminated; NULL with size 0 to
 * count only), and their number into *count. CONV1DT_ERROR_BUFFER_TOO_SMALL when they do not
 * fit (buffer and *count untouched). */
CONV1DT_API conv1dt_status conv1dt_keras_layer_names(const char *path, char *buffer, size_t size,
                                                     int64_t *count);

/* Writes the layer (configuration and weights) as a Keras 3 .keras archive at `path` that
 * keras.saving.load_model loads: a Sequential model of an InputLayer (any batch and number of
 * steps) and the Conv1DTranspose named `layer_name` (NULL: "conv1d_transpose"; 1 to 255
 * characters, no '/'), whose output is this layer's up to rounding. The file appears complete
 * or not at all (written beside `path`, then renamed). conv1dt's seeds are not Keras's: the
 * initializers are saved as configured, the weights as they are. */
CONV1DT_API conv1dt_status conv1dt_save_keras(const conv1dt_layer *layer, const char *layer_name,
                                              const char *path);

/* Describes the BLAS that provides cblas_sgemm at run time, as that BLAS tells it: vendor
 * (OpenBLAS, BLIS, MKL, ATLAS, Netlib reference BLAS), version, threading build, and the file
 * ("OpenBLAS 0.3.21 ...; core Haswell; pthreads build in /usr/lib/.../libopenblasp-r0.3.21.so"),
 * or "unknown CBLAS in FILE" when no vendor's own symbol names it. *threads (may be NULL) gets
 * its thread count: 1 for a serial build, 0 when the vendor does not say. Writes a
 * NUL-terminated string; 512 bytes always suffice. */
CONV1DT_API conv1dt_status conv1dt_blas_info(char *buffer, size_t size, int *threads);

/* Sets how many threads both the BLAS (through that vendor's own call: openblas_set_num_threads,
 * bli_thread_set_num_threads, MKL_Set_Num_Threads; nothing for a serial build) and conv1dt's own
 * team (the direct method, col2im, the activations) run, process-wide, from 1 to 64. The two
 * never run at the same time, so neither oversubscribes the other. Without this call the team
 * runs as many threads as a threaded BLAS does, else one per online CPU. Fails with
 * CONV1DT_ERROR_UNSUPPORTED, after setting the team, when the BLAS runs threads but hides its
 * call (Debian's BLIS as libblas.so.3: set BLIS_NUM_THREADS before the program starts). */
CONV1DT_API conv1dt_status conv1dt_set_num_threads(int threads);
/* The number of threads conv1dt's team runs now (see conv1dt_set_num_threads). */
CONV1DT_API conv1dt_status conv1dt_get_num_threads(int *threads);

/* Checks that this machine computes the layer correctly: a small sweep (five shapes, float32
 * and float64, both data formats) of forward calls by every method — the GEMMs of the BLAS
 * loaded at run time and the direct kernel in the instruction sets this CPU runs (its AVX-512
 * and 256-bit tiles where it has AVX-512) — and backward calls, each against a naive loop
 * built into the library. Writes a NUL-terminated report (the BLAS, the kernel's ISA, pass or
 * FAIL per dtype and format, each failing case; 8192 bytes always suffice) and the number of
 * failed checks to *failures (0: all passed). Takes well under a second. */
CONV1DT_API conv1dt_status conv1dt_selftest(char *report, size_t size, int *failures);

/* The opt-in measured plan (FFTW_MEASURE's idea), for a BLAS or machine AUTO's rules were not
 * measured on: times GEMM, GEMM_ACCUMULATE and DIRECT on copies of this layer for inputs of
 * `batch` x `steps` (alternating rounds, medians; about 0.3 s or 15 rounds, whichever is
 * less, plus one warm-up call each) and writes the fastest to *best. Create the layer again
 * with cfg.algorithm = *best to use it. AUTO itself never measures, so its choice and results
 * are the same on every run. With `wisdom` (may be NULL; 2048 bytes suffice) it also writes one
 * line of text recording the answer and everything it depends on (the BLAS, the direct kernel's
 * ISA, the threads, the layer's configuration, the input shape): store such lines and give them
 * to conv1dt_wisdom_lookup next time instead of measuring again. */
CONV1DT_API conv1dt_status conv1dt_measure_algorithm(const conv1dt_layer *layer, int64_t batch,
                                                     int64_t steps, conv1dt_algorithm *best,
                                                     char *wisdom, size_t size);
/* The method a wisdom text (lines from conv1dt_measure_algorithm, in any number and order; the
 * last matching line wins) records for this layer and input shape under the BLAS, kernel ISA
 * and thread count in use now; CONV1DT_ERROR_INVALID_VALUE when no line matches. */
CONV1DT_API conv1dt_status conv1dt_wisdom_lookup(const char *wisdom, const conv1dt_layer *layer,
                                                 int64_t batch, int64_t steps,
                                                 conv1dt_algorithm *best);

/* The best instruction set the direct kernel runs here: "x86-64-v4 (AVX-512; ...)" (512-bit
 * vectors, picked per call where they are not mostly padding), "x86-64-v3 (AVX2, FMA)" or
 * "x86-64 baseline (SSE2)" (chosen when the library loads), "aarch64 NEON (128-bit vector
 * extensions)" on 64-bit Arm, or "portable C (...)" in other builds without dispatch. */
CONV1DT_API const char *conv1dt_kernel_isa(void);

/* "0.1.0" and CONV1DT_VERSION_NUMBER of the library actually linked. */
CONV1DT_API const char *conv1dt_version_string(void);
CONV1DT_API int conv1dt_version_number(void);

/* Stable name of a status ("CONV1DT_ERROR_INVALID_VALUE"); "unknown status" otherwise. */
CONV1DT_API const char *conv1dt_status_name(conv1dt_status status);

/* The calling thread's message for its last failed call ("" if none). Valid until this thread's
 * next conv1dt call. */
CONV1DT_API const char *conv1dt_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* CONV1DT_H */
