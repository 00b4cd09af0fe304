/* End-to-end tests of conv1dt's batch-job behaviour: `run` and `grad` killed at known points
 * (the CLI's CONV1DT_TEST_HOOK) and at timed moments with SIGINT, SIGTERM, SIGHUP and SIGKILL
 * leave only complete outputs; `run --input-list` jobs (a bad file among good ones, duplicate
 * names, --skip-existing resuming a killed job); the progress line, and the bits of a run
 * sliced for it against the library's one-call forward pass; the same for runs within
 * --memory-limit (killed between blocks, list jobs in blocks, progress per block). Work files go
 * under $CONV1DT_TEST_TMP. */
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* The library runs with the CLI's thread count, so both sides compute the same bits. */

/* ------------------------------------------------------------------------------------------- */
/* Running the program in the background */

static char bg_err[4300];

/* Starts $CONV1DT_CLI with args in the background, stdout to work_dir/bg_out.txt, stderr to
 * work_dir/bg_err.txt. */
static pid_t spawn_cli(const char *const *args) {
  const char *cli = getenv("CONV1DT_CLI");
  ck_assert_msg(cli && *cli, "CONV1DT_CLI is not set");
  const char *argv[64];
  int n = 0;
  /* Under the cross build's emulator, as run_cli does (cli_harness.c). */
  static char emu_words[1024];
  const char *emu = getenv("CONV1DT_CLI_EMULATOR");
  snprintf(emu_words, sizeof emu_words, "%s", emu ? emu : "");
  char *save = NULL;
  for (char *w = strtok_r(emu_words, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
    ck_assert_int_lt(n, 16);
    argv[n++] = w;
  }
  const bool emulated = n > 0;
  argv[n++] = cli;
  for (; *args; args++) {
    ck_assert_int_lt(n, 62);
    argv[n++] = *args;
  }
  argv[n] = NULL;
  char so[4300];
  snprintf(so, sizeof so, "%s/bg_out.txt", work_dir);
  snprintf(bg_err, sizeof bg_err, "%s/bg_err.txt", work_dir);
  posix_spawn_file_actions_t fa;
  ck_assert_int_eq(posix_spawn_file_actions_init(&fa), 0);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, so, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, bg_err, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  /* The signals' default actions, even where this test inherited them ignored (a background
   * job's SIGINT): the program keeps an ignored signal ignored. */
  posix_spawnattr_t attr;
  ck_assert_int_eq(posix_spawnattr_init(&attr), 0);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGHUP);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF);
  pid_t pid;
  const int rc = emulated ? posix_spawnp(&pid, argv[0], &fa, &attr, (char *const *)argv, environ)
                          : posix_spawn(&pid, cli, &fa, &attr, (char *const *)argv, environ);
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&fa);
  ck_assert_msg(rc == 0, "cannot start %s: %s", argv[0], strerror(rc));
  return pid;
}

/* Waits (up to 60 s) until the background program's stderr holds text. */
static void wait_for_stderr(pid_t pid, const char *text) {
  for (int i = 0; i < 6000; i++) {
    char *err = slurp(bg_err);
    const bool found = strstr(err, text) != NULL;
    free(err);
    if (found) return;
    int wst;
    if (waitpid(pid, &wst, WNOHANG) == pid) {
      err = slurp(bg_err);
      ck_abort_msg("the program ended (status %d) before '%s'; stderr: %s", wst, text, err);
    }
    cli_sleep_ms(10);
  }
  kill(pid, SIGKILL);
  ck_abort_msg("timed out waiting for '%s'", text);
}

/* Waits for the program's end: its exit code, or -signal. */
static int reap(pid_t pid) {
  int wst;
  while (waitpid(pid, &wst, 0) < 0) ck_assert_int_eq(errno, EINTR);
  return WIFEXITED(wst) ? WEXITSTATUS(wst) : -WTERMSIG(wst);
}

/* Runs args with CONV1DT_TEST_HOOK=hook, waits for the hook, sends sig, and checks that sig
 * ended the program. */
static void kill_at(const char *const *args, const char *hook, int sig) {
  setenv("CONV1DT_TEST_HOOK", hook, 1);
  const pid_t pid = spawn_cli(args);
  unsetenv("CONV1DT_TEST_HOOK");
  char point[64];
  snprintf(point, sizeof point, "test hook: %.*s", (int)strcspn(hook, ":"), hook);
  wait_for_stderr(pid, point);
  ck_assert_int_eq(kill(pid, sig), 0);
  const int status = reap(pid);
  char *err = slurp(bg_err);
  ck_assert_msg(status == -sig, "hook %s, signal %d: status %d; stderr: %s", hook, sig, status,
                err);
  free(err);
}

/* Whether out_dir's file system gives unnamed files (O_TMPFILE): then even SIGKILL leaves no
 * staged file behind. */
static bool has_tmpfile(void) {
#ifdef O_TMPFILE
  const int fd = open(out_dir, O_TMPFILE | O_RDWR, 0600);
  if (fd < 0) return false;
  close(fd);
  return true;
#else
  return false;
#endif
}

/* The names in out_dir other than the listed ones must be hidden staging files
 * (".NAME.XXXXXX"); returns how many there were and removes them. */
static int remove_leftovers(const char *const *keep) {
  DIR *d = opendir(out_dir);
  ck_assert_ptr_nonnull(d);
  int left = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    bool kept = false;
    for (const char *const *k = keep; *k; k++) kept = kept || strcmp(e->d_name, *k) == 0;
    if (kept) continue;
    const size_t len = strlen(e->d_name);
    ck_assert_msg(e->d_name[0] == '.' && len > 8 && e->d_name[len - 7] == '.',
                  "unexpected file '%s' in the output folder", e->d_name);
    unlink(out_path(e->d_name));
    left++;
  }
  closedir(d);
  return left;
}

#define NAMES(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ------------------------------------------------------------------------------------------- */
/* Inputs and the library's own answer */

/* The layer of these tests: float32, kernel (K, F, C), strides 2, no bias unless asked. */
enum { K = 4, F = 32, C = 8, S = 2 };

static void save_kernel(void) {
  arr_seed(0x5EED);
  save_random(in_path("k.npy"), NPY_FLOAT32, 3, K, F, C);
  save_random(in_path("b.npy"), NPY_FLOAT32, 1, F, 0, 0);
}

/* What the library's one forward call gives for the input file (channels_last, strides S,
 * bias, algorithm alg): the .npy bytes a run must write. */
static unsigned char *library_output(const char *input, conv1dt_algorithm alg, size_t *len) {
  npy_array k = load_npy(in_path("k.npy")), b = load_npy(in_path("b.npy")), x = load_npy(input);
  conv1dt_config cfg = conv1dt_config_default(F, K);
  cfg.strides = S;
  cfg.algorithm = alg;
  conv1dt_layer *layer = NULL;
  ck_assert_int_eq(conv1dt_create(&cfg, C, CONV1DT_FLOAT32, &layer), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_set_weights(layer, k.data, b.data), CONV1DT_OK);
  int64_t shape[3];
  ck_assert_int_eq(conv1dt_output_shape(layer, x.shape[0], x.shape[1], shape), CONV1DT_OK);
  const size_t n = (size_t)(shape[0] * shape[1] * shape[2]);
  float *y = malloc(n * sizeof *y + 1);
  ck_assert_ptr_nonnull(y);
  ck_assert_int_eq(conv1dt_forward(layer, x.data, x.shape[0], x.shape[1], y, NULL, 0), CONV1DT_OK);
  unsigned char header[1024];
  const size_t h = npy_build_header(NPY_FLOAT32, 3, shape, header, sizeof header);
  ck_assert_uint_gt(h, 0);
  unsigned char *bytes = malloc(h + n * sizeof *y);
  ck_assert_ptr_nonnull(bytes);
  memcpy(bytes, header, h);
  memcpy(bytes + h, y, n * sizeof *y);
  *len = h + n * sizeof *y;
  free(y);
  conv1dt_destroy(layer);
  npy_free(&k);
  npy_free(&b);
  npy_free(&x);
  return bytes;
}

/* The file at path holds the numbers of `want` (an .npy image): its bytes exactly, or, where
 * `strict` is 0, values within float32 rounding. A GEMM method's sums may depend on the GEMMs'
 * sizes with some BLAS (ATLAS, BLIS), and a sliced batch runs smaller GEMMs; conv1dt's own
 * direct kernels do not. */
static void expect_numbers(const char *path, const unsigned char *want, size_t len, int strict) {
  size_t got_len;
  unsigned char *got = read_all(path, &got_len);
  const int same = got_len == len && memcmp(got, want, len) == 0;
  free(got);
  if (same) return;
  ck_assert_msg(!strict, "%s: different bytes", path);
  const char *want_path = out_path("want.npy");
  FILE *f = fopen(want_path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(want, 1, len, f), len);
  fclose(f);
  npy_array a = load_npy(want_path), b = load_npy(path);
  ck_assert_uint_eq(a.count, b.count);
  for (size_t i = 0; i < a.count; i++) {
    const double u = ((float *)a.data)[i], v = ((float *)b.data)[i];
    ck_assert_msg(fabs(u - v) <= 1e-5 * (1 + fabs(u)), "%s: element %zu: %.9g vs %.9g", path, i, u,
                  v);
  }
  npy_free(&a);
  npy_free(&b);
  unlink(want_path);
}

/* The file at path holds exactly the bytes `want`. */
static void expect_bytes(const char *path, const unsigned char *want, size_t len) {
  size_t got_len;
  unsigned char *got = read_all(path, &got_len);
  ck_assert_msg(got_len == len, "%s: %zu bytes, expected %zu", path, got_len, len);
  ck_assert_msg(memcmp(got, want, len) == 0, "%s: different bytes", path);
  free(got);
}

/* A run writing about 32 MB: 64 samples of 2048 steps into 4098 x 32 float32 each. */
#define BIG_RUN(output)                                                                            \
  "run", "--input", in_path("big.npy"), "--kernel", in_path("k.npy"), "--bias", in_path("b.npy"),  \
      "--strides", "2", "--output", output

static void save_big(void) {
  save_kernel();
  save_random(in_path("big.npy"), NPY_FLOAT32, 3, 64, 2048, C);
}

/* ------------------------------------------------------------------------------------------- */
/* Killed runs */

static const int SIGNALS[] = {SIGINT, SIGTERM, SIGHUP, SIGKILL};
enum { NSIGNALS = 4 };

/* Kills run at every hook point with every signal, staged both ways (unnamed files, and the
 * named fallback that CONV1DT_TEST_NO_TMPFILE forces). */
START_TEST(test_run_killed_at_hooks) {
  save_big();
  const bool unnamed = has_tmpfile();
  static const char *const points[] = {"slice:3", "staged", "written"};
  for (int fallback = 0; fallback < 2; fallback++) {
    if (fallback) setenv("CONV1DT_TEST_NO_TMPFILE", "1", 1);
    for (size_t p = 0; p < sizeof points / sizeof *points; p++)
      for (int s = 0; s < NSIGNALS; s++) {
        kill_at(ARGS(BIG_RUN(out_path("y.npy")), "--progress"), points[p], SIGNALS[s]);
        /* Only SIGKILL of a named staging file can leave it; nothing is staged at "slice". */
        const int left = remove_leftovers(NAMES("none"));
        const bool may_leave =
            SIGNALS[s] == SIGKILL && (fallback || !unnamed) && strcmp(points[p], "slice:3") != 0;
        ck_assert_msg(left == (may_leave ? 1 : 0), "%s, signal %d, fallback %d: %d left", points[p],
                      SIGNALS[s], fallback, left);
      }
    unsetenv("CONV1DT_TEST_NO_TMPFILE");
  }
}
END_TEST

/* A killed run that would have replaced an existing output leaves it as it was; in the instant
 * of the replacing publish (the hidden link before the rename) a catchable signal waits for the
 * publish to end, and SIGKILL leaves the hidden link (README). */
START_TEST(test_run_killed_keeps_existing) {
  save_big();
  const bool unnamed = has_tmpfile();
  static const char *const points[] = {"staged", "written", "linked"};
  for (size_t p = 0; p < 3; p++)
    for (int s = 0; s < NSIGNALS; s++) {
      const bool linked = p == 2;
      if (linked && !unnamed) continue; /* only unnamed files link */
      write_all(out_path("y.npy"), "precious", 8);
      kill_at(ARGS(BIG_RUN(out_path("y.npy"))), points[p], SIGNALS[s]);
      const int left = remove_leftovers(NAMES("y.npy"));
      ck_assert_int_eq(left, SIGNALS[s] == SIGKILL && (!unnamed || linked) ? 1 : 0);
      if (linked && SIGNALS[s] != SIGKILL) {
        npy_array y = load_npy(out_path("y.npy")); /* the new output, complete */
        ck_assert_int_eq(y.shape[1], 4098);
        npy_free(&y);
      } else {
        char *text = slurp(out_path("y.npy"));
        ck_assert_str_eq(text, "precious");
        free(text);
      }
    }
}
END_TEST

/* Killed at timed moments without hooks: the folder holds nothing or the complete output. */
START_TEST(test_run_killed_anytime) {
  save_big();
  size_t len;
  unsigned char *want = library_output(in_path("big.npy"), CONV1DT_ALGORITHM_AUTO, &len);
  const bool unnamed = has_tmpfile();
  static const int delays[] = {0, 5, 20, 50, 100, 200, 400};
  int complete = 0;
  for (size_t d = 0; d < sizeof delays / sizeof *delays; d++)
    for (int s = 0; s < NSIGNALS; s++) {
      const pid_t pid = spawn_cli(ARGS(BIG_RUN(out_path("y.npy"))));
      cli_sleep_ms(delays[d]);
      kill(pid, SIGNALS[s]);
      const int status = reap(pid);
      ck_assert_msg(status == 0 || status == -SIGNALS[s], "status %d", status);
      const int left = remove_leftovers(NAMES("y.npy"));
      ck_assert_msg(left == 0 || (SIGNALS[s] == SIGKILL && !unnamed), "%d left", left);
      if (access(out_path("y.npy"), F_OK) == 0) {
        expect_bytes(out_path("y.npy"), want, len);
        unlink(out_path("y.npy"));
        complete++;
      }
    }
  free(want);
  (void)complete; /* how many finished before the signal depends on the machine */
}
END_TEST

/* grad's outputs appear together: killed while they are staged, none appears; a catchable
 * signal while they are published waits for the last one; SIGKILL then leaves those already
 * published (complete), none of the others, and the others' hidden names. */
START_TEST(test_grad_killed) {
  save_big();
  arr_seed(7);
  save_random(in_path("dy.npy"), NPY_FLOAT32, 3, 64, 4098, F);
  const bool unnamed = has_tmpfile();
#define GRAD_RUN                                                                                   \
  ARGS("grad", "--input", in_path("big.npy"), "--kernel", in_path("k.npy"), "--bias",              \
       in_path("b.npy"), "--strides", "2", "--grad-output", in_path("dy.npy"), "--grad-input",     \
       out_path("dx.npy"), "--grad-kernel", out_path("dk.npy"), "--grad-bias", out_path("db.npy"))
  /* Killed where: the outputs then complete after a catchable signal (which waits for the end
   * of publishing) and after SIGKILL, and how many hidden staging names SIGKILL leaves with
   * unnamed staging and with named staging. Publishing a group names every file first (so that
   * a name the file system refuses fails before any destination is replaced): SIGKILL in that
   * instant (microseconds; the hooks stretch it) leaves the names. */
  static const struct {
    const char *point;
    bool all_after_catchable;
    const char *after_kill;
    int kill_leaves_unnamed, kill_leaves_named;
  } cases[] = {{"staged:2", false, NULL, 0, 2},
               {"written:1", true, NULL, 3, 3},
               {"published:1", true, "dx.npy", 2, 2}};
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
    for (int s = 0; s < NSIGNALS; s++) {
      kill_at(GRAD_RUN, cases[c].point, SIGNALS[s]);
      const bool killed = SIGNALS[s] == SIGKILL;
      const bool all = !killed && cases[c].all_after_catchable;
      const char *one = killed ? cases[c].after_kill : NULL;
      const int left = all   ? remove_leftovers(NAMES("dx.npy", "dk.npy", "db.npy"))
                       : one ? remove_leftovers(NAMES(one))
                             : remove_leftovers(NAMES("none"));
      const int leaves = unnamed ? cases[c].kill_leaves_unnamed : cases[c].kill_leaves_named;
      ck_assert_msg(left == (killed ? leaves : 0), "%s, signal %d: %d left", cases[c].point,
                    SIGNALS[s], left);
      ck_assert_int_eq(count_entries(out_dir), all ? 3 : one ? 1 : 0);
      if (all || one) {
        npy_array dx = load_npy(out_path("dx.npy")); /* complete */
        ck_assert_int_eq(dx.shape[1], 2048);
        npy_free(&dx);
      }
      if (all) {
        npy_array dk = load_npy(out_path("dk.npy")), db = load_npy(out_path("db.npy"));
        ck_assert_int_eq(dk.shape[0], K);
        ck_assert_int_eq(db.shape[0], F);
        npy_free(&dk);
        npy_free(&db);
      }
      remove_tree(out_dir);
      mkdir(out_dir, 0700);
    }
#undef GRAD_RUN
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* --input-list jobs */

/* Writes in/list.txt: the named inputs of in/, with a comment and a blank line. */
static void write_list(const char *const *names) {
  char text[8192];
  size_t n = (size_t)snprintf(text, sizeof text, "# inputs\n\n");
  for (; *names; names++)
    n += (size_t)snprintf(text + n, sizeof text - n, "  %s\r\n", in_path(*names));
  write_all(in_path("list.txt"), text, n);
}

#define LIST_RUN(...)                                                                              \
  ARGS("run", "--input-list", in_path("list.txt"), "--output-dir", out_dir, "--kernel",            \
       in_path("k.npy"), "--bias", in_path("b.npy"), "--strides", "2", __VA_ARGS__)

static const char *const GOOD[] = {"a.npy", "b2.npy", "c.npy", "d.npy", NULL};

static void save_good(void) {
  save_kernel();
  arr_seed(11);
  save_random(in_path("a.npy"), NPY_FLOAT32, 3, 3, 40, C);
  save_random(in_path("b2.npy"), NPY_FLOAT32, 3, 1, 7, C);
  save_random(in_path("c.npy"), NPY_FLOAT32, 3, 5, 300, C);
  save_random(in_path("d.npy"), NPY_FLOAT32, 3, 2, 1000, C);
}

static void expect_outputs(const char *const *names) {
  for (; *names; names++) {
    size_t len;
    unsigned char *want = library_output(in_path(*names), CONV1DT_ALGORITHM_AUTO, &len);
    expect_bytes(out_path(*names), want, len);
    free(want);
  }
}

START_TEST(test_list_runs_every_input) {
  save_good();
  write_list(GOOD);
  result r = run_cli(LIST_RUN("--no-progress"));
  ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
  ck_assert_str_eq(r.out, "");
  ck_assert_str_eq(r.err, "");
  free_result(&r);
  ck_assert_int_eq(count_entries(out_dir), 4);
  expect_outputs(GOOD);
  /* A trailing slash on the folder changes nothing. */
  char dir[4300];
  snprintf(dir, sizeof dir, "%s/", out_dir);
  remove_tree(out_dir);
  mkdir(out_dir, 0700);
  r = run_cli(ARGS("run", "--input-list", in_path("list.txt"), "--output-dir", dir, "--kernel",
                   in_path("k.npy"), "--bias", in_path("b.npy"), "--strides", "2"));
  ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
  free_result(&r);
  expect_outputs(GOOD);
}
END_TEST

START_TEST(test_list_bad_files) {
  save_good();
  write_all(in_path("broken.npy"), "\x93NUMPY nonsense", 15);
  save_random(in_path("wide.npy"), NPY_FLOAT32, 3, 2, 10, C + 1);
  save_random(in_path("f64.npy"), NPY_FLOAT64, 3, 2, 10, C);
  write_list(NAMES("a.npy", "broken.npy", "b2.npy", "missing.npy", "c.npy", "wide.npy", "f64.npy",
                   "d.npy"));
  result r = run_cli(LIST_RUN("--no-progress"));
  ck_assert_msg(r.status == 3, "exit %d; stderr: %s", r.status, r.err);
  ck_assert_str_eq(r.out, "");
  /* Each failure names its file and the reason. */
  static const char *const bad[][2] = {{"broken.npy", "cannot read"},
                                       {"missing.npy", "cannot read"},
                                       {"wide.npy", "channels"},
                                       {"f64.npy", "float64"}};
  for (int i = 0; i < 4; i++) {
    char line[4600];
    snprintf(line, sizeof line, "conv1dt: error: %s: ", in_path(bad[i][0]));
    const char *at = strstr(r.err, line);
    ck_assert_msg(at != NULL, "stderr lacks '%s': %s", line, r.err);
    const char *eol = strchr(at, '\n');
    ck_assert_msg(strstr(at, bad[i][1]) && strstr(at, bad[i][1]) < eol, "no reason '%s' for %s: %s",
                  bad[i][1], bad[i][0], r.err);
  }
  ck_assert_ptr_nonnull(strstr(r.err, "4 of 8 inputs failed"));
  free_result(&r);
  ck_assert_int_eq(count_entries(out_dir), 4); /* the good ones, no temporaries */
  expect_outputs(GOOD);
}
END_TEST

START_TEST(test_list_errors_before_work) {
  save_good();
  /* Two inputs with one name. */
  mkdir(in_path("sub"), 0700);
  save_random(in_path("sub/a.npy"), NPY_FLOAT32, 3, 1, 5, C);
  write_list(NAMES("a.npy", "b2.npy", "sub/a.npy"));
  expect_failure(LIST_RUN("--no-progress"), 1, "would both be written");
  /* An input that is its own output. */
  write_list(NAMES("a.npy"));
  expect_failure(ARGS("run", "--input-list", in_path("list.txt"), "--output-dir", in_dir,
                      "--kernel", in_path("k.npy")),
                 1, "its own output");
  /* No input at all; no such folder; a kernel that does not load. */
  write_all(in_path("list.txt"), "# nothing\n\n", 11);
  expect_failure(LIST_RUN("--no-progress"), 1, "names no input");
  write_list(GOOD);
  expect_failure(ARGS("run", "--input-list", in_path("list.txt"), "--output-dir",
                      in_path("nowhere"), "--kernel", in_path("k.npy")),
                 1, "not a directory");
  expect_failure(ARGS("run", "--input-list", in_path("list.txt"), "--output-dir", out_dir,
                      "--kernel", in_path("missing.npy")),
                 1, "--kernel");
  expect_failure(ARGS("run", "--input-list", in_path("nolist.txt"), "--output-dir", out_dir,
                      "--kernel", in_path("k.npy")),
                 1, "--input-list");
  /* Usage errors. */
  expect_failure(ARGS("run", "--kernel", in_path("k.npy"), "--output", out_path("y.npy")), 2,
                 "--input");
  expect_failure(ARGS("run", "--input-list", in_path("list.txt"), "--kernel", in_path("k.npy")), 2,
                 "--output-dir");
  expect_failure(ARGS("run", "--input-list", in_path("list.txt"), "--output-dir", out_dir,
                      "--output", out_path("y.npy"), "--kernel", in_path("k.npy")),
                 2, "--output");
  expect_failure(ARGS("run", "--input", in_path("a.npy"), "--input-list", in_path("list.txt"),
                      "--output-dir", out_dir, "--kernel", in_path("k.npy")),
                 2, "exclude");
  expect_failure(ARGS("run", "--input", in_path("a.npy"), "--output-dir", out_dir, "--kernel",
                      in_path("k.npy")),
                 2, "--output-dir");
  expect_failure(ARGS("run", "--input", in_path("a.npy"), "--kernel", in_path("k.npy")), 2,
                 "--output");
  expect_failure(LIST_RUN("--progress", "--no-progress"), 2, "exclude");
  expect_failure(LIST_RUN("--progress=1"), 2, "takes no value");
}
END_TEST

/* A job killed between files keeps the finished outputs; --skip-existing resumes it, leaving
 * them untouched, and without it a rerun replaces them. */
START_TEST(test_list_killed_and_resumed) {
  save_good();
  write_list(GOOD);
  const bool unnamed = has_tmpfile();
  for (int s = 0; s < NSIGNALS; s++) {
    kill_at(LIST_RUN("--no-progress"), "file:2", SIGNALS[s]);
    ck_assert_int_eq(remove_leftovers(NAMES("a.npy", "b2.npy")), 0);
    expect_outputs(NAMES("a.npy", "b2.npy"));
    kill_at(LIST_RUN("--no-progress"), "staged:3", SIGNALS[s]);
    ck_assert_int_eq(remove_leftovers(NAMES("a.npy", "b2.npy")),
                     SIGNALS[s] == SIGKILL && !unnamed ? 1 : 0);
    remove_tree(out_dir);
    mkdir(out_dir, 0700);
  }
  kill_at(LIST_RUN("--no-progress"), "file:2", SIGTERM);
  struct stat before, after;
  ck_assert_int_eq(stat(out_path("a.npy"), &before), 0);
  result r = run_cli(LIST_RUN("--skip-existing"));
  ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
  free_result(&r);
  ck_assert_int_eq(stat(out_path("a.npy"), &after), 0);
  ck_assert(before.st_ino == after.st_ino && before.st_mtime == after.st_mtime);
  ck_assert_int_eq(count_entries(out_dir), 4);
  expect_outputs(GOOD);
  /* --skip-existing leaves what is there as it is, even a file that is no output of ours. */
  write_all(out_path("c.npy"), "precious", 8);
  r = run_cli(LIST_RUN("--skip-existing"));
  ck_assert_int_eq(r.status, 0);
  free_result(&r);
  char *text = slurp(out_path("c.npy"));
  ck_assert_str_eq(text, "precious");
  free(text);
  /* Without it, the outputs are replaced. */
  r = run_cli(LIST_RUN("--no-progress"));
  ck_assert_int_eq(r.status, 0);
  free_result(&r);
  expect_outputs(GOOD);
  /* A single run's --skip-existing too. */
  write_all(out_path("y.npy"), "precious", 8);
  r = run_cli(ARGS("run", "--input", in_path("a.npy"), "--kernel", in_path("k.npy"), "--output",
                   out_path("y.npy"), "--skip-existing"));
  ck_assert_int_eq(r.status, 0);
  free_result(&r);
  text = slurp(out_path("y.npy"));
  ck_assert_str_eq(text, "precious");
  free(text);
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* Progress */

/* The lines of a progress display: stderr split at '\r' and '\n', empty pieces dropped. Checks
 * each one's form and returns the count; *last gets the final one. */
static int progress_lines(char *err, const char *unit, char **last) {
  int n = 0;
  ck_assert_msg(strlen(err) > 0 && err[strlen(err) - 1] == '\n', "no final newline: '%s'", err);
  for (char *save = NULL, *line = strtok_r(err, "\r\n", &save); line;
       line = strtok_r(NULL, "\r\n", &save)) {
    int pct;
    long long done, total;
    char what[32];
    ck_assert_msg(sscanf(line, "conv1dt: %d%% %lld/%lld %31s", &pct, &done, &total, what) == 4,
                  "not a progress line: '%s'", line);
    ck_assert_msg(strncmp(what, unit, strlen(unit)) == 0, "'%s' lacks '%s'", line, unit);
    ck_assert(pct >= 0 && pct <= 100 && done >= 0 && done <= total);
    ck_assert_msg(strstr(line, " samples/s, elapsed ") && strstr(line, ", remaining "), "line '%s'",
                  line);
    if (n == 0) ck_assert_msg(pct == 0 && done == 0, "first line '%s'", line);
    *last = line;
    n++;
  }
  return n;
}

/* Sliced for its progress line, a run writes the bits of the library's one forward call, for
 * every method; also where AUTO chooses by batch size (short samples sharing GEMMs). */
START_TEST(test_progress_run_bits) {
  save_kernel();
  arr_seed(3);
  save_random(in_path("x.npy"), NPY_FLOAT32, 3, 250, 64, C);
  static const char *const algs[] = {"auto", "gemm", "direct", "gemm_accumulate"};
  for (int a = 0; a < 4; a++) {
    result r = run_cli(ARGS("run", "--input", in_path("x.npy"), "--kernel", in_path("k.npy"),
                            "--bias", in_path("b.npy"), "--strides", "2", "--output",
                            out_path("y.npy"), "--algorithm", algs[a], "--progress"));
    ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
    ck_assert_str_eq(r.out, "");
    char *last = NULL;
    ck_assert_int_ge(progress_lines(r.err, "samples", &last), 2);
    ck_assert_msg(strncmp(last, "conv1dt: 100% 250/250 samples", 29) == 0, "last '%s'", last);
    ck_assert_ptr_nonnull(strstr(last, "remaining 0:00"));
    free_result(&r);
    conv1dt_algorithm alg;
    ck_assert_int_eq(conv1dt_algorithm_from_string(algs[a], &alg), CONV1DT_OK);
    size_t len;
    unsigned char *want = library_output(in_path("x.npy"), alg, &len);
    expect_numbers(out_path("y.npy"), want, len, alg == CONV1DT_ALGORITHM_DIRECT);
    free(want);
  }
  /* Without --progress and with stderr not a terminal: no line at all (expect_success). */
  expect_success(ARGS("run", "--input", in_path("x.npy"), "--kernel", in_path("k.npy"), "--output",
                      out_path("y.npy")));
}
END_TEST

/* A wide layer (more channels than the direct kernel's rule, so AUTO weighs the GEMM methods)
 * whose short samples share GEMMs only in batches: slices of one sample would choose
 * differently, so the run pins the whole batch's method. */
START_TEST(test_progress_pins_auto) {
  enum { WC = 160, WF = 128 };
  arr_seed(5);
  save_random(in_path("kw.npy"), NPY_FLOAT32, 3, 3, WF, WC);
  save_random(in_path("xw.npy"), NPY_FLOAT32, 3, 40, 32, WC);
  result r = run_cli(ARGS("run", "--input", in_path("xw.npy"), "--kernel", in_path("kw.npy"),
                          "--strides", "2", "--output", out_path("y.npy"), "--progress"));
  ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
  free_result(&r);
  npy_array k = load_npy(in_path("kw.npy")), x = load_npy(in_path("xw.npy"));
  conv1dt_config cfg = conv1dt_config_default(WF, 3);
  cfg.strides = 2;
  cfg.use_bias = false;
  conv1dt_layer *layer = NULL;
  ck_assert_int_eq(conv1dt_create(&cfg, WC, CONV1DT_FLOAT32, &layer), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_set_weights(layer, k.data, NULL), CONV1DT_OK);
  int64_t shape[3];
  ck_assert_int_eq(conv1dt_output_shape(layer, 40, 32, shape), CONV1DT_OK);
  const size_t n = (size_t)(shape[0] * shape[1] * shape[2]);
  float *y = malloc(n * sizeof *y);
  ck_assert_int_eq(conv1dt_forward(layer, x.data, 40, 32, y, NULL, 0), CONV1DT_OK);
  npy_array got = load_npy(out_path("y.npy"));
  ck_assert_uint_eq(got.count, n);
  ck_assert_msg(memcmp(got.data, y, n * sizeof *y) == 0, "sliced run differs from one call");
  npy_free(&got);
  free(y);
  npy_free(&k);
  npy_free(&x);
  conv1dt_destroy(layer);
}
END_TEST

START_TEST(test_progress_list) {
  save_good();
  write_all(in_path("broken.npy"), "junk", 4);
  write_list(NAMES("a.npy", "b2.npy", "broken.npy", "c.npy", "d.npy"));
  result r = run_cli(LIST_RUN("--progress"));
  ck_assert_msg(r.status == 3, "exit %d; stderr: %s", r.status, r.err);
  ck_assert_str_eq(r.out, "");
  /* The error lines start lines of their own; the rest is progress. */
  char *err = r.err, *kept = malloc(strlen(err) + 1);
  ck_assert_ptr_nonnull(kept);
  size_t k = 0;
  for (char *line = err; *line;) {
    const char *nl = strchr(line, '\n');
    const size_t len = nl ? (size_t)(nl - line) + 1 : strlen(line);
    const char *error = strstr(line, "conv1dt: error: ");
    if (error && error < line + len) {
      ck_assert_msg(error == line && !memchr(line, '\r', len), "error mixed into a line: %s", err);
    } else {
      memcpy(kept + k, line, len);
      k += len;
    }
    line += len;
  }
  kept[k] = '\0';
  char *last = NULL;
  ck_assert_int_ge(progress_lines(kept, "files", &last), 2);
  ck_assert_msg(strncmp(last, "conv1dt: 100% 5/5 files, ", 25) == 0, "last '%s'", last);
  free(kept);
  free_result(&r);
  expect_outputs(NAMES("a.npy", "b2.npy", "c.npy", "d.npy"));
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* Runs within --memory-limit (blocks of samples read and written at their offsets) */

/* 64 samples of about 0.6 MB of buffers each, in blocks of a few samples under 4 MiB. */
#define CHUNKED_LIMIT "4M"

/* Killed between blocks, while staged and before publishing, with every signal and both ways of
 * staging: no output, and no temporary but the named fallback's after SIGKILL. */
START_TEST(test_chunked_killed_at_hooks) {
  save_big();
  const bool unnamed = has_tmpfile();
  static const char *const points[] = {"block:3", "staged", "written"};
  for (int fallback = 0; fallback < 2; fallback++) {
    if (fallback) setenv("CONV1DT_TEST_NO_TMPFILE", "1", 1);
    for (size_t p = 0; p < sizeof points / sizeof *points; p++)
      for (int s = 0; s < NSIGNALS; s++) {
        kill_at(ARGS(BIG_RUN(out_path("y.npy")), "--memory-limit", CHUNKED_LIMIT), points[p],
                SIGNALS[s]);
        const int left = remove_leftovers(NAMES("none"));
        const bool may_leave = SIGNALS[s] == SIGKILL && (fallback || !unnamed);
        ck_assert_msg(left == (may_leave ? 1 : 0), "%s, signal %d, fallback %d: %d left", points[p],
                      SIGNALS[s], fallback, left);
        ck_assert_int_eq(count_entries(out_dir), 0);
      }
    unsetenv("CONV1DT_TEST_NO_TMPFILE");
  }
}
END_TEST

/* A sample too long for the limit runs along its steps: killed between its blocks, the same. */
START_TEST(test_long_sample_killed) {
  save_kernel();
  arr_seed(17);
  save_random(in_path("long.npy"), NPY_FLOAT32, 3, 1, 200000, C);
  const bool unnamed = has_tmpfile();
  for (int fallback = 0; fallback < 2; fallback++) {
    if (fallback) setenv("CONV1DT_TEST_NO_TMPFILE", "1", 1);
    for (int s = 0; s < NSIGNALS; s++) {
      kill_at(ARGS("run", "--input", in_path("long.npy"), "--kernel", in_path("k.npy"), "--strides",
                   "2", "--output", out_path("y.npy"), "--memory-limit", "2M"),
              "block:3", SIGNALS[s]);
      const int left = remove_leftovers(NAMES("none"));
      const bool may_leave = SIGNALS[s] == SIGKILL && (fallback || !unnamed);
      ck_assert_msg(left == (may_leave ? 1 : 0), "signal %d, fallback %d: %d left", SIGNALS[s],
                    fallback, left);
    }
    unsetenv("CONV1DT_TEST_NO_TMPFILE");
  }
}
END_TEST

/* Killed at timed moments: nothing, or the complete output (direct: the in-memory bits). */
START_TEST(test_chunked_killed_anytime) {
  save_big();
  size_t len;
  unsigned char *want = library_output(in_path("big.npy"), CONV1DT_ALGORITHM_DIRECT, &len);
  const bool unnamed = has_tmpfile();
  static const int delays[] = {0, 20, 100, 300};
  for (size_t d = 0; d < sizeof delays / sizeof *delays; d++)
    for (int s = 0; s < NSIGNALS; s++) {
      const pid_t pid = spawn_cli(ARGS(BIG_RUN(out_path("y.npy")), "--memory-limit", CHUNKED_LIMIT,
                                       "--algorithm", "direct"));
      cli_sleep_ms(delays[d]);
      kill(pid, SIGNALS[s]);
      const int status = reap(pid);
      ck_assert_msg(status == 0 || status == -SIGNALS[s], "status %d", status);
      const int left = remove_leftovers(NAMES("y.npy"));
      ck_assert_msg(left == 0 || (SIGNALS[s] == SIGKILL && !unnamed), "%d left", left);
      if (access(out_path("y.npy"), F_OK) == 0) {
        expect_bytes(out_path("y.npy"), want, len);
        unlink(out_path("y.npy"));
      }
    }
  free(want);
}
END_TEST

/* An --input-list job under --memory-limit runs each file in blocks; --skip-existing then skips
 * them all; a chunked run shows its progress line block by block. */
START_TEST(test_chunked_list_and_progress) {
  save_big();
  arr_seed(13);
  save_random(in_path("big2.npy"), NPY_FLOAT32, 3, 48, 2048, C);
  write_list(NAMES("big.npy", "big2.npy"));
  setenv("CONV1DT_DEBUG_CHUNKS", "1", 1);
  result r = run_cli(LIST_RUN("--memory-limit", CHUNKED_LIMIT, "--algorithm", "direct"));
  unsetenv("CONV1DT_DEBUG_CHUNKS");
  ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
  const char *first = strstr(r.err, "conv1dt: chunks: ");
  ck_assert_msg(first && strstr(first + 1, "conv1dt: chunks: "), "not chunked: %s", r.err);
  free_result(&r);
  static const char *const names[] = {"big.npy", "big2.npy"};
  for (int i = 0; i < 2; i++) {
    size_t len;
    unsigned char *want = library_output(in_path(names[i]), CONV1DT_ALGORITHM_DIRECT, &len);
    expect_bytes(out_path(names[i]), want, len);
    free(want);
  }
  r = run_cli(LIST_RUN("--memory-limit", CHUNKED_LIMIT, "--skip-existing", "--progress"));
  ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
  char *last = NULL;
  progress_lines(r.err, "files", &last);
  ck_assert_msg(strncmp(last, "conv1dt: 100% 2/2 files", 23) == 0, "last '%s'", last);
  free_result(&r);

  r = run_cli(ARGS(BIG_RUN(out_path("y.npy")), "--memory-limit", CHUNKED_LIMIT, "--progress"));
  ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
  ck_assert_int_ge(progress_lines(r.err, "samples", &last), 2);
  ck_assert_msg(strncmp(last, "conv1dt: 100% 64/64 samples", 27) == 0, "last '%s'", last);
  free_result(&r);
}
END_TEST

static Suite *jobs_suite(void) {
  Suite *s = cli_suite_create("cli_jobs");
  TCase *tc = cli_tcase_create(s, "killed", 240);
  tcase_add_test(tc, test_run_killed_at_hooks);
  tcase_add_test(tc, test_run_killed_keeps_existing);
  tcase_add_test(tc, test_run_killed_anytime);
  tcase_add_test(tc, test_grad_killed);
  tc = cli_tcase_create(s, "list", 120);
  tcase_add_test(tc, test_list_runs_every_input);
  tcase_add_test(tc, test_list_bad_files);
  tcase_add_test(tc, test_list_errors_before_work);
  tcase_add_test(tc, test_list_killed_and_resumed);
  tc = cli_tcase_create(s, "progress", 120);
  tcase_add_test(tc, test_progress_run_bits);
  tcase_add_test(tc, test_progress_pins_auto);
  tcase_add_test(tc, test_progress_list);
  tc = cli_tcase_create(s, "chunked", 240);
  tcase_add_test(tc, test_chunked_killed_at_hooks);
  tcase_add_test(tc, test_chunked_killed_anytime);
  tcase_add_test(tc, test_long_sample_killed);
  tcase_add_test(tc, test_chunked_list_and_progress);
  return s;
}

int main(void) {
  return run_suite(jobs_suite());
}
