#include "cifar10.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/error.h"
#include "pickle.h"
#include "pickle_values.h"

namespace cg::tools {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kPlane = kCifarSide * kCifarSide;
constexpr int64_t kRecord = 1 + kCifarPixels;
constexpr size_t kTrainBatches = 5;

// Kept local (not common/file_util) so the fuzz targets link without zlib.
std::string read_whole_file(const std::string& path) {
  std::error_code ec;
  CG_REQUIRE(fs::exists(path, ec), FileError, "cannot read ", path, ": no such file");
  CG_REQUIRE(fs::is_regular_file(path, ec), FileError, "cannot read ", path,
             ": not a regular file");
  uintmax_t size = fs::file_size(path, ec);
  CG_REQUIRE(!ec, FileError, "cannot read ", path, ": ", ec.message());
  std::ifstream in(path, std::ios::binary);
  CG_REQUIRE(in, FileError, "cannot read ", path, ": ", std::strerror(errno));
  std::string bytes(static_cast<size_t>(size), '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(size));
  CG_REQUIRE(static_cast<uintmax_t>(in.gcount()) == size, FileError, "cannot read ", path, ": got ",
             in.gcount(), " of ", size, " bytes");
  return bytes;
}

const uint8_t* as_bytes(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

// CIFAR stores each image as three planes (R, G, B), each 32 rows of 32 bytes.
void planar_to_hwc(const uint8_t* planar, uint8_t* hwc) {
  for (int64_t p = 0; p < kPlane; ++p) {
    for (int64_t c = 0; c < 3; ++c) hwc[p * 3 + c] = planar[c * kPlane + p];
  }
}

void append(CifarImages& to, const CifarImages& from) {
  to.labels.insert(to.labels.end(), from.labels.begin(), from.labels.end());
  to.pixels.insert(to.pixels.end(), from.pixels.begin(), from.pixels.end());
}

struct BatchSet {
  std::string format;
  fs::path dir;
  std::string suffix;
};

std::vector<std::string> batch_names(const std::string& suffix) {
  std::vector<std::string> names;
  for (size_t b = 1; b <= kTrainBatches; ++b) names.push_back("data_batch_" + std::to_string(b));
  names.push_back("test_batch");
  for (auto& name : names) name += suffix;
  return names;
}

bool is_file(const fs::path& path) {
  std::error_code ec;
  return fs::is_regular_file(path, ec);
}

}  // namespace

CifarImages read_cifar_binary_bytes(const uint8_t* data, size_t size, const std::string& name) {
  if (size == 0 || size % kRecord != 0) {
    std::string hint = size > 0 && size % (kRecord + 1) == 0
                           ? " (a multiple of 3074: CIFAR-100 with two label bytes per record?"
                             " It is not supported)"
                           : "";
    throw FileError(detail::str_cat(name, ": size ", size, " bytes is not a positive multiple of ",
                                    kRecord, " (one CIFAR-10 record: 1 label byte + ", kCifarPixels,
                                    " pixel bytes)", hint));
  }
  size_t count = size / kRecord;
  CifarImages images;
  images.labels.resize(count);
  images.pixels.resize(count * kCifarPixels);
  for (size_t i = 0; i < count; ++i) {
    const uint8_t* record = data + i * kRecord;
    CG_REQUIRE(record[0] < kCifarClasses, FileError, name, ": record ", i, " (byte ", i * kRecord,
               ") has label ", int{record[0]}, ", expected 0..9");
    images.labels[i] = record[0];
    planar_to_hwc(record + 1, images.pixels.data() + i * kCifarPixels);
  }
  return images;
}

CifarImages read_cifar_binary(const std::string& path) {
  std::string bytes = read_whole_file(path);
  return read_cifar_binary_bytes(as_bytes(bytes), bytes.size(), path);
}

CifarImages read_cifar_python_bytes(const uint8_t* data, size_t size, const std::string& name) {
  PickleDocument doc = PickleDocument::parse(data, size, name);
  const PickleValue& root = doc.root();
  CG_REQUIRE(root.kind == PickleKind::kDict, FileError, name, ": the pickled value (byte ",
             root.offset, ") is of type ", pickle_kind_name(root.kind),
             ", expected a CIFAR batch dict");
  auto require = [&](const char* key) {
    const PickleValue* value = pickle_dict_get(doc, root, key);
    if (value != nullptr) return value;
    bool cifar100 = pickle_dict_get(doc, root, "fine_labels") != nullptr;
    throw FileError(detail::str_cat(
        name, ": the batch dict (pickle byte ", root.offset, ") has no '", key,
        "' key (keys: ", pickle_dict_keys(root), ")",
        cifar100 ? "; 'fine_labels' suggests CIFAR-100, which is not supported" : ""));
  };
  const PickleValue* data_value = require("data");
  const PickleValue* labels_value = require("labels");

  PickleArrayU8 array = pickle_uint8_array(doc, *data_value, "'data'");
  if (array.shape.size() != 2 || array.shape[1] != kCifarPixels) {
    std::string dims;
    for (int64_t d : array.shape) dims += (dims.empty() ? "" : ", ") + std::to_string(d);
    throw FileError(detail::str_cat(name, ": 'data' (pickle byte ", data_value->offset,
                                    ") has shape (", dims, "), expected (N, ", kCifarPixels, ")"));
  }
  std::vector<int64_t> labels = pickle_int_list(doc, *labels_value, "'labels'");
  size_t count = static_cast<size_t>(array.shape[0]);
  CG_REQUIRE(labels.size() == count, FileError, name, ": 'labels' (pickle byte ",
             labels_value->offset, ") has ", labels.size(), " entries but 'data' has ", count,
             " images");

  CifarImages images;
  images.labels.resize(count);
  images.pixels.resize(count * kCifarPixels);
  for (size_t i = 0; i < count; ++i) {
    CG_REQUIRE(labels[i] >= 0 && labels[i] < kCifarClasses, FileError, name,
               ": 'labels' (pickle byte ", labels_value->offset, ") gives image ", i, " label ",
               labels[i], ", expected 0..9");
    images.labels[i] = static_cast<uint8_t>(labels[i]);
    planar_to_hwc(array.data.data() + i * kCifarPixels, images.pixels.data() + i * kCifarPixels);
  }
  return images;
}

CifarImages read_cifar_python(const std::string& path) {
  std::string bytes = read_whole_file(path);
  return read_cifar_python_bytes(as_bytes(bytes), bytes.size(), path);
}

CifarSplits read_cifar_dir(const std::string& dir) {
  std::error_code ec;
  CG_REQUIRE(fs::is_directory(dir, ec), FileError, "CIFAR-10 directory ", dir,
             " does not exist or is not a directory");
  const fs::path root(dir);
  const std::vector<BatchSet> sets = {
      {"binary", root, ".bin"},
      {"binary", root / "cifar-10-batches-bin", ".bin"},
      {"python", root, ""},
      {"python", root / "cifar-10-batches-py", ""},
  };
  std::string partial;
  for (const BatchSet& set : sets) {
    std::vector<std::string> names = batch_names(set.suffix);
    std::string missing;
    size_t missing_count = 0;
    for (const auto& name : names) {
      if (is_file(set.dir / name)) continue;
      missing += (missing.empty() ? "" : ", ") + name;
      ++missing_count;
    }
    if (missing_count > 0) {
      if (missing_count < names.size() && partial.empty()) {
        partial = detail::str_cat("; ", set.format, " batches in ", set.dir.string(),
                                  " are incomplete, missing ", missing);
      }
      continue;
    }
    auto read = [&](const std::string& name) {
      std::string path = (set.dir / name).string();
      return set.format == "binary" ? read_cifar_binary(path) : read_cifar_python(path);
    };
    CifarSplits splits;
    splits.format = set.format;
    for (size_t b = 0; b < kTrainBatches; ++b) append(splits.train, read(names[b]));
    splits.test = read(names[kTrainBatches]);
    return splits;
  }
  throw FileError(detail::str_cat("no CIFAR-10 batches in ", dir,
                                  ": looked for data_batch_1.bin .. data_batch_5.bin and "
                                  "test_batch.bin in ",
                                  dir, " and ", (root / "cifar-10-batches-bin").string(),
                                  ", then data_batch_1 .. data_batch_5 and test_batch in ", dir,
                                  " and ", (root / "cifar-10-batches-py").string(), partial));
}

const std::array<std::string, 10>& cifar10_class_names() {
  static const std::array<std::string, 10> kNames = {
      "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
  return kNames;
}

int cifar10_class_index(const std::string& name) {
  const auto& names = cifar10_class_names();
  std::string valid;
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == name) return static_cast<int>(i);
    valid += (i ? ", " : "") + names[i];
  }
  throw ConfigError(detail::str_cat("unknown CIFAR-10 class '", name, "'; valid: ", valid));
}

}  // namespace cg::tools
