#include "account.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <map>
#include <mutex>

#include "ledger.h"

namespace psem {
namespace {

// The accounts of the process, by semaphore. Immortal: the atexit handler
// and the fatal-signal thread read it after static destructors may have run.
struct Accounts {
  std::mutex mutex;
  std::map<SemIdentity, std::shared_ptr<Account>> bySem;
};
Accounts& ProcessAccounts() {
  static Accounts* accounts = new Accounts();
  return *accounts;
}

uint64_t NextSerial() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1);
}

bool Decrement(std::atomic<int32_t>& count) {
  int32_t now = count.load();
  while (now > 0) {
    if (count.compare_exchange_weak(now, now - 1)) return true;
  }
  return false;
}

int64_t NowMs() {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
  return static_cast<int64_t>(now.tv_sec) * 1000 + now.tv_nsec / 1000000;
}

// The exit triggers. atexit: runs after every JS 'exit' listener (which may
// still post), on process.exit(), an uncaught exception or the end of the
// program.
void ReleaseAtProcessExit() { Account::ReleaseAll(); }

// SIGINT/SIGTERM that nobody listens to: the handler only writes the signal
// number to a pipe (all it may do safely); a thread of ours reads it,
// releases, and ends the process by the signal.
int fatalSignalPipe[2] = {-1, -1};
struct sigaction previousAction[32];  // what OnFatalSignal replaced, given back before the signal is raised again

extern "C" void OnFatalSignal(int sig) {
  int savedErrno = errno;
  unsigned char byte = static_cast<unsigned char>(sig);
  ssize_t written = write(fatalSignalPipe[1], &byte, 1);
  (void)written;
  errno = savedErrno;
}

void* ReleaseThenDie(void*) {
  unsigned char sig = 0;
  ssize_t n;
  do n = read(fatalSignalPipe[0], &sig, 1);
  while (n < 0 && errno == EINTR);
  if (n != 1) return nullptr;
  Account::ReleaseAll();
  sigaction(sig, &previousAction[sig], nullptr);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
  kill(getpid(), sig);
  return nullptr;
}

bool StartReleaser() {
  if (pipe2(fatalSignalPipe, O_CLOEXEC) != 0) return false;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  pthread_t thread;
  bool started = pthread_create(&thread, &attr, ReleaseThenDie, nullptr) == 0;
  pthread_attr_destroy(&attr);
  return started;
}

// Worker threads get no signal events, and a SIGINT or SIGTERM that nobody
// listens to ends the process at once: while one of them has its default
// action, catch it, post back the accounts, and die by it as before. A
// listener added later (libuv's handler) replaces this one.
void ReleaseOnFatalSignals() {
  static const bool started = StartReleaser();  // once per process
  if (!started) return;
  for (int sig : {SIGINT, SIGTERM}) {
    struct sigaction current;
    if (sigaction(sig, nullptr, &current) != 0) continue;
    if (current.sa_handler == OnFatalSignal) continue;
    // Nobody listens when the action is the default, or Node's own handler
    // that restores the terminal and dies (installed with SA_RESETHAND);
    // a JS listener's (libuv's, SA_RESTART) must keep the process alive.
    bool dies = (current.sa_flags & SA_SIGINFO) == 0 && current.sa_handler == SIG_DFL;
    if (!dies && (current.sa_flags & SA_RESETHAND) == 0) continue;
    previousAction[sig] = current;
    struct sigaction catching;
    memset(&catching, 0, sizeof catching);
    catching.sa_handler = OnFatalSignal;
    catching.sa_flags = SA_RESTART | SA_RESETHAND;
    sigfillset(&catching.sa_mask);
    sigaction(sig, &catching, nullptr);
  }
}

}  // namespace

Account::Account(sem_t* sem, std::string name, SemIdentity id)
    : sem_(sem), serial_(NextSerial()), name_(std::move(name)), id_(id) {}

Account::~Account() {
  ledgerView_.store(nullptr);
  ledger_.reset();  // its slot records nothing: Detach frees only an account that holds nothing
  if (sem_ != nullptr) sem_close(sem_);
}

std::shared_ptr<Account> Account::Attach(sem_t* sem, const std::string& name, SemIdentity id, int flags,
                                         const LedgerOwner& owner, int* err) {
  Accounts& accounts = ProcessAccounts();
  std::lock_guard<std::mutex> lock(accounts.mutex);
  std::shared_ptr<Account> account;
  auto found = accounts.bySem.find(id);
  const bool fresh = found == accounts.bySem.end();
  if (fresh) {
    account = std::make_shared<Account>(sem, name, id);
  } else {
    // glibc counts its references to a mapping: this one goes, the account's stays.
    account = found->second;
    sem_close(sem);
  }
  if (flags & kRobust) {
    *err = account->Mirror(owner);
    if (*err != 0) return nullptr;  // a fresh account goes with its mapping; an existing one stays for its handles
  }
  if (flags & kReleaseOnExit) {
    account->releaseOnExit_.store(true);
    account->Count();
  }
  account->handles_++;
  if (fresh) accounts.bySem[id] = account;
  return account;
}

void Account::Detach(std::shared_ptr<Account> account) {
  if (!account) return;
  Accounts& accounts = ProcessAccounts();
  std::lock_guard<std::mutex> lock(accounts.mutex);
  if (--account->handles_ > 0) return;
  // Still counting units that must go back at exit or be recovered at death: kept.
  if (account->counter_.load() != nullptr && account->Held() > 0) return;
  auto found = accounts.bySem.find(account->id_);
  if (found != accounts.bySem.end() && found->second == account) accounts.bySem.erase(found);
}

std::shared_ptr<Account> Account::Share(const std::shared_ptr<Account>& account) {
  Accounts& accounts = ProcessAccounts();
  std::lock_guard<std::mutex> lock(accounts.mutex);
  account->handles_++;
  return account;
}

void Account::Count() {
  std::atomic<int32_t>* none = nullptr;
  counter_.compare_exchange_strong(none, &local_);
}

// robust: the ledger is opened (a slot claimed, dead holders recovered) the
// first time, and recovered from every time a robust handle opens.
int Account::Mirror(const LedgerOwner& owner) {
  if (ledger_) {
    ledger_->Recover(sem_);
    return 0;
  }
  int err = 0;
  std::unique_ptr<Ledger> ledger = Ledger::Open(name_, owner, sem_, id_.ino, true, &err);
  if (!ledger) return err;
  ledger_ = std::move(ledger);
  ledgerView_.store(ledger_.get(), std::memory_order_release);
  // From now on takes are recorded in the slot. What the process counted
  // before moves there unit by unit; a post meanwhile that finds neither
  // count looks again once moving_ is even (see Unrecord).
  std::atomic<int32_t>* slot = ledger_->Units();
  moving_.fetch_add(1);
  counter_.store(slot, std::memory_order_release);
  while (Decrement(local_)) slot->fetch_add(1);
  moving_.fetch_add(1);
  return 0;
}

std::atomic<int32_t>* Account::Unrecord() {
  std::atomic<int32_t>* counter = counter_.load(std::memory_order_acquire);
  if (counter == nullptr) return nullptr;
  for (;;) {
    const uint32_t moving = moving_.load();
    if (Decrement(local_)) return &local_;
    Ledger* ledger = ledgerView_.load(std::memory_order_acquire);
    if (ledger != nullptr && Decrement(*ledger->Units())) return ledger->Units();
    // Nothing held, unless a unit was between the two counts while we looked.
    if ((moving & 1) == 0 && moving_.load() == moving) return nullptr;
  }
}

int Account::CountedPost() {
  std::atomic<int32_t>* from = Unrecord();
  if (sem_post(sem_) == 0) return 0;
  int err = errno;
  if (from != nullptr) from->fetch_add(1);
  return err;
}

long Account::Held() const {
  Ledger* ledger = ledgerView_.load(std::memory_order_acquire);
  long held = local_.load();
  if (ledger != nullptr) held += ledger->Units()->load();
  return held;
}

long Account::Recover() {
  Ledger* ledger = ledgerView_.load(std::memory_order_acquire);
  if (ledger == nullptr) return 0;
  lastRecoveryMs_.store(NowMs());
  return ledger->Recover(sem_);
}

long Account::RecoverIfDue() {
  if (ledgerView_.load(std::memory_order_relaxed) == nullptr) return 0;
  const int64_t now = NowMs();
  int64_t last = lastRecoveryMs_.load();
  if (now - last < kRecoverEveryMs || !lastRecoveryMs_.compare_exchange_strong(last, now)) return 0;
  return ledgerView_.load()->Recover(sem_);
}

long Account::ReleaseAll() {
  Accounts& accounts = ProcessAccounts();
  std::lock_guard<std::mutex> lock(accounts.mutex);
  long released = 0;
  for (auto& entry : accounts.bySem) {
    Account& account = *entry.second;
    if (!account.releaseOnExit_.load()) continue;
    // Each unit is taken off the count, then posted: another thread may
    // release or post at the same time.
    for (;;) {
      std::atomic<int32_t>* from = account.Unrecord();
      if (from == nullptr) break;
      if (sem_post(account.sem_) != 0) {
        from->fetch_add(1);
        break;
      }
      released++;
    }
  }
  return released;
}

void Account::ReleaseAtExit(bool fatalSignalsToo) {
  static const int registered = atexit(ReleaseAtProcessExit);  // once per process
  (void)registered;
  if (fatalSignalsToo) ReleaseOnFatalSignals();
}

}  // namespace psem
