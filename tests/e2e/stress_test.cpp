// Concurrency, crash and helper tests that need more than a case file.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "e2e/harness.hpp"
#include "store/db.hpp"
#include "util/fs.hpp"

namespace mlops::e2e {
namespace {

nlohmann::json json_of(const util::ProcessResult& r) {
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
  return j;
}

TEST(Concurrency, EightProcessesTwoHundredWritesEach) {
  constexpr int k_procs = 8;
  constexpr int k_writes = 200;
  TempDir dir;
  auto home = dir.path() / "home";
  ASSERT_EQ(sh(dir.path(), "mlopsctl init ws -q", home).exit_code, 0);
  auto ws = dir.path() / "ws";

  // Each worker is a shell loop of real mlopsctl processes; every `config set`
  // edits mlops.yaml and appends an audit entry and a span.
  std::string script;
  for (int p = 0; p < k_procs; ++p)
    script += "( i=0; while [ $i -lt " + std::to_string(k_writes) + " ]; do mlopsctl config set w" + std::to_string(p) +
              ".k$i v$i -q || echo FAIL-" + std::to_string(p) + "-$i >&2; i=$((i+1)); done ) & ";
  script += "wait";
  auto r = sh(ws, script, home);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.err.find("FAIL"), std::string::npos) << r.err.substr(0, 2000);
  EXPECT_EQ(r.err.find("locked"), std::string::npos) << r.err.substr(0, 2000);

  auto list = json_of(sh(ws, "mlopsctl -o json config list", home));
  std::set<std::string> keys;
  for (const auto& v : list)
    if (v["source"] == "workspace") keys.insert(v["key"].get<std::string>() + "=" + v["value"].get<std::string>());
  for (int p = 0; p < k_procs; ++p)
    for (int i = 0; i < k_writes; ++i)
      EXPECT_TRUE(keys.count("w" + std::to_string(p) + ".k" + std::to_string(i) + "=v" + std::to_string(i)))
          << "lost write w" << p << ".k" << i;

  auto audit = json_of(sh(ws, "mlopsctl -o json audit log --action config.set", home));
  EXPECT_EQ(audit.size(), static_cast<std::size_t>(k_procs * k_writes));
  auto status = json_of(sh(ws, "mlopsctl -o json status", home));
  EXPECT_GE(status["counts"]["spans"].get<int>(), k_procs * k_writes);

  auto verify = sh(ws, "mlopsctl audit verify", home);
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  auto doctor = sh(ws, "mlopsctl doctor", home);
  EXPECT_EQ(doctor.exit_code, 0) << doctor.out;

  // One hand-edited row must break verification.
  {
    store::Db db(ws / ".mlops" / "state.db");
    db.exec("DROP TRIGGER audit_no_update");
    db.exec("UPDATE audit SET details = '{\"value\":\"forged\"}' WHERE seq = 777");
  }
  auto broken = sh(ws, "mlopsctl -o json audit verify", home);
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_EQ(json_of(broken)["first_bad_seq"], 777);
}

TEST(Concurrency, ProcessesCommittingOnePromptGetConsecutiveVersions) {
  constexpr int k_procs = 4;
  constexpr int k_commits = 10;
  TempDir dir;
  auto home = dir.path() / "home";
  ASSERT_EQ(sh(dir.path(), "mlopsctl init ws -q", home).exit_code, 0);
  auto ws = dir.path() / "ws";
  std::string script;
  for (int p = 0; p < k_procs; ++p)
    script += "( i=0; while [ $i -lt " + std::to_string(k_commits) + " ]; do echo \"p" + std::to_string(p) +
              " $i\" | mlopsctl prompt commit shared -f - -q || echo FAIL >&2; i=$((i+1)); done ) & ";
  script += "wait";
  auto r = sh(ws, script, home);
  EXPECT_EQ(r.err.find("FAIL"), std::string::npos) << r.err.substr(0, 2000);
  auto log = json_of(sh(ws, "mlopsctl -o json prompt log shared", home));
  ASSERT_EQ(log.size(), static_cast<std::size_t>(k_procs * k_commits));
  std::set<std::string> contents;
  for (std::size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i]["version"], static_cast<int>(log.size() - i)) << "versions must be consecutive";
    contents.insert(log[i]["sha256"].get<std::string>());
  }
  EXPECT_EQ(contents.size(), log.size()) << "a version was lost or duplicated";
  auto git = sh(ws,
                "git -C .mlops/repo log --format=%s -- prompts/$(printf shared | sha256sum | cut -c1-2)/shared.txt | wc -l",
                home);
  EXPECT_EQ(std::stoi(git.out), k_procs * k_commits);
  EXPECT_EQ(sh(ws, "mlopsctl doctor", home).exit_code, 0);
}

// Starts mlopsctl directly (no shell) so the kill hits it mid-write.
pid_t spawn(const fs::path& cwd, const std::vector<std::string>& args, const fs::path& home) {
  pid_t pid = fork();
  if (pid == 0) {
    if (chdir(cwd.c_str()) != 0) _exit(127);
    setenv("HOME", home.c_str(), 1);
    setenv("MLOPS_USER", "tester", 1);
    int null = open("/dev/null", O_WRONLY);
    dup2(null, 1);
    dup2(null, 2);
    std::vector<char*> argv;
    std::string bin = mlopsctl().string();
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

TEST(Crash, KillNineDuringWritesLeavesARepairableWorkspace) {
  TempDir dir;
  auto home = dir.path() / "home";
  ASSERT_EQ(sh(dir.path(), "mlopsctl init ws -q", home).exit_code, 0);
  auto ws = dir.path() / "ws";
  std::mt19937 rng(42);
  int killed = 0;
  for (int round = 0; round < 60; ++round) {
    std::vector<pid_t> pids;
    for (int k = 0; k < 3; ++k)
      pids.push_back(
          spawn(ws, {"config", "set", "crash.r" + std::to_string(round) + "k" + std::to_string(k), "x"}, home));
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 8000));
    for (pid_t p : pids) {
      if (kill(p, SIGKILL) == 0) ++killed;
      waitpid(p, nullptr, 0);
    }
  }
  EXPECT_GT(killed, 0);

  auto doctor = sh(ws, "mlopsctl doctor || mlopsctl doctor --fix", home);
  EXPECT_EQ(doctor.exit_code, 0) << doctor.out << doctor.err;
  EXPECT_EQ(sh(ws, "mlopsctl doctor", home).exit_code, 0);
  auto verify = sh(ws, "mlopsctl audit verify", home);
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  // mlops.yaml is always whole: either the old or the new version.
  EXPECT_EQ(sh(ws, "mlopsctl config list", home).exit_code, 0);
  EXPECT_EQ(sh(ws, "mlopsctl config set after.crash ok -q && mlopsctl config get after.crash", home).out, "ok\n");
}

TEST(Crash, KillNineDuringPackingLosesNoVersion) {
  TempDir dir;
  auto home = dir.path() / "home";
  ASSERT_EQ(sh(dir.path(), "mlopsctl init ws -q && mlopsctl -C ws config set git.auto_pack 8 -q", home).exit_code, 0);
  auto ws = dir.path() / "ws";
  // Versions that landed before the kills; packing must never lose one of them.
  ASSERT_EQ(sh(ws, "for i in $(seq 1 12); do echo \"kept $i\" | mlopsctl prompt commit kept -f - -q || exit 1; done", home)
                .exit_code,
            0);
  auto kept = json_of(sh(ws, "mlopsctl -o json prompt log kept", home));
  ASSERT_EQ(kept.size(), 12u);

  // With git.auto_pack 8 nearly every commit packs (and folds packs), so the
  // kills land in pack writes, loose-object removal and pack removal alike.
  std::mt19937 rng(7);
  int killed = 0;
  for (int round = 0; round < 40; ++round) {
    std::string file = "q" + std::to_string(round) + ".txt";
    util::atomic_write(ws / file, "crash round " + std::to_string(round) + "\n");
    pid_t pid = spawn(ws, {"prompt", "commit", "q" + std::to_string(round % 3), "-f", file, "-q"}, home);
    std::this_thread::sleep_for(std::chrono::microseconds(2000 + rng() % 25000));
    if (kill(pid, SIGKILL) == 0) ++killed;
    waitpid(pid, nullptr, 0);
  }
  EXPECT_GT(killed, 0);

  auto doctor = sh(ws, "mlopsctl doctor || mlopsctl doctor --fix", home);
  EXPECT_EQ(doctor.exit_code, 0) << doctor.out << doctor.err;
  EXPECT_EQ(sh(ws, "mlopsctl doctor", home).exit_code, 0);
  auto fsck = sh(ws, "git -C .mlops/repo fsck --full --strict", home);
  EXPECT_EQ(fsck.exit_code, 0) << fsck.out << fsck.err;
  for (const auto& v : kept) {
    std::string spec = v["commit"].get<std::string>() + ":" + v["path"].get<std::string>();
    auto r = sh(ws, "git -C .mlops/repo show " + spec, home);
    EXPECT_EQ(r.out, "kept " + std::to_string(v["version"].get<int>()) + "\n") << spec << r.err;
  }
  // And every version the index knows reads back from git, not just the cache.
  auto check = sh(ws,
                  "rm -rf .mlops/objects/[0-9a-f][0-9a-f] && for p in kept q0 q1 q2; do "
                  "mlopsctl prompt log $p -o json >/dev/null 2>&1 || continue; n=$(mlopsctl -o json prompt log $p | "
                  "grep -c '\"version\"'); i=1; while [ $i -le $n ]; do mlopsctl prompt show $p@$i --raw >/dev/null "
                  "|| echo LOST $p@$i; i=$((i+1)); done; done",
                  home);
  EXPECT_EQ(check.out.find("LOST"), std::string::npos) << check.out << check.err;
  EXPECT_EQ(sh(ws, "echo after | mlopsctl prompt commit kept -f - -q && mlopsctl prompt show kept --raw", home).out,
            "after\n");
}

TEST(Torch, InfoRunsThroughTheHelper) {
#ifndef MLOPS_HAVE_TORCH
  GTEST_SKIP() << "built without MLOPS_WITH_TORCH";
#else
  TempDir dir;
  auto r = sh(dir.path(), "mlopsctl -o json torch info", dir.path() / "home");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto j = json_of(r);
  EXPECT_EQ(j["torch_version"].get<std::string>().rfind("1.", 0), 0u);
  EXPECT_EQ(j["tensor_check"], 4.0);
  EXPECT_EQ(j["protocol"], 1);
  EXPECT_GE(j["threads"].get<int>(), 1);
#endif
}

}  // namespace
}  // namespace mlops::e2e
