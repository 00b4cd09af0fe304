# The backward pass: the gradient suite against its naive reference (reference_grad.c, written
# from the definition), the `grad` subcommand end to end, and examples/train.c built and run.
# Included from tests/CMakeLists.txt (after numerics.cmake, whose reference library it uses).
if(NOT TARGET conv1dt_numerics_support)
  return()
endif()

add_library(conv1dt_reference_grad STATIC reference_grad.c)
target_link_libraries(conv1dt_reference_grad PUBLIC conv1dt_reference)

conv1dt_add_check_test(test_backward SOURCES test_backward.c
  LIBS conv1dt_reference_grad conv1dt_numerics_support Threads::Threads)
set_tests_properties(test_backward PROPERTIES LABELS "numerics;backward" TIMEOUT 600)

if(TARGET conv1dt_cli)
  conv1dt_add_check_test(test_cli_grad SOURCES test_cli_grad.c cli_harness.c LIBS conv1dt_npy)
  add_dependencies(test_cli_grad conv1dt_cli)
  set_tests_properties(test_cli_grad PROPERTIES
    LABELS "cli;backward"
    ENVIRONMENT "CONV1DT_CLI=$<TARGET_FILE:conv1dt_cli>;CONV1DT_TEST_TMP=${CMAKE_CURRENT_BINARY_DIR}/cli_grad_tmp")
endif()

# examples/train.c in-tree: fits a layer by SGD with a max_norm constraint; exits 0 only if the
# loss fell at least 100 times.
add_executable(example_train ${CMAKE_CURRENT_SOURCE_DIR}/../examples/train.c)
target_link_libraries(example_train PRIVATE conv1dt::conv1dt)
add_test(NAME example_train COMMAND example_train)
set_tests_properties(example_train PROPERTIES LABELS "examples;backward" TIMEOUT 300)
