/* The grouped-positions tiles (kernel.h's groups), for stride-1 layers whose filters fill at
 * most half a 512-bit vector: a vector holds G groups of VL/G lanes, group g for position
 * v + g*d. Position v + g*d takes x[i] * W[k] with i + k*d = v + g*d, so input row
 * i = v + (G-1-jj)*d feeds every group at once through virtual tap jj, whose group g holds
 * W[jj - (G-1) + g] (zero outside the kernel; the layer's packed_g). K + G - 1 such taps do the
 * work of G*K half-empty ones. Low positions v = b + a*G*d (b < d) cover every position once;
 * a tile takes MR consecutive a, so its input rows are G*d apart. AVX-512 only: the stores are
 * masked per group. */
#ifndef CONV1DT_KERNEL_GROUPS_H
#define CONV1DT_KERNEL_GROUPS_H

#include "../generic/reuse.h"

#include <immintrin.h>

INLINE void mstore(R *p, unsigned mask, V v) {
#if CONV1DT_PRECISION == 32
  _mm512_mask_storeu_ps(p, (__mmask16)mask, (__m512)v);
#else
  _mm512_mask_storeu_pd(p, (__mmask8)mask, (__m512d)v);
#endif
}

/* RG, RT: G and ntaps as constants, for racc (rows G*d apart feed several virtual taps), or 0.
 * Scalars, not the argument struct, as the filters tiles (register allocation). */
INLINE void gtile(const int RG, const int RT, const R *rows, int64_t C, int64_t d, int G,
                  const R *wg, int ntaps, int64_t p0, int64_t n, unsigned fmask, R *out,
                  int64_t ldo, int relu) {
  enum { MR = CONV1DT_DIRECT_MR };
  const int64_t ldr = G * d * C, fp = VL / G;
  V acc[MR][NV_MAX];
  const V b = vload(wg + (int64_t)ntaps * C * VL);
  for (int m = 0; m < MR; m++) acc[m][0] = b;
  if (RG) /* tile row m, virtual tap j: row p0 + (m*G + G-1-j) * d */
    racc(MR, RT, RG, 1, rows + (p0 - (RT - RG) * d) * C, d * C, C, wg, VL, C * VL, acc);
  for (int j = 0; j < ntaps && !RG; j++) {
    const R *xr = rows + (p0 + (G - 1 - j) * d) * C;
    const R *w = wg + (int64_t)j * C * VL;
    gtap(MR, xr, ldr, C, w, VL, acc);
  }
  if (relu)
    for (int m = 0; m < MR; m++) acc[m][0] = relu_v(acc[m][0]);
  for (int m = 0; m < MR; m++)
    for (int g = 0; g < G; g++) {
      const int64_t p = p0 + (m * G + g) * d;
      /* group g's lanes land on position p: a masked store from fp * g elements before it
       * (masked-off lanes are neither written nor faulted on) */
      if (p < n)
        mstore((R *)((uintptr_t)(out + p * ldo) - (uintptr_t)(g * fp) * sizeof(R)),
               fmask << (g * fp), acc[m][0]);
    }
}

/* All the chunk's tiles through gtile's copy for RG and RT. The d tiles of one a0 read the same
 * lines of input (rows b + a*gd + e), so they go together and the tiles walk through the chunk
 * once, in order. The last tile moves back to end at A, recomputing a few positions, so that
 * no tile reads rows past the last position's. */
INLINE void gpass(const int RG, const int RT, const X(conv1dt_groups_args) * a) {
  enum { MR = CONV1DT_DIRECT_MR };
  const R *rows = a->rows, *wg = a->wg;
  const int64_t C = a->C, n = a->n, d = a->d, ldo = a->ldo, gd = a->G * d;
  const int G = a->G, ntaps = a->ntaps, relu = a->relu;
  R *out = a->out;
  const unsigned fmask = (1u << a->F) - 1;
  for (int64_t a0 = 0; a0 < (n + gd - 1) / gd; a0 += MR)
    for (int64_t b = 0; b < d; b++) {
      const int64_t A = (n - b + gd - 1) / gd; /* low positions b + a*gd below n; >= MR */
      if (a0 < A)
        gtile(RG, RT, rows, C, d, G, wg, ntaps, b + (a0 + MR > A ? A - MR : a0) * gd, n, fmask, out,
              ldo, relu);
    }
}

/* The whole operation: two groups with 4 to 8 virtual taps take racc's copies. */
INLINE void groups_pass(const X(conv1dt_groups_args) * a) {
  if (a->G == 2) switch (a->ntaps) {
    case 4:
      gpass(2, 4, a);
      return;
    case 5:
      gpass(2, 5, a);
      return;
    case 6:
      gpass(2, 6, a);
      return;
    case 7:
      gpass(2, 7, a);
      return;
    case 8:
      gpass(2, 8, a);
      return;
    default:
      break;
    }
  gpass(0, 0, a);
}

#endif /* CONV1DT_KERNEL_GROUPS_H */
