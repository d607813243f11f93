// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! A device's remove lock (`IO_REMOVE_LOCK`), as the WDK's `IoInitializeRemoveLock`,
//! `IoAcquireRemoveLock`, `IoReleaseRemoveLock` and `IoReleaseRemoveLockAndWait` macros use it.
//!
//! Every IRP a filter passes on holds the lock of the device it reached, tagged with the IRP,
//! from its dispatch routine until it leaves the driver; `IRP_MN_REMOVE_DEVICE` releases its
//! own hold and waits for every other one before the device is deleted.

use core::ffi::c_void;

use crate::types::{IO_REMOVE_LOCK, NTSTATUS};

/// `RemlockSize`: the free build's `IO_REMOVE_LOCK`, which tells the kernel its layout.
const SIZE: u32 = {
    let size = size_of::<IO_REMOVE_LOCK>();
    assert!(size <= u32::MAX as usize);
    #[expect(clippy::cast_possible_truncation, reason = "checked just above")]
    let size = size as u32;
    size
};

/// Readies `lock` (`IoInitializeRemoveLock(lock, tag, 0, 0)`: no time or count limit checked).
/// PASSIVE_LEVEL.
///
/// # Safety
/// `lock` is non-paged storage (a device extension) that stays in place until the device is
/// deleted, not in use.
pub unsafe fn initialize(lock: *mut IO_REMOVE_LOCK, tag: u32) {
    // SAFETY: the caller's contract.
    unsafe { crate::routines::IoInitializeRemoveLockEx(lock, tag, 0, 0, SIZE) };
}

/// `IoAcquireRemoveLock(lock, tag)` (`<= DISPATCH_LEVEL`): `STATUS_SUCCESS`, or
/// `STATUS_DELETE_PENDING` once the device is being removed.
///
/// # Safety
/// `lock` was readied by [`initialize`] and its device is not deleted.
#[must_use]
pub unsafe fn acquire(lock: *mut IO_REMOVE_LOCK, tag: *mut c_void) -> NTSTATUS {
    // SAFETY: the caller's contract; the file and line are only read by checked builds.
    unsafe {
        crate::routines::IoAcquireRemoveLockEx(
            lock,
            tag,
            c"ntddk::runtime::remove_lock".as_ptr(),
            0,
            SIZE,
        )
    }
}

/// `IoReleaseRemoveLock(lock, tag)` (<= DISPATCH_LEVEL).
///
/// # Safety
/// As [`acquire`]; `tag` holds the lock (one successful [`acquire`] not yet released).
pub unsafe fn release(lock: *mut IO_REMOVE_LOCK, tag: *mut c_void) {
    // SAFETY: the caller's contract.
    unsafe { crate::routines::IoReleaseRemoveLockEx(lock, tag, SIZE) };
}

/// `IoReleaseRemoveLockAndWait(lock, tag)` (`PASSIVE_LEVEL`): releases `tag`'s hold, refuses
/// every later acquisition and waits for the others to be released.
///
/// # Safety
/// As [`release`]; called once, for the removal.
pub unsafe fn release_and_wait(lock: *mut IO_REMOVE_LOCK, tag: *mut c_void) {
    // SAFETY: the caller's contract.
    unsafe { crate::routines::IoReleaseRemoveLockAndWaitEx(lock, tag, SIZE) };
}
