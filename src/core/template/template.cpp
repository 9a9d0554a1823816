#include "template/template.hpp"

#include <nlohmann/json.hpp>

#include "template/parser.hpp"
#include "template/render.hpp"

namespace mlops::tmpl {

TemplateError::TemplateError(int line, int column, const std::string& message, const std::string& hint)
    : Error(ExitCode::usage, "line " + std::to_string(line) + ", column " + std::to_string(column) + ": " + message,
            hint),
      line_(line),
      column_(column),
      reason_(message) {}

struct Template::Impl {
  detail::Body body;
};

Template::Template() = default;

Template::Template(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

Template Template::parse(std::string_view source) {
  auto impl = std::make_shared<Impl>();
  impl->body = detail::parse(source);
  return Template(std::move(impl));
}

std::string Template::render(const nlohmann::json& vars, const Options& options) const {
  if (!vars.is_object() && !vars.is_null())
    throw UsageError(std::string("template variables must be a JSON object, not ") + detail::type_name(vars));
  if (!impl_) return {};
  detail::Renderer renderer(vars, options);
  renderer.render(impl_->body);
  return renderer.take();
}

std::set<std::string> Template::variables() const {
  if (!impl_) return {};
  return detail::free_variables(impl_->body);
}

std::string render(std::string_view source, const nlohmann::json& vars) {
  return Template::parse(source).render(vars);
}

}  // namespace mlops::tmpl
