/**
 * The expression compiler: parse → typecheck → optimize → generate.
 *
 * @module
 */

import type { TypedExpr, VarSpec } from "./ast.ts";
import { generate } from "./codegen.ts";
import type { DType } from "./dtype.ts";
import { optimize } from "./optimizer.ts";
import { parse } from "./parser.ts";
import { typecheck } from "./types.ts";

/** A compiled expression: its bytecode and what its slots are bound to. */
export interface CompiledProgram {
  /** The expression as written. */
  readonly source: string;
  /** The bytecode, in the format drawn in `opcodes.ts`. */
  readonly code: Uint32Array;
  /** The typed tree before optimization, for reference evaluators. */
  readonly typed: TypedExpr;
  /** The array variable read by each input slot. */
  readonly inputs: readonly string[];
  /** The variable and dtype of each scalar slot. */
  readonly scalars: readonly { readonly name: string; readonly dtype: DType }[];
  /** Each output slot: one, named `""`, for a single expression. */
  readonly outputs: readonly { readonly name: string; readonly dtype: DType }[];
}

/**
 * Compiles an expression for the given variables. With `outDtype`, the
 * result is cast to it (the caller checks that the cast is allowed).
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
  const typed = typecheck(parse(source), vars, source);
  const { code, inputs, scalars, outputs } = generate(optimize(typed), outDtype);
  return Object.freeze({
    source,
    code,
    typed,
    inputs: Object.freeze(inputs),
    scalars: Object.freeze(scalars.map((s) => Object.freeze(s))),
    outputs: Object.freeze(outputs.map((o) => Object.freeze(o))),
  });
}

/**
 * The dtype an expression evaluates to for the given variables.
 *
 * @throws {ExpressionError} on a syntax or type error, at its offset
 *
 * @example
 * ```ts
 * import { resultDtype } from "./compiler.ts";
 * resultDtype("i / 2", { i: { kind: "array", dtype: "int32" } }); // "float64"
 * ```
 */
export function resultDtype(source: string, vars: Readonly<Record<string, VarSpec>>): DType {
  return typecheck(parse(source), vars, source).dtype;
}
