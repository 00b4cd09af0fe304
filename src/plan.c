/* Choosing how a forward call computes, and sizing its scratch. The GEMM + col2im plan lives in
 * shape.c; this file decides when the direct kernel is used instead and lays out its
 * workspace: per thread an output tile of `chunk` positions, an input panel (the rows those
 * positions read, zero outside the sample) and the tap list of one phase. */
#include "internal.h"

#include <string.h>

/* AUTO: the direct kernel when the GEMM's inner dimension (input channels) is this small. Below
 * it the BLAS spends its time packing and the col tile's traffic dominates: measured 0.55-0.97x
 * the GEMM path's time at C = 64 and 128 (bench case C), 0.1-0.3x at C = 8, 16 (cases D, E);
 * at C = 256 (case G) the GEMM path is as fast or faster. */
#define CONV1DT_DIRECT_AUTO_MAX_CH 128
/* Tiles aim at this many bytes (L1-resident with the panel beside them)... */
#define CONV1DT_DIRECT_TILE_BYTES 16384
/* ...and a forward call uses threads only from this many multiply-adds on. */
#define CONV1DT_DIRECT_PARALLEL_MACS ((double)(1 << 21))

static int64_t round_up(int64_t v, int64_t a) {
  return (v + a - 1) / a * a;
}

int conv1dt__direct_wanted(conv1dt_algorithm algorithm, int64_t in_channels) {
  if (algorithm == CONV1DT_ALGORITHM_GEMM) return 0;
  if (algorithm == CONV1DT_ALGORITHM_DIRECT) return 1;
  return in_channels <= CONV1DT_DIRECT_AUTO_MAX_CH;
}

/* Bytes of one thread's scratch for tiles of `chunk` positions; 0 on overflow. */
static int64_t thread_bytes(const conv1dt_geometry *g, int64_t sz, int64_t chunk,
                            int64_t *panel_rows) {
  int64_t rows, tile, panel, taps, total;
  if (!conv1dt__add64(chunk, g->keff, &rows)) return 0;
  rows = rows / g->stride + 4 + CONV1DT_DIRECT_SLACK;
  if (!conv1dt__mul64(chunk, g->filters, &tile) || !conv1dt__mul64(tile, sz, &tile) ||
      !conv1dt__mul64(rows, g->in_ch, &panel) || !conv1dt__mul64(panel, sz, &panel) ||
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
  /* Every phase of the stride should fill a few register tiles. */
  if (g->stride <= INT64_MAX / (2 * CONV1DT_DIRECT_SLACK) &&
      chunk < 2 * CONV1DT_DIRECT_SLACK * g->stride)
    chunk = 2 * CONV1DT_DIRECT_SLACK * g->stride;
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

conv1dt_status conv1dt__plan(const conv1dt_geometry *g, size_t elem_size, size_t budget,
                             conv1dt_plan *plan) {
  if (conv1dt__direct_wanted(g->algorithm, g->in_ch) && plan_direct(g, elem_size, budget, plan))
    return CONV1DT_OK;
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
  if (conv1dt__direct_wanted(g->algorithm, g->in_ch)) {
    int64_t rows, per = thread_bytes(g, (int64_t)elem_size, 1, &rows);
    if (per && (uint64_t)(per + CONV1DT_WORKSPACE_ALIGN) < *bytes)
      *bytes = (size_t)(per + CONV1DT_WORKSPACE_ALIGN);
  }
  return CONV1DT_OK;
}
