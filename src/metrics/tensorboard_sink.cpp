#include "metrics/tensorboard_sink.h"

#include <string>

#include "train/loss_terms.h"

namespace cg::metrics {

TensorBoardSink::TensorBoardSink(TensorBoardOptions options)
    : options_(std::move(options)), file_(options_.dir, options_.file), last_due_(Clock::now()) {}

void TensorBoardSink::on_step(const train::StepRecord& r) {
  if (!started_) {
    started_ = true;
    last_due_ = Clock::now() - std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(r.step_seconds));
    file_.add_session_start(r.step);
    if (!options_.run_text.empty()) {
      file_.add(r.step, Summary().text("run/config", options_.run_text));
    }
  }
  images_since_due_ += r.images * options_.world_size;
  const int64_t every = options_.log_every > 0 ? options_.log_every : 1;
  if (r.step % every != 0 && r.step != r.total_steps) return;
  // Images per second of wall time since the last scalar event, like the progress line.
  const auto now = Clock::now();
  const double seconds = std::chrono::duration<double>(now - last_due_).count();
  const double rate = seconds > 0 ? static_cast<double>(images_since_due_) / seconds : 0.0;
  last_due_ = now;
  images_since_due_ = 0;
  const train::StepLosses& l = r.losses;
  Summary s;
  for (const train::LossTerm& term : train::kLossTerms) {
    s.scalar(std::string("loss/") + term.name, l.*term.value);
  }
  s.scalar("lr/G", r.lr_g).scalar("lr/D", r.lr_d);
  s.scalar("speed/images_per_second", rate);
  s.scalar("time/step_seconds", r.step_seconds);
  s.scalar("time/data_wait_seconds", r.data_wait_seconds);
  s.scalar("time/compute_seconds", r.compute_seconds);
  s.scalar("time/allreduce_seconds", r.allreduce_seconds);
  s.scalar("time/optimizer_seconds", r.optimizer_seconds);
  s.scalar("allreduce/bytes_per_step", static_cast<double>(r.allreduce_bytes));
  if (r.cuda_allocated_bytes > 0) {
    s.scalar("memory/cuda_allocated_bytes", static_cast<double>(r.cuda_allocated_bytes));
    s.scalar("memory/cuda_reserved_bytes", static_cast<double>(r.cuda_reserved_bytes));
  }
  if (r.peak_memory_bytes > 0) {
    s.scalar("memory/peak_bytes", static_cast<double>(r.peak_memory_bytes));
  }
  if (r.loss_scale_g > 0 || r.loss_scale_d_a > 0 || r.loss_scale_d_b > 0) {
    s.scalar("loss_scale/G", r.loss_scale_g);
    s.scalar("loss_scale/D_A", r.loss_scale_d_a).scalar("loss_scale/D_B", r.loss_scale_d_b);
  }
  file_.add(r.step, s);
}

void TensorBoardSink::on_checkpoint(const train::CheckpointRecord& r) {
  file_.add(r.step, Summary().scalar("time/checkpoint_seconds", r.seconds));
}

void TensorBoardSink::on_eval(int64_t step, const eval::EvalReport& r) {
  Summary s;
  s.scalar("eval/psnr_db/cycle_a", r.cycle_a_psnr_db)
      .scalar("eval/psnr_db/cycle_b", r.cycle_b_psnr_db);
  s.scalar("eval/cycle_l1/a", r.cycle_a_l1).scalar("eval/cycle_l1/b", r.cycle_b_l1);
  if (r.paired) {
    s.scalar("eval/psnr_db/translated", r.translation_psnr_db);
    s.scalar("eval/psnr_db/baseline", r.baseline_psnr_db);
    s.scalar("eval/ssim/translated", r.translation_ssim);
    s.scalar("eval/ssim/baseline", r.baseline_ssim);
  }
  if (r.colorization) {
    s.scalar("eval/psnr_db/colorized", r.colorized_psnr_db);
    s.scalar("eval/ssim/colorized", r.colorized_ssim);
  }
  if (r.colour_b) {
    s.scalar("eval/colorfulness/translated", r.colorfulness_translated);
    s.scalar("eval/colorfulness/real", r.colorfulness_real);
  }
  if (r.colorizes) s.scalar("eval/colorfulness/colorized", r.colorfulness_colorized);
  if (r.checkerboard_period > 0) {
    s.scalar("eval/checkerboard/AtoB", r.checkerboard_a_to_b.translated)
        .scalar("eval/checkerboard/BtoA", r.checkerboard_b_to_a.translated);
    s.scalar("eval/checkerboard/AtoB_baseline", r.checkerboard_a_to_b.baseline)
        .scalar("eval/checkerboard/BtoA_baseline", r.checkerboard_b_to_a.baseline);
  }
  if (r.fid) {
    s.scalar("eval/fid/AtoB", r.fid_a_to_b.fid).scalar("eval/fid/BtoA", r.fid_b_to_a.fid);
    s.scalar("eval/kid/AtoB", r.fid_a_to_b.kid).scalar("eval/kid/BtoA", r.fid_b_to_a.kid);
    s.scalar("eval/fid/AtoB_baseline", r.baseline_a_to_b.fid)
        .scalar("eval/fid/BtoA_baseline", r.baseline_b_to_a.fid);
    s.scalar("eval/kid/AtoB_baseline", r.baseline_a_to_b.kid)
        .scalar("eval/kid/BtoA_baseline", r.baseline_b_to_a.kid);
    if (r.fid_colorized) {
      s.scalar("eval/fid/AtoB_colorized", r.colorized_a_to_b.fid)
          .scalar("eval/kid/AtoB_colorized", r.colorized_a_to_b.kid);
    }
    if (r.fid_floor) {
      s.scalar("eval/fid/real_A", r.floor_a.fid).scalar("eval/fid/real_B", r.floor_b.fid);
      s.scalar("eval/kid/real_A", r.floor_a.kid).scalar("eval/kid/real_B", r.floor_b.kid);
    }
  }
  file_.add(step, s);
}

void TensorBoardSink::on_samples(int64_t step, const train::SampleImage& image) {
  file_.add(step, Summary().image("samples", image.png, image.height, image.width, image.channels));
}

}  // namespace cg::metrics
