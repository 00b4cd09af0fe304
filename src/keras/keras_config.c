/* Keras JSON -> conv1dt_config: a Conv1DTranspose layer's get_config() dict, found by name in a
 * layer or model config (Keras 3's config.json and to_json(), Keras 2's model_config). Every
 * field Keras writes is mapped; a field Keras 2 did not write takes Keras's default; anything
 * conv1dt cannot honour is an error naming the field and its value, never silently dropped. */
#include "internal.h"
#include "keras.h"

#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Class names Keras has used for this layer (Keras 2 also registered the long alias). */
static bool is_conv1dt_class(const char *cls) {
  return cls && (strcmp(cls, "Conv1DTranspose") == 0 || strcmp(cls, "Convolution1DTranspose") == 0);
}

static const char *get_string(json_object *obj, const char *key) {
  json_object *v;
  if (!json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

/* A short rendering of a JSON value for messages. */
static const char *show(json_object *v) {
  return v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "null";
}

static conv1dt_status bad(const char *layer, const char *field, json_object *v, const char *want) {
  return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                       "Keras config of layer '%s': field '%s' is %.200s; expected %s", layer,
                       field, show(v), want);
}

/* Keras's integers-or-tuples (kernel_size, strides, ...): an integer or a 1-element list. */
static conv1dt_status get_int(const char *layer, json_object *cfg, const char *key, bool nullable,
                              int64_t *out) {
  json_object *v;
  if (!json_object_object_get_ex(cfg, key, &v)) return CONV1DT_OK; /* Keras's default stays */
  if (v == NULL) {
    if (nullable) {
      *out = CONV1DT_OUTPUT_PADDING_NONE;
      return CONV1DT_OK;
    }
    return bad(layer, key, v, "an integer or a 1-element list");
  }
  json_object *item = v;
  if (json_object_is_type(v, json_type_array)) {
    if (json_object_array_length(v) != 1)
      return bad(layer, key, v, "an integer or a 1-element list (the layer is 1-D)");
    item = json_object_array_get_idx(v, 0);
  }
  if (!json_object_is_type(item, json_type_int))
    return bad(layer, key, v, "an integer or a 1-element list");
  *out = json_object_get_int64(item);
  return CONV1DT_OK;
}

static conv1dt_status get_double(const char *layer, const char *field, json_object *cfg,
                                 const char *key, double *out) {
  json_object *v;
  if (!json_object_object_get_ex(cfg, key, &v)) return CONV1DT_OK;
  if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
    return bad(layer, field, v, "a number");
  *out = json_object_get_double(v);
  return CONV1DT_OK;
}

/* The seed of an initializer: null or a non-negative integer. */
static conv1dt_status get_seed(const char *layer, const char *field, json_object *cfg,
                               conv1dt_initializer *init) {
  json_object *v;
  if (!json_object_object_get_ex(cfg, "seed", &v) || v == NULL) return CONV1DT_OK;
  if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0)
    return bad(layer, field, v, "a seed: null or a non-negative integer");
  init->seed = (uint64_t)json_object_get_int64(v);
  init->has_seed = true;
  return CONV1DT_OK;
}

/* A serialized Keras object: a string name, or {"class_name": ..., "config": {...}}.
 * Sets *cls to the name and *cfg to the config object (NULL when there is none). */
static conv1dt_status object_form(const char *layer, const char *field, json_object *v,
                                  const char **cls, json_object **cfg) {
  *cfg = NULL;
  if (json_object_is_type(v, json_type_string)) {
    *cls = json_object_get_string(v);
    return CONV1DT_OK;
  }
  if (json_object_is_type(v, json_type_object) && (*cls = get_string(v, "class_name"))) {
    json_object *c;
    if (json_object_object_get_ex(v, "config", &c) && c != NULL) {
      if (!json_object_is_type(c, json_type_object))
        return bad(layer, field, v, "a name or {\"class_name\", \"config\": {...}}");
      *cfg = c;
    }
    return CONV1DT_OK;
  }
  return bad(layer, field, v, "a name or {\"class_name\", \"config\": {...}}");
}

static conv1dt_status name_error(conv1dt_status st, const char *layer, const char *field,
                                 json_object *v) {
  return conv1dt__fail(
      st, "Keras config of layer '%s': field '%s' is %.200s: %s", layer, field, show(v),
      st == CONV1DT_ERROR_UNSUPPORTED ? "not supported by conv1dt" : "not a name Keras knows here");
}

static conv1dt_status get_initializer(const char *layer, json_object *lcfg, const char *field,
                                      conv1dt_initializer *out) {
  json_object *v, *c;
  const char *cls;
  if (!json_object_object_get_ex(lcfg, field, &v)) return CONV1DT_OK;
  if (v == NULL) return bad(layer, field, v, "an initializer");
  CONV1DT_CHECK(object_form(layer, field, v, &cls, &c));
  conv1dt_initializer init;
  conv1dt_status st = conv1dt_initializer_from_name(cls, &init);
  if (st != CONV1DT_OK) return name_error(st, layer, field, v);
  if (c) {
    CONV1DT_CHECK(get_double(layer, field, c, "value", &init.value));
    CONV1DT_CHECK(get_double(layer, field, c, "minval", &init.minval));
    CONV1DT_CHECK(get_double(layer, field, c, "maxval", &init.maxval));
    CONV1DT_CHECK(get_double(layer, field, c, "mean", &init.mean));
    CONV1DT_CHECK(get_double(layer, field, c, "stddev", &init.stddev));
    CONV1DT_CHECK(get_double(layer, field, c, "gain", &init.gain));
    CONV1DT_CHECK(get_seed(layer, field, c, &init));
    if (init.kind == CONV1DT_INIT_VARIANCE_SCALING) {
      CONV1DT_CHECK(get_double(layer, field, c, "scale", &init.scale));
      const char *mode = get_string(c, "mode"), *dist = get_string(c, "distribution");
      if (mode) {
        if (strcmp(mode, "fan_in") == 0)
          init.mode = CONV1DT_FAN_IN;
        else if (strcmp(mode, "fan_out") == 0)
          init.mode = CONV1DT_FAN_OUT;
        else if (strcmp(mode, "fan_avg") == 0)
          init.mode = CONV1DT_FAN_AVG;
        else
          return bad(layer, field, v, "mode fan_in, fan_out or fan_avg");
      }
      /* Keras 2 wrote "normal" for what Keras 3 calls "truncated_normal". */
      if (dist) {
        if (strcmp(dist, "truncated_normal") == 0 || strcmp(dist, "normal") == 0)
          init.distribution = CONV1DT_DIST_TRUNCATED_NORMAL;
        else if (strcmp(dist, "untruncated_normal") == 0)
          init.distribution = CONV1DT_DIST_UNTRUNCATED_NORMAL;
        else if (strcmp(dist, "uniform") == 0)
          init.distribution = CONV1DT_DIST_UNIFORM;
        else
          return bad(layer, field, v,
                     "distribution truncated_normal, untruncated_normal or uniform");
      }
    }
  }
  *out = init;
  return CONV1DT_OK;
}

static conv1dt_status get_regularizer(const char *layer, json_object *lcfg, const char *field,
                                      conv1dt_regularizer *out) {
  json_object *v, *c;
  const char *cls;
  if (!json_object_object_get_ex(lcfg, field, &v) || v == NULL) return CONV1DT_OK; /* none */
  CONV1DT_CHECK(object_form(layer, field, v, &cls, &c));
  conv1dt_regularizer reg;
  conv1dt_status st = conv1dt_regularizer_from_name(cls, &reg);
  if (st != CONV1DT_OK) return name_error(st, layer, field, v);
  if (c) {
    CONV1DT_CHECK(get_double(layer, field, c, "l1", &reg.l1));
    CONV1DT_CHECK(get_double(layer, field, c, "l2", &reg.l2));
    CONV1DT_CHECK(get_double(layer, field, c, "factor", &reg.factor));
    const char *mode = get_string(c, "mode");
    if (mode) reg.mode_columns = strcmp(mode, "columns") == 0;
  }
  *out = reg;
  return CONV1DT_OK;
}

static conv1dt_status get_constraint(const char *layer, json_object *lcfg, const char *field,
                                     conv1dt_constraint *out) {
  json_object *v, *c, *axis;
  const char *cls;
  if (!json_object_object_get_ex(lcfg, field, &v) || v == NULL) return CONV1DT_OK; /* none */
  CONV1DT_CHECK(object_form(layer, field, v, &cls, &c));
  conv1dt_constraint con;
  conv1dt_status st = conv1dt_constraint_from_name(cls, &con);
  if (st != CONV1DT_OK) return name_error(st, layer, field, v);
  if (c) {
    CONV1DT_CHECK(get_double(layer, field, c, "max_value", &con.max_value));
    CONV1DT_CHECK(get_double(layer, field, c, "min_value", &con.min_value));
    CONV1DT_CHECK(get_double(layer, field, c, "rate", &con.rate));
    if (json_object_object_get_ex(c, "axis", &axis)) {
      /* An integer, a list of them, or null (the whole weight). */
      if (axis == NULL) {
        con.num_axes = 0;
      } else if (json_object_is_type(axis, json_type_int)) {
        con.axes[0] = (int)json_object_get_int(axis);
        con.num_axes = 1;
      } else if (json_object_is_type(axis, json_type_array) &&
                 json_object_array_length(axis) <= CONV1DT_MAX_AXES) {
        con.num_axes = (int)json_object_array_length(axis);
        for (int i = 0; i < con.num_axes; i++) {
          json_object *a = json_object_array_get_idx(axis, (size_t)i);
          if (!json_object_is_type(a, json_type_int))
            return bad(layer, field, v, "axis: an integer, a list of integers or null");
          con.axes[i] = (int)json_object_get_int(a);
        }
      } else {
        return bad(layer, field, v, "axis: an integer, a list of up to 4 integers or null");
      }
    }
  }
  *out = con;
  return CONV1DT_OK;
}

/* The activation: a name, or a serialized object whose config is the name (Keras 3 writes
 * {"class_name": "function", "config": "relu", ...} for functions in some contexts). */
static conv1dt_status get_activation(const char *layer, json_object *lcfg, const char **out) {
  json_object *v;
  if (!json_object_object_get_ex(lcfg, "activation", &v) || v == NULL) return CONV1DT_OK;
  const char *name = NULL;
  if (json_object_is_type(v, json_type_string)) {
    name = json_object_get_string(v);
  } else if (json_object_is_type(v, json_type_object)) {
    json_object *c;
    if (json_object_object_get_ex(v, "config", &c) && json_object_is_type(c, json_type_string))
      name = json_object_get_string(c);
    else
      name = get_string(v, "class_name");
  }
  if (!name) return bad(layer, "activation", v, "an activation name");
  conv1dt_status st = conv1dt_activation_check(name, out);
  if (st != CONV1DT_OK) return name_error(st, layer, "activation", v);
  return CONV1DT_OK;
}

/* The dtype: a string, a DTypePolicy object, or absent (Keras's float32). */
static conv1dt_status get_dtype(const char *layer, json_object *lcfg, conv1dt_dtype *out) {
  json_object *v;
  *out = CONV1DT_FLOAT32;
  if (!json_object_object_get_ex(lcfg, "dtype", &v) || v == NULL) return CONV1DT_OK;
  const char *name = NULL;
  if (json_object_is_type(v, json_type_string)) {
    name = json_object_get_string(v);
  } else if (json_object_is_type(v, json_type_object)) {
    json_object *c;
    if (json_object_object_get_ex(v, "config", &c) && json_object_is_type(c, json_type_object))
      name = get_string(c, "name");
  }
  if (!name) return bad(layer, "dtype", v, "a dtype name or a DTypePolicy");
  if (strcmp(name, "float32") == 0)
    *out = CONV1DT_FLOAT32;
  else if (strcmp(name, "float64") == 0)
    *out = CONV1DT_FLOAT64;
  else
    return conv1dt__fail(CONV1DT_ERROR_UNSUPPORTED,
                         "Keras config of layer '%s': field 'dtype' is %.200s; conv1dt computes "
                         "in float32 or float64 only",
                         layer, show(v));
  return CONV1DT_OK;
}

/* Fields that do not change the computation. Anything else unknown is refused. */
static bool ignored_field(const char *key) {
  static const char *const names[] = {"name",        "trainable",   "batch_input_shape",
                                      "batch_shape", "input_shape", "autocast"};
  for (size_t i = 0; i < sizeof names / sizeof *names; i++)
    if (strcmp(key, names[i]) == 0) return true;
  return false;
}

static const char *const KNOWN[] = {"filters",
                                    "kernel_size",
                                    "strides",
                                    "padding",
                                    "output_padding",
                                    "data_format",
                                    "dilation_rate",
                                    "activation",
                                    "use_bias",
                                    "kernel_initializer",
                                    "bias_initializer",
                                    "kernel_regularizer",
                                    "bias_regularizer",
                                    "activity_regularizer",
                                    "kernel_constraint",
                                    "bias_constraint",
                                    "dtype",
                                    "groups"};

static conv1dt_status map_layer(json_object *lcfg, conv1dt__keras_layer *out) {
  const char *name = get_string(lcfg, "name");
  const char *layer = name ? name : "(unnamed)";
  json_object_object_foreach(lcfg, key, val) {
    (void)val;
    bool known = ignored_field(key);
    for (size_t i = 0; !known && i < sizeof KNOWN / sizeof *KNOWN; i++)
      known = !strcmp(key, KNOWN[i]);
    if (!known)
      return conv1dt__fail(CONV1DT_ERROR_UNSUPPORTED,
                           "Keras config of layer '%s': unknown field '%.100s' (value %.200s)",
                           layer, key, show(val));
  }
  json_object *v;
  if (!json_object_object_get_ex(lcfg, "filters", &v))
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "Keras config of layer '%s': field 'filters' is missing", layer);
  if (!json_object_object_get_ex(lcfg, "kernel_size", &v))
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "Keras config of layer '%s': field 'kernel_size' is missing", layer);
  conv1dt_config cfg = conv1dt_config_default(1, 1);
  CONV1DT_CHECK(get_int(layer, lcfg, "filters", false, &cfg.filters));
  CONV1DT_CHECK(get_int(layer, lcfg, "kernel_size", false, &cfg.kernel_size));
  CONV1DT_CHECK(get_int(layer, lcfg, "strides", false, &cfg.strides));
  CONV1DT_CHECK(get_int(layer, lcfg, "output_padding", true, &cfg.output_padding));
  CONV1DT_CHECK(get_int(layer, lcfg, "dilation_rate", false, &cfg.dilation_rate));
  int64_t groups = 1;
  CONV1DT_CHECK(get_int(layer, lcfg, "groups", false, &groups));
  if (groups != 1)
    return conv1dt__fail(CONV1DT_ERROR_UNSUPPORTED,
                         "Keras config of layer '%s': field 'groups' is %lld; Conv1DTranspose "
                         "has 1 group",
                         layer, (long long)groups);
  const char *text;
  conv1dt_status st;
  if (json_object_object_get_ex(lcfg, "padding", &v)) {
    if (!(text = get_string(lcfg, "padding"))) return bad(layer, "padding", v, "valid or same");
    if ((st = conv1dt_padding_from_string(text, &cfg.padding)) != CONV1DT_OK)
      return name_error(st, layer, "padding", v);
  }
  /* data_format null is Keras's image_data_format(), channels_last unless configured. */
  if (json_object_object_get_ex(lcfg, "data_format", &v) && v != NULL) {
    if (!(text = get_string(lcfg, "data_format")))
      return bad(layer, "data_format", v, "channels_last or channels_first");
    if ((st = conv1dt_data_format_from_string(text, &cfg.data_format)) != CONV1DT_OK)
      return name_error(st, layer, "data_format", v);
  }
  CONV1DT_CHECK(get_activation(layer, lcfg, &cfg.activation));
  if (json_object_object_get_ex(lcfg, "use_bias", &v)) {
    if (!json_object_is_type(v, json_type_boolean))
      return bad(layer, "use_bias", v, "true or false");
    cfg.use_bias = json_object_get_boolean(v);
  }
  CONV1DT_CHECK(get_initializer(layer, lcfg, "kernel_initializer", &cfg.kernel_initializer));
  CONV1DT_CHECK(get_initializer(layer, lcfg, "bias_initializer", &cfg.bias_initializer));
  CONV1DT_CHECK(get_regularizer(layer, lcfg, "kernel_regularizer", &cfg.kernel_regularizer));
  CONV1DT_CHECK(get_regularizer(layer, lcfg, "bias_regularizer", &cfg.bias_regularizer));
  CONV1DT_CHECK(get_regularizer(layer, lcfg, "activity_regularizer", &cfg.activity_regularizer));
  CONV1DT_CHECK(get_constraint(layer, lcfg, "kernel_constraint", &cfg.kernel_constraint));
  CONV1DT_CHECK(get_constraint(layer, lcfg, "bias_constraint", &cfg.bias_constraint));
  CONV1DT_CHECK(get_dtype(layer, lcfg, &out->dtype));
  out->cfg = cfg;
  snprintf(out->name, sizeof out->name, "%s", name ? name : "");
  return CONV1DT_OK;
}

/* ---- finding the layer ---------------------------------------------------------------------- */

typedef struct {
  const char *want;      /* NULL: any Conv1DTranspose */
  json_object *found;    /* the layer's config dict */
  char found_path[1024]; /* its h5 path (conv1dt__keras_layer.h5_path) */
  const char *other;     /* class of a layer named `want` that is not a Conv1DTranspose */
  int64_t count;         /* Conv1DTranspose layers seen */
  char *list;            /* names seen, one per line (when listing) */
  size_t list_size, list_len;
} search_t;

static void note_name(search_t *s, const char *name) {
  if (!s->list) return;
  int n = snprintf(s->list + s->list_len, s->list_size - s->list_len, "%s\n", name);
  if (n > 0)
    s->list_len = conv1dt__min64((int64_t)(s->list_len + (size_t)n), (int64_t)s->list_size);
}

/* Keras's naming.to_snake_case of a class name: "Conv1DTranspose" -> "conv1d_transpose". An
 * underscore goes before an upper-case letter that starts a capitalised word, and between a
 * lower-case letter and an upper-case one. */
static void snake_case(const char *cls, char *out, size_t size) {
  size_t n = 0;
  for (size_t i = 0; cls[i] && n + 3 < size; i++) {
    const char c = cls[i], prev = i ? cls[i - 1] : 0, next = cls[i + 1];
    const bool upper = c >= 'A' && c <= 'Z';
    const bool word = upper && next >= 'a' && next <= 'z' && i > 0;
    const bool hump = upper && prev >= 'a' && prev <= 'z';
    if ((word || hump) && n && out[n - 1] != '_') out[n++] = '_';
    out[n++] = upper ? (char)(c - 'A' + 'a') : c;
  }
  out[n] = '\0';
}

static void visit(json_object *node, search_t *s, const char *path);

/* A model's "layers": each child's path is <path>layers/<snake class>[_n], n counting the
 * earlier siblings of the same class (saving_lib's _save_container_state). */
static void visit_layers(json_object *layers, search_t *s, const char *path) {
  const size_t count = json_object_array_length(layers);
  for (size_t i = 0; i < count; i++) {
    json_object *child = json_object_array_get_idx(layers, i);
    const char *cls =
        json_object_is_type(child, json_type_object) ? get_string(child, "class_name") : NULL;
    char snake[128], child_path[1024];
    snake_case(cls ? cls : "", snake, sizeof snake);
    int same = 0;
    for (size_t j = 0; j < i; j++) {
      json_object *sib = json_object_array_get_idx(layers, j);
      const char *c =
          json_object_is_type(sib, json_type_object) ? get_string(sib, "class_name") : NULL;
      if (c && cls && strcmp(c, cls) == 0) same++;
    }
    int n = same ? snprintf(child_path, sizeof child_path, "%slayers/%s_%d", path, snake, same)
                 : snprintf(child_path, sizeof child_path, "%slayers/%s", path, snake);
    if (n < 0 || (size_t)n >= sizeof child_path) child_path[0] = '\0'; /* too deep: no path */
    visit(child, s, child_path);
  }
}

/* Visits a serialized layer {"class_name", "config"} whose weights live at `path` in Keras 3's
 * layout; recurses into models' "layers". */
static void visit(json_object *node, search_t *s, const char *path) {
  if (!json_object_is_type(node, json_type_object)) return;
  const char *cls = get_string(node, "class_name");
  json_object *cfg, *layers;
  if (!json_object_object_get_ex(node, "config", &cfg) ||
      !json_object_is_type(cfg, json_type_object))
    return;
  const char *name = get_string(cfg, "name");
  if (is_conv1dt_class(cls)) {
    s->count++;
    note_name(s, name ? name : "");
    if (!s->found && (!s->want || (name && strcmp(name, s->want) == 0))) {
      s->found = cfg;
      snprintf(s->found_path, sizeof s->found_path, "%s", path);
    }
  } else if (s->want && name && strcmp(name, s->want) == 0 && !s->other) {
    s->other = cls ? cls : "(no class)";
  }
  if (json_object_object_get_ex(cfg, "layers", &layers) &&
      json_object_is_type(layers, json_type_array)) {
    char inner[1024];
    int n = snprintf(inner, sizeof inner, "%s%s", path, path[0] ? "/" : "");
    visit_layers(layers, s, n >= 0 && (size_t)n < sizeof inner ? inner : "");
  }
}

/* json-c's default depth (32) bounds the recursion above. */
static conv1dt_status parse(const char *json, size_t len, json_object **out) {
  if (len > INT32_MAX)
    return conv1dt__fail(CONV1DT_ERROR_SIZE_OVERFLOW, "Keras JSON of %zu bytes is too large", len);
  json_tokener *tok = json_tokener_new();
  if (!tok) return conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY, "out of memory parsing Keras JSON");
  json_object *root = json_tokener_parse_ex(tok, json, (int)len);
  enum json_tokener_error err = json_tokener_get_error(tok);
  size_t used = json_tokener_get_parse_end(tok);
  json_tokener_free(tok);
  if (!root || err != json_tokener_success) {
    json_object_put(root);
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE, "not valid Keras JSON: %s at byte %zu",
                         err == json_tokener_continue ? "unexpected end of text"
                                                      : json_tokener_error_desc(err),
                         used);
  }
  for (size_t i = used; i < len; i++)
    if (json[i] != ' ' && json[i] != '\n' && json[i] != '\r' && json[i] != '\t' &&
        json[i] != '\0') {
      json_object_put(root);
      return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                           "not valid Keras JSON: text after the end of the value at byte %zu", i);
    }
  if (!json_object_is_type(root, json_type_object)) {
    json_object_put(root);
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "not a Keras config: the JSON is not an object");
  }
  *out = root;
  return CONV1DT_OK;
}

/* A bare get_config() dict has the layer's fields at the top, no class_name. */
static bool is_bare_layer_config(json_object *root) {
  json_object *v;
  return !json_object_object_get_ex(root, "class_name", &v) &&
         (json_object_object_get_ex(root, "filters", &v) ||
          json_object_object_get_ex(root, "kernel_size", &v));
}

static void search(json_object *root, search_t *s) {
  if (is_bare_layer_config(root)) {
    const char *name = get_string(root, "name");
    s->count++;
    note_name(s, name ? name : "");
    if (!s->want || (name && strcmp(name, s->want) == 0)) s->found = root;
  } else {
    visit(root, s, "");
  }
}

conv1dt_status conv1dt__keras_parse_config(const char *json, size_t len, const char *layer_name,
                                           conv1dt__keras_layer *out) {
  json_object *root;
  CONV1DT_CHECK(parse(json, len, &root));
  search_t s = {layer_name, NULL, "", NULL, 0, NULL, 0, 0};
  search(root, &s);
  conv1dt_status st;
  if (s.found && (layer_name || s.count == 1)) {
    st = map_layer(s.found, out);
    if (st == CONV1DT_OK) snprintf(out->h5_path, sizeof out->h5_path, "%s", s.found_path);
  } else if (s.other) {
    st = conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE, "layer '%s' is a %.100s, not a Conv1DTranspose",
                       layer_name, s.other);
  } else if (layer_name) {
    st = conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                       "no layer named '%.200s' in the Keras config (%lld Conv1DTranspose "
                       "layer%s there)",
                       layer_name, (long long)s.count, s.count == 1 ? " is" : "s are");
  } else if (s.count == 0) {
    st = conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                       "the Keras config holds no Conv1DTranspose layer");
  } else {
    st = conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                       "the Keras config holds %lld Conv1DTranspose layers: name one",
                       (long long)s.count);
  }
  json_object_put(root);
  return st;
}

conv1dt_status conv1dt__keras_list_layers(const char *json, size_t len, char *buffer, size_t size,
                                          int64_t *count) {
  json_object *root;
  CONV1DT_CHECK(parse(json, len, &root));
  /* Listed into scratch first: the caller's buffer changes only on success. */
  char *tmp = buffer && size ? malloc(size) : NULL;
  if (buffer && size && !tmp) {
    json_object_put(root);
    return conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY, "out of memory listing layers");
  }
  search_t s = {NULL, NULL, "", NULL, 0, tmp, tmp ? size : 0, 0};
  if (tmp) tmp[0] = '\0';
  search(root, &s);
  json_object_put(root);
  if (buffer && (size == 0 || s.list_len >= size)) {
    free(tmp);
    return conv1dt__fail(CONV1DT_ERROR_BUFFER_TOO_SMALL, "the layer names need more than %zu bytes",
                         size);
  }
  if (tmp) memcpy(buffer, tmp, s.list_len + 1);
  free(tmp);
  *count = s.count;
  return CONV1DT_OK;
}
