// handoff: one request at a time handed across three threads, the chain of
// docs/critical-path.md section 2 (and samples/threads/handoff.expected.md).
//
//   acceptor  serve_order(): ~1 ms CPU (parse), hands the request to the worker, waits
//   worker    validate(): ~7 ms CPU, hands the request to the db-pool thread
//   db-pool   query(): nanosleep 30 ms (a timer wakeup), encode_row(): ~9 ms CPU, wakes the acceptor
//   (and, when built with <sys/sdt.h>, the USDT probe handoff:request_done as serve_order returns)
//
// Handoffs are a mutex + condition variable per queue (futex wakeups: the waker is the thread
// that signals). CPU work is measured in thread CPU time, so it stays ~1/7/9 ms of CPU even if
// the thread is preempted (its wall time then grows). Between requests the acceptor sleeps 5 ms.
//
// Build: gcc -O1 -g -fno-omit-frame-pointer -pthread -o handoff handoff.c
// Run:   ./handoff [requests=20]   (one line per request on stdout: its number and wall ms)
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if defined(__has_include)
#if __has_include(<sys/sdt.h>)
#include <sys/sdt.h>  // apt-get install systemtap-sdt-dev: adds the USDT probe handoff:request_done
#endif
#endif
#ifndef STAP_PROBE1
#define STAP_PROBE1(provider, name, arg) ((void)(arg))
#endif

#define NOINLINE __attribute__((noinline))

struct slot {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int full;
  int value;
};

static struct slot to_worker = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
static struct slot to_db = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};
static struct slot to_acceptor = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0};

static void put(struct slot *s, int v) {
  pthread_mutex_lock(&s->mu);
  s->value = v;
  s->full = 1;
  pthread_cond_signal(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

static int take(struct slot *s) {
  pthread_mutex_lock(&s->mu);
  while (!s->full) pthread_cond_wait(&s->cv, &s->mu);
  s->full = 0;
  int v = s->value;
  pthread_mutex_unlock(&s->mu);
  return v;
}

static long long now_ns(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

// Spins until this thread has used `ms` of CPU; returns a value so the loop is not optimized out.
static NOINLINE unsigned burn(double ms) {
  long long end = now_ns(CLOCK_THREAD_CPUTIME_ID) + (long long)(ms * 1e6);
  unsigned x = 1;
  while (now_ns(CLOCK_THREAD_CPUTIME_ID) < end)
    for (int i = 0; i < 2000; i++) x = x * 1664525u + 1013904223u;
  return x;
}

static volatile unsigned sink;

NOINLINE int validate(int req) {
  sink += burn(7.0);
  return req;
}

NOINLINE int query(int req) {
  struct timespec d = {0, 30 * 1000 * 1000};
  nanosleep(&d, NULL);
  return req * 2;
}

NOINLINE int encode_row(int row) {
  sink += burn(9.0);
  return row + 1;
}

NOINLINE int serve_order(int req) {
  sink += burn(1.0);
  put(&to_worker, req);
  int r = take(&to_acceptor);
  STAP_PROBE1(handoff, request_done, req);
  return r;
}

static void *worker_main(void *arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "worker");
  for (;;) {
    int req = take(&to_worker);
    if (req < 0) {
      put(&to_db, -1);
      return NULL;
    }
    put(&to_db, validate(req));
  }
}

static void *db_main(void *arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "db-pool");
  for (;;) {
    int req = take(&to_db);
    if (req < 0) return NULL;
    put(&to_acceptor, encode_row(query(req)));
  }
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 20;
  pthread_setname_np(pthread_self(), "acceptor");
  pthread_t w, db;
  pthread_create(&w, NULL, worker_main, NULL);
  pthread_create(&db, NULL, db_main, NULL);
  struct timespec gap = {0, 5 * 1000 * 1000};
  for (int i = 0; i < n; i++) {
    long long t0 = now_ns(CLOCK_MONOTONIC);
    int r = serve_order(i);
    long long t1 = now_ns(CLOCK_MONOTONIC);
    printf("request %d: %.3f ms (result %d)\n", i, (t1 - t0) / 1e6, r);
    fflush(stdout);
    nanosleep(&gap, NULL);
  }
  put(&to_worker, -1);
  pthread_join(w, NULL);
  pthread_join(db, NULL);
  return 0;
}
