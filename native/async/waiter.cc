#include "waiter.h"

#include <errno.h>

#include <utility>

namespace psem {

void Deliver(napi_env env, napi_value done, Waiter& waiter, int err) {
  std::shared_ptr<Account> account = std::move(waiter.account);  // done() may start the next wait
  if (!waiter.Settle() && err == 0) err = ECANCELED;             // Returned: JS gave it up, SetWanted posted it back
  // done(undefined): a unit was taken; else done(-errno), as addon.cc's convention says.
  napi_value undefined, arg, result = nullptr;
  bool called = done != nullptr && napi_get_undefined(env, &undefined) == napi_ok;
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
  if (err == 0) {
    bool kept = false;
    if (!called || napi_get_value_bool(env, result, &kept) != napi_ok) kept = false;
    if (!kept) account->Post();  // nobody took it
  }
  Account::Detach(std::move(account));
}

}  // namespace psem
