//! N-d geometry: the shape of a run, each array's offset and strides, and the
//! per-block gather that reads a strided or broadcast array into scratch.
//!
//! A geometry block, as the bindings pass it (8-byte slots, each a whole
//! number in `[-2^53, 2^53]` stored as an `f64`):
//!
//! ```text
//! [0]                 ndim (at most MAX_NDIM)
//! [1 ..= ndim]        the result's shape
//! then, per array (outputs first, then inputs), 1 + ndim slots:
//!   offset            the element index in the array of element [0, ..., 0]
//!   strides[ndim]     in elements; negative and zero strides are allowed
//! ```
//!
//! The result is laid out row-major over the shape. Element `[i0, ..., ik]`
//! of array `a` is `a[offset + Σ i_d * strides[d]]`; the VM checks that the
//! least and the greatest index any element reaches are inside the array.

use crate::{Error, ErrorCode};

/// The most dimensions a geometry may have (NumPy's limit).
pub const MAX_NDIM: usize = 32;

/// The largest magnitude of a geometry slot (2^53: exact in an `f64`).
const SLOT_MAX: f64 = 9_007_199_254_740_992.0;

fn bad_args(message: String) -> Error {
    Error::new(ErrorCode::BadArguments, message)
}

/// One dimension of an array's walk: `extent` elements `stride` apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Dim {
    pub(crate) extent: usize,
    pub(crate) stride: isize,
}

/// The decoded geometry of an N-d run: the shape, and per array its offset
/// and strides (the block layout [`Geometry::decode`] reads is drawn at the
/// top of `rust/core/src/nd.rs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Geometry {
    shape: Vec<usize>,
    offsets: Vec<usize>,
    /// `ndim` strides per array, array after array.
    strides: Vec<isize>,
}

/// A geometry slot: a whole number within ±2^53.
fn slot(block: &[[u8; 8]], i: usize, what: &dyn Fn() -> String) -> Result<i64, Error> {
    let x = f64::from_ne_bytes(block[i]);
    if (-SLOT_MAX..=SLOT_MAX).contains(&x) && x.trunc() == x {
        return Ok(x as i64);
    }
    Err(bad_args(format!(
        "geometry[{i}] ({}) is {x:?}, not a whole number in [-2^53, 2^53]",
        what()
    )))
}

impl Geometry {
    /// A geometry from its parts: `strides` holds `shape.len()` strides per
    /// array, and there is one offset per array. Checks the sizes and
    /// `ndim <= MAX_NDIM`; the bounds are checked against the arrays by the run.
    pub fn new(shape: &[usize], offsets: &[usize], strides: &[isize]) -> Result<Geometry, Error> {
        let ndim = shape.len();
        if ndim > MAX_NDIM {
            return Err(bad_args(format!(
                "geometry has {ndim} dimensions, more than {MAX_NDIM}"
            )));
        }
        if Some(strides.len()) != offsets.len().checked_mul(ndim) {
            return Err(bad_args(format!(
                "geometry has {} strides for {} arrays of {ndim} dimensions",
                strides.len(),
                offsets.len()
            )));
        }
        Ok(Geometry {
            shape: shape.to_vec(),
            offsets: offsets.to_vec(),
            strides: strides.to_vec(),
        })
    }

    /// Decodes a geometry block (see the module docs) for `n_arrays` arrays;
    /// the block must have exactly `1 + ndim + n_arrays * (1 + ndim)` slots.
    pub fn decode(block: &[[u8; 8]], n_arrays: usize) -> Result<Geometry, Error> {
        if block.is_empty() {
            return Err(bad_args(
                "geometry is empty: it needs at least ndim".to_string(),
            ));
        }
        let ndim = slot(block, 0, &|| "ndim".to_string())?;
        let ndim = usize::try_from(ndim)
            .ok()
            .filter(|&d| d <= MAX_NDIM)
            .ok_or_else(|| bad_args(format!("geometry ndim is {ndim}, not in [0, {MAX_NDIM}]")))?;
        let want = n_arrays
            .checked_mul(1 + ndim)
            .and_then(|s| s.checked_add(1 + ndim))
            .ok_or_else(|| bad_args(format!("geometry for {n_arrays} arrays is too large")))?;
        if block.len() != want {
            return Err(bad_args(format!(
                "geometry has {} slots; ndim {ndim} and {n_arrays} arrays need {want}",
                block.len()
            )));
        }
        let mut shape = Vec::with_capacity(ndim);
        for d in 0..ndim {
            let extent = slot(block, 1 + d, &|| format!("shape[{d}]"))?;
            shape.push(
                usize::try_from(extent)
                    .map_err(|_| bad_args(format!("geometry shape[{d}] is {extent}, negative")))?,
            );
        }
        let mut offsets = Vec::with_capacity(n_arrays);
        let mut strides = Vec::with_capacity(n_arrays * ndim);
        for k in 0..n_arrays {
            let base = 1 + ndim + k * (1 + ndim);
            let offset = slot(block, base, &|| format!("offset of array {k}"))?;
            offsets.push(usize::try_from(offset).map_err(|_| {
                bad_args(format!(
                    "geometry offset of array {k} is {offset}, negative"
                ))
            })?);
            for d in 0..ndim {
                let stride = slot(block, base + 1 + d, &|| format!("stride {d} of array {k}"))?;
                // |stride| <= 2^53 fits isize on 64-bit targets; elsewhere refuse.
                strides.push(isize::try_from(stride).map_err(|_| {
                    bad_args(format!(
                        "geometry stride {d} of array {k} is {stride}, beyond this platform"
                    ))
                })?);
            }
        }
        Ok(Geometry {
            shape,
            offsets,
            strides,
        })
    }

    /// The result's shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Arrays described.
    pub fn n_arrays(&self) -> usize {
        self.offsets.len()
    }

    /// Elements of the result (the product of the shape; 0 when an extent
    /// is 0, whatever the others), if it fits a `usize`.
    pub fn size(&self) -> Option<usize> {
        if self.shape.contains(&0) {
            return Some(0);
        }
        self.shape
            .iter()
            .try_fold(1usize, |acc, &e| acc.checked_mul(e))
    }

    /// Array `k`'s offset and strides.
    pub(crate) fn array(&self, k: usize) -> (usize, &[isize]) {
        let ndim = self.shape.len();
        (self.offsets[k], &self.strides[k * ndim..(k + 1) * ndim])
    }

    /// The least and the greatest element index array `k` reaches (see
    /// [`reach`]; they always fit for ±2^53 slots). Only meaningful when the
    /// result is not empty.
    pub(crate) fn reach(&self, k: usize) -> Option<(i128, i128)> {
        let (offset, strides) = self.array(k);
        reach(offset, &self.shape, strides)
    }

    /// Array `k`'s walk over the result in row-major order, with dimensions of
    /// extent 1 dropped and dimensions that continue each other merged (the
    /// order of elements is unchanged). Empty for a one-element result.
    pub(crate) fn walk(&self, k: usize) -> Vec<Dim> {
        let (_, strides) = self.array(k);
        let mut dims: Vec<Dim> = Vec::with_capacity(self.shape.len());
        for (&extent, &stride) in self.shape.iter().zip(strides) {
            if extent == 1 {
                continue;
            }
            match dims.last_mut() {
                // The outer dimension steps exactly over this whole inner one.
                Some(last) if last.stride as i128 == stride as i128 * extent as i128 => {
                    last.extent *= extent;
                    last.stride = stride;
                }
                _ => dims.push(Dim { extent, stride }),
            }
        }
        dims
    }
}

/// The least and the greatest element index a strided view reaches: element
/// `[i0, ..., ik]` is at `offset + Σ i_d * strides[d]`. `None` when they do
/// not fit an `i128`. Only meaningful when the view is not empty (no extent
/// is 0).
pub(crate) fn reach(offset: usize, shape: &[usize], strides: &[isize]) -> Option<(i128, i128)> {
    let mut lo = i128::try_from(offset).ok()?;
    let mut hi = lo;
    for (&extent, &stride) in shape.iter().zip(strides) {
        let span = i128::try_from(extent)
            .ok()?
            .checked_sub(1)?
            .checked_mul(i128::try_from(stride).ok()?)?;
        if span < 0 {
            lo = lo.checked_add(span)?;
        } else {
            hi = hi.checked_add(span)?;
        }
    }
    Some((lo, hi))
}

/// Whether a walk reads the elements in order, one after the other.
pub(crate) fn is_contiguous(walk: &[Dim]) -> bool {
    match walk {
        [] => true,
        [only] => only.stride == 1,
        _ => false,
    }
}

/// Copies elements `start .. start + len` (in row-major order of the walk)
/// of a strided array of `size`-byte elements into `dst`: rows of the
/// innermost dimension at a time, with fast paths for strides 1, -1 and 0,
/// and the rows of a transposed view several at a time.
///
/// # Safety
///
/// `origin` points to the array's element `[0, ..., 0]`; every element the
/// walk reaches from it is readable; `start + len` is at most the product of
/// the walk's extents (1 for an empty walk); `dst` is valid for writes of
/// `len` elements and does not overlap the array; `size` is 1, 2, 4 or 8 and
/// both pointers are aligned for it.
pub(crate) unsafe fn gather(
    size: usize,
    origin: *const u8,
    walk: &[Dim],
    start: usize,
    len: usize,
    dst: *mut u8,
) {
    const ONE: [Dim; 1] = [Dim {
        extent: 1,
        stride: 0,
    }];
    let walk = if walk.is_empty() { &ONE[..] } else { walk };
    // SAFETY: forwarded from this function's contract, for the element type
    // of `size` bytes.
    unsafe {
        match size {
            1 => gather_t(origin, walk, start, len, dst),
            2 => gather_t(origin.cast::<u16>(), walk, start, len, dst.cast::<u16>()),
            4 => gather_t(origin.cast::<u32>(), walk, start, len, dst.cast::<u32>()),
            _ => gather_t(origin.cast::<u64>(), walk, start, len, dst.cast::<u64>()),
        }
    }
}

/// [`gather`] for elements of type `T`, over a non-empty walk.
///
/// # Safety
///
/// As [`gather`].
#[inline(always)]
unsafe fn gather_t<T: Copy>(origin: *const T, walk: &[Dim], start: usize, len: usize, dst: *mut T) {
    let (inner, outer) = walk.split_last().expect("a non-empty walk");
    // The odometer: the index in each outer dimension, and the element offset
    // (in elements from the origin) of the current row's first element.
    let mut index = [0usize; MAX_NDIM];
    let mut rest = start;
    let mut i = rest % inner.extent;
    rest /= inner.extent;
    let mut row: isize = 0;
    for (d, dim) in outer.iter().enumerate().rev() {
        index[d] = rest % dim.extent;
        rest /= dim.extent;
        row += index[d] as isize * dim.stride;
    }
    // Rows next to each other in memory (a transposed view: the inner stride
    // is long, the next dimension's short) are read several at a time, so
    // each cache line fetched serves every row of the block.
    let tile = match outer.last() {
        Some(next) if inner.stride.unsigned_abs() > 1 => {
            next.stride.unsigned_abs() < inner.stride.unsigned_abs()
        }
        _ => false,
    };
    let mut done = 0;
    while done < len {
        if tile && i == 0 {
            let (last, next) = (outer.len() - 1, outer[outer.len() - 1]);
            let rows = ((len - done) / inner.extent).min(next.extent - index[last]);
            if rows >= 2 {
                // SAFETY: the `rows` rows from the odometer's are whole rows of
                // the walk (rows <= what is left of the next dimension), so
                // every element read is one the contract makes readable; dst
                // has room for the rows * extent <= len - done elements.
                unsafe {
                    for j in 0..inner.extent {
                        let src = origin.offset(row + j as isize * inner.stride);
                        let out = dst.add(done + j);
                        for r in 0..rows {
                            *out.add(r * inner.extent) = *src.offset(r as isize * next.stride);
                        }
                    }
                }
                done += rows * inner.extent;
                // Advance the odometer by `rows` rows, then carry as below.
                index[last] += rows;
                row += rows as isize * next.stride;
                if index[last] == next.extent {
                    index[last] = 0;
                    row -= next.extent as isize * next.stride;
                    advance(&mut index, &mut row, &outer[..last]);
                }
                continue;
            }
        }
        let count = (inner.extent - i).min(len - done);
        // SAFETY: the odometer is at an element of the walk, which the
        // contract makes readable, as are the `count` elements of its row
        // from `i`; `dst` has room for `len >= done + count` elements.
        unsafe {
            let src = origin.offset(row + i as isize * inner.stride);
            let out = dst.add(done);
            match inner.stride {
                1 => std::ptr::copy_nonoverlapping(src, out, count),
                // A constant stride the compiler can vectorize (a reversed view).
                -1 => {
                    for j in 0..count {
                        *out.add(j) = *src.sub(j);
                    }
                }
                0 => {
                    let value = *src;
                    for j in 0..count {
                        *out.add(j) = value;
                    }
                }
                stride => {
                    for j in 0..count {
                        *out.add(j) = *src.offset(j as isize * stride);
                    }
                }
            }
        }
        done += count;
        i = 0;
        advance(&mut index, &mut row, outer);
    }
}

/// Moves the odometer over `outer` (the outer dimensions of a walk) to the
/// next row: the innermost of them steps, carrying into the ones outside.
#[inline(always)]
fn advance(index: &mut [usize; MAX_NDIM], row: &mut isize, outer: &[Dim]) {
    for (d, dim) in outer.iter().enumerate().rev() {
        index[d] += 1;
        *row += dim.stride;
        if index[d] < dim.extent {
            break;
        }
        index[d] = 0;
        *row -= dim.extent as isize * dim.stride;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(slots: &[f64]) -> Vec<[u8; 8]> {
        slots.iter().map(|x| x.to_ne_bytes()).collect()
    }

    /// The naive reference: element `flat` of the result, by index arithmetic.
    fn naive(shape: &[usize], offset: usize, strides: &[isize], flat: usize) -> usize {
        let mut rest = flat;
        let mut at = offset as isize;
        for d in (0..shape.len()).rev() {
            at += (rest % shape[d]) as isize * strides[d];
            rest /= shape[d];
        }
        at as usize
    }

    /// Gathers every block of every split of the result and compares with `naive`.
    fn check_gather(shape: &[usize], offset: usize, strides: &[isize], len: usize) {
        let g = Geometry::new(shape, &[offset], strides).unwrap();
        let n = g.size().unwrap();
        let src: Vec<u32> = (0..len as u32).map(|x| x * 7 + 1).collect();
        let walk = g.walk(0);
        for chunk in [1, 3, 7, n.max(1)] {
            let mut start = 0;
            while start < n {
                let count = chunk.min(n - start);
                let mut dst = vec![0u32; count];
                // SAFETY: the geometry's reach is inside `src` (the callers
                // pick it so), and `dst` has `count` elements.
                unsafe {
                    gather(
                        4,
                        src.as_ptr().add(offset).cast(),
                        &walk,
                        start,
                        count,
                        dst.as_mut_ptr().cast(),
                    )
                };
                for (j, &got) in dst.iter().enumerate() {
                    let want = src[naive(shape, offset, strides, start + j)];
                    assert_eq!(got, want, "{shape:?} {strides:?} element {}", start + j);
                }
                start += count;
            }
        }
    }

    #[test]
    fn gathers_broadcast_transposed_and_reversed_views() {
        check_gather(&[3, 4, 5], 0, &[5, 0, 1], 15); // (3,1,5) broadcast to (3,4,5)
        check_gather(&[3, 4, 5], 0, &[0, 5, 1], 20); // (4,5) broadcast
        check_gather(&[4, 3], 0, &[1, 4], 12); // a transposed (3,4)
        check_gather(&[2, 3], 5, &[-3, -1], 6); // both axes reversed
        check_gather(&[5], 9, &[-2], 10); // every other element, backwards
        check_gather(&[2, 3, 2], 0, &[0, 0, 0], 1); // one element everywhere
        check_gather(&[], 2, &[], 3); // 0-d
        check_gather(&[1, 6, 1], 0, &[9, 1, 9], 6); // extent-1 dimensions
                                                    // Transposed views, read several rows at a time.
        check_gather(&[5, 3], 0, &[1, 5], 15);
        check_gather(&[2, 5, 3], 0, &[15, 1, 5], 30);
        check_gather(&[3, 4, 3], 26, &[-1, 3, -12], 36);
        check_gather(&[4, 2, 3], 0, &[1, 0, 4], 12);
    }

    #[test]
    fn walks_merge_contiguous_dimensions() {
        let g = Geometry::new(&[2, 3, 4], &[0, 0, 0], &[12, 4, 1, 0, 4, 1, 4, 1, 12]).unwrap();
        assert_eq!(
            g.walk(0),
            [Dim {
                extent: 24,
                stride: 1
            }]
        );
        assert!(is_contiguous(&g.walk(0)));
        assert_eq!(
            g.walk(1),
            [
                Dim {
                    extent: 2,
                    stride: 0
                },
                Dim {
                    extent: 12,
                    stride: 1
                }
            ]
        );
        assert!(!is_contiguous(&g.walk(2)));
        assert!(is_contiguous(
            &Geometry::new(&[1, 1], &[3], &[5, 7]).unwrap().walk(0)
        ));
    }

    #[test]
    fn reach_spans_negative_and_positive_strides() {
        let g = Geometry::new(&[2, 3], &[5, 0], &[-3, -1, 3, 1]).unwrap();
        assert_eq!(g.reach(0), Some((0, 5)));
        assert_eq!(g.reach(1), Some((0, 5)));
        let g = Geometry::new(&[4, 1], &[7], &[100, -100]).unwrap();
        assert_eq!(g.reach(0), Some((7, 307)));
        assert_eq!(reach(9, &[], &[]), Some((9, 9)));
        assert_eq!(reach(0, &[3, 4], &[-4, 1]), Some((-8, 3)));
        assert_eq!(reach(0, &[2, 3], &[0, 0]), Some((0, 0)));
    }

    #[test]
    fn reach_is_none_when_it_overflows_an_i128() {
        let max = usize::MAX;
        let span = (max as i128 - 1) * isize::MAX as i128;
        assert_eq!(reach(0, &[max], &[isize::MAX]), Some((0, span)));
        assert_eq!(reach(0, &[max, max], &[isize::MAX, isize::MAX]), None);
        assert_eq!(reach(0, &[max, max], &[isize::MIN, isize::MIN]), None);
        assert_eq!(
            reach(max, &[2], &[isize::MIN]),
            Some((max as i128 + isize::MIN as i128, max as i128))
        );
    }

    #[test]
    fn decodes_blocks_and_refuses_bad_ones() {
        let g = Geometry::decode(&block(&[2.0, 3.0, 4.0, 1.0, -4.0, 1.0]), 1).unwrap();
        assert_eq!(g.shape(), [3, 4]);
        assert_eq!(g.array(0), (1, &[-4isize, 1][..]));
        assert_eq!(g.size(), Some(12));
        let refused = [
            (vec![], 0, "geometry is empty"),
            (vec![33.0], 0, "geometry ndim is 33"),
            (vec![-1.0], 0, "geometry ndim is -1"),
            (vec![1.0, 2.0], 1, "geometry has 2 slots"),
            (vec![1.0, -2.0, 0.0, 1.0], 1, "geometry shape[0] is -2"),
            (
                vec![1.0, 2.0, -1.0, 1.0],
                1,
                "geometry offset of array 0 is -1",
            ),
            (vec![1.0, 2.5, 0.0, 1.0], 1, "geometry[1] (shape[0]) is 2.5"),
            (
                vec![1.0, 2.0, 0.0, f64::NAN],
                1,
                "geometry[3] (stride 0 of array 0)",
            ),
            (
                vec![0.0, 1e300],
                1,
                "geometry[1] (offset of array 0) is 1e300",
            ),
        ];
        for (slots, n_arrays, want) in refused {
            let e = Geometry::decode(&block(&slots), n_arrays).expect_err(want);
            assert_eq!(e.code, ErrorCode::BadArguments);
            assert!(e.message.starts_with(want), "{} vs {want}", e.message);
        }
        assert!(Geometry::new(&[1; 33], &[], &[]).is_err());
        assert!(Geometry::new(&[2], &[0, 0], &[1]).is_err());
        assert_eq!(
            Geometry::new(&[usize::MAX, 2], &[], &[]).unwrap().size(),
            None
        );
        assert_eq!(
            Geometry::new(&[usize::MAX, 2, 0], &[], &[]).unwrap().size(),
            Some(0)
        );
    }
}
