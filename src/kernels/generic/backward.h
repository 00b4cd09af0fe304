/* The backward pass's tiles (kernel.h's bwd_data and bwd_weights), written once for every vector
 * ISA: channels along the vectors, a register tile of MR rows x NV vectors of channels. The
 * including file fixes REGS (its vector registers), which sets the tile heights as filters.h's. */
#ifndef CONV1DT_KERNEL_BACKWARD_H
#define CONV1DT_KERNEL_BACKWARD_H

#include "filters.h"
#include "tile_store.h"

/* dx rows l0 .. l0 + mr - 1 (mr <= MR), channels c0 ..: a row reads dz rows l * s + k * d, which
 * the driver's tile holds (its slack covers the rows a short tile computes but does not store). */
INLINE void bdata_tile(const int MR, const int NV, const R *dz, int64_t F, int64_t s, int64_t d,
                       int K, const R *w, int64_t ldw, int64_t l0, int mr, int64_t c0, int64_t C,
                       R *out, int64_t ldo) {
  V acc[CONV1DT_DIRECT_MR][NV_MAX];
  for (int m = 0; m < MR; m++)
    for (int v = 0; v < NV; v++) acc[m][v] = (V){0};
  const int64_t rs = s * F;
  for (int k = 0; k < K; k++) {
    const R *zr = dz + (l0 * s + k * d) * F;
    const R *wk = w + (int64_t)k * F * ldw + c0;
    for (int64_t f = 0; f < F; f++) {
      V wv[NV_MAX];
      for (int v = 0; v < NV; v++) wv[v] = vload(wk + f * ldw + v * VL);
      for (int m = 0; m < MR; m++) {
        const V b = zr[m * rs + f] - (V){0};
        for (int v = 0; v < NV; v++) acc[m][v] += b * wv[v];
      }
    }
  }
  finish_tile(MR, NV, acc, mr, c0, C, out + l0 * ldo, ldo, 0);
}

INLINE void bdata_tiles(const int REGS, const int NV, const X(conv1dt_bwd_data_args) * a,
                        int64_t c0) {
  const int MR = filters_mr(REGS, NV);
  for (int64_t l0 = 0; l0 < a->n; l0 += MR) {
    const int mr = a->n - l0 < MR ? (int)(a->n - l0) : MR;
    bdata_tile(MR, NV, a->dz, a->F, a->s, a->d, a->K, a->w, a->ldw, l0, mr, c0, a->C, a->out,
               a->ldo);
  }
}

INLINE void bwd_data_op(const int REGS, const X(conv1dt_bwd_data_args) * a) {
  const int64_t nv_all = (a->C + VL - 1) / VL;
  for (int64_t c0 = 0; c0 < a->C;) {
    const int64_t nv = nv_all - c0 / VL;
    if (nv >= 4) {
      bdata_tiles(REGS, 4, a, c0);
      c0 += 4 * VL;
    } else if (nv == 3) {
      bdata_tiles(REGS, 3, a, c0);
      c0 += 3 * VL;
    } else if (nv == 2) {
      bdata_tiles(REGS, 2, a, c0);
      c0 += 2 * VL;
    } else {
      bdata_tiles(REGS, 1, a, c0);
      c0 += VL;
    }
  }
}

/* Gradient rows f0 .. f0 + mr - 1 (mr <= MR) of one tap, channels c0 ..: loaded, summed over the
 * n steps, stored back. Rows past mr read dz lanes the tile's slack holds and are not stored. */
INLINE void bweights_tile(const int MR, const int NV, const R *dz, int64_t rs, const R *x,
                          int64_t ldx, int64_t n, int64_t f0, int mr, int64_t c0, R *acc,
                          int64_t ldw) {
  V t[CONV1DT_DIRECT_MR][NV_MAX];
  FULL_UNROLL
  for (int m = 0; m < MR; m++)
    for (int v = 0; v < NV; v++)
      t[m][v] = m < mr ? vload(acc + (f0 + m) * ldw + c0 + v * VL) : (V){0};
  for (int64_t l = 0; l < n; l++) {
    V xv[NV_MAX];
    for (int v = 0; v < NV; v++) xv[v] = vload(x + l * ldx + c0 + v * VL);
    const R *zr = dz + l * rs + f0;
    for (int m = 0; m < MR; m++) {
      const V b = zr[m] - (V){0};
      for (int v = 0; v < NV; v++) t[m][v] += b * xv[v];
    }
  }
  FULL_UNROLL
  for (int m = 0; m < MR; m++) {
    STOP_IF(m >= mr);
    for (int v = 0; v < NV; v++) vstore(acc + (f0 + m) * ldw + c0 + v * VL, t[m][v]);
  }
}

/* Rows [f_lo, f_hi) for NV vectors of channels from c0: MR at a time, and a one-vector
 * remainder in a tile of 8 or 4 rows (few filters, e.g. 8, would otherwise leave a third of a
 * 12-row tile idle). */
INLINE void bweights_rows(const int REGS, const int NV, const X(conv1dt_bwd_weights_args) * a,
                          int64_t c0) {
  const int MR = filters_mr(REGS, NV);
  const int64_t rs = a->s * a->F;
  int64_t f0 = a->f_lo;
  for (; a->f_hi - f0 >= MR; f0 += MR)
    bweights_tile(MR, NV, a->dz, rs, a->x, a->ldx, a->n, f0, MR, c0, a->acc, a->ldw);
  const int left = (int)(a->f_hi - f0);
  if (left <= 0) return;
  if (NV == 1 && left <= 4)
    bweights_tile(4, 1, a->dz, rs, a->x, a->ldx, a->n, f0, left, c0, a->acc, a->ldw);
  else if (NV == 1 && left <= 8)
    bweights_tile(8, 1, a->dz, rs, a->x, a->ldx, a->n, f0, left, c0, a->acc, a->ldw);
  else
    bweights_tile(MR, NV, a->dz, rs, a->x, a->ldx, a->n, f0, left, c0, a->acc, a->ldw);
}

INLINE void bwd_weights_op(const int REGS, const X(conv1dt_bwd_weights_args) * a) {
  const int64_t nv_all = a->ldw / VL;
  for (int64_t c0 = 0; c0 < a->ldw;) {
    const int64_t nv = nv_all - c0 / VL;
    if (nv >= 4) {
      bweights_rows(REGS, 4, a, c0);
      c0 += 4 * VL;
    } else if (nv == 3) {
      bweights_rows(REGS, 3, a, c0);
      c0 += 3 * VL;
    } else if (nv == 2) {
      bweights_rows(REGS, 2, a, c0);
      c0 += 2 * VL;
    } else {
      bweights_rows(REGS, 1, a, c0);
      c0 += VL;
    }
  }
}

#endif /* CONV1DT_KERNEL_BACKWARD_H */
