// Stands in for glibc's <sys/single_threaded.h> (glibc >= 2.32), which the
// C++ headers of GCC >= 11 include to skip atomic reference counts in a
// single-threaded process. Its `__libc_single_threaded` is a symbol of
// version GLIBC_2.32, and referring to it would keep the prebuild from
// loading on an older glibc. Node.js is never single-threaded, so it is
// always 0 here and shared_ptr counts atomically, as it does on every glibc.
#ifndef POSIX_SEMAPHORE_COMPAT_SINGLE_THREADED_H
#define POSIX_SEMAPHORE_COMPAT_SINGLE_THREADED_H
static const char __libc_single_threaded = 0;
#endif
