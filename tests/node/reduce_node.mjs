/**
 * Node-only tests of reductions through the Node-API addon: `evaluate` of
 * the package and the addon's `reduce` on N-d strided views, against plain
 * JS loops; fused reductions of expressions (the addon's `runReduce*`)
 * against NumPy's goldens (`tests/goldens/reduce.json`) and JS loops. Run by
 * `scripts/test_node.ts` from the built package (`npm/tests/node/`) with
 * `node --test`.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { test } from "node:test";
import { evaluate, evaluateAsync } from "../../mod.js";
import { addonFileName, platformTriple } from "../../src/node_binding.js";
import { decodeGolden } from "../reference.js";

const require = createRequire(import.meta.url);
// The module object the package's binding calls too (require caches it).
const addon = require(`../../${addonFileName(platformTriple())}`);

/** dtype codes (src/dtype.ts) and reduction codes (src/reduce.ts). */
const INT32 = 5, INT64 = 7, FLOAT64 = 11;
const SUM = 0, MAX = 3, COUNT_NONZERO = 7;

/** `[offset, axis (NaN: whole), ndim, shape..., strides...]`. */
function geometry(shape, strides, offset, axis) {
  return Float64Array.of(offset, axis ?? NaN, shape.length, ...shape, ...strides);
}

test("evaluate returns reductions as JS values under Node", async () => {
  const x = Float64Array.of(1.5, -2, 4), i = Int32Array.of(3, 0, -9);
  assert.equal(evaluate("sum(x)", { x }), 3.5);
  assert.equal(evaluate("sum(i)", { i }), -6n);
  assert.equal(evaluate("max(i, axis=0)", { i }), 3);
  assert.equal(evaluate("any(x > 3)", { x }), true);
  assert.equal(evaluate("t = x * 2; mean(t)", { x }), 7 / 3);
  assert.equal(await evaluateAsync("count_nonzero(i)", { i }), 2n);
  const s = new Float64Array(1);
  assert.equal(evaluate("s = prod(x)", { x, s }), undefined);
  assert.equal(s[0], -12);
  assert.throws(() => evaluate("min(x)", { x: new Float64Array(0) }), {
    name: "RangeError",
    message: "zero-size array to reduction operation minimum which has no identity",
  });
});

test("the addon reduces a transposed 3x4 view along each axis", () => {
  const base = Int32Array.from({ length: 12 }, (_, k) => k * k - 20);
  // The transpose of a 3x4 row-major array: shape [4, 3], strides [1, 4].
  const at = (r, c) => base[r + 4 * c];
  const rows = new BigInt64Array(4), cols = new BigInt64Array(3), whole = new BigInt64Array(1);
  addon.reduce(SUM, INT32, base, geometry([4, 3], [1, 4], 0, 1), rows, 2);
  addon.reduce(SUM, INT32, base, geometry([4, 3], [1, 4], 0, -2), cols, 2);
  addon.reduce(SUM, INT32, base, geometry([4, 3], [1, 4], 0), whole, 1);
  for (let r = 0; r < 4; r++) assert.equal(rows[r], BigInt(at(r, 0) + at(r, 1) + at(r, 2)));
  for (let c = 0; c < 3; c++) {
    assert.equal(cols[c], BigInt(at(0, c) + at(1, c) + at(2, c) + at(3, c)));
  }
  assert.equal(whole[0], BigInt(base.reduce((a, b) => a + b)));
  const max = new Int32Array(3);
  addon.reduce(MAX, INT32, base, geometry([3, 4], [-4, 1], 8, 1), max, 1);
  assert.deepEqual([...max], [base[11], base[7], base[3]]);
  const count = new BigInt64Array(1);
  addon.reduce(
    COUNT_NONZERO,
    FLOAT64,
    Float64Array.of(0, -0, NaN, 1),
    geometry([4], [1], 0),
    count,
    1,
  );
  assert.equal(count[0], 2n);
});

test("reduceAsync reduces off the JS thread and rejects errors", async () => {
  const x = Float64Array.from({ length: 100_000 }, (_, k) => (k % 17) - 8);
  const sync = new Float64Array(1), async = new Float64Array(1);
  addon.reduce(SUM, FLOAT64, x, geometry([x.length], [1], 0), sync, 2);
  const pending = addon.reduceAsync(SUM, FLOAT64, x, geometry([x.length], [1], 0), async, 2);
  assert.ok(pending instanceof Promise);
  assert.equal(await pending, undefined);
  assert.equal(async[0], sync[0]);
  await assert.rejects(
    addon.reduceAsync(MAX, FLOAT64, new Float64Array(0), geometry([0], [1], 0), async, 1),
    (e) => e.code === "ERR_NUMFUSE_DOMAIN" && /zero-size array/.test(e.message),
  );
  assert.throws(
    () => addon.reduceAsync(SUM, FLOAT64, x, geometry([x.length], [1], 0), new Int32Array(1), 1),
    (e) => e.code === "ERR_NUMFUSE_BAD_ARGUMENTS",
  );
});

test("the addon refuses wrong arrays, views and axes", () => {
  const data = new Float64Array(6);
  const bad = (fn, pattern) =>
    assert.throws(fn, (e) => e.code === "ERR_NUMFUSE_BAD_ARGUMENTS" && pattern.test(e.message));
  bad(
    () => addon.reduce(SUM, FLOAT64, data, geometry([6], [1], 0), new Float32Array(1), 1),
    /reduce's out must be a Float64Array for float64, got a Float32Array/,
  );
  bad(
    () => addon.reduce(SUM, INT64, data, geometry([6], [1], 0), new BigInt64Array(1), 1),
    /reduce's data must be a BigInt64Array for int64, got a Float64Array/,
  );
  bad(
    () => addon.reduce(SUM, FLOAT64, data, geometry([2, 3], [3, 1], 1), new Float64Array(1), 1),
    /the view addresses elements 1 to 6 of a buffer of 6 elements/,
  );
  bad(
    () => addon.reduce(SUM, FLOAT64, data, geometry([2, 3], [3, 1], 0, 2), new Float64Array(2), 1),
    /^axis 2 is out of bounds for array of dimension 2$/,
  );
  bad(() => addon.reduce(9, FLOAT64, data, geometry([6], [1], 0), data, 1), /unknown reduction/);
});

/**
 * Runs `fn` with the addon's run and reduce functions counted; returns the
 * result and the counts of the functions called, by name.
 */
async function counting(fn) {
  const names = Object.keys(addon).filter((name) => /^(run|reduce)/.test(name));
  const saved = names.map((name) => addon[name]);
  const calls = {};
  names.forEach((name, i) => {
    addon[name] = (...args) => {
      calls[name] = (calls[name] ?? 0) + 1;
      return saved[i](...args);
    };
  });
  try {
    return { result: await fn(), calls };
  } finally {
    names.forEach((name, i) => addon[name] = saved[i]);
  }
}

/** NumPy's value of a golden case, as `evaluate` returns it. */
function goldenValue(c) {
  const value = decodeGolden(c.dtype, c.values)[0];
  return c.dtype === "bool" ? value !== 0 : value;
}

/** Whether a reduction's value equals NumPy's (NaN as NaN; either zero of a min/max tie). */
function same(op, got, want) {
  return Object.is(got, want) || (Number.isNaN(got) && Number.isNaN(want)) ||
    ((op === "min" || op === "max") && got === 0 && want === 0);
}

/** The goldens' generated inputs (`scripts/gen_reduce_goldens.py`), in float64 then cast. */
const GENERATED = {
  ramp: (i) => ((i * 7919) % 1009) / 1009 - 0.37,
  near_one: (i) => 1 + (((i * 7919) % 1009) / 1009 - 0.5) / 64,
};
const ARRAYS = { float32: Float32Array, float64: Float64Array };

test("fused whole reductions of expressions give NumPy's goldens, through runReduce", async () => {
  const { cases } = JSON.parse(
    readFileSync(new URL("../goldens/reduce.json", import.meta.url), "utf8"),
  );
  // Every whole reduction of a contiguous 1-D array of a dtype the language has.
  const chosen = cases.filter((c) =>
    c.axis === null && c.view === undefined && c.error === undefined &&
    ["bool", "int32", "int64", "float32", "float64"].includes(c.input.dtype)
  );
  assert.ok(chosen.length > 200, `${chosen.length} cases`);
  const { calls } = await counting(async () => {
    for (const c of chosen) {
      const { dtype } = c.input;
      const data = "gen" in c.input
        ? ARRAYS[dtype].from({ length: c.input.n }, (_, i) => GENERATED[c.input.gen](i))
        : decodeGolden(dtype, c.input.data);
      // An expression equal to x element by element, so the argument is computed.
      const x = dtype === "bool" ? { data, dtype } : data;
      const expression = `${c.op}(${dtype === "bool" ? "x & x" : "x * 1"})`;
      const want = goldenValue(c);
      const label = `${expression} of ${data.length} ${dtype} (${c.group})`;
      const got = evaluate(expression, { x });
      assert.ok(same(c.op, got, want), `${label}: ${got}, NumPy ${want}`);
      const gotAsync = await evaluateAsync(expression, { x });
      assert.ok(same(c.op, gotAsync, want), `async ${label}: ${gotAsync}, NumPy ${want}`);
    }
  });
  // Fused: no array of the argument is computed (run) and then reduced (reduce).
  assert.deepEqual(calls, { runReduce: chosen.length, runReduceAsync: chosen.length });
});

test("fused N-d and assigned reductions run in the addon, against JS loops", async () => {
  const rows = 300, cols = 50;
  const a = Int32Array.from({ length: rows * cols }, (_, k) => ((k * 7919) % 2003) - 1000);
  const b = Int32Array.from({ length: cols }, (_, k) => k - 25);
  let sum = 0n, max = -Infinity, nonzero = 0n;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = a[r * cols + c] * b[c];
      sum += BigInt(v);
      max = Math.max(max, v);
      if (v !== 0) nonzero++;
    }
  }
  const A = { data: a, shape: [rows, cols] }, B = { data: b, shape: [cols] };
  const s = new Int32Array(1);
  const { result, calls } = await counting(async () => [
    evaluate("sum(A * B)", { A, B }),
    await evaluateAsync("max(A * B)", { A, B }),
    evaluate("count_nonzero(A * B)", { A, B }),
    evaluate("s = max(a * 2 - 1)", { a, s }),
  ]);
  assert.deepEqual(result, [sum, max, nonzero, undefined]);
  assert.equal(s[0], Math.max(...a) * 2 - 1);
  assert.deepEqual(calls, { runReduceNd: 2, runReduceNdAsync: 1, runReduce: 1 });
});

test("the addon's runReduce checks the result array and the reduction", async () => {
  const x = Float64Array.from({ length: 20 }, (_, k) => k - 7);
  // The arguments the binding passes, to call the addon with them and others.
  const { runReduce } = addon;
  let args;
  addon.runReduce = (...a) => {
    args = a;
    return runReduce(...a);
  };
  try {
    evaluate("sum(x * x)", { x });
  } finally {
    addon.runReduce = runReduce;
  }
  const [handle, threads, op, meta, , input] = args;
  assert.equal(op, SUM);
  // After meta, the block of a run by address has a slot per array.
  assert.deepEqual([...meta.subarray(0, 3)], [20, 1, 20]);
  const out = new Float64Array(1);
  assert.equal(addon.runReduce(handle, threads, op, meta, out, input), undefined);
  assert.equal(out[0], x.reduce((s, v) => s + v * v, 0));
  await addon.runReduceAsync(handle, threads, MAX, meta, [out, input]);
  assert.equal(out[0], Math.max(...x.map((v) => v * v)));
  const bad = (fn, pattern) =>
    assert.throws(fn, (e) => e.code === "ERR_NUMFUSE_BAD_ARGUMENTS" && pattern.test(e.message));
  bad(
    () => addon.runReduce(handle, threads, COUNT_NONZERO, meta, out, input),
    /^arrays\[0\] \(result 0, Int64\) must be a BigInt64Array, got a Float64Array$/,
  );
  bad(
    () =>
      addon.runReduce(handle, threads, op, Float64Array.of(20, 2, 20), new Float64Array(2), input),
    /^the result array has 2 elements, a whole reduction writes 1$/,
  );
  bad(() => addon.runReduce(handle, threads, 9, meta, out, input), /^unknown reduction code 9$/);
  bad(
    () => addon.runReduceNd(handle, threads, op, meta, out),
    /^runReduceNd takes a handle, threads, a reduction code, meta, a geometry and the arrays, got 5 arguments$/,
  );
});
