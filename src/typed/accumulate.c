/* The GEMM path without a column tile, for layers whose filters make wide GEMMs. With dilation
 * 1, taps k0 .. k0+g-1 (g <= stride) of input step l land on the consecutive output positions
 * l*s + k0 .. l*s + k0 + g - 1, and steps l, l+1, ... land s positions apart: in a
 * position-major window the tap group's products form a row-major matrix with leading
 * dimension s*F whose rows do not overlap. So each group is one BLAS GEMM accumulating
 * (beta = 1) straight into the window, and the col2im overlap-add happens inside the GEMMs:
 * no column tile is written and read back, no scatter pass. (With dilation > 1 the stride is
 * 1 and every tap is its own group.)
 *
 * The window holds uncropped positions [u0, u0 + plan->win) of one sample; after a block of
 * input steps [l0, l1), positions below l1*s are final and get bias + activation into y (via
 * finalize.c, cropped to the layer's output); the overlap tail slides to the front. */
#include "typed.h"

#include <string.h>

typedef struct {
  const conv1dt_geometry *g;
  const R *bias;
  R *win; /* window row of position ta */
  int64_t ta, n;
  R *y_sample, *pre_sample;
} finish_job;

static void finish_work(void *arg, int id, int size) {
  const finish_job *job = arg;
  const conv1dt_geometry *g = job->g;
  const int64_t F = g->filters;
  int64_t a, b;
  conv1dt__share(0, job->n, id, size, &a, &b);
  if (a >= b) return;
  R *w = job->win + a * F;
  if (g->channels_first)
    X(conv1dt__finalize_first)
    (g, job->bias, w, job->ta + a, b - a, job->y_sample, job->pre_sample, 0);
  else
    X(conv1dt__finalize_last)
  (g, job->bias, w, b - a, job->y_sample + (job->ta + a) * g->out_last,
   job->pre_sample ? job->pre_sample + (job->ta + a) * F : NULL, 0);
}

/* Finishing is shared by the team only when there is enough of it (elements). */
#define CONV1DT_ACCUMULATE_SHARE_MIN (1 << 18)

void X(conv1dt__accumulate_run)(const conv1dt_layer *layer, const conv1dt_geometry *g,
                                const conv1dt_plan *plan, const R *x, R *y, R *pre, R *win) {
  const int64_t L = g->steps, C = g->in_ch, F = g->filters, K = g->ksize, s = g->stride;
  const int64_t d = g->dil, crop = g->crop_left;
  const int64_t group = d == 1 ? conv1dt__min64(s, K) : 1;
  const int cf = g->channels_first;
  const int glu_steps = cf && g->act == CONV1DT_ACT_GLU; /* pairs steps in order: one thread */
  conv1dt_team *team = NULL;
  const int threads = conv1dt__default_threads();
  /* Every GEMM accumulates (beta = 1) into a window zeroed here: OpenBLAS runs beta = 0 as a
   * separate zeroing pass of its own that measured slower than memset (case G: 1.18-1.20x ->
   * 1.10-1.16x the bare GEMM channels_first). */
  /* Window slots from `stale` on are zero (none at first: the workspace is uninitialised). */
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
      for (int64_t k0 = 0; k0 < K; k0 += group) {
        const int64_t gk = conv1dt__min64(group, K - k0);
        /* win[(l - l0)*s + k*d - ..] += x[l] . W[k]: rows of ld s*F, gk*F wide */
        const X(conv1dt_weights) wt = X(conv1dt__weights)(layer, k0);
        conv1dt__gemm_R(cf, wt.trans, (int)m, (int)(gk * F), (int)C, cf ? xb + l0 : xb + l0 * C,
                        (int)(cf ? L : C), wt.w, wt.ld, 1, win + k0 * d * F, (int)(s * F));
      }
      /* Final: positions below (l0 + m) * s, or everything at the sample's end. */
      const int64_t ta = conv1dt__max64(0, u0 - crop),
                    tb = conv1dt__min64(g->out_len, u_end - crop);
      if (ta < tb) {
        finish_job job = {g,        layer->bias, win + (ta + crop - u0) * F, ta, tb - ta,
                          y_sample, pre_sample};
        conv1dt_team *t = NULL;
        if (!glu_steps && threads > 1 && (tb - ta) * F >= CONV1DT_ACCUMULATE_SHARE_MIN) {
          if (!team) team = conv1dt__team_create(threads);
          t = team;
        }
        conv1dt__team_run(t, finish_work, &job);
      }
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
    if (cf && (g->act == CONV1DT_ACT_SOFTMAX || g->act == CONV1DT_ACT_LOG_SOFTMAX ||
               g->act == CONV1DT_ACT_SPARSEMAX))
      X(conv1dt__finish_rows_first)(g, y_sample, 0, F);
  }
  conv1dt__team_destroy(team);
}
