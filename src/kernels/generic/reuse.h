/* Tiles that make one load serve several multiply-adds, for ISAs with 32 vector registers
 * (filters.h and groups.h call them only there): gblock keeps a block of channels' weights in
 * registers and takes each input row's broadcasts at constant offsets; racc broadcasts an input
 * row once for every tap it feeds. With 16 registers the accumulators and weights do not fit. */
#ifndef CONV1DT_KERNEL_REUSE_H
#define CONV1DT_KERNEL_REUSE_H

#include "tile_store.h"

/* CB channels of one tap into a one-vector-wide tile: their weights (ldw apart) in registers,
 * then one input row (ldr apart) at a time through a pointer of its own, so that every
 * multiply-add reads its broadcast at a constant offset: indexed memory operands are split in
 * two by the core. */
enum { GB = 8 };
INLINE void gblock(const int MR, const int CB, const R *xr, int64_t ldr, const R *w, int64_t ldw,
                   V acc[][NV_MAX]) {
  V wv[GB];
  for (int c = 0; c < CB; c++) wv[c] = vload(w + c * ldw);
  UNROLL(12)
  for (int m = 0; m < MR; m++) {
    const R *p = xr + m * ldr;
    __asm__("" : "+r"(p)); /* keeps p a base register: no index in the operands below */
    UNROLL(8)
    for (int c = 0; c < CB; c++) acc[m][0] += (p[c] - (V){0}) * wv[c];
  }
}

/* A tap's C channels through gblock: blocks of GB, then one block of exactly the channels left
 * (cb is a constant in each unrolled copy of its loop, so that block's loops unroll too). */
INLINE void gtap(const int MR, const R *xr, int64_t ldr, int64_t C, const R *w, int64_t ldw,
                 V acc[][NV_MAX]) {
  int64_t c = 0;
  for (; c + GB <= C; c += GB) gblock(MR, GB, xr + c, ldr, w + c * ldw, ldw, acc);
  UNROLL(8)
  for (int cb = 1; cb < GB; cb++)
    if (C - c == cb) gblock(MR, cb, xr + c, ldr, w + c * ldw, ldw, acc);
}

enum { RT_MAX = 8 }; /* racc's most taps */
/* The sums of T taps over C channels into a one-vector tile whose row m takes tap j from input
 * row m * RS + (T-1-j) * DD (rows `step` elements apart from p, channel c at +c): each row is
 * broadcast once per channel, for every (m, j) it feeds. Tap j's weights for channel c at
 * w + j * ts + c * ldw stay in registers over the channel. */
INLINE void racc(const int MR, const int T, const int RS, const int DD, const R *p, int64_t step,
                 int64_t C, const R *w, int64_t ldw, int64_t ts, V acc[][NV_MAX]) {
  for (int64_t c = 0; c < C; c++, p++, w += ldw) {
    /* both walks step a pointer of their own (see gblock): GCC otherwise keeps a register or
     * a stack slot for every row's and tap's offset */
    V wv[RT_MAX];
    const R *wq = w;
    UNROLL(8)
    for (int j = 0; j < T; j++, wq += ts) {
      __asm__("" : "+r"(wq));
      wv[j] = vload(wq);
    }
    const R *q = p;
    UNROLL(40)
    for (int i = 0; i <= (MR - 1) * RS + (T - 1) * DD; i++, q += step) {
      __asm__("" : "+r"(q));
      const V b = *q - (V){0};
      UNROLL(8)
      for (int j = 0; j < T; j++) {
        const int mrs = i - (T - 1 - j) * DD; /* m * RS */
        if (mrs >= 0 && mrs % RS == 0 && mrs / RS < MR) acc[mrs / RS][0] += b * wv[j];
      }
    }
  }
}

/* One vector of filters, T taps whose rows lie DD apart (a phase's taps always do:
 * off_j = off_0 - j * DD). Tile row m takes tap j from row m + (T-1-j) * DD of the rows from
 * n0 + off_{T-1} on, so each of those MR + (T-1) * DD rows feeds up to T rows of the tile: one
 * broadcast per row and channel where tile() broadcasts every row once per tap (8 taps,
 * MR = 12: 19 broadcasts a channel instead of 96). */
INLINE void rtile(const int MR, const int T, const int DD, const R *rows, int64_t C,
                  const conv1dt_direct_tap *taps, int64_t n0, int mr, int64_t f0, int64_t F,
                  int64_t ldw, const R *bias, R *out, int64_t ldo, int relu) {
  V acc[CONV1DT_DIRECT_MR][NV_MAX];
  const V b0 = vload(bias + f0);
  for (int m = 0; m < MR; m++) acc[m][0] = b0;
  /* the taps' weights lie ts elements apart (rphase checks) */
  const int64_t ts = (const R *)taps[1].w - (const R *)taps[0].w;
  racc(MR, T, 1, DD, rows + (n0 + taps[T - 1].off) * C, C, C, (const R *)taps[0].w + f0, ldw, ts,
       acc);
  finish_tile(MR, 1, acc, mr, f0, F, out, ldo, relu);
}

INLINE void rtiles(const int T, const int DD, const X(conv1dt_filters_args) * a, int64_t f0) {
  enum { MR = CONV1DT_DIRECT_MR };
  const R *rows = a->rows, *bias = a->bias;
  const conv1dt_direct_tap *taps = a->taps;
  const int64_t C = a->C, n_lo = a->n_lo, n_hi = a->n_hi, F = a->F, ldw = a->ldw, ldo = a->ldo;
  const int relu = a->relu;
  for (int64_t n0 = n_lo; n0 < n_hi; n0 += MR) {
    const int mr = n_hi - n0 < MR ? (int)(n_hi - n0) : MR;
    rtile(MR, T, DD, rows, C, taps, n0, mr, f0, F, ldw, bias, a->out + (n0 - n_lo) * ldo, ldo,
          relu);
  }
}

/* rtiles' copy for T taps and DD (1 or 2) as constants. */
INLINE void rtiles_dd(const int T, int DD, const X(conv1dt_filters_args) * a, int64_t f0) {
  if (DD == 1)
    rtiles(T, 1, a, f0);
  else
    rtiles(T, 2, a, f0);
}

/* The taps' row spacing DD where it is the same between all of them (always, for a phase's
 * taps: see rtile), else 0. */
static inline int tap_spacing(const conv1dt_direct_tap *taps, int ntaps) {
  int dd = ntaps >= 2 ? (int)(taps[0].off - taps[1].off) : 0;
  for (int j = 2; j < ntaps; j++)
    if (taps[j - 1].off - taps[j].off != dd) dd = 0;
  return dd;
}

/* The phase's positions for the vector of filters from f0 through rtile, where the taps (4 to
 * 8; fewer were as fast or faster through tile()'s memory-operand broadcasts) are DD = 1 or 2
 * rows apart and their weights evenly spaced: 1 on success, 0 to leave it to tile(). */
static __attribute__((noinline, unused)) int rphase(int DD, const X(conv1dt_filters_args) * a,
                                                    int64_t f0) {
  const conv1dt_direct_tap *taps = a->taps;
  const int T = a->ntaps;
  if (DD < 1 || DD > 2) return 0;
  for (int j = 2; j < T; j++) /* taps of one phase are evenly spaced in the panel too */
    if ((const R *)taps[j].w - (const R *)taps[j - 1].w !=
        (const R *)taps[1].w - (const R *)taps[0].w)
      return 0;
  switch (T) {
  case 4:
    rtiles_dd(4, DD, a, f0);
    return 1;
  case 5:
    rtiles_dd(5, DD, a, f0);
    return 1;
  case 6:
    rtiles_dd(6, DD, a, f0);
    return 1;
  case 7:
    rtiles_dd(7, DD, a, f0);
    return 1;
  case 8:
    rtiles_dd(8, DD, a, f0);
    return 1;
  default:
    return 0;
  }
}

#endif /* CONV1DT_KERNEL_REUSE_H */
