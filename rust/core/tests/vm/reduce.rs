//! Fused reductions (`run_reduce`): every reduction of a computed argument,
//! 1-D and N-d (a broadcast input), at lengths around the 8192-element
//! chunk, on one thread and two, must equal bit for bit the program run into
//! an array and then reduced (`run` / `run_nd`, then `reduce`).

use crate::common::{Buf, Builder, Rng};
use numfuse_core::opcodes::DType;
use numfuse_core::{
    reduce, run, run_nd, run_reduce, ArrayArg, ErrorCode, Geometry, Program, ReduceArgs, ReduceOp,
    RunArgs, View,
};

/// `out = a * b` over float32.
fn mul_program() -> Program {
    let mut b = Builder::new();
    let out = b.output(0, DType::Float32);
    let (x, y) = (b.input(0, DType::Float32), b.input(1, DType::Float32));
    b.op("mul_fff", out, &[x, y]);
    b.build().unwrap()
}

/// Float32 data with zeros of both signs, a few NaNs if `nan`, else values
/// in [-2, 2).
fn data(len: usize, seed: u64, nan: bool) -> Buf {
    let mut rng = Rng::new(seed);
    let mut buf = Buf::zeros(DType::Float32, len);
    for i in 0..len {
        let x = match rng.below(64) {
            0 => -0.0,
            1 => 0.0,
            2 if nan => f32::NAN,
            _ => (rng.below(1 << 20) as f32 / (1 << 18) as f32) - 2.0,
        };
        buf.set(i, u64::from(x.to_bits()));
    }
    buf
}

/// Reduces the contiguous float32 `values` with `op` (the materialized path).
fn reduce_array(op: ReduceOp, values: &mut Buf, threads: usize) -> Result<u64, ErrorCode> {
    let n = values.len;
    let mut out = Buf::zeros(op.result_dtype(DType::Float32), 1);
    let view = View {
        shape: vec![n],
        strides: vec![1],
        offset: 0,
    };
    let args = ReduceArgs {
        op,
        dtype: DType::Float32,
        data: values.arg().ptr,
        data_len: n,
        view: &view,
        axis: None,
        out: out.arg().ptr,
        out_len: 1,
        threads,
    };
    // SAFETY: both buffers are owned here and hold their lengths.
    unsafe { reduce(&args) }.map_err(|e| e.code)?;
    Ok(out.get(0))
}

/// The fused result, and the materialized one, of `op(a * b)`.
fn both(
    op: ReduceOp,
    a: &mut Buf,
    b: &mut Buf,
    geometry: Option<&Geometry>,
    n: usize,
    threads: usize,
) -> (Result<u64, ErrorCode>, Result<u64, ErrorCode>) {
    let program = mul_program();
    let mut out = Buf::zeros(op.result_dtype(DType::Float32), 1);
    let inputs = [a.arg(), b.arg()];
    let args = RunArgs {
        n,
        arrays: &[out.arg(), inputs[0], inputs[1]],
        scalars: &[],
        threads,
    };
    // SAFETY: the buffers are owned here and hold their lengths.
    let fused = unsafe { run_reduce(&program, &args, geometry, op) }
        .map(|()| out.get(0))
        .map_err(|e| e.code);
    let mut values = Buf::zeros(DType::Float32, n);
    let arrays: Vec<ArrayArg> = vec![values.arg(), inputs[0], inputs[1]];
    let args = RunArgs {
        n,
        arrays: &arrays,
        scalars: &[],
        threads,
    };
    // SAFETY: as above.
    match geometry {
        None => unsafe { run(&program, &args) },
        Some(g) => unsafe { run_nd(&program, &args, g) },
    }
    .unwrap();
    (fused, reduce_array(op, &mut values, threads))
}

#[test]
fn fused_1d_reductions_equal_materialized_ones() {
    for n in [0usize, 1, 7, 8191, 8192, 8193, 300_000] {
        for nan in [false, true] {
            let (mut a, mut b) = (data(n, 1 + n as u64, nan), data(n, 2, false));
            for op in ReduceOp::ALL {
                for threads in [1, 2, 3] {
                    let (fused, want) = both(op, &mut a, &mut b, None, n, threads);
                    assert_eq!(
                        fused, want,
                        "{op:?} n = {n} nan = {nan} threads = {threads}"
                    );
                }
            }
        }
    }
}

#[test]
fn fused_nd_reductions_equal_materialized_ones() {
    // a is [rows, 500] transposed from a [500, rows] array; b one row, broadcast.
    for rows in [1usize, 17, 600] {
        let n = rows * 500;
        let shape = [rows, 500];
        let geometry =
            Geometry::new(&shape, &[0, 0, 0], &[500, 1, 1, rows as isize, 0, 1]).unwrap();
        let (mut a, mut b) = (data(n, 5, rows == 17), data(500, 6, false));
        for op in ReduceOp::ALL {
            for threads in [1, 2] {
                let (fused, want) = both(op, &mut a, &mut b, Some(&geometry), n, threads);
                assert_eq!(fused, want, "{op:?} rows = {rows} threads = {threads}");
            }
        }
    }
}

#[test]
fn fused_reductions_refuse_bad_runs() {
    let program = mul_program();
    let (mut a, mut b) = (data(10, 1, false), data(9, 2, false));
    let mut out = Buf::zeros(DType::Float32, 2);
    let run_with = |arrays: &[ArrayArg]| {
        let args = RunArgs {
            n: 10,
            arrays,
            scalars: &[],
            threads: 1,
        };
        // SAFETY: the buffers are owned by the test and hold their lengths.
        unsafe { run_reduce(&program, &args, None, ReduceOp::Sum) }.unwrap_err()
    };
    let one = ArrayArg {
        len: 1,
        ..out.arg()
    };
    let e = run_with(&[one, a.arg(), b.arg()]);
    assert_eq!(
        e.message,
        "input slot 1: array has 9 elements, the run has n = 10"
    );
    let e = run_with(&[one, a.arg()]);
    assert_eq!(
        e.message,
        "the program takes 3 arrays (the result, then 2 inputs), got 2"
    );
    let mut b = data(10, 2, false);
    let e = run_with(&[out.arg(), a.arg(), b.arg()]);
    assert_eq!(
        e.message,
        "the result array has 2 elements, a whole reduction writes 1"
    );
    let null = ArrayArg {
        ptr: std::ptr::null_mut(),
        len: 1,
    };
    let e = run_with(&[null, a.arg(), b.arg()]);
    assert_eq!(e.message, "out is null but has 1 elements");
    let (mut e0, mut e1) = (data(0, 1, false), data(0, 2, false));
    let args = RunArgs {
        n: 0,
        arrays: &[one, e0.arg(), e1.arg()],
        scalars: &[],
        threads: 1,
    };
    // SAFETY: as above.
    let e = unsafe { run_reduce(&program, &args, None, ReduceOp::Max) }.unwrap_err();
    assert_eq!(e.code, ErrorCode::Domain);
}
