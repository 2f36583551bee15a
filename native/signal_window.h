// Signals during a sync wait.
//
// libuv installs its handlers with SA_RESTART, so a blocked sem_wait would
// never return for a signal the program listens to, and its JS listener
// would never run. While a sync wait blocks, the signals in `mask` (those
// the program listens to, chosen by src/) are caught here without
// SA_RESTART, so the wait returns EINTR; then libuv's handlers come back and
// each caught signal is raised again for them, so the JS listeners run as
// usual. Any other signal (libuv's SIGCHLD, say) never ends a wait.
#ifndef POSIX_SEMAPHORE_SIGNAL_WINDOW_H
#define POSIX_SEMAPHORE_SIGNAL_WINDOW_H

#include "platform.h"

#include <signal.h>
#include <stdint.h>

namespace psem {

class SignalWindow {
 public:
  explicit SignalWindow(uint32_t mask);
  ~SignalWindow();
  SignalWindow(const SignalWindow&) = delete;
  SignalWindow& operator=(const SignalWindow&) = delete;

  // A signal of the mask arrived: an EINTR now is the program's.
  bool Caught() const;

 private:
  uint32_t changed_ = 0;
  struct sigaction saved_[32];
};

// The signals that ended the last sync wait with EINTR.
uint32_t LastInterruption();

}  // namespace psem

#endif  // POSIX_SEMAPHORE_SIGNAL_WINDOW_H
