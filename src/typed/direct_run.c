/* The direct method's driver: every sample's output is cut into chunks of plan->chunk
 * positions. A chunk copies the input steps it reads into a small panel (zero outside the
 * sample; channels_last reads x in place away from the edges), runs the kernels of the table
 * dispatch.c chose phase by phase into y itself (linear, relu; pre, when wanted, with y made
 * from it while it is in cache) or into a tile that finalize.c finishes (position-major
 * channels_last, filter-major channels_first, so neither transposes).
 * Threads own whole chunks, so each output element has one owner and the sums are the same for
 * any thread count. */
#include "kernels/kernel.h"
#include "typed.h"

#include <stdatomic.h>
#include <string.h>

/* A mono tile is activated this many elements at a time (through a stack buffer). */
#define CONV1DT_MONO_PIECE 256

typedef struct {
  const conv1dt_geometry *g;
  const conv1dt_plan *plan;
  conv1dt_direct_choice how;        /* dispatch.c's decisions for this call */
  const X(conv1dt_kernels) * kern;  /* how.isa's table */
  const X(conv1dt_kernels) * gkern; /* how.groups_isa's */
  int64_t ldw;
  const R *x, *wpack, *wpack_t, *wgroups, *bias;
  R *y, *pre;
  char *scratch; /* per-thread blocks of plan->thread_bytes */
  int64_t nchunk;
  int64_t strip;        /* chunks per unit: consecutive ones of a sample (see direct_work) */
  int64_t period;       /* s / gcd(d, s): a phase's taps are k0, k0 + period, ... */
  _Atomic int64_t next; /* the next unit to take */
} direct_job;

/* One chunk: positions [t0, t0 + n) of sample b, its input rows and where its outputs go. */
typedef struct {
  int64_t b, t0, n;
  int64_t ua, ub; /* the positions before the crop */
  const R *src;   /* input rows: the panel, or x itself */
  int64_t shift;  /* the input step src's first row holds */
  int64_t ldx;    /* channels_first panel: steps per channel row; else C */
  R *tile;        /* the thread's tile */
  R *out;         /* where the kernels write: y itself, or the tile */
  int64_t ldo;
  conv1dt_direct_tap *taps;
  conv1dt_prefetch *pf; /* the next chunk's input, for the steps tiles (or NULL) */
} chunk_view;

/* Input steps [ilo, ihi) of one sample into the panel, zero outside [0, L): rows of C
 * (rows_of_c, for the filters-along-vectors kernel) or C rows of ihi - ilo steps (for the
 * steps-along-vectors kernel), transposed where the input's format is the other one. */
static void gather(const conv1dt_geometry *g, const R *xb, int64_t ilo, int64_t ihi, R *panel,
                   int rows_of_c) {
  const int64_t L = g->steps, C = g->in_ch, n = ihi - ilo;
  const int64_t a = ilo < 0 ? 0 : (ilo > L ? L : ilo), b = ihi > L ? L : (ihi < a ? a : ihi);
  if (rows_of_c && g->channels_first) {
    memset(panel, 0, (size_t)((a - ilo) * C) * sizeof(R));
    X(conv1dt__transpose_act)(xb + a, L, C, b - a, NULL, 0, panel + (a - ilo) * C, C);
    memset(panel + (b - ilo) * C, 0, (size_t)((ihi - b) * C) * sizeof(R));
    return;
  }
  if (!rows_of_c && !g->channels_first) { /* channels_last to C rows of n steps */
    for (int64_t c = 0; c < C; c++) {
      memset(panel + c * n, 0, (size_t)(a - ilo) * sizeof(R));
      memset(panel + c * n + (b - ilo), 0, (size_t)(ihi - b) * sizeof(R));
    }
    X(conv1dt__transpose_act)(xb + a * C, C, b - a, C, NULL, 0, panel + (a - ilo), n);
    return;
  }
  const int64_t rows = g->channels_first ? C : 1, w = g->channels_first ? 1 : C;
  const int64_t ld = g->channels_first ? n : 0, ldx = g->channels_first ? L : 0;
  for (int64_t c = 0; c < rows; c++) {
    R *dst = panel + c * ld;
    const R *src = xb + c * ldx;
    memset(dst, 0, (size_t)((a - ilo) * w) * sizeof(R));
    memcpy(dst + (a - ilo) * w, src + a * w, (size_t)((b - a) * w) * sizeof(R));
    memset(dst + (b - ilo) * w, 0, (size_t)((ihi - b) * w) * sizeof(R));
  }
}

/* Input steps [*ilo, *ihi) that chunk `chunk` reads: i*s + k*d in its positions, plus the
 * kernels' overrun past a phase. */
static void chunk_steps(const direct_job *job, int64_t chunk, int64_t *ilo, int64_t *ihi) {
  const conv1dt_geometry *g = job->g;
  const int64_t t0 = chunk * job->plan->chunk;
  const int64_t t1 = conv1dt__min64(g->out_len, t0 + job->plan->chunk);
  *ilo = conv1dt__ceil_div(t0 + g->crop_left - (g->keff - 1), g->stride);
  *ihi = conv1dt__floor_div(t1 + g->crop_left - 1, g->stride) + 1 + job->how.slack;
}

/* channels_first: the channel rows' steps the next chunk adds to this one's, asked for a few
 * lines before each register tile so that the loads overlap the arithmetic (faster on
 * cases C and D channels_first; asked for all at once, they were no faster than none). */
static void prefetch_plan(const direct_job *job, const R *xb, int64_t next, int64_t from,
                          conv1dt_prefetch *pf) {
  const conv1dt_geometry *g = job->g;
  int64_t lo, hi;
  chunk_steps(job, next, &lo, &hi);
  lo = conv1dt__max64(conv1dt__max64(lo, from), 0);
  hi = conv1dt__min64(hi, g->steps);
  const int64_t bytes = (hi - lo) * (int64_t)sizeof(R);
  const int64_t lines = g->in_ch * (bytes / 64 + 1);
  const int64_t tiles = conv1dt__ceil_div(g->filters, job->kern->mf) *
                        conv1dt__ceil_div(job->plan->chunk, 3 * job->kern->vl);
  *pf = (conv1dt_prefetch){.base = (const char *)(xb + lo),
                           .ld = g->steps * (int64_t)sizeof(R),
                           .bytes = bytes,
                           .rows = hi > lo ? g->in_ch : 0,
                           .per_tile = (int)conv1dt__min64(64, conv1dt__ceil_div(lines, tiles))};
}

/* Phase r's taps (k * d = r mod s) into taps: tap k's weights at w + k * C * ldw (packed rows of
 * ldw per channel), its input row offset relative to the panel's first row `shift`. */
static int phase_taps(const conv1dt_geometry *g, int64_t r, int64_t shift, const R *w, int64_t ldw,
                      conv1dt_direct_tap *taps) {
  int ntaps = 0;
  for (int64_t k = 0; k < g->ksize; k++) {
    if ((k * g->dil) % g->stride != r) continue;
    taps[ntaps].w = w + k * g->in_ch * ldw;
    taps[ntaps].off = (r - k * g->dil) / g->stride - shift;
    ntaps++;
  }
  return ntaps;
}

/* The filter-vector tiles with weights beyond the caches: the weights that the sweep after
 * (r, f0) reads (the next panel of phase r, else the first of the next phase, cyclically: the
 * next chunk starts where this one did), for the kernel to ask for at the end of this one (faster
 * on cases B and F; G float64, whose 2 MiB of weights stay in L2, was slower with it, hence
 * the threshold). Phase r's taps are k = k0, k0 + p, ... with
 * p = s / gcd(d, s), so their rows lie p * C rows apart. */
static void next_panel(const direct_job *job, int64_t r, int64_t f0, conv1dt_prefetch *pf) {
  enum { PW = CONV1DT_DIRECT_PANEL_BYTES / (int)sizeof(R) };
  const conv1dt_geometry *g = job->g;
  const int64_t C = g->in_ch, K = g->ksize, s = g->stride;
  f0 += PW;
  if (f0 >= g->filters) {
    f0 = 0;
    r = (r + 1) % s;
  }
  const int64_t p = job->period;
  int64_t k0 = 0;
  while (k0 < K && k0 < p && (k0 * g->dil) % s != r) k0++;
  const int64_t w = conv1dt__min64(PW, job->ldw - f0);
  const int has = k0 < K && k0 < p;
  *pf = (conv1dt_prefetch){.base = (const char *)(job->wpack + f0 * K * C + k0 * C * w),
                           .ld = p * C * w * (int64_t)sizeof(R),
                           .bytes = C * w * (int64_t)sizeof(R),
                           .rows = has ? (K - k0 + p - 1) / p : 0};
}

/* Where the kernels write the layer's output: y, or pre when y follows from it (to_pre); and
 * whether they apply relu themselves. */
static R *out_array(const direct_job *job) {
  return job->how.to_pre ? job->pre : job->y;
}
static int kernel_relu(const direct_job *job) {
  return job->how.to_y && !job->how.to_pre && job->g->act == CONV1DT_ACT_RELU;
}

/* The chunk's view: its positions, its input (copied into the panel where it must be) and its
 * output. */
static void chunk_setup(const direct_job *job, char *scratch, int64_t b, int64_t chunk,
                        int prefetch, conv1dt_prefetch *pfs, chunk_view *cv) {
  const conv1dt_geometry *g = job->g;
  const conv1dt_plan *plan = job->plan;
  const int64_t L = g->steps, C = g->in_ch, F = g->filters, s = g->stride;
  const int vcf = job->how.steps;
  cv->b = b;
  cv->t0 = chunk * plan->chunk;
  cv->n = conv1dt__min64(g->out_len, cv->t0 + plan->chunk) - cv->t0;
  cv->ua = cv->t0 + g->crop_left;
  cv->ub = cv->ua + cv->n;
  cv->tile = (R *)scratch;
  /* y itself (filter rows of out_len steps channels_first, position rows channels_last: the
   * tile's layouts), or the tile, finished after */
  const int to_tile = !job->how.to_y || job->how.planar;
  cv->out = to_tile ? cv->tile
                    : out_array(job) +
                          (vcf ? b * F * g->out_len + cv->t0 : (b * g->out_len + cv->t0) * F);
  const int64_t mp = conv1dt__ceil_div(cv->n, s); /* planar: a plane's length */
  cv->ldo = job->how.planar ? s * mp : vcf ? (job->how.to_y ? g->out_len : plan->chunk) : 0;
  R *panel = (R *)(scratch + conv1dt__align((size_t)CONV1DT_DIRECT_TILE_ELEMS(plan->chunk, s, F) *
                                            sizeof(R)));
  cv->taps = (conv1dt_direct_tap *)((char *)panel +
                                    conv1dt__align((size_t)(plan->panel_rows * C) * sizeof(R)));
  int64_t ilo, ihi;
  chunk_steps(job, chunk, &ilo, &ihi);
  const R *xb = job->x + b * L * C;
  cv->src = xb;
  cv->shift = 0;
  cv->ldx = vcf ? L : C;
  cv->pf = NULL;
  /* channels_first always reads a copy: channel rows L apart (often a power of two) would fight
   * over the same L1 sets. channels_last copies at a sample edge, for the zero padding, and
   * transposed for the steps tiles (mono). */
  if (g->channels_first || vcf || ilo < 0 || ihi > L) {
    gather(g, xb, ilo, ihi, panel, !vcf);
    cv->src = panel;
    cv->shift = ilo;
    cv->ldx = vcf ? ihi - ilo : C;
    if (prefetch && vcf && g->channels_first) {
      prefetch_plan(job, xb, chunk + 1, ihi, pfs);
      cv->pf = pfs;
    }
  }
}

/* steps2: both phases' taps (rho = 0 then 1, offsets from q, p = 2q + rho) in one call. */
static void run_steps2(const direct_job *job, const chunk_view *cv) {
  const conv1dt_geometry *g = job->g;
  X(conv1dt_steps2_args)
  a = {.xc = cv->src,
       .ldx = cv->ldx,
       .C = g->in_ch,
       .taps = cv->taps,
       .n = cv->n,
       .F = g->filters,
       .gstride = g->ksize * g->in_ch * CONV1DT_DIRECT_MF,
       .bias = job->bias,
       .out = cv->out,
       .ldo = g->out_len,
       .relu = kernel_relu(job),
       .pf = cv->pf};
  int all = 0;
  for (int64_t rho = 0; rho < 2; rho++) {
    const int64_t r = (cv->ua + rho) % 2, q_to_n = (cv->ua + rho - r) / 2;
    a.ntaps[rho] =
        phase_taps(g, r, cv->shift - q_to_n, job->wpack_t, CONV1DT_DIRECT_MF, cv->taps + all);
    all += a.ntaps[rho];
  }
  job->kern->steps2(&a);
}

/* The grouped-positions tiles: every position of the chunk at once. */
static void run_groups(const direct_job *job, const chunk_view *cv) {
  const conv1dt_geometry *g = job->g;
  const X(conv1dt_groups_args) a = {.rows = cv->src + (cv->ua - cv->shift) * g->in_ch,
                                    .C = g->in_ch,
                                    .wg = job->wgroups,
                                    .ntaps = (int)(g->ksize + job->how.groups - 1),
                                    .G = job->how.groups,
                                    .d = g->dil,
                                    .F = g->filters,
                                    .n = cv->n,
                                    .out = cv->out,
                                    .ldo = g->filters,
                                    .relu = kernel_relu(job)};
  job->gkern->groups(&a);
}

/* The steps tiles, phase by phase: phase r's positions u = r + n*s from the chunk's first (p0
 * within it), into y at s apart, or into plane p0 of the tile (planar). */
static void run_steps(const direct_job *job, const chunk_view *cv) {
  const conv1dt_geometry *g = job->g;
  const int64_t s = g->stride, mp = conv1dt__ceil_div(cv->n, s);
  X(conv1dt_steps_args)
  a = {.xc = cv->src,
       .ldx = cv->ldx,
       .C = g->in_ch,
       .taps = cv->taps,
       .F = g->filters,
       .gstride = g->ksize * g->in_ch * CONV1DT_DIRECT_MF,
       .bias = job->bias,
       .ldo = cv->ldo,
       .relu = kernel_relu(job),
       .pf = cv->pf};
  for (int64_t r = 0; r < s; r++) {
    a.n_lo = conv1dt__ceil_div(cv->ua - r, s);
    a.n_hi = conv1dt__ceil_div(cv->ub - r, s);
    if (a.n_lo >= a.n_hi) continue;
    const int64_t p0 = a.n_lo * s + r - cv->ua;
    a.ntaps = phase_taps(g, r, cv->shift, job->wpack_t, CONV1DT_DIRECT_MF, cv->taps);
    a.out = job->how.planar ? cv->tile + p0 * mp : cv->out + p0;
    a.s = job->how.planar ? 1 : s;
    a.out_is_y = !job->how.planar && cv->out != cv->tile;
    job->kern->steps(&a);
  }
}

/* The filters tiles (channels_last), phase by phase, one filter panel at a time (pack.c), all
 * of the phase's positions each. */
static void run_filters(const direct_job *job, const chunk_view *cv) {
  enum { PW = CONV1DT_DIRECT_PANEL_BYTES / (int)sizeof(R) };
  const conv1dt_geometry *g = job->g;
  const int64_t s = g->stride, F = g->filters;
  X(conv1dt_filters_args)
  a = {.rows = cv->src, .C = g->in_ch, .taps = cv->taps, .ldo = s * F, .relu = kernel_relu(job)};
  for (int64_t r = 0; r < s; r++) {
    a.n_lo = conv1dt__ceil_div(cv->ua - r, s);
    a.n_hi = conv1dt__ceil_div(cv->ub - r, s);
    if (a.n_lo >= a.n_hi) continue;
    const int64_t p0 = a.n_lo * s + r - cv->ua;
    for (int64_t f0 = 0; f0 < F; f0 += PW) {
      a.ldw = conv1dt__min64(PW, job->ldw - f0);
      a.ntaps = phase_taps(g, r, cv->shift, job->wpack + f0 * g->ksize * g->in_ch, a.ldw, cv->taps);
      a.F = conv1dt__min64(PW, F - f0);
      a.bias = job->bias + f0;
      a.out = cv->out + p0 * F + f0;
      conv1dt_prefetch wpf;
      a.pf = NULL;
      if (job->how.prefetch_weights) {
        next_panel(job, r, f0, &wpf);
        a.pf = &wpf;
      }
      job->kern->filters(&a);
    }
  }
}

/* A tile the kernels left unfinished (pre-activations wanted, another activation, mono with
 * several filters) into y and pre. */
static void finish_chunk(const direct_job *job, const chunk_view *cv) {
  const conv1dt_geometry *g = job->g;
  const int64_t F = g->filters, ch = job->plan->chunk, n = cv->n, b = cv->b, t0 = cv->t0;
  if (job->how.mono) { /* channels_last: the filter-major tile (bias added) into y's rows */
    const int64_t at = (b * g->out_len + t0) * F;
    if (job->pre) X(conv1dt__transpose_act)(cv->tile, ch, F, n, NULL, 0, job->pre + at, F);
    if (g->act != CONV1DT_ACT_LINEAR && g->act != CONV1DT_ACT_RELU) /* elementwise, in place */
      for (int64_t f = 0; f < F; f++)
        for (int64_t i0 = 0; i0 < n; i0 += CONV1DT_MONO_PIECE) {
          R piece[CONV1DT_MONO_PIECE], *row = cv->tile + f * ch + i0;
          const int64_t m = conv1dt__min64(CONV1DT_MONO_PIECE, n - i0);
          X(conv1dt__activate)(g->act, piece, row, m, NULL, 0);
          memcpy(row, piece, (size_t)m * sizeof(R));
        }
    X(conv1dt__transpose_act)
    (cv->tile, ch, F, n, NULL, g->act == CONV1DT_ACT_RELU, job->y + at, F);
  } else if (job->how.steps) {
    X(conv1dt__finalize_fm)
    (g, NULL, cv->tile, ch, t0, n, job->y + b * F * g->out_last,
     job->pre ? job->pre + b * F * g->out_len : NULL, 0);
  } else if (g->channels_first) {
    X(conv1dt__finalize_first)
    (g, NULL, cv->tile, t0, n, job->y + b * F * g->out_last,
     job->pre ? job->pre + b * F * g->out_len : NULL, 0);
  } else {
    X(conv1dt__finalize_last)
    (g, NULL, cv->tile, n, job->y + (b * g->out_len + t0) * g->out_last,
     job->pre ? job->pre + (b * g->out_len + t0) * F : NULL, 0);
  }
}

/* to_pre: the chunk's y from the pre-activations the kernels just wrote. */
static void y_from_pre(const direct_job *job, const chunk_view *cv) {
  const conv1dt_geometry *g = job->g;
  const int64_t F = g->filters, T = g->out_len, n = cv->n;
  if (!g->channels_first) {
    const int64_t at = (cv->b * T + cv->t0) * F;
    X(conv1dt__activate)(g->act, job->y + at, job->pre + at, n * F, NULL, 0);
    return;
  }
  for (int64_t f = 0; f < F; f++) {
    const int64_t at = (cv->b * F + f) * T + cv->t0;
    X(conv1dt__activate)(g->act, job->y + at, job->pre + at, n, NULL, 0);
  }
}

static void run_chunk(const direct_job *job, char *scratch, int64_t b, int64_t chunk,
                      int prefetch) {
  const conv1dt_geometry *g = job->g;
  conv1dt_prefetch pfs;
  chunk_view cv;
  chunk_setup(job, scratch, b, chunk, prefetch, &pfs, &cv);
  if (job->how.steps2)
    run_steps2(job, &cv);
  else if (!job->how.steps && conv1dt__direct_grouped(&job->how, g, cv.n))
    run_groups(job, &cv);
  else if (job->how.steps)
    run_steps(job, &cv);
  else
    run_filters(job, &cv);
  if (job->how.planar) X(conv1dt__interleave)
  (cv.tile, conv1dt__ceil_div(cv.n, g->stride), cv.ldo, g->stride, cv.n, g->filters, NULL, 0,
   out_array(job) + b * g->filters * g->out_len + cv.t0, g->out_len);
  if (job->how.to_pre) y_from_pre(job, &cv);
  if (!job->how.to_y) finish_chunk(job, &cv);
}

/* Up to this many units a thread, direct_work shares them out in advance. */
#define CONV1DT_DIRECT_STATIC_UNITS 4

/* Threads take units of work one at a time from a shared counter, so a descheduled thread
 * delays the call by one unit, not by its static share. A unit is a strip of consecutive
 * chunks of one sample, so a thread knows which input it reads next and can ask for it early.
 * Calls of a few units a thread share them out in advance instead: no counter line passes
 * between the cores, and each core keeps its samples' lines from call to call (case A, 2 units a
 * thread, measured faster in its four dtype/format variants). Which thread runs a chunk changes
 * nothing in its sums. */
static void direct_work(void *arg, int id, int size) {
  direct_job *job = arg;
  char *scratch = job->scratch + (size_t)id * job->plan->thread_bytes;
  const int64_t strips = conv1dt__ceil_div(job->nchunk, job->strip);
  const int64_t units = job->g->batch * strips;
  const int fixed = units <= CONV1DT_DIRECT_STATIC_UNITS * (int64_t)size;
  int64_t u = 0, end = units;
  if (fixed) conv1dt__share(0, units, id, size, &u, &end);
  for (;; u++) {
    if (!fixed) u = atomic_fetch_add_explicit(&job->next, 1, memory_order_relaxed);
    if (u >= end) return;
    const int64_t c0 = u % strips * job->strip, c1 = conv1dt__min64(job->nchunk, c0 + job->strip);
    for (int64_t c = c0; c < c1; c++) run_chunk(job, scratch, u / strips, c, c + 1 < c1);
  }
}

/* channels_first softmax-type activations run along whole steps rows, after all chunks. */
static void rows_work(void *arg, int id, int size) {
  const direct_job *job = arg;
  const conv1dt_geometry *g = job->g;
  int64_t a, b;
  conv1dt__share(0, g->batch, id, size, &a, &b);
  for (int64_t s = a; s < b; s++)
    X(conv1dt__finish_rows_first)(g, job->y + s * g->filters * g->out_last, 0, g->filters);
}

void X(conv1dt__direct_run)(const conv1dt_layer *layer, const conv1dt_geometry *g,
                            const conv1dt_plan *plan, const R *x, R *y, R *pre, void *work) {
  const R *wpack = layer->packed;
  direct_job job;
  memset(&job, 0, sizeof job);
  job.g = g;
  job.plan = plan;
  conv1dt__direct_choose(layer, g, plan, pre != NULL, &job.how);
  job.kern = X(conv1dt__kernels)(job.how.isa);
  job.gkern = X(conv1dt__kernels)(job.how.groups_isa);
  job.ldw = layer->ldw;
  job.x = x;
  job.wpack = wpack;
  job.wpack_t = layer->packed_t;
  job.wgroups = layer->packed_g;
  job.bias = wpack + g->ksize * g->in_ch * layer->ldw;
  job.y = y;
  job.pre = pre;
  job.scratch = work;
  job.nchunk = (g->out_len + plan->chunk - 1) / plan->chunk;
  /* Strips of up to 8 chunks, as long as that leaves every thread 32 or more: the last strip
   * bounds how long one thread can keep the others waiting. */
  job.strip = g->batch * job.nchunk / (32 * (int64_t)plan->threads);
  job.strip = conv1dt__max64(1, conv1dt__min64(job.strip, conv1dt__min64(job.nchunk, 8)));
  atomic_init(&job.next, 0);
  int64_t a = g->dil, b = g->stride;
  while (b) { /* gcd(d, s) */
    const int64_t t = a % b;
    a = b;
    b = t;
  }
  job.period = g->stride / a;
  /* channels_first glu pairs steps across a sample: one owner per sample */
  if (g->channels_first && g->act == CONV1DT_ACT_GLU) job.strip = job.nchunk;
  int own = 1;
  conv1dt_team *team = conv1dt__team_acquire(layer, plan->threads, &own);
  /* units from the counter: a worker that has no CPU yet (another program's threads still
   * busy, e.g. the BLAS's right after a GEMM) may stay out of the call altogether */
  const int64_t units = g->batch * conv1dt__ceil_div(job.nchunk, job.strip);
  if (units > CONV1DT_DIRECT_STATIC_UNITS * (int64_t)conv1dt__team_size(team))
    conv1dt__team_run_any(team, direct_work, &job);
  else
    conv1dt__team_run(team, direct_work, &job);
  if (g->channels_first && (g->act == CONV1DT_ACT_SOFTMAX || g->act == CONV1DT_ACT_LOG_SOFTMAX ||
                            g->act == CONV1DT_ACT_SPARSEMAX))
    conv1dt__team_run(team, rows_work, &job);
  conv1dt__team_release(layer, team, own);
}
