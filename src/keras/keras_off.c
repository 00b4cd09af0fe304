/* The Keras calls in a build without Keras file support (-DCONV1DT_KERAS=OFF: no json-c,
 * libhdf5 or libzip). They exist so that every build exports what the header declares; each
 * says why it cannot serve. */
#include "internal.h"

static conv1dt_status off(const char *fn) {
  return conv1dt__fail(CONV1DT_ERROR_UNSUPPORTED,
                       "%s: this build of conv1dt reads and writes no Keras files "
                       "(configured with -DCONV1DT_KERAS=OFF)",
                       fn);
}

conv1dt_status conv1dt_config_from_keras_json(const char *json, size_t length,
                                              const char *layer_name, conv1dt_config *cfg,
                                              conv1dt_dtype *dtype) {
  (void)json, (void)length, (void)layer_name, (void)cfg, (void)dtype;
  return off("conv1dt_config_from_keras_json");
}

conv1dt_status conv1dt_create_from_keras(const char *path, const char *layer_name,
                                         conv1dt_layer **out) {
  (void)path, (void)layer_name, (void)out;
  return off("conv1dt_create_from_keras");
}

conv1dt_status conv1dt_create_from_keras_files(const char *config_path, const char *weights_path,
                                               const char *layer_name, conv1dt_layer **out) {
  (void)config_path, (void)weights_path, (void)layer_name, (void)out;
  return off("conv1dt_create_from_keras_files");
}

conv1dt_status conv1dt_keras_layer_names(const char *path, char *buffer, size_t size,
                                         int64_t *count) {
  (void)path, (void)buffer, (void)size, (void)count;
  return off("conv1dt_keras_layer_names");
}

conv1dt_status conv1dt_save_keras(const conv1dt_layer *layer, const char *layer_name,
                                  const char *path) {
  (void)layer, (void)layer_name, (void)path;
  return off("conv1dt_save_keras");
}
