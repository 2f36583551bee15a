#include "wait_thread.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "env.h"
#include "waits.h"

namespace psem {
namespace {

// A deadline on the wall clock, for condition-variable waits: libstdc++
// waits on steady_clock deadlines with pthread_cond_clockwait (glibc 2.30,
// versioned 2.34), which would keep the prebuild from loading on the glibc
// 2.28 that Node.js supports; system_clock deadlines use
// pthread_cond_timedwait. Only idle and hand-over timeouts wait this way, so
// a wall-clock jump can only make a thread linger or stop a little early.
std::chrono::system_clock::time_point WallDeadline(long ms) {
  return std::chrono::system_clock::now() + std::chrono::milliseconds(ms);
}

// Past the cap, a thread serves several waits: it blocks on each in turn for
// this long and tries the others between slices, so a post reaches such a
// wait within about this long (docs/threadpool.md).
constexpr double kShareSliceMs = 20;
// An idle thread waits this long for another wait before it ends.
constexpr int kIdleMs = 1000;
// The most threads by default; POSIX_SEMAPHORE_WAIT_THREADS (1-4096) sets it.
constexpr int kDefaultCap = 128;
// StopWait re-sends the signal this often while the thread still waits (a
// signal that landed just before the thread blocked ended nothing); it
// yields the CPU for the first millisecond, then naps kNapUs at a time. It
// gives up after kStopGiveUpMs: only a thread not scheduled for that long
// (a machine overloaded beyond reason) is still in its wait.
constexpr long kResendUs = 200;
constexpr long kNapUs = 100;
constexpr long kStopGiveUpMs = 1000;

// ---- The wake signal ------------------------------------------------------
//
// A real-time signal that nobody in the process handles (its action is the
// default when the first wait starts, scanning down from SIGRTMAX), caught
// with SA_RESTART and every signal blocked while the handler runs. The addon
// sends it only to its own wait threads (pthread_kill), which block every
// other signal, and only while they wait; its handler does nothing for those
// (the timed futex wait under sem_clockwait returns EINTR after any handler,
// SA_RESTART or not). So the program's handlers, libuv's and other addons'
// never see it, and no other thread's system call is interrupted. Sent by
// anyone else (kill, sigqueue), it does what it did before the addon came:
// the handler puts the default action back and raises it (the process ends).
// If someone installs another handler on it later, the addon stops sending
// it (StopWait checks before each send) and a wait then ends at its slice.
int wakeSignal = 0;  // 0: none (no real-time signals, or every one in use)

extern "C" void OnWakeSignal(int sig, siginfo_t* info, void*) {
  if (info != nullptr && info->si_code == SI_TKILL && info->si_pid == getpid()) return;  // ours: EINTR is all it is for
  int savedErrno = errno;
  struct sigaction fallback;
  memset(&fallback, 0, sizeof fallback);
  fallback.sa_handler = SIG_DFL;
  sigemptyset(&fallback.sa_mask);
  sigaction(sig, &fallback, nullptr);
  raise(sig);  // blocked while this handler runs: acts once it returns
  errno = savedErrno;
}

int InstallWakeSignal() {
#ifdef SIGRTMIN
  for (int sig = SIGRTMAX; sig >= SIGRTMIN; sig--) {
    struct sigaction current;
    if (sigaction(sig, nullptr, &current) != 0) continue;
    if ((current.sa_flags & SA_SIGINFO) != 0 || current.sa_handler != SIG_DFL) continue;
    struct sigaction ours;
    memset(&ours, 0, sizeof ours);
    ours.sa_sigaction = OnWakeSignal;
    ours.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&ours.sa_mask);
    if (sigaction(sig, &ours, nullptr) == 0) return sig;  // valgrind refuses the ones it keeps: try the next
  }
#endif
  return 0;
}

bool WakeSignalIsOurs() {
  struct sigaction current;
  return wakeSignal != 0 && sigaction(wakeSignal, nullptr, &current) == 0 && (current.sa_flags & SA_SIGINFO) != 0 &&
         current.sa_sigaction == OnWakeSignal;
}

}  // namespace

// ---- The threads ----------------------------------------------------------

struct WaitThread {
  pthread_t id{};
  std::condition_variable work;
  std::vector<std::shared_ptr<WaitJob>> jobs;  // the waits it serves
  size_t next = 0;                             // the one it blocks on next, when sharing
  // The thread's working copies, used outside the lock. A wait thread never
  // calls malloc, which would give it an arena of its own (64 MiB of address
  // space each, up to 8 per core): Assign() (a JS thread, under the lock)
  // makes room in the spares, which the thread swaps in under the lock.
  std::vector<std::shared_ptr<WaitJob>> turn, ended, spareTurn, spareEnded;
};

namespace {

// Every wait thread of the process. Immortal: threads may still run while
// static destructors do, at exit.
struct Threads {
  std::mutex mutex;
  std::vector<WaitThread*> all;
  std::atomic<int> waits{0};  // in flight: counted down before the hand-over
  int cap = kDefaultCap;
};
Threads& ProcessThreads() {
  static Threads* threads = [] {
    auto* t = new Threads();
    const char* value = getenv("POSIX_SEMAPHORE_WAIT_THREADS");
    int n = value != nullptr ? atoi(value) : 0;
    if (n >= 1 && n <= 4096) t->cap = n;
    wakeSignal = InstallWakeSignal();
    return t;
  }();
  return *threads;
}

}  // namespace

// The delivery of one environment's waits to its JS thread (a uv_async_t of
// its loop: a wait thread hands a wait over without allocating), and what
// teardown must stop. Touched on that JS thread but for `mutex`'s members.
struct WaitHub {
  napi_env env = nullptr;
  uv_async_t async{};
  napi_async_context context = nullptr;
  napi_ref resource = nullptr;
  napi_async_cleanup_hook_handle cleanup = nullptr;
  std::shared_ptr<WaitHub>* closing_self = nullptr;  // kept alive until the handle is closed
  std::mutex mutex;
  std::atomic<bool> closing{false};  // the environment is going: every wait ends
  int running = 0;                   // (mutex) waits not yet handed over by their thread
  std::condition_variable handedOver;
  WaitJob* delivered = nullptr;                           // (mutex) handed over, newest first
  std::map<WaitJob*, std::shared_ptr<WaitJob>> inflight;  // JS thread: started, not yet delivered
};

// One wait in flight, owned by its waiter. `waiter`, `account` and `done` are dropped on the JS thread.
struct WaitJob {
  WaiterRef waiter;
  std::shared_ptr<Account> account;  // keeps the mapping
  sem_t* semaphore;
  std::shared_ptr<WaitHub> hub;
  napi_ref done = nullptr;
  double sliceMs;
  std::atomic<bool> busy{false};  // its thread is in (or about to enter) a sem_* call for it
  WaitThread* thread = nullptr;   // (Threads::mutex) the thread serving it, until it ends
  int err = 0;
  bool handedOver = false;  // (WaitHub::mutex) off its thread
  WaitJob* next = nullptr;  // (WaitHub::mutex) in WaitHub::delivered

  bool Unwanted() const { return waiter->state.load() == Waiter::kUnwanted || hub->closing.load(); }
};

namespace {

bool StopPolling(void* job) { return static_cast<WaitJob*>(job)->Unwanted(); }

// The thread serving `job` (Threads::mutex held): interrupt whatever it waits on.
void Kick(WaitThread* thread) {
  if (thread != nullptr && WakeSignalIsOurs()) pthread_kill(thread->id, wakeSignal);
}

// One turn of `job` on its thread: a blocking wait of `ms`, or a try.
// Returns true when the wait is over (job.err says how).
bool Turn(WaitJob& job, bool block, double ms) {
  // busy before the look at Unwanted, as StopWait sets Unwanted before it
  // looks at busy: one of the two sees the other.
  job.busy.store(true);
  int err;
  if (job.Unwanted()) {
    err = ECANCELED;
  } else if (block) {
    err = WaitOnce(job.semaphore, DeadlineIn(ms), StopPolling, &job);
  } else {
    err = sem_trywait(job.semaphore) == 0 ? 0 : errno;
  }
  if (err == 0 && !job.waiter->Keep()) err = ECANCELED;  // posted back already
  job.busy.store(false);
  if (err == EINTR || err == EAGAIN || err == ETIMEDOUT) {
    if (!job.Unwanted()) {
      if (err == ETIMEDOUT) job.waiter->Recover();
      return false;
    }
    err = ECANCELED;
  }
  job.err = err;
  return true;
}

// The wait is over and off its thread: to JS, or (its environment going)
// its unit back to the semaphore. Allocates nothing.
void HandOver(WaitJob& job) {
  WaitHub& hub = *job.hub;
  std::lock_guard<std::mutex> lock(hub.mutex);
  job.handedOver = true;
  if (hub.closing.load()) {
    if (job.err == 0 && job.waiter->state.exchange(Waiter::kIdle) == Waiter::kHolding) job.waiter->PostBack();
  } else {
    job.next = hub.delivered;
    hub.delivered = &job;
    uv_async_send(&hub.async);
  }
  if (--hub.running == 0) hub.handedOver.notify_all();
}

void* Run(void* arg) {
  auto* self = static_cast<WaitThread*>(arg);
  if (wakeSignal != 0) {
    sigset_t wake;
    sigemptyset(&wake);
    sigaddset(&wake, wakeSignal);
    pthread_sigmask(SIG_UNBLOCK, &wake, nullptr);
  }
  Threads& threads = ProcessThreads();
  std::unique_lock<std::mutex> lock(threads.mutex);
  for (;;) {
    if (self->jobs.empty()) {
      if (self->work.wait_until(lock, WallDeadline(kIdleMs), [self] { return !self->jobs.empty(); })) continue;
      break;  // idle for long enough
    }
    if (self->turn.capacity() < self->jobs.size()) self->turn.swap(self->spareTurn);
    if (self->ended.capacity() < self->jobs.size()) self->ended.swap(self->spareEnded);
    std::vector<std::shared_ptr<WaitJob>>& turn = self->turn;
    turn.assign(self->jobs.begin(), self->jobs.end());  // fits: no allocation
    size_t first = self->next++ % turn.size();
    lock.unlock();
    // Alone: one long wait. Sharing: a slice on one, then a try of each other.
    for (size_t k = 0; k < turn.size(); k++) {
      const std::shared_ptr<WaitJob>& job = turn[(first + k) % turn.size()];
      if (Turn(*job, k == 0, turn.size() == 1 ? job->sliceMs : kShareSliceMs)) self->ended.push_back(job);
    }
    // To JS first (the hub's inflight map keeps each alive until its JS
    // thread is done with it), then off this thread's list.
    for (const auto& job : self->ended) {
      threads.waits--;
      HandOver(*job);
    }
    lock.lock();
    for (const auto& job : self->ended) {
      self->jobs.erase(std::find(self->jobs.begin(), self->jobs.end(), job));
      job->thread = nullptr;
    }
    self->ended.clear();
    turn.clear();
  }
  threads.all.erase(std::find(threads.all.begin(), threads.all.end(), self));
  lock.unlock();
  delete self;
  return nullptr;
}

// A new thread (Threads::mutex held), or nullptr when none could start.
WaitThread* NewThread(Threads& threads) {
  auto* thread = new WaitThread();
  sigset_t all, previous;
  sigfillset(&all);
  // The thread starts with every signal blocked but the synchronous ones: a
  // fault the thread itself raises (the robust ledger truncated under us:
  // SIGBUS, guarded_map.h) must reach its handler, or the kernel kills the
  // process.
  for (int sig : {SIGBUS, SIGSEGV, SIGFPE, SIGILL}) sigdelset(&all, sig);
  pthread_sigmask(SIG_SETMASK, &all, &previous);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);  // sem_clockwait needs little
  bool started = pthread_create(&thread->id, &attr, Run, thread) == 0;
  pthread_attr_destroy(&attr);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (!started) {
    delete thread;
    return nullptr;
  }
  threads.all.push_back(thread);
  return thread;
}

// A thread for `job`: an idle one, else a new one under the cap, else (or
// when none can start) the one serving the fewest.
int Assign(const std::shared_ptr<WaitJob>& job) {
  Threads& threads = ProcessThreads();
  std::lock_guard<std::mutex> lock(threads.mutex);
  WaitThread* best = nullptr;
  for (WaitThread* thread : threads.all) {
    if (best == nullptr || thread->jobs.size() < best->jobs.size()) best = thread;
    if (best->jobs.empty()) break;
  }
  if ((best == nullptr || !best->jobs.empty()) && static_cast<int>(threads.all.size()) < threads.cap) {
    if (WaitThread* fresh = NewThread(threads)) best = fresh;
  }
  if (best == nullptr) return EAGAIN;
  best->jobs.push_back(job);
  // Room for the thread's copies (see WaitThread), never in the ones it uses now.
  if (best->spareTurn.capacity() < best->jobs.size()) best->spareTurn.reserve(2 * best->jobs.size());
  if (best->spareEnded.capacity() < best->jobs.size()) best->spareEnded.reserve(2 * best->jobs.size());
  job->thread = best;
  threads.waits++;
  best->work.notify_one();
  if (best->jobs.size() == 2) Kick(best);  // it waits alone in a long slice: share from now on
  return 0;
}

// ---- Delivery -------------------------------------------------------------

// The JS thread, in its loop: the waits handed over, oldest first, to JS.
void OnHandedOver(uv_async_t* async) {
  WaitHub& hub = *static_cast<WaitHub*>(async->data);
  WaitJob* newest;
  {
    std::lock_guard<std::mutex> lock(hub.mutex);
    newest = hub.delivered;
    hub.delivered = nullptr;
  }
  WaitJob* oldest = nullptr;
  while (newest != nullptr) {
    WaitJob* next = newest->next;
    newest->next = oldest;
    oldest = newest;
    newest = next;
  }
  napi_env env = hub.env;
  napi_handle_scope handles;
  if (napi_open_handle_scope(env, &handles) != napi_ok) return;
  napi_value resource = nullptr;
  napi_callback_scope scope = nullptr;
  napi_get_reference_value(env, hub.resource, &resource);
  if (resource != nullptr) napi_open_callback_scope(env, resource, hub.context, &scope);  // microtasks run as it closes
  for (WaitJob* job = oldest; job != nullptr;) {
    auto found = hub.inflight.find(job);
    job = job->next;
    if (found == hub.inflight.end()) continue;
    std::shared_ptr<WaitJob> wait = std::move(found->second);
    hub.inflight.erase(found);
    if (hub.inflight.empty()) uv_unref(reinterpret_cast<uv_handle_t*>(&hub.async));  // nothing keeps the loop alive
    if (wait->waiter->job == wait) wait->waiter->job.reset();
    napi_value done = nullptr;
    napi_get_reference_value(env, wait->done, &done);
    napi_delete_reference(env, wait->done);
    wait->done = nullptr;
    Deliver(env, done, *wait->waiter, wait->err);
    wait->waiter.reset();
    wait->account.reset();
  }
  if (scope != nullptr) napi_close_callback_scope(env, scope);
  napi_close_handle_scope(env, handles);
}

void StopAll(WaitHub& hub) {
  hub.closing.store(true);
  {
    // Every thread at once...
    std::lock_guard<std::mutex> lock(ProcessThreads().mutex);
    for (const auto& entry : hub.inflight) Kick(entry.second->thread);
  }
  // ...then each until it is out of its wait (at once, unless a signal came
  // too early or cannot be sent: then at the end of its slice).
  for (const auto& entry : hub.inflight) StopWait(*entry.second);
  long ms = kStopGiveUpMs;
  for (const auto& entry : hub.inflight) ms = std::max(ms, static_cast<long>(entry.second->sliceMs) + 50);
  std::unique_lock<std::mutex> lock(hub.mutex);
  hub.handedOver.wait_until(lock, WallDeadline(ms), [&hub] { return hub.running == 0; });
}

// Environment teardown: every wait of the environment ends now, together;
// the units they took go back; then the handle closes.
void OnTeardown(napi_async_cleanup_hook_handle handle, void* arg) {
  auto* self = static_cast<std::shared_ptr<WaitHub>*>(arg);
  WaitHub& hub = **self;
  hub.cleanup = handle;
  StopAll(hub);
  std::lock_guard<std::mutex> lock(hub.mutex);
  for (auto& entry : hub.inflight) {
    WaitJob& job = *entry.second;
    if (!job.handedOver) {
      // Still on its thread (it could not be woken): it keeps what it uses.
      static auto* stuck = new std::vector<std::shared_ptr<WaitJob>>();  // immortal
      stuck->push_back(std::move(entry.second));
      continue;
    }
    if (job.err == 0 && job.waiter->state.exchange(Waiter::kIdle) == Waiter::kHolding) job.waiter->PostBack();
    job.waiter->state.store(Waiter::kIdle);
    Account::Detach(std::move(job.waiter->account));  // the mapping may close with the environment
    job.waiter->job.reset();
    job.waiter.reset();
    job.account.reset();
  }
  hub.inflight.clear();
  hub.delivered = nullptr;
  hub.closing_self = self;
  uv_close(reinterpret_cast<uv_handle_t*>(&hub.async), [](uv_handle_t* async) {
    WaitHub* closed = static_cast<WaitHub*>(async->data);
    std::unique_ptr<std::shared_ptr<WaitHub>> last(closed->closing_self);
    napi_remove_async_cleanup_hook(closed->cleanup);
  });
}

// This environment's hub, made at its first wait.
WaitHub* HubOf(napi_env env, std::shared_ptr<WaitHub>* out) {
  Instance* instance = Napi::Env(env).GetInstanceData<Instance>();
  if (instance == nullptr || !instance->waiters) return nullptr;
  std::shared_ptr<WaitHub>& hub = instance->waiters->hub;
  if (!hub) {
    auto fresh = std::make_shared<WaitHub>();
    fresh->env = env;
    uv_loop_t* loop = nullptr;
    napi_value resource, name;
    if (napi_get_uv_event_loop(env, &loop) != napi_ok || napi_create_object(env, &resource) != napi_ok ||
        napi_create_string_utf8(env, "posix-semaphore:acquire", NAPI_AUTO_LENGTH, &name) != napi_ok ||
        napi_async_init(env, resource, name, &fresh->context) != napi_ok ||
        napi_create_reference(env, resource, 1, &fresh->resource) != napi_ok) {
      return nullptr;
    }
    if (uv_async_init(loop, &fresh->async, OnHandedOver) != 0) return nullptr;
    fresh->async.data = fresh.get();
    uv_unref(reinterpret_cast<uv_handle_t*>(&fresh->async));
    auto* tearing = new std::shared_ptr<WaitHub>(fresh);
    if (napi_add_async_cleanup_hook(env, OnTeardown, tearing, nullptr) != napi_ok) {
      // No teardown hook: close the handle now, and wait nothing here.
      fresh->closing_self = tearing;
      uv_close(reinterpret_cast<uv_handle_t*>(&fresh->async),
               [](uv_handle_t* async) { delete static_cast<WaitHub*>(async->data)->closing_self; });
      return nullptr;
    }
    hub = std::move(fresh);
  }
  *out = hub;
  return hub.get();
}

}  // namespace

int StartWaitThread(napi_env env, napi_value done, const WaiterRef& waiter, double sliceMs) {
  std::shared_ptr<WaitHub> hub;
  if (HubOf(env, &hub) == nullptr || hub->closing.load()) return ECANCELED;
  auto job = std::make_shared<WaitJob>();
  job->waiter = waiter;
  job->account = waiter->account;
  job->semaphore = waiter->account->sem();
  job->hub = hub;
  job->sliceMs = sliceMs;
  if (napi_create_reference(env, done, 1, &job->done) != napi_ok) return ECANCELED;
  waiter->job = job;
  {
    std::lock_guard<std::mutex> lock(hub->mutex);
    hub->running++;
  }
  int err = Assign(job);
  if (err != 0) {
    std::lock_guard<std::mutex> lock(hub->mutex);
    hub->running--;
    waiter->job.reset();
    napi_delete_reference(env, job->done);
    return err;
  }
  if (hub->inflight.empty()) uv_ref(reinterpret_cast<uv_handle_t*>(&hub->async));  // a wait keeps the loop alive
  WaitJob* key = job.get();
  hub->inflight.emplace(key, std::move(job));
  return 0;
}

void StopWait(WaitJob& job) {
  if (!job.busy.load() || !WakeSignalIsOurs()) return;  // no signal: the wait ends at its slice
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (long sentUs = -kResendUs;;) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    long us = (now.tv_sec - start.tv_sec) * 1000000L + (now.tv_nsec - start.tv_nsec) / 1000;
    if (us - sentUs >= kResendUs) {
      std::lock_guard<std::mutex> lock(ProcessThreads().mutex);
      Kick(job.thread);
      sentUs = us;
    }
    if (!job.busy.load() || us > kStopGiveUpMs * 1000) return;
    if (us < 1000) {
      sched_yield();
    } else {
      struct timespec nap = {0, kNapUs * 1000};
      nanosleep(&nap, nullptr);
    }
  }
}

WaitCounts CountWaits() {
  Threads& threads = ProcessThreads();
  std::lock_guard<std::mutex> lock(threads.mutex);
  return {threads.waits.load(), static_cast<int>(threads.all.size()), threads.cap};
}

}  // namespace psem
