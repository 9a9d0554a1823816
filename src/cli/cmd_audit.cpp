// audit log / audit verify: the hash-chained audit trail.
#include <iostream>

#include "audit/audit.hpp"
#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "util/time.hpp"

namespace mlops::cli {

void add_audit_commands(CLI::App& app, Context& ctx) {
  auto* audit = app.add_subcommand("audit", "Read and verify the append-only, hash-chained audit log");
  audit->require_subcommand(1);

  auto since = std::make_shared<std::string>();
  auto action = std::make_shared<std::string>();
  auto actor = std::make_shared<std::string>();
  auto limit = std::make_shared<std::size_t>(0);
  auto* log = audit->add_subcommand("log", "List audit entries, oldest first");
  log->add_option("--since", *since, "Only entries newer than a duration ago: 45m, 12h, 30d");
  log->add_option("--action", *action, "Only this action or action family (config, config.set)");
  log->add_option("--actor", *actor, "Only entries by this actor");
  log->add_option("-n,--limit", *limit, "Only the newest N entries");
  on_run(log, ctx, [&ctx, since, action, actor, limit] {
    audit::Filter f;
    if (!since->empty()) f.since_ns = util::now_ns() - util::parse_duration_ns(*since);
    f.action_prefix = *action;
    f.actor = *actor;
    f.limit = *limit;
    auto entries = audit::AuditLog(ctx.ws().db()).list(f);
    nlohmann::json j = nlohmann::json::array();
    for (const auto& e : entries) j.push_back(audit::to_json(e));
    emit(ctx, j, [&](std::ostream& os, bool color) {
      Table t({"SEQ", "TIME", "ACTOR", "ACTION", "TARGET", "HASH"});
      for (const auto& e : entries)
        t.add(
            {std::to_string(e.seq), util::format_rfc3339(e.ts_ns), e.actor, e.action, e.target, e.hash.substr(0, 12)});
      t.print(os, color);
    });
    return 0;
  });

  auto* verify = audit->add_subcommand("verify", "Recompute the hash chain; exit 1 if any entry was edited or removed");
  on_run(verify, ctx, [&ctx] {
    auto r = audit::AuditLog(ctx.ws().db()).verify();
    nlohmann::json j = {
        {"ok", r.ok()},
        {"entries", r.entries},
        {"problems", r.problems},
        {"first_bad_seq", r.first_bad_seq ? nlohmann::json(*r.first_bad_seq) : nlohmann::json(nullptr)}};
    emit(ctx, j, [&](std::ostream& os, bool color) {
      if (r.ok()) {
        os << green("ok", color) << ": " << r.entries << " audit entries, hash chain intact\n";
        return;
      }
      os << red("FAILED", color) << ": the audit log was tampered with\n";
      for (const auto& p : r.problems) os << "  " << p << "\n";
    });
    return r.ok() ? 0 : 1;
  });
}

}  // namespace mlops::cli
