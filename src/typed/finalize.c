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

void X(conv1dt__finalize_last)(const conv1dt_geometry *g, const R *bias, R *acc, int64_t n,
                               R *y_rows, R *pre_rows) {
  const int64_t F = g->filters;
  if ((pre_rows || CONV1DT_ACT_IS_AXISWISE(g->act)) && bias) {
    /* These need the biased values themselves: add in place first. */
    for (int64_t i = 0; i < n; i++) {
      R *restrict a = acc + i * F;
      for (int64_t f = 0; f < F; f++) a[f] += bias[f];
    }
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
  memset(acc, 0, (size_t)(n * F) * sizeof(R));
}

/* Positions run across the window's rows but along y's rows: go through a small transposed tile
 * so that every write to y (and pre) is a contiguous run. */
#define CONV1DT_TRANSPOSE_TILE 64

void X(conv1dt__finalize_first)(const conv1dt_geometry *g, const R *bias, R *acc, int64_t t0,
                                int64_t n, R *y_sample, R *pre_sample) {
  const int64_t F = g->filters, T = g->out_len;
  if (bias)
    for (int64_t i = 0; i < n; i++) {
      R *restrict a = acc + i * F;
      for (int64_t f = 0; f < F; f++) a[f] += bias[f];
    }
  R tile[CONV1DT_TRANSPOSE_TILE];
  for (int64_t i0 = 0; i0 < n; i0 += CONV1DT_TRANSPOSE_TILE) {
    const int64_t nb = n - i0 < CONV1DT_TRANSPOSE_TILE ? n - i0 : CONV1DT_TRANSPOSE_TILE;
    const int64_t t = t0 + i0;
    for (int64_t f = 0; f < F; f++) {
      const R *a = acc + i0 * F + f;
      for (int64_t i = 0; i < nb; i++) tile[i] = a[i * F];
      if (pre_sample) memcpy(pre_sample + f * T + t, tile, (size_t)nb * sizeof(R));
      if (g->act == CONV1DT_ACT_GLU) {
        /* y[f, t] = pre[f, t] * sigmoid(pre[f, t + T/2]): park the first half in y, then
         * multiply it in place when the matching second-half step arrives (in order). */
        const int64_t h = T / 2;
        R *yf = y_sample + f * h;
        for (int64_t i = 0; i < nb; i++) {
          if (t + i < h)
            yf[t + i] = tile[i];
          else
            yf[t + i - h] *= X(conv1dt__sigmoid)(tile[i]);
        }
      } else if (is_row_act(g->act)) {
        memcpy(y_sample + f * T + t, tile, (size_t)nb * sizeof(R)); /* finished per sample */
      } else {
        X(conv1dt__activate)(g->act, y_sample + f * T + t, tile, nb, NULL, 0);
      }
    }
  }
  memset(acc, 0, (size_t)(n * F) * sizeof(R));
}

void X(conv1dt__finish_rows_first)(const conv1dt_geometry *g, R *y_sample, int64_t f0, int64_t f1) {
  if (!is_row_act(g->act)) return;
  for (int64_t f = f0; f < f1; f++)
    X(conv1dt__activate_row)(g->act, y_sample + f * g->out_len, g->out_len);
}
