/* .npy reader/writer; see npy.h for the contract. */
#define _POSIX_C_SOURCE 200809L

#include "npy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const unsigned char NPY_MAGIC[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

/* numpy aligns the data start to this many bytes. */
#define NPY_ALIGN 64
/* numpy leaves room so the first axis can grow to this many digits in place. */
#define NPY_GROWTH_DIGITS 21
/* Far above anything a rank-32 header needs; guards allocations against hostile lengths. */
#define NPY_MAX_HEADER_LEN ((uint32_t)1 << 20)

static void set_err(char *err, size_t errlen, const char *fmt, ...) {
  if (!err || errlen == 0) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errlen, fmt, ap);
  va_end(ap);
}

const char *npy_status_name(npy_status status) {
  switch (status) {
  case NPY_OK:
    return "NPY_OK";
  case NPY_ERR_ARGUMENT:
    return "NPY_ERR_ARGUMENT";
  case NPY_ERR_IO:
    return "NPY_ERR_IO";
  case NPY_ERR_FORMAT:
    return "NPY_ERR_FORMAT";
  case NPY_ERR_UNSUPPORTED:
    return "NPY_ERR_UNSUPPORTED";
  case NPY_ERR_TRUNCATED:
    return "NPY_ERR_TRUNCATED";
  case NPY_ERR_TRAILING:
    return "NPY_ERR_TRAILING";
  case NPY_ERR_OVERFLOW:
    return "NPY_ERR_OVERFLOW";
  case NPY_ERR_NOMEM:
    return "NPY_ERR_NOMEM";
  }
  return "unknown npy status";
}

static bool host_is_little_endian(void) {
  const uint16_t one = 1;
  unsigned char first;
  memcpy(&first, &one, 1);
  return first == 1;
}

/* The format is little-endian; a big-endian host swaps each item in place. */
static void swap_items(unsigned char *p, size_t count, size_t itemsize) {
  for (size_t i = 0; i < count; i++, p += itemsize) {
    for (size_t a = 0, b = itemsize - 1; a < b; a++, b--) {
      unsigned char t = p[a];
      p[a] = p[b];
      p[b] = t;
    }
  }
}

/* Element and byte counts of a shape, overflow-checked against both int64_t and size_t. */
static npy_status shape_sizes(int ndim, const int64_t *shape, size_t itemsize, size_t *count,
                              size_t *nbytes, char *err, size_t errlen) {
  const uint64_t limit =
      (uint64_t)INT64_MAX < (uint64_t)SIZE_MAX ? (uint64_t)INT64_MAX : (uint64_t)SIZE_MAX;
  uint64_t n = 1;
  bool empty = false;
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0) {
      set_err(err, errlen, "negative dimension %lld in shape", (long long)shape[i]);
      return NPY_ERR_FORMAT;
    }
    if (shape[i] == 0) empty = true;
  }
  if (empty) {
    *count = 0;
    *nbytes = 0;
    return NPY_OK;
  }
  for (int i = 0; i < ndim; i++) {
    uint64_t d = (uint64_t)shape[i];
    if (n > limit / d) {
      set_err(err, errlen, "shape too large: the element count overflows");
      return NPY_ERR_OVERFLOW;
    }
    n *= d;
  }
  if (n > limit / itemsize) {
    set_err(err, errlen, "shape too large: the byte count overflows");
    return NPY_ERR_OVERFLOW;
  }
  *count = (size_t)n;
  *nbytes = (size_t)n * itemsize;
  return NPY_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Header dict parser: the subset of Python literal syntax numpy writes, i.e.
 *   {'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }
 * in any key order, with any whitespace, with or without the trailing comma.
 */

typedef struct {
  const char *p, *end;
  char *err;
  size_t errlen;
} parser;

typedef struct {
  char descr[64];
  bool descr_is_string; /* false: a list/tuple (structured dtype), kept as raw text */
  bool fortran;
  int ndim;
  int64_t shape[NPY_MAX_DIMS];
} header_info;

static void skip_ws(parser *ps) {
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r' ||
                             *ps->p == '\f' || *ps->p == '\v'))
    ps->p++;
}

static bool at(parser *ps, char c) {
  return ps->p < ps->end && *ps->p == c;
}

static npy_status bad_dict(parser *ps, const char *what) {
  set_err(ps->err, ps->errlen, "malformed .npy header dict: %s", what);
  return NPY_ERR_FORMAT;
}

/* A quoted string without escapes; truncated into out if longer (callers only compare short
 * names, and a long one is wrong anyway). */
static npy_status parse_string(parser *ps, char *out, size_t outsz) {
  if (!at(ps, '\'') && !at(ps, '"')) return bad_dict(ps, "expected a quoted string");
  char q = *ps->p++;
  size_t n = 0;
  while (ps->p < ps->end && *ps->p != q) {
    if (*ps->p == '\\') return bad_dict(ps, "escape sequences in strings are not supported");
    if (*ps->p == '\n') return bad_dict(ps, "unterminated string");
    if (n + 1 < outsz) out[n++] = *ps->p;
    ps->p++;
  }
  if (!at(ps, q)) return bad_dict(ps, "unterminated string");
  ps->p++;
  out[n] = '\0';
  return NPY_OK;
}

/* Skips a bracketed value (a structured dtype's list), keeping its first characters. */
static npy_status capture_bracketed(parser *ps, char *out, size_t outsz) {
  const char *start = ps->p;
  int depth = 0;
  char quote = 0;
  while (ps->p < ps->end) {
    char c = *ps->p++;
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == '[' || c == '(' || c == '{') {
      depth++;
    } else if (c == ']' || c == ')' || c == '}') {
      if (--depth == 0) break;
    }
  }
  if (depth != 0 || quote) return bad_dict(ps, "unbalanced brackets in 'descr'");
  size_t n = (size_t)(ps->p - start);
  if (n >= outsz) n = outsz - 1;
  memcpy(out, start, n);
  out[n] = '\0';
  return NPY_OK;
}

static npy_status parse_bool(parser *ps, bool *out) {
  const char *s = ps->p;
  while (ps->p < ps->end && ((*ps->p >= 'a' && *ps->p <= 'z') || (*ps->p >= 'A' && *ps->p <= 'Z')))
    ps->p++;
  size_t n = (size_t)(ps->p - s);
  if (n == 4 && memcmp(s, "True", 4) == 0) {
    *out = true;
  } else if (n == 5 && memcmp(s, "False", 5) == 0) {
    *out = false;
  } else {
    return bad_dict(ps, "'fortran_order' must be True or False");
  }
  return NPY_OK;
}

static npy_status parse_dim(parser *ps, int64_t *out) {
  if (at(ps, '-')) {
    const char *s = ps->p++;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') ps->p++;
    set_err(ps->err, ps->errlen, "negative dimension %.*s in shape", (int)(ps->p - s), s);
    return NPY_ERR_FORMAT;
  }
  if (!(ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9'))
    return bad_dict(ps, "'shape' must be a tuple of non-negative integers");
  int64_t v = 0;
  while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
    int digit = *ps->p++ - '0';
    if (v > (INT64_MAX - digit) / 10) {
      set_err(ps->err, ps->errlen, "shape too large: a dimension exceeds %lld",
              (long long)INT64_MAX);
      return NPY_ERR_OVERFLOW;
    }
    v = v * 10 + digit;
  }
  /* Python 2 numpy wrote long integers as 3L. */
  if (at(ps, 'L') || at(ps, 'l')) ps->p++;
  *out = v;
  return NPY_OK;
}

static npy_status parse_shape(parser *ps, header_info *h) {
  if (!at(ps, '(')) return bad_dict(ps, "'shape' must be a tuple");
  ps->p++;
  skip_ws(ps);
  int n = 0;
  bool trailing_comma = false;
  while (!at(ps, ')')) {
    if (n == NPY_MAX_DIMS) {
      set_err(ps->err, ps->errlen, "shape has more than %d dimensions", NPY_MAX_DIMS);
      return NPY_ERR_UNSUPPORTED;
    }
    npy_status st = parse_dim(ps, &h->shape[n]);
    if (st != NPY_OK) return st;
    n++;
    skip_ws(ps);
    trailing_comma = false;
    if (at(ps, ',')) {
      ps->p++;
      trailing_comma = true;
      skip_ws(ps);
    } else if (!at(ps, ')')) {
      return bad_dict(ps, "expected ',' or ')' in 'shape'");
    }
  }
  ps->p++;
  /* In Python "(3)" is the integer 3, not a tuple: numpy rejects it, so do we. */
  if (n == 1 && !trailing_comma) return bad_dict(ps, "'shape' must be a tuple, e.g. (3,)");
  h->ndim = n;
  return NPY_OK;
}

static npy_status parse_dict(const char *text, size_t len, header_info *h, char *err,
                             size_t errlen) {
  parser ps = {text, text + len, err, errlen};
  bool seen_descr = false, seen_fortran = false, seen_shape = false;
  npy_status st;
  memset(h, 0, sizeof *h);
  skip_ws(&ps);
  if (!at(&ps, '{')) return bad_dict(&ps, "does not start with '{'");
  ps.p++;
  skip_ws(&ps);
  while (!at(&ps, '}')) {
    char key[32];
    if ((st = parse_string(&ps, key, sizeof key)) != NPY_OK) return st;
    skip_ws(&ps);
    if (!at(&ps, ':')) return bad_dict(&ps, "expected ':' after a key");
    ps.p++;
    skip_ws(&ps);
    bool *seen;
    if (strcmp(key, "descr") == 0) {
      seen = &seen_descr;
      if (at(&ps, '\'') || at(&ps, '"')) {
        h->descr_is_string = true;
        st = parse_string(&ps, h->descr, sizeof h->descr);
      } else if (at(&ps, '[') || at(&ps, '(')) {
        st = capture_bracketed(&ps, h->descr, sizeof h->descr);
      } else {
        st = bad_dict(&ps, "'descr' must be a string");
      }
    } else if (strcmp(key, "fortran_order") == 0) {
      seen = &seen_fortran;
      st = parse_bool(&ps, &h->fortran);
    } else if (strcmp(key, "shape") == 0) {
      seen = &seen_shape;
      st = parse_shape(&ps, h);
    } else {
      set_err(err, errlen, "malformed .npy header dict: unexpected key '%s'", key);
      return NPY_ERR_FORMAT;
    }
    if (st != NPY_OK) return st;
    if (*seen) {
      set_err(err, errlen, "malformed .npy header dict: duplicate key '%s'", key);
      return NPY_ERR_FORMAT;
    }
    *seen = true;
    skip_ws(&ps);
    if (at(&ps, ',')) {
      ps.p++;
      skip_ws(&ps);
    } else if (!at(&ps, '}')) {
      return bad_dict(&ps, "expected ',' or '}' after a value");
    }
  }
  ps.p++;
  skip_ws(&ps);
  if (ps.p != ps.end) return bad_dict(&ps, "unexpected text after the closing '}'");
  const char *missing = !seen_descr     ? "descr"
                        : !seen_fortran ? "fortran_order"
                        : !seen_shape   ? "shape"
                                        : NULL;
  if (missing) {
    set_err(err, errlen, "malformed .npy header dict: missing key '%s'", missing);
    return NPY_ERR_FORMAT;
  }
  return NPY_OK;
}

static npy_status check_header(const header_info *h, npy_dtype *dtype, char *err, size_t errlen) {
  if (!h->descr_is_string) {
    set_err(err, errlen, "unsupported dtype descr %s: structured dtypes are not supported",
            h->descr);
    return NPY_ERR_UNSUPPORTED;
  }
  if (strcmp(h->descr, "<f4") == 0) {
    *dtype = NPY_FLOAT32;
  } else if (strcmp(h->descr, "<f8") == 0) {
    *dtype = NPY_FLOAT64;
  } else {
    const char *why = h->descr[0] == '>' ? "big-endian data is not supported; " : "";
    set_err(err, errlen, "unsupported dtype '%s' (%sonly '<f4' float32 and '<f8' float64 are read)",
            h->descr, why);
    return NPY_ERR_UNSUPPORTED;
  }
  if (h->fortran) {
    set_err(err, errlen, "Fortran-order arrays are not supported");
    return NPY_ERR_UNSUPPORTED;
  }
  return NPY_OK;
}

/* ---------------------------------------------------------------------------------------------
 * Loading: one code path over a file or a memory buffer.
 */

typedef struct {
  FILE *fp;
  const unsigned char *buf;
  size_t len, pos;
  bool io_error;
  bool use_fd; /* read fd with pread from pos (npy_read_header) */
  int fd;
} source;

static size_t src_read(source *s, void *dst, size_t n) {
  if (s->use_fd) {
    size_t got = 0;
    while (got < n) {
      ssize_t r = pread(s->fd, (char *)dst + got, n - got, (off_t)(s->pos + got));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        s->io_error = true;
        break;
      }
      if (r == 0) break;
      got += (size_t)r;
    }
    s->pos += got;
    return got;
  }
  if (s->fp) {
    size_t got = fread(dst, 1, n, s->fp);
    if (got < n && ferror(s->fp)) s->io_error = true;
    return got;
  }
  size_t avail = s->len - s->pos;
  if (n > avail) n = avail;
  if (n) memcpy(dst, s->buf + s->pos, n);
  s->pos += n;
  return n;
}

static npy_status io_error(char *err, size_t errlen, int e) {
  set_err(err, errlen, "read error: %s", strerror(e ? e : EIO));
  return NPY_ERR_IO;
}

/* Reads and checks the preamble and the header dict; with a known file_size also that the file
 * holds exactly the data the shape needs. */
static npy_status load_header(source *s, int64_t file_size, npy_header *out, char *err,
                              size_t errlen) {
  unsigned char pre[12];
  size_t got = src_read(s, pre, 8);
  if (s->io_error) return io_error(err, errlen, errno);
  if (got == 0) {
    set_err(err, errlen, "not a .npy file: empty");
    return NPY_ERR_FORMAT;
  }
  if (memcmp(pre, NPY_MAGIC, got < 6 ? got : 6) != 0) {
    set_err(err, errlen, "not a .npy file: bad magic (expected \\x93NUMPY)");
    return NPY_ERR_FORMAT;
  }
  if (got < 8) {
    set_err(err, errlen, "truncated: the file ends inside the .npy preamble");
    return NPY_ERR_TRUNCATED;
  }
  unsigned major = pre[6], minor = pre[7];
  if (major < 1 || major > 3 || minor != 0) {
    set_err(err, errlen, "unsupported .npy format version %u.%u (only 1.0, 2.0 and 3.0 are read)",
            major, minor);
    return NPY_ERR_UNSUPPORTED;
  }
  size_t lenbytes = major == 1 ? 2 : 4;
  got = src_read(s, pre + 8, lenbytes);
  if (s->io_error) return io_error(err, errlen, errno);
  if (got < lenbytes) {
    set_err(err, errlen, "truncated: the file ends inside the .npy preamble");
    return NPY_ERR_TRUNCATED;
  }
  uint32_t hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
  if (lenbytes == 4) hlen |= (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
  if (hlen > NPY_MAX_HEADER_LEN) {
    set_err(err, errlen, "malformed .npy header: header length %lu is implausibly large",
            (unsigned long)hlen);
    return NPY_ERR_FORMAT;
  }
  size_t data_offset = 8 + lenbytes + hlen;
  if (file_size >= 0 && (uint64_t)file_size < data_offset) {
    set_err(err, errlen, "truncated: the header needs %lu bytes, the file ends after %lld",
            (unsigned long)hlen, (long long)(file_size - 8 - (int64_t)lenbytes));
    return NPY_ERR_TRUNCATED;
  }
  char *text = malloc(hlen + 1);
  if (!text) {
    set_err(err, errlen, "out of memory reading the header");
    return NPY_ERR_NOMEM;
  }
  got = src_read(s, text, hlen);
  if (s->io_error) {
    free(text);
    return io_error(err, errlen, errno);
  }
  if (got < hlen) {
    free(text);
    set_err(err, errlen, "truncated: the header needs %lu bytes, the file ends after %lu",
            (unsigned long)hlen, (unsigned long)got);
    return NPY_ERR_TRUNCATED;
  }
  text[hlen] = '\0';
  header_info h;
  npy_status st = parse_dict(text, hlen, &h, err, errlen);
  free(text);
  if (st != NPY_OK) return st;
  npy_dtype dtype;
  if ((st = check_header(&h, &dtype, err, errlen)) != NPY_OK) return st;
  size_t count, nbytes;
  if ((st = shape_sizes(h.ndim, h.shape, (size_t)dtype, &count, &nbytes, err, errlen)) != NPY_OK)
    return st;

  /* With a known size, judge the data length before allocating what a hostile shape asks. */
  if (file_size >= 0) {
    uint64_t found = (uint64_t)file_size - data_offset;
    if (found < nbytes) {
      set_err(err, errlen, "truncated: expected %llu bytes of data, found %llu",
              (unsigned long long)nbytes, (unsigned long long)found);
      return NPY_ERR_TRUNCATED;
    }
    if (found > nbytes) {
      set_err(err, errlen, "trailing data: expected %llu bytes of data, found %llu",
              (unsigned long long)nbytes, (unsigned long long)found);
      return NPY_ERR_TRAILING;
    }
  }
  out->dtype = dtype;
  out->ndim = h.ndim;
  memcpy(out->shape, h.shape, sizeof h.shape);
  out->count = count;
  out->nbytes = nbytes;
  out->data_offset = (uint64_t)data_offset;
  return NPY_OK;
}

/* file_size is the total size when known (regular file or buffer), or -1 (a pipe): then
 * truncation and trailing data are found by reading. */
static npy_status load_from(source *s, int64_t file_size, npy_array *out, char *err,
                            size_t errlen) {
  npy_header hd;
  npy_status st = load_header(s, file_size, &hd, err, errlen);
  if (st != NPY_OK) return st;
  const npy_dtype dtype = hd.dtype;
  const size_t count = hd.count, nbytes = hd.nbytes;
  size_t got;
  void *data = malloc(nbytes ? nbytes : 1);
  if (!data) {
    set_err(err, errlen, "out of memory: cannot allocate %llu bytes of data",
            (unsigned long long)nbytes);
    return NPY_ERR_NOMEM;
  }
  got = src_read(s, data, nbytes);
  if (s->io_error) {
    free(data);
    return io_error(err, errlen, errno);
  }
  if (got < nbytes) {
    free(data);
    set_err(err, errlen, "truncated: expected %llu bytes of data, found %llu",
            (unsigned long long)nbytes, (unsigned long long)got);
    return NPY_ERR_TRUNCATED;
  }
  unsigned char extra;
  if (src_read(s, &extra, 1) != 0) {
    free(data);
    set_err(err, errlen, "trailing data: more than the %llu bytes of data the shape needs",
            (unsigned long long)nbytes);
    return NPY_ERR_TRAILING;
  }
  if (s->io_error) {
    free(data);
    return io_error(err, errlen, errno);
  }
  if (!host_is_little_endian()) swap_items(data, count, (size_t)dtype);
  out->dtype = dtype;
  out->ndim = hd.ndim;
  memcpy(out->shape, hd.shape, sizeof hd.shape);
  out->count = count;
  out->nbytes = nbytes;
  out->data = data;
  return NPY_OK;
}

npy_status npy_load_buffer(const void *buf, size_t len, npy_array *out, char *err, size_t errlen) {
  if (err && errlen) err[0] = '\0';
  if (!out) {
    set_err(err, errlen, "npy_load_buffer: out is NULL");
    return NPY_ERR_ARGUMENT;
  }
  memset(out, 0, sizeof *out);
  if (!buf && len) {
    set_err(err, errlen, "npy_load_buffer: buf is NULL");
    return NPY_ERR_ARGUMENT;
  }
  source s = {NULL, buf, len, 0, false, false, -1};
  return load_from(&s, len > (uint64_t)INT64_MAX ? -1 : (int64_t)len, out, err, errlen);
}

npy_status npy_load(const char *path, npy_array *out, char *err, size_t errlen) {
  if (err && errlen) err[0] = '\0';
  if (!out || !path) {
    set_err(err, errlen, "npy_load: %s is NULL", out ? "path" : "out");
    return NPY_ERR_ARGUMENT;
  }
  memset(out, 0, sizeof *out);
  FILE *fp = fopen(path, "rb");
  if (!fp) {
    set_err(err, errlen, "cannot open: %s", strerror(errno));
    return NPY_ERR_IO;
  }
  struct stat sb;
  int64_t size = -1;
  if (fstat(fileno(fp), &sb) == 0) {
    if (S_ISDIR(sb.st_mode)) {
      fclose(fp);
      set_err(err, errlen, "cannot read: is a directory");
      return NPY_ERR_IO;
    }
    if (S_ISREG(sb.st_mode)) size = (int64_t)sb.st_size;
  }
  source s = {fp, NULL, 0, 0, false, false, -1};
  npy_status st = load_from(&s, size, out, err, errlen);
  fclose(fp);
  return st;
}

npy_status npy_read_header(int fd, npy_header *out, char *err, size_t errlen) {
  if (err && errlen) err[0] = '\0';
  if (!out || fd < 0) {
    set_err(err, errlen, "npy_read_header: %s", out ? "bad file descriptor" : "out is NULL");
    return NPY_ERR_ARGUMENT;
  }
  memset(out, 0, sizeof *out);
  struct stat sb;
  if (fstat(fd, &sb) != 0) return io_error(err, errlen, errno);
  if (S_ISDIR(sb.st_mode)) {
    set_err(err, errlen, "cannot read: is a directory");
    return NPY_ERR_IO;
  }
  if (!S_ISREG(sb.st_mode)) {
    set_err(err, errlen, "not a regular file (reading in blocks needs one)");
    return NPY_ERR_UNSUPPORTED;
  }
  source s = {NULL, NULL, 0, 0, false, true, fd};
  return load_header(&s, (int64_t)sb.st_size, out, err, errlen);
}

void npy_free(npy_array *arr) {
  if (!arr) return;
  free(arr->data);
  memset(arr, 0, sizeof *arr);
}

/* ---------------------------------------------------------------------------------------------
 * Writing.
 */

size_t npy_build_header(npy_dtype dtype, int ndim, const int64_t *shape, unsigned char *buf,
                        size_t size) {
  if ((dtype != NPY_FLOAT32 && dtype != NPY_FLOAT64) || ndim < 0 || ndim > NPY_MAX_DIMS ||
      (ndim > 0 && !shape) || !buf)
    return 0;
  /* Longest dict: ~60 fixed chars + 32 dims of up to 19 digits and ", " + growth room. */
  char dict[1024];
  int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                   dtype == NPY_FLOAT32 ? "<f4" : "<f8");
  for (int i = 0; i < ndim; i++) {
    if (shape[i] < 0) return 0;
    n += snprintf(dict + n, sizeof dict - (size_t)n, i ? ", %lld" : "%lld", (long long)shape[i]);
  }
  n += snprintf(dict + n, sizeof dict - (size_t)n, "%s), }", ndim == 1 ? "," : "");
  /* numpy 1.24+ adds spare room so axis 0 can grow in place; matching it keeps files
   * byte-identical to numpy's own. */
  if (ndim > 0) {
    char digits[24];
    int nd = snprintf(digits, sizeof digits, "%lld", (long long)shape[0]);
    for (int i = nd; i < NPY_GROWTH_DIGITS; i++) dict[n++] = ' ';
  }
  size_t hlen = (size_t)n + 1; /* + the final '\n' */
  size_t prefix = 10;          /* magic, version, u16 length */
  size_t pad = NPY_ALIGN - (prefix + hlen) % NPY_ALIGN;
  unsigned major = 1;
  if (hlen + pad > 65535) {
    /* Cannot happen for rank <= 32, kept so the format rule is complete. */
    major = 2;
    prefix = 12;
    pad = NPY_ALIGN - (prefix + hlen) % NPY_ALIGN;
  }
  size_t total = prefix + hlen + pad;
  if (total > size) return 0;
  memcpy(buf, NPY_MAGIC, 6);
  buf[6] = (unsigned char)major;
  buf[7] = 0;
  size_t h = hlen + pad;
  buf[8] = (unsigned char)(h & 0xff);
  buf[9] = (unsigned char)(h >> 8 & 0xff);
  if (major == 2) {
    buf[10] = (unsigned char)(h >> 16 & 0xff);
    buf[11] = (unsigned char)(h >> 24 & 0xff);
  }
  memcpy(buf + prefix, dict, (size_t)n);
  memset(buf + prefix + (size_t)n, ' ', pad);
  buf[total - 1] = '\n';
  return total;
}

static npy_status write_err(char *err, size_t errlen, const char *what, int e) {
  set_err(err, errlen, "%s: %s", what, strerror(e ? e : EIO));
  return NPY_ERR_IO;
}

/* Writes the whole file to fp; leaves fp open. */
static npy_status write_stream(FILE *fp, npy_dtype dtype, int ndim, const int64_t *shape,
                               const void *data, char *err, size_t errlen) {
  if (dtype != NPY_FLOAT32 && dtype != NPY_FLOAT64) {
    set_err(err, errlen, "npy_save: unsupported dtype %d", (int)dtype);
    return NPY_ERR_ARGUMENT;
  }
  if (ndim < 0 || ndim > NPY_MAX_DIMS || (ndim > 0 && !shape)) {
    set_err(err, errlen, "npy_save: bad rank %d", ndim);
    return NPY_ERR_ARGUMENT;
  }
  size_t count, nbytes;
  npy_status st = shape_sizes(ndim, shape, (size_t)dtype, &count, &nbytes, err, errlen);
  if (st != NPY_OK) return st == NPY_ERR_FORMAT ? NPY_ERR_ARGUMENT : st;
  if (count && !data) {
    set_err(err, errlen, "npy_save: data is NULL");
    return NPY_ERR_ARGUMENT;
  }
  unsigned char header[2048];
  size_t hsize = npy_build_header(dtype, ndim, shape, header, sizeof header);
  if (hsize == 0) {
    set_err(err, errlen, "npy_save: cannot build the header");
    return NPY_ERR_ARGUMENT;
  }
  if (fwrite(header, 1, hsize, fp) != hsize) return write_err(err, errlen, "write error", errno);
  if (host_is_little_endian()) {
    if (nbytes && fwrite(data, 1, nbytes, fp) != nbytes)
      return write_err(err, errlen, "write error", errno);
  } else {
    unsigned char chunk[4096];
    const unsigned char *p = data;
    size_t per = sizeof chunk / (size_t)dtype;
    for (size_t done = 0; done < count;) {
      size_t k = count - done < per ? count - done : per;
      memcpy(chunk, p + done * (size_t)dtype, k * (size_t)dtype);
      swap_items(chunk, k, (size_t)dtype);
      if (fwrite(chunk, (size_t)dtype, k, fp) != k)
        return write_err(err, errlen, "write error", errno);
      done += k;
    }
  }
  if (fflush(fp) != 0) return write_err(err, errlen, "write error", errno);
  return NPY_OK;
}

npy_status npy_save(const char *path, npy_dtype dtype, int ndim, const int64_t *shape,
                    const void *data, char *err, size_t errlen) {
  if (err && errlen) err[0] = '\0';
  if (!path) {
    set_err(err, errlen, "npy_save: path is NULL");
    return NPY_ERR_ARGUMENT;
  }
  FILE *fp = fopen(path, "wb");
  if (!fp) return write_err(err, errlen, "cannot create", errno);
  npy_status st = write_stream(fp, dtype, ndim, shape, data, err, errlen);
  if (fclose(fp) != 0 && st == NPY_OK) st = write_err(err, errlen, "write error", errno);
  return st;
}

npy_status npy_save_atomic(const char *path, npy_dtype dtype, int ndim, const int64_t *shape,
                           const void *data, char *err, size_t errlen) {
  if (err && errlen) err[0] = '\0';
  if (!path || !*path) {
    set_err(err, errlen, "npy_save_atomic: empty path");
    return NPY_ERR_ARGUMENT;
  }
  /* The temporary must live in the target's directory for rename() to be atomic. */
  const char *slash = strrchr(path, '/');
  size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
  const char *base = slash ? slash + 1 : path;
  if (!*base) {
    set_err(err, errlen, "output path '%s' names a directory", path);
    return NPY_ERR_ARGUMENT;
  }
  size_t tlen = dirlen + 1 + strlen(base) + 8 + 1;
  char *tmp = malloc(tlen);
  if (!tmp) {
    set_err(err, errlen, "out of memory");
    return NPY_ERR_NOMEM;
  }
  snprintf(tmp, tlen, "%.*s.%s.XXXXXX", (int)dirlen, path, base);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    npy_status st = write_err(err, errlen, "cannot create a temporary file", errno);
    free(tmp);
    return st;
  }
  /* mkstemp makes the file 0600; give it what open(O_CREAT, 0666) would have. umask() is
   * the only portable way to read the mask (setting it back at once). */
  mode_t mask = umask(0);
  umask(mask);
  FILE *fp = fdopen(fd, "wb");
  npy_status st = NPY_OK;
  if (!fp) {
    st = write_err(err, errlen, "cannot open the temporary file", errno);
    close(fd);
  } else {
    st = write_stream(fp, dtype, ndim, shape, data, err, errlen);
    if (st == NPY_OK && fchmod(fd, (mode_t)0666 & ~mask) != 0)
      st = write_err(err, errlen, "cannot set permissions", errno);
    if (st == NPY_OK && fsync(fd) != 0) st = write_err(err, errlen, "fsync failed", errno);
    if (fclose(fp) != 0 && st == NPY_OK) st = write_err(err, errlen, "write error", errno);
  }
  if (st == NPY_OK && rename(tmp, path) != 0) st = write_err(err, errlen, "cannot rename", errno);
  if (st != NPY_OK) {
    unlink(tmp);
  } else {
    /* Best effort: make the rename itself durable. */
    char *dir = malloc(dirlen + 2);
    if (dir) {
      if (dirlen) {
        memcpy(dir, path, dirlen);
        dir[dirlen] = '\0';
      } else {
        strcpy(dir, ".");
      }
      int dfd = open(dir, O_RDONLY);
      if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
      }
      free(dir);
    }
  }
  free(tmp);
  return st;
}

/* pwrite of all len bytes at offset, retrying short writes and EINTR. */
static npy_status pwrite_all(int fd, int64_t offset, const void *buf, size_t len, char *err,
                             size_t errlen) {
  const unsigned char *p = buf;
  while (len) {
    const size_t step = len < ((size_t)1 << 30) ? len : (size_t)1 << 30;
    const ssize_t n = pwrite(fd, p, step, (off_t)offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return write_err(err, errlen, "write error", n < 0 ? errno : EIO);
    p += n;
    offset += n;
    len -= (size_t)n;
  }
  return NPY_OK;
}

npy_status npy_pwrite_items(int fd, int64_t offset, npy_dtype dtype, const void *data, size_t count,
                            char *err, size_t errlen) {
  if (dtype != NPY_FLOAT32 && dtype != NPY_FLOAT64) {
    set_err(err, errlen, "npy_pwrite_items: unsupported dtype %d", (int)dtype);
    return NPY_ERR_ARGUMENT;
  }
  if (fd < 0 || offset < 0 || (count && !data) || count > SIZE_MAX / (size_t)dtype) {
    set_err(err, errlen, "npy_pwrite_items: bad argument");
    return NPY_ERR_ARGUMENT;
  }
  if (host_is_little_endian())
    return pwrite_all(fd, offset, data, count * (size_t)dtype, err, errlen);
  unsigned char chunk[4096];
  const unsigned char *p = data;
  const size_t per = sizeof chunk / (size_t)dtype;
  for (size_t done = 0; done < count;) {
    const size_t k = count - done < per ? count - done : per;
    memcpy(chunk, p + done * (size_t)dtype, k * (size_t)dtype);
    swap_items(chunk, k, (size_t)dtype);
    npy_status st = pwrite_all(fd, offset + (int64_t)(done * (size_t)dtype), chunk,
                               k * (size_t)dtype, err, errlen);
    if (st != NPY_OK) return st;
    done += k;
  }
  return NPY_OK;
}

npy_status npy_write_fd(int fd, npy_dtype dtype, int ndim, const int64_t *shape, const void *data,
                        char *err, size_t errlen) {
  if (err && errlen) err[0] = '\0';
  if (dtype != NPY_FLOAT32 && dtype != NPY_FLOAT64) {
    set_err(err, errlen, "npy_write_fd: unsupported dtype %d", (int)dtype);
    return NPY_ERR_ARGUMENT;
  }
  if (ndim < 0 || ndim > NPY_MAX_DIMS || (ndim > 0 && !shape)) {
    set_err(err, errlen, "npy_write_fd: bad rank %d", ndim);
    return NPY_ERR_ARGUMENT;
  }
  size_t count, nbytes;
  npy_status st = shape_sizes(ndim, shape, (size_t)dtype, &count, &nbytes, err, errlen);
  if (st != NPY_OK) return st == NPY_ERR_FORMAT ? NPY_ERR_ARGUMENT : st;
  if (count && !data) {
    set_err(err, errlen, "npy_write_fd: data is NULL");
    return NPY_ERR_ARGUMENT;
  }
  unsigned char header[2048];
  const size_t hsize = npy_build_header(dtype, ndim, shape, header, sizeof header);
  if (hsize == 0) {
    set_err(err, errlen, "npy_write_fd: cannot build the header");
    return NPY_ERR_ARGUMENT;
  }
  st = pwrite_all(fd, 0, header, hsize, err, errlen);
  if (st == NPY_OK) st = npy_pwrite_items(fd, (int64_t)hsize, dtype, data, count, err, errlen);
  return st;
}
