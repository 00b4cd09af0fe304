/* The typed forward driver: rows of the input go through the GEMM in blocks; each block's
 * column tile is scattered into a small accumulator window; positions no later row can reach
 * are finished (bias, activation) straight into y, and the window slides on. y is written
 * once, and scratch stays bounded by the plan whatever the batch and length. */
#include "typed.h"

#include <string.h>

static int64_t min64(int64_t a, int64_t b) {
  return a < b ? a : b;
}
static int64_t max64(int64_t a, int64_t b) {
  return a > b ? a : b;
}

/* Output positions below this are final once input rows < l1 are in (all, at a sample's end). */
static int64_t final_end(const conv1dt_geometry *g, int64_t l1) {
  return l1 == g->steps ? g->out_len : min64(g->out_len, l1 * g->stride - g->crop_left);
}

/* Drops the first n positions of a window of `rows` rows of `width` positions (stride `ld`);
 * `hwm` marks one past the highest written position, `dirty` one past the highest touched by
 * the finalizer. Keeps the rest zero. Returns the new high-water mark. */
static int64_t slide(R *acc, int64_t rows, int64_t ld, int64_t width, int64_t n, int64_t hwm) {
  const int64_t tail = hwm > n ? hwm - n : 0, dirty = max64(hwm, n);
  for (int64_t r = 0; r < rows; r++) {
    R *a = acc + r * ld;
    if (tail) memmove(a, a + n * width, (size_t)(tail * width) * sizeof(R));
    memset(a + tail * width, 0, (size_t)((dirty - tail) * width) * sizeof(R));
  }
  return tail;
}

static void run_channels_last(const conv1dt_layer *layer, const conv1dt_geometry *g,
                              const conv1dt_plan *plan, const R *x, R *y, R *col, R *acc) {
  const int64_t L = g->steps, C = g->in_ch, F = g->filters, KF = g->ksize * F;
  const int64_t total = g->batch * L;
  const R *kernel = layer->kernel, *bias = layer->bias;
  int64_t w0 = 0, hwm = 0;
  for (int64_t r0 = 0; r0 < total; r0 += plan->rows) {
    const int64_t m = min64(plan->rows, total - r0);
    /* col[m x KF] = x[m x C] * W^T with W the (K*F) x C view of the Keras kernel. */
    conv1dt__gemm_R(1, (int)m, (int)KF, (int)C, x + r0 * C, (int)C, kernel, (int)C, col, (int)KF);
    for (int64_t r = r0; r < r0 + m;) {
      const int64_t b = r / L, l0 = r % L, l1 = min64(L, l0 + (r0 + m - r));
      if (l0 == 0) w0 = 0; /* a new sample: the window is all zero here */
      hwm = max64(hwm, X(conv1dt__scatter_last)(g, col + (r - r0) * KF, l0, l1, w0, acc));
      const int64_t end = final_end(g, l1);
      if (end > w0) {
        const int64_t n = end - w0;
        X(conv1dt__finalize_last)(g, bias, acc, n, y + (b * g->out_len + w0) * g->out_last);
        hwm = slide(acc, 1, 0, F, n, hwm);
        w0 = end;
      }
      r += l1 - l0;
    }
  }
}

static void run_channels_first(const conv1dt_layer *layer, const conv1dt_geometry *g,
                               const conv1dt_plan *plan, const R *x, R *y, R *col, R *acc) {
  const int64_t L = g->steps, C = g->in_ch, F = g->filters, KF = g->ksize * F;
  const R *kernel = layer->kernel, *bias = layer->bias;
  for (int64_t b = 0; b < g->batch; b++) {
    const R *xb = x + b * C * L;
    R *yb = y + b * F * g->out_last;
    int64_t w0 = 0, hwm = 0;
    for (int64_t l0 = 0; l0 < L; l0 += plan->rows) {
      const int64_t m = min64(plan->rows, L - l0);
      /* col[KF x m] = W[KF x C] * x_b[C x m] (columns l0.. of the sample, leading dim L). */
      conv1dt__gemm_R(0, (int)KF, (int)m, (int)C, kernel, (int)C, xb + l0, (int)L, col, (int)m);
      hwm = max64(hwm, X(conv1dt__scatter_first)(g, col, l0, m, w0, acc, plan->win));
      const int64_t end = final_end(g, l0 + m);
      if (end > w0) {
        X(conv1dt__finalize_first)(g, bias, acc, plan->win, w0, end, yb);
        hwm = slide(acc, F, plan->win, 1, end - w0, hwm);
        w0 = end;
      }
    }
    X(conv1dt__finish_sample_first)(g, yb);
  }
}

void X(conv1dt__run)(const conv1dt_layer *layer, const conv1dt_geometry *g,
                     const conv1dt_plan *plan, const R *x, R *y, R *work) {
  R *col = work;
  /* The accumulator starts on the next aligned address after the column tile. */
  size_t col_bytes = plan->col_elems * sizeof(R);
  col_bytes = (col_bytes + CONV1DT_WORKSPACE_ALIGN - 1) & ~(size_t)(CONV1DT_WORKSPACE_ALIGN - 1);
  R *acc = (R *)((char *)work + col_bytes);
  memset(acc, 0, plan->acc_elems * sizeof(R));
  if (g->channels_first)
    run_channels_first(layer, g, plan, x, y, col, acc);
  else
    run_channels_last(layer, g, plan, x, y, col, acc);
}
