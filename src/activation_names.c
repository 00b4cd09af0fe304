/* Keras's activation identifiers (keras.activations.get), aliases included. */
#include "internal.h"

#include <string.h>

static const struct {
  const char *name;
  conv1dt_act act;
  const char *canonical;
} table[] = {
    {"linear", CONV1DT_ACT_LINEAR, "linear"},
    {"relu", CONV1DT_ACT_RELU, "relu"},
    {"leaky_relu", CONV1DT_ACT_LEAKY_RELU, "leaky_relu"},
    {"relu6", CONV1DT_ACT_RELU6, "relu6"},
    {"elu", CONV1DT_ACT_ELU, "elu"},
    {"selu", CONV1DT_ACT_SELU, "selu"},
    {"celu", CONV1DT_ACT_CELU, "celu"},
    {"softplus", CONV1DT_ACT_SOFTPLUS, "softplus"},
    {"softsign", CONV1DT_ACT_SOFTSIGN, "softsign"},
    {"squareplus", CONV1DT_ACT_SQUAREPLUS, "squareplus"},
    {"soft_shrink", CONV1DT_ACT_SOFT_SHRINK, "soft_shrink"},
    {"hard_shrink", CONV1DT_ACT_HARD_SHRINK, "hard_shrink"},
    {"sparse_plus", CONV1DT_ACT_SPARSE_PLUS, "sparse_plus"},
    {"sigmoid", CONV1DT_ACT_SIGMOID, "sigmoid"},
    {"sparse_sigmoid", CONV1DT_ACT_SPARSE_SIGMOID, "sparse_sigmoid"},
    {"hard_sigmoid", CONV1DT_ACT_HARD_SIGMOID, "hard_sigmoid"},
    {"silu", CONV1DT_ACT_SILU, "silu"},
    {"swish", CONV1DT_ACT_SILU, "silu"},
    {"hard_silu", CONV1DT_ACT_HARD_SILU, "hard_silu"},
    {"hard_swish", CONV1DT_ACT_HARD_SILU, "hard_silu"},
    {"gelu", CONV1DT_ACT_GELU, "gelu"},
    {"tanh", CONV1DT_ACT_TANH, "tanh"},
    {"tanh_shrink", CONV1DT_ACT_TANH_SHRINK, "tanh_shrink"},
    {"hard_tanh", CONV1DT_ACT_HARD_TANH, "hard_tanh"},
    {"exponential", CONV1DT_ACT_EXPONENTIAL, "exponential"},
    {"mish", CONV1DT_ACT_MISH, "mish"},
    {"log_sigmoid", CONV1DT_ACT_LOG_SIGMOID, "log_sigmoid"},
    {"softmax", CONV1DT_ACT_SOFTMAX, "softmax"},
    {"log_softmax", CONV1DT_ACT_LOG_SOFTMAX, "log_softmax"},
    {"sparsemax", CONV1DT_ACT_SPARSEMAX, "sparsemax"},
    {"glu", CONV1DT_ACT_GLU, "glu"},
};

conv1dt_status conv1dt__activation_lookup(const char *name, conv1dt_act *act,
                                          const char **canonical) {
  if (name == NULL) name = "linear"; /* Keras: activation=None */
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    if (strcmp(name, table[i].name) == 0) {
      if (act) *act = table[i].act;
      if (canonical) *canonical = table[i].canonical;
      return CONV1DT_OK;
    }
  }
  if (strcmp(name, "threshold") == 0)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "activation 'threshold' has no defaults: Keras requires its `threshold` "
                         "and `default_value` arguments, which a name cannot carry");
  return conv1dt__fail(CONV1DT_ERROR_UNKNOWN_NAME,
                       "Could not interpret activation function identifier: activation='%.100s'",
                       name);
}

conv1dt_status conv1dt_activation_check(const char *name, const char **canonical) {
  return conv1dt__activation_lookup(name, NULL, canonical);
}
