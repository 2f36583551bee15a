#include "platform.h"

#include "wait_slice.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include <atomic>
#include <map>
#include <memory>

#include "env.h"
#include "waits.h"

namespace psem {

class Waiter;

// The waiters of one environment, by semaphore: at most one each.
struct Waiters {
  std::map<sem_t*, Waiter*> bySem;
};

namespace {

// ---------------------------------------------------------------------------
// The process's budget of pool threads.
//
// The libuv pool runs every fs, dns, zlib and crypto call of the process, and
// every environment (main thread and worker threads) shares it. Waits hold at
// most kPoolBudget of its threads at once, counted here for the whole
// process, so at least one is always free for that work; a wait beyond the
// budget runs on a thread of its own (WaitThread).

// The pool's size, read as libuv reads it when the pool starts
// (uv__threadpool_init): UV_THREADPOOL_SIZE through atoi(), 0 (and so an
// empty or non-numeric value) means 1, at most 1024; unset, 4. Read at the
// first wait, by when the pool has started or is about to.
unsigned PoolSize() {
  static const unsigned size = [] {
    unsigned n = 4;
    const char* value = getenv("UV_THREADPOOL_SIZE");
    if (value != nullptr) n = static_cast<unsigned>(atoi(value));
    if (n == 0) n = 1;
    if (n > 1024) n = 1024;
    return n;
  }();
  return size;
}

int PoolBudget() { return static_cast<int>(PoolSize()) - 1; }

std::atomic<int> poolWaits{0};    // pool threads held (or about to be) by waits of this process
std::atomic<int> threadWaits{0};  // waits running on threads of their own

bool TakePoolThread() {
  const int budget = PoolBudget();
  int held = poolWaits.load();
  do {
    if (held >= budget) return false;
  } while (!poolWaits.compare_exchange_weak(held, held + 1));
  return true;
}

// Milliseconds a wait on a thread of its own waits between looks at whether
// it is still wanted, or its environment is going (a worker's terminate()
// waits for that look). Measured: 100 such threads at 100 ms slices cost
// 2-3 % of a core idle here, at 250 ms about 1 %. A unit taken after nobody
// wants it is posted back at once, whatever the slice.
constexpr double kThreadSliceMs = 250;

}  // namespace

// ---------------------------------------------------------------------------
// The waiter: the waiting of one semaphore in one environment, shared by
// every handle of it there (JS queues their acquires in FIFO order in front
// of it). At most one wait of it is in flight: StartWait refuses a second.
// `busy` is touched on the environment's thread only; `state` also by the
// thread the wait runs on.
class Waiter {
 public:
  enum State : int {
    kIdle,      // no wait in flight
    kWanted,    // waiting, for an acquire() that wants the unit
    kUnwanted,  // waiting, but every acquire() gave up: post back what it takes
    kHolding,   // took a unit, on its way to JS
    kReturned,  // took a unit that JS then gave up: already posted back
  };

  Waiter(sem_t* sem, std::shared_ptr<Waiters> waiters) : sem_(sem), waiters_(std::move(waiters)) {
    waiters_->bySem[sem_] = this;
  }
  ~Waiter() { Close(); }
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  sem_t* sem() const { return sem_; }

  // Done with: a new waiter may open for the semaphore.
  void Close() {
    auto it = waiters_->bySem.find(sem_);
    if (it != waiters_->bySem.end() && it->second == this) waiters_->bySem.erase(it);
  }

  // JS: does some acquire() still want what the wait in flight takes? A unit
  // it holds already that nobody wants any more is posted back here and now,
  // before JS can react to the rejection that made it unwanted. (The mapping
  // is alive: only a wait in flight, which holds a Sem, is ever Holding.)
  void SetWanted(bool wanted) {
    int expected = wanted ? kUnwanted : kWanted;
    if (state.compare_exchange_strong(expected, wanted ? kWanted : kUnwanted)) return;
    expected = kHolding;
    if (!wanted && state.compare_exchange_strong(expected, kReturned)) PostBack();
  }

  // The waiting thread took a unit: keeps it for JS if still wanted, else
  // posts it back. Returns whether it kept it.
  bool Keep() {
    if (ledger) ledger->Took();  // robust: recorded on the waiting thread, right after the take
    int expected = kWanted;
    if (state.compare_exchange_strong(expected, kHolding)) return true;
    PostBack();
    return false;
  }

  // Gives back a unit this wait took (unrecording it first when robust).
  void PostBack() {
    if (ledger) ledger->Giving();
    sem_post(sem_);
  }

  // robust: a holder that died while we waited gives its units back now.
  void Recover() {
    if (ledger) ledger->Recover(sem_);
  }

  // The JS thread, as the wait ends: whether the unit it took is still held
  // (not Returned). Either way, no wait is in flight any more.
  bool Settle() {
    busy = false;
    return state.exchange(kIdle) == kHolding;
  }

  bool busy = false;  // a wait is in flight
  std::atomic<int> state{kIdle};
  // robust: the process's ledger of the semaphore, when the wait in flight
  // runs through a robust handle (set by StartWait, fixed while in flight).
  std::shared_ptr<Ledger> ledger;

 private:
  sem_t* sem_;  // the key: every handle of the semaphore in this process has this address
  std::shared_ptr<Waiters> waiters_;
};

namespace {

using WaiterRef = std::shared_ptr<Waiter>;

// The end of a wait, on the JS thread, whichever thread waited: tells JS
// `err` (0 or an errno) through `done` and accounts for the unit taken, if any. JS returns
// the handle of the acquire() the unit went to (its held count goes up), or
// anything else: nobody took it, so it is posted back. Raw Node-API calls: in
// an environment being torn down JS cannot run, and node-addon-api would
// turn that into a fatal error.
void Hand(napi_env env, napi_value result, bool called, Waiter& waiter, Ledger* ledger);

void Deliver(napi_env env, napi_value done, Waiter& waiter, Sem& sem, int err) {
  sem.inflight = false;
  // This wait's ledger: `done` may start the next wait, which sets its own.
  std::shared_ptr<Ledger> ledger = std::move(waiter.ledger);
  if (!waiter.Settle() && err == 0) err = ECANCELED;  // Returned: JS gave it up, SetWanted posted it back
  // done(undefined): a unit was taken; done(-errno) else (see addon.cc).
  napi_value argv[1];
  napi_value undefined, result = nullptr;
  bool called = napi_get_undefined(env, &undefined) == napi_ok &&
                (err == 0 ? (argv[0] = undefined, true) : napi_create_int32(env, -err, &argv[0]) == napi_ok) &&
                napi_call_function(env, undefined, done, 1, argv, &result) == napi_ok;
  if (!called) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
  }
  if (err == 0) Hand(env, result, called, waiter, ledger.get());
}

// A unit the wait took, after `done` returned `result`: to the acquire() whose
// handle JS returned, or back to the semaphore.
void Hand(napi_env env, napi_value result, bool called, Waiter& waiter, Ledger* ledger) {
  Sem* taker = nullptr;
  napi_valuetype type;
  void* data = nullptr;
  if (called && napi_typeof(env, result, &type) == napi_ok && type == napi_external &&
      napi_get_value_external(env, result, &data) == napi_ok) {
    taker = OpenSem(static_cast<HandleRef*>(data)->get());
  }
  if (taker != nullptr && taker->get() == waiter.sem()) {
    // robust: the record follows the acquire the unit went to.
    if (ledger != nullptr && !taker->ledger) ledger->Giving();
    if (ledger == nullptr && taker->ledger) taker->ledger->Took();
    ++taker->held;
  } else {
    if (ledger != nullptr) ledger->Giving();
    sem_post(waiter.sem());  // nobody took it
  }
}

// A wait on the libuv threadpool: one slice of sem_clockwait, then back to
// JS, which starts another while still wanted.
//
// Threads: the constructor and Queue() run on the JS thread (StartWait);
// Execute() on a pool thread; OnOK() (never OnError: Execute sets no error)
// and the destructor on the JS thread again.
class WaitSlice : public Napi::AsyncWorker {
 public:
  WaitSlice(const Napi::Function& done, WaiterRef waiter, std::shared_ptr<Sem> sem, double ms)
      : Napi::AsyncWorker(done, "posix-semaphore:acquire"), waiter_(std::move(waiter)), sem_(std::move(sem)),
        semaphore_(sem_->get()), ms_(ms) {}

  void Execute() override {
    err_ = TimedWait(semaphore_, ms_, nullptr);  // EINTR here is nobody's signal: retried inside
    if (err_ == 0 && !waiter_->Keep()) err_ = ECANCELED;
    if (err_ == ETIMEDOUT) waiter_->Recover();
    poolWaits.fetch_sub(1);  // this pool thread is free again
  }

  void OnOK() override { Deliver(Env(), Callback().Value(), *waiter_, *sem_, err_); }

 private:
  WaiterRef waiter_;
  std::shared_ptr<Sem> sem_;  // keeps the mapping
  sem_t* semaphore_;
  double ms_;
  int err_ = 0;
};

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
    threadWaits.fetch_add(1);
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
    threadWaits.fetch_sub(1);
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

WaiterRef* WaiterOf(const Napi::Value& value) { return value.As<Napi::External<WaiterRef>>().Data(); }

}  // namespace

Napi::Value WaitKey(const Napi::CallbackInfo& info) {
  Sem* sem = OpenSem(HandleOf(info));
  if (sem == nullptr) return Failure(info.Env(), kClosed);
  return Napi::Number::New(info.Env(), static_cast<double>(reinterpret_cast<uintptr_t>(sem->get())));
}

Napi::Value OpenWaiter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Sem* sem = OpenSem(HandleOf(info));
  if (sem == nullptr) return Failure(env, kClosed);
  Instance* instance = env.GetInstanceData<Instance>();
  if (!instance->waiters) instance->waiters = std::make_shared<Waiters>();
  if (instance->waiters->bySem.count(sem->get()) != 0) return Failure(env, EBUSY);
  auto* ref = new WaiterRef(std::make_shared<Waiter>(sem->get(), instance->waiters));
  return Napi::External<WaiterRef>::New(env, ref, [](Napi::Env, WaiterRef* r) { delete r; });
}

Napi::Value StartWait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const WaiterRef& waiter = *WaiterOf(info[0]);
  const std::shared_ptr<Sem>& sem = info[1].As<Handle>().Data()->get()->sem;
  if (!sem || sem->closed()) return Failure(env, kClosed);
  if (sem->get() != waiter->sem()) return Failure(env, EINVAL);
  if (waiter->busy) return Failure(env, EBUSY);  // one wait per waiter, whatever JS believes
  double ms = info[2].As<Napi::Number>().DoubleValue();
  Napi::Function done = info[3].As<Napi::Function>();
  waiter->busy = true;
  waiter->ledger = sem->ledger;
  waiter->state.store(Waiter::kWanted);
  sem->inflight = true;
  if (!TakePoolThread()) {
    if (WaitThread::Start(env, done, waiter, sem)) return env.Undefined();
    poolWaits.fetch_add(1);  // no thread could start: on the pool beyond the budget, rather than not at all
  }
  auto worker = std::make_unique<WaitSlice>(done, waiter, sem, ms);
  worker.release()->Queue();  // the AsyncWorker deletes itself after OnOK
  return env.Undefined();
}

Napi::Value SetWanted(const Napi::CallbackInfo& info) {
  (*WaiterOf(info[0]))->SetWanted(info[1].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

Napi::Value CloseWaiter(const Napi::CallbackInfo& info) {
  (*WaiterOf(info[0]))->Close();
  return info.Env().Undefined();
}

Napi::Value WaitThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array result = Napi::Array::New(env, 3);
  result.Set(0u, Napi::Number::New(env, poolWaits.load()));
  result.Set(1u, Napi::Number::New(env, PoolBudget()));
  result.Set(2u, Napi::Number::New(env, threadWaits.load()));
  return result;
}

Napi::Value TrySpin(const Napi::CallbackInfo& info) {
  Sem* sem = OpenSem(HandleOf(info));
  if (sem == nullptr) return Failure(info.Env(), kClosed);
  int err = TryWaitYielding(sem->get(), info[1].As<Napi::Number>().DoubleValue());
  if (err != 0) return Failure(info.Env(), err);
  sem->Record();
  ++sem->held;
  return info.Env().Undefined();
}

Napi::Value Recover(const Napi::CallbackInfo& info) {
  Sem* sem = OpenSem(HandleOf(info));
  if (sem == nullptr) return Failure(info.Env(), kClosed);
  if (!sem->ledger) return Napi::Number::New(info.Env(), 0);
  return Napi::Number::New(info.Env(), static_cast<double>(sem->ledger->Recover(sem->get())));
}

}  // namespace psem
