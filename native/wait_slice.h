// The async path's native half: one slice of an asynchronous wait on the
// libuv threadpool, and the calls that steer it.
#ifndef POSIX_SEMAPHORE_WAIT_SLICE_H
#define POSIX_SEMAPHORE_WAIT_SLICE_H

#include <napi.h>

namespace psem {

// waitSlice(handle, ms, callback) -> 0 | -1 when closed
Napi::Value StartWaitSlice(const Napi::CallbackInfo& info);
// trySpin(handle, us) -> 0 | errno | -1 when closed: see TryWaitYielding().
Napi::Value TrySpin(const Napi::CallbackInfo& info);
// setWanted(handle, wanted): whether the slice in flight should keep what it takes.
Napi::Value SetWanted(const Napi::CallbackInfo& info);

}  // namespace psem

#endif  // POSIX_SEMAPHORE_WAIT_SLICE_H
