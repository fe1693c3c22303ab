#!/usr/bin/env python3
"""Quick screens of what sets the demo's colour level (issue 27), in Python.

Usage (with the project's Python, "$CYCLEGAN_VENV/bin/python", see scripts/env.sh):
  colour_screen.py [--set demo|photos2] [--seed N] [--steps 200] [--batch 16] [--cycle 30]
                   [--adv 1] [--fm 0] [--in-eps 1e-5] [--disc seed|patch] [--norm instance|none]

Trains the seed preset's nets (U-Net with bilinear upsampling, as scripts/demo's flags) with
the training step of tests/reference/cyclegan_ref.py, written out here so that its generator
loss can be changed:
  --adv W      weight of the adversarial terms in G's loss (0: cycle loss alone)
  --fm W       adds feature matching (Salimans et al. 2016): the squared difference of the
               batch means of each hidden layer of D, real against translated
  --in-eps E   the epsilon of every InstanceNorm in G and F (PyTorch's default 1e-5)
Every 50 steps it prints the colorfulness (Hasler and Suesstrunk, as bench/
colorfulness_spread.py) of G's colours on the input's luminance against the real colour
photographs', on the test split and on the first 500 training images ("tr"); at the end the
per-image 10th-90th percentiles and the correlations, image by image, of the colorizations'
colorfulness with the real photographs' and with the gray input's contrast (its standard
deviation), and that of the real photographs with the same contrast.

The batches are drawn at random with replacement (not the C++ loader's epochs), so the
figures follow cyclegan_dist's trajectories (within a few points at step 200 for the default
flags) without equalling them; about 100 s per run on 2 cores.
"""
import argparse
import os
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import cyclegan_ref as ref  # noqa: E402
from colorfulness_spread import colorfulness  # noqa: E402
from colorize_bound import gray, load  # noqa: E402


def parse():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", default="demo", choices=("demo", "photos2"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--every", type=int, default=50)
    ap.add_argument("--cycle", type=float, default=30.0)
    ap.add_argument("--adv", type=float, default=1.0)
    ap.add_argument("--fm", type=float, default=0.0)
    ap.add_argument("--in-eps", type=float, default=1e-5)
    ap.add_argument("--disc", default="seed", choices=("seed", "patch"))
    ap.add_argument("--norm", default="instance", choices=("instance", "none"))
    ap.add_argument("--threads", type=int, default=2)
    return ap.parse_args()


def hidden(d, x):
    """D's hidden convolution outputs (all but the last layer's scores)."""
    out = []
    for layer in d.model:
        x = layer(x)
        if isinstance(layer, nn.Conv2d):
            out.append(x)
    return out[:-1]


def feature_matching(d, real, fake):
    return sum(((r.detach().mean(0) - f.mean(0)) ** 2).mean()
               for r, f in zip(hidden(d, real), hidden(d, fake)))


class Screen:
    def __init__(self, args):
        self.args = args
        p = dict(generator="unet", discriminator=args.disc, ch_a=1, ch_b=3, activation="sigmoid",
                 optimizer="rmsprop", lr_g=1e-4, lr_d=2e-4, pool=0, identity=0.0, decay_start=1.0)
        self.net = ref.CycleGan(p, upsample="bilinear", unet_norm=args.norm)
        for m in (self.net.G, self.net.F, self.net.D_A, self.net.D_B):
            ref.init_weights(m)
        for m in list(self.net.G.modules()) + list(self.net.F.modules()):
            if isinstance(m, nn.InstanceNorm2d):
                m.eps = args.in_eps
        # The reference Trainer's optimizers (RMSprop as the seed preset) and D parameter list.
        self.trainer = ref.Trainer(self.net, p, args.seed, args.steps, lambda_cycle=args.cycle)

    def step(self, real_a, real_b):
        """The reference step (D_B, D_A, then G and F with the Ds frozen), G's loss reweighted."""
        n, t, a = self.net, self.trainer, self.args
        fake_b, fake_a = n.G(real_a), n.F(real_b)
        for d, opt, real, fake in ((n.D_B, t.opt_d_b, real_b, fake_b), (n.D_A, t.opt_d_a, real_a, fake_a)):
            opt.zero_grad()
            ((ref.adversarial(d(real), True) + ref.adversarial(d(fake.detach()), False)) * 0.5).backward()
            opt.step()
        for q in t.d_params:
            q.requires_grad_(False)
        t.opt_g.zero_grad()
        loss = (nn.functional.l1_loss(n.F(fake_b), real_a) + nn.functional.l1_loss(n.G(fake_a), real_b)) * a.cycle
        if a.adv:
            loss = loss + a.adv * (ref.adversarial(n.D_B(fake_b), True) + ref.adversarial(n.D_A(fake_a), True))
        if a.fm:
            loss = loss + a.fm * (feature_matching(n.D_B, real_b, fake_b) + feature_matching(n.D_A, real_a, fake_a))
        loss.backward()
        t.opt_g.step()
        for q in t.d_params:
            q.requires_grad_(True)

    def colorized(self, luma):
        """G's colours on the input's luminance (as cyclegan_translate --keep-luma), in [0, 1]."""
        with torch.no_grad():
            out = torch.cat([self.net.G(luma[i:i + 100]) for i in range(0, len(luma), 100)])
        return (out + luma - gray(out)).clamp(0, 1)


def colourfulness_of(images):  # (N, 3, H, W) in [0, 1] -> (N,) on the 0-255 scale
    return torch.from_numpy(colorfulness((images * 255).permute(0, 2, 3, 1).numpy()))


def correlation(x, y):
    return torch.corrcoef(torch.stack([x.double(), y.double()]))[0, 1].item()


def main():
    args = parse()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    data = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", args.set, "32x32")
    train_a, train_b = load(data, "A", "train"), load(data, "B", "train")
    test_a, test_b = load(data, "A", "test"), load(data, "B", "test")
    screen = Screen(args)
    real_test, real_train = colourfulness_of(test_b), colourfulness_of(train_b).mean().item()
    draw = torch.Generator().manual_seed(args.seed)
    started, trajectory = time.time(), []
    for step in range(1, args.steps + 1):
        ia = torch.randint(len(train_a), (args.batch,), generator=draw)
        ib = torch.randint(len(train_b), (args.batch,), generator=draw)
        screen.step(train_a[ia], train_b[ib])
        if step % args.every == 0:
            test = colourfulness_of(screen.colorized(test_a))
            train = colourfulness_of(screen.colorized(train_a[:500])).mean().item()
            trajectory.append(f"{step}:{100 * (test.mean().item() / real_test.mean().item() - 1):+.0f}%"
                              f"/tr{100 * (train / real_train - 1):+.0f}%")
    contrast = test_a.flatten(1).std(1)
    flags = f"adv {args.adv} fm {args.fm} in-eps {args.in_eps:g} D {args.disc} norm {args.norm}"
    print(f"{args.set} seed {args.seed} {flags}: {' '.join(trajectory)}; p10-p90 "
          f"{torch.quantile(test, 0.1):.0f}-{torch.quantile(test, 0.9):.0f}, correlation with real "
          f"{correlation(test, real_test):+.2f}, with contrast {correlation(test, contrast):+.2f} "
          f"(real {correlation(real_test, contrast):+.2f}) [{time.time() - started:.0f} s]", flush=True)


if __name__ == "__main__":
    main()
