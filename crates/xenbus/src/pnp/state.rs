// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Plug and Play and power states of the FDO and its PDOs, and the dispatcher's first rule.

use ntstatus::{NtStatus, STATUS_NO_SUCH_DEVICE, STATUS_SUCCESS};

/// Where a device object is in its Plug and Play life.
///
/// The C package keeps the same set for both kinds of device object: `Present` and
/// `Enumerated` only ever describe a PDO, `Added` only an FDO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PnpState {
    /// A PDO that exists but has not yet been reported to the PnP manager.
    Present,
    /// A PDO the PnP manager has seen in a bus-relations list.
    Enumerated,
    /// An FDO attached to its PDO but not yet started.
    Added,
    /// Started.
    Started,
    /// A stop was queried and not vetoed.
    StopPending,
    /// Stopped (resources released, may be started again).
    Stopped,
    /// A removal was queried and not vetoed.
    RemovePending,
    /// The device vanished without warning; `IRP_MN_REMOVE_DEVICE` follows.
    SurpriseRemovePending,
    /// Terminal: the device object only waits to be deleted.
    Deleted,
}

/// A Plug and Play state with the one it replaced, so a cancelled query can step back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateCell {
    current: PnpState,
    previous: PnpState,
}

impl StateCell {
    /// A cell that starts (and "was") in `state`.
    #[must_use]
    pub const fn new(state: PnpState) -> Self {
        Self {
            current: state,
            previous: state,
        }
    }

    /// The current state.
    #[must_use]
    pub const fn current(&self) -> PnpState {
        self.current
    }

    /// The state before the last change.
    #[must_use]
    pub const fn previous(&self) -> PnpState {
        self.previous
    }

    /// Moves to `state`, remembering the current one. `Deleted` is terminal: moving out of it is
    /// refused (the dispatcher never routes an IRP to a deleted device, so only a bug asks) and
    /// reported as `false`.
    pub const fn set(&mut self, state: PnpState) -> bool {
        if matches!(self.current, PnpState::Deleted) && !matches!(state, PnpState::Deleted) {
            return false;
        }
        self.previous = self.current;
        self.current = state;
        true
    }

    /// Steps back to the previous state if the current one is `state` (a cancelled query);
    /// otherwise nothing changes (a cancel without its query).
    pub fn restore(&mut self, state: PnpState) {
        if self.current == state {
            self.current = self.previous;
        }
    }
}

/// A device power state, as the drivers track them (D1 and D2 are never used).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DevicePower {
    /// Working.
    D0,
    /// Off.
    D3,
}

/// A system power state (`SYSTEM_POWER_STATE`, S0 = `PowerSystemWorking` = 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SystemPower(u32);

impl SystemPower {
    /// S0, working.
    pub const WORKING: Self = Self(1);
    /// S3, sleeping.
    pub const SLEEPING3: Self = Self(4);
    /// S4, hibernate.
    pub const HIBERNATE: Self = Self(5);
    /// S5, shutdown.
    pub const SHUTDOWN: Self = Self(6);

    /// Decodes `SYSTEM_POWER_STATE`; `None` for `PowerSystemUnspecified`, `PowerSystemMaximum`
    /// and anything outside the enumeration.
    #[must_use]
    pub const fn from_raw(raw: u32) -> Option<Self> {
        if raw >= 1 && raw <= 6 {
            Some(Self(raw))
        } else {
            None
        }
    }

    /// The raw `SYSTEM_POWER_STATE` value.
    #[must_use]
    pub const fn raw(self) -> u32 {
        self.0
    }

    /// Hibernate or deeper: the device model is rebuilt when the guest comes back.
    #[must_use]
    pub const fn is_hibernate_or_deeper(self) -> bool {
        self.0 >= Self::HIBERNATE.0
    }
}

/// The dispatcher's rule before any handler runs: a deleted device object answers nothing but
/// the removal IRPs the PnP manager may still send it.
///
/// Returns the status to complete with, or `None` when the IRP goes to the handler.
#[must_use]
pub const fn deleted_device_answer(state: PnpState, is_removal_irp: bool) -> Option<NtStatus> {
    match (state, is_removal_irp) {
        (PnpState::Deleted, true) => Some(STATUS_SUCCESS),
        (PnpState::Deleted, false) => Some(STATUS_NO_SUCH_DEVICE),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancelled_query_steps_back_to_the_state_before_it() {
        let mut cell = StateCell::new(PnpState::Added);
        assert!(cell.set(PnpState::Started));
        assert!(cell.set(PnpState::StopPending));
        cell.restore(PnpState::StopPending);
        assert_eq!(cell.current(), PnpState::Started);
    }

    #[test]
    fn a_cancel_without_its_query_changes_nothing() {
        let mut cell = StateCell::new(PnpState::Added);
        assert!(cell.set(PnpState::Started));
        cell.restore(PnpState::RemovePending);
        assert_eq!(cell.current(), PnpState::Started);
        assert_eq!(cell.previous(), PnpState::Added);
    }

    #[test]
    fn deleted_is_terminal() {
        let mut cell = StateCell::new(PnpState::Present);
        assert!(cell.set(PnpState::Deleted));
        assert!(!cell.set(PnpState::Enumerated));
        assert_eq!(cell.current(), PnpState::Deleted);
        assert!(cell.set(PnpState::Deleted));
    }

    #[test]
    fn a_deleted_device_fails_everything_but_removal() {
        assert_eq!(
            deleted_device_answer(PnpState::Deleted, false),
            Some(STATUS_NO_SUCH_DEVICE)
        );
        assert_eq!(
            deleted_device_answer(PnpState::Deleted, true),
            Some(STATUS_SUCCESS)
        );
        assert_eq!(deleted_device_answer(PnpState::Started, false), None);
    }

    #[test]
    fn system_power_decoding_refuses_unspecified_and_maximum() {
        assert_eq!(SystemPower::from_raw(0), None);
        assert_eq!(SystemPower::from_raw(7), None);
        assert_eq!(SystemPower::from_raw(u32::MAX), None);
        assert_eq!(SystemPower::from_raw(5), Some(SystemPower::HIBERNATE));
        assert!(SystemPower::SHUTDOWN.is_hibernate_or_deeper());
        assert!(!SystemPower::SLEEPING3.is_hibernate_or_deeper());
    }
}
