/*
 * test_forward: conv1dt_forward against the naive reference over randomised sweeps of every
 * argument, workspace (block size) independence, default weights, weight round trips, empty
 * outputs and concurrent use of one layer.
 */
#define _POSIX_C_SOURCE 200809L /* fork, waitpid */
#include <check.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_run.h"
#include "conv1dt.h"
#include "reference.h"
#include "test_numerics_support.h"

#define MSG_SIZE 4096
#define MAX_REPORTED 25

/* Values equal as numbers (NaN equal to NaN); -0 == +0. */
static size_t count_unequal(conv1dt_dtype dt, const void *a, const void *b, size_t n) {
  size_t bad = 0;
  for (size_t i = 0; i < n; ++i) {
    double x = dt == CONV1DT_FLOAT32 ? (double)((const float *)a)[i] : ((const double *)a)[i];
    double y = dt == CONV1DT_FLOAT32 ? (double)((const float *)b)[i] : ((const double *)b)[i];
    if (!(x == y || (isnan(x) && isnan(y)))) ++bad;
  }
  return bad;
}

/* ------------------------------------------------------------------ sweeps */

typedef struct sweep_stats {
  size_t configs, failed;
  size_t act_counter;
  char first[MSG_SIZE];
} sweep_stats;

static const char *pick_activation(ref_rng *rng, sweep_stats *st) {
  /* 40 % linear (NULL or "linear"); the rest cycle through every name and alias */
  if (ref_rng_int(rng, 0, 4) < 2) return ref_rng_int(rng, 0, 1) ? NULL : "linear";
  return tn_activation_names[2 + st->act_counter++ % (tn_activation_count - 2)];
}

/* Runs tn_check_random_case on cfg and counts it in st (the first failures printed, the very
 * first kept for the assertion). */
static void sweep_case(ref_rng *rng, sweep_stats *st, const conv1dt_config *cfg, int64_t C,
                       conv1dt_dtype dt, int64_t B, int64_t L) {
  char msg[MSG_SIZE] = "";
  const size_t problems = tn_check_random_case(rng, cfg, C, dt, B, L, false, msg, sizeof msg);
  ++st->configs;
  if (problems) {
    if (st->failed < MAX_REPORTED) fprintf(stderr, "FAIL %s", msg);
    if (!st->failed) snprintf(st->first, sizeof st->first, "%s", msg);
    ++st->failed;
  }
}

/* The sweep's count on stdout, and the test fails if any configuration did. */
#define SWEEP_DONE(name, st)                                                                       \
  do {                                                                                             \
    printf("%s: %zu configurations, %zu failed\n", (name), (st).configs, (st).failed);             \
    ck_assert_msg((st).failed == 0, "%zu of %zu configurations failed; first:\n%s", (st).failed,   \
                  (st).configs, (st).first);                                                       \
  } while (0)

static void run_one(ref_rng *rng, sweep_stats *st, int64_t s, int64_t op, int64_t d, int64_t K,
                    conv1dt_padding pad, conv1dt_data_format df, conv1dt_dtype dt) {
  /* up to 80 filters: the direct kernel's filter chunks of 1-4 vectors and a tail, in both
   * dtypes and both vector widths (8 or 16 floats) */
  int64_t F = ref_rng_int(rng, 1, 80);
  conv1dt_config cfg = conv1dt_config_default(F, K);
  /* every configuration in turn through AUTO, GEMM, DIRECT and GEMM_ACCUMULATE */
  cfg.algorithm = (conv1dt_algorithm)(st->configs % 4);
  cfg.strides = s;
  cfg.output_padding = op;
  cfg.dilation_rate = d;
  cfg.padding = pad;
  cfg.data_format = df;
  cfg.use_bias = ref_rng_int(rng, 0, 1) != 0;
  cfg.activation = pick_activation(rng, st);
  cfg.seed = ref_rng_next(rng);
  if (cfg.activation && strcmp(cfg.activation, "glu") == 0 && df == CONV1DT_CHANNELS_LAST && F % 2)
    cfg.filters = F + 1; /* glu over filters needs an even count (odd: see test_activation) */
  const int64_t B = ref_rng_int(rng, 1, 5), L = ref_rng_int(rng, 1, 40);
  const int64_t C = ref_rng_int(rng, 1, 20);
  sweep_case(rng, st, &cfg, C, dt, B, L);
}

/* strides s = _i + 1: every output_padding (None, 0..s-1) x padding x data format x dtype, five
 * random draws of the other arguments each; dilation 1..4 when s == 1. */
START_TEST(test_sweep_strides) {
  const int64_t s = _i + 1;
  ref_rng rng;
  ref_rng_seed(&rng, UINT64_C(0xC0471D7) + (uint64_t)s);
  sweep_stats st = {0, 0, 0, ""};
  for (int rep = 0; rep < 5; ++rep)
    for (int64_t op = -1; op < s; ++op)
      for (int pad = 0; pad < 2; ++pad)
        for (int df = 0; df < 2; ++df)
          for (int dt = 0; dt < 2; ++dt) {
            const int64_t d = s == 1 ? ref_rng_int(&rng, 1, 4) : 1;
            run_one(&rng, &st, s, op, d, ref_rng_int(&rng, 1, 9), (conv1dt_padding)pad,
                    (conv1dt_data_format)df, (conv1dt_dtype)dt);
          }
  printf("test_sweep_strides s=%" PRId64 ": %zu configurations, %zu failed\n", s, st.configs,
         st.failed);
  ck_assert_msg(st.failed == 0, "%zu of %zu configurations failed; first:\n%s", st.failed,
                st.configs, st.first);
}
END_TEST

/* strides 1: every kernel size 1..9 x dilation 1..4 x padding x output_padding None/0. */
START_TEST(test_sweep_dilation) {
  ref_rng rng;
  ref_rng_seed(&rng, UINT64_C(0xD11A7E));
  sweep_stats st = {0, 0, 3, ""};
  for (int64_t K = 1; K <= 9; ++K)
    for (int64_t d = 1; d <= 4; ++d)
      for (int pad = 0; pad < 2; ++pad)
        for (int64_t op = -1; op <= 0; ++op)
          run_one(&rng, &st, 1, op, d, K, (conv1dt_padding)pad,
                  (conv1dt_data_format)ref_rng_int(&rng, 0, 1),
                  (conv1dt_dtype)ref_rng_int(&rng, 0, 1));
  SWEEP_DONE("test_sweep_dilation", st);
}
END_TEST

/* The direct kernel on samples long enough for several chunks and for channels_first's
 * steps-along-vectors tiles (two vectors of steps a phase: 16 or 32 steps in the AVX-512
 * build), with filter counts that leave partial vectors and filter groups: strides 1..4 x both
 * formats x both dtypes, six draws of the rest each. */
START_TEST(test_sweep_direct_long) {
  static const char *const acts[] = {"relu", NULL, "tanh"};
  ref_rng rng;
  ref_rng_seed(&rng, UINT64_C(0x10C6D1));
  sweep_stats st = {0, 0, 0, ""};
  for (int rep = 0; rep < 6; ++rep)
    for (int64_t s = 1; s <= 4; ++s)
      for (int df = 0; df < 2; ++df)
        for (int dt = 0; dt < 2; ++dt) {
          conv1dt_config cfg =
              conv1dt_config_default(ref_rng_int(&rng, 1, 70), ref_rng_int(&rng, 1, 9));
          cfg.algorithm = CONV1DT_ALGORITHM_DIRECT;
          cfg.strides = s;
          cfg.dilation_rate = s == 1 ? ref_rng_int(&rng, 1, 3) : 1;
          cfg.padding = (conv1dt_padding)(rep % 2);
          cfg.data_format = (conv1dt_data_format)df;
          cfg.activation = acts[rep % 3];
          cfg.use_bias = rep != 4;
          cfg.seed = ref_rng_next(&rng);
          const int64_t B = ref_rng_int(&rng, 1, 3), L = ref_rng_int(&rng, 100, 400);
          const int64_t C = ref_rng_int(&rng, 1, 24);
          sweep_case(&rng, &st, &cfg, C, (conv1dt_dtype)dt, B, L);
        }
  SWEEP_DONE("test_sweep_direct_long", st);
}
END_TEST

/* The direct-kernel sweeps' common part: cfg on the direct method in the format rep picks,
 * with a bias unless rep % bias_mod == bias_skip, run on a random seed, 1-3 samples of a short
 * (short_min to 40 steps, every third rep) or long (40 to long_max) length and 1 to c_max
 * channels. */
static void direct_sweep_case(ref_rng *rng, sweep_stats *st, conv1dt_config *cfg, int rep,
                              conv1dt_dtype dt, int bias_mod, int bias_skip, int64_t short_min,
                              int64_t long_max, int64_t c_max) {
  cfg->algorithm = CONV1DT_ALGORITHM_DIRECT;
  cfg->data_format = (conv1dt_data_format)(rep / 2 % 2);
  cfg->use_bias = rep % bias_mod != bias_skip;
  cfg->seed = ref_rng_next(rng);
  const int64_t B = ref_rng_int(rng, 1, 3);
  const int64_t L = rep % 3 == 0 ? ref_rng_int(rng, short_min, 40) : ref_rng_int(rng, 40, long_max);
  const int64_t C = ref_rng_int(rng, 1, c_max);
  sweep_case(rng, st, cfg, C, dt, B, L);
}

/* Stride 1 with few filters: on CPUs with AVX-512 the grouped-positions kernel (groups of
 * filters per vector, one per position v + g*d; 2 to 16 groups) runs every chunk of at least
 * 12*G*d positions, the others the plain tiles. Filters 1-9 (float32) and 1-5 (float64) against
 * dilations 1-14 (up to the 48 rows of slack its panel has, and past it), chunks with and
 * without short tails, both formats (channels_first via its transposed panel on short samples),
 * fused relu, linear and activations finished from the tile. */
START_TEST(test_sweep_direct_groups) {
  static const char *const acts[] = {"relu", NULL, "tanh", "softmax"};
  ref_rng rng;
  ref_rng_seed(&rng, UINT64_C(0x6A0795));
  sweep_stats st = {0, 0, 0, ""};
  for (int rep = 0; rep < 160; ++rep) {
    const conv1dt_dtype dt = (conv1dt_dtype)(rep % 2);
    conv1dt_config cfg = conv1dt_config_default(ref_rng_int(&rng, 1, dt == CONV1DT_FLOAT32 ? 9 : 5),
                                                ref_rng_int(&rng, 1, 8));
    cfg.dilation_rate = rep % 5 == 0 ? ref_rng_int(&rng, 5, 14) : ref_rng_int(&rng, 1, 4);
    cfg.padding = (conv1dt_padding)ref_rng_int(&rng, 0, 1);
    cfg.output_padding = ref_rng_int(&rng, -1, 0);
    cfg.activation = acts[rep / 4 % 4];
    direct_sweep_case(&rng, &st, &cfg, rep, dt, 7, 3, 16, 1500, 20);
  }
  SWEEP_DONE("test_sweep_direct_groups", st);
}
END_TEST

/* One to eight filters (mono or stereo outputs, e.g. a waveform): the direct method gives
 * channels_last ones with elementwise activations the steps-along-vectors tiles (one filter
 * with linear or relu straight into y, the rest through a filter-major tile; float32 5-8 where
 * the AVX-512 build runs), channels_first single filters one-filter tiles; strides 1-8,
 * dilations, samples short and long. */
START_TEST(test_sweep_direct_mono) {
  static const char *const acts[] = {"relu", NULL, "linear", "tanh", "relu", "selu"};
  ref_rng rng;
  ref_rng_seed(&rng, UINT64_C(0x30A0));
  sweep_stats st = {0, 0, 0, ""};
  for (int rep = 0; rep < 240; ++rep) {
    const conv1dt_dtype dt = (conv1dt_dtype)(rep % 2);
    conv1dt_config cfg = conv1dt_config_default(
        rep % 8 < 4 ? 1 : ref_rng_int(&rng, 2, dt == CONV1DT_FLOAT32 ? 8 : 4),
        ref_rng_int(&rng, 1, 24));
    cfg.strides = ref_rng_int(&rng, 0, 3) == 0 ? 1 : ref_rng_int(&rng, 2, 8);
    cfg.dilation_rate = cfg.strides == 1 ? ref_rng_int(&rng, 1, 5) : 1; /* Keras: not both */
    cfg.padding = (conv1dt_padding)ref_rng_int(&rng, 0, 1);
    cfg.output_padding =
        cfg.strides > 1 && rep % 3 == 0 ? ref_rng_int(&rng, 0, cfg.strides - 1) : -1;
    cfg.activation = acts[ref_rng_int(&rng, 0, 5)];
    direct_sweep_case(&rng, &st, &cfg, rep, dt, 5, 2, 1, 1200, 70);
  }
  SWEEP_DONE("test_sweep_direct_mono", st);
}
END_TEST

/* Small extremes: 1 step, 1 channel, 1 filter, kernel 1, the largest strides. */
START_TEST(test_sweep_edges) {
  ref_rng rng;
  ref_rng_seed(&rng, 77);
  sweep_stats st = {0, 0, 11, ""};
  const int64_t dims[] = {1, 2, 3};
  for (size_t a = 0; a < 3; ++a)
    for (int64_t K = 1; K <= 3; ++K)
      for (int64_t s = 1; s <= 6; s += 5)
        for (int64_t op = -1; op < s; op += (s > 2 ? 3 : 1))
          for (int pad = 0; pad < 2; ++pad) {
            conv1dt_config cfg = conv1dt_config_default(dims[a], K);
            cfg.strides = s;
            cfg.output_padding = op;
            cfg.padding = (conv1dt_padding)pad;
            cfg.data_format = (conv1dt_data_format)ref_rng_int(&rng, 0, 1);
            const conv1dt_dtype dt = (conv1dt_dtype)ref_rng_int(&rng, 0, 1);
            sweep_case(&rng, &st, &cfg, dims[2 - a], dt, 1, dims[a]);
          }
  SWEEP_DONE("test_sweep_edges", st);
}
END_TEST

/* ------------------------------------------------------------------ workspaces */

typedef struct ws_case {
  conv1dt_config cfg;
  int64_t C, B, L;
  conv1dt_dtype dt;
} ws_case;

static ws_case random_ws_case(ref_rng *rng, const char *activation) {
  ws_case c;
  const int64_t s = ref_rng_int(rng, 1, 6);
  c.cfg = conv1dt_config_default(2 * ref_rng_int(rng, 1, 10), ref_rng_int(rng, 1, 9));
  c.cfg.strides = s;
  c.cfg.dilation_rate = s == 1 ? ref_rng_int(rng, 1, 4) : 1;
  c.cfg.output_padding = ref_rng_int(rng, -1, s - 1);
  c.cfg.padding = (conv1dt_padding)ref_rng_int(rng, 0, 1);
  c.cfg.data_format = (conv1dt_data_format)ref_rng_int(rng, 0, 1);
  c.cfg.use_bias = ref_rng_int(rng, 0, 1) != 0;
  c.cfg.activation = activation;
  c.cfg.algorithm = (conv1dt_algorithm)ref_rng_int(rng, 0, 3);
  c.C = ref_rng_int(rng, 1, 20);
  c.B = ref_rng_int(rng, 1, 5);
  c.L = ref_rng_int(rng, 20, 40); /* even glu over steps is handled below */
  c.dt = (conv1dt_dtype)ref_rng_int(rng, 0, 1);
  if (activation && strcmp(activation, "glu") == 0)
    c.cfg.data_format = CONV1DT_CHANNELS_LAST; /* filters are even */
  return c;
}

/* The same layer and input through workspaces of many sizes (and alignments) and several
 * workspace limits: with integer data every sum is exact, so all results must be equal and, for
 * the piecewise-linear activations, equal to the reference exactly. */
static void check_workspace_case(ref_rng *rng, const ws_case *c, bool integers, size_t *nfail,
                                 size_t *nruns, char *first, size_t first_size) {
  char desc[256], msg[MSG_SIZE] = "";
  const size_t es = ref_dtype_size(c->dt);
  const int64_t F = c->cfg.filters, K = c->cfg.kernel_size;
  double *xdbl, *kdbl, *bdbl;
  const double lo = integers ? -2 : -1, hi = integers ? 2 : 1;
  void *x = ref_random_array(rng, c->dt, (size_t)(c->B * c->L * c->C), lo, hi, integers, &xdbl);
  void *k = ref_random_array(rng, c->dt, (size_t)(K * F * c->C), lo, hi, integers, &kdbl);
  void *b = ref_random_array(rng, c->dt, (size_t)F, lo, hi, integers, &bdbl);
  ref_describe(&c->cfg, c->C, c->dt, c->B, c->L, desc, sizeof desc);
  size_t problems = 0;
#define WS_FAIL(...)                                                                               \
  do {                                                                                             \
    ++problems;                                                                                    \
    tn_appendf(msg, sizeof msg, "[%s] ", desc);                                                    \
    tn_appendf(msg, sizeof msg, __VA_ARGS__);                                                      \
    tn_appendf(msg, sizeof msg, "\n");                                                             \
  } while (0)

  conv1dt_layer *layer = NULL;
  ck_assert_int_eq(conv1dt_create(&c->cfg, c->C, c->dt, &layer), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_set_weights(layer, k, c->cfg.use_bias ? b : NULL), CONV1DT_OK);
  ref_output ref;
  ck_assert_int_eq(ref_forward(&c->cfg, c->C, c->dt, xdbl, c->B, c->L, kdbl, bdbl, &ref), REF_OK);
  const size_t n = ref.count;
  void *y0 = malloc((n + 1) * es), *y = malloc((n + 1) * es);
  ck_assert_ptr_nonnull(y0);
  ck_assert_ptr_nonnull(y);
  ck_assert_int_eq(conv1dt_forward(layer, x, c->B, c->L, y0, NULL, 0), CONV1DT_OK);
  ++*nruns;
  char cmp[600];
  size_t bad = ref_compare(c->dt, y0, ref.y, ref.tol, n, cmp, sizeof cmp);
  if (bad) WS_FAIL("NULL workspace: %zu values off the reference: %s", bad, cmp);
  const char *canon = ref_activation_canonical(c->cfg.activation);
  if (integers && (strcmp(canon, "linear") == 0 || strcmp(canon, "relu") == 0)) {
    void *exact = malloc((n + 1) * es);
    ck_assert_ptr_nonnull(exact);
    ref_from_double(c->dt, ref.y, exact, n);
    bad = count_unequal(c->dt, y0, exact, n);
    if (bad) WS_FAIL("integer data: %zu values differ from the exact result", bad);
    free(exact);
  }

  size_t wsz = 0, wmin = 0;
  ck_assert_int_eq(conv1dt_workspace_size(layer, c->B, c->L, &wsz), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_min_workspace_size(layer, c->B, c->L, &wmin), CONV1DT_OK);
  if (wsz < wmin) WS_FAIL("workspace_size %zu < min %zu", wsz, wmin);
  const size_t sizes[] = {wmin,
                          wmin + 1,
                          wmin + 7,
                          wmin + (wsz > wmin ? (wsz - wmin) / 5 : 0),
                          wmin + (wsz > wmin ? (wsz - wmin) / 3 : 0),
                          wmin + (wsz > wmin ? (wsz - wmin) / 2 : 0),
                          wsz > 0 ? wsz - 1 : 0,
                          wsz,
                          wsz + 100,
                          4 * wsz + 4096};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; ++i) {
    const size_t bytes = sizes[i] < wmin ? wmin : sizes[i];
    const size_t offset = i % 2; /* odd addresses too: no alignment is required */
    unsigned char *buf = malloc(bytes + offset + 1);
    ck_assert_ptr_nonnull(buf);
    memset(buf, 0xFF, bytes + offset + 1); /* NaN garbage: scratch is never read before written */
    ref_fill_sentinel(c->dt, y, n + 1);
    conv1dt_status st = conv1dt_forward(layer, x, c->B, c->L, y, buf + offset, bytes);
    ++*nruns;
    if (st != CONV1DT_OK)
      WS_FAIL("workspace %zu bytes (min %zu, default %zu): %s (%s)", bytes, wmin, wsz,
              conv1dt_status_name(st), conv1dt_last_error());
    else if (integers && (bad = count_unequal(c->dt, y, y0, n)) != 0)
      WS_FAIL("workspace %zu bytes (min %zu, default %zu): %zu values differ from the NULL-"
              "workspace run",
              bytes, wmin, wsz, bad);
    else if ((bad = ref_compare(c->dt, y, ref.y, ref.tol, n, cmp, sizeof cmp)) != 0)
      WS_FAIL("workspace %zu bytes: %zu values off the reference: %s", bytes, bad, cmp);
    if (!ref_is_sentinel(c->dt, (char *)y + n * es, 1))
      WS_FAIL("workspace %zu bytes: wrote past the end of y", bytes);
    free(buf);
  }

  /* the library's own allocator for scratch */
  {
    void *ws = NULL;
    ck_assert_int_eq(conv1dt_workspace_alloc(wsz, &ws), CONV1DT_OK);
    ck_assert_ptr_nonnull(ws);
    memset(ws, 0xFF, wsz);
    ref_fill_sentinel(c->dt, y, n + 1);
    conv1dt_status st = conv1dt_forward(layer, x, c->B, c->L, y, ws, wsz);
    ++*nruns;
    if (st != CONV1DT_OK)
      WS_FAIL("conv1dt_workspace_alloc'd %zu bytes: %s", wsz, conv1dt_status_name(st));
    else if ((bad = ref_compare(c->dt, y, ref.y, ref.tol, n, cmp, sizeof cmp)) != 0)
      WS_FAIL("conv1dt_workspace_alloc'd workspace: %zu values off the reference: %s", bad, cmp);
    else if (integers && (bad = count_unequal(c->dt, y, y0, n)) != 0)
      WS_FAIL("conv1dt_workspace_alloc'd workspace: %zu values differ from the NULL-workspace run",
              bad);
    ck_assert_int_eq(conv1dt_workspace_free(ws), CONV1DT_OK);
  }

  /* below the minimum: refused, y untouched */
  if (wmin > 0) {
    unsigned char *buf = malloc(wmin);
    ck_assert_ptr_nonnull(buf);
    const size_t small[] = {wmin - 1, wmin / 2, 0};
    for (size_t i = 0; i < 3; ++i) {
      ref_fill_sentinel(c->dt, y, n + 1);
      conv1dt_status st = conv1dt_forward(layer, x, c->B, c->L, y, buf, small[i]);
      ++*nruns;
      if (st != CONV1DT_ERROR_WORKSPACE_TOO_SMALL)
        WS_FAIL("workspace %zu bytes < min %zu: got %s, expected "
                "CONV1DT_ERROR_WORKSPACE_TOO_SMALL",
                small[i], wmin, conv1dt_status_name(st));
      if (!ref_is_sentinel(c->dt, y, n + 1))
        WS_FAIL("workspace %zu bytes < min %zu: y was written", small[i], wmin);
    }
    free(buf);
  }

  /* the layer's workspace limit changes the blocking, not the result */
  const size_t limits[] = {1, 64, wmin, wmin + 1, 4096, (size_t)1 << 16, 0};
  for (size_t i = 0; i < sizeof limits / sizeof limits[0]; ++i) {
    conv1dt_config cfg2 = c->cfg;
    cfg2.workspace_limit = limits[i];
    conv1dt_layer *l2 = NULL;
    conv1dt_status st = conv1dt_create(&cfg2, c->C, c->dt, &l2);
    if (st != CONV1DT_OK) {
      WS_FAIL("workspace_limit %zu: create -> %s", limits[i], conv1dt_status_name(st));
      continue;
    }
    ck_assert_int_eq(conv1dt_set_weights(l2, k, c->cfg.use_bias ? b : NULL), CONV1DT_OK);
    size_t w2 = 0, m2 = 0;
    ck_assert_int_eq(conv1dt_min_workspace_size(l2, c->B, c->L, &m2), CONV1DT_OK);
    if (m2 != wmin)
      WS_FAIL("workspace_limit %zu: min_workspace_size %zu != %zu", limits[i], m2, wmin);
    const conv1dt_status wst = conv1dt_workspace_size(l2, c->B, c->L, &w2);
    ref_fill_sentinel(c->dt, y, n + 1);
    st = conv1dt_forward(l2, x, c->B, c->L, y, NULL, 0);
    ++*nruns;
    if (limits[i] > 0 && limits[i] < m2 && wst == CONV1DT_ERROR_WORKSPACE_TOO_SMALL) {
      /* a limit below the minimum is a hard cap: forward with NULL workspace refuses too */
      if (st != CONV1DT_ERROR_WORKSPACE_TOO_SMALL)
        WS_FAIL("workspace_limit %zu < min %zu: workspace_size refuses but forward -> %s",
                limits[i], m2, conv1dt_status_name(st));
      if (!ref_is_sentinel(c->dt, y, n + 1))
        WS_FAIL("workspace_limit %zu: refused forward wrote y", limits[i]);
      conv1dt_destroy(l2);
      continue;
    }
    if (wst != CONV1DT_OK)
      WS_FAIL("workspace_limit %zu: workspace_size -> %s", limits[i], conv1dt_status_name(wst));
    if (w2 < m2) WS_FAIL("workspace_limit %zu: workspace_size %zu < min %zu", limits[i], w2, m2);
    if (limits[i] >= m2 && w2 > limits[i])
      WS_FAIL("workspace_limit %zu: workspace_size %zu exceeds the limit", limits[i], w2);
    if (st != CONV1DT_OK)
      WS_FAIL("workspace_limit %zu: forward -> %s", limits[i], conv1dt_status_name(st));
    else if (integers && (bad = count_unequal(c->dt, y, y0, n)) != 0)
      WS_FAIL("workspace_limit %zu: %zu values differ from the default-limit run", limits[i], bad);
    else if ((bad = ref_compare(c->dt, y, ref.y, ref.tol, n, cmp, sizeof cmp)) != 0)
      WS_FAIL("workspace_limit %zu: %zu values off the reference: %s", limits[i], bad, cmp);
    conv1dt_destroy(l2);
  }
#undef WS_FAIL
  if (problems) {
    if (*nfail < MAX_REPORTED) fprintf(stderr, "FAIL %s", msg);
    if (!*nfail) snprintf(first, first_size, "%s", msg);
    ++*nfail;
  }
  conv1dt_destroy(layer);
  ref_output_free(&ref);
  free(y0);
  free(y);
  free(x);
  free(k);
  free(b);
  free(xdbl);
  free(kdbl);
  free(bdbl);
}

/* `count` random layers, activations cycling through acts, each through check_workspace_case. */
/* Case i's shape after random_ws_case (NULL: as drawn). */
typedef void (*ws_adjust)(ref_rng *rng, ws_case *c, int i);

static void run_ws_cases(const char *name, uint64_t seed, int count, const char *const *acts,
                         int nacts, bool integers, ws_adjust adjust) {
  ref_rng rng;
  ref_rng_seed(&rng, seed);
  size_t nfail = 0, nruns = 0, ncases = 0;
  char first[MSG_SIZE] = "";
  for (int i = 0; i < count; ++i) {
    ws_case c = random_ws_case(&rng, acts[i % nacts]);
    if (adjust) adjust(&rng, &c, i);
    check_workspace_case(&rng, &c, integers, &nfail, &nruns, first, sizeof first);
    ++ncases;
  }
  printf("%s: %zu layers, %zu forward calls, %zu failed\n", name, ncases, nruns, nfail);
  ck_assert_msg(nfail == 0, "%zu of %zu layers failed; first:\n%s", nfail, ncases, first);
}

START_TEST(test_workspace_independence_exact) {
  static const char *const acts[] = {NULL, "relu", "linear", "sigmoid", "tanh", "softmax", "glu"};
  run_ws_cases("test_workspace_independence_exact", 4242, 28, acts, 7, true, NULL);
}
END_TEST

START_TEST(test_workspace_independence_random) {
  static const char *const acts[] = {NULL, "gelu", "softmax", "sparsemax", "exponential"};
  run_ws_cases("test_workspace_independence_random", 4343, 15, acts, 5, false, NULL);
}
END_TEST

/* Tiles of a million elements and more: the default workspace lets a team of threads share
 * each tile's scatter and finish (by output positions), or the direct kernel's chunks; a tiny
 * workspace runs everything on one thread. With integer data both must equal each other and the
 * reference exactly. */
static void threaded_shape(ref_rng *rng, ws_case *c, int i) {
  /* K*F = 1024 per row, 1024+ rows per tile; channels_first takes its filter-major path
   * below 128 filters and its transposed one from 128 on. */
  c->cfg.filters = i % 2 ? 128 : 64;
  c->cfg.kernel_size = i % 2 ? 8 : 16;
  c->C = ref_rng_int(rng, 1, 3);
  c->B = ref_rng_int(rng, 1, 2);
  c->L = ref_rng_int(rng, 1100, 1300);
  c->cfg.algorithm = (conv1dt_algorithm)(1 + i % 3); /* GEMM, DIRECT, GEMM_ACCUMULATE */
  if (c->cfg.data_format == CONV1DT_CHANNELS_FIRST && c->cfg.activation &&
      strcmp(c->cfg.activation, "glu") == 0)
    c->cfg.data_format = CONV1DT_CHANNELS_LAST;
}

START_TEST(test_workspace_independence_threaded) {
  static const char *const acts[] = {NULL, "relu", "softmax", "glu"};
  run_ws_cases("test_workspace_independence_threaded", 4444, 12, acts, 4, true, threaded_shape);
}
END_TEST

/* GEMM_ACCUMULATE's shared GEMMs: samples shorter than 2048 steps share each GEMM, as many as
 * make 2048 rows, each in its own window slot. Batches of several such blocks (the last one
 * short), kernels shorter than the stride (no gap rows: channels_last reads x in place) and
 * longer, output_padding, both formats, blocks finished a whole sample per thread (64
 * filters); workspaces from the minimum up (check_workspace_case) also cut the blocks down to
 * two samples and to the per-sample stream. */
static void shared_shape(ref_rng *rng, ws_case *c, int i) {
  c->cfg.algorithm = CONV1DT_ALGORITHM_GEMM_ACCUMULATE;
  c->cfg.dilation_rate = 1;
  c->cfg.strides = ref_rng_int(rng, 2, 5);
  c->cfg.kernel_size = i % 2 ? ref_rng_int(rng, 1, c->cfg.strides)
                             : ref_rng_int(rng, c->cfg.strides + 1, 3 * c->cfg.strides);
  c->cfg.output_padding = i % 4 < 2 ? -1 : ref_rng_int(rng, 0, c->cfg.strides - 1);
  c->cfg.data_format = (conv1dt_data_format)(i / 4);
  c->L = ref_rng_int(rng, 200, 700);
  if (i % 4 == 3) { /* samples too small to share out one by one, a block worth sharing */
    c->cfg.filters = 64;
    c->L = ref_rng_int(rng, 300, 400);
  }
  const int64_t span = (2048 + c->L) / (c->L + 1); /* about the samples a block holds */
  c->B = ref_rng_int(rng, span + 1, 2 * span + 1);
  c->C = ref_rng_int(rng, 1, 6);
}

START_TEST(test_accumulate_shared_blocks) {
  static const char *const acts[] = {NULL, "relu", "tanh", "softmax"};
  run_ws_cases("test_accumulate_shared_blocks", 4545, 8, acts, 4, true, shared_shape);
}
END_TEST

/* GEMM_ACCUMULATE's stride planes: channels_first samples that share no GEMM (one sample)
 * go through one GEMM per group of taps into s planes, interleaved into y with bias and the
 * activation. Strides 1-6 (shuffles for 2 and 4, element by element otherwise), dilation
 * (stride 1: a GEMM per tap), output_padding, both paddings (crops of any phase), activations
 * written directly (linear, relu) and through a buffer (tanh, gelu). */
static void planes_shape(ref_rng *rng, ws_case *c, int i) {
  c->cfg.algorithm = CONV1DT_ALGORITHM_GEMM_ACCUMULATE;
  c->cfg.data_format = CONV1DT_CHANNELS_FIRST;
  c->cfg.strides = 1 + i % 6;
  c->cfg.dilation_rate = c->cfg.strides == 1 ? ref_rng_int(rng, 1, 3) : 1;
  c->cfg.output_padding =
      i % 3 == 0 || c->cfg.dilation_rate > 1 ? -1 : ref_rng_int(rng, 0, c->cfg.strides - 1);
  c->B = 1;
  c->L = ref_rng_int(rng, 40, 300);
}

START_TEST(test_accumulate_planes) {
  static const char *const acts[] = {NULL, "relu", "tanh", "gelu"};
  run_ws_cases("test_accumulate_planes", 4646, 12, acts, 4, true, planes_shape);
}
END_TEST

/* conv1dt_workspace_alloc's contract: 64-byte aligned, 2 MiB aligned from 2 MiB on, writable
 * to the last byte; a NULL result pointer and an impossible size are errors that say so. */
START_TEST(test_workspace_alloc) {
  const size_t sizes[] = {
      0, 1, 100, 4096, ((size_t)2 << 20) - 1, (size_t)2 << 20, ((size_t)3 << 20) + 5};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; ++i) {
    void *ws = NULL;
    ck_assert_int_eq(conv1dt_workspace_alloc(sizes[i], &ws), CONV1DT_OK);
    ck_assert_ptr_nonnull(ws);
    const uintptr_t align = sizes[i] >= ((size_t)2 << 20) ? (uintptr_t)2 << 20 : 64;
    ck_assert_msg((uintptr_t)ws % align == 0, "%zu bytes at %p: not aligned to %zu", sizes[i], ws,
                  (size_t)align);
    if (sizes[i]) {
      memset(ws, 0x5A, sizes[i]);
      ck_assert_int_eq(((unsigned char *)ws)[sizes[i] - 1], 0x5A);
    }
    ck_assert_int_eq(conv1dt_workspace_free(ws), CONV1DT_OK);
  }
  ck_assert_int_eq(conv1dt_workspace_free(NULL), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_workspace_alloc(16, NULL), CONV1DT_ERROR_NULL_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(conv1dt_last_error(), "`workspace`"));
  void *ws = (void *)&ws;
  ck_assert_int_eq(conv1dt_workspace_alloc(SIZE_MAX, &ws), CONV1DT_ERROR_OUT_OF_MEMORY);
  ck_assert_ptr_null(ws);
  ck_assert_ptr_nonnull(strstr(conv1dt_last_error(), "out of memory"));
}
END_TEST

/* ------------------------------------------------------------------ weights */

static void *get_kernel(const conv1dt_layer *layer, conv1dt_dtype dt, size_t n) {
  void *k = malloc(n * ref_dtype_size(dt));
  ck_assert_ptr_nonnull(k);
  ck_assert_int_eq(conv1dt_get_weights(layer, k, NULL), CONV1DT_OK);
  return k;
}

START_TEST(test_default_weights) {
  const conv1dt_dtype dt = (conv1dt_dtype)_i;
  const int64_t K = 3, F = 40, C = 30;
  const size_t n = (size_t)(K * F * C), es = ref_dtype_size(dt);
  const double limit = sqrt(6.0 / (double)(F * K + C * K)); /* fan_in = F*K, fan_out = C*K */
  conv1dt_config cfg = conv1dt_config_default(F, K);
  cfg.seed = 123;
  conv1dt_layer *a = NULL, *a2 = NULL, *bl = NULL;
  ck_assert_int_eq(conv1dt_create(&cfg, C, dt, &a), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_create(&cfg, C, dt, &a2), CONV1DT_OK);
  cfg.seed = 124;
  ck_assert_int_eq(conv1dt_create(&cfg, C, dt, &bl), CONV1DT_OK);

  void *bias = malloc((size_t)F * es);
  ck_assert_ptr_nonnull(bias);
  ref_fill_sentinel(dt, bias, (size_t)F);
  ck_assert_int_eq(conv1dt_get_weights(a, NULL, bias), CONV1DT_OK);
  double *bd = ref_to_double(dt, bias, (size_t)F);
  for (int64_t f = 0; f < F; ++f)
    ck_assert_msg(bd[f] == 0.0, "default bias[%" PRId64 "] = %g", f, bd[f]);

  void *ka = get_kernel(a, dt, n), *ka2 = get_kernel(a2, dt, n), *kb = get_kernel(bl, dt, n);
  double *kd = ref_to_double(dt, ka, n), *kbd = ref_to_double(dt, kb, n);
  double sum = 0, sumsq = 0, mx = -INFINITY, mn = INFINITY;
  const double lim_dt = dt == CONV1DT_FLOAT32 ? limit * (1 + 0x1.0p-23) : limit;
  for (size_t i = 0; i < n; ++i) {
    ck_assert_msg(fabs(kd[i]) <= lim_dt, "kernel[%zu] = %.9g beyond glorot limit %.9g", i, kd[i],
                  limit);
    sum += kd[i];
    sumsq += kd[i] * kd[i];
    mx = fmax(mx, kd[i]);
    mn = fmin(mn, kd[i]);
  }
  const double mean = sum / (double)n, var = sumsq / (double)n - mean * mean;
  const double sd_mean = limit / sqrt(3.0 * (double)n);
  printf("default kernel (%s): limit %.6f mean %.6f var %.6f (expected %.6f) min %.6f max %.6f\n",
         dt == CONV1DT_FLOAT32 ? "float32" : "float64", limit, mean, var, limit * limit / 3, mn,
         mx);
  ck_assert_msg(fabs(mean) < 5 * sd_mean, "kernel mean %g (5 sigma = %g)", mean, 5 * sd_mean);
  ck_assert_msg(fabs(var / (limit * limit / 3) - 1) < 0.1,
                "kernel variance %g, uniform(+-%g) has %g", var, limit, limit * limit / 3);
  ck_assert_msg(mx > 0.98 * limit && mn < -0.98 * limit, "kernel range [%g, %g] does not fill +-%g",
                mn, mx, limit);
  ck_assert_msg(memcmp(ka, ka2, n * es) == 0, "same seed gave different kernels");
  size_t differ = 0;
  for (size_t i = 0; i < n; ++i) differ += kd[i] != kbd[i];
  ck_assert_msg(differ > n * 9 / 10, "seeds 123 and 124: only %zu of %zu elements differ", differ,
                n);

  /* the default weights are the ones forward uses */
  ref_rng rng;
  ref_rng_seed(&rng, 5);
  double *xd;
  void *x = ref_random_array(&rng, dt, (size_t)(2 * 7 * C), -1, 1, false, &xd);
  double zero_bias[40] = {0};
  cfg.seed = 123;
  ref_output ref;
  ck_assert_int_eq(ref_forward(&cfg, C, dt, xd, 2, 7, kd, zero_bias, &ref), REF_OK);
  void *y = malloc(ref.count * es);
  ck_assert_ptr_nonnull(y);
  ck_assert_int_eq(conv1dt_forward(a, x, 2, 7, y, NULL, 0), CONV1DT_OK);
  char cmp[600];
  size_t bad = ref_compare(dt, y, ref.y, ref.tol, ref.count, cmp, sizeof cmp);
  ck_assert_msg(bad == 0, "forward with default weights: %s", cmp);

  ref_output_free(&ref);
  free(y);
  free(x);
  free(xd);
  free(bias);
  free(bd);
  free(ka);
  free(ka2);
  free(kb);
  free(kd);
  free(kbd);
  conv1dt_destroy(a);
  conv1dt_destroy(a2);
  conv1dt_destroy(bl);
}
END_TEST

START_TEST(test_weights_roundtrip) {
  const conv1dt_dtype dt = (conv1dt_dtype)_i;
  const size_t es = ref_dtype_size(dt);
  ref_rng rng;
  ref_rng_seed(&rng, 99 + (uint64_t)_i);
  const int64_t K = 4, F = 5, C = 3;
  const size_t nk = (size_t)(K * F * C);
  double *kd, *bd;
  void *k = ref_random_array(&rng, dt, nk, -1, 1, false, &kd);
  void *b = ref_random_array(&rng, dt, (size_t)F, -1, 1, false, &bd);
  conv1dt_config cfg = conv1dt_config_default(F, K);
  conv1dt_layer *layer = NULL;
  ck_assert_int_eq(conv1dt_create(&cfg, C, dt, &layer), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_set_weights(layer, k, b), CONV1DT_OK);
  void *k2 = malloc(nk * es), *b2 = malloc((size_t)F * es);
  ck_assert_ptr_nonnull(k2);
  ck_assert_ptr_nonnull(b2);
  ck_assert_int_eq(conv1dt_get_weights(layer, k2, b2), CONV1DT_OK);
  ck_assert_msg(memcmp(k, k2, nk * es) == 0, "kernel round trip differs");
  ck_assert_msg(memcmp(b, b2, (size_t)F * es) == 0, "bias round trip differs");
  /* the layer keeps its own copy */
  ref_fill_sentinel(dt, k, nk);
  ref_fill_sentinel(dt, b, (size_t)F);
  ref_fill_sentinel(dt, k2, nk);
  ck_assert_int_eq(conv1dt_get_weights(layer, k2, NULL), CONV1DT_OK);
  double *k2d = ref_to_double(dt, k2, nk);
  for (size_t i = 0; i < nk; ++i) ck_assert_msg(k2d[i] == kd[i], "kernel[%zu] changed", i);
  ck_assert_int_eq(conv1dt_get_weights(layer, NULL, NULL), CONV1DT_OK);
  conv1dt_destroy(layer);

  /* without a bias: get_weights leaves the bias buffer alone */
  cfg.use_bias = false;
  ck_assert_int_eq(conv1dt_create(&cfg, C, dt, &layer), CONV1DT_OK);
  ref_from_double(dt, kd, k, nk);
  ck_assert_int_eq(conv1dt_set_weights(layer, k, NULL), CONV1DT_OK);
  ref_fill_sentinel(dt, b2, (size_t)F);
  ck_assert_int_eq(conv1dt_get_weights(layer, k2, b2), CONV1DT_OK);
  ck_assert_msg(memcmp(k, k2, nk * es) == 0, "kernel round trip differs (no bias)");
  ck_assert_msg(ref_is_sentinel(dt, b2, (size_t)F), "no-bias layer wrote the bias buffer");
  conv1dt_destroy(layer);
  free(k);
  free(b);
  free(k2);
  free(b2);
  free(kd);
  free(bd);
  free(k2d);
}
END_TEST

/* ------------------------------------------------------------------ empty outputs */

START_TEST(test_empty_output) {
  const conv1dt_dtype dt = (conv1dt_dtype)(_i % 2);
  const conv1dt_data_format df = (conv1dt_data_format)(_i / 2);
  const size_t es = ref_dtype_size(dt);
  /* same, op = 0, s = 1, even Keff (K=2, d=1 and K=2, d=3): L-1 steps, none when L = 1 */
  const int64_t Ks[] = {2, 2, 4}, ds[] = {1, 3, 1};
  for (int v = 0; v < 3; ++v) {
    conv1dt_config cfg = conv1dt_config_default(3, Ks[v]);
    cfg.padding = CONV1DT_PADDING_SAME;
    cfg.output_padding = 0;
    cfg.dilation_rate = ds[v];
    cfg.data_format = df;
    conv1dt_layer *layer = NULL;
    ck_assert_int_eq(conv1dt_create(&cfg, 2, dt, &layer), CONV1DT_OK);
    int64_t shape[3] = {-1, -1, -1};
    ck_assert_int_eq(conv1dt_output_shape(layer, 4, 1, shape), CONV1DT_OK);
    ck_assert_int_eq(shape[0], 4);
    ck_assert_int_eq(shape[df == CONV1DT_CHANNELS_LAST ? 1 : 2], 0);
    ck_assert_int_eq(shape[df == CONV1DT_CHANNELS_LAST ? 2 : 1], 3);
    size_t wsz = 1, wmin = 1;
    ck_assert_int_eq(conv1dt_workspace_size(layer, 4, 1, &wsz), CONV1DT_OK);
    ck_assert_int_eq(conv1dt_min_workspace_size(layer, 4, 1, &wmin), CONV1DT_OK);
    double xbuf[8] = {1, 2, 3, 4, 5, 6, 7, 8}, ybuf[4];
    ref_fill_sentinel(dt, ybuf, 4);
    ck_assert_int_eq(conv1dt_forward(layer, xbuf, 4, 1, ybuf, NULL, 0), CONV1DT_OK);
    ck_assert_msg(ref_is_sentinel(dt, ybuf, 4), "empty output: y was written");
    (void)es;
    conv1dt_destroy(layer);
    /* and with more steps it is a normal (L-1)-step output */
    ref_rng rng;
    ref_rng_seed(&rng, 1000 + (uint64_t)v);
    char msg[MSG_SIZE] = "";
    for (int64_t L = 2; L <= 4; ++L)
      ck_assert_msg(tn_check_random_case(&rng, &cfg, 2, dt, 2, L, false, msg, sizeof msg) == 0,
                    "%s", msg);
  }
}
END_TEST

START_TEST(test_batch_zero) {
  const conv1dt_dtype dt = (conv1dt_dtype)(_i % 2);
  conv1dt_config cfg = conv1dt_config_default(4, 3);
  cfg.strides = 2;
  cfg.data_format = (conv1dt_data_format)(_i / 2);
  conv1dt_layer *layer = NULL;
  ck_assert_int_eq(conv1dt_create(&cfg, 2, dt, &layer), CONV1DT_OK);
  int64_t shape[3] = {-1, -1, -1};
  ck_assert_int_eq(conv1dt_output_shape(layer, 0, 5, shape), CONV1DT_OK);
  const int64_t len = 4 * 2 + 3;
  ck_assert_int_eq(shape[0], 0);
  ck_assert_int_eq(shape[1], cfg.data_format == CONV1DT_CHANNELS_LAST ? len : 4);
  ck_assert_int_eq(shape[2], cfg.data_format == CONV1DT_CHANNELS_LAST ? 4 : len);
  size_t bytes = 0;
  ck_assert_int_eq(conv1dt_workspace_size(layer, 0, 5, &bytes), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_min_workspace_size(layer, 0, 5, &bytes), CONV1DT_OK);
  double xbuf[4] = {0}, ybuf[4];
  ref_fill_sentinel(dt, ybuf, 4);
  ck_assert_int_eq(conv1dt_forward(layer, xbuf, 0, 5, ybuf, NULL, 0), CONV1DT_OK);
  ck_assert_msg(ref_is_sentinel(dt, ybuf, 4), "batch 0: y was written");
  conv1dt_destroy(layer);
}
END_TEST

/* ------------------------------------------------------------------ concurrency */

typedef struct thread_job {
  const conv1dt_layer *layer;
  const void *x;
  const void *expected;
  size_t count;
  int64_t B, L;
  conv1dt_dtype dt;
  size_t ws_bytes; /* 0: NULL workspace */
  int iterations;
  int mismatches;
  int errors;
} thread_job;

static void *thread_main(void *arg) {
  thread_job *job = arg;
  const size_t es = ref_dtype_size(job->dt);
  void *y = malloc(job->count * es);
  void *ws = job->ws_bytes ? malloc(job->ws_bytes) : NULL;
  if (!y || (job->ws_bytes && !ws)) {
    job->errors = -1;
    free(y);
    free(ws);
    return NULL;
  }
  for (int it = 0; it < job->iterations; ++it) {
    ref_fill_sentinel(job->dt, y, job->count);
    if (conv1dt_forward(job->layer, job->x, job->B, job->L, y, ws, job->ws_bytes) != CONV1DT_OK)
      ++job->errors;
    else if (count_unequal(job->dt, y, job->expected, job->count) != 0)
      ++job->mismatches;
  }
  free(y);
  free(ws);
  return NULL;
}

/* Random data, sizes where every method uses its threads: repeated calls give the same bits
 * (_i: dtype x method, as below). */
START_TEST(test_repeatable_bits) {
  const conv1dt_dtype dt = (conv1dt_dtype)(_i % 2);
  const size_t es = ref_dtype_size(dt);
  ref_rng rng;
  ref_rng_seed(&rng, 2718 + (uint64_t)_i);
  conv1dt_config cfg = conv1dt_config_default(64, 8);
  cfg.strides = 4;
  cfg.padding = CONV1DT_PADDING_SAME;
  cfg.activation = "gelu";
  cfg.algorithm = (conv1dt_algorithm)(_i / 2);
  const int64_t C = 24, B = 3, L = 1500;
  for (int fmt = 0; fmt < 2; fmt++) {
    cfg.data_format = (conv1dt_data_format)fmt;
    conv1dt_layer *layer = NULL;
    ck_assert_int_eq(conv1dt_create(&cfg, C, dt, &layer), CONV1DT_OK);
    double *xd;
    void *x = ref_random_array(&rng, dt, (size_t)(B * L * C), -1, 1, false, &xd);
    int64_t shape[3];
    ck_assert_int_eq(conv1dt_output_shape(layer, B, L, shape), CONV1DT_OK);
    const size_t bytes = (size_t)(shape[0] * shape[1] * shape[2]) * es;
    void *y0 = malloc(bytes), *y1 = malloc(bytes);
    ck_assert(y0 && y1);
    ck_assert_int_eq(conv1dt_forward(layer, x, B, L, y0, NULL, 0), CONV1DT_OK);
    for (int rep = 0; rep < 3; rep++) {
      memset(y1, 0x5a, bytes);
      ck_assert_int_eq(conv1dt_forward(layer, x, B, L, y1, NULL, 0), CONV1DT_OK);
      ck_assert_msg(memcmp(y0, y1, bytes) == 0, "method %d, %s: run %d differs", _i / 2,
                    fmt ? "channels_first" : "channels_last", rep + 1);
    }
    free(y0);
    free(y1);
    free(x);
    free(xd);
    conv1dt_destroy(layer);
  }
}
END_TEST

/* The direct method keeps its threads in the layer: a child process after fork() inherits the
 * layer but not those threads, and must compute with threads of its own (and so must the parent
 * afterwards), with the same bits. */
START_TEST(test_forward_after_fork) {
  conv1dt_config cfg = conv1dt_config_default(24, 5);
  cfg.strides = 2;
  cfg.activation = "relu";
  cfg.algorithm = CONV1DT_ALGORITHM_DIRECT;
  const int64_t C = 16, B = 4, L = 600;
  conv1dt_layer *layer = NULL;
  ck_assert_int_eq(conv1dt_create(&cfg, C, CONV1DT_FLOAT32, &layer), CONV1DT_OK);
  ref_rng rng;
  ref_rng_seed(&rng, 99);
  double *xd;
  float *x = ref_random_array(&rng, CONV1DT_FLOAT32, (size_t)(B * L * C), -1, 1, false, &xd);
  int64_t shape[3];
  ck_assert_int_eq(conv1dt_output_shape(layer, B, L, shape), CONV1DT_OK);
  const size_t n = (size_t)(shape[0] * shape[1] * shape[2]);
  float *y0 = malloc(n * sizeof *y0), *y1 = malloc(n * sizeof *y1);
  ck_assert(y0 && y1);
  ck_assert_int_eq(conv1dt_forward(layer, x, B, L, y0, NULL, 0), CONV1DT_OK); /* team kept */
  fflush(NULL);
  const pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) { /* the child: no ck_assert here, only an exit status */
    int bad = conv1dt_forward(layer, x, B, L, y1, NULL, 0) != CONV1DT_OK ||
              memcmp(y0, y1, n * sizeof *y1) != 0;
    bad |= conv1dt_forward(layer, x, B, L, y1, NULL, 0) != CONV1DT_OK ||
           memcmp(y0, y1, n * sizeof *y1) != 0;
    conv1dt_destroy(layer);
    _exit(bad ? 3 : 0);
  }
  int status = 0;
  ck_assert_int_eq(waitpid(pid, &status, 0), pid);
  ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
  ck_assert_int_eq(conv1dt_forward(layer, x, B, L, y1, NULL, 0), CONV1DT_OK);
  ck_assert(memcmp(y0, y1, n * sizeof *y1) == 0);
  conv1dt_destroy(layer);
  free(x);
  free(xd);
  free(y0);
  free(y1);
}
END_TEST

/* _i: dtype (even/odd) x forward method (_i / 2) */
START_TEST(test_concurrent_forward) {
  const conv1dt_dtype dt = (conv1dt_dtype)(_i % 2);
  const size_t es = ref_dtype_size(dt);
  ref_rng rng;
  ref_rng_seed(&rng, 31337);
  conv1dt_config cfg = conv1dt_config_default(16, 5);
  cfg.strides = 2;
  cfg.padding = CONV1DT_PADDING_SAME;
  cfg.activation = "tanh";
  cfg.algorithm = (conv1dt_algorithm)(_i / 2);
  const int64_t C = 12, B = 4, L = 40;
  conv1dt_layer *layer = NULL;
  ck_assert_int_eq(conv1dt_create(&cfg, C, dt, &layer), CONV1DT_OK);
  size_t wmin = 0;
  ck_assert_int_eq(conv1dt_min_workspace_size(layer, B, L, &wmin), CONV1DT_OK);
  conv1dt_destroy(layer);
  cfg.workspace_limit = 3 * wmin; /* several blocks per call */
  ck_assert_int_eq(conv1dt_create(&cfg, C, dt, &layer), CONV1DT_OK);
  double *kd, *bd, *xd[2];
  void *k = ref_random_array(&rng, dt, (size_t)(5 * 16 * C), -1, 1, false, &kd);
  void *b = ref_random_array(&rng, dt, 16, -1, 1, false, &bd);
  ck_assert_int_eq(conv1dt_set_weights(layer, k, b), CONV1DT_OK);
  void *x[2], *serial[2];
  int64_t shape[3];
  ck_assert_int_eq(conv1dt_output_shape(layer, B, L, shape), CONV1DT_OK);
  const size_t count = (size_t)(shape[0] * shape[1] * shape[2]);
  size_t wsz = 0;
  ck_assert_int_eq(conv1dt_workspace_size(layer, B, L, &wsz), CONV1DT_OK);
  for (int t = 0; t < 2; ++t) {
    x[t] = ref_random_array(&rng, dt, (size_t)(B * L * C), -1, 1, false, &xd[t]);
    serial[t] = malloc(count * es);
    ck_assert_ptr_nonnull(serial[t]);
    ck_assert_int_eq(conv1dt_forward(layer, x[t], B, L, serial[t], NULL, 0), CONV1DT_OK);
    ref_output ref;
    ck_assert_int_eq(ref_forward(&cfg, C, dt, xd[t], B, L, kd, bd, &ref), REF_OK);
    char cmp[600];
    ck_assert_msg(ref_compare(dt, serial[t], ref.y, ref.tol, count, cmp, sizeof cmp) == 0, "%s",
                  cmp);
    ref_output_free(&ref);
  }
  thread_job jobs[2];
  pthread_t th[2];
  for (int t = 0; t < 2; ++t) {
    jobs[t] = (thread_job){layer, x[t], serial[t], count, B, L, dt, t ? wsz : 0, 25, 0, 0};
    ck_assert_int_eq(pthread_create(&th[t], NULL, thread_main, &jobs[t]), 0);
  }
  for (int t = 0; t < 2; ++t) ck_assert_int_eq(pthread_join(th[t], NULL), 0);
  for (int t = 0; t < 2; ++t) {
    ck_assert_msg(jobs[t].errors == 0, "thread %d: %d failed calls", t, jobs[t].errors);
    ck_assert_msg(jobs[t].mismatches == 0, "thread %d: %d of %d runs differ from the serial run", t,
                  jobs[t].mismatches, jobs[t].iterations);
  }
  conv1dt_destroy(layer);
  for (int t = 0; t < 2; ++t) {
    free(x[t]);
    free(xd[t]);
    free(serial[t]);
  }
  free(k);
  free(b);
  free(kd);
  free(bd);
}
END_TEST

static Suite *forward_suite(void) {
  Suite *s = suite_create("forward");
  TCase *tc = tcase_create("sweeps");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, test_sweep_strides, 0, 6);
  tcase_add_test(tc, test_sweep_dilation);
  tcase_add_test(tc, test_sweep_edges);
  tcase_add_test(tc, test_sweep_direct_long);
  tcase_add_test(tc, test_sweep_direct_groups);
  tcase_add_test(tc, test_sweep_direct_mono);
  suite_add_tcase(s, tc);

  tc = tcase_create("workspace");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_workspace_independence_exact);
  tcase_add_test(tc, test_workspace_independence_random);
  tcase_add_test(tc, test_workspace_independence_threaded);
  tcase_add_test(tc, test_accumulate_shared_blocks);
  tcase_add_test(tc, test_accumulate_planes);
  tcase_add_test(tc, test_workspace_alloc);
  suite_add_tcase(s, tc);

  tc = tcase_create("weights");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, test_default_weights, 0, 2);
  tcase_add_loop_test(tc, test_weights_roundtrip, 0, 2);
  suite_add_tcase(s, tc);

  tc = tcase_create("empty");
  tcase_add_loop_test(tc, test_empty_output, 0, 4);
  tcase_add_loop_test(tc, test_batch_zero, 0, 4);
  suite_add_tcase(s, tc);

  tc = tcase_create("threads");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, test_concurrent_forward, 0, 8); /* 2 dtypes x 4 methods */
  tcase_add_loop_test(tc, test_repeatable_bits, 0, 8);
  tcase_add_test(tc, test_forward_after_fork);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return run_suite(forward_suite());
}
