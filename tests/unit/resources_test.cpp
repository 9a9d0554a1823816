#include <gtest/gtest.h>

#include "resources/resources.hpp"
#include "util/fs.hpp"

namespace mlops::resources {
namespace {

TEST(Resources, TemplatesAreEmbeddedAndOverridable) {
  auto paths = embedded_paths();
  EXPECT_NE(std::find(paths.begin(), paths.end(), "default/mlops.yaml"), paths.end());
  auto names = template_names({});
  EXPECT_NE(std::find(names.begin(), names.end(), "default"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "minimal"), names.end());
  auto e = lookup("default/mlops.yaml", {});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->origin, "embedded:default/mlops.yaml");
  EXPECT_NE(e->content.find("{{ workspace_name }}"), std::string::npos);

  auto dir = std::filesystem::temp_directory_path() / ("mlops-res-" + util::random_hex(4));
  std::filesystem::create_directories(dir / "default");
  util::atomic_write(dir / "default" / "mlops.yaml", "override\n");
  auto o = lookup("default/mlops.yaml", {dir});
  ASSERT_TRUE(o);
  EXPECT_EQ(o->content, "override\n");
  EXPECT_FALSE(lookup("no/such/file", {dir}));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mlops::resources
