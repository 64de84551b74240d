//! The validator: every malformed program is refused with BadProgram and a
//! message naming where; valid programs are accepted; no bytes panic it.

use crate::common::{opcode, to_bytes, Builder, Rng};
use numfuse_core::opcodes::{DType, RegKind};
use numfuse_core::{ErrorCode, Program, MAX_SCRATCH_BYTES};

/// in0, in1: f32; scalar0: f32; const0: f32 (2.5); temp f32; out0: f32.
/// 0: r4 = add_fff r0 r1; 1: r4 = mul_fff r4 r2; 2: r5 = sub_fff r4 r3.
fn base() -> Builder {
    let mut b = Builder::new();
    let x = b.input(0, DType::Float32);
    let y = b.input(1, DType::Float32);
    let s = b.scalar(0, DType::Float32);
    let c = b.constant(DType::Float32, 2.5f64.to_bits());
    let t = b.temp(DType::Float32);
    let out = b.output(0, DType::Float32);
    b.op("add_fff", t, &[x, y]);
    b.op("mul_fff", t, &[t, s]);
    b.op("sub_fff", out, &[t, c]);
    b
}

/// Word offsets in `base()`: header 8, 6 registers, 1 constant (2 words).
const REG0: usize = 8;
const INSTR0: usize = 8 + 6 + 2;

fn instr(i: usize, word: usize) -> usize {
    INSTR0 + 3 * i + word
}

fn reg(kind: RegKind, dtype: u32, index: u32) -> u32 {
    kind as u32 | dtype << 8 | index << 16
}

fn expect_bad(name: &str, words: &[u32], needle: &str) {
    expect_bad_bytes(name, &to_bytes(words), needle);
}

fn expect_bad_bytes(name: &str, bytes: &[u8], needle: &str) {
    match Program::new(bytes) {
        Ok(_) => panic!("{name}: accepted, expected an error containing {needle:?}"),
        Err(e) => {
            assert_eq!(e.code, ErrorCode::BadProgram, "{name}: {}", e.message);
            assert!(
                e.message.contains(needle),
                "{name}: message {:?} does not contain {needle:?}",
                e.message
            );
        }
    }
}

#[test]
fn base_program_is_valid() {
    let p = base().build().unwrap();
    assert_eq!((p.n_inputs(), p.n_outputs(), p.n_scalars()), (2, 1, 1));
    assert_eq!(p.input_dtype(1), DType::Float32);
    assert_eq!(p.output_dtype(0), DType::Float32);
    assert_eq!(p.scalar_dtype(0), DType::Float32);
}

#[test]
fn malformed_words_are_refused() {
    type Mutation = fn(&mut Vec<u32>);
    let cases: Vec<(&str, Mutation, &str)> = vec![
        (
            "bad magic",
            |w| w[0] = 0x1234,
            "header: magic is 0x00001234",
        ),
        ("bad version", |w| w[1] = 2, "header: bytecode version is 2"),
        (
            "truncated",
            |w| {
                w.pop();
            },
            "make 25 words, but the program has 24",
        ),
        (
            "trailing word",
            |w| w.push(0),
            "make 25 words, but the program has 26",
        ),
        (
            "shorter than header",
            |w| w.truncate(3),
            "program has 3 words, fewer than",
        ),
        (
            "n_regs too big",
            |w| w[2] = 65536,
            "header: n_regs is 65536",
        ),
        (
            "more slots than registers",
            |w| w[7] = 100,
            "header: 103 input, output and scalar",
        ),
        (
            "unused input slot",
            |w| w[5] = 3,
            "header: input slot 2 is not named",
        ),
        (
            "unused scalar slot",
            |w| w[7] = 2,
            "header: scalar slot 1 is not named",
        ),
        (
            "unknown kind",
            |w| w[REG0] = 9,
            "register 0: unknown kind code 9",
        ),
        (
            "unknown dtype",
            |w| w[REG0 + 1] = reg(RegKind::Input, 200, 1),
            "register 1: unknown dtype code 200",
        ),
        (
            "unsupported dtype",
            |w| w[REG0 + 1] = reg(RegKind::Input, DType::Uint8 as u32, 1),
            "register 1: dtype uint8 is not supported",
        ),
        (
            "input slot out of range",
            |w| w[REG0 + 1] = reg(RegKind::Input, 10, 7),
            "register 1: input slot 7 out of range (n_inputs = 2)",
        ),
        (
            "output slot out of range",
            |w| w[REG0 + 5] = reg(RegKind::Output, 10, 1),
            "register 5: output slot 1 out of range",
        ),
        (
            "scalar slot out of range",
            |w| w[REG0 + 2] = reg(RegKind::Scalar, 10, 1),
            "register 2: scalar slot 1 out of range",
        ),
        (
            "const out of range",
            |w| w[REG0 + 3] = reg(RegKind::Const, 10, 1),
            "register 3: const slot 1 out of range (n_consts = 1)",
        ),
        (
            "temp index nonzero",
            |w| w[REG0 + 4] = reg(RegKind::Temp, 10, 1),
            "register 4: temp index is 1, must be 0",
        ),
        (
            "slot dtype conflict",
            |w| w[REG0 + 1] = reg(RegKind::Input, 11, 0),
            "register 1: input slot 0 is float64 here but float32 in register 0",
        ),
        (
            "unknown opcode",
            |w| w[instr(1, 0)] = 999 | 4 << 16,
            "instruction 1: unknown opcode 999 (there are 105)",
        ),
        (
            "reserved bits",
            |w| w[instr(2, 2)] |= 1 << 16,
            "instruction 2: reserved bits are 0x0001",
        ),
        (
            "operand out of range",
            |w| w[instr(0, 1)] = 50 << 16,
            "instruction 0: operand b is register 50, out of range (n_regs = 6)",
        ),
        (
            "missing operand",
            |w| w[instr(0, 1)] = 0xFFFF << 16,
            "instruction 0: operand b is missing, opcode add_fff takes 2",
        ),
        (
            "extra operand",
            |w| w[instr(0, 2)] = 1,
            "instruction 0: operand c is register 1, but opcode add_fff takes 2",
        ),
        (
            "dst out of range",
            |w| w[instr(0, 0)] = u32::from(opcode("add_fff")) | 60 << 16,
            "instruction 0: dst is register 60, out of range",
        ),
        (
            "dst NO_REG",
            |w| w[instr(0, 0)] = u32::from(opcode("add_fff")) | 0xFFFF << 16,
            "instruction 0: dst is register 65535, out of range",
        ),
        (
            "dst is an input",
            |w| w[instr(1, 0)] = u32::from(opcode("mul_fff")),
            "instruction 1: dst is register 0 (input)",
        ),
        (
            "dst is a const",
            |w| w[instr(1, 0)] = u32::from(opcode("mul_fff")) | 3 << 16,
            "instruction 1: dst is register 3 (const)",
        ),
        (
            "dst is a scalar",
            |w| w[instr(1, 0)] = u32::from(opcode("mul_fff")) | 2 << 16,
            "instruction 1: dst is register 2 (scalar)",
        ),
        (
            "opcode of another dtype",
            |w| w[instr(2, 0)] = u32::from(opcode("sub_ddd")) | 5 << 16,
            "instruction 2: operand a is register 4 of dtype float32, opcode sub_ddd needs float64",
        ),
        (
            "temp read before write",
            |w| w[instr(0, 1)] = 4 | 1 << 16,
            "instruction 0: operand a reads register 4 (temp) before any instruction writes it",
        ),
        (
            "output read before write",
            |w| w[instr(1, 1)] = 4 | 5 << 16,
            "instruction 1: operand b reads register 5 (output) before",
        ),
        (
            "output never written",
            |w| w[instr(2, 0)] = u32::from(opcode("sub_fff")) | 4 << 16,
            "register 5: output slot 0 is never written",
        ),
    ];
    for (name, mutate, needle) in cases {
        let mut w = base().words();
        mutate(&mut w);
        expect_bad(name, &w, needle);
    }
}

#[test]
fn signature_dtypes_are_checked() {
    // Operand b of dtype float64 where add_fff needs float32.
    let mut b = Builder::new();
    let x = b.input(0, DType::Float32);
    let y = b.input(1, DType::Float64);
    let out = b.output(0, DType::Float32);
    b.op("add_fff", out, &[x, y]);
    expect_bad(
        "operand dtype",
        &b.words(),
        "instruction 0: operand b is register 1 of dtype float64, opcode add_fff needs float32",
    );

    // dst of the wrong dtype.
    let mut b = Builder::new();
    let x = b.input(0, DType::Float32);
    let out = b.output(0, DType::Float64);
    b.op("sqrt_ff", out, &[x]);
    expect_bad(
        "dst dtype",
        &b.words(),
        "instruction 0: dst is register 1 of dtype float64, opcode sqrt_ff returns float32",
    );

    // where's condition must be bool.
    let mut b = Builder::new();
    let x = b.input(0, DType::Float64);
    let out = b.output(0, DType::Float64);
    b.op("where_dbdd", out, &[x, x, x]);
    expect_bad(
        "where condition",
        &b.words(),
        "instruction 0: operand a is register 0 of dtype float64, opcode where_dbdd needs bool",
    );

    // A third operand missing.
    let mut b = Builder::new();
    let c = b.input(0, DType::Bool);
    let x = b.input(1, DType::Float64);
    let out = b.output(0, DType::Float64);
    b.op("where_dbdd", out, &[c, x]);
    expect_bad(
        "missing c",
        &b.words(),
        "instruction 0: operand c is missing, opcode where_dbdd takes 3",
    );
}

#[test]
fn byte_lengths_are_checked() {
    let mut bytes = base().bytes();
    bytes.push(0);
    expect_bad_bytes(
        "odd bytes",
        &bytes,
        "program is 101 bytes, not a whole number",
    );
    expect_bad_bytes("empty", &[], "program has 0 words");
}

#[test]
fn scratch_is_bounded() {
    // Enough float64 temps to need more than MAX_SCRATCH_BYTES.
    let temps = MAX_SCRATCH_BYTES / (4096 * 8) + 1;
    let mut b = Builder::new();
    let x = b.input(0, DType::Float64);
    let out = b.output(0, DType::Float64);
    for _ in 0..temps {
        let t = b.temp(DType::Float64);
        b.op("copy_dd", t, &[x]);
    }
    b.op("copy_dd", out, &[x]);
    expect_bad(
        "scratch",
        &b.words(),
        &format!(
            "instruction {}: register {} needs more than",
            temps - 1,
            temps + 1
        ),
    );
}

#[test]
fn valid_programs_are_accepted() {
    // An empty program.
    Builder::new().build().unwrap();

    // Every operand kind, casts, where, two outputs, an output read back.
    let mut b = Builder::new();
    let x = b.input(0, DType::Int32);
    let m = b.input(1, DType::Bool);
    let s = b.scalar(0, DType::Float64);
    let k = b.constant(DType::Int64, 7);
    let t = b.temp(DType::Int64);
    let d = b.temp(DType::Float64);
    let o0 = b.output(0, DType::Float64);
    let o1 = b.output(1, DType::Bool);
    b.op("cast_li", t, &[x]);
    b.op("add_lll", t, &[t, k]);
    b.op("cast_dl", d, &[t]);
    b.op("where_dbdd", o0, &[m, d, s]);
    b.op("gt_bdd", o1, &[o0, s]);
    let p = b.build().unwrap();
    assert_eq!((p.n_inputs(), p.n_outputs(), p.n_scalars()), (2, 2, 1));
    assert_eq!(p.output_dtype(1), DType::Bool);
    assert_eq!(p.scalar_dtype(0), DType::Float64);

    // Several registers on one slot, a temp written twice.
    let mut b = Builder::new();
    let x = b.input(0, DType::Float32);
    let x2 = b.input(0, DType::Float32);
    let out = b.output(0, DType::Float32);
    let out2 = b.output(0, DType::Float32);
    b.op("add_fff", out, &[x, x2]);
    b.op("mul_fff", out2, &[out2, x]);
    b.build().unwrap();
}

#[test]
fn mutated_programs_never_panic() {
    let words = base().words();
    let mut rng = Rng::new(7);
    for _ in 0..20_000 {
        let mut w = words.clone();
        for _ in 0..1 + rng.below(3) {
            let i = rng.below(w.len() as u64) as usize;
            w[i] = match rng.below(4) {
                0 => rng.next() as u32,
                1 => w[i] ^ (1 << rng.below(32)),
                2 => rng.below(8) as u32,
                _ => u32::MAX,
            };
        }
        if let Err(e) = Program::new(&to_bytes(&w)) {
            assert_eq!(e.code, ErrorCode::BadProgram);
        }
    }
    let bytes = base().bytes();
    for len in 0..bytes.len() {
        let _ = Program::new(&bytes[..len]);
    }
}
