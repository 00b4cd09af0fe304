/* conv1dt-bench: the best bare GEMM on the machine, as a yardstick. Debian 12's OpenBLAS 0.3.21
 * runs its SSE3 "Prescott" kernels on CPUs newer than itself, and MKL may be installed beside
 * it; a GEMM column against a crippled GEMM flatters the layer. This file finds OpenBLAS's core
 * as loaded, the strongest core the CPU's ISA allows and an MKL to try, and runs this program
 * again as a child process with OPENBLAS_CORETYPE or MKL swapped in: only the bench's child
 * ever gets those settings, never the library or the bench itself. */
#define _GNU_SOURCE /* dladdr, RTLD_DEFAULT, environ, strcasecmp */
#include "bench.h"

#include <dlfcn.h>
#include <errno.h>
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

/* `where` is libmkl_rt itself or a directory holding it: the file's path into out. */
static int find_mkl_rt(const char *where, char *out, size_t size) {
  if (!where || !*where) return 0;
  if (is_file(where)) {
    snprintf(out, size, "%s", where);
    return 1;
  }
  static const char *names[] = {"libmkl_rt.so.3", "libmkl_rt.so.2", "libmkl_rt.so"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
    char path[600];
    snprintf(path, sizeof path, "%s/%s", where, names[i]);
    if (is_file(path)) {
      snprintf(out, size, "%s", path);
      return 1;
    }
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
