# Defines the imported target conv1dt::keras_deps: what the Keras file readers use (json-c for
# the JSON, libhdf5's C API for the weights, libzip for .keras archives; Debian: libjson-c-dev
# libhdf5-dev libzip-dev). Used by the build and again by the installed conv1dtConfig.cmake (for
# static linking).
if(TARGET conv1dt::keras_deps)
  return()
endif()
find_package(PkgConfig REQUIRED)
pkg_check_modules(CONV1DT_KERAS_DEPS IMPORTED_TARGET json-c hdf5 libzip)
if(NOT CONV1DT_KERAS_DEPS_FOUND AND DEFINED conv1dt_FOUND)
  set(conv1dt_FOUND FALSE)
  set(conv1dt_NOT_FOUND_MESSAGE "conv1dt needs json-c, hdf5 and libzip (pkg-config)")
  return()
elseif(NOT CONV1DT_KERAS_DEPS_FOUND)
  message(FATAL_ERROR "conv1dt: json-c, hdf5 or libzip not found by pkg-config (Debian: apt-get install libjson-c-dev libhdf5-dev libzip-dev)")
endif()
add_library(conv1dt::keras_deps INTERFACE IMPORTED)
target_link_libraries(conv1dt::keras_deps INTERFACE PkgConfig::CONV1DT_KERAS_DEPS)
