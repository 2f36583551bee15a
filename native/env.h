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

struct Waiters;  // waiter.h

struct Instance {
  std::shared_ptr<Registry> registry = std::make_shared<Registry>();
  std::shared_ptr<Waiters> waiters;  // made at the first wait
  bool worker = false;               // a worker thread's environment, not the main thread's
  Napi::FunctionReference probe;     // a no-op, called to ask whether JS may still run
};

// What the handle (an External) owns; a wait in flight shares the Sem.
using HandleRef = std::shared_ptr<HandleData>;
using Handle = Napi::External<HandleRef>;

inline HandleData* HandleOf(const Napi::CallbackInfo& info) { return info[0].As<Handle>().Data()->get(); }

// The Sem of a handle, or nullptr once the handle is closed.
inline Sem* OpenSem(HandleData* data) {
  Sem* sem = data->sem.get();
  return (sem != nullptr && !sem->closed()) ? sem : nullptr;
}

}  // namespace psem

#endif  // POSIX_SEMAPHORE_ENV_H
