// Named POSIX semaphores for Node.js: syscalls and errno, nothing else.
//
// Names, defaults, argument checks and error objects are left to src/.
//
// The return convention, one for every call of the native API (and for the
// argument of startWait's done()):
//   - a failure is a negative number, -errno;
//   - a call on a closed handle fails with -EBADF (no sem_* call on an open
//     handle fails with EBADF);
//   - the cold paths tell more in a small object: a sync wait that signals
//     ended returns { signals } (their mask, bit n: signal n); open()
//     returns { ledgerErrno } when the robust ledger failed rather than
//     sem_open, and -ECANCELED in an environment being torn down (a worker
//     terminated while it opens);
//   - anything else is success: undefined when there is nothing to tell
//     (so the hot calls make no number), else the value, handle or object.
// JS tests `result !== undefined` after a call that returns nothing on
// success, `typeof result === 'number' && result < 0` after the others.
// Inside native/, functions return 0 or a (positive) errno, as POSIX does;
// only the calls JS makes turn it into -errno.
//
// The folders (each with a README.md saying which thread runs what):
//   platform.h, compat/  what the platform offers; glibc symbol versions
//   convention.h         the JS-facing return convention and the Externals' type tags (both backends)
//   env.h                per-environment state, the handle External
//   semaphore/           the handle, the file behind a name, the sync calls, timed waits
//   signals/             signals that may end a sync wait
//   account/             the units a process holds of a semaphore, its mapping, every exit trigger
//   ledger/              robust ownership: the ledger file, its guarded mapping
//   async/               acquire()'s waiter, the calls of the async path, the addon's wait threads
//   addon.cc             open/close/unlink/getValue, robust ledger calls, exit, module init
#include "platform.h"

#include <napi.h>
#include <uv.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "account.h"
#include "async_calls.h"
#include "env.h"
#include "ledger.h"
#include "sem.h"
#include "sem_file.h"
#include "sync_calls.h"
#include "waits.h"

namespace psem {
namespace {

constexpr int kOpenAttempts = 8;

void CloseHandle(Handle handle) {
  HandleData* data = handle.Data()->get();
  if (data->sem) {
    data->sem->MarkClosed();
    data->sem.reset();
  }
}

// sem_open, and which semaphore it opened. The name may be unlinked and
// created again while we open it (by anyone: /dev/shm is shared), and the
// account of the units the process holds is keyed by the semaphore's
// identity, so the file is identified before and after: if they differ, the
// open is tried again. 0 or an errno; *sem and *owner filled.
int OpenIdentified(const std::string& name, int oflag, mode_t mode, unsigned value, sem_t** sem, SemFileOwner* owner,
                   SemIdentity* id) {
  for (int attempt = 0;; attempt++) {
    unsigned long long device = 0, inode = 0;
    const bool known = (oflag & O_EXCL) == 0 && IdentifySemFile(name, &device, &inode);
    *sem = (oflag & O_CREAT) ? sem_open(name.c_str(), oflag, mode, value) : sem_open(name.c_str(), oflag);
    if (*sem == SEM_FAILED) return errno;
    *owner = SemFileOwner();
    int err = InspectSemFile(name, *sem, owner);
    if (err != 0) {
      sem_close(*sem);
      return err;
    }
#ifdef __linux__
    const bool same = owner->inode != 0 && (!known || (owner->inode == inode && owner->device == device));
#else
    const bool same = true;  // the platform cannot tell: a name is mapped once per process
    owner->inode = reinterpret_cast<uintptr_t>(*sem);
#endif
    if (same) {
      id->dev = owner->device;
      id->ino = owner->inode;
      return 0;
    }
    sem_close(*sem);
    if (attempt + 1 == kOpenAttempts) return EAGAIN;
  }
}

// A semaphore this call created, then failed to open robustly: removed, so
// that the same create succeeds once the ledger is fixed. Only if the name
// still names the one we made.
void UnlinkCreated(const std::string& name, const SemIdentity& id) {
  unsigned long long device = 0, inode = 0;
  if (IdentifySemFile(name, &device, &inode) && device == id.dev && inode == id.ino) sem_unlink(name.c_str());
}

// open(name, oflag, mode, value, flags)
//   -> { handle, tryWait, post, wait, timedWait, ownerUid, ownerGid } | -errno
// { ledgerErrno }: the robust ledger could not be opened.
// ownerUid/ownerGid: the owner of the semaphore's file when this call did
// not create it exclusively, -1 when unknown. In an environment being torn
// down (a worker terminated while it opens), -ECANCELED, nothing left open.
Napi::Value Open(const Napi::CallbackInfo& info) {
  napi_env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  int oflag = info[1].As<Napi::Number>().Int32Value();
  mode_t mode = static_cast<mode_t>(info[2].As<Napi::Number>().Uint32Value());
  unsigned value = info[3].As<Napi::Number>().Uint32Value();
  int flags = info[4].As<Napi::Number>().Int32Value();
  auto* instance = Napi::Env(env).GetInstanceData<Instance>();
  if (instance == nullptr) return Failure(env, ECANCELED);

  sem_t* sem = nullptr;
  SemFileOwner owner;
  SemIdentity id;
  int err = OpenIdentified(name, oflag, mode, value, &sem, &owner, &id);
  if (err != 0) return Failure(env, err);
  LedgerOwner ledgerOwner;
  ledgerOwner.mode = owner.mode != 0 ? owner.mode : mode;
  ledgerOwner.uid = owner.uid;
  ledgerOwner.gid = owner.gid;
  // The account takes `sem` over (or closes it), even when it fails.
  std::shared_ptr<Account> account = Account::Attach(sem, name, id, flags, ledgerOwner, &err);
  if (!account) {
    if (oflag & O_EXCL) UnlinkCreated(name, id);
    return LedgerFailure(env, err);
  }
  if (oflag & O_EXCL) owner = SemFileOwner();  // created here: nothing to trust
  if (flags & kReleaseOnExit) Account::ReleaseAtExit(instance->worker);

  auto data = std::make_shared<HandleData>();
  data->sem = std::make_shared<Sem>(std::move(account), flags, instance->registry);
  auto ref = std::make_unique<HandleRef>(std::move(data));
  napi_value external, result, uid, gid;
  auto finalize = [](napi_env, void* r, void*) { delete static_cast<HandleRef*>(r); };
  if (napi_create_external(env, ref.get(), finalize, nullptr, &external) != napi_ok) return Failure(env, ECANCELED);
  ref.release();  // the External's finaliser owns it now
  Handle handle(env, external);
  if (napi_type_tag_object(env, external, &kHandleTag) != napi_ok) {
    CloseHandle(handle);
    return Failure(env, ECANCELED);
  }
  if (napi_create_object(env, &result) != napi_ok ||
      napi_set_named_property(env, result, "handle", external) != napi_ok || !BindSyncCalls(env, handle, result) ||
      napi_create_double(env, static_cast<double>(owner.uid), &uid) != napi_ok ||
      napi_create_double(env, static_cast<double>(owner.gid), &gid) != napi_ok ||
      napi_set_named_property(env, result, "ownerUid", uid) != napi_ok ||
      napi_set_named_property(env, result, "ownerGid", gid) != napi_ok) {
    CloseHandle(handle);
    return Failure(env, ECANCELED);
  }
  return Napi::Value(env, result);
}

// close(handle) -> undefined. The mapping goes when the last wait slice lets go.
Napi::Value Close(const Napi::CallbackInfo& info) {
  if (Tagged(info.Env(), info[0], kHandleTag)) CloseHandle(info[0].As<Handle>());
  return info.Env().Undefined();
}

// unlink(name) -> undefined | -errno. The robust ledger beside it goes too.
Napi::Value Unlink(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>().Utf8Value();
  int err = sem_unlink(name.c_str()) == 0 ? 0 : errno;
  if (err == 0 || err == ENOENT) Ledger::Unlink(name);
  if (err != 0) return Failure(info.Env(), err);
  return info.Env().Undefined();
}

// The holders of a ledger as JS sees them: [[pid, units, alive], ...].
Napi::Array HolderList(Napi::Env env, const std::vector<Ledger::Holder>& holders, bool skipSelf) {
  Napi::Array list = Napi::Array::New(env);
  uint32_t i = 0;
  const long self = static_cast<long>(getpid());
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

// ledgerHolders(name) -> [[pid, units, alive], ...] of the semaphore that
// the name names now | -errno (-ENOENT: no ledger; -EINVAL: not a ledger),
// recovering nothing.
Napi::Value LedgerHolders(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>().Utf8Value();
  unsigned long long device = 0, inode = 0;
  if (!IdentifySemFile(name, &device, &inode)) inode = 0;
  std::vector<Ledger::Holder> holders;
  int err = Ledger::Peek(name, inode, &holders);
  if (err != 0) return Failure(info.Env(), err);
  return HolderList(info.Env(), holders, false);
}

// holders(handle) -> [[pid, units, alive], ...] from the robust ledger, this
// process's own slot left out when it holds nothing | -ENOENT when no handle
// of the semaphore in this process is robust (no ledger) | -EBADF.
Napi::Value Holders(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Sem* sem = OpenSem(HandleOf(info));
  if (sem == nullptr) return Failure(env, kClosed);
  Ledger* ledger = sem->account().ledger();
  if (ledger == nullptr) return Failure(env, ENOENT);
  return HolderList(env, ledger->Holders(), true);
}

// recover(handle) -> units of dead holders posted back | -errno | -EBADF.
// Through the process's ledger when a robust handle opened it; else the
// ledger is opened for this call only, without a slot (the CLI's recover):
// -ENOENT when there is none, -EINVAL when it is not a ledger.
Napi::Value Recover(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Sem* sem = OpenSem(HandleOf(info));
  if (sem == nullptr) return Failure(env, kClosed);
  Account& account = sem->account();
  if (account.ledger() != nullptr) return Napi::Number::New(env, static_cast<double>(account.Recover()));
  // The same owner check as a robust open: a ledger someone else made could
  // name units that nobody took.
  SemFileOwner file;
  InspectSemFile(account.name(), account.sem(), &file);
  LedgerOwner owner;
  owner.uid = file.uid;
  int err = 0;
  std::unique_ptr<Ledger> ledger = Ledger::Open(account.name(), owner, account.sem(), account.id().ino, false, &err);
  if (!ledger) return Failure(env, err);
  return Napi::Number::New(env, static_cast<double>(ledger->Recover(account.sem())));
}

// getValue(handle) -> value >= 0 | -errno (-ENOSYS: no sem_getvalue, macOS)
Napi::Value GetValue(const Napi::CallbackInfo& info) {
  Sem* sem = OpenSem(HandleOf(info));
  if (sem == nullptr) return Failure(info.Env(), kClosed);
#ifdef HAVE_SEM_GETVALUE
  int value = 0;
  if (sem_getvalue(sem->get(), &value) != 0) return Failure(info.Env(), errno);
  return Napi::Number::New(info.Env(), value < 0 ? 0 : value);
#else
  return Failure(info.Env(), ENOSYS);
#endif
}

// held(handle) -> the units this process holds of the handle's semaphore,
// as its account counts them (0 while nothing asked for a count) | -EBADF.
Napi::Value Held(const Napi::CallbackInfo& info) {
  Sem* sem = OpenSem(HandleOf(info));
  if (sem == nullptr) return Failure(info.Env(), kClosed);
  return Napi::Number::New(info.Env(), static_cast<double>(sem->account().Held()));
}

// releaseHeld() -> units posted back by the accounts that some handle asked
// releaseOnExit of (every thread's): for a signal that will end the process.
Napi::Value ReleaseHeld(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(Account::ReleaseAll()));
}

// Environment teardown (a worker that ends or is terminated, or the main
// thread at the end of the program): its handles close. The units the
// process holds stay in its accounts (they belong to the process), posted
// back at exit when asked.
void OnEnvCleanup(void* arg) {
  auto* registry = static_cast<Registry*>(arg);
  for (Sem* sem : registry->open) {
    if (!sem->closed() || sem->get() != nullptr) sem->Finish();
  }
}

// liveHandles() -> how many handles exist natively in the process: JS
// handle objects not yet finalised, closed or not. For the memory tests: it
// must come back down once the JS objects are collected.
Napi::Value LiveHandles(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(HandleData::live.load(std::memory_order_relaxed)));
}

// Runs when the addon loads in an environment, which may be a worker being
// terminated: node-addon-api then swallows the failures
// (NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS) and JS never sees the exports.
Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto instance = std::make_unique<Instance>();
  uv_loop_t* loop = nullptr;
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
  constants.Set("O_CREAT", O_CREAT);
  constants.Set("O_EXCL", O_EXCL);
  constants.Set("SEM_VALUE_MAX", static_cast<double>(SEM_VALUE_MAX));
  constants.Set("SEM_SIZE", static_cast<double>(sizeof(sem_t)));
  constants.Set("RELEASE_ON_EXIT", static_cast<int>(kReleaseOnExit));
  constants.Set("ROBUST", static_cast<int>(kRobust));
  constants.Set("MONOTONIC_WAITS", kWaitClock == CLOCK_MONOTONIC);
  constants.Set("TIMED_WAIT", TimedWaitCall());
  exports.Set("constants", constants);
  return exports;
}

}  // namespace
}  // namespace psem

namespace {
Napi::Object InitAddon(Napi::Env env, Napi::Object exports) { return psem::Init(env, exports); }
}  // namespace

NODE_API_MODULE(posix_semaphore, InitAddon)
