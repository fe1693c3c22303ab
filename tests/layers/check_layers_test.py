"""scripts/check_layers passes on the tree and catches each kind of violation.

On a temporary copy of src/ and dataset_tools/, adds one bad include at a time (a layer
pointing up, src/ including dataset_tools/, a bare header name, an include whose folder the
target does not link) and checks that the script exits 1 naming the file, line and rule.

  python check_layers_test.py REPO
"""
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from e2e_util import check, run  # noqa: E402

REPO = os.path.abspath(sys.argv[1])
SCRIPT = os.path.join(REPO, "scripts", "check_layers")


def check_layers(root):
    """scripts/check_layers on the tree at `root`: (exit status, stdout + stderr)."""
    result = run([sys.executable, SCRIPT, root], expect=None, timeout=60)
    return result.returncode, result.stdout + result.stderr


def main():
    code, out = check_layers(REPO)
    check(code == 0, f"the tree itself fails the check:\n{out}")
    cases = [
        # file, line added, what the violation line must contain
        ("src/model/cycle_gan.h", '#include "data/shard.h"',
         "src/model/cycle_gan.h:{n}: layer: model"),
        ("src/eval/fid.h", '#include "parallel/communicator.h"', "src/eval/fid.h:{n}: layer: eval"),
        ("src/infer/translator.cpp", '#include "stb_image.h"',
         "src/infer/translator.cpp:{n}: bare:"),
        ("src/infer/translator.cpp", '#include "build_cifar.h"',
         "src/infer/translator.cpp:{n}: tools:"),
        ("src/infer/translator.cpp", '#include "dataset_tools/build_cifar.h"',
         "src/infer/translator.cpp:{n}: tools:"),
        ("src/infer/translator.cpp", '#include "metrics/prometheus_exporter.h"',
         "src/infer/translator.cpp:{n}: cmake: includes \"metrics/prometheus_exporter.h\""),
    ]
    for path, line, expected in cases:
        with tempfile.TemporaryDirectory(prefix="check_layers_") as root:
            for tree in ("src", "dataset_tools"):
                shutil.copytree(os.path.join(REPO, tree), os.path.join(root, tree))
            target = os.path.join(root, path)
            with open(target) as f:
                lines = f.read().split("\n")
            # After the last include, so the line number is not the first.
            at = max(i for i, text in enumerate(lines) if text.startswith("#include")) + 1
            lines.insert(at, line)
            with open(target, "w") as f:
                f.write("\n".join(lines))
            code, out = check_layers(root)
            want = expected.format(n=at + 1)
            check(code == 1, f"{path} + {line}: exit {code}, expected 1:\n{out}")
            check(want in out, f"{path} + {line}: no '{want}' in:\n{out}")
            violations = [l for l in out.splitlines() if l.startswith("src/")]
            check(len(violations) == 1 or "layer" in want, f"{path} + {line}: extra lines:\n{out}")
            print(f"caught: {violations[0]}")
    print("PASS")


if __name__ == "__main__":
    main()
