/* The only file that talks to the BLAS: typed GEMM wrappers and the run-time vendor probe. */
#define _GNU_SOURCE /* RTLD_DEFAULT */
#include "internal.h"

#include <cblas.h>
#include <ctype.h>
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum CBLAS_TRANSPOSE op(int trans) {
  return trans ? CblasTrans : CblasNoTrans;
}

void conv1dt__gemm_f32(int trans_a, int trans_b, int M, int N, int K, const float *A, int lda,
                       const float *B, int ldb, float beta, float *C, int ldc) {
  cblas_sgemm(CblasRowMajor, op(trans_a), op(trans_b), M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
}

void conv1dt__gemm_f64(int trans_a, int trans_b, int M, int N, int K, const double *A, int lda,
                       const double *B, int ldb, double beta, double *C, int ldc) {
  cblas_dgemm(CblasRowMajor, op(trans_a), op(trans_b), M, N, K, 1.0, A, lda, B, ldb, beta, C, ldc);
}

/* Vendors announce themselves through their own symbols; look them up in whatever BLAS the
 * process actually loaded (which update-alternatives or LD_LIBRARY_PATH may have swapped). */
typedef char *(*str_fn)(void);
typedef int (*int_fn)(void);
typedef void (*mkl_version_fn)(char *, int);

static void *sym(const char *name) {
  return dlsym(RTLD_DEFAULT, name);
}
/* ISO C cannot cast a data pointer to a function pointer; POSIX guarantees the bytes match. */
#define LOOKUP(type, var, name)                                                                    \
  type var;                                                                                        \
  do {                                                                                             \
    void *p_ = sym(name);                                                                          \
    memcpy(&var, &p_, sizeof var);                                                                 \
  } while (0)

/* The vendor's thread-count query, looked up once per process: every forward call asks for
 * it, and a dlsym that misses (two of the three, for any vendor) costs a measurable share of a
 * small call.
 * Written once under pthread_once and only read after, like the ifunc resolvers' choice; the
 * BLAS that provides cblas_sgemm is loaded before this library, so the answer cannot change. */
static int_fn threads_query;
static pthread_once_t threads_once = PTHREAD_ONCE_INIT;
static void find_threads_query(void) {
  static const char *const names[] = {"openblas_get_num_threads", "bli_thread_get_num_threads",
                                      "MKL_Get_Max_Threads"};
  for (size_t i = 0; i < sizeof names / sizeof names[0] && !threads_query; i++) {
    void *p = sym(names[i]);
    memcpy(&threads_query, &p, sizeof threads_query);
  }
}

int conv1dt__blas_threads(void) {
  pthread_once(&threads_once, find_threads_query);
  return threads_query ? threads_query() : 0;
}

/* The width of the vectors the BLAS's GEMM kernels use, where the BLAS says which kernels it
 * runs (OpenBLAS names its core: a DYNAMIC_ARCH build picks it from the CPU model it knows,
 * and 0.3.21 knows no CPU newer than it, so on one it runs its SSE3 "Prescott" kernels on an
 * AVX-512 machine); 0 where it does not say. Found once per process, like threads_query. */
static int blas_bits;
static pthread_once_t bits_once = PTHREAD_ONCE_INIT;
static void find_blas_bits(void) {
  static const char *const wide[] = {"skylakex", "cooperlake", "sapphirerapids"};
  static const char *const avx[] = {"haswell",    "zen",         "sandybridge", "bulldozer",
                                    "piledriver", "steamroller", "excavator"};
  LOOKUP(str_fn, openblas_core, "openblas_get_corename");
  const char *core = openblas_core ? openblas_core() : NULL;
  if (!core) return;
  char name[32];
  size_t n = 0;
  for (; core[n] && n + 1 < sizeof name; n++) name[n] = (char)tolower((unsigned char)core[n]);
  name[n] = 0;
  blas_bits = 128;
  for (size_t i = 0; i < sizeof wide / sizeof wide[0]; i++)
    if (!strcmp(name, wide[i])) blas_bits = 512;
  for (size_t i = 0; i < sizeof avx / sizeof avx[0]; i++)
    if (!strcmp(name, avx[i])) blas_bits = 256;
}

int conv1dt__blas_vector_bits(void) {
  pthread_once(&bits_once, find_blas_bits);
  return blas_bits;
}

conv1dt_status conv1dt_blas_info(char *buffer, size_t size, int *threads) {
  CONV1DT_REQUIRE_PTR(buffer, "conv1dt_blas_info");
  char text[256] = "unknown CBLAS";
  const int nthreads = conv1dt__blas_threads();
  LOOKUP(str_fn, openblas_config, "openblas_get_config");
  LOOKUP(str_fn, openblas_core, "openblas_get_corename");
  LOOKUP(str_fn, blis_version, "bli_info_get_version_str");
  LOOKUP(mkl_version_fn, mkl_version, "MKL_Get_Version_String");
  if (openblas_config) {
    const char *config = openblas_config(); /* "OpenBLAS 0.3.21 DYNAMIC_ARCH ..." */
    snprintf(text, sizeof text, "%s%s; core %s", strncmp(config, "OpenBLAS", 8) ? "OpenBLAS " : "",
             config, openblas_core ? openblas_core() : "?");
  } else if (blis_version) {
    snprintf(text, sizeof text, "BLIS %s", blis_version());
  } else if (mkl_version) {
    char v[200];
    mkl_version(v, (int)sizeof v);
    snprintf(text, sizeof text, "%s", v);
  } else {
    /* No vendor query (Netlib's reference BLAS, ATLAS, or a vendor's libblas.so.3 that hides
     * its own symbols, as Debian's BLIS does): name the file that provides cblas_sgemm, with
     * symlinks resolved, which is update-alternatives' or LD_LIBRARY_PATH's choice. */
    char where[200] = "";
    Dl_info info;
    void *p = sym("cblas_sgemm");
    if (p && dladdr(p, &info) && info.dli_fname) {
      char *real = realpath(info.dli_fname, NULL);
      snprintf(where, sizeof where, " in %s", real ? real : info.dli_fname);
      free(real);
    }
    snprintf(text, sizeof text, "%s%s",
             sym("ATL_xerbla") || sym("ATL_buildinfo") ? "ATLAS" : "CBLAS of unknown vendor",
             where);
  }
  size_t len = strlen(text);
  if (len + 1 > size)
    return conv1dt__fail(CONV1DT_ERROR_BUFFER_TOO_SMALL,
                         "conv1dt_blas_info: buffer of %zu bytes is too small, need %zu", size,
                         len + 1);
  memcpy(buffer, text, len + 1);
  if (threads) *threads = nthreads;
  return CONV1DT_OK;
}
