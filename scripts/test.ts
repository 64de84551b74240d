/**
 * Runs every check and test: `deno task test`.
 *
 * Builds the native library, runs the Rust tests (and, cross compiled, under
 * qemu for aarch64: `scripts/test_aarch64.ts`), checks that the tree is
 * clean (deno fmt/lint/check, cargo fmt/clippy), then runs the Deno tests
 * (with Debian's python3-numpy installed first when we are root, for the
 * freshness check of the NumPy goldens).
 * Prints the counts of each runner and a closing `tests: N passed, N failed`.
 *
 * @module
 */

import { cargo, cargoSourceArgs, RUST_DIR } from "./cargo.ts";
import { findPython } from "./python.ts";
import { CARGO_TEST_RESULT, Tally } from "./runner.ts";
import { testAarch64 } from "./test_aarch64.ts";
import { testNode } from "./test_node.ts";

const DENO = Deno.execPath();
const tally = new Tally();

/**
 * The TypeScript files of a folder; its plain-JS files run under Node against
 * the built package, which `deno check` cannot resolve before it is built.
 */
function typeScriptFiles(dir: string): string[] {
  return [...Deno.readDirSync(new URL(`../${dir}/`, import.meta.url))]
    .filter((e) => e.isFile && e.name.endsWith(".ts"))
    .map((e) => `${dir}/${e.name}`)
    .sort();
}

await cargo("build", "--release", "-p", "numfuse-ffi");
const source = await cargoSourceArgs();
tally.count(
  (await tally.step("cargo test", "cargo", ["test", "--release", ...source], { cwd: RUST_DIR }))
    .text,
  CARGO_TEST_RESULT,
);
await tally.step("cargo fmt --check", "cargo", ["fmt", "--all", "--check"], { cwd: RUST_DIR });
await tally.step("cargo clippy", "cargo", [
  "clippy",
  "--release",
  "--all-targets",
  ...source,
  "--",
  "-D",
  "warnings",
], { cwd: RUST_DIR });
await testAarch64(tally);
await tally.step("deno fmt --check", DENO, ["fmt", "--check"]);
await tally.step("deno lint", DENO, ["lint"]);
await tally.step("deno check", DENO, [
  "check",
  "mod.ts",
  "mod_node.ts",
  "src/",
  "scripts/",
  ...typeScriptFiles("bench"),
  ...typeScriptFiles("tests"),
]);
// Debian's NumPy (installed as root, as compare does), so that tests/golden_test.ts
// checks that scripts/gen_goldens.py still writes tests/goldens/numpy.json.
if (await findPython(["numpy"], ["python3-numpy"], "test") === undefined) {
  console.error("test: no Python with NumPy: the NumPy goldens' freshness check is skipped");
}
tally.count(
  (await tally.step("deno test", DENO, [
    "test",
    "--allow-ffi",
    "--allow-read",
    "--allow-env",
    "--allow-run",
    "tests/",
  ])).text,
  /(\d+) passed \| (\d+) failed/g,
);
// The same end-to-end, golden and differential tests on the lower ISAs' kernels.
for (const isa of ["avx2", "baseline"]) {
  tally.count(
    (await tally.step(`deno test (NUMFUSE_ISA=${isa})`, DENO, [
      "test",
      "--allow-ffi",
      "--allow-read",
      "--allow-env",
      "--allow-run",
      "tests/e2e_test.ts",
      "tests/golden_test.ts",
      "tests/differential_test.ts",
    ], { env: { NUMFUSE_ISA: isa } })).text,
    /(\d+) passed \| (\d+) failed/g,
  );
}

await testNode(tally);
tally.finish();
