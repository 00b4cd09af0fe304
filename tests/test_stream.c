/*
 * test_stream: the streaming API (conv1dt_stream_*) against one-shot conv1dt_forward over the
 * concatenated input: random chunkings (0-step, 1-step, short and long chunks, pushes longer
 * than a stream's internal block) of every stride, output_padding, padding, data format,
 * dilation, dtype, method and activation; the same numbers with integer data, within the
 * reference's tolerance with real data. The step counts against the documented formulas and the
 * latency query; refusals (activations along the steps axis) and argument errors, which must leave
 * the stream and the output untouched; flush, reset, batch 0, concurrent streams on one layer; and
 * examples/stream_wav run on generated WAV files.
 */
#define _POSIX_C_SOURCE 200809L /* fork, mkstemp */
#include <check.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_run.h"
#include "conv1dt.h"
#include "reference.h"
#include "test_numerics_support.h"

#define MSG_SIZE 4096

/* ------------------------------------------------------------------ a case and its one-shot */

typedef struct {
  conv1dt_config cfg;
  conv1dt_dtype dt;
  int64_t C, B, L;
  int64_t T, Fo; /* output steps and values per step (filters; glu: half) */
  size_t es;
  conv1dt_layer *layer;
  double *xd, *kd, *bd;
  void *x;     /* (B, L, C) or (B, C, L) */
  void *y_ref; /* one-shot conv1dt_forward */
} stream_case;

static void case_free(stream_case *c) {
  conv1dt_destroy(c->layer);
  free(c->xd);
  free(c->kd);
  free(c->bd);
  free(c->x);
  free(c->y_ref);
  memset(c, 0, sizeof *c);
}

/* Creates the layer (weights and data integers in [-2, 2] / [-3, 3], or real in [-1, 1)) and the
 * one-shot output. */
static void case_setup(stream_case *c, ref_rng *rng, bool ints) {
  const int64_t K = c->cfg.kernel_size, F = c->cfg.filters, C = c->C;
  c->es = c->dt == CONV1DT_FLOAT32 ? 4 : 8;
  ck_assert_int_eq(conv1dt_create(&c->cfg, C, c->dt, &c->layer), CONV1DT_OK);
  void *k =
      ref_random_array(rng, c->dt, (size_t)(K * F * C), ints ? -2 : -1, ints ? 2 : 1, ints, &c->kd);
  void *b = ref_random_array(rng, c->dt, (size_t)F, ints ? -2 : -1, ints ? 2 : 1, ints, &c->bd);
  ck_assert_int_eq(conv1dt_set_weights(c->layer, k, c->cfg.use_bias ? b : NULL), CONV1DT_OK);
  free(k);
  free(b);
  c->x = ref_random_array(rng, c->dt, (size_t)(c->B * c->L * C), ints ? -3 : -1, ints ? 3 : 1, ints,
                          &c->xd);
  int64_t shape[3];
  ck_assert_int_eq(conv1dt_output_shape(c->layer, c->B, c->L, shape), CONV1DT_OK);
  const int cf = c->cfg.data_format == CONV1DT_CHANNELS_FIRST;
  c->T = cf ? shape[2] : shape[1];
  c->Fo = cf ? shape[1] : shape[2];
  c->y_ref = malloc((size_t)(c->B * c->T * c->Fo) * c->es + 1);
  ck_assert_int_eq(conv1dt_forward(c->layer, c->x, c->B, c->L, c->y_ref, NULL, 0), CONV1DT_OK);
}

/* Steps [j0, j0 + n) of x as a dense chunk (B, n, C) / (B, C, n). */
static void *chunk_of(const stream_case *c, const void *x, int64_t j0, int64_t n) {
  char *out = malloc((size_t)(c->B * n * c->C) * c->es + 1);
  const int cf = c->cfg.data_format == CONV1DT_CHANNELS_FIRST;
  const int64_t rows = cf ? c->B * c->C : c->B, w = cf ? 1 : c->C;
  for (int64_t r = 0; r < rows; r++)
    memcpy(out + (size_t)(r * n * w) * c->es,
           (const char *)x + (size_t)((r * c->L + j0) * w) * c->es, (size_t)(n * w) * c->es);
  return out;
}

/* m output steps `part` ((B, m, Fo) / (B, Fo, m)) into y ((B, T, Fo) / (B, Fo, T)) at step at. */
static void place(const stream_case *c, void *y, const void *part, int64_t at, int64_t m) {
  const int cf = c->cfg.data_format == CONV1DT_CHANNELS_FIRST;
  const int64_t rows = cf ? c->B * c->Fo : c->B, w = cf ? 1 : c->Fo;
  for (int64_t r = 0; r < rows; r++)
    memcpy((char *)y + (size_t)((r * c->T + at) * w) * c->es,
           (const char *)part + (size_t)(r * m * w) * c->es, (size_t)(m * w) * c->es);
}

/* A random split of L steps: 0-step pushes, 1-step ones, short and long ones. */
static int64_t random_chunks(ref_rng *rng, int64_t L, int64_t *chunks, int64_t max_chunks) {
  int64_t n = 0;
  for (int64_t left = L; (left > 0 || ref_rng_int(rng, 0, 3) == 0) && n < max_chunks - 1;) {
    const int64_t kind = ref_rng_int(rng, 0, 9);
    int64_t take = kind == 0 ? 0 : kind <= 2 ? 1 : kind <= 5 ? ref_rng_int(rng, 2, 8) : left;
    if (kind > 5 && left > 1) take = ref_rng_int(rng, 1, left);
    if (take > left) take = left;
    chunks[n++] = take;
    left -= take;
  }
  int64_t sum = 0;
  for (int64_t i = 0; i < n; i++) sum += chunks[i];
  if (sum < L) chunks[n++] = L - sum;
  return n;
}

static void describe(const stream_case *c, char *buf, size_t size) {
  ref_describe(&c->cfg, c->C, c->dt, c->B, c->L, buf, size);
  tn_appendf(buf, size, " algorithm=%d workspace_limit=%zu", (int)c->cfg.algorithm,
             c->cfg.workspace_limit);
}

/* Streams c->x in the given chunks and assembles the output into y (the one-shot's shape),
 * checking every count against conv1dt_stream_output_steps, the bounds and the latency.
 * Returns the number of problems, described in msg. */
static size_t stream_through(const stream_case *c, const void *x, const int64_t *chunks,
                             int64_t nchunks, void *y, char *msg, size_t size) {
  size_t problems = 0;
  conv1dt_stream *st = NULL;
  conv1dt_status status = conv1dt_stream_open(c->layer, c->B, &st);
  if (status != CONV1DT_OK) {
    tn_appendf(msg, size, "open: %s %s\n", conv1dt_status_name(status), conv1dt_last_error());
    return 1;
  }
  int64_t got = 0, pushed = 0, flush_bound = 0;
  ck_assert_int_eq(conv1dt_stream_max_output_steps(c->layer, 0, NULL, &flush_bound), CONV1DT_OK);
  for (int64_t i = 0; i <= nchunks && !problems; i++) {
    const int flush = i == nchunks;
    const int64_t n = flush ? 0 : chunks[i];
    int64_t predicted, predicted_flush, bound;
    ck_assert_int_eq(conv1dt_stream_output_steps(st, n, &predicted, &predicted_flush), CONV1DT_OK);
    ck_assert_int_eq(conv1dt_stream_max_output_steps(c->layer, n, &bound, NULL), CONV1DT_OK);
    if (flush) predicted = predicted_flush, bound = flush_bound;
    if (predicted > bound) {
      tn_appendf(msg, size, "chunk %" PRId64 ": %" PRId64 " steps predicted, bound %" PRId64 "\n",
                 i, predicted, bound);
      problems++;
    }
    /* capacity: the exact count or the bound, alternately; y NULL when nothing comes back */
    const int64_t cap = i % 2 ? predicted : bound;
    void *part = cap * c->B > 0 ? malloc((size_t)(c->B * cap * c->Fo) * c->es) : NULL;
    void *xc = n > 0 ? chunk_of(c, x, pushed, n) : NULL;
    int64_t m = -1;
    status = flush ? conv1dt_stream_flush(st, part, cap, &m)
                   : conv1dt_stream_push(st, xc, n, part, cap, &m);
    if (status != CONV1DT_OK || m != predicted || got + m > c->T) {
      tn_appendf(msg, size,
                 "%s %" PRId64 " (%" PRId64 " steps): %s %s, %" PRId64 " steps returned, %" PRId64
                 " predicted, %" PRId64 " of %" PRId64 " before\n",
                 flush ? "flush" : "push", i, n, conv1dt_status_name(status), conv1dt_last_error(),
                 m, predicted, got, c->T);
      problems++;
    } else {
      if (m > 0) place(c, y, part, got, m);
      got += m;
      pushed += n;
      /* the latency query: the last step returned was due, the next one is not yet */
      int64_t need = 0;
      if (!flush && got > 0 &&
          (conv1dt_stream_latency(c->layer, got - 1, &need) != CONV1DT_OK || need > pushed)) {
        tn_appendf(msg, size, "latency(%" PRId64 ") = %" PRId64 " after %" PRId64 " steps\n",
                   got - 1, need, pushed);
        problems++;
      }
      if (!flush && pushed > 0 &&
          (conv1dt_stream_latency(c->layer, got, &need) != CONV1DT_OK || need <= pushed)) {
        int64_t shape[3]; /* fine when step `got` does not exist for `pushed` steps */
        conv1dt_output_shape(c->layer, 1, pushed, shape);
        const int64_t t = c->cfg.data_format == CONV1DT_CHANNELS_FIRST ? shape[2] : shape[1];
        if (got < t) {
          tn_appendf(msg, size,
                     "latency(%" PRId64 ") = %" PRId64 " but not returned after %" PRId64
                     " steps\n",
                     got, need, pushed);
          problems++;
        }
      }
    }
    free(part);
    free(xc);
  }
  if (!problems && got != c->T) {
    tn_appendf(msg, size, "%" PRId64 " steps in all, one-shot has %" PRId64 "\n", got, c->T);
    problems++;
  }
  conv1dt_stream_close(st);
  return problems;
}

/* Bitwise equal, or (tol) within the reference's tolerance. */
static size_t judge(const stream_case *c, const void *y, bool exact, char *msg, size_t size) {
  const size_t n = (size_t)(c->B * c->T * c->Fo);
  if (exact) { /* the same numbers: -0 == +0 (the direct method's tile paths differ in the sign
                 of a zero, e.g. hard_silu(-8)), NaN == NaN */
    for (size_t i = 0; i < n; i++) {
      const double a = c->dt == CONV1DT_FLOAT32 ? ((const float *)y)[i] : ((const double *)y)[i];
      const double b =
          c->dt == CONV1DT_FLOAT32 ? ((const float *)c->y_ref)[i] : ((const double *)c->y_ref)[i];
      if (!(a == b || (isnan(a) && isnan(b)))) {
        tn_appendf(msg, size, "element %zu of %zu: stream %.17g, one-shot %.17g\n", i, n, a, b);
        return 1;
      }
    }
    return 0;
  }
  ref_output ref;
  ck_assert_int_eq(ref_forward(&c->cfg, c->C, c->dt, c->xd, c->B, c->L, c->kd,
                               c->cfg.use_bias ? c->bd : NULL, &ref),
                   REF_OK);
  ck_assert_uint_eq(ref.count, n);
  const size_t bad = ref_compare(c->dt, y, ref.y, ref.tol, n, msg, size);
  ref_output_free(&ref);
  return bad;
}

/* Streams case c in `runs` random chunkings; counts failures in *failed (first one in first). */
static void check_chunkings(stream_case *c, ref_rng *rng, int runs, bool exact, size_t *failed,
                            char *first) {
  int64_t chunks[600];
  const size_t n = (size_t)(c->B * c->T * c->Fo);
  void *y = malloc(n * c->es + 1);
  for (int r = 0; r < runs; r++) {
    const int64_t k = random_chunks(rng, c->L, chunks, 600);
    char msg[MSG_SIZE] = "";
    memset(y, 0xA5, n * c->es);
    size_t bad = stream_through(c, c->x, chunks, k, y, msg, sizeof msg);
    if (!bad) bad = judge(c, y, exact, msg, sizeof msg);
    if (bad) {
      char d[512];
      describe(c, d, sizeof d);
      if (*failed < 10) fprintf(stderr, "FAIL %s (%" PRId64 " chunks): %s", d, k, msg);
      if (!*failed) tn_appendf(first, MSG_SIZE, "%s (%" PRId64 " chunks): %s", d, k, msg);
      ++*failed;
    }
  }
  free(y);
}

/* A random case of strides s, output_padding op, padding, format, dtype. */
static void random_config(ref_rng *rng, stream_case *c, int64_t s, int64_t op, int pad, int df,
                          int dt, size_t counter) {
  const int64_t K = ref_rng_int(rng, 1, 7), d = s == 1 ? ref_rng_int(rng, 1, 3) : 1;
  int64_t F = ref_rng_int(rng, 1, 6);
  /* every activation in turn; the steps-axis ones only over channels_last filters */
  const char *act = tn_activation_names[counter % tn_activation_count];
  if (df == CONV1DT_CHANNELS_FIRST && act && ref_activation_is_axiswise(act)) act = "tanh";
  if (act && strcmp(act, "glu") == 0 && F % 2) F++;
  memset(c, 0, sizeof *c);
  c->cfg = conv1dt_config_default(F, K);
  c->cfg.strides = s;
  c->cfg.output_padding = op;
  c->cfg.dilation_rate = d;
  c->cfg.padding = (conv1dt_padding)pad;
  c->cfg.data_format = (conv1dt_data_format)df;
  c->cfg.activation = act;
  c->cfg.use_bias = ref_rng_int(rng, 0, 3) != 0;
  c->cfg.algorithm = (conv1dt_algorithm)((counter + counter / tn_activation_count) % 4);
  /* a small workspace limit makes streams split long pushes into several blocks */
  c->cfg.workspace_limit = ref_rng_int(rng, 0, 1) ? 0 : (size_t)ref_rng_int(rng, 4096, 16384);
  c->dt = (conv1dt_dtype)dt;
  c->C = ref_rng_int(rng, 1, 5);
  c->B = ref_rng_int(rng, 1, 3);
  c->L = ref_rng_int(rng, 1, 200);
}

/* strides s = _i + 1: every output_padding x padding x format x dtype, random other arguments. */
static void sweep(int64_t s, bool exact, int reps, uint64_t seed) {
  ref_rng rng;
  ref_rng_seed(&rng, seed + (uint64_t)s);
  size_t configs = 0, failed = 0, counter = (size_t)s * 7;
  char first[MSG_SIZE] = "";
  for (int rep = 0; rep < reps; ++rep)
    for (int64_t op = -1; op < s; ++op)
      for (int pad = 0; pad < 2; ++pad)
        for (int df = 0; df < 2; ++df)
          for (int dt = 0; dt < 2; ++dt) {
            stream_case c;
            random_config(&rng, &c, s, op, pad, df, dt, counter++);
            case_setup(&c, &rng, exact);
            check_chunkings(&c, &rng, 3, exact, &failed, first);
            configs++;
            case_free(&c);
          }
  printf("%s strides=%" PRId64 ": %zu configurations x 3 chunkings, %zu failed\n",
         exact ? "exact" : "tolerance", s, configs, failed);
  ck_assert_msg(failed == 0, "%zu of %zu chunkings failed; first:\n%s", failed, configs * 3, first);
}

/* Integer data: every sum exact, so the stream must give the one-shot's numbers (both dtypes). */
START_TEST(test_exact_sweep) {
  sweep(_i + 1, true, 5, UINT64_C(0x5713EA3));
}
END_TEST

/* Real data: within the reference's error bound (the summation order may differ). */
START_TEST(test_tolerance_sweep) {
  sweep(_i + 1, false, 3, UINT64_C(0x70E12A9CE));
}
END_TEST

/* Every activation name, both formats (the steps-axis ones channels_last only), f64 exact. */
START_TEST(test_every_activation) {
  ref_rng rng;
  ref_rng_seed(&rng, UINT64_C(0xAC7));
  size_t failed = 0;
  char first[MSG_SIZE] = "";
  for (size_t a = 0; a < tn_activation_count; a++)
    for (int df = 0; df < 2; df++) {
      const char *act = tn_activation_names[a];
      if (df == CONV1DT_CHANNELS_FIRST && act && ref_activation_is_axiswise(act)) continue;
      stream_case c;
      memset(&c, 0, sizeof c);
      c.cfg = conv1dt_config_default(4, 5);
      c.cfg.strides = 2;
      c.cfg.padding = a % 2 ? CONV1DT_PADDING_SAME : CONV1DT_PADDING_VALID;
      c.cfg.data_format = (conv1dt_data_format)df;
      c.cfg.activation = act;
      c.dt = CONV1DT_FLOAT64;
      c.C = 3;
      c.B = 2;
      c.L = 57;
      case_setup(&c, &rng, true);
      check_chunkings(&c, &rng, 2, true, &failed, first);
      case_free(&c);
    }
  ck_assert_msg(failed == 0, "%zu chunkings failed; first:\n%s", failed, first);
}
END_TEST

/* A long signal in long pushes through a layer with a small workspace limit: every push runs in
 * several blocks, and the stream's memory stays as conv1dt_stream_size said, far below the
 * signal's. */
START_TEST(test_long_signal_small_memory) {
  ref_rng rng;
  ref_rng_seed(&rng, UINT64_C(0x10C6));
  stream_case c;
  memset(&c, 0, sizeof c);
  c.cfg = conv1dt_config_default(3, 9);
  c.cfg.strides = 3;
  c.cfg.padding = CONV1DT_PADDING_SAME;
  c.cfg.activation = "gelu";
  c.cfg.workspace_limit = 16384;
  c.cfg.data_format = (conv1dt_data_format)_i;
  c.dt = CONV1DT_FLOAT64;
  c.C = 2;
  c.B = 2;
  c.L = 20000;
  case_setup(&c, &rng, true);
  size_t bytes = 0;
  ck_assert_int_eq(conv1dt_stream_size(c.layer, c.B, &bytes), CONV1DT_OK);
  printf("stream of %" PRId64 " x %" PRId64 " steps: %zu bytes\n", c.B, c.L, bytes);
  ck_assert_uint_le(bytes, 2 * c.cfg.workspace_limit);
  int64_t chunks[8] = {1, 7000, 0, 4999, 3, 7997, 0, 0};
  void *y = malloc((size_t)(c.B * c.T * c.Fo) * c.es);
  char msg[MSG_SIZE] = "";
  size_t bad = stream_through(&c, c.x, chunks, 8, y, msg, sizeof msg);
  if (!bad) bad = judge(&c, y, true, msg, sizeof msg);
  ck_assert_msg(bad == 0, "%s", msg);
  free(y);
  case_free(&c);
}
END_TEST

/* The counts one step at a time against the header's formulas: E(N) = max(0, N*s - D),
 * D = max(c, s - T(1)); the flush returns T(N) - E(N), at most max(0, c + T(1) - s). */
START_TEST(test_counts_formula) {
  for (int64_t s = 1; s <= 4; s++)
    for (int64_t op = -1; op < s; op++)
      for (int pad = 0; pad < 2; pad++)
        for (int64_t K = 1; K <= 6; K++)
          for (int64_t d = 1; d <= (s == 1 ? 3 : 1); d++) {
            conv1dt_config cfg = conv1dt_config_default(2, K);
            cfg.strides = s;
            cfg.output_padding = op;
            cfg.dilation_rate = d;
            cfg.padding = (conv1dt_padding)pad;
            conv1dt_layer *layer = NULL;
            ck_assert_int_eq(conv1dt_create(&cfg, 1, CONV1DT_FLOAT64, &layer), CONV1DT_OK);
            ref_geometry g1;
            ck_assert(ref_geometry_of(&cfg, 1, &g1));
            const int64_t c = g1.crop_left, t1 = g1.out_len;
            const int64_t D = c > s - t1 ? c : s - t1;
            conv1dt_stream *st = NULL;
            ck_assert_int_eq(conv1dt_stream_open(layer, 1, &st), CONV1DT_OK);
            int64_t flush_bound;
            ck_assert_int_eq(conv1dt_stream_max_output_steps(layer, 5, NULL, &flush_bound),
                             CONV1DT_OK);
            ck_assert_int_eq(flush_bound, c + t1 - s > 0 ? c + t1 - s : 0);
            double x = 1, y[64];
            int64_t got = 0, m, flush;
            for (int64_t N = 1; N <= 12; N++) {
              ck_assert_int_eq(conv1dt_stream_push(st, &x, 1, y, 32, &m), CONV1DT_OK);
              got += m;
              ck_assert_int_eq(got, N * s - D > 0 ? N * s - D : 0);
              ref_geometry gn;
              ck_assert(ref_geometry_of(&cfg, N, &gn));
              ck_assert_int_eq(conv1dt_stream_output_steps(st, 0, NULL, &flush), CONV1DT_OK);
              ck_assert_int_eq(flush, gn.out_len - got);
              ck_assert_int_le(flush, flush_bound);
            }
            /* latency(p) is the least N whose pushes returned step p */
            for (int64_t p = 0; p < 30; p++) {
              int64_t need;
              ck_assert_int_eq(conv1dt_stream_latency(layer, p, &need), CONV1DT_OK);
              ck_assert_int_eq(need, (p + D) / s + 1);
              ck_assert_int_gt(need * s - D, p);
              ck_assert(need == 1 || (need - 1) * s - D <= p);
            }
            conv1dt_stream_close(st);
            conv1dt_destroy(layer);
          }
}
END_TEST

/* Activations along the steps axis (channels_first) cannot stream: refused at open, naming the
 * activation; channels_last ones along the filters can. */
START_TEST(test_refuse_steps_axis) {
  static const char *const names[] = {"softmax", "log_softmax", "sparsemax", "glu"};
  for (int i = 0; i < 4; i++) {
    conv1dt_config cfg = conv1dt_config_default(4, 3);
    cfg.activation = names[i];
    cfg.data_format = CONV1DT_CHANNELS_FIRST;
    conv1dt_layer *layer = NULL;
    ck_assert_int_eq(conv1dt_create(&cfg, 2, CONV1DT_FLOAT32, &layer), CONV1DT_OK);
    conv1dt_stream *st = (conv1dt_stream *)&cfg; /* must stay as it is */
    size_t bytes = 7;
    ck_assert_int_eq(conv1dt_stream_open(layer, 1, &st), CONV1DT_ERROR_UNSUPPORTED);
    ck_assert_ptr_eq(st, (conv1dt_stream *)&cfg);
    ck_assert_ptr_nonnull(strstr(conv1dt_last_error(), names[i]));
    ck_assert_ptr_nonnull(strstr(conv1dt_last_error(), "steps"));
    ck_assert_int_eq(conv1dt_stream_size(layer, 1, &bytes), CONV1DT_ERROR_UNSUPPORTED);
    ck_assert_uint_eq(bytes, 7);
    conv1dt_destroy(layer);
    cfg.data_format = CONV1DT_CHANNELS_LAST;
    ck_assert_int_eq(conv1dt_create(&cfg, 2, CONV1DT_FLOAT32, &layer), CONV1DT_OK);
    st = NULL;
    ck_assert_int_eq(conv1dt_stream_open(layer, 1, &st), CONV1DT_OK);
    conv1dt_stream_close(st);
    conv1dt_destroy(layer);
  }
}
END_TEST

/* Argument errors name the argument and leave the stream and y unchanged: the signal streamed
 * on after every error still equals the one-shot output. */
START_TEST(test_argument_errors) {
  ref_rng rng;
  ref_rng_seed(&rng, UINT64_C(0xE4404));
  stream_case c;
  memset(&c, 0, sizeof c);
  c.cfg = conv1dt_config_default(3, 4);
  c.cfg.strides = 2;
  c.cfg.data_format = (conv1dt_data_format)_i;
  c.cfg.activation = "sigmoid";
  c.dt = CONV1DT_FLOAT64;
  c.C = 2;
  c.B = 2;
  c.L = 30;
  case_setup(&c, &rng, true);
  conv1dt_stream *st = NULL, *untouched = (conv1dt_stream *)&c;
  ck_assert_int_eq(conv1dt_stream_open(NULL, 1, &st), CONV1DT_ERROR_NULL_ARGUMENT);
  ck_assert_ptr_nonnull(strstr(conv1dt_last_error(), "layer"));
  ck_assert_int_eq(conv1dt_stream_open(c.layer, 1, NULL), CONV1DT_ERROR_NULL_ARGUMENT);
  ck_assert_int_eq(conv1dt_stream_open(c.layer, -1, &untouched), CONV1DT_ERROR_INVALID_VALUE);
  ck_assert_ptr_nonnull(strstr(conv1dt_last_error(), "batch=-1"));
  ck_assert_ptr_eq(untouched, (conv1dt_stream *)&c);
  ck_assert_int_eq(conv1dt_stream_close(NULL), CONV1DT_OK);
  int64_t v = 5;
  ck_assert_int_eq(conv1dt_stream_latency(c.layer, -2, &v), CONV1DT_ERROR_INVALID_VALUE);
  ck_assert_ptr_nonnull(strstr(conv1dt_last_error(), "output_step=-2"));
  ck_assert_int_eq(conv1dt_stream_latency(NULL, 0, &v), CONV1DT_ERROR_NULL_ARGUMENT);
  ck_assert_int_eq(conv1dt_stream_max_output_steps(c.layer, -1, &v, &v),
                   CONV1DT_ERROR_INVALID_VALUE);
  ck_assert_int_eq(conv1dt_stream_max_output_steps(c.layer, INT64_MAX, &v, NULL),
                   CONV1DT_ERROR_SIZE_OVERFLOW);
  ck_assert_int_eq(v, 5);

  ck_assert_int_eq(conv1dt_stream_open(c.layer, c.B, &st), CONV1DT_OK);
  const size_t n = (size_t)(c.B * c.T * c.Fo);
  double *y = malloc(n * sizeof *y), *part = malloc(n * sizeof *part);
  int64_t got = 0, m = -7, pushed = 0;
  /* pushes of 4 steps, each after a round of wrong calls */
  while (pushed < c.L) {
    const int64_t k = c.L - pushed < 4 ? c.L - pushed : 4;
    void *xc = chunk_of(&c, c.x, pushed, k);
    int64_t need;
    ck_assert_int_eq(conv1dt_stream_output_steps(st, k, &need, NULL), CONV1DT_OK);
    for (size_t i = 0; i < n; i++) part[i] = -99;
    ck_assert_int_eq(conv1dt_stream_push(NULL, xc, k, part, need, &m), CONV1DT_ERROR_NULL_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(conv1dt_last_error(), "`stream`"));
    ck_assert_int_eq(conv1dt_stream_push(st, xc, k, part, need, NULL), CONV1DT_ERROR_NULL_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(conv1dt_last_error(), "`y_steps`"));
    ck_assert_int_eq(conv1dt_stream_push(st, NULL, k, part, need, &m), CONV1DT_ERROR_NULL_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(conv1dt_last_error(), "`x`"));
    ck_assert_int_eq(conv1dt_stream_push(st, xc, -3, part, need, &m), CONV1DT_ERROR_INVALID_VALUE);
    ck_assert_ptr_nonnull(strstr(conv1dt_last_error(), "steps=-3"));
    ck_assert_int_eq(conv1dt_stream_push(st, xc, k, part, -1, &m), CONV1DT_ERROR_INVALID_VALUE);
    ck_assert_ptr_nonnull(strstr(conv1dt_last_error(), "y_capacity=-1"));
    if (need > 0) {
      ck_assert_int_eq(conv1dt_stream_push(st, xc, k, part, need - 1, &m),
                       CONV1DT_ERROR_BUFFER_TOO_SMALL);
      char want[64];
      snprintf(want, sizeof want, "y_capacity=%" PRId64, need - 1);
      ck_assert_ptr_nonnull(strstr(conv1dt_last_error(), want));
      ck_assert_int_eq(conv1dt_stream_push(st, xc, k, NULL, need, &m), CONV1DT_ERROR_NULL_ARGUMENT);
      ck_assert_ptr_nonnull(strstr(conv1dt_last_error(), "`y`"));
    }
    ck_assert_int_eq(m, -7);
    for (size_t i = 0; i < n; i++) ck_assert(part[i] == -99);
    int64_t again;
    ck_assert_int_eq(conv1dt_stream_output_steps(st, k, &again, NULL), CONV1DT_OK);
    ck_assert_int_eq(again, need);
    ck_assert_int_eq(conv1dt_stream_push(st, xc, k, part, need, &m), CONV1DT_OK);
    place(&c, y, part, got, m);
    got += m;
    pushed += k;
    m = -7;
    free(xc);
  }
  int64_t rest;
  ck_assert_int_eq(conv1dt_stream_output_steps(st, 0, NULL, &rest), CONV1DT_OK);
  if (rest > 0) {
    ck_assert_int_eq(conv1dt_stream_flush(st, part, rest - 1, &m), CONV1DT_ERROR_BUFFER_TOO_SMALL);
    ck_assert_int_eq(conv1dt_stream_flush(st, NULL, rest, &m), CONV1DT_ERROR_NULL_ARGUMENT);
  }
  ck_assert_int_eq(conv1dt_stream_flush(st, part, rest, NULL), CONV1DT_ERROR_NULL_ARGUMENT);
  ck_assert_int_eq(conv1dt_stream_flush(st, part, rest, &m), CONV1DT_OK);
  ck_assert_int_eq(m, rest);
  place(&c, y, part, got, m);
  got += m;
  ck_assert_int_eq(got, c.T);
  char msg[MSG_SIZE] = "";
  ck_assert_msg(judge(&c, y, true, msg, sizeof msg) == 0, "%s", msg);
  conv1dt_stream_close(st);
  free(y);
  free(part);
  case_free(&c);
}
END_TEST

/* After a flush, push and flush are errors; reset starts a new signal, which streams as the
 * first did. A stream given no steps (or only 0-step pushes) flushes nothing. */
START_TEST(test_flush_and_reset) {
  ref_rng rng;
  ref_rng_seed(&rng, UINT64_C(0xF1054));
  stream_case c;
  memset(&c, 0, sizeof c);
  c.cfg = conv1dt_config_default(2, 5);
  c.cfg.strides = 3;
  c.cfg.output_padding = 2;
  c.cfg.padding = CONV1DT_PADDING_SAME;
  c.dt = CONV1DT_FLOAT64;
  c.C = 3;
  c.B = 3;
  c.L = 25;
  case_setup(&c, &rng, true);
  conv1dt_stream *st = NULL;
  ck_assert_int_eq(conv1dt_stream_open(c.layer, c.B, &st), CONV1DT_OK);
  int64_t m = -1;
  for (int i = 0; i < 5; i++) {
    ck_assert_int_eq(conv1dt_stream_push(st, NULL, 0, NULL, 0, &m), CONV1DT_OK);
    ck_assert_int_eq(m, 0);
  }
  ck_assert_int_eq(conv1dt_stream_flush(st, NULL, 0, &m), CONV1DT_OK);
  ck_assert_int_eq(m, 0);
  double one[64] = {0};
  ck_assert_int_eq(conv1dt_stream_push(st, one, 1, one, 8, &m), CONV1DT_ERROR_INVALID_VALUE);
  ck_assert_ptr_nonnull(strstr(conv1dt_last_error(), "flushed"));
  ck_assert_int_eq(conv1dt_stream_push(st, NULL, 0, NULL, 0, &m), CONV1DT_ERROR_INVALID_VALUE);
  ck_assert_int_eq(conv1dt_stream_flush(st, one, 8, &m), CONV1DT_ERROR_INVALID_VALUE);
  int64_t p = 9, f = 9;
  ck_assert_int_eq(conv1dt_stream_output_steps(st, 4, &p, &f), CONV1DT_OK);
  ck_assert_int_eq(p, 0);
  ck_assert_int_eq(f, 0);
  conv1dt_stream_close(st);

  /* the same stream for three signals: reset after a flush, and in the middle of one */
  const size_t n = (size_t)(c.B * c.T * c.Fo);
  double *y = malloc(n * sizeof *y), *part = malloc(n * sizeof *part);
  ck_assert_int_eq(conv1dt_stream_open(c.layer, c.B, &st), CONV1DT_OK);
  for (int round = 0; round < 3; round++) {
    int64_t got = 0;
    void *xc = chunk_of(&c, c.x, 0, 11);
    ck_assert_int_eq(conv1dt_stream_push(st, xc, 11, part, 33, &m), CONV1DT_OK);
    free(xc);
    if (round == 1) { /* abandon it */
      ck_assert_int_eq(conv1dt_stream_reset(st), CONV1DT_OK);
      continue;
    }
    place(&c, y, part, got, m);
    got += m;
    xc = chunk_of(&c, c.x, 11, c.L - 11);
    ck_assert_int_eq(conv1dt_stream_push(st, xc, c.L - 11, part, 3 * (c.L - 11), &m), CONV1DT_OK);
    free(xc);
    place(&c, y, part, got, m);
    got += m;
    ck_assert_int_eq(conv1dt_stream_flush(st, part, c.T - got, &m), CONV1DT_OK);
    place(&c, y, part, got, m);
    ck_assert_int_eq(got + m, c.T);
    char msg[MSG_SIZE] = "";
    ck_assert_msg(judge(&c, y, true, msg, sizeof msg) == 0, "round %d: %s", round, msg);
    ck_assert_int_eq(conv1dt_stream_reset(st), CONV1DT_OK);
  }
  ck_assert_int_eq(conv1dt_stream_reset(NULL), CONV1DT_ERROR_NULL_ARGUMENT);
  conv1dt_stream_close(st);
  free(y);
  free(part);
  case_free(&c);
}
END_TEST

/* Batch 0: every call works and returns steps of nothing; x and y may be NULL. */
START_TEST(test_batch_zero) {
  conv1dt_config cfg = conv1dt_config_default(2, 3);
  cfg.strides = 2;
  conv1dt_layer *layer = NULL;
  ck_assert_int_eq(conv1dt_create(&cfg, 2, CONV1DT_FLOAT32, &layer), CONV1DT_OK);
  conv1dt_stream *st = NULL;
  ck_assert_int_eq(conv1dt_stream_open(layer, 0, &st), CONV1DT_OK);
  int64_t m = -1, got = 0;
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(conv1dt_stream_push(st, NULL, 5, NULL, 10, &m), CONV1DT_OK);
    got += m;
  }
  ck_assert_int_eq(conv1dt_stream_flush(st, NULL, 10, &m), CONV1DT_OK);
  ck_assert_int_eq(got + m, 14 * 2 + 3); /* (L - 1) * s + max(Keff, s), L = 15 */
  conv1dt_stream_close(st);
  conv1dt_destroy(layer);
}
END_TEST

/* Streams on one layer from several threads at once, each equal to the one-shot. */
typedef struct {
  const stream_case *c;
  uint64_t seed;
  size_t bad;
  char msg[MSG_SIZE];
} thread_arg;

static void *thread_stream(void *p) {
  thread_arg *a = p;
  ref_rng rng;
  ref_rng_seed(&rng, a->seed);
  int64_t chunks[600];
  const size_t n = (size_t)(a->c->B * a->c->T * a->c->Fo);
  void *y = malloc(n * a->c->es);
  for (int r = 0; r < 6 && !a->bad; r++) {
    const int64_t k = random_chunks(&rng, a->c->L, chunks, 600);
    a->bad = stream_through(a->c, a->c->x, chunks, k, y, a->msg, sizeof a->msg);
    if (!a->bad) a->bad = judge(a->c, y, true, a->msg, sizeof a->msg);
  }
  free(y);
  return NULL;
}

START_TEST(test_concurrent_streams) {
  ref_rng rng;
  ref_rng_seed(&rng, UINT64_C(0x7417EAD5));
  stream_case c;
  memset(&c, 0, sizeof c);
  c.cfg = conv1dt_config_default(5, 6);
  c.cfg.strides = 2;
  c.cfg.padding = CONV1DT_PADDING_SAME;
  c.cfg.activation = "relu";
  c.cfg.algorithm = (conv1dt_algorithm)_i;
  c.dt = CONV1DT_FLOAT64;
  c.C = 4;
  c.B = 2;
  c.L = 300;
  case_setup(&c, &rng, true);
  enum { N = 4 };
  pthread_t t[N];
  thread_arg args[N];
  for (int i = 0; i < N; i++) {
    memset(&args[i], 0, sizeof args[i]);
    args[i].c = &c;
    args[i].seed = (uint64_t)i * 977 + 5;
    ck_assert_int_eq(pthread_create(&t[i], NULL, thread_stream, &args[i]), 0);
  }
  for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < N; i++) ck_assert_msg(args[i].bad == 0, "thread %d: %s", i, args[i].msg);
  case_free(&c);
}
END_TEST

/* ------------------------------------------------------------------ examples/stream_wav */

/* A mono WAV: 16-bit PCM (bits 16) or float32 (bits 32), an extra chunk before the data when
 * `extra`, the data size 0xFFFFFFFF when `unsized` (as a program writing into a pipe leaves it). */
static unsigned char *make_wav(const float *samples, size_t n, int bits, int extra, int unsized,
                               size_t *len) {
  const size_t data = n * (size_t)(bits / 8), head = 12 + 24 + (extra ? 8 + 5 + 1 : 0) + 8;
  unsigned char *w = calloc(head + data, 1), *p = w;
#define PUT32(v)                                                                                   \
  do {                                                                                             \
    const uint32_t v_ = (uint32_t)(v);                                                             \
    for (int b_ = 0; b_ < 4; b_++) *p++ = (unsigned char)(v_ >> (8 * b_));                         \
  } while (0)
#define PUT16(v)                                                                                   \
  do {                                                                                             \
    *p++ = (unsigned char)((v)&0xFF);                                                              \
    *p++ = (unsigned char)(((v) >> 8) & 0xFF);                                                     \
  } while (0)
  memcpy(p, "RIFF", 4), p += 4;
  PUT32(head + data - 8);
  memcpy(p, "WAVEfmt ", 8), p += 8;
  PUT32(16);
  PUT16(bits == 16 ? 1 : 3);
  PUT16(1);
  PUT32(8000);
  PUT32(8000 * bits / 8);
  PUT16(bits / 8);
  PUT16(bits);
  if (extra) { /* an odd-sized chunk, padded to even */
    memcpy(p, "LIST", 4), p += 4;
    PUT32(5);
    memcpy(p, "abcde", 5), p += 6;
  }
  memcpy(p, "data", 4), p += 4;
  PUT32(unsized ? 0xFFFFFFFFu : data);
  for (size_t i = 0; i < n; i++) {
    if (bits == 16) {
      const int v = (int)lrintf(samples[i] * 32768.0f);
      PUT16((unsigned)(v & 0xFFFF));
    } else {
      memcpy(p, &samples[i], 4), p += 4;
    }
  }
#undef PUT32
#undef PUT16
  *len = head + data;
  return w;
}

/* Runs the example with stdin from `in` and stdout to `out`; its exit status. */
static int run_example(const char *prog, const char *arg, const char *in, const char *out) {
  const pid_t pid = fork();
  if (pid == 0) {
    const int fi = open(in, O_RDONLY), fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fi < 0 || fo < 0 || dup2(fi, 0) < 0 || dup2(fo, 1) < 0) _exit(126);
    /* a cross build's example runs under its emulator (CONV1DT_STREAM_WAV_EMULATOR: words) */
    char emu[512], *argv[16];
    int n = 0;
    const char *e = getenv("CONV1DT_STREAM_WAV_EMULATOR");
    snprintf(emu, sizeof emu, "%s", e ? e : "");
    for (char *w = strtok(emu, " "); w && n < 12; w = strtok(NULL, " ")) argv[n++] = w;
    argv[n++] = (char *)prog;
    argv[n++] = (char *)arg;
    argv[n] = NULL;
    execvp(argv[0], argv);
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The example's layer, one-shot: Conv1DTranspose(1, 7, strides=4, padding="same",
 * use_bias=False), the triangle kernel. */
static float *example_one_shot(const float *x, int64_t n, int64_t *out_n) {
  conv1dt_config cfg = conv1dt_config_default(1, 7);
  cfg.strides = 4;
  cfg.padding = CONV1DT_PADDING_SAME;
  cfg.use_bias = false;
  static const float kernel[7] = {0.25f, 0.5f, 0.75f, 1.0f, 0.75f, 0.5f, 0.25f};
  conv1dt_layer *layer = NULL;
  ck_assert_int_eq(conv1dt_create(&cfg, 1, CONV1DT_FLOAT32, &layer), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_set_weights(layer, kernel, NULL), CONV1DT_OK);
  *out_n = 4 * n;
  float *y = malloc((size_t)*out_n * sizeof *y + 1);
  ck_assert_int_eq(conv1dt_forward(layer, x, 1, n, y, NULL, 0), CONV1DT_OK);
  conv1dt_destroy(layer);
  return y;
}

START_TEST(test_example_stream_wav) {
  const char *prog = getenv("CONV1DT_STREAM_WAV");
  if (!prog) {
    printf("SKIP: CONV1DT_STREAM_WAV is not set\n");
    return;
  }
  char in[] = "/tmp/conv1dt-stream-in.XXXXXX", out[] = "/tmp/conv1dt-stream-out.XXXXXX";
  const int fi = mkstemp(in), fo = mkstemp(out);
  ck_assert(fi >= 0 && fo >= 0);
  close(fi);
  close(fo);
  const size_t n = 10007; /* several chunks of the default 4096 and of 1000 */
  float *x = malloc(n * sizeof *x);
  for (size_t i = 0; i < n; i++) /* a chirp, rounded to 16-bit values */
    x[i] = (float)lrint(20000.0 * sin(0.001 * (double)i * (double)i / 50.0)) / 32768.0f;
  int64_t want_n;
  float *want = example_one_shot(x, (int64_t)n, &want_n);
  static const struct {
    int bits, extra, unsized;
    const char *chunk;
  } runs[] = {{16, 0, 0, "4096"}, {16, 1, 0, "1000"}, {32, 0, 1, "1"}, {32, 1, 1, "4096"}};
  for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
    size_t len;
    unsigned char *wav = make_wav(x, n, runs[r].bits, runs[r].extra, runs[r].unsized, &len);
    FILE *f = fopen(in, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(wav, 1, len, f), len);
    fclose(f);
    free(wav);
    ck_assert_int_eq(run_example(prog, runs[r].chunk, in, out), 0);
    FILE *g = fopen(out, "rb");
    ck_assert_ptr_nonnull(g);
    float *got = malloc((size_t)want_n * sizeof *got + 64);
    const size_t m = fread(got, sizeof *got, (size_t)want_n + 16, g);
    fclose(g);
    ck_assert_uint_eq(m, (size_t)want_n);
    for (size_t i = 0; i < m; i++)
      ck_assert_msg(fabsf(got[i] - want[i]) <= 1e-6f, "run %zu, sample %zu: %g, one-shot %g", r, i,
                    (double)got[i], (double)want[i]);
    free(got);
  }
  /* not a WAV, and a stereo one: refused with a message, exit status 1 */
  FILE *f = fopen(in, "wb");
  fputs("this is not a WAV file at all", f);
  fclose(f);
  ck_assert_int_eq(run_example(prog, "4096", in, out), 1);
  size_t len;
  unsigned char *wav = make_wav(x, 64, 16, 0, 0, &len);
  wav[22] = 2; /* channels */
  f = fopen(in, "wb");
  fwrite(wav, 1, len, f);
  fclose(f);
  free(wav);
  ck_assert_int_eq(run_example(prog, "4096", in, out), 1);
  unlink(in);
  unlink(out);
  free(x);
  free(want);
}
END_TEST

static Suite *stream_suite(void) {
  Suite *s = suite_create("stream");
  TCase *tc = tcase_create("equality");
  tcase_set_timeout(tc, 300);
  tcase_add_loop_test(tc, test_exact_sweep, 0, 4); /* strides 1..4 */
  tcase_add_loop_test(tc, test_tolerance_sweep, 0, 4);
  tcase_add_test(tc, test_every_activation);
  tcase_add_loop_test(tc, test_long_signal_small_memory, 0, 2); /* both formats */
  suite_add_tcase(s, tc);

  tc = tcase_create("contract");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_counts_formula);
  tcase_add_test(tc, test_refuse_steps_axis);
  tcase_add_loop_test(tc, test_argument_errors, 0, 2);
  tcase_add_test(tc, test_flush_and_reset);
  tcase_add_test(tc, test_batch_zero);
  tcase_add_loop_test(tc, test_concurrent_streams, 0, 4); /* every method */
  suite_add_tcase(s, tc);

  tc = tcase_create("example");
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_example_stream_wav);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return run_suite(stream_suite());
}
