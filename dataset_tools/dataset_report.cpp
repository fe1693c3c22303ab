#include "dataset_report.h"

#include <map>

#include "common/error.h"
#include "common/file_util.h"
#include "data/image_set.h"
#include "image/color.h"
#include "image/image_file.h"

namespace cg::tools {

using image::Image;
using image::to_channels;

void inspect_dataset(const std::string& dir, std::ostream& out) {
  const data::DatasetManifest m = data::read_manifest(dir);
  out << dir << ": " << m.source << "\n";
  out << "  format version " << m.format_version << ", " << m.shards.size() << " shard(s)"
      << (m.paired_test ? ", test split paired (A[i] and B[i] show the same picture)" : "") << "\n";
  for (const char* split : {"train", "test"}) {
    for (const char* domain : {"A", "B"}) {
      const auto shards = m.select(domain, split);
      if (shards.empty()) continue;
      int64_t images = 0, bytes = 0;
      for (const auto& s : shards) {
        images += s.count;
        bytes += s.bytes;
      }
      const auto& s = shards.front();
      out << "  " << split << " " << domain << ": " << images << " images " << s.height << "x"
          << s.width << "x" << s.channels << (s.channels == 1 ? " (gray)" : " (RGB)") << " in "
          << shards.size() << " shard(s), " << bytes / (1 << 20) << " MiB\n";
    }
  }
}

int64_t verify_dataset(const std::string& dir, std::ostream& out) {
  const data::DatasetManifest m = data::read_manifest(dir);
  int64_t problems = 0, images = 0;
  for (const auto& s : m.shards) {
    const std::string path = dir + "/" + s.file;
    try {
      const data::FileDigest digest = data::digest_file(path);
      CG_REQUIRE(digest.bytes == s.bytes, FileError, path, ": ", digest.bytes,
                 " bytes, the manifest says ", s.bytes);
      CG_REQUIRE(digest.crc32 == s.crc32, FileError, path,
                 ": file CRC-32 differs from the manifest's");
      data::ShardReader reader(path);
      std::vector<uint8_t> image(size_t(reader.info().image_bytes()));
      for (int64_t i = 0; i < reader.info().count; ++i) {
        try {
          reader.read(i, image.data());
          ++images;
        } catch (const FileError& e) {
          out << "BAD " << e.what() << "\n";
          ++problems;
        }
      }
    } catch (const FileError& e) {
      out << "BAD " << e.what() << "\n";
      ++problems;
    }
  }
  out << dir << ": " << m.shards.size() << " shard(s), " << images << " image(s) verified, "
      << problems << " problem(s)\n";
  return problems;
}

void export_grid(const std::string& dir, const std::string& split, const std::string& domain,
                 int64_t count, int64_t columns, const std::string& png) {
  CG_REQUIRE(count > 0 && columns > 0, ConfigError, "--count and --columns must be positive");
  CG_REQUIRE(domain == "A" || domain == "B" || domain == "AB", ConfigError,
             "--domain: expected A, B or AB, got '", domain, "'");
  const data::DatasetManifest m = data::read_manifest(dir);
  std::vector<std::unique_ptr<data::ImageSet>> sets;
  for (char d : domain)
    sets.push_back(std::make_unique<data::ImageSet>(dir, m, std::string(1, d), split));
  int64_t side = 0;
  for (const auto& set : sets) {
    count = std::min(count, set->size());
    side = std::max({side, set->height(), set->width()});
  }
  columns = std::min(columns, count);
  const int64_t rows_per_set = (count + columns - 1) / columns;
  const int64_t gap = 2;
  Image grid;
  grid.channels = 3;
  grid.width = columns * (side + gap) + gap;
  grid.height = static_cast<int64_t>(sets.size()) * rows_per_set * (side + gap) + gap;
  grid.pixels.assign(size_t(grid.height * grid.width * 3), 255);
  for (size_t s = 0; s < sets.size(); ++s) {
    const data::ImageSet& set = *sets[s];
    Image image;
    image.height = set.height();
    image.width = set.width();
    image.channels = set.channels();
    image.pixels.resize(size_t(set.image_bytes()));
    for (int64_t i = 0; i < count; ++i) {
      set.read(i, image.pixels.data());
      const Image rgb = to_channels(image, 3);
      const int64_t y0 = gap + (int64_t(s) * rows_per_set + i / columns) * (side + gap);
      const int64_t x0 = gap + (i % columns) * (side + gap);
      for (int64_t y = 0; y < rgb.height; ++y) {
        std::copy_n(&rgb.pixels[size_t(y * rgb.width * 3)], rgb.width * 3,
                    &grid.pixels[size_t(((y0 + y) * grid.width + x0) * 3)]);
      }
    }
  }
  image::write_png(png, grid);
}

}  // namespace cg::tools
