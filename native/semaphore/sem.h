// The handle: what one JS Semaphore object owns natively. The semaphore's
// mapping and the units the process holds belong to its account
// (account.h), which every handle of the semaphore in the process shares.
#ifndef POSIX_SEMAPHORE_SEM_H
#define POSIX_SEMAPHORE_SEM_H

#include "platform.h"

#include <atomic>
#include <memory>
#include <set>
#include <string>

#include "account.h"

namespace psem {

class Sem;

// The open handles of one Node environment (main thread or worker), so
// that environment teardown can close what is left.
struct Registry {
  std::set<Sem*> open;
};

// One handle, owned by its JS object (HandleData). Touched on the
// environment's own thread only. A wait in flight does not hold it: it
// holds the account (waiter.h), so closing the handle never ends a wait.
class Sem {
 public:
  Sem(std::shared_ptr<Account> account, int flags, std::shared_ptr<Registry> registry);
  ~Sem();
  Sem(const Sem&) = delete;
  Sem& operator=(const Sem&) = delete;

  sem_t* get() const { return account_ ? account_->sem() : nullptr; }
  Account& account() const { return *account_; }
  const std::shared_ptr<Account>& accountRef() const { return account_; }
  const std::string& name() const { return account_->name(); }
  int flags() const { return flags_; }
  bool closed() const { return closed_; }

  // close() or a finaliser: no more calls. The account stays while a wait
  // in flight holds this Sem, and after it while it holds units.
  void MarkClosed() { closed_ = true; }

  // Teardown of the environment: closed, and let go of the account (a wait
  // in flight holds it for itself: waiter.h).
  void Finish();

 private:
  std::shared_ptr<Account> account_;
  int flags_;
  bool closed_ = false;
  std::shared_ptr<Registry> registry_;
};

// What a JS handle (an External) owns. Dropped without close(), it is
// closed: units belong to the process, and nothing is posted (account.h).
struct HandleData {
  std::shared_ptr<Sem> sem;
  HandleData() { live.fetch_add(1, std::memory_order_relaxed); }
  ~HandleData() {
    if (sem) sem->MarkClosed();
    live.fetch_sub(1, std::memory_order_relaxed);
  }
  HandleData(const HandleData&) = delete;
  HandleData& operator=(const HandleData&) = delete;

  // How many exist in the process (every thread): the memory tests' exact
  // leak check (liveHandles()).
  static inline std::atomic<long> live{0};
};

}  // namespace psem

#endif  // POSIX_SEMAPHORE_SEM_H
