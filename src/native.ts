/**
 * What the API needs from a native binding: the Deno FFI binding
 * (`ffi_deno.ts`) and the Node-API addon provide the same operations.
 *
 * A run passes its arrays as one list, the program's output slots first and
 * then its input slots, and a `meta` block of 8-byte slots: `[0]` the element
 * count `n`, `[1..=K]` the length of each of the K arrays, then one slot per
 * scalar (binary64 for float registers, int64 for integer and bool ones).
 *
 * @module
 */

import type { NumericArray } from "./dtype.ts";

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

/** The operations a native binding provides. */
export interface NativeBinding {
  /** Validates a program and keeps it in native memory; returns its handle. */
  programNew(code: Uint32Array): number;
  /** Frees a program; throws on an unknown handle. */
  programFree(handle: number): void;
  /** Runs a program on the calling thread (and the VM's worker threads). */
  run(handle: number, threads: number, meta: Float64Array, arrays: readonly NumericArray[]): void;
  /** Runs a program off the JS thread; the promise settles when it is done. */
  runAsync(
    handle: number,
    threads: number,
    meta: Float64Array,
    arrays: readonly NumericArray[],
  ): Promise<void>;
  /** Logical CPUs the VM can use. */
  numCpus(): number;
  /**
   * Asks the OS for huge pages on a fresh result array before the VM first
   * writes it (advisory: page faults on a new 64 MB array cost more than the
   * computation). Called only for arrays of `ADVISE_MIN_BYTES` or more.
   */
  adviseFresh(array: NumericArray): void;
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
