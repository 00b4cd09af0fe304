/* Command-line parsing of conv1dt's subcommands; see cli_args.h. */
#define _POSIX_C_SOURCE 200809L

#include "cli_args.h"
#include "cli_error.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int find_option(const cli_command *cmd, const char *name, size_t nlen) {
  for (int k = 0; k < cmd->count; k++)
    if (strlen(cmd->options[k].name) == nlen && strncmp(cmd->options[k].name, name, nlen) == 0)
      return k;
  return -1;
}

int cli_parse(const cli_command *cmd, int argc, char **argv, const char **values) {
  for (int k = 0; k < cmd->count; k++) values[k] = NULL;
  for (int i = 0; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
      fputs(cmd->usage, stdout);
      return EXIT_SUCCESS;
    }
    if (strncmp(arg, "--", 2) != 0 || arg[2] == '\0') {
      cli_error("unexpected argument '%s' (see 'conv1dt %s --help')", arg, cmd->name);
      return CLI_EXIT_USAGE;
    }
    const char *name = arg + 2, *eq = strchr(name, '=');
    const size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    const int opt = find_option(cmd, name, nlen);
    if (opt < 0) {
      cli_error("unknown option '--%.*s' (see 'conv1dt %s --help')", (int)nlen, name, cmd->name);
      return CLI_EXIT_USAGE;
    }
    const char *flag = cmd->options[opt].name, *value = "";
    if (cmd->options[opt].flags & CLI_SWITCH) {
      if (eq) {
        cli_error("option --%s takes no value", flag);
        return CLI_EXIT_USAGE;
      }
    } else {
      if (eq) {
        value = eq + 1;
      } else {
        /* "--input --kernel k.npy" is a forgotten value, not a file named "--kernel". */
        if (i + 1 >= argc || (strncmp(argv[i + 1], "--", 2) == 0 && argv[i + 1][2] != '\0')) {
          cli_error("option --%s needs a value", flag);
          return CLI_EXIT_USAGE;
        }
        value = argv[++i];
      }
      if (*value == '\0') {
        cli_error("option --%s needs a non-empty value", flag);
        return CLI_EXIT_USAGE;
      }
    }
    if (values[opt]) {
      cli_error("option --%s given more than once", flag);
      return CLI_EXIT_USAGE;
    }
    values[opt] = value;
  }
  for (int k = 0; k < cmd->count; k++)
    if ((cmd->options[k].flags & CLI_REQUIRED) && !values[k]) {
      cli_error("missing required option --%s (see 'conv1dt %s --help')", cmd->options[k].name,
                cmd->name);
      return CLI_EXIT_USAGE;
    }
  return cmd->check && !cmd->check(values) ? CLI_EXIT_USAGE : -1;
}

bool cli_parse_count(const char *flag, const char *text, int64_t *out) {
  bool digits = *text != '\0';
  for (const char *p = text; *p; p++)
    if (*p < '0' || *p > '9') digits = false;
  if (!digits) {
    cli_error("--%s expects a non-negative integer, got '%s'", flag, text);
    return false;
  }
  errno = 0;
  char *end;
  long long v = strtoll(text, &end, 10);
  if (errno == ERANGE || *end != '\0') {
    cli_error("--%s: '%s' is out of range", flag, text);
    return false;
  }
  *out = (int64_t)v;
  return true;
}

bool cli_parse_seed(const char *text, uint64_t *out) {
  uint64_t v = 0;
  for (const char *p = text; *p; p++) {
    const unsigned d = (unsigned)(*p - '0');
    if (d > 9) {
      cli_error("--seed expects a non-negative integer, got '%s'", text);
      return false;
    }
    if (v > (UINT64_MAX - d) / 10) {
      cli_error("--seed: '%s' is out of range (0 .. %" PRIu64 ")", text, UINT64_MAX);
      return false;
    }
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

/* Fills every configuration field the layer flags control. Returns false after printing the
 * problem. */
static bool build_config(const char *const *values, conv1dt_config *cfg) {
  conv1dt_status st;
  if (values[LAYER_STRIDES] && !cli_parse_count("strides", values[LAYER_STRIDES], &cfg->strides))
    return false;
  if (values[LAYER_DILATION_RATE] &&
      !cli_parse_count("dilation-rate", values[LAYER_DILATION_RATE], &cfg->dilation_rate))
    return false;
  const char *op = values[LAYER_OUTPUT_PADDING];
  if (op) {
    if (strcasecmp(op, "none") == 0)
      cfg->output_padding = CONV1DT_OUTPUT_PADDING_NONE;
    else if (!cli_parse_count("output-padding", op, &cfg->output_padding))
      return false;
  }
  if (values[LAYER_PADDING] &&
      (st = conv1dt_padding_from_string(values[LAYER_PADDING], &cfg->padding)) != CONV1DT_OK) {
    cli_lib_error("invalid --padding", st);
    return false;
  }
  if (values[LAYER_DATA_FORMAT] &&
      (st = conv1dt_data_format_from_string(values[LAYER_DATA_FORMAT], &cfg->data_format)) !=
          CONV1DT_OK) {
    cli_lib_error("invalid --data-format", st);
    return false;
  }
  if (values[LAYER_ACTIVATION]) {
    if ((st = conv1dt_activation_check(values[LAYER_ACTIVATION], NULL)) != CONV1DT_OK) {
      cli_lib_error("invalid --activation", st);
      return false;
    }
    cfg->activation = values[LAYER_ACTIVATION];
  }
  if (values[LAYER_ALGORITHM] && (st = conv1dt_algorithm_from_string(
                                      values[LAYER_ALGORITHM], &cfg->algorithm)) != CONV1DT_OK) {
    cli_lib_error("invalid --algorithm", st);
    return false;
  }
  cfg->use_bias = values[LAYER_BIAS] != NULL;
  return true;
}

/* Lets the library judge the flag values (output_padding < strides, strides vs dilation, ...).
 * The probe shape is neutral: 2 filters (glu needs an even count), kernel 1, 1 channel. */
static bool probe_config(const conv1dt_config *cfg) {
  conv1dt_config probe = *cfg;
  probe.filters = 2;
  probe.kernel_size = 1;
  conv1dt_layer *layer = NULL;
  conv1dt_status st = conv1dt_create(&probe, 1, CONV1DT_FLOAT64, &layer);
  conv1dt_destroy(layer);
  if (st == CONV1DT_ERROR_INVALID_VALUE || st == CONV1DT_ERROR_UNKNOWN_NAME) {
    cli_lib_error("invalid layer configuration", st);
    return false;
  }
  return true; /* anything else (memory, ...) shows up again in the real conv1dt_create */
}

bool cli_layer_from_keras(const char *const *values) {
  return values[LAYER_KERAS_MODEL] || values[LAYER_KERAS_CONFIG] || values[LAYER_KERAS_WEIGHTS];
}

/* Where the layer comes from: --kernel, --keras-model, or --keras-config with --keras-weights;
 * a Keras file holds the configuration, so the flags that would restate it are refused rather
 * than silently overridden or ignored. */
static bool check_layer_source(const char *const *values) {
  const char *const *v = values;
  if (v[LAYER_KERAS_MODEL] && (v[LAYER_KERAS_CONFIG] || v[LAYER_KERAS_WEIGHTS])) {
    cli_error("--keras-model cannot be combined with --keras-config or --keras-weights");
    return false;
  }
  if (!v[LAYER_KERAS_MODEL] &&
      (v[LAYER_KERAS_CONFIG] != NULL) != (v[LAYER_KERAS_WEIGHTS] != NULL)) {
    cli_error("--keras-config and --keras-weights go together (or use --keras-model for one file "
              "holding both)");
    return false;
  }
  if (!cli_layer_from_keras(v)) {
    if (v[LAYER_LAYER]) {
      cli_error("--layer names a layer of a Keras file: give --keras-model or --keras-config");
      return false;
    }
    if (!v[LAYER_KERNEL]) {
      cli_error("missing required option --kernel (or --keras-model / --keras-config with "
                "--keras-weights)");
      return false;
    }
    return true;
  }
  static const int flags[] = {LAYER_KERNEL,        LAYER_BIAS,           LAYER_STRIDES,
                              LAYER_PADDING,       LAYER_OUTPUT_PADDING, LAYER_DATA_FORMAT,
                              LAYER_DILATION_RATE, LAYER_ACTIVATION};
  static const char *const names[] = {"kernel",        "bias",           "strides",
                                      "padding",       "output-padding", "data-format",
                                      "dilation-rate", "activation"};
  for (size_t i = 0; i < sizeof flags / sizeof *flags; i++)
    if (v[flags[i]]) {
      cli_error("--%s cannot be combined with %s: the Keras file holds the layer's %s", names[i],
                v[LAYER_KERAS_MODEL] ? "--keras-model" : "--keras-config",
                i < 2 ? "weights" : "configuration");
      return false;
    }
  return true;
}

bool cli_layer_config(const char *const *values, conv1dt_config *cfg) {
  *cfg = conv1dt_config_default(1, 1);
  if (!check_layer_source(values)) return false;
  return build_config(values, cfg) && probe_config(cfg);
}
