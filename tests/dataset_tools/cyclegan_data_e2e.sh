#!/usr/bin/env bash
# cyclegan_data end to end on files in the published formats: the CIFAR-10 binary and
# python versions (generated), a folder of real JPEG and PNG photographs (opencv-doc), and
# the demo data set (mate-backgrounds); each result inspects, verifies, opens in h5dump and
# trains cyclegan_dist. Bad input gets one error naming the file and leaves no valid-looking
# data set behind.
set -euo pipefail
tool="$1"; train="$2"; python="$3"; pickles="$4"; photos="${5:-/usr/share/doc/opencv-doc/examples}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
expect_error() {  # expect_error CODE PATTERN command...: fails unless exit CODE and one error line matching
  local code="$1" pattern="$2"; shift 2
  set +e; "$@" > "$work/err.log" 2>&1; local rc=$?; set -e
  [ "$rc" -eq "$code" ] || { cat "$work/err.log"; fail "expected exit $code, got $rc: $*"; }
  grep -q -- "$pattern" "$work/err.log" || { cat "$work/err.log"; fail "error does not say '$pattern'"; }
  [ "$(grep -c 'error' "$work/err.log")" -eq 1 ] || { cat "$work/err.log"; fail "expected one error line"; }
}
train_steps() {  # train_steps DATA extra flags...: two training steps on a data set
  local data="$1"; shift
  "$train" --data "$data" --run-dir "$work/run_$(basename "$data")" --steps 2 --batch-size 2 \
    --sample-every 0 --checkpoint-every 0 --threads 1 "$@" > "$work/train.log" 2>&1 \
    || { cat "$work/train.log"; fail "training on $data failed"; }
  grep -q "step 2/2" "$work/train.log" || { cat "$work/train.log"; fail "no step 2 on $data"; }
}

# CIFAR-10 binary version: 5 training batches of 20 records and a test batch of 10.
mkdir -p "$work/cifar-bin/cifar-10-batches-bin"
"$python" - "$work/cifar-bin/cifar-10-batches-bin" <<'PY'
import os, sys
out = sys.argv[1]
for name, n in [(f"data_batch_{b}.bin", 20) for b in range(1, 6)] + [("test_batch.bin", 10)]:
    with open(os.path.join(out, name), "wb") as f:
        for i in range(n):
            f.write(bytes([i % 10]) + bytes((i * 7 + j) % 256 for j in range(3072)))
PY
"$tool" cifar10 --input "$work/cifar-bin" --output "$work/cifar-colorize" > "$work/c.log" 2>&1 \
  || { cat "$work/c.log"; fail "cifar10 binary colorize"; }
grep -q "train A: 50 images 32x32x1 (gray)" "$work/c.log" || { cat "$work/c.log"; fail "colorize A"; }
grep -q "train B: 50 images 32x32x3 (RGB)" "$work/c.log" || fail "colorize B"
grep -q "test A: 10 images 32x32x1" "$work/c.log" || fail "colorize test A"
grep -q "test split paired" "$work/c.log" || fail "colorize test split must be paired"
"$tool" verify "$work/cifar-colorize" | grep -q "120 image(s) verified, 0 problem(s)" || fail "verify colorize"
h5dump -H "$work/cifar-colorize/train_B_00000.h5" | grep -q "( 50, 32, 32, 3 )" || fail "h5dump shape"
train_steps "$work/cifar-colorize" --preset cifar-colorize
# h5py (as users load shards elsewhere) sees plain uint8 arrays, the attributes and the checksums.
"$python" - "$work/cifar-colorize" <<'PY' || fail "h5py does not read the shards as documented"
import json, sys, zlib
import h5py
root = sys.argv[1]
manifest = json.load(open(f"{root}/manifest.json"))
for shard in manifest["shards"]:
    with h5py.File(f"{root}/{shard['file']}", "r") as f:
        images = f["images"]
        assert images.dtype == "uint8", images.dtype
        assert images.shape == (shard["count"], shard["height"], shard["width"], shard["channels"]), images.shape
        attrs = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        assert attrs["domain"] == shard["domain"] and attrs["split"] == shard["split"], attrs
        assert attrs["count"] == shard["count"] and attrs["format_version"] == 1, attrs
        for i in (0, shard["count"] - 1):
            assert zlib.crc32(images[i].tobytes()) == int(f["checksums"][i]), (shard["file"], i)
PY

"$tool" cifar10 --input "$work/cifar-bin" --output "$work/cifar-classes" --task classes --a cat --b dog \
  > "$work/c2.log" 2>&1 || { cat "$work/c2.log"; fail "cifar10 classes"; }
grep -q "train A: 10 images 32x32x3" "$work/c2.log" || { cat "$work/c2.log"; fail "classes: 10 cats"; }
expect_error 2 "unknown class\|valid" "$tool" cifar10 --input "$work/cifar-bin" --output "$work/x" --task classes --a cat --b unicorn

# CIFAR-10 python version, pickled as Python 2's cPickle did.
"$python" "$pickles" "$work/pickles" > /dev/null
mkdir -p "$work/cifar-py/cifar-10-batches-py" && cp "$work"/pickles/py2/* "$work/cifar-py/cifar-10-batches-py/"
"$tool" cifar10 --input "$work/cifar-py" --output "$work/cifar-py-set" > "$work/p.log" 2>&1 \
  || { cat "$work/p.log"; fail "cifar10 python"; }
grep -q "python version" "$work/p.log" || fail "python version not detected"
grep -q "train A: 5 images" "$work/p.log" || { cat "$work/p.log"; fail "python colorize counts"; }

# A CIFAR batch of the wrong length: one error naming it, no data set written.
truncate -s 3000 "$work/cifar-bin/cifar-10-batches-bin/data_batch_3.bin"
expect_error 1 "data_batch_3.bin.*3000" "$tool" cifar10 --input "$work/cifar-bin" --output "$work/broken"
[ ! -e "$work/broken/manifest.json" ] || fail "a failed conversion left a manifest"

# A folder in the official layout, of real photographs (JPEG and PNG).
mkdir -p "$work/photos"/{trainA,trainB,testA,testB}
cp "$photos"/data/{baboon.jpg,apple.jpg,orange.jpg} "$work/photos/trainA/"
cp "$photos"/data/{home.jpg,building.jpg} "$photos"/reg/home.png "$work/photos/trainB/"
cp "$photos"/data/fruits.jpg "$work/photos/testA/"
cp "$photos"/data/smarties.png "$work/photos/testB/"
"$tool" folder --input "$work/photos" --output "$work/folder-set" --size 64 --threads 2 > "$work/f.log" 2>&1 \
  || { cat "$work/f.log"; fail "folder"; }
grep -q "train A: 3 images 72x72x3" "$work/f.log" || { cat "$work/f.log"; fail "folder: load size 72 = 64 * 286 / 256"; }
grep -q "test B: 1 images 64x64x3" "$work/f.log" || fail "folder: test at --size"
train_steps "$work/folder-set" --preset paper-256 --image-size 64 --n-blocks 2 --batch-size 1
"$tool" export "$work/folder-set" --output "$work/grid.png" --count 3 > /dev/null || fail "export"
[ -s "$work/grid.png" ] || fail "export wrote no PNG"

# An unreadable image in a folder: one error naming it; an existing data set is kept.
before=$(cat "$work/folder-set/manifest.json")
printf 'not a jpeg at all' > "$work/photos/trainB/zz_broken.jpg"
expect_error 1 "zz_broken.jpg" "$tool" folder --input "$work/photos" --output "$work/folder-broken" --size 64
[ ! -e "$work/folder-broken/manifest.json" ] || fail "a failed folder conversion left a manifest"
expect_error 1 "already holds a data set" "$tool" folder --input "$work/photos" --output "$work/folder-set" --size 64
[ "$(cat "$work/folder-set/manifest.json")" = "$before" ] || fail "an existing data set was changed"

# The demo data set from mate-backgrounds' nature photographs.
"$tool" demo --output "$work/demo" --sizes 32 --train-images 40 --test-images 8 > "$work/d.log" 2>&1 \
  || { cat "$work/d.log"; fail "demo"; }
"$tool" inspect "$work/demo/32x32" | grep -q "train A: 40 images 32x32x1 (gray)" || fail "demo inspect"
expect_error 1 "mate-backgrounds" "$tool" demo --output "$work/demo2" --photos "$work/nowhere"
# The second photo set (opencv-doc's sample photographs), paired test split like the demo's.
"$tool" demo --photo-set opencv --output "$work/photos2" --sizes 32 --train-images 40 --test-images 8 \
  > "$work/d2.log" 2>&1 || { cat "$work/d2.log"; fail "demo --photo-set opencv"; }
"$tool" inspect "$work/photos2/32x32" | grep -q "opencv-doc sample photographs" || fail "opencv set inspect"
"$tool" inspect "$work/photos2/32x32" | grep -q "test split paired" || fail "opencv set not paired"
expect_error 1 "opencv-doc" "$tool" demo --photo-set opencv --output "$work/demo3" --photos "$work/nowhere"
expect_error 2 "--photo-set must be mate or opencv" "$tool" demo --photo-set bogus --output "$work/demo4"

# Damage: verify finds it, training refuses it with the file's name.
shard="$work/demo/32x32/train_B_00000.h5"
printf '\xff\xff\xff\xff' | dd of="$shard" bs=1 seek=$(( $(stat -c %s "$shard") - 2000 )) conv=notrunc status=none
set +e; "$tool" verify "$work/demo/32x32" > "$work/v.log" 2>&1; rc=$?; set -e
[ "$rc" -eq 1 ] || { cat "$work/v.log"; fail "verify must exit 1 on a damaged shard"; }
grep -q "train_B_00000.h5" "$work/v.log" || { cat "$work/v.log"; fail "verify does not name the shard"; }
truncate -s 100000 "$shard"
expect_error 1 "train_B_00000.h5.*truncated" "$train" --data "$work/demo/32x32" --run-dir "$work/r" --steps 1 --threads 1
expect_error 1 "manifest" "$train" --data "$work/photos" --run-dir "$work/r" --steps 1 --threads 1
echo "cyclegan_data end-to-end: ok"
