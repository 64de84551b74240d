/**
 * Concurrency: workers evaluate different and identical programs at once,
 * sync and async interleaved, on their own arrays and on SharedArrayBuffers
 * (each its own output region), while the main thread changes the thread
 * count: every result equals the serial run's, in bounded time.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { evaluate, evaluateAsync, getNumThreads, setNumThreads } from "../mod.ts";
import type { NumericArray } from "../src/dtype.ts";
import { list } from "./reference.ts";

const EXPRESSIONS = [
  "tanh(where(x > 0, x, 0)) + y",
  "x * y - sqrt(abs(x)) / (y + 2)",
  "tanh(where(x > 0, x, 0)) + y",
  "exp(-x * x) * cos(y)",
];
const N = 70_000; // above the VM's threading threshold, with a block remainder
const WORKERS = EXPRESSIONS.length;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

test("workers evaluating at once match a serial run, while the thread count changes", async () => {
  const x = new Float64Array(new SharedArrayBuffer(8 * N)).map((_, i) => Math.sin(i) * 4);
  const y = new Float64Array(new SharedArrayBuffer(8 * N)).map((_, i) => Math.cos(i * 0.7));
  const out = new Float64Array(new SharedArrayBuffer(8 * N * WORKERS));
  const serial = EXPRESSIONS.map((expr) => list(evaluate(expr, { x, y }) as NumericArray));

  const before = getNumThreads();
  const workers = EXPRESSIONS.map(() =>
    new Worker(new URL("./concurrency_worker.ts", import.meta.url), { type: "module" })
  );
  try {
    const replies = workers.map((w, k) =>
      new Promise<{ ok: boolean; own?: Float64Array; error?: string }>((resolve, reject) => {
        w.onmessage = (e) => resolve(e.data);
        w.onerror = (e) => {
          e.preventDefault();
          reject(new Error(`worker ${k}: ${e.message}`));
        };
        w.postMessage({
          expr: EXPRESSIONS[k],
          x,
          y,
          out: out.subarray(k * N, (k + 1) * N),
          reps: 12,
          threads: 1 + (k % 2),
        });
      })
    );
    // Meanwhile the main thread runs too, changing its thread count between calls.
    const mine: Promise<unknown>[] = [];
    for (let r = 0; r < 20; r++) {
      setNumThreads(1 + (r % 2));
      const expr = EXPRESSIONS[r % WORKERS];
      mine.push(
        evaluateAsync(expr, { x, y }).then((v) =>
          assert.deepEqual(list(v as NumericArray), serial[r % WORKERS])
        ),
      );
      assert.deepEqual(list(evaluate(expr, { x, y }) as NumericArray), serial[r % WORKERS]);
    }
    const results = await withTimeout(Promise.all(replies), 60_000, "the workers");
    await withTimeout(Promise.all(mine), 60_000, "the main thread's async runs");
    results.forEach((res, k) => {
      assert.ok(res.ok, res.error);
      assert.deepEqual(list(res.own!), serial[k], `worker ${k}'s own arrays`);
      assert.deepEqual(list(out.subarray(k * N, (k + 1) * N)), serial[k], `worker ${k}'s region`);
    });
  } finally {
    for (const w of workers) w.terminate();
    setNumThreads(before);
  }
});
