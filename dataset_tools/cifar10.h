#pragma once
// Readers for the two official CIFAR-10 distributions (https://www.cs.toronto.edu/~kriz/
// cifar.html), without Python or LibTorch:
//   binary version  cifar-10-batches-bin/{data_batch_1..5,test_batch}.bin: records of one
//                   label byte and 3072 pixel bytes (the 1024 R, 1024 G, 1024 B values of a
//                   32x32 image, each plane row-major);
//   python version  cifar-10-batches-py/{data_batch_1..5,test_batch}: Python 2 cPickle dicts
//                   with 'data' (a (N, 3072) uint8 numpy array, same planar layout) and
//                   'labels' (a list of N ints); Python 3 re-saves (pickle protocols 2..5,
//                   bytes or str keys) load too.
// Pixels come out interleaved HWC, the layout of image files. All functions are thread-safe.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cg::tools {

inline constexpr int64_t kCifarSide = 32;
inline constexpr int64_t kCifarPixels = 3072;  // kCifarSide * kCifarSide * 3 bytes per image
inline constexpr int kCifarClasses = 10;

/// Images of one or more CIFAR-10 batches.
struct CifarImages {
  std::vector<uint8_t> labels;  // one per image, 0..9 (see cifar10_class_names())
  std::vector<uint8_t> pixels;  // count() * 32 * 32 * 3: image, row, column, R/G/B; 0..255

  /// Number of images.
  int64_t count() const { return static_cast<int64_t>(labels.size()); }
};

/// Reads one binary batch (data_batch_1.bin, ...). Throws FileError naming the file when it
/// cannot be read, when its size is not a positive multiple of 3073 bytes (the message
/// gives the size and the expected multiple), or when a label is above 9 (naming the record).
CifarImages read_cifar_binary(const std::string& path);

/// read_cifar_binary() on bytes in memory; `name` stands for the file in messages.
CifarImages read_cifar_binary_bytes(const uint8_t* data, size_t size, const std::string& name);

/// Reads one pickled batch (data_batch_1, ...): a dict whose 'data' (bytes or str key) is a
/// (N, 3072) uint8 C-order numpy array and whose 'labels' is a list of N ints in 0..9.
/// Throws FileError naming the file on a malformed pickle (with the byte offset), a missing
/// key (listing the keys present), another dtype or shape, or a bad label.
CifarImages read_cifar_python(const std::string& path);

/// read_cifar_python() on bytes in memory; `name` stands for the file in messages.
CifarImages read_cifar_python_bytes(const uint8_t* data, size_t size, const std::string& name);

/// The train and test splits of a CIFAR-10 directory.
struct CifarSplits {
  CifarImages train;   // data_batch_1 .. data_batch_5, in that order
  CifarImages test;    // test_batch
  std::string format;  // "binary" or "python": which distribution was found
};

/// Reads a CIFAR-10 directory: the binary batches (data_batch_1.bin .. data_batch_5.bin,
/// test_batch.bin) in `dir` or in `dir`/cifar-10-batches-bin, else the python batches
/// (data_batch_1 .. data_batch_5, test_batch) in `dir` or in `dir`/cifar-10-batches-py;
/// the first complete set in that order wins. Throws FileError listing the files looked
/// for when no set is complete, and whatever the batch readers throw.
CifarSplits read_cifar_dir(const std::string& dir);

/// The ten class names, indexed by label: airplane, automobile, bird, cat, deer, dog, frog,
/// horse, ship, truck.
const std::array<std::string, 10>& cifar10_class_names();

/// Label of a class name (exact, lower case). Throws ConfigError listing the valid names
/// for any other name.
int cifar10_class_index(const std::string& name);

}  // namespace cg::tools
