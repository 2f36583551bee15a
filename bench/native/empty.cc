// Two empty module functions: the cost of a call into an addon and nothing
// else, the floor under every native call of posix-semaphore. `noop` goes
// through node-addon-api as the core does; `noopRaw` is bare Node-API.
#include <napi.h>

namespace {

void Noop(const Napi::CallbackInfo&) {}

napi_value NoopRaw(napi_env, napi_callback_info) { return nullptr; }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("noop", Napi::Function::New(env, Noop, "noop"));
  napi_value raw;
  napi_create_function(env, "noopRaw", NAPI_AUTO_LENGTH, NoopRaw, nullptr, &raw);
  exports.Set("noopRaw", raw);
  return exports;
}

}  // namespace

NODE_API_MODULE(empty, Init)
