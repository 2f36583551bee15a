// The AsyncWorker of the async path: one slice of a wait on the libuv
// threadpool (sem_clockwait for at most `ms` milliseconds), then back to JS,
// which starts another while the unit is still wanted. So a blocked wait
// never holds a pool thread for long, and a timeout, an abort or close() is
// honoured within a slice. StartWait (async_calls.cc) queues one while the
// process's pool budget (pool_budget.h) allows, else starts a WaitThread
// (wait_thread.h).
//
// Which thread runs each method, in order:
//   constructor, Queue()  the JS thread, in StartWait
//   Execute()             a pool thread; it never touches Napi::Env or JS
//   OnOK()                the JS thread; never OnError: Execute sets no error
//   destructor            the JS thread, right after OnOK (the AsyncWorker deletes itself)
#ifndef POSIX_SEMAPHORE_WAIT_SLICE_H
#define POSIX_SEMAPHORE_WAIT_SLICE_H

#include "platform.h"

#include <napi.h>

#include <memory>

#include "sem.h"
#include "waiter.h"

namespace psem {

class WaitSlice : public Napi::AsyncWorker {
 public:
  // The JS thread. `sem` keeps the mapping alive while the slice waits.
  WaitSlice(const Napi::Function& done, WaiterRef waiter, std::shared_ptr<Sem> sem, double ms);

  // A pool thread: waits up to ms_, keeps (or posts back) what it takes, and
  // gives the pool thread back to the budget.
  void Execute() override;

  // The JS thread: tells JS through `done` (Deliver, waiter.h).
  void OnOK() override;

 private:
  WaiterRef waiter_;
  std::shared_ptr<Sem> sem_;  // keeps the mapping
  sem_t* semaphore_;
  double ms_;
  int err_ = 0;
};

}  // namespace psem

#endif  // POSIX_SEMAPHORE_WAIT_SLICE_H
