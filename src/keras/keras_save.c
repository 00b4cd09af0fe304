/* conv1dt_save_keras: a layer as a Keras 3 .keras archive that keras.saving.load_model reads —
 * a Sequential model of an InputLayer and the Conv1DTranspose, laid out as Keras 3's saving_lib
 * writes it: metadata.json, config.json (the layer's get_config() in Keras 3's serialized forms)
 * and model.weights.h5 (layers/conv1d_transpose/vars/{0,1}, each "vars" group named by its
 * "name" attribute). The HDF5 file is built in memory (libhdf5's core driver, no backing
 * store); libzip writes the archive to a temporary beside `path` and renames it into place on
 * success, so a failed save leaves no file. */
#include "internal.h"
#include "keras.h"

#include <hdf5.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

/* ---- config.json ----------------------------------------------------------------------------- */

/* {"module": module, "class_name": cls, "config": config, "registered_name": null} */
static json_object *serialized(const char *module, const char *cls, json_object *config) {
  json_object *o = json_object_new_object();
  json_object_object_add(o, "module", json_object_new_string(module));
  json_object_object_add(o, "class_name", json_object_new_string(cls));
  json_object_object_add(o, "config", config ? config : json_object_new_object());
  json_object_object_add(o, "registered_name", NULL);
  return o;
}

static json_object *seed_of(const conv1dt_initializer *i) {
  return i->has_seed ? json_object_new_uint64(i->seed) : NULL;
}

static json_object *initializer(const conv1dt_initializer *i) {
  static const char *const names[] = {[CONV1DT_INIT_ZEROS] = "Zeros",
                                      [CONV1DT_INIT_ONES] = "Ones",
                                      [CONV1DT_INIT_CONSTANT] = "Constant",
                                      [CONV1DT_INIT_RANDOM_UNIFORM] = "RandomUniform",
                                      [CONV1DT_INIT_RANDOM_NORMAL] = "RandomNormal",
                                      [CONV1DT_INIT_TRUNCATED_NORMAL] = "TruncatedNormal",
                                      [CONV1DT_INIT_VARIANCE_SCALING] = "VarianceScaling",
                                      [CONV1DT_INIT_GLOROT_UNIFORM] = "GlorotUniform",
                                      [CONV1DT_INIT_GLOROT_NORMAL] = "GlorotNormal",
                                      [CONV1DT_INIT_HE_UNIFORM] = "HeUniform",
                                      [CONV1DT_INIT_HE_NORMAL] = "HeNormal",
                                      [CONV1DT_INIT_LECUN_UNIFORM] = "LecunUniform",
                                      [CONV1DT_INIT_LECUN_NORMAL] = "LecunNormal",
                                      [CONV1DT_INIT_ORTHOGONAL] = "OrthogonalInitializer",
                                      [CONV1DT_INIT_IDENTITY] = "IdentityInitializer"};
  json_object *c = json_object_new_object();
  switch (i->kind) {
  case CONV1DT_INIT_ZEROS:
  case CONV1DT_INIT_ONES:
    break;
  case CONV1DT_INIT_CONSTANT:
    json_object_object_add(c, "value", json_object_new_double(i->value));
    break;
  case CONV1DT_INIT_RANDOM_UNIFORM:
    json_object_object_add(c, "minval", json_object_new_double(i->minval));
    json_object_object_add(c, "maxval", json_object_new_double(i->maxval));
    json_object_object_add(c, "seed", seed_of(i));
    break;
  case CONV1DT_INIT_RANDOM_NORMAL:
  case CONV1DT_INIT_TRUNCATED_NORMAL:
    json_object_object_add(c, "mean", json_object_new_double(i->mean));
    json_object_object_add(c, "stddev", json_object_new_double(i->stddev));
    json_object_object_add(c, "seed", seed_of(i));
    break;
  case CONV1DT_INIT_VARIANCE_SCALING:
    json_object_object_add(c, "scale", json_object_new_double(i->scale));
    json_object_object_add(c, "mode",
                           json_object_new_string(i->mode == CONV1DT_FAN_IN    ? "fan_in"
                                                  : i->mode == CONV1DT_FAN_OUT ? "fan_out"
                                                                               : "fan_avg"));
    json_object_object_add(
        c, "distribution",
        json_object_new_string(i->distribution == CONV1DT_DIST_TRUNCATED_NORMAL ? "truncated_normal"
                               : i->distribution == CONV1DT_DIST_UNTRUNCATED_NORMAL
                                   ? "untruncated_normal"
                                   : "uniform"));
    json_object_object_add(c, "seed", seed_of(i));
    break;
  case CONV1DT_INIT_ORTHOGONAL:
    json_object_object_add(c, "gain", json_object_new_double(i->gain));
    json_object_object_add(c, "seed", seed_of(i));
    break;
  case CONV1DT_INIT_IDENTITY:
    json_object_object_add(c, "gain", json_object_new_double(i->gain));
    break;
  default: /* glorot, he, lecun: only the seed */
    json_object_object_add(c, "seed", seed_of(i));
    break;
  }
  return serialized("keras.initializers", names[i->kind], c);
}

static json_object *regularizer(const conv1dt_regularizer *r) {
  json_object *c = json_object_new_object();
  switch (r->kind) {
  case CONV1DT_REG_NONE:
    json_object_put(c);
    return NULL;
  case CONV1DT_REG_L1:
    json_object_object_add(c, "l1", json_object_new_double(r->l1));
    return serialized("keras.regularizers", "L1", c);
  case CONV1DT_REG_L2:
    json_object_object_add(c, "l2", json_object_new_double(r->l2));
    return serialized("keras.regularizers", "L2", c);
  case CONV1DT_REG_L1L2:
    json_object_object_add(c, "l1", json_object_new_double(r->l1));
    json_object_object_add(c, "l2", json_object_new_double(r->l2));
    return serialized("keras.regularizers", "L1L2", c);
  case CONV1DT_REG_ORTHOGONAL:
    json_object_object_add(c, "factor", json_object_new_double(r->factor));
    json_object_object_add(c, "mode", json_object_new_string(r->mode_columns ? "columns" : "rows"));
    return serialized("keras.regularizers", "OrthogonalRegularizer", c);
  }
  json_object_put(c);
  return NULL;
}

static json_object *axes_of(const conv1dt_constraint *k) {
  if (k->num_axes == 0) return NULL; /* axis=None: the whole weight */
  json_object *a = json_object_new_array();
  for (int i = 0; i < k->num_axes; i++) json_object_array_add(a, json_object_new_int(k->axes[i]));
  return a;
}

static json_object *constraint(const conv1dt_constraint *k) {
  json_object *c = json_object_new_object();
  switch (k->kind) {
  case CONV1DT_CONSTRAINT_NONE:
    json_object_put(c);
    return NULL;
  case CONV1DT_CONSTRAINT_MAX_NORM:
    json_object_object_add(c, "max_value", json_object_new_double(k->max_value));
    json_object_object_add(c, "axis", axes_of(k));
    return serialized("keras.constraints", "MaxNorm", c);
  case CONV1DT_CONSTRAINT_MIN_MAX_NORM:
    json_object_object_add(c, "min_value", json_object_new_double(k->min_value));
    json_object_object_add(c, "max_value", json_object_new_double(k->max_value));
    json_object_object_add(c, "rate", json_object_new_double(k->rate));
    json_object_object_add(c, "axis", axes_of(k));
    return serialized("keras.constraints", "MinMaxNorm", c);
  case CONV1DT_CONSTRAINT_UNIT_NORM:
    json_object_object_add(c, "axis", axes_of(k));
    return serialized("keras.constraints", "UnitNorm", c);
  case CONV1DT_CONSTRAINT_NON_NEG:
    return serialized("keras.constraints", "NonNeg", c);
  }
  json_object_put(c);
  return NULL;
}

static json_object *int_list(int64_t v) {
  json_object *a = json_object_new_array();
  json_object_array_add(a, json_object_new_int64(v));
  return a;
}

static json_object *dtype_policy(conv1dt_dtype dtype) {
  json_object *c = json_object_new_object();
  json_object_object_add(c, "name",
                         json_object_new_string(dtype == CONV1DT_FLOAT32 ? "float32" : "float64"));
  return serialized("keras", "DTypePolicy", c);
}

static json_object *layer_config(const conv1dt_config *cfg, const char *name, conv1dt_dtype dtype) {
  json_object *c = json_object_new_object();
  json_object_object_add(c, "name", json_object_new_string(name));
  json_object_object_add(c, "trainable", json_object_new_boolean(1));
  json_object_object_add(c, "dtype", dtype_policy(dtype));
  json_object_object_add(c, "filters", json_object_new_int64(cfg->filters));
  json_object_object_add(c, "kernel_size", int_list(cfg->kernel_size));
  json_object_object_add(c, "strides", int_list(cfg->strides));
  json_object_object_add(
      c, "padding",
      json_object_new_string(cfg->padding == CONV1DT_PADDING_SAME ? "same" : "valid"));
  json_object_object_add(
      c, "output_padding",
      cfg->output_padding == CONV1DT_OUTPUT_PADDING_NONE ? NULL : int_list(cfg->output_padding));
  json_object_object_add(c, "data_format",
                         json_object_new_string(cfg->data_format == CONV1DT_CHANNELS_LAST
                                                    ? "channels_last"
                                                    : "channels_first"));
  json_object_object_add(c, "dilation_rate", int_list(cfg->dilation_rate));
  json_object_object_add(c, "activation",
                         json_object_new_string(cfg->activation ? cfg->activation : "linear"));
  json_object_object_add(c, "use_bias", json_object_new_boolean(cfg->use_bias));
  json_object_object_add(c, "kernel_initializer", initializer(&cfg->kernel_initializer));
  json_object_object_add(c, "bias_initializer", initializer(&cfg->bias_initializer));
  json_object_object_add(c, "kernel_regularizer", regularizer(&cfg->kernel_regularizer));
  json_object_object_add(c, "bias_regularizer", regularizer(&cfg->bias_regularizer));
  json_object_object_add(c, "activity_regularizer", regularizer(&cfg->activity_regularizer));
  json_object_object_add(c, "kernel_constraint", constraint(&cfg->kernel_constraint));
  json_object_object_add(c, "bias_constraint", constraint(&cfg->bias_constraint));
  return c;
}

/* (None, None, C) or (None, C, None): any batch and any number of steps. */
static json_object *input_shape(const conv1dt_config *cfg, int64_t in_channels) {
  json_object *a = json_object_new_array();
  json_object_array_add(a, NULL);
  if (cfg->data_format == CONV1DT_CHANNELS_FIRST) {
    json_object_array_add(a, json_object_new_int64(in_channels));
    json_object_array_add(a, NULL);
  } else {
    json_object_array_add(a, NULL);
    json_object_array_add(a, json_object_new_int64(in_channels));
  }
  return a;
}

static json_object *build_config(json_object *shape) {
  json_object *b = json_object_new_object();
  json_object_object_add(b, "input_shape", json_object_get(shape));
  return b;
}

static char *model_json(const conv1dt_config *cfg, int64_t in_channels, conv1dt_dtype dtype,
                        const char *name) {
  json_object *shape = input_shape(cfg, in_channels);
  json_object *input = json_object_new_object();
  json_object_object_add(input, "batch_shape", json_object_get(shape));
  json_object_object_add(input, "dtype",
                         json_object_new_string(dtype == CONV1DT_FLOAT32 ? "float32" : "float64"));
  json_object_object_add(input, "sparse", json_object_new_boolean(0));
  json_object_object_add(input, "ragged", json_object_new_boolean(0));
  json_object_object_add(input, "name", json_object_new_string("input_layer"));
  json_object *layer =
      serialized("keras.layers", "Conv1DTranspose", layer_config(cfg, name, dtype));
  json_object_object_add(layer, "build_config", build_config(shape));
  json_object *layers = json_object_new_array();
  json_object_array_add(layers, serialized("keras.layers", "InputLayer", input));
  json_object_array_add(layers, layer);
  json_object *mc = json_object_new_object();
  json_object_object_add(mc, "name", json_object_new_string("sequential"));
  json_object_object_add(mc, "trainable", json_object_new_boolean(1));
  json_object_object_add(mc, "dtype", dtype_policy(dtype));
  json_object_object_add(mc, "layers", layers);
  json_object_object_add(mc, "build_input_shape", json_object_get(shape));
  json_object *model = serialized("keras", "Sequential", mc);
  json_object_object_add(model, "build_config", build_config(shape));
  json_object_object_add(model, "compile_config", NULL);
  json_object_put(shape);
  const char *text = json_object_to_json_string_ext(model, JSON_C_TO_STRING_SPACED);
  const size_t len = text ? strlen(text) : 0;
  char *copy = text ? malloc(len + 1) : NULL;
  if (copy) memcpy(copy, text, len + 1);
  json_object_put(model);
  return copy;
}

/* ---- model.weights.h5 ------------------------------------------------------------------------ */

/* A variable-length UTF-8 string attribute, as h5py writes a Python str. */
static bool name_attr(hid_t obj, const char *value) {
  hid_t type = H5Tcopy(H5T_C_S1), space = H5Screate(H5S_SCALAR);
  bool ok = type >= 0 && space >= 0 && H5Tset_size(type, H5T_VARIABLE) >= 0 &&
            H5Tset_cset(type, H5T_CSET_UTF8) >= 0;
  if (ok) {
    hid_t attr = H5Acreate2(obj, "name", type, space, H5P_DEFAULT, H5P_DEFAULT);
    ok = attr >= 0 && H5Awrite(attr, type, &value) >= 0;
    if (attr >= 0) H5Aclose(attr);
  }
  if (space >= 0) H5Sclose(space);
  if (type >= 0) H5Tclose(type);
  return ok;
}

static bool write_dataset(hid_t group, const char *name, int rank, const hsize_t *dims,
                          conv1dt_dtype dtype, const void *data) {
  hid_t space = H5Screate_simple(rank, dims, NULL);
  if (space < 0) return false;
  hid_t file_type = dtype == CONV1DT_FLOAT32 ? H5T_IEEE_F32LE : H5T_IEEE_F64LE;
  hid_t mem_type = dtype == CONV1DT_FLOAT32 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE;
  hid_t ds = H5Dcreate2(group, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  bool ok = ds >= 0 && H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0;
  if (ds >= 0) H5Dclose(ds);
  H5Sclose(space);
  return ok;
}

static bool write_weights(hid_t file, const char *name, const conv1dt_config *cfg,
                          int64_t in_channels, conv1dt_dtype dtype, const void *kernel,
                          const void *bias) {
  hid_t layers = H5Gcreate2(file, "layers", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  hid_t layer = layers >= 0
                    ? H5Gcreate2(layers, "conv1d_transpose", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)
                    : -1;
  hid_t vars = layer >= 0 ? H5Gcreate2(layer, "vars", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT) : -1;
  hid_t model_vars = H5Gcreate2(file, "vars", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  const hsize_t kdims[3] = {(hsize_t)cfg->kernel_size, (hsize_t)cfg->filters, (hsize_t)in_channels};
  const hsize_t bdims[1] = {(hsize_t)cfg->filters};
  bool ok = vars >= 0 && model_vars >= 0 && name_attr(vars, name) &&
            name_attr(model_vars, "sequential") &&
            write_dataset(vars, "0", 3, kdims, dtype, kernel) &&
            (!cfg->use_bias || write_dataset(vars, "1", 1, bdims, dtype, bias));
  if (model_vars >= 0) H5Gclose(model_vars);
  if (vars >= 0) H5Gclose(vars);
  if (layer >= 0) H5Gclose(layer);
  if (layers >= 0) H5Gclose(layers);
  return ok;
}

/* The weights file's bytes (malloc'ed). */
static conv1dt_status weights_image(const char *name, const conv1dt_config *cfg,
                                    int64_t in_channels, conv1dt_dtype dtype, const void *kernel,
                                    const void *bias, void **image, size_t *size) {
  H5E_auto2_t func;
  void *data;
  H5Eget_auto2(H5E_DEFAULT, &func, &data);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  conv1dt_status st = CONV1DT_OK;
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  hid_t file = -1;
  if (fapl >= 0 && H5Pset_fapl_core(fapl, 1 << 16, 0) >= 0)
    file = H5Fcreate("conv1dt-keras-save.h5", H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
  if (fapl >= 0) H5Pclose(fapl);
  if (file < 0) {
    st = conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY, "cannot create the weights file in memory");
  } else {
    ssize_t n = -1;
    if (write_weights(file, name, cfg, in_channels, dtype, kernel, bias) &&
        H5Fflush(file, H5F_SCOPE_GLOBAL) >= 0)
      n = H5Fget_file_image(file, NULL, 0);
    void *buf = n > 0 ? malloc((size_t)n) : NULL;
    if (!buf || H5Fget_file_image(file, buf, (size_t)n) != n) {
      free(buf);
      st = conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY, "cannot write the weights in memory");
    } else {
      *image = buf;
      *size = (size_t)n;
    }
    H5Fclose(file);
  }
  H5Eset_auto2(H5E_DEFAULT, func, data);
  return st;
}

/* ---- the archive ------------------------------------------------------------------------------
 */

static bool add_entry(zip_t *za, const char *name, const void *data, size_t len) {
  zip_source_t *src = zip_source_buffer(za, data, len, 0);
  if (!src) return false;
  zip_int64_t idx = zip_file_add(za, name, src, ZIP_FL_OVERWRITE | ZIP_FL_ENC_UTF_8);
  if (idx < 0) {
    zip_source_free(src);
    return false;
  }
  /* Keras writes its entries stored, not deflated. */
  return zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_STORE, 0) == 0;
}

static conv1dt_status write_archive(const char *path, const char *json, const void *h5,
                                    size_t h5_len) {
  static const char metadata[] = "{\"keras_version\": \"3.15.1\", \"date_saved\": \"\"}";
  int err = 0;
  zip_t *za = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
  if (!za) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, err);
    conv1dt_status st = conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE, "cannot write '%s': %s", path,
                                      zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return st;
  }
  if (!add_entry(za, "metadata.json", metadata, sizeof metadata - 1) ||
      !add_entry(za, "config.json", json, strlen(json)) ||
      !add_entry(za, "model.weights.h5", h5, h5_len)) {
    conv1dt_status st =
        conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY, "cannot build '%s': %s", path, zip_strerror(za));
    zip_discard(za);
    return st;
  }
  /* libzip writes a temporary beside path and renames it over path only when complete. */
  if (zip_close(za) < 0) {
    conv1dt_status st =
        conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE, "cannot write '%s': %s", path, zip_strerror(za));
    zip_discard(za);
    return st;
  }
  return CONV1DT_OK;
}

conv1dt_status conv1dt_save_keras(const conv1dt_layer *layer, const char *layer_name,
                                  const char *path) {
  CONV1DT_REQUIRE_PTR(layer, "conv1dt_save_keras");
  CONV1DT_REQUIRE_PTR(path, "conv1dt_save_keras");
  const char *name = layer_name ? layer_name : "conv1d_transpose";
  if (!*name || strlen(name) > 255 || strchr(name, '/'))
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "conv1dt_save_keras: layer_name '%.300s' must be 1 to 255 characters "
                         "without '/'",
                         name);
  conv1dt_config cfg;
  int64_t in_channels;
  conv1dt_dtype dtype;
  CONV1DT_CHECK(conv1dt_get_config(layer, &cfg, &in_channels, &dtype));
  /* conv1dt_create checked that the kernel's byte count fits size_t. */
  const size_t item = dtype == CONV1DT_FLOAT32 ? sizeof(float) : sizeof(double);
  void *kernel = malloc((size_t)(cfg.kernel_size * cfg.filters * in_channels) * item);
  void *bias = malloc((size_t)cfg.filters * item);
  char *json = NULL;
  void *h5 = NULL;
  size_t h5_len = 0;
  conv1dt_status st = CONV1DT_OK;
  if (!kernel || !bias)
    st = conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY, "conv1dt_save_keras: out of memory");
  if (st == CONV1DT_OK) st = conv1dt_get_weights(layer, kernel, bias);
  if (st == CONV1DT_OK && !(json = model_json(&cfg, in_channels, dtype, name)))
    st = conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY, "conv1dt_save_keras: out of memory");
  if (st == CONV1DT_OK)
    st = weights_image(name, &cfg, in_channels, dtype, kernel, bias, &h5, &h5_len);
  if (st == CONV1DT_OK) st = write_archive(path, json, h5, h5_len);
  free(kernel);
  free(bias);
  free(json);
  free(h5);
  return st;
}
