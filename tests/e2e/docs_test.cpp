// The man pages and completion files must cover every command and option the
// binary has; this fails as soon as the CLI and its docs drift apart.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <regex>

#include "e2e/harness.hpp"
#include "util/fs.hpp"

namespace mlops::e2e {
namespace {

nlohmann::json command_tree() {
  TempDir dir;
  auto r = sh(dir.path(), "mlopsctl __commands", dir.path() / "home");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return nlohmann::json::parse(r.out);
}

std::string man_text() {
  std::string all;
  for (const auto& e : fs::directory_iterator(fs::path(MLOPS_SOURCE_DIR) / "man"))
    if (e.path().extension() == ".1") all += util::read_file(e.path()) + "\n";
  // Strip the roff escapes that sit inside words.
  all = std::regex_replace(all, std::regex(R"(\\f[BIRP])"), "");
  all = std::regex_replace(all, std::regex(R"(\\-)"), "-");
  all = std::regex_replace(all, std::regex(R"(\\&)"), "");
  return all;
}

TEST(Docs, EveryCommandAndOptionIsInTheManPages) {
  auto tree = command_tree();
  auto text = man_text();
  ASSERT_FALSE(text.empty());
  for (const auto& node : tree) {
    std::string path = node["path"];
    if (!path.empty()) {
      EXPECT_NE(text.find(path), std::string::npos) << "command '" << path << "' missing from man/";
    }
    for (const auto& opt : node["options"]) {
      std::string name = opt["name"];
      EXPECT_NE(text.find(name), std::string::npos) << "option " << name << " of '" << path << "' missing from man/";
    }
  }
}

TEST(Docs, EveryGroupHasItsOwnPage) {
  auto tree = command_tree();
  for (const auto& node : tree) {
    std::string path = node["path"];
    if (path.empty() || path.find(' ') != std::string::npos || node["subcommands"].empty()) continue;
    EXPECT_TRUE(fs::exists(fs::path(MLOPS_SOURCE_DIR) / "man" / ("mlopsctl-" + path + ".1")))
        << "group '" << path << "' has no man/mlopsctl-" << path << ".1";
  }
}

TEST(Docs, CompletionFilesNameEveryCommand) {
  auto tree = command_tree();
  auto bash = util::read_file(fs::path(MLOPS_SOURCE_DIR) / "completions" / "mlopsctl.bash");
  for (const auto& node : tree) {
    std::string path = node["path"];
    if (!path.empty()) {
      EXPECT_NE(bash.find("\"" + path + "\""), std::string::npos) << path;
    }
  }
}

}  // namespace
}  // namespace mlops::e2e
