/* Keras's identifiers for initializers, regularizers and constraints, and their defaults.
 *
 * keras.initializers.get / regularizers.get / constraints.get look a string up, case-sensitively,
 * in a table holding each class name, its snake_case form (keras.src.utils.naming.to_snake_case:
 * "GlorotUniform" -> "glorot_uniform", "L1L2" -> "l1l2", "MinMaxNorm" -> "min_max_norm") and a
 * few aliases, then call the class with no arguments. The tables below are those lists. */
#include "internal.h"

#include <string.h>

conv1dt_initializer conv1dt_initializer_default(conv1dt_init_kind kind) {
  conv1dt_initializer init;
  memset(&init, 0, sizeof init);
  init.kind = kind;
  /* Every field holds the default of the kind that reads it, so changing `kind` afterwards
   * still gives Keras's defaults: Constant(value=0.0), RandomUniform(-0.05, 0.05),
   * RandomNormal / TruncatedNormal(mean=0.0, stddev=0.05), VarianceScaling(scale=1.0,
   * mode="fan_in", distribution="truncated_normal"), Orthogonal / Identity(gain=1.0). */
  init.value = 0.0;
  init.minval = -0.05;
  init.maxval = 0.05;
  init.mean = 0.0;
  init.stddev = 0.05;
  init.scale = 1.0;
  init.mode = CONV1DT_FAN_IN;
  init.distribution = CONV1DT_DIST_TRUNCATED_NORMAL;
  init.gain = 1.0;
  init.seed = 0;
  init.has_seed = false;
  return init;
}

conv1dt_regularizer conv1dt__regularizer_default(conv1dt_reg_kind kind) {
  conv1dt_regularizer reg;
  memset(&reg, 0, sizeof reg);
  reg.kind = kind;
  /* L1(l1=0.01), L2(l2=0.01), OrthogonalRegularizer(factor=0.01, mode="rows"); L1L2's own
   * defaults are l1 = l2 = 0 (set below for that kind only). */
  reg.l1 = kind == CONV1DT_REG_L1L2 ? 0.0 : 0.01;
  reg.l2 = kind == CONV1DT_REG_L1L2 ? 0.0 : 0.01;
  reg.factor = 0.01;
  reg.mode_columns = false;
  return reg;
}

conv1dt_constraint conv1dt__constraint_default(conv1dt_constraint_kind kind) {
  conv1dt_constraint c;
  memset(&c, 0, sizeof c);
  c.kind = kind;
  /* MaxNorm(max_value=2, axis=0); MinMaxNorm(min_value=0, max_value=1, rate=1, axis=0). */
  c.max_value = kind == CONV1DT_CONSTRAINT_MIN_MAX_NORM ? 1.0 : 2.0;
  c.min_value = 0.0;
  c.rate = 1.0;
  c.axes[0] = 0;
  c.num_axes = 1;
  return c;
}

/* ---- initializers ------------------------------------------------------------------------ */

typedef struct {
  const char *name;
  int kind; /* conv1dt_init_kind, or -1 for a Keras class conv1dt does not implement */
} init_name;

/* keras/src/initializers/__init__.py: ALL_OBJECTS by class name and snake_case, plus aliases. */
static const init_name INIT_NAMES[] = {
    {"Zeros", CONV1DT_INIT_ZEROS},
    {"zeros", CONV1DT_INIT_ZEROS},
    {"zero", CONV1DT_INIT_ZEROS},
    {"Ones", CONV1DT_INIT_ONES},
    {"ones", CONV1DT_INIT_ONES},
    {"one", CONV1DT_INIT_ONES},
    {"Constant", CONV1DT_INIT_CONSTANT},
    {"constant", CONV1DT_INIT_CONSTANT},
    {"RandomUniform", CONV1DT_INIT_RANDOM_UNIFORM},
    {"random_uniform", CONV1DT_INIT_RANDOM_UNIFORM},
    {"uniform", CONV1DT_INIT_RANDOM_UNIFORM},
    {"RandomNormal", CONV1DT_INIT_RANDOM_NORMAL},
    {"random_normal", CONV1DT_INIT_RANDOM_NORMAL},
    {"normal", CONV1DT_INIT_RANDOM_NORMAL},
    {"TruncatedNormal", CONV1DT_INIT_TRUNCATED_NORMAL},
    {"truncated_normal", CONV1DT_INIT_TRUNCATED_NORMAL},
    {"VarianceScaling", CONV1DT_INIT_VARIANCE_SCALING},
    {"variance_scaling", CONV1DT_INIT_VARIANCE_SCALING},
    {"GlorotUniform", CONV1DT_INIT_GLOROT_UNIFORM},
    {"glorot_uniform", CONV1DT_INIT_GLOROT_UNIFORM},
    {"GlorotNormal", CONV1DT_INIT_GLOROT_NORMAL},
    {"glorot_normal", CONV1DT_INIT_GLOROT_NORMAL},
    {"HeUniform", CONV1DT_INIT_HE_UNIFORM},
    {"he_uniform", CONV1DT_INIT_HE_UNIFORM},
    {"HeNormal", CONV1DT_INIT_HE_NORMAL},
    {"he_normal", CONV1DT_INIT_HE_NORMAL},
    {"LecunUniform", CONV1DT_INIT_LECUN_UNIFORM},
    {"lecun_uniform", CONV1DT_INIT_LECUN_UNIFORM},
    {"LecunNormal", CONV1DT_INIT_LECUN_NORMAL},
    {"lecun_normal", CONV1DT_INIT_LECUN_NORMAL},
    {"Orthogonal", CONV1DT_INIT_ORTHOGONAL},
    {"orthogonal", CONV1DT_INIT_ORTHOGONAL},
    {"OrthogonalInitializer", CONV1DT_INIT_ORTHOGONAL},
    {"Identity", CONV1DT_INIT_IDENTITY},
    {"identity", CONV1DT_INIT_IDENTITY},
    {"IdentityInitializer", CONV1DT_INIT_IDENTITY},
    /* Known to Keras, not implemented here. */
    {"STFT", -1},
    {"stft", -1},
    {"STFTInitializer", -1},
};

conv1dt_status conv1dt_initializer_from_name(const char *name, conv1dt_initializer *out) {
  CONV1DT_REQUIRE_PTR(name, "conv1dt_initializer_from_name");
  CONV1DT_REQUIRE_PTR(out, "conv1dt_initializer_from_name");
  for (size_t i = 0; i < sizeof INIT_NAMES / sizeof INIT_NAMES[0]; i++) {
    if (strcmp(INIT_NAMES[i].name, name) != 0) continue;
    if (INIT_NAMES[i].kind < 0)
      return conv1dt__fail(CONV1DT_ERROR_UNSUPPORTED,
                           "initializer '%s' (Keras's STFT initializer) is not implemented by "
                           "conv1dt",
                           name);
    *out = conv1dt_initializer_default((conv1dt_init_kind)INIT_NAMES[i].kind);
    return CONV1DT_OK;
  }
  return conv1dt__fail(CONV1DT_ERROR_UNKNOWN_NAME,
                       "Could not interpret initializer identifier: %s (Keras's names are "
                       "case-sensitive: e.g. 'glorot_uniform' or 'GlorotUniform')",
                       name);
}

/* ---- regularizers and constraints -------------------------------------------------------- */

typedef struct {
  const char *name;
  int kind;
} kind_name;

/* keras/src/regularizers/__init__.py. The base class "Regularizer" returns 0: no penalty.
 * "l1_l2" is keras.regularizers.l1_l2, the public alias of L1L2 (regularizers.get itself only
 * knows "l1l2"); both give L1L2()'s defaults l1 = l2 = 0. */
static const kind_name REG_NAMES[] = {
    {"L1", CONV1DT_REG_L1},
    {"l1", CONV1DT_REG_L1},
    {"L2", CONV1DT_REG_L2},
    {"l2", CONV1DT_REG_L2},
    {"L1L2", CONV1DT_REG_L1L2},
    {"l1l2", CONV1DT_REG_L1L2},
    {"l1_l2", CONV1DT_REG_L1L2},
    {"OrthogonalRegularizer", CONV1DT_REG_ORTHOGONAL},
    {"orthogonal_regularizer", CONV1DT_REG_ORTHOGONAL},
    {"Regularizer", CONV1DT_REG_NONE},
    {"regularizer", CONV1DT_REG_NONE},
};

/* keras/src/constraints/__init__.py. The base class "Constraint" leaves the weight as it is. */
static const kind_name CONSTRAINT_NAMES[] = {
    {"MaxNorm", CONV1DT_CONSTRAINT_MAX_NORM},
    {"max_norm", CONV1DT_CONSTRAINT_MAX_NORM},
    {"MinMaxNorm", CONV1DT_CONSTRAINT_MIN_MAX_NORM},
    {"min_max_norm", CONV1DT_CONSTRAINT_MIN_MAX_NORM},
    {"UnitNorm", CONV1DT_CONSTRAINT_UNIT_NORM},
    {"unit_norm", CONV1DT_CONSTRAINT_UNIT_NORM},
    {"NonNeg", CONV1DT_CONSTRAINT_NON_NEG},
    {"non_neg", CONV1DT_CONSTRAINT_NON_NEG},
    {"Constraint", CONV1DT_CONSTRAINT_NONE},
    {"constraint", CONV1DT_CONSTRAINT_NONE},
};

static int lookup(const kind_name *table, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(table[i].name, name) == 0) return table[i].kind;
  return -1;
}

conv1dt_status conv1dt_regularizer_from_name(const char *name, conv1dt_regularizer *out) {
  CONV1DT_REQUIRE_PTR(name, "conv1dt_regularizer_from_name");
  CONV1DT_REQUIRE_PTR(out, "conv1dt_regularizer_from_name");
  int kind = lookup(REG_NAMES, sizeof REG_NAMES / sizeof REG_NAMES[0], name);
  if (kind < 0)
    return conv1dt__fail(CONV1DT_ERROR_UNKNOWN_NAME,
                         "Could not interpret regularizer identifier: %s (known: l1, l2, l1l2, "
                         "L1, L2, L1L2, orthogonal_regularizer, ...; case-sensitive)",
                         name);
  *out = conv1dt__regularizer_default((conv1dt_reg_kind)kind);
  return CONV1DT_OK;
}

conv1dt_status conv1dt_constraint_from_name(const char *name, conv1dt_constraint *out) {
  CONV1DT_REQUIRE_PTR(name, "conv1dt_constraint_from_name");
  CONV1DT_REQUIRE_PTR(out, "conv1dt_constraint_from_name");
  int kind = lookup(CONSTRAINT_NAMES, sizeof CONSTRAINT_NAMES / sizeof CONSTRAINT_NAMES[0], name);
  if (kind < 0)
    return conv1dt__fail(CONV1DT_ERROR_UNKNOWN_NAME,
                         "Could not interpret constraint identifier: %s (known: max_norm, "
                         "min_max_norm, unit_norm, non_neg and their class names; "
                         "case-sensitive)",
                         name);
  *out = conv1dt__constraint_default((conv1dt_constraint_kind)kind);
  return CONV1DT_OK;
}
