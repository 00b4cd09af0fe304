# Fuzz targets: each parser of untrusted bytes has one (tests/fuzz/fuzz_*.c; today the CLI's
# .npy reader). Every build replays them over their committed corpus and the reference-case
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

if(CONV1DT_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "CONV1DT_FUZZ needs clang's libFuzzer: configure with CC=clang")
  endif()
  add_executable(fuzz_npy fuzz/fuzz_npy.c ${PROJECT_SOURCE_DIR}/tools/npy.c)
  target_include_directories(fuzz_npy PRIVATE ${PROJECT_SOURCE_DIR}/tools)
  target_compile_options(fuzz_npy PRIVATE -fsanitize=fuzzer,address,undefined -g)
  target_link_options(fuzz_npy PRIVATE -fsanitize=fuzzer,address,undefined)
endif()
