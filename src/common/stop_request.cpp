#include "common/stop_request.h"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <set>
#include <string>

namespace cg {
namespace {

volatile std::sig_atomic_t g_signal = 0;
volatile std::sig_atomic_t g_signals_received = 0;

extern "C" void record_signal(int signal) {
  if (signal == SIGINT && g_signal == SIGINT) _exit(128 + SIGINT);
  g_signal = signal;
  g_signals_received = g_signals_received + 1;
}

// The value of `variable` when it is "PHASE:REST" for `phase`, the first time asked.
std::optional<std::string> test_spec(const char* variable, const char* phase) {
  static std::set<std::string> seen;
  const char* spec = std::getenv(variable);
  if (spec == nullptr) return std::nullopt;
  const std::string text = spec;
  const size_t colon = text.find(':');
  if (colon == std::string::npos || text.compare(0, colon, phase) != 0 ||
      colon != std::strlen(phase))
    return std::nullopt;
  if (!seen.insert(std::string(variable) + "/" + phase).second) return std::nullopt;
  return text.substr(colon + 1);
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
  if (const auto file = test_spec("CYCLEGAN_TEST_PAUSE", phase)) {
    const std::string path = *file + "." + std::to_string(getpid());
    const int received = g_signals_received;
    std::FILE* marker = std::fopen(path.c_str(), "w");
    if (marker != nullptr) std::fclose(marker);
    for (int i = 0;
         i < 30000 && g_signals_received == received && ::access(path.c_str(), F_OK) == 0; ++i) {
      ::usleep(10000);
    }
    std::remove(path.c_str());
  }
  if (const auto name = test_spec("CYCLEGAN_TEST_SIGNAL", phase)) {
    const int signal = *name == "TERM"   ? SIGTERM
                       : *name == "USR1" ? SIGUSR1
                       : *name == "INT"  ? SIGINT
                       : *name == "KILL" ? SIGKILL
                                         : 0;
    if (signal != 0) std::raise(signal);
  }
}

}  // namespace cg
