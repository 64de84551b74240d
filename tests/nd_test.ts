/**
 * N-d operands: strides, offsets and NumPy broadcasting, end to end.
 *
 * - every case of `tests/goldens/nd.json` (written by
 *   `scripts/gen_nd_goldens.py` from NumPy views) run by numfuse, returning
 *   a new array, into an `out` with a shape, and off the JS thread; results
 *   must be NumPy's shape, dtype and values, bit for bit;
 * - when Debian's NumPy is importable (Deno only), the script must reproduce
 *   the committed file byte for byte;
 * - the errors: incompatible shapes, views reaching outside their data, bad
 *   shapes, strides and offsets, an `out` or an assigned array of the wrong
 *   shape or layout;
 * - a randomized differential test: random shapes, broadcasts, strides
 *   (negative and zero) and offsets, against the plain-TypeScript reference
 *   evaluator applied to copies gathered by a tiny N-d reference here.
 *
 * Runs under Deno and, compiled, under Node (the Node-API addon).
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import type { VarSpec } from "../src/ast.ts";
import { compileProgram } from "../src/compiler.ts";
import { allocArray, type DType, dtypeOfArray, type NumericArray } from "../src/dtype.ts";
import {
  type ArrayOperand,
  compile,
  evaluate,
  evaluateAsync,
  type NdArray,
  type Operand,
  validate,
} from "../mod.ts";
import { decodeGolden, list, referenceEvaluate, rng, throwsExactly } from "./reference.ts";

type Encoded = readonly (number | string)[];

type Input =
  & (
    | { readonly dtype: DType; readonly data: Encoded }
    | { readonly iota: number; readonly dtype: DType; readonly mod: number; readonly scale: number }
    | { readonly weak: "int" | "float"; readonly value: string }
  )
  & {
    readonly shape?: readonly number[];
    readonly strides?: readonly number[];
    readonly offset?: number;
    readonly plain?: boolean;
  };

interface Case {
  readonly name: string;
  readonly expr: string;
  readonly inputs: Readonly<Record<string, Input>>;
  readonly shape?: readonly number[];
  readonly dtype?: DType;
  readonly values?: Encoded;
  readonly sample?: number;
  readonly assigned?: Readonly<Record<string, { readonly dtype: DType; readonly values: Encoded }>>;
}

const GOLDENS = new URL("./goldens/nd.json", import.meta.url);
const TEXT = readFileSync(GOLDENS, "utf8");
const { cases: CASES }: { cases: readonly Case[] } = JSON.parse(TEXT);

/** The base data of an input: decoded, or rebuilt from its `iota` recipe. */
function baseData(input: Input): NumericArray {
  if ("iota" in input) {
    const a = allocArray(input.dtype, input.iota);
    for (let i = 0; i < input.iota; i++) {
      (a as Float64Array)[i] = (i % input.mod) * input.scale;
    }
    return a;
  }
  if ("data" in input) return decodeGolden(input.dtype, input.data);
  throw new Error("goldens: a scalar has no data");
}

function operand(input: Input): Operand {
  if ("weak" in input) {
    return input.weak === "int"
      ? BigInt(input.value)
      : decodeGolden("float64", [input.value])[0] as number;
  }
  const data = baseData(input);
  if (input.plain) return input.dtype === "bool" ? { data, dtype: "bool" } : data;
  return {
    data,
    shape: input.shape,
    strides: input.strides,
    offset: input.offset,
    ...(input.dtype === "bool" ? { dtype: "bool" as const } : {}),
  };
}

function variables(c: Case): Record<string, Operand> {
  const vars: Record<string, Operand> = {};
  for (const [name, input] of Object.entries(c.inputs)) vars[name] = operand(input);
  return vars;
}

/** Asserts `actual` holds NumPy's values (every `sample`-th element), bit for bit. */
function assertValues(
  actual: NumericArray,
  dtype: DType,
  values: Encoded,
  sample: number,
  label: string,
) {
  const want = decodeGolden(dtype, values);
  assert.equal(Math.ceil(actual.length / sample), want.length, `${label}: element count`);
  for (let k = 0; k < want.length; k++) {
    const x = actual[k * sample], y = want[k];
    const same = Object.is(x, y) ||
      (typeof x === "number" && Number.isNaN(x) && Number.isNaN(y as number));
    if (!same) {
      assert.fail(`${label}: element ${k * sample} is ${String(x)}, NumPy ${String(y)}`);
    }
  }
}

function resultDtype(a: NumericArray): DType | undefined {
  return a instanceof Uint8Array ? "bool" : dtypeOfArray(a);
}

function assertResult(c: Case, result: NdArray | undefined, how: string) {
  const label = `${c.name} (${how})`;
  if (c.dtype === undefined) {
    assert.equal(result, undefined, label);
    return;
  }
  assert.ok(result !== undefined, `${label}: no result`);
  assert.deepEqual([...result.shape], c.shape, `${label}: shape`);
  assert.equal(resultDtype(result.data), c.dtype, `${label}: dtype`);
  assertValues(result.data, c.dtype, c.values!, c.sample ?? 1, label);
}

for (const c of CASES) {
  test(`goldens: ${c.name}`, async () => {
    const vars = variables(c);
    assertResult(c, evaluate(c.expr, vars) as NdArray | undefined, "new array");
    for (const [name, want] of Object.entries(c.assigned ?? {})) {
      const data = (vars[name] as ArrayOperand).data;
      assertValues(data, want.dtype, want.values, 1, `${c.name}: ${name} assigned`);
    }
    if (c.dtype === undefined) return;
    const out = { data: allocArray(c.dtype, c.shape!.reduce((a, b) => a * b, 1)), shape: c.shape! };
    const written = evaluate(c.expr, variables(c), { out }) as NdArray | undefined;
    assert.equal(written?.data, out.data, `${c.name}: out is written and returned`);
    assertResult(c, written, "into out");
    assertResult(c, await evaluateAsync(c.expr, variables(c)) as NdArray | undefined, "async");
  });
}

const DENO = (globalThis as { Deno?: typeof Deno }).Deno;

test("goldens: scripts/gen_nd_goldens.py reproduces tests/goldens/nd.json", {
  skip: DENO === undefined && "the freshness check runs under Deno",
}, async () => {
  const { pythonImports, pythonPath, regenerate } = await import("../scripts/python.ts");
  if (!await pythonImports(pythonPath(), ["numpy"])) {
    console.warn("nd goldens: no Python with NumPy; freshness not checked");
    return;
  }
  const script = new URL("../scripts/gen_nd_goldens.py", import.meta.url).pathname;
  assert.ok(
    await regenerate(script) === TEXT,
    "tests/goldens/nd.json is stale: run /usr/bin/python3 scripts/gen_nd_goldens.py",
  );
});

const f64 = (n: number) => Float64Array.from({ length: n }, (_, i) => i + 0.5);

test("results: 1-D calls are unchanged; a shape anywhere makes the result an NdArray", () => {
  const x = f64(6);
  const plain = evaluate("x * 2", { x });
  assert.ok(plain instanceof Float64Array);
  const flat = evaluate("x * 2", { x: { data: x, shape: [6] } });
  assert.deepEqual(flat.shape, [6]);
  assert.deepEqual(list(flat.data), list(plain));
  const grid = evaluate("x + b", {
    x: { data: x, shape: [2, 3] },
    b: new Float64Array([0, 10, 20]),
  });
  assert.deepEqual(grid.shape, [2, 3]);
  assert.deepEqual(list(grid.data), [0.5, 11.5, 22.5, 3.5, 14.5, 25.5]);
  // A plain out of the broadcast size is written and returned with the shape.
  const out = new Float64Array(6);
  const r = evaluate("x + b", { x: { data: x, shape: [2, 3] }, b: 1 }, { out });
  assert.equal(r.data, out);
  assert.deepEqual(r.shape, [2, 3]);
  // An out with a shape makes a 1-D call N-d; scalars broadcast to it.
  const o2 = { data: new Float64Array(4), shape: [2, 2] };
  assert.deepEqual(list(evaluate("k + 1", { k: 2 }, { out: o2 }).data), [3, 3, 3, 3]);
  const kernel = compile("a - b", { a: "float64", b: "float64" });
  const nd = kernel.run({
    a: { data: x, shape: [3, 2] },
    b: { data: x, shape: [3, 1], strides: [2, 0] },
  });
  assert.deepEqual(list(nd.data), [0, 1, 0, 1, 0, 1]);
  assert.ok(kernel.run({ a: x, b: 1 }) instanceof Float64Array);
});

test("operands are read once: getters cannot change what was checked", () => {
  let reads = 0;
  const small = f64(2), big = f64(6);
  const x = {
    get data() {
      return reads++ === 0 ? big : small;
    },
    shape: [2, 3],
  };
  assert.deepEqual(list(evaluate("x * 2", { x }).data), Array.from(big, (e) => e * 2));
  assert.equal(reads, 1);
  let shapeReads = 0;
  const shape = [2, 3];
  Object.defineProperty(shape, 1, {
    get: () => shapeReads++ === 0 ? 3 : 3000,
    enumerable: true,
  });
  assert.deepEqual(evaluate("x * 2", { x: { data: big, shape } }).shape, [2, 3]);
});

test("many arrays: more than the fixed-arity calls take", () => {
  const names = "abcdefghij".split("");
  const vars: Record<string, ArrayOperand> = {};
  names.forEach((name, k) => {
    vars[name] = { data: Float64Array.from({ length: 6 }, (_, i) => i * (k + 1)), shape: [2, 3] };
  });
  // Σ_k (k + 1) · i over ten arrays of shape (2,3) is 55 · i.
  const r = evaluate(names.join(" + "), vars) as NdArray;
  assert.deepEqual(r.shape, [2, 3]);
  assert.deepEqual(list(r.data), [0, 55, 110, 165, 220, 275]);
});

test("overlaps: an input reading out's memory another way is copied first", () => {
  const buf = f64(6);
  const reversed = { data: buf, shape: [6], strides: [-1], offset: 5 };
  const r = evaluate("a + 0", { a: reversed }, { out: buf });
  assert.equal(r.data, buf);
  assert.deepEqual(list(buf), [5.5, 4.5, 3.5, 2.5, 1.5, 0.5]);
  // A program writing m reads a transposed view of m as it was.
  const m = Float64Array.from([1, 2, 3, 4]);
  evaluate("m = t * 10 + m", {
    m: { data: m, shape: [2, 2] },
    t: { data: m, shape: [2, 2], strides: [1, 2] },
  });
  assert.deepEqual(list(m), [11, 32, 23, 44]);
});

test("errors: shapes that do not broadcast name both variables and shapes", () => {
  const x = { data: f64(15), shape: [3, 1, 5] };
  throwsExactly(
    () => evaluate("x + y", { x, y: { data: f64(24), shape: [4, 6] } }),
    RangeError,
    "Cannot broadcast 'x' of shape (3,1,5) with 'y' of shape (4,6)",
  );
  throwsExactly(
    () => evaluate("x + y", { x, y: f64(4) }),
    RangeError,
    "Cannot broadcast 'x' of shape (3,1,5) with 'y' of shape (4)",
  );
  const err = validate("x * 2", { x }, { out: { data: f64(24), shape: [4, 6] } });
  assert.ok(err instanceof RangeError);
  assert.equal(
    err.message,
    "Cannot broadcast 'x' of shape (3,1,5) with option 'out' of shape (4,6)",
  );
});

test("errors: views reaching outside their data, bad shapes, strides and offsets", () => {
  const data = f64(12);
  const cases: [ArrayOperand, ErrorConstructor, string][] = [
    [
      { data, shape: [3, 4], strides: [4, 2] },
      RangeError,
      "Variable 'a' with shape (3,4), strides (4,2) and offset 0 reaches elements 0 to 14, outside its data of 12 elements",
    ],
    [
      { data, shape: [3, 4], strides: [-4, 1] },
      RangeError,
      "Variable 'a' with shape (3,4), strides (-4,1) and offset 0 reaches elements -8 to 3, outside its data of 12 elements",
    ],
    [
      { data, shape: [2], offset: 11 },
      RangeError,
      "Variable 'a' with shape (2), strides (1) and offset 11 reaches elements 11 to 12, outside its data of 12 elements",
    ],
    [
      { data, shape: [3, 5] },
      RangeError,
      "Variable 'a' has shape (3,5) (15 elements) but its data has 12 elements",
    ],
    [
      { data, shape: [-1, 2] },
      RangeError,
      "Variable 'a' has shape [-1, 2]: every entry must be a non-negative integer",
    ],
    [
      { data, shape: [2.5] },
      RangeError,
      "Variable 'a' has shape [2.5]: every entry must be a non-negative integer",
    ],
    [
      { data, shape: ["12"] as unknown as number[] },
      TypeError,
      "Variable 'a' has shape [12]: string is not a number",
    ],
    [
      { data, shape: 12 as unknown as number[] },
      TypeError,
      "Variable 'a' has shape of type number: use an array of integers",
    ],
    [
      { data, shape: new Array(33).fill(1) },
      RangeError,
      "Variable 'a' has 33 dimensions, more than 32",
    ],
    [
      { data, shape: [3, 4], strides: [1] },
      RangeError,
      "Variable 'a' has 1 strides for 2 dimensions (shape (3,4))",
    ],
    [
      { data, shape: [3, 4], strides: [4, 0.5] },
      RangeError,
      "Variable 'a' has strides [4, 0.5]: every entry must be an integer",
    ],
    [
      { data, shape: [3], offset: -1 },
      RangeError,
      "Variable 'a' has offset -1: it must be a non-negative integer",
    ],
    [
      { data, strides: [1] },
      TypeError,
      "Variable 'a' has strides or an offset but no shape: give its shape too",
    ],
  ];
  for (const [a, type, message] of cases) {
    throwsExactly(() => evaluate("a + 1", { a }), type, message);
    const e = validate("a + 1", { a });
    assert.equal(e?.constructor, type);
    assert.equal(e?.message, message);
  }
  // Views may broadcast one element far, but the result must stay countable.
  const one = f64(1);
  throwsExactly(
    () =>
      evaluate("a + b", {
        a: { data: one, shape: [2 ** 30, 1], strides: [0, 0] },
        b: { data: one, shape: [2 ** 30], strides: [0] },
      }),
    RangeError,
    "The result's shape (1073741824,1073741824) has too many elements",
  );
  // Zero-size views read nothing, so any strides and offset within range are fine.
  const empty = evaluate("a + 1", { a: { data, shape: [0, 4], strides: [99, -99], offset: 3 } });
  assert.deepEqual(empty.shape, [0, 4]);
  assert.equal(empty.data.length, 0);
});

test("errors: out and assigned arrays must be contiguous with the result's shape", () => {
  const x = { data: f64(15), shape: [3, 1, 5] };
  throwsExactly(
    () => evaluate("x * 2", { x }, { out: { data: f64(5), shape: [1, 5] } }),
    RangeError,
    "Option 'out' has shape (1,5), the result has shape (3,1,5)",
  );
  throwsExactly(
    () => evaluate("x * 2", { x }, { out: { data: f64(10), shape: [2, 5] } }),
    RangeError,
    "Option 'out' has shape (2,5), the result has shape (3,2,5)",
  );
  throwsExactly(
    () => evaluate("x * 2", { x }, { out: f64(7) }),
    RangeError,
    "Option 'out' has 7 elements, the result has 15 (shape (3,1,5))",
  );
  throwsExactly(
    () =>
      evaluate("x * 2", { x }, {
        out: { data: f64(15), shape: [3, 1, 5], strides: [5, 5, 1] } as NdArray,
      }),
    TypeError,
    "Option 'out' must be contiguous: give it as { data, shape }",
  );
  throwsExactly(
    () =>
      evaluate("x * 2", { x }, { out: { data: [1, 2] as unknown as Float64Array, shape: [2] } }),
    TypeError,
    "Option 'out' has data of type Array: use a typed array such as Float64Array",
  );
  throwsExactly(
    () => evaluate("x * 2", { x }, { out: { data: f64(15) } as NdArray }),
    TypeError,
    "Option 'out' has no shape: give it as { data, shape }, or pass the typed array itself",
  );
  // out's data is read once: the array checked for its dtype is the one written.
  let reads = 0;
  const target = new Float64Array(15);
  const sneaky = {
    get data() {
      return reads++ === 0 ? target : new Uint8Array(15);
    },
    shape: [3, 1, 5],
  };
  assert.equal(evaluate("x * 2", { x }, { out: sneaky }).data, target);
  assert.equal(reads, 1);
  assert.deepEqual(list(target), Array.from(f64(15), (e) => e * 2));
  throwsExactly(
    () => evaluate("m = m + x", { m: f64(5), x: { data: f64(15), shape: [3, 5] } }),
    RangeError,
    "Variable 'm' is assigned in place, so it must be contiguous with the result's shape (3,5): it has shape (5)",
  );
  throwsExactly(
    () => evaluate("m = m * 2", { m: { data: f64(6), shape: [3, 2], strides: [1, 3] } }),
    RangeError,
    "Variable 'm' is assigned in place, so it must be contiguous with the result's shape (3,2): it has shape (3,2) and is strided",
  );
});

// ---- The randomized differential test ----

/** A view's layout, as `ArrayOperand` gives it. */
interface View {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
}

/** The element index of each flat (row-major) position of a view broadcast to `shape`. */
function gatherIndex(
  shape: readonly number[],
  view: View,
) {
  const n = shape.reduce((a, b) => a * b, 1);
  const index = new Array<number>(n);
  const lead = shape.length - view.shape.length;
  for (let flat = 0; flat < n; flat++) {
    let rest = flat, at = view.offset;
    for (let d = shape.length - 1; d >= 0; d--) {
      const i = rest % shape[d];
      rest = Math.floor(rest / shape[d]);
      const j = d - lead;
      if (j >= 0 && view.shape[j] !== 1) at += i * view.strides[j];
    }
    index[flat] = at;
  }
  return index;
}

// Every expression reads a, b and c: the broadcast shape is that of all three.
const EXPRESSIONS = [
  "a + b * c",
  "where(a > b, a, c)",
  "a - c * b",
  "abs(a) * b - c",
  "where(c < 0, -a, b)",
];
const DIFF_DTYPES: readonly DType[] = ["float64", "float32", "int32", "int64"];

test("differential: random shapes, broadcasts, strides and offsets against the reference", async () => {
  const r = rng(20251124);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  for (let trial = 0; trial < 150; trial++) {
    // Every 25th trial is large (64k to 729k elements: many blocks, threaded).
    const big = trial % 25 === 0;
    const ndim = big ? 3 : int(0, 4);
    const full = Array.from(
      { length: ndim },
      () => big ? int(40, 90) : r() < 0.05 ? 0 : int(1, 5),
    );
    const vars: Record<string, View & { data: NumericArray }> = {};
    const specs: Record<string, VarSpec> = {};
    const dtypes: Record<string, DType> = {};
    for (const name of ["a", "b", "c"]) {
      const dtype = DIFF_DTYPES[int(0, DIFF_DTYPES.length - 1)];
      specs[name] = { kind: "array", dtype };
      dtypes[name] = dtype;
      // Its own shape: a suffix of the full shape, some extents broadcast from 1.
      const own = full.slice(int(0, ndim)).map((e) => r() < 0.3 ? 1 : e);
      // Strides: a random order of the dimensions, random signs, steps of 1 to 2, some 0.
      const order = own.map((_, d) => d).sort(() => r() - 0.5);
      const strides = new Array<number>(own.length);
      let step = int(1, 2);
      for (const d of order) {
        strides[d] = r() < 0.1 ? 0 : (r() < 0.4 ? -step : step);
        step *= Math.max(own[d], 1) * int(1, 2);
      }
      let lo = 0, hi = 0;
      own.forEach((e, d) => {
        const span = (Math.max(e, 1) - 1) * strides[d];
        if (span < 0) lo += span;
        else hi += span;
      });
      const offset = -lo + int(0, 3);
      const data = allocArray(dtype, offset + hi + 1 + int(0, 3));
      for (let i = 0; i < data.length; i++) {
        const x = dtype.startsWith("int") ? int(-50, 50) : (r() - 0.5) * 100;
        (data as unknown as (number | bigint)[])[i] = dtype === "int64" ? BigInt(x) : x;
      }
      vars[name] = { data, shape: own, strides, offset };
    }
    // NumPy's rule, the naive way: shapes aligned on the right, the extent other than 1.
    const shape = new Array<number>(
      Math.max(...Object.values(vars).map((v) => v.shape.length)),
    ).fill(1);
    for (const v of Object.values(vars)) {
      v.shape.forEach((e, j) => {
        if (e !== 1) shape[shape.length - v.shape.length + j] = e;
      });
    }
    const n = shape.reduce((a, b) => a * b, 1);
    const gathered: Record<string, NumericArray> = {};
    for (const [name, v] of Object.entries(vars)) {
      const index = gatherIndex(shape, v);
      const copy = allocArray(dtypes[name], n);
      for (let i = 0; i < n; i++) (copy as Float64Array)[i] = (v.data as Float64Array)[index[i]];
      gathered[name] = copy;
    }
    const expr = EXPRESSIONS[trial % EXPRESSIONS.length];
    const { typed } = compileProgram(expr, specs);
    const want = referenceEvaluate(typed, gathered, n);
    const label = `${expr} shape (${shape}) ${
      JSON.stringify(vars, (k, v) => k === "data" ? undefined : v)
    }`;
    const got = trial % 10 === 0
      ? await evaluateAsync(expr, vars) as NdArray
      : evaluate(expr, vars) as NdArray;
    assert.deepEqual([...got.shape], shape, label);
    assert.equal(got.data.constructor, want.constructor, label);
    assert.deepEqual(list(got.data), list(want), label);
  }
});
