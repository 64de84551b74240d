/**
 * Smoke test of the installed npm package (run by `scripts/test_node.ts` in a
 * directory where the packed tarball was `npm install`ed): the seed's Adam
 * step as three `evaluate` calls writing in place, against a plain JS loop in
 * float32 (Math.fround at every operation), within 2 ulp.
 */

import { evaluate } from "numfuse";

const n = 100_003; // several blocks and a remainder, enough for the threaded path
const steps = 5;

/** xorshift32 in [-1, 1), so runs reproduce. */
function rng(seed) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s / 2147483648 - 1;
  };
}

const r = rng(42);
const p = Float32Array.from({ length: n }, r);
const m = new Float32Array(n);
const v = new Float32Array(n);
const g = new Float32Array(n);
const [P, M, V] = [p.slice(), m.slice(), v.slice()];

const f = Math.fround;
const b1c = f(1 - 0.9), b2c = f(1 - 0.999), lr = f(0.001), eps = f(1e-8);
for (let step = 0; step < steps; step++) {
  for (let i = 0; i < n; i++) g[i] = r();
  evaluate("m + (1 - 0.9) * (g - m)", { m, g }, { out: m });
  evaluate("v + (1 - 0.999) * (g*g - v)", { v, g }, { out: v });
  evaluate("p - 0.001 * m / (sqrt(v) + 1e-8)", { p, m, v }, { out: p });
  for (let i = 0; i < n; i++) {
    const gi = g[i];
    M[i] = f(M[i] + f(b1c * f(gi - M[i])));
    V[i] = f(V[i] + f(b2c * f(f(gi * gi) - V[i])));
    P[i] = f(P[i] - f(f(lr * M[i]) / f(f(Math.sqrt(V[i])) + eps)));
  }
}

const bits = new Int32Array(1), val = new Float32Array(bits.buffer);
function ordered(x) {
  val[0] = x;
  return bits[0] < 0 ? -2147483648 - bits[0] : bits[0];
}
function ulps(a, b) {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  return Math.abs(ordered(a) - ordered(b));
}

let worst = 0, at = -1;
for (const [name, got, want] of [["m", m, M], ["v", v, V], ["p", p, P]]) {
  for (let i = 0; i < n; i++) {
    const d = ulps(got[i], want[i]);
    if (d > worst) [worst, at] = [d, i];
    if (d > 2) {
      console.log(`smoke: FAIL ${name}[${i}] is ${got[i]}, expected ${want[i]} (${d} ulp)`);
      process.exit(1);
    }
  }
}
console.log(`smoke: ok — Adam x${steps} over ${n} float32, worst ${worst} ulp (at ${at})`);
