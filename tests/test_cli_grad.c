/* End-to-end tests of `conv1dt grad`: spawns $CONV1DT_CLI, checks the gradient files against a
 * direct loop written here from the Keras rules (independent of the library), and every error
 * class: non-zero exit (2 usage, 1 other), "conv1dt: error:" on stderr, no output file and no
 * temporary left behind — also when a later output fails after an earlier one was written.
 * Work files go under $CONV1DT_TEST_TMP. */
#define _XOPEN_SOURCE 700

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

static char work[4096], indir[4200], outdir[4200];

static void mkdir_p(const char *path) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  for (char *p = buf + 1; *p; p++)
    if (*p == '/') {
      *p = '\0';
      mkdir(buf, 0700);
      *p = '/';
    }
  if (mkdir(buf, 0700) != 0) ck_assert_msg(errno == EEXIST, "mkdir %s: %s", buf, strerror(errno));
}

static void setup(void) {
  const char *base = getenv("CONV1DT_TEST_TMP");
  char root[4000];
  snprintf(root, sizeof root, "%s", base && *base ? base : "/tmp");
  mkdir_p(root);
  snprintf(work, sizeof work, "%s/grad.XXXXXX", root);
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

static const char *path_in(const char *dir, const char *name) {
  static char bufs[32][4608];
  static int next;
  char *b = bufs[next++ % 32];
  snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
  return b;
}
#define IN(name) path_in(indir, name)
#define OUT(name) path_in(outdir, name)

/* ------------------------------------------------------------------------------------------- */
/* Running the program */

typedef struct {
  int status;
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
      buf = realloc(buf, cap);
      ck_assert_ptr_nonnull(buf);
    }
  }
  buf[n] = '\0';
  fclose(fp);
  return buf;
}

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
  rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(rng_state >> 11) * 0x1.0p-53;
}

typedef struct {
  npy_dtype dtype;
  int ndim;
  int64_t shape[3];
  size_t n;
  double *v; /* values as double, exactly representable in dtype */
} arr;

static arr make_arr(npy_dtype dtype, int ndim, int64_t d0, int64_t d1, int64_t d2) {
  arr a = {dtype, ndim, {d0, d1, d2}, 1, NULL};
  for (int i = 0; i < ndim; i++) a.n *= (size_t)a.shape[i];
  a.v = malloc((a.n ? a.n : 1) * sizeof(double));
  ck_assert_ptr_nonnull(a.v);
  for (size_t i = 0; i < a.n; i++) {
    const double u = next_uniform() * 2.0 - 1.0;
    a.v[i] = dtype == NPY_FLOAT32 ? (double)(float)u : u;
  }
  return a;
}

static void save_arr(const arr *a, const char *path) {
  void *buf = malloc(a->n * (size_t)a->dtype + 1);
  ck_assert_ptr_nonnull(buf);
  for (size_t i = 0; i < a->n; i++) {
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
  bool cf, same, bias;
  npy_dtype dtype;
  int64_t op; /* -1 = None */
  int64_t s, d, K, F, C, B, L;
  const char *act; /* NULL: flag omitted; linear, relu, tanh, sigmoid, softmax */
} spec;

/* Output length and left crop, from docs/keras-semantics.md. */
static void geometry(const spec *p, int64_t *T, int64_t *crop) {
  const int64_t keff = (p->K - 1) * p->d + 1;
  if (!p->same) {
    *crop = 0;
    *T = p->op < 0 ? (p->L - 1) * p->s + (keff > p->s ? keff : p->s)
                   : (p->L - 1) * p->s + keff + p->op;
    return;
  }
  const int64_t pad_len = p->op < 0 ? p->s + keff - 2 : keff + keff % 2 - 2 + p->op;
  int64_t left = (pad_len + 1) / 2;
  if (left > keff - 1) left = keff - 1;
  *crop = keff - 1 - left;
  *T = p->op < 0 ? p->L * p->s : (p->L - 1) * p->s + keff % 2 + p->op;
}

typedef struct {
  int64_t T, crop;
  arr x, w, b, dy;
  double *dx, *dk, *db; /* expected */
} grad_case;

static size_t xi(const spec *p, int64_t b, int64_t l, int64_t c) {
  return (size_t)(p->cf ? (b * p->C + c) * p->L + l : (b * p->L + l) * p->C + c);
}
static size_t yi(const spec *p, int64_t T, int64_t b, int64_t t, int64_t f) {
  return (size_t)(p->cf ? (b * p->F + f) * T + t : (b * T + t) * p->F + f);
}

/* Draws the inputs, saves them, and computes the expected gradients by direct loops:
 * z[b,t,f] = bias[f] + sum_{l,k: l*s + k*d - crop = t} sum_c x[b,l,c] W[k,f,c]; dz from the
 * activation's derivative (softmax's Jacobian along the last axis); then dx, dW, db as sums over
 * the same index relation. */
static grad_case make_case(const spec *p) {
  grad_case g;
  memset(&g, 0, sizeof g);
  geometry(p, &g.T, &g.crop);
  const int64_t T = g.T;
  rng_state = (uint64_t)(p->s * 1000 + p->K * 100 + p->F * 10 + p->C) ^ 0xC0FFEEULL;
  g.x = p->cf ? make_arr(p->dtype, 3, p->B, p->C, p->L) : make_arr(p->dtype, 3, p->B, p->L, p->C);
  g.w = make_arr(p->dtype, 3, p->K, p->F, p->C);
  g.b = make_arr(p->dtype, 1, p->F, 0, 0);
  g.dy = p->cf ? make_arr(p->dtype, 3, p->B, p->F, T) : make_arr(p->dtype, 3, p->B, T, p->F);
  save_arr(&g.x, IN("x.npy"));
  save_arr(&g.w, IN("k.npy"));
  save_arr(&g.b, IN("b.npy"));
  save_arr(&g.dy, IN("dy.npy"));
  const size_t nz = (size_t)(p->B * T * p->F);
  double *z = calloc(nz + 1, sizeof *z), *dz = calloc(nz + 1, sizeof *dz);
  ck_assert(z && dz);
  for (int64_t b = 0; b < p->B; b++)
    for (int64_t t = 0; t < T; t++)
      for (int64_t f = 0; f < p->F; f++) {
        double sum = p->bias ? g.b.v[f] : 0.0;
        for (int64_t l = 0; l < p->L; l++)
          for (int64_t k = 0; k < p->K; k++)
            if (l * p->s + k * p->d - g.crop == t)
              for (int64_t c = 0; c < p->C; c++)
                sum += g.x.v[xi(p, b, l, c)] * g.w.v[(k * p->F + f) * p->C + c];
        z[yi(p, T, b, t, f)] = sum;
      }
  const char *a = p->act ? p->act : "linear";
  if (strcmp(a, "softmax") == 0) {
    /* rows of the last axis: filters (channels_last) or steps (channels_first) */
    const size_t len = (size_t)(p->cf ? T : p->F);
    for (size_t r = 0; len && r < nz / len; r++) {
      const double *zr = z + r * len, *dyr = g.dy.v + r * len;
      double mx = zr[0], sum = 0, dot = 0;
      for (size_t i = 1; i < len; i++) mx = fmax(mx, zr[i]);
      for (size_t i = 0; i < len; i++) sum += exp(zr[i] - mx);
      for (size_t i = 0; i < len; i++) dot += dyr[i] * exp(zr[i] - mx) / sum;
      for (size_t i = 0; i < len; i++) dz[r * len + i] = exp(zr[i] - mx) / sum * (dyr[i] - dot);
    }
  } else {
    for (size_t i = 0; i < nz; i++) {
      double d = 1.0;
      if (strcmp(a, "relu") == 0) d = z[i] > 0 ? 1.0 : 0.0;
      if (strcmp(a, "tanh") == 0) d = 1.0 - tanh(z[i]) * tanh(z[i]);
      if (strcmp(a, "sigmoid") == 0) d = exp(-z[i]) / ((1.0 + exp(-z[i])) * (1.0 + exp(-z[i])));
      dz[i] = d * g.dy.v[i];
    }
  }
  g.dx = calloc(g.x.n + 1, sizeof(double));
  g.dk = calloc(g.w.n + 1, sizeof(double));
  g.db = calloc((size_t)p->F + 1, sizeof(double));
  ck_assert(g.dx && g.dk && g.db);
  for (int64_t b = 0; b < p->B; b++)
    for (int64_t l = 0; l < p->L; l++)
      for (int64_t k = 0; k < p->K; k++) {
        const int64_t t = l * p->s + k * p->d - g.crop;
        if (t < 0 || t >= T) continue;
        for (int64_t f = 0; f < p->F; f++)
          for (int64_t c = 0; c < p->C; c++) {
            const double d = dz[yi(p, T, b, t, f)];
            g.dx[xi(p, b, l, c)] += g.w.v[(k * p->F + f) * p->C + c] * d;
            g.dk[(k * p->F + f) * p->C + c] += g.x.v[xi(p, b, l, c)] * d;
          }
      }
  for (int64_t b = 0; b < p->B; b++)
    for (int64_t t = 0; t < T; t++)
      for (int64_t f = 0; f < p->F; f++) g.db[f] += dz[yi(p, T, b, t, f)];
  free(z);
  free(dz);
  return g;
}

static void free_case(grad_case *g) {
  free(g->x.v);
  free(g->w.v);
  free(g->b.v);
  free(g->dy.v);
  free(g->dx);
  free(g->dk);
  free(g->db);
}

/* Loads `path` and compares it with want (shape and values). */
static void expect_file(const char *path, const spec *p, int ndim, const int64_t *shape,
                        const double *want) {
  npy_array a;
  char err[256];
  ck_assert_msg(npy_load(path, &a, err, sizeof err) == NPY_OK, "%s: %s", path, err);
  ck_assert_int_eq(a.dtype, p->dtype);
  ck_assert_int_eq(a.ndim, ndim);
  for (int i = 0; i < ndim; i++) ck_assert_int_eq(a.shape[i], shape[i]);
  double scale = 0;
  for (size_t i = 0; i < a.count; i++) scale = fmax(scale, fabs(want[i]));
  const double tol = (p->dtype == NPY_FLOAT32 ? 5e-5 : 1e-12) * (1 + scale);
  for (size_t i = 0; i < a.count; i++) {
    const double got = p->dtype == NPY_FLOAT32 ? ((float *)a.data)[i] : ((double *)a.data)[i];
    ck_assert_msg(fabs(got - want[i]) <= tol, "%s[%zu] = %.17g, expected %.17g", path, i, got,
                  want[i]);
  }
  npy_free(&a);
}

/* Argument list of a grad command for a spec; `which` selects outputs (1 dx, 2 dk, 4 db). */
static char store[32][4600];
static const char *argl[64];

static const char *const *grad_args(const spec *p, int which, bool eq_form) {
  int n = 0, m = 0;
#define FLAG(name, value)                                                                          \
  do {                                                                                             \
    if (eq_form) {                                                                                 \
      snprintf(store[m], sizeof store[0], "%s=%s", name, value);                                   \
      argl[n++] = store[m++];                                                                      \
    } else {                                                                                       \
      snprintf(store[m], sizeof store[0], "%s", value);                                            \
      argl[n++] = name;                                                                            \
      argl[n++] = store[m++];                                                                      \
    }                                                                                              \
  } while (0)
  char num[32];
  argl[n++] = "grad";
  FLAG("--input", IN("x.npy"));
  FLAG("--kernel", IN("k.npy"));
  if (p->bias) FLAG("--bias", IN("b.npy"));
  FLAG("--grad-output", IN("dy.npy"));
  if (which & 1) FLAG("--grad-input", OUT("dx.npy"));
  if (which & 2) FLAG("--grad-kernel", OUT("dk.npy"));
  if (which & 4) FLAG("--grad-bias", OUT("db.npy"));
  snprintf(num, sizeof num, "%lld", (long long)p->s);
  FLAG("--strides", num);
  FLAG("--padding", p->same ? "same" : "valid");
  if (p->op >= 0) {
    snprintf(num, sizeof num, "%lld", (long long)p->op);
    FLAG("--output-padding", num);
  }
  FLAG("--data-format", p->cf ? "channels_first" : "channels_last");
  snprintf(num, sizeof num, "%lld", (long long)p->d);
  FLAG("--dilation-rate", num);
  if (p->act) FLAG("--activation", p->act);
#undef FLAG
  argl[n] = NULL;
  return argl;
}

static void check_grad(const spec *p, int which, bool eq_form) {
  grad_case g = make_case(p);
  result r = run_cli(grad_args(p, which, eq_form));
  ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
  ck_assert_str_eq(r.out, "");
  ck_assert_str_eq(r.err, "");
  free_result(&r);
  int want_files = !!(which & 1) + !!(which & 2) + !!(which & 4);
  ck_assert_int_eq(count_entries(outdir), want_files); /* no temporaries */
  if (which & 1) expect_file(OUT("dx.npy"), p, 3, g.x.shape, g.dx);
  if (which & 2) expect_file(OUT("dk.npy"), p, 3, g.w.shape, g.dk);
  if (which & 4) expect_file(OUT("db.npy"), p, 1, g.b.shape, g.db);
  free_case(&g);
}

/* ------------------------------------------------------------------------------------------- */
/* Numbers */

static const spec specs[] = {
    /* cf,  same,  bias, dtype,      op, s, d, K, F, C, B, L, activation */
    {false, false, true, NPY_FLOAT64, -1, 2, 1, 3, 4, 3, 2, 5, "relu"},
    {true, true, true, NPY_FLOAT32, -1, 2, 1, 3, 3, 2, 2, 4, NULL},
    {false, true, true, NPY_FLOAT64, 1, 3, 1, 4, 2, 3, 1, 6, "tanh"},
    {true, false, true, NPY_FLOAT64, 0, 1, 2, 3, 5, 4, 3, 7, "sigmoid"},
    {false, true, true, NPY_FLOAT32, -1, 1, 3, 2, 3, 2, 2, 5, "softmax"},
    {true, true, true, NPY_FLOAT64, 1, 2, 1, 5, 4, 3, 2, 6, "softmax"},
    {true, false, false, NPY_FLOAT32, -1, 4, 1, 2, 2, 1, 1, 3, "linear"},
    {false, false, false, NPY_FLOAT64, 2, 3, 1, 2, 3, 2, 2, 4, "tanh"},
};

START_TEST(test_grad_numbers) {
  const spec *p = &specs[_i];
  check_grad(p, p->bias ? 7 : 3, false);
}
END_TEST

START_TEST(test_grad_subsets_and_equals_form) {
  static const int masks[] = {1, 2, 4, 5, 6};
  for (size_t i = 0; i < sizeof masks / sizeof masks[0]; i++) {
    check_grad(&specs[i % 2 ? 5 : 0], masks[i], i % 2 == 0);
    const char *names[] = {"dx.npy", "dk.npy", "db.npy"};
    for (int k = 0; k < 3; k++) unlink(OUT(names[k]));
  }
}
END_TEST

START_TEST(test_grad_replaces_existing) {
  FILE *fp = fopen(OUT("dk.npy"), "w");
  fputs("old", fp);
  fclose(fp);
  check_grad(&specs[0], 2, false);
}
END_TEST

START_TEST(test_grad_help) {
  const char *const *forms[] = {ARGS("grad", "--help"), ARGS("help", "grad"),
                                ARGS("grad", "-h", "--input")};
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    result r = run_cli(forms[i]);
    ck_assert_int_eq(r.status, 0);
    ck_assert_ptr_nonnull(strstr(r.out, "usage: conv1dt grad"));
    ck_assert_ptr_nonnull(strstr(r.out, "--grad-kernel"));
    ck_assert_str_eq(r.err, "");
    free_result(&r);
  }
  result r = run_cli(ARGS("--help"));
  ck_assert_int_eq(r.status, 0);
  ck_assert_ptr_nonnull(strstr(r.out, "conv1dt grad"));
  free_result(&r);
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* Failures */

START_TEST(test_grad_usage_errors) {
  grad_case g = make_case(&specs[0]);
  const char *x = IN("x.npy"), *k = IN("k.npy"), *b = IN("b.npy"), *dy = IN("dy.npy");
  const char *dx = OUT("dx.npy"), *dk = OUT("dk.npy");
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--grad-input", dx), 2, "--grad-output");
  expect_failure(ARGS("grad", "--kernel", k, "--grad-output", dy, "--grad-input", dx), 2,
                 "--input");
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--grad-output", dy), 2,
                 "at least one of --grad-input");
  expect_failure(
      ARGS("grad", "--input", x, "--kernel", k, "--grad-output", dy, "--grad-bias", OUT("db.npy")),
      2, "needs --bias");
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--grad-output", dy, "--output", dx), 2,
                 "unknown option '--output'");
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--bias", b, "--grad-output", dy,
                      "--grad-input", dx, "--grad-kernel", dx),
                 2, "same file");
  expect_failure(ARGS("grad", "--input", x, "--input", x, "--kernel", k, "--grad-output", dy,
                      "--grad-input", dx),
                 2, "more than once");
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--grad-output", "--grad-input", dx), 2,
                 "needs a value");
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--grad-output", dy, "--grad-input", dx,
                      "--strides", "two"),
                 2, "--strides");
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--grad-output", dy, "--grad-input", dx,
                      "--activation", "nope"),
                 2, "activation");
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--grad-output", dy, "--grad-kernel", dk,
                      "--strides", "2", "--output-padding", "2"),
                 2, "output_padding");
  expect_failure(ARGS("grad", "stray", "--input", x), 2, "unexpected argument");
  free_case(&g);
}
END_TEST

START_TEST(test_grad_file_errors) {
  grad_case g = make_case(&specs[0]); /* float64, channels_last, (2, 5, 3) -> (2, 11, 4) */
  const char *x = IN("x.npy"), *k = IN("k.npy"), *b = IN("b.npy"), *dy = IN("dy.npy");
  const char *dx = OUT("dx.npy"), *dk = OUT("dk.npy");
  /* dy of the wrong shape, wrong dtype, rank, missing */
  rng_state = 3;
  arr bad = make_arr(NPY_FLOAT64, 3, 2, 10, 4);
  save_arr(&bad, IN("dy_shape.npy"));
  free(bad.v);
  bad = make_arr(NPY_FLOAT32, 3, 2, 11, 4);
  save_arr(&bad, IN("dy_f32.npy"));
  free(bad.v);
  bad = make_arr(NPY_FLOAT64, 2, 22, 4, 0);
  save_arr(&bad, IN("dy_rank.npy"));
  free(bad.v);
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--bias", b, "--grad-output",
                      IN("dy_shape.npy"), "--grad-input", dx, "--strides", "2"),
                 1, "expected (2, 11, 4)");
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--bias", b, "--grad-output",
                      IN("dy_f32.npy"), "--grad-input", dx, "--strides", "2"),
                 1, "float32");
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--bias", b, "--grad-output",
                      IN("dy_rank.npy"), "--grad-input", dx, "--strides", "2"),
                 1, "--grad-output has shape (22, 4)");
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--grad-output", IN("missing.npy"),
                      "--grad-input", dx, "--strides", "2"),
                 1, "cannot read --grad-output");
  /* the kernel's channels differ from the input's */
  rng_state = 5;
  bad = make_arr(NPY_FLOAT64, 3, 3, 4, 2);
  save_arr(&bad, IN("k_c2.npy"));
  free(bad.v);
  expect_failure(ARGS("grad", "--input", x, "--kernel", IN("k_c2.npy"), "--grad-output", dy,
                      "--grad-input", dx, "--strides", "2"),
                 1, "channels");
  /* output paths: a directory, a missing directory */
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--grad-output", dy, "--grad-input",
                      outdir, "--strides", "2"),
                 1, "is a directory");
  expect_failure(ARGS("grad", "--input", x, "--kernel", k, "--grad-output", dy, "--grad-kernel",
                      OUT("nowhere/dk.npy"), "--strides", "2"),
                 1, "does not exist");
  /* glu over an odd number of steps (channels_first, 4 steps, K 2: 5): the library refuses */
  bad = make_arr(NPY_FLOAT64, 3, 1, 3, 4);
  save_arr(&bad, IN("x_cf.npy"));
  free(bad.v);
  bad = make_arr(NPY_FLOAT64, 3, 2, 2, 3);
  save_arr(&bad, IN("k_cf.npy"));
  free(bad.v);
  expect_failure(ARGS("grad", "--input", IN("x_cf.npy"), "--kernel", IN("k_cf.npy"),
                      "--grad-output", dy, "--grad-kernel", dk, "--data-format", "channels_first",
                      "--activation", "glu"),
                 1, "glu");
  free_case(&g);
}
END_TEST

/* A later output that cannot be written (its temporary's name is too long for the file system)
 * after an earlier one was: neither exists afterwards, and an older file under the earlier
 * name is left as it was. */
START_TEST(test_grad_second_output_fails) {
  grad_case g = make_case(&specs[0]);
  char longname[300];
  memset(longname, 'a', 250);
  strcpy(longname + 250, ".npy");
  expect_failure(ARGS("grad", "--input", IN("x.npy"), "--kernel", IN("k.npy"), "--bias",
                      IN("b.npy"), "--grad-output", IN("dy.npy"), "--grad-input", OUT("dx.npy"),
                      "--grad-kernel", OUT(longname), "--strides", "2"),
                 1, "--grad-kernel");
  expect_failure(ARGS("grad", "--input", IN("x.npy"), "--kernel", IN("k.npy"), "--bias",
                      IN("b.npy"), "--grad-output", IN("dy.npy"), "--grad-input", OUT("dx.npy"),
                      "--grad-kernel", OUT("dk.npy"), "--grad-bias", OUT(longname), "--strides",
                      "2"),
                 1, "--grad-bias");
  /* a name whose own temporary fits but whose writer's temporary does not */
  char midname[300];
  memset(midname, 'b', 236);
  strcpy(midname + 236, ".npy");
  expect_failure(ARGS("grad", "--input", IN("x.npy"), "--kernel", IN("k.npy"), "--bias",
                      IN("b.npy"), "--grad-output", IN("dy.npy"), "--grad-input", OUT("dx.npy"),
                      "--grad-kernel", OUT("dk.npy"), "--grad-bias", OUT(midname), "--strides",
                      "2"),
                 1, "--grad-bias");
  FILE *fp = fopen(OUT("dx.npy"), "w");
  fputs("precious", fp);
  fclose(fp);
  result r = run_cli(ARGS("grad", "--input", IN("x.npy"), "--kernel", IN("k.npy"), "--grad-output",
                          IN("dy.npy"), "--grad-input", OUT("dx.npy"), "--grad-kernel",
                          OUT(longname), "--strides", "2"));
  ck_assert_int_eq(r.status, 1);
  ck_assert_ptr_nonnull(strstr(r.err, "conv1dt: error: "));
  free_result(&r);
  ck_assert_int_eq(count_entries(outdir), 1);
  char *text = slurp(OUT("dx.npy"));
  ck_assert_str_eq(text, "precious");
  free(text);
  free_case(&g);
}
END_TEST

static Suite *grad_suite(void) {
  Suite *s = suite_create("cli_grad");
  TCase *tc = tcase_create("numbers");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 60);
  tcase_add_loop_test(tc, test_grad_numbers, 0, (int)(sizeof specs / sizeof specs[0]));
  tcase_add_test(tc, test_grad_subsets_and_equals_form);
  tcase_add_test(tc, test_grad_replaces_existing);
  tcase_add_test(tc, test_grad_help);
  suite_add_tcase(s, tc);

  tc = tcase_create("errors");
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_grad_usage_errors);
  tcase_add_test(tc, test_grad_file_errors);
  tcase_add_test(tc, test_grad_second_output_fails);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(grad_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
