#include <arpa/inet.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>
#include <stdexcept>

#include "store/git_repo.hpp"
#include "store/ssh_config.hpp"
#include "store/versioned.hpp"
#include "support.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/process.hpp"
#include "util/text.hpp"

namespace mlops::store {
namespace {

class GitRepoTest : public ::testing::Test {
 protected:
  testing::ScratchDir dir_{"git"};
  Author alice{"Alice", "alice@example.org"};
};

TEST_F(GitRepoTest, CommitReadAndLog) {
  auto repo = GitRepo::init(dir_ / "repo");
  EXPECT_FALSE(repo.resolve("main"));
  auto c1 = repo.commit({{"prompts/a.yaml", "v1"}}, alice, "add a");
  ASSERT_TRUE(c1);
  auto c2 = repo.commit({{"prompts/b.yaml", "b"}}, alice, "add b");
  auto c3 = repo.commit({{"prompts/a.yaml", "v2"}}, alice, "change a");
  ASSERT_TRUE(c2 && c3);
  EXPECT_EQ(c3->parents, std::vector<std::string>{c2->id});
  EXPECT_EQ(repo.read("main", "prompts/a.yaml"), "v2");
  EXPECT_EQ(repo.read(c1->id, "prompts/a.yaml"), "v1");
  EXPECT_FALSE(repo.read(c1->id, "prompts/b.yaml"));
  auto a_log = repo.log("main", "prompts/a.yaml");
  ASSERT_EQ(a_log.size(), 2u);
  EXPECT_EQ(a_log[0].message, "change a");
  EXPECT_EQ(a_log[1].id, c1->id);
  EXPECT_EQ(a_log[0].author.name, "Alice");
  EXPECT_EQ(repo.log("main").size(), 3u);
  EXPECT_EQ(repo.log("main", "", 1).size(), 1u);
  auto files = repo.files("main");
  EXPECT_EQ(files.size(), 2u);
  EXPECT_TRUE(repo.verify().empty());
}

TEST_F(GitRepoTest, PlainGitReadsTheHistory) {
  auto repo = GitRepo::init(dir_ / "repo");
  repo.commit({{"x.txt", "hello\n"}}, alice, "first");
  auto r = util::run_process({"/usr/bin/git", "-C", (dir_ / "repo").string(), "log", "--format=%an %s"});
  EXPECT_EQ(r.out, "Alice first\n");
  auto show = util::run_process({"/usr/bin/git", "-C", (dir_ / "repo").string(), "show", "main:x.txt"});
  EXPECT_EQ(show.out, "hello\n");
  auto fsck = util::run_process({"/usr/bin/git", "-C", (dir_ / "repo").string(), "fsck", "--strict"});
  EXPECT_EQ(fsck.exit_code, 0) << fsck.err;
}

TEST_F(GitRepoTest, IdenticalContentIsANoOpAndDeletesWork) {
  auto repo = GitRepo::init(dir_ / "repo");
  repo.commit({{"a", "1"}, {"b", "2"}}, alice, "two files");
  EXPECT_FALSE(repo.commit({{"a", "1"}}, alice, "same again"));
  EXPECT_FALSE(repo.commit({{"missing", std::nullopt}}, alice, "delete nothing"));
  auto del = repo.commit({{"a", std::nullopt}}, alice, "delete a");
  ASSERT_TRUE(del);
  EXPECT_FALSE(repo.read("main", "a"));
  EXPECT_EQ(repo.read("main", "b"), "2");
}

TEST_F(GitRepoTest, RejectsPathTraversalAndGitInternals) {
  auto repo = GitRepo::init(dir_ / "repo");
  for (const char* bad : {"../escape", "/abs", "a/../b", ".git/config", "a//b", "", "a/", "x\\y"})
    EXPECT_THROW(repo.commit({{bad, "x"}}, alice, "bad"), UsageError) << bad;
  EXPECT_THROW(repo.commit({{"ok", "x"}}, alice, ""), UsageError);
}

TEST_F(GitRepoTest, TagsAndRefs) {
  auto repo = GitRepo::init(dir_ / "repo");
  auto c = repo.commit({{"a", "1"}}, alice, "one");
  repo.tag("v1", "main", alice, "release 1");
  EXPECT_THROW(repo.tag("v1", "main", alice, "again"), UsageError);
  EXPECT_THROW(repo.tag("v2", "nope", alice, "x"), NotFoundError);
  auto refs = repo.refs("refs/tags/");
  ASSERT_EQ(refs.size(), 1u);
  EXPECT_EQ(refs[0].name, "refs/tags/v1");
  EXPECT_EQ(refs[0].target, c->id);
  EXPECT_EQ(repo.resolve("v1"), c->id);
}

TEST_F(GitRepoTest, ConcurrentCommitsFromManyProcessesAllLand) {
  { auto repo = GitRepo::init(dir_ / "repo"); }
  { Db db(dir_ / "state.db", Db::Mode::create); }
  constexpr int k_procs = 4, k_commits = 25;
  testing::run_in_processes(k_procs, [&](int p) {
    auto repo = GitRepo::open(dir_ / "repo");
    Db db(dir_ / "state.db");
    for (int i = 0; i < k_commits; ++i)
      commit_tracked(db, repo, {{"p" + std::to_string(p) + "/f" + std::to_string(i), "x"}}, {"P", "p@x"}, "c");
  });
  auto repo = GitRepo::open(dir_ / "repo");
  EXPECT_EQ(repo.log("main").size(), static_cast<std::size_t>(k_procs * k_commits));
  EXPECT_EQ(repo.files("main").size(), static_cast<std::size_t>(k_procs * k_commits));
  Db db(dir_ / "state.db");
  EXPECT_TRUE(index_differences(db, repo).empty());
}

TEST_F(GitRepoTest, IndexDriftIsDetectedAndRebuilt) {
  auto repo = GitRepo::init(dir_ / "repo");
  Db db(dir_ / "state.db", Db::Mode::create);
  commit_tracked(db, repo, {{"a", "1"}, {"b", "2"}}, alice, "two");
  EXPECT_TRUE(index_differences(db, repo).empty());
  repo.commit({{"a", "changed behind the index"}}, alice, "direct");
  db.exec("INSERT INTO git_files(path, blob, commit_id) VALUES ('ghost', 'x', 'y')");
  auto diffs = index_differences(db, repo);
  EXPECT_EQ(diffs.size(), 2u);
  rebuild_index(db, repo);
  EXPECT_TRUE(index_differences(db, repo).empty());
}

TEST_F(GitRepoTest, StaleLocksAreReportedAndRemoved) {
  auto repo = GitRepo::init(dir_ / "repo");
  repo.commit({{"a", "1"}}, alice, "one");
  util::atomic_write(dir_ / "repo" / "refs" / "heads" / "main.lock", "");
  auto problems = repo.verify();
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("stale lock file"), std::string::npos);
  EXPECT_EQ(repo.remove_stale_locks().size(), 1u);
  EXPECT_TRUE(repo.verify().empty());
  EXPECT_TRUE(repo.commit({{"a", "2"}}, alice, "two"));
}

// Every file version of every commit, read back through libgit2.
void expect_all_versions(const GitRepo& repo, const std::vector<std::pair<std::string, std::string>>& commits) {
  for (std::size_t i = 0; i < commits.size(); ++i)
    EXPECT_EQ(repo.read(commits[i].first, "prompts/ab/p" + std::to_string(i % 7) + ".txt"), commits[i].second)
        << "version " << i;
}

TEST_F(GitRepoTest, PackingKeepsEveryVersionReadable) {
  auto repo = GitRepo::init(dir_ / "repo");
  repo.set_auto_pack(0);
  std::vector<std::pair<std::string, std::string>> commits;  // commit id, content
  auto add = [&](int n) {
    for (int i = 0; i < n; ++i) {
      std::size_t k = commits.size();
      std::string content = "version " + std::to_string(k) + " of p" + std::to_string(k % 7) + "\n" +
                            std::string(200, static_cast<char>('a' + k % 26));
      auto c = repo.commit({{"prompts/ab/p" + std::to_string(k % 7) + ".txt", content}}, alice, "c" + std::to_string(k));
      ASSERT_TRUE(c);
      commits.emplace_back(c->id, content);
    }
  };
  add(40);
  auto before = repo.object_counts();
  EXPECT_EQ(before.packs, 0u);
  EXPECT_GE(before.loose, 40u * 4);  // blob, two trees and the commit, each time

  auto first = repo.pack();
  EXPECT_EQ(first.loose_packed, before.loose);
  EXPECT_EQ(first.objects, before.loose);
  EXPECT_EQ(first.packs_merged, 0u);
  auto after = repo.object_counts();
  EXPECT_EQ(after.loose, 0u);
  EXPECT_EQ(after.packs, 1u);
  EXPECT_EQ(after.packed, before.loose);
  expect_all_versions(repo, commits);
  EXPECT_EQ(repo.pack().pack, "");  // nothing loose: nothing to do

  // A small second batch stays a pack of its own; a large third one folds both in.
  add(5);
  auto second = repo.pack();
  EXPECT_EQ(second.packs_merged, 0u);
  EXPECT_EQ(repo.object_counts().packs, 2u);
  add(60);
  auto third = repo.pack();
  EXPECT_EQ(third.packs_merged, 2u);
  auto merged = repo.object_counts();
  EXPECT_EQ(merged.packs, 1u);
  EXPECT_EQ(merged.loose, 0u);
  EXPECT_EQ(merged.packed, third.objects);
  expect_all_versions(repo, commits);
  EXPECT_TRUE(repo.verify().empty());
  EXPECT_EQ(repo.log("main").size(), commits.size());

  // A fresh handle (another process) and plain git agree.
  auto reopened = GitRepo::open(dir_ / "repo");
  expect_all_versions(reopened, commits);
  auto fsck = util::run_process({"/usr/bin/git", "-C", (dir_ / "repo").string(), "fsck", "--full", "--strict"});
  EXPECT_EQ(fsck.exit_code, 0) << fsck.err;
  auto count = util::run_process({"/usr/bin/git", "-C", (dir_ / "repo").string(), "count-objects", "-v"});
  EXPECT_EQ(count.out.rfind("count: 0\n", 0), 0u) << count.out;
  EXPECT_NE(count.out.find("\npacks: 1\n"), std::string::npos) << count.out;
}

TEST_F(GitRepoTest, CommitsPackAutomaticallyPastTheThreshold) {
  auto repo = GitRepo::init(dir_ / "repo");
  repo.set_auto_pack(20);
  std::vector<std::pair<std::string, std::string>> commits;
  for (int k = 0; k < 30; ++k) {
    std::string content = "v" + std::to_string(k) + "\n";
    auto c = repo.commit({{"prompts/ab/p" + std::to_string(k % 7) + ".txt", content}}, alice, "c");
    ASSERT_TRUE(c);
    commits.emplace_back(c->id, content);
    EXPECT_LT(repo.object_counts().loose, 20u) << "after commit " << k;
  }
  EXPECT_GE(repo.object_counts().packs, 1u);
  expect_all_versions(repo, commits);
  // Packs folded away are let go of, not kept open by this long-lived handle.
  std::size_t held = 0;
  for (const auto& fd : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    auto target = fs::read_symlink(fd.path(), ec).string();
    if (target.find("/objects/pack/") != std::string::npos && target.find("(deleted)") != std::string::npos) ++held;
  }
  EXPECT_EQ(held, 0u);
}

// Packing runs outside the commit lock: commits from other processes go on
// while one packs, and nothing any of them wrote is lost.
TEST_F(GitRepoTest, ConcurrentCommitsWhilePackingAllLand) {
  { auto repo = GitRepo::init(dir_ / "repo"); }
  { Db db(dir_ / "state.db", Db::Mode::create); }
  constexpr int k_procs = 4, k_commits = 40;
  testing::run_in_processes(k_procs, [&](int p) {
    auto repo = GitRepo::open(dir_ / "repo");
    repo.set_auto_pack(12);
    Db db(dir_ / "state.db");
    for (int i = 0; i < k_commits; ++i)
      commit_tracked(db, repo, {{"p" + std::to_string(p) + "/f" + std::to_string(i), "x" + std::to_string(i)}},
                     {"P", "p@x"}, "c");
  });
  auto repo = GitRepo::open(dir_ / "repo");
  EXPECT_EQ(repo.log("main").size(), static_cast<std::size_t>(k_procs * k_commits));
  auto files = repo.files("main");
  ASSERT_EQ(files.size(), static_cast<std::size_t>(k_procs * k_commits));
  for (int p = 0; p < k_procs; ++p)
    for (int i = 0; i < k_commits; ++i)
      EXPECT_EQ(repo.read("main", "p" + std::to_string(p) + "/f" + std::to_string(i)), "x" + std::to_string(i));
  EXPECT_GE(repo.object_counts().packs, 1u);
  EXPECT_TRUE(repo.verify().empty());
  auto fsck = util::run_process({"/usr/bin/git", "-C", (dir_ / "repo").string(), "fsck", "--full", "--strict"});
  EXPECT_EQ(fsck.exit_code, 0) << fsck.err;
  Db db(dir_ / "state.db");
  EXPECT_TRUE(index_differences(db, repo).empty());
}

TEST_F(GitRepoTest, PackingSkipsAnIndexWithoutItsPack) {
  auto repo = GitRepo::init(dir_ / "repo");
  repo.set_auto_pack(0);
  auto c = repo.commit({{"prompts/ab/p0.txt", "zero"}}, alice, "c");
  repo.pack();
  // What a pack write killed between its index and its pack leaves behind.
  fs::path pack_dir = dir_ / "repo" / "objects" / "pack";
  for (const auto& e : fs::directory_iterator(pack_dir))
    if (e.path().extension() == ".idx") fs::copy_file(e.path(), pack_dir / "pack-0000000000000000000000000000000000000000.idx");
  EXPECT_EQ(repo.object_counts().packs, 1u);
  EXPECT_EQ(GitRepo::open(dir_ / "repo").read(c->id, "prompts/ab/p0.txt"), "zero");
  EXPECT_TRUE(repo.commit({{"prompts/ab/p0.txt", "one"}}, alice, "c"));
  repo.pack();
  EXPECT_EQ(GitRepo::open(dir_ / "repo").read("main", "prompts/ab/p0.txt"), "one");
}

// libgit2's start-up no longer parses the system CA bundle (about 6 ms of CPU in
// every command); the first push or pull loads it. Each test runs in its own
// process under ctest, so libgit2 starts fresh here.
TEST_F(GitRepoTest, CaBundleIsLoadedByTheFirstPushNotAtStartUp) {
  auto repo = GitRepo::init(dir_ / "repo");
  repo.commit({{"a.txt", "1"}}, alice, "one");
  EXPECT_TRUE(repo.read("main", "a.txt"));
  const TlsTrust at_start = tls_trust_state();
  if (at_start == TlsTrust::not_deferred)
    GTEST_SKIP() << "this libgit2 loads no CA bundle at start-up (built with OpenSSL or without HTTPS)";
  ASSERT_EQ(at_start, TlsTrust::deferred) << "local commits must not load the CA bundle";

  auto bare = util::run_process({"/usr/bin/git", "init", "-q", "--bare", (dir_ / "remote.git").string()});
  ASSERT_EQ(bare.exit_code, 0) << bare.err;
  repo.add_remote("origin", (dir_ / "remote.git").string());
  EXPECT_EQ(tls_trust_state(), TlsTrust::deferred);
  repo.push("origin");
  bool readable = std::ifstream("/etc/ssl/certs/ca-certificates.crt").good();
  EXPECT_EQ(tls_trust_state(), readable ? TlsTrust::loaded : TlsTrust::load_failed);
  auto log = util::run_process({"/usr/bin/git", "-C", (dir_ / "remote.git").string(), "log", "--format=%s", "main"});
  EXPECT_EQ(log.out, "one\n");
}

// A TLS server on 127.0.0.1 whose certificate no CA signed: with the bundle
// loaded lazily, libgit2 must still verify, and refuse it.
class SelfSignedTlsServer {
 public:
  explicit SelfSignedTlsServer(const fs::path& dir) {
    cert_ = (dir / "cert.pem").string();
    key_ = (dir / "key.pem").string();
    auto gen = util::run_process({"/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                                  "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key_, "-out", cert_, "-days",
                                  "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"});
    if (gen.exit_code != 0) throw std::runtime_error("openssl req failed: " + gen.err);
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(s, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
      throw std::runtime_error("cannot find a free port");
    port_ = ntohs(addr.sin_port);
    ::close(s);
    pid_ = ::fork();
    if (pid_ == 0) {
      int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
      std::string accept = "127.0.0.1:" + std::to_string(port_);
      ::execl("/usr/bin/openssl", "openssl", "s_server", "-accept", accept.c_str(), "-cert", cert_.c_str(), "-key",
              key_.c_str(), "-www", static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Ready once it accepts a connection (10 s at most).
    for (int i = 0; i < 1000; ++i) {
      int c = ::socket(AF_INET, SOCK_STREAM, 0);
      bool up = ::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
      ::close(c);
      if (up) return;
      ::usleep(10000);
    }
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    throw std::runtime_error("openssl s_server did not start on port " + std::to_string(port_));
  }
  ~SelfSignedTlsServer() {
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int st = 0;
      ::waitpid(pid_, &st, 0);
    }
  }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(port_) + "/repo.git"; }

 private:
  std::string cert_, key_;
  int port_ = 0;
  pid_t pid_ = -1;
};

TEST_F(GitRepoTest, HttpsRemoteStillVerifiesCertificates) {
  if (!fs::exists("/usr/bin/openssl")) GTEST_SKIP() << "needs the openssl command (scripts/install-deps)";
  auto repo = GitRepo::init(dir_ / "repo");
  repo.commit({{"a.txt", "1"}}, alice, "one");
  SelfSignedTlsServer server(dir_.path());
  repo.add_remote("origin", server.url());
  try {
    repo.push("origin");
    ADD_FAILURE() << "push to a server with a self-signed certificate succeeded";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("certificate"), std::string::npos) << e.what();
  }
  try {
    repo.pull("origin");
    ADD_FAILURE() << "pull from a server with a self-signed certificate succeeded";
  } catch (const RuntimeError& e) {
    EXPECT_NE(std::string(e.what()).find("certificate"), std::string::npos) << e.what();
  }
  TlsTrust state = tls_trust_state();
  EXPECT_TRUE(state == TlsTrust::not_deferred || state == TlsTrust::loaded || state == TlsTrust::load_failed);
}

// An HTTP server on 127.0.0.1 that answers every request with 401 and the
// given challenge, and counts what it was sent.
class ChallengeServer {
 public:
  explicit ChallengeServer(std::string challenge) : challenge_(std::move(challenge)) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0 || ::listen(fd_, 8) != 0)
      throw std::runtime_error("cannot listen on 127.0.0.1");
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      for (;;) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0 || stop_) {
          if (c >= 0) ::close(c);
          return;
        }
        char buf[4096];
        std::string req;
        while (req.find("\r\n\r\n") == std::string::npos) {
          auto n = ::read(c, buf, sizeof buf);
          if (n <= 0) break;
          req.append(buf, static_cast<std::size_t>(n));
        }
        {
          std::lock_guard<std::mutex> g(mu_);
          requests_.push_back(req);
        }
        std::string resp = "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: " + challenge_ +
                           "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
        (void)!::write(c, resp.data(), resp.size());
        ::close(c);
      }
    });
  }
  ~ChallengeServer() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    int c = ::socket(AF_INET, SOCK_STREAM, 0);  // wakes accept() if shutdown did not
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port_));
    ::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::close(c);
    thread_.join();
    ::close(fd_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/repo.git"; }
  // How many requests carried `text` (all of them for "").
  int requests(const std::string& text = "") const {
    std::lock_guard<std::mutex> g(mu_);
    int n = 0;
    for (const auto& r : requests_) n += r.find(text) != std::string::npos;
    return n;
  }

 private:
  std::string challenge_;
  int fd_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::vector<std::string> requests_;
  std::thread thread_;
};

// A HOME whose git configuration has only the given lines.
void use_git_config(const fs::path& home, const std::string& config) {
  fs::create_directories(home);
  std::ofstream(home / ".gitconfig") << config;
  ::setenv("HOME", home.c_str(), 1);
  ::setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
  ::unsetenv("XDG_CONFIG_HOME");
  ::unsetenv("GIT_ASKPASS");
  ::unsetenv("SSH_ASKPASS");
}

// An HTTPS-style remote that wants a password: the user's git credential
// helper answers, the remote refuses it, and the helper is told to forget it.
TEST_F(GitRepoTest, CredentialHelperAnswersAndIsToldWhenRefused) {
  fs::path log = dir_ / "helper.log";
  use_git_config(dir_ / "home", "[credential]\n\thelper = \"!f() { echo \\\"$1\\\" >> '" + log.string() +
                                    "'; test \\\"$1\\\" = get && printf 'username=alice\\\\npassword=s3cret\\\\n'; }; f\"\n");
  auto repo = GitRepo::init(dir_ / "repo");
  repo.commit({{"a.txt", "1"}}, alice, "one");
  ChallengeServer server("Basic realm=\"prompts\"");
  repo.add_remote("origin", server.url());
  for (const auto& err : {testing::error_of([&] { repo.pull("origin"); }, true),
                           testing::error_of([&] { repo.push("origin"); }, true)}) {
    EXPECT_NE(err.find("refused the credentials"), std::string::npos) << err;
    EXPECT_NE(err.find("(git credential helpers)"), std::string::npos) << err;  // it answered; the answer was refused
    EXPECT_NE(err.find("| set up credentials"), std::string::npos) << err;
    EXPECT_NE(err.find("credential.helper"), std::string::npos) << err;
  }
  // base64("alice:s3cret"): one request per operation carried the helper's answer.
  EXPECT_EQ(server.requests("Authorization: Basic YWxpY2U6czNjcmV0"), 2);
  auto calls = util::read_file(log);
  EXPECT_EQ(calls, "get\nerase\nget\nerase\n");
}

// No helper and no terminal: the error says so instead of hanging on a prompt.
TEST_F(GitRepoTest, NoCredentialsFailsWithoutPrompting) {
  use_git_config(dir_ / "home", "");
  auto repo = GitRepo::init(dir_ / "repo");
  repo.commit({{"a.txt", "1"}}, alice, "one");
  ChallengeServer server("Basic realm=\"prompts\"");
  repo.add_remote("origin", server.url());
  auto err = testing::error_of([&] { repo.pull("origin"); });
  EXPECT_NE(err.find("none had an answer"), std::string::npos) << err;
  EXPECT_EQ(server.requests("Authorization:"), 0);
}

// An OpenSSH server on 127.0.0.1 (Debian's sshd, from scripts/install-deps)
// with a fresh ed25519 host key that lets in one fresh user key, and an
// ssh-agent holding that key.
class SshServer {
 public:
  explicit SshServer(const fs::path& dir) : dir_(dir) {
    fs::create_directories(dir_);
    keygen(dir_ / "host_key");
    keygen(dir_ / "user_key");
    fs::copy_file(dir_ / "user_key.pub", dir_ / "authorized_keys");
    ::chmod((dir_ / "authorized_keys").c_str(), 0600);
    port_ = free_port();
    std::ofstream(dir_ / "sshd_config") << "ListenAddress 127.0.0.1\nPort " << port_ << "\nHostKey "
                                         << (dir_ / "host_key").string() << "\nAuthorizedKeysFile "
                                         << (dir_ / "authorized_keys").string() << "\nPidFile "
                                         << (dir_ / "sshd.pid").string()
                                         << "\nUsePAM no\nStrictModes no\nPasswordAuthentication no\n"
                                            "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n";
    fs::create_directories("/run/sshd");  // sshd's privilege-separation directory
    sshd_ = spawn({"/usr/sbin/sshd", "-D", "-e", "-f", (dir_ / "sshd_config").string()}, dir_ / "sshd.log");
    agent_ = spawn({"/usr/bin/ssh-agent", "-D", "-a", agent_socket().string()}, dir_ / "agent.log");
    wait_for([&] { return connects(port_); }, "sshd on port " + std::to_string(port_));
    wait_for([&] { return fs::exists(agent_socket()); }, "ssh-agent");
    auto add = util::run_process(
        {"/usr/bin/env", "SSH_AUTH_SOCK=" + agent_socket().string(), "/usr/bin/ssh-add", (dir_ / "user_key").string()});
    if (add.exit_code != 0) throw std::runtime_error("ssh-add failed: " + add.err);
  }
  ~SshServer() {
    for (pid_t pid : {sshd_, agent_})
      if (pid > 0) {
        ::kill(pid, SIGTERM);
        ::waitpid(pid, nullptr, 0);
      }
  }
  std::string url(const fs::path& repo) const {
    return "ssh://" + user() + "@127.0.0.1:" + std::to_string(port_) + repo.string();
  }
  // The known_hosts line for this server, or for it with another key.
  std::string known_hosts_line(bool right_key = true) const {
    fs::path pub = dir_ / "host_key.pub";
    if (!right_key) {
      pub = dir_ / "other_key.pub";
      if (!fs::exists(pub)) keygen(dir_ / "other_key");
    }
    auto fields = util::split(util::read_file(pub), ' ');
    return "[127.0.0.1]:" + std::to_string(port_) + " " + fields.at(0) + " " + fields.at(1) + "\n";
  }
  fs::path agent_socket() const { return dir_ / "agent.sock"; }
  fs::path user_key() const { return dir_ / "user_key"; }
  int port() const { return port_; }

 private:
  static std::string user() {
    const passwd* pw = ::getpwuid(::getuid());
    return pw ? pw->pw_name : "root";
  }
  static void keygen(const fs::path& key) {
    auto r = util::run_process({"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key.string()});
    if (r.exit_code != 0) throw std::runtime_error("ssh-keygen failed: " + r.err);
  }
  static int free_port() {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    ::bind(s, reinterpret_cast<sockaddr*>(&addr), len);
    ::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(s);
    return ntohs(addr.sin_port);
  }
  static bool connects(int port) {
    int c = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    bool up = ::connect(c, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(c);
    return up;
  }
  template <class Ready>
  void wait_for(Ready ready, const std::string& what) {  // 10 s at most
    for (int i = 0; i < 1000; ++i) {
      if (ready()) return;
      ::usleep(10000);
    }
    throw std::runtime_error(what + " did not start; see " + dir_.string());
  }
  static pid_t spawn(const std::vector<std::string>& argv, const fs::path& log) {
    pid_t pid = ::fork();
    if (pid == 0) {
      int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int null = ::open("/dev/null", O_RDONLY);
      ::dup2(null, 0);
      ::dup2(out, 1);
      ::dup2(out, 2);
      std::vector<char*> args;
      for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    return pid;
  }

  fs::path dir_;
  int port_ = 0;
  pid_t sshd_ = -1, agent_ = -1;
};

class SshRemoteTest : public GitRepoTest {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "sshd runs only as root here (privilege separation)";
    if (!fs::exists("/usr/sbin/sshd")) FAIL() << "no /usr/sbin/sshd: run scripts/install-deps (openssh-server)";
    server_ = std::make_unique<SshServer>(dir_ / "sshd");
    home_ = dir_ / "home";
    fs::create_directories(home_ / ".ssh");
    use_git_config(home_, "");
    ::setenv("SSH_AUTH_SOCK", server_->agent_socket().c_str(), 1);
    auto bare = util::run_process({"/usr/bin/git", "init", "-q", "--bare", (dir_ / "remote.git").string()});
    ASSERT_EQ(bare.exit_code, 0) << bare.err;
    repo_ = std::make_unique<GitRepo>(GitRepo::init(dir_ / "repo"));
    repo_->commit({{"a.txt", "1"}}, alice, "one");
    repo_->add_remote("origin", server_->url(dir_ / "remote.git"));
  }
  void known_hosts(const std::string& text) { std::ofstream(home_ / ".ssh" / "known_hosts") << text; }
  std::string remote_log() const {
    return util::run_process({"/usr/bin/git", "-C", (dir_ / "remote.git").string(), "log", "--format=%s", "main"}).out;
  }

  std::unique_ptr<SshServer> server_;
  fs::path home_;
  std::unique_ptr<GitRepo> repo_;
};

// libgit2 1.5 refuses every SSH host key unless told how to check it: the
// store checks known_hosts the way ssh does with StrictHostKeyChecking=yes.
TEST_F(SshRemoteTest, PushAndPullOnceTheHostKeyIsKnown) {
  auto err = testing::error_of([&] { repo_->push("origin"); }, true);
  EXPECT_NE(err.find("SSH host key of [127.0.0.1]:" + std::to_string(server_->port()) + " is not in"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("ssh-keyscan -p " + std::to_string(server_->port()) + " 127.0.0.1"), std::string::npos) << err;
  EXPECT_EQ(remote_log(), "");

  known_hosts("# comment\n@cert-authority *.example.org ssh-ed25519 AAAAnotakey\n" + server_->known_hosts_line());
  repo_->push("origin");
  EXPECT_EQ(remote_log(), "one\n");

  auto other = GitRepo::init(dir_ / "other");
  other.add_remote("origin", server_->url(dir_ / "remote.git"));
  EXPECT_EQ(other.pull("origin"), GitRepo::PullResult::created);
  EXPECT_EQ(other.read("main", "a.txt"), "1");
}

TEST_F(SshRemoteTest, AChangedOrRevokedHostKeyIsRefused) {
  known_hosts(server_->known_hosts_line(false));
  auto err = testing::error_of([&] { repo_->push("origin"); }, true);
  EXPECT_NE(err.find("does not match the one in " + (home_ / ".ssh" / "known_hosts").string()), std::string::npos)
      << err;
  EXPECT_NE(err.find("ssh-keygen -R '[127.0.0.1]:" + std::to_string(server_->port()) + "'"), std::string::npos)
      << err;

  known_hosts(server_->known_hosts_line() + "@revoked " + server_->known_hosts_line());
  err = testing::error_of([&] { repo_->pull("origin"); });
  EXPECT_NE(err.find("marked @revoked"), std::string::npos) << err;
  EXPECT_EQ(remote_log(), "");

  // Hashed host names (ssh-keygen -H, HashKnownHosts yes) are read too.
  known_hosts(server_->known_hosts_line());
  auto hash = util::run_process({"/usr/bin/ssh-keygen", "-H", "-f", (home_ / ".ssh" / "known_hosts").string()});
  ASSERT_EQ(hash.exit_code, 0) << hash.err;
  ASSERT_EQ(util::read_file(home_ / ".ssh" / "known_hosts").rfind("|1|", 0), 0u);
  repo_->push("origin");
  EXPECT_EQ(remote_log(), "one\n");
}

TEST_F(SshRemoteTest, WithoutAnAgentTheDefaultIdentityFileIsUsed) {
  known_hosts(server_->known_hosts_line());
  ::unsetenv("SSH_AUTH_SOCK");
  auto err = testing::error_of([&] { repo_->push("origin"); }, true);
  EXPECT_NE(err.find("refused the credentials found (ssh-agent (no SSH_AUTH_SOCK socket))"), std::string::npos)
      << err;
  EXPECT_NE(err.find("~/.ssh/id_ed25519"), std::string::npos) << err;

  fs::copy_file(server_->user_key(), home_ / ".ssh" / "id_ed25519");
  ::chmod((home_ / ".ssh" / "id_ed25519").c_str(), 0600);
  repo_->push("origin");
  EXPECT_EQ(remote_log(), "one\n");
}

// A Host alias from ~/.ssh/config: libssh2 reads no configuration, so the
// store applies HostName, Port, User and IdentityFile itself.
TEST_F(SshRemoteTest, AHostAliasFromSshConfigResolves) {
  known_hosts(server_->known_hosts_line());
  ::unsetenv("SSH_AUTH_SOCK");
  fs::create_directories(home_ / "keys");
  fs::copy_file(server_->user_key(), home_ / "keys" / "deploy");
  ::chmod((home_ / "keys" / "deploy").c_str(), 0600);
  std::ofstream(home_ / ".ssh" / "config") << "Host other\n  Port 1\n\nHost prompts-*  !prompts-old\n  HostName 127.0.0.1\n"
                                           << "  Port " << server_->port()
                                           << "\n  IdentityFile ~/keys/deploy\n  IdentitiesOnly yes\n";
  std::string alias_url = "prompts-server:" + (dir_ / "remote.git").string();
  repo_->add_remote("alias", alias_url);
  repo_->push("alias");
  EXPECT_EQ(remote_log(), "one\n");
  // The alias is kept as the remote's URL; only the connection used the config.
  bool kept = false;
  for (const auto& [name, url] : repo_->remotes()) kept |= name == "alias" && url == alias_url;
  EXPECT_TRUE(kept);

  // A negated pattern excludes the host: it is looked up as it is, and fails.
  repo_->add_remote("old", "prompts-old:" + (dir_ / "remote.git").string());
  auto err = testing::error_of([&] { repo_->push("old"); });
  EXPECT_NE(err.find("push to 'old' failed"), std::string::npos) << err;
}

TEST(SshConfig, HostBlocksFirstValueWinsAndIdentitiesAccumulate) {
  const std::string text =
      "# global\nUser everyone\nHost *.example.org\n  Port 2200\n  IdentityFile ~/.ssh/org_%r\n"
      "Host git.example.org \"build box\"\n  HostName=10.0.0.5\n  Port 2222\n  User git\n  IdentityFile %d/k_%h\n"
      "Match host git.example.org\n  Port 9\nHost *\n  IdentitiesOnly yes\n";
  auto c = parse_ssh_config(text, "git.example.org", "/home/ann", "ann");
  EXPECT_EQ(c.host_name, "10.0.0.5");
  EXPECT_EQ(c.port, 2200);        // the first Port that applies
  EXPECT_EQ(c.user, "everyone");  // lines before any Host apply to all hosts
  ASSERT_EQ(c.identity_files.size(), 2u);
  EXPECT_EQ(c.identity_files[0], "/home/ann/.ssh/org_everyone");
  EXPECT_EQ(c.identity_files[1], "/home/ann/k_10.0.0.5");
  EXPECT_TRUE(c.identities_only);

  auto quoted = parse_ssh_config(text, "build box", "/home/ann", "ann");
  EXPECT_EQ(quoted.port, 2222);
  auto none = parse_ssh_config("Host a\n  Port 1\n", "b", "/home/ann", "ann");
  EXPECT_FALSE(none.port || none.host_name || none.user);
  EXPECT_FALSE(parse_ssh_config("Host a\nPort 0\nPort 70000\n", "a", "/h", "u").port);
}

TEST(SshConfig, UrlsAreTakenApartAndRebuilt) {
  auto u = parse_ssh_url("ssh://git@host.example:2222/srv/p.git");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->user, "git");
  EXPECT_EQ(u->host, "host.example");
  EXPECT_EQ(u->port, 2222);
  EXPECT_EQ(u->path, "/srv/p.git");
  auto v6 = parse_ssh_url("git+ssh://[::1]:22/x");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  auto scp = parse_ssh_url("work:org/p.git");
  ASSERT_TRUE(scp);
  EXPECT_TRUE(scp->scp_like);
  EXPECT_EQ(scp->host, "work");
  EXPECT_EQ(scp->path, "org/p.git");
  for (const char* not_ssh : {"/srv/p.git", "../p.git", "file:///srv/p.git", "https://h/p.git", "./a:b", ":x"})
    EXPECT_FALSE(parse_ssh_url(not_ssh)) << not_ssh;

  SshHostConfig c;
  EXPECT_EQ(apply_ssh_config(*scp, c, "work:org/p.git"), "work:org/p.git");  // nothing applies
  c.host_name = "github.com";
  c.user = "git";
  EXPECT_EQ(apply_ssh_config(*scp, c, "work:org/p.git"), "git@github.com:org/p.git");
  c.port = 443;
  EXPECT_EQ(apply_ssh_config(*scp, c, "work:org/p.git"), "ssh://git@github.com:443/~/org/p.git");
  // What the URL says beats the configuration.
  EXPECT_EQ(apply_ssh_config(*u, c, "ssh://git@host.example:2222/srv/p.git"),
            "ssh://git@github.com:2222/srv/p.git");
}

#ifdef MLOPS_GSSAPI_LAZY
// The static build defines the GSSAPI calls libgit2 makes and loads
// libgssapi_krb5.so.2 on the first one (src/core/store/gssapi_lazy.cpp).
bool gssapi_mapped() {
  void* h = ::dlopen("libgssapi_krb5.so.2", RTLD_NOLOAD | RTLD_LAZY);
  if (h) ::dlclose(h);
  return h != nullptr;
}

TEST_F(GitRepoTest, GssapiIsLoadedByANegotiateChallengeNotAtStartUp) {
  // No Kerberos ticket or configuration: libgit2 must fail cleanly, offline.
  ::setenv("KRB5CCNAME", ("FILE:" + (dir_ / "no-ccache").string()).c_str(), 1);
  ::setenv("KRB5_CONFIG", (dir_ / "no-krb5.conf").c_str(), 1);
  auto repo = GitRepo::init(dir_ / "repo");
  repo.commit({{"a.txt", "1"}}, alice, "one");
  EXPECT_TRUE(repo.read("main", "a.txt"));
  EXPECT_FALSE(gssapi_mapped()) << "local work must not load libgssapi_krb5";

  ChallengeServer server("Negotiate");
  repo.add_remote("origin", server.url());
  auto err = testing::error_of([&] { repo.pull("origin"); });
  EXPECT_NE(err.find("cannot fetch from 'origin'"), std::string::npos) << err;
  EXPECT_GE(server.requests(), 1);
  EXPECT_EQ(server.requests("Authorization: Negotiate"), 0) << "no ticket, so no Negotiate token may be sent";
  EXPECT_TRUE(gssapi_mapped()) << "the Negotiate challenge should have loaded libgssapi_krb5";
}

// The stand-ins forward to the real library: mechanisms, a host-based service
// name (the OID libgit2 passes is ours and must be swapped for the library's),
// a context that fails for want of credentials, and its message.
extern "C" {
struct gss_OID_desc {
  std::uint32_t length;
  void* elements;
};
struct gss_OID_set_desc {
  std::size_t count;
  gss_OID_desc* elements;
};
struct gss_buffer_desc {
  std::size_t length;
  void* value;
};
extern gss_OID_desc* GSS_C_NT_HOSTBASED_SERVICE;
std::uint32_t gss_indicate_mechs(std::uint32_t*, gss_OID_set_desc**);
std::uint32_t gss_release_oid_set(std::uint32_t*, gss_OID_set_desc**);
std::uint32_t gss_import_name(std::uint32_t*, gss_buffer_desc*, gss_OID_desc*, void**);
std::uint32_t gss_release_name(std::uint32_t*, void**);
std::uint32_t gss_init_sec_context(std::uint32_t*, void*, void**, void*, gss_OID_desc*, std::uint32_t, std::uint32_t,
                                   void*, gss_buffer_desc*, gss_OID_desc**, gss_buffer_desc*, std::uint32_t*,
                                   std::uint32_t*);
std::uint32_t gss_delete_sec_context(std::uint32_t*, void**, gss_buffer_desc*);
std::uint32_t gss_display_status(std::uint32_t*, std::uint32_t, int, gss_OID_desc*, std::uint32_t*, gss_buffer_desc*);
std::uint32_t gss_release_buffer(std::uint32_t*, gss_buffer_desc*);
}

TEST(GssapiLazy, ForwardsToTheRealLibrary) {
  ::setenv("KRB5CCNAME", "FILE:/nonexistent/mlops-no-ccache", 1);
  ::setenv("KRB5_CONFIG", "/nonexistent/mlops-no-krb5.conf", 1);
  std::uint32_t minor = 0;
  gss_OID_set_desc* mechs = nullptr;
  ASSERT_EQ(gss_indicate_mechs(&minor, &mechs), 0u);
  EXPECT_TRUE(gssapi_mapped());
  ASSERT_NE(mechs, nullptr);
  const std::string krb5("\x2a\x86\x48\x86\xf7\x12\x01\x02\x02", 9);  // 1.2.840.113554.1.2.2
  bool has_krb5 = false;
  for (std::size_t i = 0; i < mechs->count; ++i)
    has_krb5 |= std::string(static_cast<const char*>(mechs->elements[i].elements), mechs->elements[i].length) == krb5;
  EXPECT_TRUE(has_krb5);
  EXPECT_EQ(gss_release_oid_set(&minor, &mechs), 0u);

  std::string service = "HTTP@localhost";
  gss_buffer_desc in{service.size(), service.data()};
  void* name = nullptr;
  ASSERT_EQ(gss_import_name(&minor, &in, GSS_C_NT_HOSTBASED_SERVICE, &name), 0u) << "minor " << minor;
  ASSERT_NE(name, nullptr);

  void* ctx = nullptr;
  gss_buffer_desc out{0, nullptr};
  std::uint32_t major = gss_init_sec_context(&minor, nullptr, &ctx, name, nullptr, 0, 0, nullptr, nullptr, nullptr,
                                             &out, nullptr, nullptr);
  EXPECT_NE(major, 0u) << "no credentials: the context cannot be made";
  std::uint32_t msg_ctx = 0, dminor = 0;
  gss_buffer_desc msg{0, nullptr};
  ASSERT_EQ(gss_display_status(&dminor, major, 1 /* GSS_C_GSS_CODE */, nullptr, &msg_ctx, &msg), 0u);
  EXPECT_GT(msg.length, 0u);
  EXPECT_EQ(gss_release_buffer(&dminor, &msg), 0u);
  if (ctx) gss_delete_sec_context(&dminor, &ctx, nullptr);
  EXPECT_EQ(gss_release_name(&minor, &name), 0u);
}
#endif

}  // namespace
}  // namespace mlops::store
