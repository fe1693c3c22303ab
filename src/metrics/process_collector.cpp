#include "metrics/process_collector.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace cg::metrics {
namespace {

prometheus::MetricFamily family(const char* name, const char* help, prometheus::MetricType type,
                                double value,
                                const std::vector<prometheus::ClientMetric::Label>& labels) {
  prometheus::ClientMetric metric;
  metric.label = labels;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  return {name, help, type, {metric}};
}

// Fields of /proc/self/stat after the command name, which may itself hold spaces and
// parentheses: field 3 (state) is the first one after the last ')'.
std::vector<std::string> stat_fields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return {};
  const auto end = line.rfind(')');
  if (end == std::string::npos) return {};
  std::istringstream rest(line.substr(end + 1));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

double boot_time_seconds() {
  std::ifstream in("/proc/stat");
  for (std::string key; in >> key;) {
    if (key == "btime") {
      double value = 0;
      in >> value;
      return value;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

}  // namespace

std::vector<prometheus::MetricFamily> collect_process_metrics(
    const std::vector<prometheus::ClientMetric::Label>& labels) {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> out;
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream statm("/proc/self/statm");
  double virtual_pages = 0, resident_pages = 0;
  if (statm >> virtual_pages >> resident_pages) {
    out.push_back(family("process_resident_memory_bytes", "Resident memory size in bytes.",
                         MetricType::Gauge, resident_pages * page, labels));
    out.push_back(family("process_virtual_memory_bytes", "Virtual memory size in bytes.",
                         MetricType::Gauge, virtual_pages * page, labels));
  }
  // /proc/self/stat: utime is field 14, stime 15, starttime 22; fields[0] is field 3.
  const std::vector<std::string> f = stat_fields();
  if (f.size() > 19) {
    const double cpu = (std::stod(f[11]) + std::stod(f[12])) / ticks;
    out.push_back(family("process_cpu_seconds_total",
                         "Total user and system CPU time spent in seconds.", MetricType::Counter,
                         cpu, labels));
    if (const double boot = boot_time_seconds(); boot > 0) {
      out.push_back(family("process_start_time_seconds",
                           "Start time of the process since unix epoch in seconds.",
                           MetricType::Gauge, boot + std::stod(f[19]) / ticks, labels));
    }
  }
  return out;
}

}  // namespace cg::metrics
