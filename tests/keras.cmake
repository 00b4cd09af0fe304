# Optional live parity test against the real Keras (tests/keras/parity.py).
# Included from tests/CMakeLists.txt with include(keras.cmake OPTIONAL).
# The test exits 77 (reported as skipped) when the chosen python cannot import
# keras, e.g. Debian's python3; see tests/keras/README.md to make a venv.
if(NOT TARGET conv1dt_cli)  # CONV1DT_BUILD_TOOLS=OFF: no CLI to test
  return()
endif()

if(EXISTS "/work/venv-keras/bin/python")
  set(_conv1dt_keras_python_default "/work/venv-keras/bin/python")
else()
  find_program(_conv1dt_python3 NAMES python3)
  if(_conv1dt_python3)
    set(_conv1dt_keras_python_default "${_conv1dt_python3}")
  else()
    set(_conv1dt_keras_python_default "python3")
  endif()
endif()
set(CONV1DT_KERAS_PYTHON "${_conv1dt_keras_python_default}" CACHE FILEPATH
    "Python interpreter that can import keras (with jax) for the keras_parity test")

add_test(NAME keras_parity
         COMMAND ${CONV1DT_KERAS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/keras/parity.py
                 --cli $<TARGET_FILE:conv1dt_cli>)
set_tests_properties(keras_parity PROPERTIES
  SKIP_RETURN_CODE 77
  LABELS keras
  TIMEOUT 900
  ENVIRONMENT "KERAS_BACKEND=jax;JAX_ENABLE_X64=1;JAX_PLATFORMS=cpu")
