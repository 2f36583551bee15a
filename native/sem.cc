#include "sem.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

// The signal handler only writes the signal number to a pipe (all it may
// do safely); a thread of ours reads it, releases under the mutex, and
// ends the process by the signal.
int fatalSignalPipe[2] = {-1, -1};
struct sigaction previousAction[32];  // what OnFatalSignal replaced, given back before the signal is raised again

extern "C" void OnFatalSignal(int sig) {
  int savedErrno = errno;
  unsigned char byte = static_cast<unsigned char>(sig);
  ssize_t written = write(fatalSignalPipe[1], &byte, 1);
  (void)written;
  errno = savedErrno;
}

void* ReleaseThenDie(void*) {
  unsigned char sig = 0;
  ssize_t n;
  do n = read(fatalSignalPipe[0], &sig, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1) return nullptr;
  ReleaseAllHeld();
  sigaction(sig, &previousAction[sig], nullptr);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
  kill(getpid(), sig);
  return nullptr;
}

bool StartReleaser() {
  if (pipe2(fatalSignalPipe, O_CLOEXEC) != 0) return false;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_t thread;
  bool started = pthread_create(&thread, &attr, ReleaseThenDie, nullptr) == 0;
  pthread_attr_destroy(&attr);
  return started;
}

}  // namespace

void ReleaseOnFatalSignals() {
  static const bool started = StartReleaser();  // once per process
  if (!started) return;
  for (int sig : {SIGINT, SIGTERM}) {
    struct sigaction current;
    if (sigaction(sig, nullptr, &current) != 0) continue;
    if (current.sa_handler == OnFatalSignal) continue;
    // Nobody listens when the action is the default, or Node's own handler
    // that restores the terminal and dies (installed with SA_RESETHAND);
    // a JS listener's (libuv's, SA_RESTART) must keep the process alive.
    bool dies = (current.sa_flags & SA_SIGINFO) == 0 && current.sa_handler == SIG_DFL;
    if (!dies && (current.sa_flags & SA_RESETHAND) == 0) continue;
    previousAction[sig] = current;
    struct sigaction catching;
    memset(&catching, 0, sizeof catching);
    catching.sa_handler = OnFatalSignal;
    catching.sa_flags = SA_RESTART | SA_RESETHAND;
    sigfillset(&catching.sa_mask);
    sigaction(sig, &catching, nullptr);
  }
}

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
  Ledger::Release(std::move(ledger));
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
    if (Post() != 0) {
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
