// The async path's native half: the waiter that the handles of one
// semaphore share in one environment, its one wait in flight (a slice on the
// libuv threadpool while the process's budget of pool threads allows, else a
// thread of its own), and the calls that steer it. The JS half, and the
// protocol's rules, are in src/async/shared-wait.ts.
#ifndef POSIX_SEMAPHORE_WAIT_SLICE_H
#define POSIX_SEMAPHORE_WAIT_SLICE_H

#include <napi.h>

namespace psem {

// The waiters of one environment, by semaphore (defined in wait_slice.cc).
struct Waiters;

// Each returns what native/addon.cc's convention says: -errno on failure,
// -EBADF for a closed handle.
//
// waitKey(handle) -> the semaphore's address in this process (shared by every
// handle of it: glibc maps a semaphore once per process) | -EBADF
Napi::Value WaitKey(const Napi::CallbackInfo& info);
// openWaiter(handle) -> waiter | -EBUSY (this environment has one for that semaphore) | -EBADF
Napi::Value OpenWaiter(const Napi::CallbackInfo& info);
// startWait(waiter, handle, ms, done) -> undefined | -EBUSY (a wait of this waiter is in flight) | -EINVAL | -EBADF;
// done(undefined) once a unit is taken, else done(-errno)
Napi::Value StartWait(const Napi::CallbackInfo& info);
// setWanted(waiter, wanted): whether the wait in flight should keep what it takes.
Napi::Value SetWanted(const Napi::CallbackInfo& info);
// closeWaiter(waiter): done with; a new waiter may open for its semaphore.
Napi::Value CloseWaiter(const Napi::CallbackInfo& info);
// waitThreads() -> [pool threads held by waits of the process, the most they may hold, waits on threads of their own]
Napi::Value WaitThreads(const Napi::CallbackInfo& info);
// trySpin(handle, us) -> undefined | -errno | -EBADF: see TryWaitYielding().
Napi::Value TrySpin(const Napi::CallbackInfo& info);
// recover(handle) -> units of dead holders posted back (robust handles; else 0) | -EBADF
Napi::Value Recover(const Napi::CallbackInfo& info);

}  // namespace psem

#endif  // POSIX_SEMAPHORE_WAIT_SLICE_H
