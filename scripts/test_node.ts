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
import { ROOT, Tally } from "./runner.ts";

/** Files in `dir` whose names match. */
async function listFiles(dir: string, pattern: RegExp): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && pattern.test(entry.name)) names.push(entry.name);
  }
  return names.sort();
}

/** Builds the package and runs the Node tests and the smoke test, counting into `tally`. */
export async function testNode(tally: Tally): Promise<void> {
  try {
    await buildNpm();
  } catch (e) {
    tally.problems.push(`building the npm package: ${(e as Error).message}`);
    return;
  }

  // 2. node --test over the compiled shared tests and the addon tests.
  const testFiles = [
    ...(await listFiles(`${NPM_DIR}tests`, /_test\.js$/)).map((f) => `tests/${f}`),
    ...(await listFiles(`${NPM_DIR}tests/node`, /_node\.mjs$/)).map((f) => `tests/node/${f}`),
  ];
  const nodeTest = await tally.step("node --test", "node", [
    "--expose-gc",
    "--test",
    "--test-reporter=spec",
    ...testFiles,
  ], { cwd: NPM_DIR, env: { NUMFUSE_NODE_ADDON: "" } });
  const text = nodeTest.text;
  const pass = Number(/^ℹ pass (\d+)/m.exec(text)?.[1] ?? 0);
  const fail = Number(/^ℹ fail (\d+)/m.exec(text)?.[1] ?? (nodeTest.ok ? 0 : 1));
  tally.passed += pass;
  tally.failed += fail;
  console.log(`node --test: ${pass} passed, ${fail} failed`);

  // 3. The smoke test: pack, install, run.
  const smokeDir = await Deno.makeTempDir({ prefix: "numfuse_smoke_" });
  let smokePassed = 0, smokeFailed = 0;
  try {
    const packed = await tally.step("npm pack", "npm", [
      "pack",
      "--loglevel=warn",
      "--pack-destination",
      smokeDir,
    ], { cwd: NPM_DIR });
    const tarball = packed.text.trim().split("\n").filter((l) => l.endsWith(".tgz")).pop();
    if (!packed.ok || !tarball) throw new Error("npm pack did not report a tarball");
    await Deno.writeTextFile(
      `${smokeDir}/package.json`,
      JSON.stringify({ name: "numfuse-smoke", private: true, type: "module" }) + "\n",
    );
    const installed = await tally.step("npm install (the tarball)", "npm", [
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
    const adam = await tally.step("smoke: Adam from the installed package", "node", [
      "smoke_adam.mjs",
    ], {
      cwd: smokeDir,
      env: { NUMFUSE_NODE_ADDON: "" },
    });
    if (adam.ok) smokePassed++;
    else smokeFailed++;
    const pkgDir = `${smokeDir}/node_modules/numfuse/`;
    for (const addon of await listFiles(pkgDir, /\.node$/)) await Deno.remove(`${pkgDir}${addon}`);
    const missing = await tally.step("smoke: the error for a missing addon", "node", [
      "smoke_missing.mjs",
    ], { cwd: smokeDir, env: { NUMFUSE_NODE_ADDON: `${smokeDir}/nowhere/numfuse.node` } });
    if (missing.ok) smokePassed++;
    else smokeFailed++;
  } catch (e) {
    tally.problems.push(`smoke test: ${(e as Error).message}`);
    smokeFailed++;
  } finally {
    await Deno.remove(smokeDir, { recursive: true });
  }
  tally.passed += smokePassed;
  tally.failed += smokeFailed;
  console.log(`smoke: ${smokePassed} passed, ${smokeFailed} failed`);
}

if (import.meta.main) {
  const tally = new Tally();
  await testNode(tally);
  tally.finish();
}
