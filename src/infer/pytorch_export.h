#pragma once
// Hands the generators to PyTorch users: files that Python's torch.load opens as plain
// state_dicts, with the names and shapes of the reference modules in
// tests/reference/cyclegan_ref.py (UnetGenerator, ResnetGenerator).
#include <string>
#include <vector>

#include "infer/saved_model.h"

namespace cg::infer {

/// Writes into `dir` (created if needed): G_AtoB.pt and F_BtoA.pt, each a dict of
/// parameter/buffer name -> tensor (CPU, float32) made by torch::pickle_save, which
/// torch.load reads; and model.json with the architecture and the arguments that build
/// the matching Python module. Files are written atomically. Returns the paths written.
std::vector<std::string> export_pytorch(const SavedModel& saved, const std::string& dir);

/// Writes `tensors` (name -> tensor, any device/dtype; stored as given on the CPU) to
/// `path` in torch.save's format, a plain dict that torch.load opens with weights_only.
/// Atomic; throws FileError naming `path` when it cannot be written.
void save_for_torch(const std::string& path,
                    const std::vector<std::pair<std::string, torch::Tensor>>& tensors);

}  // namespace cg::infer
