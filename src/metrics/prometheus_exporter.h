#pragma once
// The Prometheus backend of train::MetricsSink. Serves this rank's metrics over HTTP for
// Prometheus to scrape and/or pushes them to a Pushgateway, for jobs whose ports cannot be
// scraped. Every series carries the labels `rank` and, under Slurm, `job_id`; nothing of
// higher cardinality. The metric names and their meaning are listed in monitoring/README.md.
#include <cstdint>
#include <memory>
#include <string>

#include "train/metrics_sink.h"

namespace cg::metrics {

struct ExporterOptions {
  int port = -1;                      ///< HTTP port of /metrics (0: any free port; -1: no endpoint)
  std::string bind = "127.0.0.1";     ///< address the endpoint listens on
  std::string pushgateway;            ///< Pushgateway URL, "http://host:port" ("": no pushing)
  double push_interval_seconds = 15;  ///< seconds between pushes (and one at exit)
  std::string push_job = "cyclegan_dist";  ///< Pushgateway job name of the groups
  int rank = 0;                            ///< value of the `rank` label
  std::string job_id;                      ///< value of the `job_id` label ("": no such label)
};

/// Constant facts about the run, exported as the info metric `cyclegan_run_info`.
struct RunInfo {
  std::string version;  ///< cyclegan_dist version
  std::string preset;   ///< the preset the configuration started from
  std::string backend;  ///< gradient all-reduce backend: mpi or nccl
  std::string device;   ///< cpu or cuda:N
  int world_size = 1;
  int64_t checkpoint_every = 0;  ///< steps between checkpoints (0: only at the end)
};

class PrometheusExporter final : public train::MetricsSink {
 public:
  /// Registers every metric family, starts the HTTP endpoint (when options.port >= 0) and the
  /// push thread (when options.pushgateway is set). Throws ConfigError when the port cannot
  /// be bound, naming the address.
  PrometheusExporter(const ExporterOptions& options, const RunInfo& info);
  /// Stops the endpoint; with a Pushgateway, pushes one last time so the final values stay
  /// there after the process is gone.
  ~PrometheusExporter() override;
  PrometheusExporter(const PrometheusExporter&) = delete;
  PrometheusExporter& operator=(const PrometheusExporter&) = delete;

  void on_step(const train::StepRecord& record) override;
  void on_checkpoint(const train::CheckpointRecord& record) override;
  void on_eval(int64_t step, const eval::EvalReport& report) override;

  /// The port /metrics is served on (-1 without an endpoint).
  int port() const;
  /// Replaces this rank's group on the Pushgateway with the current values now. Returns
  /// the HTTP status (200 on success; -1 and worse when unreachable). Thread-safe.
  int push();
  /// The exposition text a scrape would return now (for tests and the benchmark).
  std::string scrape_text() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cg::metrics
