#include "serve/http.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "util/error.hpp"

namespace mlops::serve {

const char* status_text(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

namespace {

using Clock = std::chrono::steady_clock;

struct Conn {
  int fd = -1;
  std::string in;              // bytes read and not yet consumed
  bool busy = false;           // a worker owns it
  bool continue_sent = false;  // 100 Continue already sent for the current request
  Clock::time_point last_active = Clock::now();
  Clock::time_point request_started{};  // first byte of an unfinished request
};

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

std::string http_date() {
  char buf[64];
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

std::string error_body(const std::string& message) {
  std::string out = "{\"error\":\"";
  for (char c : message) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out + "\"}";
}

// Outcome of trying to parse one request from the front of a buffer.
enum class Parse { incomplete, complete, error };

struct ParseResult {
  Parse state = Parse::incomplete;
  HttpRequest request;
  std::size_t consumed = 0;
  int error_status = 0;
  std::string error;
  bool headers_done = false;
  bool expect_continue = false;
};

ParseResult parse_request(const std::string& buf, const HttpOptions& opt) {
  ParseResult r;
  // Tolerate empty lines before a request line (RFC 9112 2.2).
  std::size_t start = 0;
  while (start + 1 < buf.size() && buf[start] == '\r' && buf[start + 1] == '\n') start += 2;
  auto end = buf.find("\r\n\r\n", start);
  if (end == std::string::npos) {
    if (buf.size() - start > opt.max_header_bytes) {
      r.state = Parse::error;
      r.error_status = 431;
      r.error = "request headers are larger than " + std::to_string(opt.max_header_bytes) + " bytes";
    }
    return r;
  }
  if (end - start > opt.max_header_bytes) {
    r.state = Parse::error;
    r.error_status = 431;
    r.error = "request headers are larger than " + std::to_string(opt.max_header_bytes) + " bytes";
    return r;
  }
  r.headers_done = true;
  auto fail = [&](int status, std::string why) {
    r.state = Parse::error;
    r.error_status = status;
    r.error = std::move(why);
    return r;
  };
  std::size_t line_end = buf.find("\r\n", start);
  std::string line = buf.substr(start, line_end - start);
  auto sp1 = line.find(' '), sp2 = line.rfind(' ');
  if (sp1 == std::string::npos || sp2 == sp1) return fail(400, "malformed request line");
  auto& q = r.request;
  q.method = line.substr(0, sp1);
  std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  q.version = line.substr(sp2 + 1);
  if (q.version != "HTTP/1.1" && q.version != "HTTP/1.0") return fail(505, "only HTTP/1.0 and HTTP/1.1 are served");
  if (target.empty() || target[0] != '/') return fail(400, "the request target must be a path starting with '/'");
  auto qm = target.find('?');
  q.path = target.substr(0, qm);
  if (qm != std::string::npos) q.query = target.substr(qm + 1);
  std::size_t pos = line_end + 2;
  while (pos < end) {
    auto e = buf.find("\r\n", pos);
    std::string h = buf.substr(pos, e - pos);
    pos = e + 2;
    auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0 || h[0] == ' ' || h[0] == '\t')
      return fail(400, "malformed header line");
    std::string name = lower(h.substr(0, colon));
    std::string value = trim(h.substr(colon + 1));
    if (name == "content-length" && q.headers.count(name) && q.headers[name] != value)
      return fail(400, "conflicting Content-Length headers");
    auto [it, inserted] = q.headers.emplace(name, value);
    if (!inserted) it->second += ", " + value;
  }
  if (q.headers.count("transfer-encoding"))
    return fail(411, "chunked request bodies are not supported; send the body with a Content-Length");
  std::size_t length = 0;
  if (auto it = q.headers.find("content-length"); it != q.headers.end()) {
    const std::string& v = it->second;
    if (v.empty() || v.size() > 18 || !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return fail(400, "invalid Content-Length '" + v + "'");
    length = std::stoull(v);
  }
  if (length > opt.max_body_bytes)
    return fail(413, "the request body is " + std::to_string(length) + " bytes, over the limit of " +
                         std::to_string(opt.max_body_bytes));
  r.expect_continue = lower(q.header("expect")) == "100-continue";
  std::size_t body_start = end + 4;
  if (buf.size() - body_start < length) return r;
  q.body = buf.substr(body_start, length);
  r.consumed = body_start + length;
  r.state = Parse::complete;
  return r;
}

bool wants_keep_alive(const HttpRequest& q) {
  std::string c = lower(q.header("connection"));
  if (q.version == "HTTP/1.0") return c.find("keep-alive") != std::string::npos;
  return c.find("close") == std::string::npos;
}

}  // namespace

struct HttpServer::Impl {
  HttpOptions opt;
  HttpHandler handler;
  int listen_fd = -1;
  int epoll_fd = -1;
  int wake_fd = -1;
  std::atomic<bool> stopping{false};
  std::mutex mu;  // guards conns and every Conn's busy/in/last_active
  std::unordered_map<int, std::shared_ptr<Conn>> conns;
  std::mutex queue_mu;
  std::condition_variable queue_cv;
  std::deque<std::shared_ptr<Conn>> queue;
  std::vector<std::thread> workers;

  ~Impl() {
    for (auto& [fd, c] : conns) ::close(fd);
    if (listen_fd >= 0) ::close(listen_fd);
    if (epoll_fd >= 0) ::close(epoll_fd);
    if (wake_fd >= 0) ::close(wake_fd);
  }

  void close_locked(const std::shared_ptr<Conn>& c) {
    epoll_ctl(epoll_fd, EPOLL_CTL_DEL, c->fd, nullptr);
    ::close(c->fd);
    conns.erase(c->fd);
  }

  void arm(const std::shared_ptr<Conn>& c) {
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
    ev.data.fd = c->fd;
    epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
  }

  // Writes everything or gives up after the write timeout.
  bool write_all(int fd, const std::string& data) {
    std::size_t off = 0;
    auto deadline = Clock::now() + opt.write_timeout;
    while (off < data.size()) {
      ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
      if (n > 0) {
        off += static_cast<std::size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return false;
        pollfd p{fd, POLLOUT, 0};
        if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
        continue;
      }
      return false;
    }
    return true;
  }

  std::string serialize(const HttpResponse& resp, bool keep_alive, bool head) {
    std::string out = "HTTP/1.1 " + std::to_string(resp.status) + " " + status_text(resp.status) + "\r\n";
    out += "Date: " + http_date() + "\r\nServer: mlopsctl\r\n";
    if (!resp.content_type.empty()) out += "Content-Type: " + resp.content_type + "\r\n";
    out += "Content-Length: " + std::to_string(resp.body.size()) + "\r\n";
    for (const auto& [k, v] : resp.headers) out += k + ": " + v + "\r\n";
    out += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";
    if (!head) out += resp.body;
    return out;
  }

  // Reads what the socket has; false when the peer closed or failed.
  bool read_available(Conn& c) {
    char buf[16384];
    for (;;) {
      ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n > 0) {
        c.in.append(buf, static_cast<std::size_t>(n));
        if (c.in.size() > opt.max_header_bytes + opt.max_body_bytes + 4096) return true;  // parse will refuse it
        continue;
      }
      if (n == 0) return false;
      if (errno == EINTR) continue;
      return errno == EAGAIN || errno == EWOULDBLOCK;
    }
  }

  // Serves what the connection has; decides whether it goes back to epoll.
  void serve_connection(const std::shared_ptr<Conn>& c) {
    // A peer that sent its requests and then shut down its side still gets its
    // answers; the connection closes after them.
    bool open = read_available(*c);
    bool keep = true;
    while (keep && !c->in.empty()) {
      if (c->request_started == Clock::time_point{}) c->request_started = Clock::now();
      ParseResult pr = parse_request(c->in, opt);
      if (pr.state == Parse::incomplete) {
        if (pr.headers_done && pr.expect_continue && !c->continue_sent) {
          c->continue_sent = true;
          if (!write_all(c->fd, "HTTP/1.1 100 Continue\r\n\r\n")) keep = false;
        }
        break;
      }
      if (pr.state == Parse::error) {
        HttpResponse resp{pr.error_status, "application/json", error_body(pr.error), {}};
        write_all(c->fd, serialize(resp, false, false));
        keep = false;
        break;
      }
      c->in.erase(0, pr.consumed);
      c->request_started = {};
      c->continue_sent = false;
      const HttpRequest& q = pr.request;
      bool keep_alive = wants_keep_alive(q) && !stopping;
      HttpResponse resp;
      try {
        resp = handler(q);
      } catch (const std::exception& e) {
        resp = HttpResponse{500, "application/json", error_body(std::string("internal error: ") + e.what()), {}};
      }
      if (!write_all(c->fd, serialize(resp, keep_alive, q.method == "HEAD"))) keep_alive = false;
      keep = keep_alive;
    }
    std::lock_guard lock(mu);
    c->busy = false;
    c->last_active = Clock::now();
    if (!keep || !open)
      close_locked(c);
    else
      arm(c);
  }

  void worker_loop() {
    for (;;) {
      std::shared_ptr<Conn> c;
      {
        std::unique_lock lock(queue_mu);
        queue_cv.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) return;
        c = std::move(queue.front());
        queue.pop_front();
      }
      serve_connection(c);
    }
  }

  void accept_all() {
    for (;;) {
      int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) {
        if (errno == EINTR) continue;
        return;  // EAGAIN, or out of descriptors: try again on the next event
      }
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      std::lock_guard lock(mu);
      if (conns.size() >= opt.max_connections) {
        HttpResponse resp{503, "application/json", error_body("too many open connections"), {}};
        std::string out = serialize(resp, false, false);
        [[maybe_unused]] auto n = ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
        ::close(fd);
        continue;
      }
      auto c = std::make_shared<Conn>();
      c->fd = fd;
      conns[fd] = c;
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
      ev.data.fd = fd;
      epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
    }
  }

  // Drops idle keep-alive connections and requests that stall half-way.
  void sweep() {
    auto now = Clock::now();
    std::lock_guard lock(mu);
    std::vector<std::shared_ptr<Conn>> doomed;
    for (auto& [fd, c] : conns) {
      if (c->busy) continue;
      bool stalled = !c->in.empty() && c->request_started != Clock::time_point{} &&
                     now - c->request_started > opt.read_timeout;
      bool idle = c->in.empty() && now - c->last_active > opt.idle_timeout;
      if (stalled) {
        HttpResponse resp{408, "application/json", error_body("the request did not arrive in time"), {}};
        std::string out = serialize(resp, false, false);
        [[maybe_unused]] auto n = ::send(c->fd, out.data(), out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      }
      if (stalled || idle) doomed.push_back(c);
    }
    for (auto& c : doomed) close_locked(c);
  }

  void loop() {
    epoll_event events[128];
    auto last_sweep = Clock::now();
    while (!stopping) {
      int n = epoll_wait(epoll_fd, events, 128, 500);
      if (n < 0 && errno != EINTR) break;
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == wake_fd) continue;
        if (fd == listen_fd) {
          accept_all();
          continue;
        }
        std::shared_ptr<Conn> c;
        {
          std::lock_guard lock(mu);
          auto it = conns.find(fd);
          if (it == conns.end()) continue;
          c = it->second;
          c->busy = true;
        }
        {
          std::lock_guard lock(queue_mu);
          queue.push_back(std::move(c));
        }
        queue_cv.notify_one();
      }
      if (Clock::now() - last_sweep > std::chrono::milliseconds(500)) {
        sweep();
        last_sweep = Clock::now();
      }
    }
  }
};

HttpServer::HttpServer(HttpOptions options, HttpHandler handler) : impl_(std::make_unique<Impl>()) {
  impl_->opt = std::move(options);
  impl_->handler = std::move(handler);
  const auto& o = impl_->opt;
  std::string where = o.host + ":" + std::to_string(o.port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  std::string port = std::to_string(o.port);
  if (int rc = getaddrinfo(o.host.c_str(), port.c_str(), &hints, &res); rc != 0)
    throw UsageError("cannot listen on " + where + ": " + gai_strerror(rc), "give --host an IP address or a name");
  int fd = -1;
  std::string last_error;
  for (addrinfo* a = res; a; a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 512) == 0) break;
    last_error = std::strerror(errno);
    ::close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd < 0)
    throw RuntimeError("cannot listen on " + where + ": " + last_error,
                       "pick another --port (0 takes any free one), or stop what holds it");
  impl_->listen_fd = fd;
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                           : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
  impl_->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  impl_->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl_->epoll_fd < 0 || impl_->wake_fd < 0) throw RuntimeError("cannot create epoll: " + std::string(strerror(errno)));
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = fd;
  epoll_ctl(impl_->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
  ev.data.fd = impl_->wake_fd;
  epoll_ctl(impl_->epoll_fd, EPOLL_CTL_ADD, impl_->wake_fd, &ev);
}

HttpServer::~HttpServer() {
  stop();
  for (auto& t : impl_->workers)
    if (t.joinable()) t.join();
}

void HttpServer::run() {
  std::size_t threads = impl_->opt.threads;
  if (threads == 0) threads = std::max<std::size_t>(4, 2 * std::max(1u, std::thread::hardware_concurrency()));
  for (std::size_t i = 0; i < threads; ++i) impl_->workers.emplace_back([this] { impl_->worker_loop(); });
  impl_->loop();
  impl_->queue_cv.notify_all();
  for (auto& t : impl_->workers) t.join();
  impl_->workers.clear();
}

void HttpServer::stop() {
  {
    std::lock_guard lock(impl_->queue_mu);
    impl_->stopping = true;
  }
  std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(impl_->wake_fd, &one, sizeof one);
  impl_->queue_cv.notify_all();
}

}  // namespace mlops::serve
