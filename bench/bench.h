/* conv1dt-bench: what the benchmark's parts share (the main program, its helpers, the training
 * mode, the GEMM yardstick's children and the oneDNN baseline). */
#ifndef CONV1DT_BENCH_H
#define CONV1DT_BENCH_H

#include <conv1dt.h>

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* One benchmark shape: Conv1DTranspose(F, K, strides=s, dilation_rate=d, padding) on an input
 * of B samples, L steps and C channels. */
typedef struct {
  char name[24];
  int64_t B, L, C, F, K, s, d;
  conv1dt_padding padding;
} bench_shape;

/* Adaptive repetitions: at least min_reps runs and min_time seconds, or exactly `reps` runs
 * when reps > 0. */
typedef struct {
  int reps;
  int min_reps;
  double min_time;
} bench_reps;

/* The most runs one measurement takes (a cap on the adaptive rule's growth). */
#define BENCH_MAX_RUNS 200000

/* ---- util.c: helpers every part shares ------------------------------------------------------ */

/* Monotonic wall clock, seconds. */
double bench_now(void);
/* Median of n values (reorders v). */
double bench_median(double *v, size_t n);
/* Waits until the BLAS's idle worker threads have parked: OpenBLAS's spin (sched_yield) for
 * about 0.1 s after a call, and would compete for the cores with whatever is timed next. */
void bench_let_blas_park(void);
/* True when another run is needed: done runs so far, elapsed seconds so far. */
int bench_more(const bench_reps *r, int done, double elapsed);
size_t bench_dtype_size(conv1dt_dtype dt);
const char *bench_dtype_name(conv1dt_dtype dt);       /* "f32", "f64" */
const char *bench_format_name(conv1dt_data_format f); /* "cl", "cf" */
const char *bench_padding_name(conv1dt_padding p);    /* "valid", "same" */
/* 64-byte aligned, zero-filled (so every page is touched before any timing); NULL if out of
 * memory. Release with free(). */
void *bench_alloc(size_t bytes);
/* Uniform numbers in [-scale, scale) from a fixed seed: the same data on every run. */
void bench_fill_uniform(void *buf, conv1dt_dtype dt, size_t n, double scale, uint64_t seed);
/* "B,L,C,F,K,s,d,padding" */
void bench_shape_text(const bench_shape *s, char *buf, size_t size);
/* A time in ms with about four significant digits, right-aligned in `width` ("-" for NaN). */
const char *bench_fmt_ms(char *buf, size_t size, double ms, int width);
/* printf(spec, width, v), or "-" right-aligned for NaN. */
const char *bench_fmt_num(char *buf, size_t size, const char *spec, double v, int width);
/* A JSON string (escaped) and a JSON number (null for NaN and infinities). */
void bench_json_string(FILE *f, const char *s);
void bench_json_number(FILE *f, double v);

/* A growable array of run times. */
typedef struct {
  double *t;
  size_t n, cap;
} bench_series;
/* Appends t; 0 when out of memory. */
int bench_series_add(bench_series *s, double t);

/* ---- yardstick.c: the best bare GEMM on the machine ------------------------------------------ */

typedef struct {
  char loaded_core[32]; /* OpenBLAS's core as loaded ("" when the BLAS is not OpenBLAS) */
  char best_core[32];   /* the strongest OPENBLAS_CORETYPE the CPU's ISA allows ("" off x86-64) */
  int misdetected;      /* loaded_core is weaker than best_core */
  char child_core[32];  /* the core to time in a child ("" none): best_core when misdetected,
                         * or the one asked for (--yardstick-core) */
  int blas_is_mkl;      /* the loaded BLAS is MKL: no MKL child */
  char mkl_path[600];   /* libmkl_rt to time in a child ("" none) */
} bench_yardstick_plan;

/* What to time besides the loaded BLAS. mkl_opt: --mkl's libmkl_rt or its directory (NULL:
 * $CONV1DT_BENCH_MKL, $CONV1DT_MKL_VENV/lib, then ./.venv-mkl/lib); force_core: a core to time
 * even where the loaded one is right (NULL: none). */
void bench_yardstick_plan_make(bench_yardstick_plan *p, const char *mkl_opt,
                               const char *force_core);
/* Which library cblas_sgemm comes from in this process (and MKL's version where it is MKL). */
void bench_blas_provider(char *buf, size_t size);
/* Runs this program again with argv (argv[0] included, NULL-terminated) and env_set's
 * NAME=VALUE settings over this environment; its stderr is ours. Returns its stdout (free()),
 * or NULL when it could not run or did not exit 0. */
char *bench_child_run(char *const argv[], const char *const env_set[]);

/* ---- backward.c: the training calls -----------------------------------------------------------
 */

typedef struct {
  bench_shape sh;
  conv1dt_dtype dt;
  conv1dt_data_format fmt;
  int ok;
  char error[300];
  char method[24];                 /* the forward's method */
  int rounds;                      /* rounds of one forward, one forward_train, one backward */
  double fwd_ms, train_ms, bwd_ms; /* medians */
  double ratio_bwd, ratio_train;   /* medians of the rounds' bwd / fwd and train / fwd */
  double flops, bytes;             /* the backward's: 2x the forward GEMM's FLOPs */
  double bound_ms, roof_frac;      /* its roofline bound, and the bound over bwd_ms */
  double torch_bwd_ms;             /* PyTorch's autograd backward (set by the caller) */
} bench_bwd_result;

/* Times the layer (relu, bias; method alg) of shape sh: rounds of conv1dt_forward,
 * conv1dt_forward_train and conv1dt_backward (dx, dkernel, dbias), back to back, until reps. */
void bench_backward_run(const bench_shape *sh, conv1dt_dtype dt, conv1dt_data_format fmt,
                        conv1dt_algorithm alg, const bench_reps *reps, bench_bwd_result *r);
/* bound = max(FLOPs / peak, bytes / bandwidth), as for the forward. */
void bench_backward_roofline(bench_bwd_result *r, double peak_gflops, double gbs);
void bench_backward_print(const bench_bwd_result *rs, size_t n, int with_torch);
void bench_backward_json(FILE *f, const bench_bwd_result *r);

/* fma_peak.c: the best GFLOP/s of a register-only multiply-add loop on `threads` threads, in
 * the widest vectors this CPU runs (*isa names them). */
double bench_fma_peak(int f64, int threads, const char **isa);

/* ---- oneDNN baseline (bench_onednn.c, built only when CMake finds oneDNN) ---------------- */

typedef enum {
  BENCH_DNN_NOT_BUILT = 0, /* the bench was built without oneDNN */
  BENCH_DNN_OK = 1,        /* measured, and its numbers agree with conv1dt's */
  BENCH_DNN_UNSUPPORTED,   /* oneDNN cannot do this (data type, shape): no ratio */
  BENCH_DNN_DISAGREE,      /* oneDNN ran but its numbers differ from conv1dt's: no ratio */
  BENCH_DNN_ERROR,         /* a oneDNN call failed */
  BENCH_DNN_NOT_RUN        /* built with oneDNN, but not asked for (--no-onednn, --scaling) */
} bench_dnn_status;

typedef struct {
  bench_dnn_status status;
  char note[200];       /* the failing call, the disagreement, ... */
  double ms;            /* median of the best agreeing variant */
  double ms_separate;   /* best median with a separate relu primitive (NaN when none) */
  double ms_fused;      /* best median with relu as a fused post-op (NaN when none) */
  int reps;             /* runs behind `ms` */
  char variant[112];    /* which variant won: relu kind and memory formats */
  char impl[64];        /* oneDNN's implementation name of that variant's deconvolution */
  int reorders_outside; /* the winner uses oneDNN-chosen src/dst formats (reorders untimed) */
  double max_rel_err;   /* worst max|dnn - conv1dt| / max|conv1dt| over the variants tried */
  double ratio_paired;  /* median over alternating rounds of the layer's block median / the
                         * best variant's (NaN when not measured) */
  int rounds;           /* rounds behind ratio_paired */
} bench_dnn_result;

/* One timed call of the layer under test: its wall time in seconds (negative on failure). */
typedef double (*bench_layer_fn)(void *ctx);

/* The one-line description of the oneDNN linked ("oneDNN 2.6.3 (OMP, isa avx2)"), or
 * "not built". */
void bench_dnn_describe(char *buf, size_t size);

/* Runs oneDNN's deconvolution + relu on the same data as the layer and times it. x, kernel
 * (K, F, C, Keras's layout) and bias are in the layer's dtype and data format; y_ref is
 * conv1dt's output (out_len steps, crop_left as in docs/SEMANTICS.md). Then, when `layer` is
 * given, the best variant and the layer run in alternating blocks (each after the BLAS's
 * workers have parked) for ratio_paired. */
void bench_dnn_run(const bench_shape *sh, conv1dt_dtype dtype, conv1dt_data_format format,
                   int64_t out_len, int64_t crop_left, const void *x, const void *kernel,
                   const void *bias, const void *y_ref, const bench_reps *reps,
                   bench_layer_fn layer, void *layer_ctx, bench_dnn_result *res);

#endif /* CONV1DT_BENCH_H */
