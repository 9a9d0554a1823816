// The LLM model kind: a pinned prompt version rendered with each instance's
// fields, sent to the registered provider through the llm module (cache, cost
// ledger, budgets and traces included).
#include <condition_variable>
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
    free_.push_back(add_slot(ws_));  // fails here, at load, when the provider settings are wrong
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
      Lease lease(*this);
      auto& client = *lease.slot->client;
      results = jobs.size() == 1 ? std::vector<llm::CallResult>{client.call(jobs[0])} : client.call_many(jobs);
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
  // A client is not thread-safe (one database connection, flush buffers), so
  // concurrent requests each lease one; up to k_max_slots are made on demand,
  // each beyond the first on its own workspace handles.
  static constexpr std::size_t k_max_slots = 8;
  struct Slot {
    std::unique_ptr<workspace::Workspace> own_ws;
    workspace::Workspace* ws = nullptr;
    trace::Tracer tracer;
    std::unique_ptr<llm::Client> client;
  };

  Slot* add_slot(workspace::Workspace& ws, std::unique_ptr<workspace::Workspace> owned = nullptr) {
    auto slot = std::make_unique<Slot>();
    slot->own_ws = std::move(owned);
    slot->ws = &ws;
    auto options = llm::client_options(ws.config());
    options.flush_batch = 1;  // a long-running server keeps every call's ledger row durable at once
    slot->client = std::make_unique<llm::Client>(
        ws.db(), ws.config(), ws.env(), slot->tracer, std::nullopt,
        std::vector<std::filesystem::path>{ws.paths().overrides(),
                                           config::user_config_path(ws.env()).parent_path() / "templates"},
        options);
    slots_.push_back(std::move(slot));
    return slots_.back().get();
  }

  struct Lease {
    explicit Lease(LlmModel& m) : model(m) {
      std::unique_lock lock(m.mutex_);
      m.cv_.wait(lock, [&] { return !m.free_.empty() || m.slots_.size() < k_max_slots; });
      if (!m.free_.empty()) {
        slot = m.free_.back();
        m.free_.pop_back();
      } else {
        auto ws = std::make_unique<workspace::Workspace>(m.ws_.paths().root, m.ws_.env());
        auto& ref = *ws;
        slot = m.add_slot(ref, std::move(ws));
      }
    }
    ~Lease() {
      // Each batch's spans are written and dropped, so a long-running server's
      // memory stays flat.
      try {
        if (model.trace_enabled_) slot->tracer.flush(slot->ws->db());
      } catch (const Error&) {
      }
      slot->tracer.clear();
      std::lock_guard lock(model.mutex_);
      model.free_.push_back(slot);
      model.cv_.notify_one();
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    LlmModel& model;
    Slot* slot = nullptr;
  };

  static std::string join_names(const std::vector<std::string>& names) {
    std::string s;
    for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
    return s;
  }

  workspace::Workspace& ws_;
  bool trace_enabled_ = true;
  std::string prompt_name_;
  int prompt_version_ = 0;
  std::string provider_;
  prompt::Spec spec_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::vector<Slot*> free_;
  ModelInfo info_;
};

}  // namespace

std::unique_ptr<Model> load_llm_model(const LoadContext& ctx) {
  return std::make_unique<LlmModel>(ctx);
}

}  // namespace mlops::model
