#include <gtest/gtest.h>

#include "audit/audit.hpp"
#include "support.hpp"
#include "util/fs.hpp"

namespace mlops::audit {
namespace {

class AuditTest : public ::testing::Test {
 protected:
  void SetUp() override { db_ = std::make_unique<store::Db>(dir_ / "state.db", store::Db::Mode::create); }
  void TearDown() override { db_.reset(); }
  testing::ScratchDir dir_{"audit"};
  std::unique_ptr<store::Db> db_;
};

TEST_F(AuditTest, EntriesChainByHash) {
  AuditLog log(*db_);
  auto a = log.append("alice", "config.set", "output", {{"value", "json"}});
  auto b = log.append("bob", "prompt.deploy", "greeting", {{"to", 3}}, std::string("abc"));
  EXPECT_EQ(a.seq, 1);
  EXPECT_EQ(a.prev_hash, k_genesis_hash);
  EXPECT_EQ(b.prev_hash, a.hash);
  EXPECT_EQ(b.hash, entry_hash(b));
  auto v = log.verify();
  EXPECT_TRUE(v.ok());
  EXPECT_EQ(v.entries, 2);
  auto listed = log.list();
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[1].details["to"], 3);
  EXPECT_EQ(listed[1].trace_id, "abc");
  Filter f;
  f.action_prefix = "config";
  EXPECT_EQ(log.list(f).size(), 1u);
  f.action_prefix = "conf";  // a family is matched by whole dotted words only
  EXPECT_EQ(log.list(f).size(), 0u);
}

TEST_F(AuditTest, TheLogIsAppendOnly) {
  AuditLog log(*db_);
  log.append("a", "x", "t", {});
  EXPECT_ANY_THROW(db_->exec("UPDATE audit SET actor='mallory'"));
  EXPECT_ANY_THROW(db_->exec("DELETE FROM audit"));
}

TEST_F(AuditTest, VerifyDetectsEditsDeletionsAndTruncation) {
  AuditLog log(*db_);
  for (int i = 0; i < 5; ++i) log.append("a", "x", "t" + std::to_string(i), {{"i", i}});
  db_->exec("DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete");

  db_->exec("UPDATE audit SET details='{\"i\":99}' WHERE seq=3");
  auto edited = log.verify();
  EXPECT_FALSE(edited.ok());
  EXPECT_EQ(edited.first_bad_seq, 3);
  db_->exec("UPDATE audit SET details='{\"i\":2}' WHERE seq=3");
  EXPECT_TRUE(log.verify().ok());

  db_->exec("DELETE FROM audit WHERE seq=5");
  auto truncated = log.verify();
  EXPECT_FALSE(truncated.ok());
  EXPECT_NE(truncated.problems[0].find("recorded head"), std::string::npos);

  db_->exec("DELETE FROM audit WHERE seq=2");
  auto holed = log.verify();
  EXPECT_FALSE(holed.ok());
  EXPECT_EQ(holed.first_bad_seq, 2);
}

TEST_F(AuditTest, ConcurrentAppendsKeepOneChain) {
  constexpr int k_procs = 8, k_entries = 200;
  testing::run_in_processes(k_procs, [&](int p) {
    store::Db db(dir_ / "state.db");
    AuditLog log(db);
    for (int i = 0; i < k_entries; ++i) log.append("p" + std::to_string(p), "test.write", std::to_string(i), {});
  });
  AuditLog log(*db_);
  EXPECT_EQ(log.count(), k_procs * k_entries);
  auto v = log.verify();
  EXPECT_TRUE(v.ok()) << (v.problems.empty() ? "" : v.problems[0]);
}

}  // namespace
}  // namespace mlops::audit
