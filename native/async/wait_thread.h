// Where async waits run: threads of the addon's own, at most a cap of them
// in the process, reused, never the libuv pool (whose size the addon cannot
// learn once the program has changed UV_THREADPOOL_SIZE: docs/threadpool.md).
//
// A wait (WaitJob) blocks in sem_clockwait on one of these threads until it
// takes a unit, nobody wants it any more, or its environment goes; the end
// reaches JS through its environment's WaitHub (one thread-safe function).
// Under the cap each wait has a thread to itself; past it, a thread serves
// several, blocking on each in turn for kShareSliceMs and trying the others
// (sem_trywait) between slices.
//
// An unwanted wait ends at once: StopWait() (the JS thread, from setWanted
// or teardown) interrupts the thread's sem_clockwait with a private signal
// (wait_thread.cc says which and why it disturbs nobody) and waits until the
// thread is out of it, so a unit posted after the acquire() was rejected is
// never taken.
//
// Threads: StartWaitThread, StopWait, StopAllWaits and CountWaits run on a JS
// thread; the waits on the addon's threads; WaitHub's delivery (CallJs) on
// the JS thread of the wait's environment.
#ifndef POSIX_SEMAPHORE_WAIT_THREAD_H
#define POSIX_SEMAPHORE_WAIT_THREAD_H

#include "platform.h"

#include <node_api.h>

#include <memory>

#include "sem.h"
#include "waiter.h"

namespace psem {

struct WaitJob;
struct WaitHub;

// The JS thread: starts the wait of `waiter` on its account's semaphore, sleeping at most
// `sliceMs` at a time (robust: a dead holder's units are recovered between
// slices); `done` is called once, as startWait's contract says. 0, or an
// errno: EAGAIN when no thread could start and none runs, ECANCELED in an
// environment being torn down.
int StartWaitThread(napi_env env, napi_value done, const WaiterRef& waiter, double sliceMs);

// The JS thread, after the waiter's state became Unwanted: ends the wait in
// flight at once and returns once it no longer waits (it has taken nothing,
// or what it took is posted back).
void StopWait(WaitJob& job);

struct WaitCounts {
  int waits;    // waits in flight in the process
  int threads;  // the addon's wait threads, busy or idle
  int cap;      // the most threads there may be
};
WaitCounts CountWaits();

}  // namespace psem

#endif  // POSIX_SEMAPHORE_WAIT_THREAD_H
