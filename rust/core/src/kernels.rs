//! Kernels: one generic loop per arity ([`map1`] ... [`map4`]), one
//! zero-sized type per operation ([`ops`]), and element traits that say what
//! each operation means for each element type. [`kernel_for`] instantiates
//! the loop for an opcode's signature and an [`Isa`]; nothing is written per
//! dtype or per ISA by hand.
//!
//! Per ISA, `instantiate!` makes a module of `#[target_feature]` wrappers
//! around the `#[inline(always)]` generic loops (so each wrapper is compiled,
//! and vectorized, for that ISA's vectors) and the opcode table over them.
//!
//! Element types as stored: bool is a byte ([`Bool`]: any nonzero byte reads
//! as true, bools are written as 0 or 1), then the Rust integer types of the
//! same names (`i8` ... `u64`), float16 as its bits ([`F16`]: copied and
//! converted only), `f32`, `f64`.
//!
//! exp, log, the trigonometric and hyperbolic functions and their inverses,
//! expm1, log1p, log2, log10, exp2, arctan2 and float pow are
//! `numfuse_vecmath`'s branch-free functions, which vectorize with the loop;
//! sqrt is the hardware instruction.

use crate::isa::Isa;
use crate::opcodes::{DType, Op, OpInfo};
use numfuse_vecmath as vm;

/// A pre-decoded instruction's work: `n` elements from the sources `a`, `b`,
/// `c`, `d` (null when unused) into `dst`, touching memory as `mode` says
/// (a hint, never a change of result). Returns 0, or a nonzero status for a
/// domain error (see [`STATUS_NEGATIVE_POWER`]).
///
/// # Safety
///
/// `dst` is valid for writes and each used source for reads of `n` elements
/// of the opcode's dtypes, all aligned; `dst` and a source are either
/// disjoint or start at the same address with the same element size. The CPU
/// runs the ISA the kernel was instantiated for ([`kernel_for`] is only asked
/// for available ones).
pub(crate) type Kernel = unsafe fn(
    n: usize,
    dst: *mut u8,
    a: *const u8,
    b: *const u8,
    c: *const u8,
    d: *const u8,
    mode: Mode,
) -> u32;

/// How a kernel treats memory.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    /// Plain loads and stores (operands in cache).
    Plain,
    /// Asks the cache for each operand's lines [`AHEAD`] elements in
    /// advance (arrays larger than the caches), and for one line of `next`
    /// per chunk (see [`prefetch_next`]).
    Ahead {
        /// Where the next block of an array another instruction reads
        /// starts (null: none).
        next: *const u8,
    },
    /// As `Ahead` for the sources and `next`, and writes `dst` with
    /// non-temporal stores where it is 16-byte aligned (x86_64): its lines
    /// go to memory without first being read into the cache, a third of the
    /// traffic of a large output that nothing reads back soon.
    Stream {
        /// As `Ahead`'s.
        next: *const u8,
    },
}

impl Mode {
    /// Whether the loop prefetches the sources.
    #[inline(always)]
    fn ahead(self) -> bool {
        self != Mode::Plain
    }

    /// What the loop prefetches besides its operands (null: nothing).
    #[inline(always)]
    fn next(self) -> *const u8 {
        match self {
            Mode::Plain => std::ptr::null(),
            Mode::Ahead { next } | Mode::Stream { next } => next,
        }
    }
}

/// Writes `n` copies of a pool or scalar value (its 8 raw little-endian
/// bytes) into a register buffer.
///
/// # Safety
///
/// `dst` is valid for writes of `n` aligned elements of the register's dtype.
pub(crate) type Fill = unsafe fn(dst: *mut u8, n: usize, raw: [u8; 8]);

/// Kernel status bit: an integer was raised to a negative integer power.
pub(crate) const STATUS_NEGATIVE_POWER: u32 = 1;

/// Elements per step of the vectorized loops: a chunk is read whole into
/// locals before any of it is written, which is what makes an exactly
/// aliased `dst` safe without telling LLVM the pointers may overlap. A chunk
/// is computed by a plain loop, not `std::array::from_fn`, which LLVM does
/// not always inline and would then compile without the ISA's features.
const CHUNK: usize = 16;

/// How many elements ahead of the chunk at hand the loops ask the cache for
/// their operands when told to (measured: the hardware's own prefetch
/// leaves the loops waiting on memory, `exp` over 2^24 float32 3× and
/// `tanh` 1.5× slower without it). x86_64 only: elsewhere the loops leave
/// prefetching to the hardware.
#[cfg(target_arch = "x86_64")]
const AHEAD: usize = 256;

/// Asks the cache for the line of `p`'s element `i + AHEAD`, to read it
/// (`write`: to write it), into every level.
#[inline(always)]
fn prefetch<T>(p: *const T, i: usize, write: bool) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_ET0, _MM_HINT_T0};
        let at = p.wrapping_add(i + AHEAD).cast();
        if write {
            prefetch_line::<_MM_HINT_ET0>(at);
        } else {
            prefetch_line::<_MM_HINT_T0>(at);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (p, i, write);
}

/// For the chunk at element `i`, asks the cache for line `i / CHUNK` from
/// `next`, to read it, into L2 and L3 but not L1: over a block, a kernel
/// thus fetches the next block of an array that another instruction of its
/// program reads (`BLOCK / CHUNK` lines, all of it at 4 bytes per element) while it
/// computes, where the reading instruction would otherwise wait for memory.
/// (Into L1 too, it evicted the block's own registers: fused Adam at 2^24
/// float32 took 18.3–19.3 ms against 16.4–16.9 ms into L2.) Nothing if
/// `next` is null.
#[inline(always)]
fn prefetch_next(next: *const u8, i: usize) {
    #[cfg(target_arch = "x86_64")]
    if !next.is_null() {
        use std::arch::x86_64::_MM_HINT_T1;
        prefetch_line::<_MM_HINT_T1>(next.wrapping_add(i / CHUNK * LINE).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (next, i);
}

/// A cache line's bytes.
#[cfg(target_arch = "x86_64")]
const LINE: usize = 64;

/// Asks the cache for the line at `at` with `_mm_prefetch`'s `HINT`
/// (`_MM_HINT_T0`, `_MM_HINT_T1` or `_MM_HINT_ET0`). A hint only: no
/// address faults, in or out of an array, and it changes no result.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn prefetch_line<const HINT: i32>(at: *const i8) {
    // SAFETY: PREFETCHT0/T1 (SSE, in every x86-64) and PREFETCHW (a NOP
    // where the CPU lacks it) read and write nothing and never fault,
    // whatever the address.
    unsafe { std::arch::x86_64::_mm_prefetch::<HINT>(at) };
}

/// Whether a kernel's chunks go to `dst` with non-temporal stores: in
/// `Mode::Stream`, on x86_64, where `dst` is 16-byte aligned (every chunk is
/// then, being a multiple of 16 bytes from it).
#[inline(always)]
fn streams<R>(mode: Mode, dst: *const R) -> bool {
    cfg!(target_arch = "x86_64") && matches!(mode, Mode::Stream { .. }) && (dst as usize) % 16 == 0
}

/// Writes a chunk of results at `dst`: with non-temporal stores when
/// `stream` (see [`streams`]), else as a plain store.
///
/// # Safety
///
/// `dst` is valid for writes of `CHUNK` elements and aligned for `R`, and
/// 16-byte aligned when `stream`.
#[inline(always)]
unsafe fn store_chunk<R: Elem>(dst: *mut R, r: [R; CHUNK], stream: bool) {
    #[cfg(target_arch = "x86_64")]
    if stream {
        use std::arch::x86_64::{__m128i, _mm_loadu_si128, _mm_stream_si128};
        let (from, to) = (r.as_ptr().cast::<u8>(), dst.cast::<u8>());
        // CHUNK (16) elements of 1, 2, 4 or 8 bytes: whole 16-byte lanes.
        for lane in 0..CHUNK * std::mem::size_of::<R>() / 16 {
            // SAFETY: MOVNTDQ (SSE2, in every x86_64 CPU) to a 16-byte
            // aligned lane inside the chunk `dst` is valid for; the load
            // reads the local chunk.
            unsafe {
                let value = _mm_loadu_si128(from.add(16 * lane).cast::<__m128i>());
                _mm_stream_si128(to.add(16 * lane).cast::<__m128i>(), value);
            }
        }
        return;
    }
    let _ = stream;
    // SAFETY: as this function's contract; [R; CHUNK] has R's alignment.
    unsafe { dst.cast::<[R; CHUNK]>().write(r) };
}

/// Orders this thread's non-temporal stores before its later stores, so
/// that a run's streamed output is all in memory before the run says it is
/// done (x86_64; elsewhere there are none).
#[inline(always)]
pub(crate) fn store_fence() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SFENCE (SSE, in every x86_64 CPU) only orders stores.
    unsafe {
        std::arch::x86_64::_mm_sfence();
    }
}

/// A value on its way through a conversion: what C would promote it to.
#[derive(Clone, Copy)]
pub(crate) enum Num {
    Int(i64),
    UInt(u64),
    Float(f64),
}

/// A bool as stored: one byte, any nonzero byte reads as true, written as 0
/// or 1. A type of its own, so that `uint8` can be `u8`.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub(crate) struct Bool(u8);

impl Bool {
    #[inline(always)]
    fn of(b: bool) -> Bool {
        Bool(u8::from(b))
    }
    #[inline(always)]
    fn get(self) -> bool {
        self.0 != 0
    }
}

/// An element type as stored in a register.
pub(crate) trait Elem: Copy + 'static {
    /// Zero (false), to initialise a chunk before it is computed.
    const ZERO: Self;
    /// The value as an integer (bool and ints) or a float.
    fn to_num(self) -> Num;
    /// The conversion of `cast`: ints wrap, floats round to nearest, floats to
    /// ints truncate as x86 NumPy does (see [`f_to_i64`]), anything to bool
    /// is `!= 0`.
    fn from_num(v: Num) -> Self;
    /// The canonical form: bools become 0 or 1, numbers are unchanged.
    fn canon(self) -> Self;
    /// A pool entry or scalar: float registers read the bytes as `f64`,
    /// integer and bool registers as `i64`, then convert as [`Elem::from_num`].
    fn from_raw(raw: [u8; 8]) -> Self;
}

impl Elem for Bool {
    const ZERO: Bool = Bool(0);
    #[inline(always)]
    fn to_num(self) -> Num {
        Num::Int(i64::from(self.get()))
    }
    #[inline(always)]
    fn from_num(v: Num) -> Bool {
        match v {
            Num::Int(i) => Bool::of(i != 0),
            Num::UInt(u) => Bool::of(u != 0),
            Num::Float(f) => Bool::of(f != 0.0),
        }
    }
    #[inline(always)]
    fn canon(self) -> Bool {
        Bool::of(self.get())
    }
    fn from_raw(raw: [u8; 8]) -> Bool {
        Bool::from_num(Num::Int(i64::from_le_bytes(raw)))
    }
}

/// A float16 as stored: its IEEE binary16 bits. The VM only copies and
/// converts it; the compiler computes float16 operations in float32 and
/// rounds each result back, as NumPy does.
#[derive(Clone, Copy)]
#[repr(transparent)]
pub(crate) struct F16(u16);

impl F16 {
    /// The exact value, as `f64`.
    #[inline(always)]
    pub(crate) fn to_f64(self) -> f64 {
        let (sign, exp, man) = (self.0 >> 15, (self.0 >> 10) & 0x1f, self.0 & 0x3ff);
        let magnitude = match exp {
            // Subnormal: man * 2^-24.
            0 => f64::from(man) * (1.0 / 16777216.0),
            0x1f if man == 0 => f64::INFINITY,
            0x1f => f64::NAN,
            // (1024 + man) * 2^(exp - 25), built from the exponent's bits.
            _ => f64::from(1024 + man) * f64::from_bits(((exp as u64) + 1023 - 25) << 52),
        };
        if sign == 1 {
            -magnitude
        } else {
            magnitude
        }
    }

    /// `x` rounded to the nearest float16, ties to even; overflow gives
    /// infinity, NaN stays NaN (quiet, sign kept).
    #[inline(always)]
    pub(crate) fn from_f64(x: f64) -> F16 {
        let sign = ((x.to_bits() >> 48) & 0x8000) as u16;
        let a = x.abs();
        if a.is_nan() {
            return F16(sign | 0x7e00);
        }
        // 65520 is halfway between the largest float16, 65504, and 2^16: it
        // and everything above round to infinity.
        if a >= 65520.0 {
            return F16(sign | 0x7c00);
        }
        // The spacing of float16 values around `a`: 2^-24 below 2^-14
        // (subnormals), else 2^(e - 10) for a in [2^e, 2^(e+1)).
        let e = ((a.to_bits() >> 52) as i32 - 1023).max(-14);
        let ulp = f64::from_bits(((e - 10 + 1023) as u64) << 52);
        // a / ulp is exact (a power of two apart); round it half to even.
        let q = a / ulp;
        let mut r = q.floor();
        let d = q - r;
        if d > 0.5 || (d == 0.5 && r % 2.0 != 0.0) {
            r += 1.0;
        }
        // r * ulp is exact and at most 65504; its bits are the float16's:
        // r counts ulps from 0 in the binade of 2^e (r in [1024, 2048]) or
        // below 2^-14 (r in [0, 1024]).
        let bits = if e == -14 && r < 1024.0 {
            r as u16
        } else {
            // r == 2048 carries into the next binade, which the sum does.
            ((e + 15) as u16) * 1024 + (r as u16 - 1024)
        };
        F16(sign | bits)
    }

    /// NumPy's `npy_half_nextafter`: the neighbour of `self` toward `b`,
    /// stepping the bits; NaN if either is NaN, `self` if they are equal
    /// (so -0.0 toward 0.0 stays -0.0, unlike C's `nextafter`).
    #[inline(always)]
    pub(crate) fn next_after(self, b: F16) -> F16 {
        let (x, y) = (self.0, b.0);
        let nan = |h: u16| h & 0x7c00 == 0x7c00 && h & 0x03ff != 0;
        if nan(x) || nan(y) {
            F16(0x7e00)
        } else if x == y || (x | y) & 0x7fff == 0 {
            self
        } else if x & 0x7fff == 0 {
            // The smallest subnormal, with y's sign.
            F16((y & 0x8000) + 1)
        } else if x & 0x8000 == 0 {
            // x > 0: as i16 the bits order as the values (a negative y is below).
            F16(if (x as i16) > (y as i16) {
                x - 1
            } else {
                x + 1
            })
        } else if y & 0x8000 == 0 || (x & 0x7fff) > (y & 0x7fff) {
            // x < 0 and y > x.
            F16(x - 1)
        } else {
            F16(x + 1)
        }
    }
}

impl Elem for F16 {
    const ZERO: F16 = F16(0);
    #[inline(always)]
    fn to_num(self) -> Num {
        Num::Float(self.to_f64())
    }
    #[inline(always)]
    fn from_num(v: Num) -> F16 {
        match v {
            Num::Int(i) => F16::from_f64(i as f64),
            Num::UInt(u) => F16::from_f64(u as f64),
            Num::Float(f) => F16::from_f64(f),
        }
    }
    #[inline(always)]
    fn canon(self) -> F16 {
        self
    }
    fn from_raw(raw: [u8; 8]) -> F16 {
        F16::from_num(Num::Float(f64::from_le_bytes(raw)))
    }
}

/// A float truncated to `i32` as x86's `cvttsd2si` does: NaN and out of
/// range give `i32::MIN`. NumPy converts to the narrower ints through it.
#[inline(always)]
fn f_to_i32(f: f64) -> i32 {
    // i32::MIN and its negation are powers of two, exact in f64.
    if (-2147483648.0..2147483648.0).contains(&f) {
        f as i32
    } else {
        i32::MIN
    }
}

/// A float truncated to `i64` as x86's `cvttsd2si` does: NaN and out of
/// range give `i64::MIN`.
#[inline(always)]
fn f_to_i64(f: f64) -> i64 {
    if (-9223372036854775808.0..9223372036854775808.0).contains(&f) {
        f as i64
    } else {
        i64::MIN
    }
}

/// A float truncated to `u64` as C compilers do on x86: through `i64`, with
/// 2^63 subtracted first from values at or above it.
#[inline(always)]
fn f_to_u64(f: f64) -> u64 {
    const TWO_63: f64 = 9223372036854775808.0;
    if f >= TWO_63 {
        (f_to_i64(f - TWO_63) as u64) ^ (1 << 63)
    } else {
        f_to_i64(f) as u64
    }
}

/// Arithmetic shared by integers and floats.
pub(crate) trait Arith: Elem {
    fn plus(self, b: Self) -> Self;
    fn minus(self, b: Self) -> Self;
    fn times(self, b: Self) -> Self;
    fn negated(self) -> Self;
    fn magnitude(self) -> Self;
    /// NumPy's `%`: the remainder has the sign of the divisor.
    fn floor_mod(self, b: Self) -> Self;
    /// NumPy's `//`: integers floor (`x // 0` is 0, `MIN // -1` wraps to
    /// MIN), floats as `npy_floor_divide`.
    fn floor_div(self, b: Self) -> Self;
    fn power(self, b: Self) -> Self;
    /// The status of `self ** b`: nonzero when it is a domain error.
    fn power_status(b: Self) -> u32;
    /// -1, 0 or 1 (floats: NaN stays NaN, -0 gives +0, as NumPy).
    fn sign(self) -> Self;
    /// C's fmod: the remainder has the sign of `self`; integer `x fmod 0` is 0.
    fn trunc_rem(self, b: Self) -> Self;
    /// NumPy's maximum and minimum: `self` when it is NaN or wins (ties
    /// included), else `b`; so a NaN of either operand propagates.
    fn maximum(self, b: Self) -> Self;
    fn minimum(self, b: Self) -> Self;
    /// NumPy's clip: max then min, each `NaN ? NaN : (a > b ? a : b)`.
    fn clip(self, lo: Self, hi: Self) -> Self;
    fn is_nan(self) -> bool;
    fn is_finite(self) -> bool;
    fn is_inf(self) -> bool;
    fn sign_bit(self) -> bool;
}

/// Integer-only operations, all defined for every operand (no UB, no panic).
pub(crate) trait Int: Arith {
    /// `self << b`, 0 when `b` read as unsigned is at least the bit width.
    fn shl(self, b: Self) -> Self;
    /// `self >> b` (arithmetic for signed types); when `b` read as unsigned
    /// is at least the bit width: -1 for a negative `self`, else 0.
    fn shr(self, b: Self) -> Self;
    fn bit_and(self, b: Self) -> Self;
    fn bit_or(self, b: Self) -> Self;
    fn bit_xor(self, b: Self) -> Self;
    fn bit_not(self) -> Self;
    /// NumPy's integer reciprocal: `1 / self` truncated, and 0 gives the
    /// conversion of infinity to the type (as `(T)(1.0 / 0)` does in NumPy).
    fn recip(self) -> Self;
}

/// Float-only functions.
pub(crate) trait Float: Arith {
    fn quot(self, b: Self) -> Self;
    fn sqrt(self) -> Self;
    fn exp(self) -> Self;
    fn ln(self) -> Self;
    fn sin(self) -> Self;
    fn cos(self) -> Self;
    fn tanh(self) -> Self;
    fn tan(self) -> Self;
    fn arcsin(self) -> Self;
    fn arccos(self) -> Self;
    fn arctan(self) -> Self;
    fn sinh(self) -> Self;
    fn cosh(self) -> Self;
    fn arcsinh(self) -> Self;
    fn arccosh(self) -> Self;
    fn arctanh(self) -> Self;
    fn expm1(self) -> Self;
    fn log1p(self) -> Self;
    fn log2(self) -> Self;
    fn log10(self) -> Self;
    fn exp2(self) -> Self;
    fn arctan2(self, x: Self) -> Self;
    fn ceil(self) -> Self;
    fn floor(self) -> Self;
    fn trunc(self) -> Self;
    /// Round half to even.
    fn rint(self) -> Self;
    fn copy_sign(self, b: Self) -> Self;
    fn hypot(self, b: Self) -> Self;
    /// `self * b + c` rounded once.
    fn fused(self, b: Self, c: Self) -> Self;
    /// The next representable value after `self` toward `b` (C's nextafter).
    fn next_after(self, b: Self) -> Self;
    /// std's sin, cos and tan, exact at any magnitude (slow, not vectorized).
    fn sin_exact(self) -> Self;
    fn cos_exact(self) -> Self;
    fn tan_exact(self) -> Self;
    /// Recomputes with `exact` the lanes of `r` (vector sin, cos or tan of `x`)
    /// where the vector function gave up: f64 `|x| > 4.2e8`, for which
    /// vecmath returns NaN although `x` is finite. A no-op for f32, which
    /// vecmath covers whole.
    fn fix_trig(x: &[Self], r: &mut [Self], exact: impl Fn(Self) -> Self);
}

/// What comparisons compare: bools as `bool` (any nonzero byte is true),
/// numbers as themselves.
pub(crate) trait Ordered: Elem {
    type Key: PartialOrd;
    fn key(self) -> Self::Key;
}

impl Ordered for Bool {
    type Key = bool;
    #[inline(always)]
    fn key(self) -> bool {
        self.get()
    }
}

/// The methods of [`Arith`] that differ between signed and unsigned integers.
macro_rules! int_sign {
    (signed, $t:ty) => {
        #[inline(always)]
        fn negated(self) -> $t {
            self.wrapping_neg()
        }
        #[inline(always)]
        fn magnitude(self) -> $t {
            self.wrapping_abs()
        }
        #[inline(always)]
        fn sign(self) -> $t {
            self.signum()
        }
        #[inline(always)]
        fn sign_bit(self) -> bool {
            self < 0
        }
    };
    (unsigned, $t:ty) => {
        #[inline(always)]
        fn negated(self) -> $t {
            self.wrapping_neg()
        }
        #[inline(always)]
        fn magnitude(self) -> $t {
            self
        }
        #[inline(always)]
        fn sign(self) -> $t {
            <$t>::from(self != 0)
        }
        #[inline(always)]
        fn sign_bit(self) -> bool {
            false
        }
    };
}

/// Integer element types: `$to_num` converts a value to [`Num`], `$from_f`
/// truncates a float as x86 NumPy does.
macro_rules! int_elem {
    ($($t:ty: $sign:ident, |$x:ident| $to_num:expr, |$f:ident| $from_f:expr;)*) => {$(
        impl Elem for $t {
            const ZERO: $t = 0;
            #[inline(always)]
            fn to_num(self) -> Num {
                let $x = self;
                $to_num
            }
            #[inline(always)]
            fn from_num(v: Num) -> $t {
                match v {
                    Num::Int(i) => i as $t,
                    Num::UInt(u) => u as $t,
                    Num::Float($f) => $from_f,
                }
            }
            #[inline(always)]
            fn canon(self) -> $t {
                self
            }
            fn from_raw(raw: [u8; 8]) -> $t {
                <$t>::from_num(Num::Int(i64::from_le_bytes(raw)))
            }
        }

        impl Arith for $t {
            int_sign!($sign, $t);
            #[inline(always)]
            fn plus(self, b: $t) -> $t {
                self.wrapping_add(b)
            }
            #[inline(always)]
            fn minus(self, b: $t) -> $t {
                self.wrapping_sub(b)
            }
            #[inline(always)]
            fn times(self, b: $t) -> $t {
                self.wrapping_mul(b)
            }
            #[inline(always)]
            fn floor_mod(self, b: $t) -> $t {
                if b == 0 {
                    return 0;
                }
                // wrapping_rem: MIN % -1 is 0 instead of an overflow.
                let r = self.wrapping_rem(b);
                if r != 0 && (r.sign_bit() != b.sign_bit()) {
                    r.wrapping_add(b)
                } else {
                    r
                }
            }
            #[inline(always)]
            fn floor_div(self, b: $t) -> $t {
                if b == 0 {
                    return 0;
                }
                // wrapping_div: MIN // -1 is MIN instead of an overflow.
                let q = self.wrapping_div(b);
                if self.wrapping_rem(b) != 0 && (self.sign_bit() != b.sign_bit()) {
                    q.wrapping_sub(1)
                } else {
                    q
                }
            }
            #[inline(always)]
            fn power(self, b: $t) -> $t {
                let (mut base, mut e, mut acc): ($t, $t, $t) = (self, b, 1);
                while e > 0 {
                    if e & 1 == 1 {
                        acc = acc.wrapping_mul(base);
                    }
                    base = base.wrapping_mul(base);
                    e >>= 1;
                }
                acc
            }
            #[inline(always)]
            fn power_status(b: $t) -> u32 {
                u32::from(b.sign_bit()) * STATUS_NEGATIVE_POWER
            }
            #[inline(always)]
            fn trunc_rem(self, b: $t) -> $t {
                // wrapping_rem: MIN % -1 is 0 instead of an overflow.
                if b == 0 {
                    0
                } else {
                    self.wrapping_rem(b)
                }
            }
            #[inline(always)]
            fn maximum(self, b: $t) -> $t {
                if self >= b {
                    self
                } else {
                    b
                }
            }
            #[inline(always)]
            fn minimum(self, b: $t) -> $t {
                if self <= b {
                    self
                } else {
                    b
                }
            }
            #[inline(always)]
            fn clip(self, lo: $t, hi: $t) -> $t {
                let t = if self > lo { self } else { lo };
                if t < hi {
                    t
                } else {
                    hi
                }
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                false
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                true
            }
            #[inline(always)]
            fn is_inf(self) -> bool {
                false
            }
        }

        impl Int for $t {
            #[inline(always)]
            fn shl(self, b: $t) -> $t {
                // The count as unsigned (sign-extended first): negative counts are huge.
                let count = b as i64 as u64;
                if count < u64::from(<$t>::BITS) {
                    self << count
                } else {
                    0
                }
            }
            #[inline(always)]
            fn shr(self, b: $t) -> $t {
                let count = b as i64 as u64;
                if count < u64::from(<$t>::BITS) {
                    self >> count
                } else if self.sign_bit() {
                    !0
                } else {
                    0
                }
            }
            #[inline(always)]
            fn bit_and(self, b: $t) -> $t {
                self & b
            }
            #[inline(always)]
            fn bit_or(self, b: $t) -> $t {
                self | b
            }
            #[inline(always)]
            fn bit_xor(self, b: $t) -> $t {
                self ^ b
            }
            #[inline(always)]
            fn bit_not(self) -> $t {
                !self
            }
            #[inline(always)]
            fn recip(self) -> $t {
                if self == 0 {
                    <$t>::from_num(Num::Float(f64::INFINITY))
                } else if self == 1 || (self.sign_bit() && self.wrapping_add(1) == 0) {
                    self
                } else {
                    0
                }
            }
        }

        impl Ordered for $t {
            type Key = $t;
            #[inline(always)]
            fn key(self) -> $t {
                self
            }
        }
    )*};
}

/// `Float` methods that are vecmath's function of the same name.
macro_rules! vm_unary {
    ($t:ty, $vm:ident: $($f:ident),*) => {$(
        #[inline(always)]
        fn $f(self) -> $t {
            $vm::$f(self)
        }
    )*};
}

macro_rules! float_elem {
    ($($t:ty: $vm:ident),*) => {$(
        impl Elem for $t {
            const ZERO: $t = 0.0;
            #[inline(always)]
            fn to_num(self) -> Num {
                Num::Float(f64::from(self))
            }
            #[inline(always)]
            fn from_num(v: Num) -> $t {
                match v {
                    Num::Int(i) => i as $t,
                    Num::UInt(u) => u as $t,
                    Num::Float(f) => f as $t,
                }
            }
            #[inline(always)]
            fn canon(self) -> $t {
                self
            }
            fn from_raw(raw: [u8; 8]) -> $t {
                <$t>::from_num(Num::Float(f64::from_le_bytes(raw)))
            }
        }

        impl Arith for $t {
            #[inline(always)]
            fn plus(self, b: $t) -> $t {
                self + b
            }
            #[inline(always)]
            fn minus(self, b: $t) -> $t {
                self - b
            }
            #[inline(always)]
            fn times(self, b: $t) -> $t {
                self * b
            }
            #[inline(always)]
            fn negated(self) -> $t {
                -self
            }
            #[inline(always)]
            fn magnitude(self) -> $t {
                self.abs()
            }
            #[inline(always)]
            fn floor_mod(self, b: $t) -> $t {
                // NumPy's npy_divmod remainder; `%` is C's fmod (NaN for b == 0).
                let r = self % b;
                if r != 0.0 {
                    if (b < 0.0) != (r < 0.0) {
                        r + b
                    } else {
                        r
                    }
                } else {
                    <$t>::copysign(0.0, b)
                }
            }
            #[inline(always)]
            fn floor_div(self, b: $t) -> $t {
                // NumPy's npy_floor_divide and npy_divmod, step by step.
                if b == 0.0 {
                    return self / b;
                }
                let m = self % b;
                let mut div = (self - m) / b;
                if m != 0.0 && ((b < 0.0) != (m < 0.0)) {
                    div -= 1.0;
                }
                if div != 0.0 {
                    let f = div.floor();
                    if div - f > 0.5 {
                        f + 1.0
                    } else {
                        f
                    }
                } else {
                    <$t>::copysign(0.0, self / b)
                }
            }
            #[inline(always)]
            fn power(self, b: $t) -> $t {
                $vm::pow(self, b)
            }
            #[inline(always)]
            fn power_status(_: $t) -> u32 {
                0
            }
            #[inline(always)]
            fn sign(self) -> $t {
                if self > 0.0 {
                    1.0
                } else if self < 0.0 {
                    -1.0
                } else if self == 0.0 {
                    0.0
                } else {
                    self
                }
            }
            #[inline(always)]
            fn trunc_rem(self, b: $t) -> $t {
                self % b
            }
            #[inline(always)]
            fn maximum(self, b: $t) -> $t {
                if self >= b || self.is_nan() {
                    self
                } else {
                    b
                }
            }
            #[inline(always)]
            fn minimum(self, b: $t) -> $t {
                if self <= b || self.is_nan() {
                    self
                } else {
                    b
                }
            }
            #[inline(always)]
            fn clip(self, lo: $t, hi: $t) -> $t {
                let t = if self.is_nan() || self > lo { self } else { lo };
                if t.is_nan() || t < hi {
                    t
                } else {
                    hi
                }
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                <$t>::is_nan(self)
            }
            #[inline(always)]
            fn is_finite(self) -> bool {
                <$t>::is_finite(self)
            }
            #[inline(always)]
            fn is_inf(self) -> bool {
                <$t>::is_infinite(self)
            }
            #[inline(always)]
            fn sign_bit(self) -> bool {
                self.is_sign_negative()
            }
        }

        impl Float for $t {
            #[inline(always)]
            fn quot(self, b: $t) -> $t {
                self / b
            }
            #[inline(always)]
            fn sqrt(self) -> $t {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn exp(self) -> $t {
                $vm::exp(self)
            }
            #[inline(always)]
            fn ln(self) -> $t {
                $vm::log(self)
            }
            #[inline(always)]
            fn sin(self) -> $t {
                $vm::sin(self)
            }
            #[inline(always)]
            fn cos(self) -> $t {
                $vm::cos(self)
            }
            #[inline(always)]
            fn tanh(self) -> $t {
                $vm::tanh(self)
            }
            #[inline(always)]
            fn arctan2(self, x: $t) -> $t {
                $vm::arctan2(self, x)
            }
            vm_unary!($t, $vm: tan, arcsin, arccos, arctan, sinh, cosh, arcsinh, arccosh,
                arctanh, expm1, log1p, log2, log10, exp2);
            #[inline(always)]
            fn ceil(self) -> $t {
                <$t>::ceil(self)
            }
            #[inline(always)]
            fn floor(self) -> $t {
                <$t>::floor(self)
            }
            #[inline(always)]
            fn trunc(self) -> $t {
                <$t>::trunc(self)
            }
            #[inline(always)]
            fn rint(self) -> $t {
                // 2^52 (f64) or 2^23 (f32): adding it rounds |x| to an integer,
                // ties to even (round_ties_even is newer than the MSRV). Larger
                // magnitudes, inf and NaN are already integral or pass through.
                let big = 1.0 / <$t>::EPSILON;
                let m = self.abs();
                if m < big {
                    ((m + big) - big).copysign(self)
                } else {
                    self
                }
            }
            #[inline(always)]
            fn copy_sign(self, b: $t) -> $t {
                <$t>::copysign(self, b)
            }
            #[inline(always)]
            fn hypot(self, b: $t) -> $t {
                <$t>::hypot(self, b)
            }
            #[inline(always)]
            fn fused(self, b: $t, c: $t) -> $t {
                <$t>::mul_add(self, b, c)
            }
            #[inline(always)]
            fn next_after(self, b: $t) -> $t {
                if self.is_nan() || b.is_nan() {
                    self + b
                } else if self == b {
                    b
                } else if self == 0.0 {
                    <$t>::from_bits(1).copysign(b)
                } else {
                    let bits = self.to_bits();
                    let away = (b > self) == (self > 0.0);
                    <$t>::from_bits(if away { bits + 1 } else { bits - 1 })
                }
            }
            fn tan_exact(self) -> $t {
                <$t>::tan(self)
            }
            fn sin_exact(self) -> $t {
                <$t>::sin(self)
            }
            fn cos_exact(self) -> $t {
                <$t>::cos(self)
            }
            #[inline(always)]
            fn fix_trig(x: &[$t], r: &mut [$t], exact: impl Fn($t) -> $t) {
                if $vm::TRIG_CAN_GIVE_UP {
                    let gave_up = |x: $t, r: $t| r.is_nan() & x.is_finite();
                    // An OR over the chunk (no early exit) stays vectorized.
                    let any = x.iter().zip(r.iter()).fold(false, |any, (&x, &r)| any | gave_up(x, r));
                    if any {
                        for (&x, r) in x.iter().zip(r.iter_mut()) {
                            if gave_up(x, *r) {
                                *r = exact(x);
                            }
                        }
                    }
                }
            }
        }

        impl Ordered for $t {
            type Key = $t;
            #[inline(always)]
            fn key(self) -> $t {
                self
            }
        }
    )*};
}

int_elem! {
    i8: signed, |x| Num::Int(i64::from(x)), |f| f_to_i32(f) as i8;
    u8: unsigned, |x| Num::Int(i64::from(x)), |f| f_to_i32(f) as u8;
    i16: signed, |x| Num::Int(i64::from(x)), |f| f_to_i32(f) as i16;
    u16: unsigned, |x| Num::Int(i64::from(x)), |f| f_to_i32(f) as u16;
    i32: signed, |x| Num::Int(i64::from(x)), |f| f_to_i32(f);
    u32: unsigned, |x| Num::Int(i64::from(x)), |f| f_to_i64(f) as u32;
    i64: signed, |x| Num::Int(x), |f| f_to_i64(f);
    u64: unsigned, |x| Num::UInt(x), |f| f_to_u64(f);
}
/// vecmath's functions per float type, under one set of names for `float_elem!`.
mod vm32 {
    pub(super) use super::vm::{
        arccos_f32 as arccos, arccosh_f32 as arccosh, arcsin_f32 as arcsin, arcsinh_f32 as arcsinh,
        arctan2_f32 as arctan2, arctan_f32 as arctan, arctanh_f32 as arctanh, cos_f32 as cos,
        cosh_f32 as cosh, exp2_f32 as exp2, exp_f32 as exp, expm1_f32 as expm1, log10_f32 as log10,
        log1p_f32 as log1p, log2_f32 as log2, log_f32 as log, pow_f32 as pow, sin_f32 as sin,
        sinh_f32 as sinh, tan_f32 as tan, tanh_f32 as tanh,
    };
    /// vecmath's f32 sin, cos and tan are exact over the whole range.
    pub(super) const TRIG_CAN_GIVE_UP: bool = false;
}

mod vm64 {
    pub(super) use super::vm::{
        arccos_f64 as arccos, arccosh_f64 as arccosh, arcsin_f64 as arcsin, arcsinh_f64 as arcsinh,
        arctan2_f64 as arctan2, arctan_f64 as arctan, arctanh_f64 as arctanh, cos_f64 as cos,
        cosh_f64 as cosh, exp2_f64 as exp2, exp_f64 as exp, expm1_f64 as expm1, log10_f64 as log10,
        log1p_f64 as log1p, log2_f64 as log2, log_f64 as log, pow_f64 as pow, sin_f64 as sin,
        sinh_f64 as sinh, tan_f64 as tan, tanh_f64 as tanh,
    };
    /// vecmath's f64 sin, cos and tan return NaN for |x| > 4.2e8 (no Payne-Hanek).
    pub(super) const TRIG_CAN_GIVE_UP: bool = true;
}

float_elem!(f32: vm32, f64: vm64);

/// One operation on one element; see [`ops`].
pub(crate) trait Fn1<A, R> {
    fn call(a: A) -> R;
    /// Corrects results `r` of `call` on `x` that the vectorizable `call`
    /// could not compute (see [`Float::fix_trig`]); usually nothing to do.
    #[inline(always)]
    fn fix(_x: &[A], _r: &mut [R]) {}
}

/// One operation on two elements; `status` flags domain errors.
pub(crate) trait Fn2<A, B, R> {
    fn call(a: A, b: B) -> R;
    #[inline(always)]
    fn status(_: A, _: B) -> u32 {
        0
    }
}

/// One operation on three elements.
pub(crate) trait Fn3<A, B, C, R> {
    fn call(a: A, b: B, c: C) -> R;
}

/// One operation on four elements.
pub(crate) trait Fn4<A, B, C, D, R> {
    fn call(a: A, b: B, c: C, d: D) -> R;
}

/// The operations, one zero-sized type each, generic over their element types.
pub(crate) mod ops {
    use super::{Arith, Bool, Elem, Float, Fn1, Fn2, Fn3, Fn4, Int, Ordered, F16};
    use std::marker::PhantomData;

    macro_rules! unary {
        ($($name:ident: $bound:ident, |$a:ident| $e:expr;)*) => {$(
            pub(crate) struct $name;
            impl<T: $bound> Fn1<T, T> for $name {
                #[inline(always)]
                fn call($a: T) -> T {
                    $e
                }
            }
        )*};
    }

    macro_rules! binary {
        ($($name:ident: $bound:ident, |$a:ident, $b:ident| $e:expr;)*) => {$(
            pub(crate) struct $name;
            impl<T: $bound> Fn2<T, T, T> for $name {
                #[inline(always)]
                fn call($a: T, $b: T) -> T {
                    $e
                }
            }
        )*};
    }

    macro_rules! compare {
        ($($name:ident: $op:tt;)*) => {$(
            pub(crate) struct $name;
            impl<T: Ordered> Fn2<T, T, Bool> for $name {
                #[inline(always)]
                fn call(a: T, b: T) -> Bool {
                    Bool::of(a.key() $op b.key())
                }
            }
        )*};
    }

    unary! {
        Copy: Elem, |a| a.canon();
        Neg: Arith, |a| a.negated();
        Abs: Arith, |a| a.magnitude();
        Sqrt: Float, |a| a.sqrt();
        Exp: Float, |a| a.exp();
        Log: Float, |a| a.ln();
        Tanh: Float, |a| a.tanh();
        Arcsin: Float, |a| a.arcsin();
        Arccos: Float, |a| a.arccos();
        Arctan: Float, |a| a.arctan();
        Sinh: Float, |a| a.sinh();
        Cosh: Float, |a| a.cosh();
        Arcsinh: Float, |a| a.arcsinh();
        Arccosh: Float, |a| a.arccosh();
        Arctanh: Float, |a| a.arctanh();
        Expm1: Float, |a| a.expm1();
        Log1p: Float, |a| a.log1p();
        Log2: Float, |a| a.log2();
        Log10: Float, |a| a.log10();
        Exp2: Float, |a| a.exp2();
        Ceil: Float, |a| a.ceil();
        Floor: Float, |a| a.floor();
        Trunc: Float, |a| a.trunc();
        Rint: Float, |a| a.rint();
        Sign: Arith, |a| a.sign();
        Invert: Int, |a| a.bit_not();
        Recip: Int, |a| a.recip();
    }

    macro_rules! predicate {
        ($($name:ident: |$a:ident| $e:expr;)*) => {$(
            pub(crate) struct $name;
            impl<T: Arith> Fn1<T, Bool> for $name {
                #[inline(always)]
                fn call($a: T) -> Bool {
                    Bool::of($e)
                }
            }
        )*};
    }

    predicate! {
        Isnan: |a| a.is_nan();
        Isfinite: |a| a.is_finite();
        Isinf: |a| a.is_inf();
        Signbit: |a| a.sign_bit();
    }

    macro_rules! ternary {
        ($($name:ident: $bound:ident, |$a:ident, $b:ident, $c:ident| $e:expr;)*) => {$(
            pub(crate) struct $name;
            impl<T: $bound> Fn3<T, T, T, T> for $name {
                #[inline(always)]
                fn call($a: T, $b: T, $c: T) -> T {
                    $e
                }
            }
        )*};
    }

    ternary! {
        Clip: Arith, |a, lo, hi| a.clip(lo, hi);
        Fma: Float, |a, b, c| a.fused(b, c);
    }

    macro_rules! trig {
        ($($name:ident: $f:ident, $exact:ident;)*) => {$(
            pub(crate) struct $name;
            impl<T: Float> Fn1<T, T> for $name {
                #[inline(always)]
                fn call(a: T) -> T {
                    a.$f()
                }
                #[inline(always)]
                fn fix(x: &[T], r: &mut [T]) {
                    T::fix_trig(x, r, T::$exact);
                }
            }
        )*};
    }

    trig! {
        Sin: sin, sin_exact;
        Cos: cos, cos_exact;
        Tan: tan, tan_exact;
    }

    binary! {
        Add: Arith, |a, b| a.plus(b);
        Sub: Arith, |a, b| a.minus(b);
        Mul: Arith, |a, b| a.times(b);
        Div: Float, |a, b| a.quot(b);
        Mod: Arith, |a, b| a.floor_mod(b);
        Arctan2: Float, |a, b| a.arctan2(b);
        Copysign: Float, |a, b| a.copy_sign(b);
        Hypot: Float, |a, b| a.hypot(b);
        Fmod: Arith, |a, b| a.trunc_rem(b);
        Maximum: Arith, |a, b| a.maximum(b);
        Minimum: Arith, |a, b| a.minimum(b);
        FloorDiv: Arith, |a, b| a.floor_div(b);
        Shl: Int, |a, b| a.shl(b);
        Shr: Int, |a, b| a.shr(b);
        BitAnd: Int, |a, b| a.bit_and(b);
        BitOr: Int, |a, b| a.bit_or(b);
        BitXor: Int, |a, b| a.bit_xor(b);
        Nextafter: Float, |a, b| a.next_after(b);
    }

    impl Fn2<F16, F16, F16> for Nextafter {
        #[inline(always)]
        fn call(a: F16, b: F16) -> F16 {
            a.next_after(b)
        }
    }

    compare! {
        Lt: <;
        Le: <=;
        Gt: >;
        Ge: >=;
        Eq: ==;
        Ne: !=;
    }

    pub(crate) struct Pow;
    impl<T: Arith> Fn2<T, T, T> for Pow {
        #[inline(always)]
        fn call(a: T, b: T) -> T {
            a.power(b)
        }
        #[inline(always)]
        fn status(_: T, b: T) -> u32 {
            T::power_status(b)
        }
    }

    pub(crate) struct Cast;
    impl<A: Elem, R: Elem> Fn1<A, R> for Cast {
        #[inline(always)]
        fn call(a: A) -> R {
            R::from_num(a.to_num())
        }
    }

    pub(crate) struct And;
    impl Fn2<Bool, Bool, Bool> for And {
        #[inline(always)]
        fn call(a: Bool, b: Bool) -> Bool {
            Bool::of(a.get() & b.get())
        }
    }

    pub(crate) struct Or;
    impl Fn2<Bool, Bool, Bool> for Or {
        #[inline(always)]
        fn call(a: Bool, b: Bool) -> Bool {
            Bool::of(a.get() | b.get())
        }
    }

    pub(crate) struct Not;
    impl Fn1<Bool, Bool> for Not {
        #[inline(always)]
        fn call(a: Bool) -> Bool {
            Bool::of(!a.get())
        }
    }

    pub(crate) struct Where;
    impl<T: Elem> Fn3<Bool, T, T, T> for Where {
        #[inline(always)]
        fn call(a: Bool, b: T, c: T) -> T {
            if a.get() {
                b.canon()
            } else {
                c.canon()
            }
        }
    }

    /// `where(a CMP b, c, d)` in one step: exactly [`Where`] of the
    /// comparison `Cmp`'s result, without storing it.
    pub(crate) struct WhereOf<Cmp>(PhantomData<Cmp>);
    impl<T: Ordered, Cmp: Fn2<T, T, Bool>> Fn4<T, T, T, T, T> for WhereOf<Cmp> {
        #[inline(always)]
        fn call(a: T, b: T, c: T, d: T) -> T {
            Where::call(Cmp::call(a, b), c, d)
        }
    }
}

/// An empty `asm!` statement in the chunk loops: LLVM cannot vectorize a
/// loop across it, so its loop vectorizer leaves the chunk loop alone (under
/// AVX-512 it would otherwise vectorize *across* chunks, 16 gathers and
/// scatters per chunk), while each chunk's straight-line code is still one
/// vector operation per register (the SLP vectorizer).
#[inline(always)]
fn keep_chunked() {
    // SAFETY: an empty instruction string: it reads, writes and clobbers
    // nothing.
    unsafe { std::arch::asm!("", options(nomem, nostack, preserves_flags)) };
}

/// `dst[i] := F(a[i])`.
///
/// # Safety
///
/// As [`Kernel`].
#[inline(always)]
unsafe fn map1<A: Elem, R: Elem, F: Fn1<A, R>>(
    n: usize,
    dst: *mut u8,
    a: *const u8,
    _: *const u8,
    _: *const u8,
    _: *const u8,
    mode: Mode,
) -> u32 {
    let (dst, a) = (dst.cast::<R>(), a.cast::<A>());
    let stream = streams(mode, dst);
    let mut i = 0;
    while n - i >= CHUNK {
        if mode.ahead() {
            prefetch(a, i, false);
            prefetch_next(mode.next(), i);
            if !stream {
                prefetch(dst, i, true);
            }
        }
        // SAFETY: i + CHUNK <= n, so the chunk is in bounds of both arrays
        // (the caller's contract); [T; CHUNK] has T's alignment. The chunk is
        // read whole into a local before dst is written, so an exactly
        // aliased dst is only written after it was read.
        unsafe {
            let x = a.add(i).cast::<[A; CHUNK]>().read();
            let mut r = [R::ZERO; CHUNK];
            for j in 0..CHUNK {
                r[j] = F::call(x[j]);
            }
            F::fix(&x, &mut r);
            store_chunk(dst.add(i), r, stream);
        }
        i += CHUNK;
        keep_chunked();
    }
    while i < n {
        // SAFETY: i < n; element i is read before it is written.
        unsafe {
            let x = a.add(i).read();
            let mut r = [F::call(x)];
            F::fix(&[x], &mut r);
            dst.add(i).write(r[0]);
        }
        i += 1;
    }
    0
}

/// `dst[i] := F(a[i], b[i])`, OR-ing the statuses.
///
/// # Safety
///
/// As [`Kernel`].
#[inline(always)]
unsafe fn map2<A: Elem, B: Elem, R: Elem, F: Fn2<A, B, R>>(
    n: usize,
    dst: *mut u8,
    a: *const u8,
    b: *const u8,
    _: *const u8,
    _: *const u8,
    mode: Mode,
) -> u32 {
    let (dst, a, b) = (dst.cast::<R>(), a.cast::<A>(), b.cast::<B>());
    let stream = streams(mode, dst);
    let mut status = 0;
    let mut i = 0;
    while n - i >= CHUNK {
        if mode.ahead() {
            prefetch(a, i, false);
            prefetch(b, i, false);
            prefetch_next(mode.next(), i);
            if !stream {
                prefetch(dst, i, true);
            }
        }
        // SAFETY: as in map1: in bounds, aligned, both sources read whole
        // before dst is written.
        unsafe {
            let x = a.add(i).cast::<[A; CHUNK]>().read();
            let y = b.add(i).cast::<[B; CHUNK]>().read();
            let mut r = [R::ZERO; CHUNK];
            for j in 0..CHUNK {
                r[j] = F::call(x[j], y[j]);
                status |= F::status(x[j], y[j]);
            }
            store_chunk(dst.add(i), r, stream);
        }
        i += CHUNK;
        keep_chunked();
    }
    while i < n {
        // SAFETY: i < n; element i of each source is read before dst's is written.
        unsafe {
            let (x, y) = (a.add(i).read(), b.add(i).read());
            status |= F::status(x, y);
            dst.add(i).write(F::call(x, y));
        }
        i += 1;
    }
    status
}

/// The kernels of three and four sources, which report no status: `$name`
/// computes `dst[i] := F(a[i], ...)` over the sources listed (type, operand,
/// chunk), and takes the operands it does not use as `$unused`.
macro_rules! map_sources {
    ($($(#[$m:meta])* $name:ident: $trait:ident($($t:ident $src:ident $v:ident),+) $(, $unused:ident)?;)*) => {$(
        $(#[$m])*
        #[inline(always)]
        unsafe fn $name<$($t: Elem,)+ R: Elem, F: $trait<$($t,)+ R>>(
            n: usize,
            dst: *mut u8,
            $($src: *const u8,)+
            $($unused: *const u8,)?
            mode: Mode,
        ) -> u32 {
            let dst = dst.cast::<R>();
            $(let $src = $src.cast::<$t>();)+
            let stream = streams(mode, dst);
            let mut i = 0;
            while n - i >= CHUNK {
                if mode.ahead() {
                    $(prefetch($src, i, false);)+
                    prefetch_next(mode.next(), i);
                    if !stream {
                        prefetch(dst, i, true);
                    }
                }
                // SAFETY: as in map1: in bounds, aligned, all sources read
                // whole before dst is written.
                unsafe {
                    $(let $v = $src.add(i).cast::<[$t; CHUNK]>().read();)+
                    let mut r = [R::ZERO; CHUNK];
                    for j in 0..CHUNK {
                        r[j] = F::call($($v[j]),+);
                    }
                    store_chunk(dst.add(i), r, stream);
                }
                i += CHUNK;
                keep_chunked();
            }
            while i < n {
                // SAFETY: i < n; element i of each source is read before dst's is written.
                unsafe { dst.add(i).write(F::call($($src.add(i).read()),+)) };
                i += 1;
            }
            0
        }
    )*};
}

map_sources! {
    /// `dst[i] := F(a[i], b[i], c[i])`.
    ///
    /// # Safety
    ///
    /// As [`Kernel`].
    map3: Fn3(A a x, B b y, C c z), _d;
    /// `dst[i] := F(a[i], b[i], c[i], d[i])`.
    ///
    /// # Safety
    ///
    /// As [`Kernel`].
    map4: Fn4(A a x, B b y, C c z, D d w);
}

/// Broadcasts one pool or scalar value.
///
/// # Safety
///
/// As [`Fill`].
unsafe fn fill<T: Elem>(dst: *mut u8, n: usize, raw: [u8; 8]) {
    let (dst, v) = (dst.cast::<T>(), T::from_raw(raw));
    for i in 0..n {
        // SAFETY: i < n, in bounds and aligned by the caller's contract.
        unsafe { dst.add(i).write(v) };
    }
}

/// `Some(expr)` with `$T` bound to the Rust element type of dtype `$dt`, for
/// the dtypes listed; `None` for the others.
macro_rules! typed {
    ($dt:expr, [$($D:ident: $ty:ty),*], |$T:ident| $k:expr) => {
        match $dt {
            $(DType::$D => {
                type $T = $ty;
                Some($k)
            })*
            // Unreachable for `all_types!`, which lists every dtype.
            #[allow(unreachable_patterns)]
            _ => None,
        }
    };
}

macro_rules! all_types {
    ($dt:expr, |$T:ident| $k:expr) => {
        typed!($dt, [Bool: Bool, Int8: i8, Uint8: u8, Int16: i16, Uint16: u16, Int32: i32,
            Uint32: u32, Int64: i64, Uint64: u64, Float16: F16, Float32: f32, Float64: f64],
            |$T| $k)
    };
}

/// The dtypes with comparisons: all but float16 (compared in float32).
macro_rules! ordered_types {
    ($dt:expr, |$T:ident| $k:expr) => {
        typed!($dt, [Bool: Bool, Int8: i8, Uint8: u8, Int16: i16, Uint16: u16, Int32: i32,
            Uint32: u32, Int64: i64, Uint64: u64, Float32: f32, Float64: f64], |$T| $k)
    };
}

macro_rules! num_types {
    ($dt:expr, |$T:ident| $k:expr) => {
        typed!($dt, [Int8: i8, Uint8: u8, Int16: i16, Uint16: u16, Int32: i32, Uint32: u32,
            Int64: i64, Uint64: u64, Float32: f32, Float64: f64], |$T| $k)
    };
}

macro_rules! int_types {
    ($dt:expr, |$T:ident| $k:expr) => {
        typed!($dt, [Int8: i8, Uint8: u8, Int16: i16, Uint16: u16, Int32: i32, Uint32: u32,
            Int64: i64, Uint64: u64], |$T| $k)
    };
}

macro_rules! float_types {
    ($dt:expr, |$T:ident| $k:expr) => {
        typed!($dt, [Float32: f32, Float64: f64], |$T| $k)
    };
}

/// The filler for registers of this dtype; `None` for a dtype the VM does not
/// store (the validator refuses such registers).
pub(crate) fn fill_for(dtype: DType) -> Option<Fill> {
    all_types!(dtype, |T| fill::<T> as Fill)
}

/// The kernel of `where(a CMP b, c, d)` on dtype `$dt`, `CMP` the comparison `$cmp`.
macro_rules! where_of {
    ($dt:expr, $cmp:ty) => {
        ordered_types!($dt, |T| map4::<T, T, T, T, T, ops::WhereOf<$cmp>> as Kernel)
    };
}

/// The opcode table over the loops `map1` ... `map4` in scope: the
/// kernel of an opcode, from its operation and signature; `None` if this VM
/// has none (a test checks every entry of `OPCODES` has one).
macro_rules! kernel_table {
    ($info:expr) => {{
        let info: &OpInfo = $info;
        let ret = info.ret;
        let arg = *info.args.first()?;
        match info.op {
            Op::Copy => all_types!(ret, |T| map1::<T, T, ops::Copy> as Kernel),
            Op::Cast => all_types!(arg, |A| {
                all_types!(ret, |R| map1::<A, R, ops::Cast> as Kernel)
            })
            .flatten(),
            Op::Neg => num_types!(ret, |T| map1::<T, T, ops::Neg> as Kernel),
            Op::Add => num_types!(ret, |T| map2::<T, T, T, ops::Add> as Kernel),
            Op::Sub => num_types!(ret, |T| map2::<T, T, T, ops::Sub> as Kernel),
            Op::Mul => num_types!(ret, |T| map2::<T, T, T, ops::Mul> as Kernel),
            Op::Div => float_types!(ret, |T| map2::<T, T, T, ops::Div> as Kernel),
            Op::Mod => num_types!(ret, |T| map2::<T, T, T, ops::Mod> as Kernel),
            Op::Pow => num_types!(ret, |T| map2::<T, T, T, ops::Pow> as Kernel),
            Op::Lt => ordered_types!(arg, |T| map2::<T, T, Bool, ops::Lt> as Kernel),
            Op::Le => ordered_types!(arg, |T| map2::<T, T, Bool, ops::Le> as Kernel),
            Op::Gt => ordered_types!(arg, |T| map2::<T, T, Bool, ops::Gt> as Kernel),
            Op::Ge => ordered_types!(arg, |T| map2::<T, T, Bool, ops::Ge> as Kernel),
            Op::Eq => ordered_types!(arg, |T| map2::<T, T, Bool, ops::Eq> as Kernel),
            Op::Ne => ordered_types!(arg, |T| map2::<T, T, Bool, ops::Ne> as Kernel),
            Op::And => Some(map2::<Bool, Bool, Bool, ops::And> as Kernel),
            Op::Or => Some(map2::<Bool, Bool, Bool, ops::Or> as Kernel),
            Op::Not => Some(map1::<Bool, Bool, ops::Not> as Kernel),
            Op::Where => all_types!(ret, |T| map3::<Bool, T, T, T, ops::Where> as Kernel),
            Op::Abs => num_types!(ret, |T| map1::<T, T, ops::Abs> as Kernel),
            Op::Sqrt => float_types!(ret, |T| map1::<T, T, ops::Sqrt> as Kernel),
            Op::Exp => float_types!(ret, |T| map1::<T, T, ops::Exp> as Kernel),
            Op::Log => float_types!(ret, |T| map1::<T, T, ops::Log> as Kernel),
            Op::Sin => float_types!(ret, |T| map1::<T, T, ops::Sin> as Kernel),
            Op::Cos => float_types!(ret, |T| map1::<T, T, ops::Cos> as Kernel),
            Op::Tanh => float_types!(ret, |T| map1::<T, T, ops::Tanh> as Kernel),
            Op::Tan => float_types!(ret, |T| map1::<T, T, ops::Tan> as Kernel),
            Op::Arcsin => float_types!(ret, |T| map1::<T, T, ops::Arcsin> as Kernel),
            Op::Arccos => float_types!(ret, |T| map1::<T, T, ops::Arccos> as Kernel),
            Op::Arctan => float_types!(ret, |T| map1::<T, T, ops::Arctan> as Kernel),
            Op::Sinh => float_types!(ret, |T| map1::<T, T, ops::Sinh> as Kernel),
            Op::Cosh => float_types!(ret, |T| map1::<T, T, ops::Cosh> as Kernel),
            Op::Arcsinh => float_types!(ret, |T| map1::<T, T, ops::Arcsinh> as Kernel),
            Op::Arccosh => float_types!(ret, |T| map1::<T, T, ops::Arccosh> as Kernel),
            Op::Arctanh => float_types!(ret, |T| map1::<T, T, ops::Arctanh> as Kernel),
            Op::Expm1 => float_types!(ret, |T| map1::<T, T, ops::Expm1> as Kernel),
            Op::Log1p => float_types!(ret, |T| map1::<T, T, ops::Log1p> as Kernel),
            Op::Log2 => float_types!(ret, |T| map1::<T, T, ops::Log2> as Kernel),
            Op::Log10 => float_types!(ret, |T| map1::<T, T, ops::Log10> as Kernel),
            Op::Exp2 => float_types!(ret, |T| map1::<T, T, ops::Exp2> as Kernel),
            Op::Arctan2 => float_types!(ret, |T| map2::<T, T, T, ops::Arctan2> as Kernel),
            Op::Ceil => float_types!(ret, |T| map1::<T, T, ops::Ceil> as Kernel),
            Op::Floor => float_types!(ret, |T| map1::<T, T, ops::Floor> as Kernel),
            Op::Trunc => float_types!(ret, |T| map1::<T, T, ops::Trunc> as Kernel),
            Op::Rint => float_types!(ret, |T| map1::<T, T, ops::Rint> as Kernel),
            Op::Sign => num_types!(ret, |T| map1::<T, T, ops::Sign> as Kernel),
            Op::Isnan => num_types!(arg, |T| map1::<T, Bool, ops::Isnan> as Kernel),
            Op::Isfinite => num_types!(arg, |T| map1::<T, Bool, ops::Isfinite> as Kernel),
            Op::Isinf => num_types!(arg, |T| map1::<T, Bool, ops::Isinf> as Kernel),
            Op::Signbit => num_types!(arg, |T| map1::<T, Bool, ops::Signbit> as Kernel),
            Op::Copysign => float_types!(ret, |T| map2::<T, T, T, ops::Copysign> as Kernel),
            Op::Hypot => float_types!(ret, |T| map2::<T, T, T, ops::Hypot> as Kernel),
            Op::Fmod => num_types!(ret, |T| map2::<T, T, T, ops::Fmod> as Kernel),
            Op::Maximum => num_types!(ret, |T| map2::<T, T, T, ops::Maximum> as Kernel),
            Op::Minimum => num_types!(ret, |T| map2::<T, T, T, ops::Minimum> as Kernel),
            Op::Clip => num_types!(ret, |T| map3::<T, T, T, T, ops::Clip> as Kernel),
            Op::Fma => float_types!(ret, |T| map3::<T, T, T, T, ops::Fma> as Kernel),
            Op::Floordiv => num_types!(ret, |T| map2::<T, T, T, ops::FloorDiv> as Kernel),
            Op::Lshift => int_types!(ret, |T| map2::<T, T, T, ops::Shl> as Kernel),
            Op::Rshift => int_types!(ret, |T| map2::<T, T, T, ops::Shr> as Kernel),
            Op::Bitand => int_types!(ret, |T| map2::<T, T, T, ops::BitAnd> as Kernel),
            Op::Bitor => int_types!(ret, |T| map2::<T, T, T, ops::BitOr> as Kernel),
            Op::Bitxor => int_types!(ret, |T| map2::<T, T, T, ops::BitXor> as Kernel),
            Op::Invert => int_types!(ret, |T| map1::<T, T, ops::Invert> as Kernel),
            Op::Nextafter => match ret {
                DType::Float16 => Some(map2::<F16, F16, F16, ops::Nextafter> as Kernel),
                _ => float_types!(ret, |T| map2::<T, T, T, ops::Nextafter> as Kernel),
            },
            Op::Reciprocal => int_types!(ret, |T| map1::<T, T, ops::Recip> as Kernel),
            Op::WhereLt => where_of!(ret, ops::Lt),
            Op::WhereLe => where_of!(ret, ops::Le),
            Op::WhereGt => where_of!(ret, ops::Gt),
            Op::WhereGe => where_of!(ret, ops::Ge),
            Op::WhereEq => where_of!(ret, ops::Eq),
            Op::WhereNe => where_of!(ret, ops::Ne),
        }
    }};
}

/// The generic loop `$name` compiled for an ISA: a wrapper with its
/// `#[target_feature]`s (none for the baseline), in the ISA's module.
macro_rules! isa_loop {
    ($name:ident: $trait:ident<$($t:ident),+> $(, $features:literal)?) => {
        #[doc = concat!("[`super::", stringify!($name), "`] compiled for this ISA.")]
        ///
        /// # Safety
        ///
        /// As [`Kernel`].
        $(#[target_feature(enable = $features)])?
        unsafe fn $name<$($t: Elem,)+ R: Elem, F: $trait<$($t,)+ R>>(
            n: usize,
            dst: *mut u8,
            a: *const u8,
            b: *const u8,
            c: *const u8,
            d: *const u8,
            mode: Mode,
        ) -> u32 {
            // SAFETY: our caller keeps the Kernel contract, which is the loop's.
            unsafe { super::$name::<$($t,)+ R, F>(n, dst, a, b, c, d, mode) }
        }
    };
}

/// Per ISA, a module of `#[target_feature]` wrappers around the generic
/// loops and `kernel_for`, the opcode table over them.
macro_rules! instantiate {
    ($($(#[$cfg:meta])* $isa:ident $(: $features:literal)?;)*) => {$(
        $(#[$cfg])*
        mod $isa {
            use super::{ops, Bool, DType, Elem, Fn1, Fn2, Fn3, Fn4, Kernel, Mode, Op, OpInfo, F16};

            isa_loop!(map1: Fn1<A> $(, $features)?);
            isa_loop!(map2: Fn2<A, B> $(, $features)?);
            isa_loop!(map3: Fn3<A, B, C> $(, $features)?);
            isa_loop!(map4: Fn4<A, B, C, D> $(, $features)?);

            /// This ISA's kernel of an opcode. The pointers need this ISA's
            /// features at run time: only hand out available ISAs' tables.
            pub(super) fn kernel_for(info: &OpInfo) -> Option<Kernel> {
                kernel_table!(info)
            }
        }
    )*};
}

instantiate! {
    baseline;
    #[cfg(target_arch = "x86_64")]
    avx2: "avx2,fma";
    #[cfg(target_arch = "x86_64")]
    avx512: "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma";
}

/// The kernel of an opcode compiled for `isa`, which must be available on
/// this CPU (`Isa::clamp` makes it so): the pointer runs that ISA's
/// instructions. `None` if this VM has no kernel for the opcode.
pub(crate) fn kernel_for(info: &OpInfo, isa: Isa) -> Option<Kernel> {
    match isa {
        Isa::Baseline => baseline::kernel_for(info),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => avx2::kernel_for(info),
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => avx512::kernel_for(info),
        // Never available here (`Isa::clamp` lowers them to Baseline).
        #[cfg(not(target_arch = "x86_64"))]
        Isa::Avx2 | Isa::Avx512 => baseline::kernel_for(info),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::opcodes::OPCODES;

    #[test]
    fn every_opcode_has_a_kernel() {
        for isa in Isa::ALL {
            for (code, info) in OPCODES.iter().enumerate() {
                assert!(
                    kernel_for(info, isa).is_some(),
                    "opcode {code} ({}) has no {} kernel",
                    info.name,
                    isa.name()
                );
            }
        }
    }

    #[test]
    fn every_opcode_dtype_can_be_stored() {
        for info in OPCODES.iter() {
            for &d in info.args.iter().chain([&info.ret]) {
                assert!(
                    fill_for(d).is_some(),
                    "{}: no filler for {}",
                    info.name,
                    d.name()
                );
            }
        }
    }
}
