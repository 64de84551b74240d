/**
 * Multi-statement programs end to end: a fused program against the same
 * statements run one `evaluate` at a time (bit for bit) and against the
 * reference evaluator run statement by statement; in-place outputs,
 * temporaries, reads after assignment, aliasing and the errors.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import type { VarSpec } from "../src/ast.ts";
import { compileProgram } from "../src/compiler.ts";
import { allocArray, type DType, type NumericArray } from "../src/dtype.ts";
import { compile, evaluate, evaluateAsync, ExpressionError } from "../mod.ts";
import { list, referenceProgram, rng, ulpDistance } from "./reference.ts";

const SPECIALS = [NaN, Infinity, -Infinity, -0, 0, 1, -1, 1e-310, 3.4e38];

/** Random data; floats get specials at 1 in 16 (after the first 16 elements), `positive` takes |x|. */
function data(dtype: DType, n: number, seed: number, positive = false): NumericArray {
  const r = rng(seed);
  const a = allocArray(dtype, n);
  for (let i = 0; i < n; i++) {
    if (dtype === "bool") {
      (a as Uint8Array)[i] = r() < 0.5 ? 1 : 0;
    } else if (dtype === "int32") {
      (a as Int32Array)[i] = Math.floor((r() - 0.5) * 2000);
    } else {
      let x = i >= 16 && r() < 1 / 16 ? SPECIALS[i % SPECIALS.length] : (r() - 0.5) * 8;
      if (positive) x = Math.abs(x);
      (a as Float64Array)[i] = x;
    }
  }
  return a;
}

/** The bytes of an array, to compare floats bit for bit (NaN payloads and -0 included). */
function bytes(a: NumericArray): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function assertBits(actual: NumericArray, expected: NumericArray, label: string) {
  assert.equal(actual.length, expected.length, `${label}: length`);
  const a = bytes(actual), e = bytes(expected);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== e[i]) {
      const k = Math.floor(i / actual.BYTES_PER_ELEMENT);
      assert.fail(`${label}: element ${k} is ${actual[k]}, expected ${expected[k]}`);
    }
  }
}

/** Equal element for element; floats within 0 ulp, any NaN equal to any NaN, -0 distinct from 0. */
function assertSame(actual: NumericArray, expected: NumericArray, label: string) {
  assert.equal(actual.constructor, expected.constructor, `${label}: type`);
  assert.equal(actual.length, expected.length, `${label}: length`);
  const f32 = actual instanceof Float32Array, float = f32 || actual instanceof Float64Array;
  for (let i = 0; i < actual.length; i++) {
    const x = actual[i], y = expected[i];
    const same = float
      ? ulpDistance(x as number, y as number, f32 ? "float32" : "float64") === 0 &&
        (x !== 0 || Object.is(x, y))
      : x === y;
    if (!same) assert.fail(`${label}: element ${i} is ${String(x)}, expected ${String(y)}`);
  }
}

const ADAM = `
  m = m + (1 - b1) * (g - m)
  v = v + (1 - b2) * (g * g - v)
  p = p - lr * m / (sqrt(v) + eps)
`;
const ADAM_LITERAL =
  "m = m + (1 - 0.9) * (g - m); v = v + (1 - 0.999) * (g*g - v); p = p - 0.001 * m / (sqrt(v) + 1e-8)";
const LENGTHS = [0, 1, 7, 4097, 1 << 20];

function adamState(t: "float32" | "float64", n: number, seed: number) {
  return {
    p: data(t, n, seed),
    g: data(t, n, seed + 1),
    m: data(t, n, seed + 2),
    v: data(t, n, seed + 3, true),
  };
}

function copyState<T extends Record<string, NumericArray>>(s: T): T {
  return Object.fromEntries(Object.entries(s).map(([k, a]) => [k, a.slice()])) as T;
}

for (const t of ["float32", "float64"] as const) {
  test(`Adam in one program equals three separate evaluations bit for bit (${t})`, () => {
    for (const n of LENGTHS) {
      const fused = adamState(t, n, n + 17);
      const separate = copyState(fused);
      const reference = referenceProgram(
        compileProgram(ADAM_LITERAL, {
          p: { kind: "array", dtype: t },
          g: { kind: "array", dtype: t },
          m: { kind: "array", dtype: t },
          v: { kind: "array", dtype: t },
        }).program,
        copyState(fused),
        n,
      ).outputs;

      const ret = evaluate(ADAM_LITERAL, fused);
      assert.equal(ret, undefined);
      const { p, g, m, v } = separate;
      evaluate("m + (1 - 0.9) * (g - m)", { m, g }, { out: m });
      evaluate("v + (1 - 0.999) * (g*g - v)", { v, g }, { out: v });
      evaluate("p - 0.001 * m / (sqrt(v) + 1e-8)", { p, m, v }, { out: p });
      for (const name of ["p", "m", "v", "g"] as const) {
        assertBits(fused[name], separate[name], `${t} n=${n} ${name}`);
      }
      for (const name of ["p", "m", "v"] as const) {
        assertSame(fused[name], reference[name], `${t} n=${n} ${name} vs reference`);
      }
    }
  });

  test(`compiled Adam with scalars equals three compiled steps bit for bit (${t})`, () => {
    const sig = { p: t, g: t, m: t, v: t, b1: t, b2: t, lr: t, eps: t };
    const adam = compile(ADAM, sig);
    const stepM = compile("m + (1 - b1) * (g - m)", sig);
    const stepV = compile("v + (1 - b2) * (g * g - v)", sig);
    const stepP = compile("p - lr * m / (sqrt(v) + eps)", sig);
    const scalars = { b1: 0.9, b2: 0.999, lr: 1e-3, eps: 1e-8 };
    for (const n of LENGTHS) {
      const fused = adamState(t, n, n + 29);
      const separate = copyState(fused);
      for (let step = 0; step < 2; step++) {
        assert.equal(adam.run({ ...fused, ...scalars }), undefined);
        stepM.run({ ...separate, ...scalars }, { out: separate.m });
        stepV.run({ ...separate, ...scalars }, { out: separate.v });
        stepP.run({ ...separate, ...scalars }, { out: separate.p });
      }
      for (const name of ["p", "m", "v"] as const) {
        assertBits(fused[name], separate[name], `${t} n=${n} ${name}`);
      }
    }
  });
}

test("Adam runs off the JS thread too", async () => {
  const fused = adamState("float32", 4097, 5);
  const separate = copyState(fused);
  assert.equal(await evaluateAsync(ADAM_LITERAL, fused), undefined);
  evaluate(ADAM_LITERAL, separate);
  for (const name of ["p", "m", "v"] as const) assertBits(fused[name], separate[name], name);
});

interface ProgramCase {
  readonly source: string;
  readonly arrays: Readonly<Record<string, DType>>;
  readonly scalars?: Readonly<Record<string, number>>;
  /** Arrays that must be non-negative. */
  readonly positive?: readonly string[];
}

const PROGRAMS: ProgramCase[] = [
  { source: "t = x * 2; t + 1", arrays: { x: "float64" } },
  { source: "t = x * 2\nu = t * t - x\nwhere(u > 0, u, t)", arrays: { x: "float32" } },
  { source: "a = a * 2; b = a + b; a - b", arrays: { a: "float64", b: "float64" } },
  { source: "t = a; a = b * 2; t + a", arrays: { a: "float32", b: "float32" } },
  { source: "a = a + 1; a = a * a; a", arrays: { a: "float64" } },
  { source: "t = 0.5; a = a * t; a + k", arrays: { a: "float32" }, scalars: { k: 3 } },
  { source: "i = i * 3 + 1; f = f + i; f * 2", arrays: { i: "int32", f: "float64" } },
  {
    source: "mask = a > b; a = where(mask, b, a)",
    arrays: { mask: "bool", a: "float64", b: "float64" },
  },
  { source: "s = sqrt(v); v = v + 1; s * v", arrays: { v: "float32" }, positive: ["v"] },
  { source: "x = x; y = x * 2", arrays: { x: "float64", y: "float64" } },
];

function runProgramCase(c: ProgramCase, n: number, seed: number) {
  const vars: Record<string, NumericArray | number> = {};
  const specs: Record<string, VarSpec> = {};
  let k = 0;
  for (const [name, dtype] of Object.entries(c.arrays)) {
    vars[name] = data(dtype, n, seed + 31 * k++, c.positive?.includes(name));
    specs[name] = { kind: "array", dtype };
  }
  for (const [name, v] of Object.entries(c.scalars ?? {})) {
    vars[name] = v;
    specs[name] = { kind: "weak", weak: Number.isInteger(v) ? "int" : "float" };
  }
  const { program } = compileProgram(c.source, specs);
  const expected = referenceProgram(program, structuredClone(vars), n);
  const passed: Record<string, unknown> = { ...vars };
  for (const [name, dtype] of Object.entries(c.arrays)) {
    if (dtype === "bool") passed[name] = { data: vars[name], dtype: "bool" };
  }
  const before = structuredClone(vars);
  const result = evaluate(
    c.source,
    passed as Record<string, NumericArray | number | { data: NumericArray; dtype: "bool" }>,
  );
  const label = `${JSON.stringify(c.source)} n=${n}`;
  if (expected.result === undefined) assert.equal(result, undefined, label);
  else assertSame(result as NumericArray, expected.result, `${label} result`);
  for (const name of Object.keys(c.arrays)) {
    const want = expected.outputs[name] ?? before[name] as NumericArray;
    assertSame(vars[name] as NumericArray, want, `${label} ${name}`);
  }
}

test("programs with temporaries and in-place outputs match the reference", () => {
  for (const c of PROGRAMS) for (const n of [0, 1, 7, 4097]) runProgramCase(c, n, n + 3);
});

test("a read after an assignment sees the new value, element-wise", () => {
  const a = new Float64Array([1, 2, 3]);
  const r = evaluate("a = a + 1; a * 10", { a });
  assert.deepEqual(list(r!), [20, 30, 40]);
  assert.deepEqual(list(a), [2, 3, 4]);
  const b = new Float64Array([1, 2, 3]);
  assert.deepEqual(list(evaluate("old = b; b = b * 2; old + b", { b })!), [3, 6, 9]);
  assert.deepEqual(list(b), [2, 4, 6]);
});

test("a temporary's result is a new array; a name passed in is written instead", () => {
  const x = new Float32Array([1, 2]);
  const y = evaluate("t = x * 2; t + 1", { x });
  assert.ok(y instanceof Float32Array);
  assert.deepEqual(list(y), [3, 5]);
  assert.deepEqual(list(x), [1, 2]);
  const t = new Float32Array(2);
  assert.deepEqual(list(evaluate("t = x * 2; t + 1", { x, t })!), [3, 5]);
  assert.deepEqual(list(t), [2, 4]);
  const out = new Float64Array(2);
  assert.equal(evaluate("t = x * 2; t + 1", { x }, { out }), out);
  assert.deepEqual(list(out), [3, 5]);
});

test("compile's signature decides which assigned names are arrays", () => {
  const k = compile("t = x * 2; y = t + 1; t", { x: "float64", y: "float64" });
  const x = new Float64Array([1, 2]), y = new Float64Array(2), t = new Float64Array(2);
  assert.deepEqual(list(k.run({ x, y, t })!), [2, 4]);
  assert.deepEqual(list(y), [3, 5]);
  assert.deepEqual(list(t), [0, 0]); // not declared: a temporary, even when passed
  assert.throws(() => k.run({ x }), {
    name: "TypeError",
    message: "Missing variable 'y': the expression uses it",
  });
});

test("an input that is another variable's array reads the values the call began with", () => {
  const m = new Float64Array([1, 2, 3]);
  assert.deepEqual(list(evaluate("m = m + 1; x * 10", { m, x: m })!), [10, 20, 30]);
  assert.deepEqual(list(m), [2, 3, 4]);
  const buffer = new Float64Array([1, 2, 3, 4]);
  const a = buffer.subarray(0, 3), b = buffer.subarray(1, 4);
  evaluate("a = b * 2", { a, b });
  assert.deepEqual(list(buffer), [4, 6, 8, 4]);
});

test("program errors: scalars assigned, refused casts, out without a result, shared outputs", () => {
  const x = new Float64Array(3), i = new Int32Array(3);
  assert.throws(() => evaluate("lr = lr * 2; x * lr", { x, lr: 0.5 }), (e: unknown) => {
    assert.ok(e instanceof ExpressionError);
    assert.equal(
      e.message,
      "at 0: cannot assign to 'lr': it is a scalar, and only arrays passed in are written",
    );
    return true;
  });
  const k = compile("s = s * 2; x + s", { x: "float64", s: "float64" });
  assert.throws(() => k.run({ x, s: 2 }), {
    name: "ExpressionError",
    message: "at 0: cannot assign to 's': it is a scalar, and only arrays passed in are written",
  });
  assert.throws(() => evaluate("x = x + 1\ni = i / 2", { x, i }), {
    name: "ExpressionError",
    message: `at 10: cannot assign a float64 value to 'i', an int32 array (casting "same_kind")`,
  });
  assert.throws(() => evaluate("x = x + 1", { x }, { out: new Float64Array(3) }), {
    name: "TypeError",
    message:
      "Option 'out' is not allowed: the program ends with an assignment, so it has no result",
  });
  assert.throws(() => evaluate("a = a + 1; b = b * 2", { a: x, b: x }), {
    name: "RangeError",
    message: "Cannot write both variable 'a' and variable 'b': they share memory",
  });
  assert.throws(() => evaluate("a = a + 1; a * 2", { a: x }, { out: x }), {
    name: "RangeError",
    message: "Cannot write both option 'out' and variable 'a': they share memory",
  });
  assert.throws(() => evaluate("a = a + 1; b = b * 2", { a: x, b: new Float64Array(4) }), {
    name: "RangeError",
    message: "Arrays must have the same length: 'a' has 3 elements, 'b' has 4",
  });
  assert.throws(() => evaluate("t = x * 2", { x }), {
    name: "ExpressionError",
    message:
      "at 0: the program has no effect: it assigns only temporaries ('t') and ends with no expression",
  });
  // Nothing was written by the refused calls.
  assert.deepEqual(list(x), [0, 0, 0]);
});
