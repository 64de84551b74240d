/**
 * Resources: many evaluate calls cycling through more distinct expressions
 * than the cache keeps (512; evicted programs are freed natively) keep the
 * process's RSS bounded. `scripts/rss.ts` runs 1M calls on demand.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { evaluate } from "../mod.ts";

/** Runs `calls` evaluations over `distinct` expressions; returns RSS (MB) at start, middle, end. */
export function churn(calls: number, distinct: number): number[] {
  const x = new Float64Array(16).fill(1.5), y = new Int32Array(16).fill(3);
  const rss = () => Math.round(Deno.memoryUsage().rss / 2 ** 20);
  const samples = [rss()];
  for (let c = 0; c < calls; c++) {
    const k = c % distinct;
    const r = evaluate(`x * ${k} + y - ${k % 7}`, { x, y })!;
    if (r[0] !== 1.5 * k + 3 - (k % 7)) throw new Error(`call ${c}: got ${r[0]}`);
    if (c === calls >> 1) samples.push(rss());
  }
  samples.push(rss());
  return samples;
}

test("100k calls over 2000 distinct expressions keep RSS bounded", () => {
  // Every call misses the cache (2000 > 512 expressions): compile, programNew,
  // and an eviction that frees a native program. V8 collects lazily, so RSS
  // climbs before it levels off (1M calls: 40, 209, 228 MB); the bound is generous.
  const [start, middle, end] = churn(100_000, 2000);
  console.log(`RSS MB: start ${start}, middle ${middle}, end ${end}`);
  assert.ok(end - start < 600, `RSS grew from ${start} to ${end} MB`);
});
