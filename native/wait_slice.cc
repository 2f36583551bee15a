#include "wait_slice.h"

#include <errno.h>

#include <memory>

#include "env.h"
#include "waits.h"

namespace psem {
namespace {

// One slice of an asynchronous wait: sem_clockwait on the threadpool for at
// most `ms`, then back to JS with 0 (acquired), ETIMEDOUT (slice over, ask
// again), ECANCELED (nobody wanted the unit: given back) or an errno. EINTR
// on the pool thread is not the user's signal: retried.
//
// Threads: the constructor and Queue() run on the JS thread; Execute() on a
// pool thread; OnOK() (never OnError: Execute sets no error) and the
// destructor on the JS thread again.
class WaitSlice : public Napi::AsyncWorker {
 public:
  WaitSlice(const Napi::Function& callback, std::shared_ptr<Sem> sem, double ms)
      : Napi::AsyncWorker(callback, "posix-semaphore:acquire"), sem_(std::move(sem)),
        semaphore_(sem_->get()), ms_(ms) {
    sem_->inflight = true;
    sem_->slice.store(Sem::kSliceWanted);
  }

  void Execute() override {
    err_ = TimedWait(semaphore_, ms_, nullptr);
    if (err_ != 0) return;
    int expected = Sem::kSliceWanted;
    if (!sem_->slice.compare_exchange_strong(expected, Sem::kSliceHolding)) {
      sem_post(semaphore_);  // every acquire gave up meanwhile: hold nothing
      err_ = ECANCELED;
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    sem_->inflight = false;
    int err = err_;
    // Returned: JS gave the unit up after this thread took it (SetWanted posted it back).
    if (err == 0 && sem_->slice.load() == Sem::kSliceReturned) err = ECANCELED;
    sem_->slice.store(Sem::kSliceIdle);
    if (err == 0) ++sem_->held;
    // Raw napi_call_function: in a worker being terminated, JS cannot run,
    // and node-addon-api's Call() would turn that into a fatal error.
    napi_value argv[1] = {Napi::Number::New(env, err)};
    napi_value result;
    napi_status status = napi_call_function(env, env.Undefined(), Callback().Value(), 1, argv, &result);
    if (status != napi_ok) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
      // JS never took the unit: give it back.
      if (err == 0 && sem_post(semaphore_) == 0) --sem_->held;
    }
  }

 private:
  std::shared_ptr<Sem> sem_;
  sem_t* semaphore_;  // read on the pool thread; kept mapped by sem_
  double ms_;
  int err_ = 0;
};

}  // namespace

Napi::Value StartWaitSlice(const Napi::CallbackInfo& info) {
  const std::shared_ptr<Sem>& sem = HandleOf(info)->sem;
  if (!sem || sem->closed()) return Napi::Number::New(info.Env(), kClosed);
  auto worker = std::make_unique<WaitSlice>(info[2].As<Napi::Function>(), sem,
                                            info[1].As<Napi::Number>().DoubleValue());
  worker.release()->Queue();  // the AsyncWorker deletes itself after OnOK
  return Napi::Number::New(info.Env(), 0);
}

Napi::Value TrySpin(const Napi::CallbackInfo& info) {
  Sem* sem = OpenSem(HandleOf(info));
  if (sem == nullptr) return Napi::Number::New(info.Env(), kClosed);
  int err = TryWaitYielding(sem->get(), info[1].As<Napi::Number>().DoubleValue());
  if (err == 0) ++sem->held;
  return Napi::Number::New(info.Env(), err);
}

Napi::Value SetWanted(const Napi::CallbackInfo& info) {
  const std::shared_ptr<Sem>& sem = HandleOf(info)->sem;
  if (sem) sem->SetWanted(info[1].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

}  // namespace psem
