#include "metrics/prometheus_exporter.h"

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <cmath>

#include "common/error.h"
#include "common/log.h"
#include "metrics/http_endpoint.h"
#include "metrics/process_collector.h"
#include "metrics/pushgateway_pusher.h"
#include "train/loss_terms.h"

namespace cg::metrics {
namespace {

using prometheus::Counter;
using prometheus::Gauge;
using prometheus::Labels;

// Registry and process metrics as one collectable: a Pushgateway PUT replaces the whole
// group, so everything of a rank has to travel in one request.
class RankCollectable final : public prometheus::Collectable {
 public:
  RankCollectable(std::shared_ptr<prometheus::Registry> registry, const Labels& labels)
      : registry_(std::move(registry)) {
    for (const auto& [name, value] : labels) labels_.push_back({name, value});
  }
  std::vector<prometheus::MetricFamily> Collect() const override {
    std::vector<prometheus::MetricFamily> families = registry_->Collect();
    for (auto& f : collect_process_metrics(labels_)) families.push_back(std::move(f));
    return families;
  }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::vector<prometheus::ClientMetric::Label> labels_;
};

Labels constant_labels(const ExporterOptions& o) {
  Labels labels{{"rank", std::to_string(o.rank)}};
  if (!o.job_id.empty()) labels["job_id"] = o.job_id;
  return labels;
}

}  // namespace

struct PrometheusExporter::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::shared_ptr<RankCollectable> collectable;
  std::unique_ptr<HttpEndpoint> endpoint;
  int port = -1;
  std::unique_ptr<PushgatewayPusher> pusher;

  Counter* steps = nullptr;
  Counter* images = nullptr;
  Counter* nonfinite = nullptr;
  Counter* skipped = nullptr;
  Counter* allreduce_bytes = nullptr;
  Counter *data_wait = nullptr, *compute = nullptr, *allreduce = nullptr, *optimizer = nullptr,
          *checkpoint = nullptr;
  Gauge *step = nullptr, *target_steps = nullptr, *lr_g = nullptr, *lr_d = nullptr,
        *queue = nullptr, *cuda_allocated = nullptr, *cuda_reserved = nullptr,
        *peak_memory = nullptr, *loss_scale_g = nullptr, *loss_scale_d_a = nullptr,
        *loss_scale_d_b = nullptr, *last_checkpoint = nullptr;
  prometheus::Histogram* step_duration = nullptr;
  // Evaluation families: their series appear with the first evaluation.
  prometheus::Family<Gauge>*eval_step = nullptr, *eval_psnr = nullptr, *eval_ssim = nullptr,
  *eval_colorfulness = nullptr, *eval_cycle_l1 = nullptr, *eval_fid = nullptr, *eval_kid = nullptr,
  *eval_checkerboard = nullptr;
  // In the order of train::StepLosses' fields.
  std::vector<std::pair<prometheus::Histogram*, double train::StepLosses::*>> losses;

  void build(const Labels& labels, const RunInfo& info);
};

void PrometheusExporter::Impl::build(const Labels& labels, const RunInfo& info) {
  auto& r = *registry;
  using prometheus::BuildCounter;
  using prometheus::BuildGauge;
  steps = &BuildCounter()
               .Name("cyclegan_steps_total")
               .Help("Training steps this process completed.")
               .Labels(labels)
               .Register(r)
               .Add({});
  images = &BuildCounter()
                .Name("cyclegan_images_total")
                .Help("Images this rank read for training, domains A and B together.")
                .Labels(labels)
                .Register(r)
                .Add({});
  nonfinite = &BuildCounter()
                   .Name("cyclegan_nonfinite_losses_total")
                   .Help("Steps with a NaN or infinite loss term.")
                   .Labels(labels)
                   .Register(r)
                   .Add({});
  skipped = &BuildCounter()
                 .Name("cyclegan_skipped_steps_total")
                 .Help(
                     "Steps with an optimizer update not applied on every rank: dropped for "
                     "a non-finite gradient (--on-nonfinite), or skipped by an fp16 loss "
                     "scaler after an overflow.")
                 .Labels(labels)
                 .Register(r)
                 .Add({});
  allreduce_bytes = &BuildCounter()
                         .Name("cyclegan_allreduce_bytes_total")
                         .Help("Gradient bytes this rank all-reduced.")
                         .Labels(labels)
                         .Register(r)
                         .Add({});
  auto& phases = BuildCounter()
                     .Name("cyclegan_phase_seconds_total")
                     .Help("Wall-clock seconds spent per phase of training.")
                     .Labels(labels)
                     .Register(r);
  data_wait = &phases.Add({{"phase", "data_wait"}});
  compute = &phases.Add({{"phase", "compute"}});
  allreduce = &phases.Add({{"phase", "allreduce"}});
  optimizer = &phases.Add({{"phase", "optimizer"}});
  checkpoint = &phases.Add({{"phase", "checkpoint"}});

  step = &BuildGauge()
              .Name("cyclegan_step")
              .Help("Current training step (continues across resumes).")
              .Labels(labels)
              .Register(r)
              .Add({});
  target_steps = &BuildGauge()
                      .Name("cyclegan_target_steps")
                      .Help("Steps the run trains for.")
                      .Labels(labels)
                      .Register(r)
                      .Add({});
  auto& lr = BuildGauge()
                 .Name("cyclegan_learning_rate")
                 .Help("Learning rate of the last step.")
                 .Labels(labels)
                 .Register(r);
  lr_g = &lr.Add({{"optimizer", "generators"}});
  lr_d = &lr.Add({{"optimizer", "discriminators"}});
  queue = &BuildGauge()
               .Name("cyclegan_loader_queue_batches")
               .Help("Batches ready in this rank's loader queue after the last step.")
               .Labels(labels)
               .Register(r)
               .Add({});
  cuda_allocated =
      &BuildGauge()
           .Name("cyclegan_cuda_memory_allocated_bytes")
           .Help("CUDA memory held by tensors of this process (0 when training on CPU).")
           .Labels(labels)
           .Register(r)
           .Add({});
  cuda_reserved =
      &BuildGauge()
           .Name("cyclegan_cuda_memory_reserved_bytes")
           .Help("CUDA memory reserved by the caching allocator (0 when training on CPU).")
           .Labels(labels)
           .Register(r)
           .Add({});
  peak_memory =
      &BuildGauge()
           .Name("cyclegan_peak_memory_bytes")
           .Help(
               "Peak memory of the last step on the training device: on CPU the process' peak "
               "resident size, on CUDA the peak of bytes held by tensors (0: not measured).")
           .Labels(labels)
           .Register(r)
           .Add({});
  // Always exported, 0 when losses are not scaled (fp32, bf16), as the CUDA gauges are 0 on
  // CPU: every series exists from the first scrape, whatever the precision.
  auto& loss_scale =
      BuildGauge()
          .Name("cyclegan_loss_scale")
          .Help(
              "fp16 loss scale (GradScaler) of an optimizer after the last step: g (G and F), "
              "d_a, d_b; 0 when losses are not scaled (fp32, bf16).")
          .Labels(labels)
          .Register(r);
  loss_scale_g = &loss_scale.Add({{"optimizer", "g"}});
  loss_scale_d_a = &loss_scale.Add({{"optimizer", "d_a"}});
  loss_scale_d_b = &loss_scale.Add({{"optimizer", "d_b"}});
  last_checkpoint =
      &BuildGauge()
           .Name("cyclegan_last_checkpoint_timestamp_seconds")
           .Help("Unix time of the last checkpoint (the process start until the first one).")
           .Labels(labels)
           .Register(r)
           .Add({});
  last_checkpoint->SetToCurrentTime();
  BuildGauge()
      .Name("cyclegan_checkpoint_every_steps")
      .Help("Steps between checkpoints (0: only at the end).")
      .Labels(labels)
      .Register(r)
      .Add({})
      .Set(static_cast<double>(info.checkpoint_every));
  BuildGauge()
      .Name("cyclegan_run_info")
      .Help("Constant 1, labelled with facts about the run.")
      .Labels(labels)
      .Register(r)
      .Add({{"version", info.version},
            {"preset", info.preset},
            {"backend", info.backend},
            {"device", info.device},
            {"world_size", std::to_string(info.world_size)}})
      .Set(1);

  eval_step = &BuildGauge()
                   .Name("cyclegan_eval_step")
                   .Help("Step of the last evaluation on the test split.")
                   .Labels(labels)
                   .Register(r);
  eval_psnr =
      &BuildGauge()
           .Name("cyclegan_eval_psnr_db")
           .Help(
               "PSNR on the test split: G(a) vs b (translated), a as B (baseline), F(G(a)) vs a "
               "(cycle_a), G(F(b)) vs b (cycle_b).")
           .Labels(labels)
           .Register(r);
  eval_ssim = &BuildGauge()
                   .Name("cyclegan_eval_ssim")
                   .Help("SSIM on the test split: translated and baseline.")
                   .Labels(labels)
                   .Register(r);
  eval_colorfulness =
      &BuildGauge()
           .Name("cyclegan_eval_colorfulness")
           .Help("Colorfulness (Hasler and Suesstrunk) of G(a) (translated) and of b (real).")
           .Labels(labels)
           .Register(r);
  eval_cycle_l1 =
      &BuildGauge()
           .Name("cyclegan_eval_cycle_l1")
           .Help("Mean absolute cycle reconstruction error on the test split, values in [0, 1].")
           .Labels(labels)
           .Register(r);
  eval_fid = &BuildGauge()
                  .Name("cyclegan_eval_fid")
                  .Help(
                      "FID on the test split (--fid-images per set): G(test A) vs test B "
                      "(AtoB), F(test B) vs test A (BtoA), the untranslated input vs the "
                      "same real set (AtoB_baseline, BtoA_baseline: doing nothing), and "
                      "train vs test of real images (real_A, real_B: the floor).")
                  .Labels(labels)
                  .Register(r);
  eval_kid = &BuildGauge()
                  .Name("cyclegan_eval_kid")
                  .Help("KID (mean over subsets) of the same sets as cyclegan_eval_fid.")
                  .Labels(labels)
                  .Register(r);
  eval_checkerboard =
      &BuildGauge()
           .Name("cyclegan_eval_checkerboard")
           .Help(
               "Checkerboard measure on the test split: how the luminance spectrum peaks at "
               "the frequencies of the generator's upsampling period, relative to the real "
               "test images of the target domain (1 = like real images): of the "
               "translations (image=translated) and of the untranslated inputs "
               "(image=baseline), direction AtoB or BtoA.")
           .Labels(labels)
           .Register(r);
  step_duration =
      &prometheus::BuildHistogram()
           .Name("cyclegan_step_duration_seconds")
           .Help("Wall-clock duration of a training step, data wait included.")
           .Labels(labels)
           .Register(r)
           .Add({}, prometheus::Histogram::BucketBoundaries{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                            0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 60});
  // _sum and _count give the mean loss over any window, which a gauge sampled at scrape
  // time cannot. A histogram without buckets, not a summary: prometheus-cpp's summary
  // keeps every observation of its time window when it has no quantiles (microseconds per
  // observation, growing), its histogram costs nanoseconds.
  auto& loss =
      prometheus::BuildHistogram()
          .Name("cyclegan_loss")
          .Help("Loss terms of the training steps (rate of _sum over rate of _count: the mean).")
          .Labels(labels)
          .Register(r);
  for (const train::LossTerm& term : train::kLossTerms) {
    losses.emplace_back(
        &loss.Add({{"term", term.label}}, prometheus::Histogram::BucketBoundaries{}), term.value);
  }
}

PrometheusExporter::PrometheusExporter(const ExporterOptions& options, const RunInfo& info)
    : impl_(std::make_unique<Impl>()) {
  const Labels labels = constant_labels(options);
  impl_->build(labels, info);
  impl_->collectable = std::make_shared<RankCollectable>(impl_->registry, labels);
  if (options.port >= 0) {
    auto collectable = impl_->collectable;
    impl_->endpoint = std::make_unique<HttpEndpoint>(
        options.bind, options.port, "/metrics",
        [collectable] { return prometheus::TextSerializer().Serialize(collectable->Collect()); });
    impl_->port = impl_->endpoint->port();
  }
  if (!options.pushgateway.empty()) {
    impl_->pusher =
        std::make_unique<PushgatewayPusher>(options.pushgateway, options.push_job, labels,
                                            impl_->collectable, options.push_interval_seconds);
  }
}

PrometheusExporter::~PrometheusExporter() = default;

void PrometheusExporter::on_step(const train::StepRecord& r) {
  Impl& m = *impl_;
  m.steps->Increment();
  m.images->Increment(static_cast<double>(r.images));
  m.step->Set(static_cast<double>(r.step));
  m.target_steps->Set(static_cast<double>(r.total_steps));
  m.lr_g->Set(r.lr_g);
  m.lr_d->Set(r.lr_d);
  m.step_duration->Observe(r.step_seconds);
  m.data_wait->Increment(r.data_wait_seconds);
  m.compute->Increment(r.compute_seconds);
  m.allreduce->Increment(r.allreduce_seconds);
  m.optimizer->Increment(r.optimizer_seconds);
  m.allreduce_bytes->Increment(static_cast<double>(r.allreduce_bytes));
  m.queue->Set(static_cast<double>(r.loader_queued));
  m.cuda_allocated->Set(static_cast<double>(r.cuda_allocated_bytes));
  m.cuda_reserved->Set(static_cast<double>(r.cuda_reserved_bytes));
  m.peak_memory->Set(static_cast<double>(r.peak_memory_bytes));
  m.loss_scale_g->Set(r.loss_scale_g);
  m.loss_scale_d_a->Set(r.loss_scale_d_a);
  m.loss_scale_d_b->Set(r.loss_scale_d_b);
  bool finite = true;
  for (const auto& [histogram, field] : m.losses) {
    const double value = r.losses.*field;
    // A NaN would poison the _sum for the rest of the run; it is counted instead.
    if (std::isfinite(value)) {
      histogram->Observe(value);
    } else {
      finite = false;
    }
  }
  if (!finite) m.nonfinite->Increment();
  if (r.update_skipped) m.skipped->Increment();
}

void PrometheusExporter::on_checkpoint(const train::CheckpointRecord& r) {
  impl_->checkpoint->Increment(r.seconds);
  impl_->last_checkpoint->Set(r.unix_time);
}

void PrometheusExporter::on_eval(int64_t step, const eval::EvalReport& r) {
  Impl& m = *impl_;
  m.eval_step->Add({}).Set(static_cast<double>(step));
  m.eval_psnr->Add({{"image", "cycle_a"}}).Set(r.cycle_a_psnr_db);
  m.eval_psnr->Add({{"image", "cycle_b"}}).Set(r.cycle_b_psnr_db);
  m.eval_cycle_l1->Add({{"domain", "a"}}).Set(r.cycle_a_l1);
  m.eval_cycle_l1->Add({{"domain", "b"}}).Set(r.cycle_b_l1);
  if (r.paired) {
    m.eval_psnr->Add({{"image", "translated"}}).Set(r.translation_psnr_db);
    m.eval_psnr->Add({{"image", "baseline"}}).Set(r.baseline_psnr_db);
    m.eval_ssim->Add({{"image", "translated"}}).Set(r.translation_ssim);
    m.eval_ssim->Add({{"image", "baseline"}}).Set(r.baseline_ssim);
  }
  if (r.colorization) {
    m.eval_psnr->Add({{"image", "colorized"}}).Set(r.colorized_psnr_db);
    m.eval_ssim->Add({{"image", "colorized"}}).Set(r.colorized_ssim);
  }
  if (r.colour_b) {
    m.eval_colorfulness->Add({{"image", "translated"}}).Set(r.colorfulness_translated);
    m.eval_colorfulness->Add({{"image", "real"}}).Set(r.colorfulness_real);
  }
  if (r.colorizes) m.eval_colorfulness->Add({{"image", "colorized"}}).Set(r.colorfulness_colorized);
  if (r.checkerboard_period > 0) {
    for (const auto& [direction, scores] :
         {std::pair{"AtoB", &r.checkerboard_a_to_b}, std::pair{"BtoA", &r.checkerboard_b_to_a}}) {
      m.eval_checkerboard->Add({{"direction", direction}, {"image", "translated"}})
          .Set(scores->translated);
      m.eval_checkerboard->Add({{"direction", direction}, {"image", "baseline"}})
          .Set(scores->baseline);
    }
  }
  if (r.fid) {
    std::vector<std::pair<const char*, const eval::FidScores*>> sets = {
        {"AtoB", &r.fid_a_to_b},
        {"BtoA", &r.fid_b_to_a},
        {"AtoB_baseline", &r.baseline_a_to_b},
        {"BtoA_baseline", &r.baseline_b_to_a}};
    if (r.fid_colorized) sets.push_back({"AtoB_colorized", &r.colorized_a_to_b});
    if (r.fid_floor) {
      sets.push_back({"real_A", &r.floor_a});
      sets.push_back({"real_B", &r.floor_b});
    }
    for (const auto& [direction, scores] : sets) {
      m.eval_fid->Add({{"direction", direction}}).Set(scores->fid);
      m.eval_kid->Add({{"direction", direction}}).Set(scores->kid);
    }
  }
}

int PrometheusExporter::port() const { return impl_->port; }

int PrometheusExporter::push() {
  TORCH_CHECK(impl_->pusher, "PrometheusExporter::push: no --pushgateway configured");
  return impl_->pusher->push();
}

std::string PrometheusExporter::scrape_text() const {
  return prometheus::TextSerializer().Serialize(impl_->collectable->Collect());
}

}  // namespace cg::metrics
