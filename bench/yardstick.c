/* conv1dt-bench: the best bare GEMM on the machine, as a yardstick. Debian 12's OpenBLAS 0.3.21
 * runs its SSE3 "Prescott" kernels on CPUs newer than itself, and MKL may be installed beside
 * it; a GEMM column against a crippled GEMM flatters the layer. This file finds OpenBLAS's core
 * as loaded, the strongest core the CPU's ISA allows and an MKL to try, and runs this program
 * again as a child process with OPENBLAS_CORETYPE or MKL swapped in: only the bench's child
 * ever gets those settings, never the library or the bench itself. */
#define _GNU_SOURCE /* dladdr, RTLD_DEFAULT, environ, realpath, strcasecmp */
#include "bench.h"
#include "case.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* How strong a core's GEMM kernels are: 4 AVX-512, 3 AVX2 + FMA, 2 AVX, 1 SSE (any other). */
static int core_rank(const char *core) {
  static const char *avx512[] = {"skylakex", "cooperlake", "sapphirerapids"};
  static const char *avx2[] = {"haswell", "zen", "skylake"};
  static const char *avx[] = {"sandybridge", "bulldozer", "piledriver", "steamroller", "excavator"};
  for (size_t i = 0; i < sizeof avx512 / sizeof *avx512; i++)
    if (!strcasecmp(core, avx512[i])) return 4;
  for (size_t i = 0; i < sizeof avx2 / sizeof *avx2; i++)
    if (!strcasecmp(core, avx2[i])) return 3;
  for (size_t i = 0; i < sizeof avx / sizeof *avx; i++)
    if (!strcasecmp(core, avx[i])) return 2;
  return 1;
}

/* The strongest OPENBLAS_CORETYPE this CPU runs: "" where there is none better than SSE (or off
 * x86-64, where OpenBLAS's detection is not in question). */
static const char *cpu_best_core(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
  if (__builtin_cpu_supports("avx")) return "Sandybridge";
#endif
  return "";
}

static int is_file(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The absolute path of `path` into out (the child's LD_PRELOAD must not depend on its cwd). */
static int absolute(const char *path, char *out, size_t size) {
  char *abs = realpath(path, NULL);
  if (!abs) return 0;
  snprintf(out, size, "%s", abs);
  free(abs);
  return 1;
}

/* `where` is libmkl_rt itself or a directory holding it: the file's path into out. */
static int find_mkl_rt(const char *where, char *out, size_t size) {
  if (!where || !*where) return 0;
  if (is_file(where)) return absolute(where, out, size);
  static const char *names[] = {"libmkl_rt.so.3", "libmkl_rt.so.2", "libmkl_rt.so"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s", where, names[i]);
    if (is_file(path)) return absolute(path, out, size);
  }
  return 0;
}

void bench_yardstick_plan_make(bench_yardstick_plan *p, const char *mkl_opt,
                               const char *force_core) {
  memset(p, 0, sizeof *p);
  const char *(*corename)(void) = NULL;
  void *sym = dlsym(RTLD_DEFAULT, "openblas_get_corename");
  if (sym) memcpy(&corename, &sym, sizeof corename); /* POSIX: data to function pointer */
  if (corename && corename()) snprintf(p->loaded_core, sizeof p->loaded_core, "%s", corename());
  snprintf(p->best_core, sizeof p->best_core, "%s", cpu_best_core());
  if (p->loaded_core[0] && p->best_core[0] && core_rank(p->loaded_core) < core_rank(p->best_core)) {
    p->misdetected = 1;
    snprintf(p->child_core, sizeof p->child_core, "%s", p->best_core);
  }
  /* A core asked for by name: only where the loaded BLAS is OpenBLAS on x86-64 (elsewhere the
   * variable means nothing, or another architecture's cores). */
  if (force_core && *force_core && p->loaded_core[0] && cpu_best_core()[0])
    snprintf(p->child_core, sizeof p->child_core, "%s", force_core);
  p->blas_is_mkl = dlsym(RTLD_DEFAULT, "MKL_Get_Version_String") != NULL;
  if (p->blas_is_mkl) return; /* MKL is the yardstick already */
  const char *venv = getenv("CONV1DT_MKL_VENV");
  char venv_lib[600] = "";
  if (venv && *venv) snprintf(venv_lib, sizeof venv_lib, "%s/lib", venv);
  if (mkl_opt) { /* --mkl: that one or none */
    find_mkl_rt(mkl_opt, p->mkl_path, sizeof p->mkl_path);
    return;
  }
  if (!find_mkl_rt(getenv("CONV1DT_BENCH_MKL"), p->mkl_path, sizeof p->mkl_path) &&
      !find_mkl_rt(venv_lib, p->mkl_path, sizeof p->mkl_path))
    find_mkl_rt(".venv-mkl/lib", p->mkl_path, sizeof p->mkl_path);
}

void bench_blas_provider(char *buf, size_t size) {
  void *sym = dlsym(RTLD_DEFAULT, "cblas_sgemm");
  Dl_info info;
  const char *file = sym && dladdr(sym, &info) && info.dli_fname ? info.dli_fname : "unknown";
  void (*mkl_version)(char *, int) = NULL;
  void *v = dlsym(RTLD_DEFAULT, "MKL_Get_Version_String");
  if (v) memcpy(&mkl_version, &v, sizeof mkl_version);
  char ver[200] = "";
  if (mkl_version) mkl_version(ver, (int)sizeof ver);
  snprintf(buf, size, "%s%scblas_sgemm from %s", ver, ver[0] ? "; " : "", file);
}

/* environ with `set` (NAME=VALUE strings) in place of any NAME it has; NULL on no memory. */
static char **env_with(const char *const set[]) {
  size_t n = 0, k = 0;
  while (environ[n]) n++;
  while (set[k]) k++;
  char **env = calloc(n + k + 1, sizeof *env);
  if (!env) return NULL;
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    int replaced = 0;
    for (size_t j = 0; j < k && !replaced; j++) {
      const size_t len = strcspn(set[j], "=") + 1;
      replaced = !strncmp(environ[i], set[j], len);
    }
    if (!replaced) env[m++] = environ[i];
  }
  for (size_t j = 0; j < k; j++) env[m++] = (char *)set[j]; /* execve does not write to it */
  return env;
}

char *bench_child_run(char *const argv[], const char *const env_set[]) {
  char exe[4096];
  const ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (len <= 0) return NULL;
  exe[len] = '\0';
  char **env = env_with(env_set);
  int fd[2];
  if (!env || pipe(fd)) {
    free(env);
    return NULL;
  }
  fflush(stdout);
  fflush(stderr);
  const pid_t pid = fork();
  if (pid == 0) { /* only async-signal-safe calls until execve: the parent has threads */
    dup2(fd[1], 1);
    close(fd[0]);
    close(fd[1]);
    execve(exe, argv, env);
    _exit(127);
  }
  free(env);
  close(fd[1]);
  if (pid < 0) {
    close(fd[0]);
    return NULL;
  }
  size_t cap = 4096, n = 0;
  char *out = malloc(cap);
  ssize_t got;
  while (out && (got = read(fd[0], out + n, cap - n - 1)) != 0) {
    if (got < 0) {
      if (errno == EINTR) continue;
      break;
    }
    n += (size_t)got;
    if (n + 1 == cap) {
      char *bigger = realloc(out, cap *= 2);
      if (!bigger) free(out);
      out = bigger;
    }
  }
  close(fd[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!out || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    free(out);
    return NULL;
  }
  out[n] = '\0';
  return out;
}

/* ---- The children: the child's side and the parent's ----------------------------------------- */

/* The bare GEMM of a shape on its own, warm, the median of its runs (a child's measurement). */
static double time_bare_gemm(const bench_shape *sh, conv1dt_dtype dt, conv1dt_data_format fmt,
                             const bench_reps *reps) {
  const double B = (double)sh->B, L = (double)sh->L, C = (double)sh->C,
               KF = (double)(sh->K * sh->F);
  if (B * L > INT_MAX || KF > INT_MAX || C > INT_MAX) return NAN;
  const size_t es = bench_dtype_size(dt), nx = (size_t)(B * L * C), nk = (size_t)(KF * C);
  void *x = bench_alloc(nx * es), *w = bench_alloc(nk * es),
       *col = bench_alloc((size_t)(B * L * KF) * es);
  bench_series t = {0};
  double ms = NAN;
  if (x && w && col) {
    bench_fill_uniform(x, dt, nx, 1.0, 1);
    bench_fill_uniform(w, dt, nk, 1.0 / sqrt(C * (double)sh->K), 2);
    const gemm_args g = {dt, fmt, (int)sh->B, (int)sh->L, (int)sh->C, (int)(sh->K * sh->F),
                         x,  w,   col,        0};
    bench_run_gemm(&g); /* warm-up */
    double elapsed = 0;
    int grown = 1;
    while (grown && bench_more(reps, (int)t.n, elapsed)) {
      const double t0 = bench_now();
      bench_run_gemm(&g);
      const double dt_run = bench_now() - t0;
      grown = bench_series_add(&t, dt_run);
      elapsed += dt_run;
    }
    if (t.n) ms = 1e3 * bench_median(t.t, t.n);
  }
  free(t.t);
  free(x);
  free(w);
  free(col);
  return ms;
}

/* A child's side: "@blas WHAT" and, per --case (its index), dtype and format,
 *   @case INDEX DT FM GEMM_MS METHOD AUTO_MS GEMM_ACCUMULATE_MS GEMM_METHOD_MS
 * (CHILD_GEMM: only GEMM_MS; the rest "nan" and "-"). The layer as the parent times it. */
int child_main(const options *o) {
  char provider[400];
  bench_blas_provider(provider, sizeof provider);
  printf("@blas %s\n", provider);
  options oc = *o;
  oc.onednn = oc.after_gemm = oc.limit_check = 0;
  static const conv1dt_algorithm gemm_methods[2] = {CONV1DT_ALGORITHM_GEMM_ACCUMULATE,
                                                    CONV1DT_ALGORITHM_GEMM};
  const conv1dt_algorithm asked = bench_algorithm; /* --algorithm: AUTO unless the run forced one */
  for (int i = 0; i < o->ncustom; i++)
    for (int dt = 0; dt < 2; dt++)
      for (int fmt = 0; fmt < 2; fmt++) {
        if (!o->want_dtype[dt] || !o->want_format[fmt]) continue;
        const bench_shape *sh = &o->custom[i];
        const conv1dt_dtype dtype = (conv1dt_dtype)dt;
        const conv1dt_data_format format = (conv1dt_data_format)fmt;
        double gemm = NAN, auto_ms = NAN, methods_ms[2] = {NAN, NAN};
        const char *method = "-";
        if (o->child == CHILD_GEMM) {
          gemm = time_bare_gemm(sh, dtype, format, &o->reps);
        } else {
          result r;
          bench_algorithm = asked;
          bench_run_case(sh, dtype, format, &oc, 0, &r);
          if (r.ok) gemm = r.gemm_ms, auto_ms = r.ms, method = r.method;
          for (int m = 0; m < 2; m++) {
            if (r.ok && !strcmp(method, conv1dt_algorithm_name(gemm_methods[m]))) {
              methods_ms[m] = auto_ms; /* AUTO's choice: timed already */
              continue;
            }
            result q;
            bench_algorithm = gemm_methods[m];
            bench_run_case(sh, dtype, format, &oc, 0, &q);
            if (q.ok) methods_ms[m] = q.ms;
          }
          bench_algorithm = asked;
        }
        printf("@case %d %s %s %.9g %s %.9g %.9g %.9g\n", i, bench_dtype_name(dtype),
               bench_format_name(format), gemm, method, auto_ms, methods_ms[0], methods_ms[1]);
        fflush(stdout);
        char text[96];
        bench_shape_text(sh, text, sizeof text);
        fprintf(stderr, "  (child) %s %s %s: GEMM %.4g ms\n", text, bench_dtype_name(dtype),
                bench_format_name(format), gemm);
      }
  return 0;
}

/* The parent's side: runs a child over the shapes with env's settings and merges its lines
 * into rs (into the core_* fields when `core`, else gemm_mkl_ms). *what gets its "@blas" line.
 * Returns 0 when the child failed (its stderr says why). */
static int run_child(const options *o, int mode, const char *const env[], int core,
                     const bench_shape *shapes, size_t nshapes, int threads, result *rs, size_t n,
                     char *what, size_t what_size) {
  char *argv[24 + 2 * MAX_CUSTOM];
  char texts[MAX_CUSTOM][96], thr[16], reps[24], min_reps[24], min_time[32];
  int a = 0;
  argv[a++] = (char *)"conv1dt-bench";
  argv[a++] = (char *)"--yardstick-child";
  argv[a++] = (char *)(mode == CHILD_GEMM ? "gemm" : "layer");
  snprintf(thr, sizeof thr, "%d", threads);
  argv[a++] = (char *)"--threads";
  argv[a++] = thr;
  argv[a++] = (char *)"--dtype";
  argv[a++] = (char *)(o->want_dtype[0] && o->want_dtype[1] ? "all"
                       : o->want_dtype[0]                   ? "f32"
                                                            : "f64");
  argv[a++] = (char *)"--format";
  argv[a++] = (char *)(o->want_format[0] && o->want_format[1] ? "all"
                       : o->want_format[0]                    ? "cl"
                                                              : "cf");
  snprintf(reps, sizeof reps, "%d", o->reps.reps);
  snprintf(min_reps, sizeof min_reps, "%d", o->reps.min_reps);
  snprintf(min_time, sizeof min_time, "%.17g", o->reps.min_time);
  if (o->reps.reps > 0) {
    argv[a++] = (char *)"--reps";
    argv[a++] = reps;
  } else {
    argv[a++] = (char *)"--min-reps";
    argv[a++] = min_reps;
    argv[a++] = (char *)"--min-time";
    argv[a++] = min_time;
  }
  if (bench_algorithm != CONV1DT_ALGORITHM_AUTO) { /* the child's "AUTO" is the run's method */
    argv[a++] = (char *)"--algorithm";
    argv[a++] = (char *)conv1dt_algorithm_name(bench_algorithm);
  }
  for (size_t i = 0; i < nshapes && i < MAX_CUSTOM; i++) {
    bench_shape_text(&shapes[i], texts[i], sizeof texts[i]);
    argv[a++] = (char *)"--case";
    argv[a++] = texts[i];
  }
  argv[a] = NULL;
  char *out = bench_child_run(argv, env);
  if (!out) return 0;
  char *save = NULL;
  for (char *line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    if (!strncmp(line, "@blas ", 6)) snprintf(what, what_size, "%s", line + 6);
    int idx;
    char dts[8], fms[8], method[24];
    double v[4];
    if (sscanf(line, "@case %d %7s %7s %lf %23s %lf %lf %lf", &idx, dts, fms, &v[0], method, &v[1],
               &v[2], &v[3]) != 8)
      continue;
    for (size_t i = 0; i < n; i++) {
      result *r = &rs[i];
      if (r->shape_index != idx || strcmp(bench_dtype_name(r->dt), dts) ||
          strcmp(bench_format_name(r->fmt), fms))
        continue;
      if (!core) {
        r->gemm_mkl_ms = v[0];
        continue;
      }
      r->gemm_core_ms = r->core_gemm_ms = v[0];
      snprintf(r->core_method, sizeof r->core_method, "%s", method);
      r->core_ms = v[1], r->core_accum_ms = v[2], r->core_gemm_method_ms = v[3];
    }
  }
  free(out);
  return 1;
}

/* The yardstick of each row: the fastest of the bare GEMMs timed, and the layer's time over it
 * (paired, as timed, where it is this process's own GEMM). */
void choose_best_gemm(result *r) {
  r->best_gemm_ms = r->gemm_ms, r->ratio_best = r->ratio_gemm, r->best_by = "blas";
  if (r->gemm_core_ms < r->best_gemm_ms)
    r->best_gemm_ms = r->gemm_core_ms, r->ratio_best = r->ms / r->gemm_core_ms, r->best_by = "core";
  if (r->gemm_mkl_ms < r->best_gemm_ms)
    r->best_gemm_ms = r->gemm_mkl_ms, r->ratio_best = r->ms / r->gemm_mkl_ms, r->best_by = "mkl";
}

void run_yardstick_children(const options *o, const bench_shape *shapes, size_t nshapes,
                            int threads, result *rs, size_t n, yardstick_run *y) {
  const bench_yardstick_plan *p = &y->plan;
  if (p->child_core[0]) {
    char core_env[64];
    snprintf(core_env, sizeof core_env, "OPENBLAS_CORETYPE=%s", p->child_core);
    const char *env[] = {core_env, NULL};
    fprintf(stderr, "conv1dt-bench: timing the GEMM and the layer with %s in a child\n", core_env);
    y->core_ran = run_child(o, CHILD_LAYER, env, 1, shapes, nshapes, threads, rs, n, y->core_blas,
                            sizeof y->core_blas);
    if (!y->core_ran) fprintf(stderr, "conv1dt-bench: the %s child failed\n", core_env);
  }
  if (p->mkl_path[0]) {
    /* MKL's CBLAS preloaded over the bench's own; its other parts from its directory. */
    char preload[700], libpath[1400], mkl_threads[40], dir[600];
    snprintf(dir, sizeof dir, "%s", p->mkl_path);
    char *slash = strrchr(dir, '/');
    if (slash)
      *slash = '\0';
    else
      snprintf(dir, sizeof dir, ".");
    const char *old = getenv("LD_LIBRARY_PATH");
    snprintf(preload, sizeof preload, "LD_PRELOAD=%s", p->mkl_path);
    snprintf(libpath, sizeof libpath, "LD_LIBRARY_PATH=%s%s%s", dir, old && *old ? ":" : "",
             old ? old : "");
    snprintf(mkl_threads, sizeof mkl_threads, "MKL_NUM_THREADS=%d", threads);
    const char *env[] = {preload, libpath, mkl_threads, "OPENBLAS_NUM_THREADS=1", NULL};
    fprintf(stderr, "conv1dt-bench: timing the GEMM with MKL (%s) in a child\n", p->mkl_path);
    y->mkl_ran = run_child(o, CHILD_GEMM, env, 0, shapes, nshapes, threads, rs, n, y->mkl_blas,
                           sizeof y->mkl_blas);
    if (!y->mkl_ran || !strstr(y->mkl_blas, "mkl")) {
      fprintf(stderr, "conv1dt-bench: the MKL child failed or did not run MKL (%s)\n",
              y->mkl_ran ? y->mkl_blas : "no output");
      for (size_t i = 0; i < n; i++) rs[i].gemm_mkl_ms = NAN;
      y->mkl_ran = 0;
    }
  }
}

/* Which bare GEMM the GEMM column is against, and whether OpenBLAS runs the CPU's best core. */
void print_yardstick_head(const yardstick_run *y, const options *o) {
  const bench_yardstick_plan *p = &y->plan;
  printf("# bare GEMM (GEMM ms, xGEMM): ");
  if (!y->core_ran && !y->mkl_ran) {
    printf("this process's BLAS");
    if (p->loaded_core[0] && p->best_core[0] && !p->misdetected)
      printf(" (OpenBLAS core %s: the best this CPU runs)", p->loaded_core);
    printf("%s\n", o->own_gemm                        ? " (--own-gemm)"
                   : p->mkl_path[0] || p->blas_is_mkl ? ""
                                                      : "; no MKL found (--mkl)");
  } else {
    printf("per case the fastest of: blas = this process's BLAS");
    if (y->core_ran)
      printf("; core = OpenBLAS with OPENBLAS_CORETYPE=%s in a child process", p->child_core);
    if (y->mkl_ran) { /* "Intel(R) oneAPI Math Kernel Library Version 2026.2-Product ..." */
      char version[32] = "";
      const char *v = strstr(y->mkl_blas, "Version ");
      if (v) sscanf(v + 8, "%31[^- ;]", version);
      const char *file = strrchr(p->mkl_path, '/');
      printf("; mkl = MKL %s (%s) in a child process", version, file ? file + 1 : p->mkl_path);
    }
    printf(" (column by; xGEMM is paired only against blas)\n");
  }
  if (p->misdetected)
    printf("# OpenBLAS runs core %s here, weaker than this CPU's %s: %s\n", p->loaded_core,
           p->best_core,
           y->core_ran ? "AUTO and the GEMM methods with the right kernels are in their own table"
                       : "its GEMMs are not the machine's best");
}

/* The layer with OpenBLAS's right kernels (a child with OPENBLAS_CORETYPE), where the loaded
 * OpenBLAS ran weaker ones or a core was asked for. */
void print_core_table(const yardstick_run *y, const result *rs, size_t n) {
  printf("\nWith OPENBLAS_CORETYPE=%s (a child process): AUTO's choice, its time, each GEMM "
         "method's and the bare GEMM's (medians, ms):\n%-4s %-3s %-2s %-6s %9s %9s %9s %9s %6s\n",
         y->plan.child_core, "case", "dt", "fm", "AUTO", "ms", "accum ms", "gemm ms", "GEMM ms",
         "xGEMM");
  for (size_t i = 0; i < n; i++) {
    const result *r = &rs[i];
    char a[32], b[32], c[32], d[32], e[32];
    const char *method = strcmp(r->core_method, "gemm_accumulate") ? r->core_method : "accum";
    printf("%-4s %-3s %-2s %-6s %s %s %s %s %s\n", r->sh.name, bench_dtype_name(r->dt),
           bench_format_name(r->fmt), r->core_method[0] ? method : "-",
           bench_fmt_ms(a, sizeof a, r->core_ms, 9), bench_fmt_ms(b, sizeof b, r->core_accum_ms, 9),
           bench_fmt_ms(c, sizeof c, r->core_gemm_method_ms, 9),
           bench_fmt_ms(d, sizeof d, r->core_gemm_ms, 9),
           bench_fmt_num(e, sizeof e, "%*.2f", r->core_ms / r->core_gemm_ms, 6));
  }
}
