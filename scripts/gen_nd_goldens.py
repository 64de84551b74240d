"""NumPy golden values for numfuse's N-d operands: writes tests/goldens/nd.json.

Run by Debian's /usr/bin/python3 (python3-numpy):

    /usr/bin/python3 scripts/gen_nd_goldens.py [OUTPUT]   # default tests/goldens/nd.json, - for stdout

Each case is an expression (or a program) over NumPy views: broadcasting,
negative strides, transposes, zero strides, zero-size dimensions, `where`
with three operands, scalars, a multi-statement program and large threaded
results. A view is recorded as numfuse takes it: its base array's elements
(`data`), and the view's `shape`, `strides` and `offset` in elements of that
base, read from NumPy's own view (so the layouts are NumPy's). A `plain`
input is a 1-D array passed as a bare TypedArray.

Large inputs are not stored: `{"iota": n, "dtype": d, "mod": m, "scale": s}`
stands for `(np.arange(n) % m) * s` in dtype d (exact in every dtype used),
and a large result is stored at every `stride`-th flat index only
(`"sample": stride`).

The data, the encoding and NumPy 2's promotion (NEP 50) come from
scripts/gen_goldens.py, imported; tests/nd_test.ts checks numfuse against
every case and that this script reproduces the file byte for byte.
"""

import json
import os
import random
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_goldens import (  # noqa: E402  (sets NEP 50)
    encode,
    encode_input,
    values,
    weak_where,
    write_goldens,
)

SEED = 20251124


def address(a):
    return a.__array_interface__["data"][0]


def view_input(base, view, plain=False):
    """A view of `base` as numfuse takes it: base data, shape, strides and offset in elements."""
    item = base.itemsize
    offset, rest = divmod(address(view) - address(base), item)
    assert rest == 0 and all(s % item == 0 for s in view.strides)
    entry = encode_input(base)
    if plain:
        assert view.ndim == 1 and view.strides == (item,) and offset == 0 and view.size == base.size
        entry["plain"] = True
        return entry
    entry["shape"] = list(view.shape)
    entry["strides"] = [s // item for s in view.strides]
    entry["offset"] = offset
    return entry


class Iota:
    """A large base array, `(np.arange(n) % mod) * scale` in `dtype`, stored as its recipe."""

    def __init__(self, n, dtype, mod, scale):
        self.spec = {"iota": n, "dtype": dtype, "mod": mod, "scale": scale}
        self.array = (np.arange(n) % mod * scale).astype(dtype)


class Cases:
    def __init__(self):
        self.r = random.Random(SEED)
        self.cases = []

    def data(self, dtype, n):
        return values(self.r, dtype, n)

    def add(self, name, expr, inputs, compute, assigned=(), sample=None):
        """Records one case. `inputs` maps names to (base, view, plain) or Python scalars;
        `compute` takes the views and scalars and returns the result (None for a program
        without one) after updating the arrays named in `assigned` in place."""
        case = {"name": name, "expr": expr, "inputs": {}}
        args = []
        for key, v in inputs.items():
            if isinstance(v, tuple):
                base, view = v[0], v[1]
                if isinstance(base, Iota):
                    entry = view_input(base.array, view)
                    del entry["data"]
                    case["inputs"][key] = dict(base.spec, **entry)
                else:
                    case["inputs"][key] = view_input(base, view, *v[2:])
                args.append(view)
            else:
                case["inputs"][key] = encode_input(v)
                args.append(v)
        with np.errstate(all="ignore"):
            result = compute(*args)
        if result is not None:
            result = np.asarray(result)
            flat = result.reshape(-1)
            case["shape"] = list(result.shape)
            case["dtype"] = result.dtype.name
            if sample is not None:
                case["sample"] = sample
                flat = flat[::sample]
            case["values"] = encode(flat)
        if assigned:
            case["assigned"] = {}
            for key in assigned:
                view = args[list(inputs).index(key)]
                case["assigned"][key] = {"dtype": view.dtype.name, "values": encode(view.reshape(-1))}
        self.cases.append(case)


def build():
    c = Cases()
    x = c.data("float64", 15)
    y = c.data("float32", 20)
    c.add("broadcast (3,1,5) with (4,5)", "x + y",
          {"x": (x, x.reshape(3, 1, 5)), "y": (y, y.reshape(4, 5))}, lambda a, b: a + b)
    p = c.data("float64", 5)
    c.add("a plain 1-D array with (3,1,5)", "x * p - 1",
          {"x": (x, x.reshape(3, 1, 5)), "p": (p, p, True)}, lambda a, b: a * b - 1)

    f = c.data("float32", 12)
    c.add("negative strides: both axes reversed", "a * 2 + 1",
          {"a": (f, f.reshape(3, 4)[::-1, ::-1])}, lambda a: a * 2 + 1)
    c.add("negative strides: every other element backwards", "sqrt(abs(a))",
          {"a": (f, f[::-2])}, lambda a: np.sqrt(np.abs(a)))

    i = c.data("int32", 12)
    j = c.data("int32", 12)
    c.add("a transposed view minus a contiguous array", "t - u",
          {"t": (i, i.reshape(3, 4).T), "u": (j, j.reshape(4, 3))}, lambda a, b: a - b)
    d = c.data("float64", 24)
    c.add("a transposed, sliced 3-d view", "where(v > 0, v, -v)",
          {"v": (d, d.reshape(2, 3, 4).transpose(2, 0, 1)[1:, :, ::2])},
          lambda a: weak_where(a > 0, a, -a))

    z = c.data("float64", 4)
    zero = np.lib.stride_tricks.as_strided(z, shape=(3, 4), strides=(0, z.itemsize))
    one = np.lib.stride_tricks.as_strided(z[2:], shape=(2, 1, 1), strides=(0, 0, 0))
    c.add("zero strides", "a * b", {"a": (z, zero), "b": (z, one)}, lambda a, b: a * b)

    e = c.data("float32", 0)
    w = c.data("float32", 5)
    c.add("a zero-size dimension", "a + b",
          {"a": (e, e.reshape(0, 5)), "b": (w, w)}, lambda a, b: a + b)
    c.add("zero-size with extent-1 broadcast", "a - b",
          {"a": (e, e.reshape(3, 0)), "b": (e, e.reshape(1, 0))}, lambda a, b: a - b)

    m = c.data("bool", 4)
    a = c.data("float64", 5)
    b = c.data("int32", 20)
    c.add("where over three broadcast operands", "where(m, a, b)",
          {"m": (m, m.reshape(4, 1)), "a": (a, a.reshape(1, 5)), "b": (b, b.reshape(4, 5))},
          lambda m, a, b: np.where(m, a, b))
    c.add("where with a scalar", "where(m, a, 0.5)",
          {"m": (m, m.reshape(4, 1)), "a": (a, a.reshape(1, 5))},
          lambda m, a: weak_where(m, a, 0.5))

    s = c.data("float32", 6)
    c.add("weak scalars with an N-d array", "s * k + h",
          {"s": (s, s.reshape(2, 3)), "k": 3, "h": 0.25}, lambda s, k, h: s * k + h)
    c.add("a 0-d operand", "s + q",
          {"s": (s, s.reshape(2, 3)), "q": (s, s[4:5].reshape(()))}, lambda s, q: s + q)

    pm = c.data("float32", 12)
    mm = c.data("float32", 12)
    g = c.data("float32", 4)

    def program(p, m, g, b1, lr):
        m += (1 - b1) * (g - m)
        p -= lr * m

    c.add("a program assigning N-d arrays in place",
          "m = m + (1 - b1) * (g - m)\np = p - lr * m",
          {"p": (pm, pm.reshape(3, 4)), "m": (mm, mm.reshape(3, 4)), "g": (g, g),
           "b1": 0.9, "lr": 0.01},
          program, assigned=("p", "m"))
    c.add("a program with a temporary and a result", "t = x * 2\nt + y",
          {"x": (x, x.reshape(3, 1, 5)), "y": (y, y.reshape(4, 5))}, lambda x, y: x * 2 + y)

    big = Iota(700 * 600, "float64", 1009, 0.5)
    row = Iota(600, "float64", 600, 2.0)
    c.add("a large transposed view plus a broadcast column (threaded)", "a * 3 - r",
          {"a": (big, big.array.reshape(700, 600).T), "r": (row, row.array.reshape(600, 1))},
          lambda a, r: a * 3 - r, sample=97)
    small = Iota(1000, "int32", 1000, 1)
    c.add("a large broadcast of two small arrays (threaded)", "u * 2 + v",
          {"u": (small, small.array.reshape(1000, 1)), "v": (small, small.array[::-1])},
          lambda u, v: u * 2 + v, sample=101)
    return c.cases


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/goldens/nd.json"  # "-": stdout
    cases = build()
    lines = [json.dumps(c, separators=(", ", ": ")) for c in cases]
    header = {
        "generator": "scripts/gen_nd_goldens.py",
        "numpy": np.__version__,
        "promotion": "NumPy 2 (NEP 50 weak Python scalars)",
        "seed": SEED,
    }
    write_goldens(path, header, lines)


if __name__ == "__main__":
    main()
