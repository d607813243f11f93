// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! A child PDO: its Plug and Play and power IRPs, answered from the bus state (`Fdo::pdo_pnp`,
//! `Fdo::pdo_power`) and, for `IRP_MN_QUERY_INTERFACE`, from the FDO's interface contexts
//! (`Provider::query_interface`).
//!
//! What a PDO hands the PnP manager (IDs, texts, relations, requirements, bus information) is
//! pool memory the PnP manager frees; the capabilities are written into the caller's
//! structure as upstream's `PdoQueryCapabilities` writes them.

use alloc::sync::Arc;
use alloc::vec::Vec;

use ntddk::{
    BUS_INTERFACE_STANDARD, DEVICE_CAPABILITIES, DEVICE_RELATIONS, DevicePowerState, GUID,
    INTERFACE_TYPE, IRP_MN_QUERY_CAPABILITIES, IRP_MN_QUERY_DEVICE_RELATIONS,
    IRP_MN_QUERY_DEVICE_TEXT, IRP_MN_QUERY_ID, IRP_MN_SET_POWER, NTSTATUS, PNP_BUS_INFORMATION,
    PowerDeviceD0, PowerDeviceD3, STATUS_INSUFFICIENT_RESOURCES, STATUS_NO_SUCH_DEVICE,
    STATUS_SUCCESS, SystemPowerState,
};
use platform_port::{IrqlLock, plog};
use platform_windows::WindowsPlatform;

use super::bus::PdoBus;
use super::device::DevicePtr;
use super::fdo::{FdoDevice, set_power_state};
use super::fdo_irp::POOL_TAG;
use crate::debug::Origin;
use crate::interface::QueryOutcome;
use crate::pnp::dma::Interception;
use crate::pnp::fdo::Effect;
use crate::pnp::fdo::PowerRequest;
use crate::pnp::pdo::{PdoCompletion, PdoId, PdoInfo, PdoRequest};
use crate::pnp::resources::pdo_requirements;
use crate::pnp::state::{DevicePower, SystemPower};
use crate::suspend::{SuspendCallback, SuspendCallbackType};
use ntddk::runtime::irp::{self as lower, HeldIrp};

/// `GUID_BUS_TYPE_INTERNAL` {1530EA73-086B-11D1-A09F-00C04FC340B1}.
const GUID_BUS_TYPE_INTERNAL: GUID = GUID {
    Data1: 0x1530_EA73,
    Data2: 0x086B,
    Data3: 0x11D1,
    Data4: [0xA0, 0x9F, 0x00, 0xC0, 0x4F, 0xC3, 0x40, 0xB1],
};
/// `Internal` (`INTERFACE_TYPE`).
const INTERNAL: INTERFACE_TYPE = 0;

/// A child PDO's device object and the FDO whose bus it is on.
pub struct PdoDevice {
    /// Its handle in the bus state.
    pub id: PdoId,
    /// Its device object.
    pub device: DevicePtr,
    /// The FDO (kept alive by every PDO, as the bus state's references say).
    pub fdo: Arc<FdoDevice>,
    /// The SUSPEND LATE callback registered while in D0 (upstream's `PdoSuspendCallbackLate`).
    late: IrqlLock<WindowsPlatform, Option<Arc<SuspendCallback>>>,
    /// The context of the `BUS_INTERFACE_STANDARD` it hands out.
    pub bus: PdoBus,
}

impl PdoDevice {
    /// A PDO of `fdo`.
    /// `interception` is what `InterceptDmaAdapter` asks for (see [`crate::pnp::dma`]).
    pub fn new(
        id: PdoId,
        device: DevicePtr,
        fdo: Arc<FdoDevice>,
        interception: Interception,
    ) -> Arc<Self> {
        let platform = fdo.platform;
        let bus = PdoBus::new(Arc::downgrade(&fdo), interception, platform);
        Arc::new(Self {
            id,
            device,
            fdo,
            late: IrqlLock::dispatch(platform, None),
            bus,
        })
    }

    /// `PdoD3ToD0` (`up`) or `PdoD0ToD3`: the power state, and the LATE callback that tells
    /// the power manager again in a new domain.
    pub fn power(&self, up: bool) {
        let suspend = self
            .fdo
            .active()
            .map(|a| Arc::clone(&a.core.subsystems.suspend));
        if up {
            set_power_state(self.device, true);
            let device = self.device;
            let registered = suspend.and_then(|suspend| {
                suspend
                    .register(
                        SuspendCallbackType::Late,
                        Arc::new(move || {
                            set_power_state(device, false);
                            set_power_state(device, true);
                        }),
                        Origin {
                            function: 0,
                            argument: device.0.expose_provenance(),
                            caller: 0,
                        },
                    )
                    .ok()
            });
            *self.late.lock() = registered;
        } else {
            let late = self.late.lock().take();
            if let (Some(late), Some(suspend)) = (late, suspend) {
                let _ = suspend.deregister(&late);
            }
            set_power_state(self.device, false);
        }
    }
}

/// The parameter `PdoRequest::decode` needs for the request at `location`.
fn parameter(location: &ntddk::IO_STACK_LOCATION) -> i32 {
    let parameters = &location.Parameters;
    match location.MinorFunction {
        // SAFETY: the member of a relations query.
        IRP_MN_QUERY_DEVICE_RELATIONS => unsafe { parameters.QueryDeviceRelations.Type },
        // SAFETY: the member of an ID query.
        IRP_MN_QUERY_ID => unsafe { parameters.QueryId.IdType },
        // SAFETY: the member of a text query.
        IRP_MN_QUERY_DEVICE_TEXT => unsafe { parameters.QueryDeviceText.DeviceTextType },
        IRP_MN_QUERY_CAPABILITIES => {
            // SAFETY: the member of a capabilities query.
            let capabilities = unsafe { parameters.DeviceCapabilities.Capabilities };
            // SAFETY: the PnP manager's structure (or NULL).
            unsafe { capabilities.as_ref() }.map_or(0, |c| i32::from(c.Version))
        }
        _ => 0,
    }
}

/// A PDO's Plug and Play IRPs (PASSIVE_LEVEL).
pub fn dispatch_pnp(pdo: &Arc<PdoDevice>, irp: HeldIrp) -> NTSTATUS {
    let location = irp.location();
    let request = PdoRequest::decode(location.MinorFunction, parameter(location));
    let Ok(reply) = pdo.fdo.with_fdo(|f| f.pdo_pnp(pdo.id, request)) else {
        return irp.complete(STATUS_NO_SUCH_DEVICE, 0);
    };
    apply(pdo, &reply.before);
    let status = match reply.completion {
        PdoCompletion::Complete(status, info) => complete_with(pdo, irp, status, &info),
        PdoCompletion::Unchanged => irp.complete_as_is(),
        PdoCompletion::ServeInterface => serve_interface(pdo, irp),
        PdoCompletion::DelegateToFdoStack => delegate(pdo, irp),
    };
    apply(pdo, &reply.after);
    status
}

fn apply(pdo: &PdoDevice, effects: &[Effect]) {
    for effect in effects {
        pdo.fdo.apply(effect);
    }
}

/// Pool UTF-16 (the PnP manager frees it).
fn pool_utf16(units: &[u16]) -> Option<*mut u8> {
    ntddk::runtime::pnp::pool_utf16(units, POOL_TAG)
}

/// A pool copy of `bytes` (the PnP manager frees it).
fn pool_copy(bytes: &[u8]) -> Option<*mut u8> {
    ntddk::runtime::pnp::pool_copy(bytes, POOL_TAG)
}

/// The bytes of a plain structure.
const fn bytes_of<T: Copy>(value: &T) -> &[u8] {
    // SAFETY: a `Copy` structure without padding the kernel reads as bytes; `value` is alive
    // for the returned borrow.
    unsafe { core::slice::from_raw_parts(core::ptr::from_ref(value).cast::<u8>(), size_of::<T>()) }
}

/// Completes a PDO IRP with `status` and what `info` says to hand over.
fn complete_with(pdo: &PdoDevice, irp: HeldIrp, status: NTSTATUS, info: &PdoInfo) -> NTSTATUS {
    let information = irp.information();
    let buffer = match info {
        PdoInfo::None => return irp.complete(status, information),
        PdoInfo::Id(id) => pool_utf16(&id.to_utf16()),
        PdoInfo::Text(text) => {
            let mut units: Vec<u16> = text.encode_utf16().collect();
            units.push(0);
            pool_utf16(&units)
        }
        PdoInfo::Capabilities(capabilities) => {
            // SAFETY: the member of a capabilities query.
            let caps = unsafe { irp.location().Parameters.DeviceCapabilities }.Capabilities;
            // SAFETY: the PnP manager's structure (the request decoded its version from it).
            if let Some(caps) = unsafe { caps.as_mut() } {
                fill_capabilities(caps, *capabilities);
            }
            return irp.complete(status, information);
        }
        PdoInfo::TargetRelation => {
            let relations = DEVICE_RELATIONS {
                Count: 1,
                Objects: [pdo.device.0],
            };
            let copy = pool_copy(bytes_of(&relations));
            if copy.is_some() {
                // SAFETY: our device object; the PnP manager drops the reference.
                unsafe { ntddk::routines::ObfReferenceObject(pdo.device.0.cast()) };
            }
            copy
        }
        PdoInfo::ResourceRequirements => pool_copy(&pdo_requirements()),
        PdoInfo::BusInformation => pool_copy(bytes_of(&PNP_BUS_INFORMATION {
            BusTypeGuid: GUID_BUS_TYPE_INTERNAL,
            LegacyBusType: INTERNAL,
            BusNumber: 0,
        })),
    };
    match buffer {
        Some(buffer) => irp.complete(status, buffer.expose_provenance()),
        None => irp.complete(STATUS_INSUFFICIENT_RESOURCES, 0),
    }
}

/// Upstream's `PdoQueryCapabilities`.
fn fill_capabilities(caps: &mut DEVICE_CAPABILITIES, ours: crate::pnp::pdo::PdoCapabilities) {
    use ntddk::DEVICE_CAPABILITIES as C;
    for flag in [
        C::DeviceD1,
        C::DeviceD2,
        C::LockSupported,
        C::DockDevice,
        C::RawDeviceOK,
        C::HardwareDisabled,
    ] {
        caps.set(flag, false);
    }
    caps.set(C::UniqueID, true);
    caps.set(C::SilentInstall, true);
    caps.set(C::Removable, ours.removable);
    caps.set(C::SurpriseRemovalOK, ours.surprise_removal_ok);
    caps.set(C::EjectSupported, ours.eject_supported);
    caps.Address = crate::pnp::pdo::PdoCapabilities::NO_ADDRESS;
    caps.UINumber = crate::pnp::pdo::PdoCapabilities::NO_ADDRESS;
    let set = |caps: &mut DEVICE_CAPABILITIES, system: i32, device: i32| {
        if let Some(state) = usize::try_from(system)
            .ok()
            .and_then(|index| caps.DeviceState.get_mut(index))
        {
            *state = device;
        }
    };
    set(caps, ntddk::PowerSystemWorking, PowerDeviceD0);
    for system in [
        ntddk::PowerSystemSleeping3,
        ntddk::PowerSystemHibernate,
        ntddk::PowerSystemShutdown,
    ] {
        set(caps, system, PowerDeviceD3);
    }
    caps.SystemWake = ntddk::PowerSystemUnspecified;
    caps.DeviceWake = ntddk::PowerDeviceUnspecified;
    caps.D1Latency = 0;
    caps.D2Latency = 0;
    caps.D3Latency = 0;
}

/// `IRP_MN_QUERY_INTERFACE` to a PDO.
fn serve_interface(pdo: &PdoDevice, irp: HeldIrp) -> NTSTATUS {
    // SAFETY: the member of an interface query.
    let query = unsafe { irp.location().Parameters.QueryInterface };
    let (current, information) = (irp.status(), irp.information());
    // SAFETY: NULL or the caller's GUID.
    let Some(guid) = (unsafe { query.InterfaceType.as_ref() }) else {
        return irp.complete_as_is();
    };
    let guid = crate::interface::Guid {
        data1: guid.Data1,
        data2: guid.Data2,
        data3: guid.Data3,
        data4: guid.Data4,
    };
    let Some(active) = pdo.fdo.active() else {
        return irp.complete_as_is();
    };
    // SAFETY: the caller's buffer is writable for `Size` bytes (the query's contract).
    let outcome = unsafe {
        active.provider.query_interface(
            &guid,
            query.Version,
            query.Size,
            query.Interface.cast(),
            current,
        )
    };
    match outcome {
        QueryOutcome::Complete(status) => irp.complete(status, information),
        QueryOutcome::BusInterface => {
            let copy = pdo.bus.interface();
            // SAFETY: the caller's buffer holds at least a version-1 bus interface (the
            // provider checked its size); written unaligned.
            unsafe {
                query
                    .Interface
                    .cast::<BUS_INTERFACE_STANDARD>()
                    .write_unaligned(copy);
            };
            irp.complete(STATUS_SUCCESS, information)
        }
        QueryOutcome::DelegateToFdo => delegate(pdo, irp),
    }
}

/// `sizeof(BUS_INTERFACE_STANDARD)`.
pub const BUS_INTERFACE_SIZE: u16 = {
    let size = size_of::<BUS_INTERFACE_STANDARD>();
    assert!(size <= u16::MAX as usize);
    #[expect(clippy::cast_possible_truncation, reason = "checked just above")]
    let size = size as u16;
    size
};

/// Sends a copy of the request to the top of the FDO's stack and completes with its answer
/// (upstream's `FdoDelegateIrp`). PASSIVE_LEVEL.
fn delegate(pdo: &PdoDevice, irp: HeldIrp) -> NTSTATUS {
    let current = *irp.location();
    // SAFETY: the FDO's device object, alive while a PDO is; the parameters point at the
    // caller's buffers, alive until its IRP completes (after this).
    let (status, information) = unsafe {
        lower::send_pnp(pdo.fdo.device.0, true, current.MinorFunction, |location| {
            location.Parameters = current.Parameters;
            location.FileObject = current.FileObject;
        })
    };
    irp.complete(status, information)
}

/// The power request at `location`.
fn power_request(location: &ntddk::IO_STACK_LOCATION) -> PowerRequest {
    if location.MinorFunction != IRP_MN_SET_POWER {
        return PowerRequest::Other;
    }
    // SAFETY: the member of a power IRP.
    let power = unsafe { location.Parameters.Power };
    if power.Type == DevicePowerState {
        // SAFETY: the device member of a device power IRP.
        let state = unsafe { power.State.DeviceState };
        if state == PowerDeviceD0 {
            PowerRequest::SetDevice(DevicePower::D0)
        } else if state == PowerDeviceD3 {
            PowerRequest::SetDevice(DevicePower::D3)
        } else {
            PowerRequest::Other
        }
    } else if power.Type == SystemPowerState {
        // SAFETY: the system member of a system power IRP.
        let state = unsafe { power.State.SystemState }.cast_unsigned();
        SystemPower::from_raw(state).map_or(PowerRequest::Other, PowerRequest::SetSystem)
    } else {
        PowerRequest::Other
    }
}

/// A PDO's power IRPs: set-power requests move the PDO's state; everything completes here.
pub fn dispatch_power(pdo: &Arc<PdoDevice>, irp: HeldIrp) -> NTSTATUS {
    let request = power_request(irp.location());
    irp.start_next_power_irp();
    let Ok(reply) = pdo.fdo.with_fdo(|f| f.pdo_power(pdo.id, request)) else {
        plog!(
            pdo.fdo.platform,
            Error,
            "xenbus|PDO: power IRP for a PDO off the bus"
        );
        return irp.complete(STATUS_NO_SUCH_DEVICE, 0);
    };
    apply(pdo, &reply.before);
    let status = match reply.completion {
        PdoCompletion::Complete(status, _) => {
            let information = irp.information();
            irp.complete(status, information)
        }
        _ => irp.complete_as_is(),
    };
    apply(pdo, &reply.after);
    status
}
