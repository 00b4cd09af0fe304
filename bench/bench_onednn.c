/* conv1dt-bench: oneDNN "at its best" as a baseline (oneDNN 2.x C API).
 *
 * The layer's forward pass is oneDNN's deconvolution_forward on 3-D tensors (N, C, W) followed
 * by relu. Every variant below runs on the same data as the layer and is checked against the
 * layer's output before it is timed; the reported time is the best agreeing variant's median:
 *   - relu as a separate eltwise primitive (in place on dst), or fused as a post-op;
 *   - src/dst in the layer's own layout (nwc for channels_last, ncw for channels_first), or in
 *     formats oneDNN picks (format_tag::any) with the reorders done outside the timing.
 * Weights always use oneDNN's preferred format, reordered once from the Keras kernel
 * (K, F, C) outside the timing: oneDNN's deconvolution weights are (OC, IC, KW) = (F, C, K),
 * which is a strided view of the Keras array (strides C, 1, F·C), so no copy is made by hand.
 *
 * Keras's geometry maps onto oneDNN's deconvolution as
 *   dst[p] = Σ src[l]·W[k] over p = l·s + k·d − padding_l, p in [0, out_len)
 * with padding_l = crop_left and padding_r = (L−1)·s + (K−1)·d + 1 − crop_left − out_len, and
 * oneDNN's dilation counted from 0 (d − 1). */
#define _GNU_SOURCE /* nanosleep */
#include "bench.h"

#include <math.h>
#include <oneapi/dnnl/dnnl.h>
#include <oneapi/dnnl/dnnl_debug.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if DNNL_VERSION_MAJOR == 2

/* A variant's primitives and memories. Memories the plan does not own belong to the case. */
typedef struct {
  dnnl_primitive_t deconv, relu;
  dnnl_memory_t src, wei, dst;
  int own_src, own_dst;
  int fused, any;
  char formats[64];
  char impl[64];
} dnn_plan;

/* What every variant of one case shares. */
typedef struct {
  dnnl_engine_t engine;
  dnnl_stream_t stream;
  dnnl_memory_desc_t src_md, wei_md, bias_md, dst_md; /* the user's layouts */
  dnnl_memory_t x_mem, wei_user_mem, bias_mem, y_mem;
  dnnl_dims_t strides, dilates, pad_l, pad_r;
  float *y_buf; /* the dst in the user's layout, for the check */
  size_t y_elems;
} dnn_case;

static const char *failed_call;

#define DNN_TRY(call)                                                                              \
  do {                                                                                             \
    dnnl_status_t s_ = (call);                                                                     \
    if (s_ != dnnl_success) {                                                                      \
      failed_call = #call;                                                                         \
      st = s_;                                                                                     \
      goto done;                                                                                   \
    }                                                                                              \
  } while (0)

void bench_dnn_describe(char *buf, size_t size) {
  const dnnl_version_t *v = dnnl_version();
  snprintf(buf, size, "oneDNN %d.%d.%d (CPU runtime %s, ISA %s)", v->major, v->minor, v->patch,
           dnnl_runtime2str(v->cpu_runtime), dnnl_cpu_isa2str(dnnl_get_effective_cpu_isa()));
}

/* "nwc", "nCw8c", "OIw8i8o"...: dims ordered by stride, blocked ones upper case, then blocks. */
static void describe_md(const dnnl_memory_desc_t *md, const char *letters, char *out, size_t n) {
  if (md->format_kind != dnnl_blocked) {
    snprintf(out, n, "%s", dnnl_fmt_kind2str(md->format_kind));
    return;
  }
  const dnnl_blocking_desc_t *b = &md->format_desc.blocking;
  int order[DNNL_MAX_NDIMS], nd = md->ndims;
  for (int i = 0; i < nd; i++) order[i] = i;
  for (int i = 0; i < nd; i++) /* stable: larger stride first, ties keep dimension order */
    for (int j = i + 1; j < nd; j++)
      if (b->strides[order[j]] > b->strides[order[i]]) {
        int t = order[i];
        order[i] = order[j];
        order[j] = t;
      }
  size_t k = 0;
  for (int i = 0; i < nd && k + 1 < n; i++) {
    int dim = order[i], blocked = 0;
    for (int j = 0; j < b->inner_nblks; j++) blocked |= b->inner_idxs[j] == dim;
    char c = letters[dim];
    out[k++] = blocked ? (char)(c - 'a' + 'A') : c;
  }
  out[k] = '\0';
  for (int j = 0; j < b->inner_nblks; j++) {
    size_t len = strlen(out);
    snprintf(out + len, n - len, "%lld%c", (long long)b->inner_blks[j], letters[b->inner_idxs[j]]);
  }
}

static dnnl_status_t reorder(dnn_case *c, dnnl_memory_t from, dnnl_memory_t to) {
  dnnl_status_t st = dnnl_success;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_primitive_t prim = NULL;
  const dnnl_memory_desc_t *fmd, *tmd;
  DNN_TRY(dnnl_memory_get_memory_desc(from, &fmd));
  DNN_TRY(dnnl_memory_get_memory_desc(to, &tmd));
  DNN_TRY(dnnl_reorder_primitive_desc_create(&pd, fmd, c->engine, tmd, c->engine, NULL));
  DNN_TRY(dnnl_primitive_create(&prim, pd));
  dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
  DNN_TRY(dnnl_primitive_execute(prim, c->stream, 2, args));
  DNN_TRY(dnnl_stream_wait(c->stream));
done:
  if (prim) dnnl_primitive_destroy(prim);
  if (pd) dnnl_primitive_desc_destroy(pd);
  return st;
}

static void plan_destroy(dnn_plan *p) {
  if (p->deconv) dnnl_primitive_destroy(p->deconv);
  if (p->relu) dnnl_primitive_destroy(p->relu);
  if (p->wei) dnnl_memory_destroy(p->wei);
  if (p->own_src && p->src) dnnl_memory_destroy(p->src);
  if (p->own_dst && p->dst) dnnl_memory_destroy(p->dst);
  memset(p, 0, sizeof *p);
}

/* Builds one variant. *duplicate is set when "any" formats came out as the user's own. */
static dnnl_status_t plan_create(dnn_case *c, int any, int fused, dnn_plan *p, int *duplicate) {
  dnnl_status_t st = dnnl_success;
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t po = NULL;
  dnnl_primitive_desc_t pd = NULL, relu_pd = NULL;
  memset(p, 0, sizeof *p);
  p->fused = fused;
  p->any = any;
  *duplicate = 0;

  dnnl_memory_desc_t any_src, any_wei, any_dst;
  DNN_TRY(dnnl_memory_desc_init_by_tag(&any_src, 3, c->src_md.dims, c->src_md.data_type,
                                       dnnl_format_tag_any));
  DNN_TRY(dnnl_memory_desc_init_by_tag(&any_wei, 3, c->wei_md.dims, c->wei_md.data_type,
                                       dnnl_format_tag_any));
  DNN_TRY(dnnl_memory_desc_init_by_tag(&any_dst, 3, c->dst_md.dims, c->dst_md.data_type,
                                       dnnl_format_tag_any));
  dnnl_deconvolution_desc_t dd;
  DNN_TRY(dnnl_dilated_deconvolution_forward_desc_init(
      &dd, dnnl_forward_inference, dnnl_deconvolution_direct, any ? &any_src : &c->src_md, &any_wei,
      &c->bias_md, any ? &any_dst : &c->dst_md, c->strides, c->dilates, c->pad_l, c->pad_r));
  DNN_TRY(dnnl_primitive_attr_create(&attr));
  if (fused) {
    DNN_TRY(dnnl_post_ops_create(&po));
    DNN_TRY(dnnl_post_ops_append_eltwise(po, 1.0f, dnnl_eltwise_relu, 0.0f, 0.0f));
    DNN_TRY(dnnl_primitive_attr_set_post_ops(attr, po));
  }
  DNN_TRY(dnnl_primitive_desc_create(&pd, &dd, attr, c->engine, NULL));
  const char *impl = "?";
  if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) != dnnl_success) impl = "?";
  snprintf(p->impl, sizeof p->impl, "%s", impl);
  const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
  const dnnl_memory_desc_t *wmd = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
  const dnnl_memory_desc_t *dmd = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
  const int src_user = dnnl_memory_desc_equal(smd, &c->src_md);
  const int dst_user = dnnl_memory_desc_equal(dmd, &c->dst_md);
  if (any && src_user && dst_user) {
    *duplicate = 1;
    goto done;
  }
  char sf[16], wf[16], df[16];
  describe_md(smd, "ncw", sf, sizeof sf);
  describe_md(wmd, "oiw", wf, sizeof wf);
  describe_md(dmd, "ncw", df, sizeof df);
  snprintf(p->formats, sizeof p->formats, "src %s, wei %s, dst %s", sf, wf, df);

  if (src_user) {
    p->src = c->x_mem;
  } else {
    p->own_src = 1;
    DNN_TRY(dnnl_memory_create(&p->src, smd, c->engine, DNNL_MEMORY_ALLOCATE));
    DNN_TRY(reorder(c, c->x_mem, p->src));
  }
  DNN_TRY(dnnl_memory_create(&p->wei, wmd, c->engine, DNNL_MEMORY_ALLOCATE));
  DNN_TRY(reorder(c, c->wei_user_mem, p->wei));
  if (dst_user) {
    p->dst = c->y_mem;
  } else {
    p->own_dst = 1;
    DNN_TRY(dnnl_memory_create(&p->dst, dmd, c->engine, DNNL_MEMORY_ALLOCATE));
  }
  DNN_TRY(dnnl_primitive_create(&p->deconv, pd));
  if (!fused) {
    dnnl_eltwise_desc_t ed;
    DNN_TRY(dnnl_eltwise_forward_desc_init(&ed, dnnl_forward_inference, dnnl_eltwise_relu, dmd,
                                           0.0f, 0.0f));
    DNN_TRY(dnnl_primitive_desc_create(&relu_pd, &ed, NULL, c->engine, NULL));
    DNN_TRY(dnnl_primitive_create(&p->relu, relu_pd));
  }
done:
  if (relu_pd) dnnl_primitive_desc_destroy(relu_pd);
  if (pd) dnnl_primitive_desc_destroy(pd);
  if (po) dnnl_post_ops_destroy(po);
  if (attr) dnnl_primitive_attr_destroy(attr);
  if (st != dnnl_success || *duplicate) plan_destroy(p);
  return st;
}

/* The timed unit: deconvolution, then relu in place when it is not fused, then the wait. */
static dnnl_status_t plan_run(const dnn_plan *p, const dnn_case *c) {
  dnnl_status_t st = dnnl_success;
  dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, p->src},
                             {DNNL_ARG_WEIGHTS, p->wei},
                             {DNNL_ARG_BIAS, c->bias_mem},
                             {DNNL_ARG_DST, p->dst}};
  DNN_TRY(dnnl_primitive_execute(p->deconv, c->stream, 4, args));
  if (p->relu) {
    dnnl_exec_arg_t rargs[2] = {{DNNL_ARG_SRC, p->dst}, {DNNL_ARG_DST, p->dst}};
    DNN_TRY(dnnl_primitive_execute(p->relu, c->stream, 2, rargs));
  }
  DNN_TRY(dnnl_stream_wait(c->stream));
done:
  return st;
}

/* max|y - ref| / max|ref| over the whole output (NaN when y has a NaN). */
static double rel_error(const float *y, const float *ref, size_t n) {
  double err = 0, scale = 0;
  for (size_t i = 0; i < n; i++) {
    double e = fabs((double)y[i] - (double)ref[i]);
    if (!(e == e)) return NAN;
    if (e > err) err = e;
    if (fabs((double)ref[i]) > scale) scale = fabs((double)ref[i]);
  }
  return scale > 0 ? err / scale : err;
}

#define DNN_F32_TOLERANCE 1e-4

/* Median of a block of runs: `n` calls of oneDNN's plan (layer == NULL) or of the layer, after
 * the BLAS's workers have parked. Negative on failure. */
static double timed_block(const dnn_plan *p, const dnn_case *c, bench_layer_fn layer, void *ctx,
                          double *t, int n, double *spent) {
  bench_let_blas_park();
  for (int i = 0; i < n; i++) {
    double dt;
    if (layer) {
      dt = layer(ctx);
      if (dt < 0) return -1;
    } else {
      const double t0 = bench_now();
      if (plan_run(p, c) != dnnl_success) return -1;
      dt = bench_now() - t0;
    }
    t[i] = dt;
    *spent += dt;
  }
  return bench_median(t, (size_t)n);
}

/* The best variant and the layer in alternating blocks, as the layer and the bare GEMM are:
 * the VM's speed drifts by tens of percent over seconds, and a ratio of medians taken at
 * different times carries that drift (a run whose first seconds are slow can show a loss
 * to oneDNN that is not there). Blocks grow to a quarter of the time budget. */
static dnnl_status_t paired_rounds(dnn_case *c, int any, int fused, const bench_reps *reps,
                                   bench_layer_fn layer, void *ctx, bench_dnn_result *res) {
  dnn_plan p;
  int duplicate = 0;
  dnnl_status_t st = plan_create(c, any, fused, &p, &duplicate);
  if (st != dnnl_success) return st;
  enum { MAX_ROUNDS = 4096 };
  double *ratios = malloc(MAX_ROUNDS * sizeof *ratios), *t = NULL;
  int rounds = 0, block = 1, cap = 0;
  double elapsed = 0, target = reps->min_time / 4;
  if (target < 0.02) target = 0.02;
  st = ratios ? plan_run(&p, c) : dnnl_out_of_memory; /* warm-up of the new plan */
  while (st == dnnl_success && rounds < MAX_ROUNDS && bench_more(reps, rounds, elapsed)) {
    if (block > cap) {
      double *grown = realloc(t, (size_t)block * sizeof *t);
      if (!grown) {
        st = dnnl_out_of_memory;
        break;
      }
      t = grown;
      cap = block;
    }
    double dnn_time = 0, layer_time = 0;
    const double d = timed_block(&p, c, NULL, NULL, t, block, &dnn_time);
    const double l = d < 0 ? -1 : timed_block(&p, c, layer, ctx, t, block, &layer_time);
    if (d < 0 || l < 0) {
      st = dnnl_runtime_error;
      failed_call = d < 0 ? "dnnl_primitive_execute (paired rounds)" : "conv1dt_forward";
      break;
    }
    ratios[rounds++] = l / d;
    elapsed += dnn_time + layer_time;
    const double per_run = (dnn_time + layer_time) / block;
    if (per_run > 0 && dnn_time + layer_time < target) {
      const double want = target / per_run;
      block = want > 1e6 ? 1000000 : (int)want + 1;
    }
  }
  if (st == dnnl_success && rounds) {
    res->ratio_paired = bench_median(ratios, (size_t)rounds);
    res->rounds = rounds;
  }
  free(t);
  free(ratios);
  plan_destroy(&p);
  return st;
}

void bench_dnn_run(const bench_shape *sh, conv1dt_dtype dtype, conv1dt_data_format format,
                   int64_t out_len, int64_t crop_left, const void *x, const void *kernel,
                   const void *bias, const void *y_ref, const bench_reps *reps,
                   bench_layer_fn layer, void *layer_ctx, bench_dnn_result *res) {
  memset(res, 0, sizeof *res);
  res->ms = res->ms_fused = res->ms_separate = NAN;
  res->max_rel_err = res->ratio_paired = NAN;
  int best_any = -1, best_fused = -1;
  if (dtype != CONV1DT_FLOAT32) {
    res->status = BENCH_DNN_UNSUPPORTED;
    snprintf(res->note, sizeof res->note, "oneDNN %d.x has no f64 data type", DNNL_VERSION_MAJOR);
    return;
  }
  if (out_len <= 0 || sh->B <= 0) {
    res->status = BENCH_DNN_UNSUPPORTED;
    snprintf(res->note, sizeof res->note, "empty output");
    return;
  }
  dnnl_status_t st = dnnl_success;
  dnn_case c;
  memset(&c, 0, sizeof c);
  double *times = NULL;
  const int64_t full = (sh->L - 1) * sh->s + (sh->K - 1) * sh->d + 1;
  c.strides[0] = sh->s;
  c.dilates[0] = sh->d - 1;
  c.pad_l[0] = crop_left;
  c.pad_r[0] = full - crop_left - out_len;
  const dnnl_format_tag_t data_tag = format == CONV1DT_CHANNELS_LAST ? dnnl_nwc : dnnl_ncw;
  const dnnl_dims_t src_dims = {sh->B, sh->C, sh->L}, dst_dims = {sh->B, sh->F, out_len};
  const dnnl_dims_t wei_dims = {sh->F, sh->C, sh->K}, wei_strides = {sh->C, 1, sh->F * sh->C};
  const dnnl_dims_t bias_dims = {sh->F};
  c.y_elems = (size_t)(sh->B * sh->F * out_len);

  /* Not against OpenBLAS's spinning workers, after the layer's last GEMM. */
  bench_let_blas_park();
  DNN_TRY(dnnl_engine_create(&c.engine, dnnl_cpu, 0));
  DNN_TRY(dnnl_stream_create(&c.stream, c.engine, dnnl_stream_default_flags));
  DNN_TRY(dnnl_memory_desc_init_by_tag(&c.src_md, 3, src_dims, dnnl_f32, data_tag));
  DNN_TRY(dnnl_memory_desc_init_by_tag(&c.dst_md, 3, dst_dims, dnnl_f32, data_tag));
  DNN_TRY(dnnl_memory_desc_init_by_strides(&c.wei_md, 3, wei_dims, dnnl_f32, wei_strides));
  DNN_TRY(dnnl_memory_desc_init_by_tag(&c.bias_md, 1, bias_dims, dnnl_f32, dnnl_x));
  DNN_TRY(dnnl_memory_create(&c.x_mem, &c.src_md, c.engine, (void *)(uintptr_t)x));
  DNN_TRY(dnnl_memory_create(&c.wei_user_mem, &c.wei_md, c.engine, (void *)(uintptr_t)kernel));
  DNN_TRY(dnnl_memory_create(&c.bias_mem, &c.bias_md, c.engine, (void *)(uintptr_t)bias));
  DNN_TRY(dnnl_memory_create(&c.y_mem, &c.dst_md, c.engine, DNNL_MEMORY_ALLOCATE));
  DNN_TRY(dnnl_memory_get_data_handle(c.y_mem, (void **)&c.y_buf));

  int tried = 0, agreed = 0;
  double worst = 0;
  char first_problem[200] = "";
  for (int variant = 0; variant < 4; variant++) {
    const int any = variant >= 2, fused = variant & 1;
    dnn_plan p;
    int duplicate = 0;
    dnnl_status_t ps = plan_create(&c, any, fused, &p, &duplicate);
    if (ps != dnnl_success) {
      if (!first_problem[0])
        snprintf(first_problem, sizeof first_problem, "%s: %s", failed_call, dnnl_status2str(ps));
      if (ps != dnnl_unimplemented && ps != dnnl_invalid_arguments) { /* not a "cannot" */
        st = ps;
        goto done;
      }
      continue;
    }
    if (duplicate) continue;
    tried++;
    /* Check first: stale results from another variant must not pass, so fill with NaN. */
    for (size_t i = 0; i < c.y_elems; i++) c.y_buf[i] = NAN;
    ps = plan_run(&p, &c);
    if (ps == dnnl_success && p.own_dst) ps = reorder(&c, p.dst, c.y_mem);
    if (ps != dnnl_success) {
      plan_destroy(&p);
      st = ps;
      goto done;
    }
    const double err = rel_error(c.y_buf, (const float *)y_ref, c.y_elems);
    if (!(err <= worst)) worst = err;
    if (!(err < DNN_F32_TOLERANCE)) {
      if (!first_problem[0])
        snprintf(first_problem, sizeof first_problem,
                 "%s relu, %s: max rel error %.3g vs conv1dt (tolerance %g)",
                 fused ? "fused" : "separate", any ? "any formats" : "user formats", err,
                 DNN_F32_TOLERANCE);
      plan_destroy(&p);
      continue;
    }
    agreed++;
    /* Time it: the first run above was the warm-up. */
    size_t cap = 64, n = 0;
    double *grown = realloc(times, cap * sizeof *times), elapsed = 0;
    if (!grown) {
      plan_destroy(&p);
      st = dnnl_out_of_memory;
      failed_call = "realloc";
      goto done;
    }
    times = grown;
    while (bench_more(reps, (int)n, elapsed)) {
      const double t0 = bench_now();
      ps = plan_run(&p, &c);
      const double t = bench_now() - t0;
      if (ps != dnnl_success) break;
      if (n == cap) {
        grown = realloc(times, 2 * cap * sizeof *times);
        if (!grown) break;
        times = grown;
        cap *= 2;
      }
      times[n++] = t;
      elapsed += t;
    }
    if (ps != dnnl_success || n == 0) {
      plan_destroy(&p);
      st = ps != dnnl_success ? ps : dnnl_out_of_memory;
      goto done;
    }
    const double ms = 1e3 * bench_median(times, n);
    double *slot = fused ? &res->ms_fused : &res->ms_separate;
    if (!(ms >= *slot)) *slot = ms;
    if (!(ms >= res->ms)) {
      res->ms = ms;
      res->reps = (int)n;
      res->reorders_outside = p.own_src || p.own_dst;
      snprintf(res->variant, sizeof res->variant, "%s relu; %s", fused ? "fused" : "separate",
               p.formats);
      snprintf(res->impl, sizeof res->impl, "%s", p.impl);
      best_any = any;
      best_fused = fused;
    }
    plan_destroy(&p);
  }
  if (agreed && layer) {
    st = paired_rounds(&c, best_any, best_fused, reps, layer, layer_ctx, res);
    if (st != dnnl_success) goto done;
  }
  res->max_rel_err = tried ? worst : NAN;
  if (agreed) {
    res->status = BENCH_DNN_OK;
    if (first_problem[0]) snprintf(res->note, sizeof res->note, "%s", first_problem);
  } else if (tried) {
    res->status = BENCH_DNN_DISAGREE;
    snprintf(res->note, sizeof res->note, "%s", first_problem);
  } else {
    res->status = BENCH_DNN_UNSUPPORTED;
    snprintf(res->note, sizeof res->note, "%s", first_problem[0] ? first_problem : "no variant");
  }
done:
  if (st != dnnl_success) {
    res->status = BENCH_DNN_ERROR;
    res->ms = NAN;
    snprintf(res->note, sizeof res->note, "%s: %s", failed_call, dnnl_status2str(st));
  }
  free(times);
  if (c.y_mem) dnnl_memory_destroy(c.y_mem);
  if (c.bias_mem) dnnl_memory_destroy(c.bias_mem);
  if (c.wei_user_mem) dnnl_memory_destroy(c.wei_user_mem);
  if (c.x_mem) dnnl_memory_destroy(c.x_mem);
  if (c.stream) dnnl_stream_destroy(c.stream);
  if (c.engine) dnnl_engine_destroy(c.engine);
}

#else /* not oneDNN 2.x: its C API changed in 3.0 (no *_desc_init) */

void bench_dnn_describe(char *buf, size_t size) {
  snprintf(buf, size, "oneDNN %d.%d found, but the bench speaks the 2.x API only",
           DNNL_VERSION_MAJOR, DNNL_VERSION_MINOR);
}

void bench_dnn_run(const bench_shape *sh, conv1dt_dtype dtype, conv1dt_data_format format,
                   int64_t out_len, int64_t crop_left, const void *x, const void *kernel,
                   const void *bias, const void *y_ref, const bench_reps *reps,
                   bench_layer_fn layer, void *layer_ctx, bench_dnn_result *res) {
  (void)sh, (void)dtype, (void)format, (void)out_len, (void)crop_left, (void)x, (void)kernel;
  (void)bias, (void)y_ref, (void)reps, (void)layer, (void)layer_ctx;
  memset(res, 0, sizeof *res);
  res->ms = res->ms_fused = res->ms_separate = res->max_rel_err = res->ratio_paired = NAN;
  res->status = BENCH_DNN_UNSUPPORTED;
  snprintf(res->note, sizeof res->note, "oneDNN %d.x API not supported by the bench",
           DNNL_VERSION_MAJOR);
}

#endif
