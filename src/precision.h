/* One implementation, two precisions (FFTW's way): every file in src/typed/ is compiled twice,
 * with CONV1DT_PRECISION=32 and =64. R is the real type and X(name) appends the suffix, so
 * `X(conv1dt__run)` becomes conv1dt__run_f32 or conv1dt__run_f64. Math calls go through
 * <tgmath.h>, which picks expf or exp from the argument type. */
#ifndef CONV1DT_PRECISION_H
#define CONV1DT_PRECISION_H

#include <tgmath.h>

#if CONV1DT_PRECISION == 32
typedef float R;
#define X(name) name##_f32
#define RC(c) c##f
#elif CONV1DT_PRECISION == 64
typedef double R;
#define X(name) name##_f64
#define RC(c) c
#else
#error "compile src/typed/ with CONV1DT_PRECISION=32 or 64"
#endif

#endif /* CONV1DT_PRECISION_H */
