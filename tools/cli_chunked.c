/* `conv1dt run` within a memory limit, block by block; see cli_chunked.h. */
#define _GNU_SOURCE /* O_CLOEXEC, posix_fadvise */

#include "cli_chunked.h"
#include "cli_error.h"
#include "cli_io.h"
#include "cli_ranks.h"
#include "cli_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MIB ((uint64_t)1 << 20)

/* Blocks aim at no more than this many bytes of input and output together: larger ones gain
 * nothing (the library works through its own workspace-sized pieces anyway) and lengthen the
 * pipeline's fill and drain, the first read and the last write that nothing overlaps. */
#define CHUNK_BLOCK_TARGET (16 * MIB)
/* What the chunked run allocates beside its buffers and the layer (headers, thread records). */
#define CHUNK_SLACK ((uint64_t)64 << 10)

/* ---------------------------------------------------------------------------------------------
 * The limit
 */

bool cli_parse_size(const char *flag, const char *text, uint64_t *out) {
  const char *p = text;
  uint64_t v = 0;
  bool digits = false;
  for (; *p >= '0' && *p <= '9'; p++, digits = true) {
    const unsigned d = (unsigned)(*p - '0');
    if (v > (UINT64_MAX - d) / 10) goto bad;
    v = v * 10 + d;
  }
  unsigned shift = 0;
  switch (*p) {
  case 'K':
  case 'k':
    shift = 10, p++;
    break;
  case 'M':
  case 'm':
    shift = 20, p++;
    break;
  case 'G':
  case 'g':
    shift = 30, p++;
    break;
  default:
    break;
  }
  if (!digits || *p || v == 0 || v > (UINT64_MAX >> shift)) goto bad;
  *out = v << shift;
  return true;
bad:
  cli_error("invalid --%s '%s' (a byte count above 0, optionally with a suffix K, M or G, "
            "e.g. 512M)",
            flag, text);
  return false;
}

/* A cgroup's memory limit from one of its files, or UINT64_MAX ("max", absent, unreadable). */
static uint64_t cgroup_limit(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return UINT64_MAX;
  unsigned long long v;
  const bool ok = fscanf(f, "%llu", &v) == 1;
  fclose(f);
  return ok && v > 0 ? (uint64_t)v : UINT64_MAX;
}

uint64_t cli_default_memory_limit(void) {
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  uint64_t mem = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : (uint64_t)4 << 30;
  /* cgroup v2: this process's group ("0::/path" in /proc/self/cgroup), as Slurm and systemd
   * set it; v1: the memory controller's root as seen from here. */
  char line[1024], path[1200];
  FILE *f = fopen("/proc/self/cgroup", "r");
  while (f && fgets(line, sizeof line, f)) {
    if (strncmp(line, "0::", 3) != 0) continue;
    line[strcspn(line, "\n")] = '\0';
    snprintf(path, sizeof path, "/sys/fs/cgroup%s/memory.max", line + 3);
    const uint64_t v2 = cgroup_limit(path);
    if (v2 < mem) mem = v2;
  }
  if (f) fclose(f);
  const uint64_t v1 = cgroup_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes");
  if (v1 < mem) mem = v1;
  return mem / 2 / (uint64_t)cli_ranks_on_node();
}

bool cli_chunked_wanted(bool limit_given, uint64_t input_bytes, uint64_t output_bytes) {
  if (limit_given) return true;
  const uint64_t sum =
      input_bytes > UINT64_MAX - output_bytes ? UINT64_MAX : input_bytes + output_bytes;
  return sum > cli_default_memory_limit();
}

bool cli_load_header(const char *flag, const char *path, npy_array *arr) {
  memset(arr, 0, sizeof *arr);
  const int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    cli_error("cannot read --%s '%s': cannot open: %s", flag, path, strerror(errno));
    return false;
  }
  struct stat sb;
  if (fstat(fd, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode)) {
    close(fd); /* a pipe or a device: read once, whole */
    return cli_load(flag, path, arr);
  }
  npy_header h;
  char err[512];
  const npy_status st = npy_read_header(fd, &h, err, sizeof err);
  close(fd);
  if (st != NPY_OK) {
    cli_error("cannot read --%s '%s': %s", flag, path, err);
    return false;
  }
  arr->dtype = h.dtype;
  arr->ndim = h.ndim;
  memcpy(arr->shape, h.shape, sizeof h.shape);
  arr->count = h.count;
  arr->nbytes = h.nbytes;
  return true;
}

/* ---------------------------------------------------------------------------------------------
 * The layer's share of the limit
 */

/* The layer's memory, estimated from above from the library's layout (docs/ARCHITECTURE.md):
 * its copy of the kernel and the bias, and either the GEMMs' transposed copy of the kernel or,
 * for a layer built for the direct method, its packed copies (filters padded to 64-byte
 * vectors, two copies at most) and its grouped taps (64 bytes per tap and channel, up to 16
 * extra taps). */
static uint64_t layer_bytes(const conv1dt_layer *layer, int64_t steps) {
  conv1dt_config cfg;
  int64_t c;
  conv1dt_dtype dtype;
  conv1dt_get_config(layer, &cfg, &c, &dtype);
  conv1dt_algorithm method = cfg.algorithm;
  if (method == CONV1DT_ALGORITHM_AUTO &&
      conv1dt_forward_algorithm(layer, 1, steps, 0, &method) != CONV1DT_OK)
    method = CONV1DT_ALGORITHM_DIRECT; /* the larger estimate */
  const uint64_t item = dtype == CONV1DT_FLOAT32 ? 4 : 8, lanes = 64 / item;
  const uint64_t k = (uint64_t)cfg.kernel_size, f = (uint64_t)cfg.filters, ch = (uint64_t)c;
  const uint64_t kernel = k * f * ch * item;
  const uint64_t copies =
      method == CONV1DT_ALGORITHM_DIRECT
          ? 2 * (k * ch + 1) * ((f + lanes - 1) / lanes * lanes) * item + ((k + 15) * ch + 1) * 64
          : kernel;
  return kernel + copies + f * item + CHUNK_SLACK;
}

/* A copy of layer computing with `algorithm` and, when workspace_limit is not 0, that
 * workspace limit (the same weights and configuration otherwise) into *out (the caller destroys
 * it). */
static bool copy_layer(const conv1dt_layer *layer, conv1dt_algorithm algorithm,
                       size_t workspace_limit, conv1dt_layer **out) {
  conv1dt_config cfg;
  int64_t c;
  conv1dt_dtype dtype;
  conv1dt_get_config(layer, &cfg, &c, &dtype);
  cfg.algorithm = algorithm;
  if (workspace_limit) cfg.workspace_limit = workspace_limit;
  const size_t item = dtype == CONV1DT_FLOAT32 ? 4 : 8;
  void *k = malloc((size_t)(cfg.kernel_size * cfg.filters * c) * item);
  void *b = malloc((size_t)cfg.filters * item);
  conv1dt_layer *fixed = NULL;
  conv1dt_status st = CONV1DT_ERROR_OUT_OF_MEMORY;
  if (!k || !b)
    cli_error("out of memory for the weights");
  else if ((st = conv1dt_get_weights(layer, k, b)) != CONV1DT_OK ||
           (st = conv1dt_create(&cfg, c, dtype, &fixed)) != CONV1DT_OK ||
           (st = conv1dt_set_weights(fixed, k, cfg.use_bias ? b : NULL)) != CONV1DT_OK)
    cli_lib_error("cannot create the layer", st);
  free(k);
  free(b);
  if (st != CONV1DT_OK) {
    conv1dt_destroy(fixed);
    return false;
  }
  *out = fixed;
  return true;
}

/* ---------------------------------------------------------------------------------------------
 * Blocks: how many samples each, within the limit
 */

typedef struct {
  int64_t per_block, blocks, last; /* samples per block (the last block: `last`) */
  size_t ws;                       /* workspace bytes */
  uint64_t need;                   /* buffers + workspace */
} block_plan;

/* Buffers (two of each) and workspace for blocks of n samples; UINT64_MAX on overflow. */
static uint64_t block_need(const conv1dt_layer *layer, int64_t n, int64_t steps, uint64_t in_s,
                           uint64_t out_s, size_t *ws) {
  if (conv1dt_workspace_size(layer, n, steps, ws) != CONV1DT_OK) return UINT64_MAX;
  const uint64_t per = 2 * (in_s + out_s);
  if ((uint64_t)n > (UINT64_MAX - *ws) / per) return UINT64_MAX;
  return (uint64_t)n * per + *ws;
}

/* The largest block within `avail` bytes (and CHUNK_BLOCK_TARGET) of a multiple of `granule`
 * samples, then evened out over the batch. False when not even one granule fits. */
static bool plan_blocks(const conv1dt_layer *layer, int64_t batch, int64_t steps, uint64_t in_s,
                        uint64_t out_s, uint64_t avail, int64_t granule, block_plan *bp) {
  size_t ws;
  const int64_t g = granule < batch ? granule : batch;
  if (block_need(layer, g, steps, in_s, out_s, &ws) > avail) return false;
  const int64_t units = (batch + g - 1) / g;
  int64_t lo = 1, hi = units; /* block_need grows with n: the most units that fit */
  const uint64_t target = CHUNK_BLOCK_TARGET / (in_s + out_s) / (uint64_t)g;
  if (target < (uint64_t)hi) hi = target > 1 ? (int64_t)target : 1;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo + 1) / 2;
    const int64_t n = mid * g < batch ? mid * g : batch;
    if (block_need(layer, n, steps, in_s, out_s, &ws) <= avail)
      lo = mid;
    else
      hi = mid - 1;
  }
  bp->blocks = (units + lo - 1) / lo;
  const int64_t u = (units + bp->blocks - 1) / bp->blocks;
  bp->per_block = u * g < batch ? u * g : batch;
  bp->last = batch - (bp->blocks - 1) * bp->per_block;
  bp->need = block_need(layer, bp->per_block, steps, in_s, out_s, &bp->ws);
  return true;
}

static int64_t gcd64(int64_t a, int64_t b) {
  while (b) {
    const int64_t t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/* Blocks of whole samples give the same numbers as one call over the batch when every call
 * runs the same GEMMs. The GEMM method in channels_last multiplies `rows` steps of the
 * flattened batch at a time (docs/ARCHITECTURE.md), samples straddling those blocks, and the
 * BLAS's sums depend on the GEMM's shape: blocks must then start where the whole batch's GEMMs
 * start and hold whole GEMMs, i.e. a multiple of rows / gcd(rows, steps) samples (the whole
 * batch when it is one GEMM). `rows` follows from the workspace the whole batch takes: one col
 * row (K*F) and stride*F accumulator positions per GEMM row, keff*F positions and two
 * 64-byte alignments besides. Every other method and channels_first work sample by sample:
 * granule 1. Returns 0 when the workspace does not match that layout (a library whose plan
 * changed): then blocks may differ from the in-memory run in the last bits. */
static int64_t sample_granule(const conv1dt_layer *layer, conv1dt_algorithm method, int64_t batch,
                              int64_t steps) {
  conv1dt_config cfg;
  conv1dt_dtype dtype;
  conv1dt_get_config(layer, &cfg, NULL, &dtype);
  if (method != CONV1DT_ALGORITHM_GEMM || cfg.data_format != CONV1DT_CHANNELS_LAST) return 1;
  const uint64_t item = dtype == CONV1DT_FLOAT32 ? 4 : 8;
  const uint64_t f = (uint64_t)cfg.filters,
                 keff = (uint64_t)((cfg.kernel_size - 1) * cfg.dilation_rate + 1);
  const uint64_t per_row = ((uint64_t)cfg.strides * f + (uint64_t)cfg.kernel_size * f) * item;
  const uint64_t fixed = keff * f * item + 2 * 64;
  size_t ws;
  if (conv1dt_workspace_size(layer, batch, steps, &ws) != CONV1DT_OK || ws < fixed ||
      (ws - fixed) % per_row != 0)
    return 0;
  const int64_t rows = (int64_t)((ws - fixed) / per_row);
  if (rows <= 0) return 0;
  if (rows >= batch * steps) return batch; /* one GEMM: one block */
  return rows / gcd64(rows, steps);
}

/* ---------------------------------------------------------------------------------------------
 * The pipeline: a reader and a writer thread beside the computing one. Block i uses input and
 * output buffer i % 2; the reader fills block i once block i - 2 is computed, the computing
 * thread takes it once it is read and block i - 2 is written.
 */

typedef struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int64_t read, computed, written; /* blocks done by each stage */
  bool failed;
  char message[768];

  int in_fd, out_fd;
  const char *in_path, *out_path;
  uint64_t in_offset, out_offset; /* data starts */
  uint64_t in_s, out_s;           /* bytes per sample */
  size_t item;
  int64_t batch, per_block, blocks;
  void *in[2], *out[2];
} pipeline;

static bool host_is_little_endian(void) {
  const uint16_t one = 1;
  unsigned char first;
  memcpy(&first, &one, 1);
  return first == 1;
}

/* .npy data is little-endian: a big-endian host swaps items on the way in and out. */
static void swap_items(unsigned char *p, size_t bytes, size_t item) {
  for (size_t i = 0; i + item <= bytes; i += item)
    for (size_t a = i, b = i + item - 1; a < b; a++, b--) {
      const unsigned char t = p[a];
      p[a] = p[b];
      p[b] = t;
    }
}

static int64_t block_samples(const pipeline *pl, int64_t i) {
  const int64_t first = i * pl->per_block;
  return pl->batch - first < pl->per_block ? pl->batch - first : pl->per_block;
}

/* Records the first failure and wakes every stage. */
static void fail(pipeline *pl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(pipeline *pl, const char *fmt, ...) {
  pthread_mutex_lock(&pl->mu);
  if (!pl->failed) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(pl->message, sizeof pl->message, fmt, ap);
    va_end(ap);
    pl->failed = true;
  }
  pthread_cond_broadcast(&pl->cv);
  pthread_mutex_unlock(&pl->mu);
}

/* Waits until *counter >= want; false when the pipeline failed meanwhile. */
static bool wait_for(pipeline *pl, const int64_t *counter, int64_t want) {
  pthread_mutex_lock(&pl->mu);
  while (!pl->failed && *counter < want) pthread_cond_wait(&pl->cv, &pl->mu);
  const bool ok = !pl->failed;
  pthread_mutex_unlock(&pl->mu);
  return ok;
}

static void advance(pipeline *pl, int64_t *counter) {
  pthread_mutex_lock(&pl->mu);
  (*counter)++;
  pthread_cond_broadcast(&pl->cv);
  pthread_mutex_unlock(&pl->mu);
}

static void *reader(void *arg) {
  pipeline *pl = arg;
  for (int64_t i = 0; i < pl->blocks; i++) {
    if (!wait_for(pl, &pl->computed, i - 1)) return NULL;
    unsigned char *dst = pl->in[i % 2];
    const size_t n = (size_t)((uint64_t)block_samples(pl, i) * pl->in_s);
    const uint64_t at = pl->in_offset + (uint64_t)(i * pl->per_block) * pl->in_s;
    for (size_t got = 0; got < n;) {
      const ssize_t r = pread(pl->in_fd, dst + got, n - got, (off_t)(at + got));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        if (r < 0)
          fail(pl, "cannot read --input '%s': read error: %s", pl->in_path, strerror(errno));
        else
          fail(pl,
               "cannot read --input '%s': the file ended at byte %" PRIu64 " (it was cut "
               "short while being read)",
               pl->in_path, at + got);
        return NULL;
      }
      got += (size_t)r;
    }
    if (!host_is_little_endian()) swap_items(dst, n, pl->item);
    advance(pl, &pl->read);
  }
  return NULL;
}

static void *writer(void *arg) {
  pipeline *pl = arg;
  for (int64_t i = 0; i < pl->blocks; i++) {
    if (!wait_for(pl, &pl->computed, i + 1)) return NULL;
    unsigned char *src = pl->out[i % 2];
    const size_t n = (size_t)((uint64_t)block_samples(pl, i) * pl->out_s);
    const uint64_t at = pl->out_offset + (uint64_t)(i * pl->per_block) * pl->out_s;
    if (!host_is_little_endian()) swap_items(src, n, pl->item);
    for (size_t done = 0; done < n;) {
      const ssize_t w = pwrite(pl->out_fd, src + done, n - done, (off_t)(at + done));
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) {
        fail(pl, "cannot write --output '%s': write error: %s", pl->out_path,
             strerror(w < 0 ? errno : EIO));
        return NULL;
      }
      done += (size_t)w;
    }
    advance(pl, &pl->written);
  }
  return NULL;
}

/* The computing stage, on the calling thread. */
static void compute(pipeline *pl, const cli_chunked_job *job, const conv1dt_layer *layer,
                    int64_t steps, void *ws, size_t ws_bytes) {
  for (int64_t i = 0; i < pl->blocks; i++) {
    if (!wait_for(pl, &pl->read, i + 1) || !wait_for(pl, &pl->written, i - 1)) return;
    const conv1dt_status st = conv1dt_forward(layer, pl->in[i % 2], block_samples(pl, i), steps,
                                              pl->out[i % 2], ws, ws_bytes);
    if (st != CONV1DT_OK) {
      fail(pl, "forward pass failed: %s (%s)", conv1dt_last_error(), conv1dt_status_name(st));
      return;
    }
    advance(pl, &pl->computed);
    if (job->progress)
      job->progress(
          job->progress_ctx,
          (double)((i + 1) * pl->per_block < pl->batch ? (i + 1) * pl->per_block : pl->batch));
    cli_test_hook("block");
  }
}

/* ---------------------------------------------------------------------------------------------
 */

/* "8 MiB", "1.5 GiB", "300 KiB", "1000 bytes". */
static void format_bytes(char *buf, size_t size, uint64_t v) {
  static const char *const units[] = {"GiB", "MiB", "KiB"};
  for (int u = 0; u < 3; u++) {
    const uint64_t unit = (uint64_t)1 << (30 - 10 * u);
    if (v < unit) continue;
    if (v % unit == 0)
      snprintf(buf, size, "%" PRIu64 " %s", v / unit, units[u]);
    else
      snprintf(buf, size, "%.1f %s", (double)v / (double)unit, units[u]);
    return;
  }
  snprintf(buf, size, "%" PRIu64 " bytes", v);
}

/* Opens the input and checks it is still what the layer was planned for. */
static int open_input(const cli_chunked_job *job, uint64_t in_bytes, uint64_t *offset) {
  const int fd = open(job->input_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    cli_error("cannot read --input '%s': cannot open: %s", job->input_path, strerror(errno));
    return -1;
  }
  npy_header h;
  char err[512];
  if (npy_read_header(fd, &h, err, sizeof err) != NPY_OK) {
    cli_error("cannot read --input '%s': %s", job->input_path, err);
  } else if (h.dtype != job->dtype || h.ndim != 3 || h.shape[0] != job->batch ||
             (uint64_t)h.nbytes != in_bytes) {
    cli_error("cannot read --input '%s': the file changed while being read", job->input_path);
  } else {
#ifdef POSIX_FADV_SEQUENTIAL
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    *offset = h.data_offset;
    return fd;
  }
  close(fd);
  return -1;
}

/* ---------------------------------------------------------------------------------------------
 * A sample too long for the limit: along its steps, through a stream (conv1dt_stream_*)
 */

static bool read_at(int fd, void *buf, size_t n, uint64_t at, const char *path) {
  for (size_t got = 0; got < n;) {
    const ssize_t r = pread(fd, (char *)buf + got, n - got, (off_t)(at + got));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      if (r < 0)
        cli_error("cannot read --input '%s': read error: %s", path, strerror(errno));
      else
        cli_error("cannot read --input '%s': the file ended at byte %" PRIu64 " (it was cut short "
                  "while being read)",
                  path, at + got);
      return false;
    }
    got += (size_t)r;
  }
  return true;
}

static bool write_at(int fd, const void *buf, size_t n, uint64_t at, const char *path) {
  for (size_t done = 0; done < n;) {
    const ssize_t w = pwrite(fd, (const char *)buf + done, n - done, (off_t)(at + done));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      cli_error("cannot write --output '%s': write error: %s", path, strerror(w < 0 ? errno : EIO));
      return false;
    }
    done += (size_t)w;
  }
  return true;
}

/* The input steps a stream starts at to compute output steps from p0 on: output step p sums
 * input steps t with t*s + k*d = p + crop (k a tap), none before (p + crop - Keff + 1) / s; a
 * crop >= 0 only moves that later, so floor((p0 - Keff + 1) / s) is early enough for any
 * padding, and is at most p0 / s (the stream's first output step is the first input step's
 * first one). The steps from there up to the part's own are its halo: read again by this rank
 * rather than received from the rank computing them. */
static int64_t halo_start(const conv1dt_config *cfg, int64_t p0) {
  const int64_t keff = (cfg->kernel_size - 1) * cfg->dilation_rate + 1;
  const int64_t q = p0 - keff + 1;
  return q <= 0 ? 0 : q / cfg->strides;
}

/* Runs each sample of the part along its steps through a stream of one signal on a copy of the
 * layer whose workspace limit keeps the stream within the memory limit: blocks of `block` steps
 * are read (channels_first: each channel's run of steps), pushed, and the output steps they
 * make final written at their offsets (channels_first: each filter's run); the flush writes the
 * rest. A part of the output steps [q0, q1) starts the stream at its halo (halo_start: the
 * stream's output step j is then the output's step j + t0 * strides, final and equal to it
 * from q0 on), pushes until step q1 - 1 is out (conv1dt_stream_latency), flushes only at the
 * input's end, and writes [q0, q1) alone. */
/* One block's output steps [a, e) of `got` (from output step p) of sample b, for the writer
 * thread. */
typedef struct {
  const cli_chunked_job *job;
  int out_fd;
  uint64_t out_off;
  int64_t out_ch, out_steps, got, a, e, p, b;
  bool cf;
  const unsigned char *buf;
} steps_piece;

static bool write_piece(void *arg) {
  const steps_piece *w = arg;
  const size_t item = (size_t)w->job->dtype;
  const char *path = w->job->output_path;
  /* (1, got, F) or (1, F, got): steps [a, e) at output step p + a */
  if (w->cf) {
    for (int64_t f = 0; f < w->out_ch && w->e > w->a; f++)
      if (!write_at(w->out_fd, w->buf + (size_t)(f * w->got + w->a) * item,
                    (size_t)(w->e - w->a) * item,
                    w->out_off + ((uint64_t)(w->b * w->out_ch + f) * (uint64_t)w->out_steps +
                                  (uint64_t)(w->p + w->a)) *
                                     item,
                    path))
        return false;
    return true;
  }
  return w->e <= w->a ||
         write_at(w->out_fd, w->buf + (size_t)(w->a * w->out_ch) * item,
                  (size_t)((w->e - w->a) * w->out_ch) * item,
                  w->out_off + ((uint64_t)w->b * (uint64_t)w->out_steps + (uint64_t)(w->p + w->a)) *
                                   (uint64_t)w->out_ch * item,
                  path);
}

static bool stream_run(const cli_chunked_job *job, uint64_t limit) {
  const size_t item = (size_t)job->dtype;
  const int64_t steps = job->steps;
  conv1dt_config cfg;
  int64_t in_ch;
  conv1dt_get_config(job->layer, &cfg, &in_ch, NULL);
  const bool cf = cfg.data_format == CONV1DT_CHANNELS_FIRST;
  const int64_t out_steps = job->out_shape[cf ? 2 : 1], out_ch = job->out_shape[cf ? 1 : 2];
  const int64_t q0 = job->step_first, q1 = job->step_first + job->step_count;
  const uint64_t held = 2 * layer_bytes(job->layer, steps) + job->held_bytes; /* + the copy */
  char lim[32], need[32];
  format_bytes(lim, sizeof lim, limit);
  if (limit <= held + CHUNK_SLACK) {
    format_bytes(need, sizeof need, held + CHUNK_SLACK);
    cli_error("--memory-limit %s is too small: the layer alone needs about %s; raise "
              "--memory-limit",
              lim, need);
    return false;
  }
  const uint64_t avail = limit - held;
  /* Half of what remains for the stream (its staging and workspace, which the layer's
   * workspace limit bounds), half for this function's blocks. */
  conv1dt_layer *copy = NULL;
  conv1dt_stream *stream = NULL;
  unsigned char *xb = NULL, *ybs[2] = {NULL, NULL};
  cli_writer *writer = NULL;
  int in_fd = -1;
  cli_stage own = {-1, NULL, NULL, -1};
  bool ok = false;
  if (!copy_layer(job->layer, cfg.algorithm, (size_t)(avail / 2 < SIZE_MAX ? avail / 2 : SIZE_MAX),
                  &copy))
    return false;
  size_t stream_bytes = 0;
  conv1dt_status st = conv1dt_stream_open(copy, 1, &stream);
  if (st == CONV1DT_ERROR_UNSUPPORTED) {
    cli_error("--memory-limit %s is too small for one sample (%" PRId64 " steps), and it cannot "
              "be processed along its steps: activation '%s' of a channels_first layer acts "
              "along the steps axis, so no output step is final before the whole sample is "
              "read; raise --memory-limit",
              lim, steps, cfg.activation ? cfg.activation : "linear");
    goto done;
  }
  if (st != CONV1DT_OK || (st = conv1dt_stream_size(copy, 1, &stream_bytes)) != CONV1DT_OK) {
    cli_lib_error("cannot open a stream along the steps", st);
    goto done;
  }
  int64_t most = 0, tail = 0;
  conv1dt_stream_max_output_steps(copy, 1, &most, &tail);
  /* two output buffers: the writer thread writes one block's while the next is computed */
  const uint64_t per_step = (uint64_t)in_ch * item + 2 * (uint64_t)most * (uint64_t)out_ch * item;
  const uint64_t fixed = stream_bytes + 2 * (uint64_t)tail * (uint64_t)out_ch * item;
  int64_t block = 0;
  if (avail > fixed && per_step > 0) {
    const uint64_t n = (avail - fixed) / per_step;
    block = n > (uint64_t)steps ? steps : (int64_t)n;
  }
  if (block < 1) {
    format_bytes(need, sizeof need, held + fixed + per_step);
    cli_error("--memory-limit %s is too small: one sample (%" PRId64 " steps) needs at least %s "
              "even along its steps (the layer, a stream of its steps, one step's buffers); "
              "raise --memory-limit",
              lim, steps, need);
    goto done;
  }
  const int64_t y_cap = block * most > tail ? block * most : tail;
  xb = malloc((size_t)block * (size_t)in_ch * item);
  ybs[0] = malloc((size_t)y_cap * (size_t)out_ch * item + 1);
  ybs[1] = malloc((size_t)y_cap * (size_t)out_ch * item + 1);
  if (!xb || !ybs[0] || !ybs[1]) {
    cli_error("out of memory for blocks of %" PRId64 " steps", block);
    goto done;
  }
  /* The input steps [t_first, t_end) this part reads. */
  const int64_t t_first = halo_start(&cfg, q0);
  int64_t t_end = steps;
  if (q1 < out_steps) {
    int64_t n = 0;
    if ((st = conv1dt_stream_latency(copy, q1 - 1 - t_first * cfg.strides, &n)) != CONV1DT_OK) {
      cli_lib_error("cannot plan the stream", st);
      goto done;
    }
    if (n < steps - t_first) t_end = t_first + n;
  }
  const char *debug = getenv("CONV1DT_DEBUG_CHUNKS");
  if (debug && *debug)
    fprintf(stderr,
            "conv1dt: chunks: %" PRId64 " blocks of %" PRId64 " steps along each sample's "
            "steps, stream %zu, buffers %" PRIu64 ", limit %" PRIu64 "\n",
            job->count * ((t_end - t_first + block - 1) / block), block, stream_bytes,
            (uint64_t)block * per_step + (uint64_t)tail * (uint64_t)out_ch * item, limit);

  uint64_t in_off = 0, out_off = job->out_offset;
  int out_fd = job->out_fd;
  const uint64_t in_s = (uint64_t)steps * (uint64_t)in_ch * item;
  if ((in_fd = open_input(job, (uint64_t)job->batch * in_s, &in_off)) < 0) goto done;
  if (out_fd < 0) {
    unsigned char header[4096];
    const size_t hsize = npy_build_header(job->dtype, 3, job->out_shape, header, sizeof header);
    if (hsize == 0) {
      cli_error("cannot write --output '%s': cannot build the .npy header", job->output_path);
      goto done;
    }
    if (!cli_stage_create(&own, "output", job->output_path)) goto done;
    if (!write_at(own.fd, header, hsize, 0, job->output_path)) goto done;
    out_fd = own.fd;
    out_off = hsize;
  }
  const bool swap = !host_is_little_endian();
  if (!(writer = cli_writer_start())) goto done;
  steps_piece pieces[2];
  int cur = 0;
  for (int64_t b = job->first; b < job->first + job->count; b++) {
    int64_t p = t_first * cfg.strides;              /* the output step of the stream's next one */
    for (int64_t t0 = t_first, nb = 0;; t0 += nb) { /* the blocks, then the flush */
      const bool last = t0 >= t_end;
      nb = last ? 0 : (t_end - t0 < block ? t_end - t0 : block);
      if (!last) {
        /* (1, nb, C) or (1, C, nb) */
        if (cf) {
          for (int64_t c = 0; c < in_ch; c++)
            if (!read_at(in_fd, xb + (size_t)(c * nb) * item, (size_t)nb * item,
                         in_off +
                             ((uint64_t)(b * in_ch + c) * (uint64_t)steps + (uint64_t)t0) * item,
                         job->input_path))
              goto done;
        } else if (!read_at(in_fd, xb, (size_t)(nb * in_ch) * item,
                            in_off + ((uint64_t)b * (uint64_t)steps + (uint64_t)t0) *
                                         (uint64_t)in_ch * item,
                            job->input_path)) {
          goto done;
        }
        if (swap) swap_items(xb, (size_t)(nb * in_ch) * item, item);
      }
      unsigned char *yb = ybs[cur];
      int64_t got = 0;
      if (last && t_end < steps)
        got = 0; /* the input goes on: no flush (the part's steps are all out) */
      else if ((st = last ? conv1dt_stream_flush(stream, yb, y_cap, &got)
                          : conv1dt_stream_push(stream, xb, nb, yb, y_cap, &got)) != CONV1DT_OK) {
        cli_lib_error("forward pass failed", st);
        goto done;
      }
      if (got > out_steps - p) {
        cli_error("forward pass failed: the stream returned more steps than the output holds");
        goto done;
      }
      /* Of the `got` steps from output step p, those in [q0, q1): [a, e) of them. */
      const int64_t a = q0 > p ? (q0 - p < got ? q0 - p : got) : 0;
      const int64_t e = q1 < p + got ? (q1 > p ? q1 - p : 0) : got;
      if (swap) swap_items(yb, (size_t)(got * out_ch) * item, item);
      pieces[cur] = (steps_piece){job, out_fd, out_off, out_ch, out_steps, got, a, e, p, b, cf, yb};
      if (!cli_writer_submit(writer, write_piece, &pieces[cur])) goto done;
      cur ^= 1;
      p += got;
      if (job->progress)
        job->progress(job->progress_ctx, (double)(b - job->first) + (double)(t0 + nb - t_first) /
                                                                        (double)(t_end - t_first));
      if (!last) cli_test_hook("block");
      if (last) break;
    }
    if (p < q1) {
      cli_error("forward pass failed: the stream returned %" PRId64 " of %" PRId64 " steps",
                p - t_first * cfg.strides, q1 - t_first * cfg.strides);
      goto done;
    }
    conv1dt_stream_reset(stream);
  }
  /* every block written; an output of its own is published here (abandoned by it on failure),
   * a shared one by the caller */
  ok = cli_writer_finish(writer);
  writer = NULL;
  ok = ok && (own.fd < 0 || cli_stage_publish(&own, "output"));
done:
  if (writer) cli_writer_finish(writer);
  if (!ok) cli_stage_abandon(&own);
  if (in_fd >= 0) close(in_fd);
  free(xb);
  free(ybs[0]);
  free(ybs[1]);
  conv1dt_stream_close(stream);
  conv1dt_destroy(copy);
  return ok;
}

/* cli_chunked_run; *pinned: the layer's copy with its method fixed, when one was made. */
static bool chunked_run(const cli_chunked_job *job, conv1dt_layer **pinned) {
  const conv1dt_layer *layer = job->layer;
  const uint64_t limit = job->memory_limit ? job->memory_limit : cli_default_memory_limit();
  const size_t item = (size_t)job->dtype;
  const int64_t batch = job->batch, steps = job->steps, count = job->count;
  conv1dt_config cfg;
  int64_t in_ch;
  conv1dt_get_config(layer, &cfg, &in_ch, NULL);
  if (job->out_fd >= 0 && (count == 0 || job->step_count == 0)) return true; /* an idle rank */
  if (job->step_count < job->out_shape[cfg.data_format == CONV1DT_CHANNELS_FIRST ? 2 : 1])
    return stream_run(job, limit); /* a part of the steps: from them and their halo */
  /* Every size below is at most the input's or the output's byte count, both checked. */
  const uint64_t in_s = (uint64_t)steps * (uint64_t)in_ch * item;
  const uint64_t out_s = (uint64_t)job->out_shape[1] * (uint64_t)job->out_shape[2] * item;
  char lim[32];
  format_bytes(lim, sizeof lim, limit);

  block_plan bp = {0, 0, 0, 0, 0};
  conv1dt_algorithm whole = CONV1DT_ALGORITHM_GEMM;
  void *ws = NULL;
  bool ok = false;
  if (count > 0 && out_s > 0) {
    /* The method of one call over the whole batch; each block's call must run the same one. */
    conv1dt_status st = conv1dt_forward_algorithm(layer, batch, steps, 0, &whole);
    if (st != CONV1DT_OK) {
      cli_lib_error("invalid input", st);
      return false;
    }
    int64_t granule = sample_granule(layer, whole, batch, steps);
    for (int attempt = 0;; attempt++) {
      const uint64_t held = layer_bytes(layer, steps) + job->held_bytes +
                            (*pinned ? layer_bytes(job->layer, steps) : 0);
      const bool whole_gemms =
          granule > 0 && limit > held &&
          plan_blocks(layer, count, steps, in_s, out_s, limit - held, granule, &bp);
      if (!whole_gemms && granule != 1) {
        char gran[32];
        snprintf(gran, sizeof gran, "%" PRId64, granule);
        fprintf(stderr,
                "conv1dt: note: the in-memory run's GEMMs span %s samples, more than "
                "--memory-limit %s holds: blocks of fewer samples may differ from it in the "
                "last bits (--algorithm direct or gemm_accumulate, or channels_first, do not)\n",
                granule ? gran : "several", lim);
        granule = 1;
      }
      if (!whole_gemms &&
          (limit <= held || !plan_blocks(layer, count, steps, in_s, out_s, limit - held, 1, &bp)))
        return stream_run(job, limit); /* one sample is too long: along its steps */
      conv1dt_algorithm a = whole, b = whole;
      if (conv1dt_forward_algorithm(layer, bp.per_block, steps, bp.ws, &a) != CONV1DT_OK ||
          conv1dt_forward_algorithm(layer, bp.last, steps, bp.ws, &b) != CONV1DT_OK) {
        cli_lib_error("invalid input", CONV1DT_ERROR_INVALID_VALUE);
        return false;
      }
      if (a == whole && b == whole) break;
      if (attempt == 1) {
        fprintf(stderr,
                "conv1dt: note: blocks of %" PRId64 " samples compute with %s where the whole "
                "batch would use %s: results may differ from an in-memory run in rounding\n",
                bp.per_block, conv1dt_algorithm_name(a != whole ? a : b),
                conv1dt_algorithm_name(whole));
        break;
      }
      /* AUTO would choose another method for a block than for the whole batch (a block of one
       * sample shares no GEMM): fix the whole batch's method. */
      if (!copy_layer(job->layer, whole, 0, pinned)) return false;
      layer = *pinned;
    }
    /* For the tests: the plan, on stderr. */
    const char *debug = getenv("CONV1DT_DEBUG_CHUNKS");
    if (debug && *debug)
      fprintf(stderr,
              "conv1dt: chunks: %" PRId64 " blocks of %" PRId64 " samples (last %" PRId64
              "), %s, workspace %zu, buffers and workspace %" PRIu64 ", limit %" PRIu64 "\n",
              bp.blocks, bp.per_block, bp.last, conv1dt_algorithm_name(whole), bp.ws, bp.need,
              limit);
    if (conv1dt_workspace_alloc(bp.ws ? bp.ws : 1, &ws) != CONV1DT_OK) {
      cli_error("out of memory for a workspace of %zu bytes", bp.ws);
      return false;
    }
  }

  /* The output: header, then every block at its offset. */
  unsigned char header[4096];
  const size_t hsize = npy_build_header(job->dtype, 3, job->out_shape, header, sizeof header);
  pipeline pl;
  memset(&pl, 0, sizeof pl);
  pl.in_fd = -1;
  cli_stage out = {-1, NULL, NULL, -1};
  if (hsize == 0) {
    cli_error("cannot write --output '%s': cannot build the .npy header", job->output_path);
    goto done;
  }
  if ((pl.in_fd = open_input(job, (uint64_t)batch * in_s, &pl.in_offset)) < 0) goto done;
  pl.in_offset += (uint64_t)job->first * in_s;
  pl.out_fd = job->out_fd;
  pl.out_offset = job->out_offset + (uint64_t)job->first * out_s;
  if (pl.out_fd < 0) { /* an output of its own */
    if (!cli_stage_create(&out, "output", job->output_path)) goto done;
    /* The file grows block by block (no ftruncate to its size first: a file-size limit or a
     * full disk then shows where it happens, and no sparse file of the full size stands
     * meanwhile). */
    if (pwrite(out.fd, header, hsize, 0) != (ssize_t)hsize) {
      cli_error("cannot write --output '%s': %s", job->output_path, strerror(errno));
      goto done;
    }
    pl.out_fd = out.fd;
    pl.out_offset = hsize + (uint64_t)job->first * out_s;
  }
  if (bp.blocks > 0) {
    pl.in_path = job->input_path;
    pl.out_path = job->output_path;
    pl.in_s = in_s;
    pl.out_s = out_s;
    pl.item = item;
    pl.batch = count;
    pl.per_block = bp.per_block;
    pl.blocks = bp.blocks;
    for (int j = 0; j < 2; j++) {
      const int64_t n = bp.blocks > j ? (j == 1 && bp.blocks == 2 ? bp.last : bp.per_block) : 0;
      pl.in[j] = malloc(n ? (size_t)((uint64_t)n * in_s) : 1);
      pl.out[j] = malloc(n ? (size_t)((uint64_t)n * out_s) : 1);
      if (!pl.in[j] || !pl.out[j]) {
        cli_error("out of memory for the blocks of %" PRId64 " samples", bp.per_block);
        goto done;
      }
    }
    pthread_mutex_init(&pl.mu, NULL);
    pthread_cond_init(&pl.cv, NULL);
    pthread_t rt, wt;
    const bool r_ok = pthread_create(&rt, NULL, reader, &pl) == 0;
    const bool w_ok = r_ok && pthread_create(&wt, NULL, writer, &pl) == 0;
    if (w_ok)
      compute(&pl, job, layer, steps, ws, bp.ws);
    else
      fail(&pl, "cannot start the reader and writer threads");
    if (r_ok) pthread_join(rt, NULL);
    if (w_ok) pthread_join(wt, NULL);
    pthread_cond_destroy(&pl.cv);
    pthread_mutex_destroy(&pl.mu);
    if (pl.failed) {
      cli_error("%s", pl.message);
      goto done;
    }
  }
  /* Abandons the stage itself on failure; a shared output is the caller's to publish. */
  ok = out.fd < 0 || cli_stage_publish(&out, "output");
done:
  if (!ok) cli_stage_abandon(&out); /* nothing to do once published or abandoned */
  if (pl.in_fd >= 0) close(pl.in_fd);
  for (int j = 0; j < 2; j++) {
    free(pl.in[j]);
    free(pl.out[j]);
  }
  conv1dt_workspace_free(ws);
  return ok;
}

int64_t cli_chunked_granule(const conv1dt_layer *layer, int64_t batch, int64_t steps) {
  conv1dt_algorithm whole;
  if (batch <= 0 || conv1dt_forward_algorithm(layer, batch, steps, 0, &whole) != CONV1DT_OK)
    return 1;
  return sample_granule(layer, whole, batch, steps);
}

bool cli_chunked_run(const cli_chunked_job *job) {
  conv1dt_layer *pinned = NULL;
  const bool ok = chunked_run(job, &pinned);
  conv1dt_destroy(pinned);
  return ok;
}
