#include "data/shard.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/file_util.h"
#include "data/dataset_writer.h"
#include "data/image_set.h"
#include "dataset_fixture.h"

namespace cg::data {
namespace {

namespace fs = std::filesystem;
using testing::labelled_image;
using testing::make_dataset;
using testing::temp_dir;

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const FileError& e) {
    return e.what();
  }
  return "";
}

// A shard-like file with any dtype and shape, to feed the reader what cyclegan_data never writes.
void write_odd_shard(const std::string& path, hid_t type, std::vector<hsize_t> dims,
                     int64_t version = 1) {
  h5::quiet_errors();
  h5::Handle file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), H5Fclose);
  h5::write_attribute(file.get(), "format_version", version);
  h5::write_attribute(file.get(), "domain", std::string("A"));
  h5::write_attribute(file.get(), "split", std::string("train"));
  h5::write_attribute(file.get(), "height", int64_t{4});
  h5::write_attribute(file.get(), "width", int64_t{4});
  h5::write_attribute(file.get(), "channels", int64_t{3});
  h5::write_attribute(file.get(), "count", int64_t{2});
  h5::write_attribute(file.get(), "source", std::string("odd"));
  h5::Handle space(H5Screate_simple(int(dims.size()), dims.data(), nullptr), H5Sclose);
  h5::Handle images(
      H5Dcreate2(file.get(), "images", type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
      H5Dclose);
  const hsize_t two = 2;
  h5::Handle crc_space(H5Screate_simple(1, &two, nullptr), H5Sclose);
  h5::Handle crc(H5Dcreate2(file.get(), "checksums", H5T_STD_U32LE, crc_space.get(), H5P_DEFAULT,
                            H5P_DEFAULT, H5P_DEFAULT),
                 H5Dclose);
}

TEST(Shard, WrittenImagesReadBackWithTheirAttributes) {
  const std::string dir = temp_dir("shard_roundtrip");
  DatasetManifest m = make_dataset(dir, {12, 6, 3}, {7, 6, 1}, /*shard_size=*/5);
  ASSERT_EQ(m.shards.size(), 5u);  // A: 5+5+2, B: 5+2
  EXPECT_EQ(m.count("A", "train"), 12);
  EXPECT_EQ(m.shards[0].file, "train_A_00000.h5");
  ShardReader reader(dir + "/train_A_00002.h5");
  EXPECT_EQ(reader.info().domain, "A");
  EXPECT_EQ(reader.info().split, "train");
  EXPECT_EQ(reader.info().count, 2);
  EXPECT_EQ(reader.info().channels, 3);
  EXPECT_EQ(reader.info().source, "test pattern");

  ImageSet set(dir, read_manifest(dir), "A", "train");
  ASSERT_EQ(set.size(), 12);
  std::vector<uint8_t> image(size_t(set.image_bytes()));
  for (int64_t i = 0; i < 12; ++i) {
    set.read(i, image.data());
    EXPECT_EQ(image, labelled_image(i, 6, 3, 1)) << "image " << i;
  }
  ImageSet gray(dir, read_manifest(dir), "B", "train");
  EXPECT_EQ(gray.channels(), 1);
  EXPECT_EQ(gray.size(), 7);
}

TEST(Shard, GzipShardsReadBackTheSameImages) {
  const std::string dir = temp_dir("shard_gzip");
  fs::remove_all(dir);
  DatasetWriterOptions options;
  options.gzip_level = 1;
  DatasetWriter writer(dir, "gzip", options);
  writer.begin("A", "train", 3, 16, 16, 3);
  for (int64_t i = 0; i < 3; ++i) writer.append("A", "train", labelled_image(i, 16, 3, 1).data());
  writer.finish(false);
  ShardReader reader(dir + "/train_A_00000.h5");
  std::vector<uint8_t> image(16 * 16 * 3);
  reader.read(2, image.data());
  EXPECT_EQ(image, labelled_image(2, 16, 3, 1));
}

TEST(Shard, H5dumpShowsAnOrdinaryUint8Array) {
  const std::string dir = temp_dir("shard_h5dump");
  make_dataset(dir, {3, 8, 3}, {3, 8, 1});
  const std::string out = dir + "/h5dump.txt";
  const std::string command =
      std::string(CYCLEGAN_H5DUMP) + " -H -A " + dir + "/train_A_00000.h5 > " + out;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const std::string dump = read_file(out);
  EXPECT_NE(dump.find("DATASET \"images\""), std::string::npos) << dump;
  EXPECT_NE(dump.find("H5T_STD_U8LE"), std::string::npos) << dump;
  EXPECT_NE(dump.find("( 3, 8, 8, 3 )"), std::string::npos) << dump;
  EXPECT_NE(dump.find("DATASET \"checksums\""), std::string::npos) << dump;
  EXPECT_NE(dump.find("ATTRIBUTE \"domain\""), std::string::npos) << dump;
  // Pixel values, too: image 1 starts with its index in every channel.
  const std::string values = dir + "/values.txt";
  const std::string dump_values = std::string(CYCLEGAN_H5DUMP) +
                                  " -d images -s 1,0,0,0 -c 1,1,2,3 " + dir +
                                  "/train_A_00000.h5 > " + values;
  ASSERT_EQ(std::system(dump_values.c_str()), 0);
  const std::string pixels = read_file(values);
  EXPECT_NE(pixels.find("(1,0,0,0): 1, 1, 1,"), std::string::npos) << pixels;
  EXPECT_NE(pixels.find("(1,0,1,0): 0, 0, 0"), std::string::npos) << pixels;
}

TEST(Shard, AnInterruptedWriterLeavesNothingThatLooksValid) {
  const std::string dir = temp_dir("shard_interrupted");
  fs::remove_all(dir);
  {
    DatasetWriter writer(dir, "interrupted");
    writer.begin("A", "train", 4, 8, 8, 3);
    writer.append("A", "train", labelled_image(0, 8, 3, 1).data());
    // Destroyed before finish(): as if the tool died here.
  }
  EXPECT_FALSE(fs::exists(dir + "/manifest.json"));
  EXPECT_FALSE(fs::exists(dir + "/train_A_00000.h5"));
  EXPECT_FALSE(fs::exists(dir + "/train_A_00000.h5.tmp"));
  EXPECT_NE(error_of([&] { read_manifest(dir); }).find("no manifest"), std::string::npos);
}

TEST(Shard, AnExistingDataSetIsNotOverwrittenUnlessAsked) {
  const std::string dir = temp_dir("shard_exists");
  make_dataset(dir, {3, 8, 3}, {3, 8, 3});
  const std::string before = read_file(dir + "/manifest.json");
  EXPECT_NE(error_of([&] { DatasetWriter again(dir, "again"); }).find("--overwrite"),
            std::string::npos);
  EXPECT_EQ(read_file(dir + "/manifest.json"), before);
}

TEST(Shard, AFailedOverwriteLeavesTheOldDataSetReadable) {
  const std::string dir = temp_dir("shard_overwrite_failed");
  make_dataset(dir, {3, 8, 3}, {3, 8, 3});
  write_file_atomic(dir + "/NOTES.txt", "mine");
  const std::string before = read_file(dir + "/manifest.json");
  {
    DatasetWriterOptions options;
    options.overwrite = true;
    DatasetWriter writer(dir, "replacement", options);
    writer.begin("A", "train", 4, 8, 8, 3);
    writer.append("A", "train", labelled_image(0, 8, 3, 1).data());
    // A bad input image stops the conversion here.
  }
  EXPECT_EQ(read_file(dir + "/manifest.json"), before);
  ImageSet kept(dir, read_manifest(dir), "A", "train");
  EXPECT_EQ(kept.size(), 3);
  const fs::path parent = fs::path(dir).parent_path();
  for (const auto& entry : fs::directory_iterator(parent)) {
    EXPECT_EQ(entry.path().filename().string().find(".cyclegan_shard_overwrite_failed."),
              std::string::npos)
        << "staging folder left behind: " << entry.path();
  }
  // A finished overwrite replaces the data set and keeps the user's other files.
  make_dataset(dir + "_tmp", {5, 8, 3}, {5, 8, 3});  // the fixture removes its folder first
  fs::remove_all(dir + "_tmp");
  {
    DatasetWriterOptions options;
    options.overwrite = true;
    DatasetWriter writer(dir, "replacement", options);
    for (const char* domain : {"A", "B"}) {
      writer.begin(domain, "train", 5, 8, 8, 3);
      for (int i = 0; i < 5; ++i) writer.append(domain, "train", labelled_image(i, 8, 3, 1).data());
    }
    writer.finish(false);
  }
  EXPECT_EQ(read_manifest(dir).source, "replacement");
  EXPECT_EQ(ImageSet(dir, read_manifest(dir), "A", "train").size(), 5);
  EXPECT_EQ(read_file(dir + "/NOTES.txt"), "mine");
}

TEST(Shard, ADeclaredSizeBeyondTheLimitsIsRefusedBeforeReading) {
  const std::string dir = temp_dir("shard_limits");
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string huge = dir + "/huge.h5";
  write_odd_shard(huge, H5T_STD_U8LE, {2, 4, 4, 3});
  {
    h5::Handle file(H5Fopen(huge.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    H5Adelete(file.get(), "height");
    h5::write_attribute(file.get(), "height", int64_t{100000});
  }
  EXPECT_NE(error_of([&] { ShardReader r(huge); }).find("declares images of 100000x4"),
            std::string::npos);
  const std::string many = dir + "/many.h5";
  write_odd_shard(many, H5T_STD_U8LE, {2, 4, 4, 3});  // its checksums hold no values yet
  EXPECT_NE(error_of([&] { ShardReader r(many); }).find("declares 2 images but stores 0 checksums"),
            std::string::npos);
  fs::create_directories(dir + "/folder.h5");
  EXPECT_NE(error_of([&] { ShardReader r(dir + "/folder.h5"); }).find("is a directory"),
            std::string::npos);
}

TEST(Shard, BadFilesGetOneErrorNamingTheFileAndTheProblem) {
  const std::string dir = temp_dir("shard_bad");
  fs::remove_all(dir);
  fs::create_directories(dir);
  const std::string missing = dir + "/missing.h5";
  EXPECT_NE(error_of([&] { ShardReader r(missing); }).find(missing + ": no such file"),
            std::string::npos);

  const std::string text = dir + "/text.h5";
  write_file_atomic(text, "just some text, not HDF5\n");
  EXPECT_NE(error_of([&] { ShardReader r(text); }).find(text + ": not an HDF5 file"),
            std::string::npos);

  const std::string floats = dir + "/floats.h5";
  write_odd_shard(floats, H5T_IEEE_F32LE, {2, 4, 4, 3});
  EXPECT_NE(
      error_of([&] { ShardReader r(floats); }).find(floats + ": dataset 'images' must be uint8"),
      std::string::npos);

  const std::string flat = dir + "/flat.h5";
  write_odd_shard(flat, H5T_STD_U8LE, {2, 48});
  EXPECT_NE(
      error_of([&] { ShardReader r(flat); }).find(flat + ": dataset 'images' has 2 dimensions"),
      std::string::npos);

  const std::string wrong_shape = dir + "/wrong_shape.h5";
  write_odd_shard(wrong_shape, H5T_STD_U8LE, {2, 4, 5, 3});
  EXPECT_NE(error_of([&] { ShardReader r(wrong_shape); }).find("but the attributes say 2x4x4x3"),
            std::string::npos);

  const std::string future = dir + "/future.h5";
  write_odd_shard(future, H5T_STD_U8LE, {2, 4, 4, 3}, /*version=*/2);
  const std::string version_error = error_of([&] { ShardReader r(future); });
  EXPECT_NE(version_error.find(future + ": shard format version 2"), std::string::npos)
      << version_error;
  EXPECT_NE(version_error.find("HINT"), std::string::npos);
}

TEST(Shard, ATruncatedShardIsCaughtByTheManifestAndByHdf5) {
  const std::string dir = temp_dir("shard_truncated");
  make_dataset(dir, {5, 16, 3}, {5, 16, 3});
  const std::string shard = dir + "/train_A_00000.h5";
  fs::resize_file(shard, fs::file_size(shard) / 2);
  const auto manifest = read_manifest(dir);
  EXPECT_NE(error_of([&] { ImageSet s(dir, manifest, "A", "train"); }).find(shard + ": "),
            std::string::npos);
  EXPECT_NE(
      error_of([&] { ImageSet s(dir, manifest, "A", "train"); }).find("(truncated or replaced?)"),
      std::string::npos);
  const std::string direct = error_of([&] { ShardReader r(shard); });
  EXPECT_NE(direct.find(shard), std::string::npos);
  EXPECT_NE(direct.find("truncated"), std::string::npos) << direct;
}

TEST(Shard, ADamagedImageFailsItsChecksum) {
  const std::string dir = temp_dir("shard_damaged");
  make_dataset(dir, {3, 8, 3}, {3, 8, 3});
  const std::string shard = dir + "/train_A_00000.h5";
  {  // Change one pixel of image 1 behind the checksum's back.
    h5::Handle file(H5Fopen(shard.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
    h5::Handle images(H5Dopen2(file.get(), "images", H5P_DEFAULT), H5Dclose);
    h5::Handle space(H5Dget_space(images.get()), H5Sclose);
    const hsize_t start[4] = {1, 3, 3, 0}, one[4] = {1, 1, 1, 1};
    H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start, nullptr, one, nullptr);
    h5::Handle mem(H5Screate_simple(4, one, nullptr), H5Sclose);
    const uint8_t flipped =
        static_cast<uint8_t>(labelled_image(1, 8, 3, 1)[(3 * 8 + 3) * 3] ^ 0xff);
    ASSERT_GE(
        H5Dwrite(images.get(), H5T_NATIVE_UINT8, mem.get(), space.get(), H5P_DEFAULT, &flipped), 0);
  }
  ShardReader reader(shard);
  std::vector<uint8_t> image(8 * 8 * 3);
  reader.read(0, image.data());  // the others are fine
  const std::string error = error_of([&] { reader.read(1, image.data()); });
  EXPECT_NE(error.find(shard + ": image 1 fails its checksum"), std::string::npos) << error;
}

TEST(Shard, ManifestProblemsNameTheManifest) {
  const std::string dir = temp_dir("shard_manifest");
  make_dataset(dir, {3, 8, 3}, {3, 8, 3});
  const std::string path = dir + "/manifest.json";
  const std::string good = read_file(path);
  write_file_atomic(path, "{ not json");
  EXPECT_NE(error_of([&] { read_manifest(dir); }).find(path + ": not valid JSON"),
            std::string::npos);
  std::string no_count = good;
  no_count.replace(no_count.find("\"count\""), 7, "\"cuont\"");
  write_file_atomic(path, no_count);
  EXPECT_NE(error_of([&] { read_manifest(dir); }).find("shards[0]: missing field 'count'"),
            std::string::npos);
  write_file_atomic(path, good);
  fs::remove(dir + "/train_B_00000.h5");
  EXPECT_NE(error_of([&] {
              ImageSet s(dir, read_manifest(dir), "B", "train");
            }).find("train_B_00000.h5: shard listed in the manifest is missing"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              ImageSet s(dir, read_manifest(dir), "A", "test");
            }).find("has no images of domain A in split test"),
            std::string::npos);
  DatasetManifest twice = read_manifest(dir);
  twice.shards.push_back(twice.shards.front());
  write_manifest(dir, twice);
  EXPECT_NE(error_of([&] { read_manifest(dir); }).find("a second time"), std::string::npos);
}

}  // namespace
}  // namespace cg::data
