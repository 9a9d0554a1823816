#pragma once
// A ProcessOwner as the JSON object eval runs and A/B runs store beside a run:
// {"pid": 123, "host": "…", "start": "…"}. Header-only, so the util library
// itself does not depend on nlohmann/json.
#include <nlohmann/json.hpp>

#include "util/owner.hpp"

namespace mlops::util {

inline void to_json(nlohmann::json& j, const ProcessOwner& o) {
  j = {{"pid", o.pid}, {"host", o.host}, {"start", o.start}};
}

// Missing keys (records from before "start" was kept) read as empty.
inline void from_json(const nlohmann::json& j, ProcessOwner& o) {
  if (!j.is_object()) {
    o = {};
    return;
  }
  o.pid = j.value("pid", std::int64_t{0});
  o.host = j.value("host", std::string());
  o.start = j.value("start", std::string());
}

}  // namespace mlops::util
