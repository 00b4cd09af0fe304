/* Fuzz target for the conv1dt program's argument parser (tools/cli_args.c): the input, split at
 * NUL bytes, is the command line of `run` (its full option table, the Keras options included);
 * what parses is turned into a configuration as the program does (cli_layer_config, which asks
 * the library to judge it). Beyond not crashing: a parse reports one of its three outcomes, and
 * every value it hands back points into the given arguments. Messages go to stderr. */
#include "cli_args.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void require(int ok) {
  if (!ok) abort();
}

enum {
  OUTPUT = LAYER_COUNT,
  INPUT_LIST,
  OUTPUT_DIR,
  SKIP_EXISTING,
  PROGRESS,
  NO_PROGRESS,
  MEMORY_LIMIT,
  COUNT
};
static const cli_option OPTIONS[COUNT] = {CLI_LAYER_OPTIONS_WITH(0),
                                          [OUTPUT] = {"output", CLI_WRITES},
                                          [INPUT_LIST] = {"input-list", 0},
                                          [OUTPUT_DIR] = {"output-dir", 0},
                                          [SKIP_EXISTING] = {"skip-existing", CLI_SWITCH},
                                          [PROGRESS] = {"progress", CLI_SWITCH},
                                          [NO_PROGRESS] = {"no-progress", CLI_SWITCH},
                                          [MEMORY_LIMIT] = {"memory-limit", 0}};
static const cli_command CMD = {"run", "usage\n", OPTIONS, COUNT, NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size > 4096) return 0;
  char *text = malloc(size + 1);
  char *argv[64];
  int argc = 0;
  if (!text) return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  for (size_t i = 0; i <= size && argc < 64;) {
    argv[argc++] = text + i;
    i += strlen(text + i) + 1;
  }
  const char *values[COUNT];
  int rc = cli_parse(&CMD, argc, argv, values);
  require(rc == -1 || rc == 0 || rc == 2);
  if (rc == -1) {
    for (int k = 0; k < COUNT; k++)
      require(!values[k] || (values[k] >= text && values[k] <= text + size));
    conv1dt_config cfg;
    (void)cli_layer_config(values, &cfg);
  }
  free(text);
  return 0;
}
