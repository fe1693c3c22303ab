"""Reference for src/model/autocast: the forwards of both presets' networks in fp32 and
under torch.autocast("cpu", dtype=bfloat16 / float16), on the same torch wheel.

  python autocast_ref.py OUT    write the reference file tests/model/autocast_test.cpp reads

Per preset: the initial weights (init/<state_dict key>), inputs a and b, and for each
precision p in fp32, bf16, fp16: G(a), F(b), D_A(a), D_B(b) as float32 (<p>/G ...).
"""
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cyclegan_ref import PRESETS, CycleGan, init_weights, random_images  # noqa: E402

# preset: (image size, batch, ResNet blocks); the paper preset at 32x32 keeps the
# CPU's emulated bf16/fp16 convolutions to seconds.
CASES = {"cifar-colorize": (32, 4, 9), "paper-256": (32, 1, 9)}
DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def main():
    torch.set_num_threads(1)
    out = {}
    for name, (size, batch, n_blocks) in CASES.items():
        p = PRESETS[name]
        torch.manual_seed(4321)
        net = CycleGan(p, n_blocks=n_blocks)
        init_weights(net)
        gen = torch.Generator().manual_seed(99)
        a = random_images(batch, p["ch_a"], size, p["activation"], gen)
        b = random_images(batch, p["ch_b"], size, p["activation"], gen)
        out[f"{name}/meta"] = torch.tensor([size, batch, n_blocks], dtype=torch.long)
        out[f"{name}/a"], out[f"{name}/b"] = a, b
        for key, value in net.state_dict().items():
            out[f"{name}/init/{key}"] = value.clone()
        with torch.no_grad():
            for precision in ["fp32", *DTYPES]:
                enabled = precision != "fp32"
                with torch.autocast("cpu", dtype=DTYPES.get(precision, torch.bfloat16), enabled=enabled):
                    results = {"G": net.G(a), "F": net.F(b), "D_A": net.D_A(a), "D_B": net.D_B(b)}
                for k, v in results.items():
                    out[f"{name}/{precision}/{k}"] = v.float()
                    out[f"{name}/{precision}/{k}_dtype_is_low"] = torch.tensor(v.dtype != torch.float32)
    torch.save(out, sys.argv[1])


if __name__ == "__main__":
    main()
