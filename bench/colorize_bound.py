"""How far colorization can get on a data set at all: the seed preset's generator trained
*supervised* on (gray(b), b) pairs made from domain B's training images, then scored on the
test split like the learns test scores CycleGAN (PSNR of G(gray) against the true colours,
and of the gray image copied to three channels).

CycleGAN never sees such pairs (that is its point), so this is an upper bound for what the
B cycle G(F(b)) ~ b can teach G when F is an exact gray conversion. When even this bound
stays under the gray baseline on the test photographs, the colours of the training
photographs do not carry over to the test ones, and no amount of CycleGAN training will
beat the baseline on that data.

  python bench/colorize_bound.py [--data data/demo/32x32] [--steps 600] [--batch 16]
                                 [--loss l1|l2] [--keep-luma] [--threads 2]

--keep-luma replaces the output's BT.601 luma with the input's, so the network learns
chroma alone and the comparison with the gray baseline is about the colours only.
"""
import argparse
import json
import math
import os
import sys

import h5py
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "reference"))
import cyclegan_ref as ref  # noqa: E402

BT601 = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)


def load(data, domain, split):
    """All images of one domain and split as (N, C, H, W) float in [0, 1]."""
    with open(os.path.join(data, "manifest.json")) as f:
        shards = [s for s in json.load(f)["shards"] if s["domain"] == domain and s["split"] == split]
    if not shards:
        sys.exit(f"{data}: no {split} shard of domain {domain}")
    parts = []
    for s in shards:
        with h5py.File(os.path.join(data, s["file"]), "r") as f:
            parts.append(torch.from_numpy(f["images"][:]))
    return torch.cat(parts).permute(0, 3, 1, 2).float() / 255


def gray(rgb):
    return (rgb * BT601).sum(1, keepdim=True)


def chroma_rms(rgb):
    """Root mean square of R-Y, G-Y, B-Y in 8-bit steps: how colourful a set is."""
    return ((rgb - gray(rgb)) * 255).pow(2).mean().sqrt().item()


def psnr(got, want):
    return 10 * math.log10(1 / (got - want).pow(2).mean().item())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="data/demo/32x32")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--loss", choices=("l1", "l2"), default="l1")
    ap.add_argument("--keep-luma", action="store_true")
    ap.add_argument("--every", type=int, default=200)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    train_b = load(args.data, "B", "train")
    test_a, test_b = load(args.data, "A", "test"), load(args.data, "B", "test")
    if train_b.shape[1] != 3 or test_a.shape[1] != 1:
        sys.exit(f"{args.data}: needs gray A and colour B (a colorization data set)")
    held = train_b[: min(500, len(train_b))]
    gray_test = psnr(test_a.expand(-1, 3, -1, -1), test_b)
    gray_train = psnr(gray(held).expand(-1, 3, -1, -1), held)
    print(f"{args.data}: colourfulness (chroma RMS, 8-bit steps): train B {chroma_rms(train_b):.1f}, "
          f"test B {chroma_rms(test_b):.1f}")
    print(f"gray copied to RGB: test {gray_test:.2f} dB, train crops {gray_train:.2f} dB")

    unet = ref.UnetGenerator(1, 3)
    ref.init_weights(unet)

    def net(x):
        out = unet(x)
        return out - gray(out) + x if args.keep_luma else out

    opt = torch.optim.Adam(unet.parameters(), lr=2e-4, betas=(0.5, 0.999))
    pick = torch.Generator().manual_seed(args.seed)
    print(f"{'step':>6} {'test PSNR':>10} {'vs gray':>8} {'train PSNR':>11} {'vs gray':>8}")
    for step in range(1, args.steps + 1):
        b = train_b[torch.randint(0, len(train_b), (args.batch,), generator=pick)]
        out = net(gray(b))
        loss = (out - b).abs().mean() if args.loss == "l1" else (out - b).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % args.every == 0 or step == args.steps:
            with torch.no_grad():
                test = psnr(net(test_a).clamp(0, 1), test_b)
                train = psnr(net(gray(held)).clamp(0, 1), held)
            print(f"{step:>6} {test:>9.2f}  {test - gray_test:>+7.2f} {train:>10.2f}  {train - gray_train:>+7.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
