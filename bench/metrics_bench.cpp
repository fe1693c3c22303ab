// Cost of the metrics on the fastest training step there is (seed preset, 32x32, batch 1,
// one thread): steps timed one by one with the sink off and on, switching every 10 steps
// so drift on a busy machine hits both alike (medians of thousands of steps; per-round
// means swing by 10-15 % on a shared VM). Also the sink's own on_step() cost in isolation.
// Target: overhead below 1% of the step.
//   prometheus   the exporter, with a scraper pulling /metrics once a second as Prometheus
//                would (faster than its 15 s default)
//   tensorboard  the event file writer, with an event of every scalar at every step (the
//                worst case: runs log every 20 steps by default) flushed every 2 s
//
//   metrics_bench [--sink prometheus|tensorboard] [--rounds R] [--steps S]   (R x S steps per mode)
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "data/synthetic_scenes.h"
#include "data/tensor_source.h"
#include "image/tensor_color.h"
#include "metrics/prometheus_exporter.h"
#include "metrics/tensorboard_sink.h"
#include "train/trainer.h"

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// GET /metrics from 127.0.0.1:port every `period` until `stop`; counts the scrapes.
void scrape_loop(int port, std::chrono::milliseconds period, std::atomic<bool>& stop,
                 std::atomic<int>& scrapes) {
  while (!stop) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0) {
      const char request[] = "GET /metrics HTTP/1.1\r\n\r\n";
      ::send(fd, request, sizeof(request) - 1, 0);
      char buffer[8192];
      while (::recv(fd, buffer, sizeof(buffer), 0) > 0) {
      }
      ++scrapes;
    }
    ::close(fd);
    std::this_thread::sleep_for(period);
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 7, steps = 200;
  std::string sink_name = "prometheus";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--steps")) steps = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--sink")) sink_name = argv[i + 1];
  }
  if (sink_name != "prometheus" && sink_name != "tensorboard") {
    std::fprintf(stderr, "metrics_bench: --sink must be prometheus or tensorboard\n");
    return 2;
  }
  torch::set_num_threads(1);
  cg::model::CycleGanOptions model;  // the seed preset: U-Net, 2x2 PatchGAN, gray -> colour
  cg::train::TrainerOptions options;
  options.batch_size = 1;
  options.sample_every = 0;
  options.checkpoint_every = 0;
  options.log_every = 1 << 30;
  options.run_dir = "/tmp/cyclegan_metrics_bench";
  torch::Tensor pictures = cg::data::make_scenes(64, 32, 1);
  cg::data::TensorSource source(cg::image::to_gray(pictures.narrow(0, 0, 32)),
                                pictures.narrow(0, 32, 32), 1, 1,
                                /*shuffle=*/true);
  cg::train::Trainer trainer(options, model, source);

  std::unique_ptr<cg::train::MetricsSink> sink;
  std::atomic<bool> stop{false};
  std::atomic<int> scrapes{0};
  std::thread scraper;
  if (sink_name == "prometheus") {
    cg::metrics::ExporterOptions exporter_options;
    exporter_options.port = 0;
    auto exporter =
        std::make_unique<cg::metrics::PrometheusExporter>(exporter_options, cg::metrics::RunInfo{});
    scraper = std::thread(scrape_loop, exporter->port(), std::chrono::milliseconds(1000),
                          std::ref(stop), std::ref(scrapes));
    sink = std::move(exporter);
  } else {
    std::filesystem::remove_all(options.run_dir);
    cg::metrics::TensorBoardOptions tensorboard;
    tensorboard.dir = options.run_dir + "/tensorboard";
    tensorboard.log_every = 1;
    sink = std::make_unique<cg::metrics::TensorBoardSink>(tensorboard);
  }

  // The training loop of Trainer::train() (batch, step, record), without its logging.
  auto timed_step = [&](bool with_metrics) {
    const auto start = Clock::now();
    cg::train::StepRecord r;
    r.losses = trainer.step(source.next());
    r.step_seconds = since(start);
    r.step = trainer.current_step();
    r.total_steps = 1 << 30;
    if (with_metrics) sink->on_step(r);
    return since(start);
  };
  for (int i = 0; i < 20; ++i) timed_step(false);  // warm-up
  std::vector<double> off, on;
  for (int i = 0; i < 2 * rounds * steps; ++i) {
    const bool with_metrics = (i / 10) % 2 == 1;
    (with_metrics ? on : off).push_back(timed_step(with_metrics));
  }

  // on_step() alone, many times: the cost a step pays for its record.
  cg::train::StepRecord record;
  record.losses.d_a = 0.25;
  const int calls = 200000;
  const auto start = Clock::now();
  for (int i = 0; i < calls; ++i) {
    record.step = i;
    sink->on_step(record);
  }
  const double per_call = since(start) / calls;
  stop = true;
  if (scraper.joinable()) scraper.join();
  sink.reset();  // the TensorBoard file: writes the last events

  const double step_off = median(off), step_on = median(on);
  std::printf(
      "sink: %s; seed preset 32x32 batch 1, 1 thread, %zu steps per mode (switching every "
      "10), %d scrapes\n",
      sink_name.c_str(), off.size(), scrapes.load());
  std::printf("step, metrics off (median)   %10.3f ms\n", step_off * 1e3);
  std::printf("step, metrics on  (median)   %10.3f ms\n", step_on * 1e3);
  std::printf("difference on/off            %+10.2f %%  (noise of the machine included)\n",
              100.0 * (step_on - step_off) / step_off);
  std::printf("on_step() alone              %10.3f us = %.4f %% of the step  (target < 1 %%)\n",
              per_call * 1e6, 100.0 * per_call / step_off);
  return 0;
}
