#pragma once
// A folder of photos in the official CycleGAN layout -> data set: `cyclegan_data folder`.
#include <string>

#include "data/dataset_writer.h"

namespace cg::tools {

struct FolderOptions {
  int64_t size = 256;     ///< crop size of training; test images are stored at this size
  int64_t load_size = 0;  ///< training images are stored at this size (0: size * 286 / 256)
  int threads = 0;        ///< decoding threads (0: all cores)
  bool progress = true;   ///< progress bar on stderr
};

/// Reads `input`/trainA, trainB (required) and testA, testB (optional, both or neither) of
/// JPEG and PNG files, converts them to RGB, resizes training images to load_size x
/// load_size and test images to size x size (bicubic, aspect ratio not kept: the official
/// resize_and_crop), and writes them to `writer` in file-name order. Throws FileError
/// naming the folder or the image that cannot be read.
data::DatasetManifest write_folder_dataset(const std::string& input, const FolderOptions& options,
                                           data::DatasetWriter& writer);

}  // namespace cg::tools
