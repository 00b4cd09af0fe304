# Fuzz targets: each parser of untrusted bytes has one (tests/fuzz/fuzz_*.c): the CLI's .npy
# reader, the Keras JSON loader, the HDF5 weights reader, the .keras archive reader and the
# CLI's argument parser. Every build replays them over their committed corpus and the reference-case
# fixtures (test fuzz_npy_corpus, label fuzz), so what fuzzing found stays tested without
# libFuzzer; with clang, -DCONV1DT_FUZZ=ON also builds the libFuzzer binary for fuzzing
# (tests/fuzz/README.md). Included from tests/CMakeLists.txt.
if(NOT TARGET conv1dt_npy)
  return() # tools not built (CONV1DT_BUILD_TOOLS=OFF)
endif()

add_executable(fuzz_npy_replay fuzz/fuzz_npy.c fuzz/replay.c)
target_link_libraries(fuzz_npy_replay PRIVATE conv1dt_npy)
add_test(NAME fuzz_npy_corpus
         COMMAND fuzz_npy_replay ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/npy
                 ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/reference-cases)
set_tests_properties(fuzz_npy_corpus PROPERTIES LABELS fuzz)

# libhdf5 asks malloc for whatever size a corrupted file states: a real malloc returns NULL and
# libhdf5 reports an error, ASan aborts instead unless allowed to return NULL; and libhdf5 1.10
# leaks a little inside H5Fopen when it fails (fuzz/lsan.supp). Used where damaged HDF5 files
# are read; harmless without sanitizers.
set(CONV1DT_HDF5_SANITIZER_ENV
    "ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:fast_unwind_on_malloc=0;LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/fuzz/lsan.supp")
# The Keras readers' targets call the library's internal entry points (src/keras/keras.h),
# which the static library holds; the argument parser's compiles the CLI's parser.
set(_fuzz_fixtures ${CMAKE_CURRENT_SOURCE_DIR}/fixtures/keras-files)
set(_fuzz_keras_targets keras_json keras_h5 keras_zip)
if(NOT CONV1DT_KERAS)
  set(_fuzz_keras_targets) # built without Keras file support
endif()
foreach(_t IN LISTS _fuzz_keras_targets)
  add_executable(fuzz_${_t}_replay fuzz/fuzz_${_t}.c fuzz/replay.c)
  target_include_directories(fuzz_${_t}_replay PRIVATE ${PROJECT_SOURCE_DIR}/src/keras)
  target_link_libraries(fuzz_${_t}_replay PRIVATE conv1dt::conv1dt_static)
  add_test(NAME fuzz_${_t}_corpus
           COMMAND fuzz_${_t}_replay ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${_t} ${_fuzz_fixtures})
  # A hang is a finding too: the replay fails on time rather than stalling the suite.
  set_tests_properties(fuzz_${_t}_corpus PROPERTIES LABELS fuzz TIMEOUT 120
                      ENVIRONMENT "${CONV1DT_HDF5_SANITIZER_ENV}")
endforeach()
add_executable(fuzz_cli_args_replay fuzz/fuzz_cli_args.c fuzz/replay.c
               ${PROJECT_SOURCE_DIR}/tools/cli_args.c ${PROJECT_SOURCE_DIR}/tools/cli_error.c)
target_include_directories(fuzz_cli_args_replay PRIVATE ${PROJECT_SOURCE_DIR}/tools)
target_link_libraries(fuzz_cli_args_replay PRIVATE conv1dt::conv1dt)
add_test(NAME fuzz_cli_args_corpus
         COMMAND fuzz_cli_args_replay ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/cli_args)
set_tests_properties(fuzz_cli_args_corpus PROPERTIES LABELS fuzz)

if(CONV1DT_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "CONV1DT_FUZZ needs clang's libFuzzer: configure with CC=clang")
  endif()
  add_executable(fuzz_npy fuzz/fuzz_npy.c ${PROJECT_SOURCE_DIR}/tools/npy.c)
  target_include_directories(fuzz_npy PRIVATE ${PROJECT_SOURCE_DIR}/tools)
  target_compile_options(fuzz_npy PRIVATE -fsanitize=fuzzer,address,undefined -g)
  target_link_options(fuzz_npy PRIVATE -fsanitize=fuzzer,address,undefined)
  set(_fuzz_flags -fsanitize=fuzzer,address,undefined -g)
  foreach(_t IN LISTS _fuzz_keras_targets)
    add_executable(fuzz_${_t} fuzz/fuzz_${_t}.c ${PROJECT_SOURCE_DIR}/src/keras/keras_config.c
                   ${PROJECT_SOURCE_DIR}/src/keras/keras_h5.c
                   ${PROJECT_SOURCE_DIR}/src/keras/keras_h5_check.c
                   ${PROJECT_SOURCE_DIR}/src/keras/keras_zip.c)
    target_include_directories(fuzz_${_t} PRIVATE ${PROJECT_SOURCE_DIR}/src/keras
                               ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(fuzz_${_t} PRIVATE conv1dt::conv1dt_static conv1dt::keras_deps)
    target_compile_options(fuzz_${_t} PRIVATE ${_fuzz_flags})
    target_link_options(fuzz_${_t} PRIVATE ${_fuzz_flags})
  endforeach()
  add_executable(fuzz_cli_args fuzz/fuzz_cli_args.c ${PROJECT_SOURCE_DIR}/tools/cli_args.c
                 ${PROJECT_SOURCE_DIR}/tools/cli_error.c)
  target_include_directories(fuzz_cli_args PRIVATE ${PROJECT_SOURCE_DIR}/tools)
  target_link_libraries(fuzz_cli_args PRIVATE conv1dt::conv1dt)
  target_compile_options(fuzz_cli_args PRIVATE ${_fuzz_flags})
  target_link_options(fuzz_cli_args PRIVATE ${_fuzz_flags})
endif()
