#include "signal_window.h"

#include <string.h>

#include <atomic>

namespace psem {
namespace {

std::atomic<uint32_t> caughtSignals{0};  // during the current sync wait
uint32_t lastInterruption = 0;           // signals that ended the last one

extern "C" void CatchSignal(int sig) { caughtSignals.fetch_or(1u << sig); }

}  // namespace

SignalWindow::SignalWindow(uint32_t mask) {
  caughtSignals.store(0);
  if (mask == 0) return;
  struct sigaction catching;
  memset(&catching, 0, sizeof catching);
  catching.sa_handler = CatchSignal;
  sigfillset(&catching.sa_mask);
  for (int sig = 1; sig < 32; sig++) {
    if ((mask & (1u << sig)) == 0) continue;
    struct sigaction current;
    if (sigaction(sig, nullptr, &current) != 0) continue;
    bool handled = (current.sa_flags & SA_SIGINFO) != 0 ||
                   (current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN);
    if (handled && sigaction(sig, &catching, &saved_[sig]) == 0) changed_ |= 1u << sig;
  }
}

SignalWindow::~SignalWindow() {
  for (int sig = 1; sig < 32; sig++) {
    if (changed_ & (1u << sig)) sigaction(sig, &saved_[sig], nullptr);
  }
  lastInterruption = caughtSignals.exchange(0);
  for (int sig = 1; sig < 32; sig++) {
    if (lastInterruption & (1u << sig)) raise(sig);
  }
}

bool SignalWindow::Caught() const { return caughtSignals.load() != 0; }

uint32_t LastInterruption() { return lastInterruption; }

}  // namespace psem
