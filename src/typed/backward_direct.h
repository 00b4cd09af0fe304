/* The direct backward's shared parts (typed/backward_direct.c drives; backward_rows.c and
 * backward_planes.c lay out the tiles and run the kernels, one layout each):
 *   rows:   dz positions in rows of F, x and dx rows of channels; channels along the vectors
 *           (kernel.h's bwd_data, bwd_weights);
 *   planes: channels_first only: dz filter-major, split by stride phase, x and dx in place;
 *           steps along the vectors (bwd_data_t, bwd_weights_t), for few channels. */
#ifndef CONV1DT_TYPED_BACKWARD_DIRECT_H
#define CONV1DT_TYPED_BACKWARD_DIRECT_H

#include "kernels/kernel.h"
#include "typed.h"

#include <stdatomic.h>

typedef struct {
  int64_t b, l0, l1;  /* the sample and its steps */
  int64_t p0, p1;     /* dz tile positions [p0, p1), some outside [0, T) (zero) */
  int64_t own0, own1; /* positions whose dz goes into dbias, each once */
  int64_t tile, row;  /* first dz tile row (rows), first block row */
  int64_t q0;         /* planes: the column of the segment's first position */
} bwd_seg;

/* One block's tiles: its segments, dz rows or planes and (where x's layout needs it) x. */
typedef struct {
  bwd_seg *segs;
  int64_t nseg, rows, tile_rows;
  int64_t ldq; /* planes: each plane row's length */
  R *dz, *xt;
  const R *xrows; /* rows: block row r's x at xrows + r * ldx */
} bwd_block;

typedef struct {
  const conv1dt_layer *layer;
  const conv1dt_geometry *g;
  const conv1dt_bwd_plan *plan;
  const X(conv1dt_kernels) * kern;
  const R *x, *pre, *dy;
  R *dx, *dkernel;
  const R *w;
  R *acc, *dxt, *scratch;
  double *bsum;
  int64_t ldx;
  const bwd_block *a, *b; /* part A's block, part B's (either may be NULL) */
  int64_t items[5];       /* the job's work items of each kind (backward_direct.c) */
  _Atomic int64_t next;
} bwd_job;

/* The part [*a, *b) of [lo, hi) in a piece that starts at `start` and spans `len` (as offsets
 * into the piece); 0 when none. */
static inline int bwd_piece(int64_t start, int64_t len, int64_t lo, int64_t hi, int64_t *a,
                            int64_t *b) {
  *a = conv1dt__max64(lo, start) - start;
  *b = conv1dt__min64(hi, start + len) - start;
  return *a < *b;
}

/* The planes layout's kernel gradient work items: this many filters x channels, every tap (a
 * chunk of steps serves all taps from L1). */
#define CONV1DT_BWD_PLANES_DW_F 4
#define CONV1DT_BWD_PLANES_DW_C 8

/* Each layout's steps, on segment sg of block k: part A, dz of tile rows [a, b) (positions
 * p0 + a ..); part B, dx of block rows [a, b), the kernel gradient of
 * filters [f_lo, f_hi) and piece t (rows: tap t; planes: channel piece t, every tap), dbias of
 * filters [f_lo, f_hi) over all segments. */
#define CONV1DT_BWD_LAYOUT(L)                                                                      \
  void X(conv1dt__bwd_##L##_dz)(const bwd_job *j, const bwd_block *k, const bwd_seg *sg,           \
                                int64_t a, int64_t b, R *scratch);                                 \
  void X(conv1dt__bwd_##L##_dx)(const bwd_job *j, const bwd_block *k, const bwd_seg *sg,           \
                                int64_t a, int64_t b);                                             \
  void X(conv1dt__bwd_##L##_dw)(const bwd_job *j, const bwd_block *k, const bwd_seg *sg,           \
                                int64_t t, int64_t f_lo, int64_t f_hi);                            \
  void X(conv1dt__bwd_##L##_db)(const bwd_job *j, const bwd_block *k, int64_t f_lo, int64_t f_hi);
CONV1DT_BWD_LAYOUT(rows)
CONV1DT_BWD_LAYOUT(planes)
/* the rows layout's x copy (the planes read x in place) */
void X(conv1dt__bwd_rows_x)(const bwd_job *j, const bwd_block *k, const bwd_seg *sg, int64_t a,
                            int64_t b);

#endif /* CONV1DT_TYPED_BACKWARD_DIRECT_H */
