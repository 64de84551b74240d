/**
 * Reductions before the last statement: a program runs in phases, each
 * ending with a reduction whose value the later statements read. Checked
 * against plain-JS computations on data whose sums are exact (so any
 * summation order gives the same value), and against NumPy 2's typing of a
 * reduction's value (a strongly typed NumPy scalar). Shared with Node.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { compile, disassemble, evaluate, evaluateAsync, type NdArray, validate } from "../mod.ts";
import { parseProgram } from "../src/parser.ts";
import { planPhases } from "../src/phases.ts";
import { throwsAt } from "./reference.ts";

const N = 4096;

/** 3 + d, where the d sum to zero: the mean is exactly 3 and every float32 sum is exact. */
function centered(): Float32Array {
  const x = new Float32Array(N);
  for (let i = 0; i < N / 2; i++) {
    const d = ((i * 37) % 101) - 50;
    x[i] = 3 + d;
    x[N - 1 - i] = 3 - d;
  }
  return x;
}

/** (x - 3) / sqrt(mean((x - 3)^2)) in float32, one rounding per operation. */
function standardized(x: Float32Array): Float32Array {
  let squares = 0;
  for (const v of x) squares += (v - 3) ** 2;
  const sd = Math.fround(Math.sqrt(Math.fround(squares / x.length)));
  return x.map((v) => Math.fround((v - 3) / sd));
}

const STANDARDIZE = "m = mean(x); v = mean((x - m) ** 2); (x - m) / sqrt(v)";

test("a program standardizes in phases: the mean, then the variance, then the result", async () => {
  const x = centered();
  const want = standardized(x);
  assert.deepEqual(evaluate(STANDARDIZE, { x }), want);
  assert.deepEqual(
    evaluate("m = mean(x)\nv = mean((x - m) ** 2)\n(x - m) / sqrt(v)\n", { x }),
    want,
  );
  assert.deepEqual(await evaluateAsync(STANDARDIZE, { x }), want);
  const kernel = compile(STANDARDIZE, { x: "float32" });
  assert.deepEqual(kernel.run({ x }), want);
  assert.deepEqual(kernel.call(x), want);
  const out = new Float32Array(N);
  assert.equal(kernel.callInto(out, x), out);
  assert.deepEqual(out, want);
  assert.deepEqual(await kernel.runAsync({ x }), want);
  // The last phase may be a reduction too, and may write arrays passed in.
  assert.equal(evaluate("m = mean(x); max(x - m)", { x }), 50);
  const y = new Float32Array(N);
  assert.equal(evaluate("m = mean(x); y = x - m", { x, y }), undefined);
  assert.deepEqual(y, x.map((v) => v - 3));
});

test("a reduction's value is strongly typed, as a NumPy scalar", () => {
  // int8 * int64 scalar is int64 in NumPy 2 (a weak Python int would keep int8 and overflow).
  const i = Int8Array.of(100, 100, -7);
  assert.deepEqual(evaluate("s = sum(i); i * s", { i }), BigInt64Array.of(19300n, 19300n, -1351n));
  const u = Uint8Array.of(200, 100);
  assert.deepEqual(evaluate("s = sum(u); u + s", { u }), BigUint64Array.of(500n, 400n));
  // The mean of integers is float64, and so is what it meets.
  const k = Int32Array.of(1, 2, 3, 6);
  assert.deepEqual(evaluate("m = mean(k); k - m", { k }), Float64Array.of(-2, -1, 0, 3));
  // any and all are bool scalars.
  const x = Float32Array.of(1, 5, 9);
  assert.deepEqual(evaluate("b = any(x > 8); where(b, x, -x)", { x }), Float32Array.of(1, 5, 9));
  assert.deepEqual(evaluate("b = all(x > 8); where(b, x, -x)", { x }), Float32Array.of(-1, -5, -9));
  // A float64 mean meets a float32 array as float64 (a weak float would keep float32).
  const d = Float64Array.of(0.1, 0.2);
  assert.deepEqual(
    evaluate("m = mean(d); f - m", { d, f: Float32Array.of(1, 2) }),
    Float64Array.of(1 - (0.1 + 0.2) / 2, 2 - (0.1 + 0.2) / 2),
  );
});

test("a reduction along an axis binds the reduced array, which broadcasts", () => {
  // Rows 0..2, columns 0..3: x[r][c] = 10 r + c.
  const x = {
    data: Float64Array.from({ length: 12 }, (_, k) => 10 * Math.floor(k / 4) + k % 4),
    shape: [3, 4],
  };
  const centeredColumns = evaluate("m = mean(x, axis=0); x - m", { x }) as NdArray;
  assert.deepEqual(centeredColumns.shape, [3, 4]);
  assert.deepEqual([...centeredColumns.data], [-10, -10, -10, -10, 0, 0, 0, 0, 10, 10, 10, 10]);
  const scaled = evaluate("s = max(x, axis=1); t = sum(s); s / t", { x }) as NdArray;
  assert.deepEqual(scaled.shape, [3]);
  assert.deepEqual([...scaled.data], [3 / 39, 13 / 39, 23 / 39]);
  assert.throws(
    () => evaluate("m = mean(x, axis=1); x - m", { x }),
    { name: "RangeError", message: "Cannot broadcast 'x' of shape (3,4) with 'm' of shape (3)" },
  );
  assert.equal(
    validate("m = mean(x, axis=1); x - m", { x })?.message,
    "Cannot broadcast 'x' of shape (3,4) with 'm' of shape (3)",
  );
  assert.equal(validate("m = mean(x, axis=0); x - m", { x }), undefined);
});

test("a reduction assigned to an array passed in writes it, and later phases read the array", () => {
  const x = Float32Array.of(1, 2, 3, 4);
  const s = { data: new Float32Array(1), shape: [] };
  const r = evaluate("s = sum(x); x / s", { x, s }) as NdArray;
  assert.deepEqual([...s.data], [10]);
  assert.deepEqual(r.shape, [4]);
  assert.deepEqual(r.data, x.map((v) => Math.fround(v / 10)));
  // A kernel decides by its signature: `s` declared is an array passed in.
  const kernel = compile("s = sum(x); x / s", { x: "float32", s: "float32" });
  s.data[0] = 0;
  assert.deepEqual((kernel.run({ x, s }) as NdArray).data, r.data);
  assert.deepEqual([...s.data], [10]);
});

test("each variable is read once, however many phases read it", () => {
  const data = Float64Array.of(1, 2, 3, 6);
  let reads = 0;
  const variables = {
    get x() {
      reads++;
      return data;
    },
  };
  assert.deepEqual(
    evaluate("m = mean(x); v = max(x - m); (x - m) / v", variables),
    Float64Array.of(
      -2 / 3,
      -1 / 3,
      0,
      1,
    ),
  );
  assert.equal(reads, 1);
});

test("phase errors point into the program as written", () => {
  const x = Float32Array.of(1, 2);
  throwsAt(
    () => evaluate("m = mean(x); tanhh(x - m)", { x }),
    13,
    "at 13: unknown function 'tanhh'; did you mean 'tanh'?",
  );
  try {
    evaluate("m = mean(x)\ntanhh(x - m)", { x });
    assert.fail("no error");
  } catch (e) {
    assert.equal((e as { snippet: string }).snippet, "tanhh(x - m)\n^^^^^");
    assert.equal((e as { source: string }).source, "m = mean(x)\ntanhh(x - m)");
  }
  const table: [string, number, string][] = [
    [
      "d = x - 1; m = mean(d); d / m",
      24,
      "at 24: 'd' is a temporary of the pass that ends with mean() at 15, so it is gone after it: compute it again here, or pass an array 'd' to keep it",
    ],
    [
      "m = mean(x); m = m * 2; x - m",
      13,
      "at 13: cannot assign to 'm': it holds the value of mean() at 4; assign to another name",
    ],
    [
      "t = x + mean(x)\nt",
      8,
      "at 8: mean() must be the outermost operation of a statement, as in 'mean(x * y)' or 'm = mean(x); x - m'",
    ],
    [
      "m = mean(x); x - sum(x)",
      17,
      "at 17: sum() must be the outermost operation of a statement, as in 'sum(x * y)' or 'm = sum(x); x - m'",
    ],
    [
      "m = mean(x); v = mean((x - m) ** 2)",
      13,
      "at 13: cannot assign mean() to 'v': it is not passed in; pass an array to write the result into, or end the program with mean(...) to get its value",
    ],
    [
      "m = mean(); x - m",
      4,
      "at 4: mean() takes one array argument and an optional axis, got 0 arguments besides the axis",
    ],
  ];
  for (const [source, offset, message] of table) {
    throwsAt(() => evaluate(source, { x, y: x }), offset, message);
    assert.equal(validate(source, { x, y: x })?.message, message, source);
    throwsAt(() => compile(source, { x: "float32", y: "float32" }), offset, message);
  }
  // A value bound by a reduction is a scalar: a temporary may take its name afresh.
  assert.deepEqual(evaluate("m = mean(x); m = x * 2; m + 1", { x }), Float32Array.of(3, 5));
  // Checked before any phase runs: nothing is written.
  const y = Float32Array.of(7, 7);
  throwsAt(
    () => evaluate("y = x * 2; m = mean(y); tanhh(y - m)", { x, y }),
    24,
    "at 24: unknown function 'tanhh'; did you mean 'tanh'?",
  );
  assert.deepEqual(y, Float32Array.of(7, 7));
});

test("validate checks every phase without running any", () => {
  const x = Float32Array.of(1, 2, 3), s = new Float32Array(1);
  assert.equal(validate("s = sum(x); m = max(x); x / m", { x, s }), undefined);
  assert.deepEqual([...s], [0]);
  assert.equal(
    validate("m = mean(x); x - m", { x }, { out: new Int32Array(3) })?.message,
    `Cannot write a float32 result into a int32 out with casting "same_kind"`,
  );
  assert.equal(validate("m = mean(x); x - m", { x }, { out: new Float64Array(3) }), undefined);
});

test("disassemble lists each phase and the name its reduction binds", () => {
  assert.equal(
    disassemble("m = max(x); x / m", { x: "float64" }),
    [
      "phase 1 of 2",
      "reduce max('x' float64) -> float64 as 'm'",
      "phase 2 of 2",
      "r0 input[0] float64",
      "r1 scalar[0] float64",
      "r2 output[0] float64",
      "0: div_ddd r2, r0, r1",
    ].join("\n"),
  );
});

test("planPhases splits after each reduction assigned before the last statement", () => {
  const source = "t = x * 2; m = sum(t); u = t - m; v = max(u); u / v";
  const plan = planPhases(source, parseProgram(source))!;
  assert.deepEqual(plan.phases.map((p) => p.source), [
    "t = x * 2; m = sum(t)                              ",
    "                       u = t - m; v = max(u)       ",
    "                                              u / v",
  ]);
  assert.deepEqual(plan.phases.map((p) => p.binding?.bare), [
    "t = x * 2;     sum(t)                              ",
    "                       u = t - m;     max(u)       ",
    undefined,
  ]);
  assert.deepEqual(plan.phases.map((p) => [...p.reads.keys()]), [["x"], ["t", "m"], ["u", "v"]]);
  assert.deepEqual(plan.phases.map((p) => [...p.writes.keys()]), [["t"], ["u"], []]);
  assert.equal(planPhases("t = sum(x)", parseProgram("t = sum(x)")), undefined);
  assert.equal(planPhases("t = x; sum(t)", parseProgram("t = x; sum(t)")), undefined);
});
