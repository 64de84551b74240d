import assert from "node:assert/strict";
import type { Expr, Program, VarSpec } from "../src/ast.ts";
import { ExpressionError } from "../src/errors.ts";
import { parse, parseProgram } from "../src/parser.ts";
import { typecheck, typecheckProgram } from "../src/types.ts";
import { failsAt } from "./reference.ts";

/** S-expression of a tree: ints as written, floats with an `f` suffix, calls as `(f: args)`. */
function sexpr(e: Expr): string {
  switch (e.type) {
    case "int":
      return String(e.value);
    case "float":
      return `${e.value}f`;
    case "bool":
      return e.value ? "True" : "False";
    case "name":
      return e.name;
    case "unary":
      return `(${e.op} ${sexpr(e.operand)})`;
    case "binary":
      return `(${e.op} ${sexpr(e.left)} ${sexpr(e.right)})`;
    case "call":
      return `(${e.callee}: ${e.args.map(sexpr).join(" ")})`;
  }
}

Deno.test("parser follows Python precedence and associativity", () => {
  const table: [string, string][] = [
    ["a + b * c", "(+ a (* b c))"],
    ["a * b + c", "(+ (* a b) c)"],
    ["a - b - c", "(- (- a b) c)"],
    ["a / b / c", "(/ (/ a b) c)"],
    ["a // b % c * d", "(* (% (// a b) c) d)"],
    ["a ** b ** c", "(** a (** b c))"],
    ["-x**2", "(- (** x 2))"],
    ["2**-1", "(** 2 (- 1))"],
    ["2**-x**2", "(** 2 (- (** x 2)))"],
    ["-a * b", "(* (- a) b)"],
    ["a * -b", "(* a (- b))"],
    ["--a", "(- (- a))"],
    ["~+a", "(~ (+ a))"],
    ["a + b << c", "(<< (+ a b) c)"],
    ["a << b >> c", "(>> (<< a b) c)"],
    ["a << b & c", "(& (<< a b) c)"],
    ["a & b ^ c", "(^ (& a b) c)"],
    ["a ^ b | c", "(| (^ a b) c)"],
    ["a | b & c", "(| a (& b c))"],
    ["a | b < c", "(< (| a b) c)"],
    ["a < b | c", "(< a (| b c))"],
    ["(a < b) & (b >= c)", "(& (< a b) (>= b c))"],
    ["a == b", "(== a b)"],
    ["a != -b", "(!= a (- b))"],
    ["(a <= b) == (c > d)", "(== (<= a b) (> c d))"],
    ["(a + b) * c", "(* (+ a b) c)"],
    ["((a))", "a"],
    ["f()", "(f: )"],
    ["where(x > 0, x, 0)", "(where: (> x 0) x 0)"],
    ["sin(cos(x)) ** 2", "(** (sin: (cos: x)) 2)"],
    ["-f(x)", "(- (f: x))"],
    ["1e-8 + .5 + 2. + 42", "(+ (+ (+ 1e-8f 0.5f) 2f) 42)"],
    ["0x1F * 1E3", "(* 31 1000f)"],
    ["True & ~False", "(& True (~ False))"],
    ["true", "true"],
    ["99999999999999999999", "99999999999999999999"],
    ["\n  (a +\n  (b\n   + c))\n\n", "(+ a (+ b c))"],
    ["f(a,\n  b)", "(f: a b)"],
    ["a # the answer", "a"],
  ];
  for (const [source, expected] of table) assert.equal(sexpr(parse(source)), expected, source);
});

Deno.test("parser records exact spans", () => {
  const source = "a + (b * c2)";
  const e = parse(source);
  assert.ok(e.type === "binary");
  assert.deepEqual([e.start, e.end], [0, 12]);
  assert.deepEqual(e.opSpan, { start: 2, end: 3 });
  assert.deepEqual([e.left.start, e.left.end], [0, 1]);
  assert.ok(e.right.type === "binary");
  assert.deepEqual([e.right.start, e.right.end], [5, 11]);
  assert.deepEqual([e.right.right.start, e.right.right.end], [9, 11]);

  const call = parse("  tanh( x )**2");
  assert.ok(call.type === "binary" && call.left.type === "call");
  assert.deepEqual([call.start, call.end], [2, 14]);
  assert.deepEqual([call.left.start, call.left.end], [2, 11]);
  assert.deepEqual(call.left.calleeSpan, { start: 2, end: 6 });
  assert.deepEqual([call.left.args[0].start, call.left.args[0].end], [8, 9]);

  const neg = parse("-(x)");
  assert.deepEqual([neg.start, neg.end], [0, 4]);
  const lit = parse(" 1e-8 ");
  assert.deepEqual(lit, { type: "float", value: 1e-8, start: 1, end: 5 });
  assert.deepEqual(parse("7"), { type: "int", value: 7n, start: 0, end: 1 });
});

const VARS: Record<string, VarSpec> = {
  a: { kind: "array", dtype: "float64" },
  b: { kind: "array", dtype: "float64" },
  c: { kind: "array", dtype: "float64" },
  x: { kind: "array", dtype: "float64" },
};

Deno.test("bad expressions fail with a precise message at the right offset", () => {
  const table: [string, number, string][] = [
    ["", 0, "empty expression"],
    ["   \n ", 0, "empty expression"],
    [
      "a and b",
      2,
      "'and' is not supported; use '&' on comparisons in parentheses: (a > 0) & (b > 0)",
    ],
    [
      "(a > 0) or (b > 0)",
      8,
      "'or' is not supported; use '|' on comparisons in parentheses: (a > 0) | (b > 0)",
    ],
    ["not a", 0, "'not' is not supported; use '~' on a comparison in parentheses: ~(a > 0)"],
    [
      "where(a and b, 1, 2)",
      8,
      "'and' is not supported; use '&' on comparisons in parentheses: (a > 0) & (b > 0)",
    ],
    [
      "(a or b)",
      3,
      "'or' is not supported; use '|' on comparisons in parentheses: (a > 0) | (b > 0)",
    ],
    ["a if b else c", 2, "'if' is not supported; use where(condition, a, b)"],
    ["a < b < c", 6, "chained comparisons are not supported; write (a < b) & (b < c)"],
    ["0 <= x+1 == c", 9, "chained comparisons are not supported; write (0 <= x+1) & (x+1 == c)"],
    [
      "a > 0 & b > 0",
      10,
      "chained comparisons are not supported; '&' binds tighter than '>': write (a > 0) & (b > 0)",
    ],
    ["(a + b", 6, "expected ')' to close '(' at 0"],
    ["a * (b + (c)", 12, "expected ')' to close '(' at 4"],
    ["(a b)", 3, "expected ')' to close '(' at 0"],
    ["where(a, b c)", 11, "expected ',' or ')' to close '(' at 5"],
    ["a)", 1, "unexpected ')'"],
    ["a + b)", 5, "unexpected ')'"],
    ["a b", 2, "unexpected 'b'"],
    ["2(3)", 1, "unexpected '('"],
    ["a +", 3, "expected an expression, got end of input"],
    ["a + * b", 4, "expected an expression, got '*'"],
    ["()", 1, "expected an expression, got ')'"],
    ["f(1,)", 4, "expected an expression, got ')'"],
    ["f(,)", 2, "expected an expression, got ','"],
    ["a +\nb", 3, "expected an expression, got end of line"],
    ["a $ b", 2, "unexpected character '$'"],
    ["a = b", 2, "expected a single expression, got an assignment"],
    ["a; b", 0, "only the last statement may be an expression"],
    ["a\nb", 0, "only the last statement may be an expression"],
    ["tanhh(x)", 0, "unknown function 'tanhh'; did you mean 'tanh'?"],
    ["1 + foo(x)", 4, "unknown function 'foo'"],
    ["a + y", 4, "unknown variable 'y'; did you mean 'a'?"],
    ["(".repeat(100000), 1000, "expression nested too deeply (limit 1000)"],
    [
      "(".repeat(100000) + "x" + ")".repeat(100000),
      1000,
      "expression nested too deeply (limit 1000)",
    ],
    ["-".repeat(100000) + "x", 1000, "expression nested too deeply (limit 1000)"],
    ["x" + "**x".repeat(100000), 3000, "expression nested too deeply (limit 1000)"],
    [
      "x" + "+x".repeat(100000),
      1999,
      "expression nested too deeply (limit 1000): a chain of operators is one level per operator, so more than 1000 terms in a row need splitting into statements, as in 't = a + b; t + c'",
    ],
  ];
  failsAt(table, (source) => typecheck(parse(source), VARS, source));
});

Deno.test("nesting up to the limit parses", () => {
  const source = "(".repeat(999) + "x" + ")".repeat(999);
  assert.equal(sexpr(parse(source)), "x");
  assert.equal(sexpr(parse("x" + "+x".repeat(998))).length, 998 * 6 + 1);
});

Deno.test("errors carry a caret snippet of the offending line", () => {
  const cases: [string, string][] = [
    ["tanhh(x)", "tanhh(x)\n^^^^^"],
    ["a + (b", "a + (b\n      ^"],
    ["(x +\n  y and z)", "  y and z)\n    ^^^"],
  ];
  for (const [source, snippet] of cases) {
    assert.throws(() => typecheck(parse(source), VARS, source), (e: unknown) => {
      assert.ok(e instanceof ExpressionError);
      assert.equal(e.snippet, snippet);
      return true;
    });
  }
});

/** A program as `name = sexpr` and `sexpr` statements joined by ` ; `. */
function sprogram(p: Program): string {
  return p.body.map((s) => s.type === "assign" ? `${s.target.name} = ${sexpr(s.value)}` : sexpr(s))
    .join(" ; ");
}

Deno.test("programs are statements separated by newlines or ';'", () => {
  const table: [string, string][] = [
    ["x", "x"],
    ["y = x + 1", "y = (+ x 1)"],
    ["t = x * 2; t + 1", "t = (* x 2) ; (+ t 1)"],
    ["a = 1\nb = a\na + b", "a = 1 ; b = a ; (+ a b)"],
    ["a = 1;; ;\n\n b = 2;", "a = 1 ; b = 2"],
    ["\n  m = m + (1 - b1) * (\n g - m)  # comment\n  m\n", "m = (+ m (* (- 1 b1) (- g m))) ; m"],
    ["a = (1 +\n 2); a", "a = (+ 1 2) ; a"],
    ["x = x", "x = x"],
    ["a == b", "(== a b)"],
    ["y = a <= b", "y = (<= a b)"],
  ];
  for (const [source, expected] of table) {
    assert.equal(sprogram(parseProgram(source)), expected, JSON.stringify(source));
  }
});

Deno.test("program statements carry exact spans", () => {
  const source = "t = x * 2; t + 1";
  const p = parseProgram(source);
  assert.deepEqual([p.start, p.end], [0, 16]);
  const [assign, result] = p.body;
  assert.ok(assign.type === "assign");
  assert.deepEqual([assign.start, assign.end], [0, 9]);
  assert.deepEqual(assign.target, { type: "name", name: "t", start: 0, end: 1 });
  assert.deepEqual(assign.opSpan, { start: 2, end: 3 });
  assert.deepEqual([assign.value.start, assign.value.end], [4, 9]);
  assert.deepEqual([result.start, result.end], [11, 16]);
});

Deno.test("bad programs fail with a precise message at the right offset", () => {
  const table: [string, number, string][] = [
    ["x = ", 4, "expected an expression, got end of input"],
    ["x = \ny = 1", 4, "expected an expression, got end of line"],
    ["x = ; y", 4, "expected an expression, got ';'"],
    ["1 = x", 0, "cannot assign to an expression: the target must be a name"],
    ["x + 1 = 2", 0, "cannot assign to an expression: the target must be a name"],
    ["y = 1; f(x) = 2", 7, "cannot assign to an expression: the target must be a name"],
    ["sqrt = x", 0, "cannot assign to 'sqrt': it is a function"],
    ["y = 1\nwhere = x", 6, "cannot assign to 'where': it is a function"],
    ["True = 1", 0, "cannot assign to 'True'"],
    [
      "and = 1",
      0,
      "'and' is not supported; use '&' on comparisons in parentheses: (a > 0) & (b > 0)",
    ],
    ["a = b = 1", 6, "chained assignment is not supported"],
    ["a + 1; b = 2", 0, "only the last statement may be an expression"],
    ["b = 2\n a * 2\n c = 1", 7, "only the last statement may be an expression"],
    ["a = (b = 1)", 7, "expected ')' to close '(' at 4"],
    ["a = 1 b = 2", 6, "unexpected 'b'"],
    [";;\n", 0, "empty expression"],
  ];
  failsAt(table, (source) => parseProgram(source));
});

Deno.test("reductions take an axis as a keyword or a second integer literal", () => {
  const table: [string, number | undefined, [number, number] | undefined][] = [
    ["sum(x)", undefined, undefined],
    ["sum(x, axis=0)", 0, [12, 13]],
    ["max(x * 2, axis = -1)", -1, [18, 20]],
    ["count_nonzero(x, 2)", 2, [17, 18]],
    ["mean(x, -2)", -2, [8, 10]],
    ["any(x,\n axis=1)", 1, [13, 14]],
  ];
  for (const [source, axis, span] of table) {
    const e = parse(source);
    assert.ok(e.type === "call", source);
    assert.equal(e.args.length, 1, source);
    assert.equal(e.axis?.value, axis, source);
    assert.deepEqual(e.axis && [e.axis.start, e.axis.end], span, source);
  }
  // A variable may still be named like a reduction: only a call is one.
  assert.equal(sexpr(parse("sum + max")), "(+ sum max)");
});

Deno.test("keyword arguments other than a reduction's axis fail at their offset", () => {
  const table: [string, number, string][] = [
    [
      "where(c, a, b, axis=0)",
      15,
      "where() takes no keyword arguments; axis= is only for the reductions (sum, prod, min, max, mean, any, all, count_nonzero)",
    ],
    ["sum(x, out=y)", 7, "sum() got an unexpected keyword argument 'out'"],
    [
      "sum(x, axis=1.5)",
      12,
      "the axis of sum() must be an integer literal, as in sum(x, axis=0) or sum(x, -1)",
    ],
    [
      "sum(x, axis=--1)",
      12,
      "the axis of sum() must be an integer literal, as in sum(x, axis=0) or sum(x, -1)",
    ],
    [
      "min(x, a)",
      7,
      "the axis of min() must be an integer literal, as in min(x, axis=0) or min(x, -1)",
    ],
    ["sum(x, axis=0, axis=1)", 15, "axis given twice"],
    ["sum(x, 1, axis=1)", 10, "axis given twice"],
    ["sum(axis=1, x)", 12, "positional argument after the keyword argument axis="],
    ["sum(x, axis=)", 12, "expected an expression, got ')'"],
  ];
  failsAt(table, (source) => parseProgram(source));
});

Deno.test("program type errors name the statement at its offset", () => {
  const vars: Record<string, VarSpec> = {
    ...VARS,
    i: { kind: "array", dtype: "int32" },
    lr: { kind: "weak", weak: "float" },
    s: { kind: "scalar", dtype: "float32" },
  };
  const table: [string, number, string][] = [
    ["lr = a", 0, "cannot assign to 'lr': it is a scalar, and only arrays passed in are written"],
    [
      "a = 1; s = a",
      7,
      "cannot assign to 's': it is a scalar, and only arrays passed in are written",
    ],
    ["i = i + a", 0, `cannot assign a float64 value to 'i', an int32 array (casting "same_kind")`],
    [
      "a = 1; i = 0.5",
      7,
      `cannot assign a float scalar value to 'i', an int32 array (casting "same_kind")`,
    ],
    ["i = 3000000000", 4, "integer 3000000000 out of bounds for int32"],
    [
      "t = a * 2",
      0,
      "the program has no effect: it assigns only temporaries ('t') and ends with no expression",
    ],
    [
      "t = a; u = t; t = 1",
      14,
      "the program has no effect: it assigns only temporaries ('t', 'u') and ends with no expression",
    ],
    ["a = u + 1; u = 2", 4, "unknown variable 'u'; did you mean 'a'?"],
    ["t = 1; t + tt", 11, "unknown variable 'tt'; did you mean 't'?"],
  ];
  failsAt(table, (source) => typecheckProgram(parseProgram(source), vars, source));
});
