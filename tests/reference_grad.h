/*
 * The test suite's independent reference for the gradients of Keras 3 `Conv1DTranspose`.
 *
 * Written from the definition, not from the library's GEMM/gather path: the pre-activation
 * z[b, p, f] = bias[f] + sum over (l, k) with l*s + k*d - crop_left = p of sum_c x[b,l,c] W[k,f,c],
 * so for dz = dLoss/dz,
 *   dx[b, l, c] = sum_{k, f} W[k, f, c] dz[b, l*s + k*d - crop_left, f]   (terms inside [0, T))
 *   dW[k, f, c] = sum_{b, l} x[b, l, c] dz[b, l*s + k*d - crop_left, f]
 *   db[f]       = sum_{b, p} dz[b, p, f]
 * as direct loops, and dz from each activation's own derivative (element-wise, with JAX's values
 * at the breakpoints) or its explicit Jacobian (softmax, log_softmax, sparsemax, glu). Uses
 * reference.h for geometry, data and activations; calls no conv1dt function.
 *
 * Alongside every value it computes an allowed deviation for a library working in float32 or
 * float64 (see reference_grad.c).
 */
#ifndef CONV1DT_TESTS_REFERENCE_GRAD_H
#define CONV1DT_TESTS_REFERENCE_GRAD_H

#include <stddef.h>
#include <stdint.h>

#include "conv1dt.h"
#include "reference.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Derivative of an element-wise activation (canonical name) at z, with the values JAX's
 * autodiff gives Keras's formulas at their breakpoints. */
double refg_activation_derivative(const char *canonical, double z);

/* Distance from z to the nearest point where the activation (canonical name, element-wise) or
 * its first two derivatives are not continuous; INFINITY for smooth ones. */
double refg_kink_distance(const char *canonical, double z);

/* Expected gradients with their tolerances. Arrays in the layer's layouts (dx like x). */
typedef struct refg_grads {
  size_t nx, nk, nb, nz;
  double *dx, *dk, *db, *dz;
  double *tol_dx, *tol_dk, *tol_db, *tol_dz;
} refg_grads;

/*
 * Gradients for x ((B, L, C) or (B, C, L)), kernel (K, F, C), the pre-activation `pre` the
 * library stored (pre-activation shape, layer data format) and dy (output shape), all in double.
 * `y_lib` (output shape, may be NULL) is the library's forward output: for sparsemax it settles
 * whether an element whose z lies within rounding of the threshold is in the support. The
 * tolerances bound a library computing in `dtype` from the same pre and dy. Returns REF_OK,
 * REF_BAD_CONFIG or REF_NO_MEMORY. Free with refg_free.
 */
ref_status refg_backward(const conv1dt_config *cfg, int64_t in_channels, conv1dt_dtype dtype,
                         const double *x, int64_t batch, int64_t steps, const double *kernel,
                         const double *pre, const double *y_lib, const double *dy, refg_grads *out);
void refg_free(refg_grads *g);

/* Pre-activation (bias included) by the direct loop, in the layer's data format; malloc'ed
 * (NULL on failure); *count receives its element count. */
double *refg_preactivation(const conv1dt_config *cfg, int64_t in_channels, const double *x,
                           int64_t batch, int64_t steps, const double *kernel, const double *bias,
                           size_t *count);

/* Smallest distance from any pre-activation to a breakpoint of the activation (rows of the last
 * axis for sparsemax: |z_i - tau|); INFINITY when smooth. pre in the layer's data format. */
double refg_min_kink_distance(const conv1dt_config *cfg, const double *pre, int64_t batch,
                              int64_t out_len);

#ifdef __cplusplus
}
#endif

#endif
