#include "sem.h"

#include <stdlib.h>

#include <mutex>

namespace psem {
namespace {

// The releaseOnExit handles of the whole process, for the C atexit handler:
// it runs after every JS 'exit' listener (which may still post), on
// process.exit(), an uncaught exception or the end of the program.
struct Releasers {
  std::mutex mutex;
  std::set<Sem*> sems;
};
Releasers& ProcessReleasers() {
  static Releasers* releasers = new Releasers();  // immortal: atexit may run after static destructors
  return *releasers;
}

void ReleaseAtProcessExit() { ReleaseAllHeld(); }

}  // namespace

long ReleaseAllHeld() {
  long released = 0;
  std::lock_guard<std::mutex> lock(ProcessReleasers().mutex);
  for (Sem* sem : ProcessReleasers().sems) released += sem->ReleaseHeld();
  return released;
}

Sem::Sem(sem_t* sem, std::string name, int flags, std::shared_ptr<Registry> registry)
    : sem_(sem), name_(std::move(name)), flags_(flags), registry_(std::move(registry)) {
  registry_->open.insert(this);
  if (flags_ & kReleaseOnExit) {
    static const int registered = atexit(ReleaseAtProcessExit);  // once per process
    (void)registered;
    std::lock_guard<std::mutex> lock(ProcessReleasers().mutex);
    ProcessReleasers().sems.insert(this);
  }
}

Sem::~Sem() {
  if (flags_ & kReleaseOnExit) {
    std::lock_guard<std::mutex> lock(ProcessReleasers().mutex);
    ProcessReleasers().sems.erase(this);
  }
  registry_->open.erase(this);
  if (sem_ != nullptr) sem_close(sem_);
}

// A wait in flight through this handle goes on: other handles' acquires
// may want it (JS tells it with setWanted when nobody does).
void Sem::MarkClosed() { closed_ = true; }

long Sem::ReleaseHeld() {
  long released = 0;
  if (!(flags_ & kReleaseOnExit) || sem_ == nullptr) return 0;
  // Another thread may release at the same time (a signal on the main
  // thread for a worker's handle): each unit is claimed before it is posted.
  long now = held.load();
  while (now > 0) {
    if (!held.compare_exchange_weak(now, now - 1)) continue;
    if (sem_post(sem_) != 0) {
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
    // No releasing from another thread once the mapping may go.
    std::lock_guard<std::mutex> lock(ProcessReleasers().mutex);
    ProcessReleasers().sems.erase(this);
  }
  if (!inflight && sem_ != nullptr) {
    sem_close(sem_);
    sem_ = nullptr;
  }
}

HandleData::~HandleData() {
  if (sem && !sem->closed()) {
    sem->ReleaseHeld();
    sem->MarkClosed();
  }
}

}  // namespace psem
