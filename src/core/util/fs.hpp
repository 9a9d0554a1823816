#pragma once
// File helpers with crash-safe semantics: a write either lands whole or not at all.
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace mlops::util {

namespace fs = std::filesystem;

// Reads a whole file. Throws NotFoundError when absent, RuntimeError on I/O errors.
std::string read_file(const fs::path& path);
std::optional<std::string> read_file_if_exists(const fs::path& path);

// Writes to a temporary file in the same directory, fsyncs it, renames it over
// `path` and fsyncs the directory, so a crash leaves either the old or the new file.
void atomic_write(const fs::path& path, std::string_view content, unsigned mode = 0644);

// fsync of a directory so a rename inside it is durable.
void fsync_dir(const fs::path& dir);

// Total size in bytes of regular files below `path` (0 when missing).
std::uintmax_t tree_size(const fs::path& path);

// Random lowercase hex of `bytes` random bytes (from the OS entropy source).
std::string random_hex(std::size_t bytes);

}  // namespace mlops::util
