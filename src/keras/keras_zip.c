/* Entries of a Keras 3 .keras archive (a zip holding metadata.json, config.json and
 * model.weights.h5), read with libzip from memory. libzip checks each entry's CRC as it reads,
 * so a corrupted archive fails here rather than feeding damaged bytes on. */
#include "internal.h"
#include "keras.h"

#include <stdlib.h>
#include <zip.h>

conv1dt_status conv1dt__keras_zip_entry(const void *image, size_t size, const char *entry,
                                        void **data, size_t *len) {
  zip_error_t err;
  zip_error_init(&err);
  zip_source_t *src = zip_source_buffer_create(image, size, 0, &err);
  if (!src) {
    zip_error_fini(&err);
    return conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY, "cannot hand the archive to libzip");
  }
  zip_t *za = zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &err);
  if (!za) {
    conv1dt_status st =
        conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE, "not a readable .keras archive (zip): %s",
                      zip_error_strerror(&err));
    zip_source_free(src);
    zip_error_fini(&err);
    return st;
  }
  zip_error_fini(&err);
  conv1dt_status st = CONV1DT_OK;
  zip_stat_t sb;
  zip_stat_init(&sb);
  zip_file_t *zf = NULL;
  void *buf = NULL;
  if (zip_stat(za, entry, 0, &sb) < 0 || !(sb.valid & ZIP_STAT_SIZE)) {
    st = conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE, "the .keras archive has no '%s'", entry);
  } else if (sb.size > SIZE_MAX - 1 || sb.size > (zip_uint64_t)INT64_MAX) {
    st = conv1dt__fail(CONV1DT_ERROR_SIZE_OVERFLOW, "'%s' in the .keras archive is too large",
                       entry);
  } else if (!(buf = malloc((size_t)sb.size + 1))) {
    st = conv1dt__fail(CONV1DT_ERROR_OUT_OF_MEMORY, "out of memory for '%s' (%llu bytes)", entry,
                       (unsigned long long)sb.size);
  } else if (!(zf = zip_fopen(za, entry, 0))) {
    st = conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE, "cannot open '%s' in the .keras archive: %s",
                       entry, zip_strerror(za));
  } else {
    zip_uint64_t got = 0;
    while (got < sb.size) {
      zip_int64_t n = zip_fread(zf, (char *)buf + got, sb.size - got);
      if (n <= 0) break;
      got += (zip_uint64_t)n;
    }
    /* A read to the end makes libzip verify the CRC. */
    char extra;
    zip_int64_t tail = got == sb.size ? zip_fread(zf, &extra, 1) : -1;
    if (got != sb.size || tail != 0)
      st = conv1dt__fail(CONV1DT_ERROR_INVALID_VALUE,
                         "cannot read '%s' in the .keras archive (truncated or corrupted): %s",
                         entry, zip_file_strerror(zf));
  }
  if (zf) zip_fclose(zf);
  zip_discard(za);
  if (st != CONV1DT_OK) {
    free(buf);
    return st;
  }
  ((char *)buf)[sb.size] = '\0';
  *data = buf;
  *len = (size_t)sb.size;
  return CONV1DT_OK;
}
