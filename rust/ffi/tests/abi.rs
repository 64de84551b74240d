//! The C ABI end to end, through the exported functions.

use std::ffi::c_void;
use std::ptr;

use numfuse::*;

const MAGIC: u32 = 0x3142_464E;
const VERSION: u32 = numfuse_core::opcodes::BYTECODE_VERSION;
const NO_REG: u32 = 0xFFFF;
/// Word 2 of an instruction without operands c and d.
const NO_CD: u32 = NO_REG | NO_REG << 16;
const F32: u32 = 10;
const F64: u32 = 11;
const INPUT: u32 = 0;
const OUTPUT: u32 = 1;
const SCALAR: u32 = 2;

fn opcode(name: &str) -> u32 {
    numfuse_core::opcodes::OPCODES
        .iter()
        .position(|o| o.name == name)
        .unwrap() as u32
}

fn reg(kind: u32, dtype: u32, index: u32) -> u32 {
    kind | dtype << 8 | index << 16
}

fn bytes(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// out0 := x * x (float64).
fn square() -> Vec<u8> {
    bytes(&[
        MAGIC,
        VERSION,
        2,
        1,
        0,
        1,
        1,
        0,
        reg(INPUT, F64, 0),
        reg(OUTPUT, F64, 0),
        opcode("mul_ddd") | 1 << 16,
        0,
        NO_CD,
    ])
}

/// out0 := x * x, in float32 (`f32`) or float64.
fn square_of(f32: bool) -> Vec<u8> {
    let (dtype, mul) = if f32 {
        (F32, "mul_fff")
    } else {
        (F64, "mul_ddd")
    };
    let mut code = square();
    code[32..36].copy_from_slice(&reg(INPUT, dtype, 0).to_le_bytes());
    code[36..40].copy_from_slice(&reg(OUTPUT, dtype, 0).to_le_bytes());
    code[40..44].copy_from_slice(&(opcode(mul) | 1 << 16).to_le_bytes());
    code
}

/// out0 := x * s (float64 scalar).
fn scale() -> Vec<u8> {
    bytes(&[
        MAGIC,
        VERSION,
        3,
        1,
        0,
        1,
        1,
        1,
        reg(INPUT, F64, 0),
        reg(SCALAR, F64, 0),
        reg(OUTPUT, F64, 0),
        opcode("mul_ddd") | 2 << 16,
        1 << 16,
        NO_CD,
    ])
}

fn new_program(code: &[u8]) -> i32 {
    // SAFETY: a live slice.
    unsafe { nf_program_new(code.as_ptr(), code.len() as u32) }
}

fn last_error() -> String {
    // SAFETY: a NULL buffer with cap 0 only asks for the length.
    let len = unsafe { nf_last_error(ptr::null_mut(), 0) };
    let mut buf = vec![0u8; len as usize];
    // SAFETY: buf holds len bytes.
    let again = unsafe { nf_last_error(buf.as_mut_ptr(), len) };
    assert_eq!(again, len);
    String::from_utf8(buf).unwrap()
}

fn vp(v: &mut [f64]) -> *mut c_void {
    v.as_mut_ptr().cast()
}

#[test]
fn version_and_cpus() {
    assert_eq!(nf_abi_version(), 5);
    assert!(nf_num_cpus() >= 1);
}

#[test]
fn program_round_trip() {
    let h = new_program(&square());
    assert!(h > 0, "{h}: {}", last_error());
    let n = 10_000;
    let mut x: Vec<f64> = (0..n).map(|i| i as f64 * 0.5).collect();
    let mut out = vec![0.0; n];
    let meta = [n as f64, n as f64, n as f64];
    for threads in [0, 1, 2] {
        out.fill(0.0);
        // SAFETY: meta has 3 slots; out and x hold n f64 each.
        let rc = unsafe {
            nf_run_2(
                h as u32,
                threads,
                meta.as_ptr(),
                3,
                vp(&mut out),
                vp(&mut x),
            )
        };
        assert_eq!(rc, 0, "{}", last_error());
        assert!(out.iter().zip(&x).all(|(o, x)| *o == x * x));
    }
    // The same through the pointer table.
    out.fill(0.0);
    let table = [out.as_mut_ptr() as u64, x.as_mut_ptr() as u64];
    // SAFETY: as above, with the table holding both addresses.
    let rc = unsafe {
        nf_run_table(
            h as u32,
            2,
            meta.as_ptr(),
            3,
            table.as_ptr(),
            2,
            ptr::null_mut(),
            0,
        )
    };
    assert_eq!(rc, 0, "{}", last_error());
    assert!(out.iter().zip(&x).all(|(o, x)| *o == x * x));
    // The same through nf_run_async, which never reads its keep-alive buffers.
    out.fill(0.0);
    let mut err = [0u8; 64];
    // SAFETY: as above; the keep-alive parameters may be anything.
    let rc = unsafe { run_async(h as u32, NO_REDUCTION, &table, &meta, &mut err) };
    assert_eq!(rc, 0);
    assert!(out.iter().zip(&x).all(|(o, x)| *o == x * x));
    // In place: out is x.
    let p = vp(&mut x);
    // SAFETY: an exact alias, which the VM allows.
    let rc = unsafe { nf_run_2(h as u32, 1, meta.as_ptr(), 3, p, p) };
    assert_eq!(rc, 0, "{}", last_error());
    assert_eq!(x[3], 2.25);
    assert_eq!(nf_program_free(h as u32), 0);
}

#[test]
fn runs_take_arrays_by_address() {
    let h = new_program(&square()) as u32;
    let n = 300;
    let mut x: Vec<f64> = (0..n).map(|i| i as f64 - 7.5).collect();
    let mut out = vec![0.0; n];
    let address = |v: &mut Vec<f64>| v.as_mut_ptr() as usize as f64;
    let mut block = vec![
        n as f64,
        n as f64,
        n as f64,
        address(&mut out),
        address(&mut x),
    ];
    // SAFETY: block holds 3 meta slots and 2 addresses of n f64 each.
    let rc = unsafe { nf_run_at(h, 1, block.as_ptr(), 3, 2) };
    assert_eq!(rc, 0, "{}", last_error());
    assert!(out.iter().zip(&x).all(|(o, x)| *o == x * x));
    // Scalars and extra slots sit between meta's K lengths and the addresses.
    block.splice(3..3, [f64::NAN]);
    out.fill(0.0);
    // SAFETY: as above, with meta 4 slots long.
    let rc = unsafe { nf_run_at(h, 1, block.as_ptr(), 4, 2) };
    assert_eq!(rc, 0, "{}", last_error());
    assert_eq!(out[0], 56.25);
    block.remove(3);
    for (bad, needle) in [
        (0.0, "array 1's address is 0.0"),
        (0.5, "array 1's address is 0.5"),
        (-8.0, "array 1's address is -8.0"),
        (f64::NAN, "array 1's address is NaN"),
        (9_007_199_254_740_992.0, "not a whole number in [1, 2^53)"),
    ] {
        let mut block = block.clone();
        block[4] = bad;
        // SAFETY: the bad address is refused before any array is touched.
        let rc = unsafe { nf_run_at(h, 1, block.as_ptr(), 3, 2) };
        assert_eq!(rc, -2, "{needle}");
        assert!(
            last_error().contains(needle),
            "{} vs {needle}",
            last_error()
        );
    }
    for (k, block) in [(0, block.as_ptr()), (9, block.as_ptr()), (2, ptr::null())] {
        // SAFETY: refused before block is read.
        let rc = unsafe { nf_run_at(h, 1, block, 3, k) };
        assert_eq!(rc, -2);
        assert!(last_error().contains("1 to 8 arrays"), "{}", last_error());
    }
    // One address too few for the program, and meta checked as nf_run_K's.
    // SAFETY: block holds 3 meta slots and an address.
    let rc = unsafe { nf_run_at(h, 1, block.as_ptr(), 3, 1) };
    assert_eq!(rc, -2);
    assert!(last_error().contains("takes 2 arrays"), "{}", last_error());
    let short = [n as f64, n as f64, 3.0, address(&mut out), address(&mut x)];
    // SAFETY: as above; the short length is refused before any access.
    let rc = unsafe { nf_run_at(h, 1, short.as_ptr(), 3, 2) };
    assert_eq!(rc, -2);
    assert!(
        last_error().contains("input slot 0: array has 3 elements"),
        "{}",
        last_error()
    );
    assert_eq!(nf_program_free(h), 0);
}

/// `nf_run_at` skips the checks for the very bits of a run that passed them
/// on this thread, with the same program: anything else is checked again.
#[test]
fn runs_by_address_skip_only_the_checks_they_passed() {
    let run = |h: u32, block: &[f64], meta_len: u32| {
        // SAFETY: every block below holds meta_len slots and 2 addresses,
        // within `words` for n = 16 elements of the program's dtype.
        unsafe { nf_run_at(h, 1, block.as_ptr(), meta_len, 2) }
    };
    let expect = |rc: i32, needle: &str| {
        assert!(
            rc < 0 && last_error().contains(needle),
            "{rc}: {}",
            last_error()
        );
    };
    // 8-aligned words; from word 0's second half, 4-aligned only.
    let mut words = vec![0u64; 40];
    let base = words.as_mut_ptr() as usize;
    let (out, x) = (base as f64 + 4.0, (base + 4 + 128) as f64);
    let block = [16.0, 16.0, 16.0, out, x];
    let h32 = new_program(&square_of(true)) as u32;
    let h64 = new_program(&square_of(false)) as u32;
    for i in 0..16 {
        // SAFETY: x's 16 float32 are inside `words`.
        unsafe { ((base + 4 + 128) as *mut f32).add(i).write(i as f32 - 2.5) };
    }
    for _ in 0..3 {
        assert_eq!(run(h32, &block, 3), 0, "{}", last_error());
        // SAFETY: out's 16 float32 are inside `words`.
        let got = unsafe { std::slice::from_raw_parts((base + 4) as *const f32, 16) };
        assert!(got
            .iter()
            .enumerate()
            .all(|(i, &o)| o == (i as f32 - 2.5).powi(2)));
        // The same bits for a float64 program: its own alignment is checked.
        expect(run(h64, &block, 3), "is not aligned for float64");
    }
    // A partial overlap is refused every time, never recorded as passing.
    let overlap = [16.0, 16.0, 16.0, out, out + 4.0];
    for _ in 0..2 {
        expect(run(h32, &overlap, 3), "partially overlaps");
    }
    // A length that is not n, every time.
    let short = [16.0, 16.0, 15.0, out, x];
    for _ in 0..2 {
        expect(run(h32, &short, 3), "array has 15 elements");
    }
    // A free of another program, then of this one: the handle is checked.
    assert_eq!(run(h32, &block, 3), 0, "{}", last_error());
    assert_eq!(nf_program_free(h64), 0);
    assert_eq!(run(h32, &block, 3), 0, "{}", last_error());
    assert_eq!(nf_program_free(h32), 0);
    expect(run(h32, &block, 3), "not a live program");
}

#[test]
fn scalars_come_from_meta() {
    let h = new_program(&scale());
    assert!(h > 0, "{}", last_error());
    let mut x = vec![1.0, 2.0, 3.0];
    let mut out = vec![0.0; 3];
    let meta = [3.0, 3.0, 3.0, 2.5];
    // SAFETY: meta has 4 slots; out and x hold 3 f64 each.
    let rc = unsafe { nf_run_2(h as u32, 1, meta.as_ptr(), 4, vp(&mut out), vp(&mut x)) };
    assert_eq!(rc, 0, "{}", last_error());
    assert_eq!(out, [2.5, 5.0, 7.5]);
    // Missing the scalar.
    // SAFETY: as above; meta_len 3 is within meta.
    let rc = unsafe { nf_run_2(h as u32, 1, meta.as_ptr(), 3, vp(&mut out), vp(&mut x)) };
    assert_eq!(rc, -2);
    assert!(
        last_error().contains("meta has 3 slots, the run needs 4"),
        "{}",
        last_error()
    );
    assert_eq!(nf_program_free(h as u32), 0);
}

#[test]
fn bad_programs_and_handles() {
    let mut code = square();
    code[0] ^= 1;
    assert_eq!(new_program(&code), -1);
    assert!(last_error().contains("header: magic"), "{}", last_error());
    // SAFETY: NULL with a nonzero length is refused before any read.
    assert_eq!(unsafe { nf_program_new(ptr::null(), 4) }, -2);
    // SAFETY: NULL with length 0 is an empty program: too short.
    assert_eq!(unsafe { nf_program_new(ptr::null(), 0) }, -1);

    let h = new_program(&square()) as u32;
    assert_eq!(nf_program_free(h), 0);
    assert_eq!(nf_program_free(h), -6);
    assert!(
        last_error().contains("is not a live program"),
        "{}",
        last_error()
    );
    assert_eq!(nf_program_free(0), -6);
    assert_eq!(nf_program_free(u32::MAX), -6);
    // A new program may reuse the slot, but the old handle stays dead.
    let h2 = new_program(&square()) as u32;
    assert_ne!(h2, h);
    assert_eq!(nf_program_free(h), -6);
    let meta = [0.0, 0.0, 0.0];
    // SAFETY: n = 0, NULL arrays are allowed.
    let rc = unsafe { nf_run_2(h, 1, meta.as_ptr(), 3, ptr::null_mut(), ptr::null_mut()) };
    assert_eq!(rc, -6);
    // SAFETY: as above.
    let rc = unsafe { nf_run_2(h2, 1, meta.as_ptr(), 3, ptr::null_mut(), ptr::null_mut()) };
    assert_eq!(rc, 0, "{}", last_error());
    assert_eq!(nf_program_free(h2), 0);
}

#[test]
fn run_arguments_are_checked() {
    let h = new_program(&square()) as u32;
    let mut x = vec![1.0; 4];
    let mut out = vec![0.0; 4];
    for (meta, needle) in [
        (vec![4.5, 4.0, 4.0], "meta[0] (n) is 4.5"),
        (vec![-1.0, 4.0, 4.0], "meta[0] (n) is -1.0"),
        (vec![f64::NAN, 4.0, 4.0], "meta[0] (n) is NaN"),
        (vec![4.0, 4.0, 1e300], "meta[2] (an array length) is 1e300"),
        (vec![4.0, 4.0, 3.0], "input slot 0: array has 3 elements"),
        (vec![4.0, 4.0], "meta has 2 slots"),
    ] {
        // SAFETY: meta holds meta.len() slots; the arrays hold 4 f64.
        let rc = unsafe {
            nf_run_2(
                h,
                1,
                meta.as_ptr(),
                meta.len() as u32,
                vp(&mut out),
                vp(&mut x),
            )
        };
        assert_eq!(rc, -2, "{needle}");
        assert!(
            last_error().contains(needle),
            "{} vs {needle}",
            last_error()
        );
    }
    let meta = [4.0, 4.0, 4.0];
    // SAFETY: NULL meta is refused.
    assert_eq!(
        unsafe { nf_run_2(h, 1, ptr::null(), 3, vp(&mut out), vp(&mut x)) },
        -2
    );
    // SAFETY: one array too few for the program; meta is valid.
    assert_eq!(
        unsafe { nf_run_1(h, 1, meta.as_ptr(), 3, vp(&mut out)) },
        -2
    );
    assert!(last_error().contains("takes 2 arrays"), "{}", last_error());
    // SAFETY: NULL table with a count is refused; the message also lands,
    // NUL-terminated and truncated, in the call's own error buffer.
    let mut err = [0xFFu8; 16];
    assert_eq!(
        unsafe { nf_run_table(h, 1, meta.as_ptr(), 3, ptr::null(), 2, err.as_mut_ptr(), 16) },
        -2
    );
    let end = err.iter().position(|&b| b == 0).expect("NUL-terminated");
    assert_eq!(end, 15);
    assert_eq!(&err[..end], &last_error().as_bytes()[..15]);
    // SAFETY: a partial overlap is refused before any access.
    let rc = unsafe {
        nf_run_2(
            h,
            1,
            meta.as_ptr(),
            3,
            x.as_mut_ptr().add(1).cast(),
            vp(&mut x),
        )
    };
    assert_eq!(rc, -3);
    // A truncated copy of the message.
    let mut small = [0u8; 6];
    // SAFETY: small holds 6 bytes.
    let len = unsafe { nf_last_error(small.as_mut_ptr(), 6) };
    assert!(len > 6);
    assert_eq!(&small, &last_error().as_bytes()[..6]);
    assert_eq!(nf_program_free(h), 0);
}

#[test]
fn domain_errors_are_reported() {
    // out0 := a ** b (int64).
    let code = bytes(&[
        MAGIC,
        VERSION,
        3,
        1,
        0,
        2,
        1,
        0,
        reg(INPUT, 7, 0),
        reg(INPUT, 7, 1),
        reg(OUTPUT, 7, 0),
        opcode("pow_lll") | 2 << 16,
        1 << 16,
        NO_CD,
    ]);
    let h = new_program(&code) as u32;
    let (mut a, mut b, mut out) = ([2i64, 3], [3i64, -1], [0i64; 2]);
    let meta = [2.0; 4];
    // SAFETY: meta has 4 slots; the arrays hold 2 i64 each.
    let rc = unsafe {
        nf_run_3(
            h,
            1,
            meta.as_ptr(),
            4,
            out.as_mut_ptr().cast(),
            a.as_mut_ptr().cast(),
            b.as_mut_ptr().cast(),
        )
    };
    assert_eq!(rc, -4);
    assert_eq!(
        last_error(),
        "integers to negative integer powers are not allowed"
    );
    b[1] = 2;
    // SAFETY: as above.
    let rc = unsafe {
        nf_run_3(
            h,
            1,
            meta.as_ptr(),
            4,
            out.as_mut_ptr().cast(),
            a.as_mut_ptr().cast(),
            b.as_mut_ptr().cast(),
        )
    };
    assert_eq!(rc, 0);
    assert_eq!(out, [8, 9]);
    assert_eq!(nf_program_free(h), 0);
}

#[test]
fn every_arity_is_exported() {
    // K arrays: out0 := in0 + in1 + ... (float64), K = 1..=8.
    for k in 1..=8u32 {
        let inputs = k - 1;
        let mut words = vec![
            MAGIC,
            VERSION,
            k,
            inputs.saturating_sub(1).max(1),
            0,
            inputs,
            1,
            0,
        ];
        let out = inputs; // register index of the output
        words.extend((0..inputs).map(|i| reg(INPUT, F64, i)));
        words.push(reg(OUTPUT, F64, 0));
        if inputs == 0 {
            // out0 := out0 is not valid (read before write); use a constant.
            words[2] = 2;
            words[4] = 1;
            words.push(reg(3, F64, 0));
            words.extend([7f64.to_bits() as u32, (7f64.to_bits() >> 32) as u32]);
            words.extend([opcode("copy_dd") | out << 16, 1 | NO_REG << 16, NO_CD]);
        } else if inputs == 1 {
            words.extend([opcode("copy_dd") | out << 16, NO_REG << 16, NO_CD]);
        } else {
            words.extend([opcode("add_ddd") | out << 16, 1 << 16, NO_CD]);
            for i in 2..inputs {
                words.extend([opcode("add_ddd") | out << 16, out | i << 16, NO_CD]);
            }
        }
        let h = new_program(&bytes(&words));
        assert!(h > 0, "k={k}: {}", last_error());
        let h = h as u32;
        let n = 5;
        let mut arrays: Vec<Vec<f64>> = (0..k).map(|i| vec![f64::from(i); n]).collect();
        let p: Vec<*mut c_void> = arrays.iter_mut().map(|a| vp(a)).collect();
        let meta = vec![n as f64; 1 + k as usize];
        let m = meta.as_ptr();
        let ml = meta.len() as u32;
        // SAFETY: meta has 1 + k slots; each array holds n f64.
        let rc = unsafe {
            match k {
                1 => nf_run_1(h, 1, m, ml, p[0]),
                2 => nf_run_2(h, 1, m, ml, p[0], p[1]),
                3 => nf_run_3(h, 1, m, ml, p[0], p[1], p[2]),
                4 => nf_run_4(h, 1, m, ml, p[0], p[1], p[2], p[3]),
                5 => nf_run_5(h, 1, m, ml, p[0], p[1], p[2], p[3], p[4]),
                6 => nf_run_6(h, 1, m, ml, p[0], p[1], p[2], p[3], p[4], p[5]),
                7 => nf_run_7(h, 1, m, ml, p[0], p[1], p[2], p[3], p[4], p[5], p[6]),
                _ => nf_run_8(h, 1, m, ml, p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7]),
            }
        };
        assert_eq!(rc, 0, "k={k}: {}", last_error());
        let want = if inputs == 0 {
            7.0
        } else {
            f64::from((1..k).sum::<u32>())
        };
        assert_eq!(arrays[0], vec![want; n], "k={k}");
        assert_eq!(nf_program_free(h), 0);
    }
}

#[test]
fn the_table_takes_many_arrays() {
    // out0 := in0 + in1 + ... + in19 (float64): 21 arrays, more than the stack table.
    let inputs = 20u32;
    let mut words = vec![MAGIC, VERSION, inputs + 1, inputs - 1, 0, inputs, 1, 0];
    words.extend((0..inputs).map(|i| reg(INPUT, F64, i)));
    words.push(reg(OUTPUT, F64, 0));
    let out = inputs;
    words.extend([opcode("add_ddd") | out << 16, 1 << 16, NO_CD]);
    for i in 2..inputs {
        words.extend([opcode("add_ddd") | out << 16, out | i << 16, NO_CD]);
    }
    let h = new_program(&bytes(&words));
    assert!(h > 0, "{}", last_error());
    let n = 3;
    let mut arrays: Vec<Vec<f64>> = (0..=inputs).map(|i| vec![f64::from(i); n]).collect();
    let table: Vec<u64> = arrays.iter_mut().map(|a| a.as_mut_ptr() as u64).collect();
    let meta = vec![n as f64; table.len() + 1];
    // SAFETY: meta has 1 + 21 slots; the table holds 21 arrays of n f64.
    let rc = unsafe {
        nf_run_table(
            h as u32,
            1,
            meta.as_ptr(),
            meta.len() as u32,
            table.as_ptr(),
            table.len() as u32,
            ptr::null_mut(),
            0,
        )
    };
    assert_eq!(rc, 0, "{}", last_error());
    assert_eq!(arrays[0], vec![f64::from((1..=inputs).sum::<u32>()); n]);
    assert_eq!(nf_program_free(h as u32), 0);
}

/// Calls `nf_run_nd` for `square()` with `out` (contiguous) and `x` under `geom`.
fn run_square_nd(geom: &[f64], out: &mut [f64], x: &mut [f64]) -> (i32, String) {
    let h = new_program(&square());
    assert!(h > 0, "{}", last_error());
    let n = out.len();
    let meta = [n as f64, out.len() as f64, x.len() as f64];
    let table = [out.as_mut_ptr() as u64, x.as_mut_ptr() as u64];
    let mut err = [0u8; 256];
    // SAFETY: meta has 3 slots, geom geom.len(); the table holds the two
    // arrays of the lengths in meta; err has 256 bytes.
    let rc = unsafe {
        nf_run_nd(
            h as u32,
            1,
            meta.as_ptr(),
            meta.len() as u32,
            geom.as_ptr(),
            geom.len() as u32,
            table.as_ptr(),
            table.len() as u32,
            err.as_mut_ptr(),
            err.len() as u32,
        )
    };
    assert_eq!(nf_program_free(h as u32), 0);
    let end = err.iter().position(|&b| b == 0).unwrap();
    (rc, String::from_utf8(err[..end].to_vec()).unwrap())
}

#[test]
fn nd_runs_gather_strided_inputs() {
    // out (2,3) := x² for x the transposed, reversed view of a (3,2) array.
    let mut x: Vec<f64> = (0..6).map(f64::from).collect();
    let mut out = vec![0.0; 6];
    let geom = [2.0, 2.0, 3.0, 0.0, 3.0, 1.0, 5.0, -1.0, -2.0];
    let (rc, message) = run_square_nd(&geom, &mut out, &mut x);
    assert_eq!(rc, 0, "{message}");
    assert_eq!(out, [25.0, 9.0, 1.0, 16.0, 4.0, 0.0]);
    // The same through the fixed-arity symbol.
    let h = new_program(&square());
    let meta = [6.0, 6.0, 6.0];
    out.fill(0.0);
    // SAFETY: meta has 3 slots, geom 9; both arrays hold 6 f64.
    let rc = unsafe {
        nf_run_nd_2(
            h as u32,
            1,
            meta.as_ptr(),
            3,
            geom.as_ptr(),
            geom.len() as u32,
            vp(&mut out),
            vp(&mut x),
        )
    };
    assert_eq!(rc, 0, "{}", last_error());
    assert_eq!(out, [25.0, 9.0, 1.0, 16.0, 4.0, 0.0]);
    // SAFETY: as above; the geometry is refused before any array is read.
    let rc = unsafe {
        nf_run_nd_2(
            h as u32,
            1,
            meta.as_ptr(),
            3,
            geom.as_ptr(),
            5,
            vp(&mut out),
            vp(&mut x),
        )
    };
    assert_eq!(rc, -2);
    assert!(last_error().starts_with("geometry has 5 slots"));
    // Reduced whole as it is computed: the sum of the squares, into one element.
    let mut sum = [0.0];
    let reduce_meta = [6.0, 1.0, 6.0];
    let reduce = |geom: *const f64, geom_len: u32, sum: &mut [f64], x: &mut [f64]| {
        // SAFETY: meta has 3 slots, geom geom_len (or NULL); sum holds 1 f64, x 6.
        unsafe {
            nf_run_reduce_nd_2(
                h as u32,
                2,
                0,
                reduce_meta.as_ptr(),
                3,
                geom,
                geom_len,
                vp(sum),
                vp(x),
            )
        }
    };
    assert_eq!(
        reduce(geom.as_ptr(), 9, &mut sum, &mut x),
        0,
        "{}",
        last_error()
    );
    assert_eq!(sum, [55.0]);
    assert_eq!(reduce(geom.as_ptr(), 5, &mut sum, &mut x), -2);
    assert!(last_error().starts_with("geometry has 5 slots"));
    assert_eq!(reduce(ptr::null(), 9, &mut sum, &mut x), -2);
    assert_eq!(last_error(), "geom is NULL");
    assert_eq!(nf_program_free(h as u32), 0);
}

#[test]
fn nd_geometry_is_checked() {
    let mut x = vec![1.0; 6];
    let mut out = vec![0.0; 6];
    let cases: [(&[f64], &str); 4] = [
        (&[2.0, 2.0, 3.0, 0.0, 3.0, 1.0], "geometry has 6 slots"),
        (
            &[2.0, 2.0, 3.0, 0.0, 3.0, 1.0, 0.0, 3.0, f64::NAN],
            "geometry[8]",
        ),
        (
            &[2.0, 2.0, 3.0, 0.0, 3.0, 1.0, 1.0, 3.0, 1.0],
            "reaches elements outside",
        ),
        (
            &[2.0, 2.0, 3.0, 0.0, 1.0, 2.0, 0.0, 3.0, 1.0],
            "not contiguous",
        ),
    ];
    for (geom, want) in cases {
        let (rc, message) = run_square_nd(geom, &mut out, &mut x);
        assert_eq!(rc, -2, "{message}");
        assert!(message.contains(want), "{message} vs {want}");
    }
    let h = new_program(&square());
    let meta = [0.0, 0.0, 0.0];
    // SAFETY: a NULL geometry is refused before anything is read.
    let rc = unsafe {
        nf_run_nd(
            h as u32,
            1,
            meta.as_ptr(),
            3,
            ptr::null(),
            9,
            ptr::null(),
            0,
            ptr::null_mut(),
            0,
        )
    };
    assert_eq!(rc, -2);
    assert_eq!(last_error(), "geom is NULL");
    assert_eq!(nf_program_free(h as u32), 0);
}

#[test]
fn a_program_freed_on_another_thread_is_not_run_from_a_cached_lookup() {
    let h = new_program(&square()) as u32;
    let meta = [0.0, 0.0, 0.0];
    // SAFETY: n = 0, NULL arrays are allowed.
    let run = || unsafe { nf_run_2(h, 1, meta.as_ptr(), 3, ptr::null_mut(), ptr::null_mut()) };
    // Twice: the second run takes this thread's cached lookup.
    assert_eq!(run(), 0, "{}", last_error());
    assert_eq!(run(), 0, "{}", last_error());
    assert_eq!(
        std::thread::spawn(move || nf_program_free(h))
            .join()
            .unwrap(),
        0
    );
    assert_eq!(run(), -6);
    assert!(
        last_error().contains("is not a live program"),
        "{}",
        last_error()
    );
}

/// Calls `nf_run_async` (1-D) with a handle, a run's `op`, arrays and meta, an error
/// buffer, and keep-alive parameters that are not buffers at all (the VM must
/// not read them).
///
/// # Safety
///
/// As `nf_run_table`'s.
unsafe fn run_async(h: u32, op: u32, table: &[u64], meta: &[f64], err: &mut [u8]) -> i32 {
    let keep = |i: usize| (i + 1) as *const c_void;
    // SAFETY: forwarded from this function's contract.
    unsafe {
        nf_run_async(
            h,
            2,
            op,
            meta.as_ptr(),
            meta.len() as u32,
            ptr::null(),
            0,
            table.as_ptr(),
            table.len() as u32,
            err.as_mut_ptr(),
            err.len() as u32,
            keep(0),
            keep(1),
            keep(2),
            keep(3),
            keep(4),
            keep(5),
            keep(6),
            keep(7),
            keep(8),
            keep(9),
            keep(10),
            keep(11),
            keep(12),
            keep(13),
            keep(14),
            keep(15),
            keep(16),
            keep(17),
            keep(18),
            keep(19),
            keep(20),
            keep(21),
            keep(22),
            keep(23),
            keep(24),
            keep(25),
            keep(26),
            keep(27),
            keep(28),
            keep(29),
            keep(30),
            keep(31),
        )
    }
}

/// Calls `nf_run_reduce` with op `op` on `square` (1-D) over `x` into
/// `out` (its length in meta `out_len`), and `nf_run_reduce_2`,
/// `nf_run_reduce_at` and `nf_run_async` likewise; returns the status and
/// message of each (the error buffer's, then `nf_last_error`, then the error
/// buffer's).
fn run_reduce_square(op: u32, x: &mut [f64], out: &mut [f64], out_len: f64) -> [(i32, String); 4] {
    let h = new_program(&square()) as u32;
    let meta = [x.len() as f64, out_len, x.len() as f64];
    let table = [out.as_mut_ptr() as u64, x.as_mut_ptr() as u64];
    let mut err = [0u8; 256];
    // SAFETY: every buffer is valid for the length passed with it.
    let status = unsafe {
        nf_run_reduce(
            h,
            2,
            op,
            meta.as_ptr(),
            meta.len() as u32,
            ptr::null(),
            0,
            table.as_ptr(),
            2,
            err.as_mut_ptr(),
            err.len() as u32,
        )
    };
    let end = err.iter().position(|&b| b == 0).unwrap_or(err.len());
    let table_result = (status, String::from_utf8_lossy(&err[..end]).into_owned());
    let first = out[0];
    let message = |status: i32| {
        if status == 0 {
            String::new()
        } else {
            last_error()
        }
    };
    // SAFETY: as above.
    let status = unsafe { nf_run_reduce_2(h, 2, op, meta.as_ptr(), 3, vp(out), vp(x)) };
    let positional = (status, message(status));
    let second = out[0];
    // Addresses of empty vectors are dangling (nonzero, aligned), as the VM allows.
    let block = [
        meta[0],
        meta[1],
        meta[2],
        out.as_mut_ptr() as usize as f64,
        x.as_mut_ptr() as usize as f64,
    ];
    // SAFETY: as above; block holds meta and both addresses.
    let status = unsafe { nf_run_reduce_at(h, 2, op, block.as_ptr(), 3, 2) };
    let by_address = (status, message(status));
    let third = out[0];
    err.fill(0);
    // SAFETY: as above.
    let status = unsafe { run_async(h, op, &table, &meta, &mut err) };
    let end = err.iter().position(|&b| b == 0).unwrap_or(err.len());
    let async_result = (status, String::from_utf8_lossy(&err[..end]).into_owned());
    if table_result.0 == 0 {
        assert_eq!(
            [second.to_bits(), third.to_bits(), out[0].to_bits()],
            [first.to_bits(); 3],
            "the four entry points agree"
        );
    }
    assert_eq!(nf_program_free(h), 0);
    [table_result, positional, by_address, async_result]
}

#[test]
fn run_reduce_reduces_without_an_output_array() {
    let mut x: Vec<f64> = (0..20_000).map(|i| (i % 7) as f64 - 3.0).collect();
    let squares: f64 = x.iter().map(|v| v * v).sum();
    let mut out = [0.0f64];
    let ok = [0; 4].map(|_| (0, String::new()));
    assert_eq!(run_reduce_square(0, &mut x, &mut out, 1.0), ok);
    assert_eq!(out[0], squares);
    assert_eq!(run_reduce_square(3, &mut x, &mut out, 1.0), ok);
    assert_eq!(out[0], 9.0);
    let both = |status: i32, message: &str| [0; 4].map(|_| (status, message.to_string()));
    assert_eq!(
        run_reduce_square(0, &mut x, &mut [0.0; 2], 2.0),
        both(
            -2,
            "the result array has 2 elements, a whole reduction writes 1"
        )
    );
    assert_eq!(
        run_reduce_square(8, &mut x, &mut out, 1.0),
        both(-2, "unknown reduction code 8")
    );
    assert_eq!(
        run_reduce_square(3, &mut [], &mut out, 1.0),
        both(
            -4,
            "zero-size array to reduction operation maximum which has no identity"
        )
    );
}
