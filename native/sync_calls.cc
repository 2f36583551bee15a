#include "sync_calls.h"

#include <errno.h>

#include "signal_window.h"
#include "waits.h"

namespace psem {
namespace {

// Sync waits and Worker.terminate(). A blocked sem_wait cannot be
// interrupted from another thread, and a worker blocked in one would keep
// terminate(), and the process's exit after it, waiting forever. So in a
// worker, a sync wait blocks for at most kSyncSliceMs at a time (a post still
// wakes it at once) and between slices asks whether its environment is
// being stopped: Node-API then refuses any call into JS, even of a no-op.
// The main thread waits in one piece: nothing stops it while it blocks.
constexpr double kSyncSliceMs = 50;

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
int SyncWait(napi_env env, sem_t* sem, double ms, const SignalWindow& window) {
  const Instance& instance = *Napi::Env(env).GetInstanceData<Instance>();
#ifdef HAVE_SEM_TIMEDWAIT
  if (instance.worker) {
    const bool forever = ms < 0;
    const struct timespec deadline = DeadlineIn(forever ? 0 : ms);
    for (;;) {
      struct timespec slice = DeadlineIn(kSyncSliceMs);
      bool last = !forever && Reached(slice, deadline);
      int err = WaitUntil(sem, last ? deadline : slice, &window);
      if (err != ETIMEDOUT || last) return err;
      if (Stopping(env, instance)) return ECANCELED;
    }
  }
#endif
  if (ms >= 0) return TimedWait(sem, ms, &window);
  // A signal caught since the handlers were swapped interrupted no futex wait.
  if (window.Caught()) return EINTR;
  while (sem_wait(sem) != 0) {
    int err = errno;
    if (err != EINTR || window.Caught()) return err;
  }
  return 0;
}

int CallTryWait(napi_env, sem_t* sem, const napi_value*) { return sem_trywait(sem) == 0 ? 0 : errno; }
int CallPost(napi_env, sem_t* sem, const napi_value*) { return sem_post(sem) == 0 ? 0 : errno; }
int CallWait(napi_env env, sem_t* sem, const napi_value* argv) {
  uint32_t mask = 0;
  napi_get_value_uint32(env, argv[0], &mask);
  SignalWindow window(mask);
  return SyncWait(env, sem, -1, window);
}
int CallTimedWait(napi_env env, sem_t* sem, const napi_value* argv) {
  double ms = 0;
  uint32_t mask = 0;
  napi_get_value_double(env, argv[0], &ms);
  napi_get_value_uint32(env, argv[1], &mask);
  SignalWindow window(mask);
  return SyncWait(env, sem, ms, window);
}

template <int (*Call)(napi_env, sem_t*, const napi_value*), int kHeldDelta>
napi_value BoundCall(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  void* data = nullptr;
  napi_get_cb_info(env, info, &argc, argv, nullptr, &data);
  Sem* sem = OpenSem(static_cast<HandleRef*>(data)->get());
  int err = sem == nullptr ? kClosed : Call(env, sem->get(), argv);
  if (err == 0) {
    sem->held += kHeldDelta;
    return nullptr;  // undefined
  }
  napi_value result;
  napi_create_int32(env, err, &result);
  return result;
}

// A function bound to the handle: its data is the handle's own HandleRef,
// and it keeps the handle (the External that owns that HandleRef) alive as a
// property, so one finaliser per handle frees everything.
template <int (*Call)(napi_env, sem_t*, const napi_value*), int kHeldDelta>
Napi::Value Bind(Napi::Env env, Handle handle, const char* name) {
  napi_value fn;
  NAPI_THROW_IF_FAILED(env, napi_create_function(env, name, NAPI_AUTO_LENGTH, BoundCall<Call, kHeldDelta>, handle.Data(), &fn), Napi::Value());
  Napi::Function function(env, fn);
  function.Set("handle", handle);
  return function;
}

}  // namespace

Napi::Value BindSyncCalls(Napi::Env env, Handle handle, Napi::Array result, uint32_t first) {
  result.Set(first, Bind<CallTryWait, 1>(env, handle, "tryWait"));
  result.Set(first + 1, Bind<CallPost, -1>(env, handle, "post"));
  result.Set(first + 2, Bind<CallWait, 1>(env, handle, "wait"));
  result.Set(first + 3, Bind<CallTimedWait, 1>(env, handle, "timedWait"));
  return result;
}

Napi::Value InterruptedBy(const Napi::CallbackInfo& info) {
  uint32_t last = LastInterruption();
  for (int sig = 1; sig < 32; sig++) {
    if (last & (1u << sig)) return Napi::Number::New(info.Env(), sig);
  }
  return Napi::Number::New(info.Env(), 0);
}

}  // namespace psem
