#include "metrics/pushgateway_pusher.h"

#include <netdb.h>
#include <prometheus/gateway.h>
#include <sys/socket.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <regex>

#include "common/error.h"
#include "common/log.h"

namespace cg::metrics {

PushgatewayAddress parse_pushgateway_url(const std::string& url) {
  static const std::regex pattern(
      R"(^(https?://)?([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:.]+\])(:([0-9]{1,5}))?/?$)");
  std::smatch m;
  CG_REQUIRE(std::regex_match(url, m, pattern), ConfigError, "--pushgateway '", url,
             "': expected http://HOST:PORT");
  const std::string scheme = m[1].matched ? m[1].str() : "http://";
  const std::string port = m[4].matched ? m[4].str() : "9091";
  CG_REQUIRE(std::stoi(port) > 0 && std::stoi(port) < 65536, ConfigError, "--pushgateway '", url,
             "': port ", port, " is out of range");
  return {scheme + m[2].str(), port};
}

PushgatewayAddress check_pushgateway_url(const std::string& url) {
  PushgatewayAddress address = parse_pushgateway_url(url);
  std::string host = address.host.substr(address.host.find("://") + 3);
  if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const int rc = getaddrinfo(host.c_str(), address.port.c_str(), &hints, &found);
  if (found != nullptr) freeaddrinfo(found);
  CG_REQUIRE(rc == 0, ConfigError, "--pushgateway '", url, "': host ", host, " does not resolve (",
             gai_strerror(rc), ")");
  return address;
}

// Shared with the thread, so a final push that hangs on an unresponsive gateway can be
// left behind without dangling references.
struct PushgatewayPusher::State {
  std::unique_ptr<prometheus::Gateway> gateway;
  std::string url;
  std::mutex mutex;  // guards stop and done
  std::condition_variable wake;
  bool stop = false, done = false;
  std::mutex push_mutex;  // one push at a time; guards failing
  bool failing = false;

  int push() {
    std::lock_guard<std::mutex> lock(push_mutex);
    // prometheus-cpp 1.0 has the two methods swapped: PushAdd() sends PUT, which is what
    // replaces the whole group (the Pushgateway's "push"); Push() sends POST.
    const int status = gateway->PushAdd();
    const bool ok = status >= 200 && status < 300;
    if (ok && failing) log::info("pushgateway ", url, ": pushing again");
    if (!ok && !failing)
      log::warn("pushgateway ", url, ": push failed (HTTP status ", status, "); retrying");
    failing = !ok;
    return status;
  }

  // Pushes every `interval` and once more when stopped.
  void run(std::chrono::duration<double> interval) {
    std::unique_lock<std::mutex> lock(mutex);
    for (bool stopping = false; !stopping;) {
      stopping = wake.wait_for(lock, interval, [&] { return stop; });
      lock.unlock();
      push();
      lock.lock();
    }
    done = true;
    wake.notify_all();
  }
};

PushgatewayPusher::PushgatewayPusher(const std::string& url, const std::string& job,
                                     const prometheus::Labels& grouping,
                                     std::weak_ptr<prometheus::Collectable> what,
                                     double interval_seconds)
    : state_(std::make_shared<State>()) {
  const PushgatewayAddress where = parse_pushgateway_url(url);
  state_->url = url;
  state_->gateway = std::make_unique<prometheus::Gateway>(where.host, where.port, job, grouping);
  state_->gateway->RegisterCollectable(what);
  const auto interval = std::chrono::duration<double>(interval_seconds);
  thread_ = std::thread([state = state_, interval] { state->run(interval); });
}

PushgatewayPusher::~PushgatewayPusher() {
  std::unique_lock<std::mutex> lock(state_->mutex);
  state_->stop = true;
  state_->wake.notify_all();
  if (state_->wake.wait_for(lock, std::chrono::seconds(10), [&] { return state_->done; })) {
    lock.unlock();
    thread_.join();
  } else {
    log::warn("pushgateway ", state_->url,
              ": the final push did not finish within 10 s; giving up");
    lock.unlock();
    thread_.detach();
  }
}

int PushgatewayPusher::push() { return state_->push(); }

}  // namespace cg::metrics
