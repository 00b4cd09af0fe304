/* The public Keras calls: read the files, tell their formats apart by their first bytes (never by
 * their names: tf.keras wrote HDF5 under a .keras name), take the configuration from the JSON
 * and the weights from the HDF5, check them against each other, and build the layer. */
#include "internal.h"
#include "keras.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

conv1dt__keras_format conv1dt__keras_sniff(const void *data, size_t size) {
  static const unsigned char hdf5[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  const unsigned char *p = data;
  /* A zip first: a .keras archive stores its HDF5 entry uncompressed, so HDF5's signature can
   * sit inside it at one of the offsets below. */
  if (size >= 4 && memcmp(p, "PK\003\004", 4) == 0) return CONV1DT__KERAS_ZIP;
  /* HDF5's signature sits at 0 or, after a user block, at 512, 1024, 2048, ... */
  for (size_t at = 0; at <= size && size - at >= 8; at = at ? at * 2 : 512)
    if (memcmp(p + at, hdf5, 8) == 0) return CONV1DT__KERAS_HDF5;
  for (size_t i = 0; i < size; i++) {
    if (p[i] == '{') return CONV1DT__KERAS_JSON;
    if (p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') break;
  }
  return CONV1DT__KERAS_UNKNOWN;
}

/* Reads a whole file into a malloc'ed, NUL-terminated buffer. */
static conv1dt_status read_file(const char *what, const char *path, char **data, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE, "%s: cannot open '%s': %s", what, path,
                         strerror(errno));
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  conv1dt_status st = CONV1DT_OK;
  while (buf) {
    n += fread(buf + n, 1, cap - n - 1, f);
    if (ferror(f)) {
      st = conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE, "%s: cannot read '%s'", what, path);
      break;
    }
    if (feof(f)) break;
    if (cap > SIZE_MAX / 2) {
      st = conv1dt__fail(CONV1DT_ERROR_SIZE_OVERFLOW, "%s: '%s' is too large", what, path);
      break;
    }
    char *bigger = realloc(buf, cap * 2);
    if (!bigger) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = bigger;
    cap *= 2;
  }
  fclose(f);
  if (!buf)
    return conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY, "%s: out of memory reading '%s'", what, path);
  if (st != CONV1DT_OK) {
    free(buf);
    return st;
  }
  buf[n] = '\0';
  *data = buf;
  *len = n;
  return CONV1DT_OK;
}

/* Prefixes the thread's message with the file it is about. */
static conv1dt_status about(conv1dt_status st, const char *path) {
  if (st == CONV1DT_OK) return st;
  char msg[512];
  snprintf(msg, sizeof msg, "%s", conv1dt_last_error());
  return conv1dt__fail(st, "%s: %s", path, msg);
}

static const char *format_name(conv1dt__keras_format f) {
  return f == CONV1DT__KERAS_HDF5 ? "HDF5" : f == CONV1DT__KERAS_ZIP ? "a zip archive" : "JSON";
}

/* The config JSON a file holds: itself, the archive's config.json or Keras 2's model_config. */
static conv1dt_status config_of(const char *path, char *data, size_t len, char **json,
                                size_t *jlen) {
  switch (conv1dt__keras_sniff(data, len)) {
  case CONV1DT__KERAS_JSON:
    *json = data;
    *jlen = len;
    return CONV1DT_OK;
  case CONV1DT__KERAS_ZIP:
    return about(conv1dt__keras_zip_entry(data, len, "config.json", (void **)json, jlen), path);
  case CONV1DT__KERAS_HDF5:
    return about(conv1dt__keras_h5_model_config(data, len, json, jlen), path);
  default:
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "%s: not a Keras file (neither a .keras archive, HDF5 nor JSON)", path);
  }
}

/* The HDF5 image holding the weights: the file itself or the archive's model.weights.h5. */
static conv1dt_status weights_of(const char *path, char *data, size_t len, char **h5,
                                 size_t *hlen) {
  conv1dt__keras_format f = conv1dt__keras_sniff(data, len);
  if (f == CONV1DT__KERAS_HDF5) {
    *h5 = data;
    *hlen = len;
    return CONV1DT_OK;
  }
  if (f == CONV1DT__KERAS_ZIP)
    return about(conv1dt__keras_zip_entry(data, len, "model.weights.h5", (void **)h5, hlen), path);
  return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                       "%s: holds no Keras weights (%s; expected HDF5 or a .keras archive)", path,
                       f == CONV1DT__KERAS_UNKNOWN ? "not a Keras file" : format_name(f));
}

/* Builds the layer from a config JSON and an HDF5 weights image. */
static conv1dt_status build(const char *json, size_t jlen, const char *h5, size_t hlen,
                            const char *weights_path, const char *layer_name, conv1dt_layer **out) {
  conv1dt__keras_layer kl;
  CONV1DT_CHECK(conv1dt__keras_parse_config(json, jlen, layer_name, &kl));
  conv1dt__keras_weights w;
  CONV1DT_CHECK(
      about(conv1dt__keras_h5_weights(h5, hlen, kl.name, kl.h5_path, kl.dtype, &w), weights_path));
  conv1dt_status st = CONV1DT_OK;
  const conv1dt_config *cfg = &kl.cfg;
  if (w.kshape[0] != cfg->kernel_size || w.kshape[1] != cfg->filters)
    st =
        conv1dt__fail(CONV1DT_ERROR_SHAPE_MISMATCH,
                      "layer '%s': the kernel in the weights has shape (%lld, %lld, %lld) but the "
                      "config says kernel_size %lld and filters %lld",
                      kl.name, (long long)w.kshape[0], (long long)w.kshape[1],
                      (long long)w.kshape[2], (long long)cfg->kernel_size, (long long)cfg->filters);
  else if (cfg->use_bias && w.bias_len < 0)
    st = conv1dt__fail(CONV1DT_ERROR_SHAPE_MISMATCH,
                       "layer '%s': the config has use_bias true but the weights hold no bias",
                       kl.name);
  else if (cfg->use_bias && w.bias_len != cfg->filters)
    st = conv1dt__fail(CONV1DT_ERROR_SHAPE_MISMATCH,
                       "layer '%s': the bias in the weights has %lld values; expected filters = "
                       "%lld",
                       kl.name, (long long)w.bias_len, (long long)cfg->filters);
  else if (!cfg->use_bias && w.bias_len >= 0)
    st = conv1dt__fail(CONV1DT_ERROR_SHAPE_MISMATCH,
                       "layer '%s': the config has use_bias false but the weights hold a bias",
                       kl.name);
  conv1dt_layer *layer = NULL;
  if (st == CONV1DT_OK) st = conv1dt_create(cfg, w.kshape[2], kl.dtype, &layer);
  if (st == CONV1DT_OK) st = conv1dt_set_weights(layer, w.kernel, cfg->use_bias ? w.bias : NULL);
  conv1dt__keras_weights_free(&w);
  if (st != CONV1DT_OK) {
    conv1dt_destroy(layer);
    return st;
  }
  *out = layer;
  return CONV1DT_OK;
}

conv1dt_status conv1dt_config_from_keras_json(const char *json, size_t length,
                                              const char *layer_name, conv1dt_config *cfg,
                                              conv1dt_dtype *dtype) {
  CONV1DT_REQUIRE_PTR(json, "conv1dt_config_from_keras_json");
  conv1dt__keras_layer kl;
  CONV1DT_CHECK(conv1dt__keras_parse_config(json, length, layer_name, &kl));
  if (cfg) *cfg = kl.cfg;
  if (dtype) *dtype = kl.dtype;
  return CONV1DT_OK;
}

conv1dt_status conv1dt_create_from_keras_files(const char *config_path, const char *weights_path,
                                               const char *layer_name, conv1dt_layer **out) {
  CONV1DT_REQUIRE_PTR(config_path, "conv1dt_create_from_keras_files");
  CONV1DT_REQUIRE_PTR(weights_path, "conv1dt_create_from_keras_files");
  CONV1DT_REQUIRE_PTR(out, "conv1dt_create_from_keras_files");
  char *cdata = NULL, *wdata = NULL, *json = NULL, *h5 = NULL;
  size_t clen, wlen, jlen, hlen;
  conv1dt_status st = read_file("Keras config", config_path, &cdata, &clen);
  if (st == CONV1DT_OK) st = read_file("Keras weights", weights_path, &wdata, &wlen);
  if (st == CONV1DT_OK) st = config_of(config_path, cdata, clen, &json, &jlen);
  if (st == CONV1DT_OK) st = weights_of(weights_path, wdata, wlen, &h5, &hlen);
  if (st == CONV1DT_OK) st = build(json, jlen, h5, hlen, weights_path, layer_name, out);
  if (json != cdata) free(json);
  if (h5 != wdata) free(h5);
  free(cdata);
  free(wdata);
  return st;
}

conv1dt_status conv1dt_create_from_keras(const char *path, const char *layer_name,
                                         conv1dt_layer **out) {
  CONV1DT_REQUIRE_PTR(path, "conv1dt_create_from_keras");
  CONV1DT_REQUIRE_PTR(out, "conv1dt_create_from_keras");
  char *data = NULL, *json = NULL, *h5 = NULL;
  size_t len, jlen, hlen;
  conv1dt_status st = read_file("Keras model", path, &data, &len);
  if (st == CONV1DT_OK && conv1dt__keras_sniff(data, len) == CONV1DT__KERAS_JSON)
    st = conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                       "%s: a config without weights; give the weights file too "
                       "(conv1dt_create_from_keras_files)",
                       path);
  if (st == CONV1DT_OK) st = config_of(path, data, len, &json, &jlen);
  if (st == CONV1DT_OK) st = weights_of(path, data, len, &h5, &hlen);
  if (st == CONV1DT_OK) st = build(json, jlen, h5, hlen, path, layer_name, out);
  if (json != data) free(json);
  if (h5 != data) free(h5);
  free(data);
  return st;
}

conv1dt_status conv1dt_keras_layer_names(const char *path, char *buffer, size_t size,
                                         int64_t *count) {
  CONV1DT_REQUIRE_PTR(path, "conv1dt_keras_layer_names");
  CONV1DT_REQUIRE_PTR(count, "conv1dt_keras_layer_names");
  char *data = NULL, *json = NULL;
  size_t len, jlen;
  conv1dt_status st = read_file("Keras file", path, &data, &len);
  if (st == CONV1DT_OK) st = config_of(path, data, len, &json, &jlen);
  int64_t n = 0;
  if (st == CONV1DT_OK) st = conv1dt__keras_list_layers(json, jlen, buffer, size, &n);
  if (json != data) free(json);
  free(data);
  if (st == CONV1DT_OK) *count = n;
  return st;
}
