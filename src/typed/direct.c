/* The direct kernel: output positions computed straight from the input, for layers whose GEMM
 * would be too thin for the BLAS (few channels: its inner dimension is C). It is the same sum
 * as GEMM + col2im, gathered instead of scattered: position u = i*stride + k*dilation receives
 * x[i] . W[k] for every (i, k), so the positions u = r + n*stride of one phase r share their
 * taps k (k*dilation = r mod stride) and read consecutive input rows i = n + off_k. A register
 * tile of MR such positions x NV vectors of filters accumulates over taps and channels, seeded
 * with the bias, and is stored once. Compiled per ISA (target_clones) and picked at load time,
 * so the default build runs AVX2+FMA code where the CPU has it and plain SSE2 elsewhere. The
 * build compiles this file once more with CONV1DT_DIRECT_WIDE and -march=x86-64-v4: 512-bit
 * vectors and 32 registers, for the calls direct_run.c hands it on CPUs with AVX-512. */
#include "vec.h"

#ifdef CONV1DT_DIRECT_WIDE
#include <immintrin.h> /* the grouped kernel's masked stores */
#endif

/* Largest register tile: 12 accumulators plus weights and one broadcast fit 16 registers (24 of
 * the wide build's 32). */
#define MR_MAX CONV1DT_DIRECT_MR
#define NV_MAX 4
/* Tile heights for 4, 3 and 2 vectors of filters: 12 accumulators in 16 registers, 24 in 32. */
#ifdef CONV1DT_DIRECT_WIDE
#define KNAME(name) X(name##_wide)
#define MR_NV4 6
#define MR_NV3 8
#define MR_NV2 12
#else
#define KNAME(name) X(name)
#define MR_NV4 3
#define MR_NV3 4
#define MR_NV2 6
#endif

#ifdef CONV1DT_DIRECT_WIDE /* the only build whose tiles call gtap */
/* CB channels of one tap into a one-vector-wide tile: their weights (ldw apart) in registers,
 * then one input row (ldr apart) at a time through a pointer of its own, so that every
 * multiply-add reads its broadcast at a constant offset. With the rows at an index, the wide
 * build's multiply-adds took indexed memory operands, which the core splits in two: 2.7-3.0
 * against 3.6-4.0 G multiply-adds/s per core, measured on the grouped kernel alone. */
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
#endif

/* A channels_last tile's sums, relu'd when asked, to rows m < mr: out + m * ldo, filters
 * [f0, f0 + NV*VL) ∩ [0, F). */
INLINE void finish_tile(const int MR, const int NV, V acc[][NV_MAX], int mr, int64_t f0, int64_t F,
                        R *out, int64_t ldo, int relu) {
  if (relu)
    for (int m = 0; m < MR; m++)
      for (int v = 0; v < NV; v++) acc[m][v] = relu_v(acc[m][v]);
  FULL_UNROLL
  for (int m = 0; m < MR; m++) {
    STOP_IF(m >= mr);
    R *o = out + m * ldo + f0;
    FULL_UNROLL
    for (int v = 0; v < NV; v++) {
      const int64_t left = F - f0 - v * VL;
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

/* rows[i * C + c] is input row i; taps[j] = (packed weights of tap k, C rows of ldw; row offset
 * from n0). Writes rows m < mr of the tile: out + m * ldo, filters [f0, f0 + NV*VL) ∩ [0, F). */
INLINE void tile(const int MR, const int NV, const R *rows, int64_t C,
                 const conv1dt_direct_tap *taps, int ntaps, int64_t n0, int mr, int64_t f0,
                 int64_t F, int64_t ldw, const R *bias, R *out, int64_t ldo, int relu,
                 conv1dt_prefetch *pf) {
  V acc[MR_MAX][NV_MAX];
  /* row by row: vector by vector, clang kept one-vector tiles in memory (a one-trip loop's
   * index outlived the unrolling) */
  for (int m = 0; m < MR; m++)
    for (int v = 0; v < NV; v++) acc[m][v] = vload(bias + f0 + v * VL);
  for (int j = 0; j < ntaps; j++) {
    const R *xr = rows + (n0 + taps[j].off) * C;
    const R *w = (const R *)taps[j].w + f0;
#ifdef CONV1DT_DIRECT_WIDE
    if (NV == 1) { /* one weight vector per broadcast: see gblock */
      gtap(MR, xr, C, C, w, ldw, acc);
      continue;
    }
#endif
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

/* One phase's positions n in [n_lo, n_hi): MR at a time, for filter chunks of NV vectors. */
#define PHASE(MR, NV)                                                                              \
  for (int64_t n0 = n_lo; n0 < n_hi; n0 += (MR)) {                                                 \
    const int mr = n_hi - n0 < (MR) ? (int)(n_hi - n0) : (MR);                                     \
    tile((MR), (NV), rows, C, taps, ntaps, n0, mr, f0, F, ldw, bias, out + (n0 - n_lo) * ldo, ldo, \
         relu, (NV) == 4 && n0 >= pf_from ? pf : NULL);                                            \
  }

#ifdef CONV1DT_DIRECT_WIDE
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
 * n0 + off_{T-1} on, so each of those MR + (T-1) * DD rows feeds up to T rows of the tile:
 * one broadcast per row and channel, where tile() broadcasts every row once per tap (case E:
 * 8 taps, MR = 12: 19 broadcasts a channel instead of 96). */
INLINE void rtile(const int MR, const int T, const int DD, const R *rows, int64_t C,
                  const conv1dt_direct_tap *taps, int64_t n0, int mr, int64_t f0, int64_t F,
                  int64_t ldw, const R *bias, R *out, int64_t ldo, int relu) {
  V acc[MR_MAX][NV_MAX];
  const V b0 = vload(bias + f0);
  for (int m = 0; m < MR; m++) acc[m][0] = b0;
  /* the taps' weights lie ts elements apart (rphase checks) */
  const int64_t ts = (const R *)taps[1].w - (const R *)taps[0].w;
  racc(MR, T, 1, DD, rows + (n0 + taps[T - 1].off) * C, C, C, (const R *)taps[0].w + f0, ldw, ts,
       acc);
  finish_tile(MR, 1, acc, mr, f0, F, out, ldo, relu);
}

#define RPHASE(T, DD)                                                                              \
  for (int64_t n0 = n_lo; n0 < n_hi; n0 += MR_MAX) {                                               \
    const int mr = n_hi - n0 < MR_MAX ? (int)(n_hi - n0) : MR_MAX;                                 \
    rtile(MR_MAX, (T), (DD), rows, C, taps, n0, mr, f0, F, ldw, bias, out + (n0 - n_lo) * ldo,     \
          ldo, relu);                                                                              \
  }

/* The phase's positions for the vector of filters from f0 through rtile, where T (4 to 8) and DD
 * (1, 2) have a copy of it: 1 on success. */
static int rphase(int T, int DD, const R *rows, int64_t C, const conv1dt_direct_tap *taps,
                  int64_t n_lo, int64_t n_hi, int64_t f0, int64_t F, int64_t ldw, const R *bias,
                  R *out, int64_t ldo, int relu) {
#define RCASE(T_)                                                                                  \
  case T_:                                                                                         \
    if (DD == 1)                                                                                   \
      RPHASE(T_, 1)                                                                                \
    else                                                                                           \
      RPHASE(T_, 2)                                                                                \
    return 1;
  if (DD < 1 || DD > 2) return 0;
  for (int j = 2; j < T; j++) /* taps of one phase are evenly spaced in the panel too */
    if ((const R *)taps[j].w - (const R *)taps[j - 1].w !=
        (const R *)taps[1].w - (const R *)taps[0].w)
      return 0;
  switch (T) {
    RCASE(4)
    RCASE(5)
    RCASE(6)
    RCASE(7)
    RCASE(8)
  default:
    return 0;
  }
#undef RCASE
}
#endif

/* channels_first: the tile turns round, MF filters x NV vectors of consecutive positions of
 * the phase, read straight from the channel rows of x (xc + c * ldx + i) with the weights
 * broadcast from the layer's packed_t (tap j of filter group q at taps[j].w + q * gstride: MF
 * weights per channel, one contiguous run per tile); out is filter-major (row f at
 * out + f * ldo, positions n at (n - n0) * s). */
#define MF CONV1DT_DIRECT_MF
/* The wide build's tiles take two groups at once while 8 filters are left: 8 filters x 3
 * vectors (24 accumulators) load each input vector once for 8 filters instead of 4, and most of
 * a phase's input vectors are misaligned loads that straddle two cache lines (faster on
 * cases D and E channels_first) */
#ifdef CONV1DT_DIRECT_WIDE
#define MFX CONV1DT_DIRECT_WIDE_MF
#else
#define MFX MF
#endif
/* The taps' sums into a channels_first tile: channel rows xc + c * ldx (+ each tap's offset),
 * MFT filters' weights broadcast from packed_t's group of filter f0 (and the next group's, for
 * the filters past MF). */
INLINE void taps_t(const int MFT, const int NV, const R *xc, int64_t ldx, int64_t C,
                   const conv1dt_direct_tap *taps, int ntaps, int64_t f0, int64_t gstride,
                   V acc[MFX][NV_MAX]) {
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

/* MFT: the filters the tile computes (mf <= MFT <= MFX): one where a group has a single filter,
 * whose registers then hold more vectors of positions */
INLINE void tile_t(const int MFT, const int NV, const R *xc, int64_t ldx, int64_t C,
                   const conv1dt_direct_tap *taps, int ntaps, int64_t n0, int64_t f0, int mf,
                   int npos, int64_t gstride, const R *bias, R *out, int64_t ldo, int64_t s,
                   int relu) {
  V acc[MFX][NV_MAX];
  for (int m = 0; m < MFT; m++)
    for (int v = 0; v < NV; v++) acc[m][v] = bias[f0 + m] - (V){0};
  taps_t(MFT, NV, xc + n0, ldx, C, taps, ntaps, f0, gstride, acc);
  if (relu)
    for (int m = 0; m < MFT; m++)
      for (int v = 0; v < NV; v++) acc[m][v] = relu_v(acc[m][v]);
  FULL_UNROLL
  for (int m = 0; m < MFT; m++) {
    STOP_IF(m >= mf);
    R *o = out + (f0 + m) * ldo;
    FULL_UNROLL
    for (int v = 0; v < NV; v++) {
      const int left = npos - v * VL;
      STOP_IF(left <= 0);
      if (s == 1 && left >= VL) {
        vstore(o + v * VL, acc[m][v]);
      } else {
        R part[VL];
        vstore(part, acc[m][v]);
        for (int e = 0; e < VL && e < left; e++) o[(v * VL + e) * s] = part[e];
      }
    }
  }
}

/* Static: GCC gives target_clones' resolver default visibility, which would export it. */
CLONES
static void phase(const R *rows, int64_t C, const conv1dt_direct_tap *taps, int ntaps, int64_t n_lo,
                  int64_t n_hi, int64_t F, int64_t ldw, const R *bias, R *out, int64_t ldo,
                  int relu, conv1dt_prefetch *pf) {
  const int64_t nv_all = (F + VL - 1) / VL;
  /* pf's lines, one per channel and tap, during the last four-vector tiles that have room for
   * them all (asked for all through the sweep, they were gone again by the time they were
   * needed, the tiles' input rows streaming through L2 in between: F float64 a tie or slower) */
  int64_t pf_from = n_hi;
  if (pf && nv_all >= 4 && ntaps > 0) {
    const int64_t lines = pf->rows * ((pf->bytes + 63) / 64);
    const int64_t tiles = (lines + ntaps * C - 1) / (ntaps * C) + 1;
    pf_from = n_hi - tiles * MR_NV4;
    pf->per_tile = 1;
  }
#ifdef CONV1DT_DIRECT_WIDE
  /* the taps' row spacing, where it is the same between all of them (always, see rtile) */
  int dd = ntaps >= 2 ? (int)(taps[0].off - taps[1].off) : 0;
  for (int j = 2; j < ntaps; j++)
    if (taps[j - 1].off - taps[j].off != dd) dd = 0;
#endif
  for (int64_t f0 = 0; f0 < F;) {
    const int64_t nv = nv_all - f0 / VL;
#ifdef CONV1DT_DIRECT_WIDE
    /* one vector at a time through rtile, with 4 to 8 taps: in cache, faster on case D
     * float64 channels_last (7 taps 2 rows apart) and on one vector with 4 or 5 taps, two
     * vectors (8 taps, case E float64) a tie; with 2 taps slower than tile(), whose
     * multiply-adds take their broadcasts from memory, with 3 a tie */
    if (nv <= 2 && rphase(ntaps, dd, rows, C, taps, n_lo, n_hi, f0, F, ldw, bias, out, ldo, relu)) {
      if (nv == 2)
        rphase(ntaps, dd, rows, C, taps, n_lo, n_hi, f0 + VL, F, ldw, bias, out, ldo, relu);
      f0 += nv * VL;
      continue;
    }
#endif
    /* Filters in chunks of up to NV_MAX vectors; the register tile gets taller as it narrows. */
    if (nv >= 4) {
      PHASE(MR_NV4, 4)
      f0 += 4 * VL;
    } else if (nv == 3) {
      PHASE(MR_NV3, 3)
      f0 += 3 * VL;
    } else if (nv == 2) {
      PHASE(MR_NV2, 2)
      f0 += 2 * VL;
    } else {
      PHASE(12, 1)
      f0 += VL;
    }
  }
}

/* The lines of mf rows of out (ldo apart) that elements [0, n) from o on occupy, asked for with
 * intent to write: the next tile's part of y, which comes from memory (rows out_len apart). */
INLINE void prefetch_out(const R *o, int64_t ldo, int mf, int64_t n) {
  for (int m = 0; m < mf; m++) {
    const char *row = (const char *)(o + m * ldo);
    for (int64_t b = 0; b < n * (int64_t)sizeof(R); b += 64) __builtin_prefetch(row + b, 1, 2);
    __builtin_prefetch(row + (n * (int64_t)sizeof(R) - 1), 1, 2);
  }
}

/* The filters of the tile group from f0: MFX while that many are left, else up to MF. */
INLINE int group_width(int64_t F, int64_t f0) {
  return F - f0 >= MFX ? MFX : (F - f0 < MF ? (int)(F - f0) : MF);
}

/* GCC's default register allocation spills one input vector of the 8-filter tiles to the stack
 * and reloads it for every multiply-add: allocating over the whole function keeps all 28 vectors
 * in registers (a GCC option: clang has no optimize attribute and warns on it) */
#if defined(CONV1DT_DIRECT_WIDE) && defined(__GNUC__) && !defined(__clang__)
static void phase_t(CONV1DT_DIRECT_PHASE_T_ARGS) __attribute__((optimize("ira-region=all")));
#endif
CLONES
static void phase_t(const R *xc, int64_t ldx, int64_t C, const conv1dt_direct_tap *taps, int ntaps,
                    int64_t n_lo, int64_t n_hi, int64_t F, int64_t gstride, const R *bias, R *out,
                    int64_t ldo, int64_t s, int relu, conv1dt_prefetch *pf, int out_is_y) {
  int mf;
  for (int64_t f0 = 0; f0 < F; f0 += mf) {
    mf = group_width(F, f0);
    /* a group of a single filter (F = 1, or the last of F = 4k + 1): tiles of up to 4 vectors
     * of positions, the group's other three broadcasts and multiply-adds skipped (faster on
     * one-filter layers at strides 1 and 4; two filters in 2 x 4-vector tiles were slower
     * than the 4 x 3 ones) */
    const int few = mf == 1;
    for (int64_t n0 = n_lo; n0 < n_hi;) {
      /* 3 vectors of positions while they last (4 for one filter), then as few as cover the
       * rest */
      const int64_t rem = n_hi - n0;
      const int nv = few && rem > 3 * VL ? 4 : rem > 2 * VL ? 3 : (rem > VL ? 2 : 1);
      const int npos = rem < nv * VL ? (int)rem : nv * VL;
      R *o = out + (n0 - n_lo) * s;
      conv1dt__prefetch_some(pf);
      if (out_is_y) { /* y's next tile, if any: faster on case D channels_first */
        const int64_t next = n0 + npos, f1 = f0 + mf;
        if (next < n_hi)
          prefetch_out(o + f0 * ldo + npos * s, ldo, mf,
                       (conv1dt__min64(3 * VL, n_hi - next) - 1) * s + 1);
        else if (f1 < F)
          prefetch_out(out + f1 * ldo, ldo, group_width(F, f1),
                       (conv1dt__min64(3 * VL, n_hi - n_lo) - 1) * s + 1);
      }
#define TILE_T(MFT, NV)                                                                            \
  tile_t((MFT), (NV), xc, ldx, C, taps, ntaps, n0, f0, mf, npos, gstride, bias, o, ldo, s, relu)
      const int two = MFX > MF && mf > MF; /* two groups: the wide build only */
      if (two && nv == 3)
        TILE_T(MFX, 3);
      else if (two && nv == 2)
        TILE_T(MFX, 2);
      else if (two)
        TILE_T(MFX, 1);
      else if (few && nv == 4)
        TILE_T(1, 4);
      else if (few && nv == 3)
        TILE_T(1, 3);
      else if (few)
        TILE_T(1, 2);
      else if (nv == 3)
        TILE_T(MF, 3);
      else if (nv == 2)
        TILE_T(MF, 2);
      else
        TILE_T(MF, 1);
#undef TILE_T
      n0 += npos;
    }
  }
}

#ifdef CONV1DT_DIRECT_WIDE
/* channels_first with stride 2 into y: one tile for both phases of the same steps. Position
 * p = 2q + rho of the chunk belongs to one phase for each rho (taps[] holds the two phases'
 * taps one after the other, ntaps[rho] each, offsets from q), so the tile keeps two sets of
 * accumulators (24 registers: 4 filters x 3 vectors of q each) and zips them into whole vectors
 * of consecutive positions before storing. Before it, each phase went to a plane of the tile
 * and a second pass interleaved the planes into y, a large share of case C channels_first's
 * time. At stride 4 the four sets leave room for one vector of q, and the planes stayed
 * faster (case E channels_first). */
INLINE void tile_t2(const int NV, const R *xc, int64_t ldx, int64_t C,
                    const conv1dt_direct_tap *taps, const int *ntaps, int64_t q0, int64_t f0,
                    int mf, int64_t n, int64_t gstride, const R *bias, R *out, int64_t ldo,
                    int relu) {
  enum { S = 2 };
  V acc[S][MF][NV_MAX];
  for (int r = 0; r < S; r++)
    for (int m = 0; m < MF; m++)
      for (int v = 0; v < NV; v++) acc[r][m][v] = bias[f0 + m] - (V){0};
  const conv1dt_direct_tap *tp = taps;
  UNROLL(2)
  for (int r = 0; r < S; r++) {
    taps_t(MF, NV, xc + q0, ldx, C, tp, ntaps[r], f0, gstride, acc[r]);
    tp += ntaps[r];
  }
  for (int m = 0; m < MF; m++) {
    STOP_IF(m >= mf);
    R *o = out + (f0 + m) * ldo + q0 * S;
    for (int v = 0; v < NV; v++) {
      /* two vectors of consecutive positions from vector v of both phases */
      const V z[S] = {zip_lo(acc[0][m][v], acc[1][m][v]), zip_hi(acc[0][m][v], acc[1][m][v])};
      for (int e = 0; e < S; e++) {
        const int64_t p = (q0 + v * VL) * S + e * VL; /* position of z[e]'s first lane */
        const V zv = relu ? relu_v(z[e]) : z[e];
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

static void phase_t2(const R *xc, int64_t ldx, int64_t C, const conv1dt_direct_tap *taps,
                     const int *ntaps, int64_t n, int64_t F, int64_t gstride, const R *bias, R *out,
                     int64_t ldo, int relu, conv1dt_prefetch *pf) {
  enum { S = 2, NVT = 3 };
  const int64_t nq = (n + S - 1) / S; /* steps q: positions q*S + rho */
  for (int64_t f0 = 0; f0 < F; f0 += MF) {
    const int mf = F - f0 < MF ? (int)(F - f0) : MF;
    for (int64_t q0 = 0; q0 < nq;) {
      const int64_t rem = nq - q0;
      const int nv = rem >= NVT * VL ? NVT : (int)((rem + VL - 1) / VL);
      conv1dt__prefetch_some(pf);
      { /* y's next tile, if any (see phase_t) */
        const int64_t q1 = q0 + nv * VL, f1 = f0 + MF;
        if (q1 < nq)
          prefetch_out(out + f0 * ldo + q1 * S, ldo, mf, conv1dt__min64(NVT * VL * S, n - q1 * S));
        else if (f1 < F)
          prefetch_out(out + f1 * ldo, ldo, F - f1 < MF ? (int)(F - f1) : MF,
                       conv1dt__min64(NVT * VL * S, n));
      }
      if (nv == 3)
        tile_t2(3, xc, ldx, C, taps, ntaps, q0, f0, mf, n, gstride, bias, out, ldo, relu);
      else if (nv == 2)
        tile_t2(2, xc, ldx, C, taps, ntaps, q0, f0, mf, n, gstride, bias, out, ldo, relu);
      else
        tile_t2(1, xc, ldx, C, taps, ntaps, q0, f0, mf, n, gstride, bias, out, ldo, relu);
      q0 += nv * VL;
    }
  }
}

void KNAME(conv1dt__direct_phase_t2)(CONV1DT_DIRECT_PHASE_T2_ARGS) {
  phase_t2(xc, ldx, C, taps, ntaps, n, F, gstride, bias, out, ldo, relu, pf);
}
#endif

CLONED_ENTRY(KNAME(conv1dt__direct_phase_t), phase_t, (CONV1DT_DIRECT_PHASE_T_ARGS),
             (xc, ldx, C, taps, ntaps, n_lo, n_hi, F, gstride, bias, out, ldo, s, relu, pf,
              out_is_y))

CLONED_ENTRY(KNAME(conv1dt__direct_phase), phase, (CONV1DT_DIRECT_PHASE_ARGS),
             (rows, C, taps, ntaps, n_lo, n_hi, F, ldw, bias, out, ldo, relu, pf))

#ifdef CONV1DT_DIRECT_WIDE
/* Grouped positions, for stride-1 layers whose filters fill at most half a 512-bit vector
 * (bench case D float32: 8 filters): a vector holds G groups of VL/G lanes, group g for
 * position v + g*d. Position v + g*d takes x[i] * W[k] with i + k*d = v + g*d, so input row
 * i = v + (G-1-jj)*d feeds every group at once through virtual tap jj, whose group g holds
 * W[jj - (G-1) + g] (zero outside the kernel; the layer's packed_g). K + G - 1 such taps do the
 * work of G*K half-empty ones. Low positions v = b + a*G*d (b < d) cover every position once;
 * a tile takes MR consecutive a, so its input rows are G*d apart. */
INLINE void mstore(R *p, unsigned mask, V v) {
#if CONV1DT_PRECISION == 32
  _mm512_mask_storeu_ps(p, (__mmask16)mask, (__m512)v);
#else
  _mm512_mask_storeu_pd(p, (__mmask8)mask, (__m512d)v);
#endif
}

/* RG, RT: G and ntaps as constants, for racc (rows G*d apart feed several virtual taps), or 0 */
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

/* All the chunk's tiles, gtile's copy for RG and RT. */
#define GPASS(RG, RT)                                                                              \
  for (int64_t a0 = 0; a0 < (n + gd - 1) / gd; a0 += MR)                                           \
    for (int64_t b = 0; b < d; b++) {                                                              \
      const int64_t A = (n - b + gd - 1) / gd; /* low positions b + a*gd below n; >= MR */         \
      if (a0 < A)                                                                                  \
        gtile((RG), (RT), rows, C, d, G, wg, ntaps, b + (a0 + MR > A ? A - MR : a0) * gd, n,       \
              fmask, out, ldo, relu);                                                              \
    }

void KNAME(conv1dt__direct_groups)(CONV1DT_DIRECT_GROUPS_ARGS) {
  enum { MR = CONV1DT_DIRECT_MR };
  const int64_t gd = G * d;
  const unsigned fmask = (1u << F) - 1;
  /* The d tiles of one a0 read the same lines of input (rows b + a*gd + e), so they go
   * together and the tiles walk through the chunk once, in order, instead of d passes that
   * each stride through every line (no faster in case D, which measured within its noise,
   * but each line is reused right away). The last tile moves back to end at A, recomputing a
   * few positions, so that no tile reads rows past the last position's. Two groups with 4 to
   * 8 virtual taps take racc's copies. */
  if (G == 2) switch (ntaps) {
    case 4:
      GPASS(2, 4) return;
    case 5:
      GPASS(2, 5) return;
    case 6:
      GPASS(2, 6) return;
    case 7:
      GPASS(2, 7) return;
    case 8:
      GPASS(2, 8) return;
    default:
      break;
    }
  GPASS(0, 0)
}
#endif
