/* The reference kernels: kernel.h's operations in plain C, one element at a time, the
 * definition the vector tables are tested against (tests/test_kernels.c) and the selftest's.
 * Every output element is summed in one fixed order: the bias, then taps in order, then
 * channels in order, a multiply then an add each (the build compiles this file with
 * -ffp-contract=off, so none fuses), then the activation. */
#include "../kernel.h"
#include "precision.h"

/* relu as Keras's: only v < 0 becomes 0, so NaN and -0 pass unchanged (as relu_v, which
 * clears the lanes where v < 0) */
static inline R act(R v, int relu) {
  return relu && v < 0 ? RC(0.0) : v;
}

static void filters(const X(conv1dt_filters_args) * a) {
  for (int64_t n = a->n_lo; n < a->n_hi; n++)
    for (int64_t f = 0; f < a->F; f++) {
      R acc = a->bias[f];
      for (int j = 0; j < a->ntaps; j++) {
        const R *x = a->rows + (n + a->taps[j].off) * a->C, *w = (const R *)a->taps[j].w + f;
        for (int64_t c = 0; c < a->C; c++) {
          const R p = x[c] * w[c * a->ldw];
          acc += p;
        }
      }
      a->out[(n - a->n_lo) * a->ldo + f] = act(acc, a->relu);
    }
}

/* Tap tap's weight for filter f, channel c in packed_t: filter group f / MF, MF per channel. */
static inline R wt(const conv1dt_direct_tap *tap, int64_t gstride, int64_t f, int64_t c) {
  enum { MF = CONV1DT_DIRECT_MF };
  return ((const R *)tap->w)[f / MF * gstride + c * MF + f % MF];
}

/* One channels_first position: filter f at input step i (before each tap's offset). */
static R steps_sum(const R *xc, int64_t ldx, int64_t C, const conv1dt_direct_tap *taps, int ntaps,
                   int64_t gstride, R bias, int64_t f, int64_t i) {
  R acc = bias;
  for (int j = 0; j < ntaps; j++)
    for (int64_t c = 0; c < C; c++) {
      const R p = xc[c * ldx + i + taps[j].off] * wt(&taps[j], gstride, f, c);
      acc += p;
    }
  return acc;
}

static void steps(const X(conv1dt_steps_args) * a) {
  for (int64_t f = 0; f < a->F; f++)
    for (int64_t n = a->n_lo; n < a->n_hi; n++)
      a->out[f * a->ldo + (n - a->n_lo) * a->s] = act(
          steps_sum(a->xc, a->ldx, a->C, a->taps, a->ntaps, a->gstride, a->bias[f], f, n), a->relu);
}

void X(conv1dt__ref_steps2)(const X(conv1dt_steps2_args) * a) {
  for (int64_t f = 0; f < a->F; f++)
    for (int64_t p = 0; p < a->n; p++) {
      const int rho = (int)(p % 2);
      const conv1dt_direct_tap *taps = a->taps + (rho ? a->ntaps[0] : 0);
      a->out[f * a->ldo + p] =
          act(steps_sum(a->xc, a->ldx, a->C, taps, a->ntaps[rho], a->gstride, a->bias[f], f, p / 2),
              a->relu);
    }
}

void X(conv1dt__ref_groups)(const X(conv1dt_groups_args) * a) {
  enum { VG = CONV1DT_DIRECT_GROUP_VBYTES / (int)sizeof(R) };
  const int64_t fp = VG / a->G, d = a->d, C = a->C;
  const R *bias = a->wg + (int64_t)a->ntaps * C * VG;
  for (int64_t p = 0; p < a->n; p++) {
    const int64_t g = p / d % a->G;
    for (int64_t f = 0; f < a->F; f++) {
      const int64_t lane = g * fp + f;
      R acc = bias[lane];
      for (int64_t jj = 0; jj < a->ntaps; jj++) {
        const R *x = a->rows + (p + (a->G - 1 - jj - g) * d) * C;
        const R *w = a->wg + jj * C * VG + lane;
        for (int64_t c = 0; c < C; c++) {
          const R t = x[c] * w[c * VG];
          acc += t;
        }
      }
      a->out[p * a->ldo + f] = act(acc, a->relu);
    }
  }
}

static void transpose(const R *src, int64_t lds, int64_t rows, int64_t cols, const R *bias,
                      int relu, R *dst, int64_t ldd) {
  for (int64_t c = 0; c < cols; c++)
    for (int64_t r = 0; r < rows; r++) {
      /* no bias adds +0 (so -0 comes out +0), as the vector tables' whole blocks do */
      dst[c * ldd + r] = act(src[r * lds + c] + (bias ? bias[c] : RC(0.0)), relu);
    }
}

static void interleave(const R *src, int64_t ldp, int64_t lds, int64_t s, int64_t n, int64_t rows,
                       const R *bias, int relu, R *dst, int64_t ldd) {
  for (int64_t f = 0; f < rows; f++)
    for (int64_t i = 0; i < n; i++) { /* i = j * s + q: plane q, entry j */
      const R v = src[f * lds + i % s * ldp + i / s];
      dst[f * ldd + i] = act(bias ? v + bias[f] : v, relu); /* no bias: -0 stays -0 */
    }
}

static void bwd_data(const X(conv1dt_bwd_data_args) * a) {
  for (int64_t l = 0; l < a->n; l++)
    for (int64_t c = 0; c < a->C; c++) {
      R acc = RC(0.0);
      for (int k = 0; k < a->K; k++)
        for (int64_t f = 0; f < a->F; f++) {
          const R p = a->dz[(l * a->s + k * a->d) * a->F + f] * a->w[(k * a->F + f) * a->ldw + c];
          acc += p;
        }
      a->out[l * a->ldo + c] = acc;
    }
}

static void bwd_weights(const X(conv1dt_bwd_weights_args) * a) {
  for (int64_t f = a->f_lo; f < a->f_hi; f++)
    for (int64_t c = 0; c < a->ldw; c++) {
      R acc = a->acc[f * a->ldw + c];
      for (int64_t l = 0; l < a->n; l++) {
        const R p = a->dz[l * a->s * a->F + f] * a->x[l * a->ldx + c];
        acc += p;
      }
      a->acc[f * a->ldw + c] = acc;
    }
}

static void bwd_data_t(const X(conv1dt_bwd_data_t_args) * a) {
  for (int64_t c = 0; c < a->C; c++)
    for (int64_t l = 0; l < a->n; l++) {
      R acc = RC(0.0);
      for (int k = 0; k < a->K; k++) {
        const int64_t kd = k * a->d, r = kd % a->s, q = l + kd / a->s;
        for (int64_t f = 0; f < a->F; f++) {
          const R p = a->dz[(f * a->s + r) * a->ldq + q] * a->w[(k * a->F + f) * a->ldw + c];
          acc += p;
        }
      }
      a->out[c * a->ldo + l] = acc;
    }
}

static void bwd_weights_t(const X(conv1dt_bwd_weights_t_args) * a) {
  const int64_t vl = 32 / (int64_t)sizeof(R); /* the table's vl */
  for (int k = 0; k < a->K; k++) {
    const int64_t kd = k * a->d, r = kd % a->s, o = kd / a->s;
    for (int64_t f = a->f_lo; f < a->f_hi; f++)
      for (int64_t c = a->c_lo; c < a->c_hi; c++)
        for (int64_t l = 0; l < a->n; l++) {
          const R p = a->dz[(f * a->s + r) * a->ldq + l + o] * a->x[c * a->ldx + l];
          a->acc[((k * a->F + f) * a->lda + c) * vl + l % vl] += p;
        }
  }
}

/* vl and mr as the 256-bit generic table's, so the driver's rules treat both alike; steps2 and
 * groups stay out of the table as they do of generic's (tests reach them by name). */
const X(conv1dt_kernels) X(conv1dt__kernels_ref) = {
    .name = "reference (plain C)",
    .vl = 32 / (int)sizeof(R),
    .mf = CONV1DT_DIRECT_MF,
    .mr = {12, 6, 4, 3},
    .filters = filters,
    .steps = steps,
    .steps2 = NULL,
    .groups = NULL,
    .transpose = transpose,
    .interleave = interleave,
    .bwd_data = bwd_data,
    .bwd_weights = bwd_weights,
    .bwd_data_t = bwd_data_t,
    .bwd_weights_t = bwd_weights_t,
};
