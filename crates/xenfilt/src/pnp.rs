// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The typed requests the glue hands to the filter's state machine and the answers it applies.
//!
//! What both kinds of filter device (the bus filter [`crate::fdo`] and the child filter
//! [`crate::pdo`]) share.
//!
//! An IRP reaches [`crate::driver::Driver::dispatch`] as a [`Request`]; the answer is a
//! [`Step`]: effects to apply now, in order, then what to do with the IRP ([`Dispatch`]). When
//! that is [`Dispatch::ForwardAndWait`], the glue forwards the IRP synchronously and reports
//! the lower driver's result to [`crate::driver::Driver::completed`] (or, for bus relations, to
//! [`crate::driver::Driver::bus_relations`]), which answers with a [`Completion`]. When it is
//! [`Dispatch::PassDownWatched`] (a power-up), the glue passes the IRP down with a completion
//! routine that calls [`crate::driver::Driver::power_up_completed`].
//!
//! Remove locks stay the glue's: it acquires the device's lock on entry (failing the IRP with
//! that status if it cannot), and releases it when the IRP leaves the filter, except where an
//! [`Effect::ReleaseRemoveLockAndWait`] says to release it and wait for the others.

use alloc::vec::Vec;

use ntstatus::NtStatus;

use crate::emulated::EmulatedVersion;
use crate::fdo::FdoId;
use crate::pdo::PdoId;

/// An opaque handle on a device object the filter does not own (a bus's or a child's PDO):
/// the glue passes the object's address; the core only compares handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceHandle(pub usize);

pub use pnp_state::{DevicePnpState, PnpState};

/// `DEVICE_POWER_STATE`: `PowerDeviceD0` is 1 ... `PowerDeviceD3` is 4 (lower is more power).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DevicePowerState(pub u32);

impl DevicePowerState {
    /// `PowerDeviceD0`.
    pub const D0: Self = Self(1);
    /// `PowerDeviceD3`.
    pub const D3: Self = Self(4);
}

/// `SYSTEM_POWER_STATE`: `PowerSystemWorking` is 1 ... (lower is more power).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SystemPowerState(pub u32);

impl SystemPowerState {
    /// `PowerSystemWorking` (S0).
    pub const WORKING: Self = Self(1);
}

/// `BUS_QUERY_ID_TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BusQueryIdType {
    /// `BusQueryDeviceID`.
    DeviceId,
    /// `BusQueryHardwareIDs`.
    HardwareIds,
    /// `BusQueryCompatibleIDs`.
    CompatibleIds,
    /// `BusQueryInstanceID`.
    InstanceId,
    /// Any other (`BusQueryDeviceSerialNumber`, `BusQueryContainerID`...).
    Other(u32),
}

/// `DEVICE_TEXT_TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceTextType {
    /// `DeviceTextDescription`.
    Description,
    /// `DeviceTextLocationInformation`.
    LocationInformation,
    /// Any other value (none is defined today): treated as a description, the lower answer
    /// kept.
    Other(u32),
}

/// `DEVICE_RELATION_TYPE`, as far as the filter cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationType {
    /// `BusRelations`.
    Bus,
    /// Any other type.
    Other(u32),
}

/// `IRP_MN_QUERY_INTERFACE`'s parameters and the status above the filter left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueryInterface {
    /// The interface type asked for.
    pub guid: xenbus_interface::Guid,
    /// `Version`.
    pub version: u16,
    /// `Size` of the caller's buffer.
    pub size: u16,
    /// `Irp->IoStatus.Status` on arrival: `STATUS_NOT_SUPPORTED` when nobody above answered.
    pub status: NtStatus,
}

/// An `IRP_MJ_PNP` minor function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pnp {
    /// `IRP_MN_START_DEVICE`.
    Start,
    /// `IRP_MN_QUERY_STOP_DEVICE`.
    QueryStop,
    /// `IRP_MN_CANCEL_STOP_DEVICE`.
    CancelStop,
    /// `IRP_MN_STOP_DEVICE`.
    Stop,
    /// `IRP_MN_QUERY_REMOVE_DEVICE`.
    QueryRemove,
    /// `IRP_MN_CANCEL_REMOVE_DEVICE`.
    CancelRemove,
    /// `IRP_MN_SURPRISE_REMOVAL`.
    SurpriseRemoval,
    /// `IRP_MN_REMOVE_DEVICE`.
    Remove,
    /// `IRP_MN_QUERY_DEVICE_RELATIONS`.
    QueryDeviceRelations(RelationType),
    /// `IRP_MN_QUERY_ID`.
    QueryId(BusQueryIdType),
    /// `IRP_MN_QUERY_DEVICE_TEXT`.
    QueryDeviceText(DeviceTextType),
    /// `IRP_MN_QUERY_INTERFACE`.
    QueryInterface(QueryInterface),
    /// `IRP_MN_EJECT`.
    Eject,
    /// Any other minor function.
    Other(u8),
}

/// An `IRP_MJ_POWER` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Power {
    /// `IRP_MN_SET_POWER` for a device power state.
    SetDevice(DevicePowerState),
    /// `IRP_MN_SET_POWER` for a system power state.
    SetSystem(SystemPowerState),
    /// Any other power IRP.
    Other,
}

/// An IRP as the filter sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    /// `IRP_MJ_PNP`.
    Pnp(Pnp),
    /// `IRP_MJ_POWER`.
    Power(Power),
    /// Any other major function: passed down.
    Other,
}

/// What the glue does with the IRP after the effects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dispatch {
    /// Complete it here with this status; do not pass it down.
    Complete(NtStatus),
    /// Pass it down untouched (`IoSkipCurrentIrpStackLocation` + `IoCallDriver`).
    PassDown,
    /// Set `IoStatus.Status` (and, for a served interface, `Information` to 0), then pass it
    /// down.
    PassDownWithStatus(NtStatus),
    /// Forward it and wait, then report the lower result (`completed`/`bus_relations`).
    ForwardAndWait,
    /// Pass it down with a completion routine that reports to `power_up_completed`.
    PassDownWatched,
}

/// Something the glue does for the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// `PoSetPowerState(filter, DevicePowerState, state)`.
    SetDevicePower(DevicePowerState),
    /// `IoInvalidateDeviceRelations(bus PDO of this FDO, BusRelations)`.
    InvalidateBusRelations(FdoId),
    /// Detach and delete this child filter (`PdoDestroy`); its id is gone from the core.
    DestroyPdo(PdoId),
    /// Detach and delete this bus filter (`FdoDestroy`); its id is gone from the core.
    DestroyFdo(FdoId),
    /// `IoReleaseRemoveLockAndWait` on the device's remove lock.
    ReleaseRemoveLockAndWait,
    /// Fill the caller's buffer with this `XENFILT_EMULATED` table (`Interface.Context` the
    /// driver's list).
    FillEmulatedInterface(EmulatedVersion),
    /// Call xen.sys's `UnplugDevices()`.
    UnplugDevices,
}

/// The answer to a request: effects in order, then the IRP's fate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Applied first, in order.
    pub effects: Vec<Effect>,
    /// Then this.
    pub then: Dispatch,
}

impl Step {
    /// No effect, then `then`.
    #[must_use]
    pub const fn just(then: Dispatch) -> Self {
        Self {
            effects: Vec::new(),
            then,
        }
    }
}

/// What replaces the lower driver's `IoStatus.Information` when the IRP completes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Information {
    /// Keep the lower driver's.
    Lower,
    /// Free the lower driver's buffer and return this UTF-16 string (with its NUL) instead.
    Replace(Vec<u16>),
}

/// How a forwarded IRP completes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// Applied first, in order (before `IoCompleteRequest`, except [`Effect::DestroyPdo`] of
    /// the device itself after `IRP_MN_EJECT`, which comes after).
    pub effects: Vec<Effect>,
    /// `IoStatus.Status`.
    pub status: NtStatus,
    /// `IoStatus.Information`.
    pub information: Information,
}

impl Completion {
    /// Completes with `status` and the lower `Information`.
    #[must_use]
    pub const fn with(status: NtStatus) -> Self {
        Self {
            effects: Vec::new(),
            status,
            information: Information::Lower,
        }
    }
}

/// A device's PnP and power state (`XENFILT_DX`'s tracking fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceState {
    /// PnP state.
    pub pnp: PnpState,
    /// Device power state.
    pub device_power: DevicePowerState,
    /// System power state.
    pub system_power: SystemPowerState,
}

impl DeviceState {
    /// A new filter device: `state`, D3, S0.
    #[must_use]
    pub const fn new(state: DevicePnpState) -> Self {
        Self {
            pnp: PnpState::new(state),
            device_power: DevicePowerState::D3,
            system_power: SystemPowerState::WORKING,
        }
    }

    /// The state changes of the requests both filters treat alike: the stop and remove queries
    /// and their cancellations, stop and surprise removal (status `SUCCESS`, passed down); the
    /// power IRPs; anything else passed down. `None` for requests the caller handles itself.
    pub fn common(&mut self, request: Request) -> Option<Step> {
        let success = ntstatus::STATUS_SUCCESS;
        match request {
            Request::Pnp(Pnp::QueryStop) => {
                self.pnp.set(DevicePnpState::StopPending);
                Some(Step::just(Dispatch::PassDownWithStatus(success)))
            }
            Request::Pnp(Pnp::CancelStop) => {
                self.pnp.restore(DevicePnpState::StopPending);
                Some(Step::just(Dispatch::PassDownWithStatus(success)))
            }
            Request::Pnp(Pnp::Stop) => {
                let mut effects = Vec::new();
                if self.device_power == DevicePowerState::D0 {
                    self.device_power = DevicePowerState::D3;
                    effects.push(Effect::SetDevicePower(DevicePowerState::D3));
                }
                self.pnp.set(DevicePnpState::Stopped);
                Some(Step {
                    effects,
                    then: Dispatch::PassDownWithStatus(success),
                })
            }
            Request::Pnp(Pnp::QueryRemove) => {
                self.pnp.set(DevicePnpState::RemovePending);
                Some(Step::just(Dispatch::PassDownWithStatus(success)))
            }
            Request::Pnp(Pnp::CancelRemove) => {
                self.pnp.restore(DevicePnpState::RemovePending);
                Some(Step::just(Dispatch::PassDownWithStatus(success)))
            }
            Request::Pnp(Pnp::SurpriseRemoval) => {
                self.pnp.set(DevicePnpState::SurpriseRemovePending);
                Some(Step::just(Dispatch::PassDownWithStatus(success)))
            }
            Request::Power(power) => Some(self.power(power)),
            Request::Other => Some(Step::just(Dispatch::PassDown)),
            Request::Pnp(_) => None,
        }
    }

    /// `IRP_MN_SET_POWER`: equal states pass down; more power passes down watched (the state
    /// changes on completion); less power changes the state first, then passes down.
    fn power(&mut self, power: Power) -> Step {
        match power {
            Power::SetDevice(state) if state < self.device_power => {
                Step::just(Dispatch::PassDownWatched)
            }
            Power::SetDevice(state) if state > self.device_power => {
                self.device_power = state;
                Step {
                    effects: alloc::vec![Effect::SetDevicePower(state)],
                    then: Dispatch::PassDown,
                }
            }
            Power::SetSystem(state) if state < self.system_power => {
                Step::just(Dispatch::PassDownWatched)
            }
            Power::SetSystem(state) if state > self.system_power => {
                self.system_power = state;
                Step::just(Dispatch::PassDown)
            }
            Power::SetDevice(_) | Power::SetSystem(_) | Power::Other => {
                Step::just(Dispatch::PassDown)
            }
        }
    }

    /// The completion of a watched power-up: the new state is taken whatever the lower status
    /// (as upstream's completion routines do).
    pub fn power_up_completed(&mut self, power: Power) -> Vec<Effect> {
        match power {
            Power::SetDevice(state) => {
                self.device_power = state;
                alloc::vec![Effect::SetDevicePower(state)]
            }
            Power::SetSystem(state) => {
                self.system_power = state;
                Vec::new()
            }
            Power::Other => Vec::new(),
        }
    }

    /// `START_DEVICE` succeeded below: D0 and `Started`.
    pub fn started(&mut self) -> Vec<Effect> {
        self.device_power = DevicePowerState::D0;
        self.pnp.set(DevicePnpState::Started);
        alloc::vec![Effect::SetDevicePower(DevicePowerState::D0)]
    }

    /// Drops to D3 if in D0 (removal).
    pub fn power_down(&mut self) -> Option<Effect> {
        if self.device_power == DevicePowerState::D0 {
            self.device_power = DevicePowerState::D3;
            Some(Effect::SetDevicePower(DevicePowerState::D3))
        } else {
            None
        }
    }
}
