/**
 * A worker for `concurrency_test.ts`: evaluates the expression it is sent,
 * sync and async interleaved, into its own region of a shared output, and
 * into arrays of its own; replies with a copy of the last private result.
 */

import { evaluate, evaluateAsync, setNumThreads } from "../mod.ts";

interface Job {
  readonly expr: string;
  readonly x: Float64Array;
  readonly y: Float64Array;
  readonly out: Float64Array;
  readonly reps: number;
  readonly threads: number;
}

const scope = self as unknown as {
  onmessage: (e: MessageEvent<Job>) => void;
  postMessage: (m: unknown) => void;
};

scope.onmessage = async (e) => {
  const { expr, x, y, out, reps, threads } = e.data;
  try {
    setNumThreads(threads);
    const ownX = x.slice(), ownY = y.slice();
    let own: Float64Array | undefined;
    for (let r = 0; r < reps; r++) {
      if (r % 2 === 0) evaluate(expr, { x, y }, { out });
      else await evaluateAsync(expr, { x, y }, { out });
      own = (r % 3 === 0
        ? await evaluateAsync(expr, { x: ownX, y: ownY })
        : evaluate(expr, { x: ownX, y: ownY })) as Float64Array;
    }
    scope.postMessage({ ok: true, own });
  } catch (err) {
    scope.postMessage({ ok: false, error: String(err) });
  }
};
