// Named POSIX semaphores for Node.js: syscalls and errno, nothing else.
//
// Every call returns 0 or an errno value (or a handle / a value) and leaves
// names, defaults, argument checks and error objects to src/. The hot calls
// (wait, tryWait, post) are plain module functions on an External handle:
// an ObjectWrap method call alone costs more than the whole sem_wait+sem_post.
#include <napi.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <unordered_set>
#include <utility>

#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 30))
#define HAVE_SEM_CLOCKWAIT 1
#endif
#if !defined(__APPLE__)
#define HAVE_SEM_TIMEDWAIT 1
#define HAVE_SEM_GETVALUE 1
#endif

namespace {

// What JS asked of a handle at exit; bits of the `flags` argument of open().
enum ExitFlags : int {
  kCloseOnExit = 1,
  kReleaseOnExit = 2,
};

class Sem;

// The open semaphores of one Node environment (main thread or worker), so
// that exit and environment teardown can release and close what is left.
struct Registry {
  std::unordered_set<Sem*> open;
};

// One sem_t*, owned jointly by the JS handle and any wait slice in flight;
// sem_close runs when the last owner lets go, never under a waiting thread.
// All members are touched on the environment's own thread only, except
// `sem_` which a wait slice reads (it never changes while a slice holds us).
class Sem {
 public:
  Sem(sem_t* sem, std::string name, int flags, std::shared_ptr<Registry> registry)
      : sem_(sem), name_(std::move(name)), flags_(flags), registry_(std::move(registry)) {
    registry_->open.insert(this);
  }
  ~Sem() {
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
    wanted.store(false);
  }

  // Posts back the units this handle still holds; returns how many.
  long ReleaseHeld() {
    long released = 0;
    while (held > 0 && sem_post(sem_) == 0) {
      --held;
      ++released;
    }
    return released;
  }

  // Exit or teardown: release (if asked), then close unless a slice still
  // waits on the mapping (the kernel closes it when the process ends).
  long Finish(bool closeNow) {
    long released = (flags_ & kReleaseOnExit) ? ReleaseHeld() : 0;
    if (closeNow) {
      closed_ = true;
      if (!inflight && sem_ != nullptr) {
        sem_close(sem_);
        sem_ = nullptr;
      }
    }
    return released;
  }

  long held = 0;          // units taken through this handle minus units posted
  bool inflight = false;  // a wait slice is on the threadpool
  // Read by the slice on its pool thread: false once no acquire() wants the
  // unit it may take, so that it posts the unit back there and then.
  std::atomic<bool> wanted{false};

 private:
  sem_t* sem_;
  std::string name_;
  int flags_;
  bool closed_ = false;
  std::shared_ptr<Registry> registry_;
};

// What a JS handle (an External) owns.
struct Holder {
  std::shared_ptr<Sem> sem;
  ~Holder() {
    // Collected without close(): a dropped handle gives back what it holds
    // when it asked for releaseOnExit, as the process would at exit.
    if (sem && !sem->closed()) {
      sem->Finish(false);
      sem->MarkClosed();
    }
  }
};

using Handle = Napi::External<Holder>;

struct Instance {
  std::shared_ptr<Registry> registry = std::make_shared<Registry>();
};

void AddMillis(struct timespec* ts, double ms) {
  long long ns = static_cast<long long>(ms * 1e6);
  ts->tv_sec += static_cast<time_t>(ns / 1000000000LL);
  ts->tv_nsec += static_cast<long>(ns % 1000000000LL);
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec += 1;
    ts->tv_nsec -= 1000000000L;
  }
}

// Waits up to `ms` milliseconds. Returns 0, ETIMEDOUT, EINTR (only when
// retryEintr is false) or another errno. The deadline is absolute, so a
// retried wait never waits longer in total.
int TimedWait(sem_t* sem, double ms, bool retryEintr) {
#if defined(HAVE_SEM_CLOCKWAIT) || defined(HAVE_SEM_TIMEDWAIT)
#ifdef HAVE_SEM_CLOCKWAIT
  const clockid_t clock = CLOCK_MONOTONIC;  // immune to wall-clock jumps
#else
  const clockid_t clock = CLOCK_REALTIME;
#endif
  struct timespec deadline;
  clock_gettime(clock, &deadline);
  AddMillis(&deadline, ms);
  for (;;) {
#ifdef HAVE_SEM_CLOCKWAIT
    int r = sem_clockwait(sem, clock, &deadline);
#else
    int r = sem_timedwait(sem, &deadline);
#endif
    if (r == 0) return 0;
    int err = errno;
    if (err != EINTR || !retryEintr) return err;
  }
#else
  // No sem_timedwait (macOS): poll sem_trywait with a bounded back-off.
  struct timespec now, deadline;
  clock_gettime(CLOCK_MONOTONIC, &deadline);
  AddMillis(&deadline, ms);
  long pauseUs = 50;
  for (;;) {
    if (sem_trywait(sem) == 0) return 0;
    int err = errno;
    if (err == EINTR && !retryEintr) return err;
    if (err != EAGAIN && err != EINTR) return err;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec > deadline.tv_sec ||
        (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec)) {
      return ETIMEDOUT;
    }
    usleep(static_cast<useconds_t>(pauseUs));
    if (pauseUs < 10000) pauseUs *= 2;
  }
#endif
}

// While a sync wait blocks, the signals in `mask` (those the program listens
// to in JS) interrupt it with EINTR instead of being restarted by the kernel
// (libuv installs its handlers with SA_RESTART), so that wait() can return
// and the listener can run. Restored on scope exit.
class InterruptibleBy {
 public:
  explicit InterruptibleBy(uint32_t mask) {
    for (int sig = 1; sig < 32; sig++) {
      if ((mask & (1u << sig)) == 0) continue;
      struct sigaction current;
      if (sigaction(sig, nullptr, &current) != 0) continue;
      bool handled = (current.sa_flags & SA_SIGINFO) != 0 ||
                     (current.sa_handler != SIG_DFL && current.sa_handler != SIG_IGN);
      if (!handled || (current.sa_flags & SA_RESTART) == 0) continue;
      struct sigaction interrupting = current;
      interrupting.sa_flags &= ~SA_RESTART;
      if (sigaction(sig, &interrupting, nullptr) == 0) {
        saved_[sig] = current;
        changed_ |= 1u << sig;
      }
    }
  }
  ~InterruptibleBy() {
    for (int sig = 1; sig < 32; sig++) {
      if (changed_ & (1u << sig)) sigaction(sig, &saved_[sig], nullptr);
    }
  }
  InterruptibleBy(const InterruptibleBy&) = delete;
  InterruptibleBy& operator=(const InterruptibleBy&) = delete;

 private:
  uint32_t changed_ = 0;
  struct sigaction saved_[32];
};

// The Sem behind a handle argument, or nullptr once the handle is closed.
inline Sem* Unwrap(const Napi::CallbackInfo& info) {
  const std::shared_ptr<Sem>& sem = info[0].As<Handle>().Data()->sem;
  return (sem && !sem->closed()) ? sem.get() : nullptr;
}

constexpr int kClosed = -1;  // returned instead of an errno for a closed handle

// true when /dev/shm/sem.NAME exists but cannot hold a sem_t (a stray file).
bool TooSmall(const std::string& name) {
#ifdef __linux__
  struct stat st;
  std::string path = "/dev/shm/sem." + name.substr(1);
  return stat(path.c_str(), &st) == 0 && st.st_size < static_cast<off_t>(sizeof(sem_t));
#else
  (void)name;
  return false;
#endif
}

// open(name, oflag, mode, value, flags) -> handle | errno
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

  auto holder = std::make_unique<Holder>();
  holder->sem = std::make_shared<Sem>(sem, std::move(name), flags,
                                      env.GetInstanceData<Instance>()->registry);
  return Handle::New(env, holder.release(), [](Napi::Env, Holder* h) { delete h; });
}

// close(handle) -> 0. The mapping goes when the last wait slice lets go.
Napi::Value Close(const Napi::CallbackInfo& info) {
  Holder* holder = info[0].As<Handle>().Data();
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

// The calls on a handle, each one syscall returning 0 or an errno.
// wait(handle, signalMask): call it after tryWait() found the semaphore
// taken; EINTR is src/'s to retry.
int CallWait(sem_t* sem, const Napi::CallbackInfo& info) {
  InterruptibleBy interruptible(info[1].As<Napi::Number>().Uint32Value());
  return sem_wait(sem) == 0 ? 0 : errno;
}
int CallTryWait(sem_t* sem, const Napi::CallbackInfo&) { return sem_trywait(sem) == 0 ? 0 : errno; }
// timedWait(handle, ms, retryEintr, signalMask)
int CallTimedWait(sem_t* sem, const Napi::CallbackInfo& info) {
  InterruptibleBy interruptible(info[3].As<Napi::Number>().Uint32Value());
  return TimedWait(sem, info[1].As<Napi::Number>().DoubleValue(), info[2].As<Napi::Boolean>().Value());
}
int CallPost(sem_t* sem, const Napi::CallbackInfo&) { return sem_post(sem) == 0 ? 0 : errno; }

// What they share: unwrap the handle, make the call, count the units held.
template <int (*Call)(sem_t*, const Napi::CallbackInfo&), int kHeldDelta>
Napi::Value OnHandle(const Napi::CallbackInfo& info) {
  Sem* sem = Unwrap(info);
  if (sem == nullptr) return Napi::Number::New(info.Env(), kClosed);
  int err = Call(sem->get(), info);
  if (err == 0) sem->held += kHeldDelta;
  return Napi::Number::New(info.Env(), err);
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

// One slice of an asynchronous wait: sem_clockwait on the threadpool for at
// most `ms`, then back to JS with 0 (acquired), ETIMEDOUT (slice over, ask
// again) or an errno. EINTR on the pool thread is not the user's signal.
class WaitSlice : public Napi::AsyncWorker {
 public:
  WaitSlice(const Napi::Function& callback, std::shared_ptr<Sem> sem, double ms)
      : Napi::AsyncWorker(callback, "posix-semaphore:acquire"), sem_(std::move(sem)),
        semaphore_(sem_->get()), ms_(ms) {
    sem_->inflight = true;
    sem_->wanted.store(true);
  }

  void Execute() override {
    err_ = TimedWait(semaphore_, ms_, true);
    if (err_ == 0 && !sem_->wanted.load()) {
      sem_post(semaphore_);  // every acquire gave up meanwhile: hold nothing
      err_ = ECANCELED;
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    sem_->inflight = false;
    int err = err_;
    if (err == 0) {
      if (sem_->closed()) {
        // close() rejected the acquire that wanted this unit: give it back.
        sem_post(semaphore_);
        err = ECANCELED;
      } else {
        ++sem_->held;
      }
    }
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
  const std::shared_ptr<Sem>& sem = info[0].As<Handle>().Data()->sem;
  if (!sem || sem->closed()) return Napi::Number::New(info.Env(), kClosed);
  auto worker = std::make_unique<WaitSlice>(info[2].As<Napi::Function>(), sem,
                                            info[1].As<Napi::Number>().DoubleValue());
  worker.release()->Queue();  // the AsyncWorker deletes itself after OnOK
  return Napi::Number::New(info.Env(), 0);
}

// setWanted(handle, wanted): whether the slice in flight should keep what it takes.
Napi::Value SetWanted(const Napi::CallbackInfo& info) {
  const std::shared_ptr<Sem>& sem = info[0].As<Handle>().Data()->sem;
  if (sem) sem->wanted.store(info[1].As<Napi::Boolean>().Value());
  return info.Env().Undefined();
}

// atExit() -> [[name, released, flags], ...] for every handle still open with
// closeOnExit or releaseOnExit: posts back held units (releaseOnExit) and
// closes (closeOnExit). Runs from the JS 'exit' listener.
Napi::Value AtExit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Registry& registry = *env.GetInstanceData<Instance>()->registry;
  Napi::Array done = Napi::Array::New(env);
  uint32_t i = 0;
  for (Sem* sem : registry.open) {
    if (sem->closed() || (sem->flags() & (kCloseOnExit | kReleaseOnExit)) == 0) continue;
    long released = sem->Finish((sem->flags() & kCloseOnExit) != 0);
    Napi::Array entry = Napi::Array::New(env, 3);
    entry.Set(0u, Napi::String::New(env, sem->name()));
    entry.Set(1u, Napi::Number::New(env, static_cast<double>(released)));
    entry.Set(2u, Napi::Number::New(env, sem->flags()));
    done.Set(i++, entry);
  }
  return done;
}

// Environment teardown (a worker that ends or is terminated, or the main
// thread after 'exit'): in-flight slices have completed by now.
void OnEnvCleanup(void* arg) {
  auto* registry = static_cast<Registry*>(arg);
  for (Sem* sem : registry->open) {
    if (!sem->closed()) sem->Finish(true);
  }
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  auto instance = std::make_unique<Instance>();
  napi_add_env_cleanup_hook(env, OnEnvCleanup, instance->registry.get());
  env.SetInstanceData(instance.release());

  exports.Set("open", Napi::Function::New(env, Open, "open"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("unlink", Napi::Function::New(env, Unlink, "unlink"));
  exports.Set("wait", Napi::Function::New(env, OnHandle<CallWait, 1>, "wait"));
  exports.Set("tryWait", Napi::Function::New(env, OnHandle<CallTryWait, 1>, "tryWait"));
  exports.Set("timedWait", Napi::Function::New(env, OnHandle<CallTimedWait, 1>, "timedWait"));
  exports.Set("post", Napi::Function::New(env, OnHandle<CallPost, -1>, "post"));
  exports.Set("getValue", Napi::Function::New(env, GetValue, "getValue"));
  exports.Set("waitSlice", Napi::Function::New(env, StartWaitSlice, "waitSlice"));
  exports.Set("setWanted", Napi::Function::New(env, SetWanted, "setWanted"));
  exports.Set("atExit", Napi::Function::New(env, AtExit, "atExit"));

  Napi::Object constants = Napi::Object::New(env);
  constants.Set("O_CREAT", O_CREAT);
  constants.Set("O_EXCL", O_EXCL);
  constants.Set("SEM_VALUE_MAX", static_cast<double>(SEM_VALUE_MAX));
  constants.Set("CLOSE_ON_EXIT", static_cast<int>(kCloseOnExit));
  constants.Set("RELEASE_ON_EXIT", static_cast<int>(kReleaseOnExit));
  constants.Set("HAVE_TIMEDWAIT", Napi::Boolean::New(env,
#if defined(HAVE_SEM_TIMEDWAIT)
      true
#else
      false
#endif
  ));
  constants.Set("HAVE_GETVALUE", Napi::Boolean::New(env,
#if defined(HAVE_SEM_GETVALUE)
      true
#else
      false
#endif
  ));
  exports.Set("constants", constants);
  return exports;
}

}  // namespace

NODE_API_MODULE(posix_semaphore, Init)
