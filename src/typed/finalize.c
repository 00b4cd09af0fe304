/* Finishing output positions: add the bias, apply the activation, write y.
 * Axis-wise activations act on the output's last axis: filters for channels_last (one row per
 * position, finished here), steps for channels_first (finished per sample, once all steps are
 * known; glu pairs the first half of the steps with the second as they arrive). */
#include "typed.h"

#include <string.h>

void X(conv1dt__finalize_last)(const conv1dt_geometry *g, const R *bias, R *acc, int64_t n,
                               R *y_rows) {
  const int64_t F = g->filters;
  if (bias)
    for (int64_t i = 0; i < n; i++) {
      R *restrict a = acc + i * F;
      for (int64_t f = 0; f < F; f++) a[f] += bias[f];
    }
  switch (g->act) {
  case CONV1DT_ACT_GLU: {
    const int64_t h = F / 2;
    for (int64_t i = 0; i < n; i++) {
      const R *a = acc + i * F;
      R *yo = y_rows + i * h;
      for (int64_t j = 0; j < h; j++) yo[j] = a[j] * X(conv1dt__sigmoid)(a[j + h]);
    }
    break;
  }
  case CONV1DT_ACT_SOFTMAX:
  case CONV1DT_ACT_LOG_SOFTMAX:
  case CONV1DT_ACT_SPARSEMAX:
    memcpy(y_rows, acc, (size_t)(n * F) * sizeof(R));
    for (int64_t i = 0; i < n; i++) X(conv1dt__activate_row)(g->act, y_rows + i * F, F);
    break;
  default:
    X(conv1dt__activate)(g->act, y_rows, acc, n * F);
  }
}

void X(conv1dt__finalize_first)(const conv1dt_geometry *g, const R *bias, R *acc, int64_t win,
                                int64_t t0, int64_t t1, R *y_sample) {
  const int64_t n = t1 - t0, T = g->out_len;
  for (int64_t f = 0; f < g->filters; f++) {
    R *restrict a = acc + f * win;
    if (bias) {
      const R bf = bias[f];
      for (int64_t i = 0; i < n; i++) a[i] += bf;
    }
    switch (g->act) {
    case CONV1DT_ACT_GLU: {
      /* y[f, t] = pre[f, t] * sigmoid(pre[f, t + T/2]): park the first half in y, then
       * multiply it in place when the matching second-half step arrives. */
      const int64_t h = T / 2;
      R *yf = y_sample + f * h;
      for (int64_t i = 0; i < n; i++) {
        const int64_t t = t0 + i;
        if (t < h)
          yf[t] = a[i];
        else
          yf[t - h] *= X(conv1dt__sigmoid)(a[i]);
      }
      break;
    }
    case CONV1DT_ACT_SOFTMAX:
    case CONV1DT_ACT_LOG_SOFTMAX:
    case CONV1DT_ACT_SPARSEMAX:
      memcpy(y_sample + f * T + t0, a, (size_t)n * sizeof(R)); /* finished per sample */
      break;
    default:
      X(conv1dt__activate)(g->act, y_sample + f * T + t0, a, n);
    }
  }
}

void X(conv1dt__finish_sample_first)(const conv1dt_geometry *g, R *y_sample) {
  if (g->act != CONV1DT_ACT_SOFTMAX && g->act != CONV1DT_ACT_LOG_SOFTMAX &&
      g->act != CONV1DT_ACT_SPARSEMAX)
    return;
  for (int64_t f = 0; f < g->filters; f++)
    X(conv1dt__activate_row)(g->act, y_sample + f * g->out_len, g->out_len);
}
