//! float64 kernels.

use crate::util::{
    horner, log_reduce, pow2, round_shift, scale, sel, selu, two_prod, two_sum, SIGN,
};
use core::f64::consts::{FRAC_2_PI, FRAC_PI_2, FRAC_PI_4, LN_2, LOG2_E, PI};

// ---------------------------------------------------------------- constants
/// ln2 split: 42-bit head (n * LN2_HI exact for |n| < 2^11) + tail.
const LN2_HI: f64 = 0.693_147_180_559_890_3;
const LN2_LO: f64 = 5.497_923_018_708_371e-14;
/// 1/ln2 and 1/ln10 with 32-bit heads, log10(2) with a 38-bit head.
const IVLN2_HI: f64 = 1.442_695_040_721_446_3;
const IVLN2_LO: f64 = 1.675_171_316_488_651_2e-10;
const IVLN10_HI: f64 = 0.434_294_481_878_168_9;
const IVLN10_LO: f64 = 2.508_294_671_164_527_5e-11;
const LOG10_2_HI: f64 = 0.301_029_995_664_066_5;
const LOG10_2_LO: f64 = -8.532_344_317_057_107e-14;
/// pi/2 in four 25-bit pieces plus a 53-bit tail (Cody-Waite, n < 2^28).
const PIO2_1: f64 = 1.570_796_310_901_641_8;
const PIO2_2: f64 = 1.589_325_471_229_585_7e-8;
const PIO2_3: f64 = 6.123_233_932_053_594e-17;
const PIO2_4: f64 = 6.368_317_055_225_283e-25;
const PIO2_5: f64 = 1.082_856_673_921_914e-32;
/// Double-double constants (head = correctly rounded value).
const PIO2_HI: f64 = FRAC_PI_2;
const PIO2_LO: f64 = 6.123_233_995_736_766e-17;
const PIO4_HI: f64 = FRAC_PI_4;
const PIO4_LO: f64 = 3.061_616_997_868_383e-17;
const PI_LO: f64 = 1.224_646_799_147_353_2e-16;
const ATAN05_HI: f64 = 0.463_647_609_000_806_1;
const ATAN05_LO: f64 = 2.269_877_745_296_168_7e-17;
const ATAN15_HI: f64 = 0.982_793_723_247_329;
const ATAN15_LO: f64 = 1.390_331_103_123_099_8e-17;
const PI_M_ATAN05_HI: f64 = 2.677_945_044_588_987;
const PI_M_ATAN05_LO: f64 = 1.552_770_536_930_314_7e-16;
const PI3O4_HI: f64 = 2.356_194_490_192_345;
const PI3O4_LO: f64 = 9.184_850_993_605_148e-17;
const PI_M_ATAN15_HI: f64 = 2.158_798_930_342_464;
const PI_M_ATAN15_LO: f64 = 2.195_836_713_460_199_7e-16;
const IVLN2_DD_LO: f64 = 2.035_527_374_093_103_3e-17;
const TWO_THIRDS_LO: f64 = 3.700_743_415_417_188e-17;

// ------------------------------------------------------ minimax polynomials
// All fitted for this crate (Lawson-weighted least squares -> minimax, mpmath,
// relative-error weights); the comment gives the interval and the max weighted
// error of the double-rounded coefficients.

/// expm1(r) = r + r^2/2 + r^3 P(r), |r| <= ln2/2: 2^-59.0.
#[inline(always)]
fn expm1_p(r: f64) -> f64 {
    horner!(r; 0.166_666_666_666_666_77, 0.041_666_666_666_666_574, 0.008_333_333_333_322_12,
        0.001_388_888_888_894_281_1, 0.000_198_412_698_850_551_73, 2.480_158_719_804_289_4e-5,
        2.755_724_516_816_563e-6, 2.755_738_708_293_211e-7, 2.510_873_437_592_458_5e-8,
        2.087_893_764_795_237_7e-9)
}

/// 2^r = 1 + r P(r), |r| <= 1/2: 2^-55.6 (limited by rounding ln2).
#[inline(always)]
fn exp2_p(r: f64) -> f64 {
    horner!(r; LN_2, 0.240_226_506_959_100_72, 0.055_504_108_664_821_69, 0.009_618_129_107_628_33,
        0.001_333_355_814_639_266, 0.000_154_035_303_936_409_53, 1.525_273_385_435_087_2e-5,
        1.321_548_659_478_327_7e-6, 1.017_805_192_741_829_7e-7, 7.054_974_505_949_587e-9,
        4.456_572_843_259_996_3e-10, 2.562_540_848_912_699_7e-11)
}

/// (2 atanh(s)/s - 2)/z, z = s^2 <= 0.02947: 2^-58.2.
#[inline(always)]
fn log_p(z: f64) -> f64 {
    horner!(z; 0.666_666_666_666_673_5, 0.399_999_999_994_110_57, 0.285_714_287_432_691_06,
        0.222_221_984_754_124_58, 0.181_835_697_664_244_32, 0.153_139_026_277_210_18,
        0.147_975_134_134_248_7)
}

/// ((2 atanh(s)/s - 2)/z - 2/3)/z, z = s^2 <= 0.02947 (pow's double-double log):
/// weighted by z^2, 2^-65.3.
#[inline(always)]
fn pow_log_tail(z: f64) -> f64 {
    horner!(z; 0.399_999_999_999_999_8, 0.285_714_285_714_452_2, 0.222_222_222_175_101_37,
        0.181_818_188_735_411_45, 0.153_845_566_509_792_9, 0.133_363_258_838_285_76,
        0.116_746_466_192_147_65, 0.119_904_455_116_349_63)
}

/// (sin(y) - y)/y^3, z = y^2 <= (pi/4)^2: 2^-56.6.
#[inline(always)]
fn sin_p(z: f64) -> f64 {
    horner!(z; -0.166_666_666_666_666_3, 0.008_333_333_333_322_061, -0.000_198_412_698_295_421_62,
        2.755_731_360_439_556_7e-6, -2.505_074_501_996_626_3e-8, 1.589_606_659_006_825_7e-10)
}

/// (cos(y) - 1 + z/2)/z^2, z = y^2 <= (pi/4)^2: 2^-59.4.
#[inline(always)]
fn cos_p(z: f64) -> f64 {
    horner!(z; 0.041_666_666_666_666_595, -0.001_388_888_888_887_297_3, 2.480_158_728_879_917_4e-5,
        -2.755_731_416_375_809e-7, 2.087_569_868_168_988e-9, -1.135_842_224_506_510_9e-11)
}

/// (atan(t) - t)/t^3, z = t^2 <= (7/16)^2: 2^-58.6.
#[inline(always)]
fn atan_p(z: f64) -> f64 {
    horner!(z; -0.333_333_333_333_333_15, 0.199_999_999_999_929_1, -0.142_857_142_848_261_31,
        0.111_111_110_552_251_4, -0.090_909_070_251_198_9, 0.076_922_589_094_261_39,
        -0.066_658_946_177_577_87, 0.058_739_513_943_242_325, -0.051_997_258_237_059_155,
        0.044_316_932_946_206_32, -0.031_889_992_803_785_53, 0.013_669_283_948_932_05)
}

/// (asin(s) - s)/s^3 = P(z)/Q(z), z = s^2 <= 1/4: 2^-58.8.
#[inline(always)]
fn asin_r(z: f64) -> f64 {
    let p = horner!(z; 0.166_666_666_666_666_6, -0.326_790_100_699_146_66, 0.202_952_709_054_661_62,
        -0.040_673_378_125_739_824, 0.000_814_347_744_395_200_7, 3.630_995_583_732_646_5e-5);
    let q = horner!(z; 1.0, -2.410_740_604_194_959_5, 2.034_692_383_363_342, -0.696_209_417_666_556,
        0.078_398_406_477_834_87);
    p / q
}

/// (sinh(x) - x)/x^3, z = x^2 <= 1: 2^-56.6.
#[inline(always)]
fn sinh_p(z: f64) -> f64 {
    horner!(z; 0.166_666_666_666_666_69, 0.008_333_333_333_333_148, 0.000_198_412_698_414_318_8,
        2.755_731_915_707_001_4e-6, 2.505_212_313_698_316_5e-8, 1.605_725_975_059_454_5e-10,
        7.758_749_300_488_512e-13)
}

/// (cosh(x) - 1 - z/2)/z^2, z = x^2 <= 1: 2^-58.0.
#[inline(always)]
fn cosh_p(z: f64) -> f64 {
    horner!(z; 0.041_666_666_666_665_57, 0.001_388_888_888_904_283_3, 2.480_158_722_181_202_8e-5,
        2.755_733_942_045_749e-7, 2.087_407_217_746_670_6e-9, 1.165_069_297_516_269_3e-11)
}

// ------------------------------------------------------------ shared cores
/// expm1 on the reduced argument: r + r^2/2 + r^3 P(r).
#[inline(always)]
fn expm1_poly(r: f64) -> f64 {
    let r2 = r * r;
    r + (0.5 * r2 + r2 * r * expm1_p(r))
}

/// Cody-Waite reduction x = n ln2 + r + c (|r| <= ln2/2, c = rounding error of r).
/// Returns (n as f64, n bits, r, c). Requires |x| < ~1500.
#[inline(always)]
fn exp_reduce(x: f64) -> (f64, u64, f64, f64) {
    let (fnv, nb) = round_shift(x * LOG2_E);
    let hi = x - fnv * LN2_HI; // exact
    let lo = fnv * LN2_LO;
    let r = hi - lo;
    (fnv, nb, r, (hi - r) - lo)
}

/// e^x = p * 2^n for |x| <= 1500, p in [0.7, 1.42].
#[inline(always)]
fn exp_parts(x: f64) -> (f64, u64, f64) {
    let (fnv, nb, r, c) = exp_reduce(x);
    (fnv, nb, 1.0 + (expm1_poly(r) + c))
}

/// expm1 for x already clamped to [-60, 710] (NaN passes through), as an
/// unevaluated sum hi + lo (|lo| <~ ulp(hi)).
#[inline(always)]
fn expm1_dd(x: f64) -> (f64, f64) {
    let (_, nb, r, c) = exp_reduce(x);
    let r2 = r * r;
    let q = 0.5 * r2 + r2 * r * expm1_p(r);
    let eh = r + q;
    let el = ((r - eh) + q) + (c + c * eh);
    // e^x - 1 = 2 (h em + (h - 1/2)), h = 2^(n-1) in [2^-88, 2^1023]
    let h = pow2(nb.wrapping_sub(1));
    let (sh, sl) = two_sum(h * eh, h - 0.5);
    (2.0 * sh, 2.0 * (sl + h * el))
}

/// log(m) for m in [sqrt(1/2), sqrt(2)) as (f - hfsq, s*(hfsq + R)) pieces: returns (f, hfsq, t)
/// with log1p(f) = f - hfsq + t.
#[inline(always)]
fn log_kernel(f: f64) -> (f64, f64) {
    let hfsq = 0.5 * f * f;
    let s = f / (2.0 + f);
    let z = s * s;
    (hfsq, s * (hfsq + z * log_p(z)))
}

#[inline(always)]
fn log_special(x: f64, res: f64) -> f64 {
    let res = sel(x == f64::INFINITY, x, res);
    let res = sel(x == 0.0, f64::NEG_INFINITY, res);
    sel(x < 0.0 || x.is_nan(), f64::NAN, res)
}

/// log1p(x + xlo) without the special-value fixups (u = 1 + x must be > 0 and
/// finite, |xlo| <~ ulp(x)).
#[inline(always)]
fn log1p_core(x: f64, xlo: f64) -> f64 {
    let u = 1.0 + x;
    let (k, m) = log_reduce(u);
    // u = 1 + x + c0 exactly; log1p(x) = log(u) + c0/u
    let c = (sel(k >= 2.0, 1.0 - (u - x), x - (u - 1.0)) + xlo) / u;
    let c = sel(k < 54.0, c, 0.0);
    let f = m - 1.0;
    let (hfsq, t) = log_kernel(f);
    k * LN2_HI - ((hfsq - (t + (k * LN2_LO + c))) - f)
}

/// Largest |x| for which sin/cos/tan are computed (the Cody-Waite reduction is
/// exact for n < 2^28); larger finite arguments return NaN (no Payne-Hanek
/// reduction for float64 yet).
pub(crate) const TRIG_MAX_F64: f64 = 421_657_428.0;

/// Multi-part Cody-Waite reduction of ax >= 0 by pi/2: ax = n pi/2 + y + y1.
/// Accurate for ax < 2^28 * pi/2 (~4.2e8); larger ax give y = NaN.
#[inline(always)]
fn trig_reduce(ax: f64) -> (f64, f64, u64) {
    let (fnv, nb) = round_shift(ax * FRAC_2_PI);
    let r = ax - fnv * PIO2_1; // exact
    let (r, e1) = two_sum(r, -(fnv * PIO2_2));
    let (r, e2) = two_sum(r, -(fnv * PIO2_3));
    let (r, e3) = two_sum(r, -(fnv * PIO2_4));
    let c = ((e1 + e2) + e3) - fnv * PIO2_5;
    let y = sel(ax > TRIG_MAX_F64, f64::NAN, r + c);
    (y, (r - y) + c, nb)
}

/// sin(y + y1) for |y| <= pi/4 (+ rounding).
#[inline(always)]
fn sin_k(y: f64, y1: f64) -> f64 {
    let z = y * y;
    y + (z * y * sin_p(z) + y1 * (1.0 - 0.5 * z))
}

/// cos(y + y1) for |y| <= pi/4 (+ rounding).
#[inline(always)]
fn cos_k(y: f64, y1: f64) -> f64 {
    let z = y * y;
    let hz = 0.5 * z;
    let w = 1.0 - hz;
    w + (((1.0 - w) - hz) + (z * z * cos_p(z) - y * y1))
}

/// atan(ay/ax) for ay, ax >= 0 (the rounded ratio only picks the range; the
/// reduced argument is formed from ay and ax directly). Returns the angle in
/// `[0, pi/2]`, or pi minus it when `neg` (atan2 with x < 0), rounded once.
#[inline(always)]
fn atan_core(ay: f64, ax: f64, neg: bool) -> f64 {
    let q = ay / ax;
    let r0 = q < 0.4375;
    let r1 = q < 0.6875;
    let r2 = q < 1.1875;
    let r3 = q < 2.4375;
    let c = sel(r1, 0.5, sel(r2, 1.0, 1.5));
    // mid ranges: atan(c) + atan((ay - c ax)/(ax + c ay))
    let num = sel(r0, ay, sel(r3, ay - c * ax, -ax));
    let den = sel(r0, ax, sel(r3, ax + c * ay, ay));
    let t = num / den;
    let (bh, bl) = (
        sel(
            r0,
            0.0,
            sel(r1, ATAN05_HI, sel(r2, PIO4_HI, sel(r3, ATAN15_HI, PIO2_HI))),
        ),
        sel(
            r0,
            0.0,
            sel(r1, ATAN05_LO, sel(r2, PIO4_LO, sel(r3, ATAN15_LO, PIO2_LO))),
        ),
    );
    let (nh, nl) = (
        sel(
            r0,
            PI,
            sel(
                r1,
                PI_M_ATAN05_HI,
                sel(r2, PI3O4_HI, sel(r3, PI_M_ATAN15_HI, PIO2_HI)),
            ),
        ),
        sel(
            r0,
            PI_LO,
            sel(
                r1,
                PI_M_ATAN05_LO,
                sel(r2, PI3O4_LO, sel(r3, PI_M_ATAN15_LO, PIO2_LO)),
            ),
        ),
    );
    let z = t * t;
    let p = t * z * atan_p(z);
    let (bh, bl) = (sel(neg, nh, bh), sel(neg, nl, bl));
    let (t, p) = (sel(neg, -t, t), sel(neg, -p, p));
    bh + (t + (p + bl))
}

/// copysign via bits (vectorizes to and/or).
#[inline(always)]
fn with_sign_of(v: f64, s: f64) -> f64 {
    f64::from_bits((v.to_bits() & !SIGN) | (s.to_bits() & SIGN))
}

// ---------------------------------------------------------------- exp family
/// e^x.
#[inline(always)]
pub fn exp_f64(x: f64) -> f64 {
    let xc = sel(x < -746.0, -746.0, sel(x > 710.0, 710.0, x));
    let (fnv, nb, p) = exp_parts(xc);
    scale(p, nb, fnv > 0.0)
}

/// e^x - 1.
#[inline(always)]
pub fn expm1_f64(x: f64) -> f64 {
    let xc = sel(x < -60.0, -60.0, sel(x > 710.0, 710.0, x));
    let (h, l) = expm1_dd(xc);
    // |x| < 2^-54 (zeros and subnormals included): expm1(x) rounds to x
    sel(x.abs() < 5.551_115_123_125_783e-17, x, h + l)
}

/// 2^x.
#[inline(always)]
pub fn exp2_f64(x: f64) -> f64 {
    let xc = sel(x < -1100.0, -1100.0, sel(x > 1100.0, 1100.0, x));
    let (fnv, nb) = round_shift(xc);
    let r = xc - fnv;
    scale(1.0 + r * exp2_p(r), nb, fnv > 0.0)
}

// ---------------------------------------------------------------- log family
/// Natural logarithm.
#[inline(always)]
pub fn log_f64(x: f64) -> f64 {
    let (k, m) = log_reduce(x);
    let f = m - 1.0;
    let (hfsq, t) = log_kernel(f);
    let res = k * LN2_HI - ((hfsq - (t + k * LN2_LO)) - f);
    log_special(x, res)
}

/// log(m) for the log2/log10 kernels split into a 21-bit head and a tail.
#[inline(always)]
fn log_hi_lo(f: f64) -> (f64, f64) {
    let (hfsq, t) = log_kernel(f);
    let hi = f - hfsq;
    let hi = f64::from_bits(hi.to_bits() & 0xffff_ffff_0000_0000);
    (hi, ((f - hi) - hfsq) + t)
}

/// Base-2 logarithm.
#[inline(always)]
pub fn log2_f64(x: f64) -> f64 {
    let (k, m) = log_reduce(x);
    let (hi, lo) = log_hi_lo(m - 1.0);
    let vh = hi * IVLN2_HI;
    let vl = (lo + hi) * IVLN2_LO + lo * IVLN2_HI;
    let w = k + vh;
    let vl = vl + ((k - w) + vh);
    log_special(x, vl + w)
}

/// Base-10 logarithm.
#[inline(always)]
pub fn log10_f64(x: f64) -> f64 {
    let (k, m) = log_reduce(x);
    let (hi, lo) = log_hi_lo(m - 1.0);
    let vh = hi * IVLN10_HI;
    let vl = (lo + hi) * IVLN10_LO + lo * IVLN10_HI + k * LOG10_2_LO;
    let y2 = k * LOG10_2_HI;
    let w = y2 + vh;
    let vl = vl + ((y2 - w) + vh);
    log_special(x, vl + w)
}

/// log(1 + x).
#[inline(always)]
pub fn log1p_f64(x: f64) -> f64 {
    let res = log1p_core(x, 0.0);
    let res = sel(x == f64::INFINITY, x, res);
    let res = sel(x == -1.0, f64::NEG_INFINITY, res);
    let res = sel(x < -1.0 || x.is_nan(), f64::NAN, res);
    sel(x == 0.0, x, res)
}

// ------------------------------------------------------------- trigonometry
/// Sine. |x| > 4.2e8 (beyond the Cody-Waite reduction) returns NaN.
#[inline(always)]
pub fn sin_f64(x: f64) -> f64 {
    let (y, y1, q) = trig_reduce(x.abs());
    let v = sel(q & 1 != 0, cos_k(y, y1), sin_k(y, y1));
    f64::from_bits(v.to_bits() ^ ((q << 62) & SIGN) ^ (x.to_bits() & SIGN))
}

/// Cosine. |x| > 4.2e8 returns NaN.
#[inline(always)]
pub fn cos_f64(x: f64) -> f64 {
    let (y, y1, q) = trig_reduce(x.abs());
    let v = sel(q & 1 != 0, sin_k(y, y1), cos_k(y, y1));
    f64::from_bits(v.to_bits() ^ ((q.wrapping_add(1) << 62) & SIGN))
}

/// Tangent. |x| > 4.2e8 returns NaN.
#[inline(always)]
pub fn tan_f64(x: f64) -> f64 {
    let (y, y1, q) = trig_reduce(x.abs());
    let s = sin_k(y, y1);
    let c = cos_k(y, y1);
    let odd = q & 1 != 0;
    let v = sel(odd, -c, s) / sel(odd, s, c);
    f64::from_bits(v.to_bits() ^ (x.to_bits() & SIGN))
}

/// Arcsine.
#[inline(always)]
pub fn arcsin_f64(x: f64) -> f64 {
    let ax = x.abs();
    let small = ax <= 0.5;
    let z = sel(small, ax * ax, (1.0 - ax) * 0.5);
    let r = z * asin_r(z);
    let s = z.sqrt();
    // |x| > 1/2: pi/2 - 2 asin(s), with s = w + c split for extra precision
    let w = f64::from_bits(s.to_bits() & 0xffff_ffff_0000_0000);
    let c = (z - w * w) / (s + w);
    let p = 2.0 * s * r - (PIO2_LO - 2.0 * c);
    let q = PIO4_HI - 2.0 * w;
    let big = PIO4_HI - (p - q);
    let res = sel(small, ax + ax * r, big);
    let res = sel(ax == 1.0, PIO2_HI, res);
    with_sign_of(res, x)
}

/// Arccosine.
#[inline(always)]
pub fn arccos_f64(x: f64) -> f64 {
    let ax = x.abs();
    let small = ax <= 0.5;
    let z = sel(small, x * x, (1.0 - ax) * 0.5);
    let r = z * asin_r(z);
    let s = z.sqrt();
    let mid = PIO2_HI - (x - (PIO2_LO - x * r));
    // x > 1/2: 2 asin(s) with s = w + c
    let w = f64::from_bits(s.to_bits() & 0xffff_ffff_0000_0000);
    let c = (z - w * w) / (s + w);
    let pos = 2.0 * (w + (s * r + c));
    // x < -1/2: pi - 2 asin(s)
    let negv = PI - 2.0 * (s + (s * r - PIO2_LO));
    let res = sel(small, mid, sel(x > 0.0, pos, negv));
    sel(x == 1.0, 0.0, res)
}

/// Arctangent.
#[inline(always)]
pub fn arctan_f64(x: f64) -> f64 {
    with_sign_of(atan_core(x.abs(), 1.0, false), x)
}

/// Two-argument arctangent atan2(y, x) with C99 Annex F special cases.
#[inline(always)]
pub fn arctan2_f64(y: f64, x: f64) -> f64 {
    let (ay, ax) = (y.abs(), x.abs());
    // keep ay +- c*ax and ax + c*ay finite and exact: rescale huge/tiny pairs
    let m = sel(ay > ax, ay, ax);
    let sc = sel(m > 1e300, TWO_M100, sel(m < 1e-290, TWO_P100, 1.0));
    let (ay, ax) = (ay * sc, ax * sc);
    // inf/inf -> treat as 1/1 (pi/4 family); 0/0 -> 0/1 (0 or pi)
    let both_inf = ay == f64::INFINITY && ax == f64::INFINITY;
    let both_zero = ay == 0.0 && ax == 0.0;
    let ay = sel(both_inf, 1.0, ay);
    let ax = sel(both_inf || both_zero, 1.0, ax);
    let neg = x.to_bits() & SIGN != 0;
    with_sign_of(atan_core(ay, ax, neg), y)
}
const TWO_M100: f64 = 7.888_609_052_210_118e-31;
const TWO_P100: f64 = 1.267_650_600_228_229_4e30;

// ---------------------------------------------------------------- hyperbolic
/// Hyperbolic sine.
#[inline(always)]
pub fn sinh_f64(x: f64) -> f64 {
    let ax = x.abs();
    let z = ax * ax;
    let small = ax + ax * z * sinh_p(z);
    // ax >= 1: (e^ax - e^-ax)/2 = 2^(n-1) (p - 2^-2n / p)
    let a = sel(ax > 711.0, 711.0, ax);
    let (fnv, nb, p) = exp_parts(a);
    let inv = pow2(selu(
        fnv > 500.0,
        1000u64.wrapping_neg(),
        nb.wrapping_mul(2).wrapping_neg(),
    )) / p;
    let big = scale(p - inv, nb.wrapping_sub(1), fnv > 1.0);
    with_sign_of(sel(ax < 1.0, small, big), x)
}

/// Hyperbolic cosine.
#[inline(always)]
pub fn cosh_f64(x: f64) -> f64 {
    let ax = x.abs();
    let z = ax * ax;
    let small = 1.0 + (0.5 * z + z * z * cosh_p(z));
    let a = sel(ax > 711.0, 711.0, ax);
    let (fnv, nb, p) = exp_parts(a);
    let inv = pow2(selu(
        fnv > 500.0,
        1000u64.wrapping_neg(),
        nb.wrapping_mul(2).wrapping_neg(),
    )) / p;
    let big = scale(p + inv, nb.wrapping_sub(1), fnv > 1.0);
    sel(ax < 1.0, small, big)
}

/// Hyperbolic tangent.
#[inline(always)]
pub fn tanh_f64(x: f64) -> f64 {
    let ax = x.abs();
    let ax = sel(ax > 22.0, 22.0, ax);
    let small = ax < 0.55;
    // small: -E/(E+2) with E = expm1(-2ax); else 1 - 2/(E+2) with E = expm1(2ax);
    // E, E + 2 and the quotient are carried in double-double
    let (eh, el) = expm1_dd(sel(small, -2.0 * ax, 2.0 * ax));
    let (dh, dl) = two_sum(2.0, eh);
    let dl = dl + el;
    let (nh, nl) = (sel(small, -eh, 2.0), sel(small, -el, 0.0));
    let q = nh / dh;
    let (ph, pl) = two_prod(q, dh);
    let q = q + ((((nh - ph) - pl) + nl) - q * dl) / dh;
    with_sign_of(sel(small, q, 1.0 - q), x)
}

/// Inverse hyperbolic sine.
#[inline(always)]
pub fn arcsinh_f64(x: f64) -> f64 {
    let ax = x.abs();
    let huge = ax > 1e150;
    let z = ax * ax;
    // 1 + u = ax + sqrt(1 + ax^2)
    let u = ax + z / (1.0 + (1.0 + z).sqrt());
    let res = log1p_core(sel(huge, ax, u), 0.0) + sel(huge, LN_2, 0.0);
    let res = sel(ax == f64::INFINITY || ax.is_nan(), ax, res);
    with_sign_of(res, x)
}

/// Inverse hyperbolic cosine.
#[inline(always)]
pub fn arccosh_f64(x: f64) -> f64 {
    let huge = x > 1e150;
    let t = x - 1.0; // exact for x in [1, 2^53]
                     // 1 + u = x + sqrt(x^2 - 1) = 1 + t + sqrt(2t + t^2), u as double-double
    let (ah, al) = two_prod(t, t);
    let (ah, al2) = two_sum(2.0 * t, ah);
    let al = al + al2;
    let sq = ah.sqrt();
    let (ph, pl) = two_prod(sq, sq);
    let sql = ((ah - ph) - pl + al) / (2.0 * sq);
    let (uh, ul) = two_sum(t, sq);
    let ul = ul + sql;
    let big = huge || x == 1.0;
    let res = log1p_core(sel(big, x, uh), sel(big, 0.0, ul)) + sel(huge, LN_2, 0.0);
    let res = sel(x == 1.0, 0.0, res);
    let res = sel(x == f64::INFINITY, x, res);
    sel(x >= 1.0, res, f64::NAN)
}

/// Inverse hyperbolic tangent.
#[inline(always)]
pub fn arctanh_f64(x: f64) -> f64 {
    let ax = x.abs();
    let q = ax / (1.0 - ax);
    let t = 2.0 * ax;
    let u = sel(ax < 0.5, t + t * q, 2.0 * q);
    let res = 0.5 * log1p_core(u, 0.0);
    let res = sel(ax == 1.0, f64::INFINITY, res);
    let res = sel(ax > 1.0 || ax.is_nan(), f64::NAN, res);
    with_sign_of(res, x)
}

// ---------------------------------------------------------------------- pow
/// log2(ax) as a double-double (hi, lo), |error| < 2^-66 |hi| + tiny; ax finite > 0.
#[inline(always)]
fn log2_dd(ax: f64) -> (f64, f64) {
    let (k, m) = log_reduce(ax);
    let f = m - 1.0; // exact
                     // s = f / (1 + m) as double-double
    let ah = 1.0 + m;
    let al = m - (ah - 1.0);
    let sh = f / ah;
    let (ph, pl) = two_prod(sh, ah);
    let sl = (((f - ph) - pl) - sh * al) / ah;
    // log(m) = 2s + (2/3)s^3 + s^5 R(s^2)
    let (zh, zl) = two_prod(sh, sh);
    let zl = zl + 2.0 * sh * sl;
    let (ch, cl) = two_prod(zh, sh);
    let cl = cl + (zl * sh + zh * sl);
    let (th, tl) = two_prod(ch, 2.0 / 3.0);
    let tl = tl + (ch * TWO_THIRDS_LO + cl * (2.0 / 3.0));
    let z = sh * sh;
    let rest = ch * z * pow_log_tail(z);
    let (lh, ll) = two_sum(2.0 * sh, th);
    let ll = ll + (2.0 * sl + tl + rest);
    let (lh, ll) = two_sum(lh, ll);
    // times 1/ln2 (double-double), plus k
    let (vh, vl) = two_prod(lh, LOG2_E);
    let vl = vl + (lh * IVLN2_DD_LO + ll * LOG2_E);
    let w = k + vh;
    let vl = vl + ((k - w) + vh);
    two_sum(w, vl)
}

/// x^y for x >= 0 finite, y finite (the magnitude before special-case fixups).
#[inline(always)]
fn pow_core(ax: f64, y: f64) -> f64 {
    let (lh, ll) = log2_dd(ax);
    let (th, tl) = two_prod(y, lh);
    let tl = tl + y * ll;
    let clamp = th.abs() > 1100.0 || th.is_nan();
    let th = sel(clamp, sel(th > 0.0, 1100.0, -1100.0), th);
    let tl = sel(clamp, 0.0, tl);
    let (fnv, nb) = round_shift(th);
    let r = (th - fnv) + tl;
    scale(1.0 + r * exp2_p(r), nb, fnv > 0.0)
}

/// Special-value fixups of C99 Annex F for pow, given `mag` = |x|^y for finite
/// nonzero x and finite y.
#[inline(always)]
pub(crate) fn pow_special(x: f64, y: f64, mag: f64) -> f64 {
    let ax = x.abs();
    let ay = y.abs();
    let big = ay >= 4_503_599_627_370_496.0; // 2^52: every such y is an integer
    let yr = ay + 4_503_599_627_370_496.0;
    let is_int = big || (yr - 4_503_599_627_370_496.0) == ay;
    let parity = sel(big, ay, yr).to_bits() & 1;
    let odd = is_int && ay < 9_007_199_254_740_992.0 && parity == 1;
    let yneg = y < 0.0;
    // |x| = 1: the magnitude is exactly 1 (the core's double-double product
    // overflows for |y| near f64::MAX); sign and NaN are selected below.
    let mag = sel(ax == 1.0, 1.0, mag);
    // magnitude for the infinite/zero cases
    let mag = sel(ax == 0.0, sel(yneg, f64::INFINITY, 0.0), mag);
    let mag = sel(ax == f64::INFINITY, sel(yneg, 0.0, f64::INFINITY), mag);
    let yinf = ay == f64::INFINITY;
    let mag = sel(
        yinf,
        sel(ax == 1.0, 1.0, sel((ax < 1.0) == yneg, f64::INFINITY, 0.0)),
        mag,
    );
    let negx = x.to_bits() & SIGN != 0;
    let res = f64::from_bits(mag.to_bits() | selu(negx && odd, SIGN, 0));
    let res = sel(
        x < 0.0 && x > f64::NEG_INFINITY && !is_int && !yinf,
        f64::NAN,
        res,
    );
    let res = sel(x.is_nan() || y.is_nan(), f64::NAN, res);
    sel(y == 0.0 || x == 1.0, 1.0, res)
}

/// x^y (C99/NumPy special cases). Computed as exp2(y * log2|x|) in double-double.
#[inline(always)]
pub fn pow_f64(x: f64, y: f64) -> f64 {
    pow_special(x, y, pow_core(x.abs(), y))
}
