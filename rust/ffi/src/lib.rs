//! # The numfuse C ABI, for Deno FFI
//!
//! A handful of `extern "C"` symbols around `numfuse_core`. Every symbol
//! catches panics (none crosses the boundary: it becomes `-5`), checks its
//! pointers for NULL, and keeps the message of the last error in a
//! thread-local string read with `nf_last_error`.
//!
//! ```text
//! u32 nf_abi_version(void)                              5
//! u32 nf_num_cpus(void)                                 std::thread::available_parallelism
//! void nf_advise_fresh(void* buf, f64 byte_len)         huge pages for a fresh result buffer
//! i32 nf_program_new(const u8* code, u32 code_len)      > 0 a handle; < 0 -(error code)
//! i32 nf_program_free(u32 handle)                       0, or -6 for an unknown/freed handle
//! u32 nf_last_error(u8* buf, u32 cap)                   copies min(cap, len) bytes of this
//!                                                       thread's last error (UTF-8, no NUL),
//!                                                       returns len; buf may be NULL if cap == 0
//! i32 nf_run_K(u32 handle, u32 threads, const f64* meta, u32 meta_len,
//!              void* a0, ..., void* a{K-1})             K = 1..=8
//! i32 nf_run_at(u32 handle, u32 threads,                k = 1..=8 arrays by address: block
//!               const f64* block, u32 meta_len,         holds meta_len slots of meta, then
//!               u32 k)                                  the k addresses (f64 whole numbers)
//! i32 nf_run_table(u32 handle, u32 threads, const f64* meta, u32 meta_len,
//!                  const u64* ptrs, u32 count,          any number of arrays; on error
//!                  u8* err, u32 err_cap)                the message is also copied into
//!                                                       err, NUL-terminated (err may be NULL)
//! i32 nf_run_nd(u32 handle, u32 threads, const f64* meta, u32 meta_len,
//!               const f64* geom, u32 geom_len,       an N-d run: geom is the geometry
//!               const u64* ptrs, u32 count,          block of `numfuse_core::Geometry`;
//!               u8* err, u32 err_cap)                lengths in meta are whole arrays
//! i32 nf_run_nd_K(u32 handle, u32 threads, const f64* meta, u32 meta_len,
//!                 const f64* geom, u32 geom_len,
//!                 void* a0, ..., void* a{K-1})       K = 1..=8
//! i32 nf_reduce(u32 op, u32 dtype, const void* data, f64 data_bytes,
//!               const f64* geom, u32 geom_len,       a strided view reduced
//!               void* out, f64 out_bytes, u32 threads,
//!               u8* err, u32 err_cap)
//! i32 nf_run_reduce(u32 handle, u32 threads, u32 op,
//!                   const f64* meta, u32 meta_len,   a program whose one output
//!                   const f64* geom, u32 geom_len,   is reduced whole as it is
//!                   const u64* ptrs, u32 count,      computed; geom NULL (1-D)
//!                   u8* err, u32 err_cap)            or as nf_run_nd's
//! i32 nf_run_reduce_K(u32 handle, u32 threads, u32 op,
//!                     const f64* meta, u32 meta_len,
//!                     void* a0, ..., void* a{K-1})   K = 1..=8, 1-D
//! i32 nf_run_reduce_nd_K(u32 handle, u32 threads, u32 op,
//!                        const f64* meta, u32 meta_len,
//!                        const f64* geom, u32 geom_len,
//!                        void* a0, ..., void* a{K-1}) K = 1..=8, N-d
//! i32 nf_run_async(u32 handle, u32 threads, u32 op,
//!                  const f64* meta, u32 meta_len,    nf_run_table (op NO_REDUCTION,
//!                  const f64* geom, u32 geom_len,    geom NULL), nf_run_nd or
//!                  const u64* ptrs, u32 count,       nf_run_reduce, then 32
//!                  u8* err, u32 err_cap,             buffers for the caller to
//!                  void* keep_0, ..., keep_31)       keep alive, never read
//! i32 nf_run_reduce_at(u32 handle, u32 threads, u32 op,
//!                      const f64* block, u32 meta_len,
//!                      u32 k)                         k = 1..=8, 1-D, as nf_run_at
//! ```
//!
//! The error buffers of `nf_run_table`, `nf_run_nd`, `nf_run_reduce` and
//! `nf_run_async` serve `nonblocking` calls, which run on another thread than
//! the one that would read `nf_last_error`; `nf_run_async` is the one Deno's
//! `nonblocking` runs call (see its docs).
//!
//! **Fused reductions** (`nf_run_reduce*`, `op` a `ReduceOp` code) take the
//! run's own `meta` and arrays, but for the output's slot: its array is where
//! the result goes, one element of the reduction's result dtype (its length
//! in `meta` is 1), and no array of the output is ever stored.
//!
//! Error codes (returned negated): 1 bad program, 2 bad arguments, 3 overlap,
//! 4 domain error, 5 panic, 6 bad handle. A run returns 0 on success.
//!
//! **Runs.** The arrays are the program's output slots first, then its input
//! slots (`K` or `count` must equal their number). `meta` holds `meta_len`
//! 8-byte slots: slot 0 is `n` as an `f64` (a whole number in `[0, 2^53]`),
//! slots `1..=K` each array's length in elements (`f64`, same rule), and the
//! next `n_scalars` slots the scalar values' raw 8 bytes (an `f64` for float
//! slots, an `i64` for integer and bool slots); `meta_len >= 1 + K +
//! n_scalars`. `meta` needs no alignment. `threads == 0` means 1. A zero-length
//! or detached buffer arriving as NULL is fine when `n == 0`.
//!
//! **Runs by address** (`nf_run_at`) are checked as any run, and each
//! thread keeps the bits of its last one that passed the checks (handle,
//! meta's length, n, lengths all n, the addresses) with the program they
//! ran on: a run with the very same bits, while no program has been freed,
//! skips decoding and checking them again (they read nothing else), a third
//! of a 64-element run's native time. Anything else is checked in full.
//!
//! **Handles** are positive `i32`s: the low 20 bits are a registry index + 1,
//! the next 11 bits a generation bumped on every free, so a stale handle is
//! refused (`-6`) rather than reaching a newer program in the same slot. A
//! run holds its own reference to the program, so freeing it while a
//! nonblocking run is in flight on another thread is safe.
//!
//! **As a Rust library** it serves the Node-API addon (`rust/node`): one
//! registry of handles for both bindings ([`register`], [`lookup`],
//! [`free`]) and the runs by address with their record of checked runs
//! ([`run_at`], [`run_reduce_at`], `nf_run_at` and `nf_run_reduce_at` with
//! their errors returned).
//!
//! ```ts
//! const lib = Deno.dlopen(path, {
//!   nf_program_new: { parameters: ["buffer", "u32"], result: "i32" },
//!   nf_run_2: { parameters: ["u32", "u32", "buffer", "u32", "buffer", "buffer"], result: "i32" },
//!   // ...
//! });
//! ```

#![deny(unsafe_op_in_unsafe_fn)]

use std::any::Any;
use std::cell::RefCell;
use std::ffi::c_void;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::slice;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};

use numfuse_core::{
    check_run, run, run_nd, run_reduce, run_unchecked, ArrayArg, Error, ErrorCode, Geometry,
    Program, RunArgs,
};

/// The version of this ABI; bumped on any incompatible change.
pub const ABI_VERSION: u32 = 5;

/// The most arrays `nf_run_at` takes.
const AT_MAX: usize = 8;

/// `nf_run_table` builds its argument list on the stack up to this many arrays.
const TABLE_ON_STACK: usize = 16;

/// Bits of a handle holding the registry index + 1.
const INDEX_BITS: u32 = 20;
const INDEX_MASK: u32 = (1 << INDEX_BITS) - 1;
/// Generations wrap within the 11 bits left below the i32 sign bit.
const GENERATION_MASK: u32 = (1 << (31 - INDEX_BITS)) - 1;

thread_local! {
    static LAST_ERROR: RefCell<String> = const { RefCell::new(String::new()) };
    /// This thread's last program looked up: its handle, `FREES` then, the program.
    static LAST_PROGRAM: RefCell<Option<(u32, u64, Arc<Program>)>> = const { RefCell::new(None) };
    /// This thread's last run by address that passed the checks.
    static CHECKED: RefCell<Option<Checked>> = const { RefCell::new(None) };
}

/// Programs freed so far: a cached lookup is valid while this is unchanged.
static FREES: AtomicU64 = AtomicU64::new(0);

struct Slot {
    generation: u32,
    program: Option<Arc<Program>>,
}

/// The live programs, by handle index, and the indices free for reuse.
struct Registry {
    slots: Vec<Slot>,
    free: Vec<usize>,
}

static PROGRAMS: RwLock<Registry> = RwLock::new(Registry {
    slots: Vec::new(),
    free: Vec::new(),
});

fn set_last_error(message: String) {
    let _ = LAST_ERROR.try_with(|cell| {
        if let Ok(mut last) = cell.try_borrow_mut() {
            *last = message;
        }
    });
}

fn panic_message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "unknown panic payload"
    }
}

/// Runs `f`, turning an error into `-(code)` and a panic into `-5`, each with
/// its message stored for `nf_last_error`.
///
/// The result becomes a status inside the unwinding guard, so what crosses
/// it is one `i32` in a register, not an `Error` through memory.
#[inline(always)]
fn guard(f: impl FnOnce() -> Result<i32, Error>) -> i32 {
    match catch_unwind(AssertUnwindSafe(|| f().unwrap_or_else(failed))) {
        Ok(status) => status,
        Err(payload) => failed(Error::new(
            ErrorCode::Panic,
            format!("internal panic: {}", panic_message(payload.as_ref())),
        )),
    }
}

/// Stores an error's message for `nf_last_error`; returns `-(its code)`.
#[cold]
fn failed(error: Error) -> i32 {
    set_last_error(error.message);
    -(error.code as i32)
}

fn bad_args(message: String) -> Error {
    Error::new(ErrorCode::BadArguments, message)
}

fn bad_handle(handle: u32) -> Error {
    Error::new(
        ErrorCode::BadHandle,
        format!("handle {handle} is not a live program (never created, or already freed)"),
    )
}

/// The program behind a handle, cloned out so the lock is released before
/// running (the Node-API addon's lookup too: both bindings share these
/// handles).
pub fn lookup(handle: u32) -> Result<Arc<Program>, Error> {
    let registry = PROGRAMS.read().unwrap_or_else(PoisonError::into_inner);
    (handle & INDEX_MASK)
        .checked_sub(1)
        .and_then(|index| registry.slots.get(index as usize))
        .filter(|slot| slot.generation == handle >> INDEX_BITS)
        .and_then(|slot| slot.program.clone())
        .ok_or_else(|| bad_handle(handle))
}

/// Calls `f` with the program behind a handle. A thread keeps its last
/// program, with the count of frees at the time, and reuses it while no
/// program has been freed since: repeated runs of one program skip the
/// registry's lock and reference count, a large share of a small run. (A
/// freed program may so outlive its handle until this thread's next lookup,
/// at most one per thread; the freeing thread drops its own at once.)
#[inline(always)]
fn with_program<R>(handle: u32, f: impl FnOnce(&Program) -> Result<R, Error>) -> Result<R, Error> {
    let frees = FREES.load(Ordering::Acquire);
    let cached = LAST_PROGRAM.try_with(|cell| {
        let mut last = cell.try_borrow_mut().ok()?;
        if !matches!(&*last, Some((h, seen, _)) if *h == handle && *seen == frees) {
            *last = match lookup(handle) {
                Ok(program) => Some((handle, frees, program)),
                Err(e) => return Some(Err(e)),
            };
        }
        last.as_ref()
            .map(|(_, _, program)| Ok(Arc::as_ptr(program)))
    });
    let owned;
    let program = match cached {
        // SAFETY: this thread's cache holds an Arc of the program, and only
        // this thread's next lookup or free replaces it: `f` runs the VM,
        // which does neither.
        Ok(Some(Ok(program))) => unsafe { &*program },
        Ok(Some(Err(e))) => return Err(e),
        // The thread-local is gone (the thread is exiting) or borrowed: the registry alone.
        _ => {
            owned = lookup(handle)?;
            &*owned
        }
    };
    f(program)
}

/// Keeps a validated program; returns its handle (a positive `i32`, see the
/// crate docs).
pub fn register(program: Program) -> Result<u32, Error> {
    let mut registry = PROGRAMS.write().unwrap_or_else(PoisonError::into_inner);
    let program = Some(Arc::new(program));
    let index = match registry.free.pop() {
        Some(index) => {
            registry.slots[index].program = program;
            index
        }
        None if registry.slots.len() < INDEX_MASK as usize => {
            registry.slots.push(Slot {
                generation: 0,
                program,
            });
            registry.slots.len() - 1
        }
        None => {
            return Err(bad_args(format!(
                "too many live programs ({INDEX_MASK}); free some first"
            )))
        }
    };
    let generation = registry.slots[index].generation;
    // index + 1 < 2^20 and generation < 2^11: the handle is a positive i32.
    Ok((generation << INDEX_BITS) | (index as u32 + 1))
}

/// The ABI version, [`ABI_VERSION`].
#[no_mangle]
pub extern "C" fn nf_abi_version() -> u32 {
    catch_unwind(|| ABI_VERSION).unwrap_or(0)
}

/// The number of CPUs available to this process (at least 1).
#[no_mangle]
pub extern "C" fn nf_num_cpus() -> u32 {
    catch_unwind(|| {
        std::thread::available_parallelism()
            .map_or(1, |n| u32::try_from(n.get()).unwrap_or(u32::MAX))
    })
    .unwrap_or(1)
}

/// Asks for huge pages on a fresh result buffer of `byte_len` bytes at `buf`
/// before the VM first writes it (see `numfuse_core::advise_fresh`): advisory,
/// it reads and writes no memory, so any arguments are harmless.
#[no_mangle]
pub extern "C" fn nf_advise_fresh(buf: *mut c_void, byte_len: f64) {
    if buf.is_null() || byte_len.is_nan() || byte_len < 0.0 {
        return;
    }
    // `as` saturates: a byte length beyond usize is clamped, and advise_fresh
    // clamps the end of the range in turn.
    let _ = catch_unwind(|| numfuse_core::advise_fresh(buf, byte_len as usize));
}

/// Validates bytecode; returns a handle (> 0) or `-(error code)`.
///
/// # Safety
///
/// `code` is NULL or valid for reads of `code_len` bytes.
#[no_mangle]
pub unsafe extern "C" fn nf_program_new(code: *const u8, code_len: u32) -> i32 {
    guard(|| {
        let code = if code_len == 0 {
            &[][..]
        } else if code.is_null() {
            return Err(bad_args(format!("code is NULL but code_len is {code_len}")));
        } else {
            // SAFETY: non-null, and the caller guarantees code_len readable bytes.
            unsafe { slice::from_raw_parts(code, code_len as usize) }
        };
        // A positive i32 (see `register`).
        Ok(register(Program::new(code)?)? as i32)
    })
}

/// Frees a program; returns 0, or -6 for a handle that is not live.
#[no_mangle]
pub extern "C" fn nf_program_free(handle: u32) -> i32 {
    guard(|| free(handle).map(|()| 0))
}

/// Forgets a handle; its program is dropped when no run holds it any more.
pub fn free(handle: u32) -> Result<(), Error> {
    let mut registry = PROGRAMS.write().unwrap_or_else(PoisonError::into_inner);
    let index = (handle & INDEX_MASK)
        .checked_sub(1)
        .map(|i| i as usize)
        .filter(|&i| {
            registry.slots.get(i).is_some_and(|slot| {
                slot.generation == handle >> INDEX_BITS && slot.program.is_some()
            })
        })
        .ok_or_else(|| bad_handle(handle))?;
    let slot = &mut registry.slots[index];
    let program = slot.program.take();
    slot.generation = (slot.generation + 1) & GENERATION_MASK;
    registry.free.push(index);
    FREES.fetch_add(1, Ordering::Release);
    drop(registry);
    // This thread's cached lookup no longer holds it (others drop theirs on their next lookup).
    let _ = LAST_PROGRAM.try_with(|cell| {
        if let Ok(mut last) = cell.try_borrow_mut() {
            *last = None;
        }
    });
    // A run in flight keeps its own Arc; the last one frees the program.
    drop(program);
    Ok(())
}

/// Copies up to `cap` bytes of this thread's last error message into `buf`
/// and returns the message's full length in bytes.
///
/// # Safety
///
/// `buf` is NULL or valid for writes of `cap` bytes.
#[no_mangle]
pub unsafe extern "C" fn nf_last_error(buf: *mut u8, cap: u32) -> u32 {
    // SAFETY: forwarded from this function's contract.
    unsafe { copy_last_error(buf, cap as usize) }
}

/// Copies up to `cap` bytes of this thread's last error into `buf` and returns
/// the message's full length.
///
/// # Safety
///
/// `buf` is NULL or valid for writes of `cap` bytes.
unsafe fn copy_last_error(buf: *mut u8, cap: usize) -> u32 {
    catch_unwind(AssertUnwindSafe(|| {
        LAST_ERROR
            .try_with(|cell| {
                let Ok(last) = cell.try_borrow() else {
                    return 0;
                };
                let bytes = last.as_bytes();
                let count = bytes.len().min(cap);
                if !buf.is_null() && count > 0 {
                    // SAFETY: buf is non-null and valid for cap >= count bytes;
                    // it cannot overlap our own String.
                    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf, count) };
                }
                u32::try_from(bytes.len()).unwrap_or(u32::MAX)
            })
            .unwrap_or(0)
    }))
    .unwrap_or(0)
}

/// A count from `meta`: a whole number in `[0, 2^53]`.
fn count(meta: &[[u8; 8]], i: usize, what: &str) -> Result<usize, Error> {
    let x = f64::from_ne_bytes(meta[i]);
    // In range, `as i64` truncates exactly (one instruction each way, unlike
    // u64 or a libm trunc call): equality means a whole number.
    if (0.0..=9_007_199_254_740_992.0).contains(&x) && (x as i64) as f64 == x {
        if let Ok(value) = usize::try_from(x as i64) {
            return Ok(value);
        }
    }
    Err(bad_args(format!(
        "meta[{i}] ({what}) is {x:?}, not a whole number in [0, 2^53]"
    )))
}

/// A run on a pointer list: looks the program up, decodes `meta`, runs.
///
/// # Safety
///
/// `meta` is NULL or valid for reads of `meta_len` 8-byte slots; the arrays
/// satisfy [`numfuse_core::run`]'s contract for the lengths given in `meta`.
unsafe fn run_arrays(
    handle: u32,
    threads: u32,
    meta: *const f64,
    meta_len: u32,
    ptrs: impl Fn(usize) -> *mut u8,
    arrays: &mut [ArrayArg],
) -> Result<i32, Error> {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        run_arrays_with(
            handle,
            threads,
            meta,
            meta_len,
            ptrs,
            arrays,
            |program, args| run(program, args),
        )
    }
}

/// As [`run_arrays`], with the run itself done by `runner`.
///
/// # Safety
///
/// As [`run_arrays`], for what `runner` reads and writes.
#[inline(always)]
unsafe fn run_arrays_with(
    handle: u32,
    threads: u32,
    meta: *const f64,
    meta_len: u32,
    ptrs: impl Fn(usize) -> *mut u8,
    arrays: &mut [ArrayArg],
    runner: impl Fn(&Program, &RunArgs) -> Result<(), Error>,
) -> Result<i32, Error> {
    if meta.is_null() {
        return Err(bad_args("meta is NULL".to_string()));
    }
    // SAFETY: non-null and valid for meta_len slots (the caller's contract);
    // [u8; 8] needs no alignment.
    let meta = unsafe { slice::from_raw_parts(meta.cast::<[u8; 8]>(), meta_len as usize) };
    with_program(handle, |program| {
        let k = arrays.len();
        let need = 1 + k + program.n_scalars();
        if meta.len() < need {
            return Err(bad_args(format!(
                "meta has {} slots, the run needs {need} (n, {k} lengths, {} scalars)",
                meta.len(),
                program.n_scalars()
            )));
        }
        let n = count(meta, 0, "n")?;
        for (i, array) in arrays.iter_mut().enumerate() {
            // A length with the very bits of n is n (already checked): the
            // common case skips the float checks.
            let len = if meta[1 + i] == meta[0] {
                n
            } else {
                count(meta, 1 + i, "an array length")?
            };
            *array = ArrayArg { ptr: ptrs(i), len };
        }
        let args = RunArgs {
            n,
            arrays,
            scalars: &meta[1 + k..need],
            threads: threads as usize,
        };
        runner(program, &args)?;
        Ok(0)
    })
}

/// Decodes the geometry block of an N-d run.
///
/// # Safety
///
/// `geom` is NULL or valid for reads of `geom_len` 8-byte slots.
unsafe fn geometry(geom: *const f64, geom_len: u32, n_arrays: usize) -> Result<Geometry, Error> {
    if geom.is_null() {
        return Err(bad_args("geom is NULL".to_string()));
    }
    // SAFETY: non-null and valid for geom_len slots (the caller's contract);
    // [u8; 8] needs no alignment.
    let block = unsafe { slice::from_raw_parts(geom.cast::<[u8; 8]>(), geom_len as usize) };
    Geometry::decode(block, n_arrays)
}

/// `nf_run_K` and `nf_run_nd_K`: the fixed-arity run symbols, for each arity K.
macro_rules! run_k {
    ($($name:ident, $nd:ident: $k:literal => [$($a:ident),*];)*) => {$(
        /// Runs a program over
        #[doc = concat!(stringify!($k), " arrays (outputs first, then inputs); see the crate docs.")]
        ///
        /// # Safety
        ///
        /// `meta` is NULL or valid for reads of `meta_len` 8-byte slots; each
        /// array is valid as `numfuse_core::run` requires for the length in `meta`.
        #[no_mangle]
        pub unsafe extern "C" fn $name(
            handle: u32,
            threads: u32,
            meta: *const f64,
            meta_len: u32,
            $($a: *mut c_void),*
        ) -> i32 {
            guard(|| {
                let ptrs: [*mut u8; $k] = [$($a.cast()),*];
                let mut arrays = [ArrayArg { ptr: std::ptr::null_mut(), len: 0 }; $k];
                // SAFETY: forwarded from this function's contract.
                unsafe {
                    run_arrays(handle, threads, meta, meta_len, |i| ptrs[i], &mut arrays)
                }
            })
        }
        /// Runs a program over an N-d geometry and
        #[doc = concat!(stringify!($k), " arrays (outputs first, then inputs); see `nf_run_nd`.")]
        ///
        /// # Safety
        ///
        /// `meta` and `geom` are NULL or valid for reads of `meta_len` and
        /// `geom_len` 8-byte slots; each array is valid as
        /// `numfuse_core::run_nd` requires for the length in `meta`.
        #[no_mangle]
        pub unsafe extern "C" fn $nd(
            handle: u32,
            threads: u32,
            meta: *const f64,
            meta_len: u32,
            geom: *const f64,
            geom_len: u32,
            $($a: *mut c_void),*
        ) -> i32 {
            guard(|| {
                // SAFETY: forwarded from this function's contract.
                let geometry = unsafe { geometry(geom, geom_len, $k) }?;
                let ptrs: [*mut u8; $k] = [$($a.cast()),*];
                let mut arrays = [ArrayArg { ptr: std::ptr::null_mut(), len: 0 }; $k];
                // SAFETY: forwarded from this function's contract.
                unsafe {
                    run_arrays_with(
                        handle,
                        threads,
                        meta,
                        meta_len,
                        |i| ptrs[i],
                        &mut arrays,
                        |program, args| run_nd(program, args, &geometry),
                    )
                }
            })
        }
    )*};
}

/// Runs a program over `k` arrays (1 to 8) given by address: `block` holds
/// the run's `meta` (`meta_len` slots, as for `nf_run_K`) followed by the
/// arrays' addresses, one `f64` slot each (a whole number in `[1, 2^53)`),
/// outputs first. One pointer instead of K `buffer` parameters: Deno's fast
/// call costs several nanoseconds per `buffer`, next to none per number.
///
/// # Safety
///
/// `block` is NULL or valid for reads of `meta_len + k` 8-byte slots; each
/// address is that of an array valid as `numfuse_core::run` requires for
/// the length in `meta`.
#[no_mangle]
pub unsafe extern "C" fn nf_run_at(
    handle: u32,
    threads: u32,
    block: *const f64,
    meta_len: u32,
    k: u32,
) -> i32 {
    // SAFETY: forwarded from this function's contract.
    guard(|| unsafe { run_at(handle, threads, block, meta_len, k) })
}

/// `nf_run_at` with its error returned (the Node-API addon's run by address).
///
/// # Safety
///
/// As `nf_run_at`'s contract.
pub unsafe fn run_at(
    handle: u32,
    threads: u32,
    block: *const f64,
    meta_len: u32,
    k: u32,
) -> Result<i32, Error> {
    // SAFETY: forwarded from this function's contract.
    let (meta, slots) = unsafe { at_block("nf_run_at", block, meta_len, k) }?;
    let frees = FREES.load(Ordering::Acquire);
    let seen = CHECKED.try_with(|cell| {
        cell.try_borrow().is_ok_and(|c| {
            c.as_ref()
                .is_some_and(|c| c.passes(handle, frees, meta, slots))
        })
    });
    if seen == Ok(true) {
        // SAFETY: forwarded from this function's contract.
        return unsafe { run_checked_before(handle, threads, meta, slots) };
    }
    let run_checking = |program: &Program, args: &RunArgs| {
        check_run(program, args)?;
        let checked = Checked::of(handle, frees, program, meta, slots);
        let _ = CHECKED.try_with(|cell| cell.try_borrow_mut().map(|mut c| *c = checked));
        // SAFETY: checked just now; the arrays as this function's contract.
        unsafe { run_unchecked(program, args) }
    };
    // SAFETY: forwarded from this function's contract.
    unsafe { run_block_with(handle, threads, meta, slots, run_checking) }
}

/// 8-byte slots of a block, read as raw bits.
type Slots<'a> = &'a [[u8; 8]];

/// The two parts of a block of `nf_run_at` or `nf_run_reduce_at`: meta's
/// `meta_len` slots, then `k` (1 to 8) addresses.
///
/// # Safety
///
/// `block` is NULL or valid for reads of `meta_len + k` 8-byte slots, for
/// the lifetime the caller gives the parts.
unsafe fn at_block<'a>(
    symbol: &str,
    block: *const f64,
    meta_len: u32,
    k: u32,
) -> Result<(Slots<'a>, Slots<'a>), Error> {
    let k = k as usize;
    if block.is_null() || !(1..=AT_MAX).contains(&k) {
        return Err(bad_args(format!(
            "{symbol} takes a block and 1 to {AT_MAX} arrays: got {k} (block NULL: {})",
            block.is_null()
        )));
    }
    // SAFETY: non-null and valid for meta_len + k slots (the caller's
    // contract); [u8; 8] needs no alignment.
    let block = unsafe { slice::from_raw_parts(block.cast::<[u8; 8]>(), meta_len as usize + k) };
    Ok(block.split_at(meta_len as usize))
}

/// Runs `runner` over a block's meta and the arrays at its addresses, each
/// validated, as `run_arrays_with` does.
///
/// # Safety
///
/// As `nf_run_at`'s contract, for the arrays `runner` reads and writes.
unsafe fn run_block_with(
    handle: u32,
    threads: u32,
    meta: Slots,
    slots: Slots,
    runner: impl Fn(&Program, &RunArgs) -> Result<(), Error>,
) -> Result<i32, Error> {
    let ptrs = addresses(slots)?;
    let mut arrays = [ArrayArg {
        ptr: std::ptr::null_mut(),
        len: 0,
    }; AT_MAX];
    // SAFETY: forwarded from this function's contract (meta is the block's
    // first slots).
    unsafe {
        run_arrays_with(
            handle,
            threads,
            meta.as_ptr().cast(),
            meta.len() as u32,
            |i| ptrs[i],
            &mut arrays[..slots.len()],
            runner,
        )
    }
}

/// The addresses of a block's slots (f64 whole numbers in [1, 2^53)), then
/// nulls up to `AT_MAX`.
fn addresses(slots: &[[u8; 8]]) -> Result<[*mut u8; AT_MAX], Error> {
    let mut ptrs = [std::ptr::null_mut::<u8>(); AT_MAX];
    for (i, (ptr, slot)) in ptrs.iter_mut().zip(slots).enumerate() {
        let x = f64::from_ne_bytes(*slot);
        *ptr = address(x).ok_or_else(|| {
            bad_args(format!(
                "array {i}'s address is {x:?}, not a whole number in [1, 2^53)"
            ))
        })?;
    }
    Ok(ptrs)
}

/// An address as JS passes it: a whole number in [1, 2^53), else None.
pub fn address(x: f64) -> Option<*mut u8> {
    // In range, `as i64` is exact and one instruction (see `count`).
    ((1.0..9_007_199_254_740_992.0).contains(&x) && (x as i64) as f64 == x)
        .then_some(x as i64 as usize as *mut u8)
}

/// The bits of a run by address that passed the checks on this thread:
/// its handle, `FREES` before it, meta's length, n (every array's length
/// had n's very bits), the addresses, and the program checked. The checks
/// read nothing else, so a run with the same bits, while the handle's
/// program is the same, passes them again and skips them
/// (`run_checked_before`): a hot loop's arrays are the same call after call.
struct Checked {
    handle: u32,
    /// The handle's program stays the one checked while no program is freed.
    frees: u64,
    meta_len: usize,
    n: [u8; 8],
    k: usize,
    at: [[u8; 8]; AT_MAX],
    program: *const Program,
}

impl Checked {
    /// The record of a run that passed the checks, if its lengths were all
    /// n's bits (else None: nothing to skip next time).
    fn of(
        handle: u32,
        frees: u64,
        program: &Program,
        meta: &[[u8; 8]],
        slots: &[[u8; 8]],
    ) -> Option<Checked> {
        let n = meta[0];
        if meta[1..=slots.len()].iter().any(|&len| len != n) {
            return None;
        }
        let mut at = [[0; 8]; AT_MAX];
        at[..slots.len()].copy_from_slice(slots);
        Some(Checked {
            handle,
            frees,
            meta_len: meta.len(),
            n,
            k: slots.len(),
            at,
            program,
        })
    }

    /// Whether a run has this record's bits (compared as integers: one
    /// compare each, and never a call to memcmp).
    #[inline(always)]
    fn passes(&self, handle: u32, frees: u64, meta: &[[u8; 8]], slots: &[[u8; 8]]) -> bool {
        let bits = u64::from_ne_bytes;
        let n = bits(self.n);
        handle == self.handle
            && frees == self.frees
            && meta.len() == self.meta_len
            && slots.len() == self.k
            && meta[1..=self.k].iter().all(|&x| bits(x) == n)
            && slots
                .iter()
                .zip(&self.at)
                .all(|(&x, &y)| bits(x) == bits(y))
    }
}

/// `nf_run_at`'s run of arguments whose very bits passed the checks on this
/// thread (`CHECKED`): decodes them without validating them again, and runs
/// without checking if the handle's program is the one checked (else, after
/// a free raced this run, checks them against the program it now has).
///
/// # Safety
///
/// As `nf_run_at`'s contract, and `CHECKED` passes these bits.
unsafe fn run_checked_before(
    handle: u32,
    threads: u32,
    meta: Slots,
    slots: Slots,
) -> Result<i32, Error> {
    // Whole numbers in [0, 2^53] and [1, 2^53) (they passed `count` and the
    // address check): `as i64` is exact.
    let n = f64::from_ne_bytes(meta[0]) as i64 as usize;
    let mut arrays = [ArrayArg {
        ptr: std::ptr::null_mut(),
        len: 0,
    }; AT_MAX];
    let k = slots.len();
    let arrays = &mut arrays[..k];
    for (array, slot) in arrays.iter_mut().zip(slots) {
        *array = ArrayArg {
            ptr: f64::from_ne_bytes(*slot) as i64 as usize as *mut u8,
            len: n,
        };
    }
    with_program(handle, |program| {
        let same = CHECKED.try_with(|cell| {
            cell.try_borrow()
                .is_ok_and(|c| c.as_ref().is_some_and(|c| std::ptr::eq(c.program, program)))
        });
        let need = 1 + k + program.n_scalars();
        let Some(scalars) = meta.get(1 + k..need) else {
            return Err(bad_args(format!(
                "meta has {} slots, the run needs {need}",
                meta.len()
            )));
        };
        let args = RunArgs {
            n,
            arrays,
            scalars,
            threads: threads as usize,
        };
        if same != Ok(true) {
            check_run(program, &args)?;
        }
        // SAFETY: these bits passed `check_run` with this program (the
        // record's, or just now); the arrays as `nf_run_at`'s contract.
        unsafe { run_unchecked(program, &args) }?;
        Ok(0)
    })
}

/// Runs a program over `count` arrays whose addresses are in `ptrs`.
///
/// # Safety
///
/// `ptrs` is NULL (only if `count == 0`) or valid for reads of `count` u64s;
/// `err` is NULL or valid for writes of `err_cap` bytes; `meta` and the arrays
/// as for `nf_run_K`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn nf_run_table(
    handle: u32,
    threads: u32,
    meta: *const f64,
    meta_len: u32,
    ptrs: *const u64,
    count: u32,
    err: *mut u8,
    err_cap: u32,
) -> i32 {
    let status = guard(|| {
        // SAFETY: forwarded from this function's contract.
        unsafe {
            with_table(ptrs, count, |ptrs, arrays| {
                run_arrays(handle, threads, meta, meta_len, ptrs, arrays)
            })
        }
    });
    // SAFETY: forwarded from this function's contract.
    unsafe { copy_error(status, err, err_cap) };
    status
}

/// Calls `f` with the array addresses of a pointer table and room for the
/// arrays' arguments (on the stack up to [`TABLE_ON_STACK`]).
///
/// # Safety
///
/// `ptrs` is NULL (only if `count == 0`) or valid for reads of `count` u64s.
unsafe fn with_table(
    ptrs: *const u64,
    count: u32,
    f: impl FnOnce(&dyn Fn(usize) -> *mut u8, &mut [ArrayArg]) -> Result<i32, Error>,
) -> Result<i32, Error> {
    let table = if count == 0 {
        &[][..]
    } else if ptrs.is_null() {
        return Err(bad_args(format!("ptrs is NULL but count is {count}")));
    } else {
        // SAFETY: non-null and valid for count u64s (the caller's contract).
        unsafe { slice::from_raw_parts(ptrs, count as usize) }
    };
    let empty = ArrayArg {
        ptr: std::ptr::null_mut(),
        len: 0,
    };
    // Up to TABLE_ON_STACK arrays need no allocation.
    let mut on_stack = [empty; TABLE_ON_STACK];
    let mut on_heap = Vec::new();
    let arrays = if table.len() <= TABLE_ON_STACK {
        &mut on_stack[..table.len()]
    } else {
        on_heap.resize(table.len(), empty);
        &mut on_heap[..]
    };
    f(&|i: usize| table[i] as usize as *mut u8, arrays)
}

/// After a failed run (`status < 0`), copies this thread's last error into
/// `err`, NUL-terminated.
///
/// # Safety
///
/// `err` is NULL or valid for writes of `err_cap` bytes.
unsafe fn copy_error(status: i32, err: *mut u8, err_cap: u32) {
    if status < 0 && !err.is_null() && err_cap > 0 {
        let cap = err_cap as usize - 1;
        // SAFETY: err is valid for err_cap bytes; at most cap = err_cap - 1 are
        // copied, and the byte after them is the terminating NUL.
        unsafe {
            let len = (copy_last_error(err, cap) as usize).min(cap);
            *err.add(len) = 0;
        }
    }
}

/// Runs a program over an N-d geometry (see `numfuse_core::Geometry` for the
/// layout of `geom`, `geom_len` 8-byte slots) and `count` arrays whose
/// addresses are in `ptrs`; each array's length in `meta` is its whole
/// length, and `meta[0]` is the number of elements of the shape.
///
/// # Safety
///
/// `geom` is NULL or valid for reads of `geom_len` 8-byte slots; `ptrs`,
/// `err`, `meta` and the arrays as for `nf_run_table`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn nf_run_nd(
    handle: u32,
    threads: u32,
    meta: *const f64,
    meta_len: u32,
    geom: *const f64,
    geom_len: u32,
    ptrs: *const u64,
    count: u32,
    err: *mut u8,
    err_cap: u32,
) -> i32 {
    let status = guard(|| {
        // SAFETY: forwarded from this function's contract.
        let geometry = unsafe { geometry(geom, geom_len, count as usize) }?;
        // SAFETY: forwarded from this function's contract.
        unsafe {
            with_table(ptrs, count, |ptrs, arrays| {
                run_arrays_with(
                    handle,
                    threads,
                    meta,
                    meta_len,
                    ptrs,
                    arrays,
                    |program, args| run_nd(program, args, &geometry),
                )
            })
        }
    });
    // SAFETY: forwarded from this function's contract.
    unsafe { copy_error(status, err, err_cap) };
    status
}

/// A byte length passed as an `f64`: a whole number in `[0, 2^53]`.
fn byte_length(x: f64, what: &str) -> Result<usize, Error> {
    count(&[x.to_ne_bytes()], 0, what)
}

/// Reduces a strided view (see `numfuse_core::reduce`): `op` is a
/// `ReduceOp` code, `dtype` the input's dtype code; `data` holds
/// `data_bytes` bytes; `geom` holds `geom_len` `f64`s `[offset, axis (NaN:
/// whole), ndim, shape..., strides...]` in elements; `out` is `out_bytes`
/// bytes, a whole number of elements of the result dtype. Returns 0, or
/// `-(error code)` with the message in `nf_last_error` and, NUL-terminated,
/// in `err` (which may be NULL), so a `nonblocking` call can read it.
///
/// # Safety
///
/// `data` is NULL or valid for reads of `data_bytes` bytes; `geom` is NULL
/// or valid for reads of `geom_len` `f64`s; `out` is NULL or valid for
/// writes of `out_bytes` bytes; `err` is NULL or valid for writes of
/// `err_cap` bytes; no other thread writes them during the call.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn nf_reduce(
    op: u32,
    dtype: u32,
    data: *const c_void,
    data_bytes: f64,
    geom: *const f64,
    geom_len: u32,
    out: *mut c_void,
    out_bytes: f64,
    threads: u32,
    err: *mut u8,
    err_cap: u32,
) -> i32 {
    let status = guard(|| {
        let op = reduce_op(op)?;
        let dtype = numfuse_core::DType::from_code(dtype)
            .ok_or_else(|| bad_args(format!("unknown dtype code {dtype}")))?;
        if geom.is_null() {
            return Err(bad_args("geometry is NULL".to_string()));
        }
        // SAFETY: non-null and valid for geom_len f64s (the caller's contract);
        // read as bytes, so no alignment is needed.
        let geom = unsafe { slice::from_raw_parts(geom.cast::<[u8; 8]>(), geom_len as usize) };
        let geom: Vec<f64> = geom.iter().map(|b| f64::from_ne_bytes(*b)).collect();
        let (view, axis) = numfuse_core::View::decode(&geom)?;
        let result = op.result_dtype(dtype);
        let out_bytes = byte_length(out_bytes, "out_bytes")?;
        if out_bytes % result.size() != 0 {
            return Err(bad_args(format!(
                "out has {out_bytes} bytes, not a whole number of {} elements",
                result.name()
            )));
        }
        let args = numfuse_core::ReduceArgs {
            op,
            dtype,
            data: data.cast(),
            data_len: byte_length(data_bytes, "data_bytes")? / dtype.size(),
            view: &view,
            axis,
            out: out.cast(),
            out_len: out_bytes / result.size(),
            threads: threads as usize,
        };
        // SAFETY: the lengths in elements cover no more than the caller's
        // byte lengths; the rest is forwarded from this function's contract.
        unsafe { numfuse_core::reduce(&args) }?;
        Ok(0)
    });
    if status < 0 && !err.is_null() && err_cap > 0 {
        let cap = err_cap as usize - 1;
        // SAFETY: err is valid for err_cap bytes; at most cap = err_cap - 1 are
        // copied, and the byte after them is the terminating NUL.
        unsafe {
            let len = (copy_last_error(err, cap) as usize).min(cap);
            *err.add(len) = 0;
        }
    }
    status
}

/// Runs a program and reduces its one output whole as it is computed (see
/// `numfuse_core::run_reduce`), without an array for it: `op` is a
/// `ReduceOp` code; `ptrs` holds the `count` arrays' addresses and `meta`
/// `n`, their lengths and the scalars as for `nf_run_table`, the output's
/// slot being the result's (one element of the result dtype); `geom` is NULL
/// for a 1-D run, else a geometry block as `nf_run_nd`'s. Errors as
/// `nf_run_nd`.
///
/// # Safety
///
/// `geom` is NULL or valid for reads of `geom_len` 8-byte slots; `ptrs`,
/// `err`, `meta` and the arrays as for `nf_run_table`.
#[no_mangle]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn nf_run_reduce(
    handle: u32,
    threads: u32,
    op: u32,
    meta: *const f64,
    meta_len: u32,
    geom: *const f64,
    geom_len: u32,
    ptrs: *const u64,
    count: u32,
    err: *mut u8,
    err_cap: u32,
) -> i32 {
    let status = guard(|| {
        let op = reduce_op(op)?;
        let geometry = if geom.is_null() {
            None
        } else {
            // SAFETY: forwarded from this function's contract.
            Some(unsafe { geometry(geom, geom_len, count as usize) }?)
        };
        // SAFETY: forwarded from this function's contract.
        unsafe {
            with_table(ptrs, count, |ptrs, arrays| {
                run_arrays_with(
                    handle,
                    threads,
                    meta,
                    meta_len,
                    ptrs,
                    arrays,
                    |program, args| run_reduce(program, args, geometry.as_ref(), op),
                )
            })
        }
    });
    // SAFETY: forwarded from this function's contract.
    unsafe { copy_error(status, err, err_cap) };
    status
}

/// The most `buffer`s `nf_run_async` keeps alive.
pub const ASYNC_KEEP: usize = 32;

/// `nf_run_async`, its keep-alive parameters written out (`keep_0` …).
macro_rules! run_async {
    ($($keep:ident),*) => {
        /// The one run symbol of Deno's `nonblocking` calls: `nf_run_table`
        /// (`op` is [`NO_REDUCTION`] and `geom` NULL), `nf_run_nd` (`geom` a
        /// geometry block) or `nf_run_reduce` (`op` a reduction code), with
        /// their errors, followed by [`ASYNC_KEEP`] keep-alive parameters
        /// that the VM never reads. The caller passes each distinct buffer
        /// of the run's arrays there (NULL for the rest): Deno holds the
        /// memory of every `buffer` argument of a nonblocking call until it
        /// returns, so a buffer transferred, or dropped, while the run is on
        /// another thread still has its memory when the VM writes it.
        ///
        /// # Safety
        ///
        /// As `nf_run_reduce`'s (`op` aside).
        #[no_mangle]
        #[allow(clippy::too_many_arguments)]
        pub unsafe extern "C" fn nf_run_async(
            handle: u32,
            threads: u32,
            op: u32,
            meta: *const f64,
            meta_len: u32,
            geom: *const f64,
            geom_len: u32,
            ptrs: *const u64,
            count: u32,
            err: *mut u8,
            err_cap: u32,
            $($keep: *const c_void),*
        ) -> i32 {
            const _: () = assert!([$(stringify!($keep)),*].len() == ASYNC_KEEP);
            let _ = [$($keep),*];
            // SAFETY: forwarded from this function's contract.
            unsafe {
                if op != NO_REDUCTION {
                    nf_run_reduce(
                        handle, threads, op, meta, meta_len, geom, geom_len, ptrs, count, err,
                        err_cap,
                    )
                } else if geom.is_null() {
                    nf_run_table(handle, threads, meta, meta_len, ptrs, count, err, err_cap)
                } else {
                    nf_run_nd(
                        handle, threads, meta, meta_len, geom, geom_len, ptrs, count, err,
                        err_cap,
                    )
                }
            }
        }
    };
}

/// `nf_run_async`'s `op` for a run without a reduction.
pub const NO_REDUCTION: u32 = u32::MAX;

run_async!(
    keep_0, keep_1, keep_2, keep_3, keep_4, keep_5, keep_6, keep_7, keep_8, keep_9, keep_10,
    keep_11, keep_12, keep_13, keep_14, keep_15, keep_16, keep_17, keep_18, keep_19, keep_20,
    keep_21, keep_22, keep_23, keep_24, keep_25, keep_26, keep_27, keep_28, keep_29, keep_30,
    keep_31
);

/// A reduction's code, checked.
fn reduce_op(op: u32) -> Result<numfuse_core::ReduceOp, Error> {
    numfuse_core::ReduceOp::from_code(op)
        .ok_or_else(|| bad_args(format!("unknown reduction code {op}")))
}

/// The body of `nf_run_reduce_K` (`geom` NULL) and `nf_run_reduce_nd_K`,
/// over its `K` arrays.
///
/// # Safety
///
/// As `nf_run_reduce_nd_K`'s.
#[allow(clippy::too_many_arguments)]
unsafe fn run_reduce_fixed<const K: usize>(
    handle: u32,
    threads: u32,
    op: u32,
    meta: *const f64,
    meta_len: u32,
    geom: *const f64,
    geom_len: u32,
    ptrs: [*mut c_void; K],
) -> i32 {
    guard(|| {
        let op = reduce_op(op)?;
        let geometry = if geom.is_null() {
            None
        } else {
            // SAFETY: forwarded from this function's contract.
            Some(unsafe { geometry(geom, geom_len, K) }?)
        };
        let mut arrays = [ArrayArg {
            ptr: std::ptr::null_mut(),
            len: 0,
        }; K];
        let ptrs = |i: usize| ptrs[i].cast();
        // SAFETY: forwarded from this function's contract (for the arrays).
        let runner = |program: &Program, args: &RunArgs| unsafe {
            run_reduce(program, args, geometry.as_ref(), op)
        };
        // SAFETY: forwarded from this function's contract.
        unsafe { run_arrays_with(handle, threads, meta, meta_len, ptrs, &mut arrays, runner) }
    })
}

/// `nf_run_reduce_K` and `nf_run_reduce_nd_K`: `nf_run_reduce` with its
/// arrays as arguments, 1-D and N-d, for each arity K.
macro_rules! run_reduce_k {
    ($($name:ident, $nd:ident: $k:literal => [$($a:ident),*];)*) => {$(
        /// Runs a program and reduces its output whole over
        #[doc = concat!(stringify!($k), " arrays (the result, then the inputs); see `nf_run_reduce`.")]
        ///
        /// # Safety
        ///
        /// `meta` is NULL or valid for reads of `meta_len` 8-byte slots; each
        /// array is valid as `numfuse_core::run_reduce` requires for the
        /// length in `meta`.
        #[no_mangle]
        pub unsafe extern "C" fn $name(
            handle: u32,
            threads: u32,
            op: u32,
            meta: *const f64,
            meta_len: u32,
            $($a: *mut c_void),*
        ) -> i32 {
            // SAFETY: forwarded from this function's contract (no geometry).
            unsafe {
                run_reduce_fixed(handle, threads, op, meta, meta_len, std::ptr::null(), 0, [$($a),*])
            }
        }
        /// As the 1-D symbol of this arity, over an N-d geometry (`geom`, as
        /// `nf_run_reduce` takes it; never NULL).
        ///
        /// # Safety
        ///
        /// As the 1-D symbol's, and `geom` is NULL or valid for reads of
        /// `geom_len` 8-byte slots.
        #[no_mangle]
        #[allow(clippy::too_many_arguments)]
        pub unsafe extern "C" fn $nd(
            handle: u32,
            threads: u32,
            op: u32,
            meta: *const f64,
            meta_len: u32,
            geom: *const f64,
            geom_len: u32,
            $($a: *mut c_void),*
        ) -> i32 {
            if geom.is_null() {
                return failed(bad_args("geom is NULL".to_string()));
            }
            // SAFETY: forwarded from this function's contract.
            unsafe { run_reduce_fixed(handle, threads, op, meta, meta_len, geom, geom_len, [$($a),*]) }
        }
    )*};
}

/// The fixed-arity symbols, each arity's four on one line.
macro_rules! arities {
    ($($k:literal => [$($a:ident),*] $run:ident $nd:ident $reduce:ident $reduce_nd:ident;)*) => {
        run_k! { $($run, $nd: $k => [$($a),*];)* }
        run_reduce_k! { $($reduce, $reduce_nd: $k => [$($a),*];)* }
    };
}

arities! {
    1 => [a0] nf_run_1 nf_run_nd_1 nf_run_reduce_1 nf_run_reduce_nd_1;
    2 => [a0, a1] nf_run_2 nf_run_nd_2 nf_run_reduce_2 nf_run_reduce_nd_2;
    3 => [a0, a1, a2] nf_run_3 nf_run_nd_3 nf_run_reduce_3 nf_run_reduce_nd_3;
    4 => [a0, a1, a2, a3] nf_run_4 nf_run_nd_4 nf_run_reduce_4 nf_run_reduce_nd_4;
    5 => [a0, a1, a2, a3, a4] nf_run_5 nf_run_nd_5 nf_run_reduce_5 nf_run_reduce_nd_5;
    6 => [a0, a1, a2, a3, a4, a5] nf_run_6 nf_run_nd_6 nf_run_reduce_6 nf_run_reduce_nd_6;
    7 => [a0, a1, a2, a3, a4, a5, a6] nf_run_7 nf_run_nd_7 nf_run_reduce_7 nf_run_reduce_nd_7;
    8 => [a0, a1, a2, a3, a4, a5, a6, a7] nf_run_8 nf_run_nd_8 nf_run_reduce_8 nf_run_reduce_nd_8;
}

/// `nf_run_reduce` of a 1-D run with its `k` arrays (1 to 8; the result,
/// then the inputs) given by address, in a block as `nf_run_at`'s.
///
/// # Safety
///
/// `block` is NULL or valid for reads of `meta_len + k` 8-byte slots; each
/// address is that of an array valid as `numfuse_core::run_reduce` requires
/// for the length in `meta`.
#[no_mangle]
pub unsafe extern "C" fn nf_run_reduce_at(
    handle: u32,
    threads: u32,
    op: u32,
    block: *const f64,
    meta_len: u32,
    k: u32,
) -> i32 {
    // SAFETY: forwarded from this function's contract.
    guard(|| unsafe { run_reduce_at(handle, threads, op, block, meta_len, k) })
}

/// `nf_run_reduce_at` with its error returned (the Node-API addon's).
///
/// # Safety
///
/// As `nf_run_reduce_at`'s contract.
pub unsafe fn run_reduce_at(
    handle: u32,
    threads: u32,
    op: u32,
    block: *const f64,
    meta_len: u32,
    k: u32,
) -> Result<i32, Error> {
    let op = reduce_op(op)?;
    // SAFETY: forwarded from this function's contract.
    let (meta, slots) = unsafe { at_block("nf_run_reduce_at", block, meta_len, k) }?;
    // SAFETY: forwarded from this function's contract (for the arrays).
    let runner = |program: &Program, args: &RunArgs| unsafe { run_reduce(program, args, None, op) };
    // SAFETY: forwarded from this function's contract.
    unsafe { run_block_with(handle, threads, meta, slots, runner) }
}
