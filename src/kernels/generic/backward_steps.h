/* The backward pass's steps tiles (kernel.h's bwd_data_t and bwd_weights_t), written once for
 * every vector ISA: steps along the vectors, so few channels or filters still fill them. The
 * including file fixes REGS (its vector registers), which sets the tile sizes. */
#ifndef CONV1DT_KERNEL_BACKWARD_STEPS_H
#define CONV1DT_KERNEL_BACKWARD_STEPS_H

#include "tile_store.h"

/* bwd_data_t: MC channels x NV vectors of steps in registers (24 of 32, or 12 of 16, beside the
 * dz vectors and one broadcast); channel remainders in tiles of 4, 2 and 1. */
#define BDT_MC_MAX 8

/* dx of channels [c0, c0 + MC), steps [l0, l0 + npos): taps in order, then filters. */
INLINE void bdt_tile(const int MC, const int NV, const X(conv1dt_bwd_data_t_args) * a, int64_t c0,
                     int64_t l0, int npos) {
  V acc[BDT_MC_MAX][NV_MAX];
  UNROLL(8)
  for (int m = 0; m < MC; m++) {
    UNROLL(4)
    for (int v = 0; v < NV; v++) acc[m][v] = (V){0};
  }
  const int64_t F = a->F, s = a->s, ldq = a->ldq, ldw = a->ldw, fs = s * ldq;
  for (int k = 0; k < a->K; k++) {
    const int64_t kd = k * a->d;
    const R *zk = a->dz + kd % s * ldq + kd / s + l0;
    const R *wk = a->w + (int64_t)k * F * ldw + c0;
    for (int64_t f = 0; f < F; f++) {
      V zv[NV_MAX];
      UNROLL(4)
      for (int v = 0; v < NV; v++) zv[v] = vload(zk + f * fs + v * VL);
      UNROLL(8) /* GCC left the accumulators in memory without these */
      for (int m = 0; m < MC; m++) {
        const V b = wk[f * ldw + m] - (V){0};
        UNROLL(4)
        for (int v = 0; v < NV; v++) acc[m][v] += b * zv[v];
      }
    }
  }
  /* rows = channels, columns = the steps [l0, l0 + npos): a filters tile's store */
  finish_tile(MC, NV, acc, MC, l0, l0 + npos, a->out + c0 * a->ldo, a->ldo, 0);
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

/* bwd_weights_t: MF filters x MC channels of lane sums in registers (16 of 32, or 8 of 16, beside
 * MF dz vectors and one x vector), loaded from and stored back to acc's lanes once per chunk of
 * steps and tap; remainders in tiles of 2 and 1. */
#define BWT_MAX 6
#define BWT_CHUNK_BYTES (24 << 10)

/* The first `left` (< VL) elements of p, then `pad`: the last vector of a row, read no further
 * than the row's end. */
INLINE V vload_part(const R *p, int left, R pad) {
  R t[VL];
  for (int i = 0; i < VL; i++) t[i] = pad;
  memcpy(t, p, (size_t)left * sizeof(R));
  return vload(t);
}

/* The lanes of acc[f][c] += dz row f times x row c over steps [l0, l1), for MF filters from f0
 * and MC channels from c0 (dz rows ldz apart, acc rows lda elements of VL lanes apart); the last
 * vector of a row zero-padded (its products -0, which leave every lane's sum as it was). */
INLINE void bwt_tile(const int MF, const int MC, const R *z, int64_t ldz, const R *x, int64_t ldx,
                     R *acc, int64_t lda, int64_t l0, int64_t l1) {
  V t[BWT_MAX][BWT_MAX];
  UNROLL(4)
  for (int m = 0; m < MF; m++) {
    UNROLL(6)
    for (int c = 0; c < MC; c++) t[m][c] = vload(acc + (m * lda + c) * VL);
  }
  int64_t l = l0;
  for (; l + VL <= l1; l += VL) {
    V zv[BWT_MAX];
    UNROLL(4)
    for (int m = 0; m < MF; m++) zv[m] = vload(z + m * ldz + l);
    UNROLL(6)
    for (int c = 0; c < MC; c++) {
      const V xv = vload(x + c * ldx + l);
      UNROLL(4)
      for (int m = 0; m < MF; m++) t[m][c] += zv[m] * xv;
    }
  }
  if (l < l1) {
    const int left = (int)(l1 - l);
    V zv[BWT_MAX];
    for (int m = 0; m < MF; m++) zv[m] = vload_part(z + m * ldz + l, left, RC(0.0));
    for (int c = 0; c < MC; c++) {
      const V xv = vload_part(x + c * ldx + l, left, -RC(0.0));
      for (int m = 0; m < MF; m++) t[m][c] += zv[m] * xv;
    }
  }
  UNROLL(4)
  for (int m = 0; m < MF; m++) {
    UNROLL(6)
    for (int c = 0; c < MC; c++) vstore(acc + (m * lda + c) * VL, t[m][c]);
  }
}

/* MF filters from f0 of one tap (dz rows z, ldz apart), every channel of [c_lo, c_hi). */
INLINE void bwt_filters(const int MF, const X(conv1dt_bwd_weights_t_args) * a, const R *z,
                        int64_t ldz, R *acc, int64_t f0, int64_t l0, int64_t l1) {
  const int64_t lda = a->lda;
  z += f0 * ldz;
  acc += f0 * lda * VL;
  int64_t c0 = a->c_lo;
#define BWT(MC) bwt_tile(MF, MC, z, ldz, a->x + c0 * a->ldx, a->ldx, acc + c0 * VL, lda, l0, l1)
  if (MF == 4) /* 24 sums, 10 loads (misaligned: two L1 reads each) per 24 multiply-adds */
    for (; a->c_hi - c0 >= 6; c0 += 6) BWT(6);
  for (; a->c_hi - c0 >= 4; c0 += 4) BWT(4);
  if (a->c_hi - c0 >= 2) BWT(2), c0 += 2;
  if (a->c_hi - c0 >= 1) BWT(1);
#undef BWT
}

/* Chunk by chunk of steps, every tap: the chunk's x rows and the planes' few rows the taps
 * read (each tap's a little further along) stay in L1 for all of them. */
INLINE void bwd_weights_t_op(const int REGS, const X(conv1dt_bwd_weights_t_args) * a) {
  const int MF = REGS >= 32 ? 4 : 2;
  const int64_t s = a->s, phases = conv1dt__min64(s, a->K);
  const int64_t rows = (a->c_hi - a->c_lo) + (a->f_hi - a->f_lo) * phases;
  const int64_t fit = BWT_CHUNK_BYTES / (rows * (int64_t)sizeof(R));
  const int64_t chunk = conv1dt__max64(4, fit / VL) * VL;
  for (int64_t l0 = 0; l0 < a->n; l0 += chunk) {
    const int64_t l1 = conv1dt__min64(a->n, l0 + chunk);
    for (int k = 0; k < a->K; k++) {
      const int64_t kd = k * a->d, ldz = s * a->ldq;
      const R *z = a->dz + kd % s * a->ldq + kd / s;
      R *acc = a->acc + (int64_t)k * a->F * a->lda * VL;
      int64_t f0 = a->f_lo;
      for (; a->f_hi - f0 >= MF; f0 += MF) bwt_filters(MF, a, z, ldz, acc, f0, l0, l1);
      if (MF > 2 && a->f_hi - f0 >= 2) bwt_filters(2, a, z, ldz, acc, f0, l0, l1), f0 += 2;
      if (a->f_hi - f0 >= 1) bwt_filters(1, a, z, ldz, acc, f0, l0, l1);
    }
  }
}

#endif /* CONV1DT_KERNEL_BACKWARD_STEPS_H */
