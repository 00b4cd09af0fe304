/* The direct backward: the gradients of a layer whose forward runs the direct method, computed
 * by the kernel room's tiles (bwd_data, bwd_weights) on conv1dt's own team, no GEMM. Per block
 * of input steps (whole samples or a piece of one; each sample's piece a segment):
 *   job A, split by dz rows: dz = act'(pre) applied to dy for the positions the segments reach,
 *          zero outside the output, channels along the rows; x copied into padded rows where
 *          its layout needs it;
 *   job B: dx of a share of the steps (bwd_data), a share of the kernel gradient's (tap,
 *          filter) rows summed over the block (bwd_weights), a share of dbias.
 * Every gradient element is summed by one thread in an order fixed by the blocks, which do not
 * depend on the thread count: the same bits with any number of threads. dbias sums each
 * position once, in increasing position, in double, as the GEMM backward does. */
#include "kernels/kernel.h"
#include "typed.h"

#include <string.h>

typedef struct {
  int64_t b, l0, l1;  /* the sample and its steps */
  int64_t p0, p1;     /* dz tile positions [p0, p1), some outside [0, T) (zero) */
  int64_t own0, own1; /* positions whose dz goes into dbias, each once */
  int64_t tile, row;  /* first dz tile row, first block row */
} seg;
_Static_assert(sizeof(seg) <= CONV1DT_BWD_SEG_BYTES, "a segment outgrew its planned bytes");

typedef struct {
  const conv1dt_layer *layer;
  const conv1dt_geometry *g;
  const conv1dt_bwd_plan *plan;
  const X(conv1dt_kernels) * kern;
  const R *x, *pre, *dy;
  R *dx, *dkernel;
  R *w, *acc, *dz, *xt, *dxt, *scratch;
  double *bsum;
  seg *segs;
  int64_t nseg, rows, tile_rows; /* this block's */
  const R *xrows;                /* block row r's x at xrows + r * ldx */
  int64_t ldx;
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
static void dz_rows(const bjob *j, const seg *sg, int64_t a, int64_t b, R *scratch) {
  const conv1dt_geometry *g = j->g;
  const int64_t F = g->filters, T = g->out_len;
  R *dz = j->dz + (sg->tile + a) * F;
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
  /* channels_first: act' along each filter's row, a few positions at a time, then transposed
   * into the tile's rows */
  enum { NP = CONV1DT_BWD_CF_POSITIONS };
  for (int64_t p = va; p < vb; p += NP) {
    const int64_t n = conv1dt__min64(NP, vb - p);
    for (int64_t f = 0; f < F; f++) {
      const int64_t at = (sg->b * F + f) * T + p;
      X(conv1dt__act_grad)(g->act, scratch + f * NP, j->pre ? j->pre + at : NULL, j->dy + at, n);
    }
    X(conv1dt__transpose_act)(scratch, NP, F, n, NULL, 0, out + (p - va) * F, F);
  }
}

/* x of block rows [a, b) of segment sg into the padded x tile. */
static void x_rows(const bjob *j, const seg *sg, int64_t a, int64_t b) {
  const conv1dt_geometry *g = j->g;
  const int64_t C = g->in_ch, L = g->steps, ldw = j->plan->ldw;
  R *dst = j->xt + (sg->row + a) * ldw;
  if (g->channels_first) {
    X(conv1dt__transpose_act)(j->x + sg->b * C * L + sg->l0 + a, L, C, b - a, NULL, 0, dst, ldw);
  } else {
    const R *src = j->x + (sg->b * L + sg->l0 + a) * C;
    for (int64_t r = 0; r < b - a; r++) memcpy(dst + r * ldw, src + r * C, (size_t)C * sizeof(R));
  }
}

/* This member's share of the dz tile's rows, then of the x tile's. */
static void job_a(void *arg, int id, int size) {
  const bjob *j = arg;
  int64_t lo, hi;
  conv1dt__share(0, j->tile_rows, id, size, &lo, &hi);
  R *scratch =
      j->scratch ? j->scratch + (int64_t)id * j->g->filters * CONV1DT_BWD_CF_POSITIONS : NULL;
  for (int64_t i = 0; i < j->nseg && lo < hi; i++) {
    const seg *sg = &j->segs[i];
    const int64_t a = conv1dt__max64(lo, sg->tile),
                  b = conv1dt__min64(hi, sg->tile + sg->p1 - sg->p0);
    if (a < b) dz_rows(j, sg, a - sg->tile, b - sg->tile, scratch);
  }
  if (!j->xt) return;
  conv1dt__share(0, j->rows, id, size, &lo, &hi);
  for (int64_t i = 0; i < j->nseg && lo < hi; i++) {
    const seg *sg = &j->segs[i];
    const int64_t a = conv1dt__max64(lo, sg->row),
                  b = conv1dt__min64(hi, sg->row + sg->l1 - sg->l0);
    if (a < b) x_rows(j, sg, a - sg->row, b - sg->row);
  }
}

/* dx of block rows [a, b) of segment sg. */
static void dx_rows(const bjob *j, const seg *sg, int64_t a, int64_t b) {
  const conv1dt_geometry *g = j->g;
  const int64_t F = g->filters, C = g->in_ch, L = g->steps, ldw = j->plan->ldw;
  X(conv1dt_bwd_data_args) d;
  d.dz = j->dz + (sg->tile + a * g->stride) * F;
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

static void job_b(void *arg, int id, int size) {
  const bjob *j = arg;
  const conv1dt_geometry *g = j->g;
  const int64_t F = g->filters, ldw = j->plan->ldw;
  int64_t lo, hi;
  if (j->dx) {
    conv1dt__share(0, j->rows, id, size, &lo, &hi);
    for (int64_t i = 0; i < j->nseg && lo < hi; i++) {
      const seg *sg = &j->segs[i];
      const int64_t a = conv1dt__max64(lo, sg->row),
                    b = conv1dt__min64(hi, sg->row + sg->l1 - sg->l0);
      if (a < b) dx_rows(j, sg, a - sg->row, b - sg->row);
    }
  }
  if (j->acc) {
    /* this member's (tap, filter) rows, tap by tap */
    conv1dt__share(0, g->ksize * F, id, size, &lo, &hi);
    for (int64_t k = lo / F; k < g->ksize && k * F < hi; k++) {
      X(conv1dt_bwd_weights_args) wa;
      wa.F = F;
      wa.s = g->stride;
      wa.ldw = ldw;
      wa.ldx = j->ldx;
      wa.f_lo = conv1dt__max64(lo - k * F, 0);
      wa.f_hi = conv1dt__min64(hi - k * F, F);
      wa.acc = j->acc + k * F * ldw;
      for (int64_t i = 0; i < j->nseg; i++) {
        const seg *sg = &j->segs[i];
        wa.dz = j->dz + (sg->tile + k * g->dil) * F;
        wa.x = j->xrows + sg->row * j->ldx;
        wa.n = sg->l1 - sg->l0;
        j->kern->bwd_weights(&wa);
      }
    }
  }
  if (j->bsum) {
    conv1dt__share(0, F, id, size, &lo, &hi);
    for (int64_t i = 0; i < j->nseg && lo < hi; i++) {
      const seg *sg = &j->segs[i];
      for (int64_t p = sg->own0; p < sg->own1; p++) {
        const R *d = j->dz + (sg->tile + p - sg->p0) * F;
        for (int64_t f = lo; f < hi; f++) j->bsum[f] += (double)d[f];
      }
    }
  }
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
  j.w = (R *)take(&p, (size_t)kfw * sizeof(R));
  if (plan->acc_tile) j.acc = (R *)take(&p, (size_t)kfw * sizeof(R));
  j.dz = (R *)take(&p, (size_t)(plan->dz_rows * F) * sizeof(R));
  if (plan->x_tile) j.xt = (R *)take(&p, (size_t)(plan->rows * ldw) * sizeof(R));
  if (plan->dx_tile) j.dxt = (R *)take(&p, (size_t)(plan->rows * ldw) * sizeof(R));
  if (g->channels_first)
    j.scratch = (R *)take(&p, (size_t)(F * CONV1DT_BWD_CF_POSITIONS * plan->threads) * sizeof(R));
  double *bsum = (double *)take(&p, (size_t)F * sizeof(double));
  j.segs = (seg *)take(&p, (size_t)plan->segs * sizeof(seg));

  /* row-packed weights; the kernel gradient in place when unpadded */
  const R *kernel = layer->kernel;
  for (int64_t r = 0; r < K * F; r++) {
    memcpy(j.w + r * ldw, kernel + r * C, (size_t)C * sizeof(R));
    memset(j.w + r * ldw + C, 0, (size_t)(ldw - C) * sizeof(R));
  }
  if (dkernel && !plan->acc_tile) j.acc = dkernel;
  if (!dkernel) j.acc = NULL;
  if (j.acc) memset(j.acc, 0, (size_t)kfw * sizeof(R));
  if (dbias) {
    j.bsum = bsum;
    memset(bsum, 0, (size_t)F * sizeof(double));
  }
  if (!dkernel) j.xt = NULL; /* x is read for the kernel gradient only */
  if (j.xt) memset(j.xt, 0, (size_t)(plan->rows * ldw) * sizeof(R)); /* padding lanes */
  j.ldx = j.xt ? ldw : C;

  int own = 1;
  conv1dt_team *team = conv1dt__team_acquire(layer, plan->threads, &own);
  for (int64_t r0 = 0; r0 < total; r0 += plan->rows) {
    j.rows = conv1dt__min64(plan->rows, total - r0);
    j.nseg = segments(g, r0, j.rows, j.segs, &j.tile_rows);
    j.xrows = j.xt ? j.xt : x ? x + r0 * C : NULL;
    conv1dt__team_run(team, job_a, &j);
    conv1dt__team_run(team, job_b, &j);
  }
  conv1dt__team_release(layer, team, own);

  if (dkernel && plan->acc_tile)
    for (int64_t r = 0; r < K * F; r++)
      memcpy(dkernel + r * C, j.acc + r * ldw, (size_t)C * sizeof(R));
  if (dbias)
    for (int64_t f = 0; f < F; f++) dbias[f] = (R)bsum[f];
}
