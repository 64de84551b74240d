/**
 * Runs numfuse's tests under Node:
 *
 * ```sh
 * deno run --allow-run --allow-read --allow-write --allow-env scripts/test_node.ts
 * ```
 *
 * 1. builds the npm package (`scripts/build_npm.ts`: addon, JS, types, tests);
 * 2. runs the shared tests compiled for Node (`npm/tests/*_test.js`) and the
 *    addon tests (`npm/tests/node/*_node.mjs`) with `node --test`;
 * 3. smoke-tests the package as a user gets it: `npm pack`, `npm install` of
 *    the tarball (offline) into a temporary directory, then a plain `.mjs`
 *    runs the seed's Adam step against a float32 JS loop; then, with the
 *    `.node` removed, that the load error lists every place tried.
 *
 * Prints the counts of each runner and a closing `tests: N passed, N failed`;
 * exits non-zero when anything failed.
 *
 * @module
 */

import { buildNpm, NPM_DIR } from "./build_npm.ts";

const ROOT = new URL("../", import.meta.url).pathname;

let passed = 0;
let failed = 0;
const problems: string[] = [];

// deno-lint-ignore no-control-regex
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");

/** Runs a command, echoing its output; returns its success and what it printed. */
async function step(
  label: string,
  cmd: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<{ ok: boolean; text: string }> {
  console.log(`\n==> ${label}`);
  const child = new Deno.Command(cmd, {
    args,
    cwd: options.cwd ?? ROOT,
    env: options.env,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const decoder = new TextDecoder();
  let text = "";
  const pump = async (stream: ReadableStream<Uint8Array>, sink: typeof Deno.stdout) => {
    for await (const chunk of stream) {
      text += decoder.decode(chunk, { stream: true });
      await sink.write(chunk);
    }
  };
  const [status] = await Promise.all([
    child.status,
    pump(child.stdout, Deno.stdout),
    pump(child.stderr, Deno.stderr),
  ]);
  if (!status.success) problems.push(`${label} failed (exit ${status.code})`);
  return { ok: status.success, text };
}

/** Files in `dir` whose names match. */
async function listFiles(dir: string, pattern: RegExp): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && pattern.test(entry.name)) names.push(entry.name);
  }
  return names.sort();
}

await buildNpm();

// 2. node --test over the compiled shared tests and the addon tests.
const testFiles = [
  ...(await listFiles(`${NPM_DIR}tests`, /_test\.js$/)).map((f) => `tests/${f}`),
  ...(await listFiles(`${NPM_DIR}tests/node`, /_node\.mjs$/)).map((f) => `tests/node/${f}`),
];
const nodeTest = await step("node --test", "node", [
  "--expose-gc",
  "--test",
  "--test-reporter=spec",
  ...testFiles,
], { cwd: NPM_DIR, env: { NUMFUSE_NODE_ADDON: "" } });
const text = stripAnsi(nodeTest.text);
const pass = Number(/^ℹ pass (\d+)/m.exec(text)?.[1] ?? 0);
const fail = Number(/^ℹ fail (\d+)/m.exec(text)?.[1] ?? (nodeTest.ok ? 0 : 1));
passed += pass;
failed += fail;
console.log(`node --test: ${pass} passed, ${fail} failed`);

// 3. The smoke test: pack, install, run.
const smokeDir = await Deno.makeTempDir({ prefix: "numfuse_smoke_" });
let smokePassed = 0, smokeFailed = 0;
try {
  const packed = await step("npm pack", "npm", [
    "pack",
    "--pack-destination",
    smokeDir,
  ], { cwd: NPM_DIR });
  const tarball = stripAnsi(packed.text).trim().split("\n").filter((l) => l.endsWith(".tgz")).pop();
  if (!packed.ok || !tarball) throw new Error("npm pack did not report a tarball");
  await Deno.writeTextFile(
    `${smokeDir}/package.json`,
    JSON.stringify({ name: "numfuse-smoke", private: true, type: "module" }) + "\n",
  );
  const installed = await step("npm install (the tarball)", "npm", [
    "install",
    "--offline",
    "--no-audit",
    "--no-fund",
    `${smokeDir}/${tarball.trim()}`,
  ], { cwd: smokeDir });
  if (!installed.ok) throw new Error("npm install of the tarball failed");
  for (const name of ["smoke_adam.mjs", "smoke_missing.mjs"]) {
    await Deno.copyFile(`${ROOT}tests/node/${name}`, `${smokeDir}/${name}`);
  }
  const adam = await step("smoke: Adam from the installed package", "node", ["smoke_adam.mjs"], {
    cwd: smokeDir,
    env: { NUMFUSE_NODE_ADDON: "" },
  });
  if (adam.ok) smokePassed++;
  else smokeFailed++;
  const pkgDir = `${smokeDir}/node_modules/numfuse/`;
  for (const addon of await listFiles(pkgDir, /\.node$/)) await Deno.remove(`${pkgDir}${addon}`);
  const missing = await step("smoke: the error for a missing addon", "node", [
    "smoke_missing.mjs",
  ], { cwd: smokeDir, env: { NUMFUSE_NODE_ADDON: `${smokeDir}/nowhere/numfuse.node` } });
  if (missing.ok) smokePassed++;
  else smokeFailed++;
} catch (e) {
  problems.push(`smoke test: ${(e as Error).message}`);
  smokeFailed++;
} finally {
  await Deno.remove(smokeDir, { recursive: true });
}
passed += smokePassed;
failed += smokeFailed;
console.log(`smoke: ${smokePassed} passed, ${smokeFailed} failed`);

console.log();
for (const p of problems) console.log(`FAILED: ${p}`);
console.log(`tests: ${passed} passed, ${failed} failed`);
Deno.exit(problems.length === 0 && failed === 0 ? 0 : 1);
