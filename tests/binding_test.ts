/** The Deno binding: loading (a missing library is a clear error naming the build command) and async runs. */

import assert from "node:assert/strict";
import { evaluate, evaluateAsync } from "../mod.ts";

const MOD = new URL("../mod.ts", import.meta.url).href;

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
