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

/* One output file to write. */
typedef struct {
  const char *flag, *path;
  int ndim;
  int64_t shape[3];
  const void *data;
  char *staged; /* cli_save_outputs's temporary next to path; NULL outside it */
} cli_output;

/* Writes one file atomically (npy_save_atomic): it appears complete or not at all. */
bool cli_save_output(const cli_output *file, npy_dtype dtype);

/* Writes n files so that they appear together: each to a temporary in its destination's
 * directory first, then all renamed into place. On failure every temporary and every file
 * already renamed is removed, so no output exists after an error. Returns false after printing
 * the problem. */
bool cli_save_outputs(cli_output *files, int n, npy_dtype dtype);

/* A file written piece by piece (the chunked run's output) that appears complete or not at all:
 * cli_stage_create makes a hidden temporary in the destination's directory and gives its
 * descriptor (opened read-write, empty); cli_stage_publish makes it durable and puts it in
 * place; cli_stage_abandon removes it. Exactly one of the two ends every created file. */
typedef struct {
  const char *flag, *path;
  int fd;
  char *tmp; /* the temporary's name */
} cli_staged_file;

/* Returns false after printing the problem (nothing is left behind then). */
bool cli_stage_create(const char *flag, const char *path, cli_staged_file *f);
/* Permissions as a new file's (0666 & ~umask), fsync, rename into place. Returns false after
 * printing the problem, the temporary removed. */
bool cli_stage_publish(cli_staged_file *f);
void cli_stage_abandon(cli_staged_file *f);

#endif /* CONV1DT_CLI_IO_H */
