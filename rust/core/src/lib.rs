//! The numfuse virtual machine.
//!
//! A program arrives as bytecode (the format is drawn at the top of
//! `src/opcodes.ts`), is validated and pre-decoded once by [`Program::new`],
//! and is then [`run`] over caller-owned arrays, block by block
//! ([`BLOCK`] elements), on one thread or on several through rayon.
//!
//! - `opcodes` — the opcode table, generated from `src/opcodes.ts`
//! - `isa` — the instruction sets kernels are compiled for, probed once
//! - `program` — validation and pre-decoding (numexpr's `check_program`)
//! - `kernels` — one generic loop per arity, instantiated for every opcode
//!   and every ISA
//! - `vm` — argument checks, the block loop and the thread plan
//! - `reduce` — sum, prod, min, max, mean, any, all, count_nonzero over
//!   strided N-d views, whole or along an axis; or, fused with a program by
//!   [`run_reduce`], over its output as it is computed
//! - `nd` — N-d geometry (shape, offsets, strides) and the per-block gather

#![deny(unsafe_op_in_unsafe_fn)]

mod isa;
mod kernels;
mod memory;
mod nd;
#[rustfmt::skip]
pub mod opcodes;
mod program;
mod reduce;
mod vm;

use std::fmt;

pub use isa::Isa;
pub use memory::{advise_fresh, ADVISE_MIN_BYTES};
pub use nd::{Geometry, MAX_NDIM};
pub use opcodes::DType;
pub use program::{Program, MAX_SCRATCH_BYTES};
pub use reduce::{reduce, ReduceArgs, ReduceOp, View, MAX_DIMS};
pub use vm::{
    check_run, run, run_nd, run_reduce, run_unchecked, ArrayArg, RunArgs, BLOCK, PARALLEL_WORK_MIN,
    PREFETCH_MIN, STREAM_MIN_BYTES,
};

/// Why a program or a run was refused. The discriminants are the C ABI's
/// (negated) return codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ErrorCode {
    /// The bytecode is malformed or breaks a typing rule.
    BadProgram = 1,
    /// The arrays, lengths or scalars of a run do not fit the program.
    BadArguments = 2,
    /// An output partially overlaps an input or another output.
    Overlap = 3,
    /// A kernel met a value it has no answer for (integer ** negative integer).
    Domain = 4,
    /// A panic was caught at the FFI boundary.
    Panic = 5,
    /// An unknown or already freed program handle (FFI only).
    BadHandle = 6,
}

/// An error code with a message naming the instruction, register or slot at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    /// What kind of error.
    pub code: ErrorCode,
    /// What went wrong, and where.
    pub message: String,
}

impl Error {
    /// An error with this code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Error {
        Error {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
