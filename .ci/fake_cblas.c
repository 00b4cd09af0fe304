/* A CBLAS no vendor's symbols name: plain loops for the two routines libconv1dt calls.
 * .ci/vendors.sh builds it as libblas.so.3 and checks that `conv1dt info` reports
 * "unknown CBLAS in FILE" for it, and that selftest passes on it. */
#include <stddef.h>

enum { ROW_MAJOR = 101, COL_MAJOR = 102, NO_TRANS = 111 };

#define GEMM(name, T)                                                                              \
  void name(int order, int ta, int tb, int M, int N, int K, T alpha, const T *A, int lda,          \
            const T *B, int ldb, T beta, T *C, int ldc) {                                          \
    for (int i = 0; i < M; i++)                                                                    \
      for (int j = 0; j < N; j++) {                                                                \
        T sum = 0;                                                                                 \
        for (int k = 0; k < K; k++) {                                                              \
          /* element (i, k) of op(A) and (k, j) of op(B), in either storage order */               \
          size_t a = ta == NO_TRANS ? (size_t)i * lda + k : (size_t)k * lda + i;                   \
          size_t b = tb == NO_TRANS ? (size_t)k * ldb + j : (size_t)j * ldb + k;                   \
          if (order == COL_MAJOR) {                                                                \
            a = ta == NO_TRANS ? (size_t)k * lda + i : (size_t)i * lda + k;                        \
            b = tb == NO_TRANS ? (size_t)j * ldb + k : (size_t)k * ldb + j;                        \
          }                                                                                        \
          sum += A[a] * B[b];                                                                      \
        }                                                                                          \
        T *c = order == COL_MAJOR ? &C[(size_t)j * ldc + i] : &C[(size_t)i * ldc + j];             \
        *c = alpha * sum + (beta == 0 ? 0 : beta * *c);                                            \
      }                                                                                            \
  }

GEMM(cblas_sgemm, float)
GEMM(cblas_dgemm, double)
