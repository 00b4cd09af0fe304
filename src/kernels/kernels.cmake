# The kernel room (src/kernels/; docs/ARCHITECTURE.md): one object library per table and
# precision, each compiled with its ISA's flags, and dispatch.c, told which tables exist.
# Defines CONV1DT_KERNEL_OBJECTS (the object libraries) and CONV1DT_KERNEL_SOURCES (dispatch.c,
# for the common objects).
set(CONV1DT_KERNEL_SOURCES src/kernels/dispatch.c)
set(CONV1DT_KERNEL_OBJECTS)
set(_conv1dt_have_tables)

# conv1dt_kernel_table(NAME SOURCE [FLAGS...]): the table in SOURCE, for float and double.
function(conv1dt_kernel_table name source)
  foreach(_prec 32 64)
    set(_t conv1dt_kernels_${name}${_prec})
    add_library(${_t} OBJECT ${source})
    target_compile_definitions(${_t} PRIVATE CONV1DT_PRECISION=${_prec})
    if(ARGN)
      target_compile_options(${_t} PRIVATE ${ARGN})
    endif()
    list(APPEND CONV1DT_KERNEL_OBJECTS ${_t})
  endforeach()
  set(CONV1DT_KERNEL_OBJECTS ${CONV1DT_KERNEL_OBJECTS} PARENT_SCOPE)
endfunction()

# The vector kernels' multiply-adds fuse where the ISA has FMA (ISO C mode turns contraction off
# by default); -Wno-psabi: GCC notes that passing vector types changed ABI, which matters only
# across library boundaries these static functions never cross. The reference kernel fuses
# nothing: it is the definition, the same bits on every machine.
set(_conv1dt_vec_flags)
if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
  set(_conv1dt_vec_flags -ffp-contract=fast -Wno-psabi)
  conv1dt_kernel_table(ref src/kernels/ref/ref.c -ffp-contract=off)
else()
  conv1dt_kernel_table(ref src/kernels/ref/ref.c)
endif()
conv1dt_kernel_table(generic src/kernels/generic/kernels.c ${_conv1dt_vec_flags})

# x86-64: AVX2 + FMA and AVX-512 tables beside the baseline one, picked at run time
# (CONV1DT_DISPATCH=OFF leaves only the baseline table, as CI tests it).
include(CheckCCompilerFlag)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64") # no x86 flag reaches other targets' builds
  check_c_compiler_flag(-march=x86-64-v3 CONV1DT_CC_HAS_V3)
  check_c_compiler_flag(-march=x86-64-v4 CONV1DT_CC_HAS_V4)
  if(CONV1DT_DISPATCH AND CONV1DT_CC_HAS_V3)
    conv1dt_kernel_table(x86_64_v3 src/kernels/x86_64_v3/kernels.c ${_conv1dt_vec_flags}
                         -march=x86-64-v3 -mtune=generic)
    list(APPEND _conv1dt_have_tables CONV1DT_HAVE_X86_64_V3)
    if(CONV1DT_CC_HAS_V4)
      conv1dt_kernel_table(x86_64_v4 src/kernels/x86_64_v4/kernels.c ${_conv1dt_vec_flags}
                           -march=x86-64-v4 -mtune=generic)
      list(APPEND _conv1dt_have_tables CONV1DT_HAVE_X86_64_V4)
    endif()
  endif()
endif()
set_source_files_properties(src/kernels/dispatch.c PROPERTIES COMPILE_DEFINITIONS
                            "${_conv1dt_have_tables}")
