// The robust ledger (what and why: ledger.h). Over 300 lines for one reason:
// it is one class over one shared-memory file, and opening that file, its
// layout (Header, Slot) and the slot protocol share the same private
// definitions; split, they would need an internal header for them. Systems
// without OFD locks get the stub at the end.
#include "ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <map>

namespace psem {

#if defined(__linux__) && defined(F_OFD_SETLK)

struct Ledger::Slot {
  std::atomic<int32_t> units;   // held by the slot's process
  std::atomic<int32_t> pid;     // its pid, for people (liveness comes from the lock)
  std::atomic<uint64_t> semId;  // the semaphore the units were taken from
};

namespace {

constexpr uint32_t kMagic = 0x31534c50;  // "PLS1"

struct Header {
  std::atomic<uint32_t> magic;
  uint32_t slots;
  uint32_t slotSize;
  uint32_t reserved;
};

constexpr size_t kHeaderSize = 64;
static_assert(sizeof(Header) <= kHeaderSize, "header");

size_t LedgerSize() { return kHeaderSize + Ledger::kSlots * 16; }

// The ledgers of this process by name: one fd (so one set of OFD locks)
// per name, held while a robust handle uses it or its slot records units.
struct Ledgers {
  std::mutex mutex;
  std::map<std::string, std::shared_ptr<Ledger>> open;
};
Ledgers& ProcessLedgers() {
  static Ledgers* ledgers = new Ledgers();  // immortal: handles may be freed after static destructors
  return *ledgers;
}

// fcntl through syscall(): glibc >= 2.28 would bind the addon to fcntl64.
int OfdLock(int fd, short type, off_t start, int command, struct flock* out = nullptr) {
  struct flock lock;
  memset(&lock, 0, sizeof lock);
  lock.l_type = type;
  lock.l_whence = SEEK_SET;
  lock.l_start = start;
  lock.l_len = 1;
  int r = static_cast<int>(syscall(SYS_fcntl, fd, command, &lock));
  if (out != nullptr) *out = lock;
  return r;
}

off_t LockByte(int i) { return static_cast<off_t>(kHeaderSize + 16 * i); }

}  // namespace

std::string LedgerPath(const std::string& name) { return "/dev/shm/psem." + name.substr(1); }

Ledger::Ledger(std::string name, int fd, void* map, unsigned long long semId)
    : name_(std::move(name)), fd_(fd), map_(map), semId_(semId) {}

void Ledger::Release(std::shared_ptr<Ledger> ledger) {
  if (!ledger) return;
  Ledgers& ledgers = ProcessLedgers();
  std::lock_guard<std::mutex> guard(ledgers.mutex);
  auto found = ledgers.open.find(ledger->name_);
  if (found == ledgers.open.end() || found->second != ledger) return;  // replaced by a newer semaphore's
  // Ours and the map's are the last two references.
  if (ledger.use_count() == 2 && (ledger->mine_ < 0 || ledger->slot(ledger->mine_)->units.load() == 0)) {
    ledgers.open.erase(found);
  }
}

Ledger::Slot* Ledger::slot(int i) const {
  static_assert(sizeof(Slot) == 16, "slot");
  return reinterpret_cast<Slot*>(static_cast<char*>(map_) + kHeaderSize + 16 * i);
}

bool Ledger::Lock(int i) { return OfdLock(fd_, F_WRLCK, LockByte(i), F_OFD_SETLK) == 0; }
void Ledger::Unlock(int i) { OfdLock(fd_, F_UNLCK, LockByte(i), F_OFD_SETLK); }
bool Ledger::Locked(int i) {
  struct flock lock;
  return OfdLock(fd_, F_WRLCK, LockByte(i), F_OFD_GETLK, &lock) == 0 && lock.l_type != F_UNLCK;
}

// Slot i is locked by us and its owner is dead: clear its count, then post
// what was cleared (to this semaphore only: a ledger may outlive one).
long Ledger::Reclaim(int i, sem_t* sem) {
  Slot* s = slot(i);
  int32_t units = s->units.exchange(0);
  long posted = 0;
  if (units > 0 && s->semId.load() == semId_) {
    for (; posted < units; posted++) {
      if (sem_post(sem) != 0) {
        s->units.fetch_add(static_cast<int32_t>(units - posted));  // the next recoverer tries again
        break;
      }
    }
  }
  s->pid.store(0);
  return posted;
}

int Ledger::ClaimAndRecover(sem_t* sem) {
  std::lock_guard<std::mutex> guard(reclaiming_);
  for (int i = 0; i < kSlots; i++) {
    // Skipped: nothing there (once ours is claimed), or a live process's slot.
    if (mine_ >= 0 && slot(i)->units.load() == 0 && slot(i)->pid.load() == 0) continue;
    if (!Lock(i)) continue;
    Reclaim(i, sem);
    if (mine_ < 0) {
      mine_ = i;
      slot(i)->semId.store(semId_);
      slot(i)->pid.store(static_cast<int32_t>(getpid()));
    } else {
      Unlock(i);
    }
  }
  return mine_ >= 0 ? 0 : ENOSPC;
}

long Ledger::Recover(sem_t* sem) {
  std::lock_guard<std::mutex> guard(reclaiming_);
  long posted = 0;
  for (int i = 0; i < kSlots; i++) {
    if (i == mine_) continue;  // our own lock does not stop us: same open file description
    Slot* s = slot(i);
    if (s->units.load() == 0 && s->pid.load() == 0) continue;
    if (!Lock(i)) continue;
    posted += Reclaim(i, sem);
    Unlock(i);
  }
  return posted;
}

std::shared_ptr<Ledger> Ledger::Open(const std::string& name, mode_t mode, long uid, long gid, sem_t* sem,
                                     unsigned long long semId, int* err) {
  Ledgers& ledgers = ProcessLedgers();
  std::lock_guard<std::mutex> guard(ledgers.mutex);
  auto found = ledgers.open.find(name);
  if (found != ledgers.open.end() && found->second->semId_ == semId) return found->second;
  std::string path = LedgerPath(name);
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd >= 0) {
    // Made here: the semaphore's mode whatever our umask, its group, and
    // (when root makes it) its owner, so that everyone who may use the
    // semaphore may use its ledger.
    fchmod(fd, mode);
    if (gid >= 0 || (uid >= 0 && geteuid() == 0)) {
      int ignored =
          fchown(fd, geteuid() == 0 ? static_cast<uid_t>(uid) : static_cast<uid_t>(-1), static_cast<gid_t>(gid));
      (void)ignored;
    }
  } else if (errno == EEXIST) {
    fd = open(path.c_str(), O_RDWR | O_CLOEXEC | O_NOFOLLOW);
  }
  if (fd < 0) {
    *err = errno;
    return nullptr;
  }
  const size_t size = LedgerSize();
  struct statx st;
  if (statx(fd, "", AT_EMPTY_PATH, STATX_SIZE | STATX_UID, &st) != 0) {
    *err = errno;
    close(fd);
    return nullptr;
  }
  if (uid >= 0 && st.stx_uid != static_cast<uint32_t>(uid) && st.stx_uid != geteuid() && st.stx_uid != 0) {
    *err = EPERM;  // another user's ledger could make us post units that were never taken
    close(fd);
    return nullptr;
  }
  // A new ledger is empty until one opener sizes it; every opener sizes it
  // the same, so racing ones agree.
  if (st.stx_size == 0 && ftruncate(fd, static_cast<off_t>(size)) != 0) {
    *err = errno;
    close(fd);
    return nullptr;
  }
  if (st.stx_size != 0 && st.stx_size != size) {
    *err = EINVAL;  // not a ledger of this version
    close(fd);
    return nullptr;
  }
  void* map = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    *err = errno;
    close(fd);
    return nullptr;
  }
  auto* header = static_cast<Header*>(map);
  uint32_t expected = 0;
  if (header->magic.compare_exchange_strong(expected, kMagic)) {
    header->slots = kSlots;
    header->slotSize = 16;
  } else if (expected != kMagic) {
    *err = EINVAL;
    munmap(map, size);
    close(fd);
    return nullptr;
  }
  // Probe OFD locks (Linux >= 3.15) once, on a byte no slot uses.
  if (OfdLock(fd, F_WRLCK, 0, F_OFD_GETLK) != 0) {
    *err = errno == EINVAL ? ENOSYS : errno;
    munmap(map, size);
    close(fd);
    return nullptr;
  }
  std::shared_ptr<Ledger> ledger(new Ledger(name, fd, map, semId));
  int claimed = ledger->ClaimAndRecover(sem);
  if (claimed != 0) {
    *err = claimed;
    return nullptr;
  }
  ledgers.open[name] = ledger;
  return ledger;
}

Ledger::~Ledger() {
  if (mine_ >= 0) {
    slot(mine_)->pid.store(0);
    Unlock(mine_);
  }
  munmap(map_, LedgerSize());
  close(fd_);
}

void Ledger::Took() { slot(mine_)->units.fetch_add(1); }

bool Ledger::Giving() {
  std::atomic<int32_t>& units = slot(mine_)->units;
  int32_t now = units.load();
  while (now > 0) {
    if (units.compare_exchange_weak(now, now - 1)) return true;
  }
  return false;
}

void Ledger::Regive() { slot(mine_)->units.fetch_add(1); }

std::vector<Ledger::Holder> Ledger::Holders() {
  std::vector<Holder> holders;
  for (int i = 0; i < kSlots; i++) {
    Slot* s = slot(i);
    long pid = s->pid.load();
    long units = s->units.load();
    if (pid == 0 && units == 0) continue;
    holders.push_back({pid, units, i == mine_ || Locked(i)});
  }
  return holders;
}

int Ledger::Unlink(const std::string& name) { return unlink(LedgerPath(name).c_str()) == 0 ? 0 : errno; }

int Ledger::Peek(const std::string& name, std::vector<Holder>* holders) {
  int fd = open(LedgerPath(name).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return errno;
  struct statx st;
  if (statx(fd, "", AT_EMPTY_PATH, STATX_SIZE, &st) != 0 || st.stx_size != LedgerSize()) {
    close(fd);
    return EINVAL;
  }
  void* map = mmap(nullptr, LedgerSize(), PROT_READ, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) {
    int err = errno;
    close(fd);
    return err;
  }
  // A fresh open file description: every lock of a live holder, this
  // process's own included, shows.
  Ledger view(name, fd, map, 0);
  if (static_cast<Header*>(map)->magic.load() != kMagic) return EINVAL;
  *holders = view.Holders();
  return 0;  // ~Ledger unmaps and closes (mine_ < 0: no slot of ours)
}

#else  // no OFD locks: robust handles are not offered

std::string LedgerPath(const std::string& name) { return "/dev/shm/psem." + name.substr(1); }
void Ledger::Release(std::shared_ptr<Ledger>) {}
std::shared_ptr<Ledger> Ledger::Open(const std::string&, mode_t, long, long, sem_t*, unsigned long long, int* err) {
  *err = ENOSYS;
  return nullptr;
}
Ledger::~Ledger() {}
void Ledger::Took() {}
bool Ledger::Giving() { return false; }
void Ledger::Regive() {}
long Ledger::Recover(sem_t*) { return 0; }
std::vector<Ledger::Holder> Ledger::Holders() { return {}; }
int Ledger::Unlink(const std::string&) { return ENOENT; }
int Ledger::Peek(const std::string&, std::vector<Holder>*) { return ENOENT; }

#endif

}  // namespace psem
