/**
 * A plain-TypeScript reference evaluator: the oracle the end-to-end tests
 * compare the VM against. It interprets the typed tree (before optimisation)
 * one operation at a time over whole arrays, with NumPy's semantics written
 * out independently of the Rust kernels.
 *
 * @module
 */

import assert from "node:assert/strict";
import type { TypedExpr, TypedProgram } from "../src/ast.ts";
import { ExpressionError } from "../src/errors.ts";
import {
  allocArray,
  type DType,
  DTYPE_SIZE,
  dtypeKind,
  f16round,
  type NumericArray,
} from "../src/dtype.ts";

type Value = number | bigint | boolean;
/** A node's values: one per element (scalars and constants are broadcast). */
type Column = (i: number) => Value;

const F32 = Math.fround;

/** Truncates a float through a signed integer of `bits` as x86's cvttsd2si: NaN and out of range give its minimum. */
function truncate(v: number, bits: number): bigint {
  const limit = 2 ** (bits - 1);
  return Number.isNaN(v) || v < -limit || v >= limit
    ? -(2n ** BigInt(bits - 1))
    : BigInt(Math.trunc(v));
}

/**
 * A float to an integer dtype as x86 NumPy converts: the 8-, 16- and 32-bit
 * types through int32 except uint32 (through int64), uint64 through int64
 * with 2^63 taken off first at or above it. The result is then wrapped.
 */
function floatToInt(v: number, dtype: DType): bigint {
  if (dtype === "uint64" && v >= 2 ** 63) return truncate(v - 2 ** 63, 64) + 2n ** 63n;
  return truncate(v, dtype === "uint32" || DTYPE_SIZE[dtype] === 8 ? 64 : 32);
}

/** Converts a value to `dtype` as the VM's casts do (floats to ints: C truncation as x86 NumPy, see {@linkcode floatToInt}). */
export function convert(v: Value, dtype: DType): Value {
  const kind = dtypeKind(dtype);
  if (dtype === "bool") {
    return typeof v === "boolean" ? v : typeof v === "bigint" ? v !== 0n : v !== 0;
  }
  if (kind === "f") {
    const x = typeof v === "boolean" ? (v ? 1 : 0) : Number(v);
    return dtype === "float32" ? F32(x) : dtype === "float16" ? f16round(x) : x;
  }
  const big = typeof v === "boolean"
    ? (v ? 1n : 0n)
    : typeof v === "bigint"
    ? v
    : floatToInt(v, dtype);
  const bits = DTYPE_SIZE[dtype] * 8;
  const wrapped = kind === "u" ? BigInt.asUintN(bits, big) : BigInt.asIntN(bits, big);
  return dtype === "int64" || dtype === "uint64" ? wrapped : Number(wrapped);
}

/** C's `pow`, which NumPy uses (JS's Math.pow differs at 1 ** NaN and (-1) ** ±Infinity). */
export function cPow(a: number, b: number): number {
  if (a === 1 || b === 0) return 1;
  if (a === -1 && !Number.isFinite(b) && !Number.isNaN(b)) return 1;
  return Math.pow(a, b);
}

/** NumPy's float remainder (`npy_divmod`): the sign of the divisor; JS's `%` is C's `fmod`. */
export function floatMod(a: number, b: number): number {
  const r = a % b;
  if (r === 0) return Object.is(b, -0) || b < 0 ? -0 : 0;
  return (b < 0) !== (r < 0) ? r + b : r;
}

/**
 * NumPy's float floor division (`npy_floor_divide`, through `npy_divmod`),
 * each step rounded by `round` (Math.fround for float32, as NumPy computes
 * in the dtype).
 */
export function floorDivide(a: number, b: number, round = (x: number) => x): number {
  if (b === 0) return a / b;
  const mod = a % b;
  let div = round(round(a - mod) / b);
  if (mod !== 0 && (b < 0) !== (mod < 0)) div = round(div - 1);
  if (div === 0) return (a / b < 0 || Object.is(a / b, -0)) ? -0 : 0;
  const floor = Math.floor(div);
  return div - floor > 0.5 ? floor + 1 : floor;
}

const NEXT64 = new Float64Array(1), NEXT64_BITS = new BigInt64Array(NEXT64.buffer);
const NEXT32 = new Float32Array(1), NEXT32_BITS = new Int32Array(NEXT32.buffer);

/**
 * C's nextafter in a float dtype: the next representable value after `a`
 * toward `b` (`b` when they are equal; `a` for float16, as NumPy's
 * `npy_half_nextafter`).
 */
export function nextafter(a: number, b: number, dtype: "float16" | "float32" | "float64"): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return NaN;
  if (a === b) return dtype === "float16" ? a : b;
  if (dtype === "float16") return nextafterHalf(a, b);
  if (a === 0) {
    const tiny = dtype === "float32" ? 2 ** -149 : 5e-324;
    return b > 0 ? tiny : -tiny;
  }
  const away = (b > a) === (a > 0);
  if (dtype === "float32") {
    NEXT32[0] = a;
    NEXT32_BITS[0] += away ? 1 : -1;
    return NEXT32[0];
  }
  NEXT64[0] = a;
  NEXT64_BITS[0] += away ? 1n : -1n;
  return NEXT64[0];
}

/** nextafter in float16 (`a !== b`, neither NaN), by the spacing of float16 values around `a`. */
function nextafterHalf(a: number, b: number): number {
  if (a === 0) return b > 0 ? 2 ** -24 : -(2 ** -24);
  const m = Math.abs(a), sign = a > 0 ? 1 : -1;
  if (m === Infinity) return sign * 65504;
  const e = Math.max(-14, Math.floor(Math.log2(m)));
  if ((b > a) === (a > 0)) {
    const next = m + 2 ** (e - 10);
    return sign * (next > 65504 ? Infinity : next);
  }
  // Just below a power of two (above the subnormals) the spacing halves.
  return sign * (m - (m === 2 ** e && e > -14 ? 2 ** (e - 11) : 2 ** (e - 10)));
}

/** Integer operations on exact values; the caller wraps the result to the dtype of `bits`. */
function intBinary(op: string, a: bigint, b: bigint, bits: number): bigint {
  switch (op) {
    case "floordiv": {
      if (b === 0n) return 0n;
      const q = a / b;
      return a % b !== 0n && (a < 0n) !== (b < 0n) ? q - 1n : q;
    }
    case "lshift":
      return b >= 0n && b < BigInt(bits) ? a << b : 0n;
    case "rshift":
      return b >= 0n && b < BigInt(bits) ? a >> b : a < 0n ? -1n : 0n;
    case "bitand":
      return a & b;
    case "bitor":
      return a | b;
    case "bitxor":
      return a ^ b;
    case "add":
      return a + b;
    case "sub":
      return a - b;
    case "mul":
      return a * b;
    case "mod": {
      if (b === 0n) return 0n;
      const r = a % b;
      return r !== 0n && (r < 0n) !== (b < 0n) ? r + b : r;
    }
    case "fmod":
      return b === 0n ? 0n : a % b;
    case "maximum":
      return a >= b ? a : b;
    case "minimum":
      return a <= b ? a : b;
    case "pow": {
      if (b < 0n) throw new RangeError("integers to negative integer powers are not allowed");
      let result = 1n, base = a, e = b;
      while (e > 0n) {
        if (e & 1n) result = BigInt.asIntN(64, result * base);
        base = BigInt.asIntN(64, base * base);
        e >>= 1n;
      }
      return result;
    }
  }
  throw new Error(`no integer ${op}`);
}

function floatBinary(op: string, a: number, b: number): number {
  switch (op) {
    case "add":
      return a + b;
    case "sub":
      return a - b;
    case "mul":
      return a * b;
    case "div":
      return a / b;
    case "mod":
      return floatMod(a, b);
    case "pow":
      return cPow(a, b);
    case "arctan2":
      return Math.atan2(a, b);
    case "copysign":
      return signbit(a) === signbit(b) ? a : -a;
    case "hypot":
      return hypot(a, b);
    case "fmod":
      return a % b;
    case "maximum":
      return maximum(a, b);
    case "minimum":
      return minimum(a, b);
  }
  throw new Error(`no float ${op}`);
}

const UNARY_FLOAT: Record<string, (x: number) => number> = {
  neg: (x) => -x,
  abs: Math.abs,
  sqrt: Math.sqrt,
  exp: Math.exp,
  log: Math.log,
  sin: Math.sin,
  cos: Math.cos,
  tanh: Math.tanh,
  tan: Math.tan,
  arcsin: Math.asin,
  arccos: Math.acos,
  arctan: Math.atan,
  sinh: Math.sinh,
  cosh: Math.cosh,
  arcsinh: Math.asinh,
  arccosh: Math.acosh,
  arctanh: Math.atanh,
  expm1: Math.expm1,
  log1p: Math.log1p,
  log2: Math.log2,
  log10: Math.log10,
  exp2: (x) => 2 ** x,
  ceil: Math.ceil,
  floor: Math.floor,
  trunc: Math.trunc,
  rint,
  sign: (x) => x > 0 ? 1 : x < 0 ? -1 : x === 0 ? 0 : x,
};

/** C's rint in the default rounding mode: to nearest, ties to even, -0 kept. */
export function rint(x: number): number {
  if (!Number.isFinite(x)) return x;
  const f = Math.floor(x), d = x - f;
  const r = d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
  return r === 0 && (x < 0 || Object.is(x, -0)) ? -0 : r;
}

const SIGN_PROBE = new Float64Array(1);
const SIGN_BYTES = new Uint8Array(SIGN_PROBE.buffer);

/** The sign bit of a float (also of a NaN), or whether an integer is negative. */
export function signbit(x: number | bigint): boolean {
  if (typeof x === "bigint") return x < 0n;
  SIGN_PROBE[0] = x;
  return (SIGN_BYTES[7] & 0x80) !== 0;
}

/**
 * The rounding error of `a * b` (`a * b - p` exactly, for `p = a * b`), by
 * Dekker's split; not finite when the split overflows (|a| or |b| near the
 * top of the range).
 */
function productError(a: number, b: number, p: number): number {
  const split = (x: number) => {
    const t = 134217729 * x;
    const hi = t - (t - x);
    return [hi, x - hi];
  };
  const [ah, al] = split(a), [bh, bl] = split(b);
  return ((ah * bh - p) + ah * bl + al * bh) + al * bl;
}

/** fma(a, b, c) rounded once: exact product by Dekker's split, then an error-compensated sum. */
export function fma(a: number, b: number, c: number): number {
  const p = a * b;
  if (!Number.isFinite(p) || !Number.isFinite(c) || p === 0 || c === 0) return p + c;
  const e = productError(a, b, p);
  // The split overflows for |a| or |b| near the top of the range: there the
  // product's rounding error is far below c's last place unless c is huge too.
  if (!Number.isFinite(e)) return p + c;
  const s = p + c, bb = s - p;
  const err = (p - (s - bb)) + (c - bb);
  return s + (err + e);
}

/**
 * hypot(a, b) rounded correctly. V8's `Math.hypot` is 1 ulp off for 37 of
 * the 198 float64 hypot values in NumPy's goldens (and for ~18% of random
 * pairs); glibc's, which NumPy and the VM call, agrees with this one on all
 * 198 and on all but ~0.03% of random pairs, where it is 1 ulp off. Math.hypot's
 * h is corrected by the residual a² + b² - h², computed exactly (Dekker
 * products), with the operands scaled by a power of two so that no square
 * overflows or underflows.
 */
export function hypot(a: number, b: number): number {
  const h = Math.hypot(a, b);
  if (!Number.isFinite(h) || h === 0) return h;
  const scale = h > 2 ** 500 ? 2 ** -600 : h < 2 ** -500 ? 2 ** 600 : 1;
  const x = Math.max(Math.abs(a), Math.abs(b)) * scale;
  const y = Math.min(Math.abs(a), Math.abs(b)) * scale;
  const g = h * scale;
  const xx = x * x, yy = y * y, gg = g * g;
  // x ≤ g ≤ x√2, so xx - gg is exact (Sterbenz).
  const residual = ((xx - gg) + yy) +
    ((productError(x, x, xx) + productError(y, y, yy)) - productError(g, g, gg));
  return (g + residual / (2 * g)) / scale;
}

/** The predicates: any numeric value in, bool out (integers are finite numbers). */
const PREDICATE: Record<string, (x: number | bigint) => boolean> = {
  isnan: (x) => typeof x === "number" && Number.isNaN(x),
  isfinite: (x) => typeof x === "bigint" || Number.isFinite(x),
  isinf: (x) => typeof x === "number" && Math.abs(x) === Infinity,
  signbit,
};

/** NumPy's maximum, minimum and clip, on floats (NaN propagates) and integers alike. */
function maximum<T extends number | bigint>(a: T, b: T): T {
  return a >= b || a !== a ? a : b;
}
function minimum<T extends number | bigint>(a: T, b: T): T {
  return a <= b || a !== a ? a : b;
}
function clip<T extends number | bigint>(x: T, lo: T, hi: T): T {
  const t = x !== x || x > lo ? x : lo;
  return t !== t || t < hi ? t : hi;
}

const COMPARE: Record<string, (a: Value, b: Value) => boolean> = {
  lt: (a, b) => a < b,
  le: (a, b) => a <= b,
  gt: (a, b) => a > b,
  ge: (a, b) => a >= b,
  eq: (a, b) => a === b,
  ne: (a, b) => a !== b,
};

function column(
  e: TypedExpr,
  vars: Record<string, unknown>,
  statements: readonly Value[][] = [],
): Column {
  switch (e.type) {
    case "ref": {
      const values = statements[e.index];
      return (i) => values[i];
    }
    case "const": {
      const v = convert(e.value, e.dtype);
      return () => v;
    }
    case "scalar": {
      const v = convert(vars[e.name] as Value, e.dtype);
      return () => v;
    }
    case "input": {
      const a = vars[e.name] as NumericArray;
      return e.dtype === "bool" ? (i) => a[i] !== 0 : (i) => a[i];
    }
    case "cast": {
      const x = column(e.operand, vars, statements);
      return (i) => convert(x(i), e.dtype);
    }
    case "op":
      return opColumn(
        e.op,
        e.dtype,
        e.args.map((a) => column(a, vars, statements)),
        e.args[0].dtype,
      );
  }
}

function opColumn(op: string, dtype: DType, args: Column[], argType: DType): Column {
  const [a, b, c] = args;
  if (op in COMPARE) {
    const f = COMPARE[op];
    return argType === "bool" ? (i) => f(Number(a(i)), Number(b(i))) : (i) => f(a(i), b(i));
  }
  switch (op) {
    case "copy":
      return a;
    case "and":
      return (i) => (a(i) as boolean) && (b(i) as boolean);
    case "or":
      return (i) => (a(i) as boolean) || (b(i) as boolean);
    case "not":
      return (i) => !a(i);
    case "where":
      return (i) => a(i) ? b(i) : c(i);
  }
  if (op in PREDICATE) {
    const f = PREDICATE[op];
    return (i) => f(a(i) as number | bigint);
  }
  if (dtypeKind(dtype) === "f") {
    const round = dtype === "float32" ? F32 : (x: number) => x;
    if (args.length === 1) {
      const f = UNARY_FLOAT[op];
      return (i) => round(f(a(i) as number));
    }
    if (args.length === 3) {
      const f = op === "clip" ? clip<number> : fma;
      // fma in float32: the float64 fma of float32 values rounds twice, rarely off by one ulp.
      return (i) => round(f(a(i) as number, b(i) as number, c(i) as number));
    }
    if (op === "floordiv") return (i) => round(floorDivide(a(i) as number, b(i) as number, round));
    if (op === "nextafter") {
      const t = dtype as "float16" | "float32" | "float64";
      return (i) => nextafter(a(i) as number, b(i) as number, t);
    }
    return (i) => round(floatBinary(op, a(i) as number, b(i) as number));
  }
  const wrap = (x: bigint) => convert(x, dtype);
  if (op === "neg") return (i) => wrap(-BigInt(a(i) as number | bigint));
  if (op === "invert") return (i) => wrap(~BigInt(a(i) as number | bigint));
  if (op === "reciprocal") {
    // NumPy computes 1.0 / x and converts: 0 gives the conversion of inf.
    return (i) => {
      const x = BigInt(a(i) as number | bigint);
      return x === 0n ? convert(Infinity, dtype) : wrap(x === 1n || x === -1n ? x : 0n);
    };
  }
  if (op === "abs") {
    return (i) => {
      const x = BigInt(a(i) as number | bigint);
      return wrap(x < 0n ? -x : x);
    };
  }
  if (op === "sign") {
    return (i) => {
      const x = BigInt(a(i) as number | bigint);
      return wrap(x > 0n ? 1n : x < 0n ? -1n : 0n);
    };
  }
  if (op === "clip") {
    const big = (f: Column) => (i: number) => BigInt(f(i) as number | bigint);
    const [x, lo, hi] = [big(a), big(b), big(c)];
    return (i) => wrap(clip(x(i), lo(i), hi(i)));
  }
  const bits = DTYPE_SIZE[dtype] * 8;
  return (i) =>
    wrap(
      intBinary(op, BigInt(a(i) as number | bigint), BigInt(b(i) as number | bigint), bits),
    );
}

/** Evaluates a typed tree over `n` elements into a new array of `outDtype` (default: the tree's dtype). */
export function referenceEvaluate(
  e: TypedExpr,
  vars: Record<string, unknown>,
  n: number,
  outDtype: DType = e.dtype,
): NumericArray {
  const col = column(e, vars);
  const out = allocArray(outDtype, n);
  for (let i = 0; i < n; i++) {
    const v = convert(col(i), outDtype);
    (out as unknown as Value[])[i] = typeof v === "boolean" ? (v ? 1 : 0) : v;
  }
  return out;
}

function store(values: readonly Value[], dtype: DType): NumericArray {
  const out = allocArray(dtype, values.length);
  values.forEach((v, i) => {
    (out as unknown as Value[])[i] = typeof v === "boolean" ? (v ? 1 : 0) : v;
  });
  return out;
}

/**
 * Evaluates a typed program over `n` elements, one statement at a time over
 * whole arrays, without changing `vars`: returns the result (as
 * {@linkcode referenceEvaluate}, when the program ends with an expression)
 * and the final value of each array assigned, as new arrays.
 */
export function referenceProgram(
  p: TypedProgram,
  vars: Record<string, unknown>,
  n: number,
  outDtype?: DType,
): { result?: NumericArray; outputs: Record<string, NumericArray> } {
  const statements: Value[][] = [];
  const outputs: Record<string, NumericArray> = {};
  let result: NumericArray | undefined;
  for (const s of p.statements) {
    const col = column(s.value, vars, statements);
    const values = Array.from({ length: n }, (_, i) => convert(col(i), s.value.dtype));
    statements.push(values);
    if (s.kind === "output") outputs[s.name] = store(values, s.value.dtype);
    if (s.kind === "result") {
      const dtype = outDtype ?? s.value.dtype;
      result = store(values.map((v) => convert(v, dtype)), dtype);
    }
  }
  return { result, outputs };
}

const f64 = new Float64Array(1), i64 = new BigInt64Array(f64.buffer);
const f32 = new Float32Array(1), i32 = new Int32Array(f32.buffer);

/** The index of a float16 value among float16 values (±0 are both 0), counting ulps. */
function f16Index(x: number): number {
  const a = Math.abs(x);
  let k: number;
  if (a === Infinity) k = 31 * 1024;
  else if (a < 2 ** -14) k = a / 2 ** -24;
  else {
    let e = Math.floor(Math.log2(a));
    if (2 ** e > a) e--;
    k = (e + 15) * 1024 + (a / 2 ** (e - 10) - 1024);
  }
  return x < 0 ? -k : k;
}

/** Distance in units in the last place between two floats of a dtype (0 for two NaNs, Infinity for NaN vs number). */
export function ulpDistance(
  a: number,
  b: number,
  dtype: "float16" | "float32" | "float64",
): number {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : Infinity;
  if (dtype === "float16") return Math.abs(f16Index(a) - f16Index(b));
  if (dtype === "float32") {
    const key = (x: number) => {
      f32[0] = x;
      return i32[0] < 0 ? -(i32[0] & 0x7fffffff) : i32[0];
    };
    return Math.abs(key(a) - key(b));
  }
  const key = (x: number) => {
    f64[0] = x;
    return i64[0] < 0n ? -(i64[0] & 0x7fffffffffffffffn) : i64[0];
  };
  const d = key(a) - key(b);
  return Number(d < 0n ? -d : d);
}

/** The elements of any result array, as a plain array (for deepEqual). */
export function list(a: NumericArray): (number | bigint)[] {
  return [...(a as Iterable<number | bigint>)];
}

/** A small deterministic PRNG (mulberry32), so every case reproduces from its seed. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Asserts `fn` throws exactly `type` with exactly `message`. */
export function throwsExactly(fn: () => unknown, type: ErrorConstructor, message: string) {
  assert.throws(fn, (e: unknown) => {
    assert.equal((e as Error).constructor, type, `error type of: ${(e as Error).message}`);
    assert.equal((e as Error).message, message);
    return true;
  });
}

/**
 * An array of a dtype from the goldens' JSON encoding (`scripts/gen_*goldens.py`):
 * floats as the hex of their IEEE bits, 64-bit integers as decimal strings,
 * other integers and bools as numbers.
 */
export function decodeGolden(dtype: DType, data: readonly (number | string)[]): NumericArray {
  const a = allocArray(dtype, data.length);
  if (a instanceof BigInt64Array || a instanceof BigUint64Array) {
    for (let i = 0; i < data.length; i++) a[i] = BigInt(data[i]);
  } else if (dtype === "float64") {
    const bits = new BigUint64Array(a.buffer, a.byteOffset, data.length);
    for (let i = 0; i < data.length; i++) bits[i] = BigInt(`0x${data[i]}`);
  } else if (dtypeKind(dtype) === "f") {
    const bits = dtype === "float32"
      ? new Uint32Array(a.buffer, a.byteOffset, data.length)
      : new Uint16Array(a.buffer, a.byteOffset, data.length);
    for (let i = 0; i < data.length; i++) bits[i] = parseInt(data[i] as string, 16);
  } else {
    for (let i = 0; i < data.length; i++) (a as Int32Array)[i] = Number(data[i]);
  }
  return a;
}

/** Asserts `fn` throws an ExpressionError with exactly `message`, at `offset`. */
export function throwsAt(fn: () => unknown, offset: number, message: string): void {
  throwsExactly(fn, ExpressionError as unknown as ErrorConstructor, message);
  assert.throws(fn, (e: unknown) => (e as ExpressionError).offset === offset);
}

/**
 * Asserts that `fn(source)` throws, for each `[source, offset, detail]` of
 * `table`, an ExpressionError `at offset: detail`.
 */
export function failsAt(
  table: readonly (readonly [string, number, string])[],
  fn: (source: string) => unknown,
): void {
  for (const [source, offset, detail] of table) {
    throwsAt(() => fn(source), offset, `at ${offset}: ${detail}`);
  }
}
