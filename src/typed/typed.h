/* Declarations shared by the typed sources (compiled once per precision, see precision.h). */
#ifndef CONV1DT_TYPED_H
#define CONV1DT_TYPED_H

#include "internal.h"
#include "precision.h"

/* col2im.c: overlap-add of GEMM tiles into the accumulator window. The window holds output
 * positions [w0, w0 + win); each returns one past the highest window index it wrote (0 if
 * none). Contributions reach each position in increasing input step, whatever the blocking. */
int64_t X(conv1dt__scatter_last)(const conv1dt_geometry *g, const R *col, int64_t l0, int64_t l1,
                                 int64_t w0, R *acc);
int64_t X(conv1dt__scatter_first)(const conv1dt_geometry *g, const R *col, int64_t l0, int64_t m,
                                  int64_t w0, R *acc, int64_t win);

/* finalize.c: bias + activation from the window into y for finished positions. */
void X(conv1dt__finalize_last)(const conv1dt_geometry *g, const R *bias, R *acc, int64_t n,
                               R *y_rows);
void X(conv1dt__finalize_first)(const conv1dt_geometry *g, const R *bias, R *acc, int64_t win,
                                int64_t t0, int64_t t1, R *y_sample);
void X(conv1dt__finish_sample_first)(const conv1dt_geometry *g, R *y_sample);

/* activation.c */
void X(conv1dt__activate)(conv1dt_act act, R *dst, const R *src, int64_t n); /* element-wise */
void X(conv1dt__activate_row)(conv1dt_act act, R *row, int64_t n); /* softmax, log_softmax,
                                                                      sparsemax, in place */
R X(conv1dt__sigmoid)(R v);

#if CONV1DT_PRECISION == 32
#define conv1dt__gemm_R conv1dt__gemm_f32
#else
#define conv1dt__gemm_R conv1dt__gemm_f64
#endif

#endif /* CONV1DT_TYPED_H */
