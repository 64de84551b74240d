/**
 * The expression compiler: parse → typecheck → optimize → generate.
 *
 * @module
 */

import type { TypedExpr, TypedProgram, VarSpec } from "./ast.ts";
import { generateProgram } from "./codegen.ts";
import type { DType } from "./dtype.ts";
import { optimizeProgram } from "./optimizer.ts";
import { parseProgram } from "./parser.ts";
import { type CompiledReduction, splitReduction, typeReduction } from "./reduce.ts";
import { typecheckProgram } from "./types.ts";

/** A compiled program: its bytecode and what its slots are bound to. */
export interface CompiledProgram {
  /** The program as written. */
  readonly source: string;
  /** The bytecode, in the format drawn in `opcodes.ts`. */
  readonly code: Uint32Array;
  /** The typed program before optimization, for reference evaluators. */
  readonly program: TypedProgram;
  /** The typed tree of the last statement before optimization (the result, if there is one). */
  readonly typed: TypedExpr;
  /** The array variable read by each input slot. */
  readonly inputs: readonly string[];
  /** The variable and dtype of each scalar slot. */
  readonly scalars: readonly { readonly name: string; readonly dtype: DType }[];
  /**
   * Each output slot: the result, named `""`, when the program ends with an
   * expression, then each array assigned, by name.
   */
  readonly outputs: readonly { readonly name: string; readonly dtype: DType }[];
  /** Work per element: the sum of the instructions' costs, as the VM's thread planner counts it. */
  readonly cost: number;
  /** Whether the program ends with an expression, whose value is output slot 0. */
  readonly hasResult: boolean;
  /**
   * The reduction that ends the program, if one does: the rest of the
   * program above computes its argument as the result (or, when the
   * reduction reads an array variable in place, `code` is empty).
   */
  readonly reduction: CompiledReduction | undefined;
}

/** The code of a program that runs nothing: a reduction of a variable in place. */
const NO_CODE = { code: new Uint32Array(0), inputs: [], scalars: [], outputs: [], cost: 0 };

/**
 * Compiles a program (one expression, or statements) for the given variables.
 * With `outDtype`, the result is cast to it (the caller checks that the cast
 * is allowed).
 *
 * @throws {ExpressionError} on a syntax or type error, at its offset
 *
 * @example
 * ```ts
 * import { compileProgram } from "./compiler.ts";
 * const p = compileProgram("x * 0.5", { x: { kind: "array", dtype: "float32" } });
 * p.outputs; // [{ name: "", dtype: "float32" }]
 * ```
 */
export function compileProgram(
  source: string,
  vars: Readonly<Record<string, VarSpec>>,
  outDtype?: DType,
): CompiledProgram {
  const { program: parsed, site } = splitReduction(parseProgram(source), vars, source);
  const program = typecheckProgram(parsed, vars, source);
  const reduction = site && typeReduction(site, program, vars, source);
  const { code, inputs, scalars, outputs, cost } = reduction?.input !== undefined
    ? NO_CODE
    : generateProgram(optimizeProgram(program), outDtype);
  const { statements } = program;
  return Object.freeze({
    source,
    code,
    program,
    typed: statements[statements.length - 1].value,
    inputs: Object.freeze(inputs),
    scalars: Object.freeze(scalars.map((s) => Object.freeze(s))),
    outputs: Object.freeze(outputs.map((o) => Object.freeze(o))),
    cost,
    hasResult: statements[statements.length - 1].kind === "result" && !reduction?.input,
    reduction,
  });
}

/**
 * The dtype a program's result has for the given variables, or undefined when
 * it ends with an assignment.
 *
 * @throws {ExpressionError} on a syntax or type error, at its offset
 *
 * @example
 * ```ts
 * import { resultDtype } from "./compiler.ts";
 * resultDtype("i / 2", { i: { kind: "array", dtype: "int32" } }); // "float64"
 * ```
 */
export function resultDtype(
  source: string,
  vars: Readonly<Record<string, VarSpec>>,
): DType | undefined {
  const { program: parsed, site } = splitReduction(parseProgram(source), vars, source);
  const typed = typecheckProgram(parsed, vars, source);
  if (site !== undefined) {
    return site.target ? undefined : typeReduction(site, typed, vars, source).resultDtype;
  }
  const last = typed.statements[typed.statements.length - 1];
  return last.kind === "result" ? last.value.dtype : undefined;
}
