/* End-to-end tests of `conv1dt grad`: spawns $CONV1DT_CLI, checks the gradient files against a
 * direct loop written here from the Keras rules (independent of the library), and every error
 * class: non-zero exit (2 usage, 1 other), "conv1dt: error:" on stderr, no output file and no
 * temporary left behind — also when a later output fails after an earlier one was written.
 * Work files go under $CONV1DT_TEST_TMP. */
#define _XOPEN_SOURCE 700

#include "cli_harness.h"
#include "npy.h"

#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------------------------------------- */
/* Test data and an independent reference */

typedef struct {
  int64_t T, crop;
  arr x, w, b, dy;
  double *dx, *dk, *db; /* expected */
} grad_case;

static size_t xi(const spec *p, int64_t b, int64_t l, int64_t c) {
  return (size_t)(p->cf ? (b * p->C + c) * p->L + l : (b * p->L + l) * p->C + c);
}
static size_t yi(const spec *p, int64_t T, int64_t b, int64_t t, int64_t f) {
  return (size_t)(p->cf ? (b * p->F + f) * T + t : (b * T + t) * p->F + f);
}

/* Draws the inputs, saves them, and computes the expected gradients by direct loops:
 * z[b,t,f] = bias[f] + sum_{l,k: l*s + k*d - crop = t} sum_c x[b,l,c] W[k,f,c]; dz from the
 * activation's derivative (softmax's Jacobian along the last axis); then dx, dW, db as sums over
 * the same index relation. */
static grad_case make_case(const spec *p) {
  grad_case g;
  memset(&g, 0, sizeof g);
  spec_geometry(p, &g.T, &g.crop);
  const int64_t T = g.T;
  arr_seed((uint64_t)(p->s * 1000 + p->K * 100 + p->F * 10 + p->C) ^ 0xC0FFEEULL);
  g.x = p->cf ? make_arr(p->dtype, 3, p->B, p->C, p->L) : make_arr(p->dtype, 3, p->B, p->L, p->C);
  g.w = make_arr(p->dtype, 3, p->K, p->F, p->C);
  g.b = make_arr(p->dtype, 1, p->F, 0, 0);
  g.dy = p->cf ? make_arr(p->dtype, 3, p->B, p->F, T) : make_arr(p->dtype, 3, p->B, T, p->F);
  save_arr(&g.x, in_path("x.npy"));
  save_arr(&g.w, in_path("k.npy"));
  save_arr(&g.b, in_path("b.npy"));
  save_arr(&g.dy, in_path("dy.npy"));
  const size_t nz = (size_t)(p->B * T * p->F);
  double *z = calloc(nz + 1, sizeof *z), *dz = calloc(nz + 1, sizeof *dz);
  ck_assert(z && dz);
  for (int64_t b = 0; b < p->B; b++)
    for (int64_t t = 0; t < T; t++)
      for (int64_t f = 0; f < p->F; f++) {
        double sum = p->bias ? g.b.v[f] : 0.0;
        for (int64_t l = 0; l < p->L; l++)
          for (int64_t k = 0; k < p->K; k++)
            if (l * p->s + k * p->d - g.crop == t)
              for (int64_t c = 0; c < p->C; c++)
                sum += g.x.v[xi(p, b, l, c)] * g.w.v[(k * p->F + f) * p->C + c];
        z[yi(p, T, b, t, f)] = sum;
      }
  const char *a = p->act ? p->act : "linear";
  if (strcmp(a, "softmax") == 0) {
    /* rows of the last axis: filters (channels_last) or steps (channels_first) */
    const size_t len = (size_t)(p->cf ? T : p->F);
    for (size_t r = 0; len && r < nz / len; r++) {
      const double *zr = z + r * len, *dyr = g.dy.v + r * len;
      double mx = zr[0], sum = 0, dot = 0;
      for (size_t i = 1; i < len; i++) mx = fmax(mx, zr[i]);
      for (size_t i = 0; i < len; i++) sum += exp(zr[i] - mx);
      for (size_t i = 0; i < len; i++) dot += dyr[i] * exp(zr[i] - mx) / sum;
      for (size_t i = 0; i < len; i++) dz[r * len + i] = exp(zr[i] - mx) / sum * (dyr[i] - dot);
    }
  } else {
    for (size_t i = 0; i < nz; i++) {
      double d = 1.0;
      if (strcmp(a, "relu") == 0) d = z[i] > 0 ? 1.0 : 0.0;
      if (strcmp(a, "tanh") == 0) d = 1.0 - tanh(z[i]) * tanh(z[i]);
      if (strcmp(a, "sigmoid") == 0) d = exp(-z[i]) / ((1.0 + exp(-z[i])) * (1.0 + exp(-z[i])));
      dz[i] = d * g.dy.v[i];
    }
  }
  g.dx = calloc(g.x.n + 1, sizeof(double));
  g.dk = calloc(g.w.n + 1, sizeof(double));
  g.db = calloc((size_t)p->F + 1, sizeof(double));
  ck_assert(g.dx && g.dk && g.db);
  for (int64_t b = 0; b < p->B; b++)
    for (int64_t l = 0; l < p->L; l++)
      for (int64_t k = 0; k < p->K; k++) {
        const int64_t t = l * p->s + k * p->d - g.crop;
        if (t < 0 || t >= T) continue;
        for (int64_t f = 0; f < p->F; f++)
          for (int64_t c = 0; c < p->C; c++) {
            const double d = dz[yi(p, T, b, t, f)];
            g.dx[xi(p, b, l, c)] += g.w.v[(k * p->F + f) * p->C + c] * d;
            g.dk[(k * p->F + f) * p->C + c] += g.x.v[xi(p, b, l, c)] * d;
          }
      }
  for (int64_t b = 0; b < p->B; b++)
    for (int64_t t = 0; t < T; t++)
      for (int64_t f = 0; f < p->F; f++) g.db[f] += dz[yi(p, T, b, t, f)];
  free(z);
  free(dz);
  return g;
}

static void free_case(grad_case *g) {
  free(g->x.v);
  free(g->w.v);
  free(g->b.v);
  free(g->dy.v);
  free(g->dx);
  free(g->dk);
  free(g->db);
}

/* Loads `path` and compares it with want (shape and values). */
static void expect_file(const char *path, const spec *p, int ndim, const int64_t *shape,
                        const double *want) {
  npy_array a;
  char err[256];
  ck_assert_msg(npy_load(path, &a, err, sizeof err) == NPY_OK, "%s: %s", path, err);
  ck_assert_int_eq(a.dtype, p->dtype);
  ck_assert_int_eq(a.ndim, ndim);
  for (int i = 0; i < ndim; i++) ck_assert_int_eq(a.shape[i], shape[i]);
  double scale = 0;
  for (size_t i = 0; i < a.count; i++) scale = fmax(scale, fabs(want[i]));
  const double tol = (p->dtype == NPY_FLOAT32 ? 5e-5 : 1e-12) * (1 + scale);
  for (size_t i = 0; i < a.count; i++) {
    const double got = p->dtype == NPY_FLOAT32 ? ((float *)a.data)[i] : ((double *)a.data)[i];
    ck_assert_msg(fabs(got - want[i]) <= tol, "%s[%zu] = %.17g, expected %.17g", path, i, got,
                  want[i]);
  }
  npy_free(&a);
}

/* The grad command for a spec; `which` selects outputs (1 dx, 2 dk, 4 db). */
static const char *const *grad_args(const spec *p, int which, bool eq_form) {
  args_start("grad", eq_form ? FLAGS_EQUALS : FLAGS_SPACED);
  args_flag("--input", in_path("x.npy"));
  args_flag("--kernel", in_path("k.npy"));
  if (p->bias) args_flag("--bias", in_path("b.npy"));
  args_flag("--grad-output", in_path("dy.npy"));
  if (which & 1) args_flag("--grad-input", out_path("dx.npy"));
  if (which & 2) args_flag("--grad-kernel", out_path("dk.npy"));
  if (which & 4) args_flag("--grad-bias", out_path("db.npy"));
  args_layer_flags(p, NULL);
  return args_end();
}

static void check_grad(const spec *p, int which, bool eq_form) {
  grad_case g = make_case(p);
  result r = run_cli(grad_args(p, which, eq_form));
  ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
  ck_assert_str_eq(r.out, "");
  ck_assert_str_eq(r.err, "");
  free_result(&r);
  int want_files = !!(which & 1) + !!(which & 2) + !!(which & 4);
  ck_assert_int_eq(count_entries(out_dir), want_files); /* no temporaries */
  if (which & 1) expect_file(out_path("dx.npy"), p, 3, g.x.shape, g.dx);
  if (which & 2) expect_file(out_path("dk.npy"), p, 3, g.w.shape, g.dk);
  if (which & 4) expect_file(out_path("db.npy"), p, 1, g.b.shape, g.db);
  free_case(&g);
}

/* ------------------------------------------------------------------------------------------- */
/* Numbers */

static const spec specs[] = {
    /* cf,  same,  bias, dtype,      op, s, d, K, F, C, B, L, activation */
    {false, false, true, NPY_FLOAT64, -1, 2, 1, 3, 4, 3, 2, 5, "relu"},
    {true, true, true, NPY_FLOAT32, -1, 2, 1, 3, 3, 2, 2, 4, NULL},
    {false, true, true, NPY_FLOAT64, 1, 3, 1, 4, 2, 3, 1, 6, "tanh"},
    {true, false, true, NPY_FLOAT64, 0, 1, 2, 3, 5, 4, 3, 7, "sigmoid"},
    {false, true, true, NPY_FLOAT32, -1, 1, 3, 2, 3, 2, 2, 5, "softmax"},
    {true, true, true, NPY_FLOAT64, 1, 2, 1, 5, 4, 3, 2, 6, "softmax"},
    {true, false, false, NPY_FLOAT32, -1, 4, 1, 2, 2, 1, 1, 3, "linear"},
    {false, false, false, NPY_FLOAT64, 2, 3, 1, 2, 3, 2, 2, 4, "tanh"},
};

START_TEST(test_grad_numbers) {
  const spec *p = &specs[_i];
  check_grad(p, p->bias ? 7 : 3, false);
}
END_TEST

START_TEST(test_grad_subsets_and_equals_form) {
  static const int masks[] = {1, 2, 4, 5, 6};
  for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++) {
    check_grad(&specs[i % 2 ? 5 : 0], masks[i], i % 2 == 0);
    const char *names[] = {"dx.npy", "dk.npy", "db.npy"};
    for (int k = 0; k < 3; k++) unlink(out_path(names[k]));
  }
}
END_TEST

START_TEST(test_grad_replaces_existing) {
  write_all(out_path("dk.npy"), "old", 3);
  check_grad(&specs[0], 2, false);
}
END_TEST

START_TEST(test_grad_help) {
  const char *const *forms[] = {ARGS("grad", "--help"), ARGS("help", "grad"),
                                ARGS("grad", "-h", "--input")};
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++)
    expect_help(forms[i], "usage: conv1dt grad", "--grad-kernel");
  expect_help(ARGS("--help"), "conv1dt grad", NULL);
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* Failures */

START_TEST(test_grad_usage_errors) {
  grad_case g = make_case(&specs[0]);
  const char *x = in_path("x.npy"), *k = in_path("k.npy"), *b = in_path("b.npy"),
             *dy = in_path("dy.npy");
  const char *dx = out_path("dx.npy"), *dk = out_path("dk.npy");
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--grad-input", dx), 2, "--grad-output");
  expect_failure(ARGS("grad", "--kernel", k, "--grad-output", dy, "--grad-input", dx), 2,
                 "--input");
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--grad-output", dy), 2,
                 "at least one of --grad-input");
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--grad-output", dy, "--grad-bias",
                      out_path("db.npy")),
                 2, "needs --bias");
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--grad-output", dy, "--output", dx), 2,
                 "unknown option '--output'");
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--bias", b, "--grad-output", dy,
                      "--grad-input", dx, "--grad-kernel", dx),
                 2, "same file");
  expect_failure(ARGS("grad", "--input", x, "--input", x, "--kernel", k, "--grad-output", dy,
                      "--grad-input", dx),
                 2, "more than once");
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--grad-output", "--grad-input", dx), 2,
                 "needs a value");
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--grad-output", dy, "--grad-input", dx,
                      "--strides", "two"),
                 2, "--strides");
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--grad-output", dy, "--grad-input", dx,
                      "--activation", "nope"),
                 2, "activation");
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--grad-output", dy, "--grad-kernel", dk,
                      "--strides", "2", "--output-padding", "2"),
                 2, "output_padding");
  expect_failure(ARGS("grad", "stray", "--input", x), 2, "unexpected argument");
  free_case(&g);
}
END_TEST

START_TEST(test_grad_file_errors) {
  grad_case g = make_case(&specs[0]); /* float64, channels_last, (2, 5, 3) -> (2, 11, 4) */
  const char *x = in_path("x.npy"), *k = in_path("k.npy"), *b = in_path("b.npy"),
             *dy = in_path("dy.npy");
  const char *dx = out_path("dx.npy"), *dk = out_path("dk.npy");
  /* dy of the wrong shape, wrong dtype, rank, missing */
  arr_seed(3);
  save_random(in_path("dy_shape.npy"), NPY_FLOAT64, 3, 2, 10, 4);
  save_random(in_path("dy_f32.npy"), NPY_FLOAT32, 3, 2, 11, 4);
  save_random(in_path("dy_rank.npy"), NPY_FLOAT64, 2, 22, 4, 0);
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--bias", b, "--grad-output",
                      in_path("dy_shape.npy"), "--grad-input", dx, "--strides", "2"),
                 1, "expected (2, 11, 4)");
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--bias", b, "--grad-output",
                      in_path("dy_f32.npy"), "--grad-input", dx, "--strides", "2"),
                 1, "float32");
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--bias", b, "--grad-output",
                      in_path("dy_rank.npy"), "--grad-input", dx, "--strides", "2"),
                 1, "--grad-output has shape (22, 4)");
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--grad-output", in_path("missing.npy"),
                      "--grad-input", dx, "--strides", "2"),
                 1, "cannot read --grad-output");
  /* the kernel's channels differ from the input's */
  arr_seed(5);
  save_random(in_path("k_c2.npy"), NPY_FLOAT64, 3, 3, 4, 2);
  expect_failure(ARGS("grad", "--input", x, "--kernel", in_path("k_c2.npy"), "--grad-output", dy,
                      "--grad-input", dx, "--strides", "2"),
                 1, "channels");
  /* output paths: a directory, a missing directory */
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--grad-output", dy, "--grad-input",
                      out_dir, "--strides", "2"),
                 1, "is a directory");
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--grad-output", dy, "--grad-kernel",
                      out_path("nowhere/dk.npy"), "--strides", "2"),
                 1, "does not exist");
  /* glu over an odd number of steps (channels_first, 4 steps, K 2: 5): the library refuses */
  save_random(in_path("x_cf.npy"), NPY_FLOAT64, 3, 1, 3, 4);
  save_random(in_path("k_cf.npy"), NPY_FLOAT64, 3, 2, 2, 3);
  expect_failure(ARGS("grad", "--input", in_path("x_cf.npy"), "--kernel", in_path("k_cf.npy"),
                      "--grad-output", dy, "--grad-kernel", dk, "--data-format", "channels_first",
                      "--activation", "glu"),
                 1, "glu");
  free_case(&g);
}
END_TEST

/* A later output that cannot be written (its name is longer than the file system allows: its
 * staging fails, or its publish when the staged file needs no name) after an earlier one was:
 * neither exists afterwards, and an older file under the earlier name is left as it was. */
START_TEST(test_grad_second_output_fails) {
  grad_case g = make_case(&specs[0]);
  char longname[300];
  memset(longname, 'a', 256);
  strcpy(longname + 256, ".npy");
  expect_failure(ARGS("grad", "--input", in_path("x.npy"), "--kernel", in_path("k.npy"), "--bias",
                      in_path("b.npy"), "--grad-output", in_path("dy.npy"), "--grad-input",
                      out_path("dx.npy"), "--grad-kernel", out_path(longname), "--strides", "2"),
                 1, "--grad-kernel");
  expect_failure(ARGS("grad", "--input", in_path("x.npy"), "--kernel", in_path("k.npy"), "--bias",
                      in_path("b.npy"), "--grad-output", in_path("dy.npy"), "--grad-input",
                      out_path("dx.npy"), "--grad-kernel", out_path("dk.npy"), "--grad-bias",
                      out_path(longname), "--strides", "2"),
                 1, "--grad-bias");
  /* A long name whose hidden staging name (".NAME.XXXXXX", 9 more) still fits is written. */
  char midname[300];
  memset(midname, 'b', 242);
  strcpy(midname + 242, ".npy");
  expect_success(ARGS("grad", "--input", in_path("x.npy"), "--kernel", in_path("k.npy"), "--bias",
                      in_path("b.npy"), "--grad-output", in_path("dy.npy"), "--grad-input",
                      out_path("dx.npy"), "--grad-kernel", out_path("dk.npy"), "--grad-bias",
                      out_path(midname), "--strides", "2"));
  ck_assert_int_eq(count_entries(out_dir), 3);
  unlink(out_path("dx.npy"));
  unlink(out_path("dk.npy"));
  unlink(out_path(midname));
  write_all(out_path("dx.npy"), "precious", 8);
  result r = run_cli(ARGS("grad", "--input", in_path("x.npy"), "--kernel", in_path("k.npy"),
                          "--grad-output", in_path("dy.npy"), "--grad-input", out_path("dx.npy"),
                          "--grad-kernel", out_path(longname), "--strides", "2"));
  ck_assert_int_eq(r.status, 1);
  ck_assert_ptr_nonnull(strstr(r.err, "conv1dt: error: "));
  free_result(&r);
  ck_assert_int_eq(count_entries(out_dir), 1);
  char *text = slurp(out_path("dx.npy"));
  ck_assert_str_eq(text, "precious");
  free(text);
  free_case(&g);
}
END_TEST

static Suite *grad_suite(void) {
  Suite *s = cli_suite_create("cli_grad");
  TCase *tc = cli_tcase_create(s, "numbers", 60);
  tcase_add_loop_test(tc, test_grad_numbers, 0, (int)(sizeof specs / sizeof specs[0]));
  tcase_add_test(tc, test_grad_subsets_and_equals_form);
  tcase_add_test(tc, test_grad_replaces_existing);
  tcase_add_test(tc, test_grad_help);

  tc = cli_tcase_create(s, "errors", 120);
  tcase_add_test(tc, test_grad_usage_errors);
  tcase_add_test(tc, test_grad_file_errors);
  tcase_add_test(tc, test_grad_second_output_fails);
  return s;
}

int main(void) {
  return run_suite(grad_suite());
}
