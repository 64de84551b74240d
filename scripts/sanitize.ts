/**
 * Runs the Rust tests under the sanitizers, on demand (not in CI):
 * `deno task sanitize`. Needs the nightly toolchain; `-Zbuild-std` (an
 * instrumented std) and Miri need its `rust-src` and `miri` components
 * (`rustup component add --toolchain nightly rust-src miri`).
 *
 * 1. AddressSanitizer over the whole `numfuse-core` and `numfuse-ffi` test
 *    suites (debug build, leak detection on), in `rust/target/asan/`:
 *
 *    ```sh
 *    RUSTFLAGS=-Zsanitizer=address cargo +nightly test [-Zbuild-std] \
 *      --target x86_64-unknown-linux-gnu -p numfuse-core -p numfuse-ffi
 *    ```
 *
 *    with `-Zbuild-std` when `rust-src` is installed (else std is not
 *    instrumented, but every access numfuse makes is).
 * 2. Miri over `numfuse-core`'s unit tests and the validator and run tests
 *    of `tests/vm` (the kernel tests' large arrays are too slow under Miri),
 *    with a few fuzz cases:
 *
 *    ```sh
 *    NUMFUSE_FUZZ_CASES=8 MIRIFLAGS=-Zmiri-disable-isolation \
 *      cargo +nightly miri test -p numfuse-core --lib --test vm -- validate run
 *    ```
 *
 * Both add cargo's offline source arguments where Debian's crates are used
 * (`scripts/cargo.ts`). A missing tool is reported as a failure, never
 * skipped silently. Exits non-zero if anything failed.
 *
 * @module
 */

import { cargoSourceArgs, RUST_DIR } from "./cargo.ts";
import { CARGO_TEST_RESULT, Tally } from "./runner.ts";

const TARGET = "x86_64-unknown-linux-gnu";

/** Whether `cargo +nightly <args>` runs (to probe for a toolchain component). */
async function works(args: string[]): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("cargo", {
      args: ["+nightly", ...args],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

/** Whether the nightly toolchain has the `rust-src` component. */
async function hasRustSrc(): Promise<boolean> {
  const out = await new Deno.Command("rustc", { args: ["+nightly", "--print", "sysroot"] })
    .output();
  const sysroot = new TextDecoder().decode(out.stdout).trim();
  try {
    return (await Deno.stat(`${sysroot}/lib/rustlib/src/rust/library`)).isDirectory;
  } catch {
    return false;
  }
}

const tally = new Tally();
const source = await cargoSourceArgs();

// 1. AddressSanitizer.
const buildStd = await hasRustSrc();
if (!buildStd) console.log("rust-src is not installed: running ASan without -Zbuild-std");
const asan = await tally.step("cargo test under AddressSanitizer", "cargo", [
  "+nightly",
  "test",
  ...source,
  ...(buildStd ? ["-Zbuild-std"] : []),
  "--target",
  TARGET,
  "--target-dir",
  `${RUST_DIR}target/asan`,
  "-p",
  "numfuse-core",
  "-p",
  "numfuse-ffi",
], {
  cwd: RUST_DIR,
  env: { RUSTFLAGS: "-Zsanitizer=address", ASAN_OPTIONS: "detect_leaks=1" },
});
tally.count(asan.text, CARGO_TEST_RESULT);

// 2. Miri.
if (await works(["miri", "--version"])) {
  const miri = await tally.step("cargo miri test (core: unit, validate, run)", "cargo", [
    "+nightly",
    "miri",
    "test",
    ...source,
    "-p",
    "numfuse-core",
    "--lib",
    "--test",
    "vm",
    "--",
    "validate",
    "run",
  ], {
    cwd: RUST_DIR,
    env: { MIRIFLAGS: "-Zmiri-disable-isolation", NUMFUSE_FUZZ_CASES: "8" },
  });
  tally.count(miri.text, CARGO_TEST_RESULT);
} else {
  tally.problems.push(
    "Miri is not installed: rustup component add --toolchain nightly miri rust-src",
  );
}

tally.finish();
