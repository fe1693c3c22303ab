# Shared settings for the scripts in this folder; source it, do not run it.
# CYCLEGAN_CACHE holds the Python virtual environment with the pinned torch wheel.
CYCLEGAN_CACHE="${CYCLEGAN_CACHE:-$HOME/.cache/cyclegan_dist}"
CYCLEGAN_VENV="$CYCLEGAN_CACHE/venv"
# The FID/KID Inception weights (scripts/setup fetches them; cyclegan_dist --inception overrides).
export CYCLEGAN_INCEPTION="${CYCLEGAN_INCEPTION:-$CYCLEGAN_CACHE/fid/inception-2015-12-05.pt}"
CYCLEGAN_TORCH_VERSION="2.11.0"
CYCLEGAN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CYCLEGAN_BUILD="${CYCLEGAN_BUILD:-$CYCLEGAN_ROOT/build}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
