// The hot calls, bound to one handle: raw Node-API callbacks with the
// handle's data as their own, so a call costs no argument unwrapping and
// success returns undefined (no number to make). Each returns -errno on
// failure, -EBADF once the handle is closed; a wait that signals ended
// returns { signals: the mask of those signals } (bit n: signal n).
//   tryWait()  post()  wait(signalMask)  timedWait(ms, signalMask)
// wait() is for after tryWait() found the semaphore taken.
#ifndef POSIX_SEMAPHORE_SYNC_CALLS_H
#define POSIX_SEMAPHORE_SYNC_CALLS_H

#include <napi.h>

#include "env.h"

namespace psem {

// Sets result.tryWait, .post, .wait and .timedWait, each bound to `handle`;
// every take and post goes through the process's account of the semaphore
// (account.h). false when the environment refuses (being torn down).
bool BindSyncCalls(napi_env env, Handle handle, napi_value result);

}  // namespace psem

#endif  // POSIX_SEMAPHORE_SYNC_CALLS_H
