#pragma once
// A generator (UnetGenerator or ResnetGenerator, any --upsample) as the tiled forward pass
// runs it (see tiled_generator.h): a list of stages, each producing one stored feature map
// from maps stored before it. A stage reads its input as a pointwise expression of stored
// maps (InstanceNorm with the map's global statistics, an activation, a residual sum, a
// channel concatenation), pads it where the layer pads (only at the map's true border),
// optionally resizes it x2 (nearest/bilinear), convolves (or transposed-convolves) it, and
// applies an output activation. Built by walking the modules' public members; nothing is
// computed here. Throws c10::Error (TORCH_CHECK) on a module layout it does not know.
#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace cg::infer {

enum class Activation { kNone, kRelu, kLeakyRelu, kTanh, kSigmoid };

/// One stored map read pointwise, optionally through an InstanceNorm over channels
/// [norm_offset, norm_offset + C) of `norm` (a concatenation normalises its parts apart).
struct TiledTerm {
  int map = -1;
  torch::nn::InstanceNorm2d norm{nullptr};
  int64_t norm_offset = 0;
};

/// activation(sum of terms): a map, a normalised map, or a residual sum x + IN(y).
struct TiledPart {
  std::vector<TiledTerm> terms;
  Activation activation = Activation::kNone;
  double negative_slope = 0.0;  ///< kLeakyRelu's
};

enum class SpatialKind { kIdentity, kConv, kConvTranspose };
enum class Resize { kNone, kNearest, kBilinear };

/// The layer of a stage: [resize x2] -> [pad] -> conv, or a transposed conv, or nothing.
struct TiledSpatial {
  SpatialKind kind = SpatialKind::kIdentity;
  Resize resize = Resize::kNone;
  torch::Tensor weight, bias;  ///< the module's (bias may be undefined)
  int64_t kernel = 1, stride = 1, padding = 0, output_padding = 0;
  bool reflect = false;  ///< reflection (else zero) padding, kConv only
};

struct TiledStage {
  std::vector<TiledPart> input;  ///< concatenated along channels
  TiledSpatial op;
  Activation output_activation = Activation::kNone;
  int output = -1;      ///< the map it writes
  int save_input = -1;  ///< also stores its input expression here (a residual's base)
};

/// Shapes of the maps of one image, map 0 being the input.
struct TiledMapShape {
  int64_t channels = 0, height = 0, width = 0;
};

struct TiledPlan {
  std::vector<TiledStage> stages;
  std::vector<TiledMapShape> maps;
  std::vector<int> last_use;  ///< per map: index of the last stage reading it
  int output = -1;            ///< the map holding the generator's output
};

/// The plan of `generator` (a registered "G"/"F" module of a CycleGan, i.e. a
/// UnetGeneratorImpl or ResnetGeneratorImpl) for an input of (channels, height, width).
TiledPlan make_tiled_plan(const torch::nn::Module& generator, int64_t channels, int64_t height,
                          int64_t width);

/// Output size of `op` along one side of length `in`.
int64_t spatial_output_size(const TiledSpatial& op, int64_t in);

/// Estimated peak bytes of activations of the whole-image forward pass of a batch of one
/// (the largest, over layers, of: the maps held for later layers, twice the layer's input
/// (its normalised and padded copies) and its output).
int64_t whole_pass_bytes(const TiledPlan& plan);

/// The same for the tiled pass with `tile`: the input and output images (in RAM) plus the
/// largest per-tile working set (a tile's input region with its halo, three times, and the
/// output tile, twice). Feature maps live in temporary files and are not counted.
int64_t tiled_pass_bytes(const TiledPlan& plan, int64_t tile);

/// Side of a map's tile for a tile of `tile` input pixels: scaled with the map's resolution.
int64_t map_tile(const TiledPlan& plan, int map, int64_t tile);

}  // namespace cg::infer
