//! Running a program: argument checks, the thread plan and the block loop.

use std::cell::RefCell;
use std::ptr;

use rayon::iter::{IntoParallelIterator, ParallelIterator};

use crate::kernels::{store_fence, Mode, STATUS_NEGATIVE_POWER};
use crate::nd::{gather, is_contiguous, Dim, Geometry};
use crate::program::{Loc, Program, Value, MAX_SCRATCH_BYTES};
use crate::reduce::{reduce_computed, ReduceOp, SUM_CHUNK};
use crate::{DType, Error, ErrorCode};

/// Elements per block: every register's block of a thread stays in cache.
pub const BLOCK: usize = 4096;

/// The least work (elements × Σ opcode cost) worth splitting across threads.
pub const PARALLEL_WORK_MIN: u64 = 1 << 18;

/// Runs of at least this many elements have their kernels ask the cache
/// for operands ahead of use (their arrays stream from memory or the last
/// cache level; below, the prefetches only cost instructions).
pub const PREFETCH_MIN: usize = 1 << 20;

/// Outputs of a 1-D run of at least this many bytes are written with
/// non-temporal stores (`Mode::Stream`) when no input is the same array and
/// no instruction reads them back. Measured on this project's 2-core VM (2
/// threads, 2^24 float32 into a reused output): ReLU 2.65–2.69 ms against
/// 2.71–2.92 ms with plain stores and prefetching, tanh∘ReLU 4.40–4.47
/// against 4.56–4.64 ms; in a loop outside the VM, plain stores were as fast
/// up to 32 MiB (the output still in the cache for what reads it next) and
/// faster below 4 MiB.
pub const STREAM_MIN_BYTES: usize = 32 << 20;

/// One array of a run: `len` elements of its slot's dtype at `ptr`.
#[derive(Clone, Copy, Debug)]
pub struct ArrayArg {
    /// The first element; may be null only when the run has `n == 0`.
    pub ptr: *mut u8,
    /// Length in elements (not bytes); must equal the run's `n`.
    pub len: usize,
}

/// The arguments of one [`run`].
#[derive(Clone, Copy, Debug)]
pub struct RunArgs<'a> {
    /// Elements to compute.
    pub n: usize,
    /// The output slots' arrays first, then the input slots'.
    pub arrays: &'a [ArrayArg],
    /// Per scalar slot, the value's 8 raw little-endian bytes (`f64` for float
    /// slots, `i64` for integer and bool slots).
    pub scalars: &'a [[u8; 8]],
    /// Threads to use at most; 0 counts as 1.
    pub threads: usize,
}

impl Program {
    /// How many contiguous ranges of blocks [`run`] splits `n` elements into
    /// with `threads` threads: 1 (the calling thread, no rayon) unless
    /// `threads > 1`, `n > BLOCK` and `n × Σ cost >= PARALLEL_WORK_MIN`.
    pub fn plan_threads(&self, n: usize, threads: usize) -> usize {
        let work = (n as u64).saturating_mul(self.cost);
        if threads > 1 && n > BLOCK && work >= PARALLEL_WORK_MIN {
            threads.min(blocks(n))
        } else {
            1
        }
    }
}

fn blocks(n: usize) -> usize {
    n / BLOCK + usize::from(n % BLOCK != 0)
}

/// Runs `program` over `args.n` elements.
///
/// Outputs may alias inputs exactly (same start address and element size),
/// as long as the program does not read such an input after writing the
/// output; any other overlap is refused with [`ErrorCode::Overlap`].
///
/// # Safety
///
/// Every non-null `ptr` is valid for reads (inputs) / writes (outputs) of
/// `len` elements of its slot's dtype for the whole call, and no other thread
/// writes them meanwhile.
#[inline(always)]
pub unsafe fn run(program: &Program, args: &RunArgs) -> Result<(), Error> {
    check_run(program, args)?;
    // SAFETY: checked just now; the rest is this function's contract.
    unsafe { run_unchecked(program, args) }
}

/// [`run`] without its checks, for a caller that knows the arguments pass
/// them: the same program, n, pointers, lengths and number of scalars
/// passed [`check_run`] before (the checks read nothing else).
///
/// # Safety
///
/// As [`run`], and `check_run(program, args)` returns Ok.
#[inline(always)]
pub unsafe fn run_unchecked(program: &Program, args: &RunArgs) -> Result<(), Error> {
    let job = Job {
        program,
        arrays: args.arrays,
        scalars: args.scalars,
        n: args.n,
        streamed: streamed_outputs(program, args.arrays, args.n),
    };
    // SAFETY: the arguments were checked and the caller guarantees the
    // arrays; the ranges `split_blocks` runs are disjoint.
    status_result(split_blocks(program, args, |lo, hi| unsafe {
        job.blocks(lo, hi)
    }))
}

/// Runs `range(lo, hi)` over the blocks of a run of `args.n` elements, each
/// block once: all on this thread (no rayon) when [`Program::plan_threads`]
/// says 1, else split into disjoint ranges run in parallel (the runs' safety
/// rests on this: no two calls of `range` share a block). Returns the first
/// nonzero kernel status, or 0.
#[inline(always)]
fn split_blocks(
    program: &Program,
    args: &RunArgs,
    range: impl Fn(usize, usize) -> u32 + Sync,
) -> u32 {
    let n_blocks = blocks(args.n);
    let parts = program.plan_threads(args.n, args.threads);
    if n_blocks == 0 {
        0
    } else if parts <= 1 {
        range(0, n_blocks)
    } else {
        let split = |p: usize| (p as u128 * n_blocks as u128 / parts as u128) as usize;
        (0..parts)
            .into_par_iter()
            .map(|p| range(split(p), split(p + 1)))
            .reduce(|| 0, |first, next| if first != 0 { first } else { next })
    }
}

/// Runs `program` over an N-d `geometry`: `args.n` must be the product of its
/// shape, and each array's `len` is its whole length in elements, which every
/// element the geometry reaches must be inside.
///
/// Outputs must be contiguous (row-major over the shape, from their offset).
/// Inputs that are too are read in place; any other input is gathered block
/// by block into the thread's scratch. An output may alias an input exactly
/// (the same first element and element size, both read in place), under the
/// same rule as [`run`]; any other overlap is refused with
/// [`ErrorCode::Overlap`].
///
/// # Safety
///
/// Every non-null `ptr` is valid for reads (inputs) / writes (outputs) of
/// `len` elements of its slot's dtype for the whole call, and no other thread
/// writes them meanwhile.
pub unsafe fn run_nd(program: &Program, args: &RunArgs, geometry: &Geometry) -> Result<(), Error> {
    let plan = check_nd(program, args, geometry)?;
    let job = NdJob {
        program,
        plan: &plan,
        scalars: args.scalars,
        n: args.n,
    };
    // SAFETY: the arguments were checked and the caller guarantees the
    // arrays; the ranges `split_blocks` runs are disjoint.
    status_result(split_blocks(program, args, |lo, hi| unsafe {
        job.blocks(lo, hi)
    }))
}

/// Runs `program` and reduces its one output with `op`, whole, into `out`
/// (one element of `op.result_dtype` of the output's dtype), without
/// materializing the output: each thread computes it chunk by chunk (8192
/// elements, NumPy's buffer size, row-major over the geometry's shape) into
/// its scratch and reduces each chunk as it is made. The result is bit for bit
/// that of [`run`] / [`run_nd`] into an array and then [`crate::reduce`]
/// over it, whatever the thread count.
///
/// `args` are the run's own: `args.arrays[0]`, in the output's slot, is
/// where the result goes (one element of the result dtype, so `len` 1),
/// then the input slots' arrays. With a `geometry` (its output entry is not
/// read; inputs as [`run_nd`] takes them) the run is N-d, else every input
/// has `args.n` elements.
///
/// # Safety
///
/// Every non-null input `ptr` is valid for reads of `len` elements of its
/// slot's dtype, and the result's for writes of one element of the result
/// dtype, for the whole call, and no other thread writes them meanwhile.
pub unsafe fn run_reduce(
    program: &Program,
    args: &RunArgs,
    geometry: Option<&Geometry>,
    op: ReduceOp,
) -> Result<(), Error> {
    let plan = check_reduce(program, args, geometry)?;
    let out = args.arrays[0].ptr;
    let n = args.n;
    let job = NdJob {
        program,
        plan: &plan,
        scalars: args.scalars,
        n,
    };
    // Only the job is shared between threads (it is Sync).
    let job = &job;
    let compute = move |lo: usize, hi: usize, visit: &mut dyn FnMut(*const u8, usize)| {
        let chunks = |scratch: *mut u8| {
            let mut bases = vec![ptr::null_mut::<u8>(); job.plan.access.len()];
            for chunk in lo..hi {
                let start = chunk * SUM_CHUNK;
                let end = job.n.min(start + SUM_CHUNK);
                // SAFETY: the job passed `check_reduce`; this thread's
                // scratch holds the chunk, which no other thread touches.
                let status =
                    unsafe { job.run_blocks(scratch, &mut bases, start / BLOCK, blocks(end)) };
                if status != 0 {
                    return status;
                }
                // SAFETY: the blocks just wrote the chunk's end - start
                // elements at the chunk buffer.
                visit(unsafe { scratch.add(job.plan.chunk) }, end - start);
            }
            0
        };
        let bytes = job.plan.scratch_bytes;
        // SAFETY: the plan's scratch covers the program's, the gathers' and
        // the chunk's.
        unsafe { with_broadcasts(job.program, job.scalars, bytes, job.n, chunks) }
    };
    let parts = program.plan_threads(n, args.threads);
    let dtype = program.output_dtype(0);
    // SAFETY: every chunk visited is in this thread's scratch, readable for
    // its length; the caller guarantees `out`.
    let status = unsafe { reduce_computed(op, dtype, n, parts, out, &compute) }?;
    status_result(status)
}

#[inline(always)]
fn status_result(status: u32) -> Result<(), Error> {
    if status == 0 {
        Ok(())
    } else {
        Err(status_error(status))
    }
}

/// The error of a nonzero kernel status.
#[cold]
fn status_error(status: u32) -> Error {
    if status & STATUS_NEGATIVE_POWER != 0 {
        Error::new(
            ErrorCode::Domain,
            "integers to negative integer powers are not allowed",
        )
    } else {
        Error::new(
            ErrorCode::Domain,
            format!("a kernel reported domain error status {status:#x}"),
        )
    }
}

/// The slot an array of a run belongs to, for messages.
fn slot_of(program: &Program, k: usize) -> (&'static str, usize, DType) {
    let (n_outputs, dtype) = (program.n_outputs(), slot_dtype(program, k));
    if k < n_outputs {
        ("output", k, dtype)
    } else {
        ("input", k - n_outputs, dtype)
    }
}

/// The dtype of array `k` of a run (outputs first, then inputs).
#[inline(always)]
fn slot_dtype(program: &Program, k: usize) -> DType {
    let n_outputs = program.n_outputs();
    if k < n_outputs {
        program.output_dtype(k)
    } else {
        program.input_dtype(k - n_outputs)
    }
}

fn bad_args(message: String) -> Error {
    Error::new(ErrorCode::BadArguments, message)
}

/// The byte range of an array (checked to fit the address space).
fn byte_range(arg: &ArrayArg, size: usize) -> (usize, usize) {
    let start = arg.ptr as usize;
    (start, start + arg.len * size)
}

/// Checks the numbers of arrays and scalars of a run.
#[inline(always)]
fn check_counts(program: &Program, args: &RunArgs) -> Result<(), Error> {
    let (n_outputs, n_inputs) = (program.n_outputs(), program.n_inputs());
    if args.arrays.len() != n_outputs + n_inputs {
        return Err(bad_args(format!(
            "the program takes {} arrays ({n_outputs} outputs, then {n_inputs} inputs), got {}",
            n_outputs + n_inputs,
            args.arrays.len()
        )));
    }
    check_scalars(program, args)
}

/// Checks the number of scalars of a run.
#[inline(always)]
fn check_scalars(program: &Program, args: &RunArgs) -> Result<(), Error> {
    if args.scalars.len() != program.n_scalars() {
        return Err(bad_args(format!(
            "the program takes {} scalars, got {}",
            program.n_scalars(),
            args.scalars.len()
        )));
    }
    Ok(())
}

/// Checks array `k`'s pointer: non-null unless `len` is 0, aligned, and its
/// `len` elements inside the address space.
#[inline(always)]
fn check_pointer(program: &Program, k: usize, arg: &ArrayArg, len: usize) -> Result<(), Error> {
    let (kind, slot, dtype) = slot_of(program, k);
    if arg.ptr.is_null() {
        if len > 0 {
            return Err(bad_args(format!(
                "{kind} slot {slot}: null pointer for {len} elements"
            )));
        }
        return Ok(());
    }
    // Element sizes are powers of two: a mask, not a division.
    if arg.ptr as usize & (dtype.size() - 1) != 0 {
        return Err(bad_args(format!(
            "{kind} slot {slot}: address {:p} is not aligned for {}",
            arg.ptr,
            dtype.name()
        )));
    }
    let fits = len
        .checked_mul(dtype.size())
        .and_then(|bytes| (arg.ptr as usize).checked_add(bytes))
        .is_some_and(|end| end <= isize::MAX as usize);
    if !fits {
        return Err(bad_args(format!(
            "{kind} slot {slot}: {len} elements of {} do not fit the address space",
            dtype.name()
        )));
    }
    Ok(())
}

/// The checks [`run`] makes of its arguments, alone: a function of the
/// program, `args.n`, the arrays' pointers and lengths and the number of
/// scalars, nothing else.
#[inline(always)]
pub fn check_run(program: &Program, args: &RunArgs) -> Result<(), Error> {
    check_counts(program, args)?;
    let (n, n_outputs) = (args.n, program.n_outputs());
    for (k, arg) in args.arrays.iter().enumerate() {
        if arg.len != n {
            let (kind, slot, _) = slot_of(program, k);
            return Err(bad_args(format!(
                "{kind} slot {slot}: array has {} elements, the run has n = {n}",
                arg.len
            )));
        }
        check_pointer(program, k, arg, n)?;
    }
    if n == 0 {
        return Ok(());
    }
    check_overlaps(program, n_outputs + program.n_inputs(), |k, size| {
        (byte_range(&args.arrays[k], size), true)
    })
}

/// Refuses outputs that overlap another array, but for an exact alias of an
/// input (same start and element size) read in place, which the program
/// does not read after writing the output. `span(k, size)` is array `k`'s
/// byte range and whether it is read in place.
fn check_overlaps(
    program: &Program,
    count: usize,
    span: impl Fn(usize, usize) -> ((usize, usize), bool),
) -> Result<(), Error> {
    for o in 0..program.n_outputs() {
        let size = program.output_dtype(o).size();
        let ((o_start, o_end), _) = span(o, size);
        for k in o + 1..count {
            let ((start, end), in_place) = span(k, slot_dtype(program, k).size());
            if start >= o_end || o_start >= end {
                continue;
            }
            let (kind, slot, dtype) = slot_of(program, k);
            if kind == "output" {
                return Err(Error::new(
                    ErrorCode::Overlap,
                    format!("output slots {o} and {slot} overlap"),
                ));
            }
            if !in_place {
                return Err(Error::new(
                    ErrorCode::Overlap,
                    format!(
                        "output slot {o} overlaps input slot {slot}, which is strided or \
                         broadcast (only an exact alias of a contiguous input is allowed)"
                    ),
                ));
            }
            if start != o_start || dtype.size() != size {
                return Err(Error::new(
                    ErrorCode::Overlap,
                    format!(
                        "output slot {o} partially overlaps input slot {slot} \
                         (only an exact alias, same start and element size, is allowed)"
                    ),
                ));
            }
            if let Some(read) = program.last_read[slot].filter(|&r| r > program.first_write[o]) {
                return Err(Error::new(
                    ErrorCode::Overlap,
                    format!(
                        "output slot {o} is the same array as input slot {slot}, but instruction \
                         {read} reads the input after instruction {} writes the output",
                        program.first_write[o]
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// A checked run, shared by the threads working on it.
struct Job<'a> {
    program: &'a Program,
    arrays: &'a [ArrayArg],
    scalars: &'a [[u8; 8]],
    n: usize,
    /// The outputs written with non-temporal stores ([`streamed_outputs`]).
    streamed: u64,
}

// SAFETY: a Job only carries the caller's array pointers, which `run`'s
// contract makes valid for the whole call with no other writer; the parts of
// a threaded run write disjoint element ranges and read inputs only.
unsafe impl Sync for Job<'_> {}

impl Job<'_> {
    /// Runs blocks `lo..hi`; returns the first nonzero kernel status, or 0.
    ///
    /// # Safety
    ///
    /// The job's arguments passed `check`, `run`'s contract holds, and no
    /// other thread runs an overlapping block range of this job.
    #[inline(always)]
    unsafe fn blocks(&self, lo: usize, hi: usize) -> u32 {
        let (program, n, streamed) = (self.program, self.n, self.streamed);
        let run = |scratch: *mut u8| {
            let mut status = 0;
            for block in lo..hi {
                let start = block * BLOCK;
                let at = |loc: Loc| match loc {
                    // SAFETY: the array has n > start elements of `size` bytes.
                    Loc::Array { arg, size } => unsafe { self.arrays[arg].ptr.add(start * size) },
                    _ => scratch_at(loc, scratch),
                };
                let len = BLOCK.min(n - start);
                let last = block + 1 == hi;
                let next = |loc: Loc| match loc {
                    Loc::Array { arg, size } if !last => self.arrays[arg]
                        .ptr
                        .wrapping_add((start + BLOCK) * size)
                        .cast_const(),
                    _ => ptr::null(),
                };
                // SAFETY: as this function's contract; arrays have n
                // elements, so `len` from `start`; `check` refused inexact
                // array overlaps.
                status = unsafe { run_block(program, len, n >= PREFETCH_MIN, streamed, at, next) };
                if status != 0 {
                    break;
                }
            }
            if streamed != 0 {
                store_fence();
            }
            status
        };
        // SAFETY: the scratch is the program's size.
        unsafe { with_broadcasts(program, self.scalars, program.scratch_bytes, n, run) }
    }
}

/// Where a register in the scratch is: at its offset in `scratch` (null for
/// no operand; the callers place array registers themselves).
#[inline(always)]
fn scratch_at(loc: Loc, scratch: *mut u8) -> *mut u8 {
    match loc {
        // The layout put the register inside the scratch, which the caller
        // passes whole: the offset stays in bounds.
        Loc::Scratch(offset) => scratch.wrapping_add(offset),
        Loc::Unused | Loc::Array { .. } => ptr::null_mut(),
    }
}

/// The output slots of a 1-D run of `n` elements written with
/// non-temporal stores, as a bit set: those of [`STREAM_MIN_BYTES`] or more
/// (below slot 64, on x86_64) whose array is no input's (an exact alias has
/// its lines in the cache already) and that no instruction reads (what is
/// read back should stay in the cache).
fn streamed_outputs(program: &Program, arrays: &[ArrayArg], n: usize) -> u64 {
    // No dtype is larger than 8 bytes: a small run is decided at once.
    if !cfg!(target_arch = "x86_64") || n < STREAM_MIN_BYTES / 8 {
        return 0;
    }
    let (outputs, inputs) = arrays.split_at(program.n_outputs());
    let read = |o: usize| {
        program.instrs.iter().any(|ins| {
            ins.src
                .iter()
                .any(|&loc| matches!(loc, Loc::Array { arg, .. } if arg == o))
        })
    };
    let mut set = 0;
    for (o, output) in outputs.iter().enumerate().take(64) {
        let bytes = n.saturating_mul(program.output_dtype(o).size());
        if bytes >= STREAM_MIN_BYTES && inputs.iter().all(|a| a.ptr != output.ptr) && !read(o) {
            set |= 1 << o;
        }
    }
    set
}

/// Runs the program's instructions over one block of `len` elements, each
/// register's block at `at(loc)`, the kernels prefetching `ahead` (see
/// [`PREFETCH_MIN`]), then also the next block of their paired array at
/// `next(loc)` (null: none; see `Instr::next`), and writing the output slots
/// in `streamed` (a bit set, [`streamed_outputs`]) with non-temporal stores;
/// returns the first nonzero kernel status, or 0.
///
/// # Safety
///
/// Each location `at` gives holds `len` elements of its register's dtype
/// (arrays and gathers `len` from the block's start, scratch blocks
/// `BLOCK`, broadcasts filled for min(n, BLOCK)); each instruction's
/// destination is disjoint from or exactly one of its sources (scratch
/// registers are disjoint, and the run's check refused inexact overlaps).
/// `next` may give any address: the kernels only prefetch from it.
#[inline(always)]
unsafe fn run_block(
    program: &Program,
    len: usize,
    ahead: bool,
    streamed: u64,
    at: impl Fn(Loc) -> *mut u8,
    next: impl Fn(Loc) -> *const u8,
) -> u32 {
    for ins in &program.instrs {
        let next = if ahead { next(ins.next) } else { ptr::null() };
        let mode = match ins.dst {
            Loc::Array { arg, .. } if arg < 64 && streamed >> arg & 1 != 0 => Mode::Stream { next },
            _ if ahead => Mode::Ahead { next },
            _ => Mode::Plain,
        };
        // SAFETY: as this function's contract; the kernel matches the
        // registers' dtypes (validated).
        let status = unsafe {
            (ins.kernel)(
                len,
                at(ins.dst),
                at(ins.src[0]),
                at(ins.src[1]),
                at(ins.src[2]),
                at(ins.src[3]),
                mode,
            )
        };
        if status != 0 {
            return status;
        }
    }
    0
}

/// Calls `f` with this thread's scratch of `bytes`, the program's scalar
/// and constant registers filled for a run of `n` elements.
///
/// # Safety
///
/// `bytes` is at least the program's `scratch_bytes`.
#[inline(always)]
unsafe fn with_broadcasts<R>(
    program: &Program,
    scalars: &[[u8; 8]],
    bytes: usize,
    n: usize,
    f: impl FnOnce(*mut u8) -> R,
) -> R {
    with_scratch(bytes, |scratch| {
        // SAFETY: the scratch holds the program's, and min(n, BLOCK) <= BLOCK.
        unsafe { fill_broadcasts(program, scalars, scratch, n.min(BLOCK)) };
        f(scratch)
    })
}

/// Fills the first `count` elements of every scalar and constant register.
///
/// # Safety
///
/// `scratch` holds at least the program's `scratch_bytes`; `count <= BLOCK`.
#[inline(always)]
unsafe fn fill_broadcasts(program: &Program, scalars: &[[u8; 8]], scratch: *mut u8, count: usize) {
    for b in &program.broadcasts {
        let raw = match b.value {
            Value::Const(raw) => raw,
            Value::Scalar(slot) => scalars[slot],
        };
        // SAFETY: the layout gave this register BLOCK elements of its dtype
        // at a 64-byte-aligned offset inside the scratch.
        unsafe { (b.fill)(scratch.add(b.offset), count, raw) };
    }
}

/// How an N-d run reads or writes one array, block by block.
enum Access {
    /// Contiguous: the block starting at result element `start` is at
    /// `base + start * size`.
    InPlace { base: *mut u8, size: usize },
    /// Strided or broadcast: gathered from `origin` (element [0, ..., 0])
    /// along `walk` into the scratch at byte offset `buf`.
    Gather {
        origin: *const u8,
        walk: Vec<Dim>,
        size: usize,
        buf: usize,
    },
    /// A reduced output: the block starting at result element `start` is
    /// at `start % SUM_CHUNK` in the chunk of the scratch at byte offset `buf`.
    Chunk { size: usize, buf: usize },
}

/// A checked N-d run: each array's access, and the scratch it needs per thread.
struct NdPlan {
    access: Vec<Access>,
    scratch_bytes: usize,
    /// Where a reduced output's chunk is in the scratch (a reduction only).
    chunk: usize,
}

/// Checks an N-d run (counts, pointers, the geometry against every array's
/// length, contiguous outputs, overlaps) and plans its accesses.
fn check_nd(program: &Program, args: &RunArgs, geometry: &Geometry) -> Result<NdPlan, Error> {
    check_counts(program, args)?;
    let n = args.n;
    if geometry.n_arrays() != args.arrays.len() {
        return Err(bad_args(format!(
            "the geometry describes {} arrays, the run has {}",
            geometry.n_arrays(),
            args.arrays.len()
        )));
    }
    if geometry.size() != Some(n) {
        return Err(bad_args(format!(
            "the geometry's shape {:?} does not have n = {n} elements",
            geometry.shape()
        )));
    }
    let mut plan = NdPlan {
        access: Vec::with_capacity(args.arrays.len()),
        scratch_bytes: program.scratch_bytes,
        chunk: 0,
    };
    let mut reach = Vec::with_capacity(args.arrays.len());
    for (k, arg) in args.arrays.iter().enumerate() {
        check_pointer(program, k, arg, arg.len)?;
        if n == 0 {
            continue;
        }
        let (access, bytes) = plan_access(program, geometry, k, arg, &mut plan.scratch_bytes)?;
        reach.push(bytes);
        plan.access.push(access);
    }
    if n == 0 {
        return Ok(plan);
    }
    check_overlaps(program, args.arrays.len(), |k, _| {
        let in_place = matches!(plan.access[k], Access::InPlace { .. });
        (reach[k], in_place)
    })?;
    Ok(plan)
}

/// Checks array `k` of an N-d run (of n > 0 elements) against the geometry
/// and plans its access: in place if contiguous, else (inputs only)
/// gathered into scratch at `*scratch_bytes`, which grows. Also returns
/// the byte range its elements reach.
fn plan_access(
    program: &Program,
    geometry: &Geometry,
    k: usize,
    arg: &ArrayArg,
    scratch_bytes: &mut usize,
) -> Result<(Access, (usize, usize)), Error> {
    let (kind, slot, dtype) = slot_of(program, k);
    let size = dtype.size();
    let (lo, hi) = geometry
        .reach(k)
        .filter(|&(lo, hi)| lo >= 0 && hi < arg.len as i128)
        .ok_or_else(|| {
            bad_args(format!(
                "{kind} slot {slot}: the geometry reaches elements outside its {} elements",
                arg.len
            ))
        })?;
    // In bounds of an array that fits the address space (checked by the caller).
    let (lo, hi) = (lo as usize, hi as usize);
    let start = arg.ptr as usize;
    let bytes = (start + lo * size, start + (hi + 1) * size);
    let walk = geometry.walk(k);
    let (offset, _) = geometry.array(k);
    // SAFETY: offset is between lo and hi, inside the array.
    let origin = unsafe { arg.ptr.add(offset * size) };
    let access = if is_contiguous(&walk) {
        Access::InPlace { base: origin, size }
    } else if kind == "output" {
        return Err(bad_args(format!(
            "output slot {slot}: the geometry is not contiguous; outputs must be"
        )));
    } else {
        let buf = *scratch_bytes;
        *scratch_bytes = buf
            .checked_add(BLOCK * size)
            .filter(|&total| total - program.scratch_bytes <= MAX_SCRATCH_BYTES)
            .ok_or_else(|| {
                bad_args(format!(
                    "input slot {slot}: gathering the strided and broadcast inputs needs \
                     more than {MAX_SCRATCH_BYTES} bytes of scratch per thread"
                ))
            })?;
        Access::Gather {
            origin,
            walk,
            size,
            buf,
        }
    };
    Ok((access, bytes))
}

/// Checks a fused reduction's run (one output, whose array holds the one
/// result element; the inputs, against `n` or the geometry) and plans its
/// accesses, the output's a chunk in scratch.
fn check_reduce(
    program: &Program,
    args: &RunArgs,
    geometry: Option<&Geometry>,
) -> Result<NdPlan, Error> {
    let (n, n_inputs) = (args.n, program.n_inputs());
    if program.n_outputs() != 1 {
        return Err(bad_args(format!(
            "a reduced program has one output (the reduction's argument), this one has {}",
            program.n_outputs()
        )));
    }
    if args.arrays.len() != 1 + n_inputs {
        return Err(bad_args(format!(
            "the program takes {} arrays (the result, then {n_inputs} inputs), got {}",
            1 + n_inputs,
            args.arrays.len()
        )));
    }
    if args.arrays[0].len != 1 {
        return Err(bad_args(format!(
            "the result array has {} elements, a whole reduction writes 1",
            args.arrays[0].len
        )));
    }
    check_scalars(program, args)?;
    if let Some(geometry) = geometry {
        if geometry.n_arrays() != 1 + n_inputs {
            return Err(bad_args(format!(
                "the geometry describes {} arrays, the run has {}",
                geometry.n_arrays(),
                1 + n_inputs
            )));
        }
        if geometry.size() != Some(n) {
            return Err(bad_args(format!(
                "the geometry's shape {:?} does not have n = {n} elements",
                geometry.shape()
            )));
        }
    }
    let size = program.output_dtype(0).size();
    let mut plan = NdPlan {
        access: Vec::with_capacity(1 + n_inputs),
        scratch_bytes: program.scratch_bytes,
        chunk: 0,
    };
    plan.access.push(Access::Chunk { size, buf: 0 });
    for (i, arg) in args.arrays[1..].iter().enumerate() {
        let k = 1 + i;
        match geometry {
            None if arg.len != n => {
                return Err(bad_args(format!(
                    "input slot {i}: array has {} elements, the run has n = {n}",
                    arg.len
                )));
            }
            None => {
                check_pointer(program, k, arg, n)?;
                let size = program.input_dtype(i).size();
                plan.access.push(Access::InPlace {
                    base: arg.ptr,
                    size,
                });
            }
            Some(geometry) => {
                check_pointer(program, k, arg, arg.len)?;
                if n > 0 {
                    let (access, _) =
                        plan_access(program, geometry, k, arg, &mut plan.scratch_bytes)?;
                    plan.access.push(access);
                }
            }
        }
    }
    // The chunk goes last, 64-byte aligned (the scratch is).
    plan.chunk = (plan.scratch_bytes + 63) / 64 * 64;
    plan.scratch_bytes = plan.chunk + SUM_CHUNK * size;
    plan.access[0] = Access::Chunk {
        size,
        buf: plan.chunk,
    };
    Ok(plan)
}

/// A checked N-d run, shared by the threads working on it.
struct NdJob<'a> {
    program: &'a Program,
    plan: &'a NdPlan,
    scalars: &'a [[u8; 8]],
    n: usize,
}

// SAFETY: an NdJob only carries the caller's array pointers, which
// `run_nd`'s contract makes valid for the whole call with no other writer;
// the parts of a threaded run write disjoint element ranges, read inputs
// only, and gather into their own thread's scratch.
unsafe impl Sync for NdJob<'_> {}

impl NdJob<'_> {
    /// Runs blocks `lo..hi`; returns the first nonzero kernel status, or 0.
    ///
    /// # Safety
    ///
    /// The job passed `check_nd`, `run_nd`'s contract holds, and no other
    /// thread runs an overlapping block range of this job.
    unsafe fn blocks(&self, lo: usize, hi: usize) -> u32 {
        let run = |scratch: *mut u8| {
            let mut bases = vec![ptr::null_mut::<u8>(); self.plan.access.len()];
            // SAFETY: as this function's contract; the broadcasts are filled.
            unsafe { self.run_blocks(scratch, &mut bases, lo, hi) }
        };
        let bytes = self.plan.scratch_bytes;
        // SAFETY: the plan's scratch covers the program's and the gathers'.
        unsafe { with_broadcasts(self.program, self.scalars, bytes, self.n, run) }
    }

    /// Runs blocks `lo..hi` in `scratch`, whose broadcasts are filled, with
    /// `bases` (one per array) as room for the blocks' addresses; returns
    /// the first nonzero kernel status, or 0.
    ///
    /// # Safety
    ///
    /// As [`NdJob::blocks`]; `scratch` is this thread's, of the plan's size.
    unsafe fn run_blocks(
        &self,
        scratch: *mut u8,
        bases: &mut [*mut u8],
        lo: usize,
        hi: usize,
    ) -> u32 {
        for block in lo..hi {
            let start = block * BLOCK;
            let len = BLOCK.min(self.n - start);
            for (base, access) in bases.iter_mut().zip(&self.plan.access) {
                *base = match access {
                    // SAFETY: a contiguous array holds n > start elements
                    // from its base (checked against its length).
                    Access::InPlace { base, size } => unsafe { base.add(start * size) },
                    Access::Gather {
                        origin,
                        walk,
                        size,
                        buf,
                    } => {
                        // SAFETY: the plan put BLOCK elements of `size`
                        // at `buf` inside this thread's scratch; the walk
                        // reaches only elements inside the array (checked),
                        // which no output overlaps (checked), and
                        // start + len <= n, the walk's element count.
                        unsafe {
                            let dst = scratch.add(*buf);
                            gather(*size, *origin, walk, start, len, dst);
                            dst
                        }
                    }
                    // SAFETY: the plan put SUM_CHUNK elements of `size`
                    // at `buf`; a block starts at a multiple of BLOCK,
                    // which divides SUM_CHUNK, so it fits in the chunk.
                    Access::Chunk { size, buf } => unsafe {
                        scratch.add(buf + start % SUM_CHUNK * size)
                    },
                };
            }
            let at = |loc: Loc| match loc {
                Loc::Array { arg, .. } => bases[arg],
                _ => scratch_at(loc, scratch),
            };
            let last = block + 1 == hi;
            let next = |loc: Loc| match (loc, last) {
                (Loc::Array { arg, .. }, false) => match self.plan.access[arg] {
                    Access::InPlace { base, size } => {
                        base.wrapping_add((start + BLOCK) * size).cast_const()
                    }
                    _ => ptr::null(),
                },
                _ => ptr::null(),
            };
            let ahead = self.n >= PREFETCH_MIN;
            // SAFETY: arrays and gathers hold `len` elements from `start`
            // (as above); `check_nd` or `check_reduce` refused inexact
            // overlaps.
            let status = unsafe { run_block(self.program, len, ahead, 0, at, next) };
            if status != 0 {
                return status;
            }
        }
        0
    }
}

/// A cache line; the scratch is a vector of them, so it is 64-byte aligned.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; 64]);

thread_local! {
    /// Each thread's scratch, kept between runs so steady state allocates nothing.
    static SCRATCH: RefCell<Vec<Line>> = const { RefCell::new(Vec::new()) };
}

/// Calls `f` with at least `bytes` of 64-byte-aligned scratch: none for 0
/// bytes (a dangling pointer, never dereferenced), else this thread's
/// buffer, borrowed in place, or a fresh one if it is in use (re-entry) or
/// gone (thread exit).
#[inline(always)]
fn with_scratch<R>(bytes: usize, f: impl FnOnce(*mut u8) -> R) -> R {
    if bytes == 0 {
        return f(ptr::NonNull::<Line>::dangling().as_ptr().cast());
    }
    let lines = bytes / 64 + usize::from(bytes % 64 != 0);
    let mut f = Some(f);
    let kept = SCRATCH.try_with(|cell| {
        let mut buf = cell.try_borrow_mut().ok()?;
        if buf.len() < lines {
            buf.resize(lines, Line([0; 64]));
        }
        f.take().map(|f| f(buf.as_mut_ptr().cast()))
    });
    match (kept, f) {
        (Ok(Some(result)), _) => result,
        (_, Some(f)) => f(vec![Line([0; 64]); lines].as_mut_ptr().cast()),
        (_, None) => unreachable!("the scratch's closure ran but returned nothing"),
    }
}
