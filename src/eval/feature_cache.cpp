#include "eval/feature_cache.h"

#include <c10/util/hash.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/error.h"
#include "common/error_text.h"
#include "common/file_util.h"
#include "eval/inception_features.h"

namespace cg::eval {
namespace fs = std::filesystem;
namespace {

// Bump when what a cached feature means changes (preprocessing, how images are picked,
// what an entry holds).
constexpr const char* kFormat = "cyclegan_dist fid features v2";

uint32_t features_crc32(const torch::Tensor& features) {
  const torch::Tensor bytes = features.contiguous();
  return crc32_of(
      std::string(static_cast<const char*>(bytes.data_ptr()), static_cast<size_t>(bytes.nbytes())));
}

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
  TORCH_INTERNAL_ASSERT(set.images != nullptr, "FeatureCache: no image set for ", stem(set));
  for (int64_t i = 0; i < set.images->size(); ++i) what << set.images->checksum(i) << "\n";
  return c10::sha1(what.str()).str().substr(0, 16);
}

std::string FeatureCache::path(const CachedSet& set) const {
  return (fs::path(dir_) / (stem(set) + "_" + key(set) + ".pt")).string();
}

std::optional<torch::Tensor> FeatureCache::load(const CachedSet& set, std::string* problem) const {
  const std::string file = path(set);
  std::error_code ec;
  if (!fs::exists(file, ec)) return std::nullopt;
  std::string why;
  try {
    const std::string bytes = read_file(file);
    const c10::impl::GenericDict dict =
        torch::pickle_load(std::vector<char>(bytes.begin(), bytes.end())).toGenericDict();
    const torch::Tensor features = dict.at("features").toTensor();
    if (dict.at("format").toStringRef() != kFormat) {
      why = "another format";
    } else if (dict.at("key").toStringRef() != key(set)) {
      why = "another key";
    } else if (features.sizes() !=
                   torch::IntArrayRef({set.picked, InceptionFeatures::kFeatureDim}) ||
               features.scalar_type() != torch::kFloat) {
      why = detail::str_cat("features of shape ", features.sizes(), ", expected (", set.picked,
                            ", ", InceptionFeatures::kFeatureDim, ") float");
    } else if (static_cast<uint32_t>(dict.at("features_crc32").toInt()) !=
               features_crc32(features)) {
      why = "the features do not match their CRC-32";
    } else {
      return features;
    }
  } catch (const std::exception& e) {
    why = brief(e);
  }
  if (problem != nullptr) {
    *problem = "FID cache " + file + " is damaged (" + why + "): recomputing its features";
  }
  return std::nullopt;
}

std::string FeatureCache::store(const CachedSet& set, const torch::Tensor& features) const {
  TORCH_CHECK(features.sizes() == torch::IntArrayRef({set.picked, InceptionFeatures::kFeatureDim}),
              "FeatureCache: expected (", set.picked, ", ", InceptionFeatures::kFeatureDim,
              ") features, got ", features.sizes());
  c10::impl::GenericDict dict(c10::StringType::get(), c10::AnyType::get());
  dict.insert("format", kFormat);
  dict.insert("key", key(set));
  const torch::Tensor stored = features.to(torch::kCPU, torch::kFloat).contiguous();
  dict.insert("features", stored);
  dict.insert("features_crc32", static_cast<int64_t>(features_crc32(stored)));
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
