#include "async_calls.h"

#include <errno.h>
#include <stdint.h>

#include <memory>

#include "env.h"
#include "wait_thread.h"
#include "waiter.h"
#include "waits.h"

namespace psem {

namespace {

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
  waiter->account = sem->accountRef();
  waiter->state.store(Waiter::kWanted);
  sem->inflight = true;
  int err = StartWaitThread(env, done, waiter, sem, ms);
  if (err != 0) {
    sem->inflight = false;
    waiter->Settle();
    return Failure(env, err);
  }
  return env.Undefined();
}

Napi::Value SetWanted(const Napi::CallbackInfo& info) {
  Waiter& waiter = **WaiterOf(info[0]);
  bool wanted = info[1].As<Napi::Boolean>().Value();
  waiter.SetWanted(wanted);
  // Nobody wants it: the wait ends now, before JS hears of the rejection.
  if (!wanted && waiter.job && waiter.state.load() == Waiter::kUnwanted) StopWait(*waiter.job);
  return info.Env().Undefined();
}

Napi::Value CloseWaiter(const Napi::CallbackInfo& info) {
  (*WaiterOf(info[0]))->Close();
  return info.Env().Undefined();
}

Napi::Value WaitThreads(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  WaitCounts counts = CountWaits();
  Napi::Array result = Napi::Array::New(env, 3);
  result.Set(0u, Napi::Number::New(env, counts.waits));
  result.Set(1u, Napi::Number::New(env, counts.threads));
  result.Set(2u, Napi::Number::New(env, counts.cap));
  return result;
}

Napi::Value TrySpin(const Napi::CallbackInfo& info) {
  Sem* sem = OpenSem(HandleOf(info));
  if (sem == nullptr) return Failure(info.Env(), kClosed);
  if (int err = sem->account().Usable()) return Failure(info.Env(), err);
  int err = TryWaitYielding(sem->get(), info[1].As<Napi::Number>().DoubleValue());
  if (err != 0) return Failure(info.Env(), err);
  sem->account().Took();
  return info.Env().Undefined();
}

}  // namespace psem
