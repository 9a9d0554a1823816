#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "store/objects.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "util/hash.hpp"

namespace mlops::store {
namespace {

class ObjectsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mlops-obj-" + util::random_hex(4));
    fs::create_directories(dir_ / "objects");
    db_ = std::make_unique<Db>(dir_ / "state.db", Db::Mode::create);
    store_ = std::make_unique<ObjectStore>(dir_ / "objects", *db_);
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
    fs::remove_all(dir_);
  }
  fs::path dir_;
  std::unique_ptr<Db> db_;
  std::unique_ptr<ObjectStore> store_;
};

TEST_F(ObjectsTest, PutIsContentAddressedAndDeduplicated) {
  auto a = store_->put("hello");
  EXPECT_EQ(a.sha256, util::sha256_hex("hello"));
  EXPECT_EQ(a.size, 5u);
  auto b = store_->put("hello");
  EXPECT_EQ(a.sha256, b.sha256);
  EXPECT_EQ(store_->count(), 1u);
  EXPECT_EQ(store_->get(a.sha256), "hello");
  EXPECT_TRUE(fs::exists(dir_ / "objects" / a.sha256.substr(0, 2) / a.sha256.substr(2)));
  EXPECT_TRUE(store_->verify().empty());
}

TEST_F(ObjectsTest, PutFileStreamsLargeFiles) {
  std::string big(5 << 20, 'x');
  for (std::size_t i = 0; i < big.size(); i += 4099) big[i] = static_cast<char>('a' + i % 26);
  util::atomic_write(dir_ / "big.bin", big);
  auto info = store_->put_file(dir_ / "big.bin");
  EXPECT_EQ(info.sha256, util::sha256_hex(big));
  EXPECT_EQ(info.size, big.size());
  EXPECT_EQ(store_->get(info.sha256), big);
  EXPECT_THROW(store_->put_file(dir_ / "missing.bin"), NotFoundError);
}

TEST_F(ObjectsTest, RejectsIdsThatAreNotHashes) {
  EXPECT_THROW(store_->get("../../etc/passwd"), UsageError);
  EXPECT_THROW(store_->get(std::string(64, 'z')), UsageError);
  EXPECT_THROW(store_->get(util::sha256_hex("absent")), NotFoundError);
}

TEST_F(ObjectsTest, VerifyFindsEveryKindOfProblemAndRepairFixesTheSafeOnes) {
  auto good = store_->put("good");
  auto bad = store_->put("will be corrupted");
  auto gone = store_->put("will vanish");
  fs::path bad_path = store_->path_of(bad.sha256);
  fs::permissions(bad_path, fs::perms::owner_write, fs::perm_options::add);
  util::atomic_write(bad_path, "tampered");
  fs::remove(store_->path_of(gone.sha256));
  util::atomic_write(dir_ / "objects" / "tmp" / "partial", "half");
  // An object on disk that the index does not know (crash between rename and insert).
  std::string orphan = "orphan";
  auto orphan_sha = util::sha256_hex(orphan);
  fs::create_directories(store_->path_of(orphan_sha).parent_path());
  util::atomic_write(store_->path_of(orphan_sha), orphan);

  auto problems = store_->verify();
  std::map<ObjectProblem::Kind, int> kinds;
  for (const auto& p : problems) ++kinds[p.kind];
  EXPECT_EQ(kinds[ObjectProblem::Kind::corrupt], 1);
  EXPECT_EQ(kinds[ObjectProblem::Kind::missing_file], 1);
  EXPECT_EQ(kinds[ObjectProblem::Kind::stray_temp], 1);
  EXPECT_EQ(kinds[ObjectProblem::Kind::unindexed], 1);

  auto fixed = store_->repair();
  EXPECT_EQ(fixed.size(), 3u);
  auto left = store_->verify();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].kind, ObjectProblem::Kind::missing_file);
  EXPECT_TRUE(fs::exists(dir_ / "objects" / "quarantine" / bad.sha256));
  EXPECT_EQ(store_->get(good.sha256), "good");
  EXPECT_EQ(store_->get(orphan_sha), "orphan");
}

TEST_F(ObjectsTest, KillNineMidWriteLeavesOnlyRepairableDebris) {
  std::string payload(2 << 20, 'p');
  for (int round = 0; round < 10; ++round) {
    pid_t pid = fork();
    if (pid == 0) {
      Db db(dir_ / "state.db");
      ObjectStore s(dir_ / "objects", db);
      for (int i = 0;; ++i) s.put(payload + std::to_string(round) + "-" + std::to_string(i));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5 + round * 3));
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  store_->repair();
  EXPECT_TRUE(store_->verify().empty());
  for (const auto& p : store_->verify()) ADD_FAILURE() << p.path << " " << p.detail;
}

}  // namespace
}  // namespace mlops::store
