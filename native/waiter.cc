#include "waiter.h"

#include <errno.h>

#include "env.h"

namespace psem {
namespace {

// A unit the wait took, after `done` returned `result`: kept by the acquire()
// whose handle JS returned, or given back to the semaphore.
void Hand(napi_env env, napi_value result, bool called, Waiter& waiter) {
  Sem* taker = nullptr;
  napi_valuetype type;
  void* data = nullptr;
  if (called && napi_typeof(env, result, &type) == napi_ok && type == napi_external &&
      napi_get_value_external(env, result, &data) == napi_ok) {
    taker = OpenSem(static_cast<HandleRef*>(data)->get());
  }
  if (taker == nullptr || taker->get() != waiter.sem()) waiter.PostBack();  // nobody took it
}

}  // namespace

void Deliver(napi_env env, napi_value done, Waiter& waiter, Sem& sem, int err) {
  sem.inflight = false;
  if (!waiter.Settle() && err == 0) err = ECANCELED;  // Returned: JS gave it up, SetWanted posted it back
  // done(undefined): a unit was taken; else done(-errno), as addon.cc's convention says.
  napi_value undefined, arg, result = nullptr;
  bool called = napi_get_undefined(env, &undefined) == napi_ok;
  if (called && err == 0) {
    arg = undefined;
  } else if (called) {
    called = napi_create_int32(env, -err, &arg) == napi_ok;
  }
  called = called && napi_call_function(env, undefined, done, 1, &arg, &result) == napi_ok;
  if (!called) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
  }
  if (err == 0) Hand(env, result, called, waiter);
}

}  // namespace psem
