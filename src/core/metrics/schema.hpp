#pragma once
// A JSON Schema validator for the `is-json`, `contains-json` and `json-schema`
// assertions: the core keywords of draft-07 and 2020-12 that schemas use in
// practice. Compile once, validate many times (patterns are compiled once).
//
// Keywords: type, enum, const; properties, patternProperties,
// additionalProperties, required, propertyNames, minProperties, maxProperties,
// dependentRequired; items (a schema, or draft-07's array form with
// additionalItems), prefixItems, contains, minItems, maxItems, uniqueItems;
// minLength, maxLength (in code points), pattern (ECMAScript syntax via
// std::regex, matched anywhere in the string, on UTF-8 bytes); minimum,
// maximum, exclusiveMinimum, exclusiveMaximum (numbers, or draft-04 booleans),
// multipleOf; allOf, anyOf, oneOf, not, if/then/else; $ref to a JSON pointer
// in the same document ("#", "#/definitions/x", "#/$defs/x"), with recursion;
// format (loosely): email, date-time, date, time, uri, uuid, ipv4. Unknown
// keywords and formats are ignored, as the specification says. Like 2019-09
// and later, $ref applies together with its sibling keywords (draft-07 ignored
// the siblings). Boolean schemas (true, false) are accepted anywhere.
//
// Errors follow python-jsonschema's iter_errors: one error per failing
// keyword, except that `required` and `dependentRequired` report each missing
// property, and allOf, $ref, if/then/else, properties, items and the like
// report the errors found inside them rather than one of their own.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mlops::metrics {

struct SchemaError {
  std::string instance_path;  // JSON pointer into the instance; "" is the root
  std::string keyword;        // "type", "required", ... ; "false" for a false schema
  std::string message;
};

class JsonSchema {
 public:
  // Throws ConfigError naming `origin` and the schema location at fault
  // (e.g. "schema.json at /properties/age/minimum: must be a number") for a
  // schema that is not an object or boolean, a malformed keyword value, an
  // invalid pattern, or a $ref that is not a local JSON pointer or resolves to
  // nothing.
  explicit JsonSchema(const nlohmann::json& schema, const std::string& origin = "JSON schema");
  ~JsonSchema();
  JsonSchema(JsonSchema&&) noexcept;
  JsonSchema& operator=(JsonSchema&&) noexcept;

  // Every error, in schema order; empty when the instance is valid.
  std::vector<SchemaError> validate(const nlohmann::json& instance) const;
  // Stops at the first error.
  bool is_valid(const nlohmann::json& instance) const;

 private:
  struct Compiled;
  std::unique_ptr<Compiled> impl_;
};

}  // namespace mlops::metrics
