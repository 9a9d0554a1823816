// GSSAPI, loaded on first use. libgit2's static archive calls eight GSSAPI
// functions, and only for HTTP remotes that ask for Negotiate (Kerberos)
// authentication. Linking libgssapi_krb5 for them maps six Kerberos shared
// objects into every mlopsctl process, about a fifth of `mlopsctl --version`.
// In the static build (cmake/deps.cmake) these definitions stand in for the
// library: the first call dlopens libgssapi_krb5.so.2 and forwards to it. If it
// cannot be loaded, the calls fail with GSS_S_FAILURE and libgit2 reports that
// Negotiate authentication failed, as it would for any GSSAPI error.
#include <dlfcn.h>

#include <cstddef>
#include <cstdint>
#include <mutex>

namespace {

// The MIT krb5 <gssapi/gssapi.h> ABI, which Debian's libgit2 was built against.
using OM_uint32 = std::uint32_t;
struct gss_OID_desc {
  OM_uint32 length;
  void* elements;
};
using gss_OID = gss_OID_desc*;
using opaque = void*;  // gss_name_t, gss_ctx_id_t, gss_cred_id_t, gss_OID_set, …

constexpr OM_uint32 k_complete = 0;
constexpr OM_uint32 k_failure = 13u << 16;  // GSS_S_FAILURE

// 1.2.840.113554.1.2.1.4, GSS_C_NT_HOSTBASED_SERVICE (RFC 2744).
unsigned char k_hostbased_bytes[] = {0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x01, 0x04};
gss_OID_desc k_hostbased = {sizeof k_hostbased_bytes, k_hostbased_bytes};

void* library() {
  static void* handle = nullptr;
  static std::once_flag once;
  std::call_once(once, [] { handle = dlopen("libgssapi_krb5.so.2", RTLD_NOW | RTLD_LOCAL); });
  return handle;
}

// The library's own function `name`, or nullptr.
template <typename Fn>
Fn* real(const char* name) {
  void* h = library();
  return h ? reinterpret_cast<Fn*>(dlsym(h, name)) : nullptr;
}

// Calls the real `name` with `args`, or fails like GSSAPI when it is missing.
template <typename... Args>
OM_uint32 forward(const char* name, OM_uint32* minor, Args... args) {
  auto* fn = real<OM_uint32(OM_uint32*, Args...)>(name);
  if (!fn) {
    if (minor) *minor = 0;
    return k_failure;
  }
  return fn(minor, args...);
}

// Release calls free what the library allocated; with no library there is
// nothing to free.
template <typename... Args>
OM_uint32 release(const char* name, OM_uint32* minor, Args... args) {
  if (!library()) {
    if (minor) *minor = 0;
    return k_complete;
  }
  return forward(name, minor, args...);
}

}  // namespace

extern "C" {

gss_OID GSS_C_NT_HOSTBASED_SERVICE = &k_hostbased;

OM_uint32 gss_import_name(OM_uint32* minor, void* input_name, gss_OID name_type, opaque* output_name) {
  // Hand the library its own OID object for the name type we stand in for.
  if (name_type == &k_hostbased)
    if (auto* own = real<gss_OID>("GSS_C_NT_HOSTBASED_SERVICE")) name_type = *own;
  return forward("gss_import_name", minor, input_name, name_type, output_name);
}

OM_uint32 gss_indicate_mechs(OM_uint32* minor, opaque* mech_set) {
  return forward("gss_indicate_mechs", minor, mech_set);
}

OM_uint32 gss_init_sec_context(OM_uint32* minor, opaque cred, opaque* context, opaque target, gss_OID mech,
                               OM_uint32 req_flags, OM_uint32 time_req, void* bindings, void* input_token,
                               gss_OID* actual_mech, void* output_token, OM_uint32* ret_flags, OM_uint32* time_rec) {
  return forward("gss_init_sec_context", minor, cred, context, target, mech, req_flags, time_req, bindings,
                 input_token, actual_mech, output_token, ret_flags, time_rec);
}

OM_uint32 gss_display_status(OM_uint32* minor, OM_uint32 status, int status_type, gss_OID mech,
                             OM_uint32* message_context, void* status_string) {
  return forward("gss_display_status", minor, status, status_type, mech, message_context, status_string);
}

OM_uint32 gss_delete_sec_context(OM_uint32* minor, opaque* context, void* output_token) {
  return release("gss_delete_sec_context", minor, context, output_token);
}

OM_uint32 gss_release_buffer(OM_uint32* minor, void* buffer) {
  return release("gss_release_buffer", minor, buffer);
}

OM_uint32 gss_release_name(OM_uint32* minor, opaque* name) {
  return release("gss_release_name", minor, name);
}

OM_uint32 gss_release_oid_set(OM_uint32* minor, opaque* set) {
  return release("gss_release_oid_set", minor, set);
}

}  // extern "C"
