/* The x86-64-v4 table (AVX-512; 32 registers of 512 bits), compiled with -march=x86-64-v4
 * (kernels.cmake): the generic tiles with 32 registers' blocking (taller filters tiles, two
 * filter groups per steps tile, reuse.h's tiles), plus steps2 and the grouped-positions tiles.
 * Calls whose 512-bit vectors would be mostly padding run the x86-64-v3 table instead, as do
 * the layout changes (dispatch.c). */
#define CONV1DT_KERNEL_NAME x86_64_v4
#define CONV1DT_KERNEL_VBYTES 64

#include "../generic/backward.h"
#include "../generic/backward_steps.h"
#include "../generic/filters.h"
#include "../generic/steps.h"
#include "groups.h"

enum { REGS = 32 };

static void KERNEL(filters)(const X(conv1dt_filters_args) * a) {
  filters_phase(REGS, a);
}

/* GCC's default register allocation spills one input vector of the 8-filter tiles to the stack
 * and reloads it for every multiply-add: allocating over the whole function keeps all 28 vectors
 * in registers (a GCC option: clang has no optimize attribute and warns on it). */
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("ira-region=all")))
#endif
static void
KERNEL(steps)(const X(conv1dt_steps_args) * a) {
  steps_phase(2 * MF, a);
}

static void KERNEL(steps2)(const X(conv1dt_steps2_args) * a) {
  steps2_phases(a);
}

static void KERNEL(groups)(const X(conv1dt_groups_args) * a) {
  groups_pass(a);
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
    .name = "x86-64-v4 (AVX-512; AVX2 where 256-bit vectors fit better)",
    .vl = VL,
    .mf = 2 * MF,
    .mr = {CONV1DT_DIRECT_MR, 12, 8, 6},
    .filters = KERNEL(filters),
    .steps = KERNEL(steps),
    .steps2 = KERNEL(steps2),
    .groups = KERNEL(groups),
    .transpose = NULL, /* x86-64-v3's */
    .interleave = NULL,
    .bwd_data = KERNEL(bwd_data),
    .bwd_weights = KERNEL(bwd_weights),
    .bwd_data_t = KERNEL(bwd_data_t),
    .bwd_weights_t = KERNEL(bwd_weights_t),
};
