#include "train/run_report.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "common/accelerator.h"
#include "common/error.h"
#include "common/file_util.h"
#include "common/log.h"
#include "image/sample_grid.h"
#include "image/tensor_color.h"
#include "image/tensor_image.h"
#include "train/loss_terms.h"

namespace cg::train {

StepRecord make_step_record(const StepResult& result, const StepContext& context,
                            const torch::Device& device) {
  StepRecord r;
  r.step = context.step;
  r.total_steps = context.total_steps;
  r.images = context.images;
  r.losses = result.losses;
  r.lr_g = result.lr_g;
  r.lr_d = result.lr_d;
  r.step_seconds = context.step_seconds;
  r.data_wait_seconds = context.data_wait_seconds;
  r.allreduce_seconds = result.allreduce_seconds;
  r.optimizer_seconds = result.optimizer_seconds;
  r.compute_seconds = std::max(
      0.0, r.step_seconds - r.data_wait_seconds - r.allreduce_seconds - r.optimizer_seconds);
  r.allreduce_bytes = result.allreduce_bytes;
  r.loader_queued = context.loader_queued;
  if (device.is_cuda()) {
    const CudaMemory memory = cuda_memory(device.index());
    r.cuda_allocated_bytes = memory.allocated_bytes;
    r.cuda_reserved_bytes = memory.reserved_bytes;
  }
  r.peak_memory_bytes = context.peak_memory_bytes;
  r.loss_scale_g = result.loss_scales[0];
  r.loss_scale_d_a = result.loss_scales[1];
  r.loss_scale_d_b = result.loss_scales[2];
  r.update_skipped = result.update_skipped();
  return r;
}

RunReport::RunReport(const TrainerOptions& options)
    : run_dir_(options.run_dir), device_(options.device), dtype_(options.dtype) {}

void RunReport::step(const StepResult& result, const StepContext& context) {
  const StepRecord record = make_step_record(result, context, device_);
  for (auto* sink : sinks_) sink->on_step(record);
}

void RunReport::checkpoint(const CheckpointRecord& record) {
  for (auto* sink : sinks_) sink->on_checkpoint(record);
}

void RunReport::samples(model::CycleGan& model, const data::UnpairedBatch& batch, int64_t step,
                        double colour_gain) {
  torch::NoGradGuard no_grad;
  const int64_t n = std::min<int64_t>(4, batch.a.size(0));
  torch::Tensor a = batch.a.narrow(0, 0, n).to(device_, dtype_);
  torch::Tensor b = batch.b.narrow(0, 0, n).to(device_, dtype_);
  torch::Tensor g_a = model->g(a), f_b = model->f(b);
  char name[48];
  std::snprintf(name, sizeof(name), "step_%08lld.png", static_cast<long long>(step));
  auto dir = std::filesystem::path(run_dir_) / "samples";
  std::filesystem::create_directories(dir);
  const model::ImageRange range = model->range();
  std::vector<torch::Tensor> top = {a, g_a, model->f(g_a)}, bottom = {b, f_b, model->g(f_b)};
  if (a.size(1) == 1 && b.size(1) == 3) {
    // Colorization: a last column with G's colours on its gray input's luminance, what
    // cyclegan_translate --keep-luma writes (with the checkpoint's chroma gain).
    top.push_back(image::with_luma(g_a, a, colour_gain).clamp(range.lo, range.hi));
    bottom.push_back(image::with_luma(bottom[2], f_b, colour_gain).clamp(range.lo, range.hi));
  }
  const torch::Tensor grid = image::sample_grid(top, bottom, range.lo, range.hi);
  SampleImage png{image::encode_png(grid), grid.size(0), grid.size(1), grid.size(2)};
  write_file_atomic((dir / name).string(), png.png);
  for (auto* sink : sinks_) sink->on_samples(step, png);
}

void RunReport::eval(int64_t step, const eval::EvalReport& report) {
  nlohmann::json json = report.to_json();
  json["step"] = step;
  const std::string path = eval::eval_report_path(run_dir_, step);
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  write_file_atomic(path, json.dump(2) + "\n");
  log::info("eval at step ", step, ": ", report.summary());
  last_eval_ = {step, report};
  for (auto* sink : sinks_) sink->on_eval(step, report);
}

std::string eval_summary_path(const std::string& run_dir) {
  return (std::filesystem::path(run_dir) / "eval" / "summary.json").string();
}

void RunReport::eval_summary(eval::Metric metric,
                             const std::optional<std::pair<double, int64_t>>& best,
                             const std::string& best_checkpoint) {
  if (!last_eval_) return;
  const auto& [last_step, last] = *last_eval_;
  nlohmann::json summary;
  summary["last"] = {{"step", last_step}, {"report", last.to_json()}};
  log::info("last evaluation (step ", last_step, "): ", last.summary());
  if (best) {
    const auto& [value, step] = *best;
    nlohmann::json report = nullptr;
    // The best may be of an earlier session of this run (a resume): its report is on disk.
    const std::string path = eval::eval_report_path(run_dir_, step);
    try {
      report = nlohmann::json::parse(read_file(path));
    } catch (const std::exception& e) {
      log::warn("the best evaluation's report ", path, " is not readable (", describe(e),
                "): the run summary holds its value only");
    }
    summary["best"] = {{"metric", eval::metric_name(metric)},
                       {"value", value},
                       {"step", step},
                       {"checkpoint", best_checkpoint},
                       {"report", report}};
    std::string last_value = "the last one";
    if (step != last_step && last.fid) {
      char text[64];
      std::snprintf(text, sizeof(text), "the last one scored %g", last.metric(metric));
      last_value = text;
    }
    log::info("best evaluation by ", eval::metric_name(metric), ": ", value, " at step ", step,
              " (", best_checkpoint, "); ", last_value);
  } else {
    summary["best"] = nullptr;
  }
  const std::string path = eval_summary_path(run_dir_);
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  write_file_atomic(path, summary.dump(2) + "\n");
}

std::string progress_text(const StepLosses& l, int64_t peak_bytes,
                          const std::array<double, 3>* loss_scales) {
  char text[160];
  int length = std::snprintf(text, sizeof(text), " peak %.0f MiB",
                             static_cast<double>(peak_bytes) / (1 << 20));
  if (loss_scales != nullptr) {
    std::snprintf(text + length, sizeof(text) - length, " scale %g/%g/%g", (*loss_scales)[0],
                  (*loss_scales)[1], (*loss_scales)[2]);
  }
  return loss_columns(l) + text;
}

}  // namespace cg::train
