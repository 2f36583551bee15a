// Named Win32 semaphores for Node.js, with the exports of native/addon.cc:
// open/close/unlink/getValue, the robust calls (the ledger: ledger.cc),
// exit, module init.
#include "win32.h"

#include <string>
#include <vector>

// libuv, exported by node.exe (no uv.h needed: node_api.h declares struct uv_loop_s).
extern "C" struct uv_loop_s* uv_default_loop(void);

namespace psem {
namespace {

// NtQuerySemaphore (ntdll), the one call that tells a semaphore's count.
struct SemaphoreBasicInformation {
  ULONG current;
  ULONG maximum;
};
using NtQuerySemaphoreFn = LONG(NTAPI*)(HANDLE, int, PVOID, ULONG, PULONG);
NtQuerySemaphoreFn QuerySemaphore() {
  static const NtQuerySemaphoreFn fn = [] {
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    return ntdll == nullptr ? nullptr
                            : reinterpret_cast<NtQuerySemaphoreFn>(
                                  reinterpret_cast<void*>(GetProcAddress(ntdll, "NtQuerySemaphore")));
  }();
  return fn;
}

// The Windows name of a semaphore name ("/NAME", normalised by JS): NAME in
// the session's Local\ namespace, or as written when NAME starts with
// Global\ or Local\ (src/validate/name.ts refuses any other backslash).
bool WindowsName(const std::string& name, std::wstring* out) {
  std::string bare = name.empty() || name[0] != '/' ? name : name.substr(1);
  if (bare.rfind("Global\\", 0) != 0 && bare.rfind("Local\\", 0) != 0) bare = "Local\\" + bare;
  int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, bare.data(), static_cast<int>(bare.size()), nullptr, 0);
  if (n <= 0) return false;
  out->assign(static_cast<size_t>(n), L'\0');
  MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, bare.data(), static_cast<int>(bare.size()), &(*out)[0], n);
  return true;
}

void CloseHandleData(Handle handle) {
  HandleData* data = handle.Data()->get();
  if (data->sem) {
    data->sem->MarkClosed();
    data->sem.reset();
  }
}

// open(name, oflag, mode, value, flags)
//   -> { handle, tryWait, post, wait, timedWait, ownerUid: -1, ownerGid: -1 } | -errno
// mode is ignored: the object gets the default security of the creating
// process (docs/platforms.md). robust: the ledger opened (a slot claimed,
// dead holders recovered), or { ledgerErrno }; a semaphore this call
// created goes with its handle then.
Napi::Value Open(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  int oflag = info[1].As<Napi::Number>().Int32Value();
  unsigned value = info[3].As<Napi::Number>().Uint32Value();
  int flags = info[4].As<Napi::Number>().Int32Value();
  auto* instance = Napi::Env(env).GetInstanceData<Instance>();
  if (instance == nullptr) return Failure(env, ECANCELED);
  std::wstring wname;
  if (!WindowsName(name, &wname)) return Failure(env, EINVAL);
  std::shared_ptr<SemObject> object;
  bool created = false;
  int err = OpenObject(wname, oflag, value, &object, &created);
  if (err != 0) return Failure(env, err);
  if (flags & kRobust) {
    err = object->MakeRobust(created);
    if (err != 0) return LedgerFailure(env, err);
  }
  if (flags & (kReleaseOnExit | kRobust)) object->Count((flags & kReleaseOnExit) != 0);
  if (flags & kReleaseOnExit) ReleaseAtExit();

  auto data = std::make_shared<HandleData>();
  data->sem = std::make_shared<Sem>(std::move(object), std::move(name), flags, instance->registry);
  auto ref = std::make_unique<HandleRef>(std::move(data));
  napi_value external, result, unknown;
  auto finalize = [](napi_env, void* r, void*) { delete static_cast<HandleRef*>(r); };
  if (napi_create_external(env, ref.get(), finalize, nullptr, &external) != napi_ok) return Failure(env, ECANCELED);
  ref.release();
  Handle handle(env, external);
  if (napi_type_tag_object(env, external, &kHandleTag) != napi_ok) {
    CloseHandleData(handle);
    return Failure(env, ECANCELED);
  }
  if (napi_create_object(env, &result) != napi_ok ||
      napi_set_named_property(env, result, "handle", external) != napi_ok || !BindSyncCalls(env, handle, result) ||
      napi_create_double(env, -1, &unknown) != napi_ok ||
      napi_set_named_property(env, result, "ownerUid", unknown) != napi_ok ||
      napi_set_named_property(env, result, "ownerGid", unknown) != napi_ok) {
    CloseHandleData(handle);
    return Failure(env, ECANCELED);
  }
  return Napi::Value(env, result);
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  if (Tagged(info.Env(), info[0], kHandleTag)) CloseHandleData(info[0].As<Handle>());
  return info.Env().Undefined();
}

// unlink(name) -> undefined | -ENOENT. Windows has no unlink: a name lives
// while some process has it open and goes with the last handle. So this
// removes nothing; it succeeds when the name exists or this process has had
// it open (its last close removed it, as unlink would have), and fails
// ENOENT otherwise.
Napi::Value Unlink(const Napi::CallbackInfo& info) {
  std::wstring wname;
  if (!WindowsName(info[0].As<Napi::String>().Utf8Value(), &wname)) return Failure(info.Env(), EINVAL);
  if (OpenedBefore(wname)) return info.Env().Undefined();
  HANDLE handle = OpenSemaphoreW(SYNCHRONIZE, FALSE, wname.c_str());
  if (handle == nullptr) {
    DWORD error = GetLastError();
    if (error != ERROR_ACCESS_DENIED) return Failure(info.Env(), ErrnoOf(error));  // denied: it exists
    return info.Env().Undefined();
  }
  CloseHandle(handle);
  return info.Env().Undefined();
}

// getValue(handle) -> value >= 0 | -errno (-ENOSYS: no NtQuerySemaphore)
Napi::Value GetValue(const Napi::CallbackInfo& info) {
  Sem* sem = OpenSem(HandleOf(info));
  if (sem == nullptr) return Failure(info.Env(), kClosed);
  NtQuerySemaphoreFn query = QuerySemaphore();
  if (query == nullptr) return Failure(info.Env(), ENOSYS);
  SemaphoreBasicInformation basic = {0, 0};
  ULONG length = 0;
  LONG status = query(sem->get(), 0 /* SemaphoreBasicInformation */, &basic, sizeof basic, &length);
  if (status < 0) return Failure(info.Env(), EINVAL);
  return Napi::Number::New(info.Env(), static_cast<double>(basic.current));
}

// The holders of a ledger as JS sees them: [[pid, units, alive], ...].
Napi::Array HolderList(Napi::Env env, const std::vector<Ledger::Holder>& holders, bool skipSelf) {
  Napi::Array list = Napi::Array::New(env);
  uint32_t i = 0;
  const long self = static_cast<long>(GetCurrentProcessId());
  for (const Ledger::Holder& holder : holders) {
    if (skipSelf && holder.pid == self && holder.units == 0) continue;
    Napi::Array entry = Napi::Array::New(env, 3);
    entry.Set(0u, Napi::Number::New(env, static_cast<double>(holder.pid)));
    entry.Set(1u, Napi::Number::New(env, static_cast<double>(holder.units)));
    entry.Set(2u, Napi::Boolean::New(env, holder.alive));
    list.Set(i++, entry);
  }
  return list;
}

// ledgerHolders(name) -> [[pid, units, alive], ...] | -ENOENT (no ledger) |
// -EINVAL (not a ledger), recovering nothing.
Napi::Value LedgerHolders(const Napi::CallbackInfo& info) {
  std::wstring wname;
  if (!WindowsName(info[0].As<Napi::String>().Utf8Value(), &wname)) return Failure(info.Env(), EINVAL);
  std::vector<Ledger::Holder> holders;
  int err = Ledger::Peek(wname, &holders);
  if (err != 0) return Failure(info.Env(), err);
  return HolderList(info.Env(), holders, false);
}

// holders(handle) -> [[pid, units, alive], ...], this process's own slot
// left out when it holds nothing | -ENOENT when no handle of the semaphore
// in this process is robust | -EBADF.
Napi::Value Holders(const Napi::CallbackInfo& info) {
  Sem* sem = OpenSem(HandleOf(info));
  if (sem == nullptr) return Failure(info.Env(), kClosed);
  Ledger* ledger = sem->key()->ledger();
  if (ledger == nullptr) return Failure(info.Env(), ENOENT);
  return HolderList(info.Env(), ledger->Holders(), true);
}

// recover(handle) -> units of dead holders posted back | -errno | -EBADF.
// Through the process's ledger when a robust handle opened it; else through
// the ledger opened for this call only, without a slot: -ENOENT when there
// is none, -EINVAL when it is not a ledger.
Napi::Value Recover(const Napi::CallbackInfo& info) {
  Sem* sem = OpenSem(HandleOf(info));
  if (sem == nullptr) return Failure(info.Env(), kClosed);
  SemObject& object = *sem->key();
  if (object.ledger() != nullptr) return Napi::Number::New(info.Env(), static_cast<double>(object.Recover()));
  int err = 0;
  std::unique_ptr<Ledger> ledger = Ledger::Open(object.name(), object.handle(), false, false, &err);
  if (!ledger) return Failure(info.Env(), err);
  return Napi::Number::New(info.Env(), static_cast<double>(ledger->Recover(object.handle())));
}

// held(handle) -> the units this process holds of the handle's semaphore, as
// counted (0 while nothing counts) | -EBADF
Napi::Value Held(const Napi::CallbackInfo& info) {
  Sem* sem = OpenSem(HandleOf(info));
  if (sem == nullptr) return Failure(info.Env(), kClosed);
  return Napi::Number::New(info.Env(), static_cast<double>(sem->key()->Held()));
}

Napi::Value ReleaseHeld(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(ReleaseAllHeld()));
}

void OnEnvCleanup(void* arg) {
  auto* registry = static_cast<Registry*>(arg);
  std::vector<Sem*> open(registry->open.begin(), registry->open.end());
  for (Sem* sem : open) {
    if (!sem->closed()) sem->Finish();
  }
}

// liveHandles() -> how many handles exist natively in the process: JS
// handle objects not yet finalised, closed or not. For the memory tests: it
// must come back down once the JS objects are collected.
Napi::Value LiveHandles(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(HandleData::live.load(std::memory_order_relaxed)));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto instance = std::make_unique<Instance>();
  struct uv_loop_s* loop = nullptr;
  instance->worker = napi_get_uv_event_loop(env, &loop) == napi_ok && loop != uv_default_loop();
  auto probe = [](const Napi::CallbackInfo&) {};
  instance->probe = Napi::Persistent(Napi::Function::New(env, probe, "probe"));
  Registry* registry = instance->registry.get();
  auto free = [](napi_env, void* data, void*) { delete static_cast<Instance*>(data); };
  if (napi_set_instance_data(env, instance.get(), free, nullptr) != napi_ok) return exports;
  instance.release();
  napi_add_env_cleanup_hook(env, OnEnvCleanup, registry);

  exports.Set("open", Napi::Function::New(env, Open, "open"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("unlink", Napi::Function::New(env, Unlink, "unlink"));
  exports.Set("getValue", Napi::Function::New(env, GetValue, "getValue"));
  exports.Set("trySpin", Napi::Function::New(env, TrySpin, "trySpin"));
  exports.Set("waitKey", Napi::Function::New(env, WaitKey, "waitKey"));
  exports.Set("openWaiter", Napi::Function::New(env, OpenWaiter, "openWaiter"));
  exports.Set("startWait", Napi::Function::New(env, StartWait, "startWait"));
  exports.Set("setWanted", Napi::Function::New(env, SetWanted, "setWanted"));
  exports.Set("recover", Napi::Function::New(env, Recover, "recover"));
  exports.Set("holders", Napi::Function::New(env, Holders, "holders"));
  exports.Set("ledgerHolders", Napi::Function::New(env, LedgerHolders, "ledgerHolders"));
  exports.Set("closeWaiter", Napi::Function::New(env, CloseWaiter, "closeWaiter"));
  exports.Set("waitThreads", Napi::Function::New(env, WaitThreads, "waitThreads"));
  exports.Set("liveHandles", Napi::Function::New(env, LiveHandles, "liveHandles"));
  exports.Set("held", Napi::Function::New(env, Held, "held"));
  exports.Set("releaseHeld", Napi::Function::New(env, ReleaseHeld, "releaseHeld"));

  Napi::Object constants = Napi::Object::New(env);
  constants.Set("O_CREAT", kCreate);
  constants.Set("O_EXCL", kExclusive);
  constants.Set("SEM_VALUE_MAX", static_cast<double>(kValueMax));
  constants.Set("SEM_SIZE", 0);
  constants.Set("RELEASE_ON_EXIT", static_cast<int>(kReleaseOnExit));
  constants.Set("ROBUST", static_cast<int>(kRobust));
  constants.Set("MONOTONIC_WAITS", true);  // Windows' waits are relative, on the interrupt clock
  constants.Set("TIMED_WAIT", "WaitForSingleObject");
  exports.Set("constants", constants);
  return exports;
}

}  // namespace
}  // namespace psem

namespace {
Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return psem::Init(env, exports); }
}  // namespace

NODE_API_MODULE(posix_semaphore, InitAddon)
