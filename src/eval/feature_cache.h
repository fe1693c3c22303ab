#pragma once
// Inception features of a data set's real images, kept in the data set directory so that
// only the first evaluation runs the extractor over them: <data set>/fid_cache/<set>_<key>.pt.
// The key hashes what the features depend on: the format of this cache and the protocol
// (which images are picked, how they are converted), the extractor's SHA-1, the names, sizes
// and CRC-32s of the split's shards (from the manifest) and the CRC-32 of every image as its
// shard stores it. A rewritten shard (even one whose manifest entry was left alone) or
// another extractor gives another key, so the old entry is not read; storing a set removes
// its entries under other keys.
//
// An entry is a torch.save-compatible dict {"format", "key", "features" (k, 2048) float32,
// "features_crc32"}: the CRC-32 of the features' bytes, so a damaged file is recomputed
// (with a warning naming it), never used. Concurrent writers are safe (each writes a
// temporary file and renames it).
#include <torch/torch.h>

#include <cstdint>
#include <optional>
#include <string>

#include "data/dataset_manifest.h"
#include "data/image_set.h"

namespace cg::eval {

/// Which real images a cache entry holds.
struct CachedSet {
  std::string domain;    ///< "A" or "B"
  std::string split;     ///< "train" or "test"
  int64_t picked = 0;    ///< images whose features are kept (see Evaluator for which)
  int64_t total = 0;     ///< images of the split they are picked from
  int64_t channels = 0;  ///< channels the images are converted to before extraction
  /// The split itself (domain, split): its stored per-image CRC-32s go into the key.
  const data::ImageSet* images = nullptr;
};

class FeatureCache {
 public:
  /// The cache of the data set at `dataset_dir` (described by `manifest`) for the extractor
  /// with SHA-1 `extractor_sha1`. Touches no file.
  FeatureCache(std::string dataset_dir, data::DatasetManifest manifest, std::string extractor_sha1);

  /// The file that holds `set`.
  std::string path(const CachedSet& set) const;

  /// The cached (picked, 2048) float32 features of `set`, or nullopt when there is no entry
  /// or it does not verify (unreadable, another format or key, another shape, features
  /// whose CRC-32 does not match). For an entry that exists but does not verify, `problem`
  /// (when given) is set to one line naming the file and what is wrong. Never throws for a
  /// bad entry: it is rebuilt.
  std::optional<torch::Tensor> load(const CachedSet& set, std::string* problem = nullptr) const;

  /// Writes the features of `set` and removes its entries under other keys. Returns "" or,
  /// when the directory cannot be written (a read-only data set), one line saying so: the
  /// evaluation goes on without the cache.
  std::string store(const CachedSet& set, const torch::Tensor& features) const;

 private:
  std::string key(const CachedSet& set) const;
  std::string stem(const CachedSet& set) const;

  std::string dir_;
  data::DatasetManifest manifest_;
  std::string extractor_sha1_;
};

}  // namespace cg::eval
