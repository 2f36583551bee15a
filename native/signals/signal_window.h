// Signals during a sync wait on the main thread.
//
// libuv installs its handlers with SA_RESTART, so a blocked sem_wait would
// never return for a signal the program listens to, and its JS listener
// would never run. While a sync wait of the main thread blocks, the signals
// in `mask` (those the program listens to, chosen by src/) are caught here
// without SA_RESTART, so the wait returns EINTR; then libuv's handlers come
// back and each caught signal is raised again for them, so the JS listeners
// run as usual. Any other signal (libuv's SIGCHLD, say) never ends a wait.
//
// A process-directed signal may land on any thread (V8's and libuv's
// threads do not block them): the handler then forwards it to the waiting
// thread (pthread_kill), whose wait it must end. The state is written only
// by the waiting thread (and its own handler); other threads only read it.
// A window with an empty mask (every worker thread's) touches nothing.
//
// Not covered: a signal that arrives in the microseconds between the JS
// call and the handlers' swap goes to libuv as usual and ends no wait.
#ifndef POSIX_SEMAPHORE_SIGNAL_WINDOW_H
#define POSIX_SEMAPHORE_SIGNAL_WINDOW_H

#include "platform.h"

#include <signal.h>
#include <stdint.h>

namespace psem {

class SignalWindow {
 public:
  explicit SignalWindow(uint32_t mask);
  ~SignalWindow() { Close(); }
  SignalWindow(const SignalWindow&) = delete;
  SignalWindow& operator=(const SignalWindow&) = delete;

  // A signal of the mask arrived: an EINTR now is the program's.
  bool Caught() const;

  // Some signal's handler was swapped: a signal may end this wait.
  bool Listening() const { return changed_ != 0; }

  // Gives libuv its handlers back, raises the caught signals again for it,
  // and returns them (bit n: signal n). Idempotent.
  uint32_t Close();

 private:
  uint32_t changed_ = 0;  // signals whose handler this window swapped
  bool open_ = false;
  uint32_t caught_ = 0;
  struct sigaction saved_[32];
};

}  // namespace psem

#endif  // POSIX_SEMAPHORE_SIGNAL_WINDOW_H
