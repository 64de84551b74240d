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
  DTYPE_SIZE,
  dtypeKind,
  f16round,
  intRange,
  promote,
  promoteWeak,
  type WeakKind,
} from "./dtype.ts";
import { didYouMean, ExpressionError } from "./errors.ts";
import type { OpName } from "./opcodes.ts";
import { isReduction, misplacedReduction } from "./reduce.ts";

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
  nextafter: { arity: 2 },
};

/**
 * Functions computed in the dtype of their operands, integers included (no
 * float conversion); bool operands are computed in int8, as NumPy does.
 */
const SAME_DTYPE: ReadonlySet<string> = new Set([
  "abs",
  "sign",
  "square",
  "reciprocal",
  "fmod",
  "maximum",
  "minimum",
  "clip",
]);
/** Predicates: any dtype in, bool out. */
const PREDICATES: ReadonlySet<string> = new Set(["isnan", "isfinite", "isinf", "signbit"]);
/** Rounding functions: the identity on integers and bool, same dtype (NumPy >= 2.1). */
const ROUNDING: ReadonlySet<string> = new Set(["ceil", "floor", "trunc", "round"]);

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
  "//": "floordiv",
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
/** `& | ^`: the bool opcode (logical; `^` is `!=`) and the integer one (bitwise). */
const BITWISE: Partial<Record<BinaryOperator, readonly [OpName, OpName]>> = {
  "&": ["and", "bitand"],
  "|": ["or", "bitor"],
  "^": ["ne", "bitxor"],
};
const SHIFTS: Partial<Record<BinaryOperator, OpName>> = { "<<": "lshift", ">>": "rshift" };
/** NumPy's ufunc behind each integer-only operator, for messages. */
const UFUNC_NAMES: Readonly<Record<string, string>> = {
  "&": "bitwise_and",
  "|": "bitwise_or",
  "^": "bitwise_xor",
  "~": "invert",
  "<<": "left_shift",
  ">>": "right_shift",
};
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
    const type = spec.kind === "array" ? "input" : "scalar";
    return { node: { type, dtype: spec.dtype, name, ...span(where) } };
  }

  #unary(op: "-" | "+" | "~", operand: Checked, where: Span): Checked {
    const opSpan = { start: where.start, end: where.start + 1 };
    const make = (dtype: DType): TypedExpr => {
      const arg = at(operand, dtype);
      if (op === "~") {
        if (dtype === "bool") return opNode("not", "bool", [arg], where);
        this.#requireInt("~", dtype, opSpan);
        return opNode("invert", dtype, [arg], where);
      }
      if (dtype === "bool") {
        const advice = op === "-" ? ": use '~' for logical not, as NumPy advises" : "";
        throw this.#error(opSpan, `operator '${op}' on bool is not supported${advice}`);
      }
      return op === "+" ? arg : opNode("neg", dtype, [arg], where);
    };
    if (op === "+" && operand.weak !== undefined && operand.weak !== "bool") return operand;
    if (operand.weak !== undefined) return this.#weakCompound(operand.weak, make);
    return { node: make(operand.node.dtype) };
  }

  /** Refuses a float dtype for an integer-only operator, as NumPy does. */
  #requireInt(op: string, dtype: DType, opSpan: Span): void {
    if (dtypeKind(dtype) !== "f") return;
    throw this.#error(
      opSpan,
      `operator '${op}' is not supported for ${dtype}: NumPy's ${
        UFUNC_NAMES[op]
      } takes only integers and bool`,
    );
  }

  #binary(op: BinaryOperator, opSpan: Span, a: Checked, b: Checked, where: Span): Checked {
    const make = (t: DType): TypedExpr => {
      if (op === "/") {
        const ft = dtypeKind(t) === "f" ? t : "float64";
        return opNode("div", ft, [at(a, ft), at(b, ft)], where);
      }
      const compare = COMPARISON[op];
      if (compare !== undefined) return opNode(compare, "bool", [at(a, t), at(b, t)], where);
      const bitwise = BITWISE[op];
      if (bitwise !== undefined) {
        if (t === "bool") return opNode(bitwise[0], "bool", [at(a, t), at(b, t)], where);
        this.#requireInt(op, t, opSpan);
        return opNode(bitwise[1], t, [at(a, t), at(b, t)], where);
      }
      const shift = SHIFTS[op];
      if (shift !== undefined) {
        const it = t === "bool" ? "int8" : t;
        this.#requireInt(op, it, opSpan);
        return opNode(shift, it, [at(a, it), at(b, it)], where);
      }
      const arithmetic = ARITHMETIC[op];
      if (arithmetic === undefined) {
        throw this.#error(opSpan, `operator '${op}' is not supported yet`);
      }
      if (t === "bool") return this.#boolArithmetic(op, opSpan, at(a, t), at(b, t), where);
      const right = at(b, t);
      if (
        op === "**" && dtypeKind(t) !== "f" && right.type === "const" && Number(right.value) < 0
      ) {
        throw this.#error(right, "integers to negative integer powers are not allowed");
      }
      return opNode(arithmetic, t, [at(a, t), right], where);
    };
    const met = meet(a, b);
    // Strong operands meet at a dtype ("bool" included), weak ones at a weak class.
    if (a.weak === undefined || b.weak === undefined) return { node: make(met as DType) };
    // Weak bools: Python computes arithmetic and shifts of bools as ints.
    const logical = COMPARISON[op] !== undefined || BITWISE[op] !== undefined;
    const t = met === "bool" && !logical && op !== "/" ? "int" : met as WeakClass;
    const weak = op === "/" ? "float" : COMPARISON[op] !== undefined ? "bool" : t;
    return this.#weakCompound(weak, () => make(weakDefault(t)));
  }

  /** NumPy's arithmetic on two bool arrays: + is or, * is and, - refused, the rest in int8. */
  #boolArithmetic(
    op: BinaryOperator,
    opSpan: Span,
    a: TypedExpr,
    b: TypedExpr,
    where: Span,
  ): TypedExpr {
    if (op === "+") return opNode("or", "bool", [a, b], where);
    if (op === "*") return opNode("and", "bool", [a, b], where);
    if (op === "-") {
      throw this.#error(
        opSpan,
        "operator '-' on bool is not supported: use '^' (xor) instead, as NumPy advises",
      );
    }
    return opNode(ARITHMETIC[op]!, "int8", [cast(a, "int8"), cast(b, "int8")], where);
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
    return { node: this.#function(e, args, dtype) };
  }

  /** A function other than where, of operands that meet at `dtype`. */
  #function(e: Call, args: Checked[], dtype: DType): TypedExpr {
    const callee = e.callee;
    const kind = dtypeKind(dtype);
    if (PREDICATES.has(callee)) {
      // No NaN, inf or sign bit in bool: computed on its int8 value.
      const it = dtype === "bool" ? "int8" : dtype;
      return opNode(callee as OpName, "bool", [at(args[0], it)], e);
    }
    if (ROUNDING.has(callee) && kind !== "f") return at(args[0], dtype);
    if (callee === "round") return opNode("rint", dtype, [at(args[0], dtype)], e);
    if (dtype === "bool") {
      if (callee === "abs") return at(args[0], dtype);
      if (callee === "maximum" || callee === "minimum" || callee === "clip") {
        const [x, lo, hi] = args.map((arg) => at(arg, "bool"));
        if (callee === "maximum") return opNode("or", "bool", [x, lo], e);
        if (callee === "minimum") return opNode("and", "bool", [x, lo], e);
        return opNode("and", "bool", [opNode("or", "bool", [x, lo], e), hi], e);
      }
      if (callee === "sign") throw this.#error(e, "sign does not support bool");
    }
    if (SAME_DTYPE.has(callee) && kind !== "f") {
      const it = dtype === "bool" ? "int8" : dtype;
      const operands = args.map((a) => at(a, it));
      if (callee === "square") return opNode("mul", it, [operands[0], operands[0]], e);
      return opNode(callee as OpName, it, operands, e);
    }
    if (callee === "square") {
      const arg = at(args[0], dtype);
      return opNode("mul", dtype, [arg, arg], e);
    }
    const ft = kind === "f" ? dtype : floatFor(dtype);
    const operands = args.map((a) => at(a, ft));
    if (callee === "reciprocal") return opNode("div", ft, [floatConst(1, ft, e), ...operands], e);
    return opNode(callee as OpName, ft, operands, e);
  }
}

/** The float of NumPy's first safe loop for an integer or bool operand of a float-only function. */
function floatFor(dtype: DType): DType {
  const size = DTYPE_SIZE[dtype];
  return size === 1 ? "float16" : size === 2 ? "float32" : "float64";
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

/**
 * An operation node; its operands are already of the dtypes of one opcode's
 * signature. An operation on float16 (other than where and nextafter, which
 * have float16 opcodes) is computed in
 * float32 and its result rounded back to float16, as NumPy does: the
 * operands are cast to float32, the result cast to float16.
 */
function opNode(op: OpName, dtype: DType, args: TypedExpr[], where: Span): TypedExpr {
  const half = dtype === "float16" || args.some((a) => a.dtype === "float16");
  if (!half || op === "where" || op === "nextafter") {
    return { type: "op", op, dtype, args, ...span(where) };
  }
  const wide = args.map((a) => a.dtype === "float16" ? cast(a, "float32") : a);
  const node: TypedExpr = {
    type: "op",
    op,
    dtype: dtype === "float16" ? "float32" : dtype,
    args: wide,
    ...span(where),
  };
  return dtype === "float16" ? cast(node, "float16") : node;
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
  const v = dtype === "float32"
    ? Math.fround(value)
    : dtype === "float16"
    ? f16round(value)
    : value;
  return { type: "const", dtype, value: v, ...span(where) };
}

function boolValue(value: boolean, dtype: DType): number | bigint | boolean {
  if (dtype === "bool") return value;
  return dtypeKind(dtype) === "f" ? Number(value) : BigInt(value);
}
