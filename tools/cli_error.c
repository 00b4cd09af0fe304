/* Error messages of the conv1dt program; see cli_error.h. */
#include "cli_error.h"

#include <stdarg.h>
#include <stdio.h>

int cli_stderr_line_open;
static const char *error_context;
static int error_rank = -1;
static bool error_quiet;

void cli_error_rank(int r) {
  error_rank = r;
}

void cli_error_quiet(bool quiet) {
  error_quiet = quiet;
}

void cli_error_context(const char *context) {
  error_context = context;
}

void cli_error(const char *fmt, ...) {
  if (error_quiet) return;
  va_list ap;
  va_start(ap, fmt);
  if (cli_stderr_line_open) fputc('\n', stderr);
  cli_stderr_line_open = 0;
  fputs("conv1dt: error: ", stderr);
  if (error_rank >= 0) fprintf(stderr, "rank %d: ", error_rank);
  if (error_context) fprintf(stderr, "%s: ", error_context);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

void cli_lib_error(const char *what, conv1dt_status st) {
  const char *msg = conv1dt_last_error();
  if (msg && *msg)
    cli_error("%s: %s (%s)", what, msg, conv1dt_status_name(st));
  else
    cli_error("%s: %s", what, conv1dt_status_name(st));
}
