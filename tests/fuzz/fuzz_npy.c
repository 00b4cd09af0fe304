/* Fuzz target for the CLI's .npy reader (tools/npy.c), the one parser of untrusted bytes in the
 * project. libFuzzer calls it directly (cmake -DCONV1DT_FUZZ=ON with clang); replay.c runs it
 * over the committed corpus in every build, so each input that ever found a bug stays a test.
 *
 * Beyond not crashing (ASan, UBSan), a successful load must be self-consistent, and what the
 * writer makes of it must load back to the same array. */
#include "npy.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A violated invariant: crash loudly, so libFuzzer and the replay test both see it. */
static void require(int ok) {
  if (!ok) abort();
}

static void check_array(const npy_array *a, size_t len) {
  require(a->data != NULL);
  require(a->dtype == NPY_FLOAT32 || a->dtype == NPY_FLOAT64);
  require(a->ndim >= 0 && a->ndim <= NPY_MAX_DIMS);
  size_t count = 1;
  for (int i = 0; i < a->ndim; i++) {
    require(a->shape[i] >= 0);
    count *= (size_t)a->shape[i]; /* no overflow: the reader checked it */
  }
  require(count == a->count);
  require(a->nbytes == a->count * (size_t)a->dtype);
  require(a->nbytes <= len); /* the data came from the input */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  npy_array a;
  char err[256];
  if (npy_load_buffer(data, size, &a, err, sizeof err) != NPY_OK) {
    require(memchr(err, '\0', sizeof err) != NULL); /* a terminated message */
    return 0;
  }
  check_array(&a, size);
  /* Round trip: the writer's header for this array, then the same bytes, must load again. */
  unsigned char header[4096];
  const size_t hlen = npy_build_header(a.dtype, a.ndim, a.shape, header, sizeof header);
  if (hlen > 0 && hlen <= sizeof header) {
    unsigned char *copy = malloc(hlen + a.nbytes + 1);
    if (copy) {
      memcpy(copy, header, hlen);
      if (a.nbytes) memcpy(copy + hlen, a.data, a.nbytes);
      npy_array b;
      require(npy_load_buffer(copy, hlen + a.nbytes, &b, err, sizeof err) == NPY_OK);
      require(b.dtype == a.dtype && b.ndim == a.ndim && b.count == a.count);
      require(memcmp(b.shape, a.shape, (size_t)a.ndim * sizeof a.shape[0]) == 0);
      require(a.nbytes == 0 || memcmp(b.data, a.data, a.nbytes) == 0);
      npy_free(&b);
      free(copy);
    }
  }
  npy_free(&a);
  return 0;
}
