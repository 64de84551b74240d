//! Tests of the VM through its public API: the validator's refusals, every
//! kernel against a naive reference, and the checks and semantics of `run`.

mod common;
mod kernels;
mod nd;
mod run;
mod validate;
