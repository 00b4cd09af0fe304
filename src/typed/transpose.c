/* Transposing finish for channels_first outputs: position-major window rows (filters
 * contiguous) into filter-major output rows (steps contiguous), bias and relu on the way.
 * Register blocks of VL x VL are transposed with shuffles, so both sides move whole vectors;
 * a strided scalar copy ran at a third of memory speed (case G channels_first). Compiled per
 * ISA like the direct kernel. */
#include "vec.h"

#include <stdint.h>

#if CONV1DT_PRECISION == 32
typedef int32_t VM __attribute__((vector_size(CONV1DT_DIRECT_VBYTES)));
#else
typedef int64_t VM __attribute__((vector_size(CONV1DT_DIRECT_VBYTES)));
#endif
#define SH(a, b, ...) __builtin_shuffle(a, b, (VM){__VA_ARGS__})

/* r[i] holds row i of a VL x VL block; afterwards r[j] holds its column j. */
INLINE void transpose_block(V r[VL]) {
#if CONV1DT_PRECISION == 32
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
#else
  const V t0 = SH(r[0], r[1], 0, 4, 2, 6), t1 = SH(r[0], r[1], 1, 5, 3, 7);
  const V t2 = SH(r[2], r[3], 0, 4, 2, 6), t3 = SH(r[2], r[3], 1, 5, 3, 7);
  r[0] = SH(t0, t2, 0, 1, 4, 5);
  r[1] = SH(t1, t3, 0, 1, 4, 5);
  r[2] = SH(t0, t2, 2, 3, 6, 7);
  r[3] = SH(t1, t3, 2, 3, 6, 7);
#endif
}

static inline R act_scalar(R v, int relu) {
  return relu && v < 0 ? RC(0.0) : v; /* NaN passes, as jnp.maximum */
}

/* Rows per pass: the window rows a pass reads (up to 16 KiB) stay in L1 while every filter
 * block visits them. */
#define PASS_BYTES 16384
#define PASS_ROWS_MAX 64

CLONES void X(conv1dt__transpose_act)(const R *src, int64_t lds, int64_t rows, int64_t cols,
                                      const R *bias, int relu, R *dst, int64_t ldd) {
  const int64_t cv = cols / VL * VL;
  int64_t pass = PASS_BYTES / (lds * (int64_t)sizeof(R)) / VL * VL;
  pass = pass < VL ? VL : pass > PASS_ROWS_MAX ? PASS_ROWS_MAX : pass;
  for (int64_t p0 = 0; p0 < rows; p0 += pass) {
    const int64_t p1 = conv1dt__min64(rows, p0 + pass), pv = p0 + (p1 - p0) / VL * VL;
    for (int64_t c0 = 0; c0 < cv; c0 += VL) {
      const V b = bias ? vload(bias + c0) : (V){0};
      for (int64_t r0 = p0; r0 < pv; r0 += VL) {
        V r[VL];
        for (int i = 0; i < VL; i++) {
          r[i] = vload(src + (r0 + i) * lds + c0) + b;
          if (relu) r[i] = relu_v(r[i]);
        }
        transpose_block(r);
        for (int j = 0; j < VL; j++) vstore(dst + (c0 + j) * ldd + r0, r[j]);
      }
      for (int64_t r = pv; r < p1; r++)
        for (int j = 0; j < VL; j++)
          dst[(c0 + j) * ldd + r] = act_scalar(src[r * lds + c0 + j] + b[j], relu);
    }
    for (int64_t c = cv; c < cols; c++) {
      const R b = bias ? bias[c] : RC(0.0);
      for (int64_t r = p0; r < p1; r++) dst[c * ldd + r] = act_scalar(src[r * lds + c] + b, relu);
    }
  }
}
