#include "waits.h"

#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <unistd.h>

#include "signal_window.h"

namespace psem {
namespace {

void AddMillis(struct timespec* ts, double ms) {
  long long ns = static_cast<long long>(ms * 1e6);
  ts->tv_sec += static_cast<time_t>(ns / 1000000000LL);
  ts->tv_nsec += static_cast<long>(ns % 1000000000LL);
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec += 1;
    ts->tv_nsec -= 1000000000L;
  }
}

#ifdef HAVE_SEM_TIMEDWAIT
// sem_clockwait (glibc >= 2.30) measures on CLOCK_MONOTONIC, immune to
// wall-clock jumps; without it, sem_timedwait measures on the wall clock.
// POSIX_SEMAPHORE_NO_CLOCKWAIT builds the fallback here too, for its test.
using ClockWait = int (*)(sem_t*, clockid_t, const struct timespec*);
#ifdef POSIX_SEMAPHORE_NO_CLOCKWAIT
const ClockWait clockWait = nullptr;
#else
const ClockWait clockWait = reinterpret_cast<ClockWait>(dlsym(RTLD_DEFAULT, "sem_clockwait"));
#endif
#endif

}  // namespace

#ifdef HAVE_SEM_TIMEDWAIT
const clockid_t kWaitClock = clockWait != nullptr ? CLOCK_MONOTONIC : CLOCK_REALTIME;
#else
const clockid_t kWaitClock = CLOCK_MONOTONIC;  // the polling below measures on it
#endif

const char* TimedWaitCall() {
#ifdef HAVE_SEM_TIMEDWAIT
  return clockWait != nullptr ? "sem_clockwait" : "sem_timedwait";
#else
  return "sem_trywait";
#endif
}

struct timespec DeadlineIn(double ms) {
  struct timespec deadline;
  clock_gettime(kWaitClock, &deadline);
  AddMillis(&deadline, ms);
  return deadline;
}

bool Reached(const struct timespec& now, const struct timespec& deadline) {
  return now.tv_sec > deadline.tv_sec || (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec);
}

int TryWaitYielding(sem_t* sem, double us) {
  struct timespec now, deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  AddMillis(&deadline, us / 1000);
  for (;;) {
    sched_yield();
    if (sem_trywait(sem) == 0) return 0;
    int err = errno;
    if (err != EAGAIN && err != EINTR) return err;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (Reached(now, deadline)) return EAGAIN;
  }
}

// A timed futex wait returns EINTR after any signal handler, even with
// SA_RESTART: those are retried against the same absolute deadline.
int WaitUntil(sem_t* sem, const struct timespec& deadline, const SignalWindow* window) {
  if (window != nullptr && window->Caught()) return EINTR;  // caught between two waits
#ifdef HAVE_SEM_TIMEDWAIT
  for (;;) {
    int r = clockWait != nullptr ? clockWait(sem, kWaitClock, &deadline) : sem_timedwait(sem, &deadline);
    if (r == 0) return 0;
    int err = errno;
    if (err != EINTR || (window != nullptr && window->Caught())) return err;
  }
#else
  // No sem_timedwait (macOS): poll sem_trywait with a bounded back-off.
  struct timespec now;
  long pauseUs = 50;
  for (;;) {
    if (sem_trywait(sem) == 0) return 0;
    int err = errno;
    if (err == EINTR && window != nullptr && window->Caught()) return err;
    if (err != EAGAIN && err != EINTR) return err;
    clock_gettime(kWaitClock, &now);
    if (Reached(now, deadline)) return ETIMEDOUT;
    if (window != nullptr && window->Caught()) return EINTR;
    usleep(static_cast<useconds_t>(pauseUs));
    if (pauseUs < 10000) pauseUs *= 2;
  }
#endif
}

int WaitOnce(sem_t* sem, const struct timespec& deadline, bool (*stop)(void*), void* arg) {
#ifdef HAVE_SEM_TIMEDWAIT
  (void)stop;
  (void)arg;
  int r = clockWait != nullptr ? clockWait(sem, kWaitClock, &deadline) : sem_timedwait(sem, &deadline);
  return r == 0 ? 0 : errno;
#else
  struct timespec now;
  long pauseUs = 50;
  for (;;) {
    if (sem_trywait(sem) == 0) return 0;
    int err = errno;
    if (err != EAGAIN && err != EINTR) return err;
    if (stop(arg)) return EINTR;
    clock_gettime(kWaitClock, &now);
    if (Reached(now, deadline)) return ETIMEDOUT;
    usleep(static_cast<useconds_t>(pauseUs));
    if (pauseUs < 10000) pauseUs *= 2;
  }
#endif
}

int TimedWait(sem_t* sem, double ms, const SignalWindow* window) { return WaitUntil(sem, DeadlineIn(ms), window); }

}  // namespace psem
