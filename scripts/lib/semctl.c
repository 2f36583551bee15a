/* semctl NAME COMMAND [ARG]: a C program on the same semaphore (sem_open), for the
 * interoperability tests and scripts/old-distro.sh.
 *   create VALUE  sem_open(O_CREAT|O_EXCL, 0600, VALUE)
 *   value         print sem_getvalue
 *   wait          sem_wait, then print "acquired"
 *   trywait       sem_trywait; print "acquired" or the errno name
 *   post          sem_post
 *   unlink        sem_unlink
 *   serve [US]    for each line on stdin: sem_post, then read sem_getvalue for US
 *                 microseconds (default 2000), then sem_trywait; print "ok" when
 *                 every read saw the unit and the trywait took it back, else
 *                 "miss" (after a sem_wait for the unit, when it missed
 *                 one, so that every round starts at the same value)
 * Exit status 0 on success, 1 with a message on stderr otherwise. */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int fail(const char *what) {
  fprintf(stderr, "%s: %s\n", what, strerror(errno));
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: semctl NAME COMMAND [ARG]\n");
    return 2;
  }
  const char *name = argv[1], *command = argv[2];
  if (strcmp(command, "unlink") == 0) return sem_unlink(name) == 0 ? 0 : fail("sem_unlink");
  sem_t *sem = strcmp(command, "create") == 0
                   ? sem_open(name, O_CREAT | O_EXCL, 0600, (unsigned)atoi(argc > 3 ? argv[3] : "1"))
                   : sem_open(name, 0);
  if (sem == SEM_FAILED) return fail("sem_open");
  int value;
  if (strcmp(command, "value") == 0) {
    if (sem_getvalue(sem, &value) != 0) return fail("sem_getvalue");
    printf("%d\n", value);
  } else if (strcmp(command, "wait") == 0) {
    if (sem_wait(sem) != 0) return fail("sem_wait");
    printf("acquired\n");
  } else if (strcmp(command, "trywait") == 0) {
    if (sem_trywait(sem) == 0) printf("acquired\n");
    else printf("%s\n", errno == EAGAIN ? "EAGAIN" : strerror(errno));
  } else if (strcmp(command, "serve") == 0) {
    char line[64];
    double span = atof(argc > 3 ? argv[3] : "2000") * 1e3;
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof line, stdin) != NULL) {
      if (sem_post(sem) != 0) return fail("sem_post");
      int seen = 1;
      for (double t0 = now_ns(); seen && now_ns() - t0 < span;) {
        if (sem_getvalue(sem, &value) != 0) return fail("sem_getvalue");
        if (value < 1) seen = 0;
      }
      if (seen && sem_trywait(sem) == 0) {
        printf("ok\n");
        continue;
      }
      while (sem_wait(sem) != 0) {
        if (errno != EINTR) return fail("sem_wait");
      }
      printf("miss\n");
    }
  } else if (strcmp(command, "post") == 0) {
    if (sem_post(sem) != 0) return fail("sem_post");
  } else if (strcmp(command, "create") != 0) {
    fprintf(stderr, "unknown command %s\n", command);
    return 2;
  }
  sem_close(sem);
  return 0;
}
