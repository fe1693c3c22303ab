"""The errors of `python -m cyclegan_dist.export`, end to end.

Trains a seed model for two steps, exports it with cyclegan_translate --export-pytorch, then
runs the command line (this checkout's python/ package) on bad flags, bad inputs and
outputs that cannot be written. Each must exit with its code (2: flag, value or input
directory; 1: an output that cannot be written) and one line on stderr naming the flag or
file, print no "wrote", and leave neither the output nor a temporary file behind. Then the
default export and one of another opset must write files of that opset that onnxruntime
runs with the PyTorch module's results, replacing an older file at the path.

  python export_cli_e2e.py --cyclegan-dist X --translate X --work DIR
"""
import argparse
import os
import resource
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(REPO, "python"))

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import torch  # noqa: E402

from e2e_util import check, run  # noqa: E402
import cyclegan_dist  # noqa: E402
from cyclegan_dist.export import DEFAULT_OPSET, supported_opsets  # noqa: E402

OTHER_OPSET = 20  # native to the exporter (no conversion) and read by onnxruntime >= 1.17
FILE_LIMIT = 1 << 20  # RLIMIT_FSIZE of the "disk full" cases: below either file's size


def export(args, file_limit=None):
    """Runs the command line; file_limit: RLIMIT_FSIZE in bytes (Python ignores SIGXFSZ, so
    a write past it fails with EFBIG as on a full disk)."""
    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, "python"))
    return subprocess.run([sys.executable, "-m", "cyclegan_dist.export"] + args, capture_output=True, text=True,
                          env=env, preexec_fn=limit if file_limit else None)


def expect_error(name, args, code, words, out_dir, paths=()):
    """Runs a case that must fail: exit `code`, one stderr line holding each of `words`, no
    "wrote", nothing new in `out_dir` (no output, no temporary) and none of `paths`."""
    before = sorted(os.listdir(out_dir)) if out_dir else []
    result = export(args)
    lines = result.stderr.splitlines()
    shown = f"{name}: exit {result.returncode}, stderr {result.stderr[-2000:]!r}"
    check(result.returncode == code, f"{shown}: expected exit {code}")
    check(len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr,
          f"{shown}: expected one line 'error: ...'")
    missing = [w for w in words if w not in lines[0]]
    check(not missing, f"{shown}: the line does not name {missing}")
    check("wrote" not in result.stdout, f"{name}: stdout says {result.stdout!r}")
    if out_dir:
        after = sorted(os.listdir(out_dir))
        check(after == before, f"{name}: {out_dir} held {before}, holds {after} after the failed export")
    left = [p for p in paths if os.path.lexists(p)]
    check(not left, f"{name}: left {left}")
    print(f"ok    {name}: exit {code}: {lines[0]}", flush=True)


def expect_written(name, args, onnx_file, opset, module, c_in, ts_file=None):
    """Runs a case that must succeed and checks the ONNX file's opset and outputs."""
    result = export(args)
    check(result.returncode == 0, f"{name}: exit {result.returncode}: {result.stderr[-3000:]}")
    check(f"wrote {onnx_file} (opset {opset})" in result.stdout, f"{name}: stdout {result.stdout!r}")
    model = onnx.load(onnx_file)
    versions = {o.domain: o.version for o in model.opset_import}
    check(versions.get("", versions.get("ai.onnx")) == opset, f"{name}: {onnx_file} imports opsets {versions}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(onnx_file, options, providers=["CPUExecutionProvider"])
    x = torch.rand(2, c_in, 16, 24, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = module(x).numpy()
    y = session.run(None, {session.get_inputs()[0].name: x.numpy()})[0]
    error = float(np.abs(y - expected).max()) if y.shape == expected.shape else float("inf")
    check(error <= 1e-4, f"{name}: onnxruntime output {y.shape}, max |onnx - torch| = {error:.2e}")
    if ts_file:
        check(f"wrote {ts_file}" in result.stdout, f"{name}: stdout {result.stdout!r}")
        with torch.no_grad():
            ts_error = float((torch.jit.load(ts_file)(x) - torch.from_numpy(expected)).abs().max())
        check(ts_error <= 1e-5, f"{name}: max |torchscript - torch| = {ts_error:.2e}")
    print(f"ok    {name}: opset {opset}, onnxruntime matches torch to {error:.1e}", flush=True)


def main():
    parser = argparse.ArgumentParser()
    for flag in ("--cyclegan-dist", "--translate", "--work"):
        parser.add_argument(flag, required=True)
    args = parser.parse_args()
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    run_dir, export_dir = os.path.join(work, "run"), os.path.join(work, "export")
    # cifar-colorize (the seed preset): G is 1 -> 3 channels and F 3 -> 1, so swapped files
    # do not fit (the paper preset's G and F have the same shapes).
    run([args.cyclegan_dist, "--preset", "cifar-colorize", "--data", "synthetic", "--synthetic-images", "8",
         "--image-size", "32", "--batch-size", "2", "--steps", "2", "--threads", "1", "--run-dir", run_dir,
         "--tensorboard", "false", "--sample-every", "0"])
    run([args.translate, "--checkpoint", run_dir, "--export-pytorch", export_dir])
    info = cyclegan_dist.generator_info(export_dir, "AtoB")
    check(info.in_channels != info.out_channels, f"G is {info.in_channels} -> {info.out_channels} channels")
    lo, hi = supported_opsets()
    print(f"export of {info.generator} {info.in_channels} -> {info.out_channels} channels; "
          f"opsets {lo} to {hi}", flush=True)

    out = os.path.join(work, "out")  # every failing case writes here; it must stay empty
    os.makedirs(out)

    def variant(name, change):
        d = os.path.join(work, name)
        shutil.copytree(export_dir, d)
        change(d)
        return d

    def truncate(d):
        path = os.path.join(d, "G_AtoB.pt")
        with open(path, "rb") as f:
            data = f.read()
        with open(path, "wb") as f:
            f.write(data[:len(data) // 2])

    def swap(d):
        g, f = os.path.join(d, "G_AtoB.pt"), os.path.join(d, "F_BtoA.pt")
        os.rename(g, g + ".x")
        os.rename(f, g)
        os.rename(g + ".x", f)

    def foreign(d):
        torch.save(torch.nn.Conv2d(3, 8, 3).state_dict(), os.path.join(d, "G_AtoB.pt"))

    truncated, swapped, other = variant("truncated", truncate), variant("swapped", swap), variant("foreign", foreign)
    regular_file = os.path.join(work, "regular_file")
    open(regular_file, "w").close()
    existing_dir = os.path.join(work, "existing_dir")
    os.makedirs(existing_dir)
    o = os.path.join(out, "G.onnx")
    ts = os.path.join(out, "G.ts.pt")

    # Flags and values: exit 2.
    for opset in (5, 99, lo - 1, hi + 1):
        expect_error(f"--opset {opset}", [export_dir, "--onnx", o, "--opset", str(opset)], 2,
                     ["--opset", str(opset), f"{lo} to {hi}"], out)
    expect_error("--opset x", [export_dir, "--onnx", o, "--opset", "x"], 2, ["--opset", "'x'"], out)
    expect_error("no output", [export_dir], 2, ["--onnx", "--torchscript"], out)
    expect_error("one file for both", [export_dir, "--onnx", o, "--torchscript", o], 2, ["--onnx", "--torchscript", o], out)
    # Input: exit 2, naming the directory or file.
    missing_dir = os.path.join(work, "no_such_export")
    expect_error("missing directory", [missing_dir, "--onnx", o], 2, [missing_dir], out)
    expect_error("truncated G_AtoB.pt", [truncated, "--onnx", o], 2, [os.path.join(truncated, "G_AtoB.pt")], out)
    expect_error("swapped G/F (AtoB)", [swapped, "--onnx", o], 2, [os.path.join(swapped, "G_AtoB.pt"), "swapped"], out)
    expect_error("swapped G/F (BtoA)", [swapped, "--direction", "BtoA", "--torchscript", ts], 2,
                 [os.path.join(swapped, "F_BtoA.pt"), "swapped"], out)
    expect_error("G_AtoB.pt of another model", [other, "--torchscript", ts], 2, [os.path.join(other, "G_AtoB.pt")], out)
    # Outputs that cannot be written: exit 1, naming the flag and the path.
    under_file = os.path.join(regular_file, "G.onnx")
    expect_error("--onnx under a regular file", [export_dir, "--onnx", under_file], 1, ["--onnx", under_file], None)
    expect_error("--onnx in a missing folder", [export_dir, "--onnx", os.path.join(work, "no_dir", "G.onnx")], 1,
                 ["--onnx", os.path.join(work, "no_dir", "G.onnx")], None, [os.path.join(work, "no_dir")])
    expect_error("--torchscript onto a directory", [export_dir, "--torchscript", existing_dir], 1,
                 ["--torchscript", existing_dir], existing_dir)
    check(os.path.isdir(existing_dir), "the directory given to --torchscript is still a directory")
    expect_error("--onnx and --torchscript, --onnx onto a directory",
                 [export_dir, "--torchscript", ts, "--onnx", existing_dir], 1, ["--onnx", existing_dir], out)
    if os.geteuid() != 0:
        read_only = os.path.join(work, "read_only")
        os.makedirs(read_only)
        os.chmod(read_only, 0o555)
        expect_error("--onnx in a read-only folder", [export_dir, "--onnx", os.path.join(read_only, "G.onnx")], 1,
                     ["--onnx", read_only, "Permission denied"], read_only)
    else:
        # chmod does not stop root; sysfs refuses to create files for anyone.
        try:
            open("/sys/cyclegan_dist_probe", "w").close()
            os.unlink("/sys/cyclegan_dist_probe")
            print("skip  --onnx in a read-only folder: root may create files in /sys here")
        except OSError:
            expect_error("--onnx in a read-only folder (/sys, as root)", [export_dir, "--onnx", "/sys/G.onnx"], 1,
                         ["--onnx", "/sys/G.onnx"], None, ["/sys/G.onnx"])
    # A write that fails half-way (as on a full disk): exit 1, no partial file, no temporary.
    for flag, path in (("--onnx", o), ("--torchscript", ts)):
        name = f"{flag} past RLIMIT_FSIZE"
        result = export([export_dir, flag, path], file_limit=FILE_LIMIT)
        lines = result.stderr.splitlines()
        check(result.returncode == 1 and len(lines) == 1 and flag in lines[0] and path in lines[0]
              and "Traceback" not in result.stderr and "wrote" not in result.stdout,
              f"{name}: exit {result.returncode}, stdout {result.stdout!r}, stderr {result.stderr[-2000:]!r}")
        check(os.listdir(out) == [], f"{name}: left {os.listdir(out)}")
        print(f"ok    {name}: exit 1: {lines[0]}", flush=True)

    # Good: the default opset with TorchScript beside it, over an older file; another opset.
    module = cyclegan_dist.load_exported(export_dir, "AtoB")
    with open(o, "w") as f:
        f.write("an older file")
    expect_written(f"default (opset {DEFAULT_OPSET}) + --torchscript", [export_dir, "--onnx", o, "--torchscript", ts],
                   o, DEFAULT_OPSET, module, info.in_channels, ts)
    o_other = os.path.join(out, f"G.opset{OTHER_OPSET}.onnx")
    expect_written(f"--opset {OTHER_OPSET}", [export_dir, "--onnx", o_other, "--opset", str(OTHER_OPSET)],
                   o_other, OTHER_OPSET, module, info.in_channels)
    left = sorted(set(os.listdir(out)) - {"G.onnx", "G.ts.pt", os.path.basename(o_other)})
    check(not left, f"temporary files left beside the outputs: {left}")
    print("all checks passed")


if __name__ == "__main__":
    main()
