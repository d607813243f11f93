// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Driver and device objects: `IoCreateDevice`, `IoDeleteDevice`, `IoAttachDeviceToDeviceStack`,
//! `IoDetachDevice`, `IoGetAttachedDeviceReference`, `IoInvalidateDeviceRelations`,
//! `IoInvalidateDeviceState`; and the object references `ObfReferenceObject`/
//! `ObfDereferenceObject` take on them ([`super::ob`]).
//!
//! Objects are laid out as Windows lays them out (`ntddk::DEVICE_OBJECT`, `DRIVER_OBJECT`), in
//! kernel memory the stand-in allocates: a device object is followed by its extension (zeroed)
//! and a `DEVOBJ_EXTENSION` (`Type`, `Size` and the back pointer filled; the rest of Windows'
//! private fields are not modelled). `IoCreateDevice` sets `DO_DEVICE_INITIALIZING`, `StackSize`
//! 1 and puts the device at the head of its driver's `DeviceObject` list, as Windows does.
//!
//! Reference counts follow the object manager: a device is created with one reference, which
//! `IoDeleteDevice` drops; `ObfReferenceObject`, `IoGetAttachedDeviceReference`, a queued work
//! item and the PnP manager (for a PDO it was given in a relations list) take more. A deleted
//! device whose references are not all gone, or with a device still attached above it (an
//! upper filter detaches from the function driver's FDO after passing it the removal that
//! deleted it), is *delete pending*: still readable, off its driver's list; the last
//! `ObfDereferenceObject` or the `IoDetachDevice` of the device above frees it. Freed memory is filled with `0xDF`
//! and never reused, so a stale pointer reads that fill.
//!
//! Checked: an unknown driver or device object, a deleted or freed one used again; a device
//! deleted twice, or deleted while still attached to a lower device (a function or filter
//! driver must `IoDetachDevice` first); attaching a device that is already attached; detaching
//! from a device with nothing attached; more dereferences than references; invalidating the
//! relations or state of a device that is not a PDO the PnP manager enumerated; the IRQL of each.

use super::DriverObject;
use crate::nt::loader::Where;
use crate::nt::verifier::{self, Call, DISPATCH_LEVEL, PASSIVE_LEVEL};
use alloc::alloc::{Layout, alloc_zeroed};
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;
use core::mem::offset_of;
use ntddk::{
    DEVICE_OBJECT, DO_DEVICE_HAS_NAME, DO_DEVICE_INITIALIZING, DO_EXCLUSIVE, DRIVER_EXTENSION,
    DRIVER_OBJECT, IO_TYPE_DEVICE, IO_TYPE_DEVICE_OBJECT_EXTENSION, IO_TYPE_DRIVER, IRP_MJ_COUNT,
    STATUS_INVALID_PARAMETER, STATUS_SUCCESS, UNICODE_STRING,
};
use ntstatus::NtStatus;

/// The statuses the I/O manager's routines answer with that `ntstatus` does not name.
pub mod status {
    use ntstatus::NtStatus;

    /// `STATUS_INVALID_DEVICE_REQUEST`.
    pub const STATUS_INVALID_DEVICE_REQUEST: NtStatus = 0xC000_0010_u32.cast_signed();
    /// `STATUS_OBJECT_NAME_COLLISION`.
    pub const STATUS_OBJECT_NAME_COLLISION: NtStatus = 0xC000_0035_u32.cast_signed();
    /// `STATUS_INVALID_IMAGE_FORMAT`.
    pub const STATUS_INVALID_IMAGE_FORMAT: NtStatus = 0xC000_007B_u32.cast_signed();
    /// `STATUS_INVALID_PARAMETER_2`.
    pub const STATUS_INVALID_PARAMETER_2: NtStatus = 0xC000_00F0_u32.cast_signed();
    /// `STATUS_INVALID_PARAMETER_3`.
    pub const STATUS_INVALID_PARAMETER_3: NtStatus = 0xC000_00F1_u32.cast_signed();
    /// `STATUS_NOT_FOUND`.
    pub const STATUS_NOT_FOUND: NtStatus = 0xC000_0225_u32.cast_signed();
}
use status::{STATUS_INVALID_DEVICE_REQUEST, STATUS_OBJECT_NAME_COLLISION};

/// Bytes of the `DEVOBJ_EXTENSION` the stand-in places after each device's extension.
const DEVOBJ_EXTENSION_BYTES: usize = 64;
/// The largest device extension the stand-in hands out (the arena is small).
const MAX_EXTENSION: usize = 64 << 10;
/// Fill of a freed device object.
const FILL_FREED: u8 = 0xdf;
/// `TransportRelations`, the largest `DEVICE_RELATION_TYPE`.
const MAX_RELATION_TYPE: i32 = 6;

/// One driver object.
#[derive(Debug, Clone)]
pub struct Driver {
    /// `\Driver\NAME`'s `NAME`.
    pub name: String,
    /// Whether `DriverUnload` ran.
    pub unloaded: bool,
}

/// One device object.
#[derive(Debug, Clone)]
pub struct Device {
    /// Its driver object.
    pub driver: usize,
    /// Bytes allocated (object, extension, `DEVOBJ_EXTENSION`).
    pub bytes: usize,
    /// Object references (the creation's included until `IoDeleteDevice`).
    pub references: i64,
    /// `IoDeleteDevice` ran (from this caller).
    pub deleted: Option<u64>,
    /// The last reference went after the delete: the memory is gone.
    pub freed: bool,
    /// The device it is attached to (`DEVOBJ_EXTENSION.AttachedTo`), 0 if none.
    pub lower: usize,
    /// Who created it.
    pub caller: u64,
    /// Its name, if it has one.
    pub name: Option<Vec<u16>>,
    /// `PoSetPowerState`'s last system and device states (`PowerSystemWorking`, `PowerDeviceD0`
    /// until told otherwise).
    pub power: (u32, u32),
}

#[derive(Default)]
struct Objects {
    drivers: BTreeMap<usize, Driver>,
    devices: BTreeMap<usize, Device>,
}

static OBJECTS: spin::Mutex<Objects> = spin::Mutex::new(Objects {
    drivers: BTreeMap::new(),
    devices: BTreeMap::new(),
});

/// The `DEVICE_OBJECT` at `address` as kernel memory (the stand-in allocated it).
pub const fn device_object(address: usize) -> DriverObject {
    // SAFETY: only called with addresses of device objects this module allocated and has not
    // freed (checked by the callers through `device`/`live_device`); their memory is never
    // reused, so the accessor stays in bounds of kernel memory.
    unsafe { DriverObject::new(address, size_of::<DEVICE_OBJECT>()) }
}

/// The `DRIVER_OBJECT` at `address` (one this module created).
pub const fn driver_object(address: usize) -> DriverObject {
    // SAFETY: as `device_object`, for driver objects, which are never freed.
    unsafe { DriverObject::new(address, size_of::<DRIVER_OBJECT>()) }
}

/// A copy of device `address`'s record.
pub fn device(address: usize) -> Option<Device> {
    OBJECTS.lock().devices.get(&address).cloned()
}

/// A copy of driver `address`'s record.
pub fn driver(address: usize) -> Option<Driver> {
    OBJECTS.lock().drivers.get(&address).cloned()
}

/// The device `p` a routine was passed: known, not freed, and (unless `deleted_ok`) not
/// deleted. Fails the call otherwise.
pub fn live_device(call: &Call, p: *mut c_void, what: &str, deleted_ok: bool) -> Device {
    call.require(!p.is_null(), format_args!("{what} is NULL"));
    let Some(d) = device(p.addr()) else {
        call.fail(format_args!(
            "{what} {:#x} is not a device object",
            p.addr()
        ));
    };
    if d.freed {
        call.fail(format_args!(
            "{what} {:#x} was deleted (from {}) and freed",
            p.addr(),
            Where(d.deleted.unwrap_or(0))
        ));
    }
    if !deleted_ok && let Some(by) = d.deleted {
        call.fail(format_args!(
            "{what} {:#x} was deleted (from {})",
            p.addr(),
            Where(by)
        ));
    }
    d
}

/// The default `MajorFunction` entry (`IopInvalidDeviceRequest`): completes the IRP with
/// `STATUS_INVALID_DEVICE_REQUEST`.
extern "win64" fn invalid_device_request(_device: *mut c_void, irp: *mut c_void) -> NtStatus {
    super::irp::set_status(irp.addr(), STATUS_INVALID_DEVICE_REQUEST);
    // SAFETY: the IRP the I/O manager just handed this routine, completed once.
    unsafe { crate::nt::kcall::iof_complete_request(irp, 0) };
    STATUS_INVALID_DEVICE_REQUEST
}

/// `p` allocated and zeroed for `layout`, as kernel memory, or a fatal error (the arena ran out).
fn allocate(layout: Layout) -> usize {
    // SAFETY: a non-zero-size layout (every caller's is at least an object).
    let p = unsafe { alloc_zeroed(layout) };
    if p.is_null() {
        crate::harness::fatal(format_args!(
            "the stand-in ran out of memory for a {}-byte kernel object",
            layout.size()
        ));
    }
    p.addr()
}

/// A `UNICODE_STRING` over a fresh kernel copy of `text` (never freed: driver objects live for
/// the run).
fn kernel_string(text: &str) -> UNICODE_STRING {
    let units: Vec<u16> = text.encode_utf16().collect();
    let bytes = u16::try_from(units.len() * 2).unwrap_or(0);
    let buffer = units.leak();
    UNICODE_STRING {
        Length: bytes,
        MaximumLength: bytes,
        Buffer: buffer.as_mut_ptr(),
    }
}

/// Creates the driver object `\Driver\name` (the I/O manager's part before `DriverEntry`):
/// `MajorFunction` filled with the invalid-request routine, the extension with the service key
/// name, the image's range if it belongs to image `image`. Returns its address.
pub fn create_driver(name: &str, image: Option<usize>) -> usize {
    let layout = Layout::new::<DRIVER_OBJECT>()
        .extend(Layout::new::<DRIVER_EXTENSION>())
        .map(|(l, at)| (l.pad_to_align(), at));
    let Ok((layout, extension_at)) = layout else {
        crate::harness::fatal(format_args!("driver object layout"));
    };
    let address = allocate(layout);
    let o = driver_object(address);
    let extension = address.wrapping_add(extension_at);
    o.set(offset_of!(DRIVER_OBJECT, Type), IO_TYPE_DRIVER);
    o.set(
        offset_of!(DRIVER_OBJECT, Size),
        i16::try_from(size_of::<DRIVER_OBJECT>()).unwrap_or(0),
    );
    o.set(offset_of!(DRIVER_OBJECT, DriverExtension), extension);
    o.set(
        offset_of!(DRIVER_OBJECT, DriverName),
        kernel_string(&alloc::format!(r"\Driver\{name}")),
    );
    if let Some(i) = image.and_then(crate::nt::loader::image) {
        o.set(offset_of!(DRIVER_OBJECT, DriverStart), i.base);
        o.set(
            offset_of!(DRIVER_OBJECT, DriverSize),
            u32::try_from(i.size).unwrap_or(0),
        );
        o.set(offset_of!(DRIVER_OBJECT, DriverInit), i.entry);
    }
    let invalid = crate::nt::kcall::code_address!(invalid_device_request);
    for major in 0..IRP_MJ_COUNT {
        o.set(
            offset_of!(DRIVER_OBJECT, MajorFunction) + 8 * major,
            invalid,
        );
    }
    // SAFETY: the extension lies in the same fresh allocation, after the driver object.
    let e = unsafe { DriverObject::new(extension, size_of::<DRIVER_EXTENSION>()) };
    e.set(offset_of!(DRIVER_EXTENSION, DriverObject), address);
    e.set(
        offset_of!(DRIVER_EXTENSION, ServiceKeyName),
        kernel_string(name),
    );
    OBJECTS.lock().drivers.insert(
        address,
        Driver {
            name: String::from(name),
            unloaded: false,
        },
    );
    address
}

/// Records that driver `address`'s `DriverUnload` ran.
pub fn driver_unloaded(address: usize) {
    if let Some(d) = OBJECTS.lock().drivers.get_mut(&address) {
        d.unloaded = true;
    }
}

/// The devices of driver `driver` that were not freed (deleted ones that are still referenced
/// included), with their records.
pub fn devices_of(driver: usize) -> Vec<(usize, Device)> {
    OBJECTS
        .lock()
        .devices
        .iter()
        .filter(|(_, d)| d.driver == driver && !d.freed)
        .map(|(&a, d)| (a, d.clone()))
        .collect()
}

/// The device objects created from code of image `index` and not freed: `(device, caller)`.
pub fn devices_created_in(index: usize) -> Vec<(usize, u64)> {
    OBJECTS
        .lock()
        .devices
        .iter()
        .filter(|(_, d)| !d.freed && crate::nt::loader::containing(d.caller) == Some(index))
        .map(|(&a, d)| (a, d.caller))
        .collect()
}

/// `(created, live)` device objects so far.
pub fn device_counts() -> (usize, usize) {
    let objects = OBJECTS.lock();
    (
        objects.devices.len(),
        objects.devices.values().filter(|d| !d.freed).count(),
    )
}

/// Fills a freed device's memory.
const fn poison(address: usize, bytes: usize) {
    let p = core::ptr::with_exposed_provenance_mut::<u8>(address);
    // SAFETY: the device's allocation of `bytes` bytes, which nothing may use after its last
    // reference went (and the allocator never reuses).
    unsafe { p.write_bytes(FILL_FREED, bytes) };
}

/// Adds `delta` to device `address`'s references on behalf of `call`; frees it when a deleted
/// device loses its last one. Returns the new count, or `None` if `address` is not a device.
pub fn reference_device(call: &Call, address: usize, delta: i64) -> Option<i64> {
    let mut objects = OBJECTS.lock();
    let d = objects.devices.get_mut(&address)?;
    if d.freed {
        let by = d.deleted.unwrap_or(0);
        drop(objects);
        call.fail(format_args!(
            "the device object {address:#x} was deleted (from {}) and freed",
            Where(by)
        ));
    }
    let count = d.references.saturating_add(delta);
    if count < 1 && d.deleted.is_none() {
        drop(objects);
        call.fail(format_args!(
            "more dereferences than references on the device object {address:#x} (its \
             creation's reference belongs to IoDeleteDevice)"
        ));
    }
    d.references = count;
    let above: usize = device_object(address)
        .get(offset_of!(DEVICE_OBJECT, AttachedDevice))
        .unwrap_or(0);
    // A device still attached above keeps a deleted one until it detaches (`IoDetachDevice`
    // frees it then), as Windows defers the deletion.
    if count == 0 && above == 0 {
        d.freed = true;
        let bytes = d.bytes;
        drop(objects);
        poison(address, bytes);
    }
    Some(count)
}

/// The top of the stack `device` is in (following `AttachedDevice`).
pub fn attached_top(device_address: usize) -> usize {
    let mut top = device_address;
    // A stack deeper than this is a cycle: stop rather than loop.
    for _ in 0..64 {
        let above: usize = device_object(top)
            .get(offset_of!(DEVICE_OBJECT, AttachedDevice))
            .unwrap_or(0);
        if above == 0 || device(above).is_none_or(|d| d.freed) {
            break;
        }
        top = above;
    }
    top
}

/// The bottom of the stack `device` is in (following the attachments down): its PDO.
pub fn stack_bottom(device_address: usize) -> usize {
    let mut bottom = device_address;
    for _ in 0..64 {
        match device(bottom) {
            Some(d) if d.lower != 0 => bottom = d.lower,
            _ => break,
        }
    }
    bottom
}

/// `NTSTATUS IoCreateDevice(PDRIVER_OBJECT DriverObject, ULONG DeviceExtensionSize,
/// PUNICODE_STRING DeviceName, DEVICE_TYPE DeviceType, ULONG DeviceCharacteristics, BOOLEAN
/// Exclusive, PDEVICE_OBJECT *DeviceObject)`. PASSIVE_LEVEL.
///
/// # Safety
/// `name` is NULL or a valid `UNICODE_STRING`; `out` is writable (NULL is checked).
pub unsafe extern "win64" fn io_create_device(
    driver_object_p: *mut c_void,
    extension_size: u32,
    name: *const UNICODE_STRING,
    device_type: u32,
    characteristics: u32,
    exclusive: u8,
    out: *mut *mut c_void,
) -> NtStatus {
    let call = verifier::enter("IoCreateDevice");
    call.at_most(PASSIVE_LEVEL);
    call.require(!out.is_null(), format_args!("DeviceObject is NULL"));
    let drv = driver_object_p.addr();
    call.require(
        driver(drv).is_some_and(|d| !d.unloaded),
        format_args!("DriverObject {drv:#x} is not a loaded driver's object"),
    );
    let name_units = if name.is_null() {
        None
    } else {
        // SAFETY: non-NULL; a valid UNICODE_STRING by the routine's contract.
        let Some(units) = (unsafe { super::unicode(name) }) else {
            call.fail(format_args!("DeviceName is not a valid UNICODE_STRING"));
        };
        Some(units)
    };
    let Ok(extension) = usize::try_from(extension_size) else {
        return STATUS_INVALID_PARAMETER;
    };
    if extension > MAX_EXTENSION {
        return ntddk::STATUS_INSUFFICIENT_RESOURCES;
    }
    if let Some(n) = &name_units {
        let taken = OBJECTS
            .lock()
            .devices
            .values()
            .any(|d| d.deleted.is_none() && d.name.as_ref() == Some(n));
        if taken {
            return STATUS_OBJECT_NAME_COLLISION;
        }
    }
    let object = size_of::<DEVICE_OBJECT>();
    let extension_at = object;
    let devobj_at = extension_at + extension.next_multiple_of(16);
    let bytes = devobj_at + DEVOBJ_EXTENSION_BYTES;
    let Ok(layout) = Layout::from_size_align(bytes, 16) else {
        return STATUS_INVALID_PARAMETER;
    };
    let address = allocate(layout);
    let o = device_object(address);
    o.set(offset_of!(DEVICE_OBJECT, Type), IO_TYPE_DEVICE);
    o.set(
        offset_of!(DEVICE_OBJECT, Size),
        u16::try_from(object + extension).unwrap_or(u16::MAX),
    );
    o.set(offset_of!(DEVICE_OBJECT, DriverObject), drv);
    let mut flags = DO_DEVICE_INITIALIZING;
    if name_units.is_some() {
        flags |= DO_DEVICE_HAS_NAME;
    }
    if exclusive != 0 {
        flags |= DO_EXCLUSIVE;
    }
    o.set(offset_of!(DEVICE_OBJECT, Flags), flags);
    o.set(offset_of!(DEVICE_OBJECT, Characteristics), characteristics);
    let extension_p = if extension == 0 {
        0
    } else {
        address.wrapping_add(extension_at)
    };
    o.set(offset_of!(DEVICE_OBJECT, DeviceExtension), extension_p);
    o.set(offset_of!(DEVICE_OBJECT, DeviceType), device_type);
    o.set(offset_of!(DEVICE_OBJECT, StackSize), 1i8);
    let devobj = address.wrapping_add(devobj_at);
    o.set(offset_of!(DEVICE_OBJECT, DeviceObjectExtension), devobj);
    // SAFETY: the DEVOBJ_EXTENSION area lies at the end of the same fresh allocation.
    let x = unsafe { DriverObject::new(devobj, DEVOBJ_EXTENSION_BYTES) };
    x.set(0, IO_TYPE_DEVICE_OBJECT_EXTENSION);
    x.set(2, u16::try_from(DEVOBJ_EXTENSION_BYTES).unwrap_or(0));
    x.set(8, address);
    // The head of the driver's list.
    let d = driver_object(drv);
    let head: usize = d.get(offset_of!(DRIVER_OBJECT, DeviceObject)).unwrap_or(0);
    o.set(offset_of!(DEVICE_OBJECT, NextDevice), head);
    d.set(offset_of!(DRIVER_OBJECT, DeviceObject), address);
    OBJECTS.lock().devices.insert(
        address,
        Device {
            driver: drv,
            bytes,
            references: 1,
            deleted: None,
            freed: false,
            lower: 0,
            caller: call.caller,
            name: name_units,
            power: (1, 1),
        },
    );
    // SAFETY: non-NULL (checked); writable by the routine's contract.
    unsafe { out.write_unaligned(core::ptr::with_exposed_provenance_mut(address)) };
    STATUS_SUCCESS
}

/// Takes device `address` off its driver's `DeviceObject` list.
fn unlink(address: usize, drv: usize) {
    let d = driver_object(drv);
    let next: usize = device_object(address)
        .get(offset_of!(DEVICE_OBJECT, NextDevice))
        .unwrap_or(0);
    let head: usize = d.get(offset_of!(DRIVER_OBJECT, DeviceObject)).unwrap_or(0);
    if head == address {
        d.set(offset_of!(DRIVER_OBJECT, DeviceObject), next);
        return;
    }
    let mut at = head;
    for _ in 0..4096 {
        if at == 0 || device(at).is_none() {
            return;
        }
        let o = device_object(at);
        let after: usize = o.get(offset_of!(DEVICE_OBJECT, NextDevice)).unwrap_or(0);
        if after == address {
            o.set(offset_of!(DEVICE_OBJECT, NextDevice), next);
            return;
        }
        at = after;
    }
}

/// `VOID IoDeleteDevice(PDEVICE_OBJECT DeviceObject)`. PASSIVE_LEVEL.
pub extern "win64" fn io_delete_device(device_p: *mut c_void) {
    let call = verifier::enter("IoDeleteDevice");
    call.at_most(PASSIVE_LEVEL);
    call.require(!device_p.is_null(), format_args!("DeviceObject is NULL"));
    let address = device_p.addr();
    let Some(d) = device(address) else {
        call.fail(format_args!(
            "DeviceObject {address:#x} is not a device object"
        ));
    };
    if let Some(by) = d.deleted {
        call.fail(format_args!(
            "the device object {address:#x} was deleted twice (first from {})",
            Where(by)
        ));
    }
    if d.lower != 0 {
        call.fail(format_args!(
            "the device object {address:#x} is still attached to {:#x}: IoDetachDevice must \
             come first",
            d.lower
        ));
    }
    call.require(
        !crate::nt::pnp::is_live_pdo(address),
        format_args!(
            "the PDO {address:#x} is deleted while the PnP manager still has it (it was not \
             removed)"
        ),
    );
    unlink(address, d.driver);
    if let Some(r) = OBJECTS.lock().devices.get_mut(&address) {
        r.deleted = Some(call.caller);
    }
    let _ = reference_device(&call, address, -1);
}

/// `PDEVICE_OBJECT IoAttachDeviceToDeviceStack(PDEVICE_OBJECT SourceDevice, PDEVICE_OBJECT
/// TargetDevice)`: the device `SourceDevice` was attached on top of, or NULL. <= DISPATCH_LEVEL.
pub extern "win64" fn io_attach_device_to_device_stack(
    source: *mut c_void,
    target: *mut c_void,
) -> *mut c_void {
    let call = verifier::enter("IoAttachDeviceToDeviceStack");
    call.at_most(DISPATCH_LEVEL);
    let s = live_device(&call, source, "SourceDevice", false);
    let _t = live_device(&call, target, "TargetDevice", false);
    call.require(
        s.lower == 0,
        format_args!(
            "SourceDevice {:#x} is already attached to {:#x}",
            source.addr(),
            s.lower
        ),
    );
    call.require(
        source.addr() != target.addr(),
        format_args!("attaching the device object {:#x} to itself", source.addr()),
    );
    let top = attached_top(target.addr());
    if device(top).is_none_or(|d| d.deleted.is_some()) {
        return core::ptr::null_mut();
    }
    let t = device_object(top);
    let stack: i8 = t.get(offset_of!(DEVICE_OBJECT, StackSize)).unwrap_or(1);
    let alignment: u32 = t
        .get(offset_of!(DEVICE_OBJECT, AlignmentRequirement))
        .unwrap_or(0);
    let o = device_object(source.addr());
    o.set(
        offset_of!(DEVICE_OBJECT, StackSize),
        stack.saturating_add(1),
    );
    o.set(offset_of!(DEVICE_OBJECT, AlignmentRequirement), alignment);
    t.set(offset_of!(DEVICE_OBJECT, AttachedDevice), source.addr());
    if let Some(r) = OBJECTS.lock().devices.get_mut(&source.addr()) {
        r.lower = top;
    }
    // DEVOBJ_EXTENSION.AttachedTo is private to Windows; the stand-in keeps it in its record.
    core::ptr::with_exposed_provenance_mut(top)
}

/// `VOID IoDetachDevice(PDEVICE_OBJECT TargetDevice)`: detaches what is attached on top of
/// `TargetDevice`. <= DISPATCH_LEVEL (PASSIVE_LEVEL in practice).
pub extern "win64" fn io_detach_device(target: *mut c_void) {
    let call = verifier::enter("IoDetachDevice");
    call.at_most(DISPATCH_LEVEL);
    let _t = live_device(&call, target, "TargetDevice", true);
    let o = device_object(target.addr());
    let above: usize = o
        .get(offset_of!(DEVICE_OBJECT, AttachedDevice))
        .unwrap_or(0);
    call.require(
        above != 0,
        format_args!("nothing is attached to TargetDevice {:#x}", target.addr()),
    );
    o.set(offset_of!(DEVICE_OBJECT, AttachedDevice), 0usize);
    let freed = {
        let mut objects = OBJECTS.lock();
        if let Some(r) = objects.devices.get_mut(&above) {
            r.lower = 0;
        }
        // A deleted device with no references left waited only for this detach.
        objects
            .devices
            .get_mut(&target.addr())
            .filter(|t| t.deleted.is_some() && t.references == 0 && !t.freed)
            .map(|t| {
                t.freed = true;
                t.bytes
            })
    };
    if let Some(bytes) = freed {
        poison(target.addr(), bytes);
    }
}

/// `PDEVICE_OBJECT IoGetAttachedDeviceReference(PDEVICE_OBJECT DeviceObject)`: the top of the
/// stack, referenced. <= DISPATCH_LEVEL.
pub extern "win64" fn io_get_attached_device_reference(device_p: *mut c_void) -> *mut c_void {
    let call = verifier::enter("IoGetAttachedDeviceReference");
    call.at_most(DISPATCH_LEVEL);
    let _d = live_device(&call, device_p, "DeviceObject", true);
    let top = attached_top(device_p.addr());
    let _ = reference_device(&call, top, 1);
    core::ptr::with_exposed_provenance_mut(top)
}

/// The PDO a PnP routine was passed: a device the PnP manager enumerated.
fn pdo(call: &Call, device_p: *mut c_void) {
    let _d = live_device(call, device_p, "DeviceObject", true);
    call.require(
        crate::nt::pnp::is_pdo(device_p.addr()),
        format_args!(
            "DeviceObject {:#x} is not a PDO the PnP manager enumerated",
            device_p.addr()
        ),
    );
}

/// `VOID IoInvalidateDeviceRelations(PDEVICE_OBJECT DeviceObject, DEVICE_RELATION_TYPE Type)`:
/// recorded; the PnP manager queries the relations again. <= DISPATCH_LEVEL.
pub extern "win64" fn io_invalidate_device_relations(device_p: *mut c_void, kind: i32) {
    let call = verifier::enter("IoInvalidateDeviceRelations");
    call.at_most(DISPATCH_LEVEL);
    pdo(&call, device_p);
    call.require(
        (0..=MAX_RELATION_TYPE).contains(&kind),
        format_args!("Type {kind} is not a DEVICE_RELATION_TYPE"),
    );
    crate::nt::pnp::invalidate_relations(device_p.addr(), kind);
}

/// `VOID IoInvalidateDeviceState(PDEVICE_OBJECT PhysicalDeviceObject)`: recorded; the PnP
/// manager sends `IRP_MN_QUERY_PNP_DEVICE_STATE`. <= DISPATCH_LEVEL.
pub extern "win64" fn io_invalidate_device_state(device_p: *mut c_void) {
    let call = verifier::enter("IoInvalidateDeviceState");
    call.at_most(DISPATCH_LEVEL);
    pdo(&call, device_p);
    crate::nt::pnp::invalidate_state(device_p.addr());
}

/// Sets device `address`'s power state of `kind` (0 system, 1 device); returns the previous.
pub fn set_power(address: usize, kind: i32, state: u32) -> u32 {
    let mut objects = OBJECTS.lock();
    let Some(d) = objects.devices.get_mut(&address) else {
        return 0;
    };
    let slot = if kind == 0 {
        &mut d.power.0
    } else {
        &mut d.power.1
    };
    core::mem::replace(slot, state)
}

/// The driver object's `MajorFunction[major]` entry.
pub fn dispatch_routine(driver_address: usize, major: u8) -> usize {
    driver_object(driver_address)
        .get(offset_of!(DRIVER_OBJECT, MajorFunction) + 8 * usize::from(major))
        .unwrap_or(0)
}
