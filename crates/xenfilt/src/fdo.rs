// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The bus filter ("FDO"): attached by `AddDevice` above a filtered bus's PDO (the PCI root
//! bus, an IDE channel), it intercepts the bus's child list.
//!
//! Upstream (`src/xenfilt/fdo.c`):
//!
//! * `START_DEVICE`: forwarded and waited for; on success D0 and `Started`; completed with the
//!   lower status.
//! * The stop/remove queries, their cancellations, stop and surprise removal: state only,
//!   status `SUCCESS`, passed down ([`crate::pnp::DeviceState::common`]).
//! * `REMOVE_DEVICE`: if the bus had been started (the **previous** state is `Started`), every
//!   child filter is marked missing ("FDO removed"), deleted and destroyed, and the filter goes
//!   to D3; then `Deleted`, forwarded and waited for, the remove lock released and waited on,
//!   and the filter destroyed once its last reference (its own, one per child) is gone.
//! * `QUERY_DEVICE_RELATIONS` for `BusRelations` (`FdoQueryDeviceRelations`, `FdoEnumerate`):
//!   forwarded and waited for. A non-empty lower list is enumerated: a tracked child whose PDO
//!   is not in it is missing ("device disappeared"), destroyed at once if PnP never saw it;
//!   the new PDOs' precedences are read and the winner force-activated
//!   ([`crate::driver::Driver::force_activation`]); a child filter is created on each new PDO
//!   ([`crate::pdo`]; one that fails is dropped); the bus counts as enumerated and the filter
//!   state advances ([`crate::driver`]). Then the reply replaces the lower list: in state
//!   `DISABLED` every child that is not missing (its state `Present` becoming `Enumerated`),
//!   missing deleted ones being destroyed on the way; in any other state an **empty** list,
//!   and the bus's relations are invalidated so PnP asks again.
//! * Power and everything else: as [`crate::pnp::DeviceState::common`].
//!
//! # Where we differ
//!
//! * A PDO listed twice by the lower driver gets one child filter (upstream would attach two).
//! * A tracked PDO that is missing or deleted but listed again is not "new": it keeps its
//!   (missing) filter until PnP removes it, then a later enumeration filters it afresh
//!   (upstream would attach a second filter on top of the first).
//! * A lower driver that succeeds without a list counts as an empty list (upstream reads
//!   through the NULL pointer).

use alloc::vec::Vec;

use ntstatus::{NtStatus, STATUS_NO_SUCH_DEVICE, nt_success};

use crate::driver::Driver;
use crate::emulated::EmulatedType;
use crate::id::{Id, IdList};
use crate::pdo::{ChildProbe, MissingReason, Pdo, PdoCreateError, PdoId};
use crate::pnp::{
    Completion, DeviceHandle, DevicePnpState, DeviceState, Dispatch, Effect, Pnp, RelationType,
    Request, Step,
};
use crate::registry::{
    ACTIVE_DEVICE_ID, ACTIVE_INSTANCE_ID, ACTIVE_LOCATION_INFORMATION, Parameters, Snapshot,
};

/// A bus filter's identity in the core (kept in the glue's device extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FdoId(pub(crate) u64);

/// A bus filter (`XENFILT_FDO`).
#[derive(Debug)]
pub struct Fdo {
    pub(crate) id: FdoId,
    pub(crate) bus: DeviceHandle,
    pub(crate) ty: EmulatedType,
    pub(crate) name: Vec<u8>,
    pub(crate) dev: DeviceState,
    pub(crate) enumerated: bool,
    pub(crate) references: u32,
    pub(crate) children: Vec<Pdo>,
}

impl Fdo {
    /// The bus PDO it is attached to.
    #[must_use]
    pub const fn bus(&self) -> DeviceHandle {
        self.bus
    }

    /// What its bus carries.
    #[must_use]
    pub const fn ty(&self) -> EmulatedType {
        self.ty
    }

    /// `DeviceID\InstanceID` of the bus, for log lines.
    #[must_use]
    pub fn name(&self) -> &[u8] {
        &self.name
    }

    /// Its PnP state.
    #[must_use]
    pub const fn state(&self) -> DevicePnpState {
        self.dev.pnp.current()
    }

    /// Whether it has enumerated a non-empty child list.
    #[must_use]
    pub const fn has_enumerated(&self) -> bool {
        self.enumerated
    }

    /// Its child filters, in creation order.
    #[must_use]
    pub fn children(&self) -> &[Pdo] {
        &self.children
    }
}

/// The reply to `BusRelations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelationsReply {
    /// Complete with this status (the lower driver failed, or the filter is gone).
    Failed(NtStatus),
    /// Complete with `SUCCESS` and a new list of these PDOs, each referenced (the lower
    /// list's references are all dropped).
    Children(Vec<DeviceHandle>),
    /// Complete with `SUCCESS` and an empty list; then invalidate the bus relations.
    Hidden,
}

/// What a `BusRelations` query did (`FdoQueryDeviceRelations`), for the glue to apply in
/// order: filters to keep and delete, the unplug, the reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusRelations {
    /// New child filters kept, with the child PDO each sits on.
    pub created: Vec<(DeviceHandle, PdoId)>,
    /// New PDOs whose filter (if the glue made one) is detached and deleted, and why.
    pub rejected: Vec<(DeviceHandle, PdoCreateError)>,
    /// Existing child filters to detach and delete now.
    pub destroyed: Vec<PdoId>,
    /// Call `UnplugDevices()` before completing (the filter state just became `PENDING`).
    pub unplug: bool,
    /// The reply.
    pub reply: RelationsReply,
}

impl Driver {
    /// `FdoCreate`, after the glue created and attached the bus filter on `bus` and queried the
    /// bus's IDs: the filter's id.
    ///
    /// # Errors
    /// The status of a failed device or instance ID query (upstream's `AddDevice` then fails).
    /// Malformed IDs only spoil the filter's name.
    pub fn add_fdo(
        &mut self,
        bus: DeviceHandle,
        ty: EmulatedType,
        device_id: Result<Id, crate::pdo::ProbeError>,
        instance_id: Result<Id, crate::pdo::ProbeError>,
    ) -> Result<FdoId, NtStatus> {
        let known = |r: Result<Id, crate::pdo::ProbeError>| match r {
            Ok(id) => Ok(Some(id)),
            Err(crate::pdo::ProbeError::Status(status)) => Err(status),
            Err(crate::pdo::ProbeError::Malformed(_)) => Ok(None),
        };
        let device_id = known(device_id)?;
        let instance_id = known(instance_id)?;
        let mut name = Vec::new();
        name.extend_from_slice(device_id.as_ref().map_or(b"?".as_slice(), Id::as_bytes));
        name.push(b'\\');
        name.extend_from_slice(instance_id.as_ref().map_or(b"?".as_slice(), Id::as_bytes));
        let id = FdoId(self.take_id());
        self.fdos.push(Fdo {
            id,
            bus,
            ty,
            name,
            dev: DeviceState::new(DevicePnpState::Added),
            enumerated: false,
            references: 1,
            children: Vec::new(),
        });
        Ok(id)
    }

    /// The bus filter `id`.
    #[must_use]
    pub fn fdo(&self, id: FdoId) -> Option<&Fdo> {
        self.fdos.iter().find(|f| f.id == id)
    }

    pub(crate) fn fdo_mut(&mut self, id: FdoId) -> Option<&mut Fdo> {
        self.fdos.iter_mut().find(|f| f.id == id)
    }

    /// Every bus filter, in creation order.
    #[must_use]
    pub fn fdos(&self) -> &[Fdo] {
        &self.fdos
    }

    /// Drops one reference of `fdo`; at zero the filter goes (`FdoDestroy`).
    pub(crate) fn fdo_release(&mut self, fdo: FdoId, effects: &mut Vec<Effect>) {
        let Some(f) = self.fdo_mut(fdo) else {
            return;
        };
        f.references = f.references.saturating_sub(1);
        if f.references == 0 {
            self.fdos.retain(|f| f.id != fdo);
            effects.push(Effect::DestroyFdo(fdo));
        }
    }

    pub(crate) fn fdo_dispatch(&mut self, id: FdoId, request: Request) -> Step {
        let mut destroy = Vec::new();
        let Some(fdo) = self.fdo_mut(id) else {
            return Step::just(Dispatch::Complete(STATUS_NO_SUCH_DEVICE));
        };
        if let Some(step) = fdo.dev.common(request) {
            return step;
        }
        match request {
            Request::Pnp(Pnp::Start | Pnp::QueryDeviceRelations(_)) => {
                Step::just(Dispatch::ForwardAndWait)
            }
            Request::Pnp(Pnp::Remove) => {
                let mut effects = Vec::new();
                if fdo.dev.pnp.previous() == DevicePnpState::Started {
                    for child in &mut fdo.children {
                        if child.missing.is_none() {
                            child.missing = Some(MissingReason::FdoRemoved);
                        }
                        child.dev.pnp.set(DevicePnpState::Deleted);
                        destroy.push(child.id);
                    }
                }
                let started = fdo.dev.pnp.previous() == DevicePnpState::Started;
                let power = if started { fdo.dev.power_down() } else { None };
                fdo.dev.pnp.set(DevicePnpState::Deleted);
                for child in destroy {
                    self.pdo_destroy(child, &mut effects);
                }
                effects.extend(power);
                Step {
                    effects,
                    then: Dispatch::ForwardAndWait,
                }
            }
            _ => Step::just(Dispatch::PassDown),
        }
    }

    pub(crate) fn fdo_completed(
        &mut self,
        id: FdoId,
        request: Request,
        status: NtStatus,
    ) -> Completion {
        match request {
            Request::Pnp(Pnp::Start) => {
                let mut c = Completion::with(status);
                if nt_success(status)
                    && let Some(fdo) = self.fdo_mut(id)
                {
                    c.effects = fdo.dev.started();
                }
                c
            }
            Request::Pnp(Pnp::Remove) => {
                let mut c = Completion::with(status);
                c.effects.push(Effect::ReleaseRemoveLockAndWait);
                self.fdo_release(id, &mut c.effects);
                c
            }
            // Other relation types (and, by mistake, bus relations) keep the lower result.
            _ => Completion::with(status),
        }
    }

    /// The lower driver's PDOs in `reported` that have no child filter yet (each once, in
    /// order): the glue creates and attaches a filter on each and probes it ([`ChildProbe`])
    /// before calling [`Driver::bus_relations`].
    #[must_use]
    pub fn new_children(&self, fdo: FdoId, reported: &[DeviceHandle]) -> Vec<DeviceHandle> {
        let Some(f) = self.fdo(fdo) else {
            return Vec::new();
        };
        let mut new: Vec<DeviceHandle> = Vec::new();
        for &pdo in reported {
            if !f.children.iter().any(|c| c.child == pdo) && !new.contains(&pdo) {
                new.push(pdo);
            }
        }
        new
    }

    /// Every registry value [`Driver::bus_relations`] may read for these `probes`, read now
    /// (the glue calls this at `PASSIVE_LEVEL`, then decides under its spin lock with the
    /// snapshot): `ActiveDeviceID`, `ActiveInstanceID`, `ActiveLocationInformation`, and the
    /// precedence of every compatible ID of every probed child.
    pub fn bus_relations_parameters<P: Parameters + ?Sized>(
        probes: &[ChildProbe],
        params: &P,
    ) -> Snapshot {
        let compatible = probes
            .iter()
            .filter_map(|p| p.compatible_ids.as_ref().ok())
            .flat_map(IdList::ids)
            .map(Id::as_bytes);
        Snapshot::read(
            params,
            [
                ACTIVE_DEVICE_ID,
                ACTIVE_INSTANCE_ID,
                ACTIVE_LOCATION_INFORMATION,
            ],
            compatible,
        )
    }

    /// `FdoQueryDeviceRelations` for `BusRelations`, once the lower driver answered: `lower` is
    /// its status or list; `probes` hold what the glue learnt of each PDO
    /// [`Driver::new_children`] named.
    pub fn bus_relations<P: Parameters + ?Sized>(
        &mut self,
        fdo: FdoId,
        lower: Result<&[DeviceHandle], NtStatus>,
        probes: &[ChildProbe],
        params: &P,
    ) -> BusRelations {
        let mut out = BusRelations {
            created: Vec::new(),
            rejected: Vec::new(),
            destroyed: Vec::new(),
            unplug: false,
            reply: RelationsReply::Hidden,
        };
        // A deleted filter answers nothing (the glue's dispatch already completed the IRP);
        // so its own reference is held here and no child destroyed below can free it.
        if self
            .fdo(fdo)
            .is_none_or(|f| f.dev.pnp.current() == DevicePnpState::Deleted)
        {
            out.reply = RelationsReply::Failed(STATUS_NO_SUCH_DEVICE);
            return out;
        }
        let reported = match lower {
            Ok(list) => list,
            Err(status) => {
                out.reply = RelationsReply::Failed(status);
                return out;
            }
        };
        if !reported.is_empty() {
            self.enumerate(fdo, reported, probes, params, &mut out);
        }
        let mut effects = Vec::new();
        let disabled = self.state == crate::driver::FilterState::Disabled;
        if disabled {
            let mut children = Vec::new();
            let mut gone = Vec::new();
            if let Some(f) = self.fdo_mut(fdo) {
                for child in &mut f.children {
                    if child.missing.is_some() {
                        if child.dev.pnp.current() == DevicePnpState::Deleted {
                            gone.push(child.id);
                        }
                        continue;
                    }
                    if child.dev.pnp.current() == DevicePnpState::Present {
                        child.dev.pnp.set(DevicePnpState::Enumerated);
                    }
                    children.push(child.child);
                }
            }
            for id in gone {
                self.pdo_destroy(id, &mut effects);
            }
            out.reply = RelationsReply::Children(children);
        }
        for e in effects {
            if let Effect::DestroyPdo(id) = e {
                out.destroyed.push(id);
            }
        }
        out
    }

    /// `FdoEnumerate` over a non-empty lower list.
    fn enumerate<P: Parameters + ?Sized>(
        &mut self,
        fdo: FdoId,
        reported: &[DeviceHandle],
        probes: &[ChildProbe],
        params: &P,
        out: &mut BusRelations,
    ) {
        let new = self.new_children(fdo, reported);
        // Tracked children the bus no longer reports.
        let mut gone = Vec::new();
        let mut ty = EmulatedType::Pci;
        if let Some(f) = self.fdo_mut(fdo) {
            ty = f.ty;
            for child in &mut f.children {
                if child.missing.is_some()
                    || child.dev.pnp.current() == DevicePnpState::Deleted
                    || reported.contains(&child.child)
                {
                    continue;
                }
                child.missing = Some(MissingReason::Disappeared);
                if child.dev.pnp.current() == DevicePnpState::Present {
                    child.dev.pnp.set(DevicePnpState::Deleted);
                    gone.push(child.id);
                }
            }
        }
        let mut effects = Vec::new();
        for id in gone {
            self.pdo_destroy(id, &mut effects);
        }
        out.destroyed.extend(effects.iter().filter_map(|e| match e {
            Effect::DestroyPdo(id) => Some(*id),
            _ => None,
        }));
        // Precedence over the new PDOs, then a child filter on each.
        let find = |pdo: DeviceHandle| probes.iter().find(|p| p.pdo == pdo);
        let precedences: Vec<u32> = new
            .iter()
            .map(|&pdo| {
                crate::driver::precedence(
                    find(pdo).and_then(|p| p.compatible_ids.as_ref().ok()),
                    params,
                )
            })
            .collect();
        let forces = Self::force_activation(&precedences);
        for (&pdo, force) in new.iter().zip(forces) {
            let result = find(pdo).map_or(Err(PdoCreateError::NotProbed), |probe| {
                self.pdo_create(fdo, ty, force, probe, params)
            });
            match result {
                Ok(id) => out.created.push((pdo, id)),
                Err(e) => out.rejected.push((pdo, e)),
            }
        }
        if let Some(f) = self.fdo_mut(fdo) {
            f.enumerated = true;
        }
        if self.set_filter_state(params).is_some() {
            out.unplug = true;
        }
    }

    /// Whether `fdo`'s relations should be invalidated after [`RelationsReply::Hidden`].
    #[must_use]
    pub const fn needs_invalidation(reply: &RelationsReply) -> bool {
        matches!(reply, RelationsReply::Hidden)
    }

    /// Whether this request is a `BusRelations` query (handled by [`Driver::bus_relations`]).
    #[must_use]
    pub const fn is_bus_relations(request: Request) -> bool {
        matches!(
            request,
            Request::Pnp(Pnp::QueryDeviceRelations(RelationType::Bus))
        )
    }
}
