#include "infer/translator.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <set>

#include "common/error.h"
#include "common/file_util.h"
#include "common/log.h"
#include "common/progress.h"
#include "data/dataset_manifest.h"
#include "data/image_set.h"
#include "image/color.h"
#include "image/image_file.h"
#include "image/tensor_color.h"
#include "image/tensor_image.h"
#include "infer/tiled_generator.h"
#include "infer/translate_items.h"

namespace cg::infer {
namespace {

namespace fs = std::filesystem;
using image::Image;

Image load(const TranslateItem& item, const data::ImageSet* set) {
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
  // Named after this process: several ranks probe one folder at once.
  const fs::path probe = temporary_sibling((fs::path(dir) / "probe").string(), "translate");
  std::ofstream(probe.string()).put('x');
  CG_REQUIRE(fs::exists(probe), FileError, "output directory ", dir, " is not writable");
  fs::remove(probe);
}

// x (N, C, H, W) -> (N, C, H + pad_h, W + pad_w): reflection below and right, as the
// generators see a border; an image too small to reflect repeats its border instead.
torch::Tensor pad_to_multiple(const torch::Tensor& x, int64_t pad_h, int64_t pad_w) {
  namespace F = torch::nn::functional;
  F::PadFuncOptions pad({0, pad_w, 0, pad_h});
  if (pad_h < x.size(2) && pad_w < x.size(3)) {
    pad.mode(torch::kReflect);
  } else {
    pad.mode(torch::kReplicate);
  }
  return F::pad(x, pad);
}

void log_tile_choice(torch::nn::Module& generator, const torch::Tensor& x, int64_t tile,
                     const TranslateOptions& options) {
  const int64_t channels = x.size(1), height = x.size(2), width = x.size(3);
  const int64_t whole = x.size(0) * whole_pass_bytes(generator, channels, height, width);
  const int64_t tiled = tiled_pass_bytes(generator, channels, height, width, tile);
  const std::string line =
      detail::str_cat("translate: ", height, "x", width, " needs about ", whole >> 20,
                      " MiB for a whole-image pass, over --max-memory; tiled pass with ", tile,
                      "-pixel tiles (about ", tiled >> 20, " MiB)");
  if (tiled <= options.max_memory) {
    log::info(line);
  } else {
    log::warn(line, ", still over it");
  }
}

// CYCLEGAN_TEST_TRANSLATE_KILL="R@N": rank R kills itself (SIGKILL, no clean-up) once it
// has written N outputs, so tests can stop a run midway for real.
class KillHook {
 public:
  explicit KillHook(int rank) {
    const char* spec = std::getenv("CYCLEGAN_TEST_TRANSLATE_KILL");
    int hook_rank = -1;
    long long after = 0;
    if (spec != nullptr && std::sscanf(spec, "%d@%lld", &hook_rank, &after) == 2 &&
        hook_rank == rank) {
      after_ = after;
    }
  }
  void after_write(int64_t written) const {
    if (after_ > 0 && written >= after_) ::kill(::getpid(), SIGKILL);
  }

 private:
  int64_t after_ = 0;
};
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

TranslateResult translate(const SavedModel& saved, const std::string& input,
                          const std::string& output_dir, const TranslateOptions& options) {
  TORCH_CHECK(options.batch_size > 0, "translate: batch_size must be positive");
  TORCH_CHECK(options.tile >= 0 && options.max_memory >= 0,
              "translate: tile and max_memory must not be negative");
  const auto started = std::chrono::steady_clock::now();
  model::CycleGan net = saved.net;
  const model::CycleGanOptions& m = net->options();
  const int64_t in_channels = options.a_to_b ? m.channels_a : m.channels_b;
  const int64_t out_channels = options.a_to_b ? m.channels_b : m.channels_a;
  const std::string domain = options.a_to_b ? "A" : "B";
  CG_REQUIRE(!options.keep_luma || (in_channels == 1 && out_channels == 3), ConfigError,
             "--keep-luma: colorization only, but this direction maps ", in_channels, " to ",
             out_channels, " channels (it needs gray to colour)");
  const double colour_gain = options.colour_gain.value_or(saved.colour_gain);

  std::vector<TranslateItem> items;
  std::unique_ptr<data::ImageSet> set;
  if (fs::exists(fs::path(input) / "manifest.json")) {
    set = std::make_unique<data::ImageSet>(input, data::read_manifest(input), domain, "test");
    items = dataset_items(domain, set->size());
  } else {
    items = folder_items(input, output_dir);
  }
  CG_REQUIRE(!items.empty(), ConfigError, "--input ", input, ": no images in it");
  check_writable(output_dir);
  remove_stale_temporaries(output_dir);

  const model::ImageRange range = net->range();
  const int64_t multiple = net->size_multiple();
  const torch::TensorOptions on_device = net->parameters().front().options();
  const std::shared_ptr<torch::nn::Module> generator = generator_of(net, options.a_to_b);
  const auto blocks = blocks_of_rank(static_cast<int64_t>(items.size()), options.batch_size,
                                     options.rank, options.world);
  TranslateResult result;
  for (const auto& [first, last] : blocks) result.items += last - first;
  std::unique_ptr<Progress> bar;
  if (options.progress) bar = std::make_unique<Progress>("translate " + domain, result.items);
  const auto output_path = [&](const TranslateItem& item) {
    return (fs::path(output_dir) / item.output).string();
  };
  const auto written_before = [&](const std::exception& e) {
    return detail::str_cat(e.what(), " (", result.written, " of ", items.size(),
                           " image(s) were written before it)");
  };
  const KillHook kill_hook(options.rank);
  torch::NoGradGuard no_grad;
  int64_t last_tile = -1, padded = 0, far_from_training = 0, largest_side = 0;
  std::set<fs::path> made_folders = {fs::path(output_dir)};
  for (const auto& [first, last] : blocks) {
    // A block's images: read all (an unreadable one ends the run, but only after the ones
    // before it are written), then translate the block in batches of one size unless every
    // output is done already. Translating a block whole keeps its batches, and so its
    // numbers, those of any other run.
    std::vector<Image> pictures;
    std::exception_ptr unreadable;
    for (int64_t i = first; i < last; ++i) {
      try {
        pictures.push_back(image::to_channels(load(items[size_t(i)], set.get()), in_channels));
      } catch (const std::exception&) {
        unreadable = std::current_exception();
        break;
      }
    }
    std::vector<bool> missing;
    for (size_t k = 0; k < pictures.size(); ++k) {
      const Image& picture = pictures[k];
      missing.push_back(!output_complete(output_path(items[size_t(first) + k]), picture.height,
                                         picture.width, out_channels));
      const int64_t side = std::max(picture.height, picture.width);
      largest_side = std::max(largest_side, side);
      if (saved.image_size > 0 && side > 4 * saved.image_size) ++far_from_training;
    }
    const bool any_missing = std::find(missing.begin(), missing.end(), true) != missing.end();
    for (size_t start = 0; any_missing && start < pictures.size();) {
      const int64_t height = pictures[start].height, width = pictures[start].width;
      std::vector<torch::Tensor> batch;
      size_t end = start;
      for (;
           end < pictures.size() && pictures[end].height == height && pictures[end].width == width;
           ++end) {
        batch.push_back(to_input(pictures[end], range.lo, range.hi));
      }
      torch::Tensor x = torch::stack(batch);
      const int64_t pad_h = (multiple - height % multiple) % multiple,
                    pad_w = (multiple - width % multiple) % multiple;
      if (pad_h > 0 || pad_w > 0) {
        x = pad_to_multiple(x, pad_h, pad_w);
        padded += static_cast<int64_t>(batch.size());
      }
      x = x.to(on_device);
      const int64_t tile =
          choose_tile(*generator, x.size(0), in_channels, x.size(2), x.size(3), options);
      torch::Tensor y;
      if (tile > 0) {
        if (tile != last_tile && options.tile == 0) log_tile_choice(*generator, x, tile, options);
        last_tile = tile;
        TiledOptions tiled_options;
        tiled_options.tile = tile;
        tiled_options.temp_dir = options.temp_dir;
        y = tiled_forward(*generator, x, tiled_options);
      } else {
        y = options.a_to_b ? net->g(x) : net->f(x);
      }
      if (options.keep_luma) y = image::with_luma(y, x, colour_gain).clamp(range.lo, range.hi);
      y = y.narrow(2, 0, height).narrow(3, 0, width).to(torch::kCPU, torch::kFloat);
      const torch::Tensor pixels = image::to_uint8_hwc(y, range.lo, range.hi);
      for (size_t k = start; k < end; ++k) {
        if (!missing[k]) continue;
        const std::string path = output_path(items[size_t(first) + k]);
        try {
          const fs::path folder = fs::path(path).parent_path();
          if (made_folders.insert(folder).second) {
            fs::create_directories(folder);
            remove_stale_temporaries(folder.string());
          }
          image::write_png(path, pixels[static_cast<int64_t>(k - start)]);
        } catch (const FileError& e) {
          throw FileError(written_before(e));
        } catch (const fs::filesystem_error& e) {
          throw FileError(written_before(e));
        }
        ++result.written;
        kill_hook.after_write(result.written);
      }
      start = end;
    }
    for (size_t k = 0; k < pictures.size(); ++k) {
      if (!missing[k]) ++result.done_before;
      if (bar) bar->advance();
    }
    if (unreadable) {
      try {
        std::rethrow_exception(unreadable);
      } catch (const FileError& e) {
        throw FileError(written_before(e));
      }
    }
  }
  bar.reset();
  if (padded > 0) {
    log::info("translate: ", padded, " image(s) reflect-padded to a multiple of ", multiple,
              " pixels for the generator, outputs cropped back to the input size");
  }
  if (far_from_training > 0) {
    log::warn("translate: ", far_from_training, " input(s) more than 4x the ", saved.image_size,
              "-pixel crops the model was trained on (largest side ", largest_side,
              "): a generator learns textures at its training scale; if the results look "
              "wrong, resize the inputs nearer to it");
  }
  result.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace cg::infer
