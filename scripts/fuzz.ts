/**
 * Fuzzes the compiler on demand: `deno task fuzz [--cases N] [--seed S]`.
 *
 * Generates random well-formed expressions and programs and mutations of
 * them (`tests/generate.ts`), and checks that each compiles or throws an
 * `ExpressionError` at an offset inside the source within 200 ms. Prints the
 * counts by outcome, and each failing input minimised; exits 1 on failure.
 *
 * @module
 */

import { compileProgram } from "../src/compiler.ts";
import {
  CASE_LIMIT_MS,
  checkCompile,
  FUZZ_VARS,
  minimise,
  mutate,
  randomExpression,
} from "../tests/generate.ts";
import { rng } from "../tests/reference.ts";

function flag(name: string, fallback: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(Deno.args[i + 1]);
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`--${name} needs a non-negative integer: got ${Deno.args[i + 1]}`);
    Deno.exit(2);
  }
  return value;
}

const cases = flag("cases", 1_000_000);
const seed = flag("seed", Date.now() % 2 ** 31);
const r = rng(seed);
const counts = { compiled: 0, expressionError: 0, failed: 0 };
const byKind = { expression: 0, program: 0, mutated: 0 };
const failures: string[] = [];
const t0 = performance.now();

for (let n = 0; n < cases; n++) {
  const kind = n % 3 === 0 ? "expression" : n % 3 === 1 ? "program" : "mutated";
  byKind[kind]++;
  const depth = 1 + Math.floor(r() * 5);
  const source = kind === "mutated"
    ? mutate(r, randomExpression(r, depth, r() < 0.5))
    : randomExpression(r, depth, kind === "program");
  const problem = checkCompile(source, CASE_LIMIT_MS);
  if (problem === undefined) {
    try {
      compileProgram(source, FUZZ_VARS);
      counts.compiled++;
    } catch {
      counts.expressionError++;
    }
    continue;
  }
  counts.failed++;
  if (failures.length < 20) {
    const small = minimise(source, (s) => checkCompile(s, CASE_LIMIT_MS) !== undefined);
    failures.push(
      `${JSON.stringify(small)}: ${checkCompile(small, CASE_LIMIT_MS)}\n  from ${
        JSON.stringify(source)
      }`,
    );
  }
  if ((n + 1) % 100_000 === 0) console.error(`${n + 1} cases...`);
}

const seconds = (performance.now() - t0) / 1000;
console.log(`fuzz: seed ${seed}, ${cases} cases in ${seconds.toFixed(1)} s`);
console.log(
  `  generated: ${byKind.expression} expressions, ${byKind.program} programs, ${byKind.mutated} mutated`,
);
console.log(
  `  outcome: ${counts.compiled} compiled, ${counts.expressionError} ExpressionError, ${counts.failed} failed`,
);
for (const f of failures) console.log(`FAIL ${f}`);
if (counts.failed > 0) Deno.exit(1);
