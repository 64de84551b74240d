//! `nf_reduce` through the C ABI: results, and errors with their messages in
//! the error buffer.

use std::ffi::c_void;
use std::ptr;

use numfuse::nf_reduce;

const F64: u32 = 11;
const I32: u32 = 5;
const SUM: u32 = 0;
const MAX: u32 = 3;

/// Calls `nf_reduce`; returns the status and the error buffer's message.
fn reduce<T, R>(op: u32, dtype: u32, data: &[T], geom: &[f64], out: &mut [R]) -> (i32, String) {
    let mut err = [0u8; 256];
    // SAFETY: every buffer is valid for the length passed with it.
    let status = unsafe {
        nf_reduce(
            op,
            dtype,
            data.as_ptr().cast::<c_void>(),
            std::mem::size_of_val(data) as f64,
            geom.as_ptr(),
            geom.len() as u32,
            out.as_mut_ptr().cast::<c_void>(),
            std::mem::size_of_val(out) as f64,
            1,
            err.as_mut_ptr(),
            err.len() as u32,
        )
    };
    let end = err.iter().position(|&b| b == 0).unwrap_or(err.len());
    (status, String::from_utf8_lossy(&err[..end]).into_owned())
}

#[test]
fn reduces_a_strided_view_along_an_axis() {
    let data: Vec<i32> = (0..12).collect();
    let mut out = [0i64; 4];
    // The transpose of a 3x4 row-major array, summed along its rows.
    let geom = [0.0, 1.0, 2.0, 4.0, 3.0, 1.0, 4.0];
    assert_eq!(reduce(SUM, I32, &data, &geom, &mut out), (0, String::new()));
    assert_eq!(out, [12, 15, 18, 21]);
    let mut max = [0i32; 1];
    let geom = [11.0, f64::NAN, 1.0, 12.0, -1.0];
    assert_eq!(reduce(MAX, I32, &data, &geom, &mut max).0, 0);
    assert_eq!(max, [11]);
}

#[test]
fn errors_come_back_in_the_error_buffer() {
    let data = [1.0f64, 2.0, 3.0];
    let mut out = [0.0f64; 1];
    let whole = [0.0, f64::NAN, 1.0, 3.0, 1.0];
    assert_eq!(
        reduce(9, F64, &data, &whole, &mut out),
        (-2, "unknown reduction code 9".to_string())
    );
    assert_eq!(
        reduce(SUM, 99, &data, &whole, &mut out),
        (-2, "unknown dtype code 99".to_string())
    );
    assert_eq!(
        reduce(SUM, F64, &data, &[0.0, 5.0, 1.0, 3.0, 1.0], &mut out),
        (
            -2,
            "axis 5 is out of bounds for array of dimension 1".to_string()
        )
    );
    assert_eq!(
        reduce(
            MAX,
            F64,
            &data[..0],
            &[0.0, f64::NAN, 1.0, 0.0, 1.0],
            &mut out
        ),
        (
            -4,
            "zero-size array to reduction operation maximum which has no identity".to_string()
        )
    );
    let mut small = [0.0f32; 1];
    assert_eq!(
        reduce(SUM, F64, &data, &whole, &mut small),
        (
            -2,
            "out has 4 bytes, not a whole number of float64 elements".to_string()
        )
    );
    let mut err = [0u8; 64];
    // SAFETY: a NULL geometry is refused before anything is read.
    let status = unsafe {
        nf_reduce(
            SUM,
            F64,
            data.as_ptr().cast(),
            24.0,
            ptr::null(),
            0,
            out.as_mut_ptr().cast(),
            8.0,
            1,
            err.as_mut_ptr(),
            err.len() as u32,
        )
    };
    assert_eq!(status, -2);
    assert!(err.starts_with(b"geometry is NULL\0"));
}
