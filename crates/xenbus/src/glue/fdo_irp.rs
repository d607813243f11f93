// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The FDO's Plug and Play and power IRPs: decoded, decided by the bus state
//! (`crate::pnp::fdo`, `crate::pnp::power`), applied.

use alloc::sync::Arc;
use alloc::vec::Vec;

use ntddk::{
    BusRelations, CM_PARTIAL_RESOURCE_DESCRIPTOR, CM_RESOURCE_LIST, DEVICE_OBJECT,
    DEVICE_RELATIONS, DevicePowerState, IO_RESOURCE_REQUIREMENTS_LIST, IRP_MN_CANCEL_REMOVE_DEVICE,
    IRP_MN_CANCEL_STOP_DEVICE, IRP_MN_DEVICE_USAGE_NOTIFICATION,
    IRP_MN_FILTER_RESOURCE_REQUIREMENTS, IRP_MN_QUERY_CAPABILITIES, IRP_MN_QUERY_DEVICE_RELATIONS,
    IRP_MN_QUERY_PNP_DEVICE_STATE, IRP_MN_QUERY_POWER, IRP_MN_QUERY_REMOVE_DEVICE,
    IRP_MN_QUERY_STOP_DEVICE, IRP_MN_REMOVE_DEVICE, IRP_MN_SET_POWER, IRP_MN_START_DEVICE,
    IRP_MN_STOP_DEVICE, IRP_MN_SURPRISE_REMOVAL, NTSTATUS, STATUS_INSUFFICIENT_RESOURCES,
    STATUS_SUCCESS, SystemPowerState,
};
use platform_port::plog;
use platform_windows::Kernel;

use super::fdo::{FdoDevice, set_power_state};
use crate::pnp::core::BALLOON_TIMEOUT;
use crate::pnp::fdo::{Fdo, FdoCompletion};
use crate::pnp::power::{DevicePlan, DownAfterDevice, SystemPlan};
use crate::pnp::resources::{self, ProcessorNumber};
use crate::pnp::state::deleted_device_answer;
use ntddk::runtime::irp::HeldIrp;

/// Pool tag of the buffers handed to the PnP manager ("XBUS").
pub const POOL_TAG: u32 = u32::from_le_bytes(*b"XBUS");

/// Ends an FDO IRP as the bus state said.
fn finish(fdo: &FdoDevice, mut irp: HeldIrp, completion: FdoCompletion) -> NTSTATUS {
    match completion {
        FdoCompletion::PassDown(status) => {
            irp.set_status(status);
            irp.pass_down(fdo.lower)
        }
        FdoCompletion::PassDownUnchanged => irp.pass_down(fdo.lower),
        FdoCompletion::Complete(status) => irp.complete(status, 0),
    }
}

/// The FDO's Plug and Play IRPs (PASSIVE_LEVEL).
pub fn dispatch_pnp(fdo: &Arc<FdoDevice>, mut irp: HeldIrp) -> NTSTATUS {
    let minor = irp.location().MinorFunction;
    let removal = matches!(minor, IRP_MN_SURPRISE_REMOVAL | IRP_MN_REMOVE_DEVICE);
    if let Some(status) = deleted_device_answer(fdo.with_fdo(|f| f.state()), removal) {
        return irp.complete(status, 0);
    }
    match minor {
        IRP_MN_START_DEVICE => start(fdo, irp),
        IRP_MN_FILTER_RESOURCE_REQUIREMENTS => filter_requirements(fdo, irp),
        IRP_MN_QUERY_STOP_DEVICE | IRP_MN_QUERY_REMOVE_DEVICE => {
            let balloon = fdo.active().and_then(|a| a.core.balloon_size());
            let held = fdo.active().and_then(|a| a.provider.held_by_children());
            let remove = minor == IRP_MN_QUERY_REMOVE_DEVICE;
            let completion =
                fdo.with_fdo(|f| f.query_stop_or_remove(remove, balloon, held.map(|(n, _)| n)));
            if !remove
                && let (Some((name, count)), FdoCompletion::Complete(_)) = (held, &completion)
            {
                plog!(
                    fdo.platform,
                    Warning,
                    "xenbus|FDO: stop vetoed: a child holds {name} ({count} reference(s))"
                );
            }
            finish(fdo, irp, completion)
        }
        IRP_MN_CANCEL_STOP_DEVICE | IRP_MN_CANCEL_REMOVE_DEVICE => {
            let remove = minor == IRP_MN_CANCEL_REMOVE_DEVICE;
            let completion = fdo.with_fdo(|f| f.cancel_stop_or_remove(remove));
            finish(fdo, irp, completion)
        }
        IRP_MN_STOP_DEVICE => {
            let reply = fdo.with_fdo(Fdo::stop);
            fdo.apply_all(&reply.before);
            let status = finish(fdo, irp, reply.completion);
            fdo.apply_all(&reply.after);
            status
        }
        IRP_MN_SURPRISE_REMOVAL => {
            let completion = fdo.with_fdo(Fdo::surprise_removal);
            finish(fdo, irp, completion)
        }
        IRP_MN_REMOVE_DEVICE => {
            if fdo.with_fdo(|f| f.remove_waits_for_scan())
                && let Some(active) = fdo.active()
            {
                active.core.wake_scan_and_wait();
            }
            let reply = fdo.with_fdo(Fdo::remove);
            fdo.apply_all(&reply.before);
            let status = finish(fdo, irp, reply.completion);
            fdo.apply_all(&reply.after);
            status
        }
        IRP_MN_QUERY_DEVICE_RELATIONS => {
            // SAFETY: the member of a relations query.
            let kind = unsafe { irp.location().Parameters.QueryDeviceRelations.Type };
            if kind == BusRelations {
                bus_relations(fdo, irp)
            } else {
                irp.pass_down(fdo.lower)
            }
        }
        IRP_MN_QUERY_CAPABILITIES => capabilities(fdo, irp),
        IRP_MN_DEVICE_USAGE_NOTIFICATION => {
            // SAFETY: the member of a usage notification.
            let notification = unsafe { irp.location().Parameters.UsageNotification };
            let status = irp.forward_and_wait(fdo.lower);
            let effects = fdo.with_fdo(|f| {
                f.usage_notification(notification.Type, notification.InPath != 0, status)
            });
            fdo.apply_all(&effects);
            irp.complete_as_is()
        }
        IRP_MN_QUERY_PNP_DEVICE_STATE => {
            let (status, information) = (irp.status(), irp.information());
            if let Some(state) = fdo.with_fdo(|f| f.pnp_device_state(status, information)) {
                irp.set_information(state);
                irp.set_status(STATUS_SUCCESS);
            }
            irp.pass_down(fdo.lower)
        }
        _ => irp.pass_down(fdo.lower),
    }
}

/// The bytes of a `CM_RESOURCE_LIST` in kernel memory, `None` for NULL or one that does not
/// add up within 64 KiB.
///
/// # Safety
/// `list` is NULL or a resource list the PnP manager built, alive and ours to change for
/// `'a`.
unsafe fn cm_list<'a>(list: *mut CM_RESOURCE_LIST) -> Option<&'a mut [u8]> {
    const LIMIT: usize = 0x1_0000;
    const FULL_HEADER: usize = 16;
    const PARTIAL: usize = size_of::<CM_PARTIAL_RESOURCE_DESCRIPTOR>();
    let base = list.cast::<u8>();
    if base.is_null() {
        return None;
    }
    let read_u32 = |offset: usize| -> Option<u32> {
        if offset.checked_add(4)? > LIMIT {
            return None;
        }
        // SAFETY: within the list as far as its counts say (the PnP manager's).
        let at = unsafe { base.add(offset) };
        // SAFETY: as above; any alignment.
        Some(unsafe { at.cast::<u32>().read_unaligned() })
    };
    let full = usize::try_from(read_u32(0)?).ok()?;
    let mut offset = 4_usize;
    for _ in 0..full {
        let partials = usize::try_from(read_u32(offset.checked_add(12)?)?).ok()?;
        offset = offset
            .checked_add(FULL_HEADER)?
            .checked_add(partials.checked_mul(PARTIAL)?)?;
        if offset > LIMIT {
            return None;
        }
    }
    // SAFETY: the list's own extent, computed from its counts (the caller's contract).
    Some(unsafe { core::slice::from_raw_parts_mut(base, offset) })
}

/// The partial descriptors of the first full descriptor of a copied list.
fn first_partials(list: &[u8]) -> Vec<CM_PARTIAL_RESOURCE_DESCRIPTOR> {
    const FIRST: usize = 4 + 16;
    const PARTIAL: usize = size_of::<CM_PARTIAL_RESOURCE_DESCRIPTOR>();
    let count = list
        .get(16..20)
        .and_then(|b| b.try_into().ok())
        .map_or(0, u32::from_le_bytes);
    let mut out = Vec::new();
    for index in 0..usize::try_from(count).unwrap_or(0) {
        let Some(bytes) = index
            .checked_mul(PARTIAL)
            .and_then(|at| at.checked_add(FIRST))
            .and_then(|at| list.get(at..at.checked_add(PARTIAL)?))
        else {
            break;
        };
        // SAFETY: `PARTIAL` bytes of a descriptor, read unaligned from the copy.
        out.push(unsafe {
            bytes
                .as_ptr()
                .cast::<CM_PARTIAL_RESOURCE_DESCRIPTOR>()
                .read_unaligned()
        });
    }
    out
}

/// `IRP_MN_START_DEVICE` (upstream `FdoStartDevice`).
fn start(fdo: &FdoDevice, mut irp: HeldIrp) -> NTSTATUS {
    // SAFETY: the member of a start request.
    let parameters = unsafe { irp.location().Parameters.StartDevice };
    // SAFETY: the PnP manager's lists (or NULL), ours until the IRP completes.
    let raw = unsafe { cm_list(parameters.AllocatedResources) };
    // SAFETY: as above.
    let translated = unsafe { cm_list(parameters.AllocatedResourcesTranslated) };
    let copies = match (raw, translated) {
        (Some(raw), Some(translated)) => {
            let copies = (raw.to_vec(), translated.to_vec());
            // The lower stack must not see the per-processor message interrupts.
            let hidden = resources::hide_message_interrupts(raw)
                .and_then(|_| resources::hide_message_interrupts(translated));
            if let Err(error) = hidden {
                plog!(
                    fdo.platform,
                    Warning,
                    "xenbus|FDO: start resources: {error:?}"
                );
            }
            Some(copies)
        }
        _ => None,
    };
    if irp.forward_and_wait(fdo.lower) < 0 {
        return irp.complete_as_is();
    }
    if let Some(active) = fdo.active() {
        if let Some((raw, translated)) = &copies {
            let (raw, translated) = (first_partials(raw), first_partials(translated));
            // SAFETY: PASSIVE_LEVEL; the platform device's PDO and its start resources.
            let connected = unsafe {
                fdo.interrupts
                    .connect_all(fdo.physical.0, &raw, &translated)
            };
            if let Err(status) = connected {
                plog!(
                    fdo.platform,
                    Error,
                    "xenbus|FDO: interrupts ({:08x})",
                    status.cast_unsigned()
                );
                return irp.complete(status, 0);
            }
            // Before EVTCHN programs the callback line: from here its ISR claims what is its.
            fdo.interrupts.set_service(Some(&active.service));
        }
        let core = &active.core;
        let started = core
            .start_threads(active.balloon.clone())
            .and_then(|()| core.d3_to_d0());
        if let Err(status) = started {
            plog!(
                fdo.platform,
                Error,
                "xenbus|FDO: start ({:08x})",
                status.cast_unsigned()
            );
            core.stop_threads();
            fdo.interrupts.disconnect();
            return irp.complete(status, 0);
        }
        if active.balloon.is_some() {
            // Upstream's FdoStartDevice: the first balloon pass must end (a warning every
            // 10 s), or the machine stops after 20 minutes.
            let platform = fdo.platform;
            let done = core.wait_balloon(BALLOON_TIMEOUT, |waited| {
                plog!(
                    platform,
                    Warning,
                    "xenbus|FDO: waiting for the balloon ({} s)",
                    waited.as_secs()
                );
            });
            if !done {
                ntddk::runtime::fatal(c"BALLOON INFLATION TIMEOUT", 0);
            }
        }
    }
    fdo.keep_resources(copies);
    set_power_state(fdo.device, true);
    let wake = fdo.with_fdo(Fdo::start_succeeded);
    if wake && let Some(active) = fdo.active() {
        active.core.wake_scan();
    }
    irp.complete_as_is()
}

/// The processors Windows runs, as the requirements filter names them.
fn processors() -> Vec<ProcessorNumber> {
    let kernel = Kernel;
    (0..kernel.active_processor_count())
        .filter_map(|index| kernel.processor_number(index))
        .map(|number| ProcessorNumber {
            group: number.Group,
            number: number.Number,
        })
        .collect()
}

/// `IRP_MN_FILTER_RESOURCE_REQUIREMENTS`: one message interrupt per processor for the active
/// FDO.
fn filter_requirements(fdo: &FdoDevice, mut irp: HeldIrp) -> NTSTATUS {
    if irp.forward_and_wait(fdo.lower) < 0 || fdo.active().is_none() {
        return irp.complete_as_is();
    }
    // SAFETY: the member of a requirements filter.
    let original =
        unsafe { irp.location().Parameters.FilterResourceRequirements }.IoResourceRequirementList;
    let information = irp.information();
    let current: *mut IO_RESOURCE_REQUIREMENTS_LIST = if information == 0 {
        original
    } else {
        core::ptr::with_exposed_provenance_mut(information)
    };
    // SAFETY: NULL or a list the PnP manager or the lower driver built.
    let Some(list) = (unsafe { current.as_ref() }) else {
        return irp.complete_as_is();
    };
    let size = usize::try_from(list.ListSize).unwrap_or(0);
    // SAFETY: the list's own size, as its first field says.
    let bytes = unsafe { core::slice::from_raw_parts(current.cast::<u8>(), size) };
    let filtered = match resources::filter_requirements(bytes, &processors()) {
        Ok(filtered) => filtered,
        Err(error) => {
            plog!(
                fdo.platform,
                Error,
                "xenbus|FDO: resource requirements: {error:?}"
            );
            return irp.complete_as_is();
        }
    };
    let Some(copy) = ntddk::runtime::pnp::pool_copy(&filtered, POOL_TAG) else {
        return irp.complete(STATUS_INSUFFICIENT_RESOURCES, information);
    };
    if current != original {
        // SAFETY: the lower driver's replacement list, which ours replaces in turn.
        unsafe { ntddk::routines::ExFreePool(current.cast()) };
    }
    irp.complete(STATUS_SUCCESS, copy.expose_provenance())
}

/// `IRP_MN_QUERY_DEVICE_RELATIONS` for `BusRelations`.
fn bus_relations(fdo: &FdoDevice, mut irp: HeldIrp) -> NTSTATUS {
    let ids = fdo.with_fdo(Fdo::bus_relations);
    let ours: Vec<*mut DEVICE_OBJECT> = ids
        .iter()
        .filter_map(|&id| fdo.pdo_device(id))
        .map(|device| device.0)
        .collect();
    let previous: *mut DEVICE_RELATIONS = core::ptr::with_exposed_provenance_mut(irp.information());
    // SAFETY: NULL or the upper driver's list (the PnP manager's contract); our PDOs are alive
    // while listed.
    let list = unsafe { ntddk::runtime::pnp::device_relations(previous, &ours, POOL_TAG) };
    if list.is_null() {
        return irp.complete(STATUS_INSUFFICIENT_RESOURCES, 0);
    }
    if !previous.is_null() {
        // SAFETY: the upper driver's list, replaced by ours.
        unsafe { ntddk::routines::ExFreePool(previous.cast()) };
    }
    irp.set_information(list.expose_provenance());
    irp.set_status(STATUS_SUCCESS);
    if irp.forward_and_wait(fdo.lower) >= 0 {
        let effects = fdo.with_fdo(Fdo::reap);
        fdo.apply_all(&effects);
    }
    irp.complete_as_is()
}

/// `IRP_MN_QUERY_CAPABILITIES`: the lower stack answers; its S-to-D mapping is kept and
/// `Removable` cleared.
fn capabilities(fdo: &FdoDevice, mut irp: HeldIrp) -> NTSTATUS {
    let lower_status = irp.forward_and_wait(fdo.lower);
    // SAFETY: the member of a capabilities query.
    let capabilities = unsafe { irp.location().Parameters.DeviceCapabilities }.Capabilities;
    // SAFETY: the PnP manager's structure, ours while the IRP is.
    // SAFETY: the PnP manager's structure, ours while the IRP is.
    let capabilities = unsafe { capabilities.as_mut() };
    if lower_status >= 0
        && let Some(capabilities) = capabilities
    {
        let mapping = capabilities.DeviceState.map(i32::cast_unsigned);
        fdo.with_fdo(|f| f.record_lower_capabilities(mapping));
        capabilities.set(ntddk::DEVICE_CAPABILITIES::Removable, false);
    }
    irp.complete_as_is()
}

/// The FDO's power IRPs (see the module docs of `fdo` for what is not done yet).
pub fn dispatch_power(fdo: &Arc<FdoDevice>, mut irp: HeldIrp) -> NTSTATUS {
    let location = irp.location();
    // SAFETY: the member of a power IRP.
    let power = unsafe { location.Parameters.Power };
    let minor = location.MinorFunction;
    if (minor == IRP_MN_SET_POWER || minor == IRP_MN_QUERY_POWER) && power.Type == SystemPowerState
    {
        // SAFETY: the system member of a system power IRP.
        let state = unsafe { power.State.SystemState }.cast_unsigned();
        return system_power(fdo, irp, minor, state);
    }
    if location.MinorFunction == IRP_MN_SET_POWER && power.Type == DevicePowerState {
        // SAFETY: the device member of a device power IRP.
        let state = unsafe { power.State.DeviceState }.cast_unsigned();
        match fdo.with_fdo(|f| f.device_power_plan(state)) {
            DevicePlan::ForwardThenPowerUp => {
                if irp.forward_and_wait(fdo.lower) >= 0 {
                    match fdo.active().map(|a| a.core.d3_to_d0()) {
                        Some(Err(status)) => plog!(
                            fdo.platform,
                            Error,
                            "xenbus|FDO: D0 ({:08x})",
                            status.cast_unsigned()
                        ),
                        Some(Ok(())) => {}
                        None => fdo.with_fdo(|f| f.device_up_done(true)),
                    }
                    set_power_state(fdo.device, true);
                }
                irp.start_next_power_irp();
                return irp.complete_as_is();
            }
            DevicePlan::PowerDownThenForward => {
                if let Some(active) = fdo.active() {
                    active.core.d0_to_d3();
                } else {
                    fdo.with_fdo(Fdo::device_down_done);
                }
                set_power_state(fdo.device, false);
            }
            DevicePlan::PassDown => {}
        }
    }
    irp.power_down_the_stack(fdo.lower)
}

/// A system `IRP_MN_SET_POWER` or `IRP_MN_QUERY_POWER` to `state` (upstream's
/// `FdoSetSystemPowerUp`/`Down`, `FdoQuerySystemPowerUp`/`Down`): answered through a device
/// power IRP requested from the FDO's own stack, after the lower stack powered up or before it
/// powers down, as `crate::pnp::power` plans it. `PASSIVE_LEVEL` (the FDO is power pageable).
fn system_power(fdo: &Arc<FdoDevice>, mut irp: HeldIrp, minor: u8, state: u32) -> NTSTATUS {
    let query = minor == IRP_MN_QUERY_POWER;
    let request = |minor: u8, device: u32| {
        // SAFETY: PASSIVE_LEVEL; the platform device's PDO, which our FDO is attached above.
        unsafe {
            ntddk::runtime::irp::request_device_power(fdo.physical.0, minor, device.cast_signed())
        }
    };
    match fdo.with_fdo(|f| f.system_power_plan(state, query)) {
        SystemPlan::PassDown => irp.power_down_the_stack(fdo.lower),
        SystemPlan::ForwardFirst { device } => {
            let status = irp.forward_and_wait(fdo.lower);
            if status < 0 {
                irp.start_next_power_irp();
                return irp.complete_as_is();
            }
            let status = if query {
                request(IRP_MN_QUERY_POWER, device)
            } else {
                fdo.with_fdo(|f| f.system_up_forwarded(state))
                    .map_or(STATUS_SUCCESS, |up| {
                        if up.s4_to_s3 {
                            s4_to_s3(fdo);
                        }
                        request(IRP_MN_SET_POWER, up.device)
                    })
            };
            irp.start_next_power_irp();
            irp.complete(status, 0)
        }
        SystemPlan::DeviceFirst { device } => {
            let status = request(minor, device);
            if query {
                if status < 0 {
                    irp.start_next_power_irp();
                    return irp.complete(status, 0);
                }
                return irp.power_down_the_stack(fdo.lower);
            }
            match fdo.with_fdo(|f| f.system_down_device_done(state, status)) {
                DownAfterDevice::PassDown {
                    s3_to_s4: hibernate,
                } => {
                    if hibernate {
                        s3_to_s4(fdo);
                    }
                    irp.power_down_the_stack(fdo.lower)
                }
                DownAfterDevice::Fail(status) => {
                    irp.start_next_power_irp();
                    irp.complete(status, 0)
                }
            }
        }
    }
}

/// Back from hibernate (upstream's `FdoS4ToS3`): the device model was rebuilt, so the emulated
/// devices are unplugged again.
fn s4_to_s3(fdo: &FdoDevice) {
    plog!(fdo.platform, Info, "xenbus|FDO: resuming from hibernate");
    // SAFETY: xen.sys's export, no arguments, any IRQL.
    unsafe { xen_services::imports::UnplugDevices() };
}

/// Into hibernate (upstream's `FdoS3ToS4`): the FDO's D3 released its own references, so any
/// left on an interface whose state does not survive hibernation is a child's that will not
/// work after it: the machine stops, as upstream's `BUG_ON` does.
fn s3_to_s4(fdo: &FdoDevice) {
    let Some(active) = fdo.active() else {
        return;
    };
    let balloon = active.balloon.as_ref().map_or(0, |b| b.references());
    let held = active.core.subsystems.referenced_at_hibernate(balloon);
    if let Some((name, references)) = held.into_iter().flatten().next() {
        plog!(
            fdo.platform,
            Error,
            "xenbus|FDO: entering hibernate with {references} reference(s) on {name}"
        );
        ntddk::runtime::fatal(c"INTERFACE STILL REFERENCED AT HIBERNATE", 0);
    }
}
