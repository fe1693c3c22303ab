# shellcheck shell=bash disable=SC2154  # $bin is the sourcing script's
# Sourced by bench/demo_quality.sh and bench/colorfulness_trajectory.sh: the two gray ->
# colour photo sets of issue 27, made when missing. Needs $bin (the build directory).
# data_of SET: prints the 32x32 data directory of SET (demo | photos2).
data_of() {
  case "$1" in
    demo)
      [ -f "$CYCLEGAN_ROOT/data/demo/32x32/manifest.json" ] ||
        "$bin/cyclegan_data" demo --output "$CYCLEGAN_ROOT/data/demo" --overwrite >&2
      echo "$CYCLEGAN_ROOT/data/demo/32x32" ;;
    photos2)
      [ -f "$CYCLEGAN_ROOT/data/photos2/32x32/manifest.json" ] ||
        "$bin/cyclegan_data" demo --photo-set opencv --output "$CYCLEGAN_ROOT/data/photos2" --sizes 32 --overwrite >&2
      echo "$CYCLEGAN_ROOT/data/photos2/32x32" ;;
    *) echo "unknown set $1 (demo|photos2)" >&2; exit 2 ;;
  esac
}
