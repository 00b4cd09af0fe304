/*
 * test_activation: every Keras activation name and alias through the layer. An identity kernel
 * (kernel_size 1, strides 1, valid, in_channels = filters, W[0,f,c] = [f == c], no bias) makes the
 * pre-activation tensor equal to the input exactly, so each activation is fed chosen values:
 * breakpoints, large magnitudes, ties. Expected values: the sheet's scalar formulas (reference.c)
 * and hand-written numbers below.
 */
#include <check.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "conv1dt.h"
#include "reference.h"
#include "test_numerics_support.h"

static const double SELU_ALPHA = 1.6732632423543772848170429916717;
static const double SELU_SCALE = 1.0507009873554804934193349852946;

/*
 * Runs `act` on the (1, d1, d2) tensor z (layer data format df) through an identity layer.
 * Returns the status of conv1dt_forward (or of an earlier failing call); on success *y (malloc'ed,
 * dtype dt) holds the output and shape its shape.
 */
static conv1dt_status through_layer(const char *act, conv1dt_data_format df, conv1dt_dtype dt,
                                    int64_t d1, int64_t d2, const double *z, void **y,
                                    int64_t shape[3]) {
  const int64_t F = df == CONV1DT_CHANNELS_LAST ? d2 : d1;
  const int64_t L = df == CONV1DT_CHANNELS_LAST ? d1 : d2;
  const size_t es = ref_dtype_size(dt), n = (size_t)(d1 * d2);
  conv1dt_config cfg = conv1dt_config_default(F, 1);
  cfg.use_bias = false;
  cfg.data_format = df;
  cfg.activation = act;
  conv1dt_layer *layer = NULL;
  *y = NULL;
  conv1dt_status st = conv1dt_create(&cfg, F, dt, &layer);
  if (st != CONV1DT_OK) return st;
  double *kd = calloc((size_t)(F * F), sizeof *kd);
  void *k = malloc((size_t)(F * F) * es), *x = malloc(n * es);
  ck_assert(kd && k && x);
  for (int64_t f = 0; f < F; ++f) kd[f * F + f] = 1.0;
  ref_from_double(dt, kd, k, (size_t)(F * F));
  ref_from_double(dt, z, x, n);
  ck_assert_int_eq(conv1dt_set_weights(layer, k, NULL), CONV1DT_OK);
  st = conv1dt_output_shape(layer, 1, L, shape);
  if (st == CONV1DT_OK) {
    *y = malloc((size_t)(shape[0] * shape[1] * shape[2] + 1) * es);
    ck_assert_ptr_nonnull(*y);
    st = conv1dt_forward(layer, x, 1, L, *y, NULL, 0);
    if (st != CONV1DT_OK) {
      free(*y);
      *y = NULL;
    }
  }
  conv1dt_destroy(layer);
  free(kd);
  free(k);
  free(x);
  return st;
}

static double get(conv1dt_dtype dt, const void *y, size_t i) {
  return dt == CONV1DT_FLOAT32 ? (double)((const float *)y)[i] : ((const double *)y)[i];
}

static const char *dt_name(conv1dt_dtype dt) {
  return dt == CONV1DT_FLOAT32 ? "float32" : "float64";
}

/* ------------------------------------------------------------------ element-wise */

static const double test_points_f64[] = {0.0,
                                         0.25,
                                         -0.25,
                                         0.5,
                                         -0.5,
                                         0x1.0000000000001p-1,
                                         -0x1.0000000000001p-1,
                                         0x1.fffffffffffffp-2,
                                         1.0,
                                         -1.0,
                                         1.5,
                                         -1.5,
                                         2.0,
                                         -2.0,
                                         3.0,
                                         -3.0,
                                         4.0,
                                         -4.0,
                                         6.0,
                                         -6.0,
                                         7.0,
                                         -7.0,
                                         10.0,
                                         -10.0,
                                         20.0,
                                         -20.0,
                                         37.0,
                                         -37.0,
                                         50.0,
                                         -50.0,
                                         100.0,
                                         -100.0,
                                         700.0,
                                         -700.0,
                                         1000.0,
                                         -1000.0,
                                         1e30,
                                         -1e30,
                                         1e-8,
                                         -1e-8,
                                         0.1,
                                         -0.1};
static const double test_points_f32[] = {
    0.0,   0.25, -0.25, 0.5,   -0.5,   0x1.000002p-1, -0x1.000002p-1, 0x1.fffffep-2, 1.0,
    -1.0,  1.5,  -1.5,  2.0,   -2.0,   3.0,           -3.0,           4.0,           -4.0,
    6.0,   -6.0, 7.0,   -7.0,  10.0,   -10.0,         20.0,           -20.0,         50.0,
    -50.0, 88.0, -88.0, 100.0, -100.0, 1e-4,          -1e-4,          0.1,           -0.1};

/* Each element-wise activation (and alias, and NULL) at every test point plus random values,
 * both data formats: the values must match the scalar formula (reference) to a few ulps. */
START_TEST(test_elementwise_all) {
  const conv1dt_dtype dt = (conv1dt_dtype)(_i % 2);
  const conv1dt_data_format df = (conv1dt_data_format)(_i / 2);
  const double *pts = dt == CONV1DT_FLOAT32 ? test_points_f32 : test_points_f64;
  const size_t npts = dt == CONV1DT_FLOAT32 ? sizeof test_points_f32 / sizeof(double)
                                            : sizeof test_points_f64 / sizeof(double);
  const size_t n = npts + 40;
  double *z = malloc(n * sizeof *z), *expected = malloc(n * sizeof *z),
         *tol = malloc(n * sizeof *z);
  ck_assert(z && expected && tol);
  ref_rng rng;
  ref_rng_seed(&rng, 17 + (uint64_t)_i);
  for (size_t i = 0; i < n; ++i) {
    z[i] = i < npts ? pts[i] : ref_rng_uniform(&rng, -8, 8);
    if (dt == CONV1DT_FLOAT32) z[i] = (double)(float)z[i];
  }
  int failures = 0, tested = 0;
  char first[1024] = "";
  for (size_t a = 0; a < tn_activation_count; ++a) {
    const char *name = tn_activation_names[a];
    const char *canon = ref_activation_canonical(name);
    if (ref_activation_is_axiswise(canon)) continue;
    void *y = NULL;
    int64_t shape[3];
    /* channels_last: (1, n, 1); channels_first: (1, 1, n) */
    conv1dt_status st = through_layer(name, df, dt, df == CONV1DT_CHANNELS_LAST ? (int64_t)n : 1,
                                      df == CONV1DT_CHANNELS_LAST ? 1 : (int64_t)n, z, &y, shape);
    ++tested;
    if (st != CONV1DT_OK) {
      ++failures;
      fprintf(stderr, "FAIL %s (%s): %s\n", name ? name : "NULL", dt_name(dt),
              conv1dt_status_name(st));
      if (!first[0])
        snprintf(first, sizeof first, "%s: %s", name ? name : "NULL", conv1dt_status_name(st));
      continue;
    }
    for (size_t i = 0; i < n; ++i) {
      expected[i] = ref_activation_scalar(canon, z[i]);
      tol[i] = ref_activation_tolerance(canon, dt, z[i], 0.0, expected[i]);
    }
    for (size_t i = 0; i < n; ++i) {
      char cmp[300];
      if (ref_compare(dt, (const char *)y + i * ref_dtype_size(dt), expected + i, tol + i, 1, cmp,
                      sizeof cmp)) {
        ++failures;
        fprintf(stderr, "FAIL %s(%.17g) %s %s: %s\n", name ? name : "NULL", z[i], dt_name(dt),
                df == CONV1DT_CHANNELS_LAST ? "channels_last" : "channels_first", cmp);
        if (!first[0])
          snprintf(first, sizeof first, "%s(%.17g) %s: %s", name ? name : "NULL", z[i], dt_name(dt),
                   cmp);
      }
    }
    free(y);
  }
  printf("test_elementwise_all %s %s: %d activations x %zu points, %d failures\n", dt_name(dt),
         df == CONV1DT_CHANNELS_LAST ? "channels_last" : "channels_first", tested, n, failures);
  ck_assert_msg(failures == 0, "%d failures; first: %s", failures, first);
  free(z);
  free(expected);
  free(tol);
}
END_TEST

/* Hand-written expectations: stability at large |x|, strict breakpoints, constants. */
typedef enum { NEAR, TINY, POS_INF, FINITE_NONPOS_TINY } expect_kind;
typedef struct hand_case {
  const char *name;
  double x;
  expect_kind kind;
  double value; /* NEAR: the value; TINY: |y| <= value */
  int dtypes;   /* bit 0: float32, bit 1: float64 */
} hand_case;

#define F32 1
#define F64 2
#define BOTH 3

START_TEST(test_elementwise_hand) {
  const hand_case cases[] = {
      /* stability */
      {"softplus", 1000, NEAR, 1000, F64},
      {"softplus", -1000, TINY, 1e-300, F64},
      {"softplus", 1e30, NEAR, 1e30, F64},
      {"softplus", -1e30, TINY, 1e-300, F64},
      {"softplus", 100, NEAR, 100, F32},
      {"softplus", -100, TINY, 1e-37, F32},
      {"softplus", 0, NEAR, 0.69314718055994531, BOTH},
      {"sigmoid", 1000, NEAR, 1, F64},
      {"sigmoid", -1000, TINY, 1e-300, F64},
      {"sigmoid", 1e30, NEAR, 1, F64},
      {"sigmoid", -1e30, TINY, 1e-300, F64},
      {"sigmoid", 100, NEAR, 1, F32},
      {"sigmoid", -100, TINY, 1e-37, F32},
      {"sigmoid", 0, NEAR, 0.5, BOTH},
      {"exponential", 1000, POS_INF, 0, F64},
      {"exponential", -1000, TINY, 1e-300, F64},
      {"exponential", 100, POS_INF, 0, F32},
      {"exponential", 88, NEAR, 1.6516362549940018e38, F32},
      {"exponential", -100, TINY, 1e-37, F32},
      {"mish", 1000, NEAR, 1000, F64},
      {"mish", -1000, TINY, 1e-300, F64},
      {"mish", 100, NEAR, 100, F32},
      {"mish", -100, TINY, 1e-30, F32},
      {"silu", 1000, NEAR, 1000, F64},
      {"silu", -1000, TINY, 1e-300, F64},
      {"swish", 1000, NEAR, 1000, F64},
      {"silu", 100, NEAR, 100, F32},
      {"silu", -100, TINY, 1e-30, F32},
      {"log_sigmoid", -1000, NEAR, -1000, F64},
      {"log_sigmoid", 1000, FINITE_NONPOS_TINY, 1e-300, F64},
      {"log_sigmoid", -100, NEAR, -100, F32},
      {"log_sigmoid", 100, FINITE_NONPOS_TINY, 1e-37, F32},
      {"log_sigmoid", 0, NEAR, -0.69314718055994531, BOTH},
      {"gelu", 1000, NEAR, 1000, F64},
      {"gelu", -1000, TINY, 1e-300, F64},
      {"gelu", 1e30, NEAR, 1e30, F64},
      {"gelu", -1e30, TINY, 1e-300, F64},
      {"gelu", 100, NEAR, 100, F32},
      {"gelu", -100, TINY, 1e-30, F32},
      {"gelu", 1, NEAR, 0.84134474606854293, BOTH},
      {"gelu", -1, NEAR, -0.15865525393145707, BOTH},
      {"tanh", 1000, NEAR, 1, F64},
      {"tanh", -1000, NEAR, -1, F64},
      {"tanh_shrink", 1000, NEAR, 999, F64},
      {"tanh_shrink", 100, NEAR, 99, F32},
      {"elu", -1000, NEAR, -1, F64},
      {"elu", -100, NEAR, -1, F32},
      {"celu", -1000, NEAR, -1, F64},
      {"celu", -100, NEAR, -1, F32},
      {"softsign", 1e30, NEAR, 1, F64},
      {"softsign", 1, NEAR, 0.5, BOTH},
      {"squareplus", 0, NEAR, 1, BOTH},
      {"squareplus", 1e30, NEAR, 1e30, F64},
      /* selu constants */
      {"selu", 1, NEAR, 1.0507009873554804934, BOTH},
      {"selu", -1000, NEAR, -1.0507009873554804934 * 1.6732632423543772848, F64},
      {"selu", -100, NEAR, -1.0507009873554804934 * 1.6732632423543772848, F32},
      /* breakpoints, strict where Keras's are */
      {"hard_shrink", 0.5, NEAR, 0, BOTH},
      {"hard_shrink", -0.5, NEAR, 0, BOTH},
      {"hard_shrink", 0.75, NEAR, 0.75, BOTH},
      {"hard_shrink", -0.75, NEAR, -0.75, BOTH},
      {"hard_shrink", 0.25, NEAR, 0, BOTH},
      {"soft_shrink", 0.5, NEAR, 0, BOTH},
      {"soft_shrink", -0.5, NEAR, 0, BOTH},
      {"soft_shrink", 1, NEAR, 0.5, BOTH},
      {"soft_shrink", -1, NEAR, -0.5, BOTH},
      {"hard_sigmoid", -3, NEAR, 0, BOTH},
      {"hard_sigmoid", 3, NEAR, 1, BOTH},
      {"hard_sigmoid", 0, NEAR, 0.5, BOTH},
      {"hard_sigmoid", 1.5, NEAR, 0.75, BOTH},
      {"hard_sigmoid", -4, NEAR, 0, BOTH},
      {"hard_sigmoid", 4, NEAR, 1, BOTH},
      {"hard_sigmoid", 1e30, NEAR, 1, F64},
      {"hard_sigmoid", -1e30, NEAR, 0, F64},
      {"hard_silu", 3, NEAR, 3, BOTH},
      {"hard_silu", -3, NEAR, 0, BOTH},
      {"hard_swish", 1.5, NEAR, 1.125, BOTH},
      {"hard_silu", 1e30, NEAR, 1e30, F64},
      {"relu6", 7, NEAR, 6, BOTH},
      {"relu6", 6, NEAR, 6, BOTH},
      {"relu6", -1, NEAR, 0, BOTH},
      {"relu", -1, NEAR, 0, BOTH},
      {"relu", 2.5, NEAR, 2.5, BOTH},
      {"leaky_relu", -1, NEAR, -0.2, BOTH},
      {"leaky_relu", 3, NEAR, 3, BOTH},
      {"sparse_plus", -1, NEAR, 0, BOTH},
      {"sparse_plus", 0, NEAR, 0.25, BOTH},
      {"sparse_plus", 1, NEAR, 1, BOTH},
      {"sparse_plus", -2, NEAR, 0, BOTH},
      {"sparse_plus", 3, NEAR, 3, BOTH},
      {"sparse_sigmoid", -1, NEAR, 0, BOTH},
      {"sparse_sigmoid", 0, NEAR, 0.5, BOTH},
      {"sparse_sigmoid", 1, NEAR, 1, BOTH},
      {"sparse_sigmoid", 0.5, NEAR, 0.75, BOTH},
      {"hard_tanh", 3, NEAR, 1, BOTH},
      {"hard_tanh", -3, NEAR, -1, BOTH},
      {"hard_tanh", 0.25, NEAR, 0.25, BOTH},
      {"linear", -1e30, NEAR, -1e30, F64},
      {NULL, 1e30, NEAR, 1e30, F64},
  };
  const size_t ncases = sizeof cases / sizeof cases[0];
  int failures = 0, checked = 0;
  char first[512] = "";
  for (int d = 0; d < 2; ++d) {
    const conv1dt_dtype dt = (conv1dt_dtype)d;
    for (size_t i = 0; i < ncases; ++i) {
      const hand_case *c = &cases[i];
      if (!(c->dtypes & (dt == CONV1DT_FLOAT32 ? F32 : F64))) continue;
      void *y = NULL;
      int64_t shape[3];
      double x = c->x;
      conv1dt_status st = through_layer(c->name, CONV1DT_CHANNELS_LAST, dt, 1, 1, &x, &y, shape);
      ++checked;
      char why[256] = "";
      if (st != CONV1DT_OK) {
        snprintf(why, sizeof why, "%s", conv1dt_status_name(st));
      } else {
        const double v = get(dt, y, 0), u = ref_unit_roundoff(dt);
        switch (c->kind) {
        case NEAR:
          if (!(fabs(v - c->value) <= 8 * u * fabs(c->value) + 1e-300))
            snprintf(why, sizeof why, "got %.17g, expected %.17g", v, c->value);
          break;
        case TINY:
          if (!(isfinite(v) && fabs(v) <= c->value))
            snprintf(why, sizeof why, "got %.17g, expected |y| <= %g", v, c->value);
          break;
        case POS_INF:
          if (!(isinf(v) && v > 0)) snprintf(why, sizeof why, "got %.17g, expected +inf", v);
          break;
        case FINITE_NONPOS_TINY:
          if (!(isfinite(v) && v <= 0 && v >= -c->value))
            snprintf(why, sizeof why, "got %.17g, expected in [-%g, 0]", v, c->value);
          break;
        }
      }
      if (why[0]) {
        ++failures;
        fprintf(stderr, "FAIL %s(%.17g) %s: %s\n", c->name ? c->name : "NULL", c->x, dt_name(dt),
                why);
        if (!first[0])
          snprintf(first, sizeof first, "%s(%.17g) %s: %s", c->name ? c->name : "NULL", c->x,
                   dt_name(dt), why);
      }
      free(y);
    }
  }
  printf("test_elementwise_hand: %d checks, %d failures\n", checked, failures);
  ck_assert_msg(failures == 0, "%d failures; first: %s", failures, first);
}
END_TEST

/* The selu constants: selu(-1) = scale * alpha * (e^-1 - 1). */
START_TEST(test_selu_constants) {
  for (int d = 0; d < 2; ++d) {
    const conv1dt_dtype dt = (conv1dt_dtype)d;
    double x[3] = {-1.0, 2.0, -0.5};
    void *y;
    int64_t shape[3];
    ck_assert_int_eq(through_layer("selu", CONV1DT_CHANNELS_LAST, dt, 3, 1, x, &y, shape),
                     CONV1DT_OK);
    const double want[3] = {SELU_SCALE * SELU_ALPHA * expm1(-1.0), SELU_SCALE * 2.0,
                            SELU_SCALE * SELU_ALPHA * expm1(-0.5)};
    for (int i = 0; i < 3; ++i)
      ck_assert_msg(
          fabs(get(dt, y, (size_t)i) - want[i]) <= 8 * ref_unit_roundoff(dt) * fabs(want[i]),
          "selu(%g) %s = %.17g, expected %.17g", x[i], dt_name(dt), get(dt, y, (size_t)i), want[i]);
    free(y);
  }
}
END_TEST

/* ------------------------------------------------------------------ axis-wise */

/* Random (1, d1, d2) tensors in both data formats: the activation must act on the last axis. */
START_TEST(test_axiswise_random) {
  static const char *const acts[] = {"softmax", "log_softmax", "sparsemax", "glu"};
  const conv1dt_dtype dt = (conv1dt_dtype)(_i % 2);
  const conv1dt_data_format df = (conv1dt_data_format)(_i / 2);
  ref_rng rng;
  ref_rng_seed(&rng, 900 + (uint64_t)_i);
  int failures = 0, runs = 0;
  char first[1024] = "";
  for (int a = 0; a < 4; ++a)
    for (int rep = 0; rep < 6; ++rep) {
      const bool glu = a == 3;
      const int64_t d1 = ref_rng_int(&rng, 1, 7);
      int64_t d2 = ref_rng_int(&rng, 1, 9);
      if (glu) d2 = 2 * ref_rng_int(&rng, 1, 5);
      const double scale = rep < 3 ? 3.0 : 30.0;
      const size_t n = (size_t)(d1 * d2);
      double *z = malloc(n * sizeof *z);
      ck_assert_ptr_nonnull(z);
      for (size_t i = 0; i < n; ++i) {
        z[i] = ref_rng_uniform(&rng, -scale, scale);
        if (rep == 5 && i % 3 == 1) z[i] = z[i - 1]; /* ties */
        if (dt == CONV1DT_FLOAT32) z[i] = (double)(float)z[i];
      }
      const size_t out_len = glu ? (size_t)d2 / 2 : (size_t)d2;
      double *ey = malloc((size_t)d1 * out_len * sizeof *ey),
             *et = malloc((size_t)d1 * out_len * sizeof *et);
      ck_assert(ey && et);
      ref_activation_rows(acts[a], dt, (size_t)d1, (size_t)d2, z, NULL, ey, et);
      void *y;
      int64_t shape[3];
      conv1dt_status st = through_layer(acts[a], df, dt, d1, d2, z, &y, shape);
      ++runs;
      char why[700] = "";
      if (st != CONV1DT_OK)
        snprintf(why, sizeof why, "%s (%s)", conv1dt_status_name(st), conv1dt_last_error());
      else if (shape[0] != 1 || shape[1] != d1 || shape[2] != (int64_t)out_len)
        snprintf(why, sizeof why,
                 "shape (%" PRId64 ",%" PRId64 ",%" PRId64 "), expected (1,%" PRId64 ",%zu)",
                 shape[0], shape[1], shape[2], d1, out_len);
      else {
        char cmp[600];
        if (ref_compare(dt, y, ey, et, (size_t)d1 * out_len, cmp, sizeof cmp))
          snprintf(why, sizeof why, "%s", cmp);
        /* rows of softmax and sparsemax sum to one */
        for (int64_t r = 0; !why[0] && r < d1 && (a == 0 || a == 2); ++r) {
          double sum = 0;
          for (int64_t j = 0; j < d2; ++j) sum += get(dt, y, (size_t)(r * d2 + j));
          if (fabs(sum - 1) > 4 * (double)d2 * ref_unit_roundoff(dt) + 1e-15)
            snprintf(why, sizeof why, "row %" PRId64 " sums to %.17g", r, sum);
        }
      }
      if (why[0]) {
        ++failures;
        fprintf(stderr, "FAIL %s %s %s (1,%" PRId64 ",%" PRId64 "): %s\n", acts[a], dt_name(dt),
                df == CONV1DT_CHANNELS_LAST ? "channels_last" : "channels_first", d1, d2, why);
        if (!first[0])
          snprintf(first, sizeof first, "%s (1,%" PRId64 ",%" PRId64 "): %s", acts[a], d1, d2, why);
      }
      free(y);
      free(z);
      free(ey);
      free(et);
    }
  printf("test_axiswise_random %s %s: %d runs, %d failures\n", dt_name(dt),
         df == CONV1DT_CHANNELS_LAST ? "channels_last" : "channels_first", runs, failures);
  ck_assert_msg(failures == 0, "%d failures; first: %s", failures, first);
}
END_TEST

/* Runs one row (length n) through the layer: channels_last as (1,1,n), channels_first as (1,1,n)
 * too (one filter, n steps). Both put the row on the last axis. */
static void check_row(const char *act, conv1dt_dtype dt, conv1dt_data_format df, const double *row,
                      size_t n, const double *want, size_t nwant, double tol) {
  void *y;
  int64_t shape[3];
  ck_assert_int_eq(through_layer(act, df, dt, 1, (int64_t)n, row, &y, shape), CONV1DT_OK);
  ck_assert_int_eq(shape[2], (int64_t)nwant);
  for (size_t i = 0; i < nwant; ++i) {
    const double v = get(dt, y, i);
    ck_assert_msg(fabs(v - want[i]) <= tol, "%s %s %s: y[%zu] = %.17g, expected %.17g", act,
                  dt_name(dt), df == CONV1DT_CHANNELS_LAST ? "channels_last" : "channels_first", i,
                  v, want[i]);
  }
  free(y);
}

START_TEST(test_sparsemax_values) {
  const conv1dt_dtype dt = (conv1dt_dtype)(_i % 2);
  const conv1dt_data_format df = (conv1dt_data_format)(_i / 2);
  const double tol = dt == CONV1DT_FLOAT32 ? 1e-6 : 1e-14;
  /* the corrected definition: [1.0, 0.8] -> [0.6, 0.4] (Keras <= 3.15 gave [0.1, 0]) */
  const double a[2] = {1.0, 0.8}, wa[2] = {0.6, 0.4};
  check_row("sparsemax", dt, df, a, 2, wa, 2, tol);
  /* ties */
  const double b[2] = {1.0, 1.0}, wb[2] = {0.5, 0.5};
  check_row("sparsemax", dt, df, b, 2, wb, 2, tol);
  const double c[3] = {1.0, 0.5, 0.5}, wc[3] = {2.0 / 3, 1.0 / 6, 1.0 / 6};
  check_row("sparsemax", dt, df, c, 3, wc, 3, tol);
  const double d[3] = {2.0, 1.0, 1.0}, wd[3] = {1.0, 0.0, 0.0};
  check_row("sparsemax", dt, df, d, 3, wd, 3, tol);
  const double e[4] = {0.0, 0.0, 0.0, 0.0}, we[4] = {0.25, 0.25, 0.25, 0.25};
  check_row("sparsemax", dt, df, e, 4, we, 4, tol);
  const double f[4] = {0.5, 0.25, -3.0, 0.25}, wf[4] = {0.5, 0.25, 0.0, 0.25};
  check_row("sparsemax", dt, df, f, 4, wf, 4, tol);
  const double g[1] = {-7.0}, wg[1] = {1.0};
  check_row("sparsemax", dt, df, g, 1, wg, 1, tol);
  /* softmax: large values, no overflow, no NaN */
  const double h[3] = {1000.0, 0.0, -1000.0}, wh[3] = {1.0, 0.0, 0.0};
  check_row("softmax", dt, df, h, 3, wh, 3, tol);
  const double i3[3] = {0.0, 0.0, 0.0}, wi[3] = {1.0 / 3, 1.0 / 3, 1.0 / 3};
  check_row("softmax", dt, df, i3, 3, wi, 3, tol);
  const double j[2] = {0.0, log(3.0)}, wj[2] = {0.25, 0.75};
  check_row("softmax", dt, df, j, 2, wj, 2, tol);
  const double wl[3] = {0.0, -1000.0, -2000.0};
  check_row("log_softmax", dt, df, h, 3, wl, 3, dt == CONV1DT_FLOAT32 ? 1e-3 : 1e-12);
  if (dt == CONV1DT_FLOAT64) {
    const double k[2] = {1e30, 1e30}, wk[2] = {0.5, 0.5};
    check_row("softmax", dt, df, k, 2, wk, 2, tol);
  }
  /* glu: a * sigmoid(b), first half a, second half b */
  const double m[4] = {1.0, 2.0, 0.0, 0.0}, wm[2] = {0.5, 1.0};
  check_row("glu", dt, df, m, 4, wm, 2, tol);
  const double o[4] = {3.0, -2.0, 1000.0, -1000.0}, wo[2] = {3.0, 0.0};
  check_row("glu", dt, df, o, 4, wo, 2, tol);
}
END_TEST

/* log_softmax must equal log(softmax) over the same rows. */
START_TEST(test_log_softmax_is_log_softmax) {
  const conv1dt_dtype dt = (conv1dt_dtype)(_i % 2);
  const conv1dt_data_format df = (conv1dt_data_format)(_i / 2);
  ref_rng rng;
  ref_rng_seed(&rng, 555 + (uint64_t)_i);
  const int64_t d1 = 4, d2 = 6;
  double z[24];
  for (int i = 0; i < 24; ++i) {
    z[i] = ref_rng_uniform(&rng, -5, 5);
    if (dt == CONV1DT_FLOAT32) z[i] = (double)(float)z[i];
  }
  void *sm, *lsm;
  int64_t shape[3];
  ck_assert_int_eq(through_layer("softmax", df, dt, d1, d2, z, &sm, shape), CONV1DT_OK);
  ck_assert_int_eq(through_layer("log_softmax", df, dt, d1, d2, z, &lsm, shape), CONV1DT_OK);
  for (size_t i = 0; i < 24; ++i) {
    const double a = log(get(dt, sm, i)), b = get(dt, lsm, i);
    ck_assert_msg(fabs(a - b) <= 64 * ref_unit_roundoff(dt) * (1 + fabs(b)),
                  "log(softmax)[%zu] = %.17g, log_softmax = %.17g", i, a, b);
  }
  free(sm);
  free(lsm);
}
END_TEST

/* Which axis: a (1, 2, 3) tensor; channels_last rows are the 3 filters of each step, channels_first
 * rows are the 3 steps of each filter — in both cases the last axis of the layout. */
START_TEST(test_axis_orientation) {
  const conv1dt_dtype dt = (conv1dt_dtype)_i;
  const double z[6] = {0.0, 1.0, 2.0, 2.0, 0.0, -1.0};
  for (int d = 0; d < 2; ++d) {
    const conv1dt_data_format df = (conv1dt_data_format)d;
    void *y;
    int64_t shape[3];
    ck_assert_int_eq(through_layer("softmax", df, dt, 2, 3, z, &y, shape), CONV1DT_OK);
    ck_assert_int_eq(shape[1], 2);
    ck_assert_int_eq(shape[2], 3);
    for (int r = 0; r < 2; ++r) {
      double s = 0;
      for (int j = 0; j < 3; ++j) s += get(dt, y, (size_t)(r * 3 + j));
      ck_assert_msg(fabs(s - 1) < 1e-6, "%s row %d sums to %g",
                    df ? "channels_first" : "channels_last", r, s);
    }
    /* over the other axis y[2] would be e^2/(e^2+e^-1) = 0.95, y[3] 1/(1+e^-2) = 0.88 */
    const double e = exp(1.0), e2 = exp(2.0);
    ck_assert_msg(fabs(get(dt, y, 2) - e2 / (1 + e + e2)) < 1e-6, "%s: softmax y[2] = %g",
                  df ? "channels_first" : "channels_last", get(dt, y, 2));
    ck_assert_msg(fabs(get(dt, y, 3) - e2 / (1 + e2 + 1 / e)) < 1e-6, "%s: softmax y[3] = %g",
                  df ? "channels_first" : "channels_last", get(dt, y, 3));
    free(y);
    /* glu over the last axis: channels_last halves filters (needs even filters) */
    const double g[8] = {1.0, 2.0, 0.0, 100.0, -1.0, 3.0, -100.0, 0.0};
    ck_assert_int_eq(through_layer("glu", df, dt, 2, 4, g, &y, shape), CONV1DT_OK);
    ck_assert_int_eq(shape[1], 2);
    ck_assert_int_eq(shape[2], 2);
    const double want[4] = {0.5, 2.0, 0.0, 1.5};
    for (size_t i = 0; i < 4; ++i)
      ck_assert_msg(fabs(get(dt, y, i) - want[i]) < 1e-6, "glu[%zu] = %g, expected %g", i,
                    get(dt, y, i), want[i]);
    free(y);
  }
}
END_TEST

START_TEST(test_glu_odd_axis) {
  const conv1dt_dtype dt = (conv1dt_dtype)_i;
  /* channels_last: odd filters -> the layer cannot be built */
  conv1dt_config cfg = conv1dt_config_default(3, 1);
  cfg.activation = "glu";
  conv1dt_layer *layer = (conv1dt_layer *)&cfg; /* sentinel: must stay as is */
  ck_assert_int_eq(conv1dt_create(&cfg, 2, dt, &layer), CONV1DT_ERROR_INVALID_VALUE);
  ck_assert_ptr_eq(layer, (conv1dt_layer *)&cfg);
  ck_assert_msg(strstr(conv1dt_last_error(), "glu") || strstr(conv1dt_last_error(), "filters"),
                "message: %s", conv1dt_last_error());
  /* channels_first: odd output length -> shape mismatch at output_shape and forward */
  cfg.data_format = CONV1DT_CHANNELS_FIRST;
  layer = NULL;
  ck_assert_int_eq(conv1dt_create(&cfg, 2, dt, &layer), CONV1DT_OK);
  int64_t shape[3] = {-5, -5, -5};
  ck_assert_int_eq(conv1dt_output_shape(layer, 2, 5, shape), CONV1DT_ERROR_SHAPE_MISMATCH);
  ck_assert(shape[0] == -5 && shape[1] == -5 && shape[2] == -5);
  ck_assert_int_eq(conv1dt_output_shape(layer, 2, 6, shape), CONV1DT_OK);
  ck_assert(shape[0] == 2 && shape[1] == 3 && shape[2] == 3);
  double x[2 * 2 * 5] = {0}, y[2 * 3 * 5 + 1];
  ref_fill_sentinel(dt, y, 2 * 3 * 5 + 1);
  ck_assert_int_eq(conv1dt_forward(layer, x, 2, 5, y, NULL, 0), CONV1DT_ERROR_SHAPE_MISMATCH);
  ck_assert(ref_is_sentinel(dt, y, 2 * 3 * 5 + 1));
  ck_assert_int_eq(conv1dt_forward(layer, x, 2, 4, y, NULL, 0), CONV1DT_OK);
  conv1dt_destroy(layer);
  /* channels_first: odd filters are fine when the steps are even */
  cfg.strides = 2; /* valid, K=1, s=2: 2L steps, always even */
  ck_assert_int_eq(conv1dt_create(&cfg, 2, dt, &layer), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_output_shape(layer, 1, 3, shape), CONV1DT_OK);
  ck_assert(shape[0] == 1 && shape[1] == 3 && shape[2] == 3);
  conv1dt_destroy(layer);
}
END_TEST

/* ------------------------------------------------------------------ names */

START_TEST(test_activation_names) {
  for (size_t a = 0; a < tn_activation_count; ++a) {
    const char *name = tn_activation_names[a];
    const char *canon = (const char *)1;
    ck_assert_msg(conv1dt_activation_check(name, &canon) == CONV1DT_OK, "%s rejected: %s",
                  name ? name : "NULL", conv1dt_last_error());
    ck_assert_ptr_nonnull(canon);
    ck_assert_str_eq(canon, ref_activation_canonical(name));
    ck_assert_int_eq(conv1dt_activation_check(name, NULL), CONV1DT_OK);
    /* the layer reports the canonical name */
    conv1dt_config cfg = conv1dt_config_default(4, 2);
    cfg.activation = name;
    conv1dt_layer *layer = NULL;
    ck_assert_int_eq(conv1dt_create(&cfg, 3, CONV1DT_FLOAT64, &layer), CONV1DT_OK);
    conv1dt_config got;
    memset(&got, 0, sizeof got);
    ck_assert_int_eq(conv1dt_get_config(layer, &got, NULL, NULL), CONV1DT_OK);
    ck_assert_ptr_nonnull(got.activation);
    ck_assert_str_eq(got.activation, ref_activation_canonical(name));
    conv1dt_destroy(layer);
  }
  const char *c = NULL;
  ck_assert_int_eq(conv1dt_activation_check("swish", &c), CONV1DT_OK);
  ck_assert_str_eq(c, "silu");
  ck_assert_int_eq(conv1dt_activation_check("hard_swish", &c), CONV1DT_OK);
  ck_assert_str_eq(c, "hard_silu");
  ck_assert_int_eq(conv1dt_activation_check(NULL, &c), CONV1DT_OK);
  ck_assert_str_eq(c, "linear");
  ck_assert_int_eq(conv1dt_activation_check("linear", &c), CONV1DT_OK);
  ck_assert_str_eq(c, "linear");
}
END_TEST

START_TEST(test_unknown_names) {
  static const char *const bad[] = {"ReLU",       "RELU",  "Sigmoid",          "softMax",
                                    "relu ",      " relu", "gelu_approximate", "swish2",
                                    "leaky-relu", "",      "hardswish",        "log_softmax2",
                                    "tanhshrink"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
    const char *canon = (const char *)&bad; /* sentinel */
    conv1dt_status st = conv1dt_activation_check(bad[i], &canon);
    ck_assert_msg(st == CONV1DT_ERROR_UNKNOWN_NAME, "activation_check(\"%s\") -> %s", bad[i],
                  conv1dt_status_name(st));
    ck_assert_msg(canon == (const char *)&bad, "canonical written on failure for \"%s\"", bad[i]);
    if (bad[i][0])
      ck_assert_msg(strstr(conv1dt_last_error(), bad[i]) != NULL,
                    "message for \"%s\" does not name it: %s", bad[i], conv1dt_last_error());
    conv1dt_config cfg = conv1dt_config_default(2, 2);
    cfg.activation = bad[i];
    conv1dt_layer *layer = NULL;
    st = conv1dt_create(&cfg, 1, CONV1DT_FLOAT32, &layer);
    ck_assert_msg(st == CONV1DT_ERROR_UNKNOWN_NAME, "create with \"%s\" -> %s", bad[i],
                  conv1dt_status_name(st));
    ck_assert_ptr_null(layer);
  }
  /* threshold has no defaults in Keras: naming it alone is an error */
  conv1dt_status st = conv1dt_activation_check("threshold", NULL);
  ck_assert_msg(st != CONV1DT_OK, "\"threshold\" accepted");
  ck_assert_msg(strstr(conv1dt_last_error(), "threshold") != NULL, "message: %s",
                conv1dt_last_error());
  conv1dt_config cfg = conv1dt_config_default(2, 2);
  cfg.activation = "threshold";
  conv1dt_layer *layer = NULL;
  ck_assert_int_ne(conv1dt_create(&cfg, 1, CONV1DT_FLOAT32, &layer), CONV1DT_OK);
  ck_assert_ptr_null(layer);
}
END_TEST

static Suite *activation_suite(void) {
  Suite *s = suite_create("activation");
  TCase *tc = tcase_create("elementwise");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, test_elementwise_all, 0, 4);
  tcase_add_test(tc, test_elementwise_hand);
  tcase_add_test(tc, test_selu_constants);
  suite_add_tcase(s, tc);

  tc = tcase_create("axiswise");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, test_axiswise_random, 0, 4);
  tcase_add_loop_test(tc, test_sparsemax_values, 0, 4);
  tcase_add_loop_test(tc, test_log_softmax_is_log_softmax, 0, 4);
  tcase_add_loop_test(tc, test_axis_orientation, 0, 2);
  tcase_add_loop_test(tc, test_glu_odd_axis, 0, 2);
  suite_add_tcase(s, tc);

  tc = tcase_create("names");
  tcase_add_test(tc, test_activation_names);
  tcase_add_test(tc, test_unknown_names);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return run_suite(activation_suite());
}
