/** The Deno binding's loading: a missing library is a clear error naming the build command. */

import assert from "node:assert/strict";

const MOD = new URL("../mod.ts", import.meta.url).href;

/** Runs a snippet in a fresh Deno process (the binding is loaded once per process). */
async function runSnippet(code: string, env: Record<string, string>) {
  const { code: status, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", code],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { status, stdout: text(stdout), stderr: text(stderr) };
}

Deno.test("a missing native library is an error that names the build command and NUMFUSE_LIB", async () => {
  const { status, stdout } = await runSnippet(
    `import { evaluate } from "${MOD}";
     try { evaluate("x + 1", { x: new Float64Array(2) }); console.log("no error"); }
     catch (e) { console.log(e.constructor.name + ": " + e.message); }`,
    { NUMFUSE_LIB: "/nonexistent/libnumfuse.so" },
  );
  assert.equal(status, 0);
  assert.match(
    stdout,
    /^Error: Cannot load the numfuse native library at \/nonexistent\/libnumfuse\.so: /,
  );
  assert.match(stdout, /build it with `deno task build` or set NUMFUSE_LIB to its path\n$/);
});

Deno.test("NUMFUSE_LIB points the binding at a library", async () => {
  const lib = new URL("../rust/target/release/libnumfuse.so", import.meta.url).pathname;
  const { stdout } = await runSnippet(
    `import { evaluate } from "${MOD}";
     console.log(Array.from(evaluate("x + 1", { x: new Float64Array([1, 2]) })).join(","));`,
    { NUMFUSE_LIB: lib },
  );
  assert.equal(stdout, "2,3\n");
});

Deno.test("NUMFUSE_NUM_THREADS sets the default thread count", async () => {
  const { stdout } = await runSnippet(
    `import { getNumThreads } from "${MOD}"; console.log(getNumThreads());`,
    { NUMFUSE_NUM_THREADS: "1" },
  );
  assert.equal(stdout, "1\n");
});
