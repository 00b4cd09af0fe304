/* conv1dt_selftest: a small sweep of forward and backward calls through the BLAS this process
 * loaded and every direct-method kernel table this CPU runs, each checked against a naive loop of
 * its own (double sums, written from the definition in docs/SEMANTICS.md), so a user can ask
 * whether a vendor's GEMMs or the kernel's ISA compute correctly on this machine. */
#include "kernels/kernel.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Shapes that reach each code path: few channels (direct under AUTO), filters beyond one
 * 256-bit vector (the AVX-512 filter tiles where the CPU has them) and within it (the AVX2 /
 * baseline build), stride 1 with up to 16 filters (grouped positions), dilation, both paddings,
 * and a channel count past AUTO's direct rule (the GEMM methods). */
typedef struct {
  int64_t C, F, K, s, d, B, L;
  conv1dt_padding padding;
} shape_t;
static const shape_t SHAPES[] = {
    {3, 5, 3, 2, 1, 2, 7, CONV1DT_PADDING_VALID},    {16, 8, 4, 1, 1, 2, 40, CONV1DT_PADDING_SAME},
    {24, 20, 5, 1, 2, 3, 33, CONV1DT_PADDING_VALID}, {8, 33, 3, 3, 1, 2, 29, CONV1DT_PADDING_SAME},
    {160, 12, 2, 2, 1, 2, 21, CONV1DT_PADDING_SAME},
};
static const conv1dt_algorithm METHODS[] = {CONV1DT_ALGORITHM_AUTO, CONV1DT_ALGORITHM_GEMM,
                                            CONV1DT_ALGORITHM_GEMM_ACCUMULATE,
                                            CONV1DT_ALGORITHM_DIRECT};
enum { NSHAPES = sizeof SHAPES / sizeof SHAPES[0], NMETHODS = sizeof METHODS / sizeof METHODS[0] };

typedef struct {
  char *text;
  size_t size, len;
} report_t;

static void say(report_t *r, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  const int room = r->len < r->size;
  int n = vsnprintf(room ? r->text + r->len : NULL, room ? r->size - r->len : 0, fmt, ap);
  va_end(ap);
  if (n > 0) r->len += (size_t)n;
  if (r->len >= r->size) r->len = r->size - 1; /* a long list of failures is cut, not an error */
}

/* Output length and left crop (SEMANTICS.md's table, output_padding None). */
static void out_geometry(const shape_t *sh, int64_t *out_len, int64_t *crop) {
  const int64_t keff = (sh->K - 1) * sh->d + 1;
  if (sh->padding == CONV1DT_PADDING_VALID) {
    *out_len = (sh->L - 1) * sh->s + (keff > sh->s ? keff : sh->s);
    *crop = 0;
  } else {
    *out_len = sh->L * sh->s;
    *crop = (keff > sh->s ? keff - sh->s : 0) / 2;
  }
}

/* Element (b, t, c) of a (B, T, C) tensor in the layer's data format. */
static size_t at(int cf, int64_t b, int64_t t, int64_t c, int64_t T, int64_t C) {
  return (size_t)(cf ? (b * C + c) * T + t : (b * T + t) * C + c);
}

/* One value against its naive sum: within a few hundred units of rounding of the sum of the
 * terms' magnitudes (the GEMMs may add in any order and block). */
static int agrees(double got, double want, double mag, double eps) {
  return isfinite(got) && fabs(got - want) <= 256.0 * eps * (mag + fabs(want)) + 1e-300;
}

typedef struct {
  const shape_t *sh;
  int cf;
  int64_t T, crop;
  const double *x, *w, *bias, *dy; /* x (B, L, C) and dy (B, T, F) in the layer's format */
} naive_t;

/* The full position l*s + k*d lands on output t = l*s + k*d - crop, when 0 <= t < T. */
static int64_t target(const naive_t *n, int64_t l, int64_t k) {
  const int64_t t = l * n->sh->s + k * n->sh->d - n->crop;
  return t >= 0 && t < n->T ? t : -1;
}

/* Compares `got` (the layer's dtype) with the naive forward output; 1 when all agree. */
static int check_forward(const naive_t *n, const void *got, int f32, double eps) {
  const shape_t *sh = n->sh;
  const size_t count = (size_t)(sh->B * n->T * sh->F);
  double *want = calloc(count, sizeof *want), *mag = calloc(count, sizeof *mag);
  int ok = want && mag;
  for (int64_t b = 0; ok && b < sh->B; b++)
    for (int64_t l = 0; l < sh->L; l++)
      for (int64_t k = 0; k < sh->K; k++) {
        const int64_t t = target(n, l, k);
        if (t < 0) continue;
        for (int64_t f = 0; f < sh->F; f++)
          for (int64_t c = 0; c < sh->C; c++) {
            const double term =
                n->x[at(n->cf, b, l, c, sh->L, sh->C)] * n->w[(k * sh->F + f) * sh->C + c];
            want[at(n->cf, b, t, f, n->T, sh->F)] += term;
            mag[at(n->cf, b, t, f, n->T, sh->F)] += fabs(term);
          }
      }
  for (int64_t b = 0; ok && b < sh->B; b++)
    for (int64_t t = 0; t < n->T; t++)
      for (int64_t f = 0; f < sh->F; f++) {
        const size_t i = at(n->cf, b, t, f, n->T, sh->F);
        const double g = f32 ? ((const float *)got)[i] : ((const double *)got)[i];
        ok &= agrees(g, want[i] + n->bias[f], mag[i] + fabs(n->bias[f]), eps);
      }
  free(want);
  free(mag);
  return ok;
}

/* dx, dkernel and dbias against their naive sums; 1 when all agree. */
static int check_backward(const naive_t *n, const void *dx, const void *dw, const void *db, int f32,
                          double eps) {
  const shape_t *sh = n->sh;
  const size_t nx = (size_t)(sh->B * sh->L * sh->C), nw = (size_t)(sh->K * sh->F * sh->C);
  double *gx = calloc(nx, sizeof *gx), *mx = calloc(nx, sizeof *mx);
  double *gw = calloc(nw, sizeof *gw), *mw = calloc(nw, sizeof *mw);
  int ok = gx && mx && gw && mw;
  for (int64_t b = 0; ok && b < sh->B; b++)
    for (int64_t l = 0; l < sh->L; l++)
      for (int64_t k = 0; k < sh->K; k++) {
        const int64_t t = target(n, l, k);
        if (t < 0) continue;
        for (int64_t f = 0; f < sh->F; f++)
          for (int64_t c = 0; c < sh->C; c++) {
            const size_t ix = at(n->cf, b, l, c, sh->L, sh->C),
                         iw = (size_t)((k * sh->F + f) * sh->C + c);
            const double g = n->dy[at(n->cf, b, t, f, n->T, sh->F)];
            gx[ix] += g * n->w[iw], mx[ix] += fabs(g * n->w[iw]);
            gw[iw] += g * n->x[ix], mw[iw] += fabs(g * n->x[ix]);
          }
      }
#define GOT(p, i) (f32 ? (double)((const float *)(p))[i] : ((const double *)(p))[i])
  for (size_t i = 0; ok && i < nx; i++) ok &= agrees(GOT(dx, i), gx[i], mx[i], eps);
  for (size_t i = 0; ok && i < nw; i++) ok &= agrees(GOT(dw, i), gw[i], mw[i], eps);
  for (int64_t f = 0; ok && f < sh->F; f++) {
    double sum = 0, mag = 0;
    for (int64_t b = 0; b < sh->B; b++)
      for (int64_t t = 0; t < n->T; t++) {
        sum += n->dy[at(n->cf, b, t, f, n->T, sh->F)];
        mag += fabs(n->dy[at(n->cf, b, t, f, n->T, sh->F)]);
      }
    ok &= agrees(GOT(db, f), sum, mag, eps);
  }
#undef GOT
  free(gx);
  free(mx);
  free(gw);
  free(mw);
  return ok;
}

/* Values exact in float32 (multiples of 1/256 in [-1, 1)), so both dtypes see the same
 * inputs. */
static void fill(double *v, size_t n, uint64_t *state) {
  for (size_t i = 0; i < n; i++) {
    *state = *state * UINT64_C(6364136223846793005) + UINT64_C(1442695040888963407);
    v[i] = (double)((int)(*state >> 56) - 128) / 128.0;
  }
}

static void *typed_copy(const double *v, size_t n, int f32) {
  void *p = malloc(n * (f32 ? sizeof(float) : sizeof(double)));
  for (size_t i = 0; p && i < n; i++) {
    if (f32)
      ((float *)p)[i] = (float)v[i];
    else
      ((double *)p)[i] = v[i];
  }
  return p;
}

/* One shape, dtype and format: every method's forward, then backward; failures counted and
 * named in the report. Returns CONV1DT_OK unless the library itself refused (a bug) or memory
 * ran out. */
static conv1dt_status run_case(const shape_t *sh, int f32, int cf, report_t *r, int *failures,
                               int *checks) {
  naive_t n = {sh, cf, 0, 0, NULL, NULL, NULL, NULL};
  out_geometry(sh, &n.T, &n.crop);
  const size_t nx = (size_t)(sh->B * sh->L * sh->C), nw = (size_t)(sh->K * sh->F * sh->C),
               ny = (size_t)(sh->B * n.T * sh->F);
  double *x = malloc(nx * sizeof *x), *w = malloc(nw * sizeof *w),
         *bias = malloc((size_t)sh->F * sizeof *bias), *dy = malloc(ny * sizeof *dy);
  void *tx = NULL, *tw = NULL, *tb = NULL, *tdy = NULL, *y = NULL, *dx = NULL, *dw = NULL,
       *db = NULL;
  conv1dt_layer *layer = NULL;
  conv1dt_status st = CONV1DT_ERROR_OUT_OF_MEMORY;
  const size_t esz = f32 ? sizeof(float) : sizeof(double);
  const double eps = f32 ? 0x1p-24 : 0x1p-53;
  if (!x || !w || !bias || !dy) goto done;
  uint64_t state = (uint64_t)(sh->C * 131 + sh->F * 17 + sh->K);
  fill(x, nx, &state), fill(w, nw, &state), fill(bias, (size_t)sh->F, &state), fill(dy, ny, &state);
  n.x = x, n.w = w, n.bias = bias, n.dy = dy;
  tx = typed_copy(x, nx, f32), tw = typed_copy(w, nw, f32),
  tb = typed_copy(bias, (size_t)sh->F, f32);
  tdy = typed_copy(dy, ny, f32);
  y = malloc(ny * esz), dx = malloc(nx * esz), dw = malloc(nw * esz),
  db = malloc((size_t)sh->F * esz);
  if (!tx || !tw || !tb || !tdy || !y || !dx || !dw || !db) goto done;

  for (int m = 0; m < NMETHODS; m++) {
    conv1dt_config cfg = conv1dt_config_default(sh->F, sh->K);
    cfg.strides = sh->s, cfg.dilation_rate = sh->d, cfg.padding = sh->padding;
    cfg.data_format = cf ? CONV1DT_CHANNELS_FIRST : CONV1DT_CHANNELS_LAST;
    cfg.algorithm = METHODS[m];
    if ((st = conv1dt_create(&cfg, sh->C, f32 ? CONV1DT_FLOAT32 : CONV1DT_FLOAT64, &layer)) ||
        (st = conv1dt_set_weights(layer, tw, tb)))
      goto done;
    conv1dt_algorithm ran = METHODS[m];
    if ((st = conv1dt_forward_algorithm(layer, sh->B, sh->L, 0, &ran))) goto done;
    /* the direct method once per kernel table this CPU runs, from the layer's own down to the
     * reference */
    for (int isa = ran == CONV1DT_ALGORITHM_DIRECT ? layer->isa : 0; isa >= 0; isa--) {
      if (ran == CONV1DT_ALGORITHM_DIRECT &&
          (!conv1dt__isa_runs((conv1dt_isa)isa) ||
           (st = conv1dt__layer_use_isa(layer, (conv1dt_isa)isa))))
        continue;
      memset(y, 0xff, ny * esz); /* NaN: a position left unwritten fails */
      if ((st = conv1dt_forward(layer, tx, sh->B, sh->L, y, NULL, 0))) goto done;
      (*checks)++;
      if (!check_forward(&n, y, f32, eps)) {
        (*failures)++;
        say(r, "FAIL forward %s %s %s%s%s C=%lld F=%lld K=%lld s=%lld d=%lld\n",
            f32 ? "float32" : "float64", cf ? "channels_first" : "channels_last",
            conv1dt_algorithm_name(ran), ran == CONV1DT_ALGORITHM_DIRECT ? " on " : "",
            ran == CONV1DT_ALGORITHM_DIRECT ? conv1dt__isa_name((conv1dt_isa)isa) : "",
            (long long)sh->C, (long long)sh->F, (long long)sh->K, (long long)sh->s,
            (long long)sh->d);
      }
    }
    st = CONV1DT_OK;
    if (m == 0) { /* backward runs the same GEMMs whatever the forward method */
      memset(dx, 0xff, nx * esz), memset(dw, 0xff, nw * esz), memset(db, 0xff, (size_t)sh->F * esz);
      if ((st = conv1dt_backward(layer, tx, sh->B, sh->L, NULL, tdy, dx, dw, db, NULL, 0)))
        goto done;
      (*checks)++;
      if (!check_backward(&n, dx, dw, db, f32, eps)) {
        (*failures)++;
        say(r, "FAIL backward %s %s C=%lld F=%lld K=%lld s=%lld d=%lld\n",
            f32 ? "float32" : "float64", cf ? "channels_first" : "channels_last", (long long)sh->C,
            (long long)sh->F, (long long)sh->K, (long long)sh->s, (long long)sh->d);
      }
    }
    conv1dt_destroy(layer);
    layer = NULL;
  }
  st = CONV1DT_OK;
done:
  conv1dt_destroy(layer);
  free(x), free(w), free(bias), free(dy), free(tx), free(tw), free(tb), free(tdy);
  free(y), free(dx), free(dw), free(db);
  return st;
}

conv1dt_status conv1dt_selftest(char *report, size_t size, int *failures) {
  CONV1DT_REQUIRE_PTR(report, "conv1dt_selftest");
  CONV1DT_REQUIRE_PTR(failures, "conv1dt_selftest");
  char *text = malloc(8192);
  if (!text) return conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY, "conv1dt_selftest: out of memory");
  report_t r = {text, 8192, 0};
  char blas[512];
  int threads = 0, fails = 0;
  conv1dt_status st = conv1dt_blas_info(blas, sizeof blas, &threads);
  if (st) {
    free(text);
    return st;
  }
  say(&r, "BLAS: %s\ndirect kernel: %s\ndirect kernel tables checked:", blas, conv1dt_kernel_isa());
  for (int isa = (int)conv1dt__cpu_isa(); isa >= 0; isa--)
    if (conv1dt__isa_runs((conv1dt_isa)isa))
      say(&r, "%s %s", isa == (int)conv1dt__cpu_isa() ? "" : ",",
          conv1dt__isa_name((conv1dt_isa)isa));
  say(&r, "\n");
  for (int f32 = 1; f32 >= 0; f32--)
    for (int cf = 0; cf <= 1; cf++) {
      const int before = fails;
      int checks = 0;
      for (int s = 0; s < NSHAPES; s++) {
        const char *what = NULL;
        if ((st = run_case(&SHAPES[s], f32, cf, &r, &fails, &checks))) {
          what = conv1dt_last_error();
          say(&r, "FAIL %s %s: the library refused a valid call: %s\n", f32 ? "float32" : "float64",
              cf ? "channels_first" : "channels_last", what);
          fails++;
          if (st == CONV1DT_ERROR_OUT_OF_MEMORY) {
            free(text);
            return conv1dt__fail(st, "conv1dt_selftest: out of memory");
          }
        }
      }
      say(&r, "%s %s: %s (%d checks: forward by every method, backward)\n",
          f32 ? "float32" : "float64", cf ? "channels_first" : "channels_last",
          fails == before ? "pass" : "FAIL", checks);
    }
  say(&r, "%s\n", fails ? "selftest FAILED" : "selftest passed");
  if (r.len + 1 > size) {
    free(text);
    return conv1dt__fail(CONV1DT_ERROR_BUFFER_TOO_SMALL,
                         "conv1dt_selftest: report buffer of %zu bytes is too small, need %zu",
                         size, r.len + 1);
  }
  memcpy(report, text, r.len + 1);
  *failures = fails;
  free(text);
  return CONV1DT_OK;
}
