"""Helpers shared by the end-to-end test scripts: a failed check ends the test with one line,
a command that exits otherwise than expected shows the end of its stderr."""
import subprocess
import sys


def check(condition, message):
    if not condition:
        print("FAIL:", message, file=sys.stderr)
        sys.exit(1)


def run(cmd, expect=0):
    result = subprocess.run(cmd, capture_output=True, text=True)
    check(result.returncode == expect,
          f"{' '.join(cmd)} exited {result.returncode}, expected {expect}:\n{result.stderr[-3000:]}")
    return result
