//! `run`: argument checks, aliasing and overlap, scalars and constants,
//! threads.

use crate::common::{run_bufs, Buf, Builder};
use numfuse_core::opcodes::DType;
use numfuse_core::{
    run, ArrayArg, Error, ErrorCode, Program, RunArgs, BLOCK, PREFETCH_MIN, STREAM_MIN_BYTES,
};

/// out0 := x * 2 + y (float32), through a temp.
fn axpy() -> Program {
    let mut b = Builder::new();
    let x = b.input(0, DType::Float32);
    let y = b.input(1, DType::Float32);
    let two = b.constant(DType::Float32, 2f64.to_bits());
    let t = b.temp(DType::Float32);
    let out = b.output(0, DType::Float32);
    b.op("mul_fff", t, &[x, two]);
    b.op("add_fff", out, &[t, y]);
    b.build().unwrap()
}

fn f32_buf(values: impl IntoIterator<Item = f32>) -> Buf {
    let values: Vec<f32> = values.into_iter().collect();
    let mut b = Buf::zeros(DType::Float32, values.len());
    for (i, v) in values.iter().enumerate() {
        b.set(i, u64::from(v.to_bits()));
    }
    b
}

fn f32_at(b: &Buf, i: usize) -> f32 {
    f32::from_bits(b.get(i) as u32)
}

/// Runs with explicit array arguments.
fn run_raw(p: &Program, n: usize, arrays: &[ArrayArg], scalars: &[[u8; 8]]) -> Result<(), Error> {
    let args = RunArgs {
        n,
        arrays,
        scalars,
        threads: 1,
    };
    // SAFETY: the tests pass pointers into live buffers of at least n
    // elements, or pointers the checks refuse before any access.
    unsafe { run(p, &args) }
}

fn expect(result: Result<(), Error>, code: ErrorCode, needle: &str) {
    let e = result.expect_err("expected an error");
    assert_eq!(e.code, code, "{}", e.message);
    assert!(
        e.message.contains(needle),
        "{:?} does not contain {needle:?}",
        e.message
    );
}

#[test]
fn computes_with_temps_and_constants() {
    let p = axpy();
    let n = 3 * BLOCK + 5;
    let mut out = [Buf::zeros(DType::Float32, n)];
    let mut ins = [
        f32_buf((0..n).map(|i| i as f32)),
        f32_buf((0..n).map(|i| 0.5 * i as f32)),
    ];
    run_bufs(&p, &mut out, &mut ins, &[], 1).unwrap();
    for i in 0..n {
        assert_eq!(
            f32_at(&out[0], i),
            2.0 * i as f32 + 0.5 * i as f32,
            "element {i}"
        );
    }
}

#[test]
fn an_output_may_alias_an_input_exactly() {
    let p = axpy();
    let n = 2 * BLOCK + 9;
    let mut x = f32_buf((0..n).map(|i| i as f32 - 100.0));
    let mut y = f32_buf((0..n).map(|i| (i % 7) as f32));
    let arrays = [x.arg(), x.arg(), y.arg()];
    run_raw(&p, n, &arrays, &[]).unwrap();
    for i in 0..n {
        assert_eq!(
            f32_at(&x, i),
            2.0 * (i as f32 - 100.0) + (i % 7) as f32,
            "element {i}"
        );
    }
    // The second input aliased instead.
    let mut x = f32_buf((0..n).map(|i| i as f32));
    let arrays = [y.arg(), x.arg(), y.arg()];
    run_raw(&p, n, &arrays, &[]).unwrap();
    for i in 0..n {
        assert_eq!(
            f32_at(&y, i),
            2.0 * i as f32 + (i % 7) as f32,
            "element {i}"
        );
    }
}

#[test]
fn an_alias_read_after_the_output_is_written_is_refused() {
    // out0 := x + 1; out1 := x * 3: with out0 aliasing x, instruction 1
    // would read the new values.
    let mut b = Builder::new();
    let x = b.input(0, DType::Float64);
    let one = b.constant(DType::Float64, 1f64.to_bits());
    let three = b.constant(DType::Float64, 3f64.to_bits());
    let o0 = b.output(0, DType::Float64);
    let o1 = b.output(1, DType::Float64);
    b.op("add_ddd", o0, &[x, one]);
    b.op("mul_ddd", o1, &[x, three]);
    let p = b.build().unwrap();
    let n = 10;
    let (mut xb, mut other) = (Buf::zeros(DType::Float64, n), Buf::zeros(DType::Float64, n));
    expect(
        run_raw(&p, n, &[xb.arg(), other.arg(), xb.arg()], &[]),
        ErrorCode::Overlap,
        "output slot 0 is the same array as input slot 0, but instruction 1 reads the input after instruction 0 writes the output",
    );
    // Aliasing the output written last is fine.
    run_raw(&p, n, &[other.arg(), xb.arg(), xb.arg()], &[]).unwrap();
}

#[test]
fn partial_overlaps_are_refused() {
    let p = axpy();
    let n = 100;
    let mut x = Buf::zeros(DType::Float32, n + 1);
    let mut y = Buf::zeros(DType::Float32, n);
    let base = x.arg().ptr;
    let shifted = ArrayArg {
        // SAFETY: one element into an n + 1 element buffer.
        ptr: unsafe { base.add(4) },
        len: n,
    };
    let x_n = ArrayArg { ptr: base, len: n };
    expect(
        run_raw(&p, n, &[shifted, x_n, y.arg()], &[]),
        ErrorCode::Overlap,
        "output slot 0 partially overlaps input slot 0",
    );
    expect(
        run_raw(&p, n, &[x_n, y.arg(), shifted], &[]),
        ErrorCode::Overlap,
        "output slot 0 partially overlaps input slot 1",
    );
}

#[test]
fn an_alias_of_another_element_size_is_refused() {
    let mut b = Builder::new();
    let x = b.input(0, DType::Float32);
    let out = b.output(0, DType::Float64);
    b.op("cast_df", out, &[x]);
    let p = b.build().unwrap();
    let n = 8;
    let mut buf = Buf::zeros(DType::Float64, n);
    let as_f32 = ArrayArg {
        ptr: buf.arg().ptr,
        len: n,
    };
    expect(
        run_raw(&p, n, &[buf.arg(), as_f32], &[]),
        ErrorCode::Overlap,
        "partially overlaps",
    );
}

#[test]
fn outputs_must_not_overlap_each_other() {
    let mut b = Builder::new();
    let x = b.input(0, DType::Int32);
    let o0 = b.output(0, DType::Int32);
    let o1 = b.output(1, DType::Int32);
    b.op("neg_ii", o0, &[x]);
    b.op("abs_ii", o1, &[x]);
    let p = b.build().unwrap();
    let n = 16;
    let (mut o, mut xb) = (Buf::zeros(DType::Int32, n), Buf::zeros(DType::Int32, n));
    expect(
        run_raw(&p, n, &[o.arg(), o.arg(), xb.arg()], &[]),
        ErrorCode::Overlap,
        "output slots 0 and 1 overlap",
    );
}

#[test]
fn arguments_are_checked() {
    let p = axpy();
    let n = 32;
    let (mut o, mut x, mut y) = (
        Buf::zeros(DType::Float32, n),
        Buf::zeros(DType::Float32, n),
        Buf::zeros(DType::Float32, n),
    );
    let (oa, xa, ya) = (o.arg(), x.arg(), y.arg());
    let bad = ErrorCode::BadArguments;
    expect(
        run_raw(&p, n, &[oa, xa], &[]),
        bad,
        "takes 3 arrays (1 outputs, then 2 inputs), got 2",
    );
    expect(
        run_raw(&p, n, &[oa, xa, ya], &[[0; 8]]),
        bad,
        "takes 0 scalars, got 1",
    );
    let short = ArrayArg { len: n - 1, ..ya };
    expect(
        run_raw(&p, n, &[oa, xa, short], &[]),
        bad,
        "input slot 1: array has 31 elements, the run has n = 32",
    );
    let null = ArrayArg {
        ptr: std::ptr::null_mut(),
        len: n,
    };
    expect(
        run_raw(&p, n, &[null, xa, ya], &[]),
        bad,
        "output slot 0: null pointer for 32 elements",
    );
    // SAFETY: an address inside the buffer, refused before use.
    let odd = ArrayArg {
        ptr: unsafe { xa.ptr.add(1) },
        len: n,
    };
    expect(
        run_raw(&p, n, &[oa, odd, ya], &[]),
        bad,
        "input slot 0: address",
    );
    let huge = ArrayArg {
        ptr: (usize::MAX & !3) as *mut u8,
        len: n,
    };
    expect(
        run_raw(&p, n, &[oa, xa, huge], &[]),
        bad,
        "do not fit the address space",
    );
    // n == 0: null pointers are fine and nothing is touched.
    let empty = ArrayArg {
        ptr: std::ptr::null_mut(),
        len: 0,
    };
    run_raw(&p, 0, &[empty, empty, empty], &[]).unwrap();
}

#[test]
fn scalars_convert_and_change_between_runs() {
    // out0 := x * s (f32), out1 := i + k (i32), out2 := m & flag (bool).
    let mut b = Builder::new();
    let x = b.input(0, DType::Float32);
    let i = b.input(1, DType::Int32);
    let m = b.input(2, DType::Bool);
    let s = b.scalar(0, DType::Float32);
    let k = b.scalar(1, DType::Int32);
    let flag = b.scalar(2, DType::Bool);
    let (o0, o1, o2) = (
        b.output(0, DType::Float32),
        b.output(1, DType::Int32),
        b.output(2, DType::Bool),
    );
    b.op("mul_fff", o0, &[x, s]);
    b.op("add_iii", o1, &[i, k]);
    b.op("and_bbb", o2, &[m, flag]);
    let p = b.build().unwrap();
    let n = BLOCK + 1;
    let mut outs = [
        Buf::zeros(DType::Float32, n),
        Buf::zeros(DType::Int32, n),
        Buf::zeros(DType::Bool, n),
    ];
    let mut ins = [
        f32_buf((0..n).map(|_| 1.0)),
        Buf::zeros(DType::Int32, n),
        Buf::zeros(DType::Bool, n),
    ];
    for e in 0..n {
        ins[1].set(e, 5);
        ins[2].set(e, 1);
    }
    for (scale, add, flag) in [(0.1f64, (1i64 << 32) + 7, 2i64), (3.0, -1, 0)] {
        let scalars = [scale.to_le_bytes(), add.to_le_bytes(), flag.to_le_bytes()];
        run_bufs(&p, &mut outs, &mut ins, &scalars, 1).unwrap();
        for e in [0, n - 1] {
            assert_eq!(f32_at(&outs[0], e), scale as f32);
            assert_eq!(outs[1].get(e) as u32 as i32, 5i32.wrapping_add(add as i32));
            assert_eq!(outs[2].get(e), u64::from(flag != 0));
        }
    }
}

#[test]
fn constants_convert_by_register_dtype() {
    let mut b = Builder::new();
    let c_f = b.constant(DType::Float32, 0.1f64.to_bits());
    let c_l = b.constant(DType::Int32, (-1i64 << 33 | 9) as u64);
    let c_b = b.constant(DType::Bool, 256);
    let (o0, o1, o2) = (
        b.output(0, DType::Float32),
        b.output(1, DType::Int32),
        b.output(2, DType::Bool),
    );
    b.op("copy_ff", o0, &[c_f]);
    b.op("copy_ii", o1, &[c_l]);
    b.op("copy_bb", o2, &[c_b]);
    let p = b.build().unwrap();
    let n = 3;
    let mut outs = [
        Buf::zeros(DType::Float32, n),
        Buf::zeros(DType::Int32, n),
        Buf::zeros(DType::Bool, n),
    ];
    run_bufs(&p, &mut outs, &mut [], &[], 1).unwrap();
    assert_eq!(f32_at(&outs[0], 2), 0.1f32);
    assert_eq!(outs[1].get(2) as u32 as i32, 9);
    assert_eq!(outs[2].get(2), 1);
}

#[test]
fn threads_split_big_runs_only() {
    let p = axpy();
    assert_eq!(p.plan_threads(1 << 20, 0), 1);
    assert_eq!(p.plan_threads(1 << 20, 1), 1);
    assert_eq!(p.plan_threads(1 << 20, 4), 4);
    assert_eq!(p.plan_threads(BLOCK, 4), 1);
    assert_eq!(p.plan_threads(1000, 8), 1);
    // 3 blocks cannot make 8 parts.
    let mut b = Builder::new();
    let x = b.input(0, DType::Float64);
    let out = b.output(0, DType::Float64);
    let t = b.temp(DType::Float64);
    b.op("tanh_dd", t, &[x]);
    b.op("exp_dd", out, &[t]);
    let heavy = b.build().unwrap();
    assert_eq!(heavy.plan_threads(3 * BLOCK, 8), 3);

    // Threaded and serial runs agree, threads = 0 counts as 1.
    let n = 1_000_003;
    let x = f32_buf((0..n).map(|i| (i % 1000) as f32 * 0.25));
    let y = f32_buf((0..n).map(|i| (i % 13) as f32));
    let mut results = Vec::new();
    for threads in [0, 1, 2, 3] {
        let mut out = [Buf::zeros(DType::Float32, n)];
        run_bufs(&p, &mut out, &mut [x.clone(), y.clone()], &[], threads).unwrap();
        results.push(out[0].words.clone());
    }
    assert!(results.iter().all(|r| *r == results[0]));
}

#[test]
fn prefetching_runs_compute_what_runs_in_pieces_do() {
    // One instruction of each kernel shape: map1 (tanh), map2 (mul, gt),
    // map3 (where of a bool), map4 (the fused where of a comparison).
    let mut b = Builder::new();
    let x = b.input(0, DType::Float32);
    let y = b.input(1, DType::Float32);
    let (t, u, v) = (
        b.temp(DType::Float32),
        b.temp(DType::Float32),
        b.temp(DType::Float32),
    );
    let c = b.temp(DType::Bool);
    let out = b.output(0, DType::Float32);
    b.op("tanh_ff", t, &[x]);
    b.op("mul_fff", u, &[t, y]);
    b.op("gt_bff", c, &[x, y]);
    b.op("where_fbff", v, &[c, u, x]);
    b.op("where_gt_fffff", out, &[x, y, v, t]);
    let p = b.build().unwrap();
    // Past the threshold (kernels prefetch), and in pieces below it (they do not).
    let n = PREFETCH_MIN + 3 * BLOCK + 7;
    let x = f32_buf((0..n).map(|i| ((i * 37) % 2001) as f32 * 0.01 - 10.0));
    let y = f32_buf((0..n).map(|i| ((i * 11) % 97) as f32 * 0.1 - 4.0));
    let mut whole = [Buf::zeros(DType::Float32, n)];
    run_bufs(&p, &mut whole, &mut [x.clone(), y.clone()], &[], 2).unwrap();
    let piece = PREFETCH_MIN / 2;
    for start in (0..n).step_by(piece) {
        let len = piece.min(n - start);
        let part = |b: &Buf| f32_buf((start..start + len).map(|i| f32_at(b, i)));
        let mut out = [Buf::zeros(DType::Float32, len)];
        run_bufs(&p, &mut out, &mut [part(&x), part(&y)], &[], 2).unwrap();
        for i in 0..len {
            assert_eq!(
                f32_at(&out[0], i).to_bits(),
                f32_at(&whole[0], start + i).to_bits(),
                "element {}",
                start + i
            );
        }
    }
}

#[test]
fn programs_can_be_shared_across_threads() {
    fn shareable<T: Send + Sync>() {}
    shareable::<Program>();
    let p = std::sync::Arc::new(axpy());
    let handles: Vec<_> = (0..4)
        .map(|k| {
            let p = std::sync::Arc::clone(&p);
            std::thread::spawn(move || {
                let n = 5000 + k;
                let mut out = [Buf::zeros(DType::Float32, n)];
                let mut ins = [
                    f32_buf((0..n).map(|i| i as f32)),
                    f32_buf((0..n).map(|_| 1.0)),
                ];
                run_bufs(&p, &mut out, &mut ins, &[], 1).unwrap();
                (0..n).all(|i| f32_at(&out[0], i) == 2.0 * i as f32 + 1.0)
            })
        })
        .collect();
    assert!(handles.into_iter().all(|h| h.join().unwrap()));
}

/// Float32 arrays in 64-byte lines, so that a test picks each one's alignment.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Lines([f32; 16]);

fn lines(n: usize) -> Vec<Lines> {
    vec![Lines([0.0; 16]); n / 16 + 2]
}

/// `n` float32 elements of `v` from `offset` elements in (`offset < 16`).
fn at_offset(v: &mut [Lines], offset: usize, n: usize) -> ArrayArg {
    assert!(offset < 16 && (v.len() - 1) * 16 >= n);
    ArrayArg {
        // SAFETY: offset + n elements fit in the lines.
        ptr: unsafe { v.as_mut_ptr().cast::<f32>().add(offset).cast() },
        len: n,
    }
}

fn f32s(a: ArrayArg) -> &'static [f32] {
    // SAFETY: the tests' arrays outlive these reads, and no run is in flight.
    unsafe { std::slice::from_raw_parts(a.ptr.cast::<f32>(), a.len) }
}

#[test]
fn large_outputs_written_with_streaming_stores_are_what_small_runs_write() {
    // out0 := tanh(where(x > 0, x, 0)); out1 := out0 * y, which reads out0
    // back (so out0 is stored plainly and out1 streamed).
    let mut b = Builder::new();
    let x = b.input(0, DType::Float32);
    let y = b.input(1, DType::Float32);
    let zero = b.constant(DType::Float32, 0f64.to_bits());
    let t = b.temp(DType::Float32);
    let (out0, out1) = (b.output(0, DType::Float32), b.output(1, DType::Float32));
    b.op("where_gt_fffff", t, &[x, zero, x, zero]);
    b.op("tanh_ff", out0, &[t]);
    b.op("mul_fff", out1, &[out0, y]);
    let both = b.build().unwrap();
    // The same first statement alone: its one output is streamed.
    let mut b = Builder::new();
    let x1 = b.input(0, DType::Float32);
    let zero1 = b.constant(DType::Float32, 0f64.to_bits());
    let t1 = b.temp(DType::Float32);
    let o1 = b.output(0, DType::Float32);
    b.op("where_gt_fffff", t1, &[x1, zero1, x1, zero1]);
    b.op("tanh_ff", o1, &[t1]);
    let one = b.build().unwrap();

    let n = STREAM_MIN_BYTES / 4 + 3 * BLOCK + 7;
    let value = |i: usize| ((i * 37) % 2001) as f32 * 0.01 - 10.0;
    let (mut xs, mut ys) = (lines(n), lines(n));
    let x = at_offset(&mut xs, 0, n);
    let y = at_offset(&mut ys, 0, n);
    // SAFETY: x and y hold n elements each.
    unsafe {
        for i in 0..n {
            x.ptr.cast::<f32>().add(i).write(value(i));
            y.ptr.cast::<f32>().add(i).write(1.5 - (i % 7) as f32);
        }
    }
    let want0 = |i: usize| value(i).max(0.0).tanh();
    // A reference for tanh: the VM's own, in runs far below the threshold.
    let small = |i: usize| {
        let mut out = [Buf::zeros(DType::Float32, 1)];
        run_bufs(&one, &mut out, &mut [f32_buf([value(i)])], &[], 1).unwrap();
        f32_at(&out[0], 0)
    };
    let sample: Vec<usize> = (0..n).step_by(4099).chain([n - 1]).collect();
    let reference: Vec<f32> = sample.iter().map(|&i| small(i)).collect();
    for (&i, &r) in sample.iter().zip(&reference) {
        assert!((r - want0(i)).abs() <= 1e-6, "reference at {i}");
    }
    let check = |out: ArrayArg, what: &str| {
        let got = f32s(out);
        for (&i, &r) in sample.iter().zip(&reference) {
            assert_eq!(got[i].to_bits(), r.to_bits(), "{what}: element {i}");
        }
        // Every element, against its neighbours' pattern: tanh of a clamp.
        for (i, &v) in got.iter().enumerate() {
            assert!(
                (v - want0(i)).abs() <= 2e-7 * want0(i).abs().max(1.0),
                "{what}: {i}"
            );
        }
    };
    // Aligned outputs (streamed), one 4 bytes off (plain stores in stream
    // mode), and two threads or one.
    for (offset, threads) in [(0, 2), (1, 2), (4, 1)] {
        let mut os = lines(n);
        let out = at_offset(&mut os, offset, n);
        let args = RunArgs {
            n,
            arrays: &[out, x],
            scalars: &[],
            threads,
        };
        // SAFETY: the arrays hold n elements each and do not overlap.
        unsafe { run(&one, &args) }.unwrap();
        check(out, &format!("one output at +{offset}, {threads} threads"));
    }
    let (mut o0s, mut o1s) = (lines(n), lines(n));
    let (o0, o1) = (at_offset(&mut o0s, 0, n), at_offset(&mut o1s, 0, n));
    let args = RunArgs {
        n,
        arrays: &[o0, o1, x, y],
        scalars: &[],
        threads: 2,
    };
    // SAFETY: as above.
    unsafe { run(&both, &args) }.unwrap();
    check(o0, "the output read back");
    let (got0, got1, ys) = (f32s(o0), f32s(o1), f32s(y));
    for i in 0..n {
        assert_eq!(got1[i].to_bits(), (got0[i] * ys[i]).to_bits(), "out1: {i}");
    }
    // In place over its input (an exact alias: not streamed).
    let mut xs2 = xs.clone();
    let inout = at_offset(&mut xs2, 0, n);
    let args = RunArgs {
        n,
        arrays: &[inout, inout],
        scalars: &[],
        threads: 2,
    };
    // SAFETY: an exact alias, which the program reads before writing.
    unsafe { run(&one, &args) }.unwrap();
    check(inout, "in place");
}
