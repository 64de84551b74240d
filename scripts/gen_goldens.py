"""NumPy golden values for numfuse: writes tests/goldens/numpy.json.

Run by Debian's /usr/bin/python3 (python3-numpy):

    /usr/bin/python3 scripts/gen_goldens.py [OUTPUT]   # default tests/goldens/numpy.json, - for stdout

A deterministic (seeded) matrix of cases: every operator (+ - * / // ** %,
unary - and ~, the six comparisons, & | ^ << >>) and function (where sqrt exp
log sin cos tanh abs tan arcsin arccos arctan sinh cosh arcsinh arccosh
arctanh expm1 log1p log2 log10 exp2 arctan2 ceil floor trunc round square
reciprocal sign isnan isfinite isinf signbit copysign hypot fmod maximum
minimum clip nextafter) over every dtype numfuse supports (bool, the eight
integer dtypes, float32, float64) that NumPy accepts, same- and mixed-dtype,
and with weak Python scalars (literals such as `a * 0.5`, and variables bound
to a Python int or float), on data with NaN, +-Inf, -0.0, subnormals,
integer extremes, zero divisors and shift counts around the width, at
lengths 1, 7 and 33. Each case is evaluated with NumPy's ufuncs (`**` is
np.power, `%` np.remainder, `//` np.floor_divide, `/` np.true_divide, `&`
on integers np.bitwise_and). The cases of the integer dtypes added later
(int8, uint8, int16, uint16, uint32, uint64, and the integer operators) are
groups of their own at the end, so the earlier cases keep their data.

The promotion is NumPy 2's (NEP 50, weak Python scalars): Debian's NumPy is
1.24, where it is opt-in, so this script switches it on with
np._set_promotion_state("weak") and asserts that it took effect. NumPy 1.24's
np.where does not treat Python scalars as weak yet (NumPy 2's does), so a
Python scalar argument of where is first converted to np.result_type(other
argument, scalar), which is what NumPy 2 does.

Left out: what differs between NumPy 1.24 and NumPy >= 2.1 (ceil, floor and
trunc of integers give float in 1.24, the integer itself in 2.1), functions
whose NumPy result is float16 (which numfuse does not support yet), fma (no
NumPy ufunc), and Python-scalar bounds of clip (NumPy 1.24's clip does not
treat them as weak). Recorded as expected errors: integers to negative
integer powers (NumPy's ValueError, numfuse's RangeError), Python ints out of
the array's range (NumPy's OverflowError, numfuse's ExpressionError) and
operations NumPy has no loop for (its TypeError: bitwise operators on floats,
- on bool; numfuse's ExpressionError).

The file also holds NumPy's own tables: `np.result_type` of every pair of
the twelve dtypes (float16 included) and `np.can_cast` in each casting mode,
which tests/dtype_test.ts compares `promote` and `canCast` against.

Encoding: floats are the hex of their IEEE bits (float32: 8 digits, float64:
16), integers up to 32 bits JSON numbers, int64 and uint64 decimal strings,
bool 0/1. One case per line,
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
    "float16": [
        float("nan"), float("inf"), float("-inf"), -0.0, 0.0, 1.0, -1.0, 0.5, -2.5, 3.0,
        6e-08, -3e-05, 6.104e-05, 65504.0, -65504.0, 11.0, -17.3, 2049.0, 1000.0, 1e-3, 2.0,
    ],
    "int32": [0, 1, -1, 2, -2, 3, 7, -7, 2**31 - 1, -(2**31), 2**31 - 2, -(2**31) + 1, 46341, 65536],
    "int64": [
        0, 1, -1, 2, -2, 3, 7, -7, 2**63 - 1, -(2**63), 2**53 + 1, -(2**53) - 1, 2**31,
        3037000500, 2**32,
    ],
}
EXPONENTS = [0, 1, 2, 3, 31, 32, 63, 64, 100]
# Added with the integer dtypes of bytecode version 2.
NEW_INTS = ("int8", "uint8", "int16", "uint16", "uint32", "uint64")
INTS = ("int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64")
ALL_DTYPES = ("bool",) + INTS + ("float32", "float64")
ALL_DTYPES_F16 = ("bool",) + INTS + ("float16", "float32", "float64")
CASTINGS = ("no", "equiv", "safe", "same_kind", "unsafe")
INT_OPERATORS = ("//", "%", "<<", ">>", "&", "|", "^", "+", "-", "*")
for _op, _ufunc in (("//", np.floor_divide), ("<<", np.left_shift), (">>", np.right_shift),
                    ("^", np.bitwise_xor)):
    UFUNC[_op] = _ufunc
BITWISE = {"&": np.bitwise_and, "|": np.bitwise_or}


def int_specials(dtype):
    """An integer dtype's extremes, small values and shift counts around its width."""
    info = np.iinfo(dtype)
    bits = info.bits
    vals = [0, 1, 2, 3, 7, info.max, info.max - 1, info.min, info.min + 1, bits - 1, bits, bits + 1]
    if info.min < 0:
        vals += [-1, -2, -7, -bits]
    return vals


def new_int_values(r, dtype, n, exponent=False):
    """n seeded values of one of the integer dtypes added later, about half special."""
    info = np.iinfo(dtype)
    out = []
    for _ in range(n):
        if exponent:
            out.append(r.randint(0, 6))
        elif r.random() < 0.5:
            out.append(r.choice(int_specials(dtype)))
        elif r.random() < 0.7:
            out.append(max(info.min, min(info.max, r.randint(-100, 100))))
        else:
            out.append(r.randint(info.min, info.max))
    return np.array(out, dtype=dtype)


def values(r, dtype, n, exponent=False):
    """n seeded values of a dtype, about half of them special."""
    # exponent "new" / "new-exp": the integer values (or exponents) of the later cases.
    if dtype in NEW_INTS or (dtype in ("int32", "int64") and exponent in ("new", "new-exp")):
        return new_int_values(r, dtype, n, exponent in (True, "new-exp"))
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
    if kind in ("int8", "uint8", "int16", "uint16", "int32", "uint32"):
        return [int(x) for x in a]
    if kind in ("int64", "uint64"):
        return [str(int(x)) for x in a]
    if kind == "float16":
        return ["%04x" % int(x) for x in a.view(np.uint16)]
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
        except (ValueError, OverflowError, TypeError) as e:
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
    build_new_dtypes(m)
    return m.cases



def all_pairs(specials, dtype):
    """Arrays a, b of `dtype` holding every pair (x, y) of the special values."""
    pairs = [(x, y) for x in specials for y in specials]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = np.array([x for x, _ in pairs], dtype=dtype)
        b = np.array([y for _, y in pairs], dtype=dtype)
    return a, b

def build_new_dtypes(m):
    """Cases added with bytecode version 2: the integer operators, the six new integer
    dtypes, functions on every dtype NumPy accepts, nextafter."""
    def ufunc(op):
        return BITWISE.get(op, UFUNC.get(op))

    m.group = "integer operators"
    for t in INTS:
        for op in INT_OPERATORS:
            m.add(f"a {op} b", {"a": m.data(t, 33, "new"), "b": m.data(t, 33, "new")},
                  lambda a, b, op=op: ufunc(op)(a, b))
        m.add("a ** b", {"a": m.data(t, 33, "new"), "b": m.data(t, 33, "new-exp")},
              lambda a, b: np.power(a, b))
        for f, name in (("-a", np.negative), ("~a", np.invert), ("abs(a)", np.absolute)):
            m.add(f, {"a": m.data(t, 33, "new")}, lambda a, name=name: name(a))
        info = np.iinfo(t)
        if info.min < 0:
            a = np.array([info.min, info.min, 7, -7, 0, 5, -5, info.max], dtype=t)
            b = np.array([-1, 0, 0, 2, -3, -2, 3, -1], dtype=t)
            for op in ("//", "%"):
                m.add(f"a {op} b", {"a": a, "b": b}, lambda a, b, op=op: ufunc(op)(a, b))
    m.group = "bool operators"
    for op in ("&", "|", "^", "<<", ">>", "//", "%", "**", "+", "*", "-"):
        m.add(f"a {op} b", {"a": m.data("bool", 7), "b": m.data("bool", 7)},
              lambda a, b, op=op: ufunc(op)(a, b) if op != "**" else np.power(a, b))
    m.add("-a", {"a": m.data("bool", 7)}, lambda a: np.negative(a))
    for op in ("&", "|", "^", "<<"):
        for tb in ("float32", "float64"):
            m.add(f"a {op} b", {"a": m.data("int32", 7), "b": m.data(tb, 7)},
                  lambda a, b, op=op: ufunc(op)(a, b))
    m.group = "float floor division"
    specials = [float("nan"), float("inf"), float("-inf"), -0.0, 0.0, 1.0, -1.0, 0.5, -2.5, 3.0,
                1e308, 5e-324, 7.0, -7.0, 0.1]
    for t in ("float32", "float64"):
        a, b = all_pairs(specials, t)
        m.add("a // b", {"a": a, "b": b}, lambda a, b: np.floor_divide(a, b))
        m.add("a // b", {"a": m.data(t, 33), "b": m.data(t, 33)}, lambda a, b: np.floor_divide(a, b))
        m.add("a // 0.5", {"a": m.data(t, 7)}, lambda a: np.floor_divide(a, 0.5))
        m.add("a // 3", {"a": m.data(t, 7)}, lambda a: np.floor_divide(a, 3))
    m.group = "mixed dtypes"
    for ta in ALL_DTYPES:
        for tb in ALL_DTYPES:
            for op in ("+", "<", "==", "//", "/"):
                if op == "//" and ta == tb == "bool":
                    continue  # in "bool operators"
                m.add(f"a {op} b", {"a": m.data(ta, 7, "new"), "b": m.data(tb, 7, "new")},
                      lambda a, b, op=op: ufunc(op)(a, b))
    m.group = "weak scalars, new dtypes"
    for t in NEW_INTS + ("bool",):
        for expr in ("a + 1", "a - 1", "a * 2", "a // 3", "a % 3", "a << 1", "a >> 1", "a & 5",
                     "a | 5", "a ^ 5", "a + 0.5", "a < 1", "a == 255", "a + 300", "a + -1",
                     "a + 70000", "a ** 2", "7 // a", "a - 1.5", "a / 2"):
            left, op, right = expr.split(" ")
            if t == "bool" and op in ("-",) and right == "1":
                continue
            value = ast.literal_eval(left if left != "a" else right)
            fn = ufunc(op) if op != "**" else np.power
            m.add(expr, {"a": m.data(t, 7, "new")},
                  lambda a, fn=fn, value=value, swap=(left != "a"): fn(value, a) if swap else fn(a, value))
        m.add("a + s", {"a": m.data(t, 7, "new"), "s": 3}, lambda a, s: np.add(a, s))
        m.add("a * s", {"a": m.data(t, 7, "new"), "s": -0.75}, lambda a, s: np.multiply(a, s))
    m.group = "functions, new dtypes"
    for t in ("int16", "uint16", "uint32", "int64", "uint64"):
        for f in FUNCTIONS[:-1] + FLOAT_FUNCTIONS:
            m.add(f"{f}(a)", {"a": m.data(t, 33, "new")}, lambda a, f=f: getattr(np, f)(a))
        for f in ("arctan2", "hypot", "copysign", "nextafter"):
            m.add(f"{f}(a, b)", {"a": m.data(t, 33, "new"), "b": m.data(t, 33, "new")},
                  lambda a, b, f=f: getattr(np, f)(a, b))
    for t in INTS + ("bool",):
        funcs = ("abs", "square", "reciprocal", "isnan", "isfinite", "isinf", "signbit")
        if t != "bool":
            funcs += ("sign", "round")
        for f in funcs:
            m.add(f"{f}(a)", {"a": m.data(t, 33, "new")}, lambda a, f=f: getattr(np, f)(a))
        for f in ("fmod", "maximum", "minimum"):
            m.add(f"{f}(a, b)", {"a": m.data(t, 33, "new"), "b": m.data(t, 33, "new")},
                  lambda a, b, f=f: getattr(np, f)(a, b))
        m.add("clip(a, b, c)", {"a": m.data(t, 33, "new"), "b": m.data(t, 33, "new"),
                                "c": m.data(t, 33, "new")}, lambda a, b, c: np.clip(a, b, c))
        c = m.data("bool", 7)
        m.add("where(c, a, b)", {"c": c, "a": m.data(t, 7, "new"), "b": m.data(t, 7, "new")},
              lambda c, a, b: np.where(c, a, b))
    for ta, tb in (("int8", "uint8"), ("uint16", "int32"), ("uint32", "int64"), ("int64", "uint64")):
        c = m.data("bool", 7)
        m.add("where(c, a, b)", {"c": c, "a": m.data(ta, 7, "new"), "b": m.data(tb, 7, "new")},
              lambda c, a, b: np.where(c, a, b))
        m.add("maximum(a, b)", {"a": m.data(ta, 7, "new"), "b": m.data(tb, 7, "new")},
              lambda a, b: np.maximum(a, b))
    m.group = "nextafter"
    for t in ("float32", "float64"):
        a, b = all_pairs(specials, t)
        m.add("nextafter(a, b)", {"a": a, "b": b}, lambda a, b: np.nextafter(a, b))
        m.add("nextafter(a, b)", {"a": m.data(t, 33), "b": m.data(t, 33)},
              lambda a, b: np.nextafter(a, b))
        m.add("nextafter(a, 1)", {"a": m.data(t, 7)}, lambda a: np.nextafter(a, 1))
    m.add("nextafter(a, b)", {"a": m.data("float32", 7), "b": m.data("float64", 7)},
          lambda a, b: np.nextafter(a, b))
    build_float16(m)


def build_float16(m):
    """float16: every operation computed in float32 and rounded back, as NumPy does."""
    m.group = "float16"
    h = "float16"
    for op in ARITHMETIC + ("//", "<", "==", "!="):
        for n in LENGTHS:
            m.add(f"a {op} b", {"a": m.data(h, n), "b": m.data(h, n)},
                  lambda a, b, op=op: UFUNC[op](a, b))
    for expr, fn in (("-a", np.negative), ("a * a + a", lambda a: a * a + a),
                     ("a / 3 * 3", lambda a: a / 3 * 3), ("a * 0.1", lambda a: a * 0.1),
                     ("a + 1", lambda a: a + 1), ("a ** 2", lambda a: a ** 2)):
        m.add(expr, {"a": m.data(h, 33)}, fn)
    for f in FUNCTIONS + FLOAT_FUNCTIONS + ("ceil", "floor", "trunc", "round", "square",
                                            "reciprocal", "sign", "isnan", "isfinite", "isinf",
                                            "signbit"):
        m.add(f"{f}(a)", {"a": m.data(h, 33)}, lambda a, f=f: getattr(np, f)(a))
    for f in ("arctan2", "hypot", "copysign", "fmod", "maximum", "minimum"):
        m.add(f"{f}(a, b)", {"a": m.data(h, 33), "b": m.data(h, 33)},
              lambda a, b, f=f: getattr(np, f)(a, b))
    m.add("clip(a, b, c)", {"a": m.data(h, 33), "b": m.data(h, 33), "c": m.data(h, 33)},
          lambda a, b, c: np.clip(a, b, c))
    c = m.data("bool", 7)
    m.add("where(c, a, b)", {"c": c, "a": m.data(h, 7), "b": m.data(h, 7)},
          lambda c, a, b: np.where(c, a, b))
    for t in ("bool", "int8", "uint8"):
        for f in ("sqrt", "exp", "sin", "log1p"):
            m.add(f"{f}(a)", {"a": m.data(t, 33, "new")}, lambda a, f=f: getattr(np, f)(a))
        m.add("arctan2(a, b)", {"a": m.data(t, 33, "new"), "b": m.data(t, 33, "new")},
              lambda a, b: np.arctan2(a, b))
    for t in ("bool", "int8", "uint8", "int16", "int32", "float32", "float64"):
        for op in ("+", "<"):
            m.add(f"a {op} b", {"a": m.data(h, 7), "b": m.data(t, 7, "new")},
                  lambda a, b, op=op: UFUNC[op](a, b))
    m.group = "float16 nextafter"
    specials = [float("nan"), float("inf"), float("-inf"), -0.0, 0.0, 1.0, -1.0, 65504.0,
                -65504.0, 6e-08, -6e-08, 6.1e-05, 0.1]
    a, b = all_pairs(specials, h)
    m.add("nextafter(a, b)", {"a": a, "b": b}, lambda a, b: np.nextafter(a, b))
    m.add("nextafter(a, b)", {"a": m.data(h, 33), "b": m.data(h, 33)},
          lambda a, b: np.nextafter(a, b))
    for t in ("bool", "int8", "uint8"):
        m.add("nextafter(a, b)", {"a": m.data(t, 33, "new"), "b": m.data(t, 33, "new")},
              lambda a, b: np.nextafter(a, b))


def tables():
    """NumPy's own result_type of every pair of dtypes and can_cast in every casting mode."""
    result_type = {f"{a},{b}": np.result_type(a, b).name for a in ALL_DTYPES_F16 for b in ALL_DTYPES_F16}
    can_cast = {mode: {f"{a},{b}": bool(np.can_cast(a, b, mode)) for a in ALL_DTYPES_F16
                       for b in ALL_DTYPES_F16} for mode in CASTINGS}
    return result_type, can_cast


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else "tests/goldens/numpy.json"  # "-": stdout
    cases = build()
    lines = [json.dumps(c, separators=(", ", ": ")) for c in cases]
    result_type, can_cast = tables()
    header = {
        "generator": "scripts/gen_goldens.py",
        "numpy": np.__version__,
        "promotion": "NumPy 2 (NEP 50 weak Python scalars)",
        "seed": SEED,
        "result_type": result_type,
    }
    header.update({f"can_cast {mode}": table for mode, table in can_cast.items()})
    write_goldens(path, header, lines)


def write_goldens(path, header, lines):
    """Writes a goldens file: the header's entries, then the cases (JSON lines), one per line."""
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
