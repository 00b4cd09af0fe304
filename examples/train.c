/*
 * train.c — fitting a Conv1DTranspose layer with conv1dt's backward pass.
 *
 * A hidden "teacher" layer with fixed random weights produces the targets; a "student" layer of
 * the same shape starts from Keras's default weights and learns them back by plain gradient
 * descent on the mean squared error, with a max_norm kernel constraint applied after every
 * update as Keras does. Keras equivalent:
 *
 *   student = keras.layers.Conv1DTranspose(4, 3, strides=2, padding="same", activation="tanh",
 *                                          kernel_constraint=keras.constraints.MaxNorm(1.0))
 *   student.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
 *   student.fit(x, teacher(x), batch_size=8, epochs=600)
 *
 * Build against an installed conv1dt:  cc train.c $(pkg-config --cflags --libs conv1dt)
 * Prints the loss every 50 steps; exits 0 when the final loss is at least 100 times below the
 * first.
 */
#include <conv1dt.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { BATCH = 8, STEPS = 16, IN_CH = 3, FILTERS = 4, KSIZE = 3, STRIDES = 2 };
enum { ITERATIONS = 600, REPORT_EVERY = 50 };
static const float LEARNING_RATE = 0.5f;

#define CHECK(call)                                                                                \
  do {                                                                                             \
    conv1dt_status status_ = (call);                                                               \
    if (status_ != CONV1DT_OK) {                                                                   \
      fprintf(stderr, "%s: %s: %s\n", #call, conv1dt_status_name(status_), conv1dt_last_error());  \
      goto done;                                                                                   \
    }                                                                                              \
  } while (0)

/* A small deterministic generator (xorshift64*), uniform in [lo, hi). */
static float uniform(uint64_t *state, float lo, float hi) {
  *state ^= *state >> 12;
  *state ^= *state << 25;
  *state ^= *state >> 27;
  const uint64_t r = *state * UINT64_C(2685821657736338717);
  return lo + (hi - lo) * (float)(r >> 40) * 0x1.0p-24f;
}

static conv1dt_config layer_config(void) {
  conv1dt_config cfg = conv1dt_config_default(FILTERS, KSIZE);
  cfg.strides = STRIDES;
  cfg.padding = CONV1DT_PADDING_SAME;
  cfg.activation = "tanh";
  return cfg;
}

int main(void) {
  int exit_code = EXIT_FAILURE;
  conv1dt_layer *teacher = NULL, *student = NULL;
  float *x = NULL, *target = NULL, *y = NULL, *pre = NULL, *dy = NULL;
  float kernel[KSIZE * FILTERS * IN_CH], bias[FILTERS];
  float dkernel[KSIZE * FILTERS * IN_CH], dbias[FILTERS];
  uint64_t rng = UINT64_C(0x7EAC4E7);

  /* 1. The teacher: fixed random weights, small enough that the constraint admits them. */
  conv1dt_config cfg = layer_config();
  CHECK(conv1dt_create(&cfg, IN_CH, CONV1DT_FLOAT32, &teacher));
  for (size_t i = 0; i < sizeof kernel / sizeof kernel[0]; i++)
    kernel[i] = uniform(&rng, -0.5f, 0.5f);
  for (size_t i = 0; i < FILTERS; i++) bias[i] = uniform(&rng, -0.2f, 0.2f);
  CHECK(conv1dt_set_weights(teacher, kernel, bias));

  /* 2. The data: inputs and the teacher's outputs as targets. */
  int64_t yshape[3], zshape[3];
  CHECK(conv1dt_output_shape(teacher, BATCH, STEPS, yshape));
  CHECK(conv1dt_preactivation_shape(teacher, BATCH, STEPS, zshape));
  const size_t nx = (size_t)BATCH * STEPS * IN_CH;
  const size_t ny = (size_t)(yshape[0] * yshape[1] * yshape[2]);
  const size_t nz = (size_t)(zshape[0] * zshape[1] * zshape[2]);
  x = malloc(nx * sizeof *x);
  target = malloc(ny * sizeof *target);
  y = malloc(ny * sizeof *y);
  dy = malloc(ny * sizeof *dy);
  pre = malloc(nz * sizeof *pre);
  if (!x || !target || !y || !dy || !pre) {
    fprintf(stderr, "out of memory\n");
    goto done;
  }
  for (size_t i = 0; i < nx; i++) x[i] = uniform(&rng, -1.0f, 1.0f);
  CHECK(conv1dt_forward(teacher, x, BATCH, STEPS, target, NULL, 0));

  /* 3. The student: Keras's defaults (glorot_uniform kernel, zero bias) and a MaxNorm(1.0)
   *    kernel constraint over axis 0 (the kernel taps), as Keras's kernel_constraint. */
  CHECK(conv1dt_constraint_from_name("max_norm", &cfg.kernel_constraint));
  cfg.kernel_constraint.max_value = 1.0;
  cfg.seed = 2024;
  CHECK(conv1dt_create(&cfg, IN_CH, CONV1DT_FLOAT32, &student));

  /* 4. Gradient descent on loss = mean((y - target)^2). */
  double first_loss = 0.0, loss = 0.0;
  for (int it = 0; it <= ITERATIONS; it++) {
    CHECK(conv1dt_forward_train(student, x, BATCH, STEPS, y, pre, NULL, 0));
    loss = 0.0;
    for (size_t i = 0; i < ny; i++) {
      const float e = y[i] - target[i];
      loss += (double)e * e;
      dy[i] = 2.0f * e / (float)ny; /* dLoss/dy */
    }
    loss /= (double)ny;
    if (it == 0) first_loss = loss;
    if (it % REPORT_EVERY == 0) printf("step %4d  loss %.6e\n", it, loss);
    if (it == ITERATIONS) break;
    /* dx is not needed here: NULL skips it */
    CHECK(conv1dt_backward(student, x, BATCH, STEPS, pre, dy, NULL, dkernel, dbias, NULL, 0));
    CHECK(conv1dt_get_weights(student, kernel, bias));
    for (size_t i = 0; i < sizeof kernel / sizeof kernel[0]; i++)
      kernel[i] -= LEARNING_RATE * dkernel[i];
    for (size_t i = 0; i < FILTERS; i++) bias[i] -= LEARNING_RATE * dbias[i];
    CHECK(conv1dt_set_weights(student, kernel, bias));
    CHECK(conv1dt_apply_constraints(student)); /* what Keras does after each optimizer step */
  }

  const double factor = loss > 0 ? first_loss / loss : 1e300;
  printf("loss %.6e -> %.6e: %.3g times lower\n", first_loss, loss, factor);
  if (factor >= 100.0) {
    exit_code = EXIT_SUCCESS;
  } else {
    fprintf(stderr, "train: the loss fell only %.3g times (at least 100 expected)\n", factor);
  }

done:
  conv1dt_destroy(student);
  conv1dt_destroy(teacher);
  free(x);
  free(target);
  free(y);
  free(dy);
  free(pre);
  return exit_code;
}
