#include "sem_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>

namespace psem {

#if defined(__linux__) && defined(__GLIBC__)
namespace {

// Which 32-bit word of a sem_t says "process-shared", and its value there:
// learnt from this glibc by initialising one private and one shared
// unnamed semaphore (x86-64 and arm64 glibc: word 2, FUTEX_SHARED = 128).
// index -1: no single such word, so no header check.
struct SharedWord {
  int index = -1;
  uint32_t value = 0;
};

SharedWord Calibrate() {
  SharedWord word;
  sem_t unshared, shared;
  memset(&unshared, 0, sizeof unshared);
  memset(&shared, 0, sizeof shared);
  if (sem_init(&unshared, 0, 0) != 0) return word;
  if (sem_init(&shared, 1, 0) != 0) {
    sem_destroy(&unshared);
    return word;
  }
  uint32_t a[sizeof(sem_t) / 4], b[sizeof(sem_t) / 4];
  memcpy(a, &unshared, sizeof a);
  memcpy(b, &shared, sizeof b);
  int differing = 0;
  for (size_t i = 0; i < sizeof(sem_t) / 4; i++) {
    if (a[i] != b[i]) {
      differing++;
      word.index = static_cast<int>(i);
      word.value = b[i];
    }
  }
  sem_destroy(&unshared);
  sem_destroy(&shared);
  if (differing != 1) word.index = -1;
  return word;
}

}  // namespace

int InspectSemFile(const std::string& name, sem_t* sem, SemFileOwner* owner) {
  static const SharedWord shared = Calibrate();
  // statx (glibc 2.28) rather than stat, which glibc 2.33 gave a new symbol version.
  std::string path = "/dev/shm/sem." + name.substr(1);
  struct statx st;
  if (statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_UID | STATX_GID | STATX_SIZE | STATX_MODE | STATX_INO,
            &st) != 0) {
    return 0;  // gone already (unlinked under us): nothing to check, owner unknown
  }
  owner->uid = st.stx_uid;
  owner->gid = st.stx_gid;
  owner->mode = st.stx_mode & 0777;
  owner->inode = st.stx_ino;
  owner->device = (static_cast<unsigned long long>(st.stx_dev_major) << 32) | st.stx_dev_minor;
  // glibc maps whatever file has the name: touching a short one is SIGBUS.
  if (st.stx_size < sizeof(sem_t)) return EINVAL;
  if (shared.index >= 0) {
    uint32_t word;
    memcpy(&word, reinterpret_cast<const char*>(sem) + 4 * shared.index, sizeof word);
    if (word != shared.value) return EINVAL;  // the futex calls would abort the process
  }
  return 0;
}

bool IdentifySemFile(const std::string& name, unsigned long long* device, unsigned long long* inode) {
  std::string path = "/dev/shm/sem." + name.substr(1);
  struct statx st;
  if (statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_INO, &st) != 0) return false;
  *device = (static_cast<unsigned long long>(st.stx_dev_major) << 32) | st.stx_dev_minor;
  *inode = st.stx_ino;
  return true;
}

#else

int InspectSemFile(const std::string&, sem_t*, SemFileOwner*) { return 0; }
bool IdentifySemFile(const std::string&, unsigned long long*, unsigned long long*) { return false; }

#endif

}  // namespace psem
