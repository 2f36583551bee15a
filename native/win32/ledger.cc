// robust on Windows: the ledger of a semaphore in a named file mapping, a
// slot per process, liveness from the kernel through a named mutex per slot
// (win32.h says the rule; docs/platforms.md the differences from Linux).
//
// Order of writes, as on Linux: take the unit, then record it; unrecord,
// then post; a recoverer owns a dead slot's mutex, then, unit by unit, takes
// one off its record and posts it. A process killed between two steps leaks
// at most one unit, never over-grants.
#include "win32.h"

#include <set>
#include <string>

namespace psem {

// A slot: its owner's pid (0: free; for holders() only, never for
// liveness) and the units it records.
struct Ledger::Slot {
  std::atomic<uint32_t> pid;
  std::atomic<int32_t> units;
  uint64_t reserved;
};

namespace {

// "PSL" and the layout's version (1): a mapping of another kind or version is refused (EINVAL).
constexpr uint32_t kMagic = 0x50534c01u;
struct Header {
  std::atomic<uint32_t> magic;
  uint32_t reserved[3];
};
static_assert(sizeof(Header) == 16, "the ledger's header is 16 bytes");
constexpr size_t kSize = sizeof(Header) + 16 * Ledger::kSlots;  // 2,064 bytes

// A HANDLE closed when it goes.
class OwnedHandle {
 public:
  explicit OwnedHandle(HANDLE handle) : handle_(handle) {}
  ~OwnedHandle() {
    if (handle_ != nullptr) CloseHandle(handle_);
  }
  OwnedHandle(const OwnedHandle&) = delete;
  OwnedHandle& operator=(const OwnedHandle&) = delete;
  HANDLE get() const { return handle_; }
  HANDLE release() {
    HANDLE handle = handle_;
    handle_ = nullptr;
    return handle;
  }

 private:
  HANDLE handle_;
};

// The keeper: the one thread that owns this process's slot mutexes. Windows
// abandons a mutex when the thread that owns it ends, and JS threads
// (workers) end before the process; this thread ends with it. It sleeps
// alertably and runs what Run() queues to it as an APC.
class Keeper {
 public:
  static Keeper& Get() {
    static Keeper* keeper = new Keeper();  // immortal, as the thread
    return *keeper;
  }

  // Runs `job(arg)` on the keeper thread and waits for it; false when it cannot (no thread).
  bool Run(void (*job)(void*), void* arg) {
    if (thread_ == nullptr || WaitForSingleObject(thread_, 0) != WAIT_TIMEOUT) return false;
    Job queued{job, arg, CreateEventW(nullptr, TRUE, FALSE, nullptr)};
    if (queued.done == nullptr) return false;
    OwnedHandle done(queued.done);
    if (!QueueUserAPC(RunJob, thread_, reinterpret_cast<ULONG_PTR>(&queued))) return false;
    HANDLE objects[2] = {queued.done, thread_};  // the thread ends only with the process
    return WaitForMultipleObjects(2, objects, FALSE, INFINITE) == WAIT_OBJECT_0;
  }

 private:
  struct Job {
    void (*job)(void*);
    void* arg;
    HANDLE done;
  };
  Keeper() { thread_ = CreateThread(nullptr, 64 * 1024, Loop, nullptr, STACK_SIZE_PARAM_IS_A_RESERVATION, nullptr); }
  static DWORD WINAPI Loop(LPVOID) {
    for (;;) SleepEx(INFINITE, TRUE);
  }
  static VOID CALLBACK RunJob(ULONG_PTR data) {
    auto* queued = reinterpret_cast<Job*>(data);
    queued->job(queued->arg);
    SetEvent(queued->done);
  }
  HANDLE thread_ = nullptr;
};

// The slot mutexes the keeper owns, by name: touched on the keeper thread
// only. A claim never takes one of them (a mutex is recursive: the keeper
// would acquire it again).
std::set<std::wstring>& KeptMutexes() {
  static std::set<std::wstring>* names = new std::set<std::wstring>();
  return *names;
}

std::wstring SlotMutexName(const std::wstring& name, int i) { return BesideName(name, L"psem" + std::to_wstring(i)); }

// Maps the ledger `mapping`; checks (and, when new, writes) its magic.
void* MapLedger(HANDLE mapping, int* err) {
  void* view = MapViewOfFile(mapping, FILE_MAP_READ | FILE_MAP_WRITE, 0, 0, kSize);
  if (view == nullptr) {
    *err = EINVAL;  // smaller than a ledger: not one
    return nullptr;
  }
  uint32_t expected = 0;
  auto* header = static_cast<Header*>(view);
  if (!header->magic.compare_exchange_strong(expected, kMagic) && expected != kMagic) {
    UnmapViewOfFile(view);
    *err = EINVAL;
    return nullptr;
  }
  return view;
}

}  // namespace

std::unique_ptr<Ledger> Ledger::Open(const std::wstring& name, HANDLE sem, bool claim, bool fresh, int* err) {
  const std::wstring ledgerName = BesideName(name, L"psem");
  HANDLE mapping;
  if (claim) {
    mapping = CreateFileMappingW(INVALID_HANDLE_VALUE, nullptr, PAGE_READWRITE, 0, kSize, ledgerName.c_str());
  } else {
    mapping = OpenFileMappingW(FILE_MAP_READ | FILE_MAP_WRITE, FALSE, ledgerName.c_str());
  }
  if (mapping == nullptr) {
    *err = ErrnoOf(GetLastError());  // ERROR_INVALID_HANDLE (another kind of object) is EINVAL
    return nullptr;
  }
  OwnedHandle owned(mapping);
  void* view = MapLedger(mapping, err);
  if (view == nullptr) return nullptr;
  std::unique_ptr<Ledger> ledger(new Ledger(owned.release(), view, name));
  if (!claim) return ledger;
  *err = ledger->Claim(sem, fresh);
  if (*err != 0) return nullptr;
  if (fresh) {
    // The records of dead holders are an older semaphore's: dropped, not posted.
    for (int i = 0; i < kSlots; i++) {
      HANDLE mutex;
      if (i == ledger->mine_ || ledger->slot(i)->units.load() == 0 || !ledger->Acquire(i, &mutex)) continue;
      ledger->Drain(i, sem, true);
      ReleaseMutex(mutex);
      CloseHandle(mutex);
    }
  } else {
    ledger->Recover(sem);
  }
  return ledger;
}

Ledger::~Ledger() {
  if (mine_ >= 0) {
    if (slot(mine_)->units.load() != 0) return;  // kept, mapped and owned, until the process dies: see the header
    slot(mine_)->pid.store(0);
    struct Releasing {
      HANDLE mutex;
      std::wstring name;
    } releasing{mineMutex_, SlotMutexName(name_, mine_)};
    auto release = [](void* arg) {
      auto* r = static_cast<Releasing*>(arg);
      ReleaseMutex(r->mutex);
      KeptMutexes().erase(r->name);
    };
    Keeper::Get().Run(release, &releasing);  // without the keeper (the process is ending), it goes with the process
    CloseHandle(mineMutex_);
  }
  UnmapViewOfFile(view_);
  CloseHandle(mapping_);
}

Ledger::Slot* Ledger::slot(int i) const {
  static_assert(sizeof(Slot) == 16, "a slot is 16 bytes");
  return reinterpret_cast<Slot*>(static_cast<char*>(view_) + sizeof(Header)) + i;
}

std::atomic<int32_t>* Ledger::Units() { return &slot(mine_)->units; }

bool Ledger::Acquire(int i, HANDLE* mutex) {
  // Created when missing: a slot's mutex goes with the last process that had
  // it open, so a missing one has no owner either.
  const std::wstring mutexName = SlotMutexName(name_, i);
  OwnedHandle owned(CreateMutexW(nullptr, FALSE, mutexName.c_str()));
  if (owned.get() == nullptr) return false;  // not a mutex (someone else's object): never ours
  DWORD r = WaitForSingleObject(owned.get(), 0);
  if (r != WAIT_OBJECT_0 && r != WAIT_ABANDONED) return false;  // WAIT_TIMEOUT: its owner lives
  *mutex = owned.release();
  return true;
}

long Ledger::Drain(int i, HANDLE sem, bool drop) {
  long posted = 0;
  std::atomic<int32_t>& units = slot(i)->units;
  while (Decrement(units)) {
    if (drop) continue;
    if (!ReleaseSemaphore(sem, 1, nullptr)) {
      units.fetch_add(1);  // past the maximum: someone posted by hand; left recorded
      break;
    }
    posted++;
  }
  if (units.load() == 0) slot(i)->pid.store(0);
  return posted;
}

// On the keeper thread: the first slot whose mutex it can own is ours; a
// dead owner's units in it are posted back first.
int Ledger::Claim(HANDLE sem, bool fresh) {
  struct Claiming {
    Ledger* ledger;
    HANDLE sem;
    bool fresh;
    int err;
  } claiming{this, sem, fresh, ENOSPC};
  auto claim = [](void* arg) {
    auto* c = static_cast<Claiming*>(arg);
    Ledger& ledger = *c->ledger;
    for (int i = 0; i < kSlots; i++) {
      HANDLE mutex;
      std::wstring mutexName = SlotMutexName(ledger.name_, i);
      if (KeptMutexes().count(mutexName) != 0 || !ledger.Acquire(i, &mutex)) continue;
      KeptMutexes().insert(std::move(mutexName));
      ledger.Drain(i, c->sem, c->fresh);
      ledger.slot(i)->pid.store(GetCurrentProcessId());
      ledger.mine_ = i;
      ledger.mineMutex_ = mutex;
      c->err = 0;
      return;
    }
  };
  if (!Keeper::Get().Run(claim, &claiming)) return ENOMEM;
  return claiming.err;
}

long Ledger::Recover(HANDLE sem) {
  Locked lock(recovering_);
  long posted = 0;
  for (int i = 0; i < kSlots; i++) {
    HANDLE mutex;
    if (i == mine_ || slot(i)->units.load() == 0 || !Acquire(i, &mutex)) continue;
    posted += Drain(i, sem, false);
    ReleaseMutex(mutex);
    CloseHandle(mutex);
  }
  return posted;
}

std::vector<Ledger::Holder> Ledger::Holders() {
  Locked lock(recovering_);
  std::vector<Holder> holders;
  for (int i = 0; i < kSlots; i++) {
    const uint32_t pid = slot(i)->pid.load();
    const int32_t units = slot(i)->units.load();
    if (pid == 0 && units == 0) continue;
    bool alive = true;
    HANDLE mutex;
    if (i != mine_ && Acquire(i, &mutex)) {
      alive = false;
      const bool empty = slot(i)->units.load() == 0;  // a dead owner that held nothing: the slot is free
      if (empty) slot(i)->pid.store(0);
      ReleaseMutex(mutex);  // recovers nothing: only asked
      CloseHandle(mutex);
      if (empty) continue;
    }
    holders.push_back({static_cast<long>(pid), static_cast<long>(units), alive});
  }
  return holders;
}

int Ledger::Peek(const std::wstring& name, std::vector<Holder>* holders) {
  // The semaphore held open while its ledger is: a ledger never outlives its
  // semaphore because of us (a robust create would find old records in it).
  OwnedHandle sem(OpenSemaphoreW(SYNCHRONIZE, FALSE, name.c_str()));
  if (sem.get() == nullptr) return GetLastError() == ERROR_ACCESS_DENIED ? EACCES : ENOENT;
  int err = 0;
  std::unique_ptr<Ledger> ledger = Open(name, nullptr, false, false, &err);
  if (!ledger) return err;
  *holders = ledger->Holders();
  return 0;
}

}  // namespace psem
