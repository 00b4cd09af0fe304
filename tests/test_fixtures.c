/* Runs every reference case under $CONV1DT_FIXTURES/<set>/<case>/ through the library API and
 * judges it as the fixtures README says: same shape, NaN/Inf at the same places, finite values
 * within 1e-10 (float64) or 2e-5 (float32) times (1 + max|expected|). Cases whose case.json says
 * "expect": "error" must fail and leave the output buffer untouched. One Check test per case. */
#define _POSIX_C_SOURCE 200809L

#include "check_run.h"
#include "conv1dt.h"
#include "npy.h"

#include <check.h>
#include <dirent.h>
#include <json-c/json.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MIN_CASES 150
#define SENTINEL 0xA5
#define GUARD_BYTES 64

static char **cases;
static int n_cases;

static bool is_dir(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static bool is_file(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* a + "/" + b into out; false when it does not fit (such a path is skipped). */
static bool join(char *out, size_t size, const char *a, const char *b) {
  int n = snprintf(out, size, "%s/%s", a, b);
  return n >= 0 && (size_t)n < size;
}

static void add_case(const char *path) {
  char **grown = realloc(cases, (size_t)(n_cases + 1) * sizeof *cases);
  char *copy = strdup(path);
  if (!grown || !copy) {
    fprintf(stderr, "test_fixtures: out of memory\n");
    exit(EXIT_FAILURE);
  }
  cases = grown;
  cases[n_cases++] = copy;
}

/* Every folder holding a case.json, one or two levels below root (a set of cases, or a case). */
static void collect_cases(const char *root) {
  DIR *d = opendir(root);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char set[4096], json[4096];
    if (!join(set, sizeof set, root, e->d_name) || !is_dir(set)) continue;
    DIR *sd = opendir(set);
    if (!sd) continue;
    struct dirent *c;
    while ((c = readdir(sd)) != NULL) {
      if (c->d_name[0] == '.') continue;
      char dir[4096];
      if (join(dir, sizeof dir, set, c->d_name) && join(json, sizeof json, dir, "case.json") &&
          is_file(json))
        add_case(dir);
    }
    closedir(sd);
  }
  closedir(d);
  if (n_cases > 1) qsort(cases, (size_t)n_cases, sizeof *cases, cmp_str);
}

/* ------------------------------------------------------------------------------------------- */

typedef struct {
  int64_t strides, dilation_rate, output_padding;
  const char *padding, *data_format, *activation, *dtype;
  bool output_padding_null, use_bias, expect_error;
} case_meta;

static json_object *get_key(json_object *root, const char *key, const char *dir) {
  json_object *v = NULL;
  ck_assert_msg(json_object_object_get_ex(root, key, &v), "%s: case.json lacks '%s'", dir, key);
  return v;
}

static const char *get_string(json_object *root, const char *key, const char *dir, bool nullable) {
  json_object *v = get_key(root, key, dir);
  if (v == NULL && nullable) return NULL;
  ck_assert_msg(v && json_object_is_type(v, json_type_string), "%s: '%s' is not a string", dir,
                key);
  return json_object_get_string(v);
}

static int64_t get_int(json_object *root, const char *key, const char *dir, bool nullable) {
  json_object *v = get_key(root, key, dir);
  if (v == NULL && nullable) return CONV1DT_OUTPUT_PADDING_NONE;
  ck_assert_msg(v && json_object_is_type(v, json_type_int), "%s: '%s' is not an integer", dir, key);
  return json_object_get_int64(v);
}

static void load(const char *dir, const char *name, npy_array *a) {
  char path[4400], err[512];
  ck_assert(join(path, sizeof path, dir, name));
  ck_assert_msg(npy_load(path, a, err, sizeof err) == NPY_OK, "%s: %s", path, err);
}

static double elem(const npy_array *a, size_t i) {
  return a->dtype == NPY_FLOAT32 ? (double)((const float *)a->data)[i]
                                 : ((const double *)a->data)[i];
}

/* The README's judgement: NaN and Inf positions (and signs) equal, finite values close. */
static void compare(const char *dir, const npy_array *exp, const void *got_data) {
  npy_array got = *exp;
  got.data = (void *)got_data;
  double scale = 0.0;
  for (size_t i = 0; i < exp->count; i++) {
    double e = elem(exp, i);
    if (isfinite(e) && fabs(e) > scale) scale = fabs(e);
  }
  double tol = (exp->dtype == NPY_FLOAT32 ? 2e-5 : 1e-10) * (1.0 + scale);
  double worst = 0.0;
  size_t worst_i = 0;
  for (size_t i = 0; i < exp->count; i++) {
    double e = elem(exp, i), g = elem(&got, i);
    if (isnan(e) || isnan(g)) {
      ck_assert_msg(isnan(e) && isnan(g), "%s: element %zu: got %.17g, expected %.17g", dir, i, g,
                    e);
    } else if (isinf(e) || isinf(g)) {
      ck_assert_msg(e == g, "%s: element %zu: got %.17g, expected %.17g", dir, i, g, e);
    } else if (fabs(g - e) > worst) {
      worst = fabs(g - e);
      worst_i = i;
    }
  }
  ck_assert_msg(worst <= tol,
                "%s: max|err| %.3e > tol %.3e at flat index %zu (got %.17g, expected %.17g)", dir,
                worst, tol, worst_i, elem(&got, worst_i), elem(exp, worst_i));
}

static bool untouched(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != SENTINEL) return false;
  return true;
}

START_TEST(test_case) {
  const char *dir = cases[_i];
  char path[4400];
  ck_assert(join(path, sizeof path, dir, "case.json"));
  json_object *root = json_object_from_file(path);
  ck_assert_msg(root != NULL, "%s: unreadable case.json", dir);

  case_meta m;
  m.strides = get_int(root, "strides", dir, false);
  m.dilation_rate = get_int(root, "dilation_rate", dir, false);
  m.output_padding = get_int(root, "output_padding", dir, true);
  json_object *op = get_key(root, "output_padding", dir);
  m.output_padding_null = op == NULL;
  m.padding = get_string(root, "padding", dir, false);
  m.data_format = get_string(root, "data_format", dir, false);
  m.activation = get_string(root, "activation", dir, true);
  m.dtype = get_string(root, "dtype", dir, false);
  json_object *v = get_key(root, "use_bias", dir);
  ck_assert_msg(json_object_is_type(v, json_type_boolean), "%s: use_bias not a boolean", dir);
  m.use_bias = json_object_get_boolean(v);
  const char *expect = get_string(root, "expect", dir, false);
  ck_assert_msg(strcmp(expect, "ok") == 0 || strcmp(expect, "error") == 0, "%s: expect is '%s'",
                dir, expect);
  m.expect_error = strcmp(expect, "error") == 0;

  npy_array x, k, b = {0}, e = {0};
  load(dir, "x.npy", &x);
  load(dir, "kernel.npy", &k);
  if (m.use_bias) load(dir, "bias.npy", &b);
  ck_assert(join(path, sizeof path, dir, "expected.npy"));
  bool have_expected = is_file(path);
  if (!m.expect_error || have_expected) load(dir, "expected.npy", &e);

  const char *want_dtype = x.dtype == NPY_FLOAT32 ? "float32" : "float64";
  ck_assert_msg(strcmp(m.dtype, want_dtype) == 0, "%s: x.npy is %s, case.json says %s", dir,
                want_dtype, m.dtype);

  /* The API takes raw arrays, so what only the arrays' shapes and dtypes show is the caller's
   * to check, as Keras's build() and set_weights() do: ranks, dtypes, channels, bias length.
   * So is output_padding -1, which the API reads as None. */
  const char *harness_error = NULL;
  if (x.ndim != 3)
    harness_error = "x is not rank 3";
  else if (k.ndim != 3)
    harness_error = "kernel is not rank 3";
  else if (k.dtype != x.dtype || (m.use_bias && b.dtype != x.dtype))
    harness_error = "dtypes differ";
  else if (m.use_bias && (b.ndim != 1 || b.shape[0] != k.shape[1]))
    harness_error = "bias length differs from the kernel's filters";
  else if (m.output_padding == CONV1DT_OUTPUT_PADDING_NONE && !m.output_padding_null)
    harness_error = "output_padding -1 (the API's None)";

  conv1dt_config cfg =
      conv1dt_config_default(k.ndim == 3 ? k.shape[1] : 1, k.ndim == 3 ? k.shape[0] : 1);
  cfg.strides = m.strides;
  cfg.dilation_rate = m.dilation_rate;
  cfg.output_padding = m.output_padding;
  cfg.activation = m.activation;
  cfg.use_bias = m.use_bias;

  /* Every step may be where an invalid case is refused; a valid case passes them all. The rank
   * and channel checks are the caller's in this API (forward takes no x shape), so the harness
   * makes them, as Keras's build() does. */
  conv1dt_status st = conv1dt_padding_from_string(m.padding, &cfg.padding);
  if (st == CONV1DT_OK) st = conv1dt_data_format_from_string(m.data_format, &cfg.data_format);
  int axis = cfg.data_format == CONV1DT_CHANNELS_LAST ? 2 : 1;
  if (st == CONV1DT_OK && !harness_error && x.shape[axis] != k.shape[2])
    harness_error = "x's channels differ from the kernel's in_channels";
  conv1dt_layer *layer = NULL;
  conv1dt_dtype dtype = x.dtype == NPY_FLOAT32 ? CONV1DT_FLOAT32 : CONV1DT_FLOAT64;
  if (st == CONV1DT_OK && !harness_error) st = conv1dt_create(&cfg, k.shape[2], dtype, &layer);
  if (st == CONV1DT_OK && !harness_error)
    st = conv1dt_set_weights(layer, k.data, m.use_bias ? b.data : NULL);
  int64_t batch = x.ndim == 3 ? x.shape[0] : 0;
  int64_t steps = x.ndim == 3 ? x.shape[cfg.data_format == CONV1DT_CHANNELS_LAST ? 1 : 2] : 0;
  int64_t out_shape[3] = {-7, -7, -7};
  if (st == CONV1DT_OK && !harness_error) st = conv1dt_output_shape(layer, batch, steps, out_shape);

  if (m.expect_error) {
    if (st == CONV1DT_OK && !harness_error) {
      /* Shape accepted: forward must refuse, writing nothing. */
      size_t bytes = (have_expected ? e.nbytes : 4096) + GUARD_BYTES;
      unsigned char *y = malloc(bytes);
      ck_assert_ptr_nonnull(y);
      memset(y, SENTINEL, bytes);
      st = conv1dt_forward(layer, x.data, batch, steps, y, NULL, 0);
      ck_assert_msg(st != CONV1DT_OK, "%s: invalid case accepted by conv1dt_forward", dir);
      ck_assert_msg(untouched(y, bytes), "%s: failed forward wrote to the output", dir);
      free(y);
    }
    if (st != CONV1DT_OK)
      ck_assert_msg(conv1dt_last_error()[0] != '\0', "%s: %s without a message", dir,
                    conv1dt_status_name(st));
  } else {
    ck_assert_msg(!harness_error, "%s: %s", dir, harness_error);
    ck_assert_msg(st == CONV1DT_OK, "%s: %s: %s", dir, conv1dt_status_name(st),
                  conv1dt_last_error());
    ck_assert_int_eq(e.dtype, x.dtype);
    ck_assert_msg(e.ndim == 3 && e.shape[0] == out_shape[0] && e.shape[1] == out_shape[1] &&
                      e.shape[2] == out_shape[2],
                  "%s: output shape (%lld, %lld, %lld), expected (%lld, %lld, %lld)", dir,
                  (long long)out_shape[0], (long long)out_shape[1], (long long)out_shape[2],
                  (long long)e.shape[0], (long long)e.shape[1], (long long)e.shape[2]);
    /* Sentinel guard past the end catches writes beyond the output. */
    unsigned char *y = malloc(e.nbytes + GUARD_BYTES);
    ck_assert_ptr_nonnull(y);
    memset(y, SENTINEL, e.nbytes + GUARD_BYTES);
    st = conv1dt_forward(layer, x.data, batch, steps, y, NULL, 0);
    ck_assert_msg(st == CONV1DT_OK, "%s: forward: %s: %s", dir, conv1dt_status_name(st),
                  conv1dt_last_error());
    ck_assert_msg(untouched(y + e.nbytes, GUARD_BYTES), "%s: forward wrote past the output", dir);
    compare(dir, &e, y);
    /* The same case through every forward method, each against Keras's numbers. */
    for (int a = CONV1DT_ALGORITHM_GEMM; a <= CONV1DT_ALGORITHM_GEMM_ACCUMULATE; a++) {
      conv1dt_config alt = cfg;
      alt.algorithm = (conv1dt_algorithm)a;
      conv1dt_layer *other = NULL;
      st = conv1dt_create(&alt, k.shape[2], dtype, &other);
      if (st == CONV1DT_OK) st = conv1dt_set_weights(other, k.data, m.use_bias ? b.data : NULL);
      memset(y, SENTINEL, e.nbytes + GUARD_BYTES);
      if (st == CONV1DT_OK) st = conv1dt_forward(other, x.data, batch, steps, y, NULL, 0);
      ck_assert_msg(st == CONV1DT_OK, "%s: algorithm %d: %s: %s", dir, a, conv1dt_status_name(st),
                    conv1dt_last_error());
      ck_assert_msg(untouched(y + e.nbytes, GUARD_BYTES), "%s: algorithm %d wrote past the output",
                    dir, a);
      compare(dir, &e, y);
      conv1dt_destroy(other);
    }
    free(y);
  }
  conv1dt_destroy(layer);
  npy_free(&x);
  npy_free(&k);
  npy_free(&b);
  npy_free(&e);
  json_object_put(root);
}
END_TEST

START_TEST(test_case_count) {
  ck_assert_msg(n_cases >= MIN_CASES, "found %d cases under $CONV1DT_FIXTURES, expected >= %d",
                n_cases, MIN_CASES);
}
END_TEST

int main(void) {
  const char *root = getenv("CONV1DT_FIXTURES");
  if (!root || !*root) {
    fprintf(stderr, "test_fixtures: set CONV1DT_FIXTURES to the tests/fixtures folder\n");
    return EXIT_FAILURE;
  }
  collect_cases(root);
  Suite *s = suite_create("fixtures");
  TCase *tc = tcase_create("count");
  tcase_add_test(tc, test_case_count);
  suite_add_tcase(s, tc);
  tc = tcase_create("cases");
  tcase_set_timeout(tc, 60);
  if (n_cases > 0) tcase_add_loop_test(tc, test_case, 0, n_cases);
  suite_add_tcase(s, tc);
  const int status = run_suite(s);
  for (int i = 0; i < n_cases; i++) free(cases[i]);
  free(cases);
  return status;
}
