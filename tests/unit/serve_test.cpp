// The model server over real sockets on 127.0.0.1, with a small in-test model
// (sums an instance's "x" and "y"), so HTTP handling is tested without a backend.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "serve/service.hpp"

namespace mlops::serve {
namespace {

using nlohmann::json;

class SumModel : public model::Model {
 public:
  explicit SumModel(int version) {
    info_.name = "adder";
    info_.version = version;
    info_.kind = "test";
    info_.required_inputs = {"x", "y"};
  }
  const model::ModelInfo& info() const override { return info_; }
  json predict(const json& instances) override {
    json out = json::array();
    for (std::size_t i = 0; i < instances.size(); ++i) {
      const auto& in = instances[i];
      if (!in.is_object() || !in.contains("x") || !in["x"].is_number() || !in.contains("y") || !in["y"].is_number())
        throw model::InputError("instance " + std::to_string(i) + " needs numbers x and y");
      out.push_back(in["x"].get<double>() + in["y"].get<double>());
    }
    return out;
  }

 private:
  model::ModelInfo info_;
};

struct Reply {
  int status = 0;
  std::string head;
  std::string body;
};

// One raw HTTP exchange on a fresh connection; reads until the peer closes or
// Content-Length bytes of body arrived.
class Client {
 public:
  explicit Client(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{5, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) throw std::runtime_error("connect failed");
  }
  ~Client() { close(fd_); }
  void send_raw(const std::string& s) { ASSERT_EQ(::send(fd_, s.data(), s.size(), MSG_NOSIGNAL), (ssize_t)s.size()); }
  Reply read_reply() {
    Reply r;
    std::string buf = std::move(leftover_);
    leftover_.clear();
    char tmp[4096];
    std::size_t header_end = std::string::npos, length = 0;
    for (;;) {
      if (header_end == std::string::npos) {
        header_end = buf.find("\r\n\r\n");
        if (header_end != std::string::npos) {
          r.head = buf.substr(0, header_end);
          auto cl = r.head.find("Content-Length: ");
          if (cl != std::string::npos) length = std::stoul(r.head.substr(cl + 16));
          r.status = std::stoi(r.head.substr(9, 3));
        }
      }
      if (header_end != std::string::npos && buf.size() >= header_end + 4 + length) {
        r.body = buf.substr(header_end + 4, length);
        buf.erase(0, header_end + 4 + length);
        leftover_ = buf;
        return r;
      }
      ssize_t n = recv(fd_, tmp, sizeof tmp, 0);
      if (n <= 0) return r;
      buf.append(tmp, static_cast<std::size_t>(n));
    }
  }
  Reply request(const std::string& method, const std::string& path, const std::string& body = {},
                const std::string& extra_headers = {}) {
    send_raw(method + " " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" + body);
    return read_reply();
  }
  void shutdown_write() { ::shutdown(fd_, SHUT_WR); }
  bool closed_by_peer() {
    char c;
    return recv(fd_, &c, 1, 0) == 0;
  }

 private:
  int fd_ = -1;
  std::string leftover_;
};

class ServeTest : public ::testing::Test {
 protected:
  void start(const std::string& token = {}, std::size_t max_body = 4096) {
    ServiceOptions opt;
    opt.model_ref = "adder@production";
    opt.token = token;
    opt.max_batch = 3;
    opt.poll_interval = std::chrono::milliseconds(0);
    opt.http.port = 0;
    opt.http.threads = 4;
    opt.http.max_body_bytes = max_body;
    opt.http.read_timeout = std::chrono::milliseconds(800);
    service_ = std::make_unique<Service>(
        opt, [this](const std::string&) { return std::make_shared<SumModel>(++loads_); },
        [this](const std::string&) { return probe_version_.load(); });
    service_->start();
    thread_ = std::thread([this] { service_->run(); });
  }
  void TearDown() override {
    if (service_) service_->stop();
    if (thread_.joinable()) thread_.join();
  }
  int port() const { return service_->port(); }
  std::unique_ptr<Service> service_;
  std::thread thread_;
  std::atomic<int> loads_{0};
  std::atomic<int> probe_version_{1};
};

TEST_F(ServeTest, PredictsSinglesAndBatchesInEveryShape) {
  start();
  Client c(port());
  auto r = c.request("POST", "/predict", R"({"x": 1, "y": 2})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["prediction"], 3.0);
  r = c.request("POST", "/predict", R"({"instances": [{"x": 1, "y": 1}, {"x": 2, "y": 3}]})");
  EXPECT_EQ(json::parse(r.body)["predictions"], json::parse("[2.0, 5.0]"));
  r = c.request("POST", "/predict", R"([{"x": 1, "y": 1}])");
  EXPECT_EQ(json::parse(r.body)["predictions"], json::parse("[2.0]"));
  r = c.request("POST", "/invocations", R"({"dataframe_split": {"columns": ["x", "y"], "data": [[1, 2], [3, 4]]}})");
  EXPECT_EQ(json::parse(r.body)["predictions"], json::parse("[3.0, 7.0]"));
  r = c.request("POST", "/invocations", R"({"dataframe_records": [{"x": 5, "y": 5}]})");
  EXPECT_EQ(json::parse(r.body)["predictions"], json::parse("[10.0]"));
  r = c.request("POST", "/invoke", R"({"input": {"x": 2, "y": 2}})");
  EXPECT_EQ(json::parse(r.body)["output"], 4.0);
  r = c.request("POST", "/invoke", R"({"inputs": [{"x": 2, "y": 2}, {"x": 0, "y": 1}]})");
  EXPECT_EQ(json::parse(r.body)["outputs"], json::parse("[4.0, 1.0]"));
  EXPECT_EQ(json::parse(r.body)["metadata"]["model"]["version"], 1);
}

TEST_F(ServeTest, BadInputGetsA400WithTheReason) {
  start();
  Client c(port());
  auto check = [&](const std::string& body, const std::string& reason, int status = 400) {
    auto r = c.request("POST", "/predict", body);
    EXPECT_EQ(r.status, status) << body << " -> " << r.body;
    auto j = json::parse(r.body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.body;
    EXPECT_NE(j["error"].get<std::string>().find(reason), std::string::npos) << j.dump();
  };
  check("{\"x\": 1,", "not valid JSON");
  check("", "empty");
  check("42", "JSON number");
  check(R"({"instances": 3})", "\"instances\" must be an array");
  check(R"({"instances": []})", "batch is empty");
  check(R"([{"x":1,"y":1},{"x":1,"y":1},{"x":1,"y":1},{"x":1,"y":1}])", "over the limit of 3");
  check(R"({"x": "one", "y": 2})", "instance 0 needs numbers x and y");
  check(R"({"dataframe_split": {"columns": ["x"], "data": [[1, 2]]}})", "has 2 values for 1 columns");
  auto r = c.request("GET", "/predict");
  EXPECT_EQ(r.status, 405);
  r = c.request("POST", "/predict", "{}", "");
  EXPECT_EQ(r.status, 400);  // {} is one instance without x and y
  r = c.request("GET", "/nowhere");
  EXPECT_EQ(r.status, 404);
  // The connection survived every error above.
  r = c.request("GET", "/health");
  EXPECT_EQ(r.status, 200);
}

TEST_F(ServeTest, WrongContentTypeIs415) {
  start();
  Client c(port());
  c.send_raw("POST /predict HTTP/1.1\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi");
  EXPECT_EQ(c.read_reply().status, 415);
}

TEST_F(ServeTest, OversizedAndChunkedBodiesAreRefused) {
  start({}, 64);
  {
    Client c(port());
    auto r = c.request("POST", "/predict", std::string(100, ' '));
    EXPECT_EQ(r.status, 413);
    EXPECT_NE(r.body.find("over the limit of 64"), std::string::npos);
  }
  {
    Client c(port());
    c.send_raw("POST /predict HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
    auto r = c.read_reply();
    EXPECT_EQ(r.status, 411);
    EXPECT_NE(r.body.find("Content-Length"), std::string::npos);
  }
  {
    Client c(port());
    c.send_raw("GET /health HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
    EXPECT_EQ(c.read_reply().status, 431);
  }
  {
    Client c(port());
    c.send_raw("garbage\r\n\r\n");
    EXPECT_EQ(c.read_reply().status, 400);
  }
}

TEST_F(ServeTest, AStalledRequestTimesOutWithoutHoldingAWorker) {
  start();
  Client slow(port());
  slow.send_raw("POST /predict HTTP/1.1\r\nContent-Length: 50\r\n\r\n{\"x\":");
  // Other clients are served meanwhile.
  for (int i = 0; i < 8; ++i) {
    Client c(port());
    EXPECT_EQ(c.request("GET", "/health").status, 200);
  }
  auto r = slow.read_reply();
  EXPECT_EQ(r.status, 408);
}

TEST_F(ServeTest, KeepAliveAndPipelining) {
  start();
  Client c(port());
  std::string one = "POST /predict HTTP/1.1\r\nContent-Length: 14\r\n\r\n{\"x\":1,\"y\":41}";
  c.send_raw(one + one);
  auto a = c.read_reply();
  EXPECT_EQ(a.status, 200);
  EXPECT_NE(a.head.find("Connection: keep-alive"), std::string::npos);
  auto b = c.read_reply();
  EXPECT_EQ(b.status, 200);
  EXPECT_EQ(json::parse(b.body)["prediction"], 42.0);
  c.send_raw("GET /health HTTP/1.1\r\nConnection: close\r\n\r\n");
  auto last = c.read_reply();
  EXPECT_EQ(last.status, 200);
  EXPECT_NE(last.head.find("Connection: close"), std::string::npos);
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(ServeTest, APeerThatShutsDownItsSideStillGetsItsAnswer) {
  start();
  Client c(port());
  c.send_raw("POST /predict HTTP/1.1\r\nContent-Length: 13\r\n\r\n{\"x\":2,\"y\":3}");
  c.shutdown_write();
  auto r = c.read_reply();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(json::parse(r.body)["prediction"], 5.0);
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(ServeTest, BearerTokenGuardsEverythingButProbes) {
  start("s3cret");
  Client c(port());
  EXPECT_EQ(c.request("POST", "/predict", R"({"x":1,"y":1})").status, 401);
  EXPECT_EQ(c.request("POST", "/predict", R"({"x":1,"y":1})", "Authorization: Bearer wrong\r\n").status, 401);
  EXPECT_EQ(c.request("POST", "/predict", R"({"x":1,"y":1})", "Authorization: Bearer s3cret\r\n").status, 200);
  EXPECT_EQ(c.request("GET", "/metrics").status, 401);
  EXPECT_EQ(c.request("GET", "/health").status, 200);
  EXPECT_EQ(c.request("GET", "/ready").status, 200);
}

TEST_F(ServeTest, MetricsCountRequestsLatencyAndErrors) {
  start();
  Client c(port());
  c.request("POST", "/predict", R"({"x":1,"y":1})");
  c.request("POST", "/predict", "nope");
  c.request("GET", "/v1/models");
  auto r = c.request("GET", "/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.head.find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(r.body.find("mlopsctl_serve_requests_total{route=\"/predict\",code=\"200\"} 1"), std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find("mlopsctl_serve_requests_total{route=\"/predict\",code=\"400\"} 1"), std::string::npos);
  EXPECT_NE(r.body.find("mlopsctl_serve_request_duration_seconds_bucket{route=\"/predict\",le=\"+Inf\"} 2"),
            std::string::npos);
  EXPECT_NE(r.body.find("mlopsctl_serve_errors_total{kind=\"client\"} 1"), std::string::npos);
  EXPECT_NE(r.body.find("mlopsctl_serve_predictions_total 1"), std::string::npos);
  EXPECT_NE(r.body.find("mlopsctl_serve_model_info{name=\"adder\",version=\"1\",kind=\"test\"} 1"),
            std::string::npos);
}

TEST_F(ServeTest, ModelsEndpointAndReloadWhenTheAliasMoves) {
  start();
  Client c(port());
  auto r = c.request("GET", "/v1/models");
  auto j = json::parse(r.body);
  EXPECT_EQ(j["data"][0]["id"], "adder");
  EXPECT_EQ(j["data"][0]["version"], 1);
  EXPECT_EQ(j["data"][0]["inputs"]["required"], json::parse(R"(["x", "y"])"));
  EXPECT_FALSE(service_->reload(false));  // the probe still says version 1
  probe_version_ = 2;
  EXPECT_TRUE(service_->reload(false));
  r = c.request("GET", "/ready");
  EXPECT_EQ(json::parse(r.body)["model"]["version"], 2);
  EXPECT_TRUE(service_->reload(true));
  EXPECT_NE(service_->metrics_text().find("mlopsctl_serve_reloads_total{result=\"ok\"} 2"), std::string::npos);
}

TEST(ParseBody, NamesWhatIsWrong) {
  EXPECT_THROW(parse_predict_body("[]", 10), model::InputError);
  EXPECT_THROW(parse_invoke_body("[1]", 10), model::InputError);
  EXPECT_THROW(parse_invoke_body("{\"x\": 1}", 10), model::InputError);
  auto b = parse_predict_body(R"({"inputs": {"a": 1}})", 10);
  EXPECT_TRUE(b.single);
  EXPECT_EQ(b.instances.size(), 1u);
  b = parse_predict_body(R"({"inputs": [{"a": 1}, {"a": 2}]})", 10);
  EXPECT_FALSE(b.single);
  EXPECT_EQ(b.instances.size(), 2u);
}

}  // namespace
}  // namespace mlops::serve
