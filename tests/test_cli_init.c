/* End-to-end tests of `conv1dt init`: spawns $CONV1DT_CLI, reads the .npy files it writes and
 * compares them with what the library draws for the same configuration (conv1dt_create /
 * conv1dt_initialize), and checks every error class: the exit status (2 usage, 1 other),
 * "conv1dt: error:" on stderr, no output file and no temporary left behind, an existing output
 * left untouched. Work files go under $CONV1DT_TEST_TMP. */
#define _XOPEN_SOURCE 700

#include "cli_harness.h"
#include "conv1dt.h"
#include "npy.h"

#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------- */
/* What the library draws, to compare the files with */

static void expect_layer_weights(const char *kpath, const char *bpath, conv1dt_config cfg,
                                 int64_t C, conv1dt_dtype dt) {
  conv1dt_layer *layer = NULL;
  ck_assert_int_eq(conv1dt_create(&cfg, C, dt, &layer), CONV1DT_OK);
  const size_t item = dt == CONV1DT_FLOAT32 ? 4 : 8;
  const size_t kn = (size_t)(cfg.kernel_size * cfg.filters * C);
  void *k = malloc(kn * item), *b = malloc((size_t)cfg.filters * item);
  ck_assert_int_eq(conv1dt_get_weights(layer, k, b), CONV1DT_OK);
  npy_array ka = load_npy(kpath);
  ck_assert_int_eq(ka.ndim, 3);
  ck_assert(ka.shape[0] == cfg.kernel_size && ka.shape[1] == cfg.filters && ka.shape[2] == C);
  ck_assert_int_eq((int)ka.dtype, (int)item);
  ck_assert_msg(memcmp(ka.data, k, kn * item) == 0, "%s differs from the layer's kernel", kpath);
  npy_free(&ka);
  if (bpath) {
    npy_array ba = load_npy(bpath);
    ck_assert_int_eq(ba.ndim, 1);
    ck_assert(ba.shape[0] == cfg.filters && (size_t)ba.dtype == item);
    ck_assert_msg(memcmp(ba.data, b, (size_t)cfg.filters * item) == 0,
                  "%s differs from the layer's bias", bpath);
    npy_free(&ba);
  }
  free(k);
  free(b);
  conv1dt_destroy(layer);
}

/* ------------------------------------------------------------------------------------------- */
/* Success */

START_TEST(test_defaults) {
  /* glorot_uniform kernel with seed 0, zero bias, float32. */
  const char *k = out_path("k.npy"), *b = out_path("b.npy");
  expect_success(ARGS("init", "--in-channels", "5", "--filters", "4", "--kernel-size", "3",
                      "--kernel-output", k, "--bias-output", b));
  conv1dt_config cfg = conv1dt_config_default(4, 3);
  expect_layer_weights(k, b, cfg, 5, CONV1DT_FLOAT32);
  npy_array ba = load_npy(b);
  for (int i = 0; i < 4; i++) ck_assert(((float *)ba.data)[i] == 0.0f);
  npy_free(&ba);
  ck_assert_int_eq(count_entries(out_dir), 2);
}
END_TEST

START_TEST(test_initializers_match_library) {
  static const struct {
    const char *kinit, *binit, *seed, *dtype;
    conv1dt_init_kind kk, bk;
    uint64_t seedv;
    conv1dt_dtype dt;
  } cases[] = {
      {"he_normal", "random_uniform", "18446744073709551615", "float64", CONV1DT_INIT_HE_NORMAL,
       CONV1DT_INIT_RANDOM_UNIFORM, UINT64_MAX, CONV1DT_FLOAT64},
      {"Orthogonal", "ones", "42", "float32", CONV1DT_INIT_ORTHOGONAL, CONV1DT_INIT_ONES, 42,
       CONV1DT_FLOAT32},
      {"lecun_uniform", "TruncatedNormal", "7", "float32", CONV1DT_INIT_LECUN_UNIFORM,
       CONV1DT_INIT_TRUNCATED_NORMAL, 7, CONV1DT_FLOAT32},
      {"variance_scaling", "he_uniform", "0", "float64", CONV1DT_INIT_VARIANCE_SCALING,
       CONV1DT_INIT_HE_UNIFORM, 0, CONV1DT_FLOAT64},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    const char *k = out_path("kernel.npy"), *b = out_path("bias.npy");
    expect_success(ARGS("init", "--in-channels=3", "--filters=6", "--kernel-size=2",
                        "--kernel-initializer", cases[c].kinit, "--bias-initializer",
                        cases[c].binit, "--seed", cases[c].seed, "--dtype", cases[c].dtype,
                        "--kernel-output", k, "--bias-output", b));
    conv1dt_config cfg = conv1dt_config_default(6, 2);
    cfg.kernel_initializer = conv1dt_initializer_default(cases[c].kk);
    cfg.bias_initializer = conv1dt_initializer_default(cases[c].bk);
    cfg.seed = cases[c].seedv;
    expect_layer_weights(k, b, cfg, 3, cases[c].dt);
    /* The kernel is also conv1dt_initialize's (stream 0) for that seed. */
    conv1dt_initializer in = cfg.kernel_initializer;
    in.seed = cases[c].seedv;
    const int64_t shape[3] = {2, 6, 3};
    double want[36];
    float wantf[36];
    ck_assert_int_eq(
        conv1dt_initialize(&in, cases[c].dt, 3, shape, cases[c].dt ? (void *)want : (void *)wantf),
        CONV1DT_OK);
    npy_array ka = load_npy(k);
    ck_assert(memcmp(ka.data, cases[c].dt ? (void *)want : (void *)wantf, 36 * (size_t)ka.dtype) ==
              0);
    npy_free(&ka);
  }
}
END_TEST

START_TEST(test_bias_options) {
  const char *k = out_path("k.npy"), *k2 = out_path("k2.npy");
  /* --no-bias: only the kernel. */
  expect_success(ARGS("init", "--in-channels", "2", "--filters", "3", "--kernel-size", "4",
                      "--no-bias", "--seed", "9", "--kernel-output", k));
  ck_assert_int_eq(count_entries(out_dir), 1);
  /* A bias not asked for is not written, and the kernel does not depend on it. */
  expect_success(ARGS("init", "--in-channels", "2", "--filters", "3", "--kernel-size", "4",
                      "--seed", "9", "--kernel-output", k2, "--bias-initializer", "he_normal"));
  ck_assert_int_eq(count_entries(out_dir), 2);
  npy_array a = load_npy(k), b = load_npy(k2);
  ck_assert(a.nbytes == b.nbytes && memcmp(a.data, b.data, a.nbytes) == 0);
  npy_free(&a);
  npy_free(&b);
  /* Overwriting an existing file. */
  expect_success(ARGS("init", "--in-channels", "2", "--filters", "3", "--kernel-size", "4",
                      "--seed", "10", "--kernel-output", k));
  a = load_npy(k);
  b = load_npy(k2);
  ck_assert(memcmp(a.data, b.data, a.nbytes) != 0);
  npy_free(&a);
  npy_free(&b);
}
END_TEST

START_TEST(test_help) {
  const char *const *forms[] = {ARGS("init", "--help"), ARGS("init", "-h"), ARGS("help", "init"),
                                ARGS("init", "--filters", "3", "--help")};
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
    expect_help(forms[i], "usage: conv1dt init", "--kernel-initializer");
  expect_help(ARGS("--help"), "conv1dt init", NULL);
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* Errors */

#define BASE "init", "--in-channels", "2", "--filters", "3", "--kernel-size", "2"

START_TEST(test_err_usage) {
  const char *k = out_path("k.npy"), *b = out_path("b.npy");
  expect_failure(ARGS("init"), 2, "missing required option --in-channels");
  expect_failure(ARGS("init", "--filters", "3", "--kernel-size", "2", "--kernel-output", k,
                      "--in-channels", "2", "--bogus", "1"),
                 2, "unknown option '--bogus'");
  expect_failure(ARGS("init", "--in-channels", "2", "--kernel-size", "2", "--kernel-output", k), 2,
                 "missing required option --filters");
  expect_failure(ARGS("init", "--in-channels", "2", "--filters", "2", "--kernel-output", k), 2,
                 "missing required option --kernel-size");
  expect_failure(ARGS(BASE), 2, "missing required option --kernel-output");
  expect_failure(ARGS(BASE, "--kernel-output"), 2, "option --kernel-output needs a value");
  expect_failure(ARGS(BASE, "--kernel-output", "--seed", "1"), 2,
                 "option --kernel-output needs a value");
  expect_failure(ARGS(BASE, "--kernel-output="), 2, "needs a non-empty value");
  expect_failure(ARGS(BASE, "--kernel-output", k, "--seed", "1", "--seed", "2"), 2,
                 "option --seed given more than once");
  expect_failure(ARGS(BASE, "--kernel-output", k, "stray"), 2, "unexpected argument 'stray'");
  expect_failure(ARGS(BASE, "--kernel-output", k, "--no-bias=1"), 2, "--no-bias takes no value");
  expect_failure(ARGS(BASE, "--kernel-output", k, "--no-bias", "--bias-output", b), 2,
                 "--bias-output cannot be combined with --no-bias");
  expect_failure(ARGS(BASE, "--kernel-output", k, "--bias-output", k), 2, "are the same file");
  expect_failure(ARGS(BASE, "--kernel-output", k, "--dtype", "float16"), 2,
                 "--dtype must be float32 or float64, got 'float16'");
  expect_failure(ARGS(BASE, "--kernel-output", k, "--dtype", "Float32"), 2, "--dtype");
}
END_TEST

/* init with these sizes (and --kernel-output): a failure. */
static void expect_sizes_failure(const char *in_channels, const char *filters,
                                 const char *kernel_size, int status, const char *needle) {
  expect_failure(ARGS("init", "--in-channels", in_channels, "--filters", filters, "--kernel-size",
                      kernel_size, "--kernel-output", out_path("k.npy")),
                 status, needle);
}

START_TEST(test_err_numbers) {
  const char *k = out_path("k.npy");
  expect_sizes_failure("x", "3", "2", 2, "--in-channels expects a non-negative integer, got 'x'");
  expect_sizes_failure("2", "-3", "2", 2, "--filters expects a non-negative integer");
  expect_sizes_failure("2", "3", "2.5", 2, "--kernel-size expects");
  expect_sizes_failure("2", "3", "99999999999999999999", 2, "out of range");
  expect_failure(ARGS(BASE, "--kernel-output", k, "--seed", "18446744073709551616"), 2,
                 "--seed: '18446744073709551616' is out of range");
  expect_failure(ARGS(BASE, "--kernel-output", k, "--seed", "-1"), 2,
                 "--seed expects a non-negative integer");
  expect_failure(ARGS(BASE, "--kernel-output", k, "--seed", "0x10"), 2, "--seed expects");
  /* Keras's own errors, from the library. */
  expect_sizes_failure("2", "0", "2", 2, "Received filters=0");
  expect_sizes_failure("0", "3", "2", 2, "in_channels=0");
  expect_sizes_failure("2", "3", "0", 2, "kernel_size=0");
  /* Too large for this machine: not a usage error. */
  expect_sizes_failure("100000000", "100000000", "100000000", 1, "too large");
}
END_TEST

START_TEST(test_err_initializers) {
  const char *k = out_path("k.npy"), *b = out_path("b.npy");
  expect_failure(ARGS(BASE, "--kernel-output", k, "--kernel-initializer", "xavier"), 2,
                 "invalid --kernel-initializer: Could not interpret initializer identifier: "
                 "xavier");
  expect_failure(ARGS(BASE, "--kernel-output", k, "--bias-initializer", "Glorot_Uniform"), 2,
                 "invalid --bias-initializer");
  expect_failure(ARGS(BASE, "--kernel-output", k, "--kernel-initializer", "STFT"), 2,
                 "not implemented");
  expect_failure(ARGS(BASE, "--kernel-output", k, "--kernel-initializer", "identity"), 2,
                 "Identity matrix initializer can only be used for 2D matrices. Received: "
                 "shape=(2, 3, 2) of rank 3.");
  expect_failure(
      ARGS(BASE, "--kernel-output", k, "--bias-output", b, "--bias-initializer", "orthogonal"), 2,
      "bias_initializer: The tensor to initialize must be at least two-dimensional");
  /* Without a bias its initializer is never called (Keras's behaviour too). */
  expect_success(ARGS(BASE, "--kernel-output", k, "--no-bias", "--bias-initializer", "Identity"));
}
END_TEST

START_TEST(test_err_paths) {
  char missing[4400];
  snprintf(missing, sizeof missing, "%s/no/such/dir/k.npy", work_dir);
  const char *k = out_path("k.npy");
  expect_failure(ARGS(BASE, "--kernel-output", missing), 1, "does not exist");
  expect_failure(ARGS(BASE, "--kernel-output", work_dir), 1, "is a directory");
  /* A bad bias path: the kernel is not written either. */
  expect_failure(ARGS(BASE, "--kernel-output", k, "--bias-output", missing), 1, "--bias-output");
}
END_TEST

/* A failed command leaves existing outputs as they were. */
START_TEST(test_err_keeps_existing_output) {
  const char *k = out_path("k.npy"), *b = out_path("b.npy");
  expect_success(
      ARGS(BASE, "--kernel-output", k, "--bias-output", b, "--bias-initializer", "ones"));
  npy_array k0 = load_npy(k), b0 = load_npy(b);
  const char *const *const failing[] = {
      ARGS(BASE, "--kernel-output", k, "--bias-output", b, "--kernel-initializer", "identity"),
      ARGS(BASE, "--kernel-output", k, "--bias-output", b, "--seed", "x"),
      ARGS(BASE, "--kernel-output", k, "--bias-output", "/nonexistent-dir/b.npy"),
  };
  for (size_t i = 0; i < sizeof failing / sizeof failing[0]; i++) {
    result r = run_cli(failing[i]);
    ck_assert_msg(r.status == 1 || r.status == 2, "case %zu: exit %d", i, r.status);
    free_result(&r);
    npy_array k1 = load_npy(k), b1 = load_npy(b);
    ck_assert(k1.nbytes == k0.nbytes && memcmp(k1.data, k0.data, k0.nbytes) == 0);
    ck_assert(b1.nbytes == b0.nbytes && memcmp(b1.data, b0.data, b0.nbytes) == 0);
    npy_free(&k1);
    npy_free(&b1);
    ck_assert_int_eq(count_entries(out_dir), 2); /* no temporary left */
  }
  npy_free(&k0);
  npy_free(&b0);
}
END_TEST

static Suite *cli_init_suite(void) {
  Suite *s = cli_suite_create("cli_init");
  TCase *tc = cli_tcase_create(s, "success", 60);
  tcase_add_test(tc, test_defaults);
  tcase_add_test(tc, test_initializers_match_library);
  tcase_add_test(tc, test_bias_options);
  tcase_add_test(tc, test_help);
  tc = cli_tcase_create(s, "errors", 60);
  tcase_add_test(tc, test_err_usage);
  tcase_add_test(tc, test_err_numbers);
  tcase_add_test(tc, test_err_initializers);
  tcase_add_test(tc, test_err_paths);
  tcase_add_test(tc, test_err_keeps_existing_output);
  return s;
}

int main(void) {
  return run_suite(cli_init_suite());
}
