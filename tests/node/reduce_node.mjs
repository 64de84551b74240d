/**
 * Node-only tests of reductions through the Node-API addon: `evaluate` of
 * the package and the addon's `reduce` on N-d strided views, against plain
 * JS loops. Run by `scripts/test_node.ts` from the built package
 * (`npm/tests/node/`) with `node --test`.
 */

import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";
import { evaluate, evaluateAsync } from "../../mod.js";
import { addonFileName, platformTriple } from "../../src/node_binding.js";

const require = createRequire(import.meta.url);
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
