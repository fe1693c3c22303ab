#include "metrics/http_endpoint.h"

#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/error.h"
#include "common/log.h"

namespace cg::metrics {
namespace {

constexpr int kRequestTimeoutMs = 5000;
constexpr size_t kMaxRequestBytes = 16 << 10;

void send_all(int fd, const std::string& data) {
  for (size_t sent = 0; sent < data.size();) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;  // the client went away; nothing to do about it
    sent += static_cast<size_t>(n);
  }
}

std::string response(const char* status, const char* content_type, const std::string& body) {
  return std::string("HTTP/1.1 ") + status + "\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
         body;
}

}  // namespace

HttpEndpoint::HttpEndpoint(const std::string& bind, int port, std::string path,
                           std::function<std::string()> body)
    : path_(std::move(path)), body_(std::move(body)) {
  const std::string where = bind + ":" + std::to_string(port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const int rc = ::getaddrinfo(bind.c_str(), std::to_string(port).c_str(), &hints, &found);
  CG_REQUIRE(rc == 0, ConfigError, "--metrics-bind ", bind, ": ", gai_strerror(rc));
  std::string problem = "no usable address";
  for (addrinfo* a = found; a != nullptr && listen_fd_ < 0; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) continue;
    const int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (::bind(fd, a->ai_addr, a->ai_addrlen) == 0 && ::listen(fd, 16) == 0) {
      listen_fd_ = fd;
    } else {
      problem = std::strerror(errno);
      ::close(fd);
    }
  }
  ::freeaddrinfo(found);
  CG_REQUIRE(listen_fd_ >= 0, ConfigError, "metrics endpoint: cannot listen on ", where, ": ",
             problem);
  sockaddr_storage local{};
  socklen_t length = sizeof(local);
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&local), &length);
  port_ = ntohs(local.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6&>(local).sin6_port
                                            : reinterpret_cast<sockaddr_in&>(local).sin_port);
  wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
  CG_REQUIRE(wake_fd_ >= 0, Error, "metrics endpoint: eventfd: ", std::strerror(errno));
  thread_ = std::thread([this] { serve(); });
}

HttpEndpoint::~HttpEndpoint() {
  const uint64_t one = 1;
  if (::write(wake_fd_, &one, sizeof(one)) < 0)
    log::warn("metrics endpoint: cannot wake the server thread");
  thread_.join();
  ::close(wake_fd_);
  ::close(listen_fd_);
}

void HttpEndpoint::serve() {
  pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  while (true) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      log::warn("metrics endpoint: poll: ", std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) return;
    const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    answer(client);
    ::close(client);
  }
}

void HttpEndpoint::answer(int client) {
  // Read up to the end of the request head; a client that stalls is dropped.
  std::string request;
  char buffer[2048];
  pollfd fd{client, POLLIN, 0};
  while (request.find("\r\n\r\n") == std::string::npos && request.size() < kMaxRequestBytes) {
    if (::poll(&fd, 1, kRequestTimeoutMs) <= 0) return;
    const ssize_t n = ::recv(client, buffer, sizeof(buffer), 0);
    if (n <= 0) return;
    request.append(buffer, static_cast<size_t>(n));
  }
  const size_t method_end = request.find(' ');
  const size_t target_end = request.find(' ', method_end + 1);
  if (method_end == std::string::npos || target_end == std::string::npos) {
    send_all(client, response("400 Bad Request", "text/plain", "bad request\n"));
    return;
  }
  const std::string method = request.substr(0, method_end);
  std::string target = request.substr(method_end + 1, target_end - method_end - 1);
  target = target.substr(0, target.find('?'));
  if (target != path_) {
    send_all(client, response("404 Not Found", "text/plain", "try " + path_ + "\n"));
  } else if (method != "GET" && method != "HEAD") {
    send_all(client, response("405 Method Not Allowed", "text/plain", "only GET\n"));
  } else {
    std::string text = response("200 OK", "text/plain; version=0.0.4; charset=utf-8", body_());
    if (method == "HEAD") text.resize(text.find("\r\n\r\n") + 4);
    send_all(client, text);
  }
}

}  // namespace cg::metrics
