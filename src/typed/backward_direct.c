/* The direct backward: the gradients of a layer whose forward runs the direct method, computed
 * by the kernel room's tiles (bwd_data, bwd_weights) on conv1dt's own team, no GEMM. Per block
 * of input steps (whole samples or a piece of one; each sample's piece a segment):
 *   job A, split by dz rows: dz = act'(pre) applied to dy for the positions the segments reach,
 *          zero outside the output, channels along the rows; x copied into padded rows where
 *          its layout needs it;
 *   job B: dx of a share of the steps (bwd_data), a share of the kernel gradient's (tap,
 *          filter) rows summed over the block (bwd_weights), a share of dbias.
 * Every gradient element is summed by one thread in an order that neither the blocks nor the
 * thread count change (the plan, and so the choice of this method, does not depend on the
 * thread count either): the same bits with any number of threads and workspace. dbias sums each
 * position once, in increasing position, in double, as the GEMM backward does. */
#include "kernels/kernel.h"
#include "typed.h"

#include <stdatomic.h>
#include <string.h>

typedef struct {
  int64_t b, l0, l1;  /* the sample and its steps */
  int64_t p0, p1;     /* dz tile positions [p0, p1), some outside [0, T) (zero) */
  int64_t own0, own1; /* positions whose dz goes into dbias, each once */
  int64_t tile, row;  /* first dz tile row, first block row */
} seg;
_Static_assert(sizeof(seg) <= CONV1DT_BWD_SEG_BYTES, "a segment outgrew its planned bytes");

/* One block's tiles: its segments, dz rows and (where x's layout needs it) padded x rows. */
typedef struct {
  seg *segs;
  int64_t nseg, rows, tile_rows;
  R *dz, *xt;
  const R *xrows; /* block row r's x at xrows + r * ldx */
} block;

typedef struct {
  const conv1dt_layer *layer;
  const conv1dt_geometry *g;
  const conv1dt_bwd_plan *plan;
  const X(conv1dt_kernels) * kern;
  const R *x, *pre, *dy;
  R *dx, *dkernel;
  const R *w;
  R *acc, *dxt, *scratch;
  double *bsum;
  int64_t ldx;
  const block *a, *b; /* part A's block, part B's (either may be NULL) */
  int64_t items[5];   /* the job's work items of each kind (see block_work) */
  _Atomic int64_t next;
} bjob;

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

/* dz for tile rows [a, b) of segment sg (tile rows relative to the segment). */
static void dz_rows(const bjob *j, const block *k, const seg *sg, int64_t a, int64_t b,
                    R *scratch) {
  const conv1dt_geometry *g = j->g;
  const int64_t F = g->filters, T = g->out_len;
  R *dz = k->dz + (sg->tile + a) * F;
  const int64_t pa = sg->p0 + a, pb = sg->p0 + b;
  const int64_t va = conv1dt__max64(pa, 0), vb = conv1dt__min64(pb, T);
  if (vb <= va) {
    memset(dz, 0, (size_t)((b - a) * F) * sizeof(R));
    return;
  }
  if (va > pa) memset(dz, 0, (size_t)((va - pa) * F) * sizeof(R));
  if (pb > vb) memset(dz + (vb - pa) * F, 0, (size_t)((pb - vb) * F) * sizeof(R));
  R *out = dz + (va - pa) * F;
  if (!g->channels_first) {
    const int64_t at = (sg->b * T + va) * F;
    X(conv1dt__act_grad)(g->act, out, j->pre ? j->pre + at : NULL, j->dy + at, (vb - va) * F);
    return;
  }
  /* channels_first: act' along each filter's row, a few positions at a time, into the
   * tile's column */
  enum { NP = CONV1DT_BWD_CF_POSITIONS };
  for (int64_t p = va; p < vb; p += NP) {
    const int64_t n = conv1dt__min64(NP, vb - p);
    for (int64_t f = 0; f < F; f++) {
      const int64_t at = (sg->b * F + f) * T + p;
      X(conv1dt__act_grad)(g->act, scratch, j->pre ? j->pre + at : NULL, j->dy + at, n);
      R *col = out + (p - va) * F + f;
      for (int64_t i = 0; i < n; i++) col[i * F] = scratch[i];
    }
  }
}

/* x of block rows [a, b) of segment sg into the padded x tile. */
static void x_rows(const bjob *j, const block *k, const seg *sg, int64_t a, int64_t b) {
  const conv1dt_geometry *g = j->g;
  const int64_t C = g->in_ch, L = g->steps, ldw = j->plan->ldw;
  R *dst = k->xt + (sg->row + a) * ldw;
  if (g->channels_first) {
    X(conv1dt__transpose_act)(j->x + sg->b * C * L + sg->l0 + a, L, C, b - a, NULL, 0, dst, ldw);
  } else {
    const R *src = j->x + (sg->b * L + sg->l0 + a) * C;
    for (int64_t r = 0; r < b - a; r++) memcpy(dst + r * ldw, src + r * C, (size_t)C * sizeof(R));
  }
}

/* Part A: the block's dz tile rows [lo, hi); its x rows [lo, hi). */
/* The part [*a, *b) of [lo, hi) in a segment that starts at `start` and spans `len` (as
 * offsets into the segment); 0 when none. */
static int piece(int64_t start, int64_t len, int64_t lo, int64_t hi, int64_t *a, int64_t *b) {
  *a = conv1dt__max64(lo, start) - start;
  *b = conv1dt__min64(hi, start + len) - start;
  return *a < *b;
}

static void dz_range(const bjob *j, const block *k, int64_t lo, int64_t hi, R *scratch) {
  int64_t a, b;
  for (int64_t i = 0; i < k->nseg; i++) {
    const seg *sg = &k->segs[i];
    if (piece(sg->tile, sg->p1 - sg->p0, lo, hi, &a, &b)) dz_rows(j, k, sg, a, b, scratch);
  }
}

static void x_range(const bjob *j, const block *k, int64_t lo, int64_t hi) {
  int64_t a, b;
  for (int64_t i = 0; i < k->nseg; i++) {
    const seg *sg = &k->segs[i];
    if (piece(sg->row, sg->l1 - sg->l0, lo, hi, &a, &b)) x_rows(j, k, sg, a, b);
  }
}

/* dx of block rows [a, b) of segment sg. */
static void dx_rows(const bjob *j, const block *k, const seg *sg, int64_t a, int64_t b) {
  const conv1dt_geometry *g = j->g;
  const int64_t F = g->filters, C = g->in_ch, L = g->steps, ldw = j->plan->ldw;
  X(conv1dt_bwd_data_args) d;
  d.dz = k->dz + (sg->tile + a * g->stride) * F;
  d.F = F;
  d.s = g->stride;
  d.d = g->dil;
  d.K = (int)g->ksize;
  d.w = j->w;
  d.C = C;
  d.ldw = ldw;
  d.n = b - a;
  if (g->channels_first) {
    d.out = j->dxt + (sg->row + a) * ldw;
    d.ldo = ldw;
    j->kern->bwd_data(&d);
    X(conv1dt__transpose_act)(d.out, ldw, b - a, C, NULL, 0, j->dx + sg->b * C * L + sg->l0 + a, L);
  } else {
    d.out = j->dx + (sg->b * L + sg->l0 + a) * C;
    d.ldo = C;
    j->kern->bwd_data(&d);
  }
}

/* dbias over filters [lo, hi): each filter's positions in order, a few filters' sums in
 * registers at a time. */
static void dbias_rows(const bjob *j, const block *k, int64_t lo, int64_t hi) {
  enum { NF = 8 };
  const int64_t F = j->g->filters;
  for (int64_t f0 = lo; f0 < hi; f0 += NF) {
    const int nf = (int)conv1dt__min64(NF, hi - f0);
    double acc[NF];
    for (int f = 0; f < NF; f++) acc[f] = f < nf ? j->bsum[f0 + f] : 0;
    for (int64_t i = 0; i < k->nseg; i++) {
      const seg *sg = &k->segs[i];
      const R *d = k->dz + (sg->tile + sg->own0 - sg->p0) * F + f0;
      for (int64_t p = sg->own0; p < sg->own1; p++, d += F) {
        if (nf == NF)
          for (int f = 0; f < NF; f++) acc[f] += (double)d[f];
        else
          for (int f = 0; f < nf; f++) acc[f] += (double)d[f];
      }
    }
    for (int f = 0; f < nf; f++) j->bsum[f0 + f] = acc[f];
  }
}

/* Part B: the block's dx of block rows [lo, hi); the gradient rows [f_lo, f_hi) of tap t. */
static void dx_range(const bjob *j, const block *k, int64_t lo, int64_t hi) {
  int64_t a, b;
  for (int64_t i = 0; i < k->nseg; i++) {
    const seg *sg = &k->segs[i];
    if (piece(sg->row, sg->l1 - sg->l0, lo, hi, &a, &b)) dx_rows(j, k, sg, a, b);
  }
}

static void dw_rows(const bjob *j, const block *k, int64_t t, int64_t f_lo, int64_t f_hi) {
  const conv1dt_geometry *g = j->g;
  const int64_t F = g->filters, ldw = j->plan->ldw;
  X(conv1dt_bwd_weights_args) wa;
  wa.F = F;
  wa.s = g->stride;
  wa.ldw = ldw;
  wa.ldx = j->ldx;
  wa.f_lo = f_lo;
  wa.f_hi = f_hi;
  wa.acc = j->acc + t * F * ldw;
  for (int64_t i = 0; i < k->nseg; i++) {
    const seg *sg = &k->segs[i];
    wa.dz = k->dz + (sg->tile + t * g->dil) * F;
    wa.x = k->xrows + sg->row * j->ldx;
    wa.n = sg->l1 - sg->l0;
    j->kern->bwd_weights(&wa);
  }
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

static void block_work(void *arg, int id, int size) {
  bjob *j = arg;
  (void)size;
  const conv1dt_geometry *g = j->g;
  const int64_t F = g->filters, per_tap = conv1dt__ceil_div(F, ITEM_DW_ROWS);
  R *scratch = j->scratch ? j->scratch + (int64_t)id * CONV1DT_BWD_CF_POSITIONS : NULL;
  for (;;) {
    int64_t u = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed), kind = 0;
    while (kind < 5 && u >= j->items[kind]) u -= j->items[kind++];
    switch (kind) {
    case 0: /* kernel gradient: tap u / per_tap, its filters in pieces */
      dw_rows(j, j->b, u / per_tap, u % per_tap * ITEM_DW_ROWS,
              conv1dt__min64(F, (u % per_tap + 1) * ITEM_DW_ROWS));
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
static void count_items(bjob *j) {
  const int64_t F = j->g->filters;
  memset(j->items, 0, sizeof j->items);
  if (j->b) {
    if (j->acc) j->items[0] = j->g->ksize * conv1dt__ceil_div(F, ITEM_DW_ROWS);
    if (j->dx) j->items[1] = conv1dt__ceil_div(j->b->rows, ITEM_DX_ROWS);
    if (j->bsum) j->items[2] = conv1dt__ceil_div(F, ITEM_DB_ROWS);
  }
  if (j->a) {
    j->items[3] = conv1dt__ceil_div(j->a->tile_rows, ITEM_DZ_ROWS);
    if (j->a->xt) j->items[4] = conv1dt__ceil_div(j->a->rows, ITEM_X_ROWS);
  }
  atomic_store_explicit(&j->next, 0, memory_order_relaxed);
}

/* The segments of block rows [r0, r0 + m), laid out one after another in the dz tile. */
static int64_t segments(const conv1dt_geometry *g, int64_t r0, int64_t m, seg *segs,
                        int64_t *tile_rows) {
  const int64_t L = g->steps, T = g->out_len, s = g->stride, cl = g->crop_left;
  int64_t n = 0, tile = 0;
  for (int64_t r = r0; r < r0 + m; n++) {
    seg *sg = &segs[n];
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
    tile += sg->p1 - sg->p0;
    r += sg->l1 - sg->l0;
  }
  *tile_rows = tile;
  return n;
}

void X(conv1dt__backward_direct)(const conv1dt_layer *layer, const conv1dt_geometry *g,
                                 const conv1dt_bwd_plan *plan, const R *x, const R *pre,
                                 const R *dy, R *dx, R *dkernel, R *dbias, void *work) {
  const int64_t K = g->ksize, F = g->filters, C = g->in_ch, ldw = plan->ldw;
  const int64_t total = g->batch * g->steps, kfw = K * F * ldw;
  bjob j;
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
  if (plan->dx_tile) j.dxt = (R *)take(&p, (size_t)(plan->rows * ldw) * sizeof(R));
  if (g->channels_first)
    j.scratch = (R *)take(&p, (size_t)CONV1DT_BWD_CF_POSITIONS * CONV1DT_MAX_THREADS * sizeof(R));
  double *bsum = (double *)take(&p, (size_t)F * sizeof(double));
  block blk[2];
  memset(blk, 0, sizeof blk);
  for (int i = 0; i < 2; i++) {
    blk[i].dz = (R *)take(&p, (size_t)(plan->dz_rows * F) * sizeof(R));
    if (plan->x_tile && dkernel) blk[i].xt = (R *)take(&p, (size_t)(plan->rows * ldw) * sizeof(R));
    blk[i].segs = (seg *)take(&p, (size_t)plan->segs * sizeof(seg));
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
  if (dkernel && !plan->acc_tile) j.acc = dkernel;
  if (!dkernel) j.acc = NULL;
  if (j.acc) memset(j.acc, 0, (size_t)kfw * sizeof(R));
  if (dbias) {
    j.bsum = bsum;
    memset(bsum, 0, (size_t)F * sizeof(double));
  }
  for (int i = 0; i < 2; i++) /* the padding lanes x is read with (for the kernel gradient) */
    if (blk[i].xt) memset(blk[i].xt, 0, (size_t)(plan->rows * ldw) * sizeof(R));
  j.ldx = blk[0].xt ? ldw : C;

  int own = 1;
  conv1dt_team *team = conv1dt__team_acquire(layer, plan->threads, &own);
  const block *prev = NULL;
  for (int64_t r0 = 0, i = 0;; r0 += plan->rows, i++) {
    block *k = NULL;
    if (r0 < total) {
      k = &blk[i % 2];
      k->rows = conv1dt__min64(plan->rows, total - r0);
      k->nseg = segments(g, r0, k->rows, k->segs, &k->tile_rows);
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
  if (dbias)
    for (int64_t f = 0; f < F; f++) dbias[f] = (R)bsum[f];
}
