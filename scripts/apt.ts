/**
 * Installs Debian packages for the scripts that need them (Rust crates,
 * Python oracles, the aarch64 cross toolchain), the one way this machine
 * allows: apt-get, as root.
 *
 * @module
 */

import { output } from "./runner.ts";

/** Runs a command with its output shown; whether it succeeded (false if it does not exist). */
async function succeeds(cmd: string, args: string[]): Promise<boolean> {
  try {
    return (await new Deno.Command(cmd, {
      args,
      env: { DEBIAN_FRONTEND: "noninteractive" },
      stdout: "inherit",
      stderr: "inherit",
    }).output()).success;
  } catch {
    return false;
  }
}

/**
 * Whether we run as root, asked of `id -u` (`Deno.uid()` would need
 * `--allow-sys`, which the tasks that install do not all have).
 */
async function isRoot(): Promise<boolean> {
  return (await output("id", ["-u"]))?.trim() === "0";
}

/**
 * Installs `packages` with apt-get, updating the package lists first when
 * the install fails or a foreign `architecture` (such as `arm64`, for
 * `name:arm64` packages) was just added with dpkg; whether it worked.
 * False at once unless we are root.
 */
export async function aptInstall(
  packages: readonly string[],
  who: string,
  architecture?: string,
): Promise<boolean> {
  if (!await isRoot()) return false;
  console.error(`${who}: installing ${packages.join(" ")} with apt-get`);
  const install = () => succeeds("apt-get", ["install", "-y", "-qq", ...packages]);
  const update = () => succeeds("apt-get", ["update", "-qq"]);
  if (architecture !== undefined) {
    return await succeeds("dpkg", ["--add-architecture", architecture]) && await update() &&
      await install();
  }
  return await install() || (await update() && await install());
}
