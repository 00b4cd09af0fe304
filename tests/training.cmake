# Training-parity suites: initializers, regularizers, constraints (one executable per concern)
# and the CLI's `init` command. Included from tests/CMakeLists.txt.
conv1dt_add_check_test(test_init SOURCES test_init.c)
conv1dt_add_check_test(test_regularize SOURCES test_regularize.c)
conv1dt_add_check_test(test_constrain SOURCES test_constrain.c)
set_tests_properties(test_init test_regularize test_constrain PROPERTIES LABELS training TIMEOUT 300)

if(TARGET conv1dt_npy AND TARGET conv1dt_cli)
  conv1dt_add_check_test(test_cli_init SOURCES test_cli_init.c cli_harness.c LIBS conv1dt_npy)
  add_dependencies(test_cli_init conv1dt_cli)
  set_tests_properties(test_cli_init PROPERTIES LABELS training ENVIRONMENT
    "CONV1DT_CLI=$<TARGET_FILE:conv1dt_cli>;CONV1DT_TEST_TMP=${CMAKE_CURRENT_BINARY_DIR}/cli_init_tmp")
endif()
