// Robust ownership: a ledger beside a named semaphore that records, per
// process, the units it holds (its account: account.h), so that the units of
// a process that dies holding them (SIGKILL, the OOM killer, a segfault)
// come back.
//
// The ledger is a file of fixed size beside the semaphore
// (/dev/shm/psem.NAME, created with the semaphore's mode): a header and
// kSlots slots. A process claims one slot per semaphore and holds an OFD
// write lock on that slot's byte while the slot records units or a robust
// handle uses it; the kernel drops the lock when the process dies, however
// it dies, so a slot whose lock can be taken has no live owner (pid reuse
// and pid namespaces cannot fool that). Each slot names the semaphore
// (inode) its units came from: a ledger may outlive its semaphore, and its
// records are only ever posted to that semaphore.
//
// Order of writes: take the unit, then record it; unrecord, then post; a
// recoverer locks a dead slot, then, unit by unit, takes one off its record
// and posts it. A crash between two steps leaks at most one unit, never
// over-grants.
//
// The file is anyone's to break (every user of the semaphore can write it):
// it is opened without following links or blocking, must be a regular file
// of its size with its magic, and is mapped guarded (guarded_map.h): a
// truncation under us makes it broken(), never a SIGBUS.
//
// Threads: every method may run on any thread; a mutex orders recoveries
// within the process (its threads share the file, and so its locks).
#ifndef POSIX_SEMAPHORE_LEDGER_H
#define POSIX_SEMAPHORE_LEDGER_H

#include "platform.h"

#include <stdint.h>
#include <sys/types.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "guarded_map.h"

namespace psem {

// Who may use a robust semaphore's ledger: the semaphore's mode and owner.
struct LedgerOwner {
  mode_t mode = 0600;
  long uid = -1;
  long gid = -1;
};

class Ledger {
 public:
  static constexpr int kSlots = 128;

  // The ledger of the semaphore `semId` (inode) named `name` (with its
  // leading '/'), opened (and created with `owner.mode`) here. With `claim`,
  // a slot of this process is claimed and locked, and the units of every
  // dead holder of the semaphore are posted back to `sem`; without, the
  // ledger is only read and recovered from (the CLI). nullptr with *err set
  // on failure: EINVAL (not a ledger: wrong type, size or magic), EPERM
  // (owned by another user than the semaphore's owner, this process's or
  // root), ENOSPC (every slot taken by a live process), ENOSYS (no OFD
  // locks here), or the errno of open.
  static std::unique_ptr<Ledger> Open(const std::string& name, const LedgerOwner& owner, sem_t* sem, uint64_t semId,
                                      bool claim, int* err);

  // Frees the slot: only once it records nothing (the account's rule).
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // This process's count, in its slot (claimed ledgers only).
  std::atomic<int32_t>* Units();
  // Truncated under us: the records are gone, and so is the protection.
  bool Broken() const { return map_->broken(); }

  // Posts back, unit by unit, the units of every dead holder of this
  // semaphore; returns how many.
  long Recover(sem_t* sem);

  struct Holder {
    long pid;
    long units;
    bool alive;
  };
  // Every slot of this semaphore in use or holding units.
  std::vector<Holder> Holders();

  // The holders of semaphore `semId` (0: of any) in the ledger of `name`,
  // read without mapping, locking or recovering anything (for `info`); 0,
  // ENOENT (no ledger), EINVAL (not a ledger) or another errno.
  static int Peek(const std::string& name, uint64_t semId, std::vector<Holder>* holders);

  // Removes the ledger file of `name`; 0 or an errno (ENOENT when none).
  static int Unlink(const std::string& name);

 private:
  struct Slot;
  Ledger(int fd, std::unique_ptr<GuardedMap> map, uint64_t semId) : fd_(fd), map_(std::move(map)), semId_(semId) {}
  Slot* slot(int i) const;
  bool Lock(int i);
  void Unlock(int i);
  bool Locked(int i);
  long Reclaim(int i, sem_t* sem);
  int ClaimAndRecover(sem_t* sem);

  int fd_;
  std::unique_ptr<GuardedMap> map_;
  uint64_t semId_;
  int mine_ = -1;          // this process's slot
  std::mutex reclaiming_;  // threads of this process share fd_, and so its locks
};

// The path of the ledger of `name`.
std::string LedgerPath(const std::string& name);

}  // namespace psem

#endif  // POSIX_SEMAPHORE_LEDGER_H
