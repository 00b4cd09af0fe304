/*
 * cli_args — the command lines of conv1dt's subcommands: one parser for every subcommand's
 * "--name value" / "--name=value" options (with --help, unknown, missing, empty and repeated
 * options), strict integers, and the layer's flags shared by `run` and `grad` turned into a
 * conv1dt_config.
 */
#ifndef CONV1DT_CLI_ARGS_H
#define CONV1DT_CLI_ARGS_H

#include "conv1dt.h"

#include <stdbool.h>
#include <stdint.h>

/* What an option is. */
enum {
  CLI_REQUIRED = 1, /* the command fails with a usage error without it */
  CLI_SWITCH = 2,   /* takes no value; present or not ("" when present) */
  CLI_WRITES = 4    /* names a file the command writes (see cli_check_outputs) */
};

typedef struct {
  const char *name; /* without the leading "--" */
  unsigned flags;   /* CLI_REQUIRED, CLI_SWITCH, CLI_WRITES */
} cli_option;

typedef struct {
  const char *name;          /* "run", named in the messages ('conv1dt run --help') */
  const char *usage;         /* printed for --help or -h */
  const cli_option *options; /* values[i] of cli_parse belongs to options[i] */
  int count;
  /* What the table cannot say (options that exclude each other, ...): called with the values
   * once every required option is there; returns false after printing the problem. NULL: none. */
  bool (*check)(const char *const *values);
} cli_command;

/* Parses a subcommand's arguments (those after its name) into values[0..cmd->count). Returns -1
 * to go on, EXIT_SUCCESS after printing the usage for --help or -h, or CLI_EXIT_USAGE after
 * printing the problem. A missing required option is reported in the order of cmd->options,
 * before cmd->check runs. */
int cli_parse(const cli_command *cmd, int argc, char **argv, const char **values);

/* Strict non-negative decimal: digits only, fully consumed, within int64_t. A sign is refused
 * because no integer flag of this layer has a meaningful negative value. Returns false after
 * printing the problem (naming --flag). */
bool cli_parse_count(const char *flag, const char *text, int64_t *out);

/* Strict unsigned decimal within uint64_t, for --seed. */
bool cli_parse_seed(const char *text, uint64_t *out);

/* The layer's flags, shared by `run` and `grad`: the first LAYER_COUNT options of both. */
enum {
  LAYER_INPUT,
  LAYER_KERNEL,
  LAYER_BIAS,
  LAYER_STRIDES,
  LAYER_PADDING,
  LAYER_OUTPUT_PADDING,
  LAYER_DATA_FORMAT,
  LAYER_DILATION_RATE,
  LAYER_ACTIVATION,
  LAYER_ALGORITHM,
  LAYER_KERAS_MODEL,   /* the layer from a Keras file instead of --kernel and the flags */
  LAYER_KERAS_CONFIG,  /* ... or from a config file */
  LAYER_KERAS_WEIGHTS, /* ... and a weights file */
  LAYER_LAYER,         /* the Keras layer's name */
  LAYER_COUNT
};

/* Their entries of a cli_option table (the layout above); CLI_LAYER_OPTIONS_WITH(flags) gives
 * --input those flags (run's --input is optional: --input-list replaces it). */
/* clang-format off */
#define CLI_LAYER_OPTIONS CLI_LAYER_OPTIONS_WITH(CLI_REQUIRED)
#define CLI_LAYER_OPTIONS_WITH(input_flags)                                                        \
  [LAYER_INPUT] = {"input", input_flags},                                                          \
  [LAYER_KERNEL] = {"kernel", 0},                                                                  \
  [LAYER_BIAS] = {"bias", 0},                                                                      \
  [LAYER_STRIDES] = {"strides", 0},                                                                \
  [LAYER_PADDING] = {"padding", 0},                                                                \
  [LAYER_OUTPUT_PADDING] = {"output-padding", 0},                                                  \
  [LAYER_DATA_FORMAT] = {"data-format", 0},                                                        \
  [LAYER_DILATION_RATE] = {"dilation-rate", 0},                                                    \
  [LAYER_ACTIVATION] = {"activation", 0},                                                          \
  [LAYER_ALGORITHM] = {"algorithm", 0},                                                            \
  [LAYER_KERAS_MODEL] = {"keras-model", 0},                                                        \
  [LAYER_KERAS_CONFIG] = {"keras-config", 0},                                                      \
  [LAYER_KERAS_WEIGHTS] = {"keras-weights", 0},                                                    \
  [LAYER_LAYER] = {"layer", 0}
/* clang-format on */

/* True when the layer comes from Keras files (--keras-model or --keras-config). */
bool cli_layer_from_keras(const char *const *values);

/* The configuration the layer flags in values[0..LAYER_COUNT) describe (filters and
 * kernel_size are placeholders until the kernel is read), checked by the library before any
 * file is read so that a bad command line is a usage error with Keras's message. The layer
 * comes either from --kernel [--bias] and the flags, or from Keras files (--keras-model FILE, or
 * --keras-config C --keras-weights W, with --layer NAME), which hold the whole configuration:
 * beside them the layer flags are a usage error (only --algorithm stays). Returns false after
 * printing the problem. */
bool cli_layer_config(const char *const *values, conv1dt_config *cfg);

#endif /* CONV1DT_CLI_ARGS_H */
