#include "util/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "util/error.hpp"

namespace mlops::util {

std::filesystem::path self_dir() {
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::filesystem::current_path() : exe.parent_path();
}

namespace {

ProcessResult run(const std::vector<std::string>& argv, const std::string& input,
                  std::optional<std::chrono::milliseconds> timeout, const LineHandler* on_line) {
  if (argv.empty()) throw UsageError("no command to run");
  int in_pipe[2], out_pipe[2], err_pipe[2], exec_pipe[2];
  if (::pipe2(in_pipe, O_CLOEXEC) || ::pipe2(out_pipe, O_CLOEXEC) || ::pipe2(err_pipe, O_CLOEXEC) ||
      ::pipe2(exec_pipe, O_CLOEXEC))
    throw RuntimeError(std::string("cannot create pipes: ") + std::strerror(errno));
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) throw RuntimeError(std::string("cannot fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    ::execv(args[0], args.data());
    int e = errno;
    ssize_t ignored = ::write(exec_pipe[1], &e, sizeof e);
    (void)ignored;
    ::_exit(127);
  }
  ::close(in_pipe[0]);
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  ::close(exec_pipe[1]);
  int exec_errno = 0;
  if (::read(exec_pipe[0], &exec_errno, sizeof exec_errno) == sizeof exec_errno) {
    ::close(exec_pipe[0]);
    ::close(in_pipe[1]);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    ::waitpid(pid, nullptr, 0);
    throw RuntimeError("cannot run " + argv[0] + ": " + std::strerror(exec_errno));
  }
  ::close(exec_pipe[0]);

  ProcessResult r;
  std::size_t written = 0;
  ::signal(SIGPIPE, SIG_IGN);
  if (input.empty()) {
    ::close(in_pipe[1]);
    in_pipe[1] = -1;
  } else {
    ::fcntl(in_pipe[1], F_SETFL, O_NONBLOCK);
  }
  auto deadline = timeout ? std::chrono::steady_clock::now() + *timeout : std::chrono::steady_clock::time_point::max();
  int open_outputs = 2;
  char buf[65536];
  while (open_outputs > 0 || in_pipe[1] >= 0) {
    pollfd fds[3];
    int n = 0;
    int out_i = -1, err_i = -1, in_i = -1;
    if (out_pipe[0] >= 0) fds[out_i = n++] = {out_pipe[0], POLLIN, 0};
    if (err_pipe[0] >= 0) fds[err_i = n++] = {err_pipe[0], POLLIN, 0};
    if (in_pipe[1] >= 0) fds[in_i = n++] = {in_pipe[1], POLLOUT, 0};
    int wait_ms = -1;
    if (timeout) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        r.timed_out = true;
        ::kill(pid, SIGKILL);
        break;
      }
      wait_ms = static_cast<int>(left.count());
    }
    int rc = ::poll(fds, static_cast<nfds_t>(n), wait_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) break;
    auto drain = [&](int idx, int& fd, std::string& sink) {
      if (idx < 0 || !(fds[idx].revents & (POLLIN | POLLHUP | POLLERR))) return;
      ssize_t got = ::read(fd, buf, sizeof buf);
      if (got > 0) {
        sink.append(buf, static_cast<std::size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        ::close(fd);
        fd = -1;
        --open_outputs;
      }
    };
    drain(out_i, out_pipe[0], r.out);
    if (on_line) {
      try {
        std::size_t start = 0;
        for (std::size_t nl; (nl = r.out.find('\n', start)) != std::string::npos; start = nl + 1)
          (*on_line)(std::string_view(r.out).substr(start, nl - start));
        r.out.erase(0, start);
        if (out_pipe[0] < 0 && !r.out.empty()) {
          (*on_line)(r.out);
          r.out.clear();
        }
      } catch (...) {
        ::kill(pid, SIGKILL);
        for (int fd : {in_pipe[1], out_pipe[0], err_pipe[0]})
          if (fd >= 0) ::close(fd);
        ::waitpid(pid, nullptr, 0);
        throw;
      }
    }
    drain(err_i, err_pipe[0], r.err);
    if (in_i >= 0 && (fds[in_i].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t w = ::write(in_pipe[1], input.data() + written, input.size() - written);
      if (w > 0) written += static_cast<std::size_t>(w);
      if (w < 0 && errno != EAGAIN && errno != EINTR) written = input.size();
      if (written >= input.size()) {
        ::close(in_pipe[1]);
        in_pipe[1] = -1;
      }
    }
  }
  for (int fd : {in_pipe[1], out_pipe[0], err_pipe[0]})
    if (fd >= 0) ::close(fd);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!r.timed_out && WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  return r;
}

}  // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input,
                          std::optional<std::chrono::milliseconds> timeout) {
  return run(argv, input, timeout, nullptr);
}

ProcessResult run_process_lines(const std::vector<std::string>& argv, const std::string& input,
                                const LineHandler& on_line) {
  return run(argv, input, std::nullopt, &on_line);
}

}  // namespace mlops::util
