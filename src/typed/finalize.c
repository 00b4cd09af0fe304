/* Finishing output positions: add the bias, apply the activation, write y (and the
 * pre-activation values when training), and clear those window positions for reuse.
 * Axis-wise activations act on the output's last axis: filters for channels_last (one row per
 * position, finished here), steps for channels_first (finished per sample once all steps are
 * known; glu pairs the first half of the steps with the second as they arrive). */
#include "typed.h"

#include <string.h>

static int is_row_act(conv1dt_act act) {
  return act == CONV1DT_ACT_SOFTMAX || act == CONV1DT_ACT_LOG_SOFTMAX ||
         act == CONV1DT_ACT_SPARSEMAX;
}

/* glu along the steps of one filter row: y[t] = pre[t] * sigmoid(pre[t + h]). The first half
 * is parked in y, then multiplied in place when the matching second-half step arrives (steps
 * arrive in order). v holds pre-activation steps t..t+n. */
static void glu_steps(R *yf, int64_t h, int64_t t, const R *v, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    if (t + i < h)
      yf[t + i] = v[i];
    else
      yf[t + i - h] *= X(conv1dt__sigmoid)(v[i]);
  }
}

static void add_bias_rows(R *acc, int64_t n, int64_t F, const R *bias) {
  for (int64_t i = 0; i < n; i++) {
    R *restrict a = acc + i * F;
    for (int64_t f = 0; f < F; f++) a[f] += bias[f];
  }
}

void X(conv1dt__finalize_last)(const conv1dt_geometry *g, const R *bias, R *acc, int64_t n,
                               R *y_rows, R *pre_rows, int clear) {
  const int64_t F = g->filters;
  /* The bias goes into the window first when the biased values are needed themselves, or when
   * rows are short (then one long activation run beats a call per row). */
  if (bias && (pre_rows || CONV1DT_ACT_IS_AXISWISE(g->act) || F < 64)) {
    add_bias_rows(acc, n, F, bias);
    bias = NULL;
  }
  if (pre_rows) memcpy(pre_rows, acc, (size_t)(n * F) * sizeof(R));
  if (g->act == CONV1DT_ACT_GLU) {
    const int64_t h = F / 2;
    for (int64_t i = 0; i < n; i++) {
      const R *a = acc + i * F;
      R *yo = y_rows + i * h;
      for (int64_t j = 0; j < h; j++) yo[j] = a[j] * X(conv1dt__sigmoid)(a[j + h]);
    }
  } else if (is_row_act(g->act)) {
    memcpy(y_rows, acc, (size_t)(n * F) * sizeof(R));
    for (int64_t i = 0; i < n; i++) X(conv1dt__activate_row)(g->act, y_rows + i * F, F);
  } else if (bias) {
    for (int64_t i = 0; i < n; i++)
      X(conv1dt__activate)(g->act, y_rows + i * F, acc + i * F, F, bias, 1);
  } else {
    X(conv1dt__activate)(g->act, y_rows, acc, n * F, NULL, 0);
  }
  if (clear) memset(acc, 0, (size_t)(n * F) * sizeof(R));
}

/* Positions run across the window's rows but along y's rows: transpose.c turns them. Linear
 * and relu without pre go straight into y; the other activations go through a small transposed
 * tile (FT filters x PT positions, L1-sized) so that they run over one contiguous array and
 * every write to y (and pre) is a run of PT steps. Filters are the outer loop: y is written as
 * FT streams at a time, each along its row. */
#define PT 32
#define FT 16

void X(conv1dt__finalize_first)(const conv1dt_geometry *g, const R *bias, R *acc, int64_t t0,
                                int64_t n, R *y_sample, R *pre_sample, int clear) {
  const int64_t F = g->filters, T = g->out_len;
  if (!pre_sample && (g->act == CONV1DT_ACT_LINEAR || g->act == CONV1DT_ACT_RELU)) {
    X(conv1dt__transpose_act)(acc, F, n, F, bias, g->act == CONV1DT_ACT_RELU, y_sample + t0, T);
    if (clear) memset(acc, 0, (size_t)(n * F) * sizeof(R));
    return;
  }
  if (pre_sample && (g->act == CONV1DT_ACT_LINEAR || g->act == CONV1DT_ACT_RELU)) {
    /* pre straight from the window, then y from pre's rows while they are in cache, a block
     * of positions at a time (the tiles below went through two more copies) */
    const int64_t pb = conv1dt__max64(PT, (int64_t)(32 << 10) / (F * (int64_t)sizeof(R)));
    for (int64_t i0 = 0; i0 < n; i0 += pb) {
      const int64_t nb = conv1dt__min64(pb, n - i0), t = t0 + i0;
      X(conv1dt__transpose_act)(acc + i0 * F, F, nb, F, bias, 0, pre_sample + t, T);
      for (int64_t f = 0; f < F; f++)
        X(conv1dt__activate)(g->act, y_sample + f * T + t, pre_sample + f * T + t, nb, NULL, 0);
    }
    if (clear) memset(acc, 0, (size_t)(n * F) * sizeof(R));
    return;
  }
  R pre_tile[FT * PT], out_tile[FT * PT];
  for (int64_t f0 = 0; f0 < F; f0 += FT)
    for (int64_t i0 = 0; i0 < n; i0 += PT) {
      const int64_t nb = n - i0 < PT ? n - i0 : PT, t = t0 + i0;
      const int64_t fn = F - f0 < FT ? F - f0 : FT;
      /* pre_tile[f][i] = window position i0 + i, filter f0 + f, plus bias */
      X(conv1dt__transpose_act)
      (acc + i0 * F + f0, F, nb, fn, bias ? bias + f0 : NULL, 0, pre_tile, PT);
      if (pre_sample)
        for (int64_t f = 0; f < fn; f++)
          memcpy(pre_sample + (f0 + f) * T + t, pre_tile + f * PT, (size_t)nb * sizeof(R));
      if (g->act == CONV1DT_ACT_GLU) {
        for (int64_t f = 0; f < fn; f++)
          glu_steps(y_sample + (f0 + f) * (T / 2), T / 2, t, pre_tile + f * PT, nb);
        continue;
      }
      const R *src = pre_tile; /* row activations are finished per sample */
      if (!is_row_act(g->act)) {
        X(conv1dt__activate)(g->act, out_tile, pre_tile, fn * PT, NULL, 0);
        src = out_tile;
      }
      if (nb == PT) /* whole rows: fixed-size copies the compiler inlines */
        for (int64_t f = 0; f < fn; f++)
          memcpy(y_sample + (f0 + f) * T + t, src + f * PT, PT * sizeof(R));
      else
        for (int64_t f = 0; f < fn; f++)
          memcpy(y_sample + (f0 + f) * T + t, src + f * PT, (size_t)nb * sizeof(R));
    }
  if (clear) memset(acc, 0, (size_t)(n * F) * sizeof(R));
}

void X(conv1dt__finalize_fm)(const conv1dt_geometry *g, const R *bias, R *acc, int64_t win,
                             int64_t t0, int64_t n, R *y_sample, R *pre_sample, int clear) {
  const int64_t T = g->out_len;
  for (int64_t f = 0; f < g->filters; f++) {
    R *restrict a = acc + f * win;
    const R *bf = bias ? bias + f : NULL;
    if (pre_sample || CONV1DT_ACT_IS_AXISWISE(g->act)) {
      if (bf)
        for (int64_t i = 0; i < n; i++) a[i] += *bf;
      bf = NULL;
      if (pre_sample) memcpy(pre_sample + f * T + t0, a, (size_t)n * sizeof(R));
    }
    if (g->act == CONV1DT_ACT_GLU)
      glu_steps(y_sample + f * (T / 2), T / 2, t0, a, n);
    else if (is_row_act(g->act))
      memcpy(y_sample + f * T + t0, a, (size_t)n * sizeof(R)); /* finished per sample */
    else
      X(conv1dt__activate)(g->act, y_sample + f * T + t0, a, n, bf, 0);
    if (clear) memset(a, 0, (size_t)n * sizeof(R));
  }
}

void X(conv1dt__finish_rows_first)(const conv1dt_geometry *g, R *y_sample, int64_t f0, int64_t f1) {
  if (!is_row_act(g->act)) return;
  for (int64_t f = f0; f < f1; f++)
    X(conv1dt__activate_row)(g->act, y_sample + f * g->out_len, g->out_len);
}
