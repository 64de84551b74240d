/**
 * The parser: a precedence-climbing (Pratt) loop driven by {@linkcode BINARY_OPERATORS},
 * a table of precedence and associativity, building an {@linkcode Expr} whose
 * every node carries its exact source span.
 *
 * A program ({@linkcode parseProgram}) is statements separated by newlines
 * or `;` (a newline inside parentheses joins lines; empty statements are
 * skipped): assignments `name = expr`, and, as the last statement only, an
 * expression, the program's result.
 *
 * @module
 */

import type {
  Assign,
  AxisArgument,
  Binary,
  BinaryOperator,
  Expr,
  Program,
  Span,
  Statement,
  UnaryOperator,
} from "./ast.ts";
import { ExpressionError } from "./errors.ts";
import { type Token, tokenize, type TokenKind } from "./lexer.ts";
import { isReduction, REDUCTIONS } from "./reduce.ts";
import { FUNCTIONS } from "./types.ts";

/** How a binary operator groups: `a op b op c`. */
export type Associativity = "left" | "right" | "none";

/** Python's binary operators: precedence (higher binds tighter) and associativity. */
export const BINARY_OPERATORS: Readonly<
  Record<BinaryOperator, { readonly prec: number; readonly assoc: Associativity }>
> = {
  "<": { prec: 1, assoc: "none" },
  "<=": { prec: 1, assoc: "none" },
  ">": { prec: 1, assoc: "none" },
  ">=": { prec: 1, assoc: "none" },
  "==": { prec: 1, assoc: "none" },
  "!=": { prec: 1, assoc: "none" },
  "|": { prec: 2, assoc: "left" },
  "^": { prec: 3, assoc: "left" },
  "&": { prec: 4, assoc: "left" },
  "<<": { prec: 5, assoc: "left" },
  ">>": { prec: 5, assoc: "left" },
  "+": { prec: 6, assoc: "left" },
  "-": { prec: 6, assoc: "left" },
  "*": { prec: 7, assoc: "left" },
  "/": { prec: 7, assoc: "left" },
  "//": { prec: 7, assoc: "left" },
  "%": { prec: 7, assoc: "left" },
  "**": { prec: 9, assoc: "right" },
};

/** Precedence of the prefix operators `- + ~`: above `*`, below `**` (`-x**2` is `-(x**2)`). */
export const UNARY_PREC = 8;

/** The deepest nesting the parser accepts (parentheses, operands, tree height). */
export const MAX_DEPTH = 1000;

/** What a chain of more than `MAX_DEPTH` operators is told. */
const CHAIN_HINT =
  `: a chain of operators is one level per operator, so more than ${MAX_DEPTH} terms in a row need splitting into statements, as in 't = a + b; t + c'`;

const UNARY_OPERATORS: ReadonlySet<TokenKind> = new Set(["-", "+", "~"]);

/** Python words that are not operators here, each with what to write instead. */
const KEYWORD_HINTS: Readonly<Record<string, string>> = {
  and: "'and' is not supported; use '&' on comparisons in parentheses: (a > 0) & (b > 0)",
  or: "'or' is not supported; use '|' on comparisons in parentheses: (a > 0) | (b > 0)",
  not: "'not' is not supported; use '~' on a comparison in parentheses: ~(a > 0)",
  if: "'if' is not supported; use where(condition, a, b)",
};

function isBinaryOperator(kind: TokenKind): kind is BinaryOperator {
  return Object.hasOwn(BINARY_OPERATORS, kind);
}

/**
 * Parses one expression.
 *
 * @throws {ExpressionError} on any lexical or syntax error, at its offset
 *
 * @example
 * ```ts
 * import { parse } from "./parser.ts";
 * const e = parse("-x**2");
 * e.type; // "unary"
 * ```
 */
export function parse(source: string): Expr {
  const program = parseProgram(source);
  const [first, second] = program.body;
  if (first.type === "assign") {
    throw new ExpressionError(
      source,
      first.opSpan,
      "expected a single expression, got an assignment",
    );
  }
  if (second !== undefined) {
    throw new ExpressionError(
      source,
      second,
      "expected a single expression, got several statements",
    );
  }
  return first;
}

/**
 * Parses a program: statements separated by newlines or `;`, each an
 * assignment `name = expr` except the last, which may be an expression.
 *
 * @throws {ExpressionError} on any lexical or syntax error, at its offset
 *
 * @example
 * ```ts
 * import { parseProgram } from "./parser.ts";
 * const p = parseProgram("t = x * 2; t + 1");
 * p.body.map((s) => s.type); // ["assign", "binary"]
 * ```
 */
export function parseProgram(source: string): Program {
  return new Parser(source).parseProgram();
}

/** Drops newlines inside parentheses (implicit line joining) and blank lines at either end. */
function significant(tokens: Token[]): Token[] {
  const kept: Token[] = [];
  let parens = 0;
  for (const token of tokens) {
    if (token.kind === "(") parens++;
    if (token.kind === ")") parens = Math.max(0, parens - 1);
    if (token.kind === "newline" && (parens > 0 || kept.length === 0)) continue;
    kept.push(token);
  }
  while (kept.length > 1 && kept[kept.length - 2].kind === "newline") kept.splice(-2, 1);
  return kept;
}

class Parser {
  readonly #source: string;
  readonly #tokens: Token[];
  #pos = 0;
  #depth = 0;
  /** End of the last consumed token. */
  #lastEnd = 0;
  readonly #height = new WeakMap<Expr, number>();

  constructor(source: string) {
    this.#source = source;
    this.#tokens = significant(tokenize(source));
  }

  parseProgram(): Program {
    const body: Statement[] = [];
    for (;;) {
      while (this.#peek().kind === "newline" || this.#peek().kind === ";") this.#next();
      if (this.#peek().kind === "eof") break;
      const last = body[body.length - 1];
      if (last !== undefined && last.type !== "assign") {
        throw this.#error(last, "only the last statement may be an expression");
      }
      body.push(this.#parseStatement());
      const separator = this.#peek();
      if (separator.kind !== "newline" && separator.kind !== ";" && separator.kind !== "eof") {
        throw this.#unexpected(separator);
      }
    }
    if (body.length === 0) throw this.#error({ start: 0, end: 0 }, "empty expression");
    return { type: "program", body, start: body[0].start, end: body[body.length - 1].end };
  }

  #parseStatement(): Statement {
    const first = this.#peek();
    if (first.kind !== "name" || this.#tokens[this.#pos + 1].kind !== "=") {
      const expr = this.#parseExpression(0);
      if (this.#peek().kind === "=") {
        throw this.#error(expr, "cannot assign to an expression: the target must be a name");
      }
      return expr;
    }
    const name = this.#text(first);
    const hint = this.#keywordHint(first);
    if (hint !== undefined) throw this.#error(first, hint);
    if (name === "True" || name === "False") throw this.#error(first, `cannot assign to '${name}'`);
    if (Object.hasOwn(FUNCTIONS, name)) {
      throw this.#error(first, `cannot assign to '${name}': it is a function`);
    }
    this.#next();
    const eq = this.#next();
    const value = this.#parseExpression(0);
    const next = this.#peek();
    if (next.kind === "=") throw this.#error(next, "chained assignment is not supported");
    const node: Assign = {
      type: "assign",
      target: { type: "name", name, start: first.start, end: first.end },
      opSpan: { start: eq.start, end: eq.end },
      value,
      start: first.start,
      end: this.#lastEnd,
    };
    return node;
  }

  #peek(): Token {
    return this.#tokens[this.#pos];
  }

  #next(): Token {
    const token = this.#tokens[this.#pos++];
    this.#lastEnd = token.end;
    return token;
  }

  #text(span: Span): string {
    return this.#source.slice(span.start, span.end);
  }

  #error(span: Span, detail: string): ExpressionError {
    return new ExpressionError(this.#source, span, detail);
  }

  #describe(token: Token): string {
    if (token.kind === "eof") return "end of input";
    if (token.kind === "newline") return "end of line";
    return `'${this.#text(token)}'`;
  }

  /** The error for a token that cannot follow a complete expression. */
  #unexpected(token: Token): ExpressionError {
    const hint = this.#keywordHint(token);
    if (hint !== undefined) return this.#error(token, hint);
    return this.#error(token, `unexpected ${this.#describe(token)}`);
  }

  #keywordHint(token: Token): string | undefined {
    if (token.kind !== "name") return undefined;
    const word = this.#text(token);
    return Object.hasOwn(KEYWORD_HINTS, word) ? KEYWORD_HINTS[word] : undefined;
  }

  /**
   * Records a node's tree height, refusing trees deeper than
   * {@linkcode MAX_DEPTH}; a binary operator whose left operand is the
   * deeper one ends a long chain (`a + b + c ...`), and its error says how
   * to split one.
   */
  #node<T extends Expr>(node: T, at: Span, children: readonly Expr[]): T {
    const heights = children.map((c) => this.#height.get(c) ?? 1);
    const height = 1 + Math.max(0, ...heights);
    if (height > MAX_DEPTH) {
      const chain = node.type === "binary" && heights[0] >= heights[1];
      throw this.#error(
        at,
        `expression nested too deeply (limit ${MAX_DEPTH})${chain ? CHAIN_HINT : ""}`,
      );
    }
    this.#height.set(node, height);
    return node;
  }

  /** Parses operators of precedence `minPrec` and above. */
  #parseExpression(minPrec: number): Expr {
    const first = this.#peek();
    if (++this.#depth > MAX_DEPTH) {
      throw this.#error(first, `expression nested too deeply (limit ${MAX_DEPTH})`);
    }
    let left = this.#parseUnary();
    let comparison: Binary | undefined;
    for (;;) {
      const token = this.#peek();
      if (!isBinaryOperator(token.kind)) break;
      const { prec, assoc } = BINARY_OPERATORS[token.kind];
      if (prec < minPrec) break;
      this.#next();
      const right = this.#parseExpression(assoc === "right" ? prec : prec + 1);
      if (comparison !== undefined) throw this.#chainedComparison(comparison, token, right);
      const node: Binary = {
        type: "binary",
        op: token.kind,
        opSpan: { start: token.start, end: token.end },
        left,
        right,
        start: first.start,
        end: this.#lastEnd,
      };
      left = this.#node(node, token, [left, right]);
      if (assoc === "none") comparison = node;
    }
    this.#depth--;
    return left;
  }

  #chainedComparison(first: Binary, op: Token, right: Expr): ExpressionError {
    const a = this.#source.slice(first.start, first.opSpan.start).trim();
    const b = this.#source.slice(first.opSpan.end, first.end).trim();
    const c = this.#source.slice(op.end, right.end).trim();
    const op1 = first.op;
    const op2 = this.#text(op);
    const mid = first.right;
    let detail =
      `chained comparisons are not supported; write (${a} ${op1} ${b}) & (${b} ${op2} ${c})`;
    if (mid.type === "binary" && (mid.op === "&" || mid.op === "|") && b === this.#text(mid)) {
      const bl = this.#source.slice(mid.start, mid.opSpan.start).trim();
      const br = this.#source.slice(mid.opSpan.end, mid.end).trim();
      detail = `chained comparisons are not supported; '${mid.op}' binds tighter than '${op1}': ` +
        `write (${a} ${op1} ${bl}) ${mid.op} (${br} ${op2} ${c})`;
    }
    return this.#error(op, detail);
  }

  #parseUnary(): Expr {
    const token = this.#peek();
    if (!UNARY_OPERATORS.has(token.kind)) return this.#parsePrimary();
    this.#next();
    const operand = this.#parseExpression(UNARY_PREC);
    const node: Expr = {
      type: "unary",
      op: token.kind as UnaryOperator,
      operand,
      start: token.start,
      end: this.#lastEnd,
    };
    return this.#node(node, token, [operand]);
  }

  #parsePrimary(): Expr {
    const token = this.#peek();
    switch (token.kind) {
      case "int":
        this.#next();
        return {
          type: "int",
          value: BigInt(this.#text(token)),
          start: token.start,
          end: token.end,
        };
      case "float":
        this.#next();
        return {
          type: "float",
          value: Number(this.#text(token)),
          start: token.start,
          end: token.end,
        };
      case "(": {
        this.#next();
        const inner = this.#parseExpression(0);
        this.#expectClose(token, "expected ')'");
        return inner;
      }
      case "name":
        return this.#parseName();
      default: {
        throw this.#error(token, `expected an expression, got ${this.#describe(token)}`);
      }
    }
  }

  #expectClose(open: Token, expected: string): void {
    const token = this.#peek();
    if (token.kind === ")") {
      this.#next();
      return;
    }
    const hint = this.#keywordHint(token);
    if (hint !== undefined) throw this.#error(token, hint);
    throw this.#error(token, `${expected} to close '(' at ${open.start}`);
  }

  #parseName(): Expr {
    const token = this.#next();
    const name = this.#text(token);
    const hint = this.#keywordHint(token);
    if (hint !== undefined) throw this.#error(token, hint);
    if (name === "True" || name === "False") {
      return { type: "bool", value: name === "True", start: token.start, end: token.end };
    }
    if (this.#peek().kind !== "(") {
      return { type: "name", name, start: token.start, end: token.end };
    }
    const open = this.#next();
    const args: Expr[] = [];
    let axis: AxisArgument | undefined;
    let keywords = false;
    if (this.#peek().kind === ")") {
      this.#next();
    } else {
      for (;;) {
        const keyword = this.#peek();
        if (keyword.kind === "name" && this.#tokens[this.#pos + 1].kind === "=") {
          if (axis !== undefined) throw this.#error(keyword, "axis given twice");
          axis = this.#keywordAxis(name);
          keywords = true;
        } else {
          const arg = this.#parseExpression(0);
          if (keywords) {
            throw this.#error(arg, "positional argument after the keyword argument axis=");
          }
          if (isReduction(name) && args.length === 1 && axis === undefined) {
            axis = this.#axisValue(name, arg);
          } else {
            args.push(arg);
          }
        }
        if (this.#peek().kind !== ",") break;
        this.#next();
      }
      this.#expectClose(open, "expected ',' or ')'");
    }
    const node: Expr = {
      type: "call",
      callee: name,
      calleeSpan: { start: token.start, end: token.end },
      args,
      ...(axis === undefined ? {} : { axis }),
      start: token.start,
      end: this.#lastEnd,
    };
    return this.#node(node, token, args);
  }

  /** A keyword argument `name=value` in a call of `callee`: only a reduction's `axis=`. */
  #keywordAxis(callee: string): AxisArgument {
    const keyword = this.#next();
    const word = this.#text(keyword);
    if (!isReduction(callee)) {
      throw this.#error(
        keyword,
        `${callee}() takes no keyword arguments; axis= is only for the reductions (${
          Object.keys(REDUCTIONS).join(", ")
        })`,
      );
    }
    if (word !== "axis") {
      throw this.#error(keyword, `${callee}() got an unexpected keyword argument '${word}'`);
    }
    this.#next();
    return this.#axisValue(callee, this.#parseExpression(0));
  }

  /** The axis of a reduction: an integer literal, possibly negated. */
  #axisValue(callee: string, e: Expr): AxisArgument {
    if (e.type === "int") return { value: Number(e.value), start: e.start, end: e.end };
    if (e.type === "unary" && e.op === "-" && e.operand.type === "int") {
      return { value: -Number(e.operand.value), start: e.start, end: e.end };
    }
    throw this.#error(
      e,
      `the axis of ${callee}() must be an integer literal, as in ${callee}(x, axis=0) or ${callee}(x, -1)`,
    );
  }
}
