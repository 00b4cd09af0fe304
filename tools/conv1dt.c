/*
 * conv1dt — command-line front end of the library: argument parsing and .npy I/O only; every
 * number is computed by libconv1dt.
 *
 *   conv1dt                 the seed example with statistics and timing
 *   conv1dt run ...         one forward pass over .npy files
 *   conv1dt grad ...        gradients (backward pass) over .npy files
 *   conv1dt init ...        a layer's initial weights (Keras's initializers) as .npy files
 *   conv1dt save ...        a layer as a Keras 3 .keras file
 *   conv1dt inspect FILE    the Conv1DTranspose layers of a Keras file
 *   conv1dt info            version, BLAS, threads
 *   conv1dt selftest        forward and backward through this BLAS and CPU vs a naive loop
 *   conv1dt --help | help | --version
 *
 * Exit status: 0 success, 1 failure (files, shapes, library), 2 usage error, 3 some inputs of a
 * `run --input-list` job failed. On any failure, and when SIGINT, SIGTERM or SIGHUP ends the
 * program, the output file is not created (cli_io.c's stages publish complete files only).
 *
 * This file holds the subcommands; cli_args.c parses their command lines, cli_io.c reads and
 * writes their files, cli_error.c prints their messages.
 */
#define _POSIX_C_SOURCE 200809L

#include "conv1dt.h"
#include "cli_args.h"
#include "cli_chunked.h"
#include "cli_error.h"
#include "cli_io.h"
#include "cli_progress.h"
#include "cli_ranks.h"
#include "cli_shared.h"
#include "cli_split.h"
#include "npy.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char USAGE[] =
    "usage: conv1dt                 run the built-in example (Keras's Conv1DTranspose seed)\n"
    "       conv1dt run --input X.npy --kernel K.npy [--bias B.npy] --output Y.npy [options]\n"
    "       conv1dt grad --input X.npy --kernel K.npy [--bias B.npy] --grad-output DY.npy\n"
    "                    [--grad-input DX.npy] [--grad-kernel DK.npy] [--grad-bias DB.npy]\n"
    "                    [options]  gradients of a loss through the layer (backward pass)\n"
    "       conv1dt init --in-channels C --filters F --kernel-size K --kernel-output K.npy\n"
    "                    [--bias-output B.npy] [options]  initial weights (Keras initializers)\n"
    "       conv1dt save ... --output M.keras  the layer as a Keras 3 .keras file\n"
    "       conv1dt inspect FILE    list the Conv1DTranspose layers of a Keras file\n"
    "       conv1dt info            show the version, the BLAS in use and its threads\n"
    "       conv1dt selftest        check the BLAS and the direct kernel on this machine\n"
    "       conv1dt help [run|grad|init]  show this help (also --help, -h)\n"
    "       conv1dt --version       show the version\n"
    "Any command takes --threads N: the threads of both the BLAS and conv1dt's own team.\n"
    "\n"
    "Keras 3 Conv1DTranspose forward and backward passes on CBLAS. See 'conv1dt run --help'\n"
    "and 'conv1dt grad --help'.\n"
    "Exit status: 0 success, 1 failure, 2 usage error, 3 some inputs of a 'run --input-list'\n"
    "job failed (the others are written).\n";

static const char RUN_USAGE[] =
    "usage: conv1dt run --input X.npy --kernel K.npy [--bias B.npy] --output Y.npy [options]\n"
    "       conv1dt run --input-list FILE --output-dir DIR --kernel K.npy ... [options]\n"
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
    "  --input-list FILE       instead of --input: many inputs, one path a line (blank lines\n"
    "                          and lines starting with # are skipped), run one after another\n"
    "  --output-dir DIR        with --input-list: each output is DIR/<its input's file name>;\n"
    "                          a failing input is reported and the others still run\n"
    "  --skip-existing         skip inputs whose output exists (a rerun resumes a killed job)\n"
    "  --progress              show a progress line on stderr (default: when stderr is a\n"
    "  --no-progress           terminal); never anything on stdout\n"
    "  --strides S             default 1\n"
    "  --padding P             valid (default) or same, case-insensitive\n"
    "  --output-padding P      an integer below the strides, or none (default)\n"
    "  --data-format F         channels_last (default) or channels_first\n"
    "  --dilation-rate D       default 1; > 1 only with strides 1\n"
    "  --activation NAME       a Keras activation name (relu, gelu, softmax, glu, ...);\n"
    "                          default none (linear)\n"
    "  --algorithm A           how to compute: auto (default), gemm, direct or\n"
    "                          gemm_accumulate; the same values up to rounding\n"
    "  --memory-limit BYTES    stay within BYTES (suffix K, M or G: 512M) for buffers, workspace\n"
    "                          and the layer, reading and writing the arrays in blocks of\n"
    "                          samples (a sample too long for BYTES: along its steps);\n"
    "                          default half the memory (taken when the input and output\n"
    "                          would not fit it). The same numbers as in memory\n"
    "\n"
    "The layer as Keras saved it, instead of --kernel, --bias and the layer options above\n"
    "(which are then a usage error; --algorithm stays):\n"
    "  --keras-model FILE      a Keras 3 .keras archive or a Keras 2 whole-model .h5 file\n"
    "  --keras-config FILE     a Keras JSON config (a model's config.json / to_json(), or a\n"
    "                          layer's get_config()), with\n"
    "  --keras-weights FILE    its weights: Keras 3 .weights.h5 or Keras 2 HDF5\n"
    "  --layer NAME            the Conv1DTranspose layer's name; may be left out when the file\n"
    "                          holds only one ('conv1dt inspect FILE' lists them)\n"
    "The input then has the layer's dtype; formats are told apart by their bytes.\n"
    "\n"
    "A job ended by SIGINT, SIGTERM or SIGHUP (SIGKILL too where the file system has O_TMPFILE)\n"
    "leaves only complete outputs. Options also take the form --name=value. Exit status:\n"
    "0 success, 1 failure, 2 usage error, 3 some inputs of --input-list failed (the others are\n"
    "written).\n";

static bool open_npy_layer(const char *const *values, conv1dt_config *cfg, conv1dt_layer **out);

/* ---------------------------------------------------------------------------------------------
 * What run and grad share: the layer read from --input, --kernel and --bias
 */

typedef struct {
  npy_array x, k, b, dy;  /* dy: grad's --grad-output; k, b: only with --kernel / --bias */
  bool input_header_only; /* x: the header alone (run reads the data later or in blocks) */
  conv1dt_layer *layer;
  conv1dt_config cfg; /* the layer's, as the library reports it */
  int64_t in_channels, batch, steps;
} layer_files;

/* A copy of `layer` whose configuration names `algorithm` (its weights too). */
static bool copy_layer(const conv1dt_layer *layer, conv1dt_algorithm algorithm,
                       conv1dt_layer **out) {
  conv1dt_config cfg;
  int64_t c;
  conv1dt_dtype dtype;
  conv1dt_get_config(layer, &cfg, &c, &dtype);
  cfg.algorithm = algorithm;
  /* conv1dt_create checked these products when it made `layer`. */
  const size_t item = dtype == CONV1DT_FLOAT32 ? 4 : 8;
  void *k = malloc((size_t)(cfg.kernel_size * cfg.filters * c) * item);
  void *b = malloc((size_t)cfg.filters * item);
  conv1dt_layer *copy = NULL;
  conv1dt_status st = CONV1DT_OK;
  if (!k || !b) {
    st = CONV1DT_ERROR_OUT_OF_MEMORY;
    cli_error("out of memory for the weights");
  } else if ((st = conv1dt_get_weights(layer, k, b)) != CONV1DT_OK ||
             (st = conv1dt_create(&cfg, c, dtype, &copy)) != CONV1DT_OK ||
             (st = conv1dt_set_weights(copy, k, cfg.use_bias ? b : NULL)) != CONV1DT_OK) {
    cli_lib_error("cannot create the layer", st);
  }
  free(k);
  free(b);
  if (st != CONV1DT_OK) {
    conv1dt_destroy(copy);
    return false;
  }
  *out = copy;
  return true;
}

/* The layer of a Keras file (--keras-model, or --keras-config with --keras-weights, and
 * --layer); --algorithm, the one flag allowed beside them, is applied by building the layer
 * again from the loaded one's configuration and weights. */
static bool open_keras_layer(const char *const *values, conv1dt_algorithm algorithm,
                             conv1dt_layer **out) {
  conv1dt_layer *loaded = NULL;
  conv1dt_status st =
      values[LAYER_KERAS_MODEL]
          ? conv1dt_create_from_keras(values[LAYER_KERAS_MODEL], values[LAYER_LAYER], &loaded)
          : conv1dt_create_from_keras_files(values[LAYER_KERAS_CONFIG], values[LAYER_KERAS_WEIGHTS],
                                            values[LAYER_LAYER], &loaded);
  if (st != CONV1DT_OK) {
    cli_lib_error("cannot load the Keras layer", st);
    return false;
  }
  if (algorithm == CONV1DT_ALGORITHM_AUTO) {
    *out = loaded;
    return true;
  }
  const bool ok = copy_layer(loaded, algorithm, out);
  conv1dt_destroy(loaded);
  return ok;
}

/* --input against a layer made without it (from Keras files, or an --input-list job's): rank 3,
 * its dtype, its channels. what: "the Keras layer", "the layer". */
static bool check_input(const npy_array *x, const layer_files *in, conv1dt_dtype dtype,
                        const char *what) {
  const conv1dt_data_format fmt = in->cfg.data_format;
  char s[1024];
  cli_format_shape(s, sizeof s, x->ndim, x->shape);
  if (x->ndim != 3) {
    cli_error("--input has shape %s (rank %d); expected rank 3: %s", s, x->ndim,
              fmt == CONV1DT_CHANNELS_LAST ? "(batch, steps, channels)"
                                           : "(batch, channels, steps)");
    return false;
  }
  const npy_dtype want = dtype == CONV1DT_FLOAT32 ? NPY_FLOAT32 : NPY_FLOAT64;
  if (x->dtype != want) {
    cli_error("--input is %s but %s is %s; give the input in the layer's dtype",
              cli_dtype_name(x->dtype), what, cli_dtype_name(want));
    return false;
  }
  const int axis = fmt == CONV1DT_CHANNELS_LAST ? 2 : 1;
  if (x->shape[axis] != in->in_channels) {
    cli_error("--input has shape %s: %" PRId64 " channels (axis %d, %s) but %s expects %" PRId64, s,
              x->shape[axis], axis,
              fmt == CONV1DT_CHANNELS_LAST ? "channels_last" : "channels_first", what,
              in->in_channels);
    return false;
  }
  return true;
}

static bool load_input(const char *path, layer_files *in) {
  return in->input_header_only ? cli_load_header("input", path, &in->x)
                               : cli_load("input", path, &in->x);
}

/* Reads the layer's arrays (and dy_path as --grad-output unless it is NULL), checks them against
 * each other, and creates the layer: from the kernel's shape and the files' weights, or from the
 * Keras files. Returns false after printing the problem; close_layer_files frees what was made
 * either way. */
static bool open_layer_files(const char *const *values, const char *dy_path, conv1dt_config *cfg,
                             layer_files *in) {
  conv1dt_dtype dtype;
  if (cli_layer_from_keras(values)) {
    if (!open_keras_layer(values, cfg->algorithm, &in->layer)) return false;
    conv1dt_get_config(in->layer, &in->cfg, &in->in_channels, &dtype);
    if (!load_input(values[LAYER_INPUT], in) ||
        !check_input(&in->x, in, dtype, "the Keras layer") ||
        (dy_path && !cli_load("grad-output", dy_path, &in->dy)))
      return false;
  } else {
    const bool bias = values[LAYER_BIAS] != NULL;
    if (!load_input(values[LAYER_INPUT], in) || !cli_load("kernel", values[LAYER_KERNEL], &in->k) ||
        (bias && !cli_load("bias", values[LAYER_BIAS], &in->b)) ||
        (dy_path && !cli_load("grad-output", dy_path, &in->dy)))
      return false;
    if (!cli_check_layer_arrays(&in->x, &in->k, bias ? &in->b : NULL, cfg->data_format))
      return false;
    cfg->kernel_size = in->k.shape[0];
    cfg->filters = in->k.shape[1];
    dtype = in->x.dtype == NPY_FLOAT32 ? CONV1DT_FLOAT32 : CONV1DT_FLOAT64;
    conv1dt_status st = conv1dt_create(cfg, in->k.shape[2], dtype, &in->layer);
    if (st != CONV1DT_OK) {
      cli_lib_error("cannot create the layer", st);
      return false;
    }
    if ((st = conv1dt_set_weights(in->layer, in->k.data, bias ? in->b.data : NULL)) != CONV1DT_OK) {
      cli_lib_error("cannot set the weights", st);
      return false;
    }
    conv1dt_get_config(in->layer, &in->cfg, &in->in_channels, &dtype);
  }
  if (dy_path && in->dy.dtype != in->x.dtype) {
    cli_error("--grad-output is %s but --input is %s; all arrays must have the same dtype",
              cli_dtype_name(in->dy.dtype), cli_dtype_name(in->x.dtype));
    return false;
  }
  in->batch = in->x.shape[0];
  in->steps = in->x.shape[in->cfg.data_format == CONV1DT_CHANNELS_LAST ? 1 : 2];
  return true;
}

static void close_layer_files(layer_files *in) {
  conv1dt_destroy(in->layer);
  in->layer = NULL;
  npy_free(&in->x);
  npy_free(&in->k);
  npy_free(&in->b);
  npy_free(&in->dy);
}

/* ---------------------------------------------------------------------------------------------
 * run
 */

enum {
  RUN_OUTPUT = LAYER_COUNT,
  RUN_INPUT_LIST,
  RUN_OUTPUT_DIR,
  RUN_SKIP_EXISTING,
  RUN_PROGRESS,
  RUN_NO_PROGRESS,
  RUN_MEMORY_LIMIT,
  RUN_COUNT
};

static const cli_option RUN_OPTIONS[RUN_COUNT] = {
    CLI_LAYER_OPTIONS_WITH(0),
    [RUN_OUTPUT] = {"output", CLI_WRITES},
    [RUN_INPUT_LIST] = {"input-list", 0},
    [RUN_OUTPUT_DIR] = {"output-dir", 0},
    [RUN_SKIP_EXISTING] = {"skip-existing", CLI_SWITCH},
    [RUN_PROGRESS] = {"progress", CLI_SWITCH},
    [RUN_NO_PROGRESS] = {"no-progress", CLI_SWITCH},
    [RUN_MEMORY_LIMIT] = {"memory-limit", 0}};

/* One input (--input, --output) or many (--input-list, --output-dir). */
static bool check_run_args(const char *const *values) {
  const char *const *v = values;
  if (v[LAYER_INPUT] && v[RUN_INPUT_LIST]) {
    cli_error("--input and --input-list exclude each other");
    return false;
  }
  if (!v[LAYER_INPUT] && !v[RUN_INPUT_LIST]) {
    cli_error("missing required option --input (or --input-list with --output-dir)");
    return false;
  }
  if (v[LAYER_INPUT] && v[RUN_OUTPUT_DIR]) {
    cli_error("--output-dir goes with --input-list; give --input an --output");
    return false;
  }
  if (v[LAYER_INPUT] && !v[RUN_OUTPUT]) {
    cli_error("missing required option --output (see 'conv1dt run --help')");
    return false;
  }
  if (v[RUN_INPUT_LIST] && v[RUN_OUTPUT]) {
    cli_error("--output goes with --input; an --input-list job names its outputs after its "
              "inputs in --output-dir");
    return false;
  }
  if (v[RUN_INPUT_LIST] && !v[RUN_OUTPUT_DIR]) {
    cli_error("--input-list needs --output-dir, the folder of its outputs");
    return false;
  }
  if (v[RUN_PROGRESS] && v[RUN_NO_PROGRESS]) {
    cli_error("--progress and --no-progress exclude each other");
    return false;
  }
  return true;
}

static const cli_command RUN = {"run", RUN_USAGE, RUN_OPTIONS, RUN_COUNT, check_run_args};

/* Where a run job stands, for the progress line: file `file` of `files` (0: a single input),
 * after `samples` samples of the files before it, in the file of `batch` samples; and how it
 * computes: within memory_limit (0: the default) when limit_given or when the input and output
 * exceed the default, else in memory. held_bytes: what the caller holds for the layer. split:
 * the one input is shared by the ranks of conv1dt-mpi, this rank's part `part` samples (its
 * progress stands for the job's). */
typedef struct {
  cli_progress bar;
  int64_t file, files, samples, batch, part;
  uint64_t memory_limit, held_bytes;
  bool limit_given, split;
} run_job;

/* Shows `done` samples of the current file's `batch` done (a fraction within a sample run along
 * its steps). */
static void run_progress(run_job *job, double done, int64_t batch) {
  const double f = batch > 0 ? done / (double)batch : 1;
  cli_progress_update(&job->bar, job->files ? ((double)job->file + f) / (double)job->files : f,
                      job->file, job->samples + (int64_t)done, batch, false);
}

/* cli_chunked_job's progress callback: samples done of the part it runs. */
static void chunk_progress(void *ctx, double done) {
  run_job *job = ctx;
  if (job->split) done = job->part > 0 ? done / (double)job->part * (double)job->batch : 0;
  run_progress(job, done, job->batch);
}

/* Slices of at most this many samples' share of the batch, so the line moves by about 1 %. */
enum { RUN_SLICES = 100 };

/* conv1dt_forward over the batch, in slices of samples while the progress line is shown. The
 * forward pass treats samples independently and no result depends on the block size beyond the
 * method's summation order, so the slices give the bits of one call as long as they run the
 * same method: when AUTO would choose another one for a slice's shape, the slices run on a
 * copy of the layer pinned to the whole batch's method. */
static bool run_forward(const conv1dt_layer *layer, const npy_array *x, int64_t steps, void *y,
                        size_t y_sample_bytes, run_job *job) {
  const int64_t batch = x->shape[0];
  const int64_t slice = (batch + RUN_SLICES - 1) / RUN_SLICES;
  conv1dt_status st;
  if (!job->bar.on || batch < 2) {
    if ((st = conv1dt_forward(layer, x->data, batch, steps, y, NULL, 0)) != CONV1DT_OK) {
      cli_lib_error("forward pass failed", st);
      return false;
    }
    return true;
  }
  conv1dt_algorithm whole, part, last = CONV1DT_ALGORITHM_AUTO;
  if ((st = conv1dt_forward_algorithm(layer, batch, steps, 0, &whole)) != CONV1DT_OK ||
      (st = conv1dt_forward_algorithm(layer, slice, steps, 0, &part)) != CONV1DT_OK ||
      (batch % slice &&
       (st = conv1dt_forward_algorithm(layer, batch % slice, steps, 0, &last)) != CONV1DT_OK)) {
    cli_lib_error("invalid input", st);
    return false;
  }
  conv1dt_layer *pinned = NULL;
  if ((part != whole || (batch % slice && last != whole)) && !copy_layer(layer, whole, &pinned))
    return false;
  const conv1dt_layer *use = pinned ? pinned : layer;
  const size_t x_sample_bytes = x->nbytes / (size_t)batch;
  bool ok = true;
  for (int64_t b0 = 0; b0 < batch && ok; b0 += slice) {
    const int64_t n = batch - b0 < slice ? batch - b0 : slice;
    st = conv1dt_forward(use, (const char *)x->data + (size_t)b0 * x_sample_bytes, n, steps,
                         (char *)y + (size_t)b0 * y_sample_bytes, NULL, 0);
    if (st != CONV1DT_OK) {
      cli_lib_error("forward pass failed", st);
      ok = false;
      break;
    }
    run_progress(job, (double)(b0 + n), batch);
    cli_test_hook("slice");
  }
  conv1dt_destroy(pinned);
  return ok;
}

/* The output's (and input's) steps axis: 1 for channels_last, 2 for channels_first. */
static int layer_steps_axis(const conv1dt_layer *layer) {
  conv1dt_config cfg;
  conv1dt_get_config(layer, &cfg, NULL, NULL);
  return cfg.data_format == CONV1DT_CHANNELS_LAST ? 1 : 2;
}

/* A `run --memory-limit` job over the whole input, written into an output of its own. */
static cli_chunked_job whole_job(const conv1dt_layer *layer, const npy_array *x, int64_t steps,
                                 const char *in_path, const char *path, const int64_t *out_shape,
                                 run_job *job) {
  const cli_chunked_job chunked = {.layer = layer,
                                   .input_path = in_path,
                                   .output_path = path,
                                   .dtype = x->dtype,
                                   .batch = x->shape[0],
                                   .steps = steps,
                                   .out_shape = {out_shape[0], out_shape[1], out_shape[2]},
                                   .memory_limit = job->memory_limit,
                                   .held_bytes = job->held_bytes,
                                   .first = 0,
                                   .count = x->shape[0],
                                   .step_first = 0,
                                   .step_count = out_shape[layer_steps_axis(layer)],
                                   .out_fd = -1,
                                   .progress = chunk_progress,
                                   .progress_ctx = job};
  return chunked;
}

/* run_one for conv1dt-mpi's one input (collective): the ranks split the work (cli_split.h),
 * each computes its part through cli_chunked.c (reading its samples, or its output steps'
 * input steps and halo, with pread) into the output rank 0 staged (cli_shared.h), which
 * appears when every rank's part is written. out_shape: NULL when this rank could not compute
 * it (it printed why). The memory limit is per rank (cli_default_memory_limit's default too). */
static bool run_shared(const conv1dt_layer *layer, const npy_array *x, int64_t steps,
                       const char *in_path, const char *path, const int64_t *out_shape,
                       run_job *job) {
  bool ok = out_shape != NULL;
  if (ok && x->data) {
    cli_error("conv1dt-mpi needs --input '%s' to be a regular file: each rank reads its part",
              in_path);
    ok = false;
  }
  if (!cli_ranks_all(ok)) return false;
  const int64_t batch = x->shape[0], out_steps = out_shape[layer_steps_axis(layer)];
  size_t stream_bytes;
  const bool streams = conv1dt_stream_size(layer, 1, &stream_bytes) == CONV1DT_OK;
  cli_share share;
  cli_split(batch, out_steps, cli_chunked_granule(layer, batch, steps), streams, cli_rank(),
            cli_ranks(), &share);
  cli_shared out;
  if (!cli_shared_create(&out, path, x->dtype, out_shape)) return false;
  job->part = share.count; /* the progress callback counts its samples, along the steps too */
  cli_chunked_job chunked = whole_job(layer, x, steps, in_path, path, out_shape, job);
  chunked.first = share.first; /* memory_limit 0: per rank */
  chunked.count = share.count;
  chunked.step_first = share.step_first;
  chunked.step_count = share.step_count;
  chunked.out_fd = out.fd;
  chunked.out_offset = out.data_offset;
  ok = cli_chunked_run(&chunked);
  return cli_shared_finish(&out, ok);
}

/* Runs the layer over the input at in_path, x its header (x->data NULL: its data is read here,
 * whole or in blocks) or the whole array (a pipe, read at once; then x->data is set; it stays
 * x's to free), its batch on axis 0 and `steps` steps, and writes the output at path, staged:
 * it exists complete or not at all. In blocks (cli_chunked.c) when the job's memory limit asks
 * for it. Returns false after printing the problem. */
static bool run_one(const conv1dt_layer *layer, npy_array *x, int64_t steps, const char *in_path,
                    const char *path, run_job *job) {
  const int64_t batch = x->shape[0];
  job->batch = batch;
  int64_t out_shape[3];
  conv1dt_status st = conv1dt_output_shape(layer, batch, steps, out_shape);
  if (st != CONV1DT_OK) cli_lib_error("invalid input", st);
  if (job->split)
    return run_shared(layer, x, steps, in_path, path, st == CONV1DT_OK ? out_shape : NULL, job);
  if (st != CONV1DT_OK) return false;
  /* The library checked the product fits int64_t; size_t and the byte count are ours. */
  uint64_t count = 1;
  for (int i = 0; i < 3; i++) {
    if (out_shape[i] != 0 && count > SIZE_MAX / (uint64_t)out_shape[i])
      count = UINT64_MAX;
    else
      count *= (uint64_t)out_shape[i];
  }
  const size_t item = (size_t)x->dtype;
  if (x->data && job->limit_given) {
    cli_error("--memory-limit needs --input '%s' to be a regular file (it is read in blocks)",
              in_path);
    return false;
  }
  if (!x->data && cli_chunked_wanted(job->limit_given, x->nbytes,
                                     count > UINT64_MAX / item ? UINT64_MAX : count * item)) {
    const cli_chunked_job chunked = whole_job(layer, x, steps, in_path, path, out_shape, job);
    return cli_chunked_run(&chunked);
  }
  if (count > SIZE_MAX / item) {
    cli_error("the output is too large for this machine");
    return false;
  }
  if (!x->data) {
    const npy_array header = *x;
    if (!cli_load("input", in_path, x)) return false;
    if (x->nbytes != header.nbytes || memcmp(x->shape, header.shape, sizeof header.shape)) {
      cli_error("cannot read --input '%s': the file changed while being read", in_path);
      return false;
    }
  }
  const size_t nbytes = (size_t)count * item;
  void *y = malloc(nbytes ? nbytes : 1);
  if (!y) {
    cli_error("out of memory: the output needs %zu bytes", nbytes);
    return false;
  }
  const size_t y_sample_bytes = batch ? nbytes / (size_t)batch : 0;
  const cli_output out = {"output", path, 3, {out_shape[0], out_shape[1], out_shape[2]}, y};
  const bool ok =
      run_forward(layer, x, steps, y, y_sample_bytes, job) && cli_save_output(&out, x->dtype);
  free(y);
  return ok;
}

/* The lines of an --input-list file: blank lines and '#' comments skipped, surrounding blanks
 * trimmed. *text holds them (free it); NULL after printing the problem. */
static char **read_input_list(const char *path, char **text, int64_t *count) {
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    cli_error("cannot read --input-list '%s': %s", path, strerror(errno));
    return NULL;
  }
  size_t cap = 4096, len = 0, got;
  char *buf = malloc(cap);
  while (buf && (got = fread(buf + len, 1, cap - len - 1, fp)) > 0) {
    len += got;
    if (len + 1 == cap) {
      char *grown = realloc(buf, cap *= 2);
      if (!grown) free(buf);
      buf = grown;
    }
  }
  const bool failed = ferror(fp);
  fclose(fp);
  if (!buf || failed) {
    cli_error(buf ? "cannot read --input-list '%s'" : "out of memory reading --input-list '%s'",
              path);
    free(buf);
    return NULL;
  }
  buf[len] = '\0';
  int64_t lines = 1;
  for (size_t i = 0; i < len; i++) lines += buf[i] == '\n';
  char **items = malloc((size_t)lines * sizeof *items);
  if (!items) {
    cli_error("out of memory reading --input-list '%s'", path);
    free(buf);
    return NULL;
  }
  int64_t n = 0;
  for (char *line = buf, *next; line; line = next) {
    char *nl = strchr(line, '\n');
    next = nl ? nl + 1 : NULL;
    if (nl) *nl = '\0';
    while (*line == ' ' || *line == '\t') line++;
    char *end = line + strlen(line);
    while (end > line && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r')) *--end = '\0';
    if (*line && *line != '#') items[n++] = line;
  }
  *text = buf;
  *count = n;
  return items;
}

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* `run --input-list FILE --output-dir DIR`: the layer over every input, each output in DIR
 * under its input's name. Everything that concerns the whole job is checked before any work;
 * a failing input is reported and the others still run. conv1dt-mpi's ranks share the inputs
 * (rank r runs inputs r, r + ranks, ...), each output its rank's alone; every rank checks the
 * job, and all go on only if every one found it good. */
static int run_list(const char *const *values, conv1dt_config *cfg, run_job *job) {
  const char *dir = values[RUN_OUTPUT_DIR];
  const int64_t rank = cli_rank(), ranks = cli_ranks();
  int rc = EXIT_FAILURE;
  bool ready = false;
  char *text = NULL;
  int64_t n = 0;
  char **inputs = NULL, **outputs = NULL;
  layer_files in = {0};
  conv1dt_dtype dtype = CONV1DT_FLOAT32;
  struct stat sb;
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
    cli_error("--output-dir '%s' is not a directory", dir);
    goto agree;
  }
  if (!(inputs = read_input_list(values[RUN_INPUT_LIST], &text, &n))) goto agree;
  if (!(outputs = calloc((size_t)(n ? n : 1), sizeof *outputs))) {
    cli_error("out of memory");
    goto agree;
  }
  if (n == 0) {
    cli_error("--input-list '%s' names no input", values[RUN_INPUT_LIST]);
    goto agree;
  }
  const size_t dirlen = strlen(dir);
  const bool slash = dirlen && dir[dirlen - 1] == '/';
  for (int64_t i = 0; i < n; i++) {
    const char *base = base_name(inputs[i]);
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
      cli_error("--input-list: '%s' names no file", inputs[i]);
      goto agree;
    }
    for (int64_t j = 0; j < i; j++)
      if (strcmp(base, base_name(inputs[j])) == 0) {
        cli_error("--input-list: '%s' and '%s' would both be written to '%s' in --output-dir",
                  inputs[j], inputs[i], base);
        goto agree;
      }
    const size_t size = dirlen + strlen(base) + 2;
    if (!(outputs[i] = malloc(size))) {
      cli_error("out of memory");
      goto agree;
    }
    snprintf(outputs[i], size, "%s%s%s", dir, slash ? "" : "/", base);
    struct stat si, so;
    if (stat(inputs[i], &si) == 0 && stat(outputs[i], &so) == 0 && si.st_dev == so.st_dev &&
        si.st_ino == so.st_ino) {
      cli_error("--input-list: '%s' is its own output in --output-dir; choose another folder",
                inputs[i]);
      goto agree;
    }
  }
  if (cli_layer_from_keras(values) ? !open_keras_layer(values, cfg->algorithm, &in.layer)
                                   : !open_npy_layer(values, cfg, &in.layer))
    goto agree;
  conv1dt_get_config(in.layer, &in.cfg, &in.in_channels, &dtype);
  ready = true;
agree:
  if (!cli_ranks_all(ready)) goto done;
  const char *what = cli_layer_from_keras(values) ? "the Keras layer" : "the layer";

  /* This rank's inputs: n_mine of them, the progress line's files. */
  const int64_t n_mine = (n - rank + ranks - 1) / ranks;
  job->files = n_mine;
  cli_progress_start(&job->bar, job->bar.on, n_mine);
  int64_t failed = 0;
  for (int64_t i = rank, mine = 0; i < n; i += ranks, mine++) {
    job->file = mine;
    if (!values[RUN_SKIP_EXISTING] || access(outputs[i], F_OK) != 0) {
      cli_error_context(inputs[i]);
      npy_array x = {0}; /* the header; run_one reads the data, whole or in blocks */
      bool ok = cli_load_header("input", inputs[i], &x) && check_input(&x, &in, dtype, what);
      if (ok) {
        const int64_t steps = x.shape[in.cfg.data_format == CONV1DT_CHANNELS_LAST ? 1 : 2];
        ok = run_one(in.layer, &x, steps, inputs[i], outputs[i], job);
        if (ok) job->samples += x.shape[0];
      }
      cli_error_context(NULL);
      failed += !ok;
      npy_free(&x);
    }
    cli_progress_update(&job->bar, (double)(mine + 1) / (double)n_mine, mine + 1, job->samples, 0,
                        mine + 1 == n_mine);
    cli_test_hook("file");
  }
  cli_progress_end(&job->bar);
  failed = cli_ranks_sum(failed);
  if (failed) {
    if (rank == 0)
      cli_error("%" PRId64 " of %" PRId64 " inputs failed; the others are written", failed, n);
    rc = CLI_EXIT_SOME_FAILED;
  } else {
    rc = EXIT_SUCCESS;
  }
done:
  for (int64_t i = 0; outputs && i < n; i++) free(outputs[i]);
  free(outputs);
  free(inputs);
  free(text);
  close_layer_files(&in);
  return rc;
}

/* The command line of run, which is the same on every rank of conv1dt-mpi: only rank 0 reports
 * its errors. Returns -1 to go on, else the exit status. */
static int parse_run(int argc, char **argv, const char **values, conv1dt_config *cfg,
                     run_job *job) {
  cli_error_quiet(cli_rank() > 0);
  int rc = cli_parse(&RUN, argc, argv, values);
  if (rc < 0 && !cli_layer_config(values, cfg)) rc = CLI_EXIT_USAGE;
  job->limit_given = rc < 0 && values[RUN_MEMORY_LIMIT] != NULL;
  if (job->limit_given &&
      !cli_parse_size("memory-limit", values[RUN_MEMORY_LIMIT], &job->memory_limit))
    rc = CLI_EXIT_USAGE;
  cli_error_quiet(false);
  return rc;
}

static int cmd_run(int argc, char **argv) {
  const char *values[RUN_COUNT];
  conv1dt_config cfg;
  run_job job = {.split = cli_ranks_mpi()};
  int rc = parse_run(argc, argv, values, &cfg, &job);
  if (rc >= 0) return rc;
  /* One progress line for an MPI job: rank 0's. */
  job.bar.on = cli_rank() == 0 &&
               cli_progress_wanted(values[RUN_PROGRESS] != NULL, values[RUN_NO_PROGRESS] != NULL);
  cli_stage_signals();
  if (values[RUN_INPUT_LIST]) {
    job.split = false; /* the ranks share the inputs, each input is one rank's */
    return run_list(values, &cfg, &job);
  }
  if (!cli_ranks_all(cli_check_outputs(&RUN, values))) return EXIT_FAILURE;
  int skip = values[RUN_SKIP_EXISTING] && access(values[RUN_OUTPUT], F_OK) == 0;
  cli_ranks_bcast(&skip, sizeof skip); /* rank 0 sees the output first or last: its word */
  if (skip) return EXIT_SUCCESS;

  layer_files in = {0};
  rc = EXIT_FAILURE;
  in.input_header_only = true; /* run_one reads the data, whole or in blocks */
  if (cli_ranks_all(open_layer_files(values, NULL, &cfg, &in))) {
    job.held_bytes = in.k.nbytes + in.b.nbytes;
    cli_progress_start(&job.bar, job.bar.on, 0);
    if (run_one(in.layer, &in.x, in.steps, values[LAYER_INPUT], values[RUN_OUTPUT], &job)) {
      cli_progress_update(&job.bar, 1, 0, in.batch, in.batch, true);
      rc = EXIT_SUCCESS;
    }
    cli_progress_end(&job.bar);
  }
  close_layer_files(&in);
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
    "  --strides, --padding, --output-padding, --data-format, --dilation-rate, --activation,\n"
    "  --algorithm             as for 'run' (see 'conv1dt run --help')\n"
    "  --keras-model, --keras-config, --keras-weights, --layer\n"
    "                          the layer from Keras files, as for 'run'\n"
    "\n"
    "At least one --grad-* output is required. The outputs appear together: after any error none\n"
    "of them exists (a file they would have replaced is left as it was).\n"
    "Options also take the form --name=value. Exit status: 0 success, 1 failure, 2 usage error.\n";

/* The layer options of `run` but --output, then the gradient files: --grad-output (dy) is read,
 * the others are written. */
enum { GRAD_DY = LAYER_COUNT, GRAD_DX, GRAD_DK, GRAD_DB, GRAD_COUNT };

static const cli_option GRAD_OPTIONS[GRAD_COUNT] = {
    CLI_LAYER_OPTIONS, [GRAD_DY] = {"grad-output", CLI_REQUIRED},
    [GRAD_DX] = {"grad-input", CLI_WRITES}, [GRAD_DK] = {"grad-kernel", CLI_WRITES},
    [GRAD_DB] = {"grad-bias", CLI_WRITES}};

/* What the option table cannot say about grad's outputs. */
static bool check_grad_args(const char *const *values) {
  if (!values[GRAD_DX] && !values[GRAD_DK] && !values[GRAD_DB]) {
    cli_error("nothing to write: give at least one of --grad-input, --grad-kernel, --grad-bias");
    return false;
  }
  if (values[GRAD_DB] && !values[LAYER_BIAS] && !cli_layer_from_keras(values)) {
    cli_error("--grad-bias needs --bias (without it the layer has no bias)");
    return false;
  }
  for (int a = GRAD_DX; a < GRAD_COUNT; a++)
    for (int b = a + 1; b < GRAD_COUNT; b++)
      if (values[a] && values[b] && strcmp(values[a], values[b]) == 0) {
        cli_error("--%s and --%s name the same file '%s'", GRAD_OPTIONS[a].name,
                  GRAD_OPTIONS[b].name, values[a]);
        return false;
      }
  return true;
}

static const cli_command GRAD = {"grad", GRAD_USAGE, GRAD_OPTIONS, GRAD_COUNT, check_grad_args};

static int cmd_grad(int argc, char **argv) {
  const char *values[GRAD_COUNT];
  int rc = cli_parse(&GRAD, argc, argv, values);
  if (rc >= 0) return rc;
  conv1dt_config cfg; /* filters, kernel_size: from the kernel */
  if (!cli_layer_config(values, &cfg)) return CLI_EXIT_USAGE;
  if (!cli_check_outputs(&GRAD, values)) return EXIT_FAILURE;

  layer_files in = {0};
  void *y = NULL, *pre = NULL, *dx = NULL, *dk = NULL, *db = NULL;
  rc = EXIT_FAILURE;
  if (!open_layer_files(values, values[GRAD_DY], &cfg, &in)) goto done;
  const npy_array *x = &in.x, *dy = &in.dy;
  const int64_t kshape[3] = {in.cfg.kernel_size, in.cfg.filters, in.in_channels};
  if (values[GRAD_DB] && !in.cfg.use_bias) {
    cli_error("--grad-bias: the Keras layer has no bias (use_bias false)");
    goto done;
  }
  int64_t yshape[3], zshape[3];
  conv1dt_status st;
  if ((st = conv1dt_output_shape(in.layer, in.batch, in.steps, yshape)) != CONV1DT_OK ||
      (st = conv1dt_preactivation_shape(in.layer, in.batch, in.steps, zshape)) != CONV1DT_OK) {
    cli_lib_error("invalid input", st);
    goto done;
  }
  if (dy->ndim != 3 || dy->shape[0] != yshape[0] || dy->shape[1] != yshape[1] ||
      dy->shape[2] != yshape[2]) {
    char got[256], want[256];
    cli_format_shape(got, sizeof got, dy->ndim, dy->shape);
    cli_format_shape(want, sizeof want, 3, yshape);
    cli_error("--grad-output has shape %s; expected %s, the layer's output for this input", got,
              want);
    goto done;
  }
  /* The library checked these products fit; the byte counts fit size_t as the inputs did, and
   * the pre-activation is at most twice the output (glu). */
  const size_t item = (size_t)x->dtype;
  const size_t nz = (size_t)(zshape[0] * zshape[1] * zshape[2]);
  if (nz > SIZE_MAX / item) {
    cli_error("the layer's output is too large for this machine");
    goto done;
  }
  y = malloc(dy->nbytes ? dy->nbytes : 1);
  pre = malloc(nz ? nz * item : 1);
  dx = values[GRAD_DX] ? malloc(x->nbytes ? x->nbytes : 1) : NULL;
  /* conv1dt_create checked the kernel's byte count fits size_t. */
  dk = values[GRAD_DK] ? malloc((size_t)(kshape[0] * kshape[1] * kshape[2]) * item) : NULL;
  db = values[GRAD_DB] ? malloc((size_t)kshape[1] * item) : NULL;
  if (!y || !pre || (values[GRAD_DX] && !dx) || (values[GRAD_DK] && !dk) ||
      (values[GRAD_DB] && !db)) {
    cli_error("out of memory for the gradients");
    goto done;
  }
  if ((st = conv1dt_forward_train(in.layer, x->data, in.batch, in.steps, y, pre, NULL, 0)) !=
      CONV1DT_OK) {
    cli_lib_error("forward pass failed", st);
    goto done;
  }
  if ((st = conv1dt_backward(in.layer, x->data, in.batch, in.steps, pre, dy->data, dx, dk, db, NULL,
                             0)) != CONV1DT_OK) {
    cli_lib_error("backward pass failed", st);
    goto done;
  }
  cli_output files[3];
  int nfiles = 0;
  if (dx)
    files[nfiles++] =
        (cli_output){"grad-input", values[GRAD_DX], 3, {x->shape[0], x->shape[1], x->shape[2]}, dx};
  if (dk)
    files[nfiles++] =
        (cli_output){"grad-kernel", values[GRAD_DK], 3, {kshape[0], kshape[1], kshape[2]}, dk};
  if (db) files[nfiles++] = (cli_output){"grad-bias", values[GRAD_DB], 1, {kshape[1], 0, 0}, db};
  if (cli_save_outputs(files, nfiles, x->dtype)) rc = EXIT_SUCCESS;
done:
  free(y);
  free(pre);
  free(dx);
  free(dk);
  free(db);
  close_layer_files(&in);
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
  INIT_NO_BIAS,
  INIT_COUNT
};

static const cli_option INIT_OPTIONS[INIT_COUNT] = {
    [INIT_IN_CHANNELS] = {"in-channels", CLI_REQUIRED},
    [INIT_FILTERS] = {"filters", CLI_REQUIRED},
    [INIT_KERNEL_SIZE] = {"kernel-size", CLI_REQUIRED},
    [INIT_KERNEL_OUTPUT] = {"kernel-output", CLI_REQUIRED | CLI_WRITES},
    [INIT_BIAS_OUTPUT] = {"bias-output", CLI_WRITES},
    [INIT_KERNEL_INITIALIZER] = {"kernel-initializer", 0},
    [INIT_BIAS_INITIALIZER] = {"bias-initializer", 0},
    [INIT_SEED] = {"seed", 0},
    [INIT_DTYPE] = {"dtype", 0},
    [INIT_NO_BIAS] = {"no-bias", CLI_SWITCH}};

/* What the option table cannot say about init's outputs. */
static bool check_init_args(const char *const *values) {
  if (values[INIT_NO_BIAS] && values[INIT_BIAS_OUTPUT]) {
    cli_error("--bias-output cannot be combined with --no-bias (the layer has no bias)");
    return false;
  }
  if (values[INIT_BIAS_OUTPUT] &&
      strcmp(values[INIT_BIAS_OUTPUT], values[INIT_KERNEL_OUTPUT]) == 0) {
    cli_error("--kernel-output and --bias-output are the same file '%s'",
              values[INIT_KERNEL_OUTPUT]);
    return false;
  }
  return true;
}

static const cli_command INIT = {"init", INIT_USAGE, INIT_OPTIONS, INIT_COUNT, check_init_args};

static bool parse_initializer(const char *flag, const char *name, conv1dt_initializer *out) {
  conv1dt_status st = conv1dt_initializer_from_name(name, out);
  if (st == CONV1DT_OK) return true;
  char what[64];
  snprintf(what, sizeof what, "invalid --%s", flag);
  cli_lib_error(what, st);
  return false;
}

static int cmd_init(int argc, char **argv) {
  const char *values[INIT_COUNT];
  int rc = cli_parse(&INIT, argc, argv, values);
  if (rc >= 0) return rc;

  int64_t in_channels, filters, kernel_size;
  if (!cli_parse_count("in-channels", values[INIT_IN_CHANNELS], &in_channels) ||
      !cli_parse_count("filters", values[INIT_FILTERS], &filters) ||
      !cli_parse_count("kernel-size", values[INIT_KERNEL_SIZE], &kernel_size))
    return CLI_EXIT_USAGE;
  conv1dt_config cfg = conv1dt_config_default(filters, kernel_size);
  cfg.use_bias = values[INIT_NO_BIAS] == NULL;
  if (values[INIT_SEED] && !cli_parse_seed(values[INIT_SEED], &cfg.seed)) return CLI_EXIT_USAGE;
  if (values[INIT_KERNEL_INITIALIZER] &&
      !parse_initializer("kernel-initializer", values[INIT_KERNEL_INITIALIZER],
                         &cfg.kernel_initializer))
    return CLI_EXIT_USAGE;
  if (values[INIT_BIAS_INITIALIZER] &&
      !parse_initializer("bias-initializer", values[INIT_BIAS_INITIALIZER], &cfg.bias_initializer))
    return CLI_EXIT_USAGE;
  conv1dt_dtype dtype = CONV1DT_FLOAT32;
  const char *dt = values[INIT_DTYPE];
  if (dt && strcmp(dt, "float64") == 0)
    dtype = CONV1DT_FLOAT64;
  else if (dt && strcmp(dt, "float32") != 0) {
    cli_error("--dtype must be float32 or float64, got '%s'", dt);
    return CLI_EXIT_USAGE;
  }
  if (!cli_check_outputs(&INIT, values)) return EXIT_FAILURE;

  /* The library validates the whole configuration (Keras's errors, e.g. identity on the
   * rank-3 kernel) and draws the weights. */
  conv1dt_layer *layer = NULL;
  conv1dt_status st = conv1dt_create(&cfg, in_channels, dtype, &layer);
  if (st != CONV1DT_OK) {
    cli_lib_error("invalid layer configuration", st);
    return st == CONV1DT_ERROR_INVALID_VALUE || st == CONV1DT_ERROR_UNKNOWN_NAME ? CLI_EXIT_USAGE
                                                                                 : EXIT_FAILURE;
  }
  const size_t item = dtype == CONV1DT_FLOAT32 ? 4 : 8;
  /* conv1dt_create checked that the kernel's byte count fits size_t. */
  void *kernel = malloc((size_t)(kernel_size * filters * in_channels) * item);
  void *bias = malloc((size_t)filters * item);
  rc = EXIT_FAILURE;
  if (!kernel || !bias) {
    cli_error("out of memory for the weights");
  } else if ((st = conv1dt_get_weights(layer, kernel, bias)) != CONV1DT_OK) {
    cli_lib_error("cannot read the weights", st);
  } else {
    cli_output files[2] = {{"kernel-output",
                            values[INIT_KERNEL_OUTPUT],
                            3,
                            {kernel_size, filters, in_channels},
                            kernel},
                           {"bias-output", values[INIT_BIAS_OUTPUT], 1, {filters, 0, 0}, bias}};
    if (cli_save_outputs(files, values[INIT_BIAS_OUTPUT] ? 2 : 1, (npy_dtype)item))
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
    cli_lib_error("cannot describe the BLAS", st);
    return false;
  }
  printf("BLAS: %s\n", buf);
  if (threads > 0)
    printf("BLAS threads: %d\n", threads);
  else
    printf("BLAS threads: unknown\n");
  if (conv1dt_get_num_threads(&threads) == CONV1DT_OK) printf("conv1dt threads: %d\n", threads);
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
    cli_lib_error("cannot create the layer", st);
    return EXIT_FAILURE;
  }
  int64_t shape[3];
  if ((st = conv1dt_output_shape(layer, B, L, shape)) != CONV1DT_OK) {
    cli_lib_error("cannot compute the output shape", st);
    conv1dt_destroy(layer);
    return EXIT_FAILURE;
  }
  size_t count = (size_t)(shape[0] * shape[1] * shape[2]);
  float *y = malloc(count * sizeof *y);
  if (!y) {
    cli_error("out of memory");
    conv1dt_destroy(layer);
    return EXIT_FAILURE;
  }
  conv1dt_algorithm method = CONV1DT_ALGORITHM_AUTO;
  st = conv1dt_forward_algorithm(layer, B, L, 0, &method);
  double t0 = now_seconds();
  if (st == CONV1DT_OK) st = conv1dt_forward(layer, x, B, L, y, NULL, 0);
  double elapsed = now_seconds() - t0;
  conv1dt_destroy(layer);
  if (st != CONV1DT_OK) {
    cli_lib_error("forward pass failed", st);
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
  printf("forward pass: %.3f ms (method: %s)\n", elapsed * 1e3, conv1dt_algorithm_name(method));
  return EXIT_SUCCESS;
}

/* What AUTO runs for a layer past the direct kernel's channel rule (case F of the benchmark):
 * the GEMM methods, unless the BLAS names kernels narrower than the direct kernel's here. */
static void print_auto_choice(void) {
  conv1dt_config cfg = conv1dt_config_default(1024, 4);
  cfg.strides = 2;
  conv1dt_layer *layer = NULL;
  conv1dt_algorithm alg;
  if (conv1dt_create(&cfg, 1024, CONV1DT_FLOAT32, &layer) == CONV1DT_OK &&
      conv1dt_forward_algorithm(layer, 16, 256, 0, &alg) == CONV1DT_OK)
    printf("AUTO for 1024 channels: %s%s\n", conv1dt_algorithm_name(alg),
           alg == CONV1DT_ALGORITHM_DIRECT
               ? " (this BLAS's GEMMs are untuned, or narrower than the direct "
                 "kernel's vectors here)"
               : "");
  conv1dt_destroy(layer);
}

/* The library's selftest through the BLAS loaded and this CPU's kernels; the exit status says
 * whether everything agreed with the naive loop. */
static int cmd_selftest(void) {
  static char report[8192];
  int failures = 0;
  conv1dt_status st = conv1dt_selftest(report, sizeof report, &failures);
  if (st != CONV1DT_OK) {
    cli_lib_error("selftest could not run", st);
    return EXIT_FAILURE;
  }
  fputs(report, stdout);
  return failures ? EXIT_FAILURE : EXIT_SUCCESS;
}

/* ---------------------------------------------------------------------------------------------
 * save: a layer as a Keras 3 .keras file
 */

static const char SAVE_USAGE[] =
    "usage: conv1dt save --kernel K.npy [--bias B.npy] [layer options] --output M.keras\n"
    "                    [--name NAME]\n"
    "       conv1dt save --keras-model FILE [--layer NAME] --output M.keras [--name NAME]\n"
    "       conv1dt save --keras-config C --keras-weights W [--layer NAME] --output M.keras\n"
    "\n"
    "Writes the layer as a Keras 3 .keras archive that keras.saving.load_model loads and runs to\n"
    "the same numbers: a Sequential model of an InputLayer and the Conv1DTranspose. The layer\n"
    "comes from .npy weights and the layer options of 'conv1dt run' (--strides, --padding,\n"
    "--output-padding, --data-format, --dilation-rate, --activation), or from Keras files (a\n"
    "Keras 2 .h5 file becomes a Keras 3 one this way).\n"
    "\n"
    "  --output M.keras        the archive, written atomically; never created on failure\n"
    "  --name NAME             the saved layer's name; default the Keras layer's own, or\n"
    "                          conv1d_transpose\n"
    "\n"
    "Options also take the form --name=value. Exit status: 0 success, 1 failure, 2 usage error.\n";

enum { SAVE_OUTPUT = LAYER_COUNT, SAVE_NAME, SAVE_COUNT };

/* The layer options without --input (nothing is computed) and --algorithm (not Keras's). */
static const cli_option SAVE_OPTIONS[SAVE_COUNT] = {
    [LAYER_INPUT] = {"input", 0},
    [LAYER_KERNEL] = {"kernel", 0},
    [LAYER_BIAS] = {"bias", 0},
    [LAYER_STRIDES] = {"strides", 0},
    [LAYER_PADDING] = {"padding", 0},
    [LAYER_OUTPUT_PADDING] = {"output-padding", 0},
    [LAYER_DATA_FORMAT] = {"data-format", 0},
    [LAYER_DILATION_RATE] = {"dilation-rate", 0},
    [LAYER_ACTIVATION] = {"activation", 0},
    [LAYER_ALGORITHM] = {"algorithm", 0},
    [LAYER_KERAS_MODEL] = {"keras-model", 0},
    [LAYER_KERAS_CONFIG] = {"keras-config", 0},
    [LAYER_KERAS_WEIGHTS] = {"keras-weights", 0},
    [LAYER_LAYER] = {"layer", 0},
    [SAVE_OUTPUT] = {"output", CLI_REQUIRED | CLI_WRITES},
    [SAVE_NAME] = {"name", 0}};

static bool check_save_args(const char *const *values) {
  if (values[LAYER_INPUT] || values[LAYER_ALGORITHM]) {
    cli_error("save takes no --%s: it writes the layer, it computes nothing",
              values[LAYER_INPUT] ? "input" : "algorithm");
    return false;
  }
  return true;
}

static const cli_command SAVE = {"save", SAVE_USAGE, SAVE_OPTIONS, SAVE_COUNT, check_save_args};

/* The layer of --kernel / --bias and the flags. */
static bool open_npy_layer(const char *const *values, conv1dt_config *cfg, conv1dt_layer **out) {
  npy_array k = {0}, b = {0};
  const bool bias = values[LAYER_BIAS] != NULL;
  bool ok = cli_load("kernel", values[LAYER_KERNEL], &k) &&
            (!bias || cli_load("bias", values[LAYER_BIAS], &b));
  char s[1024];
  if (ok && k.ndim != 3) {
    cli_format_shape(s, sizeof s, k.ndim, k.shape);
    cli_error("--kernel has shape %s; expected rank 3: (kernel_size, filters, in_channels)", s);
    ok = false;
  }
  if (ok && bias && (b.dtype != k.dtype || b.ndim != 1 || b.shape[0] != k.shape[1])) {
    cli_format_shape(s, sizeof s, b.ndim, b.shape);
    cli_error("--bias is %s %s; expected %s (%" PRId64 ",), like the kernel",
              cli_dtype_name(b.dtype), s, cli_dtype_name(k.dtype), k.shape[1]);
    ok = false;
  }
  if (ok) {
    cfg->kernel_size = k.shape[0];
    cfg->filters = k.shape[1];
    conv1dt_status st = conv1dt_create(
        cfg, k.shape[2], k.dtype == NPY_FLOAT32 ? CONV1DT_FLOAT32 : CONV1DT_FLOAT64, out);
    if (st == CONV1DT_OK) st = conv1dt_set_weights(*out, k.data, bias ? b.data : NULL);
    if (st != CONV1DT_OK) {
      cli_lib_error("cannot create the layer", st);
      ok = false;
    }
  }
  npy_free(&k);
  npy_free(&b);
  return ok;
}

static int cmd_save(int argc, char **argv) {
  const char *values[SAVE_COUNT];
  int rc = cli_parse(&SAVE, argc, argv, values);
  if (rc >= 0) return rc;
  conv1dt_config cfg;
  if (!cli_layer_config(values, &cfg)) return CLI_EXIT_USAGE;
  if (!cli_check_outputs(&SAVE, values)) return EXIT_FAILURE;
  conv1dt_layer *layer = NULL;
  const bool keras = cli_layer_from_keras(values);
  if (keras ? !open_keras_layer(values, CONV1DT_ALGORITHM_AUTO, &layer)
            : !open_npy_layer(values, &cfg, &layer)) {
    conv1dt_destroy(layer);
    return EXIT_FAILURE;
  }
  /* The saved name: --name, else the Keras layer's own (--layer), else Keras's default. */
  const char *name = values[SAVE_NAME] ? values[SAVE_NAME] : values[LAYER_LAYER];
  conv1dt_status st = conv1dt_save_keras(layer, name, values[SAVE_OUTPUT]);
  conv1dt_destroy(layer);
  if (st != CONV1DT_OK) {
    cli_lib_error("cannot save", st);
    return st == CONV1DT_ERROR_INVALID_VALUE && values[SAVE_NAME] ? CLI_EXIT_USAGE : EXIT_FAILURE;
  }
  return EXIT_SUCCESS;
}

/* ---------------------------------------------------------------------------------------------
 * inspect: the Conv1DTranspose layers of a Keras file
 */

static const char INSPECT_USAGE[] =
    "usage: conv1dt inspect FILE\n"
    "\n"
    "Lists the Conv1DTranspose layers FILE holds, each with its configuration as conv1dt reads\n"
    "it and its weights' shapes: FILE is a Keras 3 .keras archive, a Keras 2 whole-model .h5\n"
    "file, or Keras JSON (a model's config.json / to_json(), a layer's get_config()).\n"
    "Exit status: 0 success, 1 failure, 2 usage error.\n";

static const cli_command INSPECT = {"inspect", INSPECT_USAGE, NULL, 0, NULL};

static void print_layer(const char *name, const conv1dt_config *c, conv1dt_dtype dtype,
                        int64_t in_channels) {
  printf("%s: Conv1DTranspose(filters=%" PRId64 ", kernel_size=%" PRId64 ", strides=%" PRId64
         ", padding=%s, output_padding=",
         name, c->filters, c->kernel_size, c->strides,
         c->padding == CONV1DT_PADDING_SAME ? "same" : "valid");
  if (c->output_padding == CONV1DT_OUTPUT_PADDING_NONE)
    printf("None");
  else
    printf("%" PRId64, c->output_padding);
  printf(", data_format=%s, dilation_rate=%" PRId64 ", activation=%s, use_bias=%s, dtype=%s)\n",
         c->data_format == CONV1DT_CHANNELS_LAST ? "channels_last" : "channels_first",
         c->dilation_rate, c->activation ? c->activation : "linear", c->use_bias ? "True" : "False",
         dtype == CONV1DT_FLOAT32 ? "float32" : "float64");
  if (in_channels > 0) {
    printf("  kernel (%" PRId64 ", %" PRId64 ", %" PRId64 ")", c->kernel_size, c->filters,
           in_channels);
    if (c->use_bias) printf(", bias (%" PRId64 ",)", c->filters);
    printf("\n");
  } else {
    printf("  kernel (%" PRId64 ", %" PRId64 ", in_channels): no weights in this file\n",
           c->kernel_size, c->filters);
  }
}

static int cmd_inspect(int argc, char **argv) {
  if (argc == 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
    fputs(INSPECT_USAGE, stdout);
    return EXIT_SUCCESS;
  }
  if (argc != 1 || argv[0][0] == '\0') {
    cli_error("inspect takes one file (see 'conv1dt inspect --help')");
    return CLI_EXIT_USAGE;
  }
  const char *path = argv[0];
  int64_t count = 0;
  conv1dt_status st = conv1dt_keras_layer_names(path, NULL, 0, &count);
  size_t size = 1;
  char *names = NULL;
  /* Names are at most a few hundred bytes each; ask for the exact room by growing. */
  while (st == CONV1DT_OK || st == CONV1DT_ERROR_BUFFER_TOO_SMALL) {
    size *= 4;
    free(names);
    if (!(names = malloc(size))) {
      cli_error("out of memory");
      return EXIT_FAILURE;
    }
    st = conv1dt_keras_layer_names(path, names, size, &count);
    if (st == CONV1DT_OK) break;
  }
  if (st != CONV1DT_OK) {
    free(names);
    cli_lib_error("cannot inspect", st);
    return EXIT_FAILURE;
  }
  /* A JSON file has no weights: the configuration alone. */
  FILE *f = fopen(path, "rb");
  int first = f ? fgetc(f) : EOF;
  while (first == ' ' || first == '\n' || first == '\r' || first == '\t') first = fgetc(f);
  char *json = NULL;
  size_t jlen = 0;
  if (f && first == '{') {
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n > 0 && (json = malloc((size_t)n)) && fread(json, 1, (size_t)n, f) == (size_t)n)
      jlen = (size_t)n;
  }
  if (f) fclose(f);
  printf("%s: %" PRId64 " Conv1DTranspose layer%s\n", path, count, count == 1 ? "" : "s");
  int rc = EXIT_SUCCESS;
  for (char *name = names, *end; rc == EXIT_SUCCESS && (end = strchr(name, '\n')); name = end + 1) {
    *end = '\0';
    conv1dt_config cfg;
    conv1dt_dtype dtype;
    int64_t in_channels = 0;
    conv1dt_layer *layer = NULL;
    if (json)
      st = conv1dt_config_from_keras_json(json, jlen, name, &cfg, &dtype);
    else if ((st = conv1dt_create_from_keras(path, name, &layer)) == CONV1DT_OK)
      st = conv1dt_get_config(layer, &cfg, &in_channels, &dtype);
    if (st == CONV1DT_OK) {
      print_layer(name, &cfg, dtype, in_channels);
    } else {
      cli_lib_error("cannot read a layer", st);
      rc = EXIT_FAILURE;
    }
    conv1dt_destroy(layer);
  }
  free(json);
  free(names);
  return rc;
}

static int cmd_info(void) {
  printf("conv1dt %s (version number %d)\n", conv1dt_version_string(), conv1dt_version_number());
  if (!print_blas()) return EXIT_FAILURE;
  printf("direct kernel: %s\n", conv1dt_kernel_isa());
  print_auto_choice();
  printf("dtypes: float32, float64\n");
  return EXIT_SUCCESS;
}

/* ---------------------------------------------------------------------------------------------
 */

static const struct {
  const cli_command *cmd;
  int (*main)(int argc, char **argv);
} SUBCOMMANDS[] = {{&RUN, cmd_run},
                   {&GRAD, cmd_grad},
                   {&INIT, cmd_init},
                   {&SAVE, cmd_save},
                   {&INSPECT, cmd_inspect}};

enum { SUBCOMMAND_COUNT = sizeof SUBCOMMANDS / sizeof SUBCOMMANDS[0] };

static int dispatch(int argc, char **argv) {
  if (argc < 2) return cmd_demo();
  const char *cmd = argv[1];
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    if (argc > 2 && strcmp(cmd, "help") == 0) {
      for (int i = 0; argc == 3 && i < SUBCOMMAND_COUNT; i++)
        if (strcmp(argv[2], SUBCOMMANDS[i].cmd->name) == 0) {
          fputs(SUBCOMMANDS[i].cmd->usage, stdout);
          return EXIT_SUCCESS;
        }
      cli_error("unknown help topic '%s' (try 'conv1dt help run', 'help grad', 'help init', "
                "'help save' or 'help inspect')",
                argv[2]);
      return CLI_EXIT_USAGE;
    }
    fputs(USAGE, stdout);
    return EXIT_SUCCESS;
  }
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
    printf("conv1dt %s\n", conv1dt_version_string());
    return EXIT_SUCCESS;
  }
  for (int i = 0; i < SUBCOMMAND_COUNT; i++)
    if (strcmp(cmd, SUBCOMMANDS[i].cmd->name) == 0) return SUBCOMMANDS[i].main(argc - 2, argv + 2);
  if (strcmp(cmd, "info") == 0 || strcmp(cmd, "demo") == 0 || strcmp(cmd, "selftest") == 0) {
    if (argc > 2) {
      cli_error("'%s' takes no arguments", cmd);
      return CLI_EXIT_USAGE;
    }
    return cmd[0] == 'i' ? cmd_info() : cmd[0] == 's' ? cmd_selftest() : cmd_demo();
  }
  if (cmd[0] == '-')
    cli_error("unknown option '%s' (see 'conv1dt --help')", cmd);
  else
    cli_error("unknown command '%s' (see 'conv1dt --help')", cmd);
  return CLI_EXIT_USAGE;
}

/* `--threads N` (any command, anywhere on the line): the BLAS's threads and conv1dt's team, set
 * together by the library. Taken out of argv before the command parses its own options. */
static int take_threads(int *argc, char **argv) {
  for (int i = 1; i < *argc; i++) {
    const char *value = NULL;
    int used = 1;
    if (strcmp(argv[i], "--threads") == 0) {
      if (i + 1 >= *argc) {
        cli_error("--threads needs a value (a thread count from 1 to 64)");
        return CLI_EXIT_USAGE;
      }
      value = argv[i + 1], used = 2;
    } else if (strncmp(argv[i], "--threads=", 10) == 0) {
      value = argv[i] + 10;
    } else {
      continue;
    }
    char *end = NULL;
    errno = 0;
    long n = strtol(value, &end, 10);
    if (errno || end == value || *end || n < 1 || n > 64) {
      cli_error("invalid --threads '%s' (a thread count from 1 to 64)", value);
      return CLI_EXIT_USAGE;
    }
    conv1dt_status st = conv1dt_set_num_threads((int)n);
    if (st == CONV1DT_ERROR_UNSUPPORTED)
      fprintf(stderr, "conv1dt: note: %s\n", conv1dt_last_error());
    else if (st != CONV1DT_OK) {
      cli_lib_error("cannot set the threads", st);
      return EXIT_FAILURE;
    }
    memmove(argv + i, argv + i + used, (size_t)(*argc - i - used + 1) * sizeof *argv);
    *argc -= used;
    i--;
  }
  return EXIT_SUCCESS;
}

static const char MPI_USAGE[] =
    "usage: mpirun [mpirun options] conv1dt-mpi run [the options of 'conv1dt run']\n"
    "       srun [srun options] conv1dt-mpi run ...\n"
    "       conv1dt-mpi --help | --version\n"
    "\n"
    "Runs one 'conv1dt run' job across MPI ranks, with the same options (see\n"
    "'conv1dt-mpi run --help'). One --input: its samples are split over the ranks (a batch\n"
    "smaller than the ranks: each sample's steps), each rank reads its part and writes it into\n"
    "the one --output, which appears complete or not at all. --input-list: the inputs are\n"
    "shared by the ranks. --memory-limit and --threads apply to each rank.\n"
    "Exit status, on every rank: 0 success, 1 failure on any rank, 2 usage error, 3 some inputs\n"
    "of --input-list failed (the others are written).\n";

/* conv1dt-mpi: run only. */
static int dispatch_mpi(int argc, char **argv) {
  const char *cmd = argc < 2 ? "--help" : argv[1];
  if (strcmp(cmd, "run") == 0) return cmd_run(argc - 2, argv + 2);
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    fputs(MPI_USAGE, stdout);
    return argc < 2 ? CLI_EXIT_USAGE : EXIT_SUCCESS;
  }
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
    printf("conv1dt-mpi %s\n", conv1dt_version_string());
    return EXIT_SUCCESS;
  }
  if (cli_rank() == 0)
    cli_error("conv1dt-mpi runs 'run' only, not '%s' (see 'conv1dt-mpi --help')", cmd);
  return CLI_EXIT_USAGE;
}

int main(int argc, char **argv) {
  if (!cli_ranks_init(&argc, &argv)) return EXIT_FAILURE;
  cli_error_quiet(cli_rank() > 0); /* the same line on every rank: its errors once */
  int rc = take_threads(&argc, argv);
  cli_error_quiet(false);
  if (rc == EXIT_SUCCESS) rc = cli_ranks_mpi() ? dispatch_mpi(argc, argv) : dispatch(argc, argv);
  /* A full disk or closed pipe on stdout is a failure too, not a silent truncation. */
  if (fflush(stdout) != 0 || ferror(stdout)) {
    cli_error("cannot write to standard output: %s", strerror(errno));
    if (rc == EXIT_SUCCESS) rc = EXIT_FAILURE;
  }
  return cli_ranks_finish(rc);
}
