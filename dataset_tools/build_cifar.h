#pragma once
// CIFAR-10 -> data set: `cyclegan_data cifar10`.
#include <string>

#include "cifar10.h"
#include "data/dataset_writer.h"

namespace cg::tools {

struct CifarTaskOptions {
  std::string task = "colorize";  ///< "colorize" or "classes"
  std::string class_a, class_b;   ///< class names for "classes" (e.g. cat, dog)
  uint64_t seed = 0;              ///< which training images go to A and which to B
};

/// Writes `cifar` into `writer`:
///   colorize: the 50000 training images are shuffled and halved; domain A is the gray
///     (BT.601 luma, 1 channel) of the first half, domain B the colour of the second, so the
///     domains share no image. The test split keeps both versions of all 10000 test images
///     in the same order (paired), so a colorization can be scored against the truth.
///   classes: domain A is every image of class_a, domain B every image of class_b (colour),
///     in both splits.
/// Returns the finished manifest.
data::DatasetManifest write_cifar_dataset(const CifarSplits& cifar, const CifarTaskOptions& options,
                                          data::DatasetWriter& writer);

}  // namespace cg::tools
