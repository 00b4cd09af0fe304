/* Fuzz target for the HDF5 weights reader (src/keras/keras_h5.c): the input is an HDF5 file
 * image, read for the weights of layer "up" in every layout (Keras 3's named "vars" groups and
 * the positional path layers/conv1d_transpose, Keras 2's datasets) in both dtypes, and for a
 * Keras 2 model_config. Beyond not crashing: read weights have sane shapes, a failure a message.
 * libhdf5 itself is not instrumented; what it does wrong shows as a crash here all the same. */
#include "keras.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void require(int ok) {
  if (!ok) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  for (int d = 0; d < 2; d++) {
    conv1dt__keras_weights w;
    conv1dt_status st = conv1dt__keras_h5_weights(data, size, "up", "layers/conv1d_transpose",
                                                  d ? CONV1DT_FLOAT64 : CONV1DT_FLOAT32, &w);
    if (st != CONV1DT_OK) {
      require(conv1dt_last_error()[0] != '\0');
      continue;
    }
    require(w.kernel != NULL && w.kshape[0] >= 0 && w.kshape[1] >= 0 && w.kshape[2] >= 0);
    require(w.bias_len < 0 ? w.bias == NULL : w.bias != NULL);
    conv1dt__keras_weights_free(&w);
  }
  char *json = NULL;
  size_t len = 0;
  if (conv1dt__keras_h5_model_config(data, size, &json, &len) == CONV1DT_OK) {
    require(json != NULL && strlen(json) == len);
    free(json);
  } else {
    require(conv1dt_last_error()[0] != '\0');
  }
  return 0;
}
