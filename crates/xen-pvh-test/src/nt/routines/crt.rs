// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The C runtime routines `ntoskrnl.exe` exports and the images' `core` calls: `memcmp`,
//! `memcpy`, `memmove`, `memset`, `strlen`. Any IRQL.
//!
//! Checked: a NULL pointer with a non-zero length, and for `memcpy` source and destination
//! ranges that partly overlap (undefined in C; `memmove` is the routine for that). An exact
//! self-copy (`dst == src`) is accepted: compilers emit it for self-assignment and every
//! implementation handles it.

use crate::nt::verifier;
use core::ffi::c_void;

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
