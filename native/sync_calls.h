// The hot calls, bound to one handle: raw Node-API callbacks with the
// handle's data as their own, so a call costs no argument unwrapping and
// success returns undefined (no number to make). Each returns an errno on
// failure, -1 once the handle is closed.
//   tryWait()  post()  wait(signalMask)  timedWait(ms, signalMask)
// wait() is for after tryWait() found the semaphore taken.
#ifndef POSIX_SEMAPHORE_SYNC_CALLS_H
#define POSIX_SEMAPHORE_SYNC_CALLS_H

#include <napi.h>

#include "env.h"

namespace psem {

// [tryWait, post, wait, timedWait], each bound to `handle`.
Napi::Value BindSyncCalls(Napi::Env env, Handle handle, Napi::Array result, uint32_t first);

// interruptedBy() -> the signal number that ended the last sync wait with EINTR
Napi::Value InterruptedBy(const Napi::CallbackInfo& info);

}  // namespace psem

#endif  // POSIX_SEMAPHORE_SYNC_CALLS_H
