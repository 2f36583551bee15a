// The owner of one sem_t*, the units a handle holds, and their release at exit.
#ifndef POSIX_SEMAPHORE_SEM_H
#define POSIX_SEMAPHORE_SEM_H

#include "platform.h"

#include <errno.h>

#include <atomic>
#include <memory>
#include <set>
#include <string>

#include "ledger.h"

namespace psem {

// What JS asked of a handle; bits of the `flags` argument of open().
enum HandleFlags : int {
  kReleaseOnExit = 2,
  kRobust = 4,
};

class Sem;

// The open semaphores of one Node environment (main thread or worker), so
// that environment teardown can release and close what is left.
struct Registry {
  std::set<Sem*> open;
};

// One sem_t*, owned jointly by the JS handle and any wait in flight through
// it (wait_slice.cc); sem_close runs when the last owner lets go, never under
// a waiting thread. All members are touched on the environment's own thread
// only, except `sem_` (read by a wait; it never changes while a wait holds
// us) and `held` (read and decremented by a releaseOnExit signal on the main
// thread).
class Sem {
 public:
  Sem(sem_t* sem, std::string name, int flags, std::shared_ptr<Registry> registry);
  ~Sem();
  Sem(const Sem&) = delete;
  Sem& operator=(const Sem&) = delete;

  sem_t* get() const { return sem_; }
  const std::string& name() const { return name_; }
  int flags() const { return flags_; }
  bool closed() const { return closed_; }

  // The handle is closed: no more calls, the mapping goes with the last owner.
  void MarkClosed();

  // Posts back the units this handle still holds, if it asked for
  // releaseOnExit; returns how many.
  long ReleaseHeld();

  // A unit was taken through this handle: a robust one records it.
  void Record() {
    if (ledger) ledger->Took();
  }
  // sem_post, unrecording first what a robust handle gives back. 0 or an errno.
  int Post() {
    bool giving = ledger && ledger->Giving();
    if (sem_post(sem_) == 0) return 0;
    int err = errno;
    if (giving) ledger->Regive();
    return err;
  }

  // robust: true. Shared by every robust handle of the name in the process.
  std::shared_ptr<Ledger> ledger;

  // Teardown of the environment: release (if asked), then close unless a
  // slice still waits on the mapping.
  void Finish();

  std::atomic<long> held{0};  // units taken through this handle minus units posted
  bool inflight = false;      // an asynchronous wait runs through this handle (wait_slice.cc)

 private:
  sem_t* sem_;
  std::string name_;
  int flags_;
  bool closed_ = false;
  std::shared_ptr<Registry> registry_;
};

// What a JS handle (an External) owns. Dropped without close(), it gives
// back what the handle holds when it asked for releaseOnExit, as the process
// would at exit.
struct HandleData {
  std::shared_ptr<Sem> sem;
  ~HandleData();
};

// Posts back the units held by every releaseOnExit handle of the process
// (every thread); returns how many.
long ReleaseAllHeld();

// A worker thread's releaseOnExit handle opened. Worker threads get no
// signal events, and a SIGINT or SIGTERM that nobody listens to ends the
// process at once: while one of them has its default action, catch it,
// post back what every releaseOnExit handle holds, and die by it as
// before. A listener added later (libuv's handler) replaces this one.
void ReleaseOnFatalSignals();

}  // namespace psem

#endif  // POSIX_SEMAPHORE_SEM_H
