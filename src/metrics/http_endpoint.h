#pragma once
// A minimal HTTP/1.1 server for one scrape path: GET /metrics answers with a body built at
// request time, anything else with 404 or 405. One thread serves one connection at a time
// and closes it after the answer, which is all a Prometheus scrape needs.
//
// Why not prometheus-cpp's Exposer: Debian's civetweb under it is built with a fixed
// 100 KiB thread stack (USE_STACK_SIZE), and glibc refuses such a stack (EINVAL) in a
// process whose static TLS is larger, which LibTorch and the CUDA libraries make it: the
// Exposer cannot start inside cyclegan_dist.
#include <atomic>
#include <functional>
#include <string>
#include <thread>

namespace cg::metrics {

class HttpEndpoint {
 public:
  /// Listens on `bind`:`port` (port 0: a free port, see port()) and serves `path` with the
  /// text `body()` returns; `body` runs on the server thread. Throws ConfigError naming the
  /// address when it cannot listen.
  HttpEndpoint(const std::string& bind, int port, std::string path,
               std::function<std::string()> body);
  /// Stops the server thread and closes the socket.
  ~HttpEndpoint();
  HttpEndpoint(const HttpEndpoint&) = delete;
  HttpEndpoint& operator=(const HttpEndpoint&) = delete;

  /// The port it listens on.
  int port() const { return port_; }

 private:
  void serve();
  void answer(int client);

  std::string path_;
  std::function<std::string()> body_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd that ends serve()
  int port_ = 0;
  std::thread thread_;
};

}  // namespace cg::metrics
