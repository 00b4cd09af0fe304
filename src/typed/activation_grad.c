/* Derivatives of Keras 3's activations, as JAX's autodiff gives them for Keras's formulas
 * (keras/src/backend/jax/nn.py and jax.nn): dz = act'(z) * dy for the element-wise ones, the
 * Jacobian-vector product along the last axis for softmax, log_softmax, sparsemax and glu.
 *
 * Breakpoints follow the branch JAX differentiates: jnp.where and custom JVPs take the branch
 * their condition selects (relu'(0) = 0, leaky_relu'(0) = 1, relu6' and hard_sigmoid' are 0 at
 * their corners, hard_tanh' is 1 on the closed [-1, 1], soft/hard_shrink' are 0 at +-0.5,
 * selu'(0) = scale*alpha); jnp.clip splits a tie in halves (sparse_sigmoid'(+-1) = 1/4). Where
 * a branch is not taken its gradient is exactly 0, as jnp.where's is. */
#include "typed.h"

static const R SELU_ALPHA = RC(1.6732632423543772848170429916717);
static const R SELU_SCALE = RC(1.0507009873554804934193349852946);
static const R INV_SQRT2 = RC(0.70710678118654752440084436210485);
static const R INV_SQRT_2PI = RC(0.39894228040143267793994605993438);

#define sigmoid X(conv1dt__sigmoid)

/* sigmoid'(v) = sigmoid(v) * sigmoid(-v) = e / (1 + e)^2 with e = exp(-|v|): accurate on both
 * tails (no 1 - sigmoid cancellation). */
static inline R sigmoid_grad(R v) {
  const R e = exp(-fabs(v)), d = RC(1.0) + e;
  return e / (d * d);
}

/* log(1 + e^v), as the forward computes it. */
static inline R softplus(R v) {
  return (v > 0 ? v : RC(0.0)) + log1p(exp(-fabs(v)));
}

/* relu6(v + 3) / 6 and its derivative: jax.nn.relu6's custom JVP is 1 only strictly inside
 * (0, 6), evaluated at the rounded v + 3 as JAX does. */
static inline R hard_sigmoid(R v) {
  const R u = v + RC(3.0);
  return (u < 0 ? RC(0.0) : (u > 6 ? RC(6.0) : u)) / RC(6.0);
}
static inline R hard_sigmoid_grad(R v) {
  const R u = v + RC(3.0);
  return u > 0 && u < 6 ? RC(1.0) / RC(6.0) : RC(0.0);
}

/* 0.5 * clip(v + 1, 0, 2): jnp.clip is maximum then minimum, whose JVPs give 1/2 at a tie. */
static inline R sparse_sigmoid_grad(R v) {
  const R u = v + RC(1.0);
  if (u > 0 && u < 2) return RC(0.5);
  return u == 0 || u == 2 ? RC(0.25) : RC(0.0);
}

/* (1 + v / sqrt(v^2 + 4)) / 2 without overflow (hypot) or cancellation for v < 0, where
 * 1 + v/h = 4 / (h (h - v)). */
static inline R squareplus_grad(R v) {
  const R h = hypot(v, RC(2.0));
  return v >= 0 ? (RC(1.0) + v / h) / RC(2.0) : RC(2.0) / (h * (h - v));
}

/* mish = v tanh(softplus(v)): tanh(sp) + v (1 - tanh^2(sp)) sigmoid(v). */
static inline R mish_grad(R v) {
  const R t = tanh(softplus(v));
  return t + v * (RC(1.0) - t * t) * sigmoid(v);
}

/* gelu (exact) = v Phi(v): Phi(v) + v phi(v), Phi through erfc so the left tail keeps its
 * relative accuracy. */
static inline R gelu_grad(R v) {
  return RC(0.5) * erfc(-v * INV_SQRT2) + v * INV_SQRT_2PI * exp(RC(-0.5) * v * v);
}

/* dz[i] = (expr) with v = z[i] and g = dy[i]. */
#define MAP(expr)                                                                                  \
  for (int64_t i = 0; i < n; i++) {                                                                \
    const R v = z[i], g = dy[i];                                                                   \
    dz[i] = (expr);                                                                                \
  }                                                                                                \
  break

void X(conv1dt__act_grad)(conv1dt_act act, R *dz, const R *z, const R *dy, int64_t n) {
  if (act == CONV1DT_ACT_LINEAR) { /* z may be NULL */
    for (int64_t i = 0; i < n; i++) dz[i] = dy[i];
    return;
  }
  switch (act) {
  case CONV1DT_ACT_RELU: /* custom JVP: select(x > 0, g, 0) */
    MAP(v > 0 ? g : RC(0.0));
  case CONV1DT_ACT_LEAKY_RELU: /* where(x >= 0, x, 0.2 x) */
    MAP(v >= 0 ? g : RC(0.2) * g);
  case CONV1DT_ACT_RELU6: /* custom JVP: select(0 < x < 6, g, 0) */
    MAP(v > 0 && v < 6 ? g : RC(0.0));
  case CONV1DT_ACT_ELU: /* where(x > 0, x, expm1(x)) */
    MAP(v > 0 ? g : g * exp(v));
  case CONV1DT_ACT_CELU: /* max(x, 0) + expm1(min(x, 0)): 1/2 + 1/2 at the tie x = 0 */
    MAP(v > 0 ? g : (v < 0 ? g * exp(v) : g));
  case CONV1DT_ACT_SELU: /* scale * where(x > 0, x, alpha expm1(x)) */
    MAP(v > 0 ? SELU_SCALE * g : SELU_SCALE * SELU_ALPHA * exp(v) * g);
  case CONV1DT_ACT_SOFTPLUS: /* logaddexp(x, 0) */
    MAP(sigmoid(v) * g);
  case CONV1DT_ACT_SOFTSIGN: /* x / (|x| + 1); d|x| = sign(x), 0 at 0 */
    MAP(g / ((RC(1.0) + fabs(v)) * (RC(1.0) + fabs(v))));
  case CONV1DT_ACT_SQUAREPLUS:
    MAP(squareplus_grad(v) * g);
  case CONV1DT_ACT_SOFT_SHRINK: /* where(x > .5, x - .5, where(x < -.5, x + .5, 0)) */
  case CONV1DT_ACT_HARD_SHRINK: /* where(|x| > .5, x, 0) */
    MAP(v > RC(0.5) || v < RC(-0.5) ? g : RC(0.0));
  case CONV1DT_ACT_SPARSE_PLUS: /* where(x <= -1, 0, where(x >= 1, x, (x + 1)^2 / 4)) */
    MAP(v <= -1 ? RC(0.0) : (v >= 1 ? g : (v + RC(1.0)) / RC(2.0) * g));
  case CONV1DT_ACT_SIGMOID:
    MAP(sigmoid_grad(v) * g);
  case CONV1DT_ACT_SPARSE_SIGMOID:
    MAP(sparse_sigmoid_grad(v) * g);
  case CONV1DT_ACT_HARD_SIGMOID:
    MAP(hard_sigmoid_grad(v) * g);
  case CONV1DT_ACT_SILU: /* x sigmoid(x) */
    MAP((sigmoid(v) + v * sigmoid_grad(v)) * g);
  case CONV1DT_ACT_HARD_SILU: /* x hard_sigmoid(x) */
    MAP((hard_sigmoid(v) + v * hard_sigmoid_grad(v)) * g);
  case CONV1DT_ACT_GELU:
    MAP(gelu_grad(v) * g);
  case CONV1DT_ACT_TANH:
    MAP((RC(1.0) - tanh(v) * tanh(v)) * g);
  case CONV1DT_ACT_TANH_SHRINK: /* x - tanh(x) */
    MAP(tanh(v) * tanh(v) * g);
  case CONV1DT_ACT_HARD_TANH: /* where(x > 1, 1, where(x < -1, -1, x)) */
    MAP(v > 1 || v < -1 ? RC(0.0) : g);
  case CONV1DT_ACT_EXPONENTIAL:
    MAP(exp(v) * g);
  case CONV1DT_ACT_MISH:
    MAP(mish_grad(v) * g);
  case CONV1DT_ACT_LOG_SIGMOID: /* -softplus(-x) */
    MAP(sigmoid(-v) * g);
  default: /* axis-wise ones never come here */
    for (int64_t i = 0; i < n; i++) dz[i] = dy[i];
  }
}

/* ---- axis-wise: one row of n pre-activations along the output's last axis ----------------- */

/* The forward's row_max and sparsemax_tau (activation.c): the same sums in the same order, so
 * the support {z > tau} is exactly the forward's {y > 0}. */
void X(conv1dt__act_grad_stats)(conv1dt_act act, const R *z, const R *dy, int64_t n, R st[3]) {
  st[0] = st[1] = st[2] = 0;
  if (n <= 0) return;
  switch (act) {
  case CONV1DT_ACT_SOFTMAX: { /* max, sum of exp, sum dy * y */
    const R m = X(conv1dt__row_max)(z, n);
    R sum = 0, dot = 0;
    for (int64_t i = 0; i < n; i++) sum += exp(z[i] - m);
    for (int64_t i = 0; i < n; i++) dot += dy[i] * (exp(z[i] - m) / sum);
    st[0] = m;
    st[1] = sum;
    st[2] = dot;
    break;
  }
  case CONV1DT_ACT_LOG_SOFTMAX: { /* max, sum of exp, sum dy */
    const R m = X(conv1dt__row_max)(z, n);
    R sum = 0, sdy = 0;
    for (int64_t i = 0; i < n; i++) sum += exp(z[i] - m);
    for (int64_t i = 0; i < n; i++) sdy += dy[i];
    st[0] = m;
    st[1] = sum;
    st[2] = sdy;
    break;
  }
  case CONV1DT_ACT_SPARSEMAX: { /* tau, mean of dy over the support */
    const R tau = X(conv1dt__sparsemax_tau)(z, n);
    R sdy = 0;
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++)
      if (z[i] > tau) {
        sdy += dy[i];
        c++;
      }
    st[0] = tau;
    st[1] = c ? sdy / (R)c : RC(0.0);
    break;
  }
  default: /* glu needs none */
    break;
  }
}

void X(conv1dt__act_grad_span)(conv1dt_act act, const R st[3], const R *z, const R *dy, int64_t n,
                               int64_t i0, int64_t i1, R *dz) {
  switch (act) {
  case CONV1DT_ACT_SOFTMAX: /* y (dy - sum dy y) */
    for (int64_t i = i0; i < i1; i++) dz[i - i0] = exp(z[i] - st[0]) / st[1] * (dy[i] - st[2]);
    break;
  case CONV1DT_ACT_LOG_SOFTMAX: /* dy - softmax * sum dy */
    for (int64_t i = i0; i < i1; i++) dz[i - i0] = dy[i] - exp(z[i] - st[0]) / st[1] * st[2];
    break;
  case CONV1DT_ACT_SPARSEMAX: /* on the support: dy - mean over the support; 0 elsewhere */
    for (int64_t i = i0; i < i1; i++) dz[i - i0] = z[i] > st[0] ? dy[i] - st[1] : RC(0.0);
    break;
  case CONV1DT_ACT_GLU: { /* y = a sigmoid(b): da = dy sigmoid(b), db = dy a sigmoid'(b) */
    const int64_t h = n / 2;
    for (int64_t i = i0; i < i1; i++)
      dz[i - i0] = i < h ? dy[i] * sigmoid(z[i + h]) : dy[i - h] * z[i - h] * sigmoid_grad(z[i]);
    break;
  }
  default:
    X(conv1dt__act_grad)(act, dz, z + i0, dy + i0, i1 - i0);
  }
}
