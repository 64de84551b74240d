"""NumPy golden values for numfuse: writes tests/goldens/numpy.json.

Run by Debian's /usr/bin/python3 (python3-numpy):

    /usr/bin/python3 scripts/gen_goldens.py [OUTPUT]   # default tests/goldens/numpy.json, - for stdout

A deterministic (seeded) matrix of cases over what numfuse supports today:
every operator (+ - * / ** %, unary -, the six comparisons, & | ~ on bool)
and function (where sqrt exp log sin cos tanh abs, then tan arcsin arccos
arctan sinh cosh arcsinh arccosh arctanh expm1 log1p log2 log10 exp2 arctan2)
and ceil floor trunc round square reciprocal sign isnan isfinite isinf signbit
copysign hypot fmod maximum minimum clip) over bool, int32, int64,
float32 and float64, same- and mixed-dtype, and with weak Python scalars
(literals such as `a * 0.5`, and variables bound to a Python int or float),
on data with NaN, +-Inf, -0.0, subnormals, integer extremes and zero divisors,
at lengths 1, 7 and 33. Each case is evaluated with NumPy's ufuncs
(`**` is np.power, `%` np.remainder, `/` np.true_divide).

The promotion is NumPy 2's (NEP 50, weak Python scalars): Debian's NumPy is
1.24, where it is opt-in, so this script switches it on with
np._set_promotion_state("weak") and asserts that it took effect. NumPy 1.24's
np.where does not treat Python scalars as weak yet (NumPy 2's does), so a
Python scalar argument of where is first converted to np.result_type(other
argument, scalar), which is what NumPy 2 does.

Left out, because numfuse refuses them (an ExpressionError) while NumPy
computes something: arithmetic on two bools (bool + bool is logical or in
NumPy), functions of bool (sqrt(bool) is float16), & | on integers.
Recorded as expected errors: integers to negative integer powers (NumPy's
ValueError, numfuse's RangeError) and Python ints out of the array's range
(NumPy's OverflowError, numfuse's ExpressionError).

Encoding: floats are the hex of their IEEE bits (float32: 8 digits, float64:
16), int32 JSON numbers, int64 decimal strings, bool 0/1. One case per line,
so that a change shows as a small diff; tests/golden_test.ts checks numfuse
against every case and that this script reproduces the file byte for byte.
"""

import ast
import json
import random
import sys
import warnings

import numpy as np

if int(np.__version__.split(".")[0]) < 2:
    np._set_promotion_state("weak")
assert (np.float32(3) * 0.5).dtype == np.float32, "NEP 50 promotion is not in effect"
assert (np.arange(3, dtype=np.int32) + 1).dtype == np.int32, "NEP 50 promotion is not in effect"
assert (np.arange(3, dtype=np.float32) * 0.5).dtype == np.float32

SEED = 20250601
LENGTHS = (1, 7, 33)
DTYPES = ("bool", "int32", "int64", "float32", "float64")
ARITHMETIC = ("+", "-", "*", "/", "**", "%")
COMPARISONS = ("<", "<=", ">", ">=", "==", "!=")
FUNCTIONS = ("sqrt", "exp", "log", "sin", "cos", "tanh", "abs")
# Added later, in a group of their own at the end (so earlier cases keep their data).
FLOAT_FUNCTIONS = (
    "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh", "arccosh", "arctanh",
    "expm1", "log1p", "log2", "log10", "exp2",
)
UFUNC = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.true_divide,
    "**": np.power,
    "%": np.remainder,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "==": np.equal,
    "!=": np.not_equal,
    "&": np.logical_and,
    "|": np.logical_or,
}

F64_MAX = 1.7976931348623157e308
F32_MAX = 3.4028234663852886e38
SPECIALS = {
    "float64": [
        float("nan"), float("inf"), float("-inf"), -0.0, 0.0, 1.0, -1.0, 0.5, -2.5, 3.0,
        5e-324, -1e-310, 2.2250738585072014e-308, F64_MAX, -F64_MAX, 709.8, -745.2,
        9.223372036854775807e18, 1e22, 1e-8, 2.0,
    ],
    "float32": [
        float("nan"), float("inf"), float("-inf"), -0.0, 0.0, 1.0, -1.0, 0.5, -2.5, 3.0,
        1.401298464324817e-45, -1e-40, 1.1754943508222875e-38, F32_MAX, -F32_MAX, 88.7,
        -103.5, 16777217.0, 1e10, 1e-8, 2.0,
    ],
    "int32": [0, 1, -1, 2, -2, 3, 7, -7, 2**31 - 1, -(2**31), 2**31 - 2, -(2**31) + 1, 46341, 65536],
    "int64": [
        0, 1, -1, 2, -2, 3, 7, -7, 2**63 - 1, -(2**63), 2**53 + 1, -(2**53) - 1, 2**31,
        3037000500, 2**32,
    ],
}
EXPONENTS = [0, 1, 2, 3, 31, 32, 63, 64, 100]


def values(r, dtype, n, exponent=False):
    """n seeded values of a dtype, about half of them special."""
    out = []
    for _ in range(n):
        special = r.random() < 0.5
        if dtype == "bool":
            out.append(r.random() < 0.5)
        elif exponent and dtype in ("int32", "int64"):
            out.append(r.choice(EXPONENTS) if special else r.randint(0, 6))
        elif dtype in ("int32", "int64"):
            bits = 31 if dtype == "int32" else 63
            if special:
                out.append(r.choice(SPECIALS[dtype]))
            elif r.random() < 0.7:
                out.append(r.randint(-1000, 1000))
            else:
                out.append(r.randint(-(2**bits), 2**bits - 1))
        elif special:
            out.append(r.choice(SPECIALS[dtype]))
        else:
            kind = r.random()
            if kind < 0.4:
                out.append(r.uniform(-10, 10))
            elif kind < 0.6:
                out.append(float(r.randint(-8, 8)))
            else:
                out.append(r.choice((-1, 1)) * 10 ** r.uniform(-45, 45))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # float64 values out of float32's range become inf
        return np.array(out, dtype=dtype)


def encode(a):
    """The elements of an array, exactly."""
    kind = a.dtype.name
    if kind == "bool":
        return [int(x) for x in a]
    if kind == "int32":
        return [int(x) for x in a]
    if kind == "int64":
        return [str(int(x)) for x in a]
    if kind == "float32":
        return ["%08x" % int(x) for x in a.view(np.uint32)]
    if kind == "float64":
        return ["%016x" % int(x) for x in a.view(np.uint64)]
    raise ValueError(f"no encoding for {kind}")


def encode_input(v):
    if isinstance(v, np.ndarray):
        return {"dtype": v.dtype.name, "data": encode(v)}
    if isinstance(v, bool):
        raise ValueError("no weak bool variables")
    if isinstance(v, int):
        return {"weak": "int", "value": str(v)}
    return {"weak": "float", "value": encode(np.array([v]))[0]}


def weak_where(c, x, y):
    """np.where with NumPy 2's weak Python scalars (1.24's np.where makes them strong)."""
    if isinstance(x, np.ndarray) and not isinstance(y, np.ndarray):
        y = np.asarray(y, dtype=np.result_type(x, y))
    elif isinstance(y, np.ndarray) and not isinstance(x, np.ndarray):
        x = np.asarray(x, dtype=np.result_type(y, x))
    return np.where(c, x, y)


class Matrix:
    def __init__(self):
        self.r = random.Random(SEED)
        self.cases = []
        self.group = ""

    def add(self, expr, inputs, compute):
        """Evaluates one case with NumPy and records it (or NumPy's error)."""
        case = {"group": self.group, "expr": expr, "inputs": {k: encode_input(v) for k, v in inputs.items()}}
        try:
            with np.errstate(all="ignore"):
                result = np.asarray(compute(*inputs.values()))
        except (ValueError, OverflowError) as e:
            case["error"] = type(e).__name__
        else:
            case["dtype"] = result.dtype.name
            case["values"] = encode(result)
        self.cases.append(case)

    def data(self, dtype, n, exponent=False):
        return values(self.r, dtype, n, exponent)


def binary_compute(op):
    return lambda a, b: UFUNC[op](a, b)


def build():
    m = Matrix()
    m.group = "array op array"
    # Array op array, every pair of dtypes, at length 33; same-dtype pairs also at 1 and 7.
    for op in ARITHMETIC + COMPARISONS:
        for ta in DTYPES:
            for tb in DTYPES:
                if op in ARITHMETIC and op != "/" and ta == tb == "bool":
                    continue
                int_pow = op == "**" and ta != "float32" and ta != "float64" and tb in ("bool", "int32", "int64")
                for n in LENGTHS if ta == tb else (33,):
                    a = m.data(ta, n)
                    b = m.data(tb, n, exponent=int_pow)
                    m.add(f"a {op} b", {"a": a, "b": b}, binary_compute(op))
    m.group = "errors"
    # Integers to negative integer powers: NumPy's ValueError.
    for t in ("int32", "int64"):
        b = m.data(t, 7)
        b[3] = -1
        m.add("a ** b", {"a": m.data(t, 7), "b": b}, binary_compute("**"))
    m.group = "logical"
    # Logical operators on bool.
    for op in ("&", "|"):
        for n in LENGTHS:
            m.add(f"a {op} b", {"a": m.data("bool", n), "b": m.data("bool", n)}, binary_compute(op))
        for lit in ("True", "False"):
            m.add(f"a {op} {lit}", {"a": m.data("bool", 7)},
                  lambda a, op=op, lit=lit: UFUNC[op](a, lit == "True"))
    for n in LENGTHS:
        m.add("~a", {"a": m.data("bool", n)}, lambda a: np.logical_not(a))
    m.group = "unary minus and functions"
    # Unary minus and functions.
    for t in DTYPES[1:]:
        for n in LENGTHS:
            m.add("-a", {"a": m.data(t, n)}, lambda a: np.negative(a))
            for f in FUNCTIONS:
                m.add(f"{f}(a)", {"a": m.data(t, n)}, lambda a, f=f: getattr(np, f)(a))
    m.group = "where"
    # where: a bool condition with every pair of branch dtypes; conditions of other dtypes.
    for ta in DTYPES:
        for tb in DTYPES:
            for n in LENGTHS if ta == tb else (33,):
                c = m.data("bool", n)
                m.add("where(c, a, b)", {"c": c, "a": m.data(ta, n), "b": m.data(tb, n)},
                      lambda c, a, b: np.where(c, a, b))
    for tc in DTYPES[1:]:
        for t in ("int32", "float64"):
            m.add("where(c, a, b)", {"c": m.data(tc, 33), "a": m.data(t, 33), "b": m.data(t, 33)},
                  lambda c, a, b: np.where(c, a, b))
    m.group = "weak scalars"
    # Weak Python scalars: literals on either side, and variables bound to a Python number.
    literals = ("1", "-3", "0", "0.5", "-2.5", "2", "1e-8", "1e308")
    for t in DTYPES:
        for op in ARITHMETIC + COMPARISONS:
            for lit in literals:
                if op == "**" and t != "float32" and t != "float64" and lit == "-3":
                    continue  # recorded once below as an error
                value = ast.literal_eval(lit)  # a Python int or float, as written
                for left in (False, True):
                    if left and op not in ("-", "/", "**", "%", "<"):
                        continue
                    written = f"({lit})" if lit.startswith("-") else lit  # (-3) ** a, not -(3 ** a)
                    expr = f"{written} {op} a" if left else f"a {op} {lit}"
                    exponent = left and op == "**" and t in ("bool", "int32", "int64") and isinstance(value, int)
                    a = m.data(t, 7, exponent=exponent)
                    m.add(expr, {"a": a},
                          lambda a, op=op, value=value, left=left:
                          UFUNC[op](value, a) if left else UFUNC[op](a, value))
        for op in ("+", "*", "/", "**", "%", "<", "=="):
            for value in (3, -0.75):
                m.add(f"a {op} s", {"a": m.data(t, 7), "s": value}, binary_compute(op))
        for lit in ("0.5", "1", "True"):
            value = ast.literal_eval(lit)
            c = m.data("bool", 7)
            m.add(f"where(c, a, {lit})", {"c": c, "a": m.data(t, 7)},
                  lambda c, a, value=value: weak_where(c, a, value))
            m.add(f"where(c, {lit}, a)", {"c": m.data("bool", 7), "a": m.data(t, 7)},
                  lambda c, a, value=value: weak_where(c, value, a))
    m.group = "errors"
    for t in ("int32", "int64"):
        m.add("a ** -3", {"a": m.data(t, 7)}, lambda a: np.power(a, -3))
        m.add("a + 9223372036854775808", {"a": m.data(t, 7)},
              lambda a: np.add(a, 9223372036854775808))
    m.add("a + 3000000000", {"a": m.data("int32", 7)}, lambda a: np.add(a, 3000000000))
    m.add("a * -2147483649", {"a": m.data("int32", 7)}, lambda a: np.multiply(a, -2147483649))
    m.group = "float functions"
    # The vecmath functions after the first seven: on every numeric dtype, and on data
    # scaled into (-1, 1) where the inverse functions are defined; arctan2 on pairs.
    for t in DTYPES[1:]:
        for f in FLOAT_FUNCTIONS:
            m.add(f"{f}(a)", {"a": m.data(t, 33)}, lambda a, f=f: getattr(np, f)(a))
        m.add("arctan2(a, b)", {"a": m.data(t, 33), "b": m.data(t, 33)}, lambda a, b: np.arctan2(a, b))
        m.add("arctan2(a, 2)", {"a": m.data(t, 7)}, lambda a: np.arctan2(a, 2))
        m.add("arctan2(0.5, a)", {"a": m.data(t, 7)}, lambda a: np.arctan2(0.5, a))
    for t in ("float32", "float64"):
        for f in ("arcsin", "arccos", "arctanh"):
            m.add(f"{f}(a)", {"a": np.array([m.r.uniform(-1, 1) for _ in range(33)], dtype=t)},
                  lambda a, f=f: getattr(np, f)(a))
        m.add("arccosh(a)", {"a": np.array([m.r.uniform(1, 30) for _ in range(33)], dtype=t)},
              lambda a: np.arccosh(a))
    for ta, tb in (("float32", "int32"), ("int64", "float32"), ("float32", "float64")):
        m.add("arctan2(a, b)", {"a": m.data(ta, 33), "b": m.data(tb, 33)}, lambda a, b: np.arctan2(a, b))
    m.group = "simple functions"
    # Rounding, sign, the predicates and the two- and three-operand functions. Left out:
    # ceil, floor, trunc and reciprocal of integers (numfuse refuses them: NumPy's
    # dtype for them differs between versions, or is integer division), fma (no
    # NumPy ufunc), and Python-scalar bounds of clip (NumPy 1.24's clip does not
    # treat them as weak).
    for t in DTYPES[1:]:
        float_t = t in ("float32", "float64")
        for f in ("ceil", "floor", "trunc", "round", "square", "reciprocal", "sign",
                  "isnan", "isfinite", "isinf", "signbit"):
            if not float_t and f in ("ceil", "floor", "trunc", "reciprocal"):
                continue
            m.add(f"{f}(a)", {"a": m.data(t, 33)}, lambda a, f=f: getattr(np, f)(a))
        for f in ("copysign", "hypot", "fmod", "maximum", "minimum"):
            m.add(f"{f}(a, b)", {"a": m.data(t, 33), "b": m.data(t, 33)},
                  lambda a, b, f=f: getattr(np, f)(a, b))
        m.add("maximum(a, 2)", {"a": m.data(t, 7)}, lambda a: np.maximum(a, 2))
        m.add("fmod(a, 3)", {"a": m.data(t, 7)}, lambda a: np.fmod(a, 3))
        m.add("clip(a, b, c)", {"a": m.data(t, 33), "b": m.data(t, 33), "c": m.data(t, 33)},
              lambda a, b, c: np.clip(a, b, c))
    for t in ("float32", "float64"):
        halves = np.array([k / 2 for k in range(-9, 10)] + [-0.0, 2.5e15 + 0.5], dtype=t)
        m.add("round(a)", {"a": halves}, lambda a: np.round(a))
    for ta, tb in (("int32", "float32"), ("float32", "float64"), ("int32", "int64")):
        for f in ("maximum", "fmod", "copysign"):
            m.add(f"{f}(a, b)", {"a": m.data(ta, 33), "b": m.data(tb, 33)},
                  lambda a, b, f=f: getattr(np, f)(a, b))
        m.add("clip(a, b, c)", {"a": m.data(ta, 33), "b": m.data(tb, 33), "c": m.data(ta, 33)},
              lambda a, b, c: np.clip(a, b, c))
    return m.cases


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/goldens/numpy.json"  # "-": stdout
    cases = build()
    lines = [json.dumps(c, separators=(", ", ": ")) for c in cases]
    header = {
        "generator": "scripts/gen_goldens.py",
        "numpy": np.__version__,
        "promotion": "NumPy 2 (NEP 50 weak Python scalars)",
        "seed": SEED,
    }
    text = "{\n"
    for k, v in header.items():
        text += f"  {json.dumps(k)}: {json.dumps(v)},\n"
    text += '  "cases": [\n    ' + ",\n    ".join(lines) + "\n  ]\n}\n"
    if path == "-":
        sys.stdout.write(text)
    else:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
