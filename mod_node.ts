/**
 * numfuse for Node: the same API as `mod.ts`, with the Node-API addon as its
 * native binding. The npm package's entry point (`deno task npm` compiles it
 * to `npm/mod.js`); it never loads the Deno FFI binding.
 *
 * @example
 * ```ts ignore
 * import { evaluate } from "numfuse";
 *
 * const x = new Float32Array([-1, 0.5, 2]);
 * evaluate("tanh(where(x > 0, x, 0))", { x }); // Float32Array [0, 0.4621…, 0.9640…]
 * ```
 *
 * @module
 */

import { useBinding } from "./src/api.ts";
import { openNodeBinding } from "./src/node_binding.ts";

useBinding(openNodeBinding);

export * from "./src/public.ts";
