// The Windows backend: named Win32 semaphores behind the same JS-facing
// exports and return convention as the POSIX addon (native/addon.cc says it
// once: undefined or a value on success, -errno on failure, -EBADF on a
// closed handle). binding.gyp builds these files instead of native/*.cc on
// Windows; scripts/lib/win32.js cross-compiles them with mingw-w64.
//
// The files:
//   win32.h        this: errno values, flags, the per-name kernel object, the handle
//   errors.cc      Win32 error codes -> errno (the map is in docs/platforms.md)
//   sem.cc         one kernel HANDLE per name and process; held units, release at exit
//   sync_calls.cc  the hot calls bound to a handle; sync waits; Ctrl-C
//   async_calls.cc the shared-wait protocol over RegisterWaitForSingleObject
//   addon.cc       open/close/unlink/getValue, robust stubs, module init
#ifndef POSIX_SEMAPHORE_WIN32_H
#define POSIX_SEMAPHORE_WIN32_H

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif
#include <windows.h>

#include <napi.h>

#include <errno.h>

#include <atomic>
#include <memory>
#include <set>
#include <string>

// The errno values JS compares with (os.constants.errno on win32: the
// Microsoft C runtime's, mingw-w64's too).
static_assert(ETIMEDOUT == 138 && ECANCELED == 105 && EOVERFLOW == 132 && EAGAIN == 11 && EINTR == 4,
              "errno values must be the Microsoft C runtime's, as Node's os.constants.errno has them on Windows");

namespace psem {

// open()'s oflag bits, as the constants export tells JS (no fcntl.h here).
constexpr int kCreate = 0x100;     // O_CREAT
constexpr int kExclusive = 0x400;  // O_EXCL
// The largest count: CreateSemaphoreW's lMaximumCount, a LONG.
constexpr long kValueMax = 0x7fffffff;

// What JS asked of a handle; bits of open()'s `flags` argument.
enum HandleFlags : int {
  kReleaseOnExit = 2,
  kRobust = 4,
};

// The errno of a call on a closed handle (-EBADF for JS); no call made on an
// open handle fails with it.
constexpr int kClosed = EBADF;

// A failure as JS sees it: -errno.
inline Napi::Value Failure(Napi::Env env, int err) { return Napi::Number::New(env, -static_cast<double>(err)); }

// A wait that signals (Ctrl-C) ended, for JS: { signals: their mask }; -EINTR
// alone if the environment refuses the object (as native/env.h).
inline napi_value Interrupted(napi_env env, uint32_t signals) {
  napi_value result, mask;
  if (napi_create_object(env, &result) != napi_ok || napi_create_uint32(env, signals, &mask) != napi_ok ||
      napi_set_named_property(env, result, "signals", mask) != napi_ok) {
    napi_create_int32(env, -EINTR, &result);
  }
  return result;
}

// open()'s failure when the robust ledger, not the semaphore, failed: { ledgerErrno }.
inline Napi::Value LedgerFailure(Napi::Env env, int err) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("ledgerErrno", err);
  return result;
}

// The errno for a Win32 error code (GetLastError()); see errors.cc.
int ErrnoOf(DWORD error);

// A named kernel semaphore as this process has it open: one HANDLE per
// name, shared by every JS handle of it in every thread (as glibc maps a
// semaphore once per process), closed when the last one lets go.
class SemObject {
 public:
  SemObject(HANDLE handle, std::wstring name) : handle_(handle), serial_(NextSerial()), name_(std::move(name)) {}
  ~SemObject();
  SemObject(const SemObject&) = delete;
  SemObject& operator=(const SemObject&) = delete;
  HANDLE handle() const { return handle_; }
  const std::wstring& name() const { return name_; }
  // A number for it, never reused and never an address (waitKey()).
  double serial() const { return serial_; }

 private:
  static double NextSerial() {
    static std::atomic<long long> next{0};
    return static_cast<double>(++next);
  }

  HANDLE handle_;
  double serial_;
  std::wstring name_;
};

// Opens (kCreate: creates when missing; kExclusive: fails EEXIST when it
// exists) the semaphore of Windows name `name`. 0 or an errno.
int OpenObject(const std::wstring& name, int oflag, unsigned value, std::shared_ptr<SemObject>* out);

// Whether this process has had a semaphore of Windows name `name` open.
bool OpenedBefore(const std::wstring& name);

// ReleaseSemaphore by one. 0 or an errno (EOVERFLOW past the maximum).
int PostOne(HANDLE handle);

class Sem;

// The open handles of one Node environment, for its teardown.
struct Registry {
  std::set<Sem*> open;
};

// One JS handle. Touched on its environment's thread only, except `held`
// (a release at exit may run on another thread).
class Sem {
 public:
  Sem(std::shared_ptr<SemObject> object, std::string name, int flags, std::shared_ptr<Registry> registry);
  ~Sem();
  Sem(const Sem&) = delete;
  Sem& operator=(const Sem&) = delete;

  HANDLE get() const { return object_->handle(); }
  SemObject* key() const { return object_.get(); }
  const std::string& name() const { return name_; }
  int flags() const { return flags_; }
  bool closed() const { return closed_; }
  void MarkClosed() { closed_ = true; }

  // Posts back the units this handle holds when it asked for releaseOnExit; how many.
  long ReleaseHeld();
  // Teardown of the environment: release (if asked) and close.
  void Finish();

  std::atomic<long> held{0};  // units taken through this handle minus units posted
  bool inflight = false;      // an asynchronous wait runs through this handle

 private:
  std::shared_ptr<SemObject> object_;
  std::string name_;
  int flags_;
  bool closed_ = false;
  std::shared_ptr<Registry> registry_;
};

// What a JS handle (an External) owns; dropped without close(), it gives
// back what a releaseOnExit handle holds.
struct HandleData {
  std::shared_ptr<Sem> sem;
  HandleData() { live.fetch_add(1, std::memory_order_relaxed); }
  ~HandleData();
  HandleData(const HandleData&) = delete;
  HandleData& operator=(const HandleData&) = delete;

  // How many exist in the process (every thread): the memory tests' exact
  // leak check (liveHandles()). ~HandleData (sem.cc) counts it down.
  static inline std::atomic<long> live{0};
};

// Posts back what every releaseOnExit handle of the process holds; how many.
long ReleaseAllHeld();

struct Waiters;  // async_calls.cc

struct Instance {
  std::shared_ptr<Registry> registry = std::make_shared<Registry>();
  std::shared_ptr<Waiters> waiters;  // made at the first wait
  bool worker = false;               // a worker thread's environment
  Napi::FunctionReference probe;     // a no-op, called to ask whether JS may still run
};

using HandleRef = std::shared_ptr<HandleData>;
using Handle = Napi::External<HandleRef>;

// The type tags of the Externals JS holds, as native/env.h: a value that is
// not ours (or another kind of ours) is never read as one.
constexpr napi_type_tag kHandleTag = {0x7073656d68616e64ULL, 0x6c65000000000001ULL};  // "psemhandle"
constexpr napi_type_tag kWaiterTag = {0x7073656d77616974ULL, 0x6572000000000001ULL};  // "psemwaiter"

inline bool Tagged(napi_env env, napi_value value, const napi_type_tag& tag) {
  napi_valuetype type;
  bool ok = false;
  return napi_typeof(env, value, &type) == napi_ok && type == napi_external &&
         napi_check_object_type_tag(env, value, &tag, &ok) == napi_ok && ok;
}

// The handle passed as the first argument, or nullptr when it is not one
// (then the call fails as on a closed handle).
inline HandleData* HandleOf(const Napi::CallbackInfo& info) {
  if (!Tagged(info.Env(), info[0], kHandleTag)) return nullptr;
  return info[0].As<Handle>().Data()->get();
}

inline Sem* OpenSem(HandleData* data) {
  if (data == nullptr) return nullptr;
  Sem* sem = data->sem.get();
  return (sem != nullptr && !sem->closed()) ? sem : nullptr;
}

// Milliseconds since some fixed point, monotonic.
double NowMs();

// sync_calls.cc: result.tryWait, .post, .wait, .timedWait bound to `handle`.
bool BindSyncCalls(napi_env env, Handle handle, bool counting, napi_value result);

// async_calls.cc: the exports of the async path (see native/async_calls.h).
Napi::Value WaitKey(const Napi::CallbackInfo& info);
Napi::Value OpenWaiter(const Napi::CallbackInfo& info);
Napi::Value StartWait(const Napi::CallbackInfo& info);
Napi::Value SetWanted(const Napi::CallbackInfo& info);
Napi::Value CloseWaiter(const Napi::CallbackInfo& info);
Napi::Value WaitThreads(const Napi::CallbackInfo& info);
Napi::Value TrySpin(const Napi::CallbackInfo& info);

}  // namespace psem

#endif  // POSIX_SEMAPHORE_WIN32_H
