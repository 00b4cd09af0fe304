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
  /* The whole line in one write: the ranks of an MPI job share one stderr, and lines written
   * piece by piece would interleave. */
  char head[64] = "", line[8192];
  if (error_rank >= 0) snprintf(head, sizeof head, "rank %d: ", error_rank);
  int n = snprintf(line, sizeof line, "%sconv1dt: error: %s%s%s", cli_stderr_line_open ? "\n" : "",
                   head, error_context ? error_context : "", error_context ? ": " : "");
  cli_stderr_line_open = 0;
  if (n < 0 || (size_t)n >= sizeof line) n = 0;
  va_list ap;
  va_start(ap, fmt);
  const int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
  va_end(ap);
  size_t len = (size_t)n + (m > 0 ? (size_t)m : 0);
  if (len > sizeof line - 2) len = sizeof line - 2; /* a message past 8 KiB is cut */
  line[len++] = '\n';
  fwrite(line, 1, len, stderr);
  fflush(stderr);
}

void cli_lib_error(const char *what, conv1dt_status st) {
  const char *msg = conv1dt_last_error();
  if (msg && *msg)
    cli_error("%s: %s (%s)", what, msg, conv1dt_status_name(st));
  else
    cli_error("%s: %s", what, conv1dt_status_name(st));
}
