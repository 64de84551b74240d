/**
 * The type checker: infers the dtype of every node with NumPy 2 rules (NEP 50
 * weak scalars), makes every conversion an explicit `cast` node, and maps
 * every operation to exactly one opcode of the table in `opcodes.ts`.
 *
 * Weak values (literals and JS-number variables) take the dtype of their use;
 * a subexpression of weak values only is computed as Python would (int64 or
 * float64) and then converted to the dtype of its use.
 *
 * @module
 */

import type {
  BinaryOperator,
  Call,
  Expr,
  Program,
  Span,
  TypedExpr,
  TypedProgram,
  TypedStatement,
  VarSpec,
} from "./ast.ts";
import {
  canCast,
  defaultDtype,
  type DType,
  dtypeKind,
  intRange,
  promote,
  promoteWeak,
  type WeakKind,
} from "./dtype.ts";
import { didYouMean, ExpressionError } from "./errors.ts";
import type { OpName } from "./opcodes.ts";
import { isReduction, misplacedReduction } from "./reduce.ts";

/** The dtypes the opcode table covers; variables of other dtypes are refused. */
export const SUPPORTED_DTYPES: readonly DType[] = ["bool", "int32", "int64", "float32", "float64"];

/** Functions of the language: arity and how their arguments are typed. */
export const FUNCTIONS: Readonly<Record<string, { readonly arity: number }>> = {
  where: { arity: 3 },
  abs: { arity: 1 },
  sqrt: { arity: 1 },
  exp: { arity: 1 },
  log: { arity: 1 },
  sin: { arity: 1 },
  cos: { arity: 1 },
  tanh: { arity: 1 },
  tan: { arity: 1 },
  arcsin: { arity: 1 },
  arccos: { arity: 1 },
  arctan: { arity: 1 },
  sinh: { arity: 1 },
  cosh: { arity: 1 },
  arcsinh: { arity: 1 },
  arccosh: { arity: 1 },
  arctanh: { arity: 1 },
  expm1: { arity: 1 },
  log1p: { arity: 1 },
  log2: { arity: 1 },
  log10: { arity: 1 },
  exp2: { arity: 1 },
  arctan2: { arity: 2 },
  ceil: { arity: 1 },
  floor: { arity: 1 },
  trunc: { arity: 1 },
  round: { arity: 1 },
  square: { arity: 1 },
  reciprocal: { arity: 1 },
  sign: { arity: 1 },
  isnan: { arity: 1 },
  isfinite: { arity: 1 },
  isinf: { arity: 1 },
  signbit: { arity: 1 },
  copysign: { arity: 2 },
  hypot: { arity: 2 },
  fmod: { arity: 2 },
  maximum: { arity: 2 },
  minimum: { arity: 2 },
  clip: { arity: 3 },
  fma: { arity: 3 },
};

/** Functions computed in the dtype of their operands, integers included (no float conversion). */
const SAME_DTYPE: ReadonlySet<string> = new Set([
  "abs",
  "sign",
  "square",
  "fmod",
  "maximum",
  "minimum",
  "clip",
]);
/** Predicates: any numeric dtype in, bool out. */
const PREDICATES: ReadonlySet<string> = new Set(["isnan", "isfinite", "isinf", "signbit"]);
/**
 * Float-only functions that refuse integers: NumPy's result dtype for them
 * differs between versions (ceil, floor, trunc) or is not a float
 * (reciprocal's integer division).
 */
const FLOATS_ONLY: ReadonlySet<string> = new Set(["ceil", "floor", "trunc", "reciprocal"]);

type WeakClass = WeakKind | "bool";

/** A checked subtree: strongly typed, or weak and built once the dtype of its use is known. */
type Checked =
  | { readonly weak?: undefined; readonly node: TypedExpr }
  | { readonly weak: WeakClass; readonly build: (dtype: DType) => TypedExpr };

const ARITHMETIC: Partial<Record<BinaryOperator, OpName>> = {
  "+": "add",
  "-": "sub",
  "*": "mul",
  "%": "mod",
  "**": "pow",
};
const COMPARISON: Partial<Record<BinaryOperator, OpName>> = {
  "<": "lt",
  "<=": "le",
  ">": "gt",
  ">=": "ge",
  "==": "eq",
  "!=": "ne",
};
const LOGICAL: Partial<Record<BinaryOperator, OpName>> = { "&": "and", "|": "or" };
const WEAK_ORDER: readonly WeakClass[] = ["bool", "int", "float"];

function weakDefault(weak: WeakClass): DType {
  return weak === "bool" ? "bool" : defaultDtype(weak);
}

function weakMax(a: WeakClass, b: WeakClass): WeakClass {
  return WEAK_ORDER.indexOf(a) >= WEAK_ORDER.indexOf(b) ? a : b;
}

/** The dtype of a strong value used alongside a weak one (NEP 50). */
function promoteWithWeak(dtype: DType, weak: WeakClass): DType {
  return weak === "bool" ? dtype : promoteWeak(dtype, weak);
}

/**
 * Type-checks a parsed expression against the variables it may use.
 *
 * Only own properties of `vars` are variables. An expression of weak values
 * only takes the default dtype of its kind (int64, float64 or bool).
 *
 * @throws {ExpressionError} on an unknown name, a wrong arity or an unsupported operation
 *
 * @example
 * ```ts
 * import { parse } from "./parser.ts";
 * import { typecheck } from "./types.ts";
 * const typed = typecheck(parse("x * 0.5"), { x: { kind: "array", dtype: "float32" } }, "x * 0.5");
 * typed.dtype; // "float32"
 * ```
 */
export function typecheck(
  expr: Expr,
  vars: Readonly<Record<string, VarSpec>>,
  source: string,
): TypedExpr {
  return resolve(new Checker(vars, source).check(expr));
}

/**
 * Type-checks a parsed program against the variables passed in.
 *
 * An assigned name that is a variable must be an array: the value is cast to
 * its dtype (NumPy `same_kind` casting, else an error) and written to it in
 * place. An assigned name that is not a variable is a temporary of its
 * value's dtype (a weak value stays weak, as a Python scalar would). A read
 * of a name after it is assigned reads the assigned value ({@linkcode TypedRef}).
 *
 * @throws {ExpressionError} on an unknown name, a scalar assigned, a refused
 * cast, a program that writes nothing, or any error of {@linkcode typecheck}
 *
 * @example
 * ```ts
 * import { parseProgram } from "./parser.ts";
 * import { typecheckProgram } from "./types.ts";
 * const source = "t = x * 2; t + 1";
 * const typed = typecheckProgram(
 *   parseProgram(source),
 *   { x: { kind: "array", dtype: "float32" } },
 *   source,
 * );
 * typed.statements.map((s) => s.kind); // ["temp", "result"]
 * ```
 */
export function typecheckProgram(
  program: Program,
  vars: Readonly<Record<string, VarSpec>>,
  source: string,
): TypedProgram {
  return new Checker(vars, source).program(program);
}

/** A checked subtree as a typed node: a weak one at its default dtype. */
function resolve(c: Checked): TypedExpr {
  return c.weak === undefined ? c.node : c.build(weakDefault(c.weak));
}

/** A checked subtree at `dtype`: weak ones are re-typed, strong ones cast. */
function at(c: Checked, dtype: DType): TypedExpr {
  if (c.weak !== undefined) return c.build(dtype);
  return c.node.dtype === dtype ? c.node : cast(c.node, dtype);
}

function cast(node: TypedExpr, dtype: DType): TypedExpr {
  return { type: "cast", dtype, operand: node, start: node.start, end: node.end };
}

/** The dtype two checked operands meet at, or a weak class when both are weak. */
function meet(a: Checked, b: Checked): DType | WeakClass {
  if (a.weak !== undefined && b.weak !== undefined) return weakMax(a.weak, b.weak);
  if (a.weak !== undefined) return promoteWithWeak((b as { node: TypedExpr }).node.dtype, a.weak);
  if (b.weak !== undefined) return promoteWithWeak(a.node.dtype, b.weak);
  return promote(a.node.dtype, b.node.dtype);
}

function isWeakClass(t: DType | WeakClass): t is WeakClass {
  return t === "int" || t === "float" || t === "bool";
}

/** What reading an assigned name gives, at the span of the read. */
type Binding = (where: Span) => Checked;

function isLeaf(e: TypedExpr): boolean {
  return e.type === "const" || e.type === "scalar" || e.type === "input";
}

class Checker {
  readonly #vars: Readonly<Record<string, VarSpec>>;
  readonly #source: string;
  /** Names assigned so far in the program, shadowing the variables passed in. */
  readonly #bound = new Map<string, Binding>();

  constructor(vars: Readonly<Record<string, VarSpec>>, source: string) {
    this.#vars = vars;
    this.#source = source;
  }

  #error(span: Span, detail: string): ExpressionError {
    return new ExpressionError(this.#source, span, detail);
  }

  /**
   * A weak compound: computed at its default dtype (as Python computes it)
   * and converted to the dtype of its use.
   */
  #weakCompound(weak: WeakClass, make: (dtype: DType) => TypedExpr): Checked {
    const node = make(weakDefault(weak));
    return { weak, build: (dtype) => node.dtype === dtype ? node : cast(node, dtype) };
  }

  check(e: Expr): Checked {
    switch (e.type) {
      case "int":
        return this.#intLiteral(e.value, e);
      case "float":
        return { weak: "float", build: (dtype) => floatConst(e.value, dtype, e) };
      case "bool":
        return {
          weak: "bool",
          build: (dtype) => ({
            type: "const",
            dtype,
            value: boolValue(e.value, dtype),
            ...span(e),
          }),
        };
      case "name":
        return this.#name(e.name, e);
      case "unary":
        if (e.op === "-" && e.operand.type === "int") return this.#intLiteral(-e.operand.value, e);
        if (e.op === "-" && e.operand.type === "float") {
          const value = -e.operand.value;
          return { weak: "float", build: (dtype) => floatConst(value, dtype, e) };
        }
        return this.#unary(e.op, this.check(e.operand), e);
      case "binary":
        return this.#binary(e.op, e.opSpan, this.check(e.left), this.check(e.right), e);
      case "call":
        return this.#call(e);
    }
  }

  program(p: Program): TypedProgram {
    const statements: TypedStatement[] = [];
    for (const s of p.body) {
      if (s.type !== "assign") {
        statements.push({ kind: "result", name: "", value: resolve(this.check(s)), ...span(s) });
        continue;
      }
      const name = s.target.name;
      const checked = this.check(s.value);
      const index = statements.length;
      if (!Object.hasOwn(this.#vars, name)) {
        const value = resolve(checked);
        statements.push({ kind: "temp", name, value, ...span(s) });
        this.#bound.set(name, this.#tempBinding(checked, value, name, index));
        continue;
      }
      const spec = this.#vars[name];
      if (spec.kind !== "array") {
        throw this.#error(
          s.target,
          `cannot assign to '${name}': it is a scalar, and only arrays passed in are written`,
        );
      }
      if (!SUPPORTED_DTYPES.includes(spec.dtype)) {
        throw this.#error(
          s.target,
          `variable '${name}' has dtype ${spec.dtype}, which is not supported yet`,
        );
      }
      const to = spec.dtype;
      const from = checked.weak === undefined ? checked.node.dtype : weakDefault(checked.weak);
      if (!canCast(from, to, "same_kind")) {
        const what = checked.weak === undefined ? from : `${checked.weak} scalar`;
        throw this.#error(
          s,
          `cannot assign a ${what} value to '${name}', ${
            article(to)
          } ${to} array (casting "same_kind")`,
        );
      }
      statements.push({ kind: "output", name, value: at(checked, to), ...span(s) });
      this.#bound.set(name, (where) => ({
        node: { type: "ref", dtype: to, name, index, ...span(where) },
      }));
    }
    if (!statements.some((s) => s.kind !== "temp")) {
      const names = [...new Set(statements.map((s) => `'${s.name}'`))].join(", ");
      throw this.#error(
        p.body[p.body.length - 1],
        `the program has no effect: it assigns only temporaries (${names}) and ends with no expression`,
      );
    }
    return { statements };
  }

  /** Reads of a temporary: a weak leaf is re-typed per use, anything else refers to the statement. */
  #tempBinding(checked: Checked, value: TypedExpr, name: string, index: number): Binding {
    if (checked.weak !== undefined && isLeaf(value)) return () => checked;
    const ref = (where: Span): TypedExpr => ({
      type: "ref",
      dtype: value.dtype,
      name,
      index,
      ...span(where),
    });
    if (checked.weak === undefined) return (where) => ({ node: ref(where) });
    const weak = checked.weak;
    return (where) => ({
      weak,
      build: (dtype) => {
        const r = ref(where);
        return r.dtype === dtype ? r : cast(r, dtype);
      },
    });
  }

  #intLiteral(value: bigint, where: Span): Checked {
    return {
      weak: "int",
      build: (dtype) => {
        if (dtypeKind(dtype) === "f") return floatConst(Number(value), dtype, where);
        if (dtype === "bool") return { type: "const", dtype, value: value !== 0n, ...span(where) };
        const [lo, hi] = intRange(dtype);
        if (value < lo || value > hi) {
          throw this.#error(where, `integer ${abbreviate(value)} out of bounds for ${dtype}`);
        }
        return { type: "const", dtype, value, ...span(where) };
      },
    };
  }

  #name(name: string, where: Span): Checked {
    const bound = this.#bound.get(name);
    if (bound !== undefined) return bound(where);
    if (!Object.hasOwn(this.#vars, name)) {
      const candidates = [...Object.keys(this.#vars), ...this.#bound.keys(), "True", "False"];
      throw this.#error(where, `unknown variable '${name}'${didYouMean(name, candidates)}`);
    }
    const spec = this.#vars[name];
    if (spec.kind === "weak") {
      return {
        weak: spec.weak,
        build: (dtype) => ({ type: "scalar", dtype, name, ...span(where) }),
      };
    }
    if (!SUPPORTED_DTYPES.includes(spec.dtype)) {
      throw this.#error(
        where,
        `variable '${name}' has dtype ${spec.dtype}, which is not supported yet`,
      );
    }
    const type = spec.kind === "array" ? "input" : "scalar";
    return { node: { type, dtype: spec.dtype, name, ...span(where) } };
  }

  #unary(op: "-" | "+" | "~", operand: Checked, where: Span): Checked {
    const opSpan = { start: where.start, end: where.start + 1 };
    const make = (dtype: DType): TypedExpr => {
      const arg = at(operand, dtype);
      if (op === "~") {
        this.#requireBool("~", dtype, opSpan);
        return opNode("not", "bool", [arg], where);
      }
      if (dtype === "bool") throw this.#error(opSpan, `operator '${op}' on bool is not supported`);
      return op === "+" ? arg : opNode("neg", dtype, [arg], where);
    };
    if (op === "+" && operand.weak !== undefined && operand.weak !== "bool") return operand;
    if (operand.weak !== undefined) return this.#weakCompound(operand.weak, make);
    return { node: make(operand.node.dtype) };
  }

  #requireBool(op: string, dtype: DType, opSpan: Span): void {
    if (dtype === "bool") return;
    if (dtypeKind(dtype) === "f") {
      throw this.#error(opSpan, `operator '${op}' needs bool operands, got ${dtype}`);
    }
    throw this.#error(opSpan, `operator '${op}' on ${dtype} is not supported yet`);
  }

  #binary(op: BinaryOperator, opSpan: Span, a: Checked, b: Checked, where: Span): Checked {
    const make = (t: DType): TypedExpr => {
      if (op === "/") {
        const ft = dtypeKind(t) === "f" ? t : "float64";
        return opNode("div", ft, [at(a, ft), at(b, ft)], where);
      }
      const compare = COMPARISON[op];
      if (compare !== undefined) return opNode(compare, "bool", [at(a, t), at(b, t)], where);
      const logical = LOGICAL[op];
      if (logical !== undefined) {
        this.#requireBool(op, t, opSpan);
        return opNode(logical, "bool", [at(a, t), at(b, t)], where);
      }
      const arithmetic = ARITHMETIC[op];
      if (arithmetic === undefined) {
        throw this.#error(opSpan, `operator '${op}' is not supported yet`);
      }
      if (t === "bool") throw this.#error(opSpan, `operator '${op}' on bool is not supported`);
      const right = at(b, t);
      if (
        op === "**" && dtypeKind(t) !== "f" && right.type === "const" && Number(right.value) < 0
      ) {
        throw this.#error(right, "integers to negative integer powers are not allowed");
      }
      return opNode(arithmetic, t, [at(a, t), right], where);
    };
    const t = meet(a, b);
    if (!isWeakClass(t)) return { node: make(t) };
    const weak = op === "/" ? "float" : COMPARISON[op] !== undefined ? "bool" : t;
    return this.#weakCompound(weak, () => make(weakDefault(t)));
  }

  #call(e: Call): Checked {
    // A reduction that ends the program was split off before type checking.
    if (isReduction(e.callee)) throw misplacedReduction(this.#source, e);
    if (!Object.hasOwn(FUNCTIONS, e.callee)) {
      const hint = didYouMean(e.callee, Object.keys(FUNCTIONS));
      throw this.#error(e.calleeSpan, `unknown function '${e.callee}'${hint}`);
    }
    const { arity } = FUNCTIONS[e.callee];
    if (e.args.length !== arity) {
      const noun = arity === 1 ? "argument" : "arguments";
      throw this.#error(e, `${e.callee}() takes ${arity} ${noun}, got ${e.args.length}`);
    }
    const args = e.args.map((arg) => this.check(arg));
    if (e.callee === "where") {
      const [c, a, b] = args;
      const t = meet(a, b);
      const dtype = isWeakClass(t) ? weakDefault(t) : t;
      return { node: opNode("where", dtype, [at(c, "bool"), at(a, dtype), at(b, dtype)], e) };
    }
    // The operands meet as NumPy promotes them (weak scalars as NEP 50).
    const t = args.map((a) => meetOne(a)).reduce(meetTypes);
    const dtype = isWeakClass(t) ? weakDefault(t) : t;
    const callee = e.callee;
    if (dtype === "bool") throw this.#error(e, `${callee} does not support bool`);
    const float = dtypeKind(dtype) === "f";
    if (PREDICATES.has(callee)) {
      return { node: opNode(callee as OpName, "bool", [at(args[0], dtype)], e) };
    }
    if (callee === "round") {
      // np.round of an integer array is the array (same dtype).
      const arg = at(args[0], dtype);
      return { node: float ? opNode("rint", dtype, [arg], e) : arg };
    }
    if (callee === "square") {
      const arg = at(args[0], dtype);
      return { node: opNode("mul", dtype, [arg, arg], e) };
    }
    if (!float && FLOATS_ONLY.has(callee)) {
      throw this.#error(
        e,
        `${callee} of ${dtype} is not supported: convert to a float first, e.g. ${callee}(x * 1.0)`,
      );
    }
    const ft = float || SAME_DTYPE.has(callee) ? dtype : "float64";
    const operands = args.map((a) => at(a, ft));
    if (callee === "reciprocal") {
      return { node: opNode("div", ft, [floatConst(1, ft, e), ...operands], e) };
    }
    return { node: opNode(callee as OpName, ft, operands, e) };
  }
}

/** The dtype a checked operand contributes to a meet, or its weak class. */
function meetOne(c: Checked): DType | WeakClass {
  return c.weak !== undefined ? c.weak : c.node.dtype;
}

/** Where two operands' dtypes or weak classes meet (NEP 50). */
function meetTypes(a: DType | WeakClass, b: DType | WeakClass): DType | WeakClass {
  const wa = isWeakClass(a), wb = isWeakClass(b);
  if (wa && wb) return weakMax(a, b);
  if (wa) return promoteWithWeak(b as DType, a);
  if (wb) return promoteWithWeak(a, b);
  return promote(a, b);
}

/** An operation node; its operands are already of the dtypes of one opcode's signature. */
function opNode(op: OpName, dtype: DType, args: TypedExpr[], where: Span): TypedExpr {
  return { type: "op", op, dtype, args, ...span(where) };
}

/** An integer as written in a message: a very long one is cut, so a message stays short. */
function abbreviate(value: bigint): string {
  const text = String(value);
  return text.length <= 40 ? text : `${text.slice(0, 20)}... (${text.length} digits)`;
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? "an" : "a";
}

function span(s: Span): Span {
  return { start: s.start, end: s.end };
}

function floatConst(value: number, dtype: DType, where: Span): TypedExpr {
  if (dtype === "bool") return { type: "const", dtype, value: value !== 0, ...span(where) };
  const v = dtype === "float32" ? Math.fround(value) : value;
  return { type: "const", dtype, value: v, ...span(where) };
}

function boolValue(value: boolean, dtype: DType): number | bigint | boolean {
  if (dtype === "bool") return value;
  return dtypeKind(dtype) === "f" ? Number(value) : BigInt(value);
}
