// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The child filter ("PDO"): attached directly above each child PDO a filtered bus reports,
//! before PnP sees the child, so every IRP to the child's stack passes it first.
//!
//! Upstream (`src/xenfilt/pdo.c`):
//!
//! * **Creation** (`PdoCreate`, `PdoSetDeviceInformation`): the child's device ID is queried
//!   (failure: no filter). It is **active** when force-activated, or, when neutral, when its
//!   device ID equals `ActiveDeviceID` ignoring case. A neutral active child takes the stored
//!   `ActiveInstanceID` as its instance ID (**required**: without it there is no filter, and
//!   the child is dropped from the bus) and `ActiveLocationInformation` as its location (else
//!   the child's own, else none); every other child keeps its own (none when the query
//!   fails). Then it is added to the EMULATED list ([`crate::emulated`]; failure: no filter).
//!   So the active platform device keeps one PnP identity whatever slot it moves to, and
//!   Windows does not reinstall xenbus and its children.
//! * `START_DEVICE`: forwarded and waited for; on success D0, `Started`, and `SUCCESS`.
//! * `REMOVE_DEVICE`: D3 if in D0; forwarded and waited for; a **missing** child is
//!   `Deleted`, its remove lock released and waited on, then destroyed if it had been surprise
//!   removed, else the bus relations are invalidated (the next enumeration destroys it); a
//!   child still present goes back to `Enumerated`.
//! * `QUERY_ID`: forwarded and waited for; the device and instance IDs are replaced by the
//!   stored ones, an empty stored one failing with `STATUS_OBJECT_NAME_NOT_FOUND` (even though
//!   the lower driver succeeded: an upstream quirk kept here); other ID types keep the lower
//!   answer. `QUERY_DEVICE_TEXT` does the same for the location.
//! * `QUERY_INTERFACE`: when nobody above answered (`STATUS_NOT_SUPPORTED`) and the type is
//!   `GUID_XENFILT_EMULATED_INTERFACE`, the table of the asked version is filled
//!   ([`crate::emulated::get_interface`]) and its status set; then always passed down.
//! * `EJECT`: missing ("ejected") and `Deleted`, forwarded and waited for, completed, then
//!   destroyed.
//! * Everything else: as [`crate::pnp::DeviceState::common`].

use alloc::vec::Vec;
use core::fmt;

use ntstatus::{
    NtStatus, STATUS_NO_SUCH_DEVICE, STATUS_OBJECT_NAME_NOT_FOUND, STATUS_SUCCESS, nt_success,
};
use xenbus_interface::emulated::GUID_XENFILT_EMULATED_INTERFACE;

use crate::driver::Driver;
use crate::emulated::{ActivationStatus, EmulatedError, EmulatedType, ObjectId, get_interface};
use crate::fdo::FdoId;
use crate::id::{Id, IdError, IdList, Text};
use crate::pnp::{
    BusQueryIdType, Completion, DeviceHandle, DevicePnpState, DeviceState, DeviceTextType,
    Dispatch, Effect, Information, Pnp, Request, Step,
};
use crate::registry::{
    self, ACTIVE_DEVICE_ID, ACTIVE_INSTANCE_ID, ACTIVE_LOCATION_INFORMATION, Parameters, ValueError,
};

/// A child filter's identity in the core (kept in the glue's device extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PdoId(pub(crate) u64);

/// Why a child filter is missing (upstream's `Reason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingReason {
    /// The bus stopped reporting the child ("device disappeared").
    Disappeared,
    /// The bus filter was removed ("FDO removed").
    FdoRemoved,
    /// The child was ejected ("Ejected").
    Ejected,
}

/// Why the glue could not learn something of a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeError {
    /// The query failed with this status.
    Status(NtStatus),
    /// The answer was malformed.
    Malformed(IdError),
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Status(s) => write!(f, "query failed ({:08x})", s.cast_unsigned()),
            Self::Malformed(e) => write!(f, "malformed answer: {e}"),
        }
    }
}

/// What the glue learnt of a new child PDO after creating and attaching its filter.
///
/// The results of `IRP_MN_QUERY_ID` (device, instance and compatible IDs) and
/// `IRP_MN_QUERY_DEVICE_TEXT` (location) sent to the child, parsed with [`crate::id`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildProbe {
    /// The child PDO.
    pub pdo: DeviceHandle,
    /// Whether the filter device was created and attached (`IoCreateDevice`,
    /// `IoAttachDeviceToDeviceStack`).
    pub attached: Result<(), NtStatus>,
    /// `BusQueryDeviceID`.
    pub device_id: Result<Id, ProbeError>,
    /// `BusQueryInstanceID`.
    pub instance_id: Result<Id, ProbeError>,
    /// `DeviceTextLocationInformation`.
    pub location: Result<Text, ProbeError>,
    /// `BusQueryCompatibleIDs`.
    pub compatible_ids: Result<IdList, ProbeError>,
}

/// Why no child filter was kept on a new child.
///
/// The child is then dropped from the bus's relations, as upstream (see the crate docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PdoCreateError {
    /// The glue has no probe for it.
    NotProbed,
    /// The filter device could not be created or attached.
    NotAttached(NtStatus),
    /// Its device ID is unknown.
    DeviceId(ProbeError),
    /// It is the neutral active device and `ActiveInstanceID` is missing or unusable.
    NoActiveInstanceId(ValueError),
    /// `ActiveInstanceID` is a string but not a valid ID.
    BadActiveInstanceId(IdError),
    /// The EMULATED list refused it (an IDE instance ID that is not `C.T.0`).
    Emulated(EmulatedError),
}

impl fmt::Display for PdoCreateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotProbed => f.write_str("not probed"),
            Self::NotAttached(s) => write!(f, "not attached ({:08x})", s.cast_unsigned()),
            Self::DeviceId(e) => write!(f, "device ID: {e}"),
            Self::NoActiveInstanceId(e) => write!(f, "ActiveInstanceID: {e}"),
            Self::BadActiveInstanceId(e) => write!(f, "ActiveInstanceID: {e}"),
            Self::Emulated(e) => write!(f, "{e}"),
        }
    }
}

/// The identity a child filter reports (`PdoSetDeviceInformation`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInformation {
    /// The child's own device ID.
    pub device_id: Id,
    /// The instance ID reported (none: `""`).
    pub instance_id: Option<Id>,
    /// The location reported (none: `""`).
    pub location: Option<Text>,
    /// Whether it is the active platform device.
    pub active: bool,
}

/// `PdoSetDeviceInformation`: the identity of a new child forced `force`.
///
/// # Errors
/// [`PdoCreateError::DeviceId`] when the device ID is unknown;
/// [`PdoCreateError::NoActiveInstanceId`] / [`PdoCreateError::BadActiveInstanceId`] for a
/// neutral active child without a usable `ActiveInstanceID`.
pub fn device_information<P: Parameters + ?Sized>(
    force: ActivationStatus,
    probe: &ChildProbe,
    params: &P,
) -> Result<DeviceInformation, PdoCreateError> {
    let device_id = probe.device_id.clone().map_err(PdoCreateError::DeviceId)?;
    let active = match force {
        ActivationStatus::ForceActivated => true,
        ActivationStatus::ForceDeactivated => false,
        ActivationStatus::Neutral => registry::read_string(params, ACTIVE_DEVICE_ID)
            .is_ok_and(|active| device_id.matches(&active)),
    };
    if active && force == ActivationStatus::Neutral {
        let stored = registry::read_string(params, ACTIVE_INSTANCE_ID)
            .map_err(PdoCreateError::NoActiveInstanceId)?;
        let instance_id = Id::from_bytes(&stored).map_err(PdoCreateError::BadActiveInstanceId)?;
        let location = registry::read_string(params, ACTIVE_LOCATION_INFORMATION)
            .ok()
            .and_then(|text| Text::from_bytes(&text).ok())
            .or_else(|| probe.location.clone().ok());
        return Ok(DeviceInformation {
            device_id,
            instance_id: Some(instance_id),
            location,
            active,
        });
    }
    Ok(DeviceInformation {
        device_id,
        instance_id: probe.instance_id.clone().ok(),
        location: probe.location.clone().ok(),
        active,
    })
}

/// A child filter (`XENFILT_PDO`).
#[derive(Debug)]
pub struct Pdo {
    pub(crate) id: PdoId,
    pub(crate) fdo: FdoId,
    pub(crate) child: DeviceHandle,
    pub(crate) info: DeviceInformation,
    pub(crate) force: ActivationStatus,
    pub(crate) missing: Option<MissingReason>,
    pub(crate) object: ObjectId,
    pub(crate) dev: DeviceState,
}

impl Pdo {
    /// Its id.
    #[must_use]
    pub const fn id(&self) -> PdoId {
        self.id
    }

    /// The child PDO it sits on.
    #[must_use]
    pub const fn child(&self) -> DeviceHandle {
        self.child
    }

    /// The identity it reports.
    #[must_use]
    pub const fn info(&self) -> &DeviceInformation {
        &self.info
    }

    /// Its force-activation.
    #[must_use]
    pub const fn force_activation(&self) -> ActivationStatus {
        self.force
    }

    /// Why it is missing, if it is.
    #[must_use]
    pub const fn missing(&self) -> Option<MissingReason> {
        self.missing
    }

    /// Its PnP state.
    #[must_use]
    pub const fn state(&self) -> DevicePnpState {
        self.dev.pnp.current()
    }
}

/// A stored string as `IRP_MN_QUERY_ID`/`QUERY_DEVICE_TEXT` returns it: empty is
/// `STATUS_OBJECT_NAME_NOT_FOUND`.
fn replacement(bytes: Option<&[u8]>) -> Completion {
    let bytes = bytes.unwrap_or_default();
    if bytes.is_empty() {
        return Completion::with(STATUS_OBJECT_NAME_NOT_FOUND);
    }
    let mut wide = Vec::with_capacity(bytes.len().saturating_add(1));
    wide.extend(bytes.iter().map(|&b| u16::from(b)));
    wide.push(0);
    Completion {
        effects: Vec::new(),
        status: STATUS_SUCCESS,
        information: Information::Replace(wide),
    }
}

impl Driver {
    /// The child filter `id`.
    #[must_use]
    pub fn pdo(&self, id: PdoId) -> Option<&Pdo> {
        self.fdos
            .iter()
            .flat_map(|f| f.children.iter())
            .find(|p| p.id == id)
    }

    pub(crate) fn pdo_mut(&mut self, id: PdoId) -> Option<&mut Pdo> {
        self.fdos
            .iter_mut()
            .flat_map(|f| f.children.iter_mut())
            .find(|p| p.id == id)
    }

    /// `PdoCreate` after the glue's probe: the new filter's id.
    pub(crate) fn pdo_create<P: Parameters + ?Sized>(
        &mut self,
        fdo: FdoId,
        ty: EmulatedType,
        force: ActivationStatus,
        probe: &ChildProbe,
        params: &P,
    ) -> Result<PdoId, PdoCreateError> {
        probe.attached.map_err(PdoCreateError::NotAttached)?;
        let info = device_information(force, probe, params)?;
        let object = self
            .emulated
            .add_object(
                ty,
                info.device_id.as_bytes(),
                info.instance_id.as_ref().map_or(&[][..], Id::as_bytes),
                probe.compatible_ids.as_ref().ok(),
                force,
            )
            .map_err(PdoCreateError::Emulated)?;
        let id = PdoId(self.take_id());
        let Some(f) = self.fdo_mut(fdo) else {
            self.emulated.remove_object(object);
            return Err(PdoCreateError::NotAttached(STATUS_NO_SUCH_DEVICE));
        };
        f.children.push(Pdo {
            id,
            fdo,
            child: probe.pdo,
            info,
            force,
            missing: None,
            object,
            dev: DeviceState::new(DevicePnpState::Present),
        });
        f.references = f.references.saturating_add(1);
        Ok(id)
    }

    /// `PdoDestroy`: forgets the filter and its EMULATED object, drops its bus filter's
    /// reference.
    pub(crate) fn pdo_destroy(&mut self, id: PdoId, effects: &mut Vec<Effect>) {
        let mut found = None;
        for f in &mut self.fdos {
            if let Some(i) = f.children.iter().position(|p| p.id == id) {
                let pdo = f.children.remove(i);
                found = Some((f.id, pdo.object));
                break;
            }
        }
        let Some((fdo, object)) = found else {
            return;
        };
        self.emulated.remove_object(object);
        effects.push(Effect::DestroyPdo(id));
        self.fdo_release(fdo, effects);
    }

    pub(crate) fn pdo_dispatch(&mut self, id: PdoId, request: Request) -> Step {
        let Some(pdo) = self.pdo_mut(id) else {
            return Step::just(Dispatch::Complete(STATUS_NO_SUCH_DEVICE));
        };
        if let Some(step) = pdo.dev.common(request) {
            return step;
        }
        match request {
            Request::Pnp(Pnp::Start | Pnp::QueryId(_) | Pnp::QueryDeviceText(_)) => {
                Step::just(Dispatch::ForwardAndWait)
            }
            Request::Pnp(Pnp::Remove) => Step {
                effects: pdo.dev.power_down().into_iter().collect(),
                then: Dispatch::ForwardAndWait,
            },
            Request::Pnp(Pnp::Eject) => {
                pdo.missing = Some(MissingReason::Ejected);
                pdo.dev.pnp.set(DevicePnpState::Deleted);
                Step::just(Dispatch::ForwardAndWait)
            }
            Request::Pnp(Pnp::QueryInterface(q))
                if q.status == ntstatus::STATUS_NOT_SUPPORTED
                    && q.guid == GUID_XENFILT_EMULATED_INTERFACE =>
            {
                match get_interface(q.version, q.size) {
                    Ok(version) => Step {
                        effects: alloc::vec![Effect::FillEmulatedInterface(version)],
                        then: Dispatch::PassDownWithStatus(STATUS_SUCCESS),
                    },
                    Err(status) => Step::just(Dispatch::PassDownWithStatus(status)),
                }
            }
            _ => Step::just(Dispatch::PassDown),
        }
    }

    pub(crate) fn pdo_completed(
        &mut self,
        id: PdoId,
        request: Request,
        status: NtStatus,
    ) -> Completion {
        let Some(pdo) = self.pdo_mut(id) else {
            return Completion::with(status);
        };
        match request {
            Request::Pnp(Pnp::Start) => {
                if !nt_success(status) {
                    return Completion::with(status);
                }
                let mut c = Completion::with(STATUS_SUCCESS);
                c.effects = pdo.dev.started();
                c
            }
            Request::Pnp(Pnp::QueryId(ty)) if nt_success(status) => match ty {
                BusQueryIdType::DeviceId => replacement(Some(pdo.info.device_id.as_bytes())),
                BusQueryIdType::InstanceId => {
                    replacement(pdo.info.instance_id.as_ref().map(Id::as_bytes))
                }
                _ => Completion::with(STATUS_SUCCESS),
            },
            Request::Pnp(Pnp::QueryDeviceText(DeviceTextType::LocationInformation))
                if nt_success(status) =>
            {
                replacement(pdo.info.location.as_ref().map(Text::as_bytes))
            }
            Request::Pnp(Pnp::QueryDeviceText(_)) if nt_success(status) => {
                Completion::with(STATUS_SUCCESS)
            }
            Request::Pnp(Pnp::Remove) => {
                let mut c = Completion::with(status);
                if pdo.missing.is_some() {
                    let was = pdo.dev.pnp.current();
                    pdo.dev.pnp.set(DevicePnpState::Deleted);
                    let fdo = pdo.fdo;
                    c.effects.push(Effect::ReleaseRemoveLockAndWait);
                    if was == DevicePnpState::SurpriseRemovePending {
                        self.pdo_destroy(id, &mut c.effects);
                    } else {
                        c.effects.push(Effect::InvalidateBusRelations(fdo));
                    }
                } else {
                    pdo.dev.pnp.set(DevicePnpState::Enumerated);
                }
                c
            }
            Request::Pnp(Pnp::Eject) => {
                let mut c = Completion::with(status);
                self.pdo_destroy(id, &mut c.effects);
                c
            }
            _ => Completion::with(status),
        }
    }
}
