// One kernel HANDLE per semaphore name and process, the JS handle's state,
// and the release of held units at exit.
#include "win32.h"

#include <stdlib.h>

#include <map>

namespace psem {
namespace {

// A process-wide lock (an SRWLOCK: no std::mutex, which mingw's win32 thread
// model lacks, and no winpthreads DLL).
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

// The names this process has open, and every name it has ever opened
// (unlink's answer: see addon.cc). Immortal: atexit may run after static
// destructors.
struct Objects {
  Lock mutex;
  std::map<std::wstring, std::weak_ptr<SemObject>> open;
  std::set<std::wstring> seen;
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
  {
    Locked lock(ProcessObjects().mutex);
    auto it = ProcessObjects().open.find(name_);
    if (it != ProcessObjects().open.end() && it->second.expired()) ProcessObjects().open.erase(it);
  }
  CloseHandle(handle_);
}

int OpenObject(const std::wstring& name, int oflag, unsigned value, std::shared_ptr<SemObject>* out) {
  HANDLE handle;
  if (oflag & kCreate) {
    handle = CreateSemaphoreW(nullptr, static_cast<LONG>(value), kValueMax, name.c_str());
    DWORD error = GetLastError();
    if (handle == nullptr) return ErrnoOf(error);
    if (error == ERROR_ALREADY_EXISTS && (oflag & kExclusive)) {
      CloseHandle(handle);
      return EEXIST;
    }
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
}

long Sem::ReleaseHeld() {
  if (!(flags_ & kReleaseOnExit)) return 0;
  long released = 0;
  long now = held.load();
  while (now > 0) {
    if (!held.compare_exchange_weak(now, now - 1)) continue;
    if (PostOne(get()) != 0) {
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
