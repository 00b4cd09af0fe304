/* Keras 3 activations (keras/src/activations/activations.py with the JAX backend's formulas),
 * written so large |x| never turns a finite answer into inf or NaN. Element-wise ones map
 * src -> dst (dst may equal src); softmax, log_softmax and sparsemax act on one row in place. */
#include "typed.h"

static const R SELU_ALPHA = RC(1.6732632423543772848170429916717);
static const R SELU_SCALE = RC(1.0507009873554804934193349852946);

/* log(1 + e^v) = max(v, 0) + log1p(e^-|v|): no overflow for large v, no underflow to -inf. */
static inline R softplus(R v) {
  return (v > 0 ? v : RC(0.0)) + log1p(exp(-fabs(v)));
}

R X(conv1dt__sigmoid)(R v) {
  if (v >= 0) return RC(1.0) / (RC(1.0) + exp(-v));
  const R e = exp(v); /* v < 0 (or NaN): e in (0, 1), no overflow */
  return e / (RC(1.0) + e);
}
#define sigmoid X(conv1dt__sigmoid)

static inline R relu6(R v) {
  return v < 0 ? RC(0.0) : (v > 6 ? RC(6.0) : v);
}
static inline R hard_sigmoid(R v) {
  return relu6(v + RC(3.0)) / RC(6.0);
}

/* One loop per bias form (none, per element, one scalar) so each stays a plain vectorisable
 * loop: v is the biased pre-activation value. */
#define MAP(expr)                                                                                  \
  if (!bias) {                                                                                     \
    for (int64_t i = 0; i < n; i++) {                                                              \
      const R v = src[i];                                                                          \
      dst[i] = (expr);                                                                             \
    }                                                                                              \
  } else if (bias_per_element) {                                                                   \
    for (int64_t i = 0; i < n; i++) {                                                              \
      const R v = src[i] + bias[i];                                                                \
      dst[i] = (expr);                                                                             \
    }                                                                                              \
  } else {                                                                                         \
    const R b0 = bias[0];                                                                          \
    for (int64_t i = 0; i < n; i++) {                                                              \
      const R v = src[i] + b0;                                                                     \
      dst[i] = (expr);                                                                             \
    }                                                                                              \
  }                                                                                                \
  break

void X(conv1dt__activate)(conv1dt_act act, R *restrict dst, const R *restrict src, int64_t n,
                          const R *bias, int bias_per_element) {
  switch (act) {
  case CONV1DT_ACT_LINEAR:
    MAP(v);
  case CONV1DT_ACT_RELU:
    MAP(v < 0 ? RC(0.0) : v); /* NaN passes, as jnp.maximum */
  case CONV1DT_ACT_LEAKY_RELU:
    MAP(v >= 0 ? v : RC(0.2) * v);
  case CONV1DT_ACT_RELU6:
    MAP(relu6(v));
  case CONV1DT_ACT_ELU:
  case CONV1DT_ACT_CELU: /* alpha = 1: max(x,0) + expm1(min(x,0)) */
    MAP(v > 0 ? v : expm1(v));
  case CONV1DT_ACT_SELU:
    MAP(SELU_SCALE * (v > 0 ? v : SELU_ALPHA * expm1(v)));
  case CONV1DT_ACT_SOFTPLUS:
    MAP(softplus(v));
  case CONV1DT_ACT_SOFTSIGN:
    MAP(v / (RC(1.0) + fabs(v)));
  case CONV1DT_ACT_SQUAREPLUS:
    MAP((v + sqrt(v * v + RC(4.0))) / RC(2.0));
  case CONV1DT_ACT_SOFT_SHRINK:
    MAP(v > RC(0.5) ? v - RC(0.5) : (v < RC(-0.5) ? v + RC(0.5) : RC(0.0)));
  case CONV1DT_ACT_HARD_SHRINK:
    MAP(fabs(v) > RC(0.5) ? v : RC(0.0));
  case CONV1DT_ACT_SPARSE_PLUS:
    MAP(v <= -1 ? RC(0.0) : (v >= 1 ? v : (v + RC(1.0)) * (v + RC(1.0)) / RC(4.0)));
  case CONV1DT_ACT_SIGMOID:
    MAP(sigmoid(v));
  case CONV1DT_ACT_SPARSE_SIGMOID:
    MAP(v <= -1 ? RC(0.0) : (v >= 1 ? RC(1.0) : (v + RC(1.0)) / RC(2.0)));
  case CONV1DT_ACT_HARD_SIGMOID:
    MAP(hard_sigmoid(v));
  case CONV1DT_ACT_SILU:
    MAP(v * sigmoid(v));
  case CONV1DT_ACT_HARD_SILU:
    MAP(v * hard_sigmoid(v));
  case CONV1DT_ACT_GELU: /* exact form (approximate=False): x * (erf(x / sqrt 2) + 1) / 2 */
    MAP(v * (erf(v / RC(1.41421356237309504880)) + RC(1.0)) / RC(2.0));
  case CONV1DT_ACT_TANH:
    MAP(tanh(v));
  case CONV1DT_ACT_TANH_SHRINK:
    MAP(v - tanh(v));
  case CONV1DT_ACT_HARD_TANH:
    MAP(v > 1 ? RC(1.0) : (v < -1 ? RC(-1.0) : v));
  case CONV1DT_ACT_EXPONENTIAL:
    MAP(exp(v));
  case CONV1DT_ACT_MISH:
    MAP(v * tanh(softplus(v)));
  case CONV1DT_ACT_LOG_SIGMOID:
    MAP(-softplus(-v));
  default: /* axis-wise ones never come here */
    MAP(v);
  }
}

R X(conv1dt__row_max)(const R *row, int64_t n) {
  R m = row[0];
  for (int64_t i = 1; i < n; i++)
    if (row[i] > m) m = row[i];
  return m;
}

/* sparsemax: Euclidean projection onto the simplex, max(z - tau, 0) with sum 1 (Martins &
 * Astudillo 2016). tau by Michelot's algorithm: start from the whole row, recompute
 * tau = (sum of the kept - 1) / count and keep only z > tau until the kept set stops shrinking.
 * It yields the same support and tau as the sorted definition, without a sort or scratch. */
R X(conv1dt__sparsemax_tau)(const R *z, int64_t n) {
  R sum = 0;
  for (int64_t i = 0; i < n; i++) sum += z[i];
  int64_t count = n;
  R tau = (sum - RC(1.0)) / (R)count;
  for (;;) {
    R s = 0;
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++)
      if (z[i] > tau) {
        s += z[i];
        c++;
      }
    if (c == count || c == 0) break;
    count = c;
    tau = (s - RC(1.0)) / (R)c;
  }
  return tau;
}

static void sparsemax(R *row, int64_t n) {
  const R tau = X(conv1dt__sparsemax_tau)(row, n);
  for (int64_t i = 0; i < n; i++) {
    const R v = row[i] - tau;
    row[i] = v > 0 ? v : (v == v ? RC(0.0) : v);
  }
}

void X(conv1dt__activate_row)(conv1dt_act act, R *row, int64_t n) {
  if (n <= 0) return;
  if (act == CONV1DT_ACT_SPARSEMAX) {
    sparsemax(row, n);
    return;
  }
  const R m = X(conv1dt__row_max)(row, n);
  R sum = 0;
  for (int64_t i = 0; i < n; i++) sum += exp(row[i] - m);
  if (act == CONV1DT_ACT_SOFTMAX) {
    for (int64_t i = 0; i < n; i++) row[i] = exp(row[i] - m) / sum;
  } else { /* log_softmax */
    const R lse = log(sum);
    for (int64_t i = 0; i < n; i++) row[i] = (row[i] - m) - lse;
  }
}
