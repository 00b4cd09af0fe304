/*
 * conv1dt — command-line front end of the library: argument parsing and .npy I/O only; every
 * number is computed by libconv1dt.
 *
 *   conv1dt                 the seed example with statistics and timing
 *   conv1dt run ...         one forward pass over .npy files
 *   conv1dt grad ...        gradients (backward pass) over .npy files
 *   conv1dt init ...        a layer's initial weights (Keras's initializers) as .npy files
 *   conv1dt info            version, BLAS, threads
 *   conv1dt --help | help | --version
 *
 * Exit status: 0 success, 1 failure (files, shapes, library), 2 usage error. On any failure the
 * output file is not created (the writer renames a complete temporary into place last).
 */
#define _POSIX_C_SOURCE 200809L

#include "conv1dt.h"
#include "npy.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_USAGE = 2 };

static void error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("conv1dt: error: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

/* A failed library call: our context, then the library's own message and status name. */
static void lib_error(const char *what, conv1dt_status st) {
  const char *msg = conv1dt_last_error();
  if (msg && *msg)
    error("%s: %s (%s)", what, msg, conv1dt_status_name(st));
  else
    error("%s: %s", what, conv1dt_status_name(st));
}

static const char USAGE[] =
    "usage: conv1dt                 run the built-in example (Keras's Conv1DTranspose seed)\n"
    "       conv1dt run --input X.npy --kernel K.npy [--bias B.npy] --output Y.npy [options]\n"
    "       conv1dt grad --input X.npy --kernel K.npy [--bias B.npy] --grad-output DY.npy\n"
    "                    [--grad-input DX.npy] [--grad-kernel DK.npy] [--grad-bias DB.npy]\n"
    "                    [options]  gradients of a loss through the layer (backward pass)\n"
    "       conv1dt init --in-channels C --filters F --kernel-size K --kernel-output K.npy\n"
    "                    [--bias-output B.npy] [options]  initial weights (Keras initializers)\n"
    "       conv1dt info            show the version, the BLAS in use and its threads\n"
    "       conv1dt help [run|grad|init]  show this help (also --help, -h)\n"
    "       conv1dt --version       show the version\n"
    "\n"
    "Keras 3 Conv1DTranspose forward and backward passes on CBLAS. See 'conv1dt run --help'\n"
    "and 'conv1dt grad --help'.\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

static const char RUN_USAGE[] =
    "usage: conv1dt run --input X.npy --kernel K.npy [--bias B.npy] --output Y.npy [options]\n"
    "\n"
    "Computes y = activation(conv1d_transpose(x, kernel) + bias) as Keras 3's Conv1DTranspose.\n"
    "All arrays are .npy files, C order, little-endian float32 or float64 (one dtype for all).\n"
    "\n"
    "  --input X.npy           (batch, steps, in_channels), or (batch, in_channels, steps)\n"
    "                          with channels_first\n"
    "  --kernel K.npy          (kernel_size, filters, in_channels), Keras's layout\n"
    "  --bias B.npy            (filters,); without it the layer has no bias\n"
    "  --output Y.npy          result (batch, new_steps, filters) or (batch, filters, new_steps),\n"
    "                          written atomically; never created when anything fails\n"
    "  --strides S             default 1\n"
    "  --padding P             valid (default) or same, case-insensitive\n"
    "  --output-padding P      an integer below the strides, or none (default)\n"
    "  --data-format F         channels_last (default) or channels_first\n"
    "  --dilation-rate D       default 1; > 1 only with strides 1\n"
    "  --activation NAME       a Keras activation name (relu, gelu, softmax, glu, ...);\n"
    "                          default none (linear)\n"
    "\n"
    "Options also take the form --name=value. Exit status: 0 success, 1 failure, 2 usage error.\n";

/* ---------------------------------------------------------------------------------------------
 * run
 */

enum {
  OPT_INPUT,
  OPT_KERNEL,
  OPT_BIAS,
  OPT_OUTPUT,
  OPT_STRIDES,
  OPT_PADDING,
  OPT_OUTPUT_PADDING,
  OPT_DATA_FORMAT,
  OPT_DILATION_RATE,
  OPT_ACTIVATION,
  OPT_COUNT
};

static const char *const OPT_NAMES[OPT_COUNT] = {
    "input",   "kernel",         "bias",        "output",        "strides",
    "padding", "output-padding", "data-format", "dilation-rate", "activation"};

/* Strict non-negative decimal: digits only, fully consumed, within int64_t. A sign is refused
 * because no integer flag of this layer has a meaningful negative value. */
static bool parse_count(const char *flag, const char *text, int64_t *out) {
  bool digits = *text != '\0';
  for (const char *p = text; *p; p++)
    if (*p < '0' || *p > '9') digits = false;
  if (!digits) {
    error("--%s expects a non-negative integer, got '%s'", flag, text);
    return false;
  }
  errno = 0;
  char *end;
  long long v = strtoll(text, &end, 10);
  if (errno == ERANGE || *end != '\0') {
    error("--%s: '%s' is out of range", flag, text);
    return false;
  }
  *out = (int64_t)v;
  return true;
}

/* Parses `run`'s arguments into values[]. Returns 0 to go on, or an exit status. */
static int parse_run_args(int argc, char **argv, const char *values[OPT_COUNT]) {
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      fputs(RUN_USAGE, stdout);
      return -1; /* done, success */
    }
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
      error("unexpected argument '%s' (see 'conv1dt run --help')", arg);
      return EXIT_USAGE;
    }
    const char *name = arg + 2;
    const char *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    int opt = -1;
    for (int k = 0; k < OPT_COUNT; k++)
      if (strlen(OPT_NAMES[k]) == nlen && strncmp(OPT_NAMES[k], name, nlen) == 0) opt = k;
    if (opt < 0) {
      error("unknown option '--%.*s' (see 'conv1dt run --help')", (int)nlen, name);
      return EXIT_USAGE;
    }
    const char *value;
    if (eq) {
      value = eq + 1;
    } else {
      /* "--input --kernel k.npy" is a forgotten value, not a file named "--kernel". */
      if (i + 1 >= argc || (strncmp(argv[i + 1], "--", 2) == 0 && argv[i + 1][2] != '\0')) {
        error("option --%s needs a value", OPT_NAMES[opt]);
        return EXIT_USAGE;
      }
      value = argv[++i];
    }
    if (*value == '\0') {
      error("option --%s needs a non-empty value", OPT_NAMES[opt]);
      return EXIT_USAGE;
    }
    if (values[opt]) {
      error("option --%s given more than once", OPT_NAMES[opt]);
      return EXIT_USAGE;
    }
    values[opt] = value;
  }
  static const int required[] = {OPT_INPUT, OPT_KERNEL, OPT_OUTPUT};
  for (size_t k = 0; k < sizeof required / sizeof required[0]; k++) {
    if (!values[required[k]]) {
      error("missing required option --%s (see 'conv1dt run --help')", OPT_NAMES[required[k]]);
      return EXIT_USAGE;
    }
  }
  return 0;
}

/* Fills every configuration field the command line controls (filters and kernel_size are the
 * caller's). Returns false after printing a usage error. */
static bool build_config(const char *values[OPT_COUNT], conv1dt_config *cfg) {
  conv1dt_status st;
  if (values[OPT_STRIDES] && !parse_count("strides", values[OPT_STRIDES], &cfg->strides))
    return false;
  if (values[OPT_DILATION_RATE] &&
      !parse_count("dilation-rate", values[OPT_DILATION_RATE], &cfg->dilation_rate))
    return false;
  const char *op = values[OPT_OUTPUT_PADDING];
  if (op) {
    if (strcasecmp(op, "none") == 0)
      cfg->output_padding = CONV1DT_OUTPUT_PADDING_NONE;
    else if (!parse_count("output-padding", op, &cfg->output_padding))
      return false;
  }
  if (values[OPT_PADDING] &&
      (st = conv1dt_padding_from_string(values[OPT_PADDING], &cfg->padding)) != CONV1DT_OK) {
    lib_error("invalid --padding", st);
    return false;
  }
  if (values[OPT_DATA_FORMAT] && (st = conv1dt_data_format_from_string(
                                      values[OPT_DATA_FORMAT], &cfg->data_format)) != CONV1DT_OK) {
    lib_error("invalid --data-format", st);
    return false;
  }
  if (values[OPT_ACTIVATION]) {
    if ((st = conv1dt_activation_check(values[OPT_ACTIVATION], NULL)) != CONV1DT_OK) {
      lib_error("invalid --activation", st);
      return false;
    }
    cfg->activation = values[OPT_ACTIVATION];
  }
  cfg->use_bias = values[OPT_BIAS] != NULL;
  return true;
}

/* Lets the library judge the flag values (output_padding < strides, strides vs dilation, ...)
 * before any file is read, so that a bad command line is a usage error with Keras's message.
 * The probe shape is neutral: 2 filters (glu needs an even count), kernel 1, 1 channel. */
static bool probe_config(const conv1dt_config *cfg) {
  conv1dt_config probe = *cfg;
  probe.filters = 2;
  probe.kernel_size = 1;
  conv1dt_layer *layer = NULL;
  conv1dt_status st = conv1dt_create(&probe, 1, CONV1DT_FLOAT64, &layer);
  conv1dt_destroy(layer);
  if (st == CONV1DT_ERROR_INVALID_VALUE || st == CONV1DT_ERROR_UNKNOWN_NAME) {
    lib_error("invalid layer configuration", st);
    return false;
  }
  return true; /* anything else (memory, ...) shows up again in the real conv1dt_create */
}

/* The output's directory must exist now, not only when the writer fails after the work. */
static bool check_output_path(const char *path) {
  struct stat sb;
  if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
    error("--output '%s' is a directory", path);
    return false;
  }
  const char *slash = strrchr(path, '/');
  if (!slash) return true;
  size_t len = (size_t)(slash - path);
  char *dir = malloc(len + 2);
  if (!dir) {
    error("out of memory");
    return false;
  }
  if (len == 0) {
    strcpy(dir, "/");
  } else {
    memcpy(dir, path, len);
    dir[len] = '\0';
  }
  bool ok = stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode);
  if (!ok) error("--output '%s': directory '%s' does not exist", path, dir);
  free(dir);
  return ok;
}

static const char *dtype_name(npy_dtype d) {
  return d == NPY_FLOAT32 ? "float32" : "float64";
}

static void format_shape(char *buf, size_t size, int ndim, const int64_t *shape) {
  size_t n = (size_t)snprintf(buf, size, "(");
  for (int i = 0; i < ndim && n < size; i++)
    n += (size_t)snprintf(buf + n, size - n, i ? ", %" PRId64 : "%" PRId64, shape[i]);
  if (n < size) snprintf(buf + n, size - n, ndim == 1 ? ",)" : ")");
}

static bool load_array(const char *flag, const char *path, npy_array *arr) {
  char err[512];
  if (npy_load(path, arr, err, sizeof err) != NPY_OK) {
    error("cannot read --%s '%s': %s", flag, path, err);
    return false;
  }
  return true;
}

/* Checks the arrays against each other. Returns false after printing the problem. */
static bool check_arrays(const npy_array *x, const npy_array *k, const npy_array *b,
                         conv1dt_data_format fmt) {
  char s[1024];
  if (x->ndim != 3) {
    format_shape(s, sizeof s, x->ndim, x->shape);
    error("--input has shape %s (rank %d); expected rank 3: %s", s, x->ndim,
          fmt == CONV1DT_CHANNELS_LAST ? "(batch, steps, channels)" : "(batch, channels, steps)");
    return false;
  }
  if (k->ndim != 3) {
    format_shape(s, sizeof s, k->ndim, k->shape);
    error("--kernel has shape %s (rank %d); expected rank 3: (kernel_size, filters, in_channels)",
          s, k->ndim);
    return false;
  }
  if (k->dtype != x->dtype) {
    error("--kernel is %s but --input is %s; all arrays must have the same dtype",
          dtype_name(k->dtype), dtype_name(x->dtype));
    return false;
  }
  if (b) {
    if (b->dtype != x->dtype) {
      error("--bias is %s but --input is %s; all arrays must have the same dtype",
            dtype_name(b->dtype), dtype_name(x->dtype));
      return false;
    }
    if (b->ndim != 1 || b->shape[0] != k->shape[1]) {
      format_shape(s, sizeof s, b->ndim, b->shape);
      error("--bias has shape %s; expected (%" PRId64 ",), the kernel's filters", s, k->shape[1]);
      return false;
    }
  }
  int axis = fmt == CONV1DT_CHANNELS_LAST ? 2 : 1;
  if (x->shape[axis] != k->shape[2]) {
    error("--input has %" PRId64 " channels (axis %d, %s) but the kernel expects %" PRId64
          " (in_channels, its last axis)",
          x->shape[axis], axis, fmt == CONV1DT_CHANNELS_LAST ? "channels_last" : "channels_first",
          k->shape[2]);
    return false;
  }
  return true;
}

static int cmd_run(int argc, char **argv) {
  const char *values[OPT_COUNT] = {0};
  int rc = parse_run_args(argc, argv, values);
  if (rc != 0) return rc < 0 ? EXIT_SUCCESS : rc;

  /* filters and kernel_size are placeholders until the kernel is read. */
  conv1dt_config cfg = conv1dt_config_default(1, 1);
  if (!build_config(values, &cfg) || !probe_config(&cfg)) return EXIT_USAGE;
  if (!check_output_path(values[OPT_OUTPUT])) return EXIT_FAILURE;

  npy_array x = {0}, k = {0}, b = {0};
  conv1dt_layer *layer = NULL;
  void *y = NULL;
  rc = EXIT_FAILURE;
  if (!load_array("input", values[OPT_INPUT], &x) || !load_array("kernel", values[OPT_KERNEL], &k))
    goto done;
  if (values[OPT_BIAS] && !load_array("bias", values[OPT_BIAS], &b)) goto done;
  if (!check_arrays(&x, &k, values[OPT_BIAS] ? &b : NULL, cfg.data_format)) goto done;

  cfg.kernel_size = k.shape[0];
  cfg.filters = k.shape[1];
  conv1dt_dtype dtype = x.dtype == NPY_FLOAT32 ? CONV1DT_FLOAT32 : CONV1DT_FLOAT64;
  conv1dt_status st = conv1dt_create(&cfg, k.shape[2], dtype, &layer);
  if (st != CONV1DT_OK) {
    lib_error("cannot create the layer", st);
    goto done;
  }
  if ((st = conv1dt_set_weights(layer, k.data, values[OPT_BIAS] ? b.data : NULL)) != CONV1DT_OK) {
    lib_error("cannot set the weights", st);
    goto done;
  }
  int64_t batch = x.shape[0];
  int64_t steps = x.shape[cfg.data_format == CONV1DT_CHANNELS_LAST ? 1 : 2];
  int64_t out_shape[3];
  if ((st = conv1dt_output_shape(layer, batch, steps, out_shape)) != CONV1DT_OK) {
    lib_error("invalid input", st);
    goto done;
  }
  /* The library checked the product fits int64_t; size_t and the byte count are ours. */
  uint64_t count = 1;
  for (int i = 0; i < 3; i++) {
    if (out_shape[i] != 0 && count > SIZE_MAX / (uint64_t)out_shape[i])
      count = UINT64_MAX;
    else
      count *= (uint64_t)out_shape[i];
  }
  size_t item = (size_t)x.dtype;
  if (count > SIZE_MAX / item) {
    error("the output is too large for this machine");
    goto done;
  }
  size_t nbytes = (size_t)count * item;
  y = malloc(nbytes ? nbytes : 1);
  if (!y) {
    error("out of memory: the output needs %zu bytes", nbytes);
    goto done;
  }
  if ((st = conv1dt_forward(layer, x.data, batch, steps, y, NULL, 0)) != CONV1DT_OK) {
    lib_error("forward pass failed", st);
    goto done;
  }
  char err[512];
  if (npy_save_atomic(values[OPT_OUTPUT], (npy_dtype)item, 3, out_shape, y, err, sizeof err) !=
      NPY_OK) {
    error("cannot write --output '%s': %s", values[OPT_OUTPUT], err);
    goto done;
  }
  rc = EXIT_SUCCESS;
done:
  free(y);
  conv1dt_destroy(layer);
  npy_free(&x);
  npy_free(&k);
  npy_free(&b);
  return rc;
}

/* ---------------------------------------------------------------------------------------------
 * grad
 */

static const char GRAD_USAGE[] =
    "usage: conv1dt grad --input X.npy --kernel K.npy [--bias B.npy] --grad-output DY.npy\n"
    "                    [--grad-input DX.npy] [--grad-kernel DK.npy] [--grad-bias DB.npy]\n"
    "                    [options]\n"
    "\n"
    "Gradients of a scalar loss through Keras 3's Conv1DTranspose: given DY = dLoss/dy for the\n"
    "layer's output y on input X, writes dLoss/dx, dLoss/dkernel and dLoss/dbias. The layer\n"
    "options are those of 'conv1dt run'; all arrays share one dtype (float32 or float64).\n"
    "\n"
    "  --input X.npy           the input the layer saw, as for 'run'\n"
    "  --kernel K.npy          (kernel_size, filters, in_channels)\n"
    "  --bias B.npy            (filters,); without it the layer has no bias\n"
    "  --grad-output DY.npy    dLoss/dy, of the output's shape (as 'run' writes it)\n"
    "  --grad-input DX.npy     writes dLoss/dx, of the input's shape\n"
    "  --grad-kernel DK.npy    writes dLoss/dkernel, of the kernel's shape\n"
    "  --grad-bias DB.npy      writes dLoss/dbias, (filters,); needs --bias\n"
    "  --strides, --padding, --output-padding, --data-format, --dilation-rate, --activation\n"
    "                          as for 'run' (see 'conv1dt run --help')\n"
    "\n"
    "At least one --grad-* output is required. The outputs appear together: after any error none\n"
    "of them exists (a file they would have replaced is left as it was).\n"
    "Options also take the form --name=value. Exit status: 0 success, 1 failure, 2 usage error.\n";

enum { GRAD_OUT_DY, GRAD_OUT_DX, GRAD_OUT_DK, GRAD_OUT_DB, GRAD_COUNT };
static const char *const GRAD_NAMES[GRAD_COUNT] = {"grad-output", "grad-input", "grad-kernel",
                                                   "grad-bias"};

/* Parses `grad`'s arguments: the layer options of `run` (but --output) into values[], the
 * gradient files into grads[]. Returns 0 to go on, -1 after --help, or an exit status. */
static int parse_grad_args(int argc, char **argv, const char *values[OPT_COUNT],
                           const char *grads[GRAD_COUNT]) {
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      fputs(GRAD_USAGE, stdout);
      return -1;
    }
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
      error("unexpected argument '%s' (see 'conv1dt grad --help')", arg);
      return EXIT_USAGE;
    }
    const char *name = arg + 2, *eq = strchr(name, '=');
    const size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    const char **slot = NULL, *flag = NULL;
    for (int k = 0; k < OPT_COUNT; k++)
      if (k != OPT_OUTPUT && strlen(OPT_NAMES[k]) == nlen && strncmp(OPT_NAMES[k], name, nlen) == 0)
        slot = &values[k], flag = OPT_NAMES[k];
    for (int k = 0; k < GRAD_COUNT; k++)
      if (strlen(GRAD_NAMES[k]) == nlen && strncmp(GRAD_NAMES[k], name, nlen) == 0)
        slot = &grads[k], flag = GRAD_NAMES[k];
    if (!slot) {
      error("unknown option '--%.*s' (see 'conv1dt grad --help')", (int)nlen, name);
      return EXIT_USAGE;
    }
    const char *value;
    if (eq) {
      value = eq + 1;
    } else {
      if (i + 1 >= argc || (strncmp(argv[i + 1], "--", 2) == 0 && argv[i + 1][2] != '\0')) {
        error("option --%s needs a value", flag);
        return EXIT_USAGE;
      }
      value = argv[++i];
    }
    if (*value == '\0') {
      error("option --%s needs a non-empty value", flag);
      return EXIT_USAGE;
    }
    if (*slot) {
      error("option --%s given more than once", flag);
      return EXIT_USAGE;
    }
    *slot = value;
  }
  const char *missing = !values[OPT_INPUT]    ? "input"
                        : !values[OPT_KERNEL] ? "kernel"
                        : !grads[GRAD_OUT_DY] ? "grad-output"
                                              : NULL;
  if (missing) {
    error("missing required option --%s (see 'conv1dt grad --help')", missing);
    return EXIT_USAGE;
  }
  if (!grads[GRAD_OUT_DX] && !grads[GRAD_OUT_DK] && !grads[GRAD_OUT_DB]) {
    error("nothing to write: give at least one of --grad-input, --grad-kernel, --grad-bias");
    return EXIT_USAGE;
  }
  if (grads[GRAD_OUT_DB] && !values[OPT_BIAS]) {
    error("--grad-bias needs --bias (without it the layer has no bias)");
    return EXIT_USAGE;
  }
  for (int a = GRAD_OUT_DX; a < GRAD_COUNT; a++)
    for (int b = a + 1; b < GRAD_COUNT; b++)
      if (grads[a] && grads[b] && strcmp(grads[a], grads[b]) == 0) {
        error("--%s and --%s name the same file '%s'", GRAD_NAMES[a], GRAD_NAMES[b], grads[a]);
        return EXIT_USAGE;
      }
  return 0;
}

/* An output's directory must exist and the path must not be a directory, before any work. */
static bool check_grad_path(const char *flag, const char *path) {
  struct stat sb;
  if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
    error("--%s '%s' is a directory", flag, path);
    return false;
  }
  const char *slash = strrchr(path, '/');
  if (!slash) return true;
  const int len = slash == path ? 1 : (int)(slash - path);
  char *dir = malloc((size_t)len + 1);
  if (!dir) {
    error("out of memory");
    return false;
  }
  memcpy(dir, path, (size_t)len);
  dir[len] = '\0';
  const bool ok = stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode);
  if (!ok) error("--%s '%s': directory '%s' does not exist", flag, path, dir);
  free(dir);
  return ok;
}

/* One gradient file to write. */
typedef struct {
  const char *flag, *path;
  int ndim;
  int64_t shape[3];
  const void *data;
  char *staged; /* temporary next to path, once written */
} grad_file;

/* Writes every file to a temporary in its destination's directory first (npy_save_atomic onto a
 * name reserved with mkstemp), then renames them all into place. On failure every temporary
 * and every file already renamed is removed, so no output exists after an error. */
static bool save_grad_files(grad_file *files, int n, npy_dtype dtype) {
  char err[512];
  int staged = 0, placed = 0;
  bool ok = true;
  for (; staged < n && ok; staged++) {
    grad_file *f = &files[staged];
    const char *slash = strrchr(f->path, '/');
    const size_t dirlen = slash ? (size_t)(slash - f->path) + 1 : 0;
    const size_t size = strlen(f->path) + 16;
    f->staged = malloc(size);
    if (!f->staged) {
      error("out of memory");
      ok = false;
      break;
    }
    snprintf(f->staged, size, "%.*s.%s.XXXXXX", (int)dirlen, f->path, f->path + dirlen);
    const int fd = mkstemp(f->staged);
    if (fd < 0) {
      error("cannot write --%s '%s': cannot create a temporary file: %s", f->flag, f->path,
            strerror(errno));
      free(f->staged);
      f->staged = NULL;
      ok = false;
      break;
    }
    close(fd);
    if (npy_save_atomic(f->staged, dtype, f->ndim, f->shape, f->data, err, sizeof err) != NPY_OK) {
      error("cannot write --%s '%s': %s", f->flag, f->path, err);
      ok = false;
      staged++; /* its reserved name is removed below */
      break;
    }
  }
  for (; ok && placed < n; placed++)
    if (rename(files[placed].staged, files[placed].path) != 0) {
      error("cannot write --%s '%s': cannot rename: %s", files[placed].flag, files[placed].path,
            strerror(errno));
      ok = false;
      break;
    }
  if (!ok) {
    for (int i = 0; i < placed; i++) unlink(files[i].path);
    for (int i = placed; i < staged; i++)
      if (files[i].staged) unlink(files[i].staged);
  }
  for (int i = 0; i < n; i++) free(files[i].staged);
  return ok;
}

static int cmd_grad(int argc, char **argv) {
  const char *values[OPT_COUNT] = {0}, *grads[GRAD_COUNT] = {0};
  int rc = parse_grad_args(argc, argv, values, grads);
  if (rc != 0) return rc < 0 ? EXIT_SUCCESS : rc;

  conv1dt_config cfg = conv1dt_config_default(1, 1); /* filters, kernel_size: from the kernel */
  if (!build_config(values, &cfg) || !probe_config(&cfg)) return EXIT_USAGE;
  for (int g = GRAD_OUT_DX; g < GRAD_COUNT; g++)
    if (grads[g] && !check_grad_path(GRAD_NAMES[g], grads[g])) return EXIT_FAILURE;

  npy_array x = {0}, k = {0}, b = {0}, dy = {0};
  conv1dt_layer *layer = NULL;
  void *y = NULL, *pre = NULL, *dx = NULL, *dk = NULL, *db = NULL;
  rc = EXIT_FAILURE;
  if (!load_array("input", values[OPT_INPUT], &x) ||
      !load_array("kernel", values[OPT_KERNEL], &k) ||
      (values[OPT_BIAS] && !load_array("bias", values[OPT_BIAS], &b)) ||
      !load_array("grad-output", grads[GRAD_OUT_DY], &dy))
    goto done;
  if (!check_arrays(&x, &k, values[OPT_BIAS] ? &b : NULL, cfg.data_format)) goto done;
  if (dy.dtype != x.dtype) {
    error("--grad-output is %s but --input is %s; all arrays must have the same dtype",
          dtype_name(dy.dtype), dtype_name(x.dtype));
    goto done;
  }

  cfg.kernel_size = k.shape[0];
  cfg.filters = k.shape[1];
  const conv1dt_dtype dtype = x.dtype == NPY_FLOAT32 ? CONV1DT_FLOAT32 : CONV1DT_FLOAT64;
  conv1dt_status st = conv1dt_create(&cfg, k.shape[2], dtype, &layer);
  if (st != CONV1DT_OK) {
    lib_error("cannot create the layer", st);
    goto done;
  }
  if ((st = conv1dt_set_weights(layer, k.data, values[OPT_BIAS] ? b.data : NULL)) != CONV1DT_OK) {
    lib_error("cannot set the weights", st);
    goto done;
  }
  const int64_t batch = x.shape[0];
  const int64_t steps = x.shape[cfg.data_format == CONV1DT_CHANNELS_LAST ? 1 : 2];
  int64_t yshape[3], zshape[3];
  if ((st = conv1dt_output_shape(layer, batch, steps, yshape)) != CONV1DT_OK ||
      (st = conv1dt_preactivation_shape(layer, batch, steps, zshape)) != CONV1DT_OK) {
    lib_error("invalid input", st);
    goto done;
  }
  if (dy.ndim != 3 || dy.shape[0] != yshape[0] || dy.shape[1] != yshape[1] ||
      dy.shape[2] != yshape[2]) {
    char got[256], want[256];
    format_shape(got, sizeof got, dy.ndim, dy.shape);
    format_shape(want, sizeof want, 3, yshape);
    error("--grad-output has shape %s; expected %s, the layer's output for this input", got, want);
    goto done;
  }
  /* The library checked these products fit; the byte counts fit size_t as the inputs did, and
   * the pre-activation is at most twice the output (glu). */
  const size_t item = (size_t)x.dtype;
  const size_t nz = (size_t)(zshape[0] * zshape[1] * zshape[2]);
  if (nz > SIZE_MAX / item) {
    error("the layer's output is too large for this machine");
    goto done;
  }
  y = malloc(dy.nbytes ? dy.nbytes : 1);
  pre = malloc(nz ? nz * item : 1);
  dx = grads[GRAD_OUT_DX] ? malloc(x.nbytes ? x.nbytes : 1) : NULL;
  dk = grads[GRAD_OUT_DK] ? malloc(k.nbytes) : NULL;
  db = grads[GRAD_OUT_DB] ? malloc(b.nbytes) : NULL;
  if (!y || !pre || (grads[GRAD_OUT_DX] && !dx) || (grads[GRAD_OUT_DK] && !dk) ||
      (grads[GRAD_OUT_DB] && !db)) {
    error("out of memory for the gradients");
    goto done;
  }
  if ((st = conv1dt_forward_train(layer, x.data, batch, steps, y, pre, NULL, 0)) != CONV1DT_OK) {
    lib_error("forward pass failed", st);
    goto done;
  }
  if ((st = conv1dt_backward(layer, x.data, batch, steps, pre, dy.data, dx, dk, db, NULL, 0)) !=
      CONV1DT_OK) {
    lib_error("backward pass failed", st);
    goto done;
  }
  grad_file files[3];
  int nfiles = 0;
  if (dx)
    files[nfiles++] = (grad_file){
        "grad-input", grads[GRAD_OUT_DX], 3, {x.shape[0], x.shape[1], x.shape[2]}, dx, NULL};
  if (dk)
    files[nfiles++] = (grad_file){
        "grad-kernel", grads[GRAD_OUT_DK], 3, {k.shape[0], k.shape[1], k.shape[2]}, dk, NULL};
  if (db)
    files[nfiles++] = (grad_file){"grad-bias", grads[GRAD_OUT_DB], 1, {b.shape[0], 0, 0}, db, NULL};
  if (!save_grad_files(files, nfiles, x.dtype)) goto done;
  rc = EXIT_SUCCESS;
done:
  free(y);
  free(pre);
  free(dx);
  free(dk);
  free(db);
  conv1dt_destroy(layer);
  npy_free(&x);
  npy_free(&k);
  npy_free(&b);
  npy_free(&dy);
  return rc;
}

/* ---------------------------------------------------------------------------------------------
 * init: a layer's initial weights, drawn by Keras's initializers, as .npy files
 */

static const char INIT_USAGE[] =
    "usage: conv1dt init --in-channels C --filters F --kernel-size K --kernel-output K.npy\n"
    "                    [--bias-output B.npy] [--no-bias] [--kernel-initializer NAME]\n"
    "                    [--bias-initializer NAME] [--seed N] [--dtype float32|float64]\n"
    "\n"
    "Writes the weights Keras 3's Conv1DTranspose(F, K) starts with for C input channels,\n"
    "drawn as Keras's initializers draw them, from Philox-4x32-10: the same seed gives the same\n"
    "numbers on every machine (Keras's own generator differs, its distributions do not).\n"
    "\n"
    "  --in-channels C            input channels (> 0)\n"
    "  --filters F                filters (> 0)\n"
    "  --kernel-size K            kernel size (>= 1)\n"
    "  --kernel-output K.npy      the kernel (K, F, C), Keras's layout\n"
    "  --bias-output B.npy        the bias (F,); without it the bias is not written\n"
    "  --no-bias                  use_bias=False: no bias (then no --bias-output)\n"
    "  --kernel-initializer NAME  default glorot_uniform; a Keras name with Keras's default\n"
    "                             arguments: zeros, ones, constant, random_uniform,\n"
    "                             random_normal, truncated_normal, variance_scaling,\n"
    "                             glorot_uniform, glorot_normal, he_uniform, he_normal,\n"
    "                             lecun_uniform, lecun_normal, orthogonal, or a class name\n"
    "                             (GlorotUniform, HeNormal, ...); case-sensitive as in Keras\n"
    "  --bias-initializer NAME    the same for the bias, default zeros\n"
    "  --seed N                   0 .. 18446744073709551615, default 0; the kernel and the bias\n"
    "                             draw from separate streams of it\n"
    "  --dtype T                  float32 (default, Keras's floatx) or float64\n"
    "\n"
    "Files are written atomically and only when everything succeeded. Options also take the\n"
    "form --name=value. Exit status: 0 success, 1 failure, 2 usage error.\n";

enum {
  INIT_IN_CHANNELS,
  INIT_FILTERS,
  INIT_KERNEL_SIZE,
  INIT_KERNEL_OUTPUT,
  INIT_BIAS_OUTPUT,
  INIT_KERNEL_INITIALIZER,
  INIT_BIAS_INITIALIZER,
  INIT_SEED,
  INIT_DTYPE,
  INIT_NO_BIAS, /* the only flag without a value */
  INIT_COUNT
};

static const char *const INIT_NAMES[INIT_COUNT] = {
    "in-channels",        "filters",          "kernel-size", "kernel-output", "bias-output",
    "kernel-initializer", "bias-initializer", "seed",        "dtype",         "no-bias"};

/* Parses `init`'s arguments into values[] ("" marks --no-bias). 0 to go on, -1 after --help,
 * or an exit status. */
static int parse_init_args(int argc, char **argv, const char *values[INIT_COUNT]) {
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      fputs(INIT_USAGE, stdout);
      return -1;
    }
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
      error("unexpected argument '%s' (see 'conv1dt init --help')", arg);
      return EXIT_USAGE;
    }
    const char *name = arg + 2, *eq = strchr(name, '=');
    const size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    int opt = -1;
    for (int k = 0; k < INIT_COUNT; k++)
      if (strlen(INIT_NAMES[k]) == nlen && strncmp(INIT_NAMES[k], name, nlen) == 0) opt = k;
    if (opt < 0) {
      error("unknown option '--%.*s' (see 'conv1dt init --help')", (int)nlen, name);
      return EXIT_USAGE;
    }
    const char *value = "";
    if (opt == INIT_NO_BIAS) {
      if (eq) {
        error("option --no-bias takes no value");
        return EXIT_USAGE;
      }
    } else if (eq) {
      value = eq + 1;
    } else {
      if (i + 1 >= argc || (strncmp(argv[i + 1], "--", 2) == 0 && argv[i + 1][2] != '\0')) {
        error("option --%s needs a value", INIT_NAMES[opt]);
        return EXIT_USAGE;
      }
      value = argv[++i];
    }
    if (opt != INIT_NO_BIAS && *value == '\0') {
      error("option --%s needs a non-empty value", INIT_NAMES[opt]);
      return EXIT_USAGE;
    }
    if (values[opt]) {
      error("option --%s given more than once", INIT_NAMES[opt]);
      return EXIT_USAGE;
    }
    values[opt] = value;
  }
  static const int required[] = {INIT_IN_CHANNELS, INIT_FILTERS, INIT_KERNEL_SIZE,
                                 INIT_KERNEL_OUTPUT};
  for (size_t k = 0; k < sizeof required / sizeof required[0]; k++)
    if (!values[required[k]]) {
      error("missing required option --%s (see 'conv1dt init --help')", INIT_NAMES[required[k]]);
      return EXIT_USAGE;
    }
  if (values[INIT_NO_BIAS] && values[INIT_BIAS_OUTPUT]) {
    error("--bias-output cannot be combined with --no-bias (the layer has no bias)");
    return EXIT_USAGE;
  }
  if (values[INIT_BIAS_OUTPUT] &&
      strcmp(values[INIT_BIAS_OUTPUT], values[INIT_KERNEL_OUTPUT]) == 0) {
    error("--kernel-output and --bias-output are the same file '%s'", values[INIT_KERNEL_OUTPUT]);
    return EXIT_USAGE;
  }
  return 0;
}

/* Strict unsigned decimal within uint64_t. */
static bool parse_seed(const char *text, uint64_t *out) {
  uint64_t v = 0;
  for (const char *p = text; *p; p++) {
    const unsigned d = (unsigned)(*p - '0');
    if (d > 9) {
      error("--seed expects a non-negative integer, got '%s'", text);
      return false;
    }
    if (v > (UINT64_MAX - d) / 10) {
      error("--seed: '%s' is out of range (0 .. %" PRIu64 ")", text, UINT64_MAX);
      return false;
    }
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

static bool parse_initializer(const char *flag, const char *name, conv1dt_initializer *out) {
  conv1dt_status st = conv1dt_initializer_from_name(name, out);
  if (st == CONV1DT_OK) return true;
  char what[64];
  snprintf(what, sizeof what, "invalid --%s", flag);
  lib_error(what, st);
  return false;
}

static int cmd_init(int argc, char **argv) {
  const char *values[INIT_COUNT] = {0};
  int rc = parse_init_args(argc, argv, values);
  if (rc != 0) return rc < 0 ? EXIT_SUCCESS : rc;

  int64_t in_channels, filters, kernel_size;
  if (!parse_count("in-channels", values[INIT_IN_CHANNELS], &in_channels) ||
      !parse_count("filters", values[INIT_FILTERS], &filters) ||
      !parse_count("kernel-size", values[INIT_KERNEL_SIZE], &kernel_size))
    return EXIT_USAGE;
  conv1dt_config cfg = conv1dt_config_default(filters, kernel_size);
  cfg.use_bias = values[INIT_NO_BIAS] == NULL;
  if (values[INIT_SEED] && !parse_seed(values[INIT_SEED], &cfg.seed)) return EXIT_USAGE;
  if (values[INIT_KERNEL_INITIALIZER] &&
      !parse_initializer("kernel-initializer", values[INIT_KERNEL_INITIALIZER],
                         &cfg.kernel_initializer))
    return EXIT_USAGE;
  if (values[INIT_BIAS_INITIALIZER] &&
      !parse_initializer("bias-initializer", values[INIT_BIAS_INITIALIZER], &cfg.bias_initializer))
    return EXIT_USAGE;
  conv1dt_dtype dtype = CONV1DT_FLOAT32;
  const char *dt = values[INIT_DTYPE];
  if (dt && strcmp(dt, "float64") == 0)
    dtype = CONV1DT_FLOAT64;
  else if (dt && strcmp(dt, "float32") != 0) {
    error("--dtype must be float32 or float64, got '%s'", dt);
    return EXIT_USAGE;
  }
  if (!check_grad_path("kernel-output", values[INIT_KERNEL_OUTPUT]) ||
      (values[INIT_BIAS_OUTPUT] && !check_grad_path("bias-output", values[INIT_BIAS_OUTPUT])))
    return EXIT_FAILURE;

  /* The library validates the whole configuration (Keras's errors, e.g. identity on the
   * rank-3 kernel) and draws the weights. */
  conv1dt_layer *layer = NULL;
  conv1dt_status st = conv1dt_create(&cfg, in_channels, dtype, &layer);
  if (st != CONV1DT_OK) {
    lib_error("invalid layer configuration", st);
    return st == CONV1DT_ERROR_INVALID_VALUE || st == CONV1DT_ERROR_UNKNOWN_NAME ? EXIT_USAGE
                                                                                 : EXIT_FAILURE;
  }
  const size_t item = dtype == CONV1DT_FLOAT32 ? 4 : 8;
  /* conv1dt_create checked that the kernel's byte count fits size_t. */
  void *kernel = malloc((size_t)(kernel_size * filters * in_channels) * item);
  void *bias = malloc((size_t)filters * item);
  rc = EXIT_FAILURE;
  if (!kernel || !bias) {
    error("out of memory for the weights");
  } else if ((st = conv1dt_get_weights(layer, kernel, bias)) != CONV1DT_OK) {
    lib_error("cannot read the weights", st);
  } else {
    grad_file files[2] = {
        {"kernel-output",
         values[INIT_KERNEL_OUTPUT],
         3,
         {kernel_size, filters, in_channels},
         kernel,
         NULL},
        {"bias-output", values[INIT_BIAS_OUTPUT], 1, {filters, 0, 0}, bias, NULL}};
    if (save_grad_files(files, values[INIT_BIAS_OUTPUT] ? 2 : 1, (npy_dtype)item))
      rc = EXIT_SUCCESS;
  }
  free(kernel);
  free(bias);
  conv1dt_destroy(layer);
  return rc;
}

/* ---------------------------------------------------------------------------------------------
 * The example and info
 */

/* SplitMix64 (Steele, Lea, Flood 2014): tiny, well mixed, and the same on every platform, so
 * the example's input is identical everywhere. */
static uint64_t splitmix64(uint64_t *state) {
  uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

#define DEMO_SEED UINT64_C(0x5EED)

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static bool print_blas(void) {
  char buf[1024];
  int threads = 0;
  conv1dt_status st = conv1dt_blas_info(buf, sizeof buf, &threads);
  if (st != CONV1DT_OK) {
    lib_error("cannot describe the BLAS", st);
    return false;
  }
  printf("BLAS: %s\n", buf);
  if (threads > 0)
    printf("BLAS threads: %d\n", threads);
  else
    printf("BLAS threads: unknown\n");
  return true;
}

/* Keras's example: x = np.random.rand(4, 10, 128);
 * y = keras.layers.Conv1DTranspose(32, 3, 2, activation="relu")(x)  ->  (4, 21, 32). */
static int cmd_demo(void) {
  enum { B = 4, L = 10, C = 128, F = 32, K = 3, S = 2 };
  static float x[B * L * C];
  uint64_t state = DEMO_SEED;
  /* Uniform [0, 1) like np.random.rand: the top 24 bits make every float32 value exact. */
  for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
    x[i] = (float)(splitmix64(&state) >> 40) * 0x1.0p-24f;

  conv1dt_config cfg = conv1dt_config_default(F, K);
  cfg.strides = S;
  cfg.activation = "relu";
  conv1dt_layer *layer = NULL;
  conv1dt_status st = conv1dt_create(&cfg, C, CONV1DT_FLOAT32, &layer);
  if (st != CONV1DT_OK) {
    lib_error("cannot create the layer", st);
    return EXIT_FAILURE;
  }
  int64_t shape[3];
  if ((st = conv1dt_output_shape(layer, B, L, shape)) != CONV1DT_OK) {
    lib_error("cannot compute the output shape", st);
    conv1dt_destroy(layer);
    return EXIT_FAILURE;
  }
  size_t count = (size_t)(shape[0] * shape[1] * shape[2]);
  float *y = malloc(count * sizeof *y);
  if (!y) {
    error("out of memory");
    conv1dt_destroy(layer);
    return EXIT_FAILURE;
  }
  double t0 = now_seconds();
  st = conv1dt_forward(layer, x, B, L, y, NULL, 0);
  double elapsed = now_seconds() - t0;
  conv1dt_destroy(layer);
  if (st != CONV1DT_OK) {
    lib_error("forward pass failed", st);
    free(y);
    return EXIT_FAILURE;
  }
  double mn = count ? y[0] : 0.0, mx = mn, sum = 0.0;
  size_t zeros = 0;
  for (size_t i = 0; i < count; i++) {
    if (y[i] < mn) mn = y[i];
    if (y[i] > mx) mx = y[i];
    sum += y[i];
    zeros += y[i] == 0.0f;
  }
  free(y);
  printf("conv1dt %s: Keras Conv1DTranspose(%d, %d, strides=%d, activation=\"relu\"), "
         "default weights (glorot_uniform, seed 0; zero bias)\n",
         conv1dt_version_string(), F, K, S);
  printf("input shape: (%d, %d, %d) float32, uniform [0, 1) from SplitMix64 seed 0x%" PRIX64 "\n",
         B, L, C, DEMO_SEED);
  printf("output shape: (%" PRId64 ", %" PRId64 ", %" PRId64 ") float32\n", shape[0], shape[1],
         shape[2]);
  printf("min %.6g  max %.6g  mean %.6g  zeros %.2f%%\n", mn, mx, count ? sum / (double)count : 0.0,
         count ? 100.0 * (double)zeros / (double)count : 0.0);
  printf("forward pass: %.3f ms\n", elapsed * 1e3);
  return EXIT_SUCCESS;
}

static int cmd_info(void) {
  printf("conv1dt %s (version number %d)\n", conv1dt_version_string(), conv1dt_version_number());
  if (!print_blas()) return EXIT_FAILURE;
  printf("dtypes: float32, float64\n");
  return EXIT_SUCCESS;
}

/* ---------------------------------------------------------------------------------------------
 */

static int dispatch(int argc, char **argv) {
  if (argc < 2) return cmd_demo();
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    if (argc == 3 && strcmp(cmd, "help") == 0 && strcmp(argv[2], "run") == 0) {
      fputs(RUN_USAGE, stdout);
      return EXIT_SUCCESS;
    }
    if (argc == 3 && strcmp(cmd, "help") == 0 && strcmp(argv[2], "grad") == 0) {
      fputs(GRAD_USAGE, stdout);
      return EXIT_SUCCESS;
    }
    if (argc == 3 && strcmp(cmd, "help") == 0 && strcmp(argv[2], "init") == 0) {
      fputs(INIT_USAGE, stdout);
      return EXIT_SUCCESS;
    }
    if (argc > 2 && strcmp(cmd, "help") == 0) {
      error("unknown help topic '%s' (try 'conv1dt help run', 'help grad' or 'help init')",
            argv[2]);
      return EXIT_USAGE;
    }
    fputs(USAGE, stdout);
    return EXIT_SUCCESS;
  }
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
    printf("conv1dt %s\n", conv1dt_version_string());
    return EXIT_SUCCESS;
  }
  if (strcmp(cmd, "run") == 0) return cmd_run(argc - 2, argv + 2);
  if (strcmp(cmd, "grad") == 0) return cmd_grad(argc - 2, argv + 2);
  if (strcmp(cmd, "init") == 0) return cmd_init(argc - 2, argv + 2);
  if (strcmp(cmd, "info") == 0 || strcmp(cmd, "demo") == 0) {
    if (argc > 2) {
      error("'%s' takes no arguments", cmd);
      return EXIT_USAGE;
    }
    return cmd[0] == 'i' ? cmd_info() : cmd_demo();
  }
  if (cmd[0] == '-')
    error("unknown option '%s' (see 'conv1dt --help')", cmd);
  else
    error("unknown command '%s' (see 'conv1dt --help')", cmd);
  return EXIT_USAGE;
}

int main(int argc, char **argv) {
  int rc = dispatch(argc, argv);
  /* A full disk or closed pipe on stdout is a failure too, not a silent truncation. */
  if (fflush(stdout) != 0 || ferror(stdout)) {
    error("cannot write to standard output: %s", strerror(errno));
    if (rc == EXIT_SUCCESS) rc = EXIT_FAILURE;
  }
  return rc;
}
