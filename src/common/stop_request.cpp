#include "common/stop_request.h"

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <set>
#include <string>

namespace cg {
namespace {

volatile std::sig_atomic_t g_signal = 0;

extern "C" void record_signal(int signal) {
  if (signal == SIGINT && g_signal == SIGINT) _exit(128 + SIGINT);
  g_signal = signal;
}

}  // namespace

void install_stop_handlers() {
  struct sigaction action {};
  action.sa_handler = record_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGUSR1, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
}

int stop_signal() { return g_signal; }

void raise_test_signal(const char* phase) {
  static std::set<std::string> raised;
  const char* spec = std::getenv("CYCLEGAN_TEST_SIGNAL");
  if (spec == nullptr) return;
  const std::string text = spec;
  const size_t colon = text.find(':');
  if (colon == std::string::npos || text.compare(0, colon, phase) != 0) return;
  if (!raised.insert(phase).second) return;
  const std::string name = text.substr(colon + 1);
  const int signal = name == "TERM" ? SIGTERM : name == "USR1" ? SIGUSR1 : name == "INT" ? SIGINT : 0;
  if (signal != 0) std::raise(signal);
}

}  // namespace cg
