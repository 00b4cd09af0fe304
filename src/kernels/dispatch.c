/* The one place that decides which kernel runs: CPU detection, the table for this CPU, and the
 * rules that pick a table and a tile path for a layer and a call. The build says which tables
 * it has (CONV1DT_HAVE_X86_64_V3 / _V4: kernels.cmake); the CPU is asked once per decision, at
 * run time, so one library runs on any CPU of its architecture. */
#include "kernel.h"

#include <string.h>

/* ---- The CPU ----------------------------------------------------------------------------- */

static int cpu_has_v3(void) {
#ifdef CONV1DT_HAVE_X86_64_V3
  __builtin_cpu_init();
#if defined(__clang__) || __GNUC__ < 12
  /* the level's vector and bit-manipulation features these compilers can test (every CPU with
   * them has the rest: F16C, LZCNT, MOVBE) */
  return __builtin_cpu_supports("avx") && __builtin_cpu_supports("avx2") &&
         __builtin_cpu_supports("fma") && __builtin_cpu_supports("bmi") &&
         __builtin_cpu_supports("bmi2");
#else
  return __builtin_cpu_supports("x86-64-v3");
#endif
#else
  return 0;
#endif
}

static int cpu_has_v4(void) {
#ifdef CONV1DT_HAVE_X86_64_V4
  /* libgcc's feature bits for AVX-512 are set only when XCR0 says the OS saves the registers. */
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && cpu_has_v3();
#else
  return 0;
#endif
}

int conv1dt__isa_runs(conv1dt_isa isa) {
  switch (isa) {
  case CONV1DT_ISA_REF:
  case CONV1DT_ISA_GENERIC:
    return 1;
  case CONV1DT_ISA_X86_64_V3:
    return cpu_has_v3();
  case CONV1DT_ISA_X86_64_V4:
    return cpu_has_v4();
  default:
    return 0;
  }
}

conv1dt_isa conv1dt__cpu_isa(void) {
  if (cpu_has_v4()) return CONV1DT_ISA_X86_64_V4;
  if (cpu_has_v3()) return CONV1DT_ISA_X86_64_V3;
  return CONV1DT_ISA_GENERIC;
}

/* The 256-bit table an AVX-512 CPU keeps for calls whose 512-bit vectors would be mostly
 * padding, and for the layout changes (which gained nothing from 512 bits). */
static conv1dt_isa narrow_isa(conv1dt_isa isa) {
  return isa == CONV1DT_ISA_X86_64_V4 ? CONV1DT_ISA_X86_64_V3 : isa;
}

conv1dt_isa conv1dt__layout_isa(void) {
  return narrow_isa(conv1dt__cpu_isa());
}

int conv1dt__kernel_vector_bits(void) {
  const conv1dt_isa isa = conv1dt__cpu_isa();
  if (isa == CONV1DT_ISA_X86_64_V4) return 512;
  return isa == CONV1DT_ISA_X86_64_V3 ? 256 : 128; /* NEON's and SSE's registers */
}

const char *conv1dt__isa_name(conv1dt_isa isa) {
  const conv1dt_kernels_f32 *k = conv1dt__kernels_f32(isa);
  return k ? k->name : "none";
}

const char *conv1dt_kernel_isa(void) {
  return conv1dt__isa_name(conv1dt__cpu_isa());
}

/* ---- The tables ------------------------------------------------------------------------- */

#ifdef CONV1DT_HAVE_X86_64_V3
#define CONV1DT_V3_TABLE(S) &conv1dt__kernels_x86_64_v3_##S
#else
#define CONV1DT_V3_TABLE(S) NULL
#endif
#ifdef CONV1DT_HAVE_X86_64_V4
#define CONV1DT_V4_TABLE(S) &conv1dt__kernels_x86_64_v4_##S
#else
#define CONV1DT_V4_TABLE(S) NULL
#endif
/* Per precision: the table lookup, and the layout changes' entry points (typed.h). */
#define CONV1DT_TABLES(R, S)                                                                       \
  const conv1dt_kernels_##S *conv1dt__kernels_##S(conv1dt_isa isa) {                               \
    static const conv1dt_kernels_##S *const tables[CONV1DT_ISA_COUNT] = {                          \
        &conv1dt__kernels_ref_##S, &conv1dt__kernels_generic_##S, CONV1DT_V3_TABLE(S),             \
        CONV1DT_V4_TABLE(S)};                                                                      \
    return (unsigned)isa < CONV1DT_ISA_COUNT ? tables[isa] : NULL;                                 \
  }                                                                                                \
  void conv1dt__transpose_act_##S(const R *src, int64_t lds, int64_t rows, int64_t cols,           \
                                  const R *bias, int relu, R *dst, int64_t ldd) {                  \
    conv1dt__kernels_##S(conv1dt__layout_isa())                                                    \
        ->transpose(src, lds, rows, cols, bias, relu, dst, ldd);                                   \
  }                                                                                                \
  void conv1dt__interleave_##S(const R *src, int64_t ldp, int64_t lds, int64_t s, int64_t n,       \
                               int64_t rows, const R *bias, int relu, R *dst, int64_t ldd) {       \
    conv1dt__kernels_##S(conv1dt__layout_isa())                                                    \
        ->interleave(src, ldp, lds, s, n, rows, bias, relu, dst, ldd);                             \
  }
CONV1DT_TABLES(float, f32)
CONV1DT_TABLES(double, f64)

/* ---- Rules ------------------------------------------------------------------------------ */

/* Past this many input channels the steps tiles wait on the panel's rows (L2), and a transposed
 * panel through the filters tiles, which reuse each weight vector for 6 positions, is faster
 * (channels_first on AVX-512; at 64 channels the steps tiles are the faster). */
#define CONV1DT_STEPS_MAX_CH 128

/* The element count of `isa`'s vectors. */
static int64_t lanes(conv1dt_isa isa, size_t elem_size) {
  const conv1dt_kernels_f32 *k = conv1dt__kernels_f32(isa);
  return (int64_t)k->vl * (int64_t)sizeof(float) / (int64_t)elem_size;
}

int conv1dt__direct_few_filters(conv1dt_isa isa, int64_t filters, size_t elem_size) {
  /* at most one group of packed_t, or at most half a 512-bit vector of them on the AVX-512
   * table (the steps tiles' vectors then hold more useful lanes than the filters tiles') */
  return filters <= CONV1DT_DIRECT_MF ||
         (isa == CONV1DT_ISA_X86_64_V4 &&
          filters * (int64_t)elem_size * 2 <= CONV1DT_DIRECT_GROUP_VBYTES);
}

int conv1dt__direct_groups(conv1dt_isa isa, int64_t filters, int64_t ksize, int64_t stride,
                           int64_t dilation, size_t elem_size) {
  if (isa != CONV1DT_ISA_X86_64_V4 || stride != 1 || ksize < 2) return 0;
  /* As many groups as the filters allow: per position, (K + G - 1) / G vector multiply-adds per
   * channel instead of K. The tiles read (G - 1) * dilation rows past a chunk's last position,
   * which the panel's slack must hold. */
  const int64_t vl = (int64_t)(CONV1DT_DIRECT_GROUP_VBYTES / elem_size);
  int64_t g = vl;
  while (g > 1 && (filters > vl / g || (g - 1) * dilation > CONV1DT_DIRECT_SLACK)) g /= 2;
  return g > 1 ? (int)g : 0;
}

/* The table for a call, and whether it runs the steps tiles (cf: the call would, as
 * channels_first or mono). Steps along the vectors pay when a phase has a few vectors of them;
 * short samples go through a transposed panel and the filters tiles. On AVX-512 the 512-bit
 * table runs wherever its vectors would not be mostly padding: filters beyond one 256-bit
 * vector, or two 512-bit vectors of steps per phase. */
static conv1dt_isa pick_table(const conv1dt_geometry *g, const conv1dt_plan *plan, size_t elem_size,
                              conv1dt_isa isa, int cf, int *steps) {
  const int64_t per_phase = plan->chunk / g->stride;
  const conv1dt_isa narrow = narrow_isa(isa);
  const int64_t vl = lanes(isa, elem_size), vl_narrow = lanes(narrow, elem_size);
  if (isa != narrow) {
    *steps = cf && per_phase >= 2 * vl && g->in_ch <= CONV1DT_STEPS_MAX_CH;
    if (*steps) return isa;
    /* Phases too short for the wide steps tiles: where the filters fill more than one 256-bit
     * vector, the wide filters tiles beat the 256-bit steps ones (short channels_first
     * samples in float64). */
    if (!cf || per_phase < 2 * vl_narrow || g->in_ch > CONV1DT_STEPS_MAX_CH ||
        g->filters > vl_narrow)
      return g->filters > vl_narrow ? isa : narrow;
  }
  *steps = cf && per_phase >= 2 * vl_narrow;
  return narrow;
}

void conv1dt__direct_choose(const conv1dt_layer *layer, const conv1dt_geometry *g,
                            const conv1dt_plan *plan, int want_pre, conv1dt_direct_choice *c) {
  const size_t sz = layer->elem_size;
  const conv1dt_isa isa = (conv1dt_isa)layer->isa;
  const int cf = g->channels_first, s = (int)g->stride;
  memset(c, 0, sizeof *c);
  /* channels_last with few filters and an elementwise activation: where the steps tiles would
   * run for channels_first, they run here too from a transposed panel, where the filters
   * tiles' vectors held 1-8 useful lanes in 16 (faster for 1 to 8 float32 filters and 1 to 4
   * float64 ones at strides 2 and 4; a whole float64 vector of 8 was slower this way). Not
   * where the grouped tiles run: they were faster still. */
  const int mono = !cf && layer->packed_t && conv1dt__direct_few_filters(isa, g->filters, sz) &&
                   !CONV1DT_ACT_IS_AXISWISE(g->act) && (s > 1 || !layer->groups);
  c->isa = pick_table(g, plan, sz, isa, cf || mono, &c->steps);
  c->mono = mono && c->steps;
  if (mono && !c->steps) c->isa = pick_table(g, plan, sz, isa, 0, &c->steps);
  /* One filter's y (linear, relu, no pre) is laid out as a channels_first row, so a mono
   * kernel writes it itself; more filters go through a filter-major tile, transposed after. */
  c->to_y = (g->act == CONV1DT_ACT_LINEAR || g->act == CONV1DT_ACT_RELU) && (!cf || c->steps) &&
            (!c->mono || g->filters == 1);
  c->to_pre = c->to_y && want_pre;
  c->steps2 = c->steps && c->to_y && s == 2 && conv1dt__kernels_f32(c->isa)->steps2;
  /* float's 8-lane vectors store whole vectors of each phase into a plane and interleave the
   * planes after; double's 4-lane ones store the phase's positions s apart at as little cost as
   * the extra pass */
  c->planar = c->steps && c->to_y && s > 1 && lanes(c->isa, sz) >= 8 && !c->steps2;
  c->groups = !c->steps ? layer->groups : 0;
  c->groups_isa = isa;
  c->prefetch_weights = (double)g->ksize * (double)g->in_ch * (double)layer->ldw * (double)sz >
                        CONV1DT_DIRECT_CACHED_WEIGHT_BYTES;
  c->slack = c->steps ? 3 * lanes(c->isa, sz)
                      : conv1dt__max64(CONV1DT_DIRECT_MR, (c->groups - 1) * g->dil);
}

int conv1dt__direct_grouped(const conv1dt_direct_choice *c, const conv1dt_geometry *g, int64_t n) {
  /* every position at once, in groups, where the chunk is long enough for the tiles */
  return c->groups && n >= CONV1DT_DIRECT_MR * c->groups * g->dil;
}

/* ---- The backward pass -------------------------------------------------------------------- */

conv1dt_isa conv1dt__backward_isa(conv1dt_isa isa, int64_t channels, size_t elem_size) {
  /* The tiles' vectors run along the channels: the 512-bit table where its vectors are no more
   * padded than the 256-bit one's (as the forward's filters tiles). */
  const conv1dt_isa narrow = narrow_isa(isa);
  if (isa == narrow) return isa;
  const int64_t vl = lanes(isa, elem_size), vl_narrow = lanes(narrow, elem_size);
  const int64_t wide = (channels + vl - 1) / vl * vl;
  const int64_t slim = (channels + vl_narrow - 1) / vl_narrow * vl_narrow;
  return wide > slim && channels < 4 * vl ? narrow : isa;
}
