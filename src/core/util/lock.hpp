#pragma once
// An advisory inter-process lock on a file (flock). The kernel drops it when the
// holder dies, so a kill -9 never leaves a stale lock behind.
#include <chrono>
#include <filesystem>
#include <memory>

namespace mlops::util {

class FileLock {
 public:
  // Blocks until the exclusive lock is held or `timeout` passes (then RuntimeError).
  explicit FileLock(const std::filesystem::path& path, std::chrono::milliseconds timeout = std::chrono::seconds(60));
  ~FileLock();
  // The lock if nobody holds it, else nullptr (a cron job that should skip a round).
  static std::unique_ptr<FileLock> try_lock(const std::filesystem::path& path);
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  FileLock() = default;
  int fd_ = -1;
};

}  // namespace mlops::util
