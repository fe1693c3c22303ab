#pragma once
// Pushes one collectable to a Prometheus Pushgateway group from a thread of its own: every
// interval, and once more when destroyed so the final values stay on the gateway. Each push
// replaces the whole group (HTTP PUT).
#include <prometheus/collectable.h>
#include <prometheus/labels.h>

#include <memory>
#include <string>
#include <thread>

namespace cg::metrics {

/// A Pushgateway address split as prometheus-cpp's Gateway takes it.
struct PushgatewayAddress {
  std::string host;  ///< scheme and host: "http://10.0.0.1"
  std::string port;  ///< "9091"
};
/// Parses "http://host:port" or "host:port" (the port defaults to 9091); throws ConfigError
/// naming --pushgateway on anything else.
PushgatewayAddress parse_pushgateway_url(const std::string& url);
/// parse_pushgateway_url, then resolves the host name: a name that does not resolve
/// ("notaurl") is a mistyped flag, refused with ConfigError naming --pushgateway, not a
/// gateway that is down (which monitoring rides out while training goes on).
PushgatewayAddress check_pushgateway_url(const std::string& url);

class PushgatewayPusher {
 public:
  /// Starts pushing `what` to the group job=`job` plus `grouping` labels of the gateway at
  /// `url`. A failed push is logged once (and its recovery), never thrown: monitoring must
  /// not stop training.
  PushgatewayPusher(const std::string& url, const std::string& job,
                    const prometheus::Labels& grouping, std::weak_ptr<prometheus::Collectable> what,
                    double interval_seconds);
  /// Pushes a last time and stops the thread. A gateway that does not answer within 10 s is
  /// left behind (the thread owns its state), so a finished job never hangs on it.
  ~PushgatewayPusher();
  PushgatewayPusher(const PushgatewayPusher&) = delete;
  PushgatewayPusher& operator=(const PushgatewayPusher&) = delete;

  /// Pushes now; returns the HTTP status (200 on success, negative when unreachable).
  /// Thread-safe.
  int push();

 private:
  struct State;
  std::shared_ptr<State> state_;
  std::thread thread_;
};

}  // namespace cg::metrics
