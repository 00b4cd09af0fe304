/* Constraints: MaxNorm, MinMaxNorm, UnitNorm and NonNeg on a small kernel and bias whose norms
 * were worked out by hand for every axis choice ([0], [0, 1], [1, 2], -1, [0, 1, 2], None),
 * Keras's names and defaults, and every validation error. */
#include "check_run.h"
#include "conv1dt.h"

#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EPS 1e-7 /* keras.backend.epsilon() */

static void expect_error(conv1dt_status got, conv1dt_status want, const char *needle) {
  ck_assert_msg(got == want, "status %s, expected %s (%s)", conv1dt_status_name(got),
                conv1dt_status_name(want), conv1dt_last_error());
  if (needle)
    ck_assert_msg(strstr(conv1dt_last_error(), needle) != NULL, "message '%s' lacks '%s'",
                  conv1dt_last_error(), needle);
}

/* Kernel (K=2, F=3, C=2), w[k][f][c]:
 *   k=0: f0 (3, 4)  f1 (0, 0)  f2 (1, -2)
 *   k=1: f0 (0, 0)  f1 (6, 8)  f2 (2, 0)
 * Bias (3,): (-3, 4, 0). */
static const double W[12] = {3, 4, 0, 0, 1, -2, 0, 0, 6, 8, 2, 0};
static const double B[3] = {-3, 4, 0};

/* Hand-computed norms, one per element (the norm of the slice it belongs to):
 *   axis [0]     (over K, per (f, c)): f0c0 3, f0c1 4, f1c0 6, f1c1 8, f2c0 sqrt 5, f2c1 2
 *   axis [0, 1]  (per c): c0 sqrt(9+1+36+4) = sqrt 50, c1 sqrt(16+4+64) = sqrt 84
 *   axis [1, 2]  (per k): k0 sqrt(9+16+1+4) = sqrt 30, k1 sqrt(36+64+4) = sqrt 104
 *   axis -1      (per (k, f)): 5, 0, sqrt 5 | 0, 10, 2
 *   axis [0,1,2] or None: sqrt 134 */
static const double N_AX0[12] = {3, 4, 6, 8, 2.2360679774997896964, 2,
                                 3, 4, 6, 8, 2.2360679774997896964, 2};
static const double N_AX01[12] = {
    7.0710678118654752440, 9.1651513899116800132, 7.0710678118654752440, 9.1651513899116800132,
    7.0710678118654752440, 9.1651513899116800132, 7.0710678118654752440, 9.1651513899116800132,
    7.0710678118654752440, 9.1651513899116800132, 7.0710678118654752440, 9.1651513899116800132};
static const double N_AX12[12] = {
    5.4772255750516611346, 5.4772255750516611346, 5.4772255750516611346, 5.4772255750516611346,
    5.4772255750516611346, 5.4772255750516611346, 10.198039027185569660, 10.198039027185569660,
    10.198039027185569660, 10.198039027185569660, 10.198039027185569660, 10.198039027185569660};
static const double N_LAST[12] = {5,  5,  0, 0, 2.2360679774997896964, 2.2360679774997896964, 0, 0,
                                  10, 10, 2, 2};
#define N_ALL sqrt(134.0)

typedef enum { MAX_NORM, MIN_MAX_NORM, UNIT_NORM } norm_kind;

static double project(norm_kind k, double w, double n, double mn, double mx, double rate) {
  switch (k) {
  case MAX_NORM:
    return w * (fmin(fmax(n, 0.0), mx) / (EPS + n));
  case MIN_MAX_NORM:
    return w * ((rate * fmin(fmax(n, mn), mx) + (1 - rate) * n) / (EPS + n));
  default:
    return w / (EPS + n);
  }
}

static conv1dt_layer *make_layer(conv1dt_dtype dt, conv1dt_constraint kc, conv1dt_constraint bc) {
  conv1dt_config cfg = conv1dt_config_default(3, 2);
  cfg.kernel_constraint = kc;
  cfg.bias_constraint = bc;
  conv1dt_layer *layer = NULL;
  conv1dt_status st = conv1dt_create(&cfg, 2, dt, &layer);
  ck_assert_msg(st == CONV1DT_OK, "create: %s", conv1dt_last_error());
  float wf[12], bf[3];
  for (int i = 0; i < 12; i++) wf[i] = (float)W[i];
  for (int i = 0; i < 3; i++) bf[i] = (float)B[i];
  ck_assert_int_eq(conv1dt_set_weights(layer, dt ? (const void *)W : (const void *)wf,
                                       dt ? (const void *)B : (const void *)bf),
                   CONV1DT_OK);
  return layer;
}

static void get(conv1dt_layer *layer, conv1dt_dtype dt, double k[12], double b[3]) {
  float kf[12], bf[3];
  ck_assert_int_eq(
      conv1dt_get_weights(layer, dt ? (void *)k : (void *)kf, dt ? (void *)b : (void *)bf),
      CONV1DT_OK);
  if (!dt) {
    for (int i = 0; i < 12; i++) k[i] = kf[i];
    for (int i = 0; i < 3; i++) b[i] = bf[i];
  }
}

static conv1dt_constraint con(conv1dt_constraint_kind kind, double mn, double mx, double rate,
                              int num_axes, int a0, int a1, int a2) {
  conv1dt_constraint c;
  memset(&c, 0, sizeof c);
  c.kind = kind;
  c.min_value = mn;
  c.max_value = mx;
  c.rate = rate;
  c.num_axes = num_axes;
  c.axes[0] = a0, c.axes[1] = a1, c.axes[2] = a2;
  return c;
}

static void check_close(double got, double want, conv1dt_dtype dt, const char *what, int i) {
  const double tol = dt == CONV1DT_FLOAT64 ? 1e-15 : 3e-7;
  ck_assert_msg(fabs(got - want) <= tol * fmax(1.0, fabs(want)), "%s [%d]: %.17g, want %.17g", what,
                i, got, want);
}

START_TEST(test_norm_constraints_axes) {
  const conv1dt_dtype dt = (conv1dt_dtype)_i;
  static const struct {
    const char *name;
    int num_axes, a0, a1, a2;
    const double *norms; /* NULL: N_ALL everywhere */
  } axes[] = {
      {"axis [0]", 1, 0, 0, 0, N_AX0},      {"axis -3", 1, -3, 0, 0, N_AX0},
      {"axis [0, 1]", 2, 0, 1, 0, N_AX01},  {"axis [1, 0]", 2, 1, 0, 0, N_AX01},
      {"axis [1, 2]", 2, 1, 2, 0, N_AX12},  {"axis [-2, -1]", 2, -2, -1, 0, N_AX12},
      {"axis -1", 1, -1, 0, 0, N_LAST},     {"axis [2]", 1, 2, 0, 0, N_LAST},
      {"axis [0, 1, 2]", 3, 0, 1, 2, NULL}, {"axis None", 0, 0, 0, 0, NULL},
  };
  static const struct {
    conv1dt_constraint_kind kind;
    norm_kind nk;
    double mn, mx, rate;
  } kinds[] = {
      {CONV1DT_CONSTRAINT_MAX_NORM, MAX_NORM, 0, 2, 1},
      {CONV1DT_CONSTRAINT_MAX_NORM, MAX_NORM, 0, 5.5, 1},
      {CONV1DT_CONSTRAINT_MAX_NORM, MAX_NORM, 0, 0, 1},
      {CONV1DT_CONSTRAINT_MIN_MAX_NORM, MIN_MAX_NORM, 0, 1, 1},
      {CONV1DT_CONSTRAINT_MIN_MAX_NORM, MIN_MAX_NORM, 3.5, 7, 0.25},
      {CONV1DT_CONSTRAINT_MIN_MAX_NORM, MIN_MAX_NORM, 4, 4, 1},
      {CONV1DT_CONSTRAINT_UNIT_NORM, UNIT_NORM, 0, 0, 0},
  };
  for (size_t a = 0; a < sizeof axes / sizeof axes[0]; a++) {
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
      conv1dt_constraint none = con(CONV1DT_CONSTRAINT_NONE, 0, 0, 0, 0, 0, 0, 0);
      conv1dt_constraint c = con(kinds[k].kind, kinds[k].mn, kinds[k].mx, kinds[k].rate,
                                 axes[a].num_axes, axes[a].a0, axes[a].a1, axes[a].a2);
      conv1dt_layer *layer = make_layer(dt, c, none);
      ck_assert_int_eq(conv1dt_apply_constraints(layer), CONV1DT_OK);
      double got[12], bias[3];
      get(layer, dt, got, bias);
      char what[128];
      snprintf(what, sizeof what, "%s kind %zu", axes[a].name, k);
      for (int i = 0; i < 12; i++) {
        const double n = axes[a].norms ? axes[a].norms[i] : N_ALL;
        check_close(got[i], project(kinds[k].nk, W[i], n, kinds[k].mn, kinds[k].mx, kinds[k].rate),
                    dt, what, i);
      }
      for (int i = 0; i < 3; i++) ck_assert(bias[i] == B[i]); /* no bias constraint */
      conv1dt_destroy(layer);
    }
  }
}
END_TEST

/* A few projections spelled out as numbers. */
START_TEST(test_spelled_out) {
  const conv1dt_dtype dt = (conv1dt_dtype)_i;
  conv1dt_layer *layer =
      make_layer(dt, con(CONV1DT_CONSTRAINT_UNIT_NORM, 0, 0, 0, 1, -1, 0, 0),
                 con(CONV1DT_CONSTRAINT_MAX_NORM, 0, 2, 1, 1, 0, 0, 0)); /* MaxNorm() on bias */
  ck_assert_int_eq(conv1dt_apply_constraints(layer), CONV1DT_OK);
  double k[12], b[3];
  get(layer, dt, k, b);
  /* UnitNorm(axis=-1): (3, 4) -> (0.6, 0.8), (6, 8) -> (0.6, 0.8), (2, 0) -> (1, 0), and a zero
   * slice stays 0 (0 / eps); (1, -2) -> (1, -2) / sqrt 5. Each up to the factor n / (n + eps). */
  const double want[12] = {0.6 * 5 / (5 + EPS),
                           0.8 * 5 / (5 + EPS),
                           0,
                           0,
                           0.4472135954999579 * 2.2360679774997897 / (2.2360679774997897 + EPS),
                           -0.8944271909999159 * 2.2360679774997897 / (2.2360679774997897 + EPS),
                           0,
                           0,
                           0.6 * 10 / (10 + EPS),
                           0.8 * 10 / (10 + EPS),
                           2 / (2 + EPS),
                           0};
  for (int i = 0; i < 12; i++) check_close(k[i], want[i], dt, "unit_norm axis -1", i);
  /* MaxNorm(2) on the bias (-3, 4, 0): norm 5 -> (-1.2, 1.6, 0) * 5 / (5 + eps). */
  check_close(b[0], -1.2 * 5 / (5 + EPS), dt, "bias max_norm", 0);
  check_close(b[1], 1.6 * 5 / (5 + EPS), dt, "bias max_norm", 1);
  ck_assert(b[2] == 0.0);
  /* A second application leaves a unit-norm kernel as it is, to within the epsilon. */
  ck_assert_int_eq(conv1dt_apply_constraints(layer), CONV1DT_OK);
  double k2[12];
  get(layer, dt, k2, b);
  for (int i = 0; i < 12; i++)
    ck_assert_msg(fabs(k2[i] - k[i]) <= 3e-7 * fabs(k[i]), "again [%d]: %.17g vs %.17g", i, k2[i],
                  k[i]);
  conv1dt_destroy(layer);
}
END_TEST

START_TEST(test_non_neg_and_none) {
  const conv1dt_dtype dt = (conv1dt_dtype)_i;
  conv1dt_constraint nn = con(CONV1DT_CONSTRAINT_NON_NEG, 0, 0, 0, 7, 99, 99, 99); /* axes unread */
  conv1dt_layer *layer = make_layer(dt, nn, nn);
  ck_assert_int_eq(conv1dt_apply_constraints(layer), CONV1DT_OK);
  double k[12], b[3];
  get(layer, dt, k, b);
  const double want[12] = {3, 4, 0, 0, 1, 0, 0, 0, 6, 8, 2, 0};
  for (int i = 0; i < 12; i++) ck_assert_msg(k[i] == want[i], "non_neg [%d] = %g", i, k[i]);
  ck_assert(b[0] == 0 && b[1] == 4 && b[2] == 0);
  conv1dt_destroy(layer);
  /* The defaults: no constraint, nothing changes. */
  conv1dt_config cfg = conv1dt_config_default(3, 2);
  layer = make_layer(dt, cfg.kernel_constraint, cfg.bias_constraint);
  ck_assert_int_eq(conv1dt_apply_constraints(layer), CONV1DT_OK);
  get(layer, dt, k, b);
  for (int i = 0; i < 12; i++) ck_assert(k[i] == W[i]);
  for (int i = 0; i < 3; i++) ck_assert(b[i] == B[i]);
  conv1dt_destroy(layer);
  expect_error(conv1dt_apply_constraints(NULL), CONV1DT_ERROR_NULL_ARGUMENT, "layer");
  /* Without a bias only the kernel is projected. */
  cfg.use_bias = false;
  cfg.kernel_constraint = nn;
  cfg.bias_constraint = con(CONV1DT_CONSTRAINT_MAX_NORM, 0, 1, 1, 1, 5, 0, 0); /* never used */
  ck_assert_int_eq(conv1dt_create(&cfg, 2, dt, &layer), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_apply_constraints(layer), CONV1DT_OK);
  conv1dt_destroy(layer);
}
END_TEST

START_TEST(test_names_and_defaults) {
  static const struct {
    const char *name;
    conv1dt_constraint_kind kind;
    double max_value;
  } names[] = {
      {"max_norm", CONV1DT_CONSTRAINT_MAX_NORM, 2},
      {"MaxNorm", CONV1DT_CONSTRAINT_MAX_NORM, 2},
      {"min_max_norm", CONV1DT_CONSTRAINT_MIN_MAX_NORM, 1},
      {"MinMaxNorm", CONV1DT_CONSTRAINT_MIN_MAX_NORM, 1},
      {"unit_norm", CONV1DT_CONSTRAINT_UNIT_NORM, 2},
      {"UnitNorm", CONV1DT_CONSTRAINT_UNIT_NORM, 2},
      {"non_neg", CONV1DT_CONSTRAINT_NON_NEG, 2},
      {"NonNeg", CONV1DT_CONSTRAINT_NON_NEG, 2},
      {"constraint", CONV1DT_CONSTRAINT_NONE, 2},
      {"Constraint", CONV1DT_CONSTRAINT_NONE, 2},
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    conv1dt_constraint c;
    memset(&c, 0x33, sizeof c);
    ck_assert_msg(conv1dt_constraint_from_name(names[i].name, &c) == CONV1DT_OK, "%s: %s",
                  names[i].name, conv1dt_last_error());
    ck_assert_msg(c.kind == names[i].kind && c.max_value == names[i].max_value &&
                      c.min_value == 0.0 && c.rate == 1.0 && c.num_axes == 1 && c.axes[0] == 0,
                  "%s: not Keras's defaults", names[i].name);
  }
  conv1dt_constraint c = con(CONV1DT_CONSTRAINT_UNIT_NORM, 0, 0, 0, 1, 1, 0, 0);
  static const char *const bad[] = {"maxnorm", "Max_Norm", "nonneg", "NONNEG", "", "unit"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    expect_error(conv1dt_constraint_from_name(bad[i], &c), CONV1DT_ERROR_UNKNOWN_NAME,
                 "Could not interpret constraint identifier");
    ck_assert(c.kind == CONV1DT_CONSTRAINT_UNIT_NORM && c.axes[0] == 1);
  }
  expect_error(conv1dt_constraint_from_name(NULL, &c), CONV1DT_ERROR_NULL_ARGUMENT, "name");
  expect_error(conv1dt_constraint_from_name("NonNeg", NULL), CONV1DT_ERROR_NULL_ARGUMENT, "out");
}
END_TEST

START_TEST(test_validation_errors) {
  static const struct {
    bool bias;
    conv1dt_constraint c;
    const char *needle;
  } cases[] = {
      {false,
       {CONV1DT_CONSTRAINT_MAX_NORM, 2, 0, 1, {3}, 1},
       "kernel_constraint: MaxNorm axis 3 is out of bounds for a weight of rank 3 (axes run from "
       "-3 to 2)"},
      {false, {CONV1DT_CONSTRAINT_UNIT_NORM, 2, 0, 1, {0, -4}, 2}, "UnitNorm axis -4 is out of"},
      {true,
       {CONV1DT_CONSTRAINT_MAX_NORM, 2, 0, 1, {1}, 1},
       "bias_constraint: MaxNorm axis 1 is out of bounds for a weight of rank 1"},
      {true, {CONV1DT_CONSTRAINT_MIN_MAX_NORM, 1, 0, 1, {-2}, 1}, "axis -2 is out of bounds"},
      {false,
       {CONV1DT_CONSTRAINT_MAX_NORM, 2, 0, 1, {0, -3}, 2},
       "kernel_constraint: MaxNorm axis -3 is listed twice"},
      {false, {CONV1DT_CONSTRAINT_UNIT_NORM, 2, 0, 1, {1, 2, 1}, 3}, "axis 1 is listed twice"},
      {false,
       {CONV1DT_CONSTRAINT_MAX_NORM, 2, 0, 1, {0}, 5},
       "`num_axes` must be between 0 (axis=None: the whole weight) and CONV1DT_MAX_AXES (4). "
       "Received: num_axes=5"},
      {true, {CONV1DT_CONSTRAINT_UNIT_NORM, 2, 0, 1, {0}, -1}, "num_axes=-1"},
      {false,
       {CONV1DT_CONSTRAINT_MAX_NORM, -1, 0, 1, {0}, 1},
       "kernel_constraint: MaxNorm needs a finite, non-negative `max_value`. Received: "
       "max_value=-1"},
      {true, {CONV1DT_CONSTRAINT_MAX_NORM, NAN, 0, 1, {0}, 1}, "max_value=nan"},
      {false,
       {CONV1DT_CONSTRAINT_MIN_MAX_NORM, 1, 2, 1, {0}, 1},
       "MinMaxNorm needs finite 0 <= `min_value` <= `max_value`. Received: min_value=2, "
       "max_value=1"},
      {false, {CONV1DT_CONSTRAINT_MIN_MAX_NORM, 1, -0.5, 1, {0}, 1}, "min_value=-0.5"},
      {true, {CONV1DT_CONSTRAINT_MIN_MAX_NORM, INFINITY, 0, 1, {0}, 1}, "max_value=inf"},
      {false,
       {CONV1DT_CONSTRAINT_MIN_MAX_NORM, 1, 0, NAN, {0}, 1},
       "MinMaxNorm needs a finite `rate`. Received: rate=nan"},
      {false,
       {(conv1dt_constraint_kind)5, 2, 0, 1, {0}, 1},
       "kernel_constraint: unknown constraint kind 5"},
      {true, {(conv1dt_constraint_kind)-3, 2, 0, 1, {0}, 1}, "bias_constraint: unknown"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    conv1dt_config cfg = conv1dt_config_default(3, 2);
    if (cases[i].bias)
      cfg.bias_constraint = cases[i].c;
    else
      cfg.kernel_constraint = cases[i].c;
    conv1dt_layer *layer = NULL;
    expect_error(conv1dt_create(&cfg, 2, CONV1DT_FLOAT64, &layer), CONV1DT_ERROR_INVALID_VALUE,
                 cases[i].needle);
    ck_assert_ptr_null(layer);
  }
  /* Accepted: negative axes in range, MinMaxNorm with any finite rate, fields of other kinds. */
  conv1dt_config cfg = conv1dt_config_default(3, 2);
  cfg.kernel_constraint = con(CONV1DT_CONSTRAINT_MIN_MAX_NORM, 0, 1, -0.5, 2, -1, -3, 0);
  cfg.bias_constraint = con(CONV1DT_CONSTRAINT_UNIT_NORM, 5, -7, NAN, 1, -1, 0, 0);
  conv1dt_layer *layer = NULL;
  ck_assert_int_eq(conv1dt_create(&cfg, 2, CONV1DT_FLOAT64, &layer), CONV1DT_OK);
  conv1dt_destroy(layer);
  /* Without a bias, its constraint's axes are never checked against a rank, its values are. */
  cfg.use_bias = false;
  cfg.bias_constraint = con(CONV1DT_CONSTRAINT_MAX_NORM, 0, 1, 1, 1, 3, 0, 0);
  ck_assert_int_eq(conv1dt_create(&cfg, 2, CONV1DT_FLOAT64, &layer), CONV1DT_OK);
  conv1dt_destroy(layer);
  cfg.bias_constraint.max_value = -1;
  expect_error(conv1dt_create(&cfg, 2, CONV1DT_FLOAT64, &layer), CONV1DT_ERROR_INVALID_VALUE,
               "bias_constraint: MaxNorm needs");
}
END_TEST

static Suite *constrain_suite(void) {
  Suite *s = suite_create("constrain");
  TCase *tc = tcase_create("projections");
  tcase_add_loop_test(tc, test_norm_constraints_axes, 0, 2);
  tcase_add_loop_test(tc, test_spelled_out, 0, 2);
  tcase_add_loop_test(tc, test_non_neg_and_none, 0, 2);
  suite_add_tcase(s, tc);
  tc = tcase_create("names_and_errors");
  tcase_add_test(tc, test_names_and_defaults);
  tcase_add_test(tc, test_validation_errors);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return run_suite(constrain_suite());
}
