/**
 * Promotion and casting against NumPy's own tables (printed by NumPy 1.24's
 * `np.result_type` and `np.can_cast`, which NumPy 2 keeps for arrays).
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { canCast, type DType, DTYPES, promote, promoteWeak } from "../src/dtype.ts";

/** NumPy type characters, in `DTYPES` order (`l` and `q` are both int64 on Linux). */
const CHAR: Record<string, DType> = {
  "?": "bool",
  b: "int8",
  B: "uint8",
  h: "int16",
  H: "uint16",
  i: "int32",
  I: "uint32",
  l: "int64",
  q: "int64",
  Q: "uint64",
  e: "float16",
  f: "float32",
  d: "float64",
};

/** `np.result_type(row, column)` for the dtypes in `DTYPES` order. */
const RESULT_TYPE = `
? b B h H i I q Q e f d
b b h h i i l q d e f d
B h B h H i I q Q e f d
h h h h i i l q d f f d
H i H i H i I q Q f f d
i i i i i i l q d d d d
I l I l I l I q Q d d d
q q q q q q q q d d d d
Q d Q d Q d Q d Q d d d
e e e f f d d d d e f d
f f f f f d d d d f f d
d d d d d d d d d d d d`;

/** `np.can_cast(row, column, mode)`: x where it holds. */
const CAN_CAST = {
  safe: `
xxxxxxxxxxxx
.x.x.x.x.xxx
..xxxxxxxxxx
...x.x.x..xx
....xxxxx.xx
.....x.x...x
......xxx..x
.......x...x
........x..x
.........xxx
..........xx
...........x`,
  same_kind: `
xxxxxxxxxxxx
.x.x.x.x.xxx
.xxxxxxxxxxx
.x.x.x.x.xxx
.xxxxxxxxxxx
.x.x.x.x.xxx
.xxxxxxxxxxx
.x.x.x.x.xxx
.xxxxxxxxxxx
.........xxx
.........xxx
.........xxx`,
} as const;

test("promote matches NumPy's result_type for every pair of dtypes", () => {
  const rows = RESULT_TYPE.trim().split("\n").map((r) => r.split(" "));
  DTYPES.forEach((a, i) =>
    DTYPES.forEach((b, j) => {
      assert.equal(promote(a, b), CHAR[rows[i][j]], `promote(${a}, ${b})`);
    })
  );
});

test("canCast matches NumPy's can_cast for every pair and mode", () => {
  for (const [mode, table] of Object.entries(CAN_CAST)) {
    const rows = table.trim().split("\n");
    DTYPES.forEach((from, i) =>
      DTYPES.forEach((to, j) => {
        assert.equal(
          canCast(from, to, mode as "safe" | "same_kind"),
          rows[i][j] === "x",
          `canCast(${from}, ${to}, ${mode})`,
        );
      })
    );
  }
  for (const from of DTYPES) {
    for (const to of DTYPES) {
      assert.equal(canCast(from, to, "no"), from === to);
      assert.equal(canCast(from, to, "equiv"), from === to);
      assert.equal(canCast(from, to, "unsafe"), true);
    }
  }
});

test("weak scalars follow NEP 50", () => {
  assert.equal(promoteWeak("float32", "float"), "float32");
  assert.equal(promoteWeak("float32", "int"), "float32");
  assert.equal(promoteWeak("int32", "int"), "int32");
  assert.equal(promoteWeak("int32", "float"), "float64");
  assert.equal(promoteWeak("bool", "int"), "int64");
  assert.equal(promoteWeak("bool", "float"), "float64");
  assert.equal(promoteWeak("uint8", "int"), "uint8");
});
