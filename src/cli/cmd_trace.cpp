// trace list / trace show: spans recorded for every command and call.
#include <iostream>
#include <map>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "util/time.hpp"

namespace mlops::cli {

namespace {

std::string ms(std::int64_t ns) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f ms", static_cast<double>(ns) / 1e6);
  return buf;
}

void print_tree(std::ostream& os, const std::vector<trace::Span>& spans, bool color) {
  std::map<std::string, std::vector<const trace::Span*>> children;
  std::vector<const trace::Span*> roots;
  std::map<std::string, bool> present;
  for (const auto& s : spans) present[s.span_id] = true;
  for (const auto& s : spans) {
    if (s.parent_span_id && present.count(*s.parent_span_id))
      children[*s.parent_span_id].push_back(&s);
    else
      roots.push_back(&s);
  }
  std::function<void(const trace::Span*, int)> walk = [&](const trace::Span* s, int depth) {
    std::int64_t dur = s->end_ns ? *s->end_ns - s->start_ns : 0;
    std::string status = trace::status_name(s->status);
    os << std::string(static_cast<std::size_t>(depth) * 2, ' ') << bold(s->name, color) << "  " << ms(dur) << "  "
       << (s->status == trace::Status::error ? red(status, color) : status) << "  " << dim(s->span_id, color) << "\n";
    if (!s->status_message.empty())
      os << std::string(static_cast<std::size_t>(depth) * 2 + 4, ' ') << s->status_message << "\n";
    for (const auto& [k, v] : s->attributes.items())
      os << std::string(static_cast<std::size_t>(depth) * 2 + 4, ' ')
         << dim(k + "=" + (v.is_string() ? v.get<std::string>() : v.dump()), color) << "\n";
    for (const auto* c : children[s->span_id]) walk(c, depth + 1);
  };
  for (const auto* r : roots) walk(r, 0);
}

}  // namespace

void add_trace_commands(CLI::App& app, Context& ctx) {
  auto* tr = app.add_subcommand("trace", "Inspect the spans recorded for commands and calls");
  tr->require_subcommand(1);

  auto limit = std::make_shared<std::size_t>(20);
  auto since = std::make_shared<std::string>();
  auto* list = tr->add_subcommand("list", "List recent traces, newest first");
  list->add_option("-n,--limit", *limit, "How many traces (0 = all)")->capture_default_str();
  list->add_option("--since", *since, "Only traces newer than a duration ago: 45m, 12h, 30d");
  on_run(list, ctx, [&ctx, limit, since] {
    std::optional<std::int64_t> since_ns;
    if (!since->empty()) since_ns = util::now_ns() - util::parse_duration_ns(*since);
    auto traces = trace::list_traces(ctx.ws().db(), *limit, since_ns);
    nlohmann::json j = nlohmann::json::array();
    for (const auto& t : traces)
      j.push_back({{"trace_id", t.trace_id},
                   {"name", t.root_name},
                   {"start_time", util::format_rfc3339(t.start_ns)},
                   {"duration_ms", static_cast<double>(t.duration_ns) / 1e6},
                   {"spans", t.span_count},
                   {"status", trace::status_name(t.status)}});
    emit(ctx, j, [&](std::ostream& os, bool color) {
      Table t({"TRACE", "START", "DURATION", "SPANS", "STATUS", "NAME"});
      for (const auto& s : traces)
        t.add({s.trace_id, util::format_rfc3339(s.start_ns), ms(s.duration_ns), std::to_string(s.span_count),
               trace::status_name(s.status), s.root_name});
      t.print(os, color);
    });
    return 0;
  });

  auto id = std::make_shared<std::string>();
  auto* show = tr->add_subcommand("show", "Show one trace as a span tree");
  show->add_option("id", *id, "Trace id or a unique prefix of it")->required();
  on_run(show, ctx, [&ctx, id] {
    auto spans = trace::get_trace(ctx.ws().db(), *id);
    nlohmann::json j = {{"trace_id", spans.front().trace_id}, {"spans", nlohmann::json::array()}};
    for (const auto& s : spans) j["spans"].push_back(trace::to_json(s));
    emit(ctx, j, [&](std::ostream& os, bool color) {
      os << "trace " << spans.front().trace_id << "\n";
      print_tree(os, spans, color);
    });
    return 0;
  });
}

}  // namespace mlops::cli
