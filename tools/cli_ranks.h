/*
 * cli_ranks — the processes a `run` job is shared by: the one process of conv1dt
 * (cli_ranks_single.c) or the MPI ranks of conv1dt-mpi (cli_ranks_mpi.c); each program links
 * one of the two, so one source of `run` serves both. A rank asks for its number and the count,
 * and agrees with the others wherever a failure on one rank must stop them all: every rank
 * makes the same collective calls in the same order (cli_ranks_all, _sum, _bcast), whatever
 * failed on it before.
 */
#ifndef CONV1DT_CLI_RANKS_H
#define CONV1DT_CLI_RANKS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Starts the ranks (MPI_Init_thread); false after printing the problem. conv1dt-mpi also sends
 * the standard output of every rank but 0 to /dev/null (run writes nothing there; help text
 * comes once), and when CONV1DT_TEST_HOOK_RANK=R is set keeps CONV1DT_TEST_HOOK (cli_io.h) for
 * rank R only. */
bool cli_ranks_init(int *argc, char ***argv);

/* Ends the ranks (MPI_Finalize) and returns rc, the exit status. */
int cli_ranks_finish(int rc);

/* Whether this is conv1dt-mpi (which runs `run` only). */
bool cli_ranks_mpi(void);

/* This rank's number (0 ..), the number of ranks, and how many of them share this node (the
 * default --memory-limit is the node's share divided among them). */
int cli_rank(void);
int cli_ranks(void);
int cli_ranks_on_node(void);

/* Collective: true on every rank when ok is true on every rank. */
bool cli_ranks_all(bool ok);

/* Collective: the sum of v over the ranks, on every rank. */
int64_t cli_ranks_sum(int64_t v);

/* Collective: rank 0's n bytes at buf, on every rank. */
void cli_ranks_bcast(void *buf, size_t n);

#endif /* CONV1DT_CLI_RANKS_H */
