#!/usr/bin/env python3
"""Writes small CIFAR-10 "python version" batches for tests/dataset_tools/cifar10_test.cpp.

    make_cifar_pickles.py OUT_DIR               test batches (needs numpy)
    make_cifar_pickles.py --fuzz-seeds OUT_DIR  a tiny seed corpus for cifar_fuzz

Test batches (data_batch_1..5 with 2 images each, test_batch with 1, plus batches.meta):
    OUT_DIR/py2/  Python 2 cPickle protocol 2, built byte by byte as the real distribution
                  is: SHORT_BINSTRING/BINSTRING str, numpy.core.multiarray._reconstruct,
                  BINPUT memo from 1 (needs no numpy)
    OUT_DIR/p2/   pickle.dump(..., protocol=2) of a dict with bytes keys (as Python 3's
                  pickle.load(f, encoding='bytes') returns the real batches)
    OUT_DIR/p4/   protocol 4, str keys (as encoding='latin1' returns them)
    OUT_DIR/p5/   protocol 5, bytes keys (numpy writes _frombuffer with an in-band buffer)
    OUT_DIR/bad/  float64 (data is float64), missing_labels, truncated (half of
                  p2/data_batch_1), fortran (a Fortran-order array under protocol 5)

Pixel j of image i in batch b (b = 5 for test_batch), in CIFAR's planar layout, is
(31 * b + 17 * i + 7 * j) % 256; its label is (b + 3 * i) % 10. The C++ test uses the
same formulas.
"""
import os
import pickle
import struct
import sys

PIXELS = 3072
BATCHES = ["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5",
           "test_batch"]
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
           "truck"]


def batch_count(b):
    return 1 if b == 5 else 2


def pixel_bytes(b, n):
    return bytes((31 * b + 17 * i + 7 * j) % 256 for i in range(n) for j in range(PIXELS))


def labels_of(b, n):
    return [(b + 3 * i) % 10 for i in range(n)]


def batch_label(b):
    return "testing batch 1 of 1" if b == 5 else "training batch %d of 5" % (b + 1)


def filenames_of(b, n):
    return ["img_%d_%d.png" % (b, i) for i in range(n)]


class Py2Pickler:
    """Emits what Python 2.7 cPickle.dump(obj, f, 2) writes for the CIFAR dicts."""

    def __init__(self):
        self.out = bytearray(b"\x80\x02")
        self.memo = 1

    def put(self):
        self.out += (b"q" + bytes([self.memo]) if self.memo < 256
                     else b"r" + struct.pack("<I", self.memo))
        self.memo += 1

    def save_int(self, v):
        if 0 <= v < 256:
            self.out += b"K" + bytes([v])
        elif 0 <= v < 65536:
            self.out += b"M" + struct.pack("<H", v)
        else:
            self.out += b"J" + struct.pack("<i", v)

    def save_str(self, s):
        if isinstance(s, str):
            s = s.encode("latin1")
        self.out += (b"U" + bytes([len(s)]) if len(s) < 256
                     else b"T" + struct.pack("<i", len(s))) + s
        self.put()

    def save_global(self, module, name):
        self.out += b"c" + module.encode() + b"\n" + name.encode() + b"\n"
        self.put()

    def batched(self, items, save, one_op, many_op):
        # cPickle writes batches of 1000: MARK ... APPENDS/SETITEMS, or a lone APPEND/SETITEM.
        for start in range(0, len(items), 1000):
            chunk = items[start:start + 1000]
            if len(chunk) > 1:
                self.out += b"("
            for item in chunk:
                save(item)
            self.out += many_op if len(chunk) > 1 else one_op

    def save_list(self, items, save):
        self.out += b"]"
        self.put()
        self.batched(items, save, b"a", b"e")

    def save_uint8_array(self, shape, data):
        self.save_global("numpy.core.multiarray", "_reconstruct")
        self.save_global("numpy", "ndarray")
        self.save_int(0)
        self.out += b"\x85"
        self.put()
        self.save_str("b")
        self.out += b"\x87"
        self.put()
        self.out += b"R"
        self.put()
        self.out += b"("
        self.save_int(1)
        for d in shape:
            self.save_int(d)
        self.out += b"\x86" if len(shape) == 2 else b"\x85"
        self.put()
        self.save_global("numpy", "dtype")
        self.save_str("u1")
        self.save_int(0)
        self.save_int(1)
        self.out += b"\x87"
        self.put()
        self.out += b"R"
        self.put()
        self.out += b"("
        self.save_int(3)
        self.save_str("|")
        self.out += b"NNN" + b"J" + struct.pack("<i", -1) + b"J" + struct.pack("<i", -1)
        self.save_int(0)
        self.out += b"t"
        self.put()
        self.out += b"b\x89"
        self.save_str(data)
        self.out += b"t"
        self.put()
        self.out += b"b"

    def save_dict(self, pairs):
        self.out += b"}"
        self.put()

        def save_pair(pair):
            self.save_str(pair[0])
            pair[1]()

        self.batched(pairs, save_pair, b"s", b"u")

    def finish(self):
        return bytes(self.out + b".")


def py2_batch(b, n, data=None, shape=None):
    p = Py2Pickler()
    data = pixel_bytes(b, n) if data is None else data
    p.save_dict([
        ("data", lambda: p.save_uint8_array(shape or (n, PIXELS), data)),
        ("labels", lambda: p.save_list(labels_of(b, n), p.save_int)),
        ("batch_label", lambda: p.save_str(batch_label(b))),
        ("filenames", lambda: p.save_list(filenames_of(b, n), p.save_str)),
    ])
    return p.finish()


def py2_meta():
    p = Py2Pickler()
    p.save_dict([
        ("num_cases_per_batch", lambda: p.save_int(10000)),
        ("label_names", lambda: p.save_list(CLASSES, p.save_str)),
        ("num_vis", lambda: p.save_int(PIXELS)),
    ])
    return p.finish()


def py3_batch(np, b, n, str_keys, dtype="uint8", data=None):
    if data is None:
        data = np.frombuffer(pixel_bytes(b, n), dtype=np.uint8).reshape(n, PIXELS)
    d = {"batch_label": batch_label(b), "labels": labels_of(b, n),
         "data": data.astype(dtype), "filenames": filenames_of(b, n)}
    if str_keys:
        return d
    return {k.encode(): (v.encode() if isinstance(v, str) else
                         [x.encode() for x in v] if k == "filenames" else v)
            for k, v in d.items()}


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def make_test_batches(out):
    import numpy as np
    for b, name in enumerate(BATCHES):
        n = batch_count(b)
        write(os.path.join(out, "py2", name), py2_batch(b, n))
        for protocol, str_keys in ((2, False), (4, True), (5, False)):
            path = os.path.join(out, "p%d" % protocol, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                pickle.dump(py3_batch(np, b, n, str_keys), f, protocol=protocol)
    write(os.path.join(out, "py2", "batches.meta"), py2_meta())
    meta = {b"num_cases_per_batch": 10000, b"label_names": [c.encode() for c in CLASSES],
            b"num_vis": PIXELS}
    write(os.path.join(out, "p2", "batches.meta"), pickle.dumps(meta, protocol=2))

    bad = os.path.join(out, "bad")
    write(os.path.join(bad, "float64"), pickle.dumps(
        py3_batch(np, 0, 2, False, dtype="float64"), protocol=2))
    no_labels = py3_batch(np, 0, 2, True)
    del no_labels["labels"]
    write(os.path.join(bad, "missing_labels"), pickle.dumps(no_labels, protocol=4))
    with open(os.path.join(out, "p2", "data_batch_1"), "rb") as f:
        whole = f.read()
    write(os.path.join(bad, "truncated"), whole[:len(whole) // 2])
    fortran = np.asfortranarray(
        np.frombuffer(pixel_bytes(0, 2), dtype=np.uint8).reshape(2, PIXELS))
    write(os.path.join(bad, "fortran"), pickle.dumps(
        py3_batch(np, 0, 2, False, data=fortran), protocol=5))


def make_fuzz_seeds(out):
    os.makedirs(out, exist_ok=True)
    write(os.path.join(out, "binary_1"), bytes([3]) + pixel_bytes(0, 1))
    write(os.path.join(out, "py2_1"), py2_batch(0, 1))
    write(os.path.join(out, "py2_small"), py2_batch(0, 1, data=bytes(range(4)), shape=(1, 4)))
    write(os.path.join(out, "py2_meta"), py2_meta())
    try:
        import numpy as np
    except ImportError:
        print("make_cifar_pickles.py: no numpy, writing only the Python 2 style seeds",
              file=sys.stderr)
        return
    small = np.arange(4, dtype=np.uint8).reshape(1, 4)
    for protocol in (2, 4, 5):
        write(os.path.join(out, "p%d_1" % protocol),
              pickle.dumps(py3_batch(np, 0, 1, protocol == 4), protocol=protocol))
        write(os.path.join(out, "p%d_small" % protocol),
              pickle.dumps(py3_batch(np, 0, 1, protocol != 4, data=small), protocol=protocol))


def main(argv):
    if len(argv) == 3 and argv[1] == "--fuzz-seeds":
        make_fuzz_seeds(argv[2])
    elif len(argv) == 2 and not argv[1].startswith("-"):
        make_test_batches(argv[1])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
