"""Expected data-parallel step time of both presets on 8-GPU nodes, from the compute of one
training step and an all-reduce model; the tables of launch/SCALING.md come from here.

  python bench/scaling_model.py [--step-ms PRESET=MS ...] [--gpu-tflops T] [--efficiency E]

What it measures, on this machine, with the reference nets of tests/reference/cyclegan_ref.py
(the same layers as src/model, checked against them by the reference tests):
  * gradient bytes: the trainable parameters of G+F, D_A and D_B (float32), cut into
    buckets the way src/parallel/gradient_reducer.cpp does (reverse order, 1 MiB first bucket,
    then --bucket-mb);
  * FLOPs of one training step per image pair (torch.utils.flop_counter on the real step:
    both D updates, the generator update, forward and backward), and the number of
    operators it runs (each is at least one GPU kernel launch).
What it assumes (flags, defaults cited in SCALING.md): GPU throughput and efficiency, the
kernel-launch floor, all-reduce bus bandwidth and per-call latency inside a node (NVLink)
and between nodes (InfiniBand), and how much of each reducer's traffic overlap can hide.
A compute time measured on a real GPU (scripts/gpu_check prints it) replaces the estimate
with --step-ms.
"""
import argparse
import math
import os
import sys

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import cyclegan_ref as ref  # noqa: E402

PRESETS = {  # preset: (image size, batch per GPU, image size the FLOPs are counted at)
    "cifar-colorize": (32, 32, 32),
    "paper-256": (256, 1, 64),  # conv FLOPs grow with the pixel count: counted at 64, x16
}


class OpCounter(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.ops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops += 1
        return func(*args, **(kwargs or {}))


def measure(preset):
    size, batch, counted_at = PRESETS[preset]
    p = dict(ref.PRESETS[preset])
    torch.manual_seed(0)
    net = ref.CycleGan(p, n_blocks=9)
    ref.init_weights(net)
    trainer = ref.Trainer(net, p, 0, total_steps=10)
    gen = torch.Generator().manual_seed(0)
    a = ref.random_images(batch, p["ch_a"], counted_at, p["activation"], gen)
    b = ref.random_images(batch, p["ch_b"], counted_at, p["activation"], gen)
    trainer.step(a, b)  # the image pool and optimizer state fill on the first step
    flops = FlopCounterMode(display=False)
    with flops:
        trainer.step(a, b)
    ops = OpCounter()
    with ops:
        trainer.step(a, b)
    groups = {"G+F": list(ref.trainable(net.G)) + list(ref.trainable(net.F)),
              "D_A": list(ref.trainable(net.D_A)), "D_B": list(ref.trainable(net.D_B))}
    return {
        "size": size, "batch": batch,
        "flops": flops.get_total_flops() * (size / counted_at) ** 2,
        "ops": ops.ops,
        "params": {k: [q.numel() * 4 for q in v] for k, v in groups.items()},
    }


def buckets(param_bytes, bucket_bytes, first_bytes=1 << 20):
    """Bucket sizes in launch order, as GradientReducer packs them."""
    out, current, limit = [], 0, first_bytes
    for nbytes in reversed(param_bytes):
        current += nbytes
        if current >= limit:
            out.append(current)
            current, limit = 0, bucket_bytes
    if current:
        out.append(current)
    return out


def allreduce_seconds(nbytes, gpus, nodes, args):
    """Ring all-reduce: per-call latency + 2(n-1)/n * bytes / busbw (nccl-tests' busbw)."""
    if gpus == 1:
        return 0.0
    if nodes == 1:
        latency, busbw = args.intra_latency_us * 1e-6, args.intra_busbw * 1e9
    else:
        latency = args.inter_latency_us * 1e-6 * max(1, math.ceil(math.log2(nodes)))
        busbw = args.inter_busbw * 1e9
    return latency + 2 * (gpus - 1) / gpus * nbytes / busbw


def step_time(m, compute, gpus, nodes, args):
    """Compute + the communication overlap does not hide. Each reducer's buckets before its
    last one overlap the rest of its backward pass (the window: a share of the step, the
    generators' backward being most of it); its last bucket is launched when backward ends."""
    windows = {"G+F": args.window_g, "D_A": args.window_d, "D_B": args.window_d}
    exposed = 0.0
    for group, sizes in m["params"].items():
        times = [allreduce_seconds(s, gpus, nodes, args) for s in buckets(sizes, args.bucket_mb << 20)]
        exposed += max(times[-1], sum(times) - windows[group] * compute)
    return compute + exposed, exposed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--step-ms", action="append", default=[], metavar="PRESET=MS",
                        help="a compute time per step measured on one GPU (replaces the estimate)")
    parser.add_argument("--gpu-tflops", type=float, default=494.0, help="H100 SXM dense TF32 tensor TFLOPS")
    parser.add_argument("--efficiency", type=float, default=0.25, help="share of --gpu-tflops sustained")
    parser.add_argument("--launch-us", type=float, default=5.0, help="GPU time floor per operator")
    parser.add_argument("--intra-busbw", type=float, default=476.0, help="GB/s, 8 GPUs over NVLink")
    parser.add_argument("--intra-latency-us", type=float, default=25.0)
    parser.add_argument("--inter-busbw", type=float, default=368.0, help="GB/s, 8 x 400 Gb/s NICs per node")
    parser.add_argument("--inter-latency-us", type=float, default=50.0, help="per all-reduce, x log2(nodes)")
    parser.add_argument("--bucket-mb", type=int, default=25)
    parser.add_argument("--window-g", type=float, default=0.5, help="share of the step G+F buckets overlap")
    parser.add_argument("--window-d", type=float, default=0.05, help="share of the step each D's buckets overlap")
    parser.add_argument("--gpus-per-node", type=int, default=8)
    parser.add_argument("--nodes", default="1,2,4,16")
    args = parser.parse_args()
    measured = dict(s.split("=") for s in args.step_ms)
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    for preset in PRESETS:
        m = measure(preset)
        grad_bytes = sum(sum(v) for v in m["params"].values())
        flops_step = m["flops"]
        estimate = max(flops_step / (args.gpu_tflops * 1e12 * args.efficiency), m["ops"] * args.launch_us * 1e-6)
        compute = float(measured[preset]) / 1e3 if preset in measured else estimate
        print(f"\n{preset}: {m['size']}x{m['size']}, batch {m['batch']} per GPU; "
              f"{flops_step / 1e9:.1f} GFLOP and {m['ops']} operators per step; "
              f"gradients {grad_bytes / 1e6:.1f} MB (" +
              ", ".join(f"{k} {sum(v) / 1e6:.1f} MB in {len(buckets(v, args.bucket_mb << 20))} bucket(s)"
                        for k, v in m["params"].items()) + ")")
        source = "given with --step-ms" if preset in measured else (
            "estimated: max(FLOPs / (%.0f TFLOPS x %.2f), %d operators x %.0f us)"
            % (args.gpu_tflops, args.efficiency, m["ops"], args.launch_us))
        print(f"compute per step on one GPU: {compute * 1e3:.2f} ms ({source})")
        print(f"| {'GPUs':>5} | {'nodes':>5} | {'all-reduce ms':>13} | {'exposed ms':>10} | "
              f"{'step ms':>8} | {'pairs/s':>9} | {'efficiency':>10} |")
        print(f"|{'-' * 7}|{'-' * 7}|{'-' * 15}|{'-' * 12}|{'-' * 10}|{'-' * 11}|{'-' * 12}|")
        one = m["batch"] / compute
        for nodes in [int(n) for n in args.nodes.split(",")]:
            gpus = nodes * args.gpus_per_node
            step, exposed = step_time(m, compute, gpus, nodes, args)
            total = sum(allreduce_seconds(s, gpus, nodes, args)
                        for v in m["params"].values() for s in buckets(v, args.bucket_mb << 20))
            ips = gpus * m["batch"] / step
            print(f"| {gpus:5d} | {nodes:5d} | {total * 1e3:13.2f} | {exposed * 1e3:10.2f} | {step * 1e3:8.2f} | "
                  f"{ips:9.0f} | {ips / (gpus * one):9.0%} |")


if __name__ == "__main__":
    main()
