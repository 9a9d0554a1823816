#pragma once
// Inputs for pii scan: PATH arguments expanded into files (directory trees
// honouring .gitignore files and exclude globs), binary detection, and scanning
// many files on several threads.
#include <cstdint>
#include <filesystem>
#include <functional>
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

// Directories are walked without following symlinked directories, and without
// .git/ and .mlops/ (state, not content); a missing argument throws NotFoundError.
Walk collect_files(const std::vector<std::string>& paths, const WalkOptions& options);

struct FileStatus {
  std::string path;
  std::uint64_t bytes = 0;
  bool binary = false;  // skipped: a NUL byte in the first 8000 bytes
  std::string error;    // could not be read (the scan of other files goes on)
};

// "-" is standard input. Binary inputs are skipped unless `binary`. Findings go
// to `sink` as they are found, so memory does not grow with the input.
FileStatus scan_path(const Scanner& scanner, const std::string& path, bool binary, const Scanner::Sink& sink);

struct FileResult : FileStatus {
  std::vector<Finding> findings;
};
FileResult scan_path(const Scanner& scanner, const std::string& path, bool binary);

// Scans `paths` on `threads` threads. Both callbacks run on the worker threads
// (the caller synchronizes): every finding of file i, then done(i) once.
using FileFindingSink = std::function<void(std::size_t file, Finding&& finding)>;
using FileDone = std::function<void(std::size_t file, FileStatus&& status)>;
void scan_paths(const Scanner& scanner, const std::vector<std::string>& paths, bool binary, unsigned threads,
                const FileFindingSink& sink, const FileDone& done);

}  // namespace mlops::pii
