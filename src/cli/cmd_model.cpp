// model register / list / show / promote / approve / archive / rollback /
// history / predict: the model registry and batch prediction.
#include <fstream>
#include <iostream>
#include <iterator>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "cli/prompt_args.hpp"
#include "cli/run_args.hpp"
#include "eval/csv.hpp"
#include "model/features.hpp"
#include "model/model.hpp"
#include "registry/registry.hpp"
#include "util/error.hpp"
#include "util/text.hpp"
#include "util/time.hpp"

namespace mlops::cli {

namespace {

using nlohmann::json;

struct ModelArgs {
  std::string name;
  std::string ref;
  std::string run;
  std::string file;
  std::string kind;
  std::string prompt;
  std::string provider;
  std::string artifact;
  std::string features, entity_key, features_loader, features_query;
  std::string description;
  int version = 0;
  std::string alias;
  std::string comment;
  std::string input;
  std::string input_format;
  std::size_t batch_size = 64;
};

registry::Registry registry_of(Context& ctx) {
  return registry::Registry(ctx.ws().db(), ctx.ws().objects());
}

std::string actor(Context& ctx) {
  return ctx.ws().author().name;
}

std::string aliases_text(const std::vector<std::string>& aliases) {
  return aliases.empty() ? "-" : util::join(aliases, ", ");
}

std::string source_text(const registry::ModelVersion& v) {
  if (v.kind == "llm")
    return v.spec.value("prompt", "") + "/" + std::to_string(v.spec.value("prompt_version", 0)) + " via " +
           v.spec.value("provider", "");
  if (v.run_id) return "run " + v.run_id->substr(0, 8) + (v.artifact_name ? " " + *v.artifact_name : "");
  return v.artifact_name.value_or("-");
}

int model_register(Context& ctx, const ModelArgs& a) {
  registry::RegisterRequest req;
  req.name = a.name;
  req.kind = a.kind;
  req.description = a.description;
  req.actor = actor(ctx);
  if (!a.run.empty()) req.run = a.run;
  if (!a.file.empty()) req.file = a.file;
  if (!a.artifact.empty()) req.artifact = a.artifact;
  bool llm = a.kind == "llm" || !a.prompt.empty();
  if (llm) {
    if (!a.kind.empty() && a.kind != "llm") throw UsageError("--prompt makes an llm model; drop --kind " + a.kind);
    if (a.prompt.empty() || a.provider.empty())
      throw UsageError("an llm model needs --prompt NAME@LABEL and --provider PROVIDER:MODEL",
                       "e.g. mlopsctl model register triage --kind llm --prompt triage@production --provider "
                       "openai:gpt-4o-mini");
    if (!a.file.empty()) throw UsageError("an llm model takes --prompt and --provider, not --file");
    auto v = store_of(ctx).resolve_ref(a.prompt);
    req.kind = "llm";
    // The prompt version is pinned: a registered version never changes under the
    // server when the prompt's label moves (register a new version for that).
    req.spec = {{"prompt", v.name}, {"prompt_version", v.version}, {"prompt_ref", a.prompt},
                {"provider", a.provider}};
  } else {
    if (a.run.empty() && a.file.empty())
      throw UsageError("give --run RUN, --file FILE or --kind llm --prompt P --provider ID",
                       "e.g. mlopsctl model register churn --run 3f2a…");
    if (!a.provider.empty()) throw UsageError("--provider is for llm models (with --prompt)");
  }
  if (!a.features.empty()) {
    auto root = ctx.ws().paths().root;
    auto fspec = model::make_feature_spec(a.entity_key, ctx.cwd() / a.features, a.features_loader, a.features_query,
                                          root);
    (void)model::FeatureTable::load(fspec, root);  // a source that cannot serve fails here, not in the server
    req.spec["features"] = fspec.to_json();
  } else if (!a.entity_key.empty() || !a.features_loader.empty() || !a.features_query.empty()) {
    throw UsageError("--entity-key, --features-loader and --features-query go with --features SOURCE");
  }
  auto v = registry_of(ctx).register_version(req);
  emit(ctx, registry::to_json(v), [&](std::ostream& os, bool) {
    if (ctx.opts.quiet)
      os << v.version << "\n";
    else
      os << "registered " << v.name << " version " << v.version << " (" << v.kind << ", " << source_text(v) << ")\n";
  });
  return 0;
}

int model_list(Context& ctx) {
  auto list = registry_of(ctx).list();
  json j = json::array();
  for (const auto& m : list)
    j.push_back({{"name", m.name},
                 {"latest_version", m.latest_version},
                 {"versions", m.versions},
                 {"aliases", m.aliases},
                 {"created", util::format_rfc3339(m.created_ms * 1'000'000)}});
  emit(ctx, j, [&](std::ostream& os, bool color) {
    if (list.empty()) {
      os << "no models yet: register one with 'mlopsctl model register NAME --run RUN'\n";
      return;
    }
    Table t({"MODEL", "LATEST", "VERSIONS", "ALIASES"});
    for (const auto& m : list) {
      std::vector<std::string> al;
      for (const auto& [alias, v] : m.aliases) al.push_back(alias + "=" + std::to_string(v));
      t.add({m.name, std::to_string(m.latest_version), std::to_string(m.versions), aliases_text(al)});
    }
    t.print(os, color);
  });
  return 0;
}

json lineage_json(const registry::Lineage& l) {
  if (!l.run) return nullptr;
  const auto& r = *l.run;
  auto opt = [](const std::optional<std::string>& s) { return s ? json(*s) : json(nullptr); };
  json metrics = json::object();
  for (const auto& [k, v] : l.metrics) metrics[k] = std::isfinite(v) ? json(v) : json(number_text(v));
  return {{"run", r.id},
          {"experiment", r.experiment},
          {"run_name", r.name},
          {"run_status", r.status},
          {"data_sha256", opt(r.data_sha256)},
          {"config_sha256", opt(r.config_sha256)},
          {"git_commit", opt(r.git_commit)},
          {"seed", r.seed ? json(*r.seed) : json(nullptr)},
          {"metrics", metrics},
          {"params", l.params}};
}

int model_show(Context& ctx, const ModelArgs& a) {
  auto reg = registry_of(ctx);
  bool whole_model = a.ref.find('@') == std::string::npos && a.ref.find('/') == std::string::npos;
  if (whole_model) {
    auto versions = reg.versions(a.ref);
    json j = {{"name", a.ref}, {"versions", json::array()}};
    for (const auto& v : versions) j["versions"].push_back(registry::to_json(v));
    emit(ctx, j, [&](std::ostream& os, bool color) {
      Table t({"VERSION", "KIND", "STATUS", "ALIASES", "SOURCE", "CREATED", "BY"});
      for (const auto& v : versions)
        t.add({std::to_string(v.version), v.kind, v.status == registry::k_archived ? dim(v.status, color) : v.status,
               aliases_text(v.aliases), source_text(v), short_time(v.created_ms), v.actor});
      t.print(os, color);
    });
    return 0;
  }
  auto v = reg.resolve(a.ref);
  auto l = reg.lineage(v);
  auto approvals = reg.approvals(v.name, v.version);
  json j = registry::to_json(v);
  j["lineage"] = lineage_json(l);
  j["approvals"] = json::array();
  for (const auto& ap : approvals)
    j["approvals"].push_back({{"alias", ap.alias},
                              {"actor", ap.actor},
                              {"comment", ap.comment},
                              {"time", util::format_rfc3339(ap.ts_ms * 1'000'000)}});
  emit(ctx, j, [&](std::ostream& os, bool color) {
    std::vector<std::pair<std::string, std::string>> fields = {
        {"model", v.name},
        {"version", std::to_string(v.version)},
        {"kind", v.kind},
        {"status", v.status},
        {"aliases", aliases_text(v.aliases)},
        {"source", source_text(v)},
        {"artifact", v.artifact_sha256 ? v.artifact_name.value_or("") + " " + *v.artifact_sha256 : "-"},
        {"created", short_time(v.created_ms) + " by " + v.actor},
    };
    if (!v.description.empty()) fields.emplace_back("description", v.description);
    if (l.run) {
      const auto& r = *l.run;
      fields.emplace_back("run", r.id + " (" + r.experiment + (r.name.empty() ? "" : "/" + r.name) + ", " +
                                     r.status + ")");
      fields.emplace_back("data sha256", r.data_sha256.value_or("-"));
      fields.emplace_back("config sha256", r.config_sha256.value_or("-"));
      fields.emplace_back("git commit", r.git_commit.value_or("-"));
    }
    print_fields(os, fields, color);
    if (!l.metrics.empty()) {
      os << "\n" << bold("metrics", color) << "\n";
      Table t({"METRIC", "VALUE"});
      for (const auto& [k, val] : l.metrics) t.add({k, number_text(val)});
      t.print(os, color);
    }
    if (!approvals.empty()) {
      os << "\n" << bold("approvals", color) << "\n";
      Table t({"FOR", "BY", "WHEN", "COMMENT"});
      for (const auto& ap : approvals) t.add({ap.alias, ap.actor, short_time(ap.ts_ms), ap.comment});
      t.print(os, color);
    }
  });
  return 0;
}

int model_promote(Context& ctx, const ModelArgs& a) {
  auto gates = registry::gates_for(ctx.config(), a.alias);
  auto reg = registry_of(ctx);
  registry::PromoteResult r;
  try {
    r = reg.promote(a.name, a.version, a.alias, gates, actor(ctx), a.comment);
  } catch (const CheckFailed&) {
    // Show every gate's verdict before the error.
    if (!ctx.opts.quiet) {
      auto v = reg.get(a.name, a.version);
      for (const auto& g : reg.evaluate_gates(v, a.alias, gates))
        std::cerr << (g.passed ? "  pass  " : "  FAIL  ") << g.condition << "  (" << g.detail << ")\n";
    }
    throw;
  }
  json j = {{"name", a.name},
            {"alias", a.alias},
            {"version", a.version},
            {"from_version", r.from_version ? json(*r.from_version) : json(nullptr)},
            {"gates", json::array()}};
  for (const auto& g : r.gates) j["gates"].push_back(registry::to_json(g));
  emit(ctx, j, [&](std::ostream& os, bool color) {
    if (ctx.opts.quiet) return;
    for (const auto& g : r.gates) os << "  " << green("pass", color) << "  " << g.condition << "  (" << g.detail << ")\n";
    if (r.from_version == a.version)
      os << a.name << "@" << a.alias << " is already version " << a.version << "\n";
    else
      os << a.name << "@" << a.alias << " -> version " << a.version
         << (r.from_version ? " (was " + std::to_string(*r.from_version) + ")" : "") << "\n";
  });
  return 0;
}

int model_approve(Context& ctx, const ModelArgs& a) {
  auto ap = registry_of(ctx).approve(a.name, a.version, a.alias, actor(ctx), a.comment);
  json j = {{"name", a.name}, {"version", a.version}, {"alias", ap.alias}, {"actor", ap.actor}, {"comment", ap.comment}};
  emit(ctx, j, [&](std::ostream& os, bool) {
    if (ctx.opts.quiet) return;
    os << ap.actor << " approved " << a.name << " version " << a.version << " for " << ap.alias << "\n";
  });
  return 0;
}

int model_archive(Context& ctx, const ModelArgs& a) {
  auto reg = registry_of(ctx);
  auto before = reg.get(a.name, a.version);
  auto v = reg.archive(a.name, a.version, actor(ctx));
  json j = registry::to_json(v);
  j["aliases_removed"] = before.aliases;
  emit(ctx, j, [&](std::ostream& os, bool) {
    if (ctx.opts.quiet) return;
    os << "archived " << a.name << " version " << a.version;
    if (!before.aliases.empty()) os << " (removed " << util::join(before.aliases, ", ") << ")";
    os << "\n";
  });
  return 0;
}

int model_rollback(Context& ctx, const ModelArgs& a) {
  auto r = registry_of(ctx).rollback(a.name, a.alias, actor(ctx));
  json j = {{"name", a.name},
            {"alias", a.alias},
            {"version", r.version.version},
            {"from_version", r.from_version ? json(*r.from_version) : json(nullptr)}};
  emit(ctx, j, [&](std::ostream& os, bool) {
    if (ctx.opts.quiet) return;
    os << a.name << "@" << a.alias << " rolled back to version " << r.version.version
       << (r.from_version ? " (was " + std::to_string(*r.from_version) + ")" : "") << "\n";
  });
  return 0;
}

int model_history(Context& ctx, const ModelArgs& a) {
  auto events = registry_of(ctx).history(a.name, a.alias);
  json j = json::array();
  for (const auto& e : events) j.push_back(registry::to_json(e));
  emit(ctx, j, [&](std::ostream& os, bool color) {
    if (events.empty()) {
      os << "no alias moves yet\n";
      return;
    }
    Table t({"WHEN", "ALIAS", "MOVE", "FROM", "TO", "BY", "REASON"});
    auto v = [](std::optional<int> x) { return x ? std::to_string(*x) : std::string("-"); };
    for (const auto& e : events)
      t.add({short_time(e.ts_ms), e.alias, e.kind, v(e.from_version), v(e.to_version), e.actor, e.reason});
    t.print(os, color);
  });
  return 0;
}

// Reads instances from JSON Lines or CSV (header row; values as strings) a batch
// at a time, so a large input never sits in memory whole; a JSON array is the
// one format read at once.
struct Instance {
  json value;
  int line = 0;
};

class InstanceReader {
 public:
  InstanceReader(const std::string& path, std::string format) : where_(path == "-" ? "stdin" : path) {
    if (path == "-") {
      in_ = &std::cin;
    } else {
      file_ = std::make_unique<std::ifstream>(path, std::ios::binary);
      if (!*file_) throw NotFoundError("cannot read input " + path, "give a .jsonl, .json or .csv file, or - for stdin");
      in_ = file_.get();
    }
    if (format.empty()) {
      std::string ext = std::filesystem::path(path).extension().string();
      if (ext == ".csv")
        format = "csv";
      else if (ext == ".jsonl" || ext == ".ndjson")
        format = "jsonl";
      else if (ext == ".json")
        format = "json";
      else {
        while (in_->peek() == ' ' || in_->peek() == '\t' || in_->peek() == '\r' || in_->peek() == '\n') {
          if (in_->get() == '\n') ++line_;
        }
        int c = in_->peek();
        format = c == '[' ? "json" : c == '{' ? "jsonl" : "csv";
      }
    }
    format_ = format;
    if (format_ == "json") {
      std::string text((std::istreambuf_iterator<char>(*in_)), std::istreambuf_iterator<char>());
      array_ = json::parse(text, nullptr, false);
      if (array_.is_discarded() || !array_.is_array())
        throw UsageError(where_ + ": not a JSON array of instances", "write [{...}, {...}] or use JSON Lines");
    } else if (format_ == "csv") {
      csv_ = std::make_unique<eval::CsvReader>(*in_);
      csv_->next(header_);
    }
  }

  const std::string& where() const { return where_; }

  // Up to `n` instances; empty at the end of the input.
  std::vector<Instance> next(std::size_t n) {
    std::vector<Instance> out;
    if (format_ == "json") {
      while (out.size() < n && pos_ < array_.size()) out.push_back({std::move(array_[pos_++]), 0});
    } else if (format_ == "jsonl") {
      std::string line;
      while (out.size() < n && std::getline(*in_, line)) {
        ++line_;
        if (util::trim(line).empty()) continue;
        json v = json::parse(line, nullptr, false);
        if (v.is_discarded())
          throw UsageError(where_ + ":" + std::to_string(line_) + ": not valid JSON", "each line holds one JSON instance");
        out.push_back({std::move(v), line_});
      }
    } else {
      std::vector<std::string> fields;
      while (out.size() < n && csv_->next(fields)) {
        if (fields.size() == 1 && fields[0].empty()) continue;
        if (fields.size() != header_.size())
          throw UsageError(where_ + ":" + std::to_string(csv_->line()) + ": " + std::to_string(fields.size()) +
                           " fields for " + std::to_string(header_.size()) + " columns");
        json obj = json::object();
        for (std::size_t i = 0; i < header_.size(); ++i) obj[header_[i]] = fields[i];
        out.push_back({std::move(obj), csv_->line()});
      }
    }
    return out;
  }

 private:
  std::string where_;
  std::string format_;
  std::unique_ptr<std::ifstream> file_;
  std::istream* in_ = nullptr;
  int line_ = 0;
  json array_;
  std::size_t pos_ = 0;
  std::unique_ptr<eval::CsvReader> csv_;
  std::vector<std::string> header_;
};

int model_predict(Context& ctx, const ModelArgs& a) {
  InstanceReader reader(a.input, a.input_format);
  auto batch = reader.next(a.batch_size);
  if (batch.empty()) throw UsageError("no instances in " + reader.where());
  auto m = model::load(ctx.ws(), ctx.tracer(), a.ref);
  json all = json::array();
  bool jsonl = ctx.format() == Format::table;
  for (; !batch.empty(); batch = reader.next(a.batch_size)) {
    json instances = json::array();
    for (auto& i : batch) instances.push_back(std::move(i.value));
    json out;
    try {
      out = m->predict(instances);
    } catch (const model::InputError& e) {
      int line = batch.front().line;
      throw UsageError(reader.where() + (line ? ":" + std::to_string(line) : "") + " (batch of " +
                       std::to_string(batch.size()) + " from here): " + e.what());
    }
    for (auto& p : out) {
      if (jsonl)
        std::cout << p.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
      else
        all.push_back(std::move(p));
    }
    if (jsonl) std::cout.flush();
  }
  if (!jsonl) emit(ctx, all, [](std::ostream&, bool) {});
  return 0;
}

}  // namespace

void add_model_commands(CLI::App& app, Context& ctx) {
  auto a = std::make_shared<ModelArgs>();
  auto* model = app.add_subcommand("model", "Model registry: versions, aliases, promotion gates, prediction");
  model->require_subcommand(1);

  auto* reg = model->add_subcommand("register", "Register a new version of a model");
  reg->add_option("name", a->name, "Model name")->required();
  reg->add_option("--run", a->run, "Run whose model artifact becomes the version (lineage from the run)");
  reg->add_option("--file", a->file, "A model file, such as a TorchScript model.pt");
  reg->add_option("--artifact", a->artifact, "Which artifact of --run (default: model, model.*)");
  reg->add_option("--kind", a->kind, "torch, torchscript or llm (default: from the run, or torchscript for --file)")
      ->check(CLI::IsMember({"torch", "torchscript", "llm"}));
  reg->add_option("--prompt", a->prompt, "For llm models: stored prompt NAME[@LABEL|@VERSION] (pinned at register)");
  reg->add_option("--provider", a->provider, "For llm models: PROVIDER:MODEL to call");
  reg->add_option("--features", a->features,
                  "Feature source (CSV, JSONL, JSON, SQLite) looked up by --entity-key before each prediction")
      ->type_name("FILE");
  reg->add_option("--entity-key", a->entity_key, "Request field and source column naming an entity, e.g. user_id");
  reg->add_option("--features-loader", a->features_loader, "csv, jsonl, json or sqlite (default: from the extension)");
  reg->add_option("--features-query", a->features_query, "For an SQLite source: the read-only query");
  reg->add_option("--description,-d", a->description, "What this version is");
  on_run(reg, ctx, [&ctx, a] { return model_register(ctx, *a); });

  auto* list = model->add_subcommand("list", "Registered models with their latest version and aliases");
  on_run(list, ctx, [&ctx] { return model_list(ctx); });

  auto* show = model->add_subcommand("show", "A model's versions, or one version with its metrics and lineage");
  show->add_option("ref", a->ref, "NAME, NAME@ALIAS or NAME/VERSION")->required();
  on_run(show, ctx, [&ctx, a] { return model_show(ctx, *a); });

  auto* promote = model->add_subcommand("promote", "Point an alias at a version after its gates pass");
  promote->add_option("name", a->name, "Model name")->required();
  promote->add_option("version", a->version, "Version number")->required()->check(CLI::PositiveNumber);
  promote->add_option("--to", a->alias, "Alias: staging, production or any name")->required();
  promote->add_option("--reason,-m", a->comment, "Why (kept in the history and audit log)");
  on_run(promote, ctx, [&ctx, a] { return model_promote(ctx, *a); });

  auto* approve = model->add_subcommand("approve", "Approve a version for an alias (for 'approval' gates)");
  approve->add_option("name", a->name, "Model name")->required();
  approve->add_option("version", a->version, "Version number")->required()->check(CLI::PositiveNumber);
  approve->add_option("--for", a->alias, "Alias the approval is for, e.g. production")->required();
  approve->add_option("--comment,-m", a->comment, "Comment kept with the approval");
  on_run(approve, ctx, [&ctx, a] { return model_approve(ctx, *a); });

  auto* archive = model->add_subcommand("archive", "Archive a version: it loses its aliases and cannot be promoted");
  archive->add_option("name", a->name, "Model name")->required();
  archive->add_option("version", a->version, "Version number")->required()->check(CLI::PositiveNumber);
  on_run(archive, ctx, [&ctx, a] { return model_archive(ctx, *a); });

  auto* rollback = model->add_subcommand("rollback", "Move an alias back to its previous holder");
  rollback->add_option("name", a->name, "Model name")->required();
  rollback->add_option("--alias", a->alias, "Alias to roll back, e.g. production")->required();
  on_run(rollback, ctx, [&ctx, a] { return model_rollback(ctx, *a); });

  auto* history = model->add_subcommand("history", "Every alias move of a model, oldest first");
  history->add_option("name", a->name, "Model name")->required();
  history->add_option("--alias", a->alias, "Only this alias");
  on_run(history, ctx, [&ctx, a] { return model_history(ctx, *a); });

  auto* predict = model->add_subcommand("predict", "Predict a batch of inputs with a registered model");
  predict->add_option("ref", a->ref, "NAME@ALIAS, NAME/VERSION or NAME")->required();
  predict->add_option("--input,-i", a->input, "Instances: a .jsonl, .json (array) or .csv file, or - for stdin")
      ->required();
  predict->add_option("--format", a->input_format, "Input format when the extension does not tell")
      ->check(CLI::IsMember({"jsonl", "json", "csv"}));
  predict->add_option("--batch-size", a->batch_size, "Instances per model call")->check(CLI::Range(1, 100000));
  on_run(predict, ctx, [&ctx, a] { return model_predict(ctx, *a); });
}

}  // namespace mlops::cli
