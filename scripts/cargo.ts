/**
 * Runs cargo in `rust/` the way this machine allows. Where Debian's Rust
 * crates are installed (`/usr/share/cargo/registry`, from `librust-*-dev`),
 * cargo uses them through source replacement given on the command line, so no
 * cargo config of the user's is touched; where they are missing and apt-get
 * can install them (root on Debian), they are installed first. Anyone else
 * builds against crates.io as usual. `NUMFUSE_CARGO_SOURCE=crates-io` forces
 * the plain build.
 *
 * @module
 */

import { aptInstall } from "./apt.ts";

/** The Rust workspace. */
export const RUST_DIR = new URL("../rust/", import.meta.url).pathname;
const DEBIAN_REGISTRY = "/usr/share/cargo/registry";
/** The Debian packages that provide the crates the workspace depends on. */
const DEBIAN_CRATES = ["librust-rayon-dev"];

function hasDebianCrates(): boolean {
  try {
    for (const entry of Deno.readDirSync(DEBIAN_REGISTRY)) {
      if (entry.name.startsWith("rayon-1.")) return true;
    }
  } catch {
    return false;
  }
  return false;
}

async function run(cmd: string, args: string[], cwd?: string): Promise<boolean> {
  const { success } = await new Deno.Command(cmd, {
    args,
    cwd,
    stdout: "inherit",
    stderr: "inherit",
  })
    .output();
  return success;
}

let sourceArgs: Promise<string[]> | undefined;

/** The extra cargo arguments that pick the crate source (empty for crates.io). */
export function cargoSourceArgs(): Promise<string[]> {
  sourceArgs ??= (async () => {
    if (Deno.env.get("NUMFUSE_CARGO_SOURCE") === "crates-io") return [];
    if (!hasDebianCrates() && !(await aptInstall(DEBIAN_CRATES, "numfuse"))) {
      return [];
    }
    return [
      "--offline",
      "--config",
      'source.crates-io.replace-with="debian"',
      "--config",
      `source.debian.directory="${DEBIAN_REGISTRY}"`,
    ];
  })();
  return sourceArgs;
}

/** Runs `cargo <subcommand> <source args> <args>` in `rust/`; throws when it fails. */
export async function cargo(subcommand: string, ...args: string[]): Promise<void> {
  const all = [subcommand, ...(await cargoSourceArgs()), ...args];
  if (!await run("cargo", all, RUST_DIR)) {
    throw new Error(`cargo ${all.join(" ")} failed`);
  }
}
