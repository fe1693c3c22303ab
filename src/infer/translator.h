#pragma once
// Translation of image files with a saved model: one PNG per input, at the input's size.
#include <cstdint>
#include <string>

#include "infer/saved_model.h"

namespace cg::infer {

struct TranslateOptions {
  bool a_to_b = true;      ///< G (A -> B), or F (B -> A)
  int64_t batch_size = 8;  ///< images per forward pass (consecutive images of one size)
  bool progress = true;    ///< progress bar on stderr
  /// Gray -> colour only: the output keeps the input's BT.601 luminance and takes only the
  /// colours from the generator (data::with_luma), the usual way to colorize.
  bool keep_luma = false;
};

/// Translates `input` into `output_dir`/<base name>.png: `input` is a folder of JPEG/PNG
/// files (each at its own size) or a data set made by cyclegan_data (its test split of the
/// source domain, written as A_00000.png, ...). Inputs are converted to the generator's
/// channels (colour -> BT.601 gray, gray -> repeated) and range; sides that are not a
/// multiple of the generator's downsampling are reflect-padded up to one and the output
/// cropped back, so every output has its input's height and width. Each PNG is written
/// atomically, so an error (an unreadable image: FileError naming it) leaves the ones
/// before it complete. Throws FileError when `output_dir` cannot be created or written,
/// and ConfigError for keep_luma with a generator that does not map gray to colour,
/// before any work. Returns the number of images written.
int64_t translate(const SavedModel& saved, const std::string& input, const std::string& output_dir,
                  const TranslateOptions& options);

}  // namespace cg::infer
