// CPU-bound workload for the `cpath record` overhead bench: T threads each run a fixed number of
// LCG steps; prints the wall time of the work in ms (process start-up excluded).
//   gcc -O2 -pthread -o busy busy.c && ./busy [threads=1] [million-steps=2000]
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long steps;
static volatile unsigned sink;

static void *work(void *arg) {
  (void)arg;
  unsigned x = 1;
  for (long i = 0; i < steps; i++) x = x * 1664525u + 1013904223u;
  sink += x;
  return NULL;
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 1;
  steps = (argc > 2 ? atol(argv[2]) : 2000) * 1000000L;
  pthread_t t[64];
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (int i = 0; i < threads && i < 64; i++) pthread_create(&t[i], NULL, work, NULL);
  for (int i = 0; i < threads && i < 64; i++) pthread_join(t[i], NULL);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.1f\n", (b.tv_sec - a.tv_sec) * 1e3 + (b.tv_nsec - a.tv_nsec) / 1e6);
  return 0;
}
