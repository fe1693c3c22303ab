// cyclegan_translate: uses a trained model. Translates a folder of images (or a data set's
// test split), scores a model on a data set's test split, or exports the generators for
// PyTorch. The preset, channels and sizes come from the checkpoint. See README.md.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "common/error.h"
#include "common/file_util.h"
#include "common/log.h"
#include "eval/evaluator.h"
#include "infer/pytorch_export.h"
#include "infer/saved_model.h"
#include "infer/translator.h"

namespace {

namespace fs = std::filesystem;

// The report path of a checkpoint inside <run dir>/checkpoints/.
std::string default_eval_path(const cg::infer::SavedModel& saved) {
  fs::path dir = fs::path(saved.path).parent_path();
  if (dir.filename() == "checkpoints") dir = dir.parent_path();
  return cg::eval::eval_report_path(dir.string(), saved.step);
}

int run(int argc, char** argv) {
  CLI::App app{
      "cyclegan_translate: translate images with a trained cyclegan_dist model, evaluate it, "
      "export it",
      "cyclegan_translate"};
  std::string checkpoint, input, output, direction = "AtoB", device = "cpu", export_dir;
  int64_t batch_size = 8;
  bool evaluate = false, no_progress = false, keep_luma = false;
  app.add_option("--checkpoint", checkpoint,
                 "checkpoint file, or run directory (its newest valid checkpoint)")
      ->required();
  app.add_option("--input", input,
                 "folder of JPEG/PNG images, or a data set made by cyclegan_data (its test split)");
  app.add_option("--output", output, "output folder of PNGs (with --eval: the JSON report file)");
  app.add_option("--direction", direction, "AtoB (G) or BtoA (F)")
      ->check(CLI::IsMember({"AtoB", "BtoA"}));
  app.add_option("--device", device, "cpu, cuda or cuda:N");
  app.add_option("--batch-size", batch_size, "images per forward pass")->check(CLI::PositiveNumber);
  app.add_flag("--eval", evaluate, "score the model on the test split of the data set --input");
  app.add_option("--export-pytorch", export_dir,
                 "write G and F as PyTorch state_dict files into this folder");
  app.add_flag("--keep-luma", keep_luma,
               "gray -> colour: keep the input's luminance, take only the colours from the model");
  app.add_flag("--no-progress", no_progress, "no progress bar");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {
      std::cout << app.help();
      return 0;
    }
    throw cg::ConfigError(e.what());
  }
  const int modes = (!export_dir.empty()) + evaluate + (!evaluate && !input.empty());
  CG_REQUIRE(modes == 1, cg::ConfigError,
             "give one of: --input X --output DIR (translate), --eval --input DATA_SET, "
             "--export-pytorch DIR");
  CG_REQUIRE(export_dir.empty() || input.empty(), cg::ConfigError,
             "--export-pytorch takes no --input");
  CG_REQUIRE(!evaluate || !input.empty(), cg::ConfigError, "--eval needs --input DATA_SET");
  CG_REQUIRE(evaluate || !export_dir.empty() || !output.empty(), cg::ConfigError,
             "translating needs --output DIR");

  const cg::infer::SavedModel saved =
      cg::infer::load_saved_model(checkpoint, torch::Device(device));
  cg::log::info("model: ", saved.path, " (step ", saved.step, ", preset ", saved.config.preset,
                ", ", saved.net->options().channels_a, " -> ", saved.net->options().channels_b,
                " channels)");
  if (!export_dir.empty()) {
    for (const std::string& path : cg::infer::export_pytorch(saved, export_dir))
      cg::log::info("wrote ", path);
    return 0;
  }
  if (evaluate) {
    const cg::eval::Evaluator evaluator(input, saved.net->options().channels_a,
                                        saved.net->options().channels_b);
    cg::model::CycleGan net = saved.net;
    nlohmann::json report = evaluator.evaluate(net, batch_size).to_json();
    report["checkpoint"] = saved.path;
    report["step"] = saved.step;
    report["data"] = input;
    const std::string path = output.empty() ? default_eval_path(saved) : output;
    fs::create_directories(fs::path(path).parent_path());
    cg::write_file_atomic(path, report.dump(2) + "\n");
    std::cout << report.dump(2) << "\n";
    cg::log::info("wrote ", path);
    return 0;
  }
  cg::infer::TranslateOptions options;
  options.a_to_b = direction == "AtoB";
  options.batch_size = batch_size;
  options.progress = !no_progress;
  options.keep_luma = keep_luma;
  const int64_t n = cg::infer::translate(saved, input, output, options);
  cg::log::info("translated ", n, " image(s) ", direction, " into ", output);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const cg::ConfigError& e) {
    cg::log::error(e.what());
    return 2;
  } catch (const std::exception& e) {
    cg::log::error(cg::describe(e));
    return 1;
  }
}
