/* Declarations shared by the typed sources (compiled once per precision, see precision.h). */
#ifndef CONV1DT_TYPED_H
#define CONV1DT_TYPED_H

#include "internal.h"
#include "precision.h"

/* col2im.c: overlap-add of a GEMM tile (rows = input steps l0..l1-1 of one sample, K*F each)
 * into the accumulator window, which holds output positions from w0 on, position-major
 * (position p at row p - w0, F wide). Only contributions landing in [pa, pb) are added.
 * Returns one past the highest window row written (0 if none). */
int64_t X(conv1dt__scatter)(const conv1dt_geometry *g, const R *col, int64_t l0, int64_t l1,
                            int64_t pa, int64_t pb, int64_t w0, R *acc);

/* finalize.c: bias + activation for n finished positions starting at position t0, whose window
 * rows start at acc, into y (channels_last rows; channels_first columns, written transposed);
 * pre (may be NULL) receives the pre-activation values, bias included. The window rows are
 * left zero when `clear` (the direct path overwrites its tiles, the accumulate path zeroes what
 * it needs itself). */
void X(conv1dt__finalize_last)(const conv1dt_geometry *g, const R *bias, R *acc, int64_t n,
                               R *y_rows, R *pre_rows, int clear);
void X(conv1dt__finalize_first)(const conv1dt_geometry *g, const R *bias, R *acc, int64_t t0,
                                int64_t n, R *y_sample, R *pre_sample, int clear);
/* The CPU's transpose kernel (kernels/dispatch.c): dst[c * ldd + r] = act(src[r * lds + c] +
 * bias[c]) for r < rows, c < cols, act linear or (relu) relu; bias may be NULL. */
void X(conv1dt__transpose_act)(const R *src, int64_t lds, int64_t rows, int64_t cols, const R *bias,
                               int relu, R *dst, int64_t ldd);
/* The CPU's interleave kernel (kernels/dispatch.c): rows of s planes (plane q at src + f * lds + q
 * * ldp) interleaved into dst rows: dst[f * ldd + j * s + q] = act(plane q's element j + bias[f]),
 * for the first n elements of each row; act relu or none, bias may be NULL. */
void X(conv1dt__interleave)(const R *src, int64_t ldp, int64_t lds, int64_t s, int64_t n,
                            int64_t rows, const R *bias, int relu, R *dst, int64_t ldd);
/* The filter-major variants for channels_first with few filters (plan->filter_major): the
 * tile is (k, f) rows of m steps, the window F rows of `win` positions; acc points at the
 * window column of position t0 (finalize) or at the window (scatter). */
int64_t X(conv1dt__scatter_fm)(const conv1dt_geometry *g, const R *col, int64_t l0, int64_t m,
                               int64_t pa, int64_t pb, int64_t w0, R *acc, int64_t win);
void X(conv1dt__finalize_fm)(const conv1dt_geometry *g, const R *bias, R *acc, int64_t win,
                             int64_t t0, int64_t n, R *y_sample, R *pre_sample, int clear);
/* channels_first softmax / log_softmax / sparsemax along the steps of filters [f0, f1). */
void X(conv1dt__finish_rows_first)(const conv1dt_geometry *g, R *y_sample, int64_t f0, int64_t f1);

/* activation.c: element-wise dst = act(src + bias); bias NULL (none), per element, or one
 * scalar (bias_per_element 0). */
void X(conv1dt__activate)(conv1dt_act act, R *restrict dst, const R *restrict src, int64_t n,
                          const R *bias, int bias_per_element);
void X(conv1dt__activate_row)(conv1dt_act act, R *row, int64_t n); /* softmax, log_softmax,
                                                                      sparsemax, in place */
R X(conv1dt__sigmoid)(R v);
R X(conv1dt__row_max)(const R *row, int64_t n);
R X(conv1dt__sparsemax_tau)(const R *z, int64_t n); /* sparsemax's threshold (Michelot) */

/* activation_grad.c: dz = act'(z) applied to dy (JAX's derivatives of Keras's formulas).
 * Element-wise: dz[i] = act'(z[i]) dy[i] (z may be NULL for linear). Axis-wise, per row of n
 * pre-activations z (dy has n/2 for glu): stats (3 values, from the whole row) first, then dz
 * for row indices [i0, i1) into dz[0 .. i1-i0). */
void X(conv1dt__act_grad)(conv1dt_act act, R *dz, const R *z, const R *dy, int64_t n);
void X(conv1dt__act_grad_stats)(conv1dt_act act, const R *z, const R *dy, int64_t n, R st[3]);
void X(conv1dt__act_grad_span)(conv1dt_act act, const R st[3], const R *z, const R *dy, int64_t n,
                               int64_t i0, int64_t i1, R *dz);

#if CONV1DT_PRECISION == 32
#define conv1dt__gemm_R conv1dt__gemm_f32
#else
#define conv1dt__gemm_R conv1dt__gemm_f64
#endif

/* The GEMMs' weight operand: taps k0.. as C rows (op(B) is C x n for n of the K*F columns from
 * tap k0's on), from the layer's untransposed copy when it has one (pack.c). */
typedef struct {
  const R *w;
  int trans, ld;
} X(conv1dt_weights);
static inline X(conv1dt_weights) X(conv1dt__weights)(const conv1dt_layer *layer, int64_t k0) {
  const int64_t F = layer->cfg.filters, C = layer->in_channels;
  X(conv1dt_weights) op;
  if (layer->gemm_w) {
    op.w = (const R *)layer->gemm_w + k0 * F;
    op.trans = 0;
    op.ld = (int)(layer->cfg.kernel_size * F);
  } else {
    op.w = (const R *)layer->kernel + k0 * F * C;
    op.trans = 1;
    op.ld = (int)C;
  }
  return op;
}

#endif /* CONV1DT_TYPED_H */
