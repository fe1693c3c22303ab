#pragma once
// How a generator's decoder doubles the resolution (--upsample). kTransposed is the seed's
// and the paper's stride-2 transposed convolution; its kernel overlaps unevenly and leaves
// a checkerboard (Odena, Dumoulin and Olah, "Deconvolution and Checkerboard Artifacts",
// 2016). kNearest and kBilinear resize x2 first, then convolve at stride 1, which spreads
// every input pixel evenly over its 2x2 output block.
#include <torch/torch.h>

#include <string>

namespace cg::model {

enum class Upsample {
  kTransposed,  ///< ConvTranspose2d, stride 2 (the seed's and the paper's)
  kNearest,     ///< nearest-neighbour resize x2, then a stride-1 Conv2d
  kBilinear,    ///< bilinear resize x2 (align_corners false), then a stride-1 Conv2d
};

/// "transposed", "nearest" or "bilinear": the --upsample value, and the Python package's.
std::string to_string(Upsample upsample);

/// The x2 resize of kNearest or kBilinear, as torch.nn.Upsample(scale_factor=2, mode=...,
/// align_corners=False for bilinear) in Python. TORCH_CHECKs that `upsample` resizes.
torch::nn::Upsample make_resize(Upsample upsample);

}  // namespace cg::model
