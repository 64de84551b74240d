/**
 * NumPy golden values: every case of `tests/goldens/numpy.json` (written by
 * `scripts/gen_goldens.py` with NumPy, NumPy 2 promotion) run by numfuse,
 * which must give NumPy's result dtype and its values: bit-exact (NaN
 * payloads aside, -0 and +0 distinct) except for exp, log, the trigonometric
 * and hyperbolic functions and their inverses, expm1, log1p, log2, log10,
 * exp2, arctan2 and `**`, within 4 ulp (NumPy's own kernels there are SIMD or libm, not
 * correctly rounded either). Cases where NumPy raises must throw.
 *
 * When Debian's NumPy is importable, the script is also run and must
 * reproduce the committed file byte for byte.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { VarSpec } from "../src/ast.ts";
import { compileProgram } from "../src/compiler.ts";
import { type DType, dtypeOfArray, DTYPES, type NumericArray } from "../src/dtype.ts";
import { ExpressionError } from "../src/errors.ts";
import { evaluate, type Operand } from "../mod.ts";
import { pythonImports, pythonPath, regenerate } from "../scripts/python.ts";
import { decodeGolden, ulpDistance } from "./reference.ts";

type Input =
  | { readonly dtype: DType; readonly data: readonly (number | string)[] }
  | { readonly weak: "int" | "float"; readonly value: string };

interface Case {
  readonly group: string;
  readonly expr: string;
  readonly inputs: Readonly<Record<string, Input>>;
  readonly dtype?: DType;
  readonly values?: readonly (number | string)[];
  readonly error?: string;
}

interface Goldens {
  readonly numpy: string;
  readonly cases: readonly Case[];
}

const GOLDENS = new URL("./goldens/numpy.json", import.meta.url);
const SCRIPT = new URL("../scripts/gen_goldens.py", import.meta.url).pathname;
const TEXT = Deno.readTextFileSync(GOLDENS);
const { cases: CASES }: Goldens = JSON.parse(TEXT);

/** Max ulp for the inexact operations; 0 (bit-exact) for everything else. */
const ULP = 4;
const INEXACT =
  /\b(exp|log|sin|cos|tanh|tan|arcsin|arccos|arctan|sinh|cosh|arcsinh|arccosh|arctanh|expm1|log1p|log2|log10|exp2|arctan2)\(|\*\*/;

/**
 * Known numfuse bugs left out until fixed, by `expr` and input dtypes as
 * {@linkcode key} writes them, each with what is wrong.
 */
const KNOWN: ReadonlyMap<string, string> = new Map([]);

/** A case's identity for messages and {@linkcode KNOWN}: `a + b (a: int32, b: float64)`. */
function key(c: Case): string {
  const types = Object.entries(c.inputs).map(([name, input]) =>
    `${name}: ${"dtype" in input ? input.dtype : `weak ${input.weak}`}`
  );
  return `${c.expr} (${types.join(", ")})`;
}

function operand(input: Input): Operand {
  if ("dtype" in input) {
    const data = decodeGolden(input.dtype, input.data);
    return input.dtype === "bool" ? { data, dtype: "bool" } : data;
  }
  // A Python int is a bigint (an integral number is weak int too); a float a number.
  return input.weak === "int"
    ? BigInt(input.value)
    : decodeGolden("float64", [input.value])[0] as number;
}

/**
 * numfuse's result dtype: the array's, except that a Uint8Array is bool or
 * uint8, which the compiled program tells apart.
 */
function resultDtype(c: Case, a: NumericArray): DType | undefined {
  const d = dtypeOfArray(a);
  if (d !== "uint8") return d;
  const specs: Record<string, VarSpec> = {};
  for (const [name, input] of Object.entries(c.inputs)) {
    specs[name] = "dtype" in input
      ? { kind: "array", dtype: input.dtype }
      : { kind: "weak", weak: input.weak };
  }
  return compileProgram(c.expr, specs).outputs[0].dtype;
}

function show(x: number | bigint): string {
  return typeof x === "number" && Object.is(x, -0) ? "-0" : String(x);
}

/** Runs one case; a description of what differs from NumPy, or undefined. */
function check(c: Case): string | undefined {
  const vars: Record<string, Operand> = {};
  for (const [name, input] of Object.entries(c.inputs)) vars[name] = operand(input);
  if (c.error !== undefined) {
    try {
      evaluate(c.expr, vars);
    } catch (e) {
      if (e instanceof RangeError || e instanceof ExpressionError) return undefined;
      return `NumPy raises ${c.error}, numfuse throws ${e}`;
    }
    return `NumPy raises ${c.error}, numfuse returns a value`;
  }
  let actual: NumericArray;
  try {
    actual = evaluate(c.expr, vars) as NumericArray;
  } catch (e) {
    return `numfuse throws ${e}`;
  }
  const dtype = resultDtype(c, actual);
  if (dtype !== c.dtype) return `dtype ${dtype}, NumPy ${c.dtype}`;
  const expected = decodeGolden(c.dtype!, c.values!);
  if (actual.length !== expected.length) {
    return `${actual.length} elements, NumPy ${expected.length}`;
  }
  const float = dtype === "float16" || dtype === "float32" || dtype === "float64";
  // A float16 result is a float32 one rounded: an inexact float32 may round to the neighbour.
  const ulp = float && INEXACT.test(c.expr) ? (dtype === "float16" ? 1 : ULP) : 0;
  for (let i = 0; i < expected.length; i++) {
    const x = actual[i], y = expected[i];
    if (Object.is(x, y)) continue;
    if (float) {
      const a = x as number, b = y as number;
      if (Number.isNaN(a) && Number.isNaN(b)) continue;
      const d = ulpDistance(a, b, dtype);
      // ±0 are 0 ulp apart, but differ: only an inexact kernel may give the other zero.
      if (d <= ulp && (ulp > 0 || a !== 0)) continue;
      const where = Object.entries(vars).map(([name, v]) =>
        `${name}=${
          show(
            ArrayBuffer.isView(v)
              ? (v as NumericArray)[i]
              : typeof v === "object"
              ? (v.data as NumericArray)[i]
              : v as number,
          )
        }`
      );
      return `element ${i} (${where.join(", ")}): ${show(a)}, NumPy ${show(b)} (${d} ulp)`;
    }
    return `element ${i}: ${show(x)}, NumPy ${show(y)}`;
  }
  return undefined;
}

const GROUPS = [...new Set(CASES.map((c) => c.group))];

for (const group of GROUPS) {
  const cases = CASES.filter((c) => c.group === group);
  test(`NumPy goldens, ${group}: ${cases.length} cases`, () => {
    const failures: string[] = [];
    for (const c of cases) {
      if (KNOWN.has(key(c))) continue;
      const problem = check(c);
      if (problem !== undefined) failures.push(`${key(c)}: ${problem}`);
    }
    assert.deepEqual(failures, []);
  });
}

test("every known numfuse bug left out of the goldens is still a case", () => {
  const keys = new Set(CASES.map(key));
  for (const k of KNOWN.keys()) assert.ok(keys.has(k), `no golden case ${k}`);
});

test("the goldens cover every dtype, operator and function", () => {
  const dtypes = new Set(CASES.flatMap((c) => c.dtype ?? []));
  assert.deepEqual([...dtypes].sort(), [...DTYPES].sort());
  const exprs = CASES.map((c) => c.expr).join(" ");
  for (
    const op of [
      ...["+", "-", "*", "/", "**", "%", "//", "<", "<=", ">", ">=", "==", "!="],
      ...["&", "|", "^", "<<", ">>"],
    ]
  ) {
    assert.ok(exprs.includes(` ${op} `), op);
  }
  for (
    const f of [
      ...["where(", "sqrt(", "exp(", "log(", "sin(", "cos(", "tanh(", "abs(", "~a", "-a"],
      ...["tan(", "arcsin(", "arccos(", "arctan(", "sinh(", "cosh(", "arcsinh(", "arccosh("],
      ...["arctanh(", "expm1(", "log1p(", "log2(", "log10(", "exp2(", "arctan2("],
      ...["ceil(", "floor(", "trunc(", "round(", "square(", "reciprocal(", "sign("],
      ...["isnan(", "isfinite(", "isinf(", "signbit(", "copysign(", "hypot(", "fmod("],
      ...["maximum(", "minimum(", "clip(", "nextafter(", "~a"],
    ]
  ) {
    assert.ok(exprs.includes(f), f);
  }
  assert.ok(CASES.some((c) => c.error !== undefined));
});

const HAVE_NUMPY = await pythonImports(pythonPath(), ["numpy"]);

test("scripts/gen_goldens.py reproduces tests/goldens/numpy.json byte for byte", {
  skip: !HAVE_NUMPY && "needs Debian's python3-numpy (deno task test installs it as root)",
}, async () => {
  assert.ok(
    await regenerate(SCRIPT) === TEXT,
    "tests/goldens/numpy.json is stale: run /usr/bin/python3 scripts/gen_goldens.py",
  );
});
