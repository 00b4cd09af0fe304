/* Streams: one layer over endless signals, chunk by chunk (conv1dt_stream_*).
 *
 * Position u of a signal's "full" output receives x[i] . W[k] for u = i*s + k*d, so once input
 * steps [0, N) have arrived, every position below N*s is final: no later step reaches it. A
 * stream keeps the last `ctx` input steps it was given (the overlap tail) and, for each block of
 * new steps, runs the layer's own forward machinery (forward.c, the method AUTO or the layer's
 * configuration picks) over context + new steps with the geometry's window moved onto exactly
 * the output positions that became final: nothing is computed twice into the output, and the
 * kernels, bias and activation are the layer's. Its memory is fixed at open: the context, the
 * staging of one block (input and output) and one workspace, whatever the signal's length. */
#include "internal.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* New input steps a forward call takes at most (memory usually stops it sooner). */
#define CONV1DT_STREAM_MAX_BLOCK ((int64_t)1 << 20)

struct conv1dt_stream {
  const conv1dt_layer *layer;
  int64_t batch, in_ch;
  int64_t out_ch;       /* values an output step has per sample: filters (glu: half) */
  int64_t s, crop;      /* strides, Keras's left crop */
  int64_t t1;           /* output steps of a one-step signal, T(1) */
  int64_t delay;        /* D = max(crop, s - T(1)): E(N) = max(0, N*s - D) */
  int64_t ctx;          /* input steps of context kept */
  int64_t block;        /* new input steps per forward call, at most */
  int64_t flush_max;    /* output steps a flush returns, at most */
  int64_t pushed, held; /* input steps pushed; of them kept as context: min(pushed, ctx) */
  int flushed;          /* no push or flush until conv1dt_stream_reset */
  int channels_first;
  size_t elem; /* bytes per value */
  size_t ctx_bytes, in_bytes, out_bytes, work_bytes, bytes;
  char *context; /* (B, ctx, C) or (B, C, ctx), the first `held` steps valid */
  char *in;      /* a forward call's input: context + new steps, dense */
  char *out;     /* its output, when it cannot go straight into the caller's y */
  void *work;    /* its workspace */
};

/* Output steps pushes have returned after n input steps: E(n). 0 when it overflows. */
static int emitted(const struct conv1dt_stream *st, int64_t n, int64_t *e) {
  int64_t v;
  if (n == 0) {
    *e = 0;
    return 1;
  }
  if (!conv1dt__mul64(n, st->s, &v)) return 0;
  *e = v > st->delay ? v - st->delay : 0;
  return 1;
}

/* T(n): the layer's output length for n >= 1 input steps. */
static int total_steps(const struct conv1dt_stream *st, int64_t n, int64_t *t) {
  return conv1dt__mul64(n - 1, st->s, t) && conv1dt__add64(*t, st->t1, t);
}

/* What a push of `steps` returns now, and a flush right after it. */
static conv1dt_status counts(const struct conv1dt_stream *st, int64_t steps, const char *who,
                             int64_t *push, int64_t *flush) {
  int64_t n = 0, e0 = 0, e1 = 0, t = 0;
  if (!conv1dt__add64(st->pushed, steps, &n) || !emitted(st, st->pushed, &e0) ||
      !emitted(st, n, &e1) || (n > 0 && !total_steps(st, n, &t)))
    return conv1dt__fail(CONV1DT_ERROR_SIZE_OVERFLOW,
                         "%s: %lld steps after the %lld already pushed overflow the supported "
                         "sizes",
                         who, (long long)steps, (long long)st->pushed);
  *push = e1 - e0;
  *flush = n > 0 ? t - e1 : 0;
  return CONV1DT_OK;
}

/* The geometry of a forward call over `steps` input steps whose output is the window
 * [crop, crop + n) of their full output (positions past its end: zero before the bias). */
static conv1dt_status window(const struct conv1dt_stream *st, int64_t steps, int64_t crop,
                             int64_t n, conv1dt_geometry *g) {
  CONV1DT_CHECK(conv1dt__geometry(st->layer, st->batch, steps, g));
  g->crop_left = crop;
  g->out_len = n;
  if (g->channels_first) {
    g->out_last = n;
    g->out_shape[2] = n;
  } else {
    g->out_shape[1] = n;
  }
  return CONV1DT_OK;
}

static size_t max_size(size_t a, size_t b) {
  return a > b ? a : b;
}

/* Everything about a stream but its memory: constants, context, block and buffer sizes. */
static conv1dt_status stream_plan(const conv1dt_layer *layer, int64_t batch, const char *who,
                                  struct conv1dt_stream *st) {
  if (batch < 0)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "%s: argument `batch` must be non-negative. Received batch=%lld.", who,
                         (long long)batch);
  if (layer->cfg.data_format == CONV1DT_CHANNELS_FIRST && CONV1DT_ACT_IS_AXISWISE(layer->act))
    return conv1dt__fail(CONV1DT_ERROR_UNSUPPORTED,
                         "%s: activation '%s' of a channels_first layer acts along the steps "
                         "axis (Keras's axis=-1), so no output step is final before the whole "
                         "signal is known: a stream needs an element-wise activation, or "
                         "channels_last (where it acts along the filters)",
                         who, layer->cfg.activation);
  memset(st, 0, sizeof *st);
  conv1dt_geometry g;
  CONV1DT_CHECK(conv1dt__geometry(layer, batch, 1, &g));
  st->layer = layer;
  st->batch = batch;
  st->in_ch = layer->in_channels;
  st->out_ch = g.channels_first ? g.filters : g.out_last;
  st->s = g.stride;
  st->crop = g.crop_left;
  st->t1 = g.out_len;
  st->delay = conv1dt__max64(st->crop, st->s - st->t1);
  st->channels_first = g.channels_first;
  st->elem = layer->elem_size;
  /* The first position a call finishes is at least N*s + m (m = crop - D <= 0) in the full
   * output: it needs the steps from N - floor((keff - 1 - m) / s) on, and the call's first
   * step must not lie past it (ceil(-m / s)). */
  const int64_t m = st->crop - st->delay, s = st->s;
  st->ctx = conv1dt__max64(1, conv1dt__max64((g.keff - 1 - m) / s, conv1dt__ceil_div(-m, s)));
  st->flush_max = conv1dt__max64(0, st->crop + st->t1 - s);

  /* Half the layer's workspace limit for the staging of a block, half for the workspace. */
  const size_t limit =
      layer->cfg.workspace_limit ? layer->cfg.workspace_limit : CONV1DT_DEFAULT_WORKSPACE_LIMIT;
  const int64_t B = batch, C = st->in_ch, es = (int64_t)st->elem;
  int64_t ctx_vals, per_step, fixed, block = CONV1DT_STREAM_MAX_BLOCK;
  if (!conv1dt__mul64(B, st->ctx, &ctx_vals) || !conv1dt__mul64(ctx_vals, C, &ctx_vals) ||
      !conv1dt__mul64(ctx_vals, 2 * es, &fixed) || !conv1dt__mul64(s, st->out_ch, &per_step) ||
      !conv1dt__add64(per_step, C, &per_step) || !conv1dt__mul64(per_step, B, &per_step) ||
      !conv1dt__mul64(per_step, es, &per_step))
    goto overflow;
  if (per_step > 0) {
    const int64_t half = (int64_t)conv1dt__min64((int64_t)(limit / 2), INT64_MAX / 2);
    block = half > fixed ? (half - fixed) / per_step : 1;
    block = conv1dt__max64(1, conv1dt__min64(block, CONV1DT_STREAM_MAX_BLOCK));
  }
  st->block = block;
  int64_t steps, out_cap, in_vals, out_vals;
  if (!conv1dt__add64(st->ctx, block, &steps) || steps > INT_MAX / 2 ||
      !conv1dt__mul64(block, s, &out_cap) || !conv1dt__mul64(B, steps, &in_vals) ||
      !conv1dt__mul64(in_vals, C, &in_vals) || !conv1dt__mul64(in_vals, es, &in_vals) ||
      !conv1dt__mul64(B, conv1dt__max64(out_cap, st->flush_max), &out_vals) ||
      !conv1dt__mul64(out_vals, st->out_ch, &out_vals) || !conv1dt__mul64(out_vals, es, &out_vals))
    goto overflow;
  st->ctx_bytes = (size_t)(fixed / 2);
  st->in_bytes = (size_t)in_vals;
  st->out_bytes = (size_t)out_vals;

  if (B > 0) { /* the workspace: the largest call's plan, and never below the GEMM's minimum */
    conv1dt_geometry big, one;
    conv1dt_plan plan;
    CONV1DT_CHECK(window(st, steps, st->ctx * s + m, out_cap, &big));
    one = big;
    one.batch = one.steps = 1;
    CONV1DT_CHECK(conv1dt__plan_gemm(&one, st->elem, SIZE_MAX, &plan));
    const size_t least = plan.bytes, budget = max_size(limit / 2, least);
    CONV1DT_CHECK(conv1dt__plan(&big, st->elem, budget, &plan));
    st->work_bytes = max_size(least, plan.bytes);
    if (st->flush_max > 0) {
      CONV1DT_CHECK(window(st, st->ctx, st->ctx * s + m, st->flush_max, &big));
      CONV1DT_CHECK(conv1dt__plan(&big, st->elem, budget, &plan));
      st->work_bytes = max_size(st->work_bytes, plan.bytes);
    }
  }
  st->bytes = sizeof *st + st->ctx_bytes + st->in_bytes + st->out_bytes + st->work_bytes;
  if (st->bytes < st->work_bytes) goto overflow;
  return CONV1DT_OK;
overflow:
  return conv1dt__fail(CONV1DT_ERROR_SIZE_OVERFLOW,
                       "%s: a stream of batch=%lld overflows the supported sizes for this layer",
                       who, (long long)batch);
}

conv1dt_status conv1dt_stream_size(const conv1dt_layer *layer, int64_t batch, size_t *bytes) {
  CONV1DT_REQUIRE_PTR(layer, "conv1dt_stream_size");
  CONV1DT_REQUIRE_PTR(bytes, "conv1dt_stream_size");
  struct conv1dt_stream st;
  CONV1DT_CHECK(stream_plan(layer, batch, "conv1dt_stream_size", &st));
  *bytes = st.bytes;
  return CONV1DT_OK;
}

static void stream_free(struct conv1dt_stream *st) {
  free(st->context);
  free(st->in);
  free(st->out);
  free(st->work);
  free(st);
}

conv1dt_status conv1dt_stream_open(const conv1dt_layer *layer, int64_t batch,
                                   conv1dt_stream **out) {
  CONV1DT_REQUIRE_PTR(layer, "conv1dt_stream_open");
  CONV1DT_REQUIRE_PTR(out, "conv1dt_stream_open");
  struct conv1dt_stream plan, *st = malloc(sizeof *st);
  conv1dt_status status = stream_plan(layer, batch, "conv1dt_stream_open", &plan);
  if (status != CONV1DT_OK) {
    free(st);
    return status;
  }
  if (st) {
    *st = plan;
    st->context = plan.ctx_bytes ? malloc(plan.ctx_bytes) : NULL;
    st->in = plan.in_bytes ? malloc(plan.in_bytes) : NULL;
    st->out = plan.out_bytes ? malloc(plan.out_bytes) : NULL;
    st->work = plan.work_bytes ? conv1dt__workspace_alloc(plan.work_bytes) : NULL;
  }
  if (!st || (plan.ctx_bytes && !st->context) || (plan.in_bytes && !st->in) ||
      (plan.out_bytes && !st->out) || (plan.work_bytes && !st->work)) {
    if (st) stream_free(st);
    return conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY,
                         "conv1dt_stream_open: out of memory for a stream of %zu bytes",
                         plan.bytes);
  }
  *out = st;
  return CONV1DT_OK;
}

conv1dt_status conv1dt_stream_close(conv1dt_stream *stream) {
  if (stream) stream_free(stream);
  return CONV1DT_OK;
}

conv1dt_status conv1dt_stream_reset(conv1dt_stream *stream) {
  CONV1DT_REQUIRE_PTR(stream, "conv1dt_stream_reset");
  stream->pushed = stream->held = 0;
  stream->flushed = 0;
  return CONV1DT_OK;
}

conv1dt_status conv1dt_stream_output_steps(const conv1dt_stream *stream, int64_t steps,
                                           int64_t *push_steps, int64_t *flush_steps) {
  CONV1DT_REQUIRE_PTR(stream, "conv1dt_stream_output_steps");
  if (steps < 0)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "conv1dt_stream_output_steps: argument `steps` must be non-negative. "
                         "Received steps=%lld.",
                         (long long)steps);
  int64_t push = 0, flush = 0;
  CONV1DT_CHECK(counts(stream, steps, "conv1dt_stream_output_steps", &push, &flush));
  if (stream->flushed) push = flush = 0;
  if (push_steps) *push_steps = push;
  if (flush_steps) *flush_steps = flush;
  return CONV1DT_OK;
}

conv1dt_status conv1dt_stream_max_output_steps(const conv1dt_layer *layer, int64_t steps,
                                               int64_t *push_steps, int64_t *flush_steps) {
  CONV1DT_REQUIRE_PTR(layer, "conv1dt_stream_max_output_steps");
  if (steps < 0)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "conv1dt_stream_max_output_steps: argument `steps` must be "
                         "non-negative. Received steps=%lld.",
                         (long long)steps);
  conv1dt_geometry g;
  CONV1DT_CHECK(conv1dt__geometry(layer, 1, 1, &g));
  int64_t push;
  if (!conv1dt__mul64(steps, g.stride, &push))
    return conv1dt__fail(CONV1DT_ERROR_SIZE_OVERFLOW,
                         "conv1dt_stream_max_output_steps: steps=%lld times strides=%lld "
                         "overflows",
                         (long long)steps, (long long)g.stride);
  if (push_steps) *push_steps = push;
  if (flush_steps) *flush_steps = conv1dt__max64(0, g.crop_left + g.out_len - g.stride);
  return CONV1DT_OK;
}

conv1dt_status conv1dt_stream_latency(const conv1dt_layer *layer, int64_t output_step,
                                      int64_t *input_steps) {
  CONV1DT_REQUIRE_PTR(layer, "conv1dt_stream_latency");
  CONV1DT_REQUIRE_PTR(input_steps, "conv1dt_stream_latency");
  if (output_step < 0)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "conv1dt_stream_latency: argument `output_step` must be non-negative. "
                         "Received output_step=%lld.",
                         (long long)output_step);
  conv1dt_geometry g;
  CONV1DT_CHECK(conv1dt__geometry(layer, 1, 1, &g));
  const int64_t delay = conv1dt__max64(g.crop_left, g.stride - g.out_len);
  int64_t v;
  if (!conv1dt__add64(output_step, delay, &v))
    return conv1dt__fail(CONV1DT_ERROR_SIZE_OVERFLOW,
                         "conv1dt_stream_latency: output_step=%lld overflows",
                         (long long)output_step);
  *input_steps = v / g.stride + 1;
  return CONV1DT_OK;
}

/* The call's input in st->in: the context, then steps [j0, j0 + nb) of the caller's chunk x of
 * n steps; `steps` = held + nb in all, dense in the layer's format. */
static void gather(const struct conv1dt_stream *st, const char *x, int64_t n, int64_t j0,
                   int64_t nb) {
  const int64_t B = st->batch, C = st->in_ch, h = st->held, L = h + nb;
  const size_t es = st->elem;
  if (!st->channels_first) {
    for (int64_t b = 0; b < B; b++) {
      char *row = st->in + (size_t)(b * L * C) * es;
      memcpy(row, st->context + (size_t)(b * st->ctx * C) * es, (size_t)(h * C) * es);
      if (nb)
        memcpy(row + (size_t)(h * C) * es, x + (size_t)((b * n + j0) * C) * es,
               (size_t)(nb * C) * es);
    }
    return;
  }
  for (int64_t r = 0; r < B * C; r++) { /* channel rows */
    char *row = st->in + (size_t)(r * L) * es;
    memcpy(row, st->context + (size_t)(r * st->ctx) * es, (size_t)h * es);
    if (nb) memcpy(row + (size_t)h * es, x + (size_t)(r * n + j0) * es, (size_t)nb * es);
  }
}

/* Keeps the last min(ctx, steps) of the call's input steps as the context. */
static void keep_context(struct conv1dt_stream *st, int64_t steps) {
  const int64_t B = st->batch, C = st->in_ch, keep = conv1dt__min64(st->ctx, steps);
  const size_t es = st->elem;
  const int64_t rows = st->channels_first ? B * C : B, w = st->channels_first ? 1 : C;
  for (int64_t r = 0; r < rows; r++)
    memcpy(st->context + (size_t)(r * st->ctx * w) * es,
           st->in + (size_t)((r * steps + steps - keep) * w) * es, (size_t)(keep * w) * es);
  st->held = keep;
}

/* Output positions [e0, e0 + n) of the signal from the call's input (`steps` steps, the first
 * being the signal's step pushed - held), into steps [off, off + n) of y (y_len steps). */
static conv1dt_status compute(const struct conv1dt_stream *st, int64_t steps, int64_t e0, int64_t n,
                              char *y, int64_t y_len, int64_t off) {
  const int64_t B = st->batch, F = st->out_ch, first = st->pushed - st->held;
  const size_t es = st->elem;
  conv1dt_geometry g;
  CONV1DT_CHECK(window(st, steps, e0 + st->crop - first * st->s, n, &g));
  /* One sample whose steps are rows (or a single filter): its block is a run of y itself. */
  const int straight = B == 1 && (!st->channels_first || F == 1);
  char *dst = straight ? y + (size_t)(off * F) * es : st->out;
  CONV1DT_CHECK(conv1dt__forward_run(st->layer, &g, st->in, dst, NULL, st->work, st->work_bytes));
  if (straight) return CONV1DT_OK;
  /* (B, n, F) or (B, F, n) into the caller's (B, y_len, F) or (B, F, y_len) at step off */
  const int64_t rows = st->channels_first ? B * F : B, w = st->channels_first ? 1 : F;
  for (int64_t r = 0; r < rows; r++)
    memcpy(y + (size_t)((r * y_len + off) * w) * es, st->out + (size_t)(r * n * w) * es,
           (size_t)(n * w) * es);
  return CONV1DT_OK;
}

/* The checks every push and flush share; *n_out: the steps the call returns. */
static conv1dt_status check_call(const conv1dt_stream *stream, int64_t steps, const void *y,
                                 int64_t y_capacity, int flush, const char *who, int64_t *n_out) {
  if (stream->flushed)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "%s: the stream was flushed; conv1dt_stream_reset starts a new signal",
                         who);
  if (y_capacity < 0)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "%s: argument `y_capacity` must be non-negative. Received "
                         "y_capacity=%lld.",
                         who, (long long)y_capacity);
  int64_t push = 0, rest = 0, x_bytes, y_bytes;
  CONV1DT_CHECK(counts(stream, steps, who, &push, &rest));
  *n_out = flush ? rest : push;
  /* the caller's arrays: (B, steps, C) and (B, n_out, out_ch) values */
  if (!conv1dt__mul64(stream->batch, steps, &x_bytes) ||
      !conv1dt__mul64(x_bytes, stream->in_ch * (int64_t)stream->elem, &x_bytes) ||
      !conv1dt__mul64(stream->batch, *n_out, &y_bytes) ||
      !conv1dt__mul64(y_bytes, stream->out_ch * (int64_t)stream->elem, &y_bytes) ||
      (uint64_t)x_bytes > SIZE_MAX || (uint64_t)y_bytes > SIZE_MAX)
    return conv1dt__fail(CONV1DT_ERROR_SIZE_OVERFLOW,
                         "%s: steps=%lld for batch=%lld overflow the supported sizes", who,
                         (long long)steps, (long long)stream->batch);
  if (*n_out > y_capacity)
    return conv1dt__fail(CONV1DT_ERROR_BUFFER_TOO_SMALL,
                         "%s: argument `y_capacity` is too small: this call returns %lld output "
                         "steps. Received y_capacity=%lld.",
                         who, (long long)*n_out, (long long)y_capacity);
  if (!y && *n_out > 0 && stream->batch > 0)
    return conv1dt__fail(CONV1DT_ERROR_NULL_ARGUMENT, "%s: argument `y` is NULL", who);
  return CONV1DT_OK;
}

conv1dt_status conv1dt_stream_push(conv1dt_stream *stream, const void *x, int64_t steps, void *y,
                                   int64_t y_capacity, int64_t *y_steps) {
  static const char who[] = "conv1dt_stream_push";
  CONV1DT_REQUIRE_PTR(stream, who);
  CONV1DT_REQUIRE_PTR(y_steps, who);
  if (steps < 0)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "%s: argument `steps` must be non-negative. Received steps=%lld.", who,
                         (long long)steps);
  if (!x && steps > 0 && stream->batch > 0)
    return conv1dt__fail(CONV1DT_ERROR_NULL_ARGUMENT, "%s: argument `x` is NULL", who);
  int64_t n_out = 0;
  CONV1DT_CHECK(check_call(stream, steps, y, y_capacity, 0, who, &n_out));
  /* Nothing below fails: open checked every size and sized the workspace for every call. */
  int64_t off = 0;
  for (int64_t j0 = 0; j0 < steps; j0 += stream->block) {
    const int64_t nb = conv1dt__min64(stream->block, steps - j0);
    const int64_t L = stream->held + nb;
    int64_t e0 = 0, e1 = 0;
    emitted(stream, stream->pushed, &e0);
    emitted(stream, stream->pushed + nb, &e1);
    if (stream->batch > 0) {
      gather(stream, x, steps, j0, nb);
      if (e1 > e0) CONV1DT_CHECK(compute(stream, L, e0, e1 - e0, y, n_out, off));
      keep_context(stream, L);
    } else {
      stream->held = conv1dt__min64(stream->ctx, L);
    }
    stream->pushed += nb;
    off += e1 - e0;
  }
  *y_steps = n_out;
  return CONV1DT_OK;
}

conv1dt_status conv1dt_stream_flush(conv1dt_stream *stream, void *y, int64_t y_capacity,
                                    int64_t *y_steps) {
  static const char who[] = "conv1dt_stream_flush";
  CONV1DT_REQUIRE_PTR(stream, who);
  CONV1DT_REQUIRE_PTR(y_steps, who);
  int64_t n_out = 0, e0 = 0;
  CONV1DT_CHECK(check_call(stream, 0, y, y_capacity, 1, who, &n_out));
  emitted(stream, stream->pushed, &e0);
  if (n_out > 0 && stream->batch > 0) {
    gather(stream, NULL, 0, 0, 0);
    CONV1DT_CHECK(compute(stream, stream->held, e0, n_out, y, n_out, 0));
  }
  stream->flushed = 1;
  *y_steps = n_out;
  return CONV1DT_OK;
}
