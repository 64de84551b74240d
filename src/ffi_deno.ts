/**
 * The Deno binding: `Deno.dlopen` of the native library built from `rust/ffi`.
 *
 * The library is found at `NUMFUSE_LIB` if set, else next to the sources in
 * `rust/target/release/`. Runs go through fixed-arity symbols (`nf_run_1` …
 * `nf_run_8`) whose array parameters are `buffer`s, so V8 takes the fast-call
 * path and no pointer is materialised in JS (their `meta` is copied into a
 * staging block of the binding's own, passed as a pointer made once, which
 * the fast call passes for less than a `buffer`); more arrays go through a
 * pointer table (`nf_run_table`), which costs one `Deno.UnsafePointer.of` per
 * array. A run whose arrays all have an `address` already (the positional
 * calls of a hot loop, on the same arrays call after call) passes them by
 * address after its meta, in a block of the run's own made once, through
 * `nf_run_at` (`nf_run_reduce_at` for a whole reduction, its result written
 * to a scratch of the binding's user), whose parameters are all numbers and
 * that block's pointer: each `buffer` parameter costs the fast call several
 * nanoseconds.
 * Async runs go through `nf_run_async`, called `nonblocking`: it runs on
 * another thread, so its error message comes back in a buffer of its own
 * rather than through the thread-local `nf_last_error`, and it takes the
 * arrays' addresses in a table and each of their distinct buffers as a
 * `buffer` parameter the VM never reads. Deno holds the memory of every
 * `buffer` argument of a nonblocking call until it returns, so a buffer
 * transferred or dropped during the run keeps its memory until the VM is
 * done with it. N-d runs take the geometry block too, through `nf_run_nd_1`
 * … `nf_run_nd_8` or, for more arrays, the pointer table of `nf_run_nd`;
 * fused reductions likewise, through `nf_run_reduce_K`, `nf_run_reduce_nd_K`
 * and `nf_run_reduce`.
 *
 * @module
 */

import { allocArray, arrayByteLength, dtypeCode, type NumericArray } from "./dtype.ts";
import {
  addressable,
  type NativeBinding,
  nativeError,
  reduceGeometry,
  type RunReduceParams,
} from "./native.ts";

/** The most arrays a fixed-arity run symbol takes. */
const MAX_FIXED = 8;

/** The most buffers `nf_run_async` keeps alive (`numfuse::ASYNC_KEEP`). */
const ASYNC_KEEP = 32;

/** `nf_run_async`'s `op` for a run without a reduction (`numfuse::NO_REDUCTION`). */
const NO_REDUCTION = 0xffff_ffff;

const LIB_FILE: Partial<Record<typeof Deno.build.os, string>> = {
  darwin: "libnumfuse.dylib",
  windows: "numfuse.dll",
};

function libraryPath(): string {
  let fromEnv: string | undefined;
  try {
    fromEnv = Deno.env.get("NUMFUSE_LIB");
  } catch {
    // Without --allow-env the override cannot be read; the default path is used.
  }
  if (fromEnv) return fromEnv;
  const file = LIB_FILE[Deno.build.os] ?? "libnumfuse.so";
  const url = new URL(`../rust/target/release/${file}`, import.meta.url);
  if (url.protocol !== "file:") {
    throw new Error(`Cannot load the native library from ${url.href}: set NUMFUSE_LIB to its path`);
  }
  return decodeURIComponent(url.pathname);
}

type Fn = (...args: unknown[]) => number;

/** FFI parameter types, written space-separated. */
const params = (types: string) => types.split(" ") as Deno.NativeType[];
/** handle, threads, meta, meta_len, pointer table, count, error buffer, its capacity. */
const TABLE_PARAMS = params("u32 u32 buffer u32 buffer u32 buffer u32");
/** op, dtype, data, its bytes, geometry, its length, out, its bytes, threads, error buffer, its capacity. */
const REDUCE_PARAMS = params("u32 u32 buffer f64 buffer u32 buffer f64 u32 buffer u32");
/** As `TABLE_PARAMS`, with the geometry block and its length after meta. */
const ND_PARAMS = params("u32 u32 buffer u32 buffer u32 buffer u32 buffer u32");
/**
 * handle, threads, op, meta, its length, geometry (NULL: 1-D), its length,
 * pointer table, count, error buffer, its capacity.
 */
const RUN_REDUCE_PARAMS = params("u32 u32 u32 buffer u32 buffer u32 buffer u32 buffer u32");
/** As `RUN_REDUCE_PARAMS`, then `ASYNC_KEEP` buffers to keep alive. */
const RUN_ASYNC_PARAMS = params(
  `u32 u32 u32 buffer u32 buffer u32 buffer u32 buffer u32${" buffer".repeat(ASYNC_KEEP)}`,
);
type AsyncFn = (...args: unknown[]) => Promise<number>;

/**
 * `nf_run_async`'s keep-alive arguments for a run's arrays: one array of
 * each distinct buffer, then nulls. An array over a resizable or growable
 * buffer is refused (its memory could move during the run; Deno refuses
 * such buffers in nonblocking calls too), as are more distinct buffers
 * than can be kept.
 */
function keepAlive(arrays: readonly NumericArray[]): (NumericArray | null)[] {
  const keep: (NumericArray | null)[] = [];
  const buffers = new Set<ArrayBufferLike>();
  for (const a of arrays) {
    if (arrayByteLength(a) === 0 || buffers.has(a.buffer)) continue;
    if (!addressable(a)) {
      throw new TypeError(
        "An async run cannot use an array over a resizable or growable buffer (its memory could move while another thread reads it): use the synchronous call, or an array of fixed size",
      );
    }
    buffers.add(a.buffer);
    keep.push(a);
  }
  if (keep.length > ASYNC_KEEP) {
    throw new RangeError(
      `An async run keeps at most ${ASYNC_KEEP} distinct buffers alive, this one has ${keep.length}: use the synchronous call`,
    );
  }
  while (keep.length < ASYNC_KEEP) keep.push(null);
  return keep;
}

function symbols(): Record<string, Deno.ForeignFunction> {
  const defs: Record<string, Deno.ForeignFunction> = {
    nf_abi_version: { parameters: [], result: "u32" },
    nf_program_new: { parameters: ["buffer", "u32"], result: "i32" },
    nf_program_free: { parameters: ["u32"], result: "i32" },
    nf_last_error: { parameters: ["buffer", "u32"], result: "u32" },
    nf_num_cpus: { parameters: [], result: "u32" },
    nf_advise_fresh: { parameters: ["buffer", "f64"], result: "void" },
    nf_run_at: { parameters: params("u32 u32 pointer u32 u32"), result: "i32" },
    nf_run_reduce_at: { parameters: params("u32 u32 u32 pointer u32 u32"), result: "i32" },
  };
  const runs: [string, Deno.NativeType[]][] = [
    ["nf_run_table", TABLE_PARAMS],
    ["nf_run_nd", ND_PARAMS],
    ["nf_reduce", REDUCE_PARAMS],
    ["nf_run_reduce", RUN_REDUCE_PARAMS],
  ];
  for (const [name, parameters] of runs) defs[name] = { parameters, result: "i32" };
  // Called nonblocking: the work runs on another thread.
  defs.nf_run_async = { parameters: RUN_ASYNC_PARAMS, result: "i32", nonblocking: true };
  defs.nf_reduce_async = {
    name: "nf_reduce",
    parameters: REDUCE_PARAMS,
    result: "i32",
    nonblocking: true,
  };
  // handle, threads, [op,] meta, its length, [geometry, its length,] then k
  // arrays; a 1-D run's meta is the binding's staging block, a pointer made once.
  for (let k = 1; k <= MAX_FIXED; k++) {
    const arrays = " buffer".repeat(k);
    defs[`nf_run_${k}`] = { parameters: params(`u32 u32 pointer u32${arrays}`), result: "i32" };
    defs[`nf_run_nd_${k}`] = {
      parameters: params(`u32 u32 buffer u32 buffer u32${arrays}`),
      result: "i32",
    };
    defs[`nf_run_reduce_${k}`] = {
      parameters: params(`u32 u32 u32 buffer u32${arrays}`),
      result: "i32",
    };
    defs[`nf_run_reduce_nd_${k}`] = {
      parameters: params(`u32 u32 u32 buffer u32 buffer u32${arrays}`),
      result: "i32",
    };
  }
  return defs;
}

const ABI_VERSION = 5;

/** Decodes a NUL-terminated (or full) UTF-8 message buffer. */
function decodeMessage(buf: Uint8Array): string {
  const end = buf.indexOf(0);
  return new TextDecoder().decode(end < 0 ? buf : buf.subarray(0, end));
}

/** Opens the native library; throws an error naming the build command when it is missing. */
export function openDenoBinding(): NativeBinding {
  const path = libraryPath();
  let lib: Deno.DynamicLibrary<Record<string, Deno.ForeignFunction>>;
  try {
    lib = Deno.dlopen(path, symbols());
  } catch (e) {
    throw new Error(
      `Cannot load the numfuse native library at ${path}: ${
        (e as Error).message
      }; build it with \`deno task build\` or set NUMFUSE_LIB to its path`,
    );
  }
  const sym = lib.symbols as unknown as Record<string, Fn>;
  const asyncSym = lib.symbols as unknown as Record<string, AsyncFn>;
  const version = sym.nf_abi_version();
  if (version !== ABI_VERSION) {
    throw new Error(
      `The numfuse native library at ${path} has ABI ${version}, expected ${ABI_VERSION}: rebuild it with \`deno task build\``,
    );
  }
  const errorBuf = new Uint8Array(4096);
  const fail = (status: number): never => {
    errorBuf.fill(0);
    sym.nf_last_error(errorBuf, errorBuf.length);
    throw nativeError(-status, decodeMessage(errorBuf));
  };
  /** Throws the VM's error for a nonzero status of a call that wrote its message into `errors`. */
  const check = (status: number, errors: Uint8Array) => {
    if (status !== 0) throw nativeError(-status, decodeMessage(errors));
  };
  const fixed: Fn[] = [];
  const fixedNd: Fn[] = [];
  const fixedReduce: Fn[] = [];
  const fixedReduceNd: Fn[] = [];
  for (let k = 1; k <= MAX_FIXED; k++) {
    fixed[k] = sym[`nf_run_${k}`];
    fixedNd[k] = sym[`nf_run_nd_${k}`];
    fixedReduce[k] = sym[`nf_run_reduce_${k}`];
    fixedReduceNd[k] = sym[`nf_run_reduce_nd_${k}`];
  }
  // A `buffer` parameter costs the fast call several nanoseconds (more than
  // copying a run's few meta slots); a pointer made once costs next to none.
  // The staging block is an ArrayBuffer of its own (never on the JS heap, so
  // it never moves) that nothing else can reach, detach or resize.
  let stage = new Float64Array(new ArrayBuffer(8 * 64));
  let stagePointer = Deno.UnsafePointer.of(stage);
  /** Copies a 1-D run's meta into the staging block; returns its pointer. */
  const staged = (meta: Float64Array) => {
    if (meta.length > stage.length) {
      stage = new Float64Array(new ArrayBuffer(16 * meta.length));
      stagePointer = Deno.UnsafePointer.of(stage);
    }
    for (let i = 0; i < meta.length; i++) stage[i] = meta[i];
    return stagePointer;
  };
  const pointerTable = (arrays: readonly NumericArray[]) =>
    BigUint64Array.from(arrays, (a) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(a))));

  /**
   * Any run off the JS thread (see the module docs): `op` is a reduction or
   * `NO_REDUCTION`, `geometry` undefined for a 1-D run. The closure keeps
   * its own copies of `meta` and the geometry, and `arrays`, until it settles.
   */
  const runAsync = async (...[handle, threads, op, meta, geometry, arrays]: RunReduceParams) => {
    const keep = keepAlive(arrays);
    const ownMeta = meta.slice();
    const ownGeometry = geometry?.slice();
    const errors = new Uint8Array(1024);
    const status = await asyncSym.nf_run_async(
      handle,
      threads,
      op,
      ownMeta,
      ownMeta.length,
      ownGeometry ?? null,
      ownGeometry?.length ?? 0,
      pointerTable(arrays),
      arrays.length,
      errors,
      errors.length,
      ...keep,
    );
    check(status, errors);
  };

  return {
    programNew(code) {
      const status = sym.nf_program_new(code, code.byteLength);
      return status > 0 ? status : fail(status);
    },
    programFree(handle) {
      const status = sym.nf_program_free(handle);
      if (status !== 0) fail(status);
    },
    run(handle, threads, meta, arrays) {
      const k = arrays.length;
      let status: number;
      switch (k) {
        case 1:
          status = fixed[1](handle, threads, staged(meta), meta.length, arrays[0]);
          break;
        case 2:
          status = fixed[2](handle, threads, staged(meta), meta.length, arrays[0], arrays[1]);
          break;
        case 3:
          status = fixed[3](
            handle,
            threads,
            staged(meta),
            meta.length,
            arrays[0],
            arrays[1],
            arrays[2],
          );
          break;
        default:
          status = k <= MAX_FIXED
            ? fixed[k](handle, threads, staged(meta), meta.length, ...arrays)
            : sym.nf_run_table(
              handle,
              threads,
              meta,
              meta.length,
              pointerTable(arrays),
              k,
              errorBuf,
              errorBuf.length,
            );
      }
      if (status !== 0) fail(status);
    },
    byAddress: {
      address(a) {
        // Taking the address moves an array kept on the JS heap (where a GC
        // may move it) into memory of its own, which stays where it is until
        // the buffer is detached.
        if (!addressable(a)) return 0;
        return Number(Deno.UnsafePointer.value(Deno.UnsafePointer.of(a)));
      },
      block(slots) {
        // An ArrayBuffer of its own: never on the JS heap, so it never moves.
        const block = new Float64Array(new ArrayBuffer(8 * slots));
        return { slots: block, at: Deno.UnsafePointer.of(block) };
      },
      runAt(handle, threads, at, metaLength, count) {
        const status = sym.nf_run_at(handle, threads, at, metaLength, count);
        if (status !== 0) fail(status);
      },
      runReduceAt(handle, threads, op, at, metaLength, count) {
        const status = sym.nf_run_reduce_at(handle, threads, op, at, metaLength, count);
        if (status !== 0) fail(status);
      },
    },
    runAsync(handle, threads, meta, arrays) {
      return runAsync(handle, threads, NO_REDUCTION, meta, undefined, arrays);
    },
    runNd(handle, threads, meta, geometry, arrays) {
      const k = arrays.length;
      if (k >= 1 && k <= MAX_FIXED) {
        const status = fixedNd[k](
          handle,
          threads,
          meta,
          meta.length,
          geometry,
          geometry.length,
          ...arrays,
        );
        if (status !== 0) fail(status);
        return;
      }
      const status = sym.nf_run_nd(
        handle,
        threads,
        meta,
        meta.length,
        geometry,
        geometry.length,
        pointerTable(arrays),
        k,
        errorBuf,
        errorBuf.length,
      );
      check(status, errorBuf);
    },
    runNdAsync(handle, threads, meta, geometry, arrays) {
      return runAsync(handle, threads, NO_REDUCTION, meta, geometry, arrays);
    },
    numCpus() {
      return sym.nf_num_cpus();
    },
    allocate: allocArray,
    zeroedBelow: Infinity,
    adviseFresh(array) {
      sym.nf_advise_fresh(array, arrayByteLength(array));
    },
    reduce(op, dtype, data, view, axis, out, threads) {
      const geom = reduceGeometry(view, axis);
      const status = sym.nf_reduce(
        op,
        dtypeCode(dtype),
        data,
        arrayByteLength(data),
        geom,
        geom.length,
        out,
        arrayByteLength(out),
        threads,
        errorBuf,
        errorBuf.length,
      );
      check(status, errorBuf);
    },
    async reduceAsync(op, dtype, data, view, axis, out, threads) {
      // Both arrays are `buffer` parameters, which Deno keeps alive during
      // the call; a resizable one is refused as for any async run.
      keepAlive([data, out]);
      const geom = reduceGeometry(view, axis);
      const errors = new Uint8Array(1024);
      const status = await asyncSym.nf_reduce_async(
        op,
        dtypeCode(dtype),
        data,
        arrayByteLength(data),
        geom,
        geom.length,
        out,
        arrayByteLength(out),
        threads,
        errors,
        errors.length,
      );
      check(status, errors);
    },
    runReduce(handle, threads, op, meta, geometry, arrays) {
      const k = arrays.length;
      if (k >= 1 && k <= MAX_FIXED) {
        const status = geometry !== undefined
          ? fixedReduceNd[k](
            handle,
            threads,
            op,
            meta,
            meta.length,
            geometry,
            geometry.length,
            ...arrays,
          )
          : k === 3
          ? fixedReduce[3](handle, threads, op, meta, meta.length, arrays[0], arrays[1], arrays[2])
          : k === 2
          ? fixedReduce[2](handle, threads, op, meta, meta.length, arrays[0], arrays[1])
          : fixedReduce[k](handle, threads, op, meta, meta.length, ...arrays);
        if (status !== 0) fail(status);
        return;
      }
      const status = sym.nf_run_reduce(
        handle,
        threads,
        op,
        meta,
        meta.length,
        geometry ?? null,
        geometry?.length ?? 0,
        pointerTable(arrays),
        k,
        errorBuf,
        errorBuf.length,
      );
      check(status, errorBuf);
    },
    runReduceAsync(handle, threads, op, meta, geometry, arrays) {
      return runAsync(handle, threads, op, meta, geometry, arrays);
    },
  };
}
