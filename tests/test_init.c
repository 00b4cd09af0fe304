/* Initializers: the documented generator reproduced independently (Philox-4x32-10 checked
 * against Random123's known-answer vectors, the 53-bit uniforms, Box-Muller, the truncated
 * normal's redraws), reproducibility and streams, distributions (moments, ranges, the
 * Kolmogorov-Smirnov statistic against the target CDF), fans in every mode, orthogonal matrices,
 * Keras's defaults and names, and every validation error. */
#include "check_run.h"
#include "conv1dt.h"

#include <check.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------------------------------- */
/* The generator, written again from docs/SEMANTICS.md */

static void philox(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
  uint32_t x[4] = {ctr[0], ctr[1], ctr[2], ctr[3]}, k0 = key[0], k1 = key[1];
  for (int r = 0; r < 10; r++) {
    const uint64_t p0 = (uint64_t)0xD2511F53u * x[0], p1 = (uint64_t)0xCD9E8D57u * x[2];
    const uint32_t y0 = (uint32_t)(p1 >> 32) ^ x[1] ^ k0, y1 = (uint32_t)p1;
    const uint32_t y2 = (uint32_t)(p0 >> 32) ^ x[3] ^ k1, y3 = (uint32_t)p0;
    x[0] = y0, x[1] = y1, x[2] = y2, x[3] = y3;
    k0 += 0x9E3779B9u, k1 += 0xBB67AE85u;
  }
  memcpy(out, x, sizeof x);
}

static void ref_block(uint64_t seed, uint64_t i, uint32_t stream, uint32_t attempt, uint32_t r[4]) {
  const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  const uint32_t ctr[4] = {(uint32_t)i, (uint32_t)(i >> 32), stream, attempt};
  philox(ctr, key, r);
}

static double ref_u53(uint32_t a, uint32_t b) {
  return (double)(((uint64_t)(a >> 5) << 26) | (b >> 6)) * 0x1.0p-53;
}

static double ref_uniform(uint64_t seed, uint64_t i, uint32_t stream) {
  uint32_t r[4];
  ref_block(seed, i, stream, 0, r);
  return ref_u53(r[0], r[1]);
}

/* With the C library's log and cos: equal to the library's own to a few ulp. */
static double ref_normal(uint64_t seed, uint64_t i, uint32_t stream, uint32_t attempt) {
  uint32_t r[4];
  ref_block(seed, i, stream, attempt, r);
  const double u1 = ref_u53(r[0], r[1]), u2 = ref_u53(r[2], r[3]);
  return sqrt(-2.0 * log(1.0 - u1)) * cos(6.283185307179586476925286766559 * u2);
}

START_TEST(test_philox_known_answers) {
  /* Random123's kat_vectors for philox4x32_10. */
  static const uint32_t ctr[3][4] = {
      {0, 0, 0, 0}, {~0u, ~0u, ~0u, ~0u}, {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344}};
  static const uint32_t key[3][2] = {{0, 0}, {~0u, ~0u}, {0xa4093822, 0x299f31d0}};
  static const uint32_t want[3][4] = {{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
                                      {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
                                      {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}};
  for (int t = 0; t < 3; t++) {
    uint32_t out[4];
    philox(ctr[t], key[t], out);
    for (int w = 0; w < 4; w++)
      ck_assert_msg(out[w] == want[t][w], "vector %d word %d: %08x, want %08x", t, w, out[w],
                    want[t][w]);
  }
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* Helpers */

static size_t count_of(int ndim, const int64_t *shape) {
  size_t n = 1;
  for (int d = 0; d < ndim; d++) n *= (size_t)shape[d];
  return n;
}

/* Runs conv1dt_initialize in float64 (or float32 widened) and returns a malloc'ed array. */
static double *draw(const conv1dt_initializer *in, conv1dt_dtype dt, int ndim,
                    const int64_t *shape) {
  const size_t n = count_of(ndim, shape);
  double *out = malloc((n ? n : 1) * sizeof *out);
  ck_assert_ptr_nonnull(out);
  if (dt == CONV1DT_FLOAT64) {
    conv1dt_status st = conv1dt_initialize(in, dt, ndim, shape, out);
    ck_assert_msg(st == CONV1DT_OK, "conv1dt_initialize: %s", conv1dt_last_error());
    return out;
  }
  float *f = malloc((n ? n : 1) * sizeof *f);
  ck_assert_ptr_nonnull(f);
  conv1dt_status st = conv1dt_initialize(in, dt, ndim, shape, f);
  ck_assert_msg(st == CONV1DT_OK, "conv1dt_initialize: %s", conv1dt_last_error());
  for (size_t i = 0; i < n; i++) out[i] = f[i];
  free(f);
  return out;
}

static conv1dt_initializer seeded(conv1dt_init_kind kind, uint64_t seed) {
  conv1dt_initializer in = conv1dt_initializer_default(kind);
  in.seed = seed;
  in.has_seed = true;
  return in;
}

static void expect_error(conv1dt_status got, conv1dt_status want, const char *needle) {
  ck_assert_msg(got == want, "status %s, expected %s (%s)", conv1dt_status_name(got),
                conv1dt_status_name(want), conv1dt_last_error());
  if (needle)
    ck_assert_msg(strstr(conv1dt_last_error(), needle) != NULL, "message '%s' lacks '%s'",
                  conv1dt_last_error(), needle);
}

/* ------------------------------------------------------------------------------------------- */
/* The numbers themselves */

/* Default kernels of the layer equal the documented formula bit for bit (as before 0.2). */
START_TEST(test_default_kernel_formula) {
  static const int64_t cases[][4] = {
      {3, 40, 30, 123}, {1, 1, 1, 0}, {5, 7, 3, 42}, {2, 64, 128, 7}};
  for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
    const int64_t K = cases[c][0], F = cases[c][1], C = cases[c][2];
    const uint64_t seed = (uint64_t)cases[c][3] * UINT64_C(0x9E3779B97F4A7C15);
    const double fan_avg = ((double)F * (double)K + (double)C * (double)K) / 2.0;
    const double limit = sqrt(3.0 / (fan_avg > 1.0 ? fan_avg : 1.0));
    const size_t n = (size_t)(K * F * C);
    for (int dt = 0; dt < 2; dt++) {
      conv1dt_config cfg = conv1dt_config_default(F, K);
      cfg.seed = seed;
      conv1dt_layer *layer = NULL;
      ck_assert_int_eq(conv1dt_create(&cfg, C, (conv1dt_dtype)dt, &layer), CONV1DT_OK);
      void *k = malloc(n * 8), *b = malloc((size_t)F * 8);
      ck_assert_int_eq(conv1dt_get_weights(layer, k, b), CONV1DT_OK);
      for (size_t i = 0; i < n; i++) {
        const double want = -limit + 2.0 * limit * ref_uniform(seed, i, 0);
        if (dt == CONV1DT_FLOAT64)
          ck_assert_msg(((double *)k)[i] == want, "case %zu f64 [%zu]: %.17g != %.17g", c, i,
                        ((double *)k)[i], want);
        else
          ck_assert_msg(((float *)k)[i] == (float)want, "case %zu f32 [%zu]", c, i);
      }
      for (int64_t f = 0; f < F; f++)
        ck_assert(dt ? ((double *)b)[f] == 0.0 : ((float *)b)[f] == 0.0f);
      free(k);
      free(b);
      conv1dt_destroy(layer);
    }
  }
}
END_TEST

/* Uniforms exactly, normals to a few ulp (the library computes its own log and cos), and the
 * truncated normal's redraw sequence. */
START_TEST(test_generator_reproduced) {
  const uint64_t seed = UINT64_C(0x0123456789ABCDEF);
  const int64_t shape[1] = {4096};
  conv1dt_initializer u = seeded(CONV1DT_INIT_RANDOM_UNIFORM, seed);
  u.minval = -3.0;
  u.maxval = 5.0;
  double *x = draw(&u, CONV1DT_FLOAT64, 1, shape);
  for (size_t i = 0; i < 4096; i++)
    ck_assert_msg(x[i] == -3.0 + 8.0 * ref_uniform(seed, i, 0), "uniform[%zu]", i);
  free(x);

  conv1dt_initializer nrm = seeded(CONV1DT_INIT_RANDOM_NORMAL, seed);
  nrm.mean = 0.0;
  nrm.stddev = 1.0;
  x = draw(&nrm, CONV1DT_FLOAT64, 1, shape);
  double worst = 0.0;
  for (size_t i = 0; i < 4096; i++) {
    const double want = ref_normal(seed, i, 0, 0);
    worst = fmax(worst, fabs(x[i] - want));
    ck_assert_msg(fabs(x[i] - want) <= 1e-14 * fmax(1.0, fabs(want)), "normal[%zu] %.17g vs %.17g",
                  i, x[i], want);
  }
  printf("Box-Muller: largest difference to libm's log/cos over 4096 draws: %.3g\n", worst);
  free(x);

  conv1dt_initializer tn = seeded(CONV1DT_INIT_TRUNCATED_NORMAL, seed);
  tn.mean = 1.0;
  tn.stddev = 0.5;
  x = draw(&tn, CONV1DT_FLOAT64, 1, shape);
  size_t redrawn = 0;
  for (size_t i = 0; i < 4096; i++) {
    uint32_t attempt = 0;
    double z;
    do z = ref_normal(seed, i, 0, attempt++);
    while (fabs(z) > 2.0);
    redrawn += attempt > 1;
    ck_assert_msg(fabs(x[i] - (1.0 + 0.5 * z)) <= 1e-14, "truncated[%zu]", i);
  }
  /* About 4.55% of the first draws fall beyond 2 sigma. */
  ck_assert_msg(redrawn > 100 && redrawn < 300, "%zu of 4096 redrawn", redrawn);
  free(x);
}
END_TEST

/* A float32 tensor is the float64 one rounded once, for every initializer. */
START_TEST(test_float32_is_rounded_float64) {
  const int64_t shape[3] = {3, 5, 7};
  for (int kind = CONV1DT_INIT_ZEROS; kind <= CONV1DT_INIT_ORTHOGONAL; kind++) {
    conv1dt_initializer in = seeded((conv1dt_init_kind)kind, 99);
    in.value = 0.1;
    double *d = draw(&in, CONV1DT_FLOAT64, 3, shape), *f = draw(&in, CONV1DT_FLOAT32, 3, shape);
    for (size_t i = 0; i < 105; i++)
      ck_assert_msg(f[i] == (double)(float)d[i], "kind %d [%zu]: %.9g vs %.17g", kind, i, f[i],
                    d[i]);
    free(d);
    free(f);
  }
}
END_TEST

START_TEST(test_reproducible_and_streams) {
  const int64_t K = 4, F = 16, C = 8, kshape[3] = {K, F, C}, bshape[1] = {F};
  const size_t n = (size_t)(K * F * C);
  for (int kind = CONV1DT_INIT_RANDOM_UNIFORM; kind <= CONV1DT_INIT_ORTHOGONAL; kind++) {
    if (kind == CONV1DT_INIT_ORTHOGONAL) continue; /* not for the bias; checked below */
    conv1dt_initializer in = seeded((conv1dt_init_kind)kind, 5);
    double *a = draw(&in, CONV1DT_FLOAT64, 3, kshape), *a2 = draw(&in, CONV1DT_FLOAT64, 3, kshape);
    in.seed = 6;
    double *b = draw(&in, CONV1DT_FLOAT64, 3, kshape);
    ck_assert_msg(memcmp(a, a2, n * sizeof *a) == 0, "kind %d: same seed, different numbers", kind);
    size_t differ = 0;
    for (size_t i = 0; i < n; i++) differ += a[i] != b[i];
    ck_assert_msg(differ == n, "kind %d: seeds 5 and 6 share %zu values", kind, n - differ);

    /* The layer: kernel = conv1dt_initialize with the layer's seed; bias on stream 1. */
    conv1dt_config cfg = conv1dt_config_default(F, K);
    cfg.seed = 5;
    cfg.kernel_initializer = conv1dt_initializer_default((conv1dt_init_kind)kind);
    cfg.bias_initializer = cfg.kernel_initializer;
    conv1dt_layer *layer = NULL;
    ck_assert_int_eq(conv1dt_create(&cfg, C, CONV1DT_FLOAT64, &layer), CONV1DT_OK);
    double *k = malloc(n * sizeof *k), bias[16];
    ck_assert_int_eq(conv1dt_get_weights(layer, k, bias), CONV1DT_OK);
    ck_assert_msg(memcmp(k, a, n * sizeof *k) == 0, "kind %d: layer kernel != conv1dt_initialize",
                  kind);
    conv1dt_initializer same = seeded((conv1dt_init_kind)kind, 5);
    double *b0 = draw(&same, CONV1DT_FLOAT64, 1, bshape); /* stream 0, same seed and shape */
    size_t bdiff = 0;
    /* counted with an if: GCC 12's aarch64 SLP vectoriser summed this comparison's -1 lanes
     * unnegated at -O3 (bdiff = -16) */
    for (int64_t f = 0; f < F; f++)
      if (bias[f] != b0[f]) bdiff++;
    ck_assert_msg(bdiff == (size_t)F, "kind %d: bias stream shares %zu values with stream 0", kind,
                  (size_t)F - bdiff);
    /* Reset redraws the same weights. */
    double zeros[16 * 4 * 8] = {0};
    ck_assert_int_eq(conv1dt_set_weights(layer, zeros, zeros), CONV1DT_OK);
    ck_assert_int_eq(conv1dt_reset_weights(layer), CONV1DT_OK);
    double *k2 = malloc(n * sizeof *k2), bias2[16];
    ck_assert_int_eq(conv1dt_get_weights(layer, k2, bias2), CONV1DT_OK);
    ck_assert(memcmp(k, k2, n * sizeof *k) == 0 && memcmp(bias, bias2, sizeof bias) == 0);
    /* An initializer's own seed wins over cfg.seed. */
    conv1dt_destroy(layer);
    cfg.kernel_initializer.seed = 6;
    cfg.kernel_initializer.has_seed = true;
    ck_assert_int_eq(conv1dt_create(&cfg, C, CONV1DT_FLOAT64, &layer), CONV1DT_OK);
    ck_assert_int_eq(conv1dt_get_weights(layer, k2, NULL), CONV1DT_OK);
    ck_assert_msg(memcmp(k2, b, n * sizeof *k2) == 0, "kind %d: own seed ignored", kind);
    conv1dt_destroy(layer);
    free(a);
    free(a2);
    free(b);
    free(b0);
    free(k);
    free(k2);
  }
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* Distributions */

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

typedef double (*cdf_fn)(double x, const double *p);

static double cdf_uniform(double x, const double *p) {
  return x <= p[0] ? 0.0 : x >= p[1] ? 1.0 : (x - p[0]) / (p[1] - p[0]);
}
static double phi(double z) {
  return 0.5 * erfc(-z / sqrt(2.0));
}
static double cdf_normal(double x, const double *p) {
  return phi((x - p[0]) / p[1]);
}
static double cdf_truncated(double x, const double *p) { /* normal(mean, sd) cut at 2 sd */
  const double z = (x - p[0]) / p[1];
  if (z <= -2.0) return 0.0;
  if (z >= 2.0) return 1.0;
  return (phi(z) - phi(-2.0)) / (phi(2.0) - phi(-2.0));
}

/* Kolmogorov-Smirnov statistic of the sample (sorted in place) against cdf. */
static double ks_statistic(double *x, size_t n, cdf_fn cdf, const double *p) {
  qsort(x, n, sizeof *x, cmp_double);
  double d = 0.0;
  for (size_t i = 0; i < n; i++) {
    const double f = cdf(x[i], p);
    d = fmax(d, fmax(f - (double)i / (double)n, (double)(i + 1) / (double)n - f));
  }
  return d;
}

typedef enum { D_UNIFORM, D_NORMAL, D_TRUNCATED } dist;

typedef struct {
  const char *name;
  conv1dt_initializer init;
  int ndim;
  int64_t shape[4];
  dist d;
  double a, b; /* uniform: [a, b); normal / truncated: mean a, sd b (before truncation) */
} dist_case;

#define TRUNC_SD 0.87962566103423978 /* sd of a standard normal cut at +-2 */

static dist_case vs(const char *name, conv1dt_init_kind kind, double scale, conv1dt_fan_mode mode,
                    conv1dt_distribution distribution, double fan) {
  dist_case c;
  memset(&c, 0, sizeof c);
  c.name = name;
  c.init = seeded(kind, 2024);
  c.init.seed += (uint64_t)kind * 1000003u + (uint64_t)(mode * 7 + distribution) * 101u +
                 (uint64_t)(scale * 16);
  c.init.scale = scale;
  c.init.mode = mode;
  c.init.distribution = distribution;
  /* (20, 50, 200): fan_in = 50 * 20 = 1000, fan_out = 200 * 20 = 4000, avg 2500 */
  c.ndim = 3;
  c.shape[0] = 20, c.shape[1] = 50, c.shape[2] = 200;
  const double s = scale / fan;
  if (distribution == CONV1DT_DIST_UNIFORM)
    c.d = D_UNIFORM, c.a = -sqrt(3.0 * s), c.b = sqrt(3.0 * s);
  else if (distribution == CONV1DT_DIST_UNTRUNCATED_NORMAL)
    c.d = D_NORMAL, c.a = 0.0, c.b = sqrt(s);
  else
    c.d = D_TRUNCATED, c.a = 0.0, c.b = sqrt(s) / TRUNC_SD;
  return c;
}

static dist_case dist_cases(int i) {
  const double FI = 1000.0, FO = 4000.0, FA = 2500.0;
  dist_case c;
  switch (i) {
  case 0:
    c = vs("random_uniform(-0.05, 0.05)", CONV1DT_INIT_RANDOM_UNIFORM, 1, 0, 0, 1);
    c.d = D_UNIFORM, c.a = -0.05, c.b = 0.05;
    return c;
  case 1:
    c = vs("random_uniform(2, 7)", CONV1DT_INIT_RANDOM_UNIFORM, 1, 0, 0, 1);
    c.init.minval = 2.0, c.init.maxval = 7.0;
    c.d = D_UNIFORM, c.a = 2.0, c.b = 7.0;
    return c;
  case 2:
    c = vs("random_normal(0, 0.05)", CONV1DT_INIT_RANDOM_NORMAL, 1, 0, 0, 1);
    c.d = D_NORMAL, c.a = 0.0, c.b = 0.05;
    return c;
  case 3:
    c = vs("random_normal(-1, 3)", CONV1DT_INIT_RANDOM_NORMAL, 1, 0, 0, 1);
    c.init.mean = -1.0, c.init.stddev = 3.0;
    c.d = D_NORMAL, c.a = -1.0, c.b = 3.0;
    return c;
  case 4:
    c = vs("truncated_normal(0, 0.05)", CONV1DT_INIT_TRUNCATED_NORMAL, 1, 0, 0, 1);
    c.d = D_TRUNCATED, c.a = 0.0, c.b = 0.05;
    return c;
  case 5:
    c = vs("truncated_normal(0.5, 2)", CONV1DT_INIT_TRUNCATED_NORMAL, 1, 0, 0, 1);
    c.init.mean = 0.5, c.init.stddev = 2.0;
    c.d = D_TRUNCATED, c.a = 0.5, c.b = 2.0;
    return c;
  case 6:
    return vs("vs(2, fan_in, truncated)", CONV1DT_INIT_VARIANCE_SCALING, 2, CONV1DT_FAN_IN,
              CONV1DT_DIST_TRUNCATED_NORMAL, FI);
  case 7:
    return vs("vs(0.5, fan_out, truncated)", CONV1DT_INIT_VARIANCE_SCALING, 0.5, CONV1DT_FAN_OUT,
              CONV1DT_DIST_TRUNCATED_NORMAL, FO);
  case 8:
    return vs("vs(1, fan_avg, truncated)", CONV1DT_INIT_VARIANCE_SCALING, 1, CONV1DT_FAN_AVG,
              CONV1DT_DIST_TRUNCATED_NORMAL, FA);
  case 9:
    return vs("vs(3, fan_in, untruncated)", CONV1DT_INIT_VARIANCE_SCALING, 3, CONV1DT_FAN_IN,
              CONV1DT_DIST_UNTRUNCATED_NORMAL, FI);
  case 10:
    return vs("vs(1, fan_out, untruncated)", CONV1DT_INIT_VARIANCE_SCALING, 1, CONV1DT_FAN_OUT,
              CONV1DT_DIST_UNTRUNCATED_NORMAL, FO);
  case 11:
    return vs("vs(1, fan_avg, untruncated)", CONV1DT_INIT_VARIANCE_SCALING, 1, CONV1DT_FAN_AVG,
              CONV1DT_DIST_UNTRUNCATED_NORMAL, FA);
  case 12:
    return vs("vs(1, fan_in, uniform)", CONV1DT_INIT_VARIANCE_SCALING, 1, CONV1DT_FAN_IN,
              CONV1DT_DIST_UNIFORM, FI);
  case 13:
    return vs("vs(4, fan_out, uniform)", CONV1DT_INIT_VARIANCE_SCALING, 4, CONV1DT_FAN_OUT,
              CONV1DT_DIST_UNIFORM, FO);
  case 14:
    return vs("vs(1, fan_avg, uniform)", CONV1DT_INIT_VARIANCE_SCALING, 1, CONV1DT_FAN_AVG,
              CONV1DT_DIST_UNIFORM, FA);
  case 15:
    return vs("glorot_uniform", CONV1DT_INIT_GLOROT_UNIFORM, 1, 0, CONV1DT_DIST_UNIFORM, FA);
  case 16:
    return vs("glorot_normal", CONV1DT_INIT_GLOROT_NORMAL, 1, 0, CONV1DT_DIST_TRUNCATED_NORMAL, FA);
  case 17:
    return vs("he_uniform", CONV1DT_INIT_HE_UNIFORM, 2, 0, CONV1DT_DIST_UNIFORM, FI);
  case 18:
    return vs("he_normal", CONV1DT_INIT_HE_NORMAL, 2, 0, CONV1DT_DIST_TRUNCATED_NORMAL, FI);
  case 19:
    return vs("lecun_uniform", CONV1DT_INIT_LECUN_UNIFORM, 1, 0, CONV1DT_DIST_UNIFORM, FI);
  default:
    return vs("lecun_normal", CONV1DT_INIT_LECUN_NORMAL, 1, 0, CONV1DT_DIST_TRUNCATED_NORMAL, FI);
  }
}
#define N_DIST_CASES 21

/* For the named kinds the struct's scale/mode/distribution are not read: vs() put the subclass's
 * values there for the expectations only; reset them to show they are ignored. */
START_TEST(test_distribution) {
  dist_case c = dist_cases(_i);
  if (c.init.kind >= CONV1DT_INIT_GLOROT_UNIFORM) {
    c.init.scale = 123.0;
    c.init.mode = CONV1DT_FAN_OUT;
    c.init.distribution = CONV1DT_DIST_UNTRUNCATED_NORMAL;
  }
  for (int dt = 0; dt < 2; dt++) {
    double *x = draw(&c.init, (conv1dt_dtype)dt, c.ndim, c.shape);
    const size_t n = count_of(c.ndim, c.shape);
    double sum = 0.0, mn = INFINITY, mx = -INFINITY;
    for (size_t i = 0; i < n; i++) sum += x[i], mn = fmin(mn, x[i]), mx = fmax(mx, x[i]);
    const double mean = sum / (double)n;
    double ss = 0.0;
    for (size_t i = 0; i < n; i++) ss += (x[i] - mean) * (x[i] - mean);
    const double var = ss / (double)(n - 1);
    double want_mean, want_var;
    cdf_fn cdf;
    double p[2] = {c.a, c.b};
    /* float32 rounding may move a value by half an ulp of float */
    const double slack = dt == CONV1DT_FLOAT32 ? 0x1.0p-24 * fmax(fabs(c.a), fabs(c.b)) * 4 : 0;
    if (c.d == D_UNIFORM) {
      want_mean = (c.a + c.b) / 2, want_var = (c.b - c.a) * (c.b - c.a) / 12, cdf = cdf_uniform;
      ck_assert_msg(mn >= c.a - slack && mx <= c.b + slack, "%s: range [%g, %g] outside [%g, %g)",
                    c.name, mn, mx, c.a, c.b);
      const double w = c.b - c.a;
      ck_assert_msg(mn < c.a + 1e-3 * w && mx > c.b - 1e-3 * w, "%s: [%g, %g] does not fill",
                    c.name, mn, mx);
    } else if (c.d == D_NORMAL) {
      want_mean = c.a, want_var = c.b * c.b, cdf = cdf_normal;
      ck_assert_msg(mx - c.a > 4 * c.b && c.a - mn > 4 * c.b, "%s: tails [%g, %g] too short",
                    c.name, mn, mx);
    } else {
      want_mean = c.a, want_var = c.b * c.b * TRUNC_SD * TRUNC_SD, cdf = cdf_truncated;
      /* the truncation bound: |x - mean| <= 2 sigma, reached closely */
      ck_assert_msg(mn >= c.a - 2 * c.b - slack && mx <= c.a + 2 * c.b + slack,
                    "%s: [%g, %g] beyond mean +- 2 sd = +-%g", c.name, mn, mx, 2 * c.b);
      ck_assert_msg(mx > c.a + 1.99 * c.b && mn < c.a - 1.99 * c.b, "%s: [%g, %g] short of 2 sd",
                    c.name, mn, mx);
    }
    /* Moments within 5 standard errors. */
    const double se_mean = sqrt(want_var / (double)n);
    ck_assert_msg(fabs(mean - want_mean) < 5 * se_mean, "%s: mean %.6g, want %.6g (se %.3g)",
                  c.name, mean, want_mean, se_mean);
    ck_assert_msg(fabs(var / want_var - 1) < 5 * sqrt(2.0 / (double)n) * 1.5,
                  "%s: variance %.6g, want %.6g", c.name, var, want_var);
    const double d = ks_statistic(x, n, cdf, p), crit = 1.6276 / sqrt((double)n);
    printf("%-30s %s n=%zu mean %+.3e var/want %.5f  KS D = %.6f (1%% critical %.6f)\n", c.name,
           dt ? "f64" : "f32", n, mean, var / want_var, d, crit);
    ck_assert_msg(d < crit, "%s: KS statistic %.6f above the 1%% critical value %.6f", c.name, d,
                  crit);
    free(x);
  }
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* Fans: variance_scaling equals the plain distribution with the scale Keras computes, bit for
 * bit, for every mode and rank. */

START_TEST(test_fans_every_mode) {
  static const struct {
    int ndim;
    int64_t shape[4];
    double fan_in, fan_out;
  } shapes[] = {
      {0, {0}, 1, 1},            /* a scalar: 1, 1 */
      {1, {7}, 7, 7},            /* rank 1: shape[0] both */
      {2, {6, 10}, 6, 10},       /* rank 2: (in, out) */
      {3, {3, 40, 30}, 120, 90}, /* the kernel (K, F, C): F*K, C*K */
      {3, {5, 2, 9}, 10, 45},
      {4, {2, 3, 4, 5}, 24, 30}, /* receptive field 6 */
  };
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    for (int mode = CONV1DT_FAN_IN; mode <= CONV1DT_FAN_AVG; mode++) {
      for (int dist = 0; dist <= CONV1DT_DIST_UNIFORM; dist++) {
        const double scale = 1.7;
        conv1dt_initializer v = seeded(CONV1DT_INIT_VARIANCE_SCALING, 31);
        v.scale = scale, v.mode = (conv1dt_fan_mode)mode,
        v.distribution = (conv1dt_distribution)dist;
        const double fan = mode == CONV1DT_FAN_IN    ? shapes[s].fan_in
                           : mode == CONV1DT_FAN_OUT ? shapes[s].fan_out
                                                     : (shapes[s].fan_in + shapes[s].fan_out) / 2;
        const double denom = fmax(1.0, fan);
        conv1dt_initializer plain;
        if (dist == CONV1DT_DIST_UNIFORM) {
          const double limit = sqrt(3.0 * scale / denom);
          plain = seeded(CONV1DT_INIT_RANDOM_UNIFORM, 31);
          plain.minval = -limit, plain.maxval = limit;
        } else if (dist == CONV1DT_DIST_UNTRUNCATED_NORMAL) {
          plain = seeded(CONV1DT_INIT_RANDOM_NORMAL, 31);
          plain.mean = 0.0, plain.stddev = sqrt(scale / denom);
        } else {
          plain = seeded(CONV1DT_INIT_TRUNCATED_NORMAL, 31);
          plain.mean = 0.0, plain.stddev = sqrt(scale / denom) / TRUNC_SD;
        }
        double *a = draw(&v, CONV1DT_FLOAT64, shapes[s].ndim, shapes[s].shape);
        double *b = draw(&plain, CONV1DT_FLOAT64, shapes[s].ndim, shapes[s].shape);
        ck_assert_msg(memcmp(a, b, count_of(shapes[s].ndim, shapes[s].shape) * sizeof *a) == 0,
                      "shape %zu mode %d distribution %d: fans differ from Keras's", s, mode, dist);
        free(a);
        free(b);
      }
    }
  }
  /* The named kinds are variance_scaling with Keras's fixed arguments. */
  static const struct {
    conv1dt_init_kind kind;
    double scale;
    conv1dt_fan_mode mode;
    conv1dt_distribution dist;
  } named[] = {
      {CONV1DT_INIT_GLOROT_UNIFORM, 1, CONV1DT_FAN_AVG, CONV1DT_DIST_UNIFORM},
      {CONV1DT_INIT_GLOROT_NORMAL, 1, CONV1DT_FAN_AVG, CONV1DT_DIST_TRUNCATED_NORMAL},
      {CONV1DT_INIT_HE_UNIFORM, 2, CONV1DT_FAN_IN, CONV1DT_DIST_UNIFORM},
      {CONV1DT_INIT_HE_NORMAL, 2, CONV1DT_FAN_IN, CONV1DT_DIST_TRUNCATED_NORMAL},
      {CONV1DT_INIT_LECUN_UNIFORM, 1, CONV1DT_FAN_IN, CONV1DT_DIST_UNIFORM},
      {CONV1DT_INIT_LECUN_NORMAL, 1, CONV1DT_FAN_IN, CONV1DT_DIST_TRUNCATED_NORMAL},
  };
  const int64_t shape[3] = {3, 40, 30};
  for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
    conv1dt_initializer a = seeded(named[k].kind, 8), b = seeded(CONV1DT_INIT_VARIANCE_SCALING, 8);
    b.scale = named[k].scale, b.mode = named[k].mode, b.distribution = named[k].dist;
    double *x = draw(&a, CONV1DT_FLOAT64, 3, shape), *y = draw(&b, CONV1DT_FLOAT64, 3, shape);
    ck_assert_msg(memcmp(x, y, 3600 * sizeof *x) == 0, "kind %d != its variance_scaling",
                  (int)named[k].kind);
    free(x);
    free(y);
  }
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* Constant kinds, identity, orthogonal */

START_TEST(test_constant_kinds) {
  const int64_t shape[3] = {2, 3, 4};
  conv1dt_initializer in = conv1dt_initializer_default(CONV1DT_INIT_ZEROS);
  in.value = 9.0; /* not read by zeros */
  double *x = draw(&in, CONV1DT_FLOAT64, 3, shape);
  for (int i = 0; i < 24; i++) ck_assert(x[i] == 0.0);
  free(x);
  in.kind = CONV1DT_INIT_ONES;
  x = draw(&in, CONV1DT_FLOAT64, 3, shape);
  for (int i = 0; i < 24; i++) ck_assert(x[i] == 1.0);
  free(x);
  in.kind = CONV1DT_INIT_CONSTANT;
  in.value = -2.5;
  x = draw(&in, CONV1DT_FLOAT32, 3, shape);
  for (int i = 0; i < 24; i++) ck_assert(x[i] == -2.5);
  free(x);
  /* Empty tensors and scalars. */
  const int64_t empty[2] = {0, 5};
  ck_assert_int_eq(conv1dt_initialize(&in, CONV1DT_FLOAT64, 2, empty, NULL), CONV1DT_OK);
  double scalar = 0;
  ck_assert_int_eq(conv1dt_initialize(&in, CONV1DT_FLOAT64, 0, NULL, &scalar), CONV1DT_OK);
  ck_assert(scalar == -2.5);
}
END_TEST

START_TEST(test_identity) {
  conv1dt_initializer in = conv1dt_initializer_default(CONV1DT_INIT_IDENTITY);
  in.gain = 3.0;
  const int64_t wide[2] = {2, 4}, tall[2] = {4, 3};
  double *x = draw(&in, CONV1DT_FLOAT64, 2, wide);
  const double want_wide[8] = {3, 0, 0, 0, 0, 3, 0, 0};
  ck_assert(memcmp(x, want_wide, sizeof want_wide) == 0);
  free(x);
  x = draw(&in, CONV1DT_FLOAT64, 2, tall);
  const double want_tall[12] = {3, 0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0};
  ck_assert(memcmp(x, want_tall, sizeof want_tall) == 0);
  free(x);
  /* Not 2-D: Keras's error, for the kernel, the bias and any other rank. */
  double out[64];
  const int64_t k3[3] = {3, 4, 2};
  expect_error(conv1dt_initialize(&in, CONV1DT_FLOAT64, 3, k3, out), CONV1DT_ERROR_INVALID_VALUE,
               "Identity matrix initializer can only be used for 2D matrices. Received: "
               "shape=(3, 4, 2) of rank 3.");
  expect_error(conv1dt_initialize(&in, CONV1DT_FLOAT64, 1, k3, out), CONV1DT_ERROR_INVALID_VALUE,
               "shape=(3,) of rank 1.");
  conv1dt_config cfg = conv1dt_config_default(4, 3);
  cfg.kernel_initializer = in;
  conv1dt_layer *layer = NULL;
  expect_error(conv1dt_create(&cfg, 2, CONV1DT_FLOAT32, &layer), CONV1DT_ERROR_INVALID_VALUE,
               "kernel_initializer: Identity matrix initializer can only be used for 2D "
               "matrices. Received: shape=(3, 4, 2) of rank 3.");
  ck_assert_ptr_null(layer);
  cfg.kernel_initializer = conv1dt_initializer_default(CONV1DT_INIT_GLOROT_UNIFORM);
  cfg.bias_initializer = in;
  expect_error(conv1dt_create(&cfg, 2, CONV1DT_FLOAT32, &layer), CONV1DT_ERROR_INVALID_VALUE,
               "bias_initializer: Identity matrix initializer can only be used for 2D matrices. "
               "Received: shape=(4,) of rank 1.");
  /* Without a bias Keras never calls the bias initializer. */
  cfg.use_bias = false;
  ck_assert_int_eq(conv1dt_create(&cfg, 2, CONV1DT_FLOAT32, &layer), CONV1DT_OK);
  conv1dt_destroy(layer);
}
END_TEST

/* W's Gram matrix on its short side is gain^2 I; and with A the normal matrix Keras factors
 * (the same counters: random_normal(0, 1) of shape (max, min) with the same seed), Q^T A is
 * upper triangular with a positive diagonal — the sign-fixed QR. */
static void check_orthogonal(int ndim, const int64_t *shape, double gain, conv1dt_dtype dt) {
  conv1dt_initializer in = seeded(CONV1DT_INIT_ORTHOGONAL, 77);
  in.gain = gain;
  double *w = draw(&in, dt, ndim, shape);
  int64_t rows = 1;
  for (int d = 0; d < ndim - 1; d++) rows *= shape[d];
  const int64_t cols = shape[ndim - 1];
  const int64_t big = rows > cols ? rows : cols, small = rows > cols ? cols : rows;
  /* Q (big x small) = W or W^T */
  double *q = malloc((size_t)(big * small) * sizeof *q);
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++) {
      const double v = w[r * cols + c] / gain;
      if (rows >= cols)
        q[r * cols + c] = v;
      else
        q[c * rows + r] = v;
    }
  const double tol = dt == CONV1DT_FLOAT64 ? 1e-10 : 1e-5;
  double worst = 0.0;
  for (int64_t i = 0; i < small; i++)
    for (int64_t j = 0; j < small; j++) {
      double s = 0.0;
      for (int64_t k = 0; k < big; k++) s += q[k * small + i] * q[k * small + j];
      worst = fmax(worst, fabs(s * gain * gain - (i == j ? gain * gain : 0.0)));
    }
  ck_assert_msg(worst < tol * gain * gain, "rows %lld cols %lld: |gram - gain^2 I| = %g",
                (long long)rows, (long long)cols, worst);
  conv1dt_initializer nrm = seeded(CONV1DT_INIT_RANDOM_NORMAL, 77);
  nrm.mean = 0.0, nrm.stddev = 1.0;
  const int64_t ashape[2] = {big, small};
  double *a = draw(&nrm, CONV1DT_FLOAT64, 2, ashape);
  for (int64_t i = 0; i < small; i++)
    for (int64_t j = 0; j < small; j++) {
      double r = 0.0;
      for (int64_t k = 0; k < big; k++) r += q[k * small + i] * a[k * small + j];
      if (i > j)
        ck_assert_msg(fabs(r) < tol * 10 * sqrt((double)big), "R[%lld][%lld] = %g below diagonal",
                      (long long)i, (long long)j, r);
      if (i == j)
        ck_assert_msg(r > 0, "R[%lld][%lld] = %g not positive", (long long)i, (long long)i, r);
    }
  if (dt == CONV1DT_FLOAT64)
    printf("orthogonal rows %lld x cols %lld gain %g: max |W'W - gain^2 I| = %.3g\n",
           (long long)rows, (long long)cols, gain, worst);
  free(a);
  free(q);
  free(w);
}

START_TEST(test_orthogonal) {
  const int64_t tall[3] = {3, 4, 2}, wide[3] = {2, 3, 50}, square[3] = {2, 4, 8};
  const int64_t big_tall[3] = {5, 60, 33}, mat[2] = {17, 17}, row[2] = {1, 9}, col[2] = {9, 1};
  for (int dt = 0; dt < 2; dt++) {
    check_orthogonal(3, tall, 1.0, (conv1dt_dtype)dt);
    check_orthogonal(3, wide, 2.5, (conv1dt_dtype)dt);
    check_orthogonal(3, square, 1.0, (conv1dt_dtype)dt);
    check_orthogonal(3, big_tall, 0.5, (conv1dt_dtype)dt);
    check_orthogonal(2, mat, 1.0, (conv1dt_dtype)dt);
    check_orthogonal(2, row, 1.0, (conv1dt_dtype)dt);
    check_orthogonal(2, col, 1.0, (conv1dt_dtype)dt);
  }
  /* Rank < 2: Keras's error. */
  conv1dt_initializer in = conv1dt_initializer_default(CONV1DT_INIT_ORTHOGONAL);
  double out[8];
  const int64_t v[1] = {8};
  expect_error(conv1dt_initialize(&in, CONV1DT_FLOAT64, 1, v, out), CONV1DT_ERROR_INVALID_VALUE,
               "The tensor to initialize must be at least two-dimensional. Received: shape=(8,) "
               "of rank 1.");
  expect_error(conv1dt_initialize(&in, CONV1DT_FLOAT64, 0, NULL, out), CONV1DT_ERROR_INVALID_VALUE,
               "shape=() of rank 0.");
  /* As a layer's kernel: (K*F) x C, and refused for the bias. */
  conv1dt_config cfg = conv1dt_config_default(6, 2);
  cfg.kernel_initializer = in;
  cfg.seed = 77;
  conv1dt_layer *layer = NULL;
  ck_assert_int_eq(conv1dt_create(&cfg, 5, CONV1DT_FLOAT64, &layer), CONV1DT_OK);
  double k[60], *want;
  const int64_t kshape[3] = {2, 6, 5};
  in.seed = 77;
  want = draw(&in, CONV1DT_FLOAT64, 3, kshape);
  ck_assert_int_eq(conv1dt_get_weights(layer, k, NULL), CONV1DT_OK);
  ck_assert(memcmp(k, want, sizeof k) == 0);
  free(want);
  conv1dt_destroy(layer);
  cfg.bias_initializer = in;
  expect_error(conv1dt_create(&cfg, 5, CONV1DT_FLOAT64, &layer), CONV1DT_ERROR_INVALID_VALUE,
               "bias_initializer: The tensor to initialize must be at least two-dimensional");
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* Defaults and names */

START_TEST(test_keras_defaults) {
  for (int kind = CONV1DT_INIT_ZEROS; kind <= CONV1DT_INIT_IDENTITY; kind++) {
    const conv1dt_initializer in = conv1dt_initializer_default((conv1dt_init_kind)kind);
    ck_assert_int_eq(in.kind, kind);
    ck_assert(in.value == 0.0);                         /* Constant(value=0.0) */
    ck_assert(in.minval == -0.05 && in.maxval == 0.05); /* RandomUniform */
    ck_assert(in.mean == 0.0 && in.stddev == 0.05);     /* RandomNormal, TruncatedNormal */
    ck_assert(in.scale == 1.0 && in.mode == CONV1DT_FAN_IN &&
              in.distribution == CONV1DT_DIST_TRUNCATED_NORMAL); /* VarianceScaling */
    ck_assert(in.gain == 1.0);                                   /* Orthogonal, Identity */
    ck_assert(!in.has_seed && in.seed == 0);
  }
  const conv1dt_config cfg = conv1dt_config_default(4, 3);
  ck_assert_int_eq(cfg.kernel_initializer.kind, CONV1DT_INIT_GLOROT_UNIFORM);
  ck_assert_int_eq(cfg.bias_initializer.kind, CONV1DT_INIT_ZEROS);
  ck_assert(cfg.kernel_initializer.minval == -0.05 && cfg.bias_initializer.stddev == 0.05);
  const conv1dt_regularizer *regs[3] = {&cfg.kernel_regularizer, &cfg.bias_regularizer,
                                        &cfg.activity_regularizer};
  for (int r = 0; r < 3; r++) {
    ck_assert_int_eq(regs[r]->kind, CONV1DT_REG_NONE);
    ck_assert(regs[r]->l1 == 0.01 && regs[r]->l2 == 0.01 && regs[r]->factor == 0.01 &&
              !regs[r]->mode_columns);
  }
  const conv1dt_constraint *cons[2] = {&cfg.kernel_constraint, &cfg.bias_constraint};
  for (int c = 0; c < 2; c++) {
    ck_assert_int_eq(cons[c]->kind, CONV1DT_CONSTRAINT_NONE);
    ck_assert(cons[c]->max_value == 2.0 && cons[c]->min_value == 0.0 && cons[c]->rate == 1.0);
    ck_assert(cons[c]->num_axes == 1 && cons[c]->axes[0] == 0);
  }
}
END_TEST

static bool same_init(const conv1dt_initializer *a, conv1dt_init_kind kind) {
  const conv1dt_initializer b = conv1dt_initializer_default(kind);
  return a->kind == b.kind && a->value == b.value && a->minval == b.minval &&
         a->maxval == b.maxval && a->mean == b.mean && a->stddev == b.stddev &&
         a->scale == b.scale && a->mode == b.mode && a->distribution == b.distribution &&
         a->gain == b.gain && a->seed == b.seed && a->has_seed == b.has_seed;
}

START_TEST(test_names) {
  static const struct {
    const char *name;
    conv1dt_init_kind kind;
  } names[] = {
      {"zeros", CONV1DT_INIT_ZEROS},
      {"Zeros", CONV1DT_INIT_ZEROS},
      {"zero", CONV1DT_INIT_ZEROS},
      {"ones", CONV1DT_INIT_ONES},
      {"Ones", CONV1DT_INIT_ONES},
      {"one", CONV1DT_INIT_ONES},
      {"constant", CONV1DT_INIT_CONSTANT},
      {"Constant", CONV1DT_INIT_CONSTANT},
      {"random_uniform", CONV1DT_INIT_RANDOM_UNIFORM},
      {"RandomUniform", CONV1DT_INIT_RANDOM_UNIFORM},
      {"uniform", CONV1DT_INIT_RANDOM_UNIFORM},
      {"random_normal", CONV1DT_INIT_RANDOM_NORMAL},
      {"RandomNormal", CONV1DT_INIT_RANDOM_NORMAL},
      {"normal", CONV1DT_INIT_RANDOM_NORMAL},
      {"truncated_normal", CONV1DT_INIT_TRUNCATED_NORMAL},
      {"TruncatedNormal", CONV1DT_INIT_TRUNCATED_NORMAL},
      {"variance_scaling", CONV1DT_INIT_VARIANCE_SCALING},
      {"VarianceScaling", CONV1DT_INIT_VARIANCE_SCALING},
      {"glorot_uniform", CONV1DT_INIT_GLOROT_UNIFORM},
      {"GlorotUniform", CONV1DT_INIT_GLOROT_UNIFORM},
      {"glorot_normal", CONV1DT_INIT_GLOROT_NORMAL},
      {"GlorotNormal", CONV1DT_INIT_GLOROT_NORMAL},
      {"he_uniform", CONV1DT_INIT_HE_UNIFORM},
      {"HeUniform", CONV1DT_INIT_HE_UNIFORM},
      {"he_normal", CONV1DT_INIT_HE_NORMAL},
      {"HeNormal", CONV1DT_INIT_HE_NORMAL},
      {"lecun_uniform", CONV1DT_INIT_LECUN_UNIFORM},
      {"LecunUniform", CONV1DT_INIT_LECUN_UNIFORM},
      {"lecun_normal", CONV1DT_INIT_LECUN_NORMAL},
      {"LecunNormal", CONV1DT_INIT_LECUN_NORMAL},
      {"orthogonal", CONV1DT_INIT_ORTHOGONAL},
      {"Orthogonal", CONV1DT_INIT_ORTHOGONAL},
      {"OrthogonalInitializer", CONV1DT_INIT_ORTHOGONAL},
      {"identity", CONV1DT_INIT_IDENTITY},
      {"Identity", CONV1DT_INIT_IDENTITY},
      {"IdentityInitializer", CONV1DT_INIT_IDENTITY},
  };
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    conv1dt_initializer in;
    memset(&in, 0xAB, sizeof in);
    ck_assert_msg(conv1dt_initializer_from_name(names[i].name, &in) == CONV1DT_OK, "%s: %s",
                  names[i].name, conv1dt_last_error());
    ck_assert_msg(same_init(&in, names[i].kind), "%s: not the defaults", names[i].name);
  }
  conv1dt_initializer in = conv1dt_initializer_default(CONV1DT_INIT_ONES), keep = in;
  static const char *const bad[] = {
      "GLOROT_UNIFORM", "Glorot_Uniform", "glorotuniform", "xavier", "",
      " zeros",         "initializer",    "Initializer"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    expect_error(conv1dt_initializer_from_name(bad[i], &in), CONV1DT_ERROR_UNKNOWN_NAME,
                 "Could not interpret initializer identifier");
    ck_assert(same_init(&in, keep.kind));
  }
  expect_error(conv1dt_initializer_from_name("STFT", &in), CONV1DT_ERROR_UNSUPPORTED, "STFT");
  expect_error(conv1dt_initializer_from_name("stft", &in), CONV1DT_ERROR_UNSUPPORTED, "stft");
  expect_error(conv1dt_initializer_from_name("STFTInitializer", &in), CONV1DT_ERROR_UNSUPPORTED,
               NULL);
  expect_error(conv1dt_initializer_from_name(NULL, &in), CONV1DT_ERROR_NULL_ARGUMENT, "name");
  expect_error(conv1dt_initializer_from_name("zeros", NULL), CONV1DT_ERROR_NULL_ARGUMENT, "out");
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* Validation */

START_TEST(test_validation_errors) {
  double out[64];
  const int64_t shape[2] = {4, 4};
  conv1dt_initializer in;
#define EXPECT_INIT(field_setup, needle)                                                           \
  do {                                                                                             \
    field_setup;                                                                                   \
    expect_error(conv1dt_initialize(&in, CONV1DT_FLOAT64, 2, shape, out),                          \
                 CONV1DT_ERROR_INVALID_VALUE, needle);                                             \
  } while (0)
  in = conv1dt_initializer_default(CONV1DT_INIT_VARIANCE_SCALING);
  EXPECT_INIT(in.scale = 0.0, "Argument `scale` must be positive float. Received: scale=0");
  EXPECT_INIT(in.scale = -2.0, "scale=-2");
  EXPECT_INIT(in.scale = NAN, "scale=nan");
  EXPECT_INIT(in.scale = INFINITY, "scale=inf");
  in.scale = 1.0;
  EXPECT_INIT(in.mode = (conv1dt_fan_mode)3, "Invalid `mode` argument: 3");
  in.mode = CONV1DT_FAN_IN;
  EXPECT_INIT(in.distribution = (conv1dt_distribution)-1, "Invalid `distribution` argument: -1");
  in = conv1dt_initializer_default(CONV1DT_INIT_RANDOM_UNIFORM);
  EXPECT_INIT(in.minval = 1.0, "minval=1, maxval=0.05");
  EXPECT_INIT((in.minval = -1.0, in.maxval = NAN), "maxval=nan");
  in = conv1dt_initializer_default(CONV1DT_INIT_RANDOM_NORMAL);
  EXPECT_INIT(in.stddev = -0.1, "`stddev`. Received: stddev=-0.10000000000000001");
  EXPECT_INIT((in.stddev = 1, in.mean = INFINITY), "mean=inf");
  in = conv1dt_initializer_default(CONV1DT_INIT_TRUNCATED_NORMAL);
  EXPECT_INIT(in.stddev = NAN, "truncated_normal needs a finite, non-negative `stddev`");
  in = conv1dt_initializer_default(CONV1DT_INIT_ORTHOGONAL);
  EXPECT_INIT(in.gain = INFINITY, "orthogonal needs a finite `gain`. Received: gain=inf");
  in = conv1dt_initializer_default(CONV1DT_INIT_IDENTITY);
  EXPECT_INIT(in.gain = NAN, "identity needs a finite `gain`");
  EXPECT_INIT(in.kind = (conv1dt_init_kind)15, "unknown initializer kind 15");
  EXPECT_INIT(in.kind = (conv1dt_init_kind)-1, "unknown initializer kind -1");
#undef EXPECT_INIT
  /* Fields of other kinds are not read; a zero stddev is a constant mean. */
  in = conv1dt_initializer_default(CONV1DT_INIT_GLOROT_UNIFORM);
  in.scale = -1.0, in.minval = 5.0, in.stddev = -1.0, in.gain = NAN;
  ck_assert_int_eq(conv1dt_initialize(&in, CONV1DT_FLOAT64, 2, shape, out), CONV1DT_OK);
  in = conv1dt_initializer_default(CONV1DT_INIT_RANDOM_NORMAL);
  in.mean = 4.0, in.stddev = 0.0;
  ck_assert_int_eq(conv1dt_initialize(&in, CONV1DT_FLOAT64, 2, shape, out), CONV1DT_OK);
  for (int i = 0; i < 16; i++) ck_assert(out[i] == 4.0);
  in = conv1dt_initializer_default(CONV1DT_INIT_RANDOM_UNIFORM);
  in.minval = in.maxval = 3.0;
  ck_assert_int_eq(conv1dt_initialize(&in, CONV1DT_FLOAT64, 2, shape, out), CONV1DT_OK);
  ck_assert(out[7] == 3.0);

  /* Arguments. */
  in = conv1dt_initializer_default(CONV1DT_INIT_ONES);
  memset(out, 0, sizeof out);
  expect_error(conv1dt_initialize(NULL, CONV1DT_FLOAT64, 2, shape, out),
               CONV1DT_ERROR_NULL_ARGUMENT, "init");
  expect_error(conv1dt_initialize(&in, CONV1DT_FLOAT64, 2, shape, NULL),
               CONV1DT_ERROR_NULL_ARGUMENT, "out");
  expect_error(conv1dt_initialize(&in, CONV1DT_FLOAT64, 2, NULL, out), CONV1DT_ERROR_NULL_ARGUMENT,
               "shape");
  expect_error(conv1dt_initialize(&in, (conv1dt_dtype)2, 2, shape, out),
               CONV1DT_ERROR_INVALID_VALUE, "dtype=2");
  expect_error(conv1dt_initialize(&in, CONV1DT_FLOAT64, -1, shape, out),
               CONV1DT_ERROR_INVALID_VALUE, "ndim=-1");
  const int64_t negative[2] = {3, -2}, huge[3] = {INT64_C(1) << 40, INT64_C(1) << 40, 2};
  expect_error(conv1dt_initialize(&in, CONV1DT_FLOAT64, 2, negative, out),
               CONV1DT_ERROR_INVALID_VALUE, "shape[1]=-2");
  expect_error(conv1dt_initialize(&in, CONV1DT_FLOAT64, 3, huge, out), CONV1DT_ERROR_SIZE_OVERFLOW,
               "shape=(1099511627776, 1099511627776, 2)");
  for (int i = 0; i < 64; i++) ck_assert_msg(out[i] == 0.0, "out written on failure");

  /* Through conv1dt_create: the argument names the initializer; nothing is created. */
  conv1dt_config cfg = conv1dt_config_default(4, 3);
  cfg.kernel_initializer = conv1dt_initializer_default(CONV1DT_INIT_VARIANCE_SCALING);
  cfg.kernel_initializer.scale = -1;
  conv1dt_layer *layer = NULL;
  expect_error(conv1dt_create(&cfg, 2, CONV1DT_FLOAT64, &layer), CONV1DT_ERROR_INVALID_VALUE,
               "kernel_initializer: Argument `scale` must be positive float. Received: scale=-1");
  ck_assert_ptr_null(layer);
  cfg = conv1dt_config_default(4, 3);
  cfg.bias_initializer = conv1dt_initializer_default(CONV1DT_INIT_RANDOM_UNIFORM);
  cfg.bias_initializer.maxval = -1;
  cfg.use_bias = false; /* parameters are checked even when the bias does not exist */
  expect_error(conv1dt_create(&cfg, 2, CONV1DT_FLOAT64, &layer), CONV1DT_ERROR_INVALID_VALUE,
               "bias_initializer: random_uniform needs finite `minval` <= `maxval`");
  ck_assert_ptr_null(layer);
}
END_TEST

/* Bias initializers through the layer, in both dtypes. */
START_TEST(test_layer_bias_initializers) {
  for (int dt = 0; dt < 2; dt++) {
    conv1dt_config cfg = conv1dt_config_default(300, 1);
    cfg.bias_initializer = conv1dt_initializer_default(CONV1DT_INIT_CONSTANT);
    cfg.bias_initializer.value = 0.25;
    conv1dt_layer *layer = NULL;
    ck_assert_int_eq(conv1dt_create(&cfg, 1, (conv1dt_dtype)dt, &layer), CONV1DT_OK);
    double b[300];
    float bf[300];
    ck_assert_int_eq(conv1dt_get_weights(layer, NULL, dt ? (void *)b : (void *)bf), CONV1DT_OK);
    for (int i = 0; i < 300; i++) ck_assert(dt ? b[i] == 0.25 : bf[i] == 0.25f);
    conv1dt_destroy(layer);
    /* he_uniform on (F,): fan_in = F. */
    cfg.bias_initializer = conv1dt_initializer_default(CONV1DT_INIT_HE_UNIFORM);
    ck_assert_int_eq(conv1dt_create(&cfg, 1, (conv1dt_dtype)dt, &layer), CONV1DT_OK);
    ck_assert_int_eq(conv1dt_get_weights(layer, NULL, dt ? (void *)b : (void *)bf), CONV1DT_OK);
    const double limit = sqrt(6.0 / 300.0);
    double mx = 0;
    /* float32 widened into b first: a max reading either array crashes GCC 12 for aarch64
     * (internal compiler error in vect_transform_reduction) */
    if (!dt)
      for (int i = 0; i < 300; i++) b[i] = bf[i];
    for (int i = 0; i < 300; i++) mx = fmax(mx, fabs(b[i]));
    ck_assert_msg(mx <= limit * (1 + 1e-6) && mx > 0.9 * limit, "max |b| %g, limit %g", mx, limit);
    conv1dt_destroy(layer);
  }
}
END_TEST

static Suite *init_suite(void) {
  Suite *s = suite_create("init");
  TCase *tc = tcase_create("generator");
  tcase_add_test(tc, test_philox_known_answers);
  tcase_add_test(tc, test_default_kernel_formula);
  tcase_add_test(tc, test_generator_reproduced);
  tcase_add_test(tc, test_float32_is_rounded_float64);
  tcase_add_test(tc, test_reproducible_and_streams);
  suite_add_tcase(s, tc);

  tc = tcase_create("distributions");
  tcase_set_timeout(tc, 120);
  tcase_add_loop_test(tc, test_distribution, 0, N_DIST_CASES);
  tcase_add_test(tc, test_fans_every_mode);
  suite_add_tcase(s, tc);

  tc = tcase_create("kinds");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_constant_kinds);
  tcase_add_test(tc, test_identity);
  tcase_add_test(tc, test_orthogonal);
  tcase_add_test(tc, test_keras_defaults);
  tcase_add_test(tc, test_names);
  tcase_add_test(tc, test_validation_errors);
  tcase_add_test(tc, test_layer_bias_initializers);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return run_suite(init_suite());
}
