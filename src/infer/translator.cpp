#include "infer/translator.h"

#include <exception>
#include <filesystem>
#include <fstream>
#include <map>

#include "common/error.h"
#include "common/log.h"
#include "common/progress.h"
#include "data/dataset_manifest.h"
#include "data/image_set.h"
#include "image/color.h"
#include "image/image_file.h"
#include "image/tensor_color.h"
#include "image/tensor_image.h"
#include "infer/tiled_generator.h"

namespace cg::infer {
namespace {

namespace fs = std::filesystem;
using image::Image;

// One input: where its pixels come from and the name of its output.
struct Item {
  std::string name;    ///< output file name
  std::string path;    ///< source file ("" for a data set image)
  int64_t index = -1;  ///< image of the data set's test split
};

Image load(const Item& item, const data::ImageSet* set) {
  if (set == nullptr) return image::decode_image(item.path);
  Image image;
  image.height = set->height();
  image.width = set->width();
  image.channels = set->channels();
  image.pixels.resize(static_cast<size_t>(image.height * image.width * image.channels));
  set->read(item.index, image.pixels.data());
  return image;
}

// image (H, W, C) uint8 -> (C, H, W) float in [lo, hi]
torch::Tensor to_input(const Image& image, double lo, double hi) {
  torch::Tensor hwc = torch::from_blob(const_cast<uint8_t*>(image.pixels.data()),
                                       {image.height, image.width, image.channels}, torch::kUInt8);
  return hwc.permute({2, 0, 1}).to(torch::kFloat).div(255.0).mul(hi - lo).add(lo);
}

void check_writable(const std::string& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  CG_REQUIRE(!error, FileError, "output directory ", dir, ": ", error.message());
  const fs::path probe = fs::path(dir) / ".cyclegan_translate_probe";
  std::ofstream(probe.string()).put('x');
  CG_REQUIRE(fs::exists(probe), FileError, "output directory ", dir, " is not writable");
  fs::remove(probe);
}

}  // namespace

int64_t choose_tile(torch::nn::Module& generator, int64_t batch, int64_t channels, int64_t height,
                    int64_t width, const TranslateOptions& options) {
  if (options.tile > 0) return options.tile;
  if (options.max_memory <= 0 ||
      batch * whole_pass_bytes(generator, channels, height, width) <= options.max_memory) {
    return 0;
  }
  for (int64_t tile : {2048, 1024, 512, 256}) {
    if (tile < std::max(height, width) &&
        tiled_pass_bytes(generator, channels, height, width, tile) <= options.max_memory) {
      return tile;
    }
  }
  return 128;
}

int64_t translate(const SavedModel& saved, const std::string& input, const std::string& output_dir,
                  const TranslateOptions& options) {
  TORCH_CHECK(options.batch_size > 0, "translate: batch_size must be positive");
  TORCH_CHECK(options.tile >= 0 && options.max_memory >= 0,
              "translate: tile and max_memory must not be negative");
  model::CycleGan net = saved.net;
  const model::CycleGanOptions& m = net->options();
  const int64_t in_channels = options.a_to_b ? m.channels_a : m.channels_b;
  const int64_t out_channels = options.a_to_b ? m.channels_b : m.channels_a;
  const std::string domain = options.a_to_b ? "A" : "B";
  CG_REQUIRE(!options.keep_luma || (in_channels == 1 && out_channels == 3), ConfigError,
             "--keep-luma: colorization only, but this direction maps ", in_channels, " to ",
             out_channels, " channels (it needs gray to colour)");

  std::vector<Item> items;
  std::unique_ptr<data::ImageSet> set;
  if (fs::exists(fs::path(input) / "manifest.json")) {
    set = std::make_unique<data::ImageSet>(input, data::read_manifest(input), domain, "test");
    for (int64_t i = 0; i < set->size(); ++i) {
      char name[32];
      std::snprintf(name, sizeof(name), "%s_%05lld.png", domain.c_str(), static_cast<long long>(i));
      items.push_back({name, "", i});
    }
  } else {
    std::map<std::string, std::string> seen;
    for (const std::string& path : image::list_images(input)) {
      const std::string name = fs::path(path).stem().string() + ".png";
      auto [where, fresh] = seen.emplace(name, path);
      CG_REQUIRE(fresh, ConfigError, "--input ", input, ": ", where->second, " and ", path,
                 " would both be written as ", name);
      items.push_back({name, path, -1});
    }
  }
  CG_REQUIRE(!items.empty(), ConfigError, "--input ", input, ": no JPEG or PNG images in it");
  check_writable(output_dir);

  const model::ImageRange range = net->range();
  const int64_t multiple = net->size_multiple();
  const torch::TensorOptions on_device = net->parameters().front().options();
  const std::shared_ptr<torch::nn::Module> generator = generator_of(net, options.a_to_b);
  int64_t last_tile = -1;
  std::unique_ptr<Progress> bar;
  if (options.progress) {
    bar = std::make_unique<Progress>("translate " + domain, static_cast<int64_t>(items.size()));
  }
  torch::NoGradGuard no_grad;
  int64_t written = 0, padded = 0;
  for (size_t start = 0; start < items.size();) {
    // A batch: consecutive images of one size.
    std::vector<torch::Tensor> batch;
    std::vector<const Item*> names;
    int64_t height = 0, width = 0;
    // An image that cannot be read ends the run, but only after the ones before it in its
    // batch are written.
    std::exception_ptr unreadable;
    for (size_t i = start;
         i < items.size() && static_cast<int64_t>(batch.size()) < options.batch_size; ++i) {
      Image picture;
      try {
        picture = image::to_channels(load(items[i], set.get()), in_channels);
      } catch (const std::exception&) {
        unreadable = std::current_exception();
        break;
      }
      if (!batch.empty() && (picture.height != height || picture.width != width)) break;
      height = picture.height;
      width = picture.width;
      batch.push_back(to_input(picture, range.lo, range.hi));
      names.push_back(&items[i]);
    }
    const auto written_before = [&](const std::exception& e) {
      return detail::str_cat(e.what(), " (", written, " of ", items.size(),
                             " image(s) were written before it)");
    };
    const auto rethrow_unreadable = [&] {
      try {
        std::rethrow_exception(unreadable);
      } catch (const FileError& e) {
        throw FileError(written_before(e));
      }
    };
    if (batch.empty() && unreadable) rethrow_unreadable();
    start += batch.size();
    torch::Tensor x = torch::stack(batch);
    const int64_t pad_h = (multiple - height % multiple) % multiple,
                  pad_w = (multiple - width % multiple) % multiple;
    if (pad_h > 0 || pad_w > 0) {
      namespace F = torch::nn::functional;
      // Reflection needs the pad below the side; tiny images repeat their border instead.
      const bool reflect = pad_h < height && pad_w < width;
      F::PadFuncOptions pad({0, pad_w, 0, pad_h});
      if (reflect) {
        pad.mode(torch::kReflect);
      } else {
        pad.mode(torch::kReplicate);
      }
      x = F::pad(x, pad);
      padded += static_cast<int64_t>(batch.size());
    }
    x = x.to(on_device);
    const int64_t tile =
        choose_tile(*generator, x.size(0), in_channels, x.size(2), x.size(3), options);
    torch::Tensor y;
    if (tile > 0) {
      if (tile != last_tile && options.tile == 0) {
        const int64_t whole =
            x.size(0) * whole_pass_bytes(*generator, in_channels, x.size(2), x.size(3));
        const int64_t tiled = tiled_pass_bytes(*generator, in_channels, x.size(2), x.size(3), tile);
        const std::string line =
            detail::str_cat("translate: ", x.size(2), "x", x.size(3), " needs about ", whole >> 20,
                            " MiB for a whole-image pass, over --max-memory; tiled pass with ",
                            tile, "-pixel tiles (about ", tiled >> 20, " MiB)");
        if (tiled <= options.max_memory) {
          log::info(line);
        } else {
          log::warn(line, ", still over it");
        }
      }
      last_tile = tile;
      TiledOptions tiled_options;
      tiled_options.tile = tile;
      tiled_options.temp_dir = options.temp_dir;
      y = tiled_forward(*generator, x, tiled_options);
    } else {
      y = options.a_to_b ? net->g(x) : net->f(x);
    }
    if (options.keep_luma) y = image::with_luma(y, x).clamp(range.lo, range.hi);
    y = y.narrow(2, 0, height).narrow(3, 0, width).to(torch::kCPU, torch::kFloat);
    const torch::Tensor pixels = image::to_uint8_hwc(y, range.lo, range.hi);
    for (size_t i = 0; i < names.size(); ++i) {
      try {
        image::write_png((fs::path(output_dir) / names[i]->name).string(),
                         pixels[static_cast<int64_t>(i)]);
      } catch (const FileError& e) {
        throw FileError(written_before(e));
      }
      ++written;
      if (bar) bar->advance();
    }
    if (unreadable) rethrow_unreadable();
  }
  bar.reset();
  if (padded > 0) {
    log::info("translate: ", padded, " image(s) reflect-padded to a multiple of ", multiple,
              " pixels for the generator, outputs cropped back to the input size");
  }
  return written;
}

}  // namespace cg::infer
