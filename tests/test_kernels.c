/*
 * test_kernels: every direct-method kernel table this CPU runs (generic, x86-64-v3, x86-64-v4)
 * against the reference kernels (src/kernels/ref/), entry by entry (those a table has), over
 * seeded random arguments. The reference is itself checked bit for bit against the naive
 * loops here, which also give each element's error bound.
 *
 * Compiled twice (CONV1DT_PRECISION=32 and 64, like src/typed/), each copy adding its tests to
 * the suite; the 64-bit copy holds main. Inputs are allocated to exactly what kernel.h says a
 * kernel may read, so AddressSanitizer builds catch reads past it; outputs are filled with a
 * sentinel NaN, and every element a call must not write must keep it.
 */
#define _POSIX_C_SOURCE 200809L /* sigaction */
#include <check.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_run.h"
#include "kernels/kernel.h"
#include "precision.h"

#if CONV1DT_PRECISION == 32
typedef uint32_t U;
#define SENTINEL_BITS UINT32_C(0x7fd5a5a5) /* a quiet NaN no arithmetic makes */
#define EPS FLT_EPSILON
#define TINY FLT_MIN
#define PREC "f32"
#else
typedef uint64_t U;
#define SENTINEL_BITS UINT64_C(0x7ffa5a5a5a5a5a5a)
#define EPS DBL_EPSILON
#define TINY DBL_MIN
#define PREC "f64"
#endif

typedef X(conv1dt_kernels) KT;
enum {
  PW = CONV1DT_DIRECT_PANEL_BYTES / (int)sizeof(R), /* a panel's filters */
  PAD = CONV1DT_DIRECT_PAD_BYTES / (int)sizeof(R),
  VG = CONV1DT_DIRECT_GROUP_VBYTES / (int)sizeof(R),
  MF = CONV1DT_DIRECT_MF,
  SLACK = CONV1DT_DIRECT_SLACK,
  MAX_TABLES = 8,
  MAX_TAPS = 16 + 8, /* groups: K + G - 1 */
  MAX_REPORTED = 10,
};

/* ---- deterministic data (splitmix64) ---------------------------------------------------- */
typedef struct {
  uint64_t s;
} rng;
static uint64_t next(rng *g) {
  uint64_t z = (g->s += UINT64_C(0x9E3779B97F4A7C15));
  z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
  return z ^ (z >> 31);
}
static int64_t irand(rng *g, int64_t lo, int64_t hi) { /* [lo, hi] */
  return lo + (int64_t)(next(g) % (uint64_t)(hi - lo + 1));
}
static int chance(rng *g, int percent) {
  return irand(g, 0, 99) < percent;
}
static int64_t pick(rng *g, const int64_t *v, size_t n) {
  return v[next(g) % n];
}
#define PICK(g, arr) pick((g), (arr), sizeof(arr) / sizeof((arr)[0]))
/* Mostly uniform in [-1, 1), with +0 and -0 among them (relu must keep -0). */
static R value(rng *g) {
  const int64_t u = irand(g, 0, 99);
  if (u < 8) return RC(0.0);
  if (u < 16) return -RC(0.0);
  return (R)((double)(next(g) >> 11) * 0x1p-52 - 1.0);
}
static R *fill(rng *g, R *p, int64_t n) {
  for (int64_t i = 0; i < n; i++) p[i] = value(g);
  return p;
}
static R *alloc(int64_t n) { /* exactly n elements: ASan sees the first one past */
  R *p = malloc((size_t)(n > 0 ? n : 1) * sizeof(R));
  ck_assert_ptr_nonnull(p);
  return p;
}
static int64_t round_up(int64_t a, int64_t m) {
  return (a + m - 1) / m * m;
}

static const int64_t channels_special[] = {1, 2, 3, 7, 8, 9, 16, 17, 64, 65};
/* around 1, 2, 3 and 4 vectors of 4, 8 and 16 elements, and the tiles' heights */
static const int64_t count_special[] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  11, 12, 13, 15, 16,
                                        17, 23, 24, 25, 31, 32, 33, 47, 48, 49, 63, 64, 65};
static int64_t channels(rng *g) {
  return chance(g, 50) ? PICK(g, channels_special) : irand(g, 1, 70);
}
static int64_t positions(rng *g) {
  return chance(g, 50) ? PICK(g, count_special) : irand(g, 1, 200);
}

/* ---- the case a call is running: printed if the process dies in it (a sanitizer's report, a
 * fault) so that the report names its arguments ---------------------------------------------- */
static char current[1024];
static void say_current(void) {
  const char head[] = "\ntest_kernels: died in ";
  if (write(2, head, sizeof head - 1) < 0 || write(2, current, strlen(current)) < 0 ||
      write(2, "\n", 1) < 0)
    return;
}
static void on_signal(int sig) {
  say_current();
  signal(sig, SIG_DFL);
  raise(sig);
}
void __asan_set_death_callback(void (*callback)(void)) __attribute__((weak));
static void watch_deaths(void) {
  if (__asan_set_death_callback) __asan_set_death_callback(say_current);
  const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) signal(sigs[i], on_signal);
}

/* ---- the tables under test ----------------------------------------------------------------- */
typedef struct {
  const KT *t[MAX_TABLES];
  int n;
} tables;

/* The reference first, then each ISA's table this CPU runs. */
static tables tables_to_test(void) {
  tables ts = {{&X(conv1dt__kernels_ref)}, 1};
  const conv1dt_isa isas[] = {CONV1DT_ISA_GENERIC, CONV1DT_ISA_X86_64_V3, CONV1DT_ISA_X86_64_V4};
  for (size_t i = 0; i < sizeof isas / sizeof isas[0]; i++) {
    if (!conv1dt__isa_runs(isas[i])) continue;
    const KT *t = X(conv1dt__kernels)(isas[i]);
    ck_assert_msg(t != NULL, "%s runs here but has no " PREC " table", conv1dt__isa_name(isas[i]));
    if (ts.n < MAX_TABLES) ts.t[ts.n++] = t;
  }
  return ts;
}

/* Only the tables that have their own transpose (layout 0) or interleave (1). */
static tables with_layout(tables ts, int which) {
  tables kept = {{NULL}, 0};
  for (int k = 0; k < ts.n; k++)
    if (which ? ts.t[k]->interleave != NULL : ts.t[k]->transpose != NULL)
      kept.t[kept.n++] = ts.t[k];
  return kept;
}

/* ---- judging one output buffer ----------------------------------------------------------------
 * exp holds the expected values where the call writes (bound >= 0: the sum of the terms'
 * magnitudes) and the sentinel elsewhere (bound < 0). */
typedef struct {
  const char *entry;
  int cases;
  int failed[MAX_TABLES];
  int64_t checked[MAX_TABLES];
  char first[MAX_TABLES][1536];
} stats;

static U bits(R v) {
  U u;
  memcpy(&u, &v, sizeof u);
  return u;
}
static R sentinel(void) {
  const U u = SENTINEL_BITS;
  R v;
  memcpy(&v, &u, sizeof v);
  return v;
}
static R *sentinels(int64_t n) {
  R *p = alloc(n);
  for (int64_t i = 0; i < n; i++) p[i] = sentinel();
  return p;
}

/* exact: bit for bit (the reference, and the layout changes); else within 8 eps of the
 * magnitudes, bit for bit where every term is zero (the sign of a zero sum does not depend on
 * the order). Records a failure of table k; returns 1 if all good. */
static int judge(stats *st, int k, const R *got, const R *exp, const double *bound, int64_t n,
                 int exact) {
  int64_t bad = 0, first = -1;
  for (int64_t i = 0; i < n; i++) {
    int ok;
    if (bound[i] < 0 || exact || bound[i] == 0)
      ok = bits(got[i]) == bits(exp[i]);
    else
      ok = fabs((double)got[i] - (double)exp[i]) <= 8 * EPS * bound[i] + TINY;
    if (!ok && !bad++) first = i;
  }
  st->checked[k] += n;
  if (!bad) return 1;
  if (!st->failed[k]++) {
    snprintf(st->first[k], sizeof st->first[k],
             "%s\n  %" PRId64 " bad elements; first at [%" PRId64 "]: got %.9g (0x%llx), want "
             "%.9g (0x%llx) %s %.3g",
             current, bad, first, (double)got[first], (unsigned long long)bits(got[first]),
             (double)exp[first], (unsigned long long)bits(exp[first]),
             bound[first] < 0 ? "(must stay unwritten)" : "within",
             bound[first] < 0             ? 0
             : exact || bound[first] == 0 ? 0
                                          : 8 * EPS * bound[first] + TINY);
  }
  if (st->failed[k] <= MAX_REPORTED) fprintf(stderr, "FAIL %s %s\n", st->entry, st->first[k]);
  return 0;
}

static void report(const stats *st, const char *const *names, int n) {
  int failed = 0;
  printf("%s " PREC ": %d cases;", st->entry, st->cases);
  for (int k = 0; k < n; k++) {
    printf(" %s: %s%s", names[k], st->failed[k] ? "FAILED" : "ok", k + 1 < n ? "," : "\n");
    failed += st->failed[k];
  }
  for (int k = 0; k < n && failed; k++)
    if (st->failed[k])
      fprintf(stderr, "%s " PREC " on %s: %d of %d cases failed; first:\n%s\n", st->entry, names[k],
              st->failed[k], st->cases, st->first[k]);
  for (int k = 0; k < n; k++)
    ck_assert_msg(!st->failed[k], "%s " PREC " on %s: %d of %d cases failed; first:\n%s", st->entry,
                  names[k], st->failed[k], st->cases, st->first[k]);
}

/* A naive sum in the reference's order (bias, taps, channels; nothing fused: this file is
 * compiled with -ffp-contract=off) and the magnitudes' sum for the bound. */
typedef struct {
  R v;
  double mag;
} sum;
static void add(sum *s, R x, R w) {
  const R p = x * w;
  s->v += p;
  s->mag += fabs((double)p);
}
static R relu_of(R v, int relu) {
  return relu && v < 0 ? RC(0.0) : v;
}

/* ---- taps as a phase has them ------------------------------------------------------------
 * off_j = off_0 - j * DD, the last tap's first row `margin` rows in; weights in slots of one
 * buffer: evenly spaced (as a packed panel's taps of one phase: ascending, by 1 to 3 slots, or
 * descending) or not. */
typedef struct {
  conv1dt_direct_tap tap[MAX_TAPS];
  int slot[MAX_TAPS];
  int nslots, dd;
  int64_t off_max;
  char layout[32];
} taps;

static void make_taps(rng *g, taps *t, int T, int64_t first, int dd, int even_percent) {
  const int64_t margin = irand(g, 0, 3);
  memset(t, 0, sizeof *t);
  t->dd = dd;
  const int64_t off_last = margin - first;
  for (int j = 0; j < T; j++) t->tap[j].off = off_last + (int64_t)(T - 1 - j) * dd;
  if (chance(g, 5) && T > 1) { /* any offsets at all: kernel.h allows them */
    for (int j = T - 2; j >= 0; j--) t->tap[j].off = t->tap[j + 1].off + irand(g, 0, 3);
    t->dd = -1;
  }
  t->off_max = t->tap[0].off; /* the last tap's stays the least */
  for (int j = 0; j < T; j++)
    if (t->tap[j].off > t->off_max) t->off_max = t->tap[j].off;
  const int mode = chance(g, even_percent) ? (int)irand(g, 0, 2) : 3;
  const int step = mode == 1 ? (int)irand(g, 2, 3) : 1;
  int at = 0;
  for (int j = 0; j < T; j++) {
    if (mode == 3) at += (int)irand(g, j ? 1 : 0, 3); /* uneven gaps */
    t->slot[j] = mode == 2 ? T - 1 - j : mode == 3 ? at : j * step;
  }
  if (mode == 3 && chance(g, 30)) /* and out of order */
    for (int j = T - 1; j > 0; j--) {
      const int i = (int)irand(g, 0, j), s = t->slot[i];
      t->slot[i] = t->slot[j];
      t->slot[j] = s;
    }
  t->nslots = 0;
  for (int j = 0; j < T; j++)
    if (t->slot[j] + 1 > t->nslots) t->nslots = t->slot[j] + 1;
  snprintf(t->layout, sizeof t->layout, "%s",
           mode == 0   ? "even"
           : mode == 1 ? (step == 2 ? "even, every 2nd" : "even, every 3rd")
           : mode == 2 ? "even, descending"
                       : "uneven");
}

static void print_offsets(char *buf, size_t size, const taps *t, int T) {
  size_t at = 0;
  for (int j = 0; j < T && at < size; j++)
    at += (size_t)snprintf(buf + at, size - at, "%s%" PRId64 "@%d", j ? " " : "", t->tap[j].off,
                           t->slot[j]);
}

/* "Signed zeros" cases: every input -0 and every weight >= 0, biases +-0, so every sum is an
 * exact zero whose sign the kernels must get right (relu included). */
static void signed_zeros(rng *g, R *x, int64_t nx, R *w, int64_t nw, R *bias, int64_t nb) {
  for (int64_t i = 0; i < nx; i++) x[i] = -RC(0.0);
  for (int64_t i = 0; i < nw; i++) w[i] = fabs(w[i]);
  for (int64_t i = 0; i < nb; i++) bias[i] = chance(g, 50) ? -RC(0.0) : RC(0.0);
}

/* ---- filters -------------------------------------------------------------------------------- */
static int64_t filters_count(rng *g) {
  static const int64_t special[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64};
  const int64_t F = chance(g, 50) ? PICK(g, special) : irand(g, 1, PW);
  return F > PW ? PW : F;
}

START_TEST(test_filters) {
  rng g = {UINT64_C(0xF117E25) + sizeof(R)};
  const tables ts = tables_to_test();
  const char *names[MAX_TABLES];
  for (int k = 0; k < ts.n; k++) names[k] = ts.t[k]->name;
  stats st = {.entry = "filters"};
  for (int rep = 0; rep < 400; rep++) {
    int64_t C = channels(&g), npos = positions(&g);
    const int64_t F = filters_count(&g);
    const int T = (int)irand(&g, 1, 8);
    /* most cases small (the naive loops are slow under sanitizers), a few large */
    const int64_t cap = rep % 16 ? 300000 : 3000000;
    while (npos * F * C * T > cap) {
      if (npos > 13)
        npos = npos / 2 + 1;
      else
        C = C / 2 + 1;
    }
    const int64_t ldw = round_up(F, PAD) + (chance(&g, 20) ? PAD : 0);
    const int64_t n_lo = irand(&g, 0, 40), n_hi = n_lo + npos;
    const int64_t ldo = F + (chance(&g, 70) ? irand(&g, 1, PAD) : 0);
    const int relu = (int)irand(&g, 0, 1), zeros = chance(&g, 8);
    taps t;
    make_taps(&g, &t, T, n_lo, (int)irand(&g, 1, 3), 85);
    const int64_t nrows = n_hi - 1 + t.off_max + SLACK + 1;
    R *rows = fill(&g, alloc(nrows * C), nrows * C);
    R *w = fill(&g, alloc(t.nslots * C * ldw), t.nslots * C * ldw);
    R *bias = fill(&g, alloc(ldw), ldw);
    if (zeros) signed_zeros(&g, rows, nrows * C, w, t.nslots * C * ldw, bias, ldw);
    for (int j = 0; j < T; j++) t.tap[j].w = w + t.slot[j] * C * ldw;
    /* the expected outputs */
    const int64_t nout = npos * ldo;
    R *exp = sentinels(nout);
    double *bound = malloc((size_t)nout * sizeof(double));
    for (int64_t i = 0; i < nout; i++) bound[i] = -1;
    for (int64_t n = n_lo; n < n_hi; n++)
      for (int64_t f = 0; f < F; f++) {
        sum s = {bias[f], fabs((double)bias[f])};
        for (int j = 0; j < T; j++)
          for (int64_t c = 0; c < C; c++)
            add(&s, rows[(n + t.tap[j].off) * C + c], ((const R *)t.tap[j].w)[c * ldw + f]);
        exp[(n - n_lo) * ldo + f] = relu_of(s.v, relu);
        bound[(n - n_lo) * ldo + f] = s.mag;
      }
    char offs[256];
    print_offsets(offs, sizeof offs, &t, T);
    const int per_tile = (int)irand(&g, 1, 4), use_pf = chance(&g, 30);
    st.cases++;
    for (int k = 0; k < ts.n; k++) {
      R *out = sentinels(nout);
      conv1dt_prefetch pf = {(const char *)rows,
                             C * (int64_t)sizeof(R),
                             C * (int64_t)sizeof(R),
                             nrows,
                             0,
                             0,
                             per_tile};
      const X(conv1dt_filters_args)
          a = {rows, C, t.tap, T, n_lo, n_hi, F, ldw, bias, out, ldo, relu, use_pf ? &pf : NULL};
      snprintf(current, sizeof current,
               "filters " PREC " [%s]: C=%" PRId64 " F=%" PRId64 " ldw=%" PRId64 " ntaps=%d DD=%d "
               "(off@slot: %s; weights %s) n=[%" PRId64 ",%" PRId64 ") ldo=%" PRId64
               " relu=%d pf=%d%s (case %d)",
               ts.t[k]->name, C, F, ldw, T, t.dd, offs, t.layout, n_lo, n_hi, ldo, relu, use_pf,
               zeros ? " signed-zeros" : "", rep);
      ts.t[k]->filters(&a);
      judge(&st, k, out, exp, bound, nout, k == 0);
      free(out);
    }
    free(rows), free(w), free(bias), free(exp), free(bound);
  }
  report(&st, names, ts.n);
}
END_TEST

/* ---- steps and steps2 ----------------------------------------------------------------------- */
static int64_t steps_filters(rng *g) {
  static const int64_t special[] = {1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17, 31, 32, 33, 64, 65};
  const int64_t u = irand(g, 0, 99);
  return u < 60 ? irand(g, 1, 40) : u < 85 ? PICK(g, special) : irand(g, 41, 300);
}

/* packed_t weight of tap at w, filter group stride gstride */
static R wt_of(const R *w, int64_t gstride, int64_t f, int64_t c) {
  return w[f / MF * gstride + c * MF + f % MF];
}

START_TEST(test_steps) {
  rng g = {UINT64_C(0x57E95) + sizeof(R)};
  const tables ts = tables_to_test();
  const char *names[MAX_TABLES];
  for (int k = 0; k < ts.n; k++) names[k] = ts.t[k]->name;
  stats st = {.entry = "steps"};
  for (int rep = 0; rep < 400; rep++) {
    int64_t C = channels(&g), npos = positions(&g), F = steps_filters(&g);
    const int T = (int)irand(&g, 1, 8);
    const int64_t cap = rep % 16 ? 300000 : 3000000;
    while (npos * F * C * T > cap) {
      if (F > 40)
        F = F / 2;
      else if (npos > 13)
        npos = npos / 2 + 1;
      else
        C = C / 2 + 1;
    }
    const int64_t n_lo = irand(&g, 0, 40), n_hi = n_lo + npos, s = irand(&g, 1, 4);
    const int relu = (int)irand(&g, 0, 1), out_is_y = (int)irand(&g, 0, 1), zeros = chance(&g, 8);
    taps t;
    make_taps(&g, &t, T, n_lo, (int)irand(&g, 1, 3), 85);
    const int64_t len = n_hi - 1 + t.off_max + SLACK + 1, ldx = len + irand(&g, 0, 9);
    const int64_t nx = (C - 1) * ldx + len;
    const int64_t gstride = t.nslots * C * MF, nw = (F + MF - 1) / MF * gstride;
    const int64_t nb = round_up(F, PAD); /* the packed bias row's length */
    R *xc = fill(&g, alloc(nx), nx), *w = fill(&g, alloc(nw), nw), *bias = fill(&g, alloc(nb), nb);
    if (zeros) signed_zeros(&g, xc, nx, w, nw, bias, nb);
    for (int j = 0; j < T; j++) t.tap[j].w = w + t.slot[j] * C * MF;
    const int64_t ldo = (npos - 1) * s + 1 + (chance(&g, 60) ? irand(&g, 1, 9) : 0);
    const int64_t nout = F * ldo;
    R *exp = sentinels(nout);
    double *bound = malloc((size_t)nout * sizeof(double));
    for (int64_t i = 0; i < nout; i++) bound[i] = -1;
    for (int64_t f = 0; f < F; f++)
      for (int64_t n = n_lo; n < n_hi; n++) {
        sum sm = {bias[f], fabs((double)bias[f])};
        for (int j = 0; j < T; j++)
          for (int64_t c = 0; c < C; c++)
            add(&sm, xc[c * ldx + n + t.tap[j].off], wt_of(t.tap[j].w, gstride, f, c));
        exp[f * ldo + (n - n_lo) * s] = relu_of(sm.v, relu);
        bound[f * ldo + (n - n_lo) * s] = sm.mag;
      }
    char offs[256];
    print_offsets(offs, sizeof offs, &t, T);
    const int per_tile = (int)irand(&g, 1, 4), use_pf = chance(&g, 30);
    st.cases++;
    for (int k = 0; k < ts.n; k++) {
      R *out = sentinels(nout);
      conv1dt_prefetch pf = {
          (const char *)xc, ldx * (int64_t)sizeof(R), len * (int64_t)sizeof(R), C, 0, 0, per_tile};
      const X(conv1dt_steps_args)
          a = {xc,      ldx,  C,   t.tap, T, n_lo, n_hi,     F,
               gstride, bias, out, ldo,   s, relu, out_is_y, use_pf ? &pf : NULL};
      snprintf(current, sizeof current,
               "steps " PREC " [%s]: C=%" PRId64 " F=%" PRId64 " ldx=%" PRId64 " ntaps=%d DD=%d "
               "(off@slot: %s; weights %s) gstride=%" PRId64 " n=[%" PRId64 ",%" PRId64
               ") s=%" PRId64 " ldo=%" PRId64 " relu=%d out_is_y=%d pf=%d%s (case %d)",
               ts.t[k]->name, C, F, ldx, T, t.dd, offs, t.layout, gstride, n_lo, n_hi, s, ldo, relu,
               out_is_y, use_pf, zeros ? " signed-zeros" : "", rep);
      ts.t[k]->steps(&a);
      judge(&st, k, out, exp, bound, nout, k == 0);
      free(out);
    }
    free(xc), free(w), free(bias), free(exp), free(bound);
  }
  report(&st, names, ts.n);
}
END_TEST

/* The reference's function, then each table's that has one. */
typedef struct {
  const char *name[MAX_TABLES];
  int n;
} fns;

START_TEST(test_steps2) {
  rng g = {UINT64_C(0x57E952) + sizeof(R)};
  const tables ts = tables_to_test();
  void (*fn[MAX_TABLES])(const X(conv1dt_steps2_args) *) = {X(conv1dt__ref_steps2)};
  fns fs = {{"reference steps2"}, 1};
  for (int k = 1; k < ts.n; k++)
    if (ts.t[k]->steps2) fn[fs.n] = ts.t[k]->steps2, fs.name[fs.n++] = ts.t[k]->name;
  stats st = {.entry = "steps2"};
  for (int rep = 0; rep < 300; rep++) {
    int64_t C = channels(&g), n = positions(&g), F = steps_filters(&g);
    /* a phase without taps (kernel size 1: the odd positions get the bias alone) now and then */
    int nt[2] = {(int)irand(&g, chance(&g, 5) ? 0 : 1, 8),
                 (int)irand(&g, chance(&g, 5) ? 0 : 1, 8)};
    const int T = nt[0] + nt[1];
    const int64_t cap = rep % 16 ? 300000 : 3000000;
    while (n * F * C * (T + 1) / 2 > cap) {
      if (F > 40)
        F = F / 2;
      else if (n > 13)
        n = n / 2 + 1;
      else
        C = C / 2 + 1;
    }
    const int64_t nq = (n + 1) / 2;
    const int relu = (int)irand(&g, 0, 1), zeros = chance(&g, 8);
    const int dd = (int)irand(&g, 1, 3);
    /* the two phases' taps, each as a phase has them; in packed_t, interleaved as a kernel's
     * taps k at an odd dilation are (phase 0 even k, phase 1 odd k) */
    taps t0, t1;
    make_taps(&g, &t0, nt[0], 0, dd, 100);
    make_taps(&g, &t1, nt[1], 0, dd, 100);
    taps t;
    memset(&t, 0, sizeof t);
    for (int j = 0; j < nt[0]; j++) t.tap[j] = t0.tap[j], t.slot[j] = 2 * j;
    for (int j = 0; j < nt[1]; j++) t.tap[nt[0] + j] = t1.tap[j], t.slot[nt[0] + j] = 2 * j + 1;
    int64_t off_max = 0;
    for (int j = 0; j < T; j++) {
      if (t.tap[j].off > off_max) off_max = t.tap[j].off;
      if (t.slot[j] + 1 > t.nslots) t.nslots = t.slot[j] + 1;
    }
    const int64_t len = nq - 1 + off_max + SLACK + 1, ldx = len + irand(&g, 0, 9);
    const int64_t nx = (C - 1) * ldx + len;
    const int64_t gstride = (t.nslots ? t.nslots : 1) * C * MF, nw = (F + MF - 1) / MF * gstride;
    const int64_t nb = round_up(F, PAD);
    R *xc = fill(&g, alloc(nx), nx), *w = fill(&g, alloc(nw), nw), *bias = fill(&g, alloc(nb), nb);
    if (zeros) signed_zeros(&g, xc, nx, w, nw, bias, nb);
    for (int j = 0; j < T; j++) t.tap[j].w = w + t.slot[j] * C * MF;
    const int64_t ldo = n + (chance(&g, 60) ? irand(&g, 1, 9) : 0), nout = F * ldo;
    R *exp = sentinels(nout);
    double *bound = malloc((size_t)nout * sizeof(double));
    for (int64_t i = 0; i < nout; i++) bound[i] = -1;
    for (int64_t f = 0; f < F; f++)
      for (int64_t p = 0; p < n; p++) {
        const int rho = (int)(p % 2);
        const conv1dt_direct_tap *tp = t.tap + (rho ? nt[0] : 0);
        sum sm = {bias[f], fabs((double)bias[f])};
        for (int j = 0; j < nt[rho]; j++)
          for (int64_t c = 0; c < C; c++)
            add(&sm, xc[c * ldx + p / 2 + tp[j].off], wt_of(tp[j].w, gstride, f, c));
        exp[f * ldo + p] = relu_of(sm.v, relu);
        bound[f * ldo + p] = sm.mag;
      }
    char offs[256];
    print_offsets(offs, sizeof offs, &t, T);
    const int per_tile = (int)irand(&g, 1, 4), use_pf = chance(&g, 30);
    st.cases++;
    for (int k = 0; k < fs.n; k++) {
      R *out = sentinels(nout);
      conv1dt_prefetch pf = {
          (const char *)xc, ldx * (int64_t)sizeof(R), len * (int64_t)sizeof(R), C, 0, 0, per_tile};
      const X(conv1dt_steps2_args) a = {xc,   ldx, C,   t.tap, {nt[0], nt[1]},     n, F, gstride,
                                        bias, out, ldo, relu,  use_pf ? &pf : NULL};
      snprintf(current, sizeof current,
               "steps2 " PREC " [%s]: C=%" PRId64 " F=%" PRId64 " ldx=%" PRId64
               " ntaps={%d,%d} DD=%d (off@slot: %s) gstride=%" PRId64 " n=%" PRId64 " ldo=%" PRId64
               " relu=%d pf=%d%s (case %d)",
               fs.name[k], C, F, ldx, nt[0], nt[1], dd, offs, gstride, n, ldo, relu, use_pf,
               zeros ? " signed-zeros" : "", rep);
      fn[k](&a);
      judge(&st, k, out, exp, bound, nout, k == 0);
      free(out);
    }
    free(xc), free(w), free(bias), free(exp), free(bound);
  }
  report(&st, fs.name, fs.n);
}
END_TEST

/* ---- groups ---------------------------------------------------------------------------------- */
START_TEST(test_groups) {
  rng g = {UINT64_C(0x6209) + sizeof(R)};
  const tables ts = tables_to_test();
  void (*fn[MAX_TABLES])(const X(conv1dt_groups_args) *) = {X(conv1dt__ref_groups)};
  fns fs = {{"reference groups"}, 1};
  for (int k = 1; k < ts.n; k++)
    if (ts.t[k]->groups) fn[fs.n] = ts.t[k]->groups, fs.name[fs.n++] = ts.t[k]->name;
  stats st = {.entry = "groups"};
  for (int rep = 0; rep < 300; rep++) {
    static const int64_t gs[] = {2, 4, 8, 16};
    int64_t G;
    do G = PICK(&g, gs);
    while (VG / G < 1);
    const int64_t fp = VG / G, F = irand(&g, 1, fp), K = irand(&g, 1, 8);
    int64_t d;
    do d = irand(&g, 1, 3);
    while ((G - 1) * d > SLACK);
    int64_t C = channels(&g);
    const int ntaps = (int)(K + G - 1);
    const int64_t n = CONV1DT_DIRECT_MR * G * d + (chance(&g, 30) ? 0 : irand(&g, 1, 100));
    while (n * F * C * ntaps > (rep % 16 ? 300000 : 3000000)) C = C / 2 + 1;
    const int relu = (int)irand(&g, 0, 1), zeros = chance(&g, 8);
    const int64_t ldo = F + (chance(&g, 70) ? irand(&g, 1, PAD) : 0);
    /* rows -(K-1)*d .. n + (G-1)*d */
    const int64_t before = (K - 1) * d, nrows = before + n + (G - 1) * d + 1;
    R *xbuf = fill(&g, alloc(nrows * C), nrows * C);
    const R *rows = xbuf + before * C;
    /* packed_g from a random Keras kernel [K][F][C] and bias, as pack.c builds it */
    R *kernel = fill(&g, alloc(K * F * C), K * F * C), *kbias = fill(&g, alloc(F), F);
    const int64_t nwg = ((int64_t)ntaps * C + 1) * VG;
    R *wg = alloc(nwg);
    if (zeros) signed_zeros(&g, xbuf, nrows * C, kernel, K * F * C, kbias, F);
    for (int64_t jj = 0; jj < ntaps; jj++)
      for (int64_t c = 0; c < C; c++)
        for (int64_t e = 0; e < VG; e++) {
          const int64_t k = jj - (G - 1) + e / fp, f = e % fp;
          wg[(jj * C + c) * VG + e] = k >= 0 && k < K && f < F ? kernel[(k * F + f) * C + c] : 0;
        }
    for (int64_t e = 0; e < VG; e++) wg[ntaps * C * VG + e] = e % fp < F ? kbias[e % fp] : 0;
    const int64_t nout = n * ldo;
    R *exp = sentinels(nout);
    double *bound = malloc((size_t)nout * sizeof(double));
    for (int64_t i = 0; i < nout; i++) bound[i] = -1;
    for (int64_t p = 0; p < n; p++) {
      const int64_t grp = p / d % G;
      for (int64_t f = 0; f < F; f++) {
        const int64_t lane = grp * fp + f;
        const R b = wg[ntaps * C * VG + lane];
        sum sm = {b, fabs((double)b)};
        for (int64_t jj = 0; jj < ntaps; jj++)
          for (int64_t c = 0; c < C; c++)
            add(&sm, rows[(p + (G - 1 - jj - grp) * d) * C + c], wg[(jj * C + c) * VG + lane]);
        exp[p * ldo + f] = relu_of(sm.v, relu);
        bound[p * ldo + f] = sm.mag;
      }
    }
    st.cases++;
    for (int k = 0; k < fs.n; k++) {
      R *out = sentinels(nout);
      const X(conv1dt_groups_args) a = {rows, C, wg, ntaps, (int)G, d, F, n, out, ldo, relu};
      snprintf(current, sizeof current,
               "groups " PREC " [%s]: C=%" PRId64 " G=%" PRId64 " K=%" PRId64
               " (ntaps=%d) d=%" PRId64 " F=%" PRId64 " n=%" PRId64 " ldo=%" PRId64
               " relu=%d%s (case %d)",
               fs.name[k], C, G, K, ntaps, d, F, n, ldo, relu, zeros ? " signed-zeros" : "", rep);
      fn[k](&a);
      judge(&st, k, out, exp, bound, nout, k == 0);
      free(out);
    }
    free(xbuf), free(kernel), free(kbias), free(wg), free(exp), free(bound);
  }
  report(&st, fs.name, fs.n);
}
END_TEST

/* ---- transpose and interleave: exact ------------------------------------------------------- */
static R layout_value(rng *g) { /* NaN too: relu and the bias must pass it */
  return chance(g, 3) ? (R)NAN : value(g);
}

START_TEST(test_transpose) {
  rng g = {UINT64_C(0x7245) + sizeof(R)};
  const tables ts = with_layout(tables_to_test(), 0);
  const char *names[MAX_TABLES];
  for (int k = 0; k < ts.n; k++) names[k] = ts.t[k]->name;
  stats st = {.entry = "transpose"};
  for (int rep = 0; rep < 400; rep++) {
    const int64_t rows = positions(&g), cols = positions(&g);
    const int64_t lds = cols + (chance(&g, 50) ? irand(&g, 1, 17) : 0);
    const int64_t ldd = rows + (chance(&g, 50) ? irand(&g, 1, 17) : 0);
    const int relu = (int)irand(&g, 0, 1), has_bias = chance(&g, 70);
    const int64_t ns = (rows - 1) * lds + cols, nout = cols * ldd;
    R *src = alloc(ns), *bias = has_bias ? alloc(cols) : NULL;
    for (int64_t i = 0; i < ns; i++) src[i] = layout_value(&g);
    for (int64_t i = 0; bias && i < cols; i++) bias[i] = value(&g);
    R *exp = sentinels(nout);
    double *bound = malloc((size_t)nout * sizeof(double));
    for (int64_t i = 0; i < nout; i++) bound[i] = -1;
    for (int64_t c = 0; c < cols; c++)
      for (int64_t r = 0; r < rows; r++) {
        /* a NULL bias adds +0 (kernel.h) */
        exp[c * ldd + r] = relu_of(src[r * lds + c] + (bias ? bias[c] : RC(0.0)), relu);
        bound[c * ldd + r] = 0;
      }
    st.cases++;
    for (int k = 0; k < ts.n; k++) {
      R *out = sentinels(nout);
      snprintf(current, sizeof current,
               "transpose " PREC " [%s]: rows=%" PRId64 " cols=%" PRId64 " lds=%" PRId64
               " ldd=%" PRId64 " bias=%d relu=%d (case %d)",
               ts.t[k]->name, rows, cols, lds, ldd, has_bias, relu, rep);
      ts.t[k]->transpose(src, lds, rows, cols, bias, relu, out, ldd);
      judge(&st, k, out, exp, bound, nout, 1);
      free(out);
    }
    free(src), free(bias), free(exp), free(bound);
  }
  report(&st, names, ts.n);
}
END_TEST

START_TEST(test_interleave) {
  rng g = {UINT64_C(0x1273) + sizeof(R)};
  const tables ts = with_layout(tables_to_test(), 1);
  const char *names[MAX_TABLES];
  for (int k = 0; k < ts.n; k++) names[k] = ts.t[k]->name;
  stats st = {.entry = "interleave"};
  for (int rep = 0; rep < 400; rep++) {
    const int64_t s = irand(&g, 1, 5), n = chance(&g, 30) ? irand(&g, 1, 400) : positions(&g);
    const int64_t rows = irand(&g, 1, 12), per = (n + s - 1) / s; /* plane 0's entries */
    const int64_t ldp = per + (chance(&g, 50) ? irand(&g, 1, 9) : 0);
    const int64_t lds = (s - 1) * ldp + per + (chance(&g, 50) ? irand(&g, 1, 9) : 0);
    const int64_t ldd = n + (chance(&g, 50) ? irand(&g, 1, 9) : 0);
    const int relu = (int)irand(&g, 0, 1), has_bias = chance(&g, 70);
    /* the last row's last plane entry that a position reads */
    int64_t last = 0;
    for (int64_t q = 0; q < s && q < n; q++) {
      const int64_t e = q * ldp + (n - q + s - 1) / s - 1;
      if (e > last) last = e;
    }
    const int64_t ns = (rows - 1) * lds + last + 1, nout = rows * ldd;
    R *src = alloc(ns), *bias = has_bias ? alloc(rows) : NULL;
    for (int64_t i = 0; i < ns; i++) src[i] = layout_value(&g);
    for (int64_t i = 0; bias && i < rows; i++) bias[i] = value(&g);
    R *exp = sentinels(nout);
    double *bound = malloc((size_t)nout * sizeof(double));
    for (int64_t i = 0; i < nout; i++) bound[i] = -1;
    for (int64_t f = 0; f < rows; f++)
      for (int64_t i = 0; i < n; i++) {
        const R v = src[f * lds + i % s * ldp + i / s];
        exp[f * ldd + i] = relu_of(bias ? v + bias[f] : v, relu); /* NULL: nothing added */
        bound[f * ldd + i] = 0;
      }
    st.cases++;
    for (int k = 0; k < ts.n; k++) {
      R *out = sentinels(nout);
      snprintf(current, sizeof current,
               "interleave " PREC " [%s]: s=%" PRId64 " n=%" PRId64 " rows=%" PRId64 " ldp=%" PRId64
               " lds=%" PRId64 " ldd=%" PRId64 " bias=%d relu=%d (case %d)",
               ts.t[k]->name, s, n, rows, ldp, lds, ldd, has_bias, relu, rep);
      ts.t[k]->interleave(src, ldp, lds, s, n, rows, bias, relu, out, ldd);
      judge(&st, k, out, exp, bound, nout, 1);
      free(out);
    }
    free(src), free(bias), free(exp), free(bound);
  }
  report(&st, names, ts.n);
}
END_TEST

/* ---- the tables themselves --------------------------------------------------------------- */
/* ---- the backward pass's tiles -------------------------------------------------------------- */
START_TEST(test_bwd_data) {
  rng g = {UINT64_C(0xBD47A) + sizeof(R)};
  const tables ts = tables_to_test();
  const char *names[MAX_TABLES];
  for (int k = 0; k < ts.n; k++) names[k] = ts.t[k]->name;
  stats st = {.entry = "bwd_data"};
  for (int rep = 0; rep < 300; rep++) {
    int64_t C = channels(&g), n = positions(&g), F = filters_count(&g);
    const int K = (int)irand(&g, 1, 8);
    const int64_t s = irand(&g, 1, 4), d = s == 1 ? irand(&g, 1, 3) : 1;
    const int64_t cap = rep % 16 ? 300000 : 3000000;
    while (n * F * C * K > cap) {
      if (n > 13)
        n = n / 2 + 1;
      else
        F = F / 2 + 1;
    }
    const int64_t ldw = round_up(C, PAD) + (chance(&g, 20) ? PAD : 0);
    const int64_t ldo = C + (chance(&g, 70) ? irand(&g, 1, PAD) : 0);
    /* what kernel.h lets the tiles read: rows up to (n + MR) * s + (K - 1) * d */
    const int64_t nz = ((n + CONV1DT_DIRECT_MR) * s + (K - 1) * d + 1) * F;
    R *dz = fill(&g, alloc(nz), nz);
    R *w = fill(&g, alloc(K * F * ldw), K * F * ldw);
    if (chance(&g, 8)) signed_zeros(&g, dz, nz, w, K * F * ldw, w, 1);
    const int64_t nout = n * ldo;
    R *exp = sentinels(nout);
    double *bound = malloc((size_t)nout * sizeof(double));
    for (int64_t i = 0; i < nout; i++) bound[i] = -1;
    for (int64_t l = 0; l < n; l++)
      for (int64_t c = 0; c < C; c++) {
        sum sm = {RC(0.0), 0};
        for (int k = 0; k < K; k++)
          for (int64_t f = 0; f < F; f++)
            add(&sm, dz[(l * s + k * d) * F + f], w[(k * F + f) * ldw + c]);
        exp[l * ldo + c] = sm.v;
        bound[l * ldo + c] = sm.mag;
      }
    st.cases++;
    for (int k = 0; k < ts.n; k++) {
      R *out = sentinels(nout);
      const X(conv1dt_bwd_data_args) a = {dz, F, s, d, K, w, C, ldw, n, out, ldo};
      snprintf(current, sizeof current,
               "bwd_data " PREC " [%s]: C=%" PRId64 " F=%" PRId64 " K=%d s=%" PRId64 " d=%" PRId64
               " ldw=%" PRId64 " n=%" PRId64 " ldo=%" PRId64 " (case %d)",
               ts.t[k]->name, C, F, K, s, d, ldw, n, ldo, rep);
      ts.t[k]->bwd_data(&a);
      judge(&st, k, out, exp, bound, nout, k == 0);
      free(out);
    }
    free(dz), free(w), free(exp), free(bound);
  }
  report(&st, names, ts.n);
}
END_TEST

START_TEST(test_bwd_weights) {
  rng g = {UINT64_C(0xBD3E1) + sizeof(R)};
  const tables ts = tables_to_test();
  const char *names[MAX_TABLES];
  for (int k = 0; k < ts.n; k++) names[k] = ts.t[k]->name;
  stats st = {.entry = "bwd_weights"};
  for (int rep = 0; rep < 300; rep++) {
    int64_t C = channels(&g), n = positions(&g), F = filters_count(&g);
    const int64_t s = irand(&g, 1, 4);
    const int64_t cap = rep % 16 ? 300000 : 3000000;
    while (n * F * C > cap) n = n / 2 + 1;
    const int64_t ldw = round_up(C, PAD) + (chance(&g, 20) ? PAD : 0);
    const int64_t ldx = ldw + (chance(&g, 30) ? PAD : 0);
    const int64_t f_lo = irand(&g, 0, F - 1), f_hi = irand(&g, f_lo + 1, F);
    /* what kernel.h lets the tiles read: MR elements past the last row's f_hi */
    const int64_t nz = (n - 1) * s * F + f_hi + CONV1DT_DIRECT_MR;
    R *dz = fill(&g, alloc(nz), nz);
    R *x = fill(&g, alloc(n * ldx), n * ldx);
    R *acc0 = fill(&g, alloc(F * ldw), F * ldw);
    if (chance(&g, 8)) signed_zeros(&g, dz, nz, x, n * ldx, acc0, F * ldw);
    const int64_t nout = F * ldw;
    R *exp = alloc(nout);
    double *bound = malloc((size_t)nout * sizeof(double));
    for (int64_t i = 0; i < nout; i++) exp[i] = acc0[i], bound[i] = -1; /* rows left alone */
    for (int64_t f = f_lo; f < f_hi; f++)
      for (int64_t c = 0; c < ldw; c++) {
        sum sm = {acc0[f * ldw + c], fabs((double)acc0[f * ldw + c])};
        for (int64_t l = 0; l < n; l++) add(&sm, dz[l * s * F + f], x[l * ldx + c]);
        exp[f * ldw + c] = sm.v;
        bound[f * ldw + c] = sm.mag;
      }
    st.cases++;
    for (int k = 0; k < ts.n; k++) {
      R *acc = alloc(nout);
      memcpy(acc, acc0, (size_t)nout * sizeof(R));
      const X(conv1dt_bwd_weights_args) a = {dz, F, s, x, ldx, n, f_lo, f_hi, ldw, acc};
      snprintf(current, sizeof current,
               "bwd_weights " PREC " [%s]: C=%" PRId64 " F=%" PRId64 " f=[%" PRId64 ",%" PRId64
               ") s=%" PRId64 " ldw=%" PRId64 " ldx=%" PRId64 " n=%" PRId64 " (case %d)",
               ts.t[k]->name, C, F, f_lo, f_hi, s, ldw, ldx, n, rep);
      ts.t[k]->bwd_weights(&a);
      judge(&st, k, acc, exp, bound, nout, k == 0);
      free(acc);
    }
    free(dz), free(x), free(acc0), free(exp), free(bound);
  }
  report(&st, names, ts.n);
}
END_TEST

START_TEST(test_bwd_data_t) {
  rng g = {UINT64_C(0xBD7A7) + sizeof(R)};
  const tables ts = tables_to_test();
  const char *names[MAX_TABLES];
  for (int k = 0; k < ts.n; k++) names[k] = ts.t[k]->name;
  stats st = {.entry = "bwd_data_t"};
  for (int rep = 0; rep < 300; rep++) {
    int64_t C = channels(&g), n = positions(&g), F = filters_count(&g);
    const int K = (int)irand(&g, 1, 8);
    const int64_t s = irand(&g, 1, 4), d = irand(&g, 1, 3);
    const int64_t cap = rep % 16 ? 300000 : 3000000;
    while (n * F * C * K > cap) {
      if (n > 13)
        n = n / 2 + 1;
      else
        F = F / 2 + 1;
    }
    /* what kernel.h lets the tiles read: each plane row up to SLACK past the last step's */
    const int64_t ldq = n + (K - 1) * d / s + SLACK + (chance(&g, 50) ? irand(&g, 1, 9) : 0);
    const int64_t ldw = C + (chance(&g, 30) ? irand(&g, 1, PAD) : 0);
    const int64_t ldo = n + (chance(&g, 70) ? irand(&g, 1, PAD) : 0);
    const int64_t nz = F * s * ldq;
    R *dz = fill(&g, alloc(nz), nz);
    R *w = fill(&g, alloc(K * F * ldw), K * F * ldw);
    if (chance(&g, 8)) signed_zeros(&g, dz, nz, w, K * F * ldw, w, 1);
    const int64_t nout = C * ldo;
    R *exp = sentinels(nout);
    double *bound = malloc((size_t)nout * sizeof(double));
    for (int64_t i = 0; i < nout; i++) bound[i] = -1;
    for (int64_t c = 0; c < C; c++)
      for (int64_t l = 0; l < n; l++) {
        sum sm = {RC(0.0), 0};
        for (int k = 0; k < K; k++)
          for (int64_t f = 0; f < F; f++)
            add(&sm, dz[(f * s + k * d % s) * ldq + l + k * d / s], w[(k * F + f) * ldw + c]);
        exp[c * ldo + l] = sm.v;
        bound[c * ldo + l] = sm.mag;
      }
    st.cases++;
    for (int k = 0; k < ts.n; k++) {
      R *out = sentinels(nout);
      const X(conv1dt_bwd_data_t_args) a = {dz, ldq, F, s, d, K, w, ldw, C, n, out, ldo};
      snprintf(current, sizeof current,
               "bwd_data_t " PREC " [%s]: C=%" PRId64 " F=%" PRId64 " K=%d s=%" PRId64 " d=%" PRId64
               " ldq=%" PRId64 " ldw=%" PRId64 " n=%" PRId64 " ldo=%" PRId64 " (case %d)",
               ts.t[k]->name, C, F, K, s, d, ldq, ldw, n, ldo, rep);
      ts.t[k]->bwd_data_t(&a);
      judge(&st, k, out, exp, bound, nout, k == 0);
      free(out);
    }
    free(dz), free(w), free(exp), free(bound);
  }
  report(&st, names, ts.n);
}
END_TEST

/* bwd_weights_t sums into vl lanes per element: each element's value starts in lane 0 (the others
 * -0, which any sum leaves as it was) and is read back as its lanes' sum. */
START_TEST(test_bwd_weights_t) {
  rng g = {UINT64_C(0xBD3E7) + sizeof(R)};
  const tables ts = tables_to_test();
  const char *names[MAX_TABLES];
  for (int k = 0; k < ts.n; k++) names[k] = ts.t[k]->name;
  stats st = {.entry = "bwd_weights_t"};
  for (int rep = 0; rep < 300; rep++) {
    int64_t C = channels(&g), n = positions(&g), F = filters_count(&g);
    const int K = (int)irand(&g, 1, 8);
    const int64_t s = irand(&g, 1, 4), d = irand(&g, 1, 3);
    const int64_t cap = rep % 16 ? 300000 : 3000000;
    while (n * F * C * K > cap) {
      if (n > 13)
        n = n / 2 + 1;
      else
        F = F / 2 + 1;
    }
    const int64_t reach = n + (K - 1) * d / s; /* plane entries the steps reach */
    const int64_t ldq = reach + (chance(&g, 50) ? irand(&g, 1, 40) : 0);
    const int64_t ldx = n + (chance(&g, 50) ? irand(&g, 1, 40) : 0);
    const int64_t lda = C + (chance(&g, 30) ? irand(&g, 1, PAD) : 0);
    const int64_t f_lo = irand(&g, 0, F - 1), f_hi = irand(&g, f_lo + 1, F);
    const int64_t c_lo = irand(&g, 0, C - 1), c_hi = irand(&g, c_lo + 1, C);
    /* the last plane row ends at its last reached entry, the last x row at step n - 1: ASan
     * sees a read past either */
    const int64_t nz = (F * s - 1) * ldq + reach, nx = (C - 1) * ldx + n, nout = K * F * lda;
    R *dz = fill(&g, alloc(nz), nz);
    R *x = fill(&g, alloc(nx), nx);
    R *acc0 = fill(&g, alloc(nout), nout);
    if (chance(&g, 8)) signed_zeros(&g, dz, nz, x, nx, acc0, nout);
    R *exp = alloc(nout), *got = alloc(nout);
    double *bound = malloc((size_t)nout * sizeof(double));
    for (int64_t i = 0; i < nout; i++) exp[i] = acc0[i], bound[i] = -1; /* left alone */
    for (int k = 0; k < K; k++)
      for (int64_t f = f_lo; f < f_hi; f++)
        for (int64_t c = c_lo; c < c_hi; c++) {
          const int64_t e = (k * F + f) * lda + c, r = k * d % s, o = k * d / s;
          sum sm = {acc0[e], fabs((double)acc0[e])};
          for (int64_t l = 0; l < n; l++) add(&sm, dz[(f * s + r) * ldq + l + o], x[c * ldx + l]);
          exp[e] = sm.v;
          bound[e] = sm.mag;
        }
    st.cases++;
    for (int k = 0; k < ts.n; k++) {
      const int64_t vl = ts.t[k]->vl;
      R *lanes = alloc(nout * vl);
      for (int64_t i = 0; i < nout; i++)
        for (int64_t e = 0; e < vl; e++) lanes[i * vl + e] = e ? -RC(0.0) : acc0[i];
      const X(conv1dt_bwd_weights_t_args)
          a = {dz, ldq, F, s, d, K, x, ldx, n, f_lo, f_hi, c_lo, c_hi, lanes, lda};
      snprintf(current, sizeof current,
               "bwd_weights_t " PREC " [%s]: C=%" PRId64 " F=%" PRId64 " K=%d s=%" PRId64
               " d=%" PRId64 " f=[%" PRId64 ",%" PRId64 ") c=[%" PRId64 ",%" PRId64 ") ldq=%" PRId64
               " ldx=%" PRId64 " lda=%" PRId64 " n=%" PRId64 " (case %d)",
               ts.t[k]->name, C, F, K, s, d, f_lo, f_hi, c_lo, c_hi, ldq, ldx, lda, n, rep);
      ts.t[k]->bwd_weights_t(&a);
      for (int64_t i = 0; i < nout; i++) { /* in double: the test's rounding stays out */
        double v = (double)lanes[i * vl];
        for (int64_t e = 1; e < vl; e++) v += (double)lanes[i * vl + e];
        got[i] = (R)v;
      }
      judge(&st, k, got, exp, bound, nout, 0); /* lanes: no table sums in the test's order */
      free(lanes);
    }
    free(dz), free(x), free(acc0), free(exp), free(got), free(bound);
  }
  report(&st, names, ts.n);
}
END_TEST

START_TEST(test_tables) {
  ck_assert_ptr_eq(X(conv1dt__kernels)(CONV1DT_ISA_REF), &X(conv1dt__kernels_ref));
  const tables ts = tables_to_test();
  for (int k = 0; k < ts.n; k++) {
    const KT *t = ts.t[k];
    ck_assert_msg(t->name && t->name[0], "table %d has no name", k);
    /* (a table may leave the layout changes to a narrower one's, never the tiles) */
    ck_assert_msg(t->filters && t->steps && t->bwd_data && t->bwd_weights && t->bwd_data_t &&
                      t->bwd_weights_t,
                  "%s lacks an entry every table has", t->name);
    /* the steps tiles read 3 * vl past a phase: the slack must cover it */
    ck_assert_msg(t->vl > 0 && 3 * t->vl <= SLACK && t->mf >= MF && t->mf % MF == 0,
                  "%s: vl %d, mf %d", t->name, t->vl, t->mf);
    for (int i = 0; i < 4; i++)
      ck_assert_msg(t->mr[i] > 0 && t->mr[i] <= CONV1DT_DIRECT_MR, "%s: mr[%d] = %d", t->name, i,
                    t->mr[i]);
  }
  for (conv1dt_isa isa = CONV1DT_ISA_REF; isa < CONV1DT_ISA_COUNT; isa++)
    if (conv1dt__isa_runs(isa)) ck_assert_ptr_nonnull(X(conv1dt__kernels)(isa));
}
END_TEST

/* One line per precision on stdout, so that CI logs show which tables ran. */
void X(kernel_coverage)(void) {
  static const char *const isa_label[CONV1DT_ISA_COUNT] = {"ref", "generic", "x86-64-v3",
                                                           "x86-64-v4"};
  printf("test_kernels " PREC ":");
  for (conv1dt_isa isa = CONV1DT_ISA_REF; isa < CONV1DT_ISA_COUNT; isa++) {
    const KT *t = X(conv1dt__kernels)(isa);
    const int runs = isa == CONV1DT_ISA_REF || conv1dt__isa_runs(isa);
    printf(" %s=%s%s", isa_label[isa],
           !t      ? "not built"
           : !runs ? "not run (CPU lacks it)"
                   : "tested",
           t && runs && !t->transpose ? " (its layout changes: a narrower table's)" : "");
  }
  printf("\n");
  fflush(stdout);
}

void X(add_kernel_tests)(Suite *suite) {
  TCase *tc = tcase_create("kernels_" PREC);
  tcase_set_timeout(tc, 300);
  tcase_add_checked_fixture(tc, watch_deaths, NULL);
  tcase_add_test(tc, test_tables);
  tcase_add_test(tc, test_filters);
  tcase_add_test(tc, test_steps);
  tcase_add_test(tc, test_steps2);
  tcase_add_test(tc, test_groups);
  tcase_add_test(tc, test_transpose);
  tcase_add_test(tc, test_interleave);
  tcase_add_test(tc, test_bwd_data);
  tcase_add_test(tc, test_bwd_weights);
  tcase_add_test(tc, test_bwd_data_t);
  tcase_add_test(tc, test_bwd_weights_t);
  suite_add_tcase(suite, tc);
}

#if CONV1DT_PRECISION == 64 /* one main for both copies */
void kernel_coverage_f32(void);
void add_kernel_tests_f32(Suite *suite);

int main(void) {
  kernel_coverage_f32();
  kernel_coverage_f64();
  Suite *suite = suite_create("kernels");
  add_kernel_tests_f32(suite);
  add_kernel_tests_f64(suite);
  return run_suite(suite);
}
#endif
