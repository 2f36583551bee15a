// One kernel HANDLE per semaphore name and process, the JS handle's state,
// and the release of held units at exit.
#include "win32.h"

#include <stdlib.h>

#include <map>

namespace psem {
namespace {

// The names this process has open, and every name it has ever opened
// (unlink's answer: see addon.cc). Immortal: atexit may run after static
// destructors.
struct Objects {
  Lock mutex;
  std::map<std::wstring, std::weak_ptr<SemObject>> open;
  std::set<std::wstring> seen;
  // robust: objects whose slot records units while no handle has them open
  // (close() and garbage collection give back nothing): kept with their
  // slot, so that a later handle continues the count and the units come
  // back when the process dies.
  std::set<std::shared_ptr<SemObject>> kept;
};
Objects& ProcessObjects() {
  static Objects* objects = new Objects();
  return *objects;
}

struct Releasers {
  Lock mutex;
  std::set<Sem*> sems;
};
Releasers& ProcessReleasers() {
  static Releasers* releasers = new Releasers();
  return *releasers;
}

void ReleaseAtProcessExit() { ReleaseAllHeld(); }

}  // namespace

SemObject::~SemObject() {
  ledgerView_.store(nullptr);
  ledger_.reset();  // before the semaphore: a ledger never outlives it in this process
  {
    Locked lock(ProcessObjects().mutex);
    auto it = ProcessObjects().open.find(name_);
    if (it != ProcessObjects().open.end() && it->second.expired()) ProcessObjects().open.erase(it);
  }
  CloseHandle(handle_);
}

int SemObject::MakeRobust(bool fresh) {
  Locked lock(robust_);
  if (ledger_) {
    Recover();
    return 0;
  }
  int err = 0;
  ledger_ = Ledger::Open(name_, handle_, true, fresh, &err);
  if (!ledger_) return err;
  ledgerView_.store(ledger_.get(), std::memory_order_release);
  return 0;
}

int SemObject::Post() {
  Ledger* ledger = this->ledger();
  std::atomic<int32_t>* from = ledger != nullptr && Decrement(*ledger->Units()) ? ledger->Units() : nullptr;
  if (ReleaseSemaphore(handle_, 1, nullptr)) return 0;
  DWORD error = GetLastError();
  if (from != nullptr) from->fetch_add(1);
  return ErrnoOf(error);
}

long SemObject::Recover() {
  Ledger* ledger = this->ledger();
  if (ledger == nullptr) return 0;
  lastRecoveryMs_.store(NowMs());
  return ledger->Recover(handle_);
}

long SemObject::RecoverIfDue() {
  if (ledger() == nullptr) return 0;
  const double now = NowMs();
  double last = lastRecoveryMs_.load();
  if (now - last < kRecoverEveryMs || !lastRecoveryMs_.compare_exchange_strong(last, now)) return 0;
  return ledger()->Recover(handle_);
}

std::wstring BesideName(const std::wstring& name, const std::wstring& prefix) {
  size_t slash = name.find(L'\\');  // WindowsName always writes the namespace
  return name.substr(0, slash + 1) + prefix + L"." + name.substr(slash + 1);
}

int OpenObject(const std::wstring& name, int oflag, unsigned value, std::shared_ptr<SemObject>* out, bool* created) {
  HANDLE handle;
  *created = false;
  if (oflag & kCreate) {
    handle = CreateSemaphoreW(nullptr, static_cast<LONG>(value), kValueMax, name.c_str());
    DWORD error = GetLastError();
    if (handle == nullptr) return ErrnoOf(error);
    if (error == ERROR_ALREADY_EXISTS && (oflag & kExclusive)) {
      CloseHandle(handle);
      return EEXIST;
    }
    *created = error != ERROR_ALREADY_EXISTS;
  } else {
    handle = OpenSemaphoreW(SEMAPHORE_ALL_ACCESS, FALSE, name.c_str());
    if (handle == nullptr) return ErrnoOf(GetLastError());
  }
  Locked lock(ProcessObjects().mutex);
  ProcessObjects().seen.insert(name);
  std::weak_ptr<SemObject>& slot = ProcessObjects().open[name];
  std::shared_ptr<SemObject> object = slot.lock();
  if (object) {
    // Open already: while this process holds it, the name is that object.
    CloseHandle(handle);
  } else {
    object = std::make_shared<SemObject>(handle, name);
    slot = object;
  }
  *out = std::move(object);
  return 0;
}

bool OpenedBefore(const std::wstring& name) {
  Locked lock(ProcessObjects().mutex);
  return ProcessObjects().seen.count(name) != 0;
}

int PostOne(HANDLE handle) { return ReleaseSemaphore(handle, 1, nullptr) ? 0 : ErrnoOf(GetLastError()); }

double NowMs() {
  static const double perMs = [] {
    LARGE_INTEGER f;
    QueryPerformanceFrequency(&f);
    return static_cast<double>(f.QuadPart) / 1000.0;
  }();
  LARGE_INTEGER now;
  QueryPerformanceCounter(&now);
  return static_cast<double>(now.QuadPart) / perMs;
}

long ReleaseAllHeld() {
  long released = 0;
  Locked lock(ProcessReleasers().mutex);
  for (Sem* sem : ProcessReleasers().sems) released += sem->ReleaseHeld();
  return released;
}

Sem::Sem(std::shared_ptr<SemObject> object, std::string name, int flags, std::shared_ptr<Registry> registry)
    : object_(std::move(object)), name_(std::move(name)), flags_(flags), registry_(std::move(registry)) {
  registry_->open.insert(this);
  if (flags_ & kReleaseOnExit) {
    static const int registered = atexit(ReleaseAtProcessExit);  // once per process
    (void)registered;
    Locked lock(ProcessReleasers().mutex);
    ProcessReleasers().sems.insert(this);
  }
}

Sem::~Sem() {
  if (flags_ & kReleaseOnExit) {
    Locked lock(ProcessReleasers().mutex);
    ProcessReleasers().sems.erase(this);
  }
  registry_->open.erase(this);
  if (object_->ledger() != nullptr) {
    std::shared_ptr<SemObject> dropped;  // freed outside the lock: ~SemObject takes it
    Locked lock(ProcessObjects().mutex);
    if (object_->Recorded() > 0) {
      ProcessObjects().kept.insert(object_);
    } else {
      auto it = ProcessObjects().kept.find(object_);
      if (it != ProcessObjects().kept.end()) {
        dropped = *it;
        ProcessObjects().kept.erase(it);
      }
    }
  }
}

long Sem::ReleaseHeld() {
  if (!(flags_ & kReleaseOnExit)) return 0;
  long released = 0;
  long now = held.load();
  while (now > 0) {
    if (!held.compare_exchange_weak(now, now - 1)) continue;
    if (object_->Post() != 0) {
      held.fetch_add(1);
      break;
    }
    ++released;
    now = held.load();
  }
  return released;
}

void Sem::Finish() {
  ReleaseHeld();
  closed_ = true;
  if (flags_ & kReleaseOnExit) {
    Locked lock(ProcessReleasers().mutex);
    ProcessReleasers().sems.erase(this);
  }
}

HandleData::~HandleData() {
  if (sem && !sem->closed()) {
    sem->ReleaseHeld();
    sem->MarkClosed();
  }
  live.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace psem
