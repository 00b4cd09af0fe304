/*
 * Independent naive reference for the gradients of Conv1DTranspose; see reference_grad.h.
 *
 * Tolerances (why they are what they are)
 * ---------------------------------------
 * The library and this reference start from the same pre-activation z and the same dy, so the
 * only differences are the library's own roundings (unit roundoff u of its dtype):
 *
 * dz, element-wise: the library evaluates act'(z) in its dtype (a few ulps of the result for
 * the libm-based formulas: 32 u |act'|), plus an absolute u-sized error where the formula adds
 * terms that cancel (1 - tanh^2, sigmoid + z sigmoid', Phi + z phi, ...: 8 u (1 + |z|)), then
 * multiplies by dy. hard_sigmoid, hard_silu and sparse_sigmoid test their breakpoints on the
 * rounded z + 3 or z + 1 (as JAX does): within a few ulps of a breakpoint, either side's value is
 * accepted.
 * dz, axis-wise (row of n): softmax dz_i = y_i (dy_i - sum dy y): y_i carries (n + 4) u relative
 * error and the sum n u of sum |dy y|, so (4n + 32) u y_i (|dy_i| + sum |dy_j| y_j);
 * log_softmax likewise (4n + 32) u (|dy_i| + y_i sum |dy_j|); sparsemax (4n + 32) u
 * (|dy_i| + mean_S |dy|) on the support; glu 32 u |each term|.
 * Sums: dx is a dot product of K*F terms (one GEMM), dW of B*L terms accumulated over blocks
 * (at most 2*B*L roundings), db is summed in double by the library and rounded once. A sum of
 * n terms t_i (each known within e_i) computed in any order lies within
 * gamma_n sum |t_i| + sum |coefficient| e_i of the exact one, gamma_n = n u / (1 - n u)
 * (Higham, "Accuracy and Stability of Numerical Algorithms", ch. 3). The reference forms the
 * exact sums and their absolute sums in long double. An absolute floor of a few smallest
 * normals covers underflow.
 */
#include "reference_grad.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const double SELU_ALPHA = 1.6732632423543772848170429916717;
static const double SELU_SCALE = 1.0507009873554804934193349852946;

static bool is(const char *a, const char *b) {
  return strcmp(a, b) == 0;
}

static double sigmoid(double x) {
  return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}

/* ------------------------------------------------------------------ element-wise derivatives */

double refg_activation_derivative(const char *c, double z) {
  if (is(c, "linear")) return 1.0;
  if (is(c, "relu")) return z > 0 ? 1.0 : 0.0;           /* custom JVP: relu'(0) = 0 */
  if (is(c, "leaky_relu")) return z >= 0 ? 1.0 : 0.2;    /* where(x >= 0, ...) */
  if (is(c, "relu6")) return z > 0 && z < 6 ? 1.0 : 0.0; /* custom JVP, open interval */
  if (is(c, "elu")) return z > 0 ? 1.0 : exp(z);         /* where(x > 0, x, expm1(x)) */
  if (is(c, "celu")) return z > 0 ? 1.0 : z < 0 ? exp(z) : 0.5 + 0.5; /* max/min split ties */
  if (is(c, "selu")) return z > 0 ? SELU_SCALE : SELU_SCALE * SELU_ALPHA * exp(z);
  if (is(c, "softplus")) return sigmoid(z);
  if (is(c, "softsign")) return 1.0 / ((1.0 + fabs(z)) * (1.0 + fabs(z)));
  if (is(c, "squareplus")) return 0.5 * (1.0 + z / sqrt(z * z + 4.0));
  if (is(c, "soft_shrink") || is(c, "hard_shrink")) return z > 0.5 || z < -0.5 ? 1.0 : 0.0;
  if (is(c, "sparse_plus")) return z <= -1 ? 0.0 : z >= 1 ? 1.0 : (z + 1.0) / 2.0;
  if (is(c, "sigmoid")) return sigmoid(z) * sigmoid(-z);
  if (is(c, "sparse_sigmoid")) { /* 0.5 clip(x + 1, 0, 2): clip's ties give halves */
    const double u = z + 1.0;
    return u > 0 && u < 2 ? 0.5 : (u == 0 || u == 2) ? 0.25 : 0.0;
  }
  if (is(c, "hard_sigmoid")) { /* relu6(x + 3) / 6 */
    const double u = z + 3.0;
    return u > 0 && u < 6 ? 1.0 / 6.0 : 0.0;
  }
  if (is(c, "silu")) return sigmoid(z) + z * sigmoid(z) * sigmoid(-z);
  if (is(c, "hard_silu")) {
    const double u = z + 3.0;
    const double hs = (u < 0 ? 0.0 : u > 6 ? 6.0 : u) / 6.0;
    return hs + z * (u > 0 && u < 6 ? 1.0 / 6.0 : 0.0);
  }
  if (is(c, "gelu")) /* d/dz z Phi(z) = Phi(z) + z phi(z) */
    return 0.5 * erfc(-z / sqrt(2.0)) + z * exp(-0.5 * z * z) * 0.39894228040143267793994605993438;
  if (is(c, "tanh")) return 1.0 / (cosh(z) * cosh(z));
  if (is(c, "tanh_shrink")) return tanh(z) * tanh(z);
  if (is(c, "hard_tanh")) return z > 1 || z < -1 ? 0.0 : 1.0; /* closed interval */
  if (is(c, "exponential")) return exp(z);
  if (is(c, "mish")) { /* d/dz z tanh(sp(z)) = tanh(sp) + z sech^2(sp) sigmoid(z) */
    const double sp = z > 0 ? z + log1p(exp(-z)) : log1p(exp(z));
    return tanh(sp) + z * sigmoid(z) / (cosh(sp) * cosh(sp));
  }
  if (is(c, "log_sigmoid")) return sigmoid(-z);
  return NAN;
}

/* Formulas whose library evaluation adds terms that may cancel. */
static bool cancels(const char *c) {
  return is(c, "tanh") || is(c, "silu") || is(c, "gelu") || is(c, "mish") || is(c, "hard_silu") ||
         is(c, "squareplus") || is(c, "sparse_plus");
}

/* Breakpoints tested on a rounded z + constant, and the jump of the derivative there. */
static double rounded_kink_jump(const char *c) {
  if (is(c, "hard_sigmoid")) return 1.0 / 6.0;
  if (is(c, "hard_silu")) return 0.5 + 1.0 / 6.0;
  if (is(c, "sparse_sigmoid")) return 0.5;
  return 0.0;
}

double refg_kink_distance(const char *c, double z) {
  static const struct {
    const char *name;
    double at[2];
    int n;
  } kinks[] = {{"relu", {0, 0}, 1},
               {"leaky_relu", {0, 0}, 1},
               {"relu6", {0, 6}, 2},
               {"elu", {0, 0}, 1},
               {"selu", {0, 0}, 1},
               {"celu", {0, 0}, 1},
               {"softsign", {0, 0}, 1},
               {"soft_shrink", {-0.5, 0.5}, 2},
               {"hard_shrink", {-0.5, 0.5}, 2},
               {"sparse_plus", {-1, 1}, 2},
               {"sparse_sigmoid", {-1, 1}, 2},
               {"hard_sigmoid", {-3, 3}, 2},
               {"hard_silu", {-3, 3}, 2},
               {"hard_tanh", {-1, 1}, 2}};
  for (size_t i = 0; i < sizeof kinks / sizeof kinks[0]; i++)
    if (is(c, kinks[i].name)) {
      double d = fabs(z - kinks[i].at[0]);
      if (kinks[i].n > 1 && fabs(z - kinks[i].at[1]) < d) d = fabs(z - kinks[i].at[1]);
      return d;
    }
  return INFINITY;
}

/* ------------------------------------------------------------------ geometry helpers */

typedef struct {
  int64_t B, L, C, F, K, s, d, T, crop, Ty;
  bool cf;
  const char *act;
} dims;

static bool dims_of(const conv1dt_config *cfg, int64_t C, int64_t B, int64_t L, dims *m) {
  ref_geometry g;
  if (!ref_geometry_of(cfg, L, &g)) return false;
  m->act = ref_activation_canonical(cfg->activation);
  if (!m->act) return false;
  m->B = B;
  m->L = L;
  m->C = C;
  m->F = cfg->filters;
  m->K = cfg->kernel_size;
  m->s = cfg->strides;
  m->d = cfg->dilation_rate;
  m->T = g.out_len;
  m->crop = g.crop_left;
  m->cf = cfg->data_format == CONV1DT_CHANNELS_FIRST;
  int64_t last = m->cf ? m->T : m->F;
  m->Ty = is(m->act, "glu") ? last / 2 : last;
  return true;
}

static size_t xi(const dims *m, int64_t b, int64_t l, int64_t c) {
  return (size_t)(m->cf ? (b * m->C + c) * m->L + l : (b * m->L + l) * m->C + c);
}
static size_t zi(const dims *m, int64_t b, int64_t p, int64_t f) {
  return (size_t)(m->cf ? (b * m->F + f) * m->T + p : (b * m->T + p) * m->F + f);
}
static size_t ki(const dims *m, int64_t k, int64_t f, int64_t c) {
  return (size_t)((k * m->F + f) * m->C + c);
}

double *refg_preactivation(const conv1dt_config *cfg, int64_t in_channels, const double *x,
                           int64_t batch, int64_t steps, const double *kernel, const double *bias,
                           size_t *count) {
  dims m;
  if (!dims_of(cfg, in_channels, batch, steps, &m)) return NULL;
  const size_t n = (size_t)(m.B * m.T * m.F);
  double *z = malloc((n ? n : 1) * sizeof *z);
  if (!z) return NULL;
  for (int64_t b = 0; b < m.B; b++)
    for (int64_t p = 0; p < m.T; p++)
      for (int64_t f = 0; f < m.F; f++) {
        long double sum = cfg->use_bias && bias ? bias[f] : 0.0;
        for (int64_t l = 0; l < m.L; l++)
          for (int64_t k = 0; k < m.K; k++) {
            if (l * m.s + k * m.d - m.crop != p) continue;
            for (int64_t c = 0; c < m.C; c++)
              sum += (long double)x[xi(&m, b, l, c)] * kernel[ki(&m, k, f, c)];
          }
        z[zi(&m, b, p, f)] = (double)sum;
      }
  *count = n;
  return z;
}

/* ------------------------------------------------------------------ axis-wise Jacobians */

static int cmp_desc(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x < y) - (x > y);
}

/* Sparsemax threshold by sorting: the largest k with 1 + k z_(k) > sum_{j<=k} z_(j). */
static double sparsemax_tau(const double *z, size_t n, double *sorted) {
  memcpy(sorted, z, n * sizeof *sorted);
  qsort(sorted, n, sizeof *sorted, cmp_desc);
  long double cum = 0, cum_k = 0;
  size_t k = 0;
  for (size_t j = 0; j < n; j++) {
    cum += sorted[j];
    if (1.0L + (long double)(j + 1) * sorted[j] > cum) {
      k = j + 1;
      cum_k = cum;
    }
  }
  return (double)((cum_k - 1.0L) / (long double)k);
}

/* dz and its tolerance for one row of n pre-activations z (stride 1) with dy (n, or n/2 for
 * glu). */
static void row_grad(const char *c, double u, const double *z, const double *ylib, const double *dy,
                     size_t n, double *dz, double *tz, double *scratch) {
  const double rowf = (4.0 * (double)n + 32.0) * u;
  if (is(c, "softmax") || is(c, "log_softmax")) {
    double mx = z[0];
    for (size_t i = 1; i < n; i++) mx = z[i] > mx ? z[i] : mx;
    long double sum = 0;
    for (size_t i = 0; i < n; i++) sum += expl((long double)z[i] - mx);
    for (size_t i = 0; i < n; i++) scratch[i] = (double)(expl((long double)z[i] - mx) / sum);
    const double *y = scratch;
    /* dz_j = sum_i dy_i J_ij with J_ij = y_i (delta_ij - y_j) (softmax) or delta_ij - y_j */
    for (size_t j = 0; j < n; j++) {
      long double acc = 0, mag = 0;
      for (size_t i = 0; i < n; i++) {
        const long double delta = i == j ? 1.0L : 0.0L;
        const long double J =
            is(c, "softmax") ? (long double)y[i] * (delta - y[j]) : delta - (long double)y[j];
        acc += (long double)dy[i] * J;
        mag += fabsl((long double)dy[i]) * (is(c, "softmax") ? (long double)y[i] : 1.0L);
      }
      dz[j] = (double)acc;
      tz[j] = is(c, "softmax") ? rowf * y[j] * (fabs(dy[j]) + (double)mag)
                               : rowf * (fabs(dy[j]) + y[j] * (double)mag);
    }
  } else if (is(c, "sparsemax")) {
    const double tau = sparsemax_tau(z, n, scratch);
    double zmag = 0;
    for (size_t i = 0; i < n; i++) zmag += fabs(z[i]);
    const double margin = 4.0 * ((double)n + 2.0) * u * (zmag + 1.0);
    /* support: the reference's own, except within rounding of tau, where the library decides */
    size_t count = 0;
    long double sdy = 0, sabs = 0;
    for (size_t i = 0; i < n; i++) {
      bool in = z[i] > tau;
      if (fabs(z[i] - tau) <= margin && ylib) in = ylib[i] > 0;
      scratch[i] = in ? 1.0 : 0.0;
      if (in) {
        count++;
        sdy += dy[i];
        sabs += fabsl((long double)dy[i]);
      }
    }
    const double amean = count ? (double)(sabs / count) : 0.0;
    /* J = diag(s) - s s^T / |S|: dz_j = s_j (dy_j - mean_S dy) */
    for (size_t j = 0; j < n; j++) {
      dz[j] = scratch[j] != 0.0 ? (double)((long double)dy[j] - (long double)sdy / count) : 0.0;
      tz[j] = scratch[j] != 0.0 ? rowf * (fabs(dy[j]) + amean) : 0.0;
    }
  } else { /* glu: y_i = a_i sigmoid(b_i), a = z[0:h], b = z[h:n] */
    const size_t h = n / 2;
    for (size_t i = 0; i < h; i++) {
      const double a = z[i], b = z[i + h], sb = sigmoid(b);
      dz[i] = dy[i] * sb;                       /* dy_i dy_i/da_i */
      dz[i + h] = dy[i] * a * sb * sigmoid(-b); /* dy_i dy_i/db_i */
      tz[i] = 32.0 * u * fabs(dz[i]);
      tz[i + h] = 32.0 * u * fabs(dz[i + h]);
    }
  }
}

/* ------------------------------------------------------------------ the backward reference */

static double gamma_n(double n, double u) {
  return n * u / (1.0 - n * u);
}

ref_status refg_backward(const conv1dt_config *cfg, int64_t in_channels, conv1dt_dtype dtype,
                         const double *x, int64_t batch, int64_t steps, const double *kernel,
                         const double *pre, const double *y_lib, const double *dy,
                         refg_grads *out) {
  memset(out, 0, sizeof *out);
  dims m;
  if (!dims_of(cfg, in_channels, batch, steps, &m)) return REF_BAD_CONFIG;
  const double u = ref_unit_roundoff(dtype);
  const double floor_ = 4.0 * (dtype == CONV1DT_FLOAT32 ? (double)FLT_MIN : DBL_MIN);
  const bool glu = is(m.act, "glu"), axis = ref_activation_is_axiswise(m.act);
  if (glu && (m.cf ? m.T : m.F) % 2) return REF_GLU_ODD;

  out->nx = (size_t)(m.B * m.L * m.C);
  out->nk = (size_t)(m.K * m.F * m.C);
  out->nb = (size_t)m.F;
  out->nz = (size_t)(m.B * m.T * m.F);
  double **arrays[] = {&out->dx,     &out->dk,     &out->db,     &out->dz,
                       &out->tol_dx, &out->tol_dk, &out->tol_db, &out->tol_dz};
  const size_t sizes[] = {out->nx, out->nk, out->nb, out->nz, out->nx, out->nk, out->nb, out->nz};
  for (size_t i = 0; i < 8; i++) {
    *arrays[i] = calloc(sizes[i] ? sizes[i] : 1, sizeof(double));
    if (!*arrays[i]) {
      refg_free(out);
      return REF_NO_MEMORY;
    }
  }

  /* dz over rows of the last axis (contiguous in both formats) */
  const size_t len = (size_t)(m.cf ? m.T : m.F), rows = len ? out->nz / len : 0;
  const size_t ylen = (size_t)m.Ty;
  double *scratch = malloc((len ? len : 1) * sizeof *scratch);
  if (!scratch) {
    refg_free(out);
    return REF_NO_MEMORY;
  }
  for (size_t r = 0; r < rows; r++) {
    const double *zr = pre + r * len, *dyr = dy + r * ylen;
    double *dzr = out->dz + r * len, *tzr = out->tol_dz + r * len;
    if (axis) {
      row_grad(m.act, u, zr, y_lib ? y_lib + r * ylen : NULL, dyr, len, dzr, tzr, scratch);
      continue;
    }
    for (size_t i = 0; i < len; i++) {
      const double g = refg_activation_derivative(m.act, zr[i]);
      dzr[i] = g * dyr[i];
      double e = 32.0 * u * fabs(g) + (cancels(m.act) ? 8.0 * u * (1.0 + fabs(zr[i])) : 0.0);
      const double jump = rounded_kink_jump(m.act);
      const double kd = refg_kink_distance(m.act, zr[i]);
      if (jump > 0 && kd > 0 && kd <= 8.0 * u * (4.0 + fabs(zr[i]))) e += jump;
      tzr[i] = fabs(dyr[i]) * e + floor_;
    }
  }
  free(scratch);

  /* dx[b, l, c] = sum_{k, f} W[k, f, c] dz[b, l*s + k*d - crop, f] */
  const double gx = gamma_n((double)(m.K * m.F + 2), u);
  for (int64_t b = 0; b < m.B; b++)
    for (int64_t l = 0; l < m.L; l++)
      for (int64_t c = 0; c < m.C; c++) {
        long double acc = 0, mag = 0, err = 0;
        for (int64_t k = 0; k < m.K; k++) {
          const int64_t p = l * m.s + k * m.d - m.crop;
          if (p < 0 || p >= m.T) continue;
          for (int64_t f = 0; f < m.F; f++) {
            const long double w = kernel[ki(&m, k, f, c)];
            acc += w * out->dz[zi(&m, b, p, f)];
            mag += fabsl(w * out->dz[zi(&m, b, p, f)]);
            err += fabsl(w) * out->tol_dz[zi(&m, b, p, f)];
          }
        }
        out->dx[xi(&m, b, l, c)] = (double)acc;
        out->tol_dx[xi(&m, b, l, c)] = (double)(gx * mag + err) + floor_;
      }

  /* dW[k, f, c] = sum_{b, l} x[b, l, c] dz[b, l*s + k*d - crop, f] */
  const double gk = gamma_n((double)(2 * m.B * m.L + 2), u);
  for (int64_t k = 0; k < m.K; k++)
    for (int64_t f = 0; f < m.F; f++)
      for (int64_t c = 0; c < m.C; c++) {
        long double acc = 0, mag = 0, err = 0;
        for (int64_t b = 0; b < m.B; b++)
          for (int64_t l = 0; l < m.L; l++) {
            const int64_t p = l * m.s + k * m.d - m.crop;
            if (p < 0 || p >= m.T) continue;
            const long double xv = x[xi(&m, b, l, c)];
            acc += xv * out->dz[zi(&m, b, p, f)];
            mag += fabsl(xv * out->dz[zi(&m, b, p, f)]);
            err += fabsl(xv) * out->tol_dz[zi(&m, b, p, f)];
          }
        out->dk[ki(&m, k, f, c)] = (double)acc;
        out->tol_dk[ki(&m, k, f, c)] = (double)(gk * mag + err) + floor_;
      }

  /* db[f] = sum_{b, p} dz[b, p, f], summed by the library in double and rounded once */
  const double gb = gamma_n((double)(m.B * m.T + 2), 0x1.0p-53);
  for (int64_t f = 0; f < m.F; f++) {
    long double acc = 0, mag = 0, err = 0;
    for (int64_t b = 0; b < m.B; b++)
      for (int64_t p = 0; p < m.T; p++) {
        acc += out->dz[zi(&m, b, p, f)];
        mag += fabsl((long double)out->dz[zi(&m, b, p, f)]);
        err += out->tol_dz[zi(&m, b, p, f)];
      }
    out->db[f] = (double)acc;
    out->tol_db[f] = (double)(gb * mag + err) + 2.0 * u * fabs((double)acc) + floor_;
  }
  return REF_OK;
}

void refg_free(refg_grads *g) {
  free(g->dx);
  free(g->dk);
  free(g->db);
  free(g->dz);
  free(g->tol_dx);
  free(g->tol_dk);
  free(g->tol_db);
  free(g->tol_dz);
  memset(g, 0, sizeof *g);
}

double refg_min_kink_distance(const conv1dt_config *cfg, const double *pre, int64_t batch,
                              int64_t out_len) {
  const char *c = ref_activation_canonical(cfg->activation);
  if (!c) return 0.0;
  const bool cf = cfg->data_format == CONV1DT_CHANNELS_FIRST;
  const size_t len = (size_t)(cf ? out_len : cfg->filters);
  const size_t n = (size_t)(batch * out_len * cfg->filters);
  double best = INFINITY;
  if (is(c, "sparsemax")) {
    double *sorted = malloc((len ? len : 1) * sizeof *sorted);
    if (!sorted) return 0.0;
    for (size_t r = 0; len && r < n / len; r++) {
      const double *z = pre + r * len;
      const double tau = sparsemax_tau(z, len, sorted);
      for (size_t i = 0; i < len; i++)
        if (fabs(z[i] - tau) < best) best = fabs(z[i] - tau);
    }
    free(sorted);
    return best;
  }
  if (ref_activation_is_axiswise(c)) return INFINITY;
  for (size_t i = 0; i < n; i++) {
    const double d = refg_kink_distance(c, pre[i]);
    if (d < best) best = d;
  }
  return best;
}
