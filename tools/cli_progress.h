/*
 * cli_progress — run's progress line on standard error: one line rewritten in place with '\r'
 * (percent, samples or files done, throughput, elapsed and remaining time), at most ten times a
 * second, ended with a newline when the work is done. Never anything on standard output.
 */
#ifndef CONV1DT_CLI_PROGRESS_H
#define CONV1DT_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct {
  bool on;
  int64_t files;       /* files of an --input-list job; 0 for a single input */
  double start, shown; /* monotonic seconds: the start, the last line shown */
  int width;           /* of the last line, to blank what a shorter one leaves */
} cli_progress;

/* Whether to show progress: --progress (force_on) or --no-progress (force_off), else whether
 * standard error is a terminal. */
bool cli_progress_wanted(bool force_on, bool force_off);

/* Starts the clock and, when on, shows the 0 % line. files: 0 for a single input. */
void cli_progress_start(cli_progress *p, bool on, int64_t files);

/* fraction (0..1) of the whole job done; files_done of p->files; samples done so far (all
 * files). Shown when a tenth of a second passed since the last line, or when `final`. */
void cli_progress_update(cli_progress *p, double fraction, int64_t files_done, int64_t samples,
                         int64_t total_samples, bool final);

/* Ends the line (a newline) if one is shown. */
void cli_progress_end(cli_progress *p);

#endif /* CONV1DT_CLI_PROGRESS_H */
