/* The direct backward's planes layout (typed/backward_direct.h), for channels_first layers: dz
 * filter-major and split by stride phase (filter f's positions r + q * s at plane row
 * f * s + r, column q0 + q of the segment), x read and dx written in place, channel-major; the
 * kernels' vectors run along the steps (bwd_data_t, bwd_weights_t), so few channels fill them
 * and nothing is transposed. */
#include "backward_direct.h"

#include <string.h>

/* Plane row of filter f for tile position u's phase, at u's column. */
static R *at(const bwd_block *k, const bwd_seg *sg, int64_t s, int64_t f, int64_t u) {
  return k->dz + (f * s + u % s) * k->ldq + sg->q0 + u / s;
}

/* Zeros at tile positions [ua, ub) of every filter. */
static void zero_positions(const bwd_block *k, const bwd_seg *sg, int64_t s, int64_t F, int64_t ua,
                           int64_t ub) {
  for (int64_t f = 0; f < F; f++)
    for (int64_t u = ua; u < ub; u++) *at(k, sg, s, f, u) = RC(0.0);
}

/* Zeros in each plane row from the segment's last position to the end of its columns (the
 * slack bwd_data_t's last vectors read). */
static void zero_tail(const bwd_block *k, const bwd_seg *sg, int64_t s, int64_t F) {
  const int64_t len = sg->p1 - sg->p0, end = (len + s - 1) / s + CONV1DT_DIRECT_SLACK;
  for (int64_t f = 0; f < F; f++)
    for (int64_t r = 0; r < s; r++) {
      const int64_t q = len > r ? (len - r + s - 1) / s : 0;
      memset(k->dz + (f * s + r) * k->ldq + sg->q0 + q, 0, (size_t)(end - q) * sizeof(R));
    }
}

void X(conv1dt__bwd_planes_dz)(const bwd_job *j, const bwd_block *k, const bwd_seg *sg, int64_t a,
                               int64_t b, R *scratch) {
  const conv1dt_geometry *g = j->g;
  const int64_t F = g->filters, T = g->out_len, s = g->stride, ldq = k->ldq;
  const int64_t pa = sg->p0 + a, pb = sg->p0 + b;
  const int64_t va = conv1dt__min64(conv1dt__max64(pa, 0), pb);
  const int64_t vb = conv1dt__max64(va, conv1dt__min64(pb, T));
  zero_positions(k, sg, s, F, a, va - sg->p0);
  zero_positions(k, sg, s, F, vb - sg->p0, b);
  if (b == sg->p1 - sg->p0) zero_tail(k, sg, s, F);
  /* act' along each filter's row, straight into its plane at stride 1, else a few positions at
   * a time dealt out to the phases */
  for (int64_t f = 0; f < F; f++) {
    const int64_t row = (sg->b * F + f) * T;
    if (s == 1) {
      X(conv1dt__act_grad)
      (g->act, at(k, sg, 1, f, va - sg->p0), j->pre ? j->pre + row + va : NULL, j->dy + row + va,
       vb - va);
      continue;
    }
    enum { NP = CONV1DT_BWD_CF_POSITIONS };
    for (int64_t p = va; p < vb; p += NP) {
      const int64_t n = conv1dt__min64(NP, vb - p), u = p - sg->p0;
      X(conv1dt__act_grad)(g->act, scratch, j->pre ? j->pre + row + p : NULL, j->dy + row + p, n);
      int64_t r = u % s;
      R *q = at(k, sg, s, f, u) - r * ldq; /* phase 0's row, this position's column */
      for (int64_t i = 0; i < n; i++) {
        q[r * ldq] = scratch[i];
        if (++r == s) r = 0, q++;
      }
    }
  }
}

void X(conv1dt__bwd_planes_dx)(const bwd_job *j, const bwd_block *k, const bwd_seg *sg, int64_t a,
                               int64_t b) {
  const conv1dt_geometry *g = j->g;
  const int64_t C = g->in_ch, L = g->steps;
  X(conv1dt_bwd_data_t_args) d;
  d.dz = k->dz + sg->q0 + a;
  d.ldq = k->ldq;
  d.F = g->filters;
  d.s = g->stride;
  d.d = g->dil;
  d.K = (int)g->ksize;
  d.w = j->w;
  d.ldw = C;
  d.C = C;
  d.n = b - a;
  d.out = j->dx + sg->b * C * L + sg->l0 + a;
  d.ldo = L;
  j->kern->bwd_data_t(&d);
}

void X(conv1dt__bwd_planes_dw)(const bwd_job *j, const bwd_block *k, const bwd_seg *sg, int64_t t,
                               int64_t f_lo, int64_t f_hi) {
  const conv1dt_geometry *g = j->g;
  const int64_t C = g->in_ch, per = conv1dt__ceil_div(C, CONV1DT_BWD_PLANES_DW_C);
  X(conv1dt_bwd_weights_t_args) wa;
  wa.dz = k->dz + sg->q0;
  wa.ldq = k->ldq;
  wa.F = g->filters;
  wa.s = g->stride;
  wa.d = g->dil;
  wa.K = (int)g->ksize;
  wa.x = j->x + sg->b * C * g->steps + sg->l0;
  wa.ldx = g->steps;
  wa.n = sg->l1 - sg->l0;
  wa.f_lo = f_lo;
  wa.f_hi = f_hi;
  wa.c_lo = t % per * CONV1DT_BWD_PLANES_DW_C; /* t: the piece of channels */
  wa.c_hi = conv1dt__min64(C, wa.c_lo + CONV1DT_BWD_PLANES_DW_C);
  wa.acc = j->acc;
  wa.lda = C;
  j->kern->bwd_weights_t(&wa);
}

/* Each filter's positions in increasing order, as the GEMM backward sums them; a few filters at
 * a time, whose sums go on side by side. */
void X(conv1dt__bwd_planes_db)(const bwd_job *j, const bwd_block *k, int64_t lo, int64_t hi) {
  enum { NF = 8 };
  const int64_t s = j->g->stride, ldq = k->ldq, ldf = s * ldq;
  for (int64_t f0 = lo; f0 < hi; f0 += NF) {
    const int nf = (int)conv1dt__min64(NF, hi - f0);
    double acc[NF];
    for (int f = 0; f < NF; f++) acc[f] = f < nf ? j->bsum[f0 + f] : 0;
    for (int64_t i = 0; i < k->nseg; i++) {
      const bwd_seg *sg = &k->segs[i];
      const int64_t u0 = sg->own0 - sg->p0, n = sg->own1 - sg->own0;
      if (n <= 0) continue;
      int64_t r = u0 % s;
      const R *q = at(k, sg, s, f0, u0) - r * ldq; /* filter f0, phase 0, u0's column */
      for (int64_t e = 0; e < n; e++) {
        const R *c = q + r * ldq;
        if (nf == NF)
          for (int f = 0; f < NF; f++) acc[f] += (double)c[f * ldf];
        else
          for (int f = 0; f < nf; f++) acc[f] += (double)c[f * ldf];
        if (++r == s) r = 0, q++;
      }
    }
    for (int f = 0; f < nf; f++) j->bsum[f0 + f] = acc[f];
  }
}
