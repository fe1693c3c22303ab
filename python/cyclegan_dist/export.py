"""Exports one generator of a `cyclegan_translate --export-pytorch` directory to ONNX and/or
TorchScript.

  python -m cyclegan_dist.export DIR --onnx G_AtoB.onnx --torchscript G_AtoB.ts.pt
  python -m cyclegan_dist.export DIR --direction BtoA --onnx F_BtoA.onnx

ONNX: opset 18 (--opset 18 to 28, see supported_opsets), one file (weights inside), input
"image" (N, C_in, H, W) and output "translated" (N, C_out, H, W), float32, N, H and W dynamic
(H and W multiples of the generator's downsampling), InstanceNorm as ONNX
InstanceNormalization; metadata_props say the direction, channels and their order, value
range and size multiple (GeneratorInfo.metadata).
Needs the onnx and onnxscript packages (pip install "./python[onnx]").
TorchScript: torch.jit.script of the module; the same metadata as JSON in the extra file
"cyclegan_dist.json". torch.jit.load in Python and torch::jit::load in C++ open it.

Each file is written under a temporary name in its folder and renamed when complete, so a
failed export leaves no file (and an older file at the path is left as it was).
The command line reports every error in one line on stderr, "error: ...", and exits
  2  the command line or its input is wrong: a flag or value (an --opset outside the
     supported range, or one the exporter could not reach for this model), a missing
     package, an export directory that is missing or whose model.json or weights are not
     what they should be (cut short, of another model, the two directions swapped);
  1  an output could not be written: a directory or a special file at the path, a folder
     that does not exist or cannot be written, a write that failed (disk full), or an
     exporter failure.
"""
import argparse
import contextlib
import io
import json
import logging
import os
import sys
import tempfile
import warnings

import torch

from .exported import DIRECTIONS, ExportFormatError, generator_info, load_exported

__all__ = ["DEFAULT_OPSET", "MIN_OPSET", "MAX_OPSET", "ONNX_INPUT", "ONNX_OUTPUT", "TORCHSCRIPT_METADATA",
           "MissingDependencyError", "OpsetError", "supported_opsets", "export_onnx", "export_torchscript",
           "main"]

DEFAULT_OPSET = 18
# torch's dynamo exporter (torch 2.11, onnxscript 0.7) builds the graph at opset 18 or above
# and reaches other opsets with a version converter. Below 18 that conversion fails for the
# ResNet generator (15-17) and for both generators below 15, and the exporter then keeps
# opset 18 after logging a traceback. Above 18 both generators export (19-25 natively, then
# through onnx's converter) and onnxruntime gives the PyTorch module's outputs, up to the
# newest opset the onnx package knows (28 for onnx 1.23). export_onnx checks the opset it wrote.
MIN_OPSET = 18
MAX_OPSET = 28
ONNX_INPUT = "image"
ONNX_OUTPUT = "translated"
TORCHSCRIPT_METADATA = "cyclegan_dist.json"
# Loggers of the ONNX exporter: their warnings and tracebacks are kept off stderr and the
# last one becomes the cause in an OpsetError.
_EXPORTER_LOGGERS = ("torch.onnx", "onnxscript", "onnx_ir")


class MissingDependencyError(RuntimeError):
    """An optional package (onnx, onnxscript) is not installed."""


class OpsetError(ValueError):
    """An ONNX opset outside supported_opsets(), or one the exporter could not convert to."""


def _require_onnx():
    try:
        import onnx  # noqa: F401  (the exporter needs it, and it checks the result)
        import onnxscript  # noqa: F401
    except ImportError as e:
        raise MissingDependencyError(f"ONNX export needs the onnx and onnxscript packages ({e})\n"
                                     f"HINT: pip install onnx onnxscript (or pip install \"./python[onnx]\")")
    return onnx


def supported_opsets():
    """(lowest, highest) ONNX opset export_onnx writes with the installed packages.
    Raises MissingDependencyError without onnx and onnxscript."""
    onnx = _require_onnx()
    return MIN_OPSET, min(MAX_OPSET, onnx.defs.onnx_opset_version())


def _example_input(info):
    # Batch 2 and unequal sides, so torch.export specialises none of the dynamic sizes to a
    # constant (it does so for sizes 0 and 1, and ties equal sides together).
    lo, hi = info.value_range
    m = info.size_multiple
    return torch.rand(2, info.in_channels, 2 * m, 3 * m) * (hi - lo) + lo


class _Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records = []

    def emit(self, record):
        self.records.append(record)


@contextlib.contextmanager
def _exporter_quiet():
    """Collects the exporter's log records (yielded) and drops its warnings instead of
    printing them: it logs a traceback and goes on when an opset conversion fails."""
    handler = _Records()
    loggers = [logging.getLogger(name) for name in _EXPORTER_LOGGERS]
    # torch's logging puts a stream handler on "torch.onnx" itself: swap the handlers, too.
    saved = [(logger.handlers, logger.propagate, logger.level) for logger in loggers]
    for logger in loggers:
        logger.handlers = [handler]
        logger.propagate = False
        logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield handler.records
    finally:
        for logger, (handlers, propagate, level) in zip(loggers, saved):
            logger.handlers = handlers
            logger.propagate = propagate
            logger.setLevel(level)


def _last_cause(records):
    """The exception (else the message) of the last log record, in one line."""
    for record in reversed(records):
        error = record.exc_info[1] if record.exc_info else None
        text = str(error) if error is not None else record.getMessage()
        lines = text.strip().splitlines()
        if lines:
            return lines[0].strip()
    return ""


@contextlib.contextmanager
def _atomic_output(path):
    """Yields a temporary path in the folder of `path` (a symbolic link's target); once the
    block has written it, fsyncs it and renames it to `path`. Removes it if anything fails."""
    target = os.path.realpath(path)
    folder, name = os.path.split(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=f".tmp{os.path.splitext(name)[1]}", dir=folder)
    os.close(fd)
    try:
        yield tmp
        # mkstemp made it 0600; give it the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):  # a folder that cannot be fsync'ed still holds the file
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def _opset_of(model_proto):
    versions = {o.domain: o.version for o in model_proto.opset_import}
    return versions.get("", versions.get("ai.onnx"))


def export_onnx(module, info, path, opset=DEFAULT_OPSET):
    """Writes `module` (the generator `info` describes) to the ONNX file `path`, atomically.

    Dynamic batch, height and width; height and width are declared as multiples of
    info.size_multiple (the U-Net's skip connections only line up there). Returns the path.
    Raises MissingDependencyError without onnx/onnxscript, OpsetError for an opset outside
    supported_opsets() or one the exporter did not reach for this model (nothing is written
    then), OSError when the file cannot be written.
    """
    onnx = _require_onnx()
    lo, hi = supported_opsets()
    if not lo <= opset <= hi:
        raise OpsetError(f"opset {opset} is not supported: the ONNX export writes opsets {lo} to {hi}")
    from torch.export import Dim

    m = info.size_multiple
    dynamic_shapes = {"x": {0: Dim("batch", min=1), 2: m * Dim("h", min=1), 3: m * Dim("w", min=1)}}
    module = module.eval()
    with _exporter_quiet() as records:
        program = torch.onnx.export(module, (_example_input(info),), dynamo=True, opset_version=opset,
                                    input_names=[ONNX_INPUT], output_names=[ONNX_OUTPUT],
                                    dynamic_shapes=dynamic_shapes, verbose=False)
        program.model.metadata_props.update(info.metadata())
        program.model.doc_string = info.metadata()["description"]
        with _atomic_output(path) as tmp:
            program.save(tmp, external_data=False)
            written = _opset_of(onnx.load(tmp, load_external_data=False))
            if written != opset:
                cause = _last_cause(records)
                raise OpsetError(f"the exporter could not convert this {info.generator} to opset {opset} "
                                 f"(it stayed at {written}{': ' + cause if cause else ''})\n"
                                 f"HINT: use opset {DEFAULT_OPSET}, which it builds without conversion")
            onnx.checker.check_model(tmp, full_check=True)
    return path


def export_torchscript(module, info, path):
    """Writes `module` as TorchScript (torch.jit.script) to `path`, atomically, the metadata as
    the extra file "cyclegan_dist.json". Returns the path. Raises OSError when the file cannot
    be written."""
    with warnings.catch_warnings():
        # torch.jit is deprecated for Python deployment since 2.10, but it is still the format
        # LibTorch's torch::jit::load reads; scripting keeps every size dynamic.
        warnings.simplefilter("ignore", DeprecationWarning)
        scripted = torch.jit.script(module.eval())
    # Saved to memory first: torch's file writer throws from its destructor when a write
    # fails (disk full), and that ends the process with std::terminate.
    buffer = io.BytesIO()
    torch.jit.save(scripted, buffer, _extra_files={TORCHSCRIPT_METADATA: json.dumps(info.metadata())})
    with _atomic_output(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(buffer.getbuffer())
    return path


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message):
        # One line, like every other error of this command (argparse prints the usage first).
        self.exit(2, f"error: {message} (see --help)\n")


def _one_line(message):
    """A message of ours ("X: what\\nHINT: how") as one line."""
    return "; ".join(line.strip() for line in str(message).strip().splitlines() if line.strip())


def _write_error(error):
    """What went wrong in writing an output, without the temporary file's name."""
    if isinstance(error, OSError) and error.strerror:
        return f"cannot write it: {error.strerror}"
    lines = str(error).strip().splitlines()
    return f"export failed: {type(error).__name__}" + (f": {lines[0]}" if lines else "")


def _output_problem(path):
    """Why `path` cannot take an output (None if it can): checked before the (slow) export,
    so that one bad output stops the run before the other is written."""
    if os.path.isdir(path):
        return "is a directory; give a file name"
    if os.path.lexists(path) and not os.path.isfile(path):
        return "exists and is not a regular file"
    folder = os.path.dirname(os.path.realpath(path))
    try:
        fd, probe = tempfile.mkstemp(prefix=".cyclegan_dist_export.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        return f"cannot create a file in {folder}: {e.strerror}"
    return None


def main(argv=None):
    parser = _ArgumentParser(
        prog="python -m cyclegan_dist.export",
        description="Export a generator of a cyclegan_translate --export-pytorch directory to ONNX "
                    "and/or TorchScript. Errors: one line on stderr; exit 2 for a wrong flag, value "
                    "or input directory, 1 for an output that could not be written.")
    parser.add_argument("directory", help="folder written by cyclegan_translate --export-pytorch")
    parser.add_argument("--direction", choices=sorted(DIRECTIONS), default="AtoB",
                        help="AtoB: G (domain A -> B, default); BtoA: F (B -> A)")
    parser.add_argument("--onnx", metavar="FILE", help="write an ONNX model here")
    parser.add_argument("--torchscript", metavar="FILE", help="write a TorchScript module here")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET,
                        help=f"ONNX opset, {MIN_OPSET} to {MAX_OPSET} (default {DEFAULT_OPSET})")
    args = parser.parse_args(argv)
    outputs = [(flag, path) for flag, path in (("--torchscript", args.torchscript), ("--onnx", args.onnx))
               if path is not None]
    if not outputs:
        parser.error("give --onnx FILE and/or --torchscript FILE")
    if any(not path for _, path in outputs):
        parser.error(f"{next(flag for flag, path in outputs if not path)} needs a file name")
    if len(outputs) == 2 and os.path.realpath(args.onnx) == os.path.realpath(args.torchscript):
        parser.error(f"--onnx and --torchscript name the same file {args.onnx}")

    def fail(code, message):
        print(f"error: {_one_line(message)}", file=sys.stderr)
        return code

    if args.onnx:
        try:
            lo, hi = supported_opsets()
        except MissingDependencyError as e:
            return fail(2, e)
        if not lo <= args.opset <= hi:
            parser.error(f"argument --opset: {args.opset} is not supported; the ONNX export writes opsets "
                         f"{lo} to {hi}")
    for flag, path in outputs:
        problem = _output_problem(path)
        if problem:
            return fail(1, f"{flag} {path}: {problem}")
    if not os.path.isdir(args.directory):
        what = "is not a directory" if os.path.exists(args.directory) else "no such directory"
        return fail(2, f"{args.directory}: {what}; HINT: write an export with cyclegan_translate "
                       f"--checkpoint RUN_DIR --export-pytorch {args.directory}")
    # The command's contract is one line per error: warnings of torch and the exporter (about
    # deprecations, or an opset conversion it then reports by its result) stay off stderr.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            info = generator_info(args.directory, args.direction)
            module = load_exported(args.directory, args.direction)
        except (ExportFormatError, FileNotFoundError) as e:
            return fail(2, e)
        for flag, path in outputs:
            try:
                if flag == "--torchscript":
                    export_torchscript(module, info, path)
                    print(f"wrote {path}", flush=True)
                else:
                    export_onnx(module, info, path, args.opset)
                    print(f"wrote {path} (opset {args.opset})", flush=True)
            except OpsetError as e:
                return fail(2, f"--opset {args.opset}: {e}")
            except Exception as e:  # noqa: BLE001  (anything the writers or the exporter raise)
                return fail(1, f"{flag} {path}: {_write_error(e)}")
    print(info.metadata()["description"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
