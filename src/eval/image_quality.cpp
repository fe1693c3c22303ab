#include "eval/image_quality.h"

#include <cmath>
#include <limits>

namespace cg::eval {
namespace {

void check_pair(const torch::Tensor& got, const torch::Tensor& want, const char* what) {
  TORCH_CHECK(got.dim() == 4, what, " expects (N, C, H, W) images, got ", got.sizes());
  TORCH_CHECK(got.sizes() == want.sizes(), what, ": shapes differ, ", got.sizes(), " and ",
              want.sizes());
}

// 11x11 Gaussian window, sigma 1.5, normalised to sum 1: (C, 1, 11, 11) for a depthwise conv.
torch::Tensor gaussian_window(int64_t channels) {
  torch::Tensor x = torch::arange(11, torch::kDouble) - 5.0;
  torch::Tensor g = torch::exp(-x * x / (2 * 1.5 * 1.5));
  g = g / g.sum();
  return torch::outer(g, g).expand({channels, 1, 11, 11}).contiguous();
}

}  // namespace

double mean_squared_error(const torch::Tensor& got, const torch::Tensor& want) {
  check_pair(got, want, "mean_squared_error");
  return (got.to(torch::kDouble) - want.to(torch::kDouble)).pow(2).mean().item<double>();
}

double psnr(const torch::Tensor& got, const torch::Tensor& want) {
  check_pair(got, want, "psnr");
  const double mse = mean_squared_error(got, want);
  return mse == 0 ? std::numeric_limits<double>::infinity() : 10.0 * std::log10(1.0 / mse);
}

double ssim(const torch::Tensor& got, const torch::Tensor& want) {
  check_pair(got, want, "ssim");
  TORCH_CHECK(got.size(2) >= 11 && got.size(3) >= 11, "ssim needs images of at least 11x11, got ",
              got.sizes());
  namespace F = torch::nn::functional;
  const torch::Tensor x = got.to(torch::kDouble), y = want.to(torch::kDouble);
  const int64_t c = x.size(1);
  const torch::Tensor w = gaussian_window(c).to(x.device());
  auto blur = [&](const torch::Tensor& t) {
    return F::conv2d(t, w, F::Conv2dFuncOptions().groups(c));
  };
  const torch::Tensor mx = blur(x), my = blur(y);
  const torch::Tensor vx = blur(x * x) - mx * mx, vy = blur(y * y) - my * my,
                      cxy = blur(x * y) - mx * my;
  constexpr double c1 = 0.01 * 0.01, c2 = 0.03 * 0.03;
  const torch::Tensor map =
      ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
  return map.mean().item<double>();
}

double mean_abs_error(const torch::Tensor& got, const torch::Tensor& want) {
  check_pair(got, want, "mean_abs_error");
  return (got.to(torch::kDouble) - want.to(torch::kDouble)).abs().mean().item<double>();
}

double colorfulness(const torch::Tensor& rgb) {
  TORCH_CHECK(rgb.dim() == 4 && rgb.size(1) == 3, "colorfulness expects (N, 3, H, W), got ",
              rgb.sizes());
  const torch::Tensor v = rgb.to(torch::kDouble).flatten(2) * 255.0;  // (N, 3, H*W)
  const torch::Tensor r = v.select(1, 0), g = v.select(1, 1), b = v.select(1, 2);
  const torch::Tensor rg = r - g, yb = 0.5 * (r + g) - b;
  const torch::Tensor spread =
      torch::sqrt(rg.var(1, /*unbiased=*/false) + yb.var(1, /*unbiased=*/false));
  const torch::Tensor shift = torch::sqrt(rg.mean(1).pow(2) + yb.mean(1).pow(2));
  return (spread + 0.3 * shift).mean().item<double>();
}

}  // namespace cg::eval
