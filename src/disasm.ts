/**
 * The disassembler: the inverse of the code generator, for tests and debugging.
 *
 * @module
 */

import { type DType, dtypeKind, DTYPES } from "./dtype.ts";
import {
  BYTECODE_VERSION,
  HEADER_WORDS,
  INSTR_WORDS,
  MAGIC,
  NO_REG,
  OPCODES,
  REG_KINDS,
} from "./opcodes.ts";

function fail(detail: string): never {
  throw new RangeError(`Invalid bytecode: ${detail}`);
}

function formatConst(dtype: DType, lo: number, hi: number): string {
  const bytes = new DataView(new ArrayBuffer(8));
  bytes.setUint32(0, lo, true);
  bytes.setUint32(4, hi, true);
  if (dtypeKind(dtype) === "f") {
    const v = bytes.getFloat64(0, true);
    return Object.is(v, -0) ? "-0" : String(v);
  }
  const v = bytes.getBigInt64(0, true);
  return dtype === "bool" ? String(v !== 0n) : String(v);
}

/**
 * Lists a program: one line per register (`r0 input[0] float32`,
 * `r2 const float64 0.5`, `r3 temp float32`, `r4 output[0] float32`), then
 * one per instruction (`0: sub_fff r4, r0, r1`).
 *
 * @throws {RangeError} when `code` is not well-formed bytecode
 *
 * @example
 * ```ts
 * import { compileProgram } from "./compiler.ts";
 * import { disassemble } from "./disasm.ts";
 * disassemble(compileProgram("x + 1", { x: { kind: "array", dtype: "float32" } }).code);
 * // "r0 input[0] float32\nr1 const float32 1\nr2 output[0] float32\n0: add_fff r2, r0, r1"
 * ```
 */
export function disassemble(code: Uint32Array): string {
  if (code.length < HEADER_WORDS) fail(`${code.length} words, shorter than the header`);
  const [magic, version, nRegs, nInstrs, nConsts] = code;
  if (magic !== MAGIC) fail(`bad magic 0x${magic.toString(16)}`);
  if (version !== BYTECODE_VERSION) fail(`version ${version}, expected ${BYTECODE_VERSION}`);
  const expected = HEADER_WORDS + nRegs + 2 * nConsts + INSTR_WORDS * nInstrs;
  if (code.length !== expected) fail(`${code.length} words, the header says ${expected}`);
  const lines: string[] = [];
  const constBase = HEADER_WORDS + nRegs;
  for (let r = 0; r < nRegs; r++) {
    const word = code[HEADER_WORDS + r];
    const kind = REG_KINDS[word & 0xff];
    const dtype = DTYPES[(word >>> 8) & 0xff];
    const index = word >>> 16;
    if (kind === undefined || dtype === undefined) fail(`register ${r} is 0x${word.toString(16)}`);
    if (kind === "const") {
      if (index >= nConsts) fail(`register ${r} reads constant ${index} of ${nConsts}`);
      const value = formatConst(
        dtype,
        code[constBase + 2 * index],
        code[constBase + 2 * index + 1],
      );
      lines.push(`r${r} const ${dtype} ${value}`);
    } else {
      lines.push(kind === "temp" ? `r${r} temp ${dtype}` : `r${r} ${kind}[${index}] ${dtype}`);
    }
  }
  const register = (i: number, reg: number) => {
    if (reg >= nRegs) fail(`instruction ${i} uses register ${reg} of ${nRegs}`);
    return `r${reg}`;
  };
  for (let i = 0; i < nInstrs; i++) {
    const w = constBase + 2 * nConsts + INSTR_WORDS * i;
    const op = OPCODES[code[w] & 0xffff];
    if (op === undefined) fail(`instruction ${i} has unknown opcode ${code[w] & 0xffff}`);
    const operands = [
      code[w + 1] & 0xffff,
      code[w + 1] >>> 16,
      code[w + 2] & 0xffff,
      code[w + 2] >>> 16,
    ]
      .filter((reg) => reg !== NO_REG)
      .map((reg) => register(i, reg));
    lines.push(`${i}: ${op.name} ${[register(i, code[w] >>> 16), ...operands].join(", ")}`);
  }
  return lines.join("\n");
}
