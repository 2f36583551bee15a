// Win32 error codes as errno values, so that JS throws the same
// SemaphoreError codes on Windows as on Linux. docs/platforms.md has the map.
#include "win32.h"

namespace psem {

int ErrnoOf(DWORD error) {
  switch (error) {
    case ERROR_FILE_NOT_FOUND:  // OpenSemaphoreW: nobody holds that name
    case ERROR_PATH_NOT_FOUND:  // a namespace (Global\, Local\) that does not exist
      return ENOENT;
    case ERROR_ALREADY_EXISTS:
      return EEXIST;
    case ERROR_ACCESS_DENIED:  // another user's object, or Global\ without SeCreateGlobalPrivilege
      return EACCES;
    case ERROR_INVALID_HANDLE:  // the name belongs to another kind of object (a mutex, an event, ...)
      return EINVAL;
    case ERROR_TOO_MANY_POSTS:  // ReleaseSemaphore past the maximum count
      return EOVERFLOW;
    case ERROR_TOO_MANY_OPEN_FILES:
      return EMFILE;
    case ERROR_NOT_ENOUGH_MEMORY:
    case ERROR_OUTOFMEMORY:
    case ERROR_NO_SYSTEM_RESOURCES:
    case ERROR_COMMITMENT_LIMIT:
      return ENOMEM;
    case ERROR_FILENAME_EXCED_RANGE:
      return ENAMETOOLONG;
    case ERROR_TIMEOUT:
    case WAIT_TIMEOUT:
      return ETIMEDOUT;
    case ERROR_INVALID_NAME:
    case ERROR_BAD_PATHNAME:
    case ERROR_INVALID_PARAMETER:
    default:
      return EINVAL;
  }
}

}  // namespace psem
