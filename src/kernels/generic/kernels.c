/* The generic table: the vector-extension tiles at the build's baseline flags (SSE2 on x86-64,
 * NEON on aarch64), 16 vector registers. x86_64_v3/kernels.c compiles this same file with AVX2
 * and FMA under its own name. */
/* 32 bytes: two SSE registers per vector on x86-64 (AVX2's one), for the same tiles. NEON's
 * vectors are 16: GCC keeps wider vector types, which aarch64 has no registers for, in memory
 * (a load and a store around every multiply-add). */
#if defined(__aarch64__)
#define CONV1DT_KERNEL_VBYTES 16
#define CONV1DT_GENERIC_LABEL "aarch64 NEON (128-bit vector extensions)"
#elif defined(__x86_64__)
#define CONV1DT_KERNEL_VBYTES 32
#define CONV1DT_GENERIC_LABEL "x86-64 baseline (SSE2)"
#else
#define CONV1DT_KERNEL_VBYTES 32
#define CONV1DT_GENERIC_LABEL "portable C (vector extensions)"
#endif
#ifndef CONV1DT_KERNEL_NAME
#define CONV1DT_KERNEL_NAME generic
#define CONV1DT_KERNEL_LABEL CONV1DT_GENERIC_LABEL
#endif

#include "backward.h"
#include "backward_steps.h"
#include "filters.h"
#include "layout.h"
#include "steps.h"

enum { REGS = 16 };

static void KERNEL(filters)(const X(conv1dt_filters_args) * a) {
  filters_phase(REGS, a);
}
static void KERNEL(steps)(const X(conv1dt_steps_args) * a) {
  steps_phase(MF, a);
}
static void KERNEL(transpose)(const R *src, int64_t lds, int64_t rows, int64_t cols, const R *bias,
                              int relu, R *dst, int64_t ldd) {
  transpose(src, lds, rows, cols, bias, relu, dst, ldd);
}
static void KERNEL(interleave)(const R *src, int64_t ldp, int64_t lds, int64_t s, int64_t n,
                               int64_t rows, const R *bias, int relu, R *dst, int64_t ldd) {
  interleave(src, ldp, lds, s, n, rows, bias, relu, dst, ldd);
}

static void KERNEL(bwd_data)(const X(conv1dt_bwd_data_args) * a) {
  bwd_data_op(REGS, a);
}
static void KERNEL(bwd_weights)(const X(conv1dt_bwd_weights_args) * a) {
  bwd_weights_op(REGS, a);
}
static void KERNEL(bwd_data_t)(const X(conv1dt_bwd_data_t_args) * a) {
  bwd_data_t_op(REGS, a);
}
static void KERNEL(bwd_weights_t)(const X(conv1dt_bwd_weights_t_args) * a) {
  bwd_weights_t_op(REGS, a);
}

const X(conv1dt_kernels) KERNEL(kernels) = {
    .name = CONV1DT_KERNEL_LABEL,
    .vl = VL,
    .mf = MF,
    .mr = {CONV1DT_DIRECT_MR, 6, 4, 3},
    .filters = KERNEL(filters),
    .steps = KERNEL(steps),
    .transpose = KERNEL(transpose),
    .interleave = KERNEL(interleave),
    .bwd_data = KERNEL(bwd_data),
    .bwd_weights = KERNEL(bwd_weights),
    .bwd_data_t = KERNEL(bwd_data_t),
    .bwd_weights_t = KERNEL(bwd_weights_t),
};
