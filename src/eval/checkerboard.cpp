#include "eval/checkerboard.h"

#include <limits>

#include "image/tensor_color.h"

namespace cg::eval {

torch::Tensor checkerboard_fractions(const torch::Tensor& images, int64_t period) {
  TORCH_CHECK(images.dim() == 4 && (images.size(1) == 1 || images.size(1) == 3),
              "checkerboard_fractions expects (N, 1 or 3, H, W), got ", images.sizes());
  TORCH_CHECK(period >= 2, "checkerboard_fractions: period must be at least 2, got ", period);
  TORCH_CHECK(images.size(2) >= period && images.size(3) >= period,
              "checkerboard_fractions: images of ", images.size(2), "x", images.size(3),
              " are smaller than the period ", period);
  const int64_t h = images.size(2) / period * period, w = images.size(3) / period * period;
  torch::Tensor y = images.to(torch::kCPU, torch::kDouble).narrow(2, 0, h).narrow(3, 0, w);
  if (y.size(1) == 3) y = image::to_gray(y);
  y = y.squeeze(1);
  y = y - y.mean({1, 2}, /*keepdim=*/true);
  const torch::Tensor power = torch::fft::fft2(y).abs().square();  // (N, h, w); DC is ~0
  using torch::indexing::Slice;
  const torch::Tensor at_period =
      power.index({Slice(), Slice(0, h, h / period), Slice(0, w, w / period)});
  const torch::Tensor dc = power.index({Slice(), 0, 0});
  const torch::Tensor periodic = at_period.sum({1, 2}) - dc;
  const torch::Tensor total = power.sum({1, 2}) - dc;
  // A constant image (deviations from its mean below 1e-10: rounding) has no checkerboard.
  const double none = static_cast<double>(h * w) * static_cast<double>(h * w) * 1e-20;
  return torch::where(total > none, periodic / total.clamp_min(none), torch::zeros_like(total));
}

double checkerboard_ratio(double mean_c_translated, double mean_c_real) {
  return mean_c_real > 0 ? mean_c_translated / mean_c_real
                         : std::numeric_limits<double>::quiet_NaN();
}

}  // namespace cg::eval
