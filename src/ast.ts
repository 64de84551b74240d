/**
 * The syntax tree the parser builds and the typed tree the type checker makes
 * of it. Every node carries the source span it came from (`start` inclusive,
 * `end` exclusive, in UTF-16 code units of the expression string).
 *
 * @module
 */

import type { DType, WeakKind } from "./dtype.ts";
import type { OpName } from "./opcodes.ts";

/** A half-open range of the source text. */
export interface Span {
  /** Offset of the first character. */
  readonly start: number;
  /** Offset one past the last character. */
  readonly end: number;
}

/** Binary operators of the language, as written. */
export type BinaryOperator =
  | "+"
  | "-"
  | "*"
  | "/"
  | "//"
  | "%"
  | "**"
  | "<<"
  | ">>"
  | "&"
  | "|"
  | "^"
  | "<"
  | "<="
  | ">"
  | ">="
  | "=="
  | "!=";

/** Unary operators of the language. */
export type UnaryOperator = "-" | "+" | "~";

/** A syntax tree node. */
export type Expr =
  | IntLiteral
  | FloatLiteral
  | BoolLiteral
  | NameRef
  | Unary
  | Binary
  | Call;

/** An integer literal (`42`). */
export interface IntLiteral extends Span {
  readonly type: "int";
  readonly value: bigint;
}

/** A float literal (`1e-8`, `.5`, `2.`, `inf`/`nan` are names, not literals). */
export interface FloatLiteral extends Span {
  readonly type: "float";
  readonly value: number;
}

/** `True` or `False`. */
export interface BoolLiteral extends Span {
  readonly type: "bool";
  readonly value: boolean;
}

/** A variable reference. */
export interface NameRef extends Span {
  readonly type: "name";
  readonly name: string;
}

/** `op operand`. */
export interface Unary extends Span {
  readonly type: "unary";
  readonly op: UnaryOperator;
  readonly operand: Expr;
}

/** `left op right`. */
export interface Binary extends Span {
  readonly type: "binary";
  readonly op: BinaryOperator;
  /** Span of the operator token itself. */
  readonly opSpan: Span;
  readonly left: Expr;
  readonly right: Expr;
}

/** `callee(args...)`. */
export interface Call extends Span {
  readonly type: "call";
  readonly callee: string;
  /** Span of the function name. */
  readonly calleeSpan: Span;
  readonly args: readonly Expr[];
  /** The axis of a reduction (`sum(x, axis=0)`, `sum(x, 0)`), if given. */
  readonly axis?: AxisArgument;
}

/** The axis argument of a reduction: an integer literal, possibly negative. */
export interface AxisArgument extends Span {
  readonly value: number;
}

/** `target = value`: a statement of a program. */
export interface Assign extends Span {
  readonly type: "assign";
  /** The name assigned. */
  readonly target: NameRef;
  /** Span of the `=` token. */
  readonly opSpan: Span;
  readonly value: Expr;
}

/** A statement: an assignment, or (only as the last statement) an expression. */
export type Statement = Assign | Expr;

/**
 * A program: statements separated by newlines or `;`. Every statement but the
 * last is an {@linkcode Assign}; the last may be an expression, the result.
 */
export interface Program extends Span {
  readonly type: "program";
  readonly body: readonly Statement[];
}

/** How a variable is bound when a program is compiled. */
export type VarSpec =
  /** A TypedArray (or N-d operand) of this dtype. */
  | { readonly kind: "array"; readonly dtype: DType }
  /** A scalar with a declared dtype (strongly typed, as a NumPy scalar). */
  | { readonly kind: "scalar"; readonly dtype: DType }
  /** A JS number, bigint or boolean: weakly typed, as Python scalars are in NEP 50. */
  | { readonly kind: "weak"; readonly weak: WeakKind | "bool" };

/**
 * A typed tree node. Every `op` node corresponds to exactly one opcode:
 * `findOpcode(node.op, node.args.map((a) => a.dtype))`; every conversion is an
 * explicit `cast` node.
 */
export type TypedExpr =
  | TypedConst
  | TypedInput
  | TypedScalar
  | TypedRef
  | TypedCast
  | TypedOp;

/** A constant of a concrete dtype (a literal or a folded subexpression). */
export interface TypedConst extends Span {
  readonly type: "const";
  readonly dtype: DType;
  /** number for floats, bigint for integers, boolean for bool. */
  readonly value: number | bigint | boolean;
}

/** An array variable. */
export interface TypedInput extends Span {
  readonly type: "input";
  readonly dtype: DType;
  readonly name: string;
}

/** A scalar variable, in the dtype this use of it takes (weak scalars are re-typed per use). */
export interface TypedScalar extends Span {
  readonly type: "scalar";
  readonly dtype: DType;
  readonly name: string;
}

/**
 * A read of a name assigned earlier in the program: the value statement
 * `index` computed (element by element), not the array passed in.
 */
export interface TypedRef extends Span {
  readonly type: "ref";
  readonly dtype: DType;
  readonly name: string;
  /** Index of the statement in {@linkcode TypedProgram.statements}. */
  readonly index: number;
}

/** A conversion to `dtype`. */
export interface TypedCast extends Span {
  readonly type: "cast";
  readonly dtype: DType;
  readonly operand: TypedExpr;
}

/** An operation: one opcode. */
export interface TypedOp extends Span {
  readonly type: "op";
  readonly dtype: DType;
  readonly op: OpName;
  readonly args: readonly TypedExpr[];
}

/** What a typed statement does with its value. */
export type StatementKind =
  /** Writes the passed-in array `name` in place (the value is already of its dtype). */
  | "output"
  /** Binds a block-local temporary `name`. */
  | "temp"
  /** The program's final expression: its result. */
  | "result";

/** A typed statement. */
export interface TypedStatement extends Span {
  readonly kind: StatementKind;
  /** The name assigned; `""` for the result. */
  readonly name: string;
  readonly value: TypedExpr;
}

/**
 * A typed program: statements in source order. A {@linkcode TypedRef} refers
 * to an earlier statement; the last `output` statement of a name is the value
 * written to its array, and at most one, the last, statement is the `result`.
 */
export interface TypedProgram {
  readonly statements: readonly TypedStatement[];
}
