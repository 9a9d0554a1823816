#pragma once
// Sharing a workspace's history through ordinary git remotes: push, and pull
// (fast-forward only) after which every index kept beside git is rebuilt.
#include <string>
#include <vector>

#include "workspace/workspace.hpp"

namespace mlops::workspace {

struct PullOutcome {
  std::string result;  // up_to_date, fast_forwarded, created
  std::string head;    // commit the branch points to afterwards
};

void add_remote(Workspace& ws, const std::string& name, const std::string& url, const std::string& trace_id);
// Both audited (remote.remove, remote.set_url) with the URL they replace.
void remove_remote(Workspace& ws, const std::string& name, const std::string& trace_id);
void set_remote_url(Workspace& ws, const std::string& name, const std::string& url, const std::string& trace_id);
std::vector<std::pair<std::string, std::string>> list_remotes(Workspace& ws);
std::string push(Workspace& ws, const std::string& remote, const std::string& trace_id);
PullOutcome pull(Workspace& ws, const std::string& remote, const std::string& trace_id);

}  // namespace mlops::workspace
