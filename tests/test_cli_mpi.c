/* conv1dt-mpi end to end, under mpirun: its output byte-compared with `conv1dt run`'s (itself
 * tested against the naive reference) over 1, 2, 3 and more ranks than samples, both dtypes and
 * data formats, every method, within --memory-limit; one long signal split along its steps
 * over the ranks (each computing its output steps from its input steps and their halo): exact
 * on integer-valued float64 data, within rounding on float32; an error on one rank (a memory
 * limit too small there only) or on all (an output folder that does not exist, a bad input) ending
 * every rank non-zero with no output file; --input-list shared by the ranks with a bad file
 * among good ones; a rank killed with SIGKILL, and the job with SIGTERM and SIGINT, leaving no
 * file. Needs $CONV1DT_CLI, $CONV1DT_MPI_CLI, $CONV1DT_MPIRUN and $CONV1DT_MPIRUN_FLAGS (the
 * words mpirun takes before -np: in a container as root, --allow-run-as-root --oversubscribe)
 * and takes $CONV1DT_MPIRUN_WAIT_FLAGS (those that make it wait for every rank's end when one
 * fails). Work files go under $CONV1DT_TEST_TMP. */
#define _GNU_SOURCE

#include "cli_harness.h"
#include "conv1dt.h"
#include "npy.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ------------------------------------------------------------------------------------------- */
/* Running conv1dt-mpi under mpirun */

static char bg_err[4300];

/* Starts argv (argv[0] looked up in PATH) with stdin from /dev/null, stdout and stderr into
 * work_dir/bg_err.txt. */
static pid_t start(const char *const *argv) {
  snprintf(bg_err, sizeof bg_err, "%s/bg_err.txt", work_dir);
  posix_spawn_file_actions_t fa;
  ck_assert_int_eq(posix_spawn_file_actions_init(&fa), 0);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, bg_err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  pid_t pid;
  const int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  ck_assert_msg(rc == 0, "cannot start %s: %s", argv[0], strerror(rc));
  return pid;
}

/* Its exit code, or -signal. */
static int reap(pid_t pid) {
  int wst;
  while (waitpid(pid, &wst, 0) < 0) ck_assert_int_eq(errno, EINTR);
  return WIFEXITED(wst) ? WEXITSTATUS(wst) : -WTERMSIG(wst);
}

/* The command line: mpirun's words, then "-np N" and the program, then args; or, np = 0,
 * conv1dt itself. Each further MPMD part (": -np 1 sh -c ...") is built by the caller. */
static const char *cmd[128];
static int cmd_len;

static void cmd_words(const char *words) {
  static char buf[4][1024];
  static int next;
  char *b = buf[next++ % 4];
  snprintf(b, sizeof buf[0], "%s", words ? words : "");
  char *save = NULL;
  for (char *w = strtok_r(b, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
    ck_assert_int_lt(cmd_len, 120);
    cmd[cmd_len++] = w;
  }
}

static void cmd_add(const char *word) {
  ck_assert_int_lt(cmd_len, 126);
  cmd[cmd_len++] = word;
}

static void cmd_args(const char *const *args) {
  for (; *args; args++) cmd_add(*args);
}

/* Whether each rank reports its own exit status: with $CONV1DT_MPIRUN_WAIT_FLAGS, mpirun lets
 * every rank run to its end (a launcher ending the job at the first non-zero exit may drop the
 * others' last lines) and each rank runs under a shell that prints "conv1dt-mpi exit N"
 * after it; cmd_run then checks that every rank ended alike. Not for jobs that are killed,
 * which the launcher must end. */
static bool per_rank;
static int ranks_started;

/* "-np N" and conv1dt-mpi (under the reporting shell when per_rank). */
static void cmd_program(int np) {
  static char n[8][16];
  static int next;
  char *b = n[next++ % 8];
  snprintf(b, sizeof n[0], "%d", np);
  cmd_add("-np");
  cmd_add(b);
  if (per_rank) {
    cmd_add("sh");
    cmd_add("-c");
    cmd_add("\"$0\" \"$@\"; echo \"conv1dt-mpi exit $?\"");
  }
  cmd_add(getenv("CONV1DT_MPI_CLI"));
  ranks_started += np;
}

static void cmd_mpi_with(int np, const char *words, bool killed) {
  const char *wait = getenv("CONV1DT_MPIRUN_WAIT_FLAGS");
  per_rank = !killed && wait && *wait;
  ranks_started = 0;
  cmd_len = 0;
  cmd_add(getenv("CONV1DT_MPIRUN"));
  cmd_words(getenv("CONV1DT_MPIRUN_FLAGS"));
  if (per_rank) cmd_words(wait);
  cmd_words(words);
  cmd_program(np);
}

static void cmd_mpi(int np) {
  cmd_mpi_with(np, NULL, false);
}

/* Runs cmd; its status (with per_rank: every rank's, which must agree), and its output in
 * *err (the caller frees) unless err is NULL. */
static int cmd_run(char **err) {
  cmd[cmd_len] = NULL;
  int status = reap(start(cmd));
  char *text = slurp(bg_err);
  if (per_rank) {
    ck_assert_msg(status == 0, "mpirun: exit %d; %s", status, text);
    int n = 0;
    for (const char *p = text; (p = strstr(p, "conv1dt-mpi exit ")); p++, n++) {
      const int s = atoi(p + 17);
      ck_assert_msg(n == 0 || s == status, "ranks ended with %d and %d; %s", status, s, text);
      status = s;
    }
    ck_assert_msg(n == ranks_started, "%d of %d ranks reported their end; %s", n, ranks_started,
                  text);
    per_rank = false;
  }
  if (err)
    *err = text;
  else
    free(text);
  return status;
}

/* `conv1dt run args` succeeds. */
static void run_single(const char *const *args) {
  cmd_len = 0;
  cmd_add(getenv("CONV1DT_CLI"));
  cmd_args(args);
  char *err;
  const int status = cmd_run(&err);
  ck_assert_msg(status == 0, "conv1dt: exit %d; %s", status, err);
  free(err);
}

/* `mpirun -np np conv1dt-mpi args` succeeds. */
static void run_mpi(int np, const char *const *args) {
  cmd_mpi(np);
  cmd_args(args);
  char *err;
  const int status = cmd_run(&err);
  ck_assert_msg(status == 0, "conv1dt-mpi -np %d: exit %d; %s", np, status, err);
  free(err);
}

/* ------------------------------------------------------------------------------------------- */
/* Files */

static bool same_bytes(const char *a, const char *b) {
  size_t na, nb;
  unsigned char *da = read_all(a, &na), *db = read_all(b, &nb);
  const bool same = na == nb && memcmp(da, db, na) == 0;
  free(da);
  free(db);
  return same;
}

static double item_at(const npy_array *a, size_t i) {
  return a->dtype == NPY_FLOAT32 ? (double)((const float *)a->data)[i]
                                 : ((const double *)a->data)[i];
}

/* The two outputs have the same shape and values: equal (a zero's sign aside) when tol is 0,
 * else within tol relative to the values' scale. */
static void expect_values(const char *want_path, const char *got_path, double tol) {
  npy_array want = load_npy(want_path), got = load_npy(got_path);
  ck_assert_int_eq(want.dtype, got.dtype);
  ck_assert_int_eq(want.ndim, got.ndim);
  for (int i = 0; i < want.ndim; i++) ck_assert_int_eq(want.shape[i], got.shape[i]);
  double scale = 1;
  for (size_t i = 0; i < want.count; i++)
    if (fabs(item_at(&want, i)) > scale) scale = fabs(item_at(&want, i));
  for (size_t i = 0; i < want.count; i++) {
    const double w = item_at(&want, i), g = item_at(&got, i);
    ck_assert_msg(tol == 0 ? w == g : fabs(w - g) <= tol * scale,
                  "element %zu: %.17g (conv1dt) vs %.17g (conv1dt-mpi)", i, w, g);
  }
  npy_free(&want);
  npy_free(&got);
}

/* Integer values from -3 to 3: every sum exact in float64. */
static void save_integers(const char *path, npy_dtype dtype, int64_t d0, int64_t d1, int64_t d2) {
  arr a = make_arr(dtype, d1 || d2 ? 3 : 1, d0, d1, d2);
  for (size_t i = 0; i < a.n; i++) a.v[i] = (double)((int64_t)floor(a.v[i] * 3.5 + 3.5) - 3);
  save_arr(&a, path);
  free(a.v);
}

/* Writes a layer's kernel and bias for p to in_dir (integers when ints) and its input (channels
 * and steps in p's data format) to x_name. */
static void make_layer(const spec *p, const char *x_name, bool ints) {
  if (ints) {
    save_integers(in_path("k.npy"), p->dtype, p->K, p->F, p->C);
    arr b = make_arr(p->dtype, 1, p->F, 0, 0);
    for (size_t i = 0; i < b.n; i++) b.v[i] = (double)(int64_t)(b.v[i] * 4);
    save_arr(&b, in_path("b.npy"));
    free(b.v);
    save_integers(in_path(x_name), p->dtype, p->B, p->cf ? p->C : p->L, p->cf ? p->L : p->C);
  } else {
    save_random(in_path("k.npy"), p->dtype, 3, p->K, p->F, p->C);
    save_random(in_path("b.npy"), p->dtype, 1, p->F, 0, 0);
    save_random(in_path(x_name), p->dtype, 3, p->B, p->cf ? p->C : p->L, p->cf ? p->L : p->C);
  }
}

/* run's command line for p: input x_name, output y_name, then `extra` (NULL-terminated). */
static const char *const *layer_args(const spec *p, const char *x_name, const char *y_name,
                                     const char *const *extra) {
  args_start("run", FLAGS_SPACED);
  args_flag("--input", in_path(x_name));
  args_flag("--kernel", in_path("k.npy"));
  if (p->bias) args_flag("--bias", in_path("b.npy"));
  args_flag("--output", out_path(y_name));
  args_layer_flags(p, NULL);
  for (; extra && *extra; extra += 2) args_flag(extra[0], extra[1]);
  return args_end();
}

/* Entries of out_dir, hidden ones included, besides those named in keep (NULL-terminated). */
static int stray_files(const char *const *keep) {
  DIR *d = opendir(out_dir);
  ck_assert_ptr_nonnull(d);
  int n = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    bool kept = false;
    for (const char *const *k = keep; k && *k; k++) kept |= strcmp(e->d_name, *k) == 0;
    n += !kept;
  }
  closedir(d);
  return n;
}

/* ------------------------------------------------------------------------------------------- */
/* The batch split over the ranks */

/* Whether a GEMM's last bits may depend on its size with the BLAS in use (BLIS, ATLAS; the
 * README says so): then a rank's part, which runs smaller GEMMs, may differ from one process's
 * run in rounding. OpenBLAS, MKL and the reference BLAS compute an element the same way. */
static bool gemm_bits_may_move(void) {
  char blas[512];
  int threads;
  return conv1dt_blas_info(blas, sizeof blas, &threads) == CONV1DT_OK &&
         (strstr(blas, "BLIS") || strstr(blas, "ATLAS"));
}

/* conv1dt run, then conv1dt-mpi over each of the rank counts (0-terminated): the same bytes
 * (within rounding for the GEMM methods on a BLAS whose bits move with a GEMM's size). */
static void check_split(const spec *p, const char *const *extra, const int *nps) {
  make_layer(p, "x.npy", false);
  run_single(layer_args(p, "x.npy", "y1.npy", extra));
  bool direct = false;
  for (const char *const *e = extra; e && *e; e += 2) direct |= strcmp(e[1], "direct") == 0;
  for (; *nps; nps++) {
    run_mpi(*nps, layer_args(p, "x.npy", "y2.npy", extra));
    if (!direct && gemm_bits_may_move() && !same_bytes(out_path("y1.npy"), out_path("y2.npy"))) {
      expect_values(out_path("y1.npy"), out_path("y2.npy"), 1e-5);
      fprintf(stderr, "-np %d: last bits differ from conv1dt's with this BLAS\n", *nps);
    }
    ck_assert_msg(same_bytes(out_path("y1.npy"), out_path("y2.npy")) ||
                      (!direct && gemm_bits_may_move()),
                  "-np %d: conv1dt-mpi's output differs from conv1dt's (B %lld, L %lld, cf %d)",
                  *nps, (long long)p->B, (long long)p->L, p->cf);
    ck_assert_int_eq(unlink(out_path("y2.npy")), 0);
  }
  ck_assert_int_eq(stray_files(NULL) - 1, 0); /* y1.npy alone: no staged file left */
}

START_TEST(test_batch_split) {
  const int nps[] = {1, 2, 3, 0};
  const spec layers[] = {/* cf, same, bias, dtype, op, s, d, K, F, C, B, L, act */
                         {false, true, true, NPY_FLOAT32, -1, 2, 1, 5, 6, 3, 7, 40, NULL},
                         {true, false, true, NPY_FLOAT64, 1, 3, 1, 4, 5, 2, 5, 33, "relu"},
                         {false, false, false, NPY_FLOAT64, -1, 1, 2, 3, 4, 4, 6, 25, "tanh"},
                         {true, true, true, NPY_FLOAT32, -1, 1, 1, 3, 4, 3, 4, 30, "softmax"}};
  for (size_t i = 0; i < sizeof layers / sizeof *layers; i++) check_split(&layers[i], NULL, nps);
}
END_TEST

/* Every method, as AUTO would not pick it for the part of a rank. */
START_TEST(test_batch_split_methods) {
  const int nps[] = {2, 3, 0};
  const char *const algorithms[] = {"gemm", "direct", "gemm_accumulate"};
  const spec p = {false, true, true, NPY_FLOAT32, -1, 2, 1, 4, 8, 8, 9, 64, NULL};
  for (int a = 0; a < 3; a++) {
    const char *const extra[] = {"--algorithm", algorithms[a], NULL};
    check_split(&p, extra, nps);
    ck_assert_int_eq(unlink(out_path("y1.npy")), 0);
  }
}
END_TEST

/* More ranks than samples: the ranks past the batch idle (steps too few to share, or a layer
 * that no stream runs: softmax along a channels_first sample's steps). */
START_TEST(test_more_ranks_than_samples) {
  const int nps[] = {4, 6, 0}, three[] = {3, 0};
  const spec p = {false, true, true, NPY_FLOAT32, -1, 2, 1, 3, 4, 3, 3, 20, NULL};
  check_split(&p, NULL, nps);
  ck_assert_int_eq(unlink(out_path("y1.npy")), 0);
  const spec q = {true, true, true, NPY_FLOAT32, -1, 2, 1, 3, 4, 3, 2, 3000, "softmax"};
  check_split(&q, NULL, three);
}
END_TEST

/* --memory-limit per rank: each rank's part in several blocks, the same bytes. */
START_TEST(test_batch_split_memory_limit) {
  const int nps[] = {2, 3, 0};
  const spec p = {false, false, true, NPY_FLOAT64, -1, 2, 1, 5, 16, 16, 24, 2000, NULL};
  const char *const extra[] = {"--memory-limit", "2M", NULL};
  check_split(&p, extra, nps);
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* One long signal split along its steps (halo) */

static void check_steps(const spec *p, bool ints, double tol, const char *const *extra,
                        const int *nps) {
  make_layer(p, "x.npy", ints);
  run_single(layer_args(p, "x.npy", "y1.npy", NULL));
  for (; *nps; nps++) {
    run_mpi(*nps, layer_args(p, "x.npy", "y2.npy", extra));
    expect_values(out_path("y1.npy"), out_path("y2.npy"), tol);
    ck_assert_int_eq(unlink(out_path("y2.npy")), 0);
  }
  ck_assert_int_eq(unlink(out_path("y1.npy")), 0);
  ck_assert_int_eq(stray_files(NULL), 0);
}

/* Every edge of the steps: both paddings, output_padding, strides, dilation, both data formats,
 * an element-wise activation; each rank's output steps start and end mid-signal. */
START_TEST(test_steps_split_exact) {
  const int nps[] = {2, 3, 0};
  const spec layers[] = {/* cf, same, bias, dtype, op, s, d, K, F, C, B, L, act */
                         {false, true, true, NPY_FLOAT64, -1, 3, 1, 7, 4, 3, 1, 3000, NULL},
                         {false, false, true, NPY_FLOAT64, 1, 2, 1, 5, 3, 2, 1, 4001, NULL},
                         {true, true, true, NPY_FLOAT64, -1, 1, 3, 4, 3, 3, 1, 5000, "relu"},
                         {true, false, false, NPY_FLOAT64, -1, 5, 1, 2, 2, 2, 1, 1500, NULL},
                         {false, true, true, NPY_FLOAT64, 3, 4, 1, 6, 3, 2, 1, 2000, "relu6"},
                         {false, true, true, NPY_FLOAT64, 0, 2, 1, 4, 3, 2, 2, 3000, NULL}};
  for (size_t i = 0; i < sizeof layers / sizeof *layers; i++)
    check_steps(&layers[i], true, 0, NULL, nps);
}
END_TEST

/* Random float32 data: the stream sums in another order than the one-shot run may. */
START_TEST(test_steps_split_rounding) {
  const int nps[] = {3, 0};
  const spec p = {false, true, true, NPY_FLOAT32, -1, 2, 1, 9, 16, 8, 1, 6000, "gelu"};
  check_steps(&p, false, 1e-5, NULL, nps);
}
END_TEST

/* Within a --memory-limit that holds a fraction of a rank's steps: the part in blocks. */
START_TEST(test_steps_split_memory_limit) {
  const int nps[] = {2, 3, 0};
  const spec p = {false, true, true, NPY_FLOAT64, -1, 2, 1, 5, 16, 16, 1, 40000, NULL};
  const char *const extra[] = {"--memory-limit", "1M", NULL};
  check_steps(&p, true, 0, extra, nps);
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* Failures: every rank non-zero, no output */

/* The output's folder does not exist: every rank says so before any work. */
START_TEST(test_error_everywhere) {
  const spec p = {false, true, true, NPY_FLOAT32, -1, 2, 1, 3, 4, 3, 6, 20, NULL};
  make_layer(&p, "x.npy", false);
  const char *y = out_path("no/such/dir/y.npy");
  args_start("run", FLAGS_SPACED);
  args_flag("--input", in_path("x.npy"));
  args_flag("--kernel", in_path("k.npy"));
  args_flag("--output", y);
  cmd_mpi(3);
  cmd_args(args_end());
  char *err;
  int status = cmd_run(&err);
  ck_assert_msg(status > 0, "exit %d; %s", status, err);
  for (int r = 0; r < 3; r++) {
    char want[64];
    snprintf(want, sizeof want, "conv1dt: error: rank %d: ", r);
    ck_assert_msg(strstr(err, want), "no message from rank %d: %s", r, err);
  }
  free(err);
  /* A bad input (a kernel whose channels do not match): the same. */
  save_random(in_path("k.npy"), NPY_FLOAT32, 3, 3, 4, 5);
  cmd_mpi(2);
  cmd_args(layer_args(&p, "x.npy", "y.npy", NULL));
  status = cmd_run(&err);
  ck_assert_msg(status > 0 && strstr(err, "channels"), "exit %d; %s", status, err);
  free(err);
  ck_assert_int_eq(stray_files(NULL), 0);
}
END_TEST

/* A failure on one rank only, after the output is staged: rank 2 of 3 is given a
 * --memory-limit too small for its part (MPMD: ranks 0 and 1 run the same line without it). The
 * other ranks finish their parts, and still no output exists and every rank fails. The same
 * along the steps, and with the staged file named (no O_TMPFILE). */
static void check_one_rank_fails(const spec *p, bool named) {
  make_layer(p, "x.npy", false);
  if (named) setenv("CONV1DT_TEST_NO_TMPFILE", "1", 1);
  cmd_mpi_with(2, named ? "-x CONV1DT_TEST_NO_TMPFILE" : NULL, false);
  cmd_args(layer_args(p, "x.npy", "y.npy", NULL));
  cmd_add(":");
  cmd_program(1);
  const char *const tiny[] = {"--memory-limit", "1K", NULL};
  cmd_args(layer_args(p, "x.npy", "y.npy", tiny));
  char *err;
  const int status = cmd_run(&err);
  unsetenv("CONV1DT_TEST_NO_TMPFILE");
  ck_assert_msg(status > 0, "exit %d; %s", status, err);
  ck_assert_msg(strstr(err, "conv1dt: error: rank 2: --memory-limit 1 KiB is too small"), "%s",
                err);
  ck_assert_msg(!strstr(err, "rank 0:") && !strstr(err, "rank 1:"), "%s", err);
  free(err);
  ck_assert_int_eq(stray_files(NULL), 0);
}

START_TEST(test_error_on_one_rank) {
  const spec samples = {false, true, true, NPY_FLOAT32, -1, 2, 1, 3, 4, 3, 6, 200, NULL};
  const spec steps = {false, true, true, NPY_FLOAT64, -1, 2, 1, 3, 4, 3, 1, 6000, NULL};
  check_one_rank_fails(&samples, false);
  check_one_rank_fails(&samples, true);
  check_one_rank_fails(&steps, false);
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* --input-list shared by the ranks */

START_TEST(test_input_list) {
  const spec p = {false, true, true, NPY_FLOAT32, -1, 2, 1, 3, 4, 3, 2, 20, NULL};
  make_layer(&p, "x0.npy", false);
  char list[8192] = "";
  enum { FILES = 5, BAD = 3 };
  for (int i = 0; i < FILES; i++) {
    char name[32];
    snprintf(name, sizeof name, "x%d.npy", i);
    if (i == BAD)
      save_random(in_path(name), NPY_FLOAT32, 3, 2, 20, 5); /* 5 channels, not 3 */
    else if (i)
      save_random(in_path(name), NPY_FLOAT32, 3, 1 + i, 20 + i, 3);
    strcat(list, in_path(name));
    strcat(list, "\n");
  }
  write_all(in_path("list.txt"), list, strlen(list));
  /* The good outputs one by one from conv1dt, into in_dir. */
  for (int i = 0; i < FILES; i++) {
    if (i == BAD) continue;
    char x[32], y[32];
    snprintf(x, sizeof x, "x%d.npy", i);
    snprintf(y, sizeof y, "y%d.npy", i);
    args_start("run", FLAGS_SPACED);
    args_flag("--input", in_path(x));
    args_flag("--kernel", in_path("k.npy"));
    args_flag("--bias", in_path("b.npy"));
    args_flag("--output", in_path(y));
    args_layer_flags(&p, NULL);
    run_single(args_end());
  }
  const int nps[] = {2, 3, 7};
  for (int n = 0; n < 3; n++) {
    args_start("run", FLAGS_SPACED);
    args_flag("--input-list", in_path("list.txt"));
    args_flag("--output-dir", out_dir);
    args_flag("--kernel", in_path("k.npy"));
    args_flag("--bias", in_path("b.npy"));
    args_layer_flags(&p, NULL);
    cmd_mpi(nps[n]);
    cmd_args(args_end());
    char *err;
    const int status = cmd_run(&err);
    ck_assert_msg(status == 3, "-np %d: exit %d, expected 3; %s", nps[n], status, err);
    ck_assert_msg(strstr(err, "x3.npy") && strstr(err, "1 of 5 inputs failed"), "%s", err);
    free(err);
    const char *const keep[] = {"x0.npy", "x1.npy", "x2.npy", "x4.npy", NULL};
    ck_assert_int_eq(stray_files(keep), 0);
    for (int i = 0; i < FILES; i++) {
      if (i == BAD) continue;
      char x[32], y[32];
      snprintf(x, sizeof x, "x%d.npy", i);
      snprintf(y, sizeof y, "y%d.npy", i);
      ck_assert_msg(same_bytes(in_path(y), out_path(x)), "-np %d: %s differs", nps[n], x);
      ck_assert_int_eq(unlink(out_path(x)), 0);
    }
  }
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* Killed jobs */

/* The pid of rank `rank` of conv1dt-mpi whose command line names `marker`; 0 if none. */
static pid_t find_rank(int rank, const char *marker) {
  DIR *d = opendir("/proc");
  ck_assert_ptr_nonnull(d);
  char want[64];
  snprintf(want, sizeof want, "OMPI_COMM_WORLD_RANK=%d", rank);
  pid_t found = 0;
  for (struct dirent *e; !found && (e = readdir(d));) {
    const long pid = strtol(e->d_name, NULL, 10);
    if (pid <= 0) continue;
    char path[64];
    size_t len;
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    if (access(path, R_OK) != 0) continue;
    FILE *f = fopen(path, "rb");
    if (!f) continue;
    static char buf[65536];
    len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    const char *base = strrchr(buf, '/');
    bool named = strcmp(base ? base + 1 : buf, "conv1dt-mpi") == 0, marked = false;
    for (size_t i = 0; named && i < len; i += strlen(buf + i) + 1)
      marked |= !!strstr(buf + i, marker);
    if (!marked) continue;
    snprintf(path, sizeof path, "/proc/%ld/environ", pid);
    if (!(f = fopen(path, "rb"))) continue;
    len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = '\0';
    for (size_t i = 0; i < len; i += strlen(buf + i) + 1)
      if (strcmp(buf + i, want) == 0) found = (pid_t)pid;
  }
  closedir(d);
  return found;
}

/* Starts a job paused at rank `rank`'s hook, then sends sig to that rank (rank >= 0) or to
 * mpirun (rank < 0): the job ends non-zero and leaves nothing in out_dir. */
static void kill_job(const spec *p, const char *const *extra, const char *hook, int rank, int sig,
                     bool named) {
  setenv("CONV1DT_TEST_HOOK", hook, 1);
  char r[16];
  snprintf(r, sizeof r, "%d", rank < 0 ? 0 : rank);
  setenv("CONV1DT_TEST_HOOK_RANK", r, 1);
  if (named) setenv("CONV1DT_TEST_NO_TMPFILE", "1", 1);
  cmd_mpi_with(3,
               named ? "-x CONV1DT_TEST_HOOK -x CONV1DT_TEST_HOOK_RANK -x CONV1DT_TEST_NO_TMPFILE"
                     : "-x CONV1DT_TEST_HOOK -x CONV1DT_TEST_HOOK_RANK",
               true);
  cmd_args(layer_args(p, "x.npy", "y.npy", extra));
  cmd[cmd_len] = NULL;
  const pid_t job = start(cmd);
  unsetenv("CONV1DT_TEST_HOOK");
  unsetenv("CONV1DT_TEST_HOOK_RANK");
  unsetenv("CONV1DT_TEST_NO_TMPFILE");
  char point[64];
  snprintf(point, sizeof point, "test hook: %s", hook);
  bool paused = false;
  for (int i = 0; i < 6000 && !paused; i++) {
    char *err = slurp(bg_err);
    paused = strstr(err, point) != NULL;
    free(err);
    if (!paused) cli_sleep_ms(10);
  }
  if (!paused) kill(job, SIGKILL);
  ck_assert_msg(paused, "timed out waiting for '%s'", point);
  pid_t target = job;
  if (rank >= 0) {
    for (int i = 0; i < 500 && !(target = find_rank(rank, out_dir)); i++) cli_sleep_ms(10);
    ck_assert_msg(target > 0, "rank %d not found", rank);
  }
  ck_assert_int_eq(kill(target, sig), 0);
  const int status = reap(job);
  char *err = slurp(bg_err);
  ck_assert_msg(status != 0, "hook %s, rank %d, signal %d: exit 0; %s", hook, rank, sig, err);
  free(err);
  /* The other ranks may end a moment after mpirun: wait for them. */
  for (int i = 0;
       i < 500 && (find_rank(0, out_dir) || find_rank(1, out_dir) || find_rank(2, out_dir)); i++)
    cli_sleep_ms(10);
  if (stray_files(NULL) != 0) {
    DIR *d = opendir(out_dir);
    char names[1024] = "";
    for (struct dirent *e; d && (e = readdir(d));)
      if (strlen(names) + strlen(e->d_name) + 2 < sizeof names) {
        strcat(names, " ");
        strcat(names, e->d_name);
      }
    if (d) closedir(d);
    err = slurp(bg_err);
    ck_abort_msg("hook %s, rank %d, signal %d%s: files left:%s; %s", hook, rank, sig,
                 named ? " (named)" : "", names, err);
  }
}

START_TEST(test_killed) {
  const spec p = {false, true, true, NPY_FLOAT64, -1, 2, 1, 5, 16, 16, 12, 2000, NULL};
  const spec q = {false, true, true, NPY_FLOAT64, -1, 2, 1, 5, 16, 16, 1, 40000, NULL};
  const char *const limit[] = {"--memory-limit", "1M", NULL};
  make_layer(&p, "x.npy", false);
  /* Rank 0's staged file unnamed (O_TMPFILE, reached by the others through /proc): nothing can
   * remain, whichever rank is killed and however the launcher ends the others. */
  kill_job(&p, limit, "block", 1, SIGKILL, false);
  kill_job(&p, limit, "block", 0, SIGKILL, false);
  kill_job(&p, limit, "written", 0, SIGKILL, false);
  kill_job(&p, limit, "block", -1, SIGTERM, false);
  kill_job(&p, limit, "block", -1, SIGINT, false);
  /* Named (as across nodes): the handlers of the rank signalled remove it, rank 0's or another
   * one's (Open MPI's mpirun may end the other ranks with SIGKILL alone, so the test signals a
   * rank itself). */
  kill_job(&p, limit, "block", 0, SIGTERM, true);
  kill_job(&p, limit, "block", 1, SIGINT, true);
  /* Along the steps. */
  make_layer(&q, "x.npy", false);
  kill_job(&q, limit, "block", 1, SIGKILL, false);
  kill_job(&q, limit, "block", 2, SIGHUP, true);
}
END_TEST

/* ------------------------------------------------------------------------------------------- */

START_TEST(test_usage) {
  cmd_mpi(2);
  cmd_add("grad");
  char *err;
  int status = cmd_run(&err);
  ck_assert_msg(status == 2, "exit %d; %s", status, err);
  /* Once, from rank 0. */
  const char *first = strstr(err, "runs 'run' only");
  ck_assert_msg(first && !strstr(first + 15, "runs 'run' only"), "%s", err);
  free(err);
  cmd_mpi(2);
  cmd_words("run --input x.npy --output y.npy --kernel k.npy --strides 0");
  status = cmd_run(&err);
  ck_assert_msg(status == 2, "exit %d; %s", status, err);
  first = strstr(err, "conv1dt: error:");
  ck_assert_msg(first && !strstr(first + 15, "conv1dt: error:"), "%s", err);
  free(err);
}
END_TEST

/* Three cases, each its own CTest test (CK_RUN_CASE) so that they run side by side. */
static Suite *mpi_suite(void) {
  Suite *s = cli_suite_create("cli_mpi");
  TCase *tc = cli_tcase_create(s, "split", 240);
  tcase_add_test(tc, test_batch_split);
  tcase_add_test(tc, test_batch_split_methods);
  tcase_add_test(tc, test_more_ranks_than_samples);
  tcase_add_test(tc, test_batch_split_memory_limit);
  tcase_add_test(tc, test_steps_split_exact);
  tcase_add_test(tc, test_steps_split_rounding);
  tcase_add_test(tc, test_steps_split_memory_limit);
  tc = cli_tcase_create(s, "errors", 240);
  tcase_add_test(tc, test_error_everywhere);
  tcase_add_test(tc, test_error_on_one_rank);
  tcase_add_test(tc, test_input_list);
  tcase_add_test(tc, test_usage);
  tc = cli_tcase_create(s, "killed", 240);
  tcase_add_test(tc, test_killed);
  return s;
}

int main(void) {
  return run_suite(mpi_suite());
}
