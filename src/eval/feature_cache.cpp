#include "eval/feature_cache.h"

#include <c10/util/hash.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/file_util.h"
#include "eval/inception_features.h"

namespace cg::eval {
namespace fs = std::filesystem;
namespace {

// Bump when what a cached feature means changes (preprocessing, how images are picked).
constexpr const char* kFormat = "cyclegan_dist fid features v1";

}  // namespace

FeatureCache::FeatureCache(std::string dataset_dir, data::DatasetManifest manifest,
                           std::string extractor_sha1)
    : dir_((fs::path(dataset_dir) / "fid_cache").string()),
      manifest_(std::move(manifest)),
      extractor_sha1_(std::move(extractor_sha1)) {}

std::string FeatureCache::stem(const CachedSet& set) const {
  return set.domain + "_" + set.split + "_" + std::to_string(set.picked) + "of" +
         std::to_string(set.total) + "_" + std::to_string(set.channels) + "ch";
}

std::string FeatureCache::key(const CachedSet& set) const {
  std::ostringstream what;
  what << kFormat << "\n" << extractor_sha1_ << "\n" << stem(set) << "\n";
  for (const data::ShardEntry& e : manifest_.select(set.domain, set.split)) {
    what << e.file << " " << e.bytes << " " << e.crc32 << " " << e.count << "\n";
  }
  return c10::sha1(what.str()).str().substr(0, 16);
}

std::string FeatureCache::path(const CachedSet& set) const {
  return (fs::path(dir_) / (stem(set) + "_" + key(set) + ".pt")).string();
}

std::optional<torch::Tensor> FeatureCache::load(const CachedSet& set) const {
  const std::string file = path(set);
  std::error_code ec;
  if (!fs::is_regular_file(file, ec)) return std::nullopt;
  try {
    const std::string bytes = read_file(file);
    const c10::impl::GenericDict dict =
        torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end())).toGenericDict();
    if (dict.at("format").toStringRef() != kFormat || dict.at("key").toStringRef() != key(set)) {
      return std::nullopt;
    }
    torch::Tensor features = dict.at("features").toTensor();
    if (features.sizes() != torch::IntArrayRef({set.picked, InceptionFeatures::kFeatureDim}) ||
        features.scalar_type() != torch::kFloat) {
      return std::nullopt;
    }
    return features;
  } catch (const std::exception&) {
    return std::nullopt;  // damaged or foreign: rebuilt and overwritten
  }
}

std::string FeatureCache::store(const CachedSet& set, const torch::Tensor& features) const {
  TORCH_CHECK(features.sizes() == torch::IntArrayRef({set.picked, InceptionFeatures::kFeatureDim}),
              "FeatureCache: expected (", set.picked, ", ", InceptionFeatures::kFeatureDim,
              ") features, got ", features.sizes());
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  dict.insert("format", kFormat);
  dict.insert("key", key(set));
  dict.insert("features", features.to(torch::kCPU, torch::kFloat).contiguous());
  const std::vector<char> bytes = torch::pickle_save(c10::IValue(dict));
  const std::string file = path(set);
  try {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    CG_REQUIRE(!ec, FileError, "cannot create ", dir_, ": ", ec.message());
    write_file_atomic(file, std::string(bytes.begin(), bytes.end()));
    // Entries of this set under other keys describe shards or an extractor that are gone.
    const std::string prefix = stem(set) + "_";
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind(prefix, 0) == 0 && entry.path() != fs::path(file) &&
          entry.path().extension() == ".pt") {
        fs::remove(entry.path(), ec);
      }
    }
  } catch (const std::exception& e) {
    return "FID cache not written (evaluations recompute the real images' features): " +
           describe(e);
  }
  return "";
}

}  // namespace cg::eval
