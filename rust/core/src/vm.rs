//! Running a program: argument checks, the thread plan and the block loop.

use std::cell::Cell;
use std::ptr;

use rayon::iter::{IntoParallelIterator, ParallelIterator};

use crate::kernels::STATUS_NEGATIVE_POWER;
use crate::program::{Loc, Program, Value};
use crate::{DType, Error, ErrorCode};

/// Elements per block: every register's block of a thread stays in cache.
pub const BLOCK: usize = 4096;

/// The least work (elements × Σ opcode cost) worth splitting across threads.
pub const PARALLEL_WORK_MIN: u64 = 1 << 18;

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
pub unsafe fn run(program: &Program, args: &RunArgs) -> Result<(), Error> {
    check(program, args)?;
    if args.n == 0 {
        return Ok(());
    }
    let job = Job {
        program,
        arrays: args.arrays,
        scalars: args.scalars,
        n: args.n,
    };
    let n_blocks = blocks(args.n);
    let parts = program.plan_threads(args.n, args.threads);
    let status = if parts <= 1 {
        // SAFETY: the arguments were checked and the caller guarantees the
        // arrays; the one range covers every block.
        unsafe { job.blocks(0, n_blocks) }
    } else {
        let split = |p: usize| (p as u128 * n_blocks as u128 / parts as u128) as usize;
        (0..parts)
            .into_par_iter()
            // SAFETY: the ranges [split(p), split(p + 1)) are disjoint, so
            // each part writes elements no other part touches.
            .map(|p| unsafe { job.blocks(split(p), split(p + 1)) })
            .reduce(|| 0, |first, next| if first != 0 { first } else { next })
    };
    match status {
        0 => Ok(()),
        s if s & STATUS_NEGATIVE_POWER != 0 => Err(Error::new(
            ErrorCode::Domain,
            "integers to negative integer powers are not allowed",
        )),
        s => Err(Error::new(
            ErrorCode::Domain,
            format!("a kernel reported domain error status {s:#x}"),
        )),
    }
}

/// The slot an array of a run belongs to, for messages.
fn slot_of(program: &Program, k: usize) -> (&'static str, usize, DType) {
    let n_outputs = program.n_outputs();
    if k < n_outputs {
        ("output", k, program.output_dtype(k))
    } else {
        ("input", k - n_outputs, program.input_dtype(k - n_outputs))
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

fn check(program: &Program, args: &RunArgs) -> Result<(), Error> {
    let (n, n_outputs, n_inputs) = (args.n, program.n_outputs(), program.n_inputs());
    if args.arrays.len() != n_outputs + n_inputs {
        return Err(bad_args(format!(
            "the program takes {} arrays ({n_outputs} outputs, then {n_inputs} inputs), got {}",
            n_outputs + n_inputs,
            args.arrays.len()
        )));
    }
    if args.scalars.len() != program.n_scalars() {
        return Err(bad_args(format!(
            "the program takes {} scalars, got {}",
            program.n_scalars(),
            args.scalars.len()
        )));
    }
    for (k, arg) in args.arrays.iter().enumerate() {
        let (kind, slot, dtype) = slot_of(program, k);
        if arg.len != n {
            return Err(bad_args(format!(
                "{kind} slot {slot}: array has {} elements, the run has n = {n}",
                arg.len
            )));
        }
        if arg.ptr.is_null() {
            if n > 0 {
                return Err(bad_args(format!(
                    "{kind} slot {slot}: null pointer for {n} elements"
                )));
            }
            continue;
        }
        if arg.ptr as usize % dtype.size() != 0 {
            return Err(bad_args(format!(
                "{kind} slot {slot}: address {:p} is not aligned for {}",
                arg.ptr,
                dtype.name()
            )));
        }
        let fits = n
            .checked_mul(dtype.size())
            .and_then(|bytes| (arg.ptr as usize).checked_add(bytes))
            .is_some_and(|end| end <= isize::MAX as usize);
        if !fits {
            return Err(bad_args(format!(
                "{kind} slot {slot}: {n} elements of {} do not fit the address space",
                dtype.name()
            )));
        }
    }
    if n == 0 {
        return Ok(());
    }
    for o in 0..n_outputs {
        let size = program.output_dtype(o).size();
        let (o_start, o_end) = byte_range(&args.arrays[o], size);
        for k in o + 1..args.arrays.len() {
            let (kind, slot, dtype) = slot_of(program, k);
            let (start, end) = byte_range(&args.arrays[k], dtype.size());
            if start >= o_end || o_start >= end {
                continue;
            }
            if kind == "output" {
                return Err(Error::new(
                    ErrorCode::Overlap,
                    format!("output slots {o} and {slot} overlap"),
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
    unsafe fn blocks(&self, lo: usize, hi: usize) -> u32 {
        with_scratch(self.program.scratch_bytes, |scratch| {
            let count = self.n.min(BLOCK);
            for b in &self.program.broadcasts {
                let raw = match b.value {
                    Value::Const(raw) => raw,
                    Value::Scalar(slot) => self.scalars[slot],
                };
                // SAFETY: the layout gave this register BLOCK elements of its
                // dtype at a 64-byte-aligned offset inside the scratch.
                unsafe { (b.fill)(scratch.add(b.offset), count, raw) };
            }
            for block in lo..hi {
                let start = block * BLOCK;
                let len = BLOCK.min(self.n - start);
                for ins in &self.program.instrs {
                    // SAFETY: each location holds `len` elements from `start`
                    // (arrays have n elements, scratch blocks BLOCK, and
                    // broadcasts were filled with min(n, BLOCK)); the kernel
                    // matches the registers' dtypes (validated); dst is
                    // disjoint from or exactly a source: scratch registers are
                    // disjoint, and `check` refused inexact array overlaps.
                    let status = unsafe {
                        (ins.kernel)(
                            len,
                            self.at(ins.dst, start, scratch),
                            self.at(ins.src[0], start, scratch),
                            self.at(ins.src[1], start, scratch),
                            self.at(ins.src[2], start, scratch),
                        )
                    };
                    if status != 0 {
                        return status;
                    }
                }
            }
            0
        })
    }

    /// The address of a register's block starting at element `start`.
    ///
    /// # Safety
    ///
    /// `start < n`, and `scratch` is this thread's scratch of the program's size.
    #[inline(always)]
    unsafe fn at(&self, loc: Loc, start: usize, scratch: *mut u8) -> *mut u8 {
        match loc {
            Loc::Unused => ptr::null_mut(),
            // SAFETY: the array has n > start elements of `size` bytes.
            Loc::Array { arg, size } => unsafe { self.arrays[arg].ptr.add(start * size) },
            // SAFETY: the layout put the register inside the scratch.
            Loc::Scratch(offset) => unsafe { scratch.add(offset) },
        }
    }
}

/// A cache line; the scratch is a vector of them, so it is 64-byte aligned.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; 64]);

thread_local! {
    /// Each thread's scratch, kept between runs so steady state allocates nothing.
    static SCRATCH: Cell<Vec<Line>> = const { Cell::new(Vec::new()) };
}

/// Calls `f` with at least `bytes` of 64-byte-aligned scratch: this thread's
/// buffer, or a fresh one if it is in use (re-entry) or gone (thread exit).
fn with_scratch<R>(bytes: usize, f: impl FnOnce(*mut u8) -> R) -> R {
    let lines = bytes / 64 + usize::from(bytes % 64 != 0);
    let mut buf = SCRATCH.try_with(Cell::take).unwrap_or_default();
    if buf.len() < lines {
        buf.resize(lines, Line([0; 64]));
    }
    let result = f(buf.as_mut_ptr().cast());
    // If the thread-local is gone, the buffer is simply dropped.
    let _ = SCRATCH.try_with(|cell| cell.set(buf));
    result
}
