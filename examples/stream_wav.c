/*
 * stream_wav.c — upsample an endless signal by 4, chunk by chunk, with a conv1dt stream.
 *
 * Reads a WAV file from stdin and writes the signal at 4 times its sample rate to stdout, as raw
 * float32 samples in the machine's byte order (little-endian on x86-64 and aarch64):
 *
 *   ./stream_wav < in.wav > out.f32                 # or: ./stream_wav 1024 (samples per chunk)
 *   sox -t f32 -r 176400 -c 1 out.f32 out.wav       # back to a WAV, for a 44.1 kHz input
 *
 * Accepted input: RIFF/WAVE, mono, 16-bit PCM (format 1) or 32-bit float (format 3); other
 * chunks before the data are skipped, and a data size of 0 or 0xFFFFFFFF (what programs writing
 * into a pipe leave there) means "until the end of the input".
 *
 * The layer, in Keras: Conv1DTranspose(filters=1, kernel_size=7, strides=4, padding="same",
 * use_bias=False) with the kernel [0.25 0.5 0.75 1 0.75 0.5 0.25]: linear interpolation, input
 * sample i at output 4i + 2. The input is never held whole: each chunk read is pushed into the
 * stream, which returns the output samples that are final, and the flush at the end returns
 * the last one. Memory stays the same for a signal of any length, and the output is the one
 * conv1dt_forward would give for the whole signal at once.
 *
 * Build against an installed conv1dt:  cc stream_wav.c $(pkg-config --cflags --libs conv1dt)
 */
#include <conv1dt.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { FACTOR = 4, TAPS = 7 };

#define CHECK(call)                                                                                \
  do {                                                                                             \
    conv1dt_status status_ = (call);                                                               \
    if (status_ != CONV1DT_OK) {                                                                   \
      fprintf(stderr, "stream_wav: %s: %s\n", conv1dt_status_name(status_), conv1dt_last_error()); \
      goto done;                                                                                   \
    }                                                                                              \
  } while (0)

static unsigned le16(const unsigned char *p) {
  return p[0] | (unsigned)p[1] << 8;
}
static uint32_t le32(const unsigned char *p) {
  return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* stdin may be a pipe: skip by reading. */
static int skip(FILE *in, uint32_t bytes) {
  for (; bytes > 0; bytes--)
    if (getc(in) == EOF) return 0;
  return 1;
}

/* Reads the header up to the samples: returns 16 (PCM) or 32 (float) bits per sample, or 0
 * with a message. *data_bytes: the data size, UINT32_MAX for "until the end". */
static unsigned read_header(FILE *in, uint32_t *data_bytes) {
  unsigned char h[16];
  unsigned bits = 0;
  if (fread(h, 1, 12, in) != 12 || memcmp(h, "RIFF", 4) || memcmp(h + 8, "WAVE", 4)) {
    fprintf(stderr, "stream_wav: the input is not a RIFF/WAVE file\n");
    return 0;
  }
  for (;;) {
    if (fread(h, 1, 8, in) != 8) {
      fprintf(stderr, "stream_wav: no data chunk in the input\n");
      return 0;
    }
    const uint32_t size = le32(h + 4);
    if (!memcmp(h, "data", 4)) {
      if (!bits) fprintf(stderr, "stream_wav: data chunk before the fmt chunk\n");
      *data_bytes = size == 0 ? UINT32_MAX : size;
      return bits;
    }
    if (!memcmp(h, "fmt ", 4)) {
      if (size < 16 || fread(h, 1, 16, in) != 16 || !skip(in, size - 16 + (size & 1))) {
        fprintf(stderr, "stream_wav: truncated fmt chunk\n");
        return 0;
      }
      const unsigned format = le16(h), channels = le16(h + 2), b = le16(h + 14);
      if (channels != 1 || !((format == 1 && b == 16) || (format == 3 && b == 32))) {
        fprintf(stderr,
                "stream_wav: %u channel(s), format %u, %u bits: only mono 16-bit PCM or "
                "32-bit float is accepted\n",
                channels, format, b);
        return 0;
      }
      bits = b;
    } else if (!skip(in, size + (size & 1))) { /* chunks are padded to even sizes */
      fprintf(stderr, "stream_wav: truncated input\n");
      return 0;
    }
  }
}

int main(int argc, char **argv) {
  int exit_code = EXIT_FAILURE;
  const long chunk = argc > 1 ? strtol(argv[1], NULL, 10) : 4096;
  if (argc > 2 || chunk < 1 || chunk > (1L << 24)) {
    fprintf(stderr, "usage: stream_wav [SAMPLES_PER_CHUNK] < in.wav > out.f32\n");
    return 2;
  }
  uint32_t data_bytes = 0;
  const unsigned bits = read_header(stdin, &data_bytes);
  if (!bits) return EXIT_FAILURE;

  conv1dt_layer *layer = NULL;
  conv1dt_stream *stream = NULL;
  unsigned char *raw = malloc((size_t)chunk * 4);
  float *x = malloc((size_t)chunk * sizeof *x), *y = NULL;

  /* 1. The layer: kernel (kernel_size, filters, in_channels) = (7, 1, 1), no bias. */
  conv1dt_config cfg = conv1dt_config_default(1, TAPS);
  cfg.strides = FACTOR;
  cfg.padding = CONV1DT_PADDING_SAME;
  cfg.use_bias = false;
  static const float kernel[TAPS] = {0.25f, 0.5f, 0.75f, 1.0f, 0.75f, 0.5f, 0.25f};
  CHECK(conv1dt_create(&cfg, 1, CONV1DT_FLOAT32, &layer));
  CHECK(conv1dt_set_weights(layer, kernel, NULL));

  /* 2. A stream of one signal, and an output buffer for the most a push or the flush returns. */
  CHECK(conv1dt_stream_open(layer, 1, &stream));
  int64_t push_max, flush_max, got;
  CHECK(conv1dt_stream_max_output_steps(layer, chunk, &push_max, &flush_max));
  const int64_t capacity = push_max > flush_max ? push_max : flush_max;
  y = malloc((size_t)capacity * sizeof *y);
  if (!raw || !x || !y) {
    fprintf(stderr, "stream_wav: out of memory\n");
    goto done;
  }

  /* 3. Read, push, write: shape (1, n, 1) in, (1, got, 1) out. */
  const size_t width = bits / 8;
  uint64_t left = data_bytes == UINT32_MAX ? UINT64_MAX : data_bytes;
  for (;;) {
    size_t want = (size_t)chunk * width;
    if (left < want) want = (size_t)(left - left % width);
    const size_t nread = fread(raw, 1, want, stdin), n = nread / width;
    for (size_t i = 0; i < n; i++) {
      if (bits == 16) {
        const long v = (long)le16(raw + 2 * i); /* two's complement */
        x[i] = (float)(v < 32768 ? v : v - 65536) / 32768.0f;
      } else {
        memcpy(&x[i], raw + 4 * i, 4);
      }
    }
    CHECK(conv1dt_stream_push(stream, x, (int64_t)n, y, capacity, &got));
    if (fwrite(y, sizeof *y, (size_t)got, stdout) != (size_t)got) goto write_error;
    if (nread < want || n == 0) break; /* the end of the data or of the input */
    left -= nread;
  }

  /* 4. The end: the output samples that waited for the right edge. */
  CHECK(conv1dt_stream_flush(stream, y, capacity, &got));
  if (fwrite(y, sizeof *y, (size_t)got, stdout) != (size_t)got || fflush(stdout) != 0)
    goto write_error;
  exit_code = EXIT_SUCCESS;
  goto done;
write_error:
  fprintf(stderr, "stream_wav: cannot write the output\n");
done:
  conv1dt_stream_close(stream);
  conv1dt_destroy(layer);
  free(raw);
  free(x);
  free(y);
  return exit_code;
}
