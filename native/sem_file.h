// The file behind a named semaphore (Linux: /dev/shm/sem.NAME): its owner,
// and whether it can be a semaphore at all. /dev/shm is shared by every
// user and glibc maps whatever file has the name; a stray or hostile file
// must give an error, not a SIGBUS or an abort inside the futex calls.
#ifndef POSIX_SEMAPHORE_SEM_FILE_H
#define POSIX_SEMAPHORE_SEM_FILE_H

#include "platform.h"

#include <string>

namespace psem {

struct SemFileOwner {
  long uid = -1;  // -1: unknown (not Linux, or the name is gone)
  long gid = -1;
  unsigned mode = 0;             // permission bits
  unsigned long long inode = 0;  // 0: unknown
  unsigned long long device = 0;
};

// Checks the semaphore `sem` just opened as `name`. Returns 0, or EINVAL
// when its file is too short for a sem_t or its header is not glibc's
// process-shared semaphore; fills `owner`.
//
// Cannot be checked: a file crafted with a valid header; a file truncated
// or overwritten after the check; other C libraries' layouts (the header
// check runs only where it calibrated itself on this glibc).
int InspectSemFile(const std::string& name, sem_t* sem, SemFileOwner* owner);

// The identity (device and inode) of the file that `name` names now; false
// when there is none (or the platform cannot tell).
bool IdentifySemFile(const std::string& name, unsigned long long* device, unsigned long long* inode);

}  // namespace psem

#endif  // POSIX_SEMAPHORE_SEM_FILE_H
