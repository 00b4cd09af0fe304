/* The only file that includes cblas.h: the typed GEMM wrappers (blas_vendor.c tells which BLAS
 * runs them). */
#include "internal.h"

#include <cblas.h>

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
