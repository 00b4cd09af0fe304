/* conv1dt-bench: the small helpers every part of the bench shares (clock, medians, data,
 * formatting, JSON). */
#define _GNU_SOURCE /* clock_gettime */
#include "bench.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* ---- Small utilities -------------------------------------------------------------------- */

double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double bench_median(double *v, size_t n) {
  if (n == 0) return NAN;
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Busy, not asleep: on this project's VMs an idle vCPU comes back slow (layer runs after a
 * 0.2 s sleep took 1.2-2x as long for a second and more), so every online CPU spins here while
 * the BLAS's workers time out. Twice OpenBLAS's default THREAD_TIMEOUT (2^28 cycles). */
#define BENCH_PARK_SECONDS 0.2
static void *park_spin(void *arg) {
  const double end = *(const double *)arg;
  while (bench_now() < end) {
  }
  return NULL;
}
void bench_let_blas_park(void) {
  enum { MAX_SPIN = 64 };
  pthread_t tids[MAX_SPIN];
  double end = bench_now() + BENCH_PARK_SECONDS;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  int n = 0;
  for (; n < MAX_SPIN && n < cpus - 1; n++)
    if (pthread_create(&tids[n], NULL, park_spin, &end)) break;
  park_spin(&end);
  for (int i = 0; i < n; i++) pthread_join(tids[i], NULL);
}

int bench_more(const bench_reps *r, int done, double elapsed) {
  if (r->reps > 0) return done < r->reps;
  if (done >= BENCH_MAX_RUNS) return 0;
  return done < r->min_reps || elapsed < r->min_time;
}

size_t bench_dtype_size(conv1dt_dtype dt) {
  return dt == CONV1DT_FLOAT32 ? sizeof(float) : sizeof(double);
}

const char *bench_dtype_name(conv1dt_dtype dt) {
  return dt == CONV1DT_FLOAT32 ? "f32" : "f64";
}

const char *bench_format_name(conv1dt_data_format f) {
  return f == CONV1DT_CHANNELS_LAST ? "cl" : "cf";
}

const char *bench_padding_name(conv1dt_padding p) {
  return p == CONV1DT_PADDING_VALID ? "valid" : "same";
}

/* 64-byte aligned, zero-filled (so every page is touched before any timing). */
void *bench_alloc(size_t bytes) {
  size_t size = (bytes + 63) & ~(size_t)63;
  if (size == 0) size = 64;
  void *p = aligned_alloc(64, size);
  if (p) memset(p, 0, size);
  return p;
}

/* Uniform numbers in [-scale, scale) from xorshift64*: the same data on every run. */
void bench_fill_uniform(void *buf, conv1dt_dtype dt, size_t n, double scale, uint64_t seed) {
  uint64_t s = seed * 0x9E3779B97F4A7C15ull + 1;
  for (size_t i = 0; i < n; i++) {
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    const double u = (double)((s * 0x2545F4914F6CDD1Dull) >> 11) * 0x1.0p-53; /* [0, 1) */
    const double v = scale * (2.0 * u - 1.0);
    if (dt == CONV1DT_FLOAT32)
      ((float *)buf)[i] = (float)v;
    else
      ((double *)buf)[i] = v;
  }
}

/* Growable arrays of run times, one per series. */
typedef struct {
  double *t;
  size_t n, cap;
} series;

int bench_series_add(bench_series *s, double t) {
  if (s->n == s->cap) {
    const size_t cap = s->cap ? 2 * s->cap : 64;
    double *grown = realloc(s->t, cap * sizeof *grown);
    if (!grown) return 0;
    s->t = grown;
    s->cap = cap;
  }
  s->t[s->n++] = t;
  return 1;
}

/* A time in ms with about four significant digits, right-aligned in `width`. */
const char *bench_fmt_ms(char *buf, size_t size, double ms, int width) {
  if (!(ms == ms))
    snprintf(buf, size, "%*s", width, "-");
  else if (ms >= 100)
    snprintf(buf, size, "%*.1f", width, ms);
  else if (ms >= 10)
    snprintf(buf, size, "%*.2f", width, ms);
  else if (ms >= 1)
    snprintf(buf, size, "%*.3f", width, ms);
  else
    snprintf(buf, size, "%*.4f", width, ms);
  return buf;
}

const char *bench_fmt_num(char *buf, size_t size, const char *spec, double v, int width) {
  if (!(v == v))
    snprintf(buf, size, "%*s", width, "-");
  else
    snprintf(buf, size, spec, width, v);
  return buf;
}

void bench_shape_text(const bench_shape *s, char *buf, size_t size) {
  snprintf(buf, size, "%lld,%lld,%lld,%lld,%lld,%lld,%lld,%s", (long long)s->B, (long long)s->L,
           (long long)s->C, (long long)s->F, (long long)s->K, (long long)s->s, (long long)s->d,
           bench_padding_name(s->padding));
}

void bench_json_string(FILE *f, const char *s) {
  fputc('"', f);
  for (; s && *s; s++) {
    const unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      fprintf(f, "\\%c", ch);
    else if (ch < 0x20)
      fprintf(f, "\\u%04x", ch);
    else
      fputc(ch, f);
  }
  fputc('"', f);
}

void bench_json_number(FILE *f, double v) {
  if (v == v && !isinf(v))
    fprintf(f, "%.6g", v);
  else
    fputs("null", f);
}
