/*
 * cli_io — conv1dt's files: reading the .npy inputs and checking them against each other,
 * checking the output paths before any work, and writing the outputs so that after a failure
 * none of them exists (a file they would have replaced is left as it was).
 */
#ifndef CONV1DT_CLI_IO_H
#define CONV1DT_CLI_IO_H

#include "cli_args.h"
#include "conv1dt.h"
#include "npy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* "float32" or "float64". */
const char *cli_dtype_name(npy_dtype d);

/* A shape as Python prints a tuple: "(2, 5, 3)", "(4,)". */
void cli_format_shape(char *buf, size_t size, int ndim, const int64_t *shape);

/* Reads the .npy file of --flag. Returns false after printing the problem. */
bool cli_load(const char *flag, const char *path, npy_array *arr);

/* Checks the layer's arrays against each other: --input x, --kernel k and, when not NULL,
 * --bias b. Returns false after printing the problem. */
bool cli_check_layer_arrays(const npy_array *x, const npy_array *k, const npy_array *b,
                            conv1dt_data_format fmt);

/* The output file of --flag must not be a directory and its directory must exist, now rather
 * than when the writer fails after the work. Returns false after printing the problem. */
bool cli_check_output_path(const char *flag, const char *path);

/* cli_check_output_path for every option of cmd marked CLI_WRITES that values[] gives, in the
 * order of cmd->options. */
bool cli_check_outputs(const cli_command *cmd, const char *const *values);

/* ---------------------------------------------------------------------------------------------
 * Staged outputs: a file is written where nobody sees it and becomes its destination only when
 * complete, so that a failure or a killed process leaves no partial output.
 *
 *   cli_stage s;
 *   if (!cli_stage_create(&s, "output", path)) fail;        // printed the problem
 *   pwrite(s.fd, ...) at any offsets (npy_write_fd, npy_pwrite_items); on error:
 *       cli_stage_abandon(&s);
 *   if (!cli_stage_publish(&s, "output")) fail;              // path now holds the file
 *
 * Where the destination's file system supports Linux's O_TMPFILE, the staged file has no name
 * until it is published (linkat from /proc/self/fd): whatever ends the process, SIGKILL
 * included, the kernel frees it and nothing remains. Elsewhere (O_TMPFILE unsupported, e.g. some
 * network file systems, or /proc not mounted) it is a hidden named temporary ".NAME.XXXXXX" in
 * the destination's directory, registered with the signal handlers below, which remove it on
 * SIGINT, SIGTERM and SIGHUP; only SIGKILL (or a crash) can leave it behind. Replacing an
 * existing destination takes such a name for an instant too (linkat cannot replace a file: link
 * to a hidden name, then rename over the destination), covered the same way.
 *
 * Not thread-safe: stage and publish from one thread.
 */

typedef struct {
  int fd;     /* the staged file, open for reading and writing; -1 once published or abandoned */
  char *path; /* the destination (a copy) */
  char *temp; /* the named temporary (fallback); NULL for an unnamed O_TMPFILE */
  int slot;   /* temp's entry in the signal handlers' table, -1 without */
} cli_stage;

/* Installs the handlers of SIGINT, SIGTERM and SIGHUP (once; a signal ignored at start, as
 * under nohup, stays ignored): they remove every named temporary of a live cli_stage, then
 * re-raise the signal with its default action, so the process ends with the signal's status.
 * cli_stage_create calls it; a program may call it earlier. */
void cli_stage_signals(void);

/* Creates the staged file of `path` (new files get 0666 & ~umask, like open(O_CREAT)) in the
 * destination's directory. flag names the option in messages ("output": "--output 'y.npy'").
 * Returns false after printing the problem (then there is nothing to abandon). */
bool cli_stage_create(cli_stage *s, const char *flag, const char *path);

/* cli_stage_create, always with the named fallback: for processes that share one output (MPI
 * ranks on several nodes cannot open another's unnamed file), the creator hands s->temp to the
 * others, which open it and pwrite their parts; only the creator publishes or abandons it.
 * (The others' handlers remove it too once they know it: cli_stage_watch.) */
bool cli_stage_create_named(cli_stage *s, const char *flag, const char *path);

/* Registers `name`, a named staged file another process created (cli_stage_create_named), with
 * this process's signal handlers, which then remove it too: a job's file goes away when any of
 * its processes is ended by SIGINT, SIGTERM or SIGHUP. Returns a handle for cli_stage_unwatch,
 * or -1 when the table is full or the name too long (then only its creator removes it). */
int cli_stage_watch(const char *name);

/* Forgets a name cli_stage_watch registered (-1 is accepted). */
void cli_stage_unwatch(int handle);

/* Makes the complete staged file the destination, atomically: fsyncs it, links or renames it
 * into place (replacing an existing file), fsyncs the directory (best effort) and closes it.
 * On failure the staged file is abandoned and the destination is left as it was. Returns false
 * after printing the problem. */
bool cli_stage_publish(cli_stage *s, const char *flag);

/* Discards the staged file; nothing of it remains. Accepts a stage already published or
 * abandoned (then does nothing). */
void cli_stage_abandon(cli_stage *s);

/* Test hook (CLI only; see README "Tests"): when the environment has CONV1DT_TEST_HOOK=POINT
 * or POINT:N, the Nth call (default the first) with that point prints "conv1dt: test hook:
 * POINT" on stderr and waits there until a signal ends the process, so that tests kill the
 * program at a known place. CONV1DT_TEST_NO_TMPFILE=1 makes cli_stage_create use the named
 * fallback. Points: "staged" (created), "written" (complete, before publishing), "linked" (a
 * replacing publish's hidden link exists), "published", and run's "slice", "block" and "file"
 * (one batch slice in memory / one block of a --memory-limit run / one --input-list file
 * done). */
void cli_test_hook(const char *point);

/* ---------------------------------------------------------------------------------------------
 * Whole arrays, staged and published
 */

/* One output file to write. */
typedef struct {
  const char *flag, *path;
  int ndim;
  int64_t shape[3];
  const void *data;
} cli_output;

/* Writes one file through a stage: it appears complete or not at all. */
bool cli_save_output(const cli_output *file, npy_dtype dtype);

/* Writes n (at most 8) files so that they appear together: each is staged and written first,
 * then all are published. If a publish fails, the files already published are removed, so no
 * output exists after an error. Returns false after printing the problem. */
bool cli_save_outputs(const cli_output *files, int n, npy_dtype dtype);

#endif /* CONV1DT_CLI_IO_H */
