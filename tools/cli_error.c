/* Error messages of the conv1dt program; see cli_error.h. */
#include "cli_error.h"

#include <stdarg.h>
#include <stdio.h>

void cli_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("conv1dt: error: ", stderr);
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
