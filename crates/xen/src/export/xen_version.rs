// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! `XenVersion`, `XenVersionExtra` (upstream `src/xen/xen_version.c`) and `XenTouch` (upstream
//! `src/xen/driver.c`).

use core::ffi::c_char;
use core::sync::atomic::{AtomicU32, Ordering};

use super::{
    DRIVER_VERSION, DebugLevel, NtStatus, STATUS_INCOMPATIBLE_DRIVER_BLOCKED,
    STATUS_INVALID_PARAMETER, STATUS_NOT_IMPLEMENTED, STATUS_NOT_SUPPORTED, STATUS_SUCCESS,
    c_bytes, debug_message, hypercall, log_line, put, status,
};
use crate::log::{Level, LogArg};
use crate::xen_version;

/// `__XEN_INTERFACE_VERSION__` the drivers are built against, as upstream logs it.
const XEN_INTERFACE_VERSION: u32 = 0x0004_0800;

/// `NTSTATUS XenVersion(PULONG Major, PULONG Minor)`.
///
/// # Safety
/// `major` and `minor` are each NULL or writable.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "XenVersion")]
#[must_use]
pub unsafe extern "C" fn xen_version_export(major: *mut u32, minor: *mut u32) -> NtStatus {
    if major.is_null() || minor.is_null() {
        return STATUS_INVALID_PARAMETER;
    }
    match hypercall("XenVersion", |hv| xen_version::version(hv)) {
        Ok((ma, mi)) => {
            // SAFETY: checked non-NULL; writable by the caller's contract.
            let a = unsafe { put(major, u32::from(ma)) };
            // SAFETY: as above.
            let b = unsafe { put(minor, u32::from(mi)) };
            status(a.and(b))
        }
        Err(e) => e,
    }
}

/// `NTSTATUS XenVersionExtra(PSTR Extra)`: copies the 16-byte extra version.
///
/// # Safety
/// `extra` is NULL or writable for 16 bytes.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "XenVersionExtra")]
#[must_use]
pub unsafe extern "C" fn xen_version_extra(extra: *mut c_char) -> NtStatus {
    if extra.is_null() {
        return STATUS_INVALID_PARAMETER;
    }
    let r = hypercall("XenVersionExtra", |hv| xen_version::extra_version(hv));
    // SAFETY: checked non-NULL; `XEN_EXTRAVERSION_LEN` (16) writable bytes by the caller's
    // contract.
    status(r.and_then(|bytes| unsafe { put_bytes(extra, bytes) }))
}

/// Writes a byte array through a `char *`.
///
/// # Safety
/// `dst` is non-NULL and writable for `N` bytes.
unsafe fn put_bytes<const N: usize>(dst: *mut c_char, bytes: [u8; N]) -> Result<(), NtStatus> {
    // SAFETY: the caller's contract; `[u8; N]` has alignment 1.
    unsafe { put(dst.cast::<[u8; N]>(), bytes) }
}

/// How many successful `XenTouch` calls there were (never decremented, as upstream).
static TOUCHED: AtomicU32 = AtomicU32::new(0);

/// `NTSTATUS XenTouch(PCSTR Name, ULONG MajorVersion, ULONG MinorVersion, ULONG MicroVersion,
/// ULONG BuildNumber)`: importers call it to make xen.sys load.
///
/// Any version part that differs from this build gives `STATUS_INCOMPATIBLE_DRIVER_BLOCKED`
/// and the log line `MODULE '<Name>' NOT COMPATIBLE (REBOOT REQUIRED)`, with no hypercall. The
/// first matching call logs Xen's version at INFO; later ones issue nothing. Only
/// `STATUS_NOT_IMPLEMENTED` from the version hypercall (no Xen behind us) fails the call, as
/// upstream.
///
/// # Safety
/// `Name` is NULL or NUL-terminated.
// SAFETY: upstream's export name; nothing else in the image defines it.
#[unsafe(export_name = "XenTouch")]
#[must_use]
pub unsafe extern "C" fn xen_touch(
    name: *const c_char,
    major: u32,
    minor: u32,
    micro: u32,
    build: u32,
) -> NtStatus {
    let v = DRIVER_VERSION;
    if (major, minor, micro, build) != (v.major, v.minor, v.micro, v.build) {
        // SAFETY: the caller passes NULL or a NUL-terminated name.
        let name = unsafe { c_bytes(name) };
        debug_message(
            DebugLevel::Info,
            "XenTouch",
            b"MODULE '%s' NOT COMPATIBLE (REBOOT REQUIRED)\n",
            &[LogArg::Str(name)],
        );
        return STATUS_INCOMPATIBLE_DRIVER_BLOCKED;
    }
    if super::hypervisor().is_none() {
        // Upstream cannot get here: without Xen its `DllInitialize` fails and no importer
        // loads. A loader that skips `DllInitialize` (Wine does) can: refuse, so the importer
        // stays inert instead of running on a machine without Xen.
        debug_message(
            DebugLevel::Error,
            "XenTouch",
            b"xen.sys is not initialised (no hypervisor): refusing '%s'\n",
            // SAFETY: the caller passes NULL or a NUL-terminated name.
            &[LogArg::Str(unsafe { c_bytes(name) })],
        );
        return STATUS_NOT_SUPPORTED;
    }
    if TOUCHED.load(Ordering::SeqCst) == 0 {
        // Upstream fails only for `STATUS_NOT_IMPLEMENTED` from the version hypercall (no Xen
        // behind us); any other error is merely asserted on in checked builds, so free builds
        // go on and succeed. Children see the same here, minus the garbage version line.
        match hypercall("XenTouch", |hv| xen_version::version(hv)) {
            Err(e) if e == STATUS_NOT_IMPLEMENTED => return e,
            Err(_) => {}
            Ok((ma, mi)) => {
                let extra =
                    hypercall("XenTouch", |hv| xen_version::extra_version(hv)).unwrap_or_default();
                let mut line = crate::log::Line::EMPTY;
                crate::log::format_into(
                    &mut line,
                    0,
                    b"XEN: %u.%u%s (__XEN_INTERFACE_VERSION__ = %08x)\n",
                    &mut crate::log::SliceLogArgs::new(&[
                        LogArg::Int(u64::from(ma)),
                        LogArg::Int(u64::from(mi)),
                        LogArg::Str(Some(&extra)),
                        LogArg::Int(u64::from(XEN_INTERFACE_VERSION)),
                    ]),
                );
                log_line(Level::INFO, line.as_bytes());
            }
        }
    }
    TOUCHED.fetch_add(1, Ordering::SeqCst);
    STATUS_SUCCESS
}

/// Forgets earlier `XenTouch` calls (between host tests).
pub fn reset_touch() {
    TOUCHED.store(0, Ordering::SeqCst);
}
