#pragma once
// The bridge to mlopsctl-torch, the only program that links libtorch (which costs
// 0.5-0.8 s and ~160 MB at start-up). mlopsctl runs it as a child process for the
// commands that need torch; the protocol is one request per run: a subcommand in
// argv, a JSON request on stdin, a JSON reply on stdout, exit 0 on success.
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mlops::torch {

inline constexpr const char* k_helper_name = "mlopsctl-torch";
inline constexpr int k_protocol_version = 1;

// Finds the helper: `configured` (torch.helper / MLOPS_TORCH_HELPER) if given, else
// beside the running binary, else ../libexec/mlopsctl/. Throws RuntimeError listing
// where it looked and how to build or point to it.
std::filesystem::path locate_helper(const std::optional<std::string>& configured);

// Runs one helper request and returns its JSON reply. A reply with "error" or a
// non-zero exit becomes RuntimeError carrying the helper's message.
nlohmann::json call(const std::filesystem::path& helper, const std::string& command,
                    const nlohmann::json& request = nlohmann::json::object());

}  // namespace mlops::torch
