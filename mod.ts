/**
 * numfuse: numexpr for Deno and Node. An array expression written as a string
 * is compiled once to bytecode and run by a native virtual machine over typed
 * arrays, block by block, on every core, writing into buffers you own.
 *
 * @example
 * ```ts ignore
 * import { compile, evaluate } from "./mod.ts";
 *
 * const x = new Float32Array([-1, 0.5, 2]);
 * evaluate("tanh(where(x > 0, x, 0))", { x }); // Float32Array [0, 0.4621…, 0.9640…]
 *
 * const p = new Float32Array(1024), g = new Float32Array(1024).fill(1);
 * evaluate("p - lr * g", { p, g, lr: 0.01 }, { out: p }); // in place
 *
 * const sgd = compile("p - lr * g", { p: "float32", g: "float32", lr: "float32" });
 * sgd.run({ p, g, lr: 0.01 }, { out: p });
 *
 * // A program: p and m are written in place, in one pass over memory.
 * const m = new Float32Array(1024);
 * evaluate("m = 0.9 * m + g; p = p - lr * m", { p, g, m, lr: 0.01 }); // undefined
 * ```
 *
 * @module
 */

import { useBinding } from "./src/api.ts";
import { openDenoBinding } from "./src/ffi_deno.ts";

useBinding(openDenoBinding);

export * from "./src/public.ts";
