import assert from "node:assert/strict";
import type { TypedExpr, VarSpec } from "../src/ast.ts";
import type { DType } from "../src/dtype.ts";
import { ExpressionError } from "../src/errors.ts";
import { parse } from "../src/parser.ts";
import { typecheck } from "../src/types.ts";
import { failsAt } from "./reference.ts";

const array = (dtype: DType): VarSpec => ({ kind: "array", dtype });
const VARS: Record<string, VarSpec> = {
  f32: array("float32"),
  f64: array("float64"),
  i32: array("int32"),
  i64: array("int64"),
  b: array("bool"),
  i8: array("int8"),
  u8: array("uint8"),
  i16: array("int16"),
  u16: array("uint16"),
  u32: array("uint32"),
  u64: array("uint64"),
  h16: array("float16"),
  s32: { kind: "scalar", dtype: "float32" },
  wf: { kind: "weak", weak: "float" },
  wi: { kind: "weak", weak: "int" },
  wb: { kind: "weak", weak: "bool" },
};

function check(source: string, vars: Record<string, VarSpec> = VARS): TypedExpr {
  return typecheck(parse(source), vars, source);
}

/** S-expression of a typed tree: `(op:dtype args)`, inputs `name:dtype`, scalars `$name:dtype`. */
function show(e: TypedExpr): string {
  switch (e.type) {
    case "const":
      return `${e.value}:${e.dtype}`;
    case "input":
      return `${e.name}:${e.dtype}`;
    case "scalar":
      return `$${e.name}:${e.dtype}`;
    case "ref":
      return `@${e.index}:${e.name}:${e.dtype}`;
    case "cast":
      return `(cast:${e.dtype} ${show(e.operand)})`;
    case "op":
      return `(${e.op}:${e.dtype} ${e.args.map(show).join(" ")})`;
  }
}

Deno.test("result dtypes follow NumPy 2 promotion with NEP 50 weak scalars", () => {
  const table: [string, DType][] = [
    ["f32 * 0.5", "float32"],
    ["i32 + f32", "float64"],
    ["i32 / i32", "float64"],
    ["i32 + 1", "int32"],
    ["i32 * 2.5", "float64"],
    ["b + 1", "int64"],
    ["sqrt(i32)", "float64"],
    ["sqrt(f32)", "float32"],
    ["tanh(i64)", "float64"],
    ["where(f32 > 0, f32, 0)", "float32"],
    ["where(i64 > 0, i64, 0)", "int64"],
    ["where(b, 1, 2.5)", "float64"],
    ["where(b, i32, f32)", "float64"],
    ["where(i32, f32, 1)", "float32"],
    ["1 + 2", "int64"],
    ["1 + 2.0", "float64"],
    ["1 / 2", "float64"],
    ["True", "bool"],
    ["1 < 2", "bool"],
    ["s32 + i32", "float64"],
    ["s32 * f32", "float32"],
    ["s32 + 1", "float32"],
    ["f32 * wf", "float32"],
    ["i32 * wf", "float64"],
    ["i32 + wi", "int32"],
    ["wb + f32", "float32"],
    ["wi", "int64"],
    ["wf * wi", "float64"],
    ["f32 + f64", "float64"],
    ["i32 + i64", "int64"],
    ["f32 / 2", "float32"],
    ["f32 > 1", "bool"],
    ["(f32 > 0) & (i32 < 3)", "bool"],
    ["~b | (wb & True)", "bool"],
    ["abs(i32)", "int32"],
    ["abs(-2)", "int64"],
    ["i8 + u8", "int16"],
    ["u16 * i16", "int32"],
    ["u32 - i32", "int64"],
    ["u64 + i64", "float64"],
    ["u64 < i64", "bool"],
    ["u8 + 1", "uint8"],
    ["i8 * 0.5", "float64"],
    ["i8 / i8", "float64"],
    ["i8 + f32", "float32"],
    ["i16 + f32", "float32"],
    ["sqrt(i16)", "float32"],
    ["sqrt(u16)", "float32"],
    ["sqrt(u32)", "float64"],
    ["arctan2(u16, 2)", "float32"],
    ["i8 // i8", "int8"],
    ["b // b", "int8"],
    ["b << b", "int8"],
    ["b + b", "bool"],
    ["b ^ b", "bool"],
    ["u8 << i8", "int16"],
    ["i8 & b", "int8"],
    ["b & 1", "int64"],
    ["~u16", "uint16"],
    ["-u8", "uint8"],
    ["abs(b)", "bool"],
    ["ceil(i8)", "int8"],
    ["round(u64)", "uint64"],
    ["reciprocal(i16)", "int16"],
    ["reciprocal(b)", "int8"],
    ["square(b)", "int8"],
    ["maximum(b, b)", "bool"],
    ["isnan(u8)", "bool"],
    ["nextafter(f32, 1)", "float32"],
    ["nextafter(i8, i8)", "float16"],
    ["nextafter(i8, u8)", "float32"],
    ["nextafter(h16, 1)", "float16"],
    ["True << True", "int64"],
    ["sqrt(i8)", "float16"],
    ["sqrt(b)", "float16"],
    ["h16 * 0.5", "float16"],
    ["h16 + i8", "float16"],
    ["h16 + i16", "float32"],
    ["h16 + f32", "float32"],
    ["h16 < 1", "bool"],
    ["-i64", "int64"],
    ["+f32", "float32"],
    ["f32 ** 2", "float32"],
    ["i32 ** 2", "int32"],
    ["i32 % 3", "int32"],
    ["sqrt(2)", "float64"],
    ["f32 * sqrt(2)", "float64"],
    ["f32 * (1 - 0.9)", "float32"],
    ["i32 + 2147483647", "int32"],
    ["i32 + -2147483648", "int32"],
    ["b == b", "bool"],
    ["arcsinh(i32)", "float64"],
    ["arctan2(f32, 2)", "float32"],
    ["arctan2(f32, i32)", "float64"],
    ["arctan2(i32, i32)", "float64"],
    ["round(i32)", "int32"],
    ["round(f32)", "float32"],
    ["square(i64)", "int64"],
    ["sign(i32)", "int32"],
    ["isnan(i32)", "bool"],
    ["signbit(f32)", "bool"],
    ["reciprocal(f32)", "float32"],
    ["maximum(i32, 2)", "int32"],
    ["maximum(i32, f32)", "float64"],
    ["fmod(i32, i64)", "int64"],
    ["clip(i32, -1, 2.5)", "float64"],
    ["clip(f32, 0, 1)", "float32"],
    ["copysign(i32, 1)", "float64"],
    ["hypot(f32, f32)", "float32"],
    ["fma(f32, f32, 1)", "float32"],
    ["fma(i32, 2, 1)", "float64"],
  ];
  for (const [source, dtype] of table) assert.equal(check(source).dtype, dtype, source);
});

Deno.test("conversions are explicit casts and weak values take the dtype of their use", () => {
  const table: [string, string][] = [
    // float16 is computed in float32, each result rounded back to float16.
    [
      "h16 * h16 + 1",
      "(cast:float16 (add:float32 (cast:float32 (cast:float16 (mul:float32 (cast:float32 h16:float16) (cast:float32 h16:float16)))) (cast:float32 1:float16)))",
    ],
    ["h16 < 1", "(lt:bool (cast:float32 h16:float16) (cast:float32 1:float16))"],
    ["i32 + f32", "(add:float64 (cast:float64 i32:int32) (cast:float64 f32:float32))"],
    ["f32 * 0.5", "(mul:float32 f32:float32 0.5:float32)"],
    ["f32 * 0.1", `(mul:float32 f32:float32 ${Math.fround(0.1)}:float32)`],
    ["i32 / 2", "(div:float64 (cast:float64 i32:int32) 2:float64)"],
    ["i32 * wf", "(mul:float64 (cast:float64 i32:int32) $wf:float64)"],
    [
      "wi * f32 + wi * i64",
      "(add:float64 (cast:float64 (mul:float32 $wi:float32 f32:float32))" +
      " (cast:float64 (mul:int64 $wi:int64 i64:int64)))",
    ],
    [
      "f32 * (1 - 0.9)",
      "(mul:float32 f32:float32 (cast:float32 (sub:float64 1:float64 0.9:float64)))",
    ],
    ["where(i32, f32, 1)", "(where:float32 (cast:bool i32:int32) f32:float32 1:float32)"],
    ["where(1, f32, f32)", "(where:float32 true:bool f32:float32 f32:float32)"],
    ["-3 + i32", "(add:int32 -3:int32 i32:int32)"],
    ["-f32", "(neg:float32 f32:float32)"],
    ["b + 1", "(add:int64 (cast:int64 b:bool) 1:int64)"],
    ["i32 + True", "(add:int32 i32:int32 1:int32)"],
    ["sqrt(i64)", "(sqrt:float64 (cast:float64 i64:int64))"],
    ["s32 > 1", "(gt:bool $s32:float32 1:float32)"],
    ["1 + 2", "(add:int64 1:int64 2:int64)"],
    ["~(f32 < 1)", "(not:bool (lt:bool f32:float32 1:float32))"],
    ["f32", "f32:float32"],
  ];
  for (const [source, expected] of table) assert.equal(show(check(source)), expected, source);
});

Deno.test("only own properties of vars are variables", () => {
  for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty"]) {
    assert.throws(() => check(name, { x: array("float32") }), (e: unknown) => {
      assert.ok(e instanceof ExpressionError);
      assert.equal(e.message, `at 0: unknown variable '${name}'`);
      return true;
    });
  }
  const own = Object.fromEntries([["constructor", array("int32")]]);
  assert.equal(check("constructor + 1", own).dtype, "int32");
});

Deno.test("type errors name the problem at its offset", () => {
  const vars: Record<string, VarSpec> = {
    x: array("float32"),
    i: array("int32"),
    flag: array("bool"),
    c: array("int8"),
    u: array("uint64"),
    h: array("float16"),
  };
  const table: [string, number, string][] = [
    ["y + 1", 0, "unknown variable 'y'; did you mean 'x'?"],
    ["x + flg", 4, "unknown variable 'flg'; did you mean 'flag'?"],
    ["true", 0, "unknown variable 'true'; did you mean 'True'?"],
    ["xyzzy", 0, "unknown variable 'xyzzy'"],
    ["tanhh(x)", 0, "unknown function 'tanhh'; did you mean 'tanh'?"],
    ["2 * sqr(x)", 4, "unknown function 'sqr'; did you mean 'sqrt'?"],
    ["fooo(x)", 0, "unknown function 'fooo'; did you mean 'floor'?"],
    ["qwxz(x)", 0, "unknown function 'qwxz'"],
    ["sign(flag)", 0, "sign does not support bool"],
    ["clip(x, 1)", 0, "clip() takes 3 arguments, got 2"],
    ["where(x, 1)", 0, "where() takes 3 arguments, got 2"],
    ["1 + sin(x, x)", 4, "sin() takes 1 argument, got 2"],
    ["sqrt()", 0, "sqrt() takes 1 argument, got 0"],
    [
      "x & x",
      2,
      "operator '&' is not supported for float32: NumPy's bitwise_and takes only integers and bool",
    ],
    [
      "i | x",
      2,
      "operator '|' is not supported for float64: NumPy's bitwise_or takes only integers and bool",
    ],
    [
      "~x",
      0,
      "operator '~' is not supported for float32: NumPy's invert takes only integers and bool",
    ],
    [
      "1.5 ^ i",
      4,
      "operator '^' is not supported for float64: NumPy's bitwise_xor takes only integers and bool",
    ],
    [
      "x << 1",
      2,
      "operator '<<' is not supported for float32: NumPy's left_shift takes only integers and bool",
    ],
    [
      "i >> 0.5",
      2,
      "operator '>>' is not supported for float64: NumPy's right_shift takes only integers and bool",
    ],
    [
      "flag - flag",
      5,
      "operator '-' on bool is not supported: use '^' (xor) instead, as NumPy advises",
    ],
    [
      "-flag",
      0,
      "operator '-' on bool is not supported: use '~' for logical not, as NumPy advises",
    ],
    ["c + 300", 4, "integer 300 out of bounds for int8"],
    ["u + -1", 4, "integer -1 out of bounds for uint64"],
    ["i ** -1", 5, "integers to negative integer powers are not allowed"],
    ["i + 3000000000", 4, "integer 3000000000 out of bounds for int32"],
    ["i + -2147483649", 4, "integer -2147483649 out of bounds for int32"],
    ["1 + 99999999999999999999", 4, "integer 99999999999999999999 out of bounds for int64"],
    [
      "h ^ h",
      2,
      "operator '^' is not supported for float16: NumPy's bitwise_xor takes only integers and bool",
    ],
  ];
  failsAt(table, (source) => check(source, vars));
});
