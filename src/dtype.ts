/**
 * Data types: their codes in bytecode, their one-letter signature codes, their
 * sizes, the TypedArray each maps to, and NumPy 2 type promotion.
 *
 * @module
 */

/** Every element type numfuse knows, in bytecode code order (code = index). */
export const DTYPES = [
  "bool",
  "int8",
  "uint8",
  "int16",
  "uint16",
  "int32",
  "uint32",
  "int64",
  "uint64",
  "float16",
  "float32",
  "float64",
] as const;

/** An element type. */
export type DType = typeof DTYPES[number];

/** One letter per dtype, used in opcode names (`add_fff`, `where_bdd`). */
export const DTYPE_CHAR: Readonly<Record<DType, string>> = {
  bool: "b",
  int8: "c",
  uint8: "B",
  int16: "h",
  uint16: "H",
  int32: "i",
  uint32: "I",
  int64: "l",
  uint64: "L",
  float16: "e",
  float32: "f",
  float64: "d",
};

/** Bytes per element. */
export const DTYPE_SIZE: Readonly<Record<DType, number>> = {
  bool: 1,
  int8: 1,
  uint8: 1,
  int16: 2,
  uint16: 2,
  int32: 4,
  uint32: 4,
  int64: 8,
  uint64: 8,
  float16: 2,
  float32: 4,
  float64: 8,
};

const CODES: Readonly<Record<DType, number>> = Object.fromEntries(
  DTYPES.map((d, i) => [d, i]),
) as Record<DType, number>;

/** The bytecode code of a dtype. */
export function dtypeCode(dtype: DType): number {
  return CODES[dtype];
}

/** Whether `name` is a dtype name. */
export function isDType(name: unknown): name is DType {
  return typeof name === "string" && (DTYPES as readonly string[]).includes(name);
}

/** The dtype class, as NumPy's `kind`: b(ool), i(nt), u(nsigned), f(loat). */
export function dtypeKind(dtype: DType): "b" | "i" | "u" | "f" {
  if (dtype === "bool") return "b";
  if (dtype.startsWith("float")) return "f";
  return dtype.startsWith("u") ? "u" : "i";
}

/** Bits of an integer or float dtype (bool counts as 1). */
function bits(dtype: DType): number {
  return dtype === "bool" ? 1 : DTYPE_SIZE[dtype] * 8;
}

function intOf(signed: boolean, nbits: number): DType {
  const name = `${signed ? "" : "u"}int${nbits}`;
  return name as DType;
}

function floatOf(nbits: number): DType {
  return `float${nbits}` as DType;
}

/** The smallest float that holds every value of an integer dtype exactly, as NumPy promotes. */
function floatForInt(dtype: DType): number {
  const b = bits(dtype);
  return b <= 8 ? 16 : b <= 16 ? 32 : 64;
}

/**
 * NumPy 2's `result_type` of two dtypes (both strongly typed).
 *
 * @example
 * ```ts
 * import { promote } from "./dtype.ts";
 * promote("int32", "float32"); // "float64"
 * ```
 */
export function promote(a: DType, b: DType): DType {
  if (a === b) return a;
  const ka = dtypeKind(a), kb = dtypeKind(b);
  if (ka === "b") return b;
  if (kb === "b") return a;
  if (ka === "f" || kb === "f") {
    const fa = ka === "f" ? bits(a) : floatForInt(a);
    const fb = kb === "f" ? bits(b) : floatForInt(b);
    return floatOf(Math.max(fa, fb));
  }
  if (ka === kb) return intOf(ka === "i", Math.max(bits(a), bits(b)));
  const [s, u] = ka === "i" ? [a, b] : [b, a];
  if (bits(u) < bits(s)) return s;
  return bits(u) >= 64 ? "float64" : intOf(true, bits(u) * 2);
}

/** The kinds of weakly typed values (NEP 50): JS numbers, bigints and literals. */
export type WeakKind = "int" | "float";

/**
 * NumPy 2 promotion of a weak scalar (a JS number or a literal) with a dtype:
 * the dtype wins unless the scalar's kind is higher (a float scalar with an
 * integer array gives float64).
 */
export function promoteWeak(dtype: DType, weak: WeakKind): DType {
  const k = dtypeKind(dtype);
  if (weak === "float") return k === "f" ? dtype : "float64";
  return k === "b" ? "int64" : dtype;
}

/** The dtype a weak scalar takes when nothing else decides (Python int → int64, float → float64). */
export function defaultDtype(weak: WeakKind): DType {
  return weak === "int" ? "int64" : "float64";
}

/** Range of an integer dtype, as bigints. */
export function intRange(dtype: DType): [bigint, bigint] {
  const b = BigInt(bits(dtype));
  return dtypeKind(dtype) === "u"
    ? [0n, (1n << b) - 1n]
    : [-(1n << (b - 1n)), (1n << (b - 1n)) - 1n];
}

/** Any TypedArray numfuse reads or writes. */
export type NumericArray =
  | Uint8Array
  | Int8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

/** The runtime's `Float16Array` constructor, where it has one (Deno 2.9 does, Node 20 does not). */
const FLOAT16_ARRAY = (globalThis as { Float16Array?: new (n: number) => ArrayBufferView })
  .Float16Array;

/** `%TypedArray%.prototype`, whose getters read a typed array's internal slots. */
const TYPED_ARRAY_PROTOTYPE = Object.getPrototypeOf(Uint8Array.prototype) as object;

function typedArrayGetter<T>(key: PropertyKey): (this: unknown) => T {
  return Object.getOwnPropertyDescriptor(TYPED_ARRAY_PROTOTYPE, key)!.get!;
}

const TAG_GETTER = typedArrayGetter<string | undefined>(Symbol.toStringTag);
const LENGTH_GETTER = typedArrayGetter<number>("length");
const BYTE_LENGTH_GETTER = typedArrayGetter<number>("byteLength");
const BUFFER_GETTER = typedArrayGetter<ArrayBufferLike>("buffer");

/**
 * The name of a typed array's own type (`"Float32Array"`), read from its
 * internal slot, or undefined for anything else: a changed prototype or an
 * own `Symbol.toStringTag` cannot make one array pass for another type.
 */
export function arrayTag(a: unknown): string | undefined {
  return TAG_GETTER.call(a);
}

/**
 * A typed array's length in elements, read from its internal slot (an own
 * `length` property cannot change it): the lengths a run tells the VM,
 * which cannot see the arrays' sizes, come from here.
 */
export function arrayLength(a: NumericArray): number {
  return LENGTH_GETTER.call(a);
}

/** A typed array's size in bytes, read from its internal slot, as {@linkcode arrayLength}. */
export function arrayByteLength(a: NumericArray): number {
  return BYTE_LENGTH_GETTER.call(a);
}

/** A typed array's buffer, read from its internal slot, as {@linkcode arrayLength}. */
export function arrayBuffer(a: NumericArray): ArrayBufferLike {
  return BUFFER_GETTER.call(a);
}

const DTYPE_OF_TAG: Readonly<Record<string, DType>> = {
  Float64Array: "float64",
  Float32Array: "float32",
  Float16Array: "float16",
  Int32Array: "int32",
  BigInt64Array: "int64",
  Uint8Array: "uint8",
  Int8Array: "int8",
  Int16Array: "int16",
  Uint16Array: "uint16",
  Uint32Array: "uint32",
  BigUint64Array: "uint64",
};

/** The dtype of a TypedArray, or undefined for arrays numfuse does not take (Uint8ClampedArray, DataView). */
export function dtypeOfArray(a: unknown): DType | undefined {
  const tag = arrayTag(a);
  return tag === undefined ? undefined : DTYPE_OF_TAG[tag];
}

/**
 * `x` rounded to the nearest float16 value (ties to even), as a double:
 * `Math.f16round` where the runtime has it, else computed.
 */
export function f16round(x: number): number {
  const native = (Math as { f16round?: (x: number) => number }).f16round;
  if (native !== undefined) return native(x);
  if (!Number.isFinite(x) || x === 0) return x;
  const a = Math.abs(x);
  // 65520 is halfway between the largest float16, 65504, and 2^16.
  if (a >= 65520) return x < 0 ? -Infinity : Infinity;
  let e = Math.max(Math.floor(Math.log2(a)), -14);
  if (e > -14 && 2 ** e > a) e--;
  const ulp = 2 ** (e - 10);
  const q = a / ulp, f = Math.floor(q), d = q - f;
  const r = (d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f) * ulp;
  return x < 0 ? -r : r;
}

/** Allocates a TypedArray of `length` elements for a dtype (bool → Uint8Array of 0/1). */
export function allocArray(dtype: DType, length: number): NumericArray {
  switch (dtype) {
    case "bool":
    case "uint8":
      return new Uint8Array(length);
    case "int8":
      return new Int8Array(length);
    case "int16":
      return new Int16Array(length);
    case "uint16":
      return new Uint16Array(length);
    case "int32":
      return new Int32Array(length);
    case "uint32":
      return new Uint32Array(length);
    case "int64":
      return new BigInt64Array(length);
    case "uint64":
      return new BigUint64Array(length);
    case "float32":
      return new Float32Array(length);
    case "float64":
      return new Float64Array(length);
    case "float16":
      if (FLOAT16_ARRAY === undefined) {
        throw new TypeError(
          "A float16 result needs Float16Array, which this runtime does not have (Node 20 lacks it; Deno 2.9 has it)",
        );
      }
      return new FLOAT16_ARRAY(length) as unknown as NumericArray;
  }
}

/** NumPy's casting modes for writing into an `out` of another dtype. */
export type Casting = "no" | "equiv" | "safe" | "same_kind" | "unsafe";

/** Every casting mode, from strictest to loosest. */
export const CASTINGS: readonly Casting[] = ["no", "equiv", "safe", "same_kind", "unsafe"];

const KIND_RANK = { b: 0, u: 1, i: 2, f: 3 } as const;

/**
 * Whether NumPy's `can_cast(from, to, casting)` holds.
 *
 * @example
 * ```ts
 * import { canCast } from "./dtype.ts";
 * canCast("float64", "float32", "same_kind"); // true
 * canCast("float64", "int32", "same_kind"); // false
 * ```
 */
export function canCast(from: DType, to: DType, casting: Casting): boolean {
  switch (casting) {
    case "no":
    case "equiv":
      return from === to;
    case "safe":
      return promote(from, to) === to;
    case "same_kind":
      return promote(from, to) === to || KIND_RANK[dtypeKind(from)] <= KIND_RANK[dtypeKind(to)];
    case "unsafe":
      return true;
  }
}
