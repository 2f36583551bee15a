// Per-environment state (main thread or one worker thread) and the handle
// type JS holds.
#ifndef POSIX_SEMAPHORE_ENV_H
#define POSIX_SEMAPHORE_ENV_H

#include <napi.h>

#include <errno.h>

#include <memory>

#include "convention.h"
#include "sem.h"

namespace psem {

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
