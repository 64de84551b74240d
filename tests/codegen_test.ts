import assert from "node:assert/strict";
import type { TypedExpr, VarSpec } from "../src/ast.ts";
import { generate } from "../src/codegen.ts";
import { compileProgram } from "../src/compiler.ts";
import { disassemble } from "../src/disasm.ts";
import type { DType } from "../src/dtype.ts";
import { MAGIC, opcodeByName } from "../src/opcodes.ts";

const array = (dtype: DType): VarSpec => ({ kind: "array", dtype });
const VARS: Record<string, VarSpec> = {
  x: array("float32"),
  y: array("float32"),
  i: array("int32"),
  k: { kind: "weak", weak: "int" },
  lr: { kind: "weak", weak: "float" },
};

const listing = (source: string, outDtype?: DType) =>
  disassemble(compileProgram(source, VARS, outDtype).code);

/** Hand-written listings: [expression, out dtype, expected disassembly]. */
const GOLDEN: [string, DType | undefined, string[]][] = [
  ["x - y", undefined, [
    "r0 input[0] float32",
    "r1 input[1] float32",
    "r2 output[0] float32",
    "0: sub_fff r2, r0, r1",
  ]],
  // CSE: sin(x) once.
  ["sin(x) * sin(x)", undefined, [
    "r0 input[0] float32",
    "r1 temp float32",
    "r2 output[0] float32",
    "0: sin_ff r1, r0",
    "1: mul_fff r2, r1, r1",
  ]],
  // Folded in doubles: one constant, copied out.
  ["1 - 0.9", undefined, [
    "r0 const float64 0.09999999999999998",
    "r1 output[0] float64",
    "0: copy_dd r1, r0",
  ]],
  ["x * (2 * 3)", undefined, [
    "r0 input[0] float32",
    "r1 const float32 6",
    "r2 output[0] float32",
    "0: mul_fff r2, r0, r1",
  ]],
  // A weak compound is computed as Python would (in doubles), then rounded to float32.
  ["x * (0.1 + 0.2)", undefined, [
    "r0 input[0] float32",
    "r1 const float32 0.30000001192092896",
    "r2 output[0] float32",
    "0: mul_fff r2, r0, r1",
  ]],
  // Integer folding wraps.
  ["i + (2147483647 + 1)", undefined, [
    "r0 input[0] int32",
    "r1 const int32 -2147483648",
    "r2 output[0] int32",
    "0: add_iii r2, r0, r1",
  ]],
  ["x**2", undefined, [
    "r0 input[0] float32",
    "r1 output[0] float32",
    "0: mul_fff r1, r0, r0",
  ]],
  // x**-1 → 1/x, x**1 → x, x**0.5 stays a pow; the dead temp r3 is reused in place.
  ["x ** -1 + x ** 1 + x ** 0.5", undefined, [
    "r0 input[0] float32",
    "r1 const float32 1",
    "r2 const float32 0.5",
    "r3 temp float32",
    "r4 temp float32",
    "r5 output[0] float32",
    "0: div_fff r3, r1, r0",
    "1: add_fff r3, r3, r0",
    "2: pow_fff r4, r0, r2",
    "3: add_fff r5, r3, r4",
  ]],
  // Integer % by zero and ** are not folded.
  ["i + 5 % 0 + 2 ** 3", undefined, [
    "r0 input[0] int32",
    "r1 const int64 5",
    "r2 const int64 0",
    "r3 const int64 2",
    "r4 const int64 3",
    "r5 temp int64",
    "r6 temp int32",
    "r7 temp int32",
    "r8 output[0] int32",
    "0: mod_lll r5, r1, r2",
    "1: cast_il r6, r5",
    "2: add_iii r6, r0, r6",
    "3: pow_lll r5, r3, r4",
    "4: cast_il r7, r5",
    "5: add_iii r8, r6, r7",
  ]],
  ["i + x", undefined, [
    "r0 input[0] int32",
    "r1 input[1] float32",
    "r2 temp float64",
    "r3 temp float64",
    "r4 output[0] float64",
    "0: cast_di r2, r0",
    "1: cast_df r3, r1",
    "2: add_ddd r4, r2, r3",
  ]],
  // r2 dies at instruction 2 and holds the product; r3 is reused at instruction 3.
  ["(x + y) * (x - y) + x * y", undefined, [
    "r0 input[0] float32",
    "r1 input[1] float32",
    "r2 temp float32",
    "r3 temp float32",
    "r4 output[0] float32",
    "0: add_fff r2, r0, r1",
    "1: sub_fff r3, r0, r1",
    "2: mul_fff r2, r2, r3",
    "3: mul_fff r3, r0, r1",
    "4: add_fff r4, r2, r3",
  ]],
  // One register for the constant 0 used twice; temps are only reused within a dtype.
  ["tanh(where(x > 0, x, 0))", undefined, [
    "r0 input[0] float32",
    "r1 const float32 0",
    "r2 temp bool",
    "r3 temp float32",
    "r4 output[0] float32",
    "0: gt_bff r2, r0, r1",
    "1: where_fbff r3, r2, r0, r1",
    "2: tanh_ff r4, r3",
  ]],
  // A weak scalar used at two dtypes gets two slots; the live float64 r5 is not reused.
  ["k * x + k * i", undefined, [
    "r0 input[0] float32",
    "r1 input[1] int32",
    "r2 scalar[0] float32",
    "r3 scalar[1] int32",
    "r4 temp float32",
    "r5 temp float64",
    "r6 temp int32",
    "r7 temp float64",
    "r8 output[0] float64",
    "0: mul_fff r4, r2, r0",
    "1: cast_df r5, r4",
    "2: mul_iii r6, r3, r1",
    "3: cast_di r7, r6",
    "4: add_ddd r8, r5, r7",
  ]],
  ["(x > 0) | False", undefined, [
    "r0 input[0] float32",
    "r1 const float32 0",
    "r2 const bool false",
    "r3 temp bool",
    "r4 output[0] bool",
    "0: gt_bff r3, r0, r1",
    "1: or_bbb r4, r3, r2",
  ]],
  ["x", undefined, [
    "r0 input[0] float32",
    "r1 output[0] float32",
    "0: copy_ff r1, r0",
  ]],
  ["x", "float64", [
    "r0 input[0] float32",
    "r1 output[0] float64",
    "0: cast_df r1, r0",
  ]],
  ["x + 1", "float64", [
    "r0 input[0] float32",
    "r1 const float32 1",
    "r2 temp float32",
    "r3 output[0] float64",
    "0: add_fff r2, r0, r1",
    "1: cast_df r3, r2",
  ]],
];

Deno.test("golden disassembly", () => {
  for (const [source, outDtype, expected] of GOLDEN) {
    assert.equal(listing(source, outDtype), expected.join("\n"), source);
  }
});

Deno.test("compileProgram names the slots", () => {
  const p = compileProgram("k * x + k * i - lr", VARS);
  assert.deepEqual(p.inputs, ["x", "i"]);
  assert.deepEqual(p.scalars, [
    { name: "k", dtype: "float32" },
    { name: "k", dtype: "int32" },
    { name: "lr", dtype: "float64" },
  ]);
  assert.deepEqual(p.outputs, [{ name: "", dtype: "float64" }]);
  assert.equal(p.source, "k * x + k * i - lr");
  assert.ok(Object.isFrozen(p) && Object.isFrozen(p.inputs));
  // The typed tree is the one before optimization.
  const q = compileProgram("x**2", VARS);
  assert.ok(q.typed.type === "op" && q.typed.op === "pow");
});

Deno.test("bytecode words follow the format in opcodes.ts", () => {
  const { code } = compileProgram("x + 0.5", VARS);
  const add = opcodeByName("add_fff")!;
  assert.deepEqual([...code], [
    MAGIC,
    1,
    3,
    1,
    1,
    1,
    1,
    0, // header
    0x0a00,
    0x0a03,
    0x0a01, // input[0] float32, const[0] float32, output[0] float32
    0,
    0x3fe00000, // 0.5 as binary64
    (2 << 16) | add,
    (1 << 16) | 0,
    0xffff, // add_fff r2, r0, r1
  ]);
});

Deno.test("disassemble rejects malformed bytecode with a RangeError", () => {
  const good = compileProgram("x + 0.5", VARS).code;
  const patched = (word: number, value: number) => {
    const copy = good.slice();
    copy[word] = value;
    return copy;
  };
  const table: [Uint32Array, RegExp][] = [
    [new Uint32Array(0), /shorter than the header/],
    [patched(0, 0xdeadbeef), /bad magic/],
    [patched(1, 99), /version 99/],
    [good.slice(0, good.length - 1), /the header says/],
    [patched(8, 0x0a07), /register 0/],
    [patched(9, 0x10a03), /reads constant 1 of 1/],
    [patched(13, (2 << 16) | 0xfff0), /unknown opcode/],
    [patched(14, 7), /uses register 7 of 3/],
  ];
  for (const [code, pattern] of table) {
    assert.throws(
      () => disassemble(code),
      (e: unknown) => e instanceof RangeError && pattern.test(e.message),
    );
  }
});

Deno.test("programs needing more than 65535 registers are refused", () => {
  let n = 0;
  const tree = (depth: number): TypedExpr =>
    depth === 0 ? { type: "const", dtype: "float64", value: n++, start: 0, end: 0 } : {
      type: "op",
      op: "add",
      dtype: "float64",
      args: [tree(depth - 1), tree(depth - 1)],
      start: 0,
      end: 0,
    };
  assert.throws(() => generate(tree(16)), {
    name: "RangeError",
    message: "Cannot generate code: program needs more than 65535 registers",
  });
});
