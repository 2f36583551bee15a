// The waiter: the waiting of one semaphore in one environment, shared by
// the handles of it there, and the end of a wait, told to JS.
#ifndef POSIX_SEMAPHORE_WAITER_H
#define POSIX_SEMAPHORE_WAITER_H

#include "platform.h"

#include <node_api.h>

#include <atomic>
#include <map>
#include <memory>
#include <utility>

#include "sem.h"

namespace psem {

class Waiter;
struct WaitHub;  // wait_thread.cc
struct WaitJob;  // wait_thread.cc

// The waiters of one environment, by semaphore: at most one each; and the
// delivery of their waits' ends to the environment's JS thread.
struct Waiters {
  std::map<sem_t*, Waiter*> bySem;
  std::shared_ptr<WaitHub> hub;  // made at the first wait
};

// The waiter: the waiting of one semaphore in one environment, shared by
// every handle of it there (JS queues their acquires in FIFO order in front
// of it). It owns the one wait in flight, `job`: StartWait refuses a second.
// In flight means `job` is set (the environment's thread only); `state` says
// what the wait did with a unit (also written by the thread the wait runs
// on), and is kIdle exactly when no wait is in flight.
class Waiter {
 public:
  enum State : int {
    kIdle,      // no wait in flight
    kWanted,    // waiting, for an acquire() that wants the unit
    kUnwanted,  // waiting, but every acquire() gave up: post back what it takes
    kHolding,   // took a unit, on its way to JS
    kReturned,  // took a unit that JS then gave up: already posted back
  };

  Waiter(sem_t* sem, std::shared_ptr<Waiters> waiters) : sem_(sem), waiters_(std::move(waiters)) {
    waiters_->bySem[sem_] = this;
  }
  ~Waiter() { Close(); }
  Waiter(const Waiter&) = delete;
  Waiter& operator=(const Waiter&) = delete;

  sem_t* sem() const { return sem_; }

  // Done with: a new waiter may open for the semaphore.
  void Close() {
    auto it = waiters_->bySem.find(sem_);
    if (it != waiters_->bySem.end() && it->second == this) waiters_->bySem.erase(it);
  }

  // JS: does some acquire() still want what the wait in flight takes? A unit
  // it holds already that nobody wants any more is posted back here and now,
  // before JS can react to the rejection that made it unwanted. (The mapping
  // is alive: only a wait in flight, which holds a Sem, is ever Holding.)
  void SetWanted(bool wanted) {
    int expected = wanted ? kUnwanted : kWanted;
    if (state.compare_exchange_strong(expected, wanted ? kWanted : kUnwanted)) return;
    expected = kHolding;
    if (!wanted && state.compare_exchange_strong(expected, kReturned)) PostBack();
  }

  // The waiting thread took a unit: keeps it for JS if still wanted, else
  // posts it back. Returns whether it kept it.
  bool Keep() {
    account->Took();  // counted on the waiting thread, right after the take
    int expected = kWanted;
    if (state.compare_exchange_strong(expected, kHolding)) return true;
    PostBack();
    return false;
  }

  // Gives back a unit this wait took (taken off the account first).
  void PostBack() { account->Post(); }

  // robust: a holder that died while we waited gives its units back now.
  void Recover() { account->Recover(); }

  // The JS thread, as the wait ends: whether the unit it took is still held
  // (not Returned). Either way, no wait is in flight any more.
  bool Settle() { return state.exchange(kIdle) == kHolding; }

  bool InFlight() const { return job != nullptr; }

  std::atomic<int> state{kIdle};
  std::shared_ptr<WaitJob> job;  // the wait in flight (wait_thread.h); null: none
  // The process's account of the semaphore, which every handle of it shares:
  // while a wait is in flight, held as a handle holds it (Account::Share),
  // so it stays the process's account whatever the handles do; let go of
  // (Detach) when the wait's end is delivered.
  std::shared_ptr<Account> account;

 private:
  sem_t* sem_;  // the key: every handle of the semaphore in this process has this address
  std::shared_ptr<Waiters> waiters_;
};

using WaiterRef = std::shared_ptr<Waiter>;

// The end of a wait, on the JS thread (wait_thread.cc's delivery): tells JS `err` (0 or an errno) through `done`
// (if it is still there).
// After a take, JS returns true when an acquire() got the unit (the account counted it where it was taken), anything
// else when nobody wanted it: it is posted back. Then the wait lets go of the account. Raw Node-API calls: in an
// environment being torn down JS cannot run, and node-addon-api would turn that into a fatal error.
void Deliver(napi_env env, napi_value done, Waiter& waiter, int err);

}  // namespace psem

#endif  // POSIX_SEMAPHORE_WAITER_H
