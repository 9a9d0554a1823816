# Third-party libraries as link targets mlops::sqlite, mlops::git2, mlops::yaml and
# mlops::crypto. With MLOPS_STATIC_DEPS (default) the Debian packages' static
# archives are linked, so mlopsctl maps a handful of shared objects at start-up
# instead of two dozen: that is most of the difference between ~7 ms and ~2.5 ms
# for `mlopsctl --version` (see BENCHMARKS.md).
option(MLOPS_STATIC_DEPS "Link libgit2, SQLite, yaml-cpp, OpenSSL and libstdc++ statically" ON)

find_package(PkgConfig REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(yaml-cpp REQUIRED)
pkg_check_modules(LIBGIT2 REQUIRED IMPORTED_TARGET libgit2)

set(_static_ok OFF)
if(MLOPS_STATIC_DEPS)
  set(_names sqlite3 git2 mbedtls mbedx509 mbedcrypto http_parser ssh2 pcre2-8 z crypto yaml-cpp)
  set(_static_ok ON)
  foreach(n IN LISTS _names)
    find_library(MLOPS_STATIC_${n} NAMES lib${n}.a)
    if(NOT MLOPS_STATIC_${n})
      message(STATUS "static lib${n}.a not found: linking dependencies dynamically")
      set(_static_ok OFF)
    endif()
  endforeach()
endif()

add_library(mlops::sqlite INTERFACE IMPORTED)
add_library(mlops::git2 INTERFACE IMPORTED)
add_library(mlops::yaml INTERFACE IMPORTED)
add_library(mlops::crypto INTERFACE IMPORTED)
find_package(Threads REQUIRED)
if(_static_ok)
  message(STATUS "mlopsctl: linking libgit2, SQLite, yaml-cpp and OpenSSL statically")
  target_link_libraries(mlops::sqlite INTERFACE ${MLOPS_STATIC_sqlite3} Threads::Threads ${CMAKE_DL_LIBS} m)
  target_include_directories(mlops::sqlite INTERFACE ${SQLite3_INCLUDE_DIRS})
  target_link_libraries(mlops::git2 INTERFACE ${MLOPS_STATIC_git2} ${MLOPS_STATIC_mbedtls} ${MLOPS_STATIC_mbedx509}
    ${MLOPS_STATIC_mbedcrypto} ${MLOPS_STATIC_http_parser} ${MLOPS_STATIC_ssh2} ${MLOPS_STATIC_pcre2-8}
    ${MLOPS_STATIC_crypto} ${MLOPS_STATIC_z} Threads::Threads ${CMAKE_DL_LIBS} rt)
  target_include_directories(mlops::git2 INTERFACE ${LIBGIT2_INCLUDE_DIRS})
  # libgit2's start-up parses the system CA bundle through these two mbedTLS
  # calls; the store module defers that to the first push or pull (see
  # DeferredCa in src/core/store/git_repo.cpp, which defines the __wrap_ symbols).
  target_link_options(mlops::git2 INTERFACE
    "LINKER:--wrap=mbedtls_x509_crt_parse_file,--wrap=mbedtls_x509_crt_parse_path")
  set(MLOPS_GIT2_CA_HOOK WRAP)
  # libgit2.a also calls GSSAPI (Kerberos Negotiate for HTTP remotes). Debian
  # ships no static Kerberos, and linking the shared one maps six libraries
  # into every process, so the store module defines those calls itself and
  # loads libgssapi_krb5.so.2 on the first one (src/core/store/gssapi_lazy.cpp).
  # The -u makes the linker take that object from libmlops_store.a, which comes
  # before libgit2.a on the link line.
  target_link_options(mlops::git2 INTERFACE "LINKER:-u,gss_import_name")
  set(MLOPS_GSSAPI_LAZY ON)
  target_link_libraries(mlops::yaml INTERFACE ${MLOPS_STATIC_yaml-cpp})
  target_include_directories(mlops::yaml INTERFACE ${YAML_CPP_INCLUDE_DIR})
  target_link_libraries(mlops::crypto INTERFACE ${MLOPS_STATIC_crypto} Threads::Threads ${CMAKE_DL_LIBS})
  target_include_directories(mlops::crypto INTERFACE ${OPENSSL_INCLUDE_DIR})
  set(MLOPS_STATIC_RUNTIME_FLAGS -static-libstdc++ -static-libgcc)
else()
  target_link_libraries(mlops::sqlite INTERFACE SQLite::SQLite3)
  # The store checks SSH host keys with libssh2's known-hosts API itself.
  pkg_check_modules(LIBSSH2 REQUIRED IMPORTED_TARGET libssh2)
  target_link_libraries(mlops::git2 INTERFACE PkgConfig::LIBGIT2 PkgConfig::LIBSSH2)
  # The same deferral as above, by interposing on libmbedx509's symbols.
  set(MLOPS_GIT2_CA_HOOK INTERPOSE)
  target_link_libraries(mlops::yaml INTERFACE yaml-cpp)
  target_link_libraries(mlops::crypto INTERFACE OpenSSL::Crypto)
  set(MLOPS_STATIC_RUNTIME_FLAGS "")
endif()

# PCRE2 for custom pii rules (the pii module only); libgit2's static archive
# already pulls in libpcre2-8.a, so this adds no new package.
add_library(mlops::pcre2 INTERFACE IMPORTED)
if(_static_ok)
  target_link_libraries(mlops::pcre2 INTERFACE ${MLOPS_STATIC_pcre2-8})
else()
  pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
  target_link_libraries(mlops::pcre2 INTERFACE PkgConfig::PCRE2)
endif()
