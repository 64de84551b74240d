//! Tests of the VM through its public API: the validator's refusals, every
//! kernel against a naive reference, the checks and semantics of `run`, and
//! fused reductions (`run_reduce`) against materialized ones.

mod common;
mod kernels;
mod nd;
mod reduce;
mod run;
mod validate;
