/**
 * Runs every check and test: `deno task test`.
 *
 * Builds the native library, runs the Rust tests, checks that the tree is
 * clean (deno fmt/lint/check, cargo fmt/clippy), then runs the Deno tests.
 * Prints the counts of each runner and a closing `tests: N passed, N failed`.
 *
 * @module
 */

import { cargo, cargoSourceArgs, RUST_DIR } from "./cargo.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const DENO = Deno.execPath();

let passed = 0;
let failed = 0;
const problems: string[] = [];

/** Runs a command, echoing its output, and returns what it printed. */
async function step(label: string, cmd: string, args: string[], cwd = ROOT): Promise<string> {
  console.log(`\n==> ${label}`);
  const child = new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).spawn();
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
  return text;
}

/** The TypeScript test files (tests/node/ holds plain-JS tests that run under Node). */
function typeScriptTests(): string[] {
  return [...Deno.readDirSync(new URL("../tests/", import.meta.url))]
    .filter((e) => e.isFile && e.name.endsWith(".ts"))
    .map((e) => `tests/${e.name}`)
    .sort();
}

// deno-lint-ignore no-control-regex
const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, "");

function count(text: string, pattern: RegExp) {
  for (const m of stripAnsi(text).matchAll(pattern)) {
    passed += Number(m[1]);
    failed += Number(m[2]);
  }
}

await cargo("build", "--release", "-p", "numfuse-ffi");
const source = await cargoSourceArgs();
count(
  await step("cargo test", "cargo", ["test", "--release", ...source], RUST_DIR),
  /test result: \w+\. (\d+) passed; (\d+) failed/g,
);
await step("cargo fmt --check", "cargo", ["fmt", "--all", "--check"], RUST_DIR);
await step("cargo clippy", "cargo", [
  "clippy",
  "--release",
  "--all-targets",
  ...source,
  "--",
  "-D",
  "warnings",
], RUST_DIR);
await step("deno fmt --check", DENO, ["fmt", "--check"]);
await step("deno lint", DENO, ["lint"]);
await step("deno check", DENO, [
  "check",
  "mod.ts",
  "src/",
  "scripts/",
  "bench/",
  ...typeScriptTests(),
]);
count(
  await step("deno test", DENO, [
    "test",
    "--allow-ffi",
    "--allow-read",
    "--allow-env",
    "--allow-run",
    "tests/",
  ]),
  /(\d+) passed \| (\d+) failed/g,
);

console.log();
for (const p of problems) console.log(`FAILED: ${p}`);
console.log(`tests: ${passed} passed, ${failed} failed`);
Deno.exit(problems.length === 0 && failed === 0 ? 0 : 1);
