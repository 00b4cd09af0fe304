/* The machine's arithmetic peak, measured with a loop of independent multiply-adds that never
 * leaves the registers: the roofline's ceiling when the BLAS's own GEMM is far below it (a BLAS
 * that runs SSE kernels on an AVX-512 CPU). Compiled for AVX-512, AVX2+FMA and the baseline,
 * picked at run time like the library's kernels. */
#include "bench.h"

#include <pthread.h>

/* 12 chains: enough to cover the multiply-add latency (4-5 cycles) on two units, few enough to
 * stay in 16 registers with the two operands. */
#define CHAINS 12
#define ITERS 20000000L /* about 50 ms a round with AVX-512 */

#define PEAK_BODY(R, BYTES)                                                                        \
  typedef R V __attribute__((vector_size(BYTES)));                                                 \
  V acc[CHAINS];                                                                                   \
  for (int i = 0; i < CHAINS; i++) acc[i] = (V){0} + (R)(i + 1);                                   \
  const V a = (V){0} + (R)0.999999, b = (V){0} + (R)1e-7;                                          \
  for (long it = 0; it < ITERS; it++)                                                              \
    for (int i = 0; i < CHAINS; i++) acc[i] = acc[i] * a + b;                                      \
  R sum = 0;                                                                                       \
  for (int i = 0; i < CHAINS; i++)                                                                 \
    for (int l = 0; l < (int)(BYTES / sizeof(R)); l++) sum += acc[i][l];                           \
  *lanes = (int)(BYTES / sizeof(R));                                                               \
  return (double)sum;

#define PEAK_FN(NAME, TARGET, BYTES)                                                               \
  TARGET static double NAME(int f64, int *lanes) {                                                 \
    if (f64) {                                                                                     \
      PEAK_BODY(double, BYTES)                                                                     \
    } else {                                                                                       \
      PEAK_BODY(float, BYTES)                                                                      \
    }                                                                                              \
  }

#if defined(__x86_64__) && defined(__GNUC__)
PEAK_FN(peak_512, __attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma"))), 64)
PEAK_FN(peak_256, __attribute__((target("avx2,fma"))), 32)
#endif
PEAK_FN(peak_128, , 16)

typedef struct {
  int f64, lanes;
  const char *isa;
  double sink;
} peak_job;

static void *peak_thread(void *arg) {
  peak_job *j = arg;
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl"))
    j->sink = peak_512(j->f64, &j->lanes), j->isa = "AVX-512";
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    j->sink = peak_256(j->f64, &j->lanes), j->isa = "AVX2+FMA";
  else
#endif
    j->sink = peak_128(j->f64, &j->lanes), j->isa = "SSE2";
  return NULL;
}

double bench_fma_peak(int f64, int threads, const char **isa) {
  enum { MAXT = 256 };
  if (threads < 1) threads = 1;
  if (threads > MAXT) threads = MAXT;
  pthread_t tid[MAXT];
  peak_job jobs[MAXT];
  double best = 0;
  for (int round = 0; round < 5; round++) { /* best of 5: the first warms the clocks up */
    int started = 0;
    const double t0 = bench_now();
    for (int t = 0; t < threads; t++) {
      jobs[t] = (peak_job){f64, 0, NULL, 0};
      if (pthread_create(&tid[t], NULL, peak_thread, &jobs[t]) == 0)
        started++;
      else
        break;
    }
    for (int t = 0; t < started; t++) pthread_join(tid[t], NULL);
    const double dt = bench_now() - t0;
    const double flops = 2.0 * started * (double)ITERS * CHAINS * jobs[0].lanes;
    if (started && dt > 0 && flops / dt / 1e9 > best) best = flops / dt / 1e9;
  }
  if (isa) *isa = jobs[0].isa ? jobs[0].isa : "SSE2";
  return best;
}
