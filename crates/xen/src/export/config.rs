// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `Config*` exports: the system start option query (decided here, see [`crate::options`])
//! and the active-device store and reboot request (delegated to the [`super::Platform`]).

use alloc::alloc::{Layout, alloc_zeroed, dealloc};
use core::ffi::{c_char, c_void};

use super::{
    NtStatus, STATUS_BUFFER_OVERFLOW, STATUS_INVALID_PARAMETER, STATUS_NO_MEMORY,
    STATUS_NOT_SUPPORTED, STATUS_OBJECT_NAME_NOT_FOUND, STATUS_SUCCESS, c_bytes, platform,
};
use crate::options::StartOptions;

/// `ANSI_STRING` (`Length` and `MaximumLength` in bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct AnsiString {
    /// Bytes in use, without the terminator.
    pub length: u16,
    /// Bytes allocated, with the terminator.
    pub maximum_length: u16,
    /// The characters, NUL-terminated here.
    pub buffer: *mut c_char,
}

/// The 2-entry array `ConfigQuerySystemStartOption` returns: the option, then a NULL entry.
type OptionArray = [AnsiString; 2];

/// Finds the token of `key` in the start options, as upstream's `RegistryQuerySystemStartOption`.
///
/// # Errors
/// The platform's read failure, or `STATUS_OBJECT_NAME_NOT_FOUND` when no token matches.
pub fn query_start_option(key: &[u8], mut found: impl FnMut(&[u8]) -> NtStatus) -> NtStatus {
    let Some(p) = platform() else {
        return STATUS_NOT_SUPPORTED;
    };
    let mut status = STATUS_OBJECT_NAME_NOT_FOUND;
    if let Err(e) = p.start_options(&mut |raw| {
        if let Some(token) = StartOptions::new(raw).find(key) {
            status = found(token);
        }
    }) {
        return e;
    }
    status
}

/// Allocates the option array for `token`.
fn new_option(token: &[u8]) -> Result<*mut AnsiString, NtStatus> {
    // `MaximumLength` counts the terminator and is 16 bits wide.
    let max = token
        .len()
        .checked_add(1)
        .filter(|&m| u16::try_from(m).is_ok())
        .ok_or(STATUS_BUFFER_OVERFLOW)?;
    let (length, maximum_length) = (
        u16::try_from(token.len()).map_err(|_| STATUS_BUFFER_OVERFLOW)?,
        u16::try_from(max).map_err(|_| STATUS_BUFFER_OVERFLOW)?,
    );
    let bytes = Layout::array::<u8>(max).map_err(|_| STATUS_NO_MEMORY)?;
    // SAFETY: `bytes` has a non-zero size (at least the terminator).
    let buffer = unsafe { alloc_zeroed(bytes) };
    if buffer.is_null() {
        return Err(STATUS_NO_MEMORY);
    }
    // SAFETY: `buffer` holds `max` = `token.len()` + 1 fresh bytes; the sources do not overlap.
    unsafe { core::ptr::copy_nonoverlapping(token.as_ptr(), buffer, token.len()) };
    let layout = Layout::new::<OptionArray>();
    // SAFETY: the array layout has a non-zero size.
    let raw = unsafe { alloc_zeroed(layout) };
    // The allocation has `layout`'s alignment, which is the array's.
    #[allow(clippy::cast_ptr_alignment)]
    let array = raw.cast::<OptionArray>();
    if array.is_null() {
        // SAFETY: allocated above with `bytes`.
        unsafe { dealloc(buffer, bytes) };
        return Err(STATUS_NO_MEMORY);
    }
    let value = [
        AnsiString {
            length,
            maximum_length,
            buffer: buffer.cast::<c_char>(),
        },
        AnsiString {
            length: 0,
            maximum_length: 0,
            buffer: core::ptr::null_mut(),
        },
    ];
    // SAFETY: `array` is a fresh allocation of the array's layout.
    unsafe { array.write(value) };
    Ok(array.cast::<AnsiString>())
}

/// `NTSTATUS ConfigQuerySystemStartOption(PSTR Key, PANSI_STRING *Option)`.
///
/// Finds the first `SystemStartOptions` token beginning with `Key` (case-sensitive, see
/// [`crate::options`]) and returns a 2-entry `ANSI_STRING` array: the whole token (prefix
/// included, NUL-terminated), then an entry with a NULL `Buffer`. Free it with
/// `ConfigFreeSzValue`. A token of 64 KiB or more, which an `ANSI_STRING` cannot describe, gives
/// `STATUS_BUFFER_OVERFLOW` (upstream's 16-bit length wrapped there).
///
/// # Safety
/// `Key` is NULL or NUL-terminated; `Option` is NULL or writable.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "ConfigQuerySystemStartOption")]
pub unsafe extern "C" fn config_query_system_start_option(
    key: *const c_char,
    option: *mut *mut AnsiString,
) -> NtStatus {
    if option.is_null() {
        return STATUS_INVALID_PARAMETER;
    }
    // SAFETY: non-NULL and writable by the caller's contract.
    unsafe { option.write_unaligned(core::ptr::null_mut()) };
    // SAFETY: the caller passes NULL or a NUL-terminated key.
    let Some(key) = (unsafe { c_bytes(key) }) else {
        return STATUS_INVALID_PARAMETER;
    };
    query_start_option(key, |token| match new_option(token) {
        Ok(array) => {
            // SAFETY: non-NULL and writable by the caller's contract.
            unsafe { option.write_unaligned(array) };
            STATUS_SUCCESS
        }
        Err(status) => status,
    })
}

/// `VOID ConfigFreeSzValue(PANSI_STRING Array)`: frees an array from
/// `ConfigQuerySystemStartOption`; NULL does nothing.
///
/// # Safety
/// `Array` is NULL or an array returned by `ConfigQuerySystemStartOption` and not yet freed.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "ConfigFreeSzValue")]
pub unsafe extern "C" fn config_free_sz_value(array: *mut AnsiString) {
    if array.is_null() {
        return;
    }
    // SAFETY: the caller passes an array `new_option` allocated and initialised.
    let first = unsafe { array.read() };
    if !first.buffer.is_null()
        && let Ok(bytes) = Layout::array::<u8>(usize::from(first.maximum_length))
    {
        // SAFETY: `new_option` allocated the buffer with `MaximumLength` bytes.
        unsafe { dealloc(first.buffer.cast::<u8>(), bytes) };
    }
    // SAFETY: `new_option` allocated the array with this layout.
    unsafe { dealloc(array.cast::<u8>(), Layout::new::<OptionArray>()) };
}

/// `NTSTATUS ConfigGetActive(PCSTR Key, PSTR *Value)`: `XENFILT\Parameters\Active<Key>`.
///
/// # Safety
/// `Key` is NULL or NUL-terminated; `Value` is NULL or writable.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "ConfigGetActive")]
pub unsafe extern "C" fn config_get_active(
    key: *const c_char,
    value: *mut *mut c_char,
) -> NtStatus {
    if value.is_null() {
        return STATUS_INVALID_PARAMETER;
    }
    // SAFETY: non-NULL and writable by the caller's contract.
    unsafe { value.write_unaligned(core::ptr::null_mut()) };
    // SAFETY: the caller passes NULL or a NUL-terminated key.
    let (Some(key), Some(p)) = (unsafe { c_bytes(key) }, platform()) else {
        return STATUS_INVALID_PARAMETER;
    };
    match p.config_get_active(key) {
        Ok(v) => {
            // SAFETY: non-NULL and writable by the caller's contract.
            unsafe { value.write_unaligned(v.cast::<c_char>()) };
            STATUS_SUCCESS
        }
        Err(status) => status,
    }
}

/// Decodes the three strings of `ConfigSetActive`/`ConfigUpdateActive`.
///
/// # Safety
/// Each pointer is NULL or NUL-terminated.
unsafe fn set_active(
    update: bool,
    device_id: *const c_char,
    instance_id: *const c_char,
    location: *const c_char,
) -> NtStatus {
    // SAFETY: the caller passes NULL or a NUL-terminated string.
    let d = unsafe { c_bytes(device_id) };
    // SAFETY: as above.
    let i = unsafe { c_bytes(instance_id) };
    // SAFETY: as above.
    let l = unsafe { c_bytes(location) };
    let (Some(d), Some(i), Some(l)) = (d, i, l) else {
        return STATUS_INVALID_PARAMETER;
    };
    platform().map_or(STATUS_NOT_SUPPORTED, |p| {
        p.config_set_active(update, d, i, l)
            .map_or_else(|s| s, |()| STATUS_SUCCESS)
    })
}

/// `NTSTATUS ConfigSetActive(PSTR DeviceID, PSTR InstanceID, PSTR LocationInformation)`.
///
/// # Safety
/// Each argument is NULL or NUL-terminated.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "ConfigSetActive")]
#[must_use]
pub unsafe extern "C" fn config_set_active(
    device_id: *const c_char,
    instance_id: *const c_char,
    location: *const c_char,
) -> NtStatus {
    // SAFETY: the caller's contract is this function's.
    unsafe { set_active(false, device_id, instance_id, location) }
}

/// `NTSTATUS ConfigUpdateActive(PSTR DeviceID, PSTR InstanceID, PSTR LocationInformation)`.
///
/// # Safety
/// Each argument is NULL or NUL-terminated.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "ConfigUpdateActive")]
#[must_use]
pub unsafe extern "C" fn config_update_active(
    device_id: *const c_char,
    instance_id: *const c_char,
    location: *const c_char,
) -> NtStatus {
    // SAFETY: the caller's contract is this function's.
    unsafe { set_active(true, device_id, instance_id, location) }
}

/// `NTSTATUS ConfigClearActive(VOID)`.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "ConfigClearActive")]
#[must_use]
pub extern "C" fn config_clear_active() -> NtStatus {
    platform().map_or(STATUS_NOT_SUPPORTED, |p| {
        p.config_clear_active()
            .map_or_else(|s| s, |()| STATUS_SUCCESS)
    })
}

/// `VOID ConfigFreeActive(PSTR Value)`: frees a value from `ConfigGetActive`.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "ConfigFreeActive")]
pub extern "C" fn config_free_active(value: *mut c_char) {
    if let (false, Some(p)) = (value.is_null(), platform()) {
        p.config_free_active(value.cast::<u8>());
    }
}

/// `NTSTATUS ConfigRequestReboot(HANDLE ParametersKey, PSTR Module)`.
///
/// # Safety
/// `Module` is NULL or NUL-terminated; `ParametersKey` is passed to the platform untouched.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "ConfigRequestReboot")]
pub unsafe extern "C" fn config_request_reboot(
    parameters_key: *mut c_void,
    module: *const c_char,
) -> NtStatus {
    // SAFETY: the caller passes NULL or a NUL-terminated module name.
    let Some(module) = (unsafe { c_bytes(module) }) else {
        return STATUS_INVALID_PARAMETER;
    };
    platform().map_or(STATUS_NOT_SUPPORTED, |p| {
        p.config_request_reboot(parameters_key, module)
            .map_or_else(|s| s, |()| STATUS_SUCCESS)
    })
}
