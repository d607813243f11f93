// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! What every Plug and Play driver does the same way with the PnP manager's buffers.
//!
//! That is asking a stack for an ID or a text and reading the pool string it hands over,
//! handing pool copies back, building and releasing `DEVICE_RELATIONS`, and telling the power
//! manager a device's new state.
//!
//! Buffers travel through `IoStatus.Information`: a driver answering an ID, text or relations
//! query allocates pool the requester frees with `ExFreePool`; a driver that replaces such an
//! answer frees the one below it first. Every routine here is mechanical: what to ask and what
//! an answer means is decided by the portable crates.

use alloc::vec::Vec;
use core::mem::offset_of;

use crate::consts::{IRP_MN_QUERY_DEVICE_TEXT, IRP_MN_QUERY_ID, PagedPool};
use crate::types::{
    BUS_QUERY_ID_TYPE, DEVICE_OBJECT, DEVICE_POWER_STATE, DEVICE_RELATIONS, DEVICE_TEXT_TYPE,
    IO_STACK_LOCATION, NTSTATUS, POWER_STATE,
};
use crate::{STATUS_NO_MEMORY, nt_success};

/// How a UTF-16 answer ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Utf16Shape {
    /// One string, ended by its NUL (device and instance IDs, device text).
    String,
    /// A multi-string: strings each ended by a NUL, the list ended by an empty string
    /// (hardware and compatible IDs).
    MultiString,
}

/// The `en-US` locale, asked for with device text as the PnP manager asks for it.
const LOCALE_EN_US: u32 = 0x409;

/// Reads the UTF-16 answer another driver allocated at `buffer` (the `Information` of a
/// successful query), then frees it.
///
/// Reading stops at the end `shape` names, which is included, or after `max_units` units,
/// whichever comes first: a string that does not end within `max_units` is returned cut, for
/// the caller's parser to refuse. `Ok(None)` for a NULL buffer.
///
/// # Errors
/// `STATUS_NO_MEMORY` when the copy cannot be allocated (the buffer is freed all the same).
///
/// # Safety
/// `buffer` is 0 or a pool allocation holding a `shape`-shaped UTF-16 string, readable up to
/// its end or `max_units` units, and ours to free; nothing uses it afterwards.
pub unsafe fn take_utf16(
    buffer: usize,
    shape: Utf16Shape,
    max_units: usize,
) -> Result<Option<Vec<u16>>, NTSTATUS> {
    let pointer = core::ptr::with_exposed_provenance_mut::<u16>(buffer);
    if pointer.is_null() {
        return Ok(None);
    }
    let mut units = Vec::new();
    let copied = units
        .try_reserve_exact(max_units)
        .map_err(|_| STATUS_NO_MEMORY)
        .map(|()| {
            let mut previous: Option<u16> = None;
            for index in 0..max_units {
                let at = pointer.wrapping_add(index);
                // SAFETY: within the string up to its end or `max_units` (the caller's
                // contract); any alignment.
                let unit = unsafe { at.read_unaligned() };
                units.push(unit);
                let ended = unit == 0
                    && match shape {
                        Utf16Shape::String => true,
                        Utf16Shape::MultiString => previous.is_none_or(|p| p == 0),
                    };
                if ended {
                    break;
                }
                previous = Some(unit);
            }
        });
    // SAFETY: the other driver's allocation, now ours to free, freed once.
    unsafe { crate::routines::ExFreePool(pointer.cast()) };
    copied.map(|()| Some(units))
}

/// `IRP_MN_QUERY_ID` of `kind` sent to `device` (or the top of its stack when `top`), the
/// answer read as [`take_utf16`] reads it (a multi-string for hardware and compatible IDs).
/// PASSIVE_LEVEL.
///
/// # Errors
/// The query's failure status, or [`take_utf16`]'s.
///
/// # Safety
/// As [`super::irp::send_pnp`]: `device` is a device object we hold a reference on, or our own
/// lower device.
pub unsafe fn query_id(
    device: *mut DEVICE_OBJECT,
    top: bool,
    kind: BUS_QUERY_ID_TYPE,
    max_units: usize,
) -> Result<Option<Vec<u16>>, NTSTATUS> {
    let shape = if kind == crate::BusQueryHardwareIDs || kind == crate::BusQueryCompatibleIDs {
        Utf16Shape::MultiString
    } else {
        Utf16Shape::String
    };
    let fill = |location: &mut IO_STACK_LOCATION| {
        location.Parameters.QueryId.IdType = kind;
    };
    // SAFETY: the caller's contract.
    let (status, information) = unsafe { super::irp::send_pnp(device, top, IRP_MN_QUERY_ID, fill) };
    if !nt_success(status) {
        return Err(status);
    }
    // SAFETY: a successful ID query hands over a pool string (or nothing) in `Information`.
    unsafe { take_utf16(information, shape, max_units) }
}

/// `IRP_MN_QUERY_DEVICE_TEXT` of `kind` (in the `en-US` locale) sent to `device` (or the top of
/// its stack when `top`), read as [`take_utf16`] reads one string. PASSIVE_LEVEL.
///
/// # Errors
/// As [`query_id`].
///
/// # Safety
/// As [`query_id`].
pub unsafe fn query_text(
    device: *mut DEVICE_OBJECT,
    top: bool,
    kind: DEVICE_TEXT_TYPE,
    max_units: usize,
) -> Result<Option<Vec<u16>>, NTSTATUS> {
    let fill = |location: &mut IO_STACK_LOCATION| {
        location.Parameters.QueryDeviceText.DeviceTextType = kind;
        location.Parameters.QueryDeviceText.LocaleId = LOCALE_EN_US;
    };
    // SAFETY: the caller's contract.
    let (status, information) =
        unsafe { super::irp::send_pnp(device, top, IRP_MN_QUERY_DEVICE_TEXT, fill) };
    if !nt_success(status) {
        return Err(status);
    }
    // SAFETY: as in `query_id`.
    unsafe { take_utf16(information, Utf16Shape::String, max_units) }
}

/// A paged-pool copy of `bytes` tagged `tag`, for the PnP manager to free (PASSIVE_LEVEL, as
/// every PnP IRP that hands one over).
#[must_use]
pub fn pool_copy(bytes: &[u8], tag: u32) -> Option<*mut u8> {
    // SAFETY: paged pool at PASSIVE_LEVEL; any size (one byte at least).
    let copy =
        unsafe { crate::routines::ExAllocatePoolWithTag(PagedPool, bytes.len().max(1), tag) }
            .cast::<u8>();
    if copy.is_null() {
        return None;
    }
    // SAFETY: a fresh allocation of at least `bytes.len()` bytes.
    unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), copy, bytes.len()) };
    Some(copy)
}

/// [`pool_copy`] of UTF-16 units (little-endian, as the kernel reads them).
#[must_use]
pub fn pool_utf16(units: &[u16], tag: u32) -> Option<*mut u8> {
    let mut bytes = Vec::new();
    bytes
        .try_reserve_exact(units.len().saturating_mul(2))
        .ok()?;
    bytes.extend(units.iter().flat_map(|unit| unit.to_le_bytes()));
    pool_copy(&bytes, tag)
}

/// The device objects of a `DEVICE_RELATIONS` another driver built (empty for NULL), in
/// order; their references stay with the list.
///
/// # Errors
/// `STATUS_NO_MEMORY` when the copy cannot be allocated.
///
/// # Safety
/// `list` is NULL or a `DEVICE_RELATIONS` whose `Objects` holds `Count` pointers.
pub unsafe fn relations_objects(
    list: *const DEVICE_RELATIONS,
) -> Result<Vec<*mut DEVICE_OBJECT>, NTSTATUS> {
    // SAFETY: NULL or a list (the caller's contract).
    let Some(relations) = (unsafe { list.as_ref() }) else {
        return Ok(Vec::new());
    };
    let count = relations.Count as usize;
    let mut objects = Vec::new();
    objects
        .try_reserve_exact(count)
        .map_err(|_| STATUS_NO_MEMORY)?;
    // SAFETY: inside the list; `Objects` starts its array of `count` pointers.
    let first = unsafe { &raw const (*list).Objects }.cast::<*mut DEVICE_OBJECT>();
    for index in 0..count {
        // SAFETY: one of the `Count` entries (the caller's contract).
        objects.push(unsafe { first.wrapping_add(index).read() });
    }
    Ok(objects)
}

/// Drops the reference the list holds on each of its objects and frees the list (<=
/// DISPATCH_LEVEL); nothing for NULL.
///
/// # Safety
/// As [`relations_objects`]; the list, and its references, are ours (handed over by the driver
/// below); nothing uses it afterwards.
pub unsafe fn release_relations(list: *mut DEVICE_RELATIONS) {
    if list.is_null() {
        return;
    }
    // SAFETY: the caller's contract. A list too long to copy is still freed (its references
    // are then leaked rather than read again).
    let objects = unsafe { relations_objects(list) }.unwrap_or_default();
    for object in objects {
        if !object.is_null() {
            // SAFETY: a reference the list held, given back once.
            unsafe { crate::routines::ObfDereferenceObject(object.cast()) };
        }
    }
    // SAFETY: the list is ours to free (the caller's contract).
    unsafe { crate::routines::ExFreePool(list.cast()) };
}

/// A paged-pool `DEVICE_RELATIONS` tagged `tag`: `previous`'s objects, then `ours`.
///
/// `previous`'s references move to the new list; each of `ours` is referenced for the PnP
/// manager. NULL when it cannot be allocated. PASSIVE_LEVEL.
///
/// # Safety
/// `previous` is NULL or a `DEVICE_RELATIONS` whose `Objects` holds `Count` pointers; `ours`
/// are live device objects.
#[must_use]
pub unsafe fn device_relations(
    previous: *const DEVICE_RELATIONS,
    ours: &[*mut DEVICE_OBJECT],
    tag: u32,
) -> *mut DEVICE_RELATIONS {
    // SAFETY: NULL or an upper driver's relations (the caller's contract).
    let previous_count = unsafe { previous.as_ref() }.map_or(0, |r| r.Count as usize);
    let count = previous_count.saturating_add(ours.len());
    let Ok(count_u32) = u32::try_from(count) else {
        return core::ptr::null_mut();
    };
    let pointer = size_of::<*mut DEVICE_OBJECT>();
    let size =
        offset_of!(DEVICE_RELATIONS, Objects).saturating_add(count.max(1).saturating_mul(pointer));
    // SAFETY: paged pool at PASSIVE_LEVEL; the PnP manager frees it.
    let relations = unsafe { crate::routines::ExAllocatePoolWithTag(PagedPool, size, tag) }
        .cast::<DEVICE_RELATIONS>();
    if relations.is_null() {
        return relations;
    }
    // SAFETY: a fresh allocation of `size` bytes, aligned for the structure.
    let fresh = unsafe { &mut *relations };
    fresh.Count = count_u32;
    // SAFETY: inside the allocation; `Objects` has room for `count` pointers.
    let objects = unsafe { &raw mut (*relations).Objects }.cast::<*mut DEVICE_OBJECT>();
    let mut slot = objects;
    if previous_count != 0 {
        // SAFETY: the upper driver's array of `previous_count` objects.
        let from = unsafe { &raw const (*previous).Objects }.cast::<*mut DEVICE_OBJECT>();
        // SAFETY: both arrays hold `previous_count` pointers; they do not overlap.
        unsafe { core::ptr::copy_nonoverlapping(from, slot, previous_count) };
        slot = slot.wrapping_add(previous_count);
    }
    for &device in ours {
        // SAFETY: a live device object (the caller's contract); the PnP manager drops the
        // reference.
        unsafe { crate::routines::ObfReferenceObject(device.cast()) };
        // SAFETY: within the `count` slots.
        unsafe { slot.write(device) };
        slot = slot.wrapping_add(1);
    }
    relations
}

/// `PoSetPowerState(device, DevicePowerState, state)`: tells the power manager our device's new
/// power state (<= DISPATCH_LEVEL).
///
/// # Safety
/// `device` is one of our device objects, not deleted.
pub unsafe fn set_device_power(device: *mut DEVICE_OBJECT, state: DEVICE_POWER_STATE) {
    let state = POWER_STATE { DeviceState: state };
    // SAFETY: the caller's device object; <= DISPATCH_LEVEL.
    unsafe { crate::routines::PoSetPowerState(device, crate::DevicePowerState, state) };
}
