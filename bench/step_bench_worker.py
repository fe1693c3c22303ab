"""One Python contender of bench/step_bench, on the nets of tests/reference/cyclegan_ref.py
(the same nets as src/model): the reference training step (cyclegan_ref.Trainer: the C++
step mirrored, GradScalers and autocast contexts included) or --plain, the same losses and
update order written as a PyTorch user writes them (the official pytorch-CycleGAN-and-pix2pix
style: no scaler or autocast wrappers in fp32, torch.optim's default paths, no per-step
bookkeeping), eager or with the four nets under torch.compile (inductor). Same protocol as
step_bench_worker.cpp:

  python step_bench_worker.py --preset P --size S --batch B --threads T [--device D]
                              [--precision fp32|bf16] [--plain] [--compile]

prints "ready <json>" once set up and one step taken ({"flops": FLOPs of one step (0
under --compile), "first_step_s": seconds of that step, compilation included}), then answers
"run SECONDS" with "done <steps> <seconds>" and stops at "quit".

  python step_bench_worker.py --check-plain [--device D]

runs 3 steps of both steps from the same weights and batches for both presets and exits 1
unless every loss and final weight agrees to 1e-5 (the plain step computes what the
reference computes).
"""
import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import cyclegan_ref as ref  # noqa: E402


class PlainStep:
    """The CycleGAN step as a PyTorch user writes it (the official implementation's style):
    D_B, D_A, then G and F with the discriminators frozen; the same losses, weights, pools
    and optimizers as the reference, without its wrappers. bf16: the forwards under
    torch.autocast, as PyTorch's AMP recipe writes it (no scaler: bf16 needs none)."""

    def __init__(self, net, p, precision="fp32"):
        self.net, self.lam = net, 10.0
        self.identity = p["identity"] if p["ch_a"] == p["ch_b"] else 0.0
        self.amp = dict(device_type=next(net.parameters()).device.type,
                        dtype=ref.AUTOCAST_DTYPES.get(precision), enabled=precision != "fp32")

        def make(params, lr):
            if p["optimizer"] == "adam":
                return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999))
            return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-7)

        self.opt_g = make(ref.trainable(net.G) + ref.trainable(net.F), p["lr_g"])
        self.opt_d_a = make(ref.trainable(net.D_A), p["lr_d"])
        self.opt_d_b = make(ref.trainable(net.D_B), p["lr_d"])
        self.d_params = ref.trainable(net.D_A) + ref.trainable(net.D_B)
        # The reference's pools (its seeds): the same fakes reach the discriminators.
        self.pool_a = ref.ImagePool(p["pool"], ref.mix_seed(0, 0x9001))
        self.pool_b = ref.ImagePool(p["pool"], ref.mix_seed(0, 0x9002))
        self.gan = torch.nn.MSELoss()
        self.cycle = torch.nn.L1Loss()

    def d_loss(self, d, real, fake):
        pred_real, pred_fake = d(real), d(fake)
        return (self.gan(pred_real, torch.ones_like(pred_real)) +
                self.gan(pred_fake, torch.zeros_like(pred_fake))) * 0.5

    def step(self, real_a, real_b):
        net = self.net
        with torch.autocast(**self.amp):
            fake_b = net.G(real_a)
            fake_a = net.F(real_b)
        self.opt_d_b.zero_grad()
        with torch.autocast(**self.amp):
            loss_d_b = self.d_loss(net.D_B, real_b, self.pool_b.query(fake_b.detach().float()))
        loss_d_b.backward()
        self.opt_d_b.step()
        self.opt_d_a.zero_grad()
        with torch.autocast(**self.amp):
            loss_d_a = self.d_loss(net.D_A, real_a, self.pool_a.query(fake_a.detach().float()))
        loss_d_a.backward()
        self.opt_d_a.step()

        for param in self.d_params:
            param.requires_grad_(False)
        self.opt_g.zero_grad()
        with torch.autocast(**self.amp):
            pred_b, pred_a = net.D_B(fake_b), net.D_A(fake_a)
            loss_g_adv = self.gan(pred_b, torch.ones_like(pred_b))
            loss_f_adv = self.gan(pred_a, torch.ones_like(pred_a))
            loss_cycle_a = self.cycle(net.F(fake_b), real_a) * self.lam
            loss_cycle_b = self.cycle(net.G(fake_a), real_b) * self.lam
            loss_g = loss_g_adv + loss_f_adv + loss_cycle_a + loss_cycle_b
            if self.identity > 0:
                loss_g = (loss_g + self.cycle(net.F(real_a), real_a) * self.identity +
                          self.cycle(net.G(real_b), real_b) * self.identity)
        loss_g.backward()
        self.opt_g.step()
        for param in self.d_params:
            param.requires_grad_(True)
        return [loss_d_a, loss_d_b, loss_g_adv, loss_f_adv, loss_cycle_a, loss_cycle_b, loss_g]


def make_step(p, args, device, plain):
    torch.manual_seed(0)
    net = ref.CycleGan(p)
    ref.init_weights(net)
    net.to(device)
    if plain:
        return net, PlainStep(net, p, args.precision)
    # The learning rate stays at its first value, as in the C++ worker.
    return net, ref.Trainer(net, p, 0, total_steps=1 << 30, precision=args.precision)


def step_flops(trainer, a, b):
    """FLOPs of one step as torch counts them (convolutions and matmuls, forward+backward)."""
    from torch.utils.flop_counter import FlopCounterMode
    counter = FlopCounterMode(display=False)
    with counter:
        trainer.step(a, b)
    return counter.get_total_flops()


def check_plain(args, device):
    """Both steps, 3 steps from the same weights and batches: losses and weights to 1e-5."""
    worst = 0.0
    for preset in ("cifar-colorize", "paper-256"):
        p = dict(ref.PRESETS[preset])
        p["pool"] = min(p["pool"], 2)  # the paper's pool of 50 would not fill in 3 steps
        nets, steps = [], []
        for plain in (False, True):
            net, step = make_step(p, args, device, plain)
            nets.append(net)
            steps.append(step)
        gen = torch.Generator().manual_seed(7)
        for k in range(3):
            a = ref.random_images(2, p["ch_a"], 32, p["activation"], gen).to(device)
            b = ref.random_images(2, p["ch_b"], 32, p["activation"], gen).to(device)
            reference = steps[0].step(a, b)[[0, 1, 2, 3, 4, 5, 8]]
            plain = torch.stack([x.detach().double() for x in steps[1].step(a, b)])
            diff = (reference - plain).abs().max().item()
            print(f"{preset} step {k}: losses {plain.tolist()}, max difference {diff:.3g}")
            worst = max(worst, diff)
        for (name, x), y in zip(nets[0].state_dict().items(), nets[1].state_dict().values()):
            worst = max(worst, (x - y).abs().max().item())
    print(f"check-plain: largest difference (losses and final weights) {worst:.3g}")
    return 0 if worst <= 1e-5 else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=sorted(ref.PRESETS))
    parser.add_argument("--size", type=int)
    parser.add_argument("--batch", type=int)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--plain", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--check-plain", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit(f"step_bench_worker.py: --device {args.device}: torch {torch.__version__} sees no CUDA device")
    # The reference makes its zero identity losses with torch.zeros(()): on the device.
    torch.set_default_device(device)
    if args.check_plain:
        sys.exit(check_plain(args, device))
    if args.preset is None or args.size is None or args.batch is None:
        parser.error("--preset, --size and --batch are required")

    p = dict(ref.PRESETS[args.preset])
    net, trainer = make_step(p, args, device, args.plain)
    gen = torch.Generator().manual_seed(0)
    a = ref.random_images(args.batch, p["ch_a"], args.size, p["activation"], gen).to(device)
    b = ref.random_images(args.batch, p["ch_b"], args.size, p["activation"], gen).to(device)
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
