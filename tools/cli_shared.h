/*
 * cli_shared — one output .npy written by every rank of a job: rank 0 stages it (cli_io.h) and
 * writes its header, every rank pwrites its part at its offsets, and the file is published by
 * rank 0 only when every rank finished its part; after a failure on any rank no output exists.
 *
 * The other ranks open rank 0's staged file. Where rank 0's stage has no name (O_TMPFILE) they
 * open it through /proc/PID/fd/N, which works for ranks on rank 0's node (checked: the same
 * device and inode): then nothing remains whatever ends the job, SIGKILL of any rank included.
 * Otherwise (ranks on other nodes, or no O_TMPFILE) rank 0 stages it under a hidden name
 * ".NAME.XXXXXX" beside the destination, which its signal handlers remove on SIGINT, SIGTERM
 * and SIGHUP (as mpirun and srun forward them, and send when another rank dies), as do every
 * other rank's (cli_stage_watch): only a job whose every rank ends by SIGKILL leaves that hidden
 * file behind.
 *
 * With one rank this is cli_stage_create + header + cli_stage_publish.
 */
#ifndef CONV1DT_CLI_SHARED_H
#define CONV1DT_CLI_SHARED_H

#include "cli_io.h"
#include "npy.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct {
  const char *path;     /* the destination */
  cli_stage stage;      /* rank 0's */
  int fd;               /* this rank's descriptor of the staged file; -1 when closed */
  int watch;            /* the named file in this rank's signal handlers (cli_stage_watch) */
  uint64_t data_offset; /* where the data starts (the header's size) */
} cli_shared;

/* Collective: stages --output path with a (shape[0], shape[1], shape[2]) header of dtype. True
 * on every rank, or false on every rank after the failing ones printed the problem. */
bool cli_shared_create(cli_shared *o, const char *path, npy_dtype dtype, const int64_t shape[3]);

/* Collective: ok says whether this rank wrote its part. Publishes the file when every rank's ok
 * is true, else discards it; true on every rank when published. */
bool cli_shared_finish(cli_shared *o, bool ok);

#endif /* CONV1DT_CLI_SHARED_H */
