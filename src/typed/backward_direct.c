/* The direct backward: the gradients of a layer whose forward runs the direct method, computed
 * by the kernel room's tiles on conv1dt's own team, no GEMM, in one of two layouts
 * (backward_direct.h: rows, or planes). Per block of input steps (whole samples or a piece of
 * one; each sample's piece a segment):
 *   job A, split by dz positions: dz = act'(pre) applied to dy for the positions the segments
 *          reach, zero outside the output; x copied where the layout needs it;
 *   job B: dx of a share of the steps, a share of the kernel gradient summed over the block, a
 *          share of dbias.
 * Every gradient element is summed by one thread in an order that neither the blocks nor the
 * thread count change (the plan, and so the choice of this method, does not depend on the
 * thread count either): the same bits with any number of threads and workspace. dbias sums each
 * position once, in increasing position, in double, as the GEMM backward does. */
#include "backward_direct.h"

#include <string.h>

_Static_assert(sizeof(bwd_seg) <= CONV1DT_BWD_SEG_BYTES, "a segment outgrew its planned bytes");

static char *align_up(char *p) {
  const uintptr_t a =
      ((uintptr_t)p + CONV1DT_WORKSPACE_ALIGN - 1) & ~(uintptr_t)(CONV1DT_WORKSPACE_ALIGN - 1);
  return p + (a - (uintptr_t)p);
}

static char *take(char **p, size_t bytes) {
  char *q = align_up(*p);
  *p = q + bytes;
  return q;
}

/* The lane sums of one kernel gradient element added up, always in the same order (halves,
 * then quarters...); n a power of two, at most CONV1DT_DIRECT_PAD_BYTES / sizeof(R). */
static R add_lanes(const R *lane, int64_t n) {
  R t[CONV1DT_DIRECT_PAD_BYTES / sizeof(R)];
  memcpy(t, lane, (size_t)n * sizeof(R));
  for (int64_t w = n / 2; w >= 1; w /= 2)
    for (int64_t i = 0; i < w; i++) t[i] += t[i + w];
  return t[0];
}

/* Part A: the block's dz tile rows [lo, hi) (positions, segment after segment); x rows [lo, hi)
 * where the rows layout copies x. */
static void dz_range(const bwd_job *j, const bwd_block *k, int64_t lo, int64_t hi, R *scratch) {
  int64_t a, b;
  for (int64_t i = 0; i < k->nseg; i++) {
    const bwd_seg *sg = &k->segs[i];
    if (!bwd_piece(sg->tile, sg->p1 - sg->p0, lo, hi, &a, &b)) continue;
    if (j->plan->planes)
      X(conv1dt__bwd_planes_dz)(j, k, sg, a, b, scratch);
    else
      X(conv1dt__bwd_rows_dz)(j, k, sg, a, b, scratch);
  }
}

static void x_range(const bwd_job *j, const bwd_block *k, int64_t lo, int64_t hi) {
  int64_t a, b;
  for (int64_t i = 0; i < k->nseg; i++) {
    const bwd_seg *sg = &k->segs[i];
    if (bwd_piece(sg->row, sg->l1 - sg->l0, lo, hi, &a, &b)) X(conv1dt__bwd_rows_x)(j, k, sg, a, b);
  }
}

/* Part B: the block's dx of block rows [lo, hi); the gradient rows [f_lo, f_hi) of tap t;
 * dbias of filters [lo, hi). */
static void dx_range(const bwd_job *j, const bwd_block *k, int64_t lo, int64_t hi) {
  int64_t a, b;
  for (int64_t i = 0; i < k->nseg; i++) {
    const bwd_seg *sg = &k->segs[i];
    if (!bwd_piece(sg->row, sg->l1 - sg->l0, lo, hi, &a, &b)) continue;
    if (j->plan->planes)
      X(conv1dt__bwd_planes_dx)(j, k, sg, a, b);
    else
      X(conv1dt__bwd_rows_dx)(j, k, sg, a, b);
  }
}

static void dw_rows(const bwd_job *j, const bwd_block *k, int64_t t, int64_t f_lo, int64_t f_hi) {
  for (int64_t i = 0; i < k->nseg; i++)
    if (j->plan->planes)
      X(conv1dt__bwd_planes_dw)(j, k, &k->segs[i], t, f_lo, f_hi);
    else
      X(conv1dt__bwd_rows_dw)(j, k, &k->segs[i], t, f_lo, f_hi);
}

static void dbias_rows(const bwd_job *j, const bwd_block *k, int64_t lo, int64_t hi) {
  if (j->plan->planes)
    X(conv1dt__bwd_planes_db)(j, k, lo, hi);
  else
    X(conv1dt__bwd_rows_db)(j, k, lo, hi);
}

/* Work items: fixed pieces of each part, taken in turn from one counter by whichever member
 * is free (the largest first), so that members without a CPU hold nobody up; which member
 * runs an item changes no result. */
enum {
  ITEM_DW_ROWS = 16,
  ITEM_DX_ROWS = 128,
  ITEM_DB_ROWS = 8,
  ITEM_DZ_ROWS = 256,
  ITEM_X_ROWS = 256
};

/* Filters per kernel gradient work item. */
static int64_t dw_filters(const conv1dt_bwd_plan *plan) {
  return plan->planes ? CONV1DT_BWD_PLANES_DW_F : ITEM_DW_ROWS;
}

static void block_work(void *arg, int id, int size) {
  bwd_job *j = arg;
  (void)size;
  const conv1dt_geometry *g = j->g;
  const int64_t F = g->filters, fw = dw_filters(j->plan), per = conv1dt__ceil_div(F, fw);
  R *scratch = j->scratch ? j->scratch + (int64_t)id * j->plan->scratch : NULL;
  for (;;) {
    int64_t u = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed), kind = 0;
    while (kind < 5 && u >= j->items[kind]) u -= j->items[kind++];
    switch (kind) {
    case 0: /* kernel gradient: piece u / per (tap, or channels), its filters in pieces */
      dw_rows(j, j->b, u / per, u % per * fw, conv1dt__min64(F, (u % per + 1) * fw));
      break;
    case 1:
      dx_range(j, j->b, u * ITEM_DX_ROWS, conv1dt__min64(j->b->rows, (u + 1) * ITEM_DX_ROWS));
      break;
    case 2:
      dbias_rows(j, j->b, u * ITEM_DB_ROWS, conv1dt__min64(F, (u + 1) * ITEM_DB_ROWS));
      break;
    case 3:
      dz_range(j, j->a, u * ITEM_DZ_ROWS, conv1dt__min64(j->a->tile_rows, (u + 1) * ITEM_DZ_ROWS),
               scratch);
      break;
    case 4:
      x_range(j, j->a, u * ITEM_X_ROWS, conv1dt__min64(j->a->rows, (u + 1) * ITEM_X_ROWS));
      break;
    default:
      return;
    }
  }
}

/* This job's items: part B of block b, part A of block a. */
static void count_items(bwd_job *j) {
  const int64_t F = j->g->filters;
  memset(j->items, 0, sizeof j->items);
  if (j->b) {
    if (j->acc) {
      const int64_t pieces =
          j->plan->planes ? conv1dt__ceil_div(j->g->in_ch, CONV1DT_BWD_PLANES_DW_C) : j->g->ksize;
      j->items[0] = pieces * conv1dt__ceil_div(F, dw_filters(j->plan));
    }
    if (j->dx) j->items[1] = conv1dt__ceil_div(j->b->rows, ITEM_DX_ROWS);
    if (j->bsum) j->items[2] = conv1dt__ceil_div(F, ITEM_DB_ROWS);
  }
  if (j->a) {
    j->items[3] = conv1dt__ceil_div(j->a->tile_rows, ITEM_DZ_ROWS);
    if (j->a->xt) j->items[4] = conv1dt__ceil_div(j->a->rows, ITEM_X_ROWS);
  }
  atomic_store_explicit(&j->next, 0, memory_order_relaxed);
}

/* The segments of block rows [r0, r0 + m), laid out one after another in the dz tile (rows:
 * tile rows; planes: columns, each segment's followed by the slack its last vectors read). */
static int64_t segments(const conv1dt_geometry *g, int64_t r0, int64_t m, bwd_block *k) {
  const int64_t L = g->steps, T = g->out_len, s = g->stride, cl = g->crop_left;
  bwd_seg *segs = k->segs;
  int64_t n = 0, tile = 0, q = 0;
  for (int64_t r = r0; r < r0 + m; n++) {
    bwd_seg *sg = &segs[n];
    sg->b = r / L;
    sg->l0 = r % L;
    sg->l1 = conv1dt__min64(L, sg->l0 + (r0 + m - r));
    sg->p0 = sg->l0 * s - cl;
    sg->p1 = conv1dt__max64((sg->l1 - 1) * s + g->keff, sg->l1 * s) - cl;
    if (sg->l1 == L) sg->p1 = conv1dt__max64(sg->p1, T);
    sg->own0 = sg->l0 == 0 ? 0 : conv1dt__max64(0, conv1dt__min64(T, sg->p0));
    sg->own1 = sg->l1 == L ? T : conv1dt__max64(0, conv1dt__min64(T, sg->l1 * s - cl));
    sg->tile = tile;
    sg->row = r - r0;
    sg->q0 = q;
    tile += sg->p1 - sg->p0;
    q += (sg->p1 - sg->p0 + s - 1) / s + CONV1DT_DIRECT_SLACK;
    r += sg->l1 - sg->l0;
  }
  k->tile_rows = tile;
  k->ldq = q;
  return n;
}

void X(conv1dt__backward_direct)(const conv1dt_layer *layer, const conv1dt_geometry *g,
                                 const conv1dt_bwd_plan *plan, const R *x, const R *pre,
                                 const R *dy, R *dx, R *dkernel, R *dbias, void *work) {
  const int64_t K = g->ksize, F = g->filters, C = g->in_ch, ldw = plan->ldw;
  const int64_t total = g->batch * g->steps, kfw = K * F * ldw;
  bwd_job j;
  memset(&j, 0, sizeof j);
  j.layer = layer;
  j.g = g;
  j.plan = plan;
  j.kern = X(conv1dt__kernels)((conv1dt_isa)plan->isa);
  j.x = x;
  j.pre = pre;
  j.dy = dy;
  j.dx = dx;
  j.dkernel = dkernel;
  char *p = work;
  R *wpad = NULL;
  if (plan->acc_tile) {
    wpad = (R *)take(&p, (size_t)kfw * sizeof(R));
    j.acc = (R *)take(&p, (size_t)kfw * sizeof(R));
  }
  if (plan->lanes) j.acc = (R *)take(&p, (size_t)(kfw * plan->lanes) * sizeof(R));
  if (plan->dx_tile) j.dxt = (R *)take(&p, (size_t)(plan->rows * ldw) * sizeof(R));
  if (plan->scratch)
    j.scratch = (R *)take(&p, (size_t)(plan->scratch * CONV1DT_MAX_THREADS) * sizeof(R));
  double *bsum = (double *)take(&p, (size_t)F * sizeof(double));
  bwd_block blk[2];
  memset(blk, 0, sizeof blk);
  for (int i = 0; i < 2; i++) {
    blk[i].dz = (R *)take(&p, plan->dz_elems * sizeof(R));
    if (plan->x_tile && dkernel) blk[i].xt = (R *)take(&p, (size_t)(plan->rows * ldw) * sizeof(R));
    blk[i].segs = (bwd_seg *)take(&p, (size_t)plan->segs * sizeof(bwd_seg));
  }

  /* Row-packed weights and the kernel gradient: the layer's kernel and dkernel themselves
   * where the channels fill whole vectors, else padded copies. */
  const R *kernel = layer->kernel;
  j.w = kernel;
  if (wpad) {
    for (int64_t r = 0; r < K * F; r++) {
      memcpy(wpad + r * ldw, kernel + r * C, (size_t)C * sizeof(R));
      memset(wpad + r * ldw + C, 0, (size_t)(ldw - C) * sizeof(R));
    }
    j.w = wpad;
  }
  if (dkernel && !plan->acc_tile && !plan->lanes) j.acc = dkernel;
  if (!dkernel) j.acc = NULL;
  if (j.acc && plan->lanes) /* -0: a sum of -0 terms stays -0 */
    for (int64_t i = 0; i < kfw * plan->lanes; i++) j.acc[i] = -RC(0.0);
  else if (j.acc)
    memset(j.acc, 0, (size_t)kfw * sizeof(R));
  if (dbias) {
    j.bsum = bsum;
    memset(bsum, 0, (size_t)F * sizeof(double));
  }
  for (int i = 0; i < 2; i++) /* the padding lanes x is read with (for the kernel gradient) */
    if (blk[i].xt && ldw != C) memset(blk[i].xt, 0, (size_t)(plan->rows * ldw) * sizeof(R));
  j.ldx = blk[0].xt ? ldw : C;

  int own = 1;
  conv1dt_team *team = conv1dt__team_acquire(layer, plan->threads, &own);
  const bwd_block *prev = NULL;
  for (int64_t r0 = 0, i = 0;; r0 += plan->rows, i++) {
    bwd_block *k = NULL;
    if (r0 < total) {
      k = &blk[i % 2];
      k->rows = conv1dt__min64(plan->rows, total - r0);
      k->nseg = segments(g, r0, k->rows, k);
      k->xrows = k->xt ? k->xt : x ? x + r0 * C : NULL;
    }
    if (!k && !prev) break;
    j.a = k;
    j.b = prev;
    count_items(&j);
    conv1dt__team_run_any(team, block_work, &j);
    prev = k;
  }
  conv1dt__team_release(layer, team, own);

  if (dkernel && plan->acc_tile)
    for (int64_t r = 0; r < K * F; r++)
      memcpy(dkernel + r * C, j.acc + r * ldw, (size_t)C * sizeof(R));
  if (dkernel && plan->lanes)
    for (int64_t e = 0; e < kfw; e++) dkernel[e] = add_lanes(j.acc + e * plan->lanes, plan->lanes);
  if (dbias)
    for (int64_t f = 0; f < F; f++) dbias[f] = (R)bsum[f];
}
