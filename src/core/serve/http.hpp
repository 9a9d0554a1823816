#pragma once
// A small HTTP/1.1 server for `serve`: one epoll thread accepts connections and
// watches idle ones, a fixed pool of workers parses and answers requests. It does
// keep-alive and pipelining, Content-Length bodies (chunked request bodies are
// refused with 411), Expect: 100-continue, header and body size limits (431,
// 413), read and idle timeouts (a slow or silent client is dropped, never holds
// a worker), and a cap on open connections.
#include <chrono>
#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace mlops::serve {

struct HttpRequest {
  std::string method;
  std::string path;   // without the query
  std::string query;  // after '?', undecoded
  std::string version;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  std::string header(const std::string& lower_name) const {
    auto it = headers.find(lower_name);
    return it == headers.end() ? std::string() : it->second;
  }
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct HttpOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0 = any free port (see HttpServer::port)
  std::size_t threads = 0;  // 0 = 2 × hardware threads, at least 4
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_body_bytes = 1024 * 1024;
  std::size_t max_connections = 1024;
  std::chrono::milliseconds read_timeout{10000};  // for a started request to arrive whole
  std::chrono::milliseconds idle_timeout{60000};  // keep-alive connection with no request
  std::chrono::milliseconds write_timeout{10000};
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

const char* status_text(int status);

class HttpServer {
 public:
  // Binds and listens at once; RuntimeError naming host:port when it cannot.
  HttpServer(HttpOptions options, HttpHandler handler);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const { return port_; }
  // Serves until stop(); returns after the workers finished their requests.
  void run();
  // Safe from any thread (not from a signal handler: see serve::Service).
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace mlops::serve
