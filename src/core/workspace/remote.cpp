#include "workspace/remote.hpp"

#include "audit/audit.hpp"
#include "prompt/store.hpp"
#include "store/versioned.hpp"

namespace mlops::workspace {

void add_remote(Workspace& ws, const std::string& name, const std::string& url, const std::string& trace_id) {
  ws.git().add_remote(name, url);
  audit::AuditLog(ws.db()).append(ws.author().name, "remote.add", name, {{"url", url}}, trace_id);
}

namespace {

std::string url_of(Workspace& ws, const std::string& name) {
  for (const auto& [n, u] : ws.git().remotes())
    if (n == name) return u;
  return "";
}

}  // namespace

void remove_remote(Workspace& ws, const std::string& name, const std::string& trace_id) {
  std::string old = url_of(ws, name);
  ws.git().remove_remote(name);
  audit::AuditLog(ws.db()).append(ws.author().name, "remote.remove", name, {{"url", old}}, trace_id);
}

void set_remote_url(Workspace& ws, const std::string& name, const std::string& url, const std::string& trace_id) {
  std::string old = url_of(ws, name);
  ws.git().set_remote_url(name, url);
  audit::AuditLog(ws.db()).append(ws.author().name, "remote.set_url", name, {{"from", old}, {"url", url}},
                                  trace_id);
}

std::vector<std::pair<std::string, std::string>> list_remotes(Workspace& ws) {
  return ws.git().remotes();
}

std::string push(Workspace& ws, const std::string& remote, const std::string& trace_id) {
  ws.git().push(remote);
  std::string head = ws.git().resolve(store::k_default_branch).value_or("");
  audit::AuditLog(ws.db()).append(ws.author().name, "remote.push", remote, {{"head", head}}, trace_id);
  return head;
}

PullOutcome pull(Workspace& ws, const std::string& remote, const std::string& trace_id) {
  auto r = ws.git().pull(remote);
  PullOutcome out;
  out.result = r == store::GitRepo::PullResult::up_to_date       ? "up_to_date"
               : r == store::GitRepo::PullResult::fast_forwarded ? "fast_forwarded"
               : r == store::GitRepo::PullResult::adopted        ? "adopted"
                                                                 : "created";
  out.head = ws.git().resolve(store::k_default_branch).value_or("");
  if (r != store::GitRepo::PullResult::up_to_date) {
    // New commits arrived: the indexes follow git.
    store::rebuild_index(ws.db(), ws.git());
    prompt::PromptStore(ws.db(), ws.git(), ws.paths().state_dir()).rebuild_index();
  }
  audit::AuditLog(ws.db()).append(ws.author().name, "remote.pull", remote, {{"result", out.result}, {"head", out.head}},
                                  trace_id);
  return out;
}

}  // namespace mlops::workspace
