#ifndef CERTAGENT_CCURL_SHIM_H
#define CERTAGENT_CCURL_SHIM_H
#include <curl/curl.h>

// Swift cannot call C variadic functions: one typed wrapper per argument kind.
static inline CURLcode certagent_curl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode certagent_curl_setopt_pointer(CURL *h, CURLoption o, const void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode certagent_curl_setopt_off_t(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode certagent_curl_setopt_write_callback(CURL *h, CURLoption o, size_t (*cb)(char *, size_t, size_t, void *)) { return curl_easy_setopt(h, o, cb); }
static inline CURLcode certagent_curl_setopt_xferinfo_callback(CURL *h, CURLoption o, int (*cb)(void *, curl_off_t, curl_off_t, curl_off_t, curl_off_t)) { return curl_easy_setopt(h, o, cb); }
static inline CURLcode certagent_curl_setopt_debug_callback(CURL *h, CURLoption o, int (*cb)(CURL *, curl_infotype, char *, size_t, void *)) { return curl_easy_setopt(h, o, cb); }
static inline CURLcode certagent_curl_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode certagent_curl_getinfo_string(CURL *h, CURLINFO i, char **v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode certagent_curl_getinfo_certinfo(CURL *h, CURLINFO i, struct curl_certinfo **v) { return curl_easy_getinfo(h, i, v); }
#endif
