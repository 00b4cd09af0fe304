/*
 * cli_error — how the conv1dt program reports a failure: one "conv1dt: error: ..." line on
 * standard error, and the exit status of a usage error.
 */
#ifndef CONV1DT_CLI_ERROR_H
#define CONV1DT_CLI_ERROR_H

#include "conv1dt.h"

/* Exit status: 0 success, 1 (EXIT_FAILURE) failure, 2 usage error. */
enum { CLI_EXIT_USAGE = 2 };

/* Prints "conv1dt: error: " and the formatted message on standard error. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
void cli_error(const char *fmt, ...);

/* A failed library call: our context, then the library's own message and status name. */
void cli_lib_error(const char *what, conv1dt_status st);

#endif /* CONV1DT_CLI_ERROR_H */
