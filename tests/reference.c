/*
 * Independent naive reference for Conv1DTranspose; see reference.h. Written from
 * docs/SEMANTICS.md only: no GEMM, no col2im, no code shared with src/.
 *
 * Tolerances (why they are what they are)
 * ---------------------------------------
 * Pre-activation. Every output element is z = sum of at most C*K products x*w (the GEMM's dot
 * products over C, then at most K overlap-add accumulations of those) plus the bias. Whatever
 * order a library sums in, its float computation of a sum of n terms t_i lies within
 * gamma_n * sum|t_i| of the exact sum, gamma_n = n*u/(1-n*u), u the unit roundoff of the dtype
 * (2^-24 for float32, 2^-53 for float64) — the standard a-priori bound for summation and dot
 * products (Higham, "Accuracy and Stability of Numerical Algorithms", ch. 3). We take
 * n = C*K + K + 2, which bounds the number of roundings on any path, and compute the exact value
 * and S = sum|t_i| in long double (64-bit mantissa on x86-64, so the reference's own error is
 * negligible against the float64 bound). err(z) = gamma_n * S.
 *
 * Post-activation. For an element-wise f, |f(z + e) - f(z)| <= Lip(f) * e with Lip the largest
 * slope of f (1 for most, 1.76 for selu, 1.5 for hard_silu, ~1.13 for gelu, ~1.1 for silu/mish,
 * e^z for exponential), plus the library's own evaluation of f in its dtype: a few ulps of the
 * result (16 u |y|), and for the formulas Keras writes with an additive cancellation (x - tanh x,
 * (x + sqrt(x^2+4))/2, 1 + erf(x/sqrt 2), x/6 + 1/2, (x+1)/2, ...) up to u |z| absolutely
 * (16 u |z|). Results below the smallest normal number may lose all relative accuracy, hence an
 * absolute floor of 4 * FLT_MIN / DBL_MIN. hard_shrink jumps by 0.5 at |z| = 0.5: within err of
 * that breakpoint either side is accepted. For the axis-wise activations the row's largest err
 * Emax enters through their (infinity-norm) Lipschitz bounds: softmax |dp_i| <= 2 p_i Emax,
 * log_softmax and sparsemax (a projection) <= 2 Emax, glu a*sigmoid(b) <= Ea + |a| Eb / 4; plus the
 * summation over the row (2 n u) in their evaluation.
 */
#include "reference.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ RNG (splitmix64) */

void ref_rng_seed(ref_rng *rng, uint64_t seed) {
  rng->state = seed;
}

uint64_t ref_rng_next(ref_rng *rng) {
  uint64_t z = (rng->state += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}

double ref_rng_uniform(ref_rng *rng, double lo, double hi) {
  double unit = (double)(ref_rng_next(rng) >> 11) * 0x1.0p-53; /* [0, 1) */
  return lo + (hi - lo) * unit;
}

int64_t ref_rng_int(ref_rng *rng, int64_t lo, int64_t hi) {
  uint64_t span = (uint64_t)(hi - lo) + 1u;
  return lo + (int64_t)(ref_rng_next(rng) % span);
}

/* ------------------------------------------------------------------ dtype helpers */

size_t ref_dtype_size(conv1dt_dtype dtype) {
  return dtype == CONV1DT_FLOAT32 ? sizeof(float) : sizeof(double);
}

double ref_unit_roundoff(conv1dt_dtype dtype) {
  return dtype == CONV1DT_FLOAT32 ? 0x1.0p-24 : 0x1.0p-53;
}

static double min_normal(conv1dt_dtype dtype) {
  return dtype == CONV1DT_FLOAT32 ? (double)FLT_MIN : DBL_MIN;
}

double *ref_to_double(conv1dt_dtype dtype, const void *src, size_t n) {
  double *out = malloc((n ? n : 1) * sizeof *out);
  if (!out) return NULL;
  for (size_t i = 0; i < n; ++i)
    out[i] = dtype == CONV1DT_FLOAT32 ? (double)((const float *)src)[i] : ((const double *)src)[i];
  return out;
}

void ref_from_double(conv1dt_dtype dtype, const double *src, void *dst, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (dtype == CONV1DT_FLOAT32)
      ((float *)dst)[i] = (float)src[i];
    else
      ((double *)dst)[i] = src[i];
  }
}

void *ref_random_array(ref_rng *rng, conv1dt_dtype dtype, size_t n, double lo, double hi,
                       bool integers, double **as_double) {
  size_t count = n ? n : 1;
  void *data = malloc(count * ref_dtype_size(dtype));
  double *dbl = malloc(count * sizeof *dbl);
  if (!data || !dbl) {
    free(data);
    free(dbl);
    *as_double = NULL;
    return NULL;
  }
  for (size_t i = 0; i < n; ++i) {
    double v = integers ? (double)ref_rng_int(rng, (int64_t)lo, (int64_t)hi)
                        : ref_rng_uniform(rng, lo, hi);
    if (dtype == CONV1DT_FLOAT32) v = (double)(float)v; /* the value the library will see */
    dbl[i] = v;
  }
  ref_from_double(dtype, dbl, data, n);
  *as_double = dbl;
  return data;
}

#define REF_SENTINEL (-12345.6875) /* exact in both dtypes */

void ref_fill_sentinel(conv1dt_dtype dtype, void *dst, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    if (dtype == CONV1DT_FLOAT32)
      ((float *)dst)[i] = (float)REF_SENTINEL;
    else
      ((double *)dst)[i] = REF_SENTINEL;
  }
}

bool ref_is_sentinel(conv1dt_dtype dtype, const void *dst, size_t n) {
  const float fs = (float)REF_SENTINEL;
  const double ds = REF_SENTINEL;
  for (size_t i = 0; i < n; ++i) {
    if (dtype == CONV1DT_FLOAT32) {
      if (memcmp((const float *)dst + i, &fs, sizeof fs) != 0) return false;
    } else {
      if (memcmp((const double *)dst + i, &ds, sizeof ds) != 0) return false;
    }
  }
  return true;
}

/* ------------------------------------------------------------------ geometry */

static int64_t max64(int64_t a, int64_t b) {
  return a > b ? a : b;
}
static int64_t min64(int64_t a, int64_t b) {
  return a < b ? a : b;
}

static bool config_valid(const conv1dt_config *cfg) {
  if (cfg->filters <= 0 || cfg->kernel_size < 1 || cfg->strides < 1 || cfg->dilation_rate < 1)
    return false;
  if (cfg->output_padding < -1 || cfg->output_padding >= cfg->strides) return false;
  if (cfg->strides > 1 && cfg->dilation_rate > 1) return false;
  if (cfg->padding != CONV1DT_PADDING_VALID && cfg->padding != CONV1DT_PADDING_SAME) return false;
  if (cfg->data_format != CONV1DT_CHANNELS_LAST && cfg->data_format != CONV1DT_CHANNELS_FIRST)
    return false;
  return true;
}

bool ref_geometry_of(const conv1dt_config *cfg, int64_t steps, ref_geometry *g) {
  if (!config_valid(cfg) || steps < 1) return false;
  const int64_t s = cfg->strides, op = cfg->output_padding;
  const int64_t keff = (cfg->kernel_size - 1) * cfg->dilation_rate + 1;
  int64_t left_pad, right_pad;
  if (cfg->padding == CONV1DT_PADDING_VALID) {
    int64_t op_eff = op >= 0 ? op : max64(keff, s) - keff;
    left_pad = keff - 1;
    right_pad = keff - 1 + op_eff;
  } else {
    int64_t pad_len = op < 0 ? s + keff - 2 : keff + keff % 2 - 2 + op;
    left_pad = min64((pad_len + 1) / 2, keff - 1); /* ceil(pad_len / 2), pad_len >= 0 */
    right_pad = pad_len - left_pad;
  }
  g->keff = keff;
  g->full_len = (steps - 1) * s + keff;
  g->left_pad = left_pad;
  g->right_pad = right_pad;
  g->crop_left = keff - 1 - left_pad;
  g->crop_right = keff - 1 - right_pad;
  g->out_len = g->full_len - g->crop_left - g->crop_right;
  return true;
}

int64_t ref_output_length_formula(const conv1dt_config *cfg, int64_t steps) {
  const int64_t s = cfg->strides, op = cfg->output_padding;
  const int64_t keff = (cfg->kernel_size - 1) * cfg->dilation_rate + 1;
  if (cfg->padding == CONV1DT_PADDING_VALID)
    return op < 0 ? (steps - 1) * s + max64(keff, s) : (steps - 1) * s + keff + op;
  return op < 0 ? steps * s : (steps - 1) * s + keff % 2 + op;
}

/* ------------------------------------------------------------------ activations */

static const char *const activation_names[][2] = {
    {"linear", "linear"},
    {"relu", "relu"},
    {"leaky_relu", "leaky_relu"},
    {"relu6", "relu6"},
    {"elu", "elu"},
    {"selu", "selu"},
    {"celu", "celu"},
    {"softplus", "softplus"},
    {"softsign", "softsign"},
    {"squareplus", "squareplus"},
    {"soft_shrink", "soft_shrink"},
    {"hard_shrink", "hard_shrink"},
    {"sparse_plus", "sparse_plus"},
    {"sigmoid", "sigmoid"},
    {"sparse_sigmoid", "sparse_sigmoid"},
    {"hard_sigmoid", "hard_sigmoid"},
    {"silu", "silu"},
    {"swish", "silu"},
    {"hard_silu", "hard_silu"},
    {"hard_swish", "hard_silu"},
    {"gelu", "gelu"},
    {"tanh", "tanh"},
    {"tanh_shrink", "tanh_shrink"},
    {"hard_tanh", "hard_tanh"},
    {"exponential", "exponential"},
    {"mish", "mish"},
    {"log_sigmoid", "log_sigmoid"},
    {"softmax", "softmax"},
    {"log_softmax", "log_softmax"},
    {"sparsemax", "sparsemax"},
    {"glu", "glu"},
};

const char *ref_activation_canonical(const char *name) {
  if (!name) return "linear";
  for (size_t i = 0; i < sizeof activation_names / sizeof activation_names[0]; ++i)
    if (strcmp(name, activation_names[i][0]) == 0) return activation_names[i][1];
  return NULL;
}

bool ref_activation_is_axiswise(const char *c) {
  return strcmp(c, "softmax") == 0 || strcmp(c, "log_softmax") == 0 ||
         strcmp(c, "sparsemax") == 0 || strcmp(c, "glu") == 0;
}

static const double SELU_ALPHA = 1.6732632423543772848170429916717;
static const double SELU_SCALE = 1.0507009873554804934193349852946;

static double softplus(double x) {
  return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
}
static double sigmoid(double x) {
  if (x >= 0) return 1.0 / (1.0 + exp(-x));
  double e = exp(x);
  return e / (1.0 + e);
}
static double hard_sigmoid(double x) {
  return fmin(fmax(x / 6.0 + 0.5, 0.0), 1.0);
}

static bool is(const char *a, const char *b) {
  return strcmp(a, b) == 0;
}

double ref_activation_scalar(const char *c, double x) {
  if (is(c, "linear")) return x;
  if (is(c, "relu")) return x > 0 ? x : 0.0;
  if (is(c, "leaky_relu")) return x >= 0 ? x : 0.2 * x;
  if (is(c, "relu6")) return x <= 0 ? 0.0 : x >= 6 ? 6.0 : x;
  if (is(c, "elu")) return x > 0 ? x : expm1(x);
  if (is(c, "selu")) return x > 0 ? SELU_SCALE * x : SELU_SCALE * SELU_ALPHA * expm1(x);
  if (is(c, "celu")) return fmax(x, 0.0) + expm1(fmin(x, 0.0));
  if (is(c, "softplus")) return softplus(x);
  if (is(c, "softsign")) return x / (1.0 + fabs(x));
  if (is(c, "squareplus")) /* (x + sqrt(x^2+4))/2, rewritten to avoid cancellation and overflow */
    return x >= 0 ? (x + hypot(x, 2.0)) / 2.0 : 2.0 / (hypot(x, 2.0) - x);
  if (is(c, "soft_shrink")) return x > 0.5 ? x - 0.5 : x < -0.5 ? x + 0.5 : 0.0;
  if (is(c, "hard_shrink")) return (x > 0.5 || x < -0.5) ? x : 0.0;
  if (is(c, "sparse_plus")) return x <= -1 ? 0.0 : x < 1 ? (x + 1) * (x + 1) / 4.0 : x;
  if (is(c, "sigmoid")) return sigmoid(x);
  if (is(c, "sparse_sigmoid")) return x <= -1 ? 0.0 : x >= 1 ? 1.0 : (x + 1) / 2.0;
  if (is(c, "hard_sigmoid")) return hard_sigmoid(x);
  if (is(c, "silu")) return x * sigmoid(x);
  if (is(c, "hard_silu")) return x * hard_sigmoid(x);
  if (is(c, "gelu")) /* 0.5 x (1 + erf(x/sqrt2)); erfc form for x < 0 avoids cancellation */
    return x >= 0 ? 0.5 * x * (1.0 + erf(x / sqrt(2.0))) : 0.5 * x * erfc(-x / sqrt(2.0));
  if (is(c, "tanh")) return tanh(x);
  if (is(c, "tanh_shrink")) return (double)((long double)x - tanhl((long double)x));
  if (is(c, "hard_tanh")) return x <= -1 ? -1.0 : x >= 1 ? 1.0 : x;
  if (is(c, "exponential")) return exp(x);
  if (is(c, "mish")) return x * tanh(softplus(x));
  if (is(c, "log_sigmoid")) return -softplus(-x);
  return NAN; /* not an element-wise activation */
}

static double lipschitz(const char *c, double y) {
  if (is(c, "exponential")) return 2.0 * fabs(y);
  if (is(c, "selu")) return 1.76;
  if (is(c, "hard_silu")) return 1.5;
  if (is(c, "gelu")) return 1.2;
  if (is(c, "silu") || is(c, "mish")) return 1.1;
  return 1.0;
}

static bool cancels(const char *c) {
  return is(c, "tanh_shrink") || is(c, "soft_shrink") || is(c, "squareplus") || is(c, "gelu") ||
         is(c, "sparse_plus") || is(c, "sparse_sigmoid") || is(c, "hard_sigmoid") ||
         is(c, "hard_silu") || is(c, "celu") || is(c, "selu") || is(c, "elu");
}

double ref_activation_tolerance(const char *c, conv1dt_dtype dtype, double z, double err,
                                double y) {
  const double u = ref_unit_roundoff(dtype);
  double tol = lipschitz(c, y) * err + 16.0 * u * fabs(y) + 4.0 * min_normal(dtype);
  if (cancels(c)) tol += 16.0 * u * fabs(z);
  if (is(c, "hard_shrink") && fabs(fabs(z) - 0.5) <= err) tol += 0.5 + err;
  return tol;
}

static int cmp_desc(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x < y) - (x > y);
}

void ref_sparsemax_row(const double *z, size_t n, double *out) {
  double *sorted = malloc(n * sizeof *sorted);
  if (!sorted) abort();
  memcpy(sorted, z, n * sizeof *sorted);
  qsort(sorted, n, sizeof *sorted, cmp_desc);
  /* support size k: the largest k with 1 + k z_(k) > sum_{j<=k} z_(j) */
  long double cum = 0, cum_k = 0;
  size_t k = 0;
  for (size_t j = 0; j < n; ++j) {
    cum += sorted[j];
    if (1.0L + (long double)(j + 1) * sorted[j] > cum) {
      k = j + 1;
      cum_k = cum;
    }
  }
  long double tau = (cum_k - 1.0L) / (long double)k;
  for (size_t i = 0; i < n; ++i) {
    long double v = (long double)z[i] - tau;
    out[i] = v > 0 ? (double)v : 0.0;
  }
  free(sorted);
}

void ref_activation_rows(const char *c, conv1dt_dtype dtype, size_t rows, size_t len,
                         const double *z, const double *err, double *y, double *tol) {
  const double u = ref_unit_roundoff(dtype), floor_abs = 4.0 * min_normal(dtype);
  const double n = (double)len;
  if (!ref_activation_is_axiswise(c)) {
    for (size_t i = 0; i < rows * len; ++i) {
      y[i] = ref_activation_scalar(c, z[i]);
      if (tol) tol[i] = ref_activation_tolerance(c, dtype, z[i], err ? err[i] : 0.0, y[i]);
    }
    return;
  }
  for (size_t r = 0; r < rows; ++r) {
    const double *zr = z + r * len;
    const double *er = err ? err + r * len : NULL;
    double emax = 0, m = -INFINITY, zabs = 0;
    for (size_t j = 0; j < len; ++j) {
      if (er && er[j] > emax) emax = er[j];
      if (zr[j] > m) m = zr[j];
      if (fabs(zr[j]) > zabs) zabs = fabs(zr[j]);
    }
    if (is(c, "glu")) {
      size_t h = len / 2;
      double *yr = y + r * h, *tr = tol ? tol + r * h : NULL;
      for (size_t j = 0; j < h; ++j) {
        double a = zr[j], b = zr[j + h];
        yr[j] = a * sigmoid(b);
        if (tr) {
          double ea = er ? er[j] : 0, eb = er ? er[j + h] : 0;
          tr[j] = ea + 0.25 * fabs(a) * eb + 16.0 * u * fabs(yr[j]) + floor_abs;
        }
      }
      continue;
    }
    double *yr = y + r * len, *tr = tol ? tol + r * len : NULL;
    if (is(c, "sparsemax")) {
      ref_sparsemax_row(zr, len, yr);
      if (tr)
        for (size_t j = 0; j < len; ++j)
          tr[j] = 2.5 * emax + u * (16.0 + 2.0 * n) * (zabs + 1.0) + floor_abs;
      continue;
    }
    long double sum = 0;
    for (size_t j = 0; j < len; ++j) sum += expl((long double)zr[j] - m);
    for (size_t j = 0; j < len; ++j) {
      long double d = (long double)zr[j] - m;
      if (is(c, "softmax")) {
        yr[j] = (double)(expl(d) / sum);
        if (tr)
          tr[j] =
              fabs(yr[j]) * (2.5 * emax + u * (16.0 + 2.0 * n + 2.0 * fabs((double)d))) + floor_abs;
      } else { /* log_softmax */
        yr[j] = (double)(d - logl(sum));
        if (tr)
          tr[j] = 2.5 * emax + u * (16.0 + 2.0 * n + 2.0 * (fabs(zr[j]) + fabs(m) + fabs(yr[j]))) +
                  floor_abs;
      }
    }
  }
}

/* ------------------------------------------------------------------ forward */

ref_status ref_output_shape(const conv1dt_config *cfg, int64_t in_channels, int64_t batch,
                            int64_t steps, int64_t shape[3]) {
  ref_geometry g;
  const char *c = ref_activation_canonical(cfg->activation);
  if (!c || in_channels < 1 || batch < 0 || !ref_geometry_of(cfg, steps, &g)) return REF_BAD_CONFIG;
  int64_t len = g.out_len, f = cfg->filters;
  if (is(c, "glu")) {
    int64_t *last = cfg->data_format == CONV1DT_CHANNELS_LAST ? &f : &len;
    if (*last % 2 != 0) return REF_GLU_ODD;
    *last /= 2;
  }
  shape[0] = batch;
  shape[1] = cfg->data_format == CONV1DT_CHANNELS_LAST ? len : f;
  shape[2] = cfg->data_format == CONV1DT_CHANNELS_LAST ? f : len;
  return REF_OK;
}

ref_status ref_forward(const conv1dt_config *cfg, int64_t in_channels, conv1dt_dtype dtype,
                       const double *x, int64_t batch, int64_t steps, const double *kernel,
                       const double *bias, ref_output *out) {
  memset(out, 0, sizeof *out);
  ref_geometry g;
  const char *act = ref_activation_canonical(cfg->activation);
  ref_status st = ref_output_shape(cfg, in_channels, batch, steps, out->shape);
  if (st != REF_OK) return st;
  if (!ref_geometry_of(cfg, steps, &g)) return REF_BAD_CONFIG;

  const int64_t B = batch, L = steps, C = in_channels, F = cfg->filters, K = cfg->kernel_size;
  const int64_t s = cfg->strides, d = cfg->dilation_rate, N = g.out_len;
  const bool last = cfg->data_format == CONV1DT_CHANNELS_LAST;
  const size_t zcount = (size_t)(B * N * F);
  const double u = ref_unit_roundoff(dtype);
  const double nterms = (double)(C * K + K + 2);
  const double gamma = nterms * u / (1.0 - nterms * u);

  double *z = malloc((zcount ? zcount : 1) * sizeof *z);
  double *err = malloc((zcount ? zcount : 1) * sizeof *err);
  long double *full = malloc((size_t)(g.full_len * F) * sizeof *full);
  long double *fabs_sum = malloc((size_t)(g.full_len * F) * sizeof *fabs_sum);
  out->count = (size_t)(out->shape[0] * out->shape[1] * out->shape[2]);
  out->y = malloc((out->count ? out->count : 1) * sizeof *out->y);
  out->tol = malloc((out->count ? out->count : 1) * sizeof *out->tol);
  if (!z || !err || !full || !fabs_sum || !out->y || !out->tol) {
    free(z);
    free(err);
    free(full);
    free(fabs_sum);
    ref_output_free(out);
    return REF_NO_MEMORY;
  }

  for (int64_t b = 0; b < B; ++b) {
    for (int64_t i = 0; i < g.full_len * F; ++i) full[i] = fabs_sum[i] = 0;
    /* full[b, l*s + k*d, f] += sum_c x[b, l, c] * W[k, f, c] */
    for (int64_t l = 0; l < L; ++l)
      for (int64_t k = 0; k < K; ++k) {
        const int64_t p = l * s + k * d;
        for (int64_t f = 0; f < F; ++f)
          for (int64_t c = 0; c < C; ++c) {
            const double xv = last ? x[(b * L + l) * C + c] : x[(b * C + c) * L + l];
            const long double t = (long double)xv * kernel[(k * F + f) * C + c];
            full[p * F + f] += t;
            fabs_sum[p * F + f] += fabsl(t);
          }
      }
    /* the window [crop_left, crop_left + N) of full, zeros past its end; then the bias */
    for (int64_t j = 0; j < N; ++j) {
      const int64_t q = g.crop_left + j;
      for (int64_t f = 0; f < F; ++f) {
        long double v = 0, a = 0;
        if (q < g.full_len) {
          v = full[q * F + f];
          a = fabs_sum[q * F + f];
        }
        if (cfg->use_bias) {
          v += bias[f];
          a += fabs(bias[f]);
        }
        const size_t idx = (size_t)(last ? (b * N + j) * F + f : (b * F + f) * N + j);
        z[idx] = (double)v;
        err[idx] = gamma * (double)a;
      }
    }
  }
  free(full);
  free(fabs_sum);

  /* the activation over the last axis of the tensor in the layer's data format */
  const size_t len = (size_t)(last ? F : N);
  const size_t rows = len ? zcount / len : 0;
  ref_activation_rows(act, dtype, rows, len, z, err, out->y, out->tol);
  free(z);
  free(err);
  return REF_OK;
}

void ref_output_free(ref_output *out) {
  free(out->y);
  free(out->tol);
  out->y = out->tol = NULL;
}

/* ------------------------------------------------------------------ comparison */

size_t ref_compare(conv1dt_dtype dtype, const void *got, const double *expected, const double *tol,
                   size_t n, char *msg, size_t msg_size) {
  size_t bad = 0, used = 0;
  if (msg && msg_size) msg[0] = '\0';
  for (size_t i = 0; i < n; ++i) {
    const double g =
        dtype == CONV1DT_FLOAT32 ? (double)((const float *)got)[i] : ((const double *)got)[i];
    double e = expected[i];
    bool ok;
    if (dtype == CONV1DT_FLOAT32 && isfinite(e) && isinf((float)e)) e = (double)(float)e;
    if (isnan(e))
      ok = isnan(g);
    else if (isinf(e))
      ok = g == e;
    else
      ok = isfinite(g) && fabs(g - e) <= tol[i];
    if (!ok) {
      if (msg && used + 1 < msg_size && bad < 4) {
        int w = snprintf(msg + used, msg_size - used,
                         "%s[%zu] expected %.17g got %.17g (|diff| %.3g > tol %.3g)",
                         bad ? "; " : "", i, e, g, fabs(g - e), tol[i]);
        if (w > 0) used += (size_t)w < msg_size - used ? (size_t)w : msg_size - used - 1;
      }
      ++bad;
    }
  }
  return bad;
}

void ref_describe(const conv1dt_config *cfg, int64_t in_channels, conv1dt_dtype dtype,
                  int64_t batch, int64_t steps, char *buf, size_t size) {
  snprintf(buf, size,
           "B=%" PRId64 " L=%" PRId64 " C=%" PRId64 " F=%" PRId64 " K=%" PRId64 " s=%" PRId64
           " d=%" PRId64 " op=%" PRId64 " %s %s %s act=%s bias=%d",
           batch, steps, in_channels, cfg->filters, cfg->kernel_size, cfg->strides,
           cfg->dilation_rate, cfg->output_padding,
           cfg->padding == CONV1DT_PADDING_SAME ? "same" : "valid",
           cfg->data_format == CONV1DT_CHANNELS_FIRST ? "channels_first" : "channels_last",
           dtype == CONV1DT_FLOAT32 ? "float32" : "float64",
           cfg->activation ? cfg->activation : "(null)", (int)cfg->use_bias);
}
