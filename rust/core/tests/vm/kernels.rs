//! Every opcode, compiled for every ISA this CPU runs, against a naive
//! scalar reference, over random data with NaN, ±Inf, -0.0 and integer
//! extremes, at lengths around the chunk and block sizes, on one and two
//! threads, in place, through temps, and with a broadcast scalar operand.
//!
//! Results are bit-exact, except the float exp, log, sin, cos, tanh, pow and
//! the other vecmath functions (tan ... arctan2; glibc's f64 function is the
//! reference there): they are within vecmath's ULP bounds of std
//! (see [`ulp_bound`]), and bit-exact on special inputs.

use crate::common::{run_bufs, Buf, Builder, Rng};
use numfuse_core::opcodes::{DType, Op, OpInfo, OPCODES};
use numfuse_core::{ErrorCode, Isa, Program, BLOCK};
use std::sync::OnceLock;

/// A value of one of the VM's dtypes: integers of every width as `i128`,
/// always within their dtype's range.
#[derive(Clone, Copy, Debug)]
enum V {
    B(bool),
    N(DType, i128),
    /// A float16 by its bits.
    H(u16),
    F(f32),
    D(f64),
}

/// The exact value of float16 bits, from the IEEE formula.
fn f16_value(bits: u16) -> f64 {
    let sign = if bits & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((bits >> 10) & 0x1f);
    let man = f64::from(bits & 0x3ff);
    sign * match exp {
        0 => man * 2f64.powi(-24),
        31 if man == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (1024.0 + man) * 2f64.powi(exp - 25),
    }
}

/// The float16 nearest to `x` (ties to the even bit pattern), by search over
/// every finite float16; beyond the largest, infinity from halfway on.
fn f16_bits(x: f64) -> u16 {
    if x.is_nan() {
        return 0x7e00 | if x.is_sign_negative() { 0x8000 } else { 0 };
    }
    let sign = if x.is_sign_negative() { 0x8000 } else { 0 };
    let a = x.abs();
    if a >= 65520.0 {
        return sign | 0x7c00;
    }
    // Positive finite float16 bits are ordered as their values.
    let (mut lo, mut hi) = (0u16, 0x7bff);
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if f16_value(mid) <= a {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let (dl, dh) = (a - f16_value(lo), f16_value(hi) - a);
    let pick = if dl < dh || (dl == dh && lo % 2 == 0) {
        lo
    } else {
        hi
    };
    sign | pick
}

/// Bits and signedness of an integer dtype.
fn int_layout(dtype: DType) -> Option<(u32, bool)> {
    Some(match dtype {
        DType::Int8 => (8, true),
        DType::Uint8 => (8, false),
        DType::Int16 => (16, true),
        DType::Uint16 => (16, false),
        DType::Int32 => (32, true),
        DType::Uint32 => (32, false),
        DType::Int64 => (64, true),
        DType::Uint64 => (64, false),
        _ => return None,
    })
}

/// `x` wrapped into an integer dtype's range (two's complement).
fn wrap(dtype: DType, x: i128) -> i128 {
    let (bits, signed) = int_layout(dtype).expect("an integer dtype");
    let m = x.rem_euclid(1i128 << bits);
    if signed && m >= 1i128 << (bits - 1) {
        m - (1i128 << bits)
    } else {
        m
    }
}

fn load(dtype: DType, bits: u64) -> V {
    match dtype {
        DType::Bool => V::B(bits as u8 != 0),
        DType::Float16 => V::H(bits as u16),
        DType::Float32 => V::F(f32::from_bits(bits as u32)),
        DType::Float64 => V::D(f64::from_bits(bits)),
        d if int_layout(d).is_some() => V::N(d, wrap(d, i128::from(bits))),
        other => panic!("no such VM dtype {other:?}"),
    }
}

fn store(v: V) -> u64 {
    match v {
        V::B(b) => u64::from(b),
        V::N(d, x) => {
            let bits = int_layout(d).unwrap().0;
            (x.rem_euclid(1i128 << bits)) as u64
        }
        V::H(x) => u64::from(x),
        V::F(x) => u64::from(x.to_bits()),
        V::D(x) => x.to_bits(),
    }
}

/// C-style float to int as x86 NumPy: truncation through a signed integer
/// of `bits` (NaN and out of range give its minimum).
fn float_to_int(x: f64, bits: u32) -> i128 {
    let limit = 2f64.powi(bits as i32 - 1);
    if x.is_nan() || x < -limit || x >= limit {
        -(1i128 << (bits - 1))
    } else {
        x.trunc() as i128
    }
}

/// A float to an integer dtype as x86 NumPy: the 8-, 16- and 32-bit ones
/// through int32 except uint32 (through int64), uint64 through int64 with
/// 2^63 taken off first at or above it.
fn float_to(dtype: DType, x: f64) -> i128 {
    let two63 = 2f64.powi(63);
    let raw = match dtype {
        DType::Uint32 | DType::Int64 => float_to_int(x, 64),
        DType::Uint64 if x >= two63 => float_to_int(x - two63, 64) + (1i128 << 63),
        DType::Uint64 => float_to_int(x, 64),
        _ => float_to_int(x, 32),
    };
    wrap(dtype, raw)
}

fn cast(v: V, to: DType) -> V {
    let as_f64 = |v: V| match v {
        V::B(b) => f64::from(u8::from(b)),
        V::N(_, x) => x as f64,
        V::H(x) => f16_value(x),
        V::F(x) => f64::from(x),
        V::D(x) => x,
    };
    match to {
        DType::Bool => V::B(match v {
            V::B(b) => b,
            V::N(_, x) => x != 0,
            V::F(x) => x != 0.0,
            V::H(x) => f16_value(x) != 0.0,
            V::D(x) => x != 0.0,
        }),
        DType::Float16 => V::H(f16_bits(match v {
            // Exact in f64 up to 2^53, and a float16 is rounded from the
            // integer itself: wider integers are far beyond its range.
            V::N(_, x) => x as f64,
            other => as_f64(other),
        })),
        DType::Float32 => V::F(match v {
            V::N(_, x) => x as f32,
            other => as_f64(other) as f32,
        }),
        DType::Float64 => V::D(as_f64(v)),
        d => V::N(
            d,
            match v {
                V::B(b) => i128::from(b),
                V::N(_, x) => wrap(d, x),
                V::F(x) => float_to(d, f64::from(x)),
                V::H(x) => float_to(d, f16_value(x)),
                V::D(x) => float_to(d, x),
            },
        ),
    }
}

/// Integer ops of a dtype in i128, wrapped to the width at the end (a
/// product of two uint64 values may exceed i128; its low bits are exact).
fn int_op(d: DType, op: Op, a: i128, b: i128) -> Result<i128, ()> {
    let bits = int_layout(d).unwrap().0;
    let floor_div = |a: i128, b: i128| a.div_euclid(b) - i128::from(b < 0 && a.rem_euclid(b) != 0);
    Ok(wrap(
        d,
        match op {
            Op::Add => a + b,
            Op::Sub => a - b,
            Op::Mul => a.wrapping_mul(b),
            Op::Mod | Op::Floordiv | Op::Fmod if b == 0 => 0,
            Op::Mod => a - b * floor_div(a, b),
            Op::Floordiv => floor_div(a, b),
            Op::Fmod => a % b,
            Op::Pow if b < 0 => return Err(()),
            Op::Pow => {
                let mut r: i128 = 1;
                for _ in 0..b {
                    r = wrap(d, r.wrapping_mul(a));
                }
                r
            }
            Op::Lshift if (0..i128::from(bits)).contains(&b) => a << b,
            Op::Lshift => 0,
            Op::Rshift if (0..i128::from(bits)).contains(&b) => a >> b,
            Op::Rshift => -i128::from(a < 0),
            Op::Bitand => a & b,
            Op::Bitor => a | b,
            Op::Bitxor => a ^ b,
            Op::Maximum => a.max(b),
            Op::Minimum => a.min(b),
            _ => unreachable!("{op:?}"),
        },
    ))
}

/// Unary integer ops of a dtype, wrapped to the width.
fn int_unary(d: DType, op: Op, a: i128) -> V {
    match op {
        Op::Isnan | Op::Isinf => V::B(false),
        Op::Isfinite => V::B(true),
        Op::Signbit => V::B(a < 0),
        op => V::N(
            d,
            wrap(
                d,
                match op {
                    Op::Neg => -a,
                    Op::Abs => a.abs(),
                    Op::Sign => a.signum(),
                    Op::Invert => !a,
                    Op::Reciprocal if a == 0 => float_to(d, f64::INFINITY),
                    Op::Reciprocal => 1 / a,
                    _ => unreachable!("{op:?}"),
                },
            ),
        ),
    }
}

macro_rules! float_ref {
    ($op:expr, $args:expr, $V:ident, $t:ty, $sign:expr) => {
        match ($op, $args) {
            (Op::Neg, [V::$V(a)]) => -a,
            (Op::Abs, [V::$V(a)]) => <$t>::from_bits(a.to_bits() & !$sign),
            (Op::Sqrt, [V::$V(a)]) => a.sqrt(),
            (Op::Exp, [V::$V(a)]) => a.exp(),
            (Op::Log, [V::$V(a)]) => a.ln(),
            (Op::Sin, [V::$V(a)]) => a.sin(),
            (Op::Cos, [V::$V(a)]) => a.cos(),
            (Op::Tanh, [V::$V(a)]) => a.tanh(),
            (Op::Add, [V::$V(a), V::$V(b)]) => a + b,
            (Op::Sub, [V::$V(a), V::$V(b)]) => a - b,
            (Op::Mul, [V::$V(a), V::$V(b)]) => a * b,
            (Op::Div, [V::$V(a), V::$V(b)]) => a / b,
            (Op::Floordiv, [V::$V(a), V::$V(b)]) => {
                // Python's float floor division (NumPy's npy_floor_divide).
                if *b == 0.0 {
                    a / b
                } else {
                    let m = a % b;
                    let mut div = (a - m) / b;
                    if m != 0.0 && ((*b < 0.0) != (m < 0.0)) {
                        div -= 1.0;
                    }
                    if div == 0.0 {
                        <$t>::copysign(0.0, a / b)
                    } else if div - div.floor() > 0.5 {
                        div.floor() + 1.0
                    } else {
                        div.floor()
                    }
                }
            }
            (Op::Pow, [V::$V(a), V::$V(b)]) => a.powf(*b),
            (Op::Mod, [V::$V(a), V::$V(b)]) => {
                if *b == 0.0 {
                    <$t>::NAN
                } else {
                    let r = a % b;
                    if r == 0.0 {
                        if b.is_sign_negative() {
                            -0.0
                        } else {
                            0.0
                        }
                    } else if (*b < 0.0) != (r < 0.0) {
                        r + b
                    } else {
                        r
                    }
                }
            }
            other => unreachable!("{other:?}"),
        }
    };
}

// glibc's libm (linked by std), correctly rounded or nearly: std's own
// asinh, acosh and atanh are computed in Rust and overflow or lose accuracy
// at extremes (acosh(f64::MAX) = inf).
extern "C" {
    fn tan(x: f64) -> f64;
    fn asin(x: f64) -> f64;
    fn acos(x: f64) -> f64;
    fn atan(x: f64) -> f64;
    fn sinh(x: f64) -> f64;
    fn cosh(x: f64) -> f64;
    fn asinh(x: f64) -> f64;
    fn acosh(x: f64) -> f64;
    fn atanh(x: f64) -> f64;
    fn expm1(x: f64) -> f64;
    fn log1p(x: f64) -> f64;
    fn log2(x: f64) -> f64;
    fn log10(x: f64) -> f64;
    fn exp2(x: f64) -> f64;
    fn atan2(y: f64, x: f64) -> f64;
    fn nextafter(x: f64, y: f64) -> f64;
    fn nextafterf(x: f32, y: f32) -> f32;
}

/// The vecmath functions added with the second table, in f64 by glibc; the
/// float32 reference is this on the widened operands, rounded once.
fn libm_ref(op: Op, a: f64, b: f64) -> Option<f64> {
    // SAFETY: pure libm functions of plain f64 values.
    Some(unsafe {
        match op {
            Op::Tan => tan(a),
            Op::Arcsin => asin(a),
            Op::Arccos => acos(a),
            Op::Arctan => atan(a),
            Op::Sinh => sinh(a),
            Op::Cosh => cosh(a),
            Op::Arcsinh => asinh(a),
            Op::Arccosh => acosh(a),
            Op::Arctanh => atanh(a),
            Op::Expm1 => expm1(a),
            Op::Log1p => log1p(a),
            Op::Log2 => log2(a),
            Op::Log10 => log10(a),
            Op::Exp2 => exp2(a),
            Op::Arctan2 => atan2(a, b),
            _ => return None,
        }
    })
}

/// NumPy's scalar loops, written out: sign, the predicates, fmod, maximum,
/// minimum, clip (ints and floats) and the float-only rounding functions,
/// copysign, hypot and fma. `None` for other operations.
macro_rules! numpy_ref {
    ($op:expr, $args:expr, $V:ident, $t:ty, $zero:expr, $one:expr, $nan:expr, $fin:expr,
     $fl:tt) => {{
        let nan = $nan;
        let pred = |b: bool| Some(V::B(b));
        match ($op, $args) {
            (Op::Sign, [V::$V(a)]) => Some(V::$V(if *a > $zero {
                $one
            } else if *a < $zero {
                -$one
            } else if *a == $zero {
                $zero
            } else {
                *a
            })),
            (Op::Isnan, [V::$V(a)]) => pred(nan(*a)),
            (Op::Isfinite, [V::$V(a)]) => pred($fin(*a)),
            (Op::Isinf, [V::$V(a)]) => pred(!nan(*a) && !$fin(*a)),
            (Op::Signbit, [V::$V(a)]) => pred(*a < $zero || (*a == $zero && 1.0 / (*a as f64) < 0.0) || (nan(*a) && numpy_ref!(@nansign $fl, *a))),
            (Op::Fmod, [V::$V(a), V::$V(b)]) => Some(V::$V(numpy_ref!(@fmod $fl, *a, *b))),
            (Op::Maximum, [V::$V(a), V::$V(b)]) => {
                Some(V::$V(if *a >= *b || nan(*a) { *a } else { *b }))
            }
            (Op::Minimum, [V::$V(a), V::$V(b)]) => {
                Some(V::$V(if *a <= *b || nan(*a) { *a } else { *b }))
            }
            (Op::Clip, [V::$V(x), V::$V(lo), V::$V(hi)]) => {
                let t = if nan(*x) { *x } else if *x > *lo { *x } else { *lo };
                Some(V::$V(if nan(t) { t } else if t < *hi { t } else { *hi }))
            }
            _ => numpy_ref!(@float $fl, $op, $args, $V),
        }
    }};
    (@nansign float, $a:expr) => { $a.is_sign_negative() };
    (@nansign int, $a:expr) => { false };
    (@fmod float, $a:expr, $b:expr) => { $a % $b };
    (@fmod int, $a:expr, $b:expr) => { if $b == 0 { 0 } else { $a.wrapping_rem($b) } };
    (@float float, $op:expr, $args:expr, $V:ident) => {
        match ($op, $args) {
            (Op::Ceil, [V::$V(a)]) => Some(V::$V(a.ceil())),
            (Op::Floor, [V::$V(a)]) => Some(V::$V(a.floor())),
            (Op::Trunc, [V::$V(a)]) => Some(V::$V(a.trunc())),
            (Op::Rint, [V::$V(a)]) => Some(V::$V({
                // Half to even, written without round_ties_even.
                let r = a.round();
                if (r - a).abs() == 0.5 && r % 2.0 != 0.0 { (r - a.signum()).copysign(*a) } else { r }
            })),
            (Op::Copysign, [V::$V(a), V::$V(b)]) => Some(V::$V(a.copysign(*b))),
            (Op::Hypot, [V::$V(a), V::$V(b)]) => Some(V::$V(a.hypot(*b))),
            (Op::Fma, [V::$V(a), V::$V(b), V::$V(c)]) => Some(V::$V(a.mul_add(*b, *c))),
            (Op::Nextafter, [V::$V(a), V::$V(b)]) => Some(V::$V(numpy_ref!(@next $V, *a, *b))),
            _ => None,
        }
    };
    (@float int, $op:expr, $args:expr, $V:ident) => { None };
    // SAFETY: libm's nextafter of plain values.
    (@next F, $a:expr, $b:expr) => { unsafe { nextafterf($a, $b) } };
    // SAFETY: libm's nextafter of plain values.
    (@next D, $a:expr, $b:expr) => { unsafe { nextafter($a, $b) } };
}

fn numpy_reference(op: Op, args: &[V]) -> Option<V> {
    match args.first()? {
        V::N(..) | V::H(_) => None,
        V::F(_) => numpy_ref!(
            op,
            args,
            F,
            f32,
            0.0,
            1.0,
            f32::is_nan,
            f32::is_finite,
            float
        ),
        V::D(_) => numpy_ref!(
            op,
            args,
            D,
            f64,
            0.0,
            1.0,
            f64::is_nan,
            f64::is_finite,
            float
        ),
        V::B(_) => None,
    }
}

/// NumPy's float16 nextafter, by value: NaN (0x7e00) if either is NaN, `a`
/// if they are equal, else the float16 next to `a` toward `b` in the sorted
/// list of every float16 value (a zero reached keeps `a`'s sign).
fn half_next_after(a: u16, b: u16) -> u16 {
    static SORTED: OnceLock<Vec<(f64, u16)>> = OnceLock::new();
    let sorted = SORTED.get_or_init(|| {
        let mut all: Vec<(f64, u16)> = (0..=u16::MAX)
            .map(|h| (f16_value(h), h))
            .filter(|(v, h)| !v.is_nan() && *h != 0x8000)
            .collect();
        all.sort_by(|p, q| p.0.total_cmp(&q.0));
        all
    });
    let (x, y) = (f16_value(a), f16_value(b));
    if x.is_nan() || y.is_nan() {
        return 0x7e00;
    }
    if x == y {
        return a;
    }
    let above = sorted.partition_point(|(v, _)| *v <= x);
    let below = sorted.partition_point(|(v, _)| *v < x);
    let (v, h) = if y > x {
        sorted[above]
    } else {
        sorted[below - 1]
    };
    if v == 0.0 {
        a & 0x8000
    } else {
        h
    }
}

/// The comparison `op` (lt ... ne) of two elements: NaN is unordered, so
/// only `ne` holds for it.
fn compare(op: Op, a: V, b: V) -> bool {
    let ord = match (a, b) {
        (V::B(a), V::B(b)) => a.partial_cmp(&b),
        (V::N(_, a), V::N(_, b)) => a.partial_cmp(&b),
        (V::F(a), V::F(b)) => a.partial_cmp(&b),
        (V::D(a), V::D(b)) => a.partial_cmp(&b),
        other => panic!("{other:?}"),
    };
    use std::cmp::Ordering::*;
    match (op, ord) {
        (Op::Ne, None) => true,
        (_, None) => false,
        (Op::Lt, Some(o)) => o == Less,
        (Op::Le, Some(o)) => o != Greater,
        (Op::Gt, Some(o)) => o == Greater,
        (Op::Ge, Some(o)) => o != Less,
        (Op::Eq, Some(o)) => o == Equal,
        (_, Some(o)) => o != Equal,
    }
}

/// The comparison a fused `where_lt` ... `where_ne` selects by.
fn fused_comparison(op: Op) -> Op {
    match op {
        Op::WhereLt => Op::Lt,
        Op::WhereLe => Op::Le,
        Op::WhereGt => Op::Gt,
        Op::WhereGe => Op::Ge,
        Op::WhereEq => Op::Eq,
        Op::WhereNe => Op::Ne,
        other => panic!("{other:?} is not a fused where"),
    }
}

/// The reference: what `info` computes on one element. Err = domain error.
fn reference(info: &OpInfo, args: &[V]) -> Result<V, ()> {
    let truth = |v: &V| match v {
        V::B(b) => *b,
        other => panic!("not a bool {other:?}"),
    };
    let float = |v: &V| match v {
        V::F(x) => f64::from(*x),
        V::D(x) => *x,
        _ => f64::NAN,
    };
    if let Some(r) = numpy_reference(info.op, args) {
        return Ok(r);
    }
    if let (Op::Nextafter, [V::H(a), V::H(b)]) = (info.op, args) {
        return Ok(V::H(half_next_after(*a, *b)));
    }
    let b = args.get(1).map_or(0.0, float);
    if let Some(r) = libm_ref(info.op, float(&args[0]), b) {
        return Ok(match args[0] {
            V::F(_) => V::F(r as f32),
            _ => V::D(r),
        });
    }
    Ok(match info.op {
        Op::Copy => args[0],
        Op::Cast => cast(args[0], info.ret),
        Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::Eq | Op::Ne => {
            V::B(compare(info.op, args[0], args[1]))
        }
        Op::WhereLt | Op::WhereLe | Op::WhereGt | Op::WhereGe | Op::WhereEq | Op::WhereNe => {
            if compare(fused_comparison(info.op), args[0], args[1]) {
                args[2]
            } else {
                args[3]
            }
        }
        Op::And => V::B(truth(&args[0]) && truth(&args[1])),
        Op::Or => V::B(truth(&args[0]) || truth(&args[1])),
        Op::Not => V::B(!truth(&args[0])),
        Op::Where => {
            if truth(&args[0]) {
                args[1]
            } else {
                args[2]
            }
        }
        op => match args {
            [V::N(d, a)] => int_unary(*d, op, *a),
            [V::N(d, a), V::N(_, b)] => V::N(*d, int_op(*d, op, *a, *b)?),
            [V::N(d, x), V::N(_, lo), V::N(_, hi)] if op == Op::Clip => {
                V::N(*d, (*x).max(*lo).min(*hi))
            }
            [V::F(_), ..] => V::F(float_ref!(op, args, F, f32, 1u32 << 31)),
            [V::D(_), ..] => V::D(float_ref!(op, args, D, f64, 1u64 << 63)),
            other => panic!("{other:?}"),
        },
    })
}

const F64_SPECIALS: [f64; 26] = [
    0.0,
    -0.0,
    1.0,
    -1.0,
    0.5,
    -2.5,
    3.0,
    -3.0,
    f64::NAN,
    -f64::NAN,
    f64::INFINITY,
    f64::NEG_INFINITY,
    f64::MAX,
    f64::MIN,
    f64::MIN_POSITIVE,
    5e-324,
    1e10,
    -1e10,
    2147483648.0,
    -2147483648.0,
    2147483647.0,
    -2147483649.0,
    9223372036854775808.0,
    -9223372036854775808.0,
    4.5e15,
    710.0,
];

fn random_value(rng: &mut Rng, dtype: DType, small_nonneg: bool) -> u64 {
    let special = rng.below(4) == 0;
    match dtype {
        DType::Bool => [0, 0, 0, 1, 1, 2, 255][rng.below(7) as usize],
        d if int_layout(d).is_some() => {
            let (bits, signed) = int_layout(d).unwrap();
            let (min, max) = if signed {
                (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
            } else {
                (0, (1i128 << bits) - 1)
            };
            let v: i128 = if small_nonneg {
                i128::from(rng.below(70))
            } else if special {
                [
                    0,
                    1,
                    -1,
                    2,
                    -2,
                    7,
                    -7,
                    min,
                    max,
                    min + 1,
                    i128::from(bits),
                    8,
                    9,
                ][rng.below(13) as usize]
            } else if rng.below(2) == 0 {
                i128::from(rng.below(201)) - 100
            } else {
                i128::from(rng.next())
            };
            store(V::N(d, wrap(d, v)))
        }
        DType::Float16 => {
            if special {
                [
                    0, 0x8000, 0x3c00, 0xbc00, 0x7c00, 0xfc00, 0x7e00, 0x7bff, 0x0001, 0x03ff,
                    0x0400,
                ][rng.below(11) as usize]
            } else {
                rng.below(1 << 16)
            }
        }
        DType::Float32 | DType::Float64 => {
            let x = if special {
                F64_SPECIALS[rng.below(F64_SPECIALS.len() as u64) as usize]
            } else if rng.below(5) == 0 {
                rng.below(41) as f64 - 20.0
            } else {
                let mantissa = (rng.next() >> 11) as f64 / (1u64 << 53) as f64;
                let sign = if rng.below(2) == 0 { 1.0 } else { -1.0 };
                sign * mantissa * 2f64.powi(rng.below(41) as i32 - 20)
            };
            if dtype == DType::Float32 {
                u64::from((x as f32).to_bits())
            } else {
                x.to_bits()
            }
        }
        other => panic!("no such VM dtype {other:?}"),
    }
}

fn random_buf(rng: &mut Rng, dtype: DType, len: usize, small_nonneg: bool) -> Buf {
    let mut b = Buf::zeros(dtype, len);
    for i in 0..len {
        b.set(i, random_value(rng, dtype, small_nonneg));
    }
    b
}

/// How many ULPs from std's result a float opcode may be: vecmath's bound
/// (f32 exp, log, sin, cos 1; f32 tanh, pow and the other functions 2; f64
/// 2) plus 1 because std is
/// itself the reference (glibc is within about half an ULP, not exact).
/// Everything else is bit-exact.
fn ulp_bound(info: &OpInfo) -> u64 {
    if libm_ref(info.op, 0.0, 0.0).is_some() {
        return 2 + 1;
    }
    match (info.op, info.ret) {
        (Op::Exp | Op::Log | Op::Sin | Op::Cos, DType::Float32) => 1 + 1,
        (Op::Tanh | Op::Pow, DType::Float32) => 2 + 1,
        (Op::Exp | Op::Log | Op::Sin | Op::Cos | Op::Tanh | Op::Pow, DType::Float64) => 2 + 1,
        _ => 0,
    }
}

fn is_special(v: V) -> bool {
    match v {
        V::F(x) => !x.is_normal(),
        V::D(x) => !x.is_normal(),
        _ => false,
    }
}

/// The ULPs a result may be off: [`ulp_bound`], but 0 (bit-exact) when an
/// input is special (NaN, ±inf, ±0, subnormal) and so is the answer, i.e.
/// NaN, ±inf, ±0, ±1 or an input itself (exp(0) = 1, sin(x) = x for a
/// subnormal x, pow(x, 0) = 1, pow(0, -3) = inf, ...).
fn tolerance(info: &OpInfo, args: &[V], result: V) -> u64 {
    let bound = ulp_bound(info);
    if bound == 0 || !args.iter().any(|&a| is_special(a)) {
        return bound;
    }
    let special_result = match result {
        V::F(r) => !r.is_finite() || r.abs() == 0.0 || r.abs() == 1.0,
        V::D(r) => !r.is_finite() || r.abs() == 0.0 || r.abs() == 1.0,
        _ => true,
    };
    let an_input = args.iter().any(|&a| store(a) == store(result));
    if special_result || an_input {
        0
    } else {
        bound
    }
}

/// A float's bits as a signed integer that counts ULPs (±0 are both 0).
fn ulp_index(dtype: DType, bits: u64) -> i64 {
    let sign = match dtype {
        DType::Float32 => 1u64 << 31,
        _ => 1u64 << 63,
    };
    let magnitude = (bits & !sign) as i64;
    if bits & sign != 0 {
        -magnitude
    } else {
        magnitude
    }
}

/// Float results compare NaN to NaN (IEEE leaves arithmetic's NaN payloads
/// open), except for operations that only move bits; `ulps` is the tolerance
/// from [`tolerance`].
fn same(info: &OpInfo, want: u64, got: u64, ulps: u64) -> bool {
    let bit_moving = matches!(
        info.op,
        Op::Copy
            | Op::Neg
            | Op::Abs
            | Op::Where
            | Op::WhereLt
            | Op::WhereLe
            | Op::WhereGt
            | Op::WhereGe
            | Op::WhereEq
            | Op::WhereNe
    );
    let nan = |bits: u64| match info.ret {
        DType::Float16 => f16_value(bits as u16).is_nan(),
        DType::Float32 => f32::from_bits(bits as u32).is_nan(),
        DType::Float64 => f64::from_bits(bits).is_nan(),
        _ => false,
    };
    want == got
        || (!bit_moving && nan(want) && nan(got))
        || (ulps > 0
            && !nan(want)
            && !nan(got)
            && ulp_index(info.ret, want).abs_diff(ulp_index(info.ret, got)) <= ulps)
}

/// The reference over `n` elements, with operand k taken from `scalar` when
/// given, each with its tolerance in ULPs.
fn expected(
    info: &OpInfo,
    inputs: &[Buf],
    n: usize,
    scalar: Option<(usize, V)>,
) -> Result<Vec<(u64, u64)>, ()> {
    (0..n)
        .map(|i| {
            let args: Vec<V> = inputs
                .iter()
                .enumerate()
                .map(|(k, b)| match scalar {
                    Some((sk, v)) if sk == k => v,
                    _ => load(b.dtype, b.get(i)),
                })
                .collect();
            let result = reference(info, &args)?;
            Ok((store(result), tolerance(info, &args, result)))
        })
        .collect()
}

fn check(
    info: &OpInfo,
    what: &str,
    want: Result<Vec<(u64, u64)>, ()>,
    got: Result<Buf, numfuse_core::Error>,
) {
    match (want, got) {
        (Ok(want), Ok(got)) => {
            for (i, &(w, ulps)) in want.iter().enumerate() {
                let g = got.get(i);
                assert!(
                    same(info, w, g, ulps),
                    "{} {what}: element {i}: want {w:#x} (within {ulps} ulps), got {g:#x}",
                    info.name
                );
            }
        }
        (Err(()), Err(e)) => assert_eq!(e.code, ErrorCode::Domain, "{} {what}", info.name),
        (want, got) => panic!("{} {what}: want {want:?}, got {got:?}", info.name),
    }
}

/// out0 := op(in0, in1, ...).
fn single(info: &OpInfo, isa: Isa) -> Program {
    let mut b = Builder::new();
    let args: Vec<u16> = info
        .args
        .iter()
        .enumerate()
        .map(|(k, &d)| b.input(k as u32, d))
        .collect();
    let out = b.output(0, info.ret);
    b.op(info.name, out, &args);
    b.build_for(isa).unwrap()
}

/// Operands copied into temps; the op writes in place into the first temp
/// when the dtypes allow, then out0 := that temp.
fn through_temps(info: &OpInfo, isa: Isa) -> Program {
    let mut b = Builder::new();
    let inputs: Vec<u16> = info
        .args
        .iter()
        .enumerate()
        .map(|(k, &d)| b.input(k as u32, d))
        .collect();
    let out = b.output(0, info.ret);
    let mut temps = Vec::new();
    for (&d, &r) in info.args.iter().zip(&inputs) {
        let t = b.temp(d);
        b.op(copy_name(d), t, &[r]);
        temps.push(t);
    }
    let dst = if info.args[0] == info.ret {
        temps[0]
    } else {
        b.temp(info.ret)
    };
    b.op(info.name, dst, &temps);
    b.op(copy_name(info.ret), out, &[dst]);
    b.build_for(isa).unwrap()
}

/// out0 := op(in0, scalar0) for binary ops.
fn with_scalar(info: &OpInfo, isa: Isa) -> Program {
    let mut b = Builder::new();
    let a = b.input(0, info.args[0]);
    let s = b.scalar(0, info.args[1]);
    let out = b.output(0, info.ret);
    b.op(info.name, out, &[a, s]);
    b.build_for(isa).unwrap()
}

fn copy_name(d: DType) -> &'static str {
    OPCODES
        .iter()
        .find(|o| o.op == Op::Copy && o.ret == d)
        .expect("a copy opcode")
        .name
}

fn prefix(b: &Buf, n: usize) -> Buf {
    let mut p = Buf::zeros(b.dtype, n);
    p.bytes_mut()
        .copy_from_slice(&b.bytes()[..n * b.dtype.size()]);
    p
}

fn run_one(
    p: &Program,
    ret: DType,
    inputs: &[Buf],
    n: usize,
    scalars: &[[u8; 8]],
    threads: usize,
) -> Result<Buf, numfuse_core::Error> {
    let mut out = [Buf::zeros(ret, n)];
    let mut ins: Vec<Buf> = inputs.iter().map(|b| prefix(b, n)).collect();
    run_bufs(p, &mut out, &mut ins, scalars, threads)?;
    let [out] = out;
    Ok(out)
}

const LENS: [usize; 10] = [0, 1, 7, 15, 16, 17, 4095, BLOCK, 4097, 10_000];
const THREADED: usize = 300_000;

#[test]
fn every_opcode_matches_the_reference() {
    let mut rng = Rng::new(0x5eed);
    for info in OPCODES.iter() {
        let pow_int = info.op == Op::Pow && int_layout(info.ret).is_some();
        let inputs: Vec<Buf> = info
            .args
            .iter()
            .enumerate()
            .map(|(k, &d)| random_buf(&mut rng, d, THREADED, pow_int && k == 1))
            .collect();
        let wants: Vec<_> = LENS
            .iter()
            .map(|&n| expected(info, &inputs, n, None))
            .collect();
        let want_threaded = expected(info, &inputs, THREADED, None);
        for isa in Isa::available() {
            let p = single(info, isa);
            let t = through_temps(info, isa);
            for (&n, want) in LENS.iter().zip(&wants) {
                for threads in [1, 2] {
                    check(
                        info,
                        &format!("{isa:?} n={n} threads={threads}"),
                        want.clone(),
                        run_one(&p, info.ret, &inputs, n, &[], threads),
                    );
                }
                check(
                    info,
                    &format!("{isa:?} through temps n={n}"),
                    want.clone(),
                    run_one(&t, info.ret, &inputs, n, &[], 1),
                );
            }
            assert_eq!(
                p.plan_threads(THREADED, 2),
                2,
                "{}: the threaded path is not taken",
                info.name
            );
            check(
                info,
                &format!("{isa:?} threaded"),
                want_threaded.clone(),
                run_one(&p, info.ret, &inputs, THREADED, &[], 2),
            );
            check(
                info,
                &format!("{isa:?} through temps, threaded"),
                want_threaded.clone(),
                run_one(&t, info.ret, &inputs, THREADED, &[], 2),
            );
        }
    }
}

/// Runs `p` with out0 exactly input 0's buffer.
fn run_in_place(
    p: &Program,
    info: &OpInfo,
    mut inputs: Vec<Buf>,
    n: usize,
) -> Result<Buf, numfuse_core::Error> {
    let mut arrays: Vec<_> = inputs.iter_mut().map(Buf::arg).collect();
    arrays.insert(0, arrays[0]);
    let args = numfuse_core::RunArgs {
        n,
        arrays: &arrays,
        scalars: &[],
        threads: 1,
    };
    // SAFETY: the buffers are owned here and hold n elements each.
    unsafe { numfuse_core::run(p, &args) }.map(|()| {
        let mut out = inputs.swap_remove(0);
        out.dtype = info.ret;
        out
    })
}

#[test]
fn every_opcode_runs_in_place() {
    let mut rng = Rng::new(0xa1);
    let n = 2 * BLOCK + 21;
    for info in OPCODES.iter().filter(|o| o.args[0].size() == o.ret.size()) {
        let pow_int = info.op == Op::Pow && int_layout(info.ret).is_some();
        let inputs: Vec<Buf> = info
            .args
            .iter()
            .enumerate()
            .map(|(k, &d)| random_buf(&mut rng, d, n, pow_int && k == 1))
            .collect();
        let want = expected(info, &inputs, n, None);
        for isa in Isa::available() {
            let p = single(info, isa);
            let got = run_in_place(&p, info, inputs.clone(), n);
            check(info, &format!("{isa:?} in place"), want.clone(), got);
        }
    }
}

#[test]
fn binary_opcodes_broadcast_a_scalar() {
    let mut rng = Rng::new(0xb2);
    let n = BLOCK + 3;
    for info in OPCODES.iter().filter(|o| o.args.len() == 2) {
        let pow_int = info.op == Op::Pow && int_layout(info.ret).is_some();
        let a = random_buf(&mut rng, info.args[0], n, false);
        let programs: Vec<_> = Isa::available()
            .into_iter()
            .map(|isa| (isa, with_scalar(info, isa)))
            .collect();
        for _ in 0..8 {
            let bits = random_value(&mut rng, info.args[1], pow_int);
            let value = load(info.args[1], bits);
            // Scalars travel as f64 for floats, i64 for ints and bools.
            let raw = match value {
                V::B(_) => (bits as u8 as i64).to_le_bytes(),
                V::N(_, x) => (x as i64).to_le_bytes(),
                V::H(x) => f16_value(x).to_le_bytes(),
                V::F(x) => f64::from(x).to_le_bytes(),
                V::D(x) => x.to_le_bytes(),
            };
            let want = expected(info, &[a.clone(), a.clone()], n, Some((1, value)));
            for (isa, p) in &programs {
                check(
                    info,
                    &format!("{isa:?} scalar"),
                    want.clone(),
                    run_one(p, info.ret, std::slice::from_ref(&a), n, &[raw], 1),
                );
            }
        }
    }
}

#[test]
fn negative_integer_powers_are_domain_errors() {
    for (name, dtype) in [("pow_iii", DType::Int32), ("pow_lll", DType::Int64)] {
        let info = OPCODES.iter().find(|o| o.name == name).unwrap();
        for isa in Isa::available() {
            let p = single(info, isa);
            for (n, threads) in [(10, 1), (5000, 1), (THREADED, 2)] {
                let a = Buf::zeros(dtype, n);
                let mut b = Buf::zeros(dtype, n);
                b.set(n - 3, u64::MAX); // -1
                let err = run_one(&p, dtype, &[a, b], n, &[], threads).unwrap_err();
                assert_eq!(err.code, ErrorCode::Domain);
                assert_eq!(
                    err.message,
                    "integers to negative integer powers are not allowed"
                );
            }
        }
    }
}

/// vecmath's f64 sin and cos give up (NaN) beyond |x| = 4.2e8; the kernels
/// recompute those lanes with std, so they are bit-exact there, in full
/// chunks and in the tail, also in place.
#[test]
fn f64_sin_and_cos_of_huge_arguments_are_std_exact() {
    let mut rng = Rng::new(0xc3);
    let n = 2 * 16 + 5;
    for name in ["sin_dd", "cos_dd"] {
        let info = OPCODES.iter().find(|o| o.name == name).unwrap();
        let mut x = Buf::zeros(DType::Float64, n);
        for i in 0..n {
            let v = match rng.below(4) {
                0 => 4.2e8 * (1.0 + rng.below(1000) as f64 / 1e6),
                1 => 2f64.powi(rng.below(1000) as i32 + 29),
                2 => -1e300 / (1 + rng.below(1000)) as f64,
                _ => rng.below(1000) as f64 / 7.0 - 70.0,
            };
            x.set(i, v.to_bits());
        }
        let exact: Vec<_> = (0..n)
            .map(|i| {
                let v = f64::from_bits(x.get(i));
                let r = if name == "sin_dd" { v.sin() } else { v.cos() };
                (
                    r.to_bits(),
                    if v.abs() > 4.2e8 { 0 } else { ulp_bound(info) },
                )
            })
            .collect();
        for isa in Isa::available() {
            let p = single(info, isa);
            let inputs = std::slice::from_ref(&x);
            check(
                info,
                &format!("{isa:?} huge"),
                Ok(exact.clone()),
                run_one(&p, info.ret, inputs, n, &[], 1),
            );
            let got = run_in_place(&p, info, vec![x.clone()], n);
            check(
                info,
                &format!("{isa:?} huge in place"),
                Ok(exact.clone()),
                got,
            );
        }
    }
}

#[test]
fn isas_are_detected_once_and_clamped() {
    let available = Isa::available();
    assert_eq!(available[0], Isa::Baseline);
    assert!(available.contains(&Isa::detected()));
    let best = *available.last().unwrap();
    let code = {
        let mut b = Builder::new();
        let (x, out) = (b.input(0, DType::Float32), b.output(0, DType::Float32));
        b.op("copy_ff", out, &[x]);
        b.bytes()
    };
    for isa in Isa::ALL {
        assert_eq!(Isa::from_name(isa.name()), Some(isa));
        assert_eq!(isa.clamp(), isa.min(best));
        assert_eq!(Program::with_isa(&code, isa).unwrap().isa(), isa.min(best));
    }
    assert_eq!(Isa::from_name("sse9"), None);
    assert_eq!(Program::new(&code).unwrap().isa(), Isa::detected());
}
