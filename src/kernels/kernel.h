/* The kernel room's interface: what a direct-method kernel computes, the table an ISA fills,
 * and what dispatch.c answers. docs/ARCHITECTURE.md ("The kernel room") walks through it.
 *
 * The direct method computes output positions straight from the input: position u = i*s + k*d
 * (before the crop) receives x[i] . W[k] for every input step i and tap k. The positions
 * u = r + n*s of one stride phase r share their taps (those k with k*d = r mod s) and read
 * consecutive input rows i = n + off_k, so a kernel computes one phase at a time: a register
 * tile of positions x filters, seeded with the bias, summed over taps then channels, stored
 * once. Every table has the same operations; ref/ holds their definition in plain C. */
#ifndef CONV1DT_KERNEL_H
#define CONV1DT_KERNEL_H

#include "internal.h"

/* ---- Layouts and blocking every kernel shares (the packed weights are made once per layer,
 * for whichever table runs) ------------------------------------------------------------ */

/* Filters are padded to a multiple of this many bytes (the widest vector), so every table
 * reads the same packed weights. */
#define CONV1DT_DIRECT_PAD_BYTES 64
/* channels_last weights come in panels of this many bytes of filters (typed/pack.c): a
 * multiple of the padding and of the widest register tile (4 vectors of 64 bytes would not
 * fit; 4 of 32 or 2 of 64 do). A tile walks down one panel's rows instead of striding through
 * rows of all F filters, whose power-of-two strides share L1 sets. */
#define CONV1DT_DIRECT_PANEL_BYTES 256
/* The grouped-positions weights (packed_g) hold rows of one 512-bit vector. */
#define CONV1DT_DIRECT_GROUP_VBYTES 64
/* The steps kernels' weights (packed_t) come in groups of this many filters: a tile's weights
 * are one contiguous run per tap and channel. */
#define CONV1DT_DIRECT_MF 4
/* How far past a phase's last position a kernel may read input: 12 rows (the tallest filters
 * tile), 3 vectors of steps (48 floats at 512 bits), (G - 1) * dilation rows of the grouped
 * tiles (dispatch.c keeps G within it). The panels hold this much slack. */
#define CONV1DT_DIRECT_SLACK 48
/* The tallest filters tile (rows = positions). */
#define CONV1DT_DIRECT_MR 12
/* A chunk gives every stride phase whole multiples of this many positions (plan.c): two 12-row
 * filters tiles, or 3 vectors of 8 steps. */
#define CONV1DT_DIRECT_UNIT 24
/* Weights beyond this many bytes (about twice a core's L2) come from memory again for every
 * chunk: plan.c then takes longer chunks, and the filters tiles ask for the next sweep's
 * weights while they compute. */
#define CONV1DT_DIRECT_CACHED_WEIGHT_BYTES ((double)(4 << 20))
/* Elements of a direct-method thread's output tile (plan.c checks it for overflow): chunk
 * positions of F filters, or `stride` planes of up to chunk/stride + 1 positions. */
#define CONV1DT_DIRECT_TILE_ELEMS(chunk, stride, filters) (((chunk) + (stride)) * (filters))

/* One tap of a phase: its packed weights and its input row offset from the phase's first
 * position. */
typedef struct {
  const void *w;
  int64_t off;
} conv1dt_direct_tap;

/* Input lines a kernel asks for a few at a time while it computes (the driver fills it): rows
 * [row, rows) of `bytes` bytes, `ld` apart from `base`, `per_tile` lines before each register
 * tile. Prefetches change no result. */
typedef struct {
  const char *base;
  int64_t ld, bytes, rows, row, off;
  int per_tile;
} conv1dt_prefetch;
static inline void conv1dt__prefetch_some(conv1dt_prefetch *p) {
  for (int i = 0; p && i < p->per_tile && p->row < p->rows; i++) {
    const char *row = p->base + p->row * p->ld;
    __builtin_prefetch(row + p->off, 0, 2);
    if ((p->off += 64) >= p->bytes) { /* and the row's last line, which 64-byte steps may skip */
      __builtin_prefetch(row + p->bytes - 1, 0, 2);
      p->off = 0;
      p->row++;
    }
  }
}

/* ---- The operations (one argument struct each; R is the table's real type) --------------

 * filters: channels_last, filters along the vectors. Positions n in [n_lo, n_hi) of one phase:
 *   out[(n - n_lo) * ldo + f] = act(bias[f] + sum_j sum_c rows[(n + taps[j].off) * C + c]
 *                                                         * w_j[c * ldw + f])
 *   for f < F, w_j = taps[j].w, act = relu when `relu`, else none. Reads bias[0 .. ldw) and
 *   input rows up to CONV1DT_DIRECT_SLACK past the last position's. pf (may be NULL): lines to
 *   ask for while computing.
 *
 * steps: channels_first, steps along the vectors. Channel c's input steps at xc + c * ldx (step
 *   i at +i); tap j's weights for filter group q at taps[j].w + q * gstride, MF per channel
 *   (packed_t: element (c * MF + m) is filter q * MF + m). Positions n in [n_lo, n_hi):
 *   out[f * ldo + (n - n_lo) * s] = act(bias[f] + sum_j sum_c xc[c * ldx + n + taps[j].off]
 *                                                           * wt_j(f, c))
 *   for f < F. Reads steps up to CONV1DT_DIRECT_SLACK past the last, and bias up to F rounded
 *   up to a whole group (the packed bias row holds ldw). out_is_y: out is the
 *   layer's output (the kernel may prefetch its next lines for writing).
 *
 * steps2: channels_first, stride 2, both phases of n positions into y at once: position
 *   p = 2q + rho (q from 0) sums the taps of phase rho (taps[0 .. ntaps[0]) for rho = 0, then
 *   ntaps[1] for rho = 1, offsets from q) with the steps kernel's weights:
 *   out[f * ldo + p] = act(bias[f] + sum_j sum_c xc[c * ldx + q + off_j] * wt_j(f, c)).
 *
 * groups: channels_last, stride 1, G groups of filters per 512-bit vector (F <= VG / G where
 *   VG = CONV1DT_DIRECT_GROUP_VBYTES / sizeof(R)); wg is the layer's packed_g: virtual tap jj
 *   (0 <= jj < ntaps = K + G - 1), channel c at wg + (jj * C + c) * VG, group g's lanes
 *   [g * VG/G, (g+1) * VG/G) holding kernel[jj - (G-1) + g, f, c] (zero outside the kernel),
 *   then the bias row (every group) at wg + ntaps * C * VG. For every position p < n:
 *   with g = (p / d) % G, out[p * ldo + f] = act(wg_bias[g*VG/G + f] + sum_jj sum_c
 *       rows[(p + (G-1-jj - g) * d) * C + c] * wg[(jj * C + c) * VG + g * VG/G + f]).
 *   Needs n >= CONV1DT_DIRECT_MR * G * d; reads rows from -(K-1)*d to n + (G-1)*d.
 *
 * The backward pass's two operations read a dz tile: rows of F gradients of the output positions
 * (act' applied to dy, zero outside the output), position p of a segment at dz + p * F, the
 * segment's input step l reaching positions l * s + k * d for taps k < K. Weights and their
 * gradient are "row-packed": tap k, filter f, channel c at (k * F + f) * ldw + c, ldw the
 * channels rounded up to whole vectors (zero beyond C).
 *
 * bwd_data: the input gradient of n steps, channels along the vectors:
 *   out[l * ldo + c] = sum_k sum_f dz[(l * s + k * d) * F + f] * w[(k * F + f) * ldw + c]
 *   for l < n, c < C; taps in order, then filters in order. Reads dz rows up to
 *   (n + CONV1DT_DIRECT_MR) * s + (K - 1) * d (a short register tile's rows).
 *
 * bwd_weights: one tap's kernel gradient for filters [f_lo, f_hi), summed over n steps:
 *   acc[f * ldw + c] += sum_l dz[l * s * F + f] * x[l * ldx + c]   for c < ldw (the padding
 *   lanes too: x rows must be readable, and hold zeros there, up to ldw), steps in order.
 *   dz and acc point at the tap's first position and its block of filters. Reads up to
 *   CONV1DT_DIRECT_MR elements of dz past the last step's f_hi.
 *
 * The steps variants (for few channels or filters, and channels_first) read dz as planes: filter
 * f's positions of phase r (positions r + q * s, q = 0, 1, ...) at dz + (f * s + r) * ldq + q, so
 * step l's tap k reads plane (f, k * d mod s) at q = l + k * d / s.
 *
 * bwd_data_t: the input gradient of n steps, steps along the vectors, weights [K][F][ldw]:
 *   out[c * ldo + l] = sum_k sum_f dz plane (f, k*d mod s)[l + k*d / s] * w[(k * F + f) * ldw + c]
 *   for l < n, c < C; taps in order, then filters in order. Reads each plane row up to
 *   CONV1DT_DIRECT_SLACK elements past the last step's (its last register tile's vectors).
 *
 * bwd_weights_t: the kernel gradient of every tap for filters [f_lo, f_hi) and channels
 *   [c_lo, c_hi), summed over n steps as vl lane sums per element (the caller adds the lanes up
 *   once, after every call): lane i of element (k, f, c), acc[((k * F + f) * lda + c) * vl + i],
 *   += the sum over steps l < n with l mod vl = i of
 *   dz plane (f, k*d mod s)[l + k*d / s] * x[c * ldx + l]. Reads nothing past step n - 1 of an x
 *   row, nor past the plane entries the steps reach.
 *
 * transpose: dst[c * ldd + r] = act(src[r * lds + c] + bias[c]) for r < rows, c < cols; bias
 *   NULL adds +0 (a -0 comes out +0). interleave: rows of s planes into dst rows:
 *   dst[f * ldd + j * s + q] = act(src[f * lds + q * ldp + j] + bias[f]) for j * s + q < n;
 *   bias NULL adds nothing (-0 stays -0). */
#define CONV1DT_DECLARE_KERNELS(R, S)                                                              \
  typedef struct {                                                                                 \
    const R *rows;                                                                                 \
    int64_t C;                                                                                     \
    const conv1dt_direct_tap *taps;                                                                \
    int ntaps;                                                                                     \
    int64_t n_lo, n_hi, F, ldw;                                                                    \
    const R *bias;                                                                                 \
    R *out;                                                                                        \
    int64_t ldo;                                                                                   \
    int relu;                                                                                      \
    conv1dt_prefetch *pf;                                                                          \
  } conv1dt_filters_args_##S;                                                                      \
  typedef struct {                                                                                 \
    const R *xc;                                                                                   \
    int64_t ldx, C;                                                                                \
    const conv1dt_direct_tap *taps;                                                                \
    int ntaps;                                                                                     \
    int64_t n_lo, n_hi, F, gstride;                                                                \
    const R *bias;                                                                                 \
    R *out;                                                                                        \
    int64_t ldo, s;                                                                                \
    int relu, out_is_y;                                                                            \
    conv1dt_prefetch *pf;                                                                          \
  } conv1dt_steps_args_##S;                                                                        \
  typedef struct {                                                                                 \
    const R *xc;                                                                                   \
    int64_t ldx, C;                                                                                \
    const conv1dt_direct_tap *taps;                                                                \
    int ntaps[2];                                                                                  \
    int64_t n, F, gstride;                                                                         \
    const R *bias;                                                                                 \
    R *out;                                                                                        \
    int64_t ldo;                                                                                   \
    int relu;                                                                                      \
    conv1dt_prefetch *pf;                                                                          \
  } conv1dt_steps2_args_##S;                                                                       \
  typedef struct {                                                                                 \
    const R *rows;                                                                                 \
    int64_t C;                                                                                     \
    const R *wg;                                                                                   \
    int ntaps, G;                                                                                  \
    int64_t d, F, n;                                                                               \
    R *out;                                                                                        \
    int64_t ldo;                                                                                   \
    int relu;                                                                                      \
  } conv1dt_groups_args_##S;                                                                       \
  typedef struct {                                                                                 \
    const R *dz;                                                                                   \
    int64_t F, s, d;                                                                               \
    int K;                                                                                         \
    const R *w;                                                                                    \
    int64_t C, ldw, n;                                                                             \
    R *out;                                                                                        \
    int64_t ldo;                                                                                   \
  } conv1dt_bwd_data_args_##S;                                                                     \
  typedef struct {                                                                                 \
    const R *dz;                                                                                   \
    int64_t F, s;                                                                                  \
    const R *x;                                                                                    \
    int64_t ldx, n, f_lo, f_hi, ldw;                                                               \
    R *acc;                                                                                        \
  } conv1dt_bwd_weights_args_##S;                                                                  \
  typedef struct {                                                                                 \
    const R *dz;                                                                                   \
    int64_t ldq, F, s, d;                                                                          \
    int K;                                                                                         \
    const R *w;                                                                                    \
    int64_t ldw, C, n;                                                                             \
    R *out;                                                                                        \
    int64_t ldo;                                                                                   \
  } conv1dt_bwd_data_t_args_##S;                                                                   \
  typedef struct {                                                                                 \
    const R *dz;                                                                                   \
    int64_t ldq, F, s, d;                                                                          \
    int K;                                                                                         \
    const R *x;                                                                                    \
    int64_t ldx, n, f_lo, f_hi, c_lo, c_hi;                                                        \
    R *acc;                                                                                        \
    int64_t lda;                                                                                   \
  } conv1dt_bwd_weights_t_args_##S;                                                                \
  typedef struct conv1dt_kernels_##S conv1dt_kernels_##S;                                          \
  struct conv1dt_kernels_##S {                                                                     \
    const char *name; /* as conv1dt_kernel_isa() and the tests say it */                           \
    int vl;           /* elements per vector: the steps tiles' width, 3 * vl their overrun */      \
    int mf;           /* filters in the steps tiles' widest (MF, or 2 * MF) */                     \
    int mr[4];        /* filters tiles' heights for 1 to 4 vectors of filters */                   \
    void (*filters)(const conv1dt_filters_args_##S *a);                                            \
    void (*steps)(const conv1dt_steps_args_##S *a);                                                \
    void (*steps2)(const conv1dt_steps2_args_##S *a); /* NULL: this ISA has none */                \
    void (*groups)(const conv1dt_groups_args_##S *a); /* NULL: this ISA has none */                \
    void (*bwd_data)(const conv1dt_bwd_data_args_##S *a);                                          \
    void (*bwd_weights)(const conv1dt_bwd_weights_args_##S *a);                                    \
    void (*bwd_data_t)(const conv1dt_bwd_data_t_args_##S *a);                                      \
    void (*bwd_weights_t)(const conv1dt_bwd_weights_t_args_##S *a);                                \
    /* NULL in a table that keeps its narrower ISA's (dispatch.c) */                               \
    void (*transpose)(const R *src, int64_t lds, int64_t rows, int64_t cols, const R *bias,        \
                      int relu, R *dst, int64_t ldd);                                              \
    void (*interleave)(const R *src, int64_t ldp, int64_t lds, int64_t s, int64_t n, int64_t rows, \
                       const R *bias, int relu, R *dst, int64_t ldd);                              \
  };                                                                                               \
  extern const conv1dt_kernels_##S conv1dt__kernels_ref_##S, conv1dt__kernels_generic_##S,         \
      conv1dt__kernels_x86_64_v3_##S, conv1dt__kernels_x86_64_v4_##S;                              \
  /* The table for isa, or NULL where this build has none. */                                      \
  const conv1dt_kernels_##S *conv1dt__kernels_##S(conv1dt_isa isa);                                \
  /* the reference kernels' steps2 and groups (its table leaves them out, as generic does) */      \
  void conv1dt__ref_steps2_##S(const conv1dt_steps2_args_##S *a);                                  \
  void conv1dt__ref_groups_##S(const conv1dt_groups_args_##S *a);

/* ---- dispatch.c: which table runs, and the rules that pick a tile ------------------------ */
typedef enum {
  CONV1DT_ISA_REF,       /* ref/: plain C, the definition (tests and the selftest) */
  CONV1DT_ISA_GENERIC,   /* generic/: vector extensions, the build's baseline flags */
  CONV1DT_ISA_X86_64_V3, /* x86_64_v3/: AVX2 + FMA */
  CONV1DT_ISA_X86_64_V4, /* x86_64_v4/: AVX-512 */
  CONV1DT_ISA_COUNT
} conv1dt_isa;

CONV1DT_DECLARE_KERNELS(float, f32)
CONV1DT_DECLARE_KERNELS(double, f64)

/* The best table this build has and this CPU runs. */
conv1dt_isa conv1dt__cpu_isa(void);
/* Whether this build has the table and this CPU runs it. */
int conv1dt__isa_runs(conv1dt_isa isa);
const char *conv1dt__isa_name(conv1dt_isa isa);
/* Bits of the widest vectors the direct method runs on this CPU (AUTO compares the BLAS's). */
int conv1dt__kernel_vector_bits(void);
/* Layer-time rules (the packed copies a layer keeps for its table `isa`): G of the
 * grouped-positions tiles, or 0; whether a channels_last layer's filters are few enough for the
 * steps tiles. */
int conv1dt__direct_groups(conv1dt_isa isa, int64_t filters, int64_t ksize, int64_t stride,
                           int64_t dilation, size_t elem_size);
int conv1dt__direct_few_filters(conv1dt_isa isa, int64_t filters, size_t elem_size);
/* layer.c: run the layer's direct method on table isa from now on, one this CPU runs and no
 * wider than the layer's own (its packed copies were made for that); not while it computes. */
conv1dt_status conv1dt__layer_use_isa(conv1dt_layer *layer, conv1dt_isa isa);

/* Call-time rules: how one forward call of the direct method runs. */
typedef struct {
  conv1dt_isa isa;        /* the table whose filters and steps tiles run */
  conv1dt_isa groups_isa; /* the table whose grouped tiles run, when `groups` */
  int steps;              /* the steps tiles (channels_first, or channels_last `mono`) */
  int mono;               /* channels_last through the steps tiles, from a transposed panel */
  int to_y;               /* the kernels write the output themselves (linear or relu) */
  int to_pre;             /* pre wanted, linear or relu: the kernels write pre where they would
                             write y, and y = act(pre) follows, chunk by chunk, from cache */
  int steps2;             /* channels_first stride 2 into y: both phases at once */
  int planar;             /* channels_first with a stride into y: planes, interleaved after */
  int groups;             /* G of the grouped-positions tiles, for chunks long enough; or 0 */
  int prefetch_weights;   /* the filters tiles ask for the next sweep's weights */
  int64_t slack;          /* input steps a chunk reads past its last phase position */
} conv1dt_direct_choice;
void conv1dt__direct_choose(const conv1dt_layer *layer, const conv1dt_geometry *g,
                            const conv1dt_plan *plan, int want_pre, conv1dt_direct_choice *c);
/* Whether a chunk of n positions runs the grouped-positions tiles. */
int conv1dt__direct_grouped(const conv1dt_direct_choice *c, const conv1dt_geometry *g, int64_t n);
/* The table the backward pass's tiles (bwd_data, bwd_weights) run for a layer of table `isa`
 * with `channels` input channels. */
conv1dt_isa conv1dt__backward_isa(conv1dt_isa isa, int64_t channels, size_t elem_size);
/* The table whose layout changes (transpose, interleave) run on this CPU. */
conv1dt_isa conv1dt__layout_isa(void);

#endif /* CONV1DT_KERNEL_H */
