/* Regularizers: loss values and gradients against numbers worked out by hand on small arrays,
 * the activity term's division by the batch size, Keras's names and defaults, and every
 * validation error. */
#include "check_run.h"
#include "conv1dt.h"

#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void expect_error(conv1dt_status got, conv1dt_status want, const char *needle) {
  ck_assert_msg(got == want, "status %s, expected %s (%s)", conv1dt_status_name(got),
                conv1dt_status_name(want), conv1dt_last_error());
  if (needle)
    ck_assert_msg(strstr(conv1dt_last_error(), needle) != NULL, "message '%s' lacks '%s'",
                  conv1dt_last_error(), needle);
}

static void near(double got, double want, double rel, const char *what) {
  ck_assert_msg(fabs(got - want) <= rel * fmax(1.0, fabs(want)), "%s: %.17g, want %.17g", what, got,
                want);
}

static conv1dt_regularizer reg(conv1dt_reg_kind kind, double l1, double l2) {
  conv1dt_regularizer r;
  memset(&r, 0, sizeof r);
  r.kind = kind;
  r.l1 = l1;
  r.l2 = l2;
  r.factor = 0.01;
  return r;
}

/* Kernel (K=2, F=2, C=1) = [0.5, -1.5, 0, 2]: sum|w| = 4, sum w^2 = 6.5.
 * Bias (2,) = [-3, 0.25]: sum|b| = 3.25, sum b^2 = 9.0625. Every value is exact in float. */
static const double KERNEL[4] = {0.5, -1.5, 0.0, 2.0};
static const double BIAS[2] = {-3.0, 0.25};

static conv1dt_layer *make_layer(conv1dt_dtype dt, conv1dt_regularizer kr, conv1dt_regularizer br,
                                 bool use_bias) {
  conv1dt_config cfg = conv1dt_config_default(2, 2);
  cfg.kernel_regularizer = kr;
  cfg.bias_regularizer = br;
  cfg.use_bias = use_bias;
  conv1dt_layer *layer = NULL;
  conv1dt_status st = conv1dt_create(&cfg, 1, dt, &layer);
  ck_assert_msg(st == CONV1DT_OK, "create: %s", conv1dt_last_error());
  float kf[4], bf[2];
  for (int i = 0; i < 4; i++) kf[i] = (float)KERNEL[i];
  for (int i = 0; i < 2; i++) bf[i] = (float)BIAS[i];
  const void *k = dt == CONV1DT_FLOAT32 ? (const void *)kf : (const void *)KERNEL;
  const void *b = dt == CONV1DT_FLOAT32 ? (const void *)bf : (const void *)BIAS;
  ck_assert_int_eq(conv1dt_set_weights(layer, k, use_bias ? b : NULL), CONV1DT_OK);
  return layer;
}

START_TEST(test_losses) {
  const conv1dt_dtype dt = (conv1dt_dtype)_i;
  static const struct {
    conv1dt_reg_kind kind;
    double l1, l2, kernel_loss, bias_loss;
  } cases[] = {
      {CONV1DT_REG_NONE, 0.5, 0.5, 0.0, 0.0},
      {CONV1DT_REG_L1, 0.01, 99, 0.04, 0.0325},          /* l2 not read by L1 */
      {CONV1DT_REG_L2, 99, 0.01, 0.065, 0.090625},       /* l1 not read by L2 */
      {CONV1DT_REG_L1L2, 0.1, 0.2, 1.7, 0.325 + 1.8125}, /* 0.1*4 + 0.2*6.5 */
      {CONV1DT_REG_L1L2, 0.0, 0.0, 0.0, 0.0},
      {CONV1DT_REG_L1, 0.0, 0.0, 0.0, 0.0},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    const conv1dt_regularizer r = reg(cases[c].kind, cases[c].l1, cases[c].l2);
    conv1dt_layer *layer = make_layer(dt, r, r, true);
    double kl = -1, bl = -1;
    ck_assert_int_eq(conv1dt_regularization_losses(layer, &kl, &bl), CONV1DT_OK);
    near(kl, cases[c].kernel_loss, 1e-15, "kernel loss");
    near(bl, cases[c].bias_loss, 1e-15, "bias loss");
    kl = -1;
    ck_assert_int_eq(conv1dt_regularization_losses(layer, &kl, NULL), CONV1DT_OK);
    near(kl, cases[c].kernel_loss, 1e-15, "kernel loss alone");
    ck_assert_int_eq(conv1dt_regularization_losses(layer, NULL, &bl), CONV1DT_OK);
    conv1dt_destroy(layer);
  }
  /* No bias: its loss is 0 whatever its regularizer. */
  conv1dt_layer *layer =
      make_layer(dt, reg(CONV1DT_REG_L2, 0, 1), reg(CONV1DT_REG_L2, 0, 1), false);
  double kl, bl = -1;
  ck_assert_int_eq(conv1dt_regularization_losses(layer, &kl, &bl), CONV1DT_OK);
  near(kl, 6.5, 1e-15, "l2=1");
  ck_assert(bl == 0.0);
  conv1dt_destroy(layer);
  expect_error(conv1dt_regularization_losses(NULL, &kl, &bl), CONV1DT_ERROR_NULL_ARGUMENT, "layer");
}
END_TEST

/* L1L2 leaves out a zero factor's term (no 0 * inf); L1 and L2 always compute theirs. */
START_TEST(test_zero_factor_with_infinite_weight) {
  conv1dt_config cfg = conv1dt_config_default(1, 2);
  cfg.kernel_regularizer = reg(CONV1DT_REG_L1L2, 0.0, 0.5);
  conv1dt_layer *layer = NULL;
  ck_assert_int_eq(conv1dt_create(&cfg, 1, CONV1DT_FLOAT64, &layer), CONV1DT_OK);
  const double k[2] = {INFINITY, 1.0}, b[1] = {0};
  ck_assert_int_eq(conv1dt_set_weights(layer, k, b), CONV1DT_OK);
  double kl;
  ck_assert_int_eq(conv1dt_regularization_losses(layer, &kl, NULL), CONV1DT_OK);
  ck_assert(isinf(kl));
  conv1dt_destroy(layer);
  cfg.kernel_regularizer = reg(CONV1DT_REG_L1L2, 0.0, 0.0);
  ck_assert_int_eq(conv1dt_create(&cfg, 1, CONV1DT_FLOAT64, &layer), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_set_weights(layer, k, b), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_regularization_losses(layer, &kl, NULL), CONV1DT_OK);
  ck_assert(kl == 0.0);
  conv1dt_destroy(layer);
}
END_TEST

START_TEST(test_gradients) {
  const conv1dt_dtype dt = (conv1dt_dtype)_i;
  /* l1 sign(w) + 2 l2 w with sign(0) = 0:
   * L1L2(0.1, 0.2) on [0.5, -1.5, 0, 2] -> [0.1+0.2, -0.1-0.6, 0, 0.1+0.8] = [0.3, -0.7, 0, 0.9],
   * added to [1, 1, 1, 1]; L1(0.5) on the bias [-3, 0.25] -> [-0.5, 0.5], added to [10, 20]. */
  conv1dt_layer *layer =
      make_layer(dt, reg(CONV1DT_REG_L1L2, 0.1, 0.2), reg(CONV1DT_REG_L1, 0.5, 7), true);
  const double want_k[4] = {1.3, 0.3, 1.0, 1.9}, want_b[2] = {9.5, 20.5};
  double dk[4] = {1, 1, 1, 1}, db[2] = {10, 20};
  float dkf[4] = {1, 1, 1, 1}, dbf[2] = {10, 20};
  void *pk = dt == CONV1DT_FLOAT32 ? (void *)dkf : (void *)dk;
  void *pb = dt == CONV1DT_FLOAT32 ? (void *)dbf : (void *)db;
  ck_assert_int_eq(conv1dt_regularization_gradients(layer, pk, pb), CONV1DT_OK);
  const double tol = dt == CONV1DT_FLOAT32 ? 1e-7 : 1e-15;
  for (int i = 0; i < 4; i++) near(dt ? dk[i] : dkf[i], want_k[i], tol, "dkernel");
  for (int i = 0; i < 2; i++) near(dt ? db[i] : dbf[i], want_b[i], tol, "dbias");
  /* Either may be NULL. */
  ck_assert_int_eq(conv1dt_regularization_gradients(layer, NULL, pb), CONV1DT_OK);
  near(dt ? db[0] : dbf[0], 9.0, tol, "dbias twice");
  ck_assert_int_eq(conv1dt_regularization_gradients(layer, NULL, NULL), CONV1DT_OK);
  conv1dt_destroy(layer);

  /* L2(0.25) on the bias: 2 * 0.25 * [-3, 0.25] = [-1.5, 0.125]; no regularizer on the kernel
   * leaves dkernel as it was. */
  layer = make_layer(dt, reg(CONV1DT_REG_NONE, 1, 1), reg(CONV1DT_REG_L2, 9, 0.25), true);
  double dk2[4] = {4, 3, 2, 1}, db2[2] = {0, 0};
  float dk2f[4] = {4, 3, 2, 1}, db2f[2] = {0, 0};
  ck_assert_int_eq(conv1dt_regularization_gradients(layer, dt ? (void *)dk2 : (void *)dk2f,
                                                    dt ? (void *)db2 : (void *)db2f),
                   CONV1DT_OK);
  for (int i = 0; i < 4; i++) ck_assert(dt ? dk2[i] == 4 - i : dk2f[i] == 4 - i);
  near(dt ? db2[0] : db2f[0], -1.5, tol, "l2 dbias[0]");
  near(dt ? db2[1] : db2f[1], 0.125, tol, "l2 dbias[1]");
  conv1dt_destroy(layer);

  /* No bias: dbias is not touched. */
  layer = make_layer(dt, reg(CONV1DT_REG_L1, 1, 0), reg(CONV1DT_REG_L1, 1, 0), false);
  double db3[2] = {5, 5};
  float db3f[2] = {5, 5};
  ck_assert_int_eq(conv1dt_regularization_gradients(layer, NULL, dt ? (void *)db3 : (void *)db3f),
                   CONV1DT_OK);
  ck_assert(dt ? db3[0] == 5 && db3[1] == 5 : db3f[0] == 5 && db3f[1] == 5);
  conv1dt_destroy(layer);
  expect_error(conv1dt_regularization_gradients(NULL, dk, db), CONV1DT_ERROR_NULL_ARGUMENT,
               "layer");
}
END_TEST

/* The gradient is the derivative of the loss: central differences away from 0. */
START_TEST(test_gradient_matches_loss) {
  conv1dt_config cfg = conv1dt_config_default(3, 2);
  cfg.kernel_regularizer = reg(CONV1DT_REG_L1L2, 0.03, 0.07);
  cfg.seed = 11;
  conv1dt_layer *layer = NULL;
  ck_assert_int_eq(conv1dt_create(&cfg, 2, CONV1DT_FLOAT64, &layer), CONV1DT_OK);
  double k[12], g[12] = {0}, b[3] = {0};
  ck_assert_int_eq(conv1dt_get_weights(layer, k, NULL), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_regularization_gradients(layer, g, NULL), CONV1DT_OK);
  for (int i = 0; i < 12; i++) {
    const double h = 1e-6, keep = k[i];
    double lp, lm;
    k[i] = keep + h;
    conv1dt_set_weights(layer, k, b);
    conv1dt_regularization_losses(layer, &lp, NULL);
    k[i] = keep - h;
    conv1dt_set_weights(layer, k, b);
    conv1dt_regularization_losses(layer, &lm, NULL);
    k[i] = keep;
    near(g[i], (lp - lm) / (2 * h), 1e-6, "finite difference");
  }
  conv1dt_destroy(layer);
}
END_TEST

START_TEST(test_activity_loss) {
  const conv1dt_dtype dt = (conv1dt_dtype)_i;
  /* F=2, K=1: output (batch, steps, 2). y for batch 2, steps 3: sum|y| = 15.5, sum y^2 = 37.25.
   * L1L2(0.1, 0.01): (1.55 + 0.3725) / 2 = 0.96125. */
  const double yd[13] = {1, -1, 2, -2, 0, 3, -4, 0.5, 0, 0, 1, 1, NAN};
  float yf[13];
  for (int i = 0; i < 13; i++) yf[i] = (float)yd[i];
  const void *y = dt == CONV1DT_FLOAT32 ? (const void *)yf : (const void *)yd;
  conv1dt_config cfg = conv1dt_config_default(2, 1);
  cfg.activity_regularizer = reg(CONV1DT_REG_L1L2, 0.1, 0.01);
  conv1dt_layer *layer = NULL;
  ck_assert_int_eq(conv1dt_create(&cfg, 1, dt, &layer), CONV1DT_OK);
  double loss = -1;
  ck_assert_int_eq(conv1dt_activity_loss(layer, y, 2, 3, &loss), CONV1DT_OK);
  near(loss, 0.96125, 1e-15, "activity L1L2 / 2");
  /* batch 1, steps 3: the first 6 values: sum|y| = 9, sum y^2 = 19 -> 0.9 + 0.19 */
  ck_assert_int_eq(conv1dt_activity_loss(layer, y, 1, 3, &loss), CONV1DT_OK);
  near(loss, 1.09, 1e-15, "activity batch 1");
  /* batch 3, steps 2 (12 values again): divided by 3 */
  ck_assert_int_eq(conv1dt_activity_loss(layer, y, 3, 2, &loss), CONV1DT_OK);
  near(loss, 1.9225 / 3, 1e-15, "activity batch 3");
  /* batch 0: 0, y may be NULL (Keras's divide_no_nan) */
  loss = -1;
  ck_assert_int_eq(conv1dt_activity_loss(layer, NULL, 0, 3, &loss), CONV1DT_OK);
  ck_assert(loss == 0.0);
  expect_error(conv1dt_activity_loss(layer, NULL, 1, 3, &loss), CONV1DT_ERROR_NULL_ARGUMENT, "y");
  expect_error(conv1dt_activity_loss(layer, y, 1, 3, NULL), CONV1DT_ERROR_NULL_ARGUMENT, "loss");
  expect_error(conv1dt_activity_loss(layer, y, 1, 0, &loss), CONV1DT_ERROR_INVALID_VALUE, "steps");
  expect_error(conv1dt_activity_loss(layer, y, -1, 3, &loss), CONV1DT_ERROR_INVALID_VALUE, "batch");
  expect_error(conv1dt_activity_loss(NULL, y, 1, 3, &loss), CONV1DT_ERROR_NULL_ARGUMENT, "layer");
  conv1dt_destroy(layer);

  /* No activity regularizer: 0. */
  cfg.activity_regularizer = reg(CONV1DT_REG_NONE, 1, 1);
  ck_assert_int_eq(conv1dt_create(&cfg, 1, dt, &layer), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_activity_loss(layer, y, 2, 3, &loss), CONV1DT_OK);
  ck_assert(loss == 0.0);
  conv1dt_destroy(layer);

  /* glu halves the last axis: (2, 3, 1) reads 6 values. L1(1): 9 / 2. */
  cfg.activation = "glu";
  cfg.activity_regularizer = reg(CONV1DT_REG_L1, 1.0, 0);
  ck_assert_int_eq(conv1dt_create(&cfg, 1, dt, &layer), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_activity_loss(layer, y, 2, 3, &loss), CONV1DT_OK);
  near(loss, 4.5, 1e-15, "glu output");
  conv1dt_destroy(layer);

  /* channels_first (2, 2, 3): the same 12 values, batch 2. L2(1): 37.25 / 2. */
  cfg.activation = NULL;
  cfg.data_format = CONV1DT_CHANNELS_FIRST;
  cfg.activity_regularizer = reg(CONV1DT_REG_L2, 0, 1.0);
  ck_assert_int_eq(conv1dt_create(&cfg, 1, dt, &layer), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_activity_loss(layer, y, 2, 3, &loss), CONV1DT_OK);
  near(loss, 18.625, 1e-15, "channels_first");
  conv1dt_destroy(layer);
}
END_TEST

/* The activity term of a real forward output equals the sum computed here. */
START_TEST(test_activity_of_forward_output) {
  conv1dt_config cfg = conv1dt_config_default(4, 3);
  cfg.strides = 2;
  cfg.activation = "tanh";
  cfg.activity_regularizer = reg(CONV1DT_REG_L1L2, 0.02, 0.3);
  conv1dt_layer *layer = NULL;
  ck_assert_int_eq(conv1dt_create(&cfg, 5, CONV1DT_FLOAT64, &layer), CONV1DT_OK);
  double x[3 * 7 * 5];
  for (int i = 0; i < 3 * 7 * 5; i++) x[i] = sin(0.37 * i);
  int64_t shape[3];
  ck_assert_int_eq(conv1dt_output_shape(layer, 3, 7, shape), CONV1DT_OK);
  const size_t n = (size_t)(shape[0] * shape[1] * shape[2]);
  double *y = malloc(n * sizeof *y);
  ck_assert_int_eq(conv1dt_forward(layer, x, 3, 7, y, NULL, 0), CONV1DT_OK);
  double a = 0, s = 0, loss;
  for (size_t i = 0; i < n; i++) a += fabs(y[i]), s += y[i] * y[i];
  ck_assert_int_eq(conv1dt_activity_loss(layer, y, 3, 7, &loss), CONV1DT_OK);
  near(loss, (0.02 * a + 0.3 * s) / 3, 1e-13, "forward output");
  free(y);
  conv1dt_destroy(layer);
}
END_TEST

START_TEST(test_names_and_defaults) {
  static const struct {
    const char *name;
    conv1dt_reg_kind kind;
    double l1, l2;
  } names[] = {
      {"l1", CONV1DT_REG_L1, 0.01, 0.01},
      {"L1", CONV1DT_REG_L1, 0.01, 0.01},
      {"l2", CONV1DT_REG_L2, 0.01, 0.01},
      {"L2", CONV1DT_REG_L2, 0.01, 0.01},
      {"l1l2", CONV1DT_REG_L1L2, 0.0, 0.0}, /* L1L2()'s defaults */
      {"L1L2", CONV1DT_REG_L1L2, 0.0, 0.0},
      {"l1_l2", CONV1DT_REG_L1L2, 0.0, 0.0},
      {"orthogonal_regularizer", CONV1DT_REG_ORTHOGONAL, 0.01, 0.01},
      {"OrthogonalRegularizer", CONV1DT_REG_ORTHOGONAL, 0.01, 0.01},
      {"regularizer", CONV1DT_REG_NONE, 0.01, 0.01},
      {"Regularizer", CONV1DT_REG_NONE, 0.01, 0.01},
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    conv1dt_regularizer r;
    memset(&r, 0x5A, sizeof r);
    ck_assert_msg(conv1dt_regularizer_from_name(names[i].name, &r) == CONV1DT_OK, "%s: %s",
                  names[i].name, conv1dt_last_error());
    ck_assert_msg(r.kind == names[i].kind && r.l1 == names[i].l1 && r.l2 == names[i].l2 &&
                      r.factor == 0.01 && !r.mode_columns,
                  "%s: kind %d l1 %g l2 %g factor %g", names[i].name, (int)r.kind, r.l1, r.l2,
                  r.factor);
  }
  conv1dt_regularizer r = reg(CONV1DT_REG_L2, 3, 4);
  static const char *const bad[] = {"L1_L2", "l1L2", "orthogonal", "Orthogonal", "", "none", "L2 "};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    expect_error(conv1dt_regularizer_from_name(bad[i], &r), CONV1DT_ERROR_UNKNOWN_NAME,
                 "Could not interpret regularizer identifier");
    ck_assert(r.kind == CONV1DT_REG_L2 && r.l1 == 3 && r.l2 == 4);
  }
  expect_error(conv1dt_regularizer_from_name(NULL, &r), CONV1DT_ERROR_NULL_ARGUMENT, "name");
  expect_error(conv1dt_regularizer_from_name("l1", NULL), CONV1DT_ERROR_NULL_ARGUMENT, "out");
}
END_TEST

START_TEST(test_validation_errors) {
  static const struct {
    const char *field;
    conv1dt_regularizer r;
    const char *needle;
  } cases[] = {
      {"kernel_regularizer",
       {CONV1DT_REG_L1, -0.5, 0, 0.01, false},
       "kernel_regularizer: Invalid value for argument l1: expected a non-negative float. "
       "Received: l1=-0.5"},
      {"kernel_regularizer", {CONV1DT_REG_L2, 0, NAN, 0.01, false}, "l2=nan"},
      {"bias_regularizer",
       {CONV1DT_REG_L1L2, INFINITY, 0, 0.01, false},
       "bias_regularizer: Invalid value for argument l1"},
      {"bias_regularizer", {CONV1DT_REG_L1L2, 0, -1e-9, 0.01, false}, "l2=-1.0000000000000001e-09"},
      {"activity_regularizer",
       {CONV1DT_REG_L2, 0, -2, 0.01, false},
       "activity_regularizer: Invalid value for argument l2"},
      {"kernel_regularizer",
       {CONV1DT_REG_ORTHOGONAL, 0, 0, -0.01, false},
       "Invalid value for argument factor: expected a non-negative float"},
      {"kernel_regularizer",
       {CONV1DT_REG_ORTHOGONAL, 0, 0, 0.01, false},
       "kernel_regularizer: Inputs to OrthogonalRegularizer must have rank 2. Received: "
       "inputs.shape=(2, 2, 1)"},
      {"bias_regularizer",
       {CONV1DT_REG_ORTHOGONAL, 0, 0, 0.01, true},
       "bias_regularizer: Inputs to OrthogonalRegularizer must have rank 2. Received: "
       "inputs.shape=(2,)"},
      {"activity_regularizer",
       {CONV1DT_REG_ORTHOGONAL, 0, 0, 0.01, false},
       "activity_regularizer: Inputs to OrthogonalRegularizer must have rank 2. Received: "
       "inputs.shape=(None, None, None)"},
      {"kernel_regularizer",
       {(conv1dt_reg_kind)5, 0, 0, 0.01, false},
       "kernel_regularizer: unknown regularizer kind 5"},
      {"activity_regularizer", {(conv1dt_reg_kind)-1, 0, 0, 0.01, false}, "unknown regularizer"},
  };
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    conv1dt_config cfg = conv1dt_config_default(2, 2);
    if (cases[c].field[0] == 'k')
      cfg.kernel_regularizer = cases[c].r;
    else if (cases[c].field[0] == 'b')
      cfg.bias_regularizer = cases[c].r;
    else
      cfg.activity_regularizer = cases[c].r;
    conv1dt_layer *layer = NULL;
    expect_error(conv1dt_create(&cfg, 1, CONV1DT_FLOAT32, &layer), CONV1DT_ERROR_INVALID_VALUE,
                 cases[c].needle);
    ck_assert_ptr_null(layer);
  }
  /* A layer without a bias never calls its bias regularizer: only the factors are checked. */
  conv1dt_config cfg = conv1dt_config_default(2, 2);
  cfg.use_bias = false;
  cfg.bias_regularizer = reg(CONV1DT_REG_ORTHOGONAL, 0, 0);
  conv1dt_layer *layer = NULL;
  ck_assert_int_eq(conv1dt_create(&cfg, 1, CONV1DT_FLOAT32, &layer), CONV1DT_OK);
  conv1dt_destroy(layer);
  cfg.bias_regularizer = reg(CONV1DT_REG_L1, -1, 0);
  expect_error(conv1dt_create(&cfg, 1, CONV1DT_FLOAT32, &layer), CONV1DT_ERROR_INVALID_VALUE,
               "bias_regularizer: Invalid value for argument l1");
  /* Fields of other kinds are not read. */
  cfg = conv1dt_config_default(2, 2);
  cfg.kernel_regularizer = reg(CONV1DT_REG_L1, 0.1, NAN);
  cfg.kernel_regularizer.factor = -5;
  cfg.bias_regularizer = reg(CONV1DT_REG_NONE, -1, -1);
  ck_assert_int_eq(conv1dt_create(&cfg, 1, CONV1DT_FLOAT32, &layer), CONV1DT_OK);
  conv1dt_destroy(layer);
}
END_TEST

static Suite *regularize_suite(void) {
  Suite *s = suite_create("regularize");
  TCase *tc = tcase_create("values");
  tcase_add_loop_test(tc, test_losses, 0, 2);
  tcase_add_test(tc, test_zero_factor_with_infinite_weight);
  tcase_add_loop_test(tc, test_gradients, 0, 2);
  tcase_add_test(tc, test_gradient_matches_loss);
  tcase_add_loop_test(tc, test_activity_loss, 0, 2);
  tcase_add_test(tc, test_activity_of_forward_output);
  suite_add_tcase(s, tc);
  tc = tcase_create("names_and_errors");
  tcase_add_test(tc, test_names_and_defaults);
  tcase_add_test(tc, test_validation_errors);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return run_suite(regularize_suite());
}
