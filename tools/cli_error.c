/* Error messages of the conv1dt program; see cli_error.h. */
#include "cli_error.h"

#include <stdarg.h>
#include <stdio.h>

int cli_stderr_line_open;
static const char *error_context;

void cli_error_context(const char *context) {
  error_context = context;
}

void cli_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  if (cli_stderr_line_open) fputc('\n', stderr);
  cli_stderr_line_open = 0;
  fputs("conv1dt: error: ", stderr);
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
