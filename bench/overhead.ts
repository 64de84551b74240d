/**
 * The per-call overhead: SGD `p - g` into p and the fused reduction
 * `sum(x * y)` at 0, 64 and 1728 float32 elements, as a plain JS loop,
 * `evaluate` and a compiled kernel's `callInto` (`call` for the reduction).
 * Each is timed in CPU time per call (the process's user + system time over
 * a batch, which other jobs on a busy machine inflate far less than wall
 * time; below the threading threshold only this thread works) and in wall
 * time, median of 9 batches of 200,000 calls, after checking the three
 * agree (the reduction's JS loop to rounding: it sums in order, in float64).
 *
 * ```sh
 * npx -y deno run --allow-ffi --allow-read --allow-env --allow-sys bench/overhead.ts
 * ```
 *
 * @module
 */

import process from "node:process";
import { compile, evaluate } from "../mod.ts";
import { random } from "./seed_workloads.ts";

const BATCH = 200_000, BATCHES = 9;
const sgd = compile("p - g", { p: "float32", g: "float32" });
const dot = compile("sum(x * y)", { x: "float32", y: "float32" });

function median(xs: number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[s.length >> 1];
}

/** CPU and wall nanoseconds per call, each the median of the batches. */
function measure(fn: () => void): { cpu: number; wall: number } {
  for (let i = 0; i < BATCH; i++) fn(); // warm-up
  const cpu: number[] = [], wall: number[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const c0 = process.cpuUsage(), t0 = performance.now();
    for (let i = 0; i < BATCH; i++) fn();
    const t1 = performance.now(), c1 = process.cpuUsage(c0);
    cpu.push((c1.user + c1.system) * 1e3 / BATCH);
    wall.push((t1 - t0) * 1e6 / BATCH);
  }
  return { cpu: median(cpu), wall: median(wall) };
}

const load = () => Deno.loadavg().map((x) => x.toFixed(2)).join(" ");
const show = (ns: number) => ns < 1e3 ? `${ns.toFixed(0)} ns` : `${(ns / 1e3).toFixed(2)} µs`;

/** Times each form and prints its row. */
function rows(n: number, workload: string, forms: [string, () => void][]): void {
  for (const [name, fn] of forms) {
    const { cpu, wall } = measure(fn);
    console.log(
      `${String(n).padEnd(10)}${workload.padEnd(12)}${name.padEnd(17)}${show(cpu).padStart(8)}${
        show(wall).padStart(12)
      }`,
    );
  }
}

console.log(`per-call overhead, float32; load average ${load()}`);
console.log("elements  workload    form             CPU/call   wall/call");
for (const n of [0, 64, 1728]) {
  const a = random(n, 1), b = a.slice(), c = a.slice(), g = random(n, 2, 0.01);
  for (let i = 0; i < n; i++) a[i] -= g[i];
  evaluate("p - g", { p: b, g }, { out: b });
  sgd.callInto(c, c, g);
  if (a.some((x, i) => x !== b[i] || x !== c[i])) {
    throw new Error(`n=${n}: numfuse and the JS loop disagree`);
  }
  const p = random(n, 1);
  rows(n, "p - g", [
    ["JS loop", () => {
      for (let i = 0; i < p.length; i++) p[i] -= g[i];
    }],
    ["evaluate", () => void evaluate("p - g", { p, g }, { out: p })],
    ["kernel.callInto", () => void sgd.callInto(p, p, g)],
  ]);
  const x = random(n, 3), y = random(n, 4);
  const loop = () => {
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.fround(x[i] * y[i]);
    return s;
  };
  const fused = evaluate("sum(x * y)", { x, y }) as number;
  if (fused !== dot.call(x, y) || Math.abs(fused - loop()) > 1e-5 * (1 + Math.abs(loop()))) {
    throw new Error(`n=${n}: sum(x * y) of numfuse and the JS loop disagree`);
  }
  rows(n, "sum(x * y)", [
    ["JS loop", () => void loop()],
    ["evaluate", () => void evaluate("sum(x * y)", { x, y })],
    ["kernel.call", () => void dot.call(x, y)],
  ]);
}
console.log(`load average at the end ${load()}`);
