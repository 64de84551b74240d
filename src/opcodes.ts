/**
 * THE opcode table of numfuse, and the bytecode format. This file is the one
 * declaration: `scripts/gen_opcodes.ts` generates `rust/core/src/opcodes.rs`
 * from it, and `tests/opcodes_test.ts` fails when that file is stale.
 *
 * ## Bytecode format
 *
 * A program is a sequence of little-endian u32 words:
 *
 * ```text
 * header (8 words)
 *   0  magic      0x3142464E ("NFB1")
 *   1  version    BYTECODE_VERSION
 *   2  n_regs     registers, at most 65535
 *   3  n_instrs   instructions
 *   4  n_consts   entries of the constant pool
 *   5  n_inputs   array input slots
 *   6  n_outputs  array output slots
 *   7  n_scalars  per-call scalar slots
 * register table (n_regs words), one per register:
 *    31            16 15      8 7       0
 *   +----------------+---------+---------+
 *   |     index      |  dtype  |  kind   |
 *   +----------------+---------+---------+
 *   kind  INPUT  index = input slot     read-only array
 *         OUTPUT index = output slot    written array, readable once written
 *         SCALAR index = scalar slot    a per-call value, broadcast
 *         CONST  index = pool entry     a constant, broadcast
 *         TEMP   index = 0              a block-local temporary
 * constant pool (2 words per entry): the value's 8 bytes, little-endian:
 *   IEEE binary64 for float registers, two's complement int64 for integer and
 *   bool registers (converted to the register's dtype when loaded)
 * instructions (3 words each):
 *    31            16 15             0
 *   +----------------+----------------+
 *   |      dst       |     opcode     |  word 0
 *   +----------------+----------------+
 *   |       b        |       a        |  word 1
 *   +----------------+----------------+
 *   |       d        |       c        |  word 2
 *   +----------------+----------------+
 *   a, b, c, d are source registers; an unused one is NO_REG (0xFFFF).
 * ```
 *
 * Arrays are passed to a run as one list: the output slots first, then the
 * input slots. Scalars are passed as 8-byte values in the dtype of their
 * register's class (binary64 for floats, int64 for integers and bool).
 *
 * The VM rejects a program unless: the header matches the word count; every
 * register's kind and dtype are known and its index is below its slot count;
 * every opcode exists; `dst` is a TEMP or OUTPUT register of the opcode's
 * result dtype; exactly the opcode's operands are present, each a register of
 * the signature's dtype; every TEMP and OUTPUT is written before it is read;
 * every output slot is written.
 *
 * @module
 */

import { type DType, DTYPE_CHAR, dtypeKind, DTYPES } from "./dtype.ts";

/** Bytecode magic number, "NFB1" read as a little-endian u32. */
export const MAGIC = 0x3142464e;
/** Bytecode version; bump on any change to the format or the table order. */
export const BYTECODE_VERSION = 5;
/** Words in the header. */
export const HEADER_WORDS = 8;
/** Words per instruction. */
export const INSTR_WORDS = 3;
/** Marks an unused operand. */
export const NO_REG = 0xffff;
/** Register kinds, in code order. */
export const REG_KINDS = ["input", "output", "scalar", "const", "temp"] as const;
/** A register kind. */
export type RegKind = typeof REG_KINDS[number];

/** One opcode: what it computes, its typed signature and its relative cost per element. */
export interface OpInfo {
  /** `op_<result char><operand chars>`, e.g. `add_fff`. */
  readonly name: string;
  /** The operation, shared by all its typed variants. */
  readonly op: string;
  /** Result dtype. */
  readonly ret: DType;
  /** Operand dtypes (1 to 4). */
  readonly args: readonly DType[];
  /** Estimated cost per element, in units of one `add` (for the thread planner). */
  readonly cost: number;
  /** What it does, one line. */
  readonly doc: string;
}

/** The operations, with their doc line and cost. Order is stable: append only. */
const OPS = {
  copy: ["R[dst] := R[a]", 1],
  cast: ["R[dst] := R[a] converted to the result dtype (C-style for floats to ints)", 1],
  neg: ["R[dst] := -R[a]", 1],
  add: ["R[dst] := R[a] + R[b]", 1],
  sub: ["R[dst] := R[a] - R[b]", 1],
  mul: ["R[dst] := R[a] * R[b]", 1],
  div: ["R[dst] := R[a] / R[b] (true division)", 2],
  mod: ["R[dst] := R[a] mod R[b] (sign of R[b], as NumPy; integer x % 0 = 0)", 4],
  pow: ["R[dst] := R[a] ** R[b]", 20],
  lt: ["R[dst] := R[a] < R[b]", 1],
  le: ["R[dst] := R[a] <= R[b]", 1],
  gt: ["R[dst] := R[a] > R[b]", 1],
  ge: ["R[dst] := R[a] >= R[b]", 1],
  eq: ["R[dst] := R[a] == R[b]", 1],
  ne: ["R[dst] := R[a] != R[b]", 1],
  and: ["R[dst] := R[a] & R[b] (logical)", 1],
  or: ["R[dst] := R[a] | R[b] (logical)", 1],
  not: ["R[dst] := ~R[a] (logical)", 1],
  where: ["R[dst] := R[a] ? R[b] : R[c]", 1],
  abs: ["R[dst] := |R[a]|", 1],
  sqrt: ["R[dst] := sqrt(R[a])", 2],
  exp: ["R[dst] := e ** R[a]", 10],
  log: ["R[dst] := natural log of R[a]", 10],
  sin: ["R[dst] := sin(R[a])", 12],
  cos: ["R[dst] := cos(R[a])", 12],
  tanh: ["R[dst] := tanh(R[a])", 12],
  tan: ["R[dst] := tan(R[a])", 14],
  arcsin: ["R[dst] := arcsin(R[a])", 12],
  arccos: ["R[dst] := arccos(R[a])", 12],
  arctan: ["R[dst] := arctan(R[a])", 12],
  sinh: ["R[dst] := sinh(R[a])", 12],
  cosh: ["R[dst] := cosh(R[a])", 12],
  arcsinh: ["R[dst] := arcsinh(R[a])", 16],
  arccosh: ["R[dst] := arccosh(R[a])", 16],
  arctanh: ["R[dst] := arctanh(R[a])", 14],
  expm1: ["R[dst] := e ** R[a] - 1", 10],
  log1p: ["R[dst] := natural log of 1 + R[a]", 12],
  log2: ["R[dst] := base-2 log of R[a]", 12],
  log10: ["R[dst] := base-10 log of R[a]", 12],
  exp2: ["R[dst] := 2 ** R[a]", 10],
  arctan2: ["R[dst] := arctan(R[a] / R[b]) in the quadrant of (R[b], R[a])", 16],
  ceil: ["R[dst] := the least integer >= R[a]", 1],
  floor: ["R[dst] := the greatest integer <= R[a]", 1],
  trunc: ["R[dst] := R[a] rounded toward zero", 1],
  rint: ["R[dst] := R[a] rounded to the nearest integer, ties to even", 1],
  sign: ["R[dst] := -1, 0 or 1 by the sign of R[a] (NaN stays NaN, -0 gives 0)", 1],
  isnan: ["R[dst] := R[a] is NaN", 1],
  isfinite: ["R[dst] := R[a] is neither NaN nor infinite", 1],
  isinf: ["R[dst] := R[a] is +-inf", 1],
  signbit: ["R[dst] := the sign bit of R[a] is set", 1],
  copysign: ["R[dst] := |R[a]| with the sign of R[b]", 1],
  hypot: ["R[dst] := sqrt(R[a]**2 + R[b]**2) without undue overflow", 8],
  fmod: ["R[dst] := C fmod(R[a], R[b]) (sign of R[a]; integer x fmod 0 = 0)", 4],
  maximum: ["R[dst] := the larger of R[a], R[b]; NaN if either is NaN", 1],
  minimum: ["R[dst] := the smaller of R[a], R[b]; NaN if either is NaN", 1],
  clip: ["R[dst] := min(max(R[a], R[b]), R[c]), NaN-propagating as NumPy's clip", 2],
  fma: ["R[dst] := R[a] * R[b] + R[c], rounded once", 2],
  floordiv: ["R[dst] := floor(R[a] / R[b]) as NumPy's floor_divide (integer x // 0 = 0)", 4],
  lshift: ["R[dst] := R[a] << R[b] (0 when R[b] < 0 or R[b] >= the bits of the dtype)", 1],
  rshift: ["R[dst] := R[a] >> R[b], arithmetic for signed (count >= bits: 0 or -1)", 1],
  bitand: ["R[dst] := R[a] & R[b] (bitwise)", 1],
  bitor: ["R[dst] := R[a] | R[b] (bitwise)", 1],
  bitxor: ["R[dst] := R[a] ^ R[b] (bitwise)", 1],
  invert: ["R[dst] := ~R[a] (bitwise)", 1],
  nextafter: ["R[dst] := the next representable value after R[a] toward R[b]", 2],
  reciprocal: ["R[dst] := 1 / R[a] in integers, as NumPy (0 gives the cast of inf)", 1],
  where_lt: ["R[dst] := R[a] < R[b] ? R[c] : R[d] (where of lt, fused)", 1],
  where_le: ["R[dst] := R[a] <= R[b] ? R[c] : R[d] (where of le, fused)", 1],
  where_gt: ["R[dst] := R[a] > R[b] ? R[c] : R[d] (where of gt, fused)", 1],
  where_ge: ["R[dst] := R[a] >= R[b] ? R[c] : R[d] (where of ge, fused)", 1],
  where_eq: ["R[dst] := R[a] == R[b] ? R[c] : R[d] (where of eq, fused)", 1],
  where_ne: ["R[dst] := R[a] != R[b] ? R[c] : R[d] (where of ne, fused)", 1],
} as const satisfies Record<string, readonly [string, number]>;

/** An operation name. */
export type OpName = keyof typeof OPS;

/** Unary float functions added after the first table (vecmath-backed). */
const UNARY_FLOAT_FUNCTIONS = [
  "tan",
  "arcsin",
  "arccos",
  "arctan",
  "sinh",
  "cosh",
  "arcsinh",
  "arccosh",
  "arctanh",
  "expm1",
  "log1p",
  "log2",
  "log10",
  "exp2",
] as const;

/**
 * Per comparison, the operation computing `where(a CMP b, c, d)` in one pass
 * (the code generator fuses a comparison used only as a `where`'s condition).
 */
export const FUSED_WHERE = {
  lt: "where_lt",
  le: "where_le",
  gt: "where_gt",
  ge: "where_ge",
  eq: "where_eq",
  ne: "where_ne",
} as const satisfies Partial<Record<OpName, OpName>>;

const BOOL: DType[] = ["bool"];
const FLOATS: DType[] = ["float32", "float64"];
/** The integer dtypes of the first table (version 1). */
const FIRST_INTS: DType[] = ["int32", "int64"];
/** Every integer dtype. */
const ALL_INTS: DType[] = DTYPES.filter((d) => dtypeKind(d) === "i" || dtypeKind(d) === "u");

/**
 * The table: first every signature over the dtypes of version 1 (in their
 * original order, operations added later at the end), then what every
 * integer dtype adds, so that opcode numbers only ever grow.
 */
function buildTable(): OpInfo[] {
  const table: OpInfo[] = [];
  const seen = new Set<string>();
  for (const ints of [FIRST_INTS, ALL_INTS]) buildPass(ints, table, seen);
  // float16 is stored and converted: the compiler computes its other
  // operations in float32 and rounds each result back (as NumPy does).
  const append = (op: OpName, ret: DType, args: DType[]) => {
    const [doc, cost] = OPS[op];
    const name = `${op}_${DTYPE_CHAR[ret]}${args.map((a) => DTYPE_CHAR[a]).join("")}`;
    table.push({ name, op, ret, args, cost, doc });
  };
  append("copy", "float16", ["float16"]);
  for (const t of [...BOOL, ...ALL_INTS, ...FLOATS]) {
    append("cast", "float16", [t]);
    append("cast", t, ["float16"]);
  }
  append("where", "float16", ["bool", "float16", "float16"]);
  // nextafter steps in float16's own bits: float32 cannot stand in for it.
  append("nextafter", "float16", ["float16", "float16"]);
  // where of a comparison in one pass, over the dtypes with comparisons.
  for (const op of Object.values(FUSED_WHERE)) {
    for (const t of [...BOOL, ...ALL_INTS, ...FLOATS]) append(op, t, [t, t, t, t]);
  }
  return table;
}

/** Appends to `table` the signatures over these integer dtypes not already in `seen`. */
function buildPass(ints: DType[], table: OpInfo[], seen: Set<string>): void {
  const nums: DType[] = [...ints, ...FLOATS];
  const all: DType[] = [...BOOL, ...nums];
  const add = (op: OpName, ret: DType, args: DType[]) => {
    const [doc, cost] = OPS[op];
    const name = `${op}_${DTYPE_CHAR[ret]}${args.map((a) => DTYPE_CHAR[a]).join("")}`;
    if (seen.has(name)) return;
    seen.add(name);
    table.push({ name, op, ret, args, cost, doc });
  };
  const unary = (op: OpName, types: DType[]) => types.forEach((t) => add(op, t, [t]));
  const binary = (op: OpName, types: DType[]) => types.forEach((t) => add(op, t, [t, t]));
  const compare = (op: OpName) => all.forEach((t) => add(op, "bool", [t, t]));

  unary("copy", all);
  for (const to of all) for (const from of all) if (to !== from) add("cast", to, [from]);
  unary("neg", nums);
  for (const op of ["add", "sub", "mul"] as const) binary(op, nums);
  binary("div", FLOATS);
  binary("mod", nums);
  binary("pow", nums);
  for (const op of ["lt", "le", "gt", "ge", "eq", "ne"] as const) compare(op);
  binary("and", BOOL);
  binary("or", BOOL);
  unary("not", BOOL);
  all.forEach((t) => add("where", t, ["bool", t, t]));
  unary("abs", nums);
  for (const op of ["sqrt", "exp", "log", "sin", "cos", "tanh"] as const) unary(op, FLOATS);
  for (const op of UNARY_FLOAT_FUNCTIONS) unary(op, FLOATS);
  binary("arctan2", FLOATS);
  for (const op of ["ceil", "floor", "trunc", "rint"] as const) unary(op, FLOATS);
  unary("sign", nums);
  for (const op of ["isnan", "isfinite", "isinf", "signbit"] as const) {
    nums.forEach((t) => add(op, "bool", [t]));
  }
  binary("copysign", FLOATS);
  binary("hypot", FLOATS);
  for (const op of ["fmod", "maximum", "minimum"] as const) binary(op, nums);
  nums.forEach((t) => add("clip", t, [t, t, t]));
  FLOATS.forEach((t) => add("fma", t, [t, t, t]));
  binary("floordiv", nums);
  for (const op of ["lshift", "rshift", "bitand", "bitor", "bitxor"] as const) binary(op, ints);
  unary("invert", ints);
  binary("nextafter", FLOATS);
  unary("reciprocal", ints);
}

/** Every opcode; an opcode's number is its index. */
export const OPCODES: readonly OpInfo[] = buildTable();

/** Every operation name, in a stable order. */
export const OP_NAMES: readonly OpName[] = Object.keys(OPS) as OpName[];

const BY_SIGNATURE = new Map(
  OPCODES.map((info, code) => [signatureKey(info.op, info.args, info.ret), code]),
);
const BY_NAME = new Map(OPCODES.map((info, code) => [info.name, code]));

function signatureKey(op: string, args: readonly DType[], ret?: DType): string {
  return op === "cast" ? `cast(${args[0]})->${ret}` : `${op}(${args.join(",")})`;
}

/** The opcode number for an operation on exactly these operand dtypes, or undefined. */
export function findOpcode(op: OpName, args: readonly DType[]): number | undefined {
  return BY_SIGNATURE.get(signatureKey(op, args));
}

/** The opcode number of the cast from `from` to `to`, or undefined when there is none. */
export function findCast(to: DType, from: DType): number | undefined {
  return BY_SIGNATURE.get(signatureKey("cast", [from], to));
}

/** The opcode number of a name like `add_fff`, or undefined. */
export function opcodeByName(name: string): number | undefined {
  return BY_NAME.get(name);
}

/** Which dtypes an operation accepts, as signatures. */
export function signaturesOf(op: OpName): readonly OpInfo[] {
  return OPCODES.filter((o) => o.op === op);
}
