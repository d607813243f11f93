// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The driver: what xenfilt attaches to, the global filter state that gates enumeration and
//! triggers the boot-time unplug, and the routing of every IRP to the filter it reached.
//!
//! Upstream (`src/xenfilt/driver.c`):
//!
//! * **`AddDevice`** (`DriverAddDevice`, `DriverGetEmulatedType`). xenfilt is a class upper
//!   filter of the System and HDC classes, so it is offered every PDO of those classes. It
//!   looks each hardware ID up, in order, as a value name in its `Parameters` key; a string
//!   value that matches `"PCI"` or `"IDE"` ([`type_from_value`]) decides, anything else is
//!   skipped. Without a decision it tries the compatible IDs the same way. No type: it does
//!   not attach (and succeeds). The INF maps `*PNP0A03` (the PCI root bus) to `PCI` and
//!   `Internal_IDE_Channel` (an ATA channel) to `IDE`.
//! * **The filter state** (`DriverSetFilterState`), advanced after each non-empty bus
//!   enumeration of any bus filter: `ENABLED` until every bus filter has enumerated at least
//!   once, then `PENDING`, at which moment the emulated devices are unplugged
//!   (`UnplugDevices()`) if the active platform device is present and the system is not in
//!   Safe Mode; the next enumeration of any bus makes it `DISABLED`, for good. Until then every
//!   filtered bus reports no children and invalidates its relations (see [`crate::fdo`]).
//! * **Active device present** (`DriverIsActivePresent`): a force-activated PCI device is
//!   tracked, or the device named by `ActiveDeviceID` is. With neither, nothing is unplugged.
//! * **Precedence** (`DriverGetPrecedence`): the `REG_DWORD` of
//!   `Parameters\Precedence\<compatible ID>` for the first compatible ID that has one, else 0.
//! * **Dispatch** (`DriverDispatch`): a device marked `Deleted` completes every IRP with
//!   `STATUS_NO_SUCH_DEVICE`, except surprise removal and removal, which succeed.

use alloc::vec::Vec;

use ntstatus::{NtStatus, STATUS_NO_SUCH_DEVICE, STATUS_SUCCESS};

use crate::emulated::{ActivationStatus, Emulated, EmulatedType};
use crate::fdo::{Fdo, FdoId};
use crate::id::IdList;
use crate::pdo::PdoId;
use crate::pnp::{Completion, DevicePnpState, Dispatch, Effect, Pnp, Power, Request, Step};
use crate::registry::{self, ACTIVE_DEVICE_ID, Parameters, decode_dword, decode_string};

/// `XENFILT_FILTER_STATE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterState {
    /// Children are hidden until every bus filter has enumerated once.
    Enabled,
    /// Every bus filter has enumerated; the unplug (if any) is done; children are still
    /// hidden for this one pass.
    Pending,
    /// Children are reported. Never left.
    Disabled,
}

/// The type a `Parameters` string value names (upstream's `_strnicmp(value, "PCI",
/// value_length) == 0`, then the same for `"IDE"`).
///
/// Upstream compares over the value's own length, so a value that is a non-empty prefix of
/// `PCI` or `IDE` in any case (`"p"`, `"Pc"`, `"ide"`) matches, and a longer one
/// (`"PCI "`, `"PCIe"`) does not. An **empty** value would match `PCI` upstream (a zero-length
/// compare); here it matches nothing, so an empty value never attaches a bus filter.
#[must_use]
pub fn type_from_value(value: &[u8]) -> Option<EmulatedType> {
    let prefix_of = |word: &[u8]| {
        !value.is_empty()
            && word
                .get(..value.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(value))
    };
    if prefix_of(b"PCI") {
        Some(EmulatedType::Pci)
    } else if prefix_of(b"IDE") {
        Some(EmulatedType::Ide)
    } else {
        None
    }
}

/// `DriverGetEmulatedType`: the type of the first ID in `ids` whose `Parameters` value names
/// one. Missing, unreadable, malformed or unmatched values are skipped.
pub fn emulated_type<P: Parameters + ?Sized>(ids: &IdList, params: &P) -> Option<EmulatedType> {
    ids.ids().iter().find_map(|id| {
        params
            .value(id.as_bytes())
            .ok()
            .and_then(|v| decode_string(&v).ok())
            .and_then(|text| type_from_value(&text))
    })
}

/// `DriverAddDevice`'s decision: the hardware IDs first, then the compatible IDs; `None`
/// means "do not attach". A list the bus could not give, or gave malformed ([`crate::id`]),
/// counts as no IDs.
pub fn add_device<P: Parameters + ?Sized>(
    hardware_ids: Option<&IdList>,
    compatible_ids: Option<&IdList>,
    params: &P,
) -> Option<EmulatedType> {
    hardware_ids
        .and_then(|ids| emulated_type(ids, params))
        .or_else(|| compatible_ids.and_then(|ids| emulated_type(ids, params)))
}

/// `DriverGetPrecedence`: a new child's precedence.
///
/// The `REG_DWORD` of `Precedence\<ID>` for the first compatible ID that has a readable one (which ends the search even when it is 0); 0 when none has, when
/// the key is missing or when the compatible IDs are unknown. Hardware IDs are never used.
pub fn precedence<P: Parameters + ?Sized>(compatible_ids: Option<&IdList>, params: &P) -> u32 {
    compatible_ids
        .into_iter()
        .flat_map(IdList::ids)
        .find_map(|id| {
            params
                .precedence_value(id.as_bytes())
                .ok()
                .and_then(|v| decode_dword(&v).ok())
        })
        .unwrap_or(0)
}

/// The filter device an IRP reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceRef {
    /// A bus filter.
    Fdo(FdoId),
    /// A child filter.
    Pdo(PdoId),
}

/// Why the active platform device counts as present (or not) at the unplug gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivePresence {
    /// A force-activated PCI device is tracked.
    Forced,
    /// The device `ActiveDeviceID` names is tracked.
    Named,
    /// Neither: nothing is unplugged.
    NotPresent,
}

/// The whole filter: every bus filter with its children, the EMULATED list and the filter
/// state (upstream's `XENFILT_DRIVER` and the device extensions).
#[derive(Debug)]
pub struct Driver {
    pub(crate) state: FilterState,
    pub(crate) fdos: Vec<Fdo>,
    pub(crate) emulated: Emulated,
    pub(crate) next_id: u64,
    safe_mode: bool,
}

impl Driver {
    /// A driver with no bus filter yet, state `ENABLED`. `safe_mode` is `*InitSafeBootMode !=
    /// 0`: then nothing is ever unplugged.
    #[must_use]
    pub const fn new(safe_mode: bool) -> Self {
        Self {
            state: FilterState::Enabled,
            fdos: Vec::new(),
            emulated: Emulated::new(),
            next_id: 1,
            safe_mode,
        }
    }

    /// The filter state.
    #[must_use]
    pub const fn filter_state(&self) -> FilterState {
        self.state
    }

    /// The EMULATED list (what the interface methods read).
    #[must_use]
    pub const fn emulated(&self) -> &Emulated {
        &self.emulated
    }

    /// The EMULATED list, for `Acquire`/`Release`.
    pub const fn emulated_mut(&mut self) -> &mut Emulated {
        &mut self.emulated
    }

    pub(crate) const fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    /// `DriverIsActivePresent`.
    pub fn active_presence<P: Parameters + ?Sized>(&self, params: &P) -> ActivePresence {
        if self.emulated.is_device_present(None, None).0 {
            return ActivePresence::Forced;
        }
        match registry::read_string(params, ACTIVE_DEVICE_ID) {
            Ok(active) if self.emulated.is_device_present(Some(&active), None).0 => {
                ActivePresence::Named
            }
            _ => ActivePresence::NotPresent,
        }
    }

    /// `DriverSetFilterState`, after a bus filter enumerated: returns
    /// [`Effect::UnplugDevices`] at the one moment the unplug happens.
    pub(crate) fn set_filter_state<P: Parameters + ?Sized>(
        &mut self,
        params: &P,
    ) -> Option<Effect> {
        match self.state {
            FilterState::Enabled => {
                if !self.fdos.iter().all(|f| f.enumerated) {
                    return None;
                }
                self.state = FilterState::Pending;
                let present = self.active_presence(params) != ActivePresence::NotPresent;
                (present && !self.safe_mode).then_some(Effect::UnplugDevices)
            }
            FilterState::Pending => {
                self.state = FilterState::Disabled;
                None
            }
            FilterState::Disabled => None,
        }
    }

    /// Whether `device` exists and is not `Deleted`.
    fn live(&self, device: DeviceRef) -> bool {
        let state = match device {
            DeviceRef::Fdo(id) => self.fdo(id).map(|f| f.dev.pnp.current()),
            DeviceRef::Pdo(id) => self.pdo(id).map(|p| p.dev.pnp.current()),
        };
        state.is_some_and(|s| s != DevicePnpState::Deleted)
    }

    /// `DriverDispatch`: the first answer to an IRP that reached `device`.
    pub fn dispatch(&mut self, device: DeviceRef, request: Request) -> Step {
        if !self.live(device) {
            let status = match request {
                Request::Pnp(Pnp::SurpriseRemoval | Pnp::Remove) => STATUS_SUCCESS,
                _ => STATUS_NO_SUCH_DEVICE,
            };
            return Step::just(Dispatch::Complete(status));
        }
        match device {
            DeviceRef::Fdo(id) => self.fdo_dispatch(id, request),
            DeviceRef::Pdo(id) => self.pdo_dispatch(id, request),
        }
    }

    /// The lower driver's `status` for a request [`Driver::dispatch`] answered with
    /// [`Dispatch::ForwardAndWait`] (bus relations excepted: [`Driver::bus_relations`]).
    pub fn completed(
        &mut self,
        device: DeviceRef,
        request: Request,
        status: NtStatus,
    ) -> Completion {
        match device {
            DeviceRef::Fdo(id) => self.fdo_completed(id, request, status),
            DeviceRef::Pdo(id) => self.pdo_completed(id, request, status),
        }
    }

    /// The completion routine of a power-up [`Driver::dispatch`] answered with
    /// [`Dispatch::PassDownWatched`].
    pub fn power_up_completed(&mut self, device: DeviceRef, power: Power) -> Vec<Effect> {
        let dev = match device {
            DeviceRef::Fdo(id) => self.fdo_mut(id).map(|f| &mut f.dev),
            DeviceRef::Pdo(id) => self.pdo_mut(id).map(|p| &mut p.dev),
        };
        dev.map(|d| d.power_up_completed(power)).unwrap_or_default()
    }

    /// The force-activation each new child gets: with a positive maximum precedence among
    /// them, the first child with it is force-activated and every other one force-deactivated;
    /// otherwise all are neutral.
    #[must_use]
    pub fn force_activation(precedences: &[u32]) -> Vec<ActivationStatus> {
        let mut winner: Option<(usize, u32)> = None;
        for (i, &p) in precedences.iter().enumerate() {
            if p > winner.map_or(0, |(_, best)| best) {
                winner = Some((i, p));
            }
        }
        precedences
            .iter()
            .enumerate()
            .map(|(i, _)| match winner {
                None => ActivationStatus::Neutral,
                Some((w, _)) if w == i => ActivationStatus::ForceActivated,
                Some(_) => ActivationStatus::ForceDeactivated,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
