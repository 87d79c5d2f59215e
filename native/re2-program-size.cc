// RE2's program size of a pattern, compiled as Envoy compiles safe_regex
// patterns, so the spec layer can refuse what Envoy would refuse
// ("RE2 program size of N > max program size of 100"). RE2 has no other way
// to tell it: the size is that of the compiled, flattened program.
#include <node_api.h>

#include <string>

#include "re2/re2.h"

namespace {

// Envoy 1.40 reads a pattern's UTF-8 bytes as Latin-1 (a measured fact: its
// reported sizes are RE2's Latin-1 sizes, and "\x{100}" is a bad escape to
// it), with RE2's default 8 MiB memory budget at the default size limit.
RE2::Options EnvoyOptions() {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_encoding(RE2::Options::EncodingLatin1);
  options.set_max_mem(8 << 20);
  return options;
}

napi_value Throw(napi_env env, const char* message) {
  napi_throw_type_error(env, nullptr, message);
  return nullptr;
}

// programSize(pattern: string): number | string — the size, or RE2's error.
napi_value ProgramSize(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr) != napi_ok || argc != 1) {
    return Throw(env, "programSize takes one string");
  }
  size_t length = 0;
  if (napi_get_value_string_utf8(env, argv[0], nullptr, 0, &length) != napi_ok) {
    return Throw(env, "programSize takes one string");
  }
  std::string pattern(length + 1, '\0');
  napi_get_value_string_utf8(env, argv[0], pattern.data(), pattern.size(), &length);
  pattern.resize(length);
  RE2 re(pattern, EnvoyOptions());
  napi_value result;
  if (re.ok()) {
    napi_create_int32(env, re.ProgramSize(), &result);
  } else {
    napi_create_string_utf8(env, re.error().data(), re.error().size(), &result);
  }
  return result;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "programSize", NAPI_AUTO_LENGTH, ProgramSize, nullptr, &fn);
  napi_set_named_property(env, exports, "programSize", fn);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
