/* End-to-end tests of the conv1dt program: spawns $CONV1DT_CLI, captures its output and exit
 * status, and checks its results against a small direct loop written here from the Keras rules
 * (independent of the library), and every error class: non-zero exit, "conv1dt: error:" on
 * stderr, no output file and no temporary left behind. Work files go under $CONV1DT_TEST_TMP. */
#define _XOPEN_SOURCE 700

#include "cli_harness.h"
#include "conv1dt.h"
#include "npy.h"

#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------- */
/* Test data and an independent reference */

static double act(const char *name, double v) {
  if (!name || strcmp(name, "linear") == 0) return v;
  if (strcmp(name, "relu") == 0) return v > 0 ? v : 0;
  if (strcmp(name, "tanh") == 0) return tanh(v);
  if (strcmp(name, "sigmoid") == 0) return 1.0 / (1.0 + exp(-v));
  ck_abort_msg("reference lacks activation %s", name);
  return 0;
}

/* y in the spec's data format, before glu halving. */
static double *reference(const spec *p, const arr *x, const arr *w, const arr *b,
                         int64_t *out_len) {
  int64_t crop;
  spec_geometry(p, out_len, &crop);
  int64_t T = *out_len, keff = (p->K - 1) * p->d + 1;
  int64_t full_len = (p->L - 1) * p->s + keff;
  size_t n = (size_t)(p->B * T * p->F);
  double *y = calloc(n ? n : 1, sizeof *y);
  ck_assert_ptr_nonnull(y);
  for (int64_t bb = 0; bb < p->B; bb++)
    for (int64_t t = 0; t < T; t++)
      for (int64_t f = 0; f < p->F; f++) {
        double sum = 0;
        int64_t pos = t + crop; /* index into the full output */
        if (pos < full_len) {
          for (int64_t l = 0; l < p->L; l++)
            for (int64_t k = 0; k < p->K; k++) {
              if (l * p->s + k * p->d != pos) continue;
              for (int64_t c = 0; c < p->C; c++) {
                double xv =
                    p->cf ? x->v[(bb * p->C + c) * p->L + l] : x->v[(bb * p->L + l) * p->C + c];
                sum += xv * w->v[(k * p->F + f) * p->C + c];
              }
            }
        }
        if (p->bias) sum += b->v[f];
        size_t idx = p->cf ? (size_t)((bb * p->F + f) * T + t) : (size_t)((bb * T + t) * p->F + f);
        y[idx] = sum;
      }
  return y;
}

/* The run command for a spec; with eq_form, every other flag uses --name=value. */
static const char *const *spec_args(const spec *p, bool eq_form, const char *padding_text,
                                    const char *algorithm) {
  args_start("run", eq_form ? FLAGS_ALTERNATE : FLAGS_SPACED);
  args_flag("--input", in_path("x.npy"));
  args_flag("--kernel", in_path("k.npy"));
  if (p->bias) args_flag("--bias", in_path("b.npy"));
  args_flag("--output", out_path("y.npy"));
  args_layer_flags(p, padding_text);
  if (algorithm) args_flag("--algorithm", algorithm);
  return args_end();
}

static void make_inputs(const spec *p, arr *x, arr *w, arr *b) {
  arr_seed((uint64_t)(p->s * 1000 + p->K * 100 + p->F * 10 + p->C) ^ 0x9E3779B97F4A7C15ULL);
  *x = p->cf ? make_arr(p->dtype, 3, p->B, p->C, p->L) : make_arr(p->dtype, 3, p->B, p->L, p->C);
  *w = make_arr(p->dtype, 3, p->K, p->F, p->C);
  *b = make_arr(p->dtype, 1, p->F, 0, 0);
  save_arr(x, in_path("x.npy"));
  save_arr(w, in_path("k.npy"));
  if (p->bias) save_arr(b, in_path("b.npy"));
}

static void check_run(const spec *p, bool eq_form, const char *padding_text,
                      const char *algorithm) {
  arr x, w, b;
  make_inputs(p, &x, &w, &b);
  result r = run_cli(spec_args(p, eq_form, padding_text, algorithm));
  ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
  ck_assert_str_eq(r.out, "");
  free_result(&r);
  ck_assert_int_eq(count_entries(out_dir), 1); /* y.npy, no temporaries */

  int64_t T;
  double *ref = reference(p, &x, &w, &b, &T);
  npy_array y = load_npy(out_path("y.npy"));
  ck_assert_int_eq(y.dtype, p->dtype);
  ck_assert_int_eq(y.ndim, 3);
  ck_assert_int_eq(y.shape[0], p->B);
  ck_assert_int_eq(y.shape[1], p->cf ? p->F : T);
  ck_assert_int_eq(y.shape[2], p->cf ? T : p->F);
  double scale = 0;
  for (size_t i = 0; i < y.count; i++) scale = fmax(scale, fabs(act(p->act, ref[i])));
  double tol = (p->dtype == NPY_FLOAT32 ? 2e-5 : 1e-12) * (1 + scale);
  for (size_t i = 0; i < y.count; i++) {
    double got = p->dtype == NPY_FLOAT32 ? ((float *)y.data)[i] : ((double *)y.data)[i];
    double want = act(p->act, ref[i]);
    ck_assert_msg(fabs(got - want) <= tol, "element %zu: got %.17g, expected %.17g", i, got, want);
  }
  npy_free(&y);
  free(ref);
  free(x.v);
  free(w.v);
  free(b.v);
}

/* ------------------------------------------------------------------------------------------- */
/* Informational commands */

START_TEST(test_demo) {
  result r = run_cli(ARGS("demo"));
  ck_assert_msg(r.status == 0, "stderr: %s", r.err);
  free_result(&r);
  const char *none[] = {NULL};
  r = run_cli(none);
  ck_assert_msg(r.status == 0, "stderr: %s", r.err);
  ck_assert_msg(strstr(r.out, "(4, 21, 32)") != NULL, "no output shape in: %s", r.out);
  ck_assert_ptr_nonnull(strstr(r.out, "min "));
  ck_assert_ptr_nonnull(strstr(r.out, "zeros "));
  ck_assert_ptr_nonnull(strstr(r.out, " ms"));
  /* The input and the default weights are seeded: the statistics repeat exactly. */
  const char *stats = strstr(r.out, "min ");
  char line[256];
  snprintf(line, sizeof line, "%.*s", (int)strcspn(stats, "\n"), stats);
  result r2 = run_cli(none);
  ck_assert_ptr_nonnull(strstr(r2.out, line));
  free_result(&r2);
  free_result(&r);
}
END_TEST

START_TEST(test_version) {
  char want[128];
  snprintf(want, sizeof want, "conv1dt %s\n", conv1dt_version_string());
  result r = run_cli(ARGS("--version"));
  ck_assert_int_eq(r.status, 0);
  ck_assert_str_eq(r.out, want);
  ck_assert_str_eq(r.err, "");
  free_result(&r);
}
END_TEST

START_TEST(test_info) {
  result r = run_cli(ARGS("info"));
  ck_assert_msg(r.status == 0, "stderr: %s", r.err);
  ck_assert_ptr_nonnull(strstr(r.out, conv1dt_version_string()));
  const char *blas = strstr(r.out, "BLAS: ");
  ck_assert_msg(blas != NULL, "no BLAS line in: %s", r.out);
  ck_assert_uint_gt(strcspn(blas + 6, "\n"), 0);
  ck_assert_ptr_nonnull(strstr(r.out, "threads"));
  /* which ISA the direct kernel runs: the library's answer, verbatim */
  char line[160];
  snprintf(line, sizeof line, "direct kernel: %s\n", conv1dt_kernel_isa());
  ck_assert_msg(strstr(r.out, line) != NULL, "no '%s' in: %s", line, r.out);
  /* what AUTO runs past 128 channels, as conv1dt_forward_algorithm says for the same layer */
  conv1dt_config cfg = conv1dt_config_default(1024, 4);
  cfg.strides = 2;
  conv1dt_layer *layer = NULL;
  conv1dt_algorithm alg;
  ck_assert_int_eq(conv1dt_create(&cfg, 1024, CONV1DT_FLOAT32, &layer), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_forward_algorithm(layer, 16, 256, 0, &alg), CONV1DT_OK);
  conv1dt_destroy(layer);
  snprintf(line, sizeof line, "AUTO for 1024 channels: %s", conv1dt_algorithm_name(alg));
  ck_assert_msg(strstr(r.out, line) != NULL, "no '%s' in: %s", line, r.out);
  free_result(&r);
}
END_TEST

START_TEST(test_help) {
  const char *const *forms[] = {ARGS("--help"), ARGS("-h"), ARGS("help"), ARGS("run", "--help"),
                                ARGS("help", "run")};
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
    expect_help(forms[i], "usage:", "--input");
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* run: numbers */

static const spec runs[] = {
    /* cf,  same,  bias,  dtype,       op, s, d, K, F, C, B, L, activation */
    {false, false, true, NPY_FLOAT32, -1, 2, 1, 3, 4, 3, 2, 5, "relu"},
    {true, true, false, NPY_FLOAT64, -1, 2, 1, 3, 3, 2, 2, 4, NULL},
    {false, true, true, NPY_FLOAT64, 1, 3, 1, 4, 2, 3, 1, 6, "tanh"},
    {true, false, true, NPY_FLOAT32, 0, 1, 2, 3, 5, 4, 3, 7, "sigmoid"},
    {false, true, false, NPY_FLOAT32, -1, 1, 3, 2, 3, 2, 2, 5, "linear"},
    {false, false, true, NPY_FLOAT64, 2, 3, 1, 2, 3, 2, 2, 4, "relu"},
    {true, true, true, NPY_FLOAT64, 1, 2, 1, 5, 4, 3, 2, 6, NULL},
    {true, false, false, NPY_FLOAT32, -1, 4, 1, 2, 2, 1, 1, 3, NULL},
    {false, true, true, NPY_FLOAT32, 0, 1, 1, 2, 3, 3, 2, 1, NULL},   /* empty output: 0 steps */
    {false, false, true, NPY_FLOAT64, -1, 1, 1, 1, 1, 1, 0, 3, NULL}, /* batch 0 */
};

START_TEST(test_run_numbers) {
  check_run(&runs[_i], false, NULL, NULL);
}
END_TEST

/* --algorithm: every method (names case-insensitive, '-' for '_') gives the reference's numbers */
START_TEST(test_run_algorithms) {
  static const char *const names[] = {"auto", "GEMM", "direct", "gemm-accumulate",
                                      "Gemm_Accumulate"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    check_run(&runs[_i], false, NULL, names[i]);
    unlink(out_path("y.npy"));
  }
}
END_TEST

START_TEST(test_run_equals_form_and_case) {
  check_run(&runs[0], true, "VALID", NULL);
  unlink(out_path("y.npy"));
  check_run(&runs[2], true, "Same", NULL);
}
END_TEST

START_TEST(test_run_output_padding_none_and_overwrite) {
  arr x, w, b;
  make_inputs(&runs[0], &x, &w, &b);
  /* An existing output is replaced; "none" is Keras's None. */
  write_all(out_path("y.npy"), "old", 3);
  result r =
      run_cli(ARGS("run", "--input", in_path("x.npy"), "--kernel", in_path("k.npy"), "--output",
                   out_path("y.npy"), "--strides", "2", "--output-padding", "none"));
  ck_assert_msg(r.status == 0, "stderr: %s", r.err);
  free_result(&r);
  npy_array y = load_npy(out_path("y.npy"));
  ck_assert_int_eq(y.shape[1], 11); /* (5-1)*2 + max(3, 2) */
  npy_free(&y);
  free(x.v);
  free(w.v);
  free(b.v);
}
END_TEST

START_TEST(test_run_glu_halves) {
  /* channels_last: the filters axis halves; channels_first: the steps axis (Keras's axis=-1). */
  spec p = {false, false, true, NPY_FLOAT64, -1, 2, 1, 3, 6, 2, 2, 4, "glu"};
  arr x, w, b;
  make_inputs(&p, &x, &w, &b);
  result r = run_cli(spec_args(&p, false, NULL, NULL));
  ck_assert_msg(r.status == 0, "stderr: %s", r.err);
  free_result(&r);
  int64_t T;
  double *ref = reference(&p, &x, &w, &b, &T);
  npy_array y = load_npy(out_path("y.npy"));
  ck_assert_int_eq(y.shape[0], 2);
  ck_assert_int_eq(y.shape[1], T);
  ck_assert_int_eq(y.shape[2], 3);
  for (int64_t i = 0; i < 2 * T; i++)
    for (int64_t f = 0; f < 3; f++) {
      double a = ref[i * 6 + f], g = ref[i * 6 + f + 3];
      double want = a / (1.0 + exp(-g));
      ck_assert_double_eq_tol(((double *)y.data)[i * 3 + f], want, 1e-12);
    }
  npy_free(&y);
  free(ref);
  free(x.v);
  free(w.v);
  free(b.v);
  unlink(out_path("y.npy"));

  spec q = {true, false, false, NPY_FLOAT32, -1, 2, 1, 2, 3, 2, 1, 3, "glu"}; /* T = 6 */
  make_inputs(&q, &x, &w, &b);
  r = run_cli(spec_args(&q, false, NULL, NULL));
  ck_assert_msg(r.status == 0, "stderr: %s", r.err);
  free_result(&r);
  y = load_npy(out_path("y.npy"));
  ck_assert_int_eq(y.shape[0], 1);
  ck_assert_int_eq(y.shape[1], 3);
  ck_assert_int_eq(y.shape[2], 3);
  npy_free(&y);
  free(x.v);
  free(w.v);
  free(b.v);
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* run: failures */

/* Writes valid float64 x (2,5,3), kernel (3,4,3), bias (4,) into in_dir. */
static void valid_inputs(void) {
  arr_seed(7);
  save_random(in_path("x.npy"), NPY_FLOAT64, 3, 2, 5, 3);
  save_random(in_path("k.npy"), NPY_FLOAT64, 3, 3, 4, 3);
  save_random(in_path("b.npy"), NPY_FLOAT64, 1, 4, 0, 0);
}

/* A .npy image with a literal header dict and `datalen` zero bytes of data. */
static void write_raw_npy(const char *path, const char *dict, size_t datalen) {
  void *zeros = calloc(datalen + 1, 1);
  ck_assert_ptr_nonnull(zeros);
  size_t len;
  unsigned char *image = npy_image(1, 0, dict, zeros, datalen, &len);
  write_all(path, image, len);
  free(image);
  free(zeros);
}

#define RUN_BASE                                                                                   \
  "run", "--input", in_path("x.npy"), "--kernel", in_path("k.npy"), "--output", out_path("y.npy")

/* run over in/<input> and in/<kernel> into out/y.npy: a failure with status 1. */
static void expect_run_failure(const char *input, const char *kernel, const char *needle) {
  expect_failure(ARGS("run", "--input", in_path(input), "--kernel", in_path(kernel), "--output",
                      out_path("y.npy")),
                 1, needle);
}

START_TEST(test_err_usage) {
  valid_inputs();
  expect_failure(ARGS(RUN_BASE, "--bogus", "1"), 2, "unknown option '--bogus'");
  expect_failure(ARGS(RUN_BASE, "--bogus=1"), 2, "unknown option '--bogus'");
  expect_failure(ARGS("run", "--kernel", in_path("k.npy"), "--output", out_path("y.npy")), 2,
                 "--input");
  expect_failure(ARGS("run", "--input", in_path("x.npy"), "--kernel", in_path("k.npy")), 2,
                 "--output");
  expect_failure(ARGS(RUN_BASE, "--strides"), 2, "--strides");
  expect_failure(ARGS(RUN_BASE, "--strides", "--padding", "same"), 2, "--strides");
  expect_failure(ARGS(RUN_BASE, "--strides="), 2, "--strides");
  expect_failure(ARGS(RUN_BASE, "--input", in_path("x.npy")), 2, "more than once");
  expect_failure(ARGS(RUN_BASE, "--strides", "2", "--strides", "2"), 2, "more than once");
  expect_failure(ARGS(RUN_BASE, "extra"), 2, "extra");
  expect_failure(ARGS("frobnicate"), 2, "frobnicate");
  expect_failure(ARGS("--frobnicate"), 2, "frobnicate");
  expect_failure(ARGS("info", "extra"), 2, NULL);
  expect_failure(ARGS("--threads", "0", "info"), 2, "--threads");
  expect_failure(ARGS("info", "--threads"), 2, "--threads");
  expect_failure(ARGS("--threads=x", "info"), 2, "'x'");
}
END_TEST

START_TEST(test_selftest_command) {
  result r = run_cli(ARGS("selftest"));
  ck_assert_msg(r.status == 0, "stdout: %s stderr: %s", r.out, r.err);
  ck_assert_msg(strstr(r.out, "float32 channels_last: pass") != NULL, "%s", r.out);
  ck_assert_msg(strstr(r.out, "selftest passed\n") != NULL, "%s", r.out);
  free_result(&r);
  expect_failure(ARGS("selftest", "extra"), 2, "no arguments");
}
END_TEST

/* --threads N sets conv1dt's team (and the BLAS's where the BLAS has a call), from any place on
 * the line. */
START_TEST(test_threads_option) {
  result r = run_cli(ARGS("info", "--threads", "1"));
  ck_assert_msg(r.status == 0, "stderr: %s", r.err);
  ck_assert_msg(strstr(r.out, "conv1dt threads: 1\n") != NULL, "%s", r.out);
  free_result(&r);
  r = run_cli(ARGS("--threads=2", "info"));
  ck_assert_msg(r.status == 0, "stderr: %s", r.err);
  ck_assert_msg(strstr(r.out, "conv1dt threads: 2\n") != NULL, "%s", r.out);
  free_result(&r);
}
END_TEST

START_TEST(test_err_integers) {
  valid_inputs();
  const char *bad[] = {"abc", "-2", "1.5", "2x", " 2", "+2", "0x2", "99999999999999999999"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    expect_failure(ARGS(RUN_BASE, "--strides", bad[i]), 2, "--strides");
    expect_failure(ARGS(RUN_BASE, "--dilation-rate", bad[i]), 2, "--dilation-rate");
    expect_failure(ARGS(RUN_BASE, "--output-padding", bad[i]), 2, "--output-padding");
  }
  expect_failure(ARGS(RUN_BASE, "--strides", "0"), 2, "strides");
  expect_failure(ARGS(RUN_BASE, "--dilation-rate", "0"), 2, "dilation");
}
END_TEST

START_TEST(test_err_config) {
  valid_inputs();
  expect_failure(ARGS(RUN_BASE, "--strides", "2", "--output-padding", "2"), 2, "output_padding");
  expect_failure(ARGS(RUN_BASE, "--output-padding", "1"), 2, "output_padding");
  expect_failure(ARGS(RUN_BASE, "--strides", "2", "--dilation-rate", "2"), 2, "strides");
  expect_failure(ARGS(RUN_BASE, "--activation", "nope"), 2, "nope");
  expect_failure(ARGS(RUN_BASE, "--activation", "threshold"), 2, "threshold");
  expect_failure(ARGS(RUN_BASE, "--padding", "full"), 2, "full");
  expect_failure(ARGS(RUN_BASE, "--data-format", "channels_middle"), 2, "channels_middle");
  expect_failure(ARGS(RUN_BASE, "--algorithm", "fastest"), 2, "fastest");
}
END_TEST

START_TEST(test_err_bad_files) {
  valid_inputs();
  /* Not a .npy at all */
  write_all(in_path("junk.npy"), "this is not numpy\n", 18);
  expect_run_failure("junk.npy", "k.npy", "magic");
  /* Truncated: the shape needs 240 bytes, 100 are there. */
  write_raw_npy(in_path("trunc.npy"),
                "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 5, 3), }", 100);
  expect_run_failure("trunc.npy", "k.npy", "truncated: expected 240 bytes of data, found 100");
  write_raw_npy(in_path("fortran.npy"),
                "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 5, 3), }", 240);
  expect_run_failure("fortran.npy", "k.npy", "Fortran-order arrays are not supported");
  write_raw_npy(in_path("int.npy"),
                "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 5, 3), }", 120);
  expect_run_failure("int.npy", "k.npy", "'<i4'");
  write_raw_npy(in_path("be.npy"), "{'descr': '>f8', 'fortran_order': False, 'shape': (3, 4, 3), }",
                288);
  expect_run_failure("x.npy", "be.npy", "'>f8'");
  write_raw_npy(in_path("bbe.npy"), "{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }",
                16);
  expect_failure(ARGS(RUN_BASE, "--bias", in_path("bbe.npy")), 1, "--bias");
  expect_run_failure("missing.npy", "k.npy", "missing.npy");
  expect_failure(
      ARGS("run", "--input", in_dir, "--kernel", in_path("k.npy"), "--output", out_path("y.npy")),
      1, "--input");
}
END_TEST

START_TEST(test_err_shapes) {
  valid_inputs();
  arr_seed(11);
  save_random(in_path("x32.npy"), NPY_FLOAT32, 3, 2, 5, 3);
  save_random(in_path("x4.npy"), NPY_FLOAT64, 3, 2, 5, 4);
  save_random(in_path("x2.npy"), NPY_FLOAT64, 2, 5, 3, 0);
  save_random(in_path("b5.npy"), NPY_FLOAT64, 1, 5, 0, 0);
  save_random(in_path("b32.npy"), NPY_FLOAT32, 1, 4, 0, 0);
  save_random(in_path("b2d.npy"), NPY_FLOAT64, 2, 1, 4, 0);
  save_random(in_path("k2.npy"), NPY_FLOAT64, 2, 3, 4, 0);
  save_random(in_path("x0.npy"), NPY_FLOAT64, 3, 2, 0, 3);
  save_random(in_path("k5.npy"), NPY_FLOAT64, 3, 3, 5, 3);
  expect_run_failure("x32.npy", "k.npy", "dtype");
  expect_failure(ARGS(RUN_BASE, "--bias", in_path("b32.npy")), 1, "dtype");
  expect_run_failure("x4.npy", "k.npy", "channels");
  /* (2,5,3) read as channels_first has 5 channels. */
  expect_failure(ARGS(RUN_BASE, "--data-format", "channels_first"), 1, "channels");
  expect_run_failure("x2.npy", "k.npy", "rank 2");
  expect_run_failure("x.npy", "k2.npy", "rank 2");
  expect_failure(ARGS(RUN_BASE, "--bias", in_path("b5.npy")), 1, "--bias");
  expect_failure(ARGS(RUN_BASE, "--bias", in_path("b2d.npy")), 1, "--bias");
  expect_run_failure("x0.npy", "k.npy", NULL);
  /* glu needs an even axis: 5 filters. */
  expect_failure(ARGS("run", "--input", in_path("x.npy"), "--kernel", in_path("k5.npy"), "--output",
                      out_path("y.npy"), "--activation", "glu"),
                 1, "glu");
}
END_TEST

START_TEST(test_err_output_path) {
  valid_inputs();
  char missing[4400];
  snprintf(missing, sizeof missing, "%s/no/such/dir/y.npy", out_dir);
  expect_failure(
      ARGS("run", "--input", in_path("x.npy"), "--kernel", in_path("k.npy"), "--output", missing),
      1, "does not exist");
  /* The output is a directory. */
  ck_assert_int_eq(mkdir(out_path("d"), 0700), 0);
  result r = run_cli(ARGS("run", "--input", in_path("x.npy"), "--kernel", in_path("k.npy"),
                          "--output", out_path("d")));
  ck_assert_int_eq(r.status, 1);
  ck_assert_int_eq(strncmp(r.err, "conv1dt: error: ", 16), 0);
  ck_assert_int_eq(count_entries(out_dir), 1);
  ck_assert_int_eq(count_entries(out_path("d")), 0);
  free_result(&r);
  rmdir(out_path("d"));
  /* A read-only output folder (as root this is not enforced; then the run succeeds). */
  if (geteuid() != 0) {
    chmod(out_dir, 0500);
    expect_failure(ARGS(RUN_BASE), 1, "--output");
    chmod(out_dir, 0700);
  }
}
END_TEST

START_TEST(test_err_keeps_existing_output) {
  /* A failed run leaves an existing output exactly as it was. */
  valid_inputs();
  write_all(out_path("y.npy"), "precious", 8);
  result r = run_cli(ARGS(RUN_BASE, "--bias", in_path("missing.npy")));
  ck_assert_int_eq(r.status, 1);
  free_result(&r);
  ck_assert_int_eq(count_entries(out_dir), 1);
  char *text = slurp(out_path("y.npy"));
  ck_assert_str_eq(text, "precious");
  free(text);
}
END_TEST

static Suite *cli_suite(void) {
  Suite *s = cli_suite_create("cli");
  TCase *tc = cli_tcase_create(s, "info", 60);
  tcase_add_test(tc, test_demo);
  tcase_add_test(tc, test_version);
  tcase_add_test(tc, test_info);
  tcase_add_test(tc, test_threads_option);
  tcase_add_test(tc, test_selftest_command);
  tcase_add_test(tc, test_help);

  tc = cli_tcase_create(s, "run", 60);
  tcase_add_loop_test(tc, test_run_numbers, 0, (int)(sizeof runs / sizeof runs[0]));
  tcase_add_loop_test(tc, test_run_algorithms, 0, (int)(sizeof runs / sizeof runs[0]));
  tcase_add_test(tc, test_run_equals_form_and_case);
  tcase_add_test(tc, test_run_output_padding_none_and_overwrite);
  tcase_add_test(tc, test_run_glu_halves);

  tc = cli_tcase_create(s, "errors", 120);
  tcase_add_test(tc, test_err_usage);
  tcase_add_test(tc, test_err_integers);
  tcase_add_test(tc, test_err_config);
  tcase_add_test(tc, test_err_bad_files);
  tcase_add_test(tc, test_err_shapes);
  tcase_add_test(tc, test_err_output_path);
  tcase_add_test(tc, test_err_keeps_existing_output);
  return s;
}

int main(void) {
  return run_suite(cli_suite());
}
