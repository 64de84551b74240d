/**
 * The seed's workloads under Node, from the built npm package (`deno task npm`
 * first): the workloads, sizes, self-checks and timing of
 * `bench/seed_workloads.ts` (compiled into `npm/bench/` against the Node
 * entry), numfuse (`evaluate`, and the compiled kernel's positional call)
 * against a plain JS loop, per-call times.
 *
 * ```sh
 * node bench/node_seed.mjs            # all sizes
 * node bench/node_seed.mjs 64 1728    # some sizes
 * ```
 *
 * Named so that `deno bench bench/` does not pick it up.
 */

import { getNumThreads } from "../npm/mod.js";
import {
  selfCheck,
  sizeLabel,
  SIZES,
  state,
  timeIt,
  WORKLOADS,
} from "../npm/bench/seed_workloads.js";

const sizes = process.argv.length > 2 ? process.argv.slice(2).map(Number) : SIZES;
const MIN_BATCH = 0.02, REPEATS = 7;

function show(seconds) {
  const ns = seconds * 1e9;
  if (ns < 1e3) return `${ns.toFixed(0)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${(ns / 1e6).toFixed(2)} ms`;
}

console.log(`numfuse under Node ${process.version}, ${getNumThreads()} threads`);
console.log(
  `${"workload".padEnd(30)}${"n".padStart(8)}${"evaluate".padStart(12)}${
    "kernel call".padStart(12)
  }${"JS loop".padStart(12)}`,
);
for (const n of sizes) {
  for (const w of WORKLOADS) {
    selfCheck(w, n);
    const s = state(n);
    const nf = timeIt(() => w.numfuse(s), MIN_BATCH, REPEATS).median;
    const call = timeIt(() => w.call(s), MIN_BATCH, REPEATS).median;
    const js = timeIt(() => w.js(s), MIN_BATCH, REPEATS).median;
    console.log(
      `${w.name.padEnd(30)}${sizeLabel(n).padStart(8)}${show(nf).padStart(12)}${
        show(call).padStart(12)
      }${show(js).padStart(12)}`,
    );
  }
}
