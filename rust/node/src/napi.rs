//! The few Node-API declarations the addon uses, written by hand.
//!
//! The napi-rs crates (`napi-sys`, `napi`) cannot be downloaded on the
//! machines this is built on (crates.io is unreachable and Debian does not
//! package them), so this module declares what `node_api.h` /
//! `js_native_api.h` provide. It is shaped like `napi-sys`: the same type
//! names, the same function names and signatures, the same constants, so
//! moving to `napi-sys` later is replacing `crate::napi` with `napi_sys` (and
//! deleting this file).
//!
//! Nothing here is linked: Node resolves these symbols from its own binary
//! when it loads the addon (see `build.rs`).

#![allow(non_camel_case_types)]

use std::ffi::{c_char, c_void};

/// Opaque Node-API handle types (`napi_env`, `napi_value`, ...).
macro_rules! opaque {
    ($($name:ident => $pointer:ident),* $(,)?) => {$(
        #[repr(C)]
        pub struct $name {
            _private: [u8; 0],
        }
        pub type $pointer = *mut $name;
    )*};
}

opaque! {
    napi_env__ => napi_env,
    napi_value__ => napi_value,
    napi_ref__ => napi_ref,
    napi_deferred__ => napi_deferred,
    napi_async_work__ => napi_async_work,
    napi_callback_info__ => napi_callback_info,
}

/// A Node-API status (`napi_ok`, ...).
pub type napi_status = i32;
/// The element type of a TypedArray.
pub type napi_typedarray_type = i32;

pub mod Status {
    //! `napi_status` values (as `napi_sys::Status`).
    #![allow(non_snake_case, non_upper_case_globals)]
    use super::napi_status;
    pub const napi_ok: napi_status = 0;
    pub const napi_pending_exception: napi_status = 10;
    pub const napi_cancelled: napi_status = 11;
}

pub mod TypedarrayType {
    //! `napi_typedarray_type` values (as `napi_sys::TypedarrayType`).
    #![allow(non_snake_case, non_upper_case_globals)]
    use super::napi_typedarray_type;
    pub const int8_array: napi_typedarray_type = 0;
    pub const uint8_array: napi_typedarray_type = 1;
    pub const uint8_clamped_array: napi_typedarray_type = 2;
    pub const int16_array: napi_typedarray_type = 3;
    pub const uint16_array: napi_typedarray_type = 4;
    pub const int32_array: napi_typedarray_type = 5;
    pub const uint32_array: napi_typedarray_type = 6;
    pub const float32_array: napi_typedarray_type = 7;
    pub const float64_array: napi_typedarray_type = 8;
    pub const bigint64_array: napi_typedarray_type = 9;
    pub const biguint64_array: napi_typedarray_type = 10;
}

/// A function callable from JS.
pub type napi_callback =
    Option<unsafe extern "C" fn(env: napi_env, info: napi_callback_info) -> napi_value>;
/// The part of an async work item that runs on a libuv worker thread.
pub type napi_async_execute_callback =
    Option<unsafe extern "C" fn(env: napi_env, data: *mut c_void)>;
/// The part of an async work item that runs back on the JS thread.
pub type napi_async_complete_callback =
    Option<unsafe extern "C" fn(env: napi_env, status: napi_status, data: *mut c_void)>;

/// What `napi_get_last_error_info` returns.
#[repr(C)]
pub struct napi_extended_error_info {
    pub error_message: *const c_char,
    pub engine_reserved: *mut c_void,
    pub engine_error_code: u32,
    pub error_code: napi_status,
}

extern "C" {
    pub fn napi_get_last_error_info(
        env: napi_env,
        result: *mut *const napi_extended_error_info,
    ) -> napi_status;
    pub fn napi_is_exception_pending(env: napi_env, result: *mut bool) -> napi_status;
    pub fn napi_throw(env: napi_env, error: napi_value) -> napi_status;
    pub fn napi_create_error(
        env: napi_env,
        code: napi_value,
        msg: napi_value,
        result: *mut napi_value,
    ) -> napi_status;

    pub fn napi_get_undefined(env: napi_env, result: *mut napi_value) -> napi_status;
    pub fn napi_create_uint32(env: napi_env, value: u32, result: *mut napi_value) -> napi_status;
    pub fn napi_create_string_utf8(
        env: napi_env,
        str_: *const c_char,
        length: usize,
        result: *mut napi_value,
    ) -> napi_status;
    pub fn napi_get_value_uint32(env: napi_env, value: napi_value, result: *mut u32)
        -> napi_status;
    pub fn napi_create_double(env: napi_env, value: f64, result: *mut napi_value) -> napi_status;
    pub fn napi_get_value_double(env: napi_env, value: napi_value, result: *mut f64)
        -> napi_status;

    pub fn napi_create_function(
        env: napi_env,
        utf8name: *const c_char,
        length: usize,
        cb: napi_callback,
        data: *mut c_void,
        result: *mut napi_value,
    ) -> napi_status;
    pub fn napi_get_cb_info(
        env: napi_env,
        cbinfo: napi_callback_info,
        argc: *mut usize,
        argv: *mut napi_value,
        this_arg: *mut napi_value,
        data: *mut *mut c_void,
    ) -> napi_status;
    pub fn napi_set_named_property(
        env: napi_env,
        object: napi_value,
        utf8name: *const c_char,
        value: napi_value,
    ) -> napi_status;

    pub fn napi_get_array_length(env: napi_env, value: napi_value, result: *mut u32)
        -> napi_status;
    pub fn napi_is_array(env: napi_env, value: napi_value, result: *mut bool) -> napi_status;
    pub fn napi_get_element(
        env: napi_env,
        object: napi_value,
        index: u32,
        result: *mut napi_value,
    ) -> napi_status;
    pub fn napi_get_typedarray_info(
        env: napi_env,
        typedarray: napi_value,
        type_: *mut napi_typedarray_type,
        length: *mut usize,
        data: *mut *mut c_void,
        arraybuffer: *mut napi_value,
        byte_offset: *mut usize,
    ) -> napi_status;

    pub fn napi_create_reference(
        env: napi_env,
        value: napi_value,
        initial_refcount: u32,
        result: *mut napi_ref,
    ) -> napi_status;
    pub fn napi_delete_reference(env: napi_env, ref_: napi_ref) -> napi_status;

    pub fn napi_create_promise(
        env: napi_env,
        deferred: *mut napi_deferred,
        promise: *mut napi_value,
    ) -> napi_status;
    pub fn napi_resolve_deferred(
        env: napi_env,
        deferred: napi_deferred,
        resolution: napi_value,
    ) -> napi_status;
    pub fn napi_reject_deferred(
        env: napi_env,
        deferred: napi_deferred,
        rejection: napi_value,
    ) -> napi_status;

    pub fn napi_create_async_work(
        env: napi_env,
        async_resource: napi_value,
        async_resource_name: napi_value,
        execute: napi_async_execute_callback,
        complete: napi_async_complete_callback,
        data: *mut c_void,
        result: *mut napi_async_work,
    ) -> napi_status;
    pub fn napi_queue_async_work(env: napi_env, work: napi_async_work) -> napi_status;
    pub fn napi_delete_async_work(env: napi_env, work: napi_async_work) -> napi_status;
}
