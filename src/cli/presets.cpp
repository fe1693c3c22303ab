#include "cli/presets.h"

#include "common/error.h"

namespace cg::cli {

EvalOptions default_eval_options() {
  EvalOptions o;
  o.fid_images = 25;
  // "": eval::default_inception_path() ($CYCLEGAN_INCEPTION or where scripts/setup puts the
  // weights), looked up when the run starts; FID/KID are unavailable when it is missing. A
  // path given with --inception must be there.
  o.inception = "";
  return o;
}

std::vector<std::string> preset_names() { return {"cifar-colorize", "paper-256"}; }

Config preset(const std::string& name) {
  Config c;
  c.preset = name;
  if (name == "cifar-colorize") {
    c.model.channels_a = 1;
    c.model.channels_b = 3;
    c.model.generator = model::GeneratorArch::kUnet;
    c.model.discriminator = model::DiscriminatorArch::kSeed;
    c.model.output_activation = model::OutputActivation::kSigmoid;
    c.train.run_dir = "runs/cifar-colorize";
    c.train.batch_size = 32;
    c.train.optimizer = train::OptimizerKind::kRmsprop;
    c.train.lr_g = 1e-4;
    c.train.lr_d = 2e-4;
    c.train.identity_weight = 0.5;  // absolute; off anyway while channels differ
    c.train.identity_relative = false;
    c.train.pool_size = 0;
    c.train.lr_decay_start = 1.0;
    c.data.image_size = 32;
    return c;
  }
  if (name == "paper-256") {
    c.model.channels_a = 3;
    c.model.channels_b = 3;
    c.model.generator = model::GeneratorArch::kResnet;
    c.model.n_blocks = 9;
    c.model.discriminator = model::DiscriminatorArch::kPatch;
    c.model.output_activation = model::OutputActivation::kTanh;
    c.train.run_dir = "runs/paper-256";
    c.train.batch_size = 1;
    c.train.optimizer = train::OptimizerKind::kAdam;
    c.train.lr_g = 2e-4;
    c.train.lr_d = 2e-4;
    c.train.identity_weight = 0.5;
    c.train.identity_relative = true;
    c.train.pool_size = 50;
    c.train.lr_decay_start = 0.5;
    c.data.image_size = 256;
    c.data.flip = true;
    return c;
  }
  std::string names;
  for (const auto& n : preset_names()) names += (names.empty() ? "" : ", ") + n;
  throw ConfigError("--preset: unknown preset '" + name + "' (choose one of " + names + ")");
}

}  // namespace cg::cli
