/* Fuzz target for the Keras JSON loader (src/keras/keras_config.c): the input is the JSON text.
 * It is searched for the only Conv1DTranspose layer and for one named "up" (the seeds' layers
 * are named so), and its layers are listed. Beyond not crashing: a found configuration must be
 * one conv1dt accepts or refuses with a message, and a failure must leave a message. */
#include "keras.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void require(int ok) {
  if (!ok) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const names[] = {NULL, "up"};
  for (int i = 0; i < 2; i++) {
    conv1dt__keras_layer kl;
    conv1dt_status st = conv1dt__keras_parse_config((const char *)data, size, names[i], &kl);
    if (st != CONV1DT_OK) {
      require(conv1dt_last_error()[0] != '\0');
      continue;
    }
    require(memchr(kl.name, '\0', sizeof kl.name) != NULL);
    require(memchr(kl.h5_path, '\0', sizeof kl.h5_path) != NULL);
    require(kl.dtype == CONV1DT_FLOAT32 || kl.dtype == CONV1DT_FLOAT64);
    /* The library judges the configuration like any other; small sizes keep it cheap. */
    conv1dt_config cfg = kl.cfg;
    if (cfg.filters > 64 || cfg.kernel_size > 64) continue;
    conv1dt_layer *layer = NULL;
    st = conv1dt_create(&cfg, 2, kl.dtype, &layer);
    require(st == CONV1DT_OK || conv1dt_last_error()[0] != '\0');
    conv1dt_destroy(layer);
  }
  char list[512];
  int64_t count = -1;
  conv1dt_status st =
      conv1dt__keras_list_layers((const char *)data, size, list, sizeof list, &count);
  require(st != CONV1DT_OK || (count >= 0 && memchr(list, '\0', sizeof list) != NULL));
  return 0;
}
