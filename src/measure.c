/* The opt-in measured plan (FFTW_MEASURE's idea): time the forward methods for one layer and
 * input shape on this machine and BLAS, and say which was fastest; and "wisdom", a line of text
 * that records the answer with everything it depends on, so a program can store it and look it
 * up next time instead of measuring again. AUTO never measures: its choice stays the same on
 * every run. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const conv1dt_algorithm CANDIDATES[] = {
    CONV1DT_ALGORITHM_GEMM, CONV1DT_ALGORITHM_GEMM_ACCUMULATE, CONV1DT_ALGORITHM_DIRECT};
enum { NCAND = sizeof CANDIDATES / sizeof CANDIDATES[0] };
/* Rounds of alternating runs (each method once a round, so a disturbance on a shared machine
 * hits all of them alike), and the least time a measurement spends before it stops adding
 * rounds. */
enum { MIN_ROUNDS = 3, MAX_ROUNDS = 15 };
#define MEASURE_SECONDS 0.3

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The key every wisdom line starts with: the BLAS and kernel ISA in use, the threads, the
 * layer's configuration and the input shape. */
static conv1dt_status wisdom_key(const conv1dt_layer *layer, int64_t batch, int64_t steps,
                                 char *key, size_t size) {
  char blas[512];
  int threads = 0;
  CONV1DT_CHECK(conv1dt_blas_info(blas, sizeof blas, &threads));
  for (char *p = blas; *p; p++)
    if (*p == '|' || *p == '\n') *p = ' ';
  const conv1dt_config *c = &layer->cfg;
  snprintf(key, size,
           "conv1dt-wisdom 1 | %s | %s | threads %d | %s %s C=%lld F=%lld K=%lld s=%lld d=%lld "
           "padding=%s op=%lld act=%s bias=%d B=%lld L=%lld |",
           blas, conv1dt_kernel_isa(), conv1dt__default_threads(),
           layer->dtype == CONV1DT_FLOAT32 ? "float32" : "float64",
           c->data_format == CONV1DT_CHANNELS_FIRST ? "channels_first" : "channels_last",
           (long long)layer->in_channels, (long long)c->filters, (long long)c->kernel_size,
           (long long)c->strides, (long long)c->dilation_rate,
           c->padding == CONV1DT_PADDING_SAME ? "same" : "valid", (long long)c->output_padding,
           c->activation ? c->activation : "linear", (int)c->use_bias, (long long)batch,
           (long long)steps);
  return CONV1DT_OK;
}

/* One candidate: a copy of the layer that asks for `method`, its workspace, and its times. */
typedef struct {
  conv1dt_layer *layer;
  void *ws;
  size_t ws_bytes;
  conv1dt_algorithm ran;
  double t[MAX_ROUNDS];
} candidate;

static conv1dt_status make_candidate(const conv1dt_layer *layer, conv1dt_algorithm method,
                                     int64_t batch, int64_t steps, candidate *c) {
  conv1dt_config cfg = layer->cfg;
  cfg.algorithm = method;
  /* The copy's own weights are replaced by the layer's: its initializers only need to run. */
  CONV1DT_CHECK(conv1dt_create(&cfg, layer->in_channels, layer->dtype, &c->layer));
  CONV1DT_CHECK(conv1dt_set_weights(c->layer, layer->kernel, layer->bias));
  CONV1DT_CHECK(conv1dt_forward_algorithm(c->layer, batch, steps, 0, &c->ran));
  CONV1DT_CHECK(conv1dt_workspace_size(c->layer, batch, steps, &c->ws_bytes));
  return conv1dt_workspace_alloc(c->ws_bytes ? c->ws_bytes : 1, &c->ws);
}

conv1dt_status conv1dt_measure_algorithm(const conv1dt_layer *layer, int64_t batch, int64_t steps,
                                         conv1dt_algorithm *best, char *wisdom, size_t size) {
  CONV1DT_REQUIRE_PTR(layer, "conv1dt_measure_algorithm");
  CONV1DT_REQUIRE_PTR(best, "conv1dt_measure_algorithm");
  if (batch < 1 || steps < 1)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "conv1dt_measure_algorithm: batch and steps must be >= 1, got batch=%lld "
                         "steps=%lld",
                         (long long)batch, (long long)steps);
  char key[1024];
  CONV1DT_CHECK(wisdom_key(layer, batch, steps, key, sizeof key));
  int64_t shape[3];
  CONV1DT_CHECK(conv1dt_output_shape(layer, batch, steps, shape));
  int64_t nx, ny;
  if (!conv1dt__mul64(batch, steps, &nx) || !conv1dt__mul64(nx, layer->in_channels, &nx) ||
      !conv1dt__mul64(shape[0], shape[1], &ny) || !conv1dt__mul64(ny, shape[2], &ny))
    return conv1dt__fail(CONV1DT_ERROR_SIZE_OVERFLOW, "conv1dt_measure_algorithm: input too large");
  /* Inputs of small values (timing does not depend on them; no denormals, no overflow). */
  void *x = calloc((size_t)nx, layer->elem_size),
       *y = malloc((size_t)(ny ? ny : 1) * layer->elem_size);
  candidate c[NCAND];
  memset(c, 0, sizeof c);
  conv1dt_status st = CONV1DT_OK;
  if (!x || !y)
    st = conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY, "conv1dt_measure_algorithm: out of memory");
  for (int64_t i = 0; x && i < nx; i++) {
    const double v = (double)((int)((uint64_t)i * 2654435761u % 255) - 127) / 128.0;
    if (layer->dtype == CONV1DT_FLOAT32)
      ((float *)x)[i] = (float)v;
    else
      ((double *)x)[i] = v;
  }
  for (int m = 0; st == CONV1DT_OK && m < NCAND; m++)
    st = make_candidate(layer, CANDIDATES[m], batch, steps, &c[m]);
  /* A warm-up call each (the team's threads, first touch of the workspace), then rounds. */
  for (int m = 0; st == CONV1DT_OK && m < NCAND; m++)
    st = conv1dt_forward(c[m].layer, x, batch, steps, y, c[m].ws, c[m].ws_bytes);
  int rounds = 0;
  const double start = now();
  while (st == CONV1DT_OK && rounds < MAX_ROUNDS &&
         (rounds < MIN_ROUNDS || now() - start < MEASURE_SECONDS)) {
    for (int m = 0; st == CONV1DT_OK && m < NCAND; m++) {
      const double t0 = now();
      st = conv1dt_forward(c[m].layer, x, batch, steps, y, c[m].ws, c[m].ws_bytes);
      c[m].t[rounds] = now() - t0;
    }
    rounds++;
  }
  int win = -1;
  double win_t = 0;
  for (int m = 0; st == CONV1DT_OK && m < NCAND; m++) {
    qsort(c[m].t, (size_t)rounds, sizeof c[m].t[0], cmp_double);
    const double med = c[m].t[rounds / 2];
    /* A method that fell back to another (DIRECT without room) is not a candidate of its own. */
    if (c[m].ran != CANDIDATES[m]) continue;
    if (win < 0 || med < win_t) win = m, win_t = med;
  }
  for (int m = 0; m < NCAND; m++) {
    conv1dt_destroy(c[m].layer);
    conv1dt_workspace_free(c[m].ws);
  }
  free(x);
  free(y);
  if (st != CONV1DT_OK) return st;
  if (win < 0) win = 0;
  if (wisdom) {
    const int n =
        snprintf(wisdom, size, "%s method=%s\n", key, conv1dt_algorithm_name(CANDIDATES[win]));
    if (n < 0 || (size_t)n >= size)
      return conv1dt__fail(CONV1DT_ERROR_BUFFER_TOO_SMALL,
                           "conv1dt_measure_algorithm: wisdom buffer of %zu bytes is too small, "
                           "need %d",
                           size, n + 1);
  }
  *best = CANDIDATES[win];
  return CONV1DT_OK;
}

conv1dt_status conv1dt_wisdom_lookup(const char *wisdom, const conv1dt_layer *layer, int64_t batch,
                                     int64_t steps, conv1dt_algorithm *best) {
  CONV1DT_REQUIRE_PTR(wisdom, "conv1dt_wisdom_lookup");
  CONV1DT_REQUIRE_PTR(layer, "conv1dt_wisdom_lookup");
  CONV1DT_REQUIRE_PTR(best, "conv1dt_wisdom_lookup");
  char key[1024];
  CONV1DT_CHECK(wisdom_key(layer, batch, steps, key, sizeof key));
  const size_t klen = strlen(key);
  /* The last matching line wins: wisdom appended later is newer. */
  const char *found = NULL;
  for (const char *line = wisdom; *line;) {
    if (!strncmp(line, key, klen) && !strncmp(line + klen, " method=", 8)) found = line + klen + 8;
    const char *nl = strchr(line, '\n');
    if (!nl) break;
    line = nl + 1;
  }
  if (!found)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "conv1dt_wisdom_lookup: no line for this layer, input shape, BLAS, "
                         "kernel ISA and thread count (measure it: conv1dt_measure_algorithm)");
  char name[32];
  size_t n = strcspn(found, "\n");
  if (n >= sizeof name) n = sizeof name - 1;
  memcpy(name, found, n);
  name[n] = 0;
  conv1dt_algorithm a;
  if (conv1dt_algorithm_from_string(name, &a) != CONV1DT_OK || a == CONV1DT_ALGORITHM_AUTO)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "conv1dt_wisdom_lookup: the matching line names method '%s'", name);
  *best = a;
  return CONV1DT_OK;
}
