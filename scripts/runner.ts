/**
 * A tally of test steps for the test scripts: runs commands with their output
 * echoed, counts what their runners report, and prints the closing
 * `tests: N passed, N failed` line.
 *
 * @module
 */

/** The repository root. */
export const ROOT = new URL("../", import.meta.url).pathname;

// deno-lint-ignore no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/** What `cargo test` prints per test binary: its passed and failed counts, for {@linkcode Tally.count}. */
export const CARGO_TEST_RESULT = /test result: \w+\. (\d+) passed; (\d+) failed/g;

/** What a command printed to stdout, or undefined if it failed or does not exist. */
export async function output(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
    return out.success ? new TextDecoder().decode(out.stdout) : undefined;
  } catch {
    return undefined;
  }
}

/** Text without terminal colour codes. */
export function stripAnsi(s: string): string {
  return s.replace(ANSI, "");
}

/** Options of a step's command. */
export interface StepOptions {
  /** Working directory (default: the repository root). */
  readonly cwd?: string;
  /** Extra environment variables. */
  readonly env?: Record<string, string>;
}

/** Collects the steps' outcomes. */
export class Tally {
  passed = 0;
  failed = 0;
  readonly problems: string[] = [];

  /** Runs a command, echoing its output; returns its success and what it printed. */
  async step(
    label: string,
    cmd: string,
    args: string[],
    options: StepOptions = {},
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
    if (!status.success) this.problems.push(`${label} failed (exit ${status.code})`);
    return { ok: status.success, text: stripAnsi(text) };
  }

  /** Adds every `(passed, failed)` pair that `pattern` finds in a runner's output. */
  count(text: string, pattern: RegExp): void {
    for (const m of text.matchAll(pattern)) {
      this.passed += Number(m[1]);
      this.failed += Number(m[2]);
    }
  }

  /** Prints the problems and the closing line; exits non-zero if anything failed. */
  finish(): never {
    console.log();
    for (const p of this.problems) console.log(`FAILED: ${p}`);
    console.log(`tests: ${this.passed} passed, ${this.failed} failed`);
    Deno.exit(this.problems.length === 0 && this.failed === 0 ? 0 : 1);
  }
}
