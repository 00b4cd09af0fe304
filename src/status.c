/* Status names and the thread-local error message. */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>

/* One message per thread: concurrent calls on different threads never see each other's. */
static _Thread_local char last_error[512];

conv1dt_status conv1dt__fail(conv1dt_status status, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return status;
}

const char *conv1dt_last_error(void) {
  return last_error;
}

const char *conv1dt_status_name(conv1dt_status status) {
  switch (status) {
  case CONV1DT_OK:
    return "CONV1DT_OK";
  case CONV1DT_ERROR_NULL_ARGUMENT:
    return "CONV1DT_ERROR_NULL_ARGUMENT";
  case CONV1DT_ERROR_INVALID_VALUE:
    return "CONV1DT_ERROR_INVALID_VALUE";
  case CONV1DT_ERROR_UNKNOWN_NAME:
    return "CONV1DT_ERROR_UNKNOWN_NAME";
  case CONV1DT_ERROR_SHAPE_MISMATCH:
    return "CONV1DT_ERROR_SHAPE_MISMATCH";
  case CONV1DT_ERROR_SIZE_OVERFLOW:
    return "CONV1DT_ERROR_SIZE_OVERFLOW";
  case CONV1DT_ERROR_OUT_OF_MEMORY:
    return "CONV1DT_ERROR_OUT_OF_MEMORY";
  case CONV1DT_ERROR_WORKSPACE_TOO_SMALL:
    return "CONV1DT_ERROR_WORKSPACE_TOO_SMALL";
  case CONV1DT_ERROR_UNSUPPORTED:
    return "CONV1DT_ERROR_UNSUPPORTED";
  case CONV1DT_ERROR_BUFFER_TOO_SMALL:
    return "CONV1DT_ERROR_BUFFER_TOO_SMALL";
  }
  return "unknown status";
}

#define CONV1DT_STR2(x) #x
#define CONV1DT_STR(x) CONV1DT_STR2(x)
const char *conv1dt_version_string(void) {
  return CONV1DT_STR(CONV1DT_VERSION_MAJOR) "." CONV1DT_STR(CONV1DT_VERSION_MINOR) "." CONV1DT_STR(
      CONV1DT_VERSION_PATCH);
}
int conv1dt_version_number(void) {
  return CONV1DT_VERSION_NUMBER;
}
