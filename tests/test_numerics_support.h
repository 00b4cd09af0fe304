/*
 * Helpers shared by the numerical Check suites: run one configuration through the public API and
 * judge it against the reference (reference.h). Uses only conv1dt.h.
 */
#ifndef CONV1DT_TEST_NUMERICS_SUPPORT_H
#define CONV1DT_TEST_NUMERICS_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conv1dt.h"
#include "reference.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Creates a layer for cfg/in_channels/dtype, sets kernel (K,F,C) and bias (F,) (given in double,
 * exactly representable in dtype; bias ignored unless cfg->use_bias), checks conv1dt_output_shape
 * against the reference shape, runs conv1dt_forward (NULL workspace) on x and compares with the
 * reference within its tolerance; a glu over an odd axis must fail with
 * CONV1DT_ERROR_SHAPE_MISMATCH leaving y untouched. Also checks x is not modified.
 * Returns the number of problems found (0 = pass); the first are described in msg.
 * If y_out is not NULL and the call succeeded, *y_out receives a malloc'ed copy of the output
 * (dtype) and *count_out its element count.
 */
size_t tn_check_case(const conv1dt_config *cfg, int64_t in_channels, conv1dt_dtype dtype,
                     int64_t batch, int64_t steps, const double *x, const double *kernel,
                     const double *bias, char *msg, size_t msg_size, void **y_out,
                     size_t *count_out);

/* Draws x, kernel and bias (uniform in [-1, 1), or integers in [-2, 2]) and runs tn_check_case. */
size_t tn_check_random_case(ref_rng *rng, const conv1dt_config *cfg, int64_t in_channels,
                            conv1dt_dtype dtype, int64_t batch, int64_t steps, bool integers,
                            char *msg, size_t msg_size);

/* Appends to msg (bounded). */
void tn_appendf(char *msg, size_t size, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Every activation name and alias of the sheet, NULL (linear) first. */
extern const char *const tn_activation_names[];
extern const size_t tn_activation_count;

#ifdef __cplusplus
}
#endif

#endif
