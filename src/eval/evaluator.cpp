#include "eval/evaluator.h"

#include <algorithm>
#include <filesystem>

#include "common/error.h"
#include "data/color.h"
#include "data/dataset_manifest.h"
#include "data/image_set.h"
#include "eval/image_quality.h"

namespace cg::eval {
namespace {

// All (or the first `limit`) images of one test domain: (N, channels, H, W) float in [0, 1].
torch::Tensor load_test_images(const std::string& dir, const data::DatasetManifest& manifest,
                               const std::string& domain, int64_t channels, int64_t limit) {
  data::ImageSet set(dir, manifest, domain, "test");
  const int64_t n = limit > 0 ? std::min(limit, set.size()) : set.size();
  CG_REQUIRE(n > 0, ConfigError, "data set ", dir, " has no test images in domain ", domain);
  torch::Tensor hwc = torch::empty({n, set.height(), set.width(), set.channels()}, torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) set.read(i, hwc[i].data_ptr<uint8_t>());
  torch::Tensor images = hwc.permute({0, 3, 1, 2}).to(torch::kFloat).div(255.0);
  if (set.channels() == 3 && channels == 1) images = data::to_gray(images);
  if (set.channels() == 1 && channels == 3) images = images.expand({-1, 3, -1, -1});
  return images.contiguous();
}

// Runs `net` over `images` ([0, 1]) in batches, in the model's range, dtype and device;
// returns the outputs mapped back to [0, 1] on the CPU.
template <typename Net>
torch::Tensor apply(Net&& net, const torch::Tensor& images, const model::ImageRange& range,
                    const torch::TensorOptions& options, int64_t batch_size) {
  std::vector<torch::Tensor> out;
  for (int64_t start = 0; start < images.size(0); start += batch_size) {
    const int64_t n = std::min(batch_size, images.size(0) - start);
    torch::Tensor x =
        data::from_unit_range(images.narrow(0, start, n), range.lo, range.hi).to(options);
    torch::Tensor y = net(x).to(torch::kCPU, torch::kFloat);
    out.push_back(((y - range.lo) / (range.hi - range.lo)).clamp(0, 1));
  }
  return torch::cat(out);
}

}  // namespace

std::string eval_report_path(const std::string& run_dir, int64_t step) {
  return (std::filesystem::path(run_dir) / "eval" / ("step_" + std::to_string(step) + ".json"))
      .string();
}

nlohmann::json EvalReport::to_json() const {
  nlohmann::json j = {{"images_a", images_a},     {"images_b", images_b},
                      {"cycle_a_l1", cycle_a_l1}, {"cycle_a_psnr_db", cycle_a_psnr_db},
                      {"cycle_b_l1", cycle_b_l1}, {"cycle_b_psnr_db", cycle_b_psnr_db}};
  if (paired) {
    j["translation_psnr_db"] = translation_psnr_db;
    j["translation_ssim"] = translation_ssim;
    j["baseline_psnr_db"] = baseline_psnr_db;
    j["baseline_ssim"] = baseline_ssim;
  }
  if (colorization) {
    j["colorized_psnr_db"] = colorized_psnr_db;
    j["colorized_ssim"] = colorized_ssim;
  }
  if (colour_b) {
    j["colorfulness_translated"] = colorfulness_translated;
    j["colorfulness_real"] = colorfulness_real;
  }
  return j;
}

Evaluator::Evaluator(const std::string& dir, int64_t channels_a, int64_t channels_b,
                     int64_t max_images) {
  const data::DatasetManifest manifest = data::read_manifest(dir);
  a_ = load_test_images(dir, manifest, "A", channels_a, max_images);
  b_ = load_test_images(dir, manifest, "B", channels_b, max_images);
  paired_ = manifest.paired_test && a_.size(0) == b_.size(0) && a_.size(2) == b_.size(2) &&
            a_.size(3) == b_.size(3);
}

EvalReport Evaluator::evaluate(model::CycleGan& net, int64_t batch_size) const {
  torch::NoGradGuard no_grad;
  const bool was_training = net->is_training();
  net->eval();
  const torch::Tensor any = net->parameters().front();
  const torch::TensorOptions options = any.options();
  const model::ImageRange range = net->range();
  auto g = [&](const torch::Tensor& x) { return net->g(x); };
  auto f = [&](const torch::Tensor& x) { return net->f(x); };
  const torch::Tensor g_a = apply(g, a_, range, options, batch_size);
  const torch::Tensor f_b = apply(f, b_, range, options, batch_size);
  const torch::Tensor a_cycled = apply(f, g_a, range, options, batch_size);
  const torch::Tensor b_cycled = apply(g, f_b, range, options, batch_size);
  net->train(was_training);

  EvalReport r;
  r.images_a = a_.size(0);
  r.images_b = b_.size(0);
  r.cycle_a_l1 = mean_abs_error(a_cycled, a_);
  r.cycle_a_psnr_db = psnr(a_cycled, a_);
  r.cycle_b_l1 = mean_abs_error(b_cycled, b_);
  r.cycle_b_psnr_db = psnr(b_cycled, b_);
  if (paired_) {
    const torch::Tensor baseline = a_.size(1) == b_.size(1) ? a_
                                   : b_.size(1) == 3        ? a_.expand({-1, 3, -1, -1})
                                                            : data::to_gray(a_);
    r.paired = true;
    r.translation_psnr_db = psnr(g_a, b_);
    r.translation_ssim = ssim(g_a, b_);
    r.baseline_psnr_db = psnr(baseline, b_);
    r.baseline_ssim = ssim(baseline, b_);
    if (a_.size(1) == 1 && b_.size(1) == 3) {
      const torch::Tensor colorized = data::with_luma(g_a, a_).clamp(0, 1);
      r.colorization = true;
      r.colorized_psnr_db = psnr(colorized, b_);
      r.colorized_ssim = ssim(colorized, b_);
    }
  }
  if (b_.size(1) == 3) {
    r.colour_b = true;
    r.colorfulness_translated = colorfulness(g_a);
    r.colorfulness_real = colorfulness(b_);
  }
  return r;
}

}  // namespace cg::eval
