#include "build_folder.h"

#include <algorithm>
#include <filesystem>
#include <thread>

#include "common/error.h"
#include "common/progress.h"
#include "image/color.h"
#include "image/image_file.h"
#include "image/resize.h"
#include "parallel.h"

namespace cg::tools {

using image::decode_image;
using image::Image;
using image::list_images;
using image::resize;
using image::to_channels;
namespace {

// Decodes in blocks of files on all threads, then appends each block in file order: the
// data set does not depend on the thread count, and memory stays at one block.
void write_folder(const std::vector<std::string>& files, const std::string& label, int64_t side,
                  const std::string& domain, const std::string& split, const FolderOptions& options,
                  data::DatasetWriter& writer) {
  const int threads = options.threads > 0
                          ? options.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  writer.begin(domain, split, static_cast<int64_t>(files.size()), side, side, 3);
  std::unique_ptr<Progress> bar;
  if (options.progress) bar = std::make_unique<Progress>(label, static_cast<int64_t>(files.size()));
  const int64_t block = 16 * threads;
  std::vector<Image> images(static_cast<size_t>(block));
  for (int64_t first = 0; first < static_cast<int64_t>(files.size()); first += block) {
    const int64_t last = std::min<int64_t>(first + block, static_cast<int64_t>(files.size()));
    parallel_for(first, last, threads, [&](int64_t i) {
      images[size_t(i - first)] =
          resize(to_channels(decode_image(files[size_t(i)]), 3), side, side);
    });
    for (int64_t i = first; i < last; ++i)
      writer.append(domain, split, images[size_t(i - first)].pixels.data());
    if (bar) bar->advance(last - first);
  }
}

}  // namespace

data::DatasetManifest write_folder_dataset(const std::string& input, const FolderOptions& options,
                                           data::DatasetWriter& writer) {
  namespace fs = std::filesystem;
  CG_REQUIRE(options.size > 0, ConfigError, "--size must be positive, got ", options.size);
  const int64_t load_size =
      options.load_size > 0 ? options.load_size : (options.size * 286 + 255) / 256;
  CG_REQUIRE(load_size >= options.size, ConfigError, "--load-size ", load_size,
             " is smaller than --size ", options.size);
  CG_REQUIRE(fs::is_directory(input), FileError, input, ": not a directory");
  const bool has_test = fs::is_directory(input + "/testA") || fs::is_directory(input + "/testB");
  std::vector<std::tuple<std::string, std::string, std::string, int64_t>> parts = {
      {"trainA", "A", "train", load_size}, {"trainB", "B", "train", load_size}};
  if (has_test) {
    parts.push_back({"testA", "A", "test", options.size});
    parts.push_back({"testB", "B", "test", options.size});
  }
  for (const auto& [folder, domain, split, side] : parts) {
    const std::string dir = input + "/" + folder;
    CG_REQUIRE(fs::is_directory(dir), FileError, dir,
               ": missing; the official CycleGAN layout has ",
               "trainA/ and trainB/ (and optionally testA/ and testB/) of JPEG or PNG images");
    const std::vector<std::string> files = list_images(dir);
    CG_REQUIRE(!files.empty(), FileError, dir, ": no JPEG or PNG images");
    write_folder(files, folder, side, domain, split, options, writer);
  }
  return writer.finish(/*paired_test=*/false);
}

}  // namespace cg::tools
