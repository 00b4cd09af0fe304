/*
 * cli_chunked — `conv1dt run` within a memory limit: the input .npy is read in blocks of whole
 * samples, each block is computed and written at its final offset in the staged output .npy, and
 * the finished file is published (cli_io's staged outputs: a killed run leaves no output and,
 * SIGKILL of the named fallback aside, no temporary), so neither the whole input nor the whole
 * output is ever in memory. A reader thread and a writer thread work beside the computing one
 * on two input and two output buffers.
 *
 * The limit covers what grows with the job: the input and output buffers, the library's
 * workspace and the layer (its weights, their packed copies, the kernel and bias as read). The
 * program's fixed footprint (code, shared libraries, thread stacks, the BLAS's own buffers)
 * comes on top.
 */
#ifndef CONV1DT_CLI_CHUNKED_H
#define CONV1DT_CLI_CHUNKED_H

#include "conv1dt.h"
#include "npy.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A byte count: decimal digits with an optional suffix K, M or G (binary: 1024, 1024^2,
 * 1024^3; either case), above 0. Returns false after printing the problem (naming --flag). */
bool cli_parse_size(const char *flag, const char *text, uint64_t *out);

/* The limit without --memory-limit: half of the memory this process may use (the physical
 * memory, or the cgroup's limit where that is lower, as under Slurm), divided among the ranks of
 * conv1dt-mpi on this node (cli_ranks.h). */
uint64_t cli_default_memory_limit(void);

/* The .npy file of --flag's header (dtype, shape, count, nbytes) into arr, with data NULL (the
 * data is checked to be all there); a file that is not a regular one (a pipe) is read whole
 * (data set), as cli_load does. Returns false after printing the problem. */
bool cli_load_header(const char *flag, const char *path, npy_array *arr);

/* Whether `run` goes the chunked way: always with --memory-limit, else when its input and output
 * together exceed the default limit. */
bool cli_chunked_wanted(bool limit_given, uint64_t input_bytes, uint64_t output_bytes);

typedef struct {
  const conv1dt_layer *layer; /* a block computes with a copy pinned to the batch's method when
                                 AUTO would choose another one for it */
  const char *input_path, *output_path;
  npy_dtype dtype;
  int64_t batch, steps;  /* of the input */
  int64_t out_shape[3];  /* conv1dt_output_shape's */
  uint64_t memory_limit; /* 0: cli_default_memory_limit() */
  uint64_t held_bytes;   /* what the caller already holds for the layer (kernel, bias arrays) */
  /* The part this process computes (cli_split.h): samples [first, first + count) and, of each,
   * output steps [step_first, step_first + step_count); the whole job is 0, batch, 0, and the
   * output's steps. A part of the steps runs through a stream from its input steps and the
   * halo of input steps before them that reach into its output steps. */
  int64_t first, count, step_first, step_count;
  /* -1: cli_chunked_run stages output_path itself and publishes it complete; else the staged
   * output shared with other ranks (cli_shared.h), its data from out_offset on, into which only
   * this part is written (nothing is published). */
  int out_fd;
  uint64_t out_offset;
  /* Called on the calling thread after each block is computed, with the samples of the part
   * done so far (a fraction within a sample processed along its steps); may be NULL. */
  void (*progress)(void *ctx, double samples_done);
  void *progress_ctx;
} cli_chunked_job;

/* Runs the forward pass block by block into the output file, which appears complete or not at
 * all. Bit-identical to one conv1dt_forward call over the whole batch with the same threads.
 * When one sample does not fit the limit, each sample runs along its steps through a stream
 * (conv1dt_stream_*) instead: the same numbers where the sums are exact (a zero's sign aside),
 * else up to the method's rounding; a channels_first layer with an activation along the steps
 * (which no stream takes) is refused then.
 * Returns false after printing the problem. */
bool cli_chunked_run(const cli_chunked_job *job);

/* The runs of samples that blocks (and ranks) start at multiples of, so that they compute the
 * same GEMMs as one call over the batch (1: any sample; 0: unknown, see cli_chunked.c). */
int64_t cli_chunked_granule(const conv1dt_layer *layer, int64_t batch, int64_t steps);

#endif /* CONV1DT_CLI_CHUNKED_H */
