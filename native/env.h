// Per-environment state (main thread or one worker thread) and the handle
// type JS holds.
#ifndef POSIX_SEMAPHORE_ENV_H
#define POSIX_SEMAPHORE_ENV_H

#include <napi.h>

#include <memory>

#include "sem.h"

namespace psem {

constexpr int kClosed = -1;  // returned instead of an errno for a closed handle

struct Waiters;  // wait_slice.cc

struct Instance {
  std::shared_ptr<Registry> registry = std::make_shared<Registry>();
  std::shared_ptr<Waiters> waiters;  // made at the first wait
  bool worker = false;            // a worker thread's environment, not the main thread's
  Napi::FunctionReference probe;  // a no-op, called to ask whether JS may still run
};

// What the handle (an External) owns; a wait slice in flight shares the Sem.
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
