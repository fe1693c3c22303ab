#pragma once
// The embedded demo data sets: `cyclegan_data demo`. Built from photographs that a Debian
// package ships, so every machine can make them without a download: the nature photographs
// of mate-backgrounds (the demo's), or the sample photographs of opencv-doc (a second set of
// other scenes, to check that what holds on the demo holds elsewhere too).
#include <string>
#include <vector>

#include "data/dataset_manifest.h"

namespace cg::tools {

/// Which photographs: `--photo-set mate` or `opencv`.
enum class PhotoSetName { kMate, kOpencv };

/// Photographs a Debian package ships, split by photograph: no photograph feeds both splits.
struct PhotoSet {
  std::string folder;                    ///< where the package installs them
  std::string package;                   ///< the Debian package, for the HINT when one is missing
  std::string description;               ///< the data set's description
  std::vector<std::string> train, test;  ///< file names in `folder`
};

const PhotoSet& photo_set(PhotoSetName name);

struct DemoOptions {
  PhotoSetName photo_set = PhotoSetName::kMate;  ///< which photographs
  std::string photos;           ///< folder holding them ("": where their package installs them)
  int64_t size = 32;            ///< side of the square images
  int64_t train_images = 2000;  ///< training images per domain
  int64_t test_images = 200;    ///< test images (the same crops in both domains)
  uint64_t seed = 0;            ///< which crops
  int threads = 0;              ///< 0: all cores
  bool overwrite = false;       ///< replace a data set already at the output
};

/// Writes an unpaired gray -> colour data set to `output`: random square crops (a third to
/// two thirds of the shorter side) of the training photographs, resized to size x size;
/// domain A is the gray (BT.601) of one set of crops, domain B the colour of another set.
/// The test split is cut from the test photographs, with the gray and the colour of the same
/// crops (paired), so colorization can be scored. Throws FileError naming a missing photo
/// (with a HINT to install the set's package).
data::DatasetManifest write_demo_dataset(const std::string& output, const DemoOptions& options);

}  // namespace cg::tools
