// The C side of bench/win32.js: the Win32 calls posix-semaphore makes on
// Windows, timed in C. Cross-compiled with mingw-w64, run under Wine.
//   pair N ROUNDS                  WaitForSingleObject(h, 0) + ReleaseSemaphore: ns per pair, a line per round
//   pingpong N ROUNDS              two threads, each waiting (WaitForSingleObject) for the other's post: us per round trip
//   pingpong-registered N ROUNDS   the same, the answering side a RegisterWaitForSingleObject callback: us per round trip
//   partner PING PONG N            for a JS process: N times, post Local\PING and wait for Local\PONG
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <windows.h>

static double now_ns(void) {
  static LARGE_INTEGER f;
  LARGE_INTEGER t;
  if (f.QuadPart == 0) QueryPerformanceFrequency(&f);
  QueryPerformanceCounter(&t);
  return (double)t.QuadPart * 1e9 / (double)f.QuadPart;
}

static HANDLE ping, pong;

static DWORD WINAPI answer(LPVOID arg) {
  long n = (long)(INT_PTR)arg;
  for (long i = 0; i < n; i++) {
    WaitForSingleObject(ping, INFINITE);
    ReleaseSemaphore(pong, 1, NULL);
  }
  return 0;
}

static HANDLE registered;
static VOID CALLBACK on_ping(PVOID arg, BOOLEAN timed_out) {
  (void)arg;
  (void)timed_out;
  ReleaseSemaphore(pong, 1, NULL);
}

int main(int argc, char** argv) {
  if (argc < 3) return 2;
  const char* mode = argv[1];
  if (strcmp(mode, "partner") == 0) {
    char a[300], b[300];
    snprintf(a, sizeof a, "Local\\%s", argv[2]);
    snprintf(b, sizeof b, "Local\\%s", argv[3]);
    HANDLE p = OpenSemaphoreA(SEMAPHORE_ALL_ACCESS, FALSE, a), q = OpenSemaphoreA(SEMAPHORE_ALL_ACCESS, FALSE, b);
    if (p == NULL || q == NULL) return 1;
    long n = atol(argv[4]);
    for (long i = 0; i < n; i++) {
      ReleaseSemaphore(p, 1, NULL);
      WaitForSingleObject(q, INFINITE);
    }
    return 0;
  }
  long n = atol(argv[2]);
  int rounds = argc > 3 ? atoi(argv[3]) : 5;
  HANDLE h = CreateSemaphoreA(NULL, 1, 0x7fffffff, NULL);
  ping = CreateSemaphoreA(NULL, 0, 0x7fffffff, NULL);
  pong = CreateSemaphoreA(NULL, 0, 0x7fffffff, NULL);
  for (int r = 0; r < rounds; r++) {
    double t0 = now_ns();
    if (strcmp(mode, "pair") == 0) {
      for (long i = 0; i < n; i++) {
        WaitForSingleObject(h, 0);
        ReleaseSemaphore(h, 1, NULL);
      }
      printf("%.1f\n", (now_ns() - t0) / n);
    } else if (strcmp(mode, "pingpong") == 0) {
      HANDLE t = CreateThread(NULL, 0, answer, (LPVOID)(INT_PTR)n, 0, NULL);
      t0 = now_ns();
      for (long i = 0; i < n; i++) {
        ReleaseSemaphore(ping, 1, NULL);
        WaitForSingleObject(pong, INFINITE);
      }
      printf("%.2f\n", (now_ns() - t0) / n / 1000);
      WaitForSingleObject(t, INFINITE);
      CloseHandle(t);
    } else if (strcmp(mode, "pingpong-registered") == 0) {
      // A callback that stays registered: each post of ping runs it once.
      RegisterWaitForSingleObject(&registered, ping, on_ping, NULL, INFINITE, WT_EXECUTEINWAITTHREAD);
      t0 = now_ns();
      for (long i = 0; i < n; i++) {
        ReleaseSemaphore(ping, 1, NULL);
        WaitForSingleObject(pong, INFINITE);
      }
      printf("%.2f\n", (now_ns() - t0) / n / 1000);
      UnregisterWaitEx(registered, INVALID_HANDLE_VALUE);
    } else {
      return 2;
    }
    fflush(stdout);
  }
  return 0;
}
