"""The generator and discriminator modules of cyclegan_dist, in PyTorch.

They have the structure and parameter names of the C++ modules in src/model (and, for the
ResNet generator and the PatchGAN, of the official pytorch-CycleGAN-and-pix2pix modules),
so a state_dict written by `cyclegan_translate --export-pytorch` loads with strict=True and
gives the C++ outputs. Images are float32 NCHW; channels are RGB (3) or BT.601 gray (1);
values are in [0, 1] with a sigmoid output and in [-1, 1] with tanh.
"""
import torch
from torch import nn

__all__ = ["UPSAMPLE_MODES", "UNET_NORMS", "UnetGenerator", "ResnetBlock", "ResnetGenerator", "SeedDiscriminator",
           "PatchDiscriminator"]

# How a generator's decoder doubles the size (cyclegan_train --upsample; src/model/upsample.h):
# a stride-2 transposed convolution (the seed's and the paper's), or a x2 resize then a
# stride-1 convolution.
UPSAMPLE_MODES = ("transposed", "nearest", "bilinear")

# The U-Net's normalisation before each activation (cyclegan_train --unet-norm;
# src/model/unet_generator.h): InstanceNorm (the seed's), or none (an Identity in its place).
UNET_NORMS = ("instance", "none")


def _check_upsample(name, upsample):
    if upsample not in UPSAMPLE_MODES:
        raise ValueError(f"{name}: upsample must be one of {', '.join(UPSAMPLE_MODES)}, got {upsample!r}")


def _resize(upsample):
    """The x2 resize of the "nearest" and "bilinear" modes (src/model/upsample.cpp)."""
    if upsample == "nearest":
        return nn.Upsample(scale_factor=2, mode="nearest")
    return nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)


class UnetGenerator(nn.Module):
    """The seed study's U-Net (src/model/unet_generator.h).

    x: (N, in_ch, H, W) float in the image range, H and W multiples of
    2 ** (len(enc) - 1) (`size_multiple`) -> (N, out_ch, H, W) float in the image range.
    Decoder layer j: Sequential(IN, ReLU, ConvTranspose2d stride 2) with upsample
    "transposed", Sequential(IN, ReLU, Upsample x2, Conv2d stride 1 zero-padded) otherwise;
    with norm "none" an Identity stands where each IN stands.
    """

    def __init__(self, in_ch, out_ch, enc=(32, 64, 128, 128), dec=(128, 64, 64), k=3,
                 affine=True, activation="sigmoid", upsample="transposed", norm="instance"):
        super().__init__()
        if len(dec) != len(enc) - 1:
            raise ValueError(f"UnetGenerator: {len(enc)} encoder filters need {len(enc) - 1} decoder filters, "
                             f"got {len(dec)}")
        if activation not in ("sigmoid", "tanh"):
            raise ValueError(f"UnetGenerator: activation must be 'sigmoid' or 'tanh', got {activation!r}")
        _check_upsample("UnetGenerator", upsample)
        if norm not in UNET_NORMS:
            raise ValueError(f"UnetGenerator: norm must be one of {', '.join(UNET_NORMS)}, got {norm!r}")
        if upsample != "transposed" and k % 2 == 0:
            raise ValueError(f"UnetGenerator: upsample {upsample!r} needs an odd k, got {k}")
        pad = (k - 1) // 2
        out_pad = 2 + 2 * pad - k

        def normalize(channels):
            return nn.InstanceNorm2d(channels, affine=affine) if norm == "instance" else nn.Identity()

        self.encoder = nn.ModuleList()
        ch = in_ch
        for i, f in enumerate(enc):
            self.encoder.append(nn.Sequential(
                normalize(ch), nn.LeakyReLU(0.2),
                nn.Conv2d(ch, f, k, stride=1 if i == 0 else 2, padding=pad)))
            ch = f
        self.decoder = nn.ModuleList()
        for j, f in enumerate(dec):
            if upsample == "transposed":
                up = [nn.ConvTranspose2d(ch, f, k, stride=2, padding=pad, output_padding=out_pad)]
            else:
                up = [_resize(upsample), nn.Conv2d(ch, f, k, stride=1, padding=pad)]
            self.decoder.append(nn.Sequential(normalize(ch), nn.ReLU(), *up))
            ch = f + enc[len(enc) - 2 - j]
        self.output = nn.ConvTranspose2d(ch, out_ch, k, stride=1, padding=pad)
        self.activation = activation
        self.size_multiple = 2 ** (len(enc) - 1)

    def forward(self, x):
        skips = []
        for layer in self.encoder:
            x = layer(x)
            skips.append(x)
        for j, layer in enumerate(self.decoder):
            x = torch.cat([layer(x), skips[len(skips) - 2 - j]], 1)
        x = self.output(x)
        return torch.sigmoid(x) if self.activation == "sigmoid" else torch.tanh(x)


class ResnetBlock(nn.Module):
    """x: (N, dim, H, W) -> (N, dim, H, W), x + two reflect-padded 3x3 conv/InstanceNorm layers."""

    def __init__(self, dim):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim), nn.ReLU(),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim))

    def forward(self, x):
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """The paper's ResNet generator (src/model/resnet_generator.h; Zhu et al. 2017).

    x: (N, in_ch, H, W) float in the image range, H and W multiples of 4 (`size_multiple`)
    -> (N, out_ch, H, W) float in the image range. Each upsampling layer: ConvTranspose2d
    stride 2 with upsample "transposed" (the official module's indices); Upsample x2,
    ReflectionPad2d(1), Conv2d 3x3 otherwise; then InstanceNorm, ReLU.
    """

    def __init__(self, in_ch, out_ch, ngf=64, n_blocks=9, activation="tanh", upsample="transposed"):
        super().__init__()
        if activation not in ("sigmoid", "tanh"):
            raise ValueError(f"ResnetGenerator: activation must be 'sigmoid' or 'tanh', got {activation!r}")
        _check_upsample("ResnetGenerator", upsample)
        layers = [nn.ReflectionPad2d(3), nn.Conv2d(in_ch, ngf, 7), nn.InstanceNorm2d(ngf), nn.ReLU()]
        for mult in (1, 2):
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1),
                       nn.InstanceNorm2d(ngf * mult * 2), nn.ReLU()]
        layers += [ResnetBlock(ngf * 4) for _ in range(n_blocks)]
        for mult in (4, 2):
            if upsample == "transposed":
                layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1,
                                              output_padding=1)]
            else:
                layers += [_resize(upsample), nn.ReflectionPad2d(1), nn.Conv2d(ngf * mult, ngf * mult // 2, 3)]
            layers += [nn.InstanceNorm2d(ngf * mult // 2), nn.ReLU()]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, out_ch, 7),
                   nn.Tanh() if activation == "tanh" else nn.Sigmoid()]
        self.model = nn.Sequential(*layers)
        self.size_multiple = 4

    def forward(self, x):
        return self.model(x)


class SeedDiscriminator(nn.Module):
    """The seed study's PatchGAN (src/model/seed_discriminator.h).

    x: (N, in_ch, H, W) -> (N, 1, H / 2**len(filters), W / 2**len(filters)) unbounded scores.
    """

    def __init__(self, in_ch, filters=(32, 64, 128, 256), k=3):
        super().__init__()
        pad = (k - 1) // 2
        layers, ch = [], in_ch
        for f in filters:
            layers += [nn.LeakyReLU(0.2), nn.Conv2d(ch, f, k, stride=2, padding=pad)]
            ch = f
        layers += [nn.LeakyReLU(0.2), nn.Conv2d(ch, 1, k, stride=1, padding=pad)]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)


class PatchDiscriminator(nn.Module):
    """The paper's 70x70 PatchGAN for n_layers=3 (src/model/patch_discriminator.h).

    x: (N, in_ch, H, W) -> (N, 1, H', W') unbounded scores, one per overlapping patch.
    """

    def __init__(self, in_ch, ndf=64, n_layers=3):
        super().__init__()
        layers = [nn.Conv2d(in_ch, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2)]
        mult = 1
        for n in range(1, n_layers + 1):
            prev, mult = mult, min(2**n, 8)
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, stride=2 if n < n_layers else 1, padding=1),
                       nn.InstanceNorm2d(ndf * mult), nn.LeakyReLU(0.2)]
        layers += [nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1)]
        self.model = nn.Sequential(*layers)

    def forward(self, x):
        return self.model(x)
