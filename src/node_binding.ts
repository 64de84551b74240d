/**
 * The Node binding: the Node-API addon built from `rust/node`, loaded with
 * `require` (through `createRequire`, as this module is ESM).
 *
 * The addon is `numfuse.<triple>.node`, named by the napi-rs platform triple
 * (`linux-x64-gnu`, `darwin-arm64`, `win32-x64-msvc`, ...). It is looked for,
 * in order, at the path in `NUMFUSE_NODE_ADDON`, next to the package (the
 * directory above this file), and in the per-platform package
 * `@numfuse/<triple>`; when none loads, the error lists every place tried.
 *
 * The addon throws errors whose `code` is `ERR_NUMFUSE_<NAME>` for each VM
 * error code in `NATIVE_ERROR` (`badArguments` → `ERR_NUMFUSE_BAD_ARGUMENTS`);
 * they are turned into the same JS errors as the Deno binding's.
 *
 * @module
 */

import { createRequire } from "node:module";
import { allocArray, DTYPE_SIZE, dtypeCode, type NumericArray } from "./dtype.ts";
import {
  addressable,
  NATIVE_ERROR,
  type NativeBinding,
  nativeError,
  reduceGeometry,
  type RunNdParams,
  type RunParams,
} from "./native.ts";

/**
 * The arguments of the addon's `reduce` and `reduceAsync`: those of
 * `NativeBinding.reduce`, with the dtype's code and the view and axis as
 * `reduceGeometry` encodes them.
 */
type AddonReduceParams = [
  op: number,
  dtype: number,
  data: NumericArray,
  geom: Float64Array,
  out: NumericArray,
  threads: number,
];

/**
 * What the addon exports (see `rust/node/src/lib.rs`). The run functions
 * take the arrays as one JS Array or as the remaining arguments; the latter
 * saves the addon a property read per array.
 */
interface Addon {
  programNew(code: Uint32Array): number;
  programFree(handle: number): void;
  run(handle: number, threads: number, meta: Float64Array, ...arrays: NumericArray[]): void;
  run(...args: RunParams): void;
  runAt(handle: number, threads: number, at: number, metaLength: number, count: number): void;
  runReduceAt(
    handle: number,
    threads: number,
    op: number,
    at: number,
    metaLength: number,
    count: number,
  ): void;
  address(array: NumericArray): number;
  runAsync(...args: RunParams): Promise<void>;
  runNd(
    handle: number,
    threads: number,
    meta: Float64Array,
    geometry: Float64Array,
    ...arrays: NumericArray[]
  ): void;
  runNdAsync(...args: RunNdParams): Promise<void>;
  numCpus(): number;
  adviseFresh(array: NumericArray): void;
  reduce(...args: AddonReduceParams): void;
  reduceAsync(...args: AddonReduceParams): Promise<void>;
  runReduce(
    handle: number,
    threads: number,
    op: number,
    meta: Float64Array,
    ...arrays: NumericArray[]
  ): void;
  runReduceAsync(
    handle: number,
    threads: number,
    op: number,
    meta: Float64Array,
    arrays: readonly NumericArray[],
  ): Promise<void>;
  runReduceNd(
    handle: number,
    threads: number,
    op: number,
    meta: Float64Array,
    geometry: Float64Array,
    ...arrays: NumericArray[]
  ): void;
  runReduceNdAsync(
    handle: number,
    threads: number,
    op: number,
    meta: Float64Array,
    geometry: Float64Array,
    arrays: readonly NumericArray[],
  ): Promise<void>;
}

/** The bits of Node's `process` this module reads (typed here, so no Node typings are needed). */
interface NodeProcess {
  readonly platform: string;
  readonly arch: string;
  readonly env: Record<string, string | undefined>;
  readonly report?: { getReport?(): unknown };
}

/** The bit of Node's `Buffer` this module uses: a new buffer of its own, not zeroed. */
interface NodeBuffer {
  allocUnsafeSlow(size: number): { readonly buffer: ArrayBuffer };
}

/** Results at least this large are allocated without zeroing (smaller ones cost the same either way). */
const UNINITIALIZED_MIN_BYTES = 4096;

function nodeProcess(): NodeProcess | undefined {
  return (globalThis as { process?: NodeProcess }).process;
}

/** Whether this Linux uses musl rather than glibc (napi-rs's test: no glibc in the report). */
function isMusl(proc: NodeProcess): boolean {
  try {
    const report = proc.report?.getReport?.() as
      | { header?: { glibcVersionRuntime?: string } }
      | undefined;
    return report !== undefined && !report.header?.glibcVersionRuntime;
  } catch {
    return false;
  }
}

/**
 * The napi-rs platform triple of this process: `linux-x64-gnu`,
 * `linux-arm64-musl`, `darwin-arm64`, `win32-x64-msvc`, ...
 *
 * @example
 * ```ts ignore
 * import { platformTriple } from "./node_binding.ts";
 * platformTriple(); // "linux-x64-gnu"
 * ```
 */
export function platformTriple(): string {
  const proc = nodeProcess();
  if (!proc) throw new Error("The Node binding needs Node's process object: run under Node");
  const base = `${proc.platform}-${proc.arch}`;
  switch (proc.platform) {
    case "linux":
      return `${base}-${isMusl(proc) ? "musl" : "gnu"}`;
    case "win32":
      return `${base}-msvc`;
    default:
      return base;
  }
}

/** The file name of the addon for a platform triple. */
export function addonFileName(triple: string): string {
  return `numfuse.${triple}.node`;
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split("\n")[0];
}

/** Loads the addon from the first place that has one; throws listing every place tried. */
function loadAddon(): Addon {
  const proc = nodeProcess();
  const triple = platformTriple();
  const require = createRequire(import.meta.url);
  const candidates: { label: string; specifier: string }[] = [];
  const fromEnv = proc?.env.NUMFUSE_NODE_ADDON;
  if (fromEnv) candidates.push({ label: `NUMFUSE_NODE_ADDON=${fromEnv}`, specifier: fromEnv });
  const local = new URL(`../${addonFileName(triple)}`, import.meta.url);
  if (local.protocol === "file:") {
    const path = decodeURIComponent(local.pathname);
    candidates.push({ label: path, specifier: path });
  }
  const pkg = `@numfuse/${triple}`;
  candidates.push({ label: `package ${pkg}`, specifier: pkg });
  const tried: string[] = [];
  for (const { label, specifier } of candidates) {
    try {
      return require(specifier) as Addon;
    } catch (e) {
      tried.push(`  ${label}: ${firstLine(e)}`);
    }
  }
  throw new Error(
    `Cannot load the numfuse Node-API addon for ${triple}: tried\n${
      tried.join("\n")
    }\nbuild it with \`deno task npm\`, install ${pkg}, or set NUMFUSE_NODE_ADDON to its path`,
  );
}

/** `ERR_NUMFUSE_BAD_ARGUMENTS` → `NATIVE_ERROR.badArguments`, for every code. */
const CODES: ReadonlyMap<string, number> = new Map(
  Object.entries(NATIVE_ERROR).map((
    [name, code],
  ) => [`ERR_NUMFUSE_${name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`, code]),
);

/** The JS error for an error the addon threw: VM errors as `nativeError` makes them, others as they are. */
function translate(e: unknown): unknown {
  const code = (e as { code?: unknown } | null)?.code;
  const vmCode = typeof code === "string" ? CODES.get(code) : undefined;
  return vmCode === undefined ? e : nativeError(vmCode, (e as Error).message);
}

/**
 * Loads the Node-API addon and wraps it as a `NativeBinding`.
 *
 * @example
 * ```ts ignore
 * import { useBinding } from "./api.ts";
 * import { openNodeBinding } from "./node_binding.ts";
 * useBinding(openNodeBinding);
 * ```
 */
export function openNodeBinding(): NativeBinding {
  const addon = loadAddon();
  return {
    programNew(code) {
      try {
        return addon.programNew(code);
      } catch (e) {
        throw translate(e);
      }
    },
    programFree(handle) {
      try {
        addon.programFree(handle);
      } catch (e) {
        throw translate(e);
      }
    },
    run(handle, threads, meta, arrays) {
      try {
        switch (arrays.length) {
          case 2:
            addon.run(handle, threads, meta, arrays[0], arrays[1]);
            break;
          case 3:
            addon.run(handle, threads, meta, arrays[0], arrays[1], arrays[2]);
            break;
          case 4:
            addon.run(handle, threads, meta, arrays[0], arrays[1], arrays[2], arrays[3]);
            break;
          default:
            addon.run(handle, threads, meta, ...arrays);
        }
      } catch (e) {
        throw translate(e);
      }
    },
    byAddress: {
      address(a) {
        // Taking the address moves an array kept on the JS heap (where a GC
        // may move it) into memory of its own, which stays where it is until
        // the buffer is detached.
        return addressable(a) ? addon.address(a) : 0;
      },
      block(slots) {
        // An ArrayBuffer of its own: never on the JS heap, so it never moves.
        const block = new Float64Array(new ArrayBuffer(8 * slots));
        return { slots: block, at: addon.address(block) };
      },
      runAt(handle, threads, at, metaLength, count) {
        try {
          addon.runAt(handle, threads, at as number, metaLength, count);
        } catch (e) {
          throw translate(e);
        }
      },
      runReduceAt(handle, threads, op, at, metaLength, count) {
        try {
          addon.runReduceAt(handle, threads, op, at as number, metaLength, count);
        } catch (e) {
          throw translate(e);
        }
      },
    },
    async runAsync(handle, threads, meta, arrays) {
      // The addon copies `meta` and holds references to the arrays until it settles.
      try {
        await addon.runAsync(handle, threads, meta, arrays);
      } catch (e) {
        throw translate(e);
      }
    },
    runNd(handle, threads, meta, geometry, arrays) {
      try {
        addon.runNd(handle, threads, meta, geometry, ...arrays);
      } catch (e) {
        throw translate(e);
      }
    },
    async runNdAsync(handle, threads, meta, geometry, arrays) {
      // The addon copies `meta` and the geometry and holds references to the arrays.
      try {
        await addon.runNdAsync(handle, threads, meta, geometry, arrays);
      } catch (e) {
        throw translate(e);
      }
    },
    numCpus() {
      return addon.numCpus();
    },
    allocate(dtype, length) {
      const bytes = length * DTYPE_SIZE[dtype];
      if (bytes < UNINITIALIZED_MIN_BYTES) return allocArray(dtype, length);
      // The class from an empty array (and float16's error where there is no
      // Float16Array), over a buffer of its own: never the shared pool of
      // `Buffer.allocUnsafe`, and every byte written by the run.
      const ArrayOf = allocArray(dtype, 0).constructor as new (buffer: ArrayBuffer) => NumericArray;
      const buffer = (globalThis as unknown as { Buffer: NodeBuffer }).Buffer;
      return new ArrayOf(buffer.allocUnsafeSlow(bytes).buffer);
    },
    zeroedBelow: UNINITIALIZED_MIN_BYTES,
    adviseFresh(array) {
      addon.adviseFresh(array);
    },
    reduce(op, dtype, data, view, axis, out, threads) {
      try {
        addon.reduce(op, dtypeCode(dtype), data, reduceGeometry(view, axis), out, threads);
      } catch (e) {
        throw translate(e);
      }
    },
    async reduceAsync(op, dtype, data, view, axis, out, threads) {
      // The addon holds references to the arrays until it settles.
      try {
        const geom = reduceGeometry(view, axis);
        await addon.reduceAsync(op, dtypeCode(dtype), data, geom, out, threads);
      } catch (e) {
        throw translate(e);
      }
    },
    runReduce(handle, threads, op, meta, geometry, arrays) {
      try {
        if (geometry === undefined) addon.runReduce(handle, threads, op, meta, ...arrays);
        else addon.runReduceNd(handle, threads, op, meta, geometry, ...arrays);
      } catch (e) {
        throw translate(e);
      }
    },
    async runReduceAsync(handle, threads, op, meta, geometry, arrays) {
      // The addon copies `meta` and the geometry and holds references to the arrays.
      try {
        if (geometry === undefined) await addon.runReduceAsync(handle, threads, op, meta, arrays);
        else await addon.runReduceNdAsync(handle, threads, op, meta, geometry, arrays);
      } catch (e) {
        throw translate(e);
      }
    },
  };
}
