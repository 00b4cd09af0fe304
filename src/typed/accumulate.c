/* The GEMM path without a column tile, for layers whose filters make wide GEMMs. With dilation
 * 1, taps k0 .. k0+g-1 (g <= stride) of input step l land on the consecutive output positions
 * l*s + k0 .. l*s + k0 + g - 1, and steps l, l+1, ... land s positions apart: in a
 * position-major window the tap group's products form a row-major matrix with leading
 * dimension s*F whose rows do not overlap. So each group is one BLAS GEMM accumulating
 * (beta = 1) straight into the window, and the col2im overlap-add happens inside the GEMMs:
 * no column tile is written and read back, no scatter pass. (With dilation > 1 the stride is
 * 1 and every tap is its own group.)
 *
 * Long samples stream: the window holds uncropped positions [u0, u0 + plan->win) of one
 * sample; after a block of input steps [l0, l1), positions below l1*s are final and get bias +
 * activation into y (via finalize.c, cropped to the layer's output); the overlap tail slides
 * to the front.
 *
 * Short samples share their GEMMs (plan->span samples a block): each GEMM then packs the tap
 * group's weights once for all of them, which per-sample GEMMs did again for every sample
 * (measured on bench case F, 256 steps, GEMMs alone).
 * Sample j's input rows go to panel rows j*slot.. with zero rows up to the next slot, so its
 * outputs land in window slot j without touching its neighbours' (channels_first transposes
 * its samples into the panel on the way; channels_last reads x in place when no gap is
 * needed). */
#include "typed.h"

#include <string.h>

typedef struct {
  const conv1dt_geometry *g;
  const R *bias;
  R *win; /* window row of position ta */
  int64_t ta, n;
  R *y_sample, *pre_sample;
  int clear; /* leave the window rows read zero */
} finish_job;

/* Rows a finishing call clears behind it, about 32 KiB: still in L1/L2 when cleared. */
#define CONV1DT_CLEAR_BYTES (1 << 15)

static void finish_work(void *arg, int id, int size) {
  const finish_job *job = arg;
  const conv1dt_geometry *g = job->g;
  const int64_t F = g->filters;
  int64_t a, b;
  conv1dt__share(0, job->n, id, size, &a, &b);
  /* clearing: in pieces, each right after it is read (one piece when not clearing) */
  const int64_t piece =
      job->clear ? conv1dt__max64(16, CONV1DT_CLEAR_BYTES / (F * (int64_t)sizeof(R))) : b - a;
  for (int64_t p = a; p < b; p += piece) {
    const int64_t n = conv1dt__min64(piece, b - p);
    R *w = job->win + p * F;
    if (g->channels_first) X(conv1dt__finalize_first)
    (g, job->bias, w, job->ta + p, n, job->y_sample, job->pre_sample, job->clear);
    else X(conv1dt__finalize_last)(g, job->bias, w, n, job->y_sample + (job->ta + p) * g->out_last,
                                   job->pre_sample ? job->pre_sample + (job->ta + p) * F : NULL,
                                   job->clear);
  }
}

/* Finishing is shared by the team only when there is enough of it (elements). */
#define CONV1DT_ACCUMULATE_SHARE_MIN (1 << 18)

typedef struct {
  const conv1dt_layer *layer;
  const conv1dt_geometry *g;
  int threads;
  int glu_steps;      /* channels_first glu pairs steps in order: one thread */
  conv1dt_team *team; /* made on first use */
} finisher;

/* Output positions [ta, tb) of one sample, whose window rows start at w (position ta). */
static void finish(finisher *fin, R *w, int64_t ta, int64_t tb, R *y_sample, R *pre_sample,
                   int clear) {
  if (ta >= tb) return;
  finish_job job = {fin->g, fin->layer->bias, w, ta, tb - ta, y_sample, pre_sample, clear};
  conv1dt_team *t = NULL;
  if (!fin->glu_steps && fin->threads > 1 &&
      (tb - ta) * fin->g->filters >= CONV1DT_ACCUMULATE_SHARE_MIN) {
    if (!fin->team) fin->team = conv1dt__team_create(fin->threads);
    t = fin->team;
  }
  conv1dt__team_run(t, finish_work, &job);
}

/* channels_first softmax-type activations run along the finished rows of a sample. */
static void finish_rows(const conv1dt_geometry *g, R *y_sample) {
  if (g->channels_first && (g->act == CONV1DT_ACT_SOFTMAX || g->act == CONV1DT_ACT_LOG_SOFTMAX ||
                            g->act == CONV1DT_ACT_SPARSEMAX))
    X(conv1dt__finish_rows_first)(g, y_sample, 0, g->filters);
}

/* win[(i*s + k*d) * F + f] += a[i] . W[k][f] for rows i < m of a (lda, transposed when
 * trans_a) and every tap k: one GEMM per tap group, rows of ld s*F. */
static void gemm_groups(const conv1dt_layer *layer, const conv1dt_geometry *g, int trans_a,
                        int64_t m, const R *a, int64_t lda, R *win) {
  const int64_t F = g->filters, K = g->ksize, s = g->stride, d = g->dil;
  const int64_t group = d == 1 ? conv1dt__min64(s, K) : 1;
  for (int64_t k0 = 0; k0 < K; k0 += group) {
    const int64_t gk = conv1dt__min64(group, K - k0);
    const X(conv1dt_weights) wt = X(conv1dt__weights)(layer, k0);
    conv1dt__gemm_R(trans_a, wt.trans, (int)m, (int)(gk * F), (int)g->in_ch, a, (int)lda, wt.w,
                    wt.ld, 1, win + k0 * d * F, (int)(s * F));
  }
}

/* Samples b0 + j0 .. b0 + j1 - 1 of a shared block (window slot j of sample b0 + j), leaving
 * the window rows they read zero. `whole`: each on this thread (a team member's range); else
 * each shared out by positions when it is large enough (finish decides). */
static void finish_samples(finisher *fin, const conv1dt_plan *plan, R *win, R *y, R *pre,
                           int64_t b0, int64_t j0, int64_t j1, int whole) {
  const conv1dt_geometry *g = fin->g;
  const int64_t F = g->filters;
  for (int64_t j = j0; j < j1; j++) {
    const int64_t b = b0 + j;
    R *y_sample = y + b * (g->channels_first ? F : g->out_len) * g->out_last;
    R *w = win + (j * plan->slot * g->stride + g->crop_left) * F;
    R *pre_sample = pre ? pre + b * g->out_len * F : NULL;
    if (whole) {
      finish_job job = {g, fin->layer->bias, w, 0, g->out_len, y_sample, pre_sample, 1};
      finish_work(&job, 0, 1);
    } else {
      finish(fin, w, 0, g->out_len, y_sample, pre_sample, 1);
    }
    finish_rows(g, y_sample);
  }
}

/* A shared block's samples finished whole, the team taking a range of them each (for samples
 * too small to share out one by one). */
typedef struct {
  finisher *fin;
  const conv1dt_plan *plan;
  R *win, *y, *pre;
  int64_t b0, nb;
} block_job;

static void block_work(void *arg, int id, int size) {
  const block_job *job = arg;
  int64_t a, b;
  conv1dt__share(0, job->nb, id, size, &a, &b);
  finish_samples(job->fin, job->plan, job->win, job->y, job->pre, job->b0, a, b, 1);
}

/* plan->span samples a block, each in a window slot of plan->slot input steps. */
static void run_shared(finisher *fin, const conv1dt_plan *plan, const R *x, R *y, R *pre, R *win) {
  const conv1dt_geometry *g = fin->g;
  const int64_t L = g->steps, C = g->in_ch, F = g->filters, s = g->stride, slot = plan->slot;
  const int cf = g->channels_first;
  R *panel = (R *)((char *)win + conv1dt__align((size_t)(plan->win * F) * sizeof(R)));
  for (int64_t b0 = 0; b0 < g->batch; b0 += plan->span) {
    const int64_t nb = conv1dt__min64(plan->span, g->batch - b0);
    const R *a = x + b0 * L * C;
    if (cf || slot > L) {
      for (int64_t j = 0; j < nb; j++) {
        R *rows = panel + j * slot * C;
        if (cf) /* rows[l * C + c] = x_b[c * L + l] */
          X(conv1dt__transpose_act)(a + j * C * L, L, C, L, NULL, 0, rows, C);
        else
          memcpy(rows, a + j * L * C, (size_t)(L * C) * sizeof(R));
        if (j + 1 < nb) memset(rows + L * C, 0, (size_t)((slot - L) * C) * sizeof(R));
      }
      a = panel;
    }
    /* The window starts uninitialised, so the first block clears all of it. Later blocks find
     * it zero wherever finishing reads, since finishing clears what it reads while that is in
     * cache, which measured faster than a separate pass over the whole window per block (bench
     * case B). Rows finishing never reads (each slot's cropped head and
     * tail) keep the last block's sums: no result depends on them. */
    if (b0 == 0) memset(win, 0, (size_t)(nb * slot * s * F) * sizeof(R));
    gemm_groups(fin->layer, g, 0, (nb - 1) * slot + L, a, C, win);
    if (g->out_len * F >= CONV1DT_ACCUMULATE_SHARE_MIN || fin->threads < 2 ||
        nb * g->out_len * F < CONV1DT_ACCUMULATE_SHARE_MIN) {
      finish_samples(fin, plan, win, y, pre, b0, 0, nb, 0);
    } else { /* small samples: the team takes them whole, a range each */
      if (!fin->team) fin->team = conv1dt__team_create(fin->threads);
      block_job job = {fin, plan, win, y, pre, b0, nb};
      conv1dt__team_run(fin->team, block_work, &job);
    }
  }
}

/* Planes: output rows [f0, f1) of one sample from its stride planes (plane r, row f at
 * planes + (r * F + f) * slot holds uncropped positions u = r + i * s at i). */
typedef struct {
  const conv1dt_geometry *g;
  const R *bias, *planes;
  int64_t slot;
  R *y_sample, *pre_sample;
} planes_job;

static void planes_work(void *arg, int id, int size) {
  const planes_job *job = arg;
  const conv1dt_geometry *g = job->g;
  const int64_t F = g->filters, s = g->stride, T = g->out_len, crop = g->crop_left;
  const int fast = !job->pre_sample && (g->act == CONV1DT_ACT_LINEAR || g->act == CONV1DT_ACT_RELU);
  const int relu = fast && g->act == CONV1DT_ACT_RELU;
  /* the leading positions up to the first multiple of s, then whole rounds of the planes */
  const int64_t head = conv1dt__min64(T, (s - crop % s) % s);
  int64_t f0, f1;
  conv1dt__share(0, F, id, size, &f0, &f1);
  for (int64_t f = f0; f < f1; f++) {
    R *row = fast              ? job->y_sample + f * T
             : job->pre_sample ? job->pre_sample + f * T
                               : job->y_sample + f * T;
    const R b = job->bias ? job->bias[f] : RC(0.0);
    for (int64_t t = 0; t < head; t++) {
      const int64_t u = crop + t;
      const R v = job->planes[((u % s) * F + f) * job->slot + u / s];
      row[t] = job->bias ? v + b : v;
      if (relu && row[t] < 0) row[t] = RC(0.0);
    }
    X(conv1dt__interleave)
    (job->planes + f * job->slot + (crop + head) / s, F * job->slot, job->slot, s, T - head, 1,
     job->bias ? job->bias + f : NULL, relu, row + head, T);
    if (fast) continue;
    if (job->pre_sample) {
      X(conv1dt__activate)(g->act, job->y_sample + f * T, row, T, NULL, 0);
    } else { /* through a small buffer: activate reads and writes distinct arrays */
      R buf[256];
      for (int64_t t = 0; t < T; t += 256) {
        const int64_t n = conv1dt__min64(256, T - t);
        memcpy(buf, row + t, (size_t)n * sizeof(R));
        X(conv1dt__activate)(g->act, row + t, buf, n, NULL, 0);
      }
    }
  }
}

/* channels_first, one sample at a time: tap k's product W_k * x_b (F x L, both operands as
 * they are) adds into stride plane (k*d mod s) at column (k*d div s); then the planes are
 * interleaved into y's rows with bias and activation. */
static void run_planes(finisher *fin, const conv1dt_plan *plan, const R *x, R *y, R *pre,
                       R *planes) {
  const conv1dt_geometry *g = fin->g;
  const int64_t L = g->steps, C = g->in_ch, F = g->filters, K = g->ksize, s = g->stride;
  const int64_t d = g->dil, slot = plan->slot;
  const R *kernel = fin->layer->kernel;
  for (int64_t b = 0; b < g->batch; b++) {
    memset(planes, 0, (size_t)(s * F * slot) * sizeof(R));
    /* With dilation 1, taps k0 .. k0 + s - 1 (k0 a multiple of s) land in planes 0 .. s - 1 at
     * the same column k0 / s, and planes are F rows of `slot` apart: the group's rows (k, f) of
     * the Keras kernel form one GEMM whose output rows are `slot` apart too, so x_b is packed
     * once per group, not once per tap. With dilation > 1 (stride 1) each tap is a group. */
    const int64_t group = d == 1 ? s : 1;
    for (int64_t k0 = 0; k0 < K; k0 += group) {
      const int64_t gk = conv1dt__min64(group, K - k0);
      conv1dt__gemm_R(0, 0, (int)(gk * F), (int)L, (int)C, kernel + k0 * F * C, (int)C,
                      x + b * C * L, (int)L, 1, planes + ((k0 * d) % s) * F * slot + (k0 * d) / s,
                      (int)slot);
    }
    planes_job job = {g,    fin->layer->bias,       planes,
                      slot, y + b * F * g->out_len, pre ? pre + b * F * g->out_len : NULL};
    conv1dt_team *t = NULL;
    if (fin->threads > 1 && F * g->out_len >= CONV1DT_ACCUMULATE_SHARE_MIN) {
      if (!fin->team) fin->team = conv1dt__team_create(fin->threads);
      t = fin->team;
    }
    conv1dt__team_run(t, planes_work, &job);
  }
}

void X(conv1dt__accumulate_run)(const conv1dt_layer *layer, const conv1dt_geometry *g,
                                const conv1dt_plan *plan, const R *x, R *y, R *pre, R *win) {
  const int64_t L = g->steps, C = g->in_ch, F = g->filters, s = g->stride;
  const int64_t crop = g->crop_left;
  const int cf = g->channels_first;
  finisher fin = {layer, g, conv1dt__default_threads(), cf && g->act == CONV1DT_ACT_GLU, NULL};
  if (plan->span > 1 || plan->planes) {
    if (plan->planes)
      run_planes(&fin, plan, x, y, pre, win);
    else
      run_shared(&fin, plan, x, y, pre, win);
    conv1dt__team_destroy(fin.team);
    return;
  }
  /* Every GEMM accumulates (beta = 1) into a window zeroed here: OpenBLAS runs beta = 0 as a
   * separate zeroing pass of its own that measured slower than memset (bench case G
   * channels_first). Window slots from `stale` on are zero (none at
   * first: the workspace is uninitialised). */
  int64_t stale = plan->win;

  for (int64_t b = 0; b < g->batch; b++) {
    const R *xb = x + b * L * C;
    R *y_sample = y + b * (cf ? F : g->out_len) * g->out_last;
    R *pre_sample = pre ? pre + b * g->out_len * F : NULL;
    for (int64_t l0 = 0; l0 < L; l0 += plan->rows) {
      const int64_t m = conv1dt__min64(plan->rows, L - l0), u0 = l0 * s, last = l0 + m == L;
      /* Window rows [0, used) receive this block; [0, tail) came from the previous one; finishing
       * reads up to u_end (the output_padding steps no input reaches, at the sample's end). */
      const int64_t used = (m - 1) * s + g->keff;
      const int64_t u_end = last ? g->out_len + crop : (l0 + m) * s;
      const int64_t dirty = conv1dt__max64(used, u_end - u0);
      if (l0 == 0) { /* a new sample: slots below `stale` hold the last one's leftovers */
        const int64_t to = conv1dt__min64(plan->win, conv1dt__max64(dirty, stale));
        memset(win, 0, (size_t)(to * F) * sizeof(R));
      }
      /* win[(l - l0)*s + k*d - ..] += x[l] . W[k] */
      gemm_groups(layer, g, cf, m, cf ? xb + l0 : xb + l0 * C, cf ? L : C, win);
      /* Final: positions below (l0 + m) * s, or everything at the sample's end. */
      const int64_t ta = conv1dt__max64(0, u0 - crop),
                    tb = conv1dt__min64(g->out_len, u_end - crop);
      finish(&fin, win + (ta + crop - u0) * F, ta, tb, y_sample, pre_sample, 0);
      /* Slide: the overlap tail [m*s, used) to the front, zeros behind it over everything the
       * block wrote — the GEMMs up to `used`, finishing (which may add the bias in place) up to
       * u_end; past used < m*s (stride > kernel) only finishing did. The next sample clears
       * for itself. */
      if (last) {
        stale = dirty;
      } else {
        const int64_t tail = conv1dt__max64(used - m * s, 0);
        if (tail > 0) memmove(win, win + m * s * F, (size_t)(tail * F) * sizeof(R));
        memset(win + tail * F, 0, (size_t)((dirty - tail) * F) * sizeof(R));
      }
    }
    finish_rows(g, y_sample);
  }
  conv1dt__team_destroy(fin.team);
}
