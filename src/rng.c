/* Philox-4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11):
 * a counter-based generator, so element i of any random tensor is a pure function of
 * (seed, i) — the same on every platform, thread count and block order. Random tensors use the
 * counter (i_lo, i_hi, stream, attempt): stream 0 = kernel, 1 = bias; attempt = redraw number of
 * a truncated normal. */
#include "internal.h"

#include <math.h>

/* No fused multiply-add: every platform must round the same operations the same way. */
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif

static void mulhilo(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo) {
  uint64_t p = (uint64_t)a * b;
  *hi = (uint32_t)(p >> 32);
  *lo = (uint32_t)p;
}

void conv1dt__philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
  uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
  uint32_t k0 = key[0], k1 = key[1];
  for (int round = 0; round < 10; round++) {
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(0xD2511F53u, c0, &hi0, &lo0);
    mulhilo(0xCD9E8D57u, c2, &hi1, &lo1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
}

/* 27 + 26 bits of two words: every double in [0, 1) on the 2^-53 grid, equally likely. */
static double u53(uint32_t hi, uint32_t lo) {
  return ((double)(hi >> 5) * 67108864.0 + (double)(lo >> 6)) * (1.0 / 9007199254740992.0);
}

static void block(uint64_t seed, uint64_t index, uint32_t stream, uint32_t attempt, uint32_t r[4]) {
  const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
  const uint32_t ctr[4] = {(uint32_t)index, (uint32_t)(index >> 32), stream, attempt};
  conv1dt__philox4x32(ctr, key, r);
}

double conv1dt__uniform_at(uint64_t seed, uint64_t index, uint32_t stream, uint32_t attempt) {
  uint32_t r[4];
  block(seed, index, stream, attempt, r);
  return u53(r[0], r[1]);
}

double conv1dt__uniform(uint64_t seed, uint64_t index) {
  return conv1dt__uniform_at(seed, index, 0, 0);
}

/* ---- log and cos from basic IEEE operations -------------------------------------------
 * libm's log and cos may differ in the last bit between C libraries; these use +, -, *, / and
 * frexp only (exact, correctly rounded operations), so the normals are the same bits on every
 * machine. Accuracy: a few ulp, far below anything a statistical test can see. */

/* log(x) for x > 0 finite: x = m 2^e with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(s),
 * s = (m - 1) / (m + 1), |s| <= 0.1716, series to s^27 (next term < 1e-23 relative). */
static double det_log(double x) {
  int e;
  double m = frexp(x, &e); /* [0.5, 1) */
  if (m < 0.70710678118654752440) {
    m *= 2.0;
    e -= 1;
  }
  const double s = (m - 1.0) / (m + 1.0), s2 = s * s;
  double p = 1.0 / 27.0;
  for (int k = 25; k >= 1; k -= 2) p = 1.0 / (double)k + s2 * p;
  /* ln 2 split so that e * LN2_HI is exact for |e| < 2^11. */
  static const double LN2_HI = 6.93147180369123816490e-01, LN2_LO = 1.90821492927058770002e-10;
  return (double)e * LN2_HI + ((double)e * LN2_LO + 2.0 * s * p);
}

/* cos(2 pi t) for t in [0, 1): t = q/4 + r with q = round(4t) and |r| <= 1/8 (exact), then
 * cos or sin of x = 2 pi r, |x| <= pi/4, by Taylor series to x^18 / x^19 (error < 1e-19). */
static double det_cos_turns(double t) {
  static const double TWO_PI = 6.283185307179586476925286766559;
  const double q = floor(4.0 * t + 0.5);
  const double x = TWO_PI * (t - 0.25 * q), x2 = x * x;
  double c = 1.0, sn = 1.0;
  for (int k = 18; k >= 2; k -= 2) c = 1.0 - x2 / (double)(k * (k - 1)) * c;
  for (int k = 19; k >= 3; k -= 2) sn = 1.0 - x2 / (double)(k * (k - 1)) * sn;
  sn *= x;
  switch ((int)q & 3) {
  case 0:
    return c;
  case 1:
    return -sn;
  case 2:
    return -c;
  default:
    return sn;
  }
}

/* Box-Muller (cosine branch) on the block's two uniforms u1 = u53(r0, r1), u2 = u53(r2, r3):
 * z = sqrt(-2 log(1 - u1)) cos(2 pi u2). 1 - u1 lies in (0, 1], so the logarithm is finite and
 * |z| <= sqrt(106 log 2) ~ 8.57. One normal per block keeps element i a function of counter i
 * alone (the sine branch is not used). */
double conv1dt__normal_at(uint64_t seed, uint64_t index, uint32_t stream, uint32_t attempt) {
  uint32_t r[4];
  block(seed, index, stream, attempt, r);
  const double u1 = u53(r[0], r[1]), u2 = u53(r[2], r[3]);
  return sqrt(-2.0 * det_log(1.0 - u1)) * det_cos_turns(u2);
}
