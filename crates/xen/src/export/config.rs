// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `Config*` exports: the system start option query ([`crate::options`]), the active-device
//! store and the reboot request ([`crate::config`], over the [`super::Platform`]'s registry).
//!
//! `ConfigGetActive` hands out a NUL-terminated copy that `ConfigFreeActive` frees: the copy is
//! preceded by a hidden header recording its allocation size, so the free needs nothing but the
//! pointer (upstream frees pool by tag).

use alloc::alloc::{Layout, alloc_zeroed, dealloc};
use core::ffi::{c_char, c_void};

use super::{
    DebugLevel, NtStatus, STATUS_BUFFER_OVERFLOW, STATUS_INVALID_PARAMETER, STATUS_NO_MEMORY,
    STATUS_NOT_SUPPORTED, STATUS_OBJECT_NAME_NOT_FOUND, STATUS_SUCCESS, c_bytes, debug_message,
    platform,
};
use crate::config::{self, ConfigError, VENDOR_DEVICE_ID};
use crate::log::LogArg;
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

/// Bytes before a string `ConfigGetActive` hands out: its allocation size (a `usize`), padded
/// to keep the string as aligned as the allocation.
const HEADER: usize = 16;
const _: () = assert!(HEADER >= size_of::<usize>());

/// The layout of a hidden-header string allocation of `total` bytes.
fn string_layout(total: usize) -> Result<Layout, NtStatus> {
    Layout::from_size_align(total, HEADER).map_err(|_| STATUS_NO_MEMORY)
}

/// A NUL-terminated copy of `text` behind a hidden size header.
fn new_c_string(text: &[u8]) -> Result<*mut c_char, NtStatus> {
    let total = text.len().checked_add(HEADER + 1).ok_or(STATUS_NO_MEMORY)?;
    let layout = string_layout(total)?;
    // SAFETY: `layout` has a non-zero size (at least the header and the terminator).
    let base = unsafe { alloc_zeroed(layout) };
    if base.is_null() {
        return Err(STATUS_NO_MEMORY);
    }
    #[allow(clippy::cast_ptr_alignment)] // Aligned to HEADER (16) by the layout.
    let header = base.cast::<usize>();
    // SAFETY: `base` starts `total` fresh bytes aligned to `HEADER` >= `usize`'s alignment.
    unsafe { header.write(total) };
    let string = base.wrapping_add(HEADER);
    // SAFETY: `total` = header + `text.len()` + 1 bytes; the copy fills the middle, the zeroed
    // last byte stays the terminator; the source is a distinct slice.
    unsafe { core::ptr::copy_nonoverlapping(text.as_ptr(), string, text.len()) };
    Ok(string.cast::<c_char>())
}

/// Frees a string [`new_c_string`] returned.
///
/// # Safety
/// `string` came from [`new_c_string`] and is not freed yet.
unsafe fn free_c_string(string: *mut c_char) {
    let base = string.cast::<u8>().wrapping_sub(HEADER);
    #[allow(clippy::cast_ptr_alignment)] // Aligned to HEADER (16) by the layout.
    let header = base.cast::<usize>();
    // SAFETY: `new_c_string` wrote the allocation size at `base`, `HEADER`-aligned.
    let total = unsafe { header.read() };
    if let Ok(layout) = string_layout(total) {
        // SAFETY: allocated by `new_c_string` with this very layout.
        unsafe { dealloc(base, layout) };
    }
}

/// The NTSTATUS of a config operation, logging failures as upstream (a missing value is not
/// worth a line: xenbus asks for `ActiveDeviceID` before one exists).
fn config_status(function: &str, result: Result<(), ConfigError>) -> NtStatus {
    match result {
        Ok(()) => STATUS_SUCCESS,
        Err(e) => {
            let status = e.ntstatus();
            if status != STATUS_OBJECT_NAME_NOT_FOUND {
                debug_message(
                    DebugLevel::Error,
                    function,
                    b"fail1 (%08x)\n",
                    &[LogArg::Int(u64::from(status.cast_unsigned()))],
                );
            }
            status
        }
    }
}

/// `NTSTATUS ConfigGetActive(PCSTR Key, PSTR *Value)`: `XENFILT\Parameters\Active<Key>`, as a
/// copy the caller frees with `ConfigFreeActive` ([`crate::config::get_active`]).
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
    let Some(key) = (unsafe { c_bytes(key) }) else {
        return STATUS_INVALID_PARAMETER;
    };
    let Some(p) = platform() else {
        return STATUS_NOT_SUPPORTED;
    };
    let copy = config::get_active(p, key)
        .and_then(|text| new_c_string(&text).map_err(|_| ConfigError::NoMemory));
    config_status(
        "ConfigGetActive",
        copy.map(|string| {
            // SAFETY: non-NULL and writable by the caller's contract.
            unsafe { value.write_unaligned(string) };
        }),
    )
}

/// Decodes the three strings of `ConfigSetActive`/`ConfigUpdateActive` and applies
/// [`crate::config::set_active`] or [`crate::config::update_active`].
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
    let Some(p) = platform() else {
        return STATUS_NOT_SUPPORTED;
    };
    let (function, result) = if update {
        (
            "ConfigUpdateActive",
            config::update_active(p, VENDOR_DEVICE_ID, d, i, l),
        )
    } else {
        (
            "ConfigSetActive",
            config::set_active(p, VENDOR_DEVICE_ID, d, i, l),
        )
    };
    if result.is_ok() {
        debug_message(
            DebugLevel::Info,
            function,
            b"%s\\%s: %s\n",
            &[
                LogArg::Str(Some(d)),
                LogArg::Str(Some(i)),
                LogArg::Str(Some(l)),
            ],
        );
    }
    config_status(function, result)
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

/// `NTSTATUS ConfigClearActive(VOID)` ([`crate::config::clear_active`]).
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "ConfigClearActive")]
#[must_use]
pub extern "C" fn config_clear_active() -> NtStatus {
    platform().map_or(STATUS_NOT_SUPPORTED, |p| {
        let result = config::clear_active(p);
        if result.is_ok() {
            debug_message(DebugLevel::Info, "ConfigClearActive", b"DONE\n", &[]);
        }
        config_status("ConfigClearActive", result)
    })
}

/// `VOID ConfigFreeActive(PSTR Value)`: frees a value from `ConfigGetActive`; NULL does
/// nothing.
///
/// # Safety
/// `Value` is NULL or a value `ConfigGetActive` returned and not yet freed.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "ConfigFreeActive")]
pub unsafe extern "C" fn config_free_active(value: *mut c_char) {
    if !value.is_null() {
        // SAFETY: the caller's contract.
        unsafe { free_c_string(value) };
    }
}

/// `NTSTATUS ConfigRequestReboot(HANDLE ParametersKey, PSTR Module)`
/// ([`crate::config::request_reboot`]).
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
    let Some(p) = platform() else {
        return STATUS_NOT_SUPPORTED;
    };
    let result = config::request_reboot(p, parameters_key, module).map(|request| {
        debug_message(
            DebugLevel::Info,
            "ConfigRequestReboot",
            b"%s\\%s: Reboot = 1\n",
            &[
                LogArg::Str(Some(request.absolute_path().as_bytes())),
                LogArg::Str(Some(request.module.as_bytes())),
            ],
        );
    });
    config_status("ConfigRequestReboot", result)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_strings_round_trip_through_the_hidden_header() {
        for text in [&b""[..], b"PCI\\VEN_5853&DEV_0001", &[b'x'; 1000]] {
            let s = new_c_string(text).unwrap();
            // SAFETY: a fresh NUL-terminated string.
            let back = unsafe { core::ffi::CStr::from_ptr(s) };
            assert_eq!(back.to_bytes(), text);
            assert_eq!(s.addr() % HEADER, 0);
            // SAFETY: from `new_c_string`, freed once.
            unsafe { config_free_active(s) };
        }
        // SAFETY: NULL is allowed.
        unsafe { config_free_active(core::ptr::null_mut()) };
    }
}
