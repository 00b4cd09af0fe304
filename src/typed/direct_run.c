/* The direct method's driver: every sample's output is cut into chunks of plan->chunk
 * positions. A chunk copies the input steps it reads into a small panel (zero outside the
 * sample; channels_last reads x in place away from the edges), runs the kernel phase by phase
 * into y itself (linear, relu) or a tile that finalize.c finishes (position-major channels_last,
 * filter-major channels_first, so neither transposes). Threads own whole chunks, so each output
 * element has one owner and the sums are the same for any thread count. */
#include "typed.h"

#include <stdatomic.h>
#include <string.h>

/* run_chunk activates a mono tile this many elements at a time (through a stack buffer). */
#define CONV1DT_MONO_PIECE 256

typedef struct {
  const conv1dt_geometry *g;
  const conv1dt_plan *plan;
  int64_t ldw;
  const X(conv1dt_direct_kernels) * kern;
  const R *x, *wpack, *wpack_t, *bias;
  R *y, *pre;
  char *scratch; /* per-thread blocks of plan->thread_bytes */
  int64_t nchunk;
  int64_t strip;        /* chunks per unit: consecutive ones of a sample (see direct_work) */
  int to_y;             /* linear or relu, no pre: the kernel writes y itself, relu fused */
  int steps_kernel;     /* channels_first: the kernel with steps along the vectors */
  int mono;             /* channels_last, few filters: the steps kernel too (vcf; see below) */
  int prefetch_w;       /* filter-vector tiles: ask for the next sweep's weights (next_panel) */
  int64_t period;       /* s / gcd(d, s): a phase's taps are k0, k0 + period, ... */
  int groups;           /* the grouped-positions kernel's G (0: not this layer) */
  const R *wgroups;     /* its packed_g */
  _Atomic int64_t next; /* the next unit to take */
} direct_job;

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
 * kernel's overrun past a phase. */
static void chunk_steps(const direct_job *job, int64_t chunk, int vcf, int64_t *ilo, int64_t *ihi) {
  const conv1dt_geometry *g = job->g;
  const int64_t t0 = chunk * job->plan->chunk;
  const int64_t t1 = conv1dt__min64(g->out_len, t0 + job->plan->chunk);
  *ilo = conv1dt__ceil_div(t0 + g->crop_left - (g->keff - 1), g->stride);
  *ihi = conv1dt__floor_div(t1 + g->crop_left - 1, g->stride) + 1 +
         (vcf ? 3 * job->kern->vl : conv1dt__max64(CONV1DT_DIRECT_MR, (job->groups - 1) * g->dil));
}

/* channels_first: the channel rows' steps the next chunk adds to this one's, asked for a few
 * lines before each register tile so that the loads overlap the arithmetic (faster on
 * cases C and D channels_first; asked for all at once, they were no faster than none). */
static void prefetch_plan(const direct_job *job, const R *xb, int64_t next, int64_t from,
                          conv1dt_prefetch *pf) {
  const conv1dt_geometry *g = job->g;
  int64_t lo, hi;
  chunk_steps(job, next, 1, &lo, &hi);
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

static void run_chunk(const direct_job *job, char *scratch, int64_t b, int64_t chunk,
                      int prefetch) {
  enum { PW = CONV1DT_DIRECT_PANEL_BYTES / (int)sizeof(R) };
  const conv1dt_geometry *g = job->g;
  const conv1dt_plan *plan = job->plan;
  const int64_t L = g->steps, C = g->in_ch, F = g->filters, s = g->stride;
  const int64_t t0 = chunk * plan->chunk, t1 = conv1dt__min64(g->out_len, t0 + plan->chunk);
  const int64_t ua = t0 + g->crop_left, ub = t1 + g->crop_left; /* uncropped positions */
  /* vcf: channels_first (or mono channels_last) through the steps-along-vectors kernel (else
   * its panel is transposed and the filters-along-vectors kernel runs, as for channels_last) */
  const int vcf = (g->channels_first || job->mono) && job->steps_kernel;
  const int relu = job->to_y && g->act == CONV1DT_ACT_RELU;
  /* planar: channels_first straight to y with a stride, float: each phase's positions go to a
   * plane of the tile as whole vectors, and the planes are interleaved into y's rows at the end
   * instead of being stored s apart one element at a time (faster on cases C and E
   * channels_first). With double's 4-element vectors the scattered stores cost less than the
   * extra pass (C a tie, E slower with planes), so double keeps them. */
  /* zipped: stride 2 in the AVX-512 build, both phases in one tile, zipped into y in registers
   * (direct.c's phase_t2) */
  const int zipped = vcf && job->to_y && s == 2 && job->kern->phase_t2;
  const int planar = vcf && job->to_y && s > 1 && job->kern->vl >= 8 && !zipped;
  const int64_t n = t1 - t0, mp = conv1dt__ceil_div(n, s); /* planar: plane length */
  R *tile = (R *)scratch;
  /* Where the kernel writes: y itself (filter rows of out_len steps channels_first, position
   * rows channels_last: the tile's layouts), or the tile, finished below. */
  R *out = job->to_y && !planar
               ? job->y + (vcf ? b * F * g->out_len + t0 : (b * g->out_len + t0) * F)
               : tile;
  const int64_t ldo = planar ? s * mp : vcf ? (job->to_y ? g->out_len : plan->chunk) : 0;
  R *panel = (R *)(scratch + conv1dt__align((size_t)CONV1DT_DIRECT_TILE_ELEMS(plan->chunk, s, F) *
                                            sizeof(R)));
  conv1dt_direct_tap *taps =
      (conv1dt_direct_tap *)((char *)panel +
                             conv1dt__align((size_t)(plan->panel_rows * C) * sizeof(R)));

  int64_t ilo, ihi;
  chunk_steps(job, chunk, vcf, &ilo, &ihi);
  conv1dt_prefetch pfs, *pf = NULL;
  const R *xb = job->x + b * L * C, *src = xb;
  int64_t shift = 0, ldx = vcf ? L : C;
  /* channels_first always reads a copy: channel rows L apart (often a power of two) would fight
   * over the same L1 sets. channels_last copies at a sample edge, for the zero padding, and
   * transposed for the steps kernel (mono). */
  if (g->channels_first || vcf || ilo < 0 || ihi > L) {
    gather(g, xb, ilo, ihi, panel, !vcf);
    src = panel;
    shift = ilo;
    ldx = vcf ? ihi - ilo : C;
    if (prefetch && vcf && g->channels_first) {
      prefetch_plan(job, xb, chunk + 1, ihi, &pfs);
      pf = &pfs;
    }
  }

  const int64_t gstride = g->ksize * C * CONV1DT_DIRECT_MF; /* packed_t's filter groups */
  /* stride 1 and few filters: every position at once, in groups (direct.c), where the chunk
   * is long enough for its tiles */
  const int grouped = !vcf && job->groups && n >= CONV1DT_DIRECT_MR * job->groups * g->dil;
  if (zipped) { /* both phases' taps, rho = 0 then 1, offsets from q (p = 2q + rho) */
    int ntaps[2], all = 0;
    for (int64_t rho = 0; rho < s; rho++) {
      const int64_t r = (ua + rho) % s, q_to_n = (ua + rho - r) / s;
      ntaps[rho] = phase_taps(g, r, shift - q_to_n, job->wpack_t, CONV1DT_DIRECT_MF, taps + all);
      all += ntaps[rho];
    }
    job->kern->phase_t2(src, ldx, C, taps, ntaps, n, F, gstride, job->bias,
                        job->y + b * F * g->out_len + t0, g->out_len, relu, pf);
  }
#ifdef CONV1DT_HAVE_WIDE
  if (grouped) {
    const int ntaps = (int)(g->ksize + job->groups - 1);
    X(conv1dt__direct_groups_wide)
    (src + (ua - shift) * C, C, job->wgroups, ntaps, g->dil, job->groups, F, n, out, F, relu);
  }
#endif
  /* Phase r: positions u = r + n*s, taps k with k*d = r (mod s), steps i = n + (r - k*d)/s. */
  for (int64_t r = 0; r < s && !grouped && !zipped; r++) {
    const int64_t n_lo = conv1dt__ceil_div(ua - r, s), n_hi = conv1dt__ceil_div(ub - r, s);
    if (n_lo >= n_hi) continue;
    const int64_t p0 = n_lo * s + r - ua; /* the phase's first position in the tile */
    if (vcf) {
      const int ntaps = phase_taps(g, r, shift, job->wpack_t, CONV1DT_DIRECT_MF, taps);
      if (planar) /* plane p0 (< s): positions p0, p0 + s, ... of the chunk */
        job->kern->phase_t(src, ldx, C, taps, ntaps, n_lo, n_hi, F, gstride, job->bias,
                           tile + p0 * mp, ldo, 1, relu, pf, 0);
      else
        job->kern->phase_t(src, ldx, C, taps, ntaps, n_lo, n_hi, F, gstride, job->bias, out + p0,
                           ldo, s, relu, pf, out != tile);
      continue;
    }
    /* channels_last: one filter panel at a time (pack.c), all of the phase's positions each */
    for (int64_t f0 = 0; f0 < F; f0 += PW) {
      const int64_t w = conv1dt__min64(PW, job->ldw - f0);
      const int ntaps = phase_taps(g, r, shift, job->wpack + f0 * g->ksize * C, w, taps);
      conv1dt_prefetch wpf;
      if (job->prefetch_w) next_panel(job, r, f0, &wpf);
      job->kern->phase(src, C, taps, ntaps, n_lo, n_hi, conv1dt__min64(PW, F - f0), w,
                       job->bias + f0, out + p0 * F + f0, s * F, relu,
                       job->prefetch_w ? &wpf : NULL);
    }
  }
  if (planar) X(conv1dt__interleave)
  (tile, mp, s * mp, s, n, F, NULL, 0, job->y + b * F * g->out_len + t0, g->out_len);
  if (job->to_y) return;

  if (job->mono) { /* channels_last: the filter-major tile (bias added) into y's rows */
    const int64_t at = (b * g->out_len + t0) * F;
    if (job->pre) X(conv1dt__transpose_act)(tile, plan->chunk, F, n, NULL, 0, job->pre + at, F);
    if (g->act != CONV1DT_ACT_LINEAR && g->act != CONV1DT_ACT_RELU) /* elementwise, in place */
      for (int64_t f = 0; f < F; f++)
        for (int64_t i0 = 0; i0 < n; i0 += CONV1DT_MONO_PIECE) {
          R piece[CONV1DT_MONO_PIECE], *row = tile + f * plan->chunk + i0;
          const int64_t m = conv1dt__min64(CONV1DT_MONO_PIECE, n - i0);
          X(conv1dt__activate)(g->act, piece, row, m, NULL, 0);
          memcpy(row, piece, (size_t)m * sizeof(R));
        }
    X(conv1dt__transpose_act)
    (tile, plan->chunk, F, n, NULL, g->act == CONV1DT_ACT_RELU, job->y + at, F);
    return;
  }
  if (vcf) X(conv1dt__finalize_fm)
  (g, NULL, tile, plan->chunk, t0, n, job->y + b * F * g->out_last,
   job->pre ? job->pre + b * F * g->out_len : NULL, 0);
  else if (g->channels_first)
      X(conv1dt__finalize_first)(g, NULL, tile, t0, n, job->y + b * F * g->out_last,
                                 job->pre ? job->pre + b * F * g->out_len : NULL, 0);
  else X(conv1dt__finalize_last)(g, NULL, tile, n, job->y + (b * g->out_len + t0) * g->out_last,
                                 job->pre ? job->pre + (b * g->out_len + t0) * F : NULL, 0);
}

/* Up to this many units a thread, direct_work shares them out in advance. */
#define CONV1DT_DIRECT_STATIC_UNITS 4

/* Threads take units of work one at a time from a shared counter, so a descheduled thread
 * delays the call by one unit, not by its static share. A unit is a strip of consecutive
 * chunks of one sample, so a thread knows which input it reads next and can ask for it early.
 * Calls of a few units a thread share them out in advance instead: no counter line passes
 * between the cores, and each core keeps its samples' lines from call to call (case A, 2 units a
 * thread, measured faster in its four dtype/format variants). Which thread runs a chunk changes nothing in its sums. */
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

#define CONV1DT_DIRECT_STEPS_MAX_CH 128
/* Weights beyond this many bytes come from memory for every chunk (next_panel). */
#define CONV1DT_DIRECT_PREFETCH_WEIGHTS ((double)(4 << 20))
static const X(conv1dt_direct_kernels) narrow = {CONV1DT_DIRECT_VL, CONV1DT_DIRECT_MF,
                                                 X(conv1dt__direct_phase),
                                                 X(conv1dt__direct_phase_t), NULL};
#ifdef CONV1DT_HAVE_WIDE
static const X(conv1dt_direct_kernels) wide = {
    CONV1DT_DIRECT_WIDE_VL, CONV1DT_DIRECT_WIDE_MF, X(conv1dt__direct_phase_wide),
    X(conv1dt__direct_phase_t_wide), X(conv1dt__direct_phase_t2_wide)};
#endif

/* The kernels for this call, and whether channels_first runs the steps-along-vectors one. Steps
 * along the vectors pays when a phase has a few vectors of them; short samples go through a
 * transposed panel and the filters-along-vectors kernel (bench case A). The AVX-512 build runs
 * wherever the CPU has it and its vectors would not be mostly padding: filters beyond one
 * 256-bit vector, or two 512-bit vectors of steps per phase. cf: choose as for channels_first
 * (the layer's format, or a channels_last layer the steps kernel may take: mono). */
static const X(conv1dt_direct_kernels) *
    pick_kernels(const conv1dt_geometry *g, const conv1dt_plan *plan, int cf, int *steps_kernel) {
  const int64_t per_phase = plan->chunk / g->stride;
#ifdef CONV1DT_HAVE_WIDE
  if (conv1dt__cpu_has_wide()) {
    /* Past 128 channels the steps kernel's 4-filter tiles wait on the panel's rows (L2), and
     * the transposed panel with the filter kernel, whose tiles reuse each weight vector for 6
     * positions, wins (cases G, B, F channels_first; at 64 channels, case C, the steps kernel
     * is the faster). */
    *steps_kernel =
        cf && per_phase >= 2 * CONV1DT_DIRECT_WIDE_VL && g->in_ch <= CONV1DT_DIRECT_STEPS_MAX_CH;
    if (*steps_kernel) return &wide;
    /* Phases too short for the wide steps tiles: where the filters fill more than one 256-bit
     * vector, the wide filter tiles beat the 256-bit steps ones (case A float64
     * channels_first, 10 steps a phase). */
    if (!cf || per_phase < 2 * CONV1DT_DIRECT_VL || g->in_ch > CONV1DT_DIRECT_STEPS_MAX_CH ||
        g->filters > CONV1DT_DIRECT_VL)
      return g->filters > CONV1DT_DIRECT_VL ? &wide : &narrow;
  }
#endif
  *steps_kernel = cf && per_phase >= 2 * CONV1DT_DIRECT_VL;
  return &narrow;
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
  job.ldw = layer->ldw;
  job.x = x;
  job.wpack = wpack;
  job.wpack_t = layer->packed_t;
  job.bias = wpack + g->ksize * g->in_ch * layer->ldw;
  job.y = y;
  job.pre = pre;
  job.scratch = work;
  job.nchunk = (g->out_len + plan->chunk - 1) / plan->chunk;
  /* Strips of up to 8 chunks, as long as that leaves every thread 32 or more: the last strip
   * bounds how long one thread can keep the other waiting (whole samples measured
   * slightly slower than 8 chunks on cases C, D, E). */
  job.strip = g->batch * job.nchunk / (32 * (int64_t)plan->threads);
  job.strip = conv1dt__max64(1, conv1dt__min64(job.strip, conv1dt__min64(job.nchunk, 8)));
  atomic_init(&job.next, 0);
  /* channels_last with at most MF (4) filters, or at most half a 512-bit vector of them where
   * the AVX-512 build runs, and an elementwise activation: where the steps kernel would run for
   * channels_first, it runs here too from a transposed panel, where the filter tiles' vectors
   * held 1-8 useful lanes in 16. One filter's y (linear, relu, no pre) is laid out as a
   * channels_first row, so the kernel writes it itself; otherwise a filter-major tile is
   * activated in place and transposed into y's rows. Measured faster for 1 to 8 float32
   * filters and 1 to 4 float64 ones at strides 2 and 4 (8 float64 filters, a whole vector,
   * were slower this way and keep the filter tiles). Not where the grouped tiles run
   * (stride 1 on AVX-512): they were faster than this. */
  const int mono = !g->channels_first && layer->packed_t &&
                   conv1dt__direct_few_filters(g->filters, sizeof(R), conv1dt__cpu_has_wide()) &&
                   !CONV1DT_ACT_IS_AXISWISE(g->act) && (g->stride > 1 || !layer->groups);
  job.kern = pick_kernels(g, plan, g->channels_first || mono, &job.steps_kernel);
  job.mono = mono && job.steps_kernel;
  if (mono && !job.steps_kernel) job.kern = pick_kernels(g, plan, 0, &job.steps_kernel);
  job.prefetch_w = (double)g->ksize * (double)g->in_ch * (double)layer->ldw * (double)sizeof(R) >
                   CONV1DT_DIRECT_PREFETCH_WEIGHTS;
  int64_t a = g->dil, b = g->stride;
  while (b) { /* gcd(d, s) */
    const int64_t t = a % b;
    a = b;
    b = t;
  }
  job.period = g->stride / a;
  job.groups = layer->groups;
  job.wgroups = layer->packed_g;
  job.to_y = !pre && (g->act == CONV1DT_ACT_LINEAR || g->act == CONV1DT_ACT_RELU) &&
             (!g->channels_first || job.steps_kernel) && (!job.mono || g->filters == 1);
  /* channels_first glu pairs steps across a sample: one owner per sample */
  if (g->channels_first && g->act == CONV1DT_ACT_GLU) job.strip = job.nchunk;
  int own = 1;
  conv1dt_team *team = conv1dt__team_acquire(layer, plan->threads, &own);
  conv1dt__team_run(team, direct_work, &job);
  if (g->channels_first && (g->act == CONV1DT_ACT_SOFTMAX || g->act == CONV1DT_ACT_LOG_SOFTMAX ||
                            g->act == CONV1DT_ACT_SPARSEMAX))
    conv1dt__team_run(team, rows_work, &job);
  conv1dt__team_release(layer, team, own);
}
