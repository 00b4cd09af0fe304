/* The typed backward driver, the forward's dual. Per block of input rows:
 *   dz   = act'(pre) applied to dy, for the output positions the block's rows reach (dz tile);
 *   dcol = the im2col gather of dz: dcol[l, k, f] = dz[l*s + k*d - crop_left, f], 0 outside
 *          [0, out_len) (the inverse of the forward's col2im scatter);
 *   dx   = dcol . W                         (one GEMM; channels_first: W^T . dcol)
 *   dW  += dcol^T . x                       (one GEMM, beta 1 after the first block)
 *   db  += dz over every output position, each counted once, in increasing position.
 * Positions two blocks share are recomputed (same inputs, same bits), so nothing but the
 * GEMMs' own summation order depends on the block size. channels_first blocks are whole short
 * samples side by side (through x and dx tiles) or segments of one sample, and a team shares
 * each block's preparation (dz, dbias sums, dcol, the tiles' copies) between the GEMMs. */
#include "typed.h"

#include <stdatomic.h>
#include <string.h>

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) {
  return v < lo ? lo : (v > hi ? hi : v);
}

/* Workspace layout: dcol, dz tile, row statistics, x and dx tiles (blocks of channels_first
 * samples), dbias sums (double), each aligned. */
typedef struct {
  R *col, *dz, *stats, *xt, *dxt;
  double *bsum;
} bwd_work;

static char *align_up(char *p) {
  const uintptr_t a =
      ((uintptr_t)p + CONV1DT_WORKSPACE_ALIGN - 1) & ~(uintptr_t)(CONV1DT_WORKSPACE_ALIGN - 1);
  return p + (a - (uintptr_t)p);
}

static bwd_work split(const conv1dt_bwd_plan *plan, void *work) {
  bwd_work w;
  char *p = align_up(work);
  w.col = (R *)p;
  p = align_up(p + plan->col_elems * sizeof(R));
  w.dz = (R *)p;
  p = align_up(p + plan->dz_elems * sizeof(R));
  w.stats = (R *)p;
  p = align_up(p + plan->stat_elems * sizeof(R));
  w.xt = (R *)p;
  p = align_up(p + plan->tile_elems * sizeof(R));
  w.dxt = (R *)p;
  p = align_up(p + plan->tile_elems * sizeof(R));
  w.bsum = (double *)p;
  return w;
}

/* Output positions a segment of input rows [l0, l1) of one sample needs, and those it finishes:
 * the gather reads [lo, hi); dz is computed for [t0, t1), which also covers the positions no
 * row reaches (stride gaps, the zero-extended tail) since `done`, so dbias sees them all.
 * t1 - t0 <= m*s + max(keff, s) - 1 for m rows: the tail past the last row's reach is
 * -crop_right <= s - 1, and a gap before lo is at most s - keff. */
typedef struct {
  int64_t lo, hi, t0, t1;
} span;

static span segment_span(const conv1dt_geometry *g, int64_t l0, int64_t l1, int64_t done) {
  const int64_t T = g->out_len;
  span sp;
  sp.lo = clamp64(l0 * g->stride - g->crop_left, 0, T);
  sp.hi = clamp64((l1 - 1) * g->stride + g->keff - g->crop_left, 0, T);
  if (sp.hi < sp.lo) sp.hi = sp.lo;
  sp.t0 = sp.hi > sp.lo ? conv1dt__min64(sp.lo, done) : done;
  sp.t1 = conv1dt__max64(done, l1 == g->steps ? T : sp.hi);
  return sp;
}

static void run_channels_last(const conv1dt_layer *layer, const conv1dt_geometry *g,
                              const conv1dt_bwd_plan *plan, const R *x, const R *pre, const R *dy,
                              R *dx, R *dkernel, const bwd_work *w) {
  const int64_t L = g->steps, T = g->out_len, C = g->in_ch, F = g->filters, KF = g->ksize * F;
  const int64_t total = g->batch * L, Fy = g->out_last; /* dy's row length (F/2 for glu) */
  const int axiswise = CONV1DT_ACT_IS_AXISWISE(g->act), gemms = dx || dkernel;
  const R *kernel = layer->kernel;
  int64_t done = 0; /* positions of the current sample whose dz went into dbias */
  for (int64_t r0 = 0; r0 < total; r0 += plan->rows) {
    const int64_t m = conv1dt__min64(plan->rows, total - r0);
    for (int64_t r = r0; r < r0 + m;) {
      const int64_t b = r / L, l0 = r % L, l1 = conv1dt__min64(L, l0 + (r0 + m - r));
      if (l0 == 0) done = 0;
      const span sp = segment_span(g, l0, l1, done);
      /* sp.t1 - sp.t0 <= plan->win by the plan */
      const int64_t n = sp.t1 - sp.t0;
      const R *zb = pre ? pre + (b * T + sp.t0) * F : NULL;
      const R *db = dy + (b * T + sp.t0) * Fy;
      if (!axiswise) {
        X(conv1dt__act_grad)(g->act, w->dz, zb, db, n * F);
      } else {
        for (int64_t i = 0; i < n; i++) {
          R st[3];
          X(conv1dt__act_grad_stats)(g->act, zb + i * F, db + i * Fy, F, st);
          X(conv1dt__act_grad_span)(g->act, st, zb + i * F, db + i * Fy, F, 0, F, w->dz + i * F);
        }
      }
      for (int64_t t = done; t < sp.t1; t++) {
        const R *d = w->dz + (t - sp.t0) * F;
        for (int64_t f = 0; f < F; f++) w->bsum[f] += (double)d[f];
      }
      done = sp.t1;
      if (gemms) {
        /* dcol rows l0..l1-1 of this block: dcol[l, k, :] = dz[l*s + k*d - crop_left, :]. */
        for (int64_t l = l0; l < l1; l++) {
          R *c = w->col + (r - r0 + l - l0) * KF;
          const int64_t base = l * g->stride - g->crop_left;
          for (int64_t k = 0; k < g->ksize; k++) {
            const int64_t p = base + k * g->dil;
            if (p >= 0 && p < T)
              memcpy(c + k * F, w->dz + (p - sp.t0) * F, (size_t)F * sizeof(R));
            else
              memset(c + k * F, 0, (size_t)F * sizeof(R));
          }
        }
      }
      r += l1 - l0;
    }
    /* dx[m x C] = dcol[m x KF] . W[KF x C];  dW[KF x C] (+)= dcol^T . x[m x C]. */
    if (dx)
      conv1dt__gemm_R(0, 0, (int)m, (int)C, (int)KF, w->col, (int)KF, kernel, (int)C, 0,
                      dx + r0 * C, (int)C);
    if (dkernel)
      conv1dt__gemm_R(1, 0, (int)KF, (int)C, (int)m, w->col, (int)KF, x + r0 * C, (int)C,
                      r0 ? RC(1.0) : RC(0.0), dkernel, (int)C);
  }
}

/* bsum[f] += dz[f * ld + t] for t < n, each row's sum in increasing t as everywhere else; eight
 * rows at once, since one row's chain of dependent additions is slow (bench case G: 30% of the
 * driver's own time). */
static void sum_rows(double *restrict bsum, const R *restrict dz, int64_t ld, int64_t rows,
                     int64_t n) {
  int64_t f = 0;
  for (; f + 8 <= rows; f += 8) {
    double a[8];
    for (int q = 0; q < 8; q++) a[q] = bsum[f + q];
    for (int64_t t = 0; t < n; t++)
      for (int q = 0; q < 8; q++) a[q] += (double)dz[(f + q) * ld + t];
    for (int q = 0; q < 8; q++) bsum[f + q] = a[q];
  }
  for (; f < rows; f++)
    for (int64_t t = 0; t < n; t++) bsum[f] += (double)dz[f * ld + t];
}

/* c[i] = d[i * s] for i < n; the common strides spelled out so that the compiler vectorises
 * them. */
static void gather(R *restrict c, const R *restrict d, int64_t s, int64_t n) {
  switch (s) {
  case 1:
    memcpy(c, d, (size_t)n * sizeof(R));
    break;
  case 2:
    for (int64_t i = 0; i < n; i++) c[i] = d[2 * i];
    break;
  case 4:
    for (int64_t i = 0; i < n; i++) c[i] = d[4 * i];
    break;
  default:
    for (int64_t i = 0; i < n; i++) c[i] = d[i * s];
  }
}

/* A channels_first block's preparation, shared by a team in units taken from a counter (the
 * same work in any order, each unit's on one thread: no result depends on the team):
 *  - filter groups of BWD_FGROUP: per sample of the block, dz of those rows (row statistics
 *    first for axis-wise activations, at the sample's start), their dbias sums (per filter in
 *    increasing position, samples in order) and their dcol rows
 *    col[(k, f) * ldc + q*m + i] = dz_q[f, (l0 + i)*s + k*d - crop_left], 0 outside [0, T);
 *  - channel groups of BWD_CGROUP: the samples' x rows into the x tile (blocks of samples);
 *  - channel groups again: the previous block's dx tile out into dx (blocks of samples).
 * A block is nb whole samples from b0 (l0 = 0, m = steps), or segment [l0, l0 + m) of sample
 * b0 (nb = 1), whose positions before `done` are in dbias already. */
#define BWD_FGROUP 8
#define BWD_CGROUP 16
/* Elements a call prepares from which it shares them with a team: a team's start costs tens of
 * microseconds, this many elements some hundreds. */
#define BWD_SHARE_MIN (1 << 18)

typedef struct {
  const conv1dt_geometry *g;
  const conv1dt_bwd_plan *plan;
  const bwd_work *w;
  const R *x, *pre, *dy;
  R *dx;
  int gemms, copy_x;
  int64_t b0, nb, l0, m, ldc, done;
  span sp;
  int64_t out_b0, out_nb, out_ldc; /* the dx tile to copy out: out_nb samples from out_b0 */
  int64_t fgroups, cgroups, ogroups;
  _Atomic int64_t next;
} prep_job;

static void prep_filters(const prep_job *j, int64_t f0, int64_t f1) {
  const conv1dt_geometry *g = j->g;
  const bwd_work *w = j->w;
  const int64_t T = g->out_len, F = g->filters, s = g->stride, m = j->m, l0 = j->l0;
  const int64_t Ty = g->out_last, win = j->plan->win; /* dy's row length (T/2 for glu) */
  const int axiswise = CONV1DT_ACT_IS_AXISWISE(g->act);
  const span sp = j->sp;
  /* sp.t1 - sp.t0 <= win by the plan */
  const int64_t n = sp.t1 - sp.t0;
  /* Whole rows of an element-wise activation: the group's rows are contiguous in pre and dy,
   * so that one call does them all, into rows T apart (the tile's rows are longer). */
  const int whole = !axiswise && sp.t0 == 0 && sp.t1 == T;
  const int64_t ld = whole ? T : win;
  R *const dz = w->dz + f0 * win;
  for (int64_t q = 0; q < j->nb; q++) {
    const int64_t b = j->b0 + q;
    const R *zb = j->pre ? j->pre + b * F * T : NULL, *db = j->dy + b * F * Ty;
    if (whole)
      X(conv1dt__act_grad)(g->act, dz, zb ? zb + f0 * T : NULL, db + f0 * T, (f1 - f0) * T);
    for (int64_t f = f0; f < f1 && !whole; f++) {
      R *dzf = dz + (f - f0) * ld;
      const R *zf = zb ? zb + f * T : NULL, *dyf = db + f * Ty;
      if (axiswise) {
        /* axis-wise activations act along the steps: statistics of whole rows */
        if (l0 == 0) X(conv1dt__act_grad_stats)(g->act, zf, dyf, T, w->stats + 3 * f);
        X(conv1dt__act_grad_span)(g->act, w->stats + 3 * f, zf, dyf, T, sp.t0, sp.t1, dzf);
      } else {
        X(conv1dt__act_grad)(g->act, dzf, zf ? zf + sp.t0 : NULL, dyf + sp.t0, n);
      }
    }
    sum_rows(w->bsum + f0, dz + (j->done - sp.t0), ld, f1 - f0, sp.t1 - j->done);
    if (!j->gemms) continue;
    for (int64_t k = 0; k < g->ksize; k++) {
      /* p = (l0 + i)*s + off lies in [0, T) for i in [i0, i1): the loops need no test */
      const int64_t off = l0 * s + k * g->dil - g->crop_left;
      const int64_t i0 = conv1dt__min64(m, off >= 0 ? 0 : (-off + s - 1) / s);
      const int64_t i1 =
          conv1dt__max64(i0, conv1dt__min64(m, T - off > 0 ? (T - off + s - 1) / s : 0));
      for (int64_t f = f0; f < f1; f++) {
        R *restrict c = w->col + (k * F + f) * j->ldc + q * m;
        for (int64_t i = 0; i < i0; i++) c[i] = RC(0.0);
        if (i1 > i0) gather(c + i0, dz + (f - f0) * ld + (i0 * s + off - sp.t0), s, i1 - i0);
        for (int64_t i = i1; i < m; i++) c[i] = RC(0.0);
      }
    }
  }
}

static void prep_work(void *arg, int id, int size) {
  prep_job *j = arg;
  const int64_t F = j->g->filters, C = j->g->in_ch, L = j->g->steps;
  const size_t row_bytes = (size_t)L * sizeof(R);
  (void)id, (void)size;
  for (;;) {
    int64_t u = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
    if (u < j->fgroups) {
      prep_filters(j, u * BWD_FGROUP, conv1dt__min64(F, (u + 1) * BWD_FGROUP));
      continue;
    }
    u -= j->fgroups;
    const int out = u >= j->cgroups;
    if (out) u -= j->cgroups;
    if (u >= (out ? j->ogroups : j->cgroups)) return;
    const int64_t c1 = conv1dt__min64(C, (u + 1) * BWD_CGROUP);
    for (int64_t c = u * BWD_CGROUP; c < c1; c++) {
      if (out)
        for (int64_t q = 0; q < j->out_nb; q++)
          memcpy(j->dx + ((j->out_b0 + q) * C + c) * L, j->w->dxt + c * j->out_ldc + q * L,
                 row_bytes);
      else
        for (int64_t q = 0; q < j->nb; q++)
          memcpy(j->w->xt + c * j->ldc + q * L, j->x + ((j->b0 + q) * C + c) * L, row_bytes);
    }
  }
}

/* Runs the job's units, on the team if any. */
static void prep_run(prep_job *j, conv1dt_team *team) {
  j->fgroups = j->nb ? (j->g->filters + BWD_FGROUP - 1) / BWD_FGROUP : 0;
  j->cgroups = j->copy_x ? (j->g->in_ch + BWD_CGROUP - 1) / BWD_CGROUP : 0;
  j->ogroups = j->out_nb ? (j->g->in_ch + BWD_CGROUP - 1) / BWD_CGROUP : 0;
  atomic_init(&j->next, 0);
  conv1dt__team_run_any(team, prep_work, j);
}

/* A team for a call whose preparation is worth one (its dz and dcol elements), else NULL. */
static conv1dt_team *prep_team(const conv1dt_geometry *g, int gemms) {
  const double dz = (double)g->batch * (double)g->filters * (double)g->out_len;
  const double col =
      gemms ? (double)g->batch * (double)g->steps * (double)g->ksize * (double)g->filters : 0.0;
  return dz + col >= (double)BWD_SHARE_MIN ? conv1dt__team_create(conv1dt__default_threads())
                                           : NULL;
}

static void run_channels_first(const conv1dt_layer *layer, const conv1dt_geometry *g,
                               const conv1dt_bwd_plan *plan, const R *x, const R *pre, const R *dy,
                               R *dx, R *dkernel, const bwd_work *w) {
  const int64_t L = g->steps, C = g->in_ch, KF = g->ksize * g->filters;
  const int gemms = dx || dkernel;
  const R *kernel = layer->kernel;
  conv1dt_team *team = prep_team(g, gemms);
  int first_gemm = 1;
  prep_job j = {.g = g, .plan = plan, .w = w, .pre = pre, .dy = dy, .gemms = gemms, .nb = 1};
  for (int64_t b = 0; b < g->batch; b++) {
    j.b0 = b;
    j.done = 0;
    for (int64_t l0 = 0; l0 < L; l0 += plan->rows) {
      const int64_t m = conv1dt__min64(plan->rows, L - l0);
      j.l0 = l0;
      j.m = j.ldc = m;
      j.sp = segment_span(g, l0, l0 + m, j.done);
      prep_run(&j, team);
      j.done = j.sp.t1;
      /* dx_b[C x m] = W^T[C x KF] . dcol[KF x m];  dW[KF x C] (+)= dcol . x_b[C x m]^T. */
      if (dx)
        conv1dt__gemm_R(1, 0, (int)C, (int)m, (int)KF, kernel, (int)C, w->col, (int)m, 0,
                        dx + b * C * L + l0, (int)L);
      if (dkernel) {
        conv1dt__gemm_R(0, 1, (int)KF, (int)C, (int)m, w->col, (int)m, x + b * C * L + l0, (int)L,
                        first_gemm ? RC(0.0) : RC(1.0), dkernel, (int)C);
        first_gemm = 0;
      }
    }
  }
  conv1dt__team_destroy(team);
}

/* Blocks of plan->samples whole samples side by side: sample q of a block takes the tiles'
 * columns [q*L, (q+1)*L), so that one GEMM of samples*L columns does what per-sample GEMMs
 * of L columns would (the same sums, only the BLAS's order differs). The x and dx tiles are
 * [C x samples*L]: a sample's rows of L move as a whole; a block's dx tile is copied out with
 * the next block's preparation. */
static void run_channels_first_samples(const conv1dt_layer *layer, const conv1dt_geometry *g,
                                       const conv1dt_bwd_plan *plan, const R *x, const R *pre,
                                       const R *dy, R *dx, R *dkernel, const bwd_work *w) {
  const int64_t L = g->steps, C = g->in_ch, KF = g->ksize * g->filters;
  const int gemms = dx || dkernel;
  const R *kernel = layer->kernel;
  conv1dt_team *team = prep_team(g, gemms);
  prep_job j = {.g = g,
                .plan = plan,
                .w = w,
                .x = x,
                .pre = pre,
                .dy = dy,
                .dx = dx,
                .gemms = gemms,
                .copy_x = dkernel != NULL,
                .m = L};
  j.sp = segment_span(g, 0, L, 0);
  for (int64_t b0 = 0; b0 < g->batch; b0 += plan->samples) {
    const int64_t nb = conv1dt__min64(plan->samples, g->batch - b0), m = nb * L;
    j.b0 = b0;
    j.nb = nb;
    j.ldc = m;
    prep_run(&j, team);
    j.out_nb = 0;
    /* dx[C x m] = W^T[C x KF] . dcol[KF x m];  dW[KF x C] (+)= dcol . x[C x m]^T. */
    if (dx) {
      conv1dt__gemm_R(1, 0, (int)C, (int)m, (int)KF, kernel, (int)C, w->col, (int)m, 0, w->dxt,
                      (int)m);
      j.out_b0 = b0;
      j.out_nb = nb;
      j.out_ldc = m;
    }
    if (dkernel)
      conv1dt__gemm_R(0, 1, (int)KF, (int)C, (int)m, w->col, (int)m, w->xt, (int)m,
                      b0 ? RC(1.0) : RC(0.0), dkernel, (int)C);
  }
  if (j.out_nb) { /* the last block's dx */
    j.nb = 0;
    j.copy_x = 0;
    prep_run(&j, team);
  }
  conv1dt__team_destroy(team);
}

void X(conv1dt__backward)(const conv1dt_layer *layer, const conv1dt_geometry *g,
                          const conv1dt_bwd_plan *plan, const R *x, const R *pre, const R *dy,
                          R *dx, R *dkernel, R *dbias, void *work) {
  const bwd_work w = split(plan, work);
  memset(w.bsum, 0, (size_t)g->filters * sizeof(double));
  if (g->channels_first && plan->samples)
    run_channels_first_samples(layer, g, plan, x, pre, dy, dx, dkernel, &w);
  else if (g->channels_first)
    run_channels_first(layer, g, plan, x, pre, dy, dx, dkernel, &w);
  else
    run_channels_last(layer, g, plan, x, pre, dy, dx, dkernel, &w);
  if (dbias)
    for (int64_t f = 0; f < g->filters; f++) dbias[f] = (R)w.bsum[f];
}
