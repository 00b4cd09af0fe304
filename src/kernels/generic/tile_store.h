/* Storing a filters tile (channels_last: positions in rows, filters along them). */
#ifndef CONV1DT_KERNEL_TILE_STORE_H
#define CONV1DT_KERNEL_TILE_STORE_H

#include "vec.h"

/* A tile's sums, relu'd when asked, to rows m < mr: out + m * ldo, filters
 * [f0, f0 + NV*VL) ∩ [0, F). */
INLINE void finish_tile(const int MR, const int NV, V acc[][NV_MAX], int mr, int64_t f0, int64_t F,
                        R *out, int64_t ldo, int relu) {
  if (relu)
    for (int m = 0; m < MR; m++)
      for (int v = 0; v < NV; v++) acc[m][v] = relu_v(acc[m][v]);
  FULL_UNROLL
  for (int m = 0; m < MR; m++) {
    STOP_IF(m >= mr);
    R *o = out + m * ldo + f0;
    FULL_UNROLL
    for (int v = 0; v < NV; v++) {
      const int64_t left = F - f0 - v * VL;
      if (left >= VL) {
        vstore(o + v * VL, acc[m][v]);
      } else if (left > 0) {
        R part[VL];
        vstore(part, acc[m][v]);
        memcpy(o + v * VL, part, (size_t)left * sizeof(R));
      }
    }
  }
}

#endif /* CONV1DT_KERNEL_TILE_STORE_H */
