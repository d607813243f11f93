// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The process notify routine (upstream's `ProcessInitialize`/`ProcessTeardown`,
//! `src/xen/process.c`): on a process exit, tell Xen the exiting address space's page-table
//! root is about to go ([`crate::process::pagetable_dying`] decides what is sent).
//!
//! * [`register`] (`DllInitialize`, at `PASSIVE_LEVEL`): `PsSetCreateProcessNotifyRoutine`, then
//!   `PsGetProcessImageFileName` resolved with `MmGetSystemRoutineAddress` for the bug-check
//!   dump's `CRITICAL_PROCESS_DIED` line (a warning when the kernel lacks it; the dump then
//!   says `(unknown)`).
//! * [`notify`] (PASSIVE_LEVEL, in the context of the exiting process): raised to
//!   `DISPATCH_LEVEL` so the thread stays on this processor and address space while `CR3` is
//!   read and the hypercall made, then lowered; the hypercall's result is ignored (a hint: Xen
//!   refuses it unless the domain uses shadow paging).
//! * [`Registered`]'s drop (`DllUnload`, or a later step's failure unwind): forgets the
//!   resolved routine and removes the notify routine.

use core::ffi::c_void;
use core::sync::atomic::{AtomicPtr, Ordering};

use ntddk::{BOOLEAN, EPROCESS, HANDLE, NTSTATUS, PS_GET_PROCESS_IMAGE_FILE_NAME, UCHAR};
use platform_port::{Irql, IrqlLevel};
use platform_windows::Kernel;

use crate::export::{DebugLevel, debug_message};

/// `PsGetProcessImageFileName`, once resolved; NULL without it.
static IMAGE_FILE_NAME: AtomicPtr<c_void> = AtomicPtr::new(core::ptr::null_mut());

/// The notify routine is registered; dropping it removes it.
#[must_use = "the notify routine stays registered until `deregister`"]
pub(super) struct Registered(());

/// `ProcessInitialize` (PASSIVE_LEVEL).
///
/// # Errors
/// `PsSetCreateProcessNotifyRoutine`'s failure.
pub(super) fn register() -> Result<Registered, NTSTATUS> {
    // SAFETY: PASSIVE_LEVEL; the routine is this image's and stays registered until
    // `Registered`'s drop removes it, before the image can unload.
    let status = unsafe { ntddk::routines::PsSetCreateProcessNotifyRoutine(notify, 0) };
    if !ntddk::nt_success(status) {
        return Err(status);
    }
    let found = platform_windows::system_routine("PsGetProcessImageFileName");
    if found.is_null() {
        debug_message(
            DebugLevel::Warning,
            "ProcessInitialize",
            b"Unable to get PsGetProcessImageFileName Address\n",
            &[],
        );
    }
    IMAGE_FILE_NAME.store(found, Ordering::Release);
    Ok(Registered(()))
}

impl Registered {
    /// `ProcessTeardown` (PASSIVE_LEVEL). Dropping the token does the same.
    pub(super) fn deregister(self) {
        drop(self);
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        IMAGE_FILE_NAME.store(core::ptr::null_mut(), Ordering::Release);
        // SAFETY: PASSIVE_LEVEL (the token lives in `DllInitialize` and `DllUnload`'s state
        // only); the routine `register` registered, which this token proves.
        let _removed = unsafe { ntddk::routines::PsSetCreateProcessNotifyRoutine(notify, 1) };
    }
}

/// `PCREATE_PROCESS_NOTIFY_ROUTINE` (upstream's `ProcessNotify`), at PASSIVE_LEVEL.
unsafe extern "system" fn notify(_parent: HANDLE, _process: HANDLE, create: BOOLEAN) {
    // Creations are frequent and tell Xen nothing: return before raising.
    if create != 0 {
        return;
    }
    let old = Kernel.raise_irql(IrqlLevel::DISPATCH);
    let address = crate::process::pagetable_dying(false, read_cr3());
    if let (Some(address), Some(xen)) = (address, super::XEN.get()) {
        let _hint = crate::hvm::pagetable_dying(xen, address);
    }
    Kernel.lower_irql(old);
}

/// `__readcr3()`.
fn read_cr3() -> u64 {
    let value: u64;
    // SAFETY: ring 0 (a kernel image); reading CR3 has no side effect.
    unsafe {
        core::arch::asm!("mov {}, cr3", out(reg) value, options(nomem, nostack, preserves_flags));
    }
    value
}

/// Upstream's `ProcessGetImageFileName`: the image file name of `process` (up to 15
/// characters and a NUL), or `None` without `PsGetProcessImageFileName` or a process.
///
/// Any IRQL (the bug-check callback calls it at `HIGH_LEVEL` with the process object the kernel
/// passed to `KeBugCheckEx(CRITICAL_PROCESS_DIED)`): the routine reads the name out of the
/// process object, which is non-paged, and returns a pointer into it. This is the one read of
/// memory the bug-check dump makes (see `glue::bug_check`), of an object the kernel itself
/// names, through the kernel's own accessor.
pub(super) fn image_file_name(process: u64) -> Option<[u8; 16]> {
    let routine = IMAGE_FILE_NAME.load(Ordering::Acquire);
    if routine.is_null() || process == 0 {
        return None;
    }
    // SAFETY: the kernel's `PsGetProcessImageFileName`, whose signature this is.
    let get =
        unsafe { core::mem::transmute::<*mut c_void, PS_GET_PROCESS_IMAGE_FILE_NAME>(routine) };
    let object = core::ptr::with_exposed_provenance_mut::<EPROCESS>(usize::try_from(process).ok()?);
    // SAFETY: a process object the kernel passed to the bug check (see above).
    let name: *const UCHAR = unsafe { get(object) };
    if name.is_null() {
        return None;
    }
    let mut out = [0u8; 16];
    for (index, slot) in out.iter_mut().take(15).enumerate() {
        // SAFETY: inside the process object's 15-byte image file name, which ends at its
        // first NUL (the loop stops there).
        let byte = unsafe { name.wrapping_add(index).read_volatile() };
        if byte == 0 {
            break;
        }
        *slot = byte;
    }
    Some(out)
}
