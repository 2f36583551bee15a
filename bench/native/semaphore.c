// The C floor for the benchmarks: the same operations as the Node bench,
// straight on glibc. Built by bench/lib/build.js with cc -O2 at run time.
//
//   semaphore pair ITERATIONS ROUNDS      ns per sem_wait()+sem_post(), one line per round
//   semaphore pingpong ITERATIONS ROUNDS [CPU_PING CPU_PONG]
//                                         us per round trip between two processes, one line per
//                                         round; with CPUs, each process is pinned to its CPU
//   semaphore wake-post GO DONE CLOCK ROUNDS PAUSE_MS
//                                         each round: idle PAUSE_MS, write the time (CLOCK_MONOTONIC ns,
//                                         a double) into the file CLOCK, sem_post(GO), sem_wait(DONE)
//   semaphore wake-wait GO DONE CLOCK ROUNDS
//                                         each round: sem_wait(GO), print the µs since the time in CLOCK,
//                                         sem_post(DONE): the C side of bench/wakeup.js
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static sem_t *open_new(const char *label, unsigned value, char *name, size_t size) {
  static int counter = 0;
  snprintf(name, size, "/psem-bench-c-%d-%d-%s", (int)getpid(), counter++, label);
  sem_t *sem = sem_open(name, O_CREAT | O_EXCL, 0600, value);
  if (sem == SEM_FAILED) {
    perror("sem_open");
    exit(1);
  }
  return sem;
}

static void must(int r, const char *what) {
  if (r != 0) {
    perror(what);
    exit(1);
  }
}

static void pair(long iterations, int rounds) {
  char name[64];
  sem_t *sem = open_new("pair", 1, name, sizeof name);
  for (int round = -1; round < rounds; round++) {  // round -1 warms up
    double t0 = now_ns();
    for (long i = 0; i < iterations; i++) {
      must(sem_wait(sem), "sem_wait");
      must(sem_post(sem), "sem_post");
    }
    double ns = (now_ns() - t0) / iterations;
    if (round >= 0) printf("%.3f\n", ns);
  }
  sem_close(sem);
  sem_unlink(name);
}

static void pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  must(sched_setaffinity(0, sizeof set, &set), "sched_setaffinity");
}

static void pingpong(long iterations, int rounds, int cpuPing, int cpuPong) {
  char pingName[64], pongName[64];
  sem_t *ping = open_new("ping", 0, pingName, sizeof pingName);
  sem_t *pong = open_new("pong", 0, pongName, sizeof pongName);
  long total = iterations * (rounds + 1);
  fflush(stdout);
  pid_t child = fork();
  if (child < 0) {
    perror("fork");
    exit(1);
  }
  if (child == 0) {
    pin(cpuPong);
    for (long i = 0; i < total; i++) {
      while (sem_wait(ping) != 0 && errno == EINTR) {}
      must(sem_post(pong), "sem_post");
    }
    _exit(0);
  }
  pin(cpuPing);
  for (int round = -1; round < rounds; round++) {
    double t0 = now_ns();
    for (long i = 0; i < iterations; i++) {
      must(sem_post(ping), "sem_post");
      while (sem_wait(pong) != 0 && errno == EINTR) {}
    }
    double us = (now_ns() - t0) / iterations / 1e3;
    if (round >= 0) printf("%.3f\n", us);
  }
  waitpid(child, NULL, 0);
  sem_close(ping);
  sem_close(pong);
  sem_unlink(pingName);
  sem_unlink(pongName);
}

static volatile double *map_clock(const char *file) {
  int fd = open(file, O_RDWR);
  if (fd < 0) {
    perror("open");
    exit(1);
  }
  void *map = mmap(NULL, sizeof(double), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    perror("mmap");
    exit(1);
  }
  close(fd);
  return map;
}

static sem_t *open_existing(const char *name) {
  sem_t *sem = sem_open(name, 0);
  if (sem == SEM_FAILED) {
    perror("sem_open");
    exit(1);
  }
  return sem;
}

static void wake(int post, const char *goName, const char *doneName, const char *clockFile, int rounds, int pauseMs) {
  sem_t *go = open_existing(goName), *done = open_existing(doneName);
  volatile double *clock = map_clock(clockFile);
  for (int round = 0; round < rounds; round++) {
    if (post) {
      usleep((useconds_t)pauseMs * 1000);
      *clock = now_ns();
      must(sem_post(go), "sem_post");
      while (sem_wait(done) != 0 && errno == EINTR) {}
    } else {
      while (sem_wait(go) != 0 && errno == EINTR) {}
      double us = (now_ns() - *clock) / 1e3;
      printf("%.3f\n", us);
      fflush(stdout);
      must(sem_post(done), "sem_post");
    }
  }
  sem_close(go);
  sem_close(done);
}

int main(int argc, char **argv) {
  if (argc >= 6 && strncmp(argv[1], "wake-", 5) == 0) {
    int post = strcmp(argv[1], "wake-post") == 0;
    wake(post, argv[2], argv[3], argv[4], atoi(argv[5]), post && argc > 6 ? atoi(argv[6]) : 0);
    return 0;
  }
  if (argc != 4 && argc != 6) {
    fprintf(stderr, "usage: %s pair|pingpong ITERATIONS ROUNDS [CPU_PING CPU_PONG] | wake-post|wake-wait ...\n", argv[0]);
    return 2;
  }
  long iterations = atol(argv[2]);
  int rounds = atoi(argv[3]);
  if (argv[1][0] == 'p' && argv[1][1] == 'a') pair(iterations, rounds);
  else pingpong(iterations, rounds, argc == 6 ? atoi(argv[4]) : -1, argc == 6 ? atoi(argv[5]) : -1);
  return 0;
}
