#include "signal_window.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include <atomic>

namespace psem {
namespace {

// The open window, if any. Only one thread, the main thread, opens windows
// with signals (src/ passes an empty mask elsewhere), one at a time.
std::atomic<bool> windowOpen{false};
pthread_t waitingThread;                 // set before windowOpen, by the waiting thread
std::atomic<uint32_t> caughtSignals{0};  // written by the waiting thread's own handler

extern "C" void CatchSignal(int sig) {
  int savedErrno = errno;
  if (!windowOpen.load()) {
    // The window closed while this handler ran elsewhere: libuv's handler
    // is back; send the signal its way, on this thread.
    raise(sig);
  } else if (pthread_equal(pthread_self(), waitingThread)) {
    caughtSignals.fetch_or(1u << sig);
  } else {
    pthread_kill(waitingThread, sig);  // the waiting thread's wait must end
  }
  errno = savedErrno;
}

}  // namespace

SignalWindow::SignalWindow(uint32_t mask) {
  if (mask == 0) return;
  waitingThread = pthread_self();
  caughtSignals.store(0);
  windowOpen.store(true);
  open_ = true;
  struct sigaction catching;
  memset(&catching, 0, sizeof catching);
  catching.sa_handler = CatchSignal;  // no SA_RESTART: the wait returns EINTR
  sigfillset(&catching.sa_mask);
  for (int sig = 1; sig < 32; sig++) {
    if ((mask & (1u << sig)) == 0) continue;
    struct sigaction current;
    if (sigaction(sig, nullptr, &current) != 0) continue;
    bool handled =
        (current.sa_flags & SA_SIGINFO) != 0 || (current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN);
    if (handled && sigaction(sig, &catching, &saved_[sig]) == 0) changed_ |= 1u << sig;
  }
}

bool SignalWindow::Caught() const { return open_ && caughtSignals.load() != 0; }

uint32_t SignalWindow::Close() {
  if (!open_) return caught_;
  open_ = false;
  for (int sig = 1; sig < 32; sig++) {
    if (changed_ & (1u << sig)) sigaction(sig, &saved_[sig], nullptr);
  }
  // Handlers first, then the flag: a handler still running on another
  // thread either forwards here (libuv's handler then takes it) or raises
  // it on its own thread for libuv.
  windowOpen.store(false);
  caught_ = caughtSignals.exchange(0);
  for (int sig = 1; sig < 32; sig++) {
    if (caught_ & (1u << sig)) raise(sig);
  }
  return caught_;
}

}  // namespace psem
