#pragma once
// Starts tests/fake_llm/fake_llm.py (the fake OpenAI/Anthropic/Ollama server, see
// its README) on 127.0.0.1 for the lifetime of the object. The server exits when
// its stdin closes, so a crashed test never leaves it behind.
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <string>

namespace mlops::testing {

class FakeLlmServer {
 public:
  explicit FakeLlmServer(const std::string& source_dir) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      dup2(in[0], 0);
      dup2(out[1], 1);
      close(in[0]);
      close(in[1]);
      close(out[0]);
      close(out[1]);
      std::string script = source_dir + "/tests/fake_llm/fake_llm.py";
      execlp("python3", "python3", script.c_str(), "--exit-on-stdin-eof", "--idle-timeout", "0",
             static_cast<char*>(nullptr));
      _exit(127);
    }
    close(in[0]);
    close(out[1]);
    stdin_ = in[1];
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (line.find('\n') == std::string::npos) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{out[0], POLLIN, 0};
      if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
      char buf[256];
      ssize_t n = read(out[0], buf, sizeof buf);
      if (n <= 0) break;
      line.append(buf, static_cast<std::size_t>(n));
    }
    close(out[0]);
    if (line.rfind("READY ", 0) != 0) {
      stop();
      throw std::runtime_error("fake LLM server did not start (is python3 installed?): " + line);
    }
    url_ = line.substr(6, line.find('\n') - 6);
  }
  ~FakeLlmServer() { stop(); }
  FakeLlmServer(const FakeLlmServer&) = delete;
  FakeLlmServer& operator=(const FakeLlmServer&) = delete;

  // http://127.0.0.1:PORT
  const std::string& url() const { return url_; }

 private:
  void stop() {
    if (stdin_ >= 0) close(stdin_);
    stdin_ = -1;
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      // It exits within a second; a server that hangs must not hang the suite.
      int st = 0;
      for (int i = 0; i < 1000 && waitpid(pid_, &st, WNOHANG) == 0; ++i) usleep(10000);
      if (waitpid(pid_, &st, WNOHANG) == 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &st, 0);
      }
      pid_ = -1;
    }
  }
  pid_t pid_ = -1;
  int stdin_ = -1;
  std::string url_;
};

}  // namespace mlops::testing
