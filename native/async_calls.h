// The calls of the async path, as JS makes them (src/async/shared-wait.ts
// holds the JS half and the protocol's rules): the waiter that the handles
// of one semaphore share in one environment (waiter.h), its one wait in
// flight (on a thread of the addon's: wait_thread.h), and acquire()'s yield loop.
//
// Each returns what the convention of addon.cc says: -errno on failure,
// -EBADF for a closed handle.
#ifndef POSIX_SEMAPHORE_ASYNC_CALLS_H
#define POSIX_SEMAPHORE_ASYNC_CALLS_H

#include <napi.h>

namespace psem {

// waitKey(handle) -> the semaphore's address in this process (shared by every
// handle of it: glibc maps a semaphore once per process) | -EBADF
Napi::Value WaitKey(const Napi::CallbackInfo& info);
// openWaiter(handle) -> waiter | -EBUSY (this environment has one for that semaphore) | -EBADF
Napi::Value OpenWaiter(const Napi::CallbackInfo& info);
// startWait(waiter, handle, ms, done) -> undefined | -EBUSY (a wait of this waiter is in flight) | -EINVAL | -EBADF
// | -EAGAIN (no thread could start) | -ECANCELED (environment torn down); then, once, done(undefined) when the
// wait took a unit, else done(-errno). It sleeps at most `ms` at a time (robust handles recover between).
Napi::Value StartWait(const Napi::CallbackInfo& info);
// setWanted(waiter, wanted): whether the wait in flight should keep what it takes; false ends it
// before returning (it takes nothing more).
Napi::Value SetWanted(const Napi::CallbackInfo& info);
// closeWaiter(waiter): done with; a new waiter may open for its semaphore.
Napi::Value CloseWaiter(const Napi::CallbackInfo& info);
// waitThreads() -> [waits in flight in the process, wait threads running, the most there may be]
Napi::Value WaitThreads(const Napi::CallbackInfo& info);
// trySpin(handle, us) -> undefined | -errno | -EBADF: see TryWaitYielding().
Napi::Value TrySpin(const Napi::CallbackInfo& info);

}  // namespace psem

#endif  // POSIX_SEMAPHORE_ASYNC_CALLS_H
