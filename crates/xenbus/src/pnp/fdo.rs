// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The FDO on the Xen platform device and the bus of PDOs it owns: the class scan's changes,
//! bus relations, the FDO's Plug and Play IRPs and every PDO's, as typed requests in and
//! effects out.
//!
//! The glue keeps one [`Fdo`] per device object behind the FDO's mutex, calls the method for
//! the IRP it decoded, applies the returned [`Effect`]s in order (after releasing the mutex)
//! and completes or forwards the IRP as the reply says.
//!
//! Where this differs from the C package on purpose:
//! - `IRP_MN_REMOVE_DEVICE` after a stop (the FDO was not started just before) still marks,
//!   deletes and destroys the PDOs and drops their references. The C package skips them there,
//!   so neither the PDOs nor the FDO (which lives until its last PDO goes) are ever freed.
//! - Threads and interrupts are torn down only if a start brought them up, so a stop or
//!   removal the PnP manager sends in an unexpected order never joins a thread that does not
//!   exist.
//! - `IRP_MN_DEVICE_USAGE_NOTIFICATION` with a usage type beyond `DeviceUsageTypeDumpFile` is
//!   forwarded without being counted (the C package indexes its counter array with it).

use alloc::string::String;
use alloc::vec::Vec;

use ntstatus::{
    NtStatus, STATUS_INVALID_BUFFER_SIZE, STATUS_NOT_SUPPORTED, STATUS_SUCCESS, STATUS_UNSUCCESSFUL,
};

use super::pdo::{MissingReason, Pdo, PdoCompletion, PdoId, PdoInfo, PdoRequest, PdoSettings};
use super::state::{DevicePnpState, DevicePower, PnpState, SystemPower, deleted_device_answer};
use crate::pdo_identity::{self, Bus, IdentityError};

/// Side effects the glue performs, in the order given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// `PdoD3ToD0`: acquire the PDO's SUSPEND, set D0 (`PoSetPowerState`), register its LATE
    /// suspend callback.
    PowerUpPdo(PdoId),
    /// `PdoD0ToD3`: deregister the callback, set D3, release SUSPEND.
    PowerDownPdo(PdoId),
    /// Unlink and delete the PDO's device object (wakes the scan thread).
    DestroyPdo(PdoId),
    /// `IoInvalidateDeviceRelations(BusRelations)` on the FDO's PDO.
    InvalidateBusRelations,
    /// `IoInvalidateDeviceState` on the FDO's PDO.
    InvalidateDeviceState,
    /// `FdoD0ToD3`.
    PowerDownFdo,
    /// Alert and join the balloon (if enabled), suspend and scan threads.
    StopThreads,
    /// Disconnect every interrupt the start connected.
    DisconnectInterrupts,
    /// Free the copies of the raw and translated resource lists.
    FreeResources,
    /// Release the lower stack's `BUS_INTERFACE_STANDARD` (before the PCI PDO goes).
    ReleaseLowerBusInterface,
    /// Delete the FDO: its last reference is gone.
    DestroyFdo,
}

/// How an FDO's IRP ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FdoCompletion {
    /// Set `IoStatus.Status` to this status and pass the IRP down (skip the stack location).
    PassDown(NtStatus),
    /// Pass the IRP down as it is.
    PassDownUnchanged,
    /// Complete the IRP here with this status (a veto).
    Complete(NtStatus),
}

/// A decision: effects to apply before the completion, the completion, and effects after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply<C> {
    /// Applied first, in order.
    pub before: Vec<Effect>,
    /// How the IRP ends.
    pub completion: C,
    /// Applied once the IRP has been passed down or completed.
    pub after: Vec<Effect>,
}

impl<C> Reply<C> {
    const fn new(completion: C) -> Self {
        Self {
            before: Vec::new(),
            completion,
            after: Vec::new(),
        }
    }
}

/// A request naming a PDO that is not on this bus (a glue bug, or a stale device object).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UnknownPdo(pub PdoId);

/// What a pass of the class scan changes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScanPlan {
    /// PDOs to destroy now (never reported, and their class went away).
    pub destroy: Vec<Effect>,
    /// Classes to create PDOs for, in order; the glue calls [`Fdo::add_pdo`] for each device
    /// object it manages to create, and invalidates bus relations if any was.
    pub create: Vec<String>,
    /// Whether bus relations must be invalidated regardless of creations (a reported PDO went
    /// missing).
    pub invalidate: bool,
}

/// What a start brought up, and a stop or removal must take down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Held {
    /// Nothing (not started, or already torn down).
    Nothing,
    /// Copies of the resource lists (an inactive FDO).
    Resources,
    /// The resource lists, the connected interrupts and the scan, suspend and balloon threads
    /// (the active FDO).
    ResourcesAndThreads,
}

/// The usage types the FDO counts (`DeviceUsageTypeUndefined` ..= `DeviceUsageTypeDumpFile`).
const USAGE_TYPES: usize = 4;

/// The FDO of one Xen platform device and its bus.
#[derive(Clone, Debug)]
pub struct Fdo {
    bus: Bus,
    active: bool,
    state: PnpState,
    power: DevicePower,
    system_power: SystemPower,
    held: Held,
    pdos: Vec<Pdo>,
    next_serial: u64,
    references: u32,
    usage: [u32; USAGE_TYPES],
    not_disableable: bool,
    lower_device_states: Option<[u32; 7]>,
}

impl Fdo {
    /// The FDO as `AddDevice` leaves it: `Added`, D3, one reference (Plug and Play's).
    #[must_use]
    pub const fn new(bus: Bus, active: bool) -> Self {
        Self {
            bus,
            active,
            state: PnpState::new(DevicePnpState::Added),
            power: DevicePower::D3,
            system_power: SystemPower::WORKING,
            held: Held::Nothing,
            pdos: Vec::new(),
            next_serial: 1,
            references: 1,
            usage: [0; USAGE_TYPES],
            not_disableable: false,
            lower_device_states: None,
        }
    }

    /// The bus identity PDOs report.
    #[must_use]
    pub const fn bus(&self) -> &Bus {
        &self.bus
    }

    /// Whether this FDO is the active one (owns the subsystems and threads).
    #[must_use]
    pub const fn is_active(&self) -> bool {
        self.active
    }

    /// The FDO's Plug and Play state.
    #[must_use]
    pub const fn state(&self) -> DevicePnpState {
        self.state.current()
    }

    /// The FDO's device power state.
    #[must_use]
    pub const fn power(&self) -> DevicePower {
        self.power
    }

    pub(super) const fn set_power(&mut self, power: DevicePower) {
        self.power = power;
    }

    /// The system power state the FDO last moved to.
    #[must_use]
    pub const fn system_power(&self) -> SystemPower {
        self.system_power
    }

    pub(super) const fn set_system_power(&mut self, state: SystemPower) {
        self.system_power = state;
    }

    /// References held on the FDO (Plug and Play's until removal, plus one per PDO).
    #[must_use]
    pub const fn references(&self) -> u32 {
        self.references
    }

    /// Whether the FDO must not be disabled (paging, hibernation or dump file on the stack).
    #[must_use]
    pub const fn not_disableable(&self) -> bool {
        self.not_disableable
    }

    /// The PDOs in creation order.
    #[must_use]
    pub fn pdos(&self) -> &[Pdo] {
        &self.pdos
    }

    /// The PDO with this handle.
    #[must_use]
    pub fn pdo(&self, id: PdoId) -> Option<&Pdo> {
        self.pdos.iter().find(|pdo| pdo.id == id)
    }

    fn pdo_mut(&mut self, id: PdoId) -> Result<&mut Pdo, UnknownPdo> {
        self.pdos
            .iter_mut()
            .find(|pdo| pdo.id == id)
            .ok_or(UnknownPdo(id))
    }

    /// The device state the lower stack maps `system` to, as captured at
    /// `IRP_MN_QUERY_CAPABILITIES` (`None` before the capabilities were seen, or for a state
    /// outside the table).
    #[must_use]
    pub fn lower_device_state(&self, system: SystemPower) -> Option<u32> {
        let table = self.lower_device_states?;
        let index = usize::try_from(system.raw()).ok()?;
        table.get(index).copied()
    }

    // ---------------------------------------------------------------------------------------
    // The class scan and bus relations.

    /// Adds a PDO for `class` whose device object the glue has created; it starts `Present`
    /// and holds a reference on the FDO.
    pub fn add_pdo(&mut self, class: String, settings: PdoSettings) -> PdoId {
        let id = self.allocate_id();
        self.insert_pdo(id, class, settings);
        id
    }

    /// A handle for a PDO about to be created (the glue names its device object after it);
    /// a handle never inserted is simply never used.
    pub const fn allocate_id(&mut self) -> PdoId {
        let id = PdoId::new(self.next_serial);
        self.next_serial = self.next_serial.wrapping_add(1);
        id
    }

    /// Adds the PDO `id` (from [`Fdo::allocate_id`]) for `class`; see [`Fdo::add_pdo`]. An id
    /// already on the bus is not added twice.
    pub fn insert_pdo(&mut self, id: PdoId, class: String, settings: PdoSettings) {
        if self.pdo(id).is_some() {
            return;
        }
        self.references = self.references.saturating_add(1);
        self.pdos.push(Pdo::new(id, class, settings));
    }

    /// One pass of the scan with the classes `pdo_identity::select_classes` kept.
    /// `enumerate` is the `Enumerate` registry value's verdict (missing means yes).
    ///
    /// Only a started FDO scans. A PDO whose class is no longer listed goes missing: if it was
    /// never reported it is deleted and destroyed now, otherwise the PnP manager is told and
    /// removes it. Each listed class without a live PDO gets one.
    pub fn enumerate(&mut self, classes: &[String], enumerate: bool) -> ScanPlan {
        let mut plan = ScanPlan::default();
        if !enumerate || self.state() != DevicePnpState::Started {
            return plan;
        }
        // A class listed twice still gets one PDO (the C package would make two with the same
        // instance path; `select_classes` never lists one twice, this holds for any caller).
        let mut wanted: Vec<Option<&String>> = Vec::new();
        for class in classes {
            if !wanted.iter().flatten().any(|seen| *seen == class) {
                wanted.push(Some(class));
            }
        }
        let mut gone = Vec::new();
        for pdo in &mut self.pdos {
            if pdo.missing.is_some() || pdo.state() == DevicePnpState::Deleted {
                continue;
            }
            let listed = wanted
                .iter_mut()
                .find(|class| class.is_some_and(|name| *name == pdo.name));
            if let Some(slot) = listed {
                *slot = None;
                continue;
            }
            pdo.set_missing(MissingReason::DeviceDisappeared);
            if pdo.state() == DevicePnpState::Present {
                pdo.state.set(DevicePnpState::Deleted);
                gone.push(pdo.id);
            } else {
                plan.invalidate = true;
            }
        }
        for id in gone {
            self.destroy_pdo(id, &mut plan.destroy);
        }
        plan.create = wanted.into_iter().flatten().cloned().collect();
        plan
    }

    /// `IRP_MN_QUERY_DEVICE_RELATIONS` for `BusRelations`, after the scan has run: every PDO
    /// that is not missing, in creation order (the glue references each). Reported PDOs move
    /// from `Present` to `Enumerated`.
    pub fn bus_relations(&mut self) -> Vec<PdoId> {
        let mut listed = Vec::new();
        for pdo in &mut self.pdos {
            if pdo.missing.is_some() {
                continue;
            }
            if pdo.state() == DevicePnpState::Present {
                pdo.state.set(DevicePnpState::Enumerated);
            }
            listed.push(pdo.id);
        }
        listed
    }

    /// After the bus relations went up the stack successfully: destroys every PDO that is
    /// deleted and missing (removed by the PnP manager, or ejected).
    pub fn reap(&mut self) -> Vec<Effect> {
        let dead: Vec<PdoId> = self
            .pdos
            .iter()
            .filter(|pdo| pdo.state() == DevicePnpState::Deleted && pdo.missing.is_some())
            .map(Pdo::id)
            .collect();
        let mut effects = Vec::new();
        for id in dead {
            self.destroy_pdo(id, &mut effects);
        }
        effects
    }

    fn destroy_pdo(&mut self, id: PdoId, effects: &mut Vec<Effect>) {
        let before = self.pdos.len();
        self.pdos.retain(|pdo| pdo.id != id);
        if self.pdos.len() == before {
            return;
        }
        effects.push(Effect::DestroyPdo(id));
        self.drop_reference(effects);
    }

    fn drop_reference(&mut self, effects: &mut Vec<Effect>) {
        self.references = self.references.saturating_sub(1);
        if self.references == 0 {
            effects.push(Effect::DestroyFdo);
        }
    }

    // ---------------------------------------------------------------------------------------
    // The FDO's own Plug and Play IRPs.

    /// A START that went through (lower stack started, and for the active FDO interrupts
    /// connected, threads created, D0 reached). Returns whether to wake the scan thread.
    pub const fn start_succeeded(&mut self) -> bool {
        self.state.set(DevicePnpState::Started);
        self.power = DevicePower::D0;
        self.held = if self.active {
            Held::ResourcesAndThreads
        } else {
            Held::Resources
        };
        self.active
    }

    /// `IRP_MN_QUERY_STOP_DEVICE` (and, with `remove`, `IRP_MN_QUERY_REMOVE_DEVICE`).
    /// `balloon_size` is the balloon's size in pages when the balloon is enabled: a non-empty
    /// balloon vetoes, since its pages cannot be handed back without the FDO.
    ///
    /// `held_by_children` names an interface a child still holds that runs on the FDO's
    /// resources (interrupts, memory): a stop (a resource rebalance; the PnP manager stops the
    /// FDO and not its children) would take them away under it, so this build vetoes the
    /// query. Upstream lets it through and its checked build then asserts on the interrupt
    /// still in use (`FdoDestroyInterrupt`). A removal is not vetoed for it: the PnP manager
    /// removes the children, which release their interfaces, before the FDO.
    pub fn query_stop_or_remove(
        &mut self,
        remove: bool,
        balloon_size: Option<u64>,
        held_by_children: Option<&str>,
    ) -> FdoCompletion {
        if balloon_size.is_some_and(|pages| pages != 0) {
            return FdoCompletion::Complete(STATUS_UNSUCCESSFUL);
        }
        if !remove && held_by_children.is_some() {
            return FdoCompletion::Complete(STATUS_UNSUCCESSFUL);
        }
        self.state.set(if remove {
            DevicePnpState::RemovePending
        } else {
            DevicePnpState::StopPending
        });
        FdoCompletion::PassDown(STATUS_SUCCESS)
    }

    /// `IRP_MN_CANCEL_STOP_DEVICE` (and, with `remove`, `IRP_MN_CANCEL_REMOVE_DEVICE`).
    pub fn cancel_stop_or_remove(&mut self, remove: bool) -> FdoCompletion {
        self.state.restore(if remove {
            DevicePnpState::RemovePending
        } else {
            DevicePnpState::StopPending
        });
        FdoCompletion::PassDown(STATUS_SUCCESS)
    }

    fn tear_down(&mut self, effects: &mut Vec<Effect>) {
        if self.power == DevicePower::D0 {
            self.power = DevicePower::D3;
            effects.push(Effect::PowerDownFdo);
        }
        if self.held == Held::ResourcesAndThreads {
            effects.push(Effect::StopThreads);
            effects.push(Effect::DisconnectInterrupts);
        }
        if self.held != Held::Nothing {
            effects.push(Effect::FreeResources);
        }
        self.held = Held::Nothing;
    }

    /// `IRP_MN_STOP_DEVICE`.
    pub fn stop(&mut self) -> Reply<FdoCompletion> {
        let mut reply = Reply::new(FdoCompletion::PassDown(STATUS_SUCCESS));
        self.tear_down(&mut reply.before);
        self.state.set(DevicePnpState::Stopped);
        reply
    }

    /// `IRP_MN_SURPRISE_REMOVAL`: every PDO goes missing; the PnP manager removes them.
    pub fn surprise_removal(&mut self) -> FdoCompletion {
        self.state.set(DevicePnpState::SurpriseRemovePending);
        for pdo in &mut self.pdos {
            pdo.set_missing(MissingReason::FdoSurpriseRemoved);
        }
        FdoCompletion::PassDown(STATUS_SUCCESS)
    }

    /// Before [`Fdo::remove`]: whether the glue must first wake the scan thread and wait for
    /// its pass to end (an active FDO that was started), so no PDO is created behind the
    /// removal.
    #[must_use]
    pub const fn remove_waits_for_scan(&self) -> bool {
        matches!(self.held, Held::ResourcesAndThreads)
    }

    /// `IRP_MN_REMOVE_DEVICE`: PDOs go missing; those not surprise-removed are deleted and
    /// destroyed (a surprise-removed one waits for its own removal); the FDO leaves D0, stops
    /// its threads and frees its resources, releases the lower bus interface, passes the IRP
    /// down and drops Plug and Play's reference.
    pub fn remove(&mut self) -> Reply<FdoCompletion> {
        let mut reply = Reply::new(FdoCompletion::PassDown(STATUS_SUCCESS));
        let mut dead = Vec::new();
        for pdo in &mut self.pdos {
            pdo.set_missing(MissingReason::FdoRemoved);
            if pdo.state() != DevicePnpState::SurpriseRemovePending {
                pdo.state.set(DevicePnpState::Deleted);
            }
            if pdo.state() == DevicePnpState::Deleted {
                dead.push(pdo.id);
            }
        }
        for id in dead {
            self.destroy_pdo(id, &mut reply.before);
        }
        self.tear_down(&mut reply.before);
        self.state.set(DevicePnpState::Deleted);
        reply.before.push(Effect::ReleaseLowerBusInterface);
        if self.state.previous() != DevicePnpState::Deleted {
            self.drop_reference(&mut reply.after);
        }
        reply
    }

    /// `IRP_MN_QUERY_CAPABILITIES` once the lower stack answered: the S-to-D mapping is kept
    /// for power IRPs. The glue then clears `Removable` (the platform device never goes away).
    pub const fn record_lower_capabilities(&mut self, device_states: [u32; 7]) {
        self.lower_device_states = Some(device_states);
    }

    /// `IRP_MN_DEVICE_USAGE_NOTIFICATION` before it is forwarded: counts the usage. Returns
    /// the effects to apply after the lower stack answered `status`.
    pub fn usage_notification(
        &mut self,
        usage_type: i32,
        in_path: bool,
        status: NtStatus,
    ) -> Vec<Effect> {
        if let Some(count) = usize::try_from(usage_type)
            .ok()
            .and_then(|index| self.usage.get_mut(index))
        {
            *count = if in_path {
                count.saturating_add(1)
            } else {
                count.saturating_sub(1)
            };
        }
        let mut effects = Vec::new();
        if !ntstatus::nt_success(status) {
            return effects;
        }
        let not_disableable = self.usage.iter().any(|count| *count != 0);
        if not_disableable != self.not_disableable {
            self.not_disableable = not_disableable;
            effects.push(Effect::InvalidateDeviceState);
        }
        effects
    }

    /// `IRP_MN_QUERY_PNP_DEVICE_STATE` on its way down: given the IRP's status and
    /// information, the new information and status to set, or `None` to pass it down as is
    /// (an upper driver failed it).
    #[must_use]
    pub const fn pnp_device_state(&self, status: NtStatus, information: usize) -> Option<usize> {
        let state = match status {
            STATUS_SUCCESS => information,
            STATUS_NOT_SUPPORTED => 0,
            _ => return None,
        };
        if self.not_disableable {
            Some(state | NOT_DISABLEABLE)
        } else {
            Some(state)
        }
    }

    // ---------------------------------------------------------------------------------------
    // A PDO's Plug and Play and power IRPs.

    /// Decides a PDO's Plug and Play IRP.
    ///
    /// # Errors
    /// [`UnknownPdo`] if `id` is not on this bus.
    pub fn pdo_pnp(
        &mut self,
        id: PdoId,
        request: PdoRequest,
    ) -> Result<Reply<PdoCompletion>, UnknownPdo> {
        let bus = self.bus.clone();
        let pdo = self.pdo_mut(id)?;
        let removal = matches!(request, PdoRequest::SurpriseRemoval | PdoRequest::Remove);
        if let Some(status) = deleted_device_answer(pdo.state(), removal) {
            return Ok(Reply::new(PdoCompletion::Complete(status, PdoInfo::None)));
        }
        let mut reply = Reply::new(PdoCompletion::Complete(STATUS_SUCCESS, PdoInfo::None));
        match request {
            PdoRequest::Start => {
                power_up(pdo, &mut reply.before);
                pdo.state.set(DevicePnpState::Started);
            }
            PdoRequest::QueryStop => {
                pdo.state.set(DevicePnpState::StopPending);
            }
            PdoRequest::CancelStop => pdo.state.restore(DevicePnpState::StopPending),
            PdoRequest::Stop => {
                power_down(pdo, &mut reply.before);
                pdo.state.set(DevicePnpState::Stopped);
            }
            PdoRequest::QueryRemove => {
                pdo.state.set(DevicePnpState::RemovePending);
            }
            PdoRequest::CancelRemove => pdo.state.restore(DevicePnpState::RemovePending),
            PdoRequest::SurpriseRemoval => {
                pdo.state.set(DevicePnpState::SurpriseRemovePending);
            }
            PdoRequest::Remove => return Ok(self.pdo_remove(id)),
            PdoRequest::Eject => {
                pdo.state.set(DevicePnpState::Deleted);
                pdo.set_missing(MissingReason::DeviceEjected);
                reply.before.push(Effect::InvalidateBusRelations);
            }
            PdoRequest::QueryDeviceRelations(kind) => {
                reply.completion = if kind == ntddk::consts::TargetDeviceRelation {
                    PdoCompletion::Complete(STATUS_SUCCESS, PdoInfo::TargetRelation)
                } else {
                    PdoCompletion::Unchanged
                };
            }
            PdoRequest::QueryInterface => reply.completion = PdoCompletion::ServeInterface,
            PdoRequest::QueryCapabilities(version) => {
                reply.completion = match pdo.capabilities(version) {
                    Ok(caps) => {
                        PdoCompletion::Complete(STATUS_SUCCESS, PdoInfo::Capabilities(caps))
                    }
                    Err(status) => PdoCompletion::Complete(status, PdoInfo::None),
                };
            }
            PdoRequest::QueryResourceRequirements => {
                reply.completion =
                    PdoCompletion::Complete(STATUS_SUCCESS, PdoInfo::ResourceRequirements);
            }
            PdoRequest::QueryDeviceText(kind) => {
                reply.completion = match pdo_identity::device_text(&bus, &pdo.name, kind) {
                    Ok(text) => PdoCompletion::Complete(STATUS_SUCCESS, PdoInfo::Text(text)),
                    Err(error) => PdoCompletion::Complete(identity_status(error), PdoInfo::None),
                };
            }
            PdoRequest::Config => {
                reply.completion = PdoCompletion::Complete(STATUS_NOT_SUPPORTED, PdoInfo::None);
            }
            PdoRequest::QueryId(kind) => {
                reply.completion = match pdo_identity::query_id(&bus, &pdo.name, kind) {
                    Ok(found) => PdoCompletion::Complete(STATUS_SUCCESS, PdoInfo::Id(found)),
                    Err(error) => PdoCompletion::Complete(identity_status(error), PdoInfo::None),
                };
            }
            PdoRequest::QueryBusInformation => {
                reply.completion = PdoCompletion::Complete(STATUS_SUCCESS, PdoInfo::BusInformation);
            }
            PdoRequest::DeviceUsageNotification => {
                reply.completion = PdoCompletion::DelegateToFdoStack;
            }
            PdoRequest::Other(_) => reply.completion = PdoCompletion::Unchanged,
        }
        Ok(reply)
    }

    fn pdo_remove(&mut self, id: PdoId) -> Reply<PdoCompletion> {
        let mut reply = Reply::new(PdoCompletion::Complete(STATUS_SUCCESS, PdoInfo::None));
        let Ok(pdo) = self.pdo_mut(id) else {
            return reply;
        };
        power_down(pdo, &mut reply.before);
        if pdo.missing.is_none() {
            // Still on the bus: it may be started again.
            pdo.state.set(DevicePnpState::Enumerated);
            return reply;
        }
        let was = pdo.state();
        pdo.state.set(DevicePnpState::Deleted);
        if was == DevicePnpState::SurpriseRemovePending {
            self.destroy_pdo(id, &mut reply.before);
        } else {
            reply.before.push(Effect::InvalidateBusRelations);
        }
        reply
    }

    /// A PDO's power IRP. Set-power requests are answered `STATUS_SUCCESS` (from a work item,
    /// as the C package does); other power requests complete with the status already in the
    /// IRP.
    ///
    /// # Errors
    /// [`UnknownPdo`] if `id` is not on this bus.
    pub fn pdo_power(
        &mut self,
        id: PdoId,
        request: PowerRequest,
    ) -> Result<Reply<PdoCompletion>, UnknownPdo> {
        let pdo = self.pdo_mut(id)?;
        let mut reply = Reply::new(PdoCompletion::Complete(STATUS_SUCCESS, PdoInfo::None));
        match request {
            PowerRequest::SetDevice(DevicePower::D0) => power_up(pdo, &mut reply.before),
            PowerRequest::SetDevice(DevicePower::D3) => power_down(pdo, &mut reply.before),
            PowerRequest::SetSystem(state) => pdo.system_power = state,
            PowerRequest::Other => reply.completion = PdoCompletion::Unchanged,
        }
        Ok(reply)
    }
}

/// `PNP_DEVICE_NOT_DISABLEABLE`.
const NOT_DISABLEABLE: usize = 0x20;
const _: () = assert!(NOT_DISABLEABLE == ntddk::consts::PNP_DEVICE_NOT_DISABLEABLE as usize);

/// A power IRP to a PDO, decoded by the glue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerRequest {
    /// `IRP_MN_SET_POWER` for a device power state the drivers use.
    SetDevice(DevicePower),
    /// `IRP_MN_SET_POWER` for a system power state.
    SetSystem(SystemPower),
    /// Anything else (`IRP_MN_QUERY_POWER`, wait-wake, a set-power to D1/D2 or an undefined
    /// state).
    Other,
}

fn power_up(pdo: &mut Pdo, effects: &mut Vec<Effect>) {
    if pdo.power == DevicePower::D3 {
        pdo.power = DevicePower::D0;
        effects.push(Effect::PowerUpPdo(pdo.id));
    }
}

fn power_down(pdo: &mut Pdo, effects: &mut Vec<Effect>) {
    if pdo.power == DevicePower::D0 {
        pdo.power = DevicePower::D3;
        effects.push(Effect::PowerDownPdo(pdo.id));
    }
}

const fn identity_status(error: IdentityError) -> NtStatus {
    match error {
        IdentityError::NotSupported => STATUS_NOT_SUPPORTED,
        IdentityError::TooLong => STATUS_INVALID_BUFFER_SIZE,
    }
}
