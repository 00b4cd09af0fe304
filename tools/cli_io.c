/* conv1dt's .npy inputs and outputs; see cli_io.h. */
/* O_TMPFILE, AT_SYMLINK_FOLLOW: Linux; elsewhere only the named fallback is built. */
#define _GNU_SOURCE

#include "cli_io.h"
#include "cli_error.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *cli_dtype_name(npy_dtype d) {
  return d == NPY_FLOAT32 ? "float32" : "float64";
}

void cli_format_shape(char *buf, size_t size, int ndim, const int64_t *shape) {
  size_t n = (size_t)snprintf(buf, size, "(");
  for (int i = 0; i < ndim && n < size; i++)
    n += (size_t)snprintf(buf + n, size - n, i ? ", %" PRId64 : "%" PRId64, shape[i]);
  if (n < size) snprintf(buf + n, size - n, ndim == 1 ? ",)" : ")");
}

bool cli_load(const char *flag, const char *path, npy_array *arr) {
  char err[512];
  if (npy_load(path, arr, err, sizeof err) != NPY_OK) {
    cli_error("cannot read --%s '%s': %s", flag, path, err);
    return false;
  }
  return true;
}

bool cli_check_layer_arrays(const npy_array *x, const npy_array *k, const npy_array *b,
                            conv1dt_data_format fmt) {
  char s[1024];
  if (x->ndim != 3) {
    cli_format_shape(s, sizeof s, x->ndim, x->shape);
    cli_error("--input has shape %s (rank %d); expected rank 3: %s", s, x->ndim,
              fmt == CONV1DT_CHANNELS_LAST ? "(batch, steps, channels)"
                                           : "(batch, channels, steps)");
    return false;
  }
  if (k->ndim != 3) {
    cli_format_shape(s, sizeof s, k->ndim, k->shape);
    cli_error(
        "--kernel has shape %s (rank %d); expected rank 3: (kernel_size, filters, in_channels)", s,
        k->ndim);
    return false;
  }
  if (k->dtype != x->dtype) {
    cli_error("--kernel is %s but --input is %s; all arrays must have the same dtype",
              cli_dtype_name(k->dtype), cli_dtype_name(x->dtype));
    return false;
  }
  if (b) {
    if (b->dtype != x->dtype) {
      cli_error("--bias is %s but --input is %s; all arrays must have the same dtype",
                cli_dtype_name(b->dtype), cli_dtype_name(x->dtype));
      return false;
    }
    if (b->ndim != 1 || b->shape[0] != k->shape[1]) {
      cli_format_shape(s, sizeof s, b->ndim, b->shape);
      cli_error("--bias has shape %s; expected (%" PRId64 ",), the kernel's filters", s,
                k->shape[1]);
      return false;
    }
  }
  int axis = fmt == CONV1DT_CHANNELS_LAST ? 2 : 1;
  if (x->shape[axis] != k->shape[2]) {
    cli_error("--input has %" PRId64 " channels (axis %d, %s) but the kernel expects %" PRId64
              " (in_channels, its last axis)",
              x->shape[axis], axis,
              fmt == CONV1DT_CHANNELS_LAST ? "channels_last" : "channels_first", k->shape[2]);
    return false;
  }
  return true;
}

bool cli_check_output_path(const char *flag, const char *path) {
  struct stat sb;
  if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
    cli_error("--%s '%s' is a directory", flag, path);
    return false;
  }
  const char *slash = strrchr(path, '/');
  if (!slash) return true;
  const size_t len = slash == path ? 1 : (size_t)(slash - path); /* "/y.npy": the root */
  char *dir = malloc(len + 1);
  if (!dir) {
    cli_error("out of memory");
    return false;
  }
  memcpy(dir, path, len);
  dir[len] = '\0';
  const bool ok = stat(dir, &sb) == 0 && S_ISDIR(sb.st_mode);
  if (!ok) cli_error("--%s '%s': directory '%s' does not exist", flag, path, dir);
  free(dir);
  return ok;
}

bool cli_check_outputs(const cli_command *cmd, const char *const *values) {
  for (int k = 0; k < cmd->count; k++)
    if ((cmd->options[k].flags & CLI_WRITES) && values[k] &&
        !cli_check_output_path(cmd->options[k].name, values[k]))
      return false;
  return true;
}

/* ---------------------------------------------------------------------------------------------
 * Staged outputs
 */

/* The named temporaries a signal must remove: a fixed table the handler reads without locks.
 * A slot's name is written only while it is free; `used` publishes it. Slots are taken round
 * robin, so a name just released is not rewritten while a handler on another thread may still
 * be reading it. */
enum { STAGE_SLOTS = 32, STAGE_NAME_MAX = 4096 };
static char stage_names[STAGE_SLOTS][STAGE_NAME_MAX];
static atomic_int stage_used[STAGE_SLOTS];
static int stage_next;

/* Publishing defers the signals (stage_state 1): a handler records the signal in stage_pending
 * and returns, and the end of the publish raises it, so that outputs published together all
 * appear before the process ends. 0: running, 2: dying. */
static atomic_int stage_state, stage_pending;
static int defer_depth; /* nesting on the publishing thread */

static void signals_defer(void) {
  int running = 0;
  if (defer_depth++ == 0) atomic_compare_exchange_strong(&stage_state, &running, 1);
}

static void signals_undefer(void) {
  if (--defer_depth > 0) return;
  int publishing = 1;
  atomic_compare_exchange_strong(&stage_state, &publishing, 0);
  const int sig = atomic_exchange(&stage_pending, 0);
  if (sig) raise(sig);
}

void cli_test_hook(const char *point) {
  static int calls;
  const char *want = getenv("CONV1DT_TEST_HOOK");
  if (!want) return;
  const size_t len = strlen(point);
  if (strncmp(want, point, len) != 0 || (want[len] != '\0' && want[len] != ':')) return;
  const long nth = want[len] == ':' ? strtol(want + len + 1, NULL, 10) : 1;
  if (++calls != nth) return;
  fprintf(stderr, "conv1dt: test hook: %s\n", point);
  fflush(stderr);
  /* Until a signal ends the process, or one is deferred to the end of a publish. */
  while (!atomic_load(&stage_pending)) {
    struct timespec ts = {0, 10000000L};
    nanosleep(&ts, NULL);
  }
}

static void on_fatal_signal(int sig) {
  for (;;) {
    int expected = 0;
    if (atomic_compare_exchange_strong(&stage_state, &expected, 2) || expected == 2) break;
    atomic_store(&stage_pending, sig); /* publishing: its end raises the signal again... */
    if (atomic_load(&stage_state) == 1) return;
    /* ...unless it ended meanwhile: then go on here */
  }
  for (int i = 0; i < STAGE_SLOTS; i++)
    if (atomic_load(&stage_used[i])) unlink(stage_names[i]);
  if (cli_stderr_line_open && write(STDERR_FILENO, "\n", 1) < 0) {
    /* the progress line stays unended */
  }
  /* Default action, re-raised: blocked in this handler, it ends the process on return. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  sigemptyset(&sa.sa_mask);
  sigaction(sig, &sa, NULL);
  raise(sig);
}

void cli_stage_signals(void) {
  static bool installed;
  if (installed) return;
  installed = true;
  static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
    struct sigaction old, sa;
    if (sigaction(sigs[i], NULL, &old) != 0 || old.sa_handler == SIG_IGN) continue;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    for (size_t j = 0; j < sizeof sigs / sizeof *sigs; j++) sigaddset(&sa.sa_mask, sigs[j]);
    sigaction(sigs[i], &sa, NULL);
  }
}

/* Takes a slot for a name "DIR/.BASE.XXXXXX" (dirlen bytes of path are DIR/) and marks it
 * used before the caller fills in the X's (mkstemp in place, or its own suffix): a handler
 * running in between unlinks a name that does not exist. Returns -1 when none is free or the
 * name is too long. */
static int slot_take(const char *path, size_t dirlen) {
  const size_t need = strlen(path) + 9;
  if (need > STAGE_NAME_MAX) return -1;
  for (int k = 0; k < STAGE_SLOTS; k++) {
    const int i = (stage_next + k) % STAGE_SLOTS;
    if (atomic_load(&stage_used[i])) continue;
    snprintf(stage_names[i], STAGE_NAME_MAX, "%.*s.%s.XXXXXX", (int)dirlen, path, path + dirlen);
    atomic_store(&stage_used[i], 1);
    stage_next = (i + 1) % STAGE_SLOTS;
    return i;
  }
  return -1;
}

static void slot_release(int slot) {
  if (slot >= 0) atomic_store(&stage_used[slot], 0);
}

int cli_stage_watch(const char *name) {
  cli_stage_signals();
  if (strlen(name) >= STAGE_NAME_MAX) return -1;
  for (int k = 0; k < STAGE_SLOTS; k++) {
    const int i = (stage_next + k) % STAGE_SLOTS;
    if (atomic_load(&stage_used[i])) continue;
    snprintf(stage_names[i], STAGE_NAME_MAX, "%s", name);
    atomic_store(&stage_used[i], 1);
    stage_next = (i + 1) % STAGE_SLOTS;
    return i;
  }
  return -1;
}

void cli_stage_unwatch(int handle) {
  slot_release(handle);
}

/* Bytes of path up to and including its last '/' (0: the current directory). */
static size_t dir_length(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? (size_t)(slash - path) + 1 : 0;
}

/* Opens path's directory (for O_TMPFILE and fsync). */
static int open_dir(const char *path, int flags) {
  const size_t dirlen = dir_length(path);
  char dir[STAGE_NAME_MAX];
  if (dirlen >= sizeof dir) {
    errno = ENAMETOOLONG;
    return -1;
  }
  if (dirlen)
    snprintf(dir, sizeof dir, "%.*s", (int)(dirlen > 1 ? dirlen - 1 : 1), path);
  else
    snprintf(dir, sizeof dir, ".");
  return open(dir, flags);
}

/* An unnamed file in path's directory, or -1 where O_TMPFILE or /proc is missing. */
static int open_unnamed(const char *path) {
#ifdef O_TMPFILE
  const char *off = getenv("CONV1DT_TEST_NO_TMPFILE");
  if (off && strcmp(off, "1") == 0) return -1;
  const int dfd = open_dir(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return -1;
  const int fd = openat(dfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0666);
  close(dfd);
  if (fd < 0) return -1;
  /* Publishing links it through /proc; without /proc it could never get a name. */
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
  if (access(proc, F_OK) != 0) {
    close(fd);
    return -1;
  }
  return fd;
#else
  (void)path;
  return -1;
#endif
}

static bool stage_create(cli_stage *s, const char *flag, const char *path, bool named) {
  cli_stage_signals();
  s->fd = -1;
  s->temp = NULL;
  s->slot = -1;
  s->path = strdup(path);
  if (!s->path) {
    cli_error("out of memory");
    return false;
  }
  s->fd = named ? -1 : open_unnamed(path);
  if (s->fd < 0) {
    s->slot = slot_take(path, dir_length(path));
    if (s->slot < 0) {
      cli_error("cannot write --%s '%s': the path is too long, or too many files are staged", flag,
                path);
      free(s->path);
      return false;
    }
    s->temp = stage_names[s->slot];
    s->fd = mkstemp(s->temp);
    /* mkstemp makes the file 0600; give it what open(O_CREAT, 0666) would have. umask() is
     * the only portable way to read the mask (setting it back at once). */
    const mode_t mask = umask(0);
    umask(mask);
    if (s->fd < 0 || fchmod(s->fd, (mode_t)0666 & ~mask) != 0) {
      cli_error("cannot write --%s '%s': cannot create a temporary file: %s", flag, path,
                strerror(errno));
      if (s->fd >= 0) {
        close(s->fd);
        unlink(s->temp);
      }
      slot_release(s->slot);
      free(s->path);
      s->fd = -1;
      return false;
    }
  }
  cli_test_hook("staged");
  return true;
}

bool cli_stage_create(cli_stage *s, const char *flag, const char *path) {
  return stage_create(s, flag, path, false);
}

bool cli_stage_create_named(cli_stage *s, const char *flag, const char *path) {
  return stage_create(s, flag, path, true);
}

void cli_stage_abandon(cli_stage *s) {
  if (s->fd < 0) return;
  close(s->fd);
  s->fd = -1;
  if (s->temp) unlink(s->temp);
  slot_release(s->slot);
  s->slot = -1;
  s->temp = NULL;
  free(s->path);
  s->path = NULL;
}

/* Gives the unnamed staged file a hidden name ".BASE.XXXXXX" beside its destination, registered
 * like the fallback's (s->temp, s->slot): then publishing renames it. 0, or -1 with errno. */
static int link_hidden(cli_stage *s) {
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", s->fd);
  s->slot = slot_take(s->path, dir_length(s->path));
  if (s->slot < 0) {
    errno = ENAMETOOLONG;
    return -1;
  }
  char *name = stage_names[s->slot];
  char *x = name + strlen(name) - 6;
  static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t v = (uint64_t)ts.tv_nsec ^ ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_sec;
  for (int attempt = 0; attempt < 100; attempt++) {
    v = v * 6364136223846793005ULL + 1442695040888963407ULL;
    for (int i = 0; i < 6; i++) x[i] = digits[(v >> (58 - 6 * i)) % 62];
    if (linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0) {
      s->temp = name;
      return 0;
    }
    if (errno != EEXIST) break;
  }
  const int e = errno;
  slot_release(s->slot);
  s->slot = -1;
  errno = e;
  return -1;
}

/* Links the unnamed staged file at s->path; an existing file is replaced through a hidden name
 * (linkat cannot replace), renamed over it. 0, or -1 with errno. */
static int link_unnamed(cli_stage *s) {
  char proc[64];
  snprintf(proc, sizeof proc, "/proc/self/fd/%d", s->fd);
  if (linkat(AT_FDCWD, proc, AT_FDCWD, s->path, AT_SYMLINK_FOLLOW) == 0) return 0;
  if (errno != EEXIST || link_hidden(s) != 0) return -1;
  cli_test_hook("linked");
  return rename(s->temp, s->path);
}

bool cli_stage_publish(cli_stage *s, const char *flag) {
  cli_test_hook("written");
  const char *what = "cannot sync";
  int rc = fsync(s->fd);
  if (rc == 0) {
    what = s->temp ? "cannot rename" : "cannot link";
    signals_defer();
    rc = s->temp ? rename(s->temp, s->path) : link_unnamed(s);
    if (rc == 0) slot_release(s->slot); /* else cli_stage_abandon removes a hidden name */
    const int e = errno;
    signals_undefer();
    errno = e;
  }
  if (rc != 0) {
    cli_error("cannot write --%s '%s': %s: %s", flag, s->path, what, strerror(errno));
    cli_stage_abandon(s);
    return false;
  }
  close(s->fd);
  s->fd = -1;
  s->slot = -1;
  s->temp = NULL;
  /* Best effort: make the new name itself durable. */
  const int dfd = open_dir(s->path, O_RDONLY);
  if (dfd >= 0) {
    (void)fsync(dfd);
    close(dfd);
  }
  free(s->path);
  s->path = NULL;
  cli_test_hook("published");
  return true;
}

/* Stages file and writes its data; false after printing the problem. */
static bool stage_write(cli_stage *s, const cli_output *file, npy_dtype dtype) {
  if (!cli_stage_create(s, file->flag, file->path)) return false;
  char err[512];
  npy_status st = npy_write_fd(s->fd, dtype, file->ndim, file->shape, file->data, err, sizeof err);
  /* Synced now, so that publishing (with signals deferred) is quick. */
  if (st == NPY_OK && fsync(s->fd) != 0) {
    snprintf(err, sizeof err, "cannot sync: %s", strerror(errno));
    st = NPY_ERR_IO;
  }
  if (st == NPY_OK) return true;
  cli_error("cannot write --%s '%s': %s", file->flag, file->path, err);
  cli_stage_abandon(s);
  return false;
}

bool cli_save_output(const cli_output *file, npy_dtype dtype) {
  cli_stage s;
  return stage_write(&s, file, dtype) && cli_stage_publish(&s, file->flag);
}

bool cli_save_outputs(const cli_output *files, int n, npy_dtype dtype) {
  enum { MAX_FILES = 8 };
  cli_stage st[MAX_FILES];
  if (n > MAX_FILES) {
    cli_error("too many outputs");
    return false;
  }
  int staged = 0, placed = 0;
  bool ok = true;
  for (; staged < n && ok; staged++) ok = stage_write(&st[staged], &files[staged], dtype);
  if (!ok) staged--; /* the one that failed abandoned itself */
  signals_defer();   /* a signal now ends the process after the last publish */
  /* Every file gets its hidden name first: a name the file system refuses (too long, ...) fails
   * here, before any destination is replaced; then the renames. */
  for (int i = 0; ok && i < n; i++)
    if (!st[i].temp && link_hidden(&st[i]) != 0) {
      cli_error("cannot write --%s '%s': cannot link: %s", files[i].flag, files[i].path,
                strerror(errno));
      ok = false;
    }
  for (; ok && placed < n; placed++) ok = cli_stage_publish(&st[placed], files[placed].flag);
  if (!ok) {
    /* The failed publish abandoned itself; later stages are dropped, earlier files removed. */
    for (int i = 0; i < placed - 1; i++) unlink(files[i].path);
    for (int i = placed; i < staged; i++) cli_stage_abandon(&st[i]);
  }
  signals_undefer();
  return ok;
}
