// Named POSIX semaphores for Node.js: syscalls and errno, nothing else.
//
// Every call returns 0 or an errno value (or a handle / a value) and leaves
// names, defaults, argument checks and error objects to src/. The hot calls
// (tryWait, post, wait, timedWait) are bound to their handle as raw Node-API
// callbacks: an ObjectWrap method call alone costs more than the whole
// sem_wait+sem_post.
#include <napi.h>
#include <uv.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <set>
#include <utility>

// macOS has neither. POSIX_SEMAPHORE_NO_TIMEDWAIT and _NO_GETVALUE build its
// paths on Linux too, for their test (test/macos-path.test.js).
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
__asm__(".symver dlsym,dlsym@GLIBC_2.2.5");
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
__asm__(".symver dlsym,dlsym@GLIBC_2.17");
#endif

namespace {

// What JS asked of a handle at exit; bits of the `flags` argument of open().
enum ExitFlags : int {
  kCloseOnExit = 1,
  kReleaseOnExit = 2,
};

constexpr int kClosed = -1;  // returned instead of an errno for a closed handle

class Sem;

// The open semaphores of one Node environment (main thread or worker), so
// that signals and environment teardown can release and close what is left.
struct Registry {
  std::set<Sem*> open;
};

// The releaseOnExit handles of the whole process, for the C atexit handler:
// it runs after every JS 'exit' listener (which may still post), on
// process.exit(), an uncaught exception or the end of the program.
struct Releasers {
  std::mutex mutex;
  std::set<Sem*> sems;
};
Releasers& ProcessReleasers() {
  static Releasers* releasers = new Releasers();  // immortal: atexit may run after static destructors
  return *releasers;
}
void ReleaseAtProcessExit();

// One sem_t*, owned jointly by the JS handle and any wait slice in flight;
// sem_close runs when the last owner lets go, never under a waiting thread.
// All members are touched on the environment's own thread only, except
// `sem_` (read by a wait slice; it never changes while a slice holds us)
// and `wanted`.
class Sem {
 public:
  Sem(sem_t* sem, std::string name, int flags, std::shared_ptr<Registry> registry)
      : sem_(sem), name_(std::move(name)), flags_(flags), registry_(std::move(registry)) {
    registry_->open.insert(this);
    if (flags_ & kReleaseOnExit) {
      static const int registered = atexit(ReleaseAtProcessExit);  // once per process
      (void)registered;
      std::lock_guard<std::mutex> lock(ProcessReleasers().mutex);
      ProcessReleasers().sems.insert(this);
    }
  }
  ~Sem() {
    if (flags_ & kReleaseOnExit) {
      std::lock_guard<std::mutex> lock(ProcessReleasers().mutex);
      ProcessReleasers().sems.erase(this);
    }
    registry_->open.erase(this);
    if (sem_ != nullptr) sem_close(sem_);
  }
  Sem(const Sem&) = delete;
  Sem& operator=(const Sem&) = delete;

  sem_t* get() const { return sem_; }
  const std::string& name() const { return name_; }
  int flags() const { return flags_; }
  bool closed() const { return closed_; }

  // The handle is closed: no more calls, the mapping goes with the last owner.
  void MarkClosed() {
    closed_ = true;
    SetWanted(false);
  }

  // The wait slice in flight, if any: does some acquire() still want what it
  // takes? A unit it holds that nobody wants any more is posted back here and
  // now, before JS can react to the rejection that made it unwanted.
  void SetWanted(bool wanted) {
    int expected = wanted ? kSliceUnwanted : kSliceWanted;
    if (slice.compare_exchange_strong(expected, wanted ? kSliceWanted : kSliceUnwanted)) return;
    expected = kSliceHolding;
    if (!wanted && slice.compare_exchange_strong(expected, kSliceReturned)) sem_post(sem_);
  }

  // Posts back the units this handle still holds, if it asked for
  // releaseOnExit; returns how many.
  long ReleaseHeld() {
    long released = 0;
    if (!(flags_ & kReleaseOnExit) || sem_ == nullptr) return 0;
    while (held > 0 && sem_post(sem_) == 0) {
      --held;
      ++released;
    }
    return released;
  }

  // Teardown of the environment: release (if asked), then close unless a
  // slice still waits on the mapping.
  void Finish() {
    ReleaseHeld();
    closed_ = true;
    if (!inflight && sem_ != nullptr) {
      sem_close(sem_);
      sem_ = nullptr;
    }
  }

  long held = 0;          // units taken through this handle minus units posted
  bool inflight = false;  // a wait slice is on the threadpool

  // The state of the wait slice in flight, shared with its pool thread.
  enum SliceState : int {
    kSliceIdle,      // none in flight
    kSliceWanted,    // waiting, for an acquire() that wants the unit
    kSliceUnwanted,  // waiting, but every acquire() gave up: post back what it takes
    kSliceHolding,   // took a unit, on its way to JS
    kSliceReturned,  // took a unit that JS then gave up: already posted back
  };
  std::atomic<int> slice{kSliceIdle};

 private:
  sem_t* sem_;
  std::string name_;
  int flags_;
  bool closed_ = false;
  std::shared_ptr<Registry> registry_;
};

void ReleaseAtProcessExit() {
  std::lock_guard<std::mutex> lock(ProcessReleasers().mutex);
  for (Sem* sem : ProcessReleasers().sems) sem->ReleaseHeld();
}

// What a JS handle (an External) owns.
struct Holder {
  std::shared_ptr<Sem> sem;
  ~Holder() {
    // Collected without close(): a dropped handle gives back what it holds
    // when it asked for releaseOnExit, as the process would at exit.
    if (sem && !sem->closed()) {
      sem->ReleaseHeld();
      sem->MarkClosed();
    }
  }
};

// What the handle (an External) owns; a wait slice in flight shares the Sem.
using HolderRef = std::shared_ptr<Holder>;
using Handle = Napi::External<HolderRef>;

struct Instance {
  std::shared_ptr<Registry> registry = std::make_shared<Registry>();
  bool worker = false;             // a worker thread's environment, not the main thread's
  Napi::FunctionReference probe;  // a no-op, called to ask whether JS may still run
};

// ---------------------------------------------------------------------------
// Signals during a sync wait.
//
// libuv installs its handlers with SA_RESTART, so a blocked sem_wait would
// never return for a signal the program listens to, and its JS listener
// would never run. While a sync wait blocks, the signals in `mask` (those
// the program listens to, chosen by src/) are caught here without
// SA_RESTART, so the wait returns EINTR; then libuv's handlers come back and
// each caught signal is raised again for them, so the JS listeners run as
// usual. Any other signal (libuv's SIGCHLD, say) never ends a wait.

std::atomic<uint32_t> caughtSignals{0};  // during the current sync wait
uint32_t lastInterruption = 0;           // signals that ended the last one

extern "C" void CatchSignal(int sig) { caughtSignals.fetch_or(1u << sig); }

class InterruptibleBy {
 public:
  explicit InterruptibleBy(uint32_t mask) {
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
  ~InterruptibleBy() {
    for (int sig = 1; sig < 32; sig++) {
      if (changed_ & (1u << sig)) sigaction(sig, &saved_[sig], nullptr);
    }
    lastInterruption = caughtSignals.exchange(0);
    for (int sig = 1; sig < 32; sig++) {
      if (lastInterruption & (1u << sig)) raise(sig);
    }
  }
  InterruptibleBy(const InterruptibleBy&) = delete;
  InterruptibleBy& operator=(const InterruptibleBy&) = delete;

  // A signal of the mask arrived: an EINTR now is the program's.
  bool Caught() const { return caughtSignals.load() != 0; }

 private:
  uint32_t changed_ = 0;
  struct sigaction saved_[32];
};

// interruptedBy() -> the signal number that ended the last sync wait with EINTR
Napi::Value InterruptedBy(const Napi::CallbackInfo& info) {
  for (int sig = 1; sig < 32; sig++) {
    if (lastInterruption & (1u << sig)) return Napi::Number::New(info.Env(), sig);
  }
  return Napi::Number::New(info.Env(), 0);
}

// ---------------------------------------------------------------------------
// Timed waits.

void AddMillis(struct timespec* ts, double ms) {
  long long ns = static_cast<long long>(ms * 1e6);
  ts->tv_sec += static_cast<time_t>(ns / 1000000000LL);
  ts->tv_nsec += static_cast<long>(ns % 1000000000LL);
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec += 1;
    ts->tv_nsec -= 1000000000L;
  }
}

bool Reached(const struct timespec& now, const struct timespec& deadline) {
  return now.tv_sec > deadline.tv_sec || (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec);
}

#ifdef HAVE_SEM_TIMEDWAIT
// sem_clockwait (glibc >= 2.30) measures on CLOCK_MONOTONIC, immune to
// wall-clock jumps; without it, sem_timedwait measures on the wall clock.
// POSIX_SEMAPHORE_NO_CLOCKWAIT builds the fallback here too, for its test.
using ClockWait = int (*)(sem_t*, clockid_t, const struct timespec*);
#ifdef POSIX_SEMAPHORE_NO_CLOCKWAIT
const ClockWait clockWait = nullptr;
#else
const ClockWait clockWait = reinterpret_cast<ClockWait>(dlsym(RTLD_DEFAULT, "sem_clockwait"));
#endif
const clockid_t kWaitClock = clockWait != nullptr ? CLOCK_MONOTONIC : CLOCK_REALTIME;
#else
const clockid_t kWaitClock = CLOCK_MONOTONIC;  // the macOS polling below measures on it
#endif

// `ms` milliseconds from now on kWaitClock.
struct timespec DeadlineIn(double ms) {
  struct timespec deadline;
  clock_gettime(kWaitClock, &deadline);
  AddMillis(&deadline, ms);
  return deadline;
}

// Tries sem_trywait again and again for up to `us` microseconds, giving the
// CPU away (sched_yield) before each try. Returns 0, EAGAIN or another errno.
// acquire() calls it before it pays for a threadpool round trip: a holder
// about to post (often a process that our own post just woke, on this CPU or
// another) gets to run and post, and the unit is taken without one.
int Spin(sem_t* sem, double us) {
  struct timespec now, deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  AddMillis(&deadline, us / 1000);
  for (;;) {
    sched_yield();
    if (sem_trywait(sem) == 0) return 0;
    int err = errno;
    if (err != EAGAIN && err != EINTR) return err;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (Reached(now, deadline)) return EAGAIN;
  }
}

// Waits until `deadline` (kWaitClock). Returns 0, ETIMEDOUT, EINTR (only
// when a signal of `interruptible` arrived) or another errno. A timed futex
// wait returns EINTR after any signal handler, even with SA_RESTART: those
// are retried against the same absolute deadline, so never wait longer.
int WaitUntil(sem_t* sem, const struct timespec& deadline, const InterruptibleBy* interruptible) {
  if (interruptible != nullptr && interruptible->Caught()) return EINTR;  // caught between two waits
#ifdef HAVE_SEM_TIMEDWAIT
  for (;;) {
    int r = clockWait != nullptr ? clockWait(sem, kWaitClock, &deadline) : sem_timedwait(sem, &deadline);
    if (r == 0) return 0;
    int err = errno;
    if (err != EINTR || (interruptible != nullptr && interruptible->Caught())) return err;
  }
#else
  // No sem_timedwait (macOS): poll sem_trywait with a bounded back-off.
  struct timespec now;
  long pauseUs = 50;
  for (;;) {
    if (sem_trywait(sem) == 0) return 0;
    int err = errno;
    if (err == EINTR && interruptible != nullptr && interruptible->Caught()) return err;
    if (err != EAGAIN && err != EINTR) return err;
    clock_gettime(kWaitClock, &now);
    if (Reached(now, deadline)) return ETIMEDOUT;
    usleep(static_cast<useconds_t>(pauseUs));
    if (pauseUs < 10000) pauseUs *= 2;
  }
#endif
}

// Waits up to `ms` milliseconds; see WaitUntil().
int TimedWait(sem_t* sem, double ms, const InterruptibleBy* interruptible) {
  return WaitUntil(sem, DeadlineIn(ms), interruptible);
}

// Sync waits and Worker.terminate(). A blocked sem_wait cannot be
// interrupted from another thread, and a worker blocked in one would keep
// terminate(), and the process's exit after it, waiting forever. So in a
// worker, a sync wait blocks for at most kSyncSliceMs at a time (a post still
// wakes it at once) and between slices asks whether its environment is
// being stopped: Node-API then refuses any call into JS, even of a no-op.
// The main thread waits in one piece: nothing stops it while it blocks.
constexpr double kSyncSliceMs = 50;

bool Stopping(napi_env env, const Instance& instance) {
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return true;
  napi_value undefined, result;
  napi_get_undefined(env, &undefined);
  bool stopping = napi_call_function(env, undefined, instance.probe.Value(), 0, nullptr, &result) != napi_ok;
  napi_close_handle_scope(env, scope);
  return stopping;
}

// A sync wait for `ms` milliseconds, or until a unit comes when `ms` < 0.
// Returns 0, ETIMEDOUT, EINTR (a signal of `interruptible`), ECANCELED (the
// worker is being stopped) or another errno.
int SyncWait(napi_env env, sem_t* sem, double ms, const InterruptibleBy& interruptible) {
  const Instance& instance = *Napi::Env(env).GetInstanceData<Instance>();
#ifdef HAVE_SEM_TIMEDWAIT
  if (instance.worker) {
    const bool forever = ms < 0;
    const struct timespec deadline = DeadlineIn(forever ? 0 : ms);
    for (;;) {
      struct timespec slice = DeadlineIn(kSyncSliceMs);
      bool last = !forever && Reached(slice, deadline);
      int err = WaitUntil(sem, last ? deadline : slice, &interruptible);
      if (err != ETIMEDOUT || last) return err;
      if (Stopping(env, instance)) return ECANCELED;
    }
  }
#endif
  if (ms >= 0) return TimedWait(sem, ms, &interruptible);
  // A signal caught since the handlers were swapped interrupted no futex wait.
  if (interruptible.Caught()) return EINTR;
  while (sem_wait(sem) != 0) {
    int err = errno;
    if (err != EINTR || interruptible.Caught()) return err;
  }
  return 0;
}

// ---------------------------------------------------------------------------
// Handles.

inline Holder* HolderOf(const Napi::CallbackInfo& info) { return info[0].As<Handle>().Data()->get(); }

// The Sem of a holder, or nullptr once the handle is closed.
inline Sem* OpenSem(Holder* holder) {
  Sem* sem = holder->sem.get();
  return (sem != nullptr && !sem->closed()) ? sem : nullptr;
}

// The Sem behind a handle argument, or nullptr once the handle is closed.
inline Sem* Unwrap(const Napi::CallbackInfo& info) { return OpenSem(HolderOf(info)); }

// true when /dev/shm/sem.NAME exists but cannot hold a sem_t (a stray file).
bool TooSmall(const std::string& name) {
#ifdef __linux__
  // open+lseek rather than stat, which glibc 2.33 gave a new symbol version.
  std::string path = "/dev/shm/sem." + name.substr(1);
  int fd = open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return false;
  off_t size = lseek(fd, 0, SEEK_END);
  close(fd);
  return size >= 0 && size < static_cast<off_t>(sizeof(sem_t));
#else
  (void)name;
  return false;
#endif
}

// The hot calls, bound to one handle: raw Node-API callbacks with the
// holder as their data, so a call costs no argument unwrapping and success
// returns undefined (no number to make). Each returns an errno on failure,
// -1 once the handle is closed.
//   tryWait()  post()  wait(signalMask)  timedWait(ms, signalMask)
// wait() is for after tryWait() found the semaphore taken.
int CallTryWait(napi_env, sem_t* sem, const napi_value*) { return sem_trywait(sem) == 0 ? 0 : errno; }
int CallPost(napi_env, sem_t* sem, const napi_value*) { return sem_post(sem) == 0 ? 0 : errno; }
int CallWait(napi_env env, sem_t* sem, const napi_value* argv) {
  uint32_t mask = 0;
  napi_get_value_uint32(env, argv[0], &mask);
  InterruptibleBy interruptible(mask);
  return SyncWait(env, sem, -1, interruptible);
}
int CallTimedWait(napi_env env, sem_t* sem, const napi_value* argv) {
  double ms = 0;
  uint32_t mask = 0;
  napi_get_value_double(env, argv[0], &ms);
  napi_get_value_uint32(env, argv[1], &mask);
  InterruptibleBy interruptible(mask);
  return SyncWait(env, sem, ms, interruptible);
}

template <int (*Call)(napi_env, sem_t*, const napi_value*), int kHeldDelta>
napi_value BoundCall(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  void* data = nullptr;
  napi_get_cb_info(env, info, &argc, argv, nullptr, &data);
  Sem* sem = OpenSem(static_cast<HolderRef*>(data)->get());
  int err = sem == nullptr ? kClosed : Call(env, sem->get(), argv);
  if (err == 0) {
    sem->held += kHeldDelta;
    return nullptr;  // undefined
  }
  napi_value result;
  napi_create_int32(env, err, &result);
  return result;
}

// A function bound to the handle: its data is the handle's own HolderRef,
// and it keeps the handle (the External that owns that HolderRef) alive as a
// property, so one finaliser per handle frees everything.
template <int (*Call)(napi_env, sem_t*, const napi_value*), int kHeldDelta>
Napi::Value Bind(Napi::Env env, Handle handle, const char* name) {
  napi_value fn;
  NAPI_THROW_IF_FAILED(env, napi_create_function(env, name, NAPI_AUTO_LENGTH, BoundCall<Call, kHeldDelta>, handle.Data(), &fn), Napi::Value());
  Napi::Function function(env, fn);
  function.Set("handle", handle);
  return function;
}

// open(name, oflag, mode, value, flags) -> [handle, tryWait, post, wait, timedWait] | errno
Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  int oflag = info[1].As<Napi::Number>().Int32Value();
  mode_t mode = static_cast<mode_t>(info[2].As<Napi::Number>().Uint32Value());
  unsigned value = info[3].As<Napi::Number>().Uint32Value();
  int flags = info[4].As<Napi::Number>().Int32Value();

  sem_t* sem = (oflag & O_CREAT) ? sem_open(name.c_str(), oflag, mode, value)
                                 : sem_open(name.c_str(), oflag);
  if (sem == SEM_FAILED) return Napi::Number::New(env, errno);
  if (!(oflag & O_EXCL) && TooSmall(name)) {
    // glibc maps whatever file has the name: touching a short one is SIGBUS.
    sem_close(sem);
    return Napi::Number::New(env, EINVAL);
  }

  auto holder = std::make_shared<Holder>();
  holder->sem = std::make_shared<Sem>(sem, std::move(name), flags,
                                      env.GetInstanceData<Instance>()->registry);
  auto ref = std::make_unique<HolderRef>(std::move(holder));
  Handle handle = Handle::New(env, ref.release(), [](Napi::Env, HolderRef* r) { delete r; });
  Napi::Array result = Napi::Array::New(env, 5);
  result.Set(0u, handle);
  result.Set(1u, Bind<CallTryWait, 1>(env, handle, "tryWait"));
  result.Set(2u, Bind<CallPost, -1>(env, handle, "post"));
  result.Set(3u, Bind<CallWait, 1>(env, handle, "wait"));
  result.Set(4u, Bind<CallTimedWait, 1>(env, handle, "timedWait"));
  return result;
}

// close(handle) -> 0. The mapping goes when the last wait slice lets go.
Napi::Value Close(const Napi::CallbackInfo& info) {
  Holder* holder = HolderOf(info);
  if (holder->sem) {
    holder->sem->MarkClosed();
    holder->sem.reset();
  }
  return Napi::Number::New(info.Env(), 0);
}

Napi::Value Unlink(const Napi::CallbackInfo& info) {
  std::string name = info[0].As<Napi::String>().Utf8Value();
  int r = sem_unlink(name.c_str());
  return Napi::Number::New(info.Env(), r == 0 ? 0 : errno);
}

// getValue(handle) -> value >= 0 | -errno
Napi::Value GetValue(const Napi::CallbackInfo& info) {
  Sem* sem = Unwrap(info);
  if (sem == nullptr) return Napi::Number::New(info.Env(), -EBADF);
#ifdef HAVE_SEM_GETVALUE
  int value = 0;
  if (sem_getvalue(sem->get(), &value) != 0) return Napi::Number::New(info.Env(), -errno);
  return Napi::Number::New(info.Env(), value < 0 ? 0 : value);
#else
  return Napi::Number::New(info.Env(), -ENOSYS);
#endif
}

// ---------------------------------------------------------------------------
// The async path.

// One slice of an asynchronous wait: sem_clockwait on the threadpool for at
// most `ms`, then back to JS with 0 (acquired), ETIMEDOUT (slice over, ask
// again), ECANCELED (nobody wanted the unit: given back) or an errno. EINTR
// on the pool thread is not the user's signal: retried.
class WaitSlice : public Napi::AsyncWorker {
 public:
  WaitSlice(const Napi::Function& callback, std::shared_ptr<Sem> sem, double ms)
      : Napi::AsyncWorker(callback, "posix-semaphore:acquire"), sem_(std::move(sem)),
        semaphore_(sem_->get()), ms_(ms) {
    sem_->inflight = true;
    sem_->slice.store(Sem::kSliceWanted);
  }

  void Execute() override {
    err_ = TimedWait(semaphore_, ms_, nullptr);
    if (err_ != 0) return;
    int expected = Sem::kSliceWanted;
    if (!sem_->slice.compare_exchange_strong(expected, Sem::kSliceHolding)) {
      sem_post(semaphore_);  // every acquire gave up meanwhile: hold nothing
      err_ = ECANCELED;
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    sem_->inflight = false;
    int err = err_;
    // Returned: JS gave the unit up after this thread took it (SetWanted posted it back).
    if (err == 0 && sem_->slice.load() == Sem::kSliceReturned) err = ECANCELED;
    sem_->slice.store(Sem::kSliceIdle);
    if (err == 0) ++sem_->held;
    // Raw napi_call_function: in a worker being terminated, JS cannot run,
    // and node-addon-api's Call() would turn that into a fatal error.
    napi_value argv[1] = {Napi::Number::New(env, err)};
    napi_value result;
    napi_status status = napi_call_function(env, env.Undefined(), Callback().Value(), 1, argv, &result);
    if (status != napi_ok) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);
      // JS never took the unit: give it back.
      if (err == 0 && sem_post(semaphore_) == 0) --sem_->held;
    }
  }

 private:
  std::shared_ptr<Sem> sem_;
  sem_t* semaphore_;  // read on the pool thread; kept mapped by sem_
  double ms_;
  int err_ = 0;
};

// waitSlice(handle, ms, callback) -> 0 | -1 when closed
Napi::Value StartWaitSlice(const Napi::CallbackInfo& info) {
  const std::shared_ptr<Sem>& sem = HolderOf(info)->sem;
  if (!sem || sem->closed()) return Napi::Number::New(info.Env(), kClosed);
  auto worker = std::make_unique<WaitSlice>(info[2].As<Napi::Function>(), sem,
                                            info[1].As<Napi::Number>().DoubleValue());
  worker.release()->Queue();  // the AsyncWorker deletes itself after OnOK
  return Napi::Number::New(info.Env(), 0);
}

// trySpin(handle, us) -> 0 | errno | -1 when closed: see Spin().
Napi::Value TrySpin(const Napi::CallbackInfo& info) {
  Sem* sem = Unwrap(info);
  if (sem == nullptr) return Napi::Number::New(info.Env(), kClosed);
  int err = Spin(sem->get(), info[1].As<Napi::Number>().DoubleValue());
  if (err == 0) ++sem->held;
  return Napi::Number::New(info.Env(), err);
}

// setWanted(handle, wanted): whether the slice in flight should keep what it takes.
Napi::Value SetWanted(const Napi::CallbackInfo& info) {
  const std::shared_ptr<Sem>& sem = HolderOf(info)->sem;
  if (sem) sem->SetWanted(info[1].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

// ---------------------------------------------------------------------------
// Exit.

// openHandles() -> [[name, held, flags], ...] of this environment, for the
// debug lines of the JS 'exit' listener.
Napi::Value OpenHandles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array list = Napi::Array::New(env);
  uint32_t i = 0;
  for (Sem* sem : env.GetInstanceData<Instance>()->registry->open) {
    if (sem->closed()) continue;
    Napi::Array entry = Napi::Array::New(env, 3);
    entry.Set(0u, Napi::String::New(env, sem->name()));
    entry.Set(1u, Napi::Number::New(env, static_cast<double>(sem->held)));
    entry.Set(2u, Napi::Number::New(env, sem->flags()));
    list.Set(i++, entry);
  }
  return list;
}

// releaseHeld() -> units posted back: for a signal that will end the process.
Napi::Value ReleaseHeld(const Napi::CallbackInfo& info) {
  long released = 0;
  for (Sem* sem : info.Env().GetInstanceData<Instance>()->registry->open) {
    if (!sem->closed()) released += sem->ReleaseHeld();
  }
  return Napi::Number::New(info.Env(), static_cast<double>(released));
}

// Environment teardown (a worker that ends or is terminated, or the main
// thread at the end of the program): in-flight slices have completed by now.
void OnEnvCleanup(void* arg) {
  auto* registry = static_cast<Registry*>(arg);
  for (Sem* sem : registry->open) {
    if (!sem->closed()) sem->Finish();
  }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto instance = std::make_unique<Instance>();
  uv_loop_t* loop = nullptr;
  instance->worker = napi_get_uv_event_loop(env, &loop) == napi_ok && loop != uv_default_loop();
  instance->probe = Napi::Persistent(Napi::Function::New(env, [](const Napi::CallbackInfo&) {}, "probe"));
  napi_add_env_cleanup_hook(env, OnEnvCleanup, instance->registry.get());
  env.SetInstanceData(instance.release());

  exports.Set("open", Napi::Function::New(env, Open, "open"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("unlink", Napi::Function::New(env, Unlink, "unlink"));
  exports.Set("getValue", Napi::Function::New(env, GetValue, "getValue"));
  exports.Set("interruptedBy", Napi::Function::New(env, InterruptedBy, "interruptedBy"));
  exports.Set("waitSlice", Napi::Function::New(env, StartWaitSlice, "waitSlice"));
  exports.Set("trySpin", Napi::Function::New(env, TrySpin, "trySpin"));
  exports.Set("setWanted", Napi::Function::New(env, SetWanted, "setWanted"));
  exports.Set("openHandles", Napi::Function::New(env, OpenHandles, "openHandles"));
  exports.Set("releaseHeld", Napi::Function::New(env, ReleaseHeld, "releaseHeld"));

  Napi::Object constants = Napi::Object::New(env);
  constants.Set("O_CREAT", O_CREAT);
  constants.Set("O_EXCL", O_EXCL);
  constants.Set("SEM_VALUE_MAX", static_cast<double>(SEM_VALUE_MAX));
  constants.Set("CLOSE_ON_EXIT", static_cast<int>(kCloseOnExit));
  constants.Set("RELEASE_ON_EXIT", static_cast<int>(kReleaseOnExit));
#if defined(HAVE_SEM_TIMEDWAIT)
  constants.Set("HAVE_TIMEDWAIT", true);
#else
  constants.Set("HAVE_TIMEDWAIT", false);
#endif
  constants.Set("MONOTONIC_WAITS", kWaitClock == CLOCK_MONOTONIC);
#if defined(HAVE_SEM_GETVALUE)
  constants.Set("HAVE_GETVALUE", true);
#else
  constants.Set("HAVE_GETVALUE", false);
#endif
  exports.Set("constants", constants);
  return exports;
}

}  // namespace

NODE_API_MODULE(posix_semaphore, Init)
