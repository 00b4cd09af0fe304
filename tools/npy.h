/*
 * npy — a small reader/writer for NumPy's .npy format, limited to what conv1dt exchanges:
 * little-endian float32 ('<f4') and float64 ('<f8') arrays in C order.
 *
 * Reads format versions 1.0, 2.0 and 3.0; writes 1.0 (2.0 when the header would not fit a
 * 16-bit length) with the header padded so the data starts at a multiple of 64 bytes, as numpy
 * does. Nothing here prints or aborts: every failure returns a status and, when `err` is not
 * NULL, a NUL-terminated message in err[0..errlen).
 */
#ifndef CONV1DT_NPY_H
#define CONV1DT_NPY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define NPY_MAX_DIMS 32

typedef enum {
  NPY_OK = 0,
  NPY_ERR_ARGUMENT = 1,    /* NULL pointer or invalid argument from the caller */
  NPY_ERR_IO = 2,          /* open/read/write/rename failed (message has strerror) */
  NPY_ERR_FORMAT = 3,      /* not a valid .npy file: magic, version, header dict */
  NPY_ERR_UNSUPPORTED = 4, /* valid .npy that this reader does not handle (dtype, order) */
  NPY_ERR_TRUNCATED = 5,   /* fewer data bytes than the shape requires */
  NPY_ERR_TRAILING = 6,    /* more bytes after the data than the shape accounts for */
  NPY_ERR_OVERFLOW = 7,    /* the shape's element or byte count does not fit int64_t/size_t */
  NPY_ERR_NOMEM = 8        /* an allocation failed */
} npy_status;

/* dtype values are the item sizes, so nbytes == count * dtype. */
typedef enum { NPY_FLOAT32 = 4, NPY_FLOAT64 = 8 } npy_dtype;

typedef struct {
  npy_dtype dtype;
  int ndim; /* 0 for a scalar */
  int64_t shape[NPY_MAX_DIMS];
  size_t count;  /* number of elements (1 for a scalar, 0 if any dimension is 0) */
  size_t nbytes; /* count * dtype */
  void *data;    /* malloc'ed, suitably aligned, never NULL after a successful load */
} npy_array;

/* What a .npy file's header says, and where its data starts. */
typedef struct {
  npy_dtype dtype;
  int ndim;
  int64_t shape[NPY_MAX_DIMS];
  size_t count, nbytes;
  uint64_t data_offset; /* the data's first byte in the file */
} npy_header;

/* Reads the header of the .npy file open at fd (a regular file, read with pread from offset 0;
 * the file offset is left alone) with npy_load's checks, including that the file holds exactly
 * the data the shape needs, without reading the data. The data is little-endian. */
npy_status npy_read_header(int fd, npy_header *out, char *err, size_t errlen);

/* Loads a whole .npy file. On failure *out is zeroed (nothing to free). */
npy_status npy_load(const char *path, npy_array *out, char *err, size_t errlen);

/* Same, from a memory buffer holding the complete file contents. */
npy_status npy_load_buffer(const void *buf, size_t len, npy_array *out, char *err, size_t errlen);

/* Frees the data and zeroes the struct; NULL and already-freed arrays are accepted. */
void npy_free(npy_array *arr);

/* Writes `data` (count = product of shape) as a .npy file at `path`, replacing it. A failure may
 * leave a partial file; use npy_save_atomic when that matters. ndim may be 0 (scalar). */
npy_status npy_save(const char *path, npy_dtype dtype, int ndim, const int64_t *shape,
                    const void *data, char *err, size_t errlen);

/* Like npy_save, but writes a temporary file in the same directory, fsyncs it and renames it
 * into place: `path` either gets the complete new file or is left as it was, and no temporary
 * remains after a failure. The new file gets the usual 0666 & ~umask permissions. */
npy_status npy_save_atomic(const char *path, npy_dtype dtype, int ndim, const int64_t *shape,
                           const void *data, char *err, size_t errlen);

/* The pieces of a .npy file written through a file descriptor (for example a staged output):
 * npy_pwrite_items writes `count` items of `data` in the file's little-endian byte order at
 * byte `offset` of fd with pwrite (short writes and EINTR retried; fd's position unchanged), so
 * blocks of a large array can be written in any order at their final offsets: the data of
 * element i starts at header length + i * dtype (see npy_build_header). npy_write_fd writes a
 * whole file from offset 0: the header, then the data. Neither syncs nor closes fd. */
npy_status npy_pwrite_items(int fd, int64_t offset, npy_dtype dtype, const void *data, size_t count,
                            char *err, size_t errlen);
npy_status npy_write_fd(int fd, npy_dtype dtype, int ndim, const int64_t *shape, const void *data,
                        char *err, size_t errlen);

/* Builds the complete header (magic through the final '\n') into buf. Returns its length, or 0
 * on a bad argument or when buf is too small. Exposed for tests. */
size_t npy_build_header(npy_dtype dtype, int ndim, const int64_t *shape, unsigned char *buf,
                        size_t size);

/* Stable name of a status ("NPY_ERR_FORMAT"). */
const char *npy_status_name(npy_status status);

#ifdef __cplusplus
}
#endif

#endif /* CONV1DT_NPY_H */
