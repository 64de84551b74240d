/**
 * Reductions against NumPy: every case of `tests/goldens/reduce.json`
 * (written by `scripts/gen_reduce_goldens.py`) runs through the native
 * binding's `reduce` with its view (shape, strides, offset) and axis, and
 * the 1-D contiguous ones of the dtypes the language has also through
 * `evaluate`. Float sums and means of contiguous 1-D arrays must be NumPy's
 * bit for bit (the same pairwise summation); over other views NumPy sums in
 * another order, so they must be within `n` ulps of the sum of magnitudes;
 * everything else is exact (min/max may give either zero on a ±0 tie).
 *
 * Then the language: where a reduction may be, the errors elsewhere, `s =`
 * targets, result types, and async runs.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import {
  compile,
  disassemble,
  evaluate,
  evaluateAsync,
  getNumThreads,
  type Kernel,
  type Reduced,
  setNumThreads,
  validate,
} from "../mod.ts";
import { allocArray, type DType, type NumericArray } from "../src/dtype.ts";
import { openDenoBinding } from "../src/ffi_deno.ts";
import type { StridedView } from "../src/native.ts";
import { parseProgram } from "../src/parser.ts";
import { isReduction, reductionDtype, REDUCTIONS, splitReduction } from "../src/reduce.ts";
import { pythonImports, pythonPath, regenerate } from "../scripts/python.ts";
import { decodeGolden, throwsAt, throwsExactly } from "./reference.ts";

type Input =
  | { readonly dtype: DType; readonly data: readonly (number | string)[] }
  | { readonly dtype: DType; readonly gen: "ramp" | "near_one"; readonly n: number };

interface Case {
  readonly group: string;
  readonly op: keyof typeof REDUCTIONS;
  readonly axis: number | null;
  readonly input: Input;
  readonly view?: StridedView;
  readonly dtype?: DType;
  readonly shape?: readonly number[];
  readonly values?: readonly (number | string)[];
  readonly error?: string;
}

const GOLDENS = new URL("./goldens/reduce.json", import.meta.url);
const SCRIPT = new URL("../scripts/gen_reduce_goldens.py", import.meta.url).pathname;
const TEXT = Deno.readTextFileSync(GOLDENS);
const { cases: CASES }: { cases: readonly Case[] } = JSON.parse(TEXT);
const binding = openDenoBinding();

/** The script's ramp: ((i * 7919) % 1009) / 1009 - 0.37 in float64, then cast. */
function ramp(dtype: DType, n: number): NumericArray {
  const a = allocArray(dtype, n) as Float32Array | Float64Array;
  for (let i = 0; i < n; i++) a[i] = ((i * 7919) % 1009) / 1009 - 0.37;
  return a;
}

/** The script's near_one: 1 + (((i * 7919) % 1009) / 1009 - 0.5) / 64 in float64, then cast. */
function nearOne(dtype: DType, n: number): NumericArray {
  const a = allocArray(dtype, n) as Float32Array | Float64Array;
  for (let i = 0; i < n; i++) a[i] = 1 + (((i * 7919) % 1009) / 1009 - 0.5) / 64;
  return a;
}

function inputOf(c: Case): NumericArray {
  if (!("gen" in c.input)) return decodeGolden(c.input.dtype, c.input.data);
  return (c.input.gen === "ramp" ? ramp : nearOne)(c.input.dtype, c.input.n);
}

/** Float16Array exists in Deno 2.9, not in Node 20: float16 cases are skipped there. */
const HAVE_FLOAT16 = "Float16Array" in globalThis;

/** The element offsets each output reduces (a naive reference of the view's lines). */
function lines(view: StridedView, axis: number | null): number[][] {
  let all: number[][] = [[view.offset]];
  const ndim = view.shape.length;
  const a = axis === null ? -1 : (axis + ndim) % ndim;
  // Expand the axes kept into separate outputs, the reduced axes into one line each.
  for (let d = 0; d < ndim; d++) {
    const { [d]: len } = view.shape, { [d]: stride } = view.strides;
    const reduced = axis === null || d === a;
    all = reduced
      ? all.map((line) =>
        line.flatMap((o) => Array.from({ length: len }, (_, i) => o + i * stride))
      )
      : all.flatMap((line) =>
        Array.from({ length: len }, (_, i) => line.map((o) => o + i * stride))
      );
  }
  return all;
}

const EPS: Partial<Record<DType, number>> = {
  float16: 2 ** -10,
  float32: 2 ** -23,
  float64: 2 ** -52,
};

/** What differs between numfuse's output and NumPy's, or undefined. */
function compare(c: Case, base: NumericArray, view: StridedView, out: NumericArray) {
  const want = decodeGolden(c.dtype!, c.values!);
  if (out.length !== want.length) return `${out.length} elements, NumPy ${want.length}`;
  const exact = c.view === undefined || !(c.op === "sum" || c.op === "mean" || c.op === "prod");
  const eps = EPS[c.dtype!];
  const outputs = eps === undefined || exact ? [] : lines(view, c.axis);
  for (let i = 0; i < want.length; i++) {
    const x = out[i], y = want[i];
    if (Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y))) continue;
    if ((c.op === "min" || c.op === "max") && x === 0 && y === 0) continue;
    if (eps !== undefined && !exact && Number.isFinite(y)) {
      const magnitudes = outputs[i].map((o) => Math.abs(Number(base[o])));
      const n = magnitudes.length;
      let bound = 2 * n * eps * magnitudes.reduce((s, m) => s + m, 0);
      if (c.op === "mean") bound /= n;
      if (c.op === "prod") bound = 2 * n * eps * Math.abs(y as number);
      if (Math.abs((x as number) - (y as number)) <= bound) continue;
    }
    return `element ${i}: ${String(x)}, NumPy ${String(y)}`;
  }
  return undefined;
}

/** Runs one case through the binding; a description of what differs from NumPy, or undefined. */
function checkBinding(c: Case): string | undefined {
  const base = inputOf(c);
  const view = c.view ?? { shape: [base.length], strides: [1], offset: 0 };
  const resultDtype = reductionDtype(c.op, c.input.dtype);
  const ndim = view.shape.length;
  const axis = c.axis === null || c.axis < -ndim || c.axis >= ndim ? -1 : (c.axis + ndim) % ndim;
  const count = c.axis === null ? 1 : view.shape.reduce((n, len, d) => d === axis ? n : n * len, 1);
  const out = allocArray(resultDtype, count);
  try {
    binding.reduce(REDUCTIONS[c.op], c.input.dtype, base, view, c.axis ?? undefined, out, 2);
  } catch (e) {
    if (c.error !== undefined && e instanceof RangeError && e.message === c.error) return undefined;
    return `throws ${e}${c.error ? `, NumPy: ${c.error}` : ""}`;
  }
  if (c.error !== undefined) return `NumPy raises ${c.error}, numfuse returns`;
  if (resultDtype !== c.dtype) return `dtype ${resultDtype}, NumPy ${c.dtype}`;
  return compare(c, base, view, out);
}

/** A JS value as NumPy's, for `evaluate`'s scalar results. */
function expectedScalar(c: Case): number | bigint | boolean {
  const [x] = decodeGolden(c.dtype!, c.values!);
  if (c.dtype === "bool") return x !== 0;
  return x;
}

/**
 * Runs a case through `evaluate`, as `op(a)`, `op(a, axis=k)` and `t = a; op(t)`
 * (the element-wise program's result reduced), with `a` the case's view when
 * it has one (an N-d operand) or its plain array.
 */
function checkEvaluate(c: Case): string | undefined {
  const data = inputOf(c);
  const bool = c.input.dtype === "bool" ? { dtype: "bool" as const } : {};
  const a = c.view === undefined && c.input.dtype !== "bool" ? data : { data, ...c.view, ...bool };
  const view = c.view ?? { shape: [data.length], strides: [1], offset: 0 };
  const axis = c.axis === null ? "" : `, axis=${c.axis}`;
  const exprs = [`${c.op}(a${axis})`, `t = a; ${c.op}(t${axis})`];
  if (c.axis === null && view.shape.length === 1) exprs.push(`${c.op}(a, -1)`);
  for (const expr of exprs) {
    let value: unknown;
    try {
      value = evaluate(expr, { a });
    } catch (e) {
      if (c.error !== undefined && e instanceof RangeError && e.message === c.error) continue;
      return `${expr}: throws ${e}`;
    }
    if (c.error !== undefined) return `${expr}: NumPy raises ${c.error}, numfuse returns`;
    if (c.shape!.length > 0) {
      const nd = value as { data: NumericArray; shape: number[] };
      if (JSON.stringify(nd.shape) !== JSON.stringify(c.shape)) {
        return `${expr}: shape [${nd.shape}], NumPy [${c.shape}]`;
      }
      const problem = compare(c, data, view, nd.data);
      if (problem !== undefined) return `${expr}: ${problem}`;
      continue;
    }
    const want = expectedScalar(c);
    // A bigint for int64 and uint64 (decoded as bigints), a boolean for bool, else a number.
    if (typeof value !== typeof want) {
      return `${expr}: a ${typeof value}, expected a ${typeof want}`;
    }
    const one = allocArray(c.dtype!, 1);
    one[0] = typeof value === "boolean" ? Number(value) : value as number;
    const problem = compare(c, data, view, one);
    if (problem !== undefined) return `${expr}: ${problem}`;
  }
  return undefined;
}

for (const group of [...new Set(CASES.map((c) => c.group))]) {
  const cases = CASES.filter((c) => c.group === group);
  const skip = !HAVE_FLOAT16 && cases.some((c) => c.input.dtype === "float16");
  test(`NumPy reduction goldens, ${group}: ${cases.length} cases`, {
    skip: skip && "this runtime has no Float16Array",
  }, () => {
    const failures: string[] = [];
    for (const c of cases) {
      const label = `${c.op} axis=${c.axis} ${c.input.dtype}[${
        "gen" in c.input ? c.input.n : c.input.data.length
      }]${c.view ? ` view ${JSON.stringify(c.view)}` : ""}`;
      const viaBinding = checkBinding(c);
      if (viaBinding !== undefined) failures.push(`${label}: ${viaBinding}`);
      const viaEvaluate = checkEvaluate(c);
      if (viaEvaluate !== undefined) failures.push(`${label} (evaluate): ${viaEvaluate}`);
    }
    assert.deepEqual(failures, []);
  });
}

test("the reduction goldens cover every reduction, dtype, axis and error", () => {
  for (const op of Object.keys(REDUCTIONS)) assert.ok(CASES.some((c) => c.op === op), op);
  const dtypes = new Set(CASES.map((c) => c.input.dtype));
  for (const d of ["bool", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64"]) {
    assert.ok(dtypes.has(d as DType), d);
  }
  assert.ok(dtypes.has("uint64") && dtypes.has("float32") && dtypes.has("float64"));
  assert.ok(dtypes.has("float16"));
  assert.ok(CASES.some((c) => c.view !== undefined && c.view.strides.some((s) => s < 0)));
  assert.ok(CASES.some((c) => c.view !== undefined && c.view.shape.length === 3 && c.axis === -1));
  assert.ok(CASES.some((c) => c.error?.startsWith("axis ")));
  assert.ok(CASES.some((c) => c.error?.startsWith("zero-size array")));
});

test("a hundred million float32 ones sum to exactly 1e8 (a zero-stride view)", () => {
  const view = { shape: [100_000_000], strides: [0], offset: 0 };
  const out = new Float32Array(1);
  binding.reduce(REDUCTIONS.sum, "float32", Float32Array.of(1), view, undefined, out, 2);
  assert.equal(out[0], 1e8);
  binding.reduce(REDUCTIONS.mean, "float32", Float32Array.of(1), view, undefined, out, 1);
  assert.equal(out[0], 1);
});

test("the binding's reduceAsync gives reduce's results and errors", async () => {
  const x = Float64Array.from({ length: 100_000 }, (_, k) => Math.cos(k));
  const view = { shape: [x.length], strides: [1], offset: 0 };
  const sync = new Float64Array(1), async = new Float64Array(1);
  binding.reduce(REDUCTIONS.sum, "float64", x, view, undefined, sync, 2);
  await binding.reduceAsync(REDUCTIONS.sum, "float64", x, view, undefined, async, 2);
  assert.equal(async[0], sync[0]);
  await assert.rejects(
    binding.reduceAsync(REDUCTIONS.max, "float64", x, view, 1, new Float64Array(1), 1),
    (e: Error) =>
      e instanceof RangeError && e.message === "axis 1 is out of bounds for array of dimension 1",
  );
});

test("the binding refuses views outside the buffer and outputs of the wrong size", () => {
  const data = new Float64Array(12);
  const sum = (view: StridedView, out: NumericArray, axis?: number) =>
    binding.reduce(REDUCTIONS.sum, "float64", data, view, axis, out, 1);
  throwsExactly(
    () => sum({ shape: [3, 4], strides: [4, 1], offset: 1 }, new Float64Array(1)),
    RangeError,
    "the view addresses elements 1 to 12 of a buffer of 12 elements",
  );
  throwsExactly(
    () => sum({ shape: [3, 4], strides: [4, 1], offset: 0 }, new Float64Array(3), 0),
    RangeError,
    "out has 3 elements, the result has 4",
  );
  throwsExactly(
    () => sum({ shape: [3], strides: [1.5], offset: 0 }, new Float64Array(1)),
    RangeError,
    "geometry[4] (a stride) is 1.5, not a whole number in [-9007199254740992, 2^53]",
  );
  throwsExactly(
    () => sum({ shape: [12], strides: [1], offset: 0 }, new Float32Array(3)),
    RangeError,
    "out has 12 bytes, not a whole number of float64 elements",
  );
  throwsExactly(
    () => sum({ shape: [12], strides: [1], offset: 0 }, data.subarray(5, 6)),
    RangeError,
    "out overlaps the input",
  );
});

test("evaluate returns JS scalars: number, bigint for int64, boolean for any/all", () => {
  const x = Float32Array.of(1, 2, 3.5), i = Int32Array.of(5, -7, 2);
  assert.equal(evaluate("sum(x * y)", { x, y: Float32Array.of(2, 2, 2) }), 13);
  assert.equal(evaluate("sum(i)", { i }), 0n);
  assert.equal(evaluate("min(i)", { i }), -7);
  assert.equal(evaluate("mean(i)", { i }), 0);
  assert.equal(evaluate("prod(i)", { i }), -70n);
  assert.equal(evaluate("any(i > 4)", { i }), true);
  assert.equal(evaluate("all(x > 1)", { x }), false);
  assert.equal(evaluate("count_nonzero(x - 2)", { x }), 2n);
  assert.equal(evaluate("sum(2)", {}), 2n);
  assert.equal(evaluate("t = x * 2\nu = t + 1\nmax(u)", { x }), 8);
  assert.equal(evaluate("sum (x, axis = 0)", { x }), 6.5);
  const kernel = compile("sum(x)", { x: "int32" });
  assert.equal(kernel.run({ x: i }), 0n);
});

test("the return types say what a reduction gives", () => {
  const x = Float64Array.of(1, 2);
  const whole: Reduced = evaluate("sum(x)", { x });
  const along: Reduced = evaluate("max(x, axis = 0)", { x });
  const assigned: Reduced | undefined = evaluate("s = sum(x)", { x, s: new Float64Array(1) });
  const program: Reduced | undefined = evaluate("t = x * 2; mean(t)", { x });
  const array: NumericArray = evaluate("x + 1", { x });
  const kernel: Kernel<Reduced> = compile("prod(x, -1)", { x: "float64" });
  // @ts-expect-error: a reduction's value is not an array
  const wrong: NumericArray = evaluate("all(x)", { x });
  const expression: string = "sum(x)";
  const unknown: NumericArray | Reduced | undefined = evaluate(expression, { x });
  assert.deepEqual(
    [whole, along, assigned, program, array.length, kernel.run({ x }), wrong, unknown],
    [3, 2, undefined, 3, 2, 2, true, 3],
  );
});

test("a reduction assigned to an array passed in writes it, cast same_kind", () => {
  const x = Float64Array.of(1, 2, 3), i = Int32Array.of(1, 2, 3);
  const s = new Float64Array(1);
  assert.equal(evaluate("s = sum(x)", { x, s }), undefined);
  assert.deepEqual([...s], [6]);
  assert.equal(evaluate("s = sum(i)", { i, s }), undefined);
  assert.deepEqual([...s], [6]);
  const b = new BigInt64Array(1);
  evaluate("b = count_nonzero(x > 1)", { x, b });
  assert.deepEqual([...b], [2n]);
  evaluate("s = max(x, axis=0)", { x, s });
  assert.deepEqual([...s], [3]);
  // Casts are NumPy's: an int64 sum wraps into int8, a float64 one rounds into float32.
  const narrow = new Int8Array(1), single = new Float32Array(1);
  evaluate("narrow = sum(w)", { w: BigInt64Array.of(2n ** 60n + 1n, 256n), narrow });
  assert.deepEqual([...narrow], [1]);
  evaluate("single = sum(x * 0.1)", { x, single });
  assert.deepEqual([...single], [Math.fround(0.1 + 0.2 + 0.30000000000000004)]);
  // The array written may be the one reduced.
  const y = Float64Array.of(4, 5, 6);
  evaluate("y = sum(y)", { y: y.subarray(0, 1) });
  assert.deepEqual([...y], [4, 5, 6]);
  evaluate("y = sum(z)", { y: y.subarray(2), z: y });
  assert.deepEqual([...y], [4, 5, 15]);
  throwsExactly(
    () => evaluate("s = sum(x)", { x, s: new Float64Array(2) }),
    RangeError,
    "Variable 's' has 2 elements; sum() gives 1 (shape [])",
  );
  throwsAt(
    () => evaluate("i = mean(x)", { x, i: new Int32Array(1) }),
    0,
    `at 0: cannot assign a float64 mean() to 'i', an int32 array (casting "same_kind")`,
  );
  throwsAt(
    () => evaluate("s = sum(x)", { x }),
    0,
    "at 0: cannot assign sum() to 's': it is not passed in; pass an array to write the result into, or end the program with sum(...) to get its value",
  );
  throwsAt(
    () => evaluate("s = sum(x)", { x, s: 1 }),
    0,
    "at 0: cannot assign to 's': it is a scalar, and only arrays passed in are written",
  );
});

test("a reduction reads an array's own size, whatever its length and byteLength properties say", () => {
  // Before, nf_reduce was told the byteLength property: this one read far past the end.
  const x = Float64Array.of(1, 2, 3, 4);
  Object.defineProperty(x, "byteLength", { value: 1 << 30 });
  Object.defineProperty(x, "length", { value: 1 << 27 });
  assert.equal(evaluate("sum(x)", { x }), 10);
  assert.equal(evaluate("max(x * 2)", { x }), 8);
  assert.equal(evaluate("sum(x, axis=0)", { x: { data: x, shape: [4] } }), 10);
  throwsExactly(
    () => evaluate("max(x)", { x: { data: x, shape: [1 << 27] } }),
    RangeError,
    "Variable 'x' has shape (134217728) (134217728 elements) but its data has 4 elements",
  );
  const s = new Float64Array(1);
  Object.defineProperty(s, "length", { value: 1 << 20 });
  assert.equal(evaluate("s = sum(x)", { x, s }), undefined);
  assert.deepEqual(Array.from(Float64Array.prototype.values.call(s)), [10]);
});

test("a reduction inside another operation is an error at its position", () => {
  const x = Float64Array.of(1, 2);
  const table: [string, string][] = [
    [
      "sum(x) + 1",
      "at 0: sum() must be the outermost operation of a statement, as in 'sum(x * y)' or 'm = sum(x); x - m'",
    ],
    [
      "x * max(x)",
      "at 4: max() must be the outermost operation of a statement, as in 'max(x * y)' or 'm = max(x); x - m'",
    ],
    [
      "sum(sum(x))",
      "at 4: sum() must be the outermost operation of a statement, as in 'sum(x * y)' or 'm = sum(x); x - m'",
    ],
    [
      "t = x + mean(x)\nt",
      "at 8: mean() must be the outermost operation of a statement, as in 'mean(x * y)' or 'm = mean(x); x - m'",
    ],
    [
      "where(x > 0, x, 0, axis=0)",
      "at 19: where() takes no keyword arguments; axis= is only for the reductions (sum, prod, min, max, mean, any, all, count_nonzero)",
    ],
    ["sum(x, keepdims=1)", "at 7: sum() got an unexpected keyword argument 'keepdims'"],
    [
      "sum(x, axis=x)",
      "at 12: the axis of sum() must be an integer literal, as in sum(x, axis=0) or sum(x, -1)",
    ],
    [
      "sum(x, 0.5)",
      "at 7: the axis of sum() must be an integer literal, as in sum(x, axis=0) or sum(x, -1)",
    ],
    ["sum(x, axis=0, axis=0)", "at 15: axis given twice"],
    ["sum(x, 0, axis=0)", "at 10: axis given twice"],
    ["sum(axis=0, x)", "at 12: positional argument after the keyword argument axis="],
    [
      "sum()",
      "at 0: sum() takes one array argument and an optional axis, got 0 arguments besides the axis",
    ],
  ];
  for (const [expr, message] of table) {
    const offset = Number(message.slice("at ".length, message.indexOf(":")));
    throwsAt(() => evaluate(expr, { x }), offset, message);
    assert.equal(validate(expr, { x })?.message, message, expr);
  }
});

test("run-time errors are NumPy's, from evaluate and validate alike", () => {
  const x = Float64Array.of(1, 2);
  const table: [string, Record<string, NumericArray>, ErrorConstructor, string][] = [
    ["sum(x, axis=1)", { x }, RangeError, "axis 1 is out of bounds for array of dimension 1"],
    ["sum(x, -2)", { x }, RangeError, "axis -2 is out of bounds for array of dimension 1"],
    [
      "min(x)",
      { x: new Float64Array(0) },
      RangeError,
      "zero-size array to reduction operation minimum which has no identity",
    ],
    [
      "t = x * 2; max(t)",
      { x: new Int32Array(0) },
      RangeError,
      "zero-size array to reduction operation maximum which has no identity",
    ],
  ];
  for (const [expr, vars, type, message] of table) {
    throwsExactly(() => evaluate(expr, vars), type, message);
    const e = validate(expr, vars);
    assert.equal(e?.constructor, type, expr);
    assert.equal(e?.message, message);
  }
  throwsExactly(
    () => evaluate("sum(x)", { x }, { out: new Float64Array(1) }),
    TypeError,
    "Option 'out' is not allowed with a reduction: assign it to an array passed in instead, as in s = sum(x, axis=0)",
  );
  assert.equal(validate("mean(x * 2)", { x }), undefined);
  assert.equal(evaluate("sum(x)", { x: new Float64Array(0) }), 0);
  assert.equal(evaluate("prod(x)", { x: new Int32Array(0) }), 1n);
  assert.ok(Number.isNaN(evaluate("mean(x)", { x: new Int32Array(0) })));
});

test("async runs give the sync results", async () => {
  const x = Float32Array.from({ length: 10_000 }, (_, i) => Math.sin(i));
  for (const expr of ["sum(x)", "t = x * x; mean(t)", "max(x * 2)", "count_nonzero(x > 0)"]) {
    assert.deepEqual(await evaluateAsync(expr, { x }), evaluate(expr, { x }), expr);
  }
  const s = new Float64Array(1);
  assert.equal(await evaluateAsync("s = sum(x)", { x, s }), undefined);
  assert.equal(s[0], evaluate("sum(x)", { x }));
  await assert.rejects(evaluateAsync("min(x, axis=3)", { x }), RangeError);
});

test("disassemble lists the element-wise program, then the reduction", () => {
  assert.equal(disassemble("sum(x)", { x: "float32" }), "reduce sum('x' float32) -> float32");
  assert.equal(
    disassemble("s = max(x * 2, axis=-1)", { x: "int32", s: "float64" }),
    [
      "r0 input[0] int32",
      "r1 const int32 2",
      "r2 output[0] int32",
      "0: mul_iii r2, r0, r1",
      "reduce max(output[0] int32, axis=-1) -> int32 into 's' float64",
    ].join("\n"),
  );
});

test("splitReduction keeps spans and finds a bare variable only in a one-statement program", () => {
  const vars = { x: { kind: "array", dtype: "float64" } } as const;
  const one = "sum(x, axis=-1)";
  const split = splitReduction(parseProgram(one), vars, one);
  assert.equal(split.site?.bare, "x");
  assert.equal(split.site?.axis, -1);
  assert.deepEqual(split.program.body.map((s) => [s.type, s.start, s.end]), [["name", 4, 5]]);
  const two = "t = x; s = prod(t * 2)";
  const split2 = splitReduction(parseProgram(two), vars, two);
  assert.equal(split2.site?.bare, undefined);
  assert.equal(split2.site?.target?.name, "s");
  assert.deepEqual(split2.program.body.map((s) => [s.type, s.start, s.end]), [
    ["assign", 0, 5],
    ["binary", 16, 21],
  ]);
  assert.ok(isReduction("count_nonzero") && !isReduction("maximum"));
});

const HAVE_NUMPY = await pythonImports(pythonPath(), ["numpy"]);

test("scripts/gen_reduce_goldens.py reproduces tests/goldens/reduce.json byte for byte", {
  skip: !HAVE_NUMPY && "needs Debian's python3-numpy (deno task test installs it as root)",
}, async () => {
  assert.ok(
    await regenerate(SCRIPT) === TEXT,
    "tests/goldens/reduce.json is stale: run /usr/bin/python3 scripts/gen_reduce_goldens.py",
  );
});

/** A float32 value that varies with `i`, with zeros of both signs and (if `nan`) a few NaNs. */
function wave(n: number, seed: number, nan = false): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => {
    const k = (i * 7919 + seed * 104729) % 1013;
    if (k === 0) return -0;
    if (k === 1) return 0;
    if (nan && k === 2) return NaN;
    return Math.sin(k) * 3;
  });
}

/** The bits of a reduction's value, to compare a fused result with a reference exactly. */
function bits(x: unknown): string {
  if (typeof x === "number") return new Uint32Array(Float64Array.of(x).buffer).join(",");
  return String(x);
}

/**
 * The reference of `op(expr)`: the argument computed into an array by
 * `evaluate`, then reduced by the binding (the materialized path, checked
 * against NumPy above); for the exact reductions also a plain JS loop.
 */
function reference(op: keyof typeof REDUCTIONS, arg: NumericArray, threads: number): unknown {
  const dtype = reductionDtype(op, "float32");
  const out = allocArray(dtype, 1);
  const view = { shape: [arg.length], strides: [1], offset: 0 };
  try {
    binding.reduce(REDUCTIONS[op], "float32", arg, view, undefined, out, threads);
  } catch (e) {
    return e instanceof RangeError ? `RangeError: ${e.message}` : e;
  }
  const x = out[0];
  const values = Array.from(arg as Float32Array);
  const loop: Partial<Record<keyof typeof REDUCTIONS, () => unknown>> = {
    any: () => values.some((v) => v !== 0),
    all: () => values.every((v) => v !== 0),
    count_nonzero: () => BigInt(values.filter((v) => v !== 0).length),
    max: () => values.some(Number.isNaN) ? NaN : values.reduce((m, v) => Math.max(m, v)),
    min: () => values.some(Number.isNaN) ? NaN : values.reduce((m, v) => Math.min(m, v)),
  };
  const value = dtype === "bool" ? x !== 0 : x;
  if (op in loop) {
    const want = loop[op]!();
    const same = Object.is(value, want) || (value === 0 && want === 0) ||
      (Number.isNaN(value) && Number.isNaN(want));
    assert.ok(same, `${op}: the binding gives ${String(value)}, a JS loop ${String(want)}`);
  }
  return value;
}

test("fused reductions of expressions equal the materialized ones bit for bit (1-D)", async () => {
  const threadsBefore = getNumThreads();
  try {
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      for (const n of [0, 1, 7, 8191, 8192, 8193, 300_000]) {
        for (const nan of [false, true]) {
          const x = wave(n, 1, nan), y = wave(n, 2);
          const arg = evaluate("x * y - 0.5", { x, y });
          for (const op of Object.keys(REDUCTIONS) as (keyof typeof REDUCTIONS)[]) {
            const want = bits(reference(op, arg, threads));
            for (const expr of [`${op}(x * y - 0.5)`, `t = x * y; ${op}(t - 0.5)`]) {
              let got: string;
              try {
                got = bits(evaluate(expr, { x, y }));
              } catch (e) {
                got = e instanceof RangeError ? `RangeError: ${e.message}` : String(e);
              }
              assert.equal(got, want, `${expr} n=${n} nan=${nan} threads=${threads}`);
            }
            if (n === 300_000) {
              const got = bits(await evaluateAsync(`${op}(x * y - 0.5)`, { x, y }));
              assert.equal(got, want, `async ${op} n=${n} nan=${nan} threads=${threads}`);
            }
          }
        }
      }
    }
  } finally {
    setNumThreads(threadsBefore);
  }
});

test("fused reductions of broadcast N-d expressions equal the materialized ones", () => {
  const threadsBefore = getNumThreads();
  try {
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      for (const rows of [1, 3, 700]) {
        const a = { data: wave(rows * 450, 3, rows === 3), shape: [rows, 450] };
        const b = { data: wave(450, 4), shape: [450] };
        // The same argument through a transposed view of `a`, gathered block by block.
        const at = { data: a.data, shape: [450, rows], strides: [1, 450], offset: 0 };
        const arg = (evaluate("a * b + 1", { a, b }) as unknown as { data: NumericArray }).data;
        const argT = (evaluate("a * 2", { a: at }) as unknown as { data: NumericArray }).data;
        for (const op of Object.keys(REDUCTIONS) as (keyof typeof REDUCTIONS)[]) {
          assert.equal(
            bits(evaluate(`${op}(a * b + 1)`, { a, b })),
            bits(reference(op, arg, threads)),
            `${op} rows=${rows} threads=${threads}`,
          );
          assert.equal(
            bits(evaluate(`${op}(a * 2)`, { a: at })),
            bits(reference(op, argT, threads)),
            `${op} transposed rows=${rows} threads=${threads}`,
          );
        }
      }
    }
  } finally {
    setNumThreads(threadsBefore);
  }
});
