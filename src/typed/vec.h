/* The GCC/Clang vector extensions the hand-vectorised kernels share (direct.c, transpose.c),
 * and the target_clones attribute that compiles them per ISA. */
#ifndef CONV1DT_VEC_H
#define CONV1DT_VEC_H

#include "typed.h"

#include <string.h>

/* GCC/Clang vector extension: 32 bytes (AVX2 registers; two SSE registers in the baseline), or
 * 64 (AVX-512) in the wide build of direct.c, whose flags pick the ISA for the whole file. */
#ifdef CONV1DT_DIRECT_WIDE
#define CONV1DT_VEC_BYTES CONV1DT_DIRECT_WIDE_VBYTES
#else
#define CONV1DT_VEC_BYTES CONV1DT_DIRECT_VBYTES
#endif
typedef R V __attribute__((vector_size(CONV1DT_VEC_BYTES)));
#define VL (CONV1DT_VEC_BYTES / (int)sizeof(R))

/* see conv1dt_kernel_isa() in plan.c for the same choice */
#if defined(CONV1DT_DISPATCH) && !defined(CONV1DT_DIRECT_WIDE)
#define CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CLONES
#endif
#define INLINE static inline __attribute__((always_inline))

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

#endif /* CONV1DT_VEC_H */
