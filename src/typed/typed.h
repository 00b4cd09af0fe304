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
/* transpose.c: dst[c * ldd + r] = act(src[r * lds + c] + bias[c]) for r < rows, c < cols, act
 * linear or (relu) relu; bias may be NULL. */
void X(conv1dt__transpose_act)(const R *src, int64_t lds, int64_t rows, int64_t cols, const R *bias,
                               int relu, R *dst, int64_t ldd);
/* transpose.c: rows of s planes (plane q at src + f * lds + q * ldp) interleaved into dst rows:
 * dst[f * ldd + j * s + q] = act(plane q's element j + bias[f]), for the first n elements of
 * each row; act relu or none, bias may be NULL. */
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

/* direct.c: one phase of the direct kernel. Positions n in [n_lo, n_hi) of the phase (output
 * rows out + (n - n_lo) * ldo, F filters) = bias + sum over taps j and channels c of
 * rows[(n + taps[j].off) * C + c] * w_j[c * ldw + f], then relu when asked. Reads bias[0 .. ldw)
 * and input rows up to CONV1DT_DIRECT_SLACK past the last position's. Asks for pf's lines (the
 * next sweep's weights; pf may be NULL) one per channel and tap during its last tiles. */
#define CONV1DT_DIRECT_VL (CONV1DT_DIRECT_VBYTES / (int)sizeof(R))
#define CONV1DT_DIRECT_WIDE_VL (CONV1DT_DIRECT_WIDE_VBYTES / (int)sizeof(R))
#define CONV1DT_DIRECT_PHASE_ARGS                                                                  \
  const R *rows, int64_t C, const conv1dt_direct_tap *taps, int ntaps, int64_t n_lo, int64_t n_hi, \
      int64_t F, int64_t ldw, const R *bias, R *out, int64_t ldo, int relu, conv1dt_prefetch *pf
void X(conv1dt__direct_phase)(CONV1DT_DIRECT_PHASE_ARGS);

/* channels_first: positions along the vectors, channel rows xc + c * ldx (position i at +i);
 * taps[j].w points at the tap in the layer's packed_t, filter groups gstride apart; the output
 * is filter-major: filter f's position n at out[f * ldo + (n - n_lo) * s]. Reads positions up
 * to CONV1DT_DIRECT_SLACK past the last one's. Before each register tile it asks for pf's next
 * lines (pf may be NULL) and, when out_is_y, for the next tile's part of out. */
#define CONV1DT_DIRECT_PHASE_T_ARGS                                                                \
  const R *xc, int64_t ldx, int64_t C, const conv1dt_direct_tap *taps, int ntaps, int64_t n_lo,    \
      int64_t n_hi, int64_t F, int64_t gstride, const R *bias, R *out, int64_t ldo, int64_t s,     \
      int relu, conv1dt_prefetch *pf, int out_is_y
void X(conv1dt__direct_phase_t)(CONV1DT_DIRECT_PHASE_T_ARGS);

/* channels_first, stride 2, straight into y (AVX-512 build only): both phases of the chunk's
 * n positions at once, position p = 2q + rho reading xc + c * ldx + q + off for the taps of
 * its phase (taps[] holds rho = 0's taps, then rho = 1's, ntaps[rho] each); filter f's
 * position p at out[f * ldo + p]. Reads steps up to CONV1DT_DIRECT_SLACK past the last q. */
#define CONV1DT_DIRECT_PHASE_T2_ARGS                                                               \
  const R *xc, int64_t ldx, int64_t C, const conv1dt_direct_tap *taps, const int *ntaps,           \
      int64_t n, int64_t F, int64_t gstride, const R *bias, R *out, int64_t ldo, int relu,         \
      conv1dt_prefetch *pf
void X(conv1dt__direct_phase_t2_wide)(CONV1DT_DIRECT_PHASE_T2_ARGS);

/* The same two kernels with 512-bit vectors (direct.c compiled again with CONV1DT_DIRECT_WIDE
 * and -march=x86-64-v4), where the build has them (CONV1DT_HAVE_WIDE) and the CPU runs them. */
void X(conv1dt__direct_phase_wide)(CONV1DT_DIRECT_PHASE_ARGS);
void X(conv1dt__direct_phase_t_wide)(CONV1DT_DIRECT_PHASE_T_ARGS);

/* The AVX-512 build's grouped-positions kernel (stride 1, G groups of filters per vector; see
 * direct.c): all n positions of a chunk, out + p * ldo for position p, from input rows
 * rows + (p + e) * C for e in [-(K-1)*d, (G-1)*d] and the layer's packed_g (ntaps = K + G - 1
 * virtual taps of C rows of 512 bits, then the bias row). Needs n >= CONV1DT_DIRECT_MR * G * d. */
#define CONV1DT_DIRECT_GROUPS_ARGS                                                                 \
  const R *rows, int64_t C, const R *wg, int ntaps, int64_t d, int G, int64_t F, int64_t n,        \
      R *out, int64_t ldo, int relu
void X(conv1dt__direct_groups_wide)(CONV1DT_DIRECT_GROUPS_ARGS);

/* The kernels one direct call runs: vl elements per vector (how far the steps kernel reads past
 * a phase is 3 * vl) and mf filters in the steps kernel's widest tiles, picked per call by
 * direct_run.c. */
typedef struct {
  int vl, mf;
  void (*phase)(CONV1DT_DIRECT_PHASE_ARGS);
  void (*phase_t)(CONV1DT_DIRECT_PHASE_T_ARGS);
  void (*phase_t2)(CONV1DT_DIRECT_PHASE_T2_ARGS); /* NULL: this build has none */
} X(conv1dt_direct_kernels);

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
