#include "build_cifar.h"

#include "common/error.h"
#include "data/permutation.h"
#include "image/color.h"

namespace cg::tools {

using image::Image;
using image::to_channels;
namespace {

Image cifar_image(const CifarImages& images, int64_t index) {
  Image image;
  image.height = image.width = kCifarSide;
  image.channels = 3;
  const auto* first = images.pixels.data() + index * kCifarPixels;
  image.pixels.assign(first, first + kCifarPixels);
  return image;
}

void write_images(data::DatasetWriter& writer, const std::string& domain, const std::string& split,
                  const CifarImages& images, const std::vector<int64_t>& indices,
                  int64_t channels) {
  writer.begin(domain, split, static_cast<int64_t>(indices.size()), kCifarSide, kCifarSide,
               channels);
  for (int64_t i : indices) {
    const Image image = to_channels(cifar_image(images, i), channels);
    writer.append(domain, split, image.pixels.data());
  }
}

std::vector<int64_t> of_class(const CifarImages& images, int label) {
  std::vector<int64_t> out;
  for (int64_t i = 0; i < images.count(); ++i) {
    if (images.labels[size_t(i)] == label) out.push_back(i);
  }
  return out;
}

}  // namespace

data::DatasetManifest write_cifar_dataset(const CifarSplits& cifar, const CifarTaskOptions& options,
                                          data::DatasetWriter& writer) {
  if (options.task == "colorize") {
    const std::vector<int64_t> order =
        data::epoch_permutation(cifar.train.count(), options.seed, 0xC1FA, 0);
    const auto half = order.begin() + static_cast<std::ptrdiff_t>(order.size() / 2);
    write_images(writer, "A", "train", cifar.train, std::vector<int64_t>(order.begin(), half), 1);
    write_images(writer, "B", "train", cifar.train, std::vector<int64_t>(half, order.end()), 3);
    std::vector<int64_t> test(size_t(cifar.test.count()));
    for (size_t i = 0; i < test.size(); ++i) test[i] = static_cast<int64_t>(i);
    write_images(writer, "A", "test", cifar.test, test, 1);
    write_images(writer, "B", "test", cifar.test, test, 3);
    return writer.finish(/*paired_test=*/true);
  }
  CG_REQUIRE(options.task == "classes", ConfigError, "--task: expected colorize or classes, got '",
             options.task, "'");
  CG_REQUIRE(!options.class_a.empty() && !options.class_b.empty(), ConfigError,
             "--task classes needs --a CLASS and --b CLASS");
  const int a = cifar10_class_index(options.class_a), b = cifar10_class_index(options.class_b);
  CG_REQUIRE(a != b, ConfigError, "--a and --b name the same class '", options.class_a, "'");
  for (const auto& [split, images] :
       {std::pair{"train", &cifar.train}, std::pair{"test", &cifar.test}}) {
    write_images(writer, "A", split, *images, of_class(*images, a), 3);
    write_images(writer, "B", split, *images, of_class(*images, b), 3);
  }
  return writer.finish(/*paired_test=*/false);
}

}  // namespace cg::tools
