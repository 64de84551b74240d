/**
 * End to end: expression → compiler → bytecode → native VM, compared with the
 * plain-TypeScript reference evaluator over random data with NaN, ±Inf, -0
 * and integer extremes, at lengths that cover empty, the block remainder and
 * the threaded path.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { VarSpec } from "../src/ast.ts";
import { compileProgram } from "../src/compiler.ts";
import { disassemble } from "../src/disasm.ts";
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
import { evaluate, getNumThreads, setNumThreads } from "../mod.ts";
import { list, referenceEvaluate, rng, ulpDistance } from "./reference.ts";

const FLOAT_SPECIALS = [NaN, Infinity, -Infinity, -0, 0, 1, -1, 0.5, 1e-310, 3.4e38, -1e30, 88.5];
const INT32_SPECIALS = [0, 1, -1, 2147483647, -2147483648, 7, -7];
const INT64_SPECIALS = [0n, 1n, -1n, 9223372036854775807n, -9223372036854775808n, 7n, -7n];

/** Random data of a dtype; specials are sprinkled in at 1 in 8, and at the start. */
function data(dtype: DType, n: number, seed: number, positive = false): NumericArray {
  const r = rng(seed);
  const a = allocArray(dtype, n);
  for (let i = 0; i < n; i++) {
    const special = i < 12 || r() < 0.125;
    switch (dtype) {
      case "float16":
      case "float32":
      case "float64": {
        let x = special ? FLOAT_SPECIALS[(i + seed) % FLOAT_SPECIALS.length] : (r() - 0.5) * 20;
        if (positive) x = Math.abs(x);
        (a as Float64Array)[i] = x;
        break;
      }
      case "int32": {
        let x = special
          ? INT32_SPECIALS[(i + seed) % INT32_SPECIALS.length]
          : Math.floor((r() - 0.5) * 2000);
        if (positive) x = Math.abs(x % 5);
        (a as Int32Array)[i] = x;
        break;
      }
      case "int64": {
        let x = special
          ? INT64_SPECIALS[(i + seed) % INT64_SPECIALS.length]
          : BigInt(Math.floor((r() - 0.5) * 2e6));
        if (positive) x = (x < 0n ? -x : x) % 5n;
        (a as BigInt64Array)[i] = x;
        break;
      }
      case "bool":
        (a as Uint8Array)[i] = r() < 0.5 ? 1 : 0;
        break;
      default: {
        // The other integer dtypes: extremes, small values and shift counts.
        const bits = DTYPE_SIZE[dtype] * 8;
        const [lo, hi] = intRange(dtype);
        const specials = [0n, 1n, -1n, lo, hi, lo + 1n, 7n, -7n, BigInt(bits), BigInt(bits - 1)];
        let x = special
          ? specials[(i + seed) % specials.length]
          : BigInt(Math.floor((r() - 0.5) * 300));
        if (positive) x = (x < 0n ? -x : x) % 5n;
        const v = dtypeKind(dtype) === "u" ? BigInt.asUintN(bits, x) : BigInt.asIntN(bits, x);
        (a as unknown as (number | bigint)[])[i] = bits === 64 ? v : Number(v);
      }
    }
  }
  return a;
}

interface Case {
  readonly expr: string;
  /** Array variables and their dtypes. */
  readonly arrays: Readonly<Record<string, DType>>;
  /** Scalar variables (JS numbers). */
  readonly scalars?: Readonly<Record<string, number>>;
  /** Max ULP difference for float results (0: bit-exact, NaN payloads aside). */
  readonly ulp?: number;
  /** Variables that must be non-negative (integer exponents). */
  readonly positive?: readonly string[];
}

const FLOAT_CASES = (t: DType): Case[] => [
  { expr: "a + b", arrays: { a: t, b: t } },
  { expr: "a - b", arrays: { a: t, b: t } },
  { expr: "a * b", arrays: { a: t, b: t } },
  { expr: "a / b", arrays: { a: t, b: t } },
  { expr: "a % b", arrays: { a: t, b: t } },
  { expr: "a ** b", arrays: { a: t, b: t }, ulp: 2 },
  { expr: "-a", arrays: { a: t } },
  { expr: "a < b", arrays: { a: t, b: t } },
  { expr: "a <= b", arrays: { a: t, b: t } },
  { expr: "a > b", arrays: { a: t, b: t } },
  { expr: "a >= b", arrays: { a: t, b: t } },
  { expr: "a == b", arrays: { a: t, b: t } },
  { expr: "a != b", arrays: { a: t, b: t } },
  { expr: "(a > b) & (b > 0)", arrays: { a: t, b: t } },
  { expr: "(a > b) | (b > 0)", arrays: { a: t, b: t } },
  { expr: "~(a > b)", arrays: { a: t, b: t } },
  { expr: "where(a > b, a, b)", arrays: { a: t, b: t } },
  { expr: "sqrt(a)", arrays: { a: t } },
  { expr: "exp(a)", arrays: { a: t }, ulp: 2 },
  { expr: "log(a)", arrays: { a: t }, ulp: 2 },
  { expr: "sin(a)", arrays: { a: t }, ulp: 2 },
  { expr: "cos(a)", arrays: { a: t }, ulp: 2 },
  // Node 20's Math.tanh, the oracle here, is itself up to 3 ulp off in float64.
  { expr: "tanh(a)", arrays: { a: t }, ulp: 4 },
  { expr: "abs(a)", arrays: { a: t } },
  { expr: "tanh(where(a > 0, a, 0))", arrays: { a: t }, ulp: 4 },
  { expr: "a - lr * b", arrays: { a: t, b: t }, scalars: { lr: 0.01 } },
  { expr: "a * 0.5 + 1e-8", arrays: { a: t } },
  { expr: "2. * a - .5", arrays: { a: t } },
  { expr: "a ** 2", arrays: { a: t } },
  { expr: "a + (1 - 0.9) * (b - a)", arrays: { a: t, b: t } },
  { expr: "a / (sqrt(b) + 1e-8)", arrays: { a: t, b: t } },
  { expr: "sin(a) * sin(a) + cos(a) * cos(a)", arrays: { a: t }, ulp: 4 },
  { expr: "tan(a)", arrays: { a: t }, ulp: 4 },
  { expr: "arctan(a)", arrays: { a: t }, ulp: 4 },
  { expr: "sinh(a)", arrays: { a: t }, ulp: 4 },
  { expr: "cosh(a)", arrays: { a: t }, ulp: 4 },
  { expr: "arcsinh(a)", arrays: { a: t }, ulp: 4 },
  { expr: "expm1(a)", arrays: { a: t }, ulp: 4 },
  { expr: "log1p(a)", arrays: { a: t }, ulp: 4 },
  { expr: "log2(a)", arrays: { a: t }, ulp: 4 },
  { expr: "log10(a)", arrays: { a: t }, ulp: 4 },
  { expr: "exp2(a)", arrays: { a: t }, ulp: 4 },
  { expr: "arcsin(a)", arrays: { a: t }, ulp: 4 },
  { expr: "arccos(a)", arrays: { a: t }, ulp: 4 },
  { expr: "arctanh(a)", arrays: { a: t }, ulp: 4 },
  { expr: "arccosh(a)", arrays: { a: t }, ulp: 4 },
  { expr: "arcsin(a * 0.1)", arrays: { a: t }, ulp: 4 },
  { expr: "arccos(a * 0.1)", arrays: { a: t }, ulp: 4 },
  { expr: "arctanh(a * 0.1)", arrays: { a: t }, ulp: 4 },
  { expr: "arccosh(abs(a) + 1)", arrays: { a: t }, ulp: 4 },
  { expr: "arctan2(a, b)", arrays: { a: t, b: t }, ulp: 4 },
  { expr: "arctan2(a, 2)", arrays: { a: t }, ulp: 4 },
  { expr: "ceil(a)", arrays: { a: t } },
  { expr: "floor(a)", arrays: { a: t } },
  { expr: "trunc(a)", arrays: { a: t } },
  { expr: "round(a)", arrays: { a: t } },
  { expr: "round(a * 2)", arrays: { a: t } },
  { expr: "square(a)", arrays: { a: t } },
  { expr: "reciprocal(a)", arrays: { a: t } },
  { expr: "sign(a)", arrays: { a: t } },
  { expr: "isnan(a)", arrays: { a: t } },
  { expr: "isfinite(a)", arrays: { a: t } },
  { expr: "isinf(a)", arrays: { a: t } },
  { expr: "signbit(a)", arrays: { a: t } },
  { expr: "signbit(-a)", arrays: { a: t } },
  { expr: "copysign(a, b)", arrays: { a: t, b: t } },
  { expr: "hypot(a, b)", arrays: { a: t, b: t }, ulp: 3 }, // V8's Math.hypot is itself ~2 ulp off
  { expr: "fmod(a, b)", arrays: { a: t, b: t } },
  { expr: "maximum(a, b)", arrays: { a: t, b: t } },
  { expr: "minimum(a, b)", arrays: { a: t, b: t } },
  { expr: "clip(a, b, c)", arrays: { a: t, b: t, c: t } },
  { expr: "clip(a, -1, 2.5)", arrays: { a: t } },
  { expr: "fma(a, b, c)", arrays: { a: t, b: t, c: t }, ulp: 1 },
];

const INT_CASES = (t: DType): Case[] => [
  { expr: "a + b", arrays: { a: t, b: t } },
  { expr: "a - b", arrays: { a: t, b: t } },
  { expr: "a * b", arrays: { a: t, b: t } },
  { expr: "a % b", arrays: { a: t, b: t } },
  { expr: "a ** b", arrays: { a: t, b: t }, positive: ["b"] },
  { expr: "-a", arrays: { a: t } },
  { expr: "abs(a)", arrays: { a: t } },
  { expr: "a < b", arrays: { a: t, b: t } },
  { expr: "a == b", arrays: { a: t, b: t } },
  { expr: "a != b", arrays: { a: t, b: t } },
  { expr: "where(a >= b, a, 3)", arrays: { a: t, b: t } },
  { expr: "a / b", arrays: { a: t, b: t } },
  { expr: "sqrt(a)", arrays: { a: t }, ulp: 0 },
  { expr: "a * 2 + 1", arrays: { a: t } },
  { expr: "a * s", arrays: { a: t }, scalars: { s: 2.5 } },
  { expr: "a + k", arrays: { a: t }, scalars: { k: -3 } },
  { expr: "expm1(a)", arrays: { a: t }, ulp: 4 },
  { expr: "log10(a)", arrays: { a: t }, ulp: 4 },
  { expr: "arctan2(a, b)", arrays: { a: t, b: t }, ulp: 4 },
  { expr: "round(a)", arrays: { a: t } },
  { expr: "square(a)", arrays: { a: t } },
  { expr: "sign(a)", arrays: { a: t } },
  { expr: "isnan(a) | isinf(a) | ~isfinite(a) | signbit(a)", arrays: { a: t } },
  { expr: "fmod(a, b)", arrays: { a: t, b: t } },
  { expr: "maximum(a, b)", arrays: { a: t, b: t } },
  { expr: "minimum(a, 3)", arrays: { a: t } },
  { expr: "clip(a, b, 100)", arrays: { a: t, b: t } },
  { expr: "clip(a, -5, 5)", arrays: { a: t } },
  { expr: "hypot(a, b)", arrays: { a: t, b: t }, ulp: 3 }, // V8's Math.hypot is itself ~2 ulp off
  { expr: "copysign(a, b)", arrays: { a: t, b: t } },
];

/** The integer operators and the functions NumPy takes on every integer dtype. */
const ALL_INT_CASES = (t: DType): Case[] => [
  { expr: "a // b", arrays: { a: t, b: t } },
  { expr: "a % b", arrays: { a: t, b: t } },
  { expr: "a << b", arrays: { a: t, b: t } },
  { expr: "a >> b", arrays: { a: t, b: t } },
  { expr: "a & b", arrays: { a: t, b: t } },
  { expr: "a | b", arrays: { a: t, b: t } },
  { expr: "a ^ b", arrays: { a: t, b: t } },
  { expr: "~a", arrays: { a: t } },
  { expr: "-a", arrays: { a: t } },
  { expr: "a + b * a - b", arrays: { a: t, b: t } },
  { expr: "a ** b", arrays: { a: t, b: t }, positive: ["b"] },
  { expr: "a < b", arrays: { a: t, b: t } },
  { expr: "a == b", arrays: { a: t, b: t } },
  { expr: "abs(a)", arrays: { a: t } },
  { expr: "sign(a)", arrays: { a: t } },
  { expr: "square(a)", arrays: { a: t } },
  { expr: "reciprocal(a)", arrays: { a: t } },
  { expr: "ceil(a) + floor(b) - trunc(a) + round(b)", arrays: { a: t, b: t } },
  { expr: "isnan(a) | isinf(a) | ~isfinite(a) | signbit(a)", arrays: { a: t } },
  { expr: "fmod(a, b)", arrays: { a: t, b: t } },
  { expr: "maximum(a, b)", arrays: { a: t, b: t } },
  { expr: "minimum(a, 3)", arrays: { a: t } },
  { expr: "clip(a, b, 100)", arrays: { a: t, b: t } },
  { expr: "where(a > b, a, b)", arrays: { a: t, b: t } },
  { expr: "a / b", arrays: { a: t, b: t } },
  { expr: "a // 3 + a % 3 + (a << 1) + (a >> 1) + (a & 5) + (a | 5) + (a ^ 5)", arrays: { a: t } },
  { expr: "a * 0.5", arrays: { a: t } },
  // nextafter of 8-bit integers is float16, which Node 20 cannot hold.
  ...(DTYPE_SIZE[t] >= 2 || HAVE_FLOAT16
    ? [{ expr: "nextafter(a, b)", arrays: { a: t, b: t } }]
    : []),
  ...(DTYPE_SIZE[t] >= 2
    ? [
      { expr: "sqrt(a)", arrays: { a: t } },
      { expr: "exp(a * 0.01)", arrays: { a: t }, ulp: 4 },
      { expr: "arctan2(a, b)", arrays: { a: t, b: t }, ulp: 4 },
    ]
    : []),
];

/** Bool operands, computed as NumPy computes them. */
const BOOL_CASES: Case[] = [
  { expr: "a & b", arrays: { a: "bool", b: "bool" } },
  { expr: "a | b", arrays: { a: "bool", b: "bool" } },
  { expr: "a ^ b", arrays: { a: "bool", b: "bool" } },
  { expr: "~a", arrays: { a: "bool" } },
  { expr: "a << b", arrays: { a: "bool", b: "bool" } },
  { expr: "a >> b", arrays: { a: "bool", b: "bool" } },
  { expr: "a + b", arrays: { a: "bool", b: "bool" } },
  { expr: "a * b", arrays: { a: "bool", b: "bool" } },
  { expr: "a // b + a % b + a ** b", arrays: { a: "bool", b: "bool" } },
  { expr: "abs(a)", arrays: { a: "bool" } },
  { expr: "square(a) + reciprocal(b) + fmod(a, b)", arrays: { a: "bool", b: "bool" } },
  {
    expr: "maximum(a, b) ^ minimum(a, b) ^ clip(a, b, c)",
    arrays: { a: "bool", b: "bool", c: "bool" },
  },
  { expr: "isnan(a) | isinf(a) | ~isfinite(a) | signbit(a)", arrays: { a: "bool" } },
  { expr: "ceil(a) & floor(b) & trunc(a) & round(b)", arrays: { a: "bool", b: "bool" } },
  { expr: "a + 1", arrays: { a: "bool" } },
];

const MIXED_CASES: Case[] = [
  { expr: "a + b", arrays: { a: "int8", b: "uint8" } },
  { expr: "a * b", arrays: { a: "uint16", b: "int16" } },
  { expr: "a - b", arrays: { a: "uint32", b: "int32" } },
  { expr: "a + b", arrays: { a: "uint64", b: "int64" } },
  { expr: "a < b", arrays: { a: "uint64", b: "int64" } },
  { expr: "a // b", arrays: { a: "int8", b: "float32" } },
  { expr: "a << b", arrays: { a: "uint8", b: "int16" } },
  { expr: "a & b", arrays: { a: "bool", b: "int8" } },
  { expr: "where(m, a, b)", arrays: { m: "bool", a: "uint8", b: "int8" } },
  { expr: "maximum(a, b)", arrays: { a: "uint32", b: "int16" } },
  { expr: "sqrt(a) + b", arrays: { a: "uint16", b: "int8" } },
  { expr: "a + b", arrays: { a: "int32", b: "float32" } },
  { expr: "a * b", arrays: { a: "int64", b: "float64" } },
  { expr: "a - b", arrays: { a: "int32", b: "int64" } },
  { expr: "where(m, a, b)", arrays: { m: "bool", a: "float32", b: "float64" } },
  { expr: "m & (a > 0)", arrays: { m: "bool", a: "int32" } },
  { expr: "a < b", arrays: { a: "float32", b: "float64" } },
  { expr: "a + True", arrays: { a: "int32" } },
  { expr: "m == False", arrays: { m: "bool" } },
  { expr: "arctan2(a, b)", arrays: { a: "float32", b: "int32" }, ulp: 4 },
  { expr: "arctan2(a, b)", arrays: { a: "int64", b: "float32" }, ulp: 4 },
  { expr: "maximum(a, b)", arrays: { a: "int32", b: "float32" } },
  { expr: "clip(a, b, c)", arrays: { a: "float32", b: "int32", c: "float64" } },
  { expr: "fmod(a, b)", arrays: { a: "int32", b: "int64" } },
  { expr: "fma(a, b, 0.5)", arrays: { a: "float32", b: "int32" }, ulp: 1 },
];

const LENGTHS = [0, 1, 7, 4097, 1 << 20];
/** Shorter, for the many integer and bool cases (the reference computes them in bigints). */
const SHORT_LENGTHS = [0, 1, 7, 4097, 40_000];

function specsOf(c: Case): Record<string, VarSpec> {
  const specs: Record<string, VarSpec> = {};
  for (const [name, dtype] of Object.entries(c.arrays)) specs[name] = { kind: "array", dtype };
  for (const [name, v] of Object.entries(c.scalars ?? {})) {
    specs[name] = { kind: "weak", weak: Number.isInteger(v) ? "int" : "float" };
  }
  return specs;
}

function makeVars(c: Case, n: number, seed: number): Record<string, NumericArray | number> {
  const vars: Record<string, NumericArray | number> = {};
  let k = 0;
  for (const [name, dtype] of Object.entries(c.arrays)) {
    vars[name] = data(dtype, n, seed + 101 * k++, c.positive?.includes(name));
  }
  for (const [name, v] of Object.entries(c.scalars ?? {})) vars[name] = v;
  return vars;
}

function wrapVars(c: Case, vars: Record<string, NumericArray | number>) {
  const wrapped: Record<string, unknown> = { ...vars };
  for (const [name, dtype] of Object.entries(c.arrays)) {
    if (dtype === "bool") wrapped[name] = { data: vars[name], dtype: "bool" };
  }
  return wrapped as Record<string, NumericArray | number | { data: NumericArray; dtype: "bool" }>;
}

/** Asserts two result arrays agree element for element within `ulp` (floats) or exactly. */
function assertClose(actual: NumericArray, expected: NumericArray, ulp: number, label: string) {
  assert.equal(actual.constructor, expected.constructor, `${label}: result type`);
  assert.equal(actual.length, expected.length, `${label}: length`);
  const isF32 = actual instanceof Float32Array, isF16 = dtypeOfArray(actual) === "float16";
  const isFloat = isF32 || isF16 || actual instanceof Float64Array;
  for (let i = 0; i < actual.length; i++) {
    const x = actual[i], y = expected[i];
    if (isFloat) {
      const d = ulpDistance(
        x as number,
        y as number,
        isF16 ? "float16" : isF32 ? "float32" : "float64",
      );
      const sameZero = x !== 0 || Object.is(x, y) || ulp > 0;
      if (d > ulp || !sameZero) {
        assert.fail(`${label}: element ${i} is ${String(x)}, expected ${String(y)} (${d} ulp)`);
      }
    } else if (x !== y) {
      assert.fail(`${label}: element ${i} is ${String(x)}, expected ${String(y)}`);
    }
  }
}

function check(c: Case, n: number, seed: number) {
  const vars = makeVars(c, n, seed);
  const { typed } = compileProgram(c.expr, specsOf(c));
  const expected = referenceEvaluate(typed, vars, n);
  const actual = evaluate(c.expr, wrapVars(c, vars)) as NumericArray;
  assertClose(actual, expected, c.ulp ?? 0, `${c.expr} [${Object.values(c.arrays)}] n=${n}`);
}

for (const t of ["float32", "float64"] as const) {
  test(`every operator and function on ${t} matches the reference`, () => {
    for (const c of FLOAT_CASES(t)) for (const n of LENGTHS) check(c, n, n + 1);
  });
}

const HAVE_FLOAT16 = "Float16Array" in globalThis;

test(
  "every operator and function on float16 (computed in float32, rounded each time) matches the reference",
  {
    skip: !HAVE_FLOAT16 && "this runtime has no Float16Array",
  },
  () => {
    for (const c of FLOAT_CASES("float16")) for (const n of SHORT_LENGTHS) check(c, n, n + 11);
    const mixed: Case[] = [
      { expr: "sqrt(a) + exp(b * 0.01)", arrays: { a: "int8", b: "uint8" }, ulp: 2 },
      { expr: "a + b", arrays: { a: "float16", b: "int8" } },
      { expr: "a * b", arrays: { a: "float16", b: "int16" } },
      { expr: "a - b", arrays: { a: "float16", b: "float32" } },
      { expr: "where(a < b, a, b) // 3", arrays: { a: "float16", b: "float16" } },
      { expr: "nextafter(a, b)", arrays: { a: "float16", b: "float16" } },
      { expr: "nextafter(a, a * 2)", arrays: { a: "float16" } },
      { expr: "sin(a) > 0.5", arrays: { a: "bool" } },
    ];
    for (const c of mixed) for (const n of SHORT_LENGTHS) check(c, n, n + 13);
  },
);

for (const t of ["int32", "int64"] as const) {
  test(`integer operators on ${t} match the reference`, () => {
    for (const c of INT_CASES(t)) for (const n of LENGTHS) check(c, n, n + 3);
  });
}

for (
  const t of ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"] as const
) {
  test(`integer operators and functions on ${t} match the reference`, () => {
    for (const c of ALL_INT_CASES(t)) for (const n of SHORT_LENGTHS) check(c, n, n + 7);
  });
}

test("operators and functions on bool match the reference", () => {
  for (const c of BOOL_CASES) for (const n of SHORT_LENGTHS) check(c, n, n + 9);
});

test("where of every comparison, fused into one instruction, matches the reference", () => {
  const comparisons = { "<": "lt", "<=": "le", ">": "gt", ">=": "ge", "==": "eq", "!=": "ne" };
  // float16 compares in float32, so it has no fused opcode of its own.
  const dtypes = DTYPES.filter((t) => t !== "float16");
  for (const t of dtypes) {
    for (const [cmp, op] of Object.entries(comparisons)) {
      // NaN, ±0 (also against the constant 0 and against -a), ±inf and the
      // integer extremes are in the data; a == a is false only for NaN.
      const cases: Case[] = [
        { expr: `where(a ${cmp} b, a, b)`, arrays: { a: t, b: t } },
        { expr: `where(a ${cmp} b, b, c)`, arrays: { a: t, b: t, c: t } },
        { expr: `where(a ${cmp} a, a, b)`, arrays: { a: t, b: t } },
      ];
      if (t !== "bool") {
        cases.push(
          { expr: `where(a ${cmp} 0, a, 0)`, arrays: { a: t } },
          { expr: `where(0 ${cmp} a, 1, a)`, arrays: { a: t } },
        );
      }
      if (t.startsWith("float")) {
        cases.push({ expr: `where(a ${cmp} -a, a, -b)`, arrays: { a: t, b: t } });
      }
      for (const c of cases) {
        const listing = disassemble(compileProgram(c.expr, specsOf(c)).code);
        assert.match(listing, new RegExp(`: where_${op}_`), `${c.expr} [${t}] is fused`);
        for (const n of SHORT_LENGTHS) check(c, n, n + 17);
      }
    }
  }
});

test("mixed dtypes promote as NumPy 2 and match the reference", () => {
  for (const c of MIXED_CASES) for (const n of LENGTHS) check(c, n, n + 5);
});

test("a 1<<20 array runs on one and on two threads with the reference's result", () => {
  const n = 1 << 20;
  const before = getNumThreads();
  try {
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      check({ expr: "tanh(where(a > 0, a, 0))", arrays: { a: "float32" }, ulp: 4 }, n, 9);
      check({ expr: "a * b + a", arrays: { a: "float32", b: "float32" } }, n, 10);
      check({ expr: "a - b * 3", arrays: { a: "int64", b: "int64" } }, n, 11);
    }
  } finally {
    setNumThreads(before);
  }
});

test("out is written in place, also when it is one of the inputs", () => {
  const p = data("float32", 4097, 1), g = data("float32", 4097, 2);
  const { typed } = compileProgram(
    "p - lr * g",
    specsOf({ expr: "", arrays: { p: "float32", g: "float32" }, scalars: { lr: 0.5 } }),
  );
  const expected = referenceEvaluate(typed, { p, g, lr: 0.5 }, p.length);
  const result = evaluate("p - lr * g", { p, g, lr: 0.5 }, { out: p });
  assert.equal(result, p);
  assertClose(p, expected, 0, "p -= lr * g");
});

test("out overlapping an input at another offset gives the reference's result", () => {
  const buffer = new Float64Array(20).map((_, i) => i * 1.5 - 7);
  const x = buffer.subarray(0, 16), out = buffer.subarray(4, 20);
  const expected = Float64Array.from(x, (v) => v * 2 + 1);
  evaluate("x * 2 + 1", { x }, { out });
  assert.deepEqual(list(out), list(expected));
});

test("out of another dtype is written through the casting rule", () => {
  const a = new Float64Array([1.5, -2.25, 3]);
  const out32 = new Float32Array(3);
  evaluate("a * 2", { a }, { out: out32 });
  assert.deepEqual(list(out32), [3, -4.5, 6]);
  const outI = new Int32Array(3);
  evaluate("a * 2", { a }, { out: outI, casting: "unsafe" });
  assert.deepEqual(list(outI), [3, -4, 6]);
  const outB = new Uint8Array(3);
  evaluate("a > 0", { a }, { out: outB });
  assert.deepEqual(list(outB), [1, 0, 1]);
  const i = new Int32Array([1, 2, 3]);
  const out64 = new Float64Array(3);
  evaluate("i + 1", { i }, { out: out64, casting: "safe" });
  assert.deepEqual(list(out64), [2, 3, 4]);
});

test("results have the dtype NumPy 2 gives, as the matching TypedArray", () => {
  const f32 = new Float32Array([1, 2]),
    i32 = new Int32Array([1, 2]),
    i64 = new BigInt64Array([1n, 2n]);
  assert.ok(evaluate("f32 * 0.5", { f32 }) instanceof Float32Array);
  assert.ok(evaluate("i32 + f32", { i32, f32 }) instanceof Float64Array);
  assert.ok(evaluate("i32 / i32", { i32 }) instanceof Float64Array);
  assert.ok(evaluate("i32 + 1", { i32 }) instanceof Int32Array);
  assert.ok(evaluate("i64 * 3", { i64 }) instanceof BigInt64Array);
  assert.ok(evaluate("f32 > 1", { f32 }) instanceof Uint8Array);
  assert.deepEqual(list(evaluate("i64 * s", { i64, s: 2n })), [2n, 4n]);
});

test("an expression of scalars alone gives one element", () => {
  assert.deepEqual(list(evaluate("1 - 0.9", {})), [1 - 0.9]);
  assert.deepEqual(list(evaluate("x * 2", { x: 3 })), [6n]);
});
