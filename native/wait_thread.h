// A wait on a thread of its own, for when the process's pool budget
// (pool_budget.h) has no pool thread to spare: it waits in slices until it
// takes a unit, nobody wants one any more, or its environment goes, and
// tells JS through a thread-safe function. Which thread runs what: see
// WaitThread in wait_thread.cc.
#ifndef POSIX_SEMAPHORE_WAIT_THREAD_H
#define POSIX_SEMAPHORE_WAIT_THREAD_H

#include "platform.h"

#include <node_api.h>

#include <memory>

#include "sem.h"
#include "waiter.h"

namespace psem {

// The JS thread: starts the wait of `waiter` through `sem`; `done` is called
// as for a WaitSlice. false when no thread could start (nothing started).
bool StartWaitThread(napi_env env, napi_value done, const WaiterRef& waiter, const std::shared_ptr<Sem>& sem);

}  // namespace psem

#endif  // POSIX_SEMAPHORE_WAIT_THREAD_H
