/* Which BLAS this process runs, told by the BLAS itself: the file that provides cblas_sgemm
 * (update-alternatives' or LD_LIBRARY_PATH's choice, symlinks resolved) and the queries that
 * file, or the libraries it loads, export. Nothing is guessed from a path: a vendor is named
 * only by a symbol that vendor alone defines, else the report says "unknown CBLAS in FILE". */
#define _GNU_SOURCE /* RTLD_DEFAULT, RTLD_NOLOAD, dladdr, dl_iterate_phdr */
#include "internal.h"

#include <dlfcn.h>
#include <link.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

typedef const char *(*str_fn)(void);
typedef int (*int_fn)(void);
typedef void (*set_int_fn)(int);
typedef int64_t (*get_dim_fn)(void); /* BLIS's dim_t: 64-bit in Debian's and default builds */
typedef void (*set_dim_fn)(int64_t);
typedef int (*mkl_version_fn)(char *, int);

/* What the probe found, filled once under pthread_once and read-only after: the BLAS that
 * provides cblas_sgemm is loaded before this library runs, so the answer cannot change, and
 * every forward call asks for the thread count (a dlsym that misses costs a share of a small
 * call). */
typedef struct {
  conv1dt__blas_vendor vendor;
  char file[512]; /* the providing file, symlinks resolved ("" when not found) */
  char text[512]; /* conv1dt_blas_info's description */
  int serial;     /* built without threads: one thread, nothing to set */
  int_fn get_int; /* OpenBLAS, MKL */
  set_int_fn set_int;
  get_dim_fn get_dim; /* BLIS */
  set_dim_fn set_dim;
  int bits; /* the GEMM kernels' vector width where the BLAS names them, else 0 */
} probe_t;

static probe_t probe;
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;

/* ISO C cannot cast a data pointer to a function pointer; POSIX guarantees the bytes match. */
#define FN(var, p)                                                                                 \
  do {                                                                                             \
    void *p_ = (p);                                                                                \
    memcpy(&(var), &p_, sizeof(var));                                                              \
  } while (0)

/* A symbol of the providing file or of the libraries it loads (dlsym on its handle searches
 * exactly those), or of the whole process for a static link. */
static void *in_blas(void *handle, const char *name) {
  return dlsym(handle ? handle : RTLD_DEFAULT, name);
}

/* The version in a file name such as libblas.so.3.11.0 (Debian's name carries the upstream
 * release), or "" when it has none beyond the SONAME's major. */
static const char *file_version(const char *file) {
  const char *so = strstr(file, ".so.");
  if (!so) return "";
  const char *v = so + 4;
  return strchr(v, '.') ? v : "";
}

/* The vector width of the GEMM kernels a BLAS names: OpenBLAS's core (openblas_get_corename)
 * or BLIS's configuration (bli_arch_string). A DYNAMIC_ARCH OpenBLAS or a "fat" BLIS picks them
 * from the CPU models it knows: Debian 12's OpenBLAS 0.3.21 runs SSE3 "Prescott" kernels on
 * CPUs newer than itself, and Debian's BLIS 0.9 its AVX2 "haswell" ones on AVX-512 Xeons. */
static void kernel_bits(const char *name) {
  static const char *const wide[] = {"skylakex", "cooperlake", "sapphirerapids",
                                     "skx",      "knl",        "zen4"};
  static const char *const avx[] = {"haswell",    "zen",         "zen2",
                                    "zen3",       "sandybridge", "bulldozer",
                                    "piledriver", "steamroller", "excavator"};
  probe.bits = 128;
  for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++)
    if (!strcasecmp(name, wide[i])) probe.bits = 512;
  for (size_t i = 0; i < sizeof avx / sizeof avx[0]; i++)
    if (!strcasecmp(name, avx[i])) probe.bits = 256;
}

static int probe_openblas(void *h) {
  str_fn config, core;
  int_fn parallel;
  FN(config, in_blas(h, "openblas_get_config"));
  if (!config) return 0;
  FN(core, in_blas(h, "openblas_get_corename"));
  FN(parallel, in_blas(h, "openblas_get_parallel")); /* 0 serial, 1 pthreads, 2 OpenMP */
  FN(probe.get_int, in_blas(h, "openblas_get_num_threads"));
  FN(probe.set_int, in_blas(h, "openblas_set_num_threads"));
  const int par = parallel ? parallel() : -1;
  static const char *const layers[] = {"serial build", "pthreads build", "OpenMP build"};
  const char *c = core ? core() : NULL, *cfg = config(); /* "OpenBLAS 0.3.21 DYNAMIC_ARCH ..." */
  if (c) kernel_bits(c);
  probe.vendor = CONV1DT_BLAS_OPENBLAS;
  probe.serial = par == 0;
  snprintf(probe.text, sizeof probe.text, "%s%s; core %s; %s",
           strncmp(cfg, "OpenBLAS", 8) ? "OpenBLAS " : "", cfg, c ? c : "?",
           par >= 0 && par <= 2 ? layers[par] : "threading not reported");
  return 1;
}

/* BLIS's own queries; `how` says where they came from. */
static void describe_blis(void *lib, const char *how) {
  str_fn version;
  int_fn omp, pth, arch_id;
  const char *(*arch_name)(int);
  FN(version, dlsym(lib, "bli_info_get_version_str"));
  FN(omp, dlsym(lib, "bli_info_get_enable_openmp"));
  FN(pth, dlsym(lib, "bli_info_get_enable_pthreads"));
  FN(arch_id, dlsym(lib, "bli_arch_query_id"));
  FN(arch_name, dlsym(lib, "bli_arch_string"));
  const int o = omp && omp(), p = pth && pth();
  const char *arch = arch_id && arch_name ? arch_name(arch_id()) : NULL;
  if (arch) kernel_bits(arch);
  const char *threading = o ? "OpenMP build" : p ? "pthreads build" : "serial build";
  probe.vendor = CONV1DT_BLAS_BLIS;
  probe.serial = omp && pth && !o && !p;
  snprintf(probe.text, sizeof probe.text, "BLIS %s; config %s; %s%s", version ? version() : "?",
           arch ? arch : "?", threading, how);
}

static int probe_blis(void *h) {
  if (in_blas(h, "bli_info_get_version_str")) {
    FN(probe.get_dim, in_blas(h, "bli_thread_get_num_threads"));
    FN(probe.set_dim, in_blas(h, "bli_thread_set_num_threads"));
    describe_blis(h ? h : RTLD_DEFAULT, "");
    return 1;
  }
  /* Debian's BLIS builds its libblas.so.3 from the same sources as the libblis.so.4 beside it
   * and exports only the BLAS there: BLIS's queries are asked of that library, loaded on its
   * own, and only when it exports them. Its thread count is read the way the hidden copy reads
   * it (BLIS_NUM_THREADS, else OMP_NUM_THREADS, when BLIS first runs); it cannot be set. */
  if (!probe.file[0]) return 0;
  char sibling[sizeof probe.file + 16];
  const char *slash = strrchr(probe.file, '/');
  if (!slash || strncmp(slash + 1, "libblas.so", 10)) return 0;
  snprintf(sibling, sizeof sibling, "%.*s/libblis.so.4", (int)(slash - probe.file), probe.file);
  void *lib = access(sibling, R_OK) == 0 ? dlopen(sibling, RTLD_LAZY | RTLD_LOCAL) : NULL;
  if (!lib || !dlsym(lib, "bli_info_get_version_str") || !in_blas(h, "cblas_sgemm") ||
      !dlsym(lib, "bli_gemm")) {
    if (lib) dlclose(lib);
    return 0;
  }
  FN(probe.get_dim, dlsym(lib, "bli_thread_get_num_threads"));
  describe_blis(lib, " (the version and threads asked of libblis.so.4 beside it: this file "
                     "hides BLIS's own calls; set its threads with BLIS_NUM_THREADS)");
  return 1; /* lib stays loaded: get_dim points into it */
}

static int mkl_layer(struct dl_phdr_info *info, size_t size, void *out) {
  (void)size;
  static const char *const layers[] = {"intel_thread", "gnu_thread", "tbb_thread", "sequential"};
  for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
    char name[32];
    snprintf(name, sizeof name, "libmkl_%s.so", layers[i]);
    if (info->dlpi_name && strstr(info->dlpi_name, name)) {
      *(const char **)out = layers[i];
      return 1;
    }
  }
  return 0;
}

static int probe_mkl(void *h) {
  mkl_version_fn version;
  FN(version, in_blas(h, "MKL_Get_Version_String"));
  if (!version) return 0;
  FN(probe.get_int, in_blas(h, "MKL_Get_Max_Threads"));
  FN(probe.set_int, in_blas(h, "MKL_Set_Num_Threads"));
  char v[256] = "";
  version(v, (int)sizeof v);
  /* mkl_rt loads its threading layer on first use: after the thread query, the loaded
   * libmkl_*_thread or libmkl_sequential names it. */
  const int threads = probe.get_int ? probe.get_int() : 0;
  const char *layer = NULL;
  dl_iterate_phdr(mkl_layer, &layer);
  probe.vendor = CONV1DT_BLAS_MKL;
  probe.serial = layer && !strcmp(layer, "sequential");
  snprintf(probe.text, sizeof probe.text, "%s; threading layer %s", v,
           layer     ? layer
           : threads ? "not loaded yet"
                     : "unknown");
  return 1;
}

static int probe_atlas(void *h) {
  if (!in_blas(h, "ATL_buildinfo") && !in_blas(h, "ATL_xerbla")) return 0;
  /* ATLAS's version query prints instead of returning it; Debian names the file after it. A
   * threaded ATLAS has its ATL_goparallel; without it, a serial build. */
  const char *v = file_version(probe.file);
  probe.vendor = CONV1DT_BLAS_ATLAS;
  probe.serial = !in_blas(h, "ATL_goparallel");
  snprintf(probe.text, sizeof probe.text, "ATLAS%s%s%s; %s", *v ? " " : "", v,
           *v ? " (from the file name)" : "", probe.serial ? "serial build" : "threaded build");
  return 1;
}

/* Netlib's reference CBLAS keeps its row-major flag in the globals RowMajorStrg and
 * CBLAS_CallFromC (cblas_globals.c), which no optimised vendor defines; both must sit in the
 * providing file itself, beside the Fortran reference BLAS it wraps (lsame_). */
static int probe_reference(void *h) {
  const char *names[] = {"RowMajorStrg", "CBLAS_CallFromC", "lsame_"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    Dl_info info;
    void *p = in_blas(h, names[i]);
    if (!p || !dladdr(p, &info) || !info.dli_fname) return 0;
    char *real = realpath(info.dli_fname, NULL);
    const int same = real && !strcmp(real, probe.file);
    free(real);
    if (!same) return 0;
  }
  const char *v = file_version(probe.file);
  probe.vendor = CONV1DT_BLAS_REFERENCE;
  probe.serial = 1;
  snprintf(probe.text, sizeof probe.text, "Netlib reference BLAS%s%s%s; serial", *v ? " " : "", v,
           *v ? " (from the file name)" : "");
  return 1;
}

static void run_probe(void) {
  Dl_info info;
  void *p = dlsym(RTLD_DEFAULT, "cblas_sgemm"), *h = NULL;
  if (p && dladdr(p, &info) && info.dli_fname && info.dli_fname[0]) {
    char *real = realpath(info.dli_fname, NULL);
    snprintf(probe.file, sizeof probe.file, "%s", real ? real : info.dli_fname);
    free(real);
    /* A handle on the file already loaded (a static link finds the program itself, which
     * dlopen by path may refuse: then the whole process is searched). */
    h = dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
  }
  if (!(probe_openblas(h) || probe_mkl(h) || probe_blis(h) || probe_atlas(h) ||
        probe_reference(h))) {
    probe.vendor = CONV1DT_BLAS_UNKNOWN;
    snprintf(probe.text, sizeof probe.text, "unknown CBLAS");
  }
  if (probe.file[0]) {
    size_t n = strlen(probe.text);
    snprintf(probe.text + n, sizeof probe.text - n, "%s%s",
             probe.vendor == CONV1DT_BLAS_UNKNOWN ? " in " : "; file ", probe.file);
  }
  /* h is kept: the functions found through it must stay loaded (they do anyway, as the
   * BLAS this library links). */
}

static const probe_t *get_probe(void) {
  pthread_once(&probe_once, run_probe);
  return &probe;
}

conv1dt__blas_vendor conv1dt__blas_vendor_id(void) {
  return get_probe()->vendor;
}

int conv1dt__blas_vector_bits(void) {
  return get_probe()->bits;
}

int conv1dt__blas_serial(void) {
  return get_probe()->serial;
}

int conv1dt__blas_threads(void) {
  const probe_t *pr = get_probe();
  if (pr->serial) return 1;
  if (pr->get_int) return pr->get_int();
  if (pr->get_dim) {
    const int64_t n = pr->get_dim(); /* BLIS: below 1 when nothing was set, and then runs one */
    return n < 1 ? 1 : n > CONV1DT_MAX_THREADS ? CONV1DT_MAX_THREADS : (int)n;
  }
  return 0;
}

int conv1dt__blas_set_threads(int n) {
  const probe_t *pr = get_probe();
  if (pr->serial) return 1;
  if (pr->set_int) {
    pr->set_int(n);
    return 1;
  }
  if (pr->set_dim) {
    pr->set_dim(n);
    return 1;
  }
  return 0;
}

conv1dt_status conv1dt_blas_info(char *buffer, size_t size, int *threads) {
  CONV1DT_REQUIRE_PTR(buffer, "conv1dt_blas_info");
  const probe_t *pr = get_probe();
  const int nthreads = conv1dt__blas_threads();
  const size_t len = strlen(pr->text);
  if (len + 1 > size)
    return conv1dt__fail(CONV1DT_ERROR_BUFFER_TOO_SMALL,
                         "conv1dt_blas_info: buffer of %zu bytes is too small, need %zu", size,
                         len + 1);
  memcpy(buffer, pr->text, len + 1);
  if (threads) *threads = nthreads;
  return CONV1DT_OK;
}
