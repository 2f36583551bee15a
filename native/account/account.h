// The account of held units: what this process holds of one semaphore,
// whichever handle, thread or wait took it, and every trigger that posts it
// back at exit. Units belong to processes, not handles (docs/robust.md,
// docs/exit-and-signals.md):
//   - one account per process and semaphore, keyed by the semaphore's
//     identity (device and inode), shared by every handle of it in every
//     thread; it owns the process's one mapping of the semaphore;
//   - it counts from the moment a handle with releaseOnExit or robust opens:
//     a take through any handle adds one, a post through any handle
//     subtracts one, never below zero (a post beyond what the process holds
//     is a producer's);
//   - robust: the count is mirrored in the process's slot of the ledger;
//   - close(), garbage collection and a worker's end change nothing: the
//     account outlives its handles while it holds units;
//   - at exit (atexit; SIGINT/SIGTERM that would kill) the accounts that
//     some handle asked releaseOnExit of are posted back.
//
// Threads: Attach and Detach run on JS threads (main or worker) under the
// process's registry mutex; Took, Post, Held and the recoveries on any
// thread (JS threads, pool threads, wait threads); ReleaseAll on the main
// thread at exit or on the fatal-signal thread.
#ifndef POSIX_SEMAPHORE_ACCOUNT_H
#define POSIX_SEMAPHORE_ACCOUNT_H

#include "platform.h"

#include <stdint.h>
#include <sys/types.h>

#include <errno.h>

#include <atomic>
#include <memory>
#include <string>

#include "ledger.h"

namespace psem {

// What JS asked of a handle; bits of the `flags` argument of open().
enum HandleFlags : int {
  kReleaseOnExit = 2,
  kRobust = 4,
};

// Which semaphore: its file's device and inode (Linux), or where it is
// mapped when the platform cannot tell (macOS maps a name once per process).
struct SemIdentity {
  uint64_t dev = 0;
  uint64_t ino = 0;
  bool operator<(const SemIdentity& other) const { return dev != other.dev ? dev < other.dev : ino < other.ino; }
};

class Account {
 public:
  // The account of the semaphore `sem` just opened as `name`: this process's
  // account of `id` if there is one (then `sem`, one reference to glibc's
  // mapping, is closed and the account's mapping is used), else a new one
  // that takes `sem` over. `flags` start the count (kReleaseOnExit) and its
  // mirror in the ledger (kRobust: opened, or recovered from, here). On
  // failure (the ledger's errno in *err) `sem` is closed and nothing stays.
  static std::shared_ptr<Account> Attach(sem_t* sem, const std::string& name, SemIdentity id, int flags,
                                         const LedgerOwner& owner, int* err);
  // A handle lets go of `account`. The last one frees it, unless it still
  // counts units that must be posted back or recovered.
  static void Detach(std::shared_ptr<Account> account);
  // `account` used as a handle uses it, by an asynchronous wait in flight
  // (waiter.h): it stays this process's account of the semaphore until the
  // wait lets go of it with Detach, whatever the handles do meanwhile.
  static std::shared_ptr<Account> Share(const std::shared_ptr<Account>& account);

  // Posts back the units of every account that a handle asked releaseOnExit
  // of; returns how many. Idempotent: what is posted back is no longer held.
  static long ReleaseAll();

  // Installs, once per process, the exit triggers: the atexit handler, and
  // (for a worker thread's releaseOnExit handle, as worker threads get no
  // signal events) SIGINT/SIGTERM while nobody listens to them.
  static void ReleaseAtExit(bool fatalSignalsToo);

  Account(sem_t* sem, std::string name, SemIdentity id);
  ~Account();
  Account(const Account&) = delete;
  Account& operator=(const Account&) = delete;

  sem_t* sem() const { return sem_; }
  // A number for JS to key the semaphore's waits by: never reused in the process, never an address.
  uint64_t serial() const { return serial_; }
  const std::string& name() const { return name_; }
  SemIdentity id() const { return id_; }

  // A unit was just taken, through any handle. Cheap when nothing counts.
  void Took() {
    std::atomic<int32_t>* counter = counter_.load(std::memory_order_acquire);
    if (counter != nullptr) counter->fetch_add(1, std::memory_order_relaxed);
  }

  // sem_post, the unit unrecorded first if the process holds any: 0 or an errno.
  int Post() {
    if (counter_.load(std::memory_order_acquire) == nullptr) return sem_post(sem_) == 0 ? 0 : errno;
    return CountedPost();
  }

  // Units the process holds, as counted.
  long Held() const;

  // 0, or ENOTRECOVERABLE once the robust ledger broke under us (truncated
  // by another process): then nothing more may be taken through the account.
  int Usable() const {
    Ledger* ledger = ledgerView_.load(std::memory_order_relaxed);
    return ledger != nullptr && ledger->Broken() ? ENOTRECOVERABLE : 0;
  }

  // robust: posts back the units of dead holders now; returns how many.
  long Recover();
  // The same, at most once every kRecoverEveryMs (for tries that found the
  // semaphore empty); returns how many.
  long RecoverIfDue();

  // The ledger when a robust handle opened for the account, else nullptr.
  Ledger* ledger() const { return ledgerView_.load(std::memory_order_acquire); }
  bool releasesAtExit() const { return releaseOnExit_.load(); }

 private:
  static constexpr int64_t kRecoverEveryMs = 5;

  // Takes one unit off the count (the local one first, then the ledger's);
  // returns the counter it came from, or nullptr when the process holds none.
  std::atomic<int32_t>* Unrecord();
  int CountedPost();
  void Count();
  int Mirror(const LedgerOwner& owner);

  sem_t* sem_;
  uint64_t serial_;
  std::string name_;
  SemIdentity id_;
  // Where takes are counted: nullptr (nothing asked for a count), &local_,
  // or the process's slot in the ledger once robust.
  std::atomic<std::atomic<int32_t>*> counter_{nullptr};
  std::atomic<int32_t> local_{0};  // counted before the ledger, or taken through a stale counter_
  // Odd while local_ moves into the ledger: a post that found nothing to
  // unrecord looks again once it is even.
  std::atomic<uint32_t> moving_{0};
  std::atomic<bool> releaseOnExit_{false};
  std::unique_ptr<Ledger> ledger_;  // set once, under the registry mutex
  std::atomic<Ledger*> ledgerView_{nullptr};
  std::atomic<int64_t> lastRecoveryMs_{0};
  int handles_ = 0;  // under the registry mutex
};

}  // namespace psem

#endif  // POSIX_SEMAPHORE_ACCOUNT_H
