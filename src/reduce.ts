/**
 * Reductions: `sum prod min max mean any all count_nonzero`, over the whole
 * array or along one axis (`sum(x, axis=0)`, `sum(x, 0)`, negative axes
 * count from the end).
 *
 * A reduction is the outermost operation of a statement. One in the last
 * statement is its result (`sum(x * y)`, `t = x * 2; sum(t)`) or an
 * assignment to an array passed in (`s = sum(x, axis=0)`); one assigned in
 * an earlier statement ends a phase of the program (`src/phases.ts`), whose
 * value the later statements read (`m = mean(x); x - m`). The compiler
 * splits a program ending with a reduction ({@linkcode splitReduction}) into the element-wise program whose
 * result is the reduction's argument, then the reduction itself, which the
 * VM's `reduce` runs over that result (or over the variable itself when the
 * whole program is a reduction of one array variable, without a copy).
 * Anywhere else a reduction is an `ExpressionError` saying what to write.
 *
 * Result dtypes (NumPy's): `sum` and `prod` of bool and signed integers are
 * int64, of unsigned integers uint64, of floats the same float; `mean` of
 * bool and integers is float64, of floats the same float; `min` and `max`
 * keep the dtype; `any` and `all` are bool; `count_nonzero` is int64.
 *
 * @module
 */

import type { Call, NameRef, Program, Span, TypedProgram, VarSpec } from "./ast.ts";
import { canCast, type DType, dtypeKind } from "./dtype.ts";
import { ExpressionError } from "./errors.ts";

/** The reductions, by name, with their codes in the VM (`rust/core/src/reduce.rs`). */
export const REDUCTIONS = {
  sum: 0,
  prod: 1,
  min: 2,
  max: 3,
  mean: 4,
  any: 5,
  all: 6,
  count_nonzero: 7,
} as const;

/** The name of a reduction. */
export type ReductionName = keyof typeof REDUCTIONS;

/** Whether `name` is a reduction. */
export function isReduction(name: string): name is ReductionName {
  return Object.hasOwn(REDUCTIONS, name);
}

/**
 * The dtype of reduction `name` over `dtype`, as NumPy's.
 *
 * @example
 * ```ts
 * import { reductionDtype } from "./reduce.ts";
 * reductionDtype("sum", "int32"); // "int64"
 * reductionDtype("mean", "float32"); // "float32"
 * ```
 */
export function reductionDtype(name: ReductionName, dtype: DType): DType {
  const kind = dtypeKind(dtype);
  switch (name) {
    case "sum":
    case "prod":
      return kind === "f" ? dtype : kind === "u" ? "uint64" : "int64";
    case "mean":
      return kind === "f" ? dtype : "float64";
    case "min":
    case "max":
      return dtype;
    case "any":
    case "all":
      return "bool";
    case "count_nonzero":
      return "int64";
  }
}

/** The error for a reduction that is not the outermost operation of a statement. */
export function misplacedReduction(source: string, call: Call): ExpressionError {
  const f = call.callee;
  return new ExpressionError(
    source,
    call.calleeSpan,
    `${f}() must be the outermost operation of a statement, as in '${f}(x * y)' or ` +
      `'m = ${f}(x); x - m'`,
  );
}

/** A reduction that ends a program, as the parser found it. */
export interface ReductionSite {
  readonly name: ReductionName;
  readonly call: Call;
  /** The axis as written (may be negative); undefined for the whole array. */
  readonly axis: number | undefined;
  /** The array the value is assigned to (`s = sum(x)`), if any. */
  readonly target: NameRef | undefined;
  /** The variable reduced in place, when the program is only a reduction of an array variable. */
  readonly bare: string | undefined;
}

/** What {@linkcode splitReduction} makes of a program. */
export interface Split {
  /**
   * The element-wise program: the statements before the reduction, then
   * the reduction's argument as the result.
   */
  readonly program: Program;
  /** The reduction that ended the program; undefined when none did. */
  readonly site: ReductionSite | undefined;
}

/**
 * Splits a program that ends with a reduction into the element-wise
 * program computing its argument and the reduction; returns the program as
 * it is when it does not end with one. A reduction anywhere else is refused
 * by the type checker ({@linkcode misplacedReduction}): the API splits a
 * program after each statement that assigns one (`src/phases.ts`).
 *
 * @throws {ExpressionError} on a call of a reduction with a wrong argument count
 *
 * @example
 * ```ts
 * import { parseProgram } from "./parser.ts";
 * import { splitReduction } from "./reduce.ts";
 * const source = "t = x * 2; sum(t, axis=0)";
 * const { program, site } = splitReduction(parseProgram(source), {}, source);
 * program.body.length; // 2: t = x * 2, then t as the result
 * site?.axis; // 0
 * ```
 */
export function splitReduction(
  program: Program,
  vars: Readonly<Record<string, VarSpec>>,
  source: string,
): Split {
  const body = program.body;
  const last = body[body.length - 1];
  const target = last.type === "assign" ? last.target : undefined;
  const value = last.type === "assign" ? last.value : last;
  if (value.type !== "call" || !isReduction(value.callee)) return { program, site: undefined };
  if (value.args.length !== 1) {
    throw new ExpressionError(
      source,
      value,
      `${value.callee}() takes one array argument and an optional axis, got ${value.args.length} arguments besides the axis`,
    );
  }
  const argument = value.args[0];
  const bare = body.length === 1 && argument.type === "name" &&
      Object.hasOwn(vars, argument.name) && vars[argument.name].kind === "array"
    ? argument.name
    : undefined;
  const site: ReductionSite = {
    name: value.callee,
    call: value,
    axis: value.axis?.value,
    target,
    bare,
  };
  return {
    program: { ...program, body: [...body.slice(0, -1), argument], end: argument.end },
    site,
  };
}

/** A typed reduction: what the API runs after the element-wise program. */
export interface CompiledReduction {
  readonly name: ReductionName;
  /** The VM's code of the reduction. */
  readonly code: number;
  /** The axis as written; undefined for the whole array. */
  readonly axis: number | undefined;
  /** The dtype reduced. */
  readonly dtype: DType;
  /** The dtype of the result. */
  readonly resultDtype: DType;
  /** The array variable reduced in place (no element-wise program runs), if any. */
  readonly input: string | undefined;
  /** The array variable the result is written to, if any, and its dtype. */
  readonly target: { readonly name: string; readonly dtype: DType } | undefined;
}

/**
 * Types a reduction found by {@linkcode splitReduction}, given the typed
 * element-wise program (whose result is the reduction's argument).
 *
 * @throws {ExpressionError} on a target that is not an array passed in, or whose dtype the result cannot be cast to (`same_kind`)
 */
export function typeReduction(
  site: ReductionSite,
  typed: TypedProgram,
  vars: Readonly<Record<string, VarSpec>>,
  source: string,
): CompiledReduction {
  const statements = typed.statements;
  const dtype = statements[statements.length - 1].value.dtype;
  const at = (span: Span, detail: string) => new ExpressionError(source, span, detail);
  const resultDtype = reductionDtype(site.name, dtype);
  let target: CompiledReduction["target"];
  if (site.target !== undefined) {
    const name = site.target.name;
    const spec = Object.hasOwn(vars, name) ? vars[name] : undefined;
    if (spec === undefined) {
      throw at(
        site.target,
        `cannot assign ${site.name}() to '${name}': it is not passed in; pass an array to write ` +
          `the result into, or end the program with ${site.name}(...) to get its value`,
      );
    }
    if (spec.kind !== "array") {
      throw at(
        site.target,
        `cannot assign to '${name}': it is a scalar, and only arrays passed in are written`,
      );
    }
    if (!canCast(resultDtype, spec.dtype, "same_kind")) {
      throw at(
        site.target,
        `cannot assign a ${resultDtype} ${site.name}() to '${name}', ${
          /^[aeiou]/.test(spec.dtype) ? "an" : "a"
        } ${spec.dtype} array (casting "same_kind")`,
      );
    }
    target = { name, dtype: spec.dtype };
  }
  return {
    name: site.name,
    code: REDUCTIONS[site.name],
    axis: site.axis,
    dtype,
    resultDtype,
    input: site.bare,
    target,
  };
}

/**
 * A reduction's line in a disassembly, after the element-wise program's
 * listing: what it reduces (the variable, or that program's output 0), the
 * axis, the result dtype and where it goes.
 *
 * @example
 * ```ts
 * import { describeReduction } from "./reduce.ts";
 * describeReduction({
 *   name: "sum", code: 0, axis: 0, dtype: "float32", resultDtype: "float32",
 *   input: undefined, target: { name: "s", dtype: "float64" },
 * }); // "reduce sum(output[0] float32, axis=0) -> float32 into 's' float64"
 * ```
 */
export function describeReduction(r: CompiledReduction): string {
  const what = r.input === undefined ? "output[0]" : `'${r.input}'`;
  const axis = r.axis === undefined ? "" : `, axis=${r.axis}`;
  const into = r.target === undefined ? "" : ` into '${r.target.name}' ${r.target.dtype}`;
  return `reduce ${r.name}(${what} ${r.dtype}${axis}) -> ${r.resultDtype}${into}`;
}
