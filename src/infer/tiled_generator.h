#pragma once
// The exact tiled forward pass of a CycleGAN generator (UnetGenerator or ResnetGenerator,
// every --upsample): the same output as generator.forward(x), to float32 rounding, in
// memory that grows with the tile, not with the image.
//
// How: InstanceNorm needs the statistics of a whole feature map, so the pass goes layer by
// layer (tiled_plan.h), and within a layer tile by tile. Each output tile of a layer is
// computed from its input map's region plus the layer's receptive-field halo, read through
// the previous InstanceNorm with that map's global mean and variance and the activation
// (pointwise, fused into the read); the layer's padding (reflection in the ResNet, zeros in
// the U-Net, a transposed convolution's geometry, a x2 resize's border clamp) applies only
// at the map's true border, everywhere else the halo holds the real neighbours. Writing a
// tile adds it to its map's per-channel sums and sums of squares in float64, which give the
// next InstanceNorm its statistics. Skips (U-Net concatenations) and residuals (ResNet
// blocks) are stored maps like any other.
//
// Where the maps live: streamed through unlinked temporary files (pread/pwrite, see
// tiled_map.h), not recomputed. Recomputation would keep no map but redo, for every tile
// of every layer, all layers before it over a halo that grows with depth: quadratic in
// depth (the ResNet-9 has 24 convolutions) where streaming costs one write and one read of
// each map. Measured (README, bench/translate_memory, 2 CPU cores shared with other work):
// at 4096x4096 the ResNet-9's tiled pass (512) peaked at 1.4 GiB resident where the whole
// pass had passed 10.7 GiB; at 1024x2048 with 512 tiles it took 1.08-1.31x the whole
// pass's time (four interleaved pairs: tiled 39-47 s, whole 30-39 s; 2.5x before the files
// were laid out pixel-major, see tiled_map.h). The page cache holds the files while RAM
// allows.
//
// Tiles are built on the CPU, channels-last like the files: read straight from the files
// into the inside of the padded tile, normalised and activated there in place, then
// convolved on the generator's device with the module's weights.
//
// Not thread-safe (the generator's parameters are read, not changed). No gradients.
#include <torch/torch.h>

#include <cstdint>
#include <string>

#include "model/cycle_gan.h"

namespace cg::infer {

struct TiledOptions {
  /// Side of a tile, in pixels of the input image; a map at 1/s of the resolution is cut
  /// in tiles of tile/s. Any positive size (it need not divide the image).
  int64_t tile = 512;
  /// Folder of the temporary files ("": std::filesystem::temp_directory_path(), which
  /// honours TMPDIR). Needs room for the largest live maps (about 3 x 64 x H x W x 4 bytes
  /// for the ResNet at H x W).
  std::string temp_dir;
  /// WRONG ON PURPOSE, for tests only: normalise each tile with the statistics of its own
  /// region (what translating tiles one by one does, and why hand-tiled outputs show seams).
  bool per_tile_statistics = false;
};

/// x: (N, C_in, H, W) float in the image range on the generator's device, H and W as the
/// generator's forward needs (multiples of CycleGanImpl::size_multiple()) -> (N, C_out, H, W)
/// float32 on the same device: generator.forward(x) computed tile by tile, image by image.
/// `generator`: a UnetGeneratorImpl or ResnetGeneratorImpl (see generator_of). Throws
/// c10::Error for another module or an unknown layout, FileError when the temporary files
/// cannot be written.
torch::Tensor tiled_forward(torch::nn::Module& generator, const torch::Tensor& x,
                            const TiledOptions& options);

/// The generator G (a_to_b) or F of `net`.
std::shared_ptr<torch::nn::Module> generator_of(const model::CycleGan& net, bool a_to_b);

/// Estimated peak activation bytes of generator.forward on one image of (channels, height,
/// width): the largest, over layers, of the layer's input twice (the normalised and padded
/// copies), its output, and the maps held for later layers (skips, residuals).
int64_t whole_pass_bytes(torch::nn::Module& generator, int64_t channels, int64_t height,
                         int64_t width);

/// The same for tiled_forward with `tile`: the input and output images, which stay in RAM,
/// and the largest per-tile working set (input region with its halo three times, output
/// tile twice).
int64_t tiled_pass_bytes(torch::nn::Module& generator, int64_t channels, int64_t height,
                         int64_t width, int64_t tile);

}  // namespace cg::infer
