/* The GCC/Clang vector extensions the hand-vectorised kernels share (direct.c, transpose.c),
 * and how those are compiled per ISA. */
#ifndef CONV1DT_VEC_H
#define CONV1DT_VEC_H

#include "typed.h"

#include <stdint.h>
#include <string.h>

/* GCC/Clang vector extension: 32 bytes (AVX2 registers; two SSE registers in the baseline; 16,
 * one NEON register, on aarch64), or 64 (AVX-512) in the wide build of direct.c, whose flags
 * pick the ISA for the whole file. */
#ifdef CONV1DT_DIRECT_WIDE
#define CONV1DT_VEC_BYTES CONV1DT_DIRECT_WIDE_VBYTES
#else
#define CONV1DT_VEC_BYTES CONV1DT_DIRECT_VBYTES
#endif
typedef R V __attribute__((vector_size(CONV1DT_VEC_BYTES)));
#define VL (CONV1DT_VEC_BYTES / (int)sizeof(R))
#define VL_LANES (CONV1DT_VEC_BYTES * 8 / CONV1DT_PRECISION) /* VL for #if */

#define INLINE static inline __attribute__((always_inline))

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

/* A kernel compiled per ISA is written `CLONES static void name(params) {...}` and called only
 * through `CLONED_ENTRY(entry, name, (params), (args))`, which defines the exported `entry`.
 * GCC: target_clones (x86-64-v3 and baseline, resolved when the library loads). Clang (14) makes
 * target_clones' resolver an exported global even for a static function (the float and double
 * objects' resolvers then collide at link time), so there name() is inlined into an x86-64-v3
 * copy and into the entry itself, which picks by conv1dt__cpu_has_v3() (as
 * conv1dt_kernel_isa() reports). */
#if defined(CONV1DT_DISPATCH) && !defined(CONV1DT_DIRECT_WIDE) && defined(__clang__)
#define CLONES inline __attribute__((always_inline))
#define CLONED_ENTRY(entry, name, params, args)                                                    \
  __attribute__((target("arch=x86-64-v3"))) static void name##_v3 params {                         \
    name args;                                                                                     \
  }                                                                                                \
  void entry params {                                                                              \
    if (conv1dt__cpu_has_v3())                                                                     \
      name##_v3 args;                                                                              \
    else                                                                                           \
      name args;                                                                                   \
  }
#else
#if defined(CONV1DT_DISPATCH) && !defined(CONV1DT_DIRECT_WIDE)
#define CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CLONES
#endif
#define CLONED_ENTRY(entry, name, params, args)                                                    \
  void entry params {                                                                              \
    name args;                                                                                     \
  }
#endif

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
typedef int32_t VZ __attribute__((vector_size(CONV1DT_VEC_BYTES)));
#else
typedef int64_t VZ __attribute__((vector_size(CONV1DT_VEC_BYTES)));
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

#endif /* CONV1DT_VEC_H */
