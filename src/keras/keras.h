/* Internal interface of the Keras file readers (src/keras/). Nothing here is public.
 *   keras_config.c  Keras JSON (a layer's get_config, a model's config) -> conv1dt_config
 *   keras_h5.c      a layer's kernel and bias from Keras 3 and Keras 2 HDF5 files
 *   keras_h5_check.c  damage in an HDF5 file that libhdf5 would trust, found before it reads
 *   keras_zip.c     the entries of a Keras 3 .keras archive
 *   keras_load.c    the public loading calls: format detection by bytes, then the three above
 *   keras_save.c    conv1dt_save_keras: a layer as a Keras 3 .keras archive */
#ifndef CONV1DT_KERAS_H
#define CONV1DT_KERAS_H

#include "conv1dt.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A Conv1DTranspose layer's configuration found in Keras JSON. */
typedef struct {
  conv1dt_config cfg; /* activation points at the library's canonical name */
  conv1dt_dtype dtype;
  char name[256]; /* the layer's name, for the weights readers and messages */
  /* Where Keras 3's saving code puts the layer's "vars" group, from the model's structure:
   * "layers/<snake_case class>[_<n>]" per level of nesting, n counting same-class siblings
   * (saving_lib's naming); "" for a bare layer config. */
  char h5_path[1024];
} conv1dt__keras_layer;

/* Parses `json` (len bytes, not NUL-terminated) and finds the Conv1DTranspose layer named
 * `layer_name` (NULL: the only one there is). Accepts a layer's get_config() dict, a layer's
 * serialized {"class_name", "config"} form, and a model's config (Sequential, Functional, nested
 * models) as config.json, to_json() or Keras 2's model_config attribute hold it. */
conv1dt_status conv1dt__keras_parse_config(const char *json, size_t len, const char *layer_name,
                                           conv1dt__keras_layer *out);

/* Writes the names of the Conv1DTranspose layers in `json`, one per line, into buffer (size
 * bytes, NUL-terminated) and their count into *count. */
conv1dt_status conv1dt__keras_list_layers(const char *json, size_t len, char *buffer, size_t size,
                                          int64_t *count);

/* A layer's weights as read from a file: the kernel (K, F, C) and, when the file has one, the
 * bias (F,), converted to `dtype`; malloc'ed, freed by conv1dt__keras_weights_free. */
typedef struct {
  int64_t kshape[3];
  int64_t bias_len; /* -1: no bias in the file */
  void *kernel, *bias;
} conv1dt__keras_weights;
void conv1dt__keras_weights_free(conv1dt__keras_weights *w);

/* Reads layer `name`'s weights from an HDF5 file image (size bytes) in any of Keras's layouts:
 * Keras 3 (.weights.h5 and the archive's model.weights.h5: a "vars" group whose "name"
 * attribute is the layer's name, datasets "0" kernel and "1" bias; writers without that
 * attribute, as tf-keras's, are found at h5_path + "/vars") and Keras 2 (save_weights and
 * whole-model files: datasets ".../<name>/kernel:0" and ".../<name>/bias:0"). */
conv1dt_status conv1dt__keras_h5_weights(const void *image, size_t size, const char *name,
                                         const char *h5_path, conv1dt_dtype dtype,
                                         conv1dt__keras_weights *w);

/* False, with what is damaged and where in why (why_size bytes), if libhdf5 1.10 would crash,
 * hang or read out of bounds on the HDF5 image (size bytes, superblock at byte base). */
bool conv1dt__keras_h5_check(const unsigned char *image, size_t size, size_t base, char *why,
                             size_t why_size);

/* The JSON text of a Keras 2 whole-model HDF5 file's "model_config" root attribute; *json is
 * malloc'ed and NUL-terminated. CONV1DT_ERROR_INVALID_VALUE when the file has none. */
conv1dt_status conv1dt__keras_h5_model_config(const void *image, size_t size, char **json,
                                              size_t *len);

/* Reads entry `entry` of the zip archive in `image` (size bytes) into a malloc'ed buffer. */
conv1dt_status conv1dt__keras_zip_entry(const void *image, size_t size, const char *entry,
                                        void **data, size_t *len);

/* Format of a file, told by its first bytes. */
typedef enum {
  CONV1DT__KERAS_UNKNOWN,
  CONV1DT__KERAS_HDF5,
  CONV1DT__KERAS_ZIP,
  CONV1DT__KERAS_JSON
} conv1dt__keras_format;
conv1dt__keras_format conv1dt__keras_sniff(const void *data, size_t size);

#endif
