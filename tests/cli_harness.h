/* What the end-to-end suites of the conv1dt program share (test_cli, test_cli_grad,
 * test_cli_init; test_npy uses the file helpers): a work folder per test, spawning
 * $CONV1DT_CLI with its output and exit status captured, the contract of every failure, random
 * .npy inputs, a layer spec with its Keras geometry, and command lines built from it. Every
 * helper fails the running Check test on an unexpected error. */
#ifndef CONV1DT_CLI_HARNESS_H
#define CONV1DT_CLI_HARNESS_H

#include "npy.h"

#include "check_run.h"

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------------------------------- */
/* Files and folders */

/* The running test's folder, $CONV1DT_TEST_TMP/<suite name>.XXXXXX (/tmp without the
 * variable), and in it in/ for inputs and out/ for outputs only (it must stay empty after a
 * failure). Made before each test of a cli_tcase_create case, removed after it. */
extern char work_dir[4096], in_dir[4200], out_dir[4200];

/* Removes a folder and everything in it. */
void remove_tree(const char *dir);

/* Number of entries in a folder besides . and .. */
int count_entries(const char *dir);

/* in_dir/name and out_dir/name, in one of 64 rotating buffers. */
const char *in_path(const char *name);
const char *out_path(const char *name);

/* A whole file: read_all gives its bytes and length, slurp its text; both NUL-terminated, for
 * the caller to free. */
unsigned char *read_all(const char *path, size_t *len);
char *slurp(const char *path);

/* Creates or replaces a file with len bytes of buf. */
void write_all(const char *path, const void *buf, size_t len);

/* ------------------------------------------------------------------------------------------- */
/* Running the program */

typedef struct {
  int status; /* exit code, or -signal */
  char *out, *err;
} result;

/* Runs $CONV1DT_CLI with args (NULL-terminated, program name excluded), stdin from /dev/null. */
result run_cli(const char *const *args);
void free_result(result *r);

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Exit 0 and nothing on stderr. */
void expect_success(const char *const *args);

/* Exit 0, nothing on stderr, and stdout holding `text` and, unless it is NULL, `option`. */
void expect_help(const char *const *args, const char *text, const char *option);

/* The common contract of every failure: a non-zero exit (`status` unless it is 0), stderr
 * starting with "conv1dt: error: " (and holding `needle` unless it is NULL), nothing on stdout,
 * and no file in out_dir. */
void expect_failure(const char *const *args, int status, const char *needle);

/* ------------------------------------------------------------------------------------------- */
/* .npy data */

/* Seeds the generator of make_arr: a 64-bit LCG (Knuth's MMIX constants). */
void arr_seed(uint64_t state);

/* An array drawn uniformly from [-1, 1), its values exactly representable in dtype. */
typedef struct {
  npy_dtype dtype;
  int ndim;
  int64_t shape[3];
  size_t n;
  double *v; /* values as double; written in dtype */
} arr;

arr make_arr(npy_dtype dtype, int ndim, int64_t d0, int64_t d1, int64_t d2);
void save_arr(const arr *a, const char *path);

/* make_arr, saved to path and freed. */
void save_random(const char *path, npy_dtype dtype, int ndim, int64_t d0, int64_t d1, int64_t d2);

/* Loads a .npy file. */
npy_array load_npy(const char *path);

/* A .npy image with the given version and literal header text (padded with spaces to a 64-byte
 * data start plus '\n'), followed by `data`. Caller frees. */
unsigned char *npy_image(int major, int minor, const char *dict, const void *data, size_t datalen,
                         size_t *outlen);

/* ------------------------------------------------------------------------------------------- */
/* A layer and its command line */

typedef struct {
  bool cf, same, bias; /* channels_first, padding "same", with a bias */
  npy_dtype dtype;
  int64_t op;                  /* output_padding; -1 = None */
  int64_t s, d, K, F, C, B, L; /* strides, dilation, kernel size, filters, channels, batch, steps */
  const char *act;             /* NULL: flag omitted */
} spec;

/* Output length and left crop, straight from docs/SEMANTICS.md. */
void spec_geometry(const spec *p, int64_t *out_len, int64_t *crop_left);

/* How args_flag writes a flag: "--name value", "--name=value", or the two alternately starting
 * with "--name=value". */
typedef enum { FLAGS_SPACED, FLAGS_EQUALS, FLAGS_ALTERNATE } flag_form;

/* Builds one command line at a time: args_start, flags, args_end (the NULL-terminated list, valid
 * until the next args_start). Values are copied. */
void args_start(const char *command, flag_form form);
void args_flag(const char *name, const char *value);
void args_int_flag(const char *name, int64_t value);
/* --strides, --padding (padding_text, or the spec's), --output-padding, --data-format,
 * --dilation-rate, --activation: the flags the spec sets. */
void args_layer_flags(const spec *p, const char *padding_text);
const char *const *args_end(void);

/* ------------------------------------------------------------------------------------------- */

/* The program's suite; its name also names the work folders. */
Suite *cli_suite_create(const char *name);

/* A test case of that suite whose tests each get fresh work folders and `timeout` seconds. */
TCase *cli_tcase_create(Suite *suite, const char *name, double timeout);

/* Suites run with run_suite() from check_run.h. */

/* Sleeps ms milliseconds, through signals. */
void cli_sleep_ms(int ms);

#endif /* CONV1DT_CLI_HARNESS_H */
