#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>

#include "cli/command_line.h"
#include "cli/option_table.h"
#include "common/error.h"
#include "data/shard.h"
#include "eval/eval_report.h"
#include "eval/evaluator.h"

// validate(), declared in command_line.h, apart from the parsing: the checks of every
// option's range and the cross-checks between options.
namespace cg::cli {
namespace {

// Bounds of the options that size allocations or threads: past them a typo would take
// minutes and gigabytes before failing, so they are refused up front.
constexpr int64_t kMaxBatchSize = 65536;
constexpr int64_t kMaxLoaderThreads = 256;
constexpr int64_t kMaxPrefetch = 1024;
constexpr double kMaxSyntheticBytes = 16.0 * (1 << 30);

// The index of the first byte of `text` that is not well-formed UTF-8 (Unicode 15, table
// 3-7: no overlong forms, no surrogates, nothing above U+10FFFF; nlohmann::json's dump()
// refuses the same), or npos. A sequence cut short by the end is reported at its lead byte.
size_t invalid_utf8_at(const std::string& text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<unsigned char>(text[i]);
    size_t more = 0;
    unsigned char low = 0x80, high = 0xBF;  // range of the byte after the lead
    if (lead < 0x80) {
      ++i;
      continue;
    } else if (lead >= 0xC2 && lead <= 0xDF) {
      more = 1;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      more = 2;
      if (lead == 0xE0) low = 0xA0;
      if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      more = 3;
      if (lead == 0xF0) low = 0x90;
      if (lead == 0xF4) high = 0x8F;
    } else {
      return i;
    }
    for (size_t k = 1; k <= more; ++k) {
      if (i + k == text.size()) return i;
      const auto byte = static_cast<unsigned char>(text[i + k]);
      if (byte < (k == 1 ? low : 0x80) || byte > (k == 1 ? high : 0xBF)) return i + k;
    }
    i += more + 1;
  }
  return std::string::npos;
}

// The resolved config (to_json) records every string option as JSON text, so each must be
// UTF-8: else writing config.json fails, after the run directory was made.
void check_utf8(const std::string& name, const std::string& text, bool is_path) {
  const size_t at = invalid_utf8_at(text);
  if (at == std::string::npos) return;
  char byte[8];
  std::snprintf(byte, sizeof(byte), "0x%02X", static_cast<unsigned char>(text[at]));
  throw ConfigError(
      name + ": the " + (is_path ? "path" : "value") + " is not valid UTF-8 (byte " + byte +
      " at index " + std::to_string(at) +
      "); config.json records it as text: " + (is_path ? "rename it" : "give it in UTF-8"));
}

}  // namespace

void validate(const Config& config) { validate(config, ValueSources{}); }

void validate(const Config& c, const ValueSources& sources) {
  const auto n = [&](const std::string& option) { return sources.name(option); };
  check_utf8("--preset", c.preset, false);
  for (const auto& spec : option_table()) {
    const nlohmann::json value = spec.get(c);
    if (value.is_string()) check_utf8(n(spec.name), value.get<std::string>(), spec.is_path);
  }
  const auto& t = c.train;
  CG_REQUIRE(t.batch_size > 0 && t.batch_size <= kMaxBatchSize, ConfigError, n("batch-size"),
             " must be in [1, ", kMaxBatchSize, "], got ", t.batch_size);
  for (const auto& [option, value] : {std::pair{"steps", t.steps}, std::pair{"epochs", t.epochs}}) {
    CG_REQUIRE(value >= 0, ConfigError, n(option), " must be >= 0, got ", value);
  }
  CG_REQUIRE(t.steps > 0 || t.epochs > 0, ConfigError, "set ", n("steps"), " or ", n("epochs"),
             " above 0");
  // Floats are finite (the option parser checks); these bounds keep them meaningful.
  for (const auto& [option, lr] : {std::pair{"lr-g", t.lr_g}, std::pair{"lr-d", t.lr_d}}) {
    CG_REQUIRE(lr > 0 && lr <= 1, ConfigError, n(option), " must be in (0, 1], got ", lr);
  }
  CG_REQUIRE(t.lr_decay_start >= 0 && t.lr_decay_start <= 1, ConfigError, n("lr-decay-start"),
             " must be in [0, 1], got ", t.lr_decay_start);
  for (const auto& [option, beta] : {std::pair{"beta1", t.beta1}, std::pair{"beta2", t.beta2}}) {
    CG_REQUIRE(beta >= 0 && beta < 1, ConfigError, n(option), " must be in [0, 1), got ", beta);
  }
  CG_REQUIRE(t.lambda_cycle >= 0 && t.lambda_cycle <= 1000, ConfigError, n("lambda-cycle"),
             " must be in [0, 1000], got ", t.lambda_cycle);
  CG_REQUIRE(t.identity_weight >= 0 && t.identity_weight <= 1000, ConfigError, n("identity-weight"),
             " must be in [0, 1000], got ", t.identity_weight);
  CG_REQUIRE(t.rmsprop_alpha >= 0 && t.rmsprop_alpha < 1, ConfigError, n("rmsprop-alpha"),
             " must be in [0, 1), got ", t.rmsprop_alpha);
  CG_REQUIRE(t.rmsprop_eps > 0 && t.rmsprop_eps <= 1, ConfigError, n("rmsprop-eps"),
             " must be in (0, 1], got ", t.rmsprop_eps);
  CG_REQUIRE(t.nonfinite_limit >= 1, ConfigError, n("nonfinite-limit"), " must be at least 1, got ",
             t.nonfinite_limit);
  CG_REQUIRE(t.pool_size >= 0, ConfigError, n("pool-size"), " must be >= 0, got ", t.pool_size);
  CG_REQUIRE(t.keep_checkpoints >= 1, ConfigError, n("keep-checkpoints"),
             " must be at least 1, got ", t.keep_checkpoints);
  for (const auto& [option, every] :
       {std::pair{"log-every", t.log_every}, std::pair{"sample-every", t.sample_every},
        std::pair{"checkpoint-every", t.checkpoint_every},
        std::pair{"replica-check-every", t.replica_check_every},
        std::pair{"eval-every", t.eval_every}}) {
    CG_REQUIRE(every >= 0, ConfigError, n(option), " must be >= 0, got ", every);
  }
  CG_REQUIRE(c.threads >= 0, ConfigError, n("threads"), " must be >= 0, got ", c.threads);
  CG_REQUIRE(c.dist.bucket_mb > 0 && c.dist.bucket_mb <= 4096, ConfigError, n("bucket-mb"),
             " must be in (0, 4096], got ", c.dist.bucket_mb);
  CG_REQUIRE(!t.run_dir.empty(), ConfigError, n("run-dir"), " must not be empty");
  CG_REQUIRE(c.eval.batch_size >= 1, ConfigError, n("eval-batch-size"), " must be at least 1, got ",
             c.eval.batch_size);
  CG_REQUIRE(c.eval.fid_images == 0 || c.eval.fid_images == eval::EvalOptions::kWholeSplit ||
                 c.eval.fid_images >= 2,
             ConfigError, n("fid-images"),
             " must be -1 (the whole test split), 0 (no FID/KID) or at least 2, got ",
             c.eval.fid_images);
  try {
    torch::Device device(t.device);
    (void)device;
  } catch (const std::exception&) {
    throw ConfigError(n("device") + ": expected cpu, cuda or cuda:N, got '" + t.device + "'");
  }
  CG_REQUIRE(c.dist.backend != parallel::Backend::kNccl || torch::Device(t.device).is_cuda(),
             ConfigError, n("backend"), " nccl needs ", n("device"), " cuda, got '", t.device, "'");
  if (!t.resume.empty() && t.resume != "auto") {
    CG_REQUIRE(std::filesystem::exists(t.resume), ConfigError, n("resume"), ": checkpoint ",
               t.resume, " does not exist");
  }
  // --overwrite and --resume-other-run are flags of this invocation, never from a file.
  if (t.resume_other_run) {
    CG_REQUIRE(!t.resume.empty(), ConfigError,
               "--resume-other-run needs --resume PATH (a checkpoint of the other run)");
    CG_REQUIRE(t.resume != "auto", ConfigError,
               "--resume-other-run needs --resume PATH: ", n("resume"),
               " auto only takes the run directory's own checkpoints");
  }
  CG_REQUIRE(!c.overwrite || t.resume.empty(), ConfigError, "--overwrite starts a new run; ",
             n("resume"), " continues one: give one of them");
  const auto& m = c.model;
  for (const auto& [option, channels] :
       {std::pair{"channels-a", m.channels_a}, std::pair{"channels-b", m.channels_b}}) {
    CG_REQUIRE(channels == 1 || channels == 3, ConfigError, n(option), " must be 1 or 3, got ",
               channels);
  }
  CG_REQUIRE(m.unet_decoder_filters.size() + 1 == m.unet_encoder_filters.size(), ConfigError,
             n("unet-decoder-filters"), " needs one entry fewer than ", n("unet-encoder-filters"),
             " (", m.unet_encoder_filters.size(), "), got ", m.unet_decoder_filters.size());
  if (m.generator == model::GeneratorArch::kUnet && m.upsample != model::Upsample::kTransposed) {
    CG_REQUIRE(m.unet_kernel_size % 2 == 1, ConfigError, n("upsample"), " ",
               model::to_string(m.upsample), " needs an odd ", n("unet-kernel-size"),
               " (its stride-1 convolution keeps the size only with odd kernels), got ",
               m.unet_kernel_size);
  }
  CG_REQUIRE(
      m.unet_norm == model::UnetNorm::kInstance || m.generator == model::GeneratorArch::kUnet,
      ConfigError, n("unet-norm"), " none: only the U-Net generator has it, not the ",
      model::to_string(m.generator), " generator");
  const int64_t factor = m.generator == model::GeneratorArch::kUnet
                             ? int64_t{1} << (m.unet_encoder_filters.size() - 1)
                             : 4;
  CG_REQUIRE(c.data.image_size <= data::kMaxImageSide, ConfigError, n("image-size"),
             " must be at most ", data::kMaxImageSide, ", got ", c.data.image_size);
  CG_REQUIRE(c.data.image_size > 0 && c.data.image_size % factor == 0, ConfigError, n("image-size"),
             " must be a positive multiple of ", factor, " for the ", model::to_string(m.generator),
             " generator, got ", c.data.image_size);
  if (m.discriminator == model::DiscriminatorArch::kPatch) {
    const int64_t min_size = int64_t{1} << (m.n_layers + 2);
    CG_REQUIRE(c.data.image_size >= min_size, ConfigError, n("image-size"),
               " is too small for a PatchGAN of ", m.n_layers, " layers: at least ", min_size,
               ", got ", c.data.image_size);
  }
  CG_REQUIRE(c.data.source.kind != DataSource::Kind::kUnset, ConfigError, n("data"),
             " is required: a data set directory (`cyclegan_data demo --output data/demo` "
             "builds the demo one) or 'synthetic'");
  if (!c.data.source.synthetic()) {
    CG_REQUIRE(std::filesystem::is_directory(c.data.source.directory), ConfigError, n("data"), ": ",
               c.data.source.directory,
               " is not a directory (expected a data set made by cyclegan_data, or 'synthetic')");
  }
  CG_REQUIRE(c.data.loader_threads >= 1 && c.data.loader_threads <= kMaxLoaderThreads, ConfigError,
             n("loader-threads"), " must be in [1, ", kMaxLoaderThreads, "], got ",
             c.data.loader_threads);
  CG_REQUIRE(c.data.prefetch >= 1 && c.data.prefetch <= kMaxPrefetch, ConfigError, n("prefetch"),
             " must be in [1, ", kMaxPrefetch, "], got ", c.data.prefetch);
  CG_REQUIRE(c.data.synthetic_images >= t.batch_size, ConfigError, n("synthetic-images"), " (",
             c.data.synthetic_images, ") must be at least ", n("batch-size"), " (", t.batch_size,
             ")");
  if (c.data.source.synthetic()) {
    // Both domains are generated in memory up front: bound them before allocating.
    const double bytes = 2.0 * static_cast<double>(c.data.synthetic_images) * 3 * 4 *
                         static_cast<double>(c.data.image_size) *
                         static_cast<double>(c.data.image_size);
    CG_REQUIRE(bytes <= kMaxSyntheticBytes, ConfigError, n("synthetic-images"), " ",
               c.data.synthetic_images, " at ", n("image-size"), " ", c.data.image_size,
               " would take ", bytes / (1 << 30), " GiB of memory (at most ",
               kMaxSyntheticBytes / (1 << 30), "): use fewer images or a data set directory");
  }
  CG_REQUIRE(t.eval_every == 0 || !c.data.source.synthetic(), ConfigError, n("eval-every"),
             " needs a data set with a test split (", n("data"), " DIR), not 'synthetic'");
  CG_REQUIRE(c.metrics.port >= 0 && c.metrics.port < 65536, ConfigError, n("metrics-port"),
             " must be 0 (off) or a TCP port, got ", c.metrics.port);
  CG_REQUIRE(!c.metrics.bind.empty(), ConfigError, n("metrics-bind"), " must not be empty");
  CG_REQUIRE(c.metrics.push_interval > 0 && c.metrics.push_interval <= 86400, ConfigError,
             n("push-interval"), " must be in (0, 86400] seconds, got ", c.metrics.push_interval);
}

}  // namespace cg::cli
