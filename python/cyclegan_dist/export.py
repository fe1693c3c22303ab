"""Exports one generator of a `cyclegan_translate --export-pytorch` directory to ONNX and/or
TorchScript.

  python -m cyclegan_dist.export DIR --onnx G_AtoB.onnx --torchscript G_AtoB.ts.pt
  python -m cyclegan_dist.export DIR --direction BtoA --onnx F_BtoA.onnx

ONNX: opset 18 (--opset), one file (weights inside), input "image" (N, C_in, H, W) and
output "translated" (N, C_out, H, W), float32, N, H and W dynamic (H and W multiples of the
generator's downsampling), InstanceNorm as ONNX InstanceNormalization; metadata_props say
the direction, channels and their order, value range and size multiple (GeneratorInfo.metadata).
Needs the onnx and onnxscript packages (pip install "./python[onnx]").
TorchScript: torch.jit.script of the module; the same metadata as JSON in the extra file
"cyclegan_dist.json". torch.jit.load in Python and torch::jit::load in C++ open it.
"""
import argparse
import json
import logging
import sys
import warnings

import torch

from .exported import DIRECTIONS, ExportFormatError, generator_info, load_exported

__all__ = ["DEFAULT_OPSET", "ONNX_INPUT", "ONNX_OUTPUT", "TORCHSCRIPT_METADATA", "export_onnx",
           "export_torchscript", "main"]

DEFAULT_OPSET = 18
ONNX_INPUT = "image"
ONNX_OUTPUT = "translated"
TORCHSCRIPT_METADATA = "cyclegan_dist.json"


class MissingDependencyError(RuntimeError):
    """An optional package (onnx, onnxscript) is not installed."""


def _example_input(info):
    # Batch 2 and unequal sides, so torch.export specialises none of the dynamic sizes to a
    # constant (it does so for sizes 0 and 1, and ties equal sides together).
    lo, hi = info.value_range
    m = info.size_multiple
    return torch.rand(2, info.in_channels, 2 * m, 3 * m) * (hi - lo) + lo


def export_onnx(module, info, path, opset=DEFAULT_OPSET):
    """Writes `module` (the generator `info` describes) to the ONNX file `path`.

    Dynamic batch, height and width; height and width are declared as multiples of
    info.size_multiple (the U-Net's skip connections only line up there). Returns the path.
    """
    try:
        import onnx  # noqa: F401  (the exporter needs it, and it checks the result)
        import onnxscript  # noqa: F401
    except ImportError as e:
        raise MissingDependencyError(f"ONNX export needs the onnx and onnxscript packages ({e})\n"
                                     f"HINT: pip install onnx onnxscript (or pip install \"./python[onnx]\")")
    from torch.export import Dim

    m = info.size_multiple
    dynamic_shapes = {"x": {0: Dim("batch", min=1), 2: m * Dim("h", min=1), 3: m * Dim("w", min=1)}}
    module = module.eval()
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        program = torch.onnx.export(module, (_example_input(info),), dynamo=True, opset_version=opset,
                                    input_names=[ONNX_INPUT], output_names=[ONNX_OUTPUT],
                                    dynamic_shapes=dynamic_shapes, verbose=False)
    program.model.metadata_props.update(info.metadata())
    program.model.doc_string = info.metadata()["description"]
    program.save(path, external_data=False)
    onnx.checker.check_model(path, full_check=True)
    return path


def export_torchscript(module, info, path):
    """Writes `module` as TorchScript (torch.jit.script) to `path`, the metadata as the extra
    file "cyclegan_dist.json". Returns the path."""
    with warnings.catch_warnings():
        # torch.jit is deprecated for Python deployment since 2.10, but it is still the format
        # LibTorch's torch::jit::load reads; scripting keeps every size dynamic.
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = torch.jit.script(module.eval())
        torch.jit.save(scripted, path, _extra_files={TORCHSCRIPT_METADATA: json.dumps(info.metadata())})
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m cyclegan_dist.export",
        description="Export a generator of a cyclegan_translate --export-pytorch directory to ONNX "
                    "and/or TorchScript.")
    parser.add_argument("directory", help="folder written by cyclegan_translate --export-pytorch")
    parser.add_argument("--direction", choices=sorted(DIRECTIONS), default="AtoB",
                        help="AtoB: G (domain A -> B, default); BtoA: F (B -> A)")
    parser.add_argument("--onnx", metavar="FILE", help="write an ONNX model here")
    parser.add_argument("--torchscript", metavar="FILE", help="write a TorchScript module here")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET,
                        help=f"ONNX opset (default {DEFAULT_OPSET})")
    args = parser.parse_args(argv)
    if not args.onnx and not args.torchscript:
        parser.error("give --onnx FILE and/or --torchscript FILE")
    try:
        info = generator_info(args.directory, args.direction)
        module = load_exported(args.directory, args.direction)
        if args.torchscript:
            print(f"wrote {export_torchscript(module, info, args.torchscript)}")
        if args.onnx:
            print(f"wrote {export_onnx(module, info, args.onnx, args.opset)} (opset {args.opset})")
    except (ExportFormatError, FileNotFoundError, MissingDependencyError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(info.metadata()["description"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
