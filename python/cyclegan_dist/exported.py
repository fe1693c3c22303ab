"""Reading what `cyclegan_translate --export-pytorch DIR` writes.

DIR holds model.json (format "cyclegan_dist pytorch export v1": the generator class, its
constructor arguments, each direction's channels and file, the value range) and the two
generators' state_dicts, G_AtoB.pt (domain A -> B) and F_BtoA.pt (B -> A).
"""
import dataclasses
import json
import os
import re

import torch

from .models import ResnetGenerator, UnetGenerator

__all__ = ["EXPORT_FORMAT", "DIRECTIONS", "ExportFormatError", "GeneratorInfo", "read_model_json",
           "generator_info", "build_generator", "load_exported"]

EXPORT_FORMAT = "cyclegan_dist pytorch export v1"
# --direction of cyclegan_translate -> the model.json entry of that generator.
DIRECTIONS = {"AtoB": "G_AtoB", "BtoA": "F_BtoA"}
_GENERATORS = {"UnetGenerator": UnetGenerator, "ResnetGenerator": ResnetGenerator}


class ExportFormatError(ValueError):
    """model.json is of another format version or does not describe a generator, or a weights
    file is not the state_dict that model.json describes (cut short, of another model, or the
    two directions' files swapped). The message names the file and ends in a HINT line."""


@dataclasses.dataclass(frozen=True)
class GeneratorInfo:
    """One generator of an export: what it is and what its tensors mean."""
    directory: str
    direction: str          # "AtoB" (G) or "BtoA" (F)
    file: str               # state_dict file inside `directory`
    generator: str          # "UnetGenerator" or "ResnetGenerator"
    arguments: dict         # model.json "arguments"
    in_channels: int        # 1: gray (BT.601 luma), 3: RGB
    out_channels: int
    value_range: tuple      # (lo, hi) of inputs and outputs: (0, 1) sigmoid, (-1, 1) tanh
    size_multiple: int      # H and W must be multiples of this
    preset: str
    step: int
    checkpoint: str

    def metadata(self):
        """The facts a user of an exported file needs, as string -> string (ONNX metadata_props)."""
        lo, hi = self.value_range
        src, dst = ("A", "B") if self.direction == "AtoB" else ("B", "A")
        return {
            "cyclegan_dist.format": "cyclegan_dist generator v1",
            "direction": self.direction,
            "generator": self.generator,
            "arguments": json.dumps(self.arguments, sort_keys=True),
            "layout": "NCHW",
            "dtype": "float32",
            "input_channels": str(self.in_channels),
            "output_channels": str(self.out_channels),
            "input_channel_order": channel_order(self.in_channels),
            "output_channel_order": channel_order(self.out_channels),
            "value_range": json.dumps([lo, hi]),
            "size_multiple": str(self.size_multiple),
            "preset": self.preset,
            "step": str(self.step),
            "checkpoint": os.path.basename(self.checkpoint),
            "description": (
                f"CycleGAN generator, domain {src} -> {dst}. Input (N, {self.in_channels}, H, W) float32 "
                f"{channel_order(self.in_channels)} in [{lo:g}, {hi:g}], H and W multiples of "
                f"{self.size_multiple}; output (N, {self.out_channels}, H, W) float32 "
                f"{channel_order(self.out_channels)} in [{lo:g}, {hi:g}]."),
        }


def channel_order(channels):
    """The channel convention of cyclegan_dist's images."""
    return {1: "gray (BT.601 luma)", 3: "RGB"}.get(channels, f"{channels} channels")


def _fail(path, message, hint):
    raise ExportFormatError(f"{path}: {message}\nHINT: {hint}")


def read_model_json(directory):
    """Returns the parsed model.json of an export directory after checking its format version.

    Raises FileNotFoundError when there is none and ExportFormatError when it is not valid
    JSON, not a cyclegan_dist export, or written in a format version this package does not read.
    """
    path = os.path.join(directory, "model.json")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file\nHINT: write an export with "
                                f"cyclegan_translate --checkpoint RUN_DIR --export-pytorch {directory}")
    try:
        with open(path, encoding="utf-8") as f:
            description = json.load(f)
    except json.JSONDecodeError as e:
        _fail(path, f"not valid JSON ({e})", "export again with cyclegan_translate --export-pytorch")
    fmt = description.get("format") if isinstance(description, dict) else None
    if fmt != EXPORT_FORMAT:
        version = re.fullmatch(r"cyclegan_dist pytorch export v(\d+)", fmt or "")
        if version:
            _fail(path, f"format version v{version.group(1)} is not one this cyclegan_dist package reads "
                        f"(it reads only '{EXPORT_FORMAT}')",
                  "install the cyclegan_dist package from the same checkout as the cyclegan_translate that "
                  "wrote this export: pip install ./python")
        what = "has no 'format' entry" if fmt is None else f"has format {fmt!r}"
        _fail(path, f"{what}: not a cyclegan_dist export (expected '{EXPORT_FORMAT}')",
              "point at a directory written by cyclegan_translate --export-pytorch")
    for key in ("generator", "arguments", "value_range", *DIRECTIONS.values()):
        if key not in description:
            _fail(path, f"has no '{key}'", "export again with cyclegan_translate --export-pytorch")
    if description["generator"] not in _GENERATORS:
        _fail(path, f"unknown generator {description['generator']!r} (known: {', '.join(_GENERATORS)})",
              "export again with cyclegan_translate --export-pytorch")
    return description


def generator_info(directory, direction="AtoB"):
    """Describes the generator of `direction` ("AtoB": G, "BtoA": F) in an export directory."""
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    d = read_model_json(directory)
    try:
        io = d[DIRECTIONS[direction]]
        args = d["arguments"]
        unet = d["generator"] == "UnetGenerator"
        return GeneratorInfo(
            directory=directory, direction=direction, file=str(io["file"]), generator=d["generator"],
            arguments=args, in_channels=int(io["in_channels"]), out_channels=int(io["out_channels"]),
            value_range=(float(d["value_range"][0]), float(d["value_range"][1])),
            size_multiple=2 ** (len(args["enc"]) - 1) if unet else 4,
            preset=str(d.get("preset", "")), step=int(d.get("step", 0)), checkpoint=str(d.get("checkpoint", "")))
    except (KeyError, IndexError, TypeError, ValueError) as e:
        _fail(os.path.join(directory, "model.json"),
              f"does not describe the {DIRECTIONS[direction]} generator ({type(e).__name__}: {e})",
              "export again with cyclegan_translate --export-pytorch")


def build_generator(info):
    """A freshly initialised module of the architecture `info` describes."""
    a = info.arguments
    # Exports written before --upsample existed have no "upsample": theirs was transposed.
    upsample = a.get("upsample", "transposed")
    if info.generator == "UnetGenerator":
        # Nor "norm" before --unet-norm: theirs was InstanceNorm.
        return UnetGenerator(info.in_channels, info.out_channels, enc=tuple(a["enc"]), dec=tuple(a["dec"]),
                             k=a["k"], activation=a["activation"], upsample=upsample,
                             norm=a.get("norm", "instance"))
    return ResnetGenerator(info.in_channels, info.out_channels, ngf=a["ngf"], n_blocks=a["n_blocks"],
                           activation=a["activation"], upsample=upsample)


def load_exported(directory, direction="AtoB", map_location="cpu"):
    """The trained generator of `direction` ("AtoB": G, "BtoA": F) of an export directory.

    Builds the module model.json describes, loads its state_dict (torch.load with
    weights_only=True) with strict=True and returns it in eval mode on `map_location`.
    The module maps (N, C_in, H, W) float32 in the export's value range, H and W multiples of
    `module.size_multiple`, to (N, C_out, H, W) in the same range; see generator_info().
    Raises FileNotFoundError when model.json or the weights file is missing, and
    ExportFormatError for a model.json of an unknown format version or a weights file that
    cannot be read or does not fit the generator model.json describes.
    """
    info = generator_info(directory, direction)
    model_json = os.path.join(directory, "model.json")
    try:
        module = build_generator(info)
    except (KeyError, TypeError, ValueError) as e:
        _fail(model_json, f"has {info.generator} arguments that do not build one ({type(e).__name__}: {e})",
              "export again with cyclegan_translate --export-pytorch")
    path = os.path.join(directory, info.file)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such file (model.json names it for {DIRECTIONS[direction]})\n"
                                f"HINT: export again with cyclegan_translate --export-pytorch {directory}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001  (torch.load fails in many ways on a damaged file; all mean the same)
        _fail(path, f"is not a readable PyTorch state_dict ({_first_line(e)})",
              "the file is damaged or cut short (an unfinished copy?); export again with "
              "cyclegan_translate --export-pytorch")
    _check_state_dict(path, state, module.state_dict(), info)
    module.load_state_dict(state, strict=True)
    return module.to(map_location).eval()


def _first_line(error):
    """The error's type and first sentence (torch adds paragraphs of advice)."""
    lines = str(error).strip().splitlines()
    if not lines:
        return type(error).__name__
    return f"{type(error).__name__}: {re.split(r'(?<=[.!?])[ ]', lines[0])[0].rstrip('.')}"


def _check_state_dict(path, state, expected, info):
    # load_state_dict(strict=True) would refuse these too, but in a message of one line per
    # tensor; a swapped or foreign file is better named as such.
    name = DIRECTIONS[info.direction]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        _fail(path, f"holds a {type(state).__name__}, not a state_dict of tensors",
              "point at a directory written by cyclegan_translate --export-pytorch")
    other_shape = [k for k in expected if k in state and state[k].shape != expected[k].shape]
    missing = [k for k in expected if k not in state]
    unknown = [k for k in state if k not in expected]
    if not (other_shape or missing or unknown):
        return
    problems = []
    if other_shape:
        k = other_shape[0]
        problems.append(f"{len(other_shape)} of {len(expected)} tensors have other shapes (first: {k} is "
                        f"{tuple(state[k].shape)}, expected {tuple(expected[k].shape)})")
    if missing:
        problems.append(f"{len(missing)} tensors are missing (first: {missing[0]})")
    if unknown:
        problems.append(f"{len(unknown)} tensors are unknown to it (first: {unknown[0]})")
    _fail(path, f"does not fit the {info.generator} {name} ({info.in_channels} -> {info.out_channels} channels) "
                f"that model.json describes: {'; '.join(problems)}",
          "the weights files may be swapped (G_AtoB.pt <-> F_BtoA.pt) or come from another export; "
          "export again with cyclegan_translate --export-pytorch")
