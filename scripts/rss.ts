/**
 * Measures RSS over 1M `evaluate` calls cycling through 2000 distinct
 * expressions (the cache keeps 512): `deno run --allow-ffi --allow-read
 * --allow-env scripts/rss.ts [calls]`.
 *
 * @module
 */

import { churn } from "../tests/resources_test.ts";

const calls = Number(Deno.args[0] ?? 1_000_000);
const t0 = performance.now();
const [start, middle, end] = churn(calls, 2000);
console.log(
  `${calls} calls, 2000 distinct expressions: RSS start ${start} MB, middle ${middle} MB, end ${end} MB (${
    ((performance.now() - t0) / 1000).toFixed(1)
  } s)`,
);
