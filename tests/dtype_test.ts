/**
 * Promotion and casting against NumPy's own tables: `np.result_type` and
 * `np.can_cast` (every casting mode) for every pair of dtypes, written into
 * `tests/goldens/numpy.json` by `scripts/gen_goldens.py` (NumPy 1.24; NumPy
 * 2 keeps them for arrays).
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  canCast,
  type Casting,
  CASTINGS,
  type DType,
  DTYPES,
  promote,
  promoteWeak,
} from "../src/dtype.ts";

const GOLDENS: Readonly<Record<string, unknown>> = JSON.parse(
  readFileSync(new URL("./goldens/numpy.json", import.meta.url), "utf8"),
);
/** `np.result_type(a, b)` by `"a,b"`. */
const RESULT_TYPE = GOLDENS["result_type"] as Readonly<Record<string, DType>>;
/** `np.can_cast(a, b, mode)` by mode, then `"a,b"`. */
const CAN_CAST = (mode: Casting) =>
  GOLDENS[`can_cast ${mode}`] as Readonly<Record<string, boolean>>;

test("promote matches NumPy's result_type for every pair of dtypes", () => {
  assert.equal(Object.keys(RESULT_TYPE).length, DTYPES.length ** 2);
  for (const a of DTYPES) {
    for (const b of DTYPES) assert.equal(promote(a, b), RESULT_TYPE[`${a},${b}`], `${a}, ${b}`);
  }
});

test("canCast matches NumPy's can_cast for every pair and mode", () => {
  for (const mode of CASTINGS) {
    const table = CAN_CAST(mode);
    assert.equal(Object.keys(table).length, DTYPES.length ** 2, mode);
    for (const from of DTYPES) {
      for (const to of DTYPES) {
        assert.equal(canCast(from, to, mode), table[`${from},${to}`], `${from}, ${to}, ${mode}`);
      }
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
