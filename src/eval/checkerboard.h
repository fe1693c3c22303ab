#pragma once
// The checkerboard measure: how much of an image's energy sits at the frequencies of a
// generator's upsampling period p, where the artefacts of strided transposed convolutions
// live (Odena, Dumoulin and Olah 2016), relative to real images.
//
// Per image: its luminance Y (BT.601 for colour, the channel itself for gray), cropped to
// H x W = the largest multiples of p from the top left, mean removed; P(u, v) = |DFT(Y)|^2.
// The period-p bins are (u, v) = (k H / p, l W / p) for k, l in [0, p), (0, 0) excluded:
//   c(image) = sum_{period-p bins} P(u, v) / sum_{(u, v) != (0, 0)} P(u, v)     in [0, 1]
// (0 for a constant image). Equivalently (aliasing), c is the share of the image's variance
// that its mean p x p tile, repeated, explains. A pattern that repeats every p pixels puts
// all its energy there; for white noise c is (p^2 - 1) / (H W - 1); photographs, whose
// energy falls with frequency, score less.
//
// The measure of a set of translated images against a set of real images of the target
// domain is mean c(translated) / mean c(real): 1.0 is like real images, a planted grid
// scores far above.
#include <torch/torch.h>

#include <cstdint>

namespace cg::eval {

/// images: (N, C, H, W) float, C 1 or 3, H and W >= period, any value range; period >= 2
/// -> (N,) float64 on the CPU: c of each image as defined above.
torch::Tensor checkerboard_fractions(const torch::Tensor& images, int64_t period);

/// The mean c of a set of translated images over the mean c of real target images (the
/// definition above); NaN when the real mean is 0 (constant real images: no reference).
double checkerboard_ratio(double mean_c_translated, double mean_c_real);

}  // namespace cg::eval
