#pragma once
// Configuration with the precedence in PRODUCT.md:
//   flags > environment > workspace mlops.yaml > user config.yaml > defaults.
// Keys are dotted paths into the YAML files ("trace.enabled"). Each key also reads
// MLOPS_<KEY> from the environment (dots and dashes become underscores), and some
// known keys read a conventional variable too (MLFLOW_TRACKING_URI, …).
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace mlops::config {

namespace fs = std::filesystem;

enum class Source { flag, env, workspace, user, default_value };
const char* source_name(Source s);

struct KeyInfo {
  std::string key;
  std::string description;
  std::string default_value;             // empty = no default
  std::vector<std::string> env_aliases;  // read after MLOPS_<KEY>, in order
};
// Keys the product knows about; later modules extend this table.
const std::vector<KeyInfo>& known_keys();
const KeyInfo* find_key(const std::string& key);
// A key from the table, or a per-provider setting providers.NAME.* that llm reads.
bool is_known_key(const std::string& key);

struct Value {
  std::string key;
  std::string value;
  Source source;
  std::string origin;  // "mlops.yaml:4", "env MLOPS_OUTPUT", "flag --no-color", "default"
};

// Reads environment variables; injectable for tests.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_env();

// Name of the environment variable that maps to `key` (MLOPS_TRACE_ENABLED).
std::string env_name(const std::string& key);
// Throws UsageError for keys that are not dotted lowercase identifiers.
void check_key(const std::string& key);
// True for keys whose value would be a secret (api_key, token, password, …).
bool is_secret_key(const std::string& key);

// The user-level config file: $XDG_CONFIG_HOME/mlopsctl/config.yaml or ~/.config/….
fs::path user_config_path(const EnvLookup& env);

class Config {
 public:
  // Loads both files (either may be absent). Malformed YAML throws ConfigError
  // naming the file, line and column.
  Config(std::optional<fs::path> workspace_file, std::optional<fs::path> user_file, EnvLookup env = process_env());

  void set_flag(const std::string& key, const std::string& value, const std::string& flag_name);
  std::optional<Value> get(const std::string& key) const;
  std::string get_or(const std::string& key, const std::string& fallback) const;
  // Accepts true/false/yes/no/on/off/1/0; throws ConfigError naming the origin otherwise.
  bool get_bool(const std::string& key, bool fallback) const;
  // Every key set in any layer plus every known key with a default, sorted.
  std::vector<Value> list() const;

 private:
  struct Layer {
    std::map<std::string, std::pair<std::string, int>> values;  // key -> (value, line)
    std::string file;
  };
  static Layer load(const fs::path& path);
  std::map<std::string, std::pair<std::string, std::string>> flags_;  // key -> (value, flag)
  Layer workspace_;
  Layer user_;
  EnvLookup env_;
};

// Edits one YAML config file in place, keeping comments and layout: the line that
// holds the key is rewritten, or the key is inserted under its section. The write
// is atomic and serialised by `lock_file`, so concurrent writers lose nothing.
void set_in_file(const fs::path& file, const fs::path& lock_file, const std::string& key, const std::string& value);
// Returns false when the key was not set in the file.
bool unset_in_file(const fs::path& file, const fs::path& lock_file, const std::string& key);

// Pure text transformations behind the two functions above (unit-tested).
std::string yaml_set(const std::string& text, const std::string& key, const std::string& value);
std::optional<std::string> yaml_unset(const std::string& text, const std::string& key);

}  // namespace mlops::config
