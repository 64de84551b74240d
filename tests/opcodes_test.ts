/** The generated Rust opcode table is the one the TypeScript table produces. */

import assert from "node:assert/strict";
import { OPCODES_RS, renderOpcodesRs } from "../scripts/gen_opcodes.ts";
import { findCast, findOpcode, OPCODES } from "../src/opcodes.ts";

Deno.test("rust/core/src/opcodes.rs is fresh (run `deno task gen` if this fails)", async () => {
  assert.equal(await Deno.readTextFile(OPCODES_RS), renderOpcodesRs());
});

Deno.test("opcode names encode their signatures and are unique", () => {
  const chars: Record<string, string> = {
    bool: "b",
    int8: "c",
    uint8: "B",
    int16: "h",
    uint16: "H",
    int32: "i",
    uint32: "I",
    int64: "l",
    uint64: "L",
    float16: "e",
    float32: "f",
    float64: "d",
  };
  const names = new Set<string>();
  for (const o of OPCODES) {
    assert.equal(o.name, `${o.op}_${chars[o.ret]}${o.args.map((a) => chars[a]).join("")}`);
    assert.ok(!names.has(o.name), `duplicate ${o.name}`);
    names.add(o.name);
  }
  assert.equal(OPCODES[findOpcode("add", ["float32", "float32"])!].name, "add_fff");
  assert.equal(OPCODES[findOpcode("where", ["bool", "float64", "float64"])!].name, "where_dbdd");
  assert.equal(OPCODES[findCast("float64", "int32")!].name, "cast_di");
  assert.equal(findOpcode("div", ["int32", "int32"]), undefined);
  assert.equal(findCast("float32", "float32"), undefined);
  assert.equal(OPCODES[findOpcode("lshift", ["uint16", "uint16"])!].name, "lshift_HHH");
  assert.equal(findOpcode("lshift", ["float32", "float32"]), undefined);
});
