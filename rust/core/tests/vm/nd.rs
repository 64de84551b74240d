//! N-d runs (`run_nd`): broadcast, strided and reversed inputs against a
//! naive index-arithmetic reference, block remainders and the threaded path,
//! and the geometry checks.

use crate::common::{Buf, Builder};
use numfuse_core::opcodes::DType;
use numfuse_core::{run_nd, ArrayArg, Error, ErrorCode, Geometry, Program, RunArgs};

/// `out = a - b` over float64.
fn sub_program() -> Program {
    let mut b = Builder::new();
    let out = b.output(0, DType::Float64);
    let (x, y) = (b.input(0, DType::Float64), b.input(1, DType::Float64));
    b.op("sub_ddd", out, &[x, y]);
    b.build().unwrap()
}

/// Element `flat` (row-major over `shape`) of a strided array.
fn index(shape: &[usize], offset: usize, strides: &[isize], flat: usize) -> usize {
    let mut rest = flat;
    let mut at = offset as isize;
    for d in (0..shape.len()).rev() {
        at += (rest % shape[d]) as isize * strides[d];
        rest /= shape[d];
    }
    at as usize
}

fn filled(len: usize, scale: f64) -> Buf {
    let mut buf = Buf::zeros(DType::Float64, len);
    for i in 0..len {
        buf.set(i, (i as f64 * scale + 0.25).to_bits());
    }
    buf
}

/// One array's geometry: its length, offset and strides.
type Layout<'a> = (usize, usize, &'a [isize]);

/// Runs `sub_program` over `shape` with the two inputs' layouts (the output
/// contiguous) and returns the output, or the error.
fn run_sub(shape: &[usize], a: Layout, b: Layout, threads: usize) -> Result<Vec<f64>, Error> {
    let program = sub_program();
    let n: usize = shape.iter().product();
    let contiguous: Vec<isize> = (0..shape.len())
        .map(|d| shape[d + 1..].iter().product::<usize>() as isize)
        .collect();
    let mut strides = contiguous.clone();
    strides.extend_from_slice(a.2);
    strides.extend_from_slice(b.2);
    let geometry = Geometry::new(shape, &[0, a.1, b.1], &strides)?;
    let mut out = Buf::zeros(DType::Float64, n);
    let (mut x, mut y) = (filled(a.0, 1.5), filled(b.0, -0.75));
    let arrays: Vec<ArrayArg> = vec![out.arg(), x.arg(), y.arg()];
    let args = RunArgs {
        n,
        arrays: &arrays,
        scalars: &[],
        threads,
    };
    // SAFETY: the buffers are owned here and hold the lengths given.
    unsafe { run_nd(&program, &args, &geometry) }?;
    let want: Vec<f64> = (0..n)
        .map(|i| {
            let xa = f64::from_bits(x.get(index(shape, a.1, a.2, i)));
            let yb = f64::from_bits(y.get(index(shape, b.1, b.2, i)));
            xa - yb
        })
        .collect();
    let got: Vec<f64> = (0..n).map(|i| f64::from_bits(out.get(i))).collect();
    assert_eq!(got, want, "{shape:?}");
    Ok(got)
}

#[test]
fn broadcasts_and_strides_match_the_reference() {
    // (3,1,5) with (4,5) → (3,4,5).
    run_sub(&[3, 4, 5], (15, 0, &[5, 0, 1]), (20, 0, &[0, 5, 1]), 1).unwrap();
    // A transposed (3,4) minus a contiguous (4,3).
    run_sub(&[4, 3], (12, 0, &[1, 4]), (12, 0, &[3, 1]), 1).unwrap();
    // Both axes reversed, from an offset; a zero-stride scalar-like array.
    run_sub(&[2, 3], (6, 5, &[-3, -1]), (1, 0, &[0, 0]), 1).unwrap();
    // 0-d.
    run_sub(&[], (3, 2, &[]), (1, 0, &[]), 1).unwrap();
    // Zero-size: nothing is read, whatever the strides.
    run_sub(&[0, 4], (0, 0, &[4, 1]), (0, 0, &[9, -9]), 1).unwrap();
}

#[test]
fn large_runs_cross_blocks_and_threads() {
    // 3 × 100_003 elements: many blocks, a remainder, and enough work to thread.
    let shape = [3, 100_003];
    let a: &[isize] = &[1, 3];
    let b: &[isize] = &[0, -1];
    for threads in [1, 4] {
        run_sub(&shape, (300_009, 0, a), (100_003, 100_002, b), threads).unwrap();
    }
}

#[test]
fn geometry_is_checked_against_the_arrays() {
    let refuse = |shape: &[usize], a: Layout, b: Layout, want: &str| {
        let e = run_sub(shape, a, b, 1).expect_err(want);
        assert_eq!(e.code, ErrorCode::BadArguments, "{}", e.message);
        assert!(e.message.contains(want), "{} vs {want}", e.message);
    };
    let outside = "the geometry reaches elements outside";
    refuse(&[3, 4], (11, 0, &[4, 1]), (12, 0, &[4, 1]), outside);
    refuse(&[3, 4], (12, 1, &[4, 1]), (12, 0, &[4, 1]), outside);
    refuse(&[3, 4], (12, 0, &[4, -1]), (12, 0, &[4, 1]), outside);
    refuse(&[2], (2, 0, &[1]), (8, 0, &[isize::MAX / 2]), outside);
}

#[test]
fn outputs_must_be_contiguous_and_not_overlap_gathered_inputs() {
    let program = sub_program();
    let mut buf = filled(8, 1.0);
    let mut other = filled(8, 2.0);
    let arrays = [buf.arg(), buf.arg(), other.arg()];
    let args = RunArgs {
        n: 4,
        arrays: &arrays,
        scalars: &[],
        threads: 1,
    };
    let strided = Geometry::new(&[4], &[0, 0, 0], &[2, 1, 1]).unwrap();
    // SAFETY: the buffers hold 8 elements; the geometry is checked first.
    let e = unsafe { run_nd(&program, &args, &strided) }.unwrap_err();
    assert!(e.message.contains("not contiguous"), "{}", e.message);
    // The input reads the output's memory reversed: refused, not silently wrong.
    let reversed = Geometry::new(&[4], &[0, 3, 0], &[1, -1, 1]).unwrap();
    // SAFETY: as above.
    let e = unsafe { run_nd(&program, &args, &reversed) }.unwrap_err();
    assert_eq!(e.code, ErrorCode::Overlap, "{}", e.message);
    // An exact alias read in place is element-wise safe.
    let same = Geometry::new(&[4], &[0, 0, 0], &[1, 1, 1]).unwrap();
    // SAFETY: as above.
    unsafe { run_nd(&program, &args, &same) }.unwrap();
    for i in 0..4 {
        // (i + 0.25) - (2i + 0.25), the rest untouched.
        assert_eq!(f64::from_bits(buf.get(i)), -(i as f64));
        assert_eq!(f64::from_bits(buf.get(i + 4)), (i + 4) as f64 + 0.25);
    }
    // The shape must have the run's n elements.
    let wrong = Geometry::new(&[5], &[0, 0, 0], &[1, 1, 1]).unwrap();
    // SAFETY: as above.
    let e = unsafe { run_nd(&program, &args, &wrong) }.unwrap_err();
    assert!(e.message.contains("does not have n = 4"), "{}", e.message);
}
