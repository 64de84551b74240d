import assert from "node:assert/strict";
import type { Expr, VarSpec } from "../src/ast.ts";
import { ExpressionError } from "../src/errors.ts";
import { parse } from "../src/parser.ts";
import { typecheck } from "../src/types.ts";

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
    ["a = b", 2, "assignment is not supported yet"],
    ["a; b", 1, "multiple statements are not supported yet"],
    ["a\nb", 1, "multiple statements are not supported yet"],
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
    ["x" + "+x".repeat(100000), 1999, "expression nested too deeply (limit 1000)"],
  ];
  for (const [source, offset, detail] of table) {
    assert.throws(() => typecheck(parse(source), VARS, source), (e: unknown) => {
      assert.ok(e instanceof ExpressionError, `${source.slice(0, 20)}: ${e}`);
      assert.equal(e.detail, detail, source.slice(0, 20));
      assert.equal(e.offset, offset, source.slice(0, 20));
      assert.equal(e.message, `at ${offset}: ${detail}`);
      return true;
    });
  }
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
