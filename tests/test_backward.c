/*
 * test_backward: conv1dt_backward (and conv1dt_forward_train's pre-activations) against the
 * naive gradient reference (reference_grad.h) over a randomised sweep of every argument and
 * every activation, central finite differences in double, block-size independence, skipped
 * (NULL) outputs, empty inputs, concurrent use of one layer and every error path.
 */
#include <check.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_run.h"
#include "conv1dt.h"
#include "reference.h"
#include "reference_grad.h"
#include "test_numerics_support.h"

#define MSG_SIZE 4096

/* ------------------------------------------------------------------ one prepared case */

typedef struct bcase {
  conv1dt_config cfg;
  int64_t C, B, L;
  conv1dt_dtype dt;
  size_t es;
  conv1dt_layer *layer;
  size_t nx, nk, nb, ny, nz;
  int64_t yshape[3], zshape[3];
  void *x, *k, *b, *y, *pre, *dy; /* dtype */
  double *xd, *kd, *bd, *yd, *pred, *dyd;
} bcase;

static void bcase_free(bcase *c) {
  conv1dt_destroy(c->layer);
  void *all[] = {c->x,  c->k,  c->b,  c->y,  c->pre,  c->dy,
                 c->xd, c->kd, c->bd, c->yd, c->pred, c->dyd};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]);
  memset(c, 0, sizeof *c);
}

static size_t prod3(const int64_t s[3]) {
  return (size_t)(s[0] * s[1] * s[2]);
}

/* Creates the layer, draws x, kernel, bias and dy (uniform in [-1, 1), or integers in [-2, 2])
 * and runs conv1dt_forward_train. Returns the status of the first call that failed. */
static conv1dt_status bcase_setup(bcase *c, ref_rng *rng, bool integers) {
  c->es = ref_dtype_size(c->dt);
  conv1dt_status st = conv1dt_create(&c->cfg, c->C, c->dt, &c->layer);
  if (st != CONV1DT_OK) return st;
  const int64_t F = c->cfg.filters, K = c->cfg.kernel_size;
  c->nx = (size_t)(c->B * c->L * c->C);
  c->nk = (size_t)(K * F * c->C);
  c->nb = (size_t)F;
  st = conv1dt_output_shape(c->layer, c->B, c->L, c->yshape);
  if (st != CONV1DT_OK) return st;
  ck_assert_int_eq(conv1dt_preactivation_shape(c->layer, c->B, c->L, c->zshape), CONV1DT_OK);
  c->ny = prod3(c->yshape);
  c->nz = prod3(c->zshape);
  const double lo = integers ? -2 : -1, hi = integers ? 2 : 1;
  c->x = ref_random_array(rng, c->dt, c->nx, lo, hi, integers, &c->xd);
  c->k = ref_random_array(rng, c->dt, c->nk, lo, hi, integers, &c->kd);
  c->b = ref_random_array(rng, c->dt, c->nb, lo, hi, integers, &c->bd);
  c->dy = ref_random_array(rng, c->dt, c->ny, lo, hi, integers, &c->dyd);
  c->y = malloc((c->ny ? c->ny : 1) * c->es);
  c->pre = malloc((c->nz ? c->nz : 1) * c->es);
  ck_assert(c->x && c->k && c->b && c->dy && c->y && c->pre);
  st = conv1dt_set_weights(c->layer, c->k, c->cfg.use_bias ? c->b : NULL);
  if (st != CONV1DT_OK) return st;
  st = conv1dt_forward_train(c->layer, c->x, c->B, c->L, c->y, c->pre, NULL, 0);
  if (st != CONV1DT_OK) return st;
  c->yd = ref_to_double(c->dt, c->y, c->ny);
  c->pred = ref_to_double(c->dt, c->pre, c->nz);
  ck_assert(c->yd && c->pred);
  return CONV1DT_OK;
}

/* The worst errors seen, for the report. */
typedef struct {
  double worst_ratio; /* max |got - want| / tol */
  double worst_rel;   /* max |got - want| / |want| where |want| > 100 tol (well conditioned) */
} err_stats;

static size_t judge(conv1dt_dtype dt, const void *got, const double *want, const double *tol,
                    size_t n, err_stats *es, char *msg, size_t msg_size, const char *what) {
  size_t bad = 0;
  for (size_t i = 0; i < n; i++) {
    const double g =
        dt == CONV1DT_FLOAT32 ? (double)((const float *)got)[i] : ((const double *)got)[i];
    const double d = fabs(g - want[i]);
    if (!(d <= tol[i])) {
      if (bad < 3)
        tn_appendf(msg, msg_size, "%s[%zu] = %.17g, expected %.17g (tol %.3g)\n", what, i, g,
                   want[i], tol[i]);
      bad++;
    }
    if (es && d == d) {
      if (tol[i] > 0 && d / tol[i] > es->worst_ratio) es->worst_ratio = d / tol[i];
      if (fabs(want[i]) > 100.0 * tol[i] && d / fabs(want[i]) > es->worst_rel)
        es->worst_rel = d / fabs(want[i]);
    }
  }
  return bad;
}

static bool same_bits(const void *a, const void *b, size_t bytes) {
  return memcmp(a, b, bytes) == 0;
}

/* Equal values, element by element: the same bits, or zeros of either sign. A zero gradient's
 * sign is the summation's business when a call changes method with the workspace: a BLAS's
 * GEMM may start its sums from +0 (the reference BLAS, OpenBLAS) or from the first product
 * (ATLAS), the direct method's tiles from +0. */
static bool same_values(conv1dt_dtype dt, const void *a, const void *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const bool eq = dt == CONV1DT_FLOAT32 ? ((const float *)a)[i] == ((const float *)b)[i]
                                          : ((const double *)a)[i] == ((const double *)b)[i];
    const size_t es = dt == CONV1DT_FLOAT32 ? sizeof(float) : sizeof(double);
    if (!eq && memcmp((const char *)a + i * es, (const char *)b + i * es, es) != 0) return false;
  }
  return true;
}

/* ------------------------------------------------------------------ the sweep */

typedef struct sweep_stats {
  size_t configs, skipped, failed, calls;
  size_t per_dtype_format[2][2];
  err_stats err[2]; /* per dtype */
  size_t act_counter;
  char first[MSG_SIZE + 512];
} sweep_stats;

/* Every output in all its forms: requested or not, caller's workspace or not, pre given or
 * not (linear). Compares with the reference; returns the problems found. */
static size_t check_backward(bcase *c, ref_rng *rng, sweep_stats *st, char *msg, size_t size) {
  size_t problems = 0;
  refg_grads ref;
  ck_assert_int_eq(
      refg_backward(&c->cfg, c->C, c->dt, c->xd, c->B, c->L, c->kd, c->pred, c->yd, c->dyd, &ref),
      REF_OK);
  const size_t es = c->es;
  void *dx = malloc((c->nx + 1) * es), *dk = malloc((c->nk + 1) * es),
       *db = malloc((c->nb + 1) * es);
  ck_assert(dx && dk && db);
  /* inputs must not change */
  void *xc = malloc(c->nx * es + 1), *pc = malloc(c->nz * es + 1), *dc = malloc(c->ny * es + 1);
  ck_assert(xc && pc && dc);
  memcpy(xc, c->x, c->nx * es);
  memcpy(pc, c->pre, c->nz * es);
  memcpy(dc, c->dy, c->ny * es);

  const int rounds = 2;
  for (int round = 0; round < rounds; round++) {
    /* round 0: everything; round 1: a random subset */
    const int mask = round == 0 ? 7 : (int)ref_rng_int(rng, 0, 7);
    const bool want_dx = mask & 1, want_dk = mask & 2, want_db = mask & 4;
    ref_fill_sentinel(c->dt, dx, c->nx + 1);
    ref_fill_sentinel(c->dt, dk, c->nk + 1);
    ref_fill_sentinel(c->dt, db, c->nb + 1);
    const bool linear = ref_activation_canonical(c->cfg.activation) &&
                        strcmp(ref_activation_canonical(c->cfg.activation), "linear") == 0;
    const void *pre = linear && ref_rng_int(rng, 0, 1) ? NULL : c->pre;
    /* workspace: none, the default size, or a random size at least the smallest that works */
    void *ws = NULL;
    size_t ws_bytes = 0;
    const int wmode = (int)ref_rng_int(rng, 0, 2);
    if (wmode > 0) {
      size_t def = 0;
      ck_assert_int_eq(conv1dt_backward_workspace_size(c->layer, c->B, c->L, &def), CONV1DT_OK);
      ws_bytes = wmode == 1 ? def : (size_t)ref_rng_int(rng, 1, (int64_t)def);
      ws = malloc(ws_bytes + 64);
      ck_assert_ptr_nonnull(ws);
    }
    conv1dt_status s = conv1dt_backward(c->layer, c->x, c->B, c->L, pre, c->dy, want_dx ? dx : NULL,
                                        want_dk ? dk : NULL, want_db ? db : NULL,
                                        ws ? (char *)ws + round : NULL, ws_bytes);
    st->calls++;
    free(ws);
    if (s == CONV1DT_ERROR_WORKSPACE_TOO_SMALL && wmode == 2) {
      /* a random size below the minimum: nothing written, then retry with the default */
      if (!ref_is_sentinel(c->dt, dx, c->nx + 1) || !ref_is_sentinel(c->dt, dk, c->nk + 1) ||
          !ref_is_sentinel(c->dt, db, c->nb + 1)) {
        tn_appendf(msg, size, "refused call (workspace %zu bytes) wrote an output\n", ws_bytes);
        problems++;
      }
      s = conv1dt_backward(c->layer, c->x, c->B, c->L, pre, c->dy, want_dx ? dx : NULL,
                           want_dk ? dk : NULL, want_db ? db : NULL, NULL, 0);
      st->calls++;
    }
    if (s != CONV1DT_OK) {
      tn_appendf(msg, size, "conv1dt_backward -> %s (%s)\n", conv1dt_status_name(s),
                 conv1dt_last_error());
      problems++;
      break;
    }
    err_stats *e = &st->err[c->dt];
    if (want_dx) problems += judge(c->dt, dx, ref.dx, ref.tol_dx, c->nx, e, msg, size, "dx");
    if (want_dk) problems += judge(c->dt, dk, ref.dk, ref.tol_dk, c->nk, e, msg, size, "dkernel");
    if (want_db && c->cfg.use_bias)
      problems += judge(c->dt, db, ref.db, ref.tol_db, c->nb, e, msg, size, "dbias");
    /* nothing beyond the arrays, nothing where not asked for (or without a bias) */
    const bool db_untouched = !want_db || !c->cfg.use_bias;
    if (!ref_is_sentinel(c->dt, (char *)dx + c->nx * es, 1) ||
        !ref_is_sentinel(c->dt, (char *)dk + c->nk * es, 1) ||
        !ref_is_sentinel(c->dt, (char *)db + c->nb * es, 1) ||
        (!want_dx && !ref_is_sentinel(c->dt, dx, c->nx)) ||
        (!want_dk && !ref_is_sentinel(c->dt, dk, c->nk)) ||
        (db_untouched && !ref_is_sentinel(c->dt, db, c->nb))) {
      tn_appendf(msg, size, "wrote past an output or into one not asked for (mask %d)\n", mask);
      problems++;
    }
    if (!same_bits(xc, c->x, c->nx * es) || !same_bits(pc, c->pre, c->nz * es) ||
        !same_bits(dc, c->dy, c->ny * es)) {
      tn_appendf(msg, size, "conv1dt_backward modified an input\n");
      problems++;
    }
  }
  free(dx);
  free(dk);
  free(db);
  free(xc);
  free(pc);
  free(dc);
  refg_free(&ref);
  return problems;
}

/* `got` (n values of `shape`, from conv1dt_forward_train) against the reference forward of
 * `cfg`. */
static size_t check_vs_ref(const bcase *c, const conv1dt_config *cfg, const void *got, size_t n,
                           const int64_t shape[3], const char *what, char *msg, size_t size) {
  ref_output ref;
  if (ref_forward(cfg, c->C, c->dt, c->xd, c->B, c->L, c->kd, c->bd, &ref) != REF_OK) {
    tn_appendf(msg, size, "reference forward failed\n");
    return 1;
  }
  size_t bad = 0;
  if (ref.count != n || memcmp(ref.shape, shape, sizeof ref.shape) != 0) {
    tn_appendf(msg, size, "%s: shape (%" PRId64 ", %" PRId64 ", %" PRId64 ") is wrong\n", what,
               shape[0], shape[1], shape[2]);
    bad = 1;
  } else {
    char cmp[512] = "";
    bad = ref_compare(c->dt, got, ref.y, ref.tol, n, cmp, sizeof cmp);
    if (bad) tn_appendf(msg, size, "%s: %s\n", what, cmp);
  }
  ref_output_free(&ref);
  return bad;
}

/* conv1dt_forward_train's pre against the reference forward without activation, and its y
 * against the reference forward. */
static size_t check_train(const bcase *c, char *msg, size_t size) {
  conv1dt_config lin = c->cfg;
  lin.activation = NULL;
  return check_vs_ref(c, &lin, c->pre, c->nz, c->zshape, "pre", msg, size) +
         check_vs_ref(c, &c->cfg, c->y, c->ny, c->yshape, "forward_train y", msg, size);
}

static const char *pick_activation(ref_rng *rng, sweep_stats *st) {
  /* 20 % linear (NULL or "linear"); the rest cycle through every name and alias */
  if (ref_rng_int(rng, 0, 4) == 0) return ref_rng_int(rng, 0, 1) ? NULL : "linear";
  return tn_activation_names[2 + st->act_counter++ % (tn_activation_count - 2)];
}

static void sweep_one(ref_rng *rng, sweep_stats *st, conv1dt_dtype dt, conv1dt_data_format df) {
  const int64_t s = ref_rng_int(rng, 1, 4);
  const int64_t d = s > 1 ? 1 : ref_rng_int(rng, 1, 3);
  const int64_t K = ref_rng_int(rng, 1, 5);
  bcase c;
  memset(&c, 0, sizeof c);
  c.cfg = conv1dt_config_default(ref_rng_int(rng, 1, 8), K);
  c.cfg.strides = s;
  c.cfg.dilation_rate = d;
  /* forward_train's pre-activations through every forward method */
  c.cfg.algorithm = (conv1dt_algorithm)ref_rng_int(rng, 0, 3);
  c.cfg.output_padding =
      ref_rng_int(rng, 0, 2) ? CONV1DT_OUTPUT_PADDING_NONE : ref_rng_int(rng, 0, s - 1);
  c.cfg.padding = ref_rng_int(rng, 0, 1) ? CONV1DT_PADDING_SAME : CONV1DT_PADDING_VALID;
  c.cfg.data_format = df;
  c.cfg.use_bias = ref_rng_int(rng, 0, 3) != 0;
  c.cfg.activation = pick_activation(rng, st);
  /* small layer limits make several blocks per call */
  if (ref_rng_int(rng, 0, 2) == 0) c.cfg.workspace_limit = (size_t)ref_rng_int(rng, 1500, 20000);
  if (c.cfg.activation && strcmp(c.cfg.activation, "glu") == 0 && df == CONV1DT_CHANNELS_LAST &&
      c.cfg.filters % 2)
    c.cfg.filters++;
  c.C = ref_rng_int(rng, 1, 6);
  c.B = ref_rng_int(rng, 0, 3);
  c.L = ref_rng_int(rng, 1, 14);
  c.dt = dt;
  char desc[256], msg[MSG_SIZE] = "";
  ref_describe(&c.cfg, c.C, dt, c.B, c.L, desc, sizeof desc);
  const bool integers = ref_rng_int(rng, 0, 3) == 0;
  conv1dt_status s0 = bcase_setup(&c, rng, integers);
  if (s0 == CONV1DT_ERROR_SHAPE_MISMATCH || s0 == CONV1DT_ERROR_WORKSPACE_TOO_SMALL) {
    /* glu over an odd number of steps, or a layer limit below the forward's minimum */
    st->skipped++;
    bcase_free(&c);
    return;
  }
  ck_assert_msg(s0 == CONV1DT_OK, "[%s] setup -> %s (%s)", desc, conv1dt_status_name(s0),
                conv1dt_last_error());
  size_t wbytes = 0;
  if (conv1dt_backward_workspace_size(c.layer, c.B, c.L, &wbytes) ==
      CONV1DT_ERROR_WORKSPACE_TOO_SMALL) {
    /* the layer's limit fits the forward but not the backward: a hard cap for it too */
    void *dx = malloc((c.nx + 1) * c.es);
    ck_assert_ptr_nonnull(dx);
    ref_fill_sentinel(dt, dx, c.nx + 1);
    ck_assert_int_eq(conv1dt_backward(c.layer, c.x, c.B, c.L, c.pre, c.dy, dx, NULL, NULL, NULL, 0),
                     c.B && c.ny ? CONV1DT_ERROR_WORKSPACE_TOO_SMALL : CONV1DT_OK);
    if (c.B && c.ny) ck_assert(ref_is_sentinel(dt, dx, c.nx + 1));
    free(dx);
    st->skipped++;
    bcase_free(&c);
    return;
  }
  st->configs++;
  st->per_dtype_format[dt][df]++;
  size_t bad = check_train(&c, msg, sizeof msg);
  bad += check_backward(&c, rng, st, msg, sizeof msg);
  if (bad) {
    st->failed++;
    if (!st->first[0]) snprintf(st->first, sizeof st->first, "[%s]\n%s", desc, msg);
  }
  bcase_free(&c);
}

START_TEST(test_sweep) {
  /* _i: 0..3 = (dtype, format) */
  const conv1dt_dtype dt = (_i & 1) ? CONV1DT_FLOAT64 : CONV1DT_FLOAT32;
  const conv1dt_data_format df = (_i & 2) ? CONV1DT_CHANNELS_FIRST : CONV1DT_CHANNELS_LAST;
  ref_rng rng;
  ref_rng_seed(&rng, 0xBAC4 + (uint64_t)_i);
  sweep_stats st;
  memset(&st, 0, sizeof st);
  const size_t wanted = 400; /* per (dtype, format): 1600 in all */
  while (st.configs < wanted) sweep_one(&rng, &st, dt, df);
  printf("test_sweep[%s, %s]: %zu configurations (%zu skipped as invalid), %zu backward calls, "
         "%zu failed; worst |error|/tolerance %.3g, worst relative error %.3g\n",
         dt == CONV1DT_FLOAT32 ? "float32" : "float64",
         df == CONV1DT_CHANNELS_FIRST ? "channels_first" : "channels_last", st.configs, st.skipped,
         st.calls, st.failed, st.err[dt].worst_ratio, st.err[dt].worst_rel);
  ck_assert_msg(st.failed == 0, "%zu of %zu configurations failed; first:\n%s", st.failed,
                st.configs, st.first);
}
END_TEST

/* Every activation (and alias) at least a few times in each dtype and format, with larger
 * rows for the axis-wise ones. */
START_TEST(test_every_activation) {
  ref_rng rng;
  ref_rng_seed(&rng, 0xAC7);
  size_t configs = 0, failed = 0;
  char first[MSG_SIZE + 512] = "";
  for (size_t a = 0; a < tn_activation_count; a++)
    for (int v = 0; v < 8; v++) {
      bcase c;
      memset(&c, 0, sizeof c);
      const conv1dt_data_format df = (v & 1) ? CONV1DT_CHANNELS_FIRST : CONV1DT_CHANNELS_LAST;
      c.dt = (v & 2) ? CONV1DT_FLOAT64 : CONV1DT_FLOAT32;
      c.cfg = conv1dt_config_default(ref_rng_int(&rng, 1, 12) * 2, ref_rng_int(&rng, 1, 4));
      c.cfg.strides = ref_rng_int(&rng, 1, 3);
      c.cfg.padding = (v & 4) ? CONV1DT_PADDING_SAME : CONV1DT_PADDING_VALID;
      c.cfg.data_format = df;
      c.cfg.activation = tn_activation_names[a];
      c.cfg.output_padding =
          c.cfg.padding == CONV1DT_PADDING_SAME ? CONV1DT_OUTPUT_PADDING_NONE : c.cfg.strides - 1;
      c.C = ref_rng_int(&rng, 1, 5);
      c.B = ref_rng_int(&rng, 1, 3);
      c.L = 2 * ref_rng_int(&rng, 1, 8); /* steps * strides even: glu over steps works */
      char desc[256], msg[MSG_SIZE] = "";
      ref_describe(&c.cfg, c.C, c.dt, c.B, c.L, desc, sizeof desc);
      conv1dt_status s = bcase_setup(&c, &rng, false);
      if (s == CONV1DT_ERROR_SHAPE_MISMATCH) {
        bcase_free(&c);
        continue;
      }
      ck_assert_msg(s == CONV1DT_OK, "[%s] setup -> %s", desc, conv1dt_status_name(s));
      sweep_stats st;
      memset(&st, 0, sizeof st);
      size_t bad =
          check_train(&c, msg, sizeof msg) + check_backward(&c, &rng, &st, msg, sizeof msg);
      configs++;
      if (bad && !failed++) snprintf(first, sizeof first, "[%s]\n%s", desc, msg);
      bcase_free(&c);
    }
  printf("test_every_activation: %zu configurations over %zu names, %zu failed\n", configs,
         tn_activation_count, failed);
  ck_assert_msg(failed == 0, "%zu failed; first:\n%s", failed, first);
}
END_TEST

/* ------------------------------------------------------------------ breakpoints */

/* Integer pre-activations hit the breakpoints exactly: the derivative there must be JAX's
 * (relu'(0) = 0, leaky_relu'(0) = 1, hard_tanh'(+-1) = 1, sparse_sigmoid'(+-1) = 1/4, ...). A
 * 1x1 kernel of 1 and zero bias make pre = x, dy = 1, so dx = act'(x). */
START_TEST(test_breakpoints) {
  static const struct {
    const char *name;
    double x, want;
  } cases[] = {
      {"relu", 0, 0},
      {"relu", 1, 1},
      {"leaky_relu", 0, 1},
      {"leaky_relu", -1, 0.2},
      {"relu6", 0, 0},
      {"relu6", 6, 0},
      {"relu6", 5, 1},
      {"elu", 0, 1},
      {"celu", 0, 1},
      {"selu", 0, 1.7580993408473766},
      {"soft_shrink", 0.5, 0},
      {"soft_shrink", -0.5, 0},
      {"hard_shrink", 0.5, 0},
      {"hard_shrink", -0.5, 0},
      {"hard_shrink", 0.75, 1},
      {"sparse_plus", -1, 0},
      {"sparse_plus", 1, 1},
      {"sparse_plus", 0, 0.5},
      {"sparse_sigmoid", -1, 0.25},
      {"sparse_sigmoid", 1, 0.25},
      {"sparse_sigmoid", 0, 0.5},
      {"hard_sigmoid", -3, 0},
      {"hard_sigmoid", 3, 0},
      {"hard_sigmoid", 0, 1.0 / 6},
      {"hard_silu", -3, 0},
      {"hard_silu", 3, 1},
      {"hard_silu", 0, 0.5},
      {"hard_tanh", 1, 1},
      {"hard_tanh", -1, 1},
      {"hard_tanh", 2, 0},
      {"softsign", 0, 1},
      {"softplus", 0, 0.5},
      {"silu", 0, 0.5},
      {"gelu", 0, 0.5},
      {"tanh", 0, 1},
      {"tanh_shrink", 0, 0},
      {"exponential", 0, 1},
      {"mish", 0, 0.6},
      {"log_sigmoid", 0, 0.5},
      {"sigmoid", 0, 0.25},
      {"linear", 0, 1},
  };
  for (int dti = 0; dti < 2; dti++) {
    const conv1dt_dtype dt = dti ? CONV1DT_FLOAT64 : CONV1DT_FLOAT32;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      conv1dt_config cfg = conv1dt_config_default(1, 1);
      cfg.activation = cases[i].name;
      conv1dt_layer *layer = NULL;
      ck_assert_int_eq(conv1dt_create(&cfg, 1, dt, &layer), CONV1DT_OK);
      double one = 1.0, zero = 0.0;
      float onef = 1.0f, zerof = 0.0f;
      ck_assert_int_eq(conv1dt_set_weights(layer, dti ? (void *)&one : (void *)&onef,
                                           dti ? (void *)&zero : (void *)&zerof),
                       CONV1DT_OK);
      double xd = cases[i].x, dyd = 1.0, pred = 0, dxd = -7;
      float xf = (float)cases[i].x, dyf = 1.0f, pref = 0, dxf = -7;
      void *x = dti ? (void *)&xd : (void *)&xf, *dy = dti ? (void *)&dyd : (void *)&dyf;
      void *pre = dti ? (void *)&pred : (void *)&pref, *dx = dti ? (void *)&dxd : (void *)&dxf;
      double y[2];
      ck_assert_int_eq(conv1dt_forward_train(layer, x, 1, 1, y, pre, NULL, 0), CONV1DT_OK);
      ck_assert_int_eq(conv1dt_backward(layer, x, 1, 1, pre, dy, dx, NULL, NULL, NULL, 0),
                       CONV1DT_OK);
      const double got = dti ? dxd : (double)dxf;
      const double tol = dti ? 1e-15 : 1e-6;
      ck_assert_msg(fabs(got - cases[i].want) <= tol, "%s'(%g) [%s] = %.17g, expected %.17g",
                    cases[i].name, cases[i].x, dti ? "float64" : "float32", got, cases[i].want);
      /* the reference agrees (it is what the sweep judges by) */
      ck_assert_msg(
          fabs(refg_activation_derivative(ref_activation_canonical(cases[i].name), cases[i].x) -
               cases[i].want) <= 1e-15,
          "reference %s'(%g)", cases[i].name, cases[i].x);
      conv1dt_destroy(layer);
    }
  }
}
END_TEST

/* ------------------------------------------------------------------ finite differences */

typedef struct fd_stats {
  size_t configs, checks, rejected;
  double worst_rel; /* max |fd - an| / |an| over components with |an| >= 1e-2 max|an| */
  double worst_abs; /* max |fd - an| / max|an| over the others */
} fd_stats;

/* L = sum r_i y_i for the current weights and x (long double sum). */
static long double functional(conv1dt_layer *layer, const double *x, int64_t B, int64_t L,
                              const double *r, double *y, size_t ny) {
  ck_assert_int_eq(conv1dt_forward(layer, x, B, L, y, NULL, 0), CONV1DT_OK);
  long double s = 0;
  for (size_t i = 0; i < ny; i++) s += (long double)r[i] * y[i];
  return s;
}

#define FD_H 1e-6
#define FD_REL 1e-6      /* relative error allowed ... */
#define FD_RESOLVED 1e-2 /* ... for components at least this fraction of the largest */
#define FD_SMALL 1e-8    /* the others: error allowed, as a fraction of the largest */

/* Compares analytic gradient g (n) with central differences over every component of theta,
 * `apply` pushing theta into the layer. */
typedef void (*fd_apply)(bcase *c, const double *theta);
static void apply_x(bcase *c, const double *theta) {
  memcpy(c->xd, theta, c->nx * sizeof(double));
}
static void apply_k(bcase *c, const double *theta) {
  ck_assert_int_eq(conv1dt_set_weights(c->layer, theta, c->cfg.use_bias ? c->bd : NULL),
                   CONV1DT_OK);
}
static void apply_b(bcase *c, const double *theta) {
  ck_assert_int_eq(conv1dt_set_weights(c->layer, c->kd, theta), CONV1DT_OK);
}

static void fd_compare(bcase *c, const char *what, const double *theta0, size_t n, fd_apply apply,
                       const double *grad, double gmax, fd_stats *st, const char *desc) {
  double *theta = malloc((n ? n : 1) * sizeof *theta), *y = malloc((c->ny + 1) * sizeof *y);
  double *orig = malloc((n ? n : 1) * sizeof *orig);
  ck_assert(theta && y && orig);
  memcpy(theta, theta0, n * sizeof *theta);
  memcpy(orig, theta0, n * sizeof *orig);
  for (size_t i = 0; i < n; i++) {
    const double t = theta[i], tp = t + FD_H, tm = t - FD_H;
    theta[i] = tp;
    apply(c, theta);
    const long double lp = functional(c->layer, c->xd, c->B, c->L, c->dyd, y, c->ny);
    theta[i] = tm;
    apply(c, theta);
    const long double lm = functional(c->layer, c->xd, c->B, c->L, c->dyd, y, c->ny);
    theta[i] = t;
    const double fd = (double)((lp - lm) / (long double)(tp - tm));
    const double an = grad[i], diff = fabs(fd - an);
    st->checks++;
    if (fabs(an) >= FD_RESOLVED * gmax && an != 0) {
      const double rel = diff / fabs(an);
      if (rel > st->worst_rel) st->worst_rel = rel;
      ck_assert_msg(rel < FD_REL,
                    "[%s] d/d%s[%zu]: analytic %.17g, finite difference %.17g "
                    "(relative error %.3g)",
                    desc, what, i, an, fd, rel);
    } else {
      /* components far below the largest: the differences' rounding noise (~1e-10 of the
       * largest) would dominate a relative error, so they are judged against the largest */
      const double rel = gmax > 0 ? diff / gmax : diff;
      if (rel > st->worst_abs) st->worst_abs = rel;
      ck_assert_msg(rel < FD_SMALL,
                    "[%s] d/d%s[%zu]: analytic %.17g, finite difference %.17g "
                    "(error %.3g of the largest component %.3g)",
                    desc, what, i, an, fd, rel, gmax);
    }
  }
  apply(c, orig);
  free(orig);
  free(theta);
  free(y);
}

START_TEST(test_finite_differences) {
  /* _i: activation index (canonical names and aliases) */
  const char *act = tn_activation_names[_i];
  ref_rng rng;
  ref_rng_seed(&rng, 0xFD00 + (uint64_t)_i);
  fd_stats st;
  memset(&st, 0, sizeof st);
  for (int v = 0; v < 6; v++) {
    bcase proto;
    memset(&proto, 0, sizeof proto);
    const int64_t s = ref_rng_int(&rng, 1, 3);
    proto.dt = CONV1DT_FLOAT64;
    proto.cfg = conv1dt_config_default(2 * ref_rng_int(&rng, 1, 2), ref_rng_int(&rng, 1, 3));
    proto.cfg.strides = s;
    proto.cfg.dilation_rate = s > 1 ? 1 : ref_rng_int(&rng, 1, 2);
    proto.cfg.padding = (v & 2) ? CONV1DT_PADDING_SAME : CONV1DT_PADDING_VALID;
    proto.cfg.output_padding = (v & 4) ? ref_rng_int(&rng, 0, s - 1) : CONV1DT_OUTPUT_PADDING_NONE;
    proto.cfg.data_format = (v & 1) ? CONV1DT_CHANNELS_FIRST : CONV1DT_CHANNELS_LAST;
    proto.cfg.use_bias = true;
    proto.cfg.activation = act;
    proto.C = ref_rng_int(&rng, 1, 3);
    proto.B = ref_rng_int(&rng, 1, 2);
    proto.L = 2 * ref_rng_int(&rng, 1, 3);
    char desc[256];
    ref_describe(&proto.cfg, proto.C, proto.dt, proto.B, proto.L, desc, sizeof desc);
    /* redraw the data until no pre-activation is within 1e-3 of a breakpoint */
    bcase c = proto;
    conv1dt_status s0;
    for (int tries = 0;; tries++) {
      s0 = bcase_setup(&c, &rng, false);
      if (s0 != CONV1DT_OK) break;
      const int64_t T = c.cfg.data_format == CONV1DT_CHANNELS_FIRST ? c.zshape[2] : c.zshape[1];
      if (refg_min_kink_distance(&c.cfg, c.pred, c.B, T) >= 1e-3) break;
      st.rejected++;
      ck_assert_msg(tries < 500, "[%s] no sample away from the breakpoints", desc);
      bcase_free(&c);
      c = proto;
    }
    if (s0 == CONV1DT_ERROR_SHAPE_MISMATCH) { /* glu over an odd number of steps */
      bcase_free(&c);
      continue;
    }
    ck_assert_msg(s0 == CONV1DT_OK, "[%s] setup -> %s", desc, conv1dt_status_name(s0));
    if (c.ny == 0) {
      bcase_free(&c);
      continue;
    }
    st.configs++;
    double *gx = malloc(c.nx * sizeof *gx), *gk = malloc(c.nk * sizeof *gk),
           *gb = malloc(c.nb * sizeof *gb);
    ck_assert(gx && gk && gb);
    ck_assert_int_eq(conv1dt_backward(c.layer, c.xd, c.B, c.L, c.pre, c.dyd, gx, gk, gb, NULL, 0),
                     CONV1DT_OK);
    /* components far below the largest of all three gradients are judged against it */
    double gmax = 0;
    for (size_t i = 0; i < c.nx; i++) gmax = fmax(gmax, fabs(gx[i]));
    for (size_t i = 0; i < c.nk; i++) gmax = fmax(gmax, fabs(gk[i]));
    for (size_t i = 0; i < c.nb; i++) gmax = fmax(gmax, fabs(gb[i]));
    fd_compare(&c, "x", c.xd, c.nx, apply_x, gx, gmax, &st, desc);
    fd_compare(&c, "kernel", c.kd, c.nk, apply_k, gk, gmax, &st, desc);
    fd_compare(&c, "bias", c.bd, c.nb, apply_b, gb, gmax, &st, desc);
    free(gx);
    free(gk);
    free(gb);
    bcase_free(&c);
  }
  printf("test_finite_differences[%s]: %zu configurations, %zu components checked, %zu samples "
         "redrawn near breakpoints; worst relative error %.3g, worst error of small components "
         "%.3g (of the largest)\n",
         act ? act : "None", st.configs, st.checks, st.rejected, st.worst_rel, st.worst_abs);
  ck_assert_uint_gt(st.configs, 0);
}
END_TEST

/* ------------------------------------------------------------------ block-size independence */

/* The smallest caller workspace the backward accepts, found by bisection on the status and
 * checked against conv1dt_backward_min_workspace_size. */
static size_t min_backward_workspace(bcase *c, void *dx) {
  size_t lo = 0, hi = 0;
  ck_assert_int_eq(conv1dt_backward_workspace_size(c->layer, c->B, c->L, &hi), CONV1DT_OK);
  void *ws = malloc(hi + 64);
  ck_assert_ptr_nonnull(ws);
  while (lo + 1 < hi) { /* invariant: lo fails (or is 0), hi works */
    const size_t mid = lo + (hi - lo) / 2;
    const conv1dt_status s =
        conv1dt_backward(c->layer, c->x, c->B, c->L, c->pre, c->dy, dx, NULL, NULL, ws, mid);
    ck_assert(s == CONV1DT_OK || s == CONV1DT_ERROR_WORKSPACE_TOO_SMALL);
    if (s == CONV1DT_OK)
      hi = mid;
    else
      lo = mid;
  }
  free(ws);
  size_t published = 0;
  ck_assert_int_eq(conv1dt_backward_min_workspace_size(c->layer, c->B, c->L, &published),
                   CONV1DT_OK);
  ck_assert_uint_eq(published, hi); /* the API's minimum is exactly the least accepted size */
  return hi;
}

/* Same layer and data through the default workspace, the smallest one (one row per block,
 * misaligned), a few sizes in between and small layer limits: with integer data and 0/1
 * derivatives every sum is exact, so all results must be equal (dbias bit for bit, dx and
 * dkernel up to the sign of a zero: see same_values); otherwise dbias (summed in a fixed order)
 * must still be, and dx, dkernel within the reference tolerance. */
static void check_blocks(ref_rng *rng, const char *act, conv1dt_dtype dt, conv1dt_data_format df,
                         bool integers, size_t *runs) {
  bcase c;
  memset(&c, 0, sizeof c);
  const int64_t s = ref_rng_int(rng, 1, 3);
  c.cfg = conv1dt_config_default(2 * ref_rng_int(rng, 1, 4), ref_rng_int(rng, 1, 4));
  c.cfg.strides = s;
  c.cfg.dilation_rate = s > 1 ? 1 : ref_rng_int(rng, 1, 3);
  c.cfg.padding = ref_rng_int(rng, 0, 1) ? CONV1DT_PADDING_SAME : CONV1DT_PADDING_VALID;
  c.cfg.output_padding =
      ref_rng_int(rng, 0, 1) ? CONV1DT_OUTPUT_PADDING_NONE : ref_rng_int(rng, 0, s - 1);
  c.cfg.data_format = df;
  c.cfg.activation = act;
  c.C = ref_rng_int(rng, 1, 5);
  c.B = ref_rng_int(rng, 1, 4);
  c.L = 2 * ref_rng_int(rng, 3, 20);
  c.dt = dt;
  char desc[256];
  ref_describe(&c.cfg, c.C, dt, c.B, c.L, desc, sizeof desc);
  conv1dt_status s0 = bcase_setup(&c, rng, integers);
  if (s0 == CONV1DT_ERROR_SHAPE_MISMATCH) {
    bcase_free(&c);
    return;
  }
  ck_assert_msg(s0 == CONV1DT_OK, "[%s] setup", desc);
  const size_t es = c.es, bx = c.nx * es, bk = c.nk * es, bb = c.nb * es;
  void *rx = malloc(bx + 1), *rk = malloc(bk + 1), *rb = malloc(bb + 1);
  void *gx = malloc(bx + 1), *gk = malloc(bk + 1), *gb = malloc(bb + 1);
  ck_assert(rx && rk && rb && gx && gk && gb);
  ck_assert_int_eq(conv1dt_backward(c.layer, c.x, c.B, c.L, c.pre, c.dy, rx, rk, rb, NULL, 0),
                   CONV1DT_OK);
  refg_grads ref;
  ck_assert_int_eq(refg_backward(&c.cfg, c.C, dt, c.xd, c.B, c.L, c.kd, c.pred, c.yd, c.dyd, &ref),
                   REF_OK);
  char msg[MSG_SIZE] = "";
  ck_assert_msg(judge(dt, rx, ref.dx, ref.tol_dx, c.nx, NULL, msg, sizeof msg, "dx") +
                        judge(dt, rk, ref.dk, ref.tol_dk, c.nk, NULL, msg, sizeof msg, "dk") +
                        judge(dt, rb, ref.db, ref.tol_db, c.nb, NULL, msg, sizeof msg, "db") ==
                    0,
                "[%s] %s", desc, msg);
  const size_t wmin = min_backward_workspace(&c, gx);
  size_t wdef = 0;
  ck_assert_int_eq(conv1dt_backward_workspace_size(c.layer, c.B, c.L, &wdef), CONV1DT_OK);
  ck_assert_uint_le(wmin, wdef);
  const size_t sizes[] = {wmin,       wmin + 1,          wmin + 7, wmin + 100,
                          wmin + 999, (wmin + wdef) / 2, wdef};
  char *ws = malloc(wdef + 64);
  ck_assert_ptr_nonnull(ws);
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    if (sizes[i] > wdef) continue;
    ck_assert_int_eq(
        conv1dt_backward(c.layer, c.x, c.B, c.L, c.pre, c.dy, gx, gk, gb, ws + (i % 8), sizes[i]),
        CONV1DT_OK);
    ++*runs;
    memset(msg, 0, sizeof msg);
    const bool exact = integers;
    ck_assert_msg(same_bits(gb, rb, bb), "[%s] workspace %zu: dbias differs", desc, sizes[i]);
    if (exact) {
      ck_assert_msg(same_values(dt, gx, rx, c.nx), "[%s] workspace %zu (min %zu): dx differs", desc,
                    sizes[i], wmin);
      ck_assert_msg(same_values(dt, gk, rk, c.nk), "[%s] workspace %zu (min %zu): dkernel differs",
                    desc, sizes[i], wmin);
    } else {
      ck_assert_msg(judge(dt, gx, ref.dx, ref.tol_dx, c.nx, NULL, msg, sizeof msg, "dx") +
                            judge(dt, gk, ref.dk, ref.tol_dk, c.nk, NULL, msg, sizeof msg, "dk") ==
                        0,
                    "[%s] workspace %zu: %s", desc, sizes[i], msg);
    }
  }
  /* below the minimum: refused, nothing written */
  ref_fill_sentinel(dt, gx, c.nx);
  ck_assert_int_eq(conv1dt_backward(c.layer, c.x, c.B, c.L, c.pre, c.dy, gx, gk, gb, ws, wmin - 1),
                   CONV1DT_ERROR_WORKSPACE_TOO_SMALL);
  ck_assert(ref_is_sentinel(dt, gx, c.nx));
  ck_assert_ptr_nonnull(strstr(conv1dt_last_error(), "minimum"));
  /* the layer's limit: the same through a NULL workspace */
  conv1dt_config cfg2 = c.cfg;
  cfg2.workspace_limit = wmin + (size_t)ref_rng_int(rng, 0, 300);
  conv1dt_layer *l2 = NULL;
  ck_assert_int_eq(conv1dt_create(&cfg2, c.C, dt, &l2), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_set_weights(l2, c.k, c.cfg.use_bias ? c.b : NULL), CONV1DT_OK);
  size_t w2 = 0;
  ck_assert_int_eq(conv1dt_backward_workspace_size(l2, c.B, c.L, &w2), CONV1DT_OK);
  ck_assert_uint_le(w2, cfg2.workspace_limit);
  ck_assert_int_eq(conv1dt_backward(l2, c.x, c.B, c.L, c.pre, c.dy, gx, gk, gb, NULL, 0),
                   CONV1DT_OK);
  ++*runs;
  ck_assert_msg(same_bits(gb, rb, bb), "[%s] limit %zu: dbias differs", desc, cfg2.workspace_limit);
  if (integers) ck_assert(same_values(dt, gx, rx, c.nx) && same_values(dt, gk, rk, c.nk));
  conv1dt_destroy(l2);
  cfg2.workspace_limit = wmin - 1;
  ck_assert_int_eq(conv1dt_create(&cfg2, c.C, dt, &l2), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_backward_workspace_size(l2, c.B, c.L, &w2),
                   CONV1DT_ERROR_WORKSPACE_TOO_SMALL);
  conv1dt_destroy(l2);
  free(ws);
  refg_free(&ref);
  free(rx);
  free(rk);
  free(rb);
  free(gx);
  free(gk);
  free(gb);
  bcase_free(&c);
}

START_TEST(test_block_independence_exact) {
  /* 0/1 derivatives keep integer data integer */
  static const char *const acts[] = {NULL,          "relu",        "relu6", "hard_tanh",
                                     "hard_shrink", "soft_shrink", "linear"};
  ref_rng rng;
  ref_rng_seed(&rng, 0xB10C);
  size_t runs = 0, layers = 0;
  for (int rep = 0; rep < 6; rep++)
    for (size_t a = 0; a < sizeof acts / sizeof acts[0]; a++)
      for (int df = 0; df < 2; df++) {
        check_blocks(&rng, acts[a], CONV1DT_FLOAT64, (conv1dt_data_format)df, true, &runs);
        layers++;
      }
  printf("test_block_independence_exact: %zu layers, %zu backward calls, bitwise equal\n", layers,
         runs);
}
END_TEST

START_TEST(test_block_independence_random) {
  ref_rng rng;
  ref_rng_seed(&rng, 0xB10D);
  size_t runs = 0, layers = 0;
  for (size_t a = 0; a < tn_activation_count; a++)
    for (int v = 0; v < 4; v++) {
      check_blocks(&rng, tn_activation_names[a], (v & 2) ? CONV1DT_FLOAT64 : CONV1DT_FLOAT32,
                   (conv1dt_data_format)(v & 1), false, &runs);
      layers++;
    }
  printf("test_block_independence_random: %zu layers, %zu backward calls\n", layers, runs);
}
END_TEST

/* channels_first blocks of whole samples: a batch of short samples through workspaces from the
 * smallest to the default, so that blocks hold one to all of the samples (2 and 3 of 7 leave
 * a short last block: a boundary inside the batch), against the reference; dbias, summed in a
 * fixed order, keeps its bits throughout. */
START_TEST(test_sample_blocks) {
  static const char *const acts[] = {"relu", "gelu", "softmax", NULL};
  const conv1dt_dtype dt = _i ? CONV1DT_FLOAT64 : CONV1DT_FLOAT32;
  ref_rng rng;
  ref_rng_seed(&rng, 0x5B10 + (uint64_t)_i);
  size_t runs = 0;
  for (int rep = 0; rep < 8; rep++) {
    bcase c;
    memset(&c, 0, sizeof c);
    const int64_t s = ref_rng_int(&rng, 1, 3);
    c.cfg = conv1dt_config_default(ref_rng_int(&rng, 2, 9), ref_rng_int(&rng, 1, 5));
    c.cfg.strides = s;
    c.cfg.dilation_rate = s > 1 ? 1 : ref_rng_int(&rng, 1, 2);
    c.cfg.padding = rep % 2 ? CONV1DT_PADDING_SAME : CONV1DT_PADDING_VALID;
    c.cfg.data_format = CONV1DT_CHANNELS_FIRST;
    c.cfg.activation = acts[rep % 4];
    c.C = ref_rng_int(&rng, 1, 6);
    c.B = 7;
    c.L = ref_rng_int(&rng, 2, 12);
    c.dt = dt;
    char desc[256], msg[MSG_SIZE] = "";
    ref_describe(&c.cfg, c.C, dt, c.B, c.L, desc, sizeof desc);
    ck_assert_msg(bcase_setup(&c, &rng, false) == CONV1DT_OK, "[%s] setup: %s", desc,
                  conv1dt_last_error());
    refg_grads ref;
    ck_assert_int_eq(
        refg_backward(&c.cfg, c.C, dt, c.xd, c.B, c.L, c.kd, c.pred, c.yd, c.dyd, &ref), REF_OK);
    const size_t bx = c.nx * c.es, bk = c.nk * c.es, bb = c.nb * c.es;
    void *gx = malloc(bx), *gk = malloc(bk), *gb = malloc(bb), *rb = malloc(bb);
    ck_assert(gx && gk && gb && rb);
    ck_assert_int_eq(conv1dt_backward(c.layer, c.x, c.B, c.L, c.pre, c.dy, gx, gk, rb, NULL, 0),
                     CONV1DT_OK);
    size_t wmin = 0, wdef = 0;
    ck_assert_int_eq(conv1dt_backward_min_workspace_size(c.layer, c.B, c.L, &wmin), CONV1DT_OK);
    ck_assert_int_eq(conv1dt_backward_workspace_size(c.layer, c.B, c.L, &wdef), CONV1DT_OK);
    ck_assert_uint_le(wmin, wdef);
    char *ws = malloc(wdef + 64);
    ck_assert_ptr_nonnull(ws);
    for (int64_t k = 0; k <= c.B; k++) {
      const size_t bytes = wmin + (wdef - wmin) * (size_t)k / (size_t)c.B;
      ck_assert_int_eq(
          conv1dt_backward(c.layer, c.x, c.B, c.L, c.pre, c.dy, gx, gk, gb, ws + k % 8, bytes),
          CONV1DT_OK);
      runs++;
      ck_assert_msg(judge(dt, gx, ref.dx, ref.tol_dx, c.nx, NULL, msg, sizeof msg, "dx") +
                            judge(dt, gk, ref.dk, ref.tol_dk, c.nk, NULL, msg, sizeof msg, "dk") +
                            judge(dt, gb, ref.db, ref.tol_db, c.nb, NULL, msg, sizeof msg, "db") ==
                        0,
                    "[%s] workspace %zu of %zu: %s", desc, bytes, wdef, msg);
      ck_assert_msg(same_bits(gb, rb, bb), "[%s] workspace %zu: dbias differs", desc, bytes);
    }
    free(ws);
    free(gx);
    free(gk);
    free(gb);
    free(rb);
    refg_free(&ref);
    bcase_free(&c);
  }
  printf("test_sample_blocks[%s]: %zu backward calls\n", _i ? "float64" : "float32", runs);
}
END_TEST

/* channels_first layers large enough that a block's preparation is shared by a team: integer
 * data and relu keep every sum exact, so that the gradients must have the same bits with 1, 2
 * and 3 threads, with the default workspace and a quarter of it (a few samples per block, or
 * more segments of a long sample), and match the reference. */
START_TEST(test_sample_blocks_threads) {
  const conv1dt_dtype dt = _i ? CONV1DT_FLOAT64 : CONV1DT_FLOAT32;
  ref_rng rng;
  ref_rng_seed(&rng, 0x5B1D + (uint64_t)_i);
  int saved = 0;
  ck_assert_int_eq(conv1dt_get_num_threads(&saved), CONV1DT_OK);
  for (int rep = 0; rep < 3; rep++) { /* rep 2: long samples, in segments */
    bcase c;
    memset(&c, 0, sizeof c);
    c.cfg = conv1dt_config_default(96 + rep, 4 - rep % 2);
    c.cfg.strides = 2;
    c.cfg.padding = rep ? CONV1DT_PADDING_VALID : CONV1DT_PADDING_SAME;
    c.cfg.data_format = CONV1DT_CHANNELS_FIRST;
    c.cfg.activation = "relu";
    c.cfg.algorithm = CONV1DT_ALGORITHM_GEMM;
    c.C = 8;
    c.B = rep < 2 ? 29 : 2;
    c.L = rep < 2 ? 64 + rep : 1500;
    c.dt = dt;
    char desc[256], msg[MSG_SIZE] = "";
    ref_describe(&c.cfg, c.C, dt, c.B, c.L, desc, sizeof desc);
    ck_assert_msg(bcase_setup(&c, &rng, true) == CONV1DT_OK, "[%s] setup: %s", desc,
                  conv1dt_last_error());
    refg_grads ref;
    ck_assert_int_eq(
        refg_backward(&c.cfg, c.C, dt, c.xd, c.B, c.L, c.kd, c.pred, c.yd, c.dyd, &ref), REF_OK);
    const size_t bx = c.nx * c.es, bk = c.nk * c.es, bb = c.nb * c.es;
    size_t wdef = 0;
    ck_assert_int_eq(conv1dt_backward_workspace_size(c.layer, c.B, c.L, &wdef), CONV1DT_OK);
    char *ws = malloc(wdef);
    ck_assert_ptr_nonnull(ws);
    const size_t sizes[2] = {wdef, wdef / 4}; /* the whole batch, or a few samples a block */
    void *g0[3] = {malloc(bx), malloc(bk), malloc(bb)},
         *g[3] = {malloc(bx), malloc(bk), malloc(bb)};
    ck_assert(g0[0] && g0[1] && g0[2] && g[0] && g[1] && g[2]);
    for (int t = 1; t <= 3; t++)
      for (int w = 0; w < 2; w++) {
        const conv1dt_status st = conv1dt_set_num_threads(t);
        ck_assert(st == CONV1DT_OK || st == CONV1DT_ERROR_UNSUPPORTED);
        void **out = t == 1 && w == 0 ? g0 : g;
        ck_assert_msg(conv1dt_backward(c.layer, c.x, c.B, c.L, c.pre, c.dy, out[0], out[1], out[2],
                                       ws, sizes[w]) == CONV1DT_OK,
                      "[%s] %s", desc, conv1dt_last_error());
        if (out == g0) {
          ck_assert_msg(
              judge(dt, g0[0], ref.dx, ref.tol_dx, c.nx, NULL, msg, sizeof msg, "dx") +
                      judge(dt, g0[1], ref.dk, ref.tol_dk, c.nk, NULL, msg, sizeof msg, "dk") +
                      judge(dt, g0[2], ref.db, ref.tol_db, c.nb, NULL, msg, sizeof msg, "db") ==
                  0,
              "[%s] %s", desc, msg);
          continue;
        }
        ck_assert_msg(same_bits(g[0], g0[0], bx) && same_bits(g[1], g0[1], bk) &&
                          same_bits(g[2], g0[2], bb),
                      "[%s] %d threads, workspace %zu: gradients differ", desc, t, sizes[w]);
      }
    for (int i = 0; i < 3; i++) free(g0[i]), free(g[i]);
    free(ws);
    refg_free(&ref);
    bcase_free(&c);
  }
  conv1dt_set_num_threads(saved);
}
END_TEST

/* ------------------------------------------------------------------ empty inputs */

START_TEST(test_empty) {
  /* _i: 0 batch 0, 1 empty output (same, output_padding 0, even keff, stride 1, one step) */
  for (int dti = 0; dti < 2; dti++)
    for (int df = 0; df < 2; df++) {
      const conv1dt_dtype dt = dti ? CONV1DT_FLOAT64 : CONV1DT_FLOAT32;
      conv1dt_config cfg = conv1dt_config_default(3, 2);
      cfg.data_format = (conv1dt_data_format)df;
      cfg.activation = "softmax";
      int64_t B = 0, L = 4;
      if (_i == 1) {
        cfg.padding = CONV1DT_PADDING_SAME;
        cfg.output_padding = 0;
        B = 2;
        L = 1;
      }
      conv1dt_layer *layer = NULL;
      ck_assert_int_eq(conv1dt_create(&cfg, 2, dt, &layer), CONV1DT_OK);
      int64_t shape[3];
      ck_assert_int_eq(conv1dt_output_shape(layer, B, L, shape), CONV1DT_OK);
      ck_assert_int_eq(shape[0] * shape[1] * shape[2], 0);
      const size_t es = ref_dtype_size(dt), nx = (size_t)(B * L * 2);
      char dx[256], dk[256], db[256];
      ref_fill_sentinel(dt, dx, sizeof dx / es);
      ref_fill_sentinel(dt, dk, sizeof dk / es);
      ref_fill_sentinel(dt, db, sizeof db / es);
      /* x, pre and dy may all be NULL: nothing is read */
      ck_assert_int_eq(
          conv1dt_backward(layer, NULL, B, L, NULL, NULL, nx ? dx : NULL, dk, db, NULL, 0),
          CONV1DT_OK);
      for (size_t i = 0; i < nx; i++)
        ck_assert(dt == CONV1DT_FLOAT32 ? ((float *)dx)[i] == 0 : ((double *)dx)[i] == 0);
      for (size_t i = 0; i < 12; i++) /* kernel (2, 3, 2) */
        ck_assert(dt == CONV1DT_FLOAT32 ? ((float *)dk)[i] == 0 : ((double *)dk)[i] == 0);
      for (size_t i = 0; i < 3; i++)
        ck_assert(dt == CONV1DT_FLOAT32 ? ((float *)db)[i] == 0 : ((double *)db)[i] == 0);
      ck_assert(ref_is_sentinel(dt, dk + 12 * es, 1));
      ck_assert(ref_is_sentinel(dt, db + 3 * es, 1));
      if (nx) ck_assert(ref_is_sentinel(dt, dx + nx * es, 1));
      size_t bytes = 0;
      ck_assert_int_eq(conv1dt_backward_workspace_size(layer, B, L, &bytes), CONV1DT_OK);
      conv1dt_destroy(layer);
    }
}
END_TEST

/* ------------------------------------------------------------------ preactivation_shape */

START_TEST(test_preactivation_shape) {
  for (int df = 0; df < 2; df++)
    for (int glu = 0; glu < 2; glu++) {
      conv1dt_config cfg = conv1dt_config_default(4, 4);
      cfg.strides = 2;
      cfg.data_format = (conv1dt_data_format)df;
      cfg.activation = glu ? "glu" : "tanh";
      conv1dt_layer *layer = NULL;
      ck_assert_int_eq(conv1dt_create(&cfg, 2, CONV1DT_FLOAT32, &layer), CONV1DT_OK);
      int64_t y[3], z[3];
      ck_assert_int_eq(conv1dt_output_shape(layer, 5, 7, y), CONV1DT_OK);
      ck_assert_int_eq(conv1dt_preactivation_shape(layer, 5, 7, z), CONV1DT_OK);
      /* valid, stride 2, K 4: (7-1)*2 + 4 = 16 steps; glu halves the output's last axis */
      const int64_t want[3] = {5, df ? 4 : 16, df ? 16 : 4};
      for (int i = 0; i < 3; i++) ck_assert_int_eq(z[i], want[i]);
      ck_assert_int_eq(y[0], 5);
      ck_assert_int_eq(y[1], want[1]);
      ck_assert_int_eq(y[2], glu ? want[2] / 2 : want[2]);
      ck_assert_int_eq(conv1dt_preactivation_shape(NULL, 5, 7, z), CONV1DT_ERROR_NULL_ARGUMENT);
      ck_assert_int_eq(conv1dt_preactivation_shape(layer, 5, 7, NULL), CONV1DT_ERROR_NULL_ARGUMENT);
      ck_assert_int_eq(conv1dt_preactivation_shape(layer, -1, 7, z), CONV1DT_ERROR_INVALID_VALUE);
      conv1dt_destroy(layer);
    }
}
END_TEST

/* ------------------------------------------------------------------ errors */

/* A failed call: the expected status, a message naming `needle`, no output written. */
#define EXPECT_FAIL(call, status, needle)                                                          \
  do {                                                                                             \
    ref_fill_sentinel(dt, dx, nx);                                                                 \
    ref_fill_sentinel(dt, dk, nk);                                                                 \
    ref_fill_sentinel(dt, db, nb);                                                                 \
    const conv1dt_status st_ = (call);                                                             \
    ck_assert_msg(st_ == (status), "%s -> %s, expected %s (%s)", #call, conv1dt_status_name(st_),  \
                  conv1dt_status_name(status), conv1dt_last_error());                              \
    ck_assert_msg(strstr(conv1dt_last_error(), needle) != NULL, "%s: message '%s' lacks '%s'",     \
                  #call, conv1dt_last_error(), needle);                                            \
    ck_assert_msg(ref_is_sentinel(dt, dx, nx) && ref_is_sentinel(dt, dk, nk) &&                    \
                      ref_is_sentinel(dt, db, nb),                                                 \
                  "%s wrote an output", #call);                                                    \
  } while (0)

START_TEST(test_errors) {
  const conv1dt_dtype dt = _i ? CONV1DT_FLOAT64 : CONV1DT_FLOAT32;
  ref_rng rng;
  ref_rng_seed(&rng, 0xE77);
  bcase c;
  memset(&c, 0, sizeof c);
  c.cfg = conv1dt_config_default(4, 3);
  c.cfg.strides = 2;
  c.cfg.activation = "relu";
  c.C = 3;
  c.B = 2;
  c.L = 5;
  c.dt = dt;
  ck_assert_int_eq(bcase_setup(&c, &rng, false), CONV1DT_OK);
  const size_t nx = c.nx, nk = c.nk, nb = c.nb;
  void *dx = malloc(nx * c.es), *dk = malloc(nk * c.es), *db = malloc(nb * c.es);
  ck_assert(dx && dk && db);
  const int64_t B = c.B, L = c.L;
  conv1dt_layer *layer = c.layer;

  EXPECT_FAIL(conv1dt_backward(NULL, c.x, B, L, c.pre, c.dy, dx, dk, db, NULL, 0),
              CONV1DT_ERROR_NULL_ARGUMENT, "layer");
  EXPECT_FAIL(conv1dt_backward(layer, c.x, B, L, c.pre, NULL, dx, dk, db, NULL, 0),
              CONV1DT_ERROR_NULL_ARGUMENT, "dy");
  EXPECT_FAIL(conv1dt_backward(layer, c.x, B, L, NULL, c.dy, dx, dk, db, NULL, 0),
              CONV1DT_ERROR_NULL_ARGUMENT, "pre");
  EXPECT_FAIL(conv1dt_backward(layer, NULL, B, L, c.pre, c.dy, dx, dk, db, NULL, 0),
              CONV1DT_ERROR_NULL_ARGUMENT, "`x`");
  EXPECT_FAIL(conv1dt_backward(layer, c.x, -1, L, c.pre, c.dy, dx, dk, db, NULL, 0),
              CONV1DT_ERROR_INVALID_VALUE, "batch=-1");
  EXPECT_FAIL(conv1dt_backward(layer, c.x, B, 0, c.pre, c.dy, dx, dk, db, NULL, 0),
              CONV1DT_ERROR_INVALID_VALUE, "steps=0");
  EXPECT_FAIL(conv1dt_backward(layer, c.x, INT64_MAX / 2, L, c.pre, c.dy, dx, dk, db, NULL, 0),
              CONV1DT_ERROR_SIZE_OVERFLOW, "too large");
  EXPECT_FAIL(conv1dt_backward(layer, c.x, B, INT64_MAX / 4, c.pre, c.dy, dx, dk, db, NULL, 0),
              CONV1DT_ERROR_SIZE_OVERFLOW, "too large");
  char ws[256];
  EXPECT_FAIL(conv1dt_backward(layer, c.x, B, L, c.pre, c.dy, dx, dk, db, ws, sizeof ws),
              CONV1DT_ERROR_WORKSPACE_TOO_SMALL, "minimum");
  EXPECT_FAIL(conv1dt_backward(layer, c.x, B, L, c.pre, c.dy, dx, dk, db, ws, 0),
              CONV1DT_ERROR_WORKSPACE_TOO_SMALL, "workspace of 0 bytes");

  /* x is needed only for dkernel; pre only for a non-linear activation */
  ck_assert_int_eq(conv1dt_backward(layer, NULL, B, L, c.pre, c.dy, dx, NULL, db, NULL, 0),
                   CONV1DT_OK);
  /* nothing asked for: nothing to do, even without x */
  ck_assert_int_eq(conv1dt_backward(layer, NULL, B, L, c.pre, c.dy, NULL, NULL, NULL, NULL, 0),
                   CONV1DT_OK);

  size_t bytes = 0;
  ck_assert_int_eq(conv1dt_backward_workspace_size(NULL, B, L, &bytes),
                   CONV1DT_ERROR_NULL_ARGUMENT);
  ck_assert_int_eq(conv1dt_backward_workspace_size(layer, B, L, NULL), CONV1DT_ERROR_NULL_ARGUMENT);
  ck_assert_int_eq(conv1dt_backward_workspace_size(layer, -3, L, &bytes),
                   CONV1DT_ERROR_INVALID_VALUE);
  ck_assert_int_eq(conv1dt_backward_workspace_size(layer, B, L, &bytes), CONV1DT_OK);
  ck_assert_uint_gt(bytes, 0);

  /* a layer limit below the minimum is a hard cap for calls without a workspace */
  conv1dt_config small = c.cfg;
  small.workspace_limit = 300;
  conv1dt_layer *ls = NULL;
  ck_assert_int_eq(conv1dt_create(&small, c.C, dt, &ls), CONV1DT_OK);
  EXPECT_FAIL(conv1dt_backward(ls, c.x, B, L, c.pre, c.dy, dx, dk, db, NULL, 0),
              CONV1DT_ERROR_WORKSPACE_TOO_SMALL, "minimum");
  ck_assert_int_eq(conv1dt_backward_workspace_size(ls, B, L, &bytes),
                   CONV1DT_ERROR_WORKSPACE_TOO_SMALL);
  conv1dt_destroy(ls);

  /* linear accepts pre == NULL */
  conv1dt_config lin = c.cfg;
  lin.activation = NULL;
  conv1dt_layer *ll = NULL;
  ck_assert_int_eq(conv1dt_create(&lin, c.C, dt, &ll), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_backward(ll, c.x, B, L, NULL, c.dy, dx, dk, db, NULL, 0), CONV1DT_OK);
  conv1dt_destroy(ll);

  /* glu over an odd number of steps (channels_first) */
  conv1dt_config glu = conv1dt_config_default(2, 2);
  glu.activation = "glu";
  glu.data_format = CONV1DT_CHANNELS_FIRST;
  conv1dt_layer *lg = NULL;
  ck_assert_int_eq(conv1dt_create(&glu, 3, dt, &lg), CONV1DT_OK);
  /* steps 4, K 2, valid: 5 output steps */
  EXPECT_FAIL(conv1dt_backward(lg, c.x, 1, 4, c.pre, c.dy, dx, NULL, NULL, NULL, 0),
              CONV1DT_ERROR_SHAPE_MISMATCH, "glu");
  conv1dt_destroy(lg);

  free(dx);
  free(dk);
  free(db);
  bcase_free(&c);
}
END_TEST

/* ------------------------------------------------------------------ threads */

typedef struct {
  bcase *c;
  const void *rx, *rk, *rb;
  size_t ws_bytes;
  int iterations, errors, mismatches;
} thread_job;

static void *thread_main(void *arg) {
  thread_job *j = arg;
  const bcase *c = j->c;
  void *dx = malloc(c->nx * c->es), *dk = malloc(c->nk * c->es), *db = malloc(c->nb * c->es);
  void *ws = j->ws_bytes ? malloc(j->ws_bytes) : NULL;
  for (int it = 0; it < j->iterations; it++) {
    if (conv1dt_backward(c->layer, c->x, c->B, c->L, c->pre, c->dy, dx, dk, db, ws, j->ws_bytes) !=
        CONV1DT_OK) {
      j->errors++;
      continue;
    }
    if (!same_bits(dx, j->rx, c->nx * c->es) || !same_bits(dk, j->rk, c->nk * c->es) ||
        !same_bits(db, j->rb, c->nb * c->es))
      j->mismatches++;
  }
  free(ws);
  free(dx);
  free(dk);
  free(db);
  return NULL;
}

START_TEST(test_concurrent_backward) {
  ref_rng rng;
  ref_rng_seed(&rng, 0x7B);
  bcase c;
  memset(&c, 0, sizeof c);
  c.cfg = conv1dt_config_default(6, 3);
  c.cfg.strides = 2;
  c.cfg.activation = _i ? "softmax" : "gelu";
  c.cfg.data_format = _i ? CONV1DT_CHANNELS_FIRST : CONV1DT_CHANNELS_LAST;
  c.C = 5;
  c.B = 3;
  c.L = 40;
  c.dt = _i ? CONV1DT_FLOAT64 : CONV1DT_FLOAT32;
  ck_assert_int_eq(bcase_setup(&c, &rng, false), CONV1DT_OK);
  void *rx = malloc(c.nx * c.es), *rk = malloc(c.nk * c.es), *rb = malloc(c.nb * c.es);
  ck_assert_int_eq(conv1dt_backward(c.layer, c.x, c.B, c.L, c.pre, c.dy, rx, rk, rb, NULL, 0),
                   CONV1DT_OK);
  size_t wsz = 0;
  ck_assert_int_eq(conv1dt_backward_workspace_size(c.layer, c.B, c.L, &wsz), CONV1DT_OK);
  thread_job jobs[3];
  pthread_t th[3];
  for (int t = 0; t < 3; t++) {
    jobs[t] = (thread_job){&c, rx, rk, rb, t == 1 ? wsz : 0, 30, 0, 0};
    ck_assert_int_eq(pthread_create(&th[t], NULL, thread_main, &jobs[t]), 0);
  }
  for (int t = 0; t < 3; t++) ck_assert_int_eq(pthread_join(th[t], NULL), 0);
  for (int t = 0; t < 3; t++) {
    ck_assert_msg(jobs[t].errors == 0, "thread %d: %d failed calls", t, jobs[t].errors);
    ck_assert_msg(jobs[t].mismatches == 0, "thread %d: %d runs differ", t, jobs[t].mismatches);
  }
  free(rx);
  free(rk);
  free(rb);
  bcase_free(&c);
}
END_TEST

/* ------------------------------------------------------------------ threads */

/* The direct backward sums every gradient element on one thread, in an order its blocks fix:
 * the same bits with 1, 2 or 5 threads, within one block or over many (a small layer limit),
 * and the reference's numbers. */
START_TEST(test_direct_threads_bitwise) {
  ref_rng rng;
  ref_rng_seed(&rng, 0x7D + (uint64_t)_i);
  int saved = 0;
  ck_assert_int_eq(conv1dt_get_num_threads(&saved), CONV1DT_OK);
  size_t layers = 0;
  for (int rep = 0; rep < 8; rep++) {
    bcase c;
    memset(&c, 0, sizeof c);
    const int64_t s = ref_rng_int(&rng, 1, 3);
    c.cfg = conv1dt_config_default(ref_rng_int(&rng, 3, 20), ref_rng_int(&rng, 1, 6));
    c.cfg.strides = s;
    c.cfg.dilation_rate = s > 1 ? 1 : ref_rng_int(&rng, 1, 2);
    c.cfg.padding = ref_rng_int(&rng, 0, 1) ? CONV1DT_PADDING_SAME : CONV1DT_PADDING_VALID;
    c.cfg.algorithm = CONV1DT_ALGORITHM_DIRECT;
    c.cfg.activation = rep % 2 ? "relu" : "gelu";
    c.cfg.data_format = (conv1dt_data_format)(rep % 2);
    if (rep % 4 >= 2) c.cfg.workspace_limit = 64 << 10; /* several blocks */
    /* channels_first with 8 channels or fewer: the planes layout (src/backward.c) */
    c.C = rep >= 4 && rep % 2 ? ref_rng_int(&rng, 1, 8) : ref_rng_int(&rng, 1, 24);
    c.B = ref_rng_int(&rng, 1, 4);
    c.L = ref_rng_int(&rng, 200, 700);
    c.dt = _i ? CONV1DT_FLOAT64 : CONV1DT_FLOAT32;
    char desc[256], msg[MSG_SIZE] = "";
    ref_describe(&c.cfg, c.C, c.dt, c.B, c.L, desc, sizeof desc);
    ck_assert_msg(bcase_setup(&c, &rng, false) == CONV1DT_OK, "[%s] setup: %s", desc,
                  conv1dt_last_error());
    const size_t bx = c.nx * c.es, bk = c.nk * c.es, bb = c.nb * c.es;
    void *g[3][3];
    static const int counts[3] = {1, 2, 5};
    for (int t = 0; t < 3; t++) {
      g[t][0] = malloc(bx), g[t][1] = malloc(bk), g[t][2] = malloc(bb);
      const conv1dt_status st = conv1dt_set_num_threads(counts[t]);
      ck_assert(st == CONV1DT_OK || st == CONV1DT_ERROR_UNSUPPORTED); /* a BLAS without the call */
      ck_assert_msg(conv1dt_backward(c.layer, c.x, c.B, c.L, c.pre, c.dy, g[t][0], g[t][1], g[t][2],
                                     NULL, 0) == CONV1DT_OK,
                    "[%s] %s", desc, conv1dt_last_error());
    }
    refg_grads ref;
    ck_assert_int_eq(
        refg_backward(&c.cfg, c.C, c.dt, c.xd, c.B, c.L, c.kd, c.pred, c.yd, c.dyd, &ref), REF_OK);
    ck_assert_msg(
        judge(c.dt, g[0][0], ref.dx, ref.tol_dx, c.nx, NULL, msg, sizeof msg, "dx") +
                judge(c.dt, g[0][1], ref.dk, ref.tol_dk, c.nk, NULL, msg, sizeof msg, "dk") +
                judge(c.dt, g[0][2], ref.db, ref.tol_db, c.nb, NULL, msg, sizeof msg, "db") ==
            0,
        "[%s] %s", desc, msg);
    for (int t = 1; t < 3; t++)
      ck_assert_msg(same_bits(g[t][0], g[0][0], bx) && same_bits(g[t][1], g[0][1], bk) &&
                        same_bits(g[t][2], g[0][2], bb),
                    "[%s] %d threads: gradients differ from 1 thread's (dx %s, dkernel %s, dbias "
                    "%s)",
                    desc, counts[t], same_bits(g[t][0], g[0][0], bx) ? "same" : "differs",
                    same_bits(g[t][1], g[0][1], bk) ? "same" : "differs",
                    same_bits(g[t][2], g[0][2], bb) ? "same" : "differs");
    for (int t = 0; t < 3; t++) free(g[t][0]), free(g[t][1]), free(g[t][2]);
    refg_free(&ref);
    bcase_free(&c);
    layers++;
  }
  conv1dt_set_num_threads(saved);
  printf("test_direct_threads_bitwise[%s]: %zu layers, the same bits with 1, 2 and 5 threads\n",
         _i ? "float64" : "float32", layers);
}
END_TEST

static Suite *backward_suite(void) {
  Suite *s = suite_create("backward");
  TCase *tc = tcase_create("sweep");
  tcase_set_timeout(tc, 240);
  tcase_add_loop_test(tc, test_sweep, 0, 4);
  tcase_add_test(tc, test_every_activation);
  tcase_add_test(tc, test_breakpoints);
  suite_add_tcase(s, tc);

  tc = tcase_create("finite_differences");
  tcase_set_timeout(tc, 240);
  tcase_add_loop_test(tc, test_finite_differences, 0, (int)tn_activation_count);
  suite_add_tcase(s, tc);

  tc = tcase_create("blocks");
  tcase_set_timeout(tc, 240);
  tcase_add_test(tc, test_block_independence_exact);
  tcase_add_test(tc, test_block_independence_random);
  tcase_add_loop_test(tc, test_direct_threads_bitwise, 0, 2);
  tcase_add_loop_test(tc, test_sample_blocks, 0, 2);
  tcase_add_loop_test(tc, test_sample_blocks_threads, 0, 2);
  suite_add_tcase(s, tc);

  tc = tcase_create("edges");
  tcase_add_loop_test(tc, test_empty, 0, 2);
  tcase_add_test(tc, test_preactivation_shape);
  tcase_add_loop_test(tc, test_errors, 0, 2);
  suite_add_tcase(s, tc);

  tc = tcase_create("threads");
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, test_concurrent_backward, 0, 2);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return run_suite(backward_suite());
}
