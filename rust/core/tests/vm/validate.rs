//! The validator: every malformed program is refused with BadProgram and a
//! message naming where; valid programs are accepted; no bytes panic it.

use crate::common::{opcode, run_bufs, to_bytes, Buf, Builder, Rng};
use numfuse_core::opcodes::{DType, Op, RegKind, HEADER_WORDS, INSTR_WORDS, OPCODES};
use numfuse_core::{ErrorCode, Isa, Program, MAX_SCRATCH_BYTES};

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
    let cases: Vec<(&str, Mutation, &str)> =
        vec![
        (
            "bad magic",
            |w| w[0] = 0x1234,
            "header: magic is 0x00001234",
        ),
        ("bad version", |w| w[1] = 0xffff, "header: bytecode version is 65535"),
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
            "instruction 1: unknown opcode 999 (there are ",
        ),
        (
            "extra operand d",
            |w| w[instr(2, 2)] = 0xFFFF | 1 << 16,
            "instruction 2: operand d is register 1, but opcode ",
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

/// The dtypes this VM has kernels for, which random programs are built over.
const DTYPES: [DType; 5] = [
    DType::Bool,
    DType::Int32,
    DType::Int64,
    DType::Float32,
    DType::Float64,
];

/// Array lengths every accepted program is run on: empty, one element, a
/// partial block, and more than a block (threads 1 and 2).
const RUN_LENGTHS: [usize; 4] = [0, 1, 17, 4097];

/// An f64 from a palette of awkward values, or random bits.
fn random_f64(rng: &mut Rng) -> f64 {
    const PALETTE: [f64; 10] = [
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MAX,
        f64::MIN_POSITIVE,
    ];
    match rng.below(4) {
        0 => f64::from_bits(rng.next()),
        1 => PALETTE[rng.below(PALETTE.len() as u64) as usize],
        _ => (rng.below(2001) as f64 - 1000.0) / 64.0,
    }
}

/// An i64 that is small (zeros and negative exponents included) or random bits.
fn random_i64(rng: &mut Rng) -> i64 {
    match rng.below(4) {
        0 => rng.next() as i64,
        1 => [i64::MIN, i64::MAX, i32::MIN.into(), i32::MAX.into()][rng.below(4) as usize],
        _ => rng.below(11) as i64 - 5,
    }
}

/// A scalar's or constant's 8 raw bytes: f64 bits for float dtypes, i64 bits
/// for integer and bool dtypes (a bool is sometimes neither 0 nor 1).
fn random_word(rng: &mut Rng, dtype: DType) -> u64 {
    match dtype {
        DType::Float32 | DType::Float64 => random_f64(rng).to_bits(),
        DType::Bool if rng.below(8) != 0 => rng.below(2),
        _ => random_i64(rng) as u64,
    }
}

/// `n` random elements of `dtype`.
fn random_array(rng: &mut Rng, dtype: DType, n: usize) -> Buf {
    let mut buf = Buf::zeros(dtype, n);
    for i in 0..n {
        let bits = match dtype {
            DType::Float32 => u64::from((random_f64(rng) as f32).to_bits()),
            _ => random_word(rng, dtype),
        };
        buf.set(i, bits);
    }
    buf
}

/// The copy or cast opcode from `from` to `to`.
fn convert(from: DType, to: DType) -> &'static str {
    OPCODES
        .iter()
        .find(|o| matches!(o.op, Op::Copy | Op::Cast) && o.ret == to && o.args == [from])
        .map(|o| o.name)
        .unwrap_or_else(|| panic!("no copy or cast from {} to {}", from.name(), to.name()))
}

/// A random valid program: inputs, scalars and constants of random dtypes
/// (some slots named by two registers), temps, 0-3 outputs, and random
/// instructions whose operands have the opcode's signature dtypes and are
/// written before they are read; every output is written at least once.
fn random_program(rng: &mut Rng) -> Vec<u32> {
    let dtype = |rng: &mut Rng| DTYPES[rng.below(DTYPES.len() as u64) as usize];
    let mut b = Builder::new();
    // Registers that may be read now.
    let mut ready: Vec<(u16, DType)> = Vec::new();
    for slot in 0..rng.below(4) as u32 {
        let d = dtype(rng);
        for _ in 0..1 + rng.below(2) {
            ready.push((b.input(slot, d), d));
        }
    }
    for slot in 0..rng.below(3) as u32 {
        let d = dtype(rng);
        ready.push((b.scalar(slot, d), d));
    }
    for _ in 0..rng.below(3) {
        let d = dtype(rng);
        let bits = random_word(rng, d);
        ready.push((b.constant(d, bits), d));
    }
    if ready.is_empty() {
        let d = dtype(rng);
        let bits = random_word(rng, d);
        ready.push((b.constant(d, bits), d));
    }
    let outputs: Vec<(u16, DType)> = (0..rng.below(4) as u32)
        .map(|slot| {
            let d = dtype(rng);
            (b.output(slot, d), d)
        })
        .collect();
    let temps: Vec<(u16, DType)> = (0..rng.below(6))
        .map(|_| {
            let d = dtype(rng);
            (b.temp(d), d)
        })
        .collect();
    let pick = |rng: &mut Rng, regs: &[(u16, DType)], d: DType| {
        let of_d: Vec<u16> = regs.iter().filter(|r| r.1 == d).map(|r| r.0).collect();
        (!of_d.is_empty()).then(|| of_d[rng.below(of_d.len() as u64) as usize])
    };
    let mut written = Vec::new();
    for _ in 0..rng.below(16) {
        let info = &OPCODES[rng.below(OPCODES.len() as u64) as usize];
        let args: Option<Vec<u16>> = info.args.iter().map(|&d| pick(rng, &ready, d)).collect();
        let dsts: Vec<(u16, DType)> = temps.iter().chain(&outputs).copied().collect();
        if let (Some(args), Some(dst)) = (args, pick(rng, &dsts, info.ret)) {
            b.op(info.name, dst, &args);
            if !written.contains(&dst) {
                written.push(dst);
                ready.push((dst, info.ret));
            }
        }
    }
    for &(out, d) in &outputs {
        if !written.contains(&out) {
            let (src, from) = ready[rng.below(ready.len() as u64) as usize];
            b.op(convert(from, d), out, &[src]);
        }
    }
    b.words()
}

/// A register index or opcode near the valid range, or NO_REG.
fn random_field(rng: &mut Rng, n_regs: u32) -> u32 {
    match rng.below(4) {
        0 => rng.below(u64::from(n_regs) + 2) as u32,
        1 => rng.below(OPCODES.len() as u64 + 2) as u32,
        2 => 0xFFFF,
        _ => rng.next() as u32 & 0xFFFF,
    }
}

/// 1-3 random mutations of `words`: a bit flip, a word replaced, truncation,
/// extension, a header count changed, one 16-bit field of an instruction
/// (opcode, dst or operand) replaced, two instructions swapped; sometimes
/// bytes cut off the end.
fn mutate(rng: &mut Rng, words: &[u32]) -> Vec<u8> {
    let mut w = words.to_vec();
    for _ in 0..1 + rng.below(3) {
        // The instructions, as the header (perhaps already mutated) places them.
        let n_regs = w.get(2).copied().unwrap_or(0);
        let n_instrs = w.get(3).copied().unwrap_or(0) as usize;
        let first =
            HEADER_WORDS as u64 + u64::from(n_regs) + 2 * u64::from(w.get(4).copied().unwrap_or(0));
        let instrs = (first as usize..w.len())
            .step_by(INSTR_WORDS)
            .filter(|&i| i + INSTR_WORDS <= w.len())
            .take(n_instrs)
            .collect::<Vec<_>>();
        match rng.below(7) {
            0 if !w.is_empty() => {
                let i = rng.below(w.len() as u64) as usize;
                w[i] ^= 1 << rng.below(32);
            }
            1 if !w.is_empty() => {
                let i = rng.below(w.len() as u64) as usize;
                w[i] = match rng.below(4) {
                    0 => rng.next() as u32,
                    1 => rng.below(8) as u32,
                    2 => u32::MAX,
                    _ => random_field(rng, n_regs) | random_field(rng, n_regs) << 16,
                };
            }
            2 => w.truncate(rng.below(w.len() as u64 + 1) as usize),
            3 => {
                for _ in 0..1 + rng.below(6) {
                    w.push(if rng.below(2) == 0 {
                        rng.next() as u32
                    } else {
                        random_field(rng, n_regs)
                    });
                }
            }
            4 if w.len() >= HEADER_WORDS => {
                let i = 2 + rng.below(HEADER_WORDS as u64 - 2) as usize;
                w[i] = match rng.below(4) {
                    0 => w[i].wrapping_add(1),
                    1 => w[i].wrapping_sub(1),
                    2 => rng.below(8) as u32,
                    _ => rng.next() as u32,
                };
            }
            5 if !instrs.is_empty() => {
                let i = instrs[rng.below(instrs.len() as u64) as usize] + rng.below(3) as usize;
                let shift = 16 * rng.below(2);
                let field = random_field(rng, n_regs) << shift;
                w[i] = w[i] & !(0xFFFF << shift) | field;
            }
            6 if instrs.len() >= 2 => {
                let a = instrs[rng.below(instrs.len() as u64) as usize];
                let b = instrs[rng.below(instrs.len() as u64) as usize];
                for k in 0..INSTR_WORDS {
                    w.swap(a + k, b + k);
                }
            }
            _ => {}
        }
    }
    let mut bytes = to_bytes(&w);
    if rng.below(32) == 0 {
        bytes.truncate(bytes.len().saturating_sub(1 + rng.below(3) as usize));
    }
    bytes
}

/// Runs an accepted program on random arrays of every length in
/// `RUN_LENGTHS`, once with 1 thread over outputs filled with 0xA5 bytes and
/// once with 2 threads over 0x5A bytes: both runs succeed with the same
/// outputs (so every output element was written), or both report a domain
/// error. Panics with `what` otherwise.
fn run_safely(p: &Program, rng: &mut Rng, what: &dyn Fn() -> String) {
    for n in RUN_LENGTHS {
        let mut inputs: Vec<Buf> = (0..p.n_inputs())
            .map(|s| random_array(rng, p.input_dtype(s), n))
            .collect();
        let scalars: Vec<[u8; 8]> = (0..p.n_scalars())
            .map(|s| random_word(rng, p.scalar_dtype(s)).to_le_bytes())
            .collect();
        let mut runs = [(1, 0xA5), (2, 0x5A)].map(|(threads, sentinel)| {
            let mut outputs: Vec<Buf> = (0..p.n_outputs())
                .map(|s| {
                    let mut buf = Buf::zeros(p.output_dtype(s), n);
                    buf.bytes_mut().fill(sentinel);
                    buf
                })
                .collect();
            let result = run_bufs(p, &mut outputs, &mut inputs, &scalars, threads);
            (result.map_err(|e| e.code), outputs)
        });
        let [(first, out1), (second, out2)] = &mut runs;
        match (*first, *second) {
            (Ok(()), Ok(())) => {
                for (s, (a, b)) in out1.iter().zip(out2.iter()).enumerate() {
                    if let Some(i) = (0..n).find(|&i| a.get(i) != b.get(i)) {
                        panic!(
                            "{}: n = {n}, output slot {s} element {i} is {:#x} with 1 thread \
                             over 0xA5 bytes but {:#x} with 2 over 0x5A: not written, or not \
                             deterministic",
                            what(),
                            a.get(i),
                            b.get(i)
                        );
                    }
                }
            }
            (Err(ErrorCode::Domain), Err(ErrorCode::Domain)) => {}
            other => panic!("{}: n = {n}, runs returned {other:?}", what()),
        }
    }
}

/// Random valid programs and mutations of them (and of `base()`) fed to the
/// validator: `Program::new` never panics; it refuses with BadProgram, or
/// accepts a program that then runs safely (see `run_safely`), on every ISA
/// this CPU has in turn. `NUMFUSE_FUZZ_CASES` (default 4000) programs are
/// generated, each followed by 3 mutants; `NUMFUSE_FUZZ_SEED` changes the seed.
#[test]
fn random_and_mutated_programs_are_refused_or_run_safely() {
    let env = |name: &str, default: u64| {
        std::env::var(name).map_or(default, |v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name}={v:?} is not a count"))
        })
    };
    let (cases, seed) = (env("NUMFUSE_FUZZ_CASES", 4000), env("NUMFUSE_FUZZ_SEED", 7));
    let isas = Isa::available();
    let (mut accepted, mut rejected) = (0u64, 0u64);
    for case in 0..cases {
        let mut rng = Rng::new(seed ^ case.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let isa = isas[case as usize % isas.len()];
        let valid = if case % 8 == 0 {
            base().words()
        } else {
            random_program(&mut rng)
        };
        let what = || format!("seed {seed} case {case} ({isa:?}), generated {valid:x?}");
        match Program::with_isa(&to_bytes(&valid), isa) {
            Ok(p) => run_safely(&p, &mut rng, &what),
            Err(e) => panic!("{}: refused: {}", what(), e.message),
        }
        for mutant in 0..3 {
            let bytes = mutate(&mut rng, &valid);
            let what = || format!("seed {seed} case {case} mutant {mutant} ({isa:?}), {bytes:x?}");
            match Program::with_isa(&bytes, isa) {
                Ok(p) => {
                    accepted += 1;
                    run_safely(&p, &mut rng, &what);
                }
                Err(e) => {
                    assert_eq!(e.code, ErrorCode::BadProgram, "{}: {}", what(), e.message);
                    rejected += 1;
                }
            }
        }
    }
    eprintln!(
        "fuzz: {cases} generated programs accepted and run; {} mutants: {accepted} accepted \
         and run, {rejected} refused (seed {seed})",
        accepted + rejected
    );
    let bytes = base().bytes();
    for len in 0..bytes.len() {
        assert!(Program::new(&bytes[..len]).is_err(), "{len} bytes");
    }
}
