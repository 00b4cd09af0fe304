/*
 * test_keras_expectations: what Keras's own test suite (conv_transpose_test.py) and documentation
 * expect of Conv1DTranspose — output shapes, the consistency product over kernel size x strides x
 * padding x output_padding — plus a table of outputs computed by hand from the definition.
 */
#include <check.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "conv1dt.h"
#include "reference.h"
#include "test_numerics_support.h"

#define MSG_SIZE 4096

static const char *fmt_name(conv1dt_data_format df) {
  return df == CONV1DT_CHANNELS_LAST ? "channels_last" : "channels_first";
}

/* ------------------------------------------------------------------ shapes */

typedef struct shape_case {
  int64_t batch, steps, channels, filters, kernel, strides, output_padding;
  conv1dt_padding padding;
  const char *activation;
  int64_t want_steps; /* Keras's new_steps */
} shape_case;

static const shape_case keras_shapes[] = {
    /* conv_transpose_test.py: (2, 8, 4) -> (2, 16, 5) */
    {2, 8, 4, 5, 2, 2, CONV1DT_OUTPUT_PADDING_NONE, CONV1DT_PADDING_VALID, NULL, 16},
    /* conv_transpose_test.py: (2, 8, 4), same, output_padding 2 -> (2, 23, 6) */
    {2, 8, 4, 6, 2, 3, 2, CONV1DT_PADDING_SAME, NULL, 23},
    /* the documentation's example: (4, 10, 128) -> (4, 21, 32) */
    {4, 10, 128, 32, 3, 2, CONV1DT_OUTPUT_PADDING_NONE, CONV1DT_PADDING_VALID, "relu", 21},
};

START_TEST(test_keras_shapes) {
  const conv1dt_dtype dt = (conv1dt_dtype)(_i % 2);
  const conv1dt_data_format df = (conv1dt_data_format)(_i / 2);
  ref_rng rng;
  ref_rng_seed(&rng, 2024 + (uint64_t)_i);
  for (size_t i = 0; i < sizeof keras_shapes / sizeof keras_shapes[0]; ++i) {
    const shape_case *c = &keras_shapes[i];
    conv1dt_config cfg = conv1dt_config_default(c->filters, c->kernel);
    cfg.strides = c->strides;
    cfg.output_padding = c->output_padding;
    cfg.padding = c->padding;
    cfg.activation = c->activation;
    cfg.data_format = df;
    conv1dt_layer *layer = NULL;
    ck_assert_int_eq(conv1dt_create(&cfg, c->channels, dt, &layer), CONV1DT_OK);
    int64_t shape[3];
    ck_assert_int_eq(conv1dt_output_shape(layer, c->batch, c->steps, shape), CONV1DT_OK);
    const int64_t want[3] = {c->batch, df == CONV1DT_CHANNELS_LAST ? c->want_steps : c->filters,
                             df == CONV1DT_CHANNELS_LAST ? c->filters : c->want_steps};
    ck_assert_msg(memcmp(shape, want, sizeof want) == 0,
                  "case %zu %s: (%" PRId64 ",%" PRId64 ",%" PRId64 "), Keras gives (%" PRId64
                  ",%" PRId64 ",%" PRId64 ")",
                  i, fmt_name(df), shape[0], shape[1], shape[2], want[0], want[1], want[2]);
    int64_t rshape[3];
    ck_assert_int_eq(ref_output_shape(&cfg, c->channels, c->batch, c->steps, rshape), REF_OK);
    ck_assert_msg(memcmp(rshape, want, sizeof want) == 0, "reference disagrees with Keras");
    conv1dt_destroy(layer);
    char msg[MSG_SIZE] = "";
    ck_assert_msg(tn_check_random_case(&rng, &cfg, c->channels, dt, c->batch, c->steps, false, msg,
                                       sizeof msg) == 0,
                  "%s", msg);
  }
}
END_TEST

/* The reference's pad-based geometry against the sheet's closed forms, and the library's shapes
 * against both, over a wide grid. */
START_TEST(test_output_length_grid) {
  size_t checked = 0;
  for (int64_t s = 1; s <= 6; ++s)
    for (int64_t d = 1; d <= (s == 1 ? 4 : 1); ++d)
      for (int64_t K = 1; K <= 9; ++K)
        for (int pad = 0; pad < 2; ++pad)
          for (int64_t op = -1; op < s; ++op) {
            conv1dt_config cfg = conv1dt_config_default(3, K);
            cfg.strides = s;
            cfg.dilation_rate = d;
            cfg.padding = (conv1dt_padding)pad;
            cfg.output_padding = op;
            conv1dt_layer *layer = NULL;
            ck_assert_int_eq(conv1dt_create(&cfg, 2, CONV1DT_FLOAT32, &layer), CONV1DT_OK);
            for (int64_t L = 1; L <= 12; ++L) {
              ref_geometry g;
              ck_assert(ref_geometry_of(&cfg, L, &g));
              const int64_t formula = ref_output_length_formula(&cfg, L);
              ck_assert_int_eq(g.out_len, formula);
              ck_assert_int_ge(g.crop_left, 0);
              const int64_t keff = g.keff;
              if (pad == CONV1DT_PADDING_SAME && op < 0)
                ck_assert_int_eq(g.crop_left, (keff > s ? keff - s : 0) / 2);
              if (pad == CONV1DT_PADDING_SAME && op >= 0) {
                int64_t cl = keff / 2 - (op + 1) / 2;
                ck_assert_int_eq(g.crop_left, cl > 0 ? cl : 0);
              }
              if (pad == CONV1DT_PADDING_VALID) ck_assert_int_eq(g.crop_left, 0);
              int64_t shape[3];
              ck_assert_int_eq(conv1dt_output_shape(layer, 1, L, shape), CONV1DT_OK);
              ck_assert_msg(shape[1] == formula,
                            "K=%" PRId64 " s=%" PRId64 " d=%" PRId64 " %s op=%" PRId64 " L=%" PRId64
                            ": new_steps %" PRId64 ", expected %" PRId64,
                            K, s, d, pad ? "same" : "valid", op, L, shape[1], formula);
              ++checked;
            }
            conv1dt_destroy(layer);
          }
  printf("test_output_length_grid: %zu shapes\n", checked);
}
END_TEST

/* ------------------------------------------------------------------ consistency product */

/* Keras's test_conv1d_transpose_consistency: kernel_size 1-4 x strides 1-4 x padding x
 * output_padding None or 1..s-1; input ones (1, 3, 1); kernel arange(1..K) as (K, 1, 1); no
 * (zero) bias. Compared with the reference; every value is an exact integer. */
START_TEST(test_consistency_product) {
  const conv1dt_dtype dt = (conv1dt_dtype)(_i % 2);
  const conv1dt_data_format df = (conv1dt_data_format)(_i / 2);
  size_t configs = 0, failed = 0;
  char first[MSG_SIZE] = "";
  const double x[3] = {1, 1, 1}, zero_bias[1] = {0};
  for (int64_t K = 1; K <= 4; ++K)
    for (int64_t s = 1; s <= 4; ++s)
      for (int pad = 0; pad < 2; ++pad)
        for (int64_t op = -1; op < s; ++op) {
          if (op == 0) continue; /* Keras's product: None or 1..s-1 */
          double kernel[4];
          for (int64_t k = 0; k < K; ++k) kernel[k] = (double)(k + 1);
          conv1dt_config cfg = conv1dt_config_default(1, K);
          cfg.strides = s;
          cfg.padding = (conv1dt_padding)pad;
          cfg.output_padding = op;
          cfg.data_format = df;
          char msg[MSG_SIZE] = "";
          ++configs;
          if (tn_check_case(&cfg, 1, dt, 1, 3, x, kernel, zero_bias, msg, sizeof msg, NULL, NULL)) {
            fprintf(stderr, "FAIL %s", msg);
            if (!failed) snprintf(first, sizeof first, "%s", msg);
            ++failed;
          }
        }
  printf("test_consistency_product %s %s: %zu configurations, %zu failed\n",
         dt == CONV1DT_FLOAT32 ? "float32" : "float64", fmt_name(df), configs, failed);
  ck_assert_int_eq(configs, 80);
  ck_assert_msg(failed == 0, "%zu of %zu failed; first:\n%s", failed, configs, first);
}
END_TEST

/* ------------------------------------------------------------------ hand-computed outputs */

typedef struct hand_case {
  int64_t K, s, d, op;
  conv1dt_padding padding;
  int64_t len;
  double y[16];
} hand_case;

/*
 * x = ones (1, 3, 1), kernel = [1, 2, ..., K], no bias. full[l*s + k*d] += k+1 for l < 3;
 * then the window [crop_left, crop_left + len) with zeros past the end of full.
 */
static const hand_case hand[] = {
    /* K3 s2 valid: full = [1,2,1+3,2,1+3,2,3], length (3-1)*2+max(3,2) = 7, crop 0 */
    {3, 2, 1, -1, CONV1DT_PADDING_VALID, 7, {1, 2, 4, 2, 4, 2, 3}},
    /* K3 s2 valid op1: length 4+3+1 = 8, one zero-extended step */
    {3, 2, 1, 1, CONV1DT_PADDING_VALID, 8, {1, 2, 4, 2, 4, 2, 3, 0}},
    /* K2 s3 valid: length 6+max(2,3) = 9 > full length 8: one zero */
    {2, 3, 1, -1, CONV1DT_PADDING_VALID, 9, {1, 2, 0, 1, 2, 0, 1, 2, 0}},
    /* K1 s4 valid: length 8+4 = 12 */
    {1, 4, 1, -1, CONV1DT_PADDING_VALID, 12, {1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0}},
    /* K2 s4 valid op3: length 8+2+3 = 13 */
    {2, 4, 1, 3, CONV1DT_PADDING_VALID, 13, {1, 2, 0, 0, 1, 2, 0, 0, 1, 2, 0, 0, 0}},
    /* K3 s1 valid: length 5, full = [1, 3, 6, 5, 3] */
    {3, 1, 1, -1, CONV1DT_PADDING_VALID, 5, {1, 3, 6, 5, 3}},
    /* K2 d3 s1 valid: Keff 4, taps at +0 and +3: full = [1,1,1,2,2,2] */
    {2, 1, 3, -1, CONV1DT_PADDING_VALID, 6, {1, 1, 1, 2, 2, 2}},
    /* K3 s2 same: length 3*2 = 6, crop_left floor((3-2)/2) = 0 */
    {3, 2, 1, -1, CONV1DT_PADDING_SAME, 6, {1, 2, 4, 2, 4, 2}},
    /* K4 s1 same: length 3, full = [1,3,6,9,7,4], crop_left floor(3/2) = 1 */
    {4, 1, 1, -1, CONV1DT_PADDING_SAME, 3, {3, 6, 9}},
    /* K2 s1 same: length 3, full = [1,3,3,2], crop_left 0 */
    {2, 1, 1, -1, CONV1DT_PADDING_SAME, 3, {1, 3, 3}},
    /* K4 s2 same: length 6, full = [1,2,4,6,4,6,3,4], crop_left 1 */
    {4, 2, 1, -1, CONV1DT_PADDING_SAME, 6, {2, 4, 6, 4, 6, 3}},
    /* K4 s3 same: length 9, full = [1,2,3,5,2,3,5,2,3,4], crop_left 0 */
    {4, 3, 1, -1, CONV1DT_PADDING_SAME, 9, {1, 2, 3, 5, 2, 3, 5, 2, 3}},
    /* K4 s4 same: length 12, no overlap */
    {4, 4, 1, -1, CONV1DT_PADDING_SAME, 12, {1, 2, 3, 4, 1, 2, 3, 4, 1, 2, 3, 4}},
    /* K4 s2 same op1: length 4+0+1 = 5, crop_left max(0, 2-1) = 1 */
    {4, 2, 1, 1, CONV1DT_PADDING_SAME, 5, {2, 4, 6, 4, 6}},
    /* K3 s3 same op2: length 6+1+2 = 9, crop_left max(0, 1-1) = 0 */
    {3, 3, 1, 2, CONV1DT_PADDING_SAME, 9, {1, 2, 3, 1, 2, 3, 1, 2, 3}},
    /* K3 s4 same op3: length 8+1+3 = 12 > full length 11: one zero */
    {3, 4, 1, 3, CONV1DT_PADDING_SAME, 12, {1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3, 0}},
    /* K2 s2 same op1: length 4+0+1 = 5, crop_left max(0, 1-1) = 0 */
    {2, 2, 1, 1, CONV1DT_PADDING_SAME, 5, {1, 2, 1, 2, 1}},
    /* K3 s1 same op0: length 2+1+0 = 3, crop_left 1 */
    {3, 1, 1, 0, CONV1DT_PADDING_SAME, 3, {3, 6, 5}},
    /* K1 s1 same: the identity */
    {1, 1, 1, -1, CONV1DT_PADDING_SAME, 3, {1, 1, 1}},
};

static void *run_layer(const conv1dt_config *cfg, int64_t C, conv1dt_dtype dt, const double *x,
                       int64_t B, int64_t L, const double *kernel, const double *bias,
                       int64_t shape[3]) {
  const size_t es = ref_dtype_size(dt);
  const size_t nk = (size_t)(cfg->kernel_size * cfg->filters * C), nx = (size_t)(B * L * C);
  void *k = malloc(nk * es), *b = malloc((size_t)cfg->filters * es), *xd = malloc(nx * es);
  ck_assert(k && b && xd);
  ref_from_double(dt, kernel, k, nk);
  if (bias) ref_from_double(dt, bias, b, (size_t)cfg->filters);
  ref_from_double(dt, x, xd, nx);
  conv1dt_layer *layer = NULL;
  ck_assert_int_eq(conv1dt_create(cfg, C, dt, &layer), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_set_weights(layer, k, cfg->use_bias ? b : NULL), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_output_shape(layer, B, L, shape), CONV1DT_OK);
  void *y = malloc((size_t)(shape[0] * shape[1] * shape[2] + 1) * es);
  ck_assert_ptr_nonnull(y);
  ck_assert_int_eq(conv1dt_forward(layer, xd, B, L, y, NULL, 0), CONV1DT_OK);
  conv1dt_destroy(layer);
  free(k);
  free(b);
  free(xd);
  return y;
}

static double at(conv1dt_dtype dt, const void *y, size_t i) {
  return dt == CONV1DT_FLOAT32 ? (double)((const float *)y)[i] : ((const double *)y)[i];
}

START_TEST(test_hand_table) {
  const conv1dt_dtype dt = (conv1dt_dtype)(_i % 2);
  const conv1dt_data_format df = (conv1dt_data_format)(_i / 2);
  const double x[3] = {1, 1, 1};
  int failures = 0;
  for (size_t i = 0; i < sizeof hand / sizeof hand[0]; ++i) {
    const hand_case *h = &hand[i];
    double kernel[4];
    for (int64_t k = 0; k < h->K; ++k) kernel[k] = (double)(k + 1);
    conv1dt_config cfg = conv1dt_config_default(1, h->K);
    cfg.strides = h->s;
    cfg.dilation_rate = h->d;
    cfg.output_padding = h->op;
    cfg.padding = h->padding;
    cfg.data_format = df;
    cfg.use_bias = false;
    /* the reference must agree with the hand numbers too */
    ref_output ref;
    ck_assert_int_eq(ref_forward(&cfg, 1, dt, x, 1, 3, kernel, NULL, &ref), REF_OK);
    ck_assert_int_eq((int64_t)ref.count, h->len);
    for (int64_t j = 0; j < h->len; ++j)
      ck_assert_msg(ref.y[j] == h->y[j], "reference, case %zu: y[%" PRId64 "] = %g, hand %g", i, j,
                    ref.y[j], h->y[j]);
    ref_output_free(&ref);
    int64_t shape[3];
    void *y = run_layer(&cfg, 1, dt, x, 1, 3, kernel, NULL, shape);
    const int64_t len = df == CONV1DT_CHANNELS_LAST ? shape[1] : shape[2];
    if (len != h->len) {
      fprintf(stderr,
              "FAIL case %zu (K=%" PRId64 " s=%" PRId64 " d=%" PRId64 " op=%" PRId64
              " %s %s): length %" PRId64 ", expected %" PRId64 "\n",
              i, h->K, h->s, h->d, h->op, h->padding ? "same" : "valid", fmt_name(df), len, h->len);
      ++failures;
    } else {
      for (int64_t j = 0; j < h->len; ++j)
        if (at(dt, y, (size_t)j) != h->y[j]) {
          fprintf(stderr,
                  "FAIL case %zu (K=%" PRId64 " s=%" PRId64 " d=%" PRId64 " op=%" PRId64
                  " %s %s): y[%" PRId64 "] = %g, expected %g\n",
                  i, h->K, h->s, h->d, h->op, h->padding ? "same" : "valid", fmt_name(df), j,
                  at(dt, y, (size_t)j), h->y[j]);
          ++failures;
        }
    }
    free(y);
  }
  ck_assert_msg(failures == 0, "%d hand-computed values differ (see stderr)", failures);
}
END_TEST

/* Bias on every step (also the zero-extended ones) and relu after it:
 * kernel [1,-2,1], K3 s2 valid, bias 0.5: full = [1,-2,2,-2,2,-2,1], +0.5, relu. */
START_TEST(test_hand_bias_relu) {
  const conv1dt_dtype dt = (conv1dt_dtype)(_i % 2);
  const conv1dt_data_format df = (conv1dt_data_format)(_i / 2);
  const double x[3] = {1, 1, 1}, kernel[3] = {1, -2, 1}, bias[1] = {0.5};
  const double want[7] = {1.5, 0, 2.5, 0, 2.5, 0, 1.5};
  conv1dt_config cfg = conv1dt_config_default(1, 3);
  cfg.strides = 2;
  cfg.activation = "relu";
  cfg.data_format = df;
  int64_t shape[3];
  void *y = run_layer(&cfg, 1, dt, x, 1, 3, kernel, bias, shape);
  ck_assert_int_eq(shape[0] * shape[1] * shape[2], 7);
  for (size_t j = 0; j < 7; ++j)
    ck_assert_msg(at(dt, y, j) == want[j], "y[%zu] = %g, expected %g", j, at(dt, y, j), want[j]);
  free(y);
  /* zero-extended steps hold the bias only: K2 s3 valid, full length 8 < 9 */
  cfg = conv1dt_config_default(1, 2);
  cfg.strides = 3;
  cfg.data_format = df;
  const double k2[2] = {1, 2}, b2[1] = {-4};
  const double want2[9] = {-3, -2, -4, -3, -2, -4, -3, -2, -4};
  y = run_layer(&cfg, 1, dt, x, 1, 3, k2, b2, shape);
  for (size_t j = 0; j < 9; ++j)
    ck_assert_msg(at(dt, y, j) == want2[j], "y[%zu] = %g, expected %g", j, at(dt, y, j), want2[j]);
  free(y);
}
END_TEST

/* Two channels, two filters: the kernel is (K, F, C) and the layouts differ.
 * x (steps 2, channels 2) = [[1,2],[3,4]]; W[0,0,:] = [1,1], W[0,1,:] = [1,-1]; K1 s2 valid
 * (4 steps); bias [10, 20]. Steps 0 and 2 get x[0]·W and x[1]·W, steps 1 and 3 the bias. */
START_TEST(test_hand_channels) {
  const conv1dt_dtype dt = (conv1dt_dtype)(_i % 2);
  const conv1dt_data_format df = (conv1dt_data_format)(_i / 2);
  const double x_last[4] = {1, 2, 3, 4}, x_first[4] = {1, 3, 2, 4};
  const double kernel[4] = {1, 1, 1, -1}, bias[2] = {10, 20};
  const double want_last[8] = {13, 19, 10, 20, 17, 19, 10, 20};
  const double want_first[8] = {13, 10, 17, 10, 19, 20, 19, 20};
  conv1dt_config cfg = conv1dt_config_default(2, 1);
  cfg.strides = 2;
  cfg.data_format = df;
  int64_t shape[3];
  void *y = run_layer(&cfg, 2, dt, df == CONV1DT_CHANNELS_LAST ? x_last : x_first, 1, 2, kernel,
                      bias, shape);
  const int64_t want_shape[3] = {1, df == CONV1DT_CHANNELS_LAST ? 4 : 2,
                                 df == CONV1DT_CHANNELS_LAST ? 2 : 4};
  ck_assert(memcmp(shape, want_shape, sizeof want_shape) == 0);
  const double *want = df == CONV1DT_CHANNELS_LAST ? want_last : want_first;
  for (size_t j = 0; j < 8; ++j)
    ck_assert_msg(at(dt, y, j) == want[j], "%s y[%zu] = %g, expected %g", fmt_name(df), j,
                  at(dt, y, j), want[j]);
  free(y);
}
END_TEST

static Suite *keras_suite(void) {
  Suite *s = suite_create("keras_expectations");
  TCase *tc = tcase_create("shapes");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, test_keras_shapes, 0, 4);
  tcase_add_test(tc, test_output_length_grid);
  suite_add_tcase(s, tc);
  tc = tcase_create("consistency");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, test_consistency_product, 0, 4);
  suite_add_tcase(s, tc);
  tc = tcase_create("hand");
  tcase_add_loop_test(tc, test_hand_table, 0, 4);
  tcase_add_loop_test(tc, test_hand_bias_relu, 0, 4);
  tcase_add_loop_test(tc, test_hand_channels, 0, 4);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return run_suite(keras_suite());
}
