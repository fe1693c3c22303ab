#pragma once
// The standard process metrics of Prometheus client libraries, read from /proc at each
// collection: process_resident_memory_bytes, process_virtual_memory_bytes,
// process_cpu_seconds_total and process_start_time_seconds.
#include <prometheus/client_metric.h>
#include <prometheus/metric_family.h>

#include <vector>

namespace cg::metrics {

/// The process families of this process, each series labelled with `labels`. Families
/// whose /proc file cannot be read are left out.
std::vector<prometheus::MetricFamily> collect_process_metrics(
    const std::vector<prometheus::ClientMetric::Label>& labels);

}  // namespace cg::metrics
