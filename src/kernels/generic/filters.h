/* The filters tiles (channels_last, filters along the vectors), written once for every vector
 * ISA: a register tile of MR positions x NV vectors of filters accumulates over taps and
 * channels, seeded with the bias, and is stored once. The including file fixes REGS (its vector
 * registers: 16 or 32), which sets the tile heights and whether reuse.h's tiles run. */
#ifndef CONV1DT_KERNEL_FILTERS_H
#define CONV1DT_KERNEL_FILTERS_H

#include "reuse.h"

/* Tile heights for NV vectors of filters: 12 accumulators plus weights and one broadcast fit 16
 * registers, 24 fit 32; one vector takes the tallest tile either way. */
INLINE int filters_mr(const int REGS, const int NV) {
  static const int mr16[4] = {CONV1DT_DIRECT_MR, 6, 4, 3}, mr32[4] = {CONV1DT_DIRECT_MR, 12, 8, 6};
  return REGS >= 32 ? mr32[NV - 1] : mr16[NV - 1];
}

/* Rows m < mr of the tile at positions n0.. and filters f0..: input row i at rows + i * C, tap
 * j's weights for channel c at taps[j].w + c * ldw. With 32 registers a one-vector tile takes
 * its channels through gtap (broadcasts at constant offsets). Scalars, not the argument struct:
 * the tiles' register allocation depends on it (with the struct GCC spilled a weight vector of
 * the 6 x 4 tiles). */
INLINE void tile(const int REGS, const int MR, const int NV, const R *rows, int64_t C,
                 const conv1dt_direct_tap *taps, int ntaps, int64_t n0, int mr, int64_t f0,
                 int64_t F, int64_t ldw, const R *bias, R *out, int64_t ldo, int relu,
                 conv1dt_prefetch *pf) {
  V acc[CONV1DT_DIRECT_MR][NV_MAX];
  /* row by row: vector by vector, clang kept one-vector tiles in memory (a one-trip loop's
   * index outlived the unrolling) */
  for (int m = 0; m < MR; m++)
    for (int v = 0; v < NV; v++) acc[m][v] = vload(bias + f0 + v * VL);
  for (int j = 0; j < ntaps; j++) {
    const R *xr = rows + (n0 + taps[j].off) * C;
    const R *w = (const R *)taps[j].w + f0;
    if (REGS >= 32 && NV == 1) {
      gtap(MR, xr, C, C, w, ldw, acc);
      continue;
    }
    for (int64_t c = 0; c < C; c++) {
      V wv[NV_MAX];
      if (pf) conv1dt__prefetch_some(pf); /* one line (phase sets per_tile = 1) */
      for (int v = 0; v < NV; v++) wv[v] = vload(w + c * ldw + v * VL);
      for (int m = 0; m < MR; m++) {
        const V xb = xr[m * C + c] - (V){0};
        for (int v = 0; v < NV; v++) acc[m][v] += xb * wv[v];
      }
    }
  }
  finish_tile(MR, NV, acc, mr, f0, F, out, ldo, relu);
}

/* The phase's positions, MR at a time, for the NV vectors of filters from f0; the weights'
 * prefetch (pf) rides on the tiles from position pf_from on. */
INLINE void tiles(const int REGS, const int NV, const R *rows, int64_t C,
                  const conv1dt_direct_tap *taps, int ntaps, int64_t n_lo, int64_t n_hi, int64_t f0,
                  int64_t F, int64_t ldw, const R *bias, R *out, int64_t ldo, int relu,
                  conv1dt_prefetch *pf, int64_t pf_from) {
  const int MR = filters_mr(REGS, NV);
  for (int64_t n0 = n_lo; n0 < n_hi; n0 += MR) {
    const int mr = n_hi - n0 < MR ? (int)(n_hi - n0) : MR;
    tile(REGS, MR, NV, rows, C, taps, ntaps, n0, mr, f0, F, ldw, bias, out + (n0 - n_lo) * ldo, ldo,
         relu, NV == 4 && n0 >= pf_from ? pf : NULL);
  }
}

/* The whole operation (kernel.h's filters). */
INLINE void filters_phase(const int REGS, const X(conv1dt_filters_args) * a) {
  const R *rows = a->rows, *bias = a->bias;
  const conv1dt_direct_tap *taps = a->taps;
  const int ntaps = a->ntaps, relu = a->relu;
  const int64_t C = a->C, n_lo = a->n_lo, n_hi = a->n_hi, F = a->F, ldw = a->ldw, ldo = a->ldo;
  R *out = a->out;
  conv1dt_prefetch *pf = a->pf;
  const int64_t nv_all = (F + VL - 1) / VL;
  /* pf's lines, one per channel and tap, during the last four-vector tiles that have room for
   * them all: asked for through the whole sweep, they left L1 again before they were used, the
   * tiles' input rows streaming through in between */
  int64_t pf_from = n_hi;
  if (pf && nv_all >= 4 && ntaps > 0) {
    const int64_t lines = pf->rows * ((pf->bytes + 63) / 64);
    const int64_t tiles = (lines + ntaps * C - 1) / (ntaps * C) + 1;
    pf_from = n_hi - tiles * filters_mr(REGS, 4);
    pf->per_tile = 1;
  }
  const int dd = REGS >= 32 ? tap_spacing(taps, ntaps) : 0;
  for (int64_t f0 = 0; f0 < F;) {
    const int64_t nv = nv_all - f0 / VL;
    /* one or two vectors with 4 to 8 taps: rtile's one broadcast per row, for every tap */
    if (REGS >= 32 && nv <= 2 && rphase(dd, a, f0)) {
      if (nv == 2) rphase(dd, a, f0 + VL);
      f0 += nv * VL;
      continue;
    }
    /* Filters in chunks of up to NV_MAX vectors; the register tile gets taller as it narrows. */
    if (nv >= 4) {
      tiles(REGS, 4, rows, C, taps, ntaps, n_lo, n_hi, f0, F, ldw, bias, out, ldo, relu, pf,
            pf_from);
      f0 += 4 * VL;
    } else if (nv == 3) {
      tiles(REGS, 3, rows, C, taps, ntaps, n_lo, n_hi, f0, F, ldw, bias, out, ldo, relu, pf,
            pf_from);
      f0 += 3 * VL;
    } else if (nv == 2) {
      tiles(REGS, 2, rows, C, taps, ntaps, n_lo, n_hi, f0, F, ldw, bias, out, ldo, relu, pf,
            pf_from);
      f0 += 2 * VL;
    } else {
      tiles(REGS, 1, rows, C, taps, ntaps, n_lo, n_hi, f0, F, ldw, bias, out, ldo, relu, pf,
            pf_from);
      f0 += VL;
    }
  }
}

#endif /* CONV1DT_KERNEL_FILTERS_H */
