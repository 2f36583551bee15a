// The async path on Windows: the same exports and shared-wait protocol as
// native/async_calls.h (src/async/shared-wait.ts holds the JS half), with
// each wait registered with RegisterWaitForSingleObject: Windows' thread
// pool waits for up to 63 objects per thread, so a waiting acquire() holds
// no thread of its own and no libuv pool thread (waitThreads() reports none
// held). The callback runs on the wait thread, keeps (or posts back) the
// unit the wait took, and tells JS through a thread-safe function.
#include "win32.h"

#include <stdint.h>

#include <map>
#include <utility>

namespace psem {

class Waiter;
namespace {
class RegisteredWait;  // below
}  // namespace

struct Waiters {
  std::map<SemObject*, Waiter*> bySem;
};

// The waiting of one semaphore in one environment (see native/waiter.h for
// the states); `busy` on the JS thread only, `state` also on the wait thread.
class Waiter {
 public:
  enum State : int { kIdle, kWanted, kUnwanted, kHolding, kReturned };

  Waiter(SemObject* sem, std::shared_ptr<Waiters> waiters) : sem_(sem), waiters_(std::move(waiters)) {
    waiters_->bySem[sem_] = this;
  }
  ~Waiter() { Close(); }
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  SemObject* sem() const { return sem_; }

  void Close() {
    auto it = waiters_->bySem.find(sem_);
    if (it != waiters_->bySem.end() && it->second == this) waiters_->bySem.erase(it);
  }

  void SetWanted(bool wanted) {
    int expected = wanted ? kUnwanted : kWanted;
    if (state.compare_exchange_strong(expected, wanted ? kWanted : kUnwanted)) return;
    expected = kHolding;
    if (!wanted && state.compare_exchange_strong(expected, kReturned)) PostBack();
  }

  bool Keep() {
    int expected = kWanted;
    if (state.compare_exchange_strong(expected, kHolding)) return true;
    PostBack();
    return false;
  }

  // A unit taken (and recorded, when robust) that nobody keeps goes back.
  void PostBack() { sem_->Post(); }

  bool Settle() {
    busy = false;
    return state.exchange(kIdle) == kHolding;
  }

  bool busy = false;
  std::atomic<int> state{kIdle};
  // The registered wait in flight (the JS thread), for SetWanted(false) to
  // end it at once.
  std::shared_ptr<RegisteredWait> job;

 private:
  SemObject* sem_;  // the key: every handle of the semaphore in this process shares it
  std::shared_ptr<Waiters> waiters_;
};

using WaiterRef = std::shared_ptr<Waiter>;

namespace {

std::atomic<int> registeredWaits{0};  // waits registered and not yet finalised, in the whole process

// The waiter passed as `value`, or nullptr when it is not one.
WaiterRef* WaiterOf(const Napi::Value& value) {
  if (!Tagged(value.Env(), value, kWaiterTag)) return nullptr;
  return value.As<Napi::External<WaiterRef>>().Data();
}

// The end of a wait, on the JS thread: as native/waiter.cc's Deliver().
void Deliver(napi_env env, napi_value done, Waiter& waiter, Sem& sem, int err) {
  sem.inflight = false;
  if (!waiter.Settle() && err == 0) err = ECANCELED;
  napi_value undefined, arg, result = nullptr;
  bool called = napi_get_undefined(env, &undefined) == napi_ok;
  if (called && err == 0) {
    arg = undefined;
  } else if (called) {
    called = napi_create_int32(env, -err, &arg) == napi_ok;
  }
  called = called && napi_call_function(env, undefined, done, 1, &arg, &result) == napi_ok;
  if (!called) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
  }
  if (err != 0) return;
  // `done` returned true: an acquire got the unit (counted when it was
  // taken, SemObject::Took); else it goes back.
  bool kept = false;
  if (!called || napi_get_value_bool(env, result, &kept) != napi_ok) kept = false;
  if (!kept) waiter.PostBack();
}

// One registered wait. Owned by the thread-safe function's finaliser and,
// until it fires, by the registration; whichever comes last frees it.
class RegisteredWait {
 public:
  static int Start(napi_env env, napi_value done, const WaiterRef& waiter, const std::shared_ptr<Sem>& sem, double ms) {
    auto self = std::make_shared<RegisteredWait>(waiter, sem);
    auto* finalizing = new std::shared_ptr<RegisteredWait>(self);
    napi_value name;
    if (napi_create_string_utf8(env, "posix-semaphore:acquire", NAPI_AUTO_LENGTH, &name) != napi_ok ||
        napi_create_threadsafe_function(env, done, nullptr, name, 0, 1, finalizing, Finalize, nullptr, CallJs,
                                        &self->tsfn_) != napi_ok) {
      delete finalizing;
      return ECANCELED;
    }
    self->firing_ = new std::shared_ptr<RegisteredWait>(self);
    DWORD timeout = ms < 0 ? INFINITE : ms >= 0xFFFFFFF0 ? 0xFFFFFFF0 : static_cast<DWORD>(ms + 0.999);
    if (!RegisterWaitForSingleObject(&self->wait_, sem->get(), OnSignaled, self->firing_, timeout,
                                     WT_EXECUTEONLYONCE | WT_EXECUTEINWAITTHREAD)) {
      int err = ErrnoOf(GetLastError());
      delete self->firing_;
      self->firing_ = nullptr;
      self->wait_ = nullptr;
      napi_release_threadsafe_function(self->tsfn_, napi_tsfn_abort);  // Finalize frees it
      return err;
    }
    registeredWaits.fetch_add(1);
    waiter->job = self;
    return 0;
  }

  RegisteredWait(WaiterRef waiter, std::shared_ptr<Sem> sem) : waiter_(std::move(waiter)), sem_(std::move(sem)) {}

  // The JS thread, once nobody wants the wait (setWanted(false)): ends it
  // now, so that it takes nothing posted from here on. UnregisterWaitEx
  // returns once a callback that runs has completed (its unit, if it took
  // one, is posted back by Keep or SetWanted); if none ran, none will, and JS
  // is told ECANCELED through the thread-safe function, as the callback would.
  void Cancel() {
    if (wait_ == nullptr) return;
    UnregisterWaitEx(wait_, INVALID_HANDLE_VALUE);
    wait_ = nullptr;
    registeredWaits.fetch_sub(1);
    if (fired_.exchange(true)) return;  // the callback ran: it tells JS itself
    err_ = ECANCELED;
    std::shared_ptr<RegisteredWait>* message = firing_;
    firing_ = nullptr;
    napi_threadsafe_function tsfn = tsfn_;
    if (napi_call_threadsafe_function(tsfn, message, napi_tsfn_nonblocking) == napi_ok) {
      napi_release_threadsafe_function(tsfn, napi_tsfn_release);
    } else {
      delete message;  // closing: nobody to tell
    }
  }

 private:
  // The wait thread: the semaphore was taken (a unit is ours) or the time ran out.
  static VOID CALLBACK OnSignaled(PVOID context, BOOLEAN timedOut) {
    auto* firing = static_cast<std::shared_ptr<RegisteredWait>*>(context);
    RegisteredWait* self = firing->get();
    self->fired_.store(true);
    int err = timedOut ? ETIMEDOUT : 0;
    if (err == 0) self->waiter_->sem()->Took();  // take, then record (robust)
    if (err == 0 && !self->waiter_->Keep()) err = ECANCELED;
    self->err_ = err;
    napi_threadsafe_function tsfn = self->tsfn_;
    if (napi_call_threadsafe_function(tsfn, firing, napi_tsfn_nonblocking) == napi_ok) {
      napi_release_threadsafe_function(tsfn, napi_tsfn_release);
    } else {
      // Closing: the environment is going, and JS will never see this.
      if (err == 0 && self->waiter_->state.exchange(Waiter::kIdle) == Waiter::kHolding) self->waiter_->PostBack();
      delete firing;
    }
  }

  static void CallJs(napi_env env, napi_value done, void* /*context*/, void* data) {
    std::unique_ptr<std::shared_ptr<RegisteredWait>> message(static_cast<std::shared_ptr<RegisteredWait>*>(data));
    RegisteredWait& self = **message;
    if (self.waiter_->job.get() == &self) self.waiter_->job.reset();
    if (env == nullptr || done == nullptr) {
      if (self.err_ == 0 && self.waiter_->state.exchange(Waiter::kIdle) == Waiter::kHolding) self.waiter_->PostBack();
      return;
    }
    Deliver(env, done, *self.waiter_, *self.sem_, self.err_);
  }

  // The JS thread, once the function is released or closed (teardown):
  // unregisters the wait, waiting for a callback that runs now, so that none
  // runs after this. A wait that never fired frees the registration's share.
  static void Finalize(napi_env /*env*/, void* data, void* /*hint*/) {
    std::unique_ptr<std::shared_ptr<RegisteredWait>> finalizing(static_cast<std::shared_ptr<RegisteredWait>*>(data));
    RegisteredWait& self = **finalizing;
    if (self.waiter_->job.get() == &self) self.waiter_->job.reset();  // (teardown: CallJs never ran)
    if (self.wait_ != nullptr) {
      UnregisterWaitEx(self.wait_, INVALID_HANDLE_VALUE);
      registeredWaits.fetch_sub(1);
    }
    if (self.firing_ != nullptr && !self.fired_.load()) delete self.firing_;
  }

  WaiterRef waiter_;
  std::shared_ptr<Sem> sem_;  // keeps the HANDLE open while the wait is registered
  napi_threadsafe_function tsfn_ = nullptr;
  HANDLE wait_ = nullptr;
  std::shared_ptr<RegisteredWait>* firing_ = nullptr;
  std::atomic<bool> fired_{false};
  int err_ = 0;
};

#ifdef POSIX_SEMAPHORE_WIN32_POOL_WAITS
// The alternative measured against RegisterWaitForSingleObject (bench/win32.js
// builds it): each wait slice a Napi::AsyncWorker on the libuv pool, blocked
// in WaitForSingleObject for up to `ms`, as the POSIX path does. Without the
// POSIX path's pool budget: a bench build only.
class PoolWait : public Napi::AsyncWorker {
 public:
  PoolWait(const Napi::Function& done, WaiterRef waiter, std::shared_ptr<Sem> sem, double ms)
      : Napi::AsyncWorker(done, "posix-semaphore:acquire"), waiter_(std::move(waiter)), sem_(std::move(sem)), ms_(ms) {}
  void Execute() override {
    DWORD r = WaitForSingleObject(sem_->get(), ms_ >= 0xFFFFFFF0 ? 0xFFFFFFF0 : static_cast<DWORD>(ms_ + 0.999));
    err_ = r == WAIT_OBJECT_0 ? 0 : r == WAIT_TIMEOUT ? ETIMEDOUT : ErrnoOf(GetLastError());
    if (err_ == 0) waiter_->sem()->Took();
    if (err_ == 0 && !waiter_->Keep()) err_ = ECANCELED;
  }
  void OnOK() override { Deliver(Env(), Callback().Value(), *waiter_, *sem_, err_); }

 private:
  WaiterRef waiter_;
  std::shared_ptr<Sem> sem_;
  double ms_;
  int err_ = 0;
};
#endif

}  // namespace

Napi::Value WaitKey(const Napi::CallbackInfo& info) {
  Sem* sem = OpenSem(HandleOf(info));
  if (sem == nullptr) return Failure(info.Env(), kClosed);
  return Napi::Number::New(info.Env(), sem->key()->serial());
}

Napi::Value OpenWaiter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Sem* sem = OpenSem(HandleOf(info));
  if (sem == nullptr) return Failure(env, kClosed);
  Instance* instance = env.GetInstanceData<Instance>();
  if (!instance->waiters) instance->waiters = std::make_shared<Waiters>();
  if (instance->waiters->bySem.count(sem->key()) != 0) return Failure(env, EBUSY);
  auto* ref = new WaiterRef(std::make_shared<Waiter>(sem->key(), instance->waiters));
  auto waiter = Napi::External<WaiterRef>::New(env, ref, [](Napi::Env, WaiterRef* r) { delete r; });
  napi_type_tag_object(env, waiter, &kWaiterTag);
  return waiter;
}

Napi::Value StartWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  WaiterRef* waiterRef = WaiterOf(info[0]);
  if (waiterRef == nullptr || !Tagged(env, info[1], kHandleTag)) return Failure(env, EINVAL);
  const WaiterRef& waiter = *waiterRef;
  const std::shared_ptr<Sem>& sem = info[1].As<Handle>().Data()->get()->sem;
  if (!sem || sem->closed()) return Failure(env, kClosed);
  if (sem->key() != waiter->sem()) return Failure(env, EINVAL);
  if (waiter->busy) return Failure(env, EBUSY);
  double ms = info[2].As<Napi::Number>().DoubleValue();
  waiter->busy = true;
  waiter->state.store(Waiter::kWanted);
  sem->inflight = true;
#ifdef POSIX_SEMAPHORE_WIN32_POOL_WAITS
  (new PoolWait(info[3].As<Napi::Function>(), waiter, sem, ms))->Queue();
  int err = 0;
#else
  int err = RegisteredWait::Start(env, info[3], waiter, sem, ms);
#endif
  if (err != 0) {
    waiter->busy = false;
    waiter->state.store(Waiter::kIdle);
    sem->inflight = false;
    return Failure(env, err);
  }
  return env.Undefined();
}

Napi::Value SetWanted(const Napi::CallbackInfo& info) {
  WaiterRef* ref = WaiterOf(info[0]);
  if (ref == nullptr) return info.Env().Undefined();
  Waiter& waiter = **ref;
  bool wanted = info[1].As<Napi::Boolean>().Value();
  waiter.SetWanted(wanted);
  // Nobody wants it: the wait ends now, before JS hears of the rejection.
  if (!wanted && waiter.job && waiter.state.load() == Waiter::kUnwanted) waiter.job->Cancel();
  return info.Env().Undefined();
}

Napi::Value CloseWaiter(const Napi::CallbackInfo& info) {
  if (WaiterRef* ref = WaiterOf(info[0])) (*ref)->Close();
  return info.Env().Undefined();
}

// [waits in flight in the process, the addon's wait threads running, the
// most there may be]: a registered wait needs no thread of the addon's
// (Windows' thread pool waits for it), so [waits, 0, 0].
Napi::Value WaitThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array result = Napi::Array::New(env, 3);
  result.Set(0u, Napi::Number::New(env, registeredWaits.load()));
  result.Set(1u, Napi::Number::New(env, 0));
  result.Set(2u, Napi::Number::New(env, 0));
  return result;
}

// trySpin(handle, us): tries again and again for up to `us` microseconds,
// giving the CPU away (SwitchToThread) before each try.
Napi::Value TrySpin(const Napi::CallbackInfo& info) {
  Sem* sem = OpenSem(HandleOf(info));
  if (sem == nullptr) return Failure(info.Env(), kClosed);
  const double end = NowMs() + info[1].As<Napi::Number>().DoubleValue() / 1000.0;
  for (;;) {
    SwitchToThread();
    DWORD r = WaitForSingleObject(sem->get(), 0);
    if (r == WAIT_OBJECT_0) break;
    if (r != WAIT_TIMEOUT) return Failure(info.Env(), ErrnoOf(GetLastError()));
    if (NowMs() >= end) return Failure(info.Env(), EAGAIN);
  }
  sem->key()->Took();
  return info.Env().Undefined();
}

}  // namespace psem
