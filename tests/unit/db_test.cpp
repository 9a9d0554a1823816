#include <gtest/gtest.h>

#include "store/db.hpp"
#include "support.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace mlops::store {
namespace {

class DbTest : public ::testing::Test {
 protected:
  fs::path db_path() const { return dir_ / "state.db"; }
  testing::ScratchDir dir_{"db"};
};

TEST_F(DbTest, CreateRunsMigrationsInWalMode) {
  Db db(db_path(), Db::Mode::create);
  EXPECT_EQ(db.user_version(), latest_schema_version());
  EXPECT_EQ(db.journal_mode(), "wal");
  EXPECT_EQ(db.query_int("PRAGMA foreign_keys"), 1);
  EXPECT_EQ(db.integrity_check(), std::vector<std::string>{"ok"});
  for (const char* t : {"meta", "audit", "spans", "objects", "git_files"})
    EXPECT_EQ(db.query_int(std::string("SELECT count(*) FROM sqlite_master WHERE name='") + t + "'"), 1) << t;
}

TEST(Sha256Bytes, OnlyLowercaseHexOfThirtyTwoBytes) {
  std::string hex = "00ff10a0" + std::string(56, 'e');
  auto b = sha256_bytes(hex);
  ASSERT_TRUE(b);
  ASSERT_EQ(b->size(), 32U);
  EXPECT_EQ(static_cast<unsigned char>((*b)[0]), 0x00);
  EXPECT_EQ(static_cast<unsigned char>((*b)[1]), 0xff);
  EXPECT_EQ(static_cast<unsigned char>((*b)[2]), 0x10);
  EXPECT_EQ(static_cast<unsigned char>((*b)[3]), 0xa0);
  EXPECT_EQ(static_cast<unsigned char>((*b)[31]), 0xee);
  EXPECT_FALSE(sha256_bytes("00FF10A0" + std::string(56, 'e')));
  EXPECT_FALSE(sha256_bytes(hex.substr(1)));
  EXPECT_FALSE(sha256_bytes("g" + hex.substr(1)));
  EXPECT_FALSE(sha256_bytes("k"));
}

TEST_F(DbTest, UnhexFunctionMatchesSha256Bytes) {
  Db db(db_path(), Db::Mode::create);
  std::string hex = "0123456789abcdef" + std::string(48, '7');
  EXPECT_EQ(db.query_text("SELECT lower(hex(mlops_unhex('" + hex + "')))"), hex);
  EXPECT_EQ(db.query_text("SELECT typeof(mlops_unhex('" + hex + "'))"), "blob");
  EXPECT_EQ(db.query_text("SELECT mlops_unhex('not hex')"), "not hex");
  EXPECT_EQ(db.query_int("SELECT mlops_unhex(7)"), 7);
  EXPECT_EQ(db.query_int("PRAGMA wal_autocheckpoint"), k_wal_autocheckpoint_pages);
}

TEST_F(DbTest, OpenExistingRefusesMissingFile) {
  EXPECT_THROW(Db{db_path()}, RuntimeError);
}

TEST_F(DbTest, NewerSchemaIsRefusedWithAClearError) {
  {
    Db db(db_path(), Db::Mode::create);
    db.exec("PRAGMA user_version=999");
  }
  try {
    Db db(db_path());
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("newer than this mlopsctl"), std::string::npos);
  }
}

TEST_F(DbTest, WriteRollsBackOnException) {
  Db db(db_path(), Db::Mode::create);
  EXPECT_THROW(db.write([&] {
    db.prepare("INSERT INTO meta(key, value) VALUES ('a', '1')").run();
    throw UsageError("boom");
  }),
               UsageError);
  EXPECT_EQ(db.query_int("SELECT count(*) FROM meta WHERE key='a'"), 0);
  db.write([&] { db.prepare("INSERT INTO meta(key, value) VALUES (?, ?)").bind_all("a", "2").run(); });
  EXPECT_EQ(db.query_text("SELECT value FROM meta WHERE key='a'"), "2");
}

TEST_F(DbTest, NestedWritesJoinTheOuterTransaction) {
  Db db(db_path(), Db::Mode::create);
  EXPECT_THROW(db.write([&] {
    db.write([&] { db.prepare("INSERT INTO meta(key, value) VALUES ('inner', '1')").run(); });
    db.read([&] { EXPECT_EQ(db.query_int("SELECT count(*) FROM meta WHERE key='inner'"), 1); });
    throw RuntimeError("outer fails");
  }),
               RuntimeError);
  EXPECT_EQ(db.query_int("SELECT count(*) FROM meta WHERE key='inner'"), 0) << "inner write outlived the rollback";
}

TEST_F(DbTest, StatementBindsAllTypes) {
  Db db(db_path(), Db::Mode::create);
  db.exec("CREATE TABLE t(i INTEGER, d REAL, s TEXT, n TEXT)");
  std::optional<std::string> none;
  db.prepare("INSERT INTO t VALUES (?, ?, ?, ?)").bind_all(std::int64_t{42}, 2.5, std::string("héllo"), none).run();
  auto st = db.prepare("SELECT i, d, s, n FROM t");
  ASSERT_TRUE(st.step());
  EXPECT_EQ(st.get_int(0), 42);
  EXPECT_DOUBLE_EQ(st.get_double(1), 2.5);
  EXPECT_EQ(st.get_text(2), "héllo");
  EXPECT_TRUE(st.is_null(3));
  EXPECT_FALSE(st.get_optional_text(3));
  EXPECT_FALSE(st.step());
}

TEST_F(DbTest, ConcurrentWritersLoseNothing) {
  { Db db(db_path(), Db::Mode::create); }
  constexpr int k_procs = 8, k_rows = 200;
  testing::run_in_processes(k_procs, [&](int p) {
    Db db(db_path());
    for (int i = 0; i < k_rows; ++i)
      db.write([&] {
        // read-modify-write: lost updates would show as a wrong counter
        auto v = db.query_text("SELECT value FROM meta WHERE key='counter'");
        int n = v ? std::stoi(*v) : 0;
        db.prepare("INSERT OR REPLACE INTO meta(key, value) VALUES ('counter', ?)")
            .bind_all(std::to_string(n + 1))
            .run();
        db.prepare("INSERT INTO meta(key, value) VALUES (?, 'x')")
            .bind_all("p" + std::to_string(p) + "-" + std::to_string(i))
            .run();
      });
  });
  Db db(db_path());
  EXPECT_EQ(db.query_text("SELECT value FROM meta WHERE key='counter'"), std::to_string(k_procs * k_rows));
  EXPECT_EQ(db.query_int("SELECT count(*) FROM meta WHERE key LIKE 'p%'"), k_procs * k_rows);
}

}  // namespace
}  // namespace mlops::store
