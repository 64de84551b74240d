//! Random-input accuracy of the float64 functions. exp/expm1/exp2/log/log1p/
//! log2/log10/sinh/cosh/tanh/arcsinh/arccosh/arctanh/pow are checked against
//! double-double references (fractional ULP error, bound 2). The
//! trigonometric functions are checked against std (glibc, itself < 1 ULP),
//! with the bound loosened by one ULP (3) as the reference's own error is
//! included. Run with `--nocapture` for the table.
mod common;
use common::{
    dd, err64, exp_dd, expm1_dd, log1p_dd, log1p_dd2, log_dd, ulp_dist64, Dd, Rng, Worst, LN2,
};
use numfuse_vecmath as vm;

const N: usize = 200_000;

#[derive(Clone, Copy)]
enum Dom {
    Log(f64, f64, bool),
    Uni(f64, f64),
}
use Dom::{Log, Uni};

fn gen(rng: &mut Rng, d: Dom) -> f64 {
    match d {
        Dom::Log(lo, hi, s) => rng.loguni(lo, hi, s),
        Dom::Uni(lo, hi) => rng.uniform(lo, hi),
    }
}

/// Against a double-double reference: fractional ULP error.
fn check_dd(name: &str, f: fn(f64) -> f64, r: fn(f64) -> Dd, doms: &[Dom], bound: f64) {
    let mut rng = Rng(0xfeed ^ (name.len() as u64 * 31));
    let per = (N + doms.len() - 1) / doms.len();
    let mut w = Worst::default();
    for &d in doms {
        for _ in 0..per {
            let x = gen(&mut rng, d);
            w.add(err64(f(x), r(x)), x, 0.0);
        }
    }
    println!(
        "f64 {name:8} max_ulp={:.3} (double-double ref) worst x={:e} n={}",
        w.err,
        w.x,
        per * doms.len()
    );
    assert!(w.err <= bound, "{name}: {} ULP at x={:e}", w.err, w.x);
}

/// Against std's f64 (itself < 1 ULP): integer ULP distance, bound + 1.
fn check_std(name: &str, f: fn(f64) -> f64, r: fn(f64) -> f64, doms: &[Dom], bound: u64) {
    let mut rng = Rng(0xbeef ^ (name.len() as u64 * 31));
    let per = (N + doms.len() - 1) / doms.len();
    let (mut wd, mut wx) = (0u64, 0.0);
    for &d in doms {
        for _ in 0..per {
            let x = gen(&mut rng, d);
            let dist = ulp_dist64(f(x), r(x));
            if dist > wd {
                (wd, wx) = (dist, x);
            }
        }
    }
    println!(
        "f64 {name:8} max_ulp={wd} (vs std f64, bound {bound} = 2 + 1) worst x={wx:e} n={}",
        per * doms.len()
    );
    assert!(wd <= bound, "{name}: {wd} ULP at x={wx:e}");
}

const IVLN2: Dd = Dd {
    hi: std::f64::consts::LOG2_E,
    lo: 2.035_527_374_093_103_3e-17,
};
const IVLN10: Dd = Dd {
    hi: std::f64::consts::LOG10_E,
    lo: 1.098_319_650_216_765e-17,
};

#[test]
fn exp() {
    check_dd(
        "exp",
        vm::exp_f64,
        |x| exp_dd(dd(x)),
        &[Uni(-745.2, 709.8), Log(1e-20, 700.0, true)],
        2.0,
    );
}
#[test]
fn expm1() {
    check_dd(
        "expm1",
        vm::expm1_f64,
        expm1_dd,
        &[Log(1e-300, 40.0, true), Uni(-50.0, 709.7)],
        2.0,
    );
}
#[test]
fn exp2() {
    check_dd(
        "exp2",
        vm::exp2_f64,
        |x| exp_dd(LN2.mulf(x)),
        &[Uni(-1075.0, 1024.0), Log(1e-20, 1000.0, true)],
        2.0,
    );
}
#[test]
fn log() {
    check_dd(
        "log",
        vm::log_f64,
        log_dd,
        &[Log(4.9e-324, 1.7e308, false), Uni(0.7, 1.5)],
        2.0,
    );
}
#[test]
fn log2() {
    check_dd(
        "log2",
        vm::log2_f64,
        |x| log_dd(x).mul(IVLN2),
        &[Log(4.9e-324, 1.7e308, false), Uni(0.7, 1.5)],
        2.0,
    );
}
#[test]
fn log10() {
    check_dd(
        "log10",
        vm::log10_f64,
        |x| log_dd(x).mul(IVLN10),
        &[Log(4.9e-324, 1.7e308, false), Uni(0.7, 1.5)],
        2.0,
    );
}
#[test]
fn log1p() {
    check_dd(
        "log1p",
        vm::log1p_f64,
        log1p_dd,
        &[
            Log(1e-300, 0.999_999_999, true),
            Log(1.0, 1.7e308, false),
            Uni(-0.9, 3.0),
        ],
        2.0,
    );
}
fn sinh_ref(x: f64) -> Dd {
    // (E + E/(E+1))/2, E = expm1(|x|)
    let v = if x.abs() > 40.0 {
        exp_dd(dd(x.abs()).sub(LN2)) // e^-|x| is negligible
    } else {
        let e = expm1_dd(x.abs());
        e.add(e.div(e.add(dd(1.0)))).mulf(0.5)
    };
    if x < 0.0 {
        v.neg()
    } else {
        v
    }
}
#[test]
fn sinh() {
    check_dd(
        "sinh",
        vm::sinh_f64,
        sinh_ref,
        &[Log(1e-300, 710.0, true), Uni(-5.0, 5.0)],
        2.0,
    );
}
#[test]
fn cosh() {
    check_dd(
        "cosh",
        vm::cosh_f64,
        |x| {
            if x.abs() > 40.0 {
                exp_dd(dd(x.abs()).sub(LN2))
            } else {
                let e = exp_dd(dd(x.abs()));
                e.add(dd(1.0).div(e)).mulf(0.5)
            }
        },
        &[Log(1e-300, 710.0, true), Uni(-5.0, 5.0)],
        2.0,
    );
}
#[test]
fn tanh() {
    check_dd(
        "tanh",
        vm::tanh_f64,
        |x| {
            let e = expm1_dd(2.0 * x.abs());
            let v = e.div(e.add(dd(2.0)));
            if x < 0.0 {
                v.neg()
            } else {
                v
            }
        },
        &[Log(1e-300, 25.0, true), Uni(-3.0, 3.0)],
        2.0,
    );
}
#[test]
fn arcsinh() {
    check_dd(
        "arcsinh",
        vm::arcsinh_f64,
        |x| {
            let a = x.abs();
            let v = if a > 1e150 {
                log_dd(a).add(LN2)
            } else {
                let z = dd(a).mul(dd(a));
                log1p_dd2(dd(a).add(z.div(dd(1.0).add(dd(1.0).add(z).sqrt()))))
            };
            if x < 0.0 {
                v.neg()
            } else {
                v
            }
        },
        &[Log(1e-300, 1.7e308, true), Uni(-3.0, 3.0)],
        2.0,
    );
}
#[test]
fn arccosh() {
    check_dd(
        "arccosh",
        vm::arccosh_f64,
        |x| {
            if x > 1e150 {
                log_dd(x).add(LN2)
            } else {
                let t = dd(x).sub(dd(1.0));
                log1p_dd2(t.add(t.mul(dd(2.0).add(t)).sqrt()))
            }
        },
        &[
            Log(1.0, 1.7e308, false),
            Uni(1.0, 3.0),
            Log(1e-15, 1.0, false),
        ]
        .map(|d| match d {
            Log(lo, hi, false) if hi <= 1.0 => Log(1.0 + lo, 1.0 + hi, false),
            d => d,
        }),
        2.0,
    );
}
#[test]
fn arctanh() {
    check_dd(
        "arctanh",
        vm::arctanh_f64,
        |x| {
            let a = dd(x.abs());
            let v = log1p_dd2(a.mulf(2.0).div(dd(1.0).sub(a))).mulf(0.5);
            if x < 0.0 {
                v.neg()
            } else {
                v
            }
        },
        &[Log(1e-300, 1.0, true), Uni(-1.0, 1.0)],
        2.0,
    );
}

#[test]
fn sin() {
    check_std(
        "sin",
        vm::sin_f64,
        f64::sin,
        &[
            Log(1e-300, 4e8, true),
            Uni(-10.0, 10.0),
            Log(1e-3, 1e6, true),
        ],
        3,
    );
}
#[test]
fn cos() {
    check_std(
        "cos",
        vm::cos_f64,
        f64::cos,
        &[
            Log(1e-300, 4e8, true),
            Uni(-10.0, 10.0),
            Log(1e-3, 1e6, true),
        ],
        3,
    );
}
#[test]
fn tan() {
    check_std(
        "tan",
        vm::tan_f64,
        f64::tan,
        &[
            Log(1e-300, 4e8, true),
            Uni(-10.0, 10.0),
            Log(1e-3, 1e6, true),
        ],
        3,
    );
}
#[test]
fn sin_cos_near_multiples_of_pi_over_2() {
    // the hardest inputs for the reduction: doubles nearest to k*pi/2
    let mut rng = Rng(42);
    let (mut ws, mut wc) = (0u64, 0u64);
    for _ in 0..N {
        let k = (rng.loguni(1.0, 2.6e8, false)).round();
        let x = k * std::f64::consts::FRAC_PI_2;
        let x = f64::from_bits(x.to_bits().wrapping_add(rng.next_u64() % 5).wrapping_sub(2));
        ws = ws.max(ulp_dist64(vm::sin_f64(x), x.sin()));
        wc = wc.max(ulp_dist64(vm::cos_f64(x), x.cos()));
    }
    println!("f64 sin/cos near k*pi/2: max_ulp sin={ws} cos={wc} (vs std, bound 3)");
    assert!(ws <= 3 && wc <= 3);
}
#[test]
fn arcsin() {
    check_std(
        "arcsin",
        vm::arcsin_f64,
        f64::asin,
        &[Log(1e-300, 1.0, true), Uni(-1.0, 1.0)],
        3,
    );
}
#[test]
fn arccos() {
    check_std(
        "arccos",
        vm::arccos_f64,
        f64::acos,
        &[Log(1e-300, 1.0, true), Uni(-1.0, 1.0)],
        3,
    );
}
#[test]
fn arctan() {
    check_std(
        "arctan",
        vm::arctan_f64,
        f64::atan,
        &[Log(1e-300, 1.7e308, true), Uni(-3.0, 3.0)],
        3,
    );
}
#[test]
fn arctan2() {
    let mut rng = Rng(7);
    let (mut wd, mut wx, mut wy) = (0u64, 0.0, 0.0);
    for i in 0..N {
        let (y, x) = if i % 2 == 0 {
            (
                rng.loguni(1e-300, 1e300, true),
                rng.loguni(1e-300, 1e300, true),
            )
        } else {
            (rng.uniform(-3.0, 3.0), rng.uniform(-3.0, 3.0))
        };
        let d = ulp_dist64(vm::arctan2_f64(y, x), y.atan2(x));
        if d > wd {
            (wd, wx, wy) = (d, x, y);
        }
    }
    println!("f64 arctan2  max_ulp={wd} (vs std f64, bound 3) worst y={wy:e} x={wx:e}");
    assert!(wd <= 3);
}
#[test]
fn pow() {
    let mut rng = Rng(99);
    let mut w = Worst::default();
    for i in 0..N {
        let (x, y) = match i % 3 {
            0 => {
                let x = rng.loguni(1e-300, 1e300, false);
                (x, rng.uniform(-1080.0, 1030.0) / x.log2())
            }
            1 => (rng.loguni(0.5, 2.0, false), rng.uniform(-2000.0, 2000.0)),
            _ => (rng.loguni(1e-10, 1e10, false), rng.uniform(-10.0, 10.0)),
        };
        let r = exp_dd(log_dd(x).mulf(y));
        w.add(err64(vm::pow_f64(x, y), r), x, y);
        // negative base with integer exponent: same magnitude, sign by parity
        let yi = y.round();
        if yi.abs() < 1e15 {
            let m = vm::pow_f64(x, yi);
            let n = vm::pow_f64(-x, yi);
            let odd = yi % 2.0 != 0.0;
            assert_eq!(
                n.to_bits(),
                if odd { (-m).to_bits() } else { m.to_bits() },
                "pow(-{x:e}, {yi})"
            );
        }
    }
    println!(
        "f64 pow      max_ulp={:.3} (double-double ref) worst x={:e} y={:e} n={N}",
        w.err, w.x, w.y
    );
    assert!(w.err <= 2.0, "pow: {} ULP at ({:e}, {:e})", w.err, w.x, w.y);
}
