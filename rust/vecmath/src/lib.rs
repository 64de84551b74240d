//! numfuse-vecmath: branch-free, auto-vectorizable elementwise math for
//! `f32` and `f64`.
//!
//! Every function is `#[inline(always)]` and free of data-dependent control
//! flow: no early returns, no data-dependent loops, no calls into libm. Special
//! cases are blends (`if c { a } else { b }` on values already computed, which
//! LLVM lowers to `select`/blend), and exponent/mantissa work is done with
//! `to_bits`/`from_bits`. A plain loop `for i in 0..n { out[i] = exp_f32(x[i]) }`
//! inside a `#[target_feature(enable = "avx512f")]` (or `"avx2,fma"`) function
//! compiles to a zmm (ymm) loop with a branch-free body (checked by hand with
//! `examples/vectorize.rs` + `objdump`).
//!
//! **FMA**: not used. All polynomials are plain `a * b + c` (LLVM contracts
//! nothing, so results are identical with and without FMA hardware, and no
//! target falls back to a libm `fma` call). Where extra precision is needed
//! (pow, arccosh, tanh, the trig reduction) exact products come from Dekker's
//! split and sums from Knuth's TwoSum.
//!
//! **float32** is evaluated in f64 internally, except tanh: the widening is
//! exact (f32 subnormals become normal), the final `as f32` rounds once and
//! handles overflow to inf and gradual underflow. exp, log, sin, cos, tan and
//! pow have dedicated short kernels (~2^-32 relative error before the final
//! rounding); tanh has a kernel in f32 arithmetic (16 lanes per zmm, no
//! widening; its error analysis is at `tanh_f32`); the other f32 functions run
//! the f64 kernel on the widened argument (accurate, but about as slow as the
//! f64 version).
//!
//! Special values follow C99 Annex F / NumPy: NaN in gives NaN out, +-inf,
//! -0 preserved where C preserves it (sin, tan, tanh, sinh, expm1, log1p,
//! arcsin, arctan, arcsinh, arctanh of -0 are -0), log(0) = -inf,
//! log(x < 0) = NaN, exp overflow gives +inf and underflow goes through the
//! subnormals to +0; pow implements the full Annex F table (pow(x, +-0) = 1 and
//! pow(1, y) = 1 even for NaN, pow(-1, +-inf) = 1, pow(x < 0, non-integer) =
//! NaN, pow(-0, odd y < 0) = -inf, ...); arctan2 likewise.
//!
//! | function | algorithm | max ULP f32 (random 1M / exhaustive 2^32) | max ULP f64 (random 200k) |
//! | --- | --- | --- | --- |
//! | `exp` | Cody-Waite x = n ln2 + r (split ln2 + rounding-error term), minimax expm1(r), scale 2^n in two steps | 1 / 1 | 1.000 |
//! | `expm1` | same reduction; expm1(r) carried as double-double, 2^n (e^r - 1) + (2^n - 1) with TwoSum | 0 | 0.994 |
//! | `exp2` | n = round(x), minimax 2^r on \|r\| <= 1/2 | 0 | 1.112 |
//! | `log` | x = 2^k m, m in [sqrt(1/2), sqrt(2)), s = f/(2+f), minimax in s^2 (fdlibm structure) | 1 / 1 | 0.788 |
//! | `log1p` | u = 1 + x with the rounding error of u fed back as c/u, then the log kernel | 0 | 0.747 |
//! | `log2` | log kernel split into a 21-bit head + tail, times 1/ln2 in two parts, + k | 0 | 0.739 |
//! | `log10` | as log2 with 1/ln10 and log10(2) split | 0 | 0.698 |
//! | `sin`, `cos` | f64: 4x25-bit + tail Cody-Waite pi/2 reduction kept as double-double, minimax sin/cos kernels, quadrant by bit flips; f32: 28+28+53-bit Cody-Waite below 2^25, Payne-Hanek (five exact 24x24-bit products with 2/pi) above | 1 / 1 (sin, cos) | 1 / 1 (vs std) |
//! | `tan` | sin/cos kernels of the reduced argument, one division (-cos/sin in odd quadrants) | 1 | 2 (vs std) |
//! | `tanh` | f64: -E/(E+2), E = expm1(-2\|x\|) for \|x\| < 0.55, else 1 - 2/(E+2), E = expm1(2\|x\|), in double-double; f32 (in f32): \|x\| = k ln2/2 + r, t = r + r^3 P(r^2) for tanh(r), then the addition theorem ((2^k - 1) + (2^k + 1) t) / ((2^k + 1) + (2^k - 1) t), one division | 2 / 2 | 0.759 |
//! | `sinh` | \|x\| < 1: minimax odd polynomial; else 2^(n-1) (p - 2^-2n / p) from the exp parts | 0 | 1.536 |
//! | `cosh` | \|x\| < 1: minimax even polynomial; else 2^(n-1) (p + 2^-2n / p) | 0 | 1.384 |
//! | `arcsinh` | log1p(\|x\| + x^2/(1 + sqrt(1 + x^2))), log1p(\|x\|) + ln2 above 1e150 | 0 | 1.495 |
//! | `arccosh` | log1p(t + sqrt(2t + t^2)), t = x - 1, u in double-double; log1p(x) + ln2 above 1e150 | 0 | 0.767 |
//! | `arctanh` | 0.5 log1p(2x + 2x^2/(1-x)) (\|x\| < 1/2) or 0.5 log1p(2x/(1-x)) | 0 | 1.437 |
//! | `arcsin` | \|x\| <= 1/2: x + x^3 P/Q(x^2) (rational minimax); else pi/2 - 2 asin(sqrt((1-\|x\|)/2)) with the sqrt split head/tail | 0 | 1 (vs std) |
//! | `arccos` | same kernel: pi/2 - asin(x), 2 asin(s), pi - 2 asin(s) | 0 | 1 (vs std) |
//! | `arctan` | 5 ranges (breakpoints 7/16, 11/16, 19/16, 39/16): atan(c) + atan((x-c)/(1+cx)), degree-25 odd minimax | 0 | 1 (vs std) |
//! | `arctan2(y, x)` | the arctan kernel on (\|y\| - c\|x\|)/(\|x\| + c\|y\|) (no rounded y/x), pi - a for x < 0 from double-double constants, C99 special cases | 0 | 1 (vs std) |
//! | `pow(x, y)` | f64: log2\|x\| in double-double (2 atanh series, Dekker products), times y, exp2 of the double-double; f32: exp2(y log2\|x\|) in f64; shared Annex F fixups | 1 | 1.308 |
//!
//! How these were measured (tests in `tests/`; `--nocapture` prints them):
//! f32: 2^20 random inputs per function (log-uniform magnitudes, both signs,
//! plus a uniform band) against std's f64 function rounded to f32, as an
//! integer ULP distance; 0 means every result matched the rounded reference.
//! Exhaustive (all 2^32 inputs, `#[ignore]`d, run with `-- --ignored`) was run
//! for exp, log, sin, cos and tanh. f64: fractional ULP against double-double
//! references (exp, expm1, exp2, log, log1p, log2, log10, the hyperbolics and
//! their inverses, pow); the trigonometric functions and their inverses are
//! compared with std's f64 (glibc, itself < 1 ULP) as an integer distance,
//! with the bound loosened from 2 to 3 for the reference's own error.
//!
//! Targets: f32 exp, log, sin, cos <= 1 ULP (met, sin/cos over all finite
//! inputs); tanh, pow and other f32 <= 2 ULP (met: tanh 2 over all inputs,
//! the others <= 1 measured); f64 <= 2 ULP (met on the tested domains).
//!
//! **Known limitation**: float64 sin, cos and tan use a Cody-Waite reduction
//! only, exact for |x| <= 4.2e8; larger finite arguments return NaN (there is
//! no float64 Payne-Hanek reduction yet). float32 covers the whole range.

mod double;
mod single;
mod util;

pub use double::{
    arccos_f64, arccosh_f64, arcsin_f64, arcsinh_f64, arctan2_f64, arctan_f64, arctanh_f64,
    cos_f64, cosh_f64, exp2_f64, exp_f64, expm1_f64, log10_f64, log1p_f64, log2_f64, log_f64,
    pow_f64, sin_f64, sinh_f64, tan_f64, tanh_f64,
};
pub use single::{
    arccos_f32, arccosh_f32, arcsin_f32, arcsinh_f32, arctan2_f32, arctan_f32, arctanh_f32,
    cos_f32, cosh_f32, exp2_f32, exp_f32, expm1_f32, log10_f32, log1p_f32, log2_f32, log_f32,
    pow_f32, sin_f32, sinh_f32, tan_f32, tanh_f32,
};
