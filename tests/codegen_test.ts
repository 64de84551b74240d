import assert from "node:assert/strict";
import type { TypedExpr, VarSpec } from "../src/ast.ts";
import { generate } from "../src/codegen.ts";
import { compileProgram } from "../src/compiler.ts";
import { disassemble } from "../src/disasm.ts";
import type { DType } from "../src/dtype.ts";
import { BYTECODE_VERSION, MAGIC, opcodeByName } from "../src/opcodes.ts";

const array = (dtype: DType): VarSpec => ({ kind: "array", dtype });
const VARS: Record<string, VarSpec> = {
  x: array("float32"),
  y: array("float32"),
  i: array("int32"),
  k: { kind: "weak", weak: "int" },
  lr: { kind: "weak", weak: "float" },
  u: array("uint8"),
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
  // where of a comparison is one fused instruction: no bool block.
  ["tanh(where(x > 0, x, 0))", undefined, [
    "r0 input[0] float32",
    "r1 const float32 0",
    "r2 temp float32",
    "r3 output[0] float32",
    "0: where_gt_fffff r2, r0, r1, r0, r1",
    "1: tanh_ff r3, r2",
  ]],
  ["where(x <= y, 1, y)", undefined, [
    "r0 input[0] float32",
    "r1 input[1] float32",
    "r2 const float32 1",
    "r3 output[0] float32",
    "0: where_le_fffff r3, r0, r1, r2, r1",
  ]],
  // A comparison read elsewhere too keeps its own instruction.
  ["m = x != 0; where(m, x, y) + m", undefined, [
    "r0 input[0] float32",
    "r1 input[1] float32",
    "r2 const float32 0",
    "r3 temp bool",
    "r4 temp float32",
    "r5 temp float32",
    "r6 output[0] float32",
    "0: ne_bff r3, r0, r2",
    "1: where_fbff r4, r3, r0, r1",
    "2: cast_fb r5, r3",
    "3: add_fff r6, r4, r5",
  ]],
  // Compared at another dtype than selected: not fused.
  ["where(i < 3, x, y)", undefined, [
    "r0 input[0] int32",
    "r1 input[1] float32",
    "r2 input[2] float32",
    "r3 const int32 3",
    "r4 temp bool",
    "r5 output[0] float32",
    "0: lt_bii r4, r0, r3",
    "1: where_fbff r5, r4, r1, r2",
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
  // The integer operators of bytecode version 2.
  ["i // 3", undefined, [
    "r0 input[0] int32",
    "r1 const int32 3",
    "r2 output[0] int32",
    "0: floordiv_iii r2, r0, r1",
  ]],
  ["~i ^ (i >> k)", undefined, [
    "r0 input[0] int32",
    "r1 scalar[0] int32",
    "r2 temp int32",
    "r3 temp int32",
    "r4 output[0] int32",
    "0: invert_ii r2, r0",
    "1: rshift_iii r3, r0, r1",
    "2: bitxor_iii r4, r2, r3",
  ]],
  // ^ on bools is !=.
  ["(x > 0) ^ (y > 0)", undefined, [
    "r0 input[0] float32",
    "r1 input[1] float32",
    "r2 const float32 0",
    "r3 temp bool",
    "r4 temp bool",
    "r5 output[0] bool",
    "0: gt_bff r3, r0, r2",
    "1: gt_bff r4, r1, r2",
    "2: ne_bbb r5, r3, r4",
  ]],
  ["u << 2", undefined, [
    "r0 input[0] uint8",
    "r1 const uint8 2",
    "r2 output[0] uint8",
    "0: lshift_BBB r2, r0, r1",
  ]],
  ["reciprocal(u) + abs(u)", undefined, [
    "r0 input[0] uint8",
    "r1 temp uint8",
    "r2 temp uint8",
    "r3 output[0] uint8",
    "0: reciprocal_BB r1, r0",
    "1: abs_BB r2, r0",
    "2: add_BBB r3, r1, r2",
  ]],
  // ceil of an integer is the integer (NumPy >= 2.1).
  ["ceil(i)", undefined, [
    "r0 input[0] int32",
    "r1 output[0] int32",
    "0: copy_ii r1, r0",
  ]],
  ["nextafter(x, 1)", undefined, [
    "r0 input[0] float32",
    "r1 const float32 1",
    "r2 output[0] float32",
    "0: nextafter_fff r2, r0, r1",
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

Deno.test("a program's cost is the sum of its instructions' costs in the opcode table", () => {
  // ReLU is one fused where_gt (1); tanh costs 12, sin 12, an add 1; the
  // Adam step: sub, mul, add (m); mul, sub, mul, add (v); mul, sqrt (2),
  // add, div (2), sub (p); a reduction of a variable in place runs no code.
  const cost = (source: string) => compileProgram(source, VARS).cost;
  assert.equal(cost("where(x > 0, x, 0)"), 1);
  assert.equal(cost("tanh(where(x > 0, x, 0))"), 13);
  assert.equal(cost("tanh(x) + sin(x)"), 25);
  assert.equal(
    cost("y = y + 0.1 * (x - y); x = x + 0.001 * (x * x - x); x - 0.001 * y / (sqrt(x) + 1e-8)"),
    3 + 4 + (1 + 2 + 1 + 2 + 1),
  );
  assert.equal(cost("sum(x)"), 0);
});

Deno.test("bytecode words follow the format in opcodes.ts", () => {
  const { code } = compileProgram("x + 0.5", VARS);
  const add = opcodeByName("add_fff")!;
  assert.deepEqual([...code], [
    MAGIC,
    BYTECODE_VERSION,
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
    0xffffffff, // add_fff r2, r0, r1 (no c, no d)
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

const ADAM_VARS: Record<string, VarSpec> = {
  p: array("float32"),
  g: array("float32"),
  m: array("float32"),
  v: array("float32"),
  b1: { kind: "scalar", dtype: "float32" },
  b2: { kind: "scalar", dtype: "float32" },
  lr: { kind: "scalar", dtype: "float32" },
  eps: { kind: "scalar", dtype: "float32" },
  x: array("float64"),
  i: array("int32"),
};

/** Hand-checked listings of programs: [program, expected disassembly]. */
const PROGRAM_GOLDEN: [string, string[]][] = [
  // Adam: one pass, three outputs; p's statement reads the new m and v from
  // their output registers (r11, r12), never the inputs r0, r2 once written.
  [
    `
  m = m + (1 - b1) * (g - m)
  v = v + (1 - b2) * (g * g - v)
  p = p - lr * m / (sqrt(v) + eps)
`,
    [
      "r0 input[0] float32", // m
      "r1 input[1] float32", // g
      "r2 input[2] float32", // v
      "r3 input[3] float32", // p
      "r4 scalar[0] float32", // b1
      "r5 scalar[1] float32", // b2
      "r6 scalar[2] float32", // lr
      "r7 scalar[3] float32", // eps
      "r8 const float32 1",
      "r9 temp float32",
      "r10 temp float32",
      "r11 output[0] float32", // m
      "r12 output[1] float32", // v
      "r13 output[2] float32", // p
      "0: sub_fff r9, r8, r4", // 1 - b1
      "1: sub_fff r10, r1, r0", // g - m
      "2: mul_fff r9, r9, r10",
      "3: add_fff r11, r0, r9", // m := m + ...
      "4: sub_fff r9, r8, r5", // 1 - b2
      "5: mul_fff r10, r1, r1", // g * g
      "6: sub_fff r10, r10, r2", // ... - v
      "7: mul_fff r9, r9, r10",
      "8: add_fff r12, r2, r9", // v := v + ...
      "9: mul_fff r9, r6, r11", // lr * (new m)
      "10: sqrt_ff r10, r12", // sqrt(new v)
      "11: add_fff r10, r10, r7",
      "12: div_fff r9, r9, r10",
      "13: sub_fff r13, r3, r9", // p := p - ...
    ],
  ],
  // A temporary lives in a temp register; the result is output 0.
  ["t = x * 2; t + 1", [
    "r0 input[0] float64",
    "r1 const float64 2",
    "r2 const float64 1",
    "r3 temp float64",
    "r4 output[0] float64",
    "0: mul_ddd r3, r0, r1",
    "1: add_ddd r4, r3, r2",
  ]],
  // A temporary folded to a constant is propagated; a dead one emits nothing.
  ["t = 2 * 3; u = x * 5; x * t", [
    "r0 input[0] float64",
    "r1 const float64 6",
    "r2 output[0] float64",
    "0: mul_ddd r2, r0, r1",
  ]],
  // Only the last assignment of m writes its output; the result is copied from it.
  ["m = m + 1; m = m * 2; m", [
    "r0 input[0] float32",
    "r1 const float32 1",
    "r2 const float32 2",
    "r3 temp float32",
    "r4 output[0] float32",
    "r5 output[1] float32",
    "0: add_fff r3, r0, r1",
    "1: mul_fff r5, r3, r2",
    "2: copy_ff r4, r5",
  ]],
  // t is the old m, read after m is written: the input is copied before the write.
  ["t = m; m = g * 2; t + m", [
    "r0 input[0] float32",
    "r1 input[1] float32",
    "r2 const float32 2",
    "r3 temp float32",
    "r4 output[0] float32",
    "r5 output[1] float32",
    "0: copy_ff r3, r0",
    "1: mul_fff r5, r1, r2",
    "2: add_fff r4, r3, r5",
  ]],
  // The value is cast to the array's dtype (same_kind); a leaf is copied.
  ["i = i * 2; x = i + 0.5; m = 0", [
    "r0 input[0] int32",
    "r1 const int32 2",
    "r2 const float64 0.5",
    "r3 const float32 0",
    "r4 temp float64",
    "r5 output[0] int32",
    "r6 output[1] float64",
    "r7 output[2] float32",
    "0: mul_iii r5, r0, r1",
    "1: cast_di r4, r5",
    "2: add_ddd r6, r4, r2",
    "3: copy_ff r7, r3",
  ]],
];

Deno.test("programs compile to one pass with one output per array assigned", () => {
  for (const [source, expected] of PROGRAM_GOLDEN) {
    const program = compileProgram(source, ADAM_VARS);
    assert.equal(disassemble(program.code), expected.join("\n"), source);
  }
  const adam = compileProgram(PROGRAM_GOLDEN[0][0], ADAM_VARS);
  assert.deepEqual(adam.outputs, [
    { name: "m", dtype: "float32" },
    { name: "v", dtype: "float32" },
    { name: "p", dtype: "float32" },
  ]);
  assert.deepEqual(adam.inputs, ["m", "g", "v", "p"]);
  assert.equal(adam.hasResult, false);
  const temp = compileProgram("t = x * 2; t + 1", ADAM_VARS);
  assert.deepEqual(temp.outputs, [{ name: "", dtype: "float64" }]);
  assert.equal(temp.hasResult, true);
});
