/* A team of threads for one forward call: the caller plus `size - 1` workers that sleep on a
 * condition variable between jobs, so they never compete with the BLAS's own threads during a
 * GEMM. Created per call (no global state), only when a call has enough work to share. */
#define _POSIX_C_SOURCE 200809L
#include "internal.h"

#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

struct conv1dt_team {
  int size;
  pthread_mutex_t lock;
  pthread_cond_t start, done;
  unsigned long generation; /* bumped for every job */
  int pending;              /* workers still running the current job */
  int stop;
  conv1dt_job fn;
  void *arg;
  pthread_t threads[CONV1DT_MAX_THREADS];
  struct conv1dt_worker {
    conv1dt_team *team;
    int id;
  } workers[CONV1DT_MAX_THREADS];
};

static void *worker_main(void *p) {
  struct conv1dt_worker *w = p;
  conv1dt_team *team = w->team;
  unsigned long seen = 0;
  for (;;) {
    pthread_mutex_lock(&team->lock);
    while (team->generation == seen && !team->stop) pthread_cond_wait(&team->start, &team->lock);
    if (team->stop) {
      pthread_mutex_unlock(&team->lock);
      return NULL;
    }
    seen = team->generation;
    conv1dt_job fn = team->fn;
    void *arg = team->arg;
    const int size = team->size;
    pthread_mutex_unlock(&team->lock);
    fn(arg, w->id, size);
    pthread_mutex_lock(&team->lock);
    if (--team->pending == 0) pthread_cond_signal(&team->done);
    pthread_mutex_unlock(&team->lock);
  }
}

int conv1dt__default_threads(void) {
  int n = conv1dt__blas_threads();
  if (n <= 0) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    n = cpus > 0 ? (int)cpus : 1;
  }
  return n > CONV1DT_MAX_THREADS ? CONV1DT_MAX_THREADS : n;
}

conv1dt_team *conv1dt__team_create(int size) {
  if (size > CONV1DT_MAX_THREADS) size = CONV1DT_MAX_THREADS;
  if (size <= 1) return NULL;
  conv1dt_team *team = calloc(1, sizeof *team);
  if (!team) return NULL;
  if (pthread_mutex_init(&team->lock, NULL)) goto fail_lock;
  if (pthread_cond_init(&team->start, NULL)) goto fail_start;
  if (pthread_cond_init(&team->done, NULL)) goto fail_done;
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
  free(team);
  return NULL;
}

void conv1dt__team_run(conv1dt_team *team, conv1dt_job fn, void *arg) {
  if (!team) {
    fn(arg, 0, 1);
    return;
  }
  pthread_mutex_lock(&team->lock);
  team->fn = fn;
  team->arg = arg;
  team->pending = team->size - 1;
  team->generation++;
  pthread_cond_broadcast(&team->start);
  pthread_mutex_unlock(&team->lock);
  fn(arg, 0, team->size);
  pthread_mutex_lock(&team->lock);
  while (team->pending > 0) pthread_cond_wait(&team->done, &team->lock);
  pthread_mutex_unlock(&team->lock);
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
  free(team);
}
