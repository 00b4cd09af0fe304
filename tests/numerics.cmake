# Numerical Check suites: the independent naive reference (reference.c, written from
# docs/SEMANTICS.md, no library code) and the suites judged against it.
find_package(Threads REQUIRED)

# The reference needs conv1dt.h for its types only; it links nothing of the library.
add_library(conv1dt_reference STATIC reference.c)
target_include_directories(conv1dt_reference PUBLIC
  ${CMAKE_CURRENT_LIST_DIR} ${CMAKE_CURRENT_LIST_DIR}/../include)
target_link_libraries(conv1dt_reference PUBLIC m)

# Shared helpers that run a configuration through the public API and judge it.
add_library(conv1dt_numerics_support STATIC test_numerics_support.c)
target_link_libraries(conv1dt_numerics_support PUBLIC conv1dt_reference conv1dt::conv1dt)

conv1dt_add_check_test(test_forward SOURCES test_forward.c
  LIBS conv1dt_numerics_support Threads::Threads)
conv1dt_add_check_test(test_activation SOURCES test_activation.c
  LIBS conv1dt_numerics_support)
conv1dt_add_check_test(test_validation SOURCES test_validation.c
  LIBS conv1dt_numerics_support Threads::Threads)
conv1dt_add_check_test(test_keras_expectations SOURCES test_keras_expectations.c
  LIBS conv1dt_numerics_support)

# test_validation asks for 2^45-element kernels and expects CONV1DT_ERROR_OUT_OF_MEMORY: under
# AddressSanitizer an impossible allocation must return NULL rather than abort.
set_property(TEST test_validation APPEND PROPERTY ENVIRONMENT
  "ASAN_OPTIONS=allocator_may_return_null=1")
set_tests_properties(test_forward test_activation test_validation test_keras_expectations
  PROPERTIES LABELS numerics TIMEOUT 300)
