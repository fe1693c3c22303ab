"""The device a reference generator runs on: CYCLEGAN_TEST_DEVICE as tests/test_device.h
reads it ("cuda" -> "cuda"; unset or "cpu" -> "cpu"); anything else, or cuda without a
visible device, ends the script with one line naming it."""
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
