/**
 * The seed's workloads (numexpr vs NumPy on an SGD step, an Adam step, ReLU
 * and tanh∘ReLU, plus Adam fused into one program and ReLU/tanh∘ReLU into a
 * reused `out`), numfuse's `evaluate` and compiled kernel's positional call
 * against a plain JS loop, at 64, 1728, 2^18 and 4096×4096 float32 elements;
 * then whole reductions, fused (the argument is never stored): a dot product
 * `sum(p * m)` and `mean(p)` at the same sizes; then the per-call overhead
 * of SGD at 0, 64 and 1728 elements (alone:
 * `deno task bench --filter overhead`). Run with `deno task bench`;
 * `deno task compare` adds NumPy and numexpr.
 *
 * Before timing, every workload checks numfuse's results against the JS loop's
 * (reductions: within the float32 summation error bound of a float64 sum).
 */

import { compile, evaluate } from "../mod.ts";
import { selfCheck, sizeLabel, SIZES, type State, state, WORKLOADS } from "./seed_workloads.ts";

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

/** A whole reduction in numfuse (`evaluate`, a kernel's call) and as a JS loop in float64. */
interface ReductionBench {
  name: string;
  numfuse(s: State): number;
  call(s: State): number;
  js(s: State): number;
  /** Σ|term| of the sum: the scale of float32 rounding errors. */
  magnitude(s: State): number;
}

const dot = compile("sum(p * m)", { p: "float32", m: "float32" });
const meanKernel = compile("mean(p)", { p: "float32" });
const REDUCTIONS: readonly ReductionBench[] = [
  {
    name: "dot sum(p * m)",
    numfuse: ({ p, m }) => evaluate("sum(p * m)", { p, m }) as number,
    call: ({ p, m }) => dot.call(p, m) as number,
    js: ({ p, m }) => {
      let acc = 0;
      for (let i = 0; i < p.length; i++) acc += p[i] * m[i];
      return acc;
    },
    magnitude: ({ p, m }) => p.reduce((acc, x, i) => acc + Math.abs(x * m[i]), 0),
  },
  {
    name: "mean(p)",
    numfuse: ({ p }) => evaluate("mean(p)", { p }) as number,
    call: ({ p }) => meanKernel.call(p) as number,
    js: ({ p }) => {
      let acc = 0;
      for (let i = 0; i < p.length; i++) acc += p[i];
      return acc / p.length;
    },
    magnitude: ({ p }) => p.reduce((acc, x) => acc + Math.abs(x), 0) / p.length,
  },
];

for (const n of SIZES) {
  for (const r of REDUCTIONS) {
    const s = state(n);
    // float32 pairwise chunks of 8192 added in order: about (13 + chunks) roundings.
    const bound = 2 ** -23 * (13 + n / 8192) * r.magnitude(s);
    for (const [form, got] of [["evaluate", r.numfuse(s)], ["call", r.call(s)]] as const) {
      if (!(Math.abs(got - r.js(s)) <= bound)) {
        throw new Error(`${r.name} n=${n} (${form}): ${got}, the JS loop gives ${r.js(s)}`);
      }
    }
    const group = `${r.name} @ ${sizeLabel(n)}`;
    Deno.bench({ name: "js loop", group, baseline: true, fn: () => void r.js(s) });
    Deno.bench({ name: "numfuse evaluate", group, fn: () => void r.numfuse(s) });
    Deno.bench({ name: "numfuse kernel call", group, fn: () => void r.call(s) });
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
