/**
 * Fuzzing the compiler: random well-formed expressions and programs, and
 * mutations of them, must each compile or throw an ExpressionError at an
 * offset inside the source, quickly. `deno task fuzz` runs many more.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { checkCompile, minimise, mutate, randomExpression } from "./generate.ts";
import { rng } from "./reference.ts";

const CASES = 10_000;

function run(seed: number, make: (r: () => number) => string) {
  const r = rng(seed);
  const failures: string[] = [];
  for (let n = 0; n < CASES && failures.length < 3; n++) {
    const source = make(r);
    const problem = checkCompile(source);
    if (problem === undefined) continue;
    const small = minimise(source, (s) => checkCompile(s) !== undefined);
    failures.push(
      `${JSON.stringify(small)} (from ${JSON.stringify(source)}): ${checkCompile(small)}`,
    );
  }
  assert.deepEqual(failures, []);
}

test("well-formed random expressions compile or fail with a positioned ExpressionError", () => {
  run(1, (r) => randomExpression(r, 1 + Math.floor(r() * 5)));
});

test("random programs compile or fail with a positioned ExpressionError", () => {
  run(2, (r) => randomExpression(r, 1 + Math.floor(r() * 4), true));
});

test("mutated expressions and programs fail with a positioned ExpressionError", () => {
  run(3, (r) => mutate(r, randomExpression(r, 1 + Math.floor(r() * 4), r() < 0.5)));
});

test("the minimiser keeps what makes a case fail", () => {
  assert.equal(minimise("a + (b * @c)", (s) => s.includes("@")), "@");
});
