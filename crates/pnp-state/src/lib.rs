// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The Plug and Play state a WDM device object tracks, shared by xenbus.sys's FDO and PDOs
//! and xenfilt.sys's filters: the state, the one it replaced (so a cancelled query can step
//! back), and the dispatcher's first rule for a deleted device.
//!
//! Layering: a leaf of the portable core (`no_std`, no allocation), below the drivers'
//! sans-IO state machines.

#![no_std]
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

use ntstatus::{NtStatus, STATUS_NO_SUCH_DEVICE, STATUS_SUCCESS};

/// Where a device object is in its Plug and Play life (`DEVICE_PNP_STATE`).
///
/// The C drivers keep one set for every kind of device object: `Present` and `Enumerated`
/// only ever describe a child (a PDO, or a filter on one), `Added` only a function or bus
/// filter device.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DevicePnpState {
    /// Never set (a new device's previous state).
    Invalid,
    /// A child that exists but has not yet been reported to the PnP manager.
    Present,
    /// A child the PnP manager has seen in a bus-relations list.
    Enumerated,
    /// A device attached by `AddDevice`, not yet started.
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

/// A device's Plug and Play state with the one before it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PnpState {
    current: DevicePnpState,
    previous: DevicePnpState,
}

impl PnpState {
    /// A device in `state` that was never in another.
    #[must_use]
    pub const fn new(state: DevicePnpState) -> Self {
        Self {
            current: state,
            previous: DevicePnpState::Invalid,
        }
    }

    /// The current state.
    #[must_use]
    pub const fn current(&self) -> DevicePnpState {
        self.current
    }

    /// The state before the last change.
    #[must_use]
    pub const fn previous(&self) -> DevicePnpState {
        self.previous
    }

    /// Moves to `state`, remembering the current one. `Deleted` is terminal: moving out of it
    /// is refused (the C drivers assert; the dispatcher never routes an IRP to a deleted
    /// device, so only a bug asks) and reported as `false`.
    pub const fn set(&mut self, state: DevicePnpState) -> bool {
        if matches!(self.current, DevicePnpState::Deleted)
            && !matches!(state, DevicePnpState::Deleted)
        {
            return false;
        }
        self.previous = self.current;
        self.current = state;
        true
    }

    /// Steps back to the previous state if the current one is `state` (a cancelled query);
    /// otherwise nothing changes (a cancel without its query).
    pub fn restore(&mut self, state: DevicePnpState) {
        if self.current == state {
            self.current = self.previous;
        }
    }
}

/// The dispatcher's rule before any handler runs: a deleted device object answers nothing but
/// the removal IRPs the PnP manager may still send it.
///
/// Returns the status to complete with, or `None` when the IRP goes to the handler.
#[must_use]
pub const fn deleted_device_answer(
    state: DevicePnpState,
    is_removal_irp: bool,
) -> Option<NtStatus> {
    match (state, is_removal_irp) {
        (DevicePnpState::Deleted, true) => Some(STATUS_SUCCESS),
        (DevicePnpState::Deleted, false) => Some(STATUS_NO_SUCH_DEVICE),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancelled_query_steps_back_to_the_state_before_it() {
        let mut cell = PnpState::new(DevicePnpState::Added);
        assert!(cell.set(DevicePnpState::Started));
        assert!(cell.set(DevicePnpState::StopPending));
        cell.restore(DevicePnpState::StopPending);
        assert_eq!(cell.current(), DevicePnpState::Started);
    }

    #[test]
    fn a_cancel_without_its_query_changes_nothing() {
        let mut cell = PnpState::new(DevicePnpState::Added);
        assert_eq!(cell.previous(), DevicePnpState::Invalid);
        assert!(cell.set(DevicePnpState::Started));
        cell.restore(DevicePnpState::RemovePending);
        assert_eq!(cell.current(), DevicePnpState::Started);
        assert_eq!(cell.previous(), DevicePnpState::Added);
    }

    #[test]
    fn deleted_is_terminal() {
        let mut cell = PnpState::new(DevicePnpState::Present);
        assert!(cell.set(DevicePnpState::Deleted));
        assert!(!cell.set(DevicePnpState::Enumerated));
        assert_eq!(cell.current(), DevicePnpState::Deleted);
        assert!(cell.set(DevicePnpState::Deleted));
    }

    #[test]
    fn a_deleted_device_fails_everything_but_removal() {
        assert_eq!(
            deleted_device_answer(DevicePnpState::Deleted, false),
            Some(STATUS_NO_SUCH_DEVICE)
        );
        assert_eq!(
            deleted_device_answer(DevicePnpState::Deleted, true),
            Some(STATUS_SUCCESS)
        );
        assert_eq!(deleted_device_answer(DevicePnpState::Started, false), None);
    }
}
