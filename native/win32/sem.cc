// One kernel HANDLE per semaphore name and process, the JS handle's state,
// and the release of held units at exit.
#include "win32.h"

#include <stdlib.h>

#include <map>
#include <vector>

namespace psem {
namespace {

// The names this process has open, and every name it has ever opened
// (unlink's answer: see addon.cc). Immortal: atexit may run after static
// destructors.
struct Objects {
  Lock mutex;
  std::map<std::wstring, std::weak_ptr<SemObject>> open;
  std::set<std::wstring> seen;
  // Objects that count units while no handle has them open (close() and
  // garbage collection give back nothing): kept, with their slot when
  // robust, so that a later handle continues the count and the units come
  // back at exit (releaseOnExit) or when the process dies (robust).
  std::set<std::shared_ptr<SemObject>> kept;
};
Objects& ProcessObjects() {
  static Objects* objects = new Objects();
  return *objects;
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
  counting_.store(true);  // before the ledger shows: a post that sees it also counts
  ledgerView_.store(ledger_.get(), std::memory_order_release);
  // What the process counted before moves into its slot, unit by unit.
  moving_.fetch_add(1);
  while (Decrement(local_)) ledger_->Units()->fetch_add(1);
  moving_.fetch_add(1);
  return 0;
}

int SemObject::Post() {
  // Nothing counts (no releaseOnExit or robust handle ever opened it): the
  // plain post, without the count's loads (the hot path, as POSIX's Post).
  if (!counting_.load(std::memory_order_acquire)) return PostOne(handle_);
  std::atomic<int32_t>* from = nullptr;
  for (;;) {
    unsigned seq = moving_.load();
    Ledger* ledger = this->ledger();
    if (ledger != nullptr && Decrement(*ledger->Units())) {
      from = ledger->Units();
      break;
    }
    if (Decrement(local_)) {
      from = &local_;
      break;
    }
    if ((seq & 1) == 0 && moving_.load() == seq) break;  // nothing counted, none in transit
  }
  if (ReleaseSemaphore(handle_, 1, nullptr)) return 0;
  DWORD error = GetLastError();
  if (from != nullptr) from->fetch_add(1);
  return ErrnoOf(error);
}

long SemObject::PostHeld() {
  long posted = 0;
  for (;;) {
    Ledger* ledger = this->ledger();
    std::atomic<int32_t>& count = ledger != nullptr ? *ledger->Units() : local_;
    if (!Decrement(count)) return posted;
    if (!ReleaseSemaphore(handle_, 1, nullptr)) {
      count.fetch_add(1);
      return posted;
    }
    ++posted;
  }
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
  std::vector<std::shared_ptr<SemObject>> releasing;
  {
    Locked lock(ProcessObjects().mutex);
    for (const auto& entry : ProcessObjects().open) {
      std::shared_ptr<SemObject> object = entry.second.lock();
      if (object && object->releaseOnExit()) releasing.push_back(std::move(object));
    }
  }
  long released = 0;
  for (const auto& object : releasing) released += object->PostHeld();
  return released;
}

void ReleaseAtExit() {
  static const int registered = atexit(ReleaseAtProcessExit);  // once per process
  (void)registered;
}

Sem::Sem(std::shared_ptr<SemObject> object, std::string name, int flags, std::shared_ptr<Registry> registry)
    : object_(std::move(object)), name_(std::move(name)), flags_(flags), registry_(std::move(registry)) {
  registry_->open.insert(this);
}

Sem::~Sem() {
  registry_->open.erase(this);
  if (object_->counting()) {
    std::shared_ptr<SemObject> dropped;  // freed outside the lock: ~SemObject takes it
    Locked lock(ProcessObjects().mutex);
    if (object_->Held() > 0) {
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

HandleData::~HandleData() {
  if (sem) sem->MarkClosed();
  live.fetch_sub(1, std::memory_order_relaxed);
}

}  // namespace psem
