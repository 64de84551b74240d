"""NumPy golden values for numfuse's reductions: writes tests/goldens/reduce.json.

Run by Debian's /usr/bin/python3 (python3-numpy):

    /usr/bin/python3 scripts/gen_reduce_goldens.py [OUTPUT]   # default tests/goldens/reduce.json, - for stdout

Every reduction (np.sum, np.prod, np.min, np.max, np.mean, np.any, np.all,
np.count_nonzero) over every dtype (bool, int8 ... uint64,
float16, float32, float64), whole and along each axis (also negative), on:

- data with NaN, +-Inf, -0.0, subnormals and integer extremes (the seeded
  generator of scripts/gen_goldens.py, imported, not copied), at lengths
  0, 1, 7 and 33, and integers chosen to overflow (sums and products wrap);
- the pairwise structure of float sums: lengths around 8, 128, 4096 and
  above, on "ramp" data that the tests rebuild exactly without storing it
  (element i is ((i * 7919) % 1009) / 1009 - 0.37 in float64, then cast),
  and past 8192, where NumPy sums chunk by chunk (its buffer size);
- float16, which NumPy sums and multiplies in float32 and rounds to float16
  after each chunk (a mean's sum stays float32): special values, a 2-D
  array, ramps, and products of "near_one" data (element i is
  1 + (((i * 7919) % 1009) / 1009 - 0.5) / 64 in float64, then cast);
- 2-D and 3-D arrays, and strided views of a flat base array (transposed,
  negative strides, an offset, a zero stride), described by shape, strides
  and offset in elements, as the native `reduce` takes them;
- NumPy's errors: an empty min/max (ValueError) and an axis out of bounds
  (AxisError), with their messages.

Encoding as in tests/goldens/numpy.json (floats as the hex of their bits,
int64 and uint64 as decimal strings, other integers and bool as JSON
numbers), plus the result's shape. tests/reduce_test.ts checks numfuse
against every case, and that this script reproduces the file byte for byte.
"""

import json
import os
import random
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_goldens  # noqa: E402  (NEP 50 promotion, the seeded data generator, encode)

SEED = 20261124
OPS = {
    "sum": np.sum,
    "prod": np.prod,
    "min": np.min,
    "max": np.max,
    "mean": np.mean,
    "any": np.any,
    "all": np.all,
    "count_nonzero": np.count_nonzero,
}
DTYPES = ("bool", "int32", "int64", "float32", "float64")
SMALL_INTS = ("int8", "uint8", "int16", "uint16", "uint32", "uint64")
PAIRWISE_LENGTHS = (8, 9, 15, 16, 17, 127, 128, 129, 130, 136, 255, 256, 257, 1000, 1023, 1024,
                    4095, 4096, 4097, 8191, 8192, 8193, 10007, 16385, 65536 + 123, 100003)


def encode(a):
    """The elements of an array, exactly (gen_goldens' encoding, plus the other integers)."""
    kind = a.dtype.name
    if kind in ("int64", "uint64"):
        return [str(int(x)) for x in a]
    if kind in SMALL_INTS:
        return [int(x) for x in a]
    return gen_goldens.encode(a)


def ramp(n, dtype):
    """Data the tests rebuild exactly: ((i * 7919) % 1009) / 1009 - 0.37, then cast."""
    i = np.arange(n, dtype=np.int64)
    return (((i * 7919) % 1009) / 1009.0 - 0.37).astype(dtype)


def near_one(n, dtype):
    """Data the tests rebuild exactly: 1 + (((i * 7919) % 1009) / 1009 - 0.5) / 64, then cast."""
    i = np.arange(n, dtype=np.int64)
    return (1 + (((i * 7919) % 1009) / 1009.0 - 0.5) / 64).astype(dtype)


def small_ints(r, dtype, n):
    info = np.iinfo(dtype)
    specials = [0, 1, info.max, info.min, info.max - 1, 2]
    return np.array([r.choice(specials) if r.random() < 0.4 else r.randint(info.min, info.max)
                     for _ in range(n)], dtype=dtype)


class Cases:
    def __init__(self):
        self.r = random.Random(SEED)
        self.cases = []
        self.group = ""

    def add(self, op, base, axis=None, view=None, gen=None):
        """One case: `op` over `base` (or its strided `view`), whole or along `axis`."""
        case = {"group": self.group, "op": op, "axis": axis}
        if gen is not None:
            case["input"] = {"dtype": base.dtype.name, "gen": gen, "n": int(base.size)}
        else:
            case["input"] = {"dtype": base.dtype.name, "data": encode(base.reshape(-1))}
        if view is not None:
            shape, strides, offset = view
            case["view"] = {"shape": list(shape), "strides": list(strides), "offset": offset}
            size = base.dtype.itemsize
            a = np.lib.stride_tricks.as_strided(
                base[offset:], shape=shape, strides=[s * size for s in strides])
            if any(s < 0 for s in strides):
                # as_strided cannot step back from base[offset:]: index the flat base instead.
                index = offset + sum(np.indices(shape)[d] * strides[d] for d in range(len(shape)))
                a = base.reshape(-1)[index] if len(shape) else base.reshape(-1)[offset]
        else:
            a = base
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                result = np.asarray(OPS[op](a, axis=axis))
        except ValueError as e:  # AxisError is a ValueError
            case["error"] = str(e)
        else:
            if op == "count_nonzero":
                result = result.astype(np.int64)
            case["dtype"] = result.dtype.name
            case["shape"] = list(result.shape)
            case["values"] = encode(result.reshape(-1))
        self.cases.append(case)


def build():
    c = Cases()
    c.group = "every reduction and dtype, special values"
    for op in OPS:
        for t in DTYPES:
            for n in (0, 1, 7, 33):
                c.add(op, gen_goldens.values(c.r, t, n))
    c.group = "other integer dtypes (binding level)"
    for op in OPS:
        for t in SMALL_INTS:
            for n in (0, 5, 33):
                c.add(op, small_ints(c.r, t, n))
    c.group = "overflow wraps"
    for t in ("int32", "int64", "uint64"):
        info = np.iinfo(t)
        for data in ([info.max, info.max, 3], [info.min, -1 if t != "uint64" else 1, info.max]):
            for op in ("sum", "prod", "mean"):
                c.add(op, np.array(data, dtype=t))
    c.group = "pairwise float sums"
    for t in ("float32", "float64"):
        for n in PAIRWISE_LENGTHS:
            for op in ("sum", "mean"):
                c.add(op, ramp(n, t), gen="ramp")
    c.group = "n-d, every axis"
    for t in DTYPES:
        for shape in ((3, 5), (4, 1, 6), (2, 3, 4), (0, 3)):
            base = gen_goldens.values(c.r, t, int(np.prod(shape))).reshape(shape)
            strides = [int(np.prod(shape[d + 1:])) for d in range(len(shape))]
            for op in OPS:
                for axis in [None, *range(len(shape)), -1]:
                    c.add(op, base.reshape(-1), axis, view=(shape, strides, 0))
    c.group = "strided views"
    for t in ("int32", "float64", "bool"):
        base = gen_goldens.values(c.r, t, 60)
        views = (
            ((5, 4), (1, 5), 0),       # transposed
            ((6, 5), (-5, 1), 29),     # rows reversed
            ((7,), (-3, ), 59),        # backwards, every third
            ((3, 4), (0, 2), 10),      # a zero stride: rows repeated
            ((2, 3, 2), (30, -4, 7), 9),
            ((), (), 17),              # 0-d
        )
        for view in views:
            for op in ("sum", "max", "mean", "count_nonzero", "all"):
                for axis in [None, *range(len(view[0]))]:
                    c.add(op, base, axis, view=view)
    for n in (1000, 4097):
        c.add("sum", ramp(2 * n, "float32"), view=((n,), (2,), 1), gen="ramp")
        c.add("sum", ramp(n, "float64"), view=((n,), (-1,), n - 1), gen="ramp")
        c.add("sum", ramp(n, "float64"), axis=0, view=((n // 7, 7), (7, 1), 0), gen="ramp")
        c.add("sum", ramp(n, "float32"), axis=1, view=((n // 7, 7), (7, 1), 0), gen="ramp")
    c.group = "errors"
    for op in ("min", "max"):
        c.add(op, np.zeros(0, dtype="float64"))
        c.add(op, np.zeros(0, dtype="int32"), axis=0, view=((0, 3), (3, 1), 0))
    for axis in (2, -3):
        c.add("sum", np.zeros(6, dtype="float64"), axis, view=((2, 3), (3, 1), 0))
    c.add("count_nonzero", np.zeros(3, dtype="int32"), 1)
    c.group = "float16"
    for op in OPS:
        for n in (0, 1, 7, 33):
            c.add(op, gen_goldens.values(c.r, "float16", n))
        base = gen_goldens.values(c.r, "float16", 12)
        for axis in (None, 0, 1):
            c.add(op, base, axis, view=((3, 4), (4, 1), 0))
    for n in PAIRWISE_LENGTHS:
        for op in ("sum", "mean"):
            c.add(op, ramp(n, "float16"), gen="ramp")
    for n in (100, 8192, 8193, 16385, 65536 + 123):
        c.add("prod", near_one(n, "float16"), gen="near_one")
    return c.cases


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/goldens/reduce.json"  # "-": stdout
    lines = [json.dumps(case, separators=(", ", ": ")) for case in build()]
    header = {"generator": "scripts/gen_reduce_goldens.py", "numpy": np.__version__, "seed": SEED}
    gen_goldens.write_goldens(path, header, lines)


if __name__ == "__main__":
    main()
