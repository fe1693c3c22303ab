"""ONNX and TorchScript exports against the C++ generators, end to end.

For one preset: trains a few steps with cyclegan_dist (--data synthetic), exports the
generators with cyclegan_translate --export-pytorch, writes the C++ outputs on fixed inputs
(cyclegan_export_probe), exports both directions with `python -m cyclegan_dist.export`
(this checkout's python/ package), then checks that
  - onnxruntime runs each ONNX file at every probe size and batch and gives the C++
    outputs to 1e-4, and its metadata_props and opset say what they should;
  - torch::jit::load in a program that links only LibTorch (cyclegan_torchscript_check)
    runs each TorchScript file and gives the C++ outputs to 1e-4.

  python export_e2e.py --preset seed|paper|seed-bilinear|paper-nearest --work DIR --cyclegan-dist X --translate X
                       --probe X --torchscript-check X
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
import torch

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests"))
from e2e_util import finish_soft_checks, run_step, soft_check  # noqa: E402

TOLERANCE = 1e-4
OPSET = 18

# preset -> training flags (a few steps on small synthetic pictures: the export, not the
# quality, is under test) and the probe cases (direction:NxHxW) of each direction tested.
# The seed U-Net both ways (gray -> colour, colour -> gray); the ResNet A -> B at the paper's
# 256x256 and at 200x320. Its F is the same class with other weights, and each ResNet export
# takes about 20 s and each pass over these sizes about 30 s on one core, so F is left to
# the seed case and PythonPackageInstalls.
PRESETS = {
    "seed": dict(
        train=["--preset", "cifar-colorize", "--image-size", "32", "--batch-size", "2", "--steps", "3",
               "--synthetic-images", "8"],
        cases={"AtoB": ["1x32x32", "3x32x32", "1x48x80", "3x48x80"],
               "BtoA": ["1x32x32", "3x32x32", "1x48x80", "3x48x80"]},
        channels={"AtoB": (1, 3), "BtoA": (3, 1)}, value_range=[0.0, 1.0], multiple=8),
    "paper": dict(
        train=["--preset", "paper-256", "--image-size", "32", "--batch-size", "1", "--steps", "2",
               "--synthetic-images", "4"],
        cases={"AtoB": ["1x256x256", "3x256x256", "1x200x320", "3x200x320"]},
        channels={"AtoB": (3, 3)}, value_range=[-1.0, 1.0], multiple=4),
}
# --upsample's resize convolutions: the seed U-Net with bilinear and no norm (the demo's
# model, scripts/demo; both ways, as above), the ResNet with nearest (A -> B at two sizes;
# 256x256 is the transposed case's).
PRESETS["seed-bilinear"] = dict(PRESETS["seed"], train=PRESETS["seed"]["train"] + ["--upsample", "bilinear",
                                                                                   "--unet-norm", "none"])
PRESETS["paper-nearest"] = dict(PRESETS["paper"], train=PRESETS["paper"]["train"] + ["--upsample", "nearest"],
                                cases={"AtoB": ["1x64x64", "3x200x320"]})
FILES = {"AtoB": "G_AtoB", "BtoA": "F_BtoA"}


def check_onnx(path, direction, preset, probe):
    model = onnx.load(path)
    meta = {p.key: p.value for p in model.metadata_props}
    c_in, c_out = preset["channels"][direction]
    order = {1: "gray (BT.601 luma)", 3: "RGB"}
    opsets = {o.domain: o.version for o in model.opset_import}
    soft_check(opsets.get("", opsets.get("ai.onnx")) == OPSET, f"{path}: opset {opsets}")
    expected = {"direction": direction, "layout": "NCHW", "dtype": "float32",
                "input_channels": str(c_in), "output_channels": str(c_out),
                "input_channel_order": order[c_in], "output_channel_order": order[c_out],
                "size_multiple": str(preset["multiple"])}
    wrong = {k: meta.get(k) for k, v in expected.items() if meta.get(k) != v}
    if json.loads(meta.get("value_range", "null")) != preset["value_range"]:
        wrong["value_range"] = meta.get("value_range")
    soft_check(not wrong, f"{path}: metadata_props as expected " + (f"except {wrong}" if wrong else
                                                                   json.dumps(dict(expected, value_range=preset["value_range"]))))
    dims = [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    soft_check(all(isinstance(dims[i], str) for i in (0, 2, 3)) and dims[1] == c_in,
               f"{path}: input dims {dims} (batch, height and width symbolic)")
    ops = {}
    for node in model.graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    print(f"  {os.path.basename(path)} operators: {json.dumps(ops, sort_keys=True)}")

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    for case in preset["cases"][direction]:
        key = f"{direction}:{case}"
        x, expected_y = probe[key + "/input"], probe[key + "/output"]
        start = time.time()
        y = session.run(None, {name: x.numpy()})[0]
        error = float(np.abs(y - expected_y.numpy()).max()) if y.shape == tuple(expected_y.shape) else float("inf")
        soft_check(error <= TOLERANCE, f"onnxruntime {key}: output {y.shape}, max |onnx - c++| = {error:.2e} "
                                       f"({time.time() - start:.1f} s)")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--preset", choices=sorted(PRESETS), required=True)
    parser.add_argument("--work", required=True)
    for flag in ("--cyclegan-dist", "--translate", "--probe", "--torchscript-check"):
        parser.add_argument(flag, required=True)
    args = parser.parse_args()
    preset = PRESETS[args.preset]
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    run_dir, export_dir = os.path.join(args.work, "run"), os.path.join(args.work, "export")
    probe_file = os.path.join(args.work, "probe.pt")

    run_step([args.cyclegan_dist, "--data", "synthetic", "--run-dir", run_dir, "--sample-every", "0",
              "--threads", "1"] + preset["train"])
    run_step([args.translate, "--checkpoint", run_dir, "--export-pytorch", export_dir])
    cases = [f"{d}:{c}" for d, cs in preset["cases"].items() for c in cs]
    run_step([args.probe, run_dir, probe_file] + cases)
    probe = torch.load(probe_file)

    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "python"))
    for direction in preset["cases"]:
        stem = FILES[direction]
        onnx_file = os.path.join(args.work, stem + ".onnx")
        ts_file = os.path.join(args.work, stem + ".ts.pt")
        run_step([sys.executable, "-m", "cyclegan_dist.export", export_dir, "--direction", direction,
                  "--onnx", onnx_file, "--torchscript", ts_file, "--opset", str(OPSET)], env=env)
        check_onnx(onnx_file, direction, preset, probe)
        start = time.time()
        result = subprocess.run([args.torchscript_check, ts_file, probe_file, direction, str(TOLERANCE)])
        soft_check(result.returncode == 0, f"torch::jit::load {os.path.basename(ts_file)}: every {direction} case "
                                           f"within {TOLERANCE} ({time.time() - start:.1f} s)")
    finish_soft_checks()


if __name__ == "__main__":
    main()
