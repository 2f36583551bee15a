// The hot calls bound to one handle, as on POSIX (native/sync_calls.h):
//   tryWait()  post()  wait(signalMask)  timedWait(ms, signalMask)
// Each returns 0 or an errno inside, undefined or -errno to JS; a wait that
// Ctrl-C (SIGINT), Ctrl-Break (SIGBREAK) or closing the console (SIGHUP)
// ended, while JS listens to that signal, returns { signals: mask }.
#include "win32.h"

#include <math.h>

namespace psem {
namespace {

// A worker's sync wait blocks at most this long at a time, then asks whether
// its environment is being stopped (Worker.terminate()): as on POSIX.
constexpr double kSyncSliceMs = 50;
// Node's numbers for the signals a console sends (os.constants.signals on win32).
constexpr int kSigHup = 1;
constexpr int kSigInt = 2;
constexpr int kSigBreak = 21;

// Ctrl-C and friends. Windows runs console control handlers on a thread of
// its own, newest first; ours is added after libuv's (which turns them into
// process 'SIGINT' events), records the signal, wakes the blocked wait and
// returns FALSE, so that libuv's handler runs next and JS sees the signal
// once the wait has returned.
std::atomic<uint32_t> ctrlArmed{0};   // the mask of the wait blocked now (main thread only)
std::atomic<uint32_t> ctrlCaught{0};  // what came while it was armed
HANDLE ctrlEvent = nullptr;

BOOL WINAPI OnConsoleCtrl(DWORD type) {
  int sig = type == CTRL_C_EVENT       ? kSigInt
            : type == CTRL_BREAK_EVENT ? kSigBreak
            : type == CTRL_CLOSE_EVENT ? kSigHup
                                       : 0;
  if (sig != 0 && (ctrlArmed.load() & (1u << sig)) != 0) {
    ctrlCaught.fetch_or(1u << sig);
    SetEvent(ctrlEvent);
  }
  return FALSE;
}

bool ListenToConsole() {
  static const bool listening = [] {
    ctrlEvent = CreateEventW(nullptr, TRUE, FALSE, nullptr);
    return ctrlEvent != nullptr && SetConsoleCtrlHandler(OnConsoleCtrl, TRUE) != 0;
  }();
  return listening;
}

bool Stopping(napi_env env, const Instance& instance) {
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return true;
  napi_value undefined, result;
  napi_get_undefined(env, &undefined);
  bool stopping = napi_call_function(env, undefined, instance.probe.Value(), 0, nullptr, &result) != napi_ok;
  napi_close_handle_scope(env, scope);
  return stopping;
}

// Waits for `handle` (and `event`, when not null) until `deadline` (NowMs();
// < 0: forever). 0, ETIMEDOUT, EINTR (the event) or an errno.
int WaitUntil(HANDLE handle, HANDLE event, double deadline) {
  HANDLE objects[2] = {handle, event};
  for (;;) {
    DWORD ms = INFINITE;
    if (deadline >= 0) {
      double left = ceil(deadline - NowMs());
      ms = left <= 0 ? 0 : left >= 0xFFFFFFF0 ? 0xFFFFFFF0 : static_cast<DWORD>(left);
    }
    DWORD r = WaitForMultipleObjects(event != nullptr ? 2 : 1, objects, FALSE, ms);
    if (r == WAIT_OBJECT_0) return 0;
    if (r == WAIT_OBJECT_0 + 1) return EINTR;
    if (r == WAIT_FAILED) return ErrnoOf(GetLastError());
    if (r != WAIT_TIMEOUT) return EINVAL;
    if (deadline >= 0 && NowMs() >= deadline) return ETIMEDOUT;  // a wait may end a little early: go on
  }
}

// A sync wait for `ms` milliseconds, or until a unit comes when `ms` < 0.
// A worker's waits, and robust waits, block at most kSyncSliceMs at a time:
// between slices a worker asks whether it is being stopped, and a robust
// wait posts back the units of holders that died (a periodic check, as on
// Linux, rather than a wait on every holder's slot mutex: holders come and
// go while we wait, a wait takes at most 64 objects and the ledger has 128
// slots, and a mutex that the wait acquired would belong to this thread).
int SyncWait(napi_env env, const Instance& instance, Sem* sem, double ms, uint32_t mask, uint32_t* caught) {
  const double deadline = ms < 0 ? -1 : NowMs() + ms;
  SemObject& object = *sem->key();
  const bool robust = object.ledger() != nullptr;
  // robust: a holder that died gives its units back before we wait for them.
  if (robust && object.RecoverIfDue() > 0 && WaitForSingleObject(sem->get(), 0) == WAIT_OBJECT_0) return 0;
  const uint32_t console = instance.worker ? 0 : mask & ((1u << kSigInt) | (1u << kSigBreak) | (1u << kSigHup));
  const bool listening = console != 0 && ListenToConsole();
  if (listening) {
    ResetEvent(ctrlEvent);
    ctrlCaught.store(0);
    ctrlArmed.store(console);
  }
  HANDLE event = listening ? ctrlEvent : nullptr;
  int err;
  if (!instance.worker && !robust) {
    err = WaitUntil(sem->get(), event, deadline);
  } else {
    for (;;) {
      double slice = NowMs() + kSyncSliceMs;
      bool last = deadline >= 0 && deadline <= slice;
      err = WaitUntil(sem->get(), event, last ? deadline : slice);
      if (err != ETIMEDOUT || last) break;
      if (instance.worker && Stopping(env, instance)) {
        err = ECANCELED;
        break;
      }
      // robust: a holder that died while we waited gives its units back now.
      if (robust) object.Recover();
    }
  }
  if (listening) {
    ctrlArmed.store(0);
    *caught = ctrlCaught.exchange(0) & console;
    if (err == EINTR && *caught == 0) err = ETIMEDOUT;  // cannot happen; never report a signal that did not come
  }
  return err;
}

int BlockingWait(napi_env env, Sem* sem, double ms, uint32_t mask, uint32_t* signals) {
  const Instance& instance = *Napi::Env(env).GetInstanceData<Instance>();
  return SyncWait(env, instance, sem, ms, instance.worker ? 0 : mask, signals);
}

int CallTryWait(napi_env, Sem* sem, const napi_value*, uint32_t*) {
  DWORD r = WaitForSingleObject(sem->get(), 0);
  if (r == WAIT_OBJECT_0) return 0;
  if (r != WAIT_TIMEOUT) return ErrnoOf(GetLastError());
  // robust: the units of a holder that died come back, at most every few ms.
  if (sem->key()->RecoverIfDue() > 0 && WaitForSingleObject(sem->get(), 0) == WAIT_OBJECT_0) return 0;
  return EAGAIN;
}
int CallPost(napi_env, Sem* sem, const napi_value*, uint32_t*) { return sem->key()->Post(); }
int CallWait(napi_env env, Sem* sem, const napi_value* argv, uint32_t* signals) {
  uint32_t mask = 0;
  napi_get_value_uint32(env, argv[0], &mask);
  return BlockingWait(env, sem, -1, mask, signals);
}
int CallTimedWait(napi_env env, Sem* sem, const napi_value* argv, uint32_t* signals) {
  double ms = 0;
  uint32_t mask = 0;
  napi_get_value_double(env, argv[0], &ms);
  napi_get_value_uint32(env, argv[1], &mask);
  return BlockingWait(env, sem, ms < 0 ? 0 : ms, mask, signals);
}

// 0 or an errno; a wait that Ctrl-C ended: EINTR, and the mask in *signals.
using Call = int (*)(napi_env, Sem*, const napi_value*, uint32_t* signals);

// kTakes: a success took a unit, which the process counts (SemObject::Took;
// posts are taken off the count by SemObject::Post).
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
    if (kTakes) sem->key()->Took();
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
