# test_kernels: every kernel table this CPU runs (src/kernels/) against the reference kernels,
# entry by entry. It calls the library's internal symbols, which only the static library keeps
# reachable, and is compiled once per precision as src/typed/ is (the 64-bit copy holds main).
# No contraction, so that its naive sums are the reference's bit for bit.
foreach(_prec 32 64)
  add_library(test_kernels_${_prec} OBJECT ${CMAKE_CURRENT_SOURCE_DIR}/test_kernels.c)
  target_compile_definitions(test_kernels_${_prec} PRIVATE CONV1DT_PRECISION=${_prec})
  target_include_directories(test_kernels_${_prec} PRIVATE
    ${PROJECT_SOURCE_DIR}/src ${PROJECT_SOURCE_DIR}/include)
  target_link_libraries(test_kernels_${_prec} PRIVATE PkgConfig::CHECK)
  if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(test_kernels_${_prec} PRIVATE -ffp-contract=off)
  endif()
endforeach()
add_executable(test_kernels $<TARGET_OBJECTS:test_kernels_32> $<TARGET_OBJECTS:test_kernels_64>
               ${CMAKE_CURRENT_SOURCE_DIR}/check_run.c)
target_link_libraries(test_kernels PRIVATE conv1dt::conv1dt_static PkgConfig::CHECK m)
add_test(NAME test_kernels COMMAND test_kernels)
set_tests_properties(test_kernels PROPERTIES TIMEOUT 300)
