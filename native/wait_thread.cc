#include "wait_thread.h"

#include <errno.h>
#include <pthread.h>

#include <atomic>
#include <utility>

#include "pool_budget.h"
#include "waits.h"

namespace psem {
namespace {

// Milliseconds a wait on a thread of its own waits between looks at whether
// it is still wanted, or its environment is going (a worker's terminate()
// waits for that look). Measured: 100 such threads at 100 ms slices cost
// 2-3 % of a core idle here, at 250 ms about 1 %. A unit taken after nobody
// wants it is posted back at once, whatever the slice.
constexpr double kThreadSliceMs = 250;

// A wait on a thread of its own, for when the pool has no thread to spare:
// it waits in slices of kThreadSliceMs until it takes a unit, nobody wants
// one any more, or its environment goes, and tells JS through a
// thread-safe function.
//
// Threads: Start() runs on the JS thread; Run() on the new thread, which
// calls the thread-safe function once at most and releases it (or finds it
// closing: the environment is going); CallJs() on the JS thread, or during
// teardown with no env (JS will never see the unit: post it back);
// Finalize() on the JS thread once the function is released or closed: it
// stops the thread (within a slice) and joins it, so the thread never
// outlives the function. CallJs and Finalize each own a reference to the
// WaitThread, whichever comes last frees it, on the JS thread.
class WaitThread {
 public:
  static bool Start(napi_env env, napi_value done, const WaiterRef& waiter, const std::shared_ptr<Sem>& sem) {
    auto self = std::make_shared<WaitThread>(waiter, sem);
    auto* finalizing = new std::shared_ptr<WaitThread>(self);
    napi_value name;
    if (napi_create_string_utf8(env, "posix-semaphore:acquire", NAPI_AUTO_LENGTH, &name) != napi_ok ||
        napi_create_threadsafe_function(env, done, nullptr, name, 0, 1, finalizing, Finalize, nullptr, CallJs,
                                        &self->tsfn_) != napi_ok) {
      delete finalizing;
      return false;
    }
    auto* running = new std::shared_ptr<WaitThread>(self);  // the thread's own reference
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 256 * 1024);  // sem_clockwait needs little
    self->started_ = pthread_create(&self->thread_, &attr, Run, running) == 0;
    pthread_attr_destroy(&attr);
    if (!self->started_) {
      delete running;
      napi_release_threadsafe_function(self->tsfn_, napi_tsfn_abort);  // Finalize frees it
      return false;
    }
    ThreadWaitStarted();
    return true;
  }

  WaitThread(WaiterRef waiter, std::shared_ptr<Sem> sem)
      : waiter_(std::move(waiter)), sem_(std::move(sem)), semaphore_(sem_->get()) {}

 private:
  // The thread's reference becomes the message's. Finalize's reference
  // outlives the thread (it joins first), so the last one never drops here.
  static void* Run(void* arg) {
    auto* running = static_cast<std::shared_ptr<WaitThread>*>(arg);
    WaitThread* self = running->get();
    int err;
    for (;;) {
      if (self->stop_.load() || self->waiter_->state.load() == Waiter::kUnwanted) {
        err = ECANCELED;
        break;
      }
      err = TimedWait(self->semaphore_, kThreadSliceMs, nullptr);
      if (err == ETIMEDOUT) {
        self->waiter_->Recover();
        continue;
      }
      if (err == 0 && !self->waiter_->Keep()) err = ECANCELED;
      break;
    }
    self->err_ = err;
    ThreadWaitEnded();
    // CallJs frees the message's reference, even during teardown.
    napi_threadsafe_function tsfn = self->tsfn_;
    if (napi_call_threadsafe_function(tsfn, running, napi_tsfn_blocking) == napi_ok) {
      napi_release_threadsafe_function(tsfn, napi_tsfn_release);
    } else {
      // Closing: the environment is going, and JS will never see this.
      if (err == 0 && self->waiter_->state.exchange(Waiter::kIdle) == Waiter::kHolding) self->waiter_->PostBack();
      delete running;
    }
    return nullptr;
  }

  static void CallJs(napi_env env, napi_value done, void* /*context*/, void* data) {
    std::unique_ptr<std::shared_ptr<WaitThread>> message(static_cast<std::shared_ptr<WaitThread>*>(data));
    WaitThread& self = **message;
    if (env == nullptr || done == nullptr) {
      if (self.err_ == 0 && self.waiter_->state.exchange(Waiter::kIdle) == Waiter::kHolding) self.waiter_->PostBack();
      return;
    }
    Deliver(env, done, *self.waiter_, *self.sem_, self.err_);
  }

  static void Finalize(napi_env /*env*/, void* data, void* /*hint*/) {
    std::unique_ptr<std::shared_ptr<WaitThread>> finalizing(static_cast<std::shared_ptr<WaitThread>*>(data));
    WaitThread& self = **finalizing;
    self.stop_.store(true);
    if (self.started_) pthread_join(self.thread_, nullptr);
  }

  WaiterRef waiter_;
  std::shared_ptr<Sem> sem_;  // keeps the mapping
  sem_t* semaphore_;
  napi_threadsafe_function tsfn_ = nullptr;
  pthread_t thread_{};
  bool started_ = false;
  std::atomic<bool> stop_{false};
  int err_ = 0;
};

}  // namespace

bool StartWaitThread(napi_env env, napi_value done, const WaiterRef& waiter, const std::shared_ptr<Sem>& sem) {
  return WaitThread::Start(env, done, waiter, sem);
}

}  // namespace psem
