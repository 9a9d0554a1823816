#include "torch/torch_helper.hpp"

#include <unistd.h>

#include "util/error.hpp"
#include "util/process.hpp"

namespace mlops::torch {

std::filesystem::path locate_helper(const std::optional<std::string>& configured) {
  std::vector<std::filesystem::path> tried;
  if (configured && !configured->empty()) {
    std::filesystem::path p(*configured);
    if (::access(p.c_str(), X_OK) == 0) return p;
    throw RuntimeError("torch helper " + p.string() + " (from torch.helper / MLOPS_TORCH_HELPER) is not executable",
                       "point torch.helper at a built mlopsctl-torch, or unset it to use the one beside mlopsctl");
  }
  auto dir = util::self_dir();
  tried.push_back(dir / k_helper_name);
  tried.push_back(dir.parent_path() / "libexec" / "mlopsctl" / k_helper_name);
  for (const auto& p : tried)
    if (::access(p.c_str(), X_OK) == 0) return p;
  std::string where;
  for (const auto& p : tried) where += (where.empty() ? "" : ", ") + p.string();
  throw RuntimeError(
      "this command needs the torch helper " + std::string(k_helper_name) + ", not found (looked in " + where + ")",
      "build it with 'cmake -DMLOPS_WITH_TORCH=ON' (needs libtorch-dev), or set MLOPS_TORCH_HELPER");
}

nlohmann::json call(const std::filesystem::path& helper, const std::string& command, const nlohmann::json& request) {
  auto r = util::run_process({helper.string(), command}, request.dump());
  auto reply = nlohmann::json::parse(r.out, nullptr, false);
  if (r.exit_code != 0 || reply.is_discarded() || !reply.is_object() || reply.contains("error")) {
    std::string msg = (!reply.is_discarded() && reply.is_object() && reply.contains("error"))
                          ? reply["error"].get<std::string>()
                          : (r.err.empty() ? "exit code " + std::to_string(r.exit_code) : r.err);
    throw RuntimeError("torch helper '" + command + "' failed: " + msg);
  }
  if (reply.value("protocol", k_protocol_version) != k_protocol_version)
    throw RuntimeError("torch helper " + helper.string() + " speaks protocol " +
                           std::to_string(reply.value("protocol", 0)) + ", this mlopsctl needs " +
                           std::to_string(k_protocol_version),
                       "install mlopsctl and mlopsctl-torch from the same build");
  return reply;
}

}  // namespace mlops::torch
