/**
 * The optimizer: named passes over the typed tree, each of which keeps every
 * result bit for bit (IEEE semantics for floats, wraparound for integers).
 * Common subexpressions are shared later, by the code generator.
 *
 * @module
 */

import type { Span, TypedConst, TypedExpr, TypedOp, TypedProgram } from "./ast.ts";
import { type DType, DTYPE_SIZE, dtypeKind, f16round, intRange } from "./dtype.ts";

/** An optimization pass: a typed tree in, an equivalent typed tree out. */
export interface Pass {
  /** The pass's name, for listings and tests. */
  readonly name: string;
  /** Rewrites a tree. */
  readonly run: (e: TypedExpr) => TypedExpr;
}

type ConstValue = TypedConst["value"];

/** Rewrites bottom-up: `rule` sees a node whose operands are already rewritten. */
function bottomUp(rule: (e: TypedExpr) => TypedExpr): (e: TypedExpr) => TypedExpr {
  const visit = (e: TypedExpr): TypedExpr => {
    switch (e.type) {
      case "cast":
        return rule({ ...e, operand: visit(e.operand) });
      case "op":
        return rule({ ...e, args: e.args.map(visit) });
      default:
        return rule(e);
    }
  };
  return visit;
}

function constant(dtype: DType, value: ConstValue, at: Span): TypedConst {
  return { type: "const", dtype, value, start: at.start, end: at.end };
}

/** Wraps an integer to `dtype`, or rounds a double to `dtype`. */
function wrap(dtype: DType, value: number | bigint): ConstValue {
  switch (dtypeKind(dtype)) {
    case "f":
      return dtype === "float32"
        ? Math.fround(Number(value))
        : dtype === "float16"
        ? f16round(Number(value))
        : Number(value);
    case "b":
      return value !== 0 && value !== 0n;
    case "u":
      return BigInt.asUintN(DTYPE_SIZE[dtype] * 8, BigInt(value));
    default:
      return BigInt.asIntN(DTYPE_SIZE[dtype] * 8, BigInt(value));
  }
}

/** The value of a constant converted to `to` as the VM's cast would, or undefined if unsure. */
function castValue(to: DType, value: ConstValue): ConstValue | undefined {
  if (typeof value === "boolean") return wrap(to, value ? 1n : 0n);
  if (to === "bool") return value !== 0 && value !== 0n;
  if (typeof value === "bigint") {
    // int → float: exact only when the double is; a second rounding to float32 could then differ.
    if (dtypeKind(to) === "f" && BigInt(Number(value)) !== value) return undefined;
    return wrap(to, value);
  }
  if (dtypeKind(to) === "f") return wrap(to, value);
  // float → int: only in range, where every C-style conversion agrees.
  if (!Number.isFinite(value)) return undefined;
  const truncated = BigInt(Math.trunc(value));
  const [lo, hi] = intRange(to);
  return truncated < lo || truncated > hi ? undefined : truncated;
}

const COMPARE: Record<string, (a: number | bigint, b: number | bigint) => boolean> = {
  lt: (a, b) => a < b,
  le: (a, b) => a <= b,
  gt: (a, b) => a > b,
  ge: (a, b) => a >= b,
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
};

function foldOp(e: TypedOp, v: ConstValue[]): ConstValue | undefined {
  const [a, b] = v;
  const float = dtypeKind(e.args[0].dtype) === "f";
  if (e.op in COMPARE) {
    const [x, y] = typeof a === "boolean" ? [Number(a), Number(b)] : [a, b];
    return COMPARE[e.op](x as number | bigint, y as number | bigint);
  }
  switch (e.op) {
    case "neg":
      return float ? -(a as number) : wrap(e.dtype, -(a as bigint));
    case "abs":
      return float
        ? Math.abs(a as number)
        : wrap(e.dtype, (a as bigint) < 0n ? -(a as bigint) : a as bigint);
    case "add":
      return float
        ? wrap(e.dtype, (a as number) + (b as number))
        : wrap(e.dtype, (a as bigint) + (b as bigint));
    case "sub":
      return float
        ? wrap(e.dtype, (a as number) - (b as number))
        : wrap(e.dtype, (a as bigint) - (b as bigint));
    case "mul":
      return float
        ? wrap(e.dtype, (a as number) * (b as number))
        : wrap(e.dtype, (a as bigint) * (b as bigint));
    case "div":
      return wrap(e.dtype, (a as number) / (b as number));
    case "mod": {
      if (float || b === 0n) return undefined;
      const r = (a as bigint) % (b as bigint);
      return wrap(e.dtype, r !== 0n && (r < 0n) !== ((b as bigint) < 0n) ? r + (b as bigint) : r);
    }
    case "and":
      return (a as boolean) && (b as boolean);
    case "or":
      return (a as boolean) || (b as boolean);
    case "not":
      return !a;
    default:
      return undefined;
  }
}

/**
 * Folds operations on constants: `+ - * /`, negation, `abs`, comparisons,
 * logic, integer `%` by a non-zero constant, and casts; floats are computed
 * in doubles and rounded to float32 where needed (exact for these
 * operations). Picks the branch of a `where` on a constant condition. Never
 * folds `**`, float `%` or transcendental functions.
 */
export const foldConstants: Pass = {
  name: "fold-constants",
  run: bottomUp((e) => {
    if (e.type === "cast" && e.operand.type === "const") {
      const value = castValue(e.dtype, e.operand.value);
      return value === undefined ? e : constant(e.dtype, value, e);
    }
    if (e.type !== "op") return e;
    if (e.op === "where" && e.args[0].type === "const") {
      return e.args[0].value ? e.args[1] : e.args[2];
    }
    if (!e.args.every((a) => a.type === "const")) return e;
    const value = foldOp(e, e.args.map((a) => (a as TypedConst).value));
    return value === undefined ? e : constant(e.dtype, value, e);
  }),
};

function isConst(e: TypedExpr, value: number): boolean {
  return e.type === "const" && typeof e.value !== "boolean" && Number(e.value) === value;
}

/** Rewrites `x**2` to `x*x`, `x**1` to `x` and float `x**-1` to `1/x`, all bit-exact. */
export const simplifyPowers: Pass = {
  name: "simplify-powers",
  run: bottomUp((e) => {
    if (e.type !== "op" || e.op !== "pow") return e;
    const [base, exponent] = e.args;
    if (isConst(exponent, 2)) return { ...e, op: "mul", args: [base, base] };
    if (isConst(exponent, 1)) return base;
    if (isConst(exponent, -1) && dtypeKind(e.dtype) === "f") {
      return { ...e, op: "div", args: [constant(e.dtype, 1, exponent), base] };
    }
    return e;
  }),
};

/** The passes {@linkcode optimize} runs, in order. */
export const PASSES: readonly Pass[] = [foldConstants, simplifyPowers, foldConstants];

/**
 * Runs {@linkcode PASSES} over a typed tree.
 *
 * @example
 * ```ts
 * import { optimize } from "./optimizer.ts";
 * const one = { type: "const", dtype: "float64", value: 1, start: 0, end: 1 } as const;
 * optimize({ type: "op", op: "add", dtype: "float64", args: [one, one], start: 0, end: 5 });
 * // { type: "const", dtype: "float64", value: 2, start: 0, end: 5 }
 * ```
 */
export function optimize(e: TypedExpr): TypedExpr {
  return PASSES.reduce((tree, pass) => pass.run(tree), e);
}

/**
 * Optimizes each statement of a program with {@linkcode optimize}; a read of
 * a statement whose value folded to a constant becomes that constant, so
 * folding carries on through temporaries.
 *
 * @example
 * ```ts
 * import { optimizeProgram } from "./optimizer.ts";
 * import { parseProgram } from "./parser.ts";
 * import { typecheckProgram } from "./types.ts";
 * const source = "t = 2 * 3; x * t";
 * const vars = { x: { kind: "array", dtype: "float64" } } as const;
 * const p = optimizeProgram(typecheckProgram(parseProgram(source), vars, source));
 * p.statements[1].value; // mul(x, const 6)
 * ```
 */
export function optimizeProgram(program: TypedProgram): TypedProgram {
  const folded = new Map<number, TypedConst>();
  const substitute = bottomUp((e) => {
    if (e.type !== "ref") return e;
    const c = folded.get(e.index);
    return c === undefined ? e : constant(c.dtype, c.value, e);
  });
  const statements = program.statements.map((s, i) => {
    const value = optimize(folded.size > 0 ? substitute(s.value) : s.value);
    if (value.type === "const") folded.set(i, value);
    return { ...s, value };
  });
  return { statements };
}
