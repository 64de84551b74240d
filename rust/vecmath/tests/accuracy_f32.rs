//! Random-input accuracy of the float32 functions against std's f64 functions
//! (the reference is the f64 result rounded to f32; ULP distances are integer).
//! Run with `--nocapture` to see the table of max ULP errors.
mod common;
use common::{ulp32_of, ulp_dist32, Rng};
use numfuse_vecmath as vm;

/// Input domain: log-uniform magnitudes in [lo, hi] (optionally both signs) or uniform.
#[derive(Clone, Copy)]
enum Dom {
    Log(f64, f64, bool),
    Uni(f64, f64),
}

const N: usize = 1 << 20;

fn gen(rng: &mut Rng, d: Dom) -> f32 {
    match d {
        Dom::Log(lo, hi, s) => rng.loguni(lo, hi, s) as f32,
        Dom::Uni(lo, hi) => rng.uniform(lo, hi) as f32,
    }
}

fn check1(name: &str, f: fn(f32) -> f32, r: fn(f64) -> f64, doms: &[Dom], bound: u64) {
    let mut rng = Rng(0x1234_5678 ^ (name.len() as u64 * 7919));
    let per = (N + doms.len() - 1) / doms.len();
    let (mut wd, mut wx, mut wf) = (0u64, 0f32, 0f64);
    for &d in doms {
        for _ in 0..per {
            let x = gen(&mut rng, d);
            let res = f(x);
            let rf = r(f64::from(x));
            let dist = ulp_dist32(res, rf as f32);
            if dist > wd {
                wd = dist;
                wx = x;
            }
            if rf.is_finite() && res.is_finite() {
                wf = wf.max((f64::from(res) - rf).abs() / ulp32_of(rf));
            }
        }
    }
    println!(
        "f32 {name:8} max_ulp={wd} (vs unrounded f64 ref: {wf:.3}) worst x={wx:e} n={}",
        per * doms.len()
    );
    assert!(wd <= bound, "{name}: {wd} ULP at x={wx:e} (bound {bound})");
}

fn check2(
    name: &str,
    f: fn(f32, f32) -> f32,
    r: fn(f64, f64) -> f64,
    pairs: &mut dyn FnMut(&mut Rng) -> (f32, f32),
    bound: u64,
) {
    let mut rng = Rng(0x9876_5432 ^ name.len() as u64);
    let (mut wd, mut wx, mut wy, mut wf) = (0u64, 0f32, 0f32, 0f64);
    for _ in 0..N {
        let (x, y) = pairs(&mut rng);
        let res = f(x, y);
        let rf = r(f64::from(x), f64::from(y));
        let dist = ulp_dist32(res, rf as f32);
        if dist > wd {
            (wd, wx, wy) = (dist, x, y);
        }
        if rf.is_finite() && res.is_finite() {
            wf = wf.max((f64::from(res) - rf).abs() / ulp32_of(rf));
        }
    }
    println!(
        "f32 {name:8} max_ulp={wd} (vs unrounded f64 ref: {wf:.3}) worst x={wx:e} y={wy:e} n={N}"
    );
    assert!(
        wd <= bound,
        "{name}: {wd} ULP at ({wx:e}, {wy:e}) (bound {bound})"
    );
}

use Dom::{Log, Uni};

#[test]
fn exp() {
    check1(
        "exp",
        vm::exp_f32,
        f64::exp,
        &[Log(1e-8, 104.0, true), Uni(-104.0, 89.0)],
        1,
    );
}
#[test]
fn expm1() {
    check1(
        "expm1",
        vm::expm1_f32,
        f64::exp_m1,
        &[Log(1e-10, 89.0, true), Uni(-20.0, 89.0)],
        2,
    );
}
#[test]
fn exp2() {
    check1(
        "exp2",
        vm::exp2_f32,
        f64::exp2,
        &[Log(1e-8, 150.0, true), Uni(-150.0, 128.0)],
        2,
    );
}
#[test]
fn log() {
    check1(
        "log",
        vm::log_f32,
        f64::ln,
        &[Log(1e-45, 3.4e38, false), Uni(0.9, 1.1)],
        1,
    );
}
#[test]
fn log2() {
    check1(
        "log2",
        vm::log2_f32,
        f64::log2,
        &[Log(1e-45, 3.4e38, false), Uni(0.9, 1.1)],
        2,
    );
}
#[test]
fn log10() {
    check1(
        "log10",
        vm::log10_f32,
        f64::log10,
        &[Log(1e-45, 3.4e38, false), Uni(0.9, 1.1)],
        2,
    );
}
#[test]
fn log1p() {
    check1(
        "log1p",
        vm::log1p_f32,
        f64::ln_1p,
        &[Log(1e-10, 0.999_999, true), Log(1.0, 3.4e38, false)],
        2,
    );
}
#[test]
fn sin() {
    check1(
        "sin",
        vm::sin_f32,
        f64::sin,
        &[Log(1e-10, 1e5, true), Uni(-10.0, 10.0)],
        1,
    );
    // beyond the issue's |x| < 1e5 (Payne-Hanek above 2^25): same bound
    check1(
        "sin_big",
        vm::sin_f32,
        f64::sin,
        &[Log(1e5, 3.4e38, true)],
        1,
    );
}
#[test]
fn cos() {
    check1(
        "cos",
        vm::cos_f32,
        f64::cos,
        &[Log(1e-10, 1e5, true), Uni(-10.0, 10.0)],
        1,
    );
    // beyond the issue's |x| < 1e5 (Payne-Hanek above 2^25): same bound
    check1(
        "cos_big",
        vm::cos_f32,
        f64::cos,
        &[Log(1e5, 3.4e38, true)],
        1,
    );
}
#[test]
fn tan() {
    check1(
        "tan",
        vm::tan_f32,
        f64::tan,
        &[Log(1e-10, 3.4e38, true), Uni(-10.0, 10.0)],
        2,
    );
}
#[test]
fn tanh() {
    check1(
        "tanh",
        vm::tanh_f32,
        f64::tanh,
        &[Log(1e-10, 20.0, true), Uni(-3.0, 3.0)],
        2,
    );
}
#[test]
fn sinh() {
    check1(
        "sinh",
        vm::sinh_f32,
        f64::sinh,
        &[Log(1e-10, 90.0, true), Uni(-3.0, 3.0)],
        2,
    );
}
#[test]
fn cosh() {
    check1(
        "cosh",
        vm::cosh_f32,
        f64::cosh,
        &[Log(1e-10, 90.0, true), Uni(-3.0, 3.0)],
        2,
    );
}
#[test]
fn arcsinh() {
    check1(
        "arcsinh",
        vm::arcsinh_f32,
        f64::asinh,
        &[Log(1e-10, 3.4e38, true), Uni(-3.0, 3.0)],
        2,
    );
}
#[test]
fn arccosh() {
    check1(
        "arccosh",
        vm::arccosh_f32,
        f64::acosh,
        &[Log(1.0, 3.4e38, false), Uni(1.0, 3.0)],
        2,
    );
}
#[test]
fn arctanh() {
    check1(
        "arctanh",
        vm::arctanh_f32,
        f64::atanh,
        &[Log(1e-10, 1.0, true), Uni(-1.0, 1.0)],
        2,
    );
}
#[test]
fn arcsin() {
    check1(
        "arcsin",
        vm::arcsin_f32,
        f64::asin,
        &[Log(1e-10, 1.0, true), Uni(-1.0, 1.0)],
        2,
    );
}
#[test]
fn arccos() {
    check1(
        "arccos",
        vm::arccos_f32,
        f64::acos,
        &[Log(1e-10, 1.0, true), Uni(-1.0, 1.0)],
        2,
    );
}
#[test]
fn arctan() {
    check1(
        "arctan",
        vm::arctan_f32,
        f64::atan,
        &[Log(1e-10, 3.4e38, true), Uni(-3.0, 3.0)],
        2,
    );
}
#[test]
fn arctan2() {
    check2(
        "arctan2",
        vm::arctan2_f32,
        f64::atan2,
        &mut |r| {
            (
                r.loguni(1e-30, 1e30, true) as f32,
                r.loguni(1e-30, 1e30, true) as f32,
            )
        },
        2,
    );
}
#[test]
fn pow() {
    check2(
        "pow",
        vm::pow_f32,
        f64::powf,
        &mut |r| {
            match r.next_u64() % 3 {
                0 => {
                    // |y log2 x| up to ~150: finite, underflowing and overflowing results
                    let x = r.loguni(1e-30, 1e30, false);
                    let t = r.uniform(-160.0, 135.0);
                    (x as f32, (t / x.log2()) as f32)
                }
                1 => (
                    r.loguni(1e-3, 1e3, true) as f32,
                    (r.uniform(-40.0, 40.0)).round() as f32,
                ),
                _ => (
                    r.loguni(1e-6, 1e6, false) as f32,
                    r.uniform(-6.0, 6.0) as f32,
                ),
            }
        },
        2,
    );
}
