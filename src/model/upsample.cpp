#include "model/upsample.h"

namespace cg::model {

std::string to_string(Upsample upsample) {
  switch (upsample) {
    case Upsample::kTransposed:
      return "transposed";
    case Upsample::kNearest:
      return "nearest";
    case Upsample::kBilinear:
      return "bilinear";
  }
  TORCH_INTERNAL_ASSERT(false, "unknown Upsample value");
}

torch::nn::Upsample make_resize(Upsample upsample) {
  TORCH_CHECK(upsample != Upsample::kTransposed, "make_resize: transposed does not resize");
  auto options = torch::nn::UpsampleOptions().scale_factor(std::vector<double>{2.0, 2.0});
  if (upsample == Upsample::kNearest) return torch::nn::Upsample(options.mode(torch::kNearest));
  return torch::nn::Upsample(options.mode(torch::kBilinear).align_corners(false));
}

}  // namespace cg::model
