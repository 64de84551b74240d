/**
 * The public API: `evaluate`, `compile`, threads. Shared by the Deno and Node
 * entry points, which differ only in the native binding they install with
 * `useBinding`.
 *
 * A call classifies each variable the expression names into a small integer
 * code (array dtype, strong scalar dtype, or weak scalar kind) and finds the
 * compiled variant whose codes match, so a cached call builds no string and
 * allocates nothing but its result.
 *
 * @module
 */

import type { Expr, Program } from "./ast.ts";
import { type CompiledProgram, compileProgram } from "./compiler.ts";
import { disassemble as disassembleCode } from "./disasm.ts";
import {
  allocArray,
  canCast,
  type Casting,
  CASTINGS,
  type DType,
  dtypeCode,
  dtypeKind,
  dtypeOfArray,
  DTYPES,
  intRange,
  isDType,
  type NumericArray,
} from "./dtype.ts";
import { ADVISE_MIN_BYTES, type NativeBinding } from "./native.ts";
import { parseProgram } from "./parser.ts";
import { SUPPORTED_DTYPES } from "./types.ts";

/** A JS scalar operand: weakly typed, as Python scalars are under NumPy 2 (NEP 50). */
export type Scalar = number | bigint | boolean;

/** An array operand with an explicit dtype (`{ data: mask, dtype: "bool" }` marks a mask). */
export interface ArrayOperand {
  /** The elements. */
  readonly data: NumericArray;
  /** The dtype, when it is not the TypedArray's own (only `"bool"` over a Uint8Array). */
  readonly dtype?: DType;
  /** The shape; only one-dimensional operands (`[data.length]`) are supported so far. */
  readonly shape?: readonly number[];
}

/** Anything a variable can be bound to. */
export type Operand = NumericArray | Scalar | ArrayOperand;

/** The variables of an expression, by name (own properties only). */
export type Variables = Readonly<Record<string, Operand>>;

/** Options of `evaluate` and `Kernel.run`. */
export interface EvaluateOptions {
  /**
   * Write the result into this array (in place) instead of a new one. Not
   * allowed for a program that ends with an assignment (it has no result).
   */
  readonly out?: NumericArray;
  /** Which conversions into `out` are allowed, as NumPy's `casting` (default `"same_kind"`). */
  readonly casting?: Casting;
}

/** Drops every occurrence of `T` from the string type `S`. */
type Without<S extends string, T extends string> = S extends `${infer A}${T}${infer B}`
  ? Without<`${A}${B}`, T>
  : S;

/** `S` with the comparison operators containing `=` removed. */
type NoComparisons<S extends string> = Without<
  Without<Without<Without<S, "==">, "<=">, ">=">,
  "!="
>;

/**
 * What running expression `E` returns: a program may end with an assignment,
 * and then returns `undefined`. When `E` is a string literal with no `=`
 * other than in `==`, `<=`, `>=` and `!=`, it is a single expression and
 * returns an array; otherwise the type says either.
 */
export type ResultOf<E extends string> = string extends E ? NumericArray | undefined
  : NoComparisons<E> extends `${string}=${string}` ? NumericArray | undefined
  : NumericArray;

/** A compiled program, run many times with `run`; `R` is what a run returns. */
export interface Kernel<R extends NumericArray | undefined = NumericArray | undefined> {
  /** The program it was compiled from. */
  readonly expression: string;
  /** The variables it takes and their dtypes. */
  readonly signature: Readonly<Record<string, DType>>;
  /**
   * Runs it; variables declared with a dtype may be given as arrays or as
   * scalars. Returns the result, or `undefined` when the program ends with
   * an assignment (the arrays assigned are written in place).
   */
  run(variables: Variables, options?: EvaluateOptions): R;
  /** As `run`, off the JS thread. */
  runAsync(variables: Variables, options?: EvaluateOptions): Promise<R>;
}

/** The dtypes the VM has opcodes for so far. */
const SUPPORTED: readonly DType[] = SUPPORTED_DTYPES;
const IS_SUPPORTED = new Set<DType | undefined>(SUPPORTED);
const IS_CASTING = new Set<unknown>(CASTINGS);

/** Variable codes: array dtypes are their dtype code; the rest are offset. */
const STRONG_SCALAR = 16;
const WEAK_INT = 32;
const WEAK_FLOAT = 33;
const WEAK_BOOL = 34;
/** The code of a name the program assigns before reading it, not passed in: a temporary. */
const ABSENT = 48;
/** `outCode` of a variant that writes the result dtype itself. */
const NO_OUT = -1;

/** Most expressions the cache keeps, and compiled variants per expression. */
const CACHE_EXPRESSIONS = 512;
const CACHE_VARIANTS = 16;

interface Variant {
  /** The names of its entry's variables (the order of `codes`). */
  readonly names: readonly string[];
  readonly codes: Int32Array;
  readonly outCode: number;
  readonly program: CompiledProgram;
  readonly handle: number;
  /** The result's dtype; undefined when the program ends with an assignment. */
  readonly resultDtype: DType | undefined;
  /** Output slots: 1 for the result (if any) plus the arrays assigned. */
  readonly nOut: number;
  /** For each output slot, the index of its variable in `Entry.names` (-1 for the result). */
  readonly outputIndex: Int32Array;
  /** For each input slot, the index of its variable in `Entry.names`. */
  readonly inputIndex: Int32Array;
  /** For each scalar slot, the index of its variable in `Entry.names`. */
  readonly scalarIndex: Int32Array;
  readonly scalarDtypes: readonly DType[];
  /** The argument list, reused call after call (outputs first). */
  readonly args: NumericArray[];
  readonly meta: Float64Array;
  readonly metaInt: BigInt64Array;
}

interface Entry {
  /** The variables: names read before they are assigned, then names assigned first. */
  readonly names: readonly string[];
  /** 1 where the program assigns the name before reading it: an output if passed, else a temporary. */
  readonly optional: Uint8Array;
  readonly variants: Variant[];
}

let bindingFactory: (() => NativeBinding) | undefined;
let binding: NativeBinding | undefined;
let numThreads = 0;
const cache = new Map<string, Entry>();

/**
 * Installs the native binding (done by the Deno and Node entry points).
 *
 * @example
 * ```ts ignore
 * import { useBinding } from "./api.ts";
 * import { openDenoBinding } from "./ffi_deno.ts";
 * useBinding(openDenoBinding);
 * ```
 */
export function useBinding(factory: () => NativeBinding): void {
  bindingFactory = factory;
}

function native(): NativeBinding {
  if (binding) return binding;
  if (!bindingFactory) throw new Error("No native binding installed: import numfuse from mod.ts");
  binding = bindingFactory();
  return binding;
}

function readEnvThreads(): number | undefined {
  let value: string | undefined;
  try {
    value = (globalThis as { Deno?: { env: { get(k: string): string | undefined } } }).Deno
      ?.env.get("NUMFUSE_NUM_THREADS") ??
      (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env
        .NUMFUSE_NUM_THREADS;
  } catch {
    return undefined;
  }
  const n = Number(value);
  return value !== undefined && Number.isInteger(n) && n >= 1 ? n : undefined;
}

/**
 * Sets how many threads a large evaluation may use (at least 1). The default
 * is `NUMFUSE_NUM_THREADS` if set, else every logical CPU.
 *
 * @example
 * ```ts ignore
 * import { getNumThreads, setNumThreads } from "./mod.ts";
 * setNumThreads(1);
 * getNumThreads(); // 1
 * ```
 */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) {
    throw new RangeError(`Thread count must be a positive integer: got ${n}`);
  }
  numThreads = n;
}

/**
 * How many threads a large evaluation may use.
 *
 * @example
 * ```ts ignore
 * import { getNumThreads } from "./mod.ts";
 * console.log(getNumThreads());
 * ```
 */
export function getNumThreads(): number {
  if (numThreads === 0) numThreads = readEnvThreads() ?? Math.max(1, native().numCpus());
  return numThreads;
}

function collectNames(e: Expr, into: string[]): void {
  switch (e.type) {
    case "name":
      into.push(e.name);
      break;
    case "unary":
      collectNames(e.operand, into);
      break;
    case "binary":
      collectNames(e.left, into);
      collectNames(e.right, into);
      break;
    case "call":
      for (const a of e.args) collectNames(a, into);
      break;
  }
}

/**
 * The variables of a program: the names it reads before assigning them
 * (required), then those it assigns before reading (optional: an array
 * passed in is written in place, a name not passed in is a temporary).
 */
function programNames(program: Program): { names: string[]; optional: Uint8Array } {
  const names: string[] = [];
  const optional: number[] = [];
  const assigned = new Set<string>();
  // A Set beside the list keeps this linear: a program may name tens of thousands of variables.
  const seen = new Set<string>();
  for (const s of program.body) {
    const reads: string[] = [];
    collectNames(s.type === "assign" ? s.value : s, reads);
    for (const name of reads) {
      if (assigned.has(name) || seen.has(name)) continue;
      seen.add(name);
      names.push(name);
      optional.push(0);
    }
    if (s.type !== "assign") continue;
    if (!seen.has(s.target.name)) {
      seen.add(s.target.name);
      names.push(s.target.name);
      optional.push(1);
    }
    assigned.add(s.target.name);
  }
  return { names, optional: Uint8Array.from(optional) };
}

function entryFor(expression: string): Entry {
  let entry = cache.get(expression);
  if (entry) return entry;
  if (typeof expression !== "string") {
    throw new TypeError(`Expression must be a string: got ${describe(expression)}`);
  }
  const { names, optional } = programNames(parseProgram(expression));
  entry = { names, optional, variants: [] };
  if (cache.size >= CACHE_EXPRESSIONS) {
    const [oldest, evicted] = cache.entries().next().value as [string, Entry];
    cache.delete(oldest);
    for (const v of evicted.variants) native().programFree(v.handle);
  }
  cache.set(expression, entry);
  return entry;
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "object") return (v as object).constructor?.name ?? "object";
  return typeof v;
}

/** Scratch space for one synchronous call: the variables' values and codes. */
let scratchValues: unknown[] = [];
let scratchCodes = new Int32Array(64);

/** Classifies variable `name` into a code; stores the value to run with in `scratchValues[i]`. */
function classify(
  variables: Variables,
  name: string,
  i: number,
  declared: Readonly<Record<string, DType>> | undefined,
  optional: boolean,
): number {
  if (optional && !Object.hasOwn(declared ?? variables, name)) return ABSENT;
  if (!Object.hasOwn(variables, name)) {
    throw new TypeError(`Missing variable '${name}': the expression uses it`);
  }
  const v = variables[name] as unknown;
  let dtype: DType | undefined;
  let data: unknown = v;
  if (ArrayBuffer.isView(v)) {
    dtype = dtypeOfArray(v);
    if (!dtype) {
      throw new TypeError(
        `Variable '${name}' is a ${
          describe(v)
        }, which numfuse does not take: use a typed array such as Float64Array`,
      );
    }
  } else if (typeof v === "object" && v !== null && "data" in v) {
    const op = v as ArrayOperand;
    dtype = dtypeOfArray(op.data);
    if (!dtype) {
      throw new TypeError(
        `Variable '${name}' has data of type ${
          describe(op.data)
        }: use a typed array such as Float64Array`,
      );
    }
    if (op.dtype !== undefined && op.dtype !== dtype) {
      if (op.dtype !== "bool" || dtype !== "uint8") {
        throw new TypeError(
          `Variable '${name}' says dtype ${String(op.dtype)} over a ${
            describe(op.data)
          }: only "bool" over a Uint8Array is allowed`,
        );
      }
      dtype = "bool";
    }
    if (op.shape !== undefined && (op.shape.length !== 1 || op.shape[0] !== op.data.length)) {
      throw new TypeError(
        `Variable '${name}' has shape [${op.shape}]: only one-dimensional operands of shape [${op.data.length}] are supported so far`,
      );
    }
    data = op.data;
  } else if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") {
    // Kept, so the run writes the value classified here (a getter is read once).
    scratchValues[i] = v;
    const want = declared?.[name];
    if (want !== undefined) return STRONG_SCALAR + dtypeCode(want);
    if (typeof v === "boolean") return WEAK_BOOL;
    return typeof v === "bigint" || Number.isInteger(v) ? WEAK_INT : WEAK_FLOAT;
  } else {
    throw new TypeError(
      `Variable '${name}' must be a typed array, a number, a bigint or a boolean: got ${
        describe(v)
      }`,
    );
  }
  const want = declared?.[name];
  if (want !== undefined && want !== dtype) {
    throw new TypeError(`Variable '${name}' is declared ${want} but is a ${dtype} array`);
  }
  scratchValues[i] = data;
  return dtypeCode(dtype);
}

function specOf(code: number) {
  if (code === ABSENT) return undefined;
  if (code === WEAK_INT) return { kind: "weak", weak: "int" } as const;
  if (code === WEAK_FLOAT) return { kind: "weak", weak: "float" } as const;
  if (code === WEAK_BOOL) return { kind: "weak", weak: "bool" } as const;
  if (code >= STRONG_SCALAR) {
    return { kind: "scalar", dtype: DTYPES[code - STRONG_SCALAR] } as const;
  }
  return { kind: "array", dtype: DTYPES[code] } as const;
}

function findVariant(entry: Entry, codes: Int32Array, outCode: number): Variant | undefined {
  const n = entry.names.length;
  search: for (const v of entry.variants) {
    if (v.outCode !== outCode) continue;
    for (let i = 0; i < n; i++) if (v.codes[i] !== codes[i]) continue search;
    return v;
  }
  return undefined;
}

function buildVariant(expression: string, entry: Entry, codes: Int32Array, out?: DType): Variant {
  const vars: Record<string, NonNullable<ReturnType<typeof specOf>>> = Object.create(null);
  entry.names.forEach((name, i) => {
    const spec = specOf(codes[i]);
    if (spec !== undefined) vars[name] = spec;
  });
  const program = compileProgram(expression, vars, out);
  const positions = new Map(entry.names.map((name, i) => [name, i]));
  const index = (name: string) => positions.get(name)!;
  const handle = native().programNew(program.code);
  const k = program.outputs.length + program.inputs.length;
  const meta = new Float64Array(1 + k + program.scalars.length);
  const variant: Variant = {
    names: entry.names,
    codes: codes.slice(0, entry.names.length),
    outCode: out === undefined ? NO_OUT : dtypeCode(out),
    program,
    handle,
    resultDtype: program.hasResult ? program.outputs[0].dtype : undefined,
    nOut: program.outputs.length,
    outputIndex: Int32Array.from(program.outputs, (o) => o.name === "" ? -1 : index(o.name)),
    inputIndex: Int32Array.from(program.inputs, index),
    scalarIndex: Int32Array.from(program.scalars, (s) => index(s.name)),
    scalarDtypes: program.scalars.map((s) => s.dtype),
    args: new Array(k),
    meta,
    metaInt: new BigInt64Array(meta.buffer),
  };
  if (entry.variants.length >= CACHE_VARIANTS) {
    native().programFree(entry.variants.shift()!.handle);
  }
  entry.variants.push(variant);
  return variant;
}

function variantFor(
  expression: string,
  variables: Variables,
  declared: Readonly<Record<string, DType>> | undefined,
  out: NumericArray | undefined,
  casting: Casting,
): Variant {
  if (typeof variables !== "object" || variables === null) {
    throw new TypeError(`Variables must be an object: got ${describe(variables)}`);
  }
  const entry = entryFor(expression);
  const names = entry.names;
  if (scratchCodes.length < names.length) scratchCodes = new Int32Array(names.length * 2);
  if (scratchValues.length < names.length) scratchValues = new Array(names.length);
  for (let i = 0; i < names.length; i++) {
    scratchCodes[i] = classify(variables, names[i], i, declared, entry.optional[i] === 1);
  }
  if (!IS_CASTING.has(casting)) {
    throw new TypeError(
      `Option 'casting' must be one of ${CASTINGS.map((c) => `"${c}"`).join(", ")}: got ${
        String(casting)
      }`,
    );
  }
  const plain = findVariant(entry, scratchCodes, NO_OUT) ??
    buildVariant(expression, entry, scratchCodes);
  if (out === undefined) return plain;
  if (plain.resultDtype === undefined) {
    throw new TypeError(
      "Option 'out' is not allowed: the program ends with an assignment, so it has no result",
    );
  }
  const outDtype = dtypeOfArray(out);
  const target = outDtype === "uint8" && plain.resultDtype === "bool" ? "bool" : outDtype;
  if (target === undefined || !IS_SUPPORTED.has(target)) {
    throw new TypeError(
      `Option 'out' must be a typed array of a supported dtype (${SUPPORTED.join(", ")}): got ${
        describe(out)
      }`,
    );
  }
  if (!canCast(plain.resultDtype, target, casting)) {
    throw new TypeError(
      `Cannot write a ${plain.resultDtype} result into a ${target} out with casting "${casting}"`,
    );
  }
  if (target === plain.resultDtype) return plain;
  return findVariant(entry, scratchCodes, dtypeCode(target)) ??
    buildVariant(expression, entry, scratchCodes, target);
}

/**
 * Resolves out, the length and the argument list of a call; fills `v.args`
 * and `v.meta`. Returns the result array (allocated unless `out` is given or
 * `allocate` is false), or undefined when the program has no result.
 */
function prepare(
  v: Variant,
  names: readonly string[],
  out: NumericArray | undefined,
  allocate = true,
): NumericArray | undefined {
  const inputs = v.inputIndex;
  const nOut = v.nOut;
  const firstNamed = v.resultDtype === undefined ? 0 : 1;
  let n = -1;
  let first = -1;
  for (let s = 0; s < inputs.length + nOut - firstNamed; s++) {
    const index = s < inputs.length ? inputs[s] : v.outputIndex[firstNamed + s - inputs.length];
    const a = scratchValues[index] as NumericArray;
    if (a.length === 0 && isDetached(a)) throw detached(`Variable '${names[index]}'`);
    if (n < 0) {
      n = a.length;
      first = index;
    } else if (a.length !== n) {
      throw new RangeError(
        `Arrays must have the same length: '${names[first]}' has ${n} elements, '${
          names[index]
        }' has ${a.length}`,
      );
    }
    if (s < inputs.length) v.args[nOut + s] = a;
    else v.args[firstNamed + s - inputs.length] = a;
  }
  if (out !== undefined) {
    if (out.length === 0 && isDetached(out)) throw detached("Option 'out'");
    if (n < 0) n = out.length;
    else if (out.length !== n) {
      throw new RangeError(`Option 'out' has ${out.length} elements, the result has ${n}`);
    }
    v.args[0] = out;
  } else if (firstNamed === 1) {
    if (n < 0) n = 1;
    out = allocate ? fresh(v.resultDtype!, n) : EMPTY;
    v.args[0] = out;
  }
  if (nOut > firstNamed || out !== undefined) resolveOverlaps(v, names);
  const meta = v.meta;
  meta[0] = n;
  for (let s = 0; s < v.args.length; s++) meta[1 + s] = v.args[s].length;
  const base = 1 + v.args.length;
  for (let s = 0; s < v.scalarIndex.length; s++) {
    writeScalar(v, base + s, s, scratchValues[v.scalarIndex[s]] as Scalar, names);
  }
  return firstNamed === 1 ? out : undefined;
}

/**
 * Whether an array's buffer was detached (transferred or `transfer()`ed); its
 * length is then 0. Checked only for empty arrays: reading `.buffer` of a
 * small on-heap array allocates.
 */
function isDetached(a: NumericArray): boolean {
  return (a.buffer as { detached?: boolean }).detached === true;
}

function detached(what: string): TypeError {
  return new TypeError(
    `${what} is a detached array: its buffer was transferred, so it cannot be read or written`,
  );
}

function overlaps(a: NumericArray, b: NumericArray): boolean {
  return a.buffer === b.buffer && a.byteOffset < b.byteOffset + b.byteLength &&
    b.byteOffset < a.byteOffset + a.byteLength && a.length > 0 && b.length > 0;
}

/** A new result array; a large one gets huge pages before the VM first writes it. */
function fresh(dtype: DType, n: number): NumericArray {
  const array = allocArray(dtype, n);
  if (array.byteLength >= ADVISE_MIN_BYTES) native().adviseFresh(array);
  return array;
}

/**
 * Outputs that share memory are refused. An input that shares memory with an
 * output is copied first, except the array of an assigned variable itself
 * and an exact alias of the result (both element-wise safe), so a run reads
 * every variable as it was when the call began.
 */
function outputLabel(v: Variant, names: readonly string[], o: number): string {
  return v.outputIndex[o] < 0 ? "option 'out'" : `variable '${names[v.outputIndex[o]]}'`;
}

function resolveOverlaps(v: Variant, names: readonly string[]): void {
  const nOut = v.nOut;
  for (let o = 0; o < nOut; o++) {
    const out = v.args[o];
    for (let o2 = o + 1; o2 < nOut; o2++) {
      if (overlaps(out, v.args[o2])) {
        throw new RangeError(
          `Cannot write both ${outputLabel(v, names, o)} and ${
            outputLabel(v, names, o2)
          }: they share memory`,
        );
      }
    }
    for (let s = nOut; s < v.args.length; s++) {
      const a = v.args[s];
      if (!overlaps(a, out)) continue;
      const exact = a.byteOffset === out.byteOffset &&
        a.BYTES_PER_ELEMENT === out.BYTES_PER_ELEMENT;
      const index = v.inputIndex[s - nOut];
      const safe = exact && (v.outputIndex[o] < 0 || v.outputIndex[o] === index);
      if (!safe) v.args[s] = a.slice();
    }
  }
}

function writeScalar(v: Variant, slot: number, s: number, value: Scalar, names: readonly string[]) {
  const dtype = v.scalarDtypes[s];
  if (dtypeKind(dtype) === "f") {
    v.meta[slot] = Number(value);
    return;
  }
  if (dtype === "bool") {
    v.metaInt[slot] = value ? 1n : 0n;
    return;
  }
  if (typeof value === "number" && !Number.isInteger(value)) {
    throw new RangeError(
      `Variable '${
        names[v.scalarIndex[s]]
      }' is ${value}, not an integer as its dtype ${dtype} needs`,
    );
  }
  const big = BigInt(value);
  const [lo, hi] = intRange(dtype);
  if (big < lo || big > hi) {
    throw new RangeError(
      `Variable '${names[v.scalarIndex[s]]}' is ${value}, out of bounds for ${dtype}`,
    );
  }
  v.metaInt[slot] = big;
}

/** Drops the references a call left in the reused scratch, so they do not pin the caller's arrays. */
function release(v: Variant): void {
  // Plain loops: Array.prototype.fill is a runtime call in V8, slower than the whole VM run here.
  for (let s = 0; s < v.args.length; s++) v.args[s] = EMPTY;
  for (let i = 0; i < scratchValues.length; i++) scratchValues[i] = undefined;
}

const EMPTY = new Float64Array(0);

function run(
  expression: string,
  variables: Variables,
  options: EvaluateOptions | undefined,
  declared?: Readonly<Record<string, DType>>,
): NumericArray | undefined {
  const out = options?.out;
  const v = variantFor(expression, variables, declared, out, options?.casting ?? "same_kind");
  const result = prepare(v, v.names, out);
  try {
    native().run(v.handle, getNumThreads(), v.meta, v.args);
  } finally {
    release(v);
  }
  return result;
}

async function runAsync(
  expression: string,
  variables: Variables,
  options: EvaluateOptions | undefined,
  declared?: Readonly<Record<string, DType>>,
): Promise<NumericArray | undefined> {
  const out = options?.out;
  const v = variantFor(expression, variables, declared, out, options?.casting ?? "same_kind");
  const result = prepare(v, v.names, out);
  const args = v.args.slice();
  release(v);
  await native().runAsync(v.handle, getNumThreads(), v.meta, args);
  return result;
}

/**
 * Evaluates an array expression element by element, in one pass over memory.
 *
 * Variables are typed arrays (Float64Array, Float32Array, Int32Array,
 * BigInt64Array; `{ data: Uint8Array, dtype: "bool" }` for a mask) of equal
 * length, or JS scalars. Returns a new array of the result's dtype (bool as a
 * Uint8Array of 0/1), or writes into `options.out` and returns it.
 *
 * The expression may be a program: statements `name = expr` separated by
 * newlines or `;`, all run in one pass. An assigned name that is passed in
 * (an array) is written in place, its value cast to the array's dtype
 * (`same_kind`); one not passed in is a temporary. A read after an
 * assignment sees the new value. The result is the last statement's value
 * when it is an expression; a program ending with an assignment returns
 * `undefined` (and `options.out` is then a TypeError).
 *
 * @example
 * ```ts ignore
 * import { evaluate } from "./mod.ts";
 * const p = new Float32Array([1, 2, 3]), g = new Float32Array([0.5, 0.5, 0.5]);
 * evaluate("p - lr * g", { p, g, lr: 0.1 }, { out: p }); // p is now [0.95, 1.95, 2.95]
 * evaluate("tanh(where(p > 2, p, 0))", { p }); // a new Float32Array
 * const m = new Float32Array(3);
 * evaluate("m = m + 0.1 * (g - m); p = p - m", { p, g, m }); // undefined; m and p updated
 * evaluate("t = p * 2; t + 1", { p }); // a new Float32Array; t is a temporary
 * ```
 */
export function evaluate<E extends string>(
  expression: E,
  variables: Variables,
  options?: EvaluateOptions,
): ResultOf<E> {
  return run(expression, variables, options) as ResultOf<E>;
}

/**
 * As `evaluate`, but runs off the JS thread; the arrays must not be changed
 * until the promise settles.
 *
 * @example
 * ```ts ignore
 * import { evaluateAsync } from "./mod.ts";
 * const y = await evaluateAsync("sqrt(x)", { x: new Float64Array([4, 9]) }); // [2, 3]
 * ```
 */
export function evaluateAsync<E extends string>(
  expression: E,
  variables: Variables,
  options?: EvaluateOptions,
): Promise<ResultOf<E>> {
  return runAsync(expression, variables, options) as Promise<ResultOf<E>>;
}

function checkSignature(signature: Readonly<Record<string, DType>>): Record<string, DType> {
  if (typeof signature !== "object" || signature === null) {
    throw new TypeError(`Signature must be an object: got ${describe(signature)}`);
  }
  const declared: Record<string, DType> = Object.create(null);
  for (const [name, dtype] of Object.entries(signature)) {
    if (!isDType(dtype) || !IS_SUPPORTED.has(dtype)) {
      throw new TypeError(
        `Signature of '${name}' must be one of ${SUPPORTED.join(", ")}: got ${String(dtype)}`,
      );
    }
    declared[name] = dtype;
  }
  return declared;
}

function compileForSignature(expression: string, declared: Record<string, DType>) {
  if (typeof expression !== "string") {
    throw new TypeError(`Expression must be a string: got ${describe(expression)}`);
  }
  const vars: Record<string, { kind: "array"; dtype: DType }> = Object.create(null);
  for (const name in declared) vars[name] = { kind: "array", dtype: declared[name] };
  return compileProgram(expression, vars);
}

/**
 * Compiles an expression or program once for variables of the given dtypes;
 * errors in it are thrown here. A variable declared with a dtype may be
 * passed to `run` as an array of that dtype or as a scalar (then of that
 * dtype; a scalar cannot be assigned). In a program, an assigned name that
 * is declared is an array written in place, one not declared a temporary.
 *
 * @example
 * ```ts ignore
 * import { compile } from "./mod.ts";
 * const sgd = compile("p - lr * g", { p: "float32", g: "float32", lr: "float32" });
 * const p = new Float32Array(1024), g = new Float32Array(1024).fill(1);
 * sgd.run({ p, g, lr: 0.01 }, { out: p });
 *
 * const m = new Float32Array(1024), v = new Float32Array(1024);
 * const adam = compile(`
 *   m = m + (1 - b1) * (g - m)
 *   v = v + (1 - b2) * (g * g - v)
 *   p = p - lr * m / (sqrt(v) + eps)
 * `, { p: "float32", g: "float32", m: "float32", v: "float32", b1: "float32", b2: "float32", lr: "float32", eps: "float32" });
 * adam.run({ p, g, m, v, b1: 0.9, b2: 0.999, lr: 1e-3, eps: 1e-8 }); // undefined; p, m, v updated
 * ```
 */
export function compile<E extends string>(
  expression: E,
  signature: Readonly<Record<string, DType>>,
): Kernel<ResultOf<E>> {
  const declared = checkSignature(signature);
  compileForSignature(expression, declared);
  const frozen = Object.freeze({ ...declared });
  return {
    expression,
    signature: frozen,
    run: (variables, options) => run(expression, variables, options, frozen) as ResultOf<E>,
    runAsync: (variables, options) =>
      runAsync(expression, variables, options, frozen) as Promise<ResultOf<E>>,
  };
}

/**
 * The bytecode listing of an expression or program compiled for arrays of
 * the given dtypes: one line per register (`r0 input[0] float32`,
 * `r2 const float32 1`, `r3 temp float32`, `r4 output[0] float32`), then one
 * per instruction (`0: add_fff r2, r0, r1`), as numexpr's `disassemble`.
 *
 * @throws {ExpressionError} on a syntax or type error, at its offset
 * @throws {TypeError} on a signature dtype that is not supported
 *
 * @example
 * ```ts ignore
 * import { disassemble } from "./mod.ts";
 * disassemble("x + 1", { x: "float32" });
 * // "r0 input[0] float32\nr1 const float32 1\nr2 output[0] float32\n0: add_fff r2, r0, r1"
 * ```
 */
export function disassemble(
  expression: string,
  signature: Readonly<Record<string, DType>>,
): string {
  return disassembleCode(compileForSignature(expression, checkSignature(signature)).code);
}

/**
 * The error `evaluate(expression, variables, options)` would throw before
 * running (syntax, types, operands, lengths, `out` and casting), or
 * `undefined` when it would run; nothing is run or allocated but the
 * compiled program, which is cached for the next call.
 *
 * @example
 * ```ts ignore
 * import { validate } from "./mod.ts";
 * const x = new Float64Array(3);
 * validate("sqrt(x) + 1", { x }); // undefined
 * validate("tanhh(x)", { x })?.message; // "at 0: unknown function 'tanhh'; did you mean 'tanh'?"
 * ```
 */
export function validate(
  expression: string,
  variables: Variables,
  options?: EvaluateOptions,
): Error | undefined {
  try {
    const out = options?.out;
    const v = variantFor(expression, variables, undefined, out, options?.casting ?? "same_kind");
    try {
      prepare(v, v.names, out, false);
    } finally {
      release(v);
    }
    return undefined;
  } catch (e) {
    if (e instanceof Error) return e;
    throw e;
  }
}
