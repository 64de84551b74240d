/**
 * The lexer: turns an expression into tokens that are offsets into the source
 * (zero-copy; a token's text is `source.slice(token.start, token.end)`).
 *
 * Numbers are written as in Python (`42`, `0x1F`, `0o17`, `0b101`, `1e-8`,
 * `.5`, `2.`); names are `[A-Za-z_][A-Za-z0-9_]*`; `#` starts a comment that
 * runs to the end of the line; spaces, tabs and `\r` are skipped; `\n` is a
 * token (statements are separated by newlines or `;`).
 *
 * @module
 */

import { ExpressionError } from "./errors.ts";

/** Operators and punctuation, as written. Longest first where one prefixes another. */
export const PUNCTUATORS = [
  "**",
  "//",
  "<<",
  ">>",
  "<=",
  ">=",
  "==",
  "!=",
  "+",
  "-",
  "*",
  "/",
  "%",
  "&",
  "|",
  "^",
  "~",
  "<",
  ">",
  "(",
  ")",
  ",",
  "=",
  ";",
] as const;

/** An operator or punctuation token kind: its text. */
export type Punctuator = typeof PUNCTUATORS[number];

/** What a token is. */
export type TokenKind = "int" | "float" | "name" | "newline" | "eof" | Punctuator;

/** A token: its kind and its span in the source. */
export interface Token {
  /** The kind; for operators and punctuation, their text. */
  readonly kind: TokenKind;
  /** Offset of the first character. */
  readonly start: number;
  /** Offset one past the last character. */
  readonly end: number;
}

const isDigit = (c: string) => c >= "0" && c <= "9";
const isNameStart = (c: string) => (c >= "a" && c <= "z") || (c >= "A" && c <= "Z") || c === "_";
const isNameChar = (c: string) => isNameStart(c) || isDigit(c);
const RADIX_DIGITS: Record<string, RegExp> = { x: /[0-9a-fA-F]/, o: /[0-7]/, b: /[01]/ };

/**
 * Splits `source` into tokens, ending with one `eof` token at `source.length`.
 *
 * @throws {ExpressionError} on a character that starts no token or a malformed number
 *
 * @example
 * ```ts
 * import { tokenize } from "./lexer.ts";
 * tokenize("x**2").map((t) => t.kind); // ["name", "**", "int", "eof"]
 * ```
 */
export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    if (c === " " || c === "\t" || c === "\r") {
      i++;
    } else if (c === "#") {
      while (i < source.length && source[i] !== "\n") i++;
    } else if (c === "\n") {
      tokens.push({ kind: "newline", start: i, end: i + 1 });
      i++;
    } else if (isDigit(c) || (c === "." && isDigit(source[i + 1] ?? ""))) {
      const token = lexNumber(source, i);
      tokens.push(token);
      i = token.end;
    } else if (isNameStart(c)) {
      const start = i;
      while (i < source.length && isNameChar(source[i])) i++;
      tokens.push({ kind: "name", start, end: i });
    } else {
      const punctuator = PUNCTUATORS.find((p) => source.startsWith(p, i));
      if (punctuator === undefined) {
        const ch = String.fromCodePoint(source.codePointAt(i)!);
        throw new ExpressionError(
          source,
          { start: i, end: i + ch.length },
          `unexpected character '${ch}'`,
        );
      }
      tokens.push({ kind: punctuator, start: i, end: i + punctuator.length });
      i += punctuator.length;
    }
  }
  tokens.push({ kind: "eof", start: source.length, end: source.length });
  return tokens;
}

function lexNumber(source: string, start: number): Token {
  let i = start;
  let kind: "int" | "float" = "int";
  const digits = (test: (c: string) => boolean) => {
    const from = i;
    while (i < source.length && test(source[i])) i++;
    return i > from;
  };
  const radix = source[i] === "0" ? RADIX_DIGITS[(source[i + 1] ?? "").toLowerCase()] : undefined;
  let valid = true;
  if (radix !== undefined) {
    i += 2;
    valid = digits((c) => radix.test(c));
  } else {
    digits(isDigit);
    if (source[i] === ".") {
      kind = "float";
      i++;
      digits(isDigit);
    }
    if (source[i] === "e" || source[i] === "E") {
      kind = "float";
      i++;
      if (source[i] === "+" || source[i] === "-") i++;
      valid = digits(isDigit);
    }
  }
  const leadingZeros = kind === "int" && radix === undefined &&
    /^0+[1-9]/.test(source.slice(start, i));
  const trailing = isNameChar(source[i] ?? "") || source[i] === ".";
  if (!valid || leadingZeros || trailing) {
    const reason = valid && !trailing ? ": leading zeros are not allowed" : "";
    while (i < source.length && (isNameChar(source[i]) || source[i] === ".")) i++;
    const text = source.slice(start, i);
    throw new ExpressionError(
      source,
      { start, end: i },
      `invalid number literal '${text}'${reason}`,
    );
  }
  return { kind, start, end: i };
}
