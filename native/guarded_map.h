// A shared mapping of a file that someone else may truncate.
//
// The robust ledger is a file in /dev/shm that every user of its semaphore
// can write, and so truncate: touching a page of a mapping past the end of
// its file raises SIGBUS, which would kill the process. A guarded mapping
// catches that SIGBUS (one handler per process, installed with the first
// guarded mapping, passing every fault outside these mappings on to the
// handler it replaced, or to the default action): the mapping is replaced
// by zeroed private memory, so the faulting instruction completes harmlessly,
// and the mapping is marked broken for its owner to report.
//
// Threads: Map and the destructor on any thread; broken() on any thread;
// the handler on whichever thread faults.
#ifndef POSIX_SEMAPHORE_GUARDED_MAP_H
#define POSIX_SEMAPHORE_GUARDED_MAP_H

#include <stddef.h>

#include <memory>

namespace psem {

class GuardedMap {
 public:
  // Maps `size` bytes of `fd` shared and read-write. nullptr with *err set
  // on failure (ENFILE: too many guarded mappings in the process).
  static std::unique_ptr<GuardedMap> Map(int fd, size_t size, int* err);
  ~GuardedMap();
  GuardedMap(const GuardedMap&) = delete;
  GuardedMap& operator=(const GuardedMap&) = delete;

  void* data() const { return data_; }
  // The file was truncated under the mapping, which now reads zeroes.
  bool broken() const;

 private:
  GuardedMap(void* data, size_t length, int slot) : data_(data), length_(length), slot_(slot) {}
  void* data_;
  size_t length_;
  int slot_;  // in the process's table of guarded ranges
};

}  // namespace psem

#endif  // POSIX_SEMAPHORE_GUARDED_MAP_H
