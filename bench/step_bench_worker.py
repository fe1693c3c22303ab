"""One Python contender of bench/step_bench: the reference training step of
tests/reference/cyclegan_ref.py (the same nets and step as src/train/trainer.cpp), eager or
with its four nets under torch.compile (inductor). Same protocol as step_bench_worker.cpp:

  python step_bench_worker.py --preset P --size S --batch B --threads T [--device D] [--compile]

prints "ready <json>" once set up and one step taken ({"flops": FLOPs of one step (0
under --compile), "first_step_s": seconds of that step, compilation included}), then answers "run SECONDS" with
"done <steps> <seconds>" and stops at "quit".
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import cyclegan_ref as ref  # noqa: E402


def step_flops(trainer, a, b):
    """FLOPs of one step as torch counts them (convolutions and matmuls, forward+backward)."""
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with counter:
        trainer.step(a, b)
    return counter.get_total_flops()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=sorted(ref.PRESETS), required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit(f"step_bench_worker.py: --device {args.device}: torch {torch.__version__} sees no CUDA device")

    p = dict(ref.PRESETS[args.preset])
    torch.manual_seed(0)
    net = ref.CycleGan(p)
    ref.init_weights(net)
    net.to(device)
    gen = torch.Generator().manual_seed(0)
    a = ref.random_images(args.batch, p["ch_a"], args.size, p["activation"], gen).to(device)
    b = ref.random_images(args.batch, p["ch_b"], args.size, p["activation"], gen).to(device)
    # The learning rate stays at its first value, as in the C++ worker.
    trainer = ref.Trainer(net, p, 0, total_steps=1 << 30)
    # The reference makes its zero identity losses with torch.zeros(()): on the device.
    torch.set_default_device(device)
    flops = 0

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    if args.compile:
        # What a PyTorch user does for speed: compile the modules (forward and, through
        # AOTAutograd, backward); the optimizers, the pool and the loss sums stay eager.
        for name in ("G", "F", "D_A", "D_B"):
            setattr(net, name, torch.compile(getattr(net, name)))
    # The first step (compilation under --compile; else the FLOP count's step) warms up.
    start = time.perf_counter()
    if args.compile:
        trainer.step(a, b)
    else:
        flops = step_flops(trainer, a, b)
    sync()
    first = time.perf_counter() - start
    print("ready " + json.dumps({"flops": flops, "first_step_s": first}), flush=True)

    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        seconds = float(words[1])
        sync()
        start = time.perf_counter()
        steps = 0
        while True:
            trainer.step(a, b)
            steps += 1
            sync()
            elapsed = time.perf_counter() - start
            if elapsed >= seconds:
                break
        print(f"done {steps} {elapsed:.6f}", flush=True)


if __name__ == "__main__":
    main()
