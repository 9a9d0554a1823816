// mlops-prompt-next: writes the next version of a prompt file, then runs a
// command. It lets mlops-startup-bench time a commit that really commits: every
// run bumps a counter and writes new content before the command starts.
//
//   mlops-prompt-next COUNTER FILE [PROG [ARGS...]]
//
// Reads the number in COUNTER (0 when missing), adds one, stores it back, writes
// FILE with that version of the prompt named by FILE's stem (the content
// mlops-prompt-seed writes; see prompt_content.hpp), and then execs PROG ARGS.
// Without PROG it exits 0 after writing, which times the helper's own cost so
// it can be subtracted. A few system calls and one exec: about as cheap as a
// fork + exec of a small program can be.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "prompt_content.hpp"

namespace {

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "mlops-prompt-next: %s\n", msg.c_str());
  std::exit(2);
}

// Rewrites `path` in place: no O_TRUNC, then ftruncate to the new length. ext4
// flushes a file that was truncated to zero when it is closed (auto_da_alloc),
// which would put a disk write into every timed run.
void write_file(const char* path, const std::string& text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) die(std::string("cannot write ") + path + ": " + std::strerror(errno));
  bool ok = pwrite(fd, text.data(), text.size(), 0) == static_cast<ssize_t>(text.size()) &&
            ftruncate(fd, static_cast<off_t>(text.size())) == 0;
  if (close(fd) != 0 || !ok) die(std::string("cannot write ") + path + ": " + std::strerror(errno));
}

std::string stem(const std::string& path) {
  auto slash = path.find_last_of('/');
  std::string base = slash == std::string::npos ? path : path.substr(slash + 1);
  return base.substr(0, base.find('.'));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || std::strcmp(argv[1], "-h") == 0 || std::strcmp(argv[1], "--help") == 0) {
    std::fputs("usage: mlops-prompt-next COUNTER FILE [PROG [ARGS...]]\n", argc < 3 ? stderr : stdout);
    return argc < 3 ? 2 : 0;
  }
  long n = 0;
  if (std::FILE* f = std::fopen(argv[1], "r")) {
    if (std::fscanf(f, "%ld", &n) != 1) n = 0;
    std::fclose(f);
  }
  ++n;
  write_file(argv[1], std::to_string(n) + "\n");
  std::string name = stem(argv[2]);
  if (name.empty()) die(std::string("cannot take a prompt name from ") + argv[2]);
  write_file(argv[2], mlops::bench::prompt_yaml(name, static_cast<int>(n)));
  if (argc == 3) return 0;
  execvp(argv[3], argv + 3);
  die(std::string("cannot run ") + argv[3] + ": " + std::strerror(errno));
}
