#include "infer/translate_items.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include "common/error.h"
#include "image/image_file.h"

namespace cg::infer {
namespace {

namespace fs = std::filesystem;

// Whether `inner` is `outer` or lies below it, once both are absolute and normalised (links
// resolved as far as they exist).
bool inside(const fs::path& inner, const fs::path& outer) {
  std::error_code ec;
  const fs::path a = fs::weakly_canonical(fs::absolute(inner), ec);
  const fs::path b = fs::weakly_canonical(fs::absolute(outer), ec);
  auto ai = a.begin();
  for (auto bi = b.begin(); bi != b.end(); ++bi, ++ai) {
    if (bi->empty()) continue;  // a trailing separator
    if (ai == a.end() || *ai != *bi) return false;
  }
  return true;
}

}  // namespace

std::vector<TranslateItem> folder_items(const std::string& folder, const std::string& output_dir) {
  CG_REQUIRE(!inside(output_dir, folder), ConfigError, "--output ", output_dir,
             " lies inside --input ", folder,
             ": a second run would translate the outputs; choose a folder outside it");
  std::vector<TranslateItem> items;
  std::map<std::string, std::string> seen;  // output -> input
  for (const std::string& relative : image::list_images_recursive(folder)) {
    const fs::path path(relative);
    const std::string output = (path.parent_path() / path.stem()).generic_string() + ".png";
    auto [where, fresh] = seen.emplace(output, relative);
    CG_REQUIRE(fresh, ConfigError, "--input ", folder, ": ", where->second, " and ", relative,
               " would both be written as ", output);
    items.push_back({(fs::path(folder) / path).string(), -1, output});
  }
  CG_REQUIRE(!items.empty(), ConfigError, "--input ", folder, ": no JPEG or PNG images in it");
  return items;
}

std::vector<TranslateItem> dataset_items(const std::string& domain, int64_t count) {
  std::vector<TranslateItem> items;
  for (int64_t i = 0; i < count; ++i) {
    char name[32];
    std::snprintf(name, sizeof(name), "%s_%05lld.png", domain.c_str(), static_cast<long long>(i));
    items.push_back({"", i, name});
  }
  return items;
}

std::vector<std::pair<int64_t, int64_t>> blocks_of_rank(int64_t items, int64_t block, int rank,
                                                        int world) {
  CG_REQUIRE(block > 0 && world > 0 && rank >= 0 && rank < world, ConfigError,
             "blocks_of_rank: bad block ", block, ", rank ", rank, " or world ", world);
  std::vector<std::pair<int64_t, int64_t>> ranges;
  for (int64_t first = rank * block; first < items; first += world * block)
    ranges.emplace_back(first, std::min(items, first + block));
  return ranges;
}

bool output_complete(const std::string& path, int64_t height, int64_t width, int64_t channels) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return false;
  try {
    const image::Image done = image::decode_image(path);
    return done.height == height && done.width == width && done.channels == channels;
  } catch (const FileError&) {
    return false;
  }
}

}  // namespace cg::infer
