/*
 * cli_error — how the conv1dt program reports a failure: one "conv1dt: error: ..." line on
 * standard error, and the exit status of a usage error.
 */
#ifndef CONV1DT_CLI_ERROR_H
#define CONV1DT_CLI_ERROR_H

#include "conv1dt.h"

#include <stdbool.h>

/* Exit status: 0 success, 1 (EXIT_FAILURE) failure, 2 usage error, 3 some inputs of
 * `run --input-list` failed (the others were written). */
enum { CLI_EXIT_USAGE = 2, CLI_EXIT_SOME_FAILED = 3 };

/* While not NULL, every message names it first: "conv1dt: error: CONTEXT: ..." (the input file
 * of an --input-list job). */
void cli_error_context(const char *context);

/* Messages of an MPI job name their rank: "conv1dt: error: rank R: ..." (from when r >= 0). */
void cli_error_rank(int r);

/* While true, cli_error prints nothing: the ranks of an MPI job but rank 0 while they check
 * the command line, which is the same on every rank (its errors are printed once). */
void cli_error_quiet(bool quiet);

/* Set by whoever leaves a line on stderr without its newline (the progress line): the next
 * message starts a new line first. */
extern int cli_stderr_line_open;

/* Prints "conv1dt: error: " and the formatted message on standard error. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
void cli_error(const char *fmt, ...);

/* A failed library call: our context, then the library's own message and status name. */
void cli_lib_error(const char *what, conv1dt_status st);

#endif /* CONV1DT_CLI_ERROR_H */
