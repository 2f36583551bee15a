// The process's budget of pool threads.
//
// The libuv pool runs every fs, dns, zlib and crypto call of the process, and
// every environment (main thread and worker threads) shares it. Waits hold at
// most PoolBudget() of its threads at once, counted here for the whole
// process, so at least one is always free for that work; a wait beyond the
// budget runs on a thread of its own (wait_thread.h). Any thread may call these.
#ifndef POSIX_SEMAPHORE_POOL_BUDGET_H
#define POSIX_SEMAPHORE_POOL_BUDGET_H

namespace psem {

// The most pool threads that waits may hold: the pool's size minus one.
int PoolBudget();

// A wait asks for a pool thread: true (and counted) while the budget allows.
bool TakePoolThread();
// A wait goes to the pool beyond the budget: no thread of its own could start.
void ForcePoolThread();
// A wait on the pool is over: its thread is free again.
void ReturnPoolThread();

// A wait on a thread of its own starts, or ends.
void ThreadWaitStarted();
void ThreadWaitEnded();

struct WaitCounts {
  int pool;     // pool threads held (or about to be) by waits of the process
  int budget;   // PoolBudget()
  int threads;  // waits running on threads of their own
};
WaitCounts CountWaits();

}  // namespace psem

#endif  // POSIX_SEMAPHORE_POOL_BUDGET_H
