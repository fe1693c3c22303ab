#include "build_demo.h"

#include <filesystem>
#include <thread>

#include "common/error.h"
#include "common/rng.h"
#include "data/dataset_writer.h"
#include "image/color.h"
#include "image/image_file.h"
#include "image/resize.h"
#include "parallel.h"

namespace cg::tools {

using image::crop;
using image::decode_image;
using image::Image;
using image::resize;
using image::to_channels;
namespace {

// The nature photographs of Debian's mate-backgrounds: leaves, grass, flowers, dune, sky. A
// colorizer can learn their colours from gray (green foliage, orange and yellow petals,
// sand, blue sky), and the test photographs show the same kinds of scene (a flower before
// foliage, a meadow, a weathered plank) without being any of the training ones.
const PhotoSet kMate = {
    "/usr/share/backgrounds/mate/nature",
    "mate-backgrounds",
    "demo: crops of mate-backgrounds nature photographs, gray -> colour",
    {"Aqua.jpg", "Blinds.jpg", "Dune.jpg", "FreshFlower.jpg", "LadyBird.jpg", "RainDrops.jpg",
     "Storm.jpg", "TwoWings.jpg", "YellowFlower.jpg"},
    {"Garden.jpg", "GreenMeadow.jpg", "Wood.jpg"},
};

// The colour photographs among OpenCV's sample images (drawings, paintings, charts and gray
// pictures left out): towns from the air, fruit, a baboon, a butterfly, streets, a car, a
// football match, toys. Other scenes and other cameras than the demo's; the test photographs
// (a building under a blue sky, a squirrel in foliage, cut fruit, a football player on grass)
// were chosen for their variety before any model saw them.
const PhotoSet kOpencv = {
    "/usr/share/doc/opencv-doc/examples/data",
    "opencv-doc",
    "demo: crops of opencv-doc sample photographs, gray -> colour",
    {"aero1.jpg", "aero3.jpg", "aloeL.jpg", "apple.jpg", "baboon.jpg", "board.jpg", "butterfly.jpg",
     "ela_original.jpg", "graf1.png", "home.jpg", "leuvenA.jpg", "licenseplate_motion.jpg",
     "orange.jpg", "rubberwhale1.png", "smarties.png", "stuff.jpg", "left.jpg"},
    {"building.jpg", "squirrel_cls.jpg", "fruits.jpg", "messi5.jpg"},
};

std::vector<Image> load_photos(const std::string& root, const std::string& package,
                               const std::vector<std::string>& names, int threads) {
  std::vector<Image> photos(names.size());
  parallel_for(0, static_cast<int64_t>(names.size()), threads, [&](int64_t i) {
    const std::string path = root + "/" + names[size_t(i)];
    CG_REQUIRE(std::filesystem::exists(path), FileError, path,
               ": missing. HINT: this demo data set is cut from the photographs of Debian's ",
               package, " (apt-get install ", package, "), or pass --photos DIR");
    photos[size_t(i)] = to_channels(decode_image(path), 3);
  });
  return photos;
}

// Crop `index` of a stream: a photograph, then a square of a third to two thirds of its
// shorter side at a uniform position, resized to size x size. Depends on (seed, stream,
// index) only, so the result does not depend on the thread count.
Image random_crop(const std::vector<Image>& photos, int64_t size, uint64_t seed, uint64_t stream,
                  int64_t index) {
  SplitMix64 rng(mix_seed(seed, stream, static_cast<uint64_t>(index)));
  const Image& photo = photos[rng.below(photos.size())];
  const int64_t shorter = std::min(photo.height, photo.width);
  const int64_t drawn = shorter / 3 + static_cast<int64_t>(rng.below(uint64_t(shorter / 3 + 1)));
  const int64_t side = std::min(shorter, std::max(size, drawn));
  const int64_t top = static_cast<int64_t>(rng.below(uint64_t(photo.height - side + 1)));
  const int64_t left = static_cast<int64_t>(rng.below(uint64_t(photo.width - side + 1)));
  return resize(crop(photo, top, left, side, side), size, size);
}

void write_crops(data::DatasetWriter& writer, const std::vector<Image>& photos,
                 const DemoOptions& o, uint64_t stream, int64_t count,
                 const std::vector<std::pair<std::string, int64_t>>& domains,
                 const std::string& split, int threads) {
  for (const auto& [domain, channels] : domains)
    writer.begin(domain, split, count, o.size, o.size, channels);
  const int64_t block = 256;
  std::vector<Image> crops(static_cast<size_t>(block));
  for (int64_t first = 0; first < count; first += block) {
    const int64_t last = std::min(first + block, count);
    parallel_for(first, last, threads, [&](int64_t i) {
      crops[size_t(i - first)] = random_crop(photos, o.size, o.seed, stream, i);
    });
    for (int64_t i = first; i < last; ++i) {
      for (const auto& [domain, channels] : domains) {
        writer.append(domain, split, to_channels(crops[size_t(i - first)], channels).pixels.data());
      }
    }
  }
}

}  // namespace

const PhotoSet& photo_set(PhotoSetName name) {
  return name == PhotoSetName::kOpencv ? kOpencv : kMate;
}

data::DatasetManifest write_demo_dataset(const std::string& output, const DemoOptions& o) {
  CG_REQUIRE(o.size >= 8 && o.size <= 512, ConfigError, "--size must be in [8, 512], got ", o.size);
  CG_REQUIRE(o.train_images > 0 && o.test_images > 0, ConfigError,
             "--train-images and --test-images must be positive");
  const int threads = o.threads > 0
                          ? o.threads
                          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  const PhotoSet& set = photo_set(o.photo_set);
  const std::string folder = o.photos.empty() ? set.folder : o.photos;
  const std::vector<Image> train = load_photos(folder, set.package, set.train, threads);
  const std::vector<Image> test = load_photos(folder, set.package, set.test, threads);
  data::DatasetWriterOptions writer_options;
  writer_options.overwrite = o.overwrite;
  data::DatasetWriter writer(output, set.description, writer_options);
  // Separate crop streams for A and B: the domains share no crop.
  write_crops(writer, train, o, 0xA, o.train_images, {{"A", 1}}, "train", threads);
  write_crops(writer, train, o, 0xB, o.train_images, {{"B", 3}}, "train", threads);
  write_crops(writer, test, o, 0x7E57, o.test_images, {{"A", 1}, {"B", 3}}, "test", threads);
  return writer.finish(/*paired_test=*/true);
}

}  // namespace cg::tools
