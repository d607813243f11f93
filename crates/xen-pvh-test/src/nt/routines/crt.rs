// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The C runtime routines `ntoskrnl.exe` exports and the images' `core` calls: `memcmp`,
//! `memcpy`, `memmove`, `memset`, `strlen`, `strcmp`, and `_vsnprintf` (the C child driver's
//! log); and `RtlInitUnicodeString`, the string routine a driver calls before
//! `MmGetSystemRoutineAddress` (any IRQL up to `DISPATCH_LEVEL`, as documented). Any IRQL, except that `_vsnprintf` with a Unicode conversion is `PASSIVE_LEVEL` only
//! (it converts through the NLS tables, which are pageable), as for `DbgPrint`.
//!
//! Checked: a NULL pointer with a non-zero length, and for `memcpy` source and destination
//! ranges that partly overlap (undefined in C; `memmove` is the routine for that). An exact
//! self-copy (`dst == src`) is accepted: compilers emit it for self-assignment and every
//! implementation handles it. `_vsnprintf`'s format must parse (`kprintf`, the MSVC rules).

use crate::nt::verifier::{self, PASSIVE_LEVEL};
use core::ffi::{c_char, c_void};
use kprintf::{RawWin64VaList, Win64VaList};

/// Fails the call if `p` is NULL while `len` bytes are asked for.
fn non_null(call: &verifier::Call, p: *const c_void, len: usize, what: &str) {
    call.require(
        len == 0 || !p.is_null(),
        format_args!("{what} is NULL with {len} bytes"),
    );
}

/// `int memcmp(const void *a, const void *b, size_t n)`.
///
/// # Safety
/// The C contract: both ranges readable for `n` bytes.
pub unsafe extern "win64" fn memcmp(a: *const c_void, b: *const c_void, n: usize) -> i32 {
    let call = verifier::enter("memcmp");
    non_null(&call, a, n, "the first buffer");
    non_null(&call, b, n, "the second buffer");
    // SAFETY: the C contract.
    unsafe { crate::rt::memcmp(a.cast(), b.cast(), n) }
}

/// `void *memcpy(void *dst, const void *src, size_t n)`.
///
/// # Safety
/// The C contract: `src` readable and `dst` writable for `n` bytes, not overlapping.
pub unsafe extern "win64" fn memcpy(dst: *mut c_void, src: *const c_void, n: usize) -> *mut c_void {
    let call = verifier::enter("memcpy");
    non_null(&call, dst, n, "the destination");
    non_null(&call, src, n, "the source");
    let (d, s) = (dst.addr(), src.addr());
    let overlap = d != s && d < s.saturating_add(n) && s < d.saturating_add(n);
    call.require(
        !overlap,
        format_args!("source {s:#x} and destination {d:#x} overlap ({n} bytes): use memmove"),
    );
    // SAFETY: the C contract, and the ranges do not overlap (checked).
    unsafe { crate::rt::memcpy(dst.cast(), src.cast(), n) }.cast()
}

/// `void *memmove(void *dst, const void *src, size_t n)`.
///
/// # Safety
/// The C contract: `src` readable and `dst` writable for `n` bytes.
pub unsafe extern "win64" fn memmove(
    dst: *mut c_void,
    src: *const c_void,
    n: usize,
) -> *mut c_void {
    let call = verifier::enter("memmove");
    non_null(&call, dst, n, "the destination");
    non_null(&call, src, n, "the source");
    // SAFETY: the C contract.
    unsafe { crate::rt::memmove(dst.cast(), src.cast(), n) }.cast()
}

/// `void *memset(void *dst, int c, size_t n)`.
///
/// # Safety
/// The C contract: `dst` writable for `n` bytes.
pub unsafe extern "win64" fn memset(dst: *mut c_void, c: i32, n: usize) -> *mut c_void {
    let call = verifier::enter("memset");
    non_null(&call, dst, n, "the destination");
    // SAFETY: the C contract.
    unsafe { crate::rt::memset(dst.cast(), c, n) }.cast()
}

/// `size_t strlen(const char *s)`.
///
/// # Safety
/// The C contract: `s` is a NUL-terminated string.
pub unsafe extern "win64" fn strlen(s: *const u8) -> usize {
    let call = verifier::enter("strlen");
    call.require(!s.is_null(), format_args!("the string is NULL"));
    // SAFETY: the C contract.
    unsafe { crate::rt::strlen(s) }
}

/// `VOID RtlInitUnicodeString(PUNICODE_STRING Destination, PCWSTR Source)`: `Destination`
/// describes the NUL-terminated `Source` (or is empty for NULL), without copying it.
/// <= `DISPATCH_LEVEL`; a string longer than a `UNICODE_STRING` can describe (65,532 bytes
/// without its NUL) is a broken contract.
///
/// # Safety
/// `destination` is writable; `source` is NULL or a NUL-terminated UTF-16 string.
pub unsafe extern "win64" fn rtl_init_unicode_string(
    destination: *mut ntddk::UNICODE_STRING,
    source: *const u16,
) {
    let call = verifier::enter("RtlInitUnicodeString");
    call.at_most(verifier::DISPATCH_LEVEL);
    call.require(!destination.is_null(), format_args!("Destination is NULL"));
    let mut units = 0usize;
    if !source.is_null() {
        // SAFETY: the contract: NUL-terminated; each unit read before the next is looked at.
        while unsafe { source.wrapping_add(units).read_unaligned() } != 0 {
            units += 1;
            call.require(
                units < 32_767,
                format_args!("Source is longer than a UNICODE_STRING can describe"),
            );
        }
    }
    let bytes = u16::try_from(units * 2).unwrap_or(u16::MAX);
    let value = ntddk::UNICODE_STRING {
        Length: bytes,
        MaximumLength: if source.is_null() {
            0
        } else {
            bytes.saturating_add(2)
        },
        Buffer: source.cast_mut(),
    };
    // SAFETY: the contract: `destination` is writable (checked not NULL).
    unsafe { destination.write_unaligned(value) };
}

/// `int strcmp(const char *a, const char *b)`: negative, zero or positive as `a` sorts before,
/// equal to or after `b` (bytes compared unsigned).
///
/// # Safety
/// The C contract: both NUL-terminated strings.
pub unsafe extern "win64" fn strcmp(a: *const c_char, b: *const c_char) -> i32 {
    let call = verifier::enter("strcmp");
    call.require(!a.is_null(), format_args!("the first string is NULL"));
    call.require(!b.is_null(), format_args!("the second string is NULL"));
    // SAFETY: the C contract: NUL-terminated.
    let a = unsafe { core::ffi::CStr::from_ptr(a) }.to_bytes();
    // SAFETY: as above.
    let b = unsafe { core::ffi::CStr::from_ptr(b) }.to_bytes();
    match a.cmp(b) {
        core::cmp::Ordering::Less => -1,
        core::cmp::Ordering::Equal => 0,
        core::cmp::Ordering::Greater => 1,
    }
}

/// What `_vsnprintf` returns for `len` bytes of output and a buffer of `count`: the length
/// when it fits (NUL-terminated only when shorter than `count`), -1 when it was cut.
fn vsnprintf_result(len: usize, count: usize) -> i32 {
    if len > count {
        -1
    } else {
        i32::try_from(len).unwrap_or(-1)
    }
}

/// `int _vsnprintf(char *buffer, size_t count, const char *format, va_list args)`, the MSVC
/// runtime's: at most `count` bytes written; the length when the output fits (a NUL added only
/// if there is room for it), -1 when it did not fit (`count` bytes written, no NUL).
///
/// # Safety
/// The C contract: `buffer` writable for `count` bytes, `format` NUL-terminated and its
/// conversions matching the arguments at `args`.
pub unsafe extern "win64" fn vsnprintf(
    buffer: *mut u8,
    count: usize,
    format: *const c_char,
    args: RawWin64VaList,
) -> i32 {
    let call = verifier::enter("_vsnprintf");
    non_null(&call, buffer.cast(), count, "the buffer");
    call.require(!format.is_null(), format_args!("the format is NULL"));
    // SAFETY: the C contract: NUL-terminated.
    let fmt = unsafe { core::ffi::CStr::from_ptr(format) }.to_bytes();
    if call.irql > PASSIVE_LEVEL {
        call.require(
            !super::debug::has_unicode_conversion(fmt),
            format_args!(
                "Unicode conversions are allowed only at PASSIVE_LEVEL (IRQL {}), format {:?}",
                call.irql,
                core::str::from_utf8(fmt).unwrap_or("?")
            ),
        );
    }
    let out: &mut [u8] = if count == 0 {
        &mut []
    } else {
        // SAFETY: the C contract: `count` writable bytes (non-NULL, checked).
        unsafe { core::slice::from_raw_parts_mut(buffer, count) }
    };
    // SAFETY: the caller's contract covers every slot and string the format consumes.
    let mut va = unsafe { Win64VaList::new(args) };
    let len = match kprintf::format_to_buf(out, fmt, &mut va) {
        Ok(text) => text.len(),
        Err(kprintf::FormatError::Overflow) => count.saturating_add(1),
        Err(e) => call.fail(format_args!(
            "bad format {:?}: {e:?}",
            core::str::from_utf8(fmt).unwrap_or("?")
        )),
    };
    if let Some(nul) = out.get_mut(len) {
        *nul = 0;
    }
    vsnprintf_result(len, count)
}
