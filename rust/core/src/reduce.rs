//! Reductions: `sum prod min max mean any all count_nonzero` over a strided
//! N-d array, whole or along one axis, with NumPy's result dtypes and
//! numerics.
//!
//! The input is any view `(shape, strides, offset)` in elements over a
//! buffer of `data_len` elements; [`reduce`] checks that every element it
//! addresses is in bounds (with overflow-checked arithmetic) before reading
//! one. A whole reduction first drops axes of length 1 and merges axes that
//! are contiguous with each other, so a contiguous array of any shape is one
//! line; an axis reduction reduces one line per output element, in the
//! row-major order of the remaining axes.
//!
//! Sums (`sum`, `mean`, `count_nonzero`) are NumPy's: a line is summed in
//! chunks of 8192 elements (NumPy's buffer size), each added in turn to a
//! zero, and a chunk by NumPy's `pairwise_sum`: fewer than 8 elements are
//! added in order; up to 128 go to eight accumulators combined as
//! `((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7))`, then the rest in order; more are
//! split at `n/2` rounded down to a multiple of 8, recursively. So a float
//! sum over a contiguous 1-D array is bit for bit NumPy's (1.24, checked).
//! The chunks of a long line are summed on several threads and added in
//! order, so the result does not depend on the thread count. `prod` is
//! sequential, as NumPy's.
//!
//! A whole reduction can also take its elements chunk by chunk as a program
//! computes them ([`reduce_computed`], for `crate::run_reduce`): each
//! kernel keeps a part per thread (the chunks' sums, a product, `min`/`max`
//! lanes, a flag) that merges in order into exactly what it gives over the
//! materialized array.
//!
//! | op | input | result |
//! |---|---|---|
//! | `sum`, `prod` | bool, signed ints | int64 (wrapping) |
//! | | unsigned ints | uint64 (wrapping) |
//! | | floats | the same float (float16: in float32, rounded to float16 after each chunk) |
//! | `mean` | bool, ints | float64 |
//! | | floats | the same float (sum / n; float16: summed in float32); empty: NaN |
//! | `min`, `max` | any | the same dtype; NaN propagates; empty: an error |
//! | `any`, `all` | any | bool (empty: false, true) |
//! | `count_nonzero` | any | int64 (NaN counts, -0.0 does not) |

use rayon::iter::{IntoParallelIterator, ParallelIterator};

use crate::kernels::F16;
use crate::nd::reach;
use crate::{DType, Error, ErrorCode};

/// The most axes a view may have (NumPy's limit).
pub const MAX_DIMS: usize = 64;

/// Lines at least this long are split across threads (when threads > 1).
const PARALLEL_MIN: usize = 1 << 16;

/// Sums go in chunks of this many elements, as NumPy's buffered reductions
/// do (its iterator's default buffer size).
pub const SUM_CHUNK: usize = 8192;

/// A reduction, by its code in the C ABI (`src/reduce.ts` has the same table).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ReduceOp {
    /// Sum (pairwise for floats).
    Sum = 0,
    /// Product, in order.
    Prod = 1,
    /// Minimum; NaN propagates.
    Min = 2,
    /// Maximum; NaN propagates.
    Max = 3,
    /// Arithmetic mean: the sum divided by the count.
    Mean = 4,
    /// Whether any element is nonzero.
    Any = 5,
    /// Whether every element is nonzero.
    All = 6,
    /// How many elements are nonzero.
    CountNonzero = 7,
}

impl ReduceOp {
    /// Every reduction, in code order.
    pub const ALL: [ReduceOp; 8] = [
        ReduceOp::Sum,
        ReduceOp::Prod,
        ReduceOp::Min,
        ReduceOp::Max,
        ReduceOp::Mean,
        ReduceOp::Any,
        ReduceOp::All,
        ReduceOp::CountNonzero,
    ];

    /// The reduction with this code.
    pub fn from_code(code: u32) -> Option<ReduceOp> {
        ReduceOp::ALL.get(code as usize).copied()
    }

    /// Its name in the language.
    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Prod => "prod",
            ReduceOp::Min => "min",
            ReduceOp::Max => "max",
            ReduceOp::Mean => "mean",
            ReduceOp::Any => "any",
            ReduceOp::All => "all",
            ReduceOp::CountNonzero => "count_nonzero",
        }
    }

    /// The dtype of its result over `dtype` (NumPy's).
    pub fn result_dtype(self, dtype: DType) -> DType {
        use DType::*;
        let float = matches!(dtype, Float16 | Float32 | Float64);
        match self {
            ReduceOp::Sum | ReduceOp::Prod => match dtype {
                Uint8 | Uint16 | Uint32 | Uint64 => Uint64,
                Float16 | Float32 | Float64 => dtype,
                _ => Int64,
            },
            ReduceOp::Mean if float => dtype,
            ReduceOp::Mean => Float64,
            ReduceOp::Min | ReduceOp::Max => dtype,
            ReduceOp::Any | ReduceOp::All => Bool,
            ReduceOp::CountNonzero => Int64,
        }
    }
}

/// A strided view, in elements: element `(i0, i1, ...)` is at
/// `offset + i0 * strides[0] + i1 * strides[1] + ...`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct View {
    /// Length of each axis.
    pub shape: Vec<usize>,
    /// Step of each axis, in elements (may be 0 or negative).
    pub strides: Vec<isize>,
    /// The element at index `(0, 0, ...)`.
    pub offset: usize,
}

impl View {
    /// Decodes a view and an axis from `geom` as the C ABI lays it out:
    /// `[offset, axis, ndim, shape..., strides...]`, every entry a whole
    /// number (`f64`); `axis` NaN means a whole reduction.
    pub fn decode(geom: &[f64]) -> Result<(View, Option<isize>), Error> {
        const LIMIT: f64 = 9_007_199_254_740_992.0;
        let whole = |i: usize, lo: f64, what: &str| -> Result<f64, Error> {
            let x = geom[i];
            if (lo..=LIMIT).contains(&x) && x.trunc() == x {
                Ok(x)
            } else {
                Err(bad_args(format!(
                    "geometry[{i}] ({what}) is {x:?}, not a whole number in [{lo}, 2^53]"
                )))
            }
        };
        if geom.len() < 3 {
            return Err(bad_args(format!(
                "geometry has {} entries, fewer than 3",
                geom.len()
            )));
        }
        let ndim = whole(2, 0.0, "ndim")? as usize;
        if ndim > MAX_DIMS {
            return Err(bad_args(format!(
                "{ndim} dimensions; at most {MAX_DIMS} are supported"
            )));
        }
        if geom.len() != 3 + 2 * ndim {
            return Err(bad_args(format!(
                "geometry has {} entries; {ndim} dimensions need {}",
                geom.len(),
                3 + 2 * ndim
            )));
        }
        let offset = usize::try_from(whole(0, 0.0, "offset")? as u64)
            .map_err(|_| bad_args("offset does not fit the address space".to_string()))?;
        let axis = if geom[1].is_nan() {
            None
        } else {
            Some(whole(1, -(MAX_DIMS as f64) - 1.0, "axis")? as isize)
        };
        let mut shape = Vec::with_capacity(ndim);
        let mut strides = Vec::with_capacity(ndim);
        for d in 0..ndim {
            let len = whole(3 + d, 0.0, "a length")? as u64;
            shape.push(
                usize::try_from(len)
                    .map_err(|_| bad_args(format!("axis {d} has {len} elements: too many")))?,
            );
            strides.push(whole(3 + ndim + d, -LIMIT, "a stride")? as i64 as isize);
        }
        Ok((
            View {
                shape,
                strides,
                offset,
            },
            axis,
        ))
    }
}

/// The arguments of one [`reduce`].
#[derive(Clone, Copy, Debug)]
pub struct ReduceArgs<'a> {
    /// What to compute.
    pub op: ReduceOp,
    /// The input's dtype.
    pub dtype: DType,
    /// The buffer the view reads; may be null when the view is empty.
    pub data: *const u8,
    /// Elements of `dtype` readable at `data`.
    pub data_len: usize,
    /// The elements to reduce.
    pub view: &'a View,
    /// `None` for the whole array, else the axis (negative counts from the end).
    pub axis: Option<isize>,
    /// Where the result goes: `out_len` contiguous elements of
    /// `op.result_dtype(dtype)`, row-major over the axes left (1 for a whole
    /// reduction).
    pub out: *mut u8,
    /// Elements of the result dtype writable at `out`.
    pub out_len: usize,
    /// Threads to use at most; 0 counts as 1.
    pub threads: usize,
}

fn bad_args(message: String) -> Error {
    Error::new(ErrorCode::BadArguments, message)
}

/// NumPy's name of a reduction in its errors (`np.max` reduces with `maximum`).
fn ufunc_name(op: ReduceOp) -> &'static str {
    match op {
        ReduceOp::Min => "minimum",
        _ => "maximum",
    }
}

/// What [`reduce`] iterates: outer axes (length, stride), each position of
/// which starts one line of `line_len` elements `line_stride` apart.
struct Plan {
    outer: Vec<(usize, isize)>,
    base: usize,
    line_len: usize,
    line_stride: isize,
    /// Outputs: 1 for a whole reduction, else the product of the outer lengths.
    outputs: usize,
    whole: bool,
}

/// Checks the view against the buffer and the axis against the view, and
/// plans the iteration.
fn plan(args: &ReduceArgs) -> Result<Plan, Error> {
    let view = args.view;
    let ndim = view.shape.len();
    if view.strides.len() != ndim {
        return Err(bad_args(format!(
            "{ndim} lengths but {} strides",
            view.strides.len()
        )));
    }
    if ndim > MAX_DIMS {
        return Err(bad_args(format!(
            "{ndim} dimensions; at most {MAX_DIMS} are supported"
        )));
    }
    let axis = match args.axis {
        None => None,
        Some(a) => {
            let n = ndim as isize;
            if a < -n || a >= n {
                return Err(bad_args(format!(
                    "axis {a} is out of bounds for array of dimension {ndim}"
                )));
            }
            Some(if a < 0 { a + n } else { a } as usize)
        }
    };
    let mut size: usize = 1;
    for &len in &view.shape {
        size = size
            .checked_mul(len)
            .ok_or_else(|| bad_args("the view has more elements than fit in memory".into()))?;
    }
    if size > 0 {
        // Fewer than 2^64 elements, so the spans sum to less than 2^127:
        // the reach always fits an i128.
        let (lo, hi) = reach(view.offset, &view.shape, &view.strides)
            .ok_or_else(|| bad_args("the view's reach does not fit an i128".into()))?;
        if lo < 0 || hi >= args.data_len as i128 {
            return Err(bad_args(format!(
                "the view addresses elements {lo} to {hi} of a buffer of {} elements",
                args.data_len
            )));
        }
    }
    let element = args.dtype.size();
    let result = args.op.result_dtype(args.dtype).size();
    check_buffer(args.data as usize, args.data_len, element, "the input")?;
    check_buffer(args.out as usize, args.out_len, result, "out")?;
    let dims = view.shape.iter().copied().zip(view.strides.iter().copied());
    let plan = match axis {
        Some(axis) => {
            let outer: Vec<_> = dims
                .enumerate()
                .filter(|&(d, _)| d != axis)
                .map(|(_, dim)| dim)
                .collect();
            Plan {
                outputs: outer.iter().map(|&(len, _)| len).product(),
                outer,
                base: view.offset,
                line_len: view.shape[axis],
                line_stride: view.strides[axis],
                whole: false,
            }
        }
        None => {
            let mut merged: Vec<(usize, isize)> = Vec::with_capacity(ndim);
            if size == 0 {
                merged.push((0, 1));
            }
            for (len, stride) in dims.filter(|&(len, _)| len != 1 && size > 0) {
                match merged.last_mut() {
                    Some(last) if last.1 == stride * len as isize => *last = (last.0 * len, stride),
                    _ => merged.push((len, stride)),
                }
            }
            let (line_len, line_stride) = merged.pop().unwrap_or((1, 1));
            Plan {
                outer: merged,
                base: view.offset,
                line_len,
                line_stride,
                outputs: 1,
                whole: true,
            }
        }
    };
    if args.out_len != plan.outputs {
        return Err(bad_args(format!(
            "out has {} elements, the result has {}",
            args.out_len, plan.outputs
        )));
    }
    if plan.outputs > 0 && size > 0 {
        let (d0, d1) = (args.data as usize, args.data_len * element);
        let (o0, o1) = (args.out as usize, args.out_len * result);
        if d0 < o0 + o1 && o0 < d0 + d1 {
            return Err(Error::new(
                ErrorCode::Overlap,
                "out overlaps the input".to_string(),
            ));
        }
    }
    if plan.outputs > 0 && plan.line_len == 0 && matches!(args.op, ReduceOp::Min | ReduceOp::Max) {
        return Err(Error::new(
            ErrorCode::Domain,
            format!(
                "zero-size array to reduction operation {} which has no identity",
                ufunc_name(args.op)
            ),
        ));
    }
    Ok(plan)
}

fn check_buffer(address: usize, len: usize, size: usize, what: &str) -> Result<(), Error> {
    if len == 0 {
        return Ok(());
    }
    if address == 0 {
        return Err(bad_args(format!("{what} is null but has {len} elements")));
    }
    if address % size != 0 {
        return Err(bad_args(format!(
            "{what} at {address:#x} is not aligned to {size} bytes"
        )));
    }
    let fits = len
        .checked_mul(size)
        .and_then(|bytes| address.checked_add(bytes))
        .is_some_and(|end| end <= isize::MAX as usize);
    if !fits {
        return Err(bad_args(format!(
            "{what}: {len} elements do not fit the address space"
        )));
    }
    Ok(())
}

/// Reduces `args.view` of `args.data` into `args.out`.
///
/// # Safety
///
/// `data` is valid for reads of `data_len` elements of `dtype` and `out` for
/// writes of `out_len` elements of the result dtype, for the whole call, and
/// no other thread writes either meanwhile. Everything else (the view, the
/// axis, lengths, alignment, overlap) is checked.
pub unsafe fn reduce(args: &ReduceArgs) -> Result<(), Error> {
    let plan = plan(args)?;
    let threads = args.threads.max(1);
    let data = args.data;
    let out = args.out;
    macro_rules! typed {
        ($t:ty) => {
            // SAFETY: `plan` checked the view against `data_len` and `out_len`
            // against the result; the caller guarantees the buffers.
            unsafe { run::<$t>(args.op, &plan, data.cast::<$t>(), out, threads) }
        };
    }
    match args.dtype {
        DType::Bool => typed!(Bool),
        DType::Int8 => typed!(i8),
        DType::Uint8 => typed!(u8),
        DType::Int16 => typed!(i16),
        DType::Uint16 => typed!(u16),
        DType::Int32 => typed!(i32),
        DType::Uint32 => typed!(u32),
        DType::Int64 => typed!(i64),
        DType::Uint64 => typed!(u64),
        DType::Float32 => typed!(f32),
        DType::Float64 => typed!(f64),
        DType::Float16 => typed!(F16),
    }
    Ok(())
}

/// Computes chunks `lo..hi` of a reduction's argument in order, calling the
/// visitor with each (its first element and length); returns a kernel
/// status, nonzero to stop.
pub(crate) type Compute<'a> =
    dyn Fn(usize, usize, &mut dyn FnMut(*const u8, usize)) -> u32 + Sync + 'a;

/// Reduces the whole of `n` elements of `dtype` that `compute` makes chunk
/// by chunk ([`SUM_CHUNK`] elements, the last one the rest) instead of
/// reading them from an array, into `out`, one element of the result dtype.
/// The chunks are split into `parts` ranges computed on that many threads
/// (one for `prod`) and merged in order: the result is bit for bit that of
/// [`reduce`] over the materialized array, whatever `parts` is. Returns the
/// first nonzero status of `compute`, or 0.
///
/// # Safety
///
/// Every chunk `compute` visits is valid for reads of its length of
/// elements of `dtype` during the visit; `out` is valid for writes of one
/// element of the result dtype for the whole call.
pub(crate) unsafe fn reduce_computed(
    op: ReduceOp,
    dtype: DType,
    n: usize,
    parts: usize,
    out: *mut u8,
    compute: &Compute,
) -> Result<u32, Error> {
    check_buffer(out as usize, 1, op.result_dtype(dtype).size(), "out")?;
    if n == 0 && matches!(op, ReduceOp::Min | ReduceOp::Max) {
        return Err(Error::new(
            ErrorCode::Domain,
            format!(
                "zero-size array to reduction operation {} which has no identity",
                ufunc_name(op)
            ),
        ));
    }
    let chunks = (n + SUM_CHUNK - 1) / SUM_CHUNK;
    let parts = if op == ReduceOp::Prod {
        1
    } else {
        parts.clamp(1, chunks.max(1))
    };
    macro_rules! typed {
        ($t:ty) => {
            // SAFETY: forwarded; `out` was checked to be non-null and aligned.
            unsafe { computed_as::<$t>(op, n, chunks, parts, out, compute) }
        };
    }
    Ok(match dtype {
        DType::Bool => typed!(Bool),
        DType::Int8 => typed!(i8),
        DType::Uint8 => typed!(u8),
        DType::Int16 => typed!(i16),
        DType::Uint16 => typed!(u16),
        DType::Int32 => typed!(i32),
        DType::Uint32 => typed!(u32),
        DType::Int64 => typed!(i64),
        DType::Uint64 => typed!(u64),
        DType::Float16 => typed!(F16),
        DType::Float32 => typed!(f32),
        DType::Float64 => typed!(f64),
    })
}

/// [`reduce_computed`] over elements of type `T`.
///
/// # Safety
///
/// As [`reduce_computed`].
unsafe fn computed_as<T: Elem>(
    op: ReduceOp,
    n: usize,
    chunks: usize,
    parts: usize,
    out: *mut u8,
    compute: &Compute,
) -> u32 {
    let args = (n, chunks, parts, compute);
    // SAFETY (each arm): forwarded; `out` holds the kernel's output type,
    // which is the result dtype's.
    unsafe {
        match op {
            ReduceOp::Sum => computed::<T, _>(&SumK, args, out.cast()),
            ReduceOp::Prod => computed::<T, _>(&ProdK, args, out.cast()),
            ReduceOp::Min => computed::<T, _>(&ExtremeK::<false>, args, out.cast()),
            ReduceOp::Max => computed::<T, _>(&ExtremeK::<true>, args, out.cast()),
            ReduceOp::Mean => computed::<T, _>(&MeanK, args, out.cast()),
            ReduceOp::Any => computed::<T, _>(&LogicK::<false>, args, out.cast()),
            ReduceOp::All => computed::<T, _>(&LogicK::<true>, args, out.cast()),
            ReduceOp::CountNonzero => computed::<T, _>(&CountK, args, out.cast()),
        }
    }
}

/// Feeds kernel `k` the chunks of `parts` ranges, each on its own thread,
/// and writes the merged result.
///
/// # Safety
///
/// As [`reduce_computed`]; `out` is valid for one `K::Out`.
unsafe fn computed<T: Elem, K: Kernel<T>>(
    k: &K,
    (n, chunks, parts, compute): (usize, usize, usize, &Compute),
    out: *mut K::Out,
) -> u32 {
    let bound = |p: usize| p * chunks / parts;
    let run_part = |p: usize| {
        let mut part = k.part();
        let status = compute(bound(p), bound(p + 1), &mut |ptr, len| {
            let chunk = Line {
                ptr: ptr.cast::<T>(),
                n: len,
                stride: 1,
            };
            // SAFETY: `compute` visits chunks readable for their length.
            unsafe { k.feed(&mut part, chunk) }
        });
        (part, status)
    };
    // One thread's part goes straight to `merge`: a small reduction's
    // allocations are a share of its time.
    let merged = if parts <= 1 {
        let (part, status) = run_part(0);
        if status != 0 {
            return status;
        }
        vec![part]
    } else {
        let results: Vec<(K::Part, u32)> = (0..parts).into_par_iter().map(run_part).collect();
        if let Some(&(_, status)) = results.iter().find(|(_, status)| *status != 0) {
            return status;
        }
        results.into_iter().map(|(part, _)| part).collect()
    };
    let value = k.merge(merged, n);
    // SAFETY: the caller guarantees `out`.
    unsafe { out.write(value) };
    0
}

/// An accumulator: wrapping integer or IEEE float arithmetic.
trait Num: Copy + Send + Sync + 'static {
    /// The result element it gives.
    type Out: Copy;
    const ZERO: Self;
    const ONE: Self;
    fn add(self, other: Self) -> Self;
    fn mul(self, other: Self) -> Self;
    /// The accumulator after a chunk of [`SUM_CHUNK`] elements (NumPy stores
    /// it in the result dtype there).
    #[inline(always)]
    fn settle(self) -> Self {
        self
    }
    /// The result element.
    fn out(self) -> Self::Out;
}

/// A float accumulator, which a mean divides.
trait Float: Num {
    fn div_count(self, n: usize) -> Self;
}

macro_rules! int_num {
    ($($t:ty),*) => {$(
        impl Num for $t {
            type Out = $t;
            const ZERO: Self = 0;
            const ONE: Self = 1;
            #[inline(always)]
            fn add(self, other: Self) -> Self {
                self.wrapping_add(other)
            }
            #[inline(always)]
            fn mul(self, other: Self) -> Self {
                self.wrapping_mul(other)
            }
            #[inline(always)]
            fn out(self) -> $t {
                self
            }
        }
    )*};
}
int_num!(i64, u64);

macro_rules! float_num {
    ($($t:ty),*) => {$(
        impl Num for $t {
            type Out = $t;
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            #[inline(always)]
            fn add(self, other: Self) -> Self {
                self + other
            }
            #[inline(always)]
            fn mul(self, other: Self) -> Self {
                self * other
            }
            #[inline(always)]
            fn out(self) -> $t {
                self
            }
        }
        impl Float for $t {
            fn div_count(self, n: usize) -> Self {
                self / n as $t
            }
        }
    )*};
}
float_num!(f32, f64);

/// A float16 result accumulated in float32, as NumPy's float16 loops do:
/// `ROUND`, a sum or product rounded to float16 after each chunk (where
/// NumPy stores it in the float16 output); else a mean's float32 sum.
#[derive(Clone, Copy)]
struct Half<const ROUND: bool>(f32);

impl<const ROUND: bool> Num for Half<ROUND> {
    type Out = F16;
    const ZERO: Self = Half(0.0);
    const ONE: Self = Half(1.0);
    #[inline(always)]
    fn add(self, other: Self) -> Self {
        Half(self.0 + other.0)
    }
    #[inline(always)]
    fn mul(self, other: Self) -> Self {
        Half(self.0 * other.0)
    }
    #[inline(always)]
    fn settle(self) -> Self {
        if ROUND {
            Half(self.out().to_f64() as f32)
        } else {
            self
        }
    }
    #[inline(always)]
    fn out(self) -> F16 {
        // float32 to float64 is exact: one rounding, to nearest even.
        F16::from_f64(f64::from(self.0))
    }
}

impl<const ROUND: bool> Float for Half<ROUND> {
    fn div_count(self, n: usize) -> Self {
        Half(self.0 / n as f32)
    }
}

/// A bool element: a byte, nonzero is true.
#[derive(Clone, Copy, Debug)]
#[repr(transparent)]
struct Bool(u8);

/// An element type reductions read.
trait Elem: Copy + Send + Sync + 'static {
    /// What sums and products accumulate in (the result dtype's type).
    type Sum: Num;
    /// What a mean accumulates in and returns.
    type Mean: Float;
    fn sum(self) -> Self::Sum;
    fn mean(self) -> Self::Mean;
    fn nonzero(self) -> bool;
    fn is_nan(self) -> bool;
    fn lt(self, other: Self) -> bool;
    /// The value as the result of `min`/`max` (bool as 0 or 1).
    fn canonical(self) -> Self;
}

macro_rules! int_elem {
    ($($t:ty => $sum:ty),*) => {$(
        impl Elem for $t {
            type Sum = $sum;
            type Mean = f64;
            #[inline(always)]
            fn sum(self) -> $sum {
                self as $sum
            }
            #[inline(always)]
            fn mean(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn nonzero(self) -> bool {
                self != 0
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                false
            }
            #[inline(always)]
            fn lt(self, other: Self) -> bool {
                self < other
            }
            #[inline(always)]
            fn canonical(self) -> Self {
                self
            }
        }
    )*};
}
int_elem!(i8 => i64, i16 => i64, i32 => i64, i64 => i64, u8 => u64, u16 => u64, u32 => u64, u64 => u64);

macro_rules! float_elem {
    ($($t:ty),*) => {$(
        impl Elem for $t {
            type Sum = $t;
            type Mean = $t;
            #[inline(always)]
            fn sum(self) -> $t {
                self
            }
            #[inline(always)]
            fn mean(self) -> $t {
                self
            }
            #[inline(always)]
            fn nonzero(self) -> bool {
                self != 0.0
            }
            #[inline(always)]
            fn is_nan(self) -> bool {
                self.is_nan()
            }
            #[inline(always)]
            fn lt(self, other: Self) -> bool {
                self < other
            }
            #[inline(always)]
            fn canonical(self) -> Self {
                self
            }
        }
    )*};
}
float_elem!(f32, f64);

impl Elem for F16 {
    type Sum = Half<true>;
    type Mean = Half<false>;
    #[inline(always)]
    fn sum(self) -> Half<true> {
        Half(self.to_f64() as f32)
    }
    #[inline(always)]
    fn mean(self) -> Half<false> {
        Half(self.to_f64() as f32)
    }
    #[inline(always)]
    fn nonzero(self) -> bool {
        self.to_f64() != 0.0
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        self.to_f64().is_nan()
    }
    #[inline(always)]
    fn lt(self, other: Self) -> bool {
        self.to_f64() < other.to_f64()
    }
    #[inline(always)]
    fn canonical(self) -> Self {
        self
    }
}

impl Elem for Bool {
    type Sum = i64;
    type Mean = f64;
    #[inline(always)]
    fn sum(self) -> i64 {
        i64::from(self.0 != 0)
    }
    #[inline(always)]
    fn mean(self) -> f64 {
        f64::from(u8::from(self.0 != 0))
    }
    #[inline(always)]
    fn nonzero(self) -> bool {
        self.0 != 0
    }
    #[inline(always)]
    fn is_nan(self) -> bool {
        false
    }
    #[inline(always)]
    fn lt(self, other: Self) -> bool {
        self.0 == 0 && other.0 != 0
    }
    #[inline(always)]
    fn canonical(self) -> Self {
        Bool(u8::from(self.0 != 0))
    }
}

/// `n` elements `stride` apart from `ptr`, every one of them in bounds
/// (checked by [`plan`] before any `Line` is made).
#[derive(Clone, Copy)]
struct Line<T> {
    ptr: *const T,
    n: usize,
    stride: isize,
}

// SAFETY: a Line only reads, and the buffer is not written during a reduction.
unsafe impl<T: Sync> Send for Line<T> {}
// SAFETY: as above.
unsafe impl<T: Sync> Sync for Line<T> {}

impl<T: Copy> Line<T> {
    /// Element `i` (`UNIT`: the stride is 1).
    ///
    /// # Safety
    ///
    /// `i < self.n`.
    #[inline(always)]
    unsafe fn at<const UNIT: bool>(&self, i: usize) -> T {
        // SAFETY: every element of the line is in bounds, and i < n.
        unsafe {
            if UNIT {
                *self.ptr.add(i)
            } else {
                *self.ptr.offset(i as isize * self.stride)
            }
        }
    }

    /// The line of `n` elements `stride` apart from element `offset` of this
    /// one's buffer. Wrapping: a line is only read when it has elements,
    /// and then `plan` checked that every one of them is in the buffer.
    fn line(self, offset: isize, n: usize, stride: isize) -> Line<T> {
        Line {
            ptr: self.ptr.wrapping_offset(offset),
            n,
            stride,
        }
    }

    /// The first `k` elements and the rest.
    fn split(self, k: usize) -> (Line<T>, Line<T>) {
        let rest = Line {
            // wrapping: the result is only dereferenced when n - k > 0, and
            // then it is an element of the line.
            ptr: self.ptr.wrapping_offset(k as isize * self.stride),
            n: self.n - k,
            stride: self.stride,
        };
        (
            Line {
                ptr: self.ptr,
                n: k,
                stride: self.stride,
            },
            rest,
        )
    }
}

/// NumPy's pairwise sum of `f(x)` over a line (of at most [`SUM_CHUNK`]
/// elements: longer lines go through [`chunked_sum`]).
///
/// # Safety
///
/// The line's elements are readable.
unsafe fn pairwise<T: Elem, A: Num, F, const UNIT: bool>(line: Line<T>, f: &F) -> A
where
    F: Fn(T) -> A,
{
    let n = line.n;
    // SAFETY (all `at` calls): every index is below n.
    unsafe {
        if n < 8 {
            let mut res = A::ZERO;
            for i in 0..n {
                res = res.add(f(line.at::<UNIT>(i)));
            }
            return res;
        }
        if n <= 128 {
            let mut r = [A::ZERO; 8];
            for (j, r) in r.iter_mut().enumerate() {
                *r = f(line.at::<UNIT>(j));
            }
            let mut i = 8;
            while i < n - n % 8 {
                for (j, r) in r.iter_mut().enumerate() {
                    *r = r.add(f(line.at::<UNIT>(i + j)));
                }
                i += 8;
            }
            let mut res =
                (r[0].add(r[1]).add(r[2].add(r[3]))).add(r[4].add(r[5]).add(r[6].add(r[7])));
            for i in i..n {
                res = res.add(f(line.at::<UNIT>(i)));
            }
            return res;
        }
    }
    let half = n / 2;
    let (a, b) = line.split(half - half % 8);
    // SAFETY: both halves are parts of the line.
    unsafe { pairwise::<T, A, F, UNIT>(a, f).add(pairwise::<T, A, F, UNIT>(b, f)) }
}

/// NumPy's sum of `f(x)` over a line: zero, plus the pairwise sum of each
/// chunk of [`SUM_CHUNK`] elements in turn. With `threads > 1`, the chunks'
/// sums of a long line are computed on that many threads and then added in
/// order, so the result does not depend on the thread count.
///
/// # Safety
///
/// The line's elements are readable.
unsafe fn chunked_sum<T: Elem, A: Num, F, const UNIT: bool>(
    line: Line<T>,
    f: &F,
    threads: usize,
) -> A
where
    F: Fn(T) -> A + Sync,
{
    let chunks = (line.n + SUM_CHUNK - 1) / SUM_CHUNK;
    let chunk = |c: usize| {
        let (_, rest) = line.split(c * SUM_CHUNK);
        let (this, _) = rest.split(SUM_CHUNK.min(rest.n));
        // SAFETY: the chunk is part of the line.
        unsafe { pairwise::<T, A, F, UNIT>(this, f) }
    };
    if threads <= 1 || line.n < PARALLEL_MIN {
        return (0..chunks).fold(A::ZERO, |acc, c| acc.add(chunk(c)).settle());
    }
    let parts = threads.min(chunks);
    let bound = |p: usize| p * chunks / parts;
    let partials: Vec<Vec<A>> = (0..parts)
        .into_par_iter()
        .map(|p| (bound(p)..bound(p + 1)).map(chunk).collect())
        .collect();
    partials
        .iter()
        .flatten()
        .fold(A::ZERO, |acc, &x| acc.add(x).settle())
}

/// What one reduction does per line and how it finishes.
trait Kernel<T: Elem>: Sync {
    /// The result of a line.
    type Acc: Copy + Send;
    /// The type of an output element.
    type Out: Copy;
    /// Reduces a line (`UNIT`: its stride is 1).
    ///
    /// # Safety
    ///
    /// The line's elements are readable.
    unsafe fn line<const UNIT: bool>(&self, line: Line<T>, threads: usize) -> Self::Acc;
    /// Combines the results of consecutive lines (whole reductions).
    fn combine(&self, a: Self::Acc, b: Self::Acc) -> Self::Acc;
    /// The output for the result of `n` elements.
    fn finish(&self, acc: Self::Acc, n: usize) -> Self::Out;
    /// What one thread keeps of a whole reduction of computed chunks
    /// ([`reduce_computed`]), which a materialized array would give alike.
    type Part: Send;
    /// A part before its first chunk.
    fn part(&self) -> Self::Part;
    /// Feeds a part the next chunk: [`SUM_CHUNK`] contiguous elements, or
    /// fewer for the array's last.
    ///
    /// # Safety
    ///
    /// The chunk's elements are readable.
    unsafe fn feed(&self, part: &mut Self::Part, chunk: Line<T>);
    /// The output from every part, in order, of `n` elements in all.
    fn merge(&self, parts: Vec<Self::Part>, n: usize) -> Self::Out;
}

/// The sums of every chunk of every part, added in order to zero, each
/// sum settled as [`chunked_sum`] does: the same as one thread's sum.
fn sum_parts<A: Num>(parts: Vec<Vec<A>>) -> A {
    parts
        .iter()
        .flatten()
        .fold(A::ZERO, |acc, &x| acc.add(x).settle())
}

struct SumK;
impl<T: Elem> Kernel<T> for SumK {
    type Acc = T::Sum;
    type Out = <T::Sum as Num>::Out;
    unsafe fn line<const UNIT: bool>(&self, line: Line<T>, threads: usize) -> T::Sum {
        // SAFETY: as this function's contract.
        unsafe { chunked_sum::<T, T::Sum, _, UNIT>(line, &|x: T| x.sum(), threads) }
    }
    fn combine(&self, a: T::Sum, b: T::Sum) -> T::Sum {
        a.add(b).settle()
    }
    fn finish(&self, acc: T::Sum, _n: usize) -> Self::Out {
        acc.out()
    }
    type Part = Vec<T::Sum>;
    fn part(&self) -> Vec<T::Sum> {
        Vec::new()
    }
    unsafe fn feed(&self, part: &mut Vec<T::Sum>, chunk: Line<T>) {
        // SAFETY: as this function's contract.
        part.push(unsafe { pairwise::<T, T::Sum, _, true>(chunk, &|x: T| x.sum()) });
    }
    fn merge(&self, parts: Vec<Vec<T::Sum>>, _n: usize) -> Self::Out {
        sum_parts(parts).out()
    }
}

struct MeanK;
impl<T: Elem> Kernel<T> for MeanK {
    type Acc = T::Mean;
    type Out = <T::Mean as Num>::Out;
    unsafe fn line<const UNIT: bool>(&self, line: Line<T>, threads: usize) -> T::Mean {
        // SAFETY: as this function's contract.
        unsafe { chunked_sum::<T, T::Mean, _, UNIT>(line, &|x: T| x.mean(), threads) }
    }
    fn combine(&self, a: T::Mean, b: T::Mean) -> T::Mean {
        a.add(b)
    }
    fn finish(&self, acc: T::Mean, n: usize) -> Self::Out {
        acc.div_count(n).out()
    }
    type Part = Vec<T::Mean>;
    fn part(&self) -> Vec<T::Mean> {
        Vec::new()
    }
    unsafe fn feed(&self, part: &mut Vec<T::Mean>, chunk: Line<T>) {
        // SAFETY: as this function's contract.
        part.push(unsafe { pairwise::<T, T::Mean, _, true>(chunk, &|x: T| x.mean()) });
    }
    fn merge(&self, parts: Vec<Vec<T::Mean>>, n: usize) -> Self::Out {
        sum_parts(parts).div_count(n).out()
    }
}

struct CountK;
impl<T: Elem> Kernel<T> for CountK {
    type Acc = i64;
    type Out = i64;
    unsafe fn line<const UNIT: bool>(&self, line: Line<T>, threads: usize) -> i64 {
        // SAFETY: as this function's contract.
        unsafe { chunked_sum::<T, i64, _, UNIT>(line, &|x: T| i64::from(x.nonzero()), threads) }
    }
    fn combine(&self, a: i64, b: i64) -> i64 {
        a + b
    }
    fn finish(&self, acc: i64, _n: usize) -> i64 {
        acc
    }
    type Part = Vec<i64>;
    fn part(&self) -> Vec<i64> {
        Vec::new()
    }
    unsafe fn feed(&self, part: &mut Vec<i64>, chunk: Line<T>) {
        // SAFETY: as this function's contract.
        part.push(unsafe { pairwise::<T, i64, _, true>(chunk, &|x: T| i64::from(x.nonzero())) });
    }
    fn merge(&self, parts: Vec<Vec<i64>>, _n: usize) -> i64 {
        sum_parts(parts)
    }
}

/// `acc` times every element of a line, in order, settled after each chunk.
///
/// # Safety
///
/// The line's elements are readable.
unsafe fn multiply<T: Elem, const UNIT: bool>(mut acc: T::Sum, line: Line<T>) -> T::Sum {
    let mut start = 0;
    while start < line.n {
        let end = line.n.min(start + SUM_CHUNK);
        for i in start..end {
            // SAFETY: i < n.
            acc = acc.mul(unsafe { line.at::<UNIT>(i) }.sum());
        }
        acc = acc.settle();
        start = end;
    }
    acc
}

/// `prod`: in order, so a computed product runs as one part.
struct ProdK;
impl<T: Elem> Kernel<T> for ProdK {
    type Acc = T::Sum;
    type Out = <T::Sum as Num>::Out;
    unsafe fn line<const UNIT: bool>(&self, line: Line<T>, _threads: usize) -> T::Sum {
        // SAFETY: as this function's contract.
        unsafe { multiply::<T, UNIT>(T::Sum::ONE, line) }
    }
    fn combine(&self, a: T::Sum, b: T::Sum) -> T::Sum {
        a.mul(b).settle()
    }
    fn finish(&self, acc: T::Sum, _n: usize) -> Self::Out {
        acc.out()
    }
    type Part = T::Sum;
    fn part(&self) -> T::Sum {
        T::Sum::ONE
    }
    unsafe fn feed(&self, part: &mut T::Sum, chunk: Line<T>) {
        // SAFETY: as this function's contract.
        *part = unsafe { multiply::<T, true>(*part, chunk) };
    }
    fn merge(&self, parts: Vec<T::Sum>, _n: usize) -> Self::Out {
        parts
            .into_iter()
            .fold(T::Sum::ONE, |a, b| a.mul(b).settle())
            .out()
    }
}

/// `min` (`MAX` false) or `max`: the first NaN, else the first extreme element.
struct ExtremeK<const MAX: bool>;
impl<const MAX: bool> ExtremeK<MAX> {
    #[inline(always)]
    fn pick<T: Elem>(a: T, b: T) -> T {
        if a.is_nan() {
            a
        } else if b.is_nan() || (if MAX { a.lt(b) } else { b.lt(a) }) {
            b
        } else {
            a
        }
    }
}
/// Eight lanes of `min`/`max`, each the first extreme of its elements
/// (element `i` goes to lane `i % 8`, the last `n % 8` to lane 0) after the
/// first element, and the first NaN seen.
#[derive(Clone, Copy)]
struct Lanes<T> {
    r: [T; 8],
    nan: Option<T>,
}

impl<const MAX: bool> ExtremeK<MAX> {
    #[inline(always)]
    fn better<T: Elem>(r: T, x: T) -> T {
        let take = if MAX { r.lt(x) } else { x.lt(r) };
        if take {
            x
        } else {
            r
        }
    }

    /// Feeds `lanes` a line whose length is a multiple of 8 unless it is
    /// the last; lanes start as the first element fed.
    ///
    /// # Safety
    ///
    /// The line's elements are readable.
    #[inline(always)]
    unsafe fn lanes<T: Elem, const UNIT: bool>(lanes: &mut Option<Lanes<T>>, line: Line<T>) {
        let n = line.n;
        if n == 0 {
            return;
        }
        // SAFETY (all `at` calls): every index is below n.
        let first = unsafe { line.at::<UNIT>(0) };
        let lanes = lanes.get_or_insert(Lanes {
            r: [first; 8],
            nan: None,
        });
        // Without branches (so the loop vectorizes); a NaN is looked for
        // again only when one was seen.
        let r = &mut lanes.r;
        let mut nan = false;
        let mut i = 0;
        while i + 8 <= n {
            for (j, r) in r.iter_mut().enumerate() {
                let x = unsafe { line.at::<UNIT>(i + j) };
                nan |= x.is_nan();
                *r = Self::better(*r, x);
            }
            i += 8;
        }
        for i in i..n {
            let x = unsafe { line.at::<UNIT>(i) };
            nan |= x.is_nan();
            r[0] = Self::better(r[0], x);
        }
        if nan && lanes.nan.is_none() {
            lanes.nan = (0..n)
                .map(|i| unsafe { line.at::<UNIT>(i) })
                .find(|x| x.is_nan());
        }
    }

    /// The first NaN, else the lanes' extreme (the first lane's on a tie).
    fn result<T: Elem>(lanes: Lanes<T>) -> T {
        let r = lanes.r;
        lanes
            .nan
            .unwrap_or_else(|| r.into_iter().reduce(Self::better).unwrap_or(r[0]))
    }
}

impl<T: Elem, const MAX: bool> Kernel<T> for ExtremeK<MAX> {
    type Acc = Option<T>;
    type Out = T;
    unsafe fn line<const UNIT: bool>(&self, line: Line<T>, _threads: usize) -> Option<T> {
        let mut lanes = None;
        // SAFETY: as this function's contract.
        unsafe { Self::lanes::<T, UNIT>(&mut lanes, line) };
        lanes.map(Self::result)
    }
    fn combine(&self, a: Option<T>, b: Option<T>) -> Option<T> {
        match (a, b) {
            (Some(a), Some(b)) => Some(Self::pick(a, b)),
            (a, None) => a,
            (None, b) => b,
        }
    }
    fn finish(&self, acc: Option<T>, _n: usize) -> T {
        // `plan` refuses empty lines before any is reduced.
        acc.expect("min/max of an empty line").canonical()
    }
    type Part = Option<Lanes<T>>;
    fn part(&self) -> Option<Lanes<T>> {
        None
    }
    unsafe fn feed(&self, part: &mut Option<Lanes<T>>, chunk: Line<T>) {
        // SAFETY: as this function's contract.
        unsafe { Self::lanes::<T, true>(part, chunk) };
    }
    fn merge(&self, parts: Vec<Option<Lanes<T>>>, _n: usize) -> T {
        // Lane by lane in order, as one thread's lanes would be: a later
        // part's lanes start as its first element, which is in lane 0 and
        // so never changes which lane wins a tie.
        let merged = parts.into_iter().flatten().reduce(|a, b| Lanes {
            r: std::array::from_fn(|j| Self::better(a.r[j], b.r[j])),
            nan: a.nan.or(b.nan),
        });
        // `reduce_computed` refuses an empty min/max.
        Self::result(merged.expect("min/max of no elements")).canonical()
    }
}

/// `any` (`ALL` false) or `all`: stops at the first element that decides.
struct LogicK<const ALL: bool>;
impl<T: Elem, const ALL: bool> Kernel<T> for LogicK<ALL> {
    type Acc = bool;
    type Out = u8;
    unsafe fn line<const UNIT: bool>(&self, line: Line<T>, _threads: usize) -> bool {
        for i in 0..line.n {
            // SAFETY: i < n.
            if unsafe { line.at::<UNIT>(i) }.nonzero() != ALL {
                return !ALL;
            }
        }
        ALL
    }
    fn combine(&self, a: bool, b: bool) -> bool {
        if ALL {
            a && b
        } else {
            a || b
        }
    }
    fn finish(&self, acc: bool, _n: usize) -> u8 {
        u8::from(acc)
    }
    type Part = bool;
    fn part(&self) -> bool {
        ALL
    }
    unsafe fn feed(&self, part: &mut bool, chunk: Line<T>) {
        if *part == ALL {
            // SAFETY: as this function's contract.
            *part = unsafe { self.line::<true>(chunk, 1) };
        }
    }
    fn merge(&self, parts: Vec<bool>, _n: usize) -> u8 {
        u8::from(
            parts
                .into_iter()
                .fold(ALL, |a, b| if ALL { a && b } else { a || b }),
        )
    }
}

/// Runs reduction `op` over elements of type `T`.
///
/// # Safety
///
/// As [`reduce`], with `plan` checked against the buffers.
unsafe fn run<T: Elem>(op: ReduceOp, plan: &Plan, data: *const T, out: *mut u8, threads: usize) {
    // SAFETY (each arm): forwarded; `out` holds the kernel's output type,
    // which is the result dtype's.
    unsafe {
        match op {
            ReduceOp::Sum => drive(&SumK, plan, data, out.cast(), threads),
            ReduceOp::Prod => drive(&ProdK, plan, data, out.cast(), threads),
            ReduceOp::Min => drive(&ExtremeK::<false>, plan, data, out.cast(), threads),
            ReduceOp::Max => drive(&ExtremeK::<true>, plan, data, out.cast(), threads),
            ReduceOp::Mean => drive(&MeanK, plan, data, out.cast(), threads),
            ReduceOp::Any => drive(&LogicK::<false>, plan, data, out.cast(), threads),
            ReduceOp::All => drive(&LogicK::<true>, plan, data, out.cast(), threads),
            ReduceOp::CountNonzero => drive(&CountK, plan, data, out.cast(), threads),
        }
    }
}

/// Calls `f` with the element offset of `count` positions of the outer
/// axes, in row-major order from position `start` (all of them: `start` 0,
/// `count` their number).
fn for_each_line(
    outer: &[(usize, isize)],
    base: usize,
    start: usize,
    count: usize,
    mut f: impl FnMut(isize),
) {
    if count == 0 || outer.iter().any(|&(len, _)| len == 0) {
        return;
    }
    let mut index = vec![0usize; outer.len()];
    let mut offset = base as isize;
    let mut rest = start;
    for d in (0..outer.len()).rev() {
        let (len, stride) = outer[d];
        index[d] = rest % len;
        rest /= len;
        offset += index[d] as isize * stride;
    }
    let mut left = count;
    loop {
        f(offset);
        left -= 1;
        if left == 0 {
            return;
        }
        let mut d = outer.len();
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            let (len, stride) = outer[d];
            index[d] += 1;
            offset += stride;
            if index[d] < len {
                break;
            }
            offset -= stride * len as isize;
            index[d] = 0;
        }
    }
}

/// An output pointer shared by the threads of an axis reduction, each
/// writing its own range of elements.
struct Outputs<T>(*mut T);

// SAFETY: the threads write disjoint elements, and the caller of `drive`
// guarantees the buffer for the whole call.
unsafe impl<T> Send for Outputs<T> {}
// SAFETY: as above.
unsafe impl<T> Sync for Outputs<T> {}

impl<T> Outputs<T> {
    fn ptr(&self) -> *mut T {
        self.0
    }
}

/// Reduces every line of the plan with kernel `k`. An axis reduction with
/// enough work splits its outputs into `threads` contiguous ranges.
///
/// # Safety
///
/// As [`run`]; `out` is valid for `plan.outputs` elements of `K::Out`.
unsafe fn drive<T: Elem, K: Kernel<T>>(
    k: &K,
    plan: &Plan,
    data: *const T,
    out: *mut K::Out,
    threads: usize,
) {
    let buffer = Line {
        ptr: data,
        n: 0,
        stride: 0,
    };
    let line_at = |offset: isize| buffer.line(offset, plan.line_len, plan.line_stride);
    let reduce_line = |line: Line<T>, threads: usize| {
        // SAFETY: every element of every line of the plan is in bounds.
        unsafe {
            if line.stride == 1 {
                k.line::<true>(line, threads)
            } else {
                k.line::<false>(line, threads)
            }
        }
    };
    if plan.whole {
        let mut acc: Option<K::Acc> = None;
        let mut count = 0usize;
        for_each_line(&plan.outer, plan.base, 0, usize::MAX, |offset| {
            let a = reduce_line(line_at(offset), threads);
            acc = Some(match acc {
                Some(prev) => k.combine(prev, a),
                None => a,
            });
            count += plan.line_len;
        });
        let acc = acc.unwrap_or_else(|| reduce_line(line_at(plan.base as isize), threads));
        // SAFETY: a whole reduction has one output.
        unsafe { out.write(k.finish(acc, count)) };
        return;
    }
    let outputs = plan.outputs;
    let range = |lo: usize, hi: usize, out: &Outputs<K::Out>, threads: usize| {
        let mut j = lo;
        for_each_line(&plan.outer, plan.base, lo, hi - lo, |offset| {
            let value = k.finish(reduce_line(line_at(offset), threads), plan.line_len);
            // SAFETY: lo <= j < hi <= plan.outputs: one output per position.
            unsafe { out.ptr().add(j).write(value) };
            j += 1;
        });
    };
    let out = Outputs(out);
    let work = outputs.saturating_mul(plan.line_len.max(1));
    if threads <= 1 || outputs < 2 || work < PARALLEL_MIN {
        range(0, outputs, &out, threads);
        return;
    }
    let parts = threads.min(outputs);
    let bound = |p: usize| (p as u128 * outputs as u128 / parts as u128) as usize;
    (0..parts)
        .into_par_iter()
        .for_each(|p| range(bound(p), bound(p + 1), &out, 1));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A view in elements.
    fn view(shape: &[usize], strides: &[isize], offset: usize) -> View {
        View {
            shape: shape.to_vec(),
            strides: strides.to_vec(),
            offset,
        }
    }

    /// Runs a reduction over `data` into a fresh output of `out_len` elements of `R`.
    fn reduce_into<T: Copy, R: Copy + Default>(
        op: ReduceOp,
        dtype: DType,
        data: &[T],
        v: &View,
        axis: Option<isize>,
        out_len: usize,
    ) -> Result<Vec<R>, Error> {
        let mut out = vec![R::default(); out_len];
        let args = ReduceArgs {
            op,
            dtype,
            data: data.as_ptr().cast(),
            data_len: data.len(),
            view: v,
            axis,
            out: out.as_mut_ptr().cast(),
            out_len,
            threads: 2,
        };
        // SAFETY: the slices are valid for their lengths.
        unsafe { reduce(&args) }?;
        Ok(out)
    }

    /// The element offsets of a view in row-major order (the naive reference).
    fn offsets(v: &View) -> Vec<usize> {
        let mut all = vec![v.offset as isize];
        for (&len, &stride) in v.shape.iter().zip(&v.strides) {
            all = all
                .iter()
                .flat_map(|&o| (0..len).map(move |i| o + i as isize * stride))
                .collect();
        }
        all.into_iter().map(|o| o as usize).collect()
    }

    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *seed >> 33
    }

    #[test]
    fn result_dtypes_are_numpys() {
        use DType::*;
        let sum = |d| ReduceOp::Sum.result_dtype(d);
        assert_eq!(
            [Bool, Int8, Int32, Int64, Uint8, Uint64, Float32, Float64].map(sum),
            [Int64, Int64, Int64, Int64, Uint64, Uint64, Float32, Float64]
        );
        assert_eq!(ReduceOp::Mean.result_dtype(Int32), Float64);
        assert_eq!(ReduceOp::Mean.result_dtype(Float32), Float32);
        assert_eq!(ReduceOp::Max.result_dtype(Int32), Int32);
        assert_eq!(ReduceOp::Any.result_dtype(Float64), Bool);
        assert_eq!(ReduceOp::CountNonzero.result_dtype(Bool), Int64);
        for (code, op) in ReduceOp::ALL.iter().enumerate() {
            assert_eq!(ReduceOp::from_code(code as u32), Some(*op));
        }
        assert_eq!(ReduceOp::from_code(8), None);
    }

    #[test]
    fn integer_reductions_match_a_naive_reference_on_strided_views() {
        let mut seed = 7;
        let data: Vec<i32> = (0..4000)
            .map(|_| (lcg(&mut seed) % 2001) as i32 - 1000)
            .collect();
        let cases: Vec<View> = vec![
            view(&[3000], &[1], 0),
            view(&[17, 13], &[13, 1], 5),
            view(&[13, 17], &[1, 13], 5),
            view(&[5, 4, 3], &[-12, 3, 1], 59),
            view(&[6, 7], &[-1, 40], 1000),
            view(&[9, 0, 4], &[4, 4, 1], 0),
            view(&[1, 1, 257], &[0, 0, -3], 3000),
            view(&[4, 300], &[0, 2], 100),
            view(&[], &[], 77),
        ];
        for v in &cases {
            let naive: Vec<i64> = offsets(v).iter().map(|&o| data[o] as i64).collect();
            let sum: Vec<i64> =
                reduce_into(ReduceOp::Sum, DType::Int32, &data, v, None, 1).unwrap();
            assert_eq!(sum[0], naive.iter().sum::<i64>(), "{v:?}");
            let count: Vec<i64> =
                reduce_into(ReduceOp::CountNonzero, DType::Int32, &data, v, None, 1).unwrap();
            assert_eq!(count[0], naive.iter().filter(|&&x| x != 0).count() as i64);
            if !naive.is_empty() {
                let max: Vec<i32> =
                    reduce_into(ReduceOp::Max, DType::Int32, &data, v, None, 1).unwrap();
                assert_eq!(max[0] as i64, *naive.iter().max().unwrap(), "{v:?}");
            }
            for axis in 0..v.shape.len() {
                let mut rest = v.clone();
                let len = rest.shape.remove(axis);
                let stride = rest.strides.remove(axis);
                let bases = offsets(&rest);
                let expect: Vec<i64> = bases
                    .iter()
                    .map(|&b| {
                        (0..len)
                            .map(|i| data[(b as isize + i as isize * stride) as usize] as i64)
                            .sum()
                    })
                    .collect();
                for a in [axis as isize, axis as isize - v.shape.len() as isize] {
                    let got: Vec<i64> =
                        reduce_into(ReduceOp::Sum, DType::Int32, &data, v, Some(a), bases.len())
                            .unwrap();
                    assert_eq!(got, expect, "{v:?} axis {a}");
                }
            }
        }
    }

    #[test]
    fn threaded_axis_reductions_match_a_naive_reference() {
        let shape = [40usize, 30, 70];
        let data: Vec<i64> = (0..84_000).map(|i| (i * 7919) % 1013 - 500).collect();
        // Axes reversed, so every line is strided and every output range starts mid-axis.
        let v = view(&shape, &[1, 40, 1200], 0);
        for axis in 0..3 {
            let mut rest = v.clone();
            let len = rest.shape.remove(axis);
            let stride = rest.strides.remove(axis);
            let expect: Vec<i64> = offsets(&rest)
                .iter()
                .map(|&b| (0..len).map(|i| data[b + i * stride as usize]).sum())
                .collect();
            let got: Vec<i64> = reduce_into(
                ReduceOp::Sum,
                DType::Int64,
                &data,
                &v,
                Some(axis as isize),
                expect.len(),
            )
            .unwrap();
            assert_eq!(got, expect, "axis {axis}");
        }
    }

    #[test]
    fn integer_sums_and_products_wrap() {
        let data = [i64::MAX, 1, 2];
        let v = view(&[3], &[1], 0);
        let sum: Vec<i64> = reduce_into(ReduceOp::Sum, DType::Int64, &data, &v, None, 1).unwrap();
        assert_eq!(sum[0], i64::MIN + 2);
        let prod: Vec<i64> = reduce_into(ReduceOp::Prod, DType::Int64, &data, &v, None, 1).unwrap();
        assert_eq!(prod[0], i64::MAX.wrapping_mul(2));
        let u = [u32::MAX, u32::MAX];
        let sum: Vec<u64> = reduce_into(
            ReduceOp::Sum,
            DType::Uint32,
            &u,
            &view(&[2], &[1], 0),
            None,
            1,
        )
        .unwrap();
        assert_eq!(sum[0], 2 * u32::MAX as u64);
    }

    #[test]
    fn float_sums_follow_the_pairwise_structure() {
        // 1 + 2^-24 * k: sequential float32 addition would lose every 2^-24.
        for n in [0usize, 1, 7, 8, 9, 127, 128, 129, 1000, 4097] {
            let data: Vec<f32> = (0..n).map(|i| (i % 5) as f32).collect();
            let v = view(&[n], &[1], 0);
            let sum: Vec<f32> =
                reduce_into(ReduceOp::Sum, DType::Float32, &data, &v, None, 1).unwrap();
            let exact: f64 = data.iter().map(|&x| x as f64).sum();
            assert_eq!(sum[0] as f64, exact, "n = {n}");
        }
    }

    #[test]
    fn a_hundred_million_float32_ones_sum_to_exactly_1e8() {
        let one = [1.0f32];
        let v = view(&[100_000_000], &[0], 0);
        let sum: Vec<f32> = reduce_into(ReduceOp::Sum, DType::Float32, &one, &v, None, 1).unwrap();
        assert_eq!(sum[0], 1e8);
        let mean: Vec<f32> =
            reduce_into(ReduceOp::Mean, DType::Float32, &one, &v, None, 1).unwrap();
        assert_eq!(mean[0], 1.0);
    }

    #[test]
    fn nan_propagates_and_empty_reductions_have_numpys_values() {
        let data = [1.0, f64::NAN, -3.0];
        let v = view(&[3], &[1], 0);
        for op in [ReduceOp::Min, ReduceOp::Max, ReduceOp::Sum, ReduceOp::Mean] {
            let r: Vec<f64> = reduce_into(op, DType::Float64, &data, &v, None, 1).unwrap();
            assert!(r[0].is_nan(), "{op:?}");
        }
        let empty = view(&[0], &[1], 0);
        let none: [f64; 0] = [];
        let r: Vec<f64> =
            reduce_into(ReduceOp::Sum, DType::Float64, &none, &empty, None, 1).unwrap();
        assert_eq!(r[0], 0.0);
        let r: Vec<f64> =
            reduce_into(ReduceOp::Prod, DType::Float64, &none, &empty, None, 1).unwrap();
        assert_eq!(r[0], 1.0);
        let r: Vec<f64> =
            reduce_into(ReduceOp::Mean, DType::Float64, &none, &empty, None, 1).unwrap();
        assert!(r[0].is_nan());
        let r: Vec<u8> =
            reduce_into(ReduceOp::All, DType::Float64, &none, &empty, None, 1).unwrap();
        assert_eq!(r[0], 1);
        let r: Vec<u8> =
            reduce_into(ReduceOp::Any, DType::Float64, &none, &empty, None, 1).unwrap();
        assert_eq!(r[0], 0);
        let e = reduce_into::<f64, f64>(ReduceOp::Max, DType::Float64, &none, &empty, None, 1)
            .unwrap_err();
        assert_eq!(
            e.message,
            "zero-size array to reduction operation maximum which has no identity"
        );
        assert_eq!(e.code, ErrorCode::Domain);
        let e = reduce_into::<f64, f64>(
            ReduceOp::Min,
            DType::Float64,
            &none,
            &view(&[0, 3], &[3, 1], 0),
            Some(0),
            3,
        )
        .unwrap_err();
        assert!(e.message.contains("operation minimum"));
        // An empty output needs no identity.
        let r: Vec<f64> = reduce_into(
            ReduceOp::Min,
            DType::Float64,
            &none,
            &view(&[3, 0], &[0, 1], 0),
            Some(0),
            0,
        )
        .unwrap();
        assert!(r.is_empty());
    }

    #[test]
    fn min_and_max_find_a_nan_anywhere_and_the_extreme_otherwise() {
        for n in [1usize, 7, 8, 9, 17, 40] {
            let data: Vec<f32> = (0..n).map(|i| ((i * 37) % 11) as f32 - 5.0).collect();
            let v = view(&[n], &[1], 0);
            let max: Vec<f32> =
                reduce_into(ReduceOp::Max, DType::Float32, &data, &v, None, 1).unwrap();
            let min: Vec<f32> =
                reduce_into(ReduceOp::Min, DType::Float32, &data, &v, None, 1).unwrap();
            assert_eq!(
                max[0],
                data.iter().copied().fold(f32::MIN, f32::max),
                "n = {n}"
            );
            assert_eq!(
                min[0],
                data.iter().copied().fold(f32::MAX, f32::min),
                "n = {n}"
            );
            for at in 0..n {
                let mut with_nan = data.clone();
                with_nan[at] = f32::NAN;
                for op in [ReduceOp::Min, ReduceOp::Max] {
                    let r: Vec<f32> =
                        reduce_into(op, DType::Float32, &with_nan, &v, None, 1).unwrap();
                    assert!(r[0].is_nan(), "{op:?} n = {n}, NaN at {at}");
                }
            }
        }
    }

    #[test]
    fn any_all_count_treat_nan_as_true_and_negative_zero_as_false() {
        let data = [0.0f32, -0.0, f32::NAN];
        let v = view(&[3], &[1], 0);
        let count: Vec<i64> =
            reduce_into(ReduceOp::CountNonzero, DType::Float32, &data, &v, None, 1).unwrap();
        assert_eq!(count[0], 1);
        let any: Vec<u8> = reduce_into(
            ReduceOp::Any,
            DType::Float32,
            &data[..2],
            &view(&[2], &[1], 0),
            None,
            1,
        )
        .unwrap();
        assert_eq!(any[0], 0);
        let all: Vec<u8> = reduce_into(
            ReduceOp::All,
            DType::Float32,
            &data[2..],
            &view(&[1], &[1], 0),
            None,
            1,
        )
        .unwrap();
        assert_eq!(all[0], 1);
        let bools = [0u8, 2, 0];
        let max: Vec<u8> = reduce_into(ReduceOp::Max, DType::Bool, &bools, &v, None, 1).unwrap();
        assert_eq!(max[0], 1);
        let sum: Vec<i64> = reduce_into(ReduceOp::Sum, DType::Bool, &bools, &v, None, 1).unwrap();
        assert_eq!(sum[0], 1);
    }

    #[test]
    fn bad_views_axes_and_outputs_are_refused() {
        let data = [0i32; 12];
        let message = |v: &View, axis, out_len| {
            reduce_into::<i32, i64>(ReduceOp::Sum, DType::Int32, &data, v, axis, out_len)
                .unwrap_err()
                .message
        };
        assert_eq!(
            message(&view(&[3, 4], &[4, 1], 0), Some(2), 3),
            "axis 2 is out of bounds for array of dimension 2"
        );
        assert_eq!(
            message(&view(&[3, 4], &[4, 1], 0), Some(-3), 3),
            "axis -3 is out of bounds for array of dimension 2"
        );
        assert!(message(&view(&[3, 4], &[4, 1], 1), None, 1).contains("addresses elements 1 to 12"));
        assert!(message(&view(&[3, 4], &[-4, 1], 0), None, 1).contains("addresses elements -8"));
        assert!(message(&view(&[3, 4], &[4, 1], 0), Some(0), 3).contains("out has 3 elements"));
        assert!(message(&view(&[2], &[isize::MAX], 0), None, 1).contains("addresses"));
        assert!(message(&view(&[usize::MAX, 2], &[0, 0], 0), None, 1).contains("more elements"));
        assert!(message(&view(&[3], &[1, 1], 0), None, 1).contains("strides"));
        let mut overlap = [0i64; 4];
        let args = ReduceArgs {
            op: ReduceOp::Sum,
            dtype: DType::Int64,
            data: overlap.as_ptr().cast(),
            data_len: 4,
            view: &view(&[4], &[1], 0),
            axis: None,
            out: overlap[3..].as_mut_ptr().cast(),
            out_len: 1,
            threads: 1,
        };
        // SAFETY: both pointers are valid for their lengths.
        assert_eq!(
            unsafe { reduce(&args) }.unwrap_err().code,
            ErrorCode::Overlap
        );
    }

    #[test]
    fn geometry_decodes_and_refuses_non_integers() {
        let (v, axis) = View::decode(&[5.0, -1.0, 2.0, 3.0, 4.0, -4.0, 1.0]).unwrap();
        assert_eq!(v, view(&[3, 4], &[-4, 1], 5));
        assert_eq!(axis, Some(-1));
        let (_, axis) = View::decode(&[0.0, f64::NAN, 0.0]).unwrap();
        assert_eq!(axis, None);
        for bad in [
            vec![0.5, f64::NAN, 0.0],
            vec![0.0, f64::NAN, 1.0, 3.0],
            vec![0.0, f64::NAN, 1.0, -3.0, 1.0],
            vec![0.0, f64::INFINITY, 0.0],
            vec![0.0, f64::NAN, 65.0],
            vec![],
        ] {
            assert!(View::decode(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn thread_counts_do_not_change_float_sums() {
        let mut seed = 3;
        let data: Vec<f64> = (0..300_000)
            .map(|_| (lcg(&mut seed) as f64 / 7.0).sin())
            .collect();
        let v = view(&[data.len()], &[1], 0);
        let sums: Vec<f64> = [1, 2, 3, 8]
            .iter()
            .map(|&threads| {
                let mut out = [0.0f64];
                let args = ReduceArgs {
                    op: ReduceOp::Sum,
                    dtype: DType::Float64,
                    data: data.as_ptr().cast(),
                    data_len: data.len(),
                    view: &v,
                    axis: None,
                    out: out.as_mut_ptr().cast(),
                    out_len: 1,
                    threads,
                };
                // SAFETY: the buffers are valid for their lengths.
                unsafe { reduce(&args) }.unwrap();
                out[0]
            })
            .collect();
        assert!(
            sums.iter().all(|s| s.to_bits() == sums[0].to_bits()),
            "{sums:?}"
        );
    }
}
