// The Prometheus exporter as a scraper sees it: the exposition text over HTTP, its labels,
// the arithmetic of counters, summaries and histograms, and the trainer feeding it.
#include "metrics/prometheus_exporter.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <limits>
#include <map>
#include <regex>
#include <sstream>

#include "common/error.h"
#include "metrics/http_endpoint.h"
#include "metrics/pushgateway_pusher.h"
#include "train/loss_terms.h"
#include "trainer_test_util.h"

namespace cg::metrics {
namespace {

// One HTTP request to 127.0.0.1:port; returns the whole response (head and body).
std::string http(int port, const std::string& request) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  EXPECT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  std::string response;
  char buffer[4096];
  for (ssize_t n; (n = ::recv(fd, buffer, sizeof(buffer), 0)) > 0;) response.append(buffer, n);
  ::close(fd);
  return response;
}

std::string get(int port, const std::string& path) {
  return http(port, "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n\r\n");
}

// Series of an exposition text: "name{labels}" -> value, labels as written.
std::map<std::string, double> series(const std::string& text) {
  std::map<std::string, double> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.rfind(' ');
    out[line.substr(0, space)] = std::stod(line.substr(space + 1));
  }
  return out;
}

train::StepRecord record(int64_t step) {
  train::StepRecord r;
  r.step = step;
  r.total_steps = 100;
  r.images = 8;
  r.losses = {0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 10.0};
  r.lr_g = 1e-4;
  r.lr_d = 2e-4;
  r.step_seconds = 0.2;
  r.data_wait_seconds = 0.01;
  r.compute_seconds = 0.15;
  r.allreduce_seconds = 0.03;
  r.optimizer_seconds = 0.01;
  r.allreduce_bytes = 1000;
  r.loader_queued = 3;
  return r;
}

RunInfo run_info() {
  RunInfo info;
  info.version = "9.9.9";
  info.preset = "paper-256";
  info.backend = "nccl";
  info.device = "cuda:1";
  info.world_size = 16;
  info.checkpoint_every = 500;
  return info;
}

TEST(PrometheusExporter, ServesEveryFamilyOverHttpWithRankAndJobIdLabels) {
  ExporterOptions options;
  options.port = 0;
  options.rank = 3;
  options.job_id = "4242";
  PrometheusExporter exporter(options, run_info());
  ASSERT_GT(exporter.port(), 0);
  exporter.on_step(record(7));
  const std::string response = get(exporter.port(), "/metrics");
  ASSERT_EQ(response.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << response.substr(0, 200);
  EXPECT_NE(response.find("Content-Type: text/plain; version=0.0.4"), std::string::npos);
  const auto s = series(response.substr(response.find("\r\n\r\n") + 4));
  const std::string l = "job_id=\"4242\",rank=\"3\"";
  EXPECT_EQ(s.at("cyclegan_steps_total{" + l + "}"), 1);
  EXPECT_EQ(s.at("cyclegan_images_total{" + l + "}"), 8);
  EXPECT_EQ(s.at("cyclegan_step{" + l + "}"), 7);
  EXPECT_EQ(s.at("cyclegan_target_steps{" + l + "}"), 100);
  EXPECT_EQ(s.at("cyclegan_learning_rate{" + l + ",optimizer=\"discriminators\"}"), 2e-4);
  EXPECT_EQ(s.at("cyclegan_loader_queue_batches{" + l + "}"), 3);
  EXPECT_EQ(s.at("cyclegan_allreduce_bytes_total{" + l + "}"), 1000);
  EXPECT_EQ(s.at("cyclegan_checkpoint_every_steps{" + l + "}"), 500);
  EXPECT_EQ(s.at("cyclegan_run_info{" + l +
                 ",backend=\"nccl\",device=\"cuda:1\",preset=\"paper-256\",version=\"9.9.9\",world_"
                 "size=\"16\"}"),
            1);
  EXPECT_GT(s.at("process_resident_memory_bytes{" + l + "}"), 1e6);
  EXPECT_GT(s.at("process_start_time_seconds{" + l + "}"), 1.7e9);
  // Nothing without the two labels, nothing with a third constant one.
  for (const auto& [name, value] : s) {
    EXPECT_NE(name.find(l), std::string::npos) << name;
  }
}

TEST(PrometheusExporter, LossSumAndCountGiveTheMeanAndSkipNonFiniteValues) {
  PrometheusExporter exporter({}, run_info());
  train::StepRecord a = record(1), b = record(2);
  b.losses.d_a = 0.75;
  b.losses.cycle_b = std::numeric_limits<double>::quiet_NaN();
  exporter.on_step(a);
  exporter.on_step(b);
  const auto s = series(exporter.scrape_text());
  EXPECT_EQ(s.at("cyclegan_loss_sum{rank=\"0\",term=\"d_a\"}"), 1.0);
  EXPECT_EQ(s.at("cyclegan_loss_count{rank=\"0\",term=\"d_a\"}"), 2);
  EXPECT_EQ(s.at("cyclegan_loss_sum{rank=\"0\",term=\"cycle_b\"}"), 4.0);
  EXPECT_EQ(s.at("cyclegan_loss_count{rank=\"0\",term=\"cycle_b\"}"), 1);
  EXPECT_EQ(s.at("cyclegan_nonfinite_losses_total{rank=\"0\"}"), 1);
  EXPECT_EQ(s.at("cyclegan_loss_bucket{rank=\"0\",term=\"d_a\",le=\"+Inf\"}"), 2);
}

TEST(PrometheusExporter, OneLossSeriesPerTermOfTheLossTable) {
  PrometheusExporter exporter({}, run_info());
  train::StepRecord r = record(1);
  for (size_t i = 0; i < train::kLossTerms.size(); ++i) {
    r.losses.*train::kLossTerms[i].value = static_cast<double>(i) + 0.5;
  }
  exporter.on_step(r);
  const auto s = series(exporter.scrape_text());
  size_t terms = 0;
  for (const auto& [name, value] : s) terms += name.rfind("cyclegan_loss_sum{", 0) == 0;
  EXPECT_EQ(terms, train::kLossTerms.size());
  for (size_t i = 0; i < train::kLossTerms.size(); ++i) {
    const std::string key =
        std::string("cyclegan_loss_sum{rank=\"0\",term=\"") + train::kLossTerms[i].label + "\"}";
    ASSERT_TRUE(s.count(key)) << key;
    EXPECT_EQ(s.at(key), static_cast<double>(i) + 0.5) << key;
  }
}

// cyclegan_skipped_steps_total counts steps with an update not applied, whatever the cause
// (a non-finite gradient, an fp16 scaler's skip), and its HELP text names both.
TEST(PrometheusExporter, SkippedStepsCountEveryUpdateNotAppliedAndSayWhy) {
  PrometheusExporter exporter({}, run_info());
  train::StepRecord skipped = record(2);
  skipped.update_skipped = true;
  exporter.on_step(record(1));
  exporter.on_step(skipped);
  exporter.on_step(skipped);
  const std::string text = exporter.scrape_text();
  EXPECT_EQ(series(text).at("cyclegan_skipped_steps_total{rank=\"0\"}"), 2);
  const size_t help = text.find("# HELP cyclegan_skipped_steps_total ");
  ASSERT_NE(help, std::string::npos);
  const std::string line = text.substr(help, text.find('\n', help) - help);
  EXPECT_NE(line.find("non-finite gradient"), std::string::npos) << line;
  EXPECT_NE(line.find("fp16 loss scaler"), std::string::npos) << line;
}

TEST(PrometheusExporter, PhaseSecondsAndStepHistogramAccumulate) {
  PrometheusExporter exporter({}, run_info());
  train::StepRecord slow = record(1);
  slow.step_seconds = 3.0;
  exporter.on_step(record(1));
  exporter.on_step(slow);
  exporter.on_checkpoint({2, 1.5, 1.8e9});
  const auto s = series(exporter.scrape_text());
  EXPECT_DOUBLE_EQ(s.at("cyclegan_phase_seconds_total{rank=\"0\",phase=\"compute\"}"), 0.3);
  EXPECT_DOUBLE_EQ(s.at("cyclegan_phase_seconds_total{rank=\"0\",phase=\"allreduce\"}"), 0.06);
  EXPECT_DOUBLE_EQ(s.at("cyclegan_phase_seconds_total{rank=\"0\",phase=\"checkpoint\"}"), 1.5);
  EXPECT_EQ(s.at("cyclegan_last_checkpoint_timestamp_seconds{rank=\"0\"}"), 1.8e9);
  EXPECT_EQ(s.at("cyclegan_step_duration_seconds_bucket{rank=\"0\",le=\"0.25\"}"), 1);
  EXPECT_EQ(s.at("cyclegan_step_duration_seconds_bucket{rank=\"0\",le=\"2.5\"}"), 1);
  EXPECT_EQ(s.at("cyclegan_step_duration_seconds_bucket{rank=\"0\",le=\"5\"}"), 2);
  EXPECT_DOUBLE_EQ(s.at("cyclegan_step_duration_seconds_sum{rank=\"0\"}"), 3.2);
}

TEST(PrometheusExporter, EvaluationSeriesAppearWithTheFirstEvaluation) {
  PrometheusExporter exporter({}, run_info());
  EXPECT_EQ(exporter.scrape_text().find("cyclegan_eval_psnr_db{"), std::string::npos);
  eval::EvalReport r;
  r.paired = true;
  r.translation_psnr_db = 21.5;
  r.baseline_psnr_db = 20.6;
  r.translation_ssim = 0.9;
  r.cycle_a_l1 = 0.05;
  r.cycle_b_psnr_db = 30;
  r.colorization = true;
  r.colorized_psnr_db = 21.0;
  exporter.on_eval(400, r);
  const auto s = series(exporter.scrape_text());
  EXPECT_EQ(s.at("cyclegan_eval_step{rank=\"0\"}"), 400);
  EXPECT_EQ(s.at("cyclegan_eval_psnr_db{rank=\"0\",image=\"translated\"}"), 21.5);
  EXPECT_EQ(s.at("cyclegan_eval_psnr_db{rank=\"0\",image=\"baseline\"}"), 20.6);
  EXPECT_EQ(s.at("cyclegan_eval_psnr_db{rank=\"0\",image=\"cycle_b\"}"), 30);
  EXPECT_EQ(s.at("cyclegan_eval_psnr_db{rank=\"0\",image=\"colorized\"}"), 21.0);
  EXPECT_EQ(s.at("cyclegan_eval_ssim{rank=\"0\",image=\"translated\"}"), 0.9);
  EXPECT_EQ(s.at("cyclegan_eval_cycle_l1{rank=\"0\",domain=\"a\"}"), 0.05);
  // Unpaired data: no translation scores; grey B: no colorfulness.
  EXPECT_EQ(s.count("cyclegan_eval_colorfulness{rank=\"0\",image=\"real\"}"), 0u);
  // No FID/KID (no Inception weights): no series; images smaller than the period: no
  // checkerboard.
  EXPECT_EQ(s.count("cyclegan_eval_fid{rank=\"0\",direction=\"AtoB\"}"), 0u);
  EXPECT_EQ(
      s.count("cyclegan_eval_checkerboard{rank=\"0\",direction=\"AtoB\",image=\"translated\"}"),
      0u);

  r.fid = true;
  r.fid_a_to_b.fid = 85.5;
  r.fid_a_to_b.kid = 0.07;
  r.fid_b_to_a.fid = 120.25;
  r.fid_b_to_a.kid = 0.125;
  r.fid_floor = true;
  r.floor_a.fid = 12.5;
  r.floor_b.kid = 0.001;
  r.baseline_a_to_b.fid = 99.5;
  r.baseline_b_to_a.kid = 0.25;
  r.checkerboard_period = 8;
  r.checkerboard_a_to_b.translated = 3.0;
  r.checkerboard_a_to_b.baseline = 0.5;
  r.checkerboard_b_to_a.translated = 2.0;
  r.checkerboard_b_to_a.baseline = 1.25;
  exporter.on_eval(800, r);
  const auto t = series(exporter.scrape_text());
  EXPECT_EQ(t.at("cyclegan_eval_fid{rank=\"0\",direction=\"AtoB\"}"), 85.5);
  EXPECT_EQ(t.at("cyclegan_eval_fid{rank=\"0\",direction=\"BtoA\"}"), 120.25);
  EXPECT_EQ(t.at("cyclegan_eval_kid{rank=\"0\",direction=\"AtoB\"}"), 0.07);
  EXPECT_EQ(t.at("cyclegan_eval_kid{rank=\"0\",direction=\"BtoA\"}"), 0.125);
  EXPECT_EQ(t.at("cyclegan_eval_fid{rank=\"0\",direction=\"real_A\"}"), 12.5);
  EXPECT_EQ(t.at("cyclegan_eval_kid{rank=\"0\",direction=\"real_B\"}"), 0.001);
  EXPECT_EQ(t.at("cyclegan_eval_fid{rank=\"0\",direction=\"AtoB_baseline\"}"), 99.5);
  EXPECT_EQ(t.at("cyclegan_eval_kid{rank=\"0\",direction=\"BtoA_baseline\"}"), 0.25);
  const std::string checkerboard = "cyclegan_eval_checkerboard{rank=\"0\",direction=";
  EXPECT_DOUBLE_EQ(t.at(checkerboard + "\"AtoB\",image=\"translated\"}"), 3.0);
  EXPECT_DOUBLE_EQ(t.at(checkerboard + "\"AtoB\",image=\"baseline\"}"), 0.5);
  EXPECT_DOUBLE_EQ(t.at(checkerboard + "\"BtoA\",image=\"translated\"}"), 2.0);
  EXPECT_DOUBLE_EQ(t.at(checkerboard + "\"BtoA\",image=\"baseline\"}"), 1.25);
}

TEST(PrometheusExporter, PeakMemoryAndLossScalesFollowTheLastStep) {
  PrometheusExporter exporter({}, run_info());
  // Every series exists before the first step, losses unscaled (fp32, bf16) read 0.
  auto s = series(exporter.scrape_text());
  EXPECT_EQ(s.at("cyclegan_peak_memory_bytes{rank=\"0\"}"), 0);
  for (const char* optimizer : {"g", "d_a", "d_b"}) {
    EXPECT_EQ(s.at(std::string("cyclegan_loss_scale{rank=\"0\",optimizer=\"") + optimizer + "\"}"),
              0);
  }
  train::StepRecord fp16 = record(1);
  fp16.peak_memory_bytes = int64_t{5} << 30;
  fp16.loss_scale_g = 65536;
  fp16.loss_scale_d_a = 32768;
  fp16.loss_scale_d_b = 0.5;
  exporter.on_step(fp16);
  s = series(exporter.scrape_text());
  EXPECT_EQ(s.at("cyclegan_peak_memory_bytes{rank=\"0\"}"), 5368709120.0);
  EXPECT_EQ(s.at("cyclegan_loss_scale{rank=\"0\",optimizer=\"g\"}"), 65536);
  EXPECT_EQ(s.at("cyclegan_loss_scale{rank=\"0\",optimizer=\"d_a\"}"), 32768);
  EXPECT_EQ(s.at("cyclegan_loss_scale{rank=\"0\",optimizer=\"d_b\"}"), 0.5);
  // A gauge: the next step's values replace them (a lower peak too).
  train::StepRecord next = fp16;
  next.step = 2;
  next.peak_memory_bytes = 1000;
  next.loss_scale_g = 32768;
  exporter.on_step(next);
  s = series(exporter.scrape_text());
  EXPECT_EQ(s.at("cyclegan_peak_memory_bytes{rank=\"0\"}"), 1000);
  EXPECT_EQ(s.at("cyclegan_loss_scale{rank=\"0\",optimizer=\"g\"}"), 32768);
}

TEST(PrometheusExporter, WithoutAPortServesNothing) {
  PrometheusExporter exporter({}, run_info());
  EXPECT_EQ(exporter.port(), -1);
}

TEST(HttpEndpoint, AnswersOnlyGetOfItsPath) {
  HttpEndpoint endpoint("127.0.0.1", 0, "/metrics", [] { return std::string("up 1\n"); });
  EXPECT_EQ(get(endpoint.port(), "/metrics?x=1").substr(0, 15), "HTTP/1.1 200 OK");
  EXPECT_NE(get(endpoint.port(), "/metrics").find("\r\n\r\nup 1\n"), std::string::npos);
  EXPECT_EQ(get(endpoint.port(), "/").substr(0, 22), "HTTP/1.1 404 Not Found");
  EXPECT_EQ(
      http(endpoint.port(), "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n").substr(0, 12),
      "HTTP/1.1 405");
  const std::string head = http(endpoint.port(), "HEAD /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
}

TEST(HttpEndpoint, APortInUseIsAConfigErrorNamingTheAddress) {
  HttpEndpoint first("127.0.0.1", 0, "/metrics", [] { return std::string(); });
  try {
    HttpEndpoint second("127.0.0.1", first.port(), "/metrics", [] { return std::string(); });
    FAIL() << "a second endpoint bound the same port";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("127.0.0.1:" + std::to_string(first.port())),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("in use"), std::string::npos) << e.what();
  }
  EXPECT_THROW(HttpEndpoint("no-such-host.invalid", 0, "/metrics", [] { return std::string(); }),
               ConfigError);
}

TEST(PushgatewayUrl, ParsesHostAndPortAndRejectsTheRest) {
  EXPECT_EQ(parse_pushgateway_url("http://10.0.0.1:9091").host, "http://10.0.0.1");
  EXPECT_EQ(parse_pushgateway_url("http://10.0.0.1:9091").port, "9091");
  EXPECT_EQ(parse_pushgateway_url("gateway.cluster").host, "http://gateway.cluster");
  EXPECT_EQ(parse_pushgateway_url("gateway.cluster").port, "9091");
  EXPECT_EQ(parse_pushgateway_url("https://gw:443/").host, "https://gw");
  EXPECT_EQ(parse_pushgateway_url("http://[::1]:9091").host, "http://[::1]");
  for (const char* bad : {"", "ftp://gw:1", "http://gw:99999", "http://gw:12/metrics", "gw:port"}) {
    EXPECT_THROW(parse_pushgateway_url(bad), ConfigError) << bad;
  }
}

TEST(PushgatewayUrl, AHostThatDoesNotResolveIsRefusedAtStart) {
  EXPECT_EQ(check_pushgateway_url("http://127.0.0.1:9091").port, "9091");
  EXPECT_EQ(check_pushgateway_url("localhost").host, "http://localhost");
  EXPECT_EQ(check_pushgateway_url("http://[::1]:9091").host, "http://[::1]");
  try {
    check_pushgateway_url("notaurl.invalid");  // RFC 6761: never resolves
    ADD_FAILURE() << "an unresolvable host was accepted";
  } catch (const ConfigError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("--pushgateway 'notaurl.invalid'"), std::string::npos) << what;
    EXPECT_NE(what.find("does not resolve"), std::string::npos) << what;
  }
}

TEST(PrometheusExporter, TrainerReportsEveryStepAndCheckpoint) {
  auto s = train::testing::seed_setup(train::testing::fresh_dir("metrics_trainer"));
  s.train.batch_size = 2;
  s.train.steps = 3;
  s.train.checkpoint_every = 2;
  auto source = train::testing::make_source(s, 8);
  train::Trainer trainer(s.train, s.model, *source);
  PrometheusExporter exporter({}, run_info());
  trainer.add_metrics_sink(&exporter);
  const double before =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  trainer.train();
  const auto m = series(exporter.scrape_text());
  EXPECT_EQ(m.at("cyclegan_steps_total{rank=\"0\"}"), 3);
  EXPECT_EQ(m.at("cyclegan_step{rank=\"0\"}"), 3);
  EXPECT_EQ(m.at("cyclegan_target_steps{rank=\"0\"}"), 3);
  EXPECT_EQ(m.at("cyclegan_images_total{rank=\"0\"}"), 3 * 2 * 2);
  EXPECT_EQ(m.at("cyclegan_loss_count{rank=\"0\",term=\"g_total\"}"), 3);
  EXPECT_GT(m.at("cyclegan_loss_sum{rank=\"0\",term=\"cycle_a\"}"), 0);
  EXPECT_EQ(m.at("cyclegan_learning_rate{rank=\"0\",optimizer=\"generators\"}"), s.train.lr_g);
  EXPECT_GT(m.at("cyclegan_phase_seconds_total{rank=\"0\",phase=\"compute\"}"), 0);
  EXPECT_GT(m.at("cyclegan_phase_seconds_total{rank=\"0\",phase=\"optimizer\"}"), 0);
  EXPECT_GT(m.at("cyclegan_phase_seconds_total{rank=\"0\",phase=\"checkpoint\"}"), 0);
  EXPECT_GE(m.at("cyclegan_last_checkpoint_timestamp_seconds{rank=\"0\"}"), before);
  // The phases add up to the step time.
  double phases = 0;
  for (const char* p : {"data_wait", "compute", "allreduce", "optimizer"}) {
    phases += m.at(std::string("cyclegan_phase_seconds_total{rank=\"0\",phase=\"") + p + "\"}");
  }
  EXPECT_NEAR(phases, m.at("cyclegan_step_duration_seconds_sum{rank=\"0\"}"), 1e-6);
  // The last step's peak: the whole process' peak resident size on CPU, well above 10 MB.
  EXPECT_GT(m.at("cyclegan_peak_memory_bytes{rank=\"0\"}"), 1e7);
  EXPECT_EQ(m.at("cyclegan_loss_scale{rank=\"0\",optimizer=\"g\"}"), 0) << "fp32: no loss scaling";
}

TEST(PrometheusExporter, TrainerReportsTheLossScalesOfAnFp16Run) {
  auto s = train::testing::paper_setup(train::testing::fresh_dir("metrics_fp16"));
  s.train.steps = 2;
  s.train.precision = train::Precision::kFp16;
  s.train.loss_scale_init = 1024;
  auto source = train::testing::make_source(s, 8);
  train::Trainer trainer(s.train, s.model, *source);
  PrometheusExporter exporter({}, run_info());
  trainer.add_metrics_sink(&exporter);
  trainer.train();
  const auto m = series(exporter.scrape_text());
  // Each scaler's scale after the last update: the initial one, or a backoff of it after an
  // overflowing step; never 0 while scaling is on.
  const double scales[] = {trainer.scaler_g().scale_value(), trainer.scaler_d_a().scale_value(),
                           trainer.scaler_d_b().scale_value()};
  const char* names[] = {"g", "d_a", "d_b"};
  for (int i = 0; i < 3; ++i) {
    const double got =
        m.at(std::string("cyclegan_loss_scale{rank=\"0\",optimizer=\"") + names[i] + "\"}");
    EXPECT_EQ(got, scales[i]) << names[i];
    EXPECT_GT(got, 0) << names[i];
    EXPECT_LE(got, 1024) << names[i];
  }
}

}  // namespace
}  // namespace cg::metrics
