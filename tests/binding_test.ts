/** The Deno binding: loading (a missing library is a clear error naming the build command) and async runs. */

import assert from "node:assert/strict";
import { evaluate, evaluateAsync } from "../mod.ts";

const MOD = new URL("../mod.ts", import.meta.url).href;
const API = new URL("../src/api.ts", import.meta.url).href;
const FFI = new URL("../src/ffi_deno.ts", import.meta.url).href;

/** Runs a snippet in a fresh Deno process (the binding is loaded once per process). */
async function runSnippet(code: string, env: Record<string, string>, flags: string[] = []) {
  const { code: status, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", ...flags, code],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { status, stdout: text(stdout), stderr: text(stderr) };
}

Deno.test("a missing native library is an error that names the build command and NUMFUSE_LIB", async () => {
  const { status, stdout } = await runSnippet(
    `import { evaluate } from "${MOD}";
     try { evaluate("x + 1", { x: new Float64Array(2) }); console.log("no error"); }
     catch (e) { console.log(e.constructor.name + ": " + e.message); }`,
    { NUMFUSE_LIB: "/nonexistent/libnumfuse.so" },
  );
  assert.equal(status, 0);
  assert.match(
    stdout,
    /^Error: Cannot load the numfuse native library at \/nonexistent\/libnumfuse\.so: /,
  );
  assert.match(stdout, /build it with `deno task build` or set NUMFUSE_LIB to its path\n$/);
});

Deno.test("NUMFUSE_LIB points the binding at a library", async () => {
  const lib = new URL("../rust/target/release/libnumfuse.so", import.meta.url).pathname;
  const { stdout } = await runSnippet(
    `import { evaluate } from "${MOD}";
     console.log(Array.from(evaluate("x + 1", { x: new Float64Array([1, 2]) })).join(","));`,
    { NUMFUSE_LIB: lib },
  );
  assert.equal(stdout, "2,3\n");
});

Deno.test("NUMFUSE_NUM_THREADS sets the default thread count", async () => {
  const { stdout } = await runSnippet(
    `import { getNumThreads } from "${MOD}"; console.log(getNumThreads());`,
    { NUMFUSE_NUM_THREADS: "1" },
  );
  assert.equal(stdout, "1\n");
});

Deno.test("a fresh result of at most 1 MiB that Deno zeroed runs on the calling thread unless its program is costly", async () => {
  // The threads each run is given, recorded by a binding around Deno's; the
  // expected counts are the policy's (api.ts, FRESH_SERIAL_MAX_BYTES and
  // FRESH_SPLIT_COST_PER_BYTE): 1 for a fresh result of at most 1 MiB
  // whose program costs less than 4 per byte of an element, else all.
  const snippet = (zeroedBelow: string) =>
    `import { compile, evaluate, setNumThreads, useBinding } from "${API}";
     import { openDenoBinding } from "${FFI}";
     const seen = [];
     useBinding(() => {
       const real = openDenoBinding();
       return { ...real, zeroedBelow: ${zeroedBelow},
         run: (h, t, ...rest) => (seen.push(t), real.run(h, t, ...rest)),
         runNd: (h, t, ...rest) => (seen.push(t), real.runNd(h, t, ...rest)) };
     });
     setNumThreads(2);
     const f32 = (n) => new Float32Array(n).fill(-1.5), f64 = (n) => new Float64Array(n).fill(-1.5);
     const relu = "where(p > 0, p, 0)", costly = "tanh(p) + sin(p)";
     const c = Math.tanh(-1.5) + Math.sin(-1.5);
     const cases = {
       fresh: [() => evaluate(relu, { p: f32(1 << 18) }), 0],
       out: [() => evaluate(relu, { p: f32(1 << 18) }, { out: f32(1 << 18) }), 0],
       over1MiB: [() => evaluate(relu, { p: f32((1 << 18) + 1) }), 0],
       float64: [() => evaluate(relu, { p: f64(1 << 17) }), 0],
       tanhRelu: [() => evaluate("tanh(" + relu + ")", { p: f32(1 << 18) }), 0],
       costly: [() => evaluate(costly, { p: f32(1 << 18) }), c],
       float64Costly: [() => evaluate(costly, { p: f64(1 << 17) }), c],
       call: [() => compile(relu, { p: "float32" }).call(f32(1 << 18)), 0],
       callInto: [() => compile(relu, { p: "float32" }).callInto(f32(1 << 18), f32(1 << 18)), 0],
       nd: [() => evaluate(relu, { p: { data: f32(1 << 18), shape: [512, 512] } }), 0],
     };
     const threads = {};
     for (const [name, [run, expected]] of Object.entries(cases)) {
       seen.length = 0;
       const r = run(), v = (r.data ?? r)[(1 << 17) - 1];
       if (!(Math.abs(v - expected) < 1e-6)) throw new Error(name + ": " + v + ", expected " + expected);
       threads[name] = seen.join(",");
     }
     console.log(JSON.stringify(threads));`;
  const deno = await runSnippet(snippet("Infinity"), {});
  assert.equal(deno.stderr, "");
  const serial = {
    fresh: "1",
    float64: "1",
    tanhRelu: "1",
    float64Costly: "1",
    call: "1",
    nd: "1",
  };
  const split = { out: "2", over1MiB: "2", costly: "2", callInto: "2" };
  assert.deepEqual(JSON.parse(deno.stdout), { ...serial, ...split });
  // A binding that leaves large results uninitialized (Node's, from 4096 bytes) splits them.
  const node = await runSnippet(snippet("4096"), {});
  assert.equal(node.stderr, "");
  const all = Object.fromEntries(Object.keys(serial).map((name) => [name, "2"]));
  assert.deepEqual(JSON.parse(node.stdout), { ...all, ...split });
});

Deno.test("an async run keeps its buffers' memory while they are transferred", async () => {
  // Large enough that the run is still on the other thread when the buffers
  // move; float64 `x * 3 + 1` is exact in JS too.
  const n = 1 << 22;
  const expected = (i: number) => (i % 977) * 3 + 1;
  const x = new Float64Array(n).map((_, i) => i % 977);
  const out = new Float64Array(n);
  const pending = evaluateAsync("x * 3 + 1", { x }, { out });
  // Moved whole: the memory goes with the new buffer, and the result with it.
  const moved = new Float64Array(out.buffer.transfer());
  assert.equal(await pending, out);
  assert.equal(out.length, 0, "out was detached by the transfer");
  assert.equal(moved.findIndex((v, i) => v !== expected(i)), -1);
});

Deno.test("an async run whose buffers are transferred and collected mid-run writes no freed memory", async () => {
  // The buffer of `out` goes to a clone that is dropped and collected while
  // the run is on another thread: unless the run holds the memory, it is
  // unmapped (a crash) or handed to the arrays allocated next (corrupted).
  const { status, stdout, stderr } = await runSnippet(
    `import { evaluateAsync } from "${MOD}";
     const n = 1 << 22;
     const x = new Float64Array(n).map((_, i) => i % 977);
     let corrupted = 0;
     for (let round = 0; round < 3; round++) {
       let out = new Float64Array(n);
       const pending = evaluateAsync("exp(x * 1e-3) * 3 + 1", { x }, { out });
       structuredClone(out.buffer, { transfer: [out.buffer] });
       out = null;
       gc();
       const others = Array.from({ length: 4 }, () => new Float64Array(n).fill(-1));
       await pending;
       for (const o of others) corrupted += o.filter((v) => v !== -1).length;
     }
     console.log("corrupted", corrupted);`,
    {},
    ["--v8-flags=--expose-gc"],
  );
  assert.equal(stderr, "");
  assert.equal(status, 0);
  assert.equal(stdout, "corrupted 0\n");
});

Deno.test("an async run refuses resizable buffers and more distinct buffers than it can keep", async () => {
  const resizable = new Float64Array(new ArrayBuffer(16, { maxByteLength: 64 }));
  await assert.rejects(evaluateAsync("x * 2", { x: resizable }), {
    name: "TypeError",
    message:
      "An async run cannot use an array over a resizable or growable buffer (its memory could move while another thread reads it): use the synchronous call, or an array of fixed size",
  });
  // The synchronous call takes it.
  assert.deepEqual(Array.from(evaluate("x * 2", { x: resizable }) as Float64Array), [0, 0]);
  const variables = (count: number) =>
    Object.fromEntries(
      Array.from({ length: count }, (_, i) => [`v${i}`, new Float64Array([i, 2 * i])]),
    );
  const sum = (count: number) => Array.from({ length: count }, (_, i) => `v${i}`).join(" + ");
  // 31 inputs and the result: 32 buffers. Views of one buffer count once.
  const total = 31 * 30 / 2;
  assert.deepEqual(Array.from(await evaluateAsync(sum(31), variables(31)) as Float64Array), [
    total,
    2 * total,
  ]);
  const shared = new Float64Array(64).map((_, i) => i);
  const views = Object.fromEntries(
    Array.from({ length: 32 }, (_, i) => [`v${i}`, shared.subarray(2 * i, 2 * i + 2)]),
  );
  assert.deepEqual(Array.from(await evaluateAsync(sum(32), views) as Float64Array), [
    992,
    1024,
  ]);
  await assert.rejects(evaluateAsync(sum(32), variables(32)), {
    name: "RangeError",
    message:
      "An async run keeps at most 32 distinct buffers alive, this one has 33: use the synchronous call",
  });
});
