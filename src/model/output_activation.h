#pragma once
// The generator's last activation fixes the value range every image tensor uses.
#include <string>

namespace cg::model {

enum class OutputActivation {
  kSigmoid,  ///< images in [0, 1] (the seed's Keras models)
  kTanh,     ///< images in [-1, 1] (the paper)
};

struct ImageRange {
  double lo;
  double hi;
};

inline ImageRange image_range(OutputActivation activation) {
  return activation == OutputActivation::kSigmoid ? ImageRange{0.0, 1.0} : ImageRange{-1.0, 1.0};
}

}  // namespace cg::model
