# Cross-compiling for aarch64 (arm64) Linux on a Debian x86-64 host with gcc-aarch64-linux-gnu,
# against arm64 packages installed through multiarch (dpkg --add-architecture arm64; see
# .ci/aarch64.sh for the list):
#   cmake -S . -B build-aarch64 --toolchain cmake/toolchains/aarch64-linux-gnu.cmake
# The tests run under qemu-user (CMAKE_CROSSCOMPILING_EMULATOR), so ctest works as natively.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CONV1DT_CROSS_TRIPLET aarch64-linux-gnu)

set(CMAKE_C_COMPILER ${CONV1DT_CROSS_TRIPLET}-gcc)
set(CMAKE_LIBRARY_ARCHITECTURE ${CONV1DT_CROSS_TRIPLET})

# Debian's cross gcc already searches the multiarch directories (/usr/include/aarch64-linux-gnu,
# /usr/lib/aarch64-linux-gnu); pkg-config has to read the arm64 .pc files, not the host's.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/${CONV1DT_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")

# The host's programs; the target's headers, libraries and packages (cross sysroot, multiarch).
set(CMAKE_FIND_ROOT_PATH /usr/${CONV1DT_CROSS_TRIPLET})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)

# qemu's -L: where the target's /lib/ld-linux-aarch64.so.1 is found. The arm64 packages bring
# their C library (libc6:arm64) to the host's own /lib, and the loader finds the libraries there
# whatever the prefix: with the cross toolchain's /usr/aarch64-linux-gnu the loader would come
# from another glibc build than the libc it loads. That prefix only where no libc6:arm64 is.
if(EXISTS /lib/ld-linux-aarch64.so.1)
  set(CONV1DT_QEMU_LD_PREFIX / CACHE PATH "qemu-aarch64 -L prefix for the tests")
else()
  set(CONV1DT_QEMU_LD_PREFIX /usr/${CONV1DT_CROSS_TRIPLET} CACHE PATH
      "qemu-aarch64 -L prefix for the tests")
endif()
# OpenBLAS's worker threads hang under qemu-user (seen even on `conv1dt --version`): one thread.
set(CMAKE_CROSSCOMPILING_EMULATOR
    env OPENBLAS_NUM_THREADS=1 qemu-aarch64 -L ${CONV1DT_QEMU_LD_PREFIX})
