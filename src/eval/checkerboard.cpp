#include "eval/checkerboard.h"

#include <limits>

#include "image/tensor_color.h"

namespace cg::eval {
namespace {

// sums (2, bins) -> peak_S(b) per bin; NaN where the neighbourhood holds nothing.
torch::Tensor peaks(const torch::Tensor& sums) {
  TORCH_CHECK(sums.dim() == 2 && sums.size(0) == 2, "checkerboard: expected (2, bins) sums, got ",
              sums.sizes());
  const torch::Tensor s = sums.to(torch::kCPU, torch::kDouble);
  return torch::where(s[1] > 0, s[0] / s[1],
                      torch::full_like(s[0], std::numeric_limits<double>::quiet_NaN()));
}

}  // namespace

torch::Tensor checkerboard_spectra(const torch::Tensor& images, int64_t period) {
  TORCH_CHECK(images.dim() == 4 && (images.size(1) == 1 || images.size(1) == 3),
              "checkerboard_spectra expects (N, 1 or 3, H, W), got ", images.sizes());
  TORCH_CHECK(period >= 2, "checkerboard_spectra: period must be at least 2, got ", period);
  TORCH_CHECK(images.size(2) >= 2 * period && images.size(3) >= 2 * period,
              "checkerboard_spectra: images of ", images.size(2), "x", images.size(3),
              " are smaller than twice the period ", period);
  const int64_t h = images.size(2) / period * period, w = images.size(3) / period * period;
  torch::Tensor y = images.to(torch::kCPU, torch::kDouble).narrow(2, 0, h).narrow(3, 0, w);
  if (y.size(1) == 3) y = image::to_gray(y);
  y = y.squeeze(1);
  y = y - y.mean({1, 2}, /*keepdim=*/true);
  torch::Tensor power = torch::fft::fft2(y).abs().square();  // (N, h, w)
  power.index_put_({torch::indexing::Slice(), 0, 0}, 0.0);
  const torch::Tensor total = power.sum({1, 2}, /*keepdim=*/true);
  // A constant image (deviations from its mean below 1e-10: rounding) has no spectrum.
  const double none = static_cast<double>(h * w) * static_cast<double>(h * w) * 1e-20;
  power = torch::where(total > none, power / total.clamp_min(none), torch::zeros_like(power));
  torch::Tensor around = torch::zeros_like(power);
  for (int64_t dy = -1; dy <= 1; ++dy) {
    for (int64_t dx = -1; dx <= 1; ++dx) {
      if (dy != 0 || dx != 0) around += power.roll({dy, dx}, {1, 2});
    }
  }
  around /= 8;
  using torch::indexing::Slice;
  const auto at_bins = [&](const torch::Tensor& p) {
    // (N, period, period) at (k h / period, l w / period), flattened, (0, 0) dropped.
    return p.index({Slice(), Slice(0, h, h / period), Slice(0, w, w / period)})
        .reshape({p.size(0), period * period})
        .narrow(1, 1, period * period - 1);
  };
  return torch::stack({at_bins(power), at_bins(around)}, 1);
}

double checkerboard_peak(const torch::Tensor& sums) { return peaks(sums).mean().item<double>(); }

double checkerboard_measure(const torch::Tensor& translated, const torch::Tensor& real) {
  TORCH_CHECK(translated.sizes() == real.sizes(), "checkerboard_measure: sums of ",
              translated.sizes(), " and ", real.sizes());
  return (peaks(translated) / peaks(real)).mean().item<double>();
}

}  // namespace cg::eval
