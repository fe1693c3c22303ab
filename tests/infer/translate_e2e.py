#!/usr/bin/env python3
"""cyclegan_translate end to end, on the demo data set and on image folders:

  - --eval of a checkpoint after 1 step and after 150 steps on the demo test split: the
    JSON report lands where --output says, the trained model scores better (PSNR of the
    colorized test images, cycle error), the checkerboard measure and the do-nothing
    baselines are reported (the baselines the same at both steps); --eval without
    --fid-images scores the whole test split and states its protocol;
  - --keep-luma: the output has the gray input's luminance and the model's colours, their
    chroma scaled by the checkpoint's colour gain (--colour-gain 1: G's own);
  - translation of the data set's test split and of a folder of JPEG/PNG files of odd
    sizes, gray and colour, in both directions: one PNG per input, same base name, the
    input's size, the output domain's channels;
  - bad input: missing checkpoint, damaged checkpoint, unreadable image (the images before
    it stay written), an output path that is a file, no mode.
"""
import argparse
import json
import os
import shutil
import struct
import sys
import tempfile
import zlib

import h5py
import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from e2e_util import check, fail, run  # noqa: E402

ARGS = None


def write_png(path, width, height, channels, seed):
    """A PNG of a smooth pattern (8-bit gray or RGB), written with zlib alone."""
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            for c in range(channels):
                row.append((x * (3 + c) + y * (5 + seed) + 40 * c) % 256)
        rows.append(bytes(row))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 0 if channels == 1 else 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows))) +
                chunk(b"IEND", b""))


def png_geometry(path):
    """(width, height, channels) from a PNG's IHDR."""
    data = open(path, "rb").read(33)
    check(data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG")
    width, height, _, color_type = struct.unpack(">IIBB", data[16:26])
    return width, height, {0: 1, 2: 3}[color_type]


def jpeg_geometry(path):
    """(width, height) from a JPEG's SOF marker."""
    data = open(path, "rb").read()
    i = 2
    while i < len(data):
        marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", data[i + 5:i + 9])
            return width, height
        i += 2 + length
    fail(f"no SOF marker in {path}")


def evaluate(run_dir, data, step):
    # FID/KID on 3 images per set: enough to see them reported, cheap on a CPU.
    # Without --output the report is printed and nothing is written into the run directory.
    before = sorted(os.listdir(os.path.join(run_dir, "eval"))) if os.path.isdir(os.path.join(run_dir, "eval")) else []
    printed = run([ARGS.translate, "--checkpoint", run_dir, "--eval", "--input", data, "--fid-images", "3"])
    after = sorted(os.listdir(os.path.join(run_dir, "eval"))) if os.path.isdir(os.path.join(run_dir, "eval")) else []
    check(before == after, f"translate --eval without --output wrote into the run directory: {before} -> {after}")
    # A bare file name is a file in the working directory.
    cwd = os.path.dirname(run_dir)
    name = f"report_step_{step}.json"
    result = run([ARGS.translate, "--checkpoint", run_dir, "--eval", "--input", data, "--fid-images", "3",
                  "--output", name], expect=None, cwd=cwd)
    check(result.returncode == 0, f"--eval --output {name} exited {result.returncode}:\n{result.stderr[-2000:]}")
    path = os.path.join(cwd, name)
    check(os.path.exists(path), f"no report {path}")
    report = json.load(open(path))
    shown = json.loads(printed.stdout)
    check(shown["step"] == report["step"] and shown["cycle_a_l1"] == report["cycle_a_l1"],
          f"the printed report differs from the written one:\n{shown}\n{report}")
    return report


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    for flag in ("--cyclegan-dist", "--translate", "--cyclegan-data"):
        parser.add_argument(flag, required=True)
    ARGS = parser.parse_args()
    os.environ["OMP_NUM_THREADS"] = "2"  # for every command this test runs
    work = tempfile.mkdtemp(prefix="cyclegan_translate_e2e_")
    data = os.path.join(work, "demo")
    run([ARGS.cyclegan_data, "demo", "--output", data, "--sizes", "32"])
    data = os.path.join(data, "32x32")
    run_dir = os.path.join(work, "run")
    train = [ARGS.cyclegan_dist, "--data", data, "--batch-size", "4", "--run-dir", run_dir, "--sample-every", "0",
             "--log-every", "50", "--threads", "2"]

    # Evaluation: after 1 step and after 150.
    run(train + ["--steps", "1"])
    early = evaluate(run_dir, data, 1)
    run(train + ["--steps", "150", "--resume", "auto"])
    trained = evaluate(run_dir, data, 150)
    print("step 1:  ", json.dumps(early))
    print("step 150:", json.dumps(trained))
    for report in (early, trained):
        for key in ("translation_psnr_db", "translation_ssim", "baseline_psnr_db", "baseline_ssim",
                    "colorized_psnr_db", "colorfulness_translated", "colorfulness_real", "cycle_a_l1",
                    "cycle_b_psnr_db"):
            check(key in report, f"report lacks {key}")
        check(report["images_a"] == 200 and report["images_b"] == 200, "the demo test split has 200 images")
        check("fid" in report or "fid_unavailable" in report, "report has neither FID/KID nor why not")
        if "fid" in report:
            check(report["fid"]["AtoB"]["images"] == 3 and report["fid"]["AtoB"]["fid"] > 0,
                  f"FID/KID on 3 images: {report['fid']}")
    check(trained["colorized_psnr_db"] > early["colorized_psnr_db"] + 0.1,
          "150 steps do not colorize the test images better than 1 step")
    check(trained["cycle_a_l1"] < early["cycle_a_l1"], "150 steps do not reconstruct A better than 1 step")
    check(abs(trained["baseline_psnr_db"] - early["baseline_psnr_db"]) < 1e-9, "the gray baseline moved")
    check(15 < trained["colorfulness_real"] < 80, f"colorfulness of photographs: {trained['colorfulness_real']}")
    for report in (early, trained):
        board = report["checkerboard"]
        check(board["period"] == 8 and all(board[d]["translated"] > 0 for d in ("AtoB", "BtoA")),
              f"checkerboard measure: {board}")
        # The input and the real set are the same every time: so is the baseline.
        check(abs(board["AtoB"]["baseline"] - trained["checkerboard"]["AtoB"]["baseline"]) < 1e-12,
              "the checkerboard baseline moved")
        if "fid" in report:
            check(report["fid"]["baseline_AtoB"]["images"] == 3 and not report["fid"]["whole_test_split"],
                  f"--fid-images 3: a subset, and so stated: {report['fid']}")
            check(report["fid"]["baseline_AtoB"]["fid"] == trained["fid"]["baseline_AtoB"]["fid"],
                  "the do-nothing FID moved")

    # By default --eval scores FID/KID on the whole test split (a small set of 6 here) and
    # says how: image counts, real set, extractor, resize rule, gray handling, KID without a
    # spread where every subset is the whole set, the small-N note.
    small = os.path.join(work, "small")
    run([ARGS.cyclegan_data, "demo", "--output", small, "--sizes", "32", "--train-images", "20",
         "--test-images", "6"])
    whole = json.loads(run([ARGS.translate, "--checkpoint", run_dir, "--eval", "--input",
                            os.path.join(small, "32x32")]).stdout)
    if "fid" in whole:
        fid = whole["fid"]
        check(fid["whole_test_split"] and fid["test_images_A"] == 6, f"not the whole split: {fid}")
        for key, of, reference in (("AtoB", "G(test split of A)", "test split of B"),
                                   ("baseline_AtoB", "test split of A as B (do nothing)", "test split of B"),
                                   ("BtoA", "F(test split of B)", "test split of A"),
                                   ("floor_B", "train split of B", "test split of B")):
            scores = fid[key]
            check(scores["images"] == 6 and scores["reference_images"] == 6, f"{key}: {scores}")
            check(scores["images_of"] == of and scores["reference_of"] == reference, f"{key}: {scores}")
            check(scores["kid_std"] is None and scores["kid_subset_size"] == 6, f"{key}: KID spread {scores}")
            check(scores["note"] == "comparable only at equal N", f"{key}: {scores}")
        check(len(fid["extractor_sha1"]) == 40 and "299x299" in fid["resize"] and "BT.601" in fid["gray"],
              f"protocol: {fid}")
    else:
        check("fid_unavailable" in whole, "neither FID/KID nor why not")
    print("--eval by default: the whole test split, its protocol stated")

    # The data set's test split.
    out = os.path.join(work, "out_dataset")
    run([ARGS.translate, "--checkpoint", run_dir, "--input", data, "--output", out, "--no-progress"])
    names = sorted(os.listdir(out))
    check(len(names) == 200 and names[0] == "A_00000.png" and names[-1] == "A_00199.png", f"outputs: {names[:3]}...")
    check(png_geometry(os.path.join(out, "A_00007.png")) == (32, 32, 3), "A -> B output is 32x32 colour")

    # --keep-luma: the colours from G, the luminance from the gray input, within rounding
    # (and clipping, where G's colours do not fit around the input's luma).
    out_luma = os.path.join(work, "out_luma")
    run([ARGS.translate, "--checkpoint", run_dir, "--input", data, "--output", out_luma, "--keep-luma",
         "--no-progress"])
    with open(os.path.join(data, "manifest.json")) as f:
        shard = [s for s in json.load(f)["shards"] if s["domain"] == "A" and s["split"] == "test"][0]
    with h5py.File(os.path.join(data, shard["file"]), "r") as f:
        gray_a = f["images"][:, :, :, 0].astype(np.float64)
    bt601 = np.array([0.299, 0.587, 0.114])
    for index in (7, 123):
        name = f"A_{index:05d}.png"
        colour = np.asarray(Image.open(os.path.join(out_luma, name)), dtype=np.float64)
        plain = np.asarray(Image.open(os.path.join(out, name)), dtype=np.float64)
        off = np.abs(colour @ bt601 - gray_a[index])
        check(np.median(off) <= 1.0, f"--keep-luma {name}: median luma error {np.median(off)}")
        check(np.abs(plain @ bt601 - gray_a[index]).sum() > 4 * off.sum(),
              f"{name}: G's own luma is as close as --keep-luma's")
        check((colour.max(axis=2) - colour.min(axis=2)).max() > 10, f"--keep-luma {name}: no colour left")
    result = run([ARGS.translate, "--checkpoint", run_dir, "--input", data, "--output", os.path.join(work, "x"),
                  "--keep-luma", "--direction", "BtoA"], expect=2)
    check("--keep-luma" in result.stderr and "gray to colour" in result.stderr, result.stderr)
    print("--keep-luma: the input's luminance, the model's colours")

    # The colour gain: a gray -> colour run's checkpoints store the chroma gain that gives
    # the colorizations of the training gray images the training photographs' colorfulness;
    # --eval scores with it (the colorized test images come out about as colourful as the
    # real test photographs), --keep-luma applies it, --colour-gain 1 gives G's own colours.
    checkpoints = os.path.join(run_dir, "checkpoints")
    newest = sorted(n for n in os.listdir(checkpoints) if n.startswith("ckpt_0") and n.endswith(".json"))[-1]
    gain = json.load(open(os.path.join(checkpoints, newest)))["metadata"]["colour_gain"]
    check(0.25 <= gain <= 4 and abs(gain - 1) > 0.02, f"colour gain {gain}")
    check(trained["colour_gain"] == gain, f"--eval scored with {trained['colour_gain']}, the checkpoint has {gain}")
    level = trained["colorfulness_colorized"] / trained["colorfulness_real"]
    check(abs(level - 1) < 0.15, f"matched colorizations' colorfulness {level:.2f}x the real test photographs'")
    out_raw = os.path.join(work, "out_luma_raw")
    run([ARGS.translate, "--checkpoint", run_dir, "--input", data, "--output", out_raw, "--keep-luma",
         "--colour-gain", "1", "--no-progress"])
    for index in (7, 123):
        name = f"A_{index:05d}.png"
        matched = np.asarray(Image.open(os.path.join(out_luma, name)), dtype=np.float64)
        raw = np.asarray(Image.open(os.path.join(out_raw, name)), dtype=np.float64)
        # Chroma (R - Y, G - Y, B - Y) where neither image clips: the matched one is the raw
        # one times the gain, to 8-bit rounding.
        unclipped = ((matched > 0) & (matched < 255) & (raw > 0) & (raw < 255)).all(axis=2)
        chroma_m = (matched - (matched @ bt601)[..., None])[unclipped]
        chroma_r = (raw - (raw @ bt601)[..., None])[unclipped]
        scale = (chroma_m * chroma_r).sum() / (chroma_r * chroma_r).sum()
        check(unclipped.sum() > 100 and abs(scale / gain - 1) < 0.1,
              f"{name}: chroma x{scale:.3f} over {unclipped.sum()} pixels, gain {gain:.3f}")
    exported = os.path.join(work, "export_gain")
    run([ARGS.translate, "--checkpoint", run_dir, "--export-pytorch", exported])
    described = json.load(open(os.path.join(exported, "model.json")))
    check(described["G_AtoB"]["colour_gain"] == gain and "colour_gain" not in described["F_BtoA"],
          f"export's model.json: {described}")
    result = run([ARGS.translate, "--checkpoint", run_dir, "--input", data, "--output", os.path.join(work, "x"),
                  "--colour-gain", "2"], expect=2)
    check("--colour-gain" in result.stderr and "--keep-luma" in result.stderr, result.stderr)
    result = run([ARGS.translate, "--checkpoint", run_dir, "--input", data, "--output", os.path.join(work, "x"),
                  "--keep-luma", "--colour-gain", "nan"], expect=2)
    check("--colour-gain must be a positive number" in result.stderr, result.stderr)
    bad_gain = os.path.join(work, "bad_gain")
    shutil.copytree(checkpoints, bad_gain)
    manifest = json.load(open(os.path.join(bad_gain, newest)))
    manifest["metadata"]["colour_gain"] = -1
    json.dump(manifest, open(os.path.join(bad_gain, newest), "w"))
    result = run([ARGS.translate, "--checkpoint", os.path.join(bad_gain, newest.replace(".json", ".pt")),
                  "--input", data, "--output", os.path.join(work, "x"), "--keep-luma"], expect=1)
    check("colour_gain -1" in result.stderr and newest.replace(".json", ".pt") in result.stderr, result.stderr)
    print(f"colour gain {gain:.3f}: colorized test images {level:.2f}x as colourful as the real ones")

    # A folder: a real JPEG photograph, colour and gray PNGs of odd sizes.
    photos = os.path.join(work, "photos")
    os.makedirs(photos)
    shutil.copy("/usr/share/doc/opencv-doc/examples/data/HappyFish.jpg", photos)
    write_png(os.path.join(photos, "odd_colour.png"), 37, 53, 3, 1)
    write_png(os.path.join(photos, "gray_wide.png"), 64, 18, 1, 2)
    sizes = {"HappyFish": jpeg_geometry(os.path.join(photos, "HappyFish.jpg")), "odd_colour": (37, 53),
             "gray_wide": (64, 18)}
    for direction, channels in (("AtoB", 3), ("BtoA", 1)):
        out = os.path.join(work, "out_" + direction)
        result = run([ARGS.translate, "--checkpoint", run_dir, "--input", photos, "--output", out,
                      "--direction", direction, "--batch-size", "2"])
        check("reflect-padded" in result.stderr, "the padding is not reported")
        for stem, (width, height) in sizes.items():
            got = png_geometry(os.path.join(out, stem + ".png"))
            check(got == (width, height, channels), f"{direction} {stem}: {got}, expected {(width, height, channels)}")
    print("translated data set and folder: names, sizes and channels as expected")

    # Bad input.
    result = run([ARGS.translate, "--checkpoint", os.path.join(work, "nope"), "--input", photos, "--output",
                  os.path.join(work, "x")], expect=1)
    check("nope" in result.stderr and "no such file" in result.stderr, result.stderr)
    damaged = os.path.join(work, "damaged")
    shutil.copytree(os.path.join(run_dir, "checkpoints"), damaged)
    pt = sorted(n for n in os.listdir(damaged) if n.endswith(".pt"))[-1]
    with open(os.path.join(damaged, pt), "r+b") as f:
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0xFF]))
    result = run([ARGS.translate, "--checkpoint", os.path.join(damaged, pt), "--export-pytorch",
                  os.path.join(work, "exp")], expect=1)
    check(pt in result.stderr and "CRC" in result.stderr, result.stderr)
    broken = os.path.join(work, "broken")
    os.makedirs(broken)
    write_png(os.path.join(broken, "a_first.png"), 32, 32, 3, 3)
    open(os.path.join(broken, "b_broken.jpg"), "wb").write(b"\xff\xd8\xff\xe0 not really a jpeg")
    write_png(os.path.join(broken, "c_last.png"), 32, 32, 3, 4)
    out = os.path.join(work, "out_broken")
    result = run([ARGS.translate, "--checkpoint", run_dir, "--input", broken, "--output", out, "--batch-size", "1"],
                 expect=1)
    check("b_broken.jpg" in result.stderr, result.stderr)
    check(sorted(os.listdir(out)) == ["a_first.png"], f"after the failure: {os.listdir(out)}")
    check(png_geometry(os.path.join(out, "a_first.png")) == (32, 32, 3), "the image before the failure is complete")
    a_file = os.path.join(work, "a_file")
    open(a_file, "w").write("x")
    result = run([ARGS.translate, "--checkpoint", run_dir, "--input", photos, "--output", a_file], expect=1)
    check("output directory" in result.stderr, result.stderr)
    result = run([ARGS.translate, "--checkpoint", run_dir], expect=2)
    check("give one of" in result.stderr, result.stderr)
    print("bad input: one clear error each")

    # Export from the command line: the files a PyTorch user loads.
    run([ARGS.translate, "--checkpoint", run_dir, "--export-pytorch", os.path.join(work, "export")])
    check(sorted(os.listdir(os.path.join(work, "export"))) == ["F_BtoA.pt", "G_AtoB.pt", "model.json"],
          "export files")
    shutil.rmtree(work)
    print("PASS")


if __name__ == "__main__":
    main()
