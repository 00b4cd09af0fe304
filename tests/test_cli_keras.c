/* End-to-end tests of the conv1dt program on Keras files: `run` and `grad` with --keras-model,
 * --keras-config + --keras-weights and --layer on files written by real Keras
 * (tests/fixtures/keras-files/, tests/keras/gen_keras_files.py), compared with Keras's outputs;
 * `inspect`; and every error class: usage errors (exit 2) for flags that restate what the file
 * holds, failures (exit 1) for a missing layer, another class, a file that is not Keras's, a
 * truncated archive, an input that does not fit — each with a message and no output file. */
#define _XOPEN_SOURCE 700

#include "cli_harness.h"
#include "conv1dt.h"
#include "npy.h"

#include <check.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *kf(const char *name) {
  static char buf[16][4096];
  static int next;
  char *p = buf[next++ % 16];
  const char *d = getenv("CONV1DT_KERAS_FILES");
  snprintf(p, 4096, "%s/%s", d ? d : "tests/fixtures/keras-files", name);
  return p;
}

static const char *field(json_object *c, const char *key) {
  json_object *v;
  return json_object_object_get_ex(c, key, &v) ? json_object_get_string(v) : NULL;
}

static void expect_close(const char *got_path, const char *want_path, const char *what) {
  npy_array a = load_npy(got_path), b = load_npy(want_path);
  ck_assert_msg(a.ndim == b.ndim && a.dtype == b.dtype, "%s: rank or dtype", what);
  size_t n = 1;
  for (int i = 0; i < a.ndim; i++) {
    ck_assert_msg(a.shape[i] == b.shape[i], "%s: shape", what);
    n *= (size_t)a.shape[i];
  }
  const double tol = a.dtype == NPY_FLOAT32 ? 2e-5 : 1e-12;
  for (size_t i = 0; i < n; i++) {
    double x = a.dtype == NPY_FLOAT32 ? ((float *)a.data)[i] : ((double *)a.data)[i];
    double y = a.dtype == NPY_FLOAT32 ? ((float *)b.data)[i] : ((double *)b.data)[i];
    ck_assert_msg(fabs(x - y) <= tol * (1 + fabs(y)), "%s: [%zu] %.9g vs %.9g", what, i, x, y);
  }
  npy_free(&a);
  npy_free(&b);
}

/* Every case of cases.json through `conv1dt run`, as Keras computed it. */
START_TEST(test_run_matches_keras) {
  json_object *all = json_object_from_file(kf("cases.json"));
  ck_assert(all != NULL);
  static const char *const algorithms[] = {NULL, "gemm", "direct", "gemm_accumulate"};
  for (size_t i = 0; i < json_object_array_length(all); i++) {
    json_object *c = json_object_array_get_idx(all, i);
    const char *out = out_path("y.npy");
    args_start("run", i % 2 ? FLAGS_EQUALS : FLAGS_SPACED);
    if (field(c, "model")) {
      args_flag("--keras-model", kf(field(c, "model")));
    } else {
      args_flag("--keras-config", kf(field(c, "config")));
      args_flag("--keras-weights", kf(field(c, "weights")));
    }
    args_flag("--layer", field(c, "layer"));
    args_flag("--input", kf(field(c, "input")));
    args_flag("--output", out);
    if (algorithms[i % 4]) args_flag("--algorithm", algorithms[i % 4]);
    expect_success(args_end());
    expect_close(out, kf(field(c, "expected")), field(c, "name"));
    remove(out);
  }
  json_object_put(all);
}
END_TEST

/* `grad` on a Keras layer gives what the library gives for the same layer. */
START_TEST(test_grad_keras_model) {
  conv1dt_layer *layer = NULL;
  ck_assert_int_eq(conv1dt_create_from_keras(kf("k3_seq.keras"), "up", &layer), CONV1DT_OK);
  npy_array x = load_npy(kf("k3_seq_up_x.npy"));
  int64_t ys[3], zs[3];
  ck_assert_int_eq(conv1dt_output_shape(layer, 2, 9, ys), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_preactivation_shape(layer, 2, 9, zs), CONV1DT_OK);
  arr_seed(11);
  const char *dy_path = in_path("dy.npy");
  arr dy = make_arr(NPY_FLOAT32, 3, ys[0], ys[1], ys[2]);
  save_arr(&dy, dy_path);
  float *dyf = malloc(dy.n * sizeof *dyf), *y = malloc(dy.n * sizeof *y);
  for (size_t i = 0; i < dy.n; i++) dyf[i] = (float)dy.v[i];
  float *pre = malloc((size_t)(zs[0] * zs[1] * zs[2]) * sizeof *pre);
  float dx[2 * 9 * 4], dk[3 * 5 * 4], db[5];
  ck_assert_int_eq(conv1dt_forward_train(layer, x.data, 2, 9, y, pre, NULL, 0), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_backward(layer, x.data, 2, 9, pre, dyf, dx, dk, db, NULL, 0),
                   CONV1DT_OK);
  expect_success(ARGS("grad", "--keras-model", kf("k3_seq.keras"), "--layer", "up", "--input",
                      kf("k3_seq_up_x.npy"), "--grad-output", dy_path, "--grad-input",
                      out_path("dx.npy"), "--grad-kernel", out_path("dk.npy"), "--grad-bias",
                      out_path("db.npy")));
  npy_array a = load_npy(out_path("dx.npy")), k = load_npy(out_path("dk.npy")),
            b = load_npy(out_path("db.npy"));
  ck_assert(k.ndim == 3 && k.shape[0] == 3 && k.shape[1] == 5 && k.shape[2] == 4);
  ck_assert(b.ndim == 1 && b.shape[0] == 5);
  ck_assert(memcmp(a.data, dx, sizeof dx) == 0 && memcmp(k.data, dk, sizeof dk) == 0 &&
            memcmp(b.data, db, sizeof db) == 0);
  npy_free(&a);
  npy_free(&k);
  npy_free(&b);
  remove(out_path("dx.npy"));
  remove(out_path("dk.npy"));
  remove(out_path("db.npy"));
  /* A layer without a bias has no --grad-bias. */
  expect_failure(ARGS("grad", "--keras-model", kf("k2_seq.h5"), "--layer", "k2_dil", "--input",
                      kf("k2_seq_dil_x.npy"), "--grad-output", dy_path, "--grad-bias",
                      out_path("db.npy")),
                 0, "no bias");
  free(dy.v);
  free(dyf);
  free(y);
  free(pre);
  npy_free(&x);
  conv1dt_destroy(layer);
}
END_TEST

START_TEST(test_inspect) {
  result r = run_cli(ARGS("inspect", kf("k3_seq.keras")));
  ck_assert_int_eq(r.status, 0);
  ck_assert_msg(strstr(r.out, "2 Conv1DTranspose layers") &&
                    strstr(r.out, "up: Conv1DTranspose(filters=5, kernel_size=3, strides=2, "
                                  "padding=same, output_padding=1, data_format=channels_last, "
                                  "dilation_rate=1, activation=gelu, use_bias=True, "
                                  "dtype=float32)\n  kernel (3, 5, 4), bias (5,)\n"),
                "%s", r.out);
  free_result(&r);
  r = run_cli(ARGS("inspect", kf("k3_func.json")));
  ck_assert_int_eq(r.status, 0);
  ck_assert_msg(strstr(r.out, "inner_ct: Conv1DTranspose(filters=4, kernel_size=2") &&
                    strstr(r.out, "data_format=channels_first, dilation_rate=3, activation=relu6, "
                                  "use_bias=False, dtype=float64)"),
                "%s", r.out);
  free_result(&r);
  expect_help(ARGS("inspect", "--help"), "usage: conv1dt inspect FILE", NULL);
  expect_failure(ARGS("inspect"), 2, "one file");
  expect_failure(ARGS("inspect", kf("k3_seq_up_x.npy")), 1, "not a Keras file");
  expect_failure(ARGS("inspect", kf("k3_func.weights.h5")), 1, "holds no model config");
}
END_TEST

START_TEST(test_usage_errors) {
  const char *m = kf("k3_seq.keras"), *x = kf("k3_seq_up_x.npy"), *y = out_path("y.npy");
  expect_failure(ARGS("run", "--keras-model", m, "--layer", "up", "--input", x, "--output", y,
                      "--strides", "2"),
                 2, "--strides cannot be combined with --keras-model");
  expect_failure(ARGS("run", "--keras-model", m, "--input", x, "--output", y, "--kernel", x), 2,
                 "--kernel cannot be combined");
  expect_failure(ARGS("run", "--keras-config", kf("k3_func.json"), "--input", x, "--output", y,
                      "--activation", "relu", "--keras-weights", kf("k3_func.weights.h5")),
                 2, "--activation cannot be combined with --keras-config");
  expect_failure(ARGS("run", "--keras-config", kf("k3_func.json"), "--input", x, "--output", y), 2,
                 "--keras-config and --keras-weights go together");
  expect_failure(ARGS("run", "--keras-model", m, "--keras-weights", kf("k3_func.weights.h5"),
                      "--input", x, "--output", y),
                 2, "cannot be combined with --keras-config or --keras-weights");
  expect_failure(ARGS("run", "--layer", "up", "--input", x, "--output", y), 2,
                 "--layer names a layer of a Keras file");
  expect_failure(ARGS("run", "--input", x, "--output", y), 2, "missing required option --kernel");
  expect_failure(ARGS("grad", "--keras-model", m, "--layer", "up", "--input", x, "--grad-output", x,
                      "--grad-input", y, "--padding", "same"),
                 2, "--padding cannot be combined");
}
END_TEST

START_TEST(test_failures) {
  const char *m = kf("k3_seq.keras"), *x = kf("k3_seq_up_x.npy"), *y = out_path("y.npy");
  expect_failure(ARGS("run", "--keras-model", m, "--layer", "nope", "--input", x, "--output", y), 1,
                 "no layer named 'nope'");
  expect_failure(
      ARGS("run", "--keras-model", m, "--layer", "dense_in", "--input", x, "--output", y), 1,
      "layer 'dense_in' is a Dense, not a Conv1DTranspose");
  expect_failure(ARGS("run", "--keras-model", m, "--input", x, "--output", y), 1,
                 "2 Conv1DTranspose layers: name one");
  expect_failure(ARGS("run", "--keras-model", x, "--layer", "up", "--input", x, "--output", y), 1,
                 "not a Keras file");
  /* the input of another layer: wrong channels; float64 input for a float32 layer */
  expect_failure(ARGS("run", "--keras-model", m, "--layer", "up", "--input", kf("k3_seq_up2_x.npy"),
                      "--output", y),
                 1, "but the Keras layer expects 4");
  expect_failure(ARGS("run", "--keras-model", m, "--layer", "up", "--input",
                      kf("k3_func_inner_x.npy"), "--output", y),
                 1, "--input is float64 but the Keras layer is float32");
  /* a truncated archive */
  size_t len;
  unsigned char *b = read_all(m, &len);
  write_all(in_path("cut.keras"), b, len / 2);
  expect_failure(ARGS("run", "--keras-model", in_path("cut.keras"), "--layer", "up", "--input", x,
                      "--output", y),
                 1, "not a readable .keras archive");
  /* corrupted bytes inside the compressed weights: the CRC catches them */
  free(b);
  /* HDF5 metadata damaged in a way libhdf5 would crash on */
  expect_failure(ARGS("run", "--keras-config", kf("k3_func.json"), "--keras-weights",
                      kf("damaged-group-heap-address.h5"), "--layer", "outer_ct", "--input",
                      kf("k3_func_outer_x.npy"), "--output", y),
                 1,
                 "damaged-group-heap-address.h5: corrupted HDF5 file: the pointer to a local heap");
}
END_TEST

/* `save` from .npy weights and flags: running the saved file gives what the flags give. */
START_TEST(test_save) {
  arr_seed(5);
  save_random(in_path("k.npy"), NPY_FLOAT64, 3, 3, 4, 2);
  save_random(in_path("b.npy"), NPY_FLOAT64, 1, 4, 0, 0);
  save_random(in_path("x.npy"), NPY_FLOAT64, 3, 2, 2, 5);
  const char *m = out_path("m.keras");
  expect_success(ARGS("save", "--kernel", in_path("k.npy"), "--bias", in_path("b.npy"), "--strides",
                      "2", "--output-padding", "1", "--data-format", "channels_first",
                      "--activation", "elu", "--name", "up", "--output", m));
  expect_success(ARGS("run", "--kernel", in_path("k.npy"), "--bias", in_path("b.npy"), "--strides",
                      "2", "--output-padding", "1", "--data-format", "channels_first",
                      "--activation", "elu", "--input", in_path("x.npy"), "--output",
                      out_path("want.npy")));
  expect_success(ARGS("run", "--keras-model", m, "--input", in_path("x.npy"), "--output",
                      out_path("got.npy")));
  npy_array a = load_npy(out_path("got.npy")), b = load_npy(out_path("want.npy"));
  ck_assert(a.nbytes == b.nbytes && memcmp(a.data, b.data, a.nbytes) == 0);
  npy_free(&a);
  npy_free(&b);
  result r = run_cli(ARGS("inspect", m));
  ck_assert_msg(strstr(r.out, "up: Conv1DTranspose(filters=4, kernel_size=3, strides=2, "
                              "padding=valid, output_padding=1, data_format=channels_first"),
                "%s", r.out);
  free_result(&r);
  /* A Keras 2 layer becomes a Keras 3 file; its name stays. */
  const char *m2 = out_path("k2.keras");
  expect_success(
      ARGS("save", "--keras-model", kf("k2_seq.h5"), "--layer", "k2_up", "--output", m2));
  expect_success(ARGS("run", "--keras-model", m2, "--layer", "k2_up", "--input",
                      kf("k2_seq_up_x.npy"), "--output", out_path("y2.npy")));
  expect_close(out_path("y2.npy"), kf("k2_seq_up_y.npy"), "k2_up saved as .keras");
  remove(m);
  remove(m2);
  remove(out_path("got.npy"));
  remove(out_path("want.npy"));
  remove(out_path("y2.npy"));
  /* errors: nothing written */
  expect_failure(
      ARGS("save", "--kernel", in_path("k.npy"), "--input", in_path("x.npy"), "--output", m), 2,
      "save takes no --input");
  expect_failure(ARGS("save", "--kernel", in_path("k.npy"), "--output", m, "--name", "a/b"), 2,
                 "layer_name 'a/b'");
  expect_failure(
      ARGS("save", "--keras-model", kf("k3_seq.keras"), "--layer", "nope", "--output", m), 1,
      "no layer named 'nope'");
  expect_failure(ARGS("save", "--kernel", in_path("b.npy"), "--output", m), 1, "expected rank 3");
}
END_TEST

static Suite *cli_keras_suite(void) {
  Suite *s = cli_suite_create("cli_keras");
  TCase *tc = cli_tcase_create(s, "success", 120);
  tcase_add_test(tc, test_run_matches_keras);
  tcase_add_test(tc, test_grad_keras_model);
  tcase_add_test(tc, test_inspect);
  tcase_add_test(tc, test_save);
  tc = cli_tcase_create(s, "errors", 60);
  tcase_add_test(tc, test_usage_errors);
  tcase_add_test(tc, test_failures);
  return s;
}

int main(void) {
  return run_suite(cli_keras_suite());
}
