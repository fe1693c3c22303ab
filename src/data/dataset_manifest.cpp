#include "data/dataset_manifest.h"

#include <zlib.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "common/error.h"
#include "common/file_util.h"

namespace cg::data {
namespace {

std::string hex32(uint32_t value) {
  char text[11];
  std::snprintf(text, sizeof(text), "%08x", value);
  return text;
}

template <typename T>
T field(const nlohmann::json& object, const char* key, const std::string& where) {
  CG_REQUIRE(object.is_object() && object.contains(key), FileError, where, ": missing field '", key,
             "'");
  try {
    return object.at(key).get<T>();
  } catch (const nlohmann::json::exception&) {
    throw FileError(where + ": field '" + key + "' has the wrong type (" + object.at(key).dump() +
                    ")");
  }
}

}  // namespace

std::vector<ShardEntry> DatasetManifest::select(const std::string& domain,
                                                const std::string& split) const {
  std::vector<ShardEntry> out;
  for (const ShardEntry& s : shards) {
    if (s.domain == domain && s.split == split) out.push_back(s);
  }
  return out;
}

int64_t DatasetManifest::count(const std::string& domain, const std::string& split) const {
  int64_t n = 0;
  for (const ShardEntry& s : select(domain, split)) n += s.count;
  return n;
}

DatasetManifest read_manifest(const std::string& dir) {
  const std::string path = dir + "/" + kManifestName;
  std::ifstream probe(path);
  CG_REQUIRE(probe.good(), FileError, path,
             ": no manifest; a data set is a directory made by "
             "cyclegan_data (HINT: `cyclegan_data demo --output DIR` builds one)");
  nlohmann::json json;
  try {
    json = nlohmann::json::parse(read_file(path));
  } catch (const nlohmann::json::parse_error& e) {
    throw FileError(path + ": not valid JSON (" + describe(e) + ")");
  }
  DatasetManifest m;
  CG_REQUIRE(field<std::string>(json, "format", path) == "cyclegan_dist-dataset", FileError, path,
             ": field 'format' is not \"cyclegan_dist-dataset\"");
  m.format_version = field<int64_t>(json, "format_version", path);
  CG_REQUIRE(m.format_version == kManifestFormatVersion, FileError, path, ": format version ",
             m.format_version, ", this build reads ", kManifestFormatVersion,
             ". HINT: rebuild the data set with this version's cyclegan_data");
  m.source = field<std::string>(json, "source", path);
  m.paired_test = field<bool>(json, "paired_test", path);
  const auto shards = field<nlohmann::json>(json, "shards", path);
  CG_REQUIRE(shards.is_array(), FileError, path, ": field 'shards' must be a list");
  std::set<std::string> files;
  for (size_t i = 0; i < shards.size(); ++i) {
    const std::string where = path + ": shards[" + std::to_string(i) + "]";
    ShardEntry s;
    s.file = field<std::string>(shards[i], "file", where);
    s.domain = field<std::string>(shards[i], "domain", where);
    s.split = field<std::string>(shards[i], "split", where);
    s.count = field<int64_t>(shards[i], "count", where);
    s.height = field<int64_t>(shards[i], "height", where);
    s.width = field<int64_t>(shards[i], "width", where);
    s.channels = field<int64_t>(shards[i], "channels", where);
    s.bytes = field<int64_t>(shards[i], "bytes", where);
    const std::string crc = field<std::string>(shards[i], "crc32", where);
    char* end = nullptr;
    s.crc32 = static_cast<uint32_t>(std::strtoul(crc.c_str(), &end, 16));
    CG_REQUIRE(crc.size() == 8 && end == crc.c_str() + 8, FileError, where,
               ": crc32 must be 8 hex digits, got '", crc, "'");
    CG_REQUIRE(s.file.find('/') == std::string::npos && !s.file.empty(), FileError, where,
               ": file must be a plain name inside the data set directory, got '", s.file, "'");
    CG_REQUIRE(s.domain == "A" || s.domain == "B", FileError, where, ": domain must be A or B");
    CG_REQUIRE(s.split == "train" || s.split == "test", FileError, where,
               ": split must be train or test");
    CG_REQUIRE(s.count > 0 && s.height > 0 && s.width > 0 && s.bytes > 0, FileError, where,
               ": count, height, width and bytes must be positive");
    CG_REQUIRE(s.channels == 1 || s.channels == 3, FileError, where, ": channels must be 1 or 3");
    CG_REQUIRE(files.insert(s.file).second, FileError, where, ": lists ", s.file,
               " a second time; each shard may appear once");
    m.shards.push_back(std::move(s));
  }
  return m;
}

void write_manifest(const std::string& dir, const DatasetManifest& m) {
  nlohmann::json shards = nlohmann::json::array();
  for (const ShardEntry& s : m.shards) {
    shards.push_back({{"file", s.file},
                      {"domain", s.domain},
                      {"split", s.split},
                      {"count", s.count},
                      {"height", s.height},
                      {"width", s.width},
                      {"channels", s.channels},
                      {"bytes", s.bytes},
                      {"crc32", hex32(s.crc32)}});
  }
  nlohmann::json json = {{"format", "cyclegan_dist-dataset"},
                         {"format_version", m.format_version},
                         {"source", m.source},
                         {"paired_test", m.paired_test},
                         {"shards", shards}};
  write_file_atomic(dir + "/" + kManifestName, json.dump(2) + "\n");
}

FileDigest digest_file(const std::string& path) {
  std::error_code ec;
  CG_REQUIRE(!std::filesystem::is_directory(path, ec), FileError, path,
             ": is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  CG_REQUIRE(in.good(), FileError, path, ": cannot open");
  FileDigest digest;
  uLong crc = ::crc32(0L, Z_NULL, 0);
  std::vector<char> block(1 << 22);
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    const std::streamsize got = in.gcount();
    if (got <= 0) break;
    crc = ::crc32(crc, reinterpret_cast<const Bytef*>(block.data()), static_cast<uInt>(got));
    digest.bytes += got;
  }
  CG_REQUIRE(in.eof(), FileError, path, ": read error");
  digest.crc32 = static_cast<uint32_t>(crc);
  return digest;
}

}  // namespace cg::data
