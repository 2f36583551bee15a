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
//   ledger.cc      robust: the ledger (a named file mapping), a slot mutex per process
//   sync_calls.cc  the hot calls bound to a handle; sync waits; Ctrl-C
//   async_calls.cc the shared-wait protocol over RegisterWaitForSingleObject
//   addon.cc       open/close/unlink/getValue, the robust calls, module init
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

#include "../convention.h"

#include <errno.h>

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <vector>

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

// The errno for a Win32 error code (GetLastError()); see errors.cc.
int ErrnoOf(DWORD error);

// A process-wide lock (an SRWLOCK: no std::mutex in the addon's own code, as
// when it was built with mingw's win32 thread model).
struct Lock {
  SRWLOCK lock = SRWLOCK_INIT;
};
class Locked {
 public:
  explicit Locked(Lock& lock) : lock_(lock) { AcquireSRWLockExclusive(&lock_.lock); }
  ~Locked() { ReleaseSRWLockExclusive(&lock_.lock); }
  Locked(const Locked&) = delete;
  Locked& operator=(const Locked&) = delete;

 private:
  Lock& lock_;
};

// Takes one off `count` unless it is 0; whether it did.
inline bool Decrement(std::atomic<int32_t>& count) {
  int32_t now = count.load();
  while (now > 0) {
    if (count.compare_exchange_weak(now, now - 1)) return true;
  }
  return false;
}

// robust: the ledger of one semaphore (ledger.cc). A named file mapping in
// the semaphore's namespace (Local\psem.NAME for Local\NAME) holds kSlots
// slots [owner pid, units]; a process claims one slot per semaphore and
// owns the slot's named mutex (Local\psemN.NAME for slot N) for as long as
// the slot is its own. Windows abandons a mutex when its owner dies, however
// it dies (TerminateProcess too), so a slot whose mutex can be acquired has
// no live owner: its units are posted back, unit by unit (take one off the
// record, then ReleaseSemaphore). Mutexes belong to threads, not processes:
// the slot mutexes of a process are all owned by one thread of the addon's
// (the keeper), which lives until the process ends.
class Ledger {
 public:
  static constexpr int kSlots = 128;
  struct Holder {
    long pid;
    long units;
    bool alive;
  };

  // The ledger of the semaphore `sem` of Windows name `name`, created when
  // missing. With `claim`, a slot is claimed (its mutex owned by the keeper)
  // and the units of every dead holder posted back to `sem` (or dropped,
  // when `fresh`: this open created the semaphore, so records in a ledger
  // that outlived the old one are not its units). Without `claim` (recover()
  // through a plain handle), an existing ledger is opened only: ENOENT when
  // none. nullptr with *err: EINVAL (the name is another object, or not a
  // ledger), ENOSPC (every slot's owner lives), or the errno of the call.
  static std::unique_ptr<Ledger> Open(const std::wstring& name, HANDLE sem, bool claim, bool fresh, int* err);
  // The holders in the ledger of `name`, recovering nothing: 0, ENOENT (no ledger), EINVAL.
  static int Peek(const std::wstring& name, std::vector<Holder>* holders);

  // Frees the slot when it records nothing; else keeps it (and its mutex)
  // until the process dies, so that its units come back then.
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // This process's count, in its slot (claimed ledgers only).
  std::atomic<int32_t>* Units();
  // Posts back, unit by unit, the units of every dead holder; returns how many.
  long Recover(HANDLE sem);
  // Every slot in use or recording units.
  std::vector<Holder> Holders();

 private:
  struct Slot;
  Ledger(HANDLE mapping, void* view, std::wstring name) : mapping_(mapping), view_(view), name_(std::move(name)) {}
  Slot* slot(int i) const;
  // Reclaims slot i if its owner is dead: its mutex, now held by this
  // thread, in *mutex (ReleaseMutex and CloseHandle it); false if it lives.
  bool Acquire(int i, HANDLE* mutex);
  // Posts back (or drops, with `drop`) the units of slot i, whose mutex this thread holds.
  long Drain(int i, HANDLE sem, bool drop);
  int Claim(HANDLE sem, bool fresh);

  HANDLE mapping_;
  void* view_;
  std::wstring name_;  // the semaphore's Windows name
  int mine_ = -1;
  HANDLE mineMutex_ = nullptr;  // owned by the keeper thread
  Lock recovering_;
};

// A named kernel semaphore as this process has it open: one HANDLE per
// name, shared by every JS handle of it in every thread (as glibc maps a
// semaphore once per process), closed when the last one lets go. Once a
// robust handle opened it, it also has the process's slot in the ledger,
// which counts the units the process holds (takes through any handle add
// one, posts through any handle take one off first, never below 0).
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

  // robust: opens the ledger and claims a slot the first time (`fresh`: this
  // open created the semaphore), recovers dead holders' units every time. 0 or an errno.
  int MakeRobust(bool fresh);
  Ledger* ledger() const { return ledgerView_.load(std::memory_order_acquire); }
  // The units this process holds of the semaphore are counted from the
  // first releaseOnExit or robust handle on (as POSIX's account.h): in the
  // ledger slot once robust, else here. releaseOnExit is sticky: any handle
  // that ever asked makes ReleaseAllHeld() post them back at exit.
  void Count(bool releaseOnExit) {
    counting_.store(true);
    if (releaseOnExit) releaseOnExit_.store(true);
  }
  bool counting() const { return counting_.load(std::memory_order_relaxed); }
  bool releaseOnExit() const { return releaseOnExit_.load(); }
  // A unit was just taken, through any handle and thread: counted.
  void Took() {
    Ledger* ledger = this->ledger();
    if (ledger != nullptr) {
      ledger->Units()->fetch_add(1);
    } else if (counting_.load(std::memory_order_relaxed)) {
      local_.fetch_add(1);
    }
  }
  // ReleaseSemaphore by one, the unit taken off the count first (never
  // below 0): 0 or an errno.
  int Post();
  // Posts back every unit counted; how many (ReleaseAllHeld, at exit).
  long PostHeld();
  // robust: posts back dead holders' units now (RecoverIfDue: at most every
  // kRecoverEveryMs, for tries that found the semaphore empty); how many.
  long Recover();
  long RecoverIfDue();
  // Units this process holds as counted (0 while nothing counts).
  long Held() const {
    Ledger* ledger = this->ledger();
    return ledger == nullptr ? local_.load() : ledger->Units()->load();
  }

 private:
  static double NextSerial() {
    static std::atomic<long long> next{0};
    return static_cast<double>(++next);
  }

  static constexpr double kRecoverEveryMs = 5;
  HANDLE handle_;
  double serial_;
  std::wstring name_;
  Lock robust_;  // orders MakeRobust
  std::unique_ptr<Ledger> ledger_;
  std::atomic<Ledger*> ledgerView_{nullptr};
  std::atomic<double> lastRecoveryMs_{0};
  std::atomic<bool> counting_{false};
  std::atomic<bool> releaseOnExit_{false};
  std::atomic<int32_t> local_{0};  // the count before a robust handle opened the ledger
  // Odd while MakeRobust moves local_ into the slot, unit by unit: a post
  // that finds neither count looks again (a unit in transit is in neither).
  std::atomic<unsigned> moving_{0};
};

// Opens (kCreate: creates when missing; kExclusive: fails EEXIST when it
// exists) the semaphore of Windows name `name`; *created: this call made
// it. 0 or an errno.
int OpenObject(const std::wstring& name, int oflag, unsigned value, std::shared_ptr<SemObject>* out, bool* created);

// The name of an object beside the semaphore of Windows name `name`: the
// same namespace, `prefix` before the rest ("Local\x", "psem" -> "Local\psem.x").
std::wstring BesideName(const std::wstring& name, const std::wstring& prefix);

// Whether this process has had a semaphore of Windows name `name` open.
bool OpenedBefore(const std::wstring& name);

// ReleaseSemaphore by one. 0 or an errno (EOVERFLOW past the maximum).
int PostOne(HANDLE handle);

// Milliseconds since some fixed point, monotonic.
double NowMs();

class Sem;

// The open handles of one Node environment, for its teardown.
struct Registry {
  std::set<Sem*> open;
};

// One JS handle. Touched on its environment's thread only. The units the
// process holds are its SemObject's, whatever handle took them.
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

  // Teardown of the environment: closed. Nothing is posted: units belong to
  // the process (released at its exit when asked, recovered at its death
  // when robust), as on POSIX.
  void Finish() { closed_ = true; }

  bool inflight = false;  // an asynchronous wait runs through this handle

 private:
  std::shared_ptr<SemObject> object_;
  std::string name_;
  int flags_;
  bool closed_ = false;
  std::shared_ptr<Registry> registry_;
};

// What a JS handle (an External) owns; dropped without close(), it is
// closed, and nothing is posted (units belong to the process).
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

// Posts back what the process holds of every semaphore that a handle asked
// releaseOnExit of; how many. Idempotent. (Installs the atexit trigger once.)
long ReleaseAllHeld();
void ReleaseAtExit();

struct Waiters;  // async_calls.cc

struct Instance {
  std::shared_ptr<Registry> registry = std::make_shared<Registry>();
  std::shared_ptr<Waiters> waiters;  // made at the first wait
  bool worker = false;               // a worker thread's environment
  Napi::FunctionReference probe;     // a no-op, called to ask whether JS may still run
};

using HandleRef = std::shared_ptr<HandleData>;
using Handle = Napi::External<HandleRef>;

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

// sync_calls.cc: result.tryWait, .post, .wait, .timedWait bound to `handle`.
bool BindSyncCalls(napi_env env, Handle handle, napi_value result);

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
