// Per-environment state (main thread or one worker thread) and the handle
// type JS holds.
#ifndef POSIX_SEMAPHORE_ENV_H
#define POSIX_SEMAPHORE_ENV_H

#include <napi.h>

#include <errno.h>

#include <memory>

#include "sem.h"

namespace psem {

// The errno of a call on a closed handle (returned as -EBADF, like every
// failure: see the convention at the top of addon.cc). No sem_* call made on
// an open handle fails with EBADF, so JS can tell the two apart.
constexpr int kClosed = EBADF;

// A failure as JS sees it: -errno.
inline Napi::Value Failure(Napi::Env env, int err) { return Napi::Number::New(env, -static_cast<double>(err)); }

// A wait that signals ended, for JS: { signals: their mask } (bit n: signal
// n); -EINTR alone if the environment refuses the object.
inline napi_value Interrupted(napi_env env, uint32_t signals) {
  napi_value result, mask;
  if (napi_create_object(env, &result) != napi_ok || napi_create_uint32(env, signals, &mask) != napi_ok ||
      napi_set_named_property(env, result, "signals", mask) != napi_ok) {
    napi_create_int32(env, -EINTR, &result);
  }
  return result;
}

// open()'s failure when the robust ledger, not the semaphore, failed: { ledgerErrno }.
inline Napi::Value LedgerFailure(Napi::Env env, int err) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("ledgerErrno", err);
  return result;
}

struct Waiters;  // waiter.h

struct Instance {
  std::shared_ptr<Registry> registry = std::make_shared<Registry>();
  std::shared_ptr<Waiters> waiters;  // made at the first wait
  bool worker = false;               // a worker thread's environment, not the main thread's
  Napi::FunctionReference probe;     // a no-op, called to ask whether JS may still run
};

// What the handle (an External) owns. (A wait in flight holds the account, not the Sem: waiter.h.)
using HandleRef = std::shared_ptr<HandleData>;
using Handle = Napi::External<HandleRef>;

// The type tags of the Externals JS holds: a value that is not ours (or
// another kind of ours) is never read as one.
constexpr napi_type_tag kHandleTag = {0x7073656d68616e64ULL, 0x6c65000000000001ULL};  // "psemhandle"
constexpr napi_type_tag kWaiterTag = {0x7073656d77616974ULL, 0x6572000000000001ULL};  // "psemwaiter"

// Whether `value` is an External tagged `tag`.
inline bool Tagged(napi_env env, napi_value value, const napi_type_tag& tag) {
  napi_valuetype type;
  bool ok = false;
  return napi_typeof(env, value, &type) == napi_ok && type == napi_external &&
         napi_check_object_type_tag(env, value, &tag, &ok) == napi_ok && ok;
}

// The handle passed as the first argument, or nullptr when it is not one
// (then the call fails as on a closed handle).
inline HandleData* HandleOf(const Napi::CallbackInfo& info) {
  if (!Tagged(info.Env(), info[0], kHandleTag)) return nullptr;
  return info[0].As<Handle>().Data()->get();
}

// The Sem of a handle, or nullptr once the handle is closed (or is none).
inline Sem* OpenSem(HandleData* data) {
  if (data == nullptr) return nullptr;
  Sem* sem = data->sem.get();
  return (sem != nullptr && !sem->closed()) ? sem : nullptr;
}

}  // namespace psem

#endif  // POSIX_SEMAPHORE_ENV_H
