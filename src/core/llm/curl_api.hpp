#pragma once
// libcurl, loaded on first use. Linking libcurl pulls ~30 shared libraries into
// every start of mlopsctl (measured: +5.5 ms per command), so the binary never
// links it: the llm module dlopen()s libcurl.so.4 the first time a network call
// is made and reaches it through this table. Only the llm module includes curl.
#include <curl/curl.h>

namespace mlops::llm {

struct CurlApi {
  CURLcode (*global_init)(long);
  CURL* (*easy_init)();
  void (*easy_cleanup)(CURL*);
  void (*easy_reset)(CURL*);
  CURLcode (*easy_setopt)(CURL*, CURLoption, ...);
  CURLcode (*easy_getinfo)(CURL*, CURLINFO, ...);
  const char* (*easy_strerror)(CURLcode);
  curl_slist* (*slist_append)(curl_slist*, const char*);
  void (*slist_free_all)(curl_slist*);
  CURLM* (*multi_init)();
  CURLMcode (*multi_setopt)(CURLM*, CURLMoption, ...);
  CURLMcode (*multi_add_handle)(CURLM*, CURL*);
  CURLMcode (*multi_remove_handle)(CURLM*, CURL*);
  CURLMcode (*multi_perform)(CURLM*, int*);
  CURLMcode (*multi_poll)(CURLM*, curl_waitfd*, unsigned int, int, int*);
  CURLMsg* (*multi_info_read)(CURLM*, int*);
  CURLMcode (*multi_cleanup)(CURLM*);
  const char* (*multi_strerror)(CURLMcode);
};

// Loads libcurl once per process (thread-safe) and initialises it. Throws
// RuntimeError naming the library and the package to install when it is missing.
const CurlApi& curl();

}  // namespace mlops::llm
