#include <gtest/gtest.h>

#include "config/config.hpp"
#include "support.hpp"
#include "util/error.hpp"
#include "util/fs.hpp"

namespace mlops::config {
namespace {

EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars](const std::string& k) -> std::optional<std::string> {
    auto it = vars.find(k);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(YamlEdit, ReplacesAValueAndKeepsCommentsAndLayout) {
  std::string in = "# header\nname: ws   # inline\n\ntrace:\n  # about enabled\n  enabled: true\n  retention: 30d\n";
  std::string out = yaml_set(in, "trace.enabled", "false");
  EXPECT_EQ(out, "# header\nname: ws   # inline\n\ntrace:\n  # about enabled\n  enabled: false\n  retention: 30d\n");
  EXPECT_EQ(yaml_set(in, "name", "other"),
            "# header\nname: other  # inline\n\ntrace:\n  # about enabled\n  enabled: true\n  retention: 30d\n");
}

TEST(YamlEdit, InsertsNewKeysUnderTheRightSection) {
  std::string in = "trace:\n    enabled: true\n\nother: 1\n";
  EXPECT_EQ(yaml_set(in, "trace.retention", "7d"), "trace:\n    enabled: true\n    retention: 7d\n\nother: 1\n");
  EXPECT_EQ(yaml_set(in, "a.b.c", "x"), "trace:\n    enabled: true\n\nother: 1\na:\n  b:\n    c: x\n");
  EXPECT_EQ(yaml_set("", "k", "v"), "k: v\n");
}

TEST(YamlEdit, QuotesValuesThatNeedIt) {
  auto out = yaml_set("", "k", "a: b # not a comment");
  EXPECT_EQ(out, "k: \"a: b # not a comment\"\n");
  auto empty = yaml_set("", "k", "");
  EXPECT_EQ(empty, "k: \"\"\n");
}

TEST(YamlEdit, ReplacesASectionWithAScalarAndFallsBackForFlowStyle) {
  EXPECT_EQ(yaml_set("a:\n  b: 1\n  c: 2\nz: 0\n", "a", "flat"), "a: flat\nz: 0\n");
  auto flow = yaml_set("trace: {enabled: true}\n", "trace.retention", "7d");
  EXPECT_NE(flow.find("retention: 7d"), std::string::npos);
  EXPECT_NE(flow.find("enabled: true"), std::string::npos);
  EXPECT_THROW(yaml_set("a: scalar\n", "a.b", "x"), ConfigError);
}

TEST(YamlEdit, UnsetRemovesKeyAndEmptiedSections) {
  std::string in = "keep: 1\ndeep:\n  nested:\n    key: v\nlast: 2\n";
  EXPECT_EQ(yaml_unset(in, "deep.nested.key"), "keep: 1\nlast: 2\n");
  EXPECT_FALSE(yaml_unset(in, "nope"));
  EXPECT_EQ(yaml_unset("a:\n  b: 1\n  c: 2\n", "a.b"), "a:\n  c: 2\n");
}

TEST(Keys, ValidationEnvNamesAndSecrets) {
  EXPECT_NO_THROW(check_key("trace.enabled"));
  EXPECT_NO_THROW(check_key("providers.openai-compat.base_url"));
  for (const char* bad : {"", "A.b", "a..b", ".a", "a.", "a b", "../x"})
    EXPECT_THROW(check_key(bad), UsageError) << bad;
  EXPECT_EQ(env_name("trace.otlp_endpoint"), "MLOPS_TRACE_OTLP_ENDPOINT");
  EXPECT_EQ(env_name("a.b-c"), "MLOPS_A_B_C");
  EXPECT_TRUE(is_secret_key("providers.openai.api_key"));
  EXPECT_TRUE(is_secret_key("webhook.token"));
  EXPECT_TRUE(is_secret_key("db.password"));
  EXPECT_FALSE(is_secret_key("providers.openai.api_key_env"));
  EXPECT_FALSE(is_secret_key("trace.enabled"));
}

class ConfigFiles : public ::testing::Test {
 protected:
  testing::ScratchDir dir_{"cfg"};
};

TEST_F(ConfigFiles, PrecedenceFlagsEnvWorkspaceUserDefaults) {
  util::atomic_write(dir_ / "mlops.yaml", "output: yaml\ntracking:\n  uri: http://ws\n");
  util::atomic_write(dir_ / "user.yaml", "output: json\ncolor: never\ntracking:\n  uri: http://user\n");
  Config cfg(dir_ / "mlops.yaml", dir_ / "user.yaml", fake_env({{"MLFLOW_TRACKING_URI", "http://env"}}));
  EXPECT_EQ(cfg.get("output")->value, "yaml");
  EXPECT_EQ(cfg.get("output")->origin, "mlops.yaml:1");
  EXPECT_EQ(cfg.get("color")->source, Source::user);
  EXPECT_EQ(cfg.get("tracking.uri")->value, "http://env");
  EXPECT_EQ(cfg.get("trace.enabled")->source, Source::default_value);
  EXPECT_FALSE(cfg.get("not.set"));
  cfg.set_flag("output", "table", "-o");
  EXPECT_EQ(cfg.get("output")->value, "table");
  EXPECT_EQ(cfg.get("output")->source, Source::flag);

  Config env_first(dir_ / "mlops.yaml", dir_ / "user.yaml",
                   fake_env({{"MLOPS_TRACKING_URI", "http://mlops"}, {"MLFLOW_TRACKING_URI", "http://mlflow"}}));
  EXPECT_EQ(env_first.get("tracking.uri")->value, "http://mlops");
}

TEST_F(ConfigFiles, BoolsAndErrorsNameTheOrigin) {
  util::atomic_write(dir_ / "mlops.yaml", "trace:\n  enabled: maybe\n");
  Config cfg(dir_ / "mlops.yaml", std::nullopt, fake_env({}));
  try {
    cfg.get_bool("trace.enabled", true);
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("mlops.yaml:2"), std::string::npos) << e.what();
  }
  Config off(std::nullopt, std::nullopt, fake_env({{"MLOPS_TRACE_ENABLED", "off"}}));
  EXPECT_FALSE(off.get_bool("trace.enabled", true));
}

TEST_F(ConfigFiles, MalformedFilesFailWithLineAndColumn) {
  util::atomic_write(dir_ / "bad.yaml", "ok: 1\nlist: [a, b\n");
  try {
    Config cfg(dir_ / "bad.yaml", std::nullopt, fake_env({}));
    FAIL();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.yaml:"), std::string::npos) << e.what();
  }
  util::atomic_write(dir_ / "seq.yaml", "- a\n- b\n");
  EXPECT_THROW(Config(dir_ / "seq.yaml", std::nullopt, fake_env({})), ConfigError);
  util::atomic_write(dir_ / "bin.yaml", std::string("k: \xff\xfe\n"));
  EXPECT_THROW(Config(dir_ / "bin.yaml", std::nullopt, fake_env({})), ConfigError);
}

TEST_F(ConfigFiles, SetInFileRefusesToEditUnreadableFiles) {
  util::atomic_write(dir_ / "mlops.yaml", "a: [broken\n");
  EXPECT_THROW(set_in_file(dir_ / "mlops.yaml", dir_ / "lock", "b", "1"), ConfigError);
  EXPECT_EQ(util::read_file(dir_ / "mlops.yaml"), "a: [broken\n");
  set_in_file(dir_ / "new" / "config.yaml", dir_ / "lock", "x.y", "1");
  EXPECT_EQ(util::read_file(dir_ / "new" / "config.yaml"), "x:\n  y: 1\n");
  EXPECT_TRUE(unset_in_file(dir_ / "new" / "config.yaml", dir_ / "lock", "x.y"));
  EXPECT_FALSE(unset_in_file(dir_ / "new" / "config.yaml", dir_ / "lock", "x.y"));
}

TEST(UserConfigPath, HonoursXdg) {
  EXPECT_EQ(user_config_path(fake_env({{"XDG_CONFIG_HOME", "/x"}})), fs::path("/x/mlopsctl/config.yaml"));
  EXPECT_EQ(user_config_path(fake_env({{"HOME", "/h"}})), fs::path("/h/.config/mlopsctl/config.yaml"));
}

}  // namespace
}  // namespace mlops::config
