#include "wait_slice.h"

#include <errno.h>

#include <utility>

#include "pool_budget.h"
#include "waits.h"

namespace psem {

WaitSlice::WaitSlice(const Napi::Function& done, WaiterRef waiter, std::shared_ptr<Sem> sem, double ms)
    : Napi::AsyncWorker(done, "posix-semaphore:acquire"),
      waiter_(std::move(waiter)),
      sem_(std::move(sem)),
      semaphore_(sem_->get()),
      ms_(ms) {}

void WaitSlice::Execute() {
  err_ = TimedWait(semaphore_, ms_, nullptr);  // EINTR here is nobody's signal: retried inside
  if (err_ == 0 && !waiter_->Keep()) err_ = ECANCELED;
  if (err_ == ETIMEDOUT) waiter_->Recover();
  ReturnPoolThread();  // this pool thread is free again
}

void WaitSlice::OnOK() { Deliver(Env(), Callback().Value(), *waiter_, *sem_, err_); }

}  // namespace psem
