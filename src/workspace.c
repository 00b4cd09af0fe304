/* Scratch memory laid out the way the GEMM methods use it best. Their windows, planes and
 * column tiles are row-major with rows of s*F or K*F elements, often 4 KiB and more: with 4 KiB
 * pages every row is a page of its own, and a GEMM's register tile touches as many pages as it
 * has rows. Scratch of 2 MiB and more is therefore aligned to 2 MiB and offered to the kernel
 * for transparent huge pages (madvise MADV_HUGEPAGE, where the system has it; the THP mode
 * "madvise", a common default and this project's machine's, gives them only on request). Case G
 * float64 channels_last measured faster with its workspace on huge pages than on 4 KiB pages,
 * in rounds that alternated which went first, by more than a control (both on 4 KiB pages)
 * showed. */
#define _DEFAULT_SOURCE /* MADV_HUGEPAGE */
#include "internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define HUGE_BYTES ((size_t)2 << 20)
#define SMALL_ALIGN ((size_t)64)

void *conv1dt__workspace_alloc(size_t bytes) {
  const size_t align = bytes >= HUGE_BYTES ? HUGE_BYTES : SMALL_ALIGN;
  if (bytes == 0) bytes = 1;
  if (bytes > SIZE_MAX - align) return NULL;
  const size_t size = (bytes + align - 1) / align * align; /* aligned_alloc's rule */
  void *p = aligned_alloc(align, size);
#ifdef MADV_HUGEPAGE
  if (p && align == HUGE_BYTES) (void)madvise(p, size, MADV_HUGEPAGE); /* advice: may fail */
#endif
  return p;
}

conv1dt_status conv1dt_workspace_alloc(size_t bytes, void **workspace) {
  if (!workspace)
    return conv1dt__fail(CONV1DT_ERROR_NULL_ARGUMENT,
                         "conv1dt_workspace_alloc: argument `workspace` is NULL");
  *workspace = conv1dt__workspace_alloc(bytes);
  if (!*workspace)
    return conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY,
                         "conv1dt_workspace_alloc: out of memory for %zu bytes", bytes);
  return CONV1DT_OK;
}

conv1dt_status conv1dt_workspace_free(void *workspace) {
  free(workspace);
  return CONV1DT_OK;
}
