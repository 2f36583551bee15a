// The JS-facing return convention (stated once at the top of native/addon.cc)
// and the type tags of the Externals JS holds: shared by the POSIX addon
// (env.h) and the Windows backend (win32/win32.h), so both answer JS alike.
// Node-API only: no platform header.
#ifndef POSIX_SEMAPHORE_CONVENTION_H
#define POSIX_SEMAPHORE_CONVENTION_H

#include <napi.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

namespace psem {

// The errno of a call on a closed handle (returned as -EBADF, like every
// failure). No semaphore call made on an open handle fails with EBADF, so JS
// can tell the two apart.
constexpr int kClosed = EBADF;

// A failure as JS sees it: -errno.
inline Napi::Value Failure(Napi::Env env, int err) { return Napi::Number::New(env, -static_cast<double>(err)); }

// A wait that signals ended, for JS: { signals: their mask } (bit n: signal
// n); -EINTR alone if the environment refuses the object.
inline napi_value Interrupted(napi_env env, uint32_t signals) {
  napi_value result, mask;
  if (napi_create_object(env, &result) != napi_ok || napi_create_uint32(env, signals, &mask) != napi_ok ||
      napi_set_named_property(env, result, "signals", mask) != napi_ok) {
    napi_create_int32(env, -EINTR, &result);
  }
  return result;
}

// open()'s failure when the robust ledger, not the semaphore, failed: { ledgerErrno }.
inline Napi::Value LedgerFailure(Napi::Env env, int err) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("ledgerErrno", err);
  return result;
}

// The type tags of the Externals JS holds: a value that is not ours (or
// another kind of ours) is never read as one.
constexpr napi_type_tag kHandleTag = {0x7073656d68616e64ULL, 0x6c65000000000001ULL};  // "psemhandle"
constexpr napi_type_tag kWaiterTag = {0x7073656d77616974ULL, 0x6572000000000001ULL};  // "psemwaiter"

// Whether `value` is an External tagged `tag`.
inline bool Tagged(napi_env env, napi_value value, const napi_type_tag& tag) {
  napi_valuetype type;
  bool ok = false;
  return napi_typeof(env, value, &type) == napi_ok && type == napi_external &&
         napi_check_object_type_tag(env, value, &tag, &ok) == napi_ok && ok;
}

// The hot calls, bound to one handle: result[name] = a function whose data is
// `data` (the handle's own HandleRef) and which keeps the External `handle`
// that owns it alive as a property, so one finaliser per handle frees
// everything. false when the environment refuses (being torn down).
struct BoundCallSpec {
  const char* name;
  napi_callback callback;
};
template <size_t N>
bool BindCalls(napi_env env, napi_value handle, void* data, napi_value result, const BoundCallSpec (&calls)[N]) {
  for (const BoundCallSpec& call : calls) {
    napi_value fn;
    if (napi_create_function(env, call.name, NAPI_AUTO_LENGTH, call.callback, data, &fn) != napi_ok ||
        napi_set_named_property(env, fn, "handle", handle) != napi_ok ||
        napi_set_named_property(env, result, call.name, fn) != napi_ok) {
      return false;
    }
  }
  return true;
}

}  // namespace psem

#endif  // POSIX_SEMAPHORE_CONVENTION_H
