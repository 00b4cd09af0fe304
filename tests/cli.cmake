# Suites for the tools: the .npy reader/writer, the conv1dt program end to end, and the
# reference cases run through the library. Included from tests/CMakeLists.txt.
if(NOT TARGET conv1dt_npy)
  return() # tools not built (CONV1DT_BUILD_TOOLS=OFF)
endif()

pkg_check_modules(JSONC REQUIRED IMPORTED_TARGET json-c)

conv1dt_add_check_test(test_npy SOURCES test_npy.c cli_harness.c LIBS conv1dt_npy)
set_tests_properties(test_npy PROPERTIES
  ENVIRONMENT "CONV1DT_FIXTURES=${CMAKE_CURRENT_SOURCE_DIR}/fixtures")

conv1dt_add_check_test(test_cli SOURCES test_cli.c cli_harness.c LIBS conv1dt_npy)
add_dependencies(test_cli conv1dt_cli)
set_tests_properties(test_cli PROPERTIES
  ENVIRONMENT "CONV1DT_CLI=$<TARGET_FILE:conv1dt_cli>;CONV1DT_TEST_TMP=${CMAKE_CURRENT_BINARY_DIR}/cli_tmp")

# run --memory-limit: byte-identical to the in-memory run, peak RSS on a ~60 MB input under an
# 8 MiB limit, failures mid-way, the size parser.
conv1dt_add_check_test(test_cli_chunked SOURCES test_cli_chunked.c cli_harness.c LIBS conv1dt_npy)
add_dependencies(test_cli_chunked conv1dt_cli)
# Labelled native: they spawn the CLI themselves to signal it and read its peak RSS, which an
# emulated (cross) build cannot give them.
set_tests_properties(test_cli_chunked PROPERTIES
  LABELS "cli;native"
  ENVIRONMENT "CONV1DT_CLI=$<TARGET_FILE:conv1dt_cli>;CONV1DT_TEST_TMP=${CMAKE_CURRENT_BINARY_DIR}/cli_chunked_tmp")

# Batch jobs: runs and grads killed by signals leave only complete outputs, --input-list jobs,
# the progress line (the CLI's test hooks, CONV1DT_TEST_HOOK, pause it at named points).
conv1dt_add_check_test(test_cli_jobs SOURCES test_cli_jobs.c cli_harness.c LIBS conv1dt_npy)
add_dependencies(test_cli_jobs conv1dt_cli)
set_tests_properties(test_cli_jobs PROPERTIES
  LABELS "cli;native"
  ENVIRONMENT "CONV1DT_CLI=$<TARGET_FILE:conv1dt_cli>;CONV1DT_TEST_TMP=${CMAKE_CURRENT_BINARY_DIR}/cli_jobs_tmp")

# conv1dt-mpi under mpirun (label mpi; registered when conv1dt-mpi is built and mpiexec found):
# byte-compared with conv1dt run over 1, 2, 3 and more ranks than samples, one long signal split
# along its steps, errors on one rank and on all, --input-list shared by the ranks, killed
# ranks. Open MPI's mpirun needs --allow-run-as-root as root (CI, containers) and --oversubscribe
# for more ranks than cores; shared memory without the single-copy mechanism (which a
# container's ptrace rules may refuse) and no network probing keep it working in a container.
# Under AddressSanitizer, leak checking is off for these tests: Open MPI leaves its own
# allocations at exit, many in plugins it has unloaded (which no suppression can name); the
# other CLI suites check conv1dt's code for leaks.
if(TARGET conv1dt_mpi AND MPIEXEC_EXECUTABLE)
  execute_process(COMMAND ${MPIEXEC_EXECUTABLE} --version OUTPUT_VARIABLE _conv1dt_mpiexec_version
                  ERROR_QUIET)
  if(_conv1dt_mpiexec_version MATCHES "Open MPI|OpenRTE")
    set(_conv1dt_mpirun_flags "--allow-run-as-root --oversubscribe --mca btl self,vader")
    set(_conv1dt_mpi_env "OMPI_MCA_btl_vader_single_copy_mechanism=none")
    set(_conv1dt_mpirun_wait "--mca orte_abort_on_non_zero_status 0")
  else()
    set(_conv1dt_mpirun_flags "")
    set(_conv1dt_mpirun_wait "")
    set(_conv1dt_mpi_env "")
  endif()
  # One CTest test per case of the suite, so they run side by side: split (byte and value
  # comparisons), errors (and --input-list), killed.
  add_executable(test_cli_mpi test_cli_mpi.c cli_harness.c check_run.c)
  target_link_libraries(test_cli_mpi PRIVATE conv1dt::conv1dt PkgConfig::CHECK m conv1dt_npy)
  add_dependencies(test_cli_mpi conv1dt_cli conv1dt_mpi)
  foreach(_case split errors killed)
    add_test(NAME test_cli_mpi_${_case} COMMAND test_cli_mpi)
    set_tests_properties(test_cli_mpi_${_case} PROPERTIES
      LABELS "cli;mpi;native"
      ENVIRONMENT "CK_RUN_CASE=${_case};CONV1DT_CLI=$<TARGET_FILE:conv1dt_cli>;CONV1DT_MPI_CLI=$<TARGET_FILE:conv1dt_mpi>;CONV1DT_MPIRUN=${MPIEXEC_EXECUTABLE};CONV1DT_MPIRUN_FLAGS=${_conv1dt_mpirun_flags};CONV1DT_MPIRUN_WAIT_FLAGS=${_conv1dt_mpirun_wait};${_conv1dt_mpi_env};ASAN_OPTIONS=detect_leaks=0;CONV1DT_TEST_TMP=${CMAKE_CURRENT_BINARY_DIR}/cli_mpi_tmp")
  endforeach()
endif()

conv1dt_add_check_test(test_fixtures SOURCES test_fixtures.c LIBS conv1dt_npy PkgConfig::JSONC)
set_tests_properties(test_fixtures PROPERTIES
  ENVIRONMENT "CONV1DT_FIXTURES=${CMAKE_CURRENT_SOURCE_DIR}/fixtures")

if(NOT CONV1DT_KERAS)
  return() # built without Keras file support
endif()
# Keras files written by real Keras 3 and Keras 2 (tests/keras/gen_keras_files.py), loaded
# through the library and compared with Keras's outputs; the readers' error classes.
conv1dt_add_check_test(test_keras_files SOURCES test_keras_files.c LIBS conv1dt_npy PkgConfig::JSONC)
set_tests_properties(test_keras_files PROPERTIES
  ENVIRONMENT "CONV1DT_KERAS_FILES=${CMAKE_CURRENT_SOURCE_DIR}/fixtures/keras-files;CONV1DT_TEST_TMP=${CMAKE_CURRENT_BINARY_DIR}/cli_tmp;ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:fast_unwind_on_malloc=0;LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/fuzz/lsan.supp")

conv1dt_add_check_test(test_cli_keras SOURCES test_cli_keras.c cli_harness.c
                       LIBS conv1dt_npy PkgConfig::JSONC)
add_dependencies(test_cli_keras conv1dt_cli)
set_tests_properties(test_cli_keras PROPERTIES
  LABELS cli
  ENVIRONMENT "CONV1DT_CLI=$<TARGET_FILE:conv1dt_cli>;CONV1DT_KERAS_FILES=${CMAKE_CURRENT_SOURCE_DIR}/fixtures/keras-files;CONV1DT_TEST_TMP=${CMAKE_CURRENT_BINARY_DIR}/cli_keras_tmp")
