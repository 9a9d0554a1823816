#include "model/model.hpp"

#include "model/features.hpp"

#include "util/text.hpp"

namespace mlops::model {

std::vector<std::string> Loaders::kinds() const {
  std::vector<std::string> out;
  for (const auto& [k, _] : factories_) out.push_back(k);
  return out;
}

std::unique_ptr<Model> Loaders::load(const LoadContext& ctx) const {
  auto it = factories_.find(ctx.version.kind);
  if (it == factories_.end())
    throw RuntimeError("cannot load " + ctx.version.name + " version " + std::to_string(ctx.version.version) +
                           ": no loader for models of kind '" + ctx.version.kind + "' (this build has: " +
                           util::join(kinds(), ", ") + ")",
                       "");
  return it->second(ctx);
}

Loaders& loaders() {
  static Loaders instance = [] {
    Loaders l;
    l.add("llm", load_llm_model);
    l.add("torch", load_torch_model);
    l.add("torchscript", load_torch_model);
    return l;
  }();
  return instance;
}

std::unique_ptr<Model> load(workspace::Workspace& ws, trace::Tracer& tracer, const std::string& ref) {
  registry::Registry reg(ws.db(), ws.objects());
  auto v = reg.resolve(ref);
  if (v.status == registry::k_archived)
    throw UsageError(v.name + " version " + std::to_string(v.version) + " is archived", "serve another version");
  std::filesystem::path artifact;
  if (v.artifact_sha256) {
    if (!ws.objects().contains(*v.artifact_sha256))
      throw RuntimeError("the artifact " + *v.artifact_sha256 + " of " + v.name + " version " +
                             std::to_string(v.version) + " is missing from the object store",
                         "run 'mlopsctl doctor' to check the workspace");
    artifact = ws.objects().path_of(*v.artifact_sha256);
  }
  auto m = loaders().load(LoadContext{ws, tracer, v, artifact});
  if (v.spec.is_object() && v.spec.contains("features"))
    m = with_features(std::move(m), FeatureSpec::from_json(v.spec["features"]), ws.paths().root);
  return m;
}

}  // namespace mlops::model
