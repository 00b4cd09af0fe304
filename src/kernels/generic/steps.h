/* The steps tiles (channels_first, steps along the vectors), written once for every vector
 * ISA: MF filters x NV vectors of consecutive positions of a phase, read straight from the
 * input's channel rows, with the weights broadcast from the layer's packed_t (tap j of filter
 * group q at taps[j].w + q * gstride: MF weights per channel, one contiguous run per tile). The
 * including file fixes MFX: MF, or 2 * MF where 32 registers hold two groups' accumulators
 * (each input vector then serves 8 filters, and most of a phase's input vectors are
 * misaligned loads that straddle two lines). */
#ifndef CONV1DT_KERNEL_STEPS_H
#define CONV1DT_KERNEL_STEPS_H

#include "vec.h"

#define MF CONV1DT_DIRECT_MF
#define MFX_MAX (2 * CONV1DT_DIRECT_MF)

/* The taps' sums into a tile of MFT filters from f0 (the next group's for those past MF):
 * channel rows xc + c * ldx, plus each tap's offset. */
INLINE void taps_t(const int MFT, const int NV, const R *xc, int64_t ldx, int64_t C,
                   const conv1dt_direct_tap *taps, int ntaps, int64_t f0, int64_t gstride,
                   V acc[][NV_MAX]) {
  for (int j = 0; j < ntaps; j++) {
    const R *xr = xc + taps[j].off;
    const R *w = (const R *)taps[j].w + f0 / MF * gstride, *w2 = w + gstride;
    for (int64_t c = 0; c < C; c++) {
      V xv[NV_MAX];
      for (int v = 0; v < NV; v++) xv[v] = vload(xr + c * ldx + v * VL);
      for (int m = 0; m < MFT; m++) {
        const V wb = (m < MF ? w : w2)[c * MF + m % MF] - (V){0};
        for (int v = 0; v < NV; v++) acc[m][v] += wb * xv[v];
      }
    }
  }
}

/* One tile: MFT filters computed (mf of them stored), npos positions from n0, into o (filter f
 * at o + f * ldo, positions s apart). MFT is one where a group has a single filter, whose
 * registers then hold more vectors of positions. Scalars, as the filters tiles. */
INLINE void tile_t(const int MFT, const int NV, const R *xc, int64_t ldx, int64_t C,
                   const conv1dt_direct_tap *taps, int ntaps, int64_t n0, int64_t f0, int mf,
                   int npos, int64_t gstride, const R *bias, R *o, int64_t ldo, int64_t s,
                   int relu) {
  V acc[MFX_MAX][NV_MAX];
  for (int m = 0; m < MFT; m++)
    for (int v = 0; v < NV; v++) acc[m][v] = bias[f0 + m] - (V){0};
  taps_t(MFT, NV, xc + n0, ldx, C, taps, ntaps, f0, gstride, acc);
  if (relu)
    for (int m = 0; m < MFT; m++)
      for (int v = 0; v < NV; v++) acc[m][v] = relu_v(acc[m][v]);
  FULL_UNROLL
  for (int m = 0; m < MFT; m++) {
    STOP_IF(m >= mf);
    R *om = o + (f0 + m) * ldo;
    FULL_UNROLL
    for (int v = 0; v < NV; v++) {
      const int left = npos - v * VL;
      STOP_IF(left <= 0);
      if (s == 1 && left >= VL) {
        vstore(om + v * VL, acc[m][v]);
      } else {
        R part[VL];
        vstore(part, acc[m][v]);
        for (int e = 0; e < VL && e < left; e++) om[(v * VL + e) * s] = part[e];
      }
    }
  }
}

/* The lines of mf rows of out (ldo apart) that elements [0, n) from o on occupy, asked for with
 * intent to write: the next tile's part of y, which comes from memory. */
INLINE void prefetch_out(const R *o, int64_t ldo, int mf, int64_t n) {
  for (int m = 0; m < mf; m++) {
    const char *row = (const char *)(o + m * ldo);
    for (int64_t b = 0; b < n * (int64_t)sizeof(R); b += 64) __builtin_prefetch(row + b, 1, 2);
    __builtin_prefetch(row + (n * (int64_t)sizeof(R) - 1), 1, 2);
  }
}

/* The filters of the tile group from f0: MFX while that many are left, else up to MF. */
INLINE int group_width(const int MFX, int64_t F, int64_t f0) {
  return F - f0 >= MFX ? MFX : (F - f0 < MF ? (int)(F - f0) : MF);
}

/* The whole operation (kernel.h's steps). */
INLINE void steps_phase(const int MFX, const X(conv1dt_steps_args) * a) {
  const R *xc = a->xc, *bias = a->bias;
  const conv1dt_direct_tap *taps = a->taps;
  const int ntaps = a->ntaps, relu = a->relu, out_is_y = a->out_is_y;
  const int64_t ldx = a->ldx, C = a->C, n_lo = a->n_lo, n_hi = a->n_hi, F = a->F;
  const int64_t gstride = a->gstride, ldo = a->ldo, s = a->s;
  R *out = a->out;
  conv1dt_prefetch *pf = a->pf;
  int mf;
  for (int64_t f0 = 0; f0 < F; f0 += mf) {
    mf = group_width(MFX, F, f0);
    /* a group of a single filter (F = 1, or the last of F = 4k + 1): tiles of up to 4 vectors
     * of positions, the group's other three broadcasts and multiply-adds skipped (two filters
     * in 2 x 4-vector tiles were slower than the 4 x 3 ones) */
    const int few = mf == 1;
    for (int64_t n0 = n_lo; n0 < n_hi;) {
      /* 3 vectors of positions while they last (4 for one filter), then as few as cover the
       * rest */
      const int64_t rem = n_hi - n0;
      const int nv = few && rem > 3 * VL ? 4 : rem > 2 * VL ? 3 : (rem > VL ? 2 : 1);
      const int npos = rem < nv * VL ? (int)rem : nv * VL;
      R *o = out + (n0 - n_lo) * s;
      conv1dt__prefetch_some(pf);
      if (out_is_y) { /* y's next tile, if any */
        const int64_t next = n0 + npos, f1 = f0 + mf;
        if (next < n_hi)
          prefetch_out(o + f0 * ldo + npos * s, ldo, mf,
                       (conv1dt__min64(3 * VL, n_hi - next) - 1) * s + 1);
        else if (f1 < F)
          prefetch_out(out + f1 * ldo, ldo, group_width(MFX, F, f1),
                       (conv1dt__min64(3 * VL, n_hi - n_lo) - 1) * s + 1);
      }
      const int two = MFX > MF && mf > MF; /* two groups */
      if (two && nv == 3)
        tile_t(MFX, 3, xc, ldx, C, taps, ntaps, n0, f0, mf, npos, gstride, bias, o, ldo, s, relu);
      else if (two && nv == 2)
        tile_t(MFX, 2, xc, ldx, C, taps, ntaps, n0, f0, mf, npos, gstride, bias, o, ldo, s, relu);
      else if (two)
        tile_t(MFX, 1, xc, ldx, C, taps, ntaps, n0, f0, mf, npos, gstride, bias, o, ldo, s, relu);
      else if (few && nv == 4)
        tile_t(1, 4, xc, ldx, C, taps, ntaps, n0, f0, mf, npos, gstride, bias, o, ldo, s, relu);
      else if (few && nv == 3)
        tile_t(1, 3, xc, ldx, C, taps, ntaps, n0, f0, mf, npos, gstride, bias, o, ldo, s, relu);
      else if (few)
        tile_t(1, 2, xc, ldx, C, taps, ntaps, n0, f0, mf, npos, gstride, bias, o, ldo, s, relu);
      else if (nv == 3)
        tile_t(MF, 3, xc, ldx, C, taps, ntaps, n0, f0, mf, npos, gstride, bias, o, ldo, s, relu);
      else if (nv == 2)
        tile_t(MF, 2, xc, ldx, C, taps, ntaps, n0, f0, mf, npos, gstride, bias, o, ldo, s, relu);
      else
        tile_t(MF, 1, xc, ldx, C, taps, ntaps, n0, f0, mf, npos, gstride, bias, o, ldo, s, relu);
      n0 += npos;
    }
  }
}

/* steps2: one tile for both phases of the same steps q. Position p = 2q + rho belongs to phase
 * rho, so the tile keeps two sets of accumulators (4 filters x 3 vectors of q each: 24 of 32
 * registers) and zips them into whole vectors of consecutive positions before storing, where
 * the steps tiles would store each phase's positions 2 apart or go through planes. */
INLINE void tile_t2(const int NV, const X(conv1dt_steps2_args) * a, int64_t q0, int64_t f0,
                    int mf) {
  enum { S = 2 };
  const int64_t n = a->n, ldo = a->ldo;
  V acc[S][MF][NV_MAX];
  for (int r = 0; r < S; r++)
    for (int m = 0; m < MF; m++)
      for (int v = 0; v < NV; v++) acc[r][m][v] = a->bias[f0 + m] - (V){0};
  const conv1dt_direct_tap *tp = a->taps;
  UNROLL(2)
  for (int r = 0; r < S; r++) {
    taps_t(MF, NV, a->xc + q0, a->ldx, a->C, tp, a->ntaps[r], f0, a->gstride, acc[r]);
    tp += a->ntaps[r];
  }
  for (int m = 0; m < MF; m++) {
    STOP_IF(m >= mf);
    R *o = a->out + (f0 + m) * ldo + q0 * S;
    for (int v = 0; v < NV; v++) {
      /* two vectors of consecutive positions from vector v of both phases */
      const V z[S] = {zip_lo(acc[0][m][v], acc[1][m][v]), zip_hi(acc[0][m][v], acc[1][m][v])};
      for (int e = 0; e < S; e++) {
        const int64_t p = (q0 + v * VL) * S + e * VL; /* position of z[e]'s first lane */
        const V zv = a->relu ? relu_v(z[e]) : z[e];
        if (p + VL <= n) {
          vstore(o + (v * VL * S + e * VL), zv);
        } else if (p < n) {
          R part[VL];
          vstore(part, zv);
          memcpy(o + (v * VL * S + e * VL), part, (size_t)(n - p) * sizeof(R));
        }
      }
    }
  }
}

/* The whole operation (kernel.h's steps2). */
INLINE void steps2_phases(const X(conv1dt_steps2_args) * a) {
  enum { S = 2, NVT = 3 };
  const int64_t n = a->n, F = a->F, ldo = a->ldo;
  const int64_t nq = (n + S - 1) / S; /* steps q: positions q*S + rho */
  for (int64_t f0 = 0; f0 < F; f0 += MF) {
    const int mf = F - f0 < MF ? (int)(F - f0) : MF;
    for (int64_t q0 = 0; q0 < nq;) {
      const int64_t rem = nq - q0;
      const int nv = rem >= NVT * VL ? NVT : (int)((rem + VL - 1) / VL);
      conv1dt__prefetch_some(a->pf);
      { /* y's next tile, if any (see steps_phase) */
        const int64_t q1 = q0 + nv * VL, f1 = f0 + MF;
        if (q1 < nq)
          prefetch_out(a->out + f0 * ldo + q1 * S, ldo, mf,
                       conv1dt__min64(NVT * VL * S, n - q1 * S));
        else if (f1 < F)
          prefetch_out(a->out + f1 * ldo, ldo, F - f1 < MF ? (int)(F - f1) : MF,
                       conv1dt__min64(NVT * VL * S, n));
      }
      if (nv == 3)
        tile_t2(3, a, q0, f0, mf);
      else if (nv == 2)
        tile_t2(2, a, q0, f0, mf);
      else
        tile_t2(1, a, q0, f0, mf);
      q0 += nv * VL;
    }
  }
}

#endif /* CONV1DT_KERNEL_STEPS_H */
