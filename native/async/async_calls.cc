#include "async_calls.h"

#include <errno.h>
#include <stdint.h>

#include <memory>
#include <utility>

#include "env.h"
#include "wait_thread.h"
#include "waiter.h"
#include "waits.h"

namespace psem {

namespace {

// The waiter passed as `value`, or nullptr when it is not one.
WaiterRef* WaiterOf(const Napi::Value& value) {
  if (!Tagged(value.Env(), value, kWaiterTag)) return nullptr;
  return value.As<Napi::External<WaiterRef>>().Data();
}

}  // namespace

Napi::Value WaitKey(const Napi::CallbackInfo& info) {
  Sem* sem = OpenSem(HandleOf(info));
  if (sem == nullptr) return Failure(info.Env(), kClosed);
  return Napi::Number::New(info.Env(), static_cast<double>(sem->account().serial()));
}

Napi::Value OpenWaiter(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Sem* sem = OpenSem(HandleOf(info));
  if (sem == nullptr) return Failure(env, kClosed);
  Instance* instance = env.GetInstanceData<Instance>();
  if (!instance->waiters) instance->waiters = std::make_shared<Waiters>();
  if (instance->waiters->bySem.count(sem->get()) != 0) return Failure(env, EBUSY);
  auto* ref = new WaiterRef(std::make_shared<Waiter>(sem->get(), instance->waiters));
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
  if (sem->get() != waiter->sem()) return Failure(env, EINVAL);
  if (waiter->InFlight()) return Failure(env, EBUSY);  // one wait per waiter, whatever JS believes
  double ms = info[2].As<Napi::Number>().DoubleValue();
  Napi::Function done = info[3].As<Napi::Function>();
  waiter->account = Account::Share(sem->accountRef());
  waiter->state.store(Waiter::kWanted);
  int err = StartWaitThread(env, done, waiter, ms);
  if (err != 0) {
    waiter->Settle();
    Account::Detach(std::move(waiter->account));
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
  if (!wanted && waiter.job && waiter.state.load() == Waiter::kUnwanted) StopWait(*waiter.job);
  return info.Env().Undefined();
}

Napi::Value CloseWaiter(const Napi::CallbackInfo& info) {
  if (WaiterRef* ref = WaiterOf(info[0])) (*ref)->Close();
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
