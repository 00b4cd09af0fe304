/* Fuzz target for the .keras archive reader (src/keras/keras_zip.c): the input is a zip
 * archive; its config.json and model.weights.h5 are read as conv1dt_create_from_keras reads
 * them, and a config found is parsed. Beyond not crashing: an entry read has its stated
 * length and a terminating NUL, a failure a message. */
#include "keras.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void require(int ok) {
  if (!ok) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const entries[] = {"config.json", "model.weights.h5"};
  for (int i = 0; i < 2; i++) {
    void *entry = NULL;
    size_t len = 0;
    if (conv1dt__keras_zip_entry(data, size, entries[i], &entry, &len) != CONV1DT_OK) {
      require(conv1dt_last_error()[0] != '\0');
      continue;
    }
    require(entry != NULL && ((char *)entry)[len] == '\0');
    if (i == 0) {
      conv1dt__keras_layer kl;
      (void)conv1dt__keras_parse_config(entry, len, NULL, &kl);
    }
    free(entry);
  }
  return 0;
}
