// mlops-instant-llm: an OpenAI-compatible server that answers at once, for
// bench/run-llm-overhead. It must never be the bottleneck, so it does no work
// per request beyond HTTP framing: one thread, epoll, keep-alive, pipelining,
// and every POST to .../chat/completions gets the same chat.completion body
// (with usage) prepared at start-up. Anything else gets a 404.
//
//   mlops-instant-llm [--port P] [--exit-on-stdin-eof] [--echo-ref]
//
// With --echo-ref (bench/run-eval), the answer depends on the request: the first
// "Q-" followed by digits in the request body comes back in a JSON answer,
// {"ref": "Q-000042", "answer": "Paris"}, so each eval test can check that it
// got its own answer. Requests without such a reference get the fixed body.
//
// Listens on 127.0.0.1 only (port 0, the default, picks a free one) and prints
// "READY http://127.0.0.1:PORT" on stdout, like tests/fake_llm/fake_llm.py.
// On SIGTERM, SIGINT or (with the flag) end of stdin it prints to stderr how
// many requests it answered and its own CPU time per request.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

// What api.openai.com returns for a short answer, field for field.
constexpr std::string_view k_body =
    R"({"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion","created":1741569952,)"
    R"("model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant",)"
    R"("content":"The capital of France is Paris.","refusal":null,"annotations":[]},"logprobs":null,)"
    R"("finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":8,"total_tokens":27,)"
    R"("prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":)"
    R"({"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},)"
    R"("service_tier":"default","system_fingerprint":"fp_06737a9306"})";
// The same body with the answer split around the echoed reference (--echo-ref).
constexpr std::string_view k_echo_head =
    R"({"id":"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT","object":"chat.completion","created":1741569952,)"
    R"("model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant",)"
    R"("content":"{\"ref\": \")";
constexpr std::string_view k_echo_tail =
    R"(\", \"answer\": \"Paris\"}","refusal":null,"annotations":[]},"logprobs":null,)"
    R"("finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":15,"total_tokens":34,)"
    R"("prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},"completion_tokens_details":)"
    R"({"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}},)"
    R"("service_tier":"default","system_fingerprint":"fp_06737a9306"})";
constexpr std::string_view k_not_found =
    R"({"error":{"message":"not found","type":"invalid_request_error","param":null,"code":null}})";

std::string response(int status, std::string_view body, bool close) {
  std::string r = status == 200 ? "HTTP/1.1 200 OK\r\n" : "HTTP/1.1 404 Not Found\r\n";
  r += "Content-Type: application/json\r\nx-request-id: req_instant\r\nContent-Length: ";
  r += std::to_string(body.size());
  r += close ? "\r\nConnection: close\r\n\r\n" : "\r\n\r\n";
  r += body;
  return r;
}

bool iequals_prefix(std::string_view line, std::string_view name) {
  if (line.size() < name.size()) return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(line[i])) != name[i]) return false;
  return true;
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t' || v.back() == '\r')) v.remove_suffix(1);
  return v;
}

struct Conn {
  std::string in, out;
  bool close_after = false;
  bool continue_sent = false;
};

// The first "Q-" followed by 1 to 12 digits in body, or empty.
std::string_view find_ref(std::string_view body) {
  for (std::size_t at = body.find("Q-"); at != std::string_view::npos; at = body.find("Q-", at + 2)) {
    std::size_t end = at + 2;
    while (end < body.size() && end - at < 14 && std::isdigit(static_cast<unsigned char>(body[end]))) ++end;
    if (end > at + 2) return body.substr(at, end - at);
  }
  return {};
}

class Server {
 public:
  Server(int listen_fd, int epoll_fd, bool echo_ref)
      : listen_fd_(listen_fd),
        echo_ref_(echo_ref),
        ep_(epoll_fd),
        ok_(response(200, k_body, false)),
        ok_close_(response(200, k_body, true)),
        missing_(response(404, k_not_found, false)),
        missing_close_(response(404, k_not_found, true)) {}

  long long served() const { return served_; }

  void accept_all() {
    for (;;) {
      int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.fd = fd;
      epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
      conns_[fd] = std::make_unique<Conn>();
    }
  }

  void on_event(int fd, std::uint32_t events) {
    auto it = conns_.find(fd);
    if (it == conns_.end()) return;
    Conn& c = *it->second;
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
      char buf[65536];
      for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) {
          c.in.append(buf, static_cast<std::size_t>(n));
          continue;
        }
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
          drop(fd);
          return;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      }
      if (!parse(c)) {
        drop(fd);
        return;
      }
    }
    flush(fd, c);
  }

 private:
  // Answers every complete request in c.in; false on a request it cannot frame.
  bool parse(Conn& c) {
    std::size_t pos = 0;
    while (!c.close_after) {
      std::size_t end = c.in.find("\r\n\r\n", pos);
      if (end == std::string::npos) break;
      std::string_view head(c.in.data() + pos, end - pos);
      std::size_t eol = head.find("\r\n");
      std::string_view request_line = head.substr(0, eol);
      std::size_t length = 0;
      bool close = request_line.ends_with("HTTP/1.0");
      bool expect = false;
      while (eol != std::string_view::npos) {
        std::size_t next = head.find("\r\n", eol + 2);
        std::string_view line = head.substr(eol + 2, next == std::string_view::npos ? std::string_view::npos : next - eol - 2);
        eol = next;
        if (iequals_prefix(line, "content-length:")) {
          length = std::strtoull(std::string(trim(line.substr(15))).c_str(), nullptr, 10);
        } else if (iequals_prefix(line, "transfer-encoding:")) {
          return false;  // chunked uploads: no client the benchmark drives sends them
        } else if (iequals_prefix(line, "connection:")) {
          std::string_view v = trim(line.substr(11));
          if (iequals_prefix(v, "close")) close = true;
          if (iequals_prefix(v, "keep-alive")) close = false;
        } else if (iequals_prefix(line, "expect:")) {
          expect = true;
        }
      }
      std::size_t body_start = end + 4;
      if (c.in.size() - body_start < length) {
        if (expect && !c.continue_sent) {
          c.out += "HTTP/1.1 100 Continue\r\n\r\n";
          c.continue_sent = true;
        }
        break;
      }
      c.continue_sent = false;
      bool chat = request_line.starts_with("POST ") &&
                  request_line.find("/chat/completions ") != std::string_view::npos;
      std::string_view ref = chat && echo_ref_ ? find_ref(std::string_view(c.in).substr(body_start, length))
                                               : std::string_view();
      if (!ref.empty()) {
        std::string body;
        body.reserve(k_echo_head.size() + ref.size() + k_echo_tail.size());
        body.append(k_echo_head).append(ref).append(k_echo_tail);
        c.out += response(200, body, close);
      } else {
        c.out += chat ? (close ? ok_close_ : ok_) : (close ? missing_close_ : missing_);
      }
      c.close_after = close;
      ++served_;
      pos = body_start + length;
    }
    c.in.erase(0, pos);
    return true;
  }

  void flush(int fd, Conn& c) {
    while (!c.out.empty()) {
      ssize_t n = write(fd, c.out.data(), c.out.size());
      if (n > 0) {
        c.out.erase(0, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n < 0 && errno == EINTR) continue;
      drop(fd);
      return;
    }
    if (c.out.empty() && c.close_after) {
      drop(fd);
      return;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | (c.out.empty() ? 0u : static_cast<std::uint32_t>(EPOLLOUT));
    ev.data.fd = fd;
    epoll_ctl(ep_, EPOLL_CTL_MOD, fd, &ev);
  }

  void drop(int fd) {
    epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    conns_.erase(fd);
  }

  int listen_fd_;
  bool echo_ref_;
  int ep_;
  std::string ok_, ok_close_, missing_, missing_close_;
  std::unordered_map<int, std::unique_ptr<Conn>> conns_;
  long long served_ = 0;
};

[[noreturn]] void usage(int code) {
  std::fputs("usage: mlops-instant-llm [--port P] [--exit-on-stdin-eof] [--echo-ref]\n", code ? stderr : stdout);
  std::exit(code);
}

}  // namespace

int main(int argc, char** argv) {
  int port = 0;
  bool stdin_eof = false, echo_ref = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--port" && i + 1 < argc) {
      port = std::atoi(argv[++i]);
    } else if (a == "--exit-on-stdin-eof") {
      stdin_eof = true;
    } else if (a == "--echo-ref") {
      echo_ref = true;
    } else if (a == "-h" || a == "--help") {
      usage(0);
    } else {
      usage(2);
    }
  }
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  socklen_t len = sizeof addr;
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(lfd, 1024) != 0 ||
      getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::fprintf(stderr, "mlops-instant-llm: cannot listen on 127.0.0.1:%d: %s\n", port, std::strerror(errno));
    return 1;
  }
  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  if (stdin_eof) {
    ev.data.fd = 0;
    epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
  }
  std::printf("READY http://127.0.0.1:%d\n", ntohs(addr.sin_port));
  std::fflush(stdout);

  Server server(lfd, ep, echo_ref);
  epoll_event events[256];
  while (!g_stop) {
    int n = epoll_wait(ep, events, 256, -1);
    if (n < 0 && errno == EINTR) continue;
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        server.accept_all();
      } else if (fd == 0) {
        char buf[256];
        if (read(0, buf, sizeof buf) <= 0) g_stop = 1;
      } else {
        server.on_event(fd, events[i].events);
      }
    }
  }
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  double cpu_us = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
                  static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  long long served = server.served();
  std::fprintf(stderr, "mlops-instant-llm: answered %lld requests, %.1f us CPU per request\n", served,
               served ? cpu_us / static_cast<double>(served) : 0.0);
  return 0;
}
