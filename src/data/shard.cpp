#include "data/shard.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <vector>

namespace cg::data {
namespace {

const char* const kImages = "images";
const char* const kChecksums = "checksums";

uint32_t crc32_bytes(const uint8_t* data, int64_t size) {
  return static_cast<uint32_t>(::crc32(0L, data, static_cast<uInt>(size)));
}

void fsync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  CG_REQUIRE(fd >= 0, FileError, path, ": cannot reopen to sync");
  const int status = ::fsync(fd);
  ::close(fd);
  CG_REQUIRE(status == 0, FileError, path, ": fsync failed");
}

// The file and memory dataspaces of image `index` in the (count, height, width, channels)
// dataset `images`.
struct ImageSelection {
  h5::Handle file, memory;
};
ImageSelection select_image(hid_t images, int64_t index, const ShardInfo& info,
                            const std::string& ctx) {
  const hsize_t start[4] = {hsize_t(index), 0, 0, 0};
  const hsize_t size[4] = {1, hsize_t(info.height), hsize_t(info.width), hsize_t(info.channels)};
  ImageSelection s{h5::Handle(CG_H5(H5Dget_space(images), ctx), H5Sclose),
                   h5::Handle(CG_H5(H5Screate_simple(4, size, nullptr), ctx), H5Sclose)};
  CG_H5(H5Sselect_hyperslab(s.file.get(), H5S_SELECT_SET, start, nullptr, size, nullptr), ctx);
  return s;
}

}  // namespace

ShardWriter::ShardWriter(std::string path, ShardInfo info, int gzip_level)
    : path_(std::move(path)), info_(std::move(info)) {
  CG_REQUIRE(info_.domain == "A" || info_.domain == "B", ConfigError, path_,
             ": domain must be A or B");
  CG_REQUIRE(info_.split == "train" || info_.split == "test", ConfigError, path_,
             ": split must be train or test");
  CG_REQUIRE(info_.height > 0 && info_.width > 0 && info_.count > 0, ConfigError, path_,
             ": shard needs a positive size and count, got ", info_.count, " x ", info_.height, "x",
             info_.width);
  CG_REQUIRE(info_.channels == 1 || info_.channels == 3, ConfigError, path_,
             ": channels must be 1 or 3, got ", info_.channels);
  CG_REQUIRE(gzip_level >= 0 && gzip_level <= 9, ConfigError, "gzip level must be 0..9, got ",
             gzip_level);
  h5::quiet_errors();
  tmp_path_ = path_ + ".tmp";
  const std::string& ctx = tmp_path_;
  file_ = h5::Handle(CG_H5(H5Fcreate(tmp_path_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT),
                           "creating ", ctx),
                     H5Fclose);
  h5::write_attribute(file_.get(), "format_version", info_.format_version);
  h5::write_attribute(file_.get(), "domain", info_.domain);
  h5::write_attribute(file_.get(), "split", info_.split);
  h5::write_attribute(file_.get(), "height", info_.height);
  h5::write_attribute(file_.get(), "width", info_.width);
  h5::write_attribute(file_.get(), "channels", info_.channels);
  h5::write_attribute(file_.get(), "count", info_.count);
  h5::write_attribute(file_.get(), "source", info_.source);

  const hsize_t dims[4] = {hsize_t(info_.count), hsize_t(info_.height), hsize_t(info_.width),
                           hsize_t(info_.channels)};
  const hsize_t chunk[4] = {1, dims[1], dims[2], dims[3]};
  h5::Handle space(CG_H5(H5Screate_simple(4, dims, nullptr), ctx), H5Sclose);
  h5::Handle props(CG_H5(H5Pcreate(H5P_DATASET_CREATE), ctx), H5Pclose);
  CG_H5(H5Pset_chunk(props.get(), 4, chunk), ctx, ": chunking");
  if (gzip_level > 0) CG_H5(H5Pset_deflate(props.get(), gzip_level), ctx, ": gzip");
  images_ = h5::Handle(CG_H5(H5Dcreate2(file_.get(), kImages, H5T_STD_U8LE, space.get(),
                                        H5P_DEFAULT, props.get(), H5P_DEFAULT),
                             ctx, ": creating dataset images"),
                       H5Dclose);
  const hsize_t count_dim[1] = {hsize_t(info_.count)};
  h5::Handle count_space(CG_H5(H5Screate_simple(1, count_dim, nullptr), ctx), H5Sclose);
  checksums_ =
      h5::Handle(CG_H5(H5Dcreate2(file_.get(), kChecksums, H5T_STD_U32LE, count_space.get(),
                                  H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                       ctx, ": creating dataset checksums"),
                 H5Dclose);
}

ShardWriter::~ShardWriter() {
  if (finished_) return;
  checksums_.reset();
  images_.reset();
  file_.reset();
  std::error_code ignored;
  std::filesystem::remove(tmp_path_, ignored);
}

void ShardWriter::append(const uint8_t* hwc) {
  CG_REQUIRE(appended_ < info_.count, FileError, path_, ": more than the declared ", info_.count,
             " images appended");
  const std::string& ctx = tmp_path_;
  const ImageSelection image = select_image(images_.get(), appended_, info_, ctx);
  CG_H5(H5Dwrite(images_.get(), H5T_NATIVE_UINT8, image.memory.get(), image.file.get(), H5P_DEFAULT,
                 hwc),
        ctx, ": writing image ", appended_);

  const uint32_t crc = crc32_bytes(hwc, info_.image_bytes());
  const hsize_t one = 1, at = hsize_t(appended_);
  h5::Handle crc_space(CG_H5(H5Dget_space(checksums_.get()), ctx), H5Sclose);
  CG_H5(H5Sselect_hyperslab(crc_space.get(), H5S_SELECT_SET, &at, nullptr, &one, nullptr), ctx);
  h5::Handle crc_mem(CG_H5(H5Screate_simple(1, &one, nullptr), ctx), H5Sclose);
  CG_H5(H5Dwrite(checksums_.get(), H5T_NATIVE_UINT32, crc_mem.get(), crc_space.get(), H5P_DEFAULT,
                 &crc),
        ctx, ": writing checksum ", appended_);
  ++appended_;
}

void ShardWriter::finish() {
  CG_REQUIRE(appended_ == info_.count, FileError, path_, ": ", appended_, " of the declared ",
             info_.count, " images were written");
  checksums_.close(tmp_path_);
  images_.close(tmp_path_);
  file_.close("closing " + tmp_path_);
  fsync_path(tmp_path_);
  std::error_code error;
  std::filesystem::rename(tmp_path_, path_, error);
  CG_REQUIRE(!error, FileError, path_, ": cannot rename from ", tmp_path_, ": ", error.message());
  finished_ = true;
}

ShardReader::ShardReader(std::string path) : path_(std::move(path)) {
  h5::quiet_errors();
  const std::string& ctx = path_;
  std::error_code error;
  CG_REQUIRE(!std::filesystem::is_directory(path_, error), FileError, path_,
             ": is a directory, not a shard file");
  CG_REQUIRE(std::filesystem::is_regular_file(path_, error), FileError, path_, ": no such file");
  CG_REQUIRE(h5::has_hdf5_signature(path_), FileError, path_,
             ": not an HDF5 file (no HDF5 signature); shards are written by cyclegan_data");
  file_ = h5::Handle(CG_H5(H5Fopen(path_.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "opening ", ctx,
                           " (truncated or damaged?)"),
                     H5Fclose);
  info_.format_version = h5::read_int_attribute(file_.get(), "format_version", ctx);
  CG_REQUIRE(info_.format_version == kShardFormatVersion, FileError, path_,
             ": shard format version ", info_.format_version, ", this build reads version ",
             kShardFormatVersion, ". HINT: rebuild the data set with this version's cyclegan_data");
  info_.domain = h5::read_string_attribute(file_.get(), "domain", ctx);
  info_.split = h5::read_string_attribute(file_.get(), "split", ctx);
  info_.height = h5::read_int_attribute(file_.get(), "height", ctx);
  info_.width = h5::read_int_attribute(file_.get(), "width", ctx);
  info_.channels = h5::read_int_attribute(file_.get(), "channels", ctx);
  info_.count = h5::read_int_attribute(file_.get(), "count", ctx);
  info_.source = h5::read_string_attribute(file_.get(), "source", ctx);
  CG_REQUIRE(info_.domain == "A" || info_.domain == "B", FileError, path_,
             ": domain attribute is '", info_.domain, "', expected A or B");
  CG_REQUIRE(info_.split == "train" || info_.split == "test", FileError, path_,
             ": split attribute is '", info_.split, "', expected train or test");
  CG_REQUIRE(info_.channels == 1 || info_.channels == 3, FileError, path_, ": ", info_.channels,
             " channels; shards hold gray (1) or RGB (3) images");
  CG_REQUIRE(info_.count > 0 && info_.height > 0 && info_.width > 0, FileError, path_,
             ": empty shard (", info_.count, " images of ", info_.height, "x", info_.width, ")");
  CG_REQUIRE(info_.height <= kMaxImageSide && info_.width <= kMaxImageSide, FileError, path_,
             ": declares images of ", info_.height, "x", info_.width, ", more than the ",
             kMaxImageSide,
             " pixels per side a shard may hold (damaged or not made by cyclegan_data)");

  const htri_t has_images = CG_H5(H5Lexists(file_.get(), kImages, H5P_DEFAULT), ctx);
  CG_REQUIRE(has_images > 0, FileError, path_, ": no dataset 'images'");
  images_ = h5::Handle(CG_H5(H5Dopen2(file_.get(), kImages, H5P_DEFAULT), ctx, ": dataset images"),
                       H5Dclose);
  h5::Handle type(CG_H5(H5Dget_type(images_.get()), ctx), H5Tclose);
  CG_REQUIRE(H5Tget_class(type.get()) == H5T_INTEGER && H5Tget_size(type.get()) == 1 &&
                 H5Tget_sign(type.get()) == H5T_SGN_NONE,
             FileError, path_, ": dataset 'images' must be uint8");
  h5::Handle space(CG_H5(H5Dget_space(images_.get()), ctx), H5Sclose);
  hsize_t dims[4] = {0, 0, 0, 0};
  const int rank = CG_H5(H5Sget_simple_extent_ndims(space.get()), ctx);
  CG_REQUIRE(rank == 4, FileError, path_, ": dataset 'images' has ", rank,
             " dimensions, expected 4 (count, height, width, channels)");
  CG_H5(H5Sget_simple_extent_dims(space.get(), dims, nullptr), ctx);
  CG_REQUIRE(int64_t(dims[0]) == info_.count && int64_t(dims[1]) == info_.height &&
                 int64_t(dims[2]) == info_.width && int64_t(dims[3]) == info_.channels,
             FileError, path_, ": dataset 'images' is ", dims[0], "x", dims[1], "x", dims[2], "x",
             dims[3], " but the attributes say ", info_.count, "x", info_.height, "x", info_.width,
             "x", info_.channels);

  const htri_t has_crc = CG_H5(H5Lexists(file_.get(), kChecksums, H5P_DEFAULT), ctx);
  CG_REQUIRE(has_crc > 0, FileError, path_, ": no dataset 'checksums'");
  h5::Handle crc(CG_H5(H5Dopen2(file_.get(), kChecksums, H5P_DEFAULT), ctx, ": dataset checksums"),
                 H5Dclose);
  h5::Handle crc_space(CG_H5(H5Dget_space(crc.get()), ctx), H5Sclose);
  hsize_t crc_count = 0;
  const int crc_rank = CG_H5(H5Sget_simple_extent_ndims(crc_space.get()), ctx);
  if (crc_rank == 1) CG_H5(H5Sget_simple_extent_dims(crc_space.get(), &crc_count, nullptr), ctx);
  CG_REQUIRE(crc_rank == 1 && int64_t(crc_count) == info_.count, FileError, path_,
             ": dataset 'checksums' must hold one value per image (", info_.count, ")");
  // The checksums are stored uncompressed: a header that declares more images than the file
  // holds values for is refused before the table is allocated.
  CG_REQUIRE(H5Dget_storage_size(crc.get()) >= hsize_t(info_.count) * 4, FileError, path_,
             ": declares ", info_.count, " images but stores ", H5Dget_storage_size(crc.get()) / 4,
             " checksums (truncated or damaged)");
  checksums_.resize(size_t(info_.count));
  CG_H5(H5Dread(crc.get(), H5T_NATIVE_UINT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, checksums_.data()),
        ctx, ": reading checksums (truncated file?)");
}

void ShardReader::read(int64_t index, uint8_t* hwc) const {
  CG_REQUIRE(index >= 0 && index < info_.count, FileError, path_, ": image ", index,
             " out of range (", info_.count, " images)");
  const std::string& ctx = path_;
  const ImageSelection image = select_image(images_.get(), index, info_, ctx);
  CG_H5(H5Dread(images_.get(), H5T_NATIVE_UINT8, image.memory.get(), image.file.get(), H5P_DEFAULT,
                hwc),
        ctx, ": reading image ", index, " (truncated or damaged file?)");
  const uint32_t computed = crc32_bytes(hwc, info_.image_bytes());
  CG_REQUIRE(computed == checksums_[size_t(index)], FileError, path_, ": image ", index,
             " fails its checksum (stored ", checksums_[size_t(index)], ", computed ", computed,
             "); the shard is damaged: rebuild it or run `cyclegan_data verify`");
}

}  // namespace cg::data
