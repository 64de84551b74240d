//! The Node-API addon of numfuse: `numfuse.<platform>.node`.
//!
//! It exports what `src/native.ts`'s `NativeBinding` needs, over the VM in
//! `numfuse-core`:
//!
//! - `programNew(code: Uint32Array): number` — validates bytecode, returns a handle
//! - `programFree(handle: number): void`
//! - `run(handle, threads, meta: Float64Array, arrays: TypedArray[]): void`
//! - `runAsync(handle, threads, meta, arrays): Promise<void>` — runs on a libuv
//!   worker thread, holding references to the arrays until it settles
//! - `runNd(handle, threads, meta, geometry: Float64Array, arrays)` and
//!   `runNdAsync(...)`: the same over an N-d geometry (`numfuse_core::Geometry`);
//!   the lengths in `meta` are then the arrays' whole lengths
//! - `numCpus(): number`
//! - `adviseFresh(array)`: huge pages for a fresh result array
//! - `reduce(op, dtype, data, geom, out, threads)`: a reduction (see [`reduce`])
//! - `reduceAsync(op, dtype, data, geom, out, threads): Promise<void>` — the
//!   same on a libuv worker thread
//! - `runReduce(handle, threads, op, meta, arrays)`, `runReduceNd(handle,
//!   threads, op, meta, geometry, arrays)` and their `...Async` twins: a run
//!   whose one output is reduced whole by reduction `op` as it is computed
//!   (`numfuse_core::run_reduce`), never stored; the output's array is the
//!   result's, one element of the reduction's result dtype
//! - `address(array): number` — where a TypedArray's elements are (0 for
//!   none); reading it moves an array kept on the JS heap into memory of its
//!   own, where it stays until its buffer is detached
//! - `runAt(handle, threads, at, metaLength, count)` and `runReduceAt(handle,
//!   threads, op, at, metaLength, count)`: runs by address (`numfuse::run_at`,
//!   as the C ABI's `nf_run_at`), all numbers: `at` is the `address` of a
//!   Float64Array block of `metaLength` slots of meta then `count`
//!   addresses. The addon cannot check an address; the binding passes only
//!   those `address` gave, of arrays whose length reads nonzero (not
//!   detached) at the call, as the Deno binding does
//!
//! Program handles are those of the C ABI's registry (`numfuse::register`).
//!
//! The run functions also take the arrays as the remaining arguments
//! (`run(handle, threads, meta, out, a, b)`), which spares a property read
//! per array: the binding calls the synchronous ones that way. Each array is checked against
//! its slot's dtype (Float32Array for float32, Uint8Array for bool, ...) and
//! its length in `meta`.
//!
//! `meta` is laid out as `src/native.ts` says: `[0]` the element count, `[1..=K]`
//! the length of each of the K arrays (outputs first, then inputs), then one
//! slot of 8 raw bytes per scalar.
//!
//! Failures are thrown (or rejected) as `Error`s whose `code` names the VM's
//! error code (`ERR_NUMFUSE_BAD_ARGUMENTS`, ... see [`code_name`]), so the JS
//! side maps them to `RangeError`/`Error` as the Deno binding does; a failed
//! Node-API call is `ERR_NUMFUSE_NAPI`. Every callback catches panics: none
//! crosses into Node.

#![deny(unsafe_op_in_unsafe_fn)]

mod napi;

use std::any::Any;
use std::ffi::{c_char, c_void};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::{Arc, OnceLock};

use napi::*;
use numfuse_core::{ArrayArg, DType, Error, ErrorCode, Geometry, Program, ReduceOp, RunArgs};

/// An error on its way to JS.
struct JsError {
    /// The `code` property: `ERR_NUMFUSE_...`; empty when a JS exception is
    /// already pending (it is left to propagate).
    code: &'static str,
    message: String,
}

type Result<T> = std::result::Result<T, JsError>;

/// The `code` of a thrown error for each VM error code.
fn code_name(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::BadProgram => "ERR_NUMFUSE_BAD_PROGRAM",
        ErrorCode::BadArguments => "ERR_NUMFUSE_BAD_ARGUMENTS",
        ErrorCode::Overlap => "ERR_NUMFUSE_OVERLAP",
        ErrorCode::Domain => "ERR_NUMFUSE_DOMAIN",
        ErrorCode::Panic => "ERR_NUMFUSE_PANIC",
        ErrorCode::BadHandle => "ERR_NUMFUSE_BAD_HANDLE",
    }
}

impl From<Error> for JsError {
    fn from(e: Error) -> JsError {
        JsError {
            code: code_name(e.code),
            message: e.message,
        }
    }
}

impl JsError {
    fn bad_args(message: String) -> JsError {
        Error::new(ErrorCode::BadArguments, message).into()
    }

    fn pending() -> JsError {
        JsError {
            code: "",
            message: String::new(),
        }
    }

    fn panic(payload: Box<dyn Any + Send>) -> JsError {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        Error::new(
            ErrorCode::Panic,
            format!("the native addon panicked: {what}"),
        )
        .into()
    }
}

/// Turns a Node-API status into a `Result`; `what` names the call for the message.
///
/// # Safety
///
/// `env` is the current environment, on the JS thread.
unsafe fn check(env: napi_env, status: napi_status, what: &str) -> Result<()> {
    if status == Status::napi_ok {
        return Ok(());
    }
    if status == Status::napi_pending_exception {
        return Err(JsError::pending());
    }
    let mut info: *const napi_extended_error_info = ptr::null();
    // SAFETY: `info` is a valid out-pointer; on success it points to Node's
    // error record, valid until the next Node-API call, and read at once.
    let detail = unsafe {
        if napi_get_last_error_info(env, &mut info) == Status::napi_ok
            && !info.is_null()
            && !(*info).error_message.is_null()
        {
            std::ffi::CStr::from_ptr((*info).error_message)
                .to_string_lossy()
                .into_owned()
        } else {
            "unknown error".to_string()
        }
    };
    Err(JsError {
        code: "ERR_NUMFUSE_NAPI",
        message: format!("{what} failed: {detail} (napi_status {status})"),
    })
}

/// A JS string.
///
/// # Safety
///
/// `env` is the current environment, on the JS thread.
unsafe fn string(env: napi_env, s: &str) -> Result<napi_value> {
    let mut value = ptr::null_mut();
    // SAFETY: `s` is valid UTF-8 of the given length; `value` is an out-pointer.
    let status =
        unsafe { napi_create_string_utf8(env, s.as_ptr().cast::<c_char>(), s.len(), &mut value) };
    // SAFETY: as this function's contract.
    unsafe { check(env, status, "napi_create_string_utf8") }?;
    Ok(value)
}

/// The JS `Error` for a `JsError` (with its `code` property set).
///
/// # Safety
///
/// `env` is the current environment, on the JS thread.
unsafe fn error_value(env: napi_env, e: &JsError) -> Result<napi_value> {
    // SAFETY: as this function's contract.
    let (code, message) = unsafe { (string(env, e.code)?, string(env, &e.message)?) };
    let mut error = ptr::null_mut();
    // SAFETY: `code` and `message` are JS strings of this env; `error` is an out-pointer.
    let status = unsafe { napi_create_error(env, code, message, &mut error) };
    // SAFETY: as this function's contract.
    unsafe { check(env, status, "napi_create_error") }?;
    Ok(error)
}

/// Throws `e` unless a JS exception is already pending.
///
/// # Safety
///
/// `env` is the current environment, on the JS thread.
unsafe fn throw(env: napi_env, e: &JsError) {
    let mut pending = false;
    // SAFETY: `pending` is an out-pointer.
    let status = unsafe { napi_is_exception_pending(env, &mut pending) };
    if e.code.is_empty() || (status == Status::napi_ok && pending) {
        return;
    }
    // SAFETY: as this function's contract. If even the error cannot be made,
    // nothing more can be reported; the call returns undefined.
    if let Ok(error) = unsafe { error_value(env, e) } {
        // SAFETY: `error` is a value of this env.
        unsafe { napi_throw(env, error) };
    }
}

/// Runs the body of a JS-callable function: errors become JS exceptions and
/// a panic becomes an `ERR_NUMFUSE_PANIC` error instead of unwinding into Node.
///
/// # Safety
///
/// `env` is the current environment, on the JS thread.
unsafe fn js_function(env: napi_env, body: impl FnOnce() -> Result<napi_value>) -> napi_value {
    let outcome = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|p| Err(JsError::panic(p)));
    match outcome {
        Ok(value) => value,
        Err(e) => {
            // SAFETY: as this function's contract.
            unsafe { throw(env, &e) };
            ptr::null_mut()
        }
    }
}

/// The first `N` arguments of a call; fewer is an error.
///
/// # Safety
///
/// `env` and `info` are those of the current call.
unsafe fn arguments<const N: usize>(
    env: napi_env,
    info: napi_callback_info,
    function: &str,
) -> Result<[napi_value; N]> {
    let mut argv = [ptr::null_mut(); N];
    let mut argc = N;
    // SAFETY: `argv` has room for `argc` values; the other out-pointers may be null.
    let status = unsafe {
        napi_get_cb_info(
            env,
            info,
            &mut argc,
            argv.as_mut_ptr(),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    // SAFETY: as this function's contract.
    unsafe { check(env, status, "napi_get_cb_info") }?;
    if argc < N {
        return Err(JsError::bad_args(format!(
            "{function} takes {N} arguments, got {argc}"
        )));
    }
    Ok(argv)
}

/// A `u32` argument.
///
/// # Safety
///
/// `env` is the current environment; `value` one of its values.
unsafe fn get_u32(env: napi_env, value: napi_value, what: &str) -> Result<u32> {
    let mut n = 0;
    // SAFETY: `n` is an out-pointer.
    let status = unsafe { napi_get_value_uint32(env, value, &mut n) };
    if status != Status::napi_ok {
        return Err(JsError::bad_args(format!("{what} must be a number")));
    }
    Ok(n)
}

/// What `napi_get_typedarray_info` says about a TypedArray.
struct TypedArray {
    kind: napi_typedarray_type,
    /// Elements.
    len: usize,
    /// The first element (already offset by the view's `byteOffset`); may be
    /// null when `len` is 0.
    data: *mut u8,
}

/// The TypedArray `value`; anything else is an error naming `what`.
///
/// # Safety
///
/// `env` is the current environment; `value` one of its values.
unsafe fn typed_array(
    env: napi_env,
    value: napi_value,
    what: &dyn Fn() -> String,
) -> Result<TypedArray> {
    let mut kind = 0;
    let mut len = 0;
    let mut data = ptr::null_mut();
    // SAFETY: the out-pointers are valid; the ones passed as null are optional.
    let status = unsafe {
        napi_get_typedarray_info(
            env,
            value,
            &mut kind,
            &mut len,
            &mut data,
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    if status != Status::napi_ok {
        return Err(JsError::bad_args(format!(
            "{} must be a TypedArray",
            what()
        )));
    }
    Ok(TypedArray {
        kind,
        len,
        data: data.cast::<u8>(),
    })
}

/// The JS constructor name of a TypedArray kind.
fn kind_name(kind: napi_typedarray_type) -> &'static str {
    match kind {
        TypedarrayType::int8_array => "Int8Array",
        TypedarrayType::uint8_array => "Uint8Array",
        TypedarrayType::uint8_clamped_array => "Uint8ClampedArray",
        TypedarrayType::int16_array => "Int16Array",
        TypedarrayType::uint16_array => "Uint16Array",
        TypedarrayType::int32_array => "Int32Array",
        TypedarrayType::uint32_array => "Uint32Array",
        TypedarrayType::float32_array => "Float32Array",
        TypedarrayType::float64_array => "Float64Array",
        TypedarrayType::bigint64_array => "BigInt64Array",
        TypedarrayType::biguint64_array => "BigUint64Array",
        _ => "TypedArray of an unknown kind",
    }
}

/// The TypedArray kind that holds a dtype (bool: a Uint8Array of 0/1).
fn kind_of(dtype: DType) -> Option<napi_typedarray_type> {
    Some(match dtype {
        DType::Bool | DType::Uint8 => TypedarrayType::uint8_array,
        DType::Int8 => TypedarrayType::int8_array,
        DType::Int16 => TypedarrayType::int16_array,
        DType::Uint16 => TypedarrayType::uint16_array,
        DType::Int32 => TypedarrayType::int32_array,
        DType::Uint32 => TypedarrayType::uint32_array,
        DType::Int64 => TypedarrayType::bigint64_array,
        DType::Uint64 => TypedarrayType::biguint64_array,
        DType::Float32 => TypedarrayType::float32_array,
        DType::Float64 => TypedarrayType::float64_array,
        DType::Float16 => return None,
    })
}

/// Arguments kept on the stack: a handle, threads, a reduction code, meta, a
/// geometry and [`INLINE`] arrays.
const INLINE_VALUES: usize = 5 + INLINE;

/// A few JS values: on the stack up to [`INLINE_VALUES`], else on the heap.
struct Values {
    inline: [napi_value; INLINE_VALUES],
    heap: Vec<napi_value>,
    len: usize,
}

impl Values {
    /// `len` null values.
    fn new(len: usize) -> Values {
        Values {
            inline: [ptr::null_mut(); INLINE_VALUES],
            heap: if len > INLINE_VALUES {
                vec![ptr::null_mut(); len]
            } else {
                Vec::new()
            },
            len,
        }
    }

    fn as_slice(&self) -> &[napi_value] {
        if self.len > INLINE_VALUES {
            &self.heap
        } else {
            &self.inline[..self.len]
        }
    }

    fn as_mut_slice(&mut self) -> &mut [napi_value] {
        if self.len > INLINE_VALUES {
            &mut self.heap
        } else {
            &mut self.inline[..self.len]
        }
    }
}

/// Every argument of a call.
///
/// # Safety
///
/// `env` and `info` are those of the current call.
unsafe fn call_arguments(env: napi_env, info: napi_callback_info) -> Result<Values> {
    let mut values = Values::new(INLINE_VALUES);
    let mut argc = INLINE_VALUES;
    // SAFETY: `values` has room for `argc` values; the other out-pointers may be null.
    let status = unsafe {
        napi_get_cb_info(
            env,
            info,
            &mut argc,
            values.inline.as_mut_ptr(),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    // SAFETY: as this function's contract.
    unsafe { check(env, status, "napi_get_cb_info") }?;
    if argc <= INLINE_VALUES {
        values.len = argc;
        return Ok(values);
    }
    let mut values = Values::new(argc);
    // SAFETY: as above, with room for all `argc` arguments.
    let status = unsafe {
        napi_get_cb_info(
            env,
            info,
            &mut argc,
            values.heap.as_mut_ptr(),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    // SAFETY: as this function's contract.
    unsafe { check(env, status, "napi_get_cb_info") }?;
    Ok(values)
}

/// Whether `value` is a JS Array.
///
/// # Safety
///
/// `env` is the current environment; `value` one of its values.
unsafe fn is_array(env: napi_env, value: napi_value) -> bool {
    let mut result = false;
    // SAFETY: `result` is an out-pointer.
    let status = unsafe { napi_is_array(env, value, &mut result) };
    status == Status::napi_ok && result
}

/// The kind of a run call: N-d (a geometry after `meta`) or 1-D, and
/// whether it reduces the output whole (a reduction code after `threads`).
#[derive(Clone, Copy)]
struct Form {
    nd: bool,
    reduce: bool,
}

/// The checked, decoded head of a run call; the arrays are read one by one.
struct Call<'a> {
    program: Arc<Program>,
    threads: usize,
    n: usize,
    /// The arrays (outputs, then inputs), not yet checked.
    arrays: &'a [napi_value],
    /// Arrays the program takes (outputs, then inputs).
    k: usize,
    /// `meta`'s first element, and how many it has.
    meta: *const u8,
    /// The geometry of an N-d call.
    geometry: Option<Geometry>,
    /// The reduction of a fused one.
    op: Option<ReduceOp>,
}

/// A count stored in `meta` as a float64.
fn meta_count(x: f64, what: &dyn Fn() -> String) -> Result<usize> {
    // In range first, so the cast is exact iff `x` is an integer (and NaN fails).
    if (0.0..=9_007_199_254_740_991.0).contains(&x) && (x as u64) as f64 == x {
        Ok(x as usize)
    } else {
        Err(JsError::bad_args(format!(
            "{} must be a non-negative integer, got {x}",
            what()
        )))
    }
}

impl<'a> Call<'a> {
    /// Reads `handle, threads, meta, ...arrays` (or `handle, threads, meta,
    /// [arrays]`, then read into `scratch`), with a reduction code before
    /// `meta` and a geometry after it as `form` says; checks `meta` and the
    /// array count and decodes the geometry.
    ///
    /// # Safety
    ///
    /// `env` is the current environment; `args` its values. The returned
    /// `meta` pointer is valid while `meta`'s buffer is neither detached nor
    /// resized (so during the call).
    unsafe fn new(
        env: napi_env,
        args: &'a [napi_value],
        scratch: &'a mut Values,
        function: &str,
        form: Form,
    ) -> Result<Call<'a>> {
        // Where meta is: after the reduction code of a fused reduction.
        let at = 2 + usize::from(form.reduce);
        let head = at + 1 + usize::from(form.nd);
        if args.len() <= head {
            return Err(JsError::bad_args(format!(
                "{function} takes a handle, threads, {}meta{} and the arrays, got {} arguments",
                if form.reduce {
                    "a reduction code, "
                } else {
                    ""
                },
                if form.nd { ", a geometry" } else { "" },
                args.len()
            )));
        }
        // SAFETY: as this function's contract, for each helper below.
        let (handle, threads) = unsafe {
            (
                get_u32(env, args[0], "handle")?,
                get_u32(env, args[1], "threads")?,
            )
        };
        let program = numfuse::lookup(handle)?;
        let op = if form.reduce {
            // SAFETY: as above.
            let code = unsafe { get_u32(env, args[2], "op") }?;
            if program.n_outputs() != 1 {
                return Err(JsError::bad_args(format!(
                    "{function} reduces a program's one output, this one has {}",
                    program.n_outputs()
                )));
            }
            Some(ReduceOp::from_code(code).ok_or_else(|| unknown_reduction(code))?)
        } else {
            None
        };
        // SAFETY: as above.
        let meta = unsafe { typed_array(env, args[at], &|| format!("{function}'s meta"))? };
        if meta.kind != TypedarrayType::float64_array {
            return Err(JsError::bad_args(format!(
                "{function}'s meta must be a Float64Array, got a {}",
                kind_name(meta.kind)
            )));
        }
        let k = program.n_outputs() + program.n_inputs();
        let wrong_count = |count: usize| {
            JsError::bad_args(format!(
                "the program takes {k} arrays ({} outputs, then {} inputs), got {count}",
                program.n_outputs(),
                program.n_inputs()
            ))
        };
        let rest = &args[head..];
        // SAFETY: as above.
        let arrays = if rest.len() == 1 && (k != 1 || unsafe { is_array(env, rest[0]) }) {
            // One JS Array of the arrays.
            let mut count = 0;
            // SAFETY: `count` is an out-pointer.
            let status = unsafe { napi_get_array_length(env, rest[0], &mut count) };
            if status != Status::napi_ok {
                return Err(JsError::bad_args(format!(
                    "{function}'s arrays must be an Array or the remaining arguments"
                )));
            }
            if count as usize != k {
                return Err(wrong_count(count as usize));
            }
            *scratch = Values::new(k);
            for (i, value) in scratch.as_mut_slice().iter_mut().enumerate() {
                // SAFETY: `rest[0]` is an Array of this env with `k > i`
                // elements; `value` is an out-pointer.
                let status = unsafe { napi_get_element(env, rest[0], i as u32, value) };
                // SAFETY: as this function's contract.
                unsafe { check(env, status, "napi_get_element") }?;
            }
            scratch.as_slice()
        } else {
            // The arrays as the remaining arguments.
            if rest.len() != k {
                return Err(wrong_count(rest.len()));
            }
            rest
        };
        let want = 1 + k + program.n_scalars();
        // Longer is fine (a run by address keeps its addresses after meta), as for the C ABI.
        if meta.len < want {
            return Err(JsError::bad_args(format!(
                "meta must have at least {want} elements (n, {k} lengths, {} scalars), got {}",
                program.n_scalars(),
                meta.len
            )));
        }
        // SAFETY: meta has `1 + k + n_scalars >= 1` elements at `meta.data`.
        let n = f64::from_ne_bytes(unsafe { ptr::read_unaligned(meta.data.cast::<[u8; 8]>()) });
        let n = meta_count(n, &|| "meta[0] (n)".to_string())?;
        let geometry = if form.nd {
            // SAFETY: as this function's contract.
            Some(unsafe { geometry(env, args[at + 1], k, function) }?)
        } else {
            None
        };
        Ok(Call {
            program,
            threads: threads as usize,
            n,
            arrays,
            k,
            meta: meta.data,
            geometry,
            op,
        })
    }

    /// `meta[i]` (in bounds: `i < 1 + k + n_scalars`).
    fn meta_f64(&self, i: usize) -> f64 {
        f64::from_ne_bytes(self.meta_bytes(i))
    }

    /// The 8 raw bytes of `meta[i]` (in bounds: `i < 1 + k + n_scalars`).
    fn meta_bytes(&self, i: usize) -> [u8; 8] {
        // SAFETY: `Call::new` checked that meta has `1 + k + n_scalars`
        // elements (so its data is non-null) and the caller stays in bounds;
        // the read is unaligned-safe and copies the bytes out.
        unsafe { ptr::read_unaligned(self.meta.add(8 * i).cast::<[u8; 8]>()) }
    }

    /// Writes the scalars' raw bytes (`n_scalars` of them).
    fn scalars(&self, into: &mut [[u8; 8]]) {
        for (s, slot) in into.iter_mut().enumerate() {
            *slot = self.meta_bytes(1 + self.k + s);
        }
    }

    /// Array `i` of the call (outputs first), checked against its slot's dtype
    /// (a fused reduction's result: the reduction's result dtype) and its
    /// length in `meta`.
    ///
    /// # Safety
    ///
    /// `env` is the environment the call was made in.
    unsafe fn array(&self, env: napi_env, i: usize) -> Result<ArrayArg> {
        let value = self.arrays[i];
        let n_outputs = self.program.n_outputs();
        let (role, slot, dtype) = if let Some(op) = self.op.filter(|_| i == 0) {
            ("result", 0, op.result_dtype(self.program.output_dtype(0)))
        } else if i < n_outputs {
            ("output", i, self.program.output_dtype(i))
        } else {
            (
                "input",
                i - n_outputs,
                self.program.input_dtype(i - n_outputs),
            )
        };
        let what = || format!("arrays[{i}] ({role} {slot}, {dtype:?})");
        // SAFETY: `value` is a value of this env.
        let array = unsafe { typed_array(env, value, &what) }?;
        let Some(kind) = kind_of(dtype) else {
            return Err(JsError::bad_args(format!(
                "{} has no TypedArray in this runtime",
                what()
            )));
        };
        if array.kind != kind {
            return Err(JsError::bad_args(format!(
                "{} must be a {}, got a {}",
                what(),
                kind_name(kind),
                kind_name(array.kind)
            )));
        }
        let len = meta_count(self.meta_f64(1 + i), &|| {
            format!("meta[{}] (length of {})", 1 + i, what())
        })?;
        if len > array.len {
            return Err(JsError::bad_args(format!(
                "{} has {} elements, fewer than the {len} meta says",
                what(),
                array.len
            )));
        }
        Ok(ArrayArg {
            ptr: array.data,
            len,
        })
    }
}

/// Arrays and scalars up to this many are kept on the stack during a sync run.
const INLINE: usize = 8;

const NO_ARRAY: ArrayArg = ArrayArg {
    ptr: ptr::null_mut(),
    len: 0,
};

/// The geometry of an N-d call for `k` arrays, from its Float64Array.
///
/// # Safety
///
/// `env` is the current environment; `value` one of its values.
unsafe fn geometry(env: napi_env, value: napi_value, k: usize, function: &str) -> Result<Geometry> {
    // SAFETY: as this function's contract.
    let block = unsafe { typed_array(env, value, &|| format!("{function}'s geometry")) }?;
    if block.kind != TypedarrayType::float64_array {
        return Err(JsError::bad_args(format!(
            "{function}'s geometry must be a Float64Array, got a {}",
            kind_name(block.kind)
        )));
    }
    let slots: &[[u8; 8]] = if block.len == 0 || block.data.is_null() {
        &[]
    } else {
        // SAFETY: a Float64Array of `len` elements is `len` 8-byte slots at
        // `data` during this call; [u8; 8] needs no alignment.
        unsafe { std::slice::from_raw_parts(block.data.cast::<[u8; 8]>(), block.len) }
    };
    Ok(Geometry::decode(slots, k)?)
}

/// A synchronous run, of the kind `form` says.
///
/// # Safety
///
/// `env` is the current environment, on the JS thread; `args` its values.
unsafe fn run_call(
    env: napi_env,
    args: &[napi_value],
    function: &str,
    form: Form,
) -> Result<napi_value> {
    // SAFETY: as this function's contract (for every call below).
    unsafe {
        let mut scratch = Values::new(0);
        let call = Call::new(env, args, &mut scratch, function, form)?;
        let n_scalars = call.program.n_scalars();
        let (mut inline_arrays, mut inline_scalars);
        let (mut heap_arrays, mut heap_scalars);
        let (arrays, scalars): (&mut [ArrayArg], &mut [[u8; 8]]) =
            if call.k <= INLINE && n_scalars <= INLINE {
                inline_arrays = [NO_ARRAY; INLINE];
                inline_scalars = [[0u8; 8]; INLINE];
                (
                    &mut inline_arrays[..call.k],
                    &mut inline_scalars[..n_scalars],
                )
            } else {
                heap_arrays = vec![NO_ARRAY; call.k];
                heap_scalars = vec![[0u8; 8]; n_scalars];
                (&mut heap_arrays, &mut heap_scalars)
            };
        for (i, slot) in arrays.iter_mut().enumerate() {
            *slot = call.array(env, i)?;
        }
        call.scalars(scalars);
        let args = RunArgs {
            n: call.n,
            arrays,
            scalars,
            threads: call.threads,
        };
        // The arrays are JS values of this synchronous call: nothing else
        // runs JS (so nothing detaches or resizes them) until it returns.
        perform_run(&call.program, &args, call.geometry.as_ref(), call.op)?;
        // Node returns `undefined` for a null result.
        Ok(ptr::null_mut())
    }
}

/// Runs checked arguments: 1-D or N-d (`geometry`), the output stored or
/// reduced whole by `op`.
///
/// # Safety
///
/// The arrays were checked against their TypedArrays (dtype and length),
/// which stay alive and are not changed until this returns.
unsafe fn perform_run(
    program: &Program,
    args: &RunArgs,
    geometry: Option<&Geometry>,
    op: Option<ReduceOp>,
) -> std::result::Result<(), Error> {
    // SAFETY: as this function's contract.
    unsafe {
        match (op, geometry) {
            (Some(op), geometry) => numfuse_core::run_reduce(program, args, geometry, op),
            (None, None) => numfuse_core::run(program, args),
            (None, Some(geometry)) => numfuse_core::run_nd(program, args, geometry),
        }
    }
}

/// `undefined`.
///
/// # Safety
///
/// `env` is the current environment.
unsafe fn undefined(env: napi_env) -> Result<napi_value> {
    let mut value = ptr::null_mut();
    // SAFETY: `value` is an out-pointer.
    let status = unsafe { napi_get_undefined(env, &mut value) };
    // SAFETY: as this function's contract.
    unsafe { check(env, status, "napi_get_undefined") }?;
    Ok(value)
}

/// The work of an async job, done on a libuv worker thread.
enum Task {
    /// A run, 1-D or (with a geometry) N-d, its output reduced by `op` if any.
    Run {
        program: Arc<Program>,
        n: usize,
        threads: usize,
        arrays: Vec<ArrayArg>,
        scalars: Vec<[u8; 8]>,
        geometry: Option<Geometry>,
        op: Option<ReduceOp>,
    },
    /// A reduction.
    Reduce(ReduceCall),
}

impl Task {
    /// What the task is, in a message: "the async run was cancelled".
    fn what(&self) -> &'static str {
        match self {
            Task::Run { .. } => "run",
            Task::Reduce(_) => "reduction",
        }
    }

    /// The async resource name Node reports for the work item.
    fn resource_name(&self) -> &'static str {
        match self {
            Task::Run { op: None, .. } => "numfuse.runAsync",
            Task::Run { op: Some(_), .. } => "numfuse.runReduceAsync",
            Task::Reduce(_) => "numfuse.reduceAsync",
        }
    }

    /// Does the work. Makes no Node-API calls.
    ///
    /// # Safety
    ///
    /// The arrays were checked against their TypedArrays (dtype and length),
    /// which stay alive and are not changed until this returns.
    unsafe fn perform(&self) -> std::result::Result<(), Error> {
        match self {
            Task::Run {
                program,
                n,
                threads,
                arrays,
                scalars,
                geometry,
                op,
            } => {
                let args = RunArgs {
                    n: *n,
                    arrays,
                    scalars,
                    threads: *threads,
                };
                // SAFETY: as this function's contract.
                unsafe { perform_run(program, &args, geometry.as_ref(), *op) }
            }
            // SAFETY: as this function's contract.
            Task::Reduce(call) => unsafe { numfuse_core::reduce(&call.args()) },
        }
    }
}

/// An async job: its task, and the references that keep the task's arrays
/// alive until the job settles.
struct AsyncJob {
    task: Task,
    /// One strong reference per array, deleted on completion.
    refs: Vec<napi_ref>,
    deferred: napi_deferred,
    work: napi_async_work,
    outcome: Result<()>,
}

impl AsyncJob {
    /// Deletes the array references and the work item.
    ///
    /// # Safety
    ///
    /// On the JS thread of the env they were created in; once.
    unsafe fn release(&mut self, env: napi_env) {
        for r in self.refs.drain(..) {
            // SAFETY: each reference was created in `env` and is deleted once.
            unsafe { napi_delete_reference(env, r) };
        }
        if !self.work.is_null() {
            // SAFETY: the work item was created in `env` and is not queued
            // (never queued, or completed).
            unsafe { napi_delete_async_work(env, self.work) };
            self.work = ptr::null_mut();
        }
    }
}

/// Runs on a libuv worker thread: no Node-API calls here.
unsafe extern "C" fn execute(_env: napi_env, data: *mut c_void) {
    // SAFETY: `data` is the `AsyncJob` leaked by `queue`; until `complete`
    // runs, only this thread touches it.
    let job = unsafe { &mut *data.cast::<AsyncJob>() };
    // SAFETY: `queue`'s caller checked the task's arrays against their
    // TypedArrays, and the references in `job.refs` keep those alive until
    // `complete`; the API documents that they must not be changed meanwhile.
    let outcome = catch_unwind(AssertUnwindSafe(|| unsafe { job.task.perform() }));
    job.outcome = match outcome {
        Ok(result) => result.map_err(JsError::from),
        Err(p) => Err(JsError::panic(p)),
    };
}

/// Runs back on the JS thread: releases the arrays and settles the promise.
unsafe extern "C" fn complete(env: napi_env, status: napi_status, data: *mut c_void) {
    // SAFETY: `data` is the `AsyncJob` leaked by `queue`; the worker is done with it.
    let mut job = unsafe { Box::from_raw(data.cast::<AsyncJob>()) };
    let settled = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: this is the JS thread of `env`; `release` runs once.
        unsafe { job.release(env) };
        let outcome = if status == Status::napi_cancelled {
            Err(JsError {
                code: "ERR_NUMFUSE_NAPI",
                message: format!("the async {} was cancelled", job.task.what()),
            })
        } else {
            std::mem::replace(&mut job.outcome, Ok(()))
        };
        // SAFETY: the deferred was created in `env` and is settled once, here.
        unsafe {
            match outcome {
                Ok(()) => {
                    let value = undefined(env)?;
                    check(
                        env,
                        napi_resolve_deferred(env, job.deferred, value),
                        "napi_resolve_deferred",
                    )
                }
                Err(e) => {
                    let error = error_value(env, &e)?;
                    check(
                        env,
                        napi_reject_deferred(env, job.deferred, error),
                        "napi_reject_deferred",
                    )
                }
            }
        }
    }));
    // A failure to settle cannot be reported anywhere: there is no caller
    // to throw to, and the promise is Node's to keep or drop.
    drop(settled);
}

/// Queues `task` on a libuv worker thread, holding a reference to each of
/// `arrays` until it settles; returns its promise.
///
/// # Safety
///
/// `env` is the current environment, on the JS thread; `arrays` are its
/// values: the TypedArrays `task`'s arrays were read from and checked against.
unsafe fn queue(env: napi_env, task: Task, arrays: &[napi_value]) -> Result<napi_value> {
    let mut job = Box::new(AsyncJob {
        task,
        refs: Vec::with_capacity(arrays.len()),
        deferred: ptr::null_mut(),
        work: ptr::null_mut(),
        outcome: Ok(()),
    });
    // SAFETY: as this function's contract.
    match unsafe { start(env, &mut job, arrays) } {
        Ok(promise) => {
            // Owned by the work item from now on; `complete` frees it.
            let _ = Box::into_raw(job);
            Ok(promise)
        }
        Err(e) => {
            // SAFETY: this is the JS thread of `env`; the job was not queued,
            // so `complete` will not run and this is the one release.
            unsafe { job.release(env) };
            if !job.deferred.is_null() {
                // Settle (and so free) the promise nobody will see.
                // SAFETY: as this function's contract; the deferred was
                // created in `env` and is settled once, here.
                unsafe {
                    if let Ok(error) = error_value(env, &e) {
                        napi_reject_deferred(env, job.deferred, error);
                    }
                }
            }
            Err(e)
        }
    }
}

/// References the arrays, creates the work item and the promise, and queues
/// the work.
///
/// # Safety
///
/// `env` is the current environment, on the JS thread; `arrays` its values.
/// On failure the caller releases `job`.
unsafe fn start(
    env: napi_env,
    job: &mut Box<AsyncJob>,
    arrays: &[napi_value],
) -> Result<napi_value> {
    for &value in arrays {
        let mut r = ptr::null_mut();
        // SAFETY: `value` is an object of this env; `r` is an out-pointer.
        let status = unsafe { napi_create_reference(env, value, 1, &mut r) };
        // SAFETY: as this function's contract.
        unsafe { check(env, status, "napi_create_reference") }?;
        job.refs.push(r);
    }
    // SAFETY: as this function's contract.
    let name = unsafe { string(env, job.task.resource_name()) }?;
    let data = ptr::addr_of_mut!(**job).cast::<c_void>();
    // SAFETY: `data` stays valid until `complete` (the caller leaks the box on
    // success); `execute` makes no Node-API calls.
    let status = unsafe {
        napi_create_async_work(
            env,
            ptr::null_mut(),
            name,
            Some(execute),
            Some(complete),
            data,
            &mut job.work,
        )
    };
    // SAFETY: as this function's contract.
    unsafe { check(env, status, "napi_create_async_work") }?;
    let mut promise = ptr::null_mut();
    // SAFETY: out-pointers.
    let status = unsafe { napi_create_promise(env, &mut job.deferred, &mut promise) };
    // SAFETY: as this function's contract.
    unsafe { check(env, status, "napi_create_promise") }?;
    // SAFETY: the work item was created in `env` and is queued once.
    let status = unsafe { napi_queue_async_work(env, job.work) };
    // SAFETY: as this function's contract.
    unsafe { check(env, status, "napi_queue_async_work") }?;
    Ok(promise)
}

/// The run functions: each reads its arguments and hands them to `run_call`
/// (synchronous) or `async_call` with its JS name and kind (see the crate docs).
macro_rules! run_functions {
    ($($name:ident: $js:literal => $call:ident(nd: $nd:literal, reduce: $reduce:literal);)*) => {$(
        #[doc = concat!("`", $js, "`.")]
        unsafe extern "C" fn $name(env: napi_env, info: napi_callback_info) -> napi_value {
            // SAFETY: Node calls this on the JS thread with its env and call info.
            unsafe {
                js_function(env, || {
                    let args = call_arguments(env, info)?;
                    let form = Form { nd: $nd, reduce: $reduce };
                    $call(env, args.as_slice(), $js, form)
                })
            }
        }
    )*};
}

run_functions! {
    run: "run" => run_call(nd: false, reduce: false);
    run_nd: "runNd" => run_call(nd: true, reduce: false);
    run_reduce: "runReduce" => run_call(nd: false, reduce: true);
    run_reduce_nd: "runReduceNd" => run_call(nd: true, reduce: true);
    run_async: "runAsync" => async_call(nd: false, reduce: false);
    run_nd_async: "runNdAsync" => async_call(nd: true, reduce: false);
    run_reduce_async: "runReduceAsync" => async_call(nd: false, reduce: true);
    run_reduce_nd_async: "runReduceNdAsync" => async_call(nd: true, reduce: true);
}

/// Queues an async run of the kind `form` says; returns its promise.
///
/// # Safety
///
/// `env` is the current environment, on the JS thread; `args` its values.
unsafe fn async_call(
    env: napi_env,
    args: &[napi_value],
    function: &str,
    form: Form,
) -> Result<napi_value> {
    // SAFETY: as this function's contract (for every call below).
    unsafe {
        let mut scratch = Values::new(0);
        let call = Call::new(env, args, &mut scratch, function, form)?;
        let mut scalars = vec![[0u8; 8]; call.program.n_scalars()];
        call.scalars(&mut scalars);
        let arrays = (0..call.k)
            .map(|i| call.array(env, i))
            .collect::<Result<Vec<_>>>()?;
        let values = call.arrays;
        let task = Task::Run {
            program: call.program,
            n: call.n,
            threads: call.threads,
            arrays,
            scalars,
            geometry: call.geometry,
            op: call.op,
        };
        queue(env, task, values)
    }
}

/// `programNew(code: Uint32Array): number`.
unsafe extern "C" fn program_new(env: napi_env, info: napi_callback_info) -> napi_value {
    // SAFETY: Node calls this on the JS thread with its env and call info.
    unsafe {
        js_function(env, || {
            let [code] = arguments::<1>(env, info, "programNew")?;
            let code = typed_array(env, code, &|| "programNew's code".to_string())?;
            if code.kind != TypedarrayType::uint32_array {
                return Err(JsError::bad_args(format!(
                    "programNew's code must be a Uint32Array, got a {}",
                    kind_name(code.kind)
                )));
            }
            let bytes: &[u8] = if code.len == 0 || code.data.is_null() {
                &[]
            } else {
                // SAFETY (the block's, in detail): a Uint32Array of `len`
                // elements is `4 * len` readable bytes at `data` during this call.
                std::slice::from_raw_parts(code.data, code.len * 4)
            };
            let handle = numfuse::register(Program::new(bytes)?)?;
            let mut value = ptr::null_mut();
            check(
                env,
                napi_create_uint32(env, handle, &mut value),
                "napi_create_uint32",
            )?;
            Ok(value)
        })
    }
}

/// `programFree(handle: number): void`.
unsafe extern "C" fn program_free(env: napi_env, info: napi_callback_info) -> napi_value {
    // SAFETY: Node calls this on the JS thread with its env and call info.
    unsafe {
        js_function(env, || {
            let [handle] = arguments::<1>(env, info, "programFree")?;
            numfuse::free(get_u32(env, handle, "handle")?)?;
            Ok(ptr::null_mut())
        })
    }
}

/// `numCpus(): number` — the logical CPUs this process may use.
unsafe extern "C" fn num_cpus(env: napi_env, _info: napi_callback_info) -> napi_value {
    // SAFETY: Node calls this on the JS thread with its env.
    unsafe {
        js_function(env, || {
            // Asking the OS reads cgroup files (~10 µs): once per process.
            static CPUS: OnceLock<usize> = OnceLock::new();
            let cpus =
                *CPUS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            let mut value = ptr::null_mut();
            let status =
                napi_create_uint32(env, u32::try_from(cpus).unwrap_or(u32::MAX), &mut value);
            check(env, status, "napi_create_uint32")?;
            Ok(value)
        })
    }
}

/// `address(array): number` — the address of a TypedArray's first element,
/// a whole number below 2^53; 0 for an empty array.
unsafe extern "C" fn address(env: napi_env, info: napi_callback_info) -> napi_value {
    // SAFETY: Node calls this on the JS thread with its env and call info.
    unsafe {
        js_function(env, || {
            let [value] = arguments::<1>(env, info, "address")?;
            let array = typed_array(env, value, &|| "address's argument".to_string())?;
            let at = if array.len == 0 {
                0
            } else {
                array.data as usize
            };
            // User-space addresses are below 2^47 (2^57 with 5-level paging): exact in an f64.
            let mut result = ptr::null_mut();
            check(
                env,
                napi_create_double(env, at as f64, &mut result),
                "napi_create_double",
            )?;
            Ok(result)
        })
    }
}

/// A block's address argument of `runAt` and `runReduceAt`: a whole number
/// in [1, 2^53), as `address` gives.
///
/// # Safety
///
/// `env` is the current environment; `value` one of its values.
unsafe fn get_block(env: napi_env, value: napi_value) -> Result<*const f64> {
    let mut x = 0.0;
    // SAFETY: `x` is an out-pointer.
    let status = unsafe { napi_get_value_double(env, value, &mut x) };
    numfuse::address(x)
        .filter(|_| status == Status::napi_ok)
        .map(|at| at.cast_const().cast::<f64>())
        .ok_or_else(|| {
            JsError::bad_args("a block's address must be a whole number in [1, 2^53)".to_string())
        })
}

/// `runAt(handle, threads, at, metaLength, count): void` — `numfuse::run_at`.
unsafe extern "C" fn run_at(env: napi_env, info: napi_callback_info) -> napi_value {
    // SAFETY: Node calls this on the JS thread with its env and call info.
    unsafe {
        js_function(env, || {
            let [handle, threads, at, meta_len, count] = arguments::<5>(env, info, "runAt")?;
            let handle = get_u32(env, handle, "handle")?;
            let threads = get_u32(env, threads, "threads")?;
            let block = get_block(env, at)?;
            let meta_len = get_u32(env, meta_len, "metaLength")?;
            let count = get_u32(env, count, "count")?;
            // SAFETY (the block's, in detail): the binding's contract (the
            // crate docs): `at` and the addresses in it are those `address`
            // gave, of a block of `meta_len + count` slots and of arrays
            // whose length reads nonzero now (so none was detached since),
            // each of at least the length in meta; nothing runs JS during
            // this synchronous call to detach one.
            numfuse::run_at(handle, threads, block, meta_len, count)?;
            Ok(ptr::null_mut())
        })
    }
}

/// `runReduceAt(handle, threads, op, at, metaLength, count): void` —
/// `numfuse::run_reduce_at`.
unsafe extern "C" fn run_reduce_at(env: napi_env, info: napi_callback_info) -> napi_value {
    // SAFETY: Node calls this on the JS thread with its env and call info.
    unsafe {
        js_function(env, || {
            let [handle, threads, op, at, meta_len, count] =
                arguments::<6>(env, info, "runReduceAt")?;
            let handle = get_u32(env, handle, "handle")?;
            let threads = get_u32(env, threads, "threads")?;
            let op = get_u32(env, op, "op")?;
            let block = get_block(env, at)?;
            let meta_len = get_u32(env, meta_len, "metaLength")?;
            let count = get_u32(env, count, "count")?;
            // SAFETY (the block's, in detail): as `run_at`'s.
            numfuse::run_reduce_at(handle, threads, op, block, meta_len, count)?;
            Ok(ptr::null_mut())
        })
    }
}

/// Bytes per element of a TypedArray kind.
fn kind_bytes(kind: napi_typedarray_type) -> usize {
    match kind {
        TypedarrayType::int16_array | TypedarrayType::uint16_array => 2,
        TypedarrayType::int32_array
        | TypedarrayType::uint32_array
        | TypedarrayType::float32_array => 4,
        TypedarrayType::float64_array
        | TypedarrayType::bigint64_array
        | TypedarrayType::biguint64_array => 8,
        _ => 1,
    }
}

/// `adviseFresh(array)` — asks for huge pages on a fresh result array before
/// the VM first writes it (`numfuse_core::advise_fresh`; advisory only).
unsafe extern "C" fn advise_fresh(env: napi_env, info: napi_callback_info) -> napi_value {
    // SAFETY: Node calls this on the JS thread with its env and call info.
    unsafe {
        js_function(env, || {
            let [value] = arguments::<1>(env, info, "adviseFresh")?;
            let array = typed_array(env, value, &|| "adviseFresh's argument".to_string())?;
            let bytes = array.len.saturating_mul(kind_bytes(array.kind));
            numfuse_core::advise_fresh(array.data.cast(), bytes);
            Ok(ptr::null_mut())
        })
    }
}

/// The error for a reduction code no reduction has.
fn unknown_reduction(code: u32) -> JsError {
    JsError::bad_args(format!("unknown reduction code {code}"))
}

/// The decoded arguments of `reduce`/`reduceAsync`: everything but the
/// borrow of the view, which [`ReduceCall::args`] lends.
struct ReduceCall {
    op: ReduceOp,
    dtype: DType,
    data: TypedArray,
    out: TypedArray,
    view: numfuse_core::View,
    axis: Option<isize>,
    threads: usize,
    /// The JS values of `data` and `out`, for the references an async call keeps.
    values: [napi_value; 2],
}

impl ReduceCall {
    /// Reads and checks `op, dtype, data, geom, out, threads`: `data` must
    /// be the TypedArray of `dtype` and `out` that of the result dtype.
    ///
    /// # Safety
    ///
    /// `env` and `info` are those of the current call.
    unsafe fn new(env: napi_env, info: napi_callback_info, function: &str) -> Result<ReduceCall> {
        // SAFETY: as this function's contract, for every helper below.
        unsafe {
            let [op, dtype, data, geom, out, threads] = arguments::<6>(env, info, function)?;
            let op_code = get_u32(env, op, "op")?;
            let op = ReduceOp::from_code(op_code).ok_or_else(|| unknown_reduction(op_code))?;
            let dtype_code = get_u32(env, dtype, "dtype")?;
            let dtype = DType::from_code(dtype_code)
                .ok_or_else(|| JsError::bad_args(format!("unknown dtype code {dtype_code}")))?;
            let result = op.result_dtype(dtype);
            let typed = |value, what: &'static str, want: DType| -> Result<TypedArray> {
                let array = typed_array(env, value, &|| format!("{function}'s {what}"))?;
                let kind = kind_of(want).ok_or_else(|| {
                    JsError::bad_args(format!("{} has no TypedArray in this runtime", want.name()))
                })?;
                if array.kind != kind {
                    return Err(JsError::bad_args(format!(
                        "{function}'s {what} must be a {} for {}, got a {}",
                        kind_name(kind),
                        want.name(),
                        kind_name(array.kind)
                    )));
                }
                Ok(array)
            };
            let values = [data, out];
            let data = typed(data, "data", dtype)?;
            let out = typed(out, "out", result)?;
            let geom = typed(geom, "geometry", DType::Float64)?;
            let geom: Vec<f64> = (0..geom.len)
                // SAFETY: a Float64Array of `len` elements at `data` during this call.
                .map(|i| ptr::read_unaligned(geom.data.cast::<f64>().add(i)))
                .collect();
            let (view, axis) = numfuse_core::View::decode(&geom)?;
            Ok(ReduceCall {
                op,
                dtype,
                data,
                out,
                view,
                axis,
                threads: get_u32(env, threads, "threads")? as usize,
                values,
            })
        }
    }

    fn args(&self) -> numfuse_core::ReduceArgs<'_> {
        numfuse_core::ReduceArgs {
            op: self.op,
            dtype: self.dtype,
            data: self.data.data,
            data_len: self.data.len,
            view: &self.view,
            axis: self.axis,
            out: self.out.data,
            out_len: self.out.len,
            threads: self.threads,
        }
    }
}

/// `reduce(op, dtype, data, geom: Float64Array, out, threads): void` — a
/// reduction of a strided view of `data` into `out` (see
/// `numfuse_core::reduce`): `op` a `ReduceOp` code, `dtype` the input's
/// dtype code, `geom` `[offset, axis (NaN: whole), ndim, shape...,
/// strides...]` in elements. `data` must be the TypedArray of `dtype` and
/// `out` that of the result dtype.
unsafe extern "C" fn reduce(env: napi_env, info: napi_callback_info) -> napi_value {
    // SAFETY: Node calls this on the JS thread with its env and call info.
    unsafe {
        js_function(env, || {
            let call = ReduceCall::new(env, info, "reduce")?;
            // The arrays are JS values of this synchronous call, of the
            // dtypes' TypedArrays and their lengths: nothing else runs JS
            // until it returns.
            numfuse_core::reduce(&call.args())?;
            Ok(ptr::null_mut())
        })
    }
}

/// `reduceAsync(op, dtype, data, geom, out, threads): Promise<void>` — as
/// `reduce`, on a libuv worker thread, holding references to `data` and
/// `out` until it settles.
unsafe extern "C" fn reduce_async(env: napi_env, info: napi_callback_info) -> napi_value {
    // SAFETY: Node calls this on the JS thread with its env and call info.
    unsafe {
        js_function(env, || {
            let call = ReduceCall::new(env, info, "reduceAsync")?;
            let values = call.values;
            queue(env, Task::Reduce(call), &values)
        })
    }
}

/// The functions the module exports, by JS name.
const EXPORTS: &[(&str, napi_callback)] = &[
    ("programNew\0", Some(program_new)),
    ("programFree\0", Some(program_free)),
    ("run\0", Some(run)),
    ("runAt\0", Some(run_at)),
    ("runReduceAt\0", Some(run_reduce_at)),
    ("address\0", Some(address)),
    ("runAsync\0", Some(run_async)),
    ("runNd\0", Some(run_nd)),
    ("runNdAsync\0", Some(run_nd_async)),
    ("runReduce\0", Some(run_reduce)),
    ("runReduceNd\0", Some(run_reduce_nd)),
    ("runReduceAsync\0", Some(run_reduce_async)),
    ("runReduceNdAsync\0", Some(run_reduce_nd_async)),
    ("numCpus\0", Some(num_cpus)),
    ("adviseFresh\0", Some(advise_fresh)),
    ("reduce\0", Some(reduce)),
    ("reduceAsync\0", Some(reduce_async)),
];

/// Node's entry point: fills `exports` with the functions above.
///
/// # Safety
///
/// Called by Node, on the JS thread, once per environment that loads the addon.
#[no_mangle]
pub unsafe extern "C" fn napi_register_module_v1(env: napi_env, exports: napi_value) -> napi_value {
    // SAFETY: this is Node's call on the JS thread of `env`.
    unsafe {
        js_function(env, || {
            for &(name, callback) in EXPORTS {
                let mut function = ptr::null_mut();
                let status = napi_create_function(
                    env,
                    name.as_ptr().cast::<c_char>(),
                    name.len() - 1,
                    callback,
                    ptr::null_mut(),
                    &mut function,
                );
                check(env, status, "napi_create_function")?;
                let status =
                    napi_set_named_property(env, exports, name.as_ptr().cast::<c_char>(), function);
                check(env, status, "napi_set_named_property")?;
            }
            Ok(exports)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_counts_are_non_negative_safe_integers() {
        let what = || "x".to_string();
        assert_eq!(meta_count(0.0, &what).ok(), Some(0));
        assert_eq!(meta_count(4096.0, &what).ok(), Some(4096));
        assert_eq!(
            meta_count(9_007_199_254_740_991.0, &what).ok(),
            Some(9_007_199_254_740_991)
        );
        for bad in [-1.0, 2.5, f64::NAN, f64::INFINITY, 9_007_199_254_740_992.0] {
            let e = meta_count(bad, &what).expect_err("refused");
            assert_eq!(e.code, "ERR_NUMFUSE_BAD_ARGUMENTS");
            assert!(e.message.starts_with("x must be a non-negative integer"));
        }
    }

    #[test]
    fn every_dtype_but_float16_has_a_typed_array() {
        for dtype in DType::ALL {
            let kind = kind_of(dtype);
            assert_eq!(kind.is_none(), dtype == DType::Float16, "{dtype:?}");
            if let Some(kind) = kind {
                assert!(kind_name(kind).ends_with("Array"), "{dtype:?}");
            }
        }
        assert_eq!(kind_of(DType::Bool), Some(TypedarrayType::uint8_array));
        assert_eq!(kind_of(DType::Int64), Some(TypedarrayType::bigint64_array));
    }

    #[test]
    fn error_codes_have_distinct_names() {
        let codes = [
            ErrorCode::BadProgram,
            ErrorCode::BadArguments,
            ErrorCode::Overlap,
            ErrorCode::Domain,
            ErrorCode::Panic,
            ErrorCode::BadHandle,
        ];
        let names: std::collections::HashSet<_> = codes.iter().map(|&c| code_name(c)).collect();
        assert_eq!(names.len(), codes.len());
        assert!(names.iter().all(|n| n.starts_with("ERR_NUMFUSE_")));
    }

    #[test]
    fn unknown_handles_are_errors() {
        for handle in [0, 12345, u32::MAX] {
            assert_eq!(
                numfuse::lookup(handle).err().unwrap().code,
                ErrorCode::BadHandle
            );
            assert_eq!(
                numfuse::free(handle).err().unwrap().code,
                ErrorCode::BadHandle
            );
        }
    }
}
