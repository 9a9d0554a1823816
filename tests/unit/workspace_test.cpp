#include <gtest/gtest.h>

#include "audit/audit.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"
#include "workspace/health.hpp"
#include "workspace/workspace.hpp"

namespace mlops::workspace {
namespace {

config::EnvLookup env_for(const fs::path& home) {
  return [home](const std::string& k) -> std::optional<std::string> {
    if (k == "HOME") return home.string();
    if (k == "MLOPS_USER") return std::string("tester");
    return std::nullopt;
  };
}

class WorkspaceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mlops-ws-" + util::random_hex(4));
    fs::create_directories(dir_ / "home");
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(WorkspaceTest, InitDiscoverStatusDoctor) {
  auto env = env_for(dir_ / "home");
  auto r = init(dir_ / "ws", {}, env);
  EXPECT_EQ(r.template_name, "default");
  EXPECT_TRUE(r.commit);
  EXPECT_TRUE(is_workspace(dir_ / "ws"));
  fs::create_directories(dir_ / "ws" / "a" / "b");
  EXPECT_EQ(discover(dir_ / "ws" / "a" / "b"), dir_ / "ws");
  EXPECT_FALSE(discover(dir_));
  EXPECT_THROW(locate(dir_, env), NotFoundError);
  EXPECT_THROW(init(dir_ / "ws", {}, env), UsageError);

  Workspace ws(dir_ / "ws", env);
  EXPECT_EQ(ws.author().name, "tester");
  audit::AuditLog(ws.db()).append("tester", "test.event", "x", {});
  ws.objects().put("artifact");
  auto s = status(ws);
  EXPECT_EQ(s.name, "ws");
  EXPECT_EQ(s.audit_entries, 1);
  EXPECT_EQ(s.objects, 1);
  EXPECT_EQ(s.tracked_files, 1);
  EXPECT_GT(s.db_bytes, 0u);
  EXPECT_EQ(s.last_activity, "test.event");

  auto report = doctor(dir_ / "ws", false, env);
  EXPECT_TRUE(report.healthy());
  for (const auto& c : report.checks) EXPECT_EQ(c.state, CheckState::ok) << c.name;
}

TEST_F(WorkspaceTest, UnknownTemplateListsTheChoices) {
  try {
    init(dir_ / "ws", {"nope", "", {}}, env_for(dir_ / "home"));
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(e.hint().find("default"), std::string::npos);
    EXPECT_NE(e.hint().find("minimal"), std::string::npos);
  }
  EXPECT_FALSE(fs::exists(dir_ / "ws" / ".mlops"));
}

TEST_F(WorkspaceTest, MlopsDirOverridesDiscovery) {
  auto env = env_for(dir_ / "home");
  init(dir_ / "ws", {}, env);
  auto with_dir = [&](const std::string& k) -> std::optional<std::string> {
    if (k == "MLOPS_DIR") return (dir_ / "ws").string();
    return env(k);
  };
  EXPECT_EQ(locate(dir_, with_dir), dir_ / "ws");
}

}  // namespace
}  // namespace mlops::workspace
