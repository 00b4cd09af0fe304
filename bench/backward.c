/* conv1dt-bench --backward: the training calls of one layer, conv1dt_forward,
 * conv1dt_forward_train and conv1dt_backward (dx, dkernel and dbias), timed one after the other
 * in one loop, as a training step runs them (no pause for the BLAS's workers between them), with
 * the backward's roofline and, merged by the caller, PyTorch's autograd backward. */
#include "bench.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  conv1dt_layer *layer;
  void *x, *kernel, *bias, *y, *pre, *dy, *dx, *dkernel, *dbias, *ws;
  size_t ws_bytes;
} bwd_setup;

static void bwd_free(bwd_setup *c) {
  void *bufs[] = {c->x, c->kernel, c->bias, c->y, c->pre, c->dy, c->dx, c->dkernel, c->dbias};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) free(bufs[i]);
  conv1dt_workspace_free(c->ws);
  conv1dt_destroy(c->layer);
  memset(c, 0, sizeof *c);
}

static int bwd_fail(bench_bwd_result *r, const char *what, conv1dt_status st) {
  snprintf(r->error, sizeof r->error, "%s: %s: %s", what, conv1dt_status_name(st),
           conv1dt_last_error());
  return 0;
}

/* The layer (relu, bias, the bench's data), its buffers and one workspace large enough for
 * every call; fills r's sizes and FLOPs. */
static int bwd_init(bwd_setup *c, bench_bwd_result *r, conv1dt_algorithm alg) {
  const bench_shape *sh = &r->sh;
  const size_t es = bench_dtype_size(r->dt);
  conv1dt_config cfg = conv1dt_config_default(sh->F, sh->K);
  cfg.strides = sh->s;
  cfg.dilation_rate = sh->d;
  cfg.padding = sh->padding;
  cfg.data_format = r->fmt;
  cfg.activation = "relu";
  cfg.use_bias = true;
  cfg.algorithm = alg;
  int64_t yshape[3], pshape[3];
  size_t fws = 0, bws = 0;
  conv1dt_algorithm method = CONV1DT_ALGORITHM_AUTO;
  conv1dt_status st = conv1dt_create(&cfg, sh->C, r->dt, &c->layer);
  if (st == CONV1DT_OK) st = conv1dt_output_shape(c->layer, sh->B, sh->L, yshape);
  if (st == CONV1DT_OK) st = conv1dt_preactivation_shape(c->layer, sh->B, sh->L, pshape);
  if (st == CONV1DT_OK) st = conv1dt_workspace_size(c->layer, sh->B, sh->L, &fws);
  if (st == CONV1DT_OK) st = conv1dt_backward_workspace_size(c->layer, sh->B, sh->L, &bws);
  if (st == CONV1DT_OK) st = conv1dt_forward_algorithm(c->layer, sh->B, sh->L, fws, &method);
  if (st != CONV1DT_OK) return bwd_fail(r, "setup", st);
  snprintf(r->method, sizeof r->method, "%s", conv1dt_algorithm_name(method));
  const size_t nx = (size_t)(sh->B * sh->L * sh->C), nk = (size_t)(sh->K * sh->F * sh->C);
  const size_t ny = (size_t)(yshape[0] * yshape[1] * yshape[2]);
  const size_t np = (size_t)(pshape[0] * pshape[1] * pshape[2]);
  const size_t nf = (size_t)sh->F;
  c->ws_bytes = fws > bws ? fws : bws;
  c->x = bench_alloc(nx * es), c->dx = bench_alloc(nx * es);
  c->kernel = bench_alloc(nk * es), c->dkernel = bench_alloc(nk * es);
  c->bias = bench_alloc(nf * es), c->dbias = bench_alloc(nf * es);
  c->y = bench_alloc(ny * es), c->dy = bench_alloc(ny * es), c->pre = bench_alloc(np * es);
  if (conv1dt_workspace_alloc(c->ws_bytes, &c->ws) == CONV1DT_OK) memset(c->ws, 0, c->ws_bytes);
  if (!c->x || !c->dx || !c->kernel || !c->dkernel || !c->bias || !c->dbias || !c->y || !c->dy ||
      !c->pre || !c->ws) {
    snprintf(r->error, sizeof r->error, "out of memory");
    return 0;
  }
  bench_fill_uniform(c->x, r->dt, nx, 1.0, 1);
  bench_fill_uniform(c->kernel, r->dt, nk, 1.0 / sqrt((double)(sh->C * sh->K)), 2);
  bench_fill_uniform(c->bias, r->dt, nf, 0.1, 3);
  bench_fill_uniform(c->dy, r->dt, ny, 1.0, 4);
  st = conv1dt_set_weights(c->layer, c->kernel, c->bias);
  if (st != CONV1DT_OK) return bwd_fail(r, "set_weights", st);
  /* dx and dkernel each take one product the size of the forward's GEMM; dbias and relu's
   * mask are not counted. Every array is touched once: x, dy, pre, kernel read, dx, dkernel,
   * dbias written. */
  const double flops =
      2.0 * (double)sh->B * (double)sh->L * (double)sh->C * (double)sh->K * (double)sh->F;
  r->flops = 2.0 * flops;
  r->bytes = (double)es * (2.0 * (double)nx + (double)ny + (double)np + 2.0 * (double)nk + nf);
  return 1;
}

/* One call of each kind, in a training step's order; times into t[0..2]. */
static conv1dt_status bwd_round(const bwd_setup *c, const bench_shape *sh, double t[3]) {
  double t0 = bench_now();
  conv1dt_status st = conv1dt_forward(c->layer, c->x, sh->B, sh->L, c->y, c->ws, c->ws_bytes);
  double t1 = bench_now();
  if (st == CONV1DT_OK)
    st = conv1dt_forward_train(c->layer, c->x, sh->B, sh->L, c->y, c->pre, c->ws, c->ws_bytes);
  double t2 = bench_now();
  if (st == CONV1DT_OK)
    st = conv1dt_backward(c->layer, c->x, sh->B, sh->L, c->pre, c->dy, c->dx, c->dkernel, c->dbias,
                          c->ws, c->ws_bytes);
  double t3 = bench_now();
  t[0] = t1 - t0, t[1] = t2 - t1, t[2] = t3 - t2;
  return st;
}

void bench_backward_run(const bench_shape *sh, conv1dt_dtype dt, conv1dt_data_format fmt,
                        conv1dt_algorithm alg, const bench_reps *reps, bench_bwd_result *r) {
  memset(r, 0, sizeof *r);
  r->sh = *sh, r->dt = dt, r->fmt = fmt;
  r->fwd_ms = r->train_ms = r->bwd_ms = r->ratio_bwd = r->ratio_train = NAN;
  r->bound_ms = r->roof_frac = r->torch_bwd_ms = NAN;
  bwd_setup c;
  memset(&c, 0, sizeof c);
  bench_series s[3] = {{0}}, ratio_bwd = {0}, ratio_train = {0};
  double t[3];
  if (!bwd_init(&c, r, alg)) goto done;
  conv1dt_status st = bwd_round(&c, sh, t); /* warm-up: every buffer and workspace touched */
  double elapsed = 0;
  int grown = 1;
  while (st == CONV1DT_OK && grown && bench_more(reps, r->rounds, elapsed)) {
    st = bwd_round(&c, sh, t);
    for (int k = 0; k < 3; k++) grown = grown && bench_series_add(&s[k], t[k]);
    /* Paired within the round: the machine's drift over seconds moves all three together. */
    grown = grown && bench_series_add(&ratio_bwd, t[2] / t[0]) &&
            bench_series_add(&ratio_train, t[1] / t[0]);
    elapsed += t[0] + t[1] + t[2];
    r->rounds++;
  }
  if (st != CONV1DT_OK) {
    bwd_fail(r, "a training call", st);
    goto done;
  }
  if (!grown || !r->rounds) {
    snprintf(r->error, sizeof r->error, "out of memory for the run times");
    goto done;
  }
  r->fwd_ms = 1e3 * bench_median(s[0].t, s[0].n);
  r->train_ms = 1e3 * bench_median(s[1].t, s[1].n);
  r->bwd_ms = 1e3 * bench_median(s[2].t, s[2].n);
  r->ratio_bwd = bench_median(ratio_bwd.t, ratio_bwd.n);
  r->ratio_train = bench_median(ratio_train.t, ratio_train.n);
  r->ok = 1;
done:
  for (int k = 0; k < 3; k++) free(s[k].t);
  free(ratio_bwd.t);
  free(ratio_train.t);
  bwd_free(&c);
}

void bench_backward_roofline(bench_bwd_result *r, double peak_gflops, double gbs) {
  if (!r->ok || !(peak_gflops > 0) || !(gbs > 0)) return;
  const double compute = r->flops / (peak_gflops * 1e9), memory = r->bytes / (gbs * 1e9);
  r->bound_ms = 1e3 * (compute > memory ? compute : memory);
  r->roof_frac = r->bound_ms / r->bwd_ms;
}

void bench_backward_print(const bench_bwd_result *rs, size_t n, int with_torch) {
  printf("\nTraining: conv1dt_forward, conv1dt_forward_train and conv1dt_backward (dx, dkernel, "
         "dbias), one of each per round, medians:\n");
  printf("%-4s %-3s %-2s %-28s %-6s %9s %9s %9s %9s %7s %8s %9s %6s%s\n", "case", "dt", "fm",
         "B,L,C,F,K,s,d,padding", "method", "fwd ms", "train ms", "bwd ms", "train/fwd", "bwd/fwd",
         "GFLOP/s", "bound ms", "roof%", with_torch ? " torch bwd  xtorch" : "");
  for (size_t i = 0; i < n; i++) {
    const bench_bwd_result *r = &rs[i];
    char shape[96], a[32], b[32], c[32], d[32], e[32], f[32], g[32], h[32], j[32], k[32];
    bench_shape_text(&r->sh, shape, sizeof shape);
    if (!r->ok) {
      printf("%-4s %-3s %-2s %-28s  error: %s\n", r->sh.name, bench_dtype_name(r->dt),
             bench_format_name(r->fmt), shape, r->error);
      continue;
    }
    const char *method = strcmp(r->method, "gemm_accumulate") ? r->method : "accum";
    printf("%-4s %-3s %-2s %-28s %-6s %s %s %s %s %s %s %s %s", r->sh.name, bench_dtype_name(r->dt),
           bench_format_name(r->fmt), shape, method, bench_fmt_ms(a, sizeof a, r->fwd_ms, 9),
           bench_fmt_ms(b, sizeof b, r->train_ms, 9), bench_fmt_ms(c, sizeof c, r->bwd_ms, 9),
           bench_fmt_num(d, sizeof d, "%*.2f", r->ratio_train, 9),
           bench_fmt_num(e, sizeof e, "%*.2f", r->ratio_bwd, 7),
           bench_fmt_num(f, sizeof f, "%*.1f", r->flops / (r->bwd_ms * 1e6), 8),
           bench_fmt_ms(g, sizeof g, r->bound_ms, 9),
           bench_fmt_num(h, sizeof h, "%*.1f", 100 * r->roof_frac, 6));
    if (with_torch)
      printf(" %s %s", bench_fmt_ms(j, sizeof j, r->torch_bwd_ms, 9),
             bench_fmt_num(k, sizeof k, "%*.2f", r->bwd_ms / r->torch_bwd_ms, 7));
    printf("\n");
  }
  printf("method: the forward's; GFLOP/s, roof%%: the backward's (2x the forward GEMM's FLOPs); "
         "train/fwd, bwd/fwd: medians of the rounds' ratios%s.\n",
         with_torch ? "; xtorch: bwd ms / PyTorch's autograd backward" : "");
}

void bench_backward_json(FILE *f, const bench_bwd_result *r) {
  char shape[96];
  bench_shape_text(&r->sh, shape, sizeof shape);
  fprintf(f, "{\"case\": ");
  bench_json_string(f, r->sh.name);
  fprintf(f, ", \"dtype\": \"%s\", \"format\": \"%s\", \"shape\": ", bench_dtype_name(r->dt),
          bench_format_name(r->fmt));
  bench_json_string(f, shape);
  fprintf(f, ", \"ok\": %s, \"error\": ", r->ok ? "true" : "false");
  if (r->ok)
    fputs("null", f);
  else
    bench_json_string(f, r->error);
  fprintf(f, ", \"algorithm\": ");
  bench_json_string(f, r->method);
  fprintf(f, ", \"rounds\": %d", r->rounds);
  const struct {
    const char *key;
    double v;
  } nums[] = {{"forward_ms", r->fwd_ms},
              {"forward_train_ms", r->train_ms},
              {"backward_ms", r->bwd_ms},
              {"ratio_backward_forward", r->ratio_bwd},
              {"ratio_forward_train_forward", r->ratio_train},
              {"flops", r->flops},
              {"bytes", r->bytes},
              {"bound_ms", r->bound_ms},
              {"roofline_fraction", r->roof_frac},
              {"pytorch_backward_ms", r->torch_bwd_ms},
              {"ratio_pytorch", r->bwd_ms / r->torch_bwd_ms}};
  for (size_t i = 0; i < sizeof nums / sizeof nums[0]; i++) {
    fprintf(f, ", \"%s\": ", nums[i].key);
    bench_json_number(f, nums[i].v);
  }
  fputc('}', f);
}
