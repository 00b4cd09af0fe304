/* conv1dt's .npy inputs and outputs; see cli_io.h. */
#define _POSIX_C_SOURCE 200809L

#include "cli_io.h"
#include "cli_error.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* Writes file's data atomically to target (its path, or its temporary). */
static bool write_npy(const cli_output *file, const char *target, npy_dtype dtype) {
  char err[512];
  if (npy_save_atomic(target, dtype, file->ndim, file->shape, file->data, err, sizeof err) ==
      NPY_OK)
    return true;
  cli_error("cannot write --%s '%s': %s", file->flag, file->path, err);
  return false;
}

bool cli_save_output(const cli_output *file, npy_dtype dtype) {
  return write_npy(file, file->path, dtype);
}

/* The temporaries are reserved with mkstemp; npy_save_atomic then replaces each. */
bool cli_save_outputs(cli_output *files, int n, npy_dtype dtype) {
  int staged = 0, placed = 0;
  bool ok = true;
  for (; staged < n && ok; staged++) {
    cli_output *f = &files[staged];
    const char *slash = strrchr(f->path, '/');
    const size_t dirlen = slash ? (size_t)(slash - f->path) + 1 : 0;
    const size_t size = strlen(f->path) + 16;
    f->staged = malloc(size);
    if (!f->staged) {
      cli_error("out of memory");
      ok = false;
      break;
    }
    snprintf(f->staged, size, "%.*s.%s.XXXXXX", (int)dirlen, f->path, f->path + dirlen);
    const int fd = mkstemp(f->staged);
    if (fd < 0) {
      cli_error("cannot write --%s '%s': cannot create a temporary file: %s", f->flag, f->path,
                strerror(errno));
      free(f->staged);
      f->staged = NULL;
      ok = false;
      break;
    }
    close(fd);
    if (!write_npy(f, f->staged, dtype)) {
      ok = false;
      staged++; /* its reserved name is removed below */
      break;
    }
  }
  for (; ok && placed < n; placed++)
    if (rename(files[placed].staged, files[placed].path) != 0) {
      cli_error("cannot write --%s '%s': cannot rename: %s", files[placed].flag, files[placed].path,
                strerror(errno));
      ok = false;
      break;
    }
  if (!ok) {
    for (int i = 0; i < placed; i++) unlink(files[i].path);
    for (int i = placed; i < staged; i++)
      if (files[i].staged) unlink(files[i].staged);
  }
  for (int i = 0; i < n; i++) {
    free(files[i].staged);
    files[i].staged = NULL;
  }
  return ok;
}

bool cli_stage_create(const char *flag, const char *path, cli_staged_file *f) {
  const char *slash = strrchr(path, '/');
  const size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
  const size_t size = strlen(path) + 16;
  f->flag = flag;
  f->path = path;
  f->fd = -1;
  if (!(f->tmp = malloc(size))) {
    cli_error("out of memory");
    return false;
  }
  snprintf(f->tmp, size, "%.*s.%s.XXXXXX", (int)dirlen, path, path + dirlen);
  if ((f->fd = mkstemp(f->tmp)) < 0) {
    cli_error("cannot write --%s '%s': cannot create a temporary file: %s", flag, path,
              strerror(errno));
    free(f->tmp);
    f->tmp = NULL;
    return false;
  }
  return true;
}

void cli_stage_abandon(cli_staged_file *f) {
  if (f->fd >= 0) close(f->fd);
  if (f->tmp) unlink(f->tmp);
  free(f->tmp);
  f->tmp = NULL;
  f->fd = -1;
}

bool cli_stage_publish(cli_staged_file *f) {
  const mode_t mask = umask(0); /* the only portable way to read it: set it back at once */
  umask(mask);
  const char *what = fchmod(f->fd, (mode_t)0666 & ~mask) != 0 ? "cannot set permissions"
                     : fsync(f->fd) != 0                      ? "cannot write (fsync)"
                                                              : NULL;
  if (!what) {
    const int fd = f->fd;
    f->fd = -1;
    if (close(fd) != 0) what = "cannot write (close)";
  }
  if (!what && rename(f->tmp, f->path) != 0) what = "cannot rename";
  if (what) {
    cli_error("cannot write --%s '%s': %s: %s", f->flag, f->path, what, strerror(errno));
    cli_stage_abandon(f);
    return false;
  }
  free(f->tmp);
  f->tmp = NULL;
  return true;
}
