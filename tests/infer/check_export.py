"""Loads the generators that cyclegan_translate --export-pytorch wrote (see
pytorch_export_test.cpp) the way a PyTorch user would: torch.load (weights_only, the
default) into the reference modules of tests/reference/cyclegan_ref.py with
load_state_dict(strict=True), then checks their outputs on the probe inputs against the
C++ outputs to 1e-5.

  python check_export.py EXPORT_DIR CASE...
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "reference"))
import cyclegan_ref as ref  # noqa: E402


def build(description, which):
    a = description["arguments"]
    io = description[which]
    if description["generator"] == "UnetGenerator":
        return ref.UnetGenerator(io["in_channels"], io["out_channels"], enc=tuple(a["enc"]), dec=tuple(a["dec"]),
                                 k=a["k"], activation=a["activation"])
    return ref.ResnetGenerator(io["in_channels"], io["out_channels"], ngf=a["ngf"], n_blocks=a["n_blocks"],
                               activation=a["activation"])


def main():
    root, cases = sys.argv[1], sys.argv[2:]
    failures = 0
    for case in cases:
        d = os.path.join(root, case)
        description = json.load(open(os.path.join(d, "model.json")))
        probe = torch.load(os.path.join(d, "probe.pt"))
        for which, inputs, outputs in (("G_AtoB", ("a", "a_wide"), ("g_a", "g_a_wide")), ("F_BtoA", ("b",), ("f_b",))):
            net = build(description, which)
            state = torch.load(os.path.join(d, description[which]["file"]))
            net.load_state_dict(state, strict=True)
            net.eval()
            with torch.no_grad():
                for x, y in zip(inputs, outputs):
                    got = net(probe[x])
                    err = (got - probe[y]).abs().max().item()
                    ok = got.shape == probe[y].shape and err <= 1e-5
                    failures += not ok
                    print(f"{case} {which} {x}: shape {tuple(got.shape)}, max |python - c++| = {err:.2e}"
                          f" {'ok' if ok else 'FAIL'}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
