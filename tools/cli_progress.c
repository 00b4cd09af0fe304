/* run's progress line; see cli_progress.h. */
#define _POSIX_C_SOURCE 200809L

#include "cli_progress.h"
#include "cli_error.h"

#include <inttypes.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* "m:ss", or "h:mm:ss" from an hour on. */
static void format_duration(char *buf, size_t size, double seconds) {
  const int64_t s = seconds < 0 ? 0 : (int64_t)(seconds + 0.5);
  if (s >= 3600)
    snprintf(buf, size, "%" PRId64 ":%02d:%02d", s / 3600, (int)(s / 60 % 60), (int)(s % 60));
  else
    snprintf(buf, size, "%" PRId64 ":%02d", s / 60, (int)(s % 60));
}

bool cli_progress_wanted(bool force_on, bool force_off) {
  if (force_on) return true;
  if (force_off) return false;
  return isatty(STDERR_FILENO) == 1;
}

void cli_progress_start(cli_progress *p, bool on, int64_t files) {
  p->on = on;
  p->files = files;
  p->start = now();
  p->shown = -1;
  p->width = 0;
  cli_progress_update(p, 0, 0, 0, 0, true);
}

void cli_progress_update(cli_progress *p, double fraction, int64_t files_done, int64_t samples,
                         int64_t total_samples, bool final) {
  if (!p->on) return;
  const double t = now();
  if (!final && t - p->shown < 0.1) return;
  p->shown = t;
  const double elapsed = t - p->start;
  if (fraction < 0) fraction = 0;
  if (fraction > 1) fraction = 1;
  char line[256], el[32], rem[32];
  int n;
  if (p->files)
    n = snprintf(line, sizeof line,
                 "conv1dt: %3d%% %" PRId64 "/%" PRId64 " files, %" PRId64 " samples",
                 (int)(fraction * 100), files_done, p->files, samples);
  else
    n = snprintf(line, sizeof line, "conv1dt: %3d%% %" PRId64 "/%" PRId64 " samples",
                 (int)(fraction * 100), samples, total_samples);
  format_duration(el, sizeof el, elapsed);
  if (fraction > 0 && fraction < 1)
    format_duration(rem, sizeof rem, elapsed * (1 - fraction) / fraction);
  else
    snprintf(rem, sizeof rem, fraction >= 1 ? "0:00" : "?");
  n += snprintf(line + n, sizeof line - (size_t)n, ", %.1f samples/s, elapsed %s, remaining %s",
                elapsed > 0 ? (double)samples / elapsed : 0.0, el, rem);
  fprintf(stderr, "\r%s%*s", line, p->width > n ? p->width - n : 0, "");
  fflush(stderr);
  p->width = n;
  cli_stderr_line_open = 1;
}

void cli_progress_end(cli_progress *p) {
  if (!p->on || !cli_stderr_line_open) return;
  fputc('\n', stderr);
  fflush(stderr);
  cli_stderr_line_open = 0;
}
