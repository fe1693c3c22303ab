#pragma once
// What a translation does, decided before any pixel is read: the inputs in one fixed order,
// the output file of each, and which process translates which. The same list and the same
// batches for any number of processes, so N processes write the same files, bit for bit,
// as one.
#include <cstdint>
#include <string>
#include <vector>

namespace cg::infer {

/// One input image and the output it becomes.
struct TranslateItem {
  std::string path;    ///< source file ("" for an image of a data set)
  int64_t index = -1;  ///< image of the data set's test split (-1 for a file)
  std::string output;  ///< output PNG, relative to the output folder ("sub/dir/name.png")
};

/// The images of `folder` and all its subfolders (image::list_images_recursive), each
/// output keeping its sub-folder and its stem ("day/x.jpg" -> "day/x.png"). Throws
/// ConfigError when two inputs would write the same output, when there are none, and when
/// `output_dir` is `folder` or lies inside it (a second run would translate the outputs);
/// FileError when `folder` cannot be read.
std::vector<TranslateItem> folder_items(const std::string& folder, const std::string& output_dir);

/// The `count` images of a data set's test split of `domain`, written as <domain>_00000.png, ...
std::vector<TranslateItem> dataset_items(const std::string& domain, int64_t count);

/// The half-open ranges [first, last) of items that process `rank` of `world` translates:
/// blocks of `block` consecutive items dealt round robin (block b to rank b % world). A
/// batch never crosses a block, so the batches, and with them the numbers, do not depend on
/// `world`.
std::vector<std::pair<int64_t, int64_t>> blocks_of_rank(int64_t items, int64_t block, int rank,
                                                        int world);

/// Whether `path` holds a finished output: a PNG that decodes completely (its checksums
/// hold) with `height` x `width` pixels of `channels` channels. Outputs are written
/// atomically, so anything else (missing, damaged, another size) is translated again.
bool output_complete(const std::string& path, int64_t height, int64_t width, int64_t channels);

}  // namespace cg::infer
