#include "infer/tiled_generator.h"

#include <algorithm>
#include <memory>
#include <unordered_map>
#include <vector>

#include "infer/tiled_map.h"
#include "infer/tiled_plan.h"
#include "model/winograd_conv.h"

namespace cg::infer {
namespace {

namespace F = torch::nn::functional;

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

int64_t reflect_index(int64_t i, int64_t n) { return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i); }

// In place: x is a tile of our own.
torch::Tensor activate_(torch::Tensor x, Activation activation, double slope) {
  switch (activation) {
    case Activation::kNone:
      return x;
    case Activation::kRelu:
      return x.relu_();
    case Activation::kLeakyRelu:
      return torch::leaky_relu_(x, slope);
    case Activation::kTanh:
      return x.tanh_();
    case Activation::kSigmoid:
      return x.sigmoid_();
  }
  return x;
}

// A (per-channel) scale and shift that is the InstanceNorm of `term` with its map's global
// statistics (or the module's running statistics, where it tracks them in eval mode).
struct Affine {
  torch::Tensor scale, shift;  ///< (C, 1, 1) float32 on the CPU
};

Affine norm_affine(const TiledTerm& term, const torch::Tensor& mean, const torch::Tensor& var,
                   int64_t channels) {
  const auto& norm = *term.norm;
  torch::Tensor m = mean, v = var;
  if (norm.options.track_running_stats() && !norm.is_training()) {
    m = norm.running_mean.narrow(0, term.norm_offset, channels).to(torch::kCPU, torch::kDouble);
    v = norm.running_var.narrow(0, term.norm_offset, channels).to(torch::kCPU, torch::kDouble);
  }
  torch::Tensor scale = (v + norm.options.eps()).rsqrt();
  torch::Tensor shift = -m * scale;
  if (norm.options.affine()) {
    const torch::Tensor w = norm.weight.narrow(0, term.norm_offset, channels).to(torch::kDouble);
    const torch::Tensor b = norm.bias.narrow(0, term.norm_offset, channels).to(torch::kDouble);
    scale = scale * w.cpu();
    shift = shift * w.cpu() + b.cpu();
  }
  return {scale.to(torch::kFloat).view({-1, 1, 1}), shift.to(torch::kFloat).view({-1, 1, 1})};
}

class Runner {
 public:
  Runner(const TiledPlan& plan, const TiledOptions& options, torch::Device device)
      : plan_(plan),
        options_(options),
        device_(device),
        maps_(plan.maps.size()),
        normalised_(plan.maps.size(), false) {
    for (const TiledStage& stage : plan.stages) {
      for (const TiledPart& part : stage.input) {
        for (const TiledTerm& term : part.terms) {
          if (term.norm) normalised_[term.map] = true;
        }
      }
    }
  }

  // chw: (C, H, W) float32 CPU -> (C_out, H, W) float32 CPU.
  torch::Tensor run(const torch::Tensor& chw) {
    maps_[0] = std::make_unique<TiledMap>(chw.contiguous());
    for (size_t s = 0; s < plan_.stages.size(); ++s) {
      stage_ = &plan_.stages[s];
      prepare();
      const TiledMap& out = *maps_[stage_->output];
      const int64_t t = map_tile(plan_, stage_->output, options_.tile);
      for (int64_t y = 0; y < out.height(); y += t) {
        for (int64_t x = 0; x < out.width(); x += t) {
          tile(y, std::min(y + t, out.height()), x, std::min(x + t, out.width()));
        }
      }
      for (size_t m = 1; m < maps_.size(); ++m) {
        if (plan_.last_use[m] == static_cast<int>(s) && static_cast<int>(m) != plan_.output)
          maps_[m].reset();
      }
    }
    torch::Tensor result = maps_[plan_.output]->tensor();
    maps_.clear();
    return result;
  }

 private:
  void prepare() {
    const TiledMapShape& shape = plan_.maps[stage_->output];
    if (stage_->output == plan_.output) {
      maps_[stage_->output] = std::make_unique<TiledMap>(shape.channels, shape.height, shape.width);
    } else {
      maps_[stage_->output] =
          std::make_unique<TiledMap>(shape.channels, shape.height, shape.width, options_.temp_dir);
    }
    maps_[stage_->output]->set_statistics(normalised_[stage_->output]);
    if (stage_->save_input >= 0) {
      const TiledMapShape& saved = plan_.maps[stage_->save_input];
      maps_[stage_->save_input] =
          std::make_unique<TiledMap>(saved.channels, saved.height, saved.width, options_.temp_dir);
      maps_[stage_->save_input]->set_statistics(normalised_[stage_->save_input]);
    }
    affines_.clear();
    input_channels_ = 0;
    for (const TiledPart& part : stage_->input) {
      input_channels_ += maps_[part.terms[0].map]->channels();
      for (const TiledTerm& term : part.terms) {
        const TiledMap& map = *maps_[term.map];
        affines_.push_back(term.norm ? norm_affine(term, map.mean(), map.variance(), map.channels())
                                     : Affine{});
      }
    }
  }

  const TiledMap& input_map() const { return *maps_[stage_->input[0].terms[0].map]; }

  // The stage's input expression over rows [y0, y0 + h), columns [x0, x0 + w) of its
  // (equal-sized) input maps, inside them, into `dst` (C_in, h, w) float32 on the CPU.
  // Normalised and activated in place, in `dst`: the files are read straight into the
  // inside of a padded tile, with no tile-sized temporaries.
  void read_input_into(int64_t y0, int64_t x0, const torch::Tensor& dst) {
    const int64_t y1 = y0 + dst.size(1), x1 = x0 + dst.size(2);
    int64_t offset = 0;
    size_t k = 0;
    for (const TiledPart& part : stage_->input) {
      const torch::Tensor sum = dst.narrow(0, offset, maps_[part.terms[0].map]->channels());
      for (size_t i = 0; i < part.terms.size(); ++i, ++k) {
        const TiledTerm& term = part.terms[i];
        torch::Tensor v = sum;
        if (i == 0) {
          maps_[term.map]->read_into(y0, x0, sum);
        } else {
          v = maps_[term.map]->read(y0, y1, x0, x1);
        }
        if (term.norm && options_.per_tile_statistics) {
          const torch::Tensor wide = v.to(torch::kDouble);
          const torch::Tensor mean = wide.mean({1, 2});
          const torch::Tensor var = wide.var({1, 2}, /*unbiased=*/false);
          const Affine a = norm_affine(term, mean, var, v.size(0));
          v.mul_(a.scale).add_(a.shift);
        } else if (term.norm) {
          v.mul_(affines_[k].scale).add_(affines_[k].shift);
        }
        if (i > 0) sum.add_(v);
      }
      activate_(sum, part.activation, part.negative_slope);
      offset += sum.size(0);
    }
  }

  // The same into a new channels-last tile (C_in, y1 - y0, x1 - x0).
  torch::Tensor read_input(int64_t y0, int64_t y1, int64_t x0, int64_t x1) {
    const torch::Tensor dst = channels_last(input_channels_, y1 - y0, x1 - x0);
    read_input_into(y0, x0, dst);
    return dst;
  }

  static torch::Tensor channels_last(int64_t c, int64_t h, int64_t w) {
    return torch::empty({h, w, c}).permute({2, 0, 1});
  }

  // The input, resized x2 when the stage resizes, over [y0, y1) x [x0, x1) of the resized
  // map, inside it. A bilinear resize reads one more input pixel each side where there is
  // one, so only the true border is clamped.
  torch::Tensor read_resized(int64_t y0, int64_t y1, int64_t x0, int64_t x1) {
    if (stage_->op.resize == Resize::kNone) return read_input(y0, y1, x0, x1);
    const TiledMap& in = input_map();
    const int64_t iy0 = std::max<int64_t>(0, y0 / 2 - 1),
                  iy1 = std::min(in.height(), (y1 - 1) / 2 + 2);
    const int64_t ix0 = std::max<int64_t>(0, x0 / 2 - 1),
                  ix1 = std::min(in.width(), (x1 - 1) / 2 + 2);
    auto o = F::InterpolateFuncOptions().scale_factor(std::vector<double>{2.0, 2.0});
    if (stage_->op.resize == Resize::kNearest) {
      o.mode(torch::kNearest);
    } else {
      o.mode(torch::kBilinear).align_corners(false);
    }
    const torch::Tensor up = F::interpolate(read_input(iy0, iy1, ix0, ix1).unsqueeze(0), o);
    return up.squeeze(0).slice(1, y0 - 2 * iy0, y1 - 2 * iy0).slice(2, x0 - 2 * ix0, x1 - 2 * ix0);
  }

  // Rows [y0, y1), columns [x0, x1) of the padded (resized) input, which may reach past its
  // border by the stage's padding: reflected or zero there, the real map everywhere else.
  torch::Tensor read_padded(int64_t y0, int64_t y1, int64_t x0, int64_t x1) {
    const int scale = stage_->op.resize == Resize::kNone ? 1 : 2;
    const int64_t h = input_map().height() * scale, w = input_map().width() * scale;
    const int64_t a0 = std::max<int64_t>(y0, 0), b0 = std::min(y1, h);
    const int64_t c0 = std::max<int64_t>(x0, 0), d0 = std::min(x1, w);
    const int64_t top = a0 - y0, bottom = y1 - b0, left = c0 - x0, right = x1 - d0;
    if (!stage_->op.reflect ||
        (b0 - a0 > std::max(top, bottom) && d0 - c0 > std::max(left, right))) {
      // The inside read in place, the border filled from it (reflected pixels lie inside the
      // region read) or with zeros.
      const torch::Tensor padded = channels_last(input_channels_, y1 - y0, x1 - x0);
      const torch::Tensor inner =
          padded.slice(1, top, top + b0 - a0).slice(2, left, left + d0 - c0);
      if (stage_->op.resize == Resize::kNone) {
        read_input_into(a0, c0, inner);
      } else {
        inner.copy_(read_resized(a0, b0, c0, d0));
      }
      const int64_t rows = y1 - y0, cols = x1 - x0;
      for (int64_t j = 0; j < cols; ++j) {
        if (j >= left && j < cols - right) continue;
        const torch::Tensor column = padded.slice(1, top, rows - bottom).select(2, j);
        if (stage_->op.reflect) {
          column.copy_(
              padded.slice(1, top, rows - bottom).select(2, reflect_index(x0 + j, w) - x0));
        } else {
          column.zero_();
        }
      }
      for (int64_t i = 0; i < rows; ++i) {
        if (i >= top && i < rows - bottom) continue;
        if (stage_->op.reflect) {
          padded.select(1, i).copy_(padded.select(1, reflect_index(y0 + i, h) - y0));
        } else {
          padded.select(1, i).zero_();
        }
      }
      return padded;
    }
    // A region narrower than its padding (tiny tiles): gather the reflected rows and columns.
    const auto sources = [](int64_t lo, int64_t hi, int64_t n) {
      std::vector<int64_t> src;
      for (int64_t i = lo; i < hi; ++i) src.push_back(reflect_index(i, n));
      return src;
    };
    std::vector<int64_t> rows = sources(y0, y1, h), cols = sources(x0, x1, w);
    const int64_t a = *std::min_element(rows.begin(), rows.end());
    const int64_t b = *std::max_element(rows.begin(), rows.end()) + 1;
    const int64_t c = *std::min_element(cols.begin(), cols.end());
    const int64_t d = *std::max_element(cols.begin(), cols.end()) + 1;
    torch::Tensor region = read_resized(a, b, c, d);
    if (y0 < 0 || y1 > h) {
      for (int64_t& r : rows) r -= a;
      region = region.index_select(1, torch::tensor(rows).to(region.device()));
    }
    if (x0 < 0 || x1 > w) {
      for (int64_t& col : cols) col -= c;
      region = region.index_select(2, torch::tensor(cols).to(region.device()));
    }
    return region;
  }

  void tile(int64_t y0, int64_t y1, int64_t x0, int64_t x1) {
    const TiledSpatial& op = stage_->op;
    torch::Tensor out;
    if (op.kind == SpatialKind::kIdentity) {
      out = read_input(y0, y1, x0, x1);
    } else if (op.kind == SpatialKind::kConv) {
      const int64_t s = op.stride, p = op.padding, k = op.kernel;
      // model::Conv's Winograd path makes 2x2 output blocks from even output rows and
      // columns of the whole map; a tile that starts at an odd one is computed from one row
      // (column) earlier, so that its blocks are the whole pass's and round as they do.
      const bool winograd_shape = s == 1 && k == 3;
      const int64_t dy = winograd_shape ? y0 % 2 : 0, dx = winograd_shape ? x0 % 2 : 0;
      const torch::Tensor x = read_padded((y0 - dy) * s - p, (y1 - 1) * s - p + k,
                                          (x0 - dx) * s - p, (x1 - 1) * s - p + k);
      // The module's (contiguous) weight, though oneDNN would convolve the channels-last tile
      // ~15% faster with a channels-last one: its channels-last kernels round differently
      // from the whole pass's (ResNet 257x383 test: 1.3e-5 from it, over the bound, vs 5e-6).
      const torch::Tensor batch = x.to(device_).unsqueeze(0);
      if (winograd_shape && model::winograd_applies(batch, op.weight)) {
        torch::Tensor& filters = winograd_filters_[op.weight.unsafeGetTensorImpl()];
        if (!filters.defined()) filters = model::winograd_filters(op.weight);
        out = model::winograd_conv2d(batch, filters, op.bias, 0).squeeze(0);
      } else {
        out =
            F::conv2d(batch, op.weight, F::Conv2dFuncOptions().bias(op.bias).stride(s)).squeeze(0);
      }
      out = out.slice(1, dy).slice(2, dx);
      if (stage_->save_input >= 0) {
        maps_[stage_->save_input]->write(
            y0, x0, x.slice(1, p + dy, p + dy + y1 - y0).slice(2, p + dx, p + dx + x1 - x0));
      }
    } else {
      out = transposed(y0, y1, x0, x1);
    }
    maps_[stage_->output]->write(y0, x0,
                                 activate_(out, stage_->output_activation, 0.0).to(torch::kCPU));
  }

  // A transposed convolution has no input padding: output o gathers inputs i with
  // o = i * stride - padding + t, t in [0, kernel). The tile's inputs are convolved
  // without bias into their full footprint, which is cut to the tile (output padding rows
  // get no input) before the bias is added.
  torch::Tensor transposed(int64_t y0, int64_t y1, int64_t x0, int64_t x1) {
    const TiledSpatial& op = stage_->op;
    const int64_t s = op.stride, p = op.padding, k = op.kernel;
    const TiledMap& in = input_map();
    const int64_t iy0 = std::max<int64_t>(0, floor_div(y0 + p - (k - 1) + s - 1, s));
    const int64_t iy1 = std::min(in.height(), floor_div(y1 - 1 + p, s) + 1);
    const int64_t ix0 = std::max<int64_t>(0, floor_div(x0 + p - (k - 1) + s - 1, s));
    const int64_t ix1 = std::min(in.width(), floor_div(x1 - 1 + p, s) + 1);
    torch::Tensor out = torch::zeros({op.weight.size(1), y1 - y0, x1 - x0}, op.weight.options());
    if (iy0 < iy1 && ix0 < ix1) {
      const torch::Tensor full =
          F::conv_transpose2d(read_input(iy0, iy1, ix0, ix1).to(device_).unsqueeze(0), op.weight,
                              F::ConvTranspose2dFuncOptions().stride(s))
              .squeeze(0);
      const int64_t fy = iy0 * s - p, fx = ix0 * s - p;  // where `full` starts
      const int64_t a = std::max(y0, fy), b = std::min(y1, fy + full.size(1));
      const int64_t c = std::max(x0, fx), d = std::min(x1, fx + full.size(2));
      if (a < b && c < d) {
        out.slice(1, a - y0, b - y0)
            .slice(2, c - x0, d - x0)
            .copy_(full.slice(1, a - fy, b - fy).slice(2, c - fx, d - fx));
      }
    }
    if (op.bias.defined()) out += op.bias.view({-1, 1, 1});
    return out;
  }

  const TiledPlan& plan_;
  const TiledOptions& options_;
  torch::Device device_;
  std::vector<std::unique_ptr<TiledMap>> maps_;
  // Winograd filters of the layers' weights (held by the plan for the whole pass).
  std::unordered_map<const c10::TensorImpl*, torch::Tensor> winograd_filters_;
  std::vector<bool> normalised_;  ///< per map: read through a norm, so it needs statistics
  const TiledStage* stage_ = nullptr;
  std::vector<Affine> affines_;
  int64_t input_channels_ = 0;  ///< of the stage's input expression
};

}  // namespace

torch::Tensor tiled_forward(torch::nn::Module& generator, const torch::Tensor& x,
                            const TiledOptions& options) {
  TORCH_CHECK(x.dim() == 4, "tiled_forward expects NCHW, got ", x.sizes());
  TORCH_CHECK(options.tile > 0, "tiled_forward: tile must be positive, got ", options.tile);
  torch::NoGradGuard no_grad;
  const TiledPlan plan = make_tiled_plan(generator, x.size(1), x.size(2), x.size(3));
  const torch::Device device = generator.parameters().front().device();
  std::vector<torch::Tensor> outputs;
  for (int64_t n = 0; n < x.size(0); ++n) {
    Runner runner(plan, options, device);
    outputs.push_back(runner.run(x[n].to(torch::kCPU, torch::kFloat)));
  }
  return torch::stack(outputs).to(x.device());
}

std::shared_ptr<torch::nn::Module> generator_of(const model::CycleGan& net, bool a_to_b) {
  return net->named_children()[a_to_b ? "G" : "F"];
}

int64_t whole_pass_bytes(torch::nn::Module& generator, int64_t channels, int64_t height,
                         int64_t width) {
  return whole_pass_bytes(make_tiled_plan(generator, channels, height, width));
}

int64_t tiled_pass_bytes(torch::nn::Module& generator, int64_t channels, int64_t height,
                         int64_t width, int64_t tile) {
  return tiled_pass_bytes(make_tiled_plan(generator, channels, height, width), tile);
}

}  // namespace cg::infer
