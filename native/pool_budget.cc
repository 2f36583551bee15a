#include "pool_budget.h"

#include <stdlib.h>

#include <atomic>

namespace psem {
namespace {

// The pool's size, read as libuv reads it when the pool starts
// (uv__threadpool_init): UV_THREADPOOL_SIZE through atoi(), 0 (and so an
// empty or non-numeric value) means 1, at most 1024; unset, 4. Read at the
// first wait, by when the pool has started or is about to.
unsigned PoolSize() {
  static const unsigned size = [] {
    unsigned n = 4;
    const char* value = getenv("UV_THREADPOOL_SIZE");
    if (value != nullptr) n = static_cast<unsigned>(atoi(value));
    if (n == 0) n = 1;
    if (n > 1024) n = 1024;
    return n;
  }();
  return size;
}

std::atomic<int> poolWaits{0};    // pool threads held (or about to be) by waits of this process
std::atomic<int> threadWaits{0};  // waits running on threads of their own

}  // namespace

int PoolBudget() { return static_cast<int>(PoolSize()) - 1; }

bool TakePoolThread() {
  const int budget = PoolBudget();
  int held = poolWaits.load();
  do {
    if (held >= budget) return false;
  } while (!poolWaits.compare_exchange_weak(held, held + 1));
  return true;
}

void ForcePoolThread() { poolWaits.fetch_add(1); }
void ReturnPoolThread() { poolWaits.fetch_sub(1); }

void ThreadWaitStarted() { threadWaits.fetch_add(1); }
void ThreadWaitEnded() { threadWaits.fetch_sub(1); }

WaitCounts CountWaits() { return {poolWaits.load(), PoolBudget(), threadWaits.load()}; }

}  // namespace psem
