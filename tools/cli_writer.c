/* The writer thread of cli_writer.h: a one-slot hand-over under a mutex. */
#include "cli_writer.h"

#include "cli_error.h"

#include <pthread.h>
#include <stdlib.h>

struct cli_writer {
  pthread_mutex_t lock;
  pthread_cond_t change;
  pthread_t thread;
  cli_write_fn fn; /* the pending write, NULL when idle */
  void *arg;
  bool stop, failed;
};

static void *writer_main(void *p) {
  cli_writer *w = p;
  pthread_mutex_lock(&w->lock);
  for (;;) {
    while (!w->fn && !w->stop) pthread_cond_wait(&w->change, &w->lock);
    if (!w->fn) break; /* stopped with nothing pending */
    const cli_write_fn fn = w->fn;
    void *arg = w->arg;
    pthread_mutex_unlock(&w->lock);
    const bool ok = fn(arg);
    pthread_mutex_lock(&w->lock);
    if (!ok) w->failed = true;
    w->fn = NULL;
    pthread_cond_broadcast(&w->change);
  }
  pthread_mutex_unlock(&w->lock);
  return NULL;
}

cli_writer *cli_writer_start(void) {
  cli_writer *w = calloc(1, sizeof *w);
  if (!w) {
    cli_error("out of memory for the writer thread");
    return NULL;
  }
  pthread_mutex_init(&w->lock, NULL);
  pthread_cond_init(&w->change, NULL);
  if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
    cli_error("cannot start the writer thread");
    pthread_cond_destroy(&w->change);
    pthread_mutex_destroy(&w->lock);
    free(w);
    return NULL;
  }
  return w;
}

bool cli_writer_submit(cli_writer *w, cli_write_fn fn, void *arg) {
  pthread_mutex_lock(&w->lock);
  while (w->fn) pthread_cond_wait(&w->change, &w->lock);
  const bool ok = !w->failed;
  if (ok) {
    w->fn = fn;
    w->arg = arg;
    pthread_cond_broadcast(&w->change);
  }
  pthread_mutex_unlock(&w->lock);
  return ok;
}

bool cli_writer_finish(cli_writer *w) {
  if (!w) return true;
  pthread_mutex_lock(&w->lock);
  w->stop = true;
  pthread_cond_broadcast(&w->change);
  pthread_mutex_unlock(&w->lock);
  pthread_join(w->thread, NULL);
  const bool ok = !w->failed;
  pthread_cond_destroy(&w->change);
  pthread_mutex_destroy(&w->lock);
  free(w);
  return ok;
}
