#include "eval/fid.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <limits>
#include <utility>

namespace cg::eval {
namespace {

// Eigenvalues of a symmetric d x d matrix at or below what rounding leaves in a null space
// (numpy's matrix_rank tolerance: largest * d * epsilon) count as zero.
torch::Tensor above_rounding(const torch::Tensor& eigenvalues, int64_t d) {
  if (eigenvalues.numel() == 0) return eigenvalues > 0;
  const double tolerance =
      eigenvalues.max().item<double>() * d * std::numeric_limits<double>::epsilon();
  return eigenvalues > tolerance;
}

// The eigenvalues above rounding of a symmetric positive semi-definite d x d matrix `s` of
// rank <= rank_bound, and their eigenvectors (d, r). The full decomposition costs ~10 d^3
// (seconds at d = 2048 on a CPU); a sample covariance of n < d features has rank n - 1, so
// then its range is found first (Halko, Martinsson and Tropp 2011: s times rank + 8 Gaussian
// columns spans it) and only that small block is decomposed, in d^2 rank.
std::pair<torch::Tensor, torch::Tensor> psd_eigen(const torch::Tensor& s, int64_t rank_bound) {
  const int64_t d = s.size(0), k = rank_bound + 8;
  torch::Tensor l, v;
  if (2 * k < d) {
    torch::Generator g = at::make_generator<at::CPUGeneratorImpl>(0);
    const torch::Tensor omega = torch::randn({d, k}, g, torch::kFloat64).to(s.device());
    const torch::Tensor q = std::get<0>(torch::linalg_qr(torch::matmul(s, omega)));
    torch::Tensor w;
    std::tie(l, w) = torch::linalg_eigh(torch::matmul(torch::matmul(q.t(), s), q));
    v = torch::matmul(q, w);
  } else {
    std::tie(l, v) = torch::linalg_eigh(s);
  }
  const torch::Tensor keep = above_rounding(l, d);
  return {l.index({keep}), v.index({torch::indexing::Slice(), keep})};
}

double fid_f64(const torch::Tensor& m1, const torch::Tensor& c1, int64_t rank1_bound,
               const torch::Tensor& m2, const torch::Tensor& c2) {
  // S1 = V diag(l) V^T; A S2 A restricted to the r eigenvectors of S1 with l above rounding
  // is diag(l_r)^(1/2) V_r^T S2 V_r diag(l_r)^(1/2) (r x r). Leaving out S1's null space drops
  // only rounding noise, and with fewer images than dimensions r is small.
  const auto [l, v] = psd_eigen(c1, rank1_bound);
  const torch::Tensor root_l = l.sqrt();
  torch::Tensor middle = torch::matmul(torch::matmul(v.t(), c2), v) * torch::outer(root_l, root_l);
  middle = (middle + middle.t()) / 2;  // symmetric up to rounding; eigvalsh reads one triangle
  const torch::Tensor mu = torch::linalg_eigvalsh(middle);
  const double trace_sqrt = mu.index({above_rounding(mu, mu.size(0))}).sqrt().sum().item<double>();

  const double mean_term = (m1 - m2).square().sum().item<double>();
  return mean_term + c1.trace().item<double>() + c2.trace().item<double>() - 2 * trace_sqrt;
}

}  // namespace

double frechet_distance(const torch::Tensor& mu1, const torch::Tensor& s1, const torch::Tensor& mu2,
                        const torch::Tensor& s2) {
  TORCH_CHECK(mu1.dim() == 1 && mu1.sizes() == mu2.sizes(),
              "frechet_distance expects two (D,) means, got ", mu1.sizes(), " and ", mu2.sizes());
  const int64_t d = mu1.size(0);
  TORCH_CHECK(s1.sizes() == torch::IntArrayRef({d, d}) && s2.sizes() == s1.sizes(),
              "frechet_distance expects two (", d, ", ", d, ") covariances, got ", s1.sizes(),
              " and ", s2.sizes());
  const auto f64 = [&](const torch::Tensor& t) { return t.to(mu1.device(), torch::kFloat64); };
  return fid_f64(f64(mu1), f64(s1), d, f64(mu2), f64(s2));
}

double frechet_distance(const FeatureStats& a, const FeatureStats& b) {
  TORCH_CHECK(a.dim() == b.dim(), "FID of features of dimension ", a.dim(), " and ", b.dim());
  // tr((S1 S2)^(1/2)) is symmetric in the two sets: decompose the covariance of lower rank.
  const FeatureStats& low = a.count() <= b.count() ? a : b;
  const FeatureStats& high = a.count() <= b.count() ? b : a;
  const torch::Device device = a.sum().device();
  return fid_f64(low.mean().to(device), low.covariance().to(device), low.count() - 1,
                 high.mean().to(device), high.covariance().to(device));
}

}  // namespace cg::eval
