/**
 * A compiled kernel's positional calls (`call`, `callInto`), checked against
 * plain JS loops: results, arrays assigned in place, scalars, aliasing and
 * overlaps, rebinding, and the errors, which name the parameter as
 * `evaluate`'s do. Runs under Deno and, compiled, under `node --test`.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { rng, throwsExactly } from "./reference.ts";
import { compile, evaluate, getNumThreads, setNumThreads } from "../mod.ts";

const f = Math.fround;

function random32(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => (r() - 0.5) * 4);
}

/** Lengths around the block size (4096) and one large enough for the threaded path. */
const LENGTHS = [0, 1, 64, 1728, 4097, 300_000];

test("call returns a new array as the JS loop computes it; callInto writes into out", () => {
  const sgd = compile("p - lr * g", { p: "float32", g: "float32", lr: "float32" });
  assert.deepEqual(sgd.params, ["p", "g", "lr"]);
  for (const n of LENGTHS) {
    const p = random32(n, 1), g = random32(n, 2);
    const want = p.map((pi, i) => f(pi - f(f(0.01) * g[i])));
    const fresh = sgd.call(p, g, 0.01);
    assert.ok(fresh instanceof Float32Array);
    assert.deepEqual(fresh, want);
    const out = new Float32Array(n);
    assert.equal(sgd.callInto(out, p, g, 0.01), out);
    assert.deepEqual(out, want);
    // out may be an input exactly: p is updated in place
    assert.equal(sgd.callInto(p, p, g, 0.01), p);
    assert.deepEqual(p, want);
  }
});

test("a program's assigned arrays are written in place; call returns undefined", () => {
  const adam = compile(
    `
    m = m + (1 - b1) * (g - m)
    v = v + (1 - b2) * (g * g - v)
    p = p - lr * m / (sqrt(v) + eps)
  `,
    {
      p: "float32",
      g: "float32",
      m: "float32",
      v: "float32",
      b1: "float32",
      b2: "float32",
      lr: "float32",
      eps: "float32",
    },
  );
  for (const n of [0, 7, 1728, 300_000]) {
    const p = random32(n, 3), g = random32(n, 4), m = random32(n, 5);
    const v = random32(n, 6).map(Math.abs);
    const [p2, m2, v2] = [p.slice(), m.slice(), v.slice()];
    const [b1, b2, lr, eps] = [f(1 - f(0.9)), f(1 - f(0.999)), f(1e-3), f(1e-8)];
    for (let i = 0; i < n; i++) {
      m2[i] = f(m2[i] + f(b1 * f(g[i] - m2[i])));
      v2[i] = f(v2[i] + f(b2 * f(f(g[i] * g[i]) - v2[i])));
      p2[i] = f(p2[i] - f(f(lr * m2[i]) / f(f(Math.sqrt(v2[i])) + eps)));
    }
    assert.equal(adam.call(p, g, m, v, 0.9, 0.999, 1e-3, 1e-8), undefined);
    for (const [got, want] of [[m, m2], [v, v2], [p, p2]]) {
      for (let i = 0; i < n; i++) {
        assert.ok(Math.abs(got[i] - want[i]) <= 1e-6 * Math.max(1, Math.abs(want[i])), `${i}`);
      }
    }
  }
});

test("a temporary in a program is not a parameter", () => {
  const k = compile("t = x * 2; t + y", { x: "float64", y: "float64" });
  const x = new Float64Array([1, 2, 3]), y = new Float64Array([10, 20, 30]);
  assert.deepEqual(k.call(x, y), new Float64Array([12, 24, 36]));
});

test("scalars of each dtype, bool masks as Uint8Array, and arrays or scalars per call", () => {
  const k = compile("where(mask, a * s, b + t)", {
    mask: "bool",
    a: "int64",
    s: "int64",
    b: "int32",
    t: "int32",
  });
  const mask = new Uint8Array([1, 0, 1, 0]);
  const a = new BigInt64Array([1n, 2n, 3n, -4n]);
  const b = new Int32Array([5, 6, 7, 8]);
  assert.deepEqual(k.call(mask, a, 3n, b, 2), new BigInt64Array([3n, 8n, 9n, 10n]));
  // the same parameters as scalars, then as arrays again (the kernel rebinds)
  assert.deepEqual(k.call(true, a, 2, 1, 1), new BigInt64Array([2n, 4n, 6n, -8n]));
  assert.deepEqual(k.call(mask, a, -1n, b, b), new BigInt64Array([-1n, 12n, -3n, 16n]));
  assert.deepEqual(k.call(mask, a, 3n, b, 2), new BigInt64Array([3n, 8n, 9n, 10n]));
  const cmp = compile("x > y", { x: "float64", y: "float64" });
  const bools = cmp.call(new Float64Array([1, 2]), 1.5);
  assert.ok(bools instanceof Uint8Array);
  assert.deepEqual(bools, new Uint8Array([0, 1]));
  const into = new Uint8Array(2);
  cmp.callInto(into, new Float64Array([3, 0]), 1.5);
  assert.deepEqual(into, new Uint8Array([1, 0]));
});

test("callInto casts into another dtype as evaluate does (same_kind)", () => {
  const k = compile("x / 4", { x: "float32" });
  const x = new Float32Array([1, 2, 3]);
  const wide = new Float64Array(3);
  k.callInto(wide, x);
  assert.deepEqual(wide, new Float64Array([0.25, 0.5, 0.75]));
  const same = new Float32Array(3);
  k.callInto(same, x);
  assert.deepEqual(same, new Float32Array([0.25, 0.5, 0.75]));
  throwsExactly(
    () => k.callInto(new Int32Array(3), x),
    TypeError,
    'Cannot write a float32 result into a int32 out with casting "same_kind"',
  );
});

test("an input overlapping out other than exactly is read as it was before the call", () => {
  const k = compile("x + 1", { x: "float64" });
  const buffer = new Float64Array([1, 2, 3, 4, 5]);
  const x = buffer.subarray(0, 4), out = buffer.subarray(1, 5);
  k.callInto(out, x);
  assert.deepEqual(buffer, new Float64Array([1, 2, 3, 4, 5]));
  const program = compile("a = x * 2; b = x + 1", { a: "float64", b: "float64", x: "float64" });
  const shared = new Float64Array(4);
  throwsExactly(
    () => program.call(shared.subarray(0, 2), shared.subarray(1, 3), new Float64Array(2)),
    RangeError,
    "Cannot write both variable 'a' and variable 'b': they share memory",
  );
});

test("positional errors name the parameter, as evaluate's name the variable", () => {
  const k = compile("p - lr * g", { p: "float32", g: "float32", lr: "int32" });
  const p = new Float32Array(4), g = new Float32Array(4);
  k.call(p, g, 1); // bind, so the errors below also come from a bound kernel
  const call = k.call as (...args: unknown[]) => unknown;
  throwsExactly(() => call(p, g), TypeError, "Kernel takes 3 arguments (p, g, lr): got 2");
  throwsExactly(
    () => call(p, new Float64Array(4), 1),
    TypeError,
    "Variable 'g' is declared float32 but is a float64 array",
  );
  throwsExactly(
    () => call(p, "g", 1),
    TypeError,
    "Variable 'g' must be a typed array, a number, a bigint or a boolean: got string",
  );
  throwsExactly(
    () => call(p, new Float32Array(5), 1),
    RangeError,
    "Arrays must have the same length: 'p' has 4 elements, 'g' has 5",
  );
  throwsExactly(
    () => call(p, g, 0.5),
    RangeError,
    "Variable 'lr' is 0.5, not an integer as its dtype int32 needs",
  );
  throwsExactly(
    () => k.callInto(new Float32Array(3), p, g, 1),
    RangeError,
    "Option 'out' has 3 elements, the result has 4",
  );
  const into = k.callInto as (...args: unknown[]) => unknown;
  throwsExactly(
    () => into(undefined, p, g, 1),
    TypeError,
    "Argument 'out' of callInto must be a typed array: got undefined",
  );
  const detached = new Float32Array(4);
  structuredClone(detached.buffer, { transfer: [detached.buffer] });
  // Node 20 has no ArrayBuffer.prototype.detached: there, a detached array is just empty
  assert.throws(
    () => k.call(p, detached, 1),
    /^(TypeError: Variable 'g' is a detached array|RangeError: Arrays must have the same length: 'p' has 4 elements, 'g' has 0$)/,
  );
  const program = compile("y = x + 1", { x: "float64", y: "float64" });
  const [x1, y1] = [new Float64Array([1]), new Float64Array(1)];
  assert.equal(program.call(x1, y1), undefined);
  assert.deepEqual(y1, new Float64Array([2]));
  throwsExactly(
    () => program.callInto(new Float64Array(1), new Float64Array(1), new Float64Array(1)),
    TypeError,
    "Kernel.callInto is not allowed: the program ends with an assignment, so it has no result; use call",
  );
  // a failed call leaves the kernel working (float32 and an int32 scalar promote to float64)
  assert.deepEqual(k.call(new Float32Array([3]), new Float32Array([1]), 2), new Float64Array([1]));
});

test("arrays are taken for what they are, whatever their own properties or prototype say", () => {
  const k = compile("p - g", { p: "float64", g: "float64" });
  const p = new Float64Array(4), g = new Float64Array([1, 2, 3, 4]);
  k.callInto(p, p, g); // bind, so the calls below take the positional path first
  // An own `length` cannot make the VM read past the end of an array.
  const lying = new Float64Array(4);
  Object.defineProperty(lying, "length", { value: 1 << 20 });
  const big = new Float64Array(1 << 20);
  assert.throws(() => k.callInto(big, big, lying), RangeError);
  assert.throws(() => k.call(lying, big), RangeError);
  assert.throws(() => evaluate("p - g", { p: big, g: lying }), RangeError);
  // A Float32Array given Float64Array's prototype is still a float32 array.
  const disguised = new Float32Array([1, 2, 3, 4]);
  Object.setPrototypeOf(disguised, Float64Array.prototype);
  const call = k.call as (...args: unknown[]) => unknown;
  throwsExactly(
    () => call(disguised, g),
    TypeError,
    "Variable 'p' is declared float64 but is a float32 array",
  );
  const doubled = evaluate("x * 2", { x: disguised });
  assert.ok(doubled instanceof Float32Array);
  assert.deepEqual(doubled, new Float32Array([2, 4, 6, 8]));
});

test("arrays reused call after call: results, and clear errors once detached or resized", () => {
  const sgd = compile("p - g", { p: "float32", g: "float32" });
  const n = 64;
  const buffers: Record<string, () => ArrayBufferLike> = {
    plain: () => new ArrayBuffer(4 * n),
    shared: () => new SharedArrayBuffer(4 * n),
    resizable: () => new ArrayBuffer(4 * n, { maxByteLength: 8 * n }),
  };
  for (const [kind, make] of Object.entries(buffers)) {
    const p = new Float32Array(make()), g = new Float32Array(make());
    p.set(random32(n, 3));
    g.set(random32(n, 4));
    const want = Array.from(p);
    // Past the second call the Deno binding passes these arrays by address.
    for (let step = 0; step < 5; step++) {
      for (let i = 0; i < n; i++) want[i] = f(want[i] - g[i]);
      assert.equal(sgd.callInto(p, p, g), p);
      assert.deepEqual(Array.from(p), want, kind);
    }
    // An own `length` changes nothing the VM is told.
    Object.defineProperty(g, "length", { value: 1 << 20 });
    for (let i = 0; i < n; i++) want[i] = f(want[i] - g[i]);
    sgd.callInto(p, p, g);
    assert.deepEqual(Array.from(p), want, kind);
  }
  // Detached after being used: an error, never a read or write of memory it no longer has.
  const p = random32(n, 5), g = random32(n, 6);
  for (let step = 0; step < 3; step++) sgd.callInto(p, p, g);
  structuredClone(g.buffer, { transfer: [g.buffer as ArrayBuffer] });
  // Node 20 has no ArrayBuffer.prototype.detached: there, a detached array is just empty
  assert.throws(
    () => sgd.callInto(p, p, g),
    /^(TypeError: Variable 'g' is a detached array|RangeError: Arrays must have the same length: 'p' has 64 elements, 'g' has 0$)/,
  );
  const q = random32(n, 7), before = Array.from(q);
  structuredClone(p.buffer, { transfer: [p.buffer as ArrayBuffer] });
  assert.throws(
    () => sgd.callInto(p, q, q),
    /^(TypeError: Option 'out' is a detached array|RangeError: .*'out' has 0 elements)/,
  );
  assert.deepEqual(Array.from(q), before);
  // A length-tracking view whose buffer shrinks after being used.
  const rab = new ArrayBuffer(4 * n, { maxByteLength: 4 * n });
  const r = new Float32Array(rab), s = random32(n, 8);
  for (let step = 0; step < 3; step++) sgd.callInto(r, r, s);
  rab.resize(4 * (n - 1));
  throwsExactly(
    () => sgd.callInto(r, r, s),
    RangeError,
    "Arrays must have the same length: 'p' has 63 elements, 'g' has 64",
  );
});

test("whole reductions called again and again: values as the JS loop's, and clear errors", () => {
  const dot = compile("sum(x * y)", { x: "float32", y: "float32" });
  const count = compile("sum(where(x > t, 1, 0))", { x: "int32", t: "int32" });
  const positive = compile("any(x > 0)", { x: "float64" });
  const n = 300;
  // Whole numbers times 0.5: every partial sum is exact in float32.
  const x = Float32Array.from({ length: n }, (_, i) => (i % 17) - 8);
  const y = new Float32Array(n).fill(0.5);
  const ints = Int32Array.from({ length: n }, (_, i) => (i * 7919) % 1000);
  const signs = new Float64Array(n).fill(-1);
  // Past the second call the Deno binding passes these arrays by address.
  for (let step = 0; step < 6; step++) {
    x[step] += 3;
    let want = 0;
    for (let i = 0; i < n; i++) want += x[i] * y[i];
    assert.equal(dot.call(x, y), want);
    const t = 100 * step;
    assert.equal(count.call(ints, t), BigInt(ints.filter((v) => v > t).length));
    signs[n - 1] = step % 2 === 0 ? -1 : 2;
    assert.equal(positive.call(signs), step % 2 === 1);
  }
  // A scalar that does not fit its dtype, after the arrays went by address.
  throwsExactly(
    () => count.call(ints, 2 ** 40),
    RangeError,
    "Variable 't' is 1099511627776, out of bounds for int32",
  );
  // Detached after being used: an error, never a read of memory it no longer has.
  structuredClone(y.buffer, { transfer: [y.buffer as ArrayBuffer] });
  assert.throws(
    () => dot.call(x, y),
    /^(TypeError: Variable 'y' is a detached array|RangeError: Arrays must have the same length: 'x' has 300 elements, 'y' has 0$)/,
  );
});

test("an array missing after runs by address is an error, never another argument's array", () => {
  const double = compile("y = x * 2", { x: "float32", y: "float32" });
  assert.deepEqual(double.params, ["x", "y"]);
  const x = random32(64, 12), y = new Float32Array(64);
  for (let step = 0; step < 4; step++) double.call(x, y);
  assert.deepEqual(y, x.map((v) => f(2 * v)));
  const before = y.slice();
  const missing = undefined as unknown as Float32Array;
  assert.throws(() => double.call(missing, y), TypeError);
  assert.throws(() => double.call(x.fill(1), missing), TypeError);
  assert.deepEqual(y, before);
});

test("evaluate's arrays go by address once met, checked as every call", () => {
  const p = random32(64, 20), g = random32(64, 21), want = p.slice();
  for (let step = 0; step < 5; step++) {
    for (let i = 0; i < 64; i++) want[i] = f(want[i] - f(f(0.5) * g[i]));
    evaluate("p - 0.5 * g", { p, g }, { out: p });
    assert.deepEqual(p, want);
  }
  // Output one element past its input: the VM refuses it by address (a
  // block would read what it wrote), and the call copies the input first.
  const buf = random32(65, 22), x = buf.subarray(0, 64), o = buf.subarray(1);
  for (let step = 0; step < 4; step++) {
    const expect = x.map((v) => f(v * 2));
    evaluate("x * 2", { x }, { out: o });
    assert.deepEqual(o, expect);
  }
  // A whole reduction: the same bits by value (first) and by address (after).
  const dot = () => evaluate("sum(p * g)", { p, g }) as number;
  const first = dot();
  let exact = 0;
  for (let i = 0; i < 64; i++) exact += p[i] * g[i];
  assert.ok(Math.abs(first - exact) <= 1e-5 * Math.abs(exact) + 1e-6, `${first} vs ${exact}`);
  for (let step = 0; step < 4; step++) assert.equal(dot(), first);
  // Detached after runs by address: an error, never a read of freed memory
  // (Node 20 cannot tell a detached array from an empty one).
  structuredClone(g.buffer, { transfer: [g.buffer as ArrayBuffer] });
  const gone = /Variable 'g' is a detached array|'p' has 64 elements, 'g' has 0$/;
  assert.throws(() => evaluate("p - 0.5 * g", { p, g }, { out: p }), gone);
  assert.throws(dot, gone);
});

test(
  "a hot loop's arrays are looked up once; a new array every call never is",
  { skip: !("Deno" in globalThis) && "spies on Deno.UnsafePointer.of (Node: addon_node.mjs)" },
  () => {
    const pointer = Deno.UnsafePointer, of = pointer.of;
    let taken = 0;
    pointer.of = (value) => (taken++, of(value));
    try {
      const k = compile("x * 2", { x: "float32" });
      const x = random32(100, 9), out = new Float32Array(100);
      k.callInto(out, x);
      const first = taken;
      for (let i = 0; i < 50; i++) k.callInto(out, x);
      // out and x, each once, at the second call that meets them
      assert.equal(taken - first, 2);
      assert.deepEqual(out, x.map((v) => 2 * v));
      for (let i = 0; i < 50; i++) {
        const a = random32(100, 10 + i), b = a.slice();
        assert.deepEqual(k.callInto(new Float32Array(100), a), a.map((v) => 2 * v));
        assert.deepEqual(k.call(b), b.map((v) => 2 * v));
      }
      assert.equal(taken - first, 2);
      // A whole reduction's arrays too (and its result scratch, once per dtype).
      const dot = compile("sum(x * y)", { x: "float32", y: "float32" });
      const y = random32(100, 11);
      const before = taken;
      const want = dot.call(x, y);
      for (let i = 0; i < 50; i++) assert.equal(dot.call(x, y), want);
      // y once (x is known already), and the float32 result scratch unless an earlier test took it.
      assert.ok(taken - before === 1 || taken - before === 2, `${taken - before}`);
      const other = compile("sum(x - y)", { x: "float32", y: "float32" });
      other.call(x, y);
      other.call(x, y);
      const then = taken;
      for (let i = 0; i < 50; i++) other.call(x, y);
      // x, y and the scratch are known already.
      assert.equal(taken - then, 0);
      // A whole reduction of N-d views through evaluate: arrays by value, never an address.
      const view = { data: x, shape: [10, 10], strides: [1, 10] };
      const sumNd = () => evaluate("sum(x * y)", { x: view, y: { data: y, shape: [10, 10] } });
      const nd = sumNd();
      const later = taken;
      for (let i = 0; i < 20; i++) assert.equal(sumNd(), nd);
      assert.equal(taken - later, 0);
    } finally {
      pointer.of = of;
    }
  },
);

test("a kernel keeps working when the cache evicts its compiled variant", () => {
  const k = compile("x * y + 1", { x: "float64", y: "float64" });
  const x = new Float64Array([1, 2]), y = new Float64Array([3, 4]);
  assert.deepEqual(k.call(x, y), new Float64Array([4, 9]));
  // more than the 16 variants an expression keeps, all of the same expression
  const arrays = [
    new Float64Array(2),
    new Float32Array(2),
    new Int32Array(2),
    new BigInt64Array(2),
  ];
  for (const a of arrays) {
    for (const b of arrays) {
      for (const c of [1, 1.5]) evaluate("x * y + 1", { x: a, y: b === a ? c : b });
      evaluate("x * y + 1", { x: a, y: b });
    }
  }
  assert.deepEqual(k.call(x, y), new Float64Array([4, 9]));
  assert.deepEqual(k.call(x, 2), new Float64Array([3, 5]));
});

test("positional calls follow the thread count", () => {
  const k = compile("sqrt(x)", { x: "float64" });
  const n = 1 << 19;
  const x = Float64Array.from({ length: n }, (_, i) => i);
  const before = getNumThreads();
  try {
    for (const threads of [1, 2]) {
      setNumThreads(threads);
      const y = k.call(x) as Float64Array;
      for (let i = 0; i < n; i += 997) assert.equal(y[i], Math.sqrt(i));
    }
  } finally {
    setNumThreads(before);
  }
});

test("reductions and N-d views through positional calls", () => {
  const a = Float64Array.from([1, 2, 3, 4, 5, 6]);
  const total = compile("sum(x, axis=0)", { x: "float64" });
  assert.equal(total.call(a), 21);
  // A by-name call with x as a (2,3) view in between must not leave its view to the kernel.
  assert.deepEqual(evaluate("sum(x, axis=0)", { x: { data: a, shape: [2, 3] } }), {
    data: Float64Array.from([5, 7, 9]),
    shape: [3],
  });
  assert.equal(total.call(a), 21);
  throwsExactly(
    () => total.callInto(new Float64Array(1), a),
    TypeError,
    "Option 'out' is not allowed with a reduction: assign it to an array passed in instead, as in s = sum(x, axis=0)",
  );
  const mean = compile("mean(x * y)", { x: "float64", y: "float64" });
  assert.equal(mean.call(a, 2), 7);
  const twice = compile("x * 2", { x: "float64" });
  const view = { data: a, shape: [3, 2], strides: [1, 3] };
  assert.deepEqual((twice.call as (...args: unknown[]) => unknown)(view), {
    data: Float64Array.from([2, 8, 4, 10, 6, 12]),
    shape: [3, 2],
  });
  assert.deepEqual(twice.call(a), Float64Array.from([2, 4, 6, 8, 10, 12]));
});
