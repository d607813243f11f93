// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The `XENFILT_EMULATED` tables (versions 1 to 3) a child filter hands out, and the methods
//! behind them.
//!
//! `Interface->Context` is the address of the driver's state (the core's
//! [`crate::emulated::Emulated`] inside it, behind the `DISPATCH_LEVEL` driver lock); each
//! method checks that its caller's copy carries it, copies its C strings to the stack (bounded,
//! see [`CallerId`]), then answers from [`crate::emulated::Emulated`] under the lock. Callers
//! may be at any IRQL up to `DISPATCH_LEVEL`, with their strings in non-paged memory, as
//! upstream's spin lock requires too.

use core::ffi::{c_char, c_void};
use core::mem::offset_of;

use ntddk::IO_STACK_LOCATION_QUERY_INTERFACE;
use ntstatus::{STATUS_INVALID_PARAMETER, STATUS_SUCCESS};
use xenbus_interface::emulated::{
    XenbusEmulatedActivationStatus, XenfiltEmulatedInterfaceV1, XenfiltEmulatedInterfaceV2,
    XenfiltEmulatedInterfaceV3,
};
use xenbus_interface::{Boolean, InterfaceHeader, NtStatus, Pinterface, Pstr, Ulong};

use crate::emulated::{ActivationStatus, EmulatedVersion, STORED_ID_LEN};

/// The longest caller string copied: one byte more than any stored ID. A longer string is
/// copied cut to this length, which no stored ID (at most [`STORED_ID_LEN`] bytes) equals, so
/// the core answers for it exactly as for the whole string.
const CALLER_ID_MAX: usize = STORED_ID_LEN + 1;

/// A caller's C string, copied to the stack (at most [`CALLER_ID_MAX`] bytes).
struct CallerId {
    bytes: [u8; CALLER_ID_MAX],
    len: usize,
}

impl CallerId {
    /// Copies the string at `ptr` up to its NUL or [`CALLER_ID_MAX`] bytes; `None` for NULL.
    ///
    /// # Safety
    /// `ptr` is NULL or readable up to its NUL or [`CALLER_ID_MAX`] bytes, whichever comes
    /// first (the interface's contract: a NUL-terminated string).
    unsafe fn copy(ptr: *const c_char) -> Option<Self> {
        if ptr.is_null() {
            return None;
        }
        let mut id = Self {
            bytes: [0; CALLER_ID_MAX],
            len: 0,
        };
        for slot in &mut id.bytes {
            // SAFETY: no NUL came before this byte, within the bound (the caller's contract).
            let byte = unsafe { ptr.cast::<u8>().wrapping_add(id.len).read() };
            if byte == 0 {
                break;
            }
            *slot = byte;
            id.len = id.len.saturating_add(1);
        }
        Some(id)
    }

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// Whether the caller's copy of a table carries our context.
///
/// # Safety
/// `interface` is NULL or points to a readable `INTERFACE` header (any alignment).
unsafe fn ours(interface: Pinterface) -> bool {
    if interface.is_null() {
        return false;
    }
    #[allow(clippy::cast_ptr_alignment, reason = "read with read_unaligned")]
    let field = interface
        .cast::<u8>()
        .wrapping_add(offset_of!(InterfaceHeader, context))
        .cast::<*mut c_void>();
    // SAFETY: inside the caller's readable header (the contract); unaligned for any placement.
    let context = unsafe { field.read_unaligned() };
    context == super::emulated_context()
}

/// The core's answer to `IsDevicePresent(device_id, instance_id)`.
///
/// # Safety
/// As [`CallerId::copy`] for both strings.
unsafe fn device_present(device_id: Pstr, instance_id: Pstr) -> (bool, ActivationStatus) {
    // SAFETY: the caller's strings (the contract).
    let device_id = unsafe { CallerId::copy(device_id) };
    // SAFETY: as above.
    let instance_id = unsafe { CallerId::copy(instance_id) };
    super::with_filter(|f| {
        f.driver.emulated().is_device_present(
            device_id.as_ref().map(CallerId::as_bytes),
            instance_id.as_ref().map(CallerId::as_bytes),
        )
    })
    .unwrap_or((false, ActivationStatus::Neutral))
}

/// `EmulatedAcquire`: counts a reference; always succeeds for our table.
unsafe extern "C" fn acquire(interface: Pinterface) -> NtStatus {
    // SAFETY: the caller's copy of our table (the interface's contract).
    if !unsafe { ours(interface) } {
        return STATUS_INVALID_PARAMETER;
    }
    super::with_filter(|f| f.driver.emulated_mut().acquire());
    STATUS_SUCCESS
}

/// `EmulatedRelease`: drops a reference.
unsafe extern "C" fn release(interface: Pinterface) {
    // SAFETY: as in `acquire`.
    if unsafe { ours(interface) } {
        super::with_filter(|f| f.driver.emulated_mut().release());
    }
}

/// `EmulatedIsDevicePresentVersion1` (v1, v2).
unsafe extern "C" fn is_device_present_v1(
    interface: Pinterface,
    device_id: Pstr,
    instance_id: Pstr,
) -> Boolean {
    // SAFETY: as in `acquire`.
    if !unsafe { ours(interface) } {
        return 0;
    }
    // SAFETY: the caller's strings (the interface's contract).
    let (present, _) = unsafe { device_present(device_id, instance_id) };
    Boolean::from(present)
}

/// `EmulatedIsDevicePresent` (v3): the force-activation of the match (`NEUTRAL` when none)
/// written to `status` unless NULL.
unsafe extern "C" fn is_device_present(
    interface: Pinterface,
    device_id: Pstr,
    instance_id: Pstr,
    status: *mut XenbusEmulatedActivationStatus,
) -> Boolean {
    // SAFETY: as in `acquire`.
    let (present, force) = if unsafe { ours(interface) } {
        // SAFETY: the caller's strings (the interface's contract).
        unsafe { device_present(device_id, instance_id) }
    } else {
        (false, ActivationStatus::Neutral)
    };
    if !status.is_null() {
        // SAFETY: the caller's out-parameter (the contract); any alignment.
        unsafe { status.write_unaligned(force.to_raw()) };
    }
    Boolean::from(present)
}

/// `EmulatedIsDiskPresentVersion1` (v1).
unsafe extern "C" fn is_disk_present_v1(
    interface: Pinterface,
    controller: Ulong,
    target: Ulong,
    lun: Ulong,
) -> Boolean {
    // SAFETY: as in `acquire`.
    if !unsafe { ours(interface) } {
        return 0;
    }
    let present = super::with_filter(|f| {
        f.driver
            .emulated()
            .is_disk_present_v1(controller, target, lun)
    });
    Boolean::from(present.unwrap_or(false))
}

/// `EmulatedIsDiskPresent` (v2, v3).
unsafe extern "C" fn is_disk_present(interface: Pinterface, index: Ulong) -> Boolean {
    // SAFETY: as in `acquire`.
    if !unsafe { ours(interface) } {
        return 0;
    }
    let present = super::with_filter(|f| f.driver.emulated().is_disk_present(index));
    Boolean::from(present.unwrap_or(false))
}

/// Writes the `version` table into the caller's buffer of an `IRP_MN_QUERY_INTERFACE` (whose
/// size the core checked); nothing for a NULL buffer.
///
/// # Safety
/// `query` is the current location's `QueryInterface` member of a held interface query: its
/// `Interface` is NULL or writable for `Size` bytes.
pub unsafe fn fill(query: &IO_STACK_LOCATION_QUERY_INTERFACE, version: EmulatedVersion) {
    let interface = InterfaceHeader {
        size: version.size(),
        version: version.number(),
        context: super::emulated_context(),
        interface_reference: None,
        interface_dereference: None,
    };
    let buffer = query.Interface.cast::<u8>();
    if buffer.is_null() {
        return;
    }
    match version {
        EmulatedVersion::V1 => {
            let table = XenfiltEmulatedInterfaceV1 {
                interface,
                emulated_acquire: acquire,
                emulated_release: release,
                emulated_is_device_present_version1: is_device_present_v1,
                emulated_is_disk_present_version1: is_disk_present_v1,
            };
            // SAFETY: the caller's buffer holds at least this version's table (the core
            // checked `Size`); any alignment.
            unsafe {
                buffer
                    .cast::<XenfiltEmulatedInterfaceV1>()
                    .write_unaligned(table);
            };
        }
        EmulatedVersion::V2 => {
            let table = XenfiltEmulatedInterfaceV2 {
                interface,
                emulated_acquire: acquire,
                emulated_release: release,
                emulated_is_device_present_version1: is_device_present_v1,
                emulated_is_disk_present: is_disk_present,
            };
            // SAFETY: as above.
            unsafe {
                buffer
                    .cast::<XenfiltEmulatedInterfaceV2>()
                    .write_unaligned(table);
            };
        }
        EmulatedVersion::V3 => {
            let table = XenfiltEmulatedInterfaceV3 {
                interface,
                emulated_acquire: acquire,
                emulated_release: release,
                emulated_is_device_present: is_device_present,
                emulated_is_disk_present: is_disk_present,
            };
            // SAFETY: as above.
            unsafe {
                buffer
                    .cast::<XenfiltEmulatedInterfaceV3>()
                    .write_unaligned(table);
            };
        }
    }
}
