// The LLM model kind: a pinned prompt version rendered with each instance's
// fields, sent to the registered provider through the llm module (cache, cost
// ledger, budgets and traces included).
#include <mutex>
#include <set>

#include "config/config.hpp"
#include "llm/service.hpp"
#include "model/model.hpp"
#include "prompt/store.hpp"
#include "template/template.hpp"

namespace mlops::model {

namespace {

using nlohmann::json;

class LlmModel : public Model {
 public:
  explicit LlmModel(const LoadContext& ctx) : ws_(ctx.ws) {
    const auto& spec = ctx.version.spec;
    prompt_name_ = spec.value("prompt", "");
    prompt_version_ = spec.value("prompt_version", 0);
    provider_ = spec.value("provider", "");
    if (prompt_name_.empty() || provider_.empty() || prompt_version_ <= 0)
      throw RuntimeError(ctx.version.name + " version " + std::to_string(ctx.version.version) +
                         " is an llm model without prompt, prompt_version and provider in its spec");
    prompt::PromptStore prompts(
        ws_.db(), [this]() -> store::GitRepo& { return ws_.git(); }, ws_.paths().state_dir());
    auto v = prompts.resolve(prompt_name_, std::to_string(prompt_version_));
    spec_ = prompts.spec(v);
    trace_enabled_ = ws_.config().get_bool("trace.enabled", true);
    auto options = llm::client_options(ws_.config());
    options.flush_batch = 1;  // a long-running server keeps every call's ledger row durable at once
    client_ = std::make_unique<llm::Client>(
        ws_.db(), ws_.config(), ws_.env(), tracer_, std::nullopt,
        std::vector<std::filesystem::path>{ws_.paths().overrides(),
                                           config::user_config_path(ws_.env()).parent_path() / "templates"},
        options);
    info_.name = ctx.version.name;
    info_.version = ctx.version.version;
    info_.kind = "llm";
    info_.aliases = ctx.version.aliases;
    // Inputs: the variables the template reads (declared or not); those with a
    // declared default are optional.
    std::set<std::string> used;
    if (spec_.templated) {
      if (spec_.kind == prompt::Kind::text)
        for (const auto& v : tmpl::Template::parse(spec_.template_text).variables()) used.insert(v);
      for (const auto& m : spec_.messages)
        for (const auto& v : tmpl::Template::parse(m.content).variables()) used.insert(v);
    }
    for (const auto& [name, var] : spec_.variables) used.insert(name);
    for (const auto& name : used) {
      auto it = spec_.variables.find(name);
      bool optional = it != spec_.variables.end() && it->second.default_value;
      (optional ? info_.optional_inputs : info_.required_inputs).push_back(name);
    }
    info_.extra = {{"prompt", prompt_name_}, {"prompt_version", prompt_version_}, {"provider", provider_}};
  }

  const ModelInfo& info() const override { return info_; }

  json predict(const json& instances) override {
    if (!instances.is_array()) throw InputError("instances must be a JSON array");
    std::vector<llm::CallJob> jobs;
    for (std::size_t i = 0; i < instances.size(); ++i) {
      const json& vars = instances[i];
      if (!vars.is_object())
        throw InputError("instance " + std::to_string(i) + " is " + std::string(vars.type_name()) +
                         "; this llm model takes an object of prompt variables" +
                         (info_.required_inputs.empty() ? "" : " (" + join_names(info_.required_inputs) + ")"));
      json rendered;
      try {
        rendered = prompt::render(spec_, vars);
      } catch (const UsageError& e) {
        throw InputError("instance " + std::to_string(i) + ": " + e.what());
      }
      llm::CallJob job;
      job.provider_id = provider_;
      if (rendered.is_string()) {
        job.request.messages.push_back({"user", rendered.get<std::string>()});
      } else {
        for (const auto& m : rendered) job.request.messages.push_back({m["role"], m["content"]});
      }
      const auto& model = spec_.model;
      if (model.contains("temperature") && model["temperature"].is_number())
        job.request.temperature = model["temperature"].get<double>();
      if (model.contains("max_tokens") && model["max_tokens"].is_number_integer())
        job.request.max_tokens = model["max_tokens"].get<int>();
      job.context.prompt = prompt_name_;
      job.context.prompt_version = prompt_version_;
      jobs.push_back(std::move(job));
    }
    std::vector<llm::CallResult> results;
    {
      // The client keeps one database connection and its flush buffers: one batch at a time.
      std::lock_guard lock(mutex_);
      try {
        results = jobs.size() == 1 ? std::vector<llm::CallResult>{client_->call(jobs[0])} : client_->call_many(jobs);
      } catch (...) {
        end_traces();
        throw;
      }
      end_traces();
    }
    json out = json::array();
    for (std::size_t i = 0; i < results.size(); ++i) {
      const auto& r = results[i];
      if (!r.ok())
        throw RuntimeError("instance " + std::to_string(i) + ": " + r.provider + " failed: " + r.error_message,
                           r.error_hint);
      out.push_back({{"text", r.response.text},
                     {"finish_reason", r.response.finish_reason},
                     {"model", r.model},
                     {"usage",
                      {{"input_tokens", r.response.usage.input_tokens},
                       {"output_tokens", r.response.usage.output_tokens}}},
                     {"cost_usd", r.cost_usd ? json(*r.cost_usd) : json(nullptr)},
                     {"cache_hit", r.cache_hit}});
    }
    return out;
  }

 private:
  // Each batch's spans are written and dropped, so a long-running server's
  // memory stays flat.
  void end_traces() {
    try {
      if (trace_enabled_) tracer_.flush(ws_.db());
    } catch (const Error&) {
    }
    tracer_.clear();
  }

  static std::string join_names(const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
    return s;
  }

  workspace::Workspace& ws_;
  trace::Tracer tracer_;
  bool trace_enabled_ = true;
  std::string prompt_name_;
  int prompt_version_ = 0;
  std::string provider_;
  prompt::Spec spec_;
  std::unique_ptr<llm::Client> client_;
  std::mutex mutex_;
  ModelInfo info_;
};

}  // namespace

std::unique_ptr<Model> load_llm_model(const LoadContext& ctx) {
  return std::make_unique<LlmModel>(ctx);
}

}  // namespace mlops::model
