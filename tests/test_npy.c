/* Check suite for tools/npy.c: round trips, numpy-written files, hand-built headers and every
 * error path. numpy-written fixtures live in $CONV1DT_FIXTURES/npy (made once with numpy 1.24). */
#define _XOPEN_SOURCE 700

#include "cli_harness.h"
#include "npy.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define ERRLEN 512

/* ------------------------------------------------------------------------------------------- */
/* Helpers */

static char tmpdir[4096];

static void make_tmpdir(void) {
  const char *base = getenv("TMPDIR");
  snprintf(tmpdir, sizeof tmpdir, "%s/test_npy.XXXXXX", base && *base ? base : "/tmp");
  ck_assert_msg(mkdtemp(tmpdir) != NULL, "mkdtemp: %s", strerror(errno));
}

static void remove_tmpdir(void) {
  if (tmpdir[0]) remove_tree(tmpdir);
  tmpdir[0] = '\0';
}

static void tmp_path(char *out, size_t size, const char *name) {
  snprintf(out, size, "%s/%s", tmpdir, name);
}

static void fixture_path(char *out, size_t size, const char *name) {
  const char *root = getenv("CONV1DT_FIXTURES");
  ck_assert_msg(root && *root, "CONV1DT_FIXTURES is not set (the tests/fixtures folder)");
  snprintf(out, size, "%s/npy/%s", root, name);
}

/* Loads a hand-built image and expects `status` with `needle` in the message. */
static void expect_buffer_error(const unsigned char *buf, size_t len, npy_status status,
                                const char *needle) {
  npy_array a;
  char err[ERRLEN];
  npy_status st = npy_load_buffer(buf, len, &a, err, sizeof err);
  ck_assert_msg(st == status, "status %s, expected %s (message: %s)", npy_status_name(st),
                npy_status_name(status), err);
  ck_assert_msg(strstr(err, needle) != NULL, "message '%s' lacks '%s'", err, needle);
  ck_assert_ptr_null(a.data);
}

static void expect_dict_error(const char *dict, npy_status status, const char *needle) {
  double d[4] = {1, 2, 3, 4};
  size_t len;
  unsigned char *buf = npy_image(1, 0, dict, d, sizeof d, &len);
  expect_buffer_error(buf, len, status, needle);
  free(buf);
}

static void expect_dict_ok(int major, const char *dict, int ndim, const int64_t *shape,
                           npy_dtype dtype) {
  double d[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  size_t count = 1;
  for (int i = 0; i < ndim; i++) count *= (size_t)shape[i];
  size_t len;
  unsigned char *buf = npy_image(major, 0, dict, d, count * (size_t)dtype, &len);
  npy_array a;
  char err[ERRLEN];
  npy_status st = npy_load_buffer(buf, len, &a, err, sizeof err);
  ck_assert_msg(st == NPY_OK, "%s: %s", dict, err);
  ck_assert_int_eq(a.dtype, dtype);
  ck_assert_int_eq(a.ndim, ndim);
  for (int i = 0; i < ndim; i++) ck_assert_int_eq(a.shape[i], shape[i]);
  ck_assert_uint_eq(a.count, count);
  ck_assert_uint_eq(a.nbytes, count * (size_t)dtype);
  ck_assert_int_eq(memcmp(a.data, d, a.nbytes), 0);
  npy_free(&a);
  free(buf);
}

/* ------------------------------------------------------------------------------------------- */
/* Round trips */

static const struct {
  int ndim;
  int64_t shape[4];
} shapes[] = {
    {0, {0}}, {1, {5}},          {2, {2, 3}},    {2, {0, 4}}, {3, {3, 0, 2}}, {3, {2, 3, 4}},
    {1, {0}}, {4, {1, 2, 1, 3}}, {3, {1, 1, 1}}, {1, {1000}}, {2, {7, 1}},    {3, {4, 21, 32}},
};

static void roundtrip(npy_dtype dtype, int atomic) {
  make_tmpdir();
  char path[4200], err[ERRLEN];
  tmp_path(path, sizeof path, "rt.npy");
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
    size_t count = 1;
    for (int i = 0; i < shapes[s].ndim; i++) count *= (size_t)shapes[s].shape[i];
    size_t nbytes = count * (size_t)dtype;
    void *data = malloc(nbytes ? nbytes : 1);
    ck_assert_ptr_nonnull(data);
    for (size_t i = 0; i < count; i++) {
      if (dtype == NPY_FLOAT32)
        ((float *)data)[i] = (float)i * 0.75f - 3.0f;
      else
        ((double *)data)[i] = (double)i / 3.0 - 1e-300;
    }
    npy_status st =
        atomic
            ? npy_save_atomic(path, dtype, shapes[s].ndim, shapes[s].shape, data, err, sizeof err)
            : npy_save(path, dtype, shapes[s].ndim, shapes[s].shape, data, err, sizeof err);
    ck_assert_msg(st == NPY_OK, "save: %s", err);
    npy_array a;
    st = npy_load(path, &a, err, sizeof err);
    ck_assert_msg(st == NPY_OK, "load: %s", err);
    ck_assert_int_eq(a.dtype, dtype);
    ck_assert_int_eq(a.ndim, shapes[s].ndim);
    for (int i = 0; i < a.ndim; i++) ck_assert_int_eq(a.shape[i], shapes[s].shape[i]);
    ck_assert_uint_eq(a.count, count);
    ck_assert_uint_eq(a.nbytes, nbytes);
    ck_assert_ptr_nonnull(a.data);
    ck_assert_int_eq(memcmp(a.data, data, nbytes), 0);
    npy_free(&a);
    ck_assert_ptr_null(a.data);

    /* The same bytes through the buffer reader, and the header's layout rules. */
    size_t len;
    unsigned char *file = read_all(path, &len);
    ck_assert_int_eq(file[6], 1);
    size_t hl = (size_t)file[8] | (size_t)file[9] << 8;
    ck_assert_uint_eq((10 + hl) % 64, 0);
    ck_assert_int_eq(file[10 + hl - 1], '\n');
    ck_assert_uint_eq(len, 10 + hl + nbytes);
    st = npy_load_buffer(file, len, &a, err, sizeof err);
    ck_assert_msg(st == NPY_OK, "load_buffer: %s", err);
    ck_assert_int_eq(memcmp(a.data, data, nbytes), 0);
    npy_free(&a);
    free(file);
    free(data);
  }
  if (atomic) ck_assert_int_eq(count_entries(tmpdir), 1); /* no temporaries left */
  remove_tmpdir();
}

START_TEST(test_roundtrip_f32) {
  roundtrip(NPY_FLOAT32, 0);
}
END_TEST

START_TEST(test_roundtrip_f64) {
  roundtrip(NPY_FLOAT64, 0);
}
END_TEST

START_TEST(test_roundtrip_atomic_f32) {
  roundtrip(NPY_FLOAT32, 1);
}
END_TEST

START_TEST(test_roundtrip_atomic_f64) {
  roundtrip(NPY_FLOAT64, 1);
}
END_TEST

START_TEST(test_roundtrip_rank32) {
  make_tmpdir();
  char path[4200], err[ERRLEN];
  tmp_path(path, sizeof path, "r32.npy");
  int64_t shape[NPY_MAX_DIMS];
  for (int i = 0; i < NPY_MAX_DIMS; i++) shape[i] = 1;
  shape[5] = 2;
  double d[2] = {-1.0, 2.5};
  ck_assert_int_eq(npy_save(path, NPY_FLOAT64, NPY_MAX_DIMS, shape, d, err, sizeof err), NPY_OK);
  npy_array a;
  ck_assert_int_eq(npy_load(path, &a, err, sizeof err), NPY_OK);
  ck_assert_int_eq(a.ndim, NPY_MAX_DIMS);
  ck_assert_int_eq(a.shape[5], 2);
  ck_assert_int_eq(memcmp(a.data, d, sizeof d), 0);
  npy_free(&a);
  remove_tmpdir();
}
END_TEST

START_TEST(test_header_padding_numpy_rule) {
  /* numpy: data starts at a multiple of 64; header ends in '\n'; padding is spaces. */
  unsigned char buf[4096];
  for (int ndim = 0; ndim <= NPY_MAX_DIMS; ndim++) {
    int64_t shape[NPY_MAX_DIMS];
    for (int i = 0; i < ndim; i++) shape[i] = (int64_t)1 << (i % 40);
    size_t n = npy_build_header(NPY_FLOAT32, ndim, shape, buf, sizeof buf);
    ck_assert_uint_gt(n, 0);
    ck_assert_uint_eq(n % 64, 0);
    ck_assert_int_eq(buf[n - 1], '\n');
    ck_assert_int_eq(buf[6], 1);
    ck_assert_uint_eq((size_t)buf[8] | (size_t)buf[9] << 8, n - 10);
  }
  /* Too small a buffer and bad arguments give 0. */
  int64_t s1 = 3, neg = -1;
  ck_assert_uint_eq(npy_build_header(NPY_FLOAT32, 1, &s1, buf, 32), 0);
  ck_assert_uint_eq(npy_build_header(NPY_FLOAT32, 1, &neg, buf, sizeof buf), 0);
  ck_assert_uint_eq(npy_build_header((npy_dtype)2, 1, &s1, buf, sizeof buf), 0);
  ck_assert_uint_eq(npy_build_header(NPY_FLOAT32, 33, &s1, buf, sizeof buf), 0);
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* numpy-written files */

static npy_array load_fixture(const char *name) {
  char path[4200], err[ERRLEN];
  fixture_path(path, sizeof path, name);
  npy_array a;
  npy_status st = npy_load(path, &a, err, sizeof err);
  ck_assert_msg(st == NPY_OK, "%s: %s", name, err);
  return a;
}

/* Our writer must reproduce numpy's file byte for byte. */
static void expect_same_bytes_as_numpy(const char *name, const npy_array *a) {
  char path[4200], ours[4200], err[ERRLEN];
  fixture_path(path, sizeof path, name);
  make_tmpdir();
  tmp_path(ours, sizeof ours, "ours.npy");
  ck_assert_int_eq(npy_save(ours, a->dtype, a->ndim, a->shape, a->data, err, sizeof err), NPY_OK);
  size_t l1, l2;
  unsigned char *b1 = read_all(path, &l1), *b2 = read_all(ours, &l2);
  ck_assert_uint_eq(l1, l2);
  ck_assert_msg(memcmp(b1, b2, l1) == 0, "%s: bytes differ from numpy's", name);
  free(b1);
  free(b2);
  remove_tmpdir();
}

START_TEST(test_numpy_f4_2x3) {
  npy_array a = load_fixture("f4_2x3.npy");
  ck_assert_int_eq(a.dtype, NPY_FLOAT32);
  ck_assert_int_eq(a.ndim, 2);
  ck_assert_int_eq(a.shape[0], 2);
  ck_assert_int_eq(a.shape[1], 3);
  const float *f = a.data;
  for (int i = 0; i < 6; i++) ck_assert_float_eq(f[i], (float)i * 0.5f - 1.0f);
  expect_same_bytes_as_numpy("f4_2x3.npy", &a);
  npy_free(&a);
}
END_TEST

START_TEST(test_numpy_f8_3) {
  npy_array a = load_fixture("f8_3.npy");
  ck_assert_int_eq(a.dtype, NPY_FLOAT64);
  ck_assert_int_eq(a.ndim, 1);
  ck_assert_int_eq(a.shape[0], 3);
  const double *d = a.data;
  ck_assert_double_eq(d[0], 1.5);
  ck_assert_double_eq(d[1], -2.25);
  ck_assert_double_eq(d[2], 1e300);
  expect_same_bytes_as_numpy("f8_3.npy", &a);
  npy_free(&a);
}
END_TEST

START_TEST(test_numpy_scalar) {
  npy_array a = load_fixture("f8_scalar.npy");
  ck_assert_int_eq(a.ndim, 0);
  ck_assert_uint_eq(a.count, 1);
  ck_assert_double_eq(*(const double *)a.data, 3.25);
  expect_same_bytes_as_numpy("f8_scalar.npy", &a);
  npy_free(&a);
}
END_TEST

START_TEST(test_numpy_empty) {
  npy_array a = load_fixture("f4_0x4.npy");
  ck_assert_int_eq(a.ndim, 2);
  ck_assert_int_eq(a.shape[0], 0);
  ck_assert_int_eq(a.shape[1], 4);
  ck_assert_uint_eq(a.count, 0);
  ck_assert_uint_eq(a.nbytes, 0);
  ck_assert_ptr_nonnull(a.data);
  expect_same_bytes_as_numpy("f4_0x4.npy", &a);
  npy_free(&a);
}
END_TEST

START_TEST(test_numpy_f8_3d) {
  npy_array a = load_fixture("f8_2x3x4.npy");
  ck_assert_int_eq(a.ndim, 3);
  ck_assert_int_eq(a.shape[2], 4);
  const double *d = a.data;
  for (int i = 0; i < 24; i++) ck_assert_double_eq(d[i], i / 8.0);
  expect_same_bytes_as_numpy("f8_2x3x4.npy", &a);
  npy_free(&a);
}
END_TEST

START_TEST(test_numpy_special_values) {
  npy_array a = load_fixture("f4_special.npy");
  const float *f = a.data;
  ck_assert(isnan(f[0]));
  ck_assert(isinf(f[1]) && f[1] > 0);
  ck_assert(isinf(f[2]) && f[2] < 0);
  ck_assert(f[3] == 0.0f && signbit(f[3]));
  ck_assert(f[4] > 0.0f && f[4] < 1e-44f);
  expect_same_bytes_as_numpy("f4_special.npy", &a);
  npy_free(&a);
}
END_TEST

START_TEST(test_numpy_v2_v3) {
  const char *names[] = {"v2_f8_2x2.npy", "v3_f8_2x2.npy"};
  for (int k = 0; k < 2; k++) {
    npy_array a = load_fixture(names[k]);
    ck_assert_int_eq(a.ndim, 2);
    ck_assert_int_eq(a.shape[0], 2);
    ck_assert_int_eq(a.shape[1], 2);
    const double *d = a.data;
    for (int i = 0; i < 4; i++) ck_assert_double_eq(d[i], i + 1.0);
    npy_free(&a);
  }
}
END_TEST

static void expect_fixture_error(const char *name, npy_status status, const char *needle) {
  char path[4200], err[ERRLEN];
  fixture_path(path, sizeof path, name);
  npy_array a;
  npy_status st = npy_load(path, &a, err, sizeof err);
  ck_assert_msg(st == status, "%s: status %s (%s)", name, npy_status_name(st), err);
  ck_assert_msg(strstr(err, needle) != NULL, "%s: message '%s' lacks '%s'", name, err, needle);
  ck_assert_ptr_null(a.data);
}

START_TEST(test_numpy_unsupported) {
  expect_fixture_error("be_f8.npy", NPY_ERR_UNSUPPORTED, "'>f8'");
  expect_fixture_error("be_f8.npy", NPY_ERR_UNSUPPORTED, "big-endian");
  expect_fixture_error("i4.npy", NPY_ERR_UNSUPPORTED, "'<i4'");
  expect_fixture_error("f2.npy", NPY_ERR_UNSUPPORTED, "'<f2'");
  expect_fixture_error("fortran_f8.npy", NPY_ERR_UNSUPPORTED,
                       "Fortran-order arrays are not supported");
  expect_fixture_error("structured.npy", NPY_ERR_UNSUPPORTED, "structured");
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* Hand-built headers: the parser's tolerance */

START_TEST(test_dict_variants) {
  const int64_t s2[] = {2}, s22[] = {2, 2}, s8[] = {8};
  expect_dict_ok(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 1, s2,
                 NPY_FLOAT64);
  expect_dict_ok(1, "{'shape': (2,), 'fortran_order': False, 'descr': '<f8'}", 1, s2, NPY_FLOAT64);
  expect_dict_ok(1, "{ 'descr' : '<f8' ,  'fortran_order' : False , 'shape' : ( 2 , 2 ) , }", 2,
                 s22, NPY_FLOAT64);
  expect_dict_ok(1, "{\"descr\": \"<f4\", \"fortran_order\": False, \"shape\": (8,)}", 1, s8,
                 NPY_FLOAT32);
  expect_dict_ok(1, "{'descr':'<f4','fortran_order':False,'shape':(2,2)}", 2, s22, NPY_FLOAT32);
  expect_dict_ok(1, "\t{'descr': '<f8',\n 'fortran_order': False,\r\n 'shape': (2L, 2L)}\t", 2, s22,
                 NPY_FLOAT64);
  expect_dict_ok(1, "{'descr': '<f8', 'fortran_order': False, 'shape': ()}", 0, NULL, NPY_FLOAT64);
  expect_dict_ok(2, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 1, s2,
                 NPY_FLOAT64);
  expect_dict_ok(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", 2, s22,
                 NPY_FLOAT32);
}
END_TEST

START_TEST(test_unpadded_header) {
  /* Data need not be aligned on reading: old writers used 16 bytes. */
  const char *dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (1,)}\n";
  size_t dl = strlen(dict);
  unsigned char buf[256];
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  buf[8] = (unsigned char)dl;
  buf[9] = 0;
  memcpy(buf + 10, dict, dl);
  double v = 42.0;
  memcpy(buf + 10 + dl, &v, 8);
  npy_array a;
  char err[ERRLEN];
  ck_assert_int_eq(npy_load_buffer(buf, 10 + dl + 8, &a, err, sizeof err), NPY_OK);
  ck_assert_double_eq(*(double *)a.data, 42.0);
  npy_free(&a);
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* Error paths */

START_TEST(test_err_magic) {
  unsigned char buf[128];
  size_t len;
  unsigned char *good =
      npy_image(1, 0, "{'descr': '<f8', 'fortran_order': False, 'shape': (0,), }", NULL, 0, &len);
  memcpy(buf, good, len);
  buf[5] = 'Z';
  expect_buffer_error(buf, len, NPY_ERR_FORMAT, "magic");
  memcpy(buf, good, len);
  buf[0] = 0x92;
  expect_buffer_error(buf, len, NPY_ERR_FORMAT, "magic");
  expect_buffer_error((const unsigned char *)"PK\x03\x04", 4, NPY_ERR_FORMAT, "magic");
  expect_buffer_error(good, 0, NPY_ERR_FORMAT, "empty");
  expect_buffer_error(good, 4, NPY_ERR_TRUNCATED, "truncated");
  expect_buffer_error(good, 7, NPY_ERR_TRUNCATED, "truncated");
  expect_buffer_error(good, 9, NPY_ERR_TRUNCATED, "truncated");
  expect_buffer_error(good, 30, NPY_ERR_TRUNCATED, "truncated");
  free(good);
}
END_TEST

START_TEST(test_err_version) {
  const char *dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (0,), }";
  const int versions[][2] = {{0, 0}, {4, 0}, {1, 1}, {2, 5}, {255, 0}};
  for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
    size_t len;
    unsigned char *buf = npy_image(1, 0, dict, NULL, 0, &len);
    buf[6] = (unsigned char)versions[i][0];
    buf[7] = (unsigned char)versions[i][1];
    char needle[32];
    snprintf(needle, sizeof needle, "version %d.%d", versions[i][0], versions[i][1]);
    expect_buffer_error(buf, len, NPY_ERR_UNSUPPORTED, needle);
    free(buf);
  }
}
END_TEST

START_TEST(test_err_header_length) {
  /* A v2 header claiming 4 GiB, and one longer than the file. */
  unsigned char buf[16] = {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 0xff, 0xff, 0xff, 0xff, '{'};
  expect_buffer_error(buf, sizeof buf, NPY_ERR_FORMAT, "header length");
  unsigned char b1[16] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 200, 0, '{'};
  expect_buffer_error(b1, sizeof b1, NPY_ERR_TRUNCATED, "truncated");
  unsigned char b0[16] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0};
  expect_buffer_error(b0, 10, NPY_ERR_FORMAT, "malformed");
}
END_TEST

START_TEST(test_err_bad_dict) {
  const char *bad[] = {
      "['descr', '<f8']",
      "{'descr' '<f8', 'fortran_order': False, 'shape': (4,)}",
      "{'descr': '<f8, 'fortran_order': False, 'shape': (4,)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': [4]}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (4)}",
      "{'descr': '<f8', 'fortran_order': false, 'shape': (4,)}",
      "{'descr': '<f8', 'fortran_order': 0, 'shape': (4,)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (4,)} x",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (4,), 'extra': 1}",
      "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (4,)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (4,,)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (,)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (4.0,)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (4 4)}",
      "{'descr': '<f8', 'fortran_order': False, 'shape': (4,)",
      "{'descr': '<f8' 'fortran_order': False, 'shape': (4,)}",
      "{'descr': <f8, 'fortran_order': False, 'shape': (4,)}",
      "{'de\\x73cr': '<f8', 'fortran_order': False, 'shape': (4,)}",
      "{descr: '<f8', 'fortran_order': False, 'shape': (4,)}",
      "",
      "{",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect_dict_error(bad[i], NPY_ERR_FORMAT, "malformed");
}
END_TEST

START_TEST(test_err_missing_key) {
  expect_dict_error("{'descr': '<f8', 'fortran_order': False}", NPY_ERR_FORMAT,
                    "missing key 'shape'");
  expect_dict_error("{'fortran_order': False, 'shape': (4,)}", NPY_ERR_FORMAT,
                    "missing key 'descr'");
  expect_dict_error("{'descr': '<f8', 'shape': (4,)}", NPY_ERR_FORMAT,
                    "missing key 'fortran_order'");
  expect_dict_error("{}", NPY_ERR_FORMAT, "missing key");
}
END_TEST

START_TEST(test_err_dtypes) {
  const char *descrs[] = {">f8", ">f4",  "<i4", "<i8", "<f2", "|f4",  "=f8",
                          "f8",  "<c16", "|O",  "<U3", "|b1", "<f16", "<f4 "};
  for (size_t i = 0; i < sizeof descrs / sizeof descrs[0]; i++) {
    char dict[128], needle[32];
    snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (4,)}",
             descrs[i]);
    snprintf(needle, sizeof needle, "'%s'", descrs[i]);
    expect_dict_error(dict, NPY_ERR_UNSUPPORTED, needle);
  }
  expect_dict_error("{'descr': '>f8', 'fortran_order': False, 'shape': (4,)}", NPY_ERR_UNSUPPORTED,
                    "big-endian");
  expect_dict_error("{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (4,)}",
                    NPY_ERR_UNSUPPORTED, "[('a', '<f8')]");
}
END_TEST

START_TEST(test_err_fortran) {
  expect_dict_error("{'descr': '<f8', 'fortran_order': True, 'shape': (2, 2)}", NPY_ERR_UNSUPPORTED,
                    "Fortran-order arrays are not supported");
}
END_TEST

START_TEST(test_err_truncated_data) {
  double d[4] = {1, 2, 3, 4};
  size_t len;
  unsigned char *buf =
      npy_image(1, 0, "{'descr': '<f8', 'fortran_order': False, 'shape': (4,)}", d, 24, &len);
  expect_buffer_error(buf, len, NPY_ERR_TRUNCATED,
                      "truncated: expected 32 bytes of data, found 24");
  expect_buffer_error(buf, len - 24, NPY_ERR_TRUNCATED,
                      "truncated: expected 32 bytes of data, found 0");
  free(buf);
  /* A huge shape against a tiny file is truncation, found before any big allocation. */
  buf = npy_image(1, 0, "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000,)}", d, 8,
                  &len);
  expect_buffer_error(buf, len, NPY_ERR_TRUNCATED, "expected 4000000000000 bytes of data, found 8");
  free(buf);
}
END_TEST

START_TEST(test_err_trailing_data) {
  double d[5] = {1, 2, 3, 4, 5};
  size_t len;
  unsigned char *buf =
      npy_image(1, 0, "{'descr': '<f8', 'fortran_order': False, 'shape': (4,)}", d, 33, &len);
  expect_buffer_error(buf, len, NPY_ERR_TRAILING, "expected 32 bytes of data, found 33");
  free(buf);
  buf = npy_image(1, 0, "{'descr': '<f8', 'fortran_order': False, 'shape': ()}", d, 16, &len);
  expect_buffer_error(buf, len, NPY_ERR_TRAILING, "trailing");
  free(buf);
}
END_TEST

START_TEST(test_err_shapes) {
  expect_dict_error("{'descr': '<f8', 'fortran_order': False, 'shape': (-1,)}", NPY_ERR_FORMAT,
                    "negative dimension -1");
  expect_dict_error("{'descr': '<f8', 'fortran_order': False, 'shape': (2, -3)}", NPY_ERR_FORMAT,
                    "negative dimension -3");
  expect_dict_error("{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,)}",
                    NPY_ERR_OVERFLOW, "too large");
  expect_dict_error("{'descr': '<f8', 'fortran_order': False, 'shape': (9223372036854775807,)}",
                    NPY_ERR_OVERFLOW, "byte count overflows");
  expect_dict_error(
      "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 4)}",
      NPY_ERR_OVERFLOW, "element count overflows");
  /* A zero dimension makes the product 0 however large the others are. */
  const int64_t s[] = {0, 9223372036854775807};
  expect_dict_ok(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 9223372036854775807)}",
                 2, s, NPY_FLOAT32);
  char dict[512];
  int n = snprintf(dict, sizeof dict, "{'descr': '<f8', 'fortran_order': False, 'shape': (");
  for (int i = 0; i < 33; i++) n += snprintf(dict + n, sizeof dict - (size_t)n, "1, ");
  snprintf(dict + n, sizeof dict - (size_t)n, ")}");
  expect_dict_error(dict, NPY_ERR_UNSUPPORTED, "more than 32 dimensions");
}
END_TEST

START_TEST(test_err_files) {
  char err[ERRLEN];
  npy_array a;
  make_tmpdir();
  char path[4200];
  tmp_path(path, sizeof path, "missing.npy");
  ck_assert_int_eq(npy_load(path, &a, err, sizeof err), NPY_ERR_IO);
  ck_assert_ptr_nonnull(strstr(err, "No such file"));
  ck_assert_int_eq(npy_load(tmpdir, &a, err, sizeof err), NPY_ERR_IO);
  ck_assert_ptr_nonnull(strstr(err, "directory"));

  /* numpy's file cut short and with bytes appended, on disk. */
  char src[4200];
  fixture_path(src, sizeof src, "f8_2x3x4.npy");
  size_t len;
  unsigned char *buf = read_all(src, &len);
  tmp_path(path, sizeof path, "cut.npy");
  write_all(path, buf, len - 3);
  ck_assert_int_eq(npy_load(path, &a, err, sizeof err), NPY_ERR_TRUNCATED);
  ck_assert_str_eq(err, "truncated: expected 192 bytes of data, found 189");
  unsigned char *longer = malloc(len + 1);
  memcpy(longer, buf, len);
  longer[len] = 0;
  write_all(path, longer, len + 1);
  ck_assert_int_eq(npy_load(path, &a, err, sizeof err), NPY_ERR_TRAILING);
  ck_assert_ptr_nonnull(strstr(err, "expected 192 bytes of data, found 193"));
  write_all(path, buf, 40);
  ck_assert_int_eq(npy_load(path, &a, err, sizeof err), NPY_ERR_TRUNCATED);
  write_all(path, buf, 0);
  ck_assert_int_eq(npy_load(path, &a, err, sizeof err), NPY_ERR_FORMAT);
  free(longer);
  free(buf);
  remove_tmpdir();
}
END_TEST

/* A FIFO has no size: truncation and trailing bytes are found by reading. */
static npy_status load_through_fifo(const unsigned char *buf, size_t len, npy_array *a, char *err) {
  char path[4200];
  tmp_path(path, sizeof path, "fifo");
  unlink(path);
  ck_assert_int_eq(mkfifo(path, 0600), 0);
  pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    FILE *fp = fopen(path, "wb");
    if (!fp) _exit(1);
    fwrite(buf, 1, len, fp);
    fclose(fp);
    _exit(0);
  }
  npy_status st = npy_load(path, a, err, ERRLEN);
  int status;
  waitpid(pid, &status, 0);
  return st;
}

/* npy_read_header: the header alone, the data's offset, and npy_load's checks of the size. */
START_TEST(test_read_header) {
  make_tmpdir();
  char src[4200], path[4200], err[ERRLEN];
  fixture_path(src, sizeof src, "f8_2x3x4.npy");
  size_t len;
  unsigned char *buf = read_all(src, &len);
  int fd = open(src, O_RDONLY);
  ck_assert_int_ge(fd, 0);
  npy_header h;
  ck_assert_int_eq(npy_read_header(fd, &h, err, sizeof err), NPY_OK);
  close(fd);
  ck_assert_int_eq(h.dtype, NPY_FLOAT64);
  ck_assert_int_eq(h.ndim, 3);
  ck_assert(h.shape[0] == 2 && h.shape[1] == 3 && h.shape[2] == 4);
  ck_assert_uint_eq(h.nbytes, 192);
  ck_assert_uint_eq(h.data_offset, len - 192);
  /* Cut short, or with bytes after the data: refused as npy_load refuses them. */
  tmp_path(path, sizeof path, "cut.npy");
  write_all(path, buf, len - 8);
  fd = open(path, O_RDONLY);
  ck_assert_int_eq(npy_read_header(fd, &h, err, sizeof err), NPY_ERR_TRUNCATED);
  ck_assert_str_eq(err, "truncated: expected 192 bytes of data, found 184");
  close(fd);
  unsigned char *longer = calloc(len + 5, 1);
  memcpy(longer, buf, len);
  write_all(path, longer, len + 5);
  fd = open(path, O_RDONLY);
  ck_assert_int_eq(npy_read_header(fd, &h, err, sizeof err), NPY_ERR_TRAILING);
  close(fd);
  /* Not a regular file: nothing to read in place. */
  fd = open("/dev/null", O_RDONLY);
  ck_assert_int_eq(npy_read_header(fd, &h, err, sizeof err), NPY_ERR_UNSUPPORTED);
  close(fd);
  free(longer);
  free(buf);
  remove_tmpdir();
}
END_TEST

START_TEST(test_fifo) {
  signal(SIGPIPE, SIG_IGN);
  make_tmpdir();
  char src[4200], err[ERRLEN];
  fixture_path(src, sizeof src, "f8_2x3x4.npy");
  size_t len;
  unsigned char *buf = read_all(src, &len);
  npy_array a;
  ck_assert_int_eq(load_through_fifo(buf, len, &a, err), NPY_OK);
  ck_assert_double_eq(((double *)a.data)[23], 23 / 8.0);
  npy_free(&a);
  ck_assert_int_eq(load_through_fifo(buf, len - 8, &a, err), NPY_ERR_TRUNCATED);
  ck_assert_str_eq(err, "truncated: expected 192 bytes of data, found 184");
  unsigned char *longer = malloc(len + 5);
  memcpy(longer, buf, len);
  memset(longer + len, 0, 5);
  ck_assert_int_eq(load_through_fifo(longer, len + 5, &a, err), NPY_ERR_TRAILING);
  free(longer);
  free(buf);
  remove_tmpdir();
}
END_TEST

START_TEST(test_err_buffer_handling) {
  /* NULL or tiny message buffers are fine; messages are truncated, NUL-terminated. */
  npy_array a;
  ck_assert_int_eq(npy_load_buffer("xx", 2, &a, NULL, 0), NPY_ERR_FORMAT);
  char tiny[8];
  memset(tiny, 'q', sizeof tiny);
  ck_assert_int_eq(npy_load_buffer("xx", 2, &a, tiny, sizeof tiny), NPY_ERR_FORMAT);
  ck_assert_uint_eq(strlen(tiny), sizeof tiny - 1);
  ck_assert_int_eq(npy_load_buffer(NULL, 5, &a, NULL, 0), NPY_ERR_ARGUMENT);
  ck_assert_int_eq(npy_load_buffer("xx", 2, NULL, NULL, 0), NPY_ERR_ARGUMENT);
  ck_assert_int_eq(npy_load(NULL, &a, NULL, 0), NPY_ERR_ARGUMENT);
  npy_free(NULL);
  npy_free(&a);
  ck_assert_str_eq(npy_status_name(NPY_ERR_TRUNCATED), "NPY_ERR_TRUNCATED");
  ck_assert_str_eq(npy_status_name((npy_status)99), "unknown npy status");
}
END_TEST

START_TEST(test_every_prefix_and_flip) {
  /* Every truncation of a valid file fails cleanly; single-byte corruptions never crash. */
  char src[4200], err[ERRLEN];
  fixture_path(src, sizeof src, "f4_2x3.npy");
  size_t len;
  unsigned char *buf = read_all(src, &len);
  npy_array a;
  for (size_t n = 0; n < len; n++) {
    npy_status st = npy_load_buffer(buf, n, &a, err, sizeof err);
    ck_assert_msg(st != NPY_OK, "prefix %zu accepted", n);
    ck_assert_ptr_null(a.data);
    ck_assert_uint_gt(strlen(err), 0);
  }
  unsigned char *copy = malloc(len);
  const unsigned char values[] = {0, ' ', '\'', '(', ')', ',', '-', '9', '{', '}', 0xff};
  for (size_t i = 0; i < len; i++) {
    for (size_t v = 0; v < sizeof values; v++) {
      memcpy(copy, buf, len);
      copy[i] = values[v];
      npy_status st = npy_load_buffer(copy, len, &a, err, sizeof err);
      if (st == NPY_OK) {
        ck_assert_ptr_nonnull(a.data);
        npy_free(&a);
      } else {
        ck_assert_ptr_null(a.data);
      }
    }
  }
  free(copy);
  free(buf);
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* Writer errors and atomicity */

START_TEST(test_save_errors) {
  char err[ERRLEN], path[4200];
  make_tmpdir();
  tmp_path(path, sizeof path, "x.npy");
  double d[2] = {1, 2};
  int64_t s2 = 2, neg = -2, zero = 0;
  ck_assert_int_eq(npy_save(path, NPY_FLOAT64, 1, &neg, d, err, sizeof err), NPY_ERR_ARGUMENT);
  ck_assert_int_eq(npy_save(path, NPY_FLOAT64, 1, &s2, NULL, err, sizeof err), NPY_ERR_ARGUMENT);
  ck_assert_int_eq(npy_save(path, (npy_dtype)3, 1, &s2, d, err, sizeof err), NPY_ERR_ARGUMENT);
  ck_assert_int_eq(npy_save(path, NPY_FLOAT64, 33, &s2, d, err, sizeof err), NPY_ERR_ARGUMENT);
  ck_assert_int_eq(npy_save(path, NPY_FLOAT64, -1, &s2, d, err, sizeof err), NPY_ERR_ARGUMENT);
  /* An empty array may have NULL data. */
  ck_assert_int_eq(npy_save(path, NPY_FLOAT64, 1, &zero, NULL, err, sizeof err), NPY_OK);
  unlink(path);
  ck_assert_int_eq(npy_save_atomic(path, NPY_FLOAT64, 1, &neg, d, err, sizeof err),
                   NPY_ERR_ARGUMENT);
  ck_assert_int_eq(count_entries(tmpdir), 0);

  char bad[4200];
  tmp_path(bad, sizeof bad, "no/such/dir/x.npy");
  ck_assert_int_eq(npy_save(bad, NPY_FLOAT64, 1, &s2, d, err, sizeof err), NPY_ERR_IO);
  ck_assert_int_eq(npy_save_atomic(bad, NPY_FLOAT64, 1, &s2, d, err, sizeof err), NPY_ERR_IO);
  ck_assert_ptr_nonnull(strstr(err, "No such file"));
  tmp_path(bad, sizeof bad, "dir/");
  ck_assert_int_eq(npy_save_atomic(bad, NPY_FLOAT64, 1, &s2, d, err, sizeof err), NPY_ERR_ARGUMENT);
  ck_assert_int_eq(npy_save_atomic("", NPY_FLOAT64, 1, &s2, d, err, sizeof err), NPY_ERR_ARGUMENT);
  /* Renaming onto an existing directory fails: the temporary must go. */
  tmp_path(bad, sizeof bad, "adir");
  ck_assert_int_eq(mkdir(bad, 0700), 0);
  ck_assert_int_eq(npy_save_atomic(bad, NPY_FLOAT64, 1, &s2, d, err, sizeof err), NPY_ERR_IO);
  ck_assert_int_eq(count_entries(tmpdir), 1);
  ck_assert_int_eq(count_entries(bad), 0);
  remove_tmpdir();
}
END_TEST

START_TEST(test_atomic_replaces_and_permissions) {
  char err[ERRLEN], path[4200];
  make_tmpdir();
  tmp_path(path, sizeof path, "y.npy");
  write_all(path, "old contents", 12);
  float f[3] = {1, 2, 3};
  int64_t s3 = 3;
  mode_t mask = umask(022);
  ck_assert_int_eq(npy_save_atomic(path, NPY_FLOAT32, 1, &s3, f, err, sizeof err), NPY_OK);
  umask(mask);
  struct stat sb;
  ck_assert_int_eq(stat(path, &sb), 0);
  ck_assert_int_eq(sb.st_mode & 0777, 0644);
  npy_array a;
  ck_assert_int_eq(npy_load(path, &a, err, sizeof err), NPY_OK);
  ck_assert_float_eq(((float *)a.data)[2], 3.0f);
  npy_free(&a);
  ck_assert_int_eq(count_entries(tmpdir), 1);

  /* A relative path (no directory part) works too. */
  char cwd[4200];
  ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
  ck_assert_int_eq(chdir(tmpdir), 0);
  ck_assert_int_eq(npy_save_atomic("rel.npy", NPY_FLOAT32, 1, &s3, f, err, sizeof err), NPY_OK);
  ck_assert_int_eq(chdir(cwd), 0);
  ck_assert_int_eq(count_entries(tmpdir), 2);
  remove_tmpdir();
}
END_TEST

START_TEST(test_atomic_write_failure_cleans_up) {
  /* A file-size limit makes the data write fail midway (EFBIG): nothing may remain, and an
   * existing file keeps its old contents. */
  char err[ERRLEN], path[4200];
  make_tmpdir();
  tmp_path(path, sizeof path, "big.npy");
  write_all(path, "previous", 8);
  size_t n = 1 << 16;
  double *d = calloc(n, sizeof *d);
  ck_assert_ptr_nonnull(d);
  int64_t shape = (int64_t)n;
  signal(SIGXFSZ, SIG_IGN);
  struct rlimit old, lim;
  ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &old), 0);
  lim = old;
  lim.rlim_cur = 4096;
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &lim), 0);
  npy_status st = npy_save_atomic(path, NPY_FLOAT64, 1, &shape, d, err, sizeof err);
  ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, SIG_DFL);
  ck_assert_int_eq(st, NPY_ERR_IO);
  ck_assert_int_eq(count_entries(tmpdir), 1);
  size_t len;
  unsigned char *buf = read_all(path, &len);
  ck_assert_uint_eq(len, 8);
  ck_assert_int_eq(memcmp(buf, "previous", 8), 0);
  free(buf);
  free(d);
  remove_tmpdir();
}
END_TEST

static Suite *npy_suite(void) {
  Suite *s = suite_create("npy");
  TCase *tc = tcase_create("roundtrip");
  tcase_add_test(tc, test_roundtrip_f32);
  tcase_add_test(tc, test_roundtrip_f64);
  tcase_add_test(tc, test_roundtrip_atomic_f32);
  tcase_add_test(tc, test_roundtrip_atomic_f64);
  tcase_add_test(tc, test_roundtrip_rank32);
  tcase_add_test(tc, test_header_padding_numpy_rule);
  suite_add_tcase(s, tc);

  tc = tcase_create("numpy_files");
  tcase_add_test(tc, test_numpy_f4_2x3);
  tcase_add_test(tc, test_numpy_f8_3);
  tcase_add_test(tc, test_numpy_scalar);
  tcase_add_test(tc, test_numpy_empty);
  tcase_add_test(tc, test_numpy_f8_3d);
  tcase_add_test(tc, test_numpy_special_values);
  tcase_add_test(tc, test_numpy_v2_v3);
  tcase_add_test(tc, test_numpy_unsupported);
  suite_add_tcase(s, tc);

  tc = tcase_create("headers");
  tcase_add_test(tc, test_dict_variants);
  tcase_add_test(tc, test_unpadded_header);
  suite_add_tcase(s, tc);

  tc = tcase_create("errors");
  tcase_add_test(tc, test_err_magic);
  tcase_add_test(tc, test_err_version);
  tcase_add_test(tc, test_err_header_length);
  tcase_add_test(tc, test_err_bad_dict);
  tcase_add_test(tc, test_err_missing_key);
  tcase_add_test(tc, test_err_dtypes);
  tcase_add_test(tc, test_err_fortran);
  tcase_add_test(tc, test_err_truncated_data);
  tcase_add_test(tc, test_err_trailing_data);
  tcase_add_test(tc, test_err_shapes);
  tcase_add_test(tc, test_err_files);
  tcase_add_test(tc, test_read_header);
  tcase_add_test(tc, test_fifo);
  tcase_add_test(tc, test_err_buffer_handling);
  tcase_add_test(tc, test_every_prefix_and_flip);
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);

  tc = tcase_create("writer");
  tcase_add_test(tc, test_save_errors);
  tcase_add_test(tc, test_atomic_replaces_and_permissions);
  tcase_add_test(tc, test_atomic_write_failure_cleans_up);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  return run_suite(npy_suite());
}
