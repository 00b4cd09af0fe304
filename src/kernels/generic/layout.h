/* Layout changes for channels_first outputs, vectorised. Transposing: position-major window
 * rows (filters contiguous) into filter-major output rows (steps contiguous), bias and relu on
 * the way. Interleaving: the direct kernel's per-phase planes into output rows (below).
 * Register blocks of VL x VL are transposed with shuffles, so both sides move whole vectors;
 * a strided scalar copy ran at a third of memory speed (case G channels_first). Part of every
 * vector table (kernel.h's transpose and interleave).
 *
 * Rows are not cut into passes that visit every filter: those leave half-written lines of y
 * behind at each pass's end, and measured slower and bimodal from one process to the next
 * (case G's window, float32). Windows over the L3's share (8 MiB and more) run several times
 * slower either way, which is one reason the GEMM methods keep their windows small. */
#ifndef CONV1DT_KERNEL_LAYOUT_H
#define CONV1DT_KERNEL_LAYOUT_H

#include "vec.h"

#define SH SHUFFLE2 /* vec.h */

/* r[i] holds row i of a VL x VL block; afterwards r[j] holds its column j. */
INLINE void transpose_block(V r[VL]) {
#if VL_LANES == 8
  V t[8], u[8];
  for (int i = 0; i < 8; i += 2) { /* pairs of rows interleaved: columns {0,1,4,5}, {2,3,6,7} */
    t[i] = SH(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
    t[i + 1] = SH(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
  }
  for (int h = 0; h < 8; h += 4) { /* rows h..h+3 of columns (j, j + 4) for j = 0..3 */
    u[h] = SH(t[h], t[h + 2], 0, 1, 8, 9, 4, 5, 12, 13);
    u[h + 1] = SH(t[h], t[h + 2], 2, 3, 10, 11, 6, 7, 14, 15);
    u[h + 2] = SH(t[h + 1], t[h + 3], 0, 1, 8, 9, 4, 5, 12, 13);
    u[h + 3] = SH(t[h + 1], t[h + 3], 2, 3, 10, 11, 6, 7, 14, 15);
  }
  for (int j = 0; j < 4; j++) {
    r[j] = SH(u[j], u[4 + j], 0, 1, 2, 3, 8, 9, 10, 11);
    r[j + 4] = SH(u[j], u[4 + j], 4, 5, 6, 7, 12, 13, 14, 15);
  }
#elif VL_LANES == 4
  const V t0 = SH(r[0], r[1], 0, 4, 2, 6), t1 = SH(r[0], r[1], 1, 5, 3, 7);
  const V t2 = SH(r[2], r[3], 0, 4, 2, 6), t3 = SH(r[2], r[3], 1, 5, 3, 7);
  r[0] = SH(t0, t2, 0, 1, 4, 5);
  r[1] = SH(t1, t3, 0, 1, 4, 5);
  r[2] = SH(t0, t2, 2, 3, 6, 7);
  r[3] = SH(t1, t3, 2, 3, 6, 7);
#else /* two lanes (NEON's float64) */
  const V r0 = r[0];
  r[0] = SH(r0, r[1], 0, 2);
  r[1] = SH(r0, r[1], 1, 3);
#endif
}

static inline R act_scalar(R v, int relu) {
  return relu && v < 0 ? RC(0.0) : v; /* NaN passes, as jnp.maximum */
}

/* One VL x VL block: rows r0.. and columns c0.. of src into dst, bias b added first. */
INLINE void block(const R *src, int64_t lds, int64_t r0, int64_t c0, V b, int relu, R *dst,
                  int64_t ldd) {
  V r[VL];
  for (int i = 0; i < VL; i++) {
    r[i] = vload(src + (r0 + i) * lds + c0) + b;
    if (relu) r[i] = relu_v(r[i]);
  }
  transpose_block(r);
  for (int j = 0; j < VL; j++) vstore(dst + (c0 + j) * ldd + r0, r[j]);
}

/* Columns [c0, c0 + n) (n <= VL) of rows [r0, r1), one element at a time. */
static void scalar_part(const R *src, int64_t lds, int64_t r0, int64_t r1, int64_t c0, int64_t n,
                        const R *bias, int relu, R *dst, int64_t ldd) {
  for (int64_t c = c0; c < c0 + n; c++) {
    const R b = bias ? bias[c] : RC(0.0);
    for (int64_t r = r0; r < r1; r++) dst[c * ldd + r] = act_scalar(src[r * lds + c] + b, relu);
  }
}

/* Columns [c0, c0 + nv * VL) of every row, in VL x VL blocks. A last partial block of rows
 * overlaps the one before it (the same values written twice) rather than going element by
 * element: short tiles are mostly tail (bench case A channels_first: 21 positions, 10 steps;
 * the scalar tails were most of its transposing time). */
INLINE void strip(const R *src, int64_t lds, int64_t rows, int64_t c0, int nv, const R *bias,
                  int relu, R *dst, int64_t ldd) {
  const int64_t rv = rows / VL * VL;
  const V b0 = bias ? vload(bias + c0) : (V){0};
  const V b1 = bias && nv == 2 ? vload(bias + c0 + VL) : (V){0};
  for (int64_t r0 = 0; r0 < rv; r0 += VL) {
    block(src, lds, r0, c0, b0, relu, dst, ldd);
    if (nv == 2) block(src, lds, r0, c0 + VL, b1, relu, dst, ldd);
  }
  if (rv == rows) return;
  if (rows < VL) {
    scalar_part(src, lds, rv, rows, c0, nv * VL, bias, relu, dst, ldd);
    return;
  }
  block(src, lds, rows - VL, c0, b0, relu, dst, ldd);
  if (nv == 2) block(src, lds, rows - VL, c0 + VL, b1, relu, dst, ldd);
}

/* Two vectors of columns at a time, down all the rows: each window line is used up at once
 * (none waits in L1 for a second visit, which power-of-two row strides made unreliable), and y
 * is written as 2*VL streams, each along its row. The last partial vector of columns overlaps
 * the one before it, as the rows do. */
INLINE void transpose(const R *src, int64_t lds, int64_t rows, int64_t cols, const R *bias,
                      int relu, R *dst, int64_t ldd) {
  if (cols < VL) {
    scalar_part(src, lds, 0, rows, 0, cols, bias, relu, dst, ldd);
    return;
  }
  /* one call site, so strip's blocks are compiled once per clone */
  for (int64_t c0 = 0; c0 < cols;) {
    const int nv = c0 + 2 * VL <= cols ? 2 : 1;
    const int64_t at = c0 + VL <= cols ? c0 : cols - VL;
    strip(src, lds, rows, at, nv, bias, relu, dst, ldd);
    c0 = at + nv * VL;
  }
}

#define ILO zip_lo /* vec.h */
#define IHI zip_hi

/* Per row f < rows: dst[f * ldd + j * s + q] = act(src[f * lds + q * ldp + j] + bias[f]) for
 * j * s + q < n (act: relu or none; bias may be NULL). Strides 2 and 4 with shuffles (2 and 4
 * planes into whole vectors), others element by element: the direct kernel's scattered stores
 * cost as much (case E channels_first). */
INLINE void interleave(const R *src, int64_t ldp, int64_t lds, int64_t s, int64_t n, int64_t rows,
                       const R *bias, int relu, R *dst, int64_t ldd) {
  const int64_t jv = s == 2 || s == 4 ? n / (s * VL) * VL : 0; /* plane entries in vectors */
  for (int64_t f = 0; f < rows; f++) {
    const R *p = src + f * lds;
    R *o = dst + f * ldd;
    const R bs = bias ? bias[f] : RC(0.0);
    const V b = bs - (V){0};
/* no bias: nothing added, so that -0 stays -0 */
#define OUT(i, v) vstore(o + (i), relu ? relu_v(bias ? (v) + b : (v)) : bias ? (v) + b : (v))
    if (s == 2)
      for (int64_t j = 0; j < jv; j += VL) {
        const V a = vload(p + j), c = vload(p + ldp + j);
        OUT(2 * j, ILO(a, c));
        OUT(2 * j + VL, IHI(a, c));
      }
    else if (s == 4)
      for (int64_t j = 0; j < jv; j += VL) {
        const V a = vload(p + j), c1 = vload(p + ldp + j), c = vload(p + 2 * ldp + j),
                d = vload(p + 3 * ldp + j);
        const V ac0 = ILO(a, c), ac1 = IHI(a, c), bd0 = ILO(c1, d), bd1 = IHI(c1, d);
        OUT(4 * j, ILO(ac0, bd0));
        OUT(4 * j + VL, IHI(ac0, bd0));
        OUT(4 * j + 2 * VL, ILO(ac1, bd1));
        OUT(4 * j + 3 * VL, IHI(ac1, bd1));
      }
#undef OUT
    for (int64_t i = jv * s; i < n; i++) {
      const R v = p[(i % s) * ldp + i / s];
      o[i] = act_scalar(bias ? v + bs : v, relu);
    }
  }
}

#endif /* CONV1DT_KERNEL_LAYOUT_H */
