"""Helpers shared by the Python end-to-end tests (tests/**/*.py). A script imports them with

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from e2e_util import check, run  # noqa: E402

Checks, two kinds:
  check(ok, message)       the first one that fails ends the test: one line "FAIL: message"
                           on stderr, exit 1 (fail(message) does the same unconditionally)
  soft_check(ok, message)  prints "ok    message" or "FAIL  message" and goes on, for tests
                           that compare many numbers and should report them all;
                           finish_soft_checks() then exits 1 listing the failed ones
  skip(reason)             "SKIP: reason", exit 77 (CTest's SKIP_RETURN_CODE of our tests)
Commands, two kinds:
  run(cmd, expect=0)       prints "$ cmd", captures stdout and stderr as text; an exit status
                           other than `expect` (None: any) fails the test with the end of both
  run_step(cmd)            prints "+ cmd", output not captured unless asked, raises
                           CalledProcessError on a non-zero exit, then prints its wall time
Keyword arguments of run and run_step go to subprocess.run (env, cwd, timeout, input, ...).
"""
import subprocess
import sys
import time

_soft_failures = []


def fail(message):
    sys.stdout.flush()  # what the test printed so far comes before the verdict
    print("FAIL:", message, file=sys.stderr, flush=True)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def skip(reason):
    print("SKIP:", reason, flush=True)
    sys.exit(77)


def soft_check(ok, message):
    print(("ok    " if ok else "FAIL  ") + message, flush=True)
    if not ok:
        _soft_failures.append(message)


def finish_soft_checks():
    if _soft_failures:
        print(f"{len(_soft_failures)} check(s) failed:\n  " + "\n  ".join(_soft_failures), flush=True)
        sys.exit(1)
    print("all checks passed", flush=True)


def run(cmd, expect=0, **kwargs):
    print("$ " + " ".join(map(str, cmd)), flush=True)
    result = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if expect is not None:
        check(result.returncode == expect,
              f"{' '.join(map(str, cmd))} exited {result.returncode}, expected {expect}:\n"
              f"{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return result


def run_step(cmd, **kwargs):
    start = time.time()
    print("+ " + " ".join(map(str, cmd)), flush=True)
    result = subprocess.run(cmd, check=True, text=True, **kwargs)
    print(f"  ({time.time() - start:.1f} s)", flush=True)
    return result
