/* The GCC/Clang vector extensions every vector kernel is written in. The including kernel file
 * defines CONV1DT_KERNEL_VBYTES (its vectors' bytes) and is compiled with its ISA's flags, so
 * one source gives SSE2, AVX2, AVX-512 or NEON code. */
#ifndef CONV1DT_KERNEL_VEC_H
#define CONV1DT_KERNEL_VEC_H

#include "../kernel.h"
#include "precision.h"

#include <stdint.h>
#include <string.h>

#ifndef CONV1DT_KERNEL_VBYTES
#error "define CONV1DT_KERNEL_VBYTES before including vec.h"
#endif
typedef R V __attribute__((vector_size(CONV1DT_KERNEL_VBYTES)));
#define VL (CONV1DT_KERNEL_VBYTES / (int)sizeof(R))
#define VL_LANES (CONV1DT_KERNEL_VBYTES * 8 / CONV1DT_PRECISION) /* VL for #if */

#define INLINE static inline __attribute__((always_inline))

/* The widest register tile: 4 vectors (of filters, or of steps). */
#define NV_MAX 4

/* UNROLL(n): unroll the next loop completely (n: at least its trip count). FULL_UNROLL: the
 * same for a loop GCC unrolls by itself once its function is inlined. Clang optimises an inline
 * function's own copy first, where a count (or its plain "unroll") unrolls loops whose trip
 * counts are not constant yet, with a remainder loop, and the accumulators they index stay in
 * memory; its "full" waits for the constants. STOP_IF(c): skip the rest of such a loop when c;
 * clang's full unroll needs the trip count constant, so there it skips each iteration
 * (GCC leaves the loop: its code stays smaller). */
#ifdef __clang__
#define UNROLL(n) _Pragma("clang loop unroll(full)")
#define FULL_UNROLL _Pragma("clang loop unroll(full)")
#define STOP_IF(c)                                                                                 \
  if (c) continue
#else
#define CONV1DT_PRAGMA(x) _Pragma(#x)
#define UNROLL(n) CONV1DT_PRAGMA(GCC unroll n)
#define FULL_UNROLL
#define STOP_IF(c)                                                                                 \
  if (c) break
#endif

/* A kernel file's names: KERNEL(filters) is conv1dt__filters_<CONV1DT_KERNEL_NAME>_f32 (or
 * _f64), so the same source compiled for two ISAs links into one library. */
#if CONV1DT_PRECISION == 32
#define CONV1DT_KSUFFIX f32
#else
#define CONV1DT_KSUFFIX f64
#endif
#define CONV1DT_KCAT(a, b, c, d) a##b##_##c##_##d
#define CONV1DT_KXCAT(a, b, c, d) CONV1DT_KCAT(a, b, c, d)
#define KERNEL(op) CONV1DT_KXCAT(conv1dt__, op, CONV1DT_KERNEL_NAME, CONV1DT_KSUFFIX)

INLINE V vload(const R *p) {
  V v;
  memcpy(&v, p, sizeof v);
  return v;
}
INLINE void vstore(R *p, V v) {
  memcpy(p, &v, sizeof v);
}
/* relu as Keras computes it (max(v, 0) with NaN and -0 passed through): clear lanes below 0. */
typedef __typeof__((V){0} < (V){0}) VI;
INLINE V relu_v(V a) {
  const VI neg = a < (V){0};
  return (V)((VI)a & ~neg);
}

/* Interleaving two vectors: their first halves element by element (zip_lo), then their second
 * halves (zip_hi). */
#if VL_LANES == 2
#define ZIP_LO_IDX 0, 2
#define ZIP_HI_IDX 1, 3
#elif VL_LANES == 4
#define ZIP_LO_IDX 0, 4, 1, 5
#define ZIP_HI_IDX 2, 6, 3, 7
#elif VL_LANES == 8
#define ZIP_LO_IDX 0, 8, 1, 9, 2, 10, 3, 11
#define ZIP_HI_IDX 4, 12, 5, 13, 6, 14, 7, 15
#else
#define ZIP_LO_IDX 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23
#define ZIP_HI_IDX 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31
#endif
#if CONV1DT_PRECISION == 32
typedef int32_t VZ __attribute__((vector_size(CONV1DT_KERNEL_VBYTES)));
#else
typedef int64_t VZ __attribute__((vector_size(CONV1DT_KERNEL_VBYTES)));
#endif
/* The lanes of a then b picked by constant indices (0 .. VL-1 from a, VL .. from b): GCC's
 * __builtin_shuffle takes them as a vector, clang (which lacks it) has
 * __builtin_shufflevector with them as arguments. */
#ifdef __clang__
#define SHUFFLE2(a, b, ...) __builtin_shufflevector(a, b, __VA_ARGS__)
#else
#define SHUFFLE2(a, b, ...) __builtin_shuffle(a, b, (VZ){__VA_ARGS__})
#endif
INLINE V zip_lo(V a, V b) {
  return SHUFFLE2(a, b, ZIP_LO_IDX);
}
INLINE V zip_hi(V a, V b) {
  return SHUFFLE2(a, b, ZIP_HI_IDX);
}

#endif /* CONV1DT_KERNEL_VEC_H */
