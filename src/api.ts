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

import type { Expr } from "./ast.ts";
import { type CompiledProgram, compileProgram } from "./compiler.ts";
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
import type { NativeBinding } from "./native.ts";
import { parse } from "./parser.ts";

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
  /** Write the result into this array (in place) instead of a new one. */
  readonly out?: NumericArray;
  /** Which conversions into `out` are allowed, as NumPy's `casting` (default `"same_kind"`). */
  readonly casting?: Casting;
}

/** A compiled expression, run many times with `run`. */
export interface Kernel {
  /** The expression it was compiled from. */
  readonly expression: string;
  /** The variables it takes and their dtypes. */
  readonly signature: Readonly<Record<string, DType>>;
  /** Evaluates it; variables declared with a dtype may be given as arrays or as scalars. */
  run(variables: Variables, options?: EvaluateOptions): NumericArray;
  /** As `run`, off the JS thread. */
  runAsync(variables: Variables, options?: EvaluateOptions): Promise<NumericArray>;
}

/** The dtypes the VM has opcodes for so far. */
const SUPPORTED: readonly DType[] = ["bool", "int32", "int64", "float32", "float64"];
const IS_SUPPORTED = new Set<DType | undefined>(SUPPORTED);
const IS_CASTING = new Set<unknown>(CASTINGS);

/** Variable codes: array dtypes are their dtype code; the rest are offset. */
const STRONG_SCALAR = 16;
const WEAK_INT = 32;
const WEAK_FLOAT = 33;
const WEAK_BOOL = 34;
/** `outCode` of a variant that writes the result dtype itself. */
const NO_OUT = -1;

/** Most expressions the cache keeps, and compiled variants per expression. */
const CACHE_EXPRESSIONS = 512;
const CACHE_VARIANTS = 16;

interface Variant {
  readonly codes: Int32Array;
  readonly outCode: number;
  readonly program: CompiledProgram;
  readonly handle: number;
  readonly resultDtype: DType;
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
  readonly names: readonly string[];
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
      if (!into.includes(e.name)) into.push(e.name);
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

function entryFor(expression: string): Entry {
  let entry = cache.get(expression);
  if (entry) return entry;
  if (typeof expression !== "string") {
    throw new TypeError(`Expression must be a string: got ${describe(expression)}`);
  }
  const names: string[] = [];
  collectNames(parse(expression), names);
  entry = { names, variants: [] };
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

function unsupported(name: string, dtype: DType): TypeError {
  return new TypeError(
    `Variable '${name}' has dtype ${dtype}, which is not supported yet: use Float64Array, Float32Array, Int32Array, BigInt64Array or { data: Uint8Array, dtype: "bool" }`,
  );
}

/** Classifies variable `name` into a code; stores the value to run with in `scratchValues[i]`. */
function classify(
  variables: Variables,
  name: string,
  i: number,
  declared: Readonly<Record<string, DType>> | undefined,
): number {
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
  if (!IS_SUPPORTED.has(dtype)) throw unsupported(name, dtype);
  const want = declared?.[name];
  if (want !== undefined && want !== dtype) {
    throw new TypeError(`Variable '${name}' is declared ${want} but is a ${dtype} array`);
  }
  scratchValues[i] = data;
  return dtypeCode(dtype);
}

function specOf(code: number) {
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
  const vars: Record<string, ReturnType<typeof specOf>> = Object.create(null);
  entry.names.forEach((name, i) => vars[name] = specOf(codes[i]));
  const program = compileProgram(expression, vars, out);
  const index = (name: string) => entry.names.indexOf(name);
  const handle = native().programNew(program.code);
  const k = program.outputs.length + program.inputs.length;
  const meta = new Float64Array(1 + k + program.scalars.length);
  const variant: Variant = {
    codes: codes.slice(0, entry.names.length),
    outCode: out === undefined ? NO_OUT : dtypeCode(out),
    program,
    handle,
    resultDtype: program.outputs[0].dtype,
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
    scratchCodes[i] = classify(variables, names[i], i, declared);
  }
  const plain = findVariant(entry, scratchCodes, NO_OUT) ??
    buildVariant(expression, entry, scratchCodes);
  if (out === undefined) return plain;
  const outDtype = dtypeOfArray(out);
  const target = outDtype === "uint8" ? "bool" : outDtype;
  if (target === undefined || !IS_SUPPORTED.has(target)) {
    throw new TypeError(
      `Option 'out' must be a Float64Array, Float32Array, Int32Array, BigInt64Array or Uint8Array (bool): got ${
        describe(out)
      }`,
    );
  }
  if (!IS_CASTING.has(casting)) {
    throw new TypeError(
      `Option 'casting' must be one of ${CASTINGS.map((c) => `"${c}"`).join(", ")}: got ${
        String(casting)
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

/** Resolves out, the length and the argument list of a call; fills `v.args` and `v.meta`. */
function prepare(v: Variant, names: readonly string[], variables: Variables, out?: NumericArray) {
  const inputs = v.inputIndex;
  const nOut = v.program.outputs.length;
  let n = -1;
  for (let s = 0; s < inputs.length; s++) {
    const a = scratchValues[inputs[s]] as NumericArray;
    if (n < 0) n = a.length;
    else if (a.length !== n) {
      throw new RangeError(
        `Arrays must have the same length: '${names[inputs[0]]}' has ${n} elements, '${
          names[inputs[s]]
        }' has ${a.length}`,
      );
    }
    v.args[nOut + s] = a;
  }
  if (out !== undefined) {
    if (n < 0) n = out.length;
    else if (out.length !== n) {
      throw new RangeError(`Option 'out' has ${out.length} elements, the result has ${n}`);
    }
    resolveOverlaps(v, out);
  } else {
    if (n < 0) n = 1;
    out = allocArray(v.resultDtype, n);
  }
  v.args[0] = out;
  const meta = v.meta;
  meta[0] = n;
  for (let s = 0; s < v.args.length; s++) meta[1 + s] = v.args[s].length;
  const base = 1 + v.args.length;
  for (let s = 0; s < v.scalarIndex.length; s++) {
    writeScalar(v, base + s, s, variables[names[v.scalarIndex[s]]] as Scalar, names);
  }
  return out;
}

/** An input that shares memory with `out` other than element for element is copied first. */
function resolveOverlaps(v: Variant, out: NumericArray): void {
  const nOut = v.program.outputs.length;
  const outStart = out.byteOffset, outEnd = out.byteOffset + out.byteLength;
  for (let s = nOut; s < v.args.length; s++) {
    const a = v.args[s];
    if (a.buffer !== out.buffer) continue;
    const start = a.byteOffset, end = a.byteOffset + a.byteLength;
    const exact = start === outStart && a.BYTES_PER_ELEMENT === out.BYTES_PER_ELEMENT;
    if (!exact && start < outEnd && outStart < end) v.args[s] = a.slice();
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
): NumericArray {
  const out = options?.out;
  const v = variantFor(expression, variables, declared, out, options?.casting ?? "same_kind");
  const result = prepare(v, cache.get(expression)!.names, variables, out);
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
): Promise<NumericArray> {
  const out = options?.out;
  const v = variantFor(expression, variables, declared, out, options?.casting ?? "same_kind");
  const result = prepare(v, cache.get(expression)!.names, variables, out);
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
 * @example
 * ```ts ignore
 * import { evaluate } from "./mod.ts";
 * const p = new Float32Array([1, 2, 3]), g = new Float32Array([0.5, 0.5, 0.5]);
 * evaluate("p - lr * g", { p, g, lr: 0.1 }, { out: p }); // p is now [0.95, 1.95, 2.95]
 * evaluate("tanh(where(p > 2, p, 0))", { p }); // a new Float32Array
 * ```
 */
export function evaluate(
  expression: string,
  variables: Variables,
  options?: EvaluateOptions,
): NumericArray {
  return run(expression, variables, options);
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
export function evaluateAsync(
  expression: string,
  variables: Variables,
  options?: EvaluateOptions,
): Promise<NumericArray> {
  return runAsync(expression, variables, options);
}

/**
 * Compiles an expression once for variables of the given dtypes; errors in the
 * expression are thrown here. A variable declared with a dtype may be passed
 * to `run` as an array of that dtype or as a scalar (then of that dtype).
 *
 * @example
 * ```ts ignore
 * import { compile } from "./mod.ts";
 * const sgd = compile("p - lr * g", { p: "float32", g: "float32", lr: "float32" });
 * const p = new Float32Array(1024), g = new Float32Array(1024).fill(1);
 * sgd.run({ p, g, lr: 0.01 }, { out: p });
 * ```
 */
export function compile(expression: string, signature: Readonly<Record<string, DType>>): Kernel {
  const declared: Record<string, DType> = Object.create(null);
  for (const [name, dtype] of Object.entries(signature)) {
    if (!isDType(dtype) || !IS_SUPPORTED.has(dtype)) {
      throw new TypeError(
        `Signature of '${name}' must be one of ${SUPPORTED.join(", ")}: got ${String(dtype)}`,
      );
    }
    declared[name] = dtype;
  }
  const vars: Record<string, { kind: "array"; dtype: DType }> = Object.create(null);
  for (const name in declared) vars[name] = { kind: "array", dtype: declared[name] };
  compileProgram(expression, vars);
  const frozen = Object.freeze({ ...declared });
  return {
    expression,
    signature: frozen,
    run: (variables, options) => run(expression, variables, options, frozen),
    runAsync: (variables, options) => runAsync(expression, variables, options, frozen),
  };
}
