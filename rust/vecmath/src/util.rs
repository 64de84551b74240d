//! Branch-free building blocks shared by the f32 and f64 kernels.

/// `c ? a : b` on already computed values (f64 or f32); LLVM lowers it to a
/// `select` (a blend in vector code), never to a branch.
#[inline(always)]
pub(crate) fn sel<T>(c: bool, a: T, b: T) -> T {
    if c {
        a
    } else {
        b
    }
}

/// Integer `select`.
#[inline(always)]
pub(crate) fn selu(c: bool, a: u64, b: u64) -> u64 {
    if c {
        a
    } else {
        b
    }
}

/// Horner evaluation `c0 + x*(c1 + x*(c2 + ...))`, fully unrolled at compile time.
macro_rules! horner {
    ($x:expr; $c:expr) => { $c };
    ($x:expr; $c:expr, $($rest:expr),+) => { $c + $x * horner!($x; $($rest),+) };
}
pub(crate) use horner;

pub(crate) const SIGN: u64 = 0x8000_0000_0000_0000;
/// 1.5 * 2^52: `(v + SHIFT) - SHIFT` rounds `v` to the nearest integer (|v| < 2^51),
/// and the low mantissa bits of `v + SHIFT` hold that integer in two's complement.
pub(crate) const SHIFT: f64 = 6_755_399_441_055_744.0;
pub(crate) const TWO_P54: f64 = 18_014_398_509_481_984.0;
pub(crate) const TWO_P512: f64 = 1.340_780_792_994_259_7e154;
pub(crate) const TWO_M512: f64 = 7.458_340_731_200_207e-155;

/// Round to nearest integer: returns the integer as f64 and the raw bits of
/// `v + SHIFT` (low bits = the integer, two's complement).
#[inline(always)]
pub(crate) fn round_shift(v: f64) -> (f64, u64) {
    let t = v + SHIFT;
    (t - SHIFT, t.to_bits())
}

/// `p * 2^n` where `n` (two's complement, in the low 12 bits of `nbits`) lies in
/// [-1100, 1100] and `pos` is `n > 0`: two exact-range scalings so overflow
/// gives inf and underflow rounds once into the subnormals.
#[inline(always)]
pub(crate) fn scale(p: f64, nbits: u64, pos: bool) -> f64 {
    let c = selu(pos, 512, 512u64.wrapping_neg());
    let s1 = f64::from_bits(nbits.wrapping_sub(c).wrapping_add(1023) << 52);
    p * s1 * sel(pos, TWO_P512, TWO_M512)
}

/// 2^n for n (low 12 bits of `nbits`) in [-1022, 1023].
#[inline(always)]
pub(crate) fn pow2(nbits: u64) -> f64 {
    f64::from_bits(nbits.wrapping_add(1023) << 52)
}

/// Knuth's TwoSum: `a + b = s + e` exactly.
#[inline(always)]
pub(crate) fn two_sum(a: f64, b: f64) -> (f64, f64) {
    let s = a + b;
    let bb = s - a;
    (s, (a - (s - bb)) + (b - bb))
}

/// Dekker's split (no FMA needed): `a = hi + lo`, both with <= 26 bits.
#[inline(always)]
pub(crate) fn split(a: f64) -> (f64, f64) {
    let c = 134_217_729.0 * a;
    let hi = c - (c - a);
    (hi, a - hi)
}

/// Dekker's TwoProduct without FMA: `a * b = p + e` exactly (|a|, |b| < 2^996).
#[inline(always)]
pub(crate) fn two_prod(a: f64, b: f64) -> (f64, f64) {
    let p = a * b;
    let (ah, al) = split(a);
    let (bh, bl) = split(b);
    (p, ((ah * bh - p) + ah * bl + al * bh) + al * bl)
}

/// Exponent/mantissa split for logarithms: for finite `x > 0` (subnormals
/// included) returns `(k, m)` with `x = 2^k * m`, `m` in [sqrt(1/2), sqrt(2)).
/// Other inputs give garbage the callers select away.
#[inline(always)]
pub(crate) fn log_reduce(x: f64) -> (f64, f64) {
    let sub = x < f64::MIN_POSITIVE;
    let xs = sel(sub, x * TWO_P54, x);
    let hu = xs
        .to_bits()
        .wrapping_add(0x3ff0_0000_0000_0000 - 0x3fe6_a09e_667f_3bcd);
    let kb = hu >> 52;
    let k = f64::from_bits(kb | 0x4330_0000_0000_0000)
        - (4_503_599_627_370_496.0 + 1023.0)
        - sel(sub, 54.0, 0.0);
    let m = f64::from_bits((hu & 0x000f_ffff_ffff_ffff).wrapping_add(0x3fe6_a09e_667f_3bcd));
    (k, m)
}
