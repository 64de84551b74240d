import assert from "node:assert/strict";
import { ExpressionError } from "../src/errors.ts";
import { tokenize } from "../src/lexer.ts";

/** `kind:text` per token, eof left out. */
function lex(source: string): string {
  return tokenize(source)
    .filter((t) => t.kind !== "eof")
    .map((t) => `${t.kind}:${source.slice(t.start, t.end)}`)
    .join(" ");
}

Deno.test("lexer splits numbers, names and operators", () => {
  const table: [string, string][] = [
    ["42", "int:42"],
    ["0x1F", "int:0x1F"],
    ["0b101 0o17", "int:0b101 int:0o17"],
    ["1e-8", "float:1e-8"],
    ["1E+3", "float:1E+3"],
    [".5", "float:.5"],
    ["2.", "float:2."],
    ["2.5e3", "float:2.5e3"],
    ["0.0", "float:0.0"],
    ["x_1 _y Z", "name:x_1 name:_y name:Z"],
    ["a**-b", "name:a **:** -:- name:b"],
    ["a//b%c", "name:a //:// name:b %:% name:c"],
    ["<<>><=>===!=<>", "<<:<< >>:>> <=:<= >=:>= ==:== !=:!= <:< >:>"],
    ["&|^~", "&:& |:| ^:^ ~:~"],
    ["f(a, b)", "name:f (:( name:a ,:, name:b ):)"],
    ["m = m + 1; v = 2", "name:m =:= name:m +:+ int:1 ;:; name:v =:= int:2"],
    ["a\nb", "name:a newline:\n name:b"],
    ["a # comment\n", "name:a newline:\n"],
    ["\t a \r", "name:a"],
    ["", ""],
  ];
  for (const [source, expected] of table) assert.equal(lex(source), expected, source);
});

Deno.test("lexer tokens are spans of the source", () => {
  const tokens = tokenize("  xy**2.5");
  assert.deepEqual(tokens, [
    { kind: "name", start: 2, end: 4 },
    { kind: "**", start: 4, end: 6 },
    { kind: "float", start: 6, end: 9 },
    { kind: "eof", start: 9, end: 9 },
  ]);
});

Deno.test("lexer rejects bad characters and malformed numbers at their offset", () => {
  const table: [string, number, string, string][] = [
    ["x $ y", 2, "unexpected character '$'", "x $ y\n  ^"],
    ["a ! b", 2, "unexpected character '!'", "a ! b\n  ^"],
    ["é", 0, "unexpected character 'é'", "é\n^"],
    ["x + 😀", 4, "unexpected character '😀'", "x + 😀\n    ^^"],
    ["a.b", 1, "unexpected character '.'", "a.b\n ^"],
    ["1e", 0, "invalid number literal '1e'", "1e\n^^"],
    ["1e+x", 0, "invalid number literal '1e+x'", "1e+x\n^^^^"],
    ["2x", 0, "invalid number literal '2x'", "2x\n^^"],
    ["1_000", 0, "invalid number literal '1_000'", "1_000\n^^^^^"],
    ["x + 1.2.3", 4, "invalid number literal '1.2.3'", "x + 1.2.3\n    ^^^^^"],
    ["0x", 0, "invalid number literal '0x'", "0x\n^^"],
    ["0b2", 0, "invalid number literal '0b2'", "0b2\n^^^"],
    ["007", 0, "invalid number literal '007': leading zeros are not allowed", "007\n^^^"],
    ["007x", 0, "invalid number literal '007x'", "007x\n^^^^"],
    ["a +\n\tb $", 7, "unexpected character '$'", "\tb $\n\t  ^"],
  ];
  for (const [source, offset, detail, snippet] of table) {
    assert.throws(() => tokenize(source), (e: unknown) => {
      assert.ok(e instanceof ExpressionError, source);
      assert.ok(e instanceof SyntaxError);
      assert.equal(e.name, "ExpressionError");
      assert.equal(e.offset, offset, source);
      assert.equal(e.detail, detail, source);
      assert.equal(e.message, `at ${offset}: ${detail}`, source);
      assert.equal(e.snippet, snippet, source);
      assert.equal(e.source, source);
      return true;
    });
  }
});
