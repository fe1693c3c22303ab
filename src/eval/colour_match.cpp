#include "eval/colour_match.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "common/error.h"
#include "data/dataset_manifest.h"
#include "data/image_set.h"
#include "eval/image_quality.h"
#include "eval/test_rows.h"
#include "image/tensor_color.h"

namespace cg::eval {
namespace {

constexpr int kSteps = 25;  // gains 2^(i / 6), i in [-12, 12]

double gain_at(int i) { return std::exp2((i - 12) / 6.0); }

// Up to `k` indices spread evenly over [0, n).
std::vector<int64_t> spread(int64_t n, int64_t k) {
  const int64_t count = std::min(n, k);
  std::vector<int64_t> out;
  for (int64_t j = 0; j < count; ++j) out.push_back(picked(j, n, count));
  return out;
}

// The central height x width pixels of (N, C, H, W) images (at most H x W).
torch::Tensor centre(const torch::Tensor& images, int64_t height, int64_t width) {
  const int64_t h = std::min(height, images.size(2)), w = std::min(width, images.size(3));
  return images.narrow(2, (images.size(2) - h) / 2, h).narrow(3, (images.size(3) - w) / 2, w);
}

}  // namespace

ColourMatch::ColourMatch(const std::string& dir, int64_t crop, int64_t images, int64_t batch_size)
    : batch_size_(batch_size) {
  TORCH_CHECK(images >= 1 && batch_size >= 1, "ColourMatch: images ", images, ", batch size ",
              batch_size);
  const data::DatasetManifest manifest = data::read_manifest(dir);
  for (const char* domain : {"A", "B"}) {
    CG_REQUIRE(manifest.count(domain, "train") > 0, ConfigError, "data set ", dir,
               " has no training images in domain ", domain,
               ": the colorizations' colour level is matched to them");
  }
  const data::ImageSet train_a(dir, manifest, "A", "train");
  const data::ImageSet train_b(dir, manifest, "B", "train");
  const auto cut = [crop](const torch::Tensor& x) { return crop > 0 ? centre(x, crop, crop) : x; };
  // A in batches too, each cut and stored as 8-bit: memory follows the crops, not the
  // stored images.
  const std::vector<int64_t> rows_a = spread(train_a.size(), images);
  std::vector<torch::Tensor> parts;
  for (size_t s = 0; s < rows_a.size(); s += static_cast<size_t>(batch_size)) {
    const torch::Tensor a = cut(read_images(train_a, slice(rows_a, s, batch_size), 1));
    parts.push_back(a.mul(255).round().to(torch::kUInt8));
  }
  gray_ = torch::cat(parts);
  const std::vector<int64_t> rows_b = spread(train_b.size(), images);
  double sum = 0;
  for (size_t s = 0; s < rows_b.size(); s += static_cast<size_t>(batch_size)) {
    const std::vector<int64_t> idx = slice(rows_b, s, batch_size);
    sum += colorfulness(cut(read_images(train_b, idx, 3))) * static_cast<double>(idx.size());
  }
  target_ = sum / static_cast<double>(rows_b.size());
}

double ColourMatch::gain(model::CycleGan& net) const {
  torch::NoGradGuard no_grad;
  const bool was_training = net->is_training();
  net->eval();
  const torch::TensorOptions options = net->parameters().front().options();
  const model::ImageRange range = net->range();
  const int64_t n = gray_.size(0), multiple = net->size_multiple();
  const torch::Tensor gray =
      centre(gray_, gray_.size(2) / multiple * multiple, gray_.size(3) / multiple * multiple);
  TORCH_CHECK(gray.size(2) > 0 && gray.size(3) > 0, "ColourMatch: images of ", gray_.sizes(),
              " are smaller than the generator's size multiple ", multiple);
  std::array<double, kSteps> sums{};
  for (int64_t s = 0; s < n; s += batch_size_) {
    const int64_t count = std::min(batch_size_, n - s);
    const torch::Tensor a = gray.narrow(0, s, count).to(torch::kFloat).div(255.0);
    const torch::Tensor g_a =
        translate([&](const torch::Tensor& x) { return net->g(x); }, a, range, options);
    for (int i = 0; i < kSteps; ++i) {
      sums[i] += colorfulness(image::with_luma(g_a, a, gain_at(i)).clamp(0, 1)) *
                 static_cast<double>(count);
    }
  }
  net->train(was_training);
  // Colorfulness grows with the gain (clipping at black and white bends it, so the
  // curve is sampled rather than assumed linear): interpolate log2 k where it crosses.
  const auto level = [&](int i) { return sums[i] / static_cast<double>(n); };
  // A generator that gives NaN or infinity has no colour level to match.
  for (int i = 0; i < kSteps; ++i) {
    if (!std::isfinite(level(i))) return 1.0;
  }
  if (level(kSteps - 1) <= 0) return 1.0;
  if (level(0) >= target_) return kMinGain;
  for (int i = 1; i < kSteps; ++i) {
    if (level(i) < target_) continue;
    const double t = (target_ - level(i - 1)) / (level(i) - level(i - 1));
    return std::exp2((i - 1 + t - 12) / 6.0);
  }
  return kMaxGain;
}

}  // namespace cg::eval
