/* A layer's kernel and bias from the HDF5 files Keras writes, opened from memory (libhdf5's core
 * driver over a file image) so one reader serves files on disk and the archive's entry.
 *   Keras 3 (saving_lib's H5IOStore): groups are named after the objects' classes
 *     (layers/conv1d_transpose_1/vars); the "vars" group carries the layer's name in its "name"
 *     attribute and holds the variables in order: "0" kernel, "1" bias.
 *   Keras 2 (legacy h5 format, save_weights and whole models): datasets
 *     [model_weights/]<group>/<layer name>/kernel:0 and .../bias:0 (Keras 3's legacy writer drops
 *     the ":0").
 * libhdf5 prints its error stack by default; it is silenced for the duration of each call, since
 * the library never prints. */
#include "internal.h"
#include "keras.h"

#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

void conv1dt__keras_weights_free(conv1dt__keras_weights *w) {
  free(w->kernel);
  free(w->bias);
  w->kernel = w->bias = NULL;
}

/* Silences libhdf5's error printing until restore_errors. */
typedef struct {
  H5E_auto2_t func;
  void *data;
} saved_errors;
static void silence_errors(saved_errors *s) {
  H5Eget_auto2(H5E_DEFAULT, &s->func, &s->data);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}
static void restore_errors(const saved_errors *s) {
  H5Eset_auto2(H5E_DEFAULT, s->func, s->data);
}

static conv1dt_status open_image(const void *image, size_t size, hid_t *file) {
  static const unsigned char signature[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
  size_t base = 0;
  /* The superblock (and so address 0) sits at 0 or after a user block of 512 * 2^n bytes. */
  while (base <= size && size - base >= 8 && memcmp((const char *)image + base, signature, 8) != 0)
    base = base ? base * 2 : 512;
  /* Damage libhdf5 1.10 would trust, crashing or hanging on it: refused before it reads. */
  char why[256];
  if (base < size && !conv1dt__keras_h5_check(image, size, base, why, sizeof why))
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE, "corrupted HDF5 file: %s", why);
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  if (fapl < 0) return conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY, "cannot start libhdf5");
  /* The image is copied by libhdf5 (no flags), read-only, never written back. */
  if (H5Pset_fapl_core(fapl, 1 << 16, 0) < 0 || H5Pset_file_image(fapl, (void *)image, size) < 0) {
    H5Pclose(fapl);
    return conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY, "cannot hand the HDF5 file to libhdf5");
  }
  *file = H5Fopen("conv1dt-keras-image.h5", H5F_ACC_RDONLY, fapl);
  H5Pclose(fapl);
  if (*file < 0)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "not a readable HDF5 file (truncated or corrupted?)");
  return CONV1DT_OK;
}

/* Reads a string attribute (fixed or variable length) into buf; false if absent or not text. */
static bool read_string_attr(hid_t obj, const char *attr_name, char *buf, size_t size) {
  if (H5Aexists(obj, attr_name) <= 0) return false;
  hid_t attr = H5Aopen(obj, attr_name, H5P_DEFAULT);
  if (attr < 0) return false;
  bool ok = false;
  hid_t type = H5Aget_type(attr), space = H5Aget_space(attr);
  if (type >= 0 && space >= 0 && H5Tget_class(type) == H5T_STRING &&
      H5Sget_simple_extent_npoints(space) == 1) {
    if (H5Tis_variable_str(type) > 0) {
      char *s = NULL;
      hid_t mem = H5Tget_native_type(type, H5T_DIR_ASCEND);
      if (mem >= 0 && H5Aread(attr, mem, &s) >= 0 && s) {
        size_t n = strlen(s);
        if (n < size) {
          memcpy(buf, s, n + 1);
          ok = true;
        }
        H5free_memory(s);
      }
      if (mem >= 0) H5Tclose(mem);
    } else {
      size_t n = H5Tget_size(type);
      if (n > 0 && n < size) {
        char *tmp = calloc(n + 1, 1);
        if (tmp && H5Aread(attr, type, tmp) >= 0) {
          memcpy(buf, tmp, n);
          buf[n] = '\0';
          ok = true;
        }
        free(tmp);
      }
    }
  }
  if (space >= 0) H5Sclose(space);
  if (type >= 0) H5Tclose(type);
  H5Aclose(attr);
  return ok;
}

#define PATH_MAX_LEN 1024
typedef struct {
  const char *name;
  char k3[PATH_MAX_LEN];     /* Keras 3: the layer's "vars" group */
  char kernel[PATH_MAX_LEN]; /* Keras 2: the kernel dataset */
  char bias[PATH_MAX_LEN];   /* Keras 2: the bias dataset */
} finder;

/* The last component of path and the one before it (as pointers into path / lengths). */
static void last_two(const char *path, const char **last, const char **prev, size_t *prev_len) {
  const char *slash = strrchr(path, '/');
  *last = slash ? slash + 1 : path;
  *prev = NULL;
  *prev_len = 0;
  if (!slash) return;
  const char *p = slash;
  while (p > path && p[-1] != '/') p--;
  *prev = p;
  *prev_len = (size_t)(slash - p);
}

static herr_t visit_link(hid_t root, const char *path, const H5L_info_t *info, void *data) {
  finder *f = data;
  if (info->type != H5L_TYPE_HARD || strlen(path) >= PATH_MAX_LEN) return 0;
  const char *last, *prev;
  size_t prev_len;
  last_two(path, &last, &prev, &prev_len);
  const size_t nlen = strlen(f->name);
  if (strcmp(last, "vars") == 0 && !f->k3[0]) {
    char attr[512];
    hid_t g = H5Gopen2(root, path, H5P_DEFAULT);
    if (g >= 0) {
      if (read_string_attr(g, "name", attr, sizeof attr) && strcmp(attr, f->name) == 0)
        strcpy(f->k3, path);
      H5Gclose(g);
    }
  } else if (prev && prev_len == nlen && strncmp(prev, f->name, nlen) == 0) {
    if (!f->kernel[0] && (strcmp(last, "kernel:0") == 0 || strcmp(last, "kernel") == 0))
      strcpy(f->kernel, path);
    else if (!f->bias[0] && (strcmp(last, "bias:0") == 0 || strcmp(last, "bias") == 0))
      strcpy(f->bias, path);
  }
  return 0;
}

/* Reads the float dataset at `path` (rank `rank`) converted to dtype; dims into shape. */
static conv1dt_status read_dataset(hid_t file, const char *path, int rank, conv1dt_dtype dtype,
                                   int64_t *shape, void **out) {
  if (H5Lexists(file, path, H5P_DEFAULT) <= 0)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE, "the HDF5 file has no dataset '%s'", path);
  hid_t ds = H5Dopen2(file, path, H5P_DEFAULT);
  if (ds < 0)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE, "cannot open the HDF5 dataset '%s'", path);
  conv1dt_status st = CONV1DT_OK;
  hid_t space = H5Dget_space(ds), type = H5Dget_type(ds);
  hsize_t dims[8];
  int nd = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
  if (type < 0 || H5Tget_class(type) != H5T_FLOAT) {
    st = conv1dt__fail(CONV1DT_ERROR_UNSUPPORTED,
                       "the HDF5 dataset '%s' does not hold floating-point numbers", path);
  } else if (nd != rank || H5Sget_simple_extent_dims(space, dims, NULL) != rank) {
    st = conv1dt__fail(CONV1DT_ERROR_SHAPE_MISMATCH,
                       "the HDF5 dataset '%s' has rank %d; expected %d", path, nd, rank);
  } else {
    int64_t count = 1;
    for (int i = 0; i < rank; i++) {
      if (dims[i] > (hsize_t)INT64_MAX || !conv1dt__mul64(count, (int64_t)dims[i], &count)) {
        st = conv1dt__fail(CONV1DT_ERROR_SIZE_OVERFLOW, "the HDF5 dataset '%s' is too large", path);
        break;
      }
      shape[i] = (int64_t)dims[i];
    }
    const size_t item = dtype == CONV1DT_FLOAT32 ? sizeof(float) : sizeof(double);
    if (st == CONV1DT_OK && (uint64_t)count > SIZE_MAX / item)
      st = conv1dt__fail(CONV1DT_ERROR_SIZE_OVERFLOW, "the HDF5 dataset '%s' is too large", path);
    if (st == CONV1DT_OK) {
      void *buf = malloc(count ? (size_t)count * item : 1);
      if (!buf) {
        st = conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY, "out of memory reading '%s'", path);
      } else if (H5Dread(ds, dtype == CONV1DT_FLOAT32 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE,
                         H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        free(buf);
        st =
            conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                          "cannot read the HDF5 dataset '%s' (truncated or corrupted file?)", path);
      } else {
        *out = buf;
      }
    }
  }
  if (type >= 0) H5Tclose(type);
  if (space >= 0) H5Sclose(space);
  H5Dclose(ds);
  return st;
}

/* The "vars" group at h5_path + "/vars" when it carries no "name" attribute (a writer that did
 * not record names); one that names another layer is not this layer's. */
static bool unnamed_vars_at(hid_t file, const char *h5_path, char *out) {
  char path[PATH_MAX_LEN];
  if (!h5_path || !h5_path[0] ||
      snprintf(path, sizeof path, "%s/vars", h5_path) >= (int)sizeof path)
    return false;
  /* H5Lexists needs each intermediate link to exist: check them one by one. */
  for (char *p = path; (p = strchr(p, '/')); p++) {
    *p = '\0';
    htri_t there = H5Lexists(file, path, H5P_DEFAULT);
    *p = '/';
    if (there <= 0) return false;
  }
  if (H5Lexists(file, path, H5P_DEFAULT) <= 0) return false;
  hid_t g = H5Gopen2(file, path, H5P_DEFAULT);
  if (g < 0) return false;
  const bool unnamed = H5Aexists(g, "name") == 0;
  H5Gclose(g);
  if (unnamed) strcpy(out, path);
  return unnamed;
}

static conv1dt_status find_and_read(hid_t file, const char *name, const char *h5_path,
                                    conv1dt_dtype dtype, conv1dt__keras_weights *w) {
  finder *f = calloc(1, sizeof *f);
  if (!f) return conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY, "out of memory");
  f->name = name;
  if (H5Lvisit(file, H5_INDEX_NAME, H5_ITER_INC, visit_link, f) < 0) {
    free(f);
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "cannot walk the HDF5 file (truncated or corrupted?)");
  }
  char kpath[PATH_MAX_LEN + 2], bpath[PATH_MAX_LEN + 2];
  bool has_bias;
  if (!f->k3[0] && !f->kernel[0]) unnamed_vars_at(file, h5_path, f->k3);
  if (f->k3[0]) {
    snprintf(kpath, sizeof kpath, "%s/0", f->k3);
    snprintf(bpath, sizeof bpath, "%s/1", f->k3);
    has_bias = H5Lexists(file, bpath, H5P_DEFAULT) > 0;
  } else if (f->kernel[0]) {
    strcpy(kpath, f->kernel);
    strcpy(bpath, f->bias);
    has_bias = f->bias[0] != '\0';
  } else {
    free(f);
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "the weights file holds no weights for layer '%s'", name);
  }
  free(f);
  conv1dt__keras_weights r = {{0, 0, 0}, -1, NULL, NULL};
  conv1dt_status st = read_dataset(file, kpath, 3, dtype, r.kshape, &r.kernel);
  if (st == CONV1DT_OK && has_bias) st = read_dataset(file, bpath, 1, dtype, &r.bias_len, &r.bias);
  if (st != CONV1DT_OK) {
    conv1dt__keras_weights_free(&r);
    return st;
  }
  *w = r;
  return CONV1DT_OK;
}

conv1dt_status conv1dt__keras_h5_weights(const void *image, size_t size, const char *name,
                                         const char *h5_path, conv1dt_dtype dtype,
                                         conv1dt__keras_weights *w) {
  saved_errors saved;
  silence_errors(&saved);
  hid_t file;
  conv1dt_status st = open_image(image, size, &file);
  if (st == CONV1DT_OK) {
    st = find_and_read(file, name, h5_path, dtype, w);
    H5Fclose(file);
  }
  restore_errors(&saved);
  return st;
}

/* Keras 2 stores the model's JSON as a string attribute of the root (bytes or str). */
static conv1dt_status read_model_config(hid_t file, char **json, size_t *len) {
  if (H5Aexists(file, "model_config") <= 0)
    return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "the HDF5 file holds no model config (a weights-only file: give the "
                         "config separately)");
  hid_t attr = H5Aopen(file, "model_config", H5P_DEFAULT);
  if (attr < 0) return conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE, "cannot read model_config");
  conv1dt_status st = CONV1DT_OK;
  hid_t type = H5Aget_type(attr), space = H5Aget_space(attr);
  if (type < 0 || space < 0 || H5Tget_class(type) != H5T_STRING ||
      H5Sget_simple_extent_npoints(space) != 1) {
    st = conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE, "model_config is not a string attribute");
  } else if (H5Tis_variable_str(type) > 0) {
    char *s = NULL;
    hid_t mem = H5Tget_native_type(type, H5T_DIR_ASCEND);
    if (mem < 0 || H5Aread(attr, mem, &s) < 0 || !s) {
      st = conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE, "cannot read model_config");
    } else {
      *len = strlen(s);
      if (!(*json = malloc(*len + 1)))
        st = conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY, "out of memory");
      else
        memcpy(*json, s, *len + 1);
    }
    if (s) H5free_memory(s);
    if (mem >= 0) H5Tclose(mem);
  } else {
    size_t n = H5Tget_size(type);
    char *buf = n && n < SIZE_MAX ? calloc(n + 1, 1) : NULL;
    if (!buf) {
      st = conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY, "out of memory");
    } else if (H5Aread(attr, type, buf) < 0) {
      free(buf);
      st = conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE, "cannot read model_config");
    } else {
      *json = buf;
      *len = strlen(buf);
    }
  }
  if (space >= 0) H5Sclose(space);
  if (type >= 0) H5Tclose(type);
  H5Aclose(attr);
  return st;
}

conv1dt_status conv1dt__keras_h5_model_config(const void *image, size_t size, char **json,
                                              size_t *len) {
  saved_errors saved;
  silence_errors(&saved);
  hid_t file;
  conv1dt_status st = open_image(image, size, &file);
  if (st == CONV1DT_OK) {
    st = read_model_config(file, json, len);
    H5Fclose(file);
  }
  restore_errors(&saved);
  return st;
}
