/* Choosing how a forward call computes, and sizing its scratch. The GEMM + col2im plan lives in
 * shape.c; this file decides when the direct kernel is used instead and lays out its
 * workspace: per thread an output tile of `chunk` positions, an input panel (the rows those
 * positions read, zero outside the sample) and the tap list of one phase. */
#include "kernels/kernel.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* AUTO: the direct kernel when the GEMM's inner dimension (input channels) is this small. Below
 * it the BLAS spends its time packing and the col tile's traffic dominates: measured faster
 * than the GEMM path at C = 64 and 128 (bench case C), and several times faster at C = 8, 16
 * (cases D, E); at C = 256 (case G) the GEMM path is as fast or faster. */
#define CONV1DT_DIRECT_AUTO_MAX_CH 128
/* Tiles aim at this many bytes (L1-resident with the panel beside them)... */
#define CONV1DT_DIRECT_TILE_BYTES 16384
/* Layers whose weights outgrow the caches (CONV1DT_DIRECT_CACHED_WEIGHT_BYTES) take chunks of
 * about this many positions or more (plan_direct). */
#define CONV1DT_DIRECT_BIG_CHUNK 1024

static int64_t round_up(int64_t v, int64_t a) {
  return (v + a - 1) / a * a;
}

int conv1dt__direct_wanted(conv1dt_algorithm algorithm, int64_t in_channels) {
  if (algorithm == CONV1DT_ALGORITHM_DIRECT) return 1;
  if (algorithm != CONV1DT_ALGORITHM_AUTO) return 0;
  /* One rule for both dtypes and formats: with the layer's team kept between calls, double
   * channels_last at 128 channels also ran faster than the GEMM method (bench case A and a
   * 128-channel case C). */
  if (in_channels <= CONV1DT_DIRECT_AUTO_MAX_CH) return 1;
  /* Any channel count on a BLAS without tuned GEMM kernels: Netlib's reference BLAS (its
   * triple loop, 3-6 GFLOP/s here) and Debian's ATLAS (built for baseline x86-64, serial): the
   * direct kernel was the fastest method on every bench case with either (docs/PERFORMANCE.md).
   * The vendor is the BLAS's own answer, the same on every run, so AUTO stays deterministic. */
  const conv1dt__blas_vendor vendor = conv1dt__blas_vendor_id();
  if (vendor == CONV1DT_BLAS_REFERENCE || vendor == CONV1DT_BLAS_ATLAS) return 1;
  /* Any channel count when the BLAS says its GEMM kernels are narrower than the direct
   * kernel's vectors here: OpenBLAS 0.3.21 runs SSE3 kernels on CPUs newer than it (an Intel
   * with AVX-512: its GEMMs at 37-65 GFLOP/s f32, the direct kernel at 230-300 on cases B, F,
   * G), or AVX2 kernels on AMD Zen 4/5; Debian's BLIS 0.9 its "haswell" AVX2 ones on an
   * AVX-512 Xeon (GEMM_ACCUMULATE 7-19x slower than the direct kernel on cases B, F, G). */
  const int blas = conv1dt__blas_vector_bits();
  return blas && blas < conv1dt__kernel_vector_bits();
}

/* Bytes of one thread's scratch for tiles of `chunk` positions; 0 on overflow. */
static int64_t thread_bytes(const conv1dt_geometry *g, int64_t sz, int64_t chunk,
                            int64_t *panel_rows) {
  int64_t rows, tile, panel, taps, total;
  if (!conv1dt__add64(chunk, g->keff, &rows)) return 0;
  rows = rows / g->stride + 4 + CONV1DT_DIRECT_SLACK;
  /* The tile: chunk positions of F filters, or stride planes of up to chunk/stride + 1 each
   * (channels_first's planar tiles, direct_run.c): CONV1DT_DIRECT_TILE_ELEMS. */
  if (!conv1dt__add64(chunk, g->stride, &tile) || !conv1dt__mul64(tile, g->filters, &tile) ||
      !conv1dt__mul64(tile, sz, &tile) || !conv1dt__mul64(rows, g->in_ch, &panel) ||
      !conv1dt__mul64(panel, sz, &panel) ||
      !conv1dt__mul64(g->ksize, (int64_t)sizeof(conv1dt_direct_tap), &taps) ||
      tile > INT64_MAX / 4 || panel > INT64_MAX / 4 || taps > INT64_MAX / 4)
    return 0;
  total = round_up(tile, CONV1DT_WORKSPACE_ALIGN) + round_up(panel, CONV1DT_WORKSPACE_ALIGN) +
          round_up(taps, CONV1DT_WORKSPACE_ALIGN);
  *panel_rows = rows;
  return total;
}

/* The direct plan that fits `budget`, or 0. */
static int plan_direct(const conv1dt_geometry *g, size_t elem_size, size_t budget,
                       conv1dt_plan *plan) {
  const int64_t sz = (int64_t)elem_size;

  int64_t chunk = CONV1DT_DIRECT_TILE_BYTES / (g->filters * sz);
  if (chunk < 64) chunk = 64;
  /* Every phase of the stride gets whole register tiles (up to 12 positions channels_last, 24
   * channels_first), at least two of them. */
  const int64_t unit =
      g->stride <= INT64_MAX / (4 * CONV1DT_DIRECT_UNIT) ? CONV1DT_DIRECT_UNIT * g->stride : 1;
  chunk = chunk < 2 * unit ? 2 * unit : chunk / unit * unit;
  /* Every chunk reads all the weights again, from memory once they outgrow the caches: such
   * layers take chunks of CONV1DT_DIRECT_BIG_CHUNK positions or more (faster on bench
   * case F float64, 32 MiB of weights, up to one chunk a sample; float32 ties. Faster on case
   * B float32, 8 MiB, too). */
  const double wbytes = (double)g->ksize * (double)g->in_ch * (double)g->filters * (double)sz;
  if (wbytes > CONV1DT_DIRECT_CACHED_WEIGHT_BYTES && chunk < CONV1DT_DIRECT_BIG_CHUNK)
    chunk = CONV1DT_DIRECT_BIG_CHUNK / unit * unit;
  if (chunk > g->out_len) chunk = g->out_len;
  if (chunk < 1) chunk = 1;

  const double macs =
      (double)g->batch * g->steps * (double)g->in_ch * (double)g->filters * (double)g->ksize;
  int threads = macs >= CONV1DT_DIRECT_PARALLEL_MACS ? conv1dt__default_threads() : 1;
  const double units = (double)g->batch * (double)((g->out_len + chunk - 1) / chunk);
  if (threads > units) threads = (int)units;
  if (threads < 1) threads = 1;

  for (; threads >= 1; threads--) {
    for (int64_t ch = chunk; ch >= 1; ch = ch > 1 ? ch / 2 : 0) {
      int64_t rows = 0, per = thread_bytes(g, sz, ch, &rows), total;
      if (!per || !conv1dt__mul64(per, threads, &total) ||
          !conv1dt__add64(total, CONV1DT_WORKSPACE_ALIGN, &total) || (uint64_t)total > budget)
        continue;
      memset(plan, 0, sizeof *plan);
      plan->direct = 1;
      plan->threads = threads;
      plan->chunk = ch;
      plan->panel_rows = rows;
      plan->thread_bytes = (size_t)per;
      plan->bytes = (size_t)total;
      return 1;
    }
  }
  return 0;
}

/* Samples shorter than this many steps share their GEMMs, as many as make a GEMM this tall
 * (bench case F, 256 steps, f32: 8 samples a GEMM)... */
#define CONV1DT_ACCUMULATE_SHARE_ROWS 2048
/* ...unless the zero rows between them would add more than 1/32 to the GEMMs' work. */
#define CONV1DT_ACCUMULATE_SHARE_WASTE 32

/* A sample's accumulate slot in input steps (stride positions each): every position its GEMMs
 * write, and every one finishing reads. */
static int64_t sample_slot(const conv1dt_geometry *g) {
  const int64_t reach =
      conv1dt__max64((g->steps - 1) * g->stride + g->keff, g->out_len + g->crop_left);
  return conv1dt__ceil_div(reach, g->stride);
}

/* The slot when samples can share GEMMs, else 0. */
static int64_t shared_slot(const conv1dt_geometry *g) {
  const int64_t L = g->steps;
  if (g->batch < 2 || L >= CONV1DT_ACCUMULATE_SHARE_ROWS) return 0;
  const int64_t slot = sample_slot(g);
  return (slot - L) * CONV1DT_ACCUMULATE_SHARE_WASTE > slot ? 0 : slot;
}

/* GEMM_ACCUMULATE under AUTO: when each tap group's GEMM is wide (group * F columns) and tall:
 * samples that share GEMMs, or long ones (faster than the column-tile method on bench cases B,
 * F and G, except F float32 channels_last, where they tie). */
#define CONV1DT_ACCUMULATE_AUTO_MIN_N 128
#define CONV1DT_ACCUMULATE_AUTO_MIN_STEPS_LAST 512
#define CONV1DT_ACCUMULATE_AUTO_MIN_STEPS_FIRST 64
/* The streaming window aims at this size (it is written by every tap group's GEMM and read
 * once)... */
#define CONV1DT_ACCUMULATE_WINDOW_BYTES ((int64_t)4 << 20)
/* ...or at GEMMs as tall as shared blocks make them when up to this size allows: every block
 * costs each tap group a GEMM call of its own (case G float64 channels_last: one block of
 * 2048 steps measured faster than two)... */
#define CONV1DT_ACCUMULATE_WINDOW_MAX_BYTES ((int64_t)8 << 20)
/* ...and at least this many steps a block. */
#define CONV1DT_ACCUMULATE_MIN_ROWS 256

static int accumulate_wanted(const conv1dt_geometry *g) {
  if (g->stride > INT_MAX / g->filters) return 0; /* the window's leading dimension */
  if (g->algorithm == CONV1DT_ALGORITHM_GEMM_ACCUMULATE) return 1;
  if (g->algorithm != CONV1DT_ALGORITHM_AUTO) return 0;
  const int64_t group = g->dil == 1 ? (g->stride < g->ksize ? g->stride : g->ksize) : 1;
  return group * g->filters >= CONV1DT_ACCUMULATE_AUTO_MIN_N &&
         (shared_slot(g) ||
          g->steps >= (g->channels_first ? CONV1DT_ACCUMULATE_AUTO_MIN_STEPS_FIRST
                                         : CONV1DT_ACCUMULATE_AUTO_MIN_STEPS_LAST));
}

/* Window bytes: per input step s*F, plus keff*F of overlap tail; 0 on overflow. */
static int accumulate_sizes(const conv1dt_geometry *g, int64_t sz, int64_t *per_row,
                            int64_t *fixed) {
  return conv1dt__mul64(g->stride, g->filters, per_row) && conv1dt__mul64(*per_row, sz, per_row) &&
         conv1dt__mul64(g->keff, g->filters, fixed) && conv1dt__mul64(*fixed, sz, fixed) &&
         conv1dt__add64(*fixed, CONV1DT_WORKSPACE_ALIGN, fixed) && *per_row < INT64_MAX / 4 &&
         *fixed < INT64_MAX / 4;
}

/* The shared-GEMM plan (plan->span >= 2) that fits `budget`, or 0. */
static int plan_shared(const conv1dt_geometry *g, int64_t sz, size_t budget, conv1dt_plan *plan) {
  const int64_t s = g->stride, slot = shared_slot(g);
  int64_t win_row, per_sample, panel_row, span;
  if (!slot || !conv1dt__mul64(s * g->filters, sz, &win_row) ||
      !conv1dt__mul64(g->in_ch, sz, &panel_row) ||
      !conv1dt__add64(win_row, panel_row, &per_sample) ||
      !conv1dt__mul64(per_sample, slot, &per_sample) || budget < 2 * CONV1DT_WORKSPACE_ALIGN)
    return 0;
  span = conv1dt__ceil_div(CONV1DT_ACCUMULATE_SHARE_ROWS, slot);
  span = conv1dt__min64(span, g->batch);
  span =
      conv1dt__min64(span, (int64_t)((budget - 2 * CONV1DT_WORKSPACE_ALIGN) / (size_t)per_sample));
  if (span < 2) return 0;
  memset(plan, 0, sizeof *plan);
  plan->accumulate = 1;
  plan->span = span;
  plan->slot = slot;
  plan->rows = g->steps;
  plan->win = span * slot * s;
  plan->bytes = conv1dt__align((size_t)(span * slot * win_row)) +
                (size_t)(span * slot * panel_row) + CONV1DT_WORKSPACE_ALIGN;
  return 1;
}

/* channels_first samples that do not share GEMMs: whole-sample stride planes when they fit
 * `budget` and the activation works element by element (accumulate.c). One GEMM per tap,
 * W_k * x_b, reads both operands as they are: no transposed x_b to pack, and the finish
 * interleaves planes instead of transposing (case G channels_first, GEMMs alone: faster
 * than the bare GEMM). */
static int plan_planes(const conv1dt_geometry *g, int64_t sz, size_t budget, conv1dt_plan *plan) {
  if (!g->channels_first || CONV1DT_ACT_IS_AXISWISE(g->act)) return 0;
  const int64_t s = g->stride, slot = sample_slot(g);
  int64_t bytes;
  if (slot > INT_MAX || !conv1dt__mul64(s * g->filters, slot, &bytes) ||
      !conv1dt__mul64(bytes, sz, &bytes) || bytes > INT64_MAX / 2 ||
      (uint64_t)bytes + CONV1DT_WORKSPACE_ALIGN > budget)
    return 0;
  memset(plan, 0, sizeof *plan);
  plan->accumulate = 1;
  plan->planes = 1;
  plan->slot = slot;
  plan->rows = g->steps;
  plan->bytes = (size_t)bytes + CONV1DT_WORKSPACE_ALIGN;
  return 1;
}

static int plan_accumulate(const conv1dt_geometry *g, size_t elem_size, size_t budget,
                           conv1dt_plan *plan) {
  if (plan_shared(g, (int64_t)elem_size, budget, plan)) return 1;
  if (plan_planes(g, (int64_t)elem_size, budget, plan)) return 1;
  int64_t per_row, fixed;
  if (!accumulate_sizes(g, (int64_t)elem_size, &per_row, &fixed) ||
      (uint64_t)(fixed + per_row) > budget)
    return 0;
  int64_t rows = (int64_t)((budget - (size_t)fixed) / (size_t)per_row);
  int64_t target = conv1dt__max64(
      CONV1DT_ACCUMULATE_WINDOW_BYTES / per_row,
      conv1dt__min64(CONV1DT_ACCUMULATE_SHARE_ROWS, CONV1DT_ACCUMULATE_WINDOW_MAX_BYTES / per_row));
  if (target < CONV1DT_ACCUMULATE_MIN_ROWS) target = CONV1DT_ACCUMULATE_MIN_ROWS;
  if (rows > target) rows = target;
  if (rows > g->steps) rows = g->steps;
  if (rows > INT_MAX) rows = INT_MAX;
  memset(plan, 0, sizeof *plan);
  plan->accumulate = 1;
  plan->rows = rows;
  plan->win = rows * g->stride + g->keff;
  plan->bytes = (size_t)(fixed + rows * per_row);
  return 1;
}

static int use_direct(const conv1dt_geometry *g) {
  return g->direct_ready && conv1dt__direct_wanted(g->algorithm, g->in_ch);
}

conv1dt_status conv1dt__plan(const conv1dt_geometry *g, size_t elem_size, size_t budget,
                             conv1dt_plan *plan) {
  if (use_direct(g)) {
    if (plan_direct(g, elem_size, budget, plan)) return CONV1DT_OK;
  } else if (accumulate_wanted(g) && plan_accumulate(g, elem_size, budget, plan)) {
    return CONV1DT_OK;
  }
  return conv1dt__plan_gemm(g, elem_size, budget, plan);
}

conv1dt_status conv1dt__plan_min_bytes(const conv1dt_geometry *g, size_t elem_size, size_t *bytes) {
  conv1dt_geometry one = *g;
  conv1dt_plan plan;
  /* One GEMM row per block is the least the GEMM path can work with... */
  one.batch = one.steps = 1;
  CONV1DT_CHECK(conv1dt__plan_gemm(&one, elem_size, SIZE_MAX, &plan));
  *bytes = plan.bytes;
  /* ...and one position per tile, on one thread, the least of the direct kernel's. */
  if (use_direct(g)) {
    int64_t rows, per = thread_bytes(g, (int64_t)elem_size, 1, &rows);
    if (per && (uint64_t)(per + CONV1DT_WORKSPACE_ALIGN) < *bytes)
      *bytes = (size_t)(per + CONV1DT_WORKSPACE_ALIGN);
  } else if (accumulate_wanted(g)) { /* ...or one input step's window, or a short sample's planes */
    int64_t per_row, fixed;
    if (accumulate_sizes(g, (int64_t)elem_size, &per_row, &fixed) &&
        (uint64_t)(per_row + fixed) < *bytes)
      *bytes = (size_t)(per_row + fixed);
    if (plan_planes(g, (int64_t)elem_size, SIZE_MAX, &plan) && plan.bytes < *bytes)
      *bytes = plan.bytes;
  }
  return CONV1DT_OK;
}
