/* conv1dt-bench: times the layer on a fixed suite (or given shapes) against the bare CBLAS GEMM
 * of the same size (and the machine's best, yardstick.c), a roofline measured in the same run
 * and, when built with it, oneDNN; parked and right after a GEMM; with --backward also its
 * training calls (backward.c). Results are timings, never pass/fail. See docs/PERFORMANCE.md. */
#define _GNU_SOURCE /* RTLD_DEFAULT, clock_gettime, strcasecmp */
#include "bench.h"
#include "case.h"

#include <cblas.h>
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* POSIX guarantees a data pointer from dlsym converts to a function pointer; ISO C does not. */
static int lookup(const char *name, void *fn, size_t fn_size) {
  void *p = dlsym(RTLD_DEFAULT, name);
  if (!p) return 0;
  memcpy(fn, &p, fn_size);
  return 1;
}

/* ---- The suite ---------------------------------------------------------------------------- */

typedef struct {
  bench_shape shape;
  const char *label;
} suite_case;

static const suite_case SUITE[] = {
    {{"A", 4, 10, 128, 32, 3, 2, 1, CONV1DT_PADDING_VALID}, "seed"},
    {{"B", 8, 512, 512, 256, 16, 8, 1, CONV1DT_PADDING_SAME}, "audio-up"},
    {{"C", 32, 1024, 64, 64, 5, 2, 1, CONV1DT_PADDING_SAME}, "mid"},
    {{"D", 64, 8192, 8, 8, 7, 1, 2, CONV1DT_PADDING_SAME}, "small-ch"},
    {{"E", 16, 4096, 16, 16, 32, 4, 1, CONV1DT_PADDING_VALID}, "big-kernel"},
    {{"F", 16, 256, 1024, 1024, 4, 2, 1, CONV1DT_PADDING_VALID}, "wide"},
    {{"G", 1, 2048, 256, 128, 8, 4, 1, CONV1DT_PADDING_SAME}, "batch1"},
    /* Many short samples of a few hundred channels: channels_first's per-sample GEMMs are small. */
    {{"H", 256, 32, 256, 256, 4, 2, 1, CONV1DT_PADDING_SAME}, "many-short"},
};
#define SUITE_SIZE (sizeof SUITE / sizeof SUITE[0])
_Static_assert(SUITE_SIZE <= SUITE_MAX, "options.only holds SUITE_MAX cases");

/* ---- Options ------------------------------------------------------------------------------ */

/* --algorithm: the method every conv1dt layer of this run asks for. */
conv1dt_algorithm bench_algorithm = CONV1DT_ALGORITHM_AUTO;
/* The workspace_limit of the layers setup_init creates (0: the default). */
static size_t bench_ws_limit = 0;

static void usage(FILE *out) {
  fprintf(
      out,
      "usage: conv1dt-bench [options]\n"
      "Times Conv1DTranspose (relu, with bias) on the suite below, in f32 and f64, in\n"
      "channels_last and channels_first, against the bare CBLAS GEMM of the same size\n"
      "(interleaved), the roofline measured in the same run and, if built with it, oneDNN.\n"
      "\n"
      "  --case B,L,C,F,K,s,d,padding  a shape to run (repeatable; replaces the suite)\n"
      "  --only A,C,...      suite cases to run, by letter or label (A..H)\n"
      "  --dtype f32|f64|all  --format cl|cf|all   filters (default all)\n"
      "  --threads N         BLAS and OpenMP threads (default: all online cores)\n"
      "  --reps N            exactly N runs per measurement (default: adaptive)\n"
      "  --min-time S        adaptive: at least S seconds per case (default 0.5)\n"
      "  --min-reps N        adaptive: at least N runs (default 9)\n"
      "  --scaling           time per sample-step at batch x1,x2,x4 and steps x1,x2,x4\n"
      "                      (case C, or the first --case / --only case)\n"
      "  --algorithm A       auto|gemm|direct|gemm_accumulate: conv1dt's method (default auto)\n"
      "  --no-after-gemm     skip timing the layer right after a same-size GEMM\n"
      "  --backward          also time forward, forward_train and backward per case\n"
      "  --backward-only     only the backward table\n"
      "  --no-onednn         skip the oneDNN comparison\n"
      "  --mkl PATH          libmkl_rt.so.N (or its directory) to time the bare GEMM with, in a\n"
      "                      child process (default: $CONV1DT_BENCH_MKL, $CONV1DT_MKL_VENV/lib,\n"
      "                      ./.venv-mkl/lib, where one is found)\n"
      "  --yardstick-core C  also time OpenBLAS with OPENBLAS_CORETYPE=C in a child (done with\n"
      "                      the CPU's best core anyway where OpenBLAS runs a weaker one)\n"
      "  --own-gemm          only the loaded BLAS's GEMM as the yardstick (no child processes)\n"
      "  --json FILE  --csv FILE   machine-readable results\n"
      "  --pytorch-json FILE add the times of bench/pytorch_bench.py as a column\n"
      "  --smoke             one small case, once (checks that the bench runs)\n"
      "  --quick-roofline    measure the peak with a 512^3 GEMM, once (for a slow BLAS, such\n"
      "                      as the reference BLAS, whose 2048^3 GEMM takes many seconds)\n"
      "  --help\n"
      "\nSuite (B, L, C, F, K, s, d, padding):\n");
  for (size_t i = 0; i < SUITE_SIZE; i++) {
    const bench_shape *s = &SUITE[i].shape;
    fprintf(out, "  %s %-10s %lld,%lld,%lld,%lld,%lld,%lld,%lld,%s\n", s->name, SUITE[i].label,
            (long long)s->B, (long long)s->L, (long long)s->C, (long long)s->F, (long long)s->K,
            (long long)s->s, (long long)s->d, bench_padding_name(s->padding));
  }
}

static int parse_int(const char *text, long long lo, long long hi, long long *out) {
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (errno || end == text || *end || v < lo || v > hi) return 0;
  *out = v;
  return 1;
}

static int parse_case(const char *text, bench_shape *sh, int index) {
  char buf[256];
  if (strlen(text) >= sizeof buf) return 0;
  strcpy(buf, text);
  long long v[7];
  char *save = NULL, *tok = strtok_r(buf, ",", &save);
  for (int i = 0; i < 7; i++) {
    if (!tok || !parse_int(tok, i == 0 ? 0 : 1, (long long)1 << 40, &v[i])) return 0;
    tok = strtok_r(NULL, ",", &save);
  }
  if (!tok || conv1dt_padding_from_string(tok, &sh->padding) != CONV1DT_OK) return 0;
  if (strtok_r(NULL, ",", &save)) return 0;
  snprintf(sh->name, sizeof sh->name, "X%d", index + 1);
  sh->B = v[0], sh->L = v[1], sh->C = v[2], sh->F = v[3], sh->K = v[4], sh->s = v[5], sh->d = v[6];
  return 1;
}

static int parse_options(int argc, char **argv, options *o) {
  memset(o, 0, sizeof *o);
  o->reps.min_reps = 9; /* the paired ratios are medians of the rounds: 5 left them noisy */
  o->reps.min_time = 0.5;
  o->want_dtype[0] = o->want_dtype[1] = 1;
  o->want_format[0] = o->want_format[1] = 1;
  o->onednn = 1;
  o->after_gemm = 1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    long long n;
#define NEED_VALUE                                                                                 \
  do {                                                                                             \
    if (!v) {                                                                                      \
      fprintf(stderr, "conv1dt-bench: %s needs a value\n", a);                                     \
      return 0;                                                                                    \
    }                                                                                              \
    i++;                                                                                           \
  } while (0)
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      exit(0);
    } else if (!strcmp(a, "--threads")) {
      NEED_VALUE;
      if (!parse_int(v, 1, 4096, &n)) goto bad;
      o->threads = (int)n;
    } else if (!strcmp(a, "--reps")) {
      NEED_VALUE;
      if (!parse_int(v, 1, BENCH_MAX_RUNS, &n)) goto bad;
      o->reps.reps = (int)n;
    } else if (!strcmp(a, "--min-reps")) {
      NEED_VALUE;
      if (!parse_int(v, 1, BENCH_MAX_RUNS, &n)) goto bad;
      o->reps.min_reps = (int)n;
    } else if (!strcmp(a, "--min-time")) {
      NEED_VALUE;
      char *end;
      double t = strtod(v, &end);
      if (end == v || *end || !(t >= 0) || t > 3600) goto bad;
      o->reps.min_time = t;
    } else if (!strcmp(a, "--json")) {
      NEED_VALUE;
      o->json_path = v;
    } else if (!strcmp(a, "--csv")) {
      NEED_VALUE;
      o->csv_path = v;
    } else if (!strcmp(a, "--pytorch-json")) {
      NEED_VALUE;
      o->pytorch_path = v;
    } else if (!strcmp(a, "--dtype")) {
      NEED_VALUE;
      o->want_dtype[0] = !strcasecmp(v, "f32") || !strcasecmp(v, "all");
      o->want_dtype[1] = !strcasecmp(v, "f64") || !strcasecmp(v, "all");
      if (!o->want_dtype[0] && !o->want_dtype[1]) goto bad;
    } else if (!strcmp(a, "--format")) {
      NEED_VALUE;
      o->want_format[0] =
          !strcasecmp(v, "cl") || !strcasecmp(v, "channels_last") || !strcasecmp(v, "all");
      o->want_format[1] =
          !strcasecmp(v, "cf") || !strcasecmp(v, "channels_first") || !strcasecmp(v, "all");
      if (!o->want_format[0] && !o->want_format[1]) goto bad;
    } else if (!strcmp(a, "--only")) {
      NEED_VALUE;
      char buf[256];
      snprintf(buf, sizeof buf, "%s", v);
      char *save = NULL;
      for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        size_t k = 0;
        while (k < SUITE_SIZE && strcasecmp(tok, SUITE[k].shape.name) &&
               strcasecmp(tok, SUITE[k].label))
          k++;
        if (k == SUITE_SIZE) goto bad;
        o->only[k] = 1;
      }
      o->only_given = 1;
    } else if (!strcmp(a, "--case")) {
      NEED_VALUE;
      if (o->ncustom == MAX_CUSTOM || !parse_case(v, &o->custom[o->ncustom], o->ncustom)) goto bad;
      o->ncustom++;
    } else if (!strcmp(a, "--scaling")) {
      o->scaling = 1;
    } else if (!strcmp(a, "--limit-check")) {
      o->limit_check = 1;
    } else if (!strcmp(a, "--smoke")) {
      o->smoke = 1;
    } else if (!strcmp(a, "--quick-roofline")) {
      o->quick_roof = 1;
    } else if (!strcmp(a, "--no-after-gemm")) {
      o->after_gemm = 0;
    } else if (!strcmp(a, "--backward")) {
      o->backward = 1;
    } else if (!strcmp(a, "--backward-only")) {
      o->backward = 2;
    } else if (!strcmp(a, "--mkl")) {
      NEED_VALUE;
      o->mkl = v;
    } else if (!strcmp(a, "--own-gemm")) {
      o->own_gemm = 1;
    } else if (!strcmp(a, "--yardstick-core")) {
      NEED_VALUE;
      o->yardstick_core = v;
    } else if (!strcmp(a, "--yardstick-child")) { /* internal: see run_yardstick_children */
      NEED_VALUE;
      o->child = !strcmp(v, "gemm") ? CHILD_GEMM : !strcmp(v, "layer") ? CHILD_LAYER : 0;
      if (!o->child) goto bad;
    } else if (!strcmp(a, "--no-onednn")) {
      o->onednn = 0;
    } else if (!strcmp(a, "--algorithm")) {
      NEED_VALUE;
      if (conv1dt_algorithm_from_string(v, &bench_algorithm) != CONV1DT_OK) goto bad;
    } else {
      fprintf(stderr, "conv1dt-bench: unknown option '%s' (see --help)\n", a);
      return 0;
    }
    continue;
  bad:
    fprintf(stderr, "conv1dt-bench: bad value '%s' for %s (see --help)\n", v, a);
    return 0;
#undef NEED_VALUE
  }
  return 1;
}

/* ---- Threads and the machine -------------------------------------------------------------- */

typedef void (*set_int_fn)(int);

/* Sets the BLAS's threads (OpenBLAS, BLIS or MKL, whichever is loaded) and OpenMP's (oneDNN's
 * runtime in Debian's build). Returns whether the BLAS took it. */
static int set_threads(int n) {
  set_int_fn f = NULL;
  int blas = 0;
  /* MKL first: a child with MKL preloaded (yardstick.c) has the bench's own BLAS loaded too,
   * whose threads must stay asleep there, not compete with MKL's. */
  if (lookup("MKL_Set_Num_Threads", &f, sizeof f) ||
      lookup("openblas_set_num_threads", &f, sizeof f) ||
      lookup("bli_thread_set_num_threads", &f, sizeof f)) {
    f(n);
    blas = 1;
  }
  if (lookup("omp_set_num_threads", &f, sizeof f)) f(n);
  return blas;
}

typedef struct {
  char cpu[160];
  long cores;
  int threads;
  char blas[300];
  int blas_threads;
  char onednn[160];
  char coretype[64];
  char date[40];
  char torch[80];
  double load;        /* 1-minute load average at the start (others' work skews the timings) */
  double others_busy; /* share of all CPUs that other processes used during the run */
} machine_info;

/* CPU seconds used by the whole machine (from /proc/stat; NaN where unknown) and by this
 * process (all its threads), to tell how much of the run others took. */
typedef struct {
  double machine_busy, own;
} cpu_usage;

static void cpu_usage_now(cpu_usage *u) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  u->own = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
  u->machine_busy = NAN;
  FILE *f = fopen("/proc/stat", "r");
  if (!f) return;
  unsigned long long v[8] = {0};
  if (fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
             &v[5], &v[6], &v[7]) == 8) /* user nice system idle iowait irq softirq steal */
    u->machine_busy =
        (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
  fclose(f);
}

/* The share of all CPUs that other processes used between two samples `wall` seconds apart. */
static double others_share(const cpu_usage *a, const cpu_usage *b, double wall) {
  if (!(wall >= 0.2)) return NAN; /* /proc/stat counts clock ticks: too coarse for less */
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  const double share = ((b->machine_busy - a->machine_busy) - (b->own - a->own)) /
                       (wall * (double)(cores > 0 ? cores : 1));
  return share > 1 ? 1 : share > 0 ? share : share == share ? 0 : NAN;
}

static void read_cpu_model(char *buf, size_t size) {
  snprintf(buf, size, "unknown CPU");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10)) continue;
    const char *p = strchr(line, ':');
    if (!p) continue;
    p++;
    while (*p == ' ' || *p == '\t') p++;
    size_t len = strcspn(p, "\n");
    snprintf(buf, size, "%.*s", (int)len, p);
    break;
  }
  fclose(f);
}

static void machine_describe(machine_info *m, int threads) {
  memset(m, 0, sizeof *m);
  read_cpu_model(m->cpu, sizeof m->cpu);
  m->cores = sysconf(_SC_NPROCESSORS_ONLN);
  m->threads = threads;
  if (conv1dt_blas_info(m->blas, sizeof m->blas, &m->blas_threads) != CONV1DT_OK)
    snprintf(m->blas, sizeof m->blas, "unknown (%s)", conv1dt_last_error());
#ifdef CONV1DT_BENCH_HAVE_ONEDNN
  bench_dnn_describe(m->onednn, sizeof m->onednn);
#else
  snprintf(m->onednn, sizeof m->onednn,
           "oneDNN: not built in (CMake did not find it, or CONV1DT_BENCH_ONEDNN=OFF)");
#endif
  m->load = NAN;
  FILE *la = fopen("/proc/loadavg", "r");
  if (la) {
    if (fscanf(la, "%lf", &m->load) != 1) m->load = NAN;
    fclose(la);
  }
  const char *ct = getenv("OPENBLAS_CORETYPE");
  snprintf(m->coretype, sizeof m->coretype, "%s", ct ? ct : "");
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(m->date, sizeof m->date, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- The roofline: peak GEMM rate and copy bandwidth, measured now -------------------------- */

typedef struct {
  double gflops[2];       /* f32, f64: the best of the three below */
  double gflops_first[2]; /* best rate of an n x n x n GEMM before the cases */
  double gflops_last[2];  /* ... and after them (a busy machine shows as a difference) */
  double gflops_fma[2];   /* a register-only multiply-add loop (fma_peak.c): the CPU's own
                           * peak, which a BLAS running narrow kernels does not show */
  const char *fma_isa;
  int gemm_n;
  double gbs; /* best copy rate, bytes read + bytes written per second / 1e9 */
  size_t copy_bytes;
  int copy_threads;
} roofline;

static double measure_peak(conv1dt_dtype dt, int n, double min_time) {
  const size_t es = bench_dtype_size(dt), nn = (size_t)n * (size_t)n;
  void *a = bench_alloc(nn * es), *b = bench_alloc(nn * es), *c = bench_alloc(nn * es);
  double best = NAN;
  if (a && b && c) {
    bench_fill_uniform(a, dt, nn, 1.0, 11);
    bench_fill_uniform(b, dt, nn, 1.0, 12);
    const bench_reps r = {0, 3, min_time};
    double elapsed = 0;
    for (int run = -1; run < 0 || bench_more(&r, run, elapsed); run++) { /* run -1: warm-up */
      const double t0 = bench_now();
      if (dt == CONV1DT_FLOAT32)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c,
                    n);
      else
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a, n, b, n, 0.0, c, n);
      const double t = bench_now() - t0;
      if (run < 0) continue;
      elapsed += t;
      const double rate = 2.0 * n * (double)n * n / t / 1e9;
      if (!(rate <= best)) best = rate;
    }
  }
  free(a);
  free(b);
  free(c);
  return best;
}

typedef struct {
  char *dst;
  const char *src;
  size_t bytes;
} copy_job;

static void *copy_worker(void *arg) {
  copy_job *j = arg;
  memcpy(j->dst, j->src, j->bytes);
  return NULL;
}

/* A large copy split over `threads` threads; counts the bytes read and the bytes written. */
static double measure_bandwidth(size_t bytes, int threads, int reps) {
  char *src = bench_alloc(bytes), *dst = bench_alloc(bytes);
  double best = NAN;
  if (src && dst) {
    memset(src, 1, bytes);
    copy_job jobs[64];
    pthread_t tids[64];
    int started[64];
    if (threads > 64) threads = 64;
    const size_t chunk = (bytes / (size_t)threads + 4095) & ~(size_t)4095;
    for (int t = 0; t < threads; t++) {
      const size_t off = (size_t)t * chunk;
      const size_t len = off >= bytes ? 0 : off + chunk > bytes ? bytes - off : chunk;
      jobs[t] = (copy_job){dst + (len ? off : 0), src + (len ? off : 0), len};
    }
    for (int run = -1; run < reps; run++) { /* run -1: warm-up */
      const double t0 = bench_now();
      for (int t = 1; t < threads; t++)
        started[t] = jobs[t].bytes && !pthread_create(&tids[t], NULL, copy_worker, &jobs[t]);
      copy_worker(&jobs[0]);
      for (int t = 1; t < threads; t++) {
        if (started[t])
          pthread_join(tids[t], NULL);
        else if (jobs[t].bytes)
          copy_worker(&jobs[t]); /* no thread: copy it here */
      }
      const double t = bench_now() - t0;
      if (run < 0) continue;
      const double rate = 2.0 * (double)bytes / t / 1e9;
      if (!(rate <= best)) best = rate;
    }
  }
  free(src);
  free(dst);
  return best;
}

/* ---- One measurement ------------------------------------------------------------------------ */

void bench_run_gemm(const gemm_args *g) {
  const size_t xs = (size_t)g->C * (size_t)g->L, cs = (size_t)g->KF * (size_t)g->L;
  if (g->fmt == CONV1DT_CHANNELS_FIRST && !g->wx) {
    for (int b = 0; b < g->B; b++) {
      if (g->dt == CONV1DT_FLOAT32)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasTrans, g->L, g->KF, g->C, 1.0f,
                    (const float *)g->x + b * xs, g->L, g->w, g->C, 0.0f, (float *)g->col + b * cs,
                    g->KF);
      else
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasTrans, g->L, g->KF, g->C, 1.0,
                    (const double *)g->x + b * xs, g->L, g->w, g->C, 0.0, (double *)g->col + b * cs,
                    g->KF);
    }
    return;
  }
  if (g->fmt == CONV1DT_CHANNELS_LAST) {
    const int M = g->B * g->L;
    if (g->dt == CONV1DT_FLOAT32)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, g->KF, g->C, 1.0f, g->x, g->C, g->w,
                  g->C, 0.0f, g->col, g->KF);
    else
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, g->KF, g->C, 1.0, g->x, g->C, g->w,
                  g->C, 0.0, g->col, g->KF);
    return;
  }
  for (int b = 0; b < g->B; b++) {
    if (g->dt == CONV1DT_FLOAT32)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->KF, g->L, g->C, 1.0f, g->w, g->C,
                  (const float *)g->x + b * xs, g->L, 0.0f, (float *)g->col + b * cs, g->L);
    else
      cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, g->KF, g->L, g->C, 1.0, g->w, g->C,
                  (const double *)g->x + b * xs, g->L, 0.0, (double *)g->col + b * cs, g->L);
  }
}

/* Keras's left crop for output_padding=None (docs/SEMANTICS.md). */
static int64_t crop_left_of(const bench_shape *sh) {
  if (sh->padding == CONV1DT_PADDING_VALID) return 0;
  const int64_t keff = (sh->K - 1) * sh->d + 1;
  return keff > sh->s ? (keff - sh->s) / 2 : 0;
}

/* bound = max(FLOPs / peak, bytes / bandwidth); roof% = bound / measured time. */
static void apply_roofline(result *r, const roofline *roof) {
  const double peak = roof->gflops[r->dt == CONV1DT_FLOAT64];
  r->bound_ms = r->roof_frac = NAN;
  if (!r->ok || !(peak > 0) || !(roof->gbs > 0)) return;
  const double t_compute = r->flops / (peak * 1e9), t_memory = r->bytes / (roof->gbs * 1e9);
  r->bound_ms = 1e3 * (t_compute > t_memory ? t_compute : t_memory);
  r->roof_frac = r->bound_ms / r->ms;
}

/* Everything one shape needs: the layer, its data and, for the baseline, the GEMM's output. */
typedef struct {
  conv1dt_layer *layer;
  void *x, *kernel, *bias, *y, *ws, *col;
  gemm_args g;
  bench_shape sh;
  size_t ws_bytes;
} bench_setup;

static void result_init(result *r, const bench_shape *sh, conv1dt_dtype dt,
                        conv1dt_data_format fmt) {
  r->sh = *sh;
  r->dt = dt;
  r->fmt = fmt;
  r->ms = r->ms_min = r->gemm_ms = r->gflops = r->ratio_gemm = r->ratio_gemm_unpaired =
      r->bound_ms = r->roof_frac = NAN;
  r->gemm_wx_ms = r->unlimited_ms = r->after_ms = r->ratio_after = NAN;
  r->gemm_core_ms = r->gemm_mkl_ms = r->best_gemm_ms = r->ratio_best = NAN;
  r->core_ms = r->core_accum_ms = r->core_gemm_method_ms = r->core_gemm_ms = NAN;
  r->best_by = "blas";
  r->method = "";
  r->torch_ms = r->others_busy = NAN;
  memset(&r->dnn, 0, sizeof r->dnn);
  r->dnn.ms = r->dnn.ms_fused = r->dnn.ms_separate = r->dnn.max_rel_err = NAN;
#ifdef CONV1DT_BENCH_HAVE_ONEDNN
  r->dnn.status = BENCH_DNN_NOT_RUN;
  snprintf(r->dnn.note, sizeof r->dnn.note, "not run");
#else
  snprintf(r->dnn.note, sizeof r->dnn.note, "not built");
#endif
}

static int fail_status(result *r, conv1dt_status st) {
  snprintf(r->error, sizeof r->error, "%s: %s", conv1dt_status_name(st), conv1dt_last_error());
  return 0;
}

static void setup_free(bench_setup *c) {
  free(c->x);
  free(c->kernel);
  free(c->bias);
  free(c->y);
  conv1dt_workspace_free(c->ws);
  free(c->col);
  conv1dt_destroy(c->layer);
  memset(c, 0, sizeof *c);
}

/* Creates the layer (relu, bias) and its data, fills r's sizes and runs the warm-up. */
static int setup_init(bench_setup *c, result *r, int with_gemm) {
  const bench_shape *sh = &r->sh;
  const conv1dt_dtype dt = r->dt;
  const size_t es = bench_dtype_size(dt);
  memset(c, 0, sizeof *c);
  conv1dt_config cfg = conv1dt_config_default(sh->F, sh->K);
  cfg.strides = sh->s;
  cfg.dilation_rate = sh->d;
  cfg.padding = sh->padding;
  cfg.data_format = r->fmt;
  cfg.activation = "relu";
  cfg.use_bias = true;
  cfg.algorithm = bench_algorithm;
  cfg.workspace_limit = bench_ws_limit;
  int64_t shape[3];
  conv1dt_status st = conv1dt_create(&cfg, sh->C, dt, &c->layer);
  if (st == CONV1DT_OK) st = conv1dt_output_shape(c->layer, sh->B, sh->L, shape);
  if (st == CONV1DT_OK) st = conv1dt_workspace_size(c->layer, sh->B, sh->L, &r->ws_bytes);
  conv1dt_algorithm method = CONV1DT_ALGORITHM_AUTO;
  if (st == CONV1DT_OK)
    st = conv1dt_forward_algorithm(c->layer, sh->B, sh->L, r->ws_bytes, &method);
  if (st != CONV1DT_OK) return fail_status(r, st);
  c->sh = *sh;
  c->ws_bytes = r->ws_bytes;
  r->method = conv1dt_algorithm_name(method);
  r->out_len = r->fmt == CONV1DT_CHANNELS_LAST ? shape[1] : shape[2];
  const double B = (double)sh->B, L = (double)sh->L, C = (double)sh->C, F = (double)sh->F,
               K = (double)sh->K;
  r->flops = 2.0 * B * L * C * K * F;
  r->bytes = (double)es * (B * L * C + B * (double)r->out_len * F + K * F * C + F);
  if (B * L > INT_MAX || K * F > INT_MAX || C > INT_MAX) {
    snprintf(r->error, sizeof r->error, "GEMM dimensions exceed a CBLAS int");
    return 0;
  }
  const size_t nx = (size_t)(sh->B * sh->L * sh->C), nk = (size_t)(sh->K * sh->F * sh->C);
  const size_t ny = (size_t)(sh->B * r->out_len * sh->F);
  const size_t ncol = with_gemm ? (size_t)(B * L * K * F) : 0;
  c->x = bench_alloc(nx * es);
  c->kernel = bench_alloc(nk * es);
  c->bias = bench_alloc((size_t)sh->F * es);
  c->y = bench_alloc(ny * es);
  /* The workspace as the README suggests a program allocate it (huge pages when large); the
   * data arrays are plain memory, as a program's own would be. */
  c->ws = NULL;
  if (conv1dt_workspace_alloc(r->ws_bytes, &c->ws) == CONV1DT_OK) memset(c->ws, 0, r->ws_bytes);
  c->col = with_gemm ? bench_alloc(ncol * es) : NULL;
  if (!c->x || !c->kernel || !c->bias || !c->y || !c->ws || (with_gemm && !c->col)) {
    snprintf(r->error, sizeof r->error, "out of memory (%.2f GiB wanted)",
             ((double)(nx + nk + ny + ncol) * (double)es + (double)r->ws_bytes) / 1073741824.0);
    return 0;
  }
  bench_fill_uniform(c->x, dt, nx, 1.0, 1);
  bench_fill_uniform(c->kernel, dt, nk, 1.0 / sqrt(C * K), 2);
  bench_fill_uniform(c->bias, dt, (size_t)sh->F, 0.1, 3);
  st = conv1dt_set_weights(c->layer, c->kernel, c->bias);
  if (st != CONV1DT_OK) return fail_status(r, st);
  c->g = (gemm_args){dt,   r->fmt,    (int)sh->B, (int)sh->L, (int)sh->C, (int)(sh->K * sh->F),
                     c->x, c->kernel, c->col,     0};
  st = conv1dt_forward(c->layer, c->x, sh->B, sh->L, c->y, c->ws, r->ws_bytes); /* warm-up */
  if (st != CONV1DT_OK) return fail_status(r, st);
  if (with_gemm) bench_run_gemm(&c->g);
  return 1;
}

/* The layer's median sets ms, GFLOP/s (the roofline comes later, in apply_roofline). */
static void set_layer_times(result *r, bench_series *tl) {
  r->reps = (int)tl->n;
  r->ms = 1e3 * bench_median(tl->t, tl->n);
  r->ms_min = 1e3 * tl->t[0]; /* sorted by the median */
  r->gflops = r->flops / (r->ms * 1e-3) / 1e9;
  r->ok = 1;
}

/* One conv1dt_forward of the case, its wall time in *dt. */
static conv1dt_status timed_forward(const bench_setup *c, double *dt) {
  const double t0 = bench_now();
  const conv1dt_status st =
      conv1dt_forward(c->layer, c->x, c->sh.B, c->sh.L, c->y, c->ws, c->ws_bytes);
  *dt = bench_now() - t0;
  return st;
}

/* After the BLAS's workers have parked: `block` timed layer runs into t (while *grown), their
 * total time added to *spent. Returns the first failing status. */
static conv1dt_status time_layer_block(const bench_setup *c, int64_t block, bench_series *t,
                                       int *grown, double *spent) {
  bench_let_blas_park();
  for (int64_t i = 0; i < block && *grown; i++) {
    double dt;
    const conv1dt_status st = timed_forward(c, &dt);
    if (st != CONV1DT_OK) return st;
    *grown = bench_series_add(t, dt);
    *spent += dt;
  }
  return CONV1DT_OK;
}

/* The realistic case of a program that calls other BLAS routines around the layer: each of
 * `block` timed layer runs right after the layer's own bare GEMM (untimed), so the BLAS's
 * workers are still spinning and the caches hold the GEMM's data. Into t, time to *spent. */
static conv1dt_status time_after_gemm_block(const bench_setup *c, int64_t block, bench_series *t,
                                            int *grown, double *spent) {
  for (int64_t i = 0; i < block && *grown; i++) {
    bench_run_gemm(&c->g);
    double dt;
    const conv1dt_status st = timed_forward(c, &dt);
    if (st != CONV1DT_OK) return st;
    *grown = bench_series_add(t, dt);
    *spent += dt;
  }
  return CONV1DT_OK;
}

#ifdef CONV1DT_BENCH_HAVE_ONEDNN
/* bench_layer_fn for oneDNN's paired rounds: one conv1dt_forward of the case. */
static double time_layer_once(void *ctx) {
  double dt;
  return timed_forward(ctx, &dt) == CONV1DT_OK ? dt : -1;
}
#endif

void bench_run_case(const bench_shape *sh, conv1dt_dtype dt, conv1dt_data_format fmt,
                    const options *o, int with_dnn, result *r) {
  result_init(r, sh, dt, fmt);
  bench_setup c, cu; /* cu: --limit-check's unlimited twin */
  bench_series tl = {0}, tg = {0}, tw = {0}, tu = {0};
  bench_series pairs = {0};                 /* per round: the layer's block median / the GEMM's */
  bench_series ta = {0}, pairs_after = {0}; /* after a GEMM; per round: its median / parked's */
  result ru;
  memset(&cu, 0, sizeof cu);
  if (!setup_init(&c, r, 1)) goto done;
  if (o->limit_check) {
    ru = *r;
    bench_ws_limit = SIZE_MAX;
    const int ok = setup_init(&cu, &ru, 0);
    bench_ws_limit = 0;
    if (!ok) {
      snprintf(r->error, sizeof r->error, "unlimited twin: %.250s", ru.error);
      goto done;
    }
    r->ws_unlimited = ru.ws_bytes;
  }
  gemm_args gwx = c.g; /* channels_first only: the other orientation, third in each round */
  gwx.wx = 1;
  const int with_wx = fmt == CONV1DT_CHANNELS_FIRST;
  if (with_wx) bench_run_gemm(&gwx); /* its warm-up */

  /* Layer and GEMM in alternating blocks, each in its own steady state: the GEMM warm (one
   * untimed call first), the layer after the BLAS's idle workers have parked — as oneDNN gets
   * it, and as a program that calls only the layer sees it (spinning OpenBLAS workers take
   * up to half the cores from the layer's own threads). Blocks grow to a quarter of the time
   * budget, so the pauses cost a few per case. With after_gemm, a block of the layer right
   * after the GEMM follows the GEMM's block in each round; it is not counted in the budget, so
   * the parked times are taken as without it. */
  cpu_usage u0, u1;
  cpu_usage_now(&u0);
  const double w0 = bench_now();
  conv1dt_status st = CONV1DT_OK;
  double elapsed = 0, target = o->reps.min_time / 4;
  int grown = 1;
  int64_t block = 1;
  if (target < 0.02) target = 0.02;
  while (grown && st == CONV1DT_OK && bench_more(&o->reps, (int)tl.n, elapsed)) {
    if (o->reps.reps > 0 && block > o->reps.reps - (int64_t)tl.n) block = o->reps.reps - tl.n;
    const size_t g0 = tg.n, l0 = tl.n, a0 = ta.n;
    bench_run_gemm(&c.g);
    for (int64_t i = 0; i < block && grown; i++) {
      const double t1 = bench_now();
      bench_run_gemm(&c.g);
      const double t2 = bench_now();
      if (with_wx) bench_run_gemm(&gwx);
      const double t3 = bench_now();
      grown = bench_series_add(&tg, t2 - t1) && (!with_wx || bench_series_add(&tw, t3 - t2));
      elapsed += t2 - t1; /* the budget counts layer + GEMM, as for channels_last */
    }
    if (o->after_gemm && grown) {
      double after_time = 0;
      st = time_after_gemm_block(&c, block, &ta, &grown, &after_time);
      if (st != CONV1DT_OK) break;
    }
    double layer_time = 0;
    st = time_layer_block(&c, block, &tl, &grown, &layer_time);
    elapsed += layer_time;
    if (st == CONV1DT_OK && grown && tl.n > l0 && tg.n > g0) /* slices sort in place: harmless */
      grown = bench_series_add(&pairs, bench_median(tl.t + l0, tl.n - l0) /
                                           bench_median(tg.t + g0, tg.n - g0));
    if (st == CONV1DT_OK && grown && tl.n > l0 && ta.n > a0)
      grown = bench_series_add(&pairs_after, bench_median(ta.t + a0, ta.n - a0) /
                                                 bench_median(tl.t + l0, tl.n - l0));
    if (o->limit_check && st == CONV1DT_OK) { /* the twin, in the same state as the layer */
      double twin_time = 0;
      st = time_layer_block(&cu, block, &tu, &grown, &twin_time);
    }
    const double per_run = layer_time / (double)block;
    if (per_run > 0 && layer_time < target) {
      const double want = target / per_run;
      block = want > 1e6 ? 1000000 : (int64_t)want + 1;
    }
  }
  if (st != CONV1DT_OK) {
    fail_status(r, st);
    goto done;
  }
  if (tl.n == 0 || tg.n < tl.n) {
    snprintf(r->error, sizeof r->error, "out of memory for the run times");
    goto done;
  }
  set_layer_times(r, &tl);
  r->gemm_ms = 1e3 * bench_median(tg.t, tg.n);
  /* Paired: the VM's speed drifts by 10-30 % over seconds, which moves both members of a
   * round together; the median of the rounds' ratios cancels that, the ratio of the two
   * medians does not (it is kept in JSON/CSV as ratio_gemm_of_medians). */
  r->ratio_gemm_unpaired = r->ms / r->gemm_ms;
  r->ratio_gemm = pairs.n ? bench_median(pairs.t, pairs.n) : r->ratio_gemm_unpaired;
  if (with_wx && tw.n) r->gemm_wx_ms = 1e3 * bench_median(tw.t, tw.n);
  if (tu.n) r->unlimited_ms = 1e3 * bench_median(tu.t, tu.n);
  if (ta.n) r->after_ms = 1e3 * bench_median(ta.t, ta.n);
  if (pairs_after.n) r->ratio_after = bench_median(pairs_after.t, pairs_after.n);
  free(c.col); /* the GEMM's output is the largest buffer; oneDNN needs room of its own */
  c.col = NULL;
#ifdef CONV1DT_BENCH_HAVE_ONEDNN
  if (with_dnn) {
    /* Each oneDNN variant gets half the layer's time budget (and at least min_reps runs). */
    bench_reps dr = o->reps;
    dr.min_time *= 0.5;
    bench_dnn_run(sh, dt, fmt, r->out_len, crop_left_of(sh), c.x, c.kernel, c.bias, c.y, &dr,
                  time_layer_once, &c, &r->dnn);
  }
#else
  (void)with_dnn;
#endif
  cpu_usage_now(&u1); /* over all of the case's timings: layer, GEMM and oneDNN */
  r->others_busy = others_share(&u0, &u1, bench_now() - w0);
done:
  free(tl.t);
  free(tg.t);
  free(pairs.t);
  free(ta.t);
  free(pairs_after.t);
  free(tw.t);
  free(tu.t);
  setup_free(&c);
  setup_free(&cu);
}

/* The scaling grid (batch x1, x2, x4 by steps x1, x2, x4) of one dtype and format, timed in
 * rounds that run every size once, so a drifting machine shifts them all alike. */
#define SCALING_POINTS 9

static void run_scaling(const bench_shape *base, conv1dt_dtype dt, conv1dt_data_format fmt,
                        const options *o, result *rs) {
  static const int mults[] = {1, 2, 4};
  bench_setup c[SCALING_POINTS];
  bench_series t[SCALING_POINTS];
  memset(c, 0, sizeof c);
  memset(t, 0, sizeof t);
  int ok = 1;
  for (int p = 0; p < SCALING_POINTS; p++) {
    bench_shape sh = *base;
    sh.B *= mults[p / 3];
    sh.L *= mults[p % 3];
    result_init(&rs[p], &sh, dt, fmt);
    rs[p].batch_mult = mults[p / 3];
    rs[p].steps_mult = mults[p % 3];
    if (ok && !setup_init(&c[p], &rs[p], 0)) ok = 0;
  }
  if (!ok) {
    for (int p = 0; p < SCALING_POINTS; p++)
      if (!rs[p].error[0]) snprintf(rs[p].error, sizeof rs[p].error, "another size failed");
    goto done;
  }
  cpu_usage u0, u1;
  cpu_usage_now(&u0);
  const double w0 = bench_now();
  /* The usual budget, counted in rounds: at least min_reps of them and min_time in all. */
  double elapsed = 0;
  int rounds = 0, grown = 1;
  while (grown && bench_more(&o->reps, rounds, elapsed)) {
    for (int p = 0; p < SCALING_POINTS && grown; p++) {
      result *r = &rs[p];
      const double t0 = bench_now();
      conv1dt_status st =
          conv1dt_forward(c[p].layer, c[p].x, r->sh.B, r->sh.L, c[p].y, c[p].ws, r->ws_bytes);
      const double dt_run = bench_now() - t0;
      if (st != CONV1DT_OK) {
        fail_status(r, st);
        ok = 0;
        grown = 0;
        break;
      }
      grown = bench_series_add(&t[p], dt_run);
      elapsed += dt_run;
    }
    rounds++;
  }
  if (!ok || !grown) goto done;
  cpu_usage_now(&u1);
  const double busy = others_share(&u0, &u1, bench_now() - w0);
  for (int p = 0; p < SCALING_POINTS; p++) {
    set_layer_times(&rs[p], &t[p]);
    rs[p].others_busy = busy;
  }
done:
  for (int p = 0; p < SCALING_POINTS; p++) {
    free(t[p].t);
    setup_free(&c[p]);
  }
}

/* ---- PyTorch's times (bench/pytorch_bench.py) -------------------------------------------- */

typedef struct {
  bench_shape sh;
  conv1dt_dtype dt;
  conv1dt_data_format fmt;
  double ms;
  double bwd_ms; /* its autograd backward (pytorch_bench.py --backward), NaN when not timed */
} torch_record;

typedef struct {
  torch_record *recs;
  size_t n;
  char version[80];
} torch_table;

/* The value after "key": in obj (a NUL-terminated JSON object without nested objects). */
static const char *json_value(const char *obj, const char *key) {
  char pat[48];
  snprintf(pat, sizeof pat, "\"%s\"", key);
  for (const char *p = strstr(obj, pat); p; p = strstr(p + 1, pat)) {
    const char *q = p + strlen(pat);
    while (isspace((unsigned char)*q)) q++;
    if (*q != ':') continue; /* the same text as a value, not a key */
    q++;
    while (isspace((unsigned char)*q)) q++;
    return q;
  }
  return NULL;
}

static int json_number(const char *obj, const char *key, double *out) {
  const char *v = json_value(obj, key);
  if (!v) return 0;
  char *end;
  *out = strtod(v, &end);
  return end != v;
}

static int json_string(const char *obj, const char *key, char *out, size_t size) {
  const char *v = json_value(obj, key);
  if (!v || *v != '"') return 0;
  size_t len = strcspn(v + 1, "\"");
  snprintf(out, size, "%.*s", (int)len, v + 1);
  return 1;
}

/* Reads every innermost {...} object that has a shape, dtype, format and "ms". */
static int load_torch(const char *path, torch_table *t) {
  memset(t, 0, sizeof *t);
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "conv1dt-bench: cannot open %s: %s\n", path, strerror(errno));
    return 0;
  }
  size_t cap = 1 << 16, len = 0;
  char *text = malloc(cap);
  size_t got;
  while (text && (got = fread(text + len, 1, cap - len - 1, f)) > 0) {
    len += got;
    if (len + 1 == cap) {
      char *bigger = realloc(text, cap * 2);
      if (!bigger) {
        free(text);
        text = NULL;
        break;
      }
      text = bigger;
      cap *= 2;
    }
  }
  fclose(f);
  if (!text) return 0;
  text[len] = '\0';
  char ver[80] = "";
  if (json_string(text, "torch_version", ver, sizeof ver))
    snprintf(t->version, sizeof t->version, "PyTorch %.60s", ver);
  size_t rcap = 0;
  for (char *open = strchr(text, '{'); open;) {
    char *close = strchr(open + 1, '}'), *inner = strchr(open + 1, '{');
    if (!close) break;
    if (inner && inner < close) {
      open = inner;
      continue;
    }
    *close = '\0';
    double v[8], ms;
    char dt[8], fmt[32], pad[16];
    static const char *keys[] = {"B", "L", "C", "F", "K", "s", "d"};
    int ok = json_number(open, "ms", &ms) && json_string(open, "dtype", dt, sizeof dt) &&
             json_string(open, "format", fmt, sizeof fmt) &&
             json_string(open, "padding", pad, sizeof pad);
    for (int k = 0; ok && k < 7; k++) ok = json_number(open, keys[k], &v[k]);
    torch_record rec;
    memset(&rec, 0, sizeof rec);
    if (ok && conv1dt_padding_from_string(pad, &rec.sh.padding) == CONV1DT_OK && ms > 0) {
      rec.sh.B = (int64_t)v[0], rec.sh.L = (int64_t)v[1], rec.sh.C = (int64_t)v[2];
      rec.sh.F = (int64_t)v[3], rec.sh.K = (int64_t)v[4], rec.sh.s = (int64_t)v[5];
      rec.sh.d = (int64_t)v[6];
      rec.dt = !strcmp(dt, "f64") ? CONV1DT_FLOAT64 : CONV1DT_FLOAT32;
      rec.fmt = !strcmp(fmt, "cf") || !strcmp(fmt, "channels_first") ? CONV1DT_CHANNELS_FIRST
                                                                     : CONV1DT_CHANNELS_LAST;
      rec.ms = ms;
      if (!json_number(open, "backward_ms", &rec.bwd_ms)) rec.bwd_ms = NAN;
      if (t->n == rcap) {
        rcap = rcap ? 2 * rcap : 16;
        torch_record *grown = realloc(t->recs, rcap * sizeof *grown);
        if (!grown) break;
        t->recs = grown;
      }
      t->recs[t->n++] = rec;
    }
    open = strchr(close + 1, '{');
  }
  free(text);
  return 1;
}

static const torch_record *torch_find(const torch_table *t, const bench_shape *sh, conv1dt_dtype dt,
                                      conv1dt_data_format fmt) {
  for (size_t i = 0; t && i < t->n; i++) {
    const torch_record *q = &t->recs[i];
    if (q->dt == dt && q->fmt == fmt && q->sh.B == sh->B && q->sh.L == sh->L && q->sh.C == sh->C &&
        q->sh.F == sh->F && q->sh.K == sh->K && q->sh.s == sh->s && q->sh.d == sh->d &&
        q->sh.padding == sh->padding)
      return q;
  }
  return NULL;
}

static double torch_lookup(const torch_table *t, const result *r) {
  const torch_record *q = torch_find(t, &r->sh, r->dt, r->fmt);
  return q ? q->ms : NAN;
}

/* ---- Output -------------------------------------------------------------------------------- */

/* Paired (see paired_rounds in bench_onednn.c) when measured, else the ratio of the medians. */
static double dnn_ratio(const result *r) {
  if (r->dnn.status != BENCH_DNN_OK) return NAN;
  return isnan(r->dnn.ratio_paired) ? r->ms / r->dnn.ms : r->dnn.ratio_paired;
}

static const char *dnn_short(const result *r, char *buf, size_t size) {
  switch (r->dnn.status) {
  case BENCH_DNN_OK:
    return bench_fmt_ms(buf, size, r->dnn.ms, 9);
  case BENCH_DNN_UNSUPPORTED:
    return "      n/a";
  case BENCH_DNN_DISAGREE:
    return " DISAGREE";
  case BENCH_DNN_ERROR:
    return "    error";
  default:
    return "        -";
  }
}

/* Rows timed while other processes took more than this share of the CPUs get a '*'. */
#define BUSY_MARK 0.05

/* Which optional columns the table has. */
typedef struct {
  int by;    /* a bare GEMM was timed elsewhere too (yardstick.c): which one was the fastest */
  int after; /* the layer right after a same-size GEMM */
  int torch; /* --pytorch-json */
} table_cols;

static void print_table_head(const table_cols *tc) {
  printf("%-4s %-3s %-2s %-28s %-6s %9s %s %7s %9s %6s%s %8s %9s %6s %7s %9s %7s%s\n", "case", "dt",
         "fm", "B,L,C,F,K,s,d,padding", "method", "ms",
         tc->after ? "after-GEMM ms after/parked" : "", "GFLOP/s", "GEMM ms", "xGEMM",
         tc->by ? " by  " : "", "W.x ms", "bound ms", "roof%", "ws MiB", "oneDNN ms", "xoneDNN",
         tc->torch ? "  torch ms  xtorch" : "");
}

static void print_row(const result *r, const table_cols *tc) {
  char shape[96], a[32], b[32], c[32], d[32], e[32], f[32], g[32], h[32], i[32], j[32], k[32];
  char w[32];
  bench_shape_text(&r->sh, shape, sizeof shape);
  if (!r->ok) {
    printf("%-4s %-3s %-2s %-28s  error: %s\n", r->sh.name, bench_dtype_name(r->dt),
           bench_format_name(r->fmt), shape, r->error);
    return;
  }
  /* gemm_accumulate is "accum" here, to keep the table narrow */
  const char *method = strcmp(r->method, "gemm_accumulate") ? r->method : "accum";
  printf("%-4s %-3s %-2s %-28s %-6s %s%s", r->sh.name, bench_dtype_name(r->dt),
         bench_format_name(r->fmt), shape, method, bench_fmt_ms(a, sizeof a, r->ms, 9),
         r->others_busy > BUSY_MARK ? "*" : " ");
  if (tc->after)
    printf("%s %s", bench_fmt_ms(j, sizeof j, r->after_ms, 13),
           bench_fmt_num(k, sizeof k, "%*.2f", r->ratio_after, 12));
  printf(" %s %s %s", bench_fmt_num(b, sizeof b, "%*.1f", r->gflops, 7),
         bench_fmt_ms(c, sizeof c, r->best_gemm_ms, 9),
         bench_fmt_num(d, sizeof d, "%*.2f", r->ratio_best, 6));
  if (tc->by) printf(" %-4s", r->best_by);
  printf(" %s %s %s %s %s %s", bench_fmt_ms(w, sizeof w, r->gemm_wx_ms, 8),
         bench_fmt_ms(e, sizeof e, r->bound_ms, 9),
         bench_fmt_num(f, sizeof f, "%*.1f", 100 * r->roof_frac, 6),
         bench_fmt_num(g, sizeof g, "%*.2f", (double)r->ws_bytes / 1048576.0, 7),
         dnn_short(r, h, sizeof h), bench_fmt_num(i, sizeof i, "%*.2f", dnn_ratio(r), 7));
  if (tc->torch)
    printf(" %s %s", bench_fmt_ms(j, sizeof j, r->torch_ms, 9),
           bench_fmt_num(k, sizeof k, "%*.2f", r->ms / r->torch_ms, 7));
  printf("\n");
  fflush(stdout);
}

static void print_dnn_details(const result *rs, size_t n) {
  int any = 0;
  for (size_t i = 0; i < n; i++)
    any |= rs[i].ok && rs[i].dnn.status != BENCH_DNN_NOT_BUILT &&
           rs[i].dnn.status != BENCH_DNN_NOT_RUN;
  if (!any) return;
  printf(
      "\noneDNN per case (ms: median of the best variant; separate/fused: best of each kind):\n");
  printf("%-4s %-3s %-2s %9s %9s %9s %9s  %s\n", "case", "dt", "fm", "separate", "fused", "max rel",
         "status", "variant / implementation / note");
  for (size_t i = 0; i < n; i++) {
    const result *r = &rs[i];
    if (!r->ok || r->dnn.status == BENCH_DNN_NOT_BUILT || r->dnn.status == BENCH_DNN_NOT_RUN)
      continue;
    char a[32], b[32], c[32];
    static const char *names[] = {"-", "agrees", "n/a", "DISAGREE", "error", "not run"};
    printf("%-4s %-3s %-2s %s %s %s %9s  ", r->sh.name, bench_dtype_name(r->dt),
           bench_format_name(r->fmt), bench_fmt_ms(a, sizeof a, r->dnn.ms_separate, 9),
           bench_fmt_ms(b, sizeof b, r->dnn.ms_fused, 9),
           bench_fmt_num(c, sizeof c, "%*.1e", r->dnn.max_rel_err, 9), names[r->dnn.status]);
    if (r->dnn.status == BENCH_DNN_OK)
      printf("%s [%s]%s%s%s\n", r->dnn.variant, r->dnn.impl,
             r->dnn.reorders_outside ? " (src/dst reorders outside the timing)" : "",
             r->dnn.note[0] ? "; " : "", r->dnn.note);
    else
      printf("%s\n", r->dnn.note);
  }
}

static const char *dnn_status_name(bench_dnn_status s) {
  static const char *names[] = {"not_built", "ok", "unsupported", "disagree", "error", "not_run"};
  return names[s];
}

static void json_result(FILE *f, const result *r) {
  fprintf(f, "{\"kind\": \"%s\", \"case\": ", r->kind);
  bench_json_string(f, r->sh.name);
  fprintf(f, ", \"label\": ");
  bench_json_string(f, r->label);
  fprintf(f, ", \"algorithm\": ");
  bench_json_string(f, r->method);
  fprintf(f,
          ", \"dtype\": \"%s\", \"format\": \"%s\", \"B\": %lld, \"L\": %lld, \"C\": %lld, "
          "\"F\": %lld, \"K\": %lld, \"s\": %lld, \"d\": %lld, \"padding\": \"%s\", "
          "\"batch_mult\": %d, \"steps_mult\": %d, \"ok\": %s, \"error\": ",
          bench_dtype_name(r->dt), bench_format_name(r->fmt), (long long)r->sh.B,
          (long long)r->sh.L, (long long)r->sh.C, (long long)r->sh.F, (long long)r->sh.K,
          (long long)r->sh.s, (long long)r->sh.d, bench_padding_name(r->sh.padding), r->batch_mult,
          r->steps_mult, r->ok ? "true" : "false");
  if (r->ok)
    fputs("null", f);
  else
    bench_json_string(f, r->error);
  fprintf(f, ", \"out_len\": %lld, \"crop_left\": %lld, \"reps\": %d", (long long)r->out_len,
          (long long)crop_left_of(&r->sh), r->reps);
  const struct {
    const char *key;
    double v;
  } nums[] = {{"ms", r->ms},
              {"ms_min", r->ms_min},
              {"gflops", r->gflops},
              {"flops", r->flops},
              {"bytes", r->bytes},
              {"gemm_ms", r->gemm_ms},
              {"gemm_wx_ms", r->gemm_wx_ms},
              {"ratio_gemm", r->ratio_gemm},
              {"ratio_gemm_of_medians", r->ratio_gemm_unpaired},
              {"bound_ms", r->bound_ms},
              {"roofline_fraction", r->roof_frac},
              {"workspace_bytes", (double)r->ws_bytes},
              {"ns_per_sample_step", 1e6 * r->ms / ((double)r->sh.B * (double)r->sh.L)},
              {"others_cpu_fraction", r->others_busy},
              {"pytorch_ms", r->torch_ms},
              {"unlimited_workspace_ms", r->unlimited_ms},
              {"unlimited_workspace_bytes", r->ws_unlimited ? (double)r->ws_unlimited : NAN},
              {"ratio_pytorch", r->ms / r->torch_ms},
              {"after_gemm_ms", r->after_ms},
              {"ratio_after_gemm_parked", r->ratio_after},
              {"gemm_best_ms", r->best_gemm_ms},
              {"ratio_gemm_best", r->ratio_best},
              {"gemm_core_ms", r->gemm_core_ms},
              {"gemm_mkl_ms", r->gemm_mkl_ms},
              {"core_ms", r->core_ms},
              {"core_gemm_accumulate_ms", r->core_accum_ms},
              {"core_gemm_method_ms", r->core_gemm_method_ms}};
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
    fprintf(f, ", \"%s\": ", nums[i].key);
    bench_json_number(f, nums[i].v);
  }
  fprintf(f, ", \"gemm_best_by\": ");
  bench_json_string(f, r->best_by);
  fprintf(f, ", \"core_algorithm\": ");
  bench_json_string(f, r->core_method);
  fprintf(f, ", \"onednn\": {\"status\": \"%s\", \"ms\": ", dnn_status_name(r->dnn.status));
  bench_json_number(f, r->dnn.ms);
  fprintf(f, ", \"ratio\": ");
  bench_json_number(f, dnn_ratio(r));
  fprintf(f, ", \"ratio_of_medians\": ");
  bench_json_number(f, r->dnn.status == BENCH_DNN_OK ? r->ms / r->dnn.ms : NAN);
  fprintf(f, ", \"paired_rounds\": %d", r->dnn.rounds);
  fprintf(f, ", \"ms_separate_relu\": ");
  bench_json_number(f, r->dnn.ms_separate);
  fprintf(f, ", \"ms_fused_relu\": ");
  bench_json_number(f, r->dnn.ms_fused);
  fprintf(f, ", \"max_rel_err\": ");
  bench_json_number(f, r->dnn.max_rel_err);
  fprintf(f, ", \"reps\": %d, \"reorders_outside_timing\": %s, \"variant\": ", r->dnn.reps,
          r->dnn.reorders_outside ? "true" : "false");
  bench_json_string(f, r->dnn.variant);
  fprintf(f, ", \"impl\": ");
  bench_json_string(f, r->dnn.impl);
  fprintf(f, ", \"note\": ");
  bench_json_string(f, r->dnn.note);
  fprintf(f, "}}");
}

static int write_json(const char *path, const machine_info *m, const roofline *roof,
                      const options *o, const yardstick_run *y, const result *rs, size_t n,
                      const bench_bwd_result *br, size_t nb) {
  FILE *f = fopen(path, "w");
  if (!f) return 0;
  fprintf(f, "{\n\"tool\": \"conv1dt-bench\", \"conv1dt_version\": ");
  bench_json_string(f, conv1dt_version_string());
  fprintf(f, ", \"date\": \"%s\",\n\"machine\": {\"cpu\": ", m->date);
  bench_json_string(f, m->cpu);
  fprintf(f, ", \"cores\": %ld, \"threads\": %d, \"blas\": ", m->cores, m->threads);
  bench_json_string(f, m->blas);
  fprintf(f, ", \"blas_threads\": %d, \"onednn\": ", m->blas_threads);
  bench_json_string(f, m->onednn);
  fprintf(f, ", \"openblas_coretype\": ");
  if (m->coretype[0])
    bench_json_string(f, m->coretype);
  else
    fputs("null", f);
  fprintf(f, ", \"load_average_at_start\": ");
  bench_json_number(f, m->load);
  fprintf(f, ", \"others_cpu_fraction\": ");
  bench_json_number(f, m->others_busy);
  fprintf(f, ", \"pytorch\": ");
  if (m->torch[0])
    bench_json_string(f, m->torch);
  else
    fputs("null", f);
  fprintf(f, "},\n\"roofline\": {\"peak_gflops_f32\": ");
  bench_json_number(f, roof->gflops[0]);
  fprintf(f, ", \"peak_gflops_f64\": ");
  bench_json_number(f, roof->gflops[1]);
  fprintf(f, ", \"peak_gflops_f32_first\": ");
  bench_json_number(f, roof->gflops_first[0]);
  fprintf(f, ", \"peak_gflops_f32_last\": ");
  bench_json_number(f, roof->gflops_last[0]);
  fprintf(f, ", \"peak_gflops_f64_first\": ");
  bench_json_number(f, roof->gflops_first[1]);
  fprintf(f, ", \"peak_gflops_f64_last\": ");
  bench_json_number(f, roof->gflops_last[1]);
  fprintf(f, ", \"peak_gflops_f32_fma_loop\": ");
  bench_json_number(f, roof->gflops_fma[0]);
  fprintf(f, ", \"peak_gflops_f64_fma_loop\": ");
  bench_json_number(f, roof->gflops_fma[1]);
  fprintf(f, ", \"fma_loop_isa\": ");
  bench_json_string(f, roof->fma_isa ? roof->fma_isa : "");
  fprintf(f, ", \"peak_gemm_n\": %d, \"bandwidth_gbs\": ", roof->gemm_n);
  bench_json_number(f, roof->gbs);
  fprintf(f, ", \"copy_bytes\": %zu, \"copy_threads\": %d},\n", roof->copy_bytes,
          roof->copy_threads);
  const bench_yardstick_plan *p = &y->plan;
  fprintf(f, "\"gemm_yardstick\": {\"openblas_core\": ");
  bench_json_string(f, p->loaded_core);
  fprintf(f, ", \"cpu_best_core\": ");
  bench_json_string(f, p->best_core);
  fprintf(f, ", \"misdetected\": %s, \"core_child\": ", p->misdetected ? "true" : "false");
  if (y->core_ran)
    bench_json_string(f, p->child_core);
  else
    fputs("null", f);
  fprintf(f, ", \"mkl_child\": ");
  if (y->mkl_ran)
    bench_json_string(f, y->mkl_blas);
  else
    fputs("null", f);
  fprintf(f, "},\n");
  fprintf(f, "\"settings\": {\"reps\": %d, \"min_reps\": %d, \"min_time\": %g},\n\"results\": [\n",
          o->reps.reps, o->reps.min_reps, o->reps.min_time);
  for (size_t i = 0; i < n; i++) {
    json_result(f, &rs[i]);
    fputs(i + 1 < n ? ",\n" : "\n", f);
  }
  fputs("],\n\"backward\": [\n", f);
  for (size_t i = 0; i < nb; i++) {
    bench_backward_json(f, &br[i]);
    fputs(i + 1 < nb ? ",\n" : "\n", f);
  }
  fputs("]\n}\n", f);
  return fclose(f) == 0;
}

static void csv_field_num(FILE *f, double v) {
  fputc(',', f);
  if (v == v && !isinf(v)) fprintf(f, "%.6g", v);
}

static void csv_field_text(FILE *f, const char *s) {
  fputs(",\"", f);
  for (; s && *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

static int write_csv(const char *path, const result *rs, size_t n) {
  FILE *f = fopen(path, "w");
  if (!f) return 0;
  fputs("kind,case,dtype,format,B,L,C,F,K,s,d,padding,batch_mult,steps_mult,ok,out_len,reps,"
        "ms,ms_min,gflops,gemm_ms,ratio_gemm,gemm_wx_ms,bound_ms,roofline_fraction,"
        "workspace_bytes,ns_per_sample_step,others_cpu_fraction,onednn_status,onednn_ms,"
        "ratio_onednn,onednn_ms_separate_relu,onednn_ms_fused_relu,onednn_max_rel_err,"
        "onednn_reorders_outside_timing,onednn_variant,onednn_impl,onednn_note,pytorch_ms,"
        "ratio_pytorch,error,algorithm,ratio_gemm_of_medians,ratio_onednn_of_medians,"
        "after_gemm_ms,ratio_after_gemm_parked,gemm_best_ms,gemm_best_by,ratio_gemm_best,"
        "gemm_core_ms,gemm_mkl_ms\n",
        f);
  for (size_t i = 0; i < n; i++) {
    const result *r = &rs[i];
    fprintf(f, "%s,%s,%s,%s,%lld,%lld,%lld,%lld,%lld,%lld,%lld,%s,%d,%d,%d,%lld,%d", r->kind,
            r->sh.name, bench_dtype_name(r->dt), bench_format_name(r->fmt), (long long)r->sh.B,
            (long long)r->sh.L, (long long)r->sh.C, (long long)r->sh.F, (long long)r->sh.K,
            (long long)r->sh.s, (long long)r->sh.d, bench_padding_name(r->sh.padding),
            r->batch_mult, r->steps_mult, r->ok, (long long)r->out_len, r->reps);
    const double nums[] = {r->ms,
                           r->ms_min,
                           r->gflops,
                           r->gemm_ms,
                           r->ratio_gemm,
                           r->gemm_wx_ms,
                           r->bound_ms,
                           r->roof_frac,
                           (double)r->ws_bytes,
                           1e6 * r->ms / ((double)r->sh.B * (double)r->sh.L),
                           r->others_busy};
    for (size_t k = 0; k < sizeof nums / sizeof nums[0]; k++) csv_field_num(f, nums[k]);
    fprintf(f, ",%s", dnn_status_name(r->dnn.status));
    csv_field_num(f, r->dnn.ms);
    csv_field_num(f, dnn_ratio(r));
    csv_field_num(f, r->dnn.ms_separate);
    csv_field_num(f, r->dnn.ms_fused);
    csv_field_num(f, r->dnn.max_rel_err);
    fprintf(f, ",%d", r->dnn.reorders_outside);
    csv_field_text(f, r->dnn.variant);
    csv_field_text(f, r->dnn.impl);
    csv_field_text(f, r->dnn.note);
    csv_field_num(f, r->torch_ms);
    csv_field_num(f, r->ms / r->torch_ms);
    csv_field_text(f, r->ok ? "" : r->error);
    csv_field_text(f, r->method);
    csv_field_num(f, r->ratio_gemm_unpaired);
    csv_field_num(f, r->dnn.status == BENCH_DNN_OK ? r->ms / r->dnn.ms : NAN);
    csv_field_num(f, r->after_ms);
    csv_field_num(f, r->ratio_after);
    csv_field_num(f, r->best_gemm_ms);
    csv_field_text(f, r->best_by);
    csv_field_num(f, r->ratio_best);
    csv_field_num(f, r->gemm_core_ms);
    csv_field_num(f, r->gemm_mkl_ms);
    fputc('\n', f);
  }
  return fclose(f) == 0;
}

/* ---- main ---------------------------------------------------------------------------------- */

int main(int argc, char **argv) {
  options o;
  if (!parse_options(argc, argv, &o)) return 2;
  const double t_start = bench_now();
  cpu_usage use_start;
  cpu_usage_now(&use_start);
  if (o.smoke) { /* one small case, once */
    o.reps.reps = 1;
    o.ncustom = 0;
    memset(o.only, 0, sizeof o.only);
    o.only[0] = 1;
    o.only_given = 1;
    o.want_dtype[0] = 1, o.want_dtype[1] = 0;
    o.want_format[0] = 1, o.want_format[1] = 0;
    o.scaling = 0;
  }
  const long cores = sysconf(_SC_NPROCESSORS_ONLN);
  const int threads = o.threads ? o.threads : (int)(cores > 0 ? cores : 1);
  if (!set_threads(threads))
    fprintf(stderr, "conv1dt-bench: cannot set the BLAS's threads (use its own variable)\n");
  if (o.child) return child_main(&o);

  machine_info m;
  machine_describe(&m, threads);
  torch_table torch;
  memset(&torch, 0, sizeof torch);
  if (o.pytorch_path) {
    if (!load_torch(o.pytorch_path, &torch)) return 1;
    snprintf(m.torch, sizeof m.torch, "%s", torch.version[0] ? torch.version : "PyTorch");
  }
  /* The roofline's ceilings, measured now on the same threads (and the peak again at the end). */
  roofline roof;
  memset(&roof, 0, sizeof roof);
  roof.gemm_n = o.smoke ? 256 : o.quick_roof ? 512 : 2048;
  roof.copy_bytes = o.smoke ? (size_t)16 << 20 : (size_t)512 << 20;
  roof.copy_threads = threads;
  const int copy_reps = o.smoke ? 1 : 5;
  const double peak_time = o.smoke || o.quick_roof ? 0.0 : 0.5;
  for (int dt = 0; dt < 2; dt++) {
    roof.gflops_first[dt] = roof.gflops_last[dt] = roof.gflops[dt] = roof.gflops_fma[dt] = NAN;
    if (o.want_dtype[dt]) {
      roof.gflops_first[dt] = measure_peak((conv1dt_dtype)dt, roof.gemm_n, peak_time);
      roof.gflops_fma[dt] = bench_fma_peak(dt, threads, &roof.fma_isa);
    }
  }
  roof.gbs = measure_bandwidth(roof.copy_bytes, threads, copy_reps);

  /* What to run. */
  bench_shape shapes[MAX_CUSTOM > SUITE_SIZE ? MAX_CUSTOM : SUITE_SIZE];
  const char *labels[MAX_CUSTOM > SUITE_SIZE ? MAX_CUSTOM : SUITE_SIZE];
  size_t nshapes = 0;
  if (o.ncustom) {
    for (int i = 0; i < o.ncustom; i++) {
      shapes[nshapes] = o.custom[i];
      labels[nshapes++] = "custom";
    }
  } else {
    for (size_t i = 0; i < SUITE_SIZE; i++)
      if (!o.only_given || o.only[i]) {
        shapes[nshapes] = SUITE[i].shape;
        labels[nshapes++] = SUITE[i].label;
      }
  }
  const char *kind = o.ncustom ? "custom" : "suite";
  if (o.scaling) { /* case C unless a case was chosen */
    size_t base = 0;
    if (!o.ncustom && !o.only_given)
      while (base < nshapes && strcmp(shapes[base].name, "C")) base++;
    shapes[0] = shapes[base];
    labels[0] = labels[base];
    nshapes = 1;
    kind = "scaling";
  }
  const size_t per_shape = o.scaling ? SCALING_POINTS : 1;
  size_t total = 0, n = 0;
  for (int dt = 0; dt < 2; dt++)
    for (int fmt = 0; fmt < 2; fmt++) total += o.want_dtype[dt] && o.want_format[fmt];
  const size_t nbwd = o.backward && !o.scaling ? total * nshapes : 0;
  total = o.backward == 2 && !o.scaling ? 0 : total * nshapes * per_shape;
  result *rs = calloc(total ? total : 1, sizeof *rs);
  if (!rs) return 1;

  /* The measurements; progress on stderr, the table once the peak has been measured again. */
  int failures = 0;
  for (size_t si = 0; si < nshapes && total; si++)
    for (int dt = 0; dt < 2; dt++)
      for (int fmt = 0; fmt < 2; fmt++) {
        if (!o.want_dtype[dt] || !o.want_format[fmt]) continue;
        result *batch = &rs[n];
        if (o.scaling)
          run_scaling(&shapes[si], (conv1dt_dtype)dt, (conv1dt_data_format)fmt, &o, batch);
        else
          bench_run_case(&shapes[si], (conv1dt_dtype)dt, (conv1dt_data_format)fmt, &o, o.onednn,
                         batch);
        for (size_t p = 0; p < per_shape; p++, n++) {
          result *r = &rs[n];
          r->kind = kind;
          r->label = labels[si];
          r->shape_index = (int)si;
          if (!o.scaling) r->batch_mult = r->steps_mult = 1;
          r->torch_ms = torch_lookup(o.pytorch_path ? &torch : NULL, r);
          failures += !r->ok;
          if (r->ok)
            fprintf(stderr, "[%zu/%zu] %s %s %s B=%lld L=%lld: %.4g ms (%d runs)\n", n + 1, total,
                    r->sh.name, bench_dtype_name(r->dt), bench_format_name(r->fmt),
                    (long long)r->sh.B, (long long)r->sh.L, r->ms, r->reps);
          else
            fprintf(stderr, "[%zu/%zu] %s %s %s: error: %s\n", n + 1, total, r->sh.name,
                    bench_dtype_name(r->dt), bench_format_name(r->fmt), r->error);
        }
      }
  /* The training calls, after the forward's cases. */
  bench_bwd_result *br = calloc(nbwd ? nbwd : 1, sizeof *br);
  if (!br) return 1;
  size_t nb = 0;
  for (size_t si = 0; si < nshapes && nbwd; si++)
    for (int dt = 0; dt < 2; dt++)
      for (int fmt = 0; fmt < 2; fmt++) {
        if (!o.want_dtype[dt] || !o.want_format[fmt]) continue;
        bench_bwd_result *r = &br[nb++];
        bench_backward_run(&shapes[si], (conv1dt_dtype)dt, (conv1dt_data_format)fmt,
                           bench_algorithm, &o.reps, r);
        const torch_record *q = o.pytorch_path ? torch_find(&torch, &r->sh, r->dt, r->fmt) : NULL;
        if (q) r->torch_bwd_ms = q->bwd_ms;
        failures += !r->ok;
        if (r->ok)
          fprintf(stderr,
                  "[backward %zu/%zu] %s %s %s: forward %.4g, backward %.4g ms (%d rounds)\n", nb,
                  nbwd, r->sh.name, bench_dtype_name(r->dt), bench_format_name(r->fmt), r->fwd_ms,
                  r->bwd_ms, r->rounds);
        else
          fprintf(stderr, "[backward %zu/%zu] %s %s %s: error: %s\n", nb, nbwd, r->sh.name,
                  bench_dtype_name(r->dt), bench_format_name(r->fmt), r->error);
      }

  /* The honest yardstick: the bare GEMM with the machine's best kernels, in child processes,
   * after the cases (never while this process times anything). The smoke run tries them only
   * when asked by name. */
  yardstick_run ys;
  memset(&ys, 0, sizeof ys);
  bench_yardstick_plan_make(&ys.plan, o.mkl, o.yardstick_core);
  if (o.smoke && !o.mkl) ys.plan.mkl_path[0] = '\0';
  if (o.smoke && !o.yardstick_core) ys.plan.child_core[0] = '\0';
  if (n && !o.scaling && !o.own_gemm)
    run_yardstick_children(&o, shapes, nshapes, threads, rs, n, &ys);
  for (size_t i = 0; i < n; i++) choose_best_gemm(&rs[i]);

  for (int dt = 0; dt < 2; dt++) {
    if (o.want_dtype[dt] && !o.smoke && !o.quick_roof)
      roof.gflops_last[dt] = measure_peak((conv1dt_dtype)dt, roof.gemm_n, peak_time);
    roof.gflops[dt] =
        roof.gflops_last[dt] > roof.gflops_first[dt] ? roof.gflops_last[dt] : roof.gflops_first[dt];
    if (o.want_dtype[dt] && !o.smoke) { /* the loop, too, again: the better of the two */
      const double again = bench_fma_peak(dt, threads, &roof.fma_isa);
      if (again > roof.gflops_fma[dt]) roof.gflops_fma[dt] = again;
    }
    if (roof.gflops_fma[dt] > roof.gflops[dt]) roof.gflops[dt] = roof.gflops_fma[dt];
  }
  for (size_t i = 0; i < n; i++) apply_roofline(&rs[i], &roof);
  for (size_t i = 0; i < nb; i++)
    bench_backward_roofline(&br[i], roof.gflops[br[i].dt == CONV1DT_FLOAT64], roof.gbs);
  cpu_usage use_end;
  cpu_usage_now(&use_end);
  m.others_busy = others_share(&use_start, &use_end, bench_now() - t_start);

  printf("# conv1dt-bench, conv1dt %s, %s\n", conv1dt_version_string(), m.date);
  printf("# CPU: %s; %ld cores online; threads %d\n", m.cpu, m.cores, m.threads);
  printf(
      "# other processes: %.0f%% of the CPUs during the run (load average %.2f at the start)%s\n",
      100 * m.others_busy, m.load,
      m.others_busy > 0.05 ? ": the machine was shared, the timings are disturbed" : "");
  printf("# BLAS: %s; threads %d\n", m.blas, m.blas_threads);
  printf("# conv1dt direct kernel: %s\n", conv1dt_kernel_isa());
  printf("# %s\n", m.onednn);
  printf("# OPENBLAS_CORETYPE=%s\n", m.coretype[0] ? m.coretype : "(unset)");
  if (o.pytorch_path)
    printf("# %s: %zu timings from %s (bench/pytorch_bench.py)\n", m.torch, torch.n,
           o.pytorch_path);
  char after[32];
  for (int dt = 0; dt < 2; dt++)
    if (o.want_dtype[dt])
      printf("# peak %s: %.1f GFLOP/s (the better of an %s multiply-add loop, %.1f, and the best "
             "%d^3 GEMM: %.1f before the cases, %s after)\n",
             bench_dtype_name((conv1dt_dtype)dt), roof.gflops[dt], roof.fma_isa,
             roof.gflops_fma[dt], roof.gemm_n, roof.gflops_first[dt],
             bench_fmt_num(after, sizeof after, "%*.1f", roof.gflops_last[dt], 1));
  printf("# bandwidth: %.1f GB/s (%zu MiB copy, bytes read + written, %d threads, best of %d)\n",
         roof.gbs, roof.copy_bytes >> 20, threads, copy_reps);
  if (n && !o.scaling) print_yardstick_head(&ys, &o);
  printf("\n");
  if (o.scaling)
    printf("Scaling of case %s (%s): batch x1, x2, x4 by steps x1, x2, x4, timed in interleaved "
           "rounds\n(no GEMM baseline, no oneDNN)\n\n",
           shapes[0].name, labels[0]);
  const table_cols tc = {ys.core_ran || ys.mkl_ran, o.after_gemm && !o.scaling,
                         o.pytorch_path != NULL};
  if (n) print_table_head(&tc);
  for (size_t i = 0; i < n; i++) print_row(&rs[i], &tc);

  if (o.scaling) {
    printf("\nTime per sample-step (ns) and relative to x1 x1 (1.00 = linear):\n");
    printf("%-3s %-2s %6s %6s %7s %8s %12s %8s\n", "dt", "fm", "batch", "steps", "B", "L",
           "ns/(B*L)", "rel");
    for (size_t i = 0; i < n; i++) {
      const result *r = &rs[i];
      const result *base = r;
      for (size_t j = 0; j < n; j++)
        if (rs[j].dt == r->dt && rs[j].fmt == r->fmt && rs[j].batch_mult == 1 &&
            rs[j].steps_mult == 1)
          base = &rs[j];
      const double ns = 1e6 * r->ms / ((double)r->sh.B * (double)r->sh.L);
      const double ns0 = 1e6 * base->ms / ((double)base->sh.B * (double)base->sh.L);
      printf("%-3s %-2s %5dx %5dx %7lld %8lld %12.2f %8.2f\n", bench_dtype_name(r->dt),
             bench_format_name(r->fmt), r->batch_mult, r->steps_mult, (long long)r->sh.B,
             (long long)r->sh.L, ns, ns / ns0);
    }
  } else {
    print_dnn_details(rs, n);
    if (ys.core_ran) print_core_table(&ys, rs, n);
    if (nb) bench_backward_print(br, nb, o.pytorch_path != NULL);
  }
  if (o.limit_check) {
    printf("\nThe default workspace limit against none (the same layer without a limit, timed in "
           "alternating blocks):\n%-4s %-3s %-2s %10s %12s %10s %12s %8s\n",
           "case", "dt", "fm", "ws MiB", "unlim MiB", "ms", "unlim ms", "ratio");
    for (size_t i = 0; i < n; i++) {
      const result *r = &rs[i];
      if (!r->ok || isnan(r->unlimited_ms)) continue;
      printf("%-4s %-3s %-2s %10.2f %12.2f %10.4g %12.4g %8.3f\n", r->sh.name,
             bench_dtype_name(r->dt), bench_format_name(r->fmt), (double)r->ws_bytes / 1048576.0,
             (double)r->ws_unlimited / 1048576.0, r->ms, r->unlimited_ms, r->ms / r->unlimited_ms);
    }
  }
  if (n)
    printf("\nms: median of conv1dt's runs (*: other processes took over %.0f%% of the CPUs "
           "meanwhile);\nxGEMM, xoneDNN, xtorch: conv1dt's time / theirs (< 1: conv1dt faster); "
           "roof%%: roofline bound / conv1dt's time%s.\n",
           100 * BUSY_MARK,
           tc.after ? ";\nafter-GEMM ms: the layer right after a same-size bare GEMM (no pause), "
                      "after/parked: over ms, paired by round"
                    : "");
  printf("Took %.1f s.\n", bench_now() - t_start);

  int io_fail = 0;
  if (o.json_path && !write_json(o.json_path, &m, &roof, &o, &ys, rs, n, br, nb)) {
    fprintf(stderr, "conv1dt-bench: cannot write %s\n", o.json_path);
    io_fail = 1;
  }
  if (o.csv_path && !write_csv(o.csv_path, rs, n)) {
    fprintf(stderr, "conv1dt-bench: cannot write %s\n", o.csv_path);
    io_fail = 1;
  }
  free(rs);
  free(br);
  free(torch.recs);
  return failures || io_fail ? 1 : 0;
}
