// The robust ledger (what and why: ledger.h). One class over one shared
// file: opening and checking the file, its layout (Header, Slot) and the
// slot protocol share the same private definitions. Systems without OFD
// locks get the stub at the end.
#include "ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

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
constexpr size_t kSlotSize = 16;
constexpr size_t kLedgerSize = kHeaderSize + Ledger::kSlots * kSlotSize;
static_assert(sizeof(Header) <= kHeaderSize, "header");

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

off_t LockByte(int i) { return static_cast<off_t>(kHeaderSize + kSlotSize * i); }

bool LockedBySomeone(int fd, int i) {
  struct flock lock;
  return OfdLock(fd, F_WRLCK, LockByte(i), F_OFD_GETLK, &lock) == 0 && lock.l_type != F_UNLCK;
}

// Opened without blocking (a FIFO in its place would hang us) or following
// links; then it must be a regular file. 0 or an errno; *fd and *st filled.
int OpenLedgerFile(const std::string& path, int flags, mode_t mode, int* fd, struct statx* st) {
  *fd = open(path.c_str(), flags | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, mode);
  if (*fd < 0) return errno;
  if (statx(*fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_SIZE | STATX_UID, st) != 0) {
    int err = errno;
    close(*fd);
    return err;
  }
  if (!S_ISREG(st->stx_mode)) {
    close(*fd);
    return EINVAL;
  }
  return 0;
}

}  // namespace

std::string LedgerPath(const std::string& name) { return "/dev/shm/psem." + name.substr(1); }

Ledger::Slot* Ledger::slot(int i) const {
  static_assert(sizeof(Slot) == kSlotSize, "slot");
  return reinterpret_cast<Slot*>(static_cast<char*>(map_->data()) + kHeaderSize + kSlotSize * i);
}

bool Ledger::Lock(int i) { return OfdLock(fd_, F_WRLCK, LockByte(i), F_OFD_SETLK) == 0; }
void Ledger::Unlock(int i) { OfdLock(fd_, F_UNLCK, LockByte(i), F_OFD_SETLK); }
bool Ledger::Locked(int i) { return LockedBySomeone(fd_, i); }

// Slot i is locked by us and its owner is dead: one unit at a time, take it
// off the record, then post it, so that a recoverer killed here leaks at
// most the one it was posting.
long Ledger::Reclaim(int i, sem_t* sem) {
  Slot* s = slot(i);
  long posted = 0;
  int32_t units = s->units.load();
  while (units > 0) {
    if (!s->units.compare_exchange_weak(units, units - 1)) continue;
    if (sem_post(sem) != 0) {
      s->units.fetch_add(1);  // the next recoverer tries again
      break;
    }
    posted++;
    units = s->units.load();
  }
  if (s->units.load() == 0) s->pid.store(0);
  return posted;
}

int Ledger::ClaimAndRecover(sem_t* sem) {
  std::lock_guard<std::mutex> guard(reclaiming_);
  int foreign = -1;  // a dead holder's slot of another semaphore, taken over only when no other is free
  for (int i = 0; i < kSlots; i++) {
    Slot* s = slot(i);
    // Skipped without a system call: nothing there (once ours is claimed).
    if (mine_ >= 0 && s->units.load() == 0 && s->pid.load() == 0) continue;
    if (!Lock(i)) continue;  // a live process's
    if (s->units.load() > 0 && s->semId.load() != semId_) {
      if (foreign < 0 && mine_ < 0)
        foreign = i;  // keep its lock until we know
      else
        Unlock(i);
      continue;
    }
    Reclaim(i, sem);
    if (mine_ < 0 && s->units.load() == 0) {
      mine_ = i;
    } else {
      Unlock(i);
    }
  }
  if (mine_ < 0 && foreign >= 0) {
    // Units of an earlier semaphore of this name whose holder died: nobody
    // can post them to it any more once its slot is needed.
    slot(foreign)->units.store(0);
    mine_ = foreign;
  } else if (foreign >= 0) {
    Unlock(foreign);
  }
  if (mine_ < 0) return ENOSPC;
  slot(mine_)->semId.store(semId_);
  slot(mine_)->pid.store(static_cast<int32_t>(getpid()));
  return 0;
}

long Ledger::Recover(sem_t* sem) {
  std::lock_guard<std::mutex> guard(reclaiming_);
  long posted = 0;
  for (int i = 0; i < kSlots; i++) {
    if (i == mine_) continue;  // our own lock does not stop us: same open file description
    Slot* s = slot(i);
    // Only a slot with units of this semaphore costs a system call.
    if (s->units.load() <= 0 || s->semId.load() != semId_) continue;
    if (!Lock(i)) continue;
    posted += Reclaim(i, sem);
    Unlock(i);
  }
  return posted;
}

std::unique_ptr<Ledger> Ledger::Open(const std::string& name, const LedgerOwner& owner, sem_t* sem, uint64_t semId,
                                     bool claim, int* err) {
  const std::string path = LedgerPath(name);
  int fd = -1;
  struct statx st;
  *err = claim ? OpenLedgerFile(path, O_RDWR | O_CREAT | O_EXCL, owner.mode, &fd, &st) : EEXIST;
  if (*err == 0) {
    // Made here: the semaphore's mode whatever our umask, its group, and
    // (when root makes it) its owner, so that everyone who may use the
    // semaphore may use its ledger.
    fchmod(fd, owner.mode);
    if (owner.gid >= 0 || (owner.uid >= 0 && geteuid() == 0)) {
      int ignored = fchown(fd, geteuid() == 0 ? static_cast<uid_t>(owner.uid) : static_cast<uid_t>(-1),
                           static_cast<gid_t>(owner.gid));
      (void)ignored;
    }
  } else if (*err == EEXIST) {
    *err = OpenLedgerFile(path, O_RDWR, 0, &fd, &st);
  }
  if (*err != 0) return nullptr;
  auto fail = [&](int e) {
    *err = e;
    close(fd);
    return nullptr;
  };
  if (owner.uid >= 0 && st.stx_uid != static_cast<uint32_t>(owner.uid) && st.stx_uid != geteuid() && st.stx_uid != 0) {
    return fail(EPERM);  // another user's ledger could make us post units that were never taken
  }
  // A new ledger is empty until one opener sizes it; every opener sizes it
  // the same, so racing ones agree.
  if (st.stx_size == 0 && claim && ftruncate(fd, static_cast<off_t>(kLedgerSize)) != 0) return fail(errno);
  if (st.stx_size != kLedgerSize && (st.stx_size != 0 || !claim)) return fail(EINVAL);  // not a ledger of this version
  // Probe OFD locks (Linux >= 3.15) once, on a byte no slot uses.
  if (OfdLock(fd, F_WRLCK, 0, F_OFD_GETLK) != 0) return fail(errno == EINVAL ? ENOSYS : errno);
  int mapErr = 0;
  std::unique_ptr<GuardedMap> map = GuardedMap::Map(fd, kLedgerSize, &mapErr);
  if (!map) return fail(mapErr);
  auto* header = static_cast<Header*>(map->data());
  uint32_t expected = 0;
  if (claim && header->magic.compare_exchange_strong(expected, kMagic)) {
    header->slots = kSlots;
    header->slotSize = kSlotSize;
  } else if (header->magic.load() != kMagic || map->broken()) {
    return fail(EINVAL);
  }
  std::unique_ptr<Ledger> ledger(new Ledger(fd, std::move(map), semId));
  if (claim) {
    int claimed = ledger->ClaimAndRecover(sem);
    if (claimed != 0) {
      *err = claimed;
      return nullptr;
    }
  }
  return ledger;
}

Ledger::~Ledger() {
  if (mine_ >= 0) {
    slot(mine_)->pid.store(0);
    Unlock(mine_);
  }
  map_.reset();
  close(fd_);
}

std::atomic<int32_t>* Ledger::Units() { return &slot(mine_)->units; }

std::vector<Ledger::Holder> Ledger::Holders() {
  std::vector<Holder> holders;
  for (int i = 0; i < kSlots; i++) {
    Slot* s = slot(i);
    long pid = s->pid.load();
    long units = s->units.load();
    if ((pid == 0 && units == 0) || s->semId.load() != semId_) continue;
    holders.push_back({pid, units, i == mine_ || Locked(i)});
  }
  return holders;
}

int Ledger::Unlink(const std::string& name) { return unlink(LedgerPath(name).c_str()) == 0 ? 0 : errno; }

int Ledger::Peek(const std::string& name, uint64_t semId, std::vector<Holder>* holders) {
  int fd;
  struct statx st;
  int err = OpenLedgerFile(LedgerPath(name), O_RDONLY, 0, &fd, &st);
  if (err != 0) return err;
  // Read, not mapped: a file truncated as we read gives a short read, not a SIGBUS.
  char buffer[kLedgerSize];
  ssize_t got = st.stx_size == kLedgerSize ? pread(fd, buffer, sizeof buffer, 0) : -1;
  uint32_t magic = 0;
  if (got == static_cast<ssize_t>(sizeof buffer)) memcpy(&magic, buffer, sizeof magic);
  if (magic != kMagic) {
    close(fd);
    return EINVAL;
  }
  holders->clear();
  for (int i = 0; i < kSlots; i++) {
    int32_t units, pid;
    uint64_t id;
    const char* raw = buffer + kHeaderSize + kSlotSize * i;
    memcpy(&units, raw, 4);
    memcpy(&pid, raw + 4, 4);
    memcpy(&id, raw + 8, 8);
    if ((pid == 0 && units == 0) || (semId != 0 && id != semId)) continue;
    // A fresh open file description: every live holder's lock shows, this process's own included.
    holders->push_back({pid, units, LockedBySomeone(fd, i)});
  }
  close(fd);
  return 0;
}

#else  // no OFD locks: robust handles are not offered

std::string LedgerPath(const std::string& name) { return "/dev/shm/psem." + name.substr(1); }
std::unique_ptr<Ledger> Ledger::Open(const std::string&, const LedgerOwner&, sem_t*, uint64_t, bool, int* err) {
  *err = ENOSYS;
  return nullptr;
}
Ledger::~Ledger() {}
std::atomic<int32_t>* Ledger::Units() { return nullptr; }
long Ledger::Recover(sem_t*) { return 0; }
std::vector<Ledger::Holder> Ledger::Holders() { return {}; }
int Ledger::Unlink(const std::string&) { return ENOENT; }
int Ledger::Peek(const std::string&, uint64_t, std::vector<Holder>*) { return ENOENT; }

#endif

}  // namespace psem
