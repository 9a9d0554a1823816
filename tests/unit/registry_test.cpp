#include <gtest/gtest.h>

#include <fstream>

#include "audit/audit.hpp"
#include "registry/registry.hpp"
#include "support.hpp"
#include "util/error.hpp"

namespace mlops::registry {
namespace {

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = std::make_unique<store::Db>(dir_ / "state.db", store::Db::Mode::create);
    objects_ = std::make_unique<store::ObjectStore>(dir_ / "objects", *db_);
  }
  Registry reg() { return Registry(*db_, *objects_); }
  // A finished run with a model artifact and an accuracy.
  std::string run_with(double accuracy) {
    runs::Runs r(*db_, objects_.get());
    runs::StartOptions o;
    o.experiment = "exp";
    o.data_sha256 = std::string(64, 'd');
    auto info = r.start(o);
    r.log_metric(info.id, {"accuracy", accuracy, 0, 0});
    r.add_artifact_content(info.id, "model.pt", "weights " + std::to_string(accuracy));
    r.end(info.id);
    return info.id;
  }
  ModelVersion register_run(const std::string& run) {
    RegisterRequest req;
    req.name = "churn";
    req.run = run;
    req.actor = "alice";
    return reg().register_version(req);
  }
  testing::ScratchDir dir_{"registry"};
  std::unique_ptr<store::Db> db_;
  std::unique_ptr<store::ObjectStore> objects_;
};

TEST_F(RegistryTest, VersionsCountUpFromOneAndTakeTheRunsModel) {
  auto v1 = register_run(run_with(0.8));
  auto v2 = register_run(run_with(0.9));
  EXPECT_EQ(v1.version, 1);
  EXPECT_EQ(v2.version, 2);
  EXPECT_EQ(v1.kind, "torch");
  EXPECT_EQ(v1.artifact_name, "model.pt");
  ASSERT_TRUE(v1.artifact_sha256);
  EXPECT_TRUE(objects_->contains(*v1.artifact_sha256));
  auto l = reg().lineage(v2);
  ASSERT_TRUE(l.run);
  EXPECT_EQ(l.run->data_sha256, std::string(64, 'd'));
  EXPECT_DOUBLE_EQ(l.metrics.at("accuracy"), 0.9);
  auto list = reg().list();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].latest_version, 2);
}

TEST_F(RegistryTest, NamesAndAliasesAreValidated) {
  for (const char* bad : {"../x", "a/b", "", ".hidden", "a b", "x@y"}) EXPECT_THROW(check_model_name(bad), UsageError) << bad;
  for (const char* bad : {"latest", "v3", "pro duction", "", "1st"}) EXPECT_THROW(check_alias(bad), UsageError) << bad;
  EXPECT_NO_THROW(check_alias("production"));
  EXPECT_NO_THROW(check_model_name("churn-v2.1_x"));
}

TEST_F(RegistryTest, FilesMustBeTorchScriptArchives) {
  std::ofstream(dir_ / "bad.pt") << "not a zip";
  std::ofstream(dir_ / "good.pt", std::ios::binary) << std::string("PK\x03\x04rest", 8);
  RegisterRequest req;
  req.name = "ts";
  req.actor = "a";
  req.file = (dir_ / "bad.pt").string();
  EXPECT_THROW(reg().register_version(req), UsageError);
  req.file = (dir_ / "good.pt").string();
  auto v = reg().register_version(req);
  EXPECT_EQ(v.kind, "torchscript");
  EXPECT_EQ(v.version, 1);
}

TEST_F(RegistryTest, ResolveTakesAliasesVersionsAndLatest) {
  register_run(run_with(0.8));
  register_run(run_with(0.95));
  auto r = reg();
  r.promote("churn", 1, "staging", {}, "alice");
  EXPECT_EQ(r.resolve("churn@staging").version, 1);
  EXPECT_EQ(r.resolve("churn/2").version, 2);
  EXPECT_EQ(r.resolve("churn@v1").version, 1);
  EXPECT_EQ(r.resolve("churn").version, 2);
  EXPECT_EQ(r.resolve("churn@latest").version, 2);
  EXPECT_EQ(r.resolve("models:/churn@staging").version, 1);
  EXPECT_THROW(r.resolve("churn@production"), NotFoundError);
  EXPECT_THROW(r.resolve("churn/9"), NotFoundError);
  EXPECT_THROW(r.resolve("nope"), NotFoundError);
  EXPECT_THROW(r.resolve("churn/x"), UsageError);
}

TEST_F(RegistryTest, GatesRefuseAModelUnderTheThreshold) {
  register_run(run_with(0.85));
  auto r = reg();
  std::vector<std::string> gates = {"accuracy >= 0.9"};
  try {
    r.promote("churn", 1, "production", gates, "alice");
    FAIL() << "promotion passed a failing gate";
  } catch (const CheckFailed& e) {
    EXPECT_NE(std::string(e.what()).find("accuracy >= 0.9 (accuracy = 0.85)"), std::string::npos) << e.what();
  }
  EXPECT_THROW(r.resolve("churn@production"), NotFoundError);
  EXPECT_TRUE(r.history("churn").empty());
}

TEST_F(RegistryTest, ApprovalGatesNeedAnApprovalForThatAlias) {
  register_run(run_with(0.95));
  auto r = reg();
  std::vector<std::string> gates = {"accuracy >= 0.9", "approval"};
  EXPECT_THROW(r.promote("churn", 1, "production", gates, "alice"), CheckFailed);
  r.approve("churn", 1, "staging", "bob");
  EXPECT_THROW(r.promote("churn", 1, "production", gates, "alice"), CheckFailed);
  r.approve("churn", 1, "production", "bob", "looks good");
  auto res = r.promote("churn", 1, "production", gates, "alice");
  ASSERT_EQ(res.gates.size(), 2u);
  EXPECT_TRUE(res.gates[1].passed);
  EXPECT_NE(res.gates[1].detail.find("bob"), std::string::npos);
  EXPECT_THROW(r.promote("churn", 1, "production", {"approvals >= 2"}, "alice"), CheckFailed);
}

TEST_F(RegistryTest, GateConditionsAreParsedStrictly) {
  EXPECT_NO_THROW(check_gate("accuracy >= 0.9", "x"));
  EXPECT_NO_THROW(check_gate("val/loss < 0.2", "x"));
  EXPECT_NO_THROW(check_gate("approvals >= 2", "x"));
  EXPECT_THROW(check_gate("accuracy is high", "x"), ConfigError);
  EXPECT_THROW(check_gate(">= 0.9", "x"), ConfigError);
  EXPECT_THROW(check_gate("accuracy >= high", "x"), ConfigError);
}

TEST_F(RegistryTest, AVersionMayHoldSeveralAliasesAndEveryMoveIsAudited) {
  register_run(run_with(0.9));
  register_run(run_with(0.92));
  auto r = reg();
  r.promote("churn", 1, "staging", {}, "alice");
  r.promote("churn", 1, "production", {}, "alice");
  EXPECT_EQ(r.get("churn", 1).aliases, (std::vector<std::string>{"production", "staging"}));
  r.promote("churn", 2, "production", {}, "bob", "better recall");
  auto h = r.history("churn");
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[2].from_version, 1);
  EXPECT_EQ(h[2].to_version, 2);
  EXPECT_EQ(h[2].reason, "better recall");
  audit::Filter f;
  f.action_prefix = "model";
  auto entries = audit::AuditLog(*db_).list(f);
  std::size_t promotes = 0;
  for (const auto& e : entries) promotes += e.action == "model.promote";
  EXPECT_EQ(promotes, 3u);
  EXPECT_TRUE(audit::AuditLog(*db_).verify().ok());
}

TEST_F(RegistryTest, RollbackWalksBackThroughPreviousHolders) {
  for (double acc : {0.9, 0.91, 0.92}) register_run(run_with(acc));
  auto r = reg();
  r.promote("churn", 1, "production", {}, "a");
  r.promote("churn", 2, "production", {}, "a");
  r.promote("churn", 3, "production", {}, "a");
  EXPECT_EQ(r.rollback("churn", "production", "a").version.version, 2);
  EXPECT_EQ(r.rollback("churn", "production", "a").version.version, 1);
  EXPECT_THROW(r.rollback("churn", "production", "a"), UsageError);
  EXPECT_EQ(r.resolve("churn@production").version, 1);
}

TEST_F(RegistryTest, ArchivingDropsAliasesAndRollbackSkipsArchived) {
  for (double acc : {0.9, 0.91, 0.92}) register_run(run_with(acc));
  auto r = reg();
  r.promote("churn", 1, "production", {}, "a");
  r.promote("churn", 2, "production", {}, "a");
  r.promote("churn", 3, "production", {}, "a");
  r.archive("churn", 2, "a");
  EXPECT_EQ(r.rollback("churn", "production", "a").version.version, 1);
  r.archive("churn", 1, "a");
  EXPECT_THROW(r.resolve("churn@production"), NotFoundError);
  EXPECT_THROW(r.promote("churn", 1, "staging", {}, "a"), UsageError);
  EXPECT_EQ(r.resolve("churn").version, 3);
  auto h = r.history("churn", "production");
  EXPECT_EQ(h.back().kind, "archive");
  EXPECT_FALSE(h.back().to_version);
}

TEST_F(RegistryTest, GatesComeFromConfig) {
  std::ofstream(dir_ / "mlops.yaml") << "models:\n  gates:\n    production: [\"accuracy >= 0.9\", approval]\n"
                                        "    staging: \"f1 > 0.5\"\n    broken: [\"accuracy is good\"]\n";
  config::Config cfg(dir_ / "mlops.yaml", std::nullopt, [](const std::string&) { return std::nullopt; });
  EXPECT_EQ(gates_for(cfg, "production"), (std::vector<std::string>{"accuracy >= 0.9", "approval"}));
  EXPECT_EQ(gates_for(cfg, "staging"), (std::vector<std::string>{"f1 > 0.5"}));
  EXPECT_TRUE(gates_for(cfg, "canary").empty());
  EXPECT_THROW(gates_for(cfg, "broken"), ConfigError);
  EXPECT_TRUE(config::is_known_key("models.gates.production"));
}

}  // namespace
}  // namespace mlops::registry
