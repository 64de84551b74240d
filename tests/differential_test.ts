/**
 * Differential testing: random well-typed expressions over random dtypes and
 * random data (NaN, ±Inf, -0, integer extremes), run by numfuse and by the
 * plain-TypeScript reference evaluator, compared per dtype: exactly for
 * integers, bool and float arithmetic and comparisons; within a few ulp or a
 * relative tolerance where transcendentals or `**` are involved.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { TypedExpr, VarSpec } from "../src/ast.ts";
import { compileProgram } from "../src/compiler.ts";
import {
  allocArray,
  type DType,
  DTYPE_SIZE,
  dtypeKind,
  dtypeOfArray,
  DTYPES,
  intRange,
  type NumericArray,
} from "../src/dtype.ts";
import { ExpressionError } from "../src/errors.ts";
import { evaluate } from "../mod.ts";
import { pick, randomExpression } from "./generate.ts";
import { decodeGolden, hypot, referenceEvaluate, rng, ulpDistance } from "./reference.ts";

const FLOATS = [
  NaN,
  Infinity,
  -Infinity,
  -0,
  0,
  1,
  -1,
  0.5,
  -2.5,
  1e-310,
  3.4e38,
  -1e30,
  88.5,
  710,
];
const INT32S = [0, 1, -1, 2, 2147483647, -2147483648, 7, -7, 31];
const INT64S = [0n, 1n, -1n, 2n, 9223372036854775807n, -9223372036854775808n, 7n, -7n, 63n];

/** Random data of a dtype, with specials at 1 in 6. */
function data(r: () => number, dtype: DType, n: number): NumericArray {
  const a = allocArray(dtype, n);
  for (let i = 0; i < n; i++) {
    const special = r() < 1 / 6;
    if (dtype === "bool") (a as Uint8Array)[i] = r() < 0.5 ? 1 : 0;
    else if (dtype === "int32") {
      (a as Int32Array)[i] = special ? pick(r, INT32S) : Math.floor((r() - 0.5) * 200);
    } else if (dtype === "int64") {
      (a as BigInt64Array)[i] = special ? pick(r, INT64S) : BigInt(Math.floor((r() - 0.5) * 2e6));
    } else if (dtypeKind(dtype) !== "f") {
      // The other integer dtypes: their extremes and shift counts around their width.
      const bits = DTYPE_SIZE[dtype] * 8;
      const [lo, hi] = intRange(dtype);
      const v = special
        ? pick(r, [lo, hi, lo + 1n, 0n, 1n, -1n, 7n, BigInt(bits - 1), BigInt(bits)])
        : BigInt(Math.floor((r() - 0.5) * 200));
      const wrapped = lo === 0n ? BigInt.asUintN(bits, v) : BigInt.asIntN(bits, v);
      (a as unknown as (number | bigint)[])[i] = bits === 64 ? wrapped : Number(wrapped);
    } else (a as Float64Array)[i] = special ? pick(r, FLOATS) : (r() - 0.5) * 20;
  }
  return a;
}

/** Names the generator uses that are arrays here, and the weak scalars. */
const ARRAY_NAMES = ["b", "i", "j", "f", "d", "s"];

interface Case {
  readonly source: string;
  readonly dtypes: Record<string, DType>;
  readonly n: number;
  readonly seed: number;
}

const INEXACT = new Set([
  ...["exp", "log", "sin", "cos", "tanh", "pow", "tan", "arcsin", "arccos", "arctan"],
  ...["sinh", "cosh", "arcsinh", "arccosh", "arctanh", "expm1", "log1p", "log2", "log10"],
  ...["exp2", "arctan2", "hypot", "fma"],
]);

/** Operations whose result jumps on a last-place change of the operand (`%`, rounding, sign). */
const AMPLIFIERS = new Set([
  ...["mod", "fmod", "ceil", "floor", "trunc", "rint", "sign", "floordiv", "nextafter"],
  ...["signbit", "copysign"],
]);

const COMPARISONS = new Set(["lt", "le", "gt", "ge", "eq", "ne"]);

/**
 * The relative tolerance of a tree's inexact result: a float32
 * transcendental's few ulp are many float64 ulp once promoted, and an
 * inexact float32 result can round to the neighbouring float16.
 */
function tolerance(e: TypedExpr): number {
  return e.dtype === "float16" ? 2e-3 : e.dtype === "float32" || hasInexact32(e) ? 1e-5 : 1e-12;
}

/**
 * Whether element `i` of the tree has no defined answer for the reference
 * to give, for one of two reasons:
 * - a signbit or copysign reads a NaN's sign there: IEEE 754 leaves the sign
 *   of a NaN an operation makes open, and the reference cannot follow the
 *   hardware's (x86 makes -NaN for inf % inf, as NumPy does; JS gives +NaN)
 *   nor numfuse's kernels NumPy's (arcsin(2) is -NaN in NumPy here, +NaN in
 *   numfuse);
 * - a comparison of an inexact result is at its tie: its operands are
 *   within the tolerance of each other, where a last-place difference
 *   (float32 tanh(-9) is -1 or the float32 just above) decides it.
 */
function undecidedAt(e: TypedExpr, vars: Record<string, unknown>, n: number, i: number): boolean {
  if (e.type === "cast") return undecidedAt(e.operand, vars, n, i);
  if (e.type !== "op") return false;
  const at = (arg: TypedExpr) => referenceEvaluate(arg, vars, n, "float64")[i] as number;
  if ((e.op === "signbit" || e.op === "copysign") && Number.isNaN(at(e.args[e.args.length - 1]))) {
    return true;
  }
  if (COMPARISONS.has(e.op) && e.args.some(hasInexact)) {
    const [a, b] = e.args.map(at);
    if (Math.abs(a - b) <= Math.max(...e.args.map(tolerance)) * (Math.abs(b) + 1)) return true;
  }
  return e.args.some((arg) => undecidedAt(arg, vars, n, i));
}

/** Whether a tree contains an inexact (transcendental or `**`) operation. */
function hasInexact(e: TypedExpr): boolean {
  if (e.type === "op") return INEXACT.has(e.op) || e.args.some(hasInexact);
  return e.type === "cast" ? hasInexact(e.operand) : false;
}

/** Whether a tree contains an inexact operation computed in float32. */
function hasInexact32(e: TypedExpr): boolean {
  if (e.type === "op") {
    return (INEXACT.has(e.op) && e.dtype === "float32") || e.args.some(hasInexact32);
  }
  return e.type === "cast" ? hasInexact32(e.operand) : false;
}

/**
 * Whether an inexact result feeds a function or `%` that amplifies its last-place
 * error without bound (`sin(x ** y)` with a large argument, `exp(..) % 1e-8`):
 * then ulp means nothing, and the values are not compared.
 */
function amplifies(e: TypedExpr): boolean {
  if (e.type === "cast") return amplifies(e.operand);
  if (e.type !== "op") return false;
  if ((INEXACT.has(e.op) || AMPLIFIERS.has(e.op)) && e.args.some(hasInexact)) return true;
  return e.args.some(amplifies);
}

let unstable = 0;

/** Compares one case; returns a description of the first mismatch, or undefined. */
function compare(c: Case): string | undefined {
  const r = rng(c.seed);
  const specs: Record<string, VarSpec> = {
    k: { kind: "weak", weak: "int" },
    w: { kind: "weak", weak: "float" },
  };
  const raw: Record<string, NumericArray | number> = { k: 3, w: -0.75 };
  const vars: Record<string, unknown> = { k: 3, w: -0.75 };
  for (const name of ARRAY_NAMES) {
    const dtype = c.dtypes[name];
    specs[name] = { kind: "array", dtype };
    raw[name] = data(r, dtype, c.n);
    vars[name] = dtype === "bool" ? { data: raw[name], dtype: "bool" } : raw[name];
  }
  const { typed, inputs } = compileProgram(c.source, specs);
  // An expression of scalars only has one element.
  const n = inputs.length === 0 ? 1 : c.n;
  let expected: NumericArray;
  try {
    expected = referenceEvaluate(typed, raw, n);
  } catch (e) {
    // Integers to negative powers: both sides refuse.
    assert.throws(() => evaluate(c.source, vars as never), RangeError);
    return (e as Error).constructor === RangeError ? undefined : `reference threw ${e}`;
  }
  let actual: NumericArray;
  try {
    actual = evaluate(c.source, vars as never) as NumericArray;
  } catch (e) {
    // The VM checks every element, also those `where` does not select (NumPy
    // evaluates both branches too); the reference evaluates the chosen one only.
    if (e instanceof RangeError && /negative integer powers/.test(e.message)) return undefined;
    throw e;
  }
  if (actual.constructor !== expected.constructor) {
    return `result is a ${actual.constructor.name}, expected ${expected.constructor.name}`;
  }
  const f32 = actual instanceof Float32Array;
  const f16 = dtypeOfArray(actual) === "float16";
  const float = f32 || f16 || actual instanceof Float64Array;
  const inexact = hasInexact(typed);
  // Also for bool results: the sign of an inexact result near zero jumps with its last place.
  if (amplifies(typed)) {
    unstable++;
    return undefined;
  }
  const rel = tolerance(typed);
  if (actual.length !== n) return `result has ${actual.length} elements, expected ${n}`;
  for (let i = 0; i < n; i++) {
    const x = actual[i], y = expected[i];
    if (!float) {
      if (x !== y && !undecidedAt(typed, raw, n, i)) return `element ${i} is ${x}, expected ${y}`;
      continue;
    }
    const a = x as number, b = y as number;
    if (Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b))) continue;
    if (undecidedAt(typed, raw, n, i)) continue;
    if (!inexact) return `element ${i} is ${a}, expected ${b} (exact)`;
    const ulp = ulpDistance(a, b, f32 ? "float32" : "float64");
    // Inexact kernels: a few ulp, or a relative+absolute tolerance once later
    // operations (cancellation) make ulp meaningless; non-finite values must agree.
    if (ulp <= 8 || Math.abs(a - b) <= rel * (Math.abs(b) + 1)) continue;
    return `element ${i} is ${a}, expected ${b} (${ulp} ulp)`;
  }
  return undefined;
}

/** Random well-typed cases: expressions the compiler accepts for random dtypes. */
function* cases(seed: number, count: number): Generator<Case> {
  const r = rng(seed);
  let made = 0;
  while (made < count) {
    const dtypes: Record<string, DType> = {};
    for (const name of ARRAY_NAMES) dtypes[name] = pick(r, DTYPES);
    const source = randomExpression(r, 1 + Math.floor(r() * 4));
    try {
      compileProgram(source, {
        ...Object.fromEntries(ARRAY_NAMES.map((n) => [n, { kind: "array", dtype: dtypes[n] }])),
        k: { kind: "weak", weak: "int" },
        w: { kind: "weak", weak: "float" },
      } as Record<string, VarSpec>);
    } catch (e) {
      if (e instanceof ExpressionError) continue;
      throw e;
    }
    made++;
    yield { source, dtypes, n: pick(r, [1, 17, 64, 4099]), seed: Math.floor(r() * 2 ** 31) };
  }
}

/** Shrinks a failing case: smaller n first, then the source by dropping characters. */
function shrink(c: Case): Case {
  let best = c;
  for (const n of [1, 2, 4, 8, 17, 64]) {
    if (n < best.n && failsSafely({ ...best, n })) {
      best = { ...best, n };
      break;
    }
  }
  return best;
}

function failsSafely(c: Case): boolean {
  try {
    return compare(c) !== undefined;
  } catch {
    return false;
  }
}

/** Cases per run; `NUMFUSE_DIFF_CASES` and `NUMFUSE_DIFF_SEED` run more on demand. */
const COUNT = Number(Deno.env.get("NUMFUSE_DIFF_CASES") ?? 1500);
const SEED = Number(Deno.env.get("NUMFUSE_DIFF_SEED") ?? 20261124);

test(`${COUNT} random well-typed expressions agree with the reference evaluator`, () => {
  const failures: string[] = [];
  let compared = 0;
  for (const c of cases(SEED, COUNT)) {
    const problem = compare(c);
    compared++;
    if (problem === undefined) continue;
    const small = shrink(c);
    failures.push(
      `${JSON.stringify(small.source)} ${
        JSON.stringify(small.dtypes)
      } n=${small.n} seed=${small.seed}: ${compare(small)}`,
    );
    if (failures.length >= 5) break;
  }
  assert.deepEqual(failures, []);
  assert.equal(compared, COUNT);
  // Most cases are compared value by value.
  assert.ok(unstable < COUNT / 5, `${unstable} of ${COUNT} cases not compared by value`);
  console.log(`differential: ${compared} cases, ${unstable} compared by dtype and length only`);
});

/** The part of a case of `goldens/numpy.json` the hypot check reads. */
interface GoldenCase {
  readonly expr: string;
  readonly dtype?: DType;
  readonly inputs: Record<string, { readonly dtype: DType; readonly data: readonly string[] }>;
  readonly values?: readonly string[];
}

test("the reference's hypot is NumPy's on every float64 hypot golden, bit for bit", () => {
  const { cases } = JSON.parse(
    Deno.readTextFileSync(new URL("./goldens/numpy.json", import.meta.url)),
  ) as { cases: readonly GoldenCase[] };
  let checked = 0;
  for (const c of cases) {
    if (c.expr !== "hypot(a, b)" || c.dtype !== "float64" || !c.values) continue;
    const a = decodeGolden(c.inputs.a.dtype, c.inputs.a.data);
    const b = decodeGolden(c.inputs.b.dtype, c.inputs.b.data);
    const expected = decodeGolden("float64", c.values);
    for (let i = 0; i < expected.length; i++) {
      assert.ok(
        Object.is(hypot(Number(a[i]), Number(b[i])), expected[i]),
        `hypot(${a[i]}, ${b[i]}) is ${hypot(Number(a[i]), Number(b[i]))}, NumPy ${expected[i]}`,
      );
      checked++;
    }
  }
  assert.ok(checked >= 150, `only ${checked} golden hypot values`);
});

test("a comparison with hypot at its rounding boundary agrees with the reference", () => {
  // hypot(2147483647, -26) is 2147483647 + 1.57e-7, above the half ulp
  // (1.19e-7): NumPy rounds it up, and so s >= hypot(s, i) is false.
  const s = new Int32Array([2147483647, 2147483647, 5]);
  const i = new Int32Array([-26, 1, 0]);
  const source = "s >= hypot(s, i)";
  const { typed } = compileProgram(source, {
    s: { kind: "array", dtype: "int32" },
    i: { kind: "array", dtype: "int32" },
  });
  const expected = referenceEvaluate(typed, { s, i }, 3);
  assert.deepEqual(Array.from(expected as Uint8Array), [0, 1, 1]);
  assert.deepEqual(Array.from(evaluate(source, { s, i }) as Uint8Array), [0, 1, 1]);
});
