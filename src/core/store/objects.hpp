#pragma once
// Content-addressed object store: every artifact is stored once under its SHA-256
// at objects/ab/cdef…, written through a temp file, fsync and rename, and indexed
// in the `objects` table. A crash leaves at most a stray temp file (doctor removes
// it) or an unindexed object (doctor indexes it).
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "store/db.hpp"

namespace mlops::store {

struct ObjectInfo {
  std::string sha256;
  std::uint64_t size = 0;
};

struct ObjectProblem {
  enum class Kind { corrupt, missing_file, unindexed, stray_temp };
  Kind kind;
  std::string sha256;  // empty for stray temp files
  fs::path path;
  std::string detail;
};

class ObjectStore {
 public:
  ObjectStore(fs::path dir, Db& db);

  ObjectInfo put(std::string_view content);
  // Streams a file into the store without holding it in memory.
  ObjectInfo put_file(const fs::path& source);
  std::string get(const std::string& sha256) const;
  // The content, or nullopt when the object is not in the store (one open, no stat).
  std::optional<std::string> get_if_present(const std::string& sha256) const;
  bool contains(const std::string& sha256) const;
  fs::path path_of(const std::string& sha256) const;

  std::uint64_t count();
  // Rehashes every object and compares files with the index.
  std::vector<ObjectProblem> verify();
  // Repairs what is safe: deletes stray temp files, indexes unindexed objects,
  // moves corrupt objects to objects/quarantine/ and drops their index rows.
  // Returns the problems it fixed.
  std::vector<ObjectProblem> repair();

 private:
  // Creates a read-only temp file under objects/tmp, lets `fill` write it, fsyncs
  // and closes it; removes it if anything throws. Returns its path.
  fs::path write_temp(const std::function<void(int fd, const fs::path& tmp)>& fill);
  ObjectInfo commit_temp(const fs::path& tmp, const std::string& sha, std::uint64_t size);
  void index(const std::string& sha, std::uint64_t size);
  fs::path dir_;
  Db& db_;
};

}  // namespace mlops::store
