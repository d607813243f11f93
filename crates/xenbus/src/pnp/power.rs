// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! The FDO's power IRPs, sans-IO: which way each goes (down the stack first, or a device
//! power IRP first), which device state a system state needs, and when the hibernate
//! transitions run.
//!
//! A system power IRP is always answered through a device power IRP the FDO requests from its
//! own stack (`PoRequestPowerIrp`): on the way up after the lower stack has powered up, on the
//! way down before it powers down. Crossing into hibernate (S4 or deeper) checks that no child
//! still holds an interface whose state would not survive; coming back from it re-unplugs the
//! emulated devices, since the device model was rebuilt.
//!
//! Where this differs from the C package on purpose: a system state outside
//! `SYSTEM_POWER_STATE` (or `PowerSystemUnspecified`) is passed down untouched instead of
//! indexing the capability table with it; and when the requested device power IRP fails, the
//! system IRP is completed with that failure (the C package leaves it pending for ever).

use ntstatus::NtStatus;

use super::fdo::Fdo;
use super::state::{DevicePower, SystemPower};

/// `PowerDeviceD0`.
const POWER_DEVICE_D0: u32 = 1;
/// `PowerDeviceD3`.
const POWER_DEVICE_D3: u32 = 4;
const _: () = assert!(POWER_DEVICE_D0 == ntddk::consts::PowerDeviceD0 as u32);
const _: () = assert!(POWER_DEVICE_D3 == ntddk::consts::PowerDeviceD3 as u32);

/// What to do with a system `IRP_MN_SET_POWER` or `IRP_MN_QUERY_POWER`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SystemPlan {
    /// Pass it down untouched (same state, shutdown, or a state that is not one).
    PassDown,
    /// Power up: send it down first; when it comes back successfully call
    /// [`Fdo::system_up_forwarded`] (set) or request a device `QUERY_POWER` to `device` (query).
    ForwardFirst {
        /// The device state the lower stack maps the target to.
        device: u32,
    },
    /// Power down: request a device IRP of the same minor function to `device` first; when it
    /// completes call [`Fdo::system_down_device_done`] (set) or, for a query, pass the system
    /// IRP down on success and complete it with the failure otherwise.
    DeviceFirst {
        /// The device state the lower stack maps the target to.
        device: u32,
    },
}

/// After a system power-up IRP came back from the lower stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpAfterForward {
    /// Run `FdoS4ToS3` in a work item first (the active FDO back from hibernate: log resume
    /// and unplug the emulated devices again).
    pub s4_to_s3: bool,
    /// Then request this device `SET_POWER`, completing the system IRP when it completes.
    pub device: u32,
}

/// After the device IRP a system power-down requested completed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DownAfterDevice {
    /// Pass the system IRP down; with `s3_to_s4`, first run `FdoS3ToS4` in a work item (the
    /// active FDO entering hibernate: every interface that does not survive must be released).
    PassDown {
        /// Whether the hibernate check runs first.
        s3_to_s4: bool,
    },
    /// Complete the system IRP with the device IRP's failure.
    Fail(NtStatus),
}

/// What to do with a device `IRP_MN_SET_POWER`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DevicePlan {
    /// Pass it down untouched (already there, D1/D2, or not a device state).
    PassDown,
    /// Up: send it down, then `FdoD3ToD0` in a work item, then complete it with the lower
    /// stack's status; report the outcome with [`Fdo::device_up_done`].
    ForwardThenPowerUp,
    /// Down: `FdoD0ToD3` in a work item, then send it down.
    PowerDownThenForward,
}

impl Fdo {
    /// The device state for `system`: the lower stack's mapping once its capabilities were
    /// seen, else D0 for S0 and D3 for every sleeping state.
    #[must_use]
    pub fn device_state_for(&self, system: SystemPower) -> u32 {
        self.lower_device_state(system)
            .unwrap_or(if system == SystemPower::WORKING {
                POWER_DEVICE_D0
            } else {
                POWER_DEVICE_D3
            })
    }

    /// A system `IRP_MN_SET_POWER` (or, with `query`, `IRP_MN_QUERY_POWER`) to `raw_state`.
    #[must_use]
    pub fn system_power_plan(&self, raw_state: u32, query: bool) -> SystemPlan {
        let Some(target) = SystemPower::from_raw(raw_state) else {
            return SystemPlan::PassDown;
        };
        let current = self.system_power();
        if target == current {
            return SystemPlan::PassDown;
        }
        let device = self.device_state_for(target);
        if target < current {
            SystemPlan::ForwardFirst { device }
        } else if !query && target >= SystemPower::SHUTDOWN {
            // Shutdown: the FDO stays in D0, nothing is torn down.
            SystemPlan::PassDown
        } else {
            SystemPlan::DeviceFirst { device }
        }
    }

    /// A system power-up came back from the lower stack: records the new state and says what
    /// follows.
    pub fn system_up_forwarded(&mut self, raw_state: u32) -> Option<UpAfterForward> {
        let target = SystemPower::from_raw(raw_state)?;
        let from_hibernate =
            self.system_power().is_hibernate_or_deeper() && !target.is_hibernate_or_deeper();
        self.set_system_power(target);
        Some(UpAfterForward {
            s4_to_s3: from_hibernate && self.is_active(),
            device: self.device_state_for(target),
        })
    }

    /// The device IRP requested for a system power-down completed with `status`.
    pub const fn system_down_device_done(
        &mut self,
        raw_state: u32,
        status: NtStatus,
    ) -> DownAfterDevice {
        if !ntstatus::nt_success(status) {
            return DownAfterDevice::Fail(status);
        }
        let Some(target) = SystemPower::from_raw(raw_state) else {
            return DownAfterDevice::PassDown { s3_to_s4: false };
        };
        let into_hibernate =
            target.is_hibernate_or_deeper() && !self.system_power().is_hibernate_or_deeper();
        self.set_system_power(target);
        DownAfterDevice::PassDown {
            s3_to_s4: into_hibernate && self.is_active(),
        }
    }

    /// A device `IRP_MN_SET_POWER` to `raw_state` (`DEVICE_POWER_STATE`).
    #[must_use]
    pub const fn device_power_plan(&self, raw_state: u32) -> DevicePlan {
        match (raw_state, self.power()) {
            (POWER_DEVICE_D0, DevicePower::D3) => DevicePlan::ForwardThenPowerUp,
            (POWER_DEVICE_D3, DevicePower::D0) => DevicePlan::PowerDownThenForward,
            _ => DevicePlan::PassDown,
        }
    }

    /// `FdoD3ToD0` ran for a device power-up; the FDO is in D0 only if it succeeded.
    pub const fn device_up_done(&mut self, succeeded: bool) {
        if succeeded {
            self.set_power(DevicePower::D0);
        }
    }

    /// `FdoD0ToD3` ran for a device power-down.
    pub const fn device_down_done(&mut self) {
        self.set_power(DevicePower::D3);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pdo_identity::Bus;
    use ntstatus::{STATUS_SUCCESS, STATUS_UNSUCCESSFUL};

    fn fdo(active: bool) -> Fdo {
        let mut fdo = Fdo::new(
            Bus {
                vendor_prefix: "XP".into(),
                pci_device_id: 1,
            },
            active,
        );
        fdo.start_succeeded();
        fdo.record_lower_capabilities([0, 1, 4, 4, 4, 4, 4]);
        fdo
    }

    #[test]
    fn sleeping_requests_the_device_irp_first_and_waking_forwards_first() {
        let mut fdo = fdo(true);
        assert_eq!(
            fdo.system_power_plan(4, false),
            SystemPlan::DeviceFirst { device: 4 }
        );
        assert_eq!(
            fdo.system_down_device_done(4, STATUS_SUCCESS),
            DownAfterDevice::PassDown { s3_to_s4: false }
        );
        assert_eq!(fdo.system_power(), SystemPower::SLEEPING3);
        assert_eq!(
            fdo.system_power_plan(1, false),
            SystemPlan::ForwardFirst { device: 1 }
        );
        assert_eq!(
            fdo.system_up_forwarded(1),
            Some(UpAfterForward {
                s4_to_s3: false,
                device: 1
            })
        );
        assert_eq!(fdo.system_power(), SystemPower::WORKING);
    }

    #[test]
    fn hibernate_checks_interfaces_on_the_way_down_and_unplugs_again_on_the_way_up() {
        let mut fdo = fdo(true);
        assert_eq!(
            fdo.system_down_device_done(5, STATUS_SUCCESS),
            DownAfterDevice::PassDown { s3_to_s4: true }
        );
        assert_eq!(
            fdo.system_up_forwarded(1),
            Some(UpAfterForward {
                s4_to_s3: true,
                device: 1
            })
        );
        // An inactive FDO owns no subsystems: neither transition runs.
        let mut idle = self::fdo(false);
        assert_eq!(
            idle.system_down_device_done(5, STATUS_SUCCESS),
            DownAfterDevice::PassDown { s3_to_s4: false }
        );
        assert_eq!(
            idle.system_up_forwarded(1).map(|up| up.s4_to_s3),
            Some(false)
        );
    }

    #[test]
    fn shutdown_and_the_current_state_pass_down_untouched() {
        let fdo = fdo(true);
        assert_eq!(fdo.system_power_plan(6, false), SystemPlan::PassDown);
        assert_eq!(fdo.system_power_plan(1, false), SystemPlan::PassDown);
        // A query for shutdown still asks the device first.
        assert_eq!(
            fdo.system_power_plan(6, true),
            SystemPlan::DeviceFirst { device: 4 }
        );
    }

    #[test]
    fn a_state_that_is_not_one_is_passed_down_and_never_indexes_the_table() {
        let mut fdo = fdo(true);
        for raw in [0, 7, 8, u32::MAX] {
            assert_eq!(fdo.system_power_plan(raw, false), SystemPlan::PassDown);
            assert_eq!(fdo.system_up_forwarded(raw), None);
        }
        assert_eq!(fdo.system_power(), SystemPower::WORKING);
    }

    #[test]
    fn a_failed_device_irp_fails_the_system_irp_and_keeps_the_state() {
        let mut fdo = fdo(true);
        assert_eq!(
            fdo.system_down_device_done(4, STATUS_UNSUCCESSFUL),
            DownAfterDevice::Fail(STATUS_UNSUCCESSFUL)
        );
        assert_eq!(fdo.system_power(), SystemPower::WORKING);
    }

    #[test]
    fn without_lower_capabilities_sleeping_states_map_to_d3() {
        let fdo = Fdo::new(
            Bus {
                vendor_prefix: "XP".into(),
                pci_device_id: 1,
            },
            true,
        );
        assert_eq!(fdo.device_state_for(SystemPower::WORKING), POWER_DEVICE_D0);
        assert_eq!(
            fdo.device_state_for(SystemPower::SLEEPING3),
            POWER_DEVICE_D3
        );
    }

    #[test]
    fn device_irps_move_only_between_d0_and_d3() {
        let mut fdo = fdo(true);
        assert_eq!(fdo.device_power_plan(POWER_DEVICE_D0), DevicePlan::PassDown);
        assert_eq!(
            fdo.device_power_plan(POWER_DEVICE_D3),
            DevicePlan::PowerDownThenForward
        );
        fdo.device_down_done();
        assert_eq!(fdo.device_power_plan(2), DevicePlan::PassDown);
        assert_eq!(
            fdo.device_power_plan(POWER_DEVICE_D0),
            DevicePlan::ForwardThenPowerUp
        );
        fdo.device_up_done(false);
        assert_eq!(fdo.power(), DevicePower::D3);
        fdo.device_up_done(true);
        assert_eq!(fdo.power(), DevicePower::D0);
    }
}
