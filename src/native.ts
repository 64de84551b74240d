/**
 * What the API needs from a native binding: the Deno FFI binding
 * (`ffi_deno.ts`) and the Node-API addon provide the same operations.
 *
 * A run passes its arrays as one list, the program's output slots first and
 * then its input slots, and a `meta` block of 8-byte slots: `[0]` the element
 * count `n`, `[1..=K]` the length of each of the K arrays, then one slot per
 * scalar (binary64 for float registers, int64 for integer and bool ones).
 *
 * An N-d run (`runNd`) also passes a geometry block of float64 slots: `[0]`
 * ndim, `[1..=ndim]` the result's shape, then per array (outputs first) its
 * offset (the index of element `[0, …, 0]` in the array) and its `ndim`
 * strides in elements. `n` is then the product of the shape, and each
 * length in `meta` is the array's whole length; the VM checks that every
 * element the geometry reaches is inside it.
 *
 * @module
 */

import { arrayBuffer, arrayByteLength, type DType, type NumericArray } from "./dtype.ts";

/** Fresh result arrays at least this large get `adviseFresh` (the VM's own threshold). */
export const ADVISE_MIN_BYTES = 4 << 20;

/** Error codes the VM returns (the negative of the C ABI's return value). */
export const NATIVE_ERROR = {
  badProgram: 1,
  badArguments: 2,
  overlap: 3,
  domain: 4,
  panic: 5,
  badHandle: 6,
} as const;

/** The arguments of `run` and `runAsync` (see the module docs). */
export type RunParams = [
  handle: number,
  threads: number,
  meta: Float64Array,
  arrays: readonly NumericArray[],
];

/** The arguments of `runNd` and `runNdAsync`: `run`'s, with the geometry before the arrays. */
export type RunNdParams = [
  handle: number,
  threads: number,
  meta: Float64Array,
  geometry: Float64Array,
  arrays: readonly NumericArray[],
];

/**
 * The arguments of `runReduce` and `runReduceAsync`: a run's (`geometry` an
 * N-d run's block, or undefined for a 1-D run) whose one output is reduced
 * whole by reduction `op` as it is computed, never stored. The output's
 * array is where the result goes: one element of the reduction's result
 * dtype, so its length in `meta` is 1.
 */
export type RunReduceParams = [
  handle: number,
  threads: number,
  op: number,
  meta: Float64Array,
  geometry: Float64Array | undefined,
  arrays: readonly NumericArray[],
];

/**
 * The arguments of `reduce` and `reduceAsync`: `op` a code of `REDUCTIONS`
 * in `reduce.ts`, `data` of `dtype`, `axis` (may be negative) undefined for
 * a whole reduction, and `out` a TypedArray of the reduction's result dtype.
 */
export type ReduceParams = [
  op: number,
  dtype: DType,
  data: NumericArray,
  view: StridedView,
  axis: number | undefined,
  out: NumericArray,
  threads: number,
];

/** The operations a native binding provides. */
export interface NativeBinding {
  /** Validates a program and keeps it in native memory; returns its handle. */
  programNew(code: Uint32Array): number;
  /** Frees a program; throws on an unknown handle. */
  programFree(handle: number): void;
  /** Runs a program on the calling thread (and the VM's worker threads). */
  run(...args: RunParams): void;
  /**
   * Runs by address: numbers only, where a run by value pays per array
   * (Deno's fast call several nanoseconds per `buffer`, a Node-API call
   * ~30 ns per TypedArray it inspects).
   */
  readonly byAddress?: ByAddress;
  /** Runs a program off the JS thread; the promise settles when it is done. */
  runAsync(...args: RunParams): Promise<void>;
  /** As `run`, over an N-d geometry block (see the module docs). */
  runNd(...args: RunNdParams): void;
  /** As `runAsync`, over an N-d geometry block. */
  runNdAsync(...args: RunNdParams): Promise<void>;
  /** Logical CPUs the VM can use. */
  numCpus(): number;
  /**
   * A new array of a result dtype for the VM to write in full before anyone
   * reads it: Node gives one of uninitialized memory from a size up (as
   * `Buffer.allocUnsafeSlow`: no zeroing, no fresh pages to fault in); Deno
   * has no such allocation, and gives a zeroed one.
   */
  allocate(dtype: DType, length: number): NumericArray;
  /**
   * `allocate` zeroes arrays of fewer bytes than this (Deno: all,
   * `Infinity`; Node: those below 4096 bytes), on the calling thread where
   * the memory is recycled.
   */
  readonly zeroedBelow: number;
  /**
   * Asks the OS for huge pages on a fresh result array before the VM first
   * writes it (advisory: page faults on a new 64 MB array cost more than the
   * computation). Called only for arrays of `ADVISE_MIN_BYTES` or more.
   */
  adviseFresh(array: NumericArray): void;
  /**
   * Reduces a strided view of `data` into `out`, which has one element
   * (whole) or one per position of the other axes, row-major. Throws
   * NumPy's errors (an empty min/max, an axis out of bounds) as RangeErrors.
   */
  reduce(...args: ReduceParams): void;
  /** As `reduce`, off the JS thread; the arrays must not change until it settles. */
  reduceAsync(...args: ReduceParams): Promise<void>;
  /**
   * Runs a program and reduces its output whole without storing it (bit
   * for bit `run` then `reduce`); errors as theirs.
   */
  runReduce(...args: RunReduceParams): void;
  /** As `runReduce`, off the JS thread; the arrays must not change until it settles. */
  runReduceAsync(...args: RunReduceParams): Promise<void>;
}

/** The most arrays a run by address takes (the VM's `nf_run_at`). */
export const BY_ADDRESS_MAX = 8;

/** Runs of arrays given by address (`NativeBinding.byAddress`). */
export interface ByAddress {
  /**
   * Where a typed array's elements are: a positive address, valid for as
   * long as the array's length reads nonzero (its buffer is of a fixed size,
   * so only detaching it can move or free them); 0 where there is none (an
   * empty array, a resizable or growable buffer).
   */
  address(array: NumericArray): number;
  /**
   * A block of `slots` float64 slots that never moves, for a run's meta
   * followed by its arrays' addresses, and where it is (for `runAt`).
   */
  block(slots: number): { readonly slots: Float64Array; readonly at: unknown };
  /**
   * As `run`, with the meta and the `count` addresses in a `block` at `at`:
   * meta's `metaLength` slots, then the addresses. For a 1-D run whose every
   * array is nonempty, its length in meta read now, and its address taken
   * from it before.
   */
  runAt(handle: number, threads: number, at: unknown, metaLength: number, count: number): void;
  /**
   * As `runReduce` of a 1-D run, with the meta and the `count` addresses
   * (the result's first) in a block at `at`, as `runAt` takes them.
   */
  runReduceAt(
    handle: number,
    threads: number,
    op: number,
    at: unknown,
    metaLength: number,
    count: number,
  ): void;
}

// Absent where no buffer can change its size (Node 18): none is then resizable.
const RESIZABLE = Object.getOwnPropertyDescriptor(ArrayBuffer.prototype, "resizable")?.get;
const GROWABLE = Object.getOwnPropertyDescriptor(SharedArrayBuffer.prototype, "growable")?.get;

/**
 * Whether a typed array's elements have an address a run by address may
 * keep (`ByAddress.address`): it is nonempty, and its buffer is of a fixed
 * size (a resizable or growable one may move them).
 */
export function addressable(a: NumericArray): boolean {
  if (arrayByteLength(a) === 0) return false;
  const buffer = arrayBuffer(a);
  try {
    return RESIZABLE?.call(buffer) !== true;
  } catch {
    // Not an ArrayBuffer: a SharedArrayBuffer.
    return GROWABLE?.call(buffer) !== true;
  }
}

/** A strided N-d view of a buffer, in elements. */
export interface StridedView {
  /** Length of each axis. */
  readonly shape: readonly number[];
  /** Step of each axis, in elements (may be 0 or negative). */
  readonly strides: readonly number[];
  /** The element at index `(0, 0, ...)`. */
  readonly offset: number;
}

/**
 * The geometry the native `reduce` takes: `[offset, axis (NaN: whole),
 * ndim, shape..., strides...]`, validated again natively.
 */
export function reduceGeometry(view: StridedView, axis: number | undefined): Float64Array {
  const ndim = view.shape.length;
  const geom = new Float64Array(3 + 2 * ndim);
  geom[0] = view.offset;
  geom[1] = axis ?? NaN;
  geom[2] = ndim;
  for (let d = 0; d < ndim; d++) {
    geom[3 + d] = view.shape[d];
    geom[3 + ndim + d] = view.strides[d] ?? NaN;
  }
  return geom;
}

const overlapErrors = new WeakSet<Error>();

/**
 * Whether an error is the VM refusing arrays that share memory (before it
 * writes anything). The API runs first and resolves overlaps (copying
 * inputs, or a named error) only when the VM refuses, so a call without
 * overlaps pays nothing for them.
 */
export function isOverlapError(e: unknown): boolean {
  return e instanceof Error && overlapErrors.has(e);
}

/** Turns a VM error code and message into the right JS error. */
export function nativeError(code: number, message: string): Error {
  switch (code) {
    case NATIVE_ERROR.overlap: {
      const e = new RangeError(message);
      overlapErrors.add(e);
      return e;
    }
    case NATIVE_ERROR.badArguments:
    case NATIVE_ERROR.domain:
      return new RangeError(message);
    case NATIVE_ERROR.badProgram:
      return new Error(`Internal error: the VM rejected a program: ${message}`);
    default:
      return new Error(`Internal error in the VM (code ${code}): ${message}`);
  }
}
