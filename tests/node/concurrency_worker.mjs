/**
 * A worker for `concurrency_node.mjs` (not a test itself): evaluates the
 * expression it is given, sync and async interleaved, into its own region of
 * a shared output and into arrays of its own, changing its thread count
 * while async runs are in flight; replies with the last private result.
 */

import { parentPort, workerData } from "node:worker_threads";
import { evaluate, evaluateAsync, setNumThreads } from "../../mod.js";

const { expr, x, y, out, reps, threads } = workerData;
try {
  const ownX = x.slice(), ownY = y.slice();
  let own;
  for (let r = 0; r < reps; r++) {
    setNumThreads(1 + ((r + threads) % 3));
    if (r % 2 === 0) {
      evaluate(expr, { x, y }, { out });
      own = await evaluateAsync(expr, { x: ownX, y: ownY });
    } else {
      const pending = evaluateAsync(expr, { x, y }, { out });
      setNumThreads(threads);
      own = evaluate(expr, { x: ownX, y: ownY });
      await pending;
    }
  }
  parentPort.postMessage({ ok: true, own });
} catch (err) {
  parentPort.postMessage({ ok: false, error: String(err?.stack ?? err) });
}
