/*
 * test_validation: every argument check of the public API — status code, a message naming the
 * argument and the value received, nothing written on failure — plus name parsing, status names,
 * size overflow, and the thread-local error message.
 */
#include <check.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "conv1dt.h"
#include "reference.h"

/* Asserts status `st` == `want` and that the thread's message contains each of the substrings. */
#define EXPECT_ERROR(call, want, ...)                                                              \
  do {                                                                                             \
    const conv1dt_status st_ = (call);                                                             \
    const char *const subs_[] = {__VA_ARGS__};                                                     \
    ck_assert_msg(st_ == (want), "%s -> %s, expected %s (%s)", #call, conv1dt_status_name(st_),    \
                  conv1dt_status_name(want), conv1dt_last_error());                                \
    const char *msg_ = conv1dt_last_error();                                                       \
    ck_assert_msg(msg_ != NULL && msg_[0] != '\0', "%s: empty last_error", #call);                 \
    for (size_t i_ = 0; i_ < sizeof subs_ / sizeof subs_[0]; ++i_)                                 \
      ck_assert_msg(subs_[i_] == NULL || strstr(msg_, subs_[i_]) != NULL,                          \
                    "%s: message \"%s\" lacks \"%s\"", #call, msg_, subs_[i_]);                    \
  } while (0)

static conv1dt_layer *make_layer(conv1dt_config cfg, int64_t C, conv1dt_dtype dt) {
  conv1dt_layer *layer = NULL;
  ck_assert_int_eq(conv1dt_create(&cfg, C, dt, &layer), CONV1DT_OK);
  ck_assert_ptr_nonnull(layer);
  return layer;
}

/* ------------------------------------------------------------------ conv1dt_create */

typedef struct bad_config {
  int64_t filters, kernel_size, strides, output_padding, dilation_rate;
  int padding, data_format;
  int64_t in_channels;
  int dtype;
  const char *word1, *word2, *word3; /* the message must contain these */
} bad_config;

START_TEST(test_create_invalid_values) {
  static const bad_config cases[] = {
      {0, 3, 1, -1, 1, 0, 0, 2, 0, "filters", "0", NULL},
      {-3, 3, 1, -1, 1, 0, 0, 2, 1, "filters", "-3", NULL},
      {4, 0, 1, -1, 1, 0, 0, 2, 0, "kernel_size", "0", NULL},
      {4, -2, 1, -1, 1, 0, 0, 2, 0, "kernel_size", "-2", NULL},
      {4, 3, 0, -1, 1, 0, 0, 2, 0, "strides", "0", NULL},
      {4, 3, -1, -1, 1, 0, 0, 2, 0, "strides", "-1", NULL},
      {4, 3, 1, -1, 0, 0, 0, 2, 0, "dilation_rate", "0", NULL},
      {4, 3, 1, -1, -7, 0, 0, 2, 0, "dilation_rate", "-7", NULL},
      {4, 3, 2, 2, 1, 0, 0, 2, 0, "output_padding", "2", NULL},
      {4, 3, 3, 7, 1, 1, 0, 2, 1, "output_padding", "7", NULL},
      {4, 3, 1, 1, 1, 0, 0, 2, 0, "output_padding", "1", NULL},
      {4, 3, 3, -2, 1, 0, 0, 2, 0, "output_padding", "-2", NULL},
      {4, 3, 2, -1, 2, 0, 0, 2, 0, "strides", "dilation_rate", "2"},
      {4, 3, 4, -1, 3, 1, 1, 2, 1, "strides", "dilation_rate", "3"},
      {4, 3, 1, -1, 1, 2, 0, 2, 0, "padding", "2", NULL},
      {4, 3, 1, -1, 1, -1, 0, 2, 0, "padding", "-1", NULL},
      {4, 3, 1, -1, 1, 0, 7, 2, 0, "data_format", "7", NULL},
      {4, 3, 1, -1, 1, 0, -1, 2, 0, "data_format", "-1", NULL},
      {4, 3, 1, -1, 1, 0, 0, 0, 0, "in_channels", "0", NULL},
      {4, 3, 1, -1, 1, 0, 0, -4, 1, "in_channels", "-4", NULL},
      {4, 3, 1, -1, 1, 0, 0, 2, 2, "dtype", "2", NULL},
      {4, 3, 1, -1, 1, 0, 0, 2, -1, "dtype", "-1", NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; ++i) {
    const bad_config *c = &cases[i];
    conv1dt_config cfg = conv1dt_config_default(c->filters, c->kernel_size);
    cfg.strides = c->strides;
    cfg.output_padding = c->output_padding;
    cfg.dilation_rate = c->dilation_rate;
    cfg.padding = (conv1dt_padding)c->padding;
    cfg.data_format = (conv1dt_data_format)c->data_format;
    conv1dt_layer *const sentinel = (conv1dt_layer *)&cases[i];
    conv1dt_layer *layer = sentinel;
    const conv1dt_status st = conv1dt_create(&cfg, c->in_channels, (conv1dt_dtype)c->dtype, &layer);
    const char *msg = conv1dt_last_error();
    ck_assert_msg(st == CONV1DT_ERROR_INVALID_VALUE,
                  "case %zu (%s %s): got %s, expected CONV1DT_ERROR_INVALID_VALUE (%s)", i,
                  c->word1, c->word2, conv1dt_status_name(st), msg);
    ck_assert_msg(layer == sentinel, "case %zu: *out written on failure", i);
    const char *words[3] = {c->word1, c->word2, c->word3};
    for (int w = 0; w < 3; ++w)
      ck_assert_msg(!words[w] || strstr(msg, words[w]), "case %zu: message \"%s\" lacks \"%s\"", i,
                    msg, words[w]);
  }
}
END_TEST

START_TEST(test_algorithm_names) {
  static const struct {
    const char *text;
    conv1dt_algorithm want;
  } good[] = {{"auto", CONV1DT_ALGORITHM_AUTO},
              {"GEMM", CONV1DT_ALGORITHM_GEMM},
              {"Direct", CONV1DT_ALGORITHM_DIRECT},
              {"gemm_accumulate", CONV1DT_ALGORITHM_GEMM_ACCUMULATE},
              {"gemm-accumulate", CONV1DT_ALGORITHM_GEMM_ACCUMULATE}};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; ++i) {
    conv1dt_algorithm a = (conv1dt_algorithm)-1;
    ck_assert_int_eq(conv1dt_algorithm_from_string(good[i].text, &a), CONV1DT_OK);
    ck_assert_int_eq(a, good[i].want);
  }
  static const char *const bad[] = {"", "gemm ", "direct2", "accumulate",
                                    "gemm_accumulate_and_some_more_text_than_fits_32"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
    conv1dt_algorithm a = CONV1DT_ALGORITHM_GEMM;
    EXPECT_ERROR(conv1dt_algorithm_from_string(bad[i], &a), CONV1DT_ERROR_UNKNOWN_NAME,
                 "algorithm");
    ck_assert_int_eq(a, CONV1DT_ALGORITHM_GEMM);
  }
  conv1dt_algorithm a;
  EXPECT_ERROR(conv1dt_algorithm_from_string(NULL, &a), CONV1DT_ERROR_NULL_ARGUMENT, NULL);
  EXPECT_ERROR(conv1dt_algorithm_from_string("auto", NULL), CONV1DT_ERROR_NULL_ARGUMENT, NULL);
}
END_TEST

/* conv1dt_forward_algorithm: never AUTO; the explicit choices hold while their workspace fits,
 * DIRECT and GEMM_ACCUMULATE fall back to GEMM below it; names round-trip. */
START_TEST(test_forward_algorithm) {
  for (int a = 0; a <= 3; ++a) {
    const char *name = conv1dt_algorithm_name((conv1dt_algorithm)a);
    ck_assert_ptr_nonnull(name);
    conv1dt_algorithm back = (conv1dt_algorithm)-1;
    ck_assert_int_eq(conv1dt_algorithm_from_string(name, &back), CONV1DT_OK);
    ck_assert_int_eq(back, a);
  }
  ck_assert_ptr_null(conv1dt_algorithm_name((conv1dt_algorithm)4));
  ck_assert_ptr_null(conv1dt_algorithm_name((conv1dt_algorithm)-1));
  for (int a = 0; a <= 3; ++a) {
    conv1dt_config cfg = conv1dt_config_default(64, 8);
    cfg.strides = 4;
    cfg.algorithm = (conv1dt_algorithm)a;
    conv1dt_layer *layer = make_layer(cfg, 16, CONV1DT_FLOAT32);
    conv1dt_algorithm got = CONV1DT_ALGORITHM_AUTO;
    ck_assert_int_eq(conv1dt_forward_algorithm(layer, 2, 600, 0, &got), CONV1DT_OK);
    ck_assert_int_ne(got, CONV1DT_ALGORITHM_AUTO);
    if (a != CONV1DT_ALGORITHM_AUTO) ck_assert_int_eq(got, a);
    if (a == CONV1DT_ALGORITHM_AUTO) ck_assert_int_eq(got, CONV1DT_ALGORITHM_DIRECT); /* 16 ch */
    size_t least = 0;
    ck_assert_int_eq(conv1dt_min_workspace_size(layer, 2, 600, &least), CONV1DT_OK);
    ck_assert_int_eq(conv1dt_forward_algorithm(layer, 2, 600, least, &got), CONV1DT_OK);
    EXPECT_ERROR(conv1dt_forward_algorithm(layer, 2, 600, least - 1, &got),
                 CONV1DT_ERROR_WORKSPACE_TOO_SMALL, NULL);
    EXPECT_ERROR(conv1dt_forward_algorithm(layer, 2, 0, 0, &got), CONV1DT_ERROR_INVALID_VALUE,
                 "steps");
    EXPECT_ERROR(conv1dt_forward_algorithm(layer, 2, 600, 0, NULL), CONV1DT_ERROR_NULL_ARGUMENT,
                 NULL);
    conv1dt_destroy(layer);
  }
  conv1dt_algorithm got;
  EXPECT_ERROR(conv1dt_forward_algorithm(NULL, 2, 600, 0, &got), CONV1DT_ERROR_NULL_ARGUMENT, NULL);
  /* a workspace of the GEMM method's minimum but too small for the direct kernel's tiles */
  conv1dt_config cfg = conv1dt_config_default(4, 3);
  cfg.algorithm = CONV1DT_ALGORITHM_DIRECT;
  conv1dt_layer *layer = make_layer(cfg, 2, CONV1DT_FLOAT64);
  size_t least = 0;
  ck_assert_int_eq(conv1dt_min_workspace_size(layer, 1, 50, &least), CONV1DT_OK);
  for (size_t bytes = least; bytes < least + 4096; bytes += 64) {
    ck_assert_int_eq(conv1dt_forward_algorithm(layer, 1, 50, bytes, &got), CONV1DT_OK);
    ck_assert(got == CONV1DT_ALGORITHM_DIRECT || got == CONV1DT_ALGORITHM_GEMM);
  }
  ck_assert_int_eq(conv1dt_forward_algorithm(layer, 1, 50, 0, &got), CONV1DT_OK);
  ck_assert_int_eq(got, CONV1DT_ALGORITHM_DIRECT);
  conv1dt_destroy(layer);
}
END_TEST

START_TEST(test_create_bad_algorithm) {
  static const int bad[] = {4, -1, 100};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
    conv1dt_config cfg = conv1dt_config_default(4, 3);
    cfg.algorithm = (conv1dt_algorithm)bad[i];
    conv1dt_layer *layer = NULL;
    ck_assert_int_eq(conv1dt_create(&cfg, 2, CONV1DT_FLOAT32, &layer), CONV1DT_ERROR_INVALID_VALUE);
    ck_assert_ptr_null(layer);
    ck_assert_msg(strstr(conv1dt_last_error(), "algorithm"), "%s", conv1dt_last_error());
  }
}
END_TEST

START_TEST(test_create_valid_edges) {
  /* the limits themselves are legal */
  conv1dt_config cfg = conv1dt_config_default(1, 1);
  cfg.strides = 5;
  cfg.output_padding = 4;
  conv1dt_layer *layer = make_layer(cfg, 1, CONV1DT_FLOAT32);
  conv1dt_destroy(layer);
  cfg = conv1dt_config_default(1, 1);
  cfg.dilation_rate = 9;
  cfg.output_padding = 0;
  layer = make_layer(cfg, 1, CONV1DT_FLOAT64);
  conv1dt_destroy(layer);
  conv1dt_destroy(NULL); /* accepted */
}
END_TEST

/* ------------------------------------------------------------------ NULL arguments */

START_TEST(test_null_arguments) {
  const conv1dt_dtype dt = (conv1dt_dtype)_i;
  conv1dt_config cfg = conv1dt_config_default(2, 2);
  conv1dt_layer *layer = (conv1dt_layer *)&cfg;
  EXPECT_ERROR(conv1dt_create(NULL, 1, dt, &layer), CONV1DT_ERROR_NULL_ARGUMENT, NULL);
  ck_assert_ptr_eq(layer, (conv1dt_layer *)&cfg);
  EXPECT_ERROR(conv1dt_create(&cfg, 1, dt, NULL), CONV1DT_ERROR_NULL_ARGUMENT, NULL);
  layer = make_layer(cfg, 1, dt);
  double k[4] = {1, 2, 3, 4}, b[2] = {0, 0};
  EXPECT_ERROR(conv1dt_set_weights(NULL, k, b), CONV1DT_ERROR_NULL_ARGUMENT, NULL);
  EXPECT_ERROR(conv1dt_set_weights(layer, NULL, b), CONV1DT_ERROR_NULL_ARGUMENT, "kernel");
  EXPECT_ERROR(conv1dt_get_weights(NULL, k, b), CONV1DT_ERROR_NULL_ARGUMENT, NULL);
  conv1dt_config got;
  int64_t c;
  conv1dt_dtype d;
  EXPECT_ERROR(conv1dt_get_config(NULL, &got, &c, &d), CONV1DT_ERROR_NULL_ARGUMENT, NULL);
  int64_t shape[3] = {-9, -9, -9};
  EXPECT_ERROR(conv1dt_output_shape(NULL, 1, 3, shape), CONV1DT_ERROR_NULL_ARGUMENT, NULL);
  EXPECT_ERROR(conv1dt_output_shape(layer, 1, 3, NULL), CONV1DT_ERROR_NULL_ARGUMENT, NULL);
  ck_assert(shape[0] == -9 && shape[1] == -9 && shape[2] == -9);
  size_t bytes = 12345;
  EXPECT_ERROR(conv1dt_workspace_size(NULL, 1, 3, &bytes), CONV1DT_ERROR_NULL_ARGUMENT, NULL);
  EXPECT_ERROR(conv1dt_workspace_size(layer, 1, 3, NULL), CONV1DT_ERROR_NULL_ARGUMENT, NULL);
  EXPECT_ERROR(conv1dt_min_workspace_size(NULL, 1, 3, &bytes), CONV1DT_ERROR_NULL_ARGUMENT, NULL);
  EXPECT_ERROR(conv1dt_min_workspace_size(layer, 1, 3, NULL), CONV1DT_ERROR_NULL_ARGUMENT, NULL);
  ck_assert_uint_eq(bytes, 12345);
  double x[6] = {1, 2, 3, 4, 5, 6}, y[17];
  ref_fill_sentinel(dt, y, 17);
  EXPECT_ERROR(conv1dt_forward(NULL, x, 2, 3, y, NULL, 0), CONV1DT_ERROR_NULL_ARGUMENT, NULL);
  EXPECT_ERROR(conv1dt_forward(layer, NULL, 2, 3, y, NULL, 0), CONV1DT_ERROR_NULL_ARGUMENT, NULL);
  EXPECT_ERROR(conv1dt_forward(layer, x, 2, 3, NULL, NULL, 0), CONV1DT_ERROR_NULL_ARGUMENT, NULL);
  ck_assert_msg(ref_is_sentinel(dt, y, 17), "failed forward wrote y");
  conv1dt_padding p = (conv1dt_padding)77;
  EXPECT_ERROR(conv1dt_padding_from_string(NULL, &p), CONV1DT_ERROR_NULL_ARGUMENT, NULL);
  EXPECT_ERROR(conv1dt_padding_from_string("valid", NULL), CONV1DT_ERROR_NULL_ARGUMENT, NULL);
  ck_assert_int_eq((int)p, 77);
  conv1dt_data_format f = (conv1dt_data_format)77;
  EXPECT_ERROR(conv1dt_data_format_from_string(NULL, &f), CONV1DT_ERROR_NULL_ARGUMENT, NULL);
  EXPECT_ERROR(conv1dt_data_format_from_string("channels_last", NULL), CONV1DT_ERROR_NULL_ARGUMENT,
               NULL);
  ck_assert_int_eq((int)f, 77);
  int threads = -77;
  EXPECT_ERROR(conv1dt_blas_info(NULL, 64, &threads), CONV1DT_ERROR_NULL_ARGUMENT, NULL);
  /* a NULL name is Keras's None: linear */
  const char *canon = NULL;
  ck_assert_int_eq(conv1dt_activation_check(NULL, &canon), CONV1DT_OK);
  ck_assert_str_eq(canon, "linear");
  /* optional outputs */
  ck_assert_int_eq(conv1dt_get_config(layer, NULL, NULL, NULL), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_get_weights(layer, NULL, NULL), CONV1DT_OK);
  conv1dt_destroy(layer);
}
END_TEST

/* ------------------------------------------------------------------ batch / steps */

START_TEST(test_batch_and_steps) {
  const conv1dt_dtype dt = (conv1dt_dtype)_i;
  conv1dt_config cfg = conv1dt_config_default(3, 2);
  conv1dt_layer *layer = make_layer(cfg, 2, dt);
  int64_t shape[3] = {-9, -9, -9};
  size_t bytes = 4242;
  double x[16] = {0}, y[64];
  ref_fill_sentinel(dt, y, 64);
  EXPECT_ERROR(conv1dt_output_shape(layer, 1, 0, shape), CONV1DT_ERROR_INVALID_VALUE, "steps", "0");
  EXPECT_ERROR(conv1dt_output_shape(layer, 1, -5, shape), CONV1DT_ERROR_INVALID_VALUE, "steps",
               "-5");
  EXPECT_ERROR(conv1dt_output_shape(layer, -1, 3, shape), CONV1DT_ERROR_INVALID_VALUE, "batch",
               "-1");
  ck_assert(shape[0] == -9 && shape[1] == -9 && shape[2] == -9);
  EXPECT_ERROR(conv1dt_workspace_size(layer, 1, 0, &bytes), CONV1DT_ERROR_INVALID_VALUE, "steps",
               "0");
  EXPECT_ERROR(conv1dt_workspace_size(layer, -2, 3, &bytes), CONV1DT_ERROR_INVALID_VALUE, "batch",
               "-2");
  EXPECT_ERROR(conv1dt_min_workspace_size(layer, 1, -1, &bytes), CONV1DT_ERROR_INVALID_VALUE,
               "steps", "-1");
  EXPECT_ERROR(conv1dt_min_workspace_size(layer, -3, 3, &bytes), CONV1DT_ERROR_INVALID_VALUE,
               "batch", "-3");
  ck_assert_uint_eq(bytes, 4242);
  EXPECT_ERROR(conv1dt_forward(layer, x, 1, 0, y, NULL, 0), CONV1DT_ERROR_INVALID_VALUE, "steps",
               "0");
  EXPECT_ERROR(conv1dt_forward(layer, x, -1, 2, y, NULL, 0), CONV1DT_ERROR_INVALID_VALUE, "batch",
               "-1");
  ck_assert_msg(ref_is_sentinel(dt, y, 64), "failed forward wrote y");
  conv1dt_destroy(layer);
}
END_TEST

/* ------------------------------------------------------------------ size overflow */

static bool is_size_error(conv1dt_status st) {
  return st == CONV1DT_ERROR_SIZE_OVERFLOW || st == CONV1DT_ERROR_OUT_OF_MEMORY;
}

START_TEST(test_size_overflow) {
  const conv1dt_dtype dt = (conv1dt_dtype)_i;
  conv1dt_layer *layer = (conv1dt_layer *)&layer;
  /* kernel element count K*F*C overflows int64 */
  conv1dt_config cfg = conv1dt_config_default(INT64_MAX / 2, 3);
  conv1dt_status st = conv1dt_create(&cfg, 5, dt, &layer);
  ck_assert_msg(is_size_error(st), "filters=INT64_MAX/2: %s", conv1dt_status_name(st));
  ck_assert_ptr_eq(layer, (conv1dt_layer *)&layer);
  cfg = conv1dt_config_default(4, INT64_MAX / 3);
  st = conv1dt_create(&cfg, 4, dt, &layer);
  ck_assert_msg(is_size_error(st), "kernel_size=INT64_MAX/3: %s", conv1dt_status_name(st));
  cfg = conv1dt_config_default(1, 1);
  st = conv1dt_create(&cfg, INT64_MAX, dt, &layer);
  ck_assert_msg(is_size_error(st), "in_channels=INT64_MAX: %s", conv1dt_status_name(st));
  /* fits in size_t but not in memory: 2^45 elements */
  cfg = conv1dt_config_default((int64_t)1 << 45, 1);
  st = conv1dt_create(&cfg, 1, dt, &layer);
  ck_assert_msg(is_size_error(st), "filters=2^45: %s", conv1dt_status_name(st));
  ck_assert_ptr_eq(layer, (conv1dt_layer *)&layer);

  /* effective kernel (K-1)*d+1 overflows: at creation, or at the latest when shapes are asked */
  cfg = conv1dt_config_default(2, 3);
  cfg.dilation_rate = INT64_MAX / 2 + 1;
  layer = NULL;
  st = conv1dt_create(&cfg, 1, dt, &layer);
  if (st == CONV1DT_OK) {
    int64_t shape[3] = {-9, -9, -9};
    size_t bytes = 7;
    double x[4] = {0}, y[4];
    ref_fill_sentinel(dt, y, 4);
    st = conv1dt_output_shape(layer, 1, 1, shape);
    ck_assert_msg(st == CONV1DT_ERROR_SIZE_OVERFLOW, "huge dilation output_shape: %s",
                  conv1dt_status_name(st));
    ck_assert(shape[0] == -9);
    ck_assert_int_eq(conv1dt_workspace_size(layer, 1, 1, &bytes), CONV1DT_ERROR_SIZE_OVERFLOW);
    ck_assert_int_eq(conv1dt_forward(layer, x, 1, 1, y, NULL, 0), CONV1DT_ERROR_SIZE_OVERFLOW);
    ck_assert(ref_is_sentinel(dt, y, 4));
    conv1dt_destroy(layer);
  } else {
    ck_assert_msg(st == CONV1DT_ERROR_SIZE_OVERFLOW, "huge dilation create: %s",
                  conv1dt_status_name(st));
  }

  /* huge strides: Keras's pads (strides + keff - 2, ...) must not overflow in any padding */
  for (int pad = 0; pad < 2; pad++) {
    cfg = conv1dt_config_default(2, 3);
    cfg.strides = INT64_MAX;
    cfg.padding = (conv1dt_padding)pad;
    layer = NULL;
    st = conv1dt_create(&cfg, 1, dt, &layer);
    if (st == CONV1DT_OK) {
      int64_t shape[3] = {-9, -9, -9};
      st = conv1dt_output_shape(layer, 1, 1, shape);
      ck_assert_msg(st == CONV1DT_OK || st == CONV1DT_ERROR_SIZE_OVERFLOW, "huge strides: %s",
                    conv1dt_status_name(st));
      conv1dt_destroy(layer);
    } else {
      ck_assert_msg(st == CONV1DT_ERROR_SIZE_OVERFLOW, "huge strides create: %s",
                    conv1dt_status_name(st));
    }
  }

  /* output length (L-1)*s + ... overflows int64 */
  cfg = conv1dt_config_default(3, 2);
  cfg.strides = 6;
  layer = make_layer(cfg, 2, dt);
  const int64_t huge = INT64_MAX / 4;
  int64_t shape[3] = {-9, -9, -9};
  size_t bytes = 7;
  double x[8] = {0}, y[8];
  ref_fill_sentinel(dt, y, 8);
  EXPECT_ERROR(conv1dt_output_shape(layer, 1, huge, shape), CONV1DT_ERROR_SIZE_OVERFLOW, NULL);
  ck_assert(shape[0] == -9 && shape[1] == -9 && shape[2] == -9);
  EXPECT_ERROR(conv1dt_workspace_size(layer, 1, huge, &bytes), CONV1DT_ERROR_SIZE_OVERFLOW, NULL);
  EXPECT_ERROR(conv1dt_min_workspace_size(layer, 1, huge, &bytes), CONV1DT_ERROR_SIZE_OVERFLOW,
               NULL);
  ck_assert_uint_eq(bytes, 7);
  EXPECT_ERROR(conv1dt_forward(layer, x, 1, huge, y, NULL, 0), CONV1DT_ERROR_SIZE_OVERFLOW, NULL);
  /* the element count batch * steps * channels overflows even though each factor fits */
  EXPECT_ERROR(conv1dt_forward(layer, x, INT64_MAX / 2, 3, y, NULL, 0), CONV1DT_ERROR_SIZE_OVERFLOW,
               NULL);
  EXPECT_ERROR(conv1dt_forward(layer, x, (int64_t)1 << 40, (int64_t)1 << 40, y, NULL, 0),
               CONV1DT_ERROR_SIZE_OVERFLOW, NULL);
  ck_assert_msg(ref_is_sentinel(dt, y, 8), "failed forward wrote y");
  /* shapes whose dimensions fit: output_shape may answer; it must not crash */
  st = conv1dt_output_shape(layer, INT64_MAX / 2, 3, shape);
  ck_assert_msg(st == CONV1DT_OK || st == CONV1DT_ERROR_SIZE_OVERFLOW, "%s",
                conv1dt_status_name(st));
  conv1dt_destroy(layer);
}
END_TEST

/* ------------------------------------------------------------------ set_weights */

START_TEST(test_set_weights_bias_rules) {
  const conv1dt_dtype dt = (conv1dt_dtype)_i;
  const size_t es = ref_dtype_size(dt);
  conv1dt_config cfg = conv1dt_config_default(2, 2);
  conv1dt_layer *with = make_layer(cfg, 1, dt);
  cfg.use_bias = false;
  conv1dt_layer *without = make_layer(cfg, 1, dt);
  double kd[4] = {1, 2, 3, 4}, bd[2] = {5, 6};
  unsigned char k[4 * sizeof(double)], b[2 * sizeof(double)], before[4 * sizeof(double)],
      after[4 * sizeof(double)];
  ref_from_double(dt, kd, k, 4);
  ref_from_double(dt, bd, b, 2);
  ck_assert_int_eq(conv1dt_get_weights(with, before, NULL), CONV1DT_OK);
  EXPECT_ERROR(conv1dt_set_weights(with, k, NULL), CONV1DT_ERROR_NULL_ARGUMENT, "bias");
  ck_assert_int_eq(conv1dt_get_weights(with, after, NULL), CONV1DT_OK);
  ck_assert_msg(memcmp(before, after, 4 * es) == 0, "failed set_weights changed the kernel");
  ck_assert_int_eq(conv1dt_get_weights(without, before, NULL), CONV1DT_OK);
  EXPECT_ERROR(conv1dt_set_weights(without, k, b), CONV1DT_ERROR_INVALID_VALUE, "bias");
  ck_assert_int_eq(conv1dt_get_weights(without, after, NULL), CONV1DT_OK);
  ck_assert_msg(memcmp(before, after, 4 * es) == 0, "failed set_weights changed the kernel");
  ck_assert_int_eq(conv1dt_set_weights(with, k, b), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_set_weights(without, k, NULL), CONV1DT_OK);
  conv1dt_destroy(with);
  conv1dt_destroy(without);
}
END_TEST

/* ------------------------------------------------------------------ text parsing */

START_TEST(test_parse_padding) {
  static const struct {
    const char *text;
    conv1dt_padding want;
  } good[] = {{"valid", CONV1DT_PADDING_VALID}, {"VALID", CONV1DT_PADDING_VALID},
              {"Valid", CONV1DT_PADDING_VALID}, {"same", CONV1DT_PADDING_SAME},
              {"Same", CONV1DT_PADDING_SAME},   {"SAME", CONV1DT_PADDING_SAME},
              {"sAmE", CONV1DT_PADDING_SAME}};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; ++i) {
    conv1dt_padding p = (conv1dt_padding)99;
    ck_assert_msg(conv1dt_padding_from_string(good[i].text, &p) == CONV1DT_OK, "\"%s\" rejected",
                  good[i].text);
    ck_assert_int_eq(p, good[i].want);
  }
  static const char *const bad[] = {"full", "causal", "FULL", "valid ", " same", "val", "", "none"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
    conv1dt_padding p = (conv1dt_padding)99;
    EXPECT_ERROR(conv1dt_padding_from_string(bad[i], &p), CONV1DT_ERROR_UNKNOWN_NAME, "padding",
                 bad[i]);
    ck_assert_int_eq((int)p, 99);
  }
}
END_TEST

START_TEST(test_parse_data_format) {
  static const struct {
    const char *text;
    conv1dt_data_format want;
  } good[] = {{"channels_last", CONV1DT_CHANNELS_LAST},
              {"channels_first", CONV1DT_CHANNELS_FIRST},
              /* Keras's standardize_data_format lower-cases its argument */
              {"Channels_First", CONV1DT_CHANNELS_FIRST},
              {"CHANNELS_LAST", CONV1DT_CHANNELS_LAST}};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; ++i) {
    conv1dt_data_format f = (conv1dt_data_format)99;
    ck_assert_msg(conv1dt_data_format_from_string(good[i].text, &f) == CONV1DT_OK,
                  "\"%s\" rejected: %s", good[i].text, conv1dt_last_error());
    ck_assert_int_eq(f, good[i].want);
  }
  static const char *const bad[] = {"channels_middle", "NCW",           "NWC", "",
                                    "channels-last",   "channels_last "};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; ++i) {
    conv1dt_data_format f = (conv1dt_data_format)99;
    EXPECT_ERROR(conv1dt_data_format_from_string(bad[i], &f), CONV1DT_ERROR_UNKNOWN_NAME,
                 "data_format", bad[i]);
    ck_assert_int_eq((int)f, 99);
  }
}
END_TEST

/* ------------------------------------------------------------------ status names, version */

START_TEST(test_status_names) {
  static const char *const names[] = {"CONV1DT_OK",
                                      "CONV1DT_ERROR_NULL_ARGUMENT",
                                      "CONV1DT_ERROR_INVALID_VALUE",
                                      "CONV1DT_ERROR_UNKNOWN_NAME",
                                      "CONV1DT_ERROR_SHAPE_MISMATCH",
                                      "CONV1DT_ERROR_SIZE_OVERFLOW",
                                      "CONV1DT_ERROR_OUT_OF_MEMORY",
                                      "CONV1DT_ERROR_WORKSPACE_TOO_SMALL",
                                      "CONV1DT_ERROR_UNSUPPORTED",
                                      "CONV1DT_ERROR_BUFFER_TOO_SMALL"};
  for (int i = 0; i < 10; ++i) {
    const char *n = conv1dt_status_name((conv1dt_status)i);
    ck_assert_ptr_nonnull(n);
    ck_assert_str_eq(n, names[i]);
  }
  const int unknown[] = {10, 11, -1, 1000, 0x7fffffff};
  for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; ++i) {
    const char *n = conv1dt_status_name((conv1dt_status)unknown[i]);
    ck_assert_ptr_nonnull(n);
    ck_assert_str_eq(n, "unknown status");
  }
}
END_TEST

START_TEST(test_version_and_blas_info) {
  char want[32];
  snprintf(want, sizeof want, "%d.%d.%d", CONV1DT_VERSION_MAJOR, CONV1DT_VERSION_MINOR,
           CONV1DT_VERSION_PATCH);
  ck_assert_str_eq(conv1dt_version_string(), want);
  /* the direct kernel's ISA: one of the documented forms */
  const char *isa = conv1dt_kernel_isa();
  ck_assert_ptr_nonnull(isa);
  ck_assert_msg(strncmp(isa, "x86-64-v4 ", 10) == 0 || strncmp(isa, "x86-64-v3 ", 10) == 0 ||
                    strncmp(isa, "x86-64 baseline", 15) == 0 ||
                    strncmp(isa, "aarch64 NEON ", 13) == 0 || strncmp(isa, "portable C", 10) == 0,
                "%s", isa);
#if defined(__aarch64__) && defined(__ARM_NEON)
  ck_assert_str_eq(isa, "aarch64 NEON (128-bit vector extensions)");
#endif
  ck_assert_int_eq(conv1dt_version_number(), CONV1DT_VERSION_NUMBER);
  char buf[256];
  int threads = -1;
  ck_assert_int_eq(conv1dt_blas_info(buf, sizeof buf, &threads), CONV1DT_OK);
  ck_assert_msg(strlen(buf) > 0 && strlen(buf) < sizeof buf, "blas_info: \"%s\"", buf);
  ck_assert_int_ge(threads, 0);
  char tiny[2] = {'x', 'x'};
  EXPECT_ERROR(conv1dt_blas_info(tiny, 1, &threads), CONV1DT_ERROR_BUFFER_TOO_SMALL, NULL);
}
END_TEST

/* ------------------------------------------------------------------ config round trip */

START_TEST(test_config_defaults_and_roundtrip) {
  conv1dt_config d = conv1dt_config_default(7, 4);
  ck_assert_int_eq(d.filters, 7);
  ck_assert_int_eq(d.kernel_size, 4);
  ck_assert_int_eq(d.strides, 1);
  ck_assert_int_eq(d.output_padding, CONV1DT_OUTPUT_PADDING_NONE);
  ck_assert_int_eq(d.dilation_rate, 1);
  ck_assert_int_eq(d.padding, CONV1DT_PADDING_VALID);
  ck_assert_int_eq(d.data_format, CONV1DT_CHANNELS_LAST);
  ck_assert_ptr_null(d.activation);
  ck_assert(d.use_bias);
  ck_assert_uint_eq(d.seed, 0);
  ck_assert_uint_eq(d.workspace_limit, 0);

  conv1dt_config cfg = conv1dt_config_default(6, 3);
  cfg.strides = 3;
  cfg.output_padding = 2;
  cfg.padding = CONV1DT_PADDING_SAME;
  cfg.data_format = CONV1DT_CHANNELS_FIRST;
  cfg.use_bias = false;
  cfg.seed = 987654321;
  cfg.workspace_limit = 1 << 20;
  char act[16] = "swish";
  cfg.activation = act;
  conv1dt_layer *layer = make_layer(cfg, 5, CONV1DT_FLOAT32);
  memset(act, 0, sizeof act); /* the layer must not keep the caller's string */
  conv1dt_config got;
  int64_t c = 0;
  conv1dt_dtype dt = CONV1DT_FLOAT64;
  ck_assert_int_eq(conv1dt_get_config(layer, &got, &c, &dt), CONV1DT_OK);
  ck_assert_int_eq(got.filters, 6);
  ck_assert_int_eq(got.kernel_size, 3);
  ck_assert_int_eq(got.strides, 3);
  ck_assert_int_eq(got.output_padding, 2);
  ck_assert_int_eq(got.dilation_rate, 1);
  ck_assert_int_eq(got.padding, CONV1DT_PADDING_SAME);
  ck_assert_int_eq(got.data_format, CONV1DT_CHANNELS_FIRST);
  ck_assert(!got.use_bias);
  ck_assert_uint_eq(got.seed, 987654321);
  ck_assert_str_eq(got.activation, "silu");
  ck_assert_int_eq(c, 5);
  ck_assert_int_eq(dt, CONV1DT_FLOAT32);
  conv1dt_destroy(layer);
}
END_TEST

/* ------------------------------------------------------------------ thread-local message */

typedef struct tl_result {
  char initial[128];
  char after[256];
  conv1dt_status st;
} tl_result;

static void *tl_thread(void *arg) {
  tl_result *r = arg;
  snprintf(r->initial, sizeof r->initial, "%s", conv1dt_last_error());
  conv1dt_config cfg = conv1dt_config_default(3, 0); /* kernel_size=0 */
  conv1dt_layer *layer = NULL;
  r->st = conv1dt_create(&cfg, 1, CONV1DT_FLOAT32, &layer);
  snprintf(r->after, sizeof r->after, "%s", conv1dt_last_error());
  return NULL;
}

START_TEST(test_last_error_thread_local) {
  conv1dt_config cfg = conv1dt_config_default(0, 3); /* filters=0 */
  conv1dt_layer *layer = NULL;
  ck_assert_int_eq(conv1dt_create(&cfg, 1, CONV1DT_FLOAT32, &layer), CONV1DT_ERROR_INVALID_VALUE);
  char mine[256];
  snprintf(mine, sizeof mine, "%s", conv1dt_last_error());
  ck_assert_msg(strstr(mine, "filters") != NULL, "main: %s", mine);
  tl_result r;
  memset(&r, 0, sizeof r);
  pthread_t th;
  ck_assert_int_eq(pthread_create(&th, NULL, tl_thread, &r), 0);
  ck_assert_int_eq(pthread_join(th, NULL), 0);
  ck_assert_msg(r.initial[0] == '\0', "a new thread sees \"%s\" before any call", r.initial);
  ck_assert_int_eq(r.st, CONV1DT_ERROR_INVALID_VALUE);
  ck_assert_msg(strstr(r.after, "kernel_size") != NULL, "thread: %s", r.after);
  ck_assert_str_eq(conv1dt_last_error(), mine);
}
END_TEST

static Suite *validation_suite(void) {
  Suite *s = suite_create("validation");
  TCase *tc = tcase_create("create");
  tcase_add_test(tc, test_create_invalid_values);
  tcase_add_test(tc, test_create_bad_algorithm);
  tcase_add_test(tc, test_algorithm_names);
  tcase_add_test(tc, test_forward_algorithm);
  tcase_add_test(tc, test_create_valid_edges);
  tcase_add_loop_test(tc, test_null_arguments, 0, 2);
  tcase_add_loop_test(tc, test_batch_and_steps, 0, 2);
  tcase_add_loop_test(tc, test_size_overflow, 0, 2);
  tcase_add_loop_test(tc, test_set_weights_bias_rules, 0, 2);
  suite_add_tcase(s, tc);
  tc = tcase_create("names");
  tcase_add_test(tc, test_parse_padding);
  tcase_add_test(tc, test_parse_data_format);
  tcase_add_test(tc, test_status_names);
  tcase_add_test(tc, test_version_and_blas_info);
  tcase_add_test(tc, test_config_defaults_and_roundtrip);
  tcase_add_test(tc, test_last_error_thread_local);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return run_suite(validation_suite());
}
