/* End-to-end tests of the conv1dt program: spawns $CONV1DT_CLI, captures its output and exit
 * status, and checks its results against a small direct loop written here from the Keras rules
 * (independent of the library), and every error class: non-zero exit, "conv1dt: error:" on
 * stderr, no output file and no temporary left behind. Work files go under $CONV1DT_TEST_TMP. */
#define _XOPEN_SOURCE 700

#include "conv1dt.h"
#include "npy.h"

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <math.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* ------------------------------------------------------------------------------------------- */
/* Work folders */

static char work[4096];   /* this test's folder */
static char indir[4200];  /* inputs */
static char outdir[4200]; /* outputs only: must stay empty after a failure */

static void mkdir_p(const char *path) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++) {
    if (*p == '/') {
      *p = '\0';
      mkdir(buf, 0700);
      *p = '/';
    }
  }
  if (mkdir(buf, 0700) != 0) ck_assert_msg(errno == EEXIST, "mkdir %s: %s", buf, strerror(errno));
}

static void setup(void) {
  const char *base = getenv("CONV1DT_TEST_TMP");
  char root[4000];
  snprintf(root, sizeof root, "%s", base && *base ? base : "/tmp");
  mkdir_p(root);
  snprintf(work, sizeof work, "%s/cli.XXXXXX", root);
  ck_assert_msg(mkdtemp(work) != NULL, "mkdtemp in %s: %s", root, strerror(errno));
  snprintf(indir, sizeof indir, "%s/in", work);
  snprintf(outdir, sizeof outdir, "%s/out", work);
  ck_assert_int_eq(mkdir(indir, 0700), 0);
  ck_assert_int_eq(mkdir(outdir, 0700), 0);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void teardown(void) {
  if (work[0]) nftw(work, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  work[0] = '\0';
}

static int count_entries(const char *dir) {
  DIR *d = opendir(dir);
  ck_assert_msg(d != NULL, "opendir %s", dir);
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
  closedir(d);
  return n;
}

static const char *in_path(const char *name) {
  static char bufs[32][4400];
  static int next;
  char *b = bufs[next++ % 32];
  snprintf(b, sizeof bufs[0], "%s/%s", indir, name);
  return b;
}

static const char *out_path(const char *name) {
  static char bufs[32][4400];
  static int next;
  char *b = bufs[next++ % 32];
  snprintf(b, sizeof bufs[0], "%s/%s", outdir, name);
  return b;
}

/* ------------------------------------------------------------------------------------------- */
/* Running the program */

typedef struct {
  int status; /* exit code, or -signal */
  char *out, *err;
} result;

static char *slurp(const char *path) {
  FILE *fp = fopen(path, "rb");
  ck_assert_ptr_nonnull(fp);
  size_t cap = 1024, n = 0, got;
  char *buf = malloc(cap);
  ck_assert_ptr_nonnull(buf);
  while ((got = fread(buf + n, 1, cap - n - 1, fp)) > 0) {
    n += got;
    if (n + 1 == cap) {
      cap *= 2;
      char *grown = realloc(buf, cap);
      ck_assert_ptr_nonnull(grown);
      buf = grown;
    }
  }
  buf[n] = '\0';
  fclose(fp);
  return buf;
}

/* Runs the CLI with args (NULL-terminated, program name excluded). */
static result run_cli(const char *const *args) {
  const char *cli = getenv("CONV1DT_CLI");
  ck_assert_msg(cli && *cli, "CONV1DT_CLI is not set (path of the conv1dt program)");
  const char *argv[64];
  int n = 0;
  argv[n++] = cli;
  for (; *args; args++) {
    ck_assert_int_lt(n, 62);
    argv[n++] = *args;
  }
  argv[n] = NULL;
  char so[4200], se[4200];
  snprintf(so, sizeof so, "%s/stdout.txt", work);
  snprintf(se, sizeof se, "%s/stderr.txt", work);
  posix_spawn_file_actions_t fa;
  ck_assert_int_eq(posix_spawn_file_actions_init(&fa), 0);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, so, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, se, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid;
  int rc = posix_spawn(&pid, cli, &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  ck_assert_msg(rc == 0, "cannot start %s: %s", cli, strerror(rc));
  int wst;
  while (waitpid(pid, &wst, 0) < 0) ck_assert_int_eq(errno, EINTR);
  result r;
  r.status = WIFEXITED(wst) ? WEXITSTATUS(wst) : -WTERMSIG(wst);
  r.out = slurp(so);
  r.err = slurp(se);
  unlink(so);
  unlink(se);
  return r;
}

static void free_result(result *r) {
  free(r->out);
  free(r->err);
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* The common contract of every failure. */
static void expect_failure(const char *const *args, int status, const char *needle) {
  result r = run_cli(args);
  ck_assert_msg(r.status > 0, "exit status %d (stderr: %s)", r.status, r.err);
  if (status)
    ck_assert_msg(r.status == status, "exit %d, expected %d; stderr: %s", r.status, status, r.err);
  ck_assert_msg(strncmp(r.err, "conv1dt: error: ", 16) == 0 && strlen(r.err) > 17,
                "stderr does not start with 'conv1dt: error: ': '%s'", r.err);
  if (needle) ck_assert_msg(strstr(r.err, needle) != NULL, "stderr '%s' lacks '%s'", r.err, needle);
  ck_assert_msg(count_entries(outdir) == 0, "files left in the output folder (stderr: %s)", r.err);
  free_result(&r);
}

/* ------------------------------------------------------------------------------------------- */
/* Test data and an independent reference */

static uint64_t rng_state;

static double next_uniform(void) {
  /* 64-bit LCG (Knuth's MMIX constants); the top 53 bits give [0, 1). */
  rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(rng_state >> 11) * 0x1.0p-53;
}

typedef struct {
  npy_dtype dtype;
  int64_t shape[3];
  int ndim;
  double *v; /* values as double; written in dtype */
} arr;

static arr make_arr(npy_dtype dtype, int ndim, int64_t d0, int64_t d1, int64_t d2) {
  arr a = {dtype, {d0, d1, d2}, ndim, NULL};
  size_t n = 1;
  for (int i = 0; i < ndim; i++) n *= (size_t)a.shape[i];
  a.v = malloc((n ? n : 1) * sizeof(double));
  ck_assert_ptr_nonnull(a.v);
  for (size_t i = 0; i < n; i++) {
    double u = next_uniform() * 2.0 - 1.0;
    /* Stored exactly in either dtype, so the reference sees what the CLI reads. */
    a.v[i] = dtype == NPY_FLOAT32 ? (double)(float)u : u;
  }
  return a;
}

static size_t arr_count(const arr *a) {
  size_t n = 1;
  for (int i = 0; i < a->ndim; i++) n *= (size_t)a->shape[i];
  return n;
}

static void save_arr(const arr *a, const char *path) {
  size_t n = arr_count(a);
  void *buf = malloc(n * (size_t)a->dtype + 1);
  ck_assert_ptr_nonnull(buf);
  for (size_t i = 0; i < n; i++) {
    if (a->dtype == NPY_FLOAT32)
      ((float *)buf)[i] = (float)a->v[i];
    else
      ((double *)buf)[i] = a->v[i];
  }
  char err[256];
  ck_assert_msg(npy_save(path, a->dtype, a->ndim, a->shape, buf, err, sizeof err) == NPY_OK, "%s",
                err);
  free(buf);
}

typedef struct {
  bool channels_first, same, bias;
  npy_dtype dtype;
  int64_t op; /* -1 = None */
  int64_t s, d, K, F, C, B, L;
  const char *activation; /* NULL: flag omitted */
} spec;

static double act(const char *name, double v) {
  if (!name || strcmp(name, "linear") == 0) return v;
  if (strcmp(name, "relu") == 0) return v > 0 ? v : 0;
  if (strcmp(name, "tanh") == 0) return tanh(v);
  if (strcmp(name, "sigmoid") == 0) return 1.0 / (1.0 + exp(-v));
  ck_abort_msg("reference lacks activation %s", name);
  return 0;
}

/* Output length and left crop, straight from docs/keras-semantics.md. */
static void geometry(const spec *p, int64_t *out_len, int64_t *crop_left) {
  int64_t keff = (p->K - 1) * p->d + 1;
  if (!p->same) {
    *crop_left = 0;
    *out_len = p->op < 0 ? (p->L - 1) * p->s + (keff > p->s ? keff : p->s)
                         : (p->L - 1) * p->s + keff + p->op;
    return;
  }
  int64_t pad_len = p->op < 0 ? p->s + keff - 2 : keff + keff % 2 - 2 + p->op;
  int64_t left = (pad_len + 1) / 2;
  if (left > keff - 1) left = keff - 1;
  *crop_left = keff - 1 - left;
  *out_len = p->op < 0 ? p->L * p->s : (p->L - 1) * p->s + keff % 2 + p->op;
}

/* y in the spec's data format, before glu halving. */
static double *reference(const spec *p, const arr *x, const arr *w, const arr *b,
                         int64_t *out_len) {
  int64_t crop;
  geometry(p, out_len, &crop);
  int64_t T = *out_len, keff = (p->K - 1) * p->d + 1;
  int64_t full_len = (p->L - 1) * p->s + keff;
  size_t n = (size_t)(p->B * T * p->F);
  double *y = calloc(n ? n : 1, sizeof *y);
  ck_assert_ptr_nonnull(y);
  for (int64_t bb = 0; bb < p->B; bb++)
    for (int64_t t = 0; t < T; t++)
      for (int64_t f = 0; f < p->F; f++) {
        double sum = 0;
        int64_t pos = t + crop; /* index into the full output */
        if (pos < full_len) {
          for (int64_t l = 0; l < p->L; l++)
            for (int64_t k = 0; k < p->K; k++) {
              if (l * p->s + k * p->d != pos) continue;
              for (int64_t c = 0; c < p->C; c++) {
                double xv = p->channels_first ? x->v[(bb * p->C + c) * p->L + l]
                                              : x->v[(bb * p->L + l) * p->C + c];
                sum += xv * w->v[(k * p->F + f) * p->C + c];
              }
            }
        }
        if (p->bias) sum += b->v[f];
        size_t idx = p->channels_first ? (size_t)((bb * p->F + f) * T + t)
                                       : (size_t)((bb * T + t) * p->F + f);
        y[idx] = sum;
      }
  return y;
}

/* Storage for the argument strings built below (a test builds one command at a time). */
static char arg_store[32][4600];
static const char *arg_list[64];
static int arg_n, store_n;

static void add_flag(const char *name, const char *value, bool eq_form) {
  if (eq_form) {
    snprintf(arg_store[store_n], sizeof arg_store[0], "%s=%s", name, value);
    arg_list[arg_n++] = arg_store[store_n++];
  } else {
    snprintf(arg_store[store_n], sizeof arg_store[0], "%s", value);
    arg_list[arg_n++] = name;
    arg_list[arg_n++] = arg_store[store_n++];
  }
}

static void add_int_flag(const char *name, int64_t value, bool eq_form) {
  char num[32];
  snprintf(num, sizeof num, "%lld", (long long)value);
  add_flag(name, num, eq_form);
}

/* The run command for a spec; with eq_form, every other flag uses --name=value. */
static const char *const *spec_args(const spec *p, bool eq_form, const char *padding_text) {
  arg_n = store_n = 0;
  int k = 0;
  arg_list[arg_n++] = "run";
  add_flag("--input", in_path("x.npy"), eq_form && k++ % 2 == 0);
  add_flag("--kernel", in_path("k.npy"), eq_form && k++ % 2 == 0);
  if (p->bias) add_flag("--bias", in_path("b.npy"), eq_form && k++ % 2 == 0);
  add_flag("--output", out_path("y.npy"), eq_form && k++ % 2 == 0);
  add_int_flag("--strides", p->s, eq_form && k++ % 2 == 0);
  add_flag("--padding",
           padding_text ? padding_text
           : p->same    ? "same"
                        : "valid",
           eq_form && k++ % 2 == 0);
  if (p->op >= 0) add_int_flag("--output-padding", p->op, eq_form && k++ % 2 == 0);
  add_flag("--data-format", p->channels_first ? "channels_first" : "channels_last",
           eq_form && k++ % 2 == 0);
  add_int_flag("--dilation-rate", p->d, eq_form && k++ % 2 == 0);
  if (p->activation) add_flag("--activation", p->activation, eq_form && k++ % 2 == 0);
  arg_list[arg_n] = NULL;
  return arg_list;
}

static void make_inputs(const spec *p, arr *x, arr *w, arr *b) {
  rng_state = (uint64_t)(p->s * 1000 + p->K * 100 + p->F * 10 + p->C) ^ 0x9E3779B97F4A7C15ULL;
  *x = p->channels_first ? make_arr(p->dtype, 3, p->B, p->C, p->L)
                         : make_arr(p->dtype, 3, p->B, p->L, p->C);
  *w = make_arr(p->dtype, 3, p->K, p->F, p->C);
  *b = make_arr(p->dtype, 1, p->F, 0, 0);
  save_arr(x, in_path("x.npy"));
  save_arr(w, in_path("k.npy"));
  if (p->bias) save_arr(b, in_path("b.npy"));
}

static void check_run(const spec *p, bool eq_form, const char *padding_text) {
  arr x, w, b;
  make_inputs(p, &x, &w, &b);
  result r = run_cli(spec_args(p, eq_form, padding_text));
  ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
  ck_assert_str_eq(r.out, "");
  free_result(&r);
  ck_assert_int_eq(count_entries(outdir), 1); /* y.npy, no temporaries */

  int64_t T;
  double *ref = reference(p, &x, &w, &b, &T);
  npy_array y;
  char err[256];
  ck_assert_msg(npy_load(out_path("y.npy"), &y, err, sizeof err) == NPY_OK, "%s", err);
  ck_assert_int_eq(y.dtype, p->dtype);
  ck_assert_int_eq(y.ndim, 3);
  ck_assert_int_eq(y.shape[0], p->B);
  ck_assert_int_eq(y.shape[1], p->channels_first ? p->F : T);
  ck_assert_int_eq(y.shape[2], p->channels_first ? T : p->F);
  double scale = 0;
  for (size_t i = 0; i < y.count; i++) scale = fmax(scale, fabs(act(p->activation, ref[i])));
  double tol = (p->dtype == NPY_FLOAT32 ? 2e-5 : 1e-12) * (1 + scale);
  for (size_t i = 0; i < y.count; i++) {
    double got = p->dtype == NPY_FLOAT32 ? ((float *)y.data)[i] : ((double *)y.data)[i];
    double want = act(p->activation, ref[i]);
    ck_assert_msg(fabs(got - want) <= tol, "element %zu: got %.17g, expected %.17g", i, got, want);
  }
  npy_free(&y);
  free(ref);
  free(x.v);
  free(w.v);
  free(b.v);
}

/* ------------------------------------------------------------------------------------------- */
/* Informational commands */

START_TEST(test_demo) {
  result r = run_cli(ARGS("demo"));
  ck_assert_msg(r.status == 0, "stderr: %s", r.err);
  free_result(&r);
  const char *none[] = {NULL};
  r = run_cli(none);
  ck_assert_msg(r.status == 0, "stderr: %s", r.err);
  ck_assert_msg(strstr(r.out, "(4, 21, 32)") != NULL, "no output shape in: %s", r.out);
  ck_assert_ptr_nonnull(strstr(r.out, "min "));
  ck_assert_ptr_nonnull(strstr(r.out, "zeros "));
  ck_assert_ptr_nonnull(strstr(r.out, " ms"));
  /* The input and the default weights are seeded: the statistics repeat exactly. */
  const char *stats = strstr(r.out, "min ");
  char line[256];
  snprintf(line, sizeof line, "%.*s", (int)strcspn(stats, "\n"), stats);
  result r2 = run_cli(none);
  ck_assert_ptr_nonnull(strstr(r2.out, line));
  free_result(&r2);
  free_result(&r);
}
END_TEST

START_TEST(test_version) {
  char want[128];
  snprintf(want, sizeof want, "conv1dt %s\n", conv1dt_version_string());
  result r = run_cli(ARGS("--version"));
  ck_assert_int_eq(r.status, 0);
  ck_assert_str_eq(r.out, want);
  ck_assert_str_eq(r.err, "");
  free_result(&r);
}
END_TEST

START_TEST(test_info) {
  result r = run_cli(ARGS("info"));
  ck_assert_msg(r.status == 0, "stderr: %s", r.err);
  ck_assert_ptr_nonnull(strstr(r.out, conv1dt_version_string()));
  const char *blas = strstr(r.out, "BLAS: ");
  ck_assert_msg(blas != NULL, "no BLAS line in: %s", r.out);
  ck_assert_uint_gt(strcspn(blas + 6, "\n"), 0);
  ck_assert_ptr_nonnull(strstr(r.out, "threads"));
  free_result(&r);
}
END_TEST

START_TEST(test_help) {
  const char *const *forms[] = {ARGS("--help"), ARGS("-h"), ARGS("help"), ARGS("run", "--help"),
                                ARGS("help", "run")};
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    result r = run_cli(forms[i]);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "usage:"));
    ck_assert_ptr_nonnull(strstr(r.out, "--input"));
    ck_assert_str_eq(r.err, "");
    free_result(&r);
  }
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* run: numbers */

static const spec runs[] = {
    /* cf,  same,  bias,  dtype,       op, s, d, K, F, C, B, L, activation */
    {false, false, true, NPY_FLOAT32, -1, 2, 1, 3, 4, 3, 2, 5, "relu"},
    {true, true, false, NPY_FLOAT64, -1, 2, 1, 3, 3, 2, 2, 4, NULL},
    {false, true, true, NPY_FLOAT64, 1, 3, 1, 4, 2, 3, 1, 6, "tanh"},
    {true, false, true, NPY_FLOAT32, 0, 1, 2, 3, 5, 4, 3, 7, "sigmoid"},
    {false, true, false, NPY_FLOAT32, -1, 1, 3, 2, 3, 2, 2, 5, "linear"},
    {false, false, true, NPY_FLOAT64, 2, 3, 1, 2, 3, 2, 2, 4, "relu"},
    {true, true, true, NPY_FLOAT64, 1, 2, 1, 5, 4, 3, 2, 6, NULL},
    {true, false, false, NPY_FLOAT32, -1, 4, 1, 2, 2, 1, 1, 3, NULL},
    {false, true, true, NPY_FLOAT32, 0, 1, 1, 2, 3, 3, 2, 1, NULL},   /* empty output: 0 steps */
    {false, false, true, NPY_FLOAT64, -1, 1, 1, 1, 1, 1, 0, 3, NULL}, /* batch 0 */
};

START_TEST(test_run_numbers) {
  check_run(&runs[_i], false, NULL);
}
END_TEST

START_TEST(test_run_equals_form_and_case) {
  check_run(&runs[0], true, "VALID");
  unlink(out_path("y.npy"));
  check_run(&runs[2], true, "Same");
}
END_TEST

START_TEST(test_run_output_padding_none_and_overwrite) {
  arr x, w, b;
  make_inputs(&runs[0], &x, &w, &b);
  /* An existing output is replaced; "none" is Keras's None. */
  FILE *fp = fopen(out_path("y.npy"), "w");
  fputs("old", fp);
  fclose(fp);
  result r =
      run_cli(ARGS("run", "--input", in_path("x.npy"), "--kernel", in_path("k.npy"), "--output",
                   out_path("y.npy"), "--strides", "2", "--output-padding", "none"));
  ck_assert_msg(r.status == 0, "stderr: %s", r.err);
  free_result(&r);
  npy_array y;
  char err[256];
  ck_assert_msg(npy_load(out_path("y.npy"), &y, err, sizeof err) == NPY_OK, "%s", err);
  ck_assert_int_eq(y.shape[1], 11); /* (5-1)*2 + max(3, 2) */
  npy_free(&y);
  free(x.v);
  free(w.v);
  free(b.v);
}
END_TEST

START_TEST(test_run_glu_halves) {
  /* channels_last: the filters axis halves; channels_first: the steps axis (Keras's axis=-1). */
  spec p = {false, false, true, NPY_FLOAT64, -1, 2, 1, 3, 6, 2, 2, 4, "glu"};
  arr x, w, b;
  make_inputs(&p, &x, &w, &b);
  result r = run_cli(spec_args(&p, false, NULL));
  ck_assert_msg(r.status == 0, "stderr: %s", r.err);
  free_result(&r);
  int64_t T;
  double *ref = reference(&p, &x, &w, &b, &T);
  npy_array y;
  char err[256];
  ck_assert_msg(npy_load(out_path("y.npy"), &y, err, sizeof err) == NPY_OK, "%s", err);
  ck_assert_int_eq(y.shape[0], 2);
  ck_assert_int_eq(y.shape[1], T);
  ck_assert_int_eq(y.shape[2], 3);
  for (int64_t i = 0; i < 2 * T; i++)
    for (int64_t f = 0; f < 3; f++) {
      double a = ref[i * 6 + f], g = ref[i * 6 + f + 3];
      double want = a / (1.0 + exp(-g));
      ck_assert_double_eq_tol(((double *)y.data)[i * 3 + f], want, 1e-12);
    }
  npy_free(&y);
  free(ref);
  free(x.v);
  free(w.v);
  free(b.v);
  unlink(out_path("y.npy"));

  spec q = {true, false, false, NPY_FLOAT32, -1, 2, 1, 2, 3, 2, 1, 3, "glu"}; /* T = 6 */
  make_inputs(&q, &x, &w, &b);
  r = run_cli(spec_args(&q, false, NULL));
  ck_assert_msg(r.status == 0, "stderr: %s", r.err);
  free_result(&r);
  ck_assert_msg(npy_load(out_path("y.npy"), &y, err, sizeof err) == NPY_OK, "%s", err);
  ck_assert_int_eq(y.shape[0], 1);
  ck_assert_int_eq(y.shape[1], 3);
  ck_assert_int_eq(y.shape[2], 3);
  npy_free(&y);
  free(x.v);
  free(w.v);
  free(b.v);
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* run: failures */

/* Writes valid float64 x (2,5,3), kernel (3,4,3), bias (4,) into indir. */
static void valid_inputs(void) {
  rng_state = 7;
  arr x = make_arr(NPY_FLOAT64, 3, 2, 5, 3), w = make_arr(NPY_FLOAT64, 3, 3, 4, 3),
      b = make_arr(NPY_FLOAT64, 1, 4, 0, 0);
  save_arr(&x, in_path("x.npy"));
  save_arr(&w, in_path("k.npy"));
  save_arr(&b, in_path("b.npy"));
  free(x.v);
  free(w.v);
  free(b.v);
}

/* A .npy image with a literal header dict and `datalen` zero bytes of data. */
static void write_raw_npy(const char *path, const char *dict, size_t datalen) {
  size_t dl = strlen(dict), hl = dl + 1;
  size_t pad = (64 - (10 + hl) % 64) % 64;
  FILE *fp = fopen(path, "wb");
  ck_assert_ptr_nonnull(fp);
  unsigned char pre[10] = {0x93,
                           'N',
                           'U',
                           'M',
                           'P',
                           'Y',
                           1,
                           0,
                           (unsigned char)((hl + pad) & 0xff),
                           (unsigned char)((hl + pad) >> 8)};
  fwrite(pre, 1, 10, fp);
  fputs(dict, fp);
  for (size_t i = 0; i < pad; i++) fputc(' ', fp);
  fputc('\n', fp);
  for (size_t i = 0; i < datalen; i++) fputc(0, fp);
  fclose(fp);
}

#define RUN_BASE                                                                                   \
  "run", "--input", in_path("x.npy"), "--kernel", in_path("k.npy"), "--output", out_path("y.npy")

START_TEST(test_err_usage) {
  valid_inputs();
  expect_failure(ARGS(RUN_BASE, "--bogus", "1"), 2, "unknown option '--bogus'");
  expect_failure(ARGS(RUN_BASE, "--bogus=1"), 2, "unknown option '--bogus'");
  expect_failure(ARGS("run", "--kernel", in_path("k.npy"), "--output", out_path("y.npy")), 2,
                 "--input");
  expect_failure(ARGS("run", "--input", in_path("x.npy"), "--kernel", in_path("k.npy")), 2,
                 "--output");
  expect_failure(ARGS(RUN_BASE, "--strides"), 2, "--strides");
  expect_failure(ARGS(RUN_BASE, "--strides", "--padding", "same"), 2, "--strides");
  expect_failure(ARGS(RUN_BASE, "--strides="), 2, "--strides");
  expect_failure(ARGS(RUN_BASE, "--input", in_path("x.npy")), 2, "more than once");
  expect_failure(ARGS(RUN_BASE, "--strides", "2", "--strides", "2"), 2, "more than once");
  expect_failure(ARGS(RUN_BASE, "extra"), 2, "extra");
  expect_failure(ARGS("frobnicate"), 2, "frobnicate");
  expect_failure(ARGS("--frobnicate"), 2, "frobnicate");
  expect_failure(ARGS("info", "extra"), 2, NULL);
}
END_TEST

START_TEST(test_err_integers) {
  valid_inputs();
  const char *bad[] = {"abc", "-2", "1.5", "2x", " 2", "+2", "0x2", "99999999999999999999"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    expect_failure(ARGS(RUN_BASE, "--strides", bad[i]), 2, "--strides");
    expect_failure(ARGS(RUN_BASE, "--dilation-rate", bad[i]), 2, "--dilation-rate");
    expect_failure(ARGS(RUN_BASE, "--output-padding", bad[i]), 2, "--output-padding");
  }
  expect_failure(ARGS(RUN_BASE, "--strides", "0"), 2, "strides");
  expect_failure(ARGS(RUN_BASE, "--dilation-rate", "0"), 2, "dilation");
}
END_TEST

START_TEST(test_err_config) {
  valid_inputs();
  expect_failure(ARGS(RUN_BASE, "--strides", "2", "--output-padding", "2"), 2, "output_padding");
  expect_failure(ARGS(RUN_BASE, "--output-padding", "1"), 2, "output_padding");
  expect_failure(ARGS(RUN_BASE, "--strides", "2", "--dilation-rate", "2"), 2, "strides");
  expect_failure(ARGS(RUN_BASE, "--activation", "nope"), 2, "nope");
  expect_failure(ARGS(RUN_BASE, "--activation", "threshold"), 2, "threshold");
  expect_failure(ARGS(RUN_BASE, "--padding", "full"), 2, "full");
  expect_failure(ARGS(RUN_BASE, "--data-format", "channels_middle"), 2, "channels_middle");
}
END_TEST

START_TEST(test_err_bad_files) {
  valid_inputs();
  /* Not a .npy at all */
  FILE *fp = fopen(in_path("junk.npy"), "wb");
  fputs("this is not numpy\n", fp);
  fclose(fp);
  expect_failure(ARGS("run", "--input", in_path("junk.npy"), "--kernel", in_path("k.npy"),
                      "--output", out_path("y.npy")),
                 1, "magic");
  /* Truncated: the shape needs 240 bytes, 100 are there. */
  write_raw_npy(in_path("trunc.npy"),
                "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 5, 3), }", 100);
  expect_failure(ARGS("run", "--input", in_path("trunc.npy"), "--kernel", in_path("k.npy"),
                      "--output", out_path("y.npy")),
                 1, "truncated: expected 240 bytes of data, found 100");
  write_raw_npy(in_path("fortran.npy"),
                "{'descr': '<f8', 'fortran_order': True, 'shape': (2, 5, 3), }", 240);
  expect_failure(ARGS("run", "--input", in_path("fortran.npy"), "--kernel", in_path("k.npy"),
                      "--output", out_path("y.npy")),
                 1, "Fortran-order arrays are not supported");
  write_raw_npy(in_path("int.npy"),
                "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 5, 3), }", 120);
  expect_failure(ARGS("run", "--input", in_path("int.npy"), "--kernel", in_path("k.npy"),
                      "--output", out_path("y.npy")),
                 1, "'<i4'");
  write_raw_npy(in_path("be.npy"), "{'descr': '>f8', 'fortran_order': False, 'shape': (3, 4, 3), }",
                288);
  expect_failure(ARGS("run", "--input", in_path("x.npy"), "--kernel", in_path("be.npy"), "--output",
                      out_path("y.npy")),
                 1, "'>f8'");
  write_raw_npy(in_path("bbe.npy"), "{'descr': '>f4', 'fortran_order': False, 'shape': (4,), }",
                16);
  expect_failure(ARGS(RUN_BASE, "--bias", in_path("bbe.npy")), 1, "--bias");
  expect_failure(ARGS("run", "--input", in_path("missing.npy"), "--kernel", in_path("k.npy"),
                      "--output", out_path("y.npy")),
                 1, "missing.npy");
  expect_failure(
      ARGS("run", "--input", indir, "--kernel", in_path("k.npy"), "--output", out_path("y.npy")), 1,
      "--input");
}
END_TEST

START_TEST(test_err_shapes) {
  valid_inputs();
  rng_state = 11;
  arr x32 = make_arr(NPY_FLOAT32, 3, 2, 5, 3), x4 = make_arr(NPY_FLOAT64, 3, 2, 5, 4),
      x2 = make_arr(NPY_FLOAT64, 2, 5, 3, 0), b5 = make_arr(NPY_FLOAT64, 1, 5, 0, 0),
      b32 = make_arr(NPY_FLOAT32, 1, 4, 0, 0), b2d = make_arr(NPY_FLOAT64, 2, 1, 4, 0),
      k2 = make_arr(NPY_FLOAT64, 2, 3, 4, 0), x0 = make_arr(NPY_FLOAT64, 3, 2, 0, 3),
      k5 = make_arr(NPY_FLOAT64, 3, 3, 5, 3);
  save_arr(&x32, in_path("x32.npy"));
  save_arr(&x4, in_path("x4.npy"));
  save_arr(&x2, in_path("x2.npy"));
  save_arr(&b5, in_path("b5.npy"));
  save_arr(&b32, in_path("b32.npy"));
  save_arr(&b2d, in_path("b2d.npy"));
  save_arr(&k2, in_path("k2.npy"));
  save_arr(&x0, in_path("x0.npy"));
  save_arr(&k5, in_path("k5.npy"));
  char k[4400], y[4400];
  snprintf(k, sizeof k, "%s", in_path("k.npy"));
  snprintf(y, sizeof y, "%s", out_path("y.npy"));
  expect_failure(ARGS("run", "--input", in_path("x32.npy"), "--kernel", k, "--output", y), 1,
                 "dtype");
  expect_failure(ARGS(RUN_BASE, "--bias", in_path("b32.npy")), 1, "dtype");
  expect_failure(ARGS("run", "--input", in_path("x4.npy"), "--kernel", k, "--output", y), 1,
                 "channels");
  /* (2,5,3) read as channels_first has 5 channels. */
  expect_failure(ARGS(RUN_BASE, "--data-format", "channels_first"), 1, "channels");
  expect_failure(ARGS("run", "--input", in_path("x2.npy"), "--kernel", k, "--output", y), 1,
                 "rank 2");
  expect_failure(
      ARGS("run", "--input", in_path("x.npy"), "--kernel", in_path("k2.npy"), "--output", y), 1,
      "rank 2");
  expect_failure(ARGS(RUN_BASE, "--bias", in_path("b5.npy")), 1, "--bias");
  expect_failure(ARGS(RUN_BASE, "--bias", in_path("b2d.npy")), 1, "--bias");
  expect_failure(ARGS("run", "--input", in_path("x0.npy"), "--kernel", k, "--output", y), 1, NULL);
  /* glu needs an even axis: 5 filters. */
  expect_failure(ARGS("run", "--input", in_path("x.npy"), "--kernel", in_path("k5.npy"), "--output",
                      y, "--activation", "glu"),
                 1, "glu");
  arr *all[] = {&x32, &x4, &x2, &b5, &b32, &b2d, &k2, &x0, &k5};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) free(all[i]->v);
}
END_TEST

START_TEST(test_err_output_path) {
  valid_inputs();
  char missing[4400];
  snprintf(missing, sizeof missing, "%s/no/such/dir/y.npy", outdir);
  expect_failure(
      ARGS("run", "--input", in_path("x.npy"), "--kernel", in_path("k.npy"), "--output", missing),
      1, "does not exist");
  /* The output is a directory. */
  ck_assert_int_eq(mkdir(out_path("d"), 0700), 0);
  result r = run_cli(ARGS("run", "--input", in_path("x.npy"), "--kernel", in_path("k.npy"),
                          "--output", out_path("d")));
  ck_assert_int_eq(r.status, 1);
  ck_assert_int_eq(strncmp(r.err, "conv1dt: error: ", 16), 0);
  ck_assert_int_eq(count_entries(outdir), 1);
  ck_assert_int_eq(count_entries(out_path("d")), 0);
  free_result(&r);
  rmdir(out_path("d"));
  /* A read-only output folder (as root this is not enforced; then the run succeeds). */
  if (geteuid() != 0) {
    chmod(outdir, 0500);
    expect_failure(ARGS(RUN_BASE), 1, "--output");
    chmod(outdir, 0700);
  }
}
END_TEST

START_TEST(test_err_keeps_existing_output) {
  /* A failed run leaves an existing output exactly as it was. */
  valid_inputs();
  FILE *fp = fopen(out_path("y.npy"), "w");
  fputs("precious", fp);
  fclose(fp);
  result r = run_cli(ARGS(RUN_BASE, "--bias", in_path("missing.npy")));
  ck_assert_int_eq(r.status, 1);
  free_result(&r);
  ck_assert_int_eq(count_entries(outdir), 1);
  char *text = slurp(out_path("y.npy"));
  ck_assert_str_eq(text, "precious");
  free(text);
}
END_TEST

static Suite *cli_suite(void) {
  Suite *s = suite_create("cli");
  TCase *tc = tcase_create("info");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_test(tc, test_demo);
  tcase_add_test(tc, test_version);
  tcase_add_test(tc, test_info);
  tcase_add_test(tc, test_help);
  suite_add_tcase(s, tc);

  tc = tcase_create("run");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, test_run_numbers, 0, (int)(sizeof runs / sizeof runs[0]));
  tcase_add_test(tc, test_run_equals_form_and_case);
  tcase_add_test(tc, test_run_output_padding_none_and_overwrite);
  tcase_add_test(tc, test_run_glu_halves);
  suite_add_tcase(s, tc);

  tc = tcase_create("errors");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_err_usage);
  tcase_add_test(tc, test_err_integers);
  tcase_add_test(tc, test_err_config);
  tcase_add_test(tc, test_err_bad_files);
  tcase_add_test(tc, test_err_shapes);
  tcase_add_test(tc, test_err_output_path);
  tcase_add_test(tc, test_err_keeps_existing_output);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(cli_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
