#include "llm/curl_api.hpp"

#include <dlfcn.h>

#include <mutex>
#include <string>

#include "util/error.hpp"

namespace mlops::llm {

namespace {

template <class F>
void bind(void* lib, F& fn, const char* name) {
  void* sym = dlsym(lib, name);
  if (!sym)
    throw RuntimeError(std::string("libcurl has no symbol ") + name,
                       "libcurl 7.66 or newer is needed: apt-get install libcurl4");
  fn = reinterpret_cast<F>(sym);
}

CurlApi load() {
  // MLOPS_LIBCURL lets a user point at another build (and tests simulate a missing one).
  const char* override_path = std::getenv("MLOPS_LIBCURL");
  std::string path = override_path && *override_path ? override_path : "libcurl.so.4";
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char* why = dlerror();
    throw RuntimeError("cannot load " + path + " for network calls: " + (why ? why : "unknown error"),
                       "install libcurl (apt-get install libcurl4) or set MLOPS_LIBCURL to its path");
  }
  CurlApi api{};
  bind(lib, api.global_init, "curl_global_init");
  bind(lib, api.easy_init, "curl_easy_init");
  bind(lib, api.easy_cleanup, "curl_easy_cleanup");
  bind(lib, api.easy_reset, "curl_easy_reset");
  bind(lib, api.easy_setopt, "curl_easy_setopt");
  bind(lib, api.easy_getinfo, "curl_easy_getinfo");
  bind(lib, api.easy_strerror, "curl_easy_strerror");
  bind(lib, api.slist_append, "curl_slist_append");
  bind(lib, api.slist_free_all, "curl_slist_free_all");
  bind(lib, api.multi_init, "curl_multi_init");
  bind(lib, api.multi_setopt, "curl_multi_setopt");
  bind(lib, api.multi_add_handle, "curl_multi_add_handle");
  bind(lib, api.multi_remove_handle, "curl_multi_remove_handle");
  bind(lib, api.multi_perform, "curl_multi_perform");
  bind(lib, api.multi_poll, "curl_multi_poll");
  bind(lib, api.multi_info_read, "curl_multi_info_read");
  bind(lib, api.multi_cleanup, "curl_multi_cleanup");
  bind(lib, api.multi_strerror, "curl_multi_strerror");
  if (api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    throw RuntimeError("libcurl failed to initialise", "check that OpenSSL is installed (apt-get install libssl3)");
  return api;
}

}  // namespace

const CurlApi& curl() {
  static std::once_flag once;
  static CurlApi api;
  std::call_once(once, [] { api = load(); });
  return api;
}

}  // namespace mlops::llm
