#include "train/run_report.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "common/accelerator.h"
#include "common/file_util.h"
#include "common/log.h"
#include "image/sample_grid.h"
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

void RunReport::samples(model::CycleGan& model, const data::UnpairedBatch& batch, int64_t step) {
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
  const torch::Tensor grid =
      image::sample_grid({a, g_a, model->f(g_a)}, {b, f_b, model->g(f_b)}, range.lo, range.hi);
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
  std::string line = "eval at step " + std::to_string(step) + ":";
  auto add = [&line](const char* format, double value) {
    char part[64];
    std::snprintf(part, sizeof(part), format, value);
    line += part;
  };
  if (report.paired) {
    add(" test PSNR %.2f dB,", report.translation_psnr_db);
    if (report.colorization) add(" colorized (input's luma) %.2f dB,", report.colorized_psnr_db);
    add(" input as output %.2f dB,", report.baseline_psnr_db);
    add(" SSIM %.3f,", report.translation_ssim);
  }
  add(" cycle A %.2f dB,", report.cycle_a_psnr_db);
  add(" cycle B %.2f dB", report.cycle_b_psnr_db);
  if (report.fid) {
    add(", FID A->B %.2f", report.fid_a_to_b.fid);
    add(" (KID %.4f),", report.fid_a_to_b.kid);
    add(" B->A %.2f", report.fid_b_to_a.fid);
    add(" (KID %.4f)", report.fid_b_to_a.kid);
    line += " on " + std::to_string(report.fid_a_to_b.images) + " images";
    if (report.fid_floor) {
      add("; real train vs test %.2f", report.floor_b.fid);
      add(" (B), %.2f (A)", report.floor_a.fid);
    }
  }
  add(" [%.1f s]", report.seconds);
  log::info(line);
  for (auto* sink : sinks_) sink->on_eval(step, report);
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
