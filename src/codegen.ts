/**
 * The code generator: turns a typed tree into bytecode (the format drawn in
 * `opcodes.ts`). Structurally identical subtrees are computed once (value
 * numbering); a comparison used only as a `where`'s condition is fused into
 * it (`where(a < b, x, y)` is one `where_lt` instruction, see
 * {@linkcode fuseWheres}); temporaries are allocated stack-like and reused
 * once dead.
 *
 * A program's statements run in one pass: every instruction of every
 * statement, block by block.
 *
 * Register order: inputs, scalars, constants, temporaries, then the outputs.
 *
 * @module
 */

import type { TypedConst, TypedExpr, TypedProgram } from "./ast.ts";
import { type DType, dtypeCode, dtypeKind } from "./dtype.ts";
import {
  BYTECODE_VERSION,
  findCast,
  findOpcode,
  FUSED_WHERE,
  HEADER_WORDS,
  INSTR_WORDS,
  MAGIC,
  NO_REG,
  OPCODES,
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
  /** Each output slot: the result, named `""`, then the arrays assigned, by name. */
  outputs: { name: string; dtype: DType }[];
  /** Work per element: the sum of the instructions' costs, as the VM's thread planner counts it. */
  cost: number;
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

  /** Numbers a tree; `refs` holds the value of each earlier statement. */
  add(e: TypedExpr, refs: readonly number[] = []): number {
    switch (e.type) {
      case "ref":
        return refs[e.index];
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
        const arg = this.add(e.operand, refs);
        const opcode = castOpcode(e.dtype, this.values[arg].dtype);
        return this.#intern(`${opcode} ${arg}`, {
          kind: "instr",
          dtype: e.dtype,
          opcode,
          args: [arg],
        });
      }
      case "op": {
        const args = e.args.map((a) => this.add(a, refs));
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
 * Generates bytecode for a typed tree: a program of one statement, its
 * result. When `outDtype` differs from the tree's dtype, the last
 * instruction casts to it (the caller checks that the cast is allowed). Only
 * the last instruction writes the output; a bare variable or constant is
 * copied (or cast) to it.
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
  return generateProgram({
    statements: [{ kind: "result", name: "", value: e, start: e.start, end: e.end }],
  }, outDtype);
}

/** Where an instruction's operand or result lives before registers are numbered. */
type Loc =
  | { readonly kind: "leaf"; readonly reg: number }
  | { readonly kind: "temp"; readonly index: number }
  | { readonly kind: "output"; readonly slot: number };

/** An instruction before register allocation: operands and result are value numbers. */
interface Item {
  readonly opcode: number;
  /** The value it computes (for a store, the value stored). */
  readonly value: number;
  args: number[];
  /** The output slot it writes, if any. */
  readonly slot?: number;
}

/** An output slot: the value written to it and the statement that writes it. */
interface OutSlot {
  readonly name: string;
  readonly dtype: DType;
  readonly value: number;
  readonly stmt: number;
}

/**
 * Generates bytecode for a typed program, in one pass over memory.
 *
 * Output slots: the result (named `""`, of `outDtype` if given) when the
 * program ends with an expression, then one per array assigned, in order of
 * first assignment, written with its last assignment's value. A statement's
 * last instruction writes its output register when it computes the value
 * there; otherwise a `copy` or `cast` after the statement does. Later reads
 * of an assigned array read its output register. Instructions no output
 * needs are dropped. Should an instruction read an input after the output
 * of the same name is written (`t = m; m = 0; t`), the input is first copied
 * to a temporary, so an array assigned in place is never read after it is
 * written.
 *
 * @throws {RangeError} when the program needs more than 65535 registers
 *
 * @example
 * ```ts
 * import { generateProgram } from "./codegen.ts";
 * const x = { type: "input", dtype: "float32", name: "x", start: 0, end: 1 } as const;
 * generateProgram({ statements: [{ kind: "output", name: "x", value: x, start: 0, end: 5 }] })
 *   .outputs; // [{ name: "x", dtype: "float32" }]
 * ```
 */
export function generateProgram(program: TypedProgram, outDtype?: DType): Generated {
  const stmts = program.statements;
  const table = new ValueTable();
  const stmtValue: number[] = [];
  const stmtEnd: number[] = [];
  for (const s of stmts) {
    stmtValue.push(table.add(s.value, stmtValue));
    stmtEnd.push(table.values.length);
  }
  const { values } = table;

  // Output slots: the result first, then the arrays assigned, in order of first assignment.
  const slots: OutSlot[] = [];
  stmts.forEach((s, k) => {
    if (s.kind === "result") {
      slots.push({ name: "", dtype: outDtype ?? s.value.dtype, value: stmtValue[k], stmt: k });
    }
  });
  const lastAssign = new Map<string, number>();
  stmts.forEach((s, k) => {
    if (s.kind === "output") lastAssign.set(s.name, k);
  });
  for (const [name, k] of lastAssign) {
    slots.push({ name, dtype: stmts[k].value.dtype, value: stmtValue[k], stmt: k });
  }

  // Liveness: the values some output needs (args come before their users).
  const live = new Uint8Array(values.length);
  for (const o of slots) live[o.value] = 1;
  for (let id = values.length - 1; id >= 0; id--) {
    const v = values[id];
    if (live[id] && v.kind === "instr") { for (const a of v.args) live[a] = 1; }
  }

  fuseWheres(values, live, slots);

  // A slot is written by its value's own instruction when that instruction is its
  // statement's last (new in the statement, of the slot's dtype, no other slot's).
  const direct = new Map<number, number>();
  slots.forEach((o, slot) => {
    const v = values[o.value];
    const first = o.stmt > 0 ? stmtEnd[o.stmt - 1] : 0;
    if (v.kind === "instr" && v.dtype === o.dtype && o.value >= first && !direct.has(o.value)) {
      direct.set(o.value, slot);
    }
  });

  // Instructions in statement order; stores of the other slots after their statement.
  const items: Item[] = [];
  stmts.forEach((_, k) => {
    for (let id = k > 0 ? stmtEnd[k - 1] : 0; id < stmtEnd[k]; id++) {
      const v = values[id];
      if (v.kind !== "instr" || !live[id]) continue;
      items.push({ opcode: v.opcode, value: id, args: v.args.slice(), slot: direct.get(id) });
    }
    slots.forEach((o, slot) => {
      if (o.stmt !== k || direct.get(o.value) === slot) return;
      const from = values[o.value].dtype;
      const opcode = from === o.dtype ? findOpcode("copy", [from])! : castOpcode(o.dtype, from);
      items.push({ opcode, value: o.value, args: [o.value], slot });
    });
  });

  // An input read after the output of the same name is written is read from a copy.
  slots.forEach((o, slot) => {
    const input = values.findIndex((v) => v.kind === "input" && v.name === o.name);
    if (input < 0) return;
    const w = items.findIndex((it) => it.slot === slot);
    if (!items.slice(w + 1).some((it) => it.args.includes(input))) return;
    const dtype = values[input].dtype;
    const opcode = findOpcode("copy", [dtype])!;
    const copy = values.push({ kind: "instr", dtype, opcode, args: [input] }) - 1;
    for (const it of items.slice(w + 1)) it.args = it.args.map((a) => a === input ? copy : a);
    items.splice(w, 0, { opcode, value: copy, args: [input] });
  });

  // Leaf registers: every input (they set the length), and the scalars and constants used.
  const used = new Set(items.flatMap((it) => it.args));
  const registers: Register[] = [];
  const locOf = new Map<number, Loc>();
  const inputs: string[] = [];
  const scalars: { name: string; dtype: DType }[] = [];
  const consts: TypedConst["value"][] = [];
  const constDtypes: DType[] = [];
  for (const kind of ["input", "scalar", "const"] as const) {
    values.forEach((v, id) => {
      if (v.kind !== kind || (kind !== "input" && !used.has(id))) return;
      locOf.set(id, { kind: "leaf", reg: registers.length });
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

  // Temporaries: allocated stack-like, freed after their last use, lowest free one first.
  const lastUse = new Map<number, number>();
  items.forEach((it, i) => it.args.forEach((a) => lastUse.set(a, i)));
  const temps: DType[] = [];
  // Free temporaries per dtype, each a min-heap: the lowest free one in O(log n), not a scan.
  const free = new Map<DType, number[]>();
  const release = (t: number) => {
    let heap = free.get(temps[t]);
    if (heap === undefined) free.set(temps[t], heap = []);
    heapPush(heap, t);
  };
  const allocate = (dtype: DType): number => {
    const heap = free.get(dtype);
    if (heap === undefined || heap.length === 0) return temps.push(dtype) - 1;
    return heapPop(heap);
  };
  const placed: { opcode: number; dst: Loc; args: Loc[] }[] = [];
  items.forEach((it, i) => {
    const args = it.args.map((a) => locOf.get(a)!);
    for (const a of new Set(it.args)) {
      const loc = locOf.get(a)!;
      if (lastUse.get(a) === i && loc.kind === "temp") release(loc.index);
    }
    const dst: Loc = it.slot !== undefined
      ? { kind: "output", slot: it.slot }
      : { kind: "temp", index: allocate(values[it.value].dtype) };
    if (it.slot === undefined || direct.get(it.value) === it.slot) locOf.set(it.value, dst);
    placed.push({ opcode: it.opcode, dst, args });
  });

  // Final register numbers: temporaries after the leaves, the outputs last.
  const firstTemp = registers.length;
  temps.forEach((dtype) => registers.push({ kind: "temp", dtype, index: 0 }));
  const firstOutput = registers.length;
  slots.forEach((o, slot) => registers.push({ kind: "output", dtype: o.dtype, index: slot }));
  if (registers.length > MAX_REGISTERS) {
    throw new RangeError(
      `Cannot generate code: program needs more than ${MAX_REGISTERS} registers`,
    );
  }
  const number = (l: Loc) =>
    l.kind === "leaf" ? l.reg : l.kind === "temp" ? firstTemp + l.index : firstOutput + l.slot;
  const instrs = placed.map((ins) => ({
    opcode: ins.opcode,
    dst: number(ins.dst),
    args: ins.args.map(number),
  }));

  return {
    code: encode(
      registers,
      consts,
      constDtypes,
      instrs,
      inputs.length,
      scalars.length,
      slots.length,
    ),
    inputs,
    scalars,
    outputs: slots.map((o) => ({ name: o.name, dtype: o.dtype })),
    cost: instrs.reduce((sum, ins) => sum + OPCODES[ins.opcode].cost, 0),
  };
}

/**
 * Fuses each live `where(c, x, y)` whose condition `c` is a comparison
 * `a CMP b` read nowhere else (no other instruction, no output slot) and of
 * the `where`'s dtype into one `where_CMP(a, b, x, y)`, and marks `c` dead:
 * the comparison's bool block is neither written nor read back.
 */
function fuseWheres(values: Value[], live: Uint8Array, slots: readonly OutSlot[]): void {
  const uses = new Uint32Array(values.length);
  for (const o of slots) uses[o.value]++;
  values.forEach((v, id) => {
    if (live[id] && v.kind === "instr") { for (const a of v.args) uses[a]++; }
  });
  values.forEach((v, id) => {
    if (!live[id] || v.kind !== "instr" || OPCODES[v.opcode].op !== "where") return;
    const [c, x, y] = v.args;
    const cond = values[c];
    if (cond.kind !== "instr" || uses[c] !== 1) return;
    const cmp = OPCODES[cond.opcode].op;
    if (!Object.hasOwn(FUSED_WHERE, cmp)) return;
    const [a, b] = cond.args;
    const opcode = findOpcode(FUSED_WHERE[cmp as keyof typeof FUSED_WHERE], [
      values[a].dtype,
      values[b].dtype,
      v.dtype,
      v.dtype,
    ]);
    if (opcode === undefined) return;
    values[id] = { ...v, opcode, args: [a, b, x, y] };
    live[c] = 0;
  });
}

function heapPush(heap: number[], x: number): void {
  let i = heap.push(x) - 1;
  while (i > 0) {
    const parent = (i - 1) >> 1;
    if (heap[parent] <= x) break;
    heap[i] = heap[parent];
    i = parent;
  }
  heap[i] = x;
}

function heapPop(heap: number[]): number {
  const top = heap[0];
  const last = heap.pop()!;
  if (heap.length === 0) return top;
  let i = 0;
  for (;;) {
    let child = 2 * i + 1;
    if (child >= heap.length) break;
    if (child + 1 < heap.length && heap[child + 1] < heap[child]) child++;
    if (heap[child] >= last) break;
    heap[i] = heap[child];
    i = child;
  }
  heap[i] = last;
  return top;
}

function encode(
  registers: readonly Register[],
  consts: readonly TypedConst["value"][],
  constDtypes: readonly DType[],
  program: readonly Instr[],
  nInputs: number,
  nScalars: number,
  nOutputs: number,
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
    nOutputs,
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
    const [a = NO_REG, b = NO_REG, c = NO_REG, d = NO_REG] = ins.args;
    code[w++] = ((ins.dst << 16) | ins.opcode) >>> 0;
    code[w++] = ((b << 16) | a) >>> 0;
    code[w++] = ((d << 16) | c) >>> 0;
  }
  return code;
}
