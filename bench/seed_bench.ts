/**
 * The seed's workloads (numexpr vs NumPy on an SGD step, an Adam step, ReLU
 * and tanh∘ReLU, plus Adam fused into one program and ReLU/tanh∘ReLU into a
 * reused `out`), numfuse's `evaluate` and compiled kernel's positional call
 * against a plain JS loop, at 64, 1728, 2^18 and 4096×4096 float32 elements;
 * then the per-call overhead of SGD at 0, 64 and 1728 elements (alone:
 * `deno task bench --filter overhead`). Run with `deno task bench`;
 * `deno task compare` adds NumPy and numexpr.
 *
 * Before timing, every workload checks numfuse's results against the JS loop's.
 */

import { compile, evaluate } from "../mod.ts";
import { selfCheck, sizeLabel, SIZES, state, WORKLOADS } from "./seed_workloads.ts";

for (const n of SIZES) {
  for (const w of WORKLOADS) {
    selfCheck(w, n);
    const s = state(n);
    const group = `${w.name} @ ${sizeLabel(n)}`;
    Deno.bench({ name: "js loop", group, baseline: true, fn: () => void w.js(s) });
    Deno.bench({ name: "numfuse evaluate", group, fn: () => void w.numfuse(s) });
    Deno.bench({ name: "numfuse kernel call", group, fn: () => void w.call(s) });
  }
}

/** The per-call overhead: SGD `p - g` into p, down to no elements at all. */
const sgd = compile("p - g", { p: "float32", g: "float32" });
for (const n of [0, 64, 1728]) {
  const fresh = () => ({ p: state(n).p, g: state(n).g });
  const a = fresh(), b = fresh(), c = fresh();
  for (let i = 0; i < n; i++) a.p[i] -= a.g[i];
  evaluate("p - g", b, { out: b.p });
  sgd.callInto(c.p, c.p, c.g);
  if (a.p.some((x, i) => x !== b.p[i] || x !== c.p[i])) {
    throw new Error(`overhead n=${n}: numfuse and the JS loop disagree`);
  }
  const { p, g } = fresh();
  const group = `sgd p - g into p @ ${n}`;
  Deno.bench({
    name: "overhead: js loop",
    group,
    baseline: true,
    fn: () => {
      for (let i = 0; i < p.length; i++) p[i] -= g[i];
    },
  });
  Deno.bench({
    name: "overhead: evaluate",
    group,
    fn: () => void evaluate("p - g", { p, g }, { out: p }),
  });
  Deno.bench({ name: "overhead: kernel.callInto", group, fn: () => void sgd.callInto(p, p, g) });
}
