/*
 * basic.c — the smallest complete conv1dt program.
 *
 * Keras equivalent:
 *   layer = keras.layers.Conv1DTranspose(filters=4, kernel_size=3, strides=2, padding="same",
 *                                        activation="relu")
 *   layer.set_weights([kernel, bias]); y = layer(x)        # x: (2, 5, 3) -> y: (2, 10, 4)
 *
 * Build against an installed conv1dt:  cc basic.c $(pkg-config --cflags --libs conv1dt)
 * Exits 0 when the library's output matches the direct loop at the bottom of this file.
 */
#include <conv1dt.h>

#include <stdio.h>
#include <stdlib.h>

enum { BATCH = 2, STEPS = 5, IN_CH = 3, FILTERS = 4, KSIZE = 3, STRIDES = 2 };

/* Every conv1dt call returns a status; on failure, conv1dt_last_error() says what was wrong. */
#define CHECK(call)                                                                                \
  do {                                                                                             \
    conv1dt_status status_ = (call);                                                               \
    if (status_ != CONV1DT_OK) {                                                                   \
      fprintf(stderr, "%s: %s: %s\n", #call, conv1dt_status_name(status_), conv1dt_last_error());  \
      goto done;                                                                                   \
    }                                                                                              \
  } while (0)

static void reference(const float *x, const float *kernel, const float *bias, int64_t out_steps,
                      float *y);
static int same_values(const float *got, const float *want, size_t n);

int main(void) {
  int exit_code = EXIT_FAILURE;
  conv1dt_layer *layer = NULL;
  float *y = NULL, *y_ws = NULL, *y_ref = NULL;
  void *workspace = NULL;

  /* 1. Configure and create the layer: float32, channels_last (the default data format). */
  conv1dt_config cfg = conv1dt_config_default(FILTERS, KSIZE);
  cfg.strides = STRIDES;
  cfg.padding = CONV1DT_PADDING_SAME;
  cfg.activation = "relu";
  CHECK(conv1dt_create(&cfg, IN_CH, CONV1DT_FLOAT32, &layer));

  /* 2. Explicit weights: kernel (kernel_size, filters, in_channels), bias (filters,). */
  static const float kernel[KSIZE][FILTERS][IN_CH] = {
      {{0.5f, -0.25f, 0.125f}, {-0.5f, 0.75f, 0.25f}, {1.0f, 0.0f, -1.0f}, {0.25f, 0.25f, 0.25f}},
      {{-0.75f, 0.5f, 0.0f}, {0.125f, -0.125f, 0.5f}, {0.0f, 1.0f, 0.5f}, {-0.25f, 0.5f, -0.5f}},
      {{0.25f, 0.0f, -0.5f}, {1.0f, 0.5f, 0.0f}, {-0.5f, -0.5f, 0.75f}, {0.5f, -1.0f, 0.125f}}};
  static const float bias[FILTERS] = {0.1f, -0.2f, 0.0f, 0.3f};
  CHECK(conv1dt_set_weights(layer, kernel, bias));

  /* 3. An input x of shape (batch, steps, in_channels), values in [-0.75, 0.75]. */
  float x[BATCH][STEPS][IN_CH];
  for (int i = 0; i < BATCH * STEPS * IN_CH; i++) (&x[0][0][0])[i] = (float)(i * 5 % 13 - 6) / 8;

  /* 4. Ask for the output shape, allocate y, run the forward pass (the library finds scratch). */
  int64_t shape[3];
  CHECK(conv1dt_output_shape(layer, BATCH, STEPS, shape));
  const size_t n = (size_t)(shape[0] * shape[1] * shape[2]);
  y = malloc(n * sizeof *y);
  y_ws = malloc(n * sizeof *y_ws);
  y_ref = malloc(n * sizeof *y_ref);
  if (!y || !y_ws || !y_ref) goto done;
  CHECK(conv1dt_forward(layer, x, BATCH, STEPS, y, NULL, 0));

  printf("conv1dt %s: output shape (%lld, %lld, %lld)\n", conv1dt_version_string(),
         (long long)shape[0], (long long)shape[1], (long long)shape[2]);
  for (int64_t b = 0; b < shape[0]; b++) {
    for (int64_t t = 0; t < shape[1]; t++) {
      printf("  y[%lld][%2lld] =", (long long)b, (long long)t);
      for (int64_t f = 0; f < shape[2]; f++) printf(" %8.4f", y[(b * shape[1] + t) * shape[2] + f]);
      printf("\n");
    }
  }

  /* 5. The same call with caller-owned scratch memory: no allocation inside the library, and
   *    the buffer can be reused across calls (one buffer per thread). Any memory will do;
   *    conv1dt_workspace_alloc's is laid out for speed (huge pages for large scratch). */
  size_t ws_bytes = 0;
  CHECK(conv1dt_workspace_size(layer, BATCH, STEPS, &ws_bytes));
  CHECK(conv1dt_workspace_alloc(ws_bytes, &workspace));
  CHECK(conv1dt_forward(layer, x, BATCH, STEPS, y_ws, workspace, ws_bytes));
  printf("workspace form: %zu bytes of caller scratch\n", ws_bytes);

  /* 6. Check both results against the definition. */
  reference(&x[0][0][0], &kernel[0][0][0], bias, shape[1], y_ref);
  if (same_values(y, y_ref, n) && same_values(y_ws, y_ref, n)) {
    printf("basic: OK (matches the direct loop)\n");
    exit_code = EXIT_SUCCESS;
  } else {
    fprintf(stderr, "basic: MISMATCH against the direct loop\n");
  }

done:
  conv1dt_workspace_free(workspace);
  free(y_ref);
  free(y_ws);
  free(y);
  conv1dt_destroy(layer);
  return exit_code;
}

/* Conv1DTranspose written out from its definition: input step l and kernel tap k add
 * x[b, l, :] . kernel[k, f, :] at position l*strides + k of the "full" output. padding="same"
 * (output_padding None) keeps out_steps = steps*strides positions of it, starting at
 * floor(max(kernel_size - strides, 0) / 2). Then + bias, then relu. */
static void reference(const float *x, const float *kernel, const float *bias, int64_t out_steps,
                      float *y) {
  const int64_t crop_left = (KSIZE > STRIDES ? KSIZE - STRIDES : 0) / 2;
  for (int64_t b = 0; b < BATCH; b++) {
    for (int64_t t = 0; t < out_steps; t++) {
      for (int64_t f = 0; f < FILTERS; f++) {
        double acc = bias[f];
        for (int64_t l = 0; l < STEPS; l++) {
          for (int64_t k = 0; k < KSIZE; k++) {
            if (l * STRIDES + k != t + crop_left) continue;
            for (int64_t c = 0; c < IN_CH; c++)
              acc += (double)x[(b * STEPS + l) * IN_CH + c] * kernel[(k * FILTERS + f) * IN_CH + c];
          }
        }
        y[(b * out_steps + t) * FILTERS + f] = acc > 0.0 ? (float)acc : 0.0f;
      }
    }
  }
}

static int same_values(const float *got, const float *want, size_t n) {
  for (size_t i = 0; i < n; i++) {
    const double diff = got[i] > want[i] ? got[i] - want[i] : want[i] - got[i];
    const double scale = want[i] > 0 ? 1.0 + want[i] : 1.0 - want[i];
    if (diff > 1e-5 * scale) {
      fprintf(stderr, "element %zu: got %.8g, expected %.8g\n", i, got[i], want[i]);
      return 0;
    }
  }
  return 1;
}
