#!/usr/bin/python3
"""The seed's workloads in NumPy and numexpr, timed for `scripts/compare.ts`.

Runs SGD (`p - g` into p), Adam (three numexpr calls into m, v, p; NumPy's
in-place version from the seed), ReLU and tanh(ReLU) on float32 arrays, the
way the seed ("Numexpr and the need for speed") writes them:

    NumPy   relu: np.fmax(p, 0)           tanh: np.tanh(np.fmax(p, 0))
    numexpr relu: where(p > 0, p, 0)      tanh: tanh(where(p > 0, p, 0))
and ReLU and tanh(ReLU) into a reused buffer q (no allocation):
    NumPy   np.maximum(p, 0, out=q)       np.tanh(np.maximum(p, 0, out=q), out=q)
    numexpr the same expressions with out=q

Before timing, each workload checks that numexpr and NumPy agree. Timing is
timeit's: the number of calls per batch is chosen so that a batch takes at
least --min-batch seconds, then --repeats batches are timed (after a warm-up
batch) and the median and best time per call reported. Prints one JSON object
on stdout.

Usage: compare_numpy.py [--sizes 64,1728,...] [--min-batch 0.02] [--repeats 7]
"""

import argparse
import json
import platform
import statistics
import sys
import time

try:
    import numpy as np
    import numexpr as ne
except ImportError as e:  # the Deno driver installs these; say what is missing
    sys.exit(f"compare_numpy.py: {e}; install Debian's python3-numpy and python3-numexpr")


def state(n, seed=0):
    """Deterministic float32 data, distributed as the Deno side's: p, m in [-1, 1),
    g in [-0.01, 0.01), v in [0, 1); q zeros, a reused result buffer."""
    rng = np.random.default_rng(seed)

    def uniform(scale=1.0):
        return ((rng.random(n, dtype=np.float32) * 2 - 1) * scale).astype(np.float32)

    return {"p": uniform(), "g": uniform(0.01), "m": uniform(), "v": np.abs(uniform()),
            "q": np.zeros(n, dtype=np.float32)}


# --- the workloads, as the seed writes them -----------------------------------

def numpy_sgd(s):
    p, g = s["p"], s["g"]
    p -= g
    return p


def numexpr_sgd(s):
    p, g = s["p"], s["g"]
    ne.evaluate("p - g", local_dict={"p": p, "g": g}, out=p)
    return p


def numpy_adam(s):
    p, g, m, v = s["p"], s["g"], s["m"], s["v"]
    m += (1 - 0.9) * (g - m)
    v += (1 - 0.999) * (g * g - v)
    p -= 0.001 * m / (np.sqrt(v) + 1e-8)
    return p


def numexpr_adam(s):
    p, g, m, v = s["p"], s["g"], s["m"], s["v"]
    ne.evaluate("m + (1 - 0.9) * (g - m)", local_dict={"m": m, "g": g},
                out=m, casting="same_kind")
    ne.evaluate("v + (1 - 0.999) * (g * g - v)", local_dict={"v": v, "g": g},
                out=v, casting="same_kind")
    ne.evaluate("p - 0.001 * m / (sqrt(v) + 1e-8)", local_dict={"p": p, "m": m, "v": v},
                out=p, casting="same_kind")
    return p


def numpy_relu(s):
    return np.fmax(s["p"], 0)


def numexpr_relu(s):
    return ne.evaluate("where(p > 0, p, 0)", local_dict={"p": s["p"]})


def numpy_tanh_relu(s):
    return np.tanh(np.fmax(s["p"], 0))


def numexpr_tanh_relu(s):
    return ne.evaluate("tanh(where(p > 0, p, 0))", local_dict={"p": s["p"]})


def numpy_relu_out(s):
    return np.maximum(s["p"], 0, out=s["q"])


def numexpr_relu_out(s):
    return ne.evaluate("where(p > 0, p, 0)", local_dict={"p": s["p"]}, out=s["q"])


def numpy_tanh_relu_out(s):
    q = s["q"]
    return np.tanh(np.maximum(s["p"], 0, out=q), out=q)


def numexpr_tanh_relu_out(s):
    return ne.evaluate("tanh(where(p > 0, p, 0))", local_dict={"p": s["p"]}, out=s["q"])


WORKLOADS = {
    "sgd": (numpy_sgd, numexpr_sgd),
    "adam": (numpy_adam, numexpr_adam),
    "relu": (numpy_relu, numexpr_relu),
    "tanh_relu": (numpy_tanh_relu, numexpr_tanh_relu),
    "relu_out": (numpy_relu_out, numexpr_relu_out),
    "tanh_relu_out": (numpy_tanh_relu_out, numexpr_tanh_relu_out),
}

#: relative tolerance of the numexpr-vs-NumPy check (numexpr computes the Adam
#: constants in float64 and casts back; tanh implementations differ)
TOLERANCE = 1e-5


def check(name, n):
    """numexpr and NumPy agree on one call over fresh data; returns the max error."""
    np_fn, ne_fn = WORKLOADS[name]
    want = np_fn(state(n))
    got = ne_fn(state(n))
    if got.dtype != np.float32 or want.dtype != np.float32:
        raise SystemExit(f"{name} n={n}: dtypes {got.dtype} (numexpr), {want.dtype} (NumPy)")
    err = np.abs(got.astype(np.float64) - want) / np.maximum(1, np.abs(want))
    worst = float(err.max()) if n else 0.0
    if not worst <= TOLERANCE:
        raise SystemExit(f"{name} n={n}: numexpr and NumPy differ by {worst:g} (relative)")
    return worst


def time_it(fn, s, min_batch, repeats):
    """timeit-style: calls per batch so that a batch takes >= min_batch seconds,
    one warm-up batch, then `repeats` timed batches. Seconds per call."""
    loops = 1
    while True:  # timeit.Timer.autorange, also serving as the warm-up
        t0 = time.perf_counter()
        for _ in range(loops):
            fn(s)
        elapsed = time.perf_counter() - t0
        if elapsed >= min_batch:
            break
        loops = max(loops * 2, int(loops * min_batch / max(elapsed, 1e-9) * 1.2))
    per_call = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(loops):
            fn(s)
        per_call.append((time.perf_counter() - t0) / loops)
    return {
        "median": statistics.median(per_call),
        "best": min(per_call),
        "loops": loops,
        "repeats": repeats,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=f"64,1728,{1 << 18},{1 << 24}")
    ap.add_argument("--min-batch", type=float, default=0.02)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--workloads", default=",".join(WORKLOADS))
    args = ap.parse_args()
    sizes = [int(x) for x in args.sizes.split(",") if x]
    names = [x for x in args.workloads.split(",") if x]

    results = []
    for n in sizes:
        for name in names:
            max_err = check(name, n)
            for system, fn in zip(("numpy", "numexpr"), WORKLOADS[name]):
                s = state(n)
                t = time_it(fn, s, args.min_batch, args.repeats)
                results.append({"workload": name, "n": n, "system": system,
                                "check_max_rel_err": max_err, **t})
                print(f"  {system:8} {name:10} n={n:<9} {t['median'] * 1e6:12.2f} µs",
                      file=sys.stderr)

    json.dump({
        "python": platform.python_version(),
        "executable": sys.executable,
        "numpy": np.__version__,
        "numexpr": ne.__version__,
        "numexpr_threads": ne.nthreads,
        "numexpr_vml": bool(getattr(ne, "use_vml", False)),
        "relu_numpy": "np.fmax(p, 0)",
        "results": results,
    }, sys.stdout)
    print()


if __name__ == "__main__":
    main()
