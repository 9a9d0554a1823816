#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"
#include "util/lock.hpp"
#include "util/process.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

namespace mlops::util {
namespace {

TEST(Hash, KnownVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 h;
  h.update("a");
  h.update("bc");
  EXPECT_EQ(h.hex(), sha256_hex("abc"));
  EXPECT_TRUE(is_sha256_hex(sha256_hex("x")));
  EXPECT_FALSE(is_sha256_hex("ABC"));
}

TEST(Text, NearestSuggestsTypos) {
  std::vector<std::string> cmds = {"init", "status", "doctor", "config", "audit"};
  EXPECT_EQ(nearest("stauts", cmds), "status");
  EXPECT_EQ(nearest("confg", cmds), "config");
  EXPECT_EQ(nearest("doc", cmds), "doctor");
  EXPECT_EQ(nearest("zzzzzzzz", cmds), "");
  EXPECT_EQ(levenshtein("kitten", "sitting"), 3u);
}

TEST(Text, Utf8Validation) {
  EXPECT_TRUE(is_valid_utf8("plain ascii"));
  EXPECT_TRUE(is_valid_utf8("한국어 ünïcödé 😀"));
  EXPECT_FALSE(is_valid_utf8("\xff\xfe"));
  EXPECT_FALSE(is_valid_utf8("\xc0\xaf"));      // overlong '/'
  EXPECT_FALSE(is_valid_utf8("\xed\xa0\x80"));  // surrogate
  EXPECT_FALSE(is_valid_utf8("\xe2\x82"));      // truncated
}

TEST(Time, DurationsAndFormatting) {
  EXPECT_EQ(parse_duration_ns("45s"), 45'000'000'000LL);
  EXPECT_EQ(parse_duration_ns("30d"), 30LL * 86400 * 1'000'000'000LL);
  EXPECT_THROW(parse_duration_ns("30"), UsageError);
  EXPECT_THROW(parse_duration_ns("d"), UsageError);
  EXPECT_THROW(parse_duration_ns("5y"), UsageError);
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(1'700'000'000'123'000'000LL), "2023-11-14T22:13:20.123Z");
}

TEST(Fs, AtomicWriteReplacesWholeFile) {
  auto dir = fs::temp_directory_path() / ("mlops-fs-" + random_hex(4));
  fs::create_directories(dir);
  atomic_write(dir / "f.txt", "one");
  atomic_write(dir / "f.txt", "two");
  EXPECT_EQ(read_file(dir / "f.txt"), "two");
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir)) ++entries;
  EXPECT_EQ(entries, 1u) << "temp file left behind";
  EXPECT_THROW(read_file(dir / "missing"), NotFoundError);
  EXPECT_FALSE(read_file_if_exists(dir / "missing"));
  fs::remove_all(dir);
}

TEST(Lock, SerialisesProcesses) {
  auto dir = fs::temp_directory_path() / ("mlops-lock-" + random_hex(4));
  fs::create_directories(dir);
  auto counter = dir / "counter";
  atomic_write(counter, "0");
  std::vector<pid_t> kids;
  for (int k = 0; k < 4; ++k) {
    pid_t pid = fork();
    if (pid == 0) {
      for (int i = 0; i < 50; ++i) {
        FileLock lock(dir / "lock");
        int v = std::stoi(read_file(counter));
        atomic_write(counter, std::to_string(v + 1));
      }
      _exit(0);
    }
    kids.push_back(pid);
  }
  for (pid_t p : kids) {
    int st = 0;
    waitpid(p, &st, 0);
    EXPECT_EQ(WEXITSTATUS(st), 0);
  }
  EXPECT_EQ(read_file(counter), "200");
  fs::remove_all(dir);
}

TEST(Process, CapturesOutputAndExitCode) {
  auto r = run_process({"/bin/sh", "-c", "cat; echo err >&2; exit 3"}, "hello");
  EXPECT_EQ(r.out, "hello");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THROW(run_process({"/nonexistent/binary"}), RuntimeError);
  auto slow = run_process({"/bin/sleep", "5"}, "", std::chrono::milliseconds(100));
  EXPECT_TRUE(slow.timed_out);
}

}  // namespace
}  // namespace mlops::util
