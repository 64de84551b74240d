/**
 * The seed's workloads (numexpr vs NumPy on an SGD step, an Adam step, ReLU
 * and tanh∘ReLU), numfuse against a plain JS loop, at 64, 1728, 2^18 and
 * 4096×4096 float32 elements. Run with `deno task bench`.
 *
 * Before timing, every workload checks numfuse's result against the JS loop's.
 */

import { evaluate } from "../mod.ts";

const SIZES = [64, 1728, 1 << 18, 1 << 24];
const label = (n: number) => (n === 1 << 24 ? "4096x4096" : n === 1 << 18 ? "2^18" : `${n}`);

/** Deterministic data in [-1, 1) (xorshift32). */
function random(n: number, seed: number, scale = 1): Float32Array {
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

interface Workload {
  name: string;
  /** numfuse's version; returns the array it produced or updated. */
  numfuse(s: State): Float32Array;
  /** The plain JS loop. */
  js(s: State): Float32Array;
}

interface State {
  p: Float32Array;
  g: Float32Array;
  m: Float32Array;
  v: Float32Array;
}

function state(n: number): State {
  return {
    p: random(n, 1),
    g: random(n, 2, 0.01),
    m: random(n, 3),
    v: random(n, 4).map(Math.abs),
  };
}

const WORKLOADS: Workload[] = [
  {
    name: "sgd p -= g",
    numfuse: ({ p, g }) => evaluate("p - g", { p, g }, { out: p }) as Float32Array,
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
      return evaluate("p - 0.001 * m / (sqrt(v) + 1e-8)", { p, m, v }, { out: p }) as Float32Array;
    },
    js: ({ p, g, m, v }) => {
      const f = Math.fround, b1 = f(1 - 0.9), b2 = f(1 - 0.999), lr = f(0.001), eps = f(1e-8);
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
    numfuse: ({ p }) => evaluate("where(p > 0, p, 0)", { p }) as Float32Array,
    js: ({ p }) => {
      const out = new Float32Array(p.length);
      for (let i = 0; i < p.length; i++) out[i] = p[i] > 0 ? p[i] : 0;
      return out;
    },
  },
  {
    name: "tanh(where(p > 0, p, 0))",
    numfuse: ({ p }) => evaluate("tanh(where(p > 0, p, 0))", { p }) as Float32Array,
    js: ({ p }) => {
      const out = new Float32Array(p.length);
      for (let i = 0; i < p.length; i++) out[i] = Math.tanh(p[i] > 0 ? p[i] : 0);
      return out;
    },
  },
];

/** Relative tolerance of the self-check: float32 transcendental and reassociation noise. */
const TOLERANCE = 1e-5;

function selfCheck(w: Workload, n: number): void {
  const a = state(n), b = state(n);
  const got = w.numfuse(a), want = w.js(b);
  for (let i = 0; i < n; i++) {
    const err = Math.abs(got[i] - want[i]);
    if (!(err <= TOLERANCE * Math.max(1, Math.abs(want[i])))) {
      throw new Error(`${w.name} n=${n}: element ${i} is ${got[i]}, the JS loop gives ${want[i]}`);
    }
  }
}

for (const n of SIZES) {
  for (const w of WORKLOADS) {
    selfCheck(w, n);
    const s = state(n);
    const group = `${w.name} @ ${label(n)}`;
    Deno.bench({ name: `js loop`, group, baseline: true, fn: () => void w.js(s) });
    Deno.bench({ name: `numfuse`, group, fn: () => void w.numfuse(s) });
  }
}
