"""The device a reference generator runs on: CYCLEGAN_TEST_DEVICE as tests/test_device.h
reads it ("cuda" -> "cuda"; unset or "cpu" -> "cpu"); anything else, or cuda without a
visible device, ends the script with one line naming it. use_device() also sets cuDNN as
tests/test_device.h's use_deterministic_cudnn does, and as_bytes() writes a string (the
device, for the C++ test to check) into a reference file."""
import os
import sys

import torch


def test_device(script):
    value = os.environ.get("CYCLEGAN_TEST_DEVICE", "")
    if value in ("", "cpu"):
        return "cpu"
    if value != "cuda":
        sys.exit(f"{script}: CYCLEGAN_TEST_DEVICE={value}: expected cpu or cuda")
    if not torch.cuda.is_available():
        sys.exit(f"{script}: CYCLEGAN_TEST_DEVICE=cuda but torch.cuda.is_available() is False")
    return "cuda"


def use_device(script):
    """test_device(script), with cuDNN on CUDA choosing by heuristics (no benchmarking) among
    deterministic algorithms, as the C++ tests do (cg::test::use_deterministic_cudnn)."""
    device = test_device(script)
    if device == "cuda":
        torch.backends.cudnn.benchmark = False
        torch.backends.cudnn.deterministic = True
    return device


def as_bytes(text):
    """`text` as a uint8 tensor of its UTF-8 bytes (eval::testing::reference_text reads it)."""
    return torch.tensor(list(text.encode()), dtype=torch.uint8)
