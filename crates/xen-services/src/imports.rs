// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! xen.sys's C exports as xenbus.sys and xenfilt.sys import them.
//!
//! They are imported by name from `xen.sys` through `raw-dylib` (rustc writes the import table;
//! no import library is needed), with the C signatures of xen.sys's `include/xen.h`. On Windows
//! x64 `extern "C"` is the Microsoft x64 convention the exports use.
//!
//! The loader resolves each name against xen.sys's export table when an importer loads;
//! `scripts/check-images` proves every name imported here is one xen.sys exports.

use core::ffi::{c_char, c_void};

use ntstatus::NtStatus;

#[link(name = "xen.sys", kind = "raw-dylib", modifiers = "+verbatim")]
unsafe extern "C" {
    /// `XenTouch`: loads xen.sys for the importer and checks that both carry the same package
    /// version (`STATUS_INCOMPATIBLE_DRIVER_BLOCKED` otherwise). PASSIVE_LEVEL.
    pub fn XenTouch(
        name: *const c_char,
        major: u32,
        minor: u32,
        micro: u32,
        build: u32,
    ) -> NtStatus;
    /// `FiltersInstall`: puts xenfilt into the class filter lists. PASSIVE_LEVEL.
    pub fn FiltersInstall();
    /// `ConfigRequestReboot`: asks for a reboot on behalf of `module`. PASSIVE_LEVEL.
    pub fn ConfigRequestReboot(parameters_key: *mut c_void, module: *const c_char) -> NtStatus;
    /// `LogPrintf`: one line to xen.sys's leveled log (its dispositions: the debugger, QEMU's
    /// log port, the PV console). Any IRQL.
    pub fn LogPrintf(level: u32, format: *const c_char, ...);
}

/// `XenTouch` with this package's version ([`crate::PACKAGE_VERSION`]) on behalf of `module`
/// (PASSIVE_LEVEL).
#[must_use]
pub fn touch(module: &core::ffi::CStr) -> NtStatus {
    let v = crate::PACKAGE_VERSION;
    // SAFETY: PASSIVE_LEVEL (the caller's); a NUL-terminated name and plain numbers.
    unsafe { XenTouch(module.as_ptr(), v.major, v.minor, v.micro, v.build) }
}
