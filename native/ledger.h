// Robust ownership: a ledger beside a named semaphore that records, per
// process, the units it took through robust handles, so that the units of
// a process that dies holding them (SIGKILL, the OOM killer, a segfault)
// come back.
//
// The ledger is a file of fixed size beside the semaphore
// (/dev/shm/psem.NAME, created with the semaphore's mode): a header and
// kSlots slots. A process claims one slot per name and holds an OFD write
// lock on that slot's byte for as long as it lives; the kernel drops the
// lock when the process dies, however it dies, so a slot whose lock can be
// taken has no live owner (pid reuse and pid namespaces cannot fool that).
//
// Order of writes: take the unit, then record it; unrecord, then post; a
// recoverer locks a dead slot, clears its count, then posts what it
// cleared. A crash between two steps leaks at worst, never over-grants.
#ifndef POSIX_SEMAPHORE_LEDGER_H
#define POSIX_SEMAPHORE_LEDGER_H

#include "platform.h"

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace psem {

class Ledger {
 public:
  static constexpr int kSlots = 128;

  // The ledger of `name` (with its leading '/') for this process, opened
  // (and created with `mode`) on first use, its slot claimed and every
  // dead holder's units posted back to `sem`. Shared by every robust handle
  // of the name in the process. nullptr with *err set on failure (EINVAL: a
  // corrupt ledger; EPERM: owned by another user than `uid` (the
  // semaphore's owner), this process's or root;
  // ENOSPC: every slot taken by a live process; ENOSYS: no OFD locks here).
  // `semId`: the inode of the semaphore's file, so that a ledger left by an
  // earlier semaphore of the same name never posts to this one.
  static std::shared_ptr<Ledger> Open(const std::string& name, mode_t mode, long uid, long gid, sem_t* sem,
                                      unsigned long long semId, int* err);

  ~Ledger();

  // A robust handle lets go of `ledger`. The last one in the process closes
  // it, unless its slot still records units: then the process keeps it (and
  // its lock), so a later robust handle of the name finds the same slot and
  // the units come back only when the process dies.
  static void Release(std::shared_ptr<Ledger> ledger);
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // A unit was just taken through a robust handle.
  void Took();
  // Before a post: unrecords one unit if this process holds any (a
  // producer that holds none posts without a record).
  bool Giving();
  // A post failed after Giving() returned true: record the unit again.
  void Regive();

  // Posts back the units of every dead holder; returns how many.
  long Recover(sem_t* sem);

  struct Holder {
    long pid;
    long units;
    bool alive;
  };
  // Every slot in use or holding units.
  std::vector<Holder> Holders();

  // The holders in the ledger of `name` without claiming a slot or
  // recovering anything (for `posix-semaphore info`); 0 or an errno.
  static int Peek(const std::string& name, std::vector<Holder>* holders);

  // Removes the ledger file of `name`; 0 or an errno (ENOENT when none).
  static int Unlink(const std::string& name);

 private:
  struct Slot;
  Ledger(std::string name, int fd, void* map, unsigned long long semId);
  Slot* slot(int i) const;
  bool Lock(int i);
  void Unlock(int i);
  bool Locked(int i);
  long Reclaim(int i, sem_t* sem);
  int ClaimAndRecover(sem_t* sem);

  std::string name_;
  int fd_;
  void* map_;
  unsigned long long semId_;
  int mine_ = -1;          // this process's slot
  std::mutex reclaiming_;  // threads of this process share fd_, and so its locks
};

// The path of the ledger of `name`.
std::string LedgerPath(const std::string& name);

}  // namespace psem

#endif  // POSIX_SEMAPHORE_LEDGER_H
