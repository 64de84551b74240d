/**
 * Seeded generators for fuzzing and differential tests: random well-formed
 * expressions over the real grammar, a mutator that breaks them, the
 * compiler property every input must satisfy, and a minimiser.
 */

import type { VarSpec } from "../src/ast.ts";
import { compileProgram } from "../src/compiler.ts";
import type { DType } from "../src/dtype.ts";
import { ExpressionError } from "../src/errors.ts";
import { PUNCTUATORS } from "../src/lexer.ts";
import { FUNCTIONS } from "../src/types.ts";

/** A random element of a list. */
export function pick<T>(r: () => number, items: readonly T[]): T {
  return items[Math.floor(r() * items.length)];
}

/** The variables the fuzzer's expressions use: arrays of each dtype, typed scalars, weak scalars. */
export const FUZZ_VARS: Readonly<Record<string, VarSpec>> = {
  b: { kind: "array", dtype: "bool" },
  i: { kind: "array", dtype: "int32" },
  j: { kind: "array", dtype: "int64" },
  f: { kind: "array", dtype: "float32" },
  d: { kind: "array", dtype: "float64" },
  s: { kind: "scalar", dtype: "float32" },
  k: { kind: "weak", weak: "int" },
  w: { kind: "weak", weak: "float" },
};

const BINARY = [
  "+",
  "-",
  "*",
  "/",
  "%",
  "**",
  "<",
  "<=",
  ">",
  ">=",
  "==",
  "!=",
  "&",
  "|",
  "^",
  "//",
  "<<",
  ">>",
];
const LITERALS = [
  "0",
  "1",
  "2",
  "7",
  "0.5",
  "1e-8",
  ".5",
  "2.",
  "1e308",
  "0x1F",
  "0b101",
  "0o17",
  "True",
  "False",
  "2147483648",
  "9223372036854775808",
  "3.4e38",
  "1e-310",
];

/**
 * A random expression (or, with `program`, a program of assignments ending
 * with an expression) over {@linkcode FUZZ_VARS}; well-formed, but not
 * necessarily well-typed (`~` on floats, `&` on ints are type errors).
 */
export function randomExpression(r: () => number, depth = 4, program = false): string {
  const names = Object.keys(FUZZ_VARS);
  const temps: string[] = [];
  const expr = (d: number): string => {
    const roll = r();
    if (d <= 0 || roll < 0.2) {
      if (r() < 0.6) return pick(r, r() < 0.3 && temps.length ? temps : names);
      return pick(r, LITERALS);
    }
    if (roll < 0.55) return `${expr(d - 1)} ${pick(r, BINARY)} ${expr(d - 1)}`;
    if (roll < 0.65) return `${pick(r, ["-", "+", "~"])}${expr(d - 1)}`;
    if (roll < 0.8) return `(${expr(d - 1)})`;
    const fn = pick(r, Object.keys(FUNCTIONS));
    const args = Array.from({ length: FUNCTIONS[fn].arity }, () => expr(d - 1));
    return `${fn}(${args.join(", ")})`;
  };
  if (!program) return expr(depth);
  const lines: string[] = [];
  const statements = 1 + Math.floor(r() * 3);
  for (let n = 0; n < statements; n++) {
    const target = r() < 0.5 ? pick(r, ["f", "d", "i", "j", "b"]) : `t${n}`;
    lines.push(`${target} = ${expr(depth - 1)}`);
    if (target.startsWith("t")) temps.push(target);
  }
  if (r() < 0.8) lines.push(expr(depth - 1));
  return lines.join(pick(r, ["\n", "; ", ";\n", "  # c\n"]));
}

/** Pieces the mutator inserts: tokens of the language and characters outside it. */
const PIECES = [
  ...PUNCTUATORS,
  ...Object.keys(FUNCTIONS),
  ...LITERALS,
  "x",
  "and",
  "or",
  "not",
  "if",
  " ",
  "\n",
  "(",
  ")",
  ",",
  "1e",
  "0x",
  "0b2",
  "00",
  "1.2.3",
  ".",
  "@",
  "$",
  "\u00e9",
  "\u{1F600}",
  "\0",
  "\t",
  "#",
  "=",
  "==",
  "__proto__",
  "constructor",
];

/** A random mutation of `source`: characters or tokens deleted, inserted, duplicated or swapped. */
export function mutate(r: () => number, source: string): string {
  let s = source;
  const edits = 1 + Math.floor(r() * 3);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(r() * (s.length + 1));
    switch (Math.floor(r() * 6)) {
      case 0: // delete a character
        s = s.slice(0, at) + s.slice(at + 1);
        break;
      case 1: // delete a run
        s = s.slice(0, at) + s.slice(at + 1 + Math.floor(r() * 6));
        break;
      case 2: // insert a piece
        s = s.slice(0, at) + pick(r, PIECES) + s.slice(at);
        break;
      case 3: { // swap two characters
        const b = Math.floor(r() * (s.length + 1));
        const [lo, hi] = at < b ? [at, b] : [b, at];
        if (hi < s.length) {
          s = s.slice(0, lo) + s[hi] + s.slice(lo + 1, hi) + s[lo] + s.slice(hi + 1);
        }
        break;
      }
      case 4: // duplicate a slice
        s = s.slice(0, at) + s.slice(at, at + 1 + Math.floor(r() * 8)) + s.slice(at);
        break;
      default: { // swap two whitespace-separated tokens
        const words = s.split(" ");
        const a = Math.floor(r() * words.length), b = Math.floor(r() * words.length);
        [words[a], words[b]] = [words[b], words[a]];
        s = words.join(" ");
      }
    }
  }
  return s;
}

/** Most a single compilation may take in the fuzzing script, in ms (a hang detector). */
export const CASE_LIMIT_MS = 200;

/**
 * The compiler's property: `compileProgram(source)` either returns a program
 * or throws an {@linkcode ExpressionError} whose `offset` is in
 * `[0, source.length]`, and, when `limitMs` is given, within that time (the
 * fuzzing script's hang detector; tests do not time). Returns what went
 * wrong, or undefined.
 */
export function checkCompile(
  source: string,
  limitMs = Infinity,
  vars: Readonly<Record<string, VarSpec>> = FUZZ_VARS,
  outDtype?: DType,
): string | undefined {
  const t0 = performance.now();
  let problem: string | undefined;
  try {
    const p = compileProgram(source, vars, outDtype);
    if (!(p.code instanceof Uint32Array) || p.code.length < 8) problem = "no bytecode";
  } catch (e) {
    if (!(e instanceof ExpressionError)) {
      problem = `threw ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`;
    } else if (!(e.offset >= 0 && e.offset <= source.length)) {
      problem = `offset ${e.offset} outside [0, ${source.length}]: ${e.message}`;
    } else if (!e.message.startsWith(`at ${e.offset}: `)) {
      problem = `message does not start with its offset: ${e.message}`;
    }
  }
  const ms = performance.now() - t0;
  if (problem === undefined && ms > limitMs) problem = `took ${ms.toFixed(0)} ms`;
  return problem;
}

/**
 * Shrinks a failing input while `fails` still holds: drops chunks of
 * characters, halving the chunk size down to one (delta debugging, greedy).
 */
export function minimise(source: string, fails: (s: string) => boolean): string {
  let s = source;
  for (let chunk = Math.max(1, s.length >> 1); chunk >= 1; chunk >>= 1) {
    for (let at = 0; at < s.length;) {
      const shorter = s.slice(0, at) + s.slice(at + chunk);
      if (shorter !== s && fails(shorter)) s = shorter;
      else at += chunk;
    }
  }
  return s;
}
