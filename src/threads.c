/* How many threads conv1dt's own team and the BLAS run: conv1dt_set_num_threads sets both. */
#include "internal.h"

#include <stdatomic.h>
#include <unistd.h>

/* The count set by conv1dt_set_num_threads, 0 until then. Process-wide on purpose: it is the
 * partner of the BLAS's own thread count, which every vendor keeps process-wide, so that the
 * BLAS's threads and the team never add up to more than the user asked for. Atomic, so any
 * thread may set it while others run forward calls (a call reads it once, when it plans). */
static atomic_int wanted;

int conv1dt__default_threads(void) {
  int n = atomic_load_explicit(&wanted, memory_order_relaxed);
  /* A threaded BLAS's count, which its users already set (OPENBLAS_NUM_THREADS,
   * openblas_set_num_threads, ...) for the machine; a serial BLAS or one that does not say
   * leaves the team the online CPUs, since it runs no threads beside the team's. */
  if (n <= 0 && !conv1dt__blas_serial()) n = conv1dt__blas_threads();
  if (n <= 0) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    n = cpus > 0 ? (int)cpus : 1;
  }
  return n > CONV1DT_MAX_THREADS ? CONV1DT_MAX_THREADS : n;
}

conv1dt_status conv1dt_set_num_threads(int threads) {
  if (threads < 1 || threads > CONV1DT_MAX_THREADS)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "conv1dt_set_num_threads: threads must be in [1, %d], got %d",
                         CONV1DT_MAX_THREADS, threads);
  atomic_store_explicit(&wanted, threads, memory_order_relaxed);
  if (!conv1dt__blas_set_threads(threads))
    return conv1dt__fail(CONV1DT_ERROR_UNSUPPORTED,
                         "conv1dt_set_num_threads: conv1dt's team now runs %d threads, but the "
                         "BLAS offers no call to set its own (conv1dt_blas_info says how to)",
                         threads);
  return CONV1DT_OK;
}

conv1dt_status conv1dt_get_num_threads(int *threads) {
  CONV1DT_REQUIRE_PTR(threads, "conv1dt_get_num_threads");
  *threads = conv1dt__default_threads();
  return CONV1DT_OK;
}
