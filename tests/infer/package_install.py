"""`pip install ./python` into a fresh virtual environment that has only torch (and the
packages torch itself requires), then package_checks.py in it.

torch is not downloaded again: the fresh venv sees the project venv's torch through a .pth
file naming a folder of symlinks to torch and its dependency closure (their packages and
.dist-info folders), so `import torch` works and pip counts torch as installed. pip then
installs ./python the ordinary way: it resolves the package's dependencies (torch: already
satisfied) and builds the wheel in an isolated build environment, for which it fetches the
build backend (setuptools, about 1 MB) from the package index.

  python package_install.py --work DIR --export EXPORT_ROOT
  (run with the project venv's python; EXPORT_ROOT holds seed/ and paper/ written by
  PytorchExportWrite)
"""
import argparse
import importlib.metadata as metadata
import os
import re
import shutil
import sys

from packaging.requirements import Requirement

HERE = os.path.dirname(os.path.abspath(__file__))
PACKAGE_SOURCE = os.path.abspath(os.path.join(HERE, "..", "..", "python"))
sys.path.insert(0, os.path.join(HERE, ".."))
from e2e_util import fail, run_step  # noqa: E402


def dependency_closure(name):
    """The installed distributions `name` needs on this platform, `name` included, following
    the extras a requirement asks for (torch wants cuda-toolkit[cublas,...])."""
    seen, todo = {}, [(name, ())]
    while todo:
        wanted, extras = todo.pop()
        dist = metadata.distribution(wanted)
        key = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
        if (key, extras) in seen:
            continue
        seen[(key, extras)] = dist
        for text in dist.requires or []:
            req = Requirement(text)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in ("",) + extras):
                todo.append((req.name, tuple(sorted(req.extras))))
    return list({d.metadata["Name"]: d for d in seen.values()}.values())


def link_farm(folder, dists):
    """Symlinks every top-level file or folder of `dists` (from their RECORD) into `folder`."""
    os.makedirs(folder)
    for dist in dists:
        for top in sorted({f.parts[0] for f in dist.files or [] if f.parts[0] != ".."}):
            target, link = os.path.abspath(dist.locate_file(top)), os.path.join(folder, top)
            if os.path.exists(target) and not os.path.lexists(link):
                os.symlink(target, link)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", required=True)
    parser.add_argument("--export", required=True)
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    venv = os.path.join(args.work, "venv")
    python = os.path.join(venv, "bin", "python")

    run_step([sys.executable, "-m", "venv", venv])
    dists = dependency_closure("torch")
    print("torch and its dependencies: " + ", ".join(sorted(f"{d.metadata['Name']}=={d.version}" for d in dists)))
    farm = os.path.join(args.work, "torch_site")
    link_farm(farm, dists)
    site = run_step([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                    capture_output=True).stdout.strip()
    with open(os.path.join(site, "project_torch.pth"), "w") as f:
        f.write(farm + "\n")
    run_step([python, "-c", "import torch, importlib.metadata as m; print('torch', m.version('torch'), 'at', torch.__file__)"])

    # A copy: pip builds in the source folder, and setuptools would leave build/ and
    # *.egg-info in the checkout.
    source = os.path.join(args.work, "python")
    shutil.copytree(PACKAGE_SOURCE, source, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    env = dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1")
    out = run_step([python, "-m", "pip", "install", source], capture_output=True, env=env)
    print(out.stdout + out.stderr)
    installed = re.findall(r"^Successfully installed (.*)$", out.stdout, re.MULTILINE)
    if installed != ["cyclegan_dist-0.1.0"]:
        fail(f"pip installed {installed}, expected only cyclegan_dist-0.1.0 (torch and its "
             f"dependencies are present)")
    run_step([python, "-m", "pip", "check"], env=env)
    # From a folder outside the checkout, so that nothing but the installed copy is importable.
    run_step([python, os.path.join(HERE, "package_checks.py"), "--export", os.path.abspath(args.export),
              "--work", os.path.join(args.work, "checks")], cwd=args.work)
    print("the package installs into a venv with only torch and works there")


if __name__ == "__main__":
    main()
