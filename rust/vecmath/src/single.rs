//! float32 kernels. Everything but tanh is evaluated in f64 internally (a
//! f32 -> f64 conversion is exact, f32 subnormals become normal numbers, and
//! the final `as f32` rounds once, handling overflow to inf and gradual
//! underflow), so short polynomials whose error is ~2^-32 give results that
//! are correctly rounded except in rare near-halfway cases (<= 1 ULP). tanh
//! is computed in f32 arithmetic (see [`tanh_f32`]).
//!
//! exp, log, sin, cos, tanh and pow have dedicated low-degree kernels; the
//! other functions evaluate the float64 kernel on the widened argument.

use crate::double;
use crate::util::{horner, round_shift, sel, selu, SIGN};
use core::f64::consts::{FRAC_2_PI, LN_2, LOG2_E};

/// pi/2 = P1 + P2 + P3 with 28-bit P1, P2: n*P1, n*P2 exact for n < 2^25.
const PIO2_1: f64 = 1.570_796_325_802_803;
const PIO2_2: f64 = 9.920_935_808_982_456e-10;
const PIO2_3: f64 = -1.217_705_177_797_396_6e-18;

/// expm1(r) = r + r^2 P(r), |r| <= ln2/2: 2^-32.0.
#[inline(always)]
fn expm1_p(r: f64) -> f64 {
    horner!(r; 0.500_000_004_442_643_1, 0.166_666_663_697_128_85, 0.041_666_359_747_199_06,
        0.008_333_389_359_387_067, 0.001_394_072_439_358_211_6, 0.000_198_460_066_481_269_4)
}

/// log1p(f) = f - f^2/2 + f^3 P(f), f in [sqrt(1/2) - 1, sqrt(2) - 1]: 2^-38.2.
#[inline(always)]
fn log1p_p(f: f64) -> f64 {
    horner!(f; 0.333_333_333_999_921_16, -0.250_000_011_384_017_3, 0.199_999_891_513_048_03,
        -0.166_665_312_269_171, 0.142_861_828_274_509_16, -0.125_057_542_169_256_1,
        0.111_054_408_322_819_79, -0.098_888_281_835_975_17, 0.090_399_100_510_611_74,
        -0.092_896_756_582_097_55, 0.091_192_685_962_573_03, -0.048_223_154_188_393_86)
}

/// sin(y) = y + y^3 P(y^2), |y| <= pi/4: 2^-37.5.
#[inline(always)]
fn sin_p(z: f64) -> f64 {
    horner!(z; -0.166_666_666_406_906_72, 0.008_333_329_292_520_097, -0.000_198_393_083_003_877_37,
        2.718_083_705_746_718_8e-6)
}

/// cos(y) = 1 + y^2 P(y^2), |y| <= pi/4: 2^-47.5.
#[inline(always)]
fn cos_p(z: f64) -> f64 {
    horner!(z; -0.499_999_999_994_867_16, 0.041_666_666_552_958_88, -0.001_388_888_063_405_825_7,
        2.479_895_536_488_501e-5, -2.717_440_102_910_318_5e-7)
}

/// 2^n (|n| < 1000, n in the low bits of `nb`).
#[inline(always)]
fn pow2(nb: u64) -> f64 {
    f64::from_bits(nb.wrapping_add(1023) << 52)
}

/// log(x) in f64 for f64 x > 0 finite that came from a f32 (so it is normal):
/// returns (k, log1p(f)) with log(x) = k ln2 + log1p(f).
#[inline(always)]
fn log_parts(x: f64) -> (f64, f64) {
    let hu = x
        .to_bits()
        .wrapping_add(0x3ff0_0000_0000_0000 - 0x3fe6_a09e_667f_3bcd);
    let k = f64::from_bits((hu >> 52) | 0x4330_0000_0000_0000) - (4_503_599_627_370_496.0 + 1023.0);
    let m = f64::from_bits((hu & 0x000f_ffff_ffff_ffff).wrapping_add(0x3fe6_a09e_667f_3bcd));
    let f = m - 1.0;
    let f2 = f * f;
    (k, f + f2 * (-0.5 + f * log1p_p(f)))
}

/// e^x.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    let x = f64::from(x);
    let x = sel(x < -104.0, -104.0, sel(x > 89.0, 89.0, x));
    let (fnv, nb) = round_shift(x * LOG2_E);
    let r = x - fnv * LN_2;
    let p = 1.0 + (r + r * r * expm1_p(r));
    (p * pow2(nb)) as f32
}

/// Natural logarithm.
#[inline(always)]
pub fn log_f32(x: f32) -> f32 {
    let xd = f64::from(x);
    let (k, l) = log_parts(xd);
    let res = k * LN_2 + l;
    let res = sel(xd == f64::INFINITY, xd, res);
    let res = sel(xd == 0.0, f64::NEG_INFINITY, res);
    let res = sel(xd < 0.0 || xd.is_nan(), f64::NAN, res);
    res as f32
}

/// Cody-Waite reduction of |x| (from a f32) by pi/2 in f64; accurate for
/// |x| < 2^25 * pi/2 (~5.2e7).
#[inline(always)]
fn trig_reduce(ax: f64) -> (f64, u64) {
    let (fnv, nb) = round_shift(ax * FRAC_2_PI);
    let r = ((ax - fnv * PIO2_1) - fnv * PIO2_2) - fnv * PIO2_3;
    (r, nb)
}

/// 2/pi = sum_j T[j] 2^(-24 (j+1)), 24-bit integer chunks.
const TWO_OVER_PI_24: [f64; 9] = [
    10_680_707.0,
    7_228_996.0,
    1_387_004.0,
    2_578_385.0,
    16_069_853.0,
    12_639_074.0,
    9_804_092.0,
    4_427_841.0,
    16_666_979.0,
];
const PIO2_HI: f64 = core::f64::consts::FRAC_PI_2;
const PIO2_LO: f64 = 6.123_233_995_736_766e-17;

/// Payne-Hanek reduction for |x| >= 2^25 (x from a f32, so x = M 2^E with a
/// 24-bit M): x 2/pi mod 4 from five exact 48-bit partial products with the
/// 24-bit chunks of 2/pi that matter, summed in double-double. Garbage (but
/// no UB) for smaller |x|; callers select.
#[inline(always)]
fn trig_reduce_large(ax: f64) -> (f64, u64) {
    let bits = ax.to_bits();
    let eb = bits >> 52; // biased f64 exponent
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | ((1023 + 23) << 52)); // M
                                                                                  // first chunk whose product is not a multiple of 4: j0 = floor((e - 25)/24),
                                                                                  // e in [25, 128]; the chunk lookup T[j0 + i] is a select chain (no gather,
                                                                                  // so it vectorizes on AVX2 as well)
    let f1 = ax >= 562_949_953_421_312.0; // 2^49
    let f2 = ax >= 9.444_732_965_739_29e21; // 2^73
    let f3 = ax >= 1.584_563_250_285_287_e29; // 2^97
    let f4 = ax >= 2.658_455_991_569_832e36; // 2^121
    let sub = selu(f4, 96, selu(f3, 72, selu(f2, 48, selu(f1, 24, 0)))); // 24 j0
                                                                         // 2^(E - 24 (j0 + i + 1)) with E = e - 23, as biased-exponent bits
    let sb = eb.wrapping_sub(23 + 24).wrapping_sub(sub);
    let term = |i: usize| {
        let c = &TWO_OVER_PI_24;
        // T[i + j0] as a sum of exact integer steps (selects of constants would
        // be turned back into a table lookup, i.e. a gather)
        let t = c[i]
            + sel(f1, c[i + 1] - c[i], 0.0)
            + sel(f2, c[i + 2] - c[i + 1], 0.0)
            + sel(f3, c[i + 3] - c[i + 2], 0.0)
            + sel(f4, c[i + 4] - c[i + 3], 0.0);
        (m * t) * f64::from_bits(sb.wrapping_sub(24 * i as u64) << 52)
    };
    let (t0, t1, t2, t3, t4) = (term(0), term(1), term(2), term(3), term(4));
    // drop multiples of 4 (exact)
    let t0 = t0 - 4.0 * round_shift(0.25 * t0).0;
    let t1 = t1 - 4.0 * round_shift(0.25 * t1).0;
    let (a, b) = crate::util::two_sum(t0 + t1, t2);
    let b = b + (t3 + t4);
    let (fnv, nb) = round_shift(a);
    let f = a - fnv;
    let fh = f + b;
    let fl = (f - fh) + b;
    (fh * PIO2_HI + (fl * PIO2_HI + fh * PIO2_LO), nb)
}

/// Reduction for any |x| from a f32: Cody-Waite below 2^25, Payne-Hanek above.
#[inline(always)]
fn trig_reduce_any(ax: f64) -> (f64, u64) {
    let (r0, q0) = trig_reduce(ax);
    let (r1, q1) = trig_reduce_large(ax);
    let large = ax >= 33_554_432.0;
    let r = sel(large, r1, r0);
    (sel(ax == f64::INFINITY, f64::NAN, r), selu(large, q1, q0))
}

#[inline(always)]
fn sincos_k(r: f64) -> (f64, f64) {
    let z = r * r;
    (r + r * z * sin_p(z), 1.0 + z * cos_p(z))
}

/// Sine.
#[inline(always)]
pub fn sin_f32(x: f32) -> f32 {
    let xd = f64::from(x);
    let (r, q) = trig_reduce_any(xd.abs());
    let (s, c) = sincos_k(r);
    let v = sel(q & 1 != 0, c, s);
    f64::from_bits(v.to_bits() ^ ((q << 62) & SIGN) ^ (xd.to_bits() & SIGN)) as f32
}

/// Cosine.
#[inline(always)]
pub fn cos_f32(x: f32) -> f32 {
    let (r, q) = trig_reduce_any(f64::from(x).abs());
    let (s, c) = sincos_k(r);
    let v = sel(q & 1 != 0, s, c);
    f64::from_bits(v.to_bits() ^ ((q.wrapping_add(1) << 62) & SIGN)) as f32
}

/// Tangent (sin/cos of the reduced argument, one division in f64).
#[inline(always)]
pub fn tan_f32(x: f32) -> f32 {
    let xd = f64::from(x);
    let (r, q) = trig_reduce_any(xd.abs());
    let (s, c) = sincos_k(r);
    let odd = q & 1 != 0;
    let v = sel(odd, -c, s) / sel(odd, s, c);
    f64::from_bits(v.to_bits() ^ (xd.to_bits() & SIGN)) as f32
}

/// tanh(r) = r + r^3 P(r^2), |r| <= ln2/4: 2^-24.0 relative to tanh(r).
#[inline(always)]
fn tanh_p(w: f32) -> f32 {
    horner!(w; -0.333_311_9, 0.131_062_57)
}

/// ln2/2 rounded to f32 (9.5e-10 below it), with 21 significant bits: k LN2_2
/// is exact for k <= 7.
const LN2_2: f32 = core::f32::consts::LN_2 / 2.0;
/// 1.5 * 2^23 + 127: `(v + SHIFT_BIASED) - SHIFT_BIASED` rounds `v`
/// (|v| < 2^21) to an integer k, and the low mantissa bits of
/// `v + SHIFT_BIASED` hold k + 127, the biased exponent of 2^k.
const SHIFT_BIASED: f32 = 12_583_039.0;

/// Hyperbolic tangent, computed in f32 lanes (twice the lanes of the f64
/// kernels) by the addition theorem: |x| = k ln2/2 + r, k = round(|x| 2/ln2),
/// |r| <= ln2/4 (|x| clamped to 9.1, where tanh already rounds to 1), and
/// tanh(k ln2/2) = (2^k - 1)/(2^k + 1), so with t = tanh(r) from a short odd
/// polynomial
///
/// tanh|x| = ((2^k - 1) + (2^k + 1) t) / ((2^k + 1) + (2^k - 1) t);
///
/// sign restored. One division, no exp, no blend of two ranges: k = 0 gives
/// 2t/2 = t exactly (tiny and subnormal x come back unchanged, -0 through the
/// sign), and at the clamp (k = 26) both 2^k -+ 1 round to 2^26, so the
/// quotient is exactly 1; NaN propagates through r.
///
/// Error: the reduction is exact for k <= 7 (k LN2_2 exact, the subtraction
/// exact by Sterbenz); above, what LN2_2 and the rounded k LN2_2 lose is
/// scaled by sech^2 |x| < 0.03 (< 0.1 ULP). t is within 2^-24 of tanh(r)
/// (relative), and
/// 2^k -+ 1 are exact for k <= 23. Numerator and denominator take two
/// roundings each and share t, whose error cancels as k grows; at k = 1 with
/// r < 0 (|x| in [0.17, 0.26]) 1 + 3t cancels by about 2. Before the
/// division rounds, the error is therefore up to about 2 ULP (2.42 ULP
/// against the unrounded tanh in the random test), which alone does not
/// bound the rounded result by 2 ULP: the exhaustive test does, max 2 ULP
/// over all 2^32 inputs (e.g. at x = -0.17328693), and without FMA every
/// ISA computes exactly these roundings.
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    let ax = x.abs();
    let a = sel(ax > 9.1, 9.1, ax);
    let s = a * (2.0 / core::f32::consts::LN_2) + SHIFT_BIASED;
    let k = s - SHIFT_BIASED;
    let r = a - k * LN2_2;
    let w = r * r;
    let t = r + r * w * tanh_p(w);
    // 2^k: k + 127 is in the low bits of s, whose bits above them shift out
    let p = f32::from_bits(s.to_bits() << 23);
    let (pm, pp) = (p - 1.0, p + 1.0);
    let res = (pm + pp * t) / (pp + pm * t);
    f32::from_bits(res.to_bits() | (x.to_bits() & 0x8000_0000))
}

/// x^y with C99/NumPy special cases: exp2(y log2|x|) in f64.
#[inline(always)]
pub fn pow_f32(x: f32, y: f32) -> f32 {
    let (xd, yd) = (f64::from(x), f64::from(y));
    let (k, l) = log_parts(xd.abs());
    let t = yd * (k + l * LOG2_E);
    let t = sel(t < -200.0, -200.0, sel(t > 200.0, 200.0, t));
    let (fnv, nb) = round_shift(t);
    let r = (t - fnv) * LN_2;
    let mag = (1.0 + (r + r * r * expm1_p(r))) * pow2(nb);
    double::pow_special(xd, yd, mag) as f32
}

macro_rules! via_f64 {
    ($($(#[$m:meta])* $name:ident => $f:path;)*) => {$(
        $(#[$m])*
        #[inline(always)]
        pub fn $name(x: f32) -> f32 {
            $f(f64::from(x)) as f32
        }
    )*};
}

via_f64! {
    /// e^x - 1.
    expm1_f32 => double::expm1_f64;
    /// 2^x.
    exp2_f32 => double::exp2_f64;
    /// log(1 + x).
    log1p_f32 => double::log1p_f64;
    /// Base-2 logarithm.
    log2_f32 => double::log2_f64;
    /// Base-10 logarithm.
    log10_f32 => double::log10_f64;
    /// Hyperbolic sine.
    sinh_f32 => double::sinh_f64;
    /// Hyperbolic cosine.
    cosh_f32 => double::cosh_f64;
    /// Inverse hyperbolic sine.
    arcsinh_f32 => double::arcsinh_f64;
    /// Inverse hyperbolic cosine.
    arccosh_f32 => double::arccosh_f64;
    /// Inverse hyperbolic tangent.
    arctanh_f32 => double::arctanh_f64;
    /// Arcsine.
    arcsin_f32 => double::arcsin_f64;
    /// Arccosine.
    arccos_f32 => double::arccos_f64;
    /// Arctangent.
    arctan_f32 => double::arctan_f64;
}

/// Two-argument arctangent atan2(y, x).
#[inline(always)]
pub fn arctan2_f32(y: f32, x: f32) -> f32 {
    double::arctan2_f64(f64::from(y), f64::from(x)) as f32
}
