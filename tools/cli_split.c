/* The parts of a run job over the ranks; see cli_split.h. */
#include "cli_split.h"

/* Part `i` of `n` of [0, total): [total * i / n, total * (i + 1) / n), without overflow. */
static int64_t part_start(int64_t total, int i, int n) {
  return total / n * i + total % n * i / n;
}

void cli_split(int64_t batch, int64_t out_steps, int64_t granule, bool streams, int rank, int ranks,
               cli_share *share) {
  share->along_steps = false;
  share->first = 0;
  share->count = batch;
  share->step_first = 0;
  share->step_count = out_steps;
  if (ranks <= 1) return;
  int64_t busy = out_steps / CLI_SPLIT_MIN_STEPS;
  if (busy > ranks) busy = ranks;
  if (batch < ranks && busy >= 2 && streams) {
    share->along_steps = true;
    if (rank >= busy) {
      share->count = 0;
      share->step_count = 0;
      return;
    }
    share->step_first = part_start(out_steps, rank, (int)busy);
    share->step_count = part_start(out_steps, rank + 1, (int)busy) - share->step_first;
    return;
  }
  /* Whole samples, in units of the granule when there are enough of them for every rank. */
  const int64_t g = granule > 1 && (batch + granule - 1) / granule >= ranks ? granule : 1;
  const int64_t units = (batch + g - 1) / g;
  int64_t a = part_start(units, rank, ranks) * g, b = part_start(units, rank + 1, ranks) * g;
  if (a > batch) a = batch;
  if (b > batch) b = batch;
  share->first = a;
  share->count = b - a;
}
