//! Special values (C99 Annex F / NumPy): NaN, +-inf, +-0, domain edges,
//! overflow and underflow. Results are compared bit for bit (any NaN matches
//! NaN), for float64 and, on the same table widened/narrowed, float32.
use numfuse_vecmath as vm;
use std::f64::consts::{FRAC_PI_2, FRAC_PI_4, PI};

const NAN: f64 = f64::NAN;
const INF: f64 = f64::INFINITY;

fn same64(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}
fn same32(a: f32, b: f32) -> bool {
    (a.is_nan() && b.is_nan()) || a.to_bits() == b.to_bits()
}

/// Checks `cases` (input, expected) on the f64 function and on the f32 one
/// (input and expected rounded to f32).
fn table(name: &str, f64f: fn(f64) -> f64, f32f: fn(f32) -> f32, cases: &[(f64, f64)]) {
    let mut bad = Vec::new();
    for &(x, e) in cases {
        let r = f64f(x);
        if !same64(r, e) {
            bad.push(format!("{name}_f64({x:e}) = {r:e}, expected {e:e}"));
        }
        let r = f32f(x as f32);
        if !same32(r, e as f32) {
            bad.push(format!(
                "{name}_f32({:e}) = {r:e}, expected {:e}",
                x as f32, e as f32
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

fn table2(
    name: &str,
    f64f: fn(f64, f64) -> f64,
    f32f: fn(f32, f32) -> f32,
    cases: &[(f64, f64, f64)],
) {
    let mut bad = Vec::new();
    for &(x, y, e) in cases {
        let r = f64f(x, y);
        if !same64(r, e) {
            bad.push(format!("{name}_f64({x:e}, {y:e}) = {r:e}, expected {e:e}"));
        }
        let r = f32f(x as f32, y as f32);
        if !same32(r, e as f32) {
            bad.push(format!(
                "{name}_f32({:e}, {:e}) = {r:e}, expected {:e}",
                x as f32, y as f32, e as f32
            ));
        }
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn exp() {
    table(
        "exp",
        vm::exp_f64,
        vm::exp_f32,
        &[
            (NAN, NAN),
            (INF, INF),
            (-INF, 0.0),
            (0.0, 1.0),
            (-0.0, 1.0),
            (1000.0, INF),
            (-1000.0, 0.0),
            (710.0, INF),
            (-800.0, 0.0),
        ],
    );
    // f32 edges: largest finite result, overflow, smallest subnormal, underflow to 0
    for x in [88.72283f32, 88.72284, -103.27893, -103.97208, -87.33655] {
        assert_eq!(vm::exp_f32(x), f64::from(x).exp() as f32, "exp_f32({x})");
    }
    assert_eq!(vm::exp_f32(88.72284), f32::INFINITY);
    assert_eq!(vm::exp_f32(-104.0).to_bits(), 0);
    // f64 edges
    assert_eq!(vm::exp_f64(709.782712893384), 1.7976931348622732e308);
    assert_eq!(vm::exp_f64(709.7827128933841), INF);
    assert_eq!(vm::exp_f64(-744.44), 5e-324);
    assert_eq!(vm::exp_f64(-745.2).to_bits(), 0);
}

#[test]
fn exp_subnormal_results_match_std() {
    for i in 0..20_000 {
        let x = -708.0 - 37.2 * f64::from(i) / 20_000.0;
        let (a, b) = (vm::exp_f64(x), x.exp());
        assert!(
            (a - b).abs() <= f64::from_bits(1).max(b * 2.3e-16),
            "exp({x}) = {a:e} vs {b:e}"
        );
        let xf = -87.0 - 17.0 * i as f32 / 20_000.0;
        assert_eq!(vm::exp_f32(xf), f64::from(xf).exp() as f32, "exp_f32({xf})");
    }
}

#[test]
fn expm1() {
    table(
        "expm1",
        vm::expm1_f64,
        vm::expm1_f32,
        &[
            (NAN, NAN),
            (INF, INF),
            (-INF, -1.0),
            (0.0, 0.0),
            (-0.0, -0.0),
            (1000.0, INF),
            (-1000.0, -1.0),
            (1e-300, 1e-300),
            (-1e-300, -1e-300),
            (5e-324, 5e-324),
        ],
    );
}

#[test]
fn exp2() {
    table(
        "exp2",
        vm::exp2_f64,
        vm::exp2_f32,
        &[
            (NAN, NAN),
            (INF, INF),
            (-INF, 0.0),
            (0.0, 1.0),
            (-0.0, 1.0),
            (3.0, 8.0),
            (-1.0, 0.5),
            (10.0, 1024.0),
            (1024.0, INF),
            (-1075.0, 0.0),
            (-2000.0, 0.0),
            (2000.0, INF),
        ],
    );
    assert_eq!(vm::exp2_f64(-1074.0), 5e-324);
    assert_eq!(vm::exp2_f64(1023.0), 2f64.powi(1023));
    assert_eq!(vm::exp2_f32(-149.0), f32::from_bits(1));
    assert_eq!(vm::exp2_f32(-150.0).to_bits(), 0);
    assert_eq!(vm::exp2_f32(128.0), f32::INFINITY);
    assert_eq!(vm::exp2_f32(127.0), 2f32.powi(127));
}

const LOG_CASES: &[(f64, f64)] = &[
    (NAN, NAN),
    (INF, INF),
    (-INF, NAN),
    (0.0, -INF),
    (-0.0, -INF),
    (-1.0, NAN),
    (1.0, 0.0),
    (-1e-30, NAN),
];

#[test]
fn log() {
    table("log", vm::log_f64, vm::log_f32, LOG_CASES);
    assert_eq!(vm::log_f64(5e-324), (5e-324f64).ln());
    assert_eq!(
        vm::log_f32(f32::from_bits(1)),
        f64::from(f32::from_bits(1)).ln() as f32
    );
}

#[test]
fn log2() {
    table("log2", vm::log2_f64, vm::log2_f32, LOG_CASES);
    for k in -1074i32..1024 {
        let p = if k < -1022 {
            f64::from_bits(1u64 << (k + 1074))
        } else {
            f64::from_bits(((k + 1023) as u64) << 52)
        };
        assert_eq!(vm::log2_f64(p), f64::from(k), "log2(2^{k})");
    }
    for k in -149i32..128 {
        let p = if k < -126 {
            f32::from_bits(1u32 << (k + 149))
        } else {
            f32::from_bits(((k + 127) as u32) << 23)
        };
        assert_eq!(vm::log2_f32(p), k as f32, "log2_f32(2^{k})");
    }
}

#[test]
fn log10() {
    table("log10", vm::log10_f64, vm::log10_f32, LOG_CASES);
    for k in -300i32..=300 {
        let x: f64 = format!("1e{k}").parse().unwrap();
        let d = (vm::log10_f64(x) - f64::from(k)).abs();
        assert!(
            d <= 2.0 * f64::EPSILON * f64::from(k.abs().max(1)),
            "log10(1e{k}) = {}",
            vm::log10_f64(x)
        );
    }
}

#[test]
fn log1p() {
    table(
        "log1p",
        vm::log1p_f64,
        vm::log1p_f32,
        &[
            (NAN, NAN),
            (INF, INF),
            (-INF, NAN),
            (-1.0, -INF),
            (-2.0, NAN),
            (0.0, 0.0),
            (-0.0, -0.0),
            (1e-300, 1e-300),
            (-1e-300, -1e-300),
            (5e-324, 5e-324),
        ],
    );
}

#[test]
fn sin_cos_tan() {
    let odd = [
        (NAN, NAN),
        (INF, NAN),
        (-INF, NAN),
        (0.0, 0.0),
        (-0.0, -0.0),
        (1e-300, 1e-300),
        (-1e-300, -1e-300),
    ];
    table("sin", vm::sin_f64, vm::sin_f32, &odd);
    table("tan", vm::tan_f64, vm::tan_f32, &odd);
    table(
        "cos",
        vm::cos_f64,
        vm::cos_f32,
        &[
            (NAN, NAN),
            (INF, NAN),
            (-INF, NAN),
            (0.0, 1.0),
            (-0.0, 1.0),
            (1e-300, 1.0),
        ],
    );
    // f32 huge arguments (Payne-Hanek path) stay exact-ish and bounded
    for x in [1e10f32, -3.4e38, 1.7014118e38, 33554432.0, 1e20] {
        assert_eq!(vm::sin_f32(x), f64::from(x).sin() as f32, "sin_f32({x:e})");
        assert_eq!(vm::cos_f32(x), f64::from(x).cos() as f32, "cos_f32({x:e})");
        assert_eq!(vm::tan_f32(x), f64::from(x).tan() as f32, "tan_f32({x:e})");
    }
    // float64: accurate up to 4.2e8 (Cody-Waite); beyond that NaN (documented gap)
    assert_eq!(vm::sin_f64(4.2e8), 4.2e8f64.sin());
    assert!(
        vm::sin_f64(1e9).is_nan() && vm::cos_f64(-1e300).is_nan() && vm::tan_f64(1e10).is_nan()
    );
}

#[test]
fn hyperbolic() {
    table(
        "tanh",
        vm::tanh_f64,
        vm::tanh_f32,
        &[
            (NAN, NAN),
            (INF, 1.0),
            (-INF, -1.0),
            (0.0, 0.0),
            (-0.0, -0.0),
            (1e-300, 1e-300),
            (-1e-300, -1e-300),
            (30.0, 1.0),
            (-30.0, -1.0),
            (1e300, 1.0),
        ],
    );
    table(
        "sinh",
        vm::sinh_f64,
        vm::sinh_f32,
        &[
            (NAN, NAN),
            (INF, INF),
            (-INF, -INF),
            (0.0, 0.0),
            (-0.0, -0.0),
            (1e-300, 1e-300),
            (1000.0, INF),
            (-1000.0, -INF),
        ],
    );
    table(
        "cosh",
        vm::cosh_f64,
        vm::cosh_f32,
        &[
            (NAN, NAN),
            (INF, INF),
            (-INF, INF),
            (0.0, 1.0),
            (-0.0, 1.0),
            (1000.0, INF),
            (-1000.0, INF),
        ],
    );
    // near the overflow threshold: finite where std is finite, within 2 ULP
    for i in 0..2000 {
        let x = 709.0 + 1.6 * f64::from(i) / 2000.0;
        for (a, b) in [(vm::sinh_f64(x), x.sinh()), (vm::cosh_f64(-x), x.cosh())] {
            assert_eq!(a.is_finite(), b.is_finite(), "{x}: {a:e} vs {b:e}");
            assert!(
                !b.is_finite() || (a - b).abs() <= 2.0 * f64::EPSILON * b,
                "{x}: {a:e} vs {b:e}"
            );
        }
    }
    table(
        "arcsinh",
        vm::arcsinh_f64,
        vm::arcsinh_f32,
        &[
            (NAN, NAN),
            (INF, INF),
            (-INF, -INF),
            (0.0, 0.0),
            (-0.0, -0.0),
            (1e-300, 1e-300),
            (-1e-300, -1e-300),
        ],
    );
    assert_eq!(vm::arcsinh_f64(f64::MAX), 710.475_860_073_943_9); // ln(2 MAX); std's asinh overflows here
    table(
        "arccosh",
        vm::arccosh_f64,
        vm::arccosh_f32,
        &[
            (NAN, NAN),
            (INF, INF),
            (-INF, NAN),
            (1.0, 0.0),
            (0.5, NAN),
            (0.0, NAN),
            (-1.0, NAN),
            (-2.0, NAN),
        ],
    );
    table(
        "arctanh",
        vm::arctanh_f64,
        vm::arctanh_f32,
        &[
            (NAN, NAN),
            (INF, NAN),
            (-INF, NAN),
            (0.0, 0.0),
            (-0.0, -0.0),
            (1.0, INF),
            (-1.0, -INF),
            (2.0, NAN),
            (-1.5, NAN),
            (1e-300, 1e-300),
        ],
    );
}

#[test]
fn inverse_trig() {
    table(
        "arcsin",
        vm::arcsin_f64,
        vm::arcsin_f32,
        &[
            (NAN, NAN),
            (0.0, 0.0),
            (-0.0, -0.0),
            (1.0, FRAC_PI_2),
            (-1.0, -FRAC_PI_2),
            (1.5, NAN),
            (-1.5, NAN),
            (INF, NAN),
            (1e-300, 1e-300),
        ],
    );
    table(
        "arccos",
        vm::arccos_f64,
        vm::arccos_f32,
        &[
            (NAN, NAN),
            (1.0, 0.0),
            (-1.0, PI),
            (0.0, FRAC_PI_2),
            (-0.0, FRAC_PI_2),
            (2.0, NAN),
            (-2.0, NAN),
            (-INF, NAN),
        ],
    );
    table(
        "arctan",
        vm::arctan_f64,
        vm::arctan_f32,
        &[
            (NAN, NAN),
            (0.0, 0.0),
            (-0.0, -0.0),
            (INF, FRAC_PI_2),
            (-INF, -FRAC_PI_2),
            (1.0, FRAC_PI_4),
            (-1.0, -FRAC_PI_4),
            (1e-300, 1e-300),
            (1e300, FRAC_PI_2),
        ],
    );
}

#[test]
fn arctan2() {
    let p34 = 3.0 * FRAC_PI_4;
    table2(
        "arctan2",
        vm::arctan2_f64,
        vm::arctan2_f32,
        &[
            (0.0, 0.0, 0.0),
            (-0.0, 0.0, -0.0),
            (0.0, -0.0, PI),
            (-0.0, -0.0, -PI),
            (0.0, -1.0, PI),
            (-0.0, -1.0, -PI),
            (0.0, 1.0, 0.0),
            (-0.0, 1.0, -0.0),
            (-1.0, 0.0, -FRAC_PI_2),
            (-1.0, -0.0, -FRAC_PI_2),
            (1.0, 0.0, FRAC_PI_2),
            (1.0, -0.0, FRAC_PI_2),
            (1.0, -INF, PI),
            (-1.0, -INF, -PI),
            (1.0, INF, 0.0),
            (-1.0, INF, -0.0),
            (INF, 1.0, FRAC_PI_2),
            (-INF, 1.0, -FRAC_PI_2),
            (INF, -1.0, FRAC_PI_2),
            (INF, -INF, p34),
            (-INF, -INF, -p34),
            (INF, INF, FRAC_PI_4),
            (-INF, INF, -FRAC_PI_4),
            (NAN, 1.0, NAN),
            (1.0, NAN, NAN),
            (NAN, NAN, NAN),
            (INF, NAN, NAN),
            (1.0, 1.0, FRAC_PI_4),
            (-1.0, -1.0, -p34),
            (1e300, 1e-300, FRAC_PI_2),
            (1e-300, 1e300, 0.0),
            (1e30, 1e30, FRAC_PI_4),
            (1e-30, 1e-30, FRAC_PI_4),
            (1e-30, -1e-30, p34),
        ],
    );
    for (y, x, e) in [
        (1.7e308, 1.7e308, FRAC_PI_4),
        (5e-324, 5e-324, FRAC_PI_4),
        (1e-310, -1e-310, p34),
        (-1e308, -1e-308, -FRAC_PI_2),
    ] {
        assert_eq!(vm::arctan2_f64(y, x), e, "arctan2({y:e}, {x:e})");
    }
}

#[test]
fn pow() {
    table2(
        "pow",
        vm::pow_f64,
        vm::pow_f32,
        &[
            // y = +-0 -> 1 for any x, even NaN; x = 1 -> 1 for any y, even NaN
            (NAN, 0.0, 1.0),
            (NAN, -0.0, 1.0),
            (INF, 0.0, 1.0),
            (-3.0, 0.0, 1.0),
            (0.0, 0.0, 1.0),
            (1.0, NAN, 1.0),
            (1.0, INF, 1.0),
            (1.0, -INF, 1.0),
            (1.0, 12.5, 1.0),
            // NaN otherwise
            (NAN, 1.0, NAN),
            (2.0, NAN, NAN),
            (-1.0, NAN, NAN),
            // pow(-1, +-inf) = 1; huge finite exponents are even integers
            (-1.0, INF, 1.0),
            (-1.0, -INF, 1.0),
            (-1.0, f64::MAX, 1.0),
            (-1.0, -f64::MAX, 1.0),
            (-1.0, 1e300, 1.0),
            (-1.0, 9_007_199_254_740_993.0, 1.0),
            (-1.0, 16_777_215.0, -1.0),
            // zero base
            (0.0, -3.0, INF),
            (-0.0, -3.0, -INF),
            (0.0, -2.0, INF),
            (-0.0, -2.0, INF),
            (-0.0, -0.5, INF),
            (0.0, -INF, INF),
            (-0.0, -INF, INF),
            (0.0, 3.0, 0.0),
            (-0.0, 3.0, -0.0),
            (-0.0, 2.0, 0.0),
            (-0.0, 0.5, 0.0),
            (0.0, INF, 0.0),
            (-0.0, INF, 0.0),
            // infinite exponent
            (0.5, -INF, INF),
            (-0.5, -INF, INF),
            (2.0, -INF, 0.0),
            (-2.0, -INF, 0.0),
            (0.5, INF, 0.0),
            (-0.5, INF, 0.0),
            (2.0, INF, INF),
            (-2.0, INF, INF),
            // infinite base
            (-INF, -3.0, -0.0),
            (-INF, -2.0, 0.0),
            (-INF, -0.5, 0.0),
            (-INF, 3.0, -INF),
            (-INF, 2.0, INF),
            (-INF, 0.5, INF),
            (INF, -1.0, 0.0),
            (INF, 0.5, INF),
            (INF, -INF, 0.0),
            (INF, INF, INF),
            (-INF, INF, INF),
            (-INF, -INF, 0.0),
            // negative base, non-integer exponent -> NaN; integer exponents keep/flip the sign
            (-2.0, 0.5, NAN),
            (-2.0, -1.5, NAN),
            (-2.0, 3.0, -8.0),
            (-2.0, 2.0, 4.0),
            (-2.0, -1.0, -0.5),
            (-8.0, 1.0 / 3.0, NAN),
            // exact small cases, overflow, underflow
            (2.0, 10.0, 1024.0),
            (3.0, 2.0, 9.0),
            (10.0, -1.0, 0.1),
            (4.0, 0.5, 2.0),
            (2.0, -1074.0, 5e-324),
            (2.0, 1024.0, INF),
            (2.0, -1080.0, 0.0),
            (10.0, 400.0, INF),
            (10.0, -400.0, 0.0),
            (-10.0, 401.0, -INF),
            (-10.0, -401.0, -0.0),
            (0.5, 1e300, 0.0),
            (2.0, 1e300, INF),
        ],
    );
    // odd/even detection at the edge of integer precision
    assert_eq!(vm::pow_f64(-1.0, 9007199254740991.0), -1.0); // 2^53 - 1: odd
    assert_eq!(vm::pow_f64(-1.0, 9007199254740992.0), 1.0); // 2^53: even
    assert_eq!(vm::pow_f64(-1.0, 4503599627370497.0), -1.0); // 2^52 + 1: odd
    assert_eq!(vm::pow_f32(-1.0, 16777215.0), -1.0);
    assert_eq!(vm::pow_f32(-1.0, 16777216.0), 1.0);
    assert!(vm::pow_f64(-1.0, 4503599627370495.5).is_nan());
}
