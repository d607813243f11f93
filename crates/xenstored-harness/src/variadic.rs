// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! A C-variadic `StorePrintf`-shaped entry for the suite (System V thunk, host only).
//!
//! The XENBUS glue will export `StorePrintf(Interface, Transaction, Prefix, Node, Format, ...)`
//! through kprintf's variadic thunks. This one has the same shape, with a dom0 store pointer
//! for the interface. It lets the suite drive the whole path against a real daemon: a C-ABI
//! variadic call, the thunk, the `va_list` reader, the MSVC engine, `Store::printf_c` and
//! `XS_WRITE`.

use std::ffi::{CStr, c_char, c_void};

use xenbus::store::kprintf::{RawSysVVaList, SysVVaList};
use xenbus::store::status;

use crate::suite::Dom0Store;

/// The Rust side of the thunk.
///
/// # Safety
/// `store` points to a live [`Dom0Store`]; `node` and `format` are NUL-terminated; `prefix` is NULL or
/// NUL-terminated; the variadic arguments match `format` (the C contract of printf).
unsafe extern "sysv64" fn store_printf_va(
    store: *const c_void,
    prefix: *const c_char,
    node: *const c_char,
    format: *const c_char,
    va: RawSysVVaList,
) -> i32 {
    // SAFETY: the caller passes a live store (this function's contract).
    let Some(store) = (unsafe { store.cast::<Dom0Store>().as_ref() }) else {
        return status::INVALID_PARAMETER;
    };
    let prefix = if prefix.is_null() {
        None
    } else {
        // SAFETY: non-NULL prefixes are NUL-terminated (contract).
        Some(unsafe { CStr::from_ptr(prefix) }.to_bytes())
    };
    // SAFETY: NUL-terminated (contract).
    let node = unsafe { CStr::from_ptr(node) }.to_bytes();
    // SAFETY: NUL-terminated (contract).
    let format = unsafe { CStr::from_ptr(format) }.to_bytes();
    // SAFETY: the thunk hands over the caller's va_list, whose arguments match the format.
    let mut args = unsafe { SysVVaList::new(va) };
    match store.printf_c(None, prefix, node, format, &mut args) {
        Ok(()) => status::SUCCESS,
        Err(error) => error.ntstatus(),
    }
}

xenbus::store::kprintf::sysv64_variadic_thunk! {
    /// `StorePrintf(Store, Prefix, Node, Format, ...)`: returns an NTSTATUS.
    pub fn xenstored_harness_store_printf(*const c_void, *const c_char, *const c_char,
        *const c_char, ...) -> i32 => store_printf_va;
}
