#pragma once
// The embedded demo data set: `cyclegan_data demo`. Built from the nature photographs that
// Debian's mate-backgrounds package ships, so every machine can make it without a download.
#include <string>
#include <vector>

#include "data/dataset_manifest.h"

namespace cg::tools {

struct DemoOptions {
  std::string photos = "/usr/share/backgrounds/mate/nature";  ///< mate-backgrounds' nature folder
  int64_t size = 32;                                          ///< side of the square images
  int64_t train_images = 2000;                                ///< training images per domain
  int64_t test_images = 200;  ///< test images (the same crops in both domains)
  uint64_t seed = 0;          ///< which crops
  int threads = 0;            ///< 0: all cores
  bool overwrite = false;     ///< replace a data set already at the output
};

/// The photographs used, relative to DemoOptions::photos: training photos first, then the
/// test photos (disjoint: no photograph feeds both splits).
const std::vector<std::string>& demo_train_photos();
const std::vector<std::string>& demo_test_photos();

/// Writes an unpaired gray -> colour data set to `output`: random square crops (a third to
/// two thirds of the shorter side) of the training photographs, resized to size x size;
/// domain A is the gray (BT.601) of one set of crops, domain B the colour of another set.
/// The test split is cut from the test photographs, with the gray and the colour of the same
/// crops (paired), so colorization can be scored. Throws FileError naming a missing photo
/// (with a HINT to install mate-backgrounds).
data::DatasetManifest write_demo_dataset(const std::string& output, const DemoOptions& options);

}  // namespace cg::tools
