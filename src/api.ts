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
 * A call where a variable (or `out`) has a shape is N-d: `prepareNd`
 * broadcasts the shapes and sends the VM a geometry block (shape, and per
 * array its offset and strides) through the binding's `runNd`; the bytecode
 * and its cache are the same as for 1-D calls, whose path is unchanged.
 *
 * @module
 */

import type { VarSpec } from "./ast.ts";
import { type CompiledProgram, compileProgram } from "./compiler.ts";
import { disassemble as disassembleCode } from "./disasm.ts";
import {
  allocArray,
  arrayByteLength,
  arrayLength,
  arrayTag,
  canCast,
  type Casting,
  CASTINGS,
  type DType,
  DTYPE_SIZE,
  dtypeCode,
  dtypeKind,
  dtypeOfArray,
  DTYPES,
  intRange,
  isDType,
  type NumericArray,
} from "./dtype.ts";
import {
  ADVISE_MIN_BYTES,
  BY_ADDRESS_MAX,
  type ByAddress,
  isOverlapError,
  type NativeBinding,
  type StridedView,
} from "./native.ts";
import { ExpressionError } from "./errors.ts";
import { parseProgram } from "./parser.ts";
import { type PhasePlan, type PhaseRun, phaseRuns, planPhases, programNames } from "./phases.ts";
import { type CompiledReduction, describeReduction, type ReductionName } from "./reduce.ts";

/** A JS scalar operand: weakly typed, as Python scalars are under NumPy 2 (NEP 50). */
export type Scalar = number | bigint | boolean;

/**
 * An array operand with an explicit dtype (`{ data: mask, dtype: "bool" }`
 * marks a mask) or an N-d view of its data: `shape`, and optionally
 * `strides` and `offset`, as NumPy's.
 */
export interface ArrayOperand {
  /** The elements. */
  readonly data: NumericArray;
  /** The dtype, when it is not the TypedArray's own (only `"bool"` over a Uint8Array). */
  readonly dtype?: DType;
  /**
   * The shape (at most 32 dimensions). Without `strides` and `offset` the
   * data is row-major and must hold exactly the shape's elements.
   */
  readonly shape?: readonly number[];
  /** Strides in elements, one per dimension; negative and zero ones are allowed (default row-major). */
  readonly strides?: readonly number[];
  /** The index in `data` of element `[0, …, 0]` (default 0). */
  readonly offset?: number;
}

/** An N-d array: `data` holds the elements of `shape` contiguous, row-major. */
export interface NdArray<T extends NumericArray = NumericArray> {
  /** The elements, row-major. */
  readonly data: T;
  /** The extent of each dimension. */
  readonly shape: readonly number[];
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
   * An `NdArray` must have the result's shape (its data contiguous); a
   * TypedArray must have as many elements as the result.
   */
  readonly out?: NumericArray | NdArray;
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

/** Whether `S` is only blanks and statement separators. */
type Blank<S extends string> = S extends "" ? true
  : S extends `${" " | "\t" | "\r" | "\n" | ";"}${infer R}` ? Blank<R>
  : false;

/**
 * The last statement of program `S`: the text after its last `;` or newline
 * that is followed by more than blanks.
 */
type LastStatement<S extends string> = S extends `${infer A};${infer B}`
  ? LastStatement<Blank<B> extends true ? A : B>
  : S extends `${infer A}\n${infer B}` ? LastStatement<Blank<B> extends true ? A : B>
  : S;

/** What the last statement `S` of a program gives. */
type StatementResult<S extends string> = HasReduction<S> extends true
  ? NoComparisons<Without<Without<S, "axis=">, "axis =">> extends `${string}=${string}` ? undefined
  : Reduced
  : NoComparisons<S> extends `${string}=${string}` ? undefined
  : NumericArray;

/**
 * What running expression `E` returns: an array, a reduction's value, or
 * `undefined` for a program ending with an assignment, as its last
 * statement says. Told from the text of a string literal (`=` other than
 * in `==`, `<=`, `>=` and `!=` is an assignment); a last statement that is
 * the tail of a call split across lines, or a non-literal `E`, may give any.
 */
export type ResultOf<
  E extends string,
  V = Record<never, never>,
  O = undefined,
> = WithShapes<
  string extends E ? NumericArray | Reduced | undefined
    : LastStatement<E> extends `${string})${string}`
      ? LastStatement<E> extends `${string}(${string}` ? StatementResult<LastStatement<E>>
      : NumericArray | Reduced | undefined
    : StatementResult<LastStatement<E>>,
  V,
  O
>;

/** Whether one member of an operand's type has a shape: "yes", "no", or "maybe" (optional). */
type ShapeFlag<T> = T extends { readonly data: unknown }
  ? "shape" extends keyof T ? undefined extends T["shape" & keyof T] ? "maybe" : "yes"
  : "no"
  : "no";

/** Whether an operand has a shape: "yes", "no", or "maybe" when its type allows both. */
type HasShape<T> = [ShapeFlag<T>] extends ["yes"] ? "yes"
  : [ShapeFlag<T>] extends ["no"] ? "no"
  : "maybe";

/**
 * `R` as a run with variables `V` and options `O` returns it: an `NdArray`
 * in place of each array when some variable (or `out`) has a shape, either
 * when the types allow both.
 */
export type WithShapes<R, V, O> = NdIf<
  R,
  | { [K in keyof V]-?: HasShape<V[K]> }[keyof V]
  | HasShape<O extends { readonly out?: infer T } ? T : undefined>
>;

type NdIf<R, F> = "yes" extends F ? ToNd<R> : "maybe" extends F ? R | ToNd<R> : R;
type ToNd<R> = R extends NumericArray ? NdArray : R;

/** Whether `S` calls a reduction (`sum(`, `max (`, ...): in a last statement, it is the result or an error. */
type HasReduction<S extends string> = S extends
  `${string}${ReductionName}(${string}` | `${string}${ReductionName} (${string}` ? true
  : false;

/**
 * The value of a reduction: over the whole array, or along the axis of a
 * 1-D array, a JS scalar (a number for floats and for integer dtypes up to
 * 32 bits, a bigint for int64 and uint64, a boolean for bool); along an axis
 * of an N-d array, a {@linkcode ReducedArray}.
 */
export type Reduced = number | bigint | boolean | ReducedArray;

/** A reduction along one axis of an N-d array: the input's shape with that axis removed. */
export interface ReducedArray {
  /** The elements, row-major. */
  readonly data: NumericArray;
  /** The shape. */
  readonly shape: readonly number[];
  /** `"bool"` for `any` and `all` (the data is a Uint8Array of 0/1). */
  readonly dtype?: "bool";
}

/**
 * A kernel's signature: each variable's dtype, in the order of its
 * positional arguments.
 *
 * @example
 * ```ts ignore
 * import { compile, type Signature } from "./mod.ts";
 * const signature = { p: "float32", g: "float32", lr: "float32" } as const satisfies Signature;
 * const sgd = compile("p - lr * g", signature); // sgd.call(p, g, lr)
 * ```
 */
export type Signature = Readonly<Record<string, DType>>;

/**
 * What a variable declared with dtype `D` may be passed as: an array of `D`,
 * or a scalar.
 *
 * @example
 * ```ts ignore
 * import type { ArgumentOf } from "./mod.ts";
 * const a: ArgumentOf<"float32"> = new Float32Array(3); // or a number
 * const b: ArgumentOf<"int64"> = 5n; // or a BigInt64Array, or a number
 * ```
 */
export type ArgumentOf<D extends DType> = D extends "bool" ? Uint8Array | boolean | number
  : D extends "int64" ? BigInt64Array | bigint | number
  : D extends "uint64" ? BigUint64Array | bigint | number
  : D extends "float64" ? Float64Array | number
  : D extends "float32" ? Float32Array | number
  : D extends "int32" ? Int32Array | number
  : D extends "uint32" ? Uint32Array | number
  : D extends "int16" ? Int16Array | number
  : D extends "uint16" ? Uint16Array | number
  : D extends "int8" ? Int8Array | number
  : D extends "uint8" ? Uint8Array | number
  : NumericArray | Scalar;

type UnionToIntersection<U> = (U extends unknown ? (x: U) => void : never) extends
  (x: infer I) => void ? I : never;
type LastOf<U> = UnionToIntersection<U extends unknown ? () => U : never> extends () => infer L ? L
  : never;
/** A tuple of `T`s, one per member of the union `U`. */
type OnePer<U, T, Tuple extends T[] = []> = [U] extends [never] ? Tuple
  : OnePer<Exclude<U, LastOf<U>>, T, [T, ...Tuple]>;

/**
 * The positional arguments of a kernel with signature `S`: as many as `S`
 * has names, each any of `S`'s argument types (TypeScript does not know the
 * order of an object type's keys, so it cannot tell which is which).
 *
 * @example
 * ```ts ignore
 * import type { Arguments } from "./mod.ts";
 * type SgdArgs = Arguments<{ p: "float32"; g: "float32" }>; // [Float32Array | number, Float32Array | number]
 * ```
 */
export type Arguments<S extends Signature> = string extends keyof S ? ArgumentOf<S[keyof S]>[]
  : OnePer<keyof S, ArgumentOf<S[keyof S]>>;

/**
 * A compiled program, run many times with `run`, or positionally with `call`
 * and `callInto`; `R` is what a run returns, `S` the signature.
 */
export interface Kernel<
  R extends NumericArray | Reduced | undefined = NumericArray | Reduced | undefined,
  S extends Signature = Signature,
> {
  /** The program it was compiled from. */
  readonly expression: string;
  /** The variables it takes and their dtypes. */
  readonly signature: Readonly<S>;
  /** The signature's names in order: the order of `call`'s arguments. */
  readonly params: readonly (keyof S & string)[];
  /**
   * Runs it; variables declared with a dtype may be given as arrays (N-d
   * views included) or as scalars. Returns the result (an `NdArray` when a
   * variable or `out` has a shape), or `undefined` when the program ends
   * with an assignment (the arrays assigned are written in place).
   */
  run<V extends Variables, O extends EvaluateOptions | undefined = undefined>(
    variables: V,
    options?: O,
  ): WithShapes<R, V, O>;
  /** As `run`, off the JS thread. */
  runAsync<V extends Variables, O extends EvaluateOptions | undefined = undefined>(
    variables: V,
    options?: O,
  ): Promise<WithShapes<R, V, O>>;
  /**
   * Runs it with one argument per signature entry, in the signature's order
   * (`params`): a typed array of the declared dtype (a Uint8Array for
   * `bool`) or a scalar. Returns a new result array, or `undefined` when the
   * program ends with an assignment (the arrays assigned are written in
   * place). The same checks and aliasing rules as `evaluate`, without
   * looking variables up by name: the fast path for hot loops.
   *
   * @example
   * ```ts ignore
   * import { compile } from "./mod.ts";
   * const axpy = compile("a * x + y", { a: "float32", x: "float32", y: "float32" });
   * const x = new Float32Array([1, 2]), y = new Float32Array([10, 20]);
   * axpy.call(2, x, y); // Float32Array [12, 24]
   * ```
   */
  call(...args: Arguments<S>): R;
  /**
   * As `call`, but writes the result into `out` (which may be one of the
   * inputs, exactly) and returns it; `out` follows `evaluate`'s `same_kind`
   * casting. A TypeError for a program that ends with an assignment.
   *
   * @example
   * ```ts ignore
   * import { compile } from "./mod.ts";
   * const sgd = compile("p - lr * g", { p: "float32", g: "float32", lr: "float32" });
   * const p = new Float32Array(64), g = new Float32Array(64).fill(1);
   * for (let step = 0; step < 100; step++) sgd.callInto(p, p, g, 0.01); // p updated in place
   * ```
   */
  callInto(out: NumericArray, ...args: Arguments<S>): NumericArray;
}

/** The dtypes arrays may have: every one (float16 where the runtime has Float16Array). */
const SUPPORTED: readonly DType[] = DTYPES;
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
  /** The reduction that ends the program (its argument is the result above), if any. */
  readonly reduction: CompiledReduction | undefined;
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
  /** The run's meta; where runs go by address, followed by room for the addresses. */
  readonly meta: Float64Array;
  readonly metaInt: BigInt64Array;
  /** Slots of meta proper (n, the lengths, the scalars). */
  readonly metaLength: number;
  /** Where `meta` is, for a run by address; undefined where runs never go by address. */
  readonly metaAt: unknown;
  /** Set when the cache evicts it and frees its handle; a kernel bound to it rebinds. */
  freed: boolean;
}

interface Entry {
  /** The variables: names read before they are assigned, then names assigned first. */
  readonly names: readonly string[];
  /** 1 where the program assigns the name before reading it: an output if passed, else a temporary. */
  readonly optional: Uint8Array;
  readonly variants: Variant[];
  /** The phases, when a reduction ends a statement before the last (`src/phases.ts`). */
  readonly plan: PhasePlan | undefined;
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

function free(v: Variant): void {
  v.freed = true;
  native().programFree(v.handle);
}

function entryFor(expression: string): Entry {
  let entry = cache.get(expression);
  if (entry) return entry;
  if (typeof expression !== "string") {
    throw new TypeError(`Expression must be a string: got ${describe(expression)}`);
  }
  const program = parseProgram(expression);
  const { names, optional } = programNames(program);
  entry = { names, optional, variants: [], plan: planPhases(expression, program) };
  if (cache.size >= CACHE_EXPRESSIONS) {
    const [oldest, evicted] = cache.entries().next().value as [string, Entry];
    cache.delete(oldest);
    for (const v of evicted.variants) free(v);
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
/**
 * The N-d view of each variable given with a shape in this call (set by
 * `classify`; an entry is current only when its `call` is `callCount`).
 */
const scratchGeometry: (View | undefined)[] = [];
/** Calls so far: tells this call's views from earlier calls' ones. */
let callCount = 0;
/** Whether a variable of this call has a shape (so the call is N-d). */
let ndCall = false;

/** The N-d view of an operand's data, validated. */
interface View {
  /** The call that classified it. */
  readonly call: number;
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  /** Whether it is row-major contiguous (strides of extent-1 dimensions aside). */
  readonly contiguous: boolean;
  /** The least and greatest element index reached (0 and -1 when it has no element). */
  readonly lo: number;
  readonly hi: number;
}

/** NumPy's limit on dimensions, and the VM's. */
const MAX_NDIM = 32;

/** `(3,1,5)`, as NumPy prints a shape (a 1-tuple without its comma). */
function shapeText(shape: readonly number[]): string {
  return `(${shape.join(",")})`;
}

/** Elements of a shape: 0 when an extent is 0, whatever the others. */
function elements(shape: readonly number[]): number {
  if (shape.includes(0)) return 0;
  let size = 1;
  for (const e of shape) size *= e;
  return size;
}

/** Row-major strides of a shape. */
function rowMajor(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let step = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = step;
    step *= shape[d];
  }
  return strides;
}

/** A list of integers (shape or strides) of an operand, checked. */
function integers(what: string, field: string, value: unknown, min: number): readonly number[] {
  if (!Array.isArray(value)) {
    throw new TypeError(
      `${what} has ${field} of type ${describe(value)}: use an array of integers`,
    );
  }
  // Checked on a copy, so what is checked is what is used.
  const copy: unknown[] = value.length > MAX_NDIM ? value : value.slice();
  if (copy.length > MAX_NDIM) {
    throw new RangeError(`${what} has ${copy.length} dimensions, more than ${MAX_NDIM}`);
  }
  for (const x of copy) {
    if (typeof x !== "number") {
      throw new TypeError(
        `${what} has ${field} [${copy.join(", ")}]: ${describe(x)} is not a number`,
      );
    }
    if (!Number.isSafeInteger(x) || x < min) {
      throw new RangeError(
        `${what} has ${field} [${copy.join(", ")}]: every entry must be a${
          min === 0 ? " non-negative" : "n"
        } integer`,
      );
    }
  }
  return copy as number[];
}

/** Validates the shape, strides and offset of an operand or `out`. */
function viewOf(what: string, op: ArrayOperand): View {
  if (op.shape === undefined) {
    throw new TypeError(`${what} has strides or an offset but no shape: give its shape too`);
  }
  const shape = integers(what, "shape", op.shape, 0);
  const strides = op.strides === undefined
    ? rowMajor(shape)
    : integers(what, "strides", op.strides, -Infinity);
  if (strides.length !== shape.length) {
    throw new RangeError(
      `${what} has ${strides.length} strides for ${shape.length} dimensions (shape ${
        shapeText(shape)
      })`,
    );
  }
  const offset = op.offset ?? 0;
  if (typeof offset !== "number" || !Number.isSafeInteger(offset) || offset < 0) {
    throw new RangeError(`${what} has offset ${String(offset)}: it must be a non-negative integer`);
  }
  const length = arrayLength(op.data);
  const size = elements(shape);
  if (op.strides === undefined && op.offset === undefined && size !== length) {
    throw new RangeError(
      `${what} has shape ${
        shapeText(shape)
      } (${size} elements) but its data has ${length} elements`,
    );
  }
  let lo = offset, hi = offset, contiguous = true, step = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    const span = (shape[d] - 1) * strides[d];
    if (span < 0) lo += span;
    else hi += span;
    if (shape[d] !== 1 && strides[d] !== step) contiguous = false;
    step *= shape[d];
  }
  if (size === 0) return { call: callCount, shape, strides, offset, contiguous, lo: 0, hi: -1 };
  if (!Number.isSafeInteger(size)) {
    throw new RangeError(`${what} has shape ${shapeText(shape)}: too many elements`);
  }
  if (lo < 0 || hi >= length) {
    throw new RangeError(
      `${what} with shape ${shapeText(shape)}, strides ${
        shapeText(strides)
      } and offset ${offset} reaches elements ${lo} to ${hi}, outside its data of ${length} elements`,
    );
  }
  return { call: callCount, shape, strides, offset, contiguous, lo, hi };
}

/**
 * A strongly typed scalar, as a NumPy scalar: the value of a reduction that
 * ends a phase of a program, bound to its name for the later phases.
 */
class Strong {
  constructor(readonly value: Scalar, readonly dtype: DType) {}
}

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
  } else if (v instanceof Strong) {
    scratchValues[i] = v.value;
    return STRONG_SCALAR + dtypeCode(v.dtype);
  } else if (typeof v === "object" && v !== null && "data" in v) {
    // Each property is read once: a getter cannot change what was checked.
    const o = v as ArrayOperand;
    const op: ArrayOperand = {
      data: o.data,
      dtype: o.dtype,
      shape: o.shape,
      strides: o.strides,
      offset: o.offset,
    };
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
    const view = op.shape === undefined && op.strides === undefined && op.offset === undefined
      ? undefined
      : viewOf(`Variable '${name}'`, op);
    scratchGeometry[i] = view;
    if (view !== undefined) ndCall = true;
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
  // A reduction of a variable in place has no element-wise program to run.
  const handle = program.code.length === 0 ? 0 : native().programNew(program.code);
  const k = program.outputs.length + program.inputs.length;
  const metaLength = 1 + k + program.scalars.length;
  const byAddress = k <= BY_ADDRESS_MAX ? native().byAddress : undefined;
  const block = byAddress?.block(metaLength + k);
  const meta = block?.slots ?? new Float64Array(metaLength);
  const variant: Variant = {
    names: entry.names,
    codes: codes.slice(0, entry.names.length),
    outCode: out === undefined ? NO_OUT : dtypeCode(out),
    program,
    handle,
    resultDtype: program.hasResult ? program.outputs[0].dtype : undefined,
    reduction: program.reduction,
    nOut: program.outputs.length,
    outputIndex: Int32Array.from(program.outputs, (o) => o.name === "" ? -1 : index(o.name)),
    inputIndex: Int32Array.from(program.inputs, index),
    scalarIndex: Int32Array.from(program.scalars, (s) => index(s.name)),
    scalarDtypes: program.scalars.map((s) => s.dtype),
    args: new Array(k),
    meta,
    metaInt: new BigInt64Array(meta.buffer),
    metaLength,
    metaAt: block?.at,
    freed: false,
  };
  if (entry.variants.length >= CACHE_VARIANTS) {
    free(entry.variants.shift()!);
  }
  entry.variants.push(variant);
  return variant;
}

function checkVariables(variables: Variables): void {
  if (typeof variables !== "object" || variables === null) {
    throw new TypeError(`Variables must be an object: got ${describe(variables)}`);
  }
}

function variantFor(
  expression: string,
  entry: Entry,
  variables: Variables,
  declared: Readonly<Record<string, DType>> | undefined,
  out: NumericArray | undefined,
  casting: Casting,
): Variant {
  checkVariables(variables);
  const names = entry.names;
  if (scratchCodes.length < names.length) scratchCodes = new Int32Array(names.length * 2);
  if (scratchValues.length < names.length) scratchValues = new Array(names.length);
  callCount++;
  ndCall = false;
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
  if (plain.reduction !== undefined) throw reductionOut(plain.reduction);
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
  // Every casting mode allows the result's own dtype.
  if (target === plain.resultDtype) return plain;
  if (!canCast(plain.resultDtype, target, casting)) {
    throw new TypeError(
      `Cannot write a ${plain.resultDtype} result into a ${target} out with casting "${casting}"`,
    );
  }
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
    const length = arrayLength(a);
    if (length === 0 && isDetached(a)) throw detached(`Variable '${names[index]}'`);
    if (n < 0) {
      n = length;
      first = index;
    } else if (length !== n) {
      throw new RangeError(
        `Arrays must have the same length: '${names[first]}' has ${n} elements, '${
          names[index]
        }' has ${length}`,
      );
    }
    if (s < inputs.length) v.args[nOut + s] = a;
    else v.args[firstNamed + s - inputs.length] = a;
  }
  if (out !== undefined) {
    const length = arrayLength(out);
    if (length === 0 && isDetached(out)) throw detached("Option 'out'");
    if (n < 0) n = length;
    else if (length !== n) {
      throw new RangeError(`Option 'out' has ${length} elements, the result has ${n}`);
    }
    v.args[0] = out;
  } else if (firstNamed === 1) {
    if (n < 0) n = 1;
    out = allocate ? fresh(v.resultDtype!, n) : EMPTY;
    v.args[0] = out;
  }
  const meta = v.meta;
  meta[0] = n;
  for (let s = 0; s < v.args.length; s++) meta[1 + s] = arrayLength(v.args[s]);
  const base = 1 + v.args.length;
  for (let s = 0; s < v.scalarIndex.length; s++) {
    writeScalar(v, base + s, s, scratchValues[v.scalarIndex[s]] as Scalar, names);
  }
  return firstNamed === 1 ? out : undefined;
}

/**
 * An `NdArray` given as `out`, each property read once (so what is checked
 * is what is written), its data checked to be a typed array; undefined for
 * anything but an object with `data`, which `variantFor` then refuses.
 */
function ndOut(out: unknown): ArrayOperand | undefined {
  if (typeof out !== "object" || out === null || !("data" in out)) return undefined;
  const o = out as ArrayOperand;
  const snapshot = { data: o.data, shape: o.shape, strides: o.strides, offset: o.offset };
  const data = snapshot.data as unknown;
  if (!ArrayBuffer.isView(data) || data instanceof DataView) {
    throw new TypeError(
      `Option 'out' has data of type ${describe(data)}: use a typed array such as Float64Array`,
    );
  }
  return snapshot;
}

/** One array of an N-d call: its label for messages, data and view. */
interface NdOperand {
  readonly label: string;
  readonly data: NumericArray;
  readonly view: View;
}

/** The view of a 1-D array: shape `[length]`. */
function flatView(length: number): View {
  return contiguousView([length], length);
}

/** The row-major view of `n` elements in `shape`, from the start. */
function contiguousView(shape: readonly number[], n: number): View {
  return {
    call: callCount,
    shape,
    strides: rowMajor(shape),
    offset: 0,
    contiguous: true,
    lo: 0,
    hi: n - 1,
  };
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((e, d) => e === b[d]);
}

/**
 * The broadcast shape of the operands, NumPy's rule: shapes aligned on the
 * right, each dimension equal or 1.
 */
function broadcastShape(operands: readonly NdOperand[]): number[] {
  let ndim = 0;
  for (const o of operands) ndim = Math.max(ndim, o.view.shape.length);
  const shape = new Array<number>(ndim).fill(1);
  /** Per dimension, the operand that set it to an extent other than 1. */
  const from = new Array<NdOperand | undefined>(ndim);
  for (const o of operands) {
    const own = o.view.shape;
    for (let k = 1; k <= own.length; k++) {
      const d = ndim - k, e = own[own.length - k];
      if (e === 1 || e === shape[d]) continue;
      if (shape[d] !== 1) {
        const other = from[d]!;
        throw new RangeError(
          `Cannot broadcast ${other.label} of shape ${
            shapeText(other.view.shape)
          } with ${o.label} of shape ${shapeText(own)}`,
        );
      }
      shape[d] = e;
      from[d] = o;
    }
  }
  return shape;
}

/** Whether two arrays' reached elements share memory. */
function ndOverlaps(a: NdOperand, b: NdOperand): boolean {
  if (a.data.buffer !== b.data.buffer || a.view.hi < a.view.lo || b.view.hi < b.view.lo) {
    return false;
  }
  const aStart = a.data.byteOffset + a.view.lo * a.data.BYTES_PER_ELEMENT;
  const aEnd = a.data.byteOffset + (a.view.hi + 1) * a.data.BYTES_PER_ELEMENT;
  const bStart = b.data.byteOffset + b.view.lo * b.data.BYTES_PER_ELEMENT;
  const bEnd = b.data.byteOffset + (b.view.hi + 1) * b.data.BYTES_PER_ELEMENT;
  return aStart < bEnd && bStart < aEnd;
}

/**
 * As `prepare`, for a call where a variable or `out` has a shape: broadcasts
 * the shapes, checks the arrays written (contiguous, of the result's shape)
 * and fills `v.args`, `v.meta` and the geometry block. The result is an
 * `NdArray` (allocated unless `out` is given or `allocate` is false), or
 * undefined when the program has no result.
 */
function prepareNd(
  v: Variant,
  names: readonly string[],
  out: NumericArray | ArrayOperand | undefined,
  allocate: boolean,
): { result: NdArray | undefined; geometry: Float64Array } {
  const nOut = v.nOut;
  const firstNamed = v.resultDtype === undefined ? 0 : 1;
  const operandOf = (index: number): NdOperand => {
    const data = scratchValues[index] as NumericArray;
    const label = `Variable '${names[index]}'`;
    if (data.length === 0 && isDetached(data)) throw detached(label);
    const view = scratchGeometry[index];
    return {
      label: `'${names[index]}'`,
      data,
      view: view !== undefined && view.call === callCount ? view : flatView(arrayLength(data)),
    };
  };
  const operands = new Array<NdOperand>(v.args.length);
  for (let o = firstNamed; o < nOut; o++) operands[o] = operandOf(v.outputIndex[o]);
  for (let s = 0; s < v.inputIndex.length; s++) operands[nOut + s] = operandOf(v.inputIndex[s]);
  const shaped = operands.filter((o) => o !== undefined);
  let outOperand: NdOperand | undefined;
  if (out !== undefined) {
    const data = ArrayBuffer.isView(out) ? out : out.data;
    if (data.length === 0 && isDetached(data)) throw detached("Option 'out'");
    if (!ArrayBuffer.isView(out)) {
      if (out.strides !== undefined || out.offset !== undefined) {
        throw new TypeError("Option 'out' must be contiguous: give it as { data, shape }");
      }
      if (out.shape === undefined) {
        throw new TypeError(
          "Option 'out' has no shape: give it as { data, shape }, or pass the typed array itself",
        );
      }
      const view = viewOf("Option 'out'", { data, shape: out.shape });
      outOperand = { label: "option 'out'", data, view };
      shaped.push(outOperand);
    }
  }
  const shape = broadcastShape(shaped);
  const n = elements(shape);
  if (!Number.isSafeInteger(n)) {
    throw new RangeError(`The result's shape ${shapeText(shape)} has too many elements`);
  }
  for (let o = firstNamed; o < nOut; o++) {
    const a = operands[o];
    if (!a.view.contiguous || !sameShape(a.view.shape, shape)) {
      throw new RangeError(
        `Variable ${a.label} is assigned in place, so it must be contiguous with the result's shape ${
          shapeText(shape)
        }: it has shape ${shapeText(a.view.shape)}${a.view.contiguous ? "" : " and is strided"}`,
      );
    }
  }
  let result: NumericArray | undefined;
  if (out !== undefined) {
    if (outOperand !== undefined) {
      if (!sameShape(outOperand.view.shape, shape)) {
        throw new RangeError(
          `Option 'out' has shape ${shapeText(outOperand.view.shape)}, the result has shape ${
            shapeText(shape)
          }`,
        );
      }
      result = outOperand.data;
    } else {
      result = out as NumericArray;
      if (arrayLength(result) !== n) {
        throw new RangeError(
          `Option 'out' has ${arrayLength(result)} elements, the result has ${n} (shape ${
            shapeText(shape)
          })`,
        );
      }
      outOperand = { label: "option 'out'", data: result, view: contiguousView(shape, n) };
    }
    operands[0] = outOperand;
  } else if (firstNamed === 1) {
    result = allocate ? fresh(v.resultDtype!, n) : EMPTY;
    operands[0] = { label: "the result", data: result, view: contiguousView(shape, n) };
  }
  // Outputs must not share memory; an input that does is copied unless it is
  // exactly the output, read in place (the variable assigned, or out itself).
  for (let o = 0; o < nOut; o++) {
    const a = operands[o];
    for (let o2 = o + 1; o2 < nOut; o2++) {
      if (ndOverlaps(a, operands[o2])) {
        throw new RangeError(
          `Cannot write both ${outputLabel(v, names, o)} and ${
            outputLabel(v, names, o2)
          }: they share memory`,
        );
      }
    }
    for (let s = nOut; s < operands.length; s++) {
      const b = operands[s];
      if (!ndOverlaps(a, b)) continue;
      const exact = b.view.contiguous && sameShape(b.view.shape, shape) &&
        b.data.byteOffset + b.view.offset * b.data.BYTES_PER_ELEMENT ===
          a.data.byteOffset + a.view.offset * a.data.BYTES_PER_ELEMENT &&
        b.data.BYTES_PER_ELEMENT === a.data.BYTES_PER_ELEMENT;
      const index = v.inputIndex[s - nOut];
      if (!exact || (v.outputIndex[o] >= 0 && v.outputIndex[o] !== index)) {
        operands[s] = { ...b, data: b.data.slice() };
      }
    }
  }
  const ndim = shape.length;
  const geometry = new Float64Array(1 + ndim + operands.length * (1 + ndim));
  geometry[0] = ndim;
  geometry.set(shape, 1);
  const meta = v.meta;
  meta[0] = n;
  for (let k = 0; k < operands.length; k++) {
    const { data, view } = operands[k];
    v.args[k] = data;
    meta[1 + k] = arrayLength(data);
    const base = 1 + ndim + k * (1 + ndim);
    geometry[base] = view.offset;
    // Aligned on the right; a dimension broadcast from extent 1 has stride 0.
    const own = view.shape.length;
    for (let d = 0; d < ndim; d++) {
      const j = d - (ndim - own);
      geometry[base + 1 + d] = j < 0 || view.shape[j] === 1 ? 0 : view.strides[j];
    }
  }
  const scalarBase = 1 + v.args.length;
  for (let s = 0; s < v.scalarIndex.length; s++) {
    writeScalar(v, scalarBase + s, s, scratchValues[v.scalarIndex[s]] as Scalar, names);
  }
  return {
    result: result === undefined ? undefined : { data: result, shape },
    geometry,
  };
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

/**
 * A fresh result the runtime zeroed (Deno's every new TypedArray, in the
 * steady state of a loop: glibc's calloc clears recycled memory) is in this
 * core's cache, and a second thread writing half of it first fetches each
 * line from here. So a run into one of at most `FRESH_SERIAL_MAX_BYTES`
 * stays on the calling thread, unless its program's work per element (the
 * thread planner's units: one `add`) is `FRESH_SPLIT_COST_PER_BYTE` or more
 * per byte of a result element. Measured in Deno on this project's 2-core
 * machine, in the steady state of 3000 calls: fresh ReLU over 2^18 float32
 * took 105–115 µs on one thread against 212–252 µs on two, tanh∘ReLU
 * 186–200 against 232–274 µs (43–53 against 121–145 µs at 2^16); from 2^19
 * up, two threads were even or ahead.
 */
const FRESH_SERIAL_MAX_BYTES = 1 << 20;
const FRESH_SPLIT_COST_PER_BYTE = 4;

/** The threads for a run of `v`; `fresh` is its result if that was allocated for the run. */
function runThreads(v: Variant, fresh: NumericArray | undefined): number {
  if (fresh === undefined) return getNumThreads();
  const bytes = arrayByteLength(fresh);
  const serial = bytes <= FRESH_SERIAL_MAX_BYTES && bytes < native().zeroedBelow &&
    v.program.cost < FRESH_SPLIT_COST_PER_BYTE * DTYPE_SIZE[v.resultDtype!];
  return serial ? 1 : getNumThreads();
}

/** A new result array; a large one gets huge pages before the VM first writes it. */
function fresh(dtype: DType, n: number): NumericArray {
  const array = native().allocate(dtype, n);
  if (array.byteLength >= ADVISE_MIN_BYTES) native().adviseFresh(array);
  return array;
}

function outputLabel(v: Variant, names: readonly string[], o: number): string {
  return v.outputIndex[o] < 0 ? "option 'out'" : `variable '${names[v.outputIndex[o]]}'`;
}

/**
 * Outputs that share memory are refused. An input that shares memory with an
 * output is copied first, except the array of an assigned variable itself
 * and an exact alias of the result (both element-wise safe), so a run reads
 * every variable as it was when the call began. Synchronous runs call this
 * only when the VM refused an overlap (its own check allows an exact alias
 * whose input is read before the output is written, which gives the same
 * result as a copy).
 */
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
  for (let i = 0; i < v.names.length; i++) scratchValues[i] = undefined;
}

const EMPTY = new Float64Array(0);

function run(
  expression: string,
  variables: Variables,
  options: EvaluateOptions | undefined,
  declared?: Readonly<Record<string, DType>>,
): NumericArray | NdArray | Reduced | undefined {
  const entry = entryFor(expression);
  if (entry.plan !== undefined) return runPhases(entry, variables, options, declared);
  const given = options?.out;
  const shaped = given === undefined || ArrayBuffer.isView(given) ? undefined : ndOut(given);
  const out = shaped === undefined ? given as NumericArray | undefined : shaped.data;
  const casting = options?.casting ?? "same_kind";
  const v = variantFor(expression, entry, variables, declared, out, casting);
  return dispatch(v, out, shaped);
}

/**
 * Runs a variant on the values `variantFor` left in `scratchValues`: N-d
 * when a variable or `out` has a shape, else as `execute`.
 */
function dispatch(
  v: Variant,
  out: NumericArray | undefined,
  shaped: ArrayOperand | undefined,
): NumericArray | NdArray | Reduced | undefined {
  if (v.reduction === undefined && (ndCall || shaped !== undefined)) {
    const nd = prepareNd(v, v.names, shaped ?? out, true);
    const fresh = (shaped ?? out) === undefined ? nd.result?.data : undefined;
    try {
      native().runNd(v.handle, runThreads(v, fresh), v.meta, nd.geometry, v.args);
    } finally {
      release(v);
    }
    return nd.result;
  }
  return execute(v, out);
}

/**
 * Runs a prepared 1-D variant. The VM checks overlaps before it writes
 * anything: on its refusal they are resolved (copies, or the named error)
 * and it runs again.
 */
function runChecked(v: Variant, threads: number): void {
  try {
    native().run(v.handle, threads, v.meta, v.args);
  } catch (e) {
    if (!isOverlapError(e)) throw e;
    resolveOverlaps(v, v.names);
    native().run(v.handle, threads, v.meta, v.args);
  }
}

/**
 * Runs a variant of a call without shapes on the values in `scratchValues`
 * (as `variantFor` or a kernel left them).
 */
function execute(v: Variant, out: NumericArray | undefined): NumericArray | Reduced | undefined {
  if (v.reduction !== undefined) return runReduction(v);
  try {
    const result = prepare(v, v.names, out);
    // A fresh result has no address: its run goes by value, and it is not learnt.
    const fresh = result !== undefined && result !== out;
    const byAddress = v.metaAt === undefined ? undefined : native().byAddress;
    if (byAddress !== undefined && v.meta[0] !== 0) {
      if (!fresh && writeKnown(v) && runAddressed(v, v.args.length)) return result;
      // Before the run: resolving an overlap puts copies in the arguments.
      learn(byAddress, v.args, fresh ? 1 : 0);
    }
    runChecked(v, runThreads(v, fresh ? result : undefined));
    return result;
  } finally {
    release(v);
  }
}

/**
 * Writes the addresses of a prepared variant's arrays from slot `from` on
 * (`prepare` checked their types and their lengths, all n) after its meta;
 * false if any is not known with an address (`learn`).
 */
function writeKnown(v: Variant, from = 0): boolean {
  const args = v.args, meta = v.meta, at = v.metaLength;
  for (let s = from; s < args.length; s++) {
    const address = known.get(args[s])?.address;
    if (!address) return false;
    meta[at + s] = address;
  }
  return true;
}

/**
 * A kernel's positional calls: the variant its last call ran, so that the
 * next call only checks each argument against it (an array of the same
 * type, or a scalar) instead of classifying variables by name.
 */
interface Positional {
  readonly expression: string;
  readonly declared: Signature;
  readonly params: readonly string[];
  /** The variant bound; undefined until the first call. */
  variant: Variant | undefined;
  /** For each variable of the variant (`names` order), its argument's index; -1 if absent. */
  position: Int32Array;
  /** For each variable, the `arrayTag` its array must have; undefined for a scalar or an absent one. */
  tags: (string | undefined)[];
  /** For each array slot of the variant (outputs first), its argument's index; -1 for the result. */
  slotArg: Int32Array;
  /** For each array slot, the `arrayTag` its array must have (the result's: an `out` written without a cast). */
  slotTag: string[];
  /** For each scalar slot of the variant, its argument's index. */
  scalarArg: Int32Array;
}

function tagOf(dtype: DType): string {
  return arrayTag(allocArray(dtype, 0))!;
}

/** Binds a kernel's positional calls to a variant (one writing its own result dtype). */
function bind(k: Positional, v: Variant): void {
  const position = Int32Array.from(v.names, (name) => k.params.indexOf(name));
  const variable = (slot: number) =>
    slot < v.nOut ? v.outputIndex[slot] : v.inputIndex[slot - v.nOut];
  k.position = position;
  k.tags = Array.from(v.codes, (c) => c < STRONG_SCALAR ? tagOf(DTYPES[c]) : undefined);
  k.slotArg = Int32Array.from(v.args, (_, s) => variable(s) < 0 ? -1 : position[variable(s)]);
  k.slotTag = Array.from(v.args, (_, s) => {
    const dtype = variable(s) < 0 ? v.resultDtype! : DTYPES[v.codes[variable(s)]];
    return tagOf(dtype);
  });
  k.scalarArg = Int32Array.from(v.scalarIndex, (i) => position[i]);
  k.variant = v;
}

/**
 * A positional call: when every argument matches the bound variant (and
 * `out`, if given, is of the result's type), runs it directly; otherwise
 * takes the by-name path, which checks everything and rebinds.
 */
function callPositional(
  k: Positional,
  args: ArrayLike<unknown>,
  out: NumericArray | undefined,
  into: boolean,
): NumericArray | NdArray | Reduced | undefined {
  const v = k.variant;
  if (v === undefined || v.freed || args.length !== k.params.length) {
    return callByName(k, args, out, into);
  }
  if (v.reduction === undefined) {
    // `call` of a program with a result makes a fresh one, which has no address.
    const addressed = v.metaAt !== undefined && into === (v.resultDtype !== undefined);
    if (addressed && callAddressed(k, v, args, into ? out : undefined)) return out;
    return callDirect(k, v, args, out, into);
  }
  if (into) return callByName(k, args, out, into);
  const whole = v.metaAt !== undefined && isWholeValue(v);
  if (whole) {
    const value = callReducedAddressed(k, v, args);
    if (value !== undefined) return value;
  }
  // A new call with no shapes: no view classified before applies to it.
  callCount++;
  ndCall = false;
  const codes = v.codes, position = k.position, tags = k.tags;
  for (let i = 0; i < codes.length; i++) {
    const code = codes[i];
    if (code === ABSENT) continue;
    const a = args[position[i]];
    if (code < STRONG_SCALAR) {
      if (arrayTag(a) !== tags[i]) return callByName(k, args, out, into);
    } else if (typeof a !== "number" && typeof a !== "bigint" && typeof a !== "boolean") {
      return callByName(k, args, out, into);
    }
    scratchValues[i] = a;
  }
  // A whole reduction run by value learns its arrays (`runFused`).
  return execute(v, out);
}

/**
 * Whether a variant's reduction is of its program's one output, whole, to
 * a value (no axis, no array assigned): the VM then runs the program and
 * reduces it in one run.
 */
function isWholeValue(v: Variant): boolean {
  const r = v.reduction!;
  return r.input === undefined && r.target === undefined && r.axis === undefined && v.nOut === 1;
}

/**
 * A positional call of a whole reduction (`isWholeValue`) whose arrays all
 * go by address, as `callAddressed` checks them, the result written to the
 * reductions' one-element scratch (by its address); undefined, having run
 * nothing, when anything else holds, for the by-name checks to take the call.
 */
function callReducedAddressed(
  k: Positional,
  v: Variant,
  args: ArrayLike<unknown>,
): Reduced | undefined {
  const r = v.reduction!, meta = v.meta, count = k.slotArg.length;
  const n = writeAddresses(k, v, args, undefined, 1, -1);
  if (n <= 0 || k.scalarArg.length > 0 && !writeScalars(k, v, args)) return undefined;
  meta[0] = n;
  meta[1] = 1;
  for (let s = 1; s < count; s++) meta[1 + s] = n;
  reduceAt(v, native().byAddress!, count);
  return reducedValue(resultScratch(r.resultDtype), [], r.resultDtype);
}

/**
 * Runs a whole reduction to a value by address, its inputs' addresses
 * written after its meta, the result into the scratch of its dtype.
 */
function reduceAt(v: Variant, byAddress: ByAddress, count: number): void {
  const r = v.reduction!;
  v.meta[v.metaLength] = resultAddress(byAddress, r.resultDtype);
  byAddress.runReduceAt(v.handle, getNumThreads(), r.code, v.metaAt, v.metaLength, count);
}

/**
 * What positional calls know of an array they have met: its `arrayTag`, and
 * its address for a run by address (`NativeBinding.byAddress`). An array met
 * once is `MET`, and the next call that meets it takes its address: a hot
 * loop's arrays go by address from its third call, while a new array every
 * call never pays for one (`Deno.UnsafePointer.of`, ~0.2 µs). An array that
 * has no address (empty, or over a resizable buffer) is `NO_ADDRESS`.
 */
interface Known {
  readonly tag: string | undefined;
  readonly address: number;
}
const MET: Known = { tag: undefined, address: 0 };
const NO_ADDRESS: Known = { tag: undefined, address: 0 };
/** Weak: knowing an array never keeps it alive. */
const known = new WeakMap<object, Known>();

/** After a run by value: records the arrays met, and the addresses of those met before. */
function learn(byAddress: ByAddress, arrays: readonly NumericArray[], from: number): void {
  for (let s = from; s < arrays.length; s++) {
    const a = arrays[s], seen = known.get(a);
    if (seen === undefined) known.set(a, MET);
    else if (seen === MET) {
      const address = byAddress.address(a);
      known.set(a, address === 0 ? NO_ADDRESS : { tag: arrayTag(a), address });
    }
  }
}

/**
 * A positional call of a variant without a reduction whose arrays all go by
 * address: each array must be known with an address and the slot's type
 * (its length, read from its internal slot, is then the run's, and nonzero:
 * none was detached since), and each scalar a number, bigint or boolean.
 * Writes the addresses after the variant's meta and runs; returns false,
 * having run nothing, when anything else holds (or the VM refuses an
 * overlap before writing), for `callDirect` to take the call.
 */
function callAddressed(
  k: Positional,
  v: Variant,
  args: ArrayLike<unknown>,
  out: NumericArray | undefined,
): boolean {
  const meta = v.meta, count = k.slotArg.length;
  let n = -1;
  if (out !== undefined) {
    const seen = known.get(out);
    if (seen === undefined || seen.tag !== k.slotTag[0]) return false;
    n = arrayLength(out);
    meta[v.metaLength] = seen.address;
  }
  n = writeAddresses(k, v, args, out, out === undefined ? 0 : 1, n);
  if (n <= 0 || k.scalarArg.length > 0 && !writeScalars(k, v, args)) return false;
  meta[0] = n;
  for (let s = 0; s < count; s++) meta[1 + s] = n;
  // Apart, so that what precedes stays small enough for V8 to optimize whole.
  return runAddressed(v, count);
}

/**
 * Writes the addresses of a positional call's arrays in slots `from` on
 * after the variant's meta: each must be known with an address and its
 * slot's type, and have length `n` (if `n < 0`, the first's). `out` (the
 * result's array, whose address is written for slot 0) as an input of its
 * type is checked already. Returns their length, or -1 if any is otherwise.
 */
function writeAddresses(
  k: Positional,
  v: Variant,
  args: ArrayLike<unknown>,
  out: NumericArray | undefined,
  from: number,
  n: number,
): number {
  const meta = v.meta, at = v.metaLength, slotArg = k.slotArg, slotTag = k.slotTag;
  for (let s = from; s < slotArg.length; s++) {
    const a = args[slotArg[s]] as NumericArray;
    if (out !== undefined && a === out && slotTag[s] === slotTag[0]) {
      meta[at + s] = meta[at];
      continue;
    }
    const seen = known.get(a);
    if (seen === undefined || seen.tag !== slotTag[s]) return -1;
    const length = arrayLength(a);
    if (n < 0) n = length;
    else if (length !== n) return -1;
    meta[at + s] = seen.address;
  }
  return n;
}

/** Writes a positional call's scalars into the variant's meta; false if one is not a scalar. */
function writeScalars(k: Positional, v: Variant, args: ArrayLike<unknown>): boolean {
  const scalarArg = k.scalarArg, base = 1 + k.slotArg.length;
  for (let s = 0; s < scalarArg.length; s++) {
    const a = args[scalarArg[s]];
    if (typeof a !== "number" && typeof a !== "bigint" && typeof a !== "boolean") return false;
    writeScalar(v, base + s, s, a, v.names);
  }
  return true;
}

/** Runs a variant by the addresses written after its meta; false if the VM refused an overlap. */
function runAddressed(v: Variant, count: number): boolean {
  try {
    native().byAddress!.runAt(v.handle, getNumThreads(), v.metaAt, v.metaLength, count);
  } catch (e) {
    if (!isOverlapError(e)) throw e;
    return false;
  }
  return true;
}

/**
 * A positional call of a variant without a reduction, checked and run slot
 * by slot by value: each array's type and length are read from its internal
 * slots (`arrayTag`, `arrayLength`), so what passes is what the VM is told.
 * Anything else (another type, unequal lengths, a detached array, an overlap
 * the VM refuses before writing) goes by name, which checks everything,
 * names the fault or resolves the overlap, and rebinds. Where runs can go by
 * address, records the arrays met (`learn`).
 */
function callDirect(
  k: Positional,
  v: Variant,
  args: ArrayLike<unknown>,
  out: NumericArray | undefined,
  into: boolean,
): NumericArray | NdArray | Reduced | undefined {
  const meta = v.meta, slotArg = k.slotArg, slotTag = k.slotTag, count = slotArg.length;
  const hasResult = v.resultDtype !== undefined;
  // The arrays in a list of their own (nothing to clear after the run).
  const arrays: NumericArray[] = new Array(count);
  let n = -1;
  if (into) {
    if (!hasResult || arrayTag(out) !== slotTag[0]) return callByName(k, args, out, into);
    n = arrayLength(out!);
  }
  // Scalars first: writing one may throw (an integer out of range) before any array is held.
  if (!writeScalars(k, v, args)) return callByName(k, args, out, into);
  for (let s = hasResult ? 1 : 0; s < count; s++) {
    const a = args[slotArg[s]] as NumericArray;
    // `out` itself as an input of its type (an update in place) is checked already.
    if (!into || a !== out || slotTag[s] !== slotTag[0]) {
      if (arrayTag(a) !== slotTag[s]) return callByName(k, args, out, into);
      const length = arrayLength(a);
      if (n < 0) n = length;
      else if (length !== n) return callByName(k, args, out, into);
    }
    arrays[s] = a;
  }
  meta[0] = n < 0 ? 1 : n;
  for (let s = 0; s < count; s++) meta[1 + s] = meta[0];
  if (n === 0 && (into && isDetached(out!) || arrays.some(isDetached))) {
    return callByName(k, args, out, into);
  }
  if (hasResult) arrays[0] = out = into ? out! : fresh(v.resultDtype!, meta[0]);
  const binding = native();
  try {
    binding.run(v.handle, runThreads(v, hasResult && !into ? out : undefined), meta, arrays);
  } catch (e) {
    if (!isOverlapError(e)) throw e;
    return callByName(k, args, out, into);
  }
  // An empty array never has an address.
  if (binding.byAddress !== undefined && n > 0) {
    learn(binding.byAddress, arrays, into || !hasResult ? 0 : 1);
  }
  return out;
}

/** A positional call through `variantFor`, with its checks and messages; binds the variant. */
function callByName(
  k: Positional,
  args: ArrayLike<unknown>,
  out: NumericArray | undefined,
  into: boolean,
): NumericArray | NdArray | Reduced | undefined {
  const params = k.params;
  if (args.length !== params.length) {
    throw new TypeError(
      `Kernel takes ${params.length} argument${params.length === 1 ? "" : "s"} (${
        params.join(", ")
      }): got ${args.length}`,
    );
  }
  if (into && !ArrayBuffer.isView(out)) {
    throw new TypeError(`Argument 'out' of callInto must be a typed array: got ${describe(out)}`);
  }
  const variables: Record<string, unknown> = Object.create(null);
  for (let i = 0; i < params.length; i++) {
    const a = args[i];
    // A Uint8Array declared bool is a mask; by name, it would need { data, dtype: "bool" }.
    variables[params[i]] = k.declared[params[i]] === "bool" && a instanceof Uint8Array
      ? { data: a, dtype: "bool" }
      : a;
  }
  const entry = entryFor(k.expression);
  if (entry.plan !== undefined) {
    // Phases run by name, one after another: nothing to bind.
    return runPhases(entry, variables as Variables, into ? { out } : undefined, k.declared);
  }
  const plain = variantFor(
    k.expression,
    entry,
    variables as Variables,
    k.declared,
    undefined,
    "same_kind",
  );
  if (into && plain.reduction !== undefined) throw reductionOut(plain.reduction);
  if (into && plain.resultDtype === undefined) {
    throw new TypeError(
      "Kernel.callInto is not allowed: the program ends with an assignment, so it has no result; use call",
    );
  }
  bind(k, plain);
  const v = into
    ? variantFor(k.expression, entry, variables as Variables, k.declared, out, "same_kind")
    : plain;
  return dispatch(v, out, undefined);
}

async function runAsync(
  expression: string,
  variables: Variables,
  options: EvaluateOptions | undefined,
  declared?: Readonly<Record<string, DType>>,
): Promise<NumericArray | NdArray | Reduced | undefined> {
  const entry = entryFor(expression);
  if (entry.plan !== undefined) return runPhasesAsync(entry, variables, options, declared);
  const given = options?.out;
  const shaped = given === undefined || ArrayBuffer.isView(given) ? undefined : ndOut(given);
  const out = shaped === undefined ? given as NumericArray | undefined : shaped.data;
  const casting = options?.casting ?? "same_kind";
  const v = variantFor(expression, entry, variables, declared, out, casting);
  if (v.reduction !== undefined) return runReductionAsync(v);
  if (ndCall || shaped !== undefined) {
    const nd = prepareNd(v, v.names, shaped ?? out, true);
    const ndArgs = v.args.slice();
    release(v);
    await native().runNdAsync(v.handle, getNumThreads(), v.meta, nd.geometry, ndArgs);
    return nd.result;
  }
  const result = prepare(v, v.names, out);
  resolveOverlaps(v, v.names);
  const args = v.args.slice();
  release(v);
  await native().runAsync(v.handle, getNumThreads(), v.meta, args);
  return result;
}

/**
 * Evaluates an array expression element by element, in one pass over memory.
 *
 * Variables are typed arrays of any numeric dtype (Int8Array … BigUint64Array,
 * Float16Array where the runtime has it, Float32Array, Float64Array;
 * `{ data: Uint8Array, dtype: "bool" }` for a mask) of equal length, or JS
 * scalars. Returns a new array of the result's dtype (bool as a
 * Uint8Array of 0/1), or writes into `options.out` and returns it.
 *
 * A variable may be an N-d view, `{ data, shape, strides?, offset? }`
 * (strides in elements, row-major by default); shapes broadcast by NumPy's
 * rules, and the result is then an `NdArray`, `{ data, shape }`, with its
 * data contiguous and row-major (`out` may be one too).
 *
 * The expression may be a program: statements `name = expr` separated by
 * newlines or `;`, all run in one pass. An assigned name that is passed in
 * (an array) is written in place, its value cast to the array's dtype
 * (`same_kind`); one not passed in is a temporary. A read after an
 * assignment sees the new value. The result is the last statement's value
 * when it is an expression; a program ending with an assignment returns
 * `undefined` (and `options.out` is then a TypeError).
 *
 * The last statement may be a reduction (`sum prod min max mean any all
 * count_nonzero`, whole or `axis=k`): its value is a JS scalar (a bigint
 * for int64 and uint64, a boolean for `any`/`all`), or `{ data, shape }`
 * along an axis of an N-d array; `s = sum(x, axis=0)` writes an array `s`.
 * An earlier statement may assign one (`m = mean(x); x - m`): the program
 * then runs in phases, a pass up to each such reduction, whose value the
 * later statements read as a strongly typed scalar (or the reduced array).
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
 * evaluate("sum(p * g)", { p, g }); // a number
 * const grid = { data: new Float32Array(6), shape: [2, 3] };
 * evaluate("grid + p", { grid, p }); // { data: Float32Array(6), shape: [2, 3] }
 * ```
 */
export function evaluate<
  E extends string,
  V extends Variables,
  O extends EvaluateOptions | undefined = undefined,
>(
  expression: E,
  variables: V,
  options?: O,
): ResultOf<E, V, O> {
  return run(expression, variables, options) as ResultOf<E, V, O>;
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
export function evaluateAsync<
  E extends string,
  V extends Variables,
  O extends EvaluateOptions | undefined = undefined,
>(
  expression: E,
  variables: V,
  options?: O,
): Promise<ResultOf<E, V, O>> {
  return runAsync(expression, variables, options) as Promise<ResultOf<E, V, O>>;
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

/**
 * Compiles an expression for a signature: its one program, or the program
 * of each of its phases with the name its reduction's value is bound to.
 */
function compileForSignature(
  expression: string,
  declared: Record<string, DType>,
): { readonly program: CompiledProgram; readonly binds: string | undefined }[] {
  const entry = entryFor(expression);
  const plan = entry.plan;
  const vars: Record<string, VarSpec> = Object.create(null);
  for (const name in declared) vars[name] = { kind: "array", dtype: declared[name] };
  if (plan === undefined) return [{ program: compileProgram(expression, vars), binds: undefined }];
  const runs = phaseRuns<VarSpec>(plan, (name) => Object.hasOwn(declared, name));
  const compiled = [];
  for (let next = runs.next();;) {
    const { source, binds, bound } = next.value;
    const own = Object.assign(Object.create(null), vars, Object.fromEntries(bound));
    const program = inPhase(entry, source, () => compileProgram(source, own));
    compiled.push({ program, binds });
    if (next.done) return compiled;
    const r = program.reduction!;
    next = runs.next({ kind: r.axis === undefined ? "scalar" : "array", dtype: r.resultDtype });
  }
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
export function compile<E extends string, const S extends Signature>(
  expression: E,
  signature: S,
): Kernel<ResultOf<E>, S> {
  const declared = checkSignature(signature);
  compileForSignature(expression, declared);
  const frozen = Object.freeze({ ...declared }) as Readonly<S>;
  const params = Object.freeze(Object.keys(frozen)) as readonly (keyof S & string)[];
  const positional: Positional = {
    expression,
    declared: frozen,
    params,
    variant: undefined,
    position: new Int32Array(0),
    tags: [],
    slotArg: new Int32Array(0),
    slotTag: [],
    scalarArg: new Int32Array(0),
  };
  return {
    expression,
    signature: frozen,
    params,
    run: <V extends Variables, O extends EvaluateOptions | undefined>(variables: V, options?: O) =>
      run(expression, variables, options, frozen) as WithShapes<ResultOf<E>, V, O>,
    runAsync: <V extends Variables, O extends EvaluateOptions | undefined>(
      variables: V,
      options?: O,
    ) => runAsync(expression, variables, options, frozen) as Promise<WithShapes<ResultOf<E>, V, O>>,
    call: (...args) =>
      callPositional(positional, args as ArrayLike<unknown>, undefined, false) as ResultOf<E>,
    callInto: (out, ...args) =>
      callPositional(positional, args as ArrayLike<unknown>, out, true) as NumericArray,
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
  const phases = compileForSignature(expression, checkSignature(signature));
  return phases.map(({ program, binds }, i) => {
    const listing = phases.length === 1 ? [] : [`phase ${i + 1} of ${phases.length}`];
    if (program.code.length > 0) listing.push(disassembleCode(program.code));
    const r = program.reduction;
    if (r !== undefined) {
      listing.push(describeReduction(r) + (binds === undefined ? "" : ` as '${binds}'`));
    }
    return listing.join("\n");
  }).join("\n");
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
    const entry = entryFor(expression);
    if (entry.plan === undefined) check(expression, entry, variables, options, undefined);
    else checkPhaseSteps(entry, snapshot(entry, variables), options, undefined);
    return undefined;
  } catch (e) {
    if (e instanceof Error) return e;
    throw e;
  }
}

/**
 * Checks a call as `validate` does; for a program ending with a reduction
 * not assigned to an array, returns a stand-in for its value (of its dtype
 * and shape), for the checks of a later phase.
 */
function check(
  expression: string,
  entry: Entry,
  variables: Variables,
  options: EvaluateOptions | undefined,
  declared: Readonly<Record<string, DType>> | undefined,
): Bound | undefined {
  const given = options?.out;
  const shaped = given === undefined || ArrayBuffer.isView(given) ? undefined : ndOut(given);
  const out = shaped === undefined ? given as NumericArray | undefined : shaped.data;
  const casting = options?.casting ?? "same_kind";
  const v = variantFor(expression, entry, variables, declared, out, casting);
  try {
    const r = v.reduction;
    if (r !== undefined) {
      const job = prepareReduction(v, false);
      if (job.geometry === undefined) resolveOverlaps(v, v.names);
      if (r.target !== undefined) return undefined;
      if (job.shape.length === 0) return new Strong(0, r.resultDtype);
      // One element, broadcast: the shape without the memory.
      const data = allocArray(r.resultDtype, 1);
      const strides = job.shape.map(() => 0);
      return {
        data,
        shape: job.shape,
        strides,
        dtype: r.resultDtype === "bool" ? "bool" : undefined,
      };
    }
    if (ndCall || shaped !== undefined) prepareNd(v, v.names, shaped ?? out, false);
    else {
      prepare(v, v.names, out, false);
      resolveOverlaps(v, v.names);
    }
    return undefined;
  } finally {
    release(v);
  }
}

// ---- Phases: a program with reductions before its last statement (src/phases.ts) ----

/** What a phase binds to its reduction's name: a strong scalar, or the reduced array. */
type Bound = Strong | ArrayOperand;

/** A phase to run: its source (with the program's offsets) and variables. */
interface PhaseStep {
  readonly source: string;
  readonly variables: Variables;
}

/** The variables of a call that its program names, each read once. */
function snapshot(entry: Entry, variables: Variables): Variables {
  checkVariables(variables);
  const given: Record<string, unknown> = Object.create(null);
  for (const name of entry.names) if (Object.hasOwn(variables, name)) given[name] = variables[name];
  return given as Variables;
}

/**
 * The phases of a call, one at a time: yields each phase but the last,
 * with its variables (the call's and the values earlier phases bound), and
 * takes back the value of the reduction that ends it; returns the last
 * phase. Checks the names of every phase first.
 */
function* phaseSteps(
  entry: Entry,
  given: Variables,
  declared: Readonly<Record<string, DType>> | undefined,
): Generator<PhaseStep, PhaseStep, Bound | undefined> {
  const runs = phaseRuns<Bound>(entry.plan!, (name) => Object.hasOwn(declared ?? given, name));
  const stepOf = (run: PhaseRun<Bound>): PhaseStep => ({
    source: run.source,
    variables: Object.assign(Object.create(null), given, Object.fromEntries(run.bound)),
  });
  let next = runs.next();
  while (!next.done) next = runs.next(yield stepOf(next.value));
  return stepOf(next.value);
}

/** Runs `f` for a phase; its `ExpressionError` is shown in the program as written. */
function inPhase<T>(entry: Entry, phase: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw e instanceof ExpressionError && e.source === phase ? e.in(entry.plan!.source) : e;
  }
}

/** Checks every phase of a call as `validate` does, with stand-ins for the values bound. */
function checkPhaseSteps(
  entry: Entry,
  given: Variables,
  options: EvaluateOptions | undefined,
  declared: Readonly<Record<string, DType>> | undefined,
): void {
  const steps = phaseSteps(entry, given, declared);
  let step = steps.next();
  while (!step.done) {
    const { source, variables } = step.value;
    step = steps.next(
      inPhase(entry, source, () => check(source, entryFor(source), variables, undefined, declared)),
    );
  }
  const last = step.value;
  inPhase(
    entry,
    last.source,
    () => check(last.source, entryFor(last.source), last.variables, options, declared),
  );
}

/** The value of the reduction ending a phase, to bind (undefined when it was written to an array). */
function bound(v: Variant, value: Reduced | undefined): Bound | undefined {
  if (value === undefined) return undefined;
  return typeof value === "object" ? value : new Strong(value, v.reduction!.resultDtype);
}

/** The phases of a call, all checked before the first is yielded (so an error in any writes nothing). */
function checkedSteps(
  entry: Entry,
  variables: Variables,
  options: EvaluateOptions | undefined,
  declared: Readonly<Record<string, DType>> | undefined,
): Generator<PhaseStep, PhaseStep, Bound | undefined> {
  const given = snapshot(entry, variables);
  checkPhaseSteps(entry, given, options, declared);
  return phaseSteps(entry, given, declared);
}

/** The variant of a phase that ends with a reduction. */
function phaseVariant(step: PhaseStep, declared: Readonly<Record<string, DType>> | undefined) {
  return variantFor(
    step.source,
    entryFor(step.source),
    step.variables,
    declared,
    undefined,
    "same_kind",
  );
}

/** Runs a program's phases one after another; the last takes the call's options. */
function runPhases(
  entry: Entry,
  variables: Variables,
  options: EvaluateOptions | undefined,
  declared: Readonly<Record<string, DType>> | undefined,
): NumericArray | NdArray | Reduced | undefined {
  const steps = checkedSteps(entry, variables, options, declared);
  let step = steps.next();
  while (!step.done) {
    const v = phaseVariant(step.value, declared);
    step = steps.next(bound(v, runReduction(v)));
  }
  return run(step.value.source, step.value.variables, options, declared);
}

/** As `runPhases`, each phase off the JS thread. */
async function runPhasesAsync(
  entry: Entry,
  variables: Variables,
  options: EvaluateOptions | undefined,
  declared: Readonly<Record<string, DType>> | undefined,
): Promise<NumericArray | NdArray | Reduced | undefined> {
  const steps = checkedSteps(entry, variables, options, declared);
  let step = steps.next();
  while (!step.done) {
    const v = phaseVariant(step.value, declared);
    step = steps.next(bound(v, await runReductionAsync(v)));
  }
  return await runAsync(step.value.source, step.value.variables, options, declared);
}

// ---- Reductions: a reduction statement ends the program (src/reduce.ts) ----

function reductionOut(r: CompiledReduction): TypeError {
  return new TypeError(
    `Option 'out' is not allowed with a reduction: assign it to an array passed in instead, as in s = ${r.name}(x, axis=0)`,
  );
}

/** NumPy's `normalize_axis_index`: `axis` in `[-ndim, ndim)`, as an index. */
function normalizeAxis(axis: number | undefined, ndim: number): number | undefined {
  if (axis === undefined) return undefined;
  if (axis < -ndim || axis >= ndim) {
    throw new RangeError(`axis ${axis} is out of bounds for array of dimension ${ndim}`);
  }
  return axis < 0 ? axis + ndim : axis;
}

/**
 * Prepares a run of a program that ends with a reduction: the element-wise
 * program's arguments (when it has one) in `v.args` and `v.meta`, and the
 * checks of the axis, the target and empty min/max. Returns what to call
 * once the element-wise program has run (or, fused, instead of it).
 *
 * The array reduced is the variable itself (its N-d view, strided or not)
 * when the program is only a reduction of an array variable. Else, a whole
 * reduction (or along the axis of a 1-D call) of a program with no other
 * output is fused: the VM computes the argument chunk by chunk and reduces
 * it as it goes, never storing it. Otherwise the argument is the
 * element-wise result: a new contiguous array of the broadcast shape, which
 * an N-d call computes with `geometry`.
 */
function prepareReduction(v: Variant, allocate: boolean): ReductionJob {
  const r = v.reduction!;
  const names = v.names;
  const fused = r.input === undefined && v.nOut === 1 && (r.axis === undefined || !ndCall);
  let input: NumericArray;
  let view: StridedView;
  let geometry: Float64Array | undefined;
  if (r.input !== undefined) {
    const index = names.indexOf(r.input);
    input = scratchValues[index] as NumericArray;
    if (input.length === 0 && isDetached(input)) throw detached(`Variable '${r.input}'`);
    const given = scratchGeometry[index];
    view = given !== undefined && given.call === callCount ? given : flatView(arrayLength(input));
  } else if (ndCall) {
    const nd = prepareNd(v, names, undefined, allocate && !fused);
    input = nd.result!.data;
    view = contiguousView(nd.result!.shape, v.meta[0]);
    geometry = nd.geometry;
  } else {
    input = prepare(v, names, undefined, allocate && !fused)!;
    view = flatView(v.meta[0]);
  }
  let target: NumericArray | undefined;
  if (r.target !== undefined) {
    target = scratchValues[names.indexOf(r.target.name)] as NumericArray;
    if (target.length === 0 && isDetached(target)) {
      throw detached(`Variable '${r.target.name}'`);
    }
  }
  const axis = normalizeAxis(r.axis, view.shape.length);
  const shape = axis === undefined ? [] : view.shape.filter((_, d) => d !== axis);
  const count = elements(shape);
  const reduced = axis === undefined ? elements(view.shape) : view.shape[axis];
  if (reduced === 0 && count > 0) checkIdentity(r.name);
  if (target !== undefined && arrayLength(target) !== count) {
    throw new RangeError(
      `Variable '${r.target!.name}' has ${
        arrayLength(target)
      } elements; ${r.name}() gives ${count} (shape [${shape}])`,
    );
  }
  const direct = target !== undefined && r.target!.dtype === r.resultDtype;
  const start = () => {
    const out = direct ? target! : allocArray(r.resultDtype, count);
    // A variable reduced in place may share memory with the array written.
    return { out, data: direct && overlaps(input, out) ? input.slice() : input };
  };
  const end = (out: NumericArray) => {
    if (target === undefined) return reducedValue(out, shape, r.resultDtype);
    if (!direct) castInto(out, r.resultDtype, target);
    return undefined;
  };
  if (fused) {
    // The run's own meta and arrays, the one-element result in the output's slot.
    v.meta[1] = 1;
    return {
      geometry,
      fused,
      shape,
      finish(args) {
        // Read at once: a result array of the dtype serves every synchronous call.
        const o = args[0] = direct ? target! : resultScratch(r.resultDtype);
        runFused(v, args, !direct, geometry);
        return end(o);
      },
      async finishAsync(args) {
        const o = args[0] = direct ? target! : allocArray(r.resultDtype, 1);
        await native().runReduceAsync(v.handle, getNumThreads(), r.code, v.meta, geometry, args);
        return end(o);
      },
    };
  }
  return {
    geometry,
    fused,
    shape,
    finish() {
      const { data, out } = start();
      native().reduce(r.code, r.dtype, data, view, axis, out, getNumThreads());
      return end(out);
    },
    async finishAsync() {
      const { data, out } = start();
      await native().reduceAsync(r.code, r.dtype, data, view, axis, out, getNumThreads());
      return end(out);
    },
  };
}

/** The reduction step of a run, once the element-wise program has run. */
interface ReductionJob {
  /** The element-wise program's N-d geometry, when the call is N-d. */
  readonly geometry: Float64Array | undefined;
  /** Whether the reduction runs the element-wise program itself (fused): then nothing runs before it. */
  readonly fused: boolean;
  /** The shape of the reduction's value (`[]` for a scalar). */
  readonly shape: readonly number[];
  /**
   * Reduces on this thread, given the element-wise program's arrays
   * (outputs first; fused, the output's slot is overwritten); returns the
   * value (undefined when it is assigned to an array).
   */
  finish(args: NumericArray[]): Reduced | undefined;
  /** As `finish`, off the JS thread. */
  finishAsync(args: NumericArray[]): Promise<Reduced | undefined>;
}

const resultScratches = new Map<DType, NumericArray>();

/** A one-element array of `dtype` for results read as soon as they are written (reused). */
function resultScratch(dtype: DType): NumericArray {
  let scratch = resultScratches.get(dtype);
  if (scratch === undefined) resultScratches.set(dtype, scratch = allocArray(dtype, 1));
  return scratch;
}

/** The addresses of the reductions' result scratches, by dtype, each taken once. */
const resultAddresses = new Map<DType, number>();

function resultAddress(byAddress: ByAddress, dtype: DType): number {
  let address = resultAddresses.get(dtype);
  if (address === undefined) {
    resultAddresses.set(dtype, address = byAddress.address(resultScratch(dtype)));
  }
  return address;
}

/**
 * Writes `from` (of `dtype`) into `to` through the VM's cast, NumPy's
 * conversion (the reduction's compiler checked it is `same_kind`). Runs
 * after the call's own run: the call state it reuses is no longer needed.
 */
function castInto(from: NumericArray, dtype: DType, to: NumericArray): void {
  run("x", { x: { data: from, dtype } }, { out: to });
}

/** A reduction's value as JS: a scalar when no axis is left, else data and shape. */
function reducedValue(out: NumericArray, shape: readonly number[], dtype: DType): Reduced {
  if (shape.length > 0) {
    return dtype === "bool" ? { data: out, shape, dtype } : { data: out, shape };
  }
  const x = out[0];
  return dtype === "bool" ? x !== 0 : x;
}

/** NumPy's error for a min or max over no elements, which have no identity. */
function checkIdentity(name: string): void {
  if (name === "min" || name === "max") {
    throw new RangeError(
      `zero-size array to reduction operation ${
        name === "min" ? "minimum" : "maximum"
      } which has no identity`,
    );
  }
}

/**
 * Runs a fused reduction's program, its result array in `args[0]`: by
 * address when the arrays are all known (a 1-D run into the result
 * scratch, `scratch`), else by value, learning them.
 */
function runFused(
  v: Variant,
  args: NumericArray[],
  scratch: boolean,
  geometry: Float64Array | undefined,
): void {
  const r = v.reduction!;
  const byAddress = v.metaAt === undefined || geometry !== undefined
    ? undefined
    : native().byAddress;
  if (byAddress === undefined || v.meta[0] === 0) {
    native().runReduce(v.handle, getNumThreads(), r.code, v.meta, geometry, args);
  } else if (scratch && writeKnown(v, 1)) {
    reduceAt(v, byAddress, args.length);
  } else {
    native().runReduce(v.handle, getNumThreads(), r.code, v.meta, geometry, args);
    learn(byAddress, args, 1);
  }
}

/**
 * A whole reduction of a 1-D call to a value (`isWholeValue`): the program
 * run and reduced in one run into the result scratch, with none of a
 * general reduction's planning.
 */
function runWholeValue(v: Variant): Reduced {
  const r = v.reduction!;
  try {
    prepare(v, v.names, undefined, false);
    if (v.meta[0] === 0) checkIdentity(r.name);
    v.meta[1] = 1;
    const o = v.args[0] = resultScratch(r.resultDtype);
    runFused(v, v.args, true, undefined);
    return reducedValue(o, [], r.resultDtype);
  } finally {
    release(v);
  }
}

function runReduction(v: Variant): Reduced | undefined {
  if (!ndCall && isWholeValue(v)) return runWholeValue(v);
  try {
    const job = prepareReduction(v, true);
    if (job.fused) return job.finish(v.args);
    if (job.geometry !== undefined) {
      native().runNd(v.handle, getNumThreads(), v.meta, job.geometry, v.args);
    } else if (v.handle !== 0) runChecked(v, getNumThreads());
    return job.finish(v.args);
  } finally {
    release(v);
  }
}

async function runReductionAsync(v: Variant): Promise<Reduced | undefined> {
  let job: ReductionJob;
  let args: NumericArray[];
  try {
    job = prepareReduction(v, true);
    if (!job.fused && job.geometry === undefined && v.handle !== 0) resolveOverlaps(v, v.names);
    args = v.args.slice();
  } finally {
    release(v);
  }
  if (job.fused) return await job.finishAsync(args);
  if (job.geometry !== undefined) {
    await native().runNdAsync(v.handle, getNumThreads(), v.meta, job.geometry, args);
  } else if (v.handle !== 0) await native().runAsync(v.handle, getNumThreads(), v.meta, args);
  return await job.finishAsync(args);
}
