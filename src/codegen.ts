/**
 * The code generator: turns a typed tree into bytecode (the format drawn in
 * `opcodes.ts`). Structurally identical subtrees are computed once (value
 * numbering); temporaries are allocated stack-like and reused once dead.
 *
 * Register order: inputs, scalars, constants, temporaries, then the output.
 *
 * @module
 */

import type { TypedConst, TypedExpr } from "./ast.ts";
import { type DType, dtypeCode, dtypeKind } from "./dtype.ts";
import {
  BYTECODE_VERSION,
  findCast,
  findOpcode,
  HEADER_WORDS,
  INSTR_WORDS,
  MAGIC,
  NO_REG,
  REG_KINDS,
  type RegKind,
} from "./opcodes.ts";

/** The most registers a program may have. */
export const MAX_REGISTERS = 65535;

/** A program's bytecode and the names of its slots. */
export interface Generated {
  /** The program, in the format drawn in `opcodes.ts`. */
  code: Uint32Array;
  /** The array variable read by each input slot. */
  inputs: string[];
  /** The variable and dtype of each scalar slot (a weak name used at two dtypes has two slots). */
  scalars: { name: string; dtype: DType }[];
  /** Each output slot: one, named `""`, for a single expression. */
  outputs: { name: string; dtype: DType }[];
}

/** A distinct value of the program: a leaf, or the result of one instruction. */
type Value =
  | { readonly kind: "input"; readonly dtype: DType; readonly name: string }
  | { readonly kind: "scalar"; readonly dtype: DType; readonly name: string }
  | { readonly kind: "const"; readonly dtype: DType; readonly value: TypedConst["value"] }
  | {
    readonly kind: "instr";
    readonly dtype: DType;
    readonly opcode: number;
    readonly args: number[];
  };

interface Register {
  readonly kind: RegKind;
  readonly dtype: DType;
  readonly index: number;
}

interface Instr {
  readonly opcode: number;
  readonly dst: number;
  readonly args: readonly number[];
}

function constKey(value: TypedConst["value"]): string {
  return Object.is(value, -0) ? "-0" : String(value);
}

/** Numbers the distinct values of a tree: identical subtrees get one number. */
class ValueTable {
  readonly values: Value[] = [];
  readonly #ids = new Map<string, number>();

  #intern(key: string, value: Value): number {
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = this.values.push(value) - 1;
      this.#ids.set(key, id);
    }
    return id;
  }

  add(e: TypedExpr): number {
    switch (e.type) {
      case "input":
        return this.#intern(`input ${e.name}`, { kind: "input", dtype: e.dtype, name: e.name });
      case "scalar":
        return this.#intern(`scalar ${e.name} ${e.dtype}`, {
          kind: "scalar",
          dtype: e.dtype,
          name: e.name,
        });
      case "const":
        return this.#intern(`const ${e.dtype} ${constKey(e.value)}`, {
          kind: "const",
          dtype: e.dtype,
          value: e.value,
        });
      case "cast": {
        const arg = this.add(e.operand);
        const opcode = castOpcode(e.dtype, this.values[arg].dtype);
        return this.#intern(`${opcode} ${arg}`, {
          kind: "instr",
          dtype: e.dtype,
          opcode,
          args: [arg],
        });
      }
      case "op": {
        const args = e.args.map((a) => this.add(a));
        const opcode = findOpcode(e.op, args.map((a) => this.values[a].dtype));
        if (opcode === undefined) {
          throw new TypeError(`Cannot generate code: no opcode for ${e.op} on these dtypes`);
        }
        return this.#intern(`${opcode} ${args.join(" ")}`, {
          kind: "instr",
          dtype: e.dtype,
          opcode,
          args,
        });
      }
    }
  }
}

function castOpcode(to: DType, from: DType): number {
  const opcode = findCast(to, from);
  if (opcode === undefined) throw new TypeError(`Cannot cast ${from} to ${to}: no such opcode`);
  return opcode;
}

/**
 * Generates bytecode for a typed tree. When `outDtype` differs from the tree's
 * dtype, the last instruction casts to it (the caller checks that the cast is
 * allowed). Only the last instruction writes the output; a bare variable or
 * constant is copied (or cast) to it.
 *
 * @throws {RangeError} when the program needs more than 65535 registers
 *
 * @example
 * ```ts
 * import { generate } from "./codegen.ts";
 * const x = { type: "input", dtype: "float32", name: "x", start: 0, end: 1 } as const;
 * generate(x).inputs; // ["x"]
 * ```
 */
export function generate(e: TypedExpr, outDtype?: DType): Generated {
  const table = new ValueTable();
  const root = table.add(e);
  const { values } = table;
  const outType = outDtype ?? values[root].dtype;

  // Leaf registers, in order of first use: inputs, scalars, constants.
  const registers: Register[] = [];
  const regOf = new Map<number, number>();
  const inputs: string[] = [];
  const scalars: { name: string; dtype: DType }[] = [];
  const consts: TypedConst["value"][] = [];
  const constDtypes: DType[] = [];
  for (const kind of ["input", "scalar", "const"] as const) {
    values.forEach((v, id) => {
      if (v.kind !== kind) return;
      regOf.set(id, registers.length);
      if (v.kind === "input") {
        registers.push({ kind, dtype: v.dtype, index: inputs.push(v.name) - 1 });
      } else if (v.kind === "scalar") {
        registers.push({
          kind,
          dtype: v.dtype,
          index: scalars.push({ name: v.name, dtype: v.dtype }) - 1,
        });
      } else if (v.kind === "const") {
        constDtypes.push(v.dtype);
        registers.push({ kind, dtype: v.dtype, index: consts.push(v.value) - 1 });
      }
    });
  }

  // Instructions in evaluation order; the root's writes the output unless a final cast does.
  // Operand references: a leaf register r >= 0, temporary t as -t - 2, the output as -1.
  const OUTPUT = -1;
  const order = values.flatMap((v, id) => v.kind === "instr" ? [{ id, v }] : []);
  const lastUse = new Map<number, number>();
  order.forEach(({ v }, i) => v.args.forEach((arg) => lastUse.set(arg, i)));
  const rootIsFinal = values[root].kind === "instr" && values[root].dtype === outType;
  const temps: DType[] = [];
  const free = new Set<number>();
  const allocate = (dtype: DType): number => {
    let best = -1;
    for (const t of free) if (temps[t] === dtype && (best < 0 || t < best)) best = t;
    if (best < 0) return temps.push(dtype) - 1;
    free.delete(best);
    return best;
  };
  const instrs: Instr[] = [];
  order.forEach(({ id, v }, i) => {
    const args = v.args.map((a) => regOf.get(a)!);
    for (const arg of new Set(v.args)) {
      const ref = regOf.get(arg)!;
      if (lastUse.get(arg) === i && ref < OUTPUT) free.add(-ref - 2);
    }
    const dst = id === root && rootIsFinal ? OUTPUT : -allocate(v.dtype) - 2;
    regOf.set(id, dst);
    instrs.push({ opcode: v.opcode, dst, args });
  });
  if (!rootIsFinal) {
    const from = values[root].dtype;
    const opcode = from === outType ? findOpcode("copy", [from])! : castOpcode(outType, from);
    instrs.push({ opcode, dst: OUTPUT, args: [regOf.get(root)!] });
  }

  // Final register numbers: temporaries (encoded as -t-2) after the leaves, the output last.
  const firstTemp = registers.length;
  temps.forEach((dtype) => registers.push({ kind: "temp", dtype, index: 0 }));
  const outputReg = registers.length;
  registers.push({ kind: "output", dtype: outType, index: 0 });
  if (registers.length > MAX_REGISTERS) {
    throw new RangeError(
      `Cannot generate code: program needs more than ${MAX_REGISTERS} registers`,
    );
  }
  const number = (r: number) => r === OUTPUT ? outputReg : r < 0 ? firstTemp - r - 2 : r;
  const program = instrs.map((ins) => ({
    opcode: ins.opcode,
    dst: number(ins.dst),
    args: ins.args.map(number),
  }));

  return {
    code: encode(registers, consts, constDtypes, program, inputs.length, scalars.length),
    inputs,
    scalars,
    outputs: [{ name: "", dtype: outType }],
  };
}

function encode(
  registers: readonly Register[],
  consts: readonly TypedConst["value"][],
  constDtypes: readonly DType[],
  program: readonly Instr[],
  nInputs: number,
  nScalars: number,
): Uint32Array {
  const words = HEADER_WORDS + registers.length + 2 * consts.length + INSTR_WORDS * program.length;
  const code = new Uint32Array(words);
  code.set([
    MAGIC,
    BYTECODE_VERSION,
    registers.length,
    program.length,
    consts.length,
    nInputs,
    1,
    nScalars,
  ]);
  let w = HEADER_WORDS;
  for (const r of registers) {
    code[w++] = ((r.index << 16) | (dtypeCode(r.dtype) << 8) | REG_KINDS.indexOf(r.kind)) >>> 0;
  }
  const bytes = new DataView(new ArrayBuffer(8));
  consts.forEach((value, i) => {
    if (dtypeKind(constDtypes[i]) === "f") bytes.setFloat64(0, Number(value), true);
    else bytes.setBigInt64(0, BigInt(value), true);
    code[w++] = bytes.getUint32(0, true);
    code[w++] = bytes.getUint32(4, true);
  });
  for (const ins of program) {
    const [a = NO_REG, b = NO_REG, c = NO_REG] = ins.args;
    code[w++] = ((ins.dst << 16) | ins.opcode) >>> 0;
    code[w++] = ((b << 16) | a) >>> 0;
    code[w++] = c;
  }
  return code;
}
