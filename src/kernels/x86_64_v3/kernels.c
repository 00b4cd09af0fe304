/* The x86-64-v3 table (AVX2, FMA; 16 registers of 256 bits): the generic tiles, compiled with
 * -march=x86-64-v3 (kernels.cmake). The blocking is generic's; only the instructions change. */
#define CONV1DT_KERNEL_NAME x86_64_v3
#define CONV1DT_KERNEL_LABEL "x86-64-v3 (AVX2, FMA)"
#include "../generic/kernels.c"
