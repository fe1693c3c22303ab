// cyclegan_translate: uses a trained model. Translates a folder of images (or a data set's
// test split), scores a model on a data set's test split, or exports the generators for
// PyTorch. The preset, channels and sizes come from the checkpoint. See README.md.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "cli/command_line.h"
#include "cli/config.h"
#include "common/error.h"
#include "common/file_util.h"
#include "common/log.h"
#include "eval/evaluator.h"
#include "infer/pytorch_export.h"
#include "infer/saved_model.h"
#include "infer/translator.h"
#include "parallel/backend.h"
#include "parallel/mpi_environment.h"

namespace {

namespace fs = std::filesystem;

int run(int argc, char** argv, const cg::parallel::MpiEnvironment& mpi) {
  CLI::App app{
      "cyclegan_translate: translate images with a trained cyclegan_dist model, evaluate it, "
      "export it",
      "cyclegan_translate"};
  std::string checkpoint, input, output, direction = "AtoB", device = "cpu", export_dir;
  int64_t batch_size = 8, tile = 0, max_memory = 0;
  std::string temp_dir;
  std::optional<double> colour_gain;
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
  app.add_option("--colour-gain", colour_gain,
                 "gray -> colour: scale the model's chroma by this (default: the checkpoint's "
                 "colour_gain, which matches the training photographs' colour level; 1: the "
                 "generator's own colours)");
  app.add_option("--tile", tile,
                 "translate in tiles of this many pixels a side: the same output as the "
                 "whole-image pass, in memory that grows with the tile (0: whole images)")
      ->capture_default_str();
  app.add_option("--max-memory", max_memory,
                 "memory budget of a batch's activations, e.g. 4G (= 4 GiB): larger images are "
                 "translated in tiles automatically, the largest that fit (0: no budget)")
      ->transform(CLI::AsSizeValue(false))
      ->capture_default_str();
  app.add_option("--temp-dir", temp_dir,
                 "folder for the tiled pass's temporary feature maps (default: $TMPDIR or /tmp)");
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
  CG_REQUIRE(!colour_gain || (std::isfinite(*colour_gain) && *colour_gain > 0), cg::ConfigError,
             "--colour-gain must be a positive number, got ", colour_gain.value_or(0));
  CG_REQUIRE(!colour_gain || keep_luma || evaluate, cg::ConfigError,
             "--colour-gain scales the colours of --keep-luma colorizations (and of --eval's "
             "colorized scores): give --keep-luma or --eval with it");
  CG_REQUIRE(batch_size >= 1, cg::ConfigError, "--batch-size must be at least 1, got ", batch_size);
  CG_REQUIRE(tile == 0 || tile >= 16, cg::ConfigError,
             "--tile must be 0 (whole images) or at least 16 pixels, got ", tile);
  CG_REQUIRE(max_memory >= 0, cg::ConfigError, "--max-memory must not be negative, got ",
             max_memory);
  CG_REQUIRE((tile == 0 && max_memory == 0) || (!evaluate && export_dir.empty()), cg::ConfigError,
             "--tile and --max-memory are for translating a folder or data set, not for --eval "
             "or --export-pytorch");
  // A bare "cuda": each rank takes the GPU of its local rank, as training does.
  torch::Device where(device);
  if (where.is_cuda() && !where.has_index()) {
    where = torch::Device(torch::kCUDA,
                          static_cast<c10::DeviceIndex>(cg::parallel::cuda_index_for_rank(
                              mpi.local_rank(), static_cast<int>(torch::cuda::device_count()))));
  }
  CG_REQUIRE(mpi.size() == 1 || (!evaluate && export_dir.empty()), cg::ConfigError,
             "--eval and --export-pytorch run as one process: start them without mpirun/srun "
             "(translating a folder uses every rank)");
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
                                  cg::cli::model_description, where);
  cg::log::info("model: ", saved.path, " (step ", saved.step, ", preset ", saved.preset, ", ",
                saved.net->options().channels_a, " -> ", saved.net->options().channels_b,
                " channels, colour gain ", saved.colour_gain, ")");
  CG_REQUIRE(!colour_gain ||
                 (saved.net->options().channels_a == 1 && saved.net->options().channels_b == 3),
             cg::ConfigError, "--colour-gain: ", saved.path, " is not a gray -> colour model");
  if (!export_dir.empty()) {
    for (const std::string& path : cg::infer::export_pytorch(saved, export_dir))
      cg::log::info("wrote ", path);
    return 0;
  }
  if (evaluate) {
    eval_options.batch_size = batch_size;
    const cg::eval::Evaluator evaluator(input, saved.net->options().channels_a,
                                        saved.net->options().channels_b, eval_options, where);
    if (!evaluator.fid_unavailable().empty()) cg::log::info(evaluator.fid_unavailable());
    cg::model::CycleGan net = saved.net;
    const cg::eval::EvalReport scores =
        evaluator.evaluate(net, batch_size, colour_gain.value_or(saved.colour_gain));
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
  options.progress = !no_progress && mpi.rank() == 0;
  options.keep_luma = keep_luma;
  options.colour_gain = colour_gain;
  options.tile = tile;
  options.max_memory = max_memory;
  options.temp_dir = temp_dir;
  options.rank = mpi.rank();
  options.world = mpi.size();
  const cg::infer::TranslateResult done = cg::infer::translate(saved, input, output, options);
  // The job's totals: every rank's counts, and the slowest rank's time.
  const auto comm = cg::parallel::make_communicator(cg::parallel::Backend::kMpi, torch::kCPU);
  const auto sum = [&](int64_t value) {
    int64_t total = 0;
    for (int64_t v : comm->all_gather(value)) total += v;
    return total;
  };
  const int64_t written = sum(done.written), done_before = sum(done.done_before);
  double seconds = 0;
  for (int64_t ms : comm->all_gather(static_cast<int64_t>(done.seconds * 1000)))
    seconds = std::max(seconds, double(ms) / 1000);
  cg::log::info("translated ", written + done_before, " image(s) ", direction, " into ", output,
                " on ", mpi.size(), " process(es): ", written, " written, ", done_before,
                " already done, in ", seconds, " s (",
                seconds > 0 ? double(written) / seconds : 0.0, " images/s)");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Run by mpirun or srun, the ranks share a folder; a rank may not fail alone: with more
  // than one rank, any error ends the whole job.
  std::unique_ptr<cg::parallel::MpiEnvironment> mpi;
  int code = 0;
  try {
    mpi = std::make_unique<cg::parallel::MpiEnvironment>(&argc, &argv);
    cg::log::configure(mpi->rank());
    return run(argc, argv, *mpi);
  } catch (const cg::ConfigError& e) {
    cg::log::error(e.what());
    code = 2;
  } catch (const std::exception& e) {
    cg::log::error(cg::describe(e));
    code = 1;
  }
  if (mpi && mpi->size() > 1) cg::parallel::MpiEnvironment::abort(code);
  return code;
}
