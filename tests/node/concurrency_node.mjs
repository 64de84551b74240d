/**
 * Concurrency under Node, as `tests/concurrency_test.ts` under Deno: worker
 * threads evaluate different and identical programs at once, sync and async
 * interleaved, on their own arrays and on SharedArrayBuffers (each its own
 * output region), changing their thread counts while async runs are in
 * flight, as the main thread does too: every result equals the serial run's,
 * bit for bit, in bounded time. Run by `scripts/test_node.ts` from the built
 * package (`npm/tests/node/`); the worker is `concurrency_worker.mjs`.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { Worker } from "node:worker_threads";
import { evaluate, evaluateAsync, getNumThreads, setNumThreads } from "../../mod.js";

const EXPRESSIONS = [
  "tanh(where(x > 0, x, 0)) + y",
  "x * y - sqrt(abs(x)) / (y + 2)",
  "tanh(where(x > 0, x, 0)) + y",
  "exp(-x * x) * cos(y)",
];
const N = 70_000; // above the VM's threading threshold, with a block remainder
const WORKERS = EXPRESSIONS.length;
const LIMIT_MS = 60_000;

/** The bytes of a typed array, for a bitwise comparison. */
function bytes(a) {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

function assertSame(actual, expected, what) {
  assert.ok(actual instanceof Float64Array, `${what}: not a Float64Array`);
  assert.ok(bytes(actual).equals(bytes(expected)), `${what}: differs from the serial run`);
}

function withTimeout(p, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took more than ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** The worker's reply, or a rejection if it fails, exits early or errs. */
function reply(worker, k) {
  return new Promise((resolve, reject) => {
    worker.once("message", resolve);
    worker.once("error", (e) => reject(new Error(`worker ${k}: ${e.stack ?? e}`)));
    worker.once("exit", (code) => reject(new Error(`worker ${k} exited with ${code}`)));
  });
}

test("workers evaluating at once match a serial run, while thread counts change", {
  timeout: 2 * LIMIT_MS,
}, async () => {
  const shared = (f) => new Float64Array(new SharedArrayBuffer(8 * N)).map((_, i) => f(i));
  const x = shared((i) => Math.sin(i) * 4);
  const y = shared((i) => Math.cos(i * 0.7));
  const out = new Float64Array(new SharedArrayBuffer(8 * N * WORKERS));
  const before = getNumThreads();
  setNumThreads(1);
  const serial = EXPRESSIONS.map((expr) => evaluate(expr, { x, y }));
  setNumThreads(before);

  const workers = EXPRESSIONS.map((expr, k) =>
    new Worker(new URL("./concurrency_worker.mjs", import.meta.url), {
      workerData: {
        expr,
        x,
        y,
        out: out.subarray(k * N, (k + 1) * N),
        reps: 12,
        threads: 1 + (k % 2),
      },
    })
  );
  try {
    const replies = workers.map(reply);
    // Meanwhile the main thread runs too, changing its thread count between
    // calls and while its async runs are in flight.
    const mine = [];
    for (let r = 0; r < 20; r++) {
      const k = r % WORKERS;
      setNumThreads(1 + (r % 3));
      const expr = EXPRESSIONS[k];
      mine.push(evaluateAsync(expr, { x, y }).then((v) => assertSame(v, serial[k], `async ${r}`)));
      setNumThreads(1 + ((r + 1) % 3));
      assertSame(evaluate(expr, { x, y }), serial[k], `sync ${r}`);
    }
    const results = await withTimeout(Promise.all(replies), LIMIT_MS, "the workers");
    await withTimeout(Promise.all(mine), LIMIT_MS, "the main thread's async runs");
    results.forEach((res, k) => {
      assert.ok(res.ok, res.error);
      assertSame(res.own, serial[k], `worker ${k}'s own arrays`);
      assertSame(out.subarray(k * N, (k + 1) * N), serial[k], `worker ${k}'s region`);
    });
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
    setNumThreads(before);
  }
});
