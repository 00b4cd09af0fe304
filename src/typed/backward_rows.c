/* The direct backward's rows layout (typed/backward_direct.h): dz positions in rows of F
 * gradients, x and dx in rows of channels padded to whole vectors where needed; the kernels'
 * vectors run along the channels (bwd_data, bwd_weights). */
#include "backward_direct.h"

#include <string.h>

void X(conv1dt__bwd_rows_dz)(const bwd_job *j, const bwd_block *k, const bwd_seg *sg, int64_t a,
                             int64_t b, R *scratch) {
  const conv1dt_geometry *g = j->g;
  const int64_t F = g->filters, T = g->out_len;
  R *dz = k->dz + (sg->tile + a) * F;
  const int64_t pa = sg->p0 + a, pb = sg->p0 + b;
  const int64_t va = conv1dt__max64(pa, 0), vb = conv1dt__min64(pb, T);
  if (vb <= va) {
    memset(dz, 0, (size_t)((b - a) * F) * sizeof(R));
    return;
  }
  if (va > pa) memset(dz, 0, (size_t)((va - pa) * F) * sizeof(R));
  if (pb > vb) memset(dz + (vb - pa) * F, 0, (size_t)((pb - vb) * F) * sizeof(R));
  R *out = dz + (va - pa) * F;
  if (!g->channels_first) {
    const int64_t at = (sg->b * T + va) * F;
    X(conv1dt__act_grad)(g->act, out, j->pre ? j->pre + at : NULL, j->dy + at, (vb - va) * F);
    return;
  }
  /* channels_first: act' along each filter's row, a few positions at a time, into the
   * tile's column */
  enum { NP = CONV1DT_BWD_CF_POSITIONS };
  for (int64_t p = va; p < vb; p += NP) {
    const int64_t n = conv1dt__min64(NP, vb - p);
    for (int64_t f = 0; f < F; f++) {
      const int64_t at = (sg->b * F + f) * T + p;
      X(conv1dt__act_grad)(g->act, scratch, j->pre ? j->pre + at : NULL, j->dy + at, n);
      R *col = out + (p - va) * F + f;
      for (int64_t i = 0; i < n; i++) col[i * F] = scratch[i];
    }
  }
}

void X(conv1dt__bwd_rows_x)(const bwd_job *j, const bwd_block *k, const bwd_seg *sg, int64_t a,
                            int64_t b) {
  const conv1dt_geometry *g = j->g;
  const int64_t C = g->in_ch, L = g->steps, ldw = j->plan->ldw;
  R *dst = k->xt + (sg->row + a) * ldw;
  if (g->channels_first) {
    X(conv1dt__transpose_act)(j->x + sg->b * C * L + sg->l0 + a, L, C, b - a, NULL, 0, dst, ldw);
  } else {
    const R *src = j->x + (sg->b * L + sg->l0 + a) * C;
    for (int64_t r = 0; r < b - a; r++) memcpy(dst + r * ldw, src + r * C, (size_t)C * sizeof(R));
  }
}

void X(conv1dt__bwd_rows_dx)(const bwd_job *j, const bwd_block *k, const bwd_seg *sg, int64_t a,
                             int64_t b) {
  const conv1dt_geometry *g = j->g;
  const int64_t F = g->filters, C = g->in_ch, L = g->steps, ldw = j->plan->ldw;
  X(conv1dt_bwd_data_args) d;
  d.dz = k->dz + (sg->tile + a * g->stride) * F;
  d.F = F;
  d.s = g->stride;
  d.d = g->dil;
  d.K = (int)g->ksize;
  d.w = j->w;
  d.C = C;
  d.ldw = ldw;
  d.n = b - a;
  if (g->channels_first) {
    d.out = j->dxt + (sg->row + a) * ldw;
    d.ldo = ldw;
    j->kern->bwd_data(&d);
    X(conv1dt__transpose_act)(d.out, ldw, b - a, C, NULL, 0, j->dx + sg->b * C * L + sg->l0 + a, L);
  } else {
    d.out = j->dx + (sg->b * L + sg->l0 + a) * C;
    d.ldo = C;
    j->kern->bwd_data(&d);
  }
}

void X(conv1dt__bwd_rows_dw)(const bwd_job *j, const bwd_block *k, const bwd_seg *sg, int64_t t,
                             int64_t f_lo, int64_t f_hi) {
  const conv1dt_geometry *g = j->g;
  const int64_t F = g->filters, ldw = j->plan->ldw;
  X(conv1dt_bwd_weights_args) wa;
  wa.F = F;
  wa.s = g->stride;
  wa.ldw = ldw;
  wa.ldx = j->ldx;
  wa.f_lo = f_lo;
  wa.f_hi = f_hi;
  wa.acc = j->acc + t * F * ldw;
  wa.dz = k->dz + (sg->tile + t * g->dil) * F;
  wa.x = k->xrows + sg->row * j->ldx;
  wa.n = sg->l1 - sg->l0;
  j->kern->bwd_weights(&wa);
}

/* Each filter's positions in order, a few filters' sums in registers at a time. */
void X(conv1dt__bwd_rows_db)(const bwd_job *j, const bwd_block *k, int64_t lo, int64_t hi) {
  enum { NF = 8 };
  const int64_t F = j->g->filters;
  for (int64_t f0 = lo; f0 < hi; f0 += NF) {
    const int nf = (int)conv1dt__min64(NF, hi - f0);
    double acc[NF];
    for (int f = 0; f < NF; f++) acc[f] = f < nf ? j->bsum[f0 + f] : 0;
    for (int64_t i = 0; i < k->nseg; i++) {
      const bwd_seg *sg = &k->segs[i];
      const R *d = k->dz + (sg->tile + sg->own0 - sg->p0) * F + f0;
      for (int64_t p = sg->own0; p < sg->own1; p++, d += F) {
        if (nf == NF)
          for (int f = 0; f < NF; f++) acc[f] += (double)d[f];
        else
          for (int f = 0; f < nf; f++) acc[f] += (double)d[f];
      }
    }
    for (int f = 0; f < nf; f++) j->bsum[f0 + f] = acc[f];
  }
}
