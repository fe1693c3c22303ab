"""Python reference of cyclegan_dist's networks and training step, on the same torch wheel.

The networks are the modules of the cyclegan_dist Python package (python/cyclegan_dist/
models.py, taken from this checkout, not from an installed copy), which have the same
structure and parameter names as the C++ ones in src/model, so a state_dict moves between
the two unchanged. The training step follows src/train/trainer.cpp operation for operation.

  python cyclegan_ref.py generate --out FILE    write the reference file the C++ test reads

generate runs the steps on the CPU, or on cuda:0 when CYCLEGAN_TEST_DEVICE=cuda
(tests/test_device.h; the script fails when CUDA is asked for and missing), and writes the
device as `device`; weights and inputs are made on the CPU and every result is written back
as a CPU tensor.
  python cyclegan_ref.py bench --preset P ...   training images/s of the Python reference
"""
import argparse
import os
import sys
import time

import torch
from torch import nn

# The checkout's package first: this reference tests the modules of this source tree.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from device_choice import as_bytes, use_device  # noqa: E402
from cyclegan_dist.models import (UPSAMPLE_MODES, PatchDiscriminator, ResnetGenerator,  # noqa: E402
                                  SeedDiscriminator, UnetGenerator)

MASK64 = (1 << 64) - 1


class SplitMix64:
    """Same generator as src/common/rng.h."""

    def __init__(self, seed):
        self.state = seed & MASK64

    def next_u64(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)

    def uniform(self):
        return (self.next_u64() >> 11) * 2.0**-53

    def below(self, n):
        return self.next_u64() % n


def mix_seed(a, b, c=0, d=0):
    rng = SplitMix64(a)
    h = rng.next_u64()
    for v in (b, c, d):
        rng.state = (h ^ v) & MASK64
        h = rng.next_u64()
    return h


PRESETS = {
    # The C++ presets of src/cli/presets.cpp, with what the training step needs.
    "cifar-colorize": dict(ch_a=1, ch_b=3, generator="unet", discriminator="seed", activation="sigmoid",
                           optimizer="rmsprop", lr_g=1e-4, lr_d=2e-4, identity=0.0, pool=0,
                           decay_start=1.0),
    "paper-256": dict(ch_a=3, ch_b=3, generator="resnet", discriminator="patch", activation="tanh",
                      optimizer="adam", lr_g=2e-4, lr_d=2e-4, identity=0.5 * 10.0, pool=50,
                      decay_start=0.5),
}


def freeze_inert_biases(net):
    """Same as src/model/inert_bias.h: conv biases that feed an InstanceNorm are frozen."""
    for m in net.modules():
        if isinstance(m, nn.Sequential):
            layers = list(m)
            for conv, norm in zip(layers, layers[1:]):
                if isinstance(conv, (nn.Conv2d, nn.ConvTranspose2d)) and isinstance(norm, nn.InstanceNorm2d):
                    conv.bias.requires_grad_(False)
        if isinstance(m, UnetGenerator) and isinstance(m.encoder[0][0], nn.InstanceNorm2d):
            for layer in list(m.encoder)[1:]:
                layer[2].bias.requires_grad_(False)
            for layer in list(m.decoder)[:-1]:
                layer[-1].bias.requires_grad_(False)  # its upsampling convolution, whichever


def trainable(module):
    return [p for p in module.parameters() if p.requires_grad]


class CycleGan(nn.Module):
    def __init__(self, p, n_blocks=9, upsample="transposed", unet_norm="instance"):
        super().__init__()
        if p["generator"] == "unet":
            self.G = UnetGenerator(p["ch_a"], p["ch_b"], activation=p["activation"], upsample=upsample,
                                   norm=unet_norm)
            self.F = UnetGenerator(p["ch_b"], p["ch_a"], activation=p["activation"], upsample=upsample,
                                   norm=unet_norm)
        else:
            self.G = ResnetGenerator(p["ch_a"], p["ch_b"], n_blocks=n_blocks, activation=p["activation"],
                                     upsample=upsample)
            self.F = ResnetGenerator(p["ch_b"], p["ch_a"], n_blocks=n_blocks, activation=p["activation"],
                                     upsample=upsample)
        disc = SeedDiscriminator if p["discriminator"] == "seed" else PatchDiscriminator
        self.D_A = disc(p["ch_a"])
        self.D_B = disc(p["ch_b"])
        freeze_inert_biases(self)


def init_weights(net, gain=0.02):
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
                m.weight.normal_(0.0, gain)
                m.bias.zero_()
            elif isinstance(m, nn.InstanceNorm2d) and m.affine:
                m.weight.fill_(1.0)
                m.bias.zero_()


class ImagePool:
    """Same semantics and RNG use as src/model/image_pool.cpp."""

    def __init__(self, capacity, seed):
        self.capacity, self.rng, self.images = capacity, SplitMix64(seed), []

    def query(self, images):
        if self.capacity == 0:
            return images
        out = []
        for i in range(images.shape[0]):
            image = images[i:i + 1].detach().clone()
            if len(self.images) < self.capacity:
                self.images.append(image)
                out.append(image)
            elif self.rng.uniform() > 0.5:
                slot = self.rng.below(self.capacity)
                out.append(self.images[slot])
                self.images[slot] = image
            else:
                out.append(image)
        return torch.cat(out, 0)


def adversarial(scores, real):
    target = torch.ones_like(scores) if real else torch.zeros_like(scores)
    return nn.functional.mse_loss(scores, target)


def lr_factor(step, total, decay_start):
    import math
    start = math.floor(decay_start * total)
    if step < start or total <= start:
        return 1.0
    return max(0.0, 1.0 - (step - start) / (total - start))


AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


class Trainer:
    """The training step of src/train/trainer.cpp. precision "bf16"/"fp16": the forwards (and
    losses) of each phase under torch.autocast on the nets' device type, backward and the
    update outside it; fp16 scales each optimizer's loss with its own torch.amp.GradScaler."""

    def __init__(self, net, p, seed, total_steps, lambda_cycle=10.0, precision="fp32",
                 loss_scale_init=65536.0):
        self.net, self.p, self.total, self.lam = net, p, total_steps, lambda_cycle
        self.dtype = AUTOCAST_DTYPES.get(precision)
        self.device_type = next(net.parameters()).device.type
        fp16 = precision == "fp16"
        self.scalers = [torch.amp.GradScaler(self.device_type, init_scale=loss_scale_init,
                                             enabled=fp16)
                        for _ in range(3)]
        g_params = trainable(net.G) + trainable(net.F)

        # One tensor at a time, as torch::optim steps (the default on the CPU; on CUDA the
        # default is the foreach kernels, whose rounding need not be the same).
        def make(params, lr):
            if p["optimizer"] == "adam":
                return torch.optim.Adam(params, lr=lr, betas=(0.5, 0.999), foreach=False)
            return torch.optim.RMSprop(params, lr=lr, alpha=0.9, eps=1e-7, foreach=False)

        self.opt_g = make(g_params, p["lr_g"])
        self.d_params = trainable(net.D_A) + trainable(net.D_B)
        self.opt_d_a = make(trainable(net.D_A), p["lr_d"])
        self.opt_d_b = make(trainable(net.D_B), p["lr_d"])
        self.pool_a = ImagePool(p["pool"], mix_seed(seed, 0x9001))
        self.pool_b = ImagePool(p["pool"], mix_seed(seed, 0x9002))
        self.identity = p["identity"] if p["ch_a"] == p["ch_b"] else 0.0
        self.step_count = 0

    def autocast(self):
        return torch.autocast(self.device_type, dtype=self.dtype, enabled=self.dtype is not None)

    @staticmethod
    def update(loss, optimizer, scaler):
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    def step(self, real_a, real_b):
        net = self.net
        f = lr_factor(self.step_count, self.total, self.p["decay_start"])
        for opt, base in ((self.opt_g, self.p["lr_g"]), (self.opt_d_a, self.p["lr_d"]),
                          (self.opt_d_b, self.p["lr_d"])):
            for group in opt.param_groups:
                group["lr"] = base * f
        with self.autocast():
            fake_b = net.G(real_a)
            fake_a = net.F(real_b)

        # The pools keep fakes in float32 whatever precision made them.
        self.opt_d_b.zero_grad()
        with self.autocast():
            loss_d_b = (adversarial(net.D_B(real_b), True) +
                        adversarial(net.D_B(self.pool_b.query(fake_b.detach().float())), False)) * 0.5
        self.update(loss_d_b, self.opt_d_b, self.scalers[2])

        self.opt_d_a.zero_grad()
        with self.autocast():
            loss_d_a = (adversarial(net.D_A(real_a), True) +
                        adversarial(net.D_A(self.pool_a.query(fake_a.detach().float())), False)) * 0.5
        self.update(loss_d_a, self.opt_d_a, self.scalers[1])

        for param in self.d_params:
            param.requires_grad_(False)
        self.opt_g.zero_grad()
        autocast = self.autocast()
        autocast.__enter__()
        loss_g_adv = adversarial(net.D_B(fake_b), True)
        loss_f_adv = adversarial(net.D_A(fake_a), True)
        loss_cycle_a = nn.functional.l1_loss(net.F(fake_b), real_a) * self.lam
        loss_cycle_b = nn.functional.l1_loss(net.G(fake_a), real_b) * self.lam
        loss_g = loss_g_adv + loss_f_adv + loss_cycle_a + loss_cycle_b
        loss_idt_a = torch.zeros((), device=real_a.device)
        loss_idt_b = torch.zeros((), device=real_a.device)
        if self.identity > 0:
            loss_idt_a = nn.functional.l1_loss(net.F(real_a), real_a) * self.identity
            loss_idt_b = nn.functional.l1_loss(net.G(real_b), real_b) * self.identity
            loss_g = loss_g + loss_idt_a + loss_idt_b
        autocast.__exit__(None, None, None)
        self.update(loss_g, self.opt_g, self.scalers[0])
        for param in self.d_params:
            param.requires_grad_(True)
        self.step_count += 1
        # In the order of src/train/loss_terms.h's kLossTerms (reference_test.cpp reads it so).
        return torch.stack([loss_d_a, loss_d_b, loss_g_adv, loss_f_adv, loss_cycle_a, loss_cycle_b,
                            loss_idt_a, loss_idt_b, loss_g]).detach().double()


def random_images(n, ch, size, activation, gen):
    x = torch.rand(n, ch, size, size, generator=gen)
    return x if activation == "sigmoid" else x * 2 - 1


def generate(args):
    """Runs K steps of each preset from fixed weights and inputs; saves everything."""
    torch.set_num_threads(1)
    device = use_device("cyclegan_ref")
    out = {"device": as_bytes(device)}
    cases = [("cifar-colorize", dict(size=32, batch=4, steps=3, pool=None, n_blocks=9)),
             ("paper-256", dict(size=32, batch=2, steps=4, pool=2, n_blocks=2))]
    # Mixed precision: batch 1, two steps (bf16/fp16 convolutions are emulated, ~40x slower,
    # on CPUs without AVX512-BF16/AMX such as the CI machines).
    # The paper nets overflow fp16 gradients at the default scale 2^16 for 5 steps (skipped,
    # as the scale backs off): their fp16 case starts at 2^10, the seed's at 2^16 (where
    # D_A and D_B skip step 1, G does not).
    cases += [(name + "@" + precision, dict(case, precision=precision, batch=1, steps=2,
                                            loss_scale_init=1024.0 if name == "paper-256" else 65536.0))
              for precision in ("bf16", "fp16") for name, case in cases]
    # --upsample nearest and bilinear (resize, then a stride-1 convolution), fp32, in both
    # generator families: keys "<preset>+<upsample>".
    cases += [(f"{name}+{upsample}", dict(case, upsample=upsample))
              for upsample in ("nearest", "bilinear") for name, case in cases[:2]]
    # fp32 at batch 1 (where the C++ InstanceNorm skips ATen's tiling of its affine
    # parameters, model/instance_norm.h): keys "<preset>:b1".
    cases += [(name + ":b1", dict(case, batch=1)) for name, case in cases[:2]]
    # The demo's U-Net (scripts/demo): bilinear upsampling and --unet-norm none, fp32.
    cases += [("cifar-colorize+bilinear+norm-none", dict(cases[0][1], upsample="bilinear", unet_norm="none"))]
    for name, case in cases:
        p = dict(PRESETS[name.split("@")[0].split("+")[0].split(":")[0]])
        if case["pool"] is not None:
            p["pool"] = case["pool"]
        seed = 1234
        torch.manual_seed(seed)
        net = CycleGan(p, n_blocks=case["n_blocks"], upsample=case.get("upsample", "transposed"),
                       unet_norm=case.get("unet_norm", "instance"))
        init_weights(net)
        prefix = name + "/"
        out[prefix + "meta"] = torch.tensor([case["size"], case["batch"], case["steps"], p["pool"],
                                             case["n_blocks"], seed], dtype=torch.long)
        for k, v in net.state_dict().items():
            out[prefix + "init/" + k] = v.clone()
        net.to(device)
        trainer = Trainer(net, p, seed, total_steps=case["steps"],
                          precision=case.get("precision", "fp32"),
                          loss_scale_init=case.get("loss_scale_init", 65536.0))
        gen = torch.Generator().manual_seed(99)
        for s in range(case["steps"]):
            a = random_images(case["batch"], p["ch_a"], case["size"], p["activation"], gen)
            b = random_images(case["batch"], p["ch_b"], case["size"], p["activation"], gen)
            out[prefix + f"batch{s}/a"] = a
            out[prefix + f"batch{s}/b"] = b
            out[prefix + f"losses{s}"] = trainer.step(a.to(device), b.to(device)).cpu()
        for k, v in net.state_dict().items():
            out[prefix + "final/" + k] = v.cpu().clone()
        out[prefix + "loss_scale_init"] = torch.tensor(case.get("loss_scale_init", 65536.0),
                                                       dtype=torch.double)
        out[prefix + "loss_scales"] = torch.tensor([s.get_scale() if s.is_enabled() else 0.0
                                                    for s in trainer.scalers], dtype=torch.double)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    torch.save(out, args.out)
    print(f"wrote {len(out)} tensors to {args.out}")


def bench(args):
    """Training images/s of the reference step (both domains' images count)."""
    torch.set_num_threads(args.threads)
    p = dict(PRESETS[args.preset])
    torch.manual_seed(0)
    net = CycleGan(p, n_blocks=args.n_blocks, upsample=args.upsample)
    init_weights(net)
    trainer = Trainer(net, p, 0, total_steps=args.warmup + args.steps)
    gen = torch.Generator().manual_seed(0)
    a = random_images(args.batch, p["ch_a"], args.size, p["activation"], gen)
    b = random_images(args.batch, p["ch_b"], args.size, p["activation"], gen)
    for _ in range(args.warmup):
        trainer.step(a, b)
    start = time.perf_counter()
    for _ in range(args.steps):
        trainer.step(a, b)
    elapsed = time.perf_counter() - start
    print(f"{2 * args.batch * args.steps / elapsed:.3f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--out", required=True)
    b = sub.add_parser("bench")
    b.add_argument("--preset", choices=sorted(PRESETS), required=True)
    b.add_argument("--size", type=int, required=True)
    b.add_argument("--batch", type=int, required=True)
    b.add_argument("--steps", type=int, default=5)
    b.add_argument("--warmup", type=int, default=1)
    b.add_argument("--threads", type=int, default=1)
    b.add_argument("--n-blocks", type=int, default=9)
    b.add_argument("--upsample", choices=UPSAMPLE_MODES, default="transposed")
    args = parser.parse_args()
    generate(args) if args.command == "generate" else bench(args)


if __name__ == "__main__":
    main()
