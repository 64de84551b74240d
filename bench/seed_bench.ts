/**
 * The seed's workloads (numexpr vs NumPy on an SGD step, an Adam step, ReLU
 * and tanh∘ReLU, plus Adam fused into one program), numfuse against a plain
 * JS loop, at 64, 1728, 2^18 and 4096×4096 float32 elements. Run with
 * `deno task bench`; `deno task compare` adds NumPy and numexpr.
 *
 * Before timing, every workload checks numfuse's result against the JS loop's.
 */

import { selfCheck, sizeLabel, SIZES, state, WORKLOADS } from "./seed_workloads.ts";

for (const n of SIZES) {
  for (const w of WORKLOADS) {
    selfCheck(w, n);
    const s = state(n);
    const group = `${w.name} @ ${sizeLabel(n)}`;
    Deno.bench({ name: "js loop", group, baseline: true, fn: () => void w.js(s) });
    Deno.bench({ name: "numfuse", group, fn: () => void w.numfuse(s) });
  }
}
