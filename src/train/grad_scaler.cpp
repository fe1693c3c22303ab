#include "train/grad_scaler.h"

namespace cg::train {

GradScaler::GradScaler(GradScalerOptions options, torch::Device device)
    : options_(options), device_(device) {
  TORCH_CHECK(options_.init_scale > 0, "GradScaler: init_scale must be positive, got ",
              options_.init_scale);
  TORCH_CHECK(options_.growth_factor > 1.0, "GradScaler: growth_factor must be > 1, got ",
              options_.growth_factor);
  TORCH_CHECK(options_.backoff_factor > 0 && options_.backoff_factor < 1.0,
              "GradScaler: backoff_factor must be in (0, 1), got ", options_.backoff_factor);
  TORCH_CHECK(options_.growth_interval >= 1, "GradScaler: growth_interval must be >= 1, got ",
              options_.growth_interval);
  scale_ = torch::full({}, options_.init_scale, torch::dtype(torch::kFloat).device(device_));
  growth_tracker_ = torch::zeros({}, torch::dtype(torch::kInt).device(device_));
}

torch::Tensor GradScaler::scale(const torch::Tensor& loss) const {
  if (!options_.enabled) return loss;
  TORCH_CHECK(loss.is_floating_point(), "GradScaler::scale expects a float loss, got ",
              loss.scalar_type());
  return loss * scale_.to(loss.device());
}

bool GradScaler::unscale(const std::vector<torch::Tensor>& params) {
  if (!options_.enabled) return false;
  std::vector<torch::Tensor> grads;
  for (const auto& p : params) {
    const torch::Tensor& g = p.grad();
    if (!g.defined()) continue;
    TORCH_CHECK(g.scalar_type() == torch::kFloat,
                "GradScaler::unscale expects float32 gradients, got ", g.scalar_type(),
                " (keep the master weights in fp32)");
    TORCH_CHECK(g.device() == device_, "GradScaler on ", device_, " got a gradient on ",
                g.device());
    grads.push_back(g);
  }
  // As torch.amp.GradScaler.unscale_: the reciprocal in double, rounded once to float.
  torch::Tensor inv_scale = scale_.to(torch::kDouble).reciprocal().to(torch::kFloat);
  torch::Tensor found_inf = torch::zeros({}, torch::dtype(torch::kFloat).device(device_));
  if (!grads.empty()) at::_amp_foreach_non_finite_check_and_unscale_(grads, found_inf, inv_scale);
  return found_inf.item<float>() != 0.0f;
}

void GradScaler::update(bool found_inf) {
  if (!options_.enabled) return;
  torch::Tensor found =
      torch::full({}, found_inf ? 1.0 : 0.0, torch::dtype(torch::kFloat).device(device_));
  at::_amp_update_scale_(scale_, growth_tracker_, found, options_.growth_factor,
                         options_.backoff_factor, options_.growth_interval);
  if (found_inf) ++skipped_steps_;
}

double GradScaler::scale_value() const { return scale_.item<double>(); }

int64_t GradScaler::growth_tracker() const { return growth_tracker_.item<int64_t>(); }

void GradScaler::save(torch::serialize::OutputArchive& archive, const std::string& prefix) const {
  archive.write(prefix + "scale", scale_.cpu());
  archive.write(prefix + "growth_tracker", growth_tracker_.cpu());
  archive.write(prefix + "skipped_steps", torch::tensor(skipped_steps_, torch::kLong));
}

bool GradScaler::load(torch::serialize::InputArchive& archive, const std::string& prefix) {
  torch::Tensor scale, tracker, skipped;
  if (!archive.try_read(prefix + "scale", scale)) return false;
  archive.read(prefix + "growth_tracker", tracker);
  archive.read(prefix + "skipped_steps", skipped);
  TORCH_CHECK(scale.numel() == 1 && scale.scalar_type() == torch::kFloat && tracker.numel() == 1 &&
                  tracker.scalar_type() == torch::kInt && skipped.numel() == 1,
              "GradScaler::load: malformed state under '", prefix, "'");
  scale_ = scale.reshape({}).to(device_);
  growth_tracker_ = tracker.reshape({}).to(device_);
  skipped_steps_ = skipped.item<int64_t>();
  return true;
}

}  // namespace cg::train
