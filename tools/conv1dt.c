/*
 * conv1dt — command-line front end of the library: argument parsing and .npy I/O only; every
 * number is computed by libconv1dt.
 *
 *   conv1dt                 the seed example with statistics and timing
 *   conv1dt run ...         one forward pass over .npy files
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
    "       conv1dt info            show the version, the BLAS in use and its threads\n"
    "       conv1dt help [run]      show this help (also --help, -h)\n"
    "       conv1dt --version       show the version\n"
    "\n"
    "Keras 3 Conv1DTranspose forward pass on CBLAS. See 'conv1dt run --help'.\n"
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
    if (argc > 2 && strcmp(cmd, "help") == 0) {
      error("unknown help topic '%s' (try 'conv1dt help run')", argv[2]);
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
