/* The Q factor of a QR decomposition by Householder reflections, for Keras's Orthogonal
 * initializer (which calls ops.qr on a normal (max, min) matrix and multiplies Q by
 * sign(diag(R))).
 *
 * For A (m x n, m >= n) step k = 0 .. n-1 takes the column x = A[k:m, k] below the diagonal and
 * the reflection H_k = I - beta v v^T with
 *     alpha = -sign(x_0) ||x||   (sign(0) taken as +1: the choice that avoids cancellation),
 *     v = x - alpha e_1,  beta = 2 / (v^T v) = 1 / (alpha (alpha - x_0)),
 * which maps x to alpha e_1, so R[k][k] = alpha. H_k is applied to the trailing columns
 * A[k:m, k+1:n]; v overwrites x in A (later steps touch columns > k only), R[k][k] = alpha is
 * kept apart. (A zero x gives H_k = I and R[k][k] = 0.)
 * Then A = H_0 H_1 ... H_{n-1} R, and the thin Q = H_0 ... H_{n-1} [I_n; 0] is formed backwards,
 * k = n-1 .. 0, each H_k touching rows k.. and columns k.. only (columns < k are still e_j there).
 *
 * Q is unique up to the signs of its columns when A has full rank; multiplying column j by
 * sign(R[j][j]) picks the factorization with a positive diagonal of R, the same one LAPACK's
 * (and so Keras's) QR leads to after Keras's sign fix — so the result does not depend on the
 * reflection convention. sign(0) = 0 as numpy's sign: a rank-deficient column comes out zero,
 * as in Keras (probability 0 for a normal matrix).
 *
 * Cost: about 4 m n^2 flops, all in double, rows traversed contiguously (A is row-major). Only
 * +, -, *, / and sqrt are used, so Q is the same bits on every machine. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>

#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

conv1dt_status conv1dt__orthogonal_q(double *a, int64_t m, int64_t n, double *q) {
  if (n == 0 || m == 0) return CONV1DT_OK;
  /* beta_k and alpha_k = R[k][k]; v_k lives in A[k:m, k]. */
  double *beta = malloc((size_t)n * sizeof *beta);
  double *alpha = malloc((size_t)n * sizeof *alpha);
  double *w = malloc((size_t)n * sizeof *w);
  if (!beta || !alpha || !w) {
    free(beta);
    free(alpha);
    free(w);
    return conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY,
                         "orthogonal initializer: out of memory for a %lld x %lld QR", (long long)m,
                         (long long)n);
  }
#define A(i, j) a[(size_t)(i) * (size_t)n + (size_t)(j)]
#define Q(i, j) q[(size_t)(i) * (size_t)n + (size_t)(j)]
  for (int64_t k = 0; k < n; k++) {
    /* ||x|| scaled by its largest entry, so that squares neither overflow nor underflow. */
    double amax = 0.0;
    for (int64_t i = k; i < m; i++) amax = fmax(amax, fabs(A(i, k)));
    if (amax == 0.0) {
      alpha[k] = 0.0;
      beta[k] = 0.0;
      continue;
    }
    double ss = 0.0;
    for (int64_t i = k; i < m; i++) {
      const double t = A(i, k) / amax;
      ss += t * t;
    }
    const double norm = amax * sqrt(ss), x0 = A(k, k);
    const double al = x0 < 0.0 ? norm : -norm;
    alpha[k] = al;
    A(k, k) = x0 - al; /* v = x - al e_1; |x0 - al| = |x0| + norm: no cancellation */
    /* v^T v = (x0 - al)^2 + (norm^2 - x0^2) = -2 al (x0 - al), so beta = 2 / v^T v: */
    beta[k] = -1.0 / (al * A(k, k));
    /* Trailing columns: A[k:m, j] -= beta v (v^T A[k:m, j]) for j > k. */
    for (int64_t j = k + 1; j < n; j++) w[j] = 0.0;
    for (int64_t i = k; i < m; i++) {
      const double vi = A(i, k);
      for (int64_t j = k + 1; j < n; j++) w[j] += vi * A(i, j);
    }
    for (int64_t i = k; i < m; i++) {
      const double bvi = beta[k] * A(i, k);
      for (int64_t j = k + 1; j < n; j++) A(i, j) -= bvi * w[j];
    }
  }
  /* Q = H_0 ... H_{n-1} [I_n; 0], applied right to left. */
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) Q(i, j) = i == j ? 1.0 : 0.0;
  for (int64_t k = n - 1; k >= 0; k--) {
    if (beta[k] == 0.0) continue;
    for (int64_t j = k; j < n; j++) w[j] = 0.0;
    for (int64_t i = k; i < m; i++) {
      const double vi = A(i, k);
      for (int64_t j = k; j < n; j++) w[j] += vi * Q(i, j);
    }
    for (int64_t i = k; i < m; i++) {
      const double bvi = beta[k] * A(i, k);
      for (int64_t j = k; j < n; j++) Q(i, j) -= bvi * w[j];
    }
  }
  /* Keras's q *= sign(diag(r)). */
  for (int64_t j = 0; j < n; j++) w[j] = alpha[j] > 0.0 ? 1.0 : alpha[j] < 0.0 ? -1.0 : 0.0;
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) Q(i, j) *= w[j];
#undef A
#undef Q
  free(beta);
  free(alpha);
  free(w);
  return CONV1DT_OK;
}
