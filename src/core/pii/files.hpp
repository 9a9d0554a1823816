#pragma once
// Inputs for pii scan: PATH arguments expanded into files (directory trees
// honouring .gitignore files and exclude globs), binary detection, and scanning
// many files on several threads.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "pii/scanner.hpp"

namespace mlops::pii {

namespace fs = std::filesystem;

// Glob as in .gitignore: * and ? stay within a path segment, ** crosses them,
// [abc] and [a-z] classes.
bool glob_match(std::string_view pattern, std::string_view path);

struct WalkOptions {
  std::vector<std::string> exclude;  // globs against the path relative to the argument, or its name
  bool gitignore = true;
};

struct Walk {
  std::vector<std::string> files;     // in a stable order: arguments in order, each tree sorted
  std::vector<std::string> warnings;  // unreadable directories, symlink loops, …
};

// Directories are walked without following symlinked directories; a missing
// argument throws NotFoundError.
Walk collect_files(const std::vector<std::string>& paths, const WalkOptions& options);

struct FileResult {
  std::string path;
  std::vector<Finding> findings;
  std::uint64_t bytes = 0;
  bool binary = false;  // skipped: a NUL byte in the first 8000 bytes
  std::string error;    // could not be read (the scan of other files goes on)
};

// "-" is standard input. Binary inputs are skipped unless `binary`.
FileResult scan_path(const Scanner& scanner, const std::string& path, bool binary);

// Scans files on `threads` threads; results in the order of `paths`.
std::vector<FileResult> scan_paths(const Scanner& scanner, const std::vector<std::string>& paths, bool binary,
                                   unsigned threads);

}  // namespace mlops::pii
