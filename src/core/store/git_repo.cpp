#include "store/git_repo.hpp"

#include <dlfcn.h>
#include <fcntl.h>
#include <git2.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "store/remote_auth.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/lock.hpp"
#include "util/text.hpp"

namespace mlops::store {

namespace {

// The system CA bundle, loaded when a remote is first used, not at start-up.
//
// Debian's libgit2 1.5 is built with mbedTLS and CERT_LOCATION
// /etc/ssl/certs/ca-certificates.crt. git_libgit2_init() runs
// git_mbedtls_stream_global_init(), which parses that whole bundle
// (git_mbedtls__set_cert_location -> mbedtls_x509_crt_parse_file, about 140
// PEM certificates): about 6 ms of CPU in every process, a quarter of a
// `prompt commit`, for TLS that only push and pull can use. libgit2 has no
// option to skip it, so the store intercepts that one mbedTLS call while
// git_libgit2_init() runs: static builds link with
// -Wl,--wrap=mbedtls_x509_crt_parse_file (cmake/deps.cmake), dynamic ones
// interpose the symbol and forward to libmbedx509 through dlsym(RTLD_NEXT).
// During init the call only records the path; libgit2 is left with an empty
// CA chain, which trusts nothing, so an HTTPS connection that skipped
// load_tls_trust() would fail verification, never pass it. Every network
// operation (push, pull) calls load_tls_trust() first, which hands the
// recorded path to GIT_OPT_SET_SSL_CERT_LOCATIONS: the same
// git_mbedtls__set_cert_location call as libgit2's own init, now parsing for
// real. Certificate checking is unchanged (libgit2 verifies the peer against
// that chain and fails with GIT_ECERTIFICATE otherwise).
struct DeferredCa {
  std::mutex mutex;
  bool deferring = false;  // true only inside git_libgit2_init()
  bool pending = false;    // a location was recorded and not yet loaded
  std::string file, dir;
  TlsTrust state = TlsTrust::not_deferred;
};
DeferredCa& deferred_ca() {
  static DeferredCa d;
  return d;
}

}  // namespace

namespace detail {
bool defer_ca_load(const char* file, const char* dir) {
  DeferredCa& d = deferred_ca();
  if (!d.deferring) return false;
  if (file) d.file = file;
  if (dir) d.dir = dir;
  d.pending = true;
  d.state = TlsTrust::deferred;
  return true;
}
}  // namespace detail

namespace {

void ensure_libgit2() {
  static std::once_flag once;
  std::call_once(once, [] {
    // No lock around init: libgit2 calls back into the parse hooks below on
    // this thread, and call_once keeps other threads out.
    deferred_ca().deferring = true;
    git_libgit2_init();
    deferred_ca().deferring = false;
  });
}

// Loads the CA bundle that git_libgit2_init() deferred; a no-op when nothing
// was deferred (a libgit2 built with OpenSSL, or without HTTPS).
void load_tls_trust() {
  ensure_libgit2();
  DeferredCa& d = deferred_ca();
  std::lock_guard<std::mutex> lock(d.mutex);
  if (!d.pending) return;
  d.pending = false;
  int rc = git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, d.file.empty() ? nullptr : d.file.c_str(),
                            d.dir.empty() ? nullptr : d.dir.c_str());
  // As at libgit2's own init, an unreadable bundle is not an error here: local
  // and ssh remotes need none, and HTTPS then fails certificate verification.
  d.state = rc == 0 ? TlsTrust::loaded : TlsTrust::load_failed;
  if (rc < 0) git_error_clear();
}

std::string last_error() {
  const git_error* e = git_error_last();
  return e && e->message ? e->message : "unknown libgit2 error";
}

void check(int rc, const std::string& what) {
  if (rc < 0) throw RuntimeError(what + ": " + last_error());
}

// RAII holders for libgit2 objects.
template <class T, void (*Free)(T*)>
struct Owned {
  T* p = nullptr;
  Owned() = default;
  Owned(const Owned&) = delete;
  Owned& operator=(const Owned&) = delete;
  ~Owned() {
    if (p) Free(p);
  }
  T** out() { return &p; }
  T* get() const { return p; }
};
using Commit = Owned<git_commit, git_commit_free>;
using Tree = Owned<git_tree, git_tree_free>;
using Object = Owned<git_object, git_object_free>;
using Blob = Owned<git_blob, git_blob_free>;
using Signature = Owned<git_signature, git_signature_free>;
using Reference = Owned<git_reference, git_reference_free>;
using Revwalk = Owned<git_revwalk, git_revwalk_free>;
using TreeEntry = Owned<git_tree_entry, git_tree_entry_free>;
using RefIterator = Owned<git_reference_iterator, git_reference_iterator_free>;

std::string oid_hex(const git_oid* oid) {
  char buf[GIT_OID_HEXSZ + 1];
  git_oid_tostr(buf, sizeof buf, oid);
  return buf;
}

CommitInfo to_info(git_commit* c) {
  CommitInfo info;
  info.id = oid_hex(git_commit_id(c));
  const git_signature* a = git_commit_author(c);
  info.author = {a->name ? a->name : "", a->email ? a->email : ""};
  info.time = static_cast<std::int64_t>(git_commit_time(c));
  info.message = git_commit_message(c) ? git_commit_message(c) : "";
  for (unsigned i = 0; i < git_commit_parentcount(c); ++i) info.parents.push_back(oid_hex(git_commit_parent_id(c, i)));
  return info;
}

bool lookup_commit(git_repository* repo, const std::string& rev, Commit& out) {
  Object obj;
  if (git_revparse_single(obj.out(), repo, rev.c_str()) < 0) return false;
  Object peeled;
  if (git_object_peel(peeled.out(), obj.get(), GIT_OBJECT_COMMIT) < 0) return false;
  return git_commit_lookup(out.out(), repo, git_object_id(peeled.get())) == 0;
}

// Blob id of `path` in `tree`, or a zero oid when absent.
git_oid entry_id(git_tree* tree, const std::string& path) {
  git_oid zero{};
  if (!tree) return zero;
  TreeEntry e;
  if (git_tree_entry_bypath(e.out(), tree, path.c_str()) != 0) return zero;
  return *git_tree_entry_id(e.get());
}

bool is_hex(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

// A loose object: objects/ab/cdef... (two hex digits, then 38).
struct LooseObject {
  git_oid id;
  fs::path file;
  std::uint64_t bytes = 0;
};

std::vector<LooseObject> loose_objects(const fs::path& objects) {
  std::vector<LooseObject> out;
  std::error_code ec;
  for (auto dir = fs::directory_iterator(objects, ec); !ec && dir != fs::directory_iterator(); dir.increment(ec)) {
    std::string prefix = dir->path().filename().string();
    if (prefix.size() != 2 || !is_hex(prefix)) continue;
    std::error_code ec2;
    for (auto f = fs::directory_iterator(dir->path(), ec2); !ec2 && f != fs::directory_iterator(); f.increment(ec2)) {
      std::string rest = f->path().filename().string();
      if (rest.size() != GIT_OID_HEXSZ - 2 || !is_hex(rest)) continue;
      LooseObject o;
      if (git_oid_fromstr(&o.id, (prefix + rest).c_str()) < 0) continue;
      o.file = f->path();
      std::error_code ec3;
      o.bytes = f->file_size(ec3);
      out.push_back(std::move(o));
    }
  }
  return out;
}

std::size_t count_loose_in(const fs::path& dir) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto f = fs::directory_iterator(dir, ec); !ec && f != fs::directory_iterator(); f.increment(ec)) {
    std::string rest = f->path().filename().string();
    if (rest.size() == GIT_OID_HEXSZ - 2 && is_hex(rest)) ++n;
  }
  return n;
}

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | std::uint32_t(p[3]);
}

// Object ids listed by a pack index (version 1 or 2); with `ids` false only the
// count (the ids vector stays empty). nullopt when the file is not a valid index.
std::optional<std::size_t> read_pack_index(const fs::path& idx, std::vector<std::string>* ids) {
  std::ifstream in(idx, std::ios::binary);
  if (!in) return std::nullopt;
  unsigned char head[8 + 256 * 4];
  in.read(reinterpret_cast<char*>(head), sizeof head);
  std::size_t got = static_cast<std::size_t>(in.gcount());
  bool v2 = got >= 8 && std::memcmp(head, "\377tOc", 4) == 0;
  if (v2 && be32(head + 4) != 2) return std::nullopt;
  std::size_t fanout = v2 ? 8 : 0;
  if (got < fanout + 256 * 4) return std::nullopt;
  std::size_t n = be32(head + fanout + 255 * 4);
  if (!ids) return n;
  std::size_t stride = v2 ? 20 : 24, skip = v2 ? 0 : 4;
  in.clear();
  in.seekg(static_cast<std::streamoff>(fanout + 256 * 4));
  std::string table(n * stride, '\0');
  in.read(table.data(), static_cast<std::streamsize>(table.size()));
  if (static_cast<std::size_t>(in.gcount()) != table.size()) return std::nullopt;
  ids->reserve(ids->size() + n);
  for (std::size_t i = 0; i < n; ++i) ids->push_back(table.substr(i * stride + skip, 20));
  return n;
}

struct PackFile {
  fs::path idx;  // objects/pack/pack-<sha1>.idx; the pack is beside it
  std::size_t objects = 0;
  std::uint64_t bytes = 0;
  bool keep = false;  // a .keep file: git's sign that the pack must stay as it is
};

// Packs whose index and pack both exist, and index files that are readable.
std::vector<PackFile> list_packs(const fs::path& pack_dir) {
  std::vector<PackFile> out;
  std::error_code ec;
  for (auto f = fs::directory_iterator(pack_dir, ec); !ec && f != fs::directory_iterator(); f.increment(ec)) {
    const fs::path& idx = f->path();
    if (idx.extension() != ".idx") continue;
    fs::path pack = fs::path(idx).replace_extension(".pack");
    std::error_code ec2;
    if (!fs::exists(pack, ec2)) continue;
    auto n = read_pack_index(idx, nullptr);
    if (!n) continue;
    PackFile p{idx, *n, fs::file_size(pack, ec2) + fs::file_size(idx, ec2),
               fs::exists(fs::path(idx).replace_extension(".keep"), ec2)};
    out.push_back(std::move(p));
  }
  return out;
}

std::string raw_id(const git_oid* id) {
  return std::string(reinterpret_cast<const char*>(id->id), GIT_OID_RAWSZ);
}

void sync_file(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw RuntimeError("cannot open " + path.string() + " to sync it: " + std::strerror(errno));
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) throw RuntimeError("cannot sync " + path.string() + ": " + std::strerror(errno));
}

// Marker left when automatic packing failed; see GitRepo::commit.
constexpr const char* k_pack_failed = "mlopsctl-pack.failed";
// Held by the one process packing; commits do not take it.
constexpr const char* k_pack_lock = "mlopsctl-pack.lock";

// Lock files that are ours, not git's: never stale, never removed.
bool own_lock(const fs::path& p) {
  return p.filename() == "mlopsctl-commit.lock" || p.filename() == k_pack_lock;
}

// A temporary file of a pack being written ends in .lock too; pack_locked()
// clears those a crash left behind, since a commit no longer excludes a packer.
bool in_pack_dir(const fs::path& p) {
  return p.parent_path().filename() == "pack" && p.parent_path().parent_path().filename() == "objects";
}

}  // namespace

TlsTrust tls_trust_state() {
  ensure_libgit2();
  DeferredCa& d = deferred_ca();
  std::lock_guard<std::mutex> lock(d.mutex);
  return d.state;
}

void check_repo_path(const std::string& path) {
  if (path.empty() || path.front() == '/' || path.back() == '/')
    throw UsageError("invalid repository path '" + path + "'", "use a relative path such as prompts/greeting.yaml");
  for (const auto& part : util::split(path, '/')) {
    if (part.empty() || part == "." || part == ".." || part == ".git" || part.find('\0') != std::string::npos ||
        part.find('\\') != std::string::npos)
      throw UsageError("invalid repository path '" + path + "'",
                       "paths may not contain empty, '.', '..' or '.git' components");
  }
}

GitRepo::GitRepo(git_repository* repo, fs::path path) : repo_(repo), path_(std::move(path)) {}
GitRepo::GitRepo(GitRepo&& o) noexcept : repo_(o.repo_), path_(std::move(o.path_)), auto_pack_(o.auto_pack_) {
  o.repo_ = nullptr;
}
GitRepo::~GitRepo() {
  if (repo_) git_repository_free(repo_);
}

GitRepo GitRepo::init(const fs::path& path, const std::string& branch) {
  ensure_libgit2();
  git_repository_init_options opts = GIT_REPOSITORY_INIT_OPTIONS_INIT;
  opts.flags = GIT_REPOSITORY_INIT_BARE | GIT_REPOSITORY_INIT_MKPATH;
  opts.initial_head = branch.c_str();
  opts.description = "mlopsctl workspace history: prompts, eval suites, pipeline and feature definitions";
  git_repository* repo = nullptr;
  check(git_repository_init_ext(&repo, path.c_str(), &opts), "cannot create git repository at " + path.string());
  return GitRepo(repo, path);
}

GitRepo GitRepo::open(const fs::path& path) {
  ensure_libgit2();
  git_repository* repo = nullptr;
  if (git_repository_open_bare(&repo, path.c_str()) < 0)
    throw RuntimeError("cannot open the workspace git repository " + path.string() + ": " + last_error(),
                       "run 'mlopsctl doctor' to check the workspace");
  return GitRepo(repo, path);
}

std::optional<CommitInfo> GitRepo::commit(const FileChanges& changes, const Author& author, const std::string& message,
                                          const std::string& branch,
                                          const std::function<void(const CommitInfo&)>& while_locked) {
  auto info = commit_locked(changes, author, message, branch, while_locked);
  // Packing needs no commit lock (objects never change, and nothing is removed
  // before the new pack holds it), so it runs after the lock is released and
  // other writers go on meanwhile. One packer at a time: when another process is
  // packing, this commit leaves it to that one.
  if (info && auto_pack_due()) {
    std::optional<util::FileLock> packing;
    try {
      packing.emplace(path_ / k_pack_lock, std::chrono::milliseconds(0));
    } catch (const RuntimeError&) {
    }
    // The commit has landed; packing is housekeeping and must not fail it. A
    // failure is remembered (k_pack_failed) so that the following commits do not
    // retry it every time, and doctor reports it.
    if (packing) try {
        if (pack_locked().packs_merged > 0) reopen();
        std::error_code ec;
        fs::remove(path_ / k_pack_failed, ec);  // a day later, it worked
      } catch (const std::exception& e) {
        try {
          util::atomic_write(path_ / k_pack_failed, std::string(e.what()) + "\n");
        } catch (const std::exception&) {
        }
      }
  }
  return info;
}

std::optional<CommitInfo> GitRepo::commit_locked(const FileChanges& changes, const Author& author,
                                                 const std::string& message, const std::string& branch,
                                                 const std::function<void(const CommitInfo&)>& while_locked) {
  for (const auto& [p, _] : changes) check_repo_path(p);
  if (message.empty()) throw UsageError("a commit needs a message");
  const std::string ref_name = "refs/heads/" + branch;
  util::FileLock lock(path_ / "mlopsctl-commit.lock");

  Commit parent;
  Tree base;
  bool has_parent = lookup_commit(repo_, ref_name, parent);
  if (has_parent) check(git_commit_tree(base.out(), parent.get()), "cannot read tree of " + ref_name);

  std::vector<git_tree_update> updates;
  updates.reserve(changes.size());
  for (const auto& [path, content] : changes) {
    git_tree_update u{};
    u.path = path.c_str();
    if (content) {
      check(git_blob_create_from_buffer(&u.id, repo_, content->data(), content->size()), "cannot write blob " + path);
      u.action = GIT_TREE_UPDATE_UPSERT;
      u.filemode = GIT_FILEMODE_BLOB;
    } else {
      if (git_oid zero_check = entry_id(base.get(), path); git_oid_is_zero(&zero_check))
        continue;  // deleting an absent file is a no-op
      u.action = GIT_TREE_UPDATE_REMOVE;
    }
    updates.push_back(u);
  }

  git_oid tree_id;
  if (has_parent) {
    check(git_tree_create_updated(&tree_id, repo_, base.get(), updates.size(), updates.data()), "cannot build tree");
    if (git_oid_equal(&tree_id, git_tree_id(base.get()))) return std::nullopt;
  } else {
    Owned<git_treebuilder, git_treebuilder_free> empty;
    check(git_treebuilder_new(empty.out(), repo_, nullptr), "cannot build tree");
    git_oid empty_id;
    check(git_treebuilder_write(&empty_id, empty.get()), "cannot build tree");
    Tree empty_tree;
    check(git_tree_lookup(empty_tree.out(), repo_, &empty_id), "cannot build tree");
    check(git_tree_create_updated(&tree_id, repo_, empty_tree.get(), updates.size(), updates.data()),
          "cannot build tree");
  }

  Tree tree;
  check(git_tree_lookup(tree.out(), repo_, &tree_id), "cannot read new tree");
  Signature sig;
  check(git_signature_now(sig.out(), author.name.c_str(), author.email.c_str()),
        "invalid author '" + author.name + " <" + author.email + ">'");
  git_oid commit_id;
  const git_commit* parents[] = {parent.get()};
  check(git_commit_create(&commit_id, repo_, nullptr, sig.get(), sig.get(), "UTF-8", message.c_str(), tree.get(),
                          has_parent ? 1 : 0, parents),
        "cannot create commit");

  // Compare-and-swap on the branch tip; the lock above makes a mismatch a bug or an
  // outside writer, never a lost update.
  Reference ref;
  std::string log_msg = "mlopsctl: " + util::split(message, '\n').front();
  if (has_parent) {
    check(git_reference_create_matching(ref.out(), repo_, ref_name.c_str(), &commit_id, 1, git_commit_id(parent.get()),
                                        log_msg.c_str()),
          "cannot advance " + ref_name + " (it moved during the commit; retry)");
  } else {
    check(git_reference_create(ref.out(), repo_, ref_name.c_str(), &commit_id, 0, log_msg.c_str()),
          "cannot create " + ref_name);
  }
  Commit made;
  check(git_commit_lookup(made.out(), repo_, &commit_id), "cannot read new commit");
  CommitInfo info = to_info(made.get());
  for (const auto& u : updates)
    if (u.action == GIT_TREE_UPDATE_UPSERT) info.written[u.path] = oid_hex(&u.id);
  if (while_locked) while_locked(info);
  return info;
}

std::optional<std::string> GitRepo::blob_id(const std::string& rev, const std::string& path) const {
  Commit c;
  if (!lookup_commit(repo_, rev, c)) return std::nullopt;
  Tree tree;
  check(git_commit_tree(tree.out(), c.get()), "cannot read tree of " + rev);
  git_oid id = entry_id(tree.get(), path);
  if (git_oid_is_zero(&id)) return std::nullopt;
  return oid_hex(&id);
}

std::optional<std::string> GitRepo::read(const std::string& rev, const std::string& path) const {
  check_repo_path(path);
  Commit c;
  if (!lookup_commit(repo_, rev, c)) return std::nullopt;
  Tree tree;
  check(git_commit_tree(tree.out(), c.get()), "cannot read tree of " + rev);
  TreeEntry e;
  if (git_tree_entry_bypath(e.out(), tree.get(), path.c_str()) != 0) return std::nullopt;
  if (git_tree_entry_type(e.get()) != GIT_OBJECT_BLOB) return std::nullopt;
  Blob blob;
  check(git_blob_lookup(blob.out(), repo_, git_tree_entry_id(e.get())), "cannot read " + path + " at " + rev);
  auto* data = static_cast<const char*>(git_blob_rawcontent(blob.get()));
  return std::string(data, static_cast<std::size_t>(git_blob_rawsize(blob.get())));
}

std::optional<std::string> GitRepo::resolve(const std::string& rev) const {
  Commit c;
  if (!lookup_commit(repo_, rev, c)) return std::nullopt;
  return oid_hex(git_commit_id(c.get()));
}

std::vector<CommitInfo> GitRepo::log(const std::string& rev, const std::string& path, std::size_t limit) const {
  std::vector<CommitInfo> out;
  Commit start;
  if (!lookup_commit(repo_, rev, start)) return out;
  Revwalk walk;
  check(git_revwalk_new(walk.out(), repo_), "cannot walk history");
  git_revwalk_sorting(walk.get(), GIT_SORT_TOPOLOGICAL | GIT_SORT_TIME);
  check(git_revwalk_push(walk.get(), git_commit_id(start.get())), "cannot walk history");
  git_oid oid;
  while (git_revwalk_next(&oid, walk.get()) == 0) {
    Commit c;
    check(git_commit_lookup(c.out(), repo_, &oid), "cannot read commit");
    if (!path.empty()) {
      Tree tree;
      check(git_commit_tree(tree.out(), c.get()), "cannot read tree");
      git_oid mine = entry_id(tree.get(), path);
      git_oid theirs{};
      if (git_commit_parentcount(c.get()) > 0) {
        Commit p;
        Tree ptree;
        check(git_commit_parent(p.out(), c.get(), 0), "cannot read parent");
        check(git_commit_tree(ptree.out(), p.get()), "cannot read tree");
        theirs = entry_id(ptree.get(), path);
      }
      if (git_oid_equal(&mine, &theirs)) continue;
    }
    out.push_back(to_info(c.get()));
    if (limit && out.size() >= limit) break;
  }
  return out;
}

std::map<std::string, std::string> GitRepo::files(const std::string& rev) const {
  std::map<std::string, std::string> out;
  Commit c;
  if (!lookup_commit(repo_, rev, c)) return out;
  Tree tree;
  check(git_commit_tree(tree.out(), c.get()), "cannot read tree of " + rev);
  auto cb = [](const char* root, const git_tree_entry* e, void* payload) -> int {
    if (git_tree_entry_type(e) == GIT_OBJECT_BLOB) {
      auto* m = static_cast<std::map<std::string, std::string>*>(payload);
      (*m)[std::string(root) + git_tree_entry_name(e)] = oid_hex(git_tree_entry_id(e));
    }
    return 0;
  };
  check(git_tree_walk(tree.get(), GIT_TREEWALK_PRE, cb, &out), "cannot walk tree of " + rev);
  return out;
}

void GitRepo::tag(const std::string& name, const std::string& rev, const Author& tagger, const std::string& message,
                  bool force) {
  check_repo_path(name);
  Object target;
  if (git_revparse_single(target.out(), repo_, rev.c_str()) < 0)
    throw NotFoundError("cannot tag '" + rev + "': no such revision in the workspace repository");
  Signature sig;
  check(git_signature_now(sig.out(), tagger.name.c_str(), tagger.email.c_str()), "invalid tagger");
  git_oid id;
  int rc = git_tag_create(&id, repo_, name.c_str(), target.get(), sig.get(), message.c_str(), force ? 1 : 0);
  if (rc == GIT_EEXISTS) throw UsageError("tag '" + name + "' already exists");
  check(rc, "cannot create tag " + name);
}

std::vector<RefInfo> GitRepo::refs(const std::string& prefix) const {
  std::vector<RefInfo> out;
  RefIterator it;
  std::string glob = prefix + "*";
  check(git_reference_iterator_glob_new(it.out(), repo_, glob.c_str()), "cannot list refs");
  git_reference* r = nullptr;
  while (git_reference_next(&r, it.get()) == 0) {
    Reference ref;
    *ref.out() = r;
    Object peeled;
    std::string target;
    if (git_reference_peel(peeled.out(), r, GIT_OBJECT_COMMIT) == 0) target = oid_hex(git_object_id(peeled.get()));
    out.push_back({git_reference_name(r), target});
  }
  return out;
}

void GitRepo::add_remote(const std::string& name, const std::string& url) {
  if (name.empty() || name.find_first_of("/ \t:") != std::string::npos || name.rfind('.', 0) == 0)
    throw UsageError("invalid remote name '" + name + "'", "use a short word such as origin");
  if (url.empty()) throw UsageError("remote '" + name + "' needs a URL or path");
  Owned<git_remote, git_remote_free> remote;
  int rc = git_remote_create(remote.out(), repo_, name.c_str(), url.c_str());
  if (rc == GIT_EEXISTS)
    throw UsageError("remote '" + name + "' already exists",
                     "change its URL with 'mlopsctl remote set-url " + name + " URL', or pick another name");
  check(rc, "cannot add remote " + name);
}

namespace {

void require_remote(git_repository* repo, const std::string& name) {
  Owned<git_remote, git_remote_free> remote;
  if (git_remote_lookup(remote.out(), repo, name.c_str()) < 0)
    throw NotFoundError("no remote named '" + name + "'", "'mlopsctl remote list' shows the remotes there are");
}

}  // namespace

void GitRepo::remove_remote(const std::string& name) {
  require_remote(repo_, name);
  check(git_remote_delete(repo_, name.c_str()), "cannot remove remote " + name);
}

void GitRepo::set_remote_url(const std::string& name, const std::string& url) {
  if (url.empty()) throw UsageError("remote '" + name + "' needs a URL or path");
  require_remote(repo_, name);
  check(git_remote_set_url(repo_, name.c_str(), url.c_str()), "cannot change the URL of remote " + name);
}

std::vector<std::pair<std::string, std::string>> GitRepo::remotes() const {
  std::vector<std::pair<std::string, std::string>> out;
  git_strarray names{};
  check(git_remote_list(&names, repo_), "cannot list remotes");
  for (std::size_t i = 0; i < names.count; ++i) {
    Owned<git_remote, git_remote_free> r;
    if (git_remote_lookup(r.out(), repo_, names.strings[i]) == 0)
      out.emplace_back(names.strings[i], git_remote_url(r.get()) ? git_remote_url(r.get()) : "");
  }
  git_strarray_dispose(&names);
  return out;
}

namespace {

void lookup_remote(git_repository* repo, const std::string& name, Owned<git_remote, git_remote_free>& out) {
  if (git_remote_lookup(out.out(), repo, name.c_str()) < 0)
    throw NotFoundError("no remote named '" + name + "'", "add one with 'mlopsctl remote add " + name + " URL'");
}

// Where `remote` really is (~/.ssh/config applied to an SSH URL); the remote
// connects there for this operation only, its configured URL is unchanged.
detail::RemoteTarget connect_to(git_remote* remote) {
  const char* url = git_remote_url(remote);
  auto target = detail::resolve_remote(url ? url : "");
  if (url && target.url != url)
    check(git_remote_set_instance_url(remote, target.url.c_str()),
          "cannot use " + target.url + " (from ~/.ssh/config) for " + url);
  return target;
}

}  // namespace

void GitRepo::push(const std::string& remote_name, const std::string& branch) {
  load_tls_trust();
  Owned<git_remote, git_remote_free> remote;
  lookup_remote(repo_, remote_name, remote);
  std::string spec = "refs/heads/" + branch + ":refs/heads/" + branch;
  char* specs[] = {spec.data()};
  git_strarray refspecs{specs, 1};
  git_push_options opts;
  git_push_options_init(&opts, GIT_PUSH_OPTIONS_VERSION);
  // The payload is the RemoteAuth; push_update_reference finds `rejected`
  // beside it.
  struct Payload : detail::RemoteAuth {
    using RemoteAuth::RemoteAuth;
    std::string rejected;
  } state(connect_to(remote.get()));
  state.install(opts.callbacks);
  opts.callbacks.push_update_reference = [](const char* ref, const char* status, void* data) -> int {
    if (status)
      static_cast<Payload*>(static_cast<detail::RemoteAuth*>(data))->rejected = std::string(ref) + ": " + status;
    return 0;
  };
  int rc = git_remote_push(remote.get(), &refspecs, &opts);
  if (rc < 0 && !state.hint(rc).empty())
    throw RuntimeError("push to '" + remote_name + "' failed: " + last_error(), state.hint(rc));
  if (rc < 0 || !state.rejected.empty()) {
    std::string why = rc < 0 ? last_error() : state.rejected;
    throw RuntimeError("push to '" + remote_name + "' failed: " + why,
                       "if the remote has commits you do not, run 'mlopsctl remote pull " + remote_name + "' first");
  }
  state.succeeded();
}

GitRepo::PullResult GitRepo::pull(const std::string& remote_name, const std::string& branch) {
  load_tls_trust();
  Owned<git_remote, git_remote_free> remote;
  lookup_remote(repo_, remote_name, remote);
  std::string tracking = "refs/remotes/" + remote_name + "/" + branch;
  std::string spec = "+refs/heads/" + branch + ":" + tracking;
  char* specs[] = {spec.data()};
  git_strarray refspecs{specs, 1};
  git_fetch_options fetch;
  git_fetch_options_init(&fetch, GIT_FETCH_OPTIONS_VERSION);
  detail::RemoteAuth auth(connect_to(remote.get()));
  auth.install(fetch.callbacks);
  int rc = git_remote_fetch(remote.get(), &refspecs, &fetch, "mlopsctl: fetch");
  if (rc < 0 && !auth.hint(rc).empty())
    throw RuntimeError("cannot fetch from '" + remote_name + "': " + last_error(), auth.hint(rc));
  check(rc, "cannot fetch from '" + remote_name + "'");
  auth.succeeded();
  git_oid theirs;
  if (git_reference_name_to_id(&theirs, repo_, tracking.c_str()) < 0)
    throw NotFoundError("remote '" + remote_name + "' has no branch " + branch, "push to it first");
  util::FileLock lock(path_ / "mlopsctl-commit.lock");
  std::string local = "refs/heads/" + branch;
  git_oid ours;
  Reference ref;
  if (git_reference_name_to_id(&ours, repo_, local.c_str()) < 0) {
    check(git_reference_create(ref.out(), repo_, local.c_str(), &theirs, 0, "mlopsctl: pull"),
          "cannot create " + local);
    return PullResult::created;
  }
  if (git_oid_equal(&ours, &theirs) || git_graph_descendant_of(repo_, &ours, &theirs) == 1)
    return PullResult::up_to_date;
  if (git_graph_descendant_of(repo_, &theirs, &ours) != 1) {
    Commit local_tip;
    check(git_commit_lookup(local_tip.out(), repo_, &ours), "cannot read " + local);
    if (git_commit_parentcount(local_tip.get()) == 0) {
      check(git_reference_create_matching(ref.out(), repo_, local.c_str(), &theirs, 1, &ours, "mlopsctl: pull (adopt)"),
            "cannot update " + local);
      return PullResult::adopted;
    }
    throw RuntimeError("cannot pull from '" + remote_name + "': both sides have new commits on " + branch,
                       "mlopsctl only fast-forwards; push from one workspace and pull into the other before committing "
                       "again (or reconcile the two with plain git in .mlops/repo)");
  }
  check(git_reference_create_matching(ref.out(), repo_, local.c_str(), &theirs, 1, &ours, "mlopsctl: pull"),
        "cannot fast-forward " + local);
  return PullResult::fast_forwarded;
}

ObjectCounts GitRepo::object_counts() const {
  ObjectCounts c;
  for (const auto& o : loose_objects(path_ / "objects")) {
    ++c.loose;
    c.loose_bytes += o.bytes;
  }
  for (const auto& p : list_packs(path_ / "objects" / "pack")) {
    ++c.packs;
    c.packed += p.objects;
    c.pack_bytes += p.bytes;
  }
  return c;
}

bool GitRepo::auto_pack_due() const {
  if (auto_pack_ == 0) return false;
  std::error_code ec;
  if (auto t = fs::last_write_time(path_ / k_pack_failed, ec); !ec) {
    if (fs::file_time_type::clock::now() - t < std::chrono::hours(24)) return false;
  }
  const fs::path objects = path_ / "objects";
  // Like git's gc --auto: one of the 256 fan-out directories stands for the rest,
  // which costs one directory read per commit. Small thresholds (tests) count all.
  if (auto_pack_ < 1024) return loose_objects(objects).size() >= auto_pack_;
  return count_loose_in(objects / "17") * 256 >= auto_pack_;
}

void GitRepo::reopen() {
  git_repository* fresh = nullptr;
  check(git_repository_open_bare(&fresh, path_.c_str()), "cannot reopen " + path_.string());
  git_repository_free(repo_);
  repo_ = fresh;
}

PackReport GitRepo::pack() {
  util::FileLock lock(path_ / k_pack_lock, std::chrono::minutes(10));
  PackReport r = pack_locked();
  if (r.packs_merged > 0) reopen();
  std::error_code ec;
  fs::remove(path_ / k_pack_failed, ec);
  return r;
}

PackReport GitRepo::pack_locked() {
  PackReport report;
  const fs::path objects = path_ / "objects", pack_dir = objects / "pack";
  std::error_code ec;
  fs::create_directories(pack_dir, ec);

  // Leftovers of an interrupted pack write (or of a removal cut short): an index
  // without its pack, a pack without its index, libgit2's temporary pack files.
  // Readers ignore them; they go once they are an hour old, which no write that is
  // still running reaches (packs of ours hold the pack lock; a fetch or a plain
  // `git gc` is over in far less).
  const auto stale = fs::file_time_type::clock::now() - std::chrono::hours(1);
  for (auto f = fs::directory_iterator(pack_dir, ec); !ec && f != fs::directory_iterator(); f.increment(ec)) {
    const fs::path& path = f->path();
    std::error_code e2;
    auto ext = path.extension().string(), name = path.filename().string();
    bool orphan = (ext == ".idx" && !fs::exists(fs::path(path).replace_extension(".pack"), e2)) ||
                  (ext == ".pack" && !fs::exists(fs::path(path).replace_extension(".idx"), e2)) ||
                  name.rfind("pack_", 0) == 0 || name.rfind("tmp_", 0) == 0;
    if (orphan && fs::last_write_time(path, e2) < stale && !e2) fs::remove(path, e2);
  }

  auto loose = loose_objects(objects);
  if (loose.empty()) return report;

  // Geometric repacking: fold in the smallest packs while each is smaller than
  // twice what the new pack holds so far. Every object is rewritten O(log n)
  // times over the life of the repository, and the pack count stays O(log n).
  auto packs = list_packs(pack_dir);
  std::sort(packs.begin(), packs.end(), [](const PackFile& a, const PackFile& b) { return a.objects < b.objects; });
  std::vector<const PackFile*> fold;
  std::size_t total = loose.size();
  for (const auto& p : packs) {
    if (p.keep) continue;
    if (p.objects >= 2 * total) break;
    fold.push_back(&p);
    total += p.objects;
  }

  std::unordered_set<std::string> wanted;
  wanted.reserve(total);
  for (const auto& o : loose) wanted.insert(raw_id(&o.id));
  for (const PackFile* p : fold) {
    std::vector<std::string> ids;
    if (!read_pack_index(p->idx, &ids)) throw RuntimeError("cannot read pack index " + p->idx.string());
    wanted.insert(ids.begin(), ids.end());
  }

  Owned<git_odb, git_odb_free> odb;
  check(git_repository_odb(odb.out(), repo_), "cannot open the object database");
  Owned<git_packbuilder, git_packbuilder_free> pb;
  check(git_packbuilder_new(pb.out(), repo_), "cannot start a pack");
  git_packbuilder_set_threads(pb.get(), 0);

  // Objects go in with the path they were seen at, which is how the delta search
  // pairs each version of a tree or file with the versions before it. Paths come
  // from walking the wanted commits' trees, down only through wanted trees.
  std::unordered_set<std::string> inserted;
  inserted.reserve(wanted.size());
  auto insert = [&](const git_oid* id, const std::string* name) {
    if (!inserted.insert(raw_id(id)).second) return;
    check(git_packbuilder_insert(pb.get(), id, name ? name->c_str() : nullptr), "cannot add an object to the pack");
  };
  std::function<void(const git_oid*, const std::string&)> walk = [&](const git_oid* tree_id, const std::string& path) {
    if (!wanted.count(raw_id(tree_id)) || inserted.count(raw_id(tree_id))) return;
    insert(tree_id, &path);
    Tree tree;
    check(git_tree_lookup(tree.out(), repo_, tree_id), "cannot read tree " + oid_hex(tree_id));
    for (std::size_t i = 0, n = git_tree_entrycount(tree.get()); i < n; ++i) {
      const git_tree_entry* e = git_tree_entry_byindex(tree.get(), i);
      std::string child = path.empty() ? git_tree_entry_name(e) : path + "/" + git_tree_entry_name(e);
      const git_oid* id = git_tree_entry_id(e);
      if (git_tree_entry_type(e) == GIT_OBJECT_TREE)
        walk(id, child);
      else if (git_tree_entry_type(e) == GIT_OBJECT_BLOB && wanted.count(raw_id(id)))
        insert(id, &child);
    }
  };
  std::vector<git_oid> all;
  all.reserve(wanted.size());
  for (const auto& raw : wanted) {
    git_oid id;
    git_oid_fromraw(&id, reinterpret_cast<const unsigned char*>(raw.data()));
    all.push_back(id);
  }
  // The wanted commits, newest first in topological order: the delta search
  // sorts objects by type, path and size and keeps insertion order among equals,
  // so inserting history in order puts each version of a tree next to the one
  // before it (in hash-set order, consecutive window slots held versions far
  // apart, and most trees went in whole).
  struct Node {
    Commit commit;
    std::int64_t time = 0;
    std::vector<std::string> parents;  // those in the wanted set
    std::size_t children = 0;          // wanted commits that have it as a parent
  };
  std::unordered_map<std::string, Node> commits;
  for (const auto& id : all) {
    std::size_t size = 0;
    git_object_t type = GIT_OBJECT_INVALID;
    check(git_odb_read_header(&size, &type, odb.get(), &id), "cannot read object " + oid_hex(&id));
    if (type != GIT_OBJECT_COMMIT) continue;
    Node& n = commits[raw_id(&id)];
    check(git_commit_lookup(n.commit.out(), repo_, &id), "cannot read commit " + oid_hex(&id));
    n.time = static_cast<std::int64_t>(git_commit_time(n.commit.get()));
  }
  for (auto& [raw, n] : commits)
    for (unsigned i = 0; i < git_commit_parentcount(n.commit.get()); ++i) {
      std::string parent = raw_id(git_commit_parent_id(n.commit.get(), i));
      if (auto it = commits.find(parent); it != commits.end()) {
        n.parents.push_back(parent);
        ++it->second.children;
      }
    }
  auto newer = [&](const std::string* a, const std::string* b) { return commits[*a].time < commits[*b].time; };
  std::priority_queue<const std::string*, std::vector<const std::string*>, decltype(newer)> ready(newer);
  for (const auto& [raw, n] : commits)
    if (n.children == 0) ready.push(&raw);
  while (!ready.empty()) {
    const std::string* raw = ready.top();
    ready.pop();
    Node& n = commits[*raw];
    const git_oid* id = git_commit_id(n.commit.get());
    insert(id, nullptr);
    walk(git_commit_tree_id(n.commit.get()), "");
    for (const auto& parent : n.parents) {
      auto it = commits.find(parent);
      if (--it->second.children == 0) ready.push(&it->first);
    }
  }
  for (const auto& id : all) insert(&id, nullptr);  // whatever no wanted commit reaches

  check(git_packbuilder_write(pb.get(), pack_dir.c_str(), 0, nullptr, nullptr), "cannot write a pack");
  const std::string name = std::string("pack-") + git_packbuilder_name(pb.get());
  const fs::path new_idx = pack_dir / (name + ".idx"), new_pack = pack_dir / (name + ".pack");

  // Durable and complete before anything is removed.
  sync_file(new_pack);
  sync_file(new_idx);
  util::fsync_dir(pack_dir);
  std::vector<std::string> listed;
  if (!read_pack_index(new_idx, &listed)) throw RuntimeError("cannot read the new pack index " + new_idx.string());
  std::unordered_set<std::string> in_pack(listed.begin(), listed.end());
  for (const auto& raw : wanted)
    if (!in_pack.count(raw))
      throw RuntimeError("the new pack " + name + " lacks an object it was given; nothing was removed");

  for (const auto& o : loose) fs::remove(o.file, ec);
  for (const PackFile* p : fold) {
    if (p->idx == new_idx) continue;  // the same objects packed again under the same name
    // The pack first: an index alone is skipped by readers, and a later pack()
    // removes it.
    for (const char* ext : {".pack", ".idx", ".rev", ".bitmap"}) fs::remove(fs::path(p->idx).replace_extension(ext), ec);
  }
  util::fsync_dir(pack_dir);
  git_odb_refresh(odb.get());

  report.loose_packed = loose.size();
  report.packs_merged = fold.size();
  report.objects = listed.size();
  report.pack = name;
  return report;
}

std::vector<std::string> GitRepo::verify() const {
  std::vector<std::string> problems;
  Reference head;
  int rc = git_repository_head(head.out(), repo_);
  if (rc < 0 && rc != GIT_EUNBORNBRANCH) {
    problems.push_back("HEAD does not resolve: " + last_error());
    return problems;
  }
  for (const auto& ref : refs("refs/")) {
    if (ref.target.empty()) {
      problems.push_back(ref.name + " does not point to a commit");
      continue;
    }
    Revwalk walk;
    git_oid oid;
    git_oid_fromstr(&oid, ref.target.c_str());
    if (git_revwalk_new(walk.out(), repo_) < 0 || git_revwalk_push(walk.get(), &oid) < 0) {
      problems.push_back(ref.name + ": cannot walk history: " + last_error());
      continue;
    }
    while ((rc = git_revwalk_next(&oid, walk.get())) == 0) {
      Commit c;
      Tree t;
      if (git_commit_lookup(c.out(), repo_, &oid) < 0 || git_commit_tree(t.out(), c.get()) < 0) {
        problems.push_back(ref.name + ": commit " + oid_hex(&oid) + " is unreadable: " + last_error());
        break;
      }
    }
    if (rc < 0 && rc != GIT_ITEROVER) problems.push_back(ref.name + ": history is broken: " + last_error());
  }
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(path_, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const auto& p = it->path();
    if (p.extension() == ".lock" && !own_lock(p) && !in_pack_dir(p))
      problems.push_back("stale lock file " + p.string() + " (left by an interrupted git write)");
  }
  return problems;
}

std::vector<fs::path> GitRepo::remove_stale_locks() const {
  std::vector<fs::path> removed;
  // Holding our commit lock means no mlopsctl writer is inside libgit2 right now.
  util::FileLock lock(path_ / "mlopsctl-commit.lock");
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(path_, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const auto& p = it->path();
    if (p.extension() == ".lock" && !own_lock(p) && !in_pack_dir(p)) removed.push_back(p);
  }
  for (const auto& p : removed) fs::remove(p, ec);
  return removed;
}

}  // namespace mlops::store

// The mbedTLS calls that libgit2's TLS init makes; see DeferredCa above. These
// are plain C symbols, so they live outside any namespace.
#if defined(MLOPS_CA_WRAP)
// Static builds: -Wl,--wrap sends libgit2's calls to __wrap_*; __real_* is mbedTLS's.
extern "C" {
int __real_mbedtls_x509_crt_parse_file(void* chain, const char* file);
int __real_mbedtls_x509_crt_parse_path(void* chain, const char* dir);
int __wrap_mbedtls_x509_crt_parse_file(void* chain, const char* file) {
  if (mlops::store::detail::defer_ca_load(file, nullptr)) return 0;
  return __real_mbedtls_x509_crt_parse_file(chain, file);
}
int __wrap_mbedtls_x509_crt_parse_path(void* chain, const char* dir) {
  if (mlops::store::detail::defer_ca_load(nullptr, dir)) return 0;
  return __real_mbedtls_x509_crt_parse_path(chain, dir);
}
}
#elif defined(MLOPS_CA_INTERPOSE)
// Dynamic builds: these definitions interpose on libmbedx509's (libgit2.so calls
// it through its PLT), which dlsym(RTLD_NEXT) finds for the real work.
namespace {
using ParseFn = int (*)(void*, const char*);
int forward(const char* name, void* chain, const char* arg) {
  auto real = reinterpret_cast<ParseFn>(dlsym(RTLD_NEXT, name));
  return real ? real(chain, arg) : -0x2900;  // MBEDTLS_ERR_X509_FILE_IO_ERROR
}
}  // namespace
extern "C" {
int mbedtls_x509_crt_parse_file(void* chain, const char* file) {
  if (mlops::store::detail::defer_ca_load(file, nullptr)) return 0;
  return forward("mbedtls_x509_crt_parse_file", chain, file);
}
int mbedtls_x509_crt_parse_path(void* chain, const char* dir) {
  if (mlops::store::detail::defer_ca_load(nullptr, dir)) return 0;
  return forward("mbedtls_x509_crt_parse_path", chain, dir);
}
}
#endif
