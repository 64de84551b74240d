/**
 * The Rust tests on aarch64, where the kernels' baseline ISA is NEON, cross
 * compiled and run under qemu's user-mode emulation; a step of
 * `deno task test` (`scripts/test.ts`).
 *
 * 1. Finds a rustc with the aarch64 standard library (the user's, or
 *    Debian's `rustc-web` with `libstd-rust-web-dev:arm64`), the GNU cross
 *    linker, `qemu-aarch64-static` and the arm64 C library; as root on
 *    Debian, installs what is missing with apt-get (adding the arm64
 *    architecture to dpkg).
 * 2. Runs `cargo test --release --target aarch64-unknown-linux-gnu` over
 *    `numfuse-core`, `numfuse-vecmath` and `numfuse-ffi` (every kernel
 *    against its scalar reference, the vector math's accuracy and special
 *    values, the VM and the C ABI), in `rust/target/aarch64/`.
 * 3. Checks in the disassembly of the VM tests' binary that the baseline
 *    kernels are NEON code: float32 and float64 arithmetic on `.4s` / `.2d`
 *    lanes.
 *
 * Without the tools the step fails, naming them; `NUMFUSE_AARCH64=skip`
 * skips it.
 *
 * @module
 */

import { aptInstall } from "./apt.ts";
import { cargoSourceArgs, RUST_DIR } from "./cargo.ts";
import { CARGO_TEST_RESULT, output, type Tally } from "./runner.ts";

const TARGET = "aarch64-unknown-linux-gnu";
const LINKER = "aarch64-linux-gnu-gcc";
const OBJDUMP = "aarch64-linux-gnu-objdump";
const RUNNER = "qemu-aarch64-static";
/** The arm64 dynamic loader the runner starts the binaries with (from `libc6:arm64`). */
const LOADER = "/lib/ld-linux-aarch64.so.1";
/** What provides the above on Debian 12. */
const PACKAGES = [
  "rustc-web",
  "libstd-rust-web-dev:arm64",
  "libc6:arm64",
  "gcc-aarch64-linux-gnu",
  "binutils-aarch64-linux-gnu",
  "qemu-user-static",
];
/**
 * The fewest NEON float instructions of each width the baseline kernels
 * must hold (measured: ~550 on `.4s` lanes and ~7,700 on `.2d`; most
 * float32 functions compute in float64). A scalar build has none.
 */
const MIN_NEON_FLOAT_OPS = 50;
/** The longest the cross build and emulated tests may take (`timeout`'s syntax; ~7 minutes here, so a hang leaves CI under 30). */
const TIMEOUT = "12m";

/** A rustc that has the aarch64 standard library, if any (its rustdoc is beside it). */
async function targetRustc(): Promise<string | undefined> {
  for (const rustc of ["rustc", "/usr/bin/rustc"]) {
    const dir = (await output(rustc, ["--print", "target-libdir", "--target", TARGET]))?.trim();
    if (dir === undefined) continue;
    try {
      for (const entry of Deno.readDirSync(dir)) {
        if (entry.name.startsWith("libcore-")) return rustc;
      }
    } catch {
      // no such directory: this rustc lacks the target
    }
  }
  return undefined;
}

/** The rustc to cross-compile with, if every tool the step needs is there. */
async function findTools(): Promise<string | undefined> {
  const rustc = await targetRustc();
  const tools = await Promise.all(
    [LINKER, OBJDUMP, RUNNER].map((tool) => output(tool, ["--version"])),
  );
  let loader = false;
  try {
    loader = Deno.statSync(LOADER).isFile;
  } catch {
    // not installed
  }
  return tools.every((t) => t !== undefined) && loader ? rustc : undefined;
}

/** Counts of NEON float arithmetic on float32 (`.4s`) and float64 (`.2d`) lanes in the baseline kernels. */
async function neonFloatOps(binary: string): Promise<{ f32: number; f64: number }> {
  const dump = await output(OBJDUMP, ["-d", "--no-show-raw-insn", binary]);
  if (dump === undefined) throw new Error(`${OBJDUMP} -d ${binary} failed`);
  const op = /^\s+[0-9a-f]+:\s+f(?:add|sub|mul|div|max|min|cm\w\w|sqrt|neg|abs)\s+v\d+\.(4s|2d)/;
  const counts = { f32: 0, f64: 0 };
  let inKernel = false;
  for (const line of dump.split("\n")) {
    // a function's header line: `0000000000012340 <mangled name>:`
    if (/^[0-9a-f]+ </.test(line)) {
      inKernel = line.includes("7kernels8baseline");
      continue;
    }
    const m = inKernel ? op.exec(line) : null;
    if (m) counts[m[1] === "4s" ? "f32" : "f64"]++;
  }
  return counts;
}

/** Runs the aarch64 steps, counting into `tally`. */
export async function testAarch64(tally: Tally): Promise<void> {
  if (Deno.env.get("NUMFUSE_AARCH64") === "skip") {
    console.log("\n==> aarch64: skipped (NUMFUSE_AARCH64=skip)");
    return;
  }
  const rustc = await findTools() ??
    (await aptInstall(PACKAGES, "test", "arm64") ? await findTools() : undefined);
  if (rustc === undefined) {
    tally.problems.push(
      `aarch64: needs a rustc with the ${TARGET} standard library, ${LINKER}, ${OBJDUMP}, ` +
        `${RUNNER} and ${LOADER} (Debian: ${PACKAGES.join(" ")}); NUMFUSE_AARCH64=skip skips it`,
    );
    return;
  }
  const upper = TARGET.toUpperCase().replaceAll("-", "_");
  // Emulated runs that hang (an arm64 C library not matching its loader
  // spun forever in pthread_create) end with the step instead of the CI.
  const run = await tally.step(`cargo test --target ${TARGET} (qemu)`, "timeout", [
    TIMEOUT,
    "cargo",
    "test",
    "--release",
    "--target",
    TARGET,
    "--target-dir",
    "target/aarch64",
    "-p",
    "numfuse-core",
    "-p",
    "numfuse-vecmath",
    "-p",
    "numfuse-ffi",
    ...(await cargoSourceArgs()),
  ], {
    cwd: RUST_DIR,
    env: {
      RUSTC: rustc,
      RUSTDOC: rustc.replace(/rustc$/, "rustdoc"),
      [`CARGO_TARGET_${upper}_LINKER`]: LINKER,
      [`CARGO_TARGET_${upper}_RUNNER`]: RUNNER,
    },
  });
  tally.count(run.text, CARGO_TEST_RESULT);

  const vm = /Running tests\/vm\/main\.rs \((.+)\)/.exec(run.text)?.[1];
  if (vm === undefined) {
    tally.problems.push("aarch64: the VM tests' binary was not run, so its code is unchecked");
    return;
  }
  const { f32, f64 } = await neonFloatOps(`${RUST_DIR}${vm}`);
  const ok = f32 >= MIN_NEON_FLOAT_OPS && f64 >= MIN_NEON_FLOAT_OPS;
  console.log(
    `aarch64 baseline kernels: ${f32} NEON float instructions on .4s lanes, ${f64} on .2d ` +
      `(at least ${MIN_NEON_FLOAT_OPS} each expected)`,
  );
  if (ok) {
    tally.passed++;
  } else {
    tally.failed++;
    tally.problems.push("aarch64: the baseline kernels are not NEON code");
  }
}
