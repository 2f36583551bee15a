// What the platform offers, and the glibc symbol versions the addon binds to.
// Included first by every native source.
#ifndef POSIX_SEMAPHORE_PLATFORM_H
#define POSIX_SEMAPHORE_PLATFORM_H

#include <semaphore.h>

// macOS has neither sem_timedwait nor sem_getvalue. The defines build those
// paths on Linux too, so that they are tested here.
#if !defined(__APPLE__) && !defined(POSIX_SEMAPHORE_NO_TIMEDWAIT)
#define HAVE_SEM_TIMEDWAIT 1
#endif
#if !defined(__APPLE__) && !defined(POSIX_SEMAPHORE_NO_GETVALUE)
#define HAVE_SEM_GETVALUE 1
#endif

// A prebuild that loads wherever Node.js does. Linked on a new glibc, the
// addon would ask for that glibc's newest symbol versions (the sem_*
// functions moved into libc.so.6 with new versions in 2.34) and refuse to
// load on older systems (RHEL 8 has 2.28), although the functions are the
// same. So on x86-64 glibc they are bound to their first version, and
// sem_clockwait (glibc 2.30) is looked up when the addon loads.
#if defined(__GLIBC__) && defined(__x86_64__)
__asm__(".symver sem_open,sem_open@GLIBC_2.2.5");
__asm__(".symver sem_close,sem_close@GLIBC_2.2.5");
__asm__(".symver sem_unlink,sem_unlink@GLIBC_2.2.5");
__asm__(".symver sem_wait,sem_wait@GLIBC_2.2.5");
__asm__(".symver sem_trywait,sem_trywait@GLIBC_2.2.5");
__asm__(".symver sem_timedwait,sem_timedwait@GLIBC_2.2.5");
__asm__(".symver sem_post,sem_post@GLIBC_2.2.5");
__asm__(".symver sem_getvalue,sem_getvalue@GLIBC_2.2.5");
__asm__(".symver sem_init,sem_init@GLIBC_2.2.5");
__asm__(".symver sem_destroy,sem_destroy@GLIBC_2.2.5");
__asm__(".symver dlsym,dlsym@GLIBC_2.2.5");
__asm__(".symver pthread_kill,pthread_kill@GLIBC_2.2.5");
__asm__(".symver pthread_sigmask,pthread_sigmask@GLIBC_2.2.5");
__asm__(".symver pthread_create,pthread_create@GLIBC_2.2.5");
__asm__(".symver pthread_join,pthread_join@GLIBC_2.2.5");
__asm__(".symver pthread_attr_init,pthread_attr_init@GLIBC_2.2.5");
__asm__(".symver pthread_attr_destroy,pthread_attr_destroy@GLIBC_2.2.5");
__asm__(".symver pthread_attr_setstacksize,pthread_attr_setstacksize@GLIBC_2.2.5");
#elif defined(__GLIBC__) && defined(__aarch64__)
// aarch64's first glibc is 2.17 (the linux-arm64 prebuild, cross-compiled).
__asm__(".symver sem_open,sem_open@GLIBC_2.17");
__asm__(".symver sem_close,sem_close@GLIBC_2.17");
__asm__(".symver sem_unlink,sem_unlink@GLIBC_2.17");
__asm__(".symver sem_wait,sem_wait@GLIBC_2.17");
__asm__(".symver sem_trywait,sem_trywait@GLIBC_2.17");
__asm__(".symver sem_timedwait,sem_timedwait@GLIBC_2.17");
__asm__(".symver sem_post,sem_post@GLIBC_2.17");
__asm__(".symver sem_getvalue,sem_getvalue@GLIBC_2.17");
__asm__(".symver sem_init,sem_init@GLIBC_2.17");
__asm__(".symver sem_destroy,sem_destroy@GLIBC_2.17");
__asm__(".symver dlsym,dlsym@GLIBC_2.17");
__asm__(".symver pthread_kill,pthread_kill@GLIBC_2.17");
__asm__(".symver pthread_sigmask,pthread_sigmask@GLIBC_2.17");
__asm__(".symver pthread_create,pthread_create@GLIBC_2.17");
__asm__(".symver pthread_join,pthread_join@GLIBC_2.17");
__asm__(".symver pthread_attr_init,pthread_attr_init@GLIBC_2.17");
__asm__(".symver pthread_attr_destroy,pthread_attr_destroy@GLIBC_2.17");
__asm__(".symver pthread_attr_setstacksize,pthread_attr_setstacksize@GLIBC_2.17");
#endif

#endif  // POSIX_SEMAPHORE_PLATFORM_H
