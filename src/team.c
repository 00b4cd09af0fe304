/* A team of threads: the caller plus `size - 1` workers that run one job at a time.
 *
 * Per-call teams (conv1dt__team_create) serve the GEMM methods: their workers sleep on a
 * condition variable between jobs, so they never compete with the BLAS's own threads during a
 * GEMM. The direct method, which calls no BLAS, borrows a team kept by the layer instead
 * (conv1dt__team_acquire): its workers spin for a short while after each job before they
 * sleep, so back-to-back calls hand work over in a microsecond or so instead of paying a
 * thread start (which costs more than a small layer's whole call). The layer's team is
 * guarded by a mutex: a concurrent call that finds it busy makes a team of its own, so the
 * layer stays safe to share between threads. No global state. */
#define _DEFAULT_SOURCE /* MADV_WIPEONFORK */
#include "internal.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* How long a spinning team's workers wait for the next job before they sleep. */
#define ANY_CLOSED (UINT64_C(1) << 31)
#define ANY_COUNT (ANY_CLOSED - 1)
#define CONV1DT_SPIN_NS 200000L

struct conv1dt_team {
  int size;
  int spin; /* spin CONV1DT_SPIN_NS after each job before sleeping */
  pthread_mutex_t lock;
  pthread_cond_t start, done;
  /* Bumped by 2 for every job; its lowest bit says the job is a conv1dt__team_run_any one, so
   * that a worker knows a job's kind from the one value it waits on. */
  _Atomic unsigned long generation;
  _Atomic int pending; /* workers still running the current job */
  /* Who may need waking: workers about to wait on `start`, the caller about to wait on
   * `done`. Each side announces itself before it checks the condition it would wait for, and
   * the other side bumps that condition before it reads the announcement (both seq_cst), so
   * one of them always sees the other: no lost wake-up, and no lock or syscall when both spin. */
  _Atomic int sleepers;
  _Atomic int caller_waits;
  /* Jobs any members may share (conv1dt__team_run_any): the job's generation (its low 32
   * bits, high word), whether the caller has closed it (ANY_CLOSED), and how many workers are
   * inside it (low bits). A worker joins only an open job of the generation it saw. */
  _Atomic uint64_t any_state;
  int stop;       /* under lock */
  int mapped;     /* allocated by map_team (the layer's team), else calloc */
  conv1dt_job fn; /* written before generation is bumped */
  void *arg;
  pthread_t threads[CONV1DT_MAX_THREADS];
  struct conv1dt_worker {
    conv1dt_team *team;
    int id;
  } workers[CONV1DT_MAX_THREADS];
};

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

/* A worker's entry into the shared job of generation gen: 0 when the caller closed it (and
 * may have gone on: fn and arg are read only after a successful entry). */
static int join_any(conv1dt_team *team, unsigned long gen) {
  uint64_t st = atomic_load(&team->any_state);
  for (;;) {
    if ((uint32_t)(st >> 32) != (uint32_t)gen || (st & ANY_CLOSED)) return 0;
    if (atomic_compare_exchange_weak(&team->any_state, &st, st + 1)) return 1;
  }
}

static void *worker_main(void *p) {
  struct conv1dt_worker *w = p;
  conv1dt_team *team = w->team;
  unsigned long seen = 0;
  for (;;) {
    unsigned long gen = atomic_load_explicit(&team->generation, memory_order_acquire);
    if (team->spin && gen == seen) { /* a short spin catches the next call of a run of small ones */
      const long long deadline = now_ns() + CONV1DT_SPIN_NS;
      for (int i = 0; (gen = atomic_load_explicit(&team->generation, memory_order_acquire)) == seen;
           i++) {
        cpu_relax();
        if ((i & 63) == 63 && now_ns() > deadline) break;
      }
    }
    if (gen == seen) {
      pthread_mutex_lock(&team->lock);
      atomic_fetch_add(&team->sleepers, 1);
      while ((gen = atomic_load(&team->generation)) == seen && !team->stop)
        pthread_cond_wait(&team->start, &team->lock);
      atomic_fetch_sub(&team->sleepers, 1);
      const int stop = team->stop;
      pthread_mutex_unlock(&team->lock);
      if (stop) return NULL;
    }
    /* fn, arg and size were written before generation was bumped, and stay until every
     * worker has counted itself out of `pending` (or out of any_state's count). */
    seen = gen;
    if (gen & 1) {
      if (!join_any(team, gen)) continue; /* closed already: the others did it all */
      team->fn(team->arg, w->id, team->size);
      const uint64_t st = atomic_fetch_sub(&team->any_state, 1) - 1;
      if ((st & ANY_CLOSED) && !(st & ANY_COUNT) && atomic_load(&team->caller_waits)) {
        pthread_mutex_lock(&team->lock);
        pthread_cond_signal(&team->done);
        pthread_mutex_unlock(&team->lock);
      }
      continue;
    }
    team->fn(team->arg, w->id, team->size);
    if (atomic_fetch_sub(&team->pending, 1) == 1 && atomic_load(&team->caller_waits)) {
      pthread_mutex_lock(&team->lock); /* the caller is waiting, or about to */
      pthread_cond_signal(&team->done);
      pthread_mutex_unlock(&team->lock);
    }
  }
}

/* The layer's team lives in pages that fork() hands to the child zeroed (Linux 4.14+), so a
 * forward call learns that it runs in a child from the team's size (0), with no getpid()
 * system call per call (a measurable share of a small layer's call). NULL where the kernel
 * cannot: the caller falls back to calloc and getpid(). */
static conv1dt_team *map_team(void) {
#ifdef MADV_WIPEONFORK
  void *p =
      mmap(NULL, sizeof(conv1dt_team), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return NULL;
  if (madvise(p, sizeof(conv1dt_team), MADV_WIPEONFORK) == 0) return p;
  munmap(p, sizeof(conv1dt_team));
#endif
  return NULL;
}

static void free_team(conv1dt_team *team) {
  if (team->mapped)
    munmap(team, sizeof *team);
  else
    free(team);
}

static conv1dt_team *team_new(int size, int spin) {
  if (size > CONV1DT_MAX_THREADS) size = CONV1DT_MAX_THREADS;
  if (size <= 1) return NULL;
  conv1dt_team *team = spin ? map_team() : NULL; /* mmap'd pages come zeroed */
  if (team)
    team->mapped = 1;
  else if (!(team = calloc(1, sizeof *team)))
    return NULL;
  if (pthread_mutex_init(&team->lock, NULL)) goto fail_lock;
  if (pthread_cond_init(&team->start, NULL)) goto fail_start;
  if (pthread_cond_init(&team->done, NULL)) goto fail_done;
  atomic_init(&team->generation, 0);
  atomic_init(&team->pending, 0);
  atomic_init(&team->sleepers, 0);
  atomic_init(&team->caller_waits, 0);
  atomic_init(&team->any_state, 0);
  team->spin = spin;
  team->size = 1;
  for (int i = 1; i < size; i++) {
    team->workers[i].team = team;
    team->workers[i].id = i;
    if (pthread_create(&team->threads[i], NULL, worker_main, &team->workers[i])) break;
    team->size = i + 1; /* no job runs yet: workers read the size when a job starts */
  }
  if (team->size > 1) return team;
  conv1dt__team_destroy(team);
  return NULL;
fail_done:
  pthread_cond_destroy(&team->start);
fail_start:
  pthread_mutex_destroy(&team->lock);
fail_lock:
  free_team(team);
  return NULL;
}

conv1dt_team *conv1dt__team_create(int size) {
  return team_new(size, 0);
}

/* After a job's generation is out: spinning workers see it by themselves. */
static void wake_sleepers(conv1dt_team *team) {
  if (atomic_load(&team->sleepers)) {
    pthread_mutex_lock(&team->lock);
    pthread_cond_broadcast(&team->start);
    pthread_mutex_unlock(&team->lock);
  }
}

void conv1dt__team_run(conv1dt_team *team, conv1dt_job fn, void *arg) {
  if (!team) {
    fn(arg, 0, 1);
    return;
  }
  team->fn = fn;
  team->arg = arg;
  atomic_store_explicit(&team->pending, team->size - 1, memory_order_relaxed);
  atomic_store(&team->generation, (atomic_load(&team->generation) | 1) + 1); /* even */
  wake_sleepers(team);
  fn(arg, 0, team->size);
  if (team->spin) /* the workers are as quick: wait for them awake */
    for (int i = 0; atomic_load_explicit(&team->pending, memory_order_acquire) > 0 && i < 100000;
         i++)
      cpu_relax();
  if (atomic_load_explicit(&team->pending, memory_order_acquire) > 0) {
    pthread_mutex_lock(&team->lock);
    atomic_store(&team->caller_waits, 1);
    while (atomic_load(&team->pending) > 0) pthread_cond_wait(&team->done, &team->lock);
    atomic_store(&team->caller_waits, 0);
    pthread_mutex_unlock(&team->lock);
  }
}

void conv1dt__team_run_any(conv1dt_team *team, conv1dt_job fn, void *arg) {
  if (!team) {
    fn(arg, 0, 1);
    return;
  }
  team->fn = fn;
  team->arg = arg;
  const unsigned long gen = (atomic_load(&team->generation) & ~1UL) + 3; /* odd */
  atomic_store(&team->any_state, (uint64_t)(uint32_t)gen << 32);
  atomic_store(&team->generation, gen);
  wake_sleepers(team);
  fn(arg, 0, team->size);
  /* Closed: a worker that has not joined by now (asleep, or without a CPU) stays out, and
   * the job is done when those inside finish. */
  uint64_t st = atomic_fetch_or(&team->any_state, ANY_CLOSED);
  for (int i = 0; (st & ANY_COUNT) && i < 100000; i++) {
    cpu_relax();
    st = atomic_load_explicit(&team->any_state, memory_order_acquire);
  }
  if (st & ANY_COUNT) {
    pthread_mutex_lock(&team->lock);
    atomic_store(&team->caller_waits, 1);
    while (atomic_load(&team->any_state) & ANY_COUNT) pthread_cond_wait(&team->done, &team->lock);
    atomic_store(&team->caller_waits, 0);
    pthread_mutex_unlock(&team->lock);
  }
}

int conv1dt__team_size(const conv1dt_team *team) {
  return team ? team->size : 1;
}

void conv1dt__team_destroy(conv1dt_team *team) {
  if (!team) return;
  pthread_mutex_lock(&team->lock);
  team->stop = 1;
  pthread_cond_broadcast(&team->start);
  pthread_mutex_unlock(&team->lock);
  for (int i = 1; i < team->size; i++) pthread_join(team->threads[i], NULL);
  pthread_cond_destroy(&team->done);
  pthread_cond_destroy(&team->start);
  pthread_mutex_destroy(&team->lock);
  free_team(team);
}

/* ---- the layer's team (conv1dt_layer.pool, created on first use) ------------------------- */

/* Whether the layer's team belongs to this process: a child after fork() inherits the pointer
 * but not the threads, and must never touch them. A mapped team reads as zeros there (mapped
 * and size 0); a calloc'd one is told by the process id. */
static int pool_is_ours(const conv1dt_layer *l) {
  return l->pool->mapped ? 1 : l->pool->size > 0 && l->pool_pid == (long)getpid();
}

/* Forgets a team inherited through fork(): unmaps the zeroed copy, leaks a calloc'd one (its
 * mutexes may be held by threads that do not exist here). */
static void drop_foreign_pool(conv1dt_layer *l) {
  if (l->pool->size == 0) munmap(l->pool, sizeof *l->pool);
  l->pool = NULL;
}

conv1dt_team *conv1dt__team_acquire(const conv1dt_layer *layer, int size, int *own) {
  conv1dt_layer *l = (conv1dt_layer *)layer; /* only its pool fields, under pool_lock */
  *own = 1;
  if (size <= 1) return NULL;
  if (l->pool_ok && pthread_mutex_trylock(&l->pool_lock) == 0) {
    if (l->pool && !pool_is_ours(l)) {
      drop_foreign_pool(l);
    } else if (l->pool && conv1dt__team_size(l->pool) != size) {
      conv1dt__team_destroy(l->pool);
      l->pool = NULL;
    }
    if (!l->pool) {
      l->pool = team_new(size, 1);
      l->pool_pid = l->pool && !l->pool->mapped ? (long)getpid() : 0;
    }
    if (l->pool) {
      *own = 0;
      return l->pool; /* pool_lock stays held until conv1dt__team_release */
    }
    pthread_mutex_unlock(&l->pool_lock);
  }
  return team_new(size, 0); /* busy (a concurrent call) or no pool: a team of its own */
}

void conv1dt__team_release(const conv1dt_layer *layer, conv1dt_team *team, int own) {
  if (own) {
    conv1dt__team_destroy(team);
    return;
  }
  pthread_mutex_unlock(&((conv1dt_layer *)layer)->pool_lock);
}

void conv1dt__pool_init(conv1dt_layer *layer) {
  layer->pool = NULL;
  layer->pool_ok = pthread_mutex_init(&layer->pool_lock, NULL) == 0;
}

void conv1dt__pool_destroy(conv1dt_layer *layer) {
  if (!layer->pool_ok) return;
  if (layer->pool && pool_is_ours(layer))
    conv1dt__team_destroy(layer->pool);
  else if (layer->pool)
    drop_foreign_pool(layer);
  layer->pool = NULL;
  pthread_mutex_destroy(&layer->pool_lock);
  layer->pool_ok = 0;
}
