# Streaming (conv1dt_stream_*): test_stream against one-shot conv1dt_forward and the naive
# reference, and examples/stream_wav built in-tree and run on generated WAV files.
# Included from tests/CMakeLists.txt (after numerics.cmake, whose support library it uses).
if(NOT TARGET conv1dt_numerics_support)
  return()
endif()
find_package(Threads REQUIRED)

add_executable(example_stream_wav ${CMAKE_CURRENT_SOURCE_DIR}/../examples/stream_wav.c)
target_link_libraries(example_stream_wav PRIVATE conv1dt::conv1dt)

conv1dt_add_check_test(test_stream SOURCES test_stream.c
  LIBS conv1dt_numerics_support Threads::Threads)
add_dependencies(test_stream example_stream_wav)
set_tests_properties(test_stream PROPERTIES
  LABELS "numerics;stream;examples"
  TIMEOUT 600
  ENVIRONMENT "CONV1DT_STREAM_WAV=$<TARGET_FILE:example_stream_wav>")
if(CMAKE_CROSSCOMPILING_EMULATOR)
  list(JOIN CMAKE_CROSSCOMPILING_EMULATOR " " _conv1dt_stream_emulator)
  set_property(TEST test_stream APPEND PROPERTY ENVIRONMENT
               "CONV1DT_STREAM_WAV_EMULATOR=${_conv1dt_stream_emulator}")
endif()
