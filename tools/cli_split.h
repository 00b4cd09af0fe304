/*
 * cli_split — which part of a `run` job each rank computes. A batch of at least as many samples
 * as ranks is split into runs of whole samples (the same numbers as one process: samples are
 * independent); a smaller batch (one long signal) is split along its output steps, each rank
 * computing its range of steps of every sample from its input steps and the halo before them
 * (cli_chunked.c), unless the steps are too few to share or the layer cannot be streamed,
 * when the ranks past the batch idle.
 */
#ifndef CONV1DT_CLI_SPLIT_H
#define CONV1DT_CLI_SPLIT_H

#include <stdbool.h>
#include <stdint.h>

/* A split along the steps gives every busy rank at least this many output steps: fewer would
 * spend more on the halo than they save. */
#define CLI_SPLIT_MIN_STEPS 1024

typedef struct {
  bool along_steps;               /* a range of output steps of every sample */
  int64_t first, count;           /* the samples this rank computes (count 0: idle) */
  int64_t step_first, step_count; /* of each sample's output steps (all of them, unless
                                     along_steps) */
} cli_share;

/* The share of `rank` of `ranks` in a batch of `batch` samples with `out_steps` output steps
 * each. granule: runs of samples start at multiples of it where that leaves every rank work
 * (whole GEMMs, as cli_chunked_granule says; 0 or 1: any sample). streams: whether the layer
 * runs through a stream (not a channels_first one with an activation along the steps); without,
 * a small batch is split by samples, the ranks past it idle. */
void cli_split(int64_t batch, int64_t out_steps, int64_t granule, bool streams, int rank, int ranks,
               cli_share *share);

#endif /* CONV1DT_CLI_SPLIT_H */
