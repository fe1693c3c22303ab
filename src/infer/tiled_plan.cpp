#include "infer/tiled_plan.h"

#include <algorithm>
#include <variant>

#include "model/resnet_generator.h"
#include "model/unet_generator.h"

namespace cg::infer {
namespace {

namespace nn = torch::nn;

int64_t square(const torch::ExpandingArray<2>& a, const char* what) {
  TORCH_CHECK((*a)[0] == (*a)[1], "tiled forward: non-square ", what, " ", a);
  return (*a)[0];
}

// Builds the stages while walking the modules in forward order. `pending_` is the
// expression the next stage will read: pointwise modules (norms, activations) and the
// residual add only change it; a convolution turns it into a stage and a new map.
class Walker {
 public:
  Walker(int64_t channels, int64_t height, int64_t width) {
    plan_.maps.push_back({channels, height, width});
    pending_ = {raw(0)};
  }

  void walk(const std::shared_ptr<nn::Module>& module) {
    if (auto* seq = module->as<nn::Sequential>()) {
      for (const auto& child : seq->children()) walk(child);
    } else if (auto* block = module->as<model::ResnetBlock>()) {
      resnet_block(*block);
    } else if (auto* pad = module->as<nn::ReflectionPad2d>()) {
      const auto& p = *pad->options.padding();
      TORCH_CHECK(p[0] == p[1] && p[1] == p[2] && p[2] == p[3], "tiled forward: uneven padding");
      TORCH_CHECK(padding_ == 0, "tiled forward: two paddings in a row");
      padding_ = p[0];
      reflect_ = true;
    } else if (auto* up = module->as<nn::Upsample>()) {
      const auto& o = up->options;
      TORCH_CHECK(o.scale_factor() && !o.size() &&
                      std::all_of(o.scale_factor()->begin(), o.scale_factor()->end(),
                                  [](double s) { return s == 2.0; }),
                  "tiled forward: only x2 resizing");
      if (std::holds_alternative<torch::enumtype::kNearest>(o.mode())) {
        resize_ = Resize::kNearest;
      } else {
        TORCH_CHECK(std::holds_alternative<torch::enumtype::kBilinear>(o.mode()) &&
                        !o.align_corners().value_or(false),
                    "tiled forward: only nearest or bilinear (align_corners false) resizing");
        resize_ = Resize::kBilinear;
      }
    } else if (auto* conv = module->as<nn::Conv2d>()) {
      convolution(*conv);
    } else if (auto* deconv = module->as<nn::ConvTranspose2d>()) {
      transposed_convolution(*deconv);
    } else if (module->as<nn::InstanceNorm2d>()) {
      normalize(std::dynamic_pointer_cast<nn::InstanceNorm2dImpl>(module));
    } else if (module->as<nn::Identity>()) {
      // --unet-norm none: the U-Net's Identity where its InstanceNorms stand.
    } else if (module->as<nn::ReLU>()) {
      activate(Activation::kRelu, 0.0);
    } else if (auto* leaky = module->as<nn::LeakyReLU>()) {
      activate(Activation::kLeakyRelu, leaky->options.negative_slope());
    } else if (module->as<nn::Tanh>()) {
      activate(Activation::kTanh, 0.0);
    } else if (module->as<nn::Sigmoid>()) {
      activate(Activation::kSigmoid, 0.0);
    } else {
      TORCH_CHECK(false, "tiled forward: no tiled form of module ", module->name());
    }
  }

  // The generator's output map: the last stage's output, a final activation folded in.
  TiledPlan finish() {
    TiledPart& last = pending_[0];
    if (pending_.size() == 1 && last.terms.size() == 1 && !last.terms[0].norm &&
        !plan_.stages.empty() && plan_.stages.back().output == last.terms[0].map &&
        plan_.stages.back().output_activation == Activation::kNone &&
        last.activation != Activation::kLeakyRelu) {
      plan_.stages.back().output_activation = last.activation;
      last.activation = Activation::kNone;
    }
    const int out = materialize();
    plan_.output = out;
    plan_.last_use.assign(plan_.maps.size(), -1);
    for (size_t s = 0; s < plan_.stages.size(); ++s) {
      for (const TiledPart& part : plan_.stages[s].input) {
        for (const TiledTerm& term : part.terms) plan_.last_use[term.map] = static_cast<int>(s);
      }
    }
    return std::move(plan_);
  }

  // The U-Net's skips: the output map of the layer just walked, and concatenation with it.
  int current_map() { return materialize(); }
  void concatenate(int map) { pending_.push_back(raw(map)); }
  void activate(Activation activation, double slope) {
    if (std::any_of(pending_.begin(), pending_.end(),
                    [](const TiledPart& part) { return part.activation != Activation::kNone; })) {
      materialize();
    }
    for (TiledPart& part : pending_) {
      part.activation = activation;
      part.negative_slope = slope;
    }
  }

 private:
  static TiledPart raw(int map) { return TiledPart{{TiledTerm{map, nullptr, 0}}}; }
  static bool is_raw(const TiledPart& part) {
    return part.terms.size() == 1 && part.activation == Activation::kNone && !part.terms[0].norm;
  }

  int64_t pending_channels() const {
    int64_t c = 0;
    for (const TiledPart& part : pending_) c += plan_.maps[part.terms[0].map].channels;
    return c;
  }

  int add_map(int64_t channels, int64_t height, int64_t width) {
    plan_.maps.push_back({channels, height, width});
    return static_cast<int>(plan_.maps.size()) - 1;
  }

  void add_stage(TiledSpatial op, int64_t out_channels) {
    TORCH_CHECK(op.kind != SpatialKind::kConv || op.resize == Resize::kNone || op.stride == 1,
                "tiled forward: a resize must feed a stride-1 convolution");
    const TiledMapShape& in = plan_.maps[pending_[0].terms[0].map];
    TiledStage stage;
    stage.input = std::move(pending_);
    stage.op = std::move(op);
    stage.output = add_map(out_channels, spatial_output_size(stage.op, in.height),
                           spatial_output_size(stage.op, in.width));
    if (save_next_ >= 0) {
      TORCH_CHECK(stage.op.stride == 1 && stage.op.resize == Resize::kNone &&
                      plan_.maps[stage.output].height == in.height &&
                      plan_.maps[stage.output].width == in.width,
                  "tiled forward: a residual block must start with a size-keeping convolution");
      stage.save_input = save_next_;
      save_next_ = -1;
    }
    pending_ = {raw(stage.output)};
    plan_.stages.push_back(std::move(stage));
    padding_ = 0;
    reflect_ = false;
    resize_ = Resize::kNone;
  }

  // The pending expression as a stored map, adding a pointwise stage when it is not one.
  int materialize() {
    if (pending_.size() != 1 || !is_raw(pending_[0])) add_stage(TiledSpatial{}, pending_channels());
    return pending_[0].terms[0].map;
  }

  void convolution(const nn::Conv2dImpl& conv) {
    const auto& o = conv.options;
    TORCH_CHECK(o.groups() == 1 && square(o.dilation(), "dilation") == 1,
                "tiled forward: grouped or dilated convolution");
    const auto* pad = std::get_if<torch::ExpandingArray<2>>(&o.padding());
    TORCH_CHECK(pad != nullptr, "tiled forward: 'same'/'valid' padding");
    TiledSpatial op;
    op.kind = SpatialKind::kConv;
    op.resize = resize_;
    op.weight = conv.weight;
    op.bias = conv.bias;
    op.kernel = square(o.kernel_size(), "kernel");
    op.stride = square(o.stride(), "stride");
    const int64_t own = square(*pad, "padding");
    TORCH_CHECK(own == 0 || padding_ == 0, "tiled forward: padded twice");
    op.padding = own + padding_;
    op.reflect = reflect_ ||
                 (own > 0 && std::holds_alternative<torch::enumtype::kReflect>(o.padding_mode()));
    TORCH_CHECK(
        own == 0 || op.reflect || std::holds_alternative<torch::enumtype::kZeros>(o.padding_mode()),
        "tiled forward: only zero or reflection padding");
    TORCH_CHECK(pending_channels() == o.in_channels(), "tiled forward: channels do not chain");
    add_stage(std::move(op), o.out_channels());
  }

  void transposed_convolution(const nn::ConvTranspose2dImpl& deconv) {
    const auto& o = deconv.options;
    TORCH_CHECK(o.groups() == 1 && square(o.dilation(), "dilation") == 1 && padding_ == 0 &&
                    resize_ == Resize::kNone,
                "tiled forward: unsupported transposed convolution");
    TiledSpatial op;
    op.kind = SpatialKind::kConvTranspose;
    op.weight = deconv.weight;
    op.bias = deconv.bias;
    op.kernel = square(o.kernel_size(), "kernel");
    op.stride = square(o.stride(), "stride");
    const auto* pad = std::get_if<torch::ExpandingArray<2>>(&o.padding());
    TORCH_CHECK(pad != nullptr, "tiled forward: 'same'/'valid' padding");
    op.padding = square(*pad, "padding");
    op.output_padding = square(o.output_padding(), "output_padding");
    TORCH_CHECK(pending_channels() == o.in_channels(), "tiled forward: channels do not chain");
    add_stage(std::move(op), o.out_channels());
  }

  void normalize(const std::shared_ptr<nn::InstanceNorm2dImpl>& norm) {
    if (!std::all_of(pending_.begin(), pending_.end(), is_raw)) materialize();
    int64_t offset = 0;
    for (TiledPart& part : pending_) {
      part.terms[0].norm = nn::InstanceNorm2d(norm);
      part.terms[0].norm_offset = offset;
      offset += plan_.maps[part.terms[0].map].channels;
    }
    TORCH_CHECK(offset == norm->options.num_features(), "tiled forward: norm channels");
  }

  // x + conv_block(x): x is stored (by the block's first stage when it is an expression),
  // and the block's output stays the expression x + IN(last conv).
  void resnet_block(model::ResnetBlockImpl& block) {
    int base = -1;
    if (pending_.size() == 1 && is_raw(pending_[0])) {
      base = pending_[0].terms[0].map;
    } else {
      const TiledMapShape& in = plan_.maps[pending_[0].terms[0].map];
      base = add_map(pending_channels(), in.height, in.width);
      save_next_ = base;
    }
    walk(block.conv_block.ptr());
    TORCH_CHECK(save_next_ < 0 && pending_.size() == 1 && pending_[0].terms.size() == 1 &&
                    pending_[0].activation == Activation::kNone,
                "tiled forward: unexpected residual block layout");
    pending_[0].terms.insert(pending_[0].terms.begin(), TiledTerm{base, nullptr, 0});
  }

  TiledPlan plan_;
  std::vector<TiledPart> pending_;
  int64_t padding_ = 0;
  bool reflect_ = false;
  Resize resize_ = Resize::kNone;
  int save_next_ = -1;
};

}  // namespace

int64_t spatial_output_size(const TiledSpatial& op, int64_t in) {
  switch (op.kind) {
    case SpatialKind::kIdentity:
      return in;
    case SpatialKind::kConv: {
      const int64_t resized = op.resize == Resize::kNone ? in : 2 * in;
      return (resized + 2 * op.padding - op.kernel) / op.stride + 1;
    }
    case SpatialKind::kConvTranspose:
      return (in - 1) * op.stride - 2 * op.padding + op.kernel + op.output_padding;
  }
  return in;
}

TiledPlan make_tiled_plan(const nn::Module& generator, int64_t channels, int64_t height,
                          int64_t width) {
  Walker walker(channels, height, width);
  if (const auto* resnet = dynamic_cast<const model::ResnetGeneratorImpl*>(&generator)) {
    walker.walk(resnet->model.ptr());
  } else if (const auto* unet = dynamic_cast<const model::UnetGeneratorImpl*>(&generator)) {
    std::vector<int> skips;
    for (const auto& layer : *unet->encoder) {
      walker.walk(layer);
      skips.push_back(walker.current_map());
    }
    for (size_t j = 0; j < unet->decoder->size(); ++j) {
      walker.walk(unet->decoder->ptr(j));
      walker.current_map();
      walker.concatenate(skips[skips.size() - 2 - j]);
    }
    walker.walk(unet->output.ptr());
    const bool sigmoid = unet->options.output_activation() == model::OutputActivation::kSigmoid;
    walker.activate(sigmoid ? Activation::kSigmoid : Activation::kTanh, 0.0);
  } else {
    TORCH_CHECK(false, "tiled forward: ", generator.name(), " is not a U-Net or ResNet generator");
  }
  return walker.finish();
}

int64_t map_tile(const TiledPlan& plan, int map, int64_t tile) {
  const int64_t h = plan.maps[0].height, mh = plan.maps[map].height;
  return std::max<int64_t>(1, (tile * mh + h - 1) / h);
}

namespace {

int64_t map_bytes(const TiledMapShape& m) { return m.channels * m.height * m.width * 4; }

// Bytes of a stage's input expression and output over a region of `h` x `w` output pixels
// (the whole map when h, w are the map's size), and of maps held for later stages.
template <typename RegionBytes>
int64_t largest_stage(const TiledPlan& plan, RegionBytes&& region_bytes) {
  int64_t largest = 0;
  for (size_t s = 0; s < plan.stages.size(); ++s) {
    int64_t held = 0;
    for (size_t m = 1; m < plan.maps.size(); ++m) {
      const int produced = [&] {
        for (size_t t = 0; t < plan.stages.size(); ++t) {
          if (plan.stages[t].output == static_cast<int>(m) ||
              plan.stages[t].save_input == static_cast<int>(m)) {
            return static_cast<int>(t);
          }
        }
        return -1;
      }();
      if (produced >= 0 && produced < static_cast<int>(s) && plan.last_use[m] > static_cast<int>(s))
        held += map_bytes(plan.maps[m]);
    }
    largest = std::max(largest, region_bytes(plan.stages[s], held));
  }
  return largest;
}

int64_t input_channels(const TiledPlan& plan, const TiledStage& stage) {
  int64_t c = 0;
  for (const TiledPart& part : stage.input) c += plan.maps[part.terms[0].map].channels;
  return c;
}

}  // namespace

int64_t whole_pass_bytes(const TiledPlan& plan) {
  return largest_stage(plan, [&](const TiledStage& stage, int64_t held) {
    const TiledMapShape& in = plan.maps[stage.input[0].terms[0].map];
    const int64_t in_bytes = input_channels(plan, stage) * in.height * in.width * 4;
    return held + 2 * in_bytes + map_bytes(plan.maps[stage.output]);
  });
}

int64_t tiled_pass_bytes(const TiledPlan& plan, int64_t tile) {
  const int64_t images = map_bytes(plan.maps[0]) + map_bytes(plan.maps[plan.output]);
  return images + largest_stage(plan, [&](const TiledStage& stage, int64_t) {
           const TiledMapShape& out = plan.maps[stage.output];
           const int64_t t = map_tile(plan, stage.output, tile);
           const int64_t th = std::min(t, out.height), tw = std::min(t, out.width);
           const auto side = [&](int64_t n) {
             const int64_t halo = stage.op.kernel + 2;
             if (stage.op.kind == SpatialKind::kConvTranspose) return n / stage.op.stride + halo;
             return (stage.op.resize == Resize::kNone ? n * stage.op.stride : n / 2) + halo;
           };
           const int64_t in_bytes = input_channels(plan, stage) * side(th) * side(tw) * 4;
           return 3 * in_bytes + 2 * out.channels * th * tw * 4;
         });
}

}  // namespace cg::infer
