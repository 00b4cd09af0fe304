/* The col2im overlap-add: GEMM output (l, k, f) lands on output position
 * p = l*stride + k*dilation - crop_left. Each call adds only what lands in [pa, pb) — the caller's
 * share of the output — so threads that own disjoint position ranges never write the same place;
 * positions outside [0, out_len) are the crop and the caller never asks for them. */
#include "typed.h"

/* Tile row i is input step l0 + i, K*F long in (k, f) order (both data formats: channels_first
 * gets this layout from a transposed GEMM); the window is position-major (filters contiguous),
 * so each (l, k) adds one contiguous run of F. For a given position the contributions arrive in
 * increasing l, whatever the blocking. */
int64_t X(conv1dt__scatter)(const conv1dt_geometry *g, const R *col, int64_t l0, int64_t l1,
                            int64_t pa, int64_t pb, int64_t w0, R *acc) {
  const int64_t F = g->filters, KF = g->ksize * F, s = g->stride, d = g->dil;
  int64_t top = 0;
  for (int64_t l = l0; l < l1; l++) {
    const int64_t base = l * s - g->crop_left; /* position of k = 0 */
    /* pa <= base + k*d < pb */
    int64_t k_lo = base >= pa ? 0 : conv1dt__ceil_div(pa - base, d);
    int64_t k_hi = conv1dt__floor_div(pb - 1 - base, d) + 1;
    if (k_hi > g->ksize) k_hi = g->ksize;
    if (k_lo >= k_hi) continue;
    const R *c = col + (l - l0) * KF;
    for (int64_t k = k_lo; k < k_hi; k++) {
      R *restrict a = acc + (base + k * d - w0) * F;
      const R *restrict ck = c + k * F;
      for (int64_t f = 0; f < F; f++) a[f] += ck[f];
    }
    const int64_t last = base + (k_hi - 1) * d - w0 + 1;
    if (last > top) top = last;
  }
  return top;
}

/* channels_first with few filters: the tile is filter-major ((k, f) rows of m input steps, from
 * the GEMM W * x_b, which OpenBLAS runs faster for such shapes) and so is the window (row f,
 * positions contiguous). k runs downwards so that, for any position, contributions arrive in
 * increasing l, as above. */
int64_t X(conv1dt__scatter_fm)(const conv1dt_geometry *g, const R *col, int64_t l0, int64_t m,
                               int64_t pa, int64_t pb, int64_t w0, R *acc, int64_t win) {
  const int64_t F = g->filters, s = g->stride, d = g->dil;
  int64_t top = 0;
  for (int64_t k = g->ksize - 1; k >= 0; k--) {
    const int64_t off = k * d - g->crop_left; /* p = l*s + off */
    int64_t lo = conv1dt__ceil_div(pa - off, s), hi = conv1dt__floor_div(pb - 1 - off, s) + 1;
    if (lo < l0) lo = l0;
    if (hi > l0 + m) hi = l0 + m;
    if (lo >= hi) continue;
    const int64_t n = hi - lo, start = lo * s + off - w0;
    for (int64_t f = 0; f < F; f++) {
      R *restrict a = acc + f * win + start;
      const R *restrict c = col + (k * F + f) * m + (lo - l0);
      if (s == 1)
        for (int64_t i = 0; i < n; i++) a[i] += c[i];
      else
        for (int64_t i = 0; i < n; i++) a[i * s] += c[i];
    }
    const int64_t last = start + (n - 1) * s + 1;
    if (last > top) top = last;
  }
  return top;
}
