// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Our filter device objects: what their extension holds, how one is created, attached,
//! registered and destroyed, and the table that names the device object of each core id.
//!
//! Every device object xenfilt.sys creates (a bus filter above a PCI root bus or IDE channel
//! PDO, a child filter above each child PDO) carries the same extension: a tag, the
//! [`DeviceRef`] the core knows it by (set once the core accepted it, before Plug and Play can
//! reach it), the device it is attached to, the PDO at the bottom of its stack, and its remove
//! lock. Only the kernel's routines touch the remove lock, through a raw pointer; the other
//! fields are written before the device object is reachable and only read afterwards.

use core::ffi::c_void;

use ntddk::runtime::irp::Lower;
use ntddk::{
    DEVICE_OBJECT, DO_DEVICE_INITIALIZING, DRIVER_OBJECT, FILE_DEVICE_SECURE_OPEN, IO_REMOVE_LOCK,
    NTSTATUS, STATUS_UNSUCCESSFUL, nt_success,
};

use crate::driver::DeviceRef;

/// "XENFILDX": the extension of one of our device objects.
const TAG: u64 = u64::from_le_bytes(*b"XENFILDX");

/// Remove-lock tag of a bus filter (upstream's `'ODF'`).
pub const FDO_TAG: u32 = u32::from_le_bytes(*b"FDO\0");
/// Remove-lock tag of a child filter (upstream's `'ODP'`).
pub const PDO_TAG: u32 = u32::from_le_bytes(*b"PDO\0");

/// A device object pointer the glue keeps (ours, or a PDO below one of ours).
///
/// Device objects are kernel objects that stay valid until `IoDeleteDevice` and their last
/// reference; the glue deletes one of ours only after taking it out of the table, and uses a
/// PDO only while one of ours is attached to its stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DevicePtr(pub *mut DEVICE_OBJECT);

// SAFETY: see the type's docs: the pointee is a kernel object, valid while the glue keeps it.
unsafe impl Send for DevicePtr {}
// SAFETY: as above; the glue only hands it to the kernel's routines.
unsafe impl Sync for DevicePtr {}

/// The extension of our device objects.
#[repr(C)]
struct Extension {
    tag: u64,
    device: Option<DeviceRef>,
    lower: *mut DEVICE_OBJECT,
    physical: *mut DEVICE_OBJECT,
    remove_lock: IO_REMOVE_LOCK,
}

/// Bytes `IoCreateDevice` reserves for the extension.
const EXTENSION_SIZE: u32 = {
    let size = size_of::<Extension>();
    assert!(size <= u32::MAX as usize);
    #[expect(clippy::cast_possible_truncation, reason = "checked just above")]
    let size = size as u32;
    size
};

/// What one of our device objects' extension says (a copy of its fields, and the remove
/// lock's address).
#[derive(Clone, Copy, Debug)]
pub struct Dx {
    /// The device object itself.
    pub object: DevicePtr,
    /// The id the core knows it by (`None` until the core accepted it).
    pub device: Option<DeviceRef>,
    /// The device it is attached to: where IRPs go down.
    pub lower: Lower,
    /// The PDO at the bottom of its stack (the bus's or the child's).
    pub physical: DevicePtr,
    /// Its remove lock.
    pub remove_lock: *mut IO_REMOVE_LOCK,
}

impl Dx {
    /// The IRP tag the remove lock is held with.
    pub const fn tag(irp: *mut ntddk::IRP) -> *mut c_void {
        irp.cast()
    }
}

/// The extension of `device`, if it is one of ours (tagged, attached).
///
/// # Safety
/// `device` is NULL or a device object of this driver (the I/O manager only sends us IRPs
/// for those; the glue only keeps pointers to those), not deleted.
pub unsafe fn of(device: *mut DEVICE_OBJECT) -> Option<Dx> {
    if device.is_null() {
        return None;
    }
    // SAFETY: a device object of ours (the caller's contract).
    let extension = unsafe { (*device).DeviceExtension }.cast::<Extension>();
    if extension.is_null() {
        return None;
    }
    // SAFETY: the extension `IoCreateDevice` reserved; `create_filter` writes it whole before
    // anything reads it, and its fields other than the lock are only written before the device
    // object is reachable.
    let tag = unsafe { (*extension).tag };
    if tag != TAG {
        return None;
    }
    // SAFETY: as above: one of our extensions.
    let lower = unsafe { (*extension).lower };
    // SAFETY: as above.
    let physical = unsafe { (*extension).physical };
    // SAFETY: as above.
    let object = unsafe { (*extension).device };
    // SAFETY: what `IoAttachDeviceToDeviceStack` returned for this device, used while it stays
    // attached.
    let lower = unsafe { Lower::new(lower) }?;
    // SAFETY: inside our extension.
    let remove_lock = unsafe { &raw mut (*extension).remove_lock };
    Some(Dx {
        object: DevicePtr(device),
        device: object,
        lower,
        physical: DevicePtr(physical),
        remove_lock,
    })
}

/// Creates a filter device object for the stack `physical` is in (of the type of that
/// stack's top device, as upstream's `FdoCreate` and `PdoCreate`), readies its extension and
/// remove lock (tagged `lock_tag`), and attaches it on top. PASSIVE_LEVEL.
///
/// It stays initialising and unknown to the core until [`register`].
///
/// # Errors
/// `IoCreateDevice`'s status, or `STATUS_UNSUCCESSFUL` when the attachment fails (upstream's).
///
/// # Safety
/// `driver` is our driver object; `physical` a PDO the caller holds (a PnP manager's
/// `AddDevice` argument, or a child its bus driver just reported).
pub unsafe fn create_filter(
    driver: *mut DRIVER_OBJECT,
    physical: *mut DEVICE_OBJECT,
    lock_tag: u32,
) -> Result<(DevicePtr, Lower), NTSTATUS> {
    // SAFETY: a PDO the caller holds; the result is referenced.
    let top = unsafe { ntddk::routines::IoGetAttachedDeviceReference(physical) };
    // SAFETY: the referenced top of the stack.
    let device_type = unsafe { (*top).DeviceType };
    // SAFETY: the reference just taken.
    unsafe { ntddk::routines::ObfDereferenceObject(top.cast()) };
    let mut device = core::ptr::null_mut();
    // SAFETY: PASSIVE_LEVEL; our driver object; no name; `device` is writable.
    let status = unsafe {
        ntddk::routines::IoCreateDevice(
            driver,
            EXTENSION_SIZE,
            core::ptr::null_mut(),
            device_type,
            FILE_DEVICE_SECURE_OPEN,
            0,
            &raw mut device,
        )
    };
    if !nt_success(status) || device.is_null() {
        return Err(if nt_success(status) {
            STATUS_UNSUCCESSFUL
        } else {
            status
        });
    }
    // SAFETY: a fresh device object of ours.
    let extension = unsafe { (*device).DeviceExtension }.cast::<Extension>();
    // SAFETY: all-zero is a valid remove lock before `initialize` (plain data).
    let remove_lock: IO_REMOVE_LOCK = unsafe { core::mem::zeroed() };
    // SAFETY: `IoCreateDevice` reserved `EXTENSION_SIZE` bytes, suitably aligned, for it.
    unsafe {
        extension.write(Extension {
            tag: TAG,
            device: None,
            lower: core::ptr::null_mut(),
            physical,
            remove_lock,
        });
    };
    // SAFETY: inside our extension.
    let lock = unsafe { &raw mut (*extension).remove_lock };
    // SAFETY: the lock's storage in the extension, which stays until `IoDeleteDevice`.
    unsafe { ntddk::runtime::remove_lock::initialize(lock, lock_tag) };
    // SAFETY: PASSIVE_LEVEL; our fresh device onto the caller's PDO's stack.
    let attached = unsafe { ntddk::routines::IoAttachDeviceToDeviceStack(device, physical) };
    // SAFETY: what the attachment returned, used while we stay attached.
    let Some(lower) = (unsafe { Lower::new(attached) }) else {
        // SAFETY: our device object, never attached nor handed out.
        unsafe { ntddk::routines::IoDeleteDevice(device) };
        return Err(STATUS_UNSUCCESSFUL);
    };
    // SAFETY: inside our extension.
    let slot = unsafe { &raw mut (*extension).lower };
    // SAFETY: our extension; the device is not reachable yet.
    unsafe { slot.write(lower.as_ptr()) };
    Ok((DevicePtr(device), lower))
}

/// Gives a created filter its core id and ends its initialisation: `DeviceType`,
/// `Characteristics` and the `Flags` of the device below copied, `DO_DEVICE_INITIALIZING`
/// cleared (upstream's `FdoCreate` and `PdoCreate`).
///
/// # Safety
/// `device` was made by [`create_filter`] and is not registered yet.
pub unsafe fn register(device: DevicePtr, id: DeviceRef) {
    // SAFETY: our device object (the caller's contract).
    let extension = unsafe { (*device.0).DeviceExtension }.cast::<Extension>();
    // SAFETY: inside our extension.
    let slot = unsafe { &raw mut (*extension).device };
    // SAFETY: our extension; the device is not reachable yet.
    unsafe { slot.write(Some(id)) };
    // SAFETY: our extension, written by `create_filter`.
    let lower = unsafe { (*extension).lower };
    // SAFETY: the device we are attached to.
    let below = unsafe { &*lower };
    let (device_type, characteristics, flags) =
        (below.DeviceType, below.Characteristics, below.Flags);
    // SAFETY: our device object, still initialising: nothing else writes it.
    let ours = unsafe { &mut *device.0 };
    ours.DeviceType = device_type;
    ours.Characteristics = characteristics;
    ours.Flags = (ours.Flags | flags) & !DO_DEVICE_INITIALIZING;
}

/// Detaches a filter from its stack and deletes it (upstream's `FdoDestroy` and `PdoDestroy`).
/// PASSIVE_LEVEL.
///
/// # Safety
/// `device` was made by [`create_filter`], is out of the table and is not used afterwards.
pub unsafe fn destroy(device: DevicePtr) {
    // SAFETY: our device object (the caller's contract).
    if let Some(dx) = unsafe { of(device.0) } {
        // SAFETY: PASSIVE_LEVEL; we attached to `lower`.
        unsafe { ntddk::routines::IoDetachDevice(dx.lower.as_ptr()) };
    }
    // SAFETY: PASSIVE_LEVEL; our device object (its memory stays until the last reference).
    unsafe { ntddk::routines::IoDeleteDevice(device.0) };
}
