/**
 * How `tanh` over 2^24 float32 elements scales from one thread to all of
 * them: `evaluate("tanh(x)", { x }, { out })` timed with `setNumThreads(1)`
 * and then with every thread, in alternating rounds (wall time, median of 15
 * calls per round after 3 warm-up calls), after checking that both give the
 * same bits and that they agree with `Math.tanh` to 2 ulp of float32.
 *
 * ```sh
 * npx -y deno run --allow-ffi --allow-read --allow-env --allow-sys bench/threads.ts
 * ```
 *
 * @module
 */

import { evaluate, getNumThreads, setNumThreads } from "../mod.ts";
import { random } from "./seed_workloads.ts";

const N = 1 << 24, ROUNDS = 3, CALLS = 15;
const all = getNumThreads();
const x = random(N, 1), one = new Float32Array(N), every = new Float32Array(N);

setNumThreads(1);
evaluate("tanh(x)", { x }, { out: one });
setNumThreads(all);
evaluate("tanh(x)", { x }, { out: every });
const bits = (a: Float32Array) => new Uint32Array(a.buffer);
const oneBits = bits(one), everyBits = bits(every);
if (oneBits.some((b, i) => b !== everyBits[i])) {
  throw new Error("tanh on one thread and on every thread disagree");
}
for (let i = 0; i < N; i += 4099) {
  const want = Math.fround(Math.tanh(x[i]));
  const ulp = Math.abs(everyBits[i] - bits(Float32Array.of(want))[0]);
  if (ulp > 2) throw new Error(`tanh(${x[i]}) = ${every[i]}, Math.tanh gives ${want}`);
}

/** Milliseconds per call with `threads` threads: the median of the round. */
function time(threads: number): number {
  setNumThreads(threads);
  for (let i = 0; i < 3; i++) evaluate("tanh(x)", { x }, { out: every });
  const ms: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const t0 = performance.now();
    evaluate("tanh(x)", { x }, { out: every });
    ms.push(performance.now() - t0);
  }
  return ms.sort((a, b) => a - b)[CALLS >> 1];
}

const load = () => Deno.loadavg().map((v) => v.toFixed(2)).join(" ");
console.log(`tanh over 2^24 float32, 1 thread vs ${all}; load average ${load()}`);
for (let r = 0; r < ROUNDS; r++) {
  const single = time(1), many = time(all);
  console.log(
    `round ${r + 1}: 1 thread ${single.toFixed(2)} ms, ${all} threads ${many.toFixed(2)} ms, ` +
      `speedup ${(single / many).toFixed(2)}×`,
  );
}
console.log(`load average at the end ${load()}`);
