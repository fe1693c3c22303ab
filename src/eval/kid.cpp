#include "eval/kid.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <cmath>

namespace cg::eval {
namespace {

// Above this many float64 entries (256 MiB) the kernel matrix of both whole sets is not
// built; each subset then gets its own kernels.
constexpr int64_t kMaxGramEntries = int64_t{1} << 25;

// a: (n, D), b: (m, D) float64 -> (n, m): (a.b / D + 1)^3
torch::Tensor cubic_kernel(const torch::Tensor& a, const torch::Tensor& b) {
  return (torch::matmul(a, b.t()) / static_cast<double>(a.size(1)) + 1).pow(3);
}

double mmd2_from_kernels(const torch::Tensor& kxx, const torch::Tensor& kyy,
                         const torch::Tensor& kxy) {
  const double n1 = static_cast<double>(kxx.size(0)), n2 = static_cast<double>(kyy.size(0));
  const double xx = (kxx.sum() - kxx.diagonal().sum()).item<double>() / (n1 * (n1 - 1));
  const double yy = (kyy.sum() - kyy.diagonal().sum()).item<double>() / (n2 * (n2 - 1));
  const double xy = kxy.sum().item<double>() / (n1 * n2);
  return xx + yy - 2 * xy;
}

void check_feature_sets(const torch::Tensor& x, const torch::Tensor& y, const char* what) {
  TORCH_CHECK(x.dim() == 2 && y.dim() == 2 && x.size(1) == y.size(1), what,
              " expects (n1, D) and (n2, D) features, got ", x.sizes(), " and ", y.sizes());
  TORCH_CHECK(x.size(0) >= 2 && y.size(0) >= 2, what, " needs at least 2 features per set, got ",
              x.size(0), " and ", y.size(0));
  TORCH_CHECK(x.device() == y.device(), what, " expects both sets on one device, got ", x.device(),
              " and ", y.device());
}

}  // namespace

std::vector<std::pair<torch::Tensor, torch::Tensor>> kid_subsets(int64_t n1, int64_t n2,
                                                                 const KidOptions& options) {
  TORCH_CHECK(options.subsets >= 1, "KID needs at least 1 subset, got ", options.subsets);
  TORCH_CHECK(options.subset_size >= 2, "KID subsets need at least 2 features, got ",
              options.subset_size);
  TORCH_CHECK(n1 >= 2 && n2 >= 2, "KID needs at least 2 features per set, got ", n1, " and ", n2);
  const int64_t m = std::min({options.subset_size, n1, n2});
  torch::Generator generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  std::vector<std::pair<torch::Tensor, torch::Tensor>> out;
  out.reserve(options.subsets);
  for (int64_t i = 0; i < options.subsets; ++i) {
    torch::Tensor ix = torch::randperm(n1, generator).narrow(0, 0, m);
    torch::Tensor iy = torch::randperm(n2, generator).narrow(0, 0, m);
    out.emplace_back(std::move(ix), std::move(iy));
  }
  return out;
}

double polynomial_mmd2_unbiased(const torch::Tensor& x, const torch::Tensor& y) {
  check_feature_sets(x, y, "polynomial_mmd2_unbiased");
  const torch::Tensor a = x.to(torch::kFloat64), b = y.to(torch::kFloat64);
  return mmd2_from_kernels(cubic_kernel(a, a), cubic_kernel(b, b), cubic_kernel(a, b));
}

KidResult kernel_inception_distance(const torch::Tensor& x, const torch::Tensor& y,
                                    const KidOptions& options) {
  check_feature_sets(x, y, "kernel_inception_distance");
  const int64_t n1 = x.size(0), n2 = y.size(0);
  const auto subsets = kid_subsets(n1, n2, options);
  const torch::Tensor a = x.to(torch::kFloat64), b = y.to(torch::kFloat64);

  // Subsets overlap heavily (with m at the set size they are the whole sets), so where it
  // fits the kernel of every pair is computed once and each subset picks its entries.
  const bool whole_gram = (n1 + n2) * (n1 + n2) <= kMaxGramEntries;
  torch::Tensor kxx, kyy, kxy;
  if (whole_gram) {
    kxx = cubic_kernel(a, a);
    kyy = cubic_kernel(b, b);
    kxy = cubic_kernel(a, b);
  }
  std::vector<double> mmd2;
  mmd2.reserve(subsets.size());
  for (const auto& [ix_cpu, iy_cpu] : subsets) {
    const torch::Tensor ix = ix_cpu.to(a.device()), iy = iy_cpu.to(a.device());
    if (whole_gram) {
      mmd2.push_back(mmd2_from_kernels(kxx.index_select(0, ix).index_select(1, ix),
                                       kyy.index_select(0, iy).index_select(1, iy),
                                       kxy.index_select(0, ix).index_select(1, iy)));
    } else {
      const torch::Tensor sx = a.index_select(0, ix), sy = b.index_select(0, iy);
      mmd2.push_back(
          mmd2_from_kernels(cubic_kernel(sx, sx), cubic_kernel(sy, sy), cubic_kernel(sx, sy)));
    }
  }

  KidResult r;
  r.subsets = static_cast<int64_t>(mmd2.size());
  r.subset_size = subsets.front().first.size(0);
  for (double v : mmd2) r.mean += v;
  r.mean /= static_cast<double>(r.subsets);
  double var = 0;
  for (double v : mmd2) var += (v - r.mean) * (v - r.mean);
  r.std = std::sqrt(var / static_cast<double>(r.subsets));
  return r;
}

}  // namespace cg::eval
