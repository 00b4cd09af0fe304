# Optional live parity test against the real Keras (tests/keras/parity.py).
# Included from tests/CMakeLists.txt with include(keras.cmake OPTIONAL).
# The test exits 77 (reported as skipped) when the chosen python cannot import keras, e.g.
# Debian's python3, and is skipped the same way when there is no python at all (a bare
# system); tests/keras/README.md makes the venv.
if(NOT TARGET conv1dt_cli)  # CONV1DT_BUILD_TOOLS=OFF: no CLI to test
  return()
endif()

# The venv tests/keras/README.md makes lives in the checkout as .venv/.
if(EXISTS "${PROJECT_SOURCE_DIR}/.venv/bin/python")
  set(_conv1dt_keras_python_default "${PROJECT_SOURCE_DIR}/.venv/bin/python")
else()
  find_program(_conv1dt_python3 NAMES python3)
  set(_conv1dt_keras_python_default "${_conv1dt_python3}")
  if(NOT _conv1dt_python3)
    set(_conv1dt_keras_python_default "")
  endif()
endif()
set(CONV1DT_KERAS_PYTHON "${_conv1dt_keras_python_default}" CACHE FILEPATH
    "Python interpreter that can import keras (with jax) for the keras_parity test")

# conv1dt_add_keras_test(NAME SCRIPT TIMEOUT): SCRIPT (in tests/keras/) run on the CLI by the
# chosen python; without one the test reports itself skipped.
function(conv1dt_add_keras_test name script timeout)
  if(CONV1DT_KERAS_PYTHON)
    add_test(NAME ${name}
             COMMAND ${CONV1DT_KERAS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/keras/${script}
                     --cli $<TARGET_FILE:conv1dt_cli>)
  else()
    add_test(NAME ${name}
             COMMAND sh -c "echo 'SKIP: no python3 (set CONV1DT_KERAS_PYTHON)'; exit 77")
  endif()
  set_tests_properties(${name} PROPERTIES
    SKIP_RETURN_CODE 77
    LABELS keras
    TIMEOUT ${timeout}
    ENVIRONMENT "KERAS_BACKEND=jax;JAX_ENABLE_X64=1;JAX_PLATFORMS=cpu")
endfunction()

conv1dt_add_keras_test(keras_parity parity.py 900)

# Round trip through real Keras: `conv1dt save`, then keras.saving.load_model must compute the
# CLI's numbers (tests/keras/roundtrip.py); skipped (77) where Keras is not importable.
if(NOT CONV1DT_KERAS)
  return() # built without Keras file support: nothing to save
endif()
conv1dt_add_keras_test(keras_roundtrip roundtrip.py 600)
