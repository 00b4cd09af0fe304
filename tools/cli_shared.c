/* One output written by every rank; see cli_shared.h. */
#define _POSIX_C_SOURCE 200809L

#include "cli_shared.h"
#include "cli_error.h"
#include "cli_ranks.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What rank 0 tells the others about its staged file. */
typedef struct {
  int ok;      /* staged, header written */
  int unnamed; /* through /proc (O_TMPFILE) */
  uint64_t dev, ino, data_offset;
  char name[4096]; /* for open() */
} stage_info;

/* Rank 0: stages path (named: always the hidden name) and writes the header. */
static void stage(cli_shared *o, const char *path, npy_dtype dtype, const int64_t shape[3],
                  bool named, stage_info *info) {
  unsigned char header[4096];
  const size_t hsize = npy_build_header(dtype, 3, shape, header, sizeof header);
  if (hsize == 0) {
    cli_error("cannot write --output '%s': cannot build the .npy header", path);
    return;
  }
  if (!(named ? cli_stage_create_named(&o->stage, "output", path)
              : cli_stage_create(&o->stage, "output", path)))
    return;
  struct stat sb;
  if (pwrite(o->stage.fd, header, hsize, 0) != (ssize_t)hsize || fstat(o->stage.fd, &sb) != 0) {
    cli_error("cannot write --output '%s': %s", path, strerror(errno));
    cli_stage_abandon(&o->stage);
    return;
  }
  info->unnamed = o->stage.temp == NULL;
  if (info->unnamed)
    snprintf(info->name, sizeof info->name, "/proc/%ld/fd/%d", (long)getpid(), o->stage.fd);
  else
    snprintf(info->name, sizeof info->name, "%s", o->stage.temp);
  info->dev = (uint64_t)sb.st_dev;
  info->ino = (uint64_t)sb.st_ino;
  info->data_offset = hsize;
  info->ok = 1;
}

/* Every rank but 0: opens rank 0's staged file; on failure prints the problem only when
 * `report` (else rank 0 tries again with a named file). */
static bool open_staged(cli_shared *o, const char *path, const stage_info *info, bool report) {
  o->fd = open(info->name, O_WRONLY | O_CLOEXEC);
  struct stat sb;
  const int e = errno;
  if (o->fd >= 0 && fstat(o->fd, &sb) == 0 && (uint64_t)sb.st_dev == info->dev &&
      (uint64_t)sb.st_ino == info->ino) {
    if (!info->unnamed) o->watch = cli_stage_watch(info->name);
    return true;
  }
  if (report)
    cli_error("cannot write --output '%s': cannot open rank 0's staged file '%s': %s", path,
              info->name, o->fd < 0 ? strerror(e) : "another file has that name here");
  if (o->fd >= 0) close(o->fd);
  o->fd = -1;
  return false;
}

bool cli_shared_create(cli_shared *o, const char *path, npy_dtype dtype, const int64_t shape[3]) {
  memset(o, 0, sizeof *o);
  o->stage.fd = -1;
  o->stage.slot = -1;
  o->fd = -1;
  o->watch = -1;
  o->path = path;
  const bool root = cli_rank() == 0;
  for (int attempt = 0; attempt < 2; attempt++) {
    static stage_info info;
    memset(&info, 0, sizeof info);
    if (root) stage(o, path, dtype, shape, attempt == 1, &info);
    cli_ranks_bcast(&info, sizeof info);
    if (!info.ok) return false; /* rank 0 printed why */
    o->data_offset = info.data_offset;
    /* The unnamed file is reachable on rank 0's node only: elsewhere, try again named. */
    const bool retry = info.unnamed && attempt == 0;
    const bool opened = root ? true : open_staged(o, path, &info, !retry);
    if (cli_ranks_all(opened)) {
      if (root) o->fd = o->stage.fd;
      return true;
    }
    if (root) {
      cli_stage_abandon(&o->stage);
    } else {
      if (o->fd >= 0) close(o->fd);
      o->fd = -1;
      cli_stage_unwatch(o->watch);
      o->watch = -1;
    }
    if (!retry) return false;
  }
  return false;
}

bool cli_shared_finish(cli_shared *o, bool ok) {
  const bool root = cli_rank() == 0;
  if (!root && o->fd >= 0) {
    /* Rank 0's fsync covers its own writes only (and, on a network file system, what its node
     * sees): each rank makes its part durable before rank 0 publishes. */
    if (ok && fsync(o->fd) != 0) {
      cli_error("cannot write --output '%s': cannot sync: %s", o->path, strerror(errno));
      ok = false;
    }
    close(o->fd);
  }
  o->fd = -1;
  const bool all = cli_ranks_all(ok);
  /* The hidden name is gone once rank 0 publishes: this rank's handlers forget it first. */
  cli_stage_unwatch(o->watch);
  o->watch = -1;
  int published = 0;
  if (root) {
    if (all)
      published = cli_stage_publish(&o->stage, "output"); /* abandons itself on failure */
    else
      cli_stage_abandon(&o->stage);
  }
  cli_ranks_bcast(&published, sizeof published);
  return published != 0;
}
