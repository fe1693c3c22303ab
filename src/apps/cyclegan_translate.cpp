// cyclegan_translate: uses a trained model. Translates a folder of images (or a data set's
// test split), scores a model on a data set's test split, or exports the generators for
// PyTorch. The preset, channels and sizes come from the checkpoint. See README.md.
#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "cli/command_line.h"
#include "cli/config.h"
#include "common/error.h"
#include "common/file_util.h"
#include "common/log.h"
#include "eval/evaluator.h"
#include "infer/pytorch_export.h"
#include "infer/saved_model.h"
#include "infer/translator.h"

namespace {

namespace fs = std::filesystem;

int run(int argc, char** argv) {
  CLI::App app{
      "cyclegan_translate: translate images with a trained cyclegan_dist model, evaluate it, "
      "export it",
      "cyclegan_translate"};
  std::string checkpoint, input, output, direction = "AtoB", device = "cpu", export_dir;
  int64_t batch_size = 8;
  bool evaluate = false, no_progress = false, keep_luma = false, best = false;
  // The training run's defaults, but FID/KID on the whole test split (the field's
  // protocol) unless --fid-images says otherwise.
  cg::eval::EvalOptions eval_options = cg::cli::default_eval_options();
  eval_options.fid_images = cg::eval::EvalOptions::kWholeSplit;
  app.add_option("--checkpoint", checkpoint,
                 "checkpoint file, or run directory (its newest valid checkpoint)")
      ->required();
  app.add_flag("--best", best,
               "with a run directory: its best checkpoint by FID/KID (checkpoints/ckpt_best.pt)");
  app.add_option("--input", input,
                 "folder of JPEG/PNG images, or a data set made by cyclegan_data (its test split)");
  app.add_option("--output", output,
                 "output folder of PNGs (with --eval: the JSON report file; without it the "
                 "report is only printed)");
  app.add_option("--direction", direction, "AtoB (G) or BtoA (F)")
      ->check(CLI::IsMember({"AtoB", "BtoA"}));
  app.add_option("--device", device, "cpu, cuda or cuda:N");
  app.add_option("--batch-size", batch_size,
                 "images per forward pass (with --eval also per Inception pass: bounds memory)");
  app.add_flag("--eval", evaluate,
               "score the model on the test split of the data set --input (with FID/KID)");
  app.add_option("--fid-images", eval_options.fid_images,
                 "--eval: images per set for FID/KID, spread over each split (-1: the whole "
                 "test split, as the field reports; 0: no FID/KID; a training run's "
                 "--eval-every uses its own --fid-images)")
      ->capture_default_str();
  app.add_option("--inception", eval_options.inception,
                 "--eval: FID/KID Inception weights (missing: FID/KID unavailable)")
      ->capture_default_str();
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
  CG_REQUIRE(batch_size >= 1, cg::ConfigError, "--batch-size must be at least 1, got ", batch_size);
  CG_REQUIRE(eval_options.fid_images == 0 ||
                 eval_options.fid_images == cg::eval::EvalOptions::kWholeSplit ||
                 eval_options.fid_images >= 2,
             cg::ConfigError,
             "--fid-images must be -1 (the whole test split), 0 (no FID/KID) or at least 2, got ",
             eval_options.fid_images);
  // The report is written where --output says, a path typed relative to the working
  // directory included, and only there: never over a run's own eval/step_N.json.
  if (evaluate && !output.empty()) {
    std::error_code ec;
    CG_REQUIRE(!fs::is_directory(output, ec), cg::ConfigError, "--output ", output,
               " is a directory: with --eval it names the JSON report file");
    const fs::path parent = fs::absolute(output).parent_path();
    CG_REQUIRE(fs::is_directory(parent, ec), cg::ConfigError, "--output ", output, ": folder ",
               parent.string(), " does not exist");
  }

  const cg::infer::SavedModel saved =
      cg::infer::load_saved_model(best ? cg::infer::best_checkpoint(checkpoint) : checkpoint,
                                  cg::cli::model_description, torch::Device(device));
  cg::log::info("model: ", saved.path, " (step ", saved.step, ", preset ", saved.preset, ", ",
                saved.net->options().channels_a, " -> ", saved.net->options().channels_b,
                " channels)");
  if (!export_dir.empty()) {
    for (const std::string& path : cg::infer::export_pytorch(saved, export_dir))
      cg::log::info("wrote ", path);
    return 0;
  }
  if (evaluate) {
    eval_options.batch_size = batch_size;
    const cg::eval::Evaluator evaluator(input, saved.net->options().channels_a,
                                        saved.net->options().channels_b, eval_options,
                                        torch::Device(device));
    if (!evaluator.fid_unavailable().empty()) cg::log::info(evaluator.fid_unavailable());
    cg::model::CycleGan net = saved.net;
    const cg::eval::EvalReport scores = evaluator.evaluate(net);
    cg::log::info("eval: ", scores.summary());
    nlohmann::json report = scores.to_json();
    report["checkpoint"] = saved.path;
    report["step"] = saved.step;
    report["data"] = input;
    // Paths are bytes: one that is not UTF-8 is shown with U+FFFD rather than failing here,
    // after the whole evaluation.
    const std::string text =
        report.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    if (!output.empty()) cg::write_file_atomic(output, text);
    std::cout << text;
    if (!output.empty()) cg::log::info("wrote ", output);
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
