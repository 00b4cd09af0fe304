/* `conv1dt run --memory-limit`: the chunked run against the in-memory one (byte-identical files,
 * both dtypes and data formats, every method), its peak memory against the limit on an input
 * several times larger, failures that leave no output, and the size parser. Work files go under
 * $CONV1DT_TEST_TMP. */
#define _DEFAULT_SOURCE /* wait4 */
#define _XOPEN_SOURCE 700

#include "cli_harness.h"
#include "conv1dt.h"
#include "npy.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* The program's fixed footprint, which --memory-limit does not cover: code, shared libraries
 * (the BLAS, libhdf5, ...), thread stacks and the BLAS's own buffers. Measured on the reference
 * machine (Debian, OpenBLAS, 2 cores) as the peak RSS of a run on a tiny input: see
 * docs/PERFORMANCE.md (12 MiB there; 4 MiB of margin). The large runs below must stay under
 * the limit plus this. */
#define FIXED_OVERHEAD_MIB fixed_overhead_mib()
/* MKL's libraries alone (mkl_rt, its threading layer and its kernels) add about 15 MiB. */
static int fixed_overhead_mib(void) {
  char blas[512];
  int threads;
  if (conv1dt_blas_info(blas, sizeof blas, &threads) == CONV1DT_OK &&
      strstr(blas, "Math Kernel Library"))
    return 40;
  return 16;
}

/* Peak RSS says nothing under an emulator (qemu's own memory) or AddressSanitizer (its shadow
 * memory, and the child's ru_maxrss includes this process's image before exec): those runs
 * check the outputs only. */
#if defined(__SANITIZE_ADDRESS__)
#define CONV1DT_UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CONV1DT_UNDER_ASAN 1
#endif
#endif
static int rss_meaningful(void) {
#ifdef CONV1DT_UNDER_ASAN
  return 0;
#else
  const char *emu = getenv("CONV1DT_CLI_EMULATOR");
  return !emu || !*emu;
#endif
}

/* ------------------------------------------------------------------------------------------- */
/* Helpers */

/* Two files hold the same bytes (read in pieces: the test process stays small, see spawn). */
static bool same_file(const char *a, const char *b) {
  FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
  ck_assert_msg(fa && fb, "open %s / %s", a, b);
  static unsigned char ba[1 << 16], bb[1 << 16];
  bool same = true;
  for (;;) {
    const size_t na = fread(ba, 1, sizeof ba, fa), nb = fread(bb, 1, sizeof bb, fb);
    if (na != nb || memcmp(ba, bb, na) != 0) {
      same = false;
      break;
    }
    if (na == 0) break;
  }
  fclose(fa);
  fclose(fb);
  return same;
}

/* A random .npy array of shape (d0, d1, d2) written piece by piece, never whole in memory:
 * values k / 1024 for k in [-1024, 1024), exact in both dtypes. */
static void write_big(const char *path, npy_dtype dtype, int64_t d0, int64_t d1, int64_t d2,
                      uint64_t seed) {
  const int64_t shape[3] = {d0, d1, d2};
  unsigned char header[1024];
  const size_t h = npy_build_header(dtype, 3, shape, header, sizeof header);
  ck_assert_uint_gt(h, 0);
  FILE *f = fopen(path, "wb");
  ck_assert_ptr_nonnull(f);
  ck_assert_uint_eq(fwrite(header, 1, h, f), h);
  static double chunk_d[8192];
  static float chunk_f[8192];
  uint64_t n = (uint64_t)d0 * (uint64_t)d1 * (uint64_t)d2, state = seed;
  while (n) {
    const size_t k = n < 8192 ? (size_t)n : 8192;
    for (size_t i = 0; i < k; i++) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      const double v = (double)((int64_t)(state >> 53) - 1024) / 1024.0;
      chunk_d[i] = v;
      chunk_f[i] = (float)v;
    }
    if (dtype == NPY_FLOAT32)
      ck_assert_uint_eq(fwrite(chunk_f, 4, k, f), k);
    else
      ck_assert_uint_eq(fwrite(chunk_d, 8, k, f), k);
    n -= k;
  }
  ck_assert_int_eq(fclose(f), 0);
}

typedef struct {
  int status;      /* exit code, or -signal */
  long maxrss_kib; /* the child's peak RSS (getrusage through wait4) */
  char *err;
} spawned;

/* Runs $CONV1DT_CLI with args and, when fsize_bytes > 0, a file-size limit (SIGXFSZ ignored, so
 * a write past it fails with EFBIG). The child's ru_maxrss also covers its image before exec (a
 * copy of this process's), so the test process keeps its own footprint small: no large array is
 * ever held here. */
static spawned spawn(const char *const *args, long fsize_bytes) {
  const char *cli = getenv("CONV1DT_CLI");
  ck_assert_msg(cli && *cli, "CONV1DT_CLI is not set");
  const char *argv[64];
  int n = 0;
  argv[n++] = cli;
  for (; *args; args++) argv[n++] = *args;
  argv[n] = NULL;
  char se[4300];
  snprintf(se, sizeof se, "%s/stderr.txt", work_dir);
  fflush(NULL);
  const pid_t pid = fork();
  ck_assert_int_ge(pid, 0);
  if (pid == 0) {
    const int fd = open(se, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    const int null = open("/dev/null", O_RDWR);
    if (fd < 0 || null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(fd, 2) < 0) _exit(126);
    if (fsize_bytes > 0) {
      signal(SIGXFSZ, SIG_IGN);
      const struct rlimit rl = {(rlim_t)fsize_bytes, (rlim_t)fsize_bytes};
      if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(126);
    }
    execv(cli, (char *const *)argv);
    _exit(127);
  }
  int st;
  struct rusage ru;
  while (wait4(pid, &st, 0, &ru) < 0) ck_assert_int_eq(errno, EINTR);
  spawned r;
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
  r.maxrss_kib = ru.ru_maxrss;
  r.err = slurp(se);
  unlink(se);
  return r;
}

/* The number of blocks CONV1DT_DEBUG_CHUNKS reports on stderr, 0 without the line. */
static long blocks_of(const char *err) {
  const char *p = strstr(err, "conv1dt: chunks: ");
  return p ? strtol(p + 17, NULL, 10) : 0;
}

static double elapsed_since(const struct timeval *t0) {
  struct timeval t1;
  gettimeofday(&t1, NULL);
  return (double)(t1.tv_sec - t0->tv_sec) + 1e-6 * (double)(t1.tv_usec - t0->tv_usec);
}

/* ------------------------------------------------------------------------------------------- */
/* Byte-identical to the in-memory run: every method, both dtypes and data formats */

static const spec shapes[] = {
    /* cf, same, bias, dtype, op, s, d, K, F, C, B, L, act */
    {false, false, true, NPY_FLOAT32, -1, 2, 1, 5, 24, 16, 23, 200, "relu"},
    {false, true, false, NPY_FLOAT32, 1, 3, 1, 4, 8, 12, 60, 150, "tanh"},
    {false, false, true, NPY_FLOAT32, -1, 1, 2, 3, 40, 160, 30, 64, "softmax"},
    /* 13 samples in blocks of 2 leave a last block of one, which AUTO alone would compute
     * with another method (one sample shares no GEMM): the run fixes the whole batch's. */
    {false, true, true, NPY_FLOAT32, -1, 2, 1, 4, 64, 144, 13, 100, "glu"},
    /* The GEMM method's blocks of the flattened batch (1024 or 2048 steps here) hold whole
     * samples of 256 steps: blocks of 4 or 8 samples reproduce them. */
    {false, false, false, NPY_FLOAT32, -1, 2, 1, 4, 32, 16, 40, 256, NULL},
};
static const char *const algorithms[] = {"auto", "gemm", "direct", "gemm_accumulate"};
enum { N_SHAPES = sizeof shapes / sizeof shapes[0], N_ALGS = 4 };

/* mem.npy and chunked.npy hold the same numbers up to rounding. */
static void expect_rounding(npy_dtype dtype) {
  npy_array a = load_npy(out_path("mem.npy")), b = load_npy(out_path("chunked.npy"));
  ck_assert_uint_eq(a.count, b.count);
  const double tol = dtype == NPY_FLOAT32 ? 1e-5 : 1e-12;
  for (size_t i = 0; i < a.count; i++) {
    const double u = dtype == NPY_FLOAT32 ? ((float *)a.data)[i] : ((double *)a.data)[i];
    const double v = dtype == NPY_FLOAT32 ? ((float *)b.data)[i] : ((double *)b.data)[i];
    ck_assert_msg(fabs(u - v) <= tol * (1 + fabs(u)), "element %zu: %.17g vs %.17g", i, u, v);
  }
  npy_free(&a);
  npy_free(&b);
}

START_TEST(test_identical) {
  spec p = shapes[_i % N_SHAPES];
  const char *alg = algorithms[_i / N_SHAPES % N_ALGS];
  p.dtype = _i / (N_SHAPES * N_ALGS) % 2 ? NPY_FLOAT64 : NPY_FLOAT32;
  p.cf = _i / (N_SHAPES * N_ALGS * 2) % 2;
  arr_seed((uint64_t)_i * 7919 + 1);
  if (p.cf)
    save_random(in_path("x.npy"), p.dtype, 3, p.B, p.C, p.L);
  else
    save_random(in_path("x.npy"), p.dtype, 3, p.B, p.L, p.C);
  save_random(in_path("k.npy"), p.dtype, 3, p.K, p.F, p.C);
  save_random(in_path("b.npy"), p.dtype, 1, p.F, 0, 0);
  setenv("CONV1DT_DEBUG_CHUNKS", "1", 1);
  const char *limits[] = {NULL, "2M", "6M"};
  for (int l = 0; l < 3; l++) {
    args_start("run", FLAGS_SPACED);
    args_flag("--input", in_path("x.npy"));
    args_flag("--kernel", in_path("k.npy"));
    if (p.bias) args_flag("--bias", in_path("b.npy"));
    args_flag("--output", out_path(l == 0 ? "mem.npy" : "chunked.npy"));
    args_layer_flags(&p, NULL);
    args_flag("--algorithm", alg);
    if (limits[l]) args_flag("--memory-limit", limits[l]);
    result r = run_cli(args_end());
    ck_assert_msg(r.status == 0, "exit %d; stderr: %s", r.status, r.err);
    if (l == 0) {
      ck_assert_msg(blocks_of(r.err) == 0, "in-memory run went chunked: %s", r.err);
    } else {
      /* Several blocks at 2M (input and output are 1.5-10 MB). */
      ck_assert_msg(blocks_of(r.err) >= (l == 1 ? 2 : 1), "stderr: %s", r.err);
      /* The one note allowed: the GEMM method in channels_last, whose GEMMs span samples, when
       * the limit cannot hold the samples of one of its GEMMs (not the last case at 6M). Then
       * the numbers agree up to rounding, else byte for byte. */
      const bool noted = strstr(r.err, "note:") != NULL;
      ck_assert_msg(!noted || (!p.cf && strstr(r.err, "GEMMs span") &&
                               !(_i % N_SHAPES == N_SHAPES - 1 && l == 2)),
                    "stderr: %s", r.err);
      if (noted) {
        expect_rounding(p.dtype);
      } else if (strcmp(alg, "direct") != 0 &&
                 !same_file(out_path("mem.npy"), out_path("chunked.npy"))) {
        /* The GEMM methods: byte for byte where the BLAS computes an element the same way
         * whatever the GEMM's size (OpenBLAS, MKL); with BLIS and ATLAS last bits can move. */
        expect_rounding(p.dtype);
        fprintf(stderr, "case %d (%s): last bits differ from the in-memory run with this BLAS\n",
                _i, alg);
      } else {
        ck_assert_msg(same_file(out_path("mem.npy"), out_path("chunked.npy")),
                      "case %d (%s, %s, %s, limit %s): the chunked output differs", _i, alg,
                      p.dtype == NPY_FLOAT32 ? "float32" : "float64",
                      p.cf ? "channels_first" : "channels_last", limits[l]);
      }
    }
    free_result(&r);
  }
  ck_assert_int_eq(count_entries(out_dir), 2); /* no temporaries */
}
END_TEST

/* An empty batch: the header alone, as in memory. */
START_TEST(test_empty_batch) {
  save_random(in_path("x.npy"), NPY_FLOAT32, 3, 0, 10, 3);
  save_random(in_path("k.npy"), NPY_FLOAT32, 3, 3, 4, 3);
  expect_success(ARGS("run", "--input", in_path("x.npy"), "--kernel", in_path("k.npy"), "--output",
                      out_path("mem.npy")));
  expect_success(ARGS("run", "--input", in_path("x.npy"), "--kernel", in_path("k.npy"), "--output",
                      out_path("chunked.npy"), "--memory-limit", "1M"));
  ck_assert(same_file(out_path("mem.npy"), out_path("chunked.npy")));
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* An input several times the limit: peak RSS, identical output, timing */

static void check_large(npy_dtype dtype, bool cf, const char *algorithm) {
  /* About 60 MB of input and 60 MB of output, an 8 MiB limit. */
  const int64_t C = 32, F = 16, L = 2048, B = dtype == NPY_FLOAT32 ? 240 : 120;
  if (cf)
    write_big(in_path("x.npy"), dtype, B, C, L, 1);
  else
    write_big(in_path("x.npy"), dtype, B, L, C, 1);
  write_big(in_path("k.npy"), dtype, 4, F, C, 2);
  arr_seed(5);
  save_random(in_path("b.npy"), dtype, 1, F, 0, 0);
  const char *fmt = cf ? "channels_first" : "channels_last";
  const char *x = in_path("x.npy"), *k = in_path("k.npy"), *b = in_path("b.npy");

  /* The program's fixed footprint: a tiny input in memory. */
  write_big(in_path("tiny.npy"), dtype, 1, cf ? C : 4, cf ? 4 : C, 4);
  spawned base =
      spawn(ARGS("run", "--input", in_path("tiny.npy"), "--kernel", k, "--bias", b, "--data-format",
                 fmt, "--strides", "2", "--output", out_path("tiny.npy")),
            0);
  ck_assert_msg(base.status == 0, "stderr: %s", base.err);
  unlink(out_path("tiny.npy"));

  struct timeval t0;
  gettimeofday(&t0, NULL);
  spawned mem =
      spawn(ARGS("run", "--input", x, "--kernel", k, "--bias", b, "--data-format", fmt, "--strides",
                 "2", "--algorithm", algorithm, "--output", out_path("mem.npy")),
            0);
  const double t_mem = elapsed_since(&t0);
  ck_assert_msg(mem.status == 0, "stderr: %s", mem.err);
  gettimeofday(&t0, NULL);
  spawned ch = spawn(ARGS("run", "--input", x, "--kernel", k, "--bias", b, "--data-format", fmt,
                          "--strides", "2", "--algorithm", algorithm, "--output",
                          out_path("chunked.npy"), "--memory-limit", "8M"),
                     0);
  const double t_ch = elapsed_since(&t0);
  ck_assert_msg(ch.status == 0, "stderr: %s", ch.err);
  fprintf(stderr,
          "large %s %s %s: peak RSS tiny run %.1f MiB, in memory %.1f MiB (%.2f s), chunked with "
          "--memory-limit 8M %.1f MiB (%.2f s)\n",
          dtype == NPY_FLOAT32 ? "float32" : "float64", fmt, algorithm, base.maxrss_kib / 1024.0,
          mem.maxrss_kib / 1024.0, t_mem, ch.maxrss_kib / 1024.0, t_ch);
  ck_assert_msg(same_file(out_path("mem.npy"), out_path("chunked.npy")),
                "the chunked output differs from the in-memory one");
  if (rss_meaningful()) {
    ck_assert_msg(mem.maxrss_kib > 100 * 1024, "the in-memory run peaked at %ld KiB only",
                  mem.maxrss_kib);
    ck_assert_msg(base.maxrss_kib <= (long)FIXED_OVERHEAD_MIB * 1024,
                  "the fixed footprint grew: %ld KiB", base.maxrss_kib);
    ck_assert_msg(ch.maxrss_kib <= (8 + FIXED_OVERHEAD_MIB) * 1024,
                  "the chunked run peaked at %ld KiB, over 8 MiB + %d MiB", ch.maxrss_kib,
                  FIXED_OVERHEAD_MIB);
  }
  free(base.err);
  free(mem.err);
  free(ch.err);
}

START_TEST(test_large_f32_channels_last) {
  check_large(NPY_FLOAT32, false, "auto");
}
END_TEST

START_TEST(test_large_f64_channels_first) {
  check_large(NPY_FLOAT64, true, "gemm_accumulate");
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* Failures leave no output */

START_TEST(test_fail_midway_write) {
  /* A file-size limit of 16 MiB: the header and the first blocks are written, then a write
   * fails with EFBIG; the staged file goes and no output appears. */
  write_big(in_path("x.npy"), NPY_FLOAT32, 240, 2048, 32, 1);
  arr_seed(9);
  save_random(in_path("k.npy"), NPY_FLOAT32, 3, 4, 16, 32);
  setenv("CONV1DT_DEBUG_CHUNKS", "1", 1);
  spawned r = spawn(ARGS("run", "--input", in_path("x.npy"), "--kernel", in_path("k.npy"),
                         "--strides", "2", "--output", out_path("y.npy"), "--memory-limit", "8M"),
                    16L << 20);
  ck_assert_msg(r.status == 1, "exit %d; stderr: %s", r.status, r.err);
  ck_assert_msg(blocks_of(r.err) > 4, "stderr: %s", r.err);
  ck_assert_msg(strstr(r.err, "conv1dt: error: cannot write --output") != NULL, "stderr: %s",
                r.err);
  ck_assert_int_eq(count_entries(out_dir), 0);
  free(r.err);
}
END_TEST

START_TEST(test_fail_truncated_input) {
  write_big(in_path("x.npy"), NPY_FLOAT32, 40, 512, 16, 1);
  struct stat sb;
  ck_assert_int_eq(stat(in_path("x.npy"), &sb), 0);
  ck_assert_int_eq(truncate(in_path("x.npy"), sb.st_size - 1000), 0);
  arr_seed(10);
  save_random(in_path("k.npy"), NPY_FLOAT32, 3, 3, 8, 16);
  expect_failure(ARGS("run", "--input", in_path("x.npy"), "--kernel", in_path("k.npy"), "--output",
                      out_path("y.npy"), "--memory-limit", "1M"),
                 1, "truncated");
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* A sample too long for the limit: along its steps, through a stream */

/* mem.npy and long.npy hold the same numbers: exactly (== per value: a zero's sign may differ)
 * when tol is 0, else within tol relative to the largest magnitude. */
static void expect_same_numbers(double tol) {
  npy_array a = load_npy(out_path("mem.npy")), b = load_npy(out_path("long.npy"));
  ck_assert_int_eq(a.dtype, b.dtype);
  ck_assert_int_eq(a.ndim, b.ndim);
  for (int d = 0; d < a.ndim; d++) ck_assert_int_eq(a.shape[d], b.shape[d]);
  double worst = 0, big = 0;
  size_t first_bad = a.count;
  for (size_t i = 0; i < a.count; i++) {
    const double u =
        a.dtype == NPY_FLOAT32 ? ((const float *)a.data)[i] : ((const double *)a.data)[i];
    const double v =
        b.dtype == NPY_FLOAT32 ? ((const float *)b.data)[i] : ((const double *)b.data)[i];
    if (fabs(u) > big) big = fabs(u);
    if (fabs(u - v) > worst) worst = fabs(u - v);
    if (tol == 0 && u != v && first_bad == a.count) first_bad = i;
  }
  if (tol == 0)
    ck_assert_msg(first_bad == a.count, "value %zu differs", first_bad);
  else
    ck_assert_msg(worst <= tol * (big > 1 ? big : 1), "differs by %g (largest %g)", worst, big);
  npy_free(&a);
  npy_free(&b);
}

/* x.npy (one or a few samples of many steps) through k.npy [b.npy] with the layer flags `flags`:
 * in memory, and under a 4 MiB limit that one sample's input alone exceeds several times. */
static void check_long(const char *const *flags, double tol) {
  const char *argv_mem[40], *argv_long[44];
  int n = 0;
  argv_mem[n++] = "run";
  argv_mem[n++] = "--input";
  argv_mem[n++] = in_path("x.npy");
  argv_mem[n++] = "--kernel";
  argv_mem[n++] = in_path("k.npy");
  for (; *flags; flags++) argv_mem[n++] = *flags;
  memcpy(argv_long, argv_mem, (size_t)n * sizeof *argv_mem);
  int m = n;
  argv_mem[n++] = "--output";
  argv_mem[n++] = out_path("mem.npy");
  argv_mem[n] = NULL;
  argv_long[m++] = "--output";
  argv_long[m++] = out_path("long.npy");
  argv_long[m++] = "--memory-limit";
  argv_long[m++] = "4M";
  argv_long[m] = NULL;
  spawned mem = spawn(argv_mem, 0);
  ck_assert_msg(mem.status == 0, "stderr: %s", mem.err);
  setenv("CONV1DT_DEBUG_CHUNKS", "1", 1);
  spawned lo = spawn(argv_long, 0);
  unsetenv("CONV1DT_DEBUG_CHUNKS");
  ck_assert_msg(lo.status == 0, "stderr: %s", lo.err);
  ck_assert_msg(strstr(lo.err, "along each sample's steps") != NULL, "stderr: %s", lo.err);
  fprintf(stderr, "long sample: peak RSS in memory %.1f MiB, along the steps under 4M %.1f MiB\n",
          mem.maxrss_kib / 1024.0, lo.maxrss_kib / 1024.0);
  if (rss_meaningful())
    ck_assert_msg(lo.maxrss_kib <= (4 + FIXED_OVERHEAD_MIB) * 1024,
                  "the run along the steps peaked at %ld KiB, over 4 MiB + %d MiB", lo.maxrss_kib,
                  FIXED_OVERHEAD_MIB);
  ck_assert_int_eq(count_entries(out_dir), 2); /* no temporaries */
  expect_same_numbers(tol);
  free(mem.err);
  free(lo.err);
}

/* One sample of 300000 steps (19.2 MB in, 14.4 MB out) of float64 values k / 1024 (exact sums):
 * the same numbers as in memory. */
START_TEST(test_long_sample_f64_channels_last) {
  write_big(in_path("x.npy"), NPY_FLOAT64, 1, 300000, 8, 1);
  write_big(in_path("k.npy"), NPY_FLOAT64, 5, 6, 8, 2);
  check_long(ARGS("--strides", "2", "--padding", "same"), 0);
}
END_TEST

/* Channels_first (each channel's run of steps read per block), two samples (the stream reset
 * between them), float32 with a bias, relu, output_padding: within rounding. */
START_TEST(test_long_sample_f32_channels_first) {
  write_big(in_path("x.npy"), NPY_FLOAT32, 2, 8, 200000, 3);
  write_big(in_path("k.npy"), NPY_FLOAT32, 4, 5, 8, 4);
  arr_seed(13);
  save_random(in_path("b.npy"), NPY_FLOAT32, 1, 5, 0, 0);
  check_long(ARGS("--data-format", "channels_first", "--bias", in_path("b.npy"), "--strides", "3",
                  "--output-padding", "1", "--activation", "relu"),
             1e-5);
}
END_TEST

START_TEST(test_fail_sample_too_long) {
  /* Channels_first softmax acts along the steps: a sample too long for the limit is refused. */
  write_big(in_path("x.npy"), NPY_FLOAT32, 1, 8, 300000, 1);
  arr_seed(11);
  save_random(in_path("k.npy"), NPY_FLOAT32, 3, 2, 8, 8);
  expect_failure(ARGS("run", "--input", in_path("x.npy"), "--kernel", in_path("k.npy"), "--output",
                      out_path("y.npy"), "--data-format", "channels_first", "--activation",
                      "softmax", "--memory-limit", "1M"),
                 1, "--memory-limit 1 MiB is too small for one sample (300000 steps), and it");
  ck_assert_int_eq(count_entries(out_dir), 0);
}
END_TEST

/* ------------------------------------------------------------------------------------------- */
/* The size parser */

START_TEST(test_sizes) {
  arr_seed(12);
  save_random(in_path("x.npy"), NPY_FLOAT32, 3, 5, 30, 4);
  save_random(in_path("k.npy"), NPY_FLOAT32, 3, 3, 6, 4);
  expect_success(ARGS("run", "--input", in_path("x.npy"), "--kernel", in_path("k.npy"), "--output",
                      out_path("mem.npy")));
  const char *good[] = {"4194304", "4096K", "4096k", "4M", "4m", "1G", "1g"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    expect_success(ARGS("run", "--input", in_path("x.npy"), "--kernel", in_path("k.npy"),
                        "--output", out_path("chunked.npy"), "--memory-limit", good[i]));
    ck_assert_msg(same_file(out_path("mem.npy"), out_path("chunked.npy")), "%s", good[i]);
    unlink(out_path("chunked.npy"));
  }
  unlink(out_path("mem.npy"));
  const char *bad[] = {"0",
                       "0K",
                       "abc",
                       "12X",
                       "-5",
                       "1.5G",
                       "1KB",
                       "K",
                       " 1M",
                       "1M ",
                       "+1M",
                       "1e6",
                       "18446744073709551616",
                       "17179869184G"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect_failure(ARGS("run", "--input", in_path("x.npy"), "--kernel", in_path("k.npy"),
                        "--output", out_path("y.npy"), "--memory-limit", bad[i]),
                   2, "--memory-limit");
  expect_failure(ARGS("run", "--input", in_path("x.npy"), "--kernel", in_path("k.npy"), "--output",
                      out_path("y.npy"), "--memory-limit=", "1M"),
                 2, NULL);
  /* Help names the flag. */
  expect_help(ARGS("run", "--help"), "--memory-limit", NULL);
}
END_TEST

static Suite *chunked_suite(void) {
  Suite *s = cli_suite_create("cli_chunked");
  TCase *tc = cli_tcase_create(s, "identical", 120);
  tcase_add_loop_test(tc, test_identical, 0, N_SHAPES * N_ALGS * 4);
  tcase_add_test(tc, test_empty_batch);
  tc = cli_tcase_create(s, "large", 240);
  tcase_add_test(tc, test_large_f32_channels_last);
  tcase_add_test(tc, test_large_f64_channels_first);
  tcase_add_test(tc, test_long_sample_f64_channels_last);
  tcase_add_test(tc, test_long_sample_f32_channels_first);
  tc = cli_tcase_create(s, "failures", 120);
  tcase_add_test(tc, test_fail_midway_write);
  tcase_add_test(tc, test_fail_truncated_input);
  tcase_add_test(tc, test_fail_sample_too_long);
  tcase_add_test(tc, test_sizes);
  return s;
}

int main(void) {
  return run_suite(chunked_suite());
}
