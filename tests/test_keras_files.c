/* The Keras file readers through the public API: every case of tests/fixtures/keras-files/
 * (files written by real Keras 3 and Keras 2, tests/keras/gen_keras_files.py) loaded, run and
 * compared with the output Keras computed; the configuration mapped field by field from Keras
 * JSON (both object forms, old Keras's missing fields, the dtype forms); and every error class:
 * not a Keras file, no such layer, another class, truncated and corrupted archives and HDF5
 * files, fields conv1dt cannot honour — a clear message, no layer, no crash. */
#define _POSIX_C_SOURCE 200809L

#include "check_run.h"
#include "conv1dt.h"
#include "npy.h"

#include <check.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *dir(void) {
  const char *d = getenv("CONV1DT_KERAS_FILES");
  return d ? d : "tests/fixtures/keras-files";
}

static const char *path_of(const char *name) {
  static char buf[8][4096];
  static int next;
  char *p = buf[next++ % 8];
  snprintf(p, 4096, "%s/%s", dir(), name);
  return p;
}

static npy_array load(const char *name) {
  npy_array a;
  char err[256];
  ck_assert_msg(npy_load(path_of(name), &a, err, sizeof err) == NPY_OK, "%s: %s", name, err);
  return a;
}

static unsigned char *read_bytes(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  ck_assert_msg(f != NULL, "cannot open %s", path);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc((size_t)n + 1);
  ck_assert(fread(b, 1, (size_t)n, f) == (size_t)n);
  fclose(f);
  b[n] = 0;
  *len = (size_t)n;
  return b;
}

static void write_bytes(const char *path, const void *b, size_t len) {
  FILE *f = fopen(path, "wb");
  ck_assert(f != NULL);
  ck_assert(fwrite(b, 1, len, f) == len);
  fclose(f);
}

/* ---- the cases Keras computed ---------------------------------------------------------------- */

static json_object *cases(void) {
  json_object *c = json_object_from_file(path_of("cases.json"));
  ck_assert_msg(c && json_object_is_type(c, json_type_array), "cannot read cases.json");
  return c;
}

static const char *field(json_object *c, const char *key) {
  json_object *v;
  return json_object_object_get_ex(c, key, &v) ? json_object_get_string(v) : NULL;
}

static void run_case(json_object *c) {
  const char *name = field(c, "name"), *layer_name = field(c, "layer");
  conv1dt_layer *layer = NULL;
  conv1dt_status st =
      field(c, "model")
          ? conv1dt_create_from_keras(path_of(field(c, "model")), layer_name, &layer)
          : conv1dt_create_from_keras_files(path_of(field(c, "config")),
                                            path_of(field(c, "weights")), layer_name, &layer);
  ck_assert_msg(st == CONV1DT_OK, "%s: %s", name, conv1dt_last_error());
  npy_array x = load(field(c, "input")), y = load(field(c, "expected"));
  conv1dt_config cfg;
  conv1dt_dtype dt;
  ck_assert_int_eq(conv1dt_get_config(layer, &cfg, NULL, &dt), CONV1DT_OK);
  ck_assert_msg((int)x.dtype == (dt == CONV1DT_FLOAT32 ? 4 : 8), "%s: dtype", name);
  const int64_t steps = x.shape[cfg.data_format == CONV1DT_CHANNELS_LAST ? 1 : 2];
  int64_t shape[3];
  ck_assert_int_eq(conv1dt_output_shape(layer, x.shape[0], steps, shape), CONV1DT_OK);
  ck_assert(y.ndim == 3 && y.shape[0] == shape[0] && y.shape[1] == shape[1] &&
            y.shape[2] == shape[2]);
  const size_t n = (size_t)(shape[0] * shape[1] * shape[2]);
  void *out = malloc(n * (size_t)x.dtype + 1);
  ck_assert_int_eq(conv1dt_forward(layer, x.data, x.shape[0], steps, out, NULL, 0), CONV1DT_OK);
  /* Keras's own float32 rounding differs from ours in the last bits of each sum. */
  const double tol = dt == CONV1DT_FLOAT32 ? 2e-5 : 1e-12;
  for (size_t i = 0; i < n; i++) {
    double a = dt == CONV1DT_FLOAT32 ? ((float *)out)[i] : ((double *)out)[i];
    double b = dt == CONV1DT_FLOAT32 ? ((float *)y.data)[i] : ((double *)y.data)[i];
    ck_assert_msg(fabs(a - b) <= tol * (1 + fabs(b)), "%s: y[%zu] = %.9g, Keras %.9g", name, i, a,
                  b);
  }
  free(out);
  npy_free(&x);
  npy_free(&y);
  conv1dt_destroy(layer);
}

START_TEST(test_keras3_cases) {
  json_object *all = cases();
  int seen = 0;
  for (size_t i = 0; i < json_object_array_length(all); i++) {
    json_object *c = json_object_array_get_idx(all, i);
    if (strncmp(field(c, "name"), "k3_", 3) == 0) run_case(c), seen++;
  }
  ck_assert_int_ge(seen, 6);
  json_object_put(all);
}
END_TEST

/* Keras 2's files in float32 and float64 (whole model, both save_weights layouts each). */
START_TEST(test_keras2_cases) {
  json_object *all = cases();
  int seen = 0, seen64 = 0;
  for (size_t i = 0; i < json_object_array_length(all); i++) {
    json_object *c = json_object_array_get_idx(all, i);
    if (strncmp(field(c, "name"), "k2_", 3) != 0) continue;
    run_case(c);
    seen++;
    seen64 += strcmp(field(c, "dtype"), "float64") == 0;
  }
  ck_assert_int_ge(seen, 7);
  ck_assert_int_ge(seen64, 3);
  json_object_put(all);
}
END_TEST

/* ---- configuration ----------------------------------------------------------------------------
 */

static conv1dt_config from_model(const char *file, const char *layer, conv1dt_dtype *dt) {
  size_t len;
  char *json = NULL;
  /* the JSON of a model: read it through the library's own path for .json files */
  unsigned char *b = read_bytes(path_of(file), &len);
  json = (char *)b;
  conv1dt_config cfg;
  ck_assert_msg(conv1dt_config_from_keras_json(json, len, layer, &cfg, dt) == CONV1DT_OK, "%s",
                conv1dt_last_error());
  free(b);
  return cfg;
}

START_TEST(test_config_fields_from_keras3) {
  /* k3_seq.keras's "up": every argument away from its default (gen_keras_files.py). */
  conv1dt_layer *layer = NULL;
  ck_assert_int_eq(conv1dt_create_from_keras(path_of("k3_seq.keras"), "up", &layer), CONV1DT_OK);
  conv1dt_config c;
  int64_t in_channels;
  conv1dt_dtype dt;
  ck_assert_int_eq(conv1dt_get_config(layer, &c, &in_channels, &dt), CONV1DT_OK);
  ck_assert(c.filters == 5 && c.kernel_size == 3 && c.strides == 2 && c.output_padding == 1);
  ck_assert(c.padding == CONV1DT_PADDING_SAME && c.data_format == CONV1DT_CHANNELS_LAST);
  ck_assert_str_eq(c.activation, "gelu");
  ck_assert(in_channels == 4 && dt == CONV1DT_FLOAT32 && c.use_bias);
  ck_assert_int_eq(c.kernel_initializer.kind, CONV1DT_INIT_RANDOM_NORMAL);
  ck_assert(c.kernel_initializer.stddev == 0.3 && c.kernel_initializer.has_seed &&
            c.kernel_initializer.seed == 7);
  ck_assert_int_eq(c.bias_initializer.kind, CONV1DT_INIT_ONES);
  ck_assert_int_eq(c.kernel_regularizer.kind, CONV1DT_REG_L1L2);
  ck_assert(fabs(c.kernel_regularizer.l1 - 1e-3) < 1e-12 &&
            fabs(c.kernel_regularizer.l2 - 2e-3) < 1e-12);
  ck_assert_int_eq(c.activity_regularizer.kind, CONV1DT_REG_L2);
  ck_assert_int_eq(c.bias_regularizer.kind, CONV1DT_REG_NONE);
  ck_assert_int_eq(c.kernel_constraint.kind, CONV1DT_CONSTRAINT_MAX_NORM);
  ck_assert(c.kernel_constraint.max_value == 3.0 && c.kernel_constraint.num_axes == 2 &&
            c.kernel_constraint.axes[0] == 0 && c.kernel_constraint.axes[1] == 1);
  ck_assert_int_eq(c.bias_constraint.kind, CONV1DT_CONSTRAINT_NON_NEG);
  conv1dt_destroy(layer);

  /* The Functional model's JSON: a nested model's layer, float64, channels_first, no bias. */
  c = from_model("k3_func.json", "inner_ct", &dt);
  ck_assert(dt == CONV1DT_FLOAT64 && !c.use_bias && c.dilation_rate == 3);
  ck_assert(c.data_format == CONV1DT_CHANNELS_FIRST && c.output_padding == -1);
  ck_assert_str_eq(c.activation, "relu6");
  c = from_model("k3_func.json", "outer_ct", &dt);
  ck_assert_str_eq(c.activation, "silu");
  ck_assert(c.strides == 4 && c.output_padding == 3 && c.kernel_size == 5 && c.filters == 3);
}
END_TEST

static conv1dt_status cfg_of(const char *json, conv1dt_config *c, conv1dt_dtype *dt) {
  return conv1dt_config_from_keras_json(json, strlen(json), NULL, c, dt);
}

START_TEST(test_config_forms) {
  conv1dt_config c;
  conv1dt_dtype dt;
  /* Old Keras: no output_padding, no dilation_rate, no data_format; string forms; the dtype a
   * string. */
  ck_assert_int_eq(cfg_of("{\"name\": \"old\", \"filters\": 3, \"kernel_size\": [2], "
                          "\"strides\": [2], \"padding\": \"SAME\", \"activation\": \"swish\", "
                          "\"use_bias\": false, \"kernel_initializer\": \"he_normal\", "
                          "\"kernel_regularizer\": \"l1\", \"kernel_constraint\": \"unit_norm\", "
                          "\"dtype\": \"float64\", \"trainable\": true}",
                          &c, &dt),
                   CONV1DT_OK);
  ck_assert(c.filters == 3 && c.kernel_size == 2 && c.strides == 2 && c.output_padding == -1);
  ck_assert(c.dilation_rate == 1 && c.padding == CONV1DT_PADDING_SAME && !c.use_bias);
  ck_assert(c.data_format == CONV1DT_CHANNELS_LAST && dt == CONV1DT_FLOAT64);
  ck_assert_str_eq(c.activation, "silu");
  ck_assert_int_eq(c.kernel_initializer.kind, CONV1DT_INIT_HE_NORMAL);
  ck_assert_int_eq(c.kernel_regularizer.kind, CONV1DT_REG_L1);
  ck_assert_int_eq(c.kernel_constraint.kind, CONV1DT_CONSTRAINT_UNIT_NORM);
  /* The serialized {"class_name", "config"} of the layer itself; Keras 2's VarianceScaling
   * "normal" distribution; an activation object; a DTypePolicy; output_padding an integer. */
  ck_assert_int_eq(
      cfg_of("{\"class_name\": \"Conv1DTranspose\", \"config\": {\"name\": \"l\", \"filters\": 2,"
             " \"kernel_size\": 3, \"output_padding\": [0], \"dtype\": {\"class_name\": "
             "\"DTypePolicy\", \"config\": {\"name\": \"float32\"}}, \"activation\": "
             "{\"class_name\": \"function\", \"config\": \"tanh\"}, \"kernel_initializer\": "
             "{\"class_name\": \"VarianceScaling\", \"config\": {\"scale\": 2.0, \"mode\": "
             "\"fan_avg\", \"distribution\": \"normal\", \"seed\": 5}}, \"bias_constraint\": "
             "{\"class_name\": \"MinMaxNorm\", \"config\": {\"min_value\": 0.5, \"max_value\": "
             "2, \"rate\": 0.5, \"axis\": null}}}}",
             &c, &dt),
      CONV1DT_OK);
  ck_assert(c.output_padding == 0 && dt == CONV1DT_FLOAT32 && c.kernel_size == 3);
  ck_assert_str_eq(c.activation, "tanh");
  ck_assert(c.kernel_initializer.kind == CONV1DT_INIT_VARIANCE_SCALING &&
            c.kernel_initializer.scale == 2.0 && c.kernel_initializer.mode == CONV1DT_FAN_AVG &&
            c.kernel_initializer.distribution == CONV1DT_DIST_TRUNCATED_NORMAL &&
            c.kernel_initializer.seed == 5);
  ck_assert(c.bias_constraint.kind == CONV1DT_CONSTRAINT_MIN_MAX_NORM &&
            c.bias_constraint.min_value == 0.5 && c.bias_constraint.rate == 0.5 &&
            c.bias_constraint.num_axes == 0);
}
END_TEST

static void expect_cfg_error(const char *json, conv1dt_status want, const char *needle) {
  conv1dt_config c;
  conv1dt_status st = cfg_of(json, &c, NULL);
  ck_assert_msg(st == want, "%s: got %s (%s)", json, conv1dt_status_name(st), conv1dt_last_error());
  ck_assert_msg(strstr(conv1dt_last_error(), needle), "message '%s' lacks '%s'",
                conv1dt_last_error(), needle);
}

START_TEST(test_config_errors) {
  expect_cfg_error("{\"filters\": 2, \"kernel_size\": [2, 2]}", CONV1DT_ERROR_INVALID_VALUE,
                   "'kernel_size' is [2,2]");
  expect_cfg_error("{\"filters\": 2, \"kernel_size\": 2, \"dtype\": \"mixed_float16\"}",
                   CONV1DT_ERROR_UNSUPPORTED, "'dtype' is \"mixed_float16\"");
  expect_cfg_error("{\"filters\": 2, \"kernel_size\": 2, \"lora_rank\": 4}",
                   CONV1DT_ERROR_UNSUPPORTED, "unknown field 'lora_rank'");
  expect_cfg_error("{\"filters\": 2, \"kernel_size\": 2, \"activation\": \"nope\"}",
                   CONV1DT_ERROR_UNKNOWN_NAME, "'activation' is \"nope\"");
  expect_cfg_error("{\"filters\": 2, \"kernel_size\": 2, \"padding\": \"causal\"}",
                   CONV1DT_ERROR_UNKNOWN_NAME, "'padding' is \"causal\"");
  expect_cfg_error("{\"filters\": 2, \"kernel_size\": 2, \"kernel_initializer\": "
                   "{\"class_name\": \"MyInit\", \"config\": {}}}",
                   CONV1DT_ERROR_UNKNOWN_NAME, "kernel_initializer");
  expect_cfg_error("{\"filters\": 2, \"kernel_size\": 2, \"use_bias\": 1}",
                   CONV1DT_ERROR_INVALID_VALUE, "'use_bias' is 1");
  expect_cfg_error("{\"filters\": 2}", CONV1DT_ERROR_INVALID_VALUE, "'kernel_size' is missing");
  expect_cfg_error("{\"filters\": 2, ", CONV1DT_ERROR_INVALID_VALUE, "not valid Keras JSON");
  expect_cfg_error("[1, 2]", CONV1DT_ERROR_INVALID_VALUE, "not an object");
  expect_cfg_error("{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\"}}",
                   CONV1DT_ERROR_INVALID_VALUE, "no Conv1DTranspose");
  /* By name: another class, and a missing name. */
  const char *model = "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"m\", \"layers\": "
                      "[{\"class_name\": \"Dense\", \"config\": {\"name\": \"d\"}}, "
                      "{\"class_name\": \"Conv1DTranspose\", \"config\": {\"name\": \"c\", "
                      "\"filters\": 1, \"kernel_size\": 1}}]}}";
  conv1dt_config c;
  ck_assert_int_eq(conv1dt_config_from_keras_json(model, strlen(model), "d", &c, NULL),
                   CONV1DT_ERROR_INVALID_VALUE);
  ck_assert_str_eq(conv1dt_last_error(), "layer 'd' is a Dense, not a Conv1DTranspose");
  ck_assert_int_eq(conv1dt_config_from_keras_json(model, strlen(model), "zz", &c, NULL),
                   CONV1DT_ERROR_INVALID_VALUE);
  ck_assert(strstr(conv1dt_last_error(), "no layer named 'zz'"));
  ck_assert_int_eq(conv1dt_config_from_keras_json(model, strlen(model), "c", &c, NULL), CONV1DT_OK);
}
END_TEST

/* ---- files ------------------------------------------------------------------------------------
 */

static const char *tmp_path(const char *name) {
  static char buf[4][4096];
  static int next;
  char *p = buf[next++ % 4];
  const char *t = getenv("CONV1DT_TEST_TMP");
  snprintf(p, 4096, "%s/keras-%d-%s", t ? t : "/tmp", (int)getpid(), name);
  return p;
}

static void expect_load_error(const char *path, const char *layer, const char *needle) {
  conv1dt_layer *l = (conv1dt_layer *)(uintptr_t)1; /* must stay untouched */
  conv1dt_status st = conv1dt_create_from_keras(path, layer, &l);
  ck_assert_msg(st != CONV1DT_OK, "%s loaded", path);
  ck_assert(l == (conv1dt_layer *)(uintptr_t)1);
  ck_assert_msg(strstr(conv1dt_last_error(), needle), "message '%s' lacks '%s'",
                conv1dt_last_error(), needle);
}

START_TEST(test_file_errors) {
  expect_load_error(path_of("k3_seq_up_x.npy"), "up", "not a Keras file");
  expect_load_error(path_of("no-such-file.keras"), "up", "cannot open");
  expect_load_error(path_of("k3_seq.keras"), "nope", "no layer named 'nope'");
  expect_load_error(path_of("k3_seq.keras"), "dense_in", "is a Dense, not a Conv1DTranspose");
  expect_load_error(path_of("k3_seq.keras"), NULL, "2 Conv1DTranspose layers: name one");
  expect_load_error(path_of("k3_func.json"), "outer_ct", "a config without weights");
  expect_load_error(path_of("k3_func.weights.h5"), "outer_ct", "holds no model config");
  conv1dt_layer *l = NULL;
  ck_assert_int_ne(conv1dt_create_from_keras_files(path_of("k3_func.json"), path_of("k3_func.json"),
                                                   "outer_ct", &l),
                   CONV1DT_OK);
  ck_assert(strstr(conv1dt_last_error(), "holds no Keras weights"));
  /* weights of another model: the layer is not there */
  ck_assert_int_ne(conv1dt_create_from_keras_files(path_of("k3_func.json"),
                                                   path_of("k3_lone.weights.h5"), "outer_ct", &l),
                   CONV1DT_OK);
  ck_assert(strstr(conv1dt_last_error(), "no weights for layer 'outer_ct'"));
  ck_assert(l == NULL);
}
END_TEST

/* Every prefix length class and a flipped byte in each region of the file: an error or (for a
 * byte the reader never looks at) the same layer, never a crash. */
static void damage(const char *file, const char *layer) {
  size_t len;
  unsigned char *b = read_bytes(path_of(file), &len);
  const char *p = tmp_path(file);
  const size_t cuts[] = {0, 3, 8, 100, len / 4, len / 2, len - 100, len - 1};
  for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
    write_bytes(p, b, cuts[i]);
    expect_load_error(p, layer, "");
  }
  for (size_t at = 0; at < len; at += len / 61 + 1) {
    unsigned char *c = malloc(len);
    memcpy(c, b, len);
    c[at] ^= 0x5a;
    write_bytes(p, c, len);
    conv1dt_layer *l = NULL;
    if (conv1dt_create_from_keras(p, layer, &l) == CONV1DT_OK)
      conv1dt_destroy(l);
    else
      ck_assert_msg(conv1dt_last_error()[0] != '\0', "no message for a flipped byte at %zu", at);
    free(c);
  }
  remove(p);
  free(b);
}

START_TEST(test_truncated_and_corrupted_archive) {
  damage("k3_seq.keras", "up");
}
END_TEST

START_TEST(test_truncated_and_corrupted_keras2_model) {
  damage("k2_seq.h5", "k2_up");
}
END_TEST

START_TEST(test_truncated_and_corrupted_hdf5) {
  size_t len;
  unsigned char *b = read_bytes(path_of("k3_func.weights.h5"), &len);
  const char *p = tmp_path("w.h5");
  conv1dt_layer *l = NULL;
  const size_t cuts[] = {0, 8, 512, len / 2, len - 1};
  for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
    write_bytes(p, b, cuts[i]);
    ck_assert_int_ne(conv1dt_create_from_keras_files(path_of("k3_func.json"), p, "outer_ct", &l),
                     CONV1DT_OK);
    ck_assert(l == NULL);
  }
  for (size_t at = 0; at < len; at += len / 41 + 1) {
    unsigned char *c = malloc(len);
    memcpy(c, b, len);
    c[at] ^= 0x5a;
    write_bytes(p, c, len);
    if (conv1dt_create_from_keras_files(path_of("k3_func.json"), p, "outer_ct", &l) == CONV1DT_OK)
      conv1dt_destroy(l);
    l = NULL;
    free(c);
  }
  remove(p);
  free(b);
}
END_TEST

/* Found by fuzzing: a global heap whose free-space entry has size 0 makes libhdf5 1.10 loop
 * forever; the reader refuses the file first. */
START_TEST(test_hdf5_heap_loop_refused) {
  conv1dt_layer *l = NULL;
  ck_assert_int_eq(conv1dt_create_from_keras_files(path_of("k3_func.json"),
                                                   path_of("damaged-heap-loop.h5"), "outer_ct", &l),
                   CONV1DT_ERROR_INVALID_VALUE);
  ck_assert_msg(strstr(conv1dt_last_error(), "corrupted HDF5 file: the global heap data at byte "
                                             "2048 holds an empty free-space entry"),
                "%s", conv1dt_last_error());
  ck_assert(l == NULL);
  /* ... and a string whose reference names an object the heap does not hold crashes it. */
  ck_assert_int_eq(conv1dt_create_from_keras_files(path_of("k3_func.json"),
                                                   path_of("damaged-heap-reference.h5"), "outer_ct",
                                                   &l),
                   CONV1DT_ERROR_INVALID_VALUE);
  ck_assert_msg(strstr(conv1dt_last_error(), "a string referring to an object the heap does not "
                                             "hold"),
                "%s", conv1dt_last_error());
  ck_assert(l == NULL);
}
END_TEST

/* The checks of damaged metadata let valid HDF5 through, beyond what Keras writes: soft links,
 * links in an object header, a two-level B-tree, chunked and compact datasets, attributes of
 * every type class (tests/keras/gen_hdf5_variety.py); the layer is k3_lone's. */
START_TEST(test_hdf5_variety_accepted) {
  json_object *c = json_tokener_parse(
      "{\"name\": \"hdf5_variety\", \"layer\": \"lone\", \"input\": \"k3_lone_x.npy\", "
      "\"expected\": \"k3_lone_y.npy\", \"dtype\": \"float32\", "
      "\"config\": \"k3_lone_layer.json\", \"weights\": \"hdf5_variety.weights.h5\"}");
  ck_assert(c != NULL);
  run_case(c);
  json_object_put(c);
}
END_TEST

/* Found by fuzzing, damage libhdf5 1.10 trusts in a group's metadata: an attribute message whose
 * parts are larger than the message (H5Aexists read freed memory) and a group whose local heap
 * address lies outside the file (H5Lvisit wrote through NULL). Both refused before libhdf5 reads
 * them, naming the file and the damaged structure. */
START_TEST(test_hdf5_damaged_metadata_refused) {
  static const struct {
    const char *file, *needle;
  } cases[] = {
      {"damaged-attribute-message.h5",
       "corrupted HDF5 file: the attribute message at byte 1856 states parts larger than the "
       "message"},
      {"damaged-group-heap-address.h5",
       "corrupted HDF5 file: the pointer to a local heap at byte 128 leads outside the file"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    conv1dt_layer *l = NULL;
    ck_assert_int_eq(conv1dt_create_from_keras_files(path_of("k3_func.json"),
                                                     path_of(cases[i].file), "outer_ct", &l),
                     CONV1DT_ERROR_INVALID_VALUE);
    ck_assert_msg(strstr(conv1dt_last_error(), cases[i].file), "%s", conv1dt_last_error());
    ck_assert_msg(strstr(conv1dt_last_error(), cases[i].needle), "%s", conv1dt_last_error());
    ck_assert(l == NULL);
  }
}
END_TEST

/* A .keras archive whose stored model.weights.h5 starts at byte 4096, where an HDF5 file with
 * a user block would have its signature: still an archive (written by Keras 3.15.1). */
START_TEST(test_archive_with_hdf5_at_user_block_offset) {
  conv1dt_layer *l = NULL;
  ck_assert_msg(conv1dt_create_from_keras(path_of("k3_hdf5_signature_at_4096.keras"), "up", &l) ==
                    CONV1DT_OK,
                "%s", conv1dt_last_error());
  int64_t c;
  conv1dt_dtype dt;
  conv1dt_config cfg;
  ck_assert_int_eq(conv1dt_get_config(l, &cfg, &c, &dt), CONV1DT_OK);
  ck_assert(c == 128 && cfg.filters == 64 && cfg.kernel_size == 3 && cfg.strides == 2 &&
            dt == CONV1DT_FLOAT64);
  conv1dt_destroy(l);
}
END_TEST

START_TEST(test_layer_names) {
  char buf[256];
  int64_t n = -1;
  ck_assert_int_eq(conv1dt_keras_layer_names(path_of("k3_func.keras"), buf, sizeof buf, &n),
                   CONV1DT_OK);
  ck_assert_int_eq(n, 2);
  ck_assert_str_eq(buf, "inner_ct\nouter_ct\n");
  ck_assert_int_eq(conv1dt_keras_layer_names(path_of("k3_seq.keras"), NULL, 0, &n), CONV1DT_OK);
  ck_assert_int_eq(n, 2);
  strcpy(buf, "untouched");
  ck_assert_int_eq(conv1dt_keras_layer_names(path_of("k3_func.keras"), buf, 5, &n),
                   CONV1DT_ERROR_BUFFER_TOO_SMALL);
  ck_assert_str_eq(buf, "untouched");
}
END_TEST

/* ---- saving ------------------------------------------------------------------------------------
 */

/* A layer saved and loaded back has the same configuration and the same weights, bit for bit. */
static void expect_round_trip(const conv1dt_config *cfg, int64_t c, conv1dt_dtype dt,
                              const char *name) {
  conv1dt_layer *a = NULL, *b = NULL;
  ck_assert_int_eq(conv1dt_create(cfg, c, dt, &a), CONV1DT_OK);
  const char *p = tmp_path("rt.keras");
  ck_assert_msg(conv1dt_save_keras(a, name, p) == CONV1DT_OK, "%s", conv1dt_last_error());
  ck_assert_msg(conv1dt_create_from_keras(p, name ? name : "conv1d_transpose", &b) == CONV1DT_OK,
                "%s", conv1dt_last_error());
  conv1dt_config ca, cb;
  int64_t c2;
  conv1dt_dtype d2;
  ck_assert_int_eq(conv1dt_get_config(a, &ca, NULL, NULL), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_get_config(b, &cb, &c2, &d2), CONV1DT_OK);
  ck_assert(c2 == c && d2 == dt);
  ck_assert(ca.filters == cb.filters && ca.kernel_size == cb.kernel_size &&
            ca.strides == cb.strides && ca.output_padding == cb.output_padding &&
            ca.dilation_rate == cb.dilation_rate && ca.padding == cb.padding &&
            ca.data_format == cb.data_format && ca.use_bias == cb.use_bias);
  ck_assert_str_eq(ca.activation, cb.activation);
  ck_assert(memcmp(&ca.kernel_initializer, &cb.kernel_initializer, sizeof ca.kernel_initializer) ==
            0);
  ck_assert(memcmp(&ca.bias_initializer, &cb.bias_initializer, sizeof ca.bias_initializer) == 0);
  ck_assert(ca.kernel_regularizer.kind == cb.kernel_regularizer.kind &&
            ca.kernel_regularizer.l1 == cb.kernel_regularizer.l1 &&
            ca.kernel_regularizer.l2 == cb.kernel_regularizer.l2);
  ck_assert(ca.activity_regularizer.kind == cb.activity_regularizer.kind);
  ck_assert(ca.kernel_constraint.kind == cb.kernel_constraint.kind &&
            ca.kernel_constraint.num_axes == cb.kernel_constraint.num_axes &&
            ca.kernel_constraint.max_value == cb.kernel_constraint.max_value &&
            ca.kernel_constraint.min_value == cb.kernel_constraint.min_value &&
            ca.kernel_constraint.rate == cb.kernel_constraint.rate);
  for (int i = 0; i < ca.kernel_constraint.num_axes; i++)
    ck_assert(ca.kernel_constraint.axes[i] == cb.kernel_constraint.axes[i]);
  ck_assert(ca.bias_constraint.kind == cb.bias_constraint.kind);
  const size_t item = dt == CONV1DT_FLOAT32 ? 4 : 8;
  const size_t kn = (size_t)(cfg->kernel_size * cfg->filters * c) * item;
  void *ka = malloc(kn), *kb = malloc(kn), *ba = malloc((size_t)cfg->filters * item),
       *bb = malloc((size_t)cfg->filters * item);
  ck_assert_int_eq(conv1dt_get_weights(a, ka, ba), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_get_weights(b, kb, bb), CONV1DT_OK);
  ck_assert(memcmp(ka, kb, kn) == 0);
  if (cfg->use_bias) ck_assert(memcmp(ba, bb, (size_t)cfg->filters * item) == 0);
  free(ka);
  free(kb);
  free(ba);
  free(bb);
  remove(p);
  conv1dt_destroy(a);
  conv1dt_destroy(b);
}

START_TEST(test_save_round_trip) {
  conv1dt_config c = conv1dt_config_default(4, 3);
  expect_round_trip(&c, 2, CONV1DT_FLOAT32, NULL);
  c.strides = 3;
  c.output_padding = 2;
  c.padding = CONV1DT_PADDING_SAME;
  c.data_format = CONV1DT_CHANNELS_FIRST;
  c.activation = "hard_silu";
  c.seed = 9;
  ck_assert_int_eq(conv1dt_initializer_from_name("variance_scaling", &c.kernel_initializer),
                   CONV1DT_OK);
  c.kernel_initializer.scale = 0.5;
  c.kernel_initializer.mode = CONV1DT_FAN_OUT;
  c.kernel_initializer.distribution = CONV1DT_DIST_UNIFORM;
  c.kernel_initializer.seed = 12;
  c.kernel_initializer.has_seed = true;
  ck_assert_int_eq(conv1dt_initializer_from_name("random_uniform", &c.bias_initializer),
                   CONV1DT_OK);
  ck_assert_int_eq(conv1dt_regularizer_from_name("L1L2", &c.kernel_regularizer), CONV1DT_OK);
  c.kernel_regularizer.l1 = 0.25;
  c.kernel_regularizer.l2 = 0.125;
  ck_assert_int_eq(conv1dt_regularizer_from_name("l2", &c.activity_regularizer), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_constraint_from_name("MinMaxNorm", &c.kernel_constraint), CONV1DT_OK);
  c.kernel_constraint.num_axes = 2;
  c.kernel_constraint.axes[0] = 0;
  c.kernel_constraint.axes[1] = -1;
  c.kernel_constraint.min_value = 0.5;
  ck_assert_int_eq(conv1dt_constraint_from_name("non_neg", &c.bias_constraint), CONV1DT_OK);
  expect_round_trip(&c, 5, CONV1DT_FLOAT64, "my_layer");
  c = conv1dt_config_default(2, 2);
  c.use_bias = false;
  c.dilation_rate = 2;
  c.activation = "glu";
  expect_round_trip(&c, 3, CONV1DT_FLOAT32, "no_bias");
}
END_TEST

START_TEST(test_save_errors) {
  conv1dt_config c = conv1dt_config_default(2, 2);
  conv1dt_layer *a = NULL;
  ck_assert_int_eq(conv1dt_create(&c, 1, CONV1DT_FLOAT32, &a), CONV1DT_OK);
  ck_assert_int_eq(conv1dt_save_keras(a, "a/b", tmp_path("x.keras")), CONV1DT_ERROR_INVALID_VALUE);
  ck_assert(strstr(conv1dt_last_error(), "layer_name 'a/b'"));
  ck_assert_int_eq(conv1dt_save_keras(a, "", tmp_path("x.keras")), CONV1DT_ERROR_INVALID_VALUE);
  ck_assert_int_eq(conv1dt_save_keras(a, NULL, "/nonexistent-dir/x.keras"),
                   CONV1DT_ERROR_INVALID_VALUE);
  ck_assert(strstr(conv1dt_last_error(), "cannot write '/nonexistent-dir/x.keras'"));
  ck_assert_int_eq(conv1dt_save_keras(NULL, NULL, "x"), CONV1DT_ERROR_NULL_ARGUMENT);
  FILE *f = fopen(tmp_path("x.keras"), "rb");
  ck_assert(f == NULL);
  conv1dt_destroy(a);
}
END_TEST

int main(void) {
  Suite *s = suite_create("keras_files");
  TCase *tc = tcase_create("keras_files");
  tcase_set_timeout(tc, 120);
  tcase_add_test(tc, test_keras3_cases);
  tcase_add_test(tc, test_keras2_cases);
  tcase_add_test(tc, test_config_fields_from_keras3);
  tcase_add_test(tc, test_config_forms);
  tcase_add_test(tc, test_config_errors);
  tcase_add_test(tc, test_file_errors);
  tcase_add_test(tc, test_truncated_and_corrupted_archive);
  tcase_add_test(tc, test_truncated_and_corrupted_hdf5);
  tcase_add_test(tc, test_truncated_and_corrupted_keras2_model);
  tcase_add_test(tc, test_hdf5_heap_loop_refused);
  tcase_add_test(tc, test_hdf5_damaged_metadata_refused);
  tcase_add_test(tc, test_hdf5_variety_accepted);
  tcase_add_test(tc, test_archive_with_hdf5_at_user_block_offset);
  tcase_add_test(tc, test_layer_names);
  tcase_add_test(tc, test_save_round_trip);
  tcase_add_test(tc, test_save_errors);
  suite_add_tcase(s, tc);
  return run_suite(s);
}
