/* The shared part of the conv1dt program's end-to-end suites; see cli_harness.h. */
#define _XOPEN_SOURCE 700

#include "cli_harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ------------------------------------------------------------------------------------------- */
/* Files and folders */

char work_dir[4096], in_dir[4200], out_dir[4200];

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

static const char *work_prefix = "cli";

static void setup(void) {
  const char *base = getenv("CONV1DT_TEST_TMP");
  char root[4000];
  snprintf(root, sizeof root, "%s", base && *base ? base : "/tmp");
  mkdir_p(root);
  snprintf(work_dir, sizeof work_dir, "%s/%s.XXXXXX", root, work_prefix);
  ck_assert_msg(mkdtemp(work_dir) != NULL, "mkdtemp in %s: %s", root, strerror(errno));
  snprintf(in_dir, sizeof in_dir, "%s/in", work_dir);
  snprintf(out_dir, sizeof out_dir, "%s/out", work_dir);
  ck_assert_int_eq(mkdir(in_dir, 0700), 0);
  ck_assert_int_eq(mkdir(out_dir, 0700), 0);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb, (void)flag, (void)ftw;
  return remove(path);
}

void remove_tree(const char *dir) {
  nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void teardown(void) {
  if (work_dir[0]) remove_tree(work_dir);
  work_dir[0] = '\0';
}

int count_entries(const char *dir) {
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
  static char bufs[64][4608];
  static int next;
  char *b = bufs[next++ % 64];
  snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
  return b;
}

const char *in_path(const char *name) {
  return path_in(in_dir, name);
}

const char *out_path(const char *name) {
  return path_in(out_dir, name);
}

unsigned char *read_all(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  ck_assert_msg(fp != NULL, "open %s: %s", path, strerror(errno));
  size_t cap = 4096, n = 0, got;
  unsigned char *buf = malloc(cap);
  ck_assert_ptr_nonnull(buf);
  while ((got = fread(buf + n, 1, cap - n - 1, fp)) > 0) {
    n += got;
    if (n + 1 == cap) {
      cap *= 2;
      unsigned char *grown = realloc(buf, cap);
      ck_assert_ptr_nonnull(grown);
      buf = grown;
    }
  }
  buf[n] = '\0';
  fclose(fp);
  if (len) *len = n;
  return buf;
}

char *slurp(const char *path) {
  return (char *)read_all(path, NULL);
}

void write_all(const char *path, const void *buf, size_t len) {
  FILE *fp = fopen(path, "wb");
  ck_assert_ptr_nonnull(fp);
  ck_assert_uint_eq(fwrite(buf, 1, len, fp), len);
  ck_assert_int_eq(fclose(fp), 0);
}

/* ------------------------------------------------------------------------------------------- */
/* Running the program */

result run_cli(const char *const *args) {
  const char *cli = getenv("CONV1DT_CLI");
  ck_assert_msg(cli && *cli, "CONV1DT_CLI is not set (path of the conv1dt program)");
  const char *argv[64];
  int n = 0;
  /* $CONV1DT_CLI_EMULATOR: the words the program runs under in a cross build (the build's
   * CMAKE_CROSSCOMPILING_EMULATOR, space-separated): an emulated test cannot start a program of
   * its own architecture without binfmt_misc, the host runs the emulator itself */
  const char *emu = getenv("CONV1DT_CLI_EMULATOR");
  char emu_words[1024];
  snprintf(emu_words, sizeof emu_words, "%s", emu ? emu : "");
  char *save = NULL;
  for (char *w = strtok_r(emu_words, " ", &save); w; w = strtok_r(NULL, " ", &save)) {
    ck_assert_int_lt(n, 16);
    argv[n++] = w;
  }
  const int emulated = n > 0;
  argv[n++] = cli;
  for (; *args; args++) {
    ck_assert_int_lt(n, 62);
    argv[n++] = *args;
  }
  argv[n] = NULL;
  char so[4200], se[4200];
  snprintf(so, sizeof so, "%s/stdout.txt", work_dir);
  snprintf(se, sizeof se, "%s/stderr.txt", work_dir);
  posix_spawn_file_actions_t fa;
  ck_assert_int_eq(posix_spawn_file_actions_init(&fa), 0);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, so, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_addopen(&fa, 2, se, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid;
  int rc = emulated ? posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ)
                    : posix_spawn(&pid, cli, &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  ck_assert_msg(rc == 0, "cannot start %s: %s", argv[0], strerror(rc));
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

void free_result(result *r) {
  free(r->out);
  free(r->err);
}

void expect_success(const char *const *args) {
  result r = run_cli(args);
  ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
  ck_assert_str_eq(r.err, "");
  free_result(&r);
}

void expect_help(const char *const *args, const char *text, const char *option) {
  result r = run_cli(args);
  ck_assert_int_eq(r.status, 0);
  ck_assert_msg(strstr(r.out, text) != NULL, "stdout '%s' lacks '%s'", r.out, text);
  if (option) ck_assert_msg(strstr(r.out, option) != NULL, "stdout '%s' lacks '%s'", r.out, option);
  ck_assert_str_eq(r.err, "");
  free_result(&r);
}

void expect_failure(const char *const *args, int status, const char *needle) {
  result r = run_cli(args);
  ck_assert_msg(r.status > 0, "exit status %d (stderr: %s)", r.status, r.err);
  if (status)
    ck_assert_msg(r.status == status, "exit %d, expected %d; stderr: %s", r.status, status, r.err);
  ck_assert_msg(strncmp(r.err, "conv1dt: error: ", 16) == 0 && strlen(r.err) > 17,
                "stderr does not start with 'conv1dt: error: ': '%s'", r.err);
  if (needle) ck_assert_msg(strstr(r.err, needle) != NULL, "stderr '%s' lacks '%s'", r.err, needle);
  ck_assert_str_eq(r.out, "");
  ck_assert_msg(count_entries(out_dir) == 0, "files left in the output folder (stderr: %s)", r.err);
  free_result(&r);
}

/* ------------------------------------------------------------------------------------------- */
/* .npy data */

static uint64_t rng_state;

void arr_seed(uint64_t state) {
  rng_state = state;
}

static double next_uniform(void) {
  /* The top 53 bits give [0, 1). */
  rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(rng_state >> 11) * 0x1.0p-53;
}

arr make_arr(npy_dtype dtype, int ndim, int64_t d0, int64_t d1, int64_t d2) {
  arr a = {dtype, ndim, {d0, d1, d2}, 1, NULL};
  for (int i = 0; i < ndim; i++) a.n *= (size_t)a.shape[i];
  a.v = malloc((a.n ? a.n : 1) * sizeof(double));
  ck_assert_ptr_nonnull(a.v);
  for (size_t i = 0; i < a.n; i++) {
    const double u = next_uniform() * 2.0 - 1.0;
    /* Stored exactly in either dtype, so a reference sees what the program reads. */
    a.v[i] = dtype == NPY_FLOAT32 ? (double)(float)u : u;
  }
  return a;
}

void save_arr(const arr *a, const char *path) {
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

void save_random(const char *path, npy_dtype dtype, int ndim, int64_t d0, int64_t d1, int64_t d2) {
  arr a = make_arr(dtype, ndim, d0, d1, d2);
  save_arr(&a, path);
  free(a.v);
}

npy_array load_npy(const char *path) {
  npy_array a;
  char err[512];
  ck_assert_msg(npy_load(path, &a, err, sizeof err) == NPY_OK, "%s: %s", path, err);
  return a;
}

unsigned char *npy_image(int major, int minor, const char *dict, const void *data, size_t datalen,
                         size_t *outlen) {
  size_t prefix = major == 1 ? 10 : 12;
  size_t dl = strlen(dict);
  size_t hlen = dl + 1;
  size_t pad = (64 - (prefix + hlen) % 64) % 64;
  size_t total = prefix + hlen + pad + datalen;
  unsigned char *buf = malloc(total ? total : 1);
  ck_assert_ptr_nonnull(buf);
  memcpy(buf, "\x93NUMPY", 6);
  buf[6] = (unsigned char)major;
  buf[7] = (unsigned char)minor;
  size_t h = hlen + pad;
  buf[8] = (unsigned char)(h & 0xff);
  buf[9] = (unsigned char)(h >> 8 & 0xff);
  if (prefix == 12) {
    buf[10] = (unsigned char)(h >> 16 & 0xff);
    buf[11] = (unsigned char)(h >> 24 & 0xff);
  }
  memcpy(buf + prefix, dict, dl);
  memset(buf + prefix + dl, ' ', pad);
  buf[prefix + hlen + pad - 1] = '\n';
  if (datalen) memcpy(buf + prefix + hlen + pad, data, datalen);
  *outlen = total;
  return buf;
}

/* ------------------------------------------------------------------------------------------- */
/* A layer and its command line */

void spec_geometry(const spec *p, int64_t *out_len, int64_t *crop_left) {
  const int64_t keff = (p->K - 1) * p->d + 1;
  if (!p->same) {
    *crop_left = 0;
    *out_len = p->op < 0 ? (p->L - 1) * p->s + (keff > p->s ? keff : p->s)
                         : (p->L - 1) * p->s + keff + p->op;
    return;
  }
  const int64_t pad_len = p->op < 0 ? p->s + keff - 2 : keff + keff % 2 - 2 + p->op;
  int64_t left = (pad_len + 1) / 2;
  if (left > keff - 1) left = keff - 1;
  *crop_left = keff - 1 - left;
  *out_len = p->op < 0 ? p->L * p->s : (p->L - 1) * p->s + keff % 2 + p->op;
}

static char arg_store[32][4608];
static const char *arg_list[64];
static int arg_n, store_n, flag_n;
static flag_form arg_form;

void args_start(const char *command, flag_form form) {
  arg_n = store_n = flag_n = 0;
  arg_form = form;
  arg_list[arg_n++] = command;
}

void args_flag(const char *name, const char *value) {
  ck_assert_int_lt(store_n, 32);
  ck_assert_int_lt(arg_n, 62);
  const bool eq_form = arg_form == FLAGS_EQUALS || (arg_form == FLAGS_ALTERNATE && flag_n % 2 == 0);
  flag_n++;
  if (eq_form) {
    snprintf(arg_store[store_n], sizeof arg_store[0], "%s=%s", name, value);
    arg_list[arg_n++] = arg_store[store_n++];
  } else {
    snprintf(arg_store[store_n], sizeof arg_store[0], "%s", value);
    arg_list[arg_n++] = name;
    arg_list[arg_n++] = arg_store[store_n++];
  }
}

void args_int_flag(const char *name, int64_t value) {
  char num[32];
  snprintf(num, sizeof num, "%lld", (long long)value);
  args_flag(name, num);
}

void args_layer_flags(const spec *p, const char *padding_text) {
  args_int_flag("--strides", p->s);
  args_flag("--padding", padding_text ? padding_text : p->same ? "same" : "valid");
  if (p->op >= 0) args_int_flag("--output-padding", p->op);
  args_flag("--data-format", p->cf ? "channels_first" : "channels_last");
  args_int_flag("--dilation-rate", p->d);
  if (p->act) args_flag("--activation", p->act);
}

const char *const *args_end(void) {
  arg_list[arg_n] = NULL;
  return arg_list;
}

/* ------------------------------------------------------------------------------------------- */

Suite *cli_suite_create(const char *name) {
  work_prefix = name;
  return suite_create(name);
}

TCase *cli_tcase_create(Suite *suite, const char *name, double timeout) {
  TCase *tc = tcase_create(name);
  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_set_timeout(tc, timeout);
  suite_add_tcase(suite, tc);
  return tc;
}

void cli_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}
