/**
 * The seed's workloads (SGD, Adam, ReLU, tanh∘ReLU on float32) as numfuse
 * calls and as plain JS loops, with the data they run on and the bytes each
 * call moves. Used by `bench/seed_bench.ts` (`deno task bench`) and
 * `scripts/compare.ts` (the side-by-side with NumPy and numexpr);
 * `scripts/compare_numpy.py` holds the same workloads in Python under the
 * same ids.
 *
 * @module
 */

import { compile, evaluate } from "../mod.ts";

/** 64, a 3×3×3×64 filter, 2^18 and a 4096×4096 layer, as in the seed. */
export const SIZES: readonly number[] = [64, 1728, 1 << 18, 1 << 24];

/** A short label for an element count. */
export function sizeLabel(n: number): string {
  if (n === 1 << 24) return "4096²";
  const log = Math.log2(n);
  return Number.isInteger(log) && n >= 1024 ? `2^${log}` : `${n}`;
}

/** Deterministic data in [-scale, scale) (xorshift32). */
export function random(n: number, seed: number, scale = 1): Float32Array {
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

/** The arrays a workload runs on: parameters, gradient, Adam's moments, a reused result buffer. */
export interface State {
  p: Float32Array;
  g: Float32Array;
  m: Float32Array;
  v: Float32Array;
  q: Float32Array;
}

/** Fresh data: p, m in [-1, 1), g in [-0.01, 0.01), v in [0, 1); q zeros. */
export function state(n: number): State {
  return {
    p: random(n, 1),
    g: random(n, 2, 0.01),
    m: random(n, 3),
    v: random(n, 4).map(Math.abs),
    q: new Float32Array(n),
  };
}

/** One workload, in numfuse and as a plain JS loop. */
export interface Workload {
  /** The id shared with `compare_numpy.py` (whose NumPy/numexpr version it is compared with). */
  id: string;
  /** What it computes, for tables and charts. */
  name: string;
  /**
   * Whole float32 arrays read plus written by one call (counted per
   * `evaluate` call: every input read once, the output written once).
   */
  arrays: number;
  /** The STREAM kernel whose bandwidth is its ceiling. */
  stream: "copy" | "triad";
  /** numfuse's version with `evaluate`; returns the array it produced or updated. */
  numfuse(s: State): Float32Array;
  /** The same with kernels compiled once and called positionally (`call`, `callInto`). */
  call(s: State): Float32Array;
  /** The plain JS loop. */
  js(s: State): Float32Array;
}

const f = Math.fround;

function adamJs({ p, g, m, v }: State): Float32Array {
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
}

/** Adam's three updates as one numfuse program (statements run in one pass). */
const ADAM_PROGRAM = `
  m = m + (1 - 0.9) * (g - m)
  v = v + (1 - 0.999) * (g * g - v)
  p = p - 0.001 * m / (sqrt(v) + 1e-8)
`;

const F32 = { p: "float32", g: "float32", m: "float32", v: "float32" } as const;
/** The workloads' kernels, compiled once for their positional calls. */
const KERNEL = {
  sgd: compile("p - g", { p: F32.p, g: F32.g }),
  adamM: compile("m + (1 - 0.9) * (g - m)", { m: F32.m, g: F32.g }),
  adamV: compile("v + (1 - 0.999) * (g * g - v)", { v: F32.v, g: F32.g }),
  adamP: compile("p - 0.001 * m / (sqrt(v) + 1e-8)", { p: F32.p, m: F32.m, v: F32.v }),
  adam: compile(ADAM_PROGRAM, F32),
  relu: compile("where(p > 0, p, 0)", { p: F32.p }),
  tanhRelu: compile("tanh(where(p > 0, p, 0))", { p: F32.p }),
};

function reluJs(p: Float32Array, out: Float32Array): Float32Array {
  for (let i = 0; i < p.length; i++) out[i] = p[i] > 0 ? p[i] : 0;
  return out;
}

function tanhReluJs(p: Float32Array, out: Float32Array): Float32Array {
  for (let i = 0; i < p.length; i++) out[i] = Math.tanh(p[i] > 0 ? p[i] : 0);
  return out;
}

/**
 * The seed's four workloads, Adam fused into one program, and ReLU and
 * tanh∘ReLU into a reused `out` (no result allocation).
 */
export const WORKLOADS: readonly Workload[] = [
  {
    id: "sgd",
    name: "sgd p = p - g",
    arrays: 3, // read p, g; write p
    stream: "triad",
    numfuse: ({ p, g }) => evaluate("p - g", { p, g }, { out: p }) as Float32Array,
    call: ({ p, g }) => KERNEL.sgd.callInto(p, p, g) as Float32Array,
    js: ({ p, g }) => {
      for (let i = 0; i < p.length; i++) p[i] -= g[i];
      return p;
    },
  },
  {
    id: "adam",
    name: "adam (3 evaluate calls)",
    arrays: 10, // (m, g → m) 3 + (v, g → v) 3 + (p, m, v → p) 4
    stream: "triad",
    numfuse: ({ p, g, m, v }) => {
      evaluate("m + (1 - 0.9) * (g - m)", { m, g }, { out: m });
      evaluate("v + (1 - 0.999) * (g * g - v)", { v, g }, { out: v });
      return evaluate("p - 0.001 * m / (sqrt(v) + 1e-8)", { p, m, v }, { out: p }) as Float32Array;
    },
    call: ({ p, g, m, v }) => {
      KERNEL.adamM.callInto(m, m, g);
      KERNEL.adamV.callInto(v, v, g);
      return KERNEL.adamP.callInto(p, p, m, v) as Float32Array;
    },
    js: adamJs,
  },
  {
    // The same Adam step as one program: one pass over memory, compared with
    // the same NumPy and numexpr code (id "adam") and the same JS loop.
    id: "adam",
    name: "adam (fused, 1 evaluate call)",
    arrays: 7, // read p, g, m, v; write p, m, v
    stream: "triad",
    numfuse: (s) => {
      evaluate(ADAM_PROGRAM, { p: s.p, g: s.g, m: s.m, v: s.v });
      return s.p;
    },
    call: ({ p, g, m, v }) => {
      KERNEL.adam.call(p, g, m, v);
      return p;
    },
    js: adamJs,
  },
  {
    id: "relu",
    name: "relu where(p > 0, p, 0)",
    arrays: 2, // read p; write a new array
    stream: "copy",
    numfuse: ({ p }) => evaluate("where(p > 0, p, 0)", { p }) as Float32Array,
    call: ({ p }) => KERNEL.relu.call(p) as Float32Array,
    js: ({ p }) => reluJs(p, new Float32Array(p.length)),
  },
  {
    id: "tanh_relu",
    name: "tanh(where(p > 0, p, 0))",
    arrays: 2, // read p; write a new array
    stream: "copy",
    numfuse: ({ p }) => evaluate("tanh(where(p > 0, p, 0))", { p }) as Float32Array,
    call: ({ p }) => KERNEL.tanhRelu.call(p) as Float32Array,
    js: ({ p }) => tanhReluJs(p, new Float32Array(p.length)),
  },
  {
    // ReLU into a reused buffer: no allocation in any system (NumPy: np.maximum(p, 0, out=q)).
    id: "relu_out",
    name: "relu into out (reused)",
    arrays: 2, // read p; write q
    stream: "copy",
    numfuse: ({ p, q }) => evaluate("where(p > 0, p, 0)", { p }, { out: q }) as Float32Array,
    call: ({ p, q }) => KERNEL.relu.callInto(q, p) as Float32Array,
    js: ({ p, q }) => reluJs(p, q),
  },
  {
    id: "tanh_relu_out",
    name: "tanh∘relu into out (reused)",
    arrays: 2, // read p; write q
    stream: "copy",
    numfuse: ({ p, q }) => evaluate("tanh(where(p > 0, p, 0))", { p }, { out: q }) as Float32Array,
    call: ({ p, q }) => KERNEL.tanhRelu.callInto(q, p) as Float32Array,
    js: ({ p, q }) => tanhReluJs(p, q),
  },
];

/** Relative tolerance of the self-check: float32 transcendental and reassociation noise. */
export const TOLERANCE = 1e-5;

/**
 * Runs numfuse (`evaluate`, then the positional call) and the JS loop once on
 * fresh data; throws unless they agree on the result and on the arrays
 * updated in place.
 */
export function selfCheck(w: Workload, n: number): void {
  for (const form of ["numfuse", "call"] as const) {
    const a = state(n), b = state(n);
    const pairs: [string, Float32Array, Float32Array][] = [["result", w[form](a), w.js(b)]];
    for (const k of ["p", "m", "v", "q"] as const) pairs.push([k, a[k], b[k]]);
    for (const [what, got, want] of pairs) {
      for (let i = 0; i < n; i++) {
        const err = Math.abs(got[i] - want[i]);
        if (!(err <= TOLERANCE * Math.max(1, Math.abs(want[i])))) {
          throw new Error(
            `${w.name} n=${n} (${form}): ${what}[${i}] is ${got[i]}, the JS loop gives ${
              want[
                i
              ]
            }`,
          );
        }
      }
    }
  }
}

/** How long one call took, as `timeIt` measures it. */
export interface Timing {
  /** Seconds per call: the median batch. */
  median: number;
  /** Seconds per call: the best batch. */
  best: number;
  /** Calls per batch. */
  loops: number;
  repeats: number;
}

/**
 * timeit's method, as `compare_numpy.py` does it: double the calls per batch
 * until a batch takes `minBatch` seconds (this is also the warm-up), then time
 * `repeats` batches. Seconds per call.
 */
export function timeIt(fn: () => unknown, minBatch: number, repeats: number): Timing {
  let loops = 1;
  for (;;) {
    const t0 = performance.now();
    for (let i = 0; i < loops; i++) fn();
    const elapsed = (performance.now() - t0) / 1e3;
    if (elapsed >= minBatch) break;
    loops = Math.max(loops * 2, Math.floor(loops * minBatch / Math.max(elapsed, 1e-9) * 1.2));
  }
  const perCall: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    for (let i = 0; i < loops; i++) fn();
    perCall.push((performance.now() - t0) / 1e3 / loops);
  }
  perCall.sort((a, b) => a - b);
  const mid = perCall.length >> 1;
  const median = perCall.length % 2 ? perCall[mid] : (perCall[mid - 1] + perCall[mid]) / 2;
  return { median, best: perCall[0], loops, repeats };
}
