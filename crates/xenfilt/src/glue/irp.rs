// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Every IRP one of our filter devices receives: decoded into a [`Request`], answered by
//! [`crate::driver::Driver::dispatch`] under the driver lock, and the answer applied.
//!
//! The order is upstream's (`FdoDispatch`, `PdoDispatch`): the device's remove lock is taken
//! first (its failure completes the IRP with that status); the step's effects are applied
//! with no lock held; then the IRP completes, goes down, or is forwarded and waited for, in
//! which case [`crate::driver::Driver::completed`] (or, for a bus filter's `BusRelations`,
//! [`super::relations`]) says how it completes. The remove lock is released when the IRP
//! leaves the filter, unless an [`Effect::ReleaseRemoveLockAndWait`] released it already; a
//! watched power-up releases it in its completion routine.

use alloc::vec::Vec;
use core::ffi::c_void;

use ntddk::runtime::irp::HeldIrp;
use ntddk::runtime::remove_lock;
use ntddk::{
    BusRelations, DEVICE_OBJECT, IO_STACK_LOCATION, IRP, IRP_MJ_PNP, IRP_MJ_POWER,
    IRP_MN_CANCEL_REMOVE_DEVICE, IRP_MN_CANCEL_STOP_DEVICE, IRP_MN_EJECT,
    IRP_MN_QUERY_DEVICE_RELATIONS, IRP_MN_QUERY_DEVICE_TEXT, IRP_MN_QUERY_ID,
    IRP_MN_QUERY_INTERFACE, IRP_MN_QUERY_REMOVE_DEVICE, IRP_MN_QUERY_STOP_DEVICE,
    IRP_MN_REMOVE_DEVICE, IRP_MN_SET_POWER, IRP_MN_START_DEVICE, IRP_MN_STOP_DEVICE,
    IRP_MN_SURPRISE_REMOVAL, NTSTATUS, STATUS_INSUFFICIENT_RESOURCES, STATUS_NO_SUCH_DEVICE,
    STATUS_SUCCESS, nt_success,
};
use xenbus_interface::Guid;

use super::device::{self, Dx};
use crate::driver::{DeviceRef, Driver};
use crate::pnp::{
    BusQueryIdType, DevicePowerState, DeviceTextType, Dispatch, Effect, Information, Pnp, Power,
    QueryInterface, RelationType, Request, SystemPowerState,
};

/// Decodes the request at the IRP's current location; `status` is the `IoStatus.Status` it
/// arrived with.
pub fn decode(location: &IO_STACK_LOCATION, status: NTSTATUS) -> Request {
    match location.MajorFunction {
        IRP_MJ_PNP => Request::Pnp(decode_pnp(location, status)),
        IRP_MJ_POWER => Request::Power(decode_power(location)),
        _ => Request::Other,
    }
}

/// An `IRP_MJ_PNP` request.
fn decode_pnp(location: &IO_STACK_LOCATION, status: NTSTATUS) -> Pnp {
    let parameters = &location.Parameters;
    match location.MinorFunction {
        IRP_MN_START_DEVICE => Pnp::Start,
        IRP_MN_QUERY_STOP_DEVICE => Pnp::QueryStop,
        IRP_MN_CANCEL_STOP_DEVICE => Pnp::CancelStop,
        IRP_MN_STOP_DEVICE => Pnp::Stop,
        IRP_MN_QUERY_REMOVE_DEVICE => Pnp::QueryRemove,
        IRP_MN_CANCEL_REMOVE_DEVICE => Pnp::CancelRemove,
        IRP_MN_SURPRISE_REMOVAL => Pnp::SurpriseRemoval,
        IRP_MN_REMOVE_DEVICE => Pnp::Remove,
        IRP_MN_EJECT => Pnp::Eject,
        IRP_MN_QUERY_DEVICE_RELATIONS => {
            // SAFETY: the member of a relations query.
            let kind = unsafe { parameters.QueryDeviceRelations.Type };
            Pnp::QueryDeviceRelations(if kind == BusRelations {
                RelationType::Bus
            } else {
                RelationType::Other(kind.cast_unsigned())
            })
        }
        IRP_MN_QUERY_ID => {
            // SAFETY: the member of an ID query.
            let kind = unsafe { parameters.QueryId.IdType };
            Pnp::QueryId(match kind {
                ntddk::BusQueryDeviceID => BusQueryIdType::DeviceId,
                ntddk::BusQueryHardwareIDs => BusQueryIdType::HardwareIds,
                ntddk::BusQueryCompatibleIDs => BusQueryIdType::CompatibleIds,
                ntddk::BusQueryInstanceID => BusQueryIdType::InstanceId,
                other => BusQueryIdType::Other(other.cast_unsigned()),
            })
        }
        IRP_MN_QUERY_DEVICE_TEXT => {
            // SAFETY: the member of a text query.
            let kind = unsafe { parameters.QueryDeviceText.DeviceTextType };
            Pnp::QueryDeviceText(match kind {
                ntddk::DeviceTextDescription => DeviceTextType::Description,
                ntddk::DeviceTextLocationInformation => DeviceTextType::LocationInformation,
                other => DeviceTextType::Other(other.cast_unsigned()),
            })
        }
        IRP_MN_QUERY_INTERFACE => {
            // SAFETY: the member of an interface query.
            let query = unsafe { parameters.QueryInterface };
            // SAFETY: NULL or the requester's GUID, alive while its IRP is.
            let guid = unsafe { query.InterfaceType.as_ref() }.map_or(
                Guid {
                    data1: 0,
                    data2: 0,
                    data3: 0,
                    data4: [0; 8],
                },
                |g| Guid {
                    data1: g.Data1,
                    data2: g.Data2,
                    data3: g.Data3,
                    data4: g.Data4,
                },
            );
            Pnp::QueryInterface(QueryInterface {
                guid,
                version: query.Version,
                size: query.Size,
                status,
            })
        }
        other => Pnp::Other(other),
    }
}

/// An `IRP_MJ_POWER` request.
const fn decode_power(location: &IO_STACK_LOCATION) -> Power {
    if location.MinorFunction != IRP_MN_SET_POWER {
        return Power::Other;
    }
    // SAFETY: the member of a power IRP.
    let power = unsafe { location.Parameters.Power };
    if power.Type == ntddk::DevicePowerState {
        // SAFETY: the device member of a device power IRP.
        let state = unsafe { power.State.DeviceState };
        Power::SetDevice(DevicePowerState(state.cast_unsigned()))
    } else if power.Type == ntddk::SystemPowerState {
        // SAFETY: the system member of a system power IRP.
        let state = unsafe { power.State.SystemState };
        Power::SetSystem(SystemPowerState(state.cast_unsigned()))
    } else {
        Power::Other
    }
}

/// What applying a step's effects did to the IRP.
#[derive(Default)]
struct Applied {
    /// The remove lock was released and waited on: do not release it again.
    released: bool,
    /// An `XENFILT_EMULATED` table was written: `Information` becomes 0.
    filled: bool,
}

/// Applies one effect for the IRP `irp` held by our device `dx` (no lock held); `irp` is NULL
/// once the IRP completed.
///
/// Those that delete device objects, wait or call xen.sys run only for Plug and Play IRPs, at
/// PASSIVE_LEVEL (the core answers power IRPs with power states only).
fn apply(effect: Effect, dx: &Dx, irp: *mut IRP, applied: &mut Applied) {
    match effect {
        Effect::SetDevicePower(state) => {
            // SAFETY: our device object, not deleted while its IRP holds the remove lock.
            unsafe { ntddk::runtime::pnp::set_device_power(dx.object.0, state.0.cast_signed()) };
        }
        Effect::InvalidateBusRelations(fdo) => {
            let bus = super::with_filter(|f| f.device(DeviceRef::Fdo(fdo))).flatten();
            // SAFETY: our bus filter, listed (so not deleted).
            if let Some(bus) = bus.and_then(|device| unsafe { device::of(device.0) }) {
                // SAFETY: the bus PDO below our filter; <= DISPATCH_LEVEL.
                unsafe {
                    ntddk::routines::IoInvalidateDeviceRelations(bus.physical.0, BusRelations);
                };
            }
        }
        Effect::DestroyPdo(pdo) => super::destroy(DeviceRef::Pdo(pdo)),
        Effect::DestroyFdo(fdo) => super::destroy(DeviceRef::Fdo(fdo)),
        Effect::ReleaseRemoveLockAndWait | Effect::FillEmulatedInterface(_) if irp.is_null() => {
            ntddk::runtime::print_fmt(
                ntddk::DPFLTR_ERROR_LEVEL,
                format_args!("xenfilt|IRP: {effect:?} after the IRP completed: ignored\n"),
            );
        }
        Effect::ReleaseRemoveLockAndWait => {
            // SAFETY: PASSIVE_LEVEL (a removal); the lock this IRP holds, released once.
            unsafe { remove_lock::release_and_wait(dx.remove_lock, Dx::tag(irp)) };
            applied.released = true;
        }
        Effect::FillEmulatedInterface(version) => {
            // SAFETY: the held IRP.
            let current = unsafe { ntddk::stack::current(irp) };
            // SAFETY: its current location, ours while we hold it.
            let location = unsafe { &*current };
            // SAFETY: the member of an interface query (the core answers only those so).
            let query = unsafe { &location.Parameters.QueryInterface };
            // SAFETY: the requester's buffer, `Size` bytes (its contract).
            unsafe { super::emulated::fill(query, version) };
            applied.filled = true;
        }
        Effect::UnplugDevices => super::unplug_devices(),
    }
}

/// Releases the IRP's hold on the remove lock unless it was released and waited on.
fn release(dx: &Dx, tag: *mut c_void, applied: &Applied) {
    if !applied.released {
        // SAFETY: the hold this IRP took in `dispatch`, released once.
        unsafe { remove_lock::release(dx.remove_lock, tag) };
    }
}

/// Completes an IRP we failed before the core saw it (a power IRP lets the next one start).
fn refuse(irp: HeldIrp, status: NTSTATUS, power: bool) -> NTSTATUS {
    if power {
        irp.start_next_power_irp();
    }
    let information = irp.information();
    irp.complete(status, information)
}

/// Every IRP to one of our device objects (see the module docs).
pub fn dispatch(device: *mut DEVICE_OBJECT, irp: HeldIrp) -> NTSTATUS {
    let power = irp.location().MajorFunction == IRP_MJ_POWER;
    // SAFETY: the I/O manager sends us IRPs for our device objects only.
    let Some(dx) = (unsafe { device::of(device) }) else {
        return refuse(irp, STATUS_NO_SUCH_DEVICE, power);
    };
    // A device object the core has not accepted is unreachable (created and attached, but
    // not yet known to Plug and Play); were an IRP to reach it, it goes down untouched.
    let Some(id) = dx.device else {
        return if power {
            irp.power_down_the_stack(dx.lower)
        } else {
            irp.pass_down(dx.lower)
        };
    };
    let tag = Dx::tag(irp.raw());
    // SAFETY: our device's lock, readied at creation; the device is not deleted while the I/O
    // manager sends it IRPs.
    let locked = unsafe { remove_lock::acquire(dx.remove_lock, tag) };
    if !nt_success(locked) {
        return refuse(irp, locked, power);
    }
    let request = decode(irp.location(), irp.status());
    let Some(step) = super::with_filter(|f| f.driver.dispatch(id, request)) else {
        // SAFETY: the hold just taken.
        unsafe { remove_lock::release(dx.remove_lock, tag) };
        return refuse(irp, STATUS_NO_SUCH_DEVICE, power);
    };
    let mut applied = Applied::default();
    for effect in step.effects {
        apply(effect, &dx, irp.raw(), &mut applied);
    }
    match step.then {
        Dispatch::Complete(status) => {
            release(&dx, tag, &applied);
            refuse(irp, status, power)
        }
        Dispatch::PassDown => {
            let status = pass_down(irp, &dx, power);
            release(&dx, tag, &applied);
            status
        }
        Dispatch::PassDownWithStatus(status) => {
            let mut irp = irp;
            irp.set_status(status);
            if applied.filled {
                irp.set_information(0);
            }
            let status = pass_down(irp, &dx, power);
            release(&dx, tag, &applied);
            status
        }
        Dispatch::ForwardAndWait => forward_and_wait(id, request, &dx, irp, applied),
        Dispatch::PassDownWatched => {
            if power {
                irp.start_next_power_irp();
            }
            // SAFETY: our device object stays (the IRP holds its remove lock until the routine
            // released it); `power_up_done` keeps the completion-routine contract.
            unsafe { irp.pass_down_watched(dx.lower, power_up_done, dx.object.0.cast()) }
        }
    }
}

/// Passes the IRP down untouched (a power IRP through the power manager).
fn pass_down(irp: HeldIrp, dx: &Dx, power: bool) -> NTSTATUS {
    if power {
        irp.power_down_the_stack(dx.lower)
    } else {
        irp.pass_down(dx.lower)
    }
}

/// [`Dispatch::ForwardAndWait`]: forwards the IRP, waits, and completes it as the core says.
fn forward_and_wait(
    id: DeviceRef,
    request: Request,
    dx: &Dx,
    mut irp: HeldIrp,
    mut applied: Applied,
) -> NTSTATUS {
    let tag = Dx::tag(irp.raw());
    let status = irp.forward_and_wait(dx.lower);
    if let DeviceRef::Fdo(fdo) = id
        && Driver::is_bus_relations(request)
    {
        let status = super::relations::finish(fdo, dx, &mut irp, status);
        release(dx, tag, &applied);
        irp.set_status(status);
        return irp.complete_as_is();
    }
    let Some(completion) = super::with_filter(|f| f.driver.completed(id, request, status)) else {
        release(dx, tag, &applied);
        return irp.complete_as_is();
    };
    // After an ejection the child filter goes only once its IRP completed.
    let mut before = completion.effects;
    let after: Vec<Effect> = match (request, id) {
        (Request::Pnp(Pnp::Eject), DeviceRef::Pdo(pdo)) => before
            .iter()
            .position(|e| *e == Effect::DestroyPdo(pdo))
            .map(|at| before.split_off(at))
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    for effect in before {
        apply(effect, dx, irp.raw(), &mut applied);
    }
    let mut status = completion.status;
    if let Information::Replace(units) = completion.information {
        let copy = ntddk::runtime::pnp::pool_utf16(&units, super::POOL_TAG);
        free_information(&mut irp);
        if let Some(buffer) = copy {
            irp.set_information(buffer.expose_provenance());
        } else {
            status = STATUS_INSUFFICIENT_RESOURCES;
        }
    }
    release(dx, tag, &applied);
    irp.set_status(status);
    let status = irp.complete_as_is();
    for effect in after {
        apply(effect, dx, core::ptr::null_mut(), &mut applied);
    }
    status
}

/// Frees the pool buffer the lower driver returned in `Information` (its answer replaced).
fn free_information(irp: &mut HeldIrp) {
    let buffer = core::ptr::with_exposed_provenance_mut::<c_void>(irp.information());
    if !buffer.is_null() {
        // SAFETY: a successful ID or text query's pool string, ours once the IRP came back.
        unsafe { ntddk::routines::ExFreePool(buffer) };
    }
    irp.set_information(0);
}

/// The completion routine of a watched power-up ([`Dispatch::PassDownWatched`]): propagates
/// the pending state, reports the new state to the core, applies its power states and releases
/// the remove lock. Any IRQL up to `DISPATCH_LEVEL`.
unsafe extern "system" fn power_up_done(
    _device: *mut DEVICE_OBJECT,
    irp: *mut IRP,
    context: *mut c_void,
) -> NTSTATUS {
    // SAFETY: the IRP being completed, ours again at our location.
    if unsafe { (*irp).PendingReturned } != 0 {
        // SAFETY: as above.
        unsafe { ntddk::stack::mark_pending(irp) };
    }
    // SAFETY: `context` is our device object, kept by the remove lock this IRP holds.
    let Some(dx) = (unsafe { device::of(context.cast()) }) else {
        return STATUS_SUCCESS;
    };
    // SAFETY: the IRP being completed.
    let current = unsafe { ntddk::stack::current(irp) };
    // SAFETY: our location of it, ours again in our completion routine.
    let location = unsafe { &*current };
    let power = decode_power(location);
    if let Some(id) = dx.device {
        let effects = super::with_filter(|f| f.driver.power_up_completed(id, power));
        for effect in effects.unwrap_or_default() {
            match effect {
                Effect::SetDevicePower(state) => {
                    // SAFETY: our device object; <= DISPATCH_LEVEL.
                    unsafe {
                        ntddk::runtime::pnp::set_device_power(dx.object.0, state.0.cast_signed());
                    };
                }
                other => ntddk::runtime::print_fmt(
                    ntddk::DPFLTR_ERROR_LEVEL,
                    format_args!("xenfilt|power: {other:?} cannot be applied at completion\n"),
                ),
            }
        }
    }
    // SAFETY: the hold `dispatch` took for this IRP, released once.
    unsafe { remove_lock::release(dx.remove_lock, Dx::tag(irp)) };
    // STATUS_CONTINUE_COMPLETION.
    STATUS_SUCCESS
}
