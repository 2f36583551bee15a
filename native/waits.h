// Deadlines, timed waits and the yield loop: POSIX calls only, no Node-API.
// Each returns 0 or an errno value.
#ifndef POSIX_SEMAPHORE_WAITS_H
#define POSIX_SEMAPHORE_WAITS_H

#include "platform.h"

#include <time.h>

namespace psem {

class SignalWindow;

// The clock of every deadline here: CLOCK_MONOTONIC with sem_clockwait
// (glibc >= 2.30) or the macOS polling, else CLOCK_REALTIME (sem_timedwait).
extern const clockid_t kWaitClock;

// The call behind timed waits: "sem_clockwait", "sem_timedwait", or
// "sem_trywait" where there is no timed wait and it is polled (macOS).
const char* TimedWaitCall();

// `ms` milliseconds from now on kWaitClock.
struct timespec DeadlineIn(double ms);
bool Reached(const struct timespec& now, const struct timespec& deadline);

// Waits until `deadline`. Returns 0, ETIMEDOUT, EINTR (only when a signal of
// `window` arrived) or another errno. EINTR from any other signal is retried
// against the same absolute deadline.
int WaitUntil(sem_t* sem, const struct timespec& deadline, const SignalWindow* window);

// One wait until `deadline`, for a thread that another may interrupt
// (wait_thread.cc): returns 0, ETIMEDOUT, EINTR after any signal handler
// (a timed futex wait is never restarted), or another errno. Where the wait
// is polled (no sem_timedwait: macOS), EINTR too once `stop()` is true,
// which is looked at between polls.
int WaitOnce(sem_t* sem, const struct timespec& deadline, bool (*stop)(void*), void* arg);

// Waits up to `ms` milliseconds; see WaitUntil().
int TimedWait(sem_t* sem, double ms, const SignalWindow* window);

// Tries sem_trywait again and again for up to `us` microseconds, giving the
// CPU away (sched_yield) before each try. Returns 0, EAGAIN or another errno.
// acquire() calls it before it pays for a threadpool round trip: a holder
// about to post (often a process that our own post just woke, on this CPU or
// another) gets to run and post, and the unit is taken without one.
int TryWaitYielding(sem_t* sem, double us);

}  // namespace psem

#endif  // POSIX_SEMAPHORE_WAITS_H
