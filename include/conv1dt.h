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
#define CONV1DT_VERSION_MINOR 1
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
  CONV1DT_ERROR_BUFFER_TOO_SMALL = 9     /* a caller's text buffer is too small */
} conv1dt_status;

typedef enum { CONV1DT_FLOAT32 = 0, CONV1DT_FLOAT64 = 1 } conv1dt_dtype;
typedef enum { CONV1DT_PADDING_VALID = 0, CONV1DT_PADDING_SAME = 1 } conv1dt_padding;
typedef enum { CONV1DT_CHANNELS_LAST = 0, CONV1DT_CHANNELS_FIRST = 1 } conv1dt_data_format;

/* Keras's output_padding=None. */
#define CONV1DT_OUTPUT_PADDING_NONE (-1)

/* Default upper bound on the scratch memory one conv1dt_forward() call uses (bytes). */
#define CONV1DT_DEFAULT_WORKSPACE_LIMIT ((size_t)32 << 20)

typedef struct conv1dt_layer conv1dt_layer; /* opaque */

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
  uint64_t seed;          /* seed of the default glorot_uniform kernel (see conv1dt_create) */
  size_t workspace_limit; /* bytes of scratch a forward call given no workspace may use;
                             0 = CONV1DT_DEFAULT_WORKSPACE_LIMIT. A hard cap: below
                             conv1dt_min_workspace_size() such calls fail with
                             CONV1DT_ERROR_WORKSPACE_TOO_SMALL. */
} conv1dt_config;

/* Keras defaults: strides 1, "valid", output_padding None, channels_last, dilation 1,
 * no activation, use_bias true; seed 0, default workspace limit. */
CONV1DT_API conv1dt_config conv1dt_config_default(int64_t filters, int64_t kernel_size);

/*
 * Creates a layer for inputs with `in_channels` channels. Validates the configuration as
 * Keras does. Weights start as Keras's defaults: a glorot_uniform kernel
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

/*
 * y = activation(conv1d_transpose(x, kernel) + bias), Keras's forward pass.
 * x and y are of the layer's dtype and shapes (see top). workspace: caller scratch of
 * workspace_bytes bytes (no alignment needed), or NULL to let the call allocate
 * conv1dt_workspace_size() bytes itself. Results do not depend on the workspace size beyond
 * the GEMM's own summation order. Thread-safe on a shared layer.
 * x may be NULL when batch is 0, and y when the output is empty (batch 0 or new_steps 0).
 */
CONV1DT_API conv1dt_status conv1dt_forward(const conv1dt_layer *layer, const void *x, int64_t batch,
                                           int64_t steps, void *y, void *workspace,
                                           size_t workspace_bytes);

/* Name parsing helpers: Keras's text forms, case-insensitive as Keras lower-cases them:
 * padding "valid" / "same", data_format "channels_last" / "channels_first". */
CONV1DT_API conv1dt_status conv1dt_padding_from_string(const char *text, conv1dt_padding *out);
CONV1DT_API conv1dt_status conv1dt_data_format_from_string(const char *text,
                                                           conv1dt_data_format *out);
/* Checks an activation name; on success *canonical is the library's canonical name
 * ("swish" -> "silu"), which may be NULL-pointer-skipped. */
CONV1DT_API conv1dt_status conv1dt_activation_check(const char *name, const char **canonical);

/* Describes the BLAS linked at run time ("OpenBLAS 0.3.21 ... Haswell", or "unknown CBLAS")
 * and its thread count (0 when the vendor does not say). Writes a NUL-terminated string. */
CONV1DT_API conv1dt_status conv1dt_blas_info(char *buffer, size_t size, int *threads);

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
