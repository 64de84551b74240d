/**
 * The public API's behaviour at its edges: the errors users get for bad
 * operands and options, compile/run, async, threads and the cache.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { list, throwsExactly } from "./reference.ts";
import {
  compile,
  disassemble,
  evaluate,
  evaluateAsync,
  ExpressionError,
  getNumThreads,
  setNumThreads,
  validate,
} from "../mod.ts";

const x = new Float64Array([1, 2, 3]);

test("operands that are not typed arrays or scalars are TypeErrors naming the variable", () => {
  throwsExactly(
    () => evaluate("x + 1", { x: [1, 2, 3] as unknown as Float64Array }),
    TypeError,
    "Variable 'x' must be a typed array, a number, a bigint or a boolean: got Array",
  );
  throwsExactly(
    () => evaluate("x + 1", { x: new DataView(new ArrayBuffer(8)) as unknown as Float64Array }),
    TypeError,
    "Variable 'x' is a DataView, which numfuse does not take: use a typed array such as Float64Array",
  );
  throwsExactly(
    () => evaluate("x + 1", { x: "abc" as unknown as number }),
    TypeError,
    "Variable 'x' must be a typed array, a number, a bigint or a boolean: got string",
  );
  throwsExactly(
    () => evaluate("x + 1", { x: new Uint8ClampedArray(3) as never }),
    TypeError,
    "Variable 'x' is a Uint8ClampedArray, which numfuse does not take: use a typed array such as Float64Array",
  );
});

test("a variable the expression names must be an own property", () => {
  throwsExactly(
    () => evaluate("x + y", { x }),
    TypeError,
    "Missing variable 'y': the expression uses it",
  );
  throwsExactly(
    () => evaluate("x + constructor", { x }),
    TypeError,
    "Missing variable 'constructor': the expression uses it",
  );
  const inherited = Object.create({ y: x });
  inherited.x = x;
  throwsExactly(
    () => evaluate("x + y", inherited),
    TypeError,
    "Missing variable 'y': the expression uses it",
  );
});

test("arrays of different lengths and an out of the wrong length are RangeErrors", () => {
  throwsExactly(
    () => evaluate("x + y", { x, y: new Float64Array(4) }),
    RangeError,
    "Arrays must have the same length: 'x' has 3 elements, 'y' has 4",
  );
  throwsExactly(
    () => evaluate("x + 1", { x }, { out: new Float64Array(2) }),
    RangeError,
    "Option 'out' has 2 elements, the result has 3",
  );
});

test("an out of a dtype the casting mode forbids is a TypeError naming both dtypes", () => {
  throwsExactly(
    () => evaluate("x + 1", { x }, { out: new Int32Array(3) }),
    TypeError,
    'Cannot write a float64 result into a int32 out with casting "same_kind"',
  );
  throwsExactly(
    () => evaluate("x + 1", { x }, { out: new Float32Array(3), casting: "safe" }),
    TypeError,
    'Cannot write a float64 result into a float32 out with casting "safe"',
  );
  throwsExactly(
    () => evaluate("x + 1", { x }, { out: new Float32Array(3), casting: "no" }),
    TypeError,
    'Cannot write a float64 result into a float32 out with casting "no"',
  );
  throwsExactly(
    () => evaluate("x + 1", { x }, { out: [0, 0, 0] as unknown as Float64Array }),
    TypeError,
    "Option 'out' must be a typed array of a supported dtype (bool, int8, uint8, int16, uint16, int32, uint32, int64, uint64, float16, float32, float64): got Array",
  );
  throwsExactly(
    () => evaluate("x + 1", { x }, { out: new Float64Array(3), casting: "bogus" as "no" }),
    TypeError,
    'Option \'casting\' must be one of "no", "equiv", "safe", "same_kind", "unsafe": got bogus',
  );
});

test("an integer scalar that does not fit its dtype is a RangeError, as in NumPy 2", () => {
  const i = new Int32Array([1, 2]);
  throwsExactly(
    () => evaluate("i + k", { i, k: 3e9 }),
    RangeError,
    "Variable 'k' is 3000000000, out of bounds for int32",
  );
  assert.deepEqual(list(evaluate("i + k", { i, k: -7 })), [-6, -5]);
});

test("expression errors are ExpressionErrors with the offset", () => {
  assert.throws(() => evaluate("x + tanhh(x)", { x }), (e: unknown) => {
    assert.ok(e instanceof ExpressionError);
    assert.ok(e instanceof SyntaxError);
    assert.equal(e.offset, 4);
    assert.equal(e.message, "at 4: unknown function 'tanhh'; did you mean 'tanh'?");
    return true;
  });
});

test("the same expression with other dtypes compiles another variant", () => {
  const f32 = new Float32Array([1.5, 2.5]);
  const i32 = new Int32Array([1, 2]);
  assert.deepEqual(list(evaluate("a * 2", { a: f32 })), [3, 5]);
  assert.deepEqual(list(evaluate("a * 2", { a: i32 })), [2, 4]);
  assert.ok(evaluate("a * 2", { a: i32 }) instanceof Int32Array);
  assert.deepEqual(list(evaluate("a * 2", { a: 1.25 })), [2.5]);
});

test("compile declares dtypes once; run takes arrays or scalars of them", () => {
  const sgd = compile("p - lr * g", { p: "float32", g: "float32", lr: "float32" });
  const p = new Float32Array([1, 2, 3]), g = new Float32Array([1, 1, 1]);
  sgd.run({ p, g, lr: 0.5 }, { out: p });
  assert.deepEqual(list(p), [0.5, 1.5, 2.5]);
  throwsExactly(
    () => sgd.run({ p: new Float64Array(3), g, lr: 0.5 }),
    TypeError,
    "Variable 'p' is declared float32 but is a float64 array",
  );
  assert.throws(() => compile("p - q", { p: "float32" }), ExpressionError);
  throwsExactly(
    () => compile("p", { p: "complex64" as "float32" }),
    TypeError,
    "Signature of 'p' must be one of bool, int8, uint8, int16, uint16, int32, uint32, int64, uint64, float16, float32, float64: got complex64",
  );
});

test("evaluateAsync resolves with the same result as evaluate", async () => {
  const a = Float64Array.from({ length: 10000 }, (_, i) => i / 7);
  const sync = evaluate("sqrt(a) * 2 + a", { a });
  const asyncResult = await evaluateAsync("sqrt(a) * 2 + a", { a });
  assert.deepEqual(asyncResult, sync);
  await assert.rejects(evaluateAsync("a + b", { a }), TypeError);
  const k = compile("a * b", { a: "float64", b: "float64" });
  assert.deepEqual(list(await k.runAsync({ a, b: 2 })).slice(0, 3), [0, 2 / 7, 4 / 7]);
});

test("setNumThreads takes positive integers only", () => {
  const before = getNumThreads();
  assert.ok(before >= 1);
  throwsExactly(
    () => setNumThreads(0),
    RangeError,
    "Thread count must be a positive integer: got 0",
  );
  throwsExactly(
    () => setNumThreads(1.5),
    RangeError,
    "Thread count must be a positive integer: got 1.5",
  );
  setNumThreads(1);
  assert.equal(getNumThreads(), 1);
  setNumThreads(before);
});

test("results stay right after the cache evicts programs", () => {
  const a = new Float64Array([1, 2, 3]);
  for (let k = 0; k < 700; k++) {
    const r = evaluate(`a * ${k} + 1`, { a });
    assert.deepEqual(list(r), [k + 1, 2 * k + 1, 3 * k + 1]);
  }
  assert.deepEqual(list(evaluate("a * 3 + 1", { a })), [4, 7, 10]);
});

test("an integer raised to a negative integer power at run time is a RangeError", async () => {
  const a = new Int32Array([2, 3]), b = new Int32Array([1, -1]);
  const message = /integers to negative integer powers are not allowed/;
  assert.throws(() => evaluate("a ** b", { a, b }), (e: unknown) => {
    assert.ok(e instanceof RangeError);
    assert.match(e.message, message);
    return true;
  });
  await assert.rejects(evaluateAsync("a ** b", { a, b }), (e: unknown) => {
    assert.ok(e instanceof RangeError);
    assert.match(e.message, message);
    return true;
  });
});

test("disassemble lists the program compiled for a signature", () => {
  assert.equal(
    disassemble("x * 2 + y", { x: "float32", y: "float32" }),
    [
      "r0 input[0] float32",
      "r1 input[1] float32",
      "r2 const float32 2",
      "r3 temp float32",
      "r4 output[0] float32",
      "0: mul_fff r3, r0, r2",
      "1: add_fff r4, r3, r1",
    ].join("\n"),
  );
  assert.equal(
    disassemble("a = a + 1", { a: "int32" }),
    "r0 input[0] int32\nr1 const int32 1\nr2 output[0] int32\n0: add_iii r2, r0, r1",
  );
  throwsExactly(
    () => disassemble("x + 1", { x: "complex64" as "int32" }),
    TypeError,
    "Signature of 'x' must be one of bool, int8, uint8, int16, uint16, int32, uint32, int64, uint64, float16, float32, float64: got complex64",
  );
  assert.throws(() => disassemble("x + z", { x: "float64" }), {
    name: "ExpressionError",
    message: "at 4: unknown variable 'z'; did you mean 'x'?",
  });
});

test("validate returns the error evaluate would throw, or undefined", () => {
  const a = new Float64Array(3), i = new Int32Array(3);
  assert.equal(validate("sqrt(a) + 1", { a }), undefined);
  assert.equal(validate("a = a * 2; i = i + 1", { a, i }), undefined);
  assert.equal(validate("a + 1", { a }, { out: new Float32Array(3) }), undefined);
  const cases: [() => Error | undefined, ErrorConstructor | typeof ExpressionError, string][] = [
    [
      () => validate("tanhh(a)", { a }),
      ExpressionError,
      "at 0: unknown function 'tanhh'; did you mean 'tanh'?",
    ],
    [
      () => validate("a +", { a }),
      ExpressionError,
      "at 3: expected an expression, got end of input",
    ],
    [() => validate("a + b", { a }), TypeError, "Missing variable 'b': the expression uses it"],
    [
      () => validate("a + i", { a, i: new Int32Array(4) }),
      RangeError,
      "Arrays must have the same length: 'a' has 3 elements, 'i' has 4",
    ],
    [
      () => validate("i + k", { i, k: 3e9 }),
      RangeError,
      "Variable 'k' is 3000000000, out of bounds for int32",
    ],
    [
      () => validate("a * 2", { a }, { out: new Int32Array(3) }),
      TypeError,
      `Cannot write a float64 result into a int32 out with casting "same_kind"`,
    ],
    [
      () => validate("i = i / 2", { i }),
      ExpressionError,
      `at 0: cannot assign a float64 value to 'i', an int32 array (casting "same_kind")`,
    ],
    [
      () => validate("a = a + 1", { a }, { out: a }),
      TypeError,
      "Option 'out' is not allowed: the program ends with an assignment, so it has no result",
    ],
  ];
  for (const [call, type, message] of cases) {
    const e = call();
    assert.ok(e !== undefined, message);
    assert.equal(e.constructor, type, message);
    assert.equal(e.message, message);
  }
  // Nothing ran.
  assert.deepEqual(list(i), [0, 0, 0]);
  assert.equal(validate("a = a + 1", { a }), undefined);
  assert.deepEqual(list(a), [0, 0, 0]);
});
