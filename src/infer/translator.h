#pragma once
// Translation of image files with a saved model: one PNG per input, at the input's size.
#include <torch/torch.h>

#include <cstdint>
#include <optional>
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
  /// With keep_luma: the chroma gain of the colours (eval/colour_match.h); unset: the
  /// checkpoint's (SavedModel::colour_gain).
  std::optional<double> colour_gain;
  /// Tile side in input pixels for the exact tiled forward pass (tiled_generator.h): the
  /// same output as the whole-image pass (to float32 rounding, 1e-5), in memory that grows
  /// with the tile, not the image. 0: the whole-image pass, unless max_memory asks for tiles.
  int64_t tile = 0;
  /// Budget in bytes for a batch's activations (0: none). Where the whole-image pass's
  /// estimate (whole_pass_bytes of one image times the batch) exceeds it and tile is 0, that
  /// batch is translated tiled, with the largest of 2048, 1024, 512, 256 or 128-pixel tiles
  /// whose estimate (tiled_pass_bytes) fits (128 when none does, with a warning).
  int64_t max_memory = 0;
  /// Folder for the tiled pass's temporary feature-map files ("": the system's, honouring
  /// TMPDIR). It needs room for a few full maps (about 12 GiB for a 4096x4096 ResNet-9).
  std::string temp_dir;
  /// This process and how many translate together (see translate_items.h: blocks of
  /// batch_size consecutive inputs dealt round robin).
  int rank = 0;
  int world = 1;
};

/// What one process did.
struct TranslateResult {
  int64_t items = 0;        ///< inputs dealt to this process
  int64_t written = 0;      ///< outputs it wrote
  int64_t done_before = 0;  ///< outputs already there and complete (output_complete): skipped
  double seconds = 0;       ///< wall time of the call
};

/// The tile translate() uses for a batch of `batch` images of (channels, height, width)
/// (sides already a multiple of the generator's downsampling) through `generator`:
/// options.tile when set, else 0 (whole-image pass) when there is no max_memory or the
/// whole-image estimate fits it, else the largest tile whose estimate fits.
int64_t choose_tile(torch::nn::Module& generator, int64_t batch, int64_t channels, int64_t height,
                    int64_t width, const TranslateOptions& options);

/// Translates `input` into `output_dir`: `input` is a folder of JPEG/PNG files, searched
/// through its subfolders (each output keeps its sub-folder and stem: "day/x.jpg" ->
/// "day/x.png"; each image at its own size), or a data set made by cyclegan_data (its test
/// split of the source domain, written as A_00000.png, ...). This process translates the
/// blocks of options.batch_size inputs that blocks_of_rank deals to options.rank, so several
/// processes share one folder and write the same files as one. An output that is already
/// there and complete (output_complete) is not written again, so a run stopped midway goes
/// on where it stopped. Inputs are converted to the generator's channels (colour -> BT.601
/// gray, gray -> repeated) and range; sides that are not a multiple of the generator's
/// downsampling are reflect-padded up to one and the output cropped back, so every output
/// has its input's height and width. Each PNG is written atomically, so an error (an
/// unreadable image: FileError naming it) leaves the ones before it complete. Throws
/// FileError when `output_dir` cannot be created or written, and ConfigError for keep_luma
/// with a generator that does not map gray to colour or an `output_dir` inside a folder
/// `input`, before any work. With a tile (options.tile, or max_memory exceeded) each image
/// goes through tiled_forward: the padding rule above is the same, so tiled output equals
/// whole. Warns once when inputs are more than 4x the model's training crops.
TranslateResult translate(const SavedModel& saved, const std::string& input,
                          const std::string& output_dir, const TranslateOptions& options);

}  // namespace cg::infer
