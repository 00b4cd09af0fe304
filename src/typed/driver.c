/* The typed forward driver. Rows of the input go through the GEMM in blocks; each block's
 * column tile is scattered into a small accumulator window; positions no later row can reach
 * are finished (bias, activation) straight into y, and the window slides on. y is written
 * once, and scratch stays bounded by the plan whatever the batch and length.
 *
 * The BLAS parallelises the GEMM; the scatter and finish after it are shared by a team of
 * threads that split the window's output positions, so every output element has one owner
 * (no atomics, bit-identical for any thread count). */
#include "typed.h"

#include <string.h>

/* Tiles smaller than this (elements) are scattered by the calling thread alone: below it,
 * waking a team costs more than it saves while the BLAS's idle threads still spin (measured on
 * the bench suite: C, D, E ran faster alone). */
#define CONV1DT_PARALLEL_MIN_TILE (1 << 20)

/* Output positions below this are final once input rows < l1 are in (all, at a sample's end). */
static int64_t final_end(const conv1dt_geometry *g, int64_t l1) {
  return l1 == g->steps ? g->out_len : conv1dt__min64(g->out_len, l1 * g->stride - g->crop_left);
}

/* One segment: input rows [l0, l1) of one sample, already multiplied into the tile `col`. */
typedef struct {
  const conv1dt_geometry *g;
  const R *bias, *col;
  int64_t l0, l1;
  int fm;         /* filter-major tile and window (channels_first, few filters) */
  int64_t m;      /* fm: tile row length */
  int64_t win;    /* fm: window row length */
  int64_t w0;     /* window start (output position) */
  int64_t lo, hi; /* positions this segment writes or finishes */
  int64_t end;    /* positions [w0, end) are finished by this segment */
  int finish;     /* 0: scatter only (glu along steps is finished by the caller) */
  R *acc;
  R *y_sample, *pre_sample;
  int64_t top[CONV1DT_MAX_THREADS];
} segment;

static void segment_work(void *arg, int id, int size) {
  segment *sg = arg;
  const conv1dt_geometry *g = sg->g;
  const int64_t F = g->filters;
  int64_t pa, pb;
  conv1dt__share(sg->lo, sg->hi, id, size, &pa, &pb);
  sg->top[id] = 0;
  if (pa >= pb) return;
  const int64_t fa = conv1dt__max64(pa, sg->w0), fb = conv1dt__min64(pb, sg->end);
  if (sg->fm) {
    sg->top[id] =
        X(conv1dt__scatter_fm)(g, sg->col, sg->l0, sg->m, pa, pb, sg->w0, sg->acc, sg->win);
    if (sg->finish && fa < fb) X(conv1dt__finalize_fm)
    (g, sg->bias, sg->acc + (fa - sg->w0), sg->win, fa, fb - fa, sg->y_sample, sg->pre_sample, 1);
    return;
  }
  sg->top[id] = X(conv1dt__scatter)(g, sg->col, sg->l0, sg->l1, pa, pb, sg->w0, sg->acc);
  if (!sg->finish || fa >= fb) return;
  R *a = sg->acc + (fa - sg->w0) * F;
  if (g->channels_first)
    X(conv1dt__finalize_first)(g, sg->bias, a, fa, fb - fa, sg->y_sample, sg->pre_sample, 1);
  else
    X(conv1dt__finalize_last)
  (g, sg->bias, a, fb - fa, sg->y_sample + fa * g->out_last,
   sg->pre_sample ? sg->pre_sample + fa * F : NULL, 1);
}

typedef struct {
  const conv1dt_geometry *g;
  R *y_sample;
} rows_job;

static void rows_work(void *arg, int id, int size) {
  rows_job *job = arg;
  int64_t f0, f1;
  conv1dt__share(0, job->g->filters, id, size, &f0, &f1);
  X(conv1dt__finish_rows_first)(job->g, job->y_sample, f0, f1);
}

/* Runs one segment and slides the window past the finished positions. Returns the new
 * high-water mark (one past the highest window index holding data). */
static int64_t run_segment(segment *sg, int64_t hwm, conv1dt_team **team, int threads,
                           int64_t tile_elems) {
  const conv1dt_geometry *g = sg->g;
  const int64_t s = g->stride;
  /* Positions touched: from the window start to the last contribution or the finish line. */
  sg->lo = sg->w0;
  sg->hi = conv1dt__min64(g->out_len, (sg->l1 - 1) * s + (g->keff - 1) - g->crop_left + 1);
  sg->hi = conv1dt__max64(sg->hi, sg->end);
  const int glu_steps = g->channels_first && g->act == CONV1DT_ACT_GLU;
  sg->finish = !glu_steps;
  if (sg->hi > sg->lo) {
    conv1dt_team *t = NULL;
    if (tile_elems >= CONV1DT_PARALLEL_MIN_TILE && threads > 1) {
      if (!*team) *team = conv1dt__team_create(threads);
      t = *team;
    }
    conv1dt__team_run(t, segment_work, sg);
    for (int i = 0; i < conv1dt__team_size(t); i++) hwm = conv1dt__max64(hwm, sg->top[i]);
  }
  if (sg->end <= sg->w0) return hwm;
  const int64_t n = sg->end - sg->w0;
  if (glu_steps && sg->fm) /* its halves pair across the sample: finish in order, one thread */
    X(conv1dt__finalize_fm)
  (g, sg->bias, sg->acc, sg->win, sg->w0, n, sg->y_sample, sg->pre_sample, 1);
  else if (glu_steps)
      X(conv1dt__finalize_first)(g, sg->bias, sg->acc, sg->w0, n, sg->y_sample, sg->pre_sample, 1);
  /* [0, n) is finished and zero; move the unfinished tail to the front, clear what it left. */
  const int64_t tail = hwm > n ? hwm - n : 0, stale = conv1dt__max64(tail, n);
  /* Position-major: one run of F per position; filter-major: F rows of `win` positions. */
  const int64_t rows = sg->fm ? g->filters : 1, ld = sg->fm ? sg->win : 0;
  const int64_t width = sg->fm ? 1 : g->filters;
  for (int64_t r = 0; r < rows; r++) {
    R *a = sg->acc + r * ld;
    if (tail) memmove(a, a + n * width, (size_t)(tail * width) * sizeof(R));
    if (hwm > stale) memset(a + stale * width, 0, (size_t)((hwm - stale) * width) * sizeof(R));
  }
  sg->w0 = sg->end;
  return tail;
}

void X(conv1dt__run)(const conv1dt_layer *layer, const conv1dt_geometry *g,
                     const conv1dt_plan *plan, const R *x, R *y, R *pre, R *work) {
  const int64_t L = g->steps, C = g->in_ch, F = g->filters, KF = g->ksize * F;
  const R *kernel = layer->kernel;
  const X(conv1dt_weights) wt = X(conv1dt__weights)(layer, 0);
  R *col = work;
  /* The accumulator starts on the next aligned address after the column tile. */
  R *acc = (R *)((char *)work + conv1dt__align(plan->col_elems * sizeof(R)));
  memset(acc, 0, plan->acc_elems * sizeof(R));

  const int threads = plan->rows * KF >= CONV1DT_PARALLEL_MIN_TILE ? conv1dt__default_threads() : 1;
  conv1dt_team *team = NULL; /* created on the first tile worth sharing */
  segment sg;
  memset(&sg, 0, sizeof sg);
  sg.g = g;
  sg.bias = layer->bias;
  sg.acc = acc;
  sg.col = col;
  sg.fm = plan->filter_major;
  sg.win = plan->win;

  if (!g->channels_first) {
    const int64_t total = g->batch * L;
    int64_t hwm = 0;
    for (int64_t r0 = 0; r0 < total; r0 += plan->rows) {
      const int64_t m = conv1dt__min64(plan->rows, total - r0);
      /* col[m x KF] = x[m x C] * W^T with W the (K*F) x C view of the Keras kernel. */
      conv1dt__gemm_R(0, wt.trans, (int)m, (int)KF, (int)C, x + r0 * C, (int)C, wt.w, wt.ld, 0, col,
                      (int)KF);
      for (int64_t r = r0; r < r0 + m;) {
        const int64_t b = r / L, l0 = r % L, l1 = conv1dt__min64(L, l0 + (r0 + m - r));
        if (l0 == 0) sg.w0 = 0; /* a new sample: the window is all zero here */
        sg.col = col + (r - r0) * KF;
        sg.l0 = l0;
        sg.l1 = l1;
        sg.end = final_end(g, l1);
        sg.y_sample = y + b * g->out_len * g->out_last;
        sg.pre_sample = pre ? pre + b * g->out_len * F : NULL;
        hwm = run_segment(&sg, hwm, &team, threads, (l1 - l0) * KF);
        r += l1 - l0;
      }
    }
  } else {
    for (int64_t b = 0; b < g->batch; b++) {
      const R *xb = x + b * C * L;
      sg.y_sample = y + b * F * g->out_last;
      sg.pre_sample = pre ? pre + b * F * g->out_len : NULL;
      sg.w0 = 0;
      int64_t hwm = 0;
      for (int64_t l0 = 0; l0 < L; l0 += plan->rows) {
        const int64_t m = conv1dt__min64(plan->rows, L - l0);
        if (sg.fm) /* col[KF x m] = W[KF x C] * x_b[C x m], columns l0.. of the sample */
          conv1dt__gemm_R(0, 0, (int)KF, (int)m, (int)C, kernel, (int)C, xb + l0, (int)L, 0, col,
                          (int)m);
        else /* col[m x KF] = x_b^T * W^T: the transposed operand reads x_b in place, and the
              * tile gets the channels_last layout */
          conv1dt__gemm_R(1, wt.trans, (int)m, (int)KF, (int)C, xb + l0, (int)L, wt.w, wt.ld, 0,
                          col, (int)KF);
        sg.m = m;
        sg.l0 = l0;
        sg.l1 = l0 + m;
        sg.end = final_end(g, l0 + m);
        hwm = run_segment(&sg, hwm, &team, threads, m * KF);
      }
      if (g->act == CONV1DT_ACT_SOFTMAX || g->act == CONV1DT_ACT_LOG_SOFTMAX ||
          g->act == CONV1DT_ACT_SPARSEMAX) {
        rows_job job = {g, sg.y_sample};
        conv1dt__team_run(team, rows_work, &job);
      }
    }
  }
  conv1dt__team_destroy(team);
}
