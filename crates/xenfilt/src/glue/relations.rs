// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! A bus filter's `BusRelations` query, once the lower driver answered (upstream's
//! `FdoQueryDeviceRelations` and `FdoEnumerate`), applied as the crate docs say.
//!
//! The lower list is read; each PDO the core calls new ([`Driver::new_children`]) gets a child
//! filter created and attached, then probed through that filter's lower device; the registry
//! values the decision may read are read ([`Driver::bus_relations_parameters`]); the core
//! decides under the driver lock ([`Driver::bus_relations`]), the kept filters entering the
//! device table in the same hold. Then, with no lock held: the kept filters are registered,
//! the others and the destroyed ones detached and deleted, xen.sys unplugs if asked, the lower
//! list's references are dropped and the list freed, and the reply replaces it.

use alloc::vec::Vec;

use ntddk::runtime::irp::HeldIrp;
use ntddk::runtime::pnp;
use ntddk::{
    BusQueryCompatibleIDs, BusQueryDeviceID, BusQueryInstanceID, BusRelations, DEVICE_OBJECT,
    DEVICE_RELATIONS, DPFLTR_INFO_LEVEL, DRIVER_OBJECT, NTSTATUS, STATUS_INSUFFICIENT_RESOURCES,
    STATUS_SUCCESS, nt_success,
};

use super::device::{self, DevicePtr, Dx, PDO_TAG};
use super::probe;
use super::registry::ParametersKey;
use crate::driver::{DeviceRef, Driver, FilterState};
use crate::fdo::{BusRelations as Relations, FdoId, RelationsReply};
use crate::pdo::{ChildProbe, ProbeError};
use crate::pnp::DeviceHandle;

/// The device object a handle names.
const fn object(handle: DeviceHandle) -> *mut DEVICE_OBJECT {
    core::ptr::with_exposed_provenance_mut(handle.0)
}

/// Creates and attaches a child filter on `pdo` and learns its IDs through the filter's lower
/// device (the filter itself is not reachable yet). PASSIVE_LEVEL.
fn probe_child(driver: *mut DRIVER_OBJECT, pdo: DeviceHandle) -> (Option<DevicePtr>, ChildProbe) {
    // SAFETY: our driver object; a PDO the bus driver just reported (its list holds a
    // reference until we release it).
    match unsafe { device::create_filter(driver, object(pdo), PDO_TAG) } {
        Err(status) => (
            None,
            ChildProbe {
                pdo,
                attached: Err(status),
                device_id: Err(ProbeError::Status(status)),
                instance_id: Err(ProbeError::Status(status)),
                location: Err(ProbeError::Status(status)),
                compatible_ids: Err(ProbeError::Status(status)),
            },
        ),
        Ok((filter, lower)) => {
            let target = lower.as_ptr();
            // SAFETY (each query): our filter's lower device, attached just above.
            let probe = ChildProbe {
                pdo,
                attached: Ok(()),
                // SAFETY: as above.
                device_id: unsafe { probe::id(target, false, BusQueryDeviceID) },
                // SAFETY: as above.
                instance_id: unsafe { probe::id(target, false, BusQueryInstanceID) },
                // SAFETY: as above.
                location: unsafe { probe::location(target) },
                // SAFETY: as above.
                compatible_ids: unsafe { probe::id_list(target, false, BusQueryCompatibleIDs) },
            };
            (Some(filter), probe)
        }
    }
}

/// The outcome of the core's decision, taken in one hold of the driver lock: its answer, the
/// device objects of the child filters it destroyed (out of the table), and the filter state.
type Decided = (Relations, Vec<DevicePtr>, FilterState);

/// Creates and probes a child filter on each PDO of `reported` the core calls new: the filters
/// made (with their PDO), and every probe.
fn probe_new(
    fdo: FdoId,
    dx: &Dx,
    reported: &[DeviceHandle],
) -> (Vec<(DeviceHandle, DevicePtr)>, Vec<ChildProbe>) {
    let new = super::with_filter(|f| f.driver.new_children(fdo, reported)).unwrap_or_default();
    // SAFETY: our device object, alive while its IRP holds the remove lock.
    let driver = unsafe { (*dx.object.0).DriverObject };
    let mut made = Vec::new();
    let mut probes = Vec::new();
    for pdo in new {
        let (filter, probe) = probe_child(driver, pdo);
        if let Some(filter) = filter {
            made.push((pdo, filter));
        }
        probes.push(probe);
    }
    (made, probes)
}

/// [`Driver::bus_relations`] under the driver lock; the kept filters enter the table and the
/// destroyed ones leave it in the same hold.
fn decide(
    fdo: FdoId,
    lower: Result<&[DeviceHandle], NTSTATUS>,
    probes: &[ChildProbe],
    made: &[(DeviceHandle, DevicePtr)],
) -> Option<Decided> {
    let snapshot = Driver::bus_relations_parameters(probes, &ParametersKey::current());
    super::with_filter(|f| {
        let out = f.driver.bus_relations(fdo, lower, probes, &snapshot);
        for (pdo, id) in &out.created {
            if let Some(&(_, filter)) = made.iter().find(|(p, _)| p == pdo) {
                f.devices.push((DeviceRef::Pdo(*id), filter));
            }
        }
        let destroyed: Vec<DevicePtr> = out
            .destroyed
            .iter()
            .filter_map(|&id| f.take_device(DeviceRef::Pdo(id)))
            .collect();
        (out, destroyed, f.driver.filter_state())
    })
}

/// The filters the core kept become reachable; every other one made here goes; so do the
/// ones it destroyed.
fn settle(made: Vec<(DeviceHandle, DevicePtr)>, decided: Option<&Decided>) {
    for (pdo, filter) in made {
        let kept = decided.and_then(|(out, _, _)| out.created.iter().find(|(p, _)| *p == pdo));
        match kept {
            // SAFETY: made by `probe_child`, not registered yet.
            Some(&(_, id)) => unsafe { device::register(filter, DeviceRef::Pdo(id)) },
            // SAFETY: made by `probe_child`, never listed nor reported.
            None => unsafe { device::destroy(filter) },
        }
    }
    let Some((out, destroyed, _)) = decided else {
        return;
    };
    for (pdo, reason) in &out.rejected {
        ntddk::runtime::print_fmt(
            DPFLTR_INFO_LEVEL,
            format_args!("xenfilt|FDO: child {:#x} dropped: {reason}\n", pdo.0),
        );
    }
    for &filter in destroyed {
        // SAFETY: out of the table; the core forgot its id.
        unsafe { device::destroy(filter) };
    }
}

/// Completes the bus filter `fdo`'s `BusRelations` query after the lower driver answered with
/// `status` (see the module docs); returns the status to complete with, `Information` set.
/// PASSIVE_LEVEL.
pub fn finish(fdo: FdoId, dx: &Dx, irp: &mut HeldIrp, status: NTSTATUS) -> NTSTATUS {
    let list: *mut DEVICE_RELATIONS = core::ptr::with_exposed_provenance_mut(irp.information());
    let objects = if nt_success(status) {
        // SAFETY: the lower driver's list (or NULL), ours once the IRP came back.
        match unsafe { pnp::relations_objects(list) } {
            Ok(objects) => Some(objects),
            Err(failure) => {
                // SAFETY: as above; released once.
                unsafe { pnp::release_relations(list) };
                irp.set_information(0);
                return failure;
            }
        }
    } else {
        None
    };
    let reported: Vec<DeviceHandle> = objects
        .iter()
        .flatten()
        .map(|o| DeviceHandle(o.expose_provenance()))
        .collect();
    let (made, probes) = if objects.is_some() {
        probe_new(fdo, dx, &reported)
    } else {
        (Vec::new(), Vec::new())
    };
    let lower = if objects.is_some() {
        Ok(reported.as_slice())
    } else {
        Err(status)
    };
    let decided = decide(fdo, lower, &probes, &made);
    settle(made, decided.as_ref());
    if let Some((out, _, state)) = &decided {
        ntddk::runtime::print_fmt(
            DPFLTR_INFO_LEVEL,
            format_args!(
                "xenfilt|FDO: {} PDO(s) below, {} new filter(s), {} dropped, {} destroyed; \
                 {state:?}{}\n",
                reported.len(),
                out.created.len(),
                out.rejected.len(),
                out.destroyed.len(),
                if out.unplug { ": unplugging" } else { "" }
            ),
        );
        if out.unplug {
            super::unplug_devices();
        }
    }
    if objects.is_some() {
        // SAFETY: the lower driver's list, replaced by our reply; released once.
        unsafe { pnp::release_relations(list) };
        irp.set_information(0);
    }
    let Some((out, _, _)) = decided else {
        return ntddk::STATUS_NO_SUCH_DEVICE;
    };
    reply(&out.reply, dx, irp)
}

/// Puts the core's reply in `Information` (a list of the reported child PDOs, each referenced,
/// or an empty one followed by `IoInvalidateDeviceRelations`); returns the status to complete
/// with.
fn reply(reply: &RelationsReply, dx: &Dx, irp: &mut HeldIrp) -> NTSTATUS {
    let children: Vec<*mut DEVICE_OBJECT> = match reply {
        RelationsReply::Failed(status) => return *status,
        RelationsReply::Children(pdos) => pdos.iter().map(|&pdo| object(pdo)).collect(),
        RelationsReply::Hidden => Vec::new(),
    };
    // SAFETY: no previous list; the child PDOs are alive (their bus driver holds them while it
    // reports them, and our filters sit on them).
    let list = unsafe { pnp::device_relations(core::ptr::null(), &children, super::POOL_TAG) };
    if list.is_null() {
        return STATUS_INSUFFICIENT_RESOURCES;
    }
    irp.set_information(list.expose_provenance());
    if Driver::needs_invalidation(reply) {
        // SAFETY: the bus PDO below our filter; <= DISPATCH_LEVEL.
        unsafe { ntddk::routines::IoInvalidateDeviceRelations(dx.physical.0, BusRelations) };
    }
    STATUS_SUCCESS
}
