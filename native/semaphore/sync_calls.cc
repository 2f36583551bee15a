#include "sync_calls.h"

#include <errno.h>

#include "signal_window.h"
#include "waits.h"

namespace psem {
namespace {

// Sync waits through a robust account are sliced the same way, and between
// two slices post back the units of holders that died.
//
// Sync waits and Worker.terminate(). A blocked sem_wait cannot be
// interrupted from another thread, and a worker blocked in one would keep
// terminate(), and the process's exit after it, waiting forever. So in a
// worker, a sync wait blocks for at most kSyncSliceMs at a time (a post still
// wakes it at once) and between slices asks whether its environment is
// being stopped: Node-API then refuses any call into JS, even of a no-op.
// The main thread waits in one piece: nothing stops it while it blocks.
constexpr double kSyncSliceMs = 50;
constexpr double kListeningPieceMs = 3600 * 1000;  // an hour: only its timing out costs anything

bool Stopping(napi_env env, const Instance& instance) {
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return true;
  napi_value undefined, result;
  napi_get_undefined(env, &undefined);
  bool stopping = napi_call_function(env, undefined, instance.probe.Value(), 0, nullptr, &result) != napi_ok;
  napi_close_handle_scope(env, scope);
  return stopping;
}

// A sync wait for `ms` milliseconds, or until a unit comes when `ms` < 0.
// Returns 0, ETIMEDOUT, EINTR (a signal of `window`), ECANCELED (the
// worker is being stopped) or another errno.
int SyncWait(napi_env env, const Instance& instance, Sem* handle, double ms, const SignalWindow& window) {
  sem_t* sem = handle->get();
  Account& account = handle->account();
  const bool robust = account.ledger() != nullptr;
  // robust: a holder that died gives its units back before we wait for them.
  if (robust && account.RecoverIfDue() > 0 && sem_trywait(sem) == 0) return 0;
  if (instance.worker || robust) {
    const bool forever = ms < 0;
    const struct timespec deadline = DeadlineIn(forever ? 0 : ms);
    for (;;) {
      struct timespec slice = DeadlineIn(kSyncSliceMs);
      bool last = !forever && Reached(slice, deadline);
      int err = WaitUntil(sem, last ? deadline : slice, &window);
      if (err != ETIMEDOUT || last) return err;
      if (instance.worker && Stopping(env, instance)) return ECANCELED;
      // robust: a holder that died while we waited gives its units back now.
      if (robust) account.Recover();
    }
  }
  if (ms >= 0) return TimedWait(sem, ms, &window);
  // A signal caught since the handlers were swapped interrupted no futex wait.
  if (window.Caught()) return EINTR;
  if (window.Listening()) {
    // The kernel restarts an untimed futex wait after a handler with
    // SA_RESTART (libuv's SIGCHLD, when a Ctrl-C also ends a child process),
    // and a listened signal handled on the same way back to user space would
    // go unnoticed. A timed futex wait is never restarted: wait in long
    // timed pieces.
    for (;;) {
      int err = WaitUntil(sem, DeadlineIn(kListeningPieceMs), &window);
      if (err != ETIMEDOUT) return err;
    }
  }
  while (sem_wait(sem) != 0) {
    int err = errno;
    if (err != EINTR || window.Caught()) return err;
  }
  return 0;
}

// A blocking wait: only the main thread listens to signals (a worker's mask
// is ignored: signals never end its waits). An interrupted wait returns
// EINTR, and the mask of the signals that ended it in *signals.
int BlockingWait(napi_env env, Sem* sem, double ms, uint32_t mask, uint32_t* signals) {
  const Instance& instance = *Napi::Env(env).GetInstanceData<Instance>();
  SignalWindow window(instance.worker ? 0 : mask);
  int err = SyncWait(env, instance, sem, ms, window);
  *signals = window.Close();
  return err;
}

// A take: refused once a robust ledger broke (nothing taken), counted in
// the process's account once taken.
int CallTryWait(napi_env, Sem* sem, const napi_value*, uint32_t*) {
  Account& account = sem->account();
  if (int err = account.Usable()) return err;
  if (sem_trywait(account.sem()) == 0) return 0;
  int err = errno;
  // robust: the units of a holder that died come back, at most every few ms.
  if (err == EAGAIN && account.RecoverIfDue() > 0 && sem_trywait(account.sem()) == 0) return 0;
  return err;
}
int CallPost(napi_env, Sem* sem, const napi_value*, uint32_t*) { return sem->account().Post(); }
int CallWait(napi_env env, Sem* sem, const napi_value* argv, uint32_t* signals) {
  if (int err = sem->account().Usable()) return err;
  uint32_t mask = 0;
  napi_get_value_uint32(env, argv[0], &mask);
  return BlockingWait(env, sem, -1, mask, signals);
}
int CallTimedWait(napi_env env, Sem* sem, const napi_value* argv, uint32_t* signals) {
  if (int err = sem->account().Usable()) return err;
  double ms = 0;
  uint32_t mask = 0;
  napi_get_value_double(env, argv[0], &ms);
  napi_get_value_uint32(env, argv[1], &mask);
  return BlockingWait(env, sem, ms, mask, signals);
}

// 0 or an errno; a wait that signals ended: EINTR, and their mask in *signals.
using Call = int (*)(napi_env, Sem*, const napi_value*, uint32_t* signals);

// BoundCall turns a call's result into JS's convention (addon.cc): undefined,
// -errno, or for a wait that signals ended { signals } (cold: an object).
// kTakes: a success took a unit, which the account counts.
template <Call kCall, bool kTakes>
napi_value BoundCall(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  void* data = nullptr;
  napi_get_cb_info(env, info, &argc, argv, nullptr, &data);
  Sem* sem = OpenSem(static_cast<HandleRef*>(data)->get());
  uint32_t signals = 0;
  int err = sem == nullptr ? kClosed : kCall(env, sem, argv, &signals);
  if (err == 0) {
    if (kTakes) sem->account().Took();
    return nullptr;  // undefined
  }
  if (err == EINTR && signals != 0) return Interrupted(env, signals);
  napi_value result;
  napi_create_int32(env, -err, &result);
  return result;
}

}  // namespace

bool BindSyncCalls(napi_env env, Handle handle, napi_value result) {
  const BoundCallSpec calls[] = {
      {"tryWait", BoundCall<CallTryWait, true>},
      {"post", BoundCall<CallPost, false>},
      {"wait", BoundCall<CallWait, true>},
      {"timedWait", BoundCall<CallTimedWait, true>},
  };
  return BindCalls(env, handle, handle.Data(), result, calls);
}

}  // namespace psem
