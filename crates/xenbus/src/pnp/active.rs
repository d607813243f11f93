// SPDX-License-Identifier: BSD-2-Clause
// Copyright (c) 2026 The XenBus-rs Authors

//! Which platform device's FDO is the active one (the C package's `FdoSetActive`).
//!
//! A guest may have several Xen platform devices (the legacy `DEV_0001`, `DEV_0002`, a vendor
//! device). xenbus.sys loads on each, but only one owns the subsystems and enumerates
//! children. xenfilt.sys may force the choice (from its precedence table); otherwise the first
//! FDO to record itself in the registry (`ActiveDeviceID` under xenfilt's Parameters key, via
//! xen.sys's `ConfigSetActive`) keeps the role across boots.
//!
//! Where this differs from the C package on purpose: when xenfilt answers that the device
//! asking is not present at all (it must be: xenfilt filters its stack), the C package
//! bug-checks; here the choice falls back to the registry and the glue logs the answer.

/// xenfilt's verdict for this device (`XENFILT_EMULATED_ACTIVATION_STATUS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    /// No precedence: the registry decides.
    Neutral,
    /// This device is the one to activate.
    ForceActivated,
    /// Another device has precedence.
    ForceDeactivated,
}

impl Activation {
    /// `XENFILT_EMULATED_ACTIVATION_STATUS` as xenfilt returned it: 1 force-activated, 2
    /// force-deactivated; 0, and any value xenfilt does not define, leave the choice to the
    /// registry (neutral).
    #[must_use]
    pub const fn from_raw(status: i32) -> Self {
        match status {
            1 => Self::ForceActivated,
            2 => Self::ForceDeactivated,
            _ => Self::Neutral,
        }
    }
}

/// What xenfilt's EMULATED interface said, if it could be asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmulatedAnswer {
    /// No EMULATED v3 interface, or its Acquire failed.
    Unavailable,
    /// `IsDevicePresent` answered FALSE for the FDO's own device ID.
    NotPresent,
    /// `IsDevicePresent` answered TRUE with this activation status.
    Present(Activation),
}

/// What the glue does with the registry once the choice is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    /// Nothing.
    Nothing,
    /// `ConfigSetActive(DeviceID, InstanceID, LocationInformation)`; its result is ignored.
    Set,
    /// `ConfigUpdateActive(...)`: fill the instance and location if missing; result ignored.
    Update,
    /// `ConfigSetActive(...)`: the FDO is active only if it succeeds (it refuses when a vendor
    /// device exists and this is not it).
    SetToClaim,
}

/// The choice for one FDO.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    /// Whether the FDO is active (before [`Record::SetToClaim`]'s result, which may make it so).
    pub active: bool,
    /// The registry write that goes with it.
    pub record: Record,
}

/// Decides whether the FDO of `device_id` is active. `active_device_id` is the registry's
/// `ActiveDeviceID` (`None` when it could not be read).
#[must_use]
pub const fn choose(
    device_id: &str,
    emulated: EmulatedAnswer,
    active_device_id: Option<&str>,
) -> Choice {
    match emulated {
        EmulatedAnswer::Present(Activation::ForceActivated) => Choice {
            active: true,
            record: Record::Set,
        },
        EmulatedAnswer::Present(Activation::ForceDeactivated) => Choice {
            active: false,
            record: Record::Nothing,
        },
        EmulatedAnswer::Present(Activation::Neutral)
        | EmulatedAnswer::Unavailable
        | EmulatedAnswer::NotPresent => match active_device_id {
            Some(recorded) if recorded.eq_ignore_ascii_case(device_id) => Choice {
                active: true,
                record: Record::Update,
            },
            Some(_) => Choice {
                active: false,
                record: Record::Nothing,
            },
            None => Choice {
                active: false,
                record: Record::SetToClaim,
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_status_values_xenfilt_does_not_define_are_neutral() {
        assert_eq!(Activation::from_raw(0), Activation::Neutral);
        assert_eq!(Activation::from_raw(1), Activation::ForceActivated);
        assert_eq!(Activation::from_raw(2), Activation::ForceDeactivated);
        for hostile in [3, -1, i32::MIN, i32::MAX] {
            assert_eq!(Activation::from_raw(hostile), Activation::Neutral);
        }
    }

    const DEV2: &str = "PCI\\VEN_5853&DEV_0002&SUBSYS_00025853&REV_01";
    const DEV1: &str = "PCI\\VEN_5853&DEV_0001&SUBSYS_00015853&REV_01";

    #[test]
    fn the_first_device_claims_activation_when_nothing_is_recorded() {
        assert_eq!(
            choose(DEV2, EmulatedAnswer::Unavailable, None),
            Choice {
                active: false,
                record: Record::SetToClaim
            }
        );
    }

    #[test]
    fn the_recorded_device_stays_active_whatever_the_case() {
        let lower = DEV2.to_ascii_lowercase();
        assert_eq!(
            choose(
                DEV2,
                EmulatedAnswer::Present(Activation::Neutral),
                Some(&lower)
            ),
            Choice {
                active: true,
                record: Record::Update
            }
        );
        assert_eq!(
            choose(DEV1, EmulatedAnswer::Unavailable, Some(DEV2)),
            Choice {
                active: false,
                record: Record::Nothing
            }
        );
    }

    #[test]
    fn xenfilt_precedence_overrides_the_registry() {
        assert_eq!(
            choose(
                DEV1,
                EmulatedAnswer::Present(Activation::ForceActivated),
                Some(DEV2)
            ),
            Choice {
                active: true,
                record: Record::Set
            }
        );
        assert_eq!(
            choose(
                DEV2,
                EmulatedAnswer::Present(Activation::ForceDeactivated),
                Some(DEV2)
            ),
            Choice {
                active: false,
                record: Record::Nothing
            }
        );
    }

    #[test]
    fn a_device_xenfilt_does_not_know_falls_back_to_the_registry() {
        assert_eq!(
            choose(DEV2, EmulatedAnswer::NotPresent, Some(DEV2)),
            Choice {
                active: true,
                record: Record::Update
            }
        );
    }

    #[test]
    fn a_prefix_of_the_recorded_id_is_not_the_recorded_device() {
        assert!(
            !choose(
                "PCI\\VEN_5853&DEV_0002",
                EmulatedAnswer::Unavailable,
                Some(DEV2)
            )
            .active
        );
        assert!(!choose(DEV2, EmulatedAnswer::Unavailable, Some("")).active);
    }
}
