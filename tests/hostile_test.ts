/**
 * A catalogue of hostile input: each case either gives a clear error (class
 * and message asserted) or a correct result, and none crashes, hangs or
 * consults a prototype.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { compile, evaluate, evaluateAsync, ExpressionError, validate } from "../mod.ts";
import { MAX_DEPTH } from "../src/parser.ts";
import type { NumericArray } from "../src/dtype.ts";
import { list, throwsAt, throwsExactly } from "./reference.ts";

const x = new Float64Array([1, 2, 3]);

/** An ArrayBuffer's view whose buffer has been detached. */
function detachedFloat64(n: number): Float64Array {
  const a = new Float64Array(n);
  structuredClone(a.buffer, { transfer: [a.buffer] });
  assert.equal(a.length, 0);
  return a;
}

test("empty, whitespace and comment-only expressions are refused at 0", () => {
  for (const source of ["", "   ", "\n\t \n", "# nothing", ";;", "\n;\n"]) {
    throwsAt(() => evaluate(source, { x }), 0, "at 0: empty expression");
  }
});

test("unbalanced parentheses, unknown names and wrong arities are ExpressionErrors", () => {
  throwsAt(() => evaluate("(x + 1", { x }), 6, "at 6: expected ')' to close '(' at 0");
  throwsAt(() => evaluate("x + 1)", { x }), 5, "at 5: unexpected ')'");
  throwsAt(() => evaluate("((x)", { x }), 4, "at 4: expected ')' to close '(' at 0");
  throwsAt(() => evaluate(")(", { x }), 0, "at 0: expected an expression, got ')'");
  throwsAt(() => evaluate("foo(x)", { x }), 0, "at 0: unknown function 'foo'");
  throwsAt(
    () => evaluate("sqrtt(x)", { x }),
    0,
    "at 0: unknown function 'sqrtt'; did you mean 'sqrt'?",
  );
  throwsAt(() => evaluate("where(x > 1, x)", { x }), 0, "at 0: where() takes 3 arguments, got 2");
  throwsAt(() => evaluate("sqrt()", { x }), 0, "at 0: sqrt() takes 1 argument, got 0");
  throwsAt(() => evaluate("sqrt(x, x)", { x }), 0, "at 0: sqrt() takes 1 argument, got 2");
  throwsAt(() => evaluate("x + sin(x,)", { x }), 10, "at 10: expected an expression, got ')'");
  throwsAt(() => evaluate("x @ 2", { x }), 2, "at 2: unexpected character '@'");
  throwsAt(() => evaluate("x + \u{1F600}", { x }), 4, "at 4: unexpected character '\u{1F600}'");
  // An unknown name is a missing variable for evaluate, an ExpressionError for compile.
  throwsExactly(
    () => evaluate("y + 1", { x }),
    TypeError,
    "Missing variable 'y': the expression uses it",
  );
  throwsAt(() => compile("zz + 1", { x: "float64" }), 0, "at 0: unknown variable 'zz'");
});

test("prototype names are variables only as own properties", () => {
  for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf"]) {
    throwsExactly(
      () => evaluate(`${name} + 1`, { x }),
      TypeError,
      `Missing variable '${name}': the expression uses it`,
    );
    const own: Record<string, Float64Array> = Object.create(null);
    own[name] = x;
    assert.deepEqual(list(evaluate(`${name} + 1`, own)!), [2, 3, 4]);
    // JSON.parse makes own "__proto__" properties; a plain literal would set the prototype.
    assert.deepEqual(
      list(evaluate(`${name} * 2`, JSON.parse(`{"${name}": 4}`) as Record<string, number>)!),
      [8n],
    );
    throwsAt(
      () => compile(`${name} + 1`, { x: "float64" }),
      0,
      `at 0: unknown variable '${name}'`,
    );
  }
  throwsExactly(
    () => evaluate("x * 2", Object.create({ x })),
    TypeError,
    "Missing variable 'x': the expression uses it",
  );
});

test("variables objects: null prototype, getters read once, scalars from getters", () => {
  const bare: Record<string, Float64Array> = Object.create(null);
  bare.x = x;
  assert.deepEqual(list(evaluate("x * 2", bare)!), [2, 4, 6]);
  let reads = 0;
  assert.deepEqual(
    list(
      evaluate("x * 2", {
        get x() {
          reads++;
          return x;
        },
      })!,
    ),
    [2, 4, 6],
  );
  assert.equal(reads, 1);
  // A getter that changes its answer: the value classified is the value run with.
  let calls = 0;
  const flaky = {
    x,
    get s(): number {
      return calls++ === 0 ? 2 : ("oops" as unknown as number);
    },
  };
  assert.deepEqual(list(evaluate("x * s", flaky)!), [2, 4, 6]);
  assert.equal(calls, 1);
});

test("operands that are not typed arrays or scalars are TypeErrors naming the variable", () => {
  const must = "Variable 'x' must be a typed array, a number, a bigint or a boolean: got";
  const cases: [unknown, string][] = [
    [[1, 2, 3], `${must} Array`],
    ["abc", `${must} string`],
    [{}, `${must} Object`],
    [null, `${must} null`],
    [undefined, `${must} undefined`],
    [() => 1, `${must} function`],
    [Symbol("s"), `${must} symbol`],
    [new Date(0), `${must} Date`],
    [
      new DataView(new ArrayBuffer(8)),
      "Variable 'x' is a DataView, which numfuse does not take: use a typed array such as Float64Array",
    ],
    [
      new Uint8ClampedArray(3),
      "Variable 'x' is a Uint8ClampedArray, which numfuse does not take: use a typed array such as Float64Array",
    ],
    [
      { data: [1, 2] },
      "Variable 'x' has data of type Array: use a typed array such as Float64Array",
    ],
    [{ data: null }, "Variable 'x' has data of type null: use a typed array such as Float64Array"],
  ];
  for (const [value, message] of cases) {
    throwsExactly(() => evaluate("x + 1", { x: value as Float64Array }), TypeError, message);
  }
  throwsExactly(
    () => evaluate("x", null as never),
    TypeError,
    "Variables must be an object: got null",
  );
  throwsExactly(
    () => evaluate(42 as never, { x }),
    TypeError,
    "Expression must be a string: got number",
  );
  throwsExactly(
    () => evaluate("x + 1", { x }, { casting: "sloppy" as never }),
    TypeError,
    'Option \'casting\' must be one of "no", "equiv", "safe", "same_kind", "unsafe": got sloppy',
  );
});

test("detached arrays are TypeErrors naming the variable or 'out', never a crash", async () => {
  const message = (what: string) =>
    `${what} is a detached array: its buffer was transferred, so it cannot be read or written`;
  throwsExactly(
    () => evaluate("x + 1", { x: detachedFloat64(3) }),
    TypeError,
    message("Variable 'x'"),
  );
  throwsExactly(
    () => evaluate("x + y", { x, y: detachedFloat64(3) }),
    TypeError,
    message("Variable 'y'"),
  );
  const out = new Float64Array(3);
  out.buffer.transfer();
  throwsExactly(() => evaluate("x + 1", { x }, { out }), TypeError, message("Option 'out'"));
  throwsExactly(
    () => evaluate("o = x + 1", { x, o: detachedFloat64(3) }),
    TypeError,
    message("Variable 'o'"),
  );
  // Nine arrays go through the pointer table rather than the fixed-arity symbols.
  const nine: Record<string, Float64Array> = {};
  for (let i = 0; i < 9; i++) nine[`v${i}`] = new Float64Array(0);
  nine.v8 = detachedFloat64(2);
  throwsExactly(
    () => evaluate(Object.keys(nine).join(" + "), nine),
    TypeError,
    message("Variable 'v8'"),
  );
  await assert.rejects(evaluateAsync("x * 2", { x: detachedFloat64(4) }), TypeError);
  assert.equal(validate("x + 1", { x: detachedFloat64(1) })?.message, message("Variable 'x'"));
});

test("zero-length arrays give empty results; mismatched lengths and bad out are refused", () => {
  assert.equal(evaluate("x + 1", { x: new Float64Array(0) })!.length, 0);
  assert.equal(evaluate("sum = x * 2; sum", { x: new Int32Array(0) })!.length, 0);
  assert.deepEqual(list(evaluate("a + 1", { a: 2 })!), [3n]);
  throwsExactly(
    () => evaluate("x + y", { x, y: new Float64Array(2) }),
    RangeError,
    "Arrays must have the same length: 'x' has 3 elements, 'y' has 2",
  );
  throwsExactly(
    () => evaluate("x + 1", { x }, { out: new Float64Array(2) }),
    RangeError,
    "Option 'out' has 2 elements, the result has 3",
  );
  throwsExactly(
    () => evaluate("x + 1", { x }, { out: new Uint8ClampedArray(3) as never }),
    TypeError,
    "Option 'out' must be a typed array of a supported dtype (bool, int8, uint8, int16, uint16, int32, uint32, int64, uint64, float16, float32, float64): got Uint8ClampedArray",
  );
});

test("out partially overlapping an input equals the result on a copy", () => {
  for (const [inAt, outAt] of [[0, 2], [2, 0], [0, 1], [3, 0]]) {
    const buf = new Float64Array(12).map((_, i) => i - 3.5);
    const input = buf.subarray(inAt, inAt + 8);
    const want = list(evaluate("x * 10 + sqrt(abs(x))", { x: input.slice() })!);
    const out = buf.subarray(outAt, outAt + 8);
    evaluate("x * 10 + sqrt(abs(x))", { x: input }, { out });
    assert.deepEqual(list(out), want, `input at ${inAt}, out at ${outAt}`);
  }
  // Different element sizes over one buffer: a float32 input under a float64 out.
  const ab = new ArrayBuffer(64);
  const f32 = new Float32Array(ab, 0, 6).map((_, i) => i + 0.5);
  const want = list(evaluate("x * 2", { x: f32.slice() }, { out: new Float64Array(6) })!);
  const out = new Float64Array(ab, 8, 6);
  evaluate("x * 2", { x: f32 }, { out });
  assert.deepEqual(list(out), want);
});

test("SharedArrayBuffer inputs and outputs give the same results", () => {
  const shared = new Float64Array(new SharedArrayBuffer(24));
  shared.set([1, 2, 3]);
  assert.deepEqual(list(evaluate("x * 2 + 1", { x: shared })!), [3, 5, 7]);
  const out = new Float64Array(new SharedArrayBuffer(24));
  evaluate("x * 2 + 1", { x }, { out });
  assert.deepEqual(list(out), [3, 5, 7]);
  evaluate("x = x * 2", { x: shared });
  assert.deepEqual(list(shared), [2, 4, 6]);
  // Two SharedArrayBuffer objects over the same memory cannot be told apart in JS:
  // the VM refuses what would be wrong.
  const clone = new Float64Array(structuredClone(shared.buffer) as SharedArrayBuffer);
  throwsExactly(
    () => evaluate("x * 10", { x: shared.subarray(0, 2) }, { out: clone.subarray(1, 3) }),
    RangeError,
    "output slot 0 partially overlaps input slot 0 (only an exact alias, same start and element size, is allowed)",
  );
});

test("resizable buffers: length-tracking views follow resizes between calls", () => {
  const rab = new ArrayBuffer(24, { maxByteLength: 64 });
  const a = new Float64Array(rab);
  a.set([1, 2, 3]);
  assert.deepEqual(list(evaluate("x * 2", { x: a })!), [2, 4, 6]);
  rab.resize(16);
  assert.deepEqual(list(evaluate("x * 2", { x: a })!), [2, 4]);
  rab.resize(0);
  assert.deepEqual(list(evaluate("x * 2", { x: a })!), []);
  rab.resize(40);
  assert.deepEqual(list(evaluate("x = x + 1; x * 2", { x: a })!), [2, 2, 2, 2, 2]);
  // A fixed view pushed out of bounds has length 0 (not detached): an empty array.
  const fixed = new Float64Array(rab, 16, 3);
  rab.resize(8);
  assert.equal(evaluate("x * 2", { x: fixed })!.length, 0);
  throwsExactly(
    () => evaluate("x + y", { x: fixed, y: x }),
    RangeError,
    "Arrays must have the same length: 'x' has 0 elements, 'y' has 3",
  );
});

test("NaN and infinities propagate; integer overflow wraps; division and modulo by zero", () => {
  const f = new Float64Array([1, -1, 0, NaN, Infinity, -Infinity]);
  assert.deepEqual(list(evaluate("x / 0", { x: f })!), [
    Infinity,
    -Infinity,
    NaN,
    NaN,
    Infinity,
    -Infinity,
  ]);
  assert.deepEqual(list(evaluate("x % 0", { x: f })!), [NaN, NaN, NaN, NaN, NaN, NaN]);
  assert.deepEqual(list(evaluate("x * 0", { x: f })!), [0, -0, 0, NaN, NaN, NaN]);
  const i32 = new Int32Array([1, -1, 0, -2147483648, 2147483647]);
  const z32 = new Int32Array(5);
  assert.deepEqual(list(evaluate("x % y", { x: i32, y: z32 })!), [0, 0, 0, 0, 0]);
  assert.deepEqual(list(evaluate("x % 0", { x: i32 })!), [0, 0, 0, 0, 0]);
  assert.deepEqual(list(evaluate("x / y", { x: i32, y: z32 })!), [
    Infinity,
    -Infinity,
    NaN,
    -Infinity,
    Infinity,
  ]);
  assert.deepEqual(list(evaluate("x % -1", { x: i32 })!), [0, 0, 0, 0, 0]);
  assert.deepEqual(list(evaluate("x + 1", { x: i32 })!), [2, 0, 1, -2147483647, -2147483648]);
  assert.deepEqual(list(evaluate("-x", { x: i32 })!), [-1, 1, 0, -2147483648, -2147483647]);
  assert.deepEqual(list(evaluate("abs(x)", { x: i32 })!), [1, 1, 0, -2147483648, 2147483647]);
  const min64 = -(2n ** 63n), max64 = 2n ** 63n - 1n;
  const i64 = new BigInt64Array([1n, -1n, 0n, min64, max64]);
  const z64 = new BigInt64Array(5);
  assert.deepEqual(list(evaluate("x % y", { x: i64, y: z64 })!), [0n, 0n, 0n, 0n, 0n]);
  assert.deepEqual(list(evaluate("x % -1", { x: i64 })!), [0n, 0n, 0n, 0n, 0n]);
  assert.deepEqual(list(evaluate("x / y", { x: i64, y: z64 })!), [
    Infinity,
    -Infinity,
    NaN,
    -Infinity,
    Infinity,
  ]);
  assert.deepEqual(list(evaluate("x + 1", { x: i64 })!), [2n, 0n, 1n, min64 + 1n, min64]);
  assert.deepEqual(list(evaluate("x * x", { x: new BigInt64Array([2n ** 62n]) })!), [0n]);
  throwsAt(
    () => evaluate("x ** -1", { x: i32 }),
    5,
    "at 5: integers to negative integer powers are not allowed",
  );
});

test("1 MB expressions: a long sum hits the depth limit fast; long literals and blanks work", () => {
  const sum = "x + ".repeat(250_000) + "x";
  throwsAt(
    () => evaluate(sum, { x }),
    4 * MAX_DEPTH - 2,
    `at ${4 * MAX_DEPTH - 2}: expression nested too deeply (limit ${MAX_DEPTH}): a chain of ` +
      `operators is one level per operator, so more than ${MAX_DEPTH} terms in a row need ` +
      "splitting into statements, as in 't = a + b; t + c'",
  );
  // Split as the message says, 2700 terms run (float64 sums of small integers are exact).
  const part = "x + ".repeat(899) + "x";
  assert.deepEqual(list(evaluate(`t = ${part}; u = t + ${part}; u + ${part}`, { x })!), [
    2700,
    5400,
    8100,
  ]);
  const digits = "1".repeat(1 << 20);
  const ninth = Number(`0.${digits}`);
  assert.deepEqual(list(evaluate(`x + 0.${digits}`, { x })!), [1 + ninth, 2 + ninth, 3 + ninth]);
  assert.deepEqual(list(evaluate(`x * 0 + 1e${digits}`, { x })!), [Infinity, Infinity, Infinity]);
  assert.deepEqual(list(evaluate(" ".repeat(1 << 20) + "x", { x }) as NumericArray), [1, 2, 3]);
  assert.deepEqual(list(evaluate(`x # ${"c".repeat(1 << 20)}`, { x })!), [1, 2, 3]);
  assert.deepEqual(list(evaluate("\n".repeat(1 << 20) + "x", { x }) as NumericArray), [1, 2, 3]);
  throwsExactly(
    () => evaluate(`x + ${digits}`, { x: new Int32Array(1) }),
    ExpressionError as unknown as ErrorConstructor,
    `at 4: integer ${digits.slice(0, 20)}... (${digits.length} digits) out of bounds for int32`,
  );
});

test("nesting 100k deep is a limit error at the limit, without stack overflow", () => {
  const depth = 100_000;
  const cases: [string, number][] = [
    ["(".repeat(depth) + "x" + ")".repeat(depth), MAX_DEPTH],
    ["(".repeat(depth) + "x", MAX_DEPTH],
    ["sqrt(".repeat(depth) + "x" + ")".repeat(depth), 5 * MAX_DEPTH],
    ["x**".repeat(depth) + "x", 3 * MAX_DEPTH],
    ["-".repeat(depth) + "x", MAX_DEPTH],
    ["~".repeat(depth) + "x", MAX_DEPTH],
  ];
  for (const [source, offset] of cases) {
    throwsAt(
      () => evaluate(source, { x }),
      offset,
      `at ${offset}: expression nested too deeply (limit ${MAX_DEPTH})`,
    );
  }
  const ok = "(".repeat(MAX_DEPTH - 2) + "x" + ")".repeat(MAX_DEPTH - 2);
  assert.deepEqual(list(evaluate(ok, { x }) as NumericArray), [1, 2, 3]);
});

test("10k distinct input arrays in one expression (numexpr stops at 31)", () => {
  const names = Array.from({ length: 10_000 }, (_, i) => `v${i}`);
  const vars: Record<string, Float64Array> = {};
  names.forEach((name, i) => vars[name] = new Float64Array([i, 1, -1]));
  const balanced = (a: string[]): string =>
    a.length === 1
      ? a[0]
      : `(${balanced(a.slice(0, a.length >> 1))} + ${balanced(a.slice(a.length >> 1))})`;
  const source = balanced(names);
  assert.deepEqual(list(evaluate(source, vars) as NumericArray), [49_995_000, 10_000, -10_000]);
});

test("300 input arrays over several blocks and threads, as a JS loop computes them", () => {
  const n = 3 * 4096 + 5;
  const vars: Record<string, Float64Array> = {};
  const expected = new Float64Array(n);
  for (let k = 0; k < 300; k++) {
    const a = Float64Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + k) * (k + 1));
    vars[`v${k}`] = a;
    for (let i = 0; i < n; i++) {
      expected[i] = k === 0 ? a[i] : k % 2 ? expected[i] - a[i] * 0.5 : expected[i] + a[i];
    }
  }
  const source = Object.keys(vars).map((name, k) =>
    k === 0 ? name : k % 2 ? ` - ${name} * 0.5` : ` + ${name}`
  ).join("");
  assert.deepEqual(list(evaluate(source, vars) as NumericArray), list(expected));
});

test("more temporaries than registers is a clear RangeError", () => {
  const n = 70_000;
  let source = "";
  for (let i = 0; i < n; i++) source += `t${i} = x * ${i}\n`;
  const balanced = (lo: number, hi: number): string =>
    hi - lo === 1
      ? `t${lo}`
      : `(${balanced(lo, (lo + hi) >> 1)} + ${balanced((lo + hi) >> 1, hi)})`;
  source += balanced(0, n);
  throwsExactly(
    () => evaluate(source, { x }),
    RangeError,
    "Cannot generate code: program needs more than 65535 registers",
  );
});
