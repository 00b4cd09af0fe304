/* The layer's copies of its weights in the layouts its methods read, rebuilt by
 * conv1dt__repack whenever the weights change (never during a forward call). */
#include "kernels/kernel.h"
#include "typed.h"

/* The direct kernel's: panels of PW filters (the last one as wide as the rest of ldw), panel p
 * at p * PW * K * C, its row (k, c) holding kernel[k, f, c] for the panel's filters, zero
 * beyond F; then one row of bias (zeros without). A register tile walks down the rows of one
 * panel: with rows of all F filters it strode through memory F apart, and at F = 1024 those
 * 4 KiB strides fell into the same L1 sets (bench case F channels_last measured several
 * times slower).
 * channels_first layers add packed_t (filters in groups of MF, see internal.h): before it, the
 * steps-along-vectors kernel broadcast 4 weights from every ldw-long row, a cache line each
 * (slower on the bench's channels_first direct cases). */
void X(conv1dt__pack_direct)(const conv1dt_layer *layer, R *packed) {
  enum { PW = CONV1DT_DIRECT_PANEL_BYTES / (int)sizeof(R) };
  const int64_t C = layer->in_channels, F = layer->cfg.filters, K = layer->cfg.kernel_size;
  const int64_t ldw = layer->ldw;
  const R *kernel = layer->kernel, *bias = layer->bias;
  for (int64_t f0 = 0; f0 < ldw; f0 += PW) {
    const int64_t w = conv1dt__min64(PW, ldw - f0);
    for (int64_t k = 0; k < K; k++)
      for (int64_t c = 0; c < C; c++) {
        R *row = packed + f0 * K * C + (k * C + c) * w;
        for (int64_t i = 0, f = f0; i < w; i++, f++)
          row[i] = f < F ? kernel[(k * F + f) * C + c] : 0;
      }
  }
  R *brow = packed + K * C * ldw;
  for (int64_t f = 0; f < ldw; f++) brow[f] = bias && f < F ? bias[f] : 0;
  R *wg = layer->packed_g;
  if (wg) { /* virtual tap jj, channel c: group g holds kernel[jj - (G-1) + g, :, c] */
    enum { VW = CONV1DT_DIRECT_GROUP_VBYTES / (int)sizeof(R) };
    const int64_t G = layer->groups, fp = VW / G;
    for (int64_t jj = 0; jj < K + G - 1; jj++)
      for (int64_t c = 0; c < C; c++)
        for (int64_t e = 0; e < VW; e++) {
          const int64_t k = jj - (G - 1) + e / fp, f = e % fp;
          wg[(jj * C + c) * VW + e] = k >= 0 && k < K && f < F ? kernel[(k * F + f) * C + c] : 0;
        }
    for (int64_t e = 0; e < VW; e++)
      wg[(K + G - 1) * C * VW + e] = bias && e % fp < F ? bias[e % fp] : 0;
  }
  R *t = layer->packed_t;
  if (!t) return;
  enum { MF = CONV1DT_DIRECT_MF };
  for (int64_t q = 0; q * MF < F; q++)
    for (int64_t k = 0; k < K; k++)
      for (int64_t c = 0; c < C; c++)
        for (int64_t m = 0, f = q * MF; m < MF; m++, f++)
          t[((q * K + k) * C + c) * MF + m] = f < F ? kernel[(k * F + f) * C + c] : 0;
}

/* The GEMMs': the (K*F) x C view of the Keras kernel transposed to C rows of K*F, so the
 * GEMMs take it untransposed. OpenBLAS packs a transposed B operand much more slowly, and the
 * per-sample GEMMs pack it once each: measured slower than the untransposed one on the
 * bench's wide cases (B, F). Tiled so neither side strides through memory alone. */
void X(conv1dt__pack_gemm)(const conv1dt_layer *layer, R *kt) {
  const int64_t C = layer->in_channels, KF = layer->cfg.kernel_size * layer->cfg.filters;
  const R *kernel = layer->kernel;
  enum { T = 32 };
  for (int64_t r0 = 0; r0 < KF; r0 += T)
    for (int64_t c0 = 0; c0 < C; c0 += T) {
      const int64_t r1 = conv1dt__min64(KF, r0 + T), c1 = conv1dt__min64(C, c0 + T);
      for (int64_t c = c0; c < c1; c++)
        for (int64_t r = r0; r < r1; r++) kt[c * KF + r] = kernel[r * C + c];
    }
}
