"""Run by package_install.py with the fresh venv's python, where `pip install ./python`
put the package and nothing but torch is present: the installed cyclegan_dist loads the C++
exports with strict=True and gives the C++ outputs, refuses a model.json of an unknown
format version with a clear message, and its command line writes TorchScript (and says how
to get the ONNX export when onnx is missing).

  python package_checks.py --export EXPORT_ROOT --work DIR
"""
import argparse
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig

import torch

import cyclegan_dist

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from e2e_util import finish_soft_checks, soft_check  # noqa: E402


def our_lines(stderr):
    """The command line's own messages, without warnings of torch's import."""
    return " | ".join(line for line in stderr.splitlines() if line.startswith(("error:", "HINT:")))


def max_error(a, b):
    return (a - b).abs().max().item() if a.shape == b.shape else float("inf")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--export", required=True)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    site = os.path.realpath(sysconfig.get_paths()["purelib"])
    soft_check(os.path.realpath(cyclegan_dist.__file__).startswith(site + os.sep),
               f"cyclegan_dist imported from the venv's site-packages: {cyclegan_dist.__file__}")
    soft_check(importlib.util.find_spec("onnx") is None, "onnx is not installed here (only torch)")

    # The C++ exports of both presets (and with --upsample nearest/bilinear), with the C++
    # outputs on their probe inputs.
    for case in ("seed", "paper", "seed_nearest", "paper_bilinear"):
        d = os.path.join(args.export, case)
        probe = torch.load(os.path.join(d, "probe.pt"))
        for direction, x, y in (("AtoB", "a", "g_a"), ("AtoB", "a_wide", "g_a_wide"), ("BtoA", "b", "f_b")):
            net = cyclegan_dist.load_exported(d, direction)
            with torch.no_grad():
                error = max_error(net(probe[x]), probe[y])
            soft_check(error <= 1e-5, f"{case} load_exported {direction} on {x}: max |python - c++| = {error:.2e}")

    # An export in a format version this package does not know, and one that is no export.
    seed = os.path.join(args.export, "seed")
    for name, fmt, words in (("v2", "cyclegan_dist pytorch export v2", ["v2", "export v1", "HINT"]),
                             ("noformat", None, ["not a cyclegan_dist export", "HINT"])):
        d = os.path.join(args.work, name)
        shutil.rmtree(d, ignore_errors=True)
        shutil.copytree(seed, d)
        with open(os.path.join(d, "model.json")) as f:
            description = json.load(f)
        if fmt is None:
            del description["format"]
        else:
            description["format"] = fmt
        with open(os.path.join(d, "model.json"), "w") as f:
            json.dump(description, f)
        try:
            cyclegan_dist.load_exported(d)
            soft_check(False, f"load_exported refuses a model.json with format {fmt!r}")
        except cyclegan_dist.ExportFormatError as e:
            message = str(e)
            print("  message: " + message.replace("\n", "\n           "))
            soft_check(all(w in message for w in words) and os.path.join(d, "model.json") in message,
                       f"load_exported refuses format {fmt!r} naming the file, the versions and a HINT")
        cli = subprocess.run([sys.executable, "-m", "cyclegan_dist.export", d, "--torchscript",
                              os.path.join(d, "G.ts.pt")], capture_output=True, text=True)
        soft_check(cli.returncode == 2 and "model.json" in cli.stderr and not os.path.exists(os.path.join(d, "G.ts.pt")),
                   f"python -m cyclegan_dist.export refuses format {fmt!r} (exit {cli.returncode}): {our_lines(cli.stderr)}")

    # The command line: TorchScript needs only torch; ONNX asks for its packages.
    probe = torch.load(os.path.join(seed, "probe.pt"))
    ts_file = os.path.join(args.work, "F_BtoA.ts.pt")
    cli = subprocess.run([sys.executable, "-m", "cyclegan_dist.export", seed, "--direction", "BtoA",
                          "--torchscript", ts_file], capture_output=True, text=True)
    print(cli.stdout + (our_lines(cli.stderr) if cli.returncode == 0 else cli.stderr))
    soft_check(cli.returncode == 0, "python -m cyclegan_dist.export --direction BtoA --torchscript")
    if cli.returncode == 0:
        extra = {"cyclegan_dist.json": ""}
        module = torch.jit.load(ts_file, _extra_files=extra)
        with torch.no_grad():
            error = max_error(module(probe["b"]), probe["f_b"])
        soft_check(error <= 1e-5 and json.loads(extra["cyclegan_dist.json"])["direction"] == "BtoA",
                   f"the TorchScript F (direction BtoA in its metadata): max |torchscript - c++| = {error:.2e}")
    cli = subprocess.run([sys.executable, "-m", "cyclegan_dist.export", seed, "--onnx",
                          os.path.join(args.work, "G.onnx")], capture_output=True, text=True)
    soft_check(cli.returncode == 2 and "pip install onnx onnxscript" in our_lines(cli.stderr),
               f"--onnx without the onnx package: exit {cli.returncode}: {our_lines(cli.stderr)}")
    finish_soft_checks()


if __name__ == "__main__":
    main()
