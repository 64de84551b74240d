/**
 * Node-only tests of the Node-API addon and its binding, run by
 * `scripts/test_node.ts` from the built package (`npm/tests/node/`) with
 * `node --test --expose-gc`. The file name avoids Deno's `*_test` pattern:
 * these tests load the `.node` addon and are for Node.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { test } from "node:test";
import * as pkg from "../../mod.js";
import { compileProgram } from "../../src/compiler.js";
import { addonFileName, platformTriple } from "../../src/node_binding.js";

const require = createRequire(import.meta.url);
const addon = require(`../../${addonFileName(platformTriple())}`);

/** A program over float32 arrays `a` and `b`, its handle and a meta block for `n` elements. */
function program(expr = "a + b", dtype = "float32") {
  const compiled = compileProgram(expr, {
    a: { kind: "array", dtype },
    b: { kind: "array", dtype },
  });
  assert.equal(compiled.scalars.length, 0);
  const handle = addon.programNew(compiled.code);
  const k = compiled.outputs.length + compiled.inputs.length;
  const meta = (n) => Float64Array.from({ length: 1 + k }, () => n);
  return { compiled, handle, k, meta };
}

/** Arrays in slot order (out, then the inputs in the program's order). */
function slots(compiled, out, vars) {
  return [out, ...compiled.inputs.map((name) => vars[name])];
}

function ramp(n, f) {
  return Float32Array.from({ length: n }, (_, i) => f(i));
}

/** Asserts `fn` throws an Error with this `code` and a message matching `pattern`. */
function throwsCode(fn, code, pattern) {
  assert.throws(fn, (e) => {
    assert.ok(e instanceof Error, `expected an Error, got ${e}`);
    assert.equal(e.code, code, `code of: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test("the package exports every runtime name mod.ts exports", () => {
  const expected = JSON.parse(readFileSync(new URL("../exports.json", import.meta.url), "utf8"));
  assert.deepEqual(Object.keys(pkg).sort(), expected);
  for (const name of expected) assert.equal(typeof pkg[name], "function", name);
});

test("the addon exports the NativeBinding operations", () => {
  assert.deepEqual(Object.keys(addon).sort(), [
    "address",
    "adviseFresh",
    "numCpus",
    "programFree",
    "programNew",
    "reduce",
    "reduceAsync",
    "run",
    "runAsync",
    "runAt",
    "runNd",
    "runNdAsync",
    "runReduce",
    "runReduceAsync",
    "runReduceAt",
    "runReduceNd",
    "runReduceNdAsync",
  ]);
  assert.ok(Number.isInteger(addon.numCpus()) && addon.numCpus() >= 1);
});

test("run computes into the output array", () => {
  const { compiled, handle, meta } = program();
  const n = 10_000;
  const a = ramp(n, (i) => i), b = ramp(n, (i) => 0.5 * i), out = new Float32Array(n);
  assert.equal(addon.run(handle, 2, meta(n), slots(compiled, out, { a, b })), undefined);
  for (let i = 0; i < n; i++) assert.equal(out[i], Math.fround(a[i] + b[i]));
  addon.programFree(handle);
});

test("run takes the arrays as one Array or as the remaining arguments", async () => {
  const { compiled, handle, meta } = program("a * b");
  const n = 100, a = ramp(n, (i) => i), b = ramp(n, () => 3);
  const [x, y, z, w] = [1, 2, 3, 4].map(() => new Float32Array(n));
  const [out, ...inputs] = slots(compiled, x, { a, b });
  addon.run(handle, 1, meta(n), [out, ...inputs]);
  addon.run(handle, 1, meta(n), y, ...inputs);
  await addon.runAsync(handle, 1, meta(n), [z, ...inputs]);
  await addon.runAsync(handle, 1, meta(n), w, ...inputs);
  for (const r of [x, y, z, w]) assert.deepEqual(r, ramp(n, (i) => 3 * i));
  // A one-array program: its array alone is not mistaken for the list.
  const one = compileProgram("1.5", {});
  const h1 = addon.programNew(one.code);
  const single = new Float64Array(4);
  addon.run(h1, 1, new Float64Array([4, 4]), single);
  assert.deepEqual(single, new Float64Array(4).fill(1.5));
  addon.run(h1, 1, new Float64Array([4, 4]), [single.fill(0)]);
  assert.deepEqual(single, new Float64Array(4).fill(1.5));
  addon.programFree(h1);
  addon.programFree(handle);
});

test("run honours views (byteOffset) and meta lengths shorter than the arrays", () => {
  const { compiled, handle, meta } = program();
  const buf = new Float32Array(64).map((_, i) => i);
  const a = buf.subarray(8, 24), b = buf.subarray(32, 48), out = new Float32Array(20);
  const m = meta(16);
  m[1] = 16; // out has 20 elements; 16 are written
  addon.run(handle, 1, m, slots(compiled, out, { a, b }));
  for (let i = 0; i < 16; i++) assert.equal(out[i], 8 + i + 32 + i);
  for (let i = 16; i < 20; i++) assert.equal(out[i], 0);
  addon.programFree(handle);
});

/** A block for `runAt`: meta's slots, then the arrays' addresses; and its own address. */
function block(metaSlots, arrays) {
  const b = new Float64Array(new ArrayBuffer(8 * (metaSlots.length + arrays.length)));
  b.set(metaSlots);
  arrays.forEach((a, i) => b[metaSlots.length + i] = addon.address(a));
  return { b, at: addon.address(b) };
}

test("address gives where a TypedArray's elements are, 0 for an empty one", () => {
  const buf = new Float32Array(64);
  const at = addon.address(buf);
  assert.ok(Number.isSafeInteger(at) && at > 0, `${at}`);
  assert.equal(addon.address(buf), at);
  assert.equal(addon.address(buf.subarray(5)), at + 20);
  assert.equal(addon.address(new Int8Array(buf.buffer, 3)), at + 3);
  assert.equal(addon.address(new Float32Array(0)), 0);
  assert.equal(addon.address(buf.subarray(64)), 0);
  // A small array kept on the JS heap moves into memory of its own, and stays there.
  const small = new Float64Array(2);
  const first = addon.address(small);
  globalThis.gc();
  assert.equal(addon.address(small), first);
  throwsCode(() => addon.address([1, 2]), "ERR_NUMFUSE_BAD_ARGUMENTS", /must be a TypedArray/);
});

test("runAt and runReduceAt run arrays by address, checked as any run", () => {
  const { compiled, handle } = program();
  const n = 1000, k = 3;
  const a = ramp(n, (i) => i - 300), b = ramp(n, (i) => 0.25 * i), out = new Float32Array(n);
  const arrays = slots(compiled, out, { a, b });
  const { b: blk, at } = block(new Array(1 + k).fill(n), arrays);
  for (let round = 0; round < 3; round++) {
    out.fill(0);
    assert.equal(addon.runAt(handle, 2, at, 1 + k, k), undefined);
    for (let i = 0; i < n; i++) assert.equal(out[i], Math.fround(a[i] + b[i]));
  }
  // A shorter length in meta is checked again, not taken from the run before.
  blk[2] = n - 1;
  throwsCode(() => addon.runAt(handle, 1, at, 1 + k, k), "ERR_NUMFUSE_BAD_ARGUMENTS", /./);
  blk[2] = n;
  // The output over an input, one element apart: refused before anything is written.
  const shifted = block(new Array(1 + k).fill(n - 1), [a.subarray(1), a, b]);
  const before = a.slice();
  throwsCode(() => addon.runAt(handle, 1, shifted.at, 1 + k, k), "ERR_NUMFUSE_OVERLAP", /./);
  assert.deepEqual(a, before);
  for (const bad of [0, -8, 1.5, NaN, 2 ** 53]) {
    throwsCode(
      () => addon.runAt(handle, 1, bad, 1 + k, k),
      "ERR_NUMFUSE_BAD_ARGUMENTS",
      /whole number in \[1, 2\^53\)/,
    );
  }
  for (const count of [0, 9]) {
    throwsCode(
      () => addon.runAt(handle, 1, at, 1 + k, count),
      "ERR_NUMFUSE_BAD_ARGUMENTS",
      /1 to 8 arrays/,
    );
  }
  throwsCode(() => addon.runAt(handle, 1, at), "ERR_NUMFUSE_BAD_ARGUMENTS", /takes 5 arguments/);

  // sum(a + b) into a float32 result, whole, by address.
  const SUM = 0;
  const result = new Float32Array(1);
  const reduced = block([n, 1, n, n], [result, a, b]);
  assert.equal(addon.runReduceAt(handle, 1, SUM, reduced.at, 1 + k, k), undefined);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.fround(a[i] + b[i]);
  assert.ok(Math.abs(result[0] - sum) <= 1e-6 * Math.abs(sum) + 1e-3, `${result[0]} vs ${sum}`);
  throwsCode(
    () => addon.runReduceAt(handle, 1, 99, reduced.at, 1 + k, k),
    "ERR_NUMFUSE_BAD_ARGUMENTS",
    /unknown reduction code 99/,
  );
  addon.programFree(handle);
  throwsCode(
    () => addon.runAt(handle, 1, at, 1 + k, k),
    "ERR_NUMFUSE_BAD_HANDLE",
    /is not a live program/,
  );
});

test("the binding takes a hot loop's addresses once, and a fresh result's never", () => {
  const { address, runAt, run } = addon;
  let addresses = 0, byAddress = 0, byValue = 0;
  addon.address = (a) => (addresses++, address(a));
  addon.runAt = (...a) => (byAddress++, runAt(...a));
  addon.run = (...a) => (byValue++, run(...a));
  try {
    const k = pkg.compile("p - 0.5 * g", { p: "float32", g: "float32" });
    const p = ramp(64, (i) => i - 20), g = ramp(64, (i) => 0.25 * i), want = p.slice();
    for (let step = 0; step < 51; step++) {
      k.callInto(p, p, g);
      for (let i = 0; i < 64; i++) want[i] = Math.fround(want[i] - Math.fround(0.5 * g[i]));
    }
    assert.deepEqual(p, want);
    // The variant's block, p and g, once each; from the third call on, every call by address.
    assert.deepEqual([addresses, byAddress, byValue], [3, 49, 2]);
    addresses = byAddress = byValue = 0;
    for (let step = 0; step < 20; step++) {
      assert.deepEqual(k.call(g, g), g.map((v) => Math.fround(v - Math.fround(0.5 * v))));
    }
    assert.deepEqual([addresses, byAddress, byValue], [0, 0, 20]);
  } finally {
    Object.assign(addon, { address, runAt, run });
  }
});

test("a bad array type is a thrown error with a message", () => {
  const { compiled, handle, meta } = program();
  const n = 4, a = new Float32Array(n), out = new Float32Array(n);
  throwsCode(
    () => addon.run(handle, 1, meta(n), slots(compiled, out, { a, b: new Float64Array(n) })),
    "ERR_NUMFUSE_BAD_ARGUMENTS",
    /must be a Float32Array, got a Float64Array/,
  );
  throwsCode(
    () => addon.run(handle, 1, meta(n), slots(compiled, out, { a, b: [1, 2, 3, 4] })),
    "ERR_NUMFUSE_BAD_ARGUMENTS",
    /must be a TypedArray/,
  );
  throwsCode(
    () => addon.run(handle, 1, meta(n), slots(compiled, new Uint8Array(n), { a, b: a })),
    "ERR_NUMFUSE_BAD_ARGUMENTS",
    /arrays\[0\] \(output 0, Float32\) must be a Float32Array, got a Uint8Array/,
  );
  throwsCode(
    () => addon.runAsync(handle, 1, meta(n), slots(compiled, out, { a, b: new Int32Array(n) })),
    "ERR_NUMFUSE_BAD_ARGUMENTS",
    /must be a Float32Array, got a Int32Array/,
  );
  addon.programFree(handle);
});

test("meta and argument mistakes are thrown errors with messages", () => {
  const { compiled, handle, meta } = program();
  const n = 8, a = new Float32Array(n), out = new Float32Array(n);
  const arrays = slots(compiled, out, { a, b: a });
  const long = meta(n);
  long[2] = n + 1;
  throwsCode(
    () => addon.run(handle, 1, long, arrays),
    "ERR_NUMFUSE_BAD_ARGUMENTS",
    /has 8 elements, fewer than the 9 meta says/,
  );
  throwsCode(
    () => addon.run(handle, 1, new Float64Array(2), arrays),
    "ERR_NUMFUSE_BAD_ARGUMENTS",
    /meta must have at least 4 elements/,
  );
  throwsCode(
    () => addon.run(handle, 1, new Float32Array(4), arrays),
    "ERR_NUMFUSE_BAD_ARGUMENTS",
    /meta must be a Float64Array, got a Float32Array/,
  );
  const fractional = meta(n);
  fractional[0] = 2.5;
  throwsCode(
    () => addon.run(handle, 1, fractional, arrays),
    "ERR_NUMFUSE_BAD_ARGUMENTS",
    /meta\[0\] \(n\) must be a non-negative integer, got 2.5/,
  );
  throwsCode(
    () => addon.run(handle, 1, meta(n), arrays.slice(1)),
    "ERR_NUMFUSE_BAD_ARGUMENTS",
    /the program takes 3 arrays/,
  );
  throwsCode(
    () => addon.run(handle, 1, meta(n), out, a),
    "ERR_NUMFUSE_BAD_ARGUMENTS",
    /the program takes 3 arrays \(1 outputs, then 2 inputs\), got 2/,
  );
  throwsCode(
    () => addon.run(handle, 1),
    "ERR_NUMFUSE_BAD_ARGUMENTS",
    /run takes a handle, threads, meta and the arrays, got 2 arguments/,
  );
  throwsCode(
    () => addon.run("one", 1, meta(n), arrays),
    "ERR_NUMFUSE_BAD_ARGUMENTS",
    /handle must be a number/,
  );
  throwsCode(
    () => addon.programNew(new Float64Array(4)),
    "ERR_NUMFUSE_BAD_ARGUMENTS",
    /code must be a Uint32Array/,
  );
  addon.programFree(handle);
});

test("runNd and runNdAsync gather strided inputs and check the geometry", async () => {
  const { compiled, handle, k } = program("a - b", "float32");
  // out (2,3) := a (2,3) - b, b the row [0, 10, 20] read backwards and broadcast.
  const a = ramp(6, (i) => i), b = ramp(3, (i) => 10 * i), out = new Float32Array(6);
  const arrays = slots(compiled, out, { a, b });
  const meta = Float64Array.from([6, ...arrays.map((x) => x.length)]);
  const geom = (bStrides) => {
    const g = [2, 2, 3];
    for (const x of arrays) g.push(...(x === b ? [2, ...bStrides] : [0, 3, 1]));
    return Float64Array.from(g);
  };
  assert.equal(k, 3);
  addon.runNd(handle, 1, meta, geom([0, -1]), ...arrays);
  assert.deepEqual(out, Float32Array.from([-20, -9, 2, -17, -6, 5]));
  out.fill(0);
  await addon.runNdAsync(handle, 1, meta, geom([0, -1]), arrays);
  assert.deepEqual(out, Float32Array.from([-20, -9, 2, -17, -6, 5]));
  throwsCode(
    () => addon.runNd(handle, 1, meta, geom([0, 1]), ...arrays),
    "ERR_NUMFUSE_BAD_ARGUMENTS",
    /input slot \d: the geometry reaches elements outside its 3 elements/,
  );
  throwsCode(
    () => addon.runNd(handle, 1, meta, new Float32Array(12), ...arrays),
    "ERR_NUMFUSE_BAD_ARGUMENTS",
    /runNd's geometry must be a Float64Array, got a Float32Array/,
  );
  throwsCode(
    () => addon.runNd(handle, 1, meta),
    "ERR_NUMFUSE_BAD_ARGUMENTS",
    /runNd takes a handle, threads, meta, a geometry and the arrays, got 3 arguments/,
  );
  await assert.rejects(
    async () => await addon.runNdAsync(handle, 1, meta, geom([0, -1]).subarray(0, 5), arrays),
    (e) =>
      e.code === "ERR_NUMFUSE_BAD_ARGUMENTS" &&
      /geometry has 5 slots; ndim 2 and 3 arrays need 12/.test(e.message),
  );
  addon.programFree(handle);
});

test("the VM's own errors keep their code", () => {
  throwsCode(
    () => addon.programNew(new Uint32Array([0xdeadbeef, 1, 2, 3])),
    "ERR_NUMFUSE_BAD_PROGRAM",
    /./,
  );
  const { compiled, handle, meta } = program("a ** b", "int32");
  const a = new Int32Array([2, 2]), b = new Int32Array([1, -1]), out = new Int32Array(2);
  throwsCode(
    () => addon.run(handle, 1, meta(2), slots(compiled, out, { a, b })),
    "ERR_NUMFUSE_DOMAIN",
    /negative integer powers/,
  );
  addon.programFree(handle);
});

test("double free and use after free are errors", () => {
  const { compiled, handle, meta } = program();
  addon.programFree(handle);
  throwsCode(
    () => addon.programFree(handle),
    "ERR_NUMFUSE_BAD_HANDLE",
    new RegExp(`handle ${handle} is not a live program`),
  );
  const a = new Float32Array(2);
  throwsCode(
    () => addon.run(handle, 1, meta(2), slots(compiled, new Float32Array(2), { a, b: a })),
    "ERR_NUMFUSE_BAD_HANDLE",
    /already freed/,
  );
  throwsCode(
    () => addon.programFree(0),
    "ERR_NUMFUSE_BAD_HANDLE",
    /handle 0 is not a live program/,
  );
});

test("the binding turns VM errors into the same JS errors as Deno's", async () => {
  const x = new Int32Array([2, 3]), y = new Int32Array([1, -2]);
  assert.throws(() => pkg.evaluate("x ** y", { x, y }), RangeError);
  await assert.rejects(pkg.evaluateAsync("x ** y", { x, y }), RangeError);
});

test("runAsync resolves with correct results, copying meta at the call", async () => {
  const { compiled, handle, meta } = program("tanh(a) * b + sqrt(abs(a))");
  const n = 1 << 20;
  const a = ramp(n, (i) => Math.sin(i)), b = ramp(n, (i) => i % 7);
  const want = new Float32Array(n), got = new Float32Array(n);
  addon.run(handle, 2, meta(n), slots(compiled, want, { a, b }));
  const m = meta(n);
  const promise = addon.runAsync(handle, 2, m, slots(compiled, got, { a, b }));
  m.fill(-1); // the addon copied meta
  assert.ok(promise instanceof Promise);
  assert.equal(await promise, undefined);
  assert.deepEqual(got, want);
  addon.programFree(handle);
});

test("runAsync keeps its arrays alive until it settles", async (t) => {
  if (typeof globalThis.gc !== "function") {
    t.skip("needs node --expose-gc");
    return;
  }
  const expr = "exp(-abs(a)) * tanh(b) + sqrt(abs(b))";
  const { compiled, handle, meta } = program(expr);
  const n = 1 << 22;
  let collected = 0;
  let settled = false;
  let collectedBeforeSettle = 0;
  const registry = new FinalizationRegistry(() => {
    collected++;
    if (!settled) collectedBeforeSettle++;
  });
  const out = new Float32Array(n);
  const start = () => {
    // The inputs and the argument list are reachable only from the addon.
    const a = ramp(n, (i) => (i % 1000) / 100 - 5), b = ramp(n, (i) => (i % 777) / 50 - 7);
    registry.register(a, "a");
    registry.register(b, "b");
    return addon.runAsync(handle, 2, meta(n), slots(compiled, out, { a, b }));
  };
  const promise = start().then(() => {
    settled = true;
  });
  let spins = 0;
  while (!settled) {
    globalThis.gc();
    spins++;
    await new Promise((resolve) => setImmediate(resolve));
  }
  await promise;
  assert.equal(collectedBeforeSettle, 0, "an input was collected while the run used it");
  assert.ok(spins >= 1);
  // The result is right: recompute from the same formulas.
  const a = ramp(n, (i) => (i % 1000) / 100 - 5), b = ramp(n, (i) => (i % 777) / 50 - 7);
  const want = new Float32Array(n);
  addon.run(handle, 2, meta(n), slots(compiled, want, { a, b }));
  assert.deepEqual(out, want);
  // Once settled, the addon no longer holds them.
  for (let i = 0; i < 20 && collected < 2; i++) {
    globalThis.gc();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.equal(collected, 2, "the inputs were never released");
  addon.programFree(handle);
});

test("many concurrent async runs all settle with the right results", async () => {
  const n = 50_000;
  const x = ramp(n, (i) => i / n);
  const runs = Array.from({ length: 32 }, (_, j) => pkg.evaluateAsync("x * k + 1", { x, k: j }));
  const results = await Promise.all(runs);
  results.forEach((r, j) => {
    assert.equal(r.length, n);
    for (let i = 0; i < n; i += 997) assert.equal(r[i], Math.fround(Math.fround(x[i] * j) + 1));
  });
});

test("a program freed during an async run finishes that run", async () => {
  const { compiled, handle, meta } = program();
  const n = 1 << 20, a = ramp(n, (i) => i), out = new Float32Array(n);
  const promise = addon.runAsync(handle, 2, meta(n), slots(compiled, out, { a, b: a }));
  addon.programFree(handle);
  await promise;
  assert.equal(out[n - 1], Math.fround(2 * (n - 1)));
});

test("the loader honours NUMFUSE_NODE_ADDON and falls back to the packaged addon", async () => {
  const { spawnSync } = await import("node:child_process");
  const script = `import("${new URL("../../mod.js", import.meta.url).href}")` +
    `.then((m) => m.getNumThreads()).then(() => console.log("ok"), (e) => console.log(e.message))`;
  const run = (value) =>
    spawnSync(process.execPath, ["--input-type=module", "-e", script], {
      env: { ...process.env, NUMFUSE_NODE_ADDON: value },
      encoding: "utf8",
    }).stdout.trim();
  // A bad override falls through to the addon next to the package.
  assert.equal(run("/nonexistent/numfuse.node"), "ok");
  const local = new URL(`../../${addonFileName(platformTriple())}`, import.meta.url).pathname;
  assert.equal(run(local), "ok");
});

test("fresh results of 4 KB and up are not zeroed first, yet every element is written, in a buffer of their own", () => {
  // Many results of the same sizes, dropped as they come: malloc hands the
  // same memory back, so an element the run skipped would show a stale value.
  for (const n of [1024, 1025, 5000, 1 << 16]) {
    const x = Float64Array.from({ length: n }, (_, i) => i - n / 2);
    const i32 = Int32Array.from(x);
    for (let round = 0; round < 20; round++) {
      const y = pkg.evaluate(`x * ${round}`, { x });
      assert.equal(y.byteOffset, 0);
      assert.equal(y.buffer.byteLength, 8 * n);
      for (let i = 0; i < n; i++) {
        if (y[i] !== x[i] * round) assert.fail(`n=${n}: y[${i}] = ${y[i]}`);
      }
      const b = pkg.evaluate(`i > ${round}`, { i: i32 });
      for (let i = 0; i < n; i++) {
        if (b[i] !== +(i32[i] > round)) assert.fail(`n=${n}: b[${i}] = ${b[i]}`);
      }
      const nd = pkg.evaluate("x + c", { x: { data: x, shape: [1, n] }, c: round });
      assert.deepEqual(nd.shape, [1, n]);
      for (let i = 0; i < n; i++) if (nd.data[i] !== x[i] + round) assert.fail(`n=${n}: nd[${i}]`);
    }
  }
});
