/* The backward pass's steps tiles (kernel.h's bwd_data_t and bwd_weights_t), written once for
 * every vector ISA: steps along the vectors, so few channels or filters still fill them. The
 * including file fixes REGS (its vector registers), which sets the tile sizes. */
#ifndef CONV1DT_KERNEL_BACKWARD_STEPS_H
#define CONV1DT_KERNEL_BACKWARD_STEPS_H

#include "vec.h"

/* bwd_data_t: MC channels x NV vectors of steps in registers (24 of 32, or 12 of 16, beside the
 * dz vectors and one broadcast); channel remainders in tiles of 4, 2 and 1. */
#define BDT_MC_MAX 8

/* dx of channels [c0, c0 + MC), steps [l0, l0 + npos): taps in order, then filters. */
INLINE void bdt_tile(const int MC, const int NV, const X(conv1dt_bwd_data_t_args) * a,
                     int64_t c0, int64_t l0, int npos) {
  V acc[BDT_MC_MAX][NV_MAX];
  for (int m = 0; m < MC; m++)
    for (int v = 0; v < NV; v++) acc[m][v] = (V){0};
  const int64_t F = a->F, s = a->s, ldq = a->ldq, ldw = a->ldw, fs = s * ldq;
  for (int k = 0; k < a->K; k++) {
    const int64_t kd = k * a->d;
    const R *zk = a->dz + kd % s * ldq + kd / s + l0;
    const R *wk = a->w + (int64_t)k * F * ldw + c0;
    for (int64_t f = 0; f < F; f++) {
      V zv[NV_MAX];
      for (int v = 0; v < NV; v++) zv[v] = vload(zk + f * fs + v * VL);
      for (int m = 0; m < MC; m++) {
        const V b = wk[f * ldw + m] - (V){0};
        for (int v = 0; v < NV; v++) acc[m][v] += b * zv[v];
      }
    }
  }
  FULL_UNROLL
  for (int m = 0; m < MC; m++) {
    R *o = a->out + (c0 + m) * a->ldo + l0;
    FULL_UNROLL
    for (int v = 0; v < NV; v++) {
      const int left = npos - v * VL;
      if (left >= VL) {
        vstore(o + v * VL, acc[m][v]);
      } else if (left > 0) {
        R part[VL];
        vstore(part, acc[m][v]);
        memcpy(o + v * VL, part, (size_t)left * sizeof(R));
      }
    }
  }
}

/* Channels [c0, c0 + MC) over all n steps: 3 vectors at a time, then as few as cover the rest. */
INLINE void bdt_channels(const int MC, const X(conv1dt_bwd_data_t_args) * a, int64_t c0) {
  for (int64_t l0 = 0; l0 < a->n;) {
    const int64_t rem = a->n - l0;
    const int nv = rem > 2 * VL ? 3 : rem > VL ? 2 : 1;
    const int npos = rem < nv * VL ? (int)rem : nv * VL;
    if (nv == 3)
      bdt_tile(MC, 3, a, c0, l0, npos);
    else if (nv == 2)
      bdt_tile(MC, 2, a, c0, l0, npos);
    else
      bdt_tile(MC, 1, a, c0, l0, npos);
    l0 += npos;
  }
}

INLINE void bwd_data_t_op(const int REGS, const X(conv1dt_bwd_data_t_args) * a) {
  const int MC = REGS >= 32 ? 8 : 4;
  int64_t c0 = 0;
  for (; a->C - c0 >= MC; c0 += MC) bdt_channels(MC, a, c0);
  if (MC > 4 && a->C - c0 >= 4) bdt_channels(4, a, c0), c0 += 4;
  if (a->C - c0 >= 2) bdt_channels(2, a, c0), c0 += 2;
  if (a->C - c0 >= 1) bdt_channels(1, a, c0);
}

/* bwd_weights_t: MF filters x MC channels of vector sums over the steps (16 of 32 registers,
 * or 8 of 16, beside MF dz vectors and one x vector); remainders in tiles of 2 and 1. */
#define BWT_MAX 4

/* The lanes of v summed, always in the same order (a tree: halves, then quarters...). */
INLINE R hsum(V v) {
  R t[VL];
  vstore(t, v);
  for (int w = VL / 2; w >= 1; w /= 2)
    for (int i = 0; i < w; i++) t[i] += t[i + w];
  return t[0];
}

/* The first `left` (< VL) elements of p, then `pad`: the last vector of a row, read no further
 * than the row's end. */
INLINE V vload_part(const R *p, int left, R pad) {
  R t[VL];
  for (int i = 0; i < VL; i++) t[i] = pad;
  memcpy(t, p, (size_t)left * sizeof(R));
  return vload(t);
}

/* acc[f][c] += the sum over the steps of dz row f times x row c, for MF filters from f0 and MC
 * channels from c0. */
INLINE void bwt_tile(const int MF, const int MC, const X(conv1dt_bwd_weights_t_args) * a,
                     int64_t f0, int64_t c0) {
  V t[BWT_MAX][BWT_MAX];
  for (int m = 0; m < MF; m++)
    for (int c = 0; c < MC; c++) t[m][c] = -(V){0}; /* -0: a sum of -0 terms stays -0 */
  const R *z = a->dz + f0 * a->ldz, *x = a->x + c0 * a->ldx;
  const int64_t ldz = a->ldz, ldx = a->ldx, n = a->n;
  int64_t l = 0;
  for (; l + VL <= n; l += VL) {
    V zv[BWT_MAX];
    for (int m = 0; m < MF; m++) zv[m] = vload(z + m * ldz + l);
    for (int c = 0; c < MC; c++) {
      const V xv = vload(x + c * ldx + l);
      for (int m = 0; m < MF; m++) t[m][c] += zv[m] * xv;
    }
  }
  if (l < n) {
    const int left = (int)(n - l);
    V zv[BWT_MAX];
    for (int m = 0; m < MF; m++) zv[m] = vload_part(z + m * ldz + l, left, RC(0.0));
    for (int c = 0; c < MC; c++) {
      const V xv = vload_part(x + c * ldx + l, left, -RC(0.0)); /* padding products: -0 */
      for (int m = 0; m < MF; m++) t[m][c] += zv[m] * xv;
    }
  }
  for (int m = 0; m < MF; m++)
    for (int c = 0; c < MC; c++) a->acc[(f0 + m) * a->lda + c0 + c] += hsum(t[m][c]);
}

INLINE void bwt_filters(const int MF, const X(conv1dt_bwd_weights_t_args) * a, int64_t f0) {
  int64_t c0 = 0;
  for (; a->C - c0 >= 4; c0 += 4) bwt_tile(MF, 4, a, f0, c0);
  if (a->C - c0 >= 2) bwt_tile(MF, 2, a, f0, c0), c0 += 2;
  if (a->C - c0 >= 1) bwt_tile(MF, 1, a, f0, c0);
}

INLINE void bwd_weights_t_op(const int REGS, const X(conv1dt_bwd_weights_t_args) * a) {
  const int MF = REGS >= 32 ? 4 : 2;
  int64_t f0 = a->f_lo;
  for (; a->f_hi - f0 >= MF; f0 += MF) bwt_filters(MF, a, f0);
  if (MF > 2 && a->f_hi - f0 >= 2) bwt_filters(2, a, f0), f0 += 2;
  if (a->f_hi - f0 >= 1) bwt_filters(1, a, f0);
}

#endif /* CONV1DT_KERNEL_BACKWARD_STEPS_H */
