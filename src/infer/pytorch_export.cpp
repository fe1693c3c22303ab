#include "infer/pytorch_export.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/pickler.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/error.h"
#include "common/file_util.h"

namespace cg::infer {
namespace {

namespace fs = std::filesystem;

// A dict of name -> tensor in torch.save's zip format: a pickled plain dict whose tensors
// are persistent ids into data/<n> records. Not torch::pickle_save: it tags the dict with
// its C++ type (torch.jit._pickle.restore_type_tag), which torch.load's default
// weights_only unpickler refuses since PyTorch 2.6.
std::string torch_save_bytes(
    const std::vector<std::pair<std::string, torch::Tensor>>& tensors_by_name) {
  c10::impl::GenericDict state(c10::StringType::get(), c10::TensorType::get());
  for (const auto& [name, tensor] : tensors_by_name)
    state.insert(name, tensor.detach().to(torch::kCPU).clone());
  std::string pickle;
  std::vector<at::Tensor> tensors;
  // With get_tensor_id the pickler writes each storage as a persistent id (torch.save's
  // form, rebuilt by torch._utils._rebuild_tensor_v2); without it, a jit-only form.
  torch::jit::Pickler pickler([&](const char* data, size_t size) { pickle.append(data, size); },
                              nullptr, nullptr, nullptr,
                              [&](const at::Tensor& tensor) {
                                tensors.push_back(tensor);
                                return std::to_string(tensors.size() - 1);
                              },
                              /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(state);
  pickler.stop();
  std::string out;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t size) {
    out.append(static_cast<const char*>(data), size);
    return size;
  });
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  writer.writeRecord("byteorder", "little", 6);
  for (size_t i = 0; i < tensors.size(); ++i) {
    const at::Storage& storage = tensors[i].storage();
    writer.writeRecord("data/" + std::to_string(i), storage.data(), storage.nbytes());
  }
  writer.writeEndOfFile();
  return out;
}

std::string state_dict_bytes(const model::CycleGan& net, const std::string& prefix) {
  std::vector<std::pair<std::string, torch::Tensor>> state;
  auto add = [&](const auto& items) {
    for (const auto& item : items) {
      if (item.key().rfind(prefix, 0) == 0) {
        state.emplace_back(item.key().substr(prefix.size()), item.value().to(torch::kFloat));
      }
    }
  };
  add(net->named_parameters());
  add(net->named_buffers());
  TORCH_INTERNAL_ASSERT(!state.empty(), "no parameters under ", prefix);
  return torch_save_bytes(state);
}

}  // namespace

void save_for_torch(const std::string& path,
                    const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
  write_file_atomic(path, torch_save_bytes(tensors));
}

std::vector<std::string> export_pytorch(const SavedModel& saved, const std::string& dir) {
  std::error_code error;
  fs::create_directories(dir, error);
  CG_REQUIRE(!error, FileError, "--export-pytorch ", dir, ": ", error.message());
  const model::CycleGanOptions& m = saved.net->options();
  const bool unet = m.generator == model::GeneratorArch::kUnet;
  nlohmann::json arguments = unet ? nlohmann::json{{"enc", m.unet_encoder_filters},
                                                   {"dec", m.unet_decoder_filters},
                                                   {"k", m.unet_kernel_size}}
                                  : nlohmann::json{{"ngf", m.ngf}, {"n_blocks", m.n_blocks}};
  arguments["activation"] =
      m.output_activation == model::OutputActivation::kTanh ? "tanh" : "sigmoid";
  arguments["upsample"] = model::to_string(m.upsample);
  if (unet) arguments["norm"] = model::to_string(m.unet_norm);
  const auto range = saved.net->range();
  nlohmann::json description = {
      {"format", "cyclegan_dist pytorch export v1"},
      {"checkpoint", saved.path},
      {"step", saved.step},
      {"preset", saved.preset},
      {"generator", unet ? "UnetGenerator" : "ResnetGenerator"},
      {"arguments", arguments},
      {"value_range", {range.lo, range.hi}},
      {"G_AtoB",
       {{"file", "G_AtoB.pt"}, {"in_channels", m.channels_a}, {"out_channels", m.channels_b}}},
      {"F_BtoA",
       {{"file", "F_BtoA.pt"}, {"in_channels", m.channels_b}, {"out_channels", m.channels_a}}}};
  // Gray -> colour: the chroma gain --keep-luma applies (eval/colour_match.h), for users
  // who colorize with the exported G themselves.
  if (m.channels_a == 1 && m.channels_b == 3)
    description["G_AtoB"]["colour_gain"] = saved.colour_gain;
  std::vector<std::string> written;
  for (const auto& [file, prefix] : {std::pair{"G_AtoB.pt", "G."}, std::pair{"F_BtoA.pt", "F."}}) {
    const std::string path = (fs::path(dir) / file).string();
    write_file_atomic(path, state_dict_bytes(saved.net, prefix));
    written.push_back(path);
  }
  const std::string json_path = (fs::path(dir) / "model.json").string();
  write_file_atomic(json_path, description.dump(2) + "\n");
  written.push_back(json_path);
  return written;
}

}  // namespace cg::infer
