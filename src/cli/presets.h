#pragma once
#include <string>
#include <vector>

#include "cli/config.h"

namespace cg::cli {

/// Names of the presets, for help text and errors.
std::vector<std::string> preset_names();

/// The configuration of preset `name`:
///   cifar-colorize  the seed study: gray (A) <-> color (B) at 32x32, U-Net generators,
///                   2x2 PatchGAN, LSGAN, cycle x10, RMSprop 1e-4 (G) / 2e-4 (D), no pool
///   paper-256       Zhu et al. 2017: ResNet-9 generators, 70x70 PatchGAN, LSGAN, cycle
///                   x10, identity 0.5 x lambda, pool of 50, Adam 2e-4 (0.5, 0.999),
///                   batch 1, linear decay over the second half, 256x256 color <-> color
/// Throws ConfigError naming the valid presets for an unknown name.
Config preset(const std::string& name);

}  // namespace cg::cli
