/* The MPI ranks of conv1dt-mpi; see cli_ranks.h. */
#define _POSIX_C_SOURCE 200809L

#include "cli_error.h"
#include "cli_ranks.h"

#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rank, size = 1, on_node = 1;

/* MPI's default handler aborts the process when a collective fails (another rank died): that
 * would leave rank 0's named staged file behind. Ending with SIGTERM instead runs the staging's
 * handler (cli_io.c), which removes it. */
static void on_mpi_error(MPI_Comm *comm, int *code, ...) {
  (void)comm;
  (void)code;
  raise(SIGTERM);
  _Exit(EXIT_FAILURE); /* SIGTERM ignored from the start (nohup): still end */
}

bool cli_ranks_init(int *argc, char ***argv) {
  /* Funneled: the reader and writer threads of a --memory-limit run never call MPI. */
  int provided;
  if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
    cli_error("cannot start MPI");
    return false;
  }
  MPI_Errhandler handler;
  if (MPI_Comm_create_errhandler(on_mpi_error, &handler) == MPI_SUCCESS)
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, handler);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  MPI_Comm node;
  if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node) ==
      MPI_SUCCESS) {
    MPI_Comm_size(node, &on_node);
    MPI_Comm_free(&node);
  }
  if (size > 1) cli_error_rank(rank);
  if (rank > 0 && !freopen("/dev/null", "w", stdout)) {
    /* stdout stays: nothing of run's goes there anyway */
  }
  const char *hook_rank = getenv("CONV1DT_TEST_HOOK_RANK");
  if (hook_rank && atoi(hook_rank) != rank) unsetenv("CONV1DT_TEST_HOOK");
  return true;
}

int cli_ranks_finish(int rc) {
  MPI_Finalize();
  return rc;
}

bool cli_ranks_mpi(void) {
  return true;
}

int cli_rank(void) {
  return rank;
}

int cli_ranks(void) {
  return size;
}

int cli_ranks_on_node(void) {
  return on_node;
}

bool cli_ranks_all(bool ok) {
  int in = ok, out = 0;
  MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
  return out != 0;
}

int64_t cli_ranks_sum(int64_t v) {
  long long in = v, out = 0;
  MPI_Allreduce(&in, &out, 1, MPI_LONG_LONG, MPI_SUM, MPI_COMM_WORLD);
  return (int64_t)out;
}

void cli_ranks_bcast(void *buf, size_t n) {
  MPI_Bcast(buf, (int)n, MPI_BYTE, 0, MPI_COMM_WORLD);
}
