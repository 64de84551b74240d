/**
 * The seed's workloads under Node, from the built npm package (`deno task npm`
 * first): the same four workloads and sizes as `seed_bench.ts` (SGD, Adam as
 * three evaluate calls, ReLU, tanh∘ReLU at 64, 1728, 2^18 and 2^24 float32),
 * numfuse against a plain JS loop, per-call times.
 *
 * ```sh
 * node bench/node_seed.mjs            # all sizes
 * node bench/node_seed.mjs 64 1728    # some sizes
 * ```
 *
 * Before timing, every workload checks numfuse's result against the JS loop's.
 * Named so that `deno bench bench/` does not pick it up.
 */

import { evaluate, getNumThreads } from "../npm/mod.js";

const SIZES = process.argv.length > 2 ? process.argv.slice(2).map(Number) : [
  64,
  1728,
  1 << 18,
  1 << 24,
];
const label = (n) => (n === 1 << 24 ? "2^24" : n === 1 << 18 ? "2^18" : `${n}`);

/** Deterministic data in [-1, 1) (xorshift32), as seed_bench.ts. */
function random(n, seed, scale = 1) {
  let s = seed;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    a[i] = ((s >>> 0) / 4294967296 * 2 - 1) * scale;
  }
  return a;
}

function state(n) {
  return { p: random(n, 1), g: random(n, 2, 0.01), m: random(n, 3), v: random(n, 4).map(Math.abs) };
}

const f = Math.fround;
const WORKLOADS = [
  {
    name: "sgd p -= g",
    numfuse: ({ p, g }) => evaluate("p - g", { p, g }, { out: p }),
    js: ({ p, g }) => {
      for (let i = 0; i < p.length; i++) p[i] -= g[i];
      return p;
    },
  },
  {
    name: "adam (3 evaluate calls)",
    numfuse: ({ p, g, m, v }) => {
      evaluate("m + (1 - 0.9) * (g - m)", { m, g }, { out: m });
      evaluate("v + (1 - 0.999) * (g * g - v)", { v, g }, { out: v });
      return evaluate("p - 0.001 * m / (sqrt(v) + 1e-8)", { p, m, v }, { out: p });
    },
    js: ({ p, g, m, v }) => {
      const b1 = f(1 - 0.9), b2 = f(1 - 0.999), lr = f(0.001), eps = f(1e-8);
      for (let i = 0; i < p.length; i++) {
        const gi = g[i];
        const mi = f(m[i] + f(b1 * f(gi - m[i])));
        const vi = f(v[i] + f(b2 * f(f(gi * gi) - v[i])));
        m[i] = mi;
        v[i] = vi;
        p[i] = f(p[i] - f(f(lr * mi) / f(f(Math.sqrt(vi)) + eps)));
      }
      return p;
    },
  },
  {
    name: "relu where(p > 0, p, 0)",
    numfuse: ({ p }) => evaluate("where(p > 0, p, 0)", { p }),
    js: ({ p }) => {
      const out = new Float32Array(p.length);
      for (let i = 0; i < p.length; i++) out[i] = p[i] > 0 ? p[i] : 0;
      return out;
    },
  },
  {
    name: "tanh(where(p > 0, p, 0))",
    numfuse: ({ p }) => evaluate("tanh(where(p > 0, p, 0))", { p }),
    js: ({ p }) => {
      const out = new Float32Array(p.length);
      for (let i = 0; i < p.length; i++) out[i] = Math.tanh(p[i] > 0 ? p[i] : 0);
      return out;
    },
  },
];

const TOLERANCE = 1e-5;

function selfCheck(w, n) {
  const a = state(n), b = state(n);
  const got = w.numfuse(a), want = w.js(b);
  for (let i = 0; i < n; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= TOLERANCE * Math.max(1, Math.abs(want[i])))) {
      throw new Error(`${w.name} n=${n}: element ${i} is ${got[i]}, the JS loop gives ${want[i]}`);
    }
  }
}

/** Per-call time in ns: the median over batches of ~20 ms (at least 5 calls in all). */
function time(fn) {
  let batch = 1;
  for (;;) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn();
    const dt = Number(process.hrtime.bigint() - t0);
    if (dt > 20e6 || batch >= 1 << 20) break;
    batch *= 2;
  }
  const samples = [];
  const deadline = performance.now() + 600;
  while (samples.length < 5 || (performance.now() < deadline && samples.length < 200)) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) fn();
    samples.push(Number(process.hrtime.bigint() - t0) / batch);
  }
  samples.sort((a, b) => a - b);
  return samples[samples.length >> 1];
}

function show(ns) {
  if (ns < 1e3) return `${ns.toFixed(0)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toFixed(2)} µs`;
  return `${(ns / 1e6).toFixed(2)} ms`;
}

console.log(`numfuse under Node ${process.version}, ${getNumThreads()} threads`);
console.log(
  `${"workload".padEnd(28)}${"n".padStart(8)}${"numfuse".padStart(12)}${"js loop".padStart(12)}${
    "speed-up".padStart(10)
  }`,
);
for (const n of SIZES) {
  for (const w of WORKLOADS) {
    selfCheck(w, n);
    const s = state(n);
    const nf = time(() => w.numfuse(s));
    const js = time(() => w.js(s));
    console.log(
      `${w.name.padEnd(28)}${label(n).padStart(8)}${show(nf).padStart(12)}${show(js).padStart(12)}${
        `${(js / nf).toFixed(2)}x`.padStart(10)
      }`,
    );
  }
}
