/* conv1dt-bench: one case's measurement, shared by the main program (conv1dt_bench.c) and the
 * GEMM yardstick's child processes (yardstick.c): the options, a case's result, the layer's
 * bare GEMM and the timing of one case. */
#ifndef CONV1DT_BENCH_CASE_H
#define CONV1DT_BENCH_CASE_H

#include "bench.h"

/* The most suite cases --only can pick. */
#define SUITE_MAX 16

/* The most --case shapes. */
#define MAX_CUSTOM 32

/* The run's options (conv1dt_bench.c's parse_options). */
typedef struct {
  int threads;
  bench_reps reps;
  const char *json_path, *csv_path, *pytorch_path;
  int want_dtype[2];    /* f32, f64 */
  int want_format[2];   /* channels_last, channels_first */
  char only[SUITE_MAX]; /* by suite index */
  int only_given;
  bench_shape custom[MAX_CUSTOM];
  int ncustom;
  int scaling;
  int smoke;
  int quick_roof; /* --quick-roofline */
  int onednn;
  int limit_check;
  int after_gemm; /* time the layer right after a same-size GEMM too (default on) */
  int backward;   /* 1: the backward table too; 2: only it */
  /* The GEMM yardstick (yardstick.c): --mkl, --own-gemm (the loaded BLAS only),
   * --yardstick-core; child: 0, or which measurement this process is a child for. */
  const char *mkl;
  int own_gemm;
  const char *yardstick_core;
  int child; /* CHILD_GEMM, CHILD_LAYER */
} options;

/* A child's job (--yardstick-child): the bare GEMM of each --case, or also the layer with
 * AUTO and with each GEMM method. Its results go to stdout as lines for the parent. */
enum { CHILD_GEMM = 1, CHILD_LAYER = 2 };

/* --algorithm: the method every conv1dt layer of this run asks for. */
extern conv1dt_algorithm bench_algorithm;

/* One case (shape, dtype, format): what was measured, and the yardsticks. */
typedef struct {
  bench_shape sh;
  const char *label;
  conv1dt_dtype dt;
  conv1dt_data_format fmt;
  const char *kind; /* "suite", "custom", "scaling" */
  int shape_index;  /* its shape's place in the run's list (a child's lines name it) */
  int batch_mult, steps_mult;
  int ok;
  char error[300];
  int64_t out_len;
  double flops, bytes;
  int reps;
  double ms, ms_min, gemm_ms, gflops, ratio_gemm, ratio_gemm_unpaired;
  double gemm_wx_ms; /* channels_first: the bare GEMM in the W · x_b orientation */
  /* The honest yardstick (yardstick.c): the bare GEMM timed in child processes too, with
   * OpenBLAS's best kernels for this CPU (core_*) and with MKL; best_* is the fastest of them
   * and of gemm_ms, ratio_best the layer's time over it (paired when it is gemm_ms). */
  double gemm_core_ms, gemm_mkl_ms, best_gemm_ms, ratio_best;
  const char *best_by; /* "blas", "core", "mkl" */
  /* With OpenBLAS's best core (a child), where the loaded one was weaker: AUTO's choice, its
   * time, the GEMM methods' times and the bare GEMM's. */
  char core_method[24];
  double core_ms, core_accum_ms, core_gemm_method_ms, core_gemm_ms;
  double bound_ms, roof_frac;
  size_t ws_bytes;
  double others_busy; /* share of the CPUs other processes used during the case's timings */
  bench_dnn_result dnn;
  double torch_ms;
  const char *method;  /* conv1dt_forward_algorithm's answer for the timed calls */
  double after_ms;     /* median of the layer's runs right after a same-size bare GEMM */
  double ratio_after;  /* median over rounds of the after-GEMM block's median / the parked's */
  double unlimited_ms; /* --limit-check: the same layer with no workspace limit */
  size_t ws_unlimited; /* its workspace_size */
} result;

/* The layer's own GEMM, bare, with its whole (B·L) x (K·F) output in memory: channels_last
 * one GEMM x · Wᵀ (row major, M = B·L, N = K·F, K = C, W the Keras kernel as (K·F) x C);
 * channels_first one per sample, x_bᵀ · Wᵀ (M = L), as the layer runs it. `wx` selects the
 * other channels_first orientation instead, W · x_b (M = K·F, N = L), shown for comparison. */
typedef struct {
  conv1dt_dtype dt;
  conv1dt_data_format fmt;
  int B, L, C, KF;
  const void *x, *w;
  void *col;
  int wx;
} gemm_args;

/* Runs the GEMM of g once. */
void bench_run_gemm(const gemm_args *g);
/* Times the case (layer parked, bare GEMM, after a GEMM, oneDNN when with_dnn) into r. */
void bench_run_case(const bench_shape *sh, conv1dt_dtype dt, conv1dt_data_format fmt,
                    const options *o, int with_dnn, result *r);

/* ---- yardstick.c: the children ------------------------------------------------------------ */

/* What the children found, for the header. */
typedef struct {
  bench_yardstick_plan plan;
  int core_ran, mkl_ran;              /* the child ran and reported */
  char core_blas[400], mkl_blas[400]; /* their "@blas" lines */
} yardstick_run;

/* A child's side (--yardstick-child): its lines on stdout. Returns the exit status. */
int child_main(const options *o);
/* The parent's side: the children y->plan asks for, over the shapes, merged into rs. */
void run_yardstick_children(const options *o, const bench_shape *shapes, size_t nshapes,
                            int threads, result *rs, size_t n, yardstick_run *y);
/* The row's yardstick: the fastest bare GEMM timed, and the layer's time over it. */
void choose_best_gemm(result *r);
/* The header's lines on the yardstick, and the table of the layer with OpenBLAS's right core. */
void print_yardstick_head(const yardstick_run *y, const options *o);
void print_core_table(const yardstick_run *y, const result *rs, size_t n);

#endif /* CONV1DT_BENCH_CASE_H */
