/**
 * The Python the NumPy scripts run under: Debian's `/usr/bin/python3`
 * (`NUMFUSE_PYTHON` overrides it), with Debian's packages (`python3-numpy`,
 * ...) installed by apt-get when they are missing and we are root. Used by
 * `scripts/compare.ts`, `scripts/test.ts` and `tests/golden_test.ts`.
 *
 * @module
 */

import { aptInstall } from "./apt.ts";

/** The Python interpreter to use: `NUMFUSE_PYTHON`, else Debian's `/usr/bin/python3`. */
export function pythonPath(): string {
  return Deno.env.get("NUMFUSE_PYTHON") ?? "/usr/bin/python3";
}

/** Whether `python` runs and imports every one of `modules`. */
export async function pythonImports(python: string, modules: readonly string[]): Promise<boolean> {
  try {
    const out = await new Deno.Command(python, {
      args: ["-c", `import ${modules.join(", ")}`],
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false; // no such interpreter
  }
}

/**
 * The Python of {@linkcode pythonPath} once it imports `modules`, installing
 * the Debian `packages` that provide them when they are missing and we are
 * root; undefined when that is not possible.
 */
export async function findPython(
  modules: readonly string[],
  packages: readonly string[],
  who: string,
): Promise<string | undefined> {
  const python = pythonPath();
  if (await pythonImports(python, modules)) return python;
  if (await aptInstall(packages, who) && await pythonImports(python, modules)) {
    return python;
  }
  return undefined;
}

/**
 * What a goldens script writes when asked for stdout (`script -`), run with
 * {@linkcode pythonPath}'s Python; throws if it fails. The goldens tests
 * compare it with the committed file.
 */
export async function regenerate(script: string): Promise<string> {
  const out = await new Deno.Command(pythonPath(), {
    args: [script, "-"],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`${script} failed`);
  return new TextDecoder().decode(out.stdout);
}
