/**
 * Programs with reductions before their last statement, run in phases.
 *
 * A reduction needs every element of its argument before anything can use
 * its value, so `m = mean(x); v = mean((x - m) ** 2)` cannot be one pass
 * over memory. {@linkcode planPhases} splits such a program after each
 * statement that assigns a reduction: each phase is one pass (its
 * element-wise statements fused, as in any program) ending with that
 * reduction, and the last phase is the rest of the program.
 *
 * Each phase is compiled as a program of its own, from the whole source
 * with the other phases' text blanked out, so offsets in its errors are
 * offsets in the program as written. A reduction assigned to a name that is
 * not passed in becomes the phase's result (`bare`), and its value is bound
 * to the name for the later phases: strongly typed, as a NumPy scalar (a
 * `mean` of float32 is a float32), or the reduced array along an axis.
 *
 * A temporary (a name assigned element-wise and not passed in) lives only
 * within its phase's pass; {@linkcode checkPhases} refuses a read of one in
 * a later phase, and an assignment to a bound name after reading it.
 *
 * @module
 */

import type { Expr, NameRef, Program, Span } from "./ast.ts";
import { ExpressionError } from "./errors.ts";
import { isReduction } from "./reduce.ts";

/** A name read or assigned by a statement, in source order. */
interface Use {
  readonly name: string;
  readonly span: Span;
  readonly assign: boolean;
  /** Index of the statement in the program's body. */
  readonly statement: number;
}

function reads(e: Expr, statement: number, into: Use[]): void {
  switch (e.type) {
    case "name":
      into.push({ name: e.name, span: e, assign: false, statement });
      break;
    case "unary":
      reads(e.operand, statement, into);
      break;
    case "binary":
      reads(e.left, statement, into);
      reads(e.right, statement, into);
      break;
    case "call":
      for (const a of e.args) reads(a, statement, into);
      break;
  }
}

/** The names of statements `from` to `to` (exclusive), reads of each before its assignment. */
function uses(program: Program, from: number, to: number): Use[] {
  const into: Use[] = [];
  for (let i = from; i < to; i++) {
    const s = program.body[i];
    reads(s.type === "assign" ? s.value : s, i, into);
    if (s.type === "assign") {
      into.push({ name: s.target.name, span: s.target, assign: true, statement: i });
    }
  }
  return into;
}

/**
 * The variables of a program: the names it reads before assigning them
 * (required), then those it assigns before reading (optional: an array
 * passed in is written in place, a name not passed in is a temporary).
 */
export function programNames(program: Program): { names: string[]; optional: Uint8Array } {
  const names: string[] = [];
  const optional: number[] = [];
  // A Set keeps this linear: a program may name tens of thousands of variables.
  const seen = new Set<string>();
  for (const use of uses(program, 0, program.body.length)) {
    if (seen.has(use.name)) continue;
    seen.add(use.name);
    names.push(use.name);
    optional.push(use.assign ? 1 : 0);
  }
  return { names, optional: Uint8Array.from(optional) };
}

/** A reduction that ends a phase, assigned to a name. */
export interface Binding {
  /** The name assigned. */
  readonly target: NameRef;
  /** The reduction called, and where. */
  readonly callee: string;
  readonly calleeSpan: Span;
  /** The phase's source with `target =` blanked too: the reduction is its result. */
  readonly bare: string;
}

/** One pass of a program: some of its statements, the others blanked. */
export interface Phase {
  /** The program's source with the other phases' statements blanked (same offsets). */
  readonly source: string;
  /** The reduction that ends the phase; undefined for the last phase. */
  readonly binding: Binding | undefined;
  /** Each name the phase reads before assigning it, at its first read. */
  readonly reads: ReadonlyMap<string, Span>;
  /** Each name its element-wise statements assign (not the binding), at the first assignment. */
  readonly writes: ReadonlyMap<string, Span>;
}

/** A program split into phases. */
export interface PhasePlan {
  /** The program as written. */
  readonly source: string;
  readonly phases: readonly Phase[];
}

/** `source` with everything outside `[from, to)` and inside `[cutFrom, cutTo)` blanked, newlines kept. */
function blank(source: string, from: number, to: number, cutFrom = to, cutTo = to): string {
  const spaces = (s: string) => s.replace(/[^\n]/g, " ");
  return spaces(source.slice(0, from)) + source.slice(from, cutFrom) +
    spaces(source.slice(cutFrom, cutTo)) + source.slice(cutTo, to) + spaces(source.slice(to));
}

/**
 * Splits a program after each statement but the last that assigns a
 * reduction (`m = mean(x)`); undefined when there is none, and the program
 * runs in one pass.
 *
 * @example
 * ```ts
 * import { parseProgram } from "./parser.ts";
 * import { planPhases } from "./phases.ts";
 * const source = "m = mean(x); (x - m) ** 2";
 * const plan = planPhases(source, parseProgram(source))!;
 * plan.phases.map((p) => p.source); // ["m = mean(x);              ", "             (x - m) ** 2"]
 * plan.phases[0].binding?.bare; //     "    mean(x);              "
 * ```
 */
export function planPhases(source: string, program: Program): PhasePlan | undefined {
  const body = program.body;
  const phases: Phase[] = [];
  let first = 0;
  for (let i = 0; i < body.length; i++) {
    const s = body[i];
    const last = i === body.length - 1;
    const ends = !last && s.type === "assign" && s.value.type === "call" &&
      isReduction(s.value.callee);
    if (!ends && !last) continue;
    if (last && phases.length === 0) return undefined;
    const from = body[first].start, to = last ? source.length : s.end;
    const readsOf = new Map<string, Span>(), writes = new Map<string, Span>();
    for (const use of uses(program, first, i + 1)) {
      if (use.assign) {
        if (!(ends && use.statement === i) && !writes.has(use.name)) writes.set(use.name, use.span);
      } else if (!writes.has(use.name) && !readsOf.has(use.name)) readsOf.set(use.name, use.span);
    }
    let binding: Binding | undefined;
    if (ends && s.type === "assign" && s.value.type === "call") {
      binding = {
        target: s.target,
        callee: s.value.callee,
        calleeSpan: s.value.calleeSpan,
        bare: blank(source, from, to, s.target.start, s.value.start),
      };
    }
    phases.push({ source: blank(source, from, to), binding, reads: readsOf, writes });
    first = i + 1;
  }
  return { source, phases };
}

/**
 * Checks the names of a phased program given which are passed in: a
 * temporary of one phase read in a later one, or a name bound to a
 * reduction's value assigned after a read in a later phase, is an error at
 * that read or assignment.
 *
 * @throws {ExpressionError} at the first such read or assignment
 */
export function checkPhases(plan: PhasePlan, passed: (name: string) => boolean): void {
  /** The binding or the phase-ending reduction of each name's latest value, when it is not passed in. */
  const latest = new Map<string, { readonly temp: boolean; readonly by: Binding }>();
  const at = (span: Span, detail: string) => new ExpressionError(plan.source, span, detail);
  for (const phase of plan.phases) {
    for (const [name, span] of phase.reads) {
      const was = latest.get(name);
      if (was?.temp) {
        throw at(
          span,
          `'${name}' is a temporary of the pass that ends with ${was.by.callee}() at ${was.by.calleeSpan.start}, so it is gone after it: compute it again here, or pass an array '${name}' to keep it`,
        );
      }
      const write = phase.writes.get(name);
      if (was !== undefined && write !== undefined) {
        throw at(
          write,
          `cannot assign to '${name}': it holds the value of ${was.by.callee}() at ${was.by.calleeSpan.start}; assign to another name`,
        );
      }
    }
    const by = phase.binding;
    if (by === undefined) continue;
    for (const name of phase.writes.keys()) if (!passed(name)) latest.set(name, { temp: true, by });
    if (!passed(by.target.name)) latest.set(by.target.name, { temp: false, by });
  }
}

/**
 * A phase as the API compiles or runs it: its source, the name its
 * reduction's value is bound to (a name not passed in), and the values of
 * earlier phases it reads, by name.
 */
export interface PhaseRun<T> {
  readonly source: string;
  readonly binds: string | undefined;
  readonly bound: ReadonlyMap<string, T>;
}

/**
 * The phases of a plan, one at a time, once {@linkcode checkPhases} passes:
 * yields each phase but the last and takes back the value its reduction
 * binds (a value, or a stand-in of its type); returns the last phase.
 *
 * @throws {ExpressionError} as {@linkcode checkPhases}
 */
export function* phaseRuns<T>(
  plan: PhasePlan,
  passed: (name: string) => boolean,
): Generator<PhaseRun<T>, PhaseRun<T>, T | undefined> {
  checkPhases(plan, passed);
  const values = new Map<string, T>();
  const runOf = (phase: Phase): PhaseRun<T> => {
    const by = phase.binding;
    const binds = by === undefined || passed(by.target.name) ? undefined : by.target.name;
    const bound = new Map<string, T>();
    for (const name of phase.reads.keys()) {
      const value = values.get(name);
      if (value !== undefined) bound.set(name, value);
    }
    return { source: binds === undefined ? phase.source : by!.bare, binds, bound };
  };
  const phases = plan.phases;
  for (const phase of phases.slice(0, -1)) {
    const run = runOf(phase);
    const value = yield run;
    if (run.binds !== undefined && value !== undefined) values.set(run.binds, value);
  }
  return runOf(phases[phases.length - 1]);
}
