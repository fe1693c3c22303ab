"""Loads the generators that cyclegan_translate --export-pytorch wrote (see
pytorch_export_test.cpp) the way a PyTorch user would: cyclegan_dist.load_exported (this
checkout's python/ package: model.json -> module, torch.load with weights_only,
load_state_dict(strict=True)), then checks their outputs on the probe inputs against the
C++ outputs to 1e-5.

  python check_export.py EXPORT_DIR CASE...
"""
import os
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
        for direction, inputs, outputs in (("AtoB", ("a", "a_wide"), ("g_a", "g_a_wide")), ("BtoA", ("b",), ("f_b",))):
            net = cyclegan_dist.load_exported(d, direction)
            with torch.no_grad():
                for x, y in zip(inputs, outputs):
                    got = net(probe[x])
                    err = (got - probe[y]).abs().max().item()
                    soft_check(got.shape == probe[y].shape and err <= 1e-5,
                               f"{case} {direction} {x}: shape {tuple(got.shape)}, max |python - c++| = {err:.2e}")
    finish_soft_checks()


if __name__ == "__main__":
    main()
