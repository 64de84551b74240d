/**
 * Builds the native library (`rust/target/release/libnumfuse.so`, `.dylib`
 * or `numfuse.dll`) that the Deno binding loads. Run it with `deno task build`;
 * cargo rebuilds only what changed.
 *
 * @module
 */

import { cargo } from "./cargo.ts";

if (import.meta.main) {
  await cargo("build", "--release", "-p", "numfuse-ffi");
}
