#include "guarded_map.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <mutex>

namespace psem {
namespace {

// The guarded ranges of the process: a fixed table, so that the handler
// reads it without locks or allocation. One per robust semaphore in use.
constexpr int kRanges = 4096;
struct Range {
  std::atomic<uintptr_t> start{0};  // 0: free
  std::atomic<uintptr_t> end{0};
  std::atomic<bool> broken{false};
};
Range* ranges = nullptr;  // allocated once, never freed (the handler may run at any time)
std::mutex tableMutex;    // claims and frees entries; the handler only reads
struct sigaction previous;

void PassOn(int sig, siginfo_t* info, void* context) {
  if ((previous.sa_flags & SA_SIGINFO) != 0 && previous.sa_sigaction != nullptr) {
    previous.sa_sigaction(sig, info, context);
  } else if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
    previous.sa_handler(sig);
  } else {
    // The default action: restore it; the faulting instruction runs again and faults for real.
    struct sigaction fallback;
    memset(&fallback, 0, sizeof fallback);
    fallback.sa_handler = SIG_DFL;
    sigemptyset(&fallback.sa_mask);
    sigaction(sig, &fallback, nullptr);
  }
}

extern "C" void OnBusError(int sig, siginfo_t* info, void* context) {
  const uintptr_t address = reinterpret_cast<uintptr_t>(info->si_addr);
  for (int i = 0; i < kRanges; i++) {
    Range& range = ranges[i];
    const uintptr_t start = range.start.load(std::memory_order_acquire);
    if (start == 0 || address < start || address >= range.end.load(std::memory_order_acquire)) continue;
    // Ours: zeroed private memory in its place (mmap is a plain system call,
    // safe here), so the faulting access completes and reads zero.
    int saved = errno;
    mmap(reinterpret_cast<void*>(start), range.end.load() - start, PROT_READ | PROT_WRITE,
         MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    range.broken.store(true);
    errno = saved;
    return;
  }
  PassOn(sig, info, context);
}

bool InstallHandler() {
  ranges = new Range[kRanges];
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = OnBusError;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  sigemptyset(&action.sa_mask);
  return sigaction(SIGBUS, &action, &previous) == 0;
}

}  // namespace

std::unique_ptr<GuardedMap> GuardedMap::Map(int fd, size_t size, int* err) {
  std::lock_guard<std::mutex> lock(tableMutex);
  static const bool installed = InstallHandler();
  if (!installed) {
    *err = errno;
    return nullptr;
  }
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t length = (size + page - 1) / page * page;
  int slot = -1;
  for (int i = 0; i < kRanges && slot < 0; i++) {
    if (ranges[i].start.load() == 0) slot = i;
  }
  if (slot < 0) {
    *err = ENFILE;
    return nullptr;
  }
  void* data = mmap(nullptr, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (data == MAP_FAILED) {
    *err = errno;
    return nullptr;
  }
  Range& range = ranges[slot];
  range.broken.store(false);
  range.end.store(reinterpret_cast<uintptr_t>(data) + length, std::memory_order_release);
  range.start.store(reinterpret_cast<uintptr_t>(data), std::memory_order_release);
  return std::unique_ptr<GuardedMap>(new GuardedMap(data, length, slot));
}

GuardedMap::~GuardedMap() {
  std::lock_guard<std::mutex> lock(tableMutex);
  ranges[slot_].start.store(0, std::memory_order_release);
  munmap(data_, length_);
}

bool GuardedMap::broken() const { return ranges[slot_].broken.load(std::memory_order_relaxed); }

}  // namespace psem
