/**
 * The one error of the expression compiler: an {@linkcode ExpressionError}
 * carries the offset of the offending text and a caret snippet pointing at it.
 *
 * @module
 */

import type { Span } from "./ast.ts";

/**
 * A lexical, syntax or type error in an expression, raised at a source position.
 *
 * `message` is `at ${offset}: ${detail}`; `snippet` is the source line with a
 * caret line under the offending span.
 *
 * @example
 * ```ts
 * import { ExpressionError } from "./errors.ts";
 * const e = new ExpressionError("tanhh(x)", { start: 0, end: 5 }, "unknown function 'tanhh'");
 * e.message; // "at 0: unknown function 'tanhh'"
 * e.snippet; // "tanhh(x)\n^^^^^"
 * ```
 */
export class ExpressionError extends SyntaxError {
  /** Offset of the offending text in `source`, in UTF-16 code units. */
  readonly offset: number;
  /** The whole expression. */
  readonly source: string;
  /** What is wrong, without the position. */
  readonly detail: string;
  /** The source line holding the error and a caret line under the offending span. */
  readonly snippet: string;
  readonly #span: Span;

  /** Makes an error at `span` of `source`. */
  constructor(source: string, span: Span, detail: string) {
    super(`at ${span.start}: ${detail}`);
    this.name = "ExpressionError";
    this.#span = { start: span.start, end: span.end };
    this.offset = span.start;
    this.source = source;
    this.detail = detail;
    this.snippet = caretSnippet(source, span);
  }

  /**
   * The same error in another text with the same offsets: a phase of a
   * program (`src/phases.ts`) is compiled from the program's source with the
   * other phases blanked, and its errors are shown in the program as written.
   */
  in(source: string): ExpressionError {
    return new ExpressionError(source, this.#span, this.detail);
  }
}

function caretSnippet(source: string, span: Span): string {
  const lineStart = source.lastIndexOf("\n", span.start - 1) + 1;
  const newline = source.indexOf("\n", span.start);
  const lineEnd = newline < 0 ? source.length : newline;
  const pad = source.slice(lineStart, span.start).replace(/[^\t]/g, " ");
  const width = Math.max(1, Math.min(span.end, lineEnd) - span.start);
  return `${source.slice(lineStart, lineEnd)}\n${pad}${"^".repeat(width)}`;
}

/** Levenshtein distance between two strings. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min(prev[j] + 1, row[j - 1] + 1, substitution));
    }
    prev = row;
  }
  return prev[b.length];
}

/**
 * The candidate closest to `name` by edit distance, if it is close enough to
 * be a likely typo: at most 2 edits, and at most half of `name` (at least 1).
 * Ties go to the earliest candidate.
 *
 * @example
 * ```ts
 * import { suggest } from "./errors.ts";
 * suggest("tanhh", ["sin", "tanh"]); // "tanh"
 * suggest("foo", ["sin", "tanh"]); // undefined
 * ```
 */
export function suggest(name: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.min(2, Math.max(1, Math.floor(name.length / 2)));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const candidate of candidates) {
    if (candidate === name) continue;
    const d = editDistance(name, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/** `"; did you mean 'x'?"` when a suggestion exists, else `""`. */
export function didYouMean(name: string, candidates: Iterable<string>): string {
  const s = suggest(name, candidates);
  return s === undefined ? "" : `; did you mean '${s}'?`;
}
