// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Reading the caller's arguments at the C boundary without trusting them.

use core::ffi::{c_char, c_void};
use core::mem::offset_of;

use ntstatus::{NtStatus, STATUS_INVALID_PARAMETER};
use xenbus_interface::{InterfaceHeader, Pinterface};

/// A context object reachable from `Interface->Context`: `repr(C)` with its tag as the first
/// field, so a pointer to it can be checked before it is used as one.
///
/// # Safety
/// Implementors are `repr(C)` structs whose first field is a `u64` always equal to `TAG`.
pub unsafe trait Tagged: Sized {
    /// The value of the first field.
    const TAG: u64;
}

/// The context of the caller's table, if `interface` is non-NULL and its `Context` is a live
/// context of type `C` (checked by alignment and tag).
///
/// # Safety
/// `interface` must be NULL or point to a readable `INTERFACE` header; a non-NULL, aligned
/// `Context` whose first word holds `C::TAG` must be a `C` that lives for `'a` (xenbus only
/// writes its own contexts there, and they outlive the children).
pub unsafe fn context<'a, C: Tagged>(interface: Pinterface) -> Option<&'a C> {
    if interface.is_null() {
        return None;
    }
    #[allow(clippy::cast_ptr_alignment, reason = "read with read_unaligned")]
    let field = interface
        .cast::<u8>()
        .wrapping_add(offset_of!(InterfaceHeader, context))
        .cast::<*mut c_void>();
    // SAFETY: `interface` is non-NULL and points to a readable header (contract); unaligned
    // because the caller's copy may sit anywhere.
    let context = unsafe { field.read_unaligned() }.cast::<C>();
    if context.is_null() || !context.is_aligned() {
        return None;
    }
    // SAFETY: a non-NULL aligned context pointer names memory at least one word long that
    // xenbus wrote into the table (contract); the tag is its first word.
    let tag = unsafe { context.cast::<u64>().read() };
    if tag != C::TAG {
        return None;
    }
    // SAFETY: the tag says this is a live `C` (contract), shared read-only for `'a`.
    Some(unsafe { &*context })
}

/// `Interface->Version` of the caller's copy, or 0 for NULL.
///
/// # Safety
/// As [`context`].
pub const unsafe fn version(interface: Pinterface) -> u16 {
    if interface.is_null() {
        return 0;
    }
    #[allow(clippy::cast_ptr_alignment, reason = "read with read_unaligned")]
    let field = interface
        .cast::<u8>()
        .wrapping_add(offset_of!(InterfaceHeader, version))
        .cast::<u16>();
    // SAFETY: non-NULL and readable (contract); unaligned for any caller placement.
    unsafe { field.read_unaligned() }
}

/// A NUL-terminated string of at most `max` bytes before the NUL, or `None` for NULL.
///
/// # Errors
/// `STATUS_INVALID_PARAMETER` if no NUL is found within `max + 1` bytes.
///
/// # Safety
/// `ptr` must be NULL or readable up to its NUL or `max + 1` bytes, whichever comes first, and
/// stay unchanged for `'a`.
pub const unsafe fn c_str<'a>(
    ptr: *const c_char,
    max: usize,
) -> Result<Option<&'a [u8]>, NtStatus> {
    if ptr.is_null() {
        return Ok(None);
    }
    let bytes = ptr.cast::<u8>();
    let mut len = 0usize;
    loop {
        // SAFETY: `len <= max` and no NUL came before it, so the contract makes it readable.
        let byte = unsafe { bytes.wrapping_add(len).read() };
        if byte == 0 {
            break;
        }
        if len >= max {
            return Err(STATUS_INVALID_PARAMETER);
        }
        len = len.saturating_add(1);
    }
    // SAFETY: the `len` bytes were just read, so they are readable for `'a` (contract).
    Ok(Some(unsafe { core::slice::from_raw_parts(bytes, len) }))
}

/// As [`c_str`], but NULL is `STATUS_INVALID_PARAMETER`.
///
/// # Errors
/// NULL or unterminated.
///
/// # Safety
/// As [`c_str`].
pub unsafe fn required_str<'a>(ptr: *const c_char, max: usize) -> Result<&'a [u8], NtStatus> {
    // SAFETY: forwarded contract.
    unsafe { c_str(ptr, max) }?.ok_or(STATUS_INVALID_PARAMETER)
}

/// Writes `value` to an out-parameter; false (nothing written) for NULL.
///
/// # Safety
/// `out` must be NULL or writable for a `T` (any alignment).
pub unsafe fn write_out<T>(out: *mut T, value: T) -> bool {
    if out.is_null() {
        return false;
    }
    // SAFETY: non-NULL and writable (contract); unaligned for any caller placement.
    unsafe { out.write_unaligned(value) };
    true
}

/// Converts a C `BOOLEAN` (any non-zero byte is TRUE).
pub const fn boolean(value: u8) -> bool {
    value != 0
}

/// Converts to a C `BOOLEAN`.
pub const fn to_boolean(value: bool) -> u8 {
    if value { 1 } else { 0 }
}

/// A four-to-eight character tag, readable in a memory dump.
pub const fn tag(name: [u8; 8]) -> u64 {
    u64::from_ne_bytes(name)
}
