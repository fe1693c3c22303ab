"""Loads the generators that cyclegan_translate --export-pytorch wrote (see
pytorch_export_test.cpp) the way a PyTorch user would: cyclegan_dist.load_exported (this
checkout's python/ package: model.json -> module, torch.load with weights_only,
load_state_dict(strict=True)), then checks their outputs on the probe inputs against the
C++ outputs to 1e-5.

  python check_export.py EXPORT_DIR CASE...   (the first CASE has transposed upsampling)
"""
import json
import os
import shutil
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import cyclegan_dist  # noqa: E402
from e2e_util import finish_soft_checks, soft_check  # noqa: E402


def main():
    root, cases = sys.argv[1], sys.argv[2:]
    for case in cases:
        d = os.path.join(root, case)
        probe = torch.load(os.path.join(d, "probe.pt"))
        # The case name's upsampling (seed_nearest, paper_bilinear; transposed without one).
        upsample = case.split("_")[1] if "_" in case else "transposed"
        soft_check(cyclegan_dist.generator_info(d).arguments.get("upsample") == upsample,
                   f"{case}: model.json says upsample {upsample}")
        for direction, inputs, outputs in (("AtoB", ("a", "a_wide"), ("g_a", "g_a_wide")), ("BtoA", ("b",), ("f_b",))):
            net = cyclegan_dist.load_exported(d, direction)
            with torch.no_grad():
                for x, y in zip(inputs, outputs):
                    got = net(probe[x])
                    err = (got - probe[y]).abs().max().item()
                    soft_check(got.shape == probe[y].shape and err <= 1e-5,
                               f"{case} {direction} {x}: shape {tuple(got.shape)}, max |python - c++| = {err:.2e}")
    # An export written before --upsample existed has no "upsample" argument: transposed.
    old = os.path.join(os.path.dirname(os.path.abspath(root)), "export_without_upsample")
    shutil.rmtree(old, ignore_errors=True)
    shutil.copytree(os.path.join(root, cases[0]), old)
    with open(os.path.join(old, "model.json")) as f:
        description = json.load(f)
    del description["arguments"]["upsample"]
    with open(os.path.join(old, "model.json"), "w") as f:
        json.dump(description, f)
    probe = torch.load(os.path.join(old, "probe.pt"))
    with torch.no_grad():
        err = (cyclegan_dist.load_exported(old, "AtoB")(probe["a"]) - probe["g_a"]).abs().max().item()
    soft_check(err <= 1e-5, f"{cases[0]} without 'upsample' in model.json loads as transposed: "
                            f"max |python - c++| = {err:.2e}")
    finish_soft_checks()


if __name__ == "__main__":
    main()
