"""TensorBoard event files of real cyclegan_dist runs, read back with TensorBoard's own reader
(tensorboard.backend.event_processing.event_accumulator, as `tensorboard --logdir` uses it):

  run 1  --steps 8                       a checkpoint at step 8, events of steps 1-8
  run 2  --resume auto --steps 400       no checkpoint before its end; killed with SIGKILL
                                         once events past step 14 are on disk
  run 3  --resume auto --steps 20        resumes from step 8 again and finishes

Checks: the killed run's file holds whole records only and the reader opens it; after run 3
every scalar tag has each logged step exactly once (run 2's orphaned steps, trained at
another learning rate, are dropped), with the values of the log's progress lines (the
last line of each step: run 3's), the evaluations (image scores, and FID/KID on 3 images per
set when the Inception weights exist) equal to eval/step_N.json, the sample
images equal to the PNG files' pixels, and the run information as text.

  python tensorboard_e2e.py --cyclegan-dist BIN --cyclegan-data BIN
"""
import argparse
import glob
import io
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from e2e_util import check, run  # noqa: E402
from tensorboard.backend.event_processing import event_accumulator, plugin_event_accumulator
from tensorboard.compat.proto import event_pb2
from tensorboard.util import tensor_util

STEP_TAGS = ["loss/D_A", "loss/D_B", "loss/G_adv", "loss/F_adv", "loss/cycle_A", "loss/cycle_B",
             "loss/idt_A", "loss/idt_B", "loss/G_total", "lr/G", "lr/D", "speed/images_per_second",
             "time/step_seconds", "time/data_wait_seconds", "time/compute_seconds",
             "time/allreduce_seconds", "time/optimizer_seconds", "allreduce/bytes_per_step",
             "memory/peak_bytes"]
# The progress line's loss columns: "D_A x D_B x G x F x cyc a/b idt a/b".
INCEPTION = os.environ.get("CYCLEGAN_INCEPTION") or os.path.expanduser(
    "~/.cache/cyclegan_dist/fid/inception-2015-12-05.pt")
LOG_LINE = re.compile(r"step (\d+)/\d+\s+D_A (\S+) D_B (\S+) G (\S+) F (\S+) cyc (\S+)/(\S+) idt (\S+)/(\S+)")
# The step's peak memory on the progress line, in MiB.
LOG_PEAK = re.compile(r"step (\d+)/\d+\s.* peak (\d+) MiB")
LOG_TAGS = ["loss/D_A", "loss/D_B", "loss/G_adv", "loss/F_adv", "loss/cycle_A", "loss/cycle_B",
            "loss/idt_A", "loss/idt_B"]


def make_dataset(work):
    """A small photo folder in the official CycleGAN layout, turned into a data set."""
    rng = np.random.default_rng(5)
    folder = os.path.join(work, "photos")
    for split, count in [("trainA", 24), ("trainB", 24), ("testA", 8), ("testB", 8)]:
        os.makedirs(os.path.join(folder, split))
        for i in range(count):
            base = rng.integers(0, 256, size=(1, 1, 3))
            ramp = np.linspace(0, 80, 40)[None, :, None]
            noise = rng.integers(0, 40, size=(40, 40, 3))
            pixels = np.clip(base + ramp + noise, 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(os.path.join(folder, split, f"{i:03d}.png"))
    data = os.path.join(work, "data")
    run([ARGS.cyclegan_data, "folder", "--input", folder, "--output", data, "--size", "32",
         "--no-progress"])
    return data


def records(path):
    """Payloads of the TFRecords in `path`, and the bytes after the last whole record."""
    with open(path, "rb") as f:
        data = f.read()
    out, at = [], 0
    while at + 12 <= len(data):
        (n,) = struct.unpack_from("<Q", data, at)
        if at + 12 + n + 4 > len(data):
            break
        out.append(data[at + 12:at + 12 + n])
        at += 12 + n + 4
    return out, len(data) - at


def max_scalar_step(path):
    steps = [0]
    for payload in records(path)[0]:
        event = event_pb2.Event.FromString(payload)
        if event.HasField("summary") and any(v.tag == "loss/D_A" for v in event.summary.value):
            steps.append(event.step)
    return max(steps)


def event_files(run_dir):
    return sorted(glob.glob(os.path.join(run_dir, "tensorboard", "events.out.tfevents.*")))


def load(run_dir):
    acc = event_accumulator.EventAccumulator(os.path.join(run_dir, "tensorboard"),
                                             size_guidance={event_accumulator.SCALARS: 0,
                                                            event_accumulator.IMAGES: 0,
                                                            event_accumulator.TENSORS: 0})
    acc.Reload()
    return acc


def log_losses(run_dir):
    """Step -> the loss columns of the last progress line of that step in train.log."""
    losses = {}
    with open(os.path.join(run_dir, "train.log")) as f:
        for line in f:
            m = LOG_LINE.search(line)
            if m:
                losses[int(m.group(1))] = [float(x) for x in m.groups()[1:]]
    return losses


def log_peaks(run_dir):
    """Step -> the peak memory (MiB) of the last progress line of that step in train.log."""
    peaks = {}
    with open(os.path.join(run_dir, "train.log")) as f:
        for line in f:
            m = LOG_PEAK.search(line)
            if m:
                peaks[int(m.group(1))] = int(m.group(2))
    return peaks


def main():
    work = tempfile.mkdtemp(prefix="cg_tensorboard_e2e_")
    data = make_dataset(work)
    run_dir = os.path.join(work, "run")
    train = [ARGS.cyclegan_dist, "--data", data, "--run-dir", run_dir, "--batch-size", "2",
             "--threads", "1", "--log-every", "2", "--sample-every", "4", "--eval-every", "4",
             "--loader-threads", "1", "--fid-images", "3"]

    run(train + ["--steps", "8"])
    check(len(event_files(run_dir)) == 1, f"run 1: expected one event file, got {event_files(run_dir)}")

    killed = subprocess.Popen(train + ["--resume", "auto", "--steps", "400", "--checkpoint-every", "10000"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while time.time() < deadline and killed.poll() is None:
        files = event_files(run_dir)
        if len(files) == 2 and max_scalar_step(files[1]) >= 14:
            break
        time.sleep(0.2)
    check(killed.poll() is None, f"run 2 ended by itself (exit {killed.returncode})")
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    killed_file = event_files(run_dir)[1]
    payloads, tail = records(killed_file)
    check(tail == 0, f"the killed run's event file ends in a torn record ({tail} bytes)")
    orphaned = max_scalar_step(killed_file)
    check(orphaned >= 14, f"run 2 left events up to step {orphaned}")
    acc = load(run_dir)
    check(max(e.step for e in acc.Scalars("loss/D_A")) == orphaned,
          "TensorBoard's reader does not see the killed run's events")
    print(f"killed run: {len(payloads)} whole records up to step {orphaned}, read by TensorBoard")

    run(train + ["--resume", "auto", "--steps", "20"])
    check(len(event_files(run_dir)) == 3, f"run 3: expected a third event file, got {event_files(run_dir)}")
    acc = load(run_dir)
    tags = acc.Tags()
    expected_steps = list(range(2, 21, 2))
    for tag in STEP_TAGS:
        check(tag in tags["scalars"], f"scalar tag {tag} missing; have {tags['scalars']}")
        steps = [e.step for e in acc.Scalars(tag)]
        check(steps == expected_steps, f"{tag}: steps {steps}, expected {expected_steps}")
    losses = log_losses(run_dir)
    for i, tag in enumerate(LOG_TAGS):
        for e in acc.Scalars(tag):
            logged = losses[e.step][i]
            check(abs(e.value - logged) <= 6e-5 + 1e-6 * abs(logged),
                  f"{tag} at step {e.step}: TensorBoard {e.value}, log {logged}")
    check(all(e.value > 0 for e in acc.Scalars("speed/images_per_second")), "images/s not positive")
    check(all(e.value > 0 for e in acc.Scalars("lr/G")), "lr/G not positive")
    peaks = log_peaks(run_dir)
    for e in acc.Scalars("memory/peak_bytes"):
        check(e.step in peaks and abs(e.value / 2 ** 20 - peaks[e.step]) <= 0.5 + 1e-6 * e.value / 2 ** 20,
              f"memory/peak_bytes at step {e.step}: TensorBoard {e.value / 2 ** 20:.1f} MiB, "
              f"log {peaks.get(e.step)} MiB")
        check(e.value > 50 * 2 ** 20, f"memory/peak_bytes at step {e.step}: {e.value} bytes, not a process' peak")
    check("loss_scale/G" not in tags["scalars"], "loss_scale tags in an fp32 run")

    eval_steps = [4, 8, 12, 16, 20]
    eval_tags = [("eval/psnr_db/cycle_a", ["cycle_a_psnr_db"]), ("eval/psnr_db/cycle_b", ["cycle_b_psnr_db"]),
                 ("eval/cycle_l1/a", ["cycle_a_l1"]), ("eval/colorfulness/real", ["colorfulness_real"]),
                 ("eval/checkerboard/AtoB", ["checkerboard", "AtoB", "translated"]),
                 ("eval/checkerboard/BtoA_baseline", ["checkerboard", "BtoA", "baseline"])]
    if "eval/fid/AtoB" in tags["scalars"] or os.path.exists(INCEPTION):
        eval_tags += [("eval/fid/AtoB", ["fid", "AtoB", "fid"]), ("eval/kid/BtoA", ["fid", "BtoA", "kid"]),
                      ("eval/fid/real_B", ["fid", "floor_B", "fid"]),
                      ("eval/fid/AtoB_baseline", ["fid", "baseline_AtoB", "fid"]),
                      ("eval/kid/BtoA_baseline", ["fid", "baseline_BtoA", "kid"])]
    for tag, keys in eval_tags:
        events = acc.Scalars(tag) if tag in tags["scalars"] else []
        check([e.step for e in events] == eval_steps, f"{tag}: steps {[e.step for e in events]}")
        for e in events:
            with open(os.path.join(run_dir, "eval", f"step_{e.step}.json")) as f:
                want = json.load(f)
            for key in keys:
                want = want[key]
            check(abs(e.value - want) <= 1e-5 * max(1.0, abs(want)),
                  f"{tag} at step {e.step}: TensorBoard {e.value}, eval JSON {want}")

    images = acc.Images("samples")
    check([e.step for e in images] == [4, 8, 12, 16, 20], f"samples at steps {[e.step for e in images]}")
    for e in images:
        shown = np.asarray(Image.open(io.BytesIO(e.encoded_image_string)))
        on_disk = np.asarray(Image.open(os.path.join(run_dir, "samples", f"step_{e.step:08d}.png")))
        check(shown.shape == on_disk.shape and (shown == on_disk).all(),
              f"sample image at step {e.step} differs from the PNG file")
        check((e.height, e.width) == shown.shape[:2], f"sample at step {e.step}: header size {e.height}x{e.width}")

    # The TensorBoard server reads through plugin_event_accumulator, which also drops the
    # orphaned events of plugins stored as tensors (text); event_accumulator keeps those.
    served = plugin_event_accumulator.EventAccumulator(os.path.join(run_dir, "tensorboard"),
                                                       size_guidance={plugin_event_accumulator.TENSORS: 0})
    served.Reload()
    served_steps = [e.step for e in served.Tensors("loss/D_A")]
    check(served_steps == expected_steps, f"TensorBoard server view: loss/D_A at steps {served_steps}")
    texts = served.Tensors("run/config")
    check([e.step for e in texts] == [1, 9], f"run/config at steps {[e.step for e in texts]}, expected [1, 9]")
    text = tensor_util.make_ndarray(texts[-1].tensor_proto).item().decode()
    check("cifar-colorize" in text and '"steps": 20' in text, f"run/config text: {text[:300]}")
    print(f"resumed run: {len(STEP_TAGS)} scalar tags at steps {expected_steps} once each, "
          f"losses equal to the log, {len(eval_steps)} evaluations, {len(images)} sample images, run text")

    run(train + ["--resume", "auto", "--steps", "22", "--tensorboard", "false"])
    check(len(event_files(run_dir)) == 3, "--tensorboard false still wrote an event file")
    shutil.rmtree(work)
    print("ok")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--cyclegan-dist", required=True)
    parser.add_argument("--cyclegan-data", required=True)
    ARGS = parser.parse_args()
    main()
